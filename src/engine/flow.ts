/**
 * Flows: walk successors from a start node until no successor matches.
 * A flow is itself a node, so flows nest.
 * @module
 */
import { type Action, BaseNode, DEFAULT_ACTION, type RunContext, type Shared, throwIfAborted } from "./node.ts";
import { maybeYield } from "./yield.ts";

/** Optional hooks a flow calls around each node (progress display, telemetry). */
export interface FlowObserver {
  /** Before `node` runs. */
  nodeStart?(node: BaseNode): void;
  /** After `node` ran, with its action, or the error it threw. */
  nodeEnd?(node: BaseNode, action: Action, error?: Error): void;
}

/** A context that may carry a {@link FlowObserver}. */
export interface ObservedContext extends RunContext {
  /** Hooks around each node; absent in the common case. */
  observer?: FlowObserver;
}

const failedNodes = new WeakMap<object, BaseNode>();

/** Records which node an error escaped from (the innermost one wins); returns the error. */
export function tagFailedNode(error: unknown, node: BaseNode): unknown {
  if (typeof error === "object" && error !== null && !failedNodes.has(error)) {
    failedNodes.set(error, node);
  }
  return error;
}

/** The node (as wired in its flow) that `error` escaped from, if known. */
export function failedNodeOf(error: unknown): BaseNode | undefined {
  return typeof error === "object" && error !== null ? failedNodes.get(error) : undefined;
}

/** Runs a graph of nodes from `start`, following the action each returns. */
export class Flow extends BaseNode {
  /** The first node. */
  start: BaseNode | undefined;

  /** @param start the first node (or set it later with {@link Flow.startWith}) */
  constructor(start?: BaseNode) {
    super();
    this.start = start;
  }

  /** Sets the first node and returns it, for chaining. */
  startWith<T extends BaseNode>(node: T): T {
    this.start = node;
    return node;
  }

  /**
   * The successor of `node` for `action`, or undefined when the flow ends.
   * An action with no successor while others exist ends the flow with a
   * warning, unless the only other is `error` (the normal end of a success path).
   */
  getNextNode(node: BaseNode, action: Action, ctx: RunContext): BaseNode | undefined {
    return successorFor(node.successors, action, ctx);
  }

  /** Walks the graph; returns the last node's action. */
  async orchestrate(shared: Shared, ctx: ObservedContext): Promise<Action> {
    const observer = ctx.observer;
    let node = this.start;
    let action: Action;
    while (node !== undefined) {
      // A loop of nodes that never wait on I/O must still let signals and timers run.
      const turn = maybeYield();
      if (turn !== undefined) await turn;
      throwIfAborted(ctx.signal);
      try {
        observer?.nodeStart?.(node);
        action = await node._run(shared, ctx);
      } catch (error) {
        observer?.nodeEnd?.(node, undefined, error as Error);
        throw tagFailedNode(error, node);
      }
      observer?.nodeEnd?.(node, action);
      node = this.getNextNode(node, action, ctx);
    }
    // A signal during the last node (one that finished its work anyway) still ends the flow interrupted.
    throwIfAborted(ctx.signal);
    return action;
  }

  /** prep, then the walk, then post with the last action as exec result. */
  override async _run(shared: Shared, ctx: RunContext): Promise<Action> {
    const prepResult = await this.prep(shared, ctx);
    const lastAction = await this.orchestrate(shared, ctx);
    return await this.post(shared, prepResult, lastAction, ctx);
  }

  /** A flow returns its last node's action unless overridden. */
  override post(_shared: Shared, _prep: unknown, lastAction: unknown, _ctx?: RunContext): Action {
    return lastAction as Action;
  }

  /** Flows have no exec of their own. */
  override exec(): never {
    throw new Error("a Flow has no exec(); it runs its nodes");
  }
}

/**
 * The successor in `successors` for `action`, or undefined when the flow
 * ends; an action with no successor while others exist ends it with a warning.
 */
export function successorFor<T>(successors: ReadonlyMap<string, T>, action: Action, ctx: RunContext): T | undefined {
  const name = action ?? DEFAULT_ACTION;
  const next = successors.get(name);
  if (next !== undefined) return next;
  // A node whose only edge handles `error` ends a success path normally.
  const onlyError = successors.size === 1 && successors.has("error");
  if (successors.size > 0 && !onlyError) {
    const known = [...successors.keys()].map((k) => `'${k}'`).join(", ");
    ctx.warn(`flow ends: action '${name}' has no successor (wired: ${known})`);
  }
  return undefined;
}
