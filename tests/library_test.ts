import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import {
  BUILTIN_NODES,
  compileWorkflow,
  layersOf,
  Node,
  NodeRegistry,
  type ParamProblem,
  parseWorkflow,
  runWorkflow,
  TemplateSyntaxError,
  unwrapNode,
  validateWorkflow,
  ValidationError,
} from "../mod.ts";

class Shout extends Node {
  static spec = {
    type: "shout",
    description: "Upper-cases text",
    params: { text: { type: "string", required: true, description: "Input" } },
    outputs: { text: { type: "string", description: "Upper-cased" } },
  } as const;
  calls = 0;
  override exec() {
    this.calls++;
    return String(this.params.text).toUpperCase();
  }
  override post(shared: Record<string, unknown>, _p: unknown, text: unknown) {
    shared.text = text;
    return undefined;
  }
}

Deno.test("a user's node class plugs into the registry, validation, compiler and runner through mod.ts", async () => {
  const registry = new NodeRegistry([...BUILTIN_NODES, Shout]);
  const ir = await parseWorkflow(JSON.stringify({
    ir_version: "0.1.0",
    inputs: { name: { type: "string" } },
    nodes: [{ id: "s", type: "shout", params: { text: "hi ${name}" } }],
    outputs: { loud: { source: "${s.text}" } },
  }));
  assert.deepEqual(validateWorkflow(ir, { registry }), []);
  const compiled = compileWorkflow(ir, { registry });
  const result = await runWorkflow(compiled, { inputs: { name: "Ada" } });
  assert.equal(result.status, "success");
  assert.deepEqual(result.outputs, { loud: "HI ADA" });
  const wired = compiled.nodes.get("s")!.node;
  assert.ok(wired instanceof Shout);
  assert.equal((wired as Shout).calls, 1, "custom fields read through the wrappers");
  assert.deepEqual(layersOf(wired), ["namespaced", "template"]);
  assert.equal((unwrapNode(wired) as Shout).calls, 1);
});

Deno.test("validation rejects a param the user's node does not declare", async () => {
  const registry = new NodeRegistry([...BUILTIN_NODES, Shout]);
  const ir = await parseWorkflow(
    JSON.stringify({ ir_version: "0.1.0", nodes: [{ id: "s", type: "shout", params: { txt: "x" } }] }),
  );
  const messages = validateWorkflow(ir, { registry }).map((p) => p.message);
  assert.deepEqual(messages, [
    "'shout' does not accept param 'txt' (did you mean 'text'?); accepted: text",
    "'shout' requires param 'text' (Input)",
  ]);
});

Deno.test("a user's node class uses the decorators through mod.ts: usage attributed, phases timed", async () => {
  const { callLlm, instrumentNode, llmUsage, RunTelemetry, timed, loadShippedPriceTable } = await import(
    "../mod.ts"
  );
  const { startLlmServer } = await import("./support/llm_server.ts");
  const server = await startLlmServer();
  try {
    @timed
    class Summarize extends Node {
      static spec = {
        type: "summarize",
        description: "asks a model",
        params: { text: { type: "string", required: true, description: "" } },
        outputs: { summary: { type: "string", description: "" } },
      } as const;
      override async exec() {
        return (await this.ask(String(this.params.text))).text;
      }
      @llmUsage
      ask(prompt: string) {
        return callLlm({ model: "anthropic/claude-haiku-4-5", prompt }, {
          env: { ANTHROPIC_API_KEY: "k", ANTHROPIC_BASE_URL: server.url },
          settings: {},
        });
      }
      override post(shared: Record<string, unknown>, _p: unknown, summary: unknown) {
        shared.summary = summary;
        return undefined;
      }
    }
    const registry = new NodeRegistry([...BUILTIN_NODES, Summarize]);
    const ir = await parseWorkflow(JSON.stringify({
      ir_version: "0.1.0",
      nodes: [{
        id: "s",
        type: "summarize",
        params: { text: '[[usage:{"input_tokens": 1000, "output_tokens": 100}]]' },
      }],
    }));
    const telemetry = new RunTelemetry({ instrumented: true, pricing: await loadShippedPriceTable() });
    const result = await runWorkflow(compileWorkflow(ir, { registry, instrument: instrumentNode }), { telemetry });
    assert.equal(result.status, "success", JSON.stringify(result.error));
    assert.equal(telemetry.llmCalls.length, 1);
    assert.equal(telemetry.llmCalls[0].node_id, "s");
    assert.equal(telemetry.llmCalls[0].cost_usd, (1000 * 1 + 100 * 5) / 1e6);
    assert.equal(telemetry.totals!.nodes.get("s")!.llm_calls, 1);
  } finally {
    await server.close();
  }
});

