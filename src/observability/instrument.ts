/**
 * The instrumented layer: the outermost wrapper the compiler adds to every
 * node, and only when metrics or tracing is on. It times each execution and
 * reports it to the run's telemetry; everything else about the node is
 * untouched (see `wrapNode`).
 * @module
 */
import { type Action, type BaseNode, type NodeLayer, type RunContext, unwrapNode, wrapNode } from "../engine/mod.ts";
import { measuresChildCpu } from "./decorators.ts";
import type { ItemScopedContext } from "../workflow/layers.ts";
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
    async run(inner: BaseNode, shared, ctx: RunContext): Promise<Action> {
      const telemetry = (ctx as TelemetryContext).telemetry;
      if (telemetry === undefined || !telemetry.instrumented) return await inner._run(shared, ctx);
      const exec = telemetry.beginNode(info);
      let action: Action;
      try {
        action = await inner._run(shared, ctx);
      } catch (error) {
        telemetry.endNode(exec, undefined, error);
        throw error;
      }
      telemetry.endNode(exec, action);
      return action;
    },
  };
}

/** The compiler's `instrument` hook: wraps a node in the instrumented layer. */
export function instrumentNode(node: BaseNode, info: NodeInfo): BaseNode {
  const childCpu = measuresChildCpu(unwrapNode(node).constructor);
  return wrapNode(node, instrumentedLayer({ id: info.id, type: info.type, ordinal: info.ordinal, childCpu }));
}

/** Context fields an instrumented run adds (retry counts, batch item scopes). */
export function telemetryContext(telemetry: RunTelemetry): TelemetryContext {
  const fields = { telemetry } as TelemetryContext & { onRetry?: () => void };
  if (telemetry.instrumented) {
    fields.onRetry = () => telemetry.onRetry();
    fields.runItem = (index, fn) => telemetry.runItem(index, fn);
  }
  return fields;
}
