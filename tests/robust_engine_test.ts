/**
 * The engine yields to the event loop (a loop of synchronous nodes can be
 * aborted by a timer), and timers of any length (util/timers.ts).
 * @module
 */
import assert from "node:assert/strict";
import {
  EVENT_LOOP_YIELD,
  Flow,
  InterruptedError,
  mapConcurrent,
  maybeYield,
  Node,
  type Shared,
  sleep,
} from "../src/engine/mod.ts";
import { MAX_TIMER_MS, setLongTimeout, timeoutSignal } from "../src/util/timers.ts";

class Spin extends Node {
  override post(shared: Shared) {
    shared.n = ((shared.n as number) ?? 0) + 1;
    return undefined;
  }
}

Deno.test("a flow looping over synchronous nodes yields, so a timer can abort it", async () => {
  const a = new Spin();
  const b = new Spin();
  a.next(b).next(a);
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 30);
  const shared: Shared = {};
  await assert.rejects(new Flow(a).run(shared, { signal: controller.signal }), InterruptedError);
  assert.ok((shared.n as number) > 16, `ran ${shared.n} nodes before the abort`);
});

Deno.test("a batch of many synchronous items yields too", async () => {
  const { BatchNode } = await import("../src/engine/mod.ts");
  class Items extends BatchNode {
    override prep() {
      return Array.from({ length: 2_000_000 }, (_, i) => i);
    }
    override exec(item: unknown) {
      return item;
    }
  }
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 30);
  await assert.rejects(new Items().run({}, { signal: controller.signal }), InterruptedError);
});

Deno.test("maybeYield checks the clock every EVENT_LOOP_YIELD.every calls and yields once afterMs have passed", async () => {
  const shipped = { ...EVENT_LOOP_YIELD };
  const turns = (calls: number) => Array.from({ length: calls }, () => maybeYield()).filter((t) => t !== undefined);
  try {
    EVENT_LOOP_YIELD.afterMs = 0;
    const each = turns(64);
    assert.equal(each.length, 64 / EVENT_LOOP_YIELD.every, "with afterMs 0, a turn at every check");
    await Promise.all(each);
    EVENT_LOOP_YIELD.afterMs = 40;
    assert.equal(turns(64).length, 0, "no turn within afterMs of the last one");
    await new Promise((resolve) => setTimeout(resolve, 50));
    const [turn, ...more] = turns(64);
    assert.ok(turn !== undefined && more.length === 0, "one turn once afterMs have passed");
    await turn;
    assert.equal(turns(64).length, 0, "no turn within afterMs of the last one");
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(turns(EVENT_LOOP_YIELD.every).length, 1, "a turn once afterMs have passed");
    EVENT_LOOP_YIELD.every = 0;
    EVENT_LOOP_YIELD.afterMs = 0;
    assert.equal(turns(64).length, 0, "never when off");
  } finally {
    Object.assign(EVENT_LOOP_YIELD, shipped);
  }
});

Deno.test("mapConcurrent runs each item once, also when workers wait for an event-loop turn before taking one", async () => {
  const shipped = { ...EVENT_LOOP_YIELD };
  Object.assign(EVENT_LOOP_YIELD, { every: 1, afterMs: 0 }); // a turn before every item
  try {
    for (const [count, limit] of [[5, 4], [9, 3], [1, 10], [40, 7]]) {
      const seen: number[] = [];
      const results = await mapConcurrent(Array.from({ length: count }, (_, i) => i), async (item, index) => {
        seen.push(index);
        await null;
        return item * 2;
      }, { limit });
      assert.deepEqual(seen.sort((a, b) => a - b), Array.from({ length: count }, (_, i) => i), `${count} items`);
      assert.deepEqual(results, Array.from({ length: count }, (_, i) => i * 2));
    }
  } finally {
    Object.assign(EVENT_LOOP_YIELD, shipped);
  }
});

Deno.test("setLongTimeout: past 2^31-1 ms it does not fire at once; Infinity and NaN never fire", async () => {
  let fired = 0;
  const timers = [2 ** 31, MAX_TIMER_MS + 1, 1e15, Infinity, NaN].map((ms) => setLongTimeout(() => fired++, ms));
  await new Promise((resolve) => setTimeout(resolve, 50));
  for (const t of timers) t.clear();
  assert.equal(fired, 0);
  let soon = 0;
  setLongTimeout(() => soon++, 5);
  setLongTimeout(() => soon++, -1);
  await new Promise((resolve) => setTimeout(resolve, 30));
  assert.equal(soon, 2);
  const cleared = setLongTimeout(() => soon++, 5);
  cleared.clear();
  await new Promise((resolve) => setTimeout(resolve, 30));
  assert.equal(soon, 2, "a cleared timer never fires");
});

