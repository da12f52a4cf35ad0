/**
 * Cooperative yielding: nodes that finish without real I/O (an `echo`, a
 * store transform) resolve in microtasks, and a loop of them would never let
 * the event loop run — no signal handler, no timer, no abort would be served.
 * The engine therefore yields one macrotask turn every
 * {@link EVENT_LOOP_YIELD.every} node executions (and batch items). A turn
 * costs about a microsecond, so the cost per node is a few hundredths of one.
 * @module
 */
import { setImmediate } from "node:timers";

/**
 * How often the engine yields: every `every` node executions or batch items,
 * counted across the process. 0 turns yielding off (benchmarks compare it).
 */
export const EVENT_LOOP_YIELD = { every: 16 };

let sinceYield = 0;

/**
 * Counts one unit of work; every {@link EVENT_LOOP_YIELD.every}th call returns
 * a promise that resolves on the event loop's next turn (await it), the
 * others return undefined so the hot path awaits nothing.
 */
export function maybeYield(): Promise<void> | undefined {
  const every = EVENT_LOOP_YIELD.every;
  if (every <= 0 || ++sinceYield < every) return undefined;
  sinceYield = 0;
  return new Promise((resolve) => setImmediate(resolve));
}
