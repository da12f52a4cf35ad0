/**
 * Which run, which node execution and which batch item code is running in:
 * a scope per run, carried through async context (AsyncLocalStorage, with a
 * scope per batch item) when the run must attribute concurrent work (model
 * calls, phase marks, template resolutions), else ambient: one process-wide
 * value, set while the run lasts, that costs nothing per promise. Code
 * outside any run that reads the scope while an ambient run lasts (a plain
 * run beside it, say) sees that run's; pflow's CLI runs one at a time. Plus
 * process-wide counters that let decorated methods skip every lookup when
 * nothing is being measured.
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

/** The scope store: what code reads (`getStore`) and how a run enters a scope (`run`, `runAmbient`). */
export interface ScopeStore {
  /** The scope of the running code, or undefined. */
  getStore(): TelemetryScope | undefined;
  /** Runs `fn` in `scope`, carried through every promise it makes (concurrent code keeps its own scope). */
  run<R>(scope: TelemetryScope, fn: () => R): R;
  /**
   * Runs `fn` with `scope` as the process's ambient scope, what `getStore` returns outside any
   * carried scope: for a run that needs no per-call attribution, at no cost per promise. Once a
   * scope was carried in this process (the store exists), or while another run holds the ambient
   * scope, the run is carried instead (`run`): a carried scope in force around it would otherwise
   * hide its own, and runs that overlap each see theirs.
   */
  runAmbient<R>(scope: TelemetryScope, fn: () => Promise<R>): Promise<R>;
}

// Created by the first run that needs a carried scope: a run whose nodes never call models and that
// times no phases never makes one (creating the first AsyncLocalStorage costs ~0.3 ms on Bun, and
// from then on the runtime carries async context through every promise).
let store: AsyncLocalStorage<TelemetryScope> | undefined;
let ambient: TelemetryScope | undefined;

/** The scope store (an AsyncLocalStorage, created on first use, over an ambient scope). */
export const scopes: ScopeStore = {
  getStore: () => store?.getStore() ?? ambient,
  run: (scope, fn) => (store ??= new AsyncLocalStorage<TelemetryScope>()).run(scope, fn),
  async runAmbient(scope, fn) {
    if (store !== undefined || ambient !== undefined) return await scopes.run(scope, fn);
    ambient = scope;
    try {
      return await fn();
    } finally {
      ambient = undefined;
    }
  },
};

/** Whether this process has carried a scope through async context (made its AsyncLocalStorage). */
export function carriesScopes(): boolean {
  return store !== undefined;
}

/** The current scope, or undefined outside any run (cheap when no run is active). */
export function currentScope(): TelemetryScope | undefined {
  return ACTIVE.runs === 0 ? undefined : scopes.getStore();
}
