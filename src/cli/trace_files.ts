/**
 * Trace files on disk: finding them (a path, a file name in PFLOW_HOME/debug,
 * `latest`, an execution id or a prefix of one), reading one whole (a crashed
 * one repaired), and reading only what a listing shows — the header and
 * footer lines at the two ends of a file, never the events between.
 * @module
 */
import { Buffer } from "node:buffer";
import { existsSync, type Stats } from "node:fs";
import { type FileHandle, open, readdir, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import {
  type ParsedTrace,
  parseTraceDocument,
  PARTIAL_SUFFIX,
  TRACE_FORMAT_VERSION,
  type TraceDamage,
  type TraceDocument,
  type TraceEvent,
  TraceLineReader,
} from "../observability/trace_format.ts";
import { pflowHome } from "./home.ts";
import { printError } from "./terminal.ts";
import { fileErrorReason, fileKind } from "../util/file_errors.ts";
import { directoryProblem } from "../util/path_problem.ts";
import { formatCount } from "../util/count.ts";
import { concatBytes } from "../util/bytes.ts";
import { traceProblem } from "./trace_check.ts";

/** Where traces are written: `PFLOW_HOME/debug`. */
export function traceDir(env: Record<string, string | undefined>): string {
  return resolve(pflowHome(env), "debug");
}

/** A trace file's name: kind, workflow, UTC date and time, the execution id's first 8 characters. */
export const TRACE_FILE = /^(?:workflow|planner)-trace-(.+)-(\d{8})-(\d{6})-([0-9A-Za-z]{1,8})(?:\.partial)?\.json$/;

/** Whether a file name in the trace directory is a trace's (any workflow name, finished or partial). */
export function isTraceFileName(name: string): boolean {
  return /^(?:workflow|planner)-trace-.*\.json$/.test(name);
}

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
  /** What was skipped in a damaged file (lines that are not valid JSON, NUL bytes). */
  damage?: TraceDamage;
}

/**
 * Reads and validates one trace file (repairing a partial one, skipping
 * damaged lines with one warning on stderr); throws {@link TraceReadError}.
 */
export async function readTraceFile(path: string): Promise<ReadTrace> {
  const { handle, size } = await openTrace(path);
  let read: ReadTrace;
  try {
    read = await readOpenTrace(path, handle, size);
  } finally {
    await handle.close();
  }
  if (read.damage !== undefined) printError(`warning: ${path}: ${describeDamage(read.damage)}`);
  return read;
}

/** One sentence for a damaged file: which lines and how many NUL bytes were skipped. */
export function describeDamage(damage: TraceDamage): string {
  const parts: string[] = [];
  const { lines, lineCount } = damage;
  if (lineCount === 1) parts.push(`line ${lines[0]} is not valid JSON`);
  else if (lineCount > 1) {
    parts.push(
      `${formatCount(lineCount)} lines are not valid JSON (${lines.join(", ")}${
        lineCount > lines.length ? ", …" : ""
      })`,
    );
  }
  if (damage.nulBytes > 0) {
    parts.push(
      `${formatCount(damage.nulBytes)} NUL byte${damage.nulBytes === 1 ? "" : "s"} from line ${damage.nulLine}`,
    );
  }
  return `${parts.join("; ")}; skipped`;
}

/** A file-system error as a {@link TraceReadError} naming the path. */
function readError(path: string, error: unknown): TraceReadError {
  if (error instanceof TraceReadError) return error;
  const code = (error as NodeJS.ErrnoException).code;
  if (code === "ENOENT") return new TraceReadError(path, `trace file not found: ${path}`);
  if (code === "EISDIR") return new TraceReadError(path, `${path}: is a directory, not a trace file`);
  return new TraceReadError(path, `${path}: cannot read trace: ${fileErrorReason(error)}`);
}

