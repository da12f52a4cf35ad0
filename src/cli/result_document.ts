/**
 * The JSON result document (`--output-format json`): one document on
 * stdout with the fields of Claude Code's result (`type`, `subtype`,
 * `is_error`, `duration_ms`, `duration_api_ms`, `num_turns`, `result`,
 * `session_id`, `total_cost_usd`, `usage`) so `jq` habits transfer, `result`
 * being the workflow's outputs (an object, not text), `num_turns` its LLM
 * calls and `session_id` its execution id. The same shape is printed on
 * success, failure, budget stop, interrupt and validation errors.
 * @module
 */
import type { RunError, RunStatus, WorkflowResult } from "../workflow/run.ts";
import type { Problem } from "../workflow/errors.ts";
import { ms2, type RunSummary, summarizeRun } from "../observability/metrics.ts";

/** `subtype` values. */
export type ResultSubtype =
  | "success"
  | "error_during_execution"
  | "error_max_budget_usd"
  | "error_interrupted"
  | "error_validation";

/** The document. */
export interface ResultDocument extends Omit<RunSummary, "metrics"> {
  type: "result";
  subtype: ResultSubtype;
  is_error: boolean;
  result: Record<string, unknown> | null;
  error: (RunError & { problems?: Problem[] }) | null;
  execution_id: string;
  /** Claude Code's name for the run's id: the execution id. */
  session_id: string;
  workflow_name: string | null;
  duration_ms: number;
  duration_planner_ms: number | null;
  /** Claude Code's count of model turns: the LLM calls made (`num_llm_calls`). */
  num_turns: number;
  metrics: { workflow?: Record<string, unknown>; total?: Record<string, unknown> };
  [extra: string]: unknown;
}

/** The `subtype` of a run that ended with `status`. */
export const SUBTYPES: Readonly<Record<RunStatus, ResultSubtype>> = {
  success: "success",
  failed: "error_during_execution",
  budget_exceeded: "error_max_budget_usd",
  interrupted: "error_interrupted",
};

/**
 * The document of a run with its cost and usage summary; `started: false`
 * (interrupted or over budget before the workflow began) makes `result` null.
 */
export function runDocument(
  result: WorkflowResult,
  meta: { executionId: string; workflowName: string | null; summary: RunSummary; totalMs?: number; started?: boolean },
): ResultDocument {
  const { metrics, ...summary } = meta.summary;
  return {
    type: "result",
    subtype: SUBTYPES[result.status],
    is_error: result.status !== "success",
    result: meta.started === false ? null : result.outputs,
    error: result.error,
    execution_id: meta.executionId,
    session_id: meta.executionId,
    workflow_name: meta.workflowName,
    // The whole run: loading, validation and compilation included (the
    // workflow's own execution is metrics.workflow.duration_ms).
    duration_ms: ms2(meta.totalMs ?? result.duration_ms),
    duration_planner_ms: null,
    ...summary,
    num_turns: summary.num_llm_calls,
    metrics: metrics ?? {},
  };
}

/** The document of a run that never started (usage or validation error). */
export function validationDocument(
  message: string,
  meta: { executionId: string; workflowName: string | null; problems?: Problem[]; type: string; durationMs: number },
): ResultDocument {
  const summary = summarizeRun({ calls: [], pricing: undefined, durationMs: 0, nodesExecuted: 0 });
  const { metrics: _none, ...empty } = summary;
  return {
    type: "result",
    subtype: "error_validation",
    is_error: true,
    result: null,
    error: { message, node_id: null, type: meta.type, ...(meta.problems ? { problems: meta.problems } : {}) },
    execution_id: meta.executionId,
    session_id: meta.executionId,
    workflow_name: meta.workflowName,
    duration_ms: ms2(meta.durationMs),
    duration_planner_ms: null,
    ...empty,
    num_turns: 0,
    metrics: {},
  };
}
