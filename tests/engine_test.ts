import assert from "node:assert/strict";
import {
  type Action,
  BatchNode,
  failedNodeOf,
  Flow,
  InterruptedError,
  makeContext,
  mapConcurrent,
  Node,
  type RunContext,
  type Shared,
} from "../src/engine/mod.ts";

/** A node that records its phases and returns a scripted action. */
class Step extends Node {
  constructor(readonly label: string, readonly action: Action = undefined, options = {}) {
    super(options);
  }
  override prep(shared: Shared) {
    (shared.log as string[]).push(`prep:${this.label}`);
    return this.label;
  }
  override exec(prep: unknown) {
    return `${prep}!`;
  }
  override post(shared: Shared, _p: unknown, e: unknown): Action {
    (shared.log as string[]).push(`post:${e}`);
    return this.action;
  }
}

Deno.test("a node runs prep → exec → post and returns post's action", async () => {
  const shared: Shared = { log: [] };
  const action = await new Step("a", "next").run(shared);
  assert.equal(action, "next");
  assert.deepEqual(shared.log, ["prep:a", "post:a!"]);
});

Deno.test("exec is retried maxRetries times, then execFallback decides", async () => {
  let attempts = 0;
  const retries: number[] = [];
  class Flaky extends Node {
    override exec() {
      attempts++;
      if (attempts < 3) throw new Error(`try ${attempts}`);
      return "ok";
    }
    override post(shared: Shared, _p: unknown, e: unknown) {
      shared.result = e;
      return undefined;
    }
  }
  const shared: Shared = {};
  const ctx = { ...makeContext(), onRetry: (n: number) => retries.push(n) };
  await new Flaky({ maxRetries: 3 })._run(shared, ctx);
  assert.equal(shared.result, "ok");
  assert.equal(attempts, 3);
  assert.deepEqual(retries, [1, 2]);

  class AlwaysFails extends Node {
    prepCalls = 0;
    override prep() {
      this.prepCalls++;
    }
    override exec(): never {
      throw new Error("boom");
    }
    override execFallback(_p: unknown, error: Error) {
      return `fallback after ${error.message}`;
    }
    override post(shared: Shared, _p: unknown, e: unknown) {
      shared.result = e;
      return undefined;
    }
  }
  const node = new AlwaysFails({ maxRetries: 2 });
  await node.run(shared);
  assert.equal(shared.result, "fallback after boom");
  assert.equal(node.prepCalls, 1, "only exec is retried");
});

Deno.test("without a fallback the last error propagates; wait spaces attempts", async () => {
  class Fails extends Node {
    override exec(): never {
      throw new Error("nope");
    }
  }
  const started = performance.now();
  await assert.rejects(new Fails({ maxRetries: 3, wait: 0.02 }).run({}), /nope/);
  assert.ok(performance.now() - started >= 35, "two waits of 20 ms");
});

Deno.test("a flow follows actions, warns on an unwired action, and returns the last action", async () => {
  const a = new Step("a", "left");
  const b = new Step("b");
  const c = new Step("c", "weird");
  const d = new Step("d");
  a.on("left", b).next(c).next(d);
  a.on("right", d);
  const warnings: string[] = [];
  const shared: Shared = { log: [] };
  const action = await new Flow(a)._run(shared, makeContext({ warn: (m) => warnings.push(m) }));
  assert.deepEqual(shared.log, ["prep:a", "post:a!", "prep:b", "post:b!", "prep:c", "post:c!"]);
  assert.equal(action, "weird");
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /action 'weird' has no successor \(wired: 'default'\)/);
});

Deno.test("next() and on() return the successor so chains read naturally", () => {
  const a = new Step("a");
  const b = new Step("b");
  const c = new Step("c");
  assert.equal(a.next(b), b);
  assert.equal(b.on("x", c), c);
  assert.equal(a.successors.get("default"), b);
  assert.equal(b.successors.get("x"), c);
});

Deno.test("flows nest: a flow is a node", async () => {
  const inner = new Flow(new Step("i1"));
  (inner.start as Step).next(new Step("i2"));
  const outer = new Flow(new Step("o1"));
  outer.start!.next(inner).next(new Step("o2"));
  const shared: Shared = { log: [] };
  await outer.run(shared);
  assert.deepEqual((shared.log as string[]).filter((l) => l.startsWith("prep")), [
    "prep:o1",
    "prep:i1",
    "prep:i2",
    "prep:o2",
  ]);
});

