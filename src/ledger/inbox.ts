/**
 * The ledger's inbox: run rows of runs that never opened the database, and
 * the end (with its unwritten calls) of runs whose database writes failed.
 *
 * Opening SQLite and committing costs a few milliseconds (the first commit
 * into a fresh WAL and the checkpoint at close each sync the disk), which a
 * one-node run would feel at start-up. So a run appends its start and end as
 * one JSON line each to `PFLOW_HOME/ledger-inbox.jsonl` (one `write`, no
 * sync, no lock), and whoever opens the database next (a run's first LLM
 * call, `pflow cost`, `pflow metrics`) folds the new lines into it inside
 * its write transaction. Folding is idempotent (a start inserts a missing
 * run, an end replaces the run's fields), so a line folded twice changes
 * nothing, and the fold offset lives in the database, committed with the
 * rows it covers.
 * @module
 */
import {
  closeSync,
  constants,
  fstatSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readSync,
  renameSync,
  rmSync,
  type Stats,
  statSync,
  writeSync,
} from "node:fs";
import { notRegularFile } from "../util/file_errors.ts";
import { PRIVATE_DIR_MODE } from "../util/private_files.ts";
import { inboxFile } from "./paths.ts";
import type { LateCall } from "./store.ts";
import { type LedgerRunStatus, type NodeStat, RUN_STATUSES, type RunEnd, type RunStart } from "./types.ts";

/** The inbox is rotated once this much of it is folded. */
export const INBOX_ROTATE_BYTES = 1 << 20;

/**
 * One line of the inbox. A run whose database writes failed or waited (a ledger locked by another process, a corrupt
 * file) still ends here, with the calls the database did not take (`calls`), folded with it later.
 */
export type InboxEntry =
  | { v: 1; op: "start"; run: RunStart }
  | { v: 1; op: "end"; run: RunStart & RunEnd; calls?: LateCall[] };

/**
 * Appends one entry (one line, in a single `write` unless the kernel takes it in parts; file mode 0600).
 * Returns the inbox's size afterwards. A line is written whole or not at all: a short or failed write (a full
 * disk, a file size limit) is cut back to where the line began and thrown, so the run warns and no half line
 * stays for the next entry to be glued onto. A half line left by a process that died mid-write is ended first
 * (the fold skips it with a warning), so the entry after it is not lost with it.
 */
export function appendInbox(home: string, entry: InboxEntry): number {
  const path = inboxFile(home);
  const line = new TextEncoder().encode(`${JSON.stringify(entry)}\n`);
  let fd: number;
  try {
    fd = openRegular(path, APPEND);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    // A PFLOW_HOME that pflow creates is private (an existing one keeps its mode: it is the user's).
    mkdirSync(home, { recursive: true, mode: PRIVATE_DIR_MODE });
    fd = openRegular(path, APPEND);
  }
  try {
    const before = fstatSync(fd).size;
    const bytes = before > 0 && lastByte(fd, before) !== NEWLINE ? withNewlineFirst(line) : line;
    let written = 0;
    try {
      while (written < bytes.length) {
        const n = writeSync(fd, bytes, written, bytes.length - written);
        if (n <= 0) throw new Error("write: no byte written");
        written += n;
      }
    } catch (error) {
      // Undo the part that was written, unless another process appended meanwhile (its line is not ours to cut).
      if (written > 0 && fstatSync(fd).size === before + written) ftruncateSync(fd, before);
      throw namingInbox(path, error);
    }
    return fstatSync(fd).size;
  } finally {
    closeSync(fd);
  }
}

const NEWLINE = 0x0a;

/** `error`, its message naming the inbox (errors of the ledger are reported under its database's path). */
function namingInbox(path: string, error: unknown): unknown {
  if (error instanceof Error && !error.message.includes(path)) error.message = `the inbox ${path}: ${error.message}`;
  return error;
}

/** The byte of `fd` at `size - 1`. */
function lastByte(fd: number, size: number): number | undefined {
  const byte = new Uint8Array(1);
  return readSync(fd, byte, 0, 1, size - 1) === 1 ? byte[0] : undefined;
}

