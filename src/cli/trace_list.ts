/**
 * `pflow trace list`: the recent traces in PFLOW_HOME/debug, newest first.
 * Also the trace-file reading shared by `trace show` (and `latest`).
 * @module
 */
import { existsSync } from "node:fs";
import { readdir, readFile, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import {
  parseTraceText,
  PARTIAL_SUFFIX,
  TRACE_FORMAT_VERSION,
  type TraceDocument,
  type TraceStatus,
} from "../observability/trace_format.ts";
import { parseCommand } from "./args.ts";
import { HELP } from "./help.ts";
import { pflowHome } from "./home.ts";
import { type CommandEnv, EXIT } from "./command.ts";
import { formatUsd } from "./summary_line.ts";
import { formatDuration, printError, stdoutStyle, type Style, writeDisplay, writeStdout } from "./terminal.ts";
import { UsageError } from "./usage_error.ts";

/** Colour for stdout (re-exported for the trace commands). */
export { stdoutStyle };

/** Where traces are written: `PFLOW_HOME/debug`. */
export function traceDir(env: Record<string, string | undefined>): string {
  return resolve(pflowHome(env), "debug");
}

const TRACE_FILE = /^(?:workflow|planner)-trace-(.+)-(\d{8})-(\d{6})-([0-9A-Za-z]{1,8})(?:\.partial)?\.json$/;

/** A trace file could not be read or is not a pflow trace; the message names the path. */
export class TraceReadError extends Error {
  /** @param path the file @param message one line naming it */
  constructor(readonly path: string, message: string) {
    super(message);
    this.name = "TraceReadError";
  }
}

/** A readable trace as read from disk. */
export interface ReadTrace {
  path: string;
  /** The document (repaired when partial); in a summary read, `events` is empty. */
  trace: TraceDocument;
  /** False when the file lacked its footer. */
  complete: boolean;
  /** Node executions in the file. */
  eventCount: number;
  /** True when writing the file failed part-way (named `….partial.json`, or its footer says `write_error`). */
  partial?: boolean;
}

/** Reads and validates one trace file (repairing a partial one); throws {@link TraceReadError}. */
export async function readTraceFile(path: string): Promise<ReadTrace> {
  return parseTraceFile(path, await readText(path), false);
}

async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new TraceReadError(path, `trace file not found: ${path}`);
    if (code === "EISDIR") throw new TraceReadError(path, `${path}: is a directory, not a trace file`);
    if (code === "EACCES") throw new TraceReadError(path, `${path}: cannot read trace: permission denied`);
    throw new TraceReadError(path, `${path}: cannot read trace: ${(error as Error).message}`);
  }
}

function parseTraceFile(path: string, text: string, summaryOnly: boolean): ReadTrace {
  const quick = summaryOnly ? quickSummary(text) : undefined;
  if (quick !== undefined) return checkTrace(path, quick);
  let parsed;
  try {
    parsed = parseTraceText(text);
  } catch (error) {
    const reason = (error as Error).message;
    throw new TraceReadError(
      path,
      `${path}: ${reason.startsWith("not a pflow trace") ? reason : `not a pflow trace (${reason})`}`,
    );
  }
  const events = (parsed.trace as { events?: unknown })?.events;
  return checkTrace(path, {
    path,
    trace: parsed.trace,
    complete: parsed.complete,
    eventCount: Array.isArray(events) ? events.length : 0,
  });
}

const EVENTS_OPEN = '"events":[';

/**
 * A complete file's header and footer without parsing its events (the
 * writer puts the header on the first line and the footer on the last);
 * undefined when the file does not have that shape.
 */
function quickSummary(text: string): ReadTrace | undefined {
  const firstBreak = text.indexOf("\n");
  if (firstBreak < 0 || !text.slice(0, firstBreak).endsWith(EVENTS_OPEN)) return undefined;
  const body = text.trimEnd();
  const lastBreak = body.lastIndexOf("\n");
  if (lastBreak < firstBreak) return undefined;
  const footerLine = body.slice(lastBreak + 1);
  if (!footerLine.startsWith('],"')) return undefined;
  try {
    const header = JSON.parse(`${text.slice(0, firstBreak)}]}`);
    const footer = JSON.parse(`{${footerLine.slice(2)}`);
    if (footer.final_status === undefined || footer.metrics === undefined) return undefined;
    const eventCount = lastBreak === firstBreak ? 0 : body.slice(firstBreak + 1, lastBreak).split("\n").length;
    return { path: "", trace: { ...header, ...footer }, complete: true, eventCount };
  } catch {
    return undefined;
  }
}

