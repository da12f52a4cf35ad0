/**
 * Cooperative yielding: nodes that finish without real I/O (an `echo`, a
 * store transform) resolve in microtasks, and a loop of them would never let
 * the event loop run — no signal handler, no timer, no abort would be served.
 * The engine therefore gives the event loop a turn once the run has gone
 * {@link EVENT_LOOP_YIELD.afterMs} without one, checking the clock every
 * {@link EVENT_LOOP_YIELD.every} node executions (and batch items). A turn
 * costs about a microsecond on a warm machine but 15–40 µs right after long
 * computation (the runtime's own bookkeeping runs with cold caches), so turns
 * go by time, not by count: a run of 200 µs nodes takes one every ~200 nodes,
 * not every 16, and a signal still gets in within a few tens of milliseconds.
 * 40 ms, not 20: a turn after long work costs the engine time of 20–60
 * nodes, and 40 ms still keeps a signal's wait under half the 100 ms the
 * CLI promises.
 * @module
 */
import { setImmediate } from "node:timers";

/**
 * When the engine yields: once `afterMs` milliseconds have passed since its
 * last turn, checked every `every` node executions or batch items (counted
 * across the process). `every: 0` turns yielding off (benchmarks compare it);
 * `afterMs: 0` yields at every check.
 */
export const EVENT_LOOP_YIELD = { every: 16, afterMs: 40 };

let sinceCheck = 0;
let lastTurn = 0;

/**
 * Counts one unit of work; every {@link EVENT_LOOP_YIELD.every}th call reads
 * the clock, and when {@link EVENT_LOOP_YIELD.afterMs} have passed since the
 * last turn, returns a promise that resolves on the event loop's next turn
 * (await it). Otherwise it returns undefined, so the hot path awaits nothing.
 */
export function maybeYield(): Promise<void> | undefined {
  const every = EVENT_LOOP_YIELD.every;
  if (every <= 0 || ++sinceCheck < every) return undefined;
  sinceCheck = 0;
  const now = performance.now();
  if (now - lastTurn < EVENT_LOOP_YIELD.afterMs) return undefined;
  lastTurn = now;
  return new Promise((resolve) => setImmediate(resolve));
}
