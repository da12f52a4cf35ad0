/**
 * The planner's pure parts, in process: the prompt is built from the node
 * specs and teaches valid workflows; replies are read leniently; inputs are
 * typed by their declared types.
 * @module
 */
import assert from "node:assert/strict";
import { BUILTIN_NODES } from "../src/nodes/mod.ts";
import {
  generateSystemPrompt,
  PLANNER_EXAMPLES,
  renderCatalogueEntry,
  repairMessage,
  typeInputs,
  workflowProblems,
} from "../src/planner/mod.ts";
import {
  DISCOVER_SCHEMA,
  GENERATE_SCHEMA,
  isUsableReply,
  readDiscoverReply,
  readGenerateReply,
} from "../src/planner/replies.ts";
import { callTimeoutMs, GenerateNode } from "../src/planner/nodes.ts";
import { discoverMessage } from "../src/planner/prompts.ts";
import { planRequest } from "../src/planner/flow.ts";
import type { LlmRequest } from "../src/llm/types.ts";
import { RunTelemetry } from "../src/observability/telemetry.ts";
import { startLlmServer } from "./support/llm_server.ts";
import { jsonSchemaProblems, shippedSchema } from "../src/llm/structured.ts";
import type { WorkflowIR } from "../src/workflow/ir.ts";
import { NodeRegistry } from "../src/workflow/registry.ts";

const registry = new NodeRegistry(BUILTIN_NODES);

Deno.test("the generate prompt lists every built-in type with every param and output, and is stable", () => {
  const prompt = generateSystemPrompt(registry.specs());
  for (const { spec } of BUILTIN_NODES) {
    assert.ok(prompt.includes(`### ${spec.type}\n${spec.description}`), spec.type);
    for (const name of Object.keys(spec.params)) assert.ok(prompt.includes(`  - ${name} (`), `${spec.type}.${name}`);
    for (const name of Object.keys(spec.outputs)) assert.ok(prompt.includes(`  - ${name} (`), `${spec.type} → ${name}`);
  }
  assert.equal(generateSystemPrompt(new NodeRegistry([...BUILTIN_NODES].reverse()).specs()), prompt);
});

Deno.test("every worked example in the prompt is a valid workflow whose params fill its inputs", () => {
  assert.ok(PLANNER_EXAMPLES.length >= 3);
  for (const example of PLANNER_EXAMPLES) {
    assert.deepEqual(workflowProblems(example.reply.workflow, registry), [], example.request);
    const typed = typeInputs(example.reply.workflow, example.reply.params, { stdinPiped: false });
    assert.deepEqual(typed.missing, [], example.request);
    assert.ok(generateSystemPrompt(registry.specs()).includes(JSON.stringify(example.reply)));
  }
});

Deno.test("workflowProblems: a key=value given with the request is known to the plan's templates, as pflow run knows it", () => {
  const greet: WorkflowIR = { ir_version: "0.1.0", nodes: [{ id: "a", type: "echo", params: { value: "hi ${who}" } }] };
  assert.match(workflowProblems(greet, registry)[0].message, /'who' is not a node id, an input or stdin/);
  assert.deepEqual(workflowProblems(greet, registry, { who: "Bob" }), []);
  // Still a problem when another name is given.
  assert.match(workflowProblems(greet, registry, { whom: "Bob" })[0].message, /'who' is not a node id/);
  // A workflow that declares inputs accepts no other key (pflow run refuses it): the plan must declare it.
  const declaring: WorkflowIR = { ...greet, inputs: { greeting: { type: "string", default: "hi" } } };
  assert.deepEqual(workflowProblems(declaring, registry, { who: "Bob" }), [{
    pointer: "/inputs",
    message: "'who=…' is given with the request but is not an input of this workflow; inputs: greeting " +
      `(declare 'who' under "inputs": a workflow that declares inputs accepts no other key=value)`,
  }]);
  assert.deepEqual(
    workflowProblems({ ...greet, inputs: { who: { type: "string" } } }, registry, { who: "Bob" }),
    [],
  );
});

