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
  /** Fresh views of a walk: where the own object waits to join the parent (see {@link PendingNamespaces}). */
  pending: PendingNamespaces | undefined;
}

/**
 * The namespace objects fresh views made, in the order they were made, that
 * their walk's root store does not hold yet. Putting a new key into a store
 * of many keys is the dearest step of a node's view right after long work
 * (the store's table is out of the caches: ~0.4 µs per node on Bun in a run
 * of 1,000 nodes × 200 µs), so a walk puts them in together, in order: when
 * anything next reads the store through a view (or asks a view for its
 * template scope), when a view must put a namespace in directly, and when the
 * walk ends. The root store is not read any other way while a walk runs (a
 * traced run's recording store makes no fresh views), so nothing sees the
 * difference.
 */
export class PendingNamespaces {
  readonly #root: Record<PropertyKey, unknown>;
  /** Node id, then its object, for each namespace in waiting. */
  readonly #waiting: unknown[] = [];

  /** @param root the walk's root store */
  constructor(root: Shared) {
    this.#root = root;
  }

  /** Holds `own` as the namespace `id` until the next {@link PendingNamespaces.flush}. */
  add(id: string, own: Record<PropertyKey, unknown>): void {
    this.#waiting.push(id, own);
  }

  /** Puts every waiting namespace into the root store, in the order they were made. */
  flush(): void {
    const waiting = this.#waiting;
    if (waiting.length === 0) return;
    for (let i = 0; i < waiting.length; i += 2) this.#root[waiting[i] as string] = waiting[i + 1];
    waiting.length = 0;
  }
}

/** The parent of a view, with every namespace of its walk in place (see {@link PendingNamespaces}). */
function parentOf(state: ViewState): Record<PropertyKey, unknown> {
  state.pending?.flush();
  return state.parent;
}

function ownOf(state: ViewState, create: boolean): Record<PropertyKey, unknown> | undefined {
  if (state.own !== undefined) return state.own;
  if (state.fresh) {
    if (!create) return undefined;
    const own = {};
    // Once the view handed out its scope, its root may be read directly (templates): the object goes in now.
    if (state.pending !== undefined && state.scope === undefined) state.pending.add(state.namespace!, own);
    else parentOf(state)[state.namespace!] = own;
    return state.own = own;
  }
  const ns = parentOf(state)[state.namespace!];
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
  return own !== undefined && Object.hasOwn(own, key) ? own : parentOf(state);
}

const VIEW: ProxyHandler<ViewState> = {
  get: (state, key) => key === SCOPE ? (state.scope ??= scopeOf(parentOf(state))) : holderOf(state, key)[key],
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
  ownKeys: (state) => {
    const own = Reflect.ownKeys(ownOf(state, false) ?? {});
    return [...new Set([...own, ...Reflect.ownKeys(parentOf(state))])];
  },
  getOwnPropertyDescriptor: (state, key) => {
    const descriptor = Reflect.getOwnPropertyDescriptor(holderOf(state, key), key);
    if (descriptor !== undefined) descriptor.configurable = true;
    return descriptor;
  },
  // The target is internal state: views look like plain extensible objects.
  defineProperty: (state, key, descriptor) => Reflect.defineProperty(ownOf(state, true)!, key, descriptor),
  getPrototypeOf: () => Object.prototype,
};

/** A renewed namespace view's state (see {@link renewedNamespace}). */
interface RenewedState extends ViewState {
  /** The namespace the node's execution before left: read after the own object, before the parent. */
  previous: Record<PropertyKey, unknown>;
}

function renewedHolderOf(state: RenewedState, key: PropertyKey): Record<PropertyKey, unknown> {
  const own = state.own!;
  if (Object.hasOwn(own, key)) return own;
  return Object.hasOwn(state.previous, key) ? state.previous : parentOf(state);
}

/** {@link VIEW} with the earlier execution's namespace between the own object and the parent. */
const RENEWED: ProxyHandler<RenewedState> = {
  ...VIEW,
  get: (state, key) => key === SCOPE ? (state.scope ??= scopeOf(parentOf(state))) : renewedHolderOf(state, key)[key],
  has: (state, key) => key === SCOPE || key in renewedHolderOf(state, key),
  ownKeys: (state) => {
    const keys = [state.own!, state.previous, parentOf(state)].flatMap((o) => Reflect.ownKeys(o));
    return [...new Set(keys)];
  },
  getOwnPropertyDescriptor: (state, key) => {
    const descriptor = Reflect.getOwnPropertyDescriptor(renewedHolderOf(state, key), key);
    if (descriptor !== undefined) descriptor.configurable = true;
    return descriptor;
  },
};

/**
 * The namespaced view of node `id` for an execution after its first in a
 * walk (a node on a loop): `parent[id]` is replaced by an empty object first,
 * so what templates, handlers and the run's outputs read of the node is what
 * this execution wrote, never an earlier one's (a stdout of the pass before a
 * timeout, the `error` of a failed try before a successful one). The node's
 * own reads still find what its earlier execution left, after what this one
 * wrote and before the parent (a node that counts its passes keeps working).
 */
export function renewedNamespace(parent: Shared, id: string): Shared {
  const previous = parent[id];
  if (previous === null || typeof previous !== "object" || Array.isArray(previous)) {
    return namespacedStore(parent, id, NAMESPACE.seen); // nothing left to hide (a pass that wrote nothing)
  }
  parent[id] = {}; // in place: the key keeps its position in the store
  // Read back: a recording parent (traces) hands out a view that records writes into it.
  const own = parent[id] as Record<PropertyKey, unknown>;
  const state: RenewedState = {
    parent,
    namespace: id,
    own,
    scope: undefined,
    fresh: false,
    pending: undefined,
    previous: previous as Record<PropertyKey, unknown>,
  };
  return new Proxy(state, RENEWED) as unknown as Shared;
}

/** Options of {@link namespacedStore}. */
export interface NamespaceOptions {
  /** The parent is a plain store without the node's key (see {@link namespacedStore}). */
  readonly fresh?: boolean;
  /** With `fresh`: the walk's namespaces in waiting; the view's object joins them instead of the parent. */
  readonly pending?: PendingNamespaces;
}

/**
 * The options of a view that looks its key up, made once (a view is made per
 * node execution); a fresh view's come from its walk, with its `pending`.
 */
export const NAMESPACE: { readonly seen: NamespaceOptions } = { seen: { fresh: false } };

/**
 * The namespaced view of node `id`: writes land in `parent[id]`, reads look
 * there first, then at the parent. With `fresh`, the caller knows `parent`
 * is a plain object without an `id` key (a run's root store before the
 * node's only execution), so the view never looks the key up: it creates
 * the object at the first write. On a store of many keys a lookup by a
 * computed key costs more than the whole view (Bun: ~0.5 µs after long work).
 */
export function namespacedStore(parent: Shared, id: string, options: NamespaceOptions = {}): Shared {
  const fresh = options.fresh ?? false;
  const pending = fresh ? options.pending : undefined;
  // No scope yet: most executions never read it (only templates and batches do).
  const state: ViewState = { parent, namespace: id, own: undefined, scope: undefined, fresh, pending };
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
  const state: ViewState = { parent, namespace: undefined, own: local, scope, fresh: false, pending: undefined };
  return { view: new Proxy(state, VIEW) as unknown as Shared, local };
}