function checkTrace(path: string, read: ReadTrace): ReadTrace {
  const doc = read.trace as unknown as Record<string, unknown> | null;
  const fail = (why: string) => {
    throw new TraceReadError(path, `${path}: not a pflow trace (${why})`);
  };
  if (doc === null || typeof doc !== "object" || Array.isArray(doc)) fail("not a JSON object");
  if (typeof doc!.format_version !== "number") fail("no format_version");
  if ((doc!.format_version as number) > TRACE_FORMAT_VERSION) {
    throw new TraceReadError(
      path,
      `${path}: trace format ${
        doc!.format_version
      } is newer than this pflow reads (${TRACE_FORMAT_VERSION}); upgrade pflow`,
    );
  }
  if (doc!.kind !== "workflow" && doc!.kind !== "planner") {
    fail(`kind is ${JSON.stringify(doc!.kind)}, not "workflow" or "planner"`);
  }
  if (typeof doc!.execution_id !== "string" || typeof doc!.workflow_name !== "string") fail("no execution_id");
  if (!Array.isArray(doc!.events)) fail("no events");
  return { ...read, path, partial: path.endsWith(PARTIAL_SUFFIX) || typeof doc!.write_error === "string" };
}

/** One file of the trace directory, read (summary only) or with the reason it is unreadable. */
export interface TraceListing {
  path: string;
  mtimeMs: number;
  /** Sort time: the trace's start time, else the file's mtime. */
  time: number;
  read?: ReadTrace;
  error?: string;
}

/**
 * Every `workflow-trace-*.json` in `dir`, newest first (by start time, else
 * mtime). Unreadable files are included with their error. Only header and
 * footer are parsed when `summaryOnly` and the file is complete.
 */
export async function scanTraces(dir: string, options: { summaryOnly?: boolean } = {}): Promise<TraceListing[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT" || (error as NodeJS.ErrnoException).code === "ENOTDIR") {
      return [];
    }
    throw error;
  }
  const files = names.filter((n) => /^(?:workflow|planner)-trace-.*\.json$/.test(n)).map((n) => join(dir, n));
  const listings = await mapLimited(files, 32, async (path): Promise<TraceListing> => {
    let mtimeMs = 0;
    try {
      mtimeMs = (await stat(path)).mtimeMs;
      const read = parseTraceFile(path, await readText(path), options.summaryOnly === true);
      const started = Date.parse(read.trace.start_time);
      return { path, mtimeMs, time: Number.isNaN(started) ? mtimeMs : started, read };
    } catch (error) {
      const message = (error as Error).message;
      // The list shows the path in its own column: keep only the reason.
      const reason = message.startsWith(`${path}: `) ? message.slice(path.length + 2) : message;
      return { path, mtimeMs, time: mtimeMs, error: reason };
    }
  });
  return listings.sort((a, b) => b.time - a.time || (b.path < a.path ? -1 : b.path > a.path ? 1 : 0));
}

/** Maps with at most `limit` calls in flight (a debug dir of thousands of traces must not exhaust file handles). */
async function mapLimited<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/**
 * The trace a command names: a path, a file name in PFLOW_HOME/debug, or
 * `latest` (the newest readable trace; newer unreadable ones are noted on
 * stderr). Throws {@link TraceReadError}.
 */
export async function locateTrace(target: string, env: Record<string, string | undefined>): Promise<ReadTrace> {
  const dir = traceDir(env);
  if (target === "latest") { // a file named so is given as ./latest
    const listings = await scanTraces(dir, { summaryOnly: true });
    if (listings.length === 0) {
      throw new TraceReadError(
        dir,
        `no traces in ${dir}; write one by running a workflow with --trace: pflow run FILE.json --trace`,
      );
    }
    const newest = listings.find((l) => l.read !== undefined);
    if (newest === undefined) {
      throw new TraceReadError(dir, `no readable trace in ${dir} (newest: ${listings[0].path}: ${listings[0].error})`);
    }
    for (const skipped of listings.slice(0, listings.indexOf(newest))) {
      printError(`note: skipping unreadable newer trace ${skipped.path}: ${skipped.error}`);
    }
    return await readTraceFile(newest.path);
  }
  if (!existsSync(target) && !target.includes("/") && existsSync(join(dir, target))) {
    return await readTraceFile(join(dir, target));
  }
  return await readTraceFile(target);
}

