import assert from "node:assert/strict";
import { layersOf, Node, type Shared } from "../src/engine/mod.ts";
import { BUILTIN_NODES, type NodeSpec } from "../src/nodes/mod.ts";
import { instrumentNode, RunTelemetry } from "../src/observability/mod.ts";
import {
  compileWorkflow,
  namespacedStore,
  NodeRegistry,
  PendingNamespaces,
  resolveInputs,
  runWorkflow,
  scopeOf,
  validateWorkflow,
  ValidationError,
  type WorkflowIR,
} from "../src/workflow/mod.ts";

/** Reads `key` from its (namespaced) store and writes what it saw. */
class Probe extends Node {
  static readonly spec: NodeSpec = {
    type: "probe",
    description: "test node",
    params: { key: { type: "string", description: "key to read" }, value: { type: "any", description: "value" } },
    outputs: { seen: { type: "any", description: "what it read" }, value: { type: "any", description: "param value" } },
  };
  override prep(shared: Shared) {
    return { seen: this.params.key ? shared[this.params.key as string] : undefined, value: this.params.value };
  }
  override post(shared: Shared, p: { seen: unknown; value: unknown }) {
    shared.seen = p.seen;
    shared.value = p.value;
    return undefined;
  }
}

const registry = new NodeRegistry([...BUILTIN_NODES, Probe]);
const quiet = { warn: () => {} };

function ir(nodes: WorkflowIR["nodes"], extra: Partial<WorkflowIR> = {}): WorkflowIR {
  const edges = nodes.slice(1).map((n, i) => ({ from: nodes[i].id, to: n.id }));
  return { ir_version: "0.1.0", nodes, edges, ...extra };
}

async function run(workflow: WorkflowIR, inputs: Record<string, unknown> = {}) {
  assert.deepEqual(validateWorkflow(workflow, { registry }), []);
  const compiled = compileWorkflow(workflow, { registry });
  return await runWorkflow(compiled, { inputs: resolveInputs(workflow, inputs), ...quiet });
}

Deno.test("namespacing: node outputs land under shared[node_id]; inputs stay at the root", async () => {
  const result = await run(
    ir([
      { id: "a", type: "echo", params: { value: "${who}" } },
      { id: "b", type: "echo", params: { value: "got ${a.output}" } },
    ], { inputs: { who: { type: "string" } } }),
    { who: "Ada" },
  );
  assert.equal(result.status, "success");
  assert.deepEqual(result.shared, { who: "Ada", a: { output: "Ada" }, b: { output: "got Ada" } });
});

Deno.test("a node reads its own namespace first, then the root", async () => {
  const result = await run(
    ir([
      { id: "p", type: "probe", params: { key: "who", value: 1 } },
      { id: "q", type: "probe", params: { key: "value", value: 2 } },
    ], { inputs: { who: { type: "string" }, value: { type: "string" } } }),
    { who: "root-who", value: "root-value" },
  );
  assert.equal((result.shared.p as Shared).seen, "root-who");
  // q has not written `value` yet when it reads it, so it sees the root's.
  assert.equal((result.shared.q as Shared).seen, "root-value");
  const shared: Shared = { key: "root", n: { key: "own" } };
  const view = namespacedStore(shared, "n");
  assert.equal(view.key, "own");
  assert.equal(view.other, undefined);
  view.fresh = 1;
  assert.deepEqual(shared.n, { key: "own", fresh: 1 });
  assert.ok("key" in view && "fresh" in view);
});

