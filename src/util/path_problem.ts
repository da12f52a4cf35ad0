/**
 * What keeps a path from being the directory (or file) pflow needs, in the
 * words every message uses: `is a file, not a directory`, `is a symbolic
 * link to 'X', which does not exist`, `is a loop of symbolic links`.
 * @module
 */
import { lstatSync, readlinkSync, statSync } from "node:fs";

/**
 * Why `path` cannot be used as a directory: something other than a directory
 * is there, a part of its path is a file, a loop of links, or a link to
 * nothing (creating the directory would fail); undefined for a directory or a
 * path where nothing is (pflow creates it). Other errors (no permission) are
 * undefined too: the operation's own error says them.
 */
export function directoryProblem(path: string): string | undefined {
  try {
    return statSync(path).isDirectory() ? undefined : "is a file, not a directory";
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOTDIR") return "is inside a file, not a directory";
    if (code === "ELOOP") return "is a loop of symbolic links";
    if (code === "ENOENT") return brokenLinkProblem(path);
    return undefined;
  }
}

/**
 * `is a symbolic link to 'TARGET', which does not exist` when `path` is a
 * link to nothing, else undefined (a path where truly nothing is, or anything
 * that exists).
 */
export function brokenLinkProblem(path: string): string | undefined {
  try {
    if (!lstatSync(path).isSymbolicLink()) return undefined;
    statSync(path);
    return undefined; // its target exists
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") return undefined;
    try {
      return `is a symbolic link to '${readlinkSync(path)}', which does not exist`;
    } catch {
      return undefined;
    }
  }
}
