/**
 * `pflow trace list`: the recent traces in PFLOW_HOME/debug, newest first.
 * Also the trace-file reading shared by `trace show` (and `latest`).
 * @module
 */
import { existsSync } from "node:fs";
import { type FileHandle, open, readdir, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import {
  parseTraceText,
  PARTIAL_SUFFIX,
  TRACE_FORMAT_VERSION,
  type TraceDocument,
  type TraceEvent,
  type TraceStatus,
} from "../observability/trace_format.ts";
import { parseCommand } from "./args.ts";
import { HELP } from "./help.ts";
import { pflowHome } from "./home.ts";
import { type CommandEnv, EXIT } from "./command.ts";
import { formatCost as formatUsdCost, formatDuration } from "./format.ts";
import { type Cell, renderTable, type Row } from "./table.ts";
import {
  escapeControls,
  PLAIN_STYLE,
  printError,
  stdoutStyle,
  type Style,
  writeDisplay,
  writeStdout,
} from "./terminal.ts";
import { UsageError } from "./usage_error.ts";
import { matchesFilter, parseTraceFilter } from "./trace_filters.ts";

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
  /** The document (repaired when partial); in a summary read, `events` holds at most the last event of a crashed run. */
  trace: TraceDocument;
  /** False when the file lacked its footer. */
  complete: boolean;
  /** Node executions in the file. */
  eventCount: number;
  /** True when writing the file failed part-way (named `….partial.json`, or its footer says `write_error`). */
  partial?: boolean;
  /** A summary read of a large file without footer: its events were not read, so its cost is unknown. */
  eventsSkipped?: boolean;
}

/** Reads and validates one trace file (repairing a partial one); throws {@link TraceReadError}. */
export async function readTraceFile(path: string): Promise<ReadTrace> {
  return parseTraceFile(path, await readText(path));
}

/** A file-system error as a {@link TraceReadError} naming the path. */
function readError(path: string, error: unknown): TraceReadError {
  if (error instanceof TraceReadError) return error;
  const code = (error as NodeJS.ErrnoException).code;
  if (code === "ENOENT") return new TraceReadError(path, `trace file not found: ${path}`);
  if (code === "EISDIR") return new TraceReadError(path, `${path}: is a directory, not a trace file`);
  if (code === "EACCES") return new TraceReadError(path, `${path}: cannot read trace: permission denied`);
  return new TraceReadError(path, `${path}: cannot read trace: ${(error as Error).message}`);
}

/**
 * Opens a trace file, refusing anything but a regular file: a device could
 * be read for ever, and opening a FIFO would wait for a writer.
 */
async function openTrace(path: string): Promise<{ handle: FileHandle; size: number }> {
  let handle: FileHandle;
  try {
    const info = await stat(path);
    if (!info.isFile() && !info.isDirectory()) {
      throw new TraceReadError(path, `${path}: not a regular file (a device, pipe or socket); give a trace file`);
    }
    handle = await open(path, "r");
  } catch (error) {
    throw readError(path, error);
  }
  try {
    const info = await handle.stat();
    if (info.isDirectory()) throw readError(path, Object.assign(new Error("directory"), { code: "EISDIR" }));
    if (!info.isFile()) {
      throw new TraceReadError(path, `${path}: not a regular file (a device, pipe or socket); give a trace file`);
    }
    return { handle, size: info.size };
  } catch (error) {
    await handle.close();
    throw readError(path, error);
  }
}

async function readText(path: string): Promise<string> {
  const { handle } = await openTrace(path);
  try {
    return await handle.readFile("utf8");
  } catch (error) {
    throw readError(path, error);
  } finally {
    await handle.close();
  }
}

