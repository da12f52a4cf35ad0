/**
 * Which run, which node execution and which batch item code is running in:
 * an AsyncLocalStorage scope per run (and per batch item when a run is
 * instrumented), plus process-wide counters that let decorated methods skip
 * every lookup when nothing is being measured.
 * @module
 */
import { AsyncLocalStorage } from "node:async_hooks";
import type { NodeExecution, RunTelemetry } from "./telemetry.ts";
import type { CpuReading } from "./cpu.ts";

/** What the current async context belongs to. */
export interface TelemetryScope {
  /** The run. */
  telemetry: RunTelemetry;
  /** The node execution in progress (instrumented runs only). */
  node: NodeExecution | undefined;
  /** The batch item, inside a batch (instrumented runs only). */
  item: number | undefined;
  /** The phase running in this context (`@timed` marks phase starts). */
  phase: "prep" | "exec" | "post";
  /** `performance.now()` when that phase started. */
  mark: number;
  /** CPU reading when that phase started (traced runs). */
  markCpu?: CpuReading;
}

/**
 * Runs in progress in this process: any, instrumented ones, and those that
 * want phase detail (`@timed` marks phases only for these).
 */
export const ACTIVE = { runs: 0, instrumented: 0, phased: 0 };

/** The scope store. */
export const scopes: AsyncLocalStorage<TelemetryScope> = new AsyncLocalStorage<TelemetryScope>();

/** The current scope, or undefined outside any run (cheap when no run is active). */
export function currentScope(): TelemetryScope | undefined {
  return ACTIVE.runs === 0 ? undefined : scopes.getStore();
}