/** A path that is a device, pipe or socket, not a trace file. */
function notRegularTrace(path: string, info: Stats): TraceReadError {
  return new TraceReadError(path, `${path}: it is ${fileKind(info)}, not a regular file; give a trace file`);
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
      throw notRegularTrace(path, info);
    }
    handle = await open(path, "r");
  } catch (error) {
    throw readError(path, error);
  }
  try {
    const info = await handle.stat();
    if (info.isDirectory()) throw readError(path, Object.assign(new Error("directory"), { code: "EISDIR" }));
    if (!info.isFile()) {
      throw notRegularTrace(path, info);
    }
    return { handle, size: info.size };
  } catch (error) {
    await handle.close();
    throw readError(path, error);
  }
}

/** Reads a whole trace from an open file, a chunk at a time (see {@link streamTrace}), and checks it. */
async function readOpenTrace(path: string, handle: FileHandle, size: number): Promise<ReadTrace> {
  let parsed: ParsedTrace;
  try {
    parsed = (await streamTrace(handle, size)) ?? parseTraceDocument(await readWhole(handle, size));
  } catch (error) {
    if (typeof (error as NodeJS.ErrnoException).code === "string") throw readError(path, error);
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
    ...(parsed.damage ? { damage: parsed.damage } : {}),
  });
}

/** Bytes read at a time when a trace is read whole. */
const READ_CHUNK = 1024 * 1024;
const NUL = 0x00;
/** Zeros to compare a NUL region with, a block at a time. */
const ZERO_BLOCK = new Uint8Array(4096);

/**
 * Feeds a trace file to a {@link TraceLineReader} a chunk at a time: only
 * the line being read and the events are held, never the file's text, and a
 * region of NUL bytes (a crash's zeroed blocks, a sparse file) is skipped a
 * block at a time. Undefined when the file is not in the writer's line
 * layout (it is then parsed whole).
 */
async function streamTrace(handle: FileHandle, size: number): Promise<ParsedTrace | undefined> {
  const reader = new TraceLineReader();
  const buffer = new Uint8Array(Math.max(1, Math.min(READ_CHUNK, size)));
  let held: Uint8Array[] = []; // the current piece's bytes from earlier chunks
  let line = 1;
  let layout = true;
  const endPiece = (tail: Uint8Array) => {
    const bytes = held.length === 0 ? tail : concatBytes([...held, tail]);
    held = [];
    if (bytes.length > 0 && !reader.add(decoder.decode(bytes), line)) layout = false;
  };
  for (let at = 0; at < size && layout;) {
    const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.length, size - at), at);
    if (bytesRead === 0) break;
    at += bytesRead;
    const chunk = buffer.subarray(0, bytesRead);
    for (let i = 0; i < chunk.length && layout;) {
      if (chunk[i] === NUL) {
        const stop = skipNul(chunk, i);
        endPiece(EMPTY);
        reader.nul(stop - i, line);
        i = stop;
        continue;
      }
      const newline = chunk.indexOf(NEWLINE, i);
      const lineEnd = newline < 0 ? chunk.length : newline;
      const nul = chunk.subarray(i, lineEnd).indexOf(NUL);
      const stop = nul < 0 ? lineEnd : i + nul;
      if (stop === chunk.length) {
        held.push(chunk.slice(i)); // the buffer is read into again
        break;
      }
      endPiece(chunk.subarray(i, stop));
      if (stop === newline) line++;
      i = stop === newline ? stop + 1 : stop;
    }
  }
  if (!layout) return undefined;
  endPiece(EMPTY);
  return layout ? reader.finish() : undefined;
}

const EMPTY = new Uint8Array(0);

