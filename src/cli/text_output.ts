/**
 * Text-mode results: the outputs on stdout, or the one `--output-key` names.
 * @module
 */
import type { LoadedWorkflow } from "../workflow/load.ts";
import type { WorkflowResult } from "../workflow/run.ts";
import { lookup, parseTemplate, type TemplateRef, UnresolvedTemplateError } from "../workflow/template.ts";
import { UsageError } from "./usage_error.ts";

/** Checks an `--output-key` before the run: a declared output or a store path like `node.key`. */
export function checkOutputKey(key: string, loaded: LoadedWorkflow): void {
  outputKeyRef(key);
  const declared = Object.keys(loaded.ir.outputs ?? {});
  if (declared.length === 0 || declared.includes(key) || key.includes(".")) return;
  throw new UsageError(
    `--output-key '${key}' is not an output of this workflow; outputs: ${declared.join(", ")}`,
    "run",
  );
}

/** The store reference an `--output-key` names; a usage error when it is not a path. */
function outputKeyRef(key: string): TemplateRef {
  let parts: ReturnType<typeof parseTemplate>;
  try {
    parts = parseTemplate(`\${${key}}`);
  } catch {
    parts = [];
  }
  if (parts.length !== 1 || typeof parts[0] === "string") {
    throw new UsageError(`--output-key '${key}' is not an output name or a store path like node.key`, "run");
  }
  return parts[0];
}

/** Text-mode stdout: one output raw, several as a JSON object, or the `--output-key` value. */
export function formatOutputs(result: WorkflowResult, outputKey: string | undefined): string {
  let value: unknown;
  if (outputKey !== undefined) {
    value = Object.hasOwn(result.outputs, outputKey) ? result.outputs[outputKey] : lookupOutputKey(outputKey, result);
  } else {
    const entries = Object.entries(result.outputs);
    if (entries.length === 0) return "";
    value = entries.length === 1 ? entries[0][1] : result.outputs;
  }
  const text = typeof value === "string" ? value : JSON.stringify(value, null, 2);
  return text.endsWith("\n") || text === "" ? text : `${text}\n`;
}

/** Resolves an `--output-key` store path after the run; a miss is a usage error (exit 2), not a failed run. */
function lookupOutputKey(key: string, result: WorkflowResult): unknown {
  try {
    return lookup(outputKeyRef(key), { root: result.shared });
  } catch (error) {
    if (!(error instanceof UnresolvedTemplateError)) throw error;
    const outputs = Object.keys(result.outputs);
    const hint = outputs.length > 0 ? `; outputs: ${outputs.join(", ")}` : "";
    throw new UsageError(`--output-key '${key}': ${error.message}${hint}`, "run");
  }
}
