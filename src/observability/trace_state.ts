/**
 * Rebuilding the shared store of a traced run at any node execution: the
 * trace's `initial_store` plus, in order, the mutations of every earlier
 * event. Pure functions: the trace is never modified and the stores they
 * return share nothing with it.
 *
 * Mutation paths use the template path syntax (`node.key`, `list[2]`) with
 * quoted keys for names that are not identifiers (`obj["odd key"]`).
 * @module
 */
import type { Mutation, TraceDocument } from "./trace_format.ts";

/** One step of a store path: an object key or an array index. */
export type StorePathSegment = string | number;

/** A store as rebuilt from a trace. */
export type Store = Record<string, unknown>;

/** A mutation path that cannot be parsed. */
export class StorePathError extends Error {
  /** @param path the path as written @param reason what is wrong */
  constructor(readonly path: string, reason: string) {
    super(`invalid store path '${path}': ${reason}`);
    this.name = "StorePathError";
  }
}

/** A mutation that could not be applied (reported, then skipped, when a problem callback is given). */
export interface StateProblem {
  /** Index of the event in `trace.events`. */
  event_index: number;
  node_id: string;
  mutation: Mutation;
  message: string;
}

/** Options of {@link storeBefore} and {@link storeAfter}. */
export interface StateOptions {
  /** Called for a mutation that cannot be applied, which is then skipped; without it such a mutation throws. */
  onProblem?: (problem: StateProblem) => void;
}

const BARE_KEY = /^[A-Za-z_][\w-]*$/;

/**
 * Parses a mutation path: `a.b[0]`, `obj["odd key"].x`, `["top key"]`.
 * Bare keys run to the next `.` or `[`; bracketed keys are JSON strings
 * (single quotes are accepted too); `[N]` is an index.
 */
export function parseStorePath(path: string): StorePathSegment[] {
  const segments: StorePathSegment[] = [];
  let i = 0;
  const bare = () => {
    const start = i;
    while (i < path.length && path[i] !== "." && path[i] !== "[") {
      if (path[i] === "]" || path[i] === '"') throw new StorePathError(path, `unexpected '${path[i]}' at ${i}`);
      i++;
    }
    if (i === start) throw new StorePathError(path, `empty key at ${start}`);
    segments.push(path.slice(start, i));
  };
  if (path.length === 0) throw new StorePathError(path, "empty path");
  if (path[0] !== "[") bare();
  while (i < path.length) {
    if (path[i] === ".") {
      i++;
      bare();
      continue;
    }
    // path[i] === "["
    const open = i;
    i++;
    const quote = path[i];
    if (quote === '"' || quote === "'") {
      let j = i + 1;
      while (j < path.length && path[j] !== quote) j += path[j] === "\\" ? 2 : 1;
      if (j >= path.length) throw new StorePathError(path, `unterminated quoted key at ${open}`);
      const literal = path.slice(i, j + 1);
      try {
        segments.push(
          quote === '"'
            ? JSON.parse(literal)
            : JSON.parse(`"${literal.slice(1, -1).replace(/\\'/g, "'").replace(/"/g, '\\"')}"`),
        );
      } catch {
        throw new StorePathError(path, `bad quoted key ${literal}`);
      }
      i = j + 1;
    } else {
      const digits = /^\d+/.exec(path.slice(i))?.[0];
      if (digits === undefined) throw new StorePathError(path, `expected an index or a quoted key at ${open}`);
      segments.push(Number(digits));
      i += digits.length;
    }
    if (path[i] !== "]") throw new StorePathError(path, `missing ']' for '[' at ${open}`);
    i++;
  }
  return segments;
}

/** Formats segments as a path: identifiers bare, other keys quoted, indices in brackets. */
export function formatStorePath(segments: readonly StorePathSegment[]): string {
  return segments.map((s, i) => {
    if (typeof s === "number") return `[${s}]`;
    if (BARE_KEY.test(s)) return i === 0 ? s : `.${s}`;
    return `[${JSON.stringify(s)}]`;
  }).join("");
}

type Container = Record<string, unknown> | unknown[];

function isContainer(value: unknown): value is Container {
  return value !== null && typeof value === "object";
}

