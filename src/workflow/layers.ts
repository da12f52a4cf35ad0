/**
 * The compiler's wrapper layers: `LoopGuard? → Namespaced → Batch? → TemplateAware? → node`.
 * Each is a {@link NodeLayer} for the engine's proxy wrapper.
 * @module
 */
import {
  type Action,
  asError,
  type BaseNode,
  FatalError,
  type FlowObserver,
  mapConcurrent,
  type NodeLayer,
  type ObservedContext,
  type RunContext,
  type Shared,
  withSignal,
} from "../engine/mod.ts";
import { itemStore, NAMESPACE, namespacedStore, type NamespaceOptions, renewedNamespace, scopeOf } from "./store.ts";
import { formatPath, lookup, parseTemplate, type Resolver, templateRefs, UnresolvedTemplateError } from "./template.ts";
import { formatJsonPath, lossyNumberText, parseJsonNoting } from "../util/json_numbers.ts";
import { isSecretName, outputRedactor } from "../observability/redact.ts";
import type { BatchIR } from "./ir.ts";
import { formatCount } from "../util/count.ts";
import { warnOnce } from "../util/warn_once.ts";

/** A param could not be resolved; names the param. */
export class ParamResolutionError extends Error {
  /** The param. */
  readonly param: string;

  /**
   * @param param the param name
   * @param cause the resolution error
   */
  constructor(param: string, cause: UnresolvedTemplateError) {
    super(`param '${param}': ${cause.message}`, { cause });
    this.name = "TemplateError";
    this.param = param;
  }
}

/** What each `${…}` in a param's raw value resolves to (for traces; the param resolved already). */
function refValues(raw: unknown, scope: ReturnType<typeof scopeOf>): { template: string; value: unknown }[] {
  return [...templateRefs(raw)].map(({ ref }) => ({ template: ref.source, value: lookup(ref, scope) }));
}

/** Whether a param is secret-named or holds secret-named keys (checked once, at compile time). */
export function mayHoldSecrets(name: string, value: unknown): boolean {
  if (isSecretName(name)) return true;
  if (Array.isArray(value)) return value.some((v) => mayHoldSecrets("", v));
  if (value !== null && typeof value === "object") {
    return Object.entries(value).some(([k, v]) => mayHoldSecrets(k, v));
  }
  return false;
}

/** Thrown before a node would run more often than the run allows (a loop that does not end). */
export class NodeExecutionLimitError extends Error {
  /** The node that would have run once more. */
  readonly nodeId: string;

  /**
   * @param nodeId the node
   * @param limit executions allowed per node
   * @param fromFlag the limit was given for the run (`--max-node-executions`), not by the workflow
   */
  constructor(nodeId: string, limit: number, fromFlag = false) {
    super(
      `ran ${formatCount(limit)} time${limit === 1 ? "" : "s"}, the limit per node ` +
        (fromFlag
          ? `(--max-node-executions ${limit}); if the loop is meant to go on, pass a larger --max-node-executions`
          : `(limits.max_node_executions = ${limit}); if the loop is meant to go on, raise ` +
            `"limits": {"max_node_executions": N} in the workflow or pass --max-node-executions N`),
    );
    this.name = "NodeExecutionLimitError";
    this.nodeId = nodeId;
  }
}

/** A run context that counts the executions of nodes that can loop. */
export interface LoopCountingContext extends RunContext {
  /** Executions started per node id (absent: no guard). */
  executions?: Map<string, number>;
  /** Executions allowed per node. */
  maxNodeExecutions?: number;
  /** Whether that limit was given for the run (`--max-node-executions`) rather than by the workflow. */
  maxNodeExecutionsGiven?: boolean;
}

/**
 * The loop guard of a node on a cycle: counts its executions in the run and
 * throws {@link NodeExecutionLimitError} instead of starting one past
 * `maxNodeExecutions`.
 */
export function loopGuardLayer(id: string): NodeLayer {
  return {
    name: "loop-guard",
    run(_inner, shared, ctx, next) {
      const counting = ctx as LoopCountingContext;
      const runs = counting.executions;
      if (runs !== undefined) {
        const started = runs.get(id) ?? 0;
        if (started >= counting.maxNodeExecutions!) {
          throw new NodeExecutionLimitError(id, counting.maxNodeExecutions!, counting.maxNodeExecutionsGiven);
        }
        runs.set(id, started + 1);
      }
      return next(shared, ctx);
    },
  };
}

