/**
 * `pflow run`: load, validate, compile, run, print.
 * @module
 */
import { InterruptedError } from "../engine/mod.ts";
import { BUILTIN_NODES } from "../nodes/mod.ts";
import { compileWorkflow } from "../workflow/compiler.ts";
import { ValidationError } from "../workflow/errors.ts";
import { NodeRegistry } from "../workflow/registry.ts";
import { resolveInputs, type RunOptions, runWorkflow, type WorkflowResult } from "../workflow/run.ts";
import { parseCommand, type Parsed, parseParams } from "./args.ts";
import { HELP } from "./help.ts";
import { loadSettings, pflowHome } from "./home.ts";
import { progressObserver } from "./progress.ts";
import { runDocument, validationDocument } from "./result_document.ts";
import { abortOnSignals } from "./signals.ts";
import { needsStdin, readPipedStdin } from "./stdin.ts";
import { printError, stderrStyle, type Style, writeStdout } from "./terminal.ts";
import { checkOutputKey, formatOutputs } from "./text_output.ts";
import { UsageError } from "./usage_error.ts";
import { checkWorkflow, loadTarget, locatedError, workflowName } from "./workflow_target.ts";

/** Exit codes. */
export const EXIT = { ok: 0, failed: 1, usage: 2, interrupted: 130 } as const;

/** What the CLI entry gives a command. */
export interface CommandEnv {
  /** Environment variables. */
  env: Record<string, string | undefined>;
}

const RUN_FLAGS = { "output-key": { type: "string", short: "o" } } as const;

/** Per-invocation facts every exit path reports. */
interface Invocation {
  executionId: string;
  workflowName: string | null;
  json: boolean;
  verbose: boolean;
  style: Style;
  started: number;
}

/** Runs `pflow run ARGV…`; returns the exit code. */
export async function runCommand(argv: string[], { env }: CommandEnv): Promise<number> {
  const run: Invocation = {
    executionId: crypto.randomUUID(),
    workflowName: null,
    // Scanned before parsing, so even a flag error in JSON mode gets its JSON document.
    json: argv.includes("--json") || argv.includes("--output-format=json") ||
      argv.some((a, i) => a === "--output-format" && argv[i + 1] === "json"),
    verbose: argv.includes("--verbose") || argv.includes("-v"),
    style: stderrStyle(env),
    started: performance.now(),
  };
  // Installed first, so that waiting for piped stdin is interruptible too.
  const controller = new AbortController();
  const removeSignals = abortOnSignals(controller);
  try {
    const parsed = parseCommand(argv, { command: "run", flags: RUN_FLAGS });
    if (parsed.values.help) {
      writeStdout(`${HELP.run}\n`);
      return EXIT.ok;
    }
    const prepared = await prepare(parsed, run, { env, signal: controller.signal });
    const result = await runWorkflow(prepared.compiled, prepared.options);
    return report(result, run, prepared.outputKey);
  } catch (error) {
    if (error instanceof InterruptedError) return report(notStarted(run), run, undefined);
    if (error instanceof ValidationError || error instanceof UsageError) return reportInvalid(error, run);
    throw error;
  } finally {
    removeSignals();
  }
}

/** Everything before the first node runs: load, validate, compile, inputs, stdin. */
async function prepare(parsed: Parsed, run: Invocation, options: { env: CommandEnv["env"]; signal: AbortSignal }) {
  const { env, signal } = options;
  const [target, ...rest] = parsed.positionals;
  if (target === undefined) throw new UsageError("missing workflow: pflow run FILE.json [key=value ...]", "run");
  const params = parseParams(rest);
  const home = pflowHome(env);
  const settings = await loadSettings(home);
  const loaded = await loadTarget(target, home);
  run.workflowName = workflowName(loaded);
  const registry = new NodeRegistry(BUILTIN_NODES);
  await checkWorkflow(loaded, { registry, env, settings });
  const outputKey = parsed.values["output-key"] as string | undefined;
  if (outputKey !== undefined) checkOutputKey(outputKey, loaded);
  const compiled = compileWorkflow(loaded.ir, { registry });
  const stdin = needsStdin(compiled, params) ? await readPipedStdin(signal) : undefined;
  let inputs: Record<string, unknown>;
  try {
    inputs = resolveInputs(loaded.ir, params, { stdin });
  } catch (error) {
    throw error instanceof ValidationError ? await locatedError(error.problems, loaded) : error;
  }
  const runOptions: RunOptions = {
    inputs,
    stdin,
    signal,
    observer: !run.json && process.stderr.isTTY ? progressObserver(compiled, run.style) : undefined,
    warn: (message) => printError(run.style.yellow(`warning: ${message}`)),
    context: { env, llmSettings: settings },
  };
  return { compiled, options: runOptions, outputKey };
}

/** Prints the result (stdout) and any error (stderr); returns the exit code. */
function report(result: WorkflowResult, run: Invocation, outputKey: string | undefined): number {
  if (run.json) {
    writeStdout(`${JSON.stringify(runDocument(result, run))}\n`);
  } else if (result.status === "success") {
    writeStdout(formatOutputs(result, outputKey));
  }
  if (result.status === "success") return EXIT.ok;
  if (result.status === "interrupted") {
    if (!run.json) printError(run.style.yellow("interrupted"));
    return EXIT.interrupted;
  }
  if (!run.json) {
    const where = result.error?.node_id ? `node '${result.error.node_id}' failed: ` : "";
    printError(`${run.style.red("error:")} ${where}${result.error?.message}`);
  }
  const stack = (result.cause as Error | undefined)?.stack;
  if (run.verbose && stack) printError(stack);
  return EXIT.failed;
}

/** A run interrupted before its first node (e.g. while reading stdin). */
function notStarted(run: Invocation): WorkflowResult {
  return {
    status: "interrupted",
    outputs: {},
    error: { message: "interrupted", node_id: null, type: "Interrupted" },
    shared: {},
    duration_ms: performance.now() - run.started,
  };
}

/** Usage and validation errors: stderr lines, plus the JSON document in JSON mode; exit 2. */
function reportInvalid(error: ValidationError | UsageError, run: Invocation): number {
  if (run.json) {
    const doc = validationDocument(error.message, {
      executionId: run.executionId,
      workflowName: run.workflowName,
      problems: error instanceof ValidationError ? error.problems : undefined,
      type: error.name,
      durationMs: performance.now() - run.started,
    });
    writeStdout(`${JSON.stringify(doc)}\n`);
  }
  for (const line of error.message.split("\n")) printError(`${run.style.red("error:")} ${line}`);
  if (error instanceof UsageError) printError("Run 'pflow run --help' for usage.");
  if (run.verbose && error.stack) printError(error.stack);
  return EXIT.usage;
}
