/**
 * Batches: one `exec` per item, sequentially or with bounded parallelism.
 * @module
 */
import { asError, Node, type NodeOptions, type RunContext, throwIfAborted } from "./node.ts";
import { maybeYield } from "./yield.ts";

/**
 * Calls `fn` for each item with at most `limit` calls in flight and returns
 * the results in item order. Stops starting new items after the first error
 * (the calls in flight finish) and rethrows it.
 */
export async function mapConcurrent<T, R>(
  items: readonly T[],
  fn: (item: T, index: number) => Promise<R>,
  options: { limit: number; signal?: AbortSignal },
): Promise<R[]> {
  const results = new Array<R>(items.length);
  const limit = Math.max(1, Math.min(options.limit, items.length));
  let nextIndex = 0;
  let failure: { error: Error } | undefined;
  const worker = async () => {
    while (failure === undefined && nextIndex < items.length) {
      const turn = maybeYield();
      if (turn !== undefined) await turn;
      if (options.signal) throwIfAborted(options.signal);
      // While this worker waited for its turn, the others may have taken the last items.
      if (failure !== undefined || nextIndex >= items.length) break;
      const index = nextIndex++;
      try {
        results[index] = await fn(items[index], index);
      } catch (error) {
        failure ??= { error: asError(error) };
      }
    }
  };
  await Promise.all(Array.from({ length: limit }, worker));
  if (failure !== undefined) throw failure.error;
  return results;
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
    const runOne = (item: unknown) => super._exec(item, ctx);
    return mapConcurrent(list, runOne, {
      limit: this.parallel ? this.maxConcurrent : 1,
      signal: ctx.signal,
    });
  }
}