Deno.test("loops run a node again each time it is reached", async () => {
  class Counter extends Node {
    override post(shared: Shared): Action {
      shared.n = (shared.n as number ?? 0) + 1;
      return (shared.n as number) < 4 ? "again" : "done";
    }
  }
  const counter = new Counter();
  counter.on("again", counter);
  const shared: Shared = {};
  const warnings: string[] = [];
  await new Flow(counter).run(shared, { warn: (m) => warnings.push(m) });
  assert.equal(shared.n, 4);
  assert.match(warnings[0], /action 'done' has no successor/);
});

Deno.test("errors escaping a flow name the node they came from", async () => {
  class Boom extends Node {
    override exec(): never {
      throw new Error("kaput");
    }
  }
  const first = new Step("a");
  const boom = new Boom();
  first.next(boom);
  const error = await new Flow(first).run({ log: [] }).catch((e) => e);
  assert.equal(error.message, "kaput");
  assert.equal(failedNodeOf(error), boom);
});

Deno.test("an aborted signal interrupts the running node and the flow", async () => {
  class Slow extends Node {
    override exec(_p: unknown, ctx: RunContext) {
      return new Promise((_, reject) => {
        const timer = setTimeout(() => reject(new Error("not interrupted")), 5000);
        ctx.signal.addEventListener("abort", () => {
          clearTimeout(timer);
          reject(new InterruptedError());
        });
      });
    }
  }
  const after = new Step("after");
  const slow = new Slow({ maxRetries: 5 });
  slow.next(after);
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 30);
  const shared: Shared = { log: [] };
  await assert.rejects(new Flow(slow).run(shared, { signal: controller.signal }), InterruptedError);
  assert.deepEqual(shared.log, [], "no later node ran");
});

Deno.test("an aborted signal stops retry waits", async () => {
  class Fails extends Node {
    override exec(): never {
      throw new Error("x");
    }
  }
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 20);
  const started = performance.now();
  await assert.rejects(new Fails({ maxRetries: 3, wait: 10 }).run({}, { signal: controller.signal }), InterruptedError);
  assert.ok(performance.now() - started < 2000);
});

class Doubler extends BatchNode {
  active = 0;
  peak = 0;
  override prep(shared: Shared) {
    return shared.items;
  }
  override async exec(item: unknown) {
    this.active++;
    this.peak = Math.max(this.peak, this.active);
    await new Promise((r) => setTimeout(r, 5 + ((item as number) % 3) * 5));
    this.active--;
    return (item as number) * 2;
  }
  override post(shared: Shared, _p: unknown, results: unknown) {
    shared.results = results;
    return undefined;
  }
}

Deno.test("batch nodes run exec per item, sequentially by default", async () => {
  const node = new Doubler();
  const shared: Shared = { items: [1, 2, 3, 4, 5] };
  await node.run(shared);
  assert.deepEqual(shared.results, [2, 4, 6, 8, 10]);
  assert.equal(node.peak, 1);
});

Deno.test("parallel batch nodes respect the concurrency limit and keep item order", async () => {
  const node = new Doubler({ parallel: true, maxConcurrent: 3 });
  const shared: Shared = { items: Array.from({ length: 12 }, (_, i) => i) };
  await node.run(shared);
  assert.deepEqual(shared.results, Array.from({ length: 12 }, (_, i) => i * 2));
  assert.equal(node.peak, 3);
});

Deno.test("mapConcurrent stops starting items after the first failure", async () => {
  const started: number[] = [];
  await assert.rejects(
    mapConcurrent([0, 1, 2, 3, 4, 5, 6, 7], async (i) => {
      started.push(i);
      await new Promise((r) => setTimeout(r, 5));
      if (i === 1) throw new Error("item 1 failed");
      return i;
    }, { limit: 2 }),
    /item 1 failed/,
  );
  assert.ok(started.length <= 3, `started ${started.join(",")}`);
});

Deno.test("clone copies params and successors without sharing them", () => {
  const a = new Step("a");
  a.params = { x: 1 };
  const b = new Step("b");
  a.next(b);
  const copy = a.clone();
  assert.ok(copy instanceof Step);
  assert.equal(copy.label, "a");
  copy.params.x = 2;
  copy.on("other", a);
  assert.equal(a.params.x, 1);
  assert.equal(a.successors.has("other"), false);
  assert.equal(copy.successors.get("default"), b);
});