Deno.test("an input named like a node: the node's outputs join the input's object, in a loop too", async () => {
  // A node runs at most once a run unless it is on a cycle, so its namespace is made without looking the key
  // up first, except for the keys the run started with: those are joined, as a namespace from an earlier pass is.
  // Validation refuses a declared input named like a node, and resolveInputs a given key named like one (see
  // below); a key the store starts with (put there by onStart) still joins the namespace.
  const workflow = ir([{ id: "a", type: "echo", params: { value: "A" } }, { id: "b", type: "probe" }]);
  assert.throws(() => resolveInputs(workflow, { a: { kept: 1 } }), ValidationError);
  // Plain (the walk makes the views) and instrumented (the namespaced layer makes them, inside the instrumented one).
  for (const instrumented of [false, true]) {
    const compiled = compileWorkflow(workflow, { registry, instrument: instrumented ? instrumentNode : undefined });
    const result = await runWorkflow(compiled, {
      onStart: (shared) => Object.assign(shared, { a: { kept: 1 }, b: "plain" }),
      telemetry: new RunTelemetry({ instrumented }),
      ...quiet,
    });
    assert.equal(result.status, "success");
    assert.deepEqual(result.shared.a, { kept: 1, output: "A" }, "an object input is the namespace");
    assert.deepEqual(result.shared.b, { seen: undefined, value: undefined }, "a value that is no object is replaced");
  }
  const looping: WorkflowIR = {
    ir_version: "0.1.0",
    nodes: [{ id: "n", type: "probe", params: { key: "value", value: "again" } }],
    edges: [{ from: "n", to: "n" }],
    limits: { max_node_executions: 3 },
  };
  const compiled = compileWorkflow(looping, { registry });
  const loop = await runWorkflow(compiled, quiet);
  assert.equal(loop.status, "failed", "stopped by the loop guard");
  assert.equal((loop.shared.n as Shared).seen, "again", "a later pass reads what the earlier one wrote");
  assert.deepEqual(loop.completions.get("n"), { success: 3, error: 0 });
});

Deno.test("a node on a loop, or one whose key the run started with, reads the outputs of nodes run before it", async () => {
  // Fresh namespaces wait to join the store together; a view that looks its key up reads the store at once.
  const loop = ir([
    { id: "a", type: "echo", params: { value: "A" } },
    { id: "b", type: "echo", params: { value: "${a.output}" } },
    { id: "c", type: "echo", params: { value: "${b.output}" } },
  ], { limits: { max_node_executions: 2 } });
  loop.edges!.push({ from: "c", to: "b" });
  const looped = await runWorkflow(compileWorkflow(loop, { registry }), quiet);
  assert.equal(looped.status, "failed", "stopped by the loop guard, not by a missing ${a.output}");
  assert.match(looped.error?.message ?? "", /ran 2 times/);
  assert.equal((looped.shared.c as Shared).output, "A");
  const chain = ir([
    { id: "a", type: "echo", params: { value: "A" } },
    { id: "b", type: "echo", params: { value: "${a.output}" } },
  ]);
  for (const instrumented of [false, true]) {
    const compiled = compileWorkflow(chain, { registry, instrument: instrumented ? instrumentNode : undefined });
    const result = await runWorkflow(compiled, {
      onStart: (shared) => Object.assign(shared, { b: { kept: 1 } }),
      telemetry: new RunTelemetry({ instrumented }),
      ...quiet,
    });
    assert.equal(result.status, "success", result.error?.message);
    assert.deepEqual(result.shared.b, { kept: 1, output: "A" });
  }
});

Deno.test("a fresh namespaced view creates its object at the first write and reads the parent until then", () => {
  const parent: Shared = { shared: "root" };
  const view = namespacedStore(parent, "n", { fresh: true });
  assert.equal(view.shared, "root");
  assert.equal("n" in parent, false, "nothing is created by reading");
  assert.deepEqual(Object.keys(view), ["shared"]);
  view.out = 1;
  assert.deepEqual(parent.n, { out: 1 });
  view.out = 2;
  assert.deepEqual(parent.n, { out: 2 }, "the same object, once made");
  delete view.out;
  assert.deepEqual(parent.n, {});
});

