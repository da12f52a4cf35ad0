/**
 * A node's outputs: the `error` output whenever its `error` edge is taken
 * (thrown or returned). Library runs and the compiled binary.
 * @module
 */
import assert from "node:assert/strict";
import { Node, type Shared } from "../src/engine/mod.ts";
import { BUILTIN_NODES, type NodeSpec } from "../src/nodes/mod.ts";
import { instrumentNode, RunTelemetry } from "../src/observability/mod.ts";
import { compileWorkflow, NodeRegistry, runWorkflow, validateWorkflow, type WorkflowIR } from "../src/workflow/mod.ts";
import { runPflow, workflow, writeWorkflow } from "./support/cli.ts";
import { assertExit, withHome } from "./support/e2e.ts";

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

const registry = new NodeRegistry([...BUILTIN_NODES, OwnError]);
const quiet = { warn: () => {} };

async function run(ir: WorkflowIR, options: { instrumented?: boolean } = {}) {
  assert.deepEqual(validateWorkflow(ir, { registry }), []);
  const instrumented = options.instrumented ?? false;
  const compiled = compileWorkflow(ir, { registry, instrument: instrumented ? instrumentNode : undefined });
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
      [{ id: "fetch", type: "http", params: { url } }, "HTTP 404"],
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
