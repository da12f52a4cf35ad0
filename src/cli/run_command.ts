/**
 * `pflow run`: load, validate, compile, run, print.
 * @module
 */
import { InterruptedError } from "../engine/mod.ts";
import { BUILTIN_NODES } from "../nodes/mod.ts";
import { compileWorkflow, stdinUse } from "../workflow/compiler.ts";
import { ValidationError } from "../workflow/errors.ts";
import { NodeRegistry } from "../workflow/registry.ts";
import { resolveInputs, type RunOptions, runWorkflow, stdinGivenTwice, type WorkflowResult } from "../workflow/run.ts";
import { type OptionSpec, parseCommand, type Parsed, parseParams } from "./args.ts";
import { showHelp } from "./show_help.ts";
import { loadSettings, pflowHome, settingsFile } from "./home.ts";
import { progressObserver } from "./progress.ts";
import { runDocument, validationDocument } from "./result_document.ts";
import { abortOnSignals, interruptExitCode, interruptSignal } from "./signals.ts";
import { needsStdin, readPipedStdin } from "./stdin.ts";
import { isTerminal, printError, reportStdoutFailure, stderrStyle, type Style, writeStdout } from "./terminal.ts";
import {
  checkOutputKey,
  formatOutputs,
  OutputNotProducedError,
  OutputTooDeepError,
  selectOutput,
  withoutTooDeepOutputs,
} from "./text_output.ts";
import { UsageError } from "./usage_error.ts";
import {
  CLI_INPUT_WORDING,
  loadTarget,
  locatedError,
  noStdinProblem,
  runProblems,
  targetName,
  workflowName,
} from "./workflow_target.ts";
import { summaryLine } from "./summary_line.ts";
import { instrumentNode } from "../observability/instrument.ts";
import { ms2, type PhaseInput, type RunSummary, summarizeRun } from "../observability/metrics.ts";
import { RunTelemetry } from "../observability/telemetry.ts";
import { Logger, type LogLevel, parseLogLevel } from "../observability/log.ts";
import { callsModels as callsModelsClass, tracedOptionsOf } from "../observability/decorators.ts";
import { outputRedactor, redactCredentials, Redactor, setOutputRedactor } from "../observability/redact.ts";
import type { TraceDocument } from "../observability/trace_format.ts";
import { traceSettings } from "./trace_settings.ts";
import { loadPriceTable, type PriceTable } from "../pricing/table.ts";
import { roundUsd } from "../pricing/cost.ts";
import { formatUsd } from "./format.ts";
import type { LoadedWorkflow } from "../workflow/load.ts";
import {
  buildInstruments,
  closeTrace,
  exportCredentials,
  exportEndedRun,
  otlpRequest,
  type TelemetryRequest,
} from "./run_telemetry.ts";
import type { Settings } from "./home.ts";
import { asksVerbose, type CommandEnv, EXIT } from "./command.ts";
import { beginRunLedger, finishRunLedger, runLedger } from "./run_ledger.ts";
import { metricsRequest } from "./run_metrics.ts";
import type { LedgerRun } from "../ledger/mod.ts";

export { type CommandEnv, EXIT } from "./command.ts";

/** Flags of `pflow run` (the planner takes them too). */
export const RUN_FLAGS = {
  "output-key": { type: "string", short: "o" },
  metrics: { type: "boolean" },
  "max-budget-usd": { type: "string" },
  "price-table": { type: "string" },
  trace: { type: "boolean" },
  "otlp-endpoint": { type: "string" },
  "log-format": { type: "string" },
  "max-node-executions": { type: "string" },
  "no-ledger": { type: "boolean" },
  pushgateway: { type: "string" },
} as const;

/** Per-invocation facts every exit path reports. */
export interface Invocation {
  executionId: string;
  workflowName: string | null;
  json: boolean;
  verbose: boolean;
  style: Style;
  started: number;
  logger: Logger;
  /** The run's wall time, fixed by {@link runDuration} when its result is reported. */
  durationMs?: number;
}

/**
 * The run's wall time (ms, 2 decimals), fixed the first time it is asked,
 * when the result is reported: the result, the ledger and the metrics
 * exports all report this one figure, and what comes after the result (the
 * ledger write, the exports) is not part of it.
 */
