/**
 * The compiled walk: a workflow's flow with its graph resolved at compile
 * time. Each node becomes a {@link Step} holding direct references (the
 * function that runs the node's layers, the steps that follow it by action),
 * so a node execution on the run's path reads no property through a wrapper
 * Proxy and looks up nothing by node; a node whose outermost layer is its
 * namespace gets its namespaced view from the walk itself, made without
 * looking its key up in the store (see `namespaceView`), since a
 * node that is not on a cycle runs at most once a walk. It runs with the
 * engine's semantics:
 * event-loop yields, cancellation, observer hooks, a warning for an action
 * with no successor, and an unwired `error` action fails the run.
 * @module
 */
import {
  type Action,
  type BaseNode,
  Flow,
  maybeYield,
  type NodeRunner,
  type ObservedContext,
  type RunContext,
  runnerOf,
  type Shared,
  successorFor,
  tagFailedNode,
  throwIfAborted,
} from "../engine/mod.ts";
import type { NamespaceContext } from "./layers.ts";
import { NAMESPACE, namespacedStore, type NamespaceOptions, PendingNamespaces } from "./store.ts";

/** Thrown out of the flow when a node returns `error` and no `error` edge handles it. */
export class UnhandledErrorAction extends Error {
  /** The node that returned `error`. */
  readonly node: BaseNode;

  /** @param node the node */
  constructor(node: BaseNode) {
    super("returned the 'error' action");
    this.name = "UnhandledErrorAction";
    this.node = node;
  }
}

/** A context that counts node executions (cheaply, in every mode). */
export interface CountingContext extends RunContext {
  /** Node executions that completed. */
  nodesRun: number;
  /** The last node that completed. */
  lastNode?: BaseNode;
  /** Completed executions per node, two slots a node (by ordinal): anything but `error`, and `error`. */
  completionCounts: Uint32Array;
}

/** One node of a compiled flow, as its walk sees it. */
export interface Step {
  /** The node as wired (outermost wrapper): what observers and errors name. */
  readonly node: BaseNode;
  /** Runs the node through its layers (see {@link runnerOf}), inside {@link Step.namespace} when set. */
  readonly run: NodeRunner;
  /**
   * Set when the node's outermost layer is its namespace (a plain run): the
   * walk hands `run` the namespaced view itself, as that layer would.
   */
  readonly namespace: string | undefined;
  /** Its slot in {@link CountingContext.completionCounts}: twice its ordinal. */
  readonly slot: number;
  /** The steps that follow, by action. */
  readonly next: Map<string, Step>;
}

/** A node for {@link buildSteps}: as wired, and what runs inside its namespace when that is its outermost layer. */
export interface StepNode {
  /** The node as wired. */
  node: BaseNode;
  /** When the wired node is only a namespace around this one: the node id (the namespace) and this node. */
  insideNamespace?: { id: string; node: BaseNode };
}

/**
 * Steps for `nodes` (by ordinal), whose successors must be wired already:
 * the walk follows the graph as it is now.
 */
export function buildSteps(nodes: readonly StepNode[]): Map<BaseNode, Step> {
  const steps = new Map<BaseNode, Step>();
  nodes.forEach(({ node, insideNamespace: inside }, ordinal) => {
    const run = runnerOf(inside?.node ?? node);
    steps.set(node, { node, run, namespace: inside?.id, slot: 2 * ordinal, next: new Map() });
  });
  for (const [node, step] of steps) {
    for (const [action, successor] of node.successors) {
      const target = steps.get(successor);
      if (target === undefined) throw new Error(`a successor of a compiled node is not one of the workflow's nodes`);
      step.next.set(action, target);
    }
  }
  return steps;
}

/** A flow that walks compiled {@link Step}s. */
export class WorkflowFlow extends Flow {
  readonly #first: Step;
  readonly #namespaces: ReadonlySet<string>;

  /**
   * @param first the step to start from (its node becomes the flow's `start`)
   * @param options `namespaces`: the node ids whose writes are namespaced
   */
  constructor(first: Step, options: { namespaces: ReadonlySet<string> }) {
    super(first.node);
    this.#first = first;
    this.#namespaces = options.namespaces;
  }

  /** Walks the steps from the first; returns the last node's action. */
  override async orchestrate(
    shared: Shared,
    ctx: ObservedContext & CountingContext & NamespaceContext,
  ): Promise<Action> {
    const { observer, completionCounts, signal } = ctx;
    // What namespaced views need to know of this store (see `namespaceView`).
    const taken = Object.keys(shared).filter((key) => this.#namespaces.has(key));
    // Namespaces made by this walk's fresh views join the store together (see `PendingNamespaces`).
    const pending = new PendingNamespaces(shared);
    const fresh: NamespaceOptions = { fresh: true, pending };
    ctx.namespaceRoot = shared;
    ctx.takenNamespaces = taken;
    ctx.freshNamespace = fresh;
    let step: Step | undefined = this.#first;
    let action: Action;
    try {
      while (step !== undefined) {
        // A loop of nodes that never wait on I/O must still let signals and timers run.
        const turn = maybeYield();
        if (turn !== undefined) await turn;
        throwIfAborted(signal);
        const node = step.node;
        try {
          observer?.nodeStart?.(node);
          // The namespaced view made here rather than by the node's layer: one call less per node. The rule
          // is `namespaceView`'s for a node that runs once on this store, with `taken` at hand (measured: reading
          // it back from the context on every node cost Bun ~0.6 µs per 200 µs node).
          const namespace = step.namespace;
          let view = shared;
          if (namespace !== undefined) {
            const seen = taken.length > 0 && taken.includes(namespace);
            // A view that looks its key up reads the store: the namespaces in waiting go in first.
            if (seen) pending.flush();
            view = namespacedStore(shared, namespace, seen ? NAMESPACE.seen : fresh);
          }
          action = await step.run(view, ctx);
        } catch (error) {
          observer?.nodeEnd?.(node, undefined, error as Error);
          throw tagFailedNode(error, node);
        }
        observer?.nodeEnd?.(node, action);
        ctx.lastNode = node;
        ctx.nodesRun++;
        completionCounts[action === "error" ? step.slot + 1 : step.slot]++;
        step = nextStep(step, action, ctx);
      }
      // A signal during the last node (one that finished its work anyway) still ends the run interrupted.
      throwIfAborted(signal);
    } finally {
      pending.flush();
    }
    return action;
  }
}

/** The step after `step` for `action`, or undefined when the flow ends; an unwired `error` fails the run. */
function nextStep(step: Step, action: Action, ctx: RunContext): Step | undefined {
  if (action === "error" && !step.next.has("error")) throw new UnhandledErrorAction(step.node);
  return successorFor(step.next, action, ctx);
}
