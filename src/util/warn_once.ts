/**
 * Warnings said once a run. A run hands one `warn` function to every node
 * it runs, batch items and loop turns included (they run clones of a node,
 * or the node again), so a warning that each of them would repeat is keyed
 * on that function: said once per `warn` and key, and again by a new run
 * (a new `warn`).
 * @module
 */

/** Keys said, per `warn` (a run's). */
const said = new WeakMap<(message: string) => void, Set<string>>();

/**
 * Calls `warn(message)` unless a call through here already said `key`
 * (by default the message itself) to the same `warn`.
 * @returns whether the warning was said now
 */
export function warnOnce(warn: (message: string) => void, message: string, key: string = message): boolean {
  let keys = said.get(warn);
  if (keys === undefined) said.set(warn, keys = new Set());
  if (keys.has(key)) return false;
  keys.add(key);
  warn(message);
  return true;
}
