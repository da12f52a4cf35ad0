/**
 * Text-mode results: the outputs on stdout, or the one `--output-key` names.
 * @module
 */
import type { LoadedWorkflow } from "../workflow/load.ts";
import type { NodeRegistry } from "../workflow/registry.ts";
import { fallbackOutputKey, type WorkflowResult } from "../workflow/run.ts";
import { errorHandledNodes, nodeOutputs } from "../workflow/validate.ts";
import type { NodeIR } from "../workflow/ir.ts";
import { didYouMean } from "../workflow/errors.ts";
import { formatPath, lookup, parseTemplate, type TemplateRef, UnresolvedTemplateError } from "../workflow/template.ts";
import { UsageError } from "./usage_error.ts";
import { redactCredentials } from "../observability/redact.ts";
import { MAX_NESTING_DEPTH, TOO_DEEP, valueNestedBeyond } from "../util/json_depth.ts";

/**
 * Checks an `--output-key` before the run, so a key that can never resolve
 * is a usage error (exit 2) while nothing has run. It resolves as the run
 * resolves it ({@link selectOutput}): a declared output, an input, `stdin`
 * or a key given for a workflow that declares no inputs; with namespacing
 * on, a store path `node.key` whose node writes `key` (its type's outputs,
 * a batch node's, `error` with an `error` edge) and, without declared
 * outputs, the name of the output printed when a node runs last; with
 * namespacing off, any node's output name (they live at the root).
 */
