/**
 * The pflow command-line entry. Only argument dispatch is loaded eagerly;
 * each command's module is imported when that command runs, so
 * `pflow --version` stays fast.
 * @module
 */
import { VERSION } from "../version.ts";
import { asksVerbose, COMMANDS, EXIT } from "./command.ts";
import { UsageError } from "./usage_error.ts";
import { HELP } from "./help.ts";
import { setHelpJson, showHelp } from "./show_help.ts";
import { lastErrorLine, printError, reportStdoutFailure, stdoutWritten, writeStdout } from "./terminal.ts";
import { Redactor, setOutputRedactor } from "../observability/redact.ts";

/** Runs the CLI with `argv` (without the program name); returns the exit code. */
export async function main(args: string[], env: Record<string, string | undefined> = process.env): Promise<number> {
  const started = performance.now();
  const argv = globalsAfterCommand(args);
  const verbose = asksVerbose(argv);
  // `--format json` is JSON mode only where it is a format of the command's result (`cost report`).
  const formatJson = argv[0] === "cost" &&
    (args.includes("--format=json") || args.some((a, i) => a === "--format" && args[i + 1] === "json"));
  const json = formatJson || args.includes("--json") || args.includes("--output-format=json") ||
    args.some((a, i) => a === "--output-format" && args[i + 1] === "json");
  // API keys in the environment never appear in anything pflow prints.
  setOutputRedactor(Redactor.fromEnv(env));
  setHelpJson(json);
  let code: number;
  let failure: Error | undefined;
  try {
    // Only global flags (`pflow -v`, `pflow --output-format xml`): checked before the usage is shown.
    if (argv.length === 0) await globalFlagsOnly(args, 0);
    code = await dispatch(argv, { env, json });
  } catch (error) {
    failure = error instanceof Error ? error : new Error(String(error));
    code = reportError(error, verbose);
  }
  // A result stdout could not take (disk full): one line, and exit 74 for a command that otherwise succeeded.
  if (reportStdoutFailure() && code === 0) code = EXIT.output;
  // In JSON mode stdout holds one document, also when a command stopped before writing its own.
  if (json && code !== 0 && !stdoutWritten()) {
    await writeErrorDocument({
      message: failure?.message ?? lastErrorLine() ?? `exit ${code}`,
      type: failure?.name ?? "Error",
      subtype: code === 2 ? "error_validation" : code >= 128 ? "error_interrupted" : "error_during_execution",
      durationMs: performance.now() - started,
    });
  }
  return code;
}

/** Runs the command `argv` names; returns its exit code. */
async function dispatch(
  argv: string[],
  options: { env: Record<string, string | undefined>; json: boolean },
): Promise<number> {
  const { env, json } = options;
  const [first, ...rest] = argv;
  if (first === "--version" || first === "-V") {
    // Global flags only: `pflow --version --bogus` is an unknown flag as anywhere (the parser loaded only then).
    if (rest.length > 0) await globalFlagsOnly(rest, 0);
    writeStdout(json ? `${JSON.stringify({ name: "pflow", version: VERSION })}\n` : `pflow ${VERSION}\n`);
    return 0;
  }
  // In JSON mode stdout holds one JSON document: no help text there.
  if (first === undefined && json) {
    throw new UsageError('missing command: pflow run FILE.json|NAME, pflow "REQUEST" or pflow COMMAND');
  }
  // Help asked for is a result (stdout); help instead of a missing command is an error (stderr, exit 2).
  if (first === undefined) return showHelp("", { asked: false });
  if (first === "--help" || first === "-h") return showHelp("");
  if (first === "help") {
    const [word = ""] = await globalFlagsOnly(rest, 1);
    // `pflow help help`: the top level's, which lists the commands help is for.
    const topic = word === "help" ? "" : word;
    if (!Object.hasOwn(HELP, topic)) throw new UsageError(`no help for '${topic}'`);
    return showHelp(topic);
  }
  if (first === "workflow") return await (await import("./workflow_command.ts")).workflowCommand(rest, { env });
  if (first === "registry") return await (await import("./registry_command.ts")).registryCommand(rest, { env });
  if (first === "pricing") return await (await import("./pricing_command.ts")).pricingCommand(rest, { env });
  if (first === "trace") return await (await import("./trace_command.ts")).traceCommand(rest, { env });
  if (first === "plan") return await (await import("./plan_command.ts")).planCommand(rest, { env });
  if (first === "validate") return await (await import("./validate_command.ts")).validateCommand(rest, { env });
  if (first === "completion") {
    return await (await import("./completion_command.ts")).completionCommand(rest, { env });
  }
  if (first === "cost") return await (await import("./cost_command.ts")).costCommand(rest, { env });
  if (first === "metrics") return await (await import("./metrics_command.ts")).metricsCommand(rest, { env });
  if (first !== "--" && argv.every((a) => a.startsWith("-"))) {
    // Flags and no workflow (`pflow --bogus`, `pflow --output-format`): a flag error is the top level's, not run's.
    const [{ parseCommand }, { RUN_FLAGS }] = await Promise.all([import("./args.ts"), import("./run_command.ts")]);
    parseCommand(argv, { command: "", flags: RUN_FLAGS });
  }
  if (first.startsWith("-") && first !== "--") {
    // `pflow --trace run wf.json`, `pflow --no-ledger trace list`: a run's flags, then a command.
    const moved = await flagsBeforeCommand(argv, env);
    if (moved !== undefined) return await dispatch(moved, options);
  }
  const runArgs = first === "run" ? rest : argv;
  if (first.trim() === "") {
    throw new UsageError(
      `the first argument is empty: give a command, a workflow file, a saved workflow or a request in quotes ` +
        `(pflow "what you want done")`,
    );
  }
  // A request in plain words: not a command, an existing file or a saved workflow, and more than one word.
  const request = /\s/.test(first.trim());
  if (first !== "run" && !first.startsWith("-") && (request || !looksLikeWorkflow(first))) {
    const { targetKind } = await import("./workflow_target.ts");
    const kind = await targetKind(first, env);
    if (kind === undefined && request) {
      return await (await import("./plan_command.ts")).planCommand(argv, { env });
    }
    if (kind === undefined && !looksLikeWorkflow(first)) {
      const { closeTarget } = await import("./workflow_target.ts");
      const { pflowHome } = await import("./home.ts");
      const hint = await closeTarget(first, pflowHome(env), COMMANDS);
      throw new UsageError(
        `unknown command '${first}'${hint}; commands: ${COMMANDS.join(", ")} (or a workflow file, a saved ` +
          `workflow, or a request in quotes: pflow "what you want done")`,
      );
    }
  }
  return await (await import("./run_command.ts")).runCommand(runArgs, { env });
}