Deno.test("runWorkflow applies declared input defaults and checks inputs as the CLI does", async () => {
  const registry = new NodeRegistry([...BUILTIN_NODES]);
  const ir = await parseWorkflow(JSON.stringify({
    ir_version: "0.1.0",
    inputs: {
      name: { type: "string", default: "world" },
      n: { type: "integer" },
      piped: { type: "string", required: false, stdin: true },
    },
    nodes: [{ id: "e", type: "echo", params: { value: "hello ${name} ${n}" } }],
    outputs: { r: { source: "${e.output}" }, piped: { source: "${piped}" } },
  }));
  const compiled = compileWorkflow(ir, { registry });
  const result = await runWorkflow(compiled, { inputs: { n: 3 }, stdin: "from stdin" });
  assert.equal(result.status, "success", JSON.stringify(result.error));
  assert.deepEqual(result.outputs, { r: "hello world 3", piped: "from stdin" });
  assert.equal(result.shared.name, "world", "the default is in the root store, as a given input is");
  // A given value wins over the default; an undeclared name joins the root store as given.
  const given = await runWorkflow(compiled, { inputs: { n: 4, name: "Ada", extra: [1] } });
  assert.deepEqual(given.outputs.r, "hello Ada 4");
  assert.deepEqual(given.shared.extra, [1]);
  // Inputs that do not fit fail before anything runs, as the CLI's exit 2 does.
  await assert.rejects(
    runWorkflow(compiled, { inputs: { n: "not a number" } }),
    (error: Error & { problems?: { message: string }[] }) => {
      assert.equal(error.name, "ValidationError");
      assert.deepEqual(error.problems?.map((p) => p.message), [`input 'n' must be integer, got "not a number"`]);
      return true;
    },
  );
  await assert.rejects(runWorkflow(compiled, {}), /missing required input 'n'/);
});

Deno.test("an edge's action is checked against the actions a node class declares in its spec", async () => {
  class Router extends Node {
    static spec = {
      type: "router",
      description: "Routes",
      params: {},
      outputs: {},
      actions: ["left", "right"],
    } as const;
  }
  const registry = new NodeRegistry([...BUILTIN_NODES, Router]);
  const ir = await parseWorkflow(JSON.stringify({
    ir_version: "0.1.0",
    nodes: [{ id: "r", type: "router" }, { id: "a", type: "echo" }, { id: "b", type: "echo" }, {
      id: "c",
      type: "echo",
    }],
    edges: [
      { from: "r", to: "a", action: "left" },
      { from: "r", to: "b", action: "rigth" },
      { from: "r", to: "c", action: "error" },
    ],
  }));
  assert.deepEqual(validateWorkflow(ir, { registry }), [{
    pointer: "/edges/1/action",
    message: "node 'r' (router) never returns action 'rigth' (did you mean 'right'?), so this edge would never " +
      "be taken; its actions: default, error, left, right",
  }]);
});

Deno.test("parseWorkflow refuses numbers that would change value: the first ten located, the last counting the rest", async () => {
  const values = Array.from({ length: 12 }, (_, i) => `${90071992547409931n + BigInt(i) * 10n}`);
  const text = `{"ir_version": "0.1.0", "nodes": [{"id": "a", "type": "echo", "params": {"value": [${values}]}}]}`;
  const error = await parseWorkflow(text).then(() => undefined, (e: Error & { problems?: unknown[] }) => e);
  const problems = (error?.problems ?? []) as { pointer?: string; message: string }[];
  assert.equal(problems.length, 10, String(error));
  assert.equal(problems[0].pointer, "/nodes/0/params/value/0");
  assert.match(problems[0].message, /^90071992547409931 cannot be held exactly by a JSON number here; it reads as /);
  assert.match(problems[9].message, /\(and 2 more numbers like it after this one\)$/);
  // Exact ones, and long digit runs inside text, are not problems.
  const exact = `{"ir_version": "0.1.0", "nodes": [{"id": "a", "type": "echo", "params": {"value": ` +
    `[9007199254740991, 1e20, 0.1, "12345678901234567890"]}}]}`;
  assert.deepEqual((await parseWorkflow(exact)).nodes[0].params, {
    value: [9007199254740991, 1e20, 0.1, "12345678901234567890"],
  });
});

