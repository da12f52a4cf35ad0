import assert from "node:assert/strict";
import {
  type Action,
  BaseNode,
  Flow,
  innerNode,
  layersOf,
  makeContext,
  Node,
  type NodeLayer,
  type Shared,
  unwrapNode,
  wrapNode,
} from "../src/engine/mod.ts";

/** A user node class with every kind of member a wrapper must keep working. */
class Custom extends Node {
  #secret = 41;
  field = "plain";
  static kind = "custom";
  get secret(): number {
    return this.#secret;
  }
  set secret(value: number) {
    this.#secret = value;
  }
  bump(by = 1): number {
    this.#secret += by;
    return this.#secret;
  }
  self(): this {
    return this;
  }
  override exec() {
    return this.#secret + Number(this.params.add ?? 0);
  }
  override post(shared: Shared, _p: unknown, e: unknown): Action {
    shared.value = e;
    shared.field = this.field;
    return "done";
  }
}

function tracingLayer(name: string, log: string[]): NodeLayer {
  return {
    name,
    async run(inner, shared, ctx) {
      log.push(`${name}:before`);
      const action = await inner._run(shared, ctx);
      log.push(`${name}:after`);
      return action;
    },
  };
}

Deno.test("a wrapped node passes instanceof checks of its class and bases", () => {
  const wrapped = wrapNode(new Custom(), tracingLayer("t", []));
  assert.ok(wrapped instanceof Custom);
  assert.ok(wrapped instanceof Node);
  assert.ok(wrapped instanceof BaseNode);
  assert.equal(Object.getPrototypeOf(wrapped), Custom.prototype);
  assert.equal(wrapped.constructor, Custom);
  assert.equal((wrapped.constructor as typeof Custom).kind, "custom");
});

Deno.test("params and fields read and write through to the node", () => {
  const bare = new Custom();
  const wrapped = wrapNode(bare, tracingLayer("t", []));
  wrapped.params = { add: 1 };
  assert.deepEqual(bare.params, { add: 1 });
  bare.params.add = 2;
  assert.equal(wrapped.params.add, 2);
  wrapped.field = "changed";
  assert.equal(bare.field, "changed");
  assert.ok("field" in wrapped);
  assert.ok(Object.keys(wrapped).includes("field"));
});

Deno.test("custom methods, getters, setters and private fields work on the wrapper", () => {
  const bare = new Custom();
  const wrapped = wrapNode(wrapNode(bare, tracingLayer("a", [])), tracingLayer("b", []));
  assert.equal(wrapped.secret, 41);
  wrapped.secret = 10;
  assert.equal(bare.secret, 10);
  assert.equal(wrapped.bump(5), 15);
  assert.equal(bare.secret, 15);
  assert.equal(wrapped.self(), wrapped, "a method returning the node returns the wrapper");
  assert.equal(wrapped.bump, wrapped.bump, "method identity is stable");
  assert.equal(wrapped.bump.name, "bump");
});

Deno.test("a chain of this-returning calls on a wrapper keeps its layers", async () => {
  const log: string[] = [];
  const inner = wrapNode(new Custom(), tracingLayer("inner", log));
  const wrapped = wrapNode(inner, tracingLayer("outer", log));
  const chained = wrapped.setParams({ add: 1 });
  assert.equal(chained, wrapped);
  assert.equal(inner.setParams({ add: 1 }), inner);
  const shared: Shared = {};
  await new Flow(chained).run(shared, { warn: () => {} });
  assert.deepEqual(log, ["outer:before", "inner:before", "inner:after", "outer:after"]);
  assert.equal(shared.value, 42);
  await wrapped.setParams({ add: 2 }).run(shared, { warn: () => {} });
  assert.equal(log.length, 8, "run() on the chained result went through both layers");
  // A method returning its argument gives back what was passed, wrapper or not.
  const bare = unwrapNode(wrapped);
  assert.equal(wrapped.next(bare), bare);
  bare.successors.clear();
});

Deno.test("functions held in fields come back as stored; only methods are bound", () => {
  class Helper {
    static version = 2;
  }
  class WithFunctions extends Custom {
    callback = Object.assign((x: number) => x + 1, { version: 3 });
    Klass = Helper;
    get viaGetter(): typeof Helper {
      return Helper;
    }
  }
  const bare = new WithFunctions();
  const wrapped = wrapNode(wrapNode(bare, tracingLayer("a", [])), tracingLayer("b", []));
  assert.equal(wrapped.callback, bare.callback);
  assert.equal(wrapped.callback.version, 3);
  assert.equal(wrapped.Klass, Helper);
  assert.equal(wrapped.Klass.version, 2);
  assert.equal(wrapped.viaGetter, Helper);
  assert.equal(wrapped.bump(1), 42, "a prototype method still runs on the node (private fields)");
});