/**
 * `argv` for a command named after flags other than the global ones (`pflow --trace run wf.json`, `pflow
 * --dry-run trace prune`): the command first, the flags after it (after its subcommand, where it parses them),
 * when the command takes them; `plan` before them all when a request in plain words follows the flags (`pflow
 * --dry-run "summarize x"`); undefined when no command's name follows the flags, or when a file or saved
 * workflow has that name (`pflow --trace run` with a file `run` here runs it, the flags being its run's, as
 * when no command has the name). A flag the command does not take is a usage error naming both
 * (`'--no-ledger' is not a flag of 'pflow trace'`): read as a run's flags, the command's name would be the
 * workflow, and its own words unexpected arguments.
 */
async function flagsBeforeCommand(argv: string[], env: Record<string, string | undefined>): Promise<
  string[] | undefined
> {
  const [{ GLOBAL_OPTIONS }, { PLAN_FLAGS }] = await Promise.all([import("./args.ts"), import("./plan_command.ts")]);
  const spec: Record<string, { type: string; short?: string }> = { ...GLOBAL_OPTIONS, ...PLAN_FLAGS };
  const shortName = (letter: string) => Object.keys(spec).find((name) => spec[name].short === letter);
  // The flags as written, each with the long names a command is asked to take (`-o`: `--output` there).
  const flags: { text: string; names: string[] }[] = [];
  let i = 0;
  while (i < argv.length && argv[i].startsWith("-") && argv[i] !== "-" && argv[i] !== "--") {
    const arg = argv[i];
    let takesNext = false;
    const names: string[] = [];
    if (arg.startsWith("--")) {
      const name = arg.slice(2).split("=")[0];
      names.push(`--${name}`);
      takesNext = !arg.includes("=") && spec[name]?.type === "string";
    } else {
      for (let j = 1; j < arg.length; j++) {
        const name = shortName(arg[j]);
        names.push(name === "output-key" ? "--output" : `--${name ?? arg[j]}`);
        // A short flag that takes a value takes the rest of the word, else the next one.
        if (name !== undefined && spec[name].type === "string") {
          takesNext = j === arg.length - 1;
          break;
        }
      }
    }
    const end = takesNext ? i + 2 : i + 1;
    flags.push({ text: argv.slice(i, end).join(" "), names });
    i = end;
  }
  const command = argv[i];
  if (command === undefined) return undefined;
  const { targetKind } = await import("./workflow_target.ts");
  // A request in plain words after the flags (`pflow --dry-run "summarize x"`): planned, its flags with it.
  if (!COMMANDS.includes(command)) {
    return /\s/.test(command.trim()) && await targetKind(command, env) === undefined ? ["plan", ...argv] : undefined;
  }
  if (await targetKind(command, env) !== undefined) return undefined;
  const before = argv.slice(0, i);
  const after = argv.slice(i + 1);
  if (command === "run" || command === "plan") return [command, ...before, ...after];
  const { SUBCOMMAND_FLAGS } = await import("./subcommand_flags.ts");
  const taken = new Set([
    ...Object.keys(GLOBAL_OPTIONS).map((name) => `--${name}`),
    ...Object.entries(SUBCOMMAND_FLAGS).filter(([key]) => key.startsWith(`${command} `)).flatMap(([, f]) => f),
    ...(OWN_FLAGS[command] ?? []),
  ]);
  const foreign = flags.find((flag) => flag.names.some((name) => !taken.has(name)));
  if (foreign !== undefined) {
    const flag = foreign.text.split(/[ =]/)[0];
    throw new UsageError(`'${flag}' is not a flag of 'pflow ${command}'`, command);
  }
  const sub = after[0];
  return WITH_SUBCOMMANDS.has(command) && sub !== undefined && !sub.startsWith("-")
    ? [command, sub, ...before, ...after.slice(1)]
    : [command, ...before, ...after];
}

