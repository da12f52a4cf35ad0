/**
 * Observability: one instrumentation layer feeding sinks (metrics now;
 * traces and exporters attach the same way), the decorators node classes
 * use, and the run summary behind the JSON result.
 * @module
 */
export * from "./decorators.ts";
export * from "./telemetry.ts";
export * from "./instrument.ts";
export * from "./metrics.ts";
export { ACTIVE, currentScope, type TelemetryScope } from "./scope.ts";