export function runDuration(run: Invocation): number {
  return run.durationMs ??= ms2(performance.now() - run.started);
}

/** What a command that runs a workflow has once its flags are parsed. */
export interface Session {
  run: Invocation;
  parsed: Parsed;
  env: CommandEnv["env"];
  home: string;
  settings: Settings;
  /** Aborted by SIGINT/SIGTERM. */
  signal: AbortSignal;
  /** The run ledger, unless it is off; a planned run begins it when planning starts. */
  ledger: LedgerRun | undefined;
}

/** The workflow a session runs, and the params given for it. */
export interface RunTarget {
  loaded: LoadedWorkflow;
  /** Typed params. */
  params: Record<string, unknown>;
  /** `key=value` texts from the command line, typed by the workflow's declared inputs (over `params`). */
  paramText?: Record<string, string>;
  /** The planning that produced it, reported with the run. */
  prior?: PriorPhase;
}

/**
 * A phase before the workflow (the planner): its telemetry joins the run's
 * budget, summary, result document and trace id.
 */
export interface PriorPhase {
  /** Wall time of the phase (`duration_planner_ms`). */
  durationMs: number;
  /** Its telemetry: calls and USD spent. */
  telemetry: RunTelemetry;
  /** Its part of the run summary (`metrics.planner`). */
  summaryInput: PhaseInput & { extra: Record<string, unknown> };
  /** Its part of the text summary line, e.g. `planned (generate, 1 call, $0.0042)`. */
  label: string;
  /** The trace id the workflow's trace shares. */
  traceId: string;
  /** The request's root span: the parent of the workflow's run span. */
  requestSpanId: string;
  /** The phase's trace file, when written. */
  tracePath: string | undefined;
  /** The phase's trace (for a joint OTLP export). */
  traceDoc: TraceDocument;
  /** The prices the phase used (the workflow uses the same). */
  pricing: PriceTable;
  /** Extra fields of the result document (e.g. `plan_path`). */
  document: Record<string, unknown>;
  /** Lines for stderr after the result (where the plan went, how to save it). */
  notices: string[];
  /**
   * Reports an invalid or interrupted run that ends before its first node
   * (with the phase's figures, ledger row closed) and returns the exit code;
   * undefined for other errors.
   */
  endedEarly: (error: unknown) => Promise<number | undefined>;
}

/** Runs `pflow run ARGV…`; returns the exit code. */
export function runCommand(argv: string[], { env }: CommandEnv): Promise<number> {
  return runSession(argv, { env, command: "run", flags: RUN_FLAGS }, async (session) => {
    const [target, ...rest] = session.parsed.positionals;
    if (target === undefined) throw new UsageError("missing workflow: pflow run FILE.json [key=value ...]", "run");
    const paramText = parseParams(rest);
    // Until the workflow is read, its name is the one it was asked by (what a file that cannot be read is reported as).
    session.run.workflowName = targetName(target);
    return { loaded: await loadTarget(target, session.home), params: {}, paramText };
  });
}

/**
 * The frame of every command that runs a workflow: signals, logger, flags,
 * settings; then `obtain` finds the workflow (a file, a saved name, or a plan)
 * and it runs, unless `obtain` ended the command itself (it returns the exit
 * code). Interrupts, usage and validation errors end in one report.
 */
