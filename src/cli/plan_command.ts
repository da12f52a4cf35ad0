/**
 * `pflow plan "request"` (and `pflow "request"`): the planner reuses a saved
 * workflow or generates one, then the plan runs exactly like `pflow run`
 * (same flags, same result document, with the planner's figures added).
 * Loaded only for a request, so `pflow run` and `--version` never pay for it.
 * @module
 */
import { fstatSync } from "node:fs";
import { InterruptedError } from "../engine/mod.ts";
import { BUILTIN_NODES } from "../nodes/mod.ts";
import { ms2, summarizeRun } from "../observability/metrics.ts";
import type { NodeTotals } from "../observability/node_totals.ts";
import { newSpanId } from "../observability/ids.ts";
import { isSecretName, outputRedactor, REDACTED, Redactor, setOutputRedactor } from "../observability/redact.ts";
import { formatTraceFile, type PlannerTraceFooter, type TraceStatus } from "../observability/trace_format.ts";
import { resolveModel } from "../llm/model_id.ts";
import { checkModelConfig } from "../llm/provider_config.ts";
import { loadPriceTable, type PriceTable } from "../pricing/table.ts";
import { type PlanOutcome, planRequest, readCatalogue } from "../planner/mod.ts";
import { plansDir, writePlanFile } from "../planner/plan_file.ts";
import { writeFileAtomic } from "../util/atomic_write.ts";
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from "../util/private_files.ts";
import { timeoutSignal } from "../util/timers.ts";
import { type Problem, ValidationError } from "../workflow/errors.ts";
import type { WorkflowIR } from "../workflow/ir.ts";
import { parseWorkflow } from "../workflow/load.ts";
import { NodeRegistry } from "../workflow/registry.ts";
import { plannerWorkflow } from "../planner/flow.ts";
import { stdinUse } from "../workflow/compiler.ts";
import { parseParams, typeParams } from "./args.ts";
import { type CommandEnv, COMMANDS, EXIT } from "./command.ts";
import { interruptExitCode } from "./signals.ts";
import type { Settings } from "./home.ts";
import {
  configuredKeyNames,
  isDecimal,
  parseBudget,
  parseMaxNodeExecutions,
  type PriorPhase,
  RUN_FLAGS,
  runDuration,
  runSession,
  type RunTarget,
  type Session,
} from "./run_command.ts";
import { buildInstruments, exportCredentials, exportEndedRun, otlpRequest, traceFilePath } from "./run_telemetry.ts";
import { beginPlannedLedger, finishPlanningLedger, PLANNING } from "./run_ledger.ts";
import { metricsRequest } from "./run_metrics.ts";
import { checkNewWorkflowName, loadSaved, REDACTED_ON_SAVE, savedExists, saveWorkflow, workflowsDir } from "./saved.ts";
import { formatCount, formatDuration, shellWord } from "./format.ts";
import { summaryCost } from "./summary_line.ts";
import { escapeControls, printError, type Style, writeDisplay, writeStdout } from "./terminal.ts";
import { UsageError } from "./usage_error.ts";
import { locatedError, runProblems, savedCommand, savedTargetArgs } from "./workflow_target.ts";

/** Flags of `pflow plan`: every `run` flag, and the planner's. */
export const PLAN_FLAGS = {
  ...RUN_FLAGS,
  "dry-run": { type: "boolean" },
  save: { type: "string" },
  force: { type: "boolean" },
  "planner-model": { type: "string" },
  "planner-timeout": { type: "string" },
  "max-repairs": { type: "string" },
  "trace-planner": { type: "boolean" },
} as const;

/** Default `--planner-timeout`, seconds. */
export const DEFAULT_PLANNER_TIMEOUT_S = 120;
/** Default `--max-repairs`. */
export const DEFAULT_MAX_REPAIRS = 2;

/** Runs `pflow plan ARGV…` (the request is the positional text); returns the exit code. */
export function planCommand(argv: string[], { env }: CommandEnv): Promise<number> {
  return runSession(argv, { env, command: "plan", flags: PLAN_FLAGS }, planStage);
}

/** What the flags ask of the planner. */
interface PlannerFlags {
  model: string;
  timeoutMs: number;
  maxRepairs: number;
  dryRun: boolean;
  save: string | undefined;
  force: boolean;
  traceFile: boolean;
}

