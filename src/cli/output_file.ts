/**
 * Writing a command's report to `-o FILE` (atomically), with one clear line when that fails.
 * @module
 */
import { resolve } from "node:path";
import { writeFileAtomic } from "../util/atomic_write.ts";

/**
 * Writes `text` to `path` atomically (temp file, then rename). Returns undefined, or the one-line
 * reason it failed (`cannot write FILE: …`), naming the target and not the temp file.
 */
export async function writeOutputFile(
  path: string,
  text: string,
  options: { mode?: number } = {},
): Promise<string | undefined> {
  try {
    await writeFileAtomic(path, text, options);
    return undefined;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === "EISDIR"
      ? "it is a directory"
      : code === "EACCES" || code === "EPERM" || code === "EROFS"
      ? "permission denied"
      : code === "ENOENT"
      ? "cannot create a file there"
      : code === "EEXIST" || code === "ENOTDIR"
      ? "a part of its directory is a file"
      : String((error as Error)?.message ?? error).split("\n")[0];
    return `cannot write ${resolve(path)}: ${why}`;
  }
}
