/**
 * Records what a node changes in the shared store as it happens. The store
 * handed to a traced node is a Proxy that reports every write and delete; a
 * nested object becomes a recording Proxy only when the node reads it, so
 * tracing a node costs what the node touches, never the size of the store.
 * @module
 */
import type { Shared } from "../engine/mod.ts";
import { formatPath, type PathSegment } from "../workflow/template.ts";

/** One recorded change (values as live references; the caller snapshots them). */
export interface RawMutation {
  op: "set" | "delete";
  path: string;
  /** Whether the key existed before. */
  existed: boolean;
  before: unknown;
  after: unknown;
}

/** Makes recording views; one per node execution. */
export class MutationRecorder {
  readonly #proxies = new WeakMap<object, object>();
  readonly #targets = new WeakMap<object, object>();
  #open = true;

  /** @param onMutation called synchronously for each change while the recorder is open */
  constructor(private readonly onMutation: (mutation: RawMutation) => void) {}

  /** A recording view of the root store. */
  root(shared: Shared): Shared {
    return this.#wrap(shared, []) as Shared;
  }

  /** Stops recording (the node finished; late writes through kept references are ignored). */
  close(): void {
    this.#open = false;
  }

  /** The raw object behind a recording view (or the value itself). */
  unwrap<T>(value: T): T {
    return (value !== null && typeof value === "object" ? this.#targets.get(value) ?? value : value) as T;
  }

  #wrap(target: object, path: PathSegment[]): object {
    const existing = this.#proxies.get(target);
    if (existing !== undefined) return existing;
    const proxy = new Proxy(target, {
      get: (obj, key, receiver) => {
        const value = Reflect.get(obj, key, receiver === proxy ? obj : receiver);
        if (typeof key === "symbol" || value === null || typeof value !== "object" || !isPlain(value)) return value;
        return this.#wrap(value, [...path, segment(obj, key)]);
      },
      set: (obj, key, value) => {
        const raw = this.unwrap(value);
        // A list's `length` set to what it is (after `push`) changes nothing; set to more or less, it is recorded.
        if (this.#open && typeof key !== "symbol") {
          const existed = Object.hasOwn(obj, key);
          const before = existed ? (obj as Record<string, unknown>)[key] : undefined;
          if (!existed || before !== raw) {
            this.onMutation({ op: "set", path: pathText(path, segment(obj, key)), existed, before, after: raw });
          }
        }
        return Reflect.set(obj, key, raw);
      },
      deleteProperty: (obj, key) => {
        if (this.#open && typeof key !== "symbol" && Object.hasOwn(obj, key)) {
          const before = (obj as Record<string, unknown>)[key];
          this.onMutation({
            op: "delete",
            path: pathText(path, segment(obj, key)),
            existed: true,
            before,
            after: undefined,
          });
        }
        return Reflect.deleteProperty(obj, key);
      },
    });
    this.#proxies.set(target, proxy);
    this.#targets.set(proxy, target);
    return proxy;
  }
}

/** Plain objects and arrays are recorded into; class instances (views, buffers, dates) are not. */
function isPlain(value: object): boolean {
  if (Array.isArray(value)) return true;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function segment(obj: object, key: string): PathSegment {
  return Array.isArray(obj) && /^\d+$/.test(key) ? Number(key) : key;
}

const IDENT = /^[A-Za-z_][\w-]*$/;

/** `a.b[0]["odd key"]` from path segments. */
export function pathText(path: PathSegment[], last: PathSegment): string {
  const all = [...path, last];
  if (all.every((s, i) => typeof s === "number" ? i > 0 : IDENT.test(s))) return formatPath(all);
  return all.map((s, i) =>
    typeof s === "number" ? `[${s}]` : IDENT.test(s) ? (i === 0 ? s : `.${s}`) : `[${JSON.stringify(s)}]`
  ).join("");
}