/** The planning, before the plan runs: a workflow to run, or the exit code of a planning that ended the command. */
async function planStage(session: Session): Promise<RunTarget | number> {
  const { parsed, run, env, home, settings } = session;
  const { request, params: paramText } = requestOf(parsed.positionals);
  const flags = plannerFlags(parsed.values, { env, settings, home });
  // The planner's model is known before anything runs: a bad id or a missing key is a usage error.
  const modelProblem = checkModelConfig(flags.model, { env, settings });
  if (modelProblem !== null) throw new UsageError(`planner model: ${modelProblem}`, "plan");
  if (flags.save !== undefined) {
    checkNewWorkflowName(flags.save, "plan");
    // Refused before planning spends anything.
    if (!flags.force && savedExists(home, flags.save)) {
      throw new UsageError(`saved workflow '${flags.save}' exists; pass --force to replace it`, "plan");
    }
  }
  const pricing = await loadPriceTable({ home, priceTable: parsed.values["price-table"] as string | undefined });
  const budget = parseBudget(parsed.values["max-budget-usd"] as string | undefined, "plan");
  // Checked before planning, as every flag is: a bad value must not cost a planner call.
  parseMaxNodeExecutions(parsed.values["max-node-executions"] as string | undefined, "plan");
  const redactor = Redactor.fromEnv(env, configuredKeyNames(settings));
  // Given secret-named params (`api_token=…`) are secrets before anything is written or printed.
  redactor.learn(paramText);
  setOutputRedactor(redactor);
  const registry = new NodeRegistry(BUILTIN_NODES);
  // Saved workflows that do not validate are not offered for reuse (the run would refuse them after the call).
  const invalid: string[] = [];
  const catalogue = await readCatalogue(workflowsDir(home), { registry, onInvalid: (name) => invalid.push(name) });
  if (invalid.length > 0) run.logger.warn(invalidSavedWarning(invalid.sort(), home));
  const otlp = otlpRequest(parsed.values["otlp-endpoint"] as string | undefined, env, { command: "plan" });
  const metricsExport = metricsRequest({
    flag: parsed.values.pushgateway as string | undefined,
    env,
    settings,
    home,
    ledger: session.ledger !== undefined,
    command: "plan",
  });
  // The exports' URLs from flags and settings: a password in one is a secret (a gateway's error may quote it).
  redactor.add(...exportCredentials(env, otlp, metricsExport));
  run.workflowName = "planner";
  const requestSpanId = newSpanId();
  const instruments = buildInstruments({
    kind: "planner",
    phase: "planner",
    // Kept in memory and written once planning ends (see below), not streamed.
    keepTrace: true,
    executionId: run.executionId,
    workflowName: "planner", // named after the request once planning ends
    loaded: { ir: plannerWorkflow({ reuse: catalogue.length > 0 }), file: "planner", text: "" },
    inputs: { request },
    home,
    env,
    metrics: true,
    traceFile: false,
    otlp,
    pricing,
    maxBudgetUsd: budget,
    limits: undefined,
    redactor,
    logger: run.logger,
    verbose: run.verbose,
    traceHeader: { request, planner_model: flags.model, request_span_id: requestSpanId },
    ledgerSink: session.ledger?.sink("planner", { priceVersion: () => pricing.version }),
  });
  beginPlannedLedger(session.ledger, {
    executionId: run.executionId,
    startedMs: Date.now() - (performance.now() - run.started),
    traceId: instruments.telemetry.traceId,
  });
  const timeout = timeoutSignal(flags.timeoutMs);
  const started = performance.now();
  const deadline = started + flags.timeoutMs;
  run.logger.info(`planning: ${request}`, { planner_model: flags.model });
  let outcome: PlanOutcome;
  try {
    outcome = await planRequest({
      request,
      model: flags.model,
      catalogue,
      registry,
      maxRepairs: flags.maxRepairs,
      givenParams: paramText,
      stdinPiped: stdinIsPiped(),
      signal: AbortSignal.any([session.signal, timeout.signal]),
      deadline,
      env,
      settings,
      telemetry: instruments.telemetry,
      onStart: instruments.onStart,
      warn: (message) => run.logger.warn(message),
    });
  } finally {
    timeout.clear();
  }
  const durationMs = performance.now() - started;
  const status: TraceStatus = timeout.signal.aborted && !session.signal.aborted && outcome.status === "interrupted"
    ? "timeout"
    : outcome.status;
  if (status === "timeout") {
    // The engine saw an abort; the trace and the report say which one.
    outcome.error = {
      message: `planning timed out after ${
        formatDuration(durationMs)
      } (--planner-timeout); the call in flight was aborted`,
      node_id: outcome.error?.node_id ?? null,
      type: "PlannerTimeoutError",
    };
  }
  let planFile: { path: string; text: string } | undefined;
  let planFileError: ValidationError | undefined;
  if (status === "success" && outcome.path === "generate") {
    try {
      planFile = await writePlanFile(home, outcome.workflow!, { redact: (text) => redactor.text(text) });
    } catch (error) {
      planFileError = new ValidationError([{
        file: plansDir(home),
        message: `cannot write the plan file (${(error as Error).message}); check that PFLOW_HOME is writable`,
      }]);
    }
  }
  const footer: PlannerTraceFooter = {
    path: outcome.path,
    reused_workflow: outcome.reusedWorkflow,
    repairs: outcome.repairs,
    llm_calls: instruments.telemetry.llmCalls.length,
    attempts: outcome.attempts,
    workflow: outcome.workflow ?? outcome.run.shared.workflow ?? null,
    params: outcome.inputs,
    missing_inputs: outcome.missingInputs,
    plan_path: planFile?.path ?? null,
  };
  const phase = plannedPhase(outcome, { durationMs, metrics: instruments.metrics, pricing, footer });
  const summary = summarizeRun({ calls: [], pricing, durationMs: 0, nodesExecuted: 0, planner: phase.summaryInput });
  // The trace's name and file name are made now, from the request redacted with every secret planning learned
  // (a token the model extracted from the request): a name made earlier could hold one, and a path printed
  // through the redacting output would then name no file.
  const slug = requestSlug(redactor.text(request));
  const traceDoc = {
    ...instruments.trace!.finish({
      status,
      error: outcome.error,
      durationMs: outcome.run.duration_ms,
      nodesExecuted: outcome.run.nodes_executed,
      summary,
      planner: footer,
    }),
    workflow_name: slug,
  };
  let tracePath: string | undefined;
  // Inputs still missing end the command (unless a dry run shows them or a terminal asks for them).
  const unfilled = outcome.missingInputs.filter((m) => !Object.hasOwn(paramText, m.name));
  const failed = status !== "success" || (unfilled.length > 0 && !flags.dryRun && !askable(run.json));
  // A failed planning's trace is the one a user needs most: written even without --trace-planner.
  if (failed || flags.traceFile) {
    tracePath = traceFilePath({ home, workflowName: slug, executionId: run.executionId, kind: "planner", redactor });
    try {
      await writeFileAtomic(tracePath, redactor.text(formatTraceFile(traceDoc)), {
        mode: PRIVATE_FILE_MODE,
        mkdir: true,
        dirMode: PRIVATE_DIR_MODE,
      });
    } catch (error) {
      run.logger.warn(`planner trace not written (${(error as Error).message})`);
      tracePath = undefined;
    }
  }
  if (tracePath !== undefined) run.logger.notice(`Planner trace saved: ${tracePath}`, { planner_trace: tracePath });
  const prior: PriorPhase = {
    ...phase,
    traceId: traceDoc.trace_id,
    requestSpanId,
    tracePath,
    traceDoc,
    pricing,
    document: { plan_path: planFile?.path ?? null },
    notices: [],
    endedEarly: (error) => endedEarly(error),
  };
  // A planning that ends the command is a run too: the ledger and the metrics exports hear how it ended, after
  // its result is printed (`exitCode` is the command's), and its trace goes over OTLP with them (a planning
  // whose workflow runs is exported with that run instead, as one trace).
  const endLedger = async (
    end: { status: "success" | "failed" | "interrupted" | "budget_exceeded"; subtype: string },
    exitCode: number,
  ) => {
    const durationMs = runDuration(run);
    const endedMs = await finishPlanningLedger(session.ledger, {
      ...end,
      durationMs,
      prior,
      workflowName: plannedName(outcome),
      summary,
    });
    await exportEndedRun({
      trace: undefined,
      planner: traceDoc,
      request: { env, logger: run.logger, otlp },
      metrics: metricsExport,
      outcome: {
        workflow: plannedName(outcome) ?? PLANNING,
        status: end.status,
        subtype: end.subtype,
        durationMs,
        startedMs: performance.timeOrigin + run.started,
        endedMs,
        summary,
        calls: prior.telemetry.llmCalls,
      },
      exitCode,
    });
  };
  // Planned, but the workflow never starts (invalid params or environment, interrupted): reported with the planning.
  const endedEarly = async (error: unknown): Promise<number | undefined> => {
    if (!(error instanceof ValidationError || error instanceof UsageError || error instanceof InterruptedError)) {
      return undefined;
    }
    const code = reportEndedEarly(session, { outcome, prior, summary, error });
    await endLedger(
      error instanceof InterruptedError
        ? { status: "interrupted", subtype: "error_interrupted" }
        : { status: "failed", subtype: "error_validation" },
      code,
    );
    return code;
  };
  // The chosen saved workflow no longer reads (changed or removed since the catalogue was read): reported as
  // `pflow run` of it would be, located, exit 2.
  if (status === "failed" && outcome.path === "reuse" && outcome.run.cause instanceof ValidationError) {
    return (await endedEarly(outcome.run.cause))!;
  }
  if (status !== "success") {
    const code = reportPlanningFailure(session, { outcome, status, prior, summary });
    const ended = status === "interrupted" || status === "budget_exceeded" ? status : "failed";
    await endLedger({ status: ended, subtype: planningExit(outcome, status).subtype }, code);
    return code;
  }
  if (planFileError !== undefined) return (await endedEarly(planFileError))!;
  const workflow = outcome.workflow!;
  if (outcome.path === "reuse") {
    prior.notices.push(`Reused saved workflow ${outcome.reusedWorkflow}`);
  } else {
    prior.notices.push(`Plan written to ${planFile!.path}`);
    // None once --save saved it.
    if (flags.save === undefined) {
      // Redacted first: a secret in it would be printed as `[REDACTED]`, a name the command refuses.
      const name = saveHintName(redactor.text(workflow.name ?? ""), (n) => savedExists(home, n));
      prior.notices.push(`Save it with: pflow workflow save ${shellWord(planFile!.path)} --name ${name}`);
    }
  }
  try {
    const loaded = outcome.path === "reuse" ? await loadSaved(home, outcome.reusedWorkflow!) : await plannedWorkflow(
      workflow,
      { planFile: planFile!, warn: (message) => run.logger.warn(message) },
    );
    // The given params are typed by the inputs the planned workflow declares; a key it does not declare is an error.
    const typed = typeParams(paramText, loaded.ir.inputs);
    if (typed.problems.length > 0) throw await locatedError(typed.problems, loaded);
    const params = typed.values;
    let inputs = { ...outcome.inputs, ...params };
    // A reused workflow is saved already: a copy would duplicate it, and saving redacts known secrets, so a
    // copy (or, with --force, the original under its own name) could lose the defaults it runs with.
    if (flags.save !== undefined && outcome.path === "reuse") {
      run.logger.warn(
        `--save ${flags.save}: nothing saved; the planner reused the saved workflow '${outcome.reusedWorkflow}' ` +
          `(run it again with '${savedCommand("run", home, outcome.reusedWorkflow!)}')`,
      );
    } else if (flags.save !== undefined) {
      // Saved even when inputs are missing: a workflow kept for later is often one whose inputs come later.
      const saved = await saveWorkflow(home, workflow, {
        name: flags.save,
        force: flags.force,
        command: "plan",
        onRedacted: () => session.run.logger.warn(REDACTED_ON_SAVE),
      });
      prior.notices.push(`Saved as ${flags.save} (${saved})`);
    }
    const missing = outcome.missingInputs.filter((m) => !Object.hasOwn(params, m.name));
    const rerun = rerunCommand(outcome, { home, loaded, given: inputs, missing, stdinPiped: stdinIsPiped() });
    if (flags.dryRun) {
      // A dry run says whether the run would start: the run's own checks (API keys here, mistyped values),
      // all but the inputs still missing, which the dry run shows instead.
      await checkDryRun(loaded, { registry, env, settings, inputs, missing, warn: (m) => run.logger.warn(m) });
      if (missing.length > 0) prior.notices.push(`Run it with: ${rerun}`);
      const code = reportDryRun(session, { outcome, prior, summary, loaded: loaded.file, inputs, missing, rerun });
      await endLedger({ status: "success", subtype: "success" }, code);
      return code;
    }
    if (missing.length > 0) {
      const answers = askable(run.json) ? await askForInputs(missing, workflow, session.signal) : undefined;
      if (answers === undefined) {
        const code = reportMissingInputs(session, { outcome, prior, summary, missing, command: rerun });
        await endLedger({ status: "failed", subtype: "error_missing_inputs" }, code);
        return code;
      }
      inputs = { ...inputs, ...answers };
    }
    return { loaded, params: inputs, prior };
  } catch (error) {
    const code = await endedEarly(error);
    if (code === undefined) throw error;
    return code;
  }
}

