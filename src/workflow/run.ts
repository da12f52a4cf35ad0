/**
 * Running a compiled workflow: inputs into the root store, the flow, the
 * declared outputs out, and failures turned into one clear error.
 * @module
 */
import {
  type BaseNode,
  failedNodeOf,
  type FlowObserver,
  InterruptedError,
  type ObservedContext,
  type Shared,
} from "../engine/mod.ts";
import { type CompiledWorkflow, describeErrorOutputs, errorOutputsOf } from "./compiler.ts";
import { type CountingContext, UnhandledErrorAction } from "./walk.ts";
import {
  type LoopCountingContext,
  type NamespaceContext,
  NodeExecutionLimitError,
  ParamResolutionError,
} from "./layers.ts";
import { templateRefs, UnresolvedTemplateError } from "./template.ts";
import { BudgetExceededError, RunTelemetry } from "../observability/telemetry.ts";
import { telemetryContext } from "../observability/instrument.ts";
import { type Problem, ValidationError } from "./errors.ts";
import { DEFAULT_MAX_NODE_EXECUTIONS, type InputIR, STDIN_INPUT_MESSAGE, STDIN_NAME, type WorkflowIR } from "./ir.ts";
import { inputValueFits } from "./validate.ts";
import type { NodeSpec } from "../nodes/spec.ts";
import { shownInputValue, typedInputText, type TypedText } from "./input_text.ts";
import { isSecretName } from "../observability/redact.ts";

/** How a run ended. */
export type RunStatus = "success" | "failed" | "interrupted" | "budget_exceeded";

/** The error of a failed run. */
export interface RunError {
  /** One line: what failed and why. */
  message: string;
  /** The failing node, or null for run-level errors. */
  node_id: string | null;
  /** Error kind, e.g. `NodeError`, `TemplateError`, `ErrorAction`. */
  type: string;
}

/** What a run produced. */
export interface WorkflowResult {
  /** How it ended. */
  status: RunStatus;
  /** Declared outputs (or the fallback output), by name. */
  outputs: Record<string, unknown>;
  /** Set when status is not `success`. */
  error: RunError | null;
  /** The shared store at the end. */
  shared: Shared;
  /** Wall time of the run in ms. */
  duration_ms: number;
  /** What was thrown, when the run failed by an exception (for `--verbose`). */
  cause?: unknown;
  /** Node executions completed or failed (counted in every mode). */
  nodes_executed: number;
  /**
   * Completed executions by node id, for the nodes that completed at least once (counted in every
   * mode; the map is built when first asked for).
   */
  readonly completions: Map<string, NodeCompletions>;
  /** Declared outputs whose source could not be resolved (they are `null` in `outputs`), with why. */
  unresolved_outputs?: Record<string, string>;
  /** The run's telemetry: LLM calls always, node timings when instrumented. */
  telemetry: RunTelemetry;
}

/** How often one node's executions completed: returning `error`, and returning anything else. */
export interface NodeCompletions {
  /** Executions that returned an action other than `error`. */
  success: number;
  /** Executions that returned `error`. */
  error: number;
}

/** Options of {@link runWorkflow}. */
export interface RunOptions {
  /**
   * Input values by name, already typed (`resolveInputs` is applied: defaults fill what is not given, and a
   * missing or mistyped input throws `ValidationError`); names no input declares join the root store as given, but a
   * node's id (while namespacing is on: the node's outputs go there) throws `ValidationError` too.
   */
  inputs?: Record<string, unknown>;
  /** Piped stdin, when read: `${stdin}` and inputs marked `stdin` (an `inputs.stdin` too throws `ValidationError`). */
  stdin?: string;
  /** How messages about a missing input say to give it (default {@link LIBRARY_INPUT_WORDING}). */
  inputWording?: InputWording;
  /** Interrupts the run. */
  signal?: AbortSignal;
  /** Warning sink (default: stderr). */
  warn?: (message: string) => void;
  /** Hooks around each node (progress display). */
  observer?: FlowObserver;
  /** Extra fields for the run context (env, settings). */
  context?: Record<string, unknown>;
  /** Telemetry for this run; by default one that only keeps LLM usage. */
  telemetry?: RunTelemetry;
  /** Called with the initial store (inputs, stdin) right before the first node. */
  onStart?: (shared: Shared) => void;
  /**
   * Executions allowed per node (a loop guard); default: the workflow's
   * `limits.max_node_executions`, else {@link DEFAULT_MAX_NODE_EXECUTIONS}.
   * The error of a run that reaches a limit given here names it as the
   * CLI's `--max-node-executions`. A positive whole number: anything else
   * (NaN, 0, 1.5) throws a RangeError before the run starts.
   */
  maxNodeExecutions?: number;
}

