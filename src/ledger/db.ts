/**
 * Opening the ledger file: `node:sqlite` (built into Deno and Bun), WAL
 * journal, a busy timeout, forward migrations, and one clear error for a
 * file that is corrupt or was written by a newer pflow (which is left
 * untouched). Loaded only when something reads or writes the ledger.
 * @module
 */
import { closeSync, existsSync, mkdirSync, openSync, readlinkSync, readSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { PRIVATE_DIR_MODE } from "../util/private_files.ts";
import { migrations, SCHEMA_VERSION } from "./schema.ts";
import { fileErrorReason, fileKind } from "../util/file_errors.ts";
import { brokenLinkProblem } from "../util/path_problem.ts";

/** Why the ledger cannot be used. */
export type LedgerErrorKind = "corrupt" | "newer" | "io";

/** The ledger cannot be opened or written; the message is one line naming the file. */
export class LedgerError extends Error {
  /**
   * @param path the ledger file
   * @param kind what is wrong
   * @param message one line, naming the file and what to do
   * @param options the error of SQLite or the file system it comes from
   */
  constructor(readonly path: string, readonly kind: LedgerErrorKind, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "LedgerError";
  }
}

/** How long a reader (`pflow cost`, `pflow metrics`) waits for another process's write to finish. */
export const BUSY_TIMEOUT_MS = 10_000;

/**
 * How long a run waits for another process's lock before it keeps its rows for the inbox instead: its writes
 * are synchronous, and a run must not be held up (a signal is handled only between them).
 */
export const RUN_BUSY_TIMEOUT_MS = 25;

const SQLITE_MAGIC = "SQLite format 3\0";

/**
 * Opens (creating when absent, mode 0600) and migrates the ledger at `path`.
 * Throws {@link LedgerError} for a corrupt file or one of a newer schema
 * version (checked from the file header first, so such a file is never
 * modified).
 */
export function openLedgerDb(path: string, options: { busyTimeoutMs?: number } = {}): DatabaseSync {
  const busyTimeoutMs = options.busyTimeoutMs ?? BUSY_TIMEOUT_MS;
  checkHeader(path);
  const deadline = Date.now() + busyTimeoutMs;
  for (;;) {
    let db: DatabaseSync | undefined;
    try {
      if (!existsSync(path)) createFile(path);
      db = new DatabaseSync(path);
      db.exec(`PRAGMA busy_timeout = ${busyTimeoutMs}`);
      const mode = db.prepare("PRAGMA journal_mode").get() as { journal_mode: string };
      if (mode.journal_mode !== "wal") db.exec("PRAGMA journal_mode = WAL");
      db.exec("PRAGMA synchronous = NORMAL");
      migrate(db, path);
      return db;
    } catch (error) {
      try {
        db?.close();
      } catch { /* already unusable */ }
      // Opening a new file can race another process's migration; wait for it.
      if (isBusy(error) && Date.now() < deadline) {
        sleepSync(Math.min(5 + Math.random() * 20, Math.max(1, deadline - Date.now())));
        continue;
      }
      throw asLedgerError(error, path);
    }
  }
}

/**
 * A copy in memory of the ledger at `path`, migrated, for reading a ledger that cannot be written (a read-only
 * file system, a full disk, a PFLOW_HOME that cannot be created): nothing on disk is written, and what is folded
 * or settled in the copy is gone when it is closed. No file (or an empty one) gives an empty ledger. The file is
 * read through a read-only connection, or as immutable where WAL keeps even that from opening (no `-shm` file,
 * and none can be made). Throws {@link LedgerError} as {@link openLedgerDb} does.
 */
export function openLedgerCopy(path: string): DatabaseSync {
  checkHeader(path);
  const db = new DatabaseSync(":memory:");
  try {
    if (existsSync(path) && statSync(path).size > 0) copyInto(db, path);
    migrate(db, path);
    return db;
  } catch (error) {
    try {
      db.close();
    } catch { /* already unusable */ }
    throw asLedgerError(error, path);
  }
}

/** Copies the schema and rows of the ledger at `path` into `db` (empty, in memory), in one read transaction. */
function copyInto(db: DatabaseSync, path: string): void {
  attachReadOnly(db, path);
  try {
    const version = (db.prepare("PRAGMA disk.user_version").get() as { user_version: number }).user_version;
    if (version > SCHEMA_VERSION) throw newer(path, version);
    const objects = db.prepare(
      `SELECT type, name, sql FROM disk.sqlite_master
       WHERE sql IS NOT NULL AND substr(name, 1, 7) <> 'sqlite_' ORDER BY type <> 'table', rowid`,
    ).all() as { type: string; name: string; sql: string }[];
    db.exec("BEGIN");
    try {
      for (const { type, name, sql } of objects) {
        db.exec(sql); // unqualified: created in main
        if (type === "table") {
          const quoted = `"${name.replaceAll('"', '""')}"`;
          db.exec(`INSERT INTO main.${quoted} SELECT * FROM disk.${quoted}`);
        }
      }
      db.exec(`PRAGMA main.user_version = ${version}`);
      db.exec("COMMIT");
    } catch (error) {
      db.exec("ROLLBACK");
      throw error;
    }
  } finally {
    db.exec("DETACH disk");
  }
}

/** The URI of the file at `path` (SQLite's URI filenames: `%`, `?` and `#` escaped). */
function fileUri(path: string): string {
  return `file:${path.replace(/[%?#]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)}`;
}

/**
 * A read-only connection to the ledger at `path`, migrated or not (see {@link ledgerVersion}), which writes
 * nothing and, in WAL mode, waits for no writer; opened as immutable where WAL keeps a read-only connection from
 * opening (no `-shm` file, and none can be made). Undefined when there is no ledger (no file, or an empty one).
 * Throws {@link LedgerError} for a corrupt, newer or unreadable file.
 */
export function openLedgerReadOnly(path: string, options: { busyTimeoutMs?: number } = {}): DatabaseSync | undefined {
  checkHeader(path);
  if (!existsSync(path) || statSync(path).size === 0) return undefined;
  let failure: unknown;
  for (const mode of ["mode=ro", "immutable=1"]) {
    let db: DatabaseSync | undefined;
    try {
      db = new DatabaseSync(`${fileUri(path)}?${mode}`);
      db.exec(`PRAGMA busy_timeout = ${options.busyTimeoutMs ?? BUSY_TIMEOUT_MS}`);
      db.prepare("SELECT count(*) FROM sqlite_master").get(); // opens the file
      return db;
    } catch (error) {
      failure = error;
      try {
        db?.close();
      } catch { /* already unusable */ }
    }
  }
  throw asLedgerError(failure, path);
}

/** The schema version of an open ledger. */
export function ledgerVersion(db: DatabaseSync): number {
  return userVersion(db);
}

/** Attaches the file at `path` as `disk`, read-only (as immutable when a read-only connection cannot open it). */
function attachReadOnly(db: DatabaseSync, path: string): void {
  const uri = fileUri(path);
  let failure: unknown;
  for (const mode of ["mode=ro", "immutable=1"]) {
    try {
      db.prepare("ATTACH ? AS disk").run(`${uri}?${mode}`);
    } catch (error) {
      failure = error;
      continue;
    }
    try {
      db.prepare("SELECT count(*) FROM disk.sqlite_master").get(); // opens the file
      return;
    } catch (error) {
      failure = error;
      db.exec("DETACH disk");
    }
  }
  throw failure;
}

/**
 * Whether `error` (of {@link openLedgerDb}, or of a write) says the ledger cannot be written, though it may be
 * read: a read-only or full file system, no permission, a file or folder that cannot be created, a lock held
 * past the busy timeout. Not a corrupt or newer file, nor an inbox that cannot be read.
 */
export function cannotWrite(error: unknown): boolean {
  if (error instanceof LedgerError && (error.kind !== "io" || error.cause === undefined)) return false;
  const cause = error instanceof LedgerError ? error.cause : error;
  const errno = (cause as NodeJS.ErrnoException)?.code;
  if (typeof errno === "string" && ["EROFS", "EACCES", "EPERM", "ENOSPC", "EDQUOT", "EFBIG"].includes(errno)) {
    return true;
  }
  // SQLITE_BUSY, SQLITE_LOCKED, SQLITE_READONLY, SQLITE_IOERR, SQLITE_FULL, SQLITE_CANTOPEN.
  return [5, 6, 8, 10, 13, 14].includes(sqliteCode(cause) ?? -1);
}

/** Reads the schema version from the file header without opening it; throws for a newer or non-SQLite file. */
function checkHeader(path: string): void {
  const header = new Uint8Array(100);
  let read: number;
  try {
    // A named pipe would block the open until a writer came; a device is no ledger either.
    const info = statSync(path);
    if (!info.isFile() && !info.isDirectory()) {
      throw new LedgerError(
        path,
        "io",
        `${path}: cannot read the ledger: it is ${
          fileKind(info)
        }, not a regular file; move it away and pflow starts a new one`,
      );
    }
    const fd = openSync(path, "r");
    try {
      read = readSync(fd, header, 0, 100, 0);
    } finally {
      closeSync(fd);
    }
  } catch (error) {
    if (error instanceof LedgerError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return danglingLink(path);
    // A directory opens, and fails at the read.
    const why = fileErrorReason(error);
    throw new LedgerError(
      path,
      "io",
      `${path}: cannot read the ledger: ${why}; move it away and pflow starts a new one`,
    );
  }
  if (read === 0) return; // an empty file is a new ledger
  if (read < 100 || new TextDecoder().decode(header.subarray(0, 16)) !== SQLITE_MAGIC) throw corrupt(path);
  const version = new DataView(header.buffer).getUint32(60);
  if (version > SCHEMA_VERSION) throw newer(path, version);
}

/**
 * Throws for a ledger path that is a symbolic link to nothing in a folder that does not exist either (pflow
 * cannot create the file it names); a link into an existing folder is fine: the ledger is created there.
 */
function danglingLink(path: string): void {
  const link = brokenLinkProblem(path);
  if (link === undefined) return;
  if (existsSync(dirname(resolve(dirname(path), readlinkSync(path))))) return;
  throw new LedgerError(path, "io", `${path} ${link}: fix or remove the link (pflow then starts a new ledger)`);
}

function createFile(path: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: PRIVATE_DIR_MODE });
  // SQLite gives its -wal and -shm files the database file's mode.
  closeSync(openSync(path, "a", 0o600));
}

