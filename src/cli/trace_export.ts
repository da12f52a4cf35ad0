/**
 * `pflow trace export PATH|latest --format otlp-json [-o FILE]`: a run trace
 * as an OTLP/JSON `TracesData` document (one line), on stdout or written
 * atomically to FILE. Resource from OTEL_SERVICE_NAME and
 * OTEL_RESOURCE_ATTRIBUTES (default service.name `pflow`). Loads no
 * OpenTelemetry package.
 * @module
 */
import { resourceOptionsFromEnv, traceToOtlpJson } from "../observability/otlp_json.ts";
import type { TraceDocument } from "../observability/trace_format.ts";
import { outputFileDocument, writeOutputFile } from "./output_file.ts";
import { jsonFlag, parseCommand } from "./args.ts";
import { showHelp } from "./show_help.ts";
import { type CommandEnv, EXIT } from "./command.ts";
import { locateTrace, TraceReadError } from "./trace_list.ts";
import { printError, writeStdout } from "./terminal.ts";
import { UsageError } from "./usage_error.ts";
import { fileErrorReason } from "../util/file_errors.ts";

/** Export formats. */
const FORMATS = ["otlp-json"] as const;

const USAGE = "usage: pflow trace export PATH|latest --format otlp-json [-o FILE]";

/** Runs `pflow trace export …`; returns the exit code. */
export async function traceExportCommand(argv: string[], { env }: CommandEnv): Promise<number> {
  const parsed = parseCommand(argv, {
    command: "trace",
    subcommand: "export",
    flags: { format: { type: "string" }, output: { type: "string", short: "o" } },
  });
  if (parsed.values.help) return showHelp("trace");
  const [target, ...extra] = parsed.positionals;
  if (target === undefined) throw new UsageError(`missing trace: ${USAGE}`, "trace");
  if (extra.length > 0) throw new UsageError(`unexpected argument '${extra[0]}': ${USAGE}`, "trace");
  const format = parsed.values.format as string | undefined;
  if (format === undefined) {
    return fail(`--format is required: pflow trace export ${target} --format otlp-json`);
  }
  if (!(FORMATS as readonly string[]).includes(format)) {
    return fail(`unknown export format '${format}': use ${FORMATS.join(", ")}`);
  }
  const output = parsed.values.output as string | undefined;
  if (output === "") return fail("-o needs a file name");

  let path: string;
  let trace: TraceDocument;
  try {
    // The same lookup as `trace show` (a path, a name in PFLOW_HOME/debug, or latest).
    const read = await locateTrace(target, env);
    path = read.path;
    trace = read.trace;
  } catch (error) {
    return fail(error instanceof TraceReadError ? error.message : `cannot read trace ${target}: ${reason(error)}`);
  }

  let text: string;
  try {
    text = `${
      JSON.stringify(traceToOtlpJson(trace, resourceOptionsFromEnv(env, { warn: (m) => printError(`warning: ${m}`) })))
    }\n`;
  } catch (error) {
    return fail(`cannot export trace ${path}: ${reason(error)}`);
  }

  if (output === undefined) {
    writeStdout(text);
    return EXIT.ok;
  }
  const failed = await writeOutputFile(output, text);
  if (failed !== undefined) return fail(failed);
  // JSON mode's one document: where the export went, and from which trace (as `trace show --html`).
  if (jsonFlag(parsed.values) !== undefined) writeStdout(outputFileDocument(output, { trace: path }));
  return EXIT.ok;
}

function fail(message: string): number {
  printError(`error: ${message}`);
  return EXIT.usage;
}

/** A one-line reason: a file-system error's meaning, or why the text is no trace. */
function reason(error: unknown): string {
  if (error instanceof SyntaxError) return `not a pflow trace (${error.message.split("\n")[0]})`;
  return fileErrorReason(error);
}
