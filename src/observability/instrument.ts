/**
 * The instrumented layer: the outermost wrapper the compiler adds to every
 * node, and only when metrics or tracing is on. It times each execution and
 * reports it to the run's telemetry; everything else about the node is
 * untouched (see `wrapNode`).
 * @module
 */
import { type Action, type BaseNode, type NodeLayer, type RunContext, unwrapNode, wrapNode } from "../engine/mod.ts";
import { inheritPhaseMarks, measuresChildCpu } from "./decorators.ts";
import type { FailureObservedContext, ItemScopedContext, TemplateObservedContext } from "../workflow/layers.ts";
import type { ChildEnvContext } from "../nodes/spec.ts";
import { formatTraceParent } from "./ids.ts";
import { scopes } from "./scope.ts";
import type { NodeInfo, RunTelemetry } from "./telemetry.ts";

/** A run context that carries telemetry. */
export interface TelemetryContext extends ItemScopedContext {
  /** The run's telemetry. */
  telemetry?: RunTelemetry;
}

/** The instrumented layer of one node. */
export function instrumentedLayer(info: NodeInfo): NodeLayer {
  return {
    name: "instrumented",
    async run(_inner: BaseNode, shared, ctx: RunContext, next): Promise<Action> {
      const telemetry = (ctx as TelemetryContext).telemetry;
      if (telemetry === undefined || !telemetry.instrumented) return await next(shared, ctx);
      const exec = telemetry.beginNode(info);
      const view = telemetry.storeView === undefined ? shared : telemetry.storeView(exec, shared);
      let action: Action;
      try {
        action = await next(view, ctx);
      } catch (error) {
        telemetry.endNode(exec, undefined, error);
        throw error;
      }
      // A returned `error` action says why in what the node wrote (unless it threw before its error edge).
      if (action === "error" && exec.error === undefined && info.describeError !== undefined) {
        exec.error = { type: "ErrorAction", message: info.describeError(shared) };
      }
      telemetry.endNode(exec, action);
      return action;
    },
  };
}

/** The compiler's `instrument` hook: wraps a node in the instrumented layer. */
export function instrumentNode(node: BaseNode, info: NodeInfo): BaseNode {
  inheritPhaseMarks(unwrapNode(node).constructor); // an undecorated subclass of a @timed class times its own phases
  const childCpu = measuresChildCpu(unwrapNode(node).constructor);
  const { id, type, ordinal, describeError } = info;
  return wrapNode(node, instrumentedLayer({ id, type, ordinal, childCpu, describeError }));
}

/**
 * Context fields an instrumented run adds: retry counts, batch item scopes
 * (when the run's scope is `carried`, see `RunTelemetry.run`), template
 * resolutions (traces) and TRACEPARENT for child processes.
 */
export function telemetryContext(telemetry: RunTelemetry, options: { carried: boolean }): TelemetryContext {
  const fields = { telemetry } as
    & TelemetryContext
    & TemplateObservedContext
    & FailureObservedContext
    & ChildEnvContext
    & {
      onRetry?: () => void;
    };
  if (!telemetry.instrumented) return fields;
  const current = () => scopes.getStore() ?? telemetry.scope;
  fields.onRetry = () => telemetry.onRetry();
  fields.nodeFailed = (error) => telemetry.nodeFailed(error, current());
  if (options.carried) fields.runItem = (index, fn) => telemetry.runItem(index, fn);
  const onTemplate = telemetry.onTemplate;
  if (onTemplate !== undefined) {
    fields.templateObserver = {
      resolved(param, refs, value) {
        const scope = current();
        if (scope.node !== undefined) onTemplate(scope.node, scope.item, param, refs, value);
      },
    };
  }
  const traceId = telemetry.traceId;
  if (traceId !== undefined) {
    // The trace's sampling decision goes on: a child of a trace nobody records records nothing either.
    const sampled = telemetry.sampled;
    fields.childEnv = (): Record<string, string> => {
      const spanId = current().node?.span_id;
      return spanId === undefined ? {} : { TRACEPARENT: formatTraceParent(traceId, spanId, sampled) };
    };
  }
  return fields;
}
