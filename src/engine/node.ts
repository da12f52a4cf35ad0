/**
 * Nodes: the unit of work. A node runs `prep → exec → post`; `post` returns
 * the action that picks the next node.
 *
 * pflow has its own engine rather than the npm `pocketflow` package because
 * it needs what that package lacks: an AbortSignal threaded through every
 * phase (runs are cancellable), per-execution state kept off the node (so one
 * node object can run concurrently in a parallel batch), and `clone()`
 * semantics that proxy wrappers can keep. The semantics are PocketFlow's.
 * @module
 */
import { delay } from "../util/timers.ts";

/** The shared store that nodes read and write. */
export type Shared = Record<string, unknown>;

/** The action a node returns from `post`; `undefined` means "default". */
export type Action = string | undefined;

/** What every phase receives besides its data: cancellation and warnings. */
export interface RunContext {
  /** Aborted when the run is interrupted; nodes pass it to I/O. */
  signal: AbortSignal;
  /** Reports a non-fatal problem (e.g. a flow ending on an unwired action). */
  warn(message: string): void;
}

/** The default action name. */
export const DEFAULT_ACTION = "default";

/**
 * An error that ends the run as it is: never retried, never handed to
 * `execFallback`, never absorbed by a batch's `continue` (an interrupt, a
 * spent budget).
 */
export class FatalError extends Error {
  /** @param message why the run stopped */
  constructor(message: string) {
    super(message);
    this.name = "FatalError";
  }
}

/** Thrown when a run is interrupted through its AbortSignal. */
export class InterruptedError extends FatalError {
  /** @param message why the run stopped */
  constructor(message = "run interrupted") {
    super(message);
    this.name = "InterruptedError";
  }
}

/** Throws {@link InterruptedError} when the signal is aborted. */
export function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted) throw new InterruptedError();
}

/**
 * The base of every node: params, successors by action, and the three phases.
 * Subclasses override `prep`, `exec` and `post`.
 */
export class BaseNode<P extends Record<string, unknown> = Record<string, unknown>> {
  /** Parameters, set by the compiler (or by hand) before a run. */
  params: P = {} as P;
  /** Next nodes by action name. */
  successors: Map<string, BaseNode> = new Map();
  /** The node's id in its workflow (set by the workflow compiler), for messages; unset for a node built by hand. */
  declare nodeId?: string;

  /** Replaces the params. Returns this node for chaining. */
  setParams(params: P): this {
    this.params = params;
    return this;
  }

  /**
   * Runs `node` after this one on the default action. Returns `node`, so
   * `a.next(b).next(c)` chains a → b → c.
   */
  next<T extends BaseNode>(node: T): T {
    return this.on(DEFAULT_ACTION, node);
  }

  /** Runs `node` after this one when `post` returns `action`. Returns `node`. */
  on<T extends BaseNode>(action: string, node: T): T {
    this.successors.set(action, node);
    return node;
  }

  /** Reads what `exec` needs from the shared store. */
  prep(_shared: Shared, _ctx: RunContext): unknown | Promise<unknown> {
    return undefined;
  }

  /** Does the work; must not touch the shared store. */
  exec(_prepResult: unknown, _ctx: RunContext): unknown | Promise<unknown> {
    return undefined;
  }

  /** Writes results to the shared store and returns the next action. */
  post(
    _shared: Shared,
    _prepResult: unknown,
    _execResult: unknown,
    _ctx: RunContext,
  ): Action | Promise<Action> {
    return undefined;
  }

  /** Runs `exec` (overridden by {@link Node} to add retries). */
  _exec(prepResult: unknown, ctx: RunContext): Promise<unknown> {
    return Promise.resolve(this.exec(prepResult, ctx));
  }

  /** One full execution: prep, exec, post. Returns the action. */
  async _run(shared: Shared, ctx: RunContext): Promise<Action> {
    const prepResult = await this.prep(shared, ctx);
    const execResult = await this._exec(prepResult, ctx);
    return await this.post(shared, prepResult, execResult, ctx);
  }

  /**
   * Runs this node alone (successors are not followed).
   * @param shared the shared store
   * @param options optional signal and warning sink
   */
  run(shared: Shared, options: Partial<RunContext> = {}): Promise<Action> {
    const ctx = makeContext(options);
    if (this.successors.size > 0) {
      ctx.warn("node has successors that run() does not follow; use a Flow");
    }
    return this._run(shared, ctx);
  }

  /**
   * A shallow copy with its own params object and successor map. It is built
   * with the class's constructor (so `instanceof` holds and `#private` fields
   * exist, at their initial values), then given this node's own fields.
   * Classes whose constructor needs arguments or whose private state matters
   * override `clone()`.
   */
  clone(): this {
    let copy: this;
    try {
      copy = Reflect.construct(this.constructor, []) as this;
    } catch {
      copy = Object.create(Object.getPrototypeOf(this));
    }
    Object.assign(copy, this);
    copy.params = { ...this.params };
    copy.successors = new Map(this.successors);
    return copy;
  }
}

/** Options of {@link Node}. */
export interface NodeOptions {
  /** Attempts of `exec` in total (1 = no retry). */
  maxRetries?: number;
  /** Seconds to wait between attempts. */
  wait?: number;
}

/**
 * A node whose `exec` is retried (`maxRetries` attempts in all, `wait`
 * seconds apart) before `execFallback` decides.
 */
export class Node<P extends Record<string, unknown> = Record<string, unknown>> extends BaseNode<P> {
  /** Attempts of `exec` in total. */
  maxRetries: number;
  /** Seconds between attempts. */
  wait: number;

  /** @param options retry policy */
  constructor(options: NodeOptions = {}) {
    super();
    this.maxRetries = options.maxRetries ?? 1;
    this.wait = options.wait ?? 0;
  }

  /** Called with the last error when every attempt failed; rethrows by default. */
  execFallback(_prepResult: unknown, error: Error, _ctx: RunContext): unknown | Promise<unknown> {
    throw error;
  }

  /** Runs `exec` with retries; the attempt number is reported through `onRetry`. */
  override async _exec(prepResult: unknown, ctx: RunContext): Promise<unknown> {
    for (let attempt = 0;; attempt++) {
      try {
        return await this.exec(prepResult, ctx);
      } catch (error) {
        if (ctx.signal.aborted || error instanceof FatalError) throw error;
        if (attempt + 1 >= this.maxRetries) {
          return await this.execFallback(prepResult, asError(error), ctx);
        }
        (ctx as RetryAwareContext).onRetry?.(attempt + 1, asError(error));
        if (this.wait > 0) await sleep(this.wait * 1000, ctx.signal);
      }
    }
  }
}

/** A context that wants to hear about retries (used by telemetry). */
export interface RetryAwareContext extends RunContext {
  /** Called before retry number `attempt` (1-based). */
  onRetry?(attempt: number, error: Error): void;
}

/** Coerces anything thrown into an Error. */
export function asError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}

/** Waits `ms` (any size, see `util/timers.ts`), rejecting with {@link InterruptedError} when the signal aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return delay(ms, { signal, onAbort: () => new InterruptedError() });
}

/** Fills in a {@link RunContext}: a never-aborting signal and stderr warnings. */
export function makeContext(options: Partial<RunContext> = {}): RunContext {
  return {
    signal: options.signal ?? new AbortController().signal,
    warn: options.warn ?? ((message) => console.warn(`warning: ${message}`)),
  };
}