/** How a message about a missing input tells the caller to give it: worded for the library or the CLI. */
export interface InputWording {
  /** How to give input `name`, e.g. `set inputs.name`. */
  give(name: string): string;
  /** How to give an input that may come from stdin, added after {@link InputWording.give}. */
  stdin: string;
  /** How a given value named `name` is named, e.g. `inputs.name` (the default). */
  given?(name: string): string;
}

/** The library's wording: the `inputs` and `stdin` options of {@link runWorkflow}. */
export const LIBRARY_INPUT_WORDING: InputWording = {
  give: (name) => `set inputs.${name}`,
  stdin: "or options.stdin",
  given: (name) => `inputs.${name}`,
};

/**
 * `value` when it is a usable execution limit (a positive safe integer) or
 * undefined; anything else throws before the run starts (NaN would turn the
 * loop guard off, 0 or -1 would stop every node with a nonsense count).
 */
function executionLimit(value: unknown, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "number") {
    throw new TypeError(`runWorkflow: ${name} must be a number (a positive whole number), got ${typeof value}`);
  }
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(
      `runWorkflow: ${name} must be a positive whole number at most ${Number.MAX_SAFE_INTEGER} (2^53-1), got ${value}`,
    );
  }
  return value;
}

/**
 * Checks given inputs against the declared ones and applies defaults.
 * Throws {@link ValidationError} listing missing or mistyped inputs.
 */
export function resolveInputs(
  ir: WorkflowIR,
  given: Record<string, unknown>,
  options: { stdin?: string; wording?: InputWording } = {},
): Record<string, unknown> {
  const wording = options.wording ?? LIBRARY_INPUT_WORDING;
  const declared = ir.inputs ?? {};
  const values: Record<string, unknown> = {};
  const problems: Problem[] = [];
  for (const [name, input] of Object.entries(declared)) {
    // Piped stdin would overwrite it (`pflow validate` says so too; the library may not have validated).
    if (name === STDIN_NAME) {
      problems.push({ pointer: `/inputs/${name}`, message: STDIN_INPUT_MESSAGE });
      continue;
    }
    let value = Object.hasOwn(given, name) ? given[name] : undefined;
    if (value === undefined && input.stdin && options.stdin !== undefined) {
      const typed = typedStdin(input, options.stdin, { secret: isSecretName(name) });
      if (!typed.ok) {
        problems.push({
          pointer: `/inputs/${name}`,
          message: `input '${name}' ${typed.problem}, got ${
            shownInputValue(name, options.stdin, { json: true })
          } (from stdin)`,
        });
        continue;
      }
      value = typed.value;
    }
    if (value === undefined) value = input.default;
    if (value === undefined) {
      // An optional input stdin did not fill, that a node reads: the run would fail at that node, after the
      // nodes before it ran.
      const reader = input.stdin && input.required === false ? nodeReading(ir, name) : undefined;
      if (reader !== undefined) {
        problems.push({
          pointer: `/inputs/${name}`,
          message: `input '${name}' has no value: nothing was piped to stdin to fill it and it has no default, ` +
            `but node '${reader}' reads it; ${wording.give(name)} ${wording.stdin}, or give the input a "default"`,
        });
      }
      if (input.required !== false) {
        const hint = input.stdin ? ` ${wording.stdin}` : "";
        problems.push({
          pointer: `/inputs/${name}`,
          message: `missing required input '${name}'${input.description ? ` (${input.description})` : ""}: ${
            wording.give(name)
          }${hint}`,
        });
      }
      continue;
    }
    if (!inputValueFits(input, value)) {
      problems.push({
        pointer: `/inputs/${name}`,
        message: `input '${name}' must be ${input.type}, got ${shownInputValue(name, value, { json: true })}`,
      });
      continue;
    }
    values[name] = value;
  }
  // Extra keys join the root store, where with namespacing on each node's outputs go under its id.
  const ids = ir.enable_namespacing === false
    ? undefined
    : new Set((Array.isArray(ir.nodes) ? ir.nodes : []).map((node) => node?.id));
  const nodes = Array.isArray(ir.nodes) ? ir.nodes : [];
  for (const name of Object.keys(given)) {
    if (Object.hasOwn(declared, name)) continue;
    const hiding = nodes.find((node) => node?.batch !== undefined && (node.batch.as ?? "item") === name);
    if (hiding !== undefined) {
      problems.push({
        pointer: `/inputs/${name}`,
        message: `${(wording.given ?? LIBRARY_INPUT_WORDING.given!)(name)} was given, but node '${hiding.id}' ` +
          `names its batch item '${name}': \${${name}} would read the item there; give the value another name`,
      });
      continue;
    }
    if (ids?.has(name)) {
      problems.push({
        pointer: `/inputs/${name}`,
        message: `${(wording.given ?? LIBRARY_INPUT_WORDING.given!)(name)} was given, but '${name}' is a node's id: ` +
          `the value and the node's outputs would share one name; give the value another name (or rename the node)`,
      });
      continue;
    }
    values[name] = given[name];
  }
  if (problems.length > 0) throw new ValidationError(problems);
  return values;
}

