/**
 * Observability: one instrumentation layer that sums node executions
 * (`node_totals.ts`) and feeds sinks (traces, logs, exporters), the
 * decorators node classes use, and the run summary behind the JSON result.
 * @module
 */
export * from "./decorators.ts";
export * from "./telemetry.ts";
export * from "./instrument.ts";
export * from "./metrics.ts";
export * from "./node_totals.ts";
export { ACTIVE, currentScope, type TelemetryScope } from "./scope.ts";