export async function runSession(
  argv: string[],
  options: { env: CommandEnv["env"]; command: string; flags: OptionSpec },
  obtain: (session: Session) => Promise<RunTarget | number>,
): Promise<number> {
  const { env, command } = options;
  const run: Invocation = {
    executionId: crypto.randomUUID(),
    workflowName: null,
    // Scanned before parsing, so even a flag error in JSON mode gets its JSON document.
    json: argv.includes("--json") || argv.includes("--output-format=json") ||
      argv.some((a, i) => a === "--output-format" && argv[i + 1] === "json"),
    verbose: asksVerbose(argv),
    style: stderrStyle(env),
    started: performance.now(),
    logger: new Logger({ format: "text", level: "warn", write: printError }),
  };
  // Installed first, so that waiting for piped stdin is interruptible too.
  const controller = new AbortController();
  const removeSignals = abortOnSignals(controller, (line) => {
    if (process.stderr.isTTY) run.logger.notice(line);
  });
  try {
    run.logger = makeLogger(argv, env, run.style);
    run.logger.context = { execution_id: run.executionId };
    const parsed = parseCommand(argv, { command, flags: options.flags });
    if (parsed.values.help) return showHelp(command);
    const home = pflowHome(env);
    const settings = await loadSettings(home);
    const ledger = runLedger({
      home,
      env,
      settings,
      noLedger: parsed.values["no-ledger"] === true,
      warn: (message) => run.logger.warn(message),
    });
    const session: Session = { run, parsed, env, home, settings, signal: controller.signal, ledger };
    const target = await obtain(session);
    if (typeof target === "number") return target;
    let prepared: Prepared;
    try {
      prepared = await prepare(target, session);
    } catch (error) {
      // A planned run that ends here still reports what its planning spent.
      const code = await target.prior?.endedEarly(error);
      if (code !== undefined) return code;
      throw error;
    }
    return await execute(prepared, run);
  } catch (error) {
    if (error instanceof InterruptedError) return reportInterrupted(run);
    if (error instanceof ValidationError || error instanceof UsageError) return reportInvalid(error, run);
    throw error;
  } finally {
    removeSignals();
  }
}

/** Runs a prepared workflow, prints the result and exports telemetry; returns the exit code. */
async function execute(prepared: Prepared, run: Invocation): Promise<number> {
  run.logger.info(`run started: ${run.workflowName}`, { workflow_name: run.workflowName });
  const telemetry = prepared.instruments.telemetry;
  // A budget the planning spent: no workflow node runs when the workflow would call a model.
  const spent = prepared.prior !== undefined && prepared.compiled.callsModels && telemetry.budgetSpent;
  const result = spent ? budgetSpent(run, telemetry) : await runWorkflow(prepared.compiled, prepared.options);
  // The budget's message said what was spent when it stopped a call; calls in flight then have finished since.
  if (result.status === "budget_exceeded" && result.error) result.error.message += telemetry.budgetTotalNote();
  const summary = await summarize(result, prepared);
  const trace = closeTrace(prepared.instruments, { result, summary });
  const tracePath = prepared.instruments.trace?.written ? prepared.instruments.trace.file : undefined;
  if (tracePath !== undefined) {
    const partial = prepared.instruments.trace!.partial ? " (partial: a write failed)" : "";
    run.logger.notice(`Workflow trace saved${partial}: ${tracePath}`, { trace_path: tracePath });
  }
  const durationMs = runDuration(run);
  const code = report(result, run, {
    outputKey: prepared.outputKey,
    summary,
    showSummary: prepared.showSummary,
    budgeted: prepared.budgeted,
    tracePath,
    prior: prepared.prior,
    started: !spent,
  });
  const endedMs = await finishRunLedger(prepared.ledger, {
    result,
    summary,
    durationMs,
    tracePath,
    prior: prepared.prior,
    workflowHash: prepared.workflowHash,
    nodes: { compiled: prepared.compiled, totals: prepared.instruments.telemetry.totals },
  });
  if (tracePath !== undefined) await pruneOldTraces(prepared, [tracePath, prepared.prior?.tracePath]);
  await exportEndedRun({
    trace,
    planner: prepared.prior?.traceDoc,
    request: prepared.request,
    metrics: prepared.metricsExport,
    outcome: {
      workflow: run.workflowName ?? "",
      status: result.status,
      durationMs,
      startedMs: performance.timeOrigin + run.started,
      endedMs,
      summary,
      calls: [...(prepared.prior?.telemetry.llmCalls ?? []), ...result.telemetry.llmCalls],
    },
    exitCode: code,
  });
  return code;
}

