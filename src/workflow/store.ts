/**
 * Views of the shared store: a node's namespace and a batch item's scratch
 * space. A view reads its own keys first, then falls back to its parent, and
 * writes only to its own keys; it also carries the template scope (the root
 * store and batch variables) under {@link SCOPE}.
 *
 * One handler serves every view; a view's state lives in its Proxy target,
 * so making a view per node execution costs two small objects.
 * @module
 */
import type { Shared } from "../engine/mod.ts";
import type { TemplateScope } from "./template.ts";

/** Symbol under which a view exposes its template scope. */
export const SCOPE: unique symbol = Symbol("pflow.scope");

/** The template scope of a store: a view's own, or the store itself as root. */
export function scopeOf(shared: Shared): TemplateScope {
  return (shared as { [SCOPE]?: TemplateScope })[SCOPE] ?? { root: shared };
}

/** A view's state: where its own keys live and what it falls back to. */
interface ViewState {
  /** The parent store (root, or a node's view). */
  parent: Record<PropertyKey, unknown>;
  /** Namespace views: the key of the own object in `parent`; undefined for item views. */
  namespace: string | undefined;
  /** The own object: an item's from the start; a namespace's once found or created (then cached). */
  own: Record<PropertyKey, unknown> | undefined;
  /** The template scope (a namespace view's is worked out when first asked for). */
  scope: TemplateScope | undefined;
  /** Namespace views: the parent is a plain store known to hold no `namespace` key yet (see {@link namespacedStore}). */
  fresh: boolean;
}

function ownOf(state: ViewState, create: boolean): Record<PropertyKey, unknown> | undefined {
  if (state.own !== undefined) return state.own;
  if (state.fresh) {
    if (!create) return undefined;
    const own = {};
    state.parent[state.namespace!] = own;
    return state.own = own;
  }
  const ns = state.parent[state.namespace!];
  if (ns !== null && typeof ns === "object" && !Array.isArray(ns)) {
    return state.own = ns as Record<PropertyKey, unknown>;
  }
  if (!create) return undefined;
  state.parent[state.namespace!] = {};
  // Read back: a recording parent (traces) hands out a view that records writes into it.
  return state.own = state.parent[state.namespace!] as Record<PropertyKey, unknown>;
}

function holderOf(state: ViewState, key: PropertyKey): Record<PropertyKey, unknown> {
  const own = ownOf(state, false);
  return own !== undefined && Object.hasOwn(own, key) ? own : state.parent;
}

const VIEW: ProxyHandler<ViewState> = {
  get: (state, key) => key === SCOPE ? (state.scope ??= scopeOf(state.parent)) : holderOf(state, key)[key],
  set: (state, key, value) => {
    ownOf(state, true)![key] = value;
    return true;
  },
  has: (state, key) => key === SCOPE || key in holderOf(state, key),
  deleteProperty: (state, key) => {
    const own = ownOf(state, false);
    if (own !== undefined) delete own[key];
    return true;
  },
  ownKeys: (state) => [...new Set([...Reflect.ownKeys(ownOf(state, false) ?? {}), ...Reflect.ownKeys(state.parent)])],
  getOwnPropertyDescriptor: (state, key) => {
    const descriptor = Reflect.getOwnPropertyDescriptor(holderOf(state, key), key);
    if (descriptor !== undefined) descriptor.configurable = true;
    return descriptor;
  },
  // The target is internal state: views look like plain extensible objects.
  defineProperty: (state, key, descriptor) => Reflect.defineProperty(ownOf(state, true)!, key, descriptor),
  getPrototypeOf: () => Object.prototype,
};

/** The two options of {@link namespacedStore}, made once (a view is made per node execution). */
export const NAMESPACE: { readonly fresh: { fresh: true }; readonly seen: { fresh: false } } = {
  fresh: { fresh: true },
  seen: { fresh: false },
};

/**
 * The namespaced view of node `id`: writes land in `parent[id]`, reads look
 * there first, then at the parent. With `fresh`, the caller knows `parent`
 * is a plain object without an `id` key (a run's root store before the
 * node's only execution), so the view never looks the key up: it creates
 * the object at the first write. On a store of many keys a lookup by a
 * computed key costs more than the whole view (Bun: ~0.5 µs after long work).
 */
export function namespacedStore(parent: Shared, id: string, options: { fresh?: boolean } = {}): Shared {
  // No scope yet: most executions never read it (only templates and batches do).
  const state: ViewState = { parent, namespace: id, own: undefined, scope: undefined, fresh: options.fresh ?? false };
  return new Proxy(state, VIEW) as unknown as Shared;
}

/**
 * A batch item's view over its node's view: the item's writes are collected
 * in `local` (they become `results[i]`); `vars` (e.g. `{item: x}`) join the
 * template scope.
 */
export function itemStore(
  parent: Shared,
  vars: Record<string, unknown>,
): { view: Shared; local: Record<string, unknown> } {
  const parentScope = scopeOf(parent);
  const scope: TemplateScope = { root: parentScope.root, vars: { ...parentScope.vars, ...vars } };
  const local: Record<string, unknown> = {};
  const state: ViewState = { parent, namespace: undefined, own: local, scope, fresh: false };
  return { view: new Proxy(state, VIEW) as unknown as Shared, local };
}