/**
 * Throws the {@link ValidationError} the run of `loaded` with `inputs` would end with before its first node
 * (as `pflow run` checks it: statically with this machine's API keys, then the inputs), leaving out what a
 * dry run shows instead: the required inputs still `missing`, and `${stdin}` with nothing piped yet (stdin is
 * taken as still to come).
 */
async function checkDryRun(
  loaded: { ir: WorkflowIR; file: string; text: string },
  context: {
    registry: NodeRegistry;
    env: Session["env"];
    settings: Settings;
    inputs: Record<string, unknown>;
    missing: PlanOutcome["missingInputs"];
    warn: (message: string) => void;
  },
): Promise<void> {
  const checked = await runProblems(loaded, {
    registry: context.registry,
    env: context.env,
    settings: context.settings,
    warn: context.warn,
    params: context.inputs,
    stdin: "unknown",
  });
  const missing = new Set(context.missing.map((m) => `/inputs/${m.name}`));
  const problems = checked.problems.filter((p) =>
    !(missing.has(p.pointer ?? "") && p.message.startsWith("missing required input "))
  );
  if (problems.length > 0) throw new ValidationError(problems);
}

/**
 * The generated workflow as it runs: the one the planner validated, not its
 * plan file, where secrets it writes out (a key in a URL, a token in a
 * header) are `[REDACTED]`. Positions in messages are the plan file's: the
 * two texts have the same lines. Warns when the file differs, as running it
 * again would send `[REDACTED]`.
 */
