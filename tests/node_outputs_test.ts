/**
 * A node's outputs after its latest execution: the `error` output whenever its
 * `error` edge is taken (thrown or returned), nothing carried over from an
 * earlier execution of a node on a loop, and a failure described by the
 * failing node's own outputs (namespacing off too). Library runs and the
 * compiled binary.
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { Node, type Shared } from "../src/engine/mod.ts";
import { BUILTIN_NODES, type NodeSpec } from "../src/nodes/mod.ts";
import { instrumentNode, RunTelemetry } from "../src/observability/mod.ts";
import { compileWorkflow, NodeRegistry, runWorkflow, validateWorkflow, type WorkflowIR } from "../src/workflow/mod.ts";
import { runPflow, workflow, writeWorkflow } from "./support/cli.ts";
import { assertExit, oneJson, withHome } from "./support/e2e.ts";

/**
 * Counts its passes across the run (`Flaky.passes`, reset by each test); on
 * a pass listed in `fail_on` it throws (`mode: "throw"`) or returns the
 * `error` action writing nothing; on any other it writes `out` = "pass N".
 */
class Flaky extends Node {
  static passes = 0;
  static readonly spec: NodeSpec = {
    type: "flaky",
    description: "test node",
    params: {
      fail_on: { type: "array", description: "passes (1-based) that fail" },
      mode: { type: "string", description: "throw or return" },
    },
    outputs: { out: { type: "string", description: "the pass, when it succeeded" } },
    actions: ["default", "error"],
  };
  override exec() {
    const pass = ++Flaky.passes;
    const fails = (this.params.fail_on as number[]).includes(pass);
    if (fails && this.params.mode === "throw") throw new Error(`pass ${pass} broke`);
    return { pass, fails };
  }
  override post(shared: Shared, _p: unknown, r: { pass: number; fails: boolean }) {
    if (r.fails) return "error";
    shared.out = `pass ${r.pass}`;
    return undefined;
  }
}

/** Returns the `error` action after writing its own `error` output. */
class OwnError extends Node {
  static readonly spec: NodeSpec = {
    type: "own-error",
    description: "test node",
    params: {},
    outputs: { error: { type: "string", description: "why" } },
    actions: ["default", "error"],
  };
  override post(shared: Shared) {
    shared.error = "quota used up";
    return "error";
  }
}

/** Counts its passes in its own `n` (reading what the pass before wrote); `first` only on the first pass. */
class Tally extends Node {
  static readonly spec: NodeSpec = {
    type: "tally",
    description: "test node",
    params: {},
    outputs: {
      n: { type: "integer", description: "passes so far" },
      first: { type: "boolean", description: "set on the first pass" },
    },
    actions: ["default", "again"],
  };
  override post(shared: Shared) {
    const n = ((shared.n as number | undefined) ?? 0) + 1;
    shared.n = n;
    if (n === 1) shared.first = true;
    return n < 3 ? "again" : undefined;
  }
}

const registry = new NodeRegistry([...BUILTIN_NODES, Flaky, OwnError, Tally]);
const quiet = { warn: () => {} };

async function run(ir: WorkflowIR, options: { instrumented?: boolean } = {}) {
  assert.deepEqual(validateWorkflow(ir, { registry }), []);
  const instrumented = options.instrumented ?? false;
  const compiled = compileWorkflow(ir, { registry, instrument: instrumented ? instrumentNode : undefined });
  Flaky.passes = 0;
  return await runWorkflow(compiled, { telemetry: new RunTelemetry({ instrumented }), ...quiet });
}

/** What node `id` holds at the end of a run: its namespace, or with namespacing off the root. */
function outputsOf(result: { shared: Shared }, id: string, namespacing: boolean): Shared {
  return namespacing ? result.shared[id] as Shared : result.shared;
}

/** `node` with an `error` edge to an echo node `handler` that shows its `error` output. */
function handled(node: WorkflowIR["nodes"][number], namespacing: boolean): WorkflowIR {
  const errorRef = namespacing ? `\${${node.id}.error}` : "${error}";
  return {
    ir_version: "0.1.0",
    enable_namespacing: namespacing,
    nodes: [node, { id: "handler", type: "echo", params: { value: `handled: ${errorRef}` } }],
    edges: [{ from: node.id, to: "handler", action: "error" }],
  };
}

const MODES = [false, true].flatMap((namespacing) =>
  [false, true].map((instrumented) => ({ namespacing, instrumented }))
);

