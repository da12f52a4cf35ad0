/**
 * `__proto__`, `constructor` and `prototype` as input names, param names,
 * output names, node ids, `key=value` params and store paths: plain data or
 * a clear validation error, never object-prototype behaviour. Through the
 * compiled binary.
 * @module
 */
import assert from "node:assert/strict";
import { type CliResult, runPflow, withTempHome, workflow, writeWorkflow } from "./support/cli.ts";

function withDir(fn: (dir: string, env: Record<string, string>) => Promise<void>): Promise<void> {
  return withTempHome(({ dir, env }) => fn(dir, env), "pflow-proto-test-");
}

function explain(r: CliResult): string {
  return `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
}

Deno.test("a `__proto__=…` param is a usage error and never sets another input", async () => {
  await withDir(async (dir, env) => {
    const file = writeWorkflow(
      dir,
      "wf.json",
      workflow([{ id: "a", type: "echo", params: { value: "${i}" } }], {
        inputs: { i: { type: "string", required: false, default: "safe" } },
        outputs: { out: { source: "${a.output}" } },
      }),
    );
    const result = await runPflow(["run", file, '__proto__={"i":"evil"}'], { env });
    assert.equal(result.code, 2, explain(result));
    assert.match(result.stderr, /invalid param name '__proto__': '__proto__' cannot be a name/);
    assert.doesNotMatch(result.stdout, /evil/);
    // A workflow without inputs: the same.
    const bare = writeWorkflow(dir, "bare.json", workflow([{ id: "a", type: "echo", params: { value: 1 } }]));
    const other = await runPflow(["run", bare, '__proto__={"x":1}'], { env });
    assert.equal(other.code, 2, explain(other));
  });
});

Deno.test("`__proto__` as an input, output, node id or batch variable is a validation error naming the field", async () => {
  await withDir(async (dir, env) => {
    const text = `{
  "ir_version": "0.1.0",
  "inputs": { "__proto__": { "type": "string", "required": false } },
  "nodes": [
    { "id": "__proto__", "type": "echo", "params": { "value": 1 } },
    { "id": "b", "type": "echo", "batch": { "items": [1], "as": "__proto__" }, "params": { "value": 2 } }
  ],
  "edges": [{ "from": "__proto__", "to": "b" }],
  "outputs": { "__proto__": { "source": "\${b.results}" } }
}`;
    const file = writeWorkflow(dir, "proto.json", text);
    const result = await runPflow(["run", file], { env });
    assert.equal(result.code, 2, explain(result));
    const lines = result.stderr.trim().split("\n");
    for (
      const [pointer, what] of [
        ["/inputs/__proto__", "an input name"],
        ["/nodes/0/id", "a node id"],
        ["/nodes/1/batch/as", "a batch variable"],
        ["/outputs/__proto__", "an output name"],
      ]
    ) {
      assert.ok(
        lines.some((l) => l.includes(`${pointer}: '__proto__' cannot be ${what}`) && /proto\.json:\d+:\d+:/.test(l)),
        `${pointer} not reported:\n${result.stderr}`,
      );
    }
    const json = await runPflow(["validate", file, "--json"], { env });
    assert.equal(json.code, 2);
    const reserved = JSON.parse(json.stdout).problems.filter((p: { message: string }) =>
      p.message.includes("'__proto__' cannot be")
    );
    assert.equal(reserved.length, 4, json.stdout);
  });
});

Deno.test("`constructor` and `prototype` are plain names: inputs, params, outputs, node ids and store paths", async () => {
  await withDir(async (dir, env) => {
    const file = writeWorkflow(
      dir,
      "plain.json",
      workflow([
        { id: "constructor", type: "echo", params: { value: "${prototype}" } },
        { id: "b", type: "echo", params: { value: "${constructor.output}!" } },
      ], {
        inputs: { prototype: { type: "string" }, toString: { type: "string", required: false } },
        edges: [{ from: "constructor", to: "b" }],
        outputs: { constructor: { source: "${b.output}" }, prototype: { source: "${constructor.output}" } },
      }),
    );
    const result = await runPflow(["run", file, "prototype=123"], { env });
    assert.equal(result.code, 0, explain(result));
    // `prototype` is a string input: the text "123", not a number; both outputs are present.
    assert.deepEqual(JSON.parse(result.stdout), { constructor: "123!", prototype: "123" });
    // An input named like an Object.prototype member that is not given is missing, not a function.
    const missing = writeWorkflow(
      dir,
      "missing.json",
      workflow([{ id: "a", type: "echo", params: { value: "${constructor}" } }], {
        inputs: { constructor: { type: "string" } },
      }),
    );
    const noValue = await runPflow(["run", missing], { env });
    assert.equal(noValue.code, 2, explain(noValue));
    assert.match(noValue.stderr, /missing required input 'constructor'/);
    const given = await runPflow(["run", missing, "constructor=Ada"], { env });
    assert.equal(given.code, 0, explain(given));
    assert.equal(given.stdout, "Ada\n");
  });
});

Deno.test("a param named `constructor` is an unknown param, and `${constructor}` names no store key", async () => {
  await withDir(async (dir, env) => {
    const file = writeWorkflow(
      dir,
      "p.json",
      workflow([{ id: "a", type: "shell", params: { command: "true", constructor: 1, toString: "x" } }]),
    );
    const result = await runPflow(["run", file], { env });
    assert.equal(result.code, 2, explain(result));
    assert.match(result.stderr, /\/nodes\/0\/params\/constructor: 'shell' does not accept param 'constructor'/);
    assert.match(result.stderr, /\/nodes\/0\/params\/toString: 'shell' does not accept param 'toString'/);
    assert.doesNotMatch(result.stderr, /must be , got/);
    // At run time (namespacing off, so the name is not checked statically), `${constructor}` is not Object.
    const root = writeWorkflow(
      dir,
      "root.json",
      workflow([{ id: "a", type: "echo", params: { value: "${constructor}" } }], { enable_namespacing: false }),
    );
    const run = await runPflow(["run", root], { env });
    assert.equal(run.code, 2, explain(run));
    assert.match(run.stderr, /'constructor' is not a node id, an input or stdin/);
    const hasOwn = writeWorkflow(
      dir,
      "own.json",
      workflow([{ id: "a", type: "echo", params: { value: "${x.constructor}" } }], {
        inputs: { x: { type: "object" } },
      }),
    );
    const deep = await runPflow(["run", hasOwn, 'x={"a":1}'], { env });
    assert.equal(deep.code, 1, explain(deep));
    assert.match(deep.stderr, /cannot resolve \$\{x\.constructor\}: 'x' has no 'constructor' \(available: a\)/);
    // `-o constructor` for a workflow that does not declare it is a usage error, not Object's constructor.
    const out = await runPflow(["run", hasOwn, 'x={"a":1}', "-o", "constructor"], { env });
    assert.equal(out.code, 2, explain(out));
  });
});

Deno.test("data keys named `__proto__` stay plain data in results and traces", async () => {
  await withDir(async (dir, env) => {
    const file = writeWorkflow(
      dir,
      "data.json",
      workflow([{ id: "a", type: "echo", params: { value: "${x}" } }], {
        inputs: { x: { type: "object" } },
        outputs: { out: { source: "${a.output}" }, inner: { source: "${x.__proto__.k}" } },
      }),
    );
    const result = await runPflow(["run", file, 'x={"__proto__":{"k":"v"},"a":1}', "--trace", "--json"], { env });
    assert.equal(result.code, 0, explain(result));
    const doc = JSON.parse(result.stdout);
    assert.deepEqual(JSON.parse(JSON.stringify(doc.result.out)), JSON.parse('{"__proto__":{"k":"v"},"a":1}'));
    assert.equal(doc.result.inner, "v");
    const { readFileSync } = await import("node:fs");
    const trace = readFileSync(doc.trace_path, "utf8");
    assert.match(trace, /"__proto__":\{"k":"v"\}/, "the trace keeps the key as data");
  });
});