Deno.test("compileWorkflow refuses an edge or start_node naming no node with a ValidationError, not a TypeError", async () => {
  const registry = new NodeRegistry(BUILTIN_NODES);
  const cases = [
    [{ edges: [{ from: "a", to: "zz" }] }, "/edges/0/to", "unknown node 'zz'"],
    [{ edges: [{ from: "b", to: "a" }] }, "/edges/0/from", "unknown node 'b'"],
    [{ start_node: "nope" }, "/start_node", "unknown node 'nope'"],
  ] as const;
  for (const [extra, pointer, message] of cases) {
    const ir = await parseWorkflow(
      JSON.stringify({ ir_version: "0.1.0", nodes: [{ id: "a", type: "echo" }], ...extra }),
    );
    assert.throws(() => compileWorkflow(ir, { registry }), (error: unknown) => {
      assert.ok(error instanceof ValidationError, String(error));
      assert.equal(error.problems[0].pointer, pointer);
      assert.ok(error.problems[0].message.startsWith(message), error.message);
      assert.match(error.message, /validateWorkflow\(\)/);
      return true;
    });
  }
});

Deno.test("runWorkflow refuses a maxNodeExecutions that is not a positive whole number, before running", async () => {
  const registry = new NodeRegistry([...BUILTIN_NODES, Shout]);
  const ir = await parseWorkflow(JSON.stringify({
    ir_version: "0.1.0",
    nodes: [{ id: "a", type: "shout", params: { text: "a" } }, { id: "b", type: "shout", params: { text: "b" } }],
    edges: [{ from: "a", to: "b" }, { from: "b", to: "a" }],
  }));
  const compiled = compileWorkflow(ir, { registry });
  for (const bad of [NaN, 0, -1, 1.5, Infinity, 2 ** 53]) {
    await assert.rejects(
      // The signal ends the run if the limit is let through (NaN used to turn the guard off).
      () => runWorkflow(compiled, { maxNodeExecutions: bad, warn: () => {}, signal: AbortSignal.timeout(1000) }),
      (error: unknown) =>
        error instanceof RangeError && /maxNodeExecutions must be a positive whole number/.test(error.message),
      String(bad),
    );
  }
  await assert.rejects(
    () => runWorkflow(compiled, { maxNodeExecutions: "3" as unknown as number }),
    TypeError,
  );
  assert.equal((unwrapNode(compiled.nodes.get("a")!.node) as Shout).calls, 0, "nothing ran");
  const limited = await runWorkflow(compiled, { maxNodeExecutions: 2, warn: () => {} });
  assert.equal(limited.status, "failed");
  assert.equal(limited.nodes_executed, 4);
});

Deno.test("@timed: a subclass's own phases are timed as its base's; a timed method gets its arguments as given", async () => {
  const { instrumentNode, RunTelemetry, timed } = await import("../mod.ts");
  type Execution = import("../mod.ts").NodeExecution;
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  const spec = (type: string) => ({ type, description: "", params: {}, outputs: {} });
  @timed
  class Base extends Node {
    static spec = spec("base");
    override async prep() {
      await sleep(5);
    }
    override async exec() {
      await sleep(5);
    }
    override async post() {
      await sleep(5);
      return undefined;
    }
  }
  class Slow extends Base {
    static override spec = spec("slow");
    override async exec() {
      await sleep(60);
    }
  }
  class Slower extends Slow {
    static override spec = spec("slower");
    override async post() {
      await sleep(60);
      return undefined;
    }
  }
  class Args extends Node {
    static spec = spec("args");
    @timed
    override exec(...args: unknown[]) {
      return args.length;
    }
    override post(shared: Record<string, unknown>, _p: unknown, count: unknown) {
      shared.count = count;
      return undefined;
    }
  }
  const registry = new NodeRegistry([Base, Slow, Slower, Args]);
  const ir = await parseWorkflow(JSON.stringify({
    ir_version: "0.1.0",
    nodes: [{ id: "slow", type: "slow" }, { id: "slower", type: "slower" }, { id: "args", type: "args" }],
    edges: [{ from: "slow", to: "slower" }, { from: "slower", to: "args" }],
    outputs: { count: { source: "${args.count}" } },
  }));
  const plain = await runWorkflow(compileWorkflow(ir, { registry }));
  assert.equal(plain.outputs.count, 2, "exec(prepResult, ctx): what _exec passes");
  const events = new Map<string, Execution>();
  const telemetry = new RunTelemetry({
    instrumented: true,
    phases: true,
    sinks: [{ keepsExecutions: true, nodeEnd: (e) => events.set(e.node_id, structuredClone(e)) }],
  });
  const traced = await runWorkflow(compileWorkflow(ir, { registry, instrument: instrumentNode }), { telemetry });
  assert.equal(traced.outputs.count, 2);
  const slow = events.get("slow")!.phases;
  assert.ok(slow.exec >= 50 && slow.prep < 40, `the overriding exec counts as exec: ${JSON.stringify(slow)}`);
  const slower = events.get("slower")!.phases;
  assert.ok(slower.exec >= 50 && slower.post >= 50 && slower.prep < 40, JSON.stringify(slower));
});