async function plannedWorkflow(
  workflow: WorkflowIR,
  options: { planFile: { path: string; text: string }; warn: (message: string) => void },
): Promise<{ ir: WorkflowIR; file: string; text: string }> {
  const { planFile } = options;
  const text = `${JSON.stringify(workflow, null, 2)}\n`;
  if (text !== planFile.text) {
    const count = (planFile.text.split(REDACTED).length - 1) - (text.split(REDACTED).length - 1);
    options.warn(
      `the plan file holds ${REDACTED} in place of ${count} secret value${
        count === 1 ? "" : "s"
      } the planned workflow ` +
        `writes out (a key in a URL, a token in a header); this run uses them, running the file again would not: ` +
        `pass secrets as inputs or environment variables`,
    );
  }
  return { ir: await parseWorkflow(text, { file: planFile.path }), file: planFile.path, text };
}

/**
 * The request and the texts of the `key=value` params given with it. The
 * first positional starts the request whatever it holds (`"x=1 means what"`
 * is a request, not a param `x`); after it, `key=value` arguments are params
 * (`topic="a b"`) and other words join the request (`pflow plan summarize the repo`).
 */
function requestOf(positionals: string[]): { request: string; params: Record<string, string> } {
  const params: string[] = [];
  const words: string[] = positionals.slice(0, 1);
  for (const arg of positionals.slice(1)) {
    if (/^[A-Za-z_][\w-]*=/.test(arg)) params.push(arg);
    else words.push(arg);
  }
  const request = words.join(" ").trim();
  if (request === "") {
    throw new UsageError('missing request: pflow plan "what you want done" [key=value ...]', "plan");
  }
  return { request, params: parseParams(params, "plan") };
}