Deno.test("workflowProblems: schema problems, then the validator's (machine checks such as API keys skipped)", () => {
  assert.deepEqual(workflowProblems(undefined, registry), [{
    pointer: "",
    message: 'the reply has no "workflow" object',
  }]);
  const schema = workflowProblems({ ir_version: "0.1.0" }, registry);
  assert.ok(schema.some((p) => /nodes/.test(p.message)), JSON.stringify(schema));
  const llmOnly: WorkflowIR = { ir_version: "0.1.0", nodes: [{ id: "a", type: "llm", params: { prompt: "hi" } }] };
  assert.deepEqual(workflowProblems(llmOnly, registry), [], "no API key needed to plan");
  const bad: WorkflowIR = { ir_version: "0.1.0", nodes: [{ id: "a", type: "echo", params: { value: "${nope.x}" } }] };
  assert.match(workflowProblems(bad, registry)[0].message, /nope/);
  // Deeper than `pflow run` reads a workflow file: one problem for the repair, not a plan that cannot load.
  let deep: unknown = "x";
  for (let i = 0; i < 2000; i++) deep = { a: deep };
  const tooDeep = { ir_version: "0.1.0", nodes: [{ id: "a", type: "echo", params: { value: deep } }] };
  assert.deepEqual(workflowProblems(tooDeep, registry), [{
    pointer: "",
    message: "nested deeper than 1000 levels of arrays and objects; flatten the data",
  }]);
});

Deno.test("the reuse call's message names the key=value names given with the request, never their values", () => {
  assert.equal(discoverMessage("greet Ada"), 'Request: "greet Ada"');
  assert.match(discoverMessage("greet Ada", ["who"]), /gives a value for "who" with the request \(not shown here\)/);
  assert.match(discoverMessage("greet", ["who", "n"]), /gives a value for each of "who", "n"/);
});

Deno.test("the repair message carries each problem's pointer and message verbatim", () => {
  const text = repairMessage([{ pointer: "/nodes/0/type", message: "unknown node type 'shel'" }, {
    message: "no pointer",
  }]);
  assert.ok(text.includes("- /nodes/0/type: unknown node type 'shel'"));
  assert.ok(text.includes("- /: no pointer"));
});

Deno.test("reuse replies: a name outside the catalogue, or a reply of the wrong shape, is no reuse", () => {
  const known = new Set(["greet"]);
  assert.deepEqual(readDiscoverReply({ workflow_name: "greet", params: { name: "Ada" }, reason: "r" }, known), {
    workflowName: "greet",
    params: { name: "Ada" },
    reason: "r",
  });
  assert.equal(readDiscoverReply({ workflow_name: "other" }, known).workflowName, null);
  assert.equal(readDiscoverReply({ workflow_name: " greet " }, known).workflowName, "greet");
  assert.deepEqual(readDiscoverReply("nonsense", known), { workflowName: null, params: {}, reason: "" });
  assert.deepEqual(readDiscoverReply({ workflow_name: "greet", params: [1] }, known).params, {});
});

Deno.test("generate replies: the workflow and params, or a bare workflow; no params is undefined (a repair keeps the earlier ones)", () => {
  const workflow = { ir_version: "0.1.0", nodes: [] };
  assert.deepEqual(readGenerateReply({ workflow, params: { a: 1 } }), { workflow, params: { a: 1 } });
  assert.deepEqual(readGenerateReply(workflow), { workflow, params: undefined });
  assert.deepEqual(readGenerateReply({ workflow, params: null }), { workflow, params: undefined });
  assert.deepEqual(readGenerateReply({ workflow, params: {} }), { workflow, params: undefined });
  assert.deepEqual(readGenerateReply(null), { workflow: undefined, params: undefined });
});

Deno.test("replies the strict schema refuses are still usable when the readers take them", () => {
  const workflow = { ir_version: "0.1.0", nodes: [] };
  assert.ok(isUsableReply(DISCOVER_SCHEMA, { workflow_name: "greet", params: null }));
  assert.ok(isUsableReply(DISCOVER_SCHEMA, { workflow_name: null, reason: 3 }));
  assert.ok(!isUsableReply(DISCOVER_SCHEMA, { params: {} }), "no decision");
  assert.ok(!isUsableReply(DISCOVER_SCHEMA, { workflow_name: 3 }));
  assert.ok(isUsableReply(GENERATE_SCHEMA, workflow), "a bare workflow");
  assert.ok(isUsableReply(GENERATE_SCHEMA, { workflow, params: null }));
  assert.ok(!isUsableReply(GENERATE_SCHEMA, { plan: 1 }));
  assert.ok(!isUsableReply(GENERATE_SCHEMA, { workflow: "{}" }), "a workflow that is text is for the repair call");
  assert.ok(!isUsableReply(GENERATE_SCHEMA, [workflow]));
  // Any other schema (an llm node's) is never read leniently.
  assert.ok(!isUsableReply({ type: "object" }, { workflow_name: "greet" }));
  assert.ok(!isUsableReply(undefined, workflow));
});

