/**
 * `pflow trace show [PATH|latest|TRACE_ID ...] --html [-o FILE] [--open]`:
 * writes the trace page (trace_page.ts) and prints its path. Several traces
 * of one run (a planner trace and its workflow trace) share the page's time
 * axis: given on the command line, found by trace id in PFLOW_HOME/debug, or
 * found through the link between them (the workflow trace's
 * `planner_trace`).
 * @module
 */
import { spawn } from "node:child_process";
import { accessSync, constants, existsSync, realpathSync, statSync } from "node:fs";
import { readdir } from "node:fs/promises";
import { basename, delimiter, dirname, extname, isAbsolute, join, resolve } from "node:path";
import { writeOutputFile } from "./output_file.ts";
import { PRIVATE_FILE_MODE } from "../util/private_files.ts";
import { outputRedactor } from "../observability/redact.ts";
import type { TraceDocument } from "../observability/trace_format.ts";
import { type CommandEnv, EXIT } from "./command.ts";
import { readTraceSummary } from "./trace_files.ts";
import { printError, writeStdout } from "./terminal.ts";
import { locateTrace, type ReadTrace, readTraceFile, traceDir, TraceReadError } from "./trace_list.ts";
import { renderTracePage } from "./trace_page.ts";
import { UsageError } from "./usage_error.ts";

/** What `trace show --html` was asked for. */
export interface TraceHtmlOptions {
  /** Paths, file names in PFLOW_HOME/debug, `latest`, or 32-hex trace ids. */
  targets: string[];
  /** `-o FILE` or `-o DIR`; default: the first trace's path with `.html`. */
  output?: string;
  /** Open the page with the system's opener. */
  open: boolean;
  /** Print a JSON document instead of the path. */
  json: boolean;
}

const TRACE_ID = /^[0-9a-f]{32}$/;

/** Writes the page; returns the exit code. */
export async function traceHtmlCommand(options: TraceHtmlOptions, { env }: CommandEnv): Promise<number> {
  if (options.output === "") throw new UsageError("-o needs a file name", "trace");
  let reads: ReadTrace[];
  try {
    reads = await collectTraces(options.targets.length > 0 ? options.targets : ["latest"], env);
  } catch (error) {
    if (error instanceof TraceReadError) {
      printError(`error: ${error.message}`);
      return EXIT.usage;
    }
    throw error;
  }
  const primary = reads[0];
  const ids = new Set(reads.map((r) => r.trace.trace_id));
  if (ids.size > 1) {
    printError(`note: these traces have different trace ids (${[...ids].join(", ")}); drawn on one axis by start time`);
  }
  reads.sort((a, b) => startOf(a) - startOf(b));

  const outPath = resolve(outputPath(options.output, primary.path));
  const redactor = outputRedactor();
  const page = renderTracePage(reads);
  // Beside its trace, the page is as private as the trace; a file the user names is written as any -o file.
  const failed = options.output === undefined
    ? await writeOutputFile(outPath, redactor.text(page), { mode: PRIVATE_FILE_MODE })
    : await writeOutputFile(outPath, redactor.text(page));
  if (failed !== undefined) {
    printError(`error: ${failed}${options.output === undefined ? "; choose a file with -o FILE" : ""}`);
    return options.output === undefined ? EXIT.failed : EXIT.usage;
  }
  if (options.json) {
    writeStdout(`${JSON.stringify({ html_path: outPath, traces: reads.map((r) => r.path) }, null, 2)}\n`);
  } else writeStdout(`${outPath}\n`);
  if (options.open) openWithSystem(outPath, env);
  return EXIT.ok;
}

/** The page's path: beside the trace by default; `-o DIR` (a directory, or a name ending in `/`) puts it there. */
function outputPath(output: string | undefined, tracePath: string): string {
  const page = htmlPathFor(tracePath);
  if (output === undefined) return page;
  const isDir = /[/\\]$/.test(output) || (() => {
    try {
      return statSync(output).isDirectory();
    } catch {
      return false;
    }
  })();
  return isDir ? join(output, basename(page)) : output;
}

/** `x.json` → `x.html` (any other name gets `.html` appended). */
export function htmlPathFor(tracePath: string): string {
  return extname(tracePath) === ".json" ? `${tracePath.slice(0, -5)}.html` : `${tracePath}.html`;
}

function startOf(read: ReadTrace): number {
  const ms = Date.parse(read.trace.start_time);
  return Number.isNaN(ms) ? 0 : ms;
}