/** The planner's settings from flags, environment and settings. */
function plannerFlags(
  values: Session["parsed"]["values"],
  options: { env: Session["env"]; settings: Settings; home: string },
): PlannerFlags {
  const { env, settings } = options;
  // settings.planner_model's type is checked with every other setting (loadSettings).
  const model = [values["planner-model"], env.PFLOW_PLANNER_MODEL, settings.planner_model]
    .find((m): m is string => typeof m === "string" && m.trim() !== "")?.trim() ??
    resolveModel(undefined, { env, settings });
  const timeoutText = values["planner-timeout"] as string | undefined;
  const timeoutS = timeoutText === undefined ? DEFAULT_PLANNER_TIMEOUT_S : Number(timeoutText);
  if ((timeoutText !== undefined && !isDecimal(timeoutText)) || !(timeoutS > 0)) {
    throw new UsageError(`--planner-timeout must be a number of seconds above 0, got '${timeoutText}'`, "plan");
  }
  const repairsText = values["max-repairs"] as string | undefined;
  if (repairsText !== undefined && !/^(?:[0-9]|10)$/.test(repairsText)) {
    throw new UsageError(`--max-repairs must be a whole number from 0 to 10, got '${repairsText}'`, "plan");
  }
  const save = values.save as string | undefined;
  // Nothing to replace without --save: silently ignored, it would seem to have done something.
  if (values.force === true && save === undefined) {
    throw new UsageError("--force needs --save NAME: it replaces the saved workflow of that name", "plan");
  }
  return {
    model,
    timeoutMs: timeoutS * 1000,
    maxRepairs: repairsText === undefined ? DEFAULT_MAX_REPAIRS : Number(repairsText),
    dryRun: values["dry-run"] === true,
    save,
    force: values.force === true,
    traceFile: values["trace-planner"] === true,
  };
}

/** The planner's figures as the run's report and summary use them. */
function plannedPhase(
  outcome: PlanOutcome,
  context: { durationMs: number; metrics: NodeTotals | undefined; pricing: PriceTable; footer: PlannerTraceFooter },
): Pick<PriorPhase, "durationMs" | "telemetry" | "summaryInput" | "label"> {
  const telemetry = outcome.run.telemetry;
  const extra = {
    path: outcome.path,
    reused_workflow: outcome.reusedWorkflow,
    repairs: outcome.repairs,
    llm_calls: telemetry.llmCalls.length,
  };
  const summaryInput = {
    calls: telemetry.llmCalls,
    metrics: context.metrics,
    durationMs: context.durationMs,
    nodesExecuted: outcome.run.nodes_executed,
    extra,
  };
  const planned = summarizeRun({ ...summaryInput, metrics: undefined, pricing: context.pricing });
  const calls = planned.num_llm_calls;
  const cost = summaryCost(planned);
  return {
    durationMs: context.durationMs,
    telemetry,
    summaryInput,
    label: `planned (${outcome.path ?? "none"}, ${calls} call${calls === 1 ? "" : "s"}, ${cost})`,
  };
}

/**
 * A name `workflow save` accepts, made from the model's (which may hold
 * spaces or slashes, or be a command's name like `run`); `NAME` when none can be made.
 * A name already `taken` by a saved workflow gets the first free `-2`, `-3`, … suffix:
 * the hint must work as printed, and `--force` would replace the saved workflow.
 */
function saveHintName(modelName: string, taken: (name: string) => boolean): string {
  let safe = modelName.replace(/[^A-Za-z0-9._-]+/g, "-").replace(/\.{2,}/g, ".").replace(/^[^A-Za-z0-9]+/, "")
    .slice(0, 55);
  // A name may not end with '.' or '.json' (and a trailing '-' is untidy), after the cut too (`Summarize notes.`,
  // `Fetch v1.2...`); taking one off can leave another (`notes-.json.`).
  for (let before = ""; before !== safe;) {
    before = safe;
    safe = safe.replace(/(\.json)+$/i, "").replace(/[.-]+$/, "");
  }
  const name = COMMANDS.includes(safe) ? `${safe}-workflow` : safe;
  try {
    checkNewWorkflowName(name);
  } catch {
    return "NAME";
  }
  if (!taken(name)) return name;
  for (let n = 2; n < 1000; n++) {
    if (!taken(`${name}-${n}`)) return `${name}-${n}`;
  }
  return "NAME";
}

/** The warning naming the saved workflows left out of the planner's catalogue because they do not validate. */
function invalidSavedWarning(names: string[], home: string): string {
  const quoted = names.map((n) => `'${n}'`);
  return names.length === 1
    ? `saved workflow ${quoted[0]} does not validate and is not offered for reuse; ` +
      `see '${savedCommand("validate", home, names[0])}'`
    : `${names.length} saved workflows do not validate and are not offered for reuse: ${quoted.join(", ")}; ` +
      "see 'pflow validate NAME'";
}

/** `[a-z0-9-]` words of the request, for trace file names. */
function requestSlug(request: string): string {
  return request.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 40) || "request";
}

/** Whether stdin is a pipe or a file (data may come), not a terminal or /dev/null. */
function stdinIsPiped(): boolean {
  try {
    const stat = fstatSync(0);
    return stat.isFIFO() || stat.isFile() || stat.isSocket();
  } catch {
    return false;
  }
}

/** Whether missing inputs can be asked for: text mode on a terminal. */
function askable(json: boolean): boolean {
  return !json && process.stdin.isTTY === true && process.stderr.isTTY === true;
}