Deno.test("typeInputs: values typed by the declared type; undeclared dropped; missing listed; stdin fills", () => {
  const workflow: WorkflowIR = {
    ir_version: "0.1.0",
    inputs: {
      n: { type: "integer", description: "count" },
      flag: { type: "boolean" },
      title: { type: "string" },
      items: { type: "array" },
      text: { type: "string", stdin: true, description: "piped" },
      optional: { type: "string", required: false },
      withDefault: { type: "number", default: 1 },
    },
    nodes: [{ id: "a", type: "echo" }],
  };
  const typed = typeInputs(workflow, { n: "3", flag: "true", title: 123, items: '["x"]', extra: 1 }, {
    stdinPiped: false,
  });
  assert.deepEqual(typed.inputs, { n: 3, flag: true, title: "123", items: ["x"] });
  assert.deepEqual(typed.missing, [{ name: "text", type: "string", description: "piped" }]);
  assert.deepEqual(
    typeInputs(workflow, { n: 1, flag: false, title: "t", items: [] }, { stdinPiped: true }).missing,
    [],
  );
  // A value not of its input's type is left out, as if not given: a required input is then missing, a default
  // applies; each is listed, a secret's value not shown.
  const wrong = typeInputs(workflow, { n: "three", withDefault: "x", text: "t", flag: "yes" }, { stdinPiped: false });
  assert.deepEqual(wrong.inputs, { text: "t" });
  assert.deepEqual(wrong.missing.map((m) => m.name), ["n", "flag", "title", "items"]);
  assert.deepEqual(wrong.mistyped, [
    { name: "n", type: "integer", problem: 'must be integer, got "three"' },
    { name: "flag", type: "boolean", problem: 'must be boolean, got "yes"' },
    { name: "withDefault", type: "number", problem: 'must be number, got "x"' },
  ]);
  // Text for an untyped input is typed by the command line's rule for an untyped key=value (a secret's stays text).
  const untyped: WorkflowIR = {
    ir_version: "0.1.0",
    inputs: { a: {}, b: {}, c: {}, d: {}, e: { type: "any" }, api_token: {}, bad: {} },
    nodes: [],
  };
  const typedUntyped = typeInputs(
    untyped,
    { a: "42", b: "1.10", c: "true", d: "[1]", e: 7, api_token: "000123", bad: "{x" },
    { stdinPiped: false },
  );
  assert.deepEqual(typedUntyped.inputs, { a: 42, b: "1.10", c: true, d: [1], e: 7, api_token: "000123" });
  assert.match(typedUntyped.mistyped[0].problem, /^must be valid JSON when it starts with \[ or \{/);
  const secret: WorkflowIR = { ir_version: "0.1.0", inputs: { pin_token: { type: "integer" } }, nodes: [] };
  assert.match(typeInputs(secret, { pin_token: "12ab" }, { stdinPiped: false }).mistyped[0].problem, /not shown/);
  assert.ok(!JSON.stringify(typeInputs(secret, { pin_token: "12ab" }, { stdinPiped: false })).includes("12ab"));
});

Deno.test("catalogue entries show name, description and typed inputs", () => {
  const line = renderCatalogueEntry({
    name: "greet",
    description: "Greets",
    path: "/x",
    inputs: { name: { type: "string", required: true, description: "Who" }, n: { required: false, default: 2 } },
  });
  assert.equal(line, "- greet: Greets\n  inputs: name (string, required): Who; n (any, optional, default 2)");
});

Deno.test("catalogue entries never show a secret-named input's default, even one built by hand", () => {
  const line = renderCatalogueEntry({
    name: "api",
    description: "Calls",
    path: "/x",
    inputs: { api_token: { type: "string", required: false, default: "tok-123456789" } },
  });
  assert.equal(line, "- api: Calls\n  inputs: api_token (string, optional, has a secret default (not shown))");
});

Deno.test("the planner's reply schemas ship checked: valid against the draft-07 meta-schema, passed without a check", () => {
  for (const [name, schema] of Object.entries({ DISCOVER_SCHEMA, GENERATE_SCHEMA })) {
    // A deep copy is not a shipped schema: it gets the full check, which these must pass.
    const copy = structuredClone(schema);
    assert.deepEqual(jsonSchemaProblems(copy), [], name);
    assert.equal(jsonSchemaProblems(schema).length, 0, name);
    // The full check does see a broken copy.
    assert.match(jsonSchemaProblems({ ...copy, required: "workflow" }).join(), /required/, name);
  }
  // What shipping means: no check at run time, which is why the test above must hold for every shipped schema.
  const broken = { type: "object", required: "workflow" };
  assert.notDeepEqual(jsonSchemaProblems(broken), []);
  assert.deepEqual(jsonSchemaProblems(shippedSchema(broken)), []);
});

Deno.test("each planner call's attempts are bounded by the planning's time left, not the llm layer's 120 s default", async () => {
  // The per-attempt timeout each call asks for, seen on the way to the llm layer (the model answers at once).
  let owner = GenerateNode.prototype as unknown as Record<string, unknown>;
  while (!Object.hasOwn(owner, "ask")) owner = Object.getPrototypeOf(owner);
  const ask = owner.ask as (this: unknown, request: LlmRequest, ...rest: unknown[]) => Promise<unknown>;
  const seen: (number | undefined)[] = [];
  owner.ask = function (this: unknown, request: LlmRequest, ...rest: unknown[]) {
    seen.push(request.timeoutMs);
    return ask.call(this, request, ...rest);
  };
  const srv = await startLlmServer();
  try {
    const valid = { ir_version: "0.1.0", name: "say", nodes: [{ id: "a", type: "echo", params: { value: "hi" } }] };
    const invalid = { ...valid, nodes: [{ id: "a", type: "ech0" }] };
    const planOnce = (deadline: number | undefined) =>
      planRequest({
        request: "say hi",
        model: "anthropic/claude-haiku-4-5",
        catalogue: [],
        registry,
        maxRepairs: 1,
        stdinPiped: false,
        signal: new AbortController().signal,
        deadline,
        env: { ANTHROPIC_API_KEY: "test-key", ANTHROPIC_BASE_URL: srv.url },
        settings: {},
        telemetry: new RunTelemetry(),
        warn: () => {},
      });
    // A 300 s planner timeout: a generate and a repair call, each allowed what is left of the 300 s.
    srv.enqueue({ json: { workflow: invalid, params: {} } }, { json: { workflow: valid, params: {} } });
    const started = performance.now();
    const outcome = await planOnce(started + 300_000);
    assert.equal(outcome.status, "success", outcome.error?.message);
    assert.equal(seen.length, 2);
    const [generate, repair] = seen as number[];
    assert.ok(generate > 120_000 && generate <= 300_000, `generate call: ${generate} ms`);
    assert.ok(generate >= 300_000 - (performance.now() - started) - 1, `generate call: ${generate} ms`);
    assert.ok(repair <= generate && repair > 120_000, `repair call: ${repair} ms after ${generate} ms`);
    // No deadline (library use): the llm layer's default applies.
    seen.length = 0;
    srv.enqueue({ json: { workflow: valid, params: {} } });
    assert.equal((await planOnce(undefined)).status, "success");
    assert.deepEqual(seen, [undefined]);
  } finally {
    owner.ask = ask;
    await srv.close();
  }
  // Past the deadline, still a valid timeout for the llm layer (the planner's abort ends the call); a deadline
  // beyond any timer is a finite number.
  assert.equal(callTimeoutMs(1000, 5000), 1);
  assert.equal(callTimeoutMs(1e300, 0), Number.MAX_SAFE_INTEGER);
  assert.equal(callTimeoutMs(10_000.2, 0), 10_001);
});
