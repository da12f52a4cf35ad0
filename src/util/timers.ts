/**
 * Timers of any length. `setTimeout` holds a signed 32-bit delay: past
 * 2³¹−1 ms (≈ 24.8 days) it fires after 1 ms and the runtime prints a
 * `TimeoutOverflowWarning`. Every duration pflow waits for (node timeouts,
 * delays, retry waits, CLI timeouts) goes through this module, so a duration
 * of any size waits as long as it says and no runtime warning reaches the
 * user. A non-finite duration (`Infinity`) never fires.
 * @module
 */

/** The longest delay one `setTimeout` holds: 2³¹−1 ms. */
export const MAX_TIMER_MS = 2_147_483_647;

/** A pending {@link setLongTimeout}. */
export interface LongTimer {
  /** Cancels the timer (idempotent). */
  clear(): void;
}

/**
 * Calls `fn` once after `ms` milliseconds, for any `ms` (longer delays are
 * chained timers of at most {@link MAX_TIMER_MS}); never for a non-finite or
 * NaN `ms`. A negative or zero `ms` fires on the next turn.
 */
export function setLongTimeout(fn: () => void, ms: number): LongTimer {
  let handle: ReturnType<typeof setTimeout> | undefined;
  let cleared = false;
  // Pure arithmetic, no clock reads: each link waits at most MAX_TIMER_MS.
  const arm = (remaining: number) => {
    if (remaining <= MAX_TIMER_MS) {
      handle = setTimeout(fn, Math.max(0, remaining));
      return;
    }
    handle = setTimeout(() => {
      if (!cleared) arm(remaining - MAX_TIMER_MS);
    }, MAX_TIMER_MS);
  };
  if (Number.isFinite(ms)) arm(ms);
  return {
    clear() {
      cleared = true;
      if (handle !== undefined) clearTimeout(handle);
    },
  };
}

/**
 * An AbortSignal that aborts with a `TimeoutError` DOMException after `ms`
 * (like `AbortSignal.timeout`, for any `ms`). The returned `clear` stops the
 * timer once the guarded work is done, so it does not keep the process alive.
 */
export function timeoutSignal(ms: number): { signal: AbortSignal; clear: () => void } {
  const controller = new AbortController();
  const timer = setLongTimeout(
    () => controller.abort(new DOMException(`timed out after ${ms} ms`, "TimeoutError")),
    ms,
  );
  return { signal: controller.signal, clear: () => timer.clear() };
}

/**
 * Waits `ms` (any size). Rejects with `onAbort()`'s error as soon as `signal`
 * aborts (at once when it already has).
 */
export function delay(ms: number, options: { signal?: AbortSignal; onAbort: () => Error }): Promise<void> {
  const { signal, onAbort } = options;
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(onAbort());
    const abort = () => {
      timer.clear();
      reject(onAbort());
    };
    const timer = setLongTimeout(() => {
      signal?.removeEventListener("abort", abort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", abort, { once: true });
  });
}
