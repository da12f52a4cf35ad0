/**
 * Views of the shared store: a node's namespace and a batch item's scratch
 * space. A view reads its own keys first, then falls back to its parent, and
 * writes only to its own keys; it also carries the template scope (the root
 * store and batch variables) under {@link SCOPE}.
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

/**
 * The namespaced view of node `id`: writes land in `root[id]`, reads look
 * there first, then at the root.
 */
export function namespacedStore(parent: Shared, id: string): Shared {
  const scope = scopeOf(parent);
  const own = (create: boolean): Record<string, unknown> | undefined => {
    const ns = parent[id];
    if (ns !== null && typeof ns === "object" && !Array.isArray(ns)) return ns as Record<string, unknown>;
    if (!create) return undefined;
    const fresh: Record<string, unknown> = {};
    parent[id] = fresh;
    return fresh;
  };
  return overlay(own, parent, scope);
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
  return { view: overlay(() => local, parent, scope), local };
}

function overlay(
  own: (create: boolean) => Record<PropertyKey, unknown> | undefined,
  parent: Shared,
  scope: TemplateScope,
): Shared {
  const holder = (key: PropertyKey): Record<PropertyKey, unknown> => {
    const mine = own(false);
    return mine !== undefined && Object.hasOwn(mine, key) ? mine : parent as Record<PropertyKey, unknown>;
  };
  return new Proxy({} as Shared, {
    get: (_, key) => key === SCOPE ? scope : holder(key)[key],
    set: (_, key, value) => {
      own(true)![key] = value;
      return true;
    },
    has: (_, key) => key === SCOPE || key in holder(key),
    deleteProperty: (_, key) => {
      const mine = own(false);
      if (mine !== undefined) delete mine[key];
      return true;
    },
    ownKeys: () => [...new Set([...Reflect.ownKeys(own(false) ?? {}), ...Reflect.ownKeys(parent)])],
    getOwnPropertyDescriptor: (_, key) => {
      const descriptor = Reflect.getOwnPropertyDescriptor(holder(key), key);
      if (descriptor !== undefined) descriptor.configurable = true;
      return descriptor;
    },
  });
}