Deno.test("a returned `error` action that takes the error edge sets the node's `error` output: shell, http, echo, own", async () => {
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, () => {
    return new Response("gone", { status: 404 });
  });
  try {
    const url = `http://127.0.0.1:${server.addr.port}/thing`;
    const cases: [WorkflowIR["nodes"][number], string][] = [
      [
        { id: "build", type: "shell", params: { command: "echo warming >&2; echo 'compile failed' >&2; exit 3" } },
        "command exited with code 3: compile failed",
      ],
      [{ id: "fetch", type: "http", params: { url } }, "HTTP 404: gone"],
      [{ id: "check", type: "echo", params: { value: 1, fail: true } }, "returned the 'error' action"],
      [{ id: "quota", type: "own-error" }, "quota used up"],
    ];
    for (const [node, message] of cases) {
      for (const { namespacing, instrumented } of MODES) {
        const where = `${node.type}, namespacing ${namespacing}, instrumented ${instrumented}`;
        const result = await run(handled(node, namespacing), { instrumented });
        assert.equal(result.status, "success", `${where}: ${JSON.stringify(result.error)}`);
        assert.equal(outputsOf(result, "handler", namespacing).output, `handled: ${message}`, where);
        assert.deepEqual(result.completions.get(node.id), { success: 0, error: 1 }, where);
      }
    }
  } finally {
    await server.shutdown();
  }
});

Deno.test("a pass of a loop that throws shows none of the earlier pass's outputs to its error handler", async () => {
  // flaky loops on itself; pass 1 succeeds (writes out), pass 2 throws: the handler sees what pass 2 left.
  const ir: WorkflowIR = {
    ir_version: "0.1.0",
    nodes: [
      { id: "flaky", type: "flaky", params: { fail_on: [2], mode: "throw" } },
      { id: "handler", type: "echo", params: { value: "${flaky}" } },
    ],
    edges: [{ from: "flaky", to: "flaky" }, { from: "flaky", to: "handler", action: "error" }],
  };
  for (const instrumented of [false, true]) {
    const result = await run(ir, { instrumented });
    assert.equal(result.status, "success", JSON.stringify(result.error));
    assert.deepEqual(
      (result.shared.handler as Shared).output,
      { error: "pass 2 broke" },
      `instrumented ${instrumented}`,
    );
    assert.deepEqual(result.shared.flaky, { error: "pass 2 broke" });
    assert.deepEqual(result.completions.get("flaky"), { success: 1, error: 1 });
  }
});

Deno.test("a node that failed and then succeeds on a later pass holds no `error` any more (namespacing on and off)", async () => {
  for (const mode of ["throw", "return"]) {
    for (const { namespacing, instrumented } of MODES) {
      // flaky's error edge leads back to itself: pass 1 fails, pass 2 succeeds and leads on to `done`.
      const ir: WorkflowIR = {
        ir_version: "0.1.0",
        enable_namespacing: namespacing,
        nodes: [
          { id: "flaky", type: "flaky", params: { fail_on: [1], mode } },
          { id: "done", type: "echo", params: { value: "done" } },
        ],
        edges: [{ from: "flaky", to: "flaky", action: "error" }, { from: "flaky", to: "done" }],
      };
      const where = `${mode}, namespacing ${namespacing}, instrumented ${instrumented}`;
      const result = await run(ir, { instrumented });
      assert.equal(result.status, "success", `${where}: ${JSON.stringify(result.error)}`);
      const flaky = outputsOf(result, "flaky", namespacing);
      assert.equal(flaky.out, "pass 2", where);
      assert.equal(Object.hasOwn(flaky, "error"), false, `${where}: ${JSON.stringify(flaky)}`);
    }
  }
});

Deno.test("a node on a loop that writes nothing on a pass holds nothing of the pass before", async () => {
  // Pass 1 writes out; pass 2 returns `error` (no write, no error edge): the run fails, and `flaky` is empty.
  const ir: WorkflowIR = {
    ir_version: "0.1.0",
    nodes: [{ id: "flaky", type: "flaky", params: { fail_on: [2], mode: "return" } }],
    edges: [{ from: "flaky", to: "flaky" }],
  };
  const result = await run(ir);
  assert.equal(result.status, "failed");
  assert.deepEqual(result.error, { message: "returned the 'error' action", node_id: "flaky", type: "ErrorAction" });
  assert.deepEqual(result.shared.flaky, {});
});

Deno.test("a node on a loop still reads what its earlier pass wrote, but its outputs are its latest pass's only", async () => {
  const ir: WorkflowIR = {
    ir_version: "0.1.0",
    nodes: [
      { id: "tally", type: "tally" },
      { id: "show", type: "echo", params: { value: "${tally}" } },
    ],
    edges: [{ from: "tally", to: "tally", action: "again" }, { from: "tally", to: "show" }],
  };
  for (const instrumented of [false, true]) {
    const result = await run(ir, { instrumented });
    assert.equal(result.status, "success", JSON.stringify(result.error));
    assert.deepEqual(result.completions.get("tally"), { success: 3, error: 0 }, "it counted 1, 2, 3");
    assert.deepEqual((result.shared.show as Shared).output, { n: 3 }, "no `first` of the first pass");
    assert.deepEqual(result.shared.tally, { n: 3 });
  }
});