function parseTraceFile(path: string, text: string): ReadTrace {
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
const NEWLINE = 0x0a;
const CHUNK = 64 * 1024;

/**
 * A trace's header and footer, read from the two ends of the file — never
 * its events (the writer puts the header on the first line and the footer on
 * the last). A file without footer (a crash, or a run still going) gives its
 * last whole event instead, for the duration so far, and counts its events
 * from that event's `index` (by counting lines only for traces too old to
 * carry one). `events` then holds at most that last event.
 */
export async function readTraceSummary(path: string): Promise<ReadTrace> {
  const { handle, size } = await openTrace(path);
  try {
    const head = await readLine(handle, 0, size);
    const headerText = decoder.decode(head);
    // Not the writer's layout (e.g. pretty-printed by hand): parse it whole.
    if (!headerText.endsWith(EVENTS_OPEN)) return parseTraceFile(path, await readWhole(handle, size));
    let header: TraceDocument;
    try {
      header = JSON.parse(`${headerText}]}`);
    } catch {
      return parseTraceFile(path, await readWhole(handle, size));
    }
    let end = size;
    for (let lines = 0; lines < 3 && end > head.length + 1; lines++) {
      const line = await readLastLine(handle, head.length + 1, end);
      end -= line.length + 1;
      const text = decoder.decode(line).trim();
      if (text === "") continue;
      if (text.startsWith("]")) {
        let footer: Partial<TraceDocument>;
        try {
          footer = text === "]}" ? {} : JSON.parse(`{${text.slice(2)}`);
        } catch {
          continue; // a footer cut off while being written: the run is incomplete
        }
        const trace = { ...header, ...footer, events: [] };
        const eventCount = footer.nodes_executed ?? 0;
        return checkTrace(path, { path, trace, complete: footer.final_status !== undefined, eventCount });
      }
      // No footer. A small file is read whole (its cost is the sum over its events); a large one by its
      // last whole event line (a half-written one is skipped): duration and count, cost unknown.
      if (size <= WHOLE_READ_BYTES) return parseTraceFile(path, await readWhole(handle, size));
      let event: TraceEvent;
      try {
        event = JSON.parse(text.replace(/^,/, ""));
      } catch {
        continue;
      }
      const eventCount = typeof event.index === "number" ? event.index + 1 : await countLines(handle, head.length);
      const trace = { ...header, events: [event], final_status: "incomplete" as const };
      return checkTrace(path, { path, trace, complete: false, eventCount, eventsSkipped: true });
    }
    const trace = { ...header, events: [], final_status: "incomplete" as const };
    return checkTrace(path, { path, trace, complete: false, eventCount: 0 });
  } catch (error) {
    if (error instanceof TraceReadError) throw error;
    if (error instanceof SyntaxError) {
      throw new TraceReadError(path, `${path}: not a pflow trace (${error.message})`);
    }
    throw readError(path, error);
  } finally {
    await handle.close();
  }
}

const decoder = new TextDecoder();

/** A trace without footer up to this size is read whole by a summary read (for its exact cost). */
export const WHOLE_READ_BYTES = 8 * 1024 * 1024;

async function readWhole(handle: FileHandle, size: number): Promise<string> {
  const buffer = new Uint8Array(size);
  const { bytesRead } = await handle.read(buffer, 0, size, 0);
  return decoder.decode(buffer.subarray(0, bytesRead));
}

/** The bytes from `start` up to (without) the next newline, or to `size`. */
async function readLine(handle: FileHandle, start: number, size: number): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for (let at = start; at < size;) {
    const buffer = new Uint8Array(Math.min(CHUNK, size - at));
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, at);
    if (bytesRead === 0) break;
    const newline = buffer.subarray(0, bytesRead).indexOf(NEWLINE);
    if (newline >= 0) {
      chunks.push(buffer.subarray(0, newline));
      break;
    }
    chunks.push(buffer.subarray(0, bytesRead));
    at += bytesRead;
  }
  return concat(chunks);
}

/** The last line of `[floor, end)`, without its trailing newline (read backwards, a chunk at a time). */
async function readLastLine(handle: FileHandle, floor: number, end: number): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let stop = end;
  const last = new Uint8Array(1);
  if (end > floor && (await handle.read(last, 0, 1, end - 1)).bytesRead === 1 && last[0] === NEWLINE) stop = end - 1;
  for (let at = stop; at > floor;) {
    const from = Math.max(floor, at - CHUNK);
    const buffer = new Uint8Array(at - from);
    await handle.read(buffer, 0, buffer.length, from);
    const newline = buffer.lastIndexOf(NEWLINE);
    if (newline >= 0) {
      chunks.unshift(buffer.subarray(newline + 1));
      return concat(chunks);
    }
    chunks.unshift(buffer);
    at = from;
  }
  return concat(chunks);
}

/** Lines after the header (events), counted a chunk at a time: only for crashed traces without event indices. */
async function countLines(handle: FileHandle, from: number): Promise<number> {
  let lines = 0;
  const buffer = new Uint8Array(1024 * 1024);
  for (let at = from + 1;;) {
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, at);
    if (bytesRead === 0) break;
    for (let i = 0; i < bytesRead; i++) if (buffer[i] === NEWLINE) lines++;
    at += bytesRead;
  }
  return lines;
}

function concat(chunks: Uint8Array[]): Uint8Array {
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
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
      const read = options.summaryOnly === true ? await readTraceSummary(path) : await readTraceFile(path);
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
  if (!existsSync(target) && EXECUTION_PREFIX.test(target)) {
    return await readTraceFile(await findByExecution(target, dir));
  }
  return await readTraceFile(target);
}

/** An execution id or a prefix of one (at least 4 characters). */
const EXECUTION_PREFIX = /^[0-9a-f]{4}[0-9a-f-]{0,32}$/i;

/**
 * The trace file of the execution whose id starts with `prefix`: candidates
 * by the id's first 8 characters in file names, confirmed by their headers.
 * A planned run has a planner and a workflow trace of one execution: the
 * workflow trace is chosen and the planner trace noted.
 */
