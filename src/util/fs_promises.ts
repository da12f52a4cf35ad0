/**
 * `node:fs/promises`, loaded on first use. A plain run never needs it, and
 * importing it statically cost 1–4 ms of every Bun process's start (its
 * module and `node:events` are evaluated even when nothing is called).
 * @module
 */

/** The `node:fs/promises` module, imported when first asked for (the runtime keeps it afterwards). */
export function fsPromises(): Promise<typeof import("node:fs/promises")> {
  return import("node:fs/promises");
}