/**
 * The traces to draw: each target (a trace id: every trace in
 * PFLOW_HOME/debug with that id), plus, for a single trace, the trace it is
 * linked with (a workflow trace's `planner_trace`, or the workflow traces
 * naming a planner trace). No file twice.
 */
async function collectTraces(targets: string[], env: Record<string, string | undefined>): Promise<ReadTrace[]> {
  const dir = traceDir(env);
  const reads: ReadTrace[] = [];
  const seen = new Set<string>();
  const add = (read: ReadTrace) => {
    const key = realKey(read.path);
    if (seen.has(key)) return;
    seen.add(key);
    reads.push(read);
  };
  for (const target of targets) {
    if (TRACE_ID.test(target) && !existsSync(target)) {
      const found = await tracesWithId(dir, target);
      if (found.length === 0) {
        throw new TraceReadError(dir, `no trace with trace id ${target} in ${dir}`);
      }
      for (const path of found) add(await readTraceFile(path));
    } else add(await locateTrace(target, env));
  }
  if (targets.length === 1 && !TRACE_ID.test(targets[0])) {
    for (const path of await linkedTraces(reads[0], dir)) {
      try {
        add(await readTraceFile(path));
      } catch (error) {
        if (!(error instanceof TraceReadError)) throw error;
        printError(`note: leaving out the linked trace ${path}: ${error.message}`);
      }
    }
  }
  return reads;
}

function realKey(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return resolve(path);
  }
}

/** The planner trace a workflow trace names, or the workflow traces that name this planner trace. */
async function linkedTraces(read: ReadTrace, dir: string): Promise<string[]> {
  const trace = read.trace as ReadTrace["trace"] & { planner_trace?: unknown };
  if (typeof trace.planner_trace === "string" && trace.planner_trace !== "") {
    const named = trace.planner_trace;
    const candidates = isAbsolute(named)
      ? [named, join(dir, basename(named))]
      : [join(dirname(read.path), named), join(dir, basename(named))];
    const found = candidates.find((p) => existsSync(p));
    if (found === undefined) {
      printError(`note: the planner trace ${named} that this trace names was not found`);
      return [];
    }
    return [found];
  }
  if (trace.kind !== "planner") return [];
  const name = basename(read.path);
  const linked: string[] = [];
  for (const path of await tracesWithId(dir, trace.trace_id)) {
    const header = await readHeader(path);
    if (typeof header?.planner_trace === "string" && basename(header.planner_trace) === name) linked.push(path);
  }
  return linked;
}

/** Trace files in `dir` (`*-trace-*.json`) whose header has this trace id, oldest name first. */
async function tracesWithId(dir: string, traceId: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const found: string[] = [];
  for (const name of names.filter((n) => /-trace-.*\.json$/.test(n)).sort()) {
    const header = await readHeader(join(dir, name));
    if (header?.trace_id === traceId) found.push(join(dir, name));
  }
  return found;
}

/** A trace file's header (read with its footer only, never its events), or undefined when unreadable. */
async function readHeader(path: string): Promise<TraceDocument | undefined> {
  try {
    return (await readTraceSummary(path)).trace;
  } catch {
    return undefined;
  }
}

/** The system's opener for this platform (`open`, `xdg-open`, `start`). */
function opener(platform: string): { command: string; args: (path: string) => string[] } {
  if (platform === "darwin") return { command: "open", args: (p) => [p] };
  if (platform === "win32") return { command: "cmd", args: (p) => ["/c", "start", "", p] };
  return { command: "xdg-open", args: (p) => [p] };
}

function onPath(command: string, env: Record<string, string | undefined>): boolean {
  for (const dir of (env.PATH ?? "").split(delimiter)) {
    if (dir === "") continue;
    try {
      accessSync(join(dir, command), constants.X_OK);
      return true;
    } catch { /* not here */ }
  }
  return false;
}

/** Starts the opener without waiting for it; without one, says how to open the page. */
function openWithSystem(path: string, env: Record<string, string | undefined>): void {
  const { command, args } = opener(process.platform);
  if (process.platform !== "win32" && !onPath(command, env)) {
    printError(`note: no system opener found (${command} is not on PATH); open ${path} in a browser`);
    return;
  }
  try {
    const child = spawn(command, args(path), { detached: true, stdio: "ignore", env: { ...process.env, ...env } });
    child.on("error", (error) => printError(`warning: could not open ${path} with ${command}: ${error.message}`));
    child.unref();
  } catch (error) {
    printError(`warning: could not open ${path} with ${command}: ${(error as Error).message}`);
  }
}