/** The first node whose params or batch items read `${name}` (as a template's first name), or undefined. */
function nodeReading(ir: WorkflowIR, name: string): string | undefined {
  for (const node of Array.isArray(ir.nodes) ? ir.nodes : []) {
    try {
      for (const { ref } of templateRefs([node?.params, node?.batch?.items])) {
        if (ref.segments[0] === name) return node.id;
      }
    } catch { /* a template syntax error: validation reports it */ }
  }
  return undefined;
}

/**
 * The problem of a run given a value named `stdin` (a key no input declares) and piped stdin too, which
 * would overwrite it; undefined when no such value was given. Call it only once stdin was piped.
 */
export function stdinGivenTwice(given: Record<string, unknown>, wording?: InputWording): Problem | undefined {
  if (!Object.hasOwn(given, STDIN_NAME)) return undefined;
  return {
    message: `${(wording?.given ?? LIBRARY_INPUT_WORDING.given!)(STDIN_NAME)} was given, and stdin was piped too: ` +
      `both would be \${stdin}; give only one`,
  };
}

/**
 * Piped text as a value of `input`'s type, as `key=value` text is typed
 * ({@link typedInputText}), but a number, integer or boolean from the text
 * without its surrounding white space (`echo 5` ends in a newline), and an
 * untyped input's text stays text.
 */
function typedStdin(input: InputIR, text: string, options: { secret: boolean }): TypedText {
  const type = input.type;
  if (type === undefined || type === "any") return { ok: true, value: text };
  const trimmed = type === "number" || type === "integer" || type === "boolean";
  return typedInputText(trimmed ? text.trim() : text, type, options);
}

/**
 * Runs the workflow to the end, a failure, or an interrupt. Never throws for
 * node failures. The inputs are checked and completed as the CLI does
 * ({@link resolveInputs}: declared defaults, `stdin` inputs from
 * `options.stdin`, types); inputs that do not fit throw
 * {@link ValidationError} before anything runs.
 */