Deno.test("a walk's fresh namespaces join the root together, in order, before anything reads it", () => {
  const root: Shared = { input: 1 };
  const pending = new PendingNamespaces(root);
  const fresh = { fresh: true, pending };
  const view = (id: string) => namespacedStore(root, id, fresh);
  const a = view("a");
  a.out = "A";
  const b = view("b");
  b.out = "B";
  assert.deepEqual(Object.keys(root), ["input"], "made, not yet in the root");
  assert.deepEqual(b.out, "B", "a view reads its own object");
  assert.deepEqual(b.a, { out: "A" }, "a read that falls back to the root finds the earlier namespace");
  assert.deepEqual(Object.keys(root), ["input", "a", "b"], "every waiting namespace joined, in the order made");
  // Each way of reading the root through a view puts the waiting ones in first.
  const reads: [string, (v: Shared) => unknown][] = [
    ["get", (v) => v.c],
    ["has", (v) => "c" in v],
    ["ownKeys", (v) => Object.keys(v).includes("c")],
    ["getOwnPropertyDescriptor", (v) => Object.getOwnPropertyDescriptor(v, "c") !== undefined],
    ["template scope", (v) => scopeOf(v).root.c],
  ];
  for (const [name, read] of reads) {
    delete root.c;
    view("c").out = "C";
    assert.equal("c" in root, false, name);
    assert.ok(read(view("reader")), `${name} sees the namespace made before it`);
    assert.deepEqual(root.c, { out: "C" }, name);
  }
  // A view that handed out its template scope puts its object in at once: the scope's root is read directly.
  const scoped = view("s");
  const scope = scopeOf(scoped);
  scoped.out = 1;
  assert.deepEqual(scope.root.s, { out: 1 });
  view("t").out = 2;
  pending.flush();
  pending.flush();
  assert.deepEqual(Object.keys(root).slice(-2), ["s", "t"]);
  assert.equal("reader" in root, false, "a view that only read made nothing");
});

Deno.test("a run's store holds every node's namespace in run order, also when a node fails", async () => {
  /** Lists the store's keys as its view shows them. */
  class Keys extends Node {
    static readonly spec: NodeSpec = {
      type: "keys",
      description: "test node",
      params: {},
      outputs: { keys: { type: "array", description: "the store's keys" } },
    };
    override post(shared: Shared) {
      shared.keys = Object.keys(shared);
      return undefined;
    }
  }
  const withKeys = new NodeRegistry([...BUILTIN_NODES, Probe, Keys]);
  const workflow = ir([
    { id: "a", type: "echo", params: { value: "A" } },
    { id: "b", type: "probe", params: { key: "a" } },
    { id: "c", type: "echo", params: { value: "${b.seen.output}" } },
    { id: "k", type: "keys" },
    { id: "d", type: "echo", params: { value: "D" } },
    { id: "fail", type: "read-file", params: { path: "/nonexistent/pflow/file" } },
  ], { inputs: { who: { type: "string", required: false } } });
  // Plain (the walk makes the views) and instrumented (the namespaced layer makes them, inside the instrumented one).
  for (const instrumented of [false, true]) {
    const compiled = compileWorkflow(workflow, {
      registry: withKeys,
      instrument: instrumented ? instrumentNode : undefined,
    });
    const result = await runWorkflow(compiled, {
      inputs: { who: "W" },
      telemetry: new RunTelemetry({ instrumented }),
      ...quiet,
    });
    assert.equal(result.status, "failed");
    assert.equal(result.error?.node_id, "fail");
    assert.deepEqual(Object.keys(result.shared), ["who", "a", "b", "c", "k", "d"], `instrumented: ${instrumented}`);
    assert.deepEqual((result.shared.b as Shared).seen, { output: "A" });
    assert.equal((result.shared.c as Shared).output, "A", "a template reads an earlier node's namespace");
    assert.deepEqual((result.shared.k as Shared).keys, ["who", "a", "b", "c"], "a node sees the namespaces before it");
  }
});