/** The flags of commands without subcommands that a run's flags could be (for {@link flagsBeforeCommand}). */
const OWN_FLAGS: Record<string, string[]> = {
  pricing: ["--price-table"],
  metrics: ["--format", "--output", "--since", "--listen"],
};

/**
 * The words of `args` (at most `max`) once its flags are checked: only the global ones are taken, a usage
 * error pointing at `pflow --help` otherwise.
 */
async function globalFlagsOnly(args: string[], max: number): Promise<string[]> {
  const { parseCommand } = await import("./args.ts");
  const { positionals } = parseCommand(args, { command: "", flags: {} });
  if (positionals.length > max) throw new UsageError(`unexpected argument '${positionals[max]}'`);
  return positionals;
}

/**
 * The JSON result document of a command that failed without writing one
 * (`error_validation` for exit 2, as `pflow run` reports a bad target).
 */
async function writeErrorDocument(
  error: { message: string; type: string; subtype: string; durationMs: number },
): Promise<void> {
  const { validationDocument } = await import("./result_document.ts");
  const doc = validationDocument(error.message.replace(/^error: /, ""), {
    executionId: crypto.randomUUID(),
    workflowName: null,
    type: error.type,
    durationMs: error.durationMs,
  });
  writeStdout(`${JSON.stringify({ ...doc, subtype: error.subtype })}\n`);
}

/**
 * Moves global flags written before the command (`pflow -v run wf.json`,
 * `pflow --output-format json wf.json`) to just after it, where every
 * command parses them.
 */
export function globalsAfterCommand(argv: string[]): string[] {
  const globals: string[] = [];
  const i = takeGlobals(argv, 0, globals);
  // Only global flags: `pflow -h` asks for help; `pflow -v` alone is no command at all.
  if (i === argv.length) return globals.length === 0 ? argv : asksHelp(globals) ? ["--help"] : [];
  const command = argv[i];
  // `pflow -v -- wf.json`: the run shorthand, whose parser takes the flags before `--` as they are. So do those
  // of a run's flag (`pflow --json --max-budget-usd 1 wf.json`: put after it, they would take its value's place).
  if (command === "--" || (command.startsWith("-") && command !== "-" && command !== "--version" && command !== "-V")) {
    return argv;
  }
  if (WITH_SUBCOMMANDS.has(command)) {
    // A command with subcommands (`pflow -v trace list`, `pflow trace --json list`) parses its flags after the
    // subcommand.
    const between: string[] = [];
    const j = takeGlobals(argv, i + 1, between);
    const sub = argv[j];
    if (sub !== undefined && !sub.startsWith("-")) return [command, sub, ...globals, ...between, ...argv.slice(j + 1)];
    // `pflow trace --json`: no subcommand; JSON mode and --verbose are read from the whole command line.
    if (sub === undefined && between.length + globals.length > 0 && command !== "metrics") {
      return asksHelp(between) || asksHelp(globals) ? [command, "--help"] : [command];
    }
  }
  return globals.length === 0 ? argv : [command, ...globals, ...argv.slice(i + 1)];
}

/** Appends the global flags of `argv` from `start` on to `into`; returns the index of the first other argument. */
function takeGlobals(argv: string[], start: number, into: string[]): number {
  let i = start;
  for (; i < argv.length; i++) {
    const arg = argv[i];
    if (["-v", "--verbose", "--json", "-h", "--help"].includes(arg) || arg.startsWith("--output-format=")) {
      into.push(arg);
    } else if (arg === "--output-format" && i + 1 < argv.length) {
      into.push(arg, argv[++i]);
    } else break;
  }
  return i;
}

function asksHelp(flags: string[]): boolean {
  return flags.some((flag) => flag === "-h" || flag === "--help");
}

/** The commands whose first argument is a subcommand (`trace list`, `cost report`, `metrics serve`…). */
const WITH_SUBCOMMANDS = new Set(["trace", "cost", "workflow", "registry", "pricing", "metrics"]);

function looksLikeWorkflow(arg: string): boolean {
  return arg.endsWith(".json") || arg.includes("/") || arg.includes("\\");
}

function reportError(error: unknown, verbose: boolean): number {
  const err = error instanceof Error ? error : new Error(String(error));
  if (err instanceof UsageError) {
    printError(`error: ${err.message}`);
    printError(`Run 'pflow ${err.command ? `${err.command} ` : ""}--help' for usage.`);
    return 2;
  }
  if (err.name === "ValidationError") {
    for (const line of err.message.split("\n")) printError(`error: ${line}`);
    if (verbose && err.stack) printError(err.stack, { multiline: true });
    return 2;
  }
  printError(`error: ${err.message}`);
  if (verbose && err.stack) printError(err.stack, { multiline: true });
  return 1;
}

if (import.meta.main) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}