Deno.test("library errors are worded for the library: inputs by option name, a class without spec named", async () => {
  const registry = new NodeRegistry(BUILTIN_NODES);
  const ir = await parseWorkflow(JSON.stringify({
    ir_version: "0.1.0",
    inputs: { n: { type: "integer" }, text: { type: "string", stdin: true }, opt: { type: "string", required: false } },
    nodes: [{ id: "e", type: "echo", params: { value: "${opt}" } }],
  }));
  const compiled = compileWorkflow(ir, { registry });
  await assert.rejects(runWorkflow(compiled, {}), (error: unknown) => {
    assert.ok(error instanceof ValidationError);
    assert.deepEqual(error.problems.map((p) => p.message), [
      "missing required input 'n': set inputs.n",
      "missing required input 'text': set inputs.text or options.stdin",
    ]);
    return true;
  });
  const unset = await runWorkflow(compiled, { inputs: { n: 1, text: "t" } });
  assert.equal(
    unset.error?.message,
    `param 'value': cannot resolve \${opt}: input 'opt' was not given and has no default; set inputs.opt or give the input a "default"`,
  );
  class NoSpec extends Node {}
  assert.throws(
    () => new NodeRegistry([...BUILTIN_NODES, NoSpec as never]),
    new TypeError(
      "NodeRegistry: class NoSpec has no static spec; a node class declares `static spec = { type, description, params, outputs }`",
    ),
  );
  assert.throws(
    () => compileWorkflow({ ir_version: "0.1.0", nodes: [] } as never, { registry }),
    /\/nodes: a workflow needs at least one node/,
  );
});

Deno.test("batch.items warns, as a param does, about a number of JSON text the list cannot hold exactly", async () => {
  const registry = new NodeRegistry(BUILTIN_NODES);
  const run = async (stdout: string, items: string) => {
    const ir = await parseWorkflow(JSON.stringify({
      ir_version: "0.1.0",
      nodes: [
        { id: "a", type: "shell", params: { command: `printf '%s' '${stdout}'` } },
        { id: "b", type: "echo", params: { value: "${x}" }, batch: { items, as: "x" } },
      ],
      edges: [{ from: "a", to: "b" }],
      outputs: { out: { source: "${b.results[*].output}" } },
    }));
    const warnings: string[] = [];
    const result = await runWorkflow(compileWorkflow(ir, { registry }), { warn: (m) => warnings.push(m) });
    assert.equal(result.status, "success", result.error?.message);
    return { out: result.outputs.out, warnings };
  };
  // A path into the text that selects the list.
  const path = await run('{"ids":[12345678901234567890, 2]}', "${a.stdout.ids}");
  assert.deepEqual(path.out, [12345678901234567000, 2]);
  assert.deepEqual(path.warnings, [
    `\${a.stdout.ids}: 'a.stdout.ids[0]' 12345678901234567890 cannot be held exactly by a JSON number here; it ` +
    `reads as 12345678901234567000 (write it in the JSON as a string: "12345678901234567890")`,
  ]);
  // Text that is itself a JSON list.
  const text = await run("[1, 98765432109876543210]", "${a.stdout}");
  assert.deepEqual(text.out, [1, 98765432109876540000]);
  assert.deepEqual(text.warnings, [
    `\${a.stdout}: 'a.stdout[1]' 98765432109876543210 cannot be held exactly by a JSON number here; it ` +
    `reads as 98765432109876540000 (write it in the JSON as a string: "98765432109876543210")`,
  ]);
  // Exact numbers say nothing.
  assert.deepEqual((await run("[9007199254740991, 0.1]", "${a.stdout}")).warnings, []);
});

