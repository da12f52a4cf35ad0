/**
 * File nodes: `read-file`, `write-file`, `copy-file`, `move-file` and
 * `delete-file`. They read and write regular files only (never directories,
 * devices, named pipes or sockets); relative paths resolve against pflow's
 * working directory, `..` as the kernel takes it (after a symlink, from where
 * it leads).
 * @module
 */
import { Buffer } from "node:buffer";
import { constants as fsConstants, type Stats } from "node:fs";
import { dirname, isAbsolute, join, parse, resolve, sep } from "node:path";
import type { FileHandle } from "node:fs/promises";
import { FatalError, Node, type RunContext, type Shared, throwIfAborted } from "../engine/mod.ts";
import { writeFileAtomic } from "../util/atomic_write.ts";
import { timed } from "../observability/decorators.ts";
import {
  DEFAULT_MAX_OUTPUT_BYTES,
  hasTemplate,
  NodeError,
  type NodeSpec,
  paramJson,
  type ParamProblem,
  problemOf,
  readParams,
} from "./spec.ts";
import { formatBytes } from "../util/bytes.ts";
import { decodeUtf8, InvalidUtf8Error } from "../util/utf8.ts";
import { fsPromises } from "../util/fs_promises.ts";
import { fileKind } from "../util/file_errors.ts";
import { endsInNewline, shownPath, TRAILING_NEWLINE_HINT } from "../util/shown_path.ts";

/** Encodings the file nodes read and write. */
export type FileEncoding = "utf8" | "base64";

const ENCODINGS: readonly FileEncoding[] = ["utf8", "base64"];

/**
 * Turns a file-system error into a {@link NodeError} naming the path and the
 * problem. `hint` is added to the "is a directory" message.
 */
export function fileError(
  error: unknown,
  path: string,
  hint = "",
): NodeError {
  if (error instanceof NodeError) return error;
  const code = (error as NodeJS.ErrnoException)?.code;
  const suffix = hint ? ` (${hint})` : "";
  switch (code) {
    case "ENOENT":
      return new NodeError(`file not found: ${shownPath(path)}`);
    case "EACCES":
    case "EPERM":
      return new NodeError(`permission denied: ${shownPath(path)}`);
    case "EISDIR":
      return new NodeError(`is a directory: ${shownPath(path)}${suffix}`);
    case "ENOTDIR":
      return new NodeError(
        `not a directory: a parent of ${shownPath(path)} is a file`,
      );
    case "EROFS":
      return new NodeError(`read-only file system: ${shownPath(path)}`);
    case "ENOSPC":
      return new NodeError(`no space left on device: ${shownPath(path)}`);
    case "EDQUOT":
      return new NodeError(`disk quota exceeded: ${shownPath(path)}`);
    case "ENAMETOOLONG":
      return new NodeError(`file name too long: ${shownPath(path)}`);
    case "ELOOP":
      return new NodeError(`too many symbolic links: ${shownPath(path)}`);
  }
  const message = error instanceof Error ? error.message : String(error);
  return new NodeError(`${shownPath(path)}: ${message.split("\n")[0]}`);
}

/**
 * `stat` of `path` (`lstat` with `link`: a symlink itself, dangling or not),
 * or undefined when nothing is there.
 */
async function statOrUndefined(path: string, options: { link?: boolean } = {}): Promise<Stats | undefined> {
  try {
    const { lstat, stat } = await fsPromises();
    return await (options.link ? lstat(path) : stat(path));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw fileError(error, path);
  }
}

/**
 * The refusal of a device, FIFO or socket: opening a FIFO waits for its
 * other end (in a thread no signal reaches), and a device can be read or
 * written for ever. A shell node (`cat`, `tee`) does it, bounded and stoppable.
 */
function notRegular(path: string, info: Stats, hint: string): NodeError {
  return new NodeError(
    `not a regular file: ${shownPath(path)} is ${
      fileKind(info)
    } (${hint}; use a shell node to read or write pipes and devices)`,
  );
}