/**
 * Asks for each missing input on the terminal (stderr prompt, stdin answer),
 * typed by its declared type as a `key=value` text is; an answer that is not
 * one of its type is asked for again. Undefined when the input ends (Ctrl+D): the
 * missing inputs are then reported as without a terminal. Ctrl+C interrupts.
 */
async function askForInputs(
  missing: PlanOutcome["missingInputs"],
  workflow: WorkflowIR,
  signal: AbortSignal,
): Promise<Record<string, unknown> | undefined> {
  // Loaded only when asking (a terminal with inputs missing): ~2 ms of every planned run's start otherwise.
  const { createInterface } = await import("node:readline/promises");
  const { Writable } = await import("node:stream");
  // readline echoes what is typed through its output (the terminal's own echo is off in its raw mode): muted
  // while a secret is typed, as a password prompt is.
  let muted = false;
  const output = new Writable({
    write(chunk, encoding, done) {
      if (!muted) process.stderr.write(chunk, encoding);
      done();
    },
  });
  Object.defineProperty(output, "columns", { get: () => process.stderr.columns });
  const rl = createInterface({ input: process.stdin, output, terminal: true });
  const values: Record<string, unknown> = {};
  try {
    for (let i = 0; i < missing.length; i++) {
      const m = missing[i];
      const prompt = `${m.name} (${m.type})${m.description ? `: ${m.description}` : ""}? `;
      let answer: string;
      try {
        if (isSecretName(m.name)) {
          process.stderr.write(prompt);
          muted = true;
          answer = await rl.question("", { signal });
        } else {
          answer = await rl.question(prompt, { signal });
        }
      } catch (error) {
        // On a raw terminal Ctrl+C reaches readline as a key, not as SIGINT.
        if (signal.aborted || /ctrl\+c/i.test((error as Error).message)) {
          throw new InterruptedError("interrupted while asking for inputs");
        }
        return undefined;
      } finally {
        // The line end readline echoed was muted too.
        if (muted) process.stderr.write("\n");
        muted = false;
      }
      // Typed by the input's declared type, as `key=value` is (`1.10` for a number, `007` for an integer); an
      // answer that is not one of its type is asked for again.
      const typed = typeParams({ [m.name]: answer }, workflow.inputs);
      if (typed.problems.length > 0) {
        printError(`${typed.problems[0].message.replace(/ \(from [^()]*=…\)$/, "")}; try again`);
        i--;
        continue;
      }
      values[m.name] = typed.values[m.name];
    }
  } finally {
    rl.close();
    // A closed interface leaves stdin flowing, and the process would never exit.
    process.stdin.pause();
  }
  return values;
}

/** The result document's subtype and the exit code of a planning that did not produce a runnable plan. */
function planningExit(outcome: PlanOutcome, status: TraceStatus): { subtype: string; code: number } {
  if (status === "interrupted") return { subtype: "error_interrupted", code: interruptExitCode() };
  if (status === "budget_exceeded") return { subtype: "error_max_budget_usd", code: EXIT.failed };
  // A workflow still invalid after the repairs is a validation error, like `pflow run` of an invalid file.
  if (outcome.problems.length > 0) return { subtype: "error_planning", code: EXIT.usage };
  return { subtype: "error_planning", code: EXIT.failed };
}

/** Reports a failed, interrupted, timed-out or over-budget planning; returns the exit code. */
function reportPlanningFailure(
  session: Session,
  context: { outcome: PlanOutcome; status: TraceStatus; prior: PriorPhase; summary: ReturnType<typeof summarizeRun> },
): number {
  const { outcome, status, prior, summary } = context;
  const { run } = session;
  const { subtype, code } = planningExit(outcome, status);
  const message = outcome.error?.message ?? "planning failed";
  const problems = outcome.problems.map(locateProblem);
  if (run.json) {
    writeStdout(`${
      JSON.stringify(plannerDocument(session, {
        subtype,
        summary,
        prior,
        error: { message, node_id: outcome.error?.node_id ?? null, type: outcome.error?.type ?? "PlanningError" },
        workflowName: plannedName(outcome),
        problems,
      }))
    }\n`);
  } else {
    run.logger.error(status === "interrupted" ? "interrupted while planning" : `planning failed: ${message}`);
    for (const p of problems) run.logger.error(`${p.pointer || "/"}: ${p.message}`);
    reportSummary(run, prior, summary, false);
  }
  return code;
}

/**
 * The command that runs the plan with the inputs given so far and a placeholder for each missing one. A secret
 * (a secret-named input, or a value holding a known secret) gets the placeholder too: it would be printed as
 * `[REDACTED]`, and the command copied would run with that text. A plan that reads piped stdin (`${stdin}`, or
 * an input piped stdin filled) is run as `… | pflow run …`: the data must be piped to it again.
 */