Deno.test("runWorkflow refuses a given key that a batch's item variable would hide, before any node runs", async () => {
  const registry = new NodeRegistry(BUILTIN_NODES);
  const ir = await parseWorkflow(JSON.stringify({
    ir_version: "0.1.0",
    nodes: [
      { id: "each", type: "echo", batch: { items: ["x", "y"], as: "word" }, params: { value: "${word}" } },
      { id: "plain", type: "echo", batch: { items: [1] }, params: { value: "${item}" } },
    ],
    edges: [{ from: "each", to: "plain" }],
  }));
  const compiled = compileWorkflow(ir, { registry });
  for (const [name, node] of [["word", "each"], ["item", "plain"]]) {
    let ran = false;
    await assert.rejects(
      runWorkflow(compiled, { inputs: { [name]: "given" }, observer: { nodeStart: () => void (ran = true) } }),
      (error: unknown) => {
        assert.ok(error instanceof ValidationError, String(error));
        assert.deepEqual(error.problems, [{
          pointer: `/inputs/${name}`,
          message: `inputs.${name} was given, but node '${node}' names its batch item '${name}': ` +
            `\${${name}} would read the item there; give the value another name`,
        }]);
        return true;
      },
    );
    assert.equal(ran, false);
  }
  const result = await runWorkflow(compiled, { inputs: { other: "given" } });
  assert.equal(result.status, "success");
});

Deno.test("runWorkflow refuses a given key named like a node (namespacing on) before any node runs", async () => {
  const registry = new NodeRegistry(BUILTIN_NODES);
  const ir = await parseWorkflow(JSON.stringify({
    ir_version: "0.1.0",
    nodes: [{ id: "a", type: "echo", params: { value: "hi" } }, { id: "b", type: "echo", params: { value: "${a}" } }],
    edges: [{ from: "a", to: "b" }],
  }));
  const compiled = compileWorkflow(ir, { registry });
  const message = "inputs.a was given, but 'a' is a node's id: the value and the node's outputs would share one " +
    "name; give the value another name (or rename the node)";
  for (const given of [{ k: 1 }, Object.freeze({ k: 1 })]) {
    let ran = false;
    await assert.rejects(
      runWorkflow(compiled, { inputs: { a: given }, observer: { nodeStart: () => void (ran = true) } }),
      (error: unknown) => {
        assert.ok(error instanceof ValidationError, String(error));
        assert.deepEqual(error.problems, [{ pointer: "/inputs/a", message }]);
        return true;
      },
    );
    assert.deepEqual(given, { k: 1 }, "the caller's object is left as given");
    assert.equal(ran, false);
  }
  // Another name is fine, and so is a node's id with namespacing off (nodes write at the root then).
  assert.equal((await runWorkflow(compiled, { inputs: { z: { k: 1 } } })).status, "success");
  const flat = compileWorkflow({ ...ir, enable_namespacing: false }, { registry });
  assert.equal((await runWorkflow(flat, { inputs: { a: "x" } })).status, "success");
});

Deno.test("a template in an object key: validateWorkflow reports it at the key, compileWorkflow refuses it", async () => {
  const registry = new NodeRegistry(BUILTIN_NODES);
  const ir = await parseWorkflow(JSON.stringify({
    ir_version: "0.1.0",
    inputs: { k: { type: "string" } },
    nodes: [{ id: "e", type: "echo", params: { value: { "${k}": "v" } } }],
  }));
  const problems = validateWorkflow(ir, { registry });
  assert.deepEqual(problems.map((p) => p.pointer), ["/nodes/0/params/value/${k}"]);
  assert.match(problems[0].message, /^\$\{k\} is in an object key, and templates are resolved only in values/);
  assert.throws(
    () => compileWorkflow(ir, { registry }),
    (e: unknown) => e instanceof TemplateSyntaxError && /^\$\{k\} is in an object key/.test(e.message),
  );
});