Deno.test("every run counts completed executions per node: returned error, and anything else", async () => {
  const workflow: WorkflowIR = {
    ir_version: "0.1.0",
    nodes: [
      { id: "ok", type: "echo", params: { value: 1 } },
      { id: "bad", type: "echo", params: { value: 2, fail: true } },
      { id: "after", type: "echo", params: { value: 3 } },
      { id: "never", type: "echo", params: { value: 4 } },
    ],
    // 'never' is reached only by an error edge from a node that succeeds.
    edges: [
      { from: "ok", to: "bad" },
      { from: "bad", to: "after", action: "error" },
      { from: "after", to: "never", action: "error" },
    ],
  };
  const result = await run(workflow);
  assert.equal(result.status, "success");
  assert.deepEqual([...result.completions], [
    ["ok", { success: 1, error: 0 }],
    ["bad", { success: 0, error: 1 }],
    ["after", { success: 1, error: 0 }],
  ]);
  assert.equal(result.nodes_executed, 3);
});

Deno.test("with namespacing off, outputs land at the root", async () => {
  const result = await run(ir([
    { id: "a", type: "echo", params: { value: "x" } },
    { id: "b", type: "echo", params: { value: "${output}-y" } },
  ], { enable_namespacing: false }));
  assert.equal(result.shared.output, "x-y");
  assert.equal(result.shared.a, undefined);
});

Deno.test("only nodes that need them get template and batch layers", () => {
  const compiled = compileWorkflow(
    ir([
      { id: "plain", type: "echo", params: { value: "no templates" } },
      { id: "templated", type: "echo", params: { value: "${plain.output}" } },
      { id: "fan", type: "echo", params: { value: "${item}" }, batch: { items: [1, 2] } },
    ]),
    { registry },
  );
  assert.deepEqual(layersOf(compiled.nodes.get("plain")!.node), ["namespaced"]);
  assert.deepEqual(layersOf(compiled.nodes.get("templated")!.node), ["namespaced", "template"]);
  assert.deepEqual(layersOf(compiled.nodes.get("fan")!.node), ["namespaced", "batch", "template"]);
  const off = compileWorkflow(ir([{ id: "plain", type: "echo" }], { enable_namespacing: false }), { registry });
  assert.deepEqual(layersOf(off.nodes.get("plain")!.node), []);
});

Deno.test("templated params are resolved per execution and restored afterwards", async () => {
  const workflow = ir([{ id: "a", type: "echo", params: { value: "${who}" } }], { inputs: { who: {} } });
  const compiled = compileWorkflow(workflow, { registry });
  const first = await runWorkflow(compiled, { inputs: { who: "one" } });
  const second = await runWorkflow(compiled, { inputs: { who: "two" } });
  assert.equal((first.shared.a as Shared).output, "one");
  assert.equal((second.shared.a as Shared).output, "two");
  assert.deepEqual(compiled.nodes.get("a")!.node.params, { value: "${who}" });
});

Deno.test("declared outputs are resolved into the result and the root", async () => {
  const result = await run(
    ir([{ id: "a", type: "echo", params: { value: { n: 5 } } }], {
      outputs: { whole: { source: "${a.output}" }, n: { source: "n=${a.output.n}" } },
    }),
  );
  assert.deepEqual(result.outputs, { whole: { n: 5 }, n: "n=5" });
  assert.equal(result.shared.n, "n=5");
});

Deno.test("every output reads the store as the run left it: one named like an input does not change a later one", async () => {
  for (const enable_namespacing of [true, false]) {
    for (const order of ["written first", "written last"]) {
      const entries: [string, { source: string }][] = [
        ["path", { source: enable_namespacing ? "${a.output}" : "${output}" }],
        ["requested", { source: "${path}" }],
      ];
      if (order === "written last") entries.reverse();
      const workflow = ir([{ id: "a", type: "echo", params: { value: "written.txt" } }], {
        inputs: { path: { type: "string" } },
        outputs: Object.fromEntries(entries),
        enable_namespacing,
      });
      const result = await run(workflow, { path: "a.txt" });
      const label = `namespacing ${enable_namespacing}, path ${order}`;
      assert.deepEqual(result.outputs, { path: "written.txt", requested: "a.txt" }, label);
      assert.equal(result.shared.path, "written.txt", `${label}: the output is still written to the root`);
    }
  }
});