function migrate(db: DatabaseSync, path: string): void {
  const version = userVersion(db);
  if (version > SCHEMA_VERSION) throw newer(path, version);
  if (version === SCHEMA_VERSION) return;
  db.exec("BEGIN IMMEDIATE");
  try {
    const current = userVersion(db); // another process may have migrated meanwhile
    for (let v = current; v < SCHEMA_VERSION; v++) db.exec(migrations()[v]);
    db.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`);
    db.exec("COMMIT");
  } catch (error) {
    db.exec("ROLLBACK");
    throw error;
  }
}

function userVersion(db: DatabaseSync): number {
  return (db.prepare("PRAGMA user_version").get() as { user_version: number }).user_version;
}

function newer(path: string, version: number): LedgerError {
  return new LedgerError(
    path,
    "newer",
    `${path}: ledger schema version ${version} is newer than this pflow reads (${SCHEMA_VERSION}); upgrade pflow (the file was not changed)`,
  );
}

function corrupt(path: string): LedgerError {
  return new LedgerError(
    path,
    "corrupt",
    `${path}: not a readable ledger (corrupt or not a SQLite file); move it away and pflow starts a new one`,
  );
}

/** SQLite's result code of an error from `node:sqlite` (or of the one a {@link LedgerError} comes from), when it says. */
function sqliteCode(error: unknown): number | undefined {
  if (error instanceof LedgerError && error.cause !== undefined) return sqliteCode(error.cause);
  const code = (error as { errcode?: unknown })?.errcode;
  if (typeof code === "number") return code & 0xff;
  const message = String((error as Error)?.message ?? "");
  if (/database is locked|database table is locked/.test(message)) return 5;
  if (/file is not a database/.test(message)) return 26;
  if (/attempt to write a readonly database/.test(message)) return 8;
  if (/database or disk is full/.test(message)) return 13;
  if (/unable to open database file/.test(message)) return 14;
  if (/malformed/.test(message)) return 11;
  return undefined;
}

/**
 * Whether `error` refused the values of a statement (a value that cannot be bound; a constraint, type or range
 * SQLite checks) rather than reporting a failing database (I/O, a full disk, corruption, a lock).
 */
export function refusedValues(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  if (code === "ERR_INVALID_ARG_TYPE" || code === "ERR_INVALID_ARG_VALUE") return true;
  // SQLITE_TOOBIG, SQLITE_CONSTRAINT, SQLITE_MISMATCH, SQLITE_RANGE.
  return [18, 19, 20, 25].includes(sqliteCode(error) ?? -1);
}

/** Whether another connection holds the lock (SQLITE_BUSY or SQLITE_LOCKED). */
export function isBusy(error: unknown): boolean {
  const code = sqliteCode(error);
  return code === 5 || code === 6;
}

/** Turns a `node:sqlite` or file-system error into a {@link LedgerError} naming the file. */
export function asLedgerError(error: unknown, path: string): LedgerError {
  if (error instanceof LedgerError) return error;
  const code = sqliteCode(error);
  if (code === 11 || code === 26) return corrupt(path);
  const message = String((error as Error)?.message ?? error).split("\n")[0];
  return new LedgerError(path, "io", `${path}: ${message}`, { cause: error });
}

/**
 * An error that a query of the ledger threw (`node:sqlite`: a damaged page,
 * a read-only file) as a {@link LedgerError} naming the file; undefined for
 * any other error.
 */
export function ledgerQueryError(error: unknown, path: string): LedgerError | undefined {
  if (error instanceof LedgerError) return error;
  const code = (error as { code?: unknown })?.code;
  if (code !== "ERR_SQLITE_ERROR" && sqliteCode(error) === undefined) return undefined;
  return asLedgerError(error, path);
}

/** Blocks for `ms` milliseconds (retrying a lock outside any event-loop work). */
function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
