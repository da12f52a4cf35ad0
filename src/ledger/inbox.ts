/**
 * The ledger's inbox: run rows of runs that never opened the database.
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
import type { RunEnd, RunStart } from "./types.ts";

/** The inbox is rotated once this much of it is folded. */
export const INBOX_ROTATE_BYTES = 1 << 20;

/** One line of the inbox. */
export type InboxEntry =
  | { v: 1; op: "start"; run: RunStart }
  | { v: 1; op: "end"; run: RunStart & RunEnd };

/**
 * Appends one entry (a single `write` of one line, file mode 0600).
 * Returns the inbox's size afterwards.
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
    writeSync(fd, line);
    return fstatSync(fd).size;
  } finally {
    closeSync(fd);
  }
}

/** What a fold needs of the database: the offset it reached, and where the entries go. */
export interface FoldTarget {
  /** The byte offset folded so far (0 when none). */
  offset(): number;
  /** Stores the offset (in the fold's transaction). */
  setOffset(offset: number): void;
  /** Applies one entry. */
  apply(entry: InboxEntry): void;
}

/**
 * Folds the inbox into `target` (the caller holds the write transaction):
 * first a rotated file, whole (it may have received a line after it was
 * rotated), then the inbox from the stored offset; once the folded part
 * passes {@link INBOX_ROTATE_BYTES}, the inbox is rotated. Returns warnings
 * for lines that are not inbox entries (they are skipped).
 */
export function foldInbox(
  home: string,
  target: FoldTarget,
  options: { rotateBytes?: number } = {},
): string[] {
  const rotateBytes = options.rotateBytes ?? INBOX_ROTATE_BYTES;
  const path = inboxFile(home);
  const rotated = `${path}.old`;
  const warnings: string[] = [];
  const old = readFrom(rotated, 0);
  if (old !== undefined) {
    applyLines(old.text, rotated, target, warnings);
    rmSync(rotated, { force: true });
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
    offset += applyLines(whole.text, path, target, warnings);
  } else {
    offset += applyLines(current.text, path, target, warnings);
  }
  if (offset >= rotateBytes) {
    renameSync(path, rotated);
    offset = 0;
  }
  target.setOffset(offset);
  return warnings;
}

const APPEND = constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT;

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

/** The text of `path` from `offset`, and its size; undefined when the file does not exist. */
function readFrom(path: string, offset: number): { text: string; size: number } | undefined {
  let fd: number;
  try {
    fd = openRegular(path, constants.O_RDONLY);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  try {
    const size = fstatSync(fd).size;
    if (size <= offset) return { text: "", size };
    const bytes = new Uint8Array(size - offset);
    let read = 0;
    while (read < bytes.length) {
      const n = readSync(fd, bytes, read, bytes.length - read, offset + read);
      if (n === 0) break;
      read += n;
    }
    return { text: new TextDecoder().decode(bytes.subarray(0, read)), size };
  } finally {
    closeSync(fd);
  }
}

/** Applies the complete lines of `text`; returns the bytes consumed (up to the last newline). */
function applyLines(text: string, file: string, target: FoldTarget, warnings: string[]): number {
  const end = text.lastIndexOf("\n");
  if (end < 0) return 0; // a line being written: folded next time
  const lines = text.slice(0, end).split("\n");
  for (const line of lines) {
    if (line.trim() === "") continue;
    const entry = parseEntry(line);
    if (entry === undefined) {
      warnings.push(`${file}: skipped a line that is not a ledger entry: ${line.slice(0, 80)}`);
      continue;
    }
    target.apply(entry);
  }
  return new TextEncoder().encode(text.slice(0, end + 1)).length;
}

function parseEntry(line: string): InboxEntry | undefined {
  try {
    const entry = JSON.parse(line) as InboxEntry;
    if (entry?.v !== 1 || (entry.op !== "start" && entry.op !== "end")) return undefined;
    const run = entry.run as unknown as Record<string, unknown>;
    if (typeof run?.executionId !== "string" || typeof run.startedMs !== "number") return undefined;
    if (typeof run.workflowName !== "string") return undefined;
    return entry;
  } catch {
    return undefined;
  }
}