/** A context told what a node threw before its `error` edge turned it into the `error` action (traces). */
export interface FailureObservedContext extends RunContext {
  /** Called with what the node threw; absent in the common case. */
  nodeFailed?(error: unknown): void;
}

/** Options of {@link errorEdgeLayer}. */
export interface ErrorEdgeOptions {
  /** Why the node returned the `error` action, from the store it ran with (see `describeErrorOutputs`). */
  describe: (shared: Shared) => string;
  /**
   * Namespacing off: every node's `error` is the root's one key, so an
   * execution that does not take the edge removes it (a successful retry
   * leaves no `error` behind). With namespacing on, a node's namespace holds
   * only its latest execution's outputs already (see {@link namespacedLayer}).
   */
  clearOnSuccess: boolean;
}

/**
 * For a node with an `error` edge: the node's `error` output says why the
 * edge was taken, whether the node returned the `error` action (a non-zero
 * exit, an HTTP 4xx/5xx: `describe` says which) or threw (anything but what
 * stops the whole run: an interrupt, a spent budget), which then becomes the
 * `error` action, so the edge's handler runs in both cases. Inside the
 * namespace: the message lands under the node's id.
 */
export function errorEdgeLayer(id: string, options: ErrorEdgeOptions): NodeLayer {
  const { describe, clearOnSuccess } = options;
  return {
    name: "error-edge",
    async run(_inner, shared, ctx, next) {
      let action: Action;
      try {
        action = await next(shared, ctx);
      } catch (error) {
        if (error instanceof FatalError) throw error;
        // The instrumented layer, outside, sees only the action: telemetry keeps the error itself.
        (ctx as FailureObservedContext).nodeFailed?.(error);
        const message = error instanceof Error ? error.message : String(error);
        shared.error = message;
        // Once a run per node and message: a retry loop through the edge would say it at every pass.
        const line = message.split("\n")[0];
        warnOnce(ctx.warn, `node '${id}' failed (${line}); its error edge handles it`, `error edge: ${id}: ${line}`);
        return "error";
      }
      if (action === "error") shared.error = describe(shared);
      else if (clearOnSuccess && Object.hasOwn(shared, "error")) delete shared.error;
      return action;
    },
  };
}

/** What a workflow's walk tells namespaced views of the store it walks. */
export interface NamespaceContext extends RunContext {
  /** The store the walk runs on: a plain object. */
  namespaceRoot?: Shared;
  /** The namespaced node ids it held as keys when the walk began (a parameter named like a node). */
  takenNamespaces?: readonly string[];
  /** The options of a fresh view in this walk (its namespaces in waiting, see `PendingNamespaces`); set with `namespaceRoot`. */
  freshNamespace?: NamespaceOptions;
}

/**
 * The view node `id` runs with (its writes land in `shared[id]`, reads look
 * there first). A node that runs at most once a walk (`once`: not on a
 * cycle) and is handed the walk's own store finds no `id` key there unless
 * the walk began with one, so its view need not look the key up (see
 * `namespacedStore`); a store that records writes (traces) is another
 * object, and is looked up.
 */
export function namespaceView(shared: Shared, id: string, ctx: NamespaceContext, options: { once: boolean }): Shared {
  const fresh = options.once && shared === ctx.namespaceRoot && !ctx.takenNamespaces!.includes(id);
  if (fresh) return namespacedStore(shared, id, ctx.freshNamespace!);
  flushWaiting(shared, ctx);
  return namespacedStore(shared, id, NAMESPACE.seen);
}

/**
 * A view that looks its key up reads the walk's store directly, templates included: the namespaces fresh
 * views left waiting go in first (a node on a loop read `${a.output}` of a node before it as missing).
 */
function flushWaiting(shared: Shared, ctx: NamespaceContext): void {
  if (shared === ctx.namespaceRoot) ctx.freshNamespace?.pending?.flush();
}

/**
 * The layer that runs node `id` with its {@link namespaceView}; `once` by
 * default only in a walk's own view. A node that may run again (not `once`:
 * on a cycle, under a loop guard that counts its executions) starts each
 * execution after its first with a {@link renewedNamespace}, so its outputs
 * are always its latest execution's; a node that runs once pays nothing for it.
 */