/** The outcome of a workflow that never started because an earlier phase spent the budget. */
function budgetSpent(run: Invocation, telemetry: RunTelemetry): WorkflowResult {
  return {
    ...notStarted(run),
    status: "budget_exceeded",
    error: {
      message: `budget of ${formatUsd(telemetry.maxBudgetUsd!)} reached by planning (${
        formatUsd(roundUsd(telemetry.spentUsd))
      } spent); the workflow was not started`,
      node_id: null,
      type: "BudgetExceededError",
    },
    duration_ms: 0,
    telemetry,
  };
}

/** The report of a run interrupted before its first node (e.g. while reading stdin). */
export function reportInterrupted(run: Invocation): number {
  const result = notStarted(run);
  const summary = summarizeRun({ calls: [], pricing: undefined, durationMs: result.duration_ms, nodesExecuted: 0 });
  return report(result, run, {
    outputKey: undefined,
    summary,
    showSummary: false,
    budgeted: false,
    tracePath: undefined,
    started: false,
  });
}

type Prepared = Awaited<ReturnType<typeof prepare>>;

/** Everything before the first node runs: validate, compile, inputs, stdin, telemetry. */
async function prepare(target: RunTarget, session: Session) {
  const { run, parsed, env, home, settings, signal, ledger } = session;
  const { loaded, prior } = target;
  run.workflowName = workflowName(loaded);
  const registry = new NodeRegistry(BUILTIN_NODES);
  const checked = await runProblems(loaded, {
    registry,
    env,
    settings,
    warn: (message) => run.logger.warn(message),
    params: target.params,
    paramText: target.paramText,
    stdin: isTerminal(0) ? "none" : "unknown",
    // An unfilled stdin input a node reads is refused once stdin is read (resolveInputs), not warned about.
    stdinInputsChecked: true,
  });
  if (checked.problems.length > 0) throw new ValidationError(checked.problems);
  const params = checked.params;
  const outputKey = parsed.values["output-key"] as string | undefined;
  if (outputKey !== undefined) checkOutputKey(outputKey, loaded, registry, params);
  const metricsFlag = parsed.values.metrics === true;
  const budget = parseBudget(parsed.values["max-budget-usd"] as string | undefined);
  const priceTableFile = parsed.values["price-table"] as string | undefined;
  const otlp = otlpRequest(parsed.values["otlp-endpoint"] as string | undefined, env, { command: "run" });
  const metricsExport = metricsRequest({
    flag: parsed.values.pushgateway as string | undefined,
    env,
    settings,
    home,
    ledger: ledger !== undefined,
    command: "run",
  });
  // A workflow that can call a model reads its prices before the run, so a bad
  // price file is a validation error (exit 2) rather than a surprise
  // afterwards; one that cannot loads none (a `--price-table` given is still checked).
  const callsModels = loaded.ir.nodes.some((n) => callsModelsClass(registry.get(n.type)));
  const pricing = prior?.pricing ??
    (callsModels || priceTableFile !== undefined
      ? await loadPriceTable({ home, priceTable: priceTableFile })
      : undefined);
  // A planned run goes on with its planning's redactor: the secrets planning learned (secret-named params given
  // with the request, the values the planner filled in) stay hidden in what the run prints and records.
  const redactor = prior !== undefined ? outputRedactor() : Redactor.fromEnv(env, configuredKeyNames(settings));
  // The exports' URLs from flags and settings: a password in one is a secret (a gateway's error may quote it).
  redactor.add(...exportCredentials(env, otlp, metricsExport));
  setOutputRedactor(redactor);
  const stdin = await readStdinIfNeeded(loaded, params, signal);
  let inputs: Record<string, unknown>;
  try {
    if (stdin === undefined && stdinUse(loaded.ir).stdinTemplates && !Object.hasOwn(params, "stdin")) {
      throw new ValidationError([noStdinProblem()]);
    }
    const twice = stdin === undefined ? undefined : stdinGivenTwice(params, CLI_INPUT_WORDING);
    if (twice !== undefined) throw new ValidationError([twice]);
    inputs = resolveInputs(loaded.ir, params, { stdin, wording: CLI_INPUT_WORDING });
  } catch (error) {
    throw error instanceof ValidationError ? await locatedError(error.problems, loaded) : error;
  }
  const traceConfig = traceSettings(settings, settingsFile(home));
  const request: TelemetryRequest = {
    executionId: run.executionId,
    workflowName: run.workflowName,
    loaded,
    inputs,
    home,
    env,
    metrics: run.json || metricsFlag,
    traceFile: parsed.values.trace === true,
    otlp,
    pricing,
    maxBudgetUsd: budget,
    limits: traceConfig.limits,
    redactor,
    logger: run.logger,
    verbose: run.verbose,
    nodeTraced: new Map(
      loaded.ir.nodes.flatMap((n) => {
        const traced = tracedOptionsOf(registry.get(n.type));
        return traced ? [[n.id, traced] as const] : [];
      }),
    ),
    ...(prior !== undefined
      ? {
        traceId: prior.traceId,
        parentSpanId: prior.requestSpanId,
        traceHeader: { planner_trace: prior.tracePath ?? null },
        spentUsd: prior.telemetry.spentUsd,
      }
      : {}),
    // Calls are attributed to their nodes only in an instrumented run.
    ledgerSink: ledger?.sink("workflow", { priceVersion: () => pricing?.version ?? null }),
    instrumentForLedger: callsModels,
  };
  const instruments = buildInstruments(request);
  const compiled = compileWorkflow(loaded.ir, {
    registry,
    instrument: instruments.instrumented ? instrumentNode : undefined,
  });
  // The name goes as written to the ledger (`pflow cost report --by workflow`), the Pushgateway group and OTLP
  // metrics: a secret in it (an API key in a file's name, a given token in the planner's name for a plan) is
  // hidden there too, with every secret known before the first node runs (the run learns its inputs' again).
  compiled.learnSecrets(inputs);
  run.workflowName = redactor.text(run.workflowName);
  const workflowHash = beginRunLedger(ledger, {
    home,
    loaded,
    executionId: run.executionId,
    workflowName: run.workflowName,
    startedMs: Date.now() - (performance.now() - run.started),
    traceId: instruments.telemetry.traceId,
    callsModels,
  });
  const progress = !run.json && run.logger.format === "text" && isTerminal(2);
  const runOptions: RunOptions = {
    inputs,
    stdin,
    inputWording: CLI_INPUT_WORDING,
    signal,
    observer: progress ? progressObserver(compiled, run.style) : undefined,
    warn: (message) => run.logger.warn(message),
    context: {
      env,
      llmSettings: settings,
    },
    telemetry: instruments.telemetry,
    onStart: instruments.onStart,
    maxNodeExecutions: parseMaxNodeExecutions(parsed.values["max-node-executions"] as string | undefined),
  };
  return {
    compiled,
    options: runOptions,
    outputKey,
    metrics: instruments.metrics,
    instruments,
    request,
    ledger,
    workflowHash,
    metricsExport,
    home,
    priceTableFile,
    showSummary: metricsFlag,
    budgeted: budget !== undefined,
    prior,
    keepDays: traceConfig.keepDays,
  };
}

