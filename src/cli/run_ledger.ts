/**
 * The run ledger of `pflow run` and `pflow plan`: whether it is on, the run
 * row at start and end (a planned run's from the start of its planning),
 * and the sinks that write each LLM call as it finishes.
 * @module
 */
import { basename, dirname, join, resolve } from "node:path";
import { contentHash, ledgerEnabled, LedgerRun } from "../ledger/mod.ts";
import type { RunSummary } from "../observability/metrics.ts";
import type { CompiledWorkflow } from "../workflow/compiler.ts";
import type { NodeTotals } from "../observability/node_totals.ts";
import type { LoadedWorkflow } from "../workflow/load.ts";
import type { WorkflowResult } from "../workflow/run.ts";
import { VERSION } from "../version.ts";
import type { Settings } from "./home.ts";
import { SUBTYPES } from "./result_document.ts";
import { workflowsDir } from "./saved.ts";
import type { PriorPhase } from "./run_command.ts";

/** The ledger of one run, or undefined when it is off (`--no-ledger`, `PFLOW_LEDGER=off`, `"ledger": false`). */
export function runLedger(options: {
  home: string;
  env: Record<string, string | undefined>;
  settings: Settings;
  noLedger: boolean;
  warn: (message: string) => void;
}): LedgerRun | undefined {
  const on = ledgerEnabled({
    env: options.env,
    settings: options.settings,
    settingsFile: join(options.home, "settings.json"),
    noLedger: options.noLedger,
  });
  return on ? new LedgerRun({ home: options.home, warn: options.warn }) : undefined;
}

/** The fields of the run row that come from its workflow file (its hash comes with the end of the run). */
function workflowFields(home: string, loaded: LoadedWorkflow, workflowName: string) {
  const file = resolve(loaded.file);
  const saved = dirname(file) === resolve(workflowsDir(home)) ? basename(file).replace(/\.json$/, "") : null;
  return { workflowName, workflowFile: file, workflowHash: null, savedName: saved };
}

/**
 * Records the start of a workflow run (one inbox line; a workflow that calls
 * models loads the database code meanwhile). A planned run began when its
 * planning did: its row learns the workflow now. Returns the workflow's
 * content hash, computed meanwhile (for {@link finishRunLedger}).
 */
export function beginRunLedger(
  ledger: LedgerRun | undefined,
  run: {
    home: string;
    loaded: LoadedWorkflow;
    executionId: string;
    workflowName: string;
    startedMs: number;
    traceId: string | undefined;
    callsModels: boolean;
  },
): Promise<string> | undefined {
  if (ledger === undefined) return undefined;
  const hash = contentHash(run.loaded.text);
  const fields = workflowFields(run.home, run.loaded, run.workflowName);
  if (ledger.begun) {
    ledger.describe(fields);
    return hash;
  }
  ledger.begin({
    executionId: run.executionId,
    traceId: run.traceId ?? null,
    kind: "workflow",
    ...fields,
    startedMs: run.startedMs,
    pflowVersion: VERSION,
  }, { preload: run.callsModels });
  return hash;
}

/**
 * Records the run's node executions: timed, from its node totals, when it timed them for the ledger; else
 * the counts every run keeps per node, by type, with the node that threw (it never completed, so it is
 * not among the counts; a node the loop guard stopped never ran).
 */
function recordNodeExecutions(
  ledger: LedgerRun,
  run: { compiled: CompiledWorkflow; result: WorkflowResult; totals: NodeTotals | undefined },
): void {
  const { compiled, result } = run;
  const timed = run.totals?.durationStats() ?? [];
  if (timed.length > 0) return ledger.recordNodes(timed);
  for (const [id, { success, error }] of result.completions) {
    const type = compiled.nodes.get(id)!.type;
    if (success > 0) ledger.recordNode(type, "success", success);
    if (error > 0) ledger.recordNode(type, "error", error);
  }
  const failed = result.error?.node_id ? compiled.nodes.get(result.error.node_id) : undefined;
  if (
    failed !== undefined && result.error!.type !== "ErrorAction" && result.error!.type !== "NodeExecutionLimitError"
  ) {
    ledger.recordNode(failed.type, result.status === "interrupted" ? "interrupted" : "error", 1);
  }
}