export function namespacedLayer(id: string, options: { once: boolean } = { once: false }): NodeLayer {
  if (options.once) {
    return {
      name: "namespaced",
      run: (_inner, shared, ctx, next) => next(namespaceView(shared, id, ctx as NamespaceContext, options), ctx),
    };
  }
  return {
    name: "namespaced",
    run(_inner, shared, ctx, next) {
      // The loop guard, outside, has counted this execution already.
      const again = ((ctx as LoopCountingContext).executions?.get(id) ?? 0) > 1;
      if (again) flushWaiting(shared, ctx as NamespaceContext);
      const view = again ? renewedNamespace(shared, id) : namespaceView(shared, id, ctx as NamespaceContext, options);
      return next(view, ctx);
    },
  };
}

/** Hook told what each templated param resolved to (tracing uses it). */
export interface TemplateObserver {
  /**
   * Called once per templated param per execution (per item in a batch): each `${…}` with its value, and the
   * param's value; `batch.items` for a batch's items template.
   */
  resolved(param: string, refs: { template: string; value: unknown }[], value: unknown): void;
}

/** A context that may carry a {@link TemplateObserver}. */
export interface TemplateObservedContext extends RunContext {
  /** Template resolution hook; absent in the common case. */
  templateObserver?: TemplateObserver;
}

/**
 * Resolves templated params before each execution and restores the raw
 * params afterwards, so the node sees plain values.
 */
export function templateLayer(rawParams: Record<string, unknown>, resolvers: [string, Resolver][]): NodeLayer {
  // Params that may carry secrets once resolved (an `api_key`, `headers.Authorization`):
  // their values join the output redactor, so they never appear in output or traces.
  const secretive = new Set(resolvers.map(([p]) => p).filter((p) => mayHoldSecrets(p, rawParams[p])));
  return {
    name: "template",
    async run(inner, shared, ctx, next) {
      const scope = { ...scopeOf(shared), warn: ctx.warn }; // warn: numbers JSON text holds and a value cannot
      const resolved: Record<string, unknown> = { ...rawParams };
      const observer = (ctx as TemplateObservedContext).templateObserver;
      for (const [param, resolve] of resolvers) {
        try {
          resolved[param] = resolve(scope);
        } catch (error) {
          if (error instanceof UnresolvedTemplateError) throw new ParamResolutionError(param, error);
          throw error;
        }
        const value = resolved[param];
        if (secretive.has(param)) outputRedactor().learn(value, param);
        else if (typeof value === "string" && value.includes("://")) outputRedactor().learn(value); // URL passwords
        if (observer !== undefined) observer.resolved(param, refValues(rawParams[param], scope), value);
      }
      const original = inner.params;
      inner.params = resolved;
      try {
        return await next(shared, ctx);
      } finally {
        inner.params = original;
      }
    },
  };
}

/** A flow observer that also hears how far a batch node is (progress display). */
export interface ProgressObserver extends FlowObserver {
  /** `done` of `total` items of the running batch node have finished (0 when it starts). */
  batchItems?(done: number, total: number): void;
}

/** A context that wants each batch item run inside its own scope (telemetry attribution). */
export interface ItemScopedContext extends RunContext {
  /** Runs `fn` as batch item `index`; absent in the common case. */
  runItem?<T>(index: number, fn: () => Promise<T>): Promise<T>;
}

/** One failed batch item. */
export interface BatchItemError {
  /** Position in `items`. */
  index: number;
  /** The item. */
  item: unknown;
  /** What went wrong. */
  error: string;
}

/** A batch item failed under `fail_fast`. */
export class BatchItemFailedError extends Error {
  /**
   * @param failure the failed item
   * @param total number of items
   */
  constructor(failure: BatchItemError, total: number) {
    super(`batch item ${failure.index + 1} of ${total} failed: ${failure.error}`);
    this.name = "BatchItemFailedError";
  }
}

/**
 * Runs the inner node once per item (a clone each, so parallel items never
 * share params), collects what each item wrote into `results` (item order),
 * and writes `results`, `count` and `errors`.
 */