/**
 * The cost and usage summary. Prices were loaded before an instrumented or
 * budgeted run; a plain run that made LLM calls loads them now, and a bad
 * price file is then only a warning (telemetry never breaks a run).
 */
async function summarize(result: WorkflowResult, prepared: Prepared): Promise<RunSummary> {
  const telemetry = result.telemetry;
  if (telemetry.pricing === undefined && telemetry.llmCalls.length > 0) {
    try {
      telemetry.priceRecorded(await loadPriceTable({ home: prepared.home, priceTable: prepared.priceTableFile }));
    } catch (error) {
      prepared.request.logger.warn(`costs not computed: ${(error as Error).message}`);
    }
  }
  return summarizeRun({
    calls: telemetry.llmCalls,
    pricing: telemetry.pricing,
    metrics: prepared.metrics,
    durationMs: result.duration_ms,
    nodesExecuted: result.nodes_executed,
    planner: prepared.prior?.summaryInput,
  });
}

/**
 * Prints the result (stdout), the summary and any error (stderr); returns the exit code. A result stdout could
 * not take (disk full) is one error line; the run's code stays, but success becomes 74 (`EXIT.output`).
 */
function report(result: WorkflowResult, run: Invocation, options: ReportOptions): number {
  const code = printResult(result, run, options);
  if (!reportStdoutFailure((message) => run.logger.error(message))) return code;
  return code === EXIT.ok ? EXIT.output : code;
}

