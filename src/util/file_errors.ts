/**
 * File-system errors in words, for one-line messages that name the file.
 * @module
 */
import type { Stats } from "node:fs";

/**
 * Why a file operation failed, in a few words (`permission denied`, `it is a
 * directory`), from the error's code; an unknown code gives the first line
 * of the error's message. Callers add what the operation means (a missing
 * parent when writing, say) before falling back to this.
 */
export function fileErrorReason(error: unknown): string {
  switch ((error as NodeJS.ErrnoException | undefined)?.code) {
    case "ENOENT":
      return "not found";
    case "EACCES":
    case "EPERM":
      return "permission denied";
    case "EROFS":
      return "read-only file system";
    case "EISDIR":
    case "ERR_FS_EISDIR":
      return "it is a directory";
    case "ENOTDIR":
      return "a part of its path is a file";
    case "ENOSPC":
      return "no space left on the device";
    case "EDQUOT":
      return "disk quota exceeded";
    case "EFBIG":
      return "file too large";
    case "EIO":
      return "input/output error";
    case "ENAMETOOLONG":
      return "file name too long";
    case "ELOOP":
      return "too many symbolic links";
  }
  return String((error as Error | undefined)?.message ?? error).split("\n")[0];
}

/** What a file that is not a regular one is, in words: `a named pipe (FIFO)`, `a character device`… */
export function fileKind(info: Stats): string {
  return info.isDirectory()
    ? "a directory"
    : info.isFIFO()
    ? "a named pipe (FIFO)"
    : info.isSocket()
    ? "a socket"
    : info.isCharacterDevice()
    ? "a character device"
    : info.isBlockDevice()
    ? "a block device"
    : "something other than a file";
}

/**
 * The error for a path that is not a regular file: code `EISDIR` for a
 * directory, else `ENOTREGULAR`; the message says what it is.
 */
export function notRegularFile(info: Stats): Error {
  const error = new Error(`it is ${fileKind(info)}, not a regular file`);
  return Object.assign(error, { code: info.isDirectory() ? "EISDIR" : "ENOTREGULAR" });
}