/** The key to use on a container: digit strings index arrays, indices key objects as text. */
function keyFor(container: Container, segment: StorePathSegment): string | number {
  if (Array.isArray(container)) {
    return typeof segment === "number" ? segment : /^\d+$/.test(segment) ? Number(segment) : segment;
  }
  return String(segment);
}

function getOwn(container: Container, key: string | number): unknown {
  return Object.hasOwn(container, key) ? (container as Record<string | number, unknown>)[key] : undefined;
}

function put(container: Container, key: string | number, value: unknown): void {
  // defineProperty: a key named `__proto__` stays a plain key.
  Object.defineProperty(container, key, { value, enumerable: true, writable: true, configurable: true });
}

function shallowCopy(container: Container): Container {
  return Array.isArray(container) ? container.slice() : { ...container };
}

function setIn(current: unknown, segments: StorePathSegment[], at: number, value: unknown): Container {
  const segment = segments[at];
  // A missing (or non-container) parent is created as the path implies: a list for an index, else an object.
  const copy = isContainer(current) ? shallowCopy(current) : typeof segment === "number" ? [] : {};
  const key = keyFor(copy, segment);
  if (key === "length" && Array.isArray(copy) && at === segments.length - 1) {
    // A list cut or grown through its length (`list.length = 1`; what `pop` and `splice` end with).
    if (!Number.isInteger(value) || (value as number) < 0 || (value as number) >= 2 ** 32) {
      throw new RangeError(`${JSON.stringify(value)} is not a list length`);
    }
    copy.length = value as number;
    return copy;
  }
  put(copy, key, at === segments.length - 1 ? value : setIn(getOwn(copy, key), segments, at + 1, value));
  return copy;
}

function deleteIn(current: unknown, segments: StorePathSegment[], at: number): unknown {
  if (!isContainer(current)) return current;
  const key = keyFor(current, segments[at]);
  if (!Object.hasOwn(current, key)) return current; // nothing there: unchanged
  const copy = shallowCopy(current);
  if (at < segments.length - 1) {
    const child = getOwn(copy, key);
    const next = deleteIn(child, segments, at + 1);
    if (next !== child) put(copy, key, next);
    return next === child ? current : copy;
  }
  delete (copy as Record<string | number, unknown>)[key];
  if (Array.isArray(copy)) {
    // Deleting list items leaves no trailing holes (`[3]` then `[4]` of 5 items leaves 3).
    while (copy.length > 0 && !Object.hasOwn(copy, copy.length - 1)) copy.length--;
  }
  return copy;
}

/**
 * Applies one mutation and returns the new store; `store` is not modified
 * (containers on the path are copied) and the value set is a deep copy.
 * A `set` creates missing parents; a `delete` of a missing path changes nothing.
 * Throws {@link StorePathError} for a path that cannot be parsed.
 */
export function applyMutation(store: Store, mutation: Mutation): Store {
  const segments = parseStorePath(mutation.path);
  if (typeof segments[0] === "number") segments[0] = String(segments[0]); // the root is an object
  if (mutation.op === "set") return setIn(store, segments, 0, structuredClone(mutation.after)) as Store;
  if (mutation.op === "delete") return deleteIn(store, segments, 0) as Store;
  throw new Error(`unknown mutation op '${(mutation as { op: unknown }).op}' at '${mutation.path}'`);
}

/** Applies event `e`'s mutations to `store` (which is not modified) and returns the new store. */
function applyEvent(trace: TraceDocument, e: number, store: Store, options: StateOptions): Store {
  const event = trace.events[e];
  for (const mutation of event.mutations ?? []) {
    try {
      store = applyMutation(store, mutation);
    } catch (error) {
      const message = (error as Error).message;
      if (options.onProblem === undefined) {
        throw new Error(
          `event ${e} (node '${event.node_id}'): cannot apply ${mutation.op} '${mutation.path}': ${message}`,
        );
      }
      options.onProblem({ event_index: e, node_id: event.node_id, mutation, message });
    }
  }
  return store;
}

function replay(trace: TraceDocument, upTo: number, options: StateOptions): Store {
  let store = structuredClone(trace.initial_store ?? {}) as Store;
  for (let e = 0; e < upTo; e++) store = applyEvent(trace, e, store, options);
  return store;
}