export async function runWorkflow(compiled: CompiledWorkflow, options: RunOptions = {}): Promise<WorkflowResult> {
  const started = performance.now();
  const maxNodeExecutions = executionLimit(options.maxNodeExecutions, "maxNodeExecutions") ??
    executionLimit(compiled.ir.limits?.max_node_executions, "the workflow's limits.max_node_executions") ??
    DEFAULT_MAX_NODE_EXECUTIONS;
  const shared: Shared = resolveInputs(compiled.ir, options.inputs ?? {}, {
    stdin: options.stdin,
    wording: options.inputWording,
  });
  if (options.stdin !== undefined) {
    const twice = stdinGivenTwice(options.inputs ?? {}, options.inputWording);
    if (twice !== undefined) throw new ValidationError([twice]);
    shared.stdin = options.stdin;
  }
  const signal = options.signal ?? new AbortController().signal;
  const warn = options.warn ?? ((m: string) => console.error(`warning: ${m}`));
  const telemetry = options.telemetry ?? new RunTelemetry({ warn });
  // Model calls, phase marks and template resolutions are attributed (to nodes and batch items) through
  // async context; a run with none of them does without.
  const carried = compiled.callsModels || telemetry.phases || telemetry.onTemplate !== undefined;
  const ctx: ObservedContext & CountingContext & LoopCountingContext & NamespaceContext = {
    ...options.context,
    ...telemetryContext(telemetry, { carried }),
    signal,
    warn,
    observer: options.observer,
    nodesRun: 0,
    lastNode: undefined,
    completionCounts: new Uint32Array(2 * compiled.nodes.size),
    namespaceRoot: undefined,
    takenNamespaces: undefined,
    freshNamespace: undefined,
    executions: new Map(),
    maxNodeExecutions,
    maxNodeExecutionsGiven: options.maxNodeExecutions !== undefined,
  };
  let status: RunStatus = "success";
  let error: RunError | null = null;
  let outputs: Record<string, unknown> = {};
  const unresolved: Record<string, string> = {};
  let cause: unknown;
  try {
    // A plain run whose nodes never call models has nothing to keep: no scope at all.
    telemetry.begin(started);
    compiled.learnSecrets(shared);
    if (options.onStart !== undefined) {
      options.onStart(shared);
      telemetry.skipToNow();
    }
    const run = () => compiled.flow._run(shared, ctx);
    await (telemetry.instrumented || compiled.callsModels ? telemetry.run(run, { carried }) : run());
    outputs = collectOutputs(compiled, shared, { warn: ctx.warn, unresolved });
    if (compiled.outputs.length === 0) {
      outputs = fallbackOutput(compiled, shared, (ctx as { lastNode?: BaseNode }).lastNode);
    }
  } catch (thrown) {
    ({ status, error } = classifyFailure(compiled, shared, thrown, {
      signal,
      wording: options.inputWording ?? LIBRARY_INPUT_WORDING,
    }));
    cause = thrown;
    // Stopped by the loop guard: the run failed at that node, which did not run again.
    if (thrown instanceof NodeExecutionLimitError) {
      const stopped = compiled.nodes.get(thrown.nodeId);
      if (stopped !== undefined) telemetry.nodeStopped(stopped.ordinal);
    }
  }
  // A node that threw never reached the count; one that returned `error` did, and one the guard stopped never ran.
  const thrownByNode = error?.node_id && !(cause instanceof UnhandledErrorAction) &&
    !(cause instanceof NodeExecutionLimitError);
  const nodesExecuted = ctx.nodesRun + (thrownByNode ? 1 : 0);
  const counts = ctx.completionCounts;
  let byId: Map<string, NodeCompletions> | undefined;
  return {
    status,
    outputs,
    error,
    shared,
    duration_ms: performance.now() - started,
    cause,
    nodes_executed: nodesExecuted,
    get completions() {
      return byId ??= completionsById(compiled, counts);
    },
    ...(Object.keys(unresolved).length > 0 ? { unresolved_outputs: unresolved } : {}),
    telemetry,
  };
}

/** The per-node counts of {@link CountingContext.completionCounts}, by node id. */
function completionsById(compiled: CompiledWorkflow, counts: Uint32Array): Map<string, NodeCompletions> {
  const byId = new Map<string, NodeCompletions>();
  for (const { id, ordinal } of compiled.nodes.values()) {
    const [error, success] = [counts[2 * ordinal + 1], counts[2 * ordinal]];
    if (error + success > 0) byId.set(id, { success, error });
  }
  return byId;
}