Deno.test("without declared outputs the last node's first output is the result", async () => {
  const result = await run(ir([{ id: "a", type: "echo", params: { value: 1 } }, {
    id: "b",
    type: "echo",
    params: { value: "last" },
  }]));
  assert.deepEqual(result.outputs, { output: "last" });
});

Deno.test("an unhandled error action fails the run and names the node", async () => {
  const result = await run(ir([
    { id: "ok", type: "echo" },
    { id: "bad", type: "shell", params: { command: "echo oops >&2; exit 3" } },
    { id: "never", type: "echo" },
  ]));
  assert.equal(result.status, "failed");
  assert.deepEqual(result.error, { message: "command exited with code 3: oops", node_id: "bad", type: "ErrorAction" });
  assert.equal(result.shared.never, undefined);
});

Deno.test("an error edge handles the error action and the run succeeds", async () => {
  const workflow: WorkflowIR = {
    ir_version: "0.1.0",
    nodes: [
      { id: "bad", type: "echo", params: { fail: true, value: 1 } },
      { id: "handler", type: "echo", params: { value: "handled after ${bad.output}" } },
      { id: "happy", type: "echo" },
    ],
    edges: [{ from: "bad", to: "handler", action: "error" }, { from: "bad", to: "happy" }],
  };
  const result = await run(workflow);
  assert.equal(result.status, "success");
  assert.equal((result.shared.handler as Shared).output, "handled after 1");
  assert.equal(result.shared.happy, undefined);
});

Deno.test("a thrown node error names the node and keeps its message", async () => {
  const result = await run(ir([{ id: "reader", type: "read-file", params: { path: "/nonexistent/pflow/file" } }]));
  assert.equal(result.status, "failed");
  assert.equal(result.error?.node_id, "reader");
  assert.match(result.error!.message, /not found: \/nonexistent\/pflow\/file/);
});

Deno.test("an unresolvable template at run time names node, param and what is available", async () => {
  const result = await run(ir([
    { id: "a", type: "echo", params: { value: { k: 1 } } },
    { id: "b", type: "echo", params: { value: "${a.output.missing}" } },
  ]));
  assert.equal(result.status, "failed");
  assert.equal(result.error?.node_id, "b");
  assert.equal(result.error?.type, "TemplateError");
  assert.equal(
    result.error?.message,
    "param 'value': cannot resolve ${a.output.missing}: 'a.output' has no 'missing' (available: k)",
  );
});

Deno.test("batch: one run per item, results in item order, count and errors", async () => {
  const result = await run(ir([
    {
      id: "fan",
      type: "echo",
      params: { value: "v-${item}", delay_ms: "${item}" },
      batch: { items: [30, 5, 15, 1], parallel: true, max_concurrent: 4 },
    },
  ]));
  assert.equal(result.status, "success", JSON.stringify(result.error));
  const fan = result.shared.fan as Shared;
  assert.deepEqual(fan.results, [{ output: "v-30" }, { output: "v-5" }, { output: "v-15" }, { output: "v-1" }]);
  assert.equal(fan.count, 4);
  assert.deepEqual(fan.errors, []);
});

Deno.test("batch items can come from a template, including a JSON string, with a custom name", async () => {
  const result = await run(ir([
    { id: "list", type: "shell", params: { command: `echo '["a","b","c"]'` } },
    { id: "fan", type: "echo", params: { value: "${letter}!" }, batch: { items: "${list.stdout}", as: "letter" } },
  ]));
  assert.deepEqual((result.shared.fan as Shared).results, [{ output: "a!" }, { output: "b!" }, { output: "c!" }]);
});