function checkIndex(trace: TraceDocument, eventIndex: number): void {
  if (!Number.isInteger(eventIndex) || eventIndex < 0 || eventIndex >= trace.events.length) {
    throw new RangeError(`event index ${eventIndex} out of range (the trace has ${trace.events.length} events)`);
  }
}

/** The shared store just before event `eventIndex` ran (initial store + the mutations of events 0…eventIndex-1). */
export function storeBefore(trace: TraceDocument, eventIndex: number, options: StateOptions = {}): Store {
  checkIndex(trace, eventIndex);
  return replay(trace, eventIndex, options);
}

/** The shared store just after event `eventIndex` ran (its own mutations included). */
export function storeAfter(trace: TraceDocument, eventIndex: number, options: StateOptions = {}): Store {
  checkIndex(trace, eventIndex);
  return replay(trace, eventIndex + 1, options);
}

/** The store just before and just after one event, from {@link storesAround}. */
export interface StoresAround {
  before: Store;
  after: Store;
}

/**
 * The stores before and after each of `eventIndices` (in any order), from one
 * replay of the trace up to the last of them: each event's mutations are
 * applied once, whatever the number of indices, where calling
 * {@link storeBefore} and {@link storeAfter} for each would replay the trace
 * from its start every time. `onProblem` is called once per mutation that
 * cannot be applied (up to the last index's own). The stores share nothing
 * with the trace, but share unchanged parts with each other (a mutation copies
 * only the containers on its path): treat them as read-only, or
 * `structuredClone` one before changing it.
 */
export function storesAround(
  trace: TraceDocument,
  eventIndices: readonly number[],
  options: StateOptions = {},
): StoresAround[] {
  for (const i of eventIndices) checkIndex(trace, i);
  const wanted = new Map<number, StoresAround>();
  for (const i of eventIndices) wanted.set(i, { before: {}, after: {} });
  let last = -1;
  for (const i of wanted.keys()) last = Math.max(last, i);
  let store = structuredClone(trace.initial_store ?? {}) as Store;
  for (let e = 0; e <= last; e++) {
    const around = wanted.get(e);
    if (around) around.before = store;
    store = applyEvent(trace, e, store, options);
    if (around) around.after = store;
  }
  return eventIndices.map((i) => wanted.get(i)!);
}

/** One difference between two stores. */
export interface StoreChange {
  /** `added`, `removed`, or `changed` (a value replaced). */
  kind: "added" | "removed" | "changed";
  /** Where, in mutation path syntax. */
  path: string;
}

/**
 * The paths that differ between two stores, depth first in key order:
 * objects and lists present on both sides are compared inside, anything
 * else is reported at its own path.
 */
export function diffStores(before: Store, after: Store): StoreChange[] {
  const changes: StoreChange[] = [];
  const walk = (a: unknown, b: unknown, at: StorePathSegment[]) => {
    const bothLists = Array.isArray(a) && Array.isArray(b);
    const bothObjects = isContainer(a) && isContainer(b) && !Array.isArray(a) && !Array.isArray(b);
    if (!bothLists && !bothObjects) {
      if (!sameValue(a, b)) changes.push({ kind: "changed", path: formatStorePath(at) });
      return;
    }
    const keys = bothLists
      ? Array.from({ length: Math.max((a as unknown[]).length, (b as unknown[]).length) }, (_, i) => i)
      : [...new Set([...Object.keys(a as object), ...Object.keys(b as object)])];
    for (const key of keys) {
      const inA = Object.hasOwn(a as object, key);
      const inB = Object.hasOwn(b as object, key);
      const path = [...at, key];
      if (inA && !inB) changes.push({ kind: "removed", path: formatStorePath(path) });
      else if (!inA && inB) changes.push({ kind: "added", path: formatStorePath(path) });
      else if (inA && inB) {
        walk((a as Record<string | number, unknown>)[key], (b as Record<string | number, unknown>)[key], path);
      }
    }
  };
  walk(before, after, []);
  return changes;
}

/** Deep equality of JSON-like values. */
function sameValue(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (!isContainer(a) || !isContainer(b) || Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => Object.hasOwn(b, k) && sameValue((a as Store)[k], (b as Store)[k]));
}