Deno.test("namespacing off: a failure is described by the failing node's outputs, not an earlier node's", async () => {
  const handledFirst: WorkflowIR = {
    ir_version: "0.1.0",
    enable_namespacing: false,
    nodes: [
      { id: "a", type: "read-file", params: { path: "/nonexistent/pflow/does-not-exist.txt" } },
      { id: "h", type: "echo", params: { value: "handled" } },
      { id: "c", type: "shell", params: { command: "echo 'the real problem' >&2; exit 3" } },
    ],
    edges: [{ from: "a", to: "h", action: "error" }, { from: "h", to: "c" }],
  };
  const first = await run(handledFirst);
  assert.deepEqual(first.error, {
    message: "command exited with code 3: the real problem",
    node_id: "c",
    type: "ErrorAction",
  });
  // An earlier shell node's exit_code 0 at the root says nothing of an echo node that returns `error`.
  const afterShell: WorkflowIR = {
    ir_version: "0.1.0",
    enable_namespacing: false,
    nodes: [
      { id: "s", type: "shell", params: { command: "true" } },
      { id: "e", type: "echo", params: { fail: true } },
    ],
    edges: [{ from: "s", to: "e" }],
  };
  const second = await run(afterShell);
  assert.deepEqual(second.error, { message: "returned the 'error' action", node_id: "e", type: "ErrorAction" });
});

// ---------------------------------------------------------------- the binary

Deno.test("binary: ${node.error} of a shell node that exits non-zero reaches its handler (validate and run agree)", async () => {
  await withHome(async (dir, env) => {
    const file = writeWorkflow(
      dir,
      "wf.json",
      workflow([
        { id: "build", type: "shell", params: { command: "echo 'compile failed' >&2; exit 3" } },
        { id: "notify", type: "echo", params: { value: "build failed: ${build.error}" } },
      ], {
        edges: [{ from: "build", to: "notify", action: "error" }],
        outputs: { msg: { source: "${notify.output}" } },
      }),
    );
    assertExit(await runPflow(["validate", file], { env }), 0);
    const result = await runPflow(["run", file], { env });
    assertExit(result, 0);
    assert.equal(result.stdout, "build failed: command exited with code 3: compile failed\n");
  });
});

Deno.test("binary: a loop pass that times out shows its handler no stdout of the pass before", async () => {
  await withHome(async (dir, env) => {
    const count = join(dir, "count");
    const file = writeWorkflow(
      dir,
      "wf.json",
      workflow([
        {
          id: "step",
          type: "shell",
          params: {
            command: `n=$(cat '${count}' 2>/dev/null || echo 0); echo $((n+1)) > '${count}'; ` +
              `if [ $n -ge 1 ]; then sleep 5; fi; echo run-$n`,
            timeout: 0.5,
          },
        },
        { id: "again", type: "echo", params: { value: "ok" } },
        { id: "handler", type: "echo", params: { value: "${step}" } },
      ], {
        edges: [
          { from: "step", to: "again" },
          { from: "again", to: "step" },
          { from: "step", to: "handler", action: "error" },
        ],
        outputs: { h: { source: "${handler.output}" } },
      }),
    );
    const result = await runPflow(["run", file, "--output-format", "json"], { env });
    assertExit(result, 0);
    const h = (oneJson(result).result as { h: Record<string, unknown> }).h;
    assert.deepEqual(Object.keys(h), ["error"], JSON.stringify(h));
    assert.match(h.error as string, /^command timed out after 0.5 s/);
  });
});

Deno.test("binary: namespacing off, a later failure is reported with its own message, not an earlier handled one", async () => {
  await withHome(async (dir, env) => {
    const file = writeWorkflow(
      dir,
      "wf.json",
      workflow([
        { id: "a", type: "read-file", params: { path: "does-not-exist.txt" } },
        { id: "h", type: "echo", params: { value: "handled" } },
        { id: "c", type: "shell", params: { command: "echo 'the real problem' >&2; exit 3" } },
      ], { enable_namespacing: false, edges: [{ from: "a", to: "h", action: "error" }, { from: "h", to: "c" }] }),
    );
    const result = await runPflow(["run", file], { env, cwd: dir });
    assertExit(result, 1);
    assert.match(result.stderr, /error: node 'c' failed: command exited with code 3: the real problem\n/);
  });
});