/** Checks that `path` names an existing regular file; returns its stats. */
async function requireFile(path: string, hint: string): Promise<Stats> {
  let info: Stats;
  try {
    info = await (await fsPromises()).stat(path);
  } catch (error) {
    throw fileError(error, path, hint);
  }
  if (info.isDirectory()) {
    throw new NodeError(`is a directory: ${shownPath(path)} (${hint})`);
  }
  if (!info.isFile()) throw notRegular(path, info, hint);
  return info;
}

/**
 * The file's bytes, no more than `max`: a larger file fails before reading,
 * one that grows past it while read at the first byte past the bound. Opened
 * without blocking, so a FIFO swapped in after {@link requireFile} is
 * refused instead of waited on.
 */
async function readBounded(path: string, max: number, hint: string): Promise<Buffer> {
  const tooLarge = (what: string) =>
    new NodeError(
      `${shownPath(path)} ${what} max_bytes (${
        formatBytes(max)
      }); raise the node's 'max_bytes' param, or read a part ` +
        `of it with a shell node (head, tail, grep)`,
    );
  const handle = await (await fsPromises()).open(path, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw notRegular(path, info, hint);
    if (info.size > max) throw tooLarge(`is ${formatBytes(info.size)}, more than`);
    const chunks: Buffer[] = [];
    let size = 0;
    // In one read (its size + 1 shows it did not grow); a file that grows in 1 MiB steps.
    for (let step = info.size + 1;; step = 1024 * 1024) {
      const chunk = Buffer.allocUnsafe(Math.min(step, max + 1 - size));
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, null);
      if (bytesRead === 0) break;
      size += bytesRead;
      if (size > max) throw tooLarge("is larger than");
      chunks.push(chunk.subarray(0, bytesRead));
    }
    return Buffer.concat(chunks, size);
  } finally {
    await handle.close();
  }
}