function withNewlineFirst(line: Uint8Array): Uint8Array {
  const bytes = new Uint8Array(line.length + 1);
  bytes[0] = NEWLINE;
  bytes.set(line, 1);
  return bytes;
}

/** What a fold needs of the database: the offset it reached, and where the entries go. */
export interface FoldTarget {
  /** The byte offset folded so far (0 when none). */
  offset(): number;
  /** Stores the offset (in the fold's transaction). */
  setOffset(offset: number): void;
  /**
   * Applies one entry, wholly or not at all. An error it throws is an {@link EntryError} when the entry
   * alone was refused (the fold skips it with a warning); any other error stops the fold.
   */
  apply(entry: InboxEntry): void;
}

/** The inbox (or its rotated file) cannot be read: not a regular file, no permission. The message names it. */
export class InboxUnreadable extends Error {
  /** @param message why, naming the file @param options the file system's error */
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "InboxUnreadable";
  }
}

/** The database refused one inbox entry (not a failure of the database): the fold skips it. */
export class EntryError extends Error {
  /** @param message why @param options the database's error */
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "EntryError";
  }
}

/**
 * Folds the inbox into `target` (the caller holds the write transaction):
 * first a rotated file, whole (it may have received a line after it was
 * rotated), then the inbox from the stored offset; once the folded part
 * passes {@link INBOX_ROTATE_BYTES}, the inbox is rotated. Returns warnings
 * for lines that are not valid inbox entries or that the database refused
 * (they are skipped, each named by file and line). `readOnly` (a fold into a
 * copy of the ledger) leaves the files as they are: no rotation, and the
 * rotated file is not removed.
 */
export function foldInbox(
  home: string,
  target: FoldTarget,
  options: { rotateBytes?: number; readOnly?: boolean } = {},
): string[] {
  const rotateBytes = options.rotateBytes ?? INBOX_ROTATE_BYTES;
  const path = inboxFile(home);
  const rotated = `${path}.old`;
  const warnings: string[] = [];
  const old = readFrom(rotated, 0);
  if (old !== undefined) {
    applyLines(old.bytes, { file: rotated, line: () => 1 }, target, warnings);
    if (!options.readOnly) rmSync(rotated, { force: true });
  }
  let offset = target.offset();
  const current = readFrom(path, offset);
  if (current === undefined) {
    target.setOffset(0);
    return warnings;
  }
  if (current.size < offset) { // replaced or truncated by hand: fold it all (idempotent)
    offset = 0;
    const whole = readFrom(path, 0)!;
    offset += applyLines(whole.bytes, { file: path, line: () => 1 }, target, warnings);
  } else {
    const from = offset;
    // The first line's number, counted only when a warning names a line (the folded part is below 1 MiB).
    const line = () => 1 + countNewlines(readFrom(path, 0, from)?.bytes ?? new Uint8Array());
    offset += applyLines(current.bytes, { file: path, line }, target, warnings);
  }
  if (offset >= rotateBytes && !options.readOnly) {
    renameSync(path, rotated);
    offset = 0;
  }
  target.setOffset(offset);
  return warnings;
}

// Read and write: the last byte is read to tell whether a half line has to be ended first.
const APPEND = constants.O_RDWR | constants.O_APPEND | constants.O_CREAT;

/**
 * Opens `path` with `flags`, refusing anything but a regular file before any wait: a named pipe put in
 * the inbox's place would block the open (and so every run's start, in a thread no signal reaches). Opened
 * without blocking, then checked on the descriptor; a pipe without a reader refuses a writer (ENXIO).
 */