export function batchLayer(
  batch: BatchIR,
  items: Resolver | undefined,
  describeError: (outputs: Record<string, unknown>) => string,
): NodeLayer {
  const as = batch.as ?? "item";
  const continueOnError = batch.error_handling === "continue";
  const limit = batch.parallel ? batch.max_concurrent ?? 10 : 1;
  const named = itemsNamed(batch.items);
  return {
    name: "batch",
    async run(inner: BaseNode, shared: Shared, ctx: RunContext): Promise<Action> {
      let given: unknown = batch.items;
      if (items !== undefined) {
        // warn: numbers JSON text holds and a value cannot, as for a param
        const scope = { ...scopeOf(shared), warn: ctx.warn };
        given = items(scope);
        // Traces: what the items template resolved to, like a param's.
        const observer = (ctx as TemplateObservedContext).templateObserver;
        if (observer !== undefined) observer.resolved("batch.items", refValues(batch.items, scope), given);
      }
      const list = toArray(given, named, ctx.warn);
      const results: unknown[] = new Array(list.length).fill(null);
      const errors: BatchItemError[] = [];
      const runItem = (ctx as ItemScopedContext).runItem;
      const progress = ((ctx as ObservedContext).observer as ProgressObserver | undefined)?.batchItems;
      let done = 0;
      let itemCtx: RunContext | undefined;
      progress?.(0, list.length);
      await mapConcurrent(list, async (item, index, signal) => {
        const { view, local } = itemStore(shared, { [as]: item });
        // Items in flight run with the batch's signal: under fail_fast, one item's failure stops the others.
        const runCtx = itemCtx ??= withSignal(ctx, signal);
        const runOnce = () => inner.clone()._run(view, runCtx);
        let failure: string | undefined;
        try {
          const action = await (runItem ? runItem(index, runOnce) : runOnce());
          results[index] = local;
          if (action === "error") failure = describeError(local);
        } catch (error) {
          // Stopped (the run, or the batch after another item failed): not this item's failure.
          if (error instanceof FatalError || signal.aborted) throw error;
          failure = asError(error).message;
        }
        progress?.(++done, list.length);
        if (failure === undefined) return;
        const entry = { index, item, error: failure };
        errors.push(entry);
        if (!continueOnError) throw new BatchItemFailedError(entry, list.length);
      }, { limit, signal: ctx.signal });
      errors.sort((a, b) => a.index - b.index);
      shared.results = results;
      shared.count = list.length;
      shared.errors = errors;
      return undefined;
    },
  };
}

/**
 * How a warning names what `batch.items` resolved to: the template and its path (`${a.stdout}` and
 * `a.stdout`) when it is one template, else `batch.items` for both.
 */
function itemsNamed(items: unknown): { source: string; path: string } {
  if (typeof items === "string") {
    try {
      const parts = parseTemplate(items);
      if (parts.length === 1 && typeof parts[0] !== "string") {
        return { source: parts[0].source, path: formatPath(parts[0].segments) };
      }
    } catch { /* validation reports it */ }
  }
  return { source: "batch.items", path: "batch.items" };
}

/**
 * The list `value` is or, as JSON text, holds; a number of that text the list cannot hold exactly (an id
 * beyond 2^53) is warned about once a run, as a template's path into JSON text is. Anything else throws a
 * TypeError saying what it got (static validation calls this with a value known before the run).
 */
export function toArray(value: unknown, named: { source: string; path: string }, warn: (m: string) => void): unknown[] {
  if (Array.isArray(value)) return value;
  if (typeof value === "string" && /^\s*\[/.test(value)) {
    try {
      const { value: parsed, lossy } = parseJsonNoting(value);
      if (Array.isArray(parsed)) {
        if (lossy.length > 0) {
          const hit = lossy[0];
          warnOnce(
            warn,
            `${named.source}: '${named.path}${formatJsonPath(hit.path)}' ${lossyNumberText(hit)} ` +
              `(write it in the JSON as a string: "${hit.source}")`,
          );
        }
        return parsed;
      }
    } catch { /* reported below */ }
  }
  const got = value === null ? "null" : typeof value;
  if (typeof value !== "string") throw new TypeError(`batch.items must resolve to a list, got ${got}`);
  // JSON-quoted: on one line, its newlines shown as \n.
  const shown = JSON.stringify(value.length > 40 ? value.slice(0, 40) : value).slice(0, -1) +
    (value.length > 40 ? '..."' : '"');
  const lines = value.trim().includes("\n")
    ? " (text of several lines is not a list: have the command print a JSON array, e.g. by ending it with " +
      "| jq -Rn '[inputs]', one item per line)"
    : "";
  throw new TypeError(`batch.items must resolve to a list, got string ${shown}${lines}`);
}
