/**
 * The one Proxy of pflow: a node wrapper that replaces how a node *runs*
 * (`_run`) and is otherwise the node itself. Every other property, method and
 * prototype query goes to the wrapped node, so `instanceof`, params,
 * `next()`/`on()` wiring and a node class's own methods and fields behave as
 * on the bare node: methods run on the node (their `this.#private` reads
 * work) and a method returning the node returns the wrapper. What no Proxy
 * can pass on is a private brand: `#x in wrapper` is false and `other.#x`
 * throws when `other` is a wrapper (use {@link unwrapNode}). Layers stack: the compiler
 * builds `Namespaced → TemplateAware → node`, telemetry adds one outside.
 * @module
 */
import type { Action, BaseNode, RunContext, Shared } from "./node.ts";

/** What a wrapper layer changes: how one execution of the inner node runs. */
export interface NodeLayer {
  /** Short name shown by {@link layersOf}, e.g. `namespaced`. */
  readonly name: string;
  /**
   * Runs `inner` (the next node inward) in place of `inner._run(shared, ctx)`.
   * `next` is that call, resolved once: calling it does what
   * `inner._run(shared, ctx)` does without reading `_run` through the
   * inner wrapper's Proxy (a Proxy read costs ~1 µs after long work on Bun).
   */
  run(inner: BaseNode, shared: Shared, ctx: RunContext, next: NodeRunner): Promise<Action>;
}

const TARGET = Symbol("pflow.wrap.target");
const LAYER = Symbol("pflow.wrap.layer");

/** One execution of a node: what `node._run(shared, ctx)` does. */
export type NodeRunner = (shared: Shared, ctx: RunContext) => Promise<Action>;

type AnyFunction = (...args: unknown[]) => unknown;

/**
 * Wraps `target` in `layer`. The result is typed as the target: it *is* the
 * target for every purpose but running.
 */
export function wrapNode<T extends BaseNode>(target: T, layer: NodeLayer): T {
  // Methods run on the target so private fields keep working, and give the
  // proxy back where they return the target (`setParams()` chains stay
  // wrapped); the cache keeps `wrapped.method === wrapped.method`.
  const methods = new Map<PropertyKey, { original: AnyFunction; method: AnyFunction }>();
  // Made once per wrapper: `_run` is read on every execution.
  let next: NodeRunner | undefined;
  const runLayer = (shared: Shared, ctx: RunContext) => layer.run(target, shared, ctx, next ??= runnerOf(target));
  // `run` re-enters `_run`, so it must see the outermost proxy as `this`.
  const runAlone = (...args: unknown[]) => Reflect.apply(Object.getPrototypeOf(target).run, proxy, args);
  const cloneWrapped = () => wrapNode(target.clone(), layer);
  const proxy: T = new Proxy(target, {
    get(node, prop) {
      switch (prop) {
        case "_run":
          return runLayer;
        case "successors":
          return node.successors;
        case "run":
          return runAlone;
        case "clone":
          return cloneWrapped;
        case TARGET:
          return node;
        case LAYER:
          return layer;
      }
      const value = Reflect.get(node, prop, node);
      if (typeof value !== "function" || prop === "constructor") return value;
      const cached = methods.get(prop);
      if (cached !== undefined && cached.original === value) return cached.method;
      // A function the node holds in a field (a callback, a class) or returns
      // from a getter is data: it comes back as stored, statics and all.
      if (!isPrototypeMethod(node, prop)) return value;
      const method = runOnTarget(value as AnyFunction, node, () => proxy);
      methods.set(prop, { original: value as AnyFunction, method });
      return method;
    },
    set(node, prop, value) {
      return Reflect.set(node, prop, value, node);
    },
  });
  return proxy;
}

/** Whether `prop` of `node` is a method: a function stored on its prototype chain, not on the node itself. */
function isPrototypeMethod(node: object, prop: PropertyKey): boolean {
  if (Object.hasOwn(node, prop)) return false;
  for (let proto = Object.getPrototypeOf(node); proto !== null; proto = Object.getPrototypeOf(proto)) {
    const descriptor = Reflect.getOwnPropertyDescriptor(proto, prop);
    if (descriptor !== undefined) return "value" in descriptor;
  }
  return false;
}

/**
 * `method` called on `node` whatever `this` it is called with; a result of
 * `node` itself (a `return this`) becomes the wrapper.
 */
function runOnTarget(method: AnyFunction, node: object, wrapper: () => object): AnyFunction {
  const run = (...args: unknown[]): unknown => {
    const result = Reflect.apply(method, node, args);
    // `next(node)` returns its argument: a node passed in comes back as given.
    return result === node && !args.includes(node) ? wrapper() : result;
  };
  Object.defineProperty(run, "name", { value: method.name });
  Object.defineProperty(run, "length", { value: method.length });
  return run;
}

/**
 * What running `node` does, as a function to call without going through
 * wrappers: the outermost layer's run for a wrapped node (the same function
 * its `_run` returns), the node's own `_run` for a bare one. A walk that
 * runs a node many times asks once: a property read through a Proxy costs
 * far more than a call when caches are cold (a node after long work).
 */
export function runnerOf(node: BaseNode): NodeRunner {
  // A wrapper's `_run` is its layer's run, bound already; a bare node's is a method.
  return innerNode(node) !== undefined ? node._run : (shared, ctx) => node._run(shared, ctx);
}

/** The node directly inside `node`'s outermost layer, or undefined if bare. */
export function innerNode<T extends BaseNode>(node: T): T | undefined {
  return (node as unknown as Record<symbol, T | undefined>)[TARGET];
}

/** The bare node under every layer. */
export function unwrapNode<T extends BaseNode>(node: T): T {
  let current = node;
  for (let inner = innerNode(current); inner !== undefined; inner = innerNode(current)) {
    current = inner;
  }
  return current;
}

/** Layer names from outermost to innermost (empty for a bare node). */
export function layersOf(node: BaseNode): string[] {
  const names: string[] = [];
  for (let current: BaseNode | undefined = node; current !== undefined; current = innerNode(current)) {
    const layer = (current as unknown as Record<symbol, NodeLayer | undefined>)[LAYER];
    if (layer !== undefined) names.push(layer.name);
  }
  return names;
}
