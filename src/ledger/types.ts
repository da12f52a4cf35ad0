/**
 * What the ledger records of a run: ids, names and numbers only (no
 * prompts, responses or param values: traces hold those).
 * @module
 */

/** The phase of a run an LLM call belongs to. */
export type LedgerPhase = "planner" | "workflow";

/**
 * How a run ended, or `running` (still going; or killed without a chance to say, until a reader finds its
 * process gone and settles it as `interrupted`, subtype {@link PROCESS_GONE}).
 */
export type LedgerRunStatus = "running" | "success" | "failed" | "interrupted" | "budget_exceeded";

/** The `subtype` of a run whose process was found gone while its row said `running`: its end is unknown. */
export const PROCESS_GONE = "error_process_gone";

/** The statuses `--status` accepts, in display order. */
export const RUN_STATUSES: readonly LedgerRunStatus[] = [
  "success",
  "failed",
  "interrupted",
  "budget_exceeded",
  "running",
];

/** What is known of a run when it starts. */
export interface RunStart {
  /** The run's UUID. */
  executionId: string;
  /** W3C trace id, when the run carries one. */
  traceId: string | null;
  /** `workflow` (a file or saved workflow) or `planned` (the planner chose or wrote it). */
  kind: "workflow" | "planned";
  /** The workflow's name (for a planned run, the planner's choice; it may be set at the end). */
  workflowName: string;
  /** Path of the workflow file, when there is one. */
  workflowFile: string | null;
  /** `sha256:` of the workflow file's content. */
  workflowHash: string | null;
  /** The saved workflow's name, when it ran by name. */
  savedName: string | null;
  /** Start, Unix ms (UTC). */
  startedMs: number;
  /** The pflow version that ran it. */
  pflowVersion: string;
  /** The process running it, its host and start (see run_process.ts); `LedgerRun.begin` fills them in. */
  pid?: number;
  /** See {@link RunStart.pid}. */
  host?: string;
  /** See {@link RunStart.pid}. */
  processStart?: string | null;
}

/** What is known when it ends (fields of {@link RunStart} given here replace the start's). */
export interface RunEnd
  extends Partial<Omit<RunStart, "executionId" | "startedMs" | "pflowVersion" | "pid" | "host" | "processStart">> {
  /** How it ended. */
  status: Exclude<LedgerRunStatus, "running">;
  /** The result document's `subtype`. */
  subtype: string;
  /** End, Unix ms (UTC). */
  endedMs: number;
  /** Wall time, ms (as the result's `duration_ms`). */
  durationMs: number;
  /** Node executions. */
  nodesExecuted: number;
  /** The trace file, when one was written. */
  traceFile: string | null;
  /** The price table's version and source. */
  priceVersion: string | null;
  /** See {@link RunEnd.priceVersion}. */
  priceSource: string | null;
  /** False when some call's model was unpriced; null when no prices were loaded. */
  pricingComplete: boolean | null;
  /** Planned runs: the planner's path (e.g. reused or generated). */
  plannerPath?: string | null;
  /** Planned runs: the planner trace file. */
  plannerTraceFile?: string | null;
  /** Planned runs: the planner's wall time, ms. */
  durationPlannerMs?: number | null;
  /** The workflow's node executions by type and status (the recorder fills this in). */
  nodes?: NodeStat[];
}

/** How a run's nodes of one type ended one way: counts and, when they were timed, durations. */
export interface NodeStat {
  type: string;
  status: "success" | "error" | "interrupted";
  executions: number;
  /** Executions with a measured duration (instrumented runs). */
  timed: number;
  durationMsSum: number;
  /** Timed executions per bucket of `BUCKETS.node` (not cumulative; `+Inf` is the rest). */
  buckets: number[];
}