/** Totals of a trace's LLM calls: from the footer's metrics, else summed over its events. */
export interface TraceCost {
  calls: number;
  /** Priced cost in USD (unpriced calls excluded). */
  cost_usd: number;
  tokens: number;
  cached_tokens: number;
  unpriced_models: string[];
}

/** The LLM totals of a trace (see {@link TraceCost}). */
export function traceCost(trace: TraceDocument): TraceCost {
  const m = trace.metrics;
  if (m !== undefined) {
    const u = m.usage;
    return {
      calls: m.num_llm_calls,
      cost_usd: m.total_cost_usd,
      tokens: u.input_tokens + u.cache_read_input_tokens + u.cache_creation_input_tokens + u.output_tokens,
      cached_tokens: u.cache_read_input_tokens,
      unpriced_models: m.pricing?.unpriced_models ?? [],
    };
  }
  const totals: TraceCost = { calls: 0, cost_usd: 0, tokens: 0, cached_tokens: 0, unpriced_models: [] };
  const unpriced = new Set<string>();
  for (const event of trace.events) {
    for (const call of event.llm_calls ?? []) {
      totals.calls++;
      totals.tokens += callTokens(call.usage);
      totals.cached_tokens += call.usage?.cache_read_tokens ?? 0;
      if (call.cost_usd === null || call.cost_usd === undefined) unpriced.add(call.model);
      else totals.cost_usd += call.cost_usd;
    }
  }
  totals.cost_usd = Math.round(totals.cost_usd * 1e10) / 1e10;
  totals.unpriced_models = [...unpriced].sort();
  return totals;
}

/** Input (uncached + cache read + cache write) plus output tokens of one call. */
export function callTokens(
  u: { input_tokens?: number; cache_read_tokens?: number; cache_write_tokens?: number; output_tokens?: number },
): number {
  return (u?.input_tokens ?? 0) + (u?.cache_read_tokens ?? 0) + (u?.cache_write_tokens ?? 0) + (u?.output_tokens ?? 0);
}

/** `$0.0123`, with `+` when some models are unpriced, `-` without LLM calls. */
export function formatCost(cost: TraceCost): string {
  if (cost.calls === 0) return "-";
  return `${formatUsd(cost.cost_usd)}${cost.unpriced_models.length > 0 ? "+" : ""}`;
}

/** The status mark and word of a run. */
export function statusLabel(status: TraceStatus | undefined, style: Style): string {
  switch (status) {
    case "success":
      return style.green("✓ success");
    case "failed":
      return style.red("✗ failed");
    case "interrupted":
      return style.yellow("⚠ interrupted");
    case "budget_exceeded":
      return style.red("✗ budget");
    case "incomplete":
      return style.yellow("… incomplete");
    default:
      return `? ${String(status)}`;
  }
}

/** The status of a trace as read: its run's status, or `⚠ partial` when writing it failed before its footer. */
export function traceStatusLabel(read: Pick<ReadTrace, "trace" | "complete" | "partial">, style: Style): string {
  if (read.partial && !read.complete) return style.yellow("⚠ partial");
  return statusLabel(read.trace.final_status, style) + (read.partial ? style.yellow(" (partial)") : "");
}

