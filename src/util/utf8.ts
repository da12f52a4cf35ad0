/**
 * Strict UTF-8: text files pflow reads (workflows, settings, price tables,
 * `read-file`) must be valid UTF-8 — a Latin-1 file would otherwise be
 * garbled silently into U+FFFD. A leading byte-order mark is accepted (and
 * dropped).
 * @module
 */
import { closeSync, constants, fstatSync, openSync, readFileSync, type Stats, statSync } from "node:fs";
import { notRegularFile } from "./file_errors.ts";

/** Bytes that are not valid UTF-8, at `offset`. */
export class InvalidUtf8Error extends Error {
  /**
   * @param offset 0-based byte offset of the first invalid byte
   * @param at its 1-based line and column (in characters)
   * @param byte the byte's value
   */
  constructor(readonly offset: number, readonly at: { line: number; column: number }, readonly byte: number) {
    super(`not valid UTF-8: byte 0x${byte.toString(16).padStart(2, "0").toUpperCase()} at byte offset ${offset}`);
    this.name = "InvalidUtf8Error";
  }
}

const strict = new TextDecoder("utf-8", { fatal: true });
const strictKeepingBom = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * Decodes `bytes` as UTF-8 (a leading BOM dropped, unless `keepBom`: a
 * command's output is data, not a file); throws {@link InvalidUtf8Error}
 * naming the first bad byte.
 */
export function decodeUtf8(bytes: Uint8Array, options: { keepBom?: boolean } = {}): string {
  try {
    return (options.keepBom ? strictKeepingBom : strict).decode(bytes);
  } catch {
    const offset = invalidUtf8Offset(bytes);
    let line = 1;
    let lineStart = 0;
    for (let i = 0; i < offset; i++) {
      if (bytes[i] === 0x0a) {
        line++;
        lineStart = i + 1;
      }
    }
    // The column counts characters, as for other problems: the bytes before the bad one are valid
    // UTF-8, and each character has one byte that is not a continuation byte (0b10xxxxxx).
    let column = 1;
    for (let i = lineStart; i < offset; i++) if ((bytes[i] & 0xc0) !== 0x80) column++;
    throw new InvalidUtf8Error(offset, { line, column }, bytes[offset]);
  }
}

/** The most a text file pflow reads may hold (a workflow, settings, a price table): 64 MiB. */
export const MAX_TEXT_FILE_BYTES = 64 * 1024 * 1024;

/**
 * Reads a text file as strict UTF-8 (see {@link decodeUtf8}); file-system
 * errors pass through. Only a regular file is read: a directory is an error
 * with code `EISDIR`, a named pipe, socket or device one with code
 * `ENOTREGULAR` saying what it is ({@link notRegularFile}), before anything
 * waits on it (opening a FIFO blocks until a writer comes, in a thread no
 * signal reaches; `/dev/zero` never ends). A file larger than `maxBytes` is
 * an error with code `EFBIG`.
 */
export function readUtf8File(path: string, options: { maxBytes?: number } = {}): Promise<string> {
  const max = options.maxBytes ?? MAX_TEXT_FILE_BYTES;
  // Synchronous: Bun's promise-based reads cost 2.5–4.5 ms more at start-up. Opened without blocking, then
  // checked on the descriptor, so a FIFO swapped in after a check is refused as well.
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (error) {
    // A socket cannot be opened (ENXIO): say what it is.
    const info = (error as NodeJS.ErrnoException).code === "ENXIO" ? statOrUndefined(path) : undefined;
    return Promise.reject(info === undefined ? error : notRegularFile(info));
  }
  try {
    const info = fstatSync(fd);
    if (!info.isFile()) throw notRegularFile(info);
    if (info.size > max) throw tooLarge(max);
    return Promise.resolve(decodeUtf8(readFileSync(fd)));
  } catch (error) {
    return Promise.reject(error);
  } finally {
    closeSync(fd);
  }
}

function statOrUndefined(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

function tooLarge(max: number): Error {
  const error = new Error(`it holds more than ${max / (1024 * 1024)} MiB: not a text file pflow reads`);
  return Object.assign(error, { code: "EFBIG" });
}

/**
 * Offset of the first byte that breaks UTF-8 (RFC 3629: no overlong forms,
 * no surrogates, nothing past U+10FFFF; a sequence cut off by the end is
 * invalid at its first byte), or -1 when all of `bytes` is valid.
 */
export function invalidUtf8Offset(bytes: Uint8Array): number {
  const n = bytes.length;
  for (let i = 0; i < n;) {
    const b = bytes[i];
    if (b < 0x80) {
      i++;
      continue;
    }
    let length: number;
    let min: number; // the second byte's range, which rules out overlong forms, surrogates and > U+10FFFF
    let max = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) [length, min] = [2, 0x80];
    else if (b === 0xe0) [length, min] = [3, 0xa0];
    else if (b >= 0xe1 && b <= 0xec) [length, min] = [3, 0x80];
    else if (b === 0xed) [length, min, max] = [3, 0x80, 0x9f];
    else if (b >= 0xee && b <= 0xef) [length, min] = [3, 0x80];
    else if (b === 0xf0) [length, min] = [4, 0x90];
    else if (b >= 0xf1 && b <= 0xf3) [length, min] = [4, 0x80];
    else if (b === 0xf4) [length, min, max] = [4, 0x80, 0x8f];
    else return i;
    if (i + length > n) return i;
    if (bytes[i + 1] < min || bytes[i + 1] > max) return i;
    for (let k = 2; k < length; k++) if ((bytes[i + k] & 0xc0) !== 0x80) return i;
    i += length;
  }
  return -1;
}

/**
 * The validation problem of a text file that is not UTF-8: file, line and
 * column of the first bad byte, its offset, and what to do.
 */
export function utf8Problem(file: string, error: InvalidUtf8Error, hint?: string): {
  file: string;
  line: number;
  column: number;
  message: string;
} {
  return {
    file,
    ...error.at,
    message: `${error.message}; ${hint ?? "save the file as UTF-8 (it looks like Latin-1 or another legacy encoding)"}`,
  };
}