/** What the ledger keeps of a planning: its path, trace and wall time. */
function plannerFields(prior: PriorPhase | undefined) {
  if (prior === undefined) return {};
  const path = prior.summaryInput.extra.path;
  return {
    kind: "planned" as const,
    plannerPath: typeof path === "string" ? path : null,
    plannerTraceFile: prior.tracePath ?? null,
    durationPlannerMs: Math.round(prior.durationMs * 100) / 100,
  };
}

/** Records the start of a planned run, before planning (its workflow is not known yet). */
export function beginPlannedLedger(
  ledger: LedgerRun | undefined,
  run: { executionId: string; startedMs: number; traceId: string | undefined },
): void {
  ledger?.begin({
    executionId: run.executionId,
    traceId: run.traceId ?? null,
    kind: "planned",
    workflowName: PLANNING,
    workflowFile: null,
    workflowHash: null,
    savedName: null,
    startedMs: run.startedMs,
    pflowVersion: VERSION,
  }, { preload: true });
}

/** The workflow name of a planned run whose planning produced none. */
export const PLANNING = "(planning)";

/** Records how a planning that ended the command went (failed, interrupted, missing inputs, dry run). */
export async function finishPlanningLedger(
  ledger: LedgerRun | undefined,
  outcome: {
    status: "success" | "failed" | "interrupted" | "budget_exceeded";
    subtype: string;
    durationMs: number;
    prior: PriorPhase;
    workflowName: string | null;
    summary: RunSummary;
  },
): Promise<number> {
  const endedMs = Date.now();
  if (ledger === undefined) return endedMs;
  await ledger.finish({
    ...plannerFields(outcome.prior),
    ...(outcome.workflowName !== null ? { workflowName: outcome.workflowName } : {}),
    status: outcome.status,
    subtype: outcome.subtype,
    endedMs,
    durationMs: Math.round(outcome.durationMs * 100) / 100,
    nodesExecuted: 0,
    traceFile: null,
    priceVersion: outcome.summary.pricing.version,
    priceSource: outcome.summary.pricing.source,
    pricingComplete: outcome.summary.pricing.source === null ? null : outcome.summary.pricing.complete,
  });
  return endedMs;
}

/** Records how the run ended (after the result is printed); returns the end time it recorded. */
export async function finishRunLedger(
  ledger: LedgerRun | undefined,
  outcome: {
    result: WorkflowResult;
    summary: RunSummary;
    durationMs: number;
    tracePath: string | undefined;
    prior?: PriorPhase;
    /** The workflow file's content hash, from {@link beginRunLedger}. */
    workflowHash: Promise<string> | undefined;
    /** The compiled workflow, and its node totals when the run was instrumented: the node executions recorded. */
    nodes?: { compiled: CompiledWorkflow; totals: NodeTotals | undefined };
  },
): Promise<number> {
  const endedMs = Date.now();
  if (ledger === undefined) return endedMs;
  const { result, summary } = outcome;
  if (outcome.nodes !== undefined) recordNodeExecutions(ledger, { ...outcome.nodes, result });
  await ledger.finish({
    ...plannerFields(outcome.prior),
    workflowHash: await outcome.workflowHash ?? null,
    status: result.status,
    subtype: SUBTYPES[result.status],
    endedMs,
    durationMs: Math.round(outcome.durationMs * 100) / 100,
    nodesExecuted: result.nodes_executed,
    traceFile: outcome.tracePath ?? null,
    priceVersion: summary.pricing.version,
    priceSource: summary.pricing.source,
    pricingComplete: summary.pricing.source === null ? null : summary.pricing.complete,
  });
  return endedMs;
}