/** Local time as `YYYY-MM-DD HH:MM:SS`. */
export function localTime(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${
    p(d.getSeconds())
  }`;
}

/** A run's duration: the footer's, else (partial file) at least until its last event ended. */
export function runDuration(read: Pick<ReadTrace, "trace" | "complete">): { ms: number; lowerBound: boolean } {
  const { trace } = read;
  if (typeof trace.duration_ms === "number") return { ms: trace.duration_ms, lowerBound: false };
  let end = 0;
  for (const e of trace.events) end = Math.max(end, (e.start_offset_ms ?? 0) + (e.duration_ms ?? 0));
  return { ms: end, lowerBound: true };
}

/** The hint shown when there is no trace yet. */
export function noTracesHint(dir: string): string {
  return `No traces in ${dir}. Write one with: pflow run FILE.json --trace`;
}

/** Runs `pflow trace list`; returns the exit code. */
export async function traceListCommand(argv: string[], { env }: CommandEnv): Promise<number> {
  const parsed = parseCommand(argv, { command: "trace", flags: { limit: { type: "string" } } });
  if (parsed.values.help) {
    writeStdout(`${HELP.trace}\n`);
    return EXIT.ok;
  }
  if (parsed.positionals.length > 0) {
    throw new UsageError(
      `unexpected argument '${parsed.positionals[0]}': usage: pflow trace list [--json] [--limit N]`,
      "trace",
    );
  }
  const json = parsed.values.json === true || parsed.values["output-format"] === "json";
  const limitText = parsed.values.limit as string | undefined;
  if (limitText !== undefined && !/^[1-9]\d*$/.test(limitText)) {
    throw new UsageError(`--limit must be a positive whole number, got '${limitText}'`, "trace");
  }
  const limit = limitText === undefined ? 20 : Number(limitText);
  const dir = traceDir(env);
  const listings = (await scanTraces(dir, { summaryOnly: true })).slice(0, limit);
  if (json) {
    writeStdout(`${JSON.stringify(listings.map(jsonEntry), null, 2)}\n`);
    return EXIT.ok;
  }
  if (listings.length === 0) {
    printError(noTracesHint(dir));
    return EXIT.ok;
  }
  const style = stdoutStyle(env);
  const rows = listings.map((l) => textRow(l, style));
  const header = ["TIME", "KIND", "WORKFLOW", "STATUS", "DURATION", "COST", "NODES", "PATH"];
  const right = new Set([4, 5, 6]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r.cells[i].plain.length)));
  const line = (cells: { plain: string; shown: string }[], note = "") =>
    cells.map((c, i) => {
      const pad = " ".repeat(widths[i] - c.plain.length);
      return i === cells.length - 1 ? c.shown : right.has(i) ? pad + c.shown : c.shown + pad;
    }).join("  ") + note;
  const lines = [line(header.map((h) => ({ plain: h, shown: style.dim(h) })))];
  for (const r of rows) lines.push(line(r.cells, r.note));
  writeDisplay(`${lines.join("\n")}\n`);
  return EXIT.ok;
}

function textRow(l: TraceListing, style: Style): { cells: { plain: string; shown: string }[]; note: string } {
  const cell = (plain: string, shown = plain) => ({ plain, shown });
  if (l.read === undefined) {
    const name = TRACE_FILE.exec(l.path.slice(l.path.lastIndexOf("/") + 1))?.[1] ?? "?";
    return {
      cells: [
        cell(localTime(l.mtimeMs)),
        cell(kindOfFile(l.path)),
        cell(name),
        cell("✗ unreadable", style.red("✗ unreadable")),
        cell("-"),
        cell("-"),
        cell("-"),
        cell(l.path),
      ],
      note: `  ${style.red(`error: ${l.error}`)}`,
    };
  }
  const { trace } = l.read;
  const plainStatus = traceStatusLabel(l.read, { ...style, ...PLAIN });
  const duration = runDuration(l.read);
  return {
    cells: [
      cell(localTime(l.time)),
      cell(trace.kind),
      cell(trace.workflow_name),
      cell(plainStatus, traceStatusLabel(l.read, style)),
      cell(`${duration.lowerBound ? "≥" : ""}${formatDuration(duration.ms)}`),
      cell(formatCost(traceCost(trace))),
      cell(String(nodesExecuted(l.read))),
      cell(l.path),
    ],
    note: "",
  };
}

/** `planner` or `workflow`, from a trace file's name. */
function kindOfFile(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1).startsWith("planner-trace-") ? "planner" : "workflow";
}

const identity = (text: string) => text;
const PLAIN = { enabled: false, green: identity, red: identity, yellow: identity, dim: identity, bold: identity };

/** Node executions of a run: the footer's count, else the events in the file. */
export function nodesExecuted(read: ReadTrace): number {
  return typeof read.trace.nodes_executed === "number" ? read.trace.nodes_executed : read.eventCount;
}

function jsonEntry(l: TraceListing): Record<string, unknown> {
  if (l.read === undefined) {
    return {
      path: l.path,
      kind: kindOfFile(l.path),
      workflow_name: null,
      execution_id: null,
      start_time: null,
      final_status: null,
      duration_ms: null,
      total_cost_usd: null,
      nodes_executed: null,
      partial: l.path.endsWith(PARTIAL_SUFFIX),
      error: l.error,
    };
  }
  const { trace } = l.read;
  return {
    path: l.path,
    kind: trace.kind,
    workflow_name: trace.workflow_name,
    execution_id: trace.execution_id,
    start_time: trace.start_time ?? null,
    final_status: trace.final_status ?? null,
    duration_ms: trace.duration_ms ?? null,
    total_cost_usd: traceCost(trace).cost_usd,
    nodes_executed: nodesExecuted(l.read),
    partial: l.read.partial === true,
  };
}