function classifyFailure(
  compiled: CompiledWorkflow,
  shared: Shared,
  thrown: unknown,
  options: { signal: AbortSignal; wording: InputWording },
): { status: RunStatus; error: RunError } {
  const { signal, wording } = options;
  const wired = thrown instanceof UnhandledErrorAction ? thrown.node : failedNodeOf(thrown);
  const nodeId = thrown instanceof NodeExecutionLimitError
    ? thrown.nodeId
    : wired
    ? compiled.idOf(wired) ?? null
    : null;
  if (thrown instanceof BudgetExceededError) {
    return { status: "budget_exceeded", error: { message: thrown.message, node_id: nodeId, type: thrown.name } };
  }
  if (signal.aborted || thrown instanceof InterruptedError || (thrown as Error)?.name === "AbortError") {
    // The CLI aborts with the signal's name ("interrupted by SIGHUP").
    const message = signal.reason instanceof InterruptedError ? signal.reason.message : "interrupted";
    return { status: "interrupted", error: { message, node_id: nodeId, type: "Interrupted" } };
  }
  if (thrown instanceof UnhandledErrorAction) {
    const node = nodeId === null ? undefined : compiled.nodes.get(nodeId);
    const written = node === undefined ? {} : errorOutputsOf(shared, node.id, node.spec, compiled.namespacing);
    const reason = describeErrorOutputs(written);
    return { status: "failed", error: { message: reason, node_id: nodeId, type: "ErrorAction" } };
  }
  const err = thrown instanceof Error ? thrown : new Error(String(thrown));
  const message = missingInputMessage(compiled, shared, err, wording) ?? err.message;
  return { status: "failed", error: { message, node_id: nodeId, type: err.name } };
}

/**
 * For a template that names a declared input the run was not given (an
 * optional input without a default): says so and how to give it, instead of
 * listing what the store holds.
 */
function missingInputMessage(
  compiled: CompiledWorkflow,
  shared: Shared,
  error: Error,
  wording: InputWording,
): string | undefined {
  const unresolved = error instanceof ParamResolutionError ? error.cause : error;
  if (!(unresolved instanceof UnresolvedTemplateError)) return undefined;
  const head = unresolved.ref.segments[0];
  const inputs = compiled.ir.inputs ?? {};
  if (typeof head !== "string" || !Object.hasOwn(inputs, head) || Object.hasOwn(shared, head)) return undefined;
  const where = error instanceof ParamResolutionError ? `param '${error.param}': ` : "";
  return `${where}cannot resolve ${unresolved.ref.source}: input '${head}' was not given and has no default; ` +
    `${wording.give(head)} or give the input a "default"`;
}

/**
 * The output a workflow without declared outputs gives when `node` ran last: a batch node's `results`, else
 * the first its type declares (none for a type that declares none).
 */
export function fallbackOutputKey(node: { batch?: unknown }, spec: NodeSpec): string | undefined {
  return node.batch ? "results" : Object.keys(spec.outputs)[0];
}

/**
 * Without declared outputs, the result is the last-run node's first declared
 * output (e.g. a shell node's `stdout`), so a bare workflow still shows something.
 */
function fallbackOutput(
  compiled: CompiledWorkflow,
  shared: Shared,
  last: BaseNode | undefined,
): Record<string, unknown> {
  const id = last && compiled.idOf(last);
  if (id === undefined) return {};
  const node = compiled.nodes.get(id)!;
  const key = fallbackOutputKey(node.ir, node.spec);
  const written = (compiled.namespacing ? shared[id] : shared) as Record<string, unknown> | undefined;
  if (key === undefined || written?.[key] === undefined) return {};
  return { [key]: written[key] };
}

/**
 * Resolves declared outputs into the root store (an output named like a node
 * leaves the node's namespace in place); one that cannot be resolved is
 * `null`, with a warning and its reason in `unresolved`. Every output is
 * read from the store as the run left it: all are resolved before any is
 * written, so an output named like an input does not change what a later
 * `${input}` output reads.
 */
function collectOutputs(
  compiled: CompiledWorkflow,
  shared: Shared,
  options: { warn: (m: string) => void; unresolved: Record<string, string> },
): Record<string, unknown> {
  const outputs: Record<string, unknown> = {};
  for (const output of compiled.outputs) {
    try {
      outputs[output.name] = output.resolve ? output.resolve({ root: shared, warn: options.warn }) : output.source;
    } catch (error) {
      options.warn(`output '${output.name}': ${(error as Error).message}`);
      options.unresolved[output.name] = (error as Error).message;
      outputs[output.name] = null;
    }
  }
  for (const output of compiled.outputs) {
    if (Object.hasOwn(options.unresolved, output.name)) continue;
    if (!(compiled.namespacing && compiled.nodes.has(output.name))) shared[output.name] = outputs[output.name];
  }
  return outputs;
}