async function findByExecution(prefix: string, dir: string): Promise<string> {
  const wanted = prefix.toLowerCase();
  let names: string[] = [];
  try {
    names = await readdir(dir);
  } catch { /* no trace directory: nothing matches */ }
  const matches: ReadTrace[] = [];
  for (const name of names) {
    const exec8 = TRACE_FILE.exec(name)?.[4]?.toLowerCase();
    if (exec8 === undefined || !(wanted.length <= 8 ? exec8.startsWith(wanted) : wanted.startsWith(exec8))) continue;
    try {
      const read = await readTraceSummary(join(dir, name));
      if (read.trace.execution_id.toLowerCase().startsWith(wanted)) matches.push(read);
    } catch { /* unreadable: not this one */ }
  }
  matches.sort((a, b) => (b.trace.start_time ?? "").localeCompare(a.trace.start_time ?? ""));
  const ids = [...new Set(matches.map((m) => m.trace.execution_id))];
  if (ids.length === 0) {
    throw new TraceReadError(
      prefix,
      `no trace file '${prefix}' and no trace of an execution id starting '${prefix}' in ${dir} (see pflow trace list)`,
    );
  }
  if (ids.length > 1) {
    const shown = matches.slice(0, 5).map((m) =>
      `${m.trace.execution_id} (${m.trace.workflow_name}, ${m.trace.start_time})`
    );
    throw new TraceReadError(
      prefix,
      `execution id prefix '${prefix}' matches ${ids.length} runs: ${shown.join(", ")}; give more characters`,
    );
  }
  const chosen = matches.find((m) => m.trace.kind !== "planner") ?? matches[0];
  for (const other of matches) {
    if (other !== chosen) printError(`note: the ${other.trace.kind} trace of this run: ${other.path}`);
  }
  return chosen.path;
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
  return formatUsdCost(cost.cost_usd, cost.unpriced_models.length === 0);
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
  const parsed = parseCommand(argv, {
    command: "trace",
    flags: {
      limit: { type: "string" },
      workflow: { type: "string" },
      since: { type: "string" },
      status: { type: "string" },
    },
  });
  if (parsed.values.help) {
    writeStdout(`${HELP.trace}\n`);
    return EXIT.ok;
  }
  if (parsed.positionals.length > 0) {
    throw new UsageError(
      `unexpected argument '${parsed.positionals[0]}': usage: pflow trace list [--workflow NAME] [--since WHEN] ` +
        `[--status STATUS] [--limit N] [--json]`,
      "trace",
    );
  }
  const filter = parseTraceFilter(parsed.values, Date.now());
  const json = parsed.values.json === true || parsed.values["output-format"] === "json";
  const limitText = parsed.values.limit as string | undefined;
  if (limitText !== undefined && !/^[1-9]\d*$/.test(limitText)) {
    throw new UsageError(`--limit must be a positive whole number, got '${limitText}'`, "trace");
  }
  const limit = limitText === undefined ? 20 : Number(limitText);
  const dir = traceDir(env);
  const all = await scanTraces(dir, { summaryOnly: true });
  const listings = all.filter((l) => matchesFilter(l, filter)).slice(0, limit);
  if (json) {
    writeStdout(`${JSON.stringify(listings.map(jsonEntry), null, 2)}\n`);
    return EXIT.ok;
  }
  if (listings.length === 0) {
    printError(all.length === 0 ? noTracesHint(dir) : `No trace of the ${all.length} in ${dir} matches the filters.`);
    return EXIT.ok;
  }
  const style = stdoutStyle(env);
  const columns = ["TIME", "KIND", "WORKFLOW", "STATUS", "DURATION", "COST", "NODES", "PATH"].map((header, i) => ({
    header,
    align: i >= 4 && i <= 6 ? "right" as const : "left" as const,
  }));
  writeDisplay(renderTable(columns, listings.map((l) => textRow(l, style)), { header: style.dim }));
  return EXIT.ok;
}

function textRow(l: TraceListing, style: Style): Row {
  const cell = (text: string, shown = text): Cell => ({ text, shown });
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
      suffix: `  ${style.red(`error: ${l.error}`)}`,
    };
  }
  const { trace } = l.read;
  const plainStatus = traceStatusLabel(l.read, PLAIN_STYLE);
  const duration = runDuration(l.read);
  return {
    cells: [
      cell(localTime(l.time)),
      cell(trace.kind),
      // Escaped before the columns are measured, so a name with control characters keeps the table aligned.
      cell(escapeControls(trace.workflow_name, { keepNewlines: false })),
      cell(plainStatus, traceStatusLabel(l.read, style)),
      cell(`${duration.lowerBound ? "≥" : ""}${formatDuration(duration.ms)}`),
      cell(l.read.eventsSkipped ? "?" : formatCost(traceCost(trace))),
      cell(String(nodesExecuted(l.read))),
      cell(l.path),
    ],
  };
}

/** `planner` or `workflow`, from a trace file's name. */
function kindOfFile(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1).startsWith("planner-trace-") ? "planner" : "workflow";
}

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
    total_cost_usd: l.read.eventsSkipped ? null : traceCost(trace).cost_usd,
    nodes_executed: nodesExecuted(l.read),
    partial: l.read.partial === true,
  };
}