function openRegular(path: string, flags: number): number {
  let fd: number;
  try {
    fd = openSync(path, flags | (constants.O_NONBLOCK ?? 0), 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENXIO") throw error;
    throw notRegularInbox(path, statSync(path));
  }
  const info = fstatSync(fd);
  if (!info.isFile()) {
    closeSync(fd);
    throw notRegularInbox(path, info);
  }
  return fd;
}

/** {@link notRegularFile}, naming the inbox (errors of the ledger are reported under its database's path). */
function notRegularInbox(path: string, info: Stats): Error {
  const error = notRegularFile(info);
  error.message = `the inbox ${path}: ${error.message}`;
  return error;
}

/**
 * The bytes of `path` from `offset` (up to `end`), and its size; undefined when the file does not exist. Throws
 * {@link InboxUnreadable} when it cannot be read.
 */
function readFrom(path: string, offset: number, end?: number): { bytes: Uint8Array; size: number } | undefined {
  try {
    return readBytes(path, offset, end);
  } catch (error) {
    const message = (namingInbox(path, error) as Error)?.message ?? String(error);
    throw new InboxUnreadable(message, { cause: error });
  }
}

function readBytes(path: string, offset: number, end?: number): { bytes: Uint8Array; size: number } | undefined {
  let fd: number;
  try {
    fd = openRegular(path, constants.O_RDONLY);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  try {
    const size = fstatSync(fd).size;
    const stop = Math.min(size, end ?? size);
    if (stop <= offset) return { bytes: new Uint8Array(), size };
    const bytes = new Uint8Array(stop - offset);
    let read = 0;
    while (read < bytes.length) {
      const n = readSync(fd, bytes, read, bytes.length - read, offset + read);
      if (n === 0) break;
      read += n;
    }
    return { bytes: bytes.subarray(0, read), size };
  } finally {
    closeSync(fd);
  }
}

function countNewlines(bytes: Uint8Array): number {
  let n = 0;
  for (let i = bytes.indexOf(NEWLINE); i >= 0; i = bytes.indexOf(NEWLINE, i + 1)) n++;
  return n;
}

/**
 * Applies the complete lines of `bytes`, the first of which is line `at.line()` of `at.file`; returns the bytes
 * consumed (up to the last newline). Lines are found and counted in the bytes, and only then decoded: a byte that
 * is not UTF-8 (decoded as U+FFFD, three bytes) must not move the offset. A line that is not a valid entry, or that
 * the database refuses, is skipped with a warning naming its file and line: one bad line never holds up the others.
 */
function applyLines(
  bytes: Uint8Array,
  at: { file: string; line: () => number },
  target: FoldTarget,
  warnings: string[],
): number {
  const end = bytes.lastIndexOf(NEWLINE);
  if (end < 0) return 0; // a line being written: folded next time
  const decoder = new TextDecoder();
  let first: number | undefined;
  const where = (i: number) => `${at.file}:${(first ??= at.line()) + i}`;
  for (let i = 0, from = 0; from <= end; i++) {
    const to = bytes.indexOf(NEWLINE, from);
    const line = decoder.decode(bytes.subarray(from, to));
    from = to + 1;
    if (line.trim() === "") continue;
    const entry = parseEntry(line);
    if (typeof entry === "string") {
      warnings.push(`${where(i)}: skipped a line that is not a ledger entry (${entry}): ${quoted(line)}`);
      continue;
    }
    try {
      target.apply(entry);
    } catch (error) {
      if (!(error instanceof EntryError)) throw error;
      warnings.push(`${where(i)}: skipped an entry the ledger refused (${error.message}): ${quoted(line)}`);
    }
  }
  return end + 1;
}

/** The start of a line, its control characters escaped (it goes to a terminal). */
function quoted(line: string): string {
  const shown = line.length > 80 ? `${line.slice(0, 80)}…` : line;
  // deno-lint-ignore no-control-regex
  return shown.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** The latest instant a run's time may be (Unix ms): the last a `Date` holds. */
const MAX_MS = 8.64e15;

/** Why a field is not valid; thrown inside {@link parseEntry}. */
class Invalid extends Error {}

type Fields = Record<string, unknown>;

function has(o: Fields, key: string): boolean {
  return Object.hasOwn(o, key) && o[key] !== undefined;
}

function text(o: Fields, key: string): string {
  if (typeof o[key] !== "string" || o[key] === "") throw new Invalid(`${key}: not a non-empty string`);
  return o[key] as string;
}

/** A string or null; absent is null (older entries may lack it). */
function textOrNull(o: Fields, key: string): string | null {
  if (!has(o, key) || o[key] === null) return null;
  if (typeof o[key] !== "string") throw new Invalid(`${key}: not a string or null`);
  return o[key] as string;
}

/** A finite number in [min, max]; `integer` asks for a safe integer. */
function num(o: Fields, key: string, range: { min: number; max: number; integer?: boolean }): number {
  const v = o[key];
  if (typeof v !== "number" || !Number.isFinite(v) || v < range.min || v > range.max) {
    throw new Invalid(`${key}: not a number from ${range.min} to ${range.max}`);
  }
  if (range.integer && !Number.isSafeInteger(v)) throw new Invalid(`${key}: not an integer`);
  return v;
}

function numOrNull(o: Fields, key: string, range: { min: number; max: number; integer?: boolean }): number | null {
  return !has(o, key) || o[key] === null ? null : num(o, key, range);
}

function oneOf<T extends string>(o: Fields, key: string, values: readonly T[]): T {
  if (!values.includes(o[key] as T)) throw new Invalid(`${key}: not one of ${values.join(", ")}`);
  return o[key] as T;
}

function fields(v: unknown, what: string): Fields {
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw new Invalid(`${what}: not an object`);
  return v as Fields;
}

const TIME = { min: 0, max: MAX_MS };
const DURATION = { min: 0, max: MAX_MS };
const COUNT = { min: 0, max: Number.MAX_SAFE_INTEGER, integer: true };

/** A run's start, every field checked (absent nullable fields are null). */
function runStart(r: Fields): RunStart {
  const start: RunStart = {
    executionId: text(r, "executionId"),
    traceId: textOrNull(r, "traceId"),
    kind: has(r, "kind") ? oneOf(r, "kind", ["workflow", "planned"] as const) : "workflow",
    workflowName: text(r, "workflowName"),
    workflowFile: textOrNull(r, "workflowFile"),
    workflowHash: textOrNull(r, "workflowHash"),
    savedName: textOrNull(r, "savedName"),
    startedMs: num(r, "startedMs", TIME),
    pflowVersion: textOrNull(r, "pflowVersion") as string,
  };
  if (has(r, "pid")) start.pid = num(r, "pid", COUNT);
  if (has(r, "host")) start.host = text(r, "host");
  if (has(r, "processStart")) start.processStart = textOrNull(r, "processStart");
  return start;
}

/** One node statistic of a run's end. */
function nodeStat(v: unknown, i: number): NodeStat {
  const n = fields(v, `nodes[${i}]`);
  const buckets = n.buckets;
  if (!Array.isArray(buckets) || buckets.some((b) => !Number.isSafeInteger(b) || b < 0)) {
    throw new Invalid(`nodes[${i}].buckets: not a list of counts`);
  }
  return {
    type: text(n, "type"),
    status: oneOf(n, "status", ["success", "error", "interrupted"] as const),
    executions: num(n, "executions", COUNT),
    timed: num(n, "timed", COUNT),
    durationMsSum: num(n, "durationMsSum", { min: 0, max: Number.MAX_VALUE }),
    buckets: buckets as number[],
  };
}

/** A run's end (with its start's fields), every field checked. */
function runEnd(r: Fields): RunStart & RunEnd {
  const ended: LedgerRunStatus[] = RUN_STATUSES.filter((s) => s !== "running");
  const pricing = r.pricingComplete;
  if (has(r, "pricingComplete") && pricing !== null && typeof pricing !== "boolean") {
    throw new Invalid("pricingComplete: not true, false or null");
  }
  if (has(r, "nodes") && !Array.isArray(r.nodes)) throw new Invalid("nodes: not a list");
  const end: RunStart & RunEnd = {
    ...runStart(r),
    status: oneOf(r, "status", ended) as RunEnd["status"],
    subtype: textOrNull(r, "subtype") as string,
    endedMs: num(r, "endedMs", TIME),
    durationMs: num(r, "durationMs", DURATION),
    nodesExecuted: num(r, "nodesExecuted", COUNT),
    traceFile: textOrNull(r, "traceFile"),
    priceVersion: textOrNull(r, "priceVersion"),
    priceSource: textOrNull(r, "priceSource"),
    pricingComplete: (pricing ?? null) as boolean | null,
    plannerPath: textOrNull(r, "plannerPath"),
    plannerTraceFile: textOrNull(r, "plannerTraceFile"),
    durationPlannerMs: numOrNull(r, "durationPlannerMs", DURATION),
  };
  if (has(r, "nodes")) end.nodes = (r.nodes as unknown[]).map(nodeStat);
  return end;
}

const AMOUNT = { min: -Number.MAX_VALUE, max: Number.MAX_VALUE };

/** A boolean; absent is false. */
function flag(o: Fields, key: string): boolean {
  if (!has(o, key)) return false;
  if (typeof o[key] !== "boolean") throw new Invalid(`${key}: not true or false`);
  return o[key] as boolean;
}

/** One call of a run's end (a call the database did not take), every field checked. */
function lateCall(v: unknown, i: number): LateCall {
  const c = fields(v, `calls[${i}]`);
  const at = (error: unknown) => error instanceof Invalid ? new Invalid(`calls[${i}].${error.message}`) : error;
  try {
    return {
      phase: oneOf(c, "phase", ["planner", "workflow"] as const),
      node: textOrNull(c, "node"),
      nodeExecution: numOrNull(c, "nodeExecution", COUNT),
      itemIndex: numOrNull(c, "itemIndex", COUNT),
      provider: text(c, "provider"),
      model: text(c, "model"),
      priceModel: textOrNull(c, "priceModel"),
      responseModel: textOrNull(c, "responseModel"),
      inputTokens: num(c, "inputTokens", COUNT),
      cacheReadTokens: num(c, "cacheReadTokens", COUNT),
      cacheWrite5mTokens: num(c, "cacheWrite5mTokens", COUNT),
      cacheWrite1hTokens: num(c, "cacheWrite1hTokens", COUNT),
      outputTokens: num(c, "outputTokens", COUNT),
      reasoningTokens: num(c, "reasoningTokens", COUNT),
      costUsd: numOrNull(c, "costUsd", AMOUNT),
      reportedCostUsd: numOrNull(c, "reportedCostUsd", AMOUNT),
      usageMissing: flag(c, "usageMissing"),
      priceVersion: textOrNull(c, "priceVersion"),
      durationMs: numOrNull(c, "durationMs", DURATION),
      ttftMs: numOrNull(c, "ttftMs", DURATION),
      requestId: textOrNull(c, "requestId"),
      status: oneOf(c, "status", ["ok", "error"] as const),
      errorType: textOrNull(c, "errorType"),
      startOffsetMs: numOrNull(c, "startOffsetMs", AMOUNT),
    };
  } catch (error) {
    throw at(error);
  }
}

/** The entry a line holds, built from its checked fields; or why it is none. */
function parseEntry(line: string): InboxEntry | string {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return "not JSON";
  }
  try {
    const entry = fields(value, "the line");
    if (entry.v !== 1) return "v: not 1";
    if (entry.op === "start") return { v: 1, op: "start", run: runStart(fields(entry.run, "run")) };
    if (entry.op === "end") {
      const end: InboxEntry = { v: 1, op: "end", run: runEnd(fields(entry.run, "run")) };
      if (has(entry, "calls")) {
        if (!Array.isArray(entry.calls)) throw new Invalid("calls: not a list");
        end.calls = entry.calls.map(lateCall);
      }
      return end;
    }
    return "op: not start or end";
  } catch (error) {
    if (error instanceof Invalid) return error.message;
    throw error;
  }
}