Deno.test("batch fail_fast stops at the first failed item; continue records errors", async () => {
  const items = [1, 2, 3];
  const failing = (mode: "fail_fast" | "continue") =>
    ir([{
      id: "fan",
      type: "shell",
      params: { command: "test ${item} -ne 2 && echo ok-${item}" },
      batch: { items, error_handling: mode },
    }]);
  const fast = await run(failing("fail_fast"));
  assert.equal(fast.status, "failed");
  assert.equal(fast.error?.node_id, "fan");
  assert.match(fast.error!.message, /batch item 2 of 3 failed: command exited with code 1/);

  const cont = await run(failing("continue"));
  assert.equal(cont.status, "success");
  const fan = cont.shared.fan as Shared;
  assert.equal(fan.count, 3);
  assert.deepEqual((fan.results as Shared[]).map((r) => r.stdout), ["ok-1\n", "", "ok-3\n"]);
  assert.deepEqual(fan.errors, [{ index: 1, item: 2, error: "command exited with code 1" }]);
});

Deno.test("[*] over a continued batch gives null for an item that threw", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/here.txt`, "present");
    const result = await run(ir([
      {
        id: "m",
        type: "read-file",
        params: { path: "${item}" },
        batch: { items: [`${dir}/here.txt`, `${dir}/missing.txt`], error_handling: "continue" },
      },
      { id: "e", type: "echo", params: { value: "${m.results[*].content}" } },
    ]));
    assert.equal(result.status, "success", JSON.stringify(result.error));
    assert.deepEqual((result.shared.e as Shared).output, ["present", null]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("parallel batches run items concurrently up to max_concurrent", async () => {
  const started = performance.now();
  const result = await run(ir([{
    id: "fan",
    type: "echo",
    params: { delay_ms: 100, value: "${item}" },
    batch: { items: [1, 2, 3, 4, 5, 6], parallel: true, max_concurrent: 3 },
  }]));
  const elapsed = performance.now() - started;
  assert.equal(result.status, "success");
  assert.ok(elapsed >= 190 && elapsed < 550, `two waves of 100 ms, took ${elapsed} ms`);
});

Deno.test("batch items that are not a list fail with a clear message", async () => {
  const result = await run(ir([
    { id: "a", type: "echo", params: { value: "not a list" } },
    { id: "fan", type: "echo", batch: { items: "${a.output}" } },
  ]));
  assert.equal(result.status, "failed");
  assert.match(result.error!.message, /batch.items must resolve to a list, got string "not a list"/);
  // Lines of text: one line, JSON-quoted, with what to do.
  const lines = await run(ir([
    { id: "a", type: "shell", params: { command: "printf 'a.txt\\nb.txt\\n'" } },
    { id: "fan", type: "echo", batch: { items: "${a.stdout}" } },
  ]));
  assert.equal(lines.status, "failed");
  assert.equal(
    lines.error!.message,
    'batch.items must resolve to a list, got string "a.txt\\nb.txt\\n" (text of several lines is not a list: ' +
      "have the command print a JSON array, e.g. by ending it with | jq -Rn '[inputs]', one item per line)",
  );
});

Deno.test("resolveInputs applies defaults, stdin inputs, and reports missing or mistyped inputs", () => {
  const workflow = ir([{ id: "a", type: "echo" }], {
    inputs: {
      name: { type: "string", description: "who" },
      n: { type: "number", default: 2 },
      text: { type: "string", stdin: true },
      opt: { type: "string", required: false },
    },
  });
  assert.deepEqual(resolveInputs(workflow, { name: "x" }, { stdin: "piped" }), { name: "x", n: 2, text: "piped" });
  const error = (() => {
    try {
      resolveInputs(workflow, { n: "two" });
    } catch (e) {
      return e as ValidationError;
    }
  })();
  assert.ok(error instanceof ValidationError);
  assert.deepEqual(error.problems.map((p) => p.message), [
    "missing required input 'name' (who): set inputs.name",
    "input 'n' must be number, got \"two\"",
    "missing required input 'text': set inputs.text or options.stdin",
  ]);
});

Deno.test("stdin use is detected from templates and stdin inputs", () => {
  const uses = compileWorkflow(ir([{ id: "a", type: "echo", params: { value: "${stdin}" } }]), { registry });
  const not = compileWorkflow(ir([{ id: "a", type: "echo", params: { value: "x" } }]), { registry });
  const input = compileWorkflow(ir([{ id: "a", type: "echo" }], { inputs: { text: { stdin: true } } }), { registry });
  assert.equal(uses.stdinTemplates, true);
  assert.equal(not.stdinTemplates, false);
  assert.deepEqual(not.stdinInputs, []);
  assert.deepEqual(input.stdinInputs, ["text"]);
});

Deno.test("an interrupted run ends as interrupted, naming the running node", async () => {
  const compiled = compileWorkflow(ir([{ id: "wait", type: "echo", params: { delay_ms: 5000 } }]), { registry });
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 50);
  const started = performance.now();
  const result = await runWorkflow(compiled, { signal: controller.signal });
  assert.equal(result.status, "interrupted");
  assert.equal(result.error?.node_id, "wait");
  assert.ok(performance.now() - started < 2000);
});

Deno.test("a literal non-positive timeout is caught before the run, naming the param", () => {
  const problems = validateWorkflow(ir([{ id: "s", type: "shell", params: { command: "true", timeout: 0 } }]), {
    registry,
  });
  assert.deepEqual(problems, [{
    pointer: "/nodes/0/params/timeout",
    message: "param 'timeout' must be a positive number of seconds, got 0",
  }]);
});

Deno.test("'never runs before' follows the paths of edges, whatever their order in the file", () => {
  // fetch's success path (save → done) and its error path (report → done) never reach each other.
  const nodes: WorkflowIR["nodes"] = [
    { id: "fetch", type: "echo", params: { value: "x" } },
    { id: "save", type: "echo", params: { value: "${report.output}" } },
    { id: "report", type: "echo", params: { value: "${fetch.output} ${save.output}" } },
    { id: "done", type: "echo", params: { value: "${save.output} ${report.output} ${fetch.output}" } },
    { id: "retry", type: "echo", params: { value: "${done.output} ${loop.output}" } },
    { id: "loop", type: "echo", params: { value: "${retry.output} ${fetch.output} ${save.output}" } },
  ];
  const edges = [
    { from: "fetch", to: "save" },
    { from: "fetch", to: "report", action: "error" },
    { from: "save", to: "done" },
    { from: "report", to: "done" },
    { from: "done", to: "retry" },
    { from: "retry", to: "loop" },
    { from: "loop", to: "retry", action: "error" },
  ];
  const expected = [
    "/nodes/1/params/value ${report.output}: node 'report' never runs before node 'save'",
    "/nodes/2/params/value ${save.output}: node 'save' never runs before node 'report'",
  ];
  const permutations = (list: typeof edges): (typeof edges)[] =>
    list.length <= 1
      ? [list]
      : list.flatMap((edge, i) => permutations([...list.slice(0, i), ...list.slice(i + 1)]).map((p) => [edge, ...p]));
  let orders = 0;
  for (const order of permutations(edges)) {
    const problems = validateWorkflow({ ir_version: "0.1.0", nodes, edges: order }, { registry });
    const found = problems.map((p) => `${p.pointer} ${p.message.replace(/ \(no edges lead.*/, "")}`);
    assert.deepEqual(found, expected, JSON.stringify(order));
    orders++;
  }
  assert.equal(orders, 5040);
});
