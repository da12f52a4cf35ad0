/**
 * Batches: one `exec` per item, sequentially or with bounded parallelism.
 * @module
 */
import {
  asError,
  FatalError,
  InterruptedError,
  Node,
  type NodeOptions,
  type RunContext,
  throwIfAborted,
} from "./node.ts";
import { maybeYield } from "./yield.ts";

/**
 * Calls `fn` for each item with at most `limit` calls in flight and returns
 * the results in item order. At the first error it starts no more items,
 * aborts the signal it gave the calls still in flight (so they stop: a
 * command is killed, a request aborted) unless the error is a
 * {@link FatalError} (a spent budget: they finish), waits for them to settle
 * and rethrows that first error; what they throw afterwards is dropped. The
 * signal `fn` gets is also aborted when `options.signal` is; with one call
 * in flight at a time (`limit` 1, or one item) it is `options.signal` itself.
 */
export async function mapConcurrent<T, R>(
  items: readonly T[],
  fn: (item: T, index: number, signal: AbortSignal) => Promise<R>,
  options: { limit: number; signal?: AbortSignal },
): Promise<R[]> {
  const results = new Array<R>(items.length);
  const limit = Math.max(1, Math.min(options.limit, items.length));
  const outer = options.signal;
  // Calls in flight next to a failing one are stopped through a signal of the batch's own.
  const controller = limit > 1 ? new AbortController() : undefined;
  const signal = controller?.signal ?? outer ?? NEVER_ABORTED;
  const forward = () => controller!.abort(outer!.reason);
  if (controller !== undefined && outer !== undefined) {
    if (outer.aborted) forward();
    else outer.addEventListener("abort", forward, { once: true });
  }
  let nextIndex = 0;
  let failure: { error: Error } | undefined;
  const worker = async () => {
    while (failure === undefined && nextIndex < items.length) {
      const turn = maybeYield();
      if (turn !== undefined) await turn;
      if (outer) throwIfAborted(outer);
      // While this worker waited for its turn, the others may have taken the last items.
      if (failure !== undefined || nextIndex >= items.length) break;
      const index = nextIndex++;
      try {
        results[index] = await fn(items[index], index, signal);
      } catch (error) {
        if (failure === undefined) {
          failure = { error: asError(error) };
          // A failure that ends the run as it is (a spent budget) lets the calls in flight finish and be
          // counted; an interrupt reaches them through `options.signal`.
          if (!(error instanceof FatalError)) {
            controller?.abort(new InterruptedError("stopped: another item of the batch failed"));
          }
        }
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: limit }, worker));
  } finally {
    outer?.removeEventListener("abort", forward);
  }
  if (failure !== undefined) throw failure.error;
  return results;
}

/** The signal of a batch run without one: never aborted. */
const NEVER_ABORTED: AbortSignal = new AbortController().signal;

/** `ctx` with another signal (the rest read through to `ctx`, which may be a class instance). */
export function withSignal<C extends RunContext>(ctx: C, signal: AbortSignal): C {
  if (signal === ctx.signal) return ctx;
  return Object.create(ctx, { signal: { value: signal, enumerable: true, writable: true, configurable: true } });
}

/** Options of {@link BatchNode}. */
export interface BatchOptions extends NodeOptions {
  /** Run items concurrently. */
  parallel?: boolean;
  /** Items in flight at once when parallel (default 10). */
  maxConcurrent?: number;
}

/**
 * A node whose `prep` returns an array; `exec` (with retries) runs once per
 * item and `post` receives the array of results in item order.
 */
export class BatchNode<P extends Record<string, unknown> = Record<string, unknown>> extends Node<P> {
  /** Run items concurrently. */
  parallel: boolean;
  /** Items in flight at once when parallel. */
  maxConcurrent: number;

  /** @param options retry and concurrency policy */
  constructor(options: BatchOptions = {}) {
    super(options);
    this.parallel = options.parallel ?? false;
    this.maxConcurrent = options.maxConcurrent ?? 10;
  }

  /** Runs `exec` for every item of `items`. */
  override _exec(items: unknown, ctx: RunContext): Promise<unknown[]> {
    const list = (items ?? []) as unknown[];
    if (!Array.isArray(list)) {
      return Promise.reject(new TypeError("BatchNode.prep must return an array"));
    }
    let itemCtx: RunContext | undefined;
    // One context for every item: the batch's signal (aborted when an item fails) in place of the run's.
    const runOne = (item: unknown, _index: number, signal: AbortSignal) =>
      super._exec(item, itemCtx ??= withSignal(ctx, signal));
    return mapConcurrent(list, runOne, {
      limit: this.parallel ? this.maxConcurrent : 1,
      signal: ctx.signal,
    });
  }
}