Deno.test("runWorkflow: an input named stdin is refused, and a given stdin is never overwritten by options.stdin", async () => {
  const registry = new NodeRegistry(BUILTIN_NODES);
  const reserved = compileWorkflow(
    await parseWorkflow(JSON.stringify({
      ir_version: "0.1.0",
      inputs: { stdin: { type: "integer" } },
      nodes: [{ id: "e", type: "echo", params: { value: "${stdin}" } }],
    })),
    { registry },
  );
  for (const options of [{ inputs: { stdin: 5 }, stdin: "piped" }, { stdin: "piped" }, { inputs: { stdin: 5 } }]) {
    await assert.rejects(
      runWorkflow(reserved, options),
      (e: unknown) =>
        e instanceof ValidationError &&
        e.problems.length === 1 && e.problems[0].pointer === "/inputs/stdin" &&
        e.problems[0].message.startsWith("'stdin' is reserved for piped input (${stdin})"),
      JSON.stringify(options),
    );
  }
  const ir = await parseWorkflow(JSON.stringify({
    ir_version: "0.1.0",
    nodes: [{ id: "e", type: "echo", params: { value: "${stdin}" } }],
    outputs: { o: { source: "${e.output}" } },
  }));
  assert.deepEqual(validateWorkflow(ir, { registry, inputs: { stdin: "given" } }), []);
  const compiled = compileWorkflow(ir, { registry });
  assert.deepEqual((await runWorkflow(compiled, { inputs: { stdin: "given" } })).outputs, { o: "given" });
  assert.deepEqual((await runWorkflow(compiled, { stdin: "piped" })).outputs, { o: "piped" });
  await assert.rejects(
    runWorkflow(compiled, { inputs: { stdin: "given" }, stdin: "piped" }),
    (e: unknown) =>
      e instanceof ValidationError &&
      e.problems[0].message ===
        "inputs.stdin was given, and stdin was piped too: both would be ${stdin}; give only one",
  );
});

Deno.test("a user's node class checks its params: a problem naming its param points at it, a plain string at params", async () => {
  class Checked extends Node {
    static spec = { ...Shout.spec, type: "checked" };
    static validate(params: Record<string, unknown>): (ParamProblem | string)[] {
      return params.text === "bad" ? [{ param: "text", message: "text is bad" }, "the params are bad"] : [];
    }
  }
  const registry = new NodeRegistry([...BUILTIN_NODES, Checked]);
  const ir = await parseWorkflow(JSON.stringify({
    ir_version: "0.1.0",
    nodes: [{ id: "c", type: "checked", params: { text: "bad" } }],
  }));
  assert.deepEqual(validateWorkflow(ir, { registry }), [
    { pointer: "/nodes/0/params/text", message: "text is bad" },
    { pointer: "/nodes/0/params", message: "the params are bad" },
  ]);
});

Deno.test("an HTTP error body's validation message under a credential name is masked in the message, never learned for later runs", async () => {
  // What Django REST framework answers a form without its fields.
  const server = createServer((_req, res) => {
    res.writeHead(400, { "content-type": "application/json" });
    res.end(JSON.stringify({ username: ["This field is required."], password: ["This field is required."] }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  try {
    const registry = new NodeRegistry(BUILTIN_NODES);
    const form = compileWorkflow(
      await parseWorkflow(JSON.stringify({
        ir_version: "0.1.0",
        nodes: [{ id: "h", type: "http", params: { url: `http://127.0.0.1:${port}/signup`, method: "POST" } }],
      })),
      { registry },
    );
    const failed = await runWorkflow(form);
    assert.equal(
      failed.error?.message,
      `HTTP 400: {"username":["This field is required."],"password":["[REDACTED]"]}`,
    );
    // A later run in the same process prints the sentence as it is.
    const other = compileWorkflow(
      await parseWorkflow(JSON.stringify({
        ir_version: "0.1.0",
        nodes: [{ id: "s", type: "shell", params: { command: "echo 'This field is required.' >&2; exit 3" } }],
      })),
      { registry },
    );
    const later = await runWorkflow(other);
    assert.equal(later.error?.message, "command exited with code 3: This field is required.");
  } finally {
    server.close();
  }
});
