/**
 * The JSON result document (`--output-format json`): one document on
 * stdout, shaped like Claude Code's result so `jq` habits transfer.
 * @module
 */
import type { RunError, RunStatus, WorkflowResult } from "../workflow/run.ts";
import type { Problem } from "../workflow/errors.ts";

/** `subtype` values. */
export type ResultSubtype = "success" | "error_during_execution" | "error_interrupted" | "error_validation";

/** The document. Later telemetry adds fields; these are always present. */
export interface ResultDocument {
  type: "result";
  subtype: ResultSubtype;
  is_error: boolean;
  result: Record<string, unknown> | null;
  error: (RunError & { problems?: Problem[] }) | null;
  execution_id: string;
  workflow_name: string | null;
  duration_ms: number;
  [extra: string]: unknown;
}

const SUBTYPES: Record<RunStatus, ResultSubtype> = {
  success: "success",
  failed: "error_during_execution",
  interrupted: "error_interrupted",
};

/** Rounds milliseconds to 2 decimals. */
export function ms2(value: number): number {
  return Math.round(value * 100) / 100;
}

/** The document of a run that started. */
export function runDocument(
  result: WorkflowResult,
  meta: { executionId: string; workflowName: string | null },
): ResultDocument {
  return {
    type: "result",
    subtype: SUBTYPES[result.status],
    is_error: result.status !== "success",
    result: result.outputs,
    error: result.error,
    execution_id: meta.executionId,
    workflow_name: meta.workflowName,
    duration_ms: ms2(result.duration_ms),
  };
}

/** The document of a run that never started (usage or validation error). */
export function validationDocument(
  message: string,
  meta: { executionId: string; workflowName: string | null; problems?: Problem[]; type: string; durationMs: number },
): ResultDocument {
  return {
    type: "result",
    subtype: "error_validation",
    is_error: true,
    result: null,
    error: { message, node_id: null, type: meta.type, ...(meta.problems ? { problems: meta.problems } : {}) },
    execution_id: meta.executionId,
    workflow_name: meta.workflowName,
    duration_ms: ms2(meta.durationMs),
  };
}
