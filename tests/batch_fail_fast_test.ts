/**
 * A parallel batch under `fail_fast`: the first failed item stops the items
 * still running (their signal aborts: commands killed, requests aborted) and
 * the node fails with that item's error at once. The engine's
 * `mapConcurrent` and `BatchNode`, a library run, and the compiled binary.
 * @module
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import {
  BatchNode,
  FatalError,
  InterruptedError,
  mapConcurrent,
  type RunContext,
  type Shared,
} from "../src/engine/mod.ts";
import { BUILTIN_NODES } from "../src/nodes/mod.ts";
import { compileWorkflow, NodeRegistry, runWorkflow, type WorkflowIR } from "../src/workflow/mod.ts";
import { runPflow, workflow, writeWorkflow } from "./support/cli.ts";
import { assertExit, isDead, withHome } from "./support/e2e.ts";

/** Resolves after `ms`, or rejects with InterruptedError when `signal` aborts first. */
function wait(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      reject(new InterruptedError());
    }, { once: true });
  });
}

Deno.test("mapConcurrent aborts the calls in flight at the first error, waits for them, and rethrows that error", async () => {
  const settled: string[] = [];
  const started = performance.now();
  await assert.rejects(
    mapConcurrent([0, 1, 2, 3], async (i, _index, signal) => {
      try {
        if (i === 1) {
          await wait(20, signal);
          throw new Error("item 1 failed");
        }
        await wait(5_000, signal);
      } finally {
        settled.push(`${i}${signal.aborted ? " aborted" : ""}`);
      }
    }, { limit: 4 }),
    /^Error: item 1 failed$/,
  );
  assert.ok(performance.now() - started < 2_000, "the calls in flight were stopped");
  assert.deepEqual(settled.sort(), ["0 aborted", "1", "2 aborted", "3 aborted"], "each settled before it returned");
});

Deno.test("mapConcurrent: a FatalError (a spent budget) lets the calls in flight finish", async () => {
  const finished: number[] = [];
  await assert.rejects(
    mapConcurrent([0, 1, 2], async (i, _index, signal) => {
      if (i === 0) throw new FatalError("budget spent");
      await wait(50, signal);
      finished.push(i);
    }, { limit: 3 }),
    /budget spent/,
  );
  assert.deepEqual(finished.sort(), [1, 2]);
});

Deno.test("mapConcurrent: the given signal's abort reaches the calls in flight; one call at a time gets it as is", async () => {
  const run = new AbortController();
  const seen: AbortSignal[] = [];
  const pending = mapConcurrent([0, 1], async (_i, _index, signal) => {
    seen.push(signal);
    await wait(5_000, signal);
  }, { limit: 2, signal: run.signal });
  setTimeout(() => run.abort(), 10);
  await assert.rejects(pending, InterruptedError);
  assert.equal(seen.length, 2);
  assert.ok(seen.every((s) => s.aborted));

  const given = new AbortController().signal;
  const alone: AbortSignal[] = [];
  const note = (_i: number, _index: number, signal: AbortSignal) => Promise.resolve(alone.push(signal));
  await mapConcurrent([0, 1], note, { limit: 1, signal: given });
  await mapConcurrent([0], note, { limit: 3, signal: given });
  assert.deepEqual(alone, [given, given, given]);
});

Deno.test("a parallel BatchNode's items see the batch's signal in ctx: a failed item stops the others", async () => {
  const stopped: number[] = [];
  class Items extends BatchNode {
    override prep() {
      return [0, 1, 2];
    }
    override async exec(item: unknown, ctx: RunContext) {
      if (item === 1) throw new Error("item 1 failed");
      try {
        await wait(5_000, ctx.signal);
      } catch (error) {
        stopped.push(item as number);
        throw error;
      }
    }
  }
  const node = new Items({ parallel: true });
  const started = performance.now();
  await assert.rejects(node.run({} as Shared), /item 1 failed/);
  assert.ok(performance.now() - started < 2_000);
  assert.deepEqual(stopped.sort(), [0, 2]);
});