/** Creates the parent directory of `path` (and its parents). */
async function makeParent(path: string): Promise<void> {
  const dir = dirname(path);
  try {
    await (await fsPromises()).mkdir(dir, { recursive: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // ENOENT too: a dangling link to a folder midway (mkdir cannot go through it).
    if (code === "EEXIST" || code === "ENOTDIR" || code === "ENOENT") {
      const blocked = await blockedDirectory(dir);
      if (blocked) throw blocked;
      if (code !== "ENOENT") throw new NodeError(`cannot create directory ${shownPath(dir)}: a part of it is a file`);
    }
    throw fileError(error, dir);
  }
}

/**
 * Why `mkdir -p dir` found something in the way: the first part of `dir`
 * that is a file, or a symlink leading nowhere (which `mkdir` reports as
 * existing or missing, not as a link); undefined when none is found.
 */
async function blockedDirectory(dir: string): Promise<NodeError | undefined> {
  const { lstat, stat } = await fsPromises();
  const root = parse(dir).root;
  let current = root;
  for (const part of dir.slice(root.length).split(sep)) {
    if (!part) continue;
    current = join(current, part);
    const info = await lstat(current).catch(() => undefined);
    if (!info) break;
    if (info.isSymbolicLink()) {
      const target = await stat(current).catch(() => undefined);
      if (!target) {
        return new NodeError(
          `cannot create directory ${
            shownPath(dir)
          }: a part of its path is a symbolic link to something that does not exist: ${shownPath(current)}`,
        );
      }
      if (!target.isDirectory()) {
        return new NodeError(
          `cannot create directory ${shownPath(dir)}: a part of it is a file: ${shownPath(current)} (a symbolic link)`,
        );
      }
    } else if (!info.isDirectory()) {
      return new NodeError(`cannot create directory ${shownPath(dir)}: a part of it is a file: ${shownPath(current)}`);
    }
  }
  return undefined;
}

/**
 * The absolute path `given` names, resolved as the kernel does: `.` and `..`
 * are taken one at a time against what is on disk, so `link/..` is the
 * parent of where `link` leads, not the folder holding `link` (which is what
 * `resolve` makes of it). Symlinks elsewhere stay as given, so the path
 * prints as the user wrote it. A relative `given` is taken from `base`
 * (pflow's working directory, or a link's folder for its target). `.` or
 * `..` after a file fails as the kernel's ENOTDIR; after a part that does not
 * exist yet it is textual, as the folders write-file creates would make it.
 */
async function kernelPath(given: string, base: string = resolve("")): Promise<string> {
  const root = isAbsolute(given) ? parse(given).root : "";
  let current = root ? resolve(root) : base;
  for (const part of given.slice(root.length).split(sep === "/" ? "/" : /[\\/]/)) {
    if (part === "" || part === ".") {
      if (part === ".") await requireDirectory(current, given);
      continue;
    }
    if (part !== "..") {
      current = join(current, part);
      continue;
    }
    // `..` of a symlink is the parent of where it leads: resolve the link first.
    const { lstat, realpath } = await fsPromises();
    const info = await lstat(current).catch((error) => {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw fileError(error, given);
    });
    if (info?.isSymbolicLink()) {
      try {
        current = await realpath(current);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ENOENT") throw danglingPart(given, current);
        throw fileError(error, given);
      }
    } else if (info && !info.isDirectory()) {
      throw notADirectory(given, current);
    }
    current = dirname(current);
  }
  return current;
}

/** Fails unless `path` is a directory or missing (for `.` after it). */
async function requireDirectory(path: string, given: string): Promise<void> {
  const info = await statOrUndefined(path);
  if (info && !info.isDirectory()) throw notADirectory(given, path);
}

function notADirectory(given: string, file: string): NodeError {
  return new NodeError(`not a directory: ${shownPath(given)} goes on after ${shownPath(file)}, which is a file`);
}

function danglingPart(given: string, link: string): NodeError {
  return new NodeError(
    `file not found: ${shownPath(given)} (a part of its path is a symbolic link to something that does not exist: ${
      shownPath(link)
    })`,
  );
}

/** True when `a` and `b` are the same file (both must exist). */
function sameFile(a: Stats, b: Stats): boolean {
  return a.dev === b.dev && a.ino === b.ino;
}

// ---------------------------------------------------------------- read-file

interface ReadParams {
  path: string;
  encoding: FileEncoding;
  max_bytes: number;
}

/** Reads a file; writes `content`. */
@timed
export class ReadFileNode extends Node {
  /** The type's declaration. */
  static readonly spec: NodeSpec = {
    type: "read-file",
    description: "Reads a file as text (UTF-8) or as base64; a path ending in '/' names a directory and fails the node",
    params: {
      path: {
        type: "string",
        description: "The file to read (relative to pflow's working directory)",
        required: true,
      },
      encoding: {
        type: "string",
        description: "utf8 for text, base64 for binary files",
        default: "utf8",
        enum: ENCODINGS,
      },
      max_bytes: {
        type: "integer",
        description: "Most bytes read; a larger file fails the node",
        default: DEFAULT_MAX_OUTPUT_BYTES,
        positive: "bytes",
      },
    },
    outputs: {
      content: {
        type: "string",
        description: "The file's content (text, or base64 when encoding is base64)",
      },
    },
  };

  /** A literal `path` the run would refuse (empty, a line break, a NUL, a final '/'), before anything runs. */
  static validate(params: Record<string, unknown>): ParamProblem[] {
    return pathParamProblems(params, FILE_PATH);
  }

  /** Reads params. */
  override prep(): ReadParams {
    return readParams<ReadParams>(ReadFileNode.spec, this.params);
  }

  /** Reads the file (no more than `max_bytes`); utf8 must be valid UTF-8. */
  override async exec(p: ReadParams): Promise<string> {
    refusePathForm("path", p.path, FILE_PATH.path);
    const path = await kernelPath(p.path);
    const hint = "read-file reads files";
    await requireFile(path, hint);
    let data: Buffer;
    try {
      data = await readBounded(path, p.max_bytes, hint);
    } catch (error) {
      throw fileError(error, path, hint);
    }
    if (p.encoding === "base64") return data.toString("base64");
    try {
      return decodeUtf8(data);
    } catch (error) {
      if (!(error instanceof InvalidUtf8Error)) throw error;
      throw new NodeError(
        `${
          shownPath(path)
        }: ${error.message} (line ${error.at.line}); to read binary or non-UTF-8 files use encoding: base64`,
      );
    }
  }

  /** Writes `content`. */
  override post(shared: Shared, _p: ReadParams, content: string): string {
    shared.content = content;
    return "default";
  }
}

// --------------------------------------------------------------- write-file

interface WriteParams {
  path: string;
  content: unknown;
  append: boolean;
  encoding: FileEncoding;
}

interface WriteResult {
  written_path: string;
  bytes_written: number;
}

/** Standard or URL-safe base64, padding optional. */
const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

/** The bytes to write: `content` as text or JSON, or decoded from base64. */
function contentBytes(content: unknown, encoding: FileEncoding): Buffer {
  if (encoding === "base64") {
    if (typeof content !== "string") {
      throw new NodeError(
        "content must be a base64 string when encoding is base64",
      );
    }
    const compact = content.replace(/\s+/g, "");
    const digits = compact.replace(/=+$/, "").length;
    if (!BASE64.test(compact) || digits % 4 === 1) {
      throw new NodeError(
        "content is not valid base64 (use encoding: utf8 for text)",
      );
    }
    return Buffer.from(compact, "base64");
  }
  const text = typeof content === "string" ? content : `${paramJson(content, "content", 2)}\n`;
  return Buffer.from(text, "utf8");
}

/**
 * Writes a file atomically (a temp file in the same directory, then a rename)
 * or appends to it; creates parent directories. Writes `written_path` and
 * `bytes_written`.
 */
@timed
export class WriteFileNode extends Node {
  /** The type's declaration. */
  static readonly spec: NodeSpec = {
    type: "write-file",
    description:
      "Writes (atomically) or appends to a file, creating parent directories; a symlink is written through to its " +
      "target; a path ending in '/' names a directory and fails the node",
    params: {
      path: {
        type: "string",
        description:
          "The file to write (relative to pflow's working directory). A symlink, even a dangling one, is followed and its target written (created if missing), never replaced",
        required: true,
      },
      content: {
        type: "any",
        description: "What to write: a string as is, anything else as pretty-printed JSON",
        default: "",
      },
      append: {
        type: "boolean",
        description: "Append to the file instead of replacing it",
        default: false,
      },
      encoding: {
        type: "string",
        description: "utf8 writes content as text; base64 decodes it to bytes first",
        default: "utf8",
        enum: ENCODINGS,
      },
    },
    outputs: {
      written_path: {
        type: "string",
        description: "Absolute path of the file, as given (a symlink's own path when written through one)",
      },
      bytes_written: {
        type: "integer",
        description: "Number of bytes written",
      },
    },
  };

  /**
   * A literal `path` the run would refuse (empty, a line break, a NUL, a final '/'), and a literal `content` it
   * could not write (not base64 with encoding: base64), before anything runs.
   */
  static validate(params: Record<string, unknown>): ParamProblem[] {
    const problems = pathParamProblems(params, FILE_PATH);
    const { content, encoding } = params;
    if (encoding !== "base64" || content === undefined || hasTemplate(content)) return problems;
    const problem = problemOf(() => contentBytes(content, encoding));
    return problem === undefined ? problems : [...problems, { param: "content", message: problem }];
  }

  /** Reads params. */
  override prep(): WriteParams {
    return readParams<WriteParams>(WriteFileNode.spec, this.params);
  }

  /** Writes the file. */
  override async exec(p: WriteParams): Promise<WriteResult> {
    refusePathForm("path", p.path, FILE_PATH.path);
    const path = await kernelPath(p.path);
    const data = contentBytes(p.content, p.encoding);
    const hint = "write-file writes files; give a file path";
    // A symlink is written through to its target, existing or not (as `>` in a shell does): never replaced.
    const target = await throughLinks(path);
    const existing = await statOrUndefined(target);
    if (existing?.isDirectory()) {
      throw new NodeError(`is a directory: ${shownPath(path)} (${hint})`);
    }
    // In place it could wait for ever for a FIFO's reader; the atomic rename would replace the special file.
    if (existing && !existing.isFile()) throw notRegular(path, existing, "write-file writes files");
    await makeParent(target);
    if (p.append) {
      try {
        await (await fsPromises()).appendFile(target, data);
      } catch (error) {
        throw fileError(error, target, hint);
      }
    } else {
      await writeAtomic(target, data, existing?.mode);
    }
    return { written_path: path, bytes_written: data.length };
  }

  /** Writes `written_path` and `bytes_written`. */
  override post(shared: Shared, _p: WriteParams, r: WriteResult): string {
    shared.written_path = r.written_path;
    shared.bytes_written = r.bytes_written;
    return "default";
  }
}

/** Most links a path may go through (Linux's own limit). */
const MAX_LINKS = 40;

/**
 * The file a write to `path` lands in: `path` itself, or, when `path` is a
 * symlink, its target (followed through chains of links), whether the target
 * exists or not. A loop is a "too many symbolic links" error.
 */
async function throughLinks(path: string): Promise<string> {
  let current = path;
  for (let hops = 0; hops <= MAX_LINKS; hops++) {
    let info: Stats;
    try {
      info = await (await fsPromises()).lstat(current);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return current;
      throw fileError(error, current);
    }
    if (!info.isSymbolicLink()) return current;
    // A relative target is read from the link's folder as the kernel sees it (`..` there climbs from where it leads).
    const target = await (await fsPromises()).readlink(current);
    if (endsWithSeparator(target)) {
      throw new NodeError(
        `is a directory: ${shownPath(path)} (a symbolic link to ${shownPath(target)}, which names a directory)`,
      );
    }
    current = await kernelPath(target, dirname(current));
  }
  throw new NodeError(`too many symbolic links: ${shownPath(path)}`);
}

/** Writes `data` atomically, reporting errors against the real target. */
async function writeAtomic(path: string, data: Buffer, mode?: number): Promise<void> {
  try {
    await writeFileAtomic(path, data, { mode, mkdir: false });
  } catch (error) {
    throw tempFileError(error, path, "write-file writes");
  }
}

/**
 * An error of an atomic write to `path` (a temp file beside it, then a
 * rename): refused permission is the folder's, which must take a new file
 * even when `path` itself is writable; anything else is reported against `path`.
 */
function tempFileError(error: unknown, path: string, what: string): NodeError {
  const code = (error as NodeJS.ErrnoException).code;
  if (code !== "EACCES" && code !== "EPERM") return fileError(error, path);
  const dir = dirname(path);
  return new NodeError(
    `permission denied: ${shownPath(dir)} (${what} ${
      shownPath(path)
    } atomically, through a temp file in its folder, and that folder ` +
      `does not let pflow create files)`,
  );
}

// ---------------------------------------------------------- copy/move-file

interface TransferParams {
  source: string;
  destination: string;
  overwrite: boolean;
}

function transferParams(verb: string): NodeSpec["params"] {
  return {
    source: {
      type: "string",
      description: `The file to ${verb} (relative to pflow's working directory)`,
      required: true,
    },
    destination: {
      type: "string",
      description: "The new file path (not a directory); parent directories are created",
      required: true,
    },
    overwrite: {
      type: "boolean",
      description: "Replace the destination if it exists (a symlink there exists, even a dangling one)",
      default: false,
    },
  };
}

/** Whether a path names a directory by its form (`out/`): `resolve` would drop the slash and make it a file. */
function endsWithSeparator(path: string): boolean {
  return path.endsWith("/") || path.endsWith(sep);
}

/**
 * What is wrong with path param `param` by its text alone, or undefined: a
 * NUL byte (no file name holds one), or a line break. The kernel takes a
 * newline in a name, but in a path param it is a command's output pasted in
 * (`${f.stdout}` ends in one, several lines are several paths): reading
 * would say "file not found" for a file that exists, and writing would
 * create `out.txt\n` beside `out.txt`. So every file node refuses it, before
 * touching anything, and validation refuses a literal one.
 */
function pathTextProblem(param: string, given: string): string | undefined {
  if (given.includes("\0")) return `${param} holds a NUL byte, which no file name can: ${shownPath(given)}`;
  if (endsInNewline(given) && !/[\r\n]/.test(given.replace(/\r?\n$|\r$/, ""))) {
    return `${param} ends in a newline: ${shownPath(given)} (${TRAILING_NEWLINE_HINT})`;
  }
  if (/[\r\n]/.test(given)) {
    return `${param} holds a line break: ${shownPath(given)} (file nodes take no line breaks in paths; text of ` +
      "several lines is several paths: give one)";
  }
  return undefined;
}

/**
 * The problems of literal path params of a file node, `paths` naming each with the hint its run adds
 * ({@link pathFormProblem}); templates are checked when they resolve.
 */
function pathParamProblems(params: Record<string, unknown>, paths: Record<string, string>): ParamProblem[] {
  return Object.entries(paths).flatMap(([name, hint]) => {
    const value = params[name];
    if (typeof value !== "string" || hasTemplate(value)) return [];
    const problem = pathFormProblem(name, value, hint);
    return problem === undefined ? [] : [{ param: name, message: problem }];
  });
}

/**
 * What is wrong with path param `param` by its form, or undefined: empty (no file has an empty path; resolved,
 * it would name the working directory), what {@link pathTextProblem} refuses, or ending in '/': it names a
 * directory (`rm f/` fails on a file), which `resolve` would silently turn into the file itself. `hint` ends
 * the message of the first and the last.
 */
function pathFormProblem(param: string, given: string, hint: string): string | undefined {
  if (given === "") return `${param} is empty (${hint})`;
  const problem = pathTextProblem(param, given);
  if (problem !== undefined) return problem;
  if (endsWithSeparator(given)) return `${param} ends with '/', so it names a directory: ${shownPath(given)} (${hint})`;
  return undefined;
}

/** Throws what {@link pathFormProblem} finds: validation checks a literal path the same way. */
function refusePathForm(param: string, given: string, hint: string): void {
  const problem = pathFormProblem(param, given, hint);
  if (problem !== undefined) throw new NodeError(problem);
}

/** The hint a file path's problem ends with, by node: the same in validation and at run time. */
const FILE_PATH = { path: "give the file's full path" };
const TRANSFER_PATHS = {
  source: "give the source's full file path",
  destination: "give the destination's full file path",
};
const DELETE_PATH = { path: "delete-file deletes files only; give the file's full path" };

/**
 * Checks source and destination of a copy or move; returns their absolute
 * paths after creating the destination's parent directory.
 */
async function prepareTransfer(
  p: TransferParams,
  type: string,
  verb: string,
): Promise<{ source: string; destination: string }> {
  refusePathForm("source", p.source, TRANSFER_PATHS.source);
  refusePathForm("destination", p.destination, TRANSFER_PATHS.destination);
  const source = await kernelPath(p.source);
  const destination = await kernelPath(p.destination);
  const from = await requireFile(source, `${type} ${verb} files`);
  const to = await statOrUndefined(destination);
  if (to?.isDirectory()) {
    throw new NodeError(
      `is a directory: ${shownPath(destination)} (give the destination's full file path)`,
    );
  }
  if (to && !to.isFile()) throw notRegular(destination, to, `${type} ${verb} files`);
  if (to && sameFile(from, to)) {
    throw new NodeError(`source and destination are the same file: ${shownPath(source)}`);
  }
  // lstat: a symlink is there even when what it points to is not (a dangling link is not replaced).
  if (!p.overwrite && (to ?? await statOrUndefined(destination, { link: true }))) {
    throw new NodeError(
      `destination exists: ${shownPath(destination)} (set overwrite: true to replace it)`,
    );
  }
  await makeParent(destination);
  return { source, destination };
}

/** Bytes a copy reads and writes at a time; between two it looks for an interrupt. */
const COPY_CHUNK = 4 * 1024 * 1024;

/**
 * Copies `source` to `destination`, failing if it exists unless `overwrite`.
 * The copy goes to a temp file beside the destination, renamed into place
 * (without `overwrite` hard-linked, which never replaces a file another
 * process created meanwhile): a copy that fails (a full disk) or is
 * interrupted leaves the destination as it was and no partial file. It is
 * made in chunks, so an interrupt (`signal`) stops it between two.
 */
async function copy(
  source: string,
  destination: string,
  overwrite: boolean,
  signal: AbortSignal,
  type: "copy-file" | "move-file",
): Promise<void> {
  const hint = `${type} copies files`;
  let input: FileHandle;
  try {
    // Without blocking: a FIFO swapped in after the checks is refused, not waited on.
    input = await (await fsPromises()).open(source, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
  } catch (error) {
    throw fileError(error, source);
  }
  try {
    const info = await input.stat();
    if (!info.isFile()) throw notRegular(source, info, hint);
    const buffer = Buffer.allocUnsafe(Math.min(COPY_CHUNK, info.size + 1));
    const fill = async (output: FileHandle) => {
      for (;;) {
        throwIfAborted(signal);
        let bytesRead: number;
        try {
          ({ bytesRead } = await input.read(buffer, 0, buffer.length, null));
        } catch (error) {
          throw fileError(error, source);
        }
        if (bytesRead === 0) return;
        for (let at = 0; at < bytesRead;) {
          at += (await output.write(buffer, at, bytesRead - at)).bytesWritten;
        }
      }
    };
    // The source's permissions, as `cp` gives them (not setuid, setgid or sticky).
    await writeFileAtomic(destination, fill, { mode: info.mode & 0o777, exclusive: !overwrite });
  } catch (error) {
    if (error instanceof NodeError || error instanceof FatalError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EEXIST") {
      throw new NodeError(
        `destination exists: ${shownPath(destination)} (set overwrite: true to replace it)`,
      );
    }
    throw tempFileError(error, destination, `${type} writes`);
  } finally {
    await input.close();
  }
}

/** Copies a file; writes `copied_path`. */
@timed
export class CopyFileNode extends Node {
  /** The type's declaration. */
  static readonly spec: NodeSpec = {
    type: "copy-file",
    description: "Copies a file, creating the destination's parent directories. The copy goes to a temp file " +
      "beside the destination, then renamed into place: one that fails (a full disk) or is interrupted leaves " +
      "the destination as it was and no partial file",
    params: transferParams("copy"),
    outputs: {
      copied_path: { type: "string", description: "Absolute path of the copy" },
    },
  };

  /**
   * A literal `source` or `destination` the run would refuse (empty, a line break, a NUL, a final '/'), before
   * anything runs.
   */
  static validate(params: Record<string, unknown>): ParamProblem[] {
    return pathParamProblems(params, TRANSFER_PATHS);
  }

  /** Reads params. */
  override prep(): TransferParams {
    return readParams<TransferParams>(CopyFileNode.spec, this.params);
  }

  /** Copies the file. */
  override async exec(p: TransferParams, ctx: RunContext): Promise<string> {
    const { source, destination } = await prepareTransfer(
      p,
      "copy-file",
      "copies",
    );
    // A symlink is written through to its target (as `cp` does); move-file replaces it, as a rename does.
    await copy(source, await throughLinks(destination), p.overwrite, ctx.signal, "copy-file");
    return destination;
  }

  /** Writes `copied_path`. */
  override post(shared: Shared, _p: TransferParams, path: string): string {
    shared.copied_path = path;
    return "default";
  }
}

/** Moves (renames) a file, across file systems too; writes `moved_path`. */
@timed
export class MoveFileNode extends Node {
  /** The type's declaration. */
  static readonly spec: NodeSpec = {
    type: "move-file",
    description: "Moves a file (across file systems too: then copied as copy-file does, and the source removed), " +
      "creating the destination's parent directories",
    params: transferParams("move"),
    outputs: {
      moved_path: {
        type: "string",
        description: "Absolute path of the moved file",
      },
    },
  };

  /**
   * A literal `source` or `destination` the run would refuse (empty, a line break, a NUL, a final '/'), before
   * anything runs.
   */
  static validate(params: Record<string, unknown>): ParamProblem[] {
    return pathParamProblems(params, TRANSFER_PATHS);
  }

  /** Reads params. */
  override prep(): TransferParams {
    return readParams<TransferParams>(MoveFileNode.spec, this.params);
  }

  /** Moves the file. */
  override async exec(p: TransferParams, ctx: RunContext): Promise<string> {
    const { source, destination } = await prepareTransfer(
      p,
      "move-file",
      "moves",
    );
    try {
      await (await fsPromises()).rename(source, destination);
      return destination;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EXDEV") {
        const code = (error as NodeJS.ErrnoException).code;
        throw fileError(error, code === "ENOENT" ? source : destination);
      }
    }
    // Another file system: copy, then remove the source.
    await copy(source, destination, p.overwrite, ctx.signal, "move-file");
    try {
      await (await fsPromises()).unlink(source);
    } catch (error) {
      const reason = fileError(error, source).message;
      throw new NodeError(
        `copied to ${shownPath(destination)} but could not remove the source: ${reason}`,
      );
    }
    return destination;
  }

  /** Writes `moved_path`. */
  override post(shared: Shared, _p: TransferParams, path: string): string {
    shared.moved_path = path;
    return "default";
  }
}

// -------------------------------------------------------------- delete-file

interface DeleteParams {
  path: string;
  missing_ok: boolean;
}

/** Deletes a file (never a directory); writes `deleted`. */
@timed
export class DeleteFileNode extends Node {
  /** The type's declaration. */
  static readonly spec: NodeSpec = {
    type: "delete-file",
    description: "Deletes a file (never a directory); a path ending in '/' names a directory and fails the node",
    params: {
      path: {
        type: "string",
        description: "The file to delete (relative to pflow's working directory)",
        required: true,
      },
      missing_ok: {
        type: "boolean",
        description: "Succeed (with deleted: false) when the file does not exist",
        default: false,
      },
    },
    outputs: {
      deleted: {
        type: "boolean",
        description: "True when a file was deleted, false when it was already missing",
      },
    },
  };

  /** A literal `path` the run would refuse (empty, a line break, a NUL, a final '/'), before anything runs. */
  static validate(params: Record<string, unknown>): ParamProblem[] {
    return pathParamProblems(params, DELETE_PATH);
  }

  /** Reads params. */
  override prep(): DeleteParams {
    return readParams<DeleteParams>(DeleteFileNode.spec, this.params);
  }

  /** Deletes the file. */
  override async exec(p: DeleteParams): Promise<boolean> {
    // Before missing_ok too: `f/` never names a file to delete.
    refusePathForm("path", p.path, DELETE_PATH.path);
    const path = await kernelPath(p.path);
    const missing = () => {
      if (p.missing_ok) return false;
      throw new NodeError(
        `file not found: ${shownPath(path)} (set missing_ok: true to allow a missing file)`,
      );
    };
    let info: Stats;
    try {
      info = await (await fsPromises()).lstat(path); // a symlink is deleted, not its target
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "ENOENT" || (code === "ENOTDIR" && p.missing_ok)) {
        return missing();
      }
      throw fileError(error, path);
    }
    if (info.isDirectory()) {
      throw new NodeError(
        `is a directory: ${shownPath(path)} (delete-file deletes files only)`,
      );
    }
    try {
      await (await fsPromises()).unlink(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return missing();
      throw fileError(error, path);
    }
    return true;
  }

  /** Writes `deleted`. */
  override post(shared: Shared, _p: DeleteParams, deleted: boolean): string {
    shared.deleted = deleted;
    return "default";
  }
}