/** The index of the first byte after the NUL bytes from `from` (whole zero blocks compared natively). */
function skipNul(bytes: Uint8Array, from: number): number {
  let at = from;
  while (
    at + ZERO_BLOCK.length <= bytes.length &&
    Buffer.compare(bytes.subarray(at, at + ZERO_BLOCK.length), ZERO_BLOCK) === 0
  ) at += ZERO_BLOCK.length;
  while (at < bytes.length && bytes[at] === NUL) at++;
  return at;
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
    if (!headerText.endsWith(EVENTS_OPEN)) return await readOpenTrace(path, handle, size);
    let header: TraceDocument;
    try {
      header = JSON.parse(`${headerText}]}`);
    } catch {
      return await readOpenTrace(path, handle, size);
    }
    const floor = head.length + 1;
    let end = size;
    for (let lines = 0; lines < 3; lines++) {
      // NUL bytes end a line as a newline does (a region a crash left zeroed): the whole reader skips them too.
      end = await skipNulBack(handle, floor, end);
      if (end <= floor) break;
      const line = await readLastLine(handle, floor, end);
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
      if (size <= WHOLE_READ_BYTES) return await readOpenTrace(path, handle, size);
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
    const newline = lineEnd(buffer.subarray(0, bytesRead));
    if (newline >= 0) {
      chunks.push(buffer.subarray(0, newline));
      break;
    }
    chunks.push(buffer.subarray(0, bytesRead));
    at += bytesRead;
  }
  return concatBytes(chunks);
}

/** The first newline or NUL byte in `bytes`, or -1. */
function lineEnd(bytes: Uint8Array): number {
  const newline = bytes.indexOf(NEWLINE);
  const nul = bytes.subarray(0, newline < 0 ? bytes.length : newline).indexOf(NUL);
  return nul >= 0 ? nul : newline;
}

/** The last line of `[floor, end)`, without its trailing newline (read backwards, a chunk at a time; a NUL byte ends a line too). */
async function readLastLine(handle: FileHandle, floor: number, end: number): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let stop = end;
  const last = new Uint8Array(1);
  if (end > floor && (await handle.read(last, 0, 1, end - 1)).bytesRead === 1 && last[0] === NEWLINE) stop = end - 1;
  for (let at = stop; at > floor;) {
    const from = Math.max(floor, at - CHUNK);
    const buffer = new Uint8Array(at - from);
    await handle.read(buffer, 0, buffer.length, from);
    const newline = Math.max(buffer.lastIndexOf(NEWLINE), buffer.lastIndexOf(NUL));
    if (newline >= 0) {
      chunks.unshift(buffer.subarray(newline + 1));
      return concatBytes(chunks);
    }
    chunks.unshift(buffer);
    at = from;
  }
  return concatBytes(chunks);
}

/**
 * The end of `[floor, end)` without the NUL bytes at its end (whole zero blocks compared natively). It reads
 * one block first, the usual case being no NUL at all, and more at a time only while it finds nothing else:
 * a first read of 1 MiB made `trace list` of 1,001 traces of 1 MiB read each file whole (242 → 801 ms).
 */
async function skipNulBack(handle: FileHandle, floor: number, end: number): Promise<number> {
  for (let at = end, want = ZERO_BLOCK.length; at > floor; want = Math.min(READ_CHUNK, want * 16)) {
    const from = Math.max(floor, at - want);
    const bytes = new Uint8Array(at - from);
    await handle.read(bytes, 0, bytes.length, from);
    let i = bytes.length;
    while (i >= ZERO_BLOCK.length && Buffer.compare(bytes.subarray(i - ZERO_BLOCK.length, i), ZERO_BLOCK) === 0) {
      i -= ZERO_BLOCK.length;
    }
    while (i > 0 && bytes[i - 1] === NUL) i--;
    if (i > 0) return from + i;
    at = from;
  }
  return floor;
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
  // Every field the views read, in the shape the writer gives it (a file edited by hand, or damaged).
  // A summary read of a crashed trace holds its last event only.
  const problem = traceProblem(doc!, read.eventsSkipped ? read.eventCount : 1);
  if (problem !== undefined) fail(problem);
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
    const code = (error as NodeJS.ErrnoException).code;
    // Something else where the directory should be (a file, a link to nothing) is said, not taken for no traces.
    const problem = code === "ENOENT" || code === "ENOTDIR" || code === "ELOOP" ? directoryProblem(dir) : undefined;
    if (problem !== undefined) throw new TraceReadError(dir, `${dir} ${problem}: pflow keeps its traces there`);
    if (code === "ENOENT" || code === "ENOTDIR") return [];
    throw error;
  }
  const files = names.filter(isTraceFileName).map((n) => join(dir, n));
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