Deno.test("a parallel fail_fast batch of http requests aborts the requests in flight; continue lets them finish", async () => {
  const aborted: string[] = [];
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, async (request) => {
    const item = new URL(request.url).searchParams.get("item")!;
    if (item === "2") {
      await new Promise((resolve) => setTimeout(resolve, 100));
      return new Response("broken", { status: 500 });
    }
    const slow = new URL(request.url).searchParams.get("slow") === "yes";
    if (slow) {
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, 5_000);
        request.signal.addEventListener("abort", () => {
          clearTimeout(timer);
          aborted.push(item);
          resolve(undefined);
        });
      });
    }
    return new Response(`ok ${item}`);
  });
  try {
    const url = `http://127.0.0.1:${server.addr.port}/`;
    const ir = (mode: "fail_fast" | "continue", slow: boolean): WorkflowIR => ({
      ir_version: "0.1.0",
      nodes: [{
        id: "fetch",
        type: "http",
        params: { url, query: { item: "${item}", slow: slow ? "yes" : "no" } },
        batch: { items: [1, 2, 3, 4], parallel: true, max_concurrent: 4, error_handling: mode },
      }],
    });
    const registry = new NodeRegistry(BUILTIN_NODES);
    const started = performance.now();
    const fast = await runWorkflow(compileWorkflow(ir("fail_fast", true), { registry }), { warn: () => {} });
    const took = performance.now() - started;
    assert.equal(fast.status, "failed");
    assert.deepEqual(fast.error, {
      message: "batch item 2 of 4 failed: HTTP 500: broken",
      node_id: "fetch",
      type: "BatchItemFailedError",
    });
    assert.ok(took < 2_000, `the run waited for the other requests: ${took} ms`);
    for (let i = 0; i < 50 && aborted.length < 3; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.deepEqual(aborted.sort(), ["1", "3", "4"], "the server saw the other three requests aborted");

    const cont = await runWorkflow(compileWorkflow(ir("continue", false), { registry }), { warn: () => {} });
    assert.equal(cont.status, "success", JSON.stringify(cont.error));
    const fetched = cont.shared.fetch as { results: ({ response: string } | null)[]; errors: { index: number }[] };
    assert.deepEqual(fetched.results.map((r) => r?.response), ["ok 1", "broken", "ok 3", "ok 4"]);
    assert.deepEqual(fetched.errors.map((e) => e.index), [1]);
  } finally {
    await server.shutdown();
  }
});

Deno.test("binary: a parallel fail_fast batch stops the commands still running and fails at once", async () => {
  await withHome(async (dir, env) => {
    const log = join(dir, "side-effects.log");
    const command = `echo $$ > '${dir}/pid-\${item}'; if [ \${item} -eq 2 ]; then sleep 0.3; exit 7; fi; ` +
      `sleep 5; echo deployed \${item} >> '${log}'`;
    const deploy = { id: "deploy", type: "shell", batch: { items: [1, 2, 3, 4], parallel: true }, params: { command } };
    const file = writeWorkflow(dir, "wf.json", workflow([deploy]));
    const started = performance.now();
    const result = await runPflow(["run", file], { env });
    const took = performance.now() - started;
    assertExit(result, 1);
    assert.match(result.stderr, /error: node 'deploy' failed: batch item 2 of 4 failed: command exited with code 7\n/);
    assert.ok(took < 3_000, `took ${took} ms`);
    for (const item of [1, 3, 4]) {
      const pid = Number(readFileSync(join(dir, `pid-${item}`), "utf8"));
      assert.ok(isDead(pid), `item ${item}'s command (pid ${pid}) was stopped`);
    }
    assert.equal(existsSync(log), false, "no item wrote its side effect");

    // With an error edge, the handler runs as soon as the first item failed, with that item's error.
    const handled = writeWorkflow(
      dir,
      "handled.json",
      workflow([deploy, { id: "rollback", type: "echo", params: { value: "rollback: ${deploy.error}" } }], {
        edges: [{ from: "deploy", to: "rollback", action: "error" }],
      }),
    );
    const again = performance.now();
    const rolled = await runPflow(["run", handled], { env });
    assertExit(rolled, 0);
    assert.equal(rolled.stdout, "rollback: batch item 2 of 4 failed: command exited with code 7\n");
    assert.ok(performance.now() - again < 3_000);
    assert.equal(existsSync(log), false);
  });
});
