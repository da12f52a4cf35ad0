/**
 * `pflow validate FILE|NAME [key=value ...]`: static validation only, with
 * the messages, exit codes and JSON problem list of `pflow run`; nothing is
 * executed. What a coding agent that writes workflows calls first.
 * @module
 */
import { BUILTIN_NODES } from "../nodes/mod.ts";
import { type Problem, ValidationError } from "../workflow/errors.ts";
import { NodeRegistry } from "../workflow/registry.ts";
import { parseCommand, parseParams } from "./args.ts";
import { type CommandEnv, EXIT } from "./command.ts";
import { HELP } from "./help.ts";
import { loadSettings, pflowHome } from "./home.ts";
import { printError, writeStdout } from "./terminal.ts";
import { UsageError } from "./usage_error.ts";
import { loadTarget, runProblems, targetName, workflowName } from "./workflow_target.ts";

/** The JSON document of `pflow validate --output-format json`. */
export interface ValidationReport {
  type: "validation";
  valid: boolean;
  is_error: boolean;
  workflow_name: string | null;
  file: string | null;
  /** Every problem, as `pflow run`'s `error.problems`. */
  problems: Problem[];
  /** Notices of node checks (a param with no effect here). */
  warnings: string[];
  /** As in `pflow run`'s result document: null when valid. */
  error: { message: string; type: string; problems?: Problem[] } | null;
}

/** Runs `pflow validate …`; returns the exit code. */
export async function validateCommand(argv: string[], { env }: CommandEnv): Promise<number> {
  const json = argv.includes("--json") || argv.includes("--output-format=json") ||
    argv.some((a, i) => a === "--output-format" && argv[i + 1] === "json");
  const report: ValidationReport = {
    type: "validation",
    valid: false,
    is_error: true,
    workflow_name: null,
    file: null,
    problems: [],
    warnings: [],
    error: null,
  };
  try {
    const parsed = parseCommand(argv, { command: "validate", flags: {} });
    if (parsed.values.help) {
      writeStdout(`${HELP.validate}\n`);
      return EXIT.ok;
    }
    const [target, ...rest] = parsed.positionals;
    if (target === undefined) throw new UsageError("missing workflow: pflow validate FILE.json|NAME", "validate");
    const paramText = parseParams(rest, "validate");
    const home = pflowHome(env);
    const settings = await loadSettings(home);
    // Until the workflow is read, it is named by the target (what a file that cannot be read is reported as).
    report.file = target;
    report.workflow_name = targetName(target);
    const loaded = await loadTarget(target, home);
    report.file = loaded.file;
    report.workflow_name = workflowName(loaded);
    const { problems } = await runProblems(loaded, {
      registry: new NodeRegistry(BUILTIN_NODES),
      env,
      settings,
      warn: (message) => {
        report.warnings.push(message);
        if (!json) printError(`warning: ${message}`);
      },
      paramText,
      // Nothing runs, so stdin is never read; inputs are checked when params are given.
      stdin: "unknown",
      checkInputs: rest.length > 0,
    });
    if (problems.length > 0) throw new ValidationError(problems);
    report.valid = true;
    report.is_error = false;
    if (json) writeStdout(`${JSON.stringify(report)}\n`);
    else {
      const nodes = Array.isArray(loaded.ir.nodes) ? loaded.ir.nodes.length : 0;
      writeStdout(`✓ ${loaded.file} is valid (${nodes} node${nodes === 1 ? "" : "s"})\n`);
    }
    return EXIT.ok;
  } catch (error) {
    if (!(error instanceof ValidationError) && !(error instanceof UsageError)) throw error;
    const problems = error instanceof ValidationError ? error.problems : [];
    // A saved workflow that cannot be read: its problems name its file.
    const files = new Set(problems.map((p) => p.file));
    if (report.file !== null && files.size === 1 && typeof [...files][0] === "string") report.file = [...files][0]!;
    report.problems = problems;
    report.error = { message: error.message, type: error.name, ...(problems.length ? { problems } : {}) };
    if (json) writeStdout(`${JSON.stringify(report)}\n`);
    for (const line of error instanceof ValidationError ? error.message.split("\n") : [error.message]) {
      printError(`error: ${line}`);
    }
    if (error instanceof UsageError) printError("Run 'pflow validate --help' for usage.");
    return EXIT.usage;
  }
}