type ReportOptions = Parameters<typeof printResult>[2];

function printResult(
  result: WorkflowResult,
  run: Invocation,
  options: {
    outputKey: string | undefined;
    summary: RunSummary;
    showSummary: boolean;
    budgeted: boolean;
    tracePath: string | undefined;
    prior?: PriorPhase;
    /** False when the workflow never started (its `result` is then null). */
    started: boolean;
  },
): number {
  const { summary, tracePath, prior } = options;
  const log = run.logger;
  // An output nested deeper than any walk of it (redaction, JSON) can go is refused, by name.
  result = withoutTooDeepOutputs(result, options.outputKey, (message) => log.warn(message));
  // Credentials a run produced (an API's `access_token`, `set-cookie` headers) are never printed as results:
  // hidden where they are, and learned, so a copy in another output (an echo of the token) is hidden too.
  const { value: outputs, credentials } = redactCredentials(result.outputs);
  outputRedactor().add(...credentials);
  result = withOutputKey({ ...result, outputs: outputs as WorkflowResult["outputs"] }, options.outputKey);
  if (run.json) {
    const doc = runDocument(result, {
      ...run,
      summary,
      totalMs: runDuration(run),
      started: options.started,
    });
    // `-o KEY` restricts the result to that key.
    if (options.outputKey !== undefined && result.status === "success") {
      doc.result = { [options.outputKey]: selectOutput(result, options.outputKey) };
    }
    if (prior !== undefined) {
      doc.duration_planner_ms = ms2(prior.durationMs);
      Object.assign(doc, prior.document);
      if (prior.tracePath !== undefined) doc.planner_trace_path = prior.tracePath;
    }
    if (tracePath !== undefined) doc.trace_path = tracePath;
    writeStdout(`${JSON.stringify(doc)}\n`);
  } else {
    if (result.status === "success") writeStdout(formatOutputs(result, options.outputKey));
    // Without prices (a bad price file) no model is known to be unpriced; with a
    // budget the run already warned once per unpriced model as its calls ended.
    const warnUnpriced = summary.pricing.source !== null && !options.budgeted;
    for (const model of warnUnpriced ? summary.pricing.unpriced_models : []) {
      log.warn(
        `no price for model '${model}': its tokens are counted, its cost is not (add it to PFLOW_HOME/pricing.yaml)`,
      );
    }
    for (const message of usageMissingWarnings(summary.pricing.usage_missing)) log.warn(message);
    if (options.showSummary || summary.num_llm_calls > 0 || prior !== undefined) {
      if (log.format === "json") {
        log.notice("run summary", {
          status: result.status,
          duration_ms: summary.metrics?.workflow?.duration_ms ?? Math.round(result.duration_ms * 100) / 100,
          nodes: summary.num_nodes,
          llm_calls: summary.num_llm_calls,
          total_cost_usd: summary.total_cost_usd,
          usage: summary.usage,
        });
      } else {
        const planned = prior &&
          { label: prior.label, nodes: prior.summaryInput.nodesExecuted, durationMs: prior.durationMs };
        printError(summaryLine(result, summary, run.style, planned));
      }
    }
    // Through the logger: one JSON record each with `--log-format json`, the line as it is in text logs.
    for (const notice of prior?.notices ?? []) log.notice(notice);
  }
  log.info(`run finished: ${result.status}`, {
    status: result.status,
    duration_ms: Math.round(result.duration_ms * 100) / 100,
  });
  if (result.status === "success") return EXIT.ok;
  if (result.status === "interrupted") {
    const by = interruptSignal();
    if (!run.json) log.warn(by ? `interrupted by ${by}` : "interrupted");
    return interruptExitCode();
  }
  if (!run.json) {
    const where = result.error?.node_id ? `node '${result.error.node_id}' failed: ` : "";
    log.error(`${where}${result.error?.message}`, result.error?.node_id ? { node_id: result.error.node_id } : {});
  }
  const stack = (result.cause as Error | undefined)?.stack;
  if (run.verbose && stack) run.logger.stack(stack, (text) => printError(text, { multiline: true }));
  return EXIT.failed;
}