Deno.test("timeoutSignal aborts with a TimeoutError after its delay, and not for a huge one", async () => {
  const short = timeoutSignal(5);
  await new Promise((resolve) => setTimeout(resolve, 40));
  assert.equal(short.signal.aborted, true);
  assert.equal((short.signal.reason as DOMException).name, "TimeoutError");
  const long = timeoutSignal(2 ** 40);
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(long.signal.aborted, false);
  long.clear();
});

Deno.test("sleep past 2^31 ms waits until aborted; retries with a huge wait do not retry at once", async () => {
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 30);
  const started = performance.now();
  await assert.rejects(sleep(2 ** 31, controller.signal), InterruptedError);
  assert.ok(performance.now() - started >= 25);
  let attempts = 0;
  class Flaky extends Node {
    constructor() {
      super({ maxRetries: 3, wait: 3e6 });
    }
    override exec() {
      attempts++;
      throw new Error("flaky");
    }
  }
  const abort = new AbortController();
  setTimeout(() => abort.abort(), 40);
  await assert.rejects(new Flaky().run({}, { signal: abort.signal }), InterruptedError);
  assert.equal(attempts, 1, "the second attempt waits for its 3,000,000 s");
});

Deno.test("the loop guard wraps only nodes on a cycle of edges", async () => {
  const { nodesOnCycles } = await import("../src/workflow/compiler.ts");
  const ir = (edges: [string, string][]) => ({
    ir_version: "0.1.0",
    nodes: ["a", "b", "c", "d"].map((id) => ({ id, type: "echo" })),
    edges: edges.map(([from, to]) => ({ from, to })),
  });
  const sorted = (set: Set<string>) => [...set].sort();
  assert.deepEqual(sorted(nodesOnCycles(ir([["a", "b"], ["b", "c"], ["c", "d"]]))), []);
  assert.deepEqual(sorted(nodesOnCycles(ir([["a", "b"], ["a", "c"], ["b", "d"], ["c", "d"]]))), [], "a diamond");
  assert.deepEqual(sorted(nodesOnCycles(ir([["a", "b"], ["b", "a"], ["b", "c"]]))), ["a", "b"]);
  assert.deepEqual(sorted(nodesOnCycles(ir([["a", "b"], ["b", "c"], ["c", "b"], ["c", "d"]]))), ["b", "c"]);
  assert.deepEqual(sorted(nodesOnCycles(ir([["a", "a"], ["a", "b"]]))), ["a"], "a self-loop");
  const long = {
    ir_version: "0.1.0",
    nodes: Array.from({ length: 20_000 }, (_, i) => ({ id: `n${i}`, type: "echo" })),
    edges: Array.from({ length: 20_000 }, (_, i) => ({ from: `n${i}`, to: `n${(i + 1) % 20_000}` })),
  };
  assert.equal(nodesOnCycles(long).size, 20_000, "one ring of 20,000 nodes, without recursion");
});

Deno.test("an abort during the last node ends the flow interrupted, also when that node finishes its work", async () => {
  const { BUILTIN_NODES, compileWorkflow, NodeRegistry, runWorkflow } = await import("../mod.ts");
  let abort = new AbortController();
  // A node that does not look at the signal (one long system call): the abort arrives while it works.
  class Deaf extends Node {
    static spec = { type: "deaf", description: "", params: {}, outputs: {} } as const;
    override exec() {
      abort.abort();
    }
  }
  const a = new Spin();
  a.next(new Deaf());
  await assert.rejects(new Flow(a).run({}, { signal: abort.signal }), InterruptedError);
  const registry = new NodeRegistry([...BUILTIN_NODES, Deaf]);
  const compiled = compileWorkflow({
    ir_version: "0.1.0",
    nodes: [{ id: "first", type: "echo" }, { id: "last", type: "deaf" }],
    edges: [{ from: "first", to: "last" }],
  }, { registry });
  abort = new AbortController();
  const result = await runWorkflow(compiled, { signal: abort.signal });
  assert.equal(result.status, "interrupted");
  assert.equal(result.nodes_executed, 2, "both nodes ran");
});