function rerunCommand(
  outcome: PlanOutcome,
  context: {
    home: string;
    loaded: { ir: WorkflowIR; file: string };
    given: Record<string, unknown>;
    missing: PlanOutcome["missingInputs"];
    stdinPiped: boolean;
  },
): string {
  const { ir, file } = context.loaded;
  const target = outcome.path === "reuse" ? savedTargetArgs(context.home, outcome.reusedWorkflow!) : [file];
  const redactor = outputRedactor();
  const known = Object.entries(context.given).map(([k, v]) => {
    const text = typeof v === "string" ? v : JSON.stringify(v);
    return isSecretName(k) || redactor.text(text) !== text ? `${k}=VALUE` : `${k}=${shellWord(text)}`;
  });
  const missing = context.missing.map((m) => `${m.name}=VALUE`);
  const use = stdinUse(ir);
  const piped = use.stdinTemplates ||
    (context.stdinPiped && use.stdinInputs.some((name) => !Object.hasOwn(context.given, name)));
  return [...(piped ? ["…", "|"] : []), "pflow", "run", ...target.map(shellWord), ...known, ...missing].join(" ");
}

/** Reports required inputs nothing filled (exit 2): each with its description, and the command that reruns with them. */
function reportMissingInputs(
  session: Session,
  context: {
    outcome: PlanOutcome;
    prior: PriorPhase;
    summary: ReturnType<typeof summarizeRun>;
    missing: PlanOutcome["missingInputs"];
    command: string;
  },
): number {
  const { prior, summary, missing, outcome, command } = context;
  const { run } = session;
  if (run.json) {
    writeStdout(`${
      JSON.stringify(plannerDocument(session, {
        subtype: "error_missing_inputs",
        summary,
        prior,
        error: {
          message: `missing required input${missing.length === 1 ? "" : "s"}: ${missing.map((m) => m.name).join(", ")}`,
          node_id: null,
          type: "MissingInputs",
        },
        workflowName: plannedName(outcome),
        extra: { missing_inputs: missing, rerun_command: command },
      }))
    }\n`);
  } else {
    for (const m of missing) {
      run.logger.error(`missing required input '${m.name}' (${m.type})${m.description ? `: ${m.description}` : ""}`);
    }
    // What planning cost, as every other planning that ends the command says.
    reportSummary(run, prior, summary, false);
    run.logger.notice(`Run it with: ${command}`, { rerun_command: command });
    for (const notice of prior.notices) run.logger.notice(notice);
  }
  return EXIT.usage;
}

/** Reports a planned workflow that never started: invalid params or environment, or an interrupt. */
function reportEndedEarly(
  session: Session,
  context: {
    outcome: PlanOutcome;
    prior: PriorPhase;
    summary: ReturnType<typeof summarizeRun>;
    error: ValidationError | UsageError | InterruptedError;
  },
): number {
  const { outcome, prior, summary, error } = context;
  const { run } = session;
  const interrupted = error instanceof InterruptedError;
  if (run.json) {
    writeStdout(`${
      JSON.stringify(plannerDocument(session, {
        subtype: interrupted ? "error_interrupted" : "error_validation",
        summary,
        prior,
        error: { message: error.message, node_id: null, type: error.name },
        workflowName: plannedName(outcome),
        problems: error instanceof ValidationError ? error.problems : undefined,
      }))
    }\n`);
  }
  for (const line of error instanceof ValidationError ? error.message.split("\n") : [error.message]) {
    run.logger.error(line);
  }
  if (error instanceof UsageError && !run.json && run.logger.format === "text") {
    printError("Run 'pflow plan --help' for usage.");
  }
  if (run.verbose && error.stack) run.logger.stack(error.stack, (text) => printError(text, { multiline: true }));
  if (!run.json) {
    reportSummary(run, prior, summary, false);
    for (const notice of prior.notices) run.logger.notice(notice);
  }
  return interrupted ? interruptExitCode() : EXIT.usage;
}

/** `--dry-run`: the plan, validated and written, not run. */
function reportDryRun(
  session: Session,
  context: {
    outcome: PlanOutcome;
    prior: PriorPhase;
    summary: ReturnType<typeof summarizeRun>;
    loaded: string;
    inputs: Record<string, unknown>;
    /** Required inputs nothing fills yet (shown, not an error: nothing runs). */
    missing: PlanOutcome["missingInputs"];
    /** The command that runs the plan (placeholders for the missing inputs). */
    rerun: string;
  },
): number {
  const { outcome, prior, summary } = context;
  const { run } = session;
  const workflow = outcome.workflow!;
  if (run.json) {
    const doc = plannerDocument(session, {
      subtype: "success",
      summary,
      prior,
      error: null,
      workflowName: plannedName(outcome),
      extra: {
        workflow,
        params: context.inputs,
        missing_inputs: context.missing,
        rerun_command: context.rerun,
        dry_run: true,
      },
    });
    writeStdout(`${JSON.stringify(doc)}\n`);
  } else {
    writeDisplay(`${describePlan(workflow, { inputs: context.inputs, file: context.loaded, outcome })}\n`);
    for (const notice of prior.notices) run.logger.notice(notice);
    reportSummary(run, prior, summary, true);
  }
  return EXIT.ok;
}