/** A successful run whose `--output-key` it did not produce, as the failed run it is (exit 1). */
function withOutputKey(result: WorkflowResult, key: string | undefined): WorkflowResult {
  if (key === undefined || result.status !== "success") return result;
  try {
    selectOutput(result, key);
    return result;
  } catch (error) {
    if (!(error instanceof OutputNotProducedError) && !(error instanceof OutputTooDeepError)) throw error;
    return { ...result, status: "failed", error: { message: error.message, node_id: null, type: error.name } };
  }
}

/** The logger `--log-format` and `PFLOW_LOG_LEVEL` ask for (scanned before parsing, like `--json`). */
function makeLogger(argv: string[], env: CommandEnv["env"], style: Style): Logger {
  const at = argv.findIndex((a) => a === "--log-format" || a.startsWith("--log-format="));
  const format = at < 0 ? "text" : argv[at].includes("=") ? argv[at].split("=")[1] : argv[at + 1];
  if (format !== "text" && format !== "json") {
    throw new UsageError(`--log-format must be 'text' or 'json', got '${format ?? ""}'`, "run");
  }
  let level: LogLevel;
  try {
    level = parseLogLevel(env.PFLOW_LOG_LEVEL) ?? "warn";
  } catch (error) {
    throw new UsageError((error as Error).message, "run");
  }
  return new Logger({ format, level, write: printError, style });
}

/** Env var names of configured providers' keys (redacted like the built-in ones). */
export function configuredKeyNames(settings: Settings): string[] {
  return Object.values(settings.providers ?? {}).flatMap((p) => p.api_key_env ? [p.api_key_env] : []);
}

/** Reads piped stdin only when the workflow uses it (see stdin.ts). */
async function readStdinIfNeeded(loaded: LoadedWorkflow, params: Record<string, unknown>, signal: AbortSignal) {
  return needsStdin(stdinUse(loaded.ir), params) ? await readPipedStdin(signal) : undefined;
}

/**
 * Parses `--max-budget-usd`: a finite non-negative number of dollars, in
 * decimal or exponent form (`0.5`, `.25`, `1e-3`). The message says what is
 * wrong: a negative number, one too large to be finite, or no number at all.
 */
export function parseBudget(text: string | undefined, command: "run" | "plan" = "run"): number | undefined {
  if (text === undefined) return undefined;
  const flag = "--max-budget-usd";
  if (!SIGNED_DECIMAL.test(text)) {
    throw new UsageError(`${flag} must be a number of US dollars ≥ 0 (e.g. 0.50 or 1e-3), got '${text}'`, command);
  }
  const value = Number(text);
  if (!Number.isFinite(value)) throw new UsageError(`${flag} must be a finite number, got '${text}'`, command);
  if (value < 0) throw new UsageError(`${flag} must be ≥ 0 (US dollars, e.g. 0.50), got '${text}'`, command);
  return value === 0 ? 0 : value; // -0 is 0
}

/** A decimal number with an optional exponent; no hex, `Infinity` or spaces. */
const DECIMAL = String.raw`(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?`;
const SIGNED_DECIMAL = new RegExp(`^[+-]?${DECIMAL}$`);
const UNSIGNED_DECIMAL = new RegExp(`^${DECIMAL}$`);

/** A finite non-negative decimal (`2`, `0.5`, `.25`, `1e-3`): no sign, hex or spaces. */
export function isDecimal(text: string): boolean {
  return UNSIGNED_DECIMAL.test(text) && Number.isFinite(Number(text));
}

/** After a traced run, the automatic pruning of `trace.keep_days` (a failure is a warning). */
async function pruneOldTraces(prepared: Prepared, keep: (string | undefined)[]): Promise<void> {
  if (prepared.keepDays === undefined) return;
  try {
    const { pruneAfterRun } = await import("./trace_prune.ts");
    const files = keep.filter((p): p is string => p !== undefined);
    const result = await pruneAfterRun({ home: prepared.home, keepDays: prepared.keepDays, keep: files });
    for (const f of result?.failed ?? []) {
      prepared.request.logger.warn(`old trace not pruned: cannot remove ${f.path}: ${f.reason}`);
    }
  } catch (error) {
    prepared.request.logger.warn(`old traces not pruned: ${(error as Error).message}`);
  }
}