Deno.test("private brands do not pass through a wrapper (documented limit)", () => {
  class Branded extends Custom {
    #tag = 1;
    static has(value: object): boolean {
      return #tag in value;
    }
  }
  const bare = new Branded();
  const wrapped = wrapNode(bare, tracingLayer("t", []));
  assert.equal(Branded.has(bare), true);
  assert.equal(Branded.has(wrapped), false);
  assert.equal(Branded.has(unwrapNode(wrapped)), true, "unwrapNode gives the object that has the brand");
});

Deno.test("next() and on() on wrappers wire the real node's successors", () => {
  const a = new Custom();
  const b = new Custom();
  const wa = wrapNode(a, tracingLayer("t", []));
  const wb = wrapNode(b, tracingLayer("t", []));
  assert.equal(wa.next(wb), wb);
  assert.equal(wa.on("x", b), b);
  assert.equal(a.successors.get("default"), wb);
  assert.equal(a.successors.get("x"), b);
  assert.equal(wa.successors, a.successors);
});

Deno.test("layers run outermost first around the node, inside flows too", async () => {
  const log: string[] = [];
  const bare = new Custom();
  bare.params = { add: 1 };
  const wrapped = wrapNode(wrapNode(bare, tracingLayer("inner", log)), tracingLayer("outer", log));
  const next = new Custom();
  wrapped.on("done", next);
  const shared: Shared = {};
  await new Flow(wrapped).run(shared, { warn: () => {} });
  assert.deepEqual(log, ["outer:before", "inner:before", "inner:after", "outer:after"]);
  assert.equal(shared.value, 41);
  assert.deepEqual(layersOf(wrapped), ["outer", "inner"]);
  assert.equal(unwrapNode(wrapped), bare);
  assert.deepEqual(layersOf(bare), []);
});

Deno.test("run() on a wrapper goes through its layers", async () => {
  const log: string[] = [];
  const wrapped = wrapNode(new Custom(), tracingLayer("t", log));
  assert.equal(await wrapped.run({}, makeContext()), "done");
  assert.deepEqual(log, ["t:before", "t:after"]);
});

Deno.test("cloning a wrapped node keeps every layer and does not recurse", async () => {
  const log: string[] = [];
  const bare = new Custom();
  bare.params = { add: 0 };
  const wrapped = wrapNode(wrapNode(bare, tracingLayer("inner", log)), tracingLayer("outer", log));
  const copy = wrapped.clone();
  assert.notEqual(copy, wrapped);
  assert.deepEqual(layersOf(copy), ["outer", "inner"]);
  assert.ok(copy instanceof Custom);
  const copyBare = unwrapNode(copy);
  assert.notEqual(copyBare, bare, "the clone wraps a new node");
  copy.params.add = 5;
  assert.equal(bare.params.add, 0, "params are not shared");
  const shared: Shared = {};
  await copy.run(shared);
  assert.equal(shared.value, 46);
  assert.deepEqual(log, ["outer:before", "inner:before", "inner:after", "outer:after"]);
  assert.equal(innerNode(innerNode(copy)!), copyBare);
});

Deno.test("a layer's next() runs the node inside it, read through that node's wrapper once, not per execution", async () => {
  const log: string[] = [];
  const bare = new Custom();
  bare.params = { add: 2 };
  const inner = wrapNode(bare, tracingLayer("inner", log));
  let runReads = 0;
  // Counts what the outer layer reads of the wrapper inside it.
  const counted = new Proxy(inner, {
    get(target, prop) {
      if (prop === "_run") runReads++;
      return Reflect.get(target, prop);
    },
  });
  const outer = wrapNode(counted, {
    name: "outer",
    run: async (_inner, shared, ctx, next) => {
      log.push("outer:before");
      const action = await next(shared, ctx);
      log.push("outer:after");
      return action;
    },
  });
  for (let i = 0; i < 5; i++) {
    const shared: Shared = {};
    assert.equal(await outer._run(shared, makeContext()), "done");
    assert.equal(shared.value, 43, "the node ran with its params, on the store given to next()");
  }
  assert.deepEqual(log.slice(0, 4), ["outer:before", "inner:before", "inner:after", "outer:after"]);
  assert.equal(log.length, 20);
  assert.equal(runReads, 1, "`_run` of the wrapper inside was read once, when first needed");
  // A clone resolves its own inner node, not the original's.
  const copy = outer.clone();
  const copied: Shared = {};
  await copy._run(copied, makeContext());
  assert.equal(copied.value, 43);
  assert.notEqual(unwrapNode(copy), bare);
});