export function checkOutputKey(
  key: string,
  loaded: LoadedWorkflow,
  registry: NodeRegistry,
  given: Record<string, unknown> = {},
): void {
  const ref = outputKeyRef(key);
  const ir = loaded.ir;
  const declared = Object.keys(ir.outputs ?? {});
  const head = ref.segments[0] as string;
  const inputs = Object.keys(ir.inputs ?? {});
  const namespacing = ir.enable_namespacing ?? true;
  const nodes = ir.nodes;
  const errorHandled = errorHandledNodes(ir.edges ?? []);
  const outputsOf = (node: NodeIR) => nodeOutputs(node, registry, errorHandled);
  const writesAny = (node: NodeIR) => Object.keys(registry.get(node.type)?.spec.outputs ?? {}).length === 0;
  // At the root of the store: inputs, stdin, keys given to a workflow without inputs, declared outputs.
  const freeKeys = inputs.length === 0 ? Object.keys(given) : [];
  if (declared.includes(key) || inputs.includes(head) || head === "stdin" || freeKeys.includes(head)) return;
  const node = nodes.find((n) => n.id === head);
  if (namespacing && node !== undefined) {
    if (ref.segments.length === 1) return; // the node's whole namespace
    const outputs = outputsOf(node);
    if (outputs.includes(String(ref.segments[1])) || (!node.batch && writesAny(node))) return;
    throw new UsageError(
      `--output-key '${key}': node '${head}' has no output '${ref.segments[1]}'` +
        `${didYouMean(String(ref.segments[1]), outputs)}; outputs: ${outputs.join(", ")}`,
      "run",
    );
  }
  // A declared output is written to the root too (under namespacing, unless it is named like a node).
  if (declared.includes(head)) return;
  if (!namespacing) {
    if (nodes.some((n) => outputsOf(n).includes(head) || (!n.batch && writesAny(n)))) return;
    if (node !== undefined) {
      const rest = formatPath(ref.segments.slice(1));
      throw new UsageError(
        `--output-key '${key}': namespacing is off, so node outputs live at the root; ` +
          (rest === "" ? `use an output name` : `use '${rest}'`),
        "run",
      );
    }
  } else if (declared.length === 0 && ref.segments.length === 1) {
    // The output printed without declared outputs: the first output of the node that ran last.
    const printed = nodes.flatMap((n) => {
      const spec = registry.get(n.type)?.spec;
      const name = spec && fallbackOutputKey(n, spec);
      return name === undefined ? [] : [name];
    });
    if (printed.includes(head)) return;
  }
  const hint = declared.length > 0
    ? `outputs: ${declared.join(", ")}`
    : namespacing
    ? "use an output name or a store path like node.key"
    : "use an output name";
  // Under namespacing, a node's output is read under the node's id.
  const under = namespacing ? nodes.filter((n) => outputsOf(n).includes(head)).map((n) => `'${n.id}.${key}'`) : [];
  const suggestion = under.length > 0 ? ` (did you mean ${under.slice(0, 3).join(" or ")}?)` : "";
  throw new UsageError(`--output-key '${key}' is not an output of this workflow${suggestion}; ${hint}`, "run");
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

/** An `--output-key` that the run did not produce (exit 1). */
export class OutputNotProducedError extends Error {
  /**
   * @param key the `--output-key`
   * @param reason why it has no value
   */
  constructor(key: string, reason: string) {
    super(`--output-key '${key}' was not produced by this run: ${reason}`);
    this.name = "OutputNotProducedError";
  }
}

/**
 * An output (or `--output-key` store path) nested too deep to print: every
 * walk of a result (redaction, JSON) would overflow the stack (exit 1).
 */
export class OutputTooDeepError extends Error {
  /** @param what `output 'NAME'` or `--output-key 'KEY'` */
  constructor(what: string) {
    super(
      `${what} is ${TOO_DEEP}, too deep to print; flatten it, or output the text it was parsed from ` +
        "(e.g. ${node.stdout})",
    );
    this.name = "OutputTooDeepError";
  }
}

/**
 * The result with every output nested deeper than {@link MAX_NESTING_DEPTH}
 * set to null. A successful run that would print one (every output, or the
 * one `--output-key` names) then fails with an {@link OutputTooDeepError}
 * naming them; a run that failed already keeps its error (`warn` hears it).
 */
export function withoutTooDeepOutputs(
  result: WorkflowResult,
  outputKey: string | undefined,
  warn: (message: string) => void,
): WorkflowResult {
  const deep = Object.keys(result.outputs).filter((name) => valueNestedBeyond(result.outputs[name], MAX_NESTING_DEPTH));
  if (deep.length === 0) return result;
  const outputs = { ...result.outputs };
  for (const name of deep) outputs[name] = null;
  const printed = result.status !== "success" || outputKey === undefined ? deep : deep.filter((n) => n === outputKey);
  if (printed.length === 0) return { ...result, outputs };
  const error = new OutputTooDeepError(
    printed.length === 1 ? `output '${printed[0]}'` : `outputs ${printed.map((n) => `'${n}'`).join(", ")}`,
  );
  if (result.status !== "success") {
    warn(error.message);
    return { ...result, outputs };
  }
  return { ...result, outputs, status: "failed", error: { message: error.message, node_id: null, type: error.name } };
}

/**
 * The value `--output-key KEY` selects from a successful run: a declared
 * output, else a store path. Throws {@link OutputNotProducedError} for a
 * declared output whose source did not resolve and for a path the run did
 * not produce — the same for `-o h` and `-o h.output` — and
 * {@link OutputTooDeepError} for a store path nested too deep to print.
 */
export function selectOutput(result: WorkflowResult, key: string): unknown {
  if (Object.hasOwn(result.outputs, key)) {
    const reason = result.unresolved_outputs?.[key];
    if (reason !== undefined) throw new OutputNotProducedError(key, reason);
    return result.outputs[key];
  }
  try {
    // A store path's value is printed as a result is: without credentials (the last name counts too).
    const ref = outputKeyRef(key);
    const last = ref.segments[ref.segments.length - 1];
    const value = lookup(ref, { root: result.shared });
    if (valueNestedBeyond(value, MAX_NESTING_DEPTH)) throw new OutputTooDeepError(`--output-key '${key}'`);
    return redactCredentials(value, { name: typeof last === "string" ? last : undefined, limit: 0 }).value;
  } catch (error) {
    if (!(error instanceof UnresolvedTemplateError)) throw error;
    throw new OutputNotProducedError(key, error.message);
  }
}

/** Text-mode stdout: one output raw, several as a JSON object, or the `--output-key` value. */
export function formatOutputs(result: WorkflowResult, outputKey: string | undefined): string {
  let value: unknown;
  if (outputKey !== undefined) {
    value = selectOutput(result, outputKey);
  } else {
    const entries = Object.entries(result.outputs);
    if (entries.length === 0) return "";
    value = entries.length === 1 ? entries[0][1] : result.outputs;
  }
  const text = typeof value === "string" ? value : JSON.stringify(value, null, 2);
  return text.endsWith("\n") || text === "" ? text : `${text}\n`;
}