/** Parses `--max-node-executions`: a positive whole number. */
export function parseMaxNodeExecutions(
  text: string | undefined,
  command: "run" | "plan" = "run",
): number | undefined {
  if (text === undefined) return undefined;
  if (!/^[1-9]\d*$/.test(text)) {
    throw new UsageError(`--max-node-executions must be a positive whole number, got '${text}'`, command);
  }
  // Beyond 2^53-1 the count could not be told from its neighbours (and the workflow's limit has the same maximum).
  if (!Number.isSafeInteger(Number(text))) {
    throw new UsageError(
      `--max-node-executions must be at most ${Number.MAX_SAFE_INTEGER} (2^53-1), got '${text}'`,
      command,
    );
  }
  return Number(text);
}

/** A run interrupted before its first node (e.g. while reading stdin). */
function notStarted(run: Invocation): WorkflowResult {
  return {
    status: "interrupted",
    outputs: {},
    error: { message: "interrupted", node_id: null, type: "Interrupted" },
    shared: {},
    duration_ms: performance.now() - run.started,
    nodes_executed: 0,
    completions: new Map(),
    telemetry: new RunTelemetry(),
  };
}

/** Usage and validation errors: stderr lines, plus the JSON document in JSON mode; exit 2. */
export function reportInvalid(error: ValidationError | UsageError, run: Invocation): number {
  if (run.json) {
    const doc = validationDocument(error.message, {
      executionId: run.executionId,
      workflowName: run.workflowName,
      problems: error instanceof ValidationError ? error.problems : undefined,
      type: error.name,
      durationMs: performance.now() - run.started,
    });
    writeStdout(`${JSON.stringify(doc)}\n`);
    reportStdoutFailure((message) => run.logger.error(message));
  }
  // One line a problem (a ValidationError's message holds them one a line); a usage error is one line.
  for (const line of error instanceof ValidationError ? error.message.split("\n") : [error.message]) {
    run.logger.error(line);
  }
  if (error instanceof UsageError && run.logger.format === "text") {
    printError(`Run 'pflow ${error.command || "run"} --help' for usage.`);
  }
  if (run.verbose && error.stack) run.logger.stack(error.stack, (text) => printError(text, { multiline: true }));
  return EXIT.usage;
}

/**
 * The warnings for calls whose provider reported no usage: one per node and model (a batch of 500 such
 * calls is one line, with their count and the first request ids), not one per call.
 */
export function usageMissingWarnings(calls: RunSummary["pricing"]["usage_missing"]): string[] {
  const groups = new Map<string, { node_id: string | null; model: string; calls: number; requests: string[] }>();
  for (const call of calls) {
    const key = JSON.stringify([call.node_id, call.model]);
    const group = groups.get(key) ?? { node_id: call.node_id, model: call.model, calls: 0, requests: [] };
    group.calls++;
    if (call.request_id && !group.requests.includes(call.request_id)) group.requests.push(call.request_id);
    groups.set(key, group);
  }
  return [...groups.values()].map((g) => {
    // Not always the provider's omission: an attempt cut off (timeout, broken stream) never got its final usage.
    const where = `${g.model}${g.node_id ? ` (node '${g.node_id}')` : ""}: no usage reported`;
    if (g.calls === 1) {
      return `${where}${
        g.requests.length ? ` for request ${g.requests[0]}` : ""
      } (interrupted, cut off, or the provider sent none); its tokens and cost are unknown`;
    }
    const shown = g.requests.slice(0, 3).join(", ");
    const more = g.requests.length > 3 ? `, … ${g.requests.length - 3} more` : "";
    const ids = g.requests.length === 0 ? "" : ` (request${g.requests.length === 1 ? "" : "s"} ${shown}${more})`;
    return `${where} for ${g.calls} calls${ids} (interrupted, cut off, or the provider sent none); their tokens and cost are unknown`;
  });
}