/** A plan for people: what it is, its inputs (with the values it would get), nodes and edges, and its file. */
export function describePlan(
  workflow: WorkflowIR,
  context: { inputs: Record<string, unknown>; file: string; outcome: PlanOutcome },
): string {
  const { outcome } = context;
  // Each text of the model's goes on one line: a newline in it is shown as `\n`, as other controls are.
  const one = (text: string) => escapeControls(text, { keepNewlines: false });
  const how = outcome.path === "reuse" ? `reused saved workflow ${outcome.reusedWorkflow}` : "generated";
  const lines = [`Plan: ${one(workflow.name ?? "(unnamed)")} (${how})`];
  if (workflow.description) lines.push(`  ${one(workflow.description)}`);
  const inputs = Object.entries(workflow.inputs ?? {});
  if (inputs.length > 0) {
    lines.push("", "Inputs:");
    const width = Math.max(...inputs.map(([name]) => one(name).length));
    for (const [name, input] of inputs) {
      const value = Object.hasOwn(context.inputs, name)
        ? ` = ${JSON.stringify(context.inputs[name])}`
        : input.default !== undefined
        ? ` = ${JSON.stringify(input.default)} (default)`
        : input.required === false
        ? ""
        : " (missing)";
      lines.push(
        `  ${one(name).padEnd(width)}  ${input.type ?? "any"}${value}${
          input.description ? `  ${one(input.description)}` : ""
        }`,
      );
    }
  }
  lines.push("", "Nodes:");
  workflow.nodes.forEach((node, i) => {
    const batch = node.batch ? ` ×batch(${typeof node.batch.items === "string" ? one(node.batch.items) : "list"})` : "";
    lines.push(`  ${i + 1}. ${node.id} (${node.type})${batch}${node.purpose ? `: ${one(node.purpose)}` : ""}`);
  });
  const edges = workflow.edges ?? [];
  if (edges.length > 0) {
    lines.push("", "Edges:");
    for (const e of edges) {
      lines.push(`  ${e.from} → ${e.to}${e.action && e.action !== "default" ? ` (${e.action})` : ""}`);
    }
  }
  const outputs = Object.entries(workflow.outputs ?? {});
  if (outputs.length > 0) {
    lines.push("", "Outputs:");
    for (const [name, o] of outputs) {
      lines.push(`  ${one(name)}: ${one(o.source)}${o.description ? `  ${one(o.description)}` : ""}`);
    }
  }
  lines.push("", `File: ${context.file}`);
  return lines.join("\n");
}

/** The JSON result document of a planning that did not run a workflow. */
function plannerDocument(
  session: Session,
  context: {
    subtype: string;
    summary: ReturnType<typeof summarizeRun>;
    prior: PriorPhase;
    error: { message: string; node_id: string | null; type: string } | null;
    workflowName: string | null;
    problems?: Problem[];
    extra?: Record<string, unknown>;
  },
): Record<string, unknown> {
  const { run } = session;
  const { metrics, ...summary } = context.summary;
  return {
    type: "result",
    subtype: context.subtype,
    is_error: context.subtype !== "success",
    result: null,
    error: context.error
      ? { ...context.error, ...(context.problems?.length ? { problems: context.problems } : {}) }
      : null,
    execution_id: run.executionId,
    session_id: run.executionId,
    workflow_name: context.workflowName,
    duration_ms: runDuration(run),
    duration_planner_ms: ms2(context.prior.durationMs),
    ...summary,
    num_turns: summary.num_llm_calls,
    metrics: metrics ?? {},
    ...context.prior.document,
    ...(context.prior.tracePath !== undefined ? { planner_trace_path: context.prior.tracePath } : {}),
    ...context.extra,
  };
}

/**
 * The reused or generated workflow's name, when planning got that far; redacted with every secret planning
 * learned (the model may name a plan after a token it was given): the name goes as written to the ledger, the
 * Pushgateway group and OTLP metrics.
 */
function plannedName(outcome: PlanOutcome): string | null {
  if (outcome.reusedWorkflow !== null) return outputRedactor().text(outcome.reusedWorkflow);
  const workflow = (outcome.workflow ?? outcome.run.shared.workflow) as WorkflowIR | null | undefined;
  return typeof workflow?.name === "string" ? outputRedactor().text(workflow.name) : null;
}

/** A validator problem of a generated workflow (no file: the plan was never written). */
function locateProblem(problem: Problem): Problem {
  return { pointer: problem.pointer ?? "", message: problem.message };
}

/**
 * The summary of a planning that ends the command, on stderr: the text line (see {@link summaryLabel}), or
 * with `--log-format json` one record, as a run's summary is.
 */
function reportSummary(
  run: Session["run"],
  prior: PriorPhase,
  summary: ReturnType<typeof summarizeRun>,
  ok: boolean,
): void {
  if (run.logger.format !== "json") {
    printError(summaryLabel(prior, summary, run.style, ok));
    return;
  }
  run.logger.notice("planning summary", {
    status: ok ? "success" : "failed",
    planned: prior.label,
    duration_ms: ms2(prior.durationMs),
    llm_calls: summary.num_llm_calls,
    total_cost_usd: summary.total_cost_usd,
    usage: summary.usage,
  });
}

/** The text summary of the planning alone: `✓ planned (generate, 1 call, $0.0042) · 2.1s`. */
function summaryLabel(prior: PriorPhase, summary: ReturnType<typeof summarizeRun>, style: Style, ok: boolean): string {
  const u = summary.usage;
  const tokens = u.input_tokens + u.cache_read_input_tokens + u.cache_creation_input_tokens + u.output_tokens;
  const mark = ok ? style.green("✓") : style.red("✗");
  return `${mark} ${prior.label} · ${formatDuration(prior.durationMs)} · ${formatCount(tokens)} tokens`;
}
