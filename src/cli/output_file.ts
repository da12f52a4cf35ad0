/**
 * Writing a command's report to `-o FILE` (atomically), with one clear line when that fails.
 * @module
 */
import { dirname, resolve, sep } from "node:path";
import { writeFileAtomic } from "../util/atomic_write.ts";
import { fileErrorReason } from "../util/file_errors.ts";
import { fsPromises } from "../util/fs_promises.ts";

/**
 * JSON mode's document for a report written with `-o FILE`: `{"path": …}`
 * (absolute, as `trace show --html` gives `html_path`) and `extra` fields.
 */
export function outputFileDocument(path: string, extra: Record<string, unknown> = {}): string {
  return `${JSON.stringify({ path: resolve(path), ...extra }, null, 2)}\n`;
}

/**
 * Writes `text` to `path`: a regular file atomically (temp file, then
 * rename; through a symlink, the file it points to; an existing file keeps
 * its permissions, a new one gets `mode` when given), and a device, FIFO or
 * socket in place (`-o /dev/stdout`, a named pipe: a rename would replace the
 * special file with a regular one). Its directory must exist: none is made,
 * so a mistyped one is an error naming it, not a new tree. Returns undefined, or the one-line reason
 * it failed (`cannot write FILE: …`), naming the target and not the temp file.
 */
export async function writeOutputFile(
  path: string,
  text: string,
  options: { mode?: number } = {},
): Promise<string | undefined> {
  if (path === "") return "-o needs a file name";
  if (path.endsWith("/") || path.endsWith(sep)) {
    return `cannot write ${resolve(path)}${sep}: it ends with '${sep}', so it names a directory; give a file name`;
  }
  const { realpath, stat, writeFile } = await fsPromises();
  try {
    const existing = await stat(path).catch((error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT") return undefined;
      throw error;
    });
    if (existing?.isDirectory()) return `cannot write ${resolve(path)}: it is a directory`;
    if (existing !== undefined && !existing.isFile()) {
      await writeFile(path, text);
      return undefined;
    }
    const target = existing === undefined ? path : await realpath(path);
    await writeFileAtomic(target, text, { mode: existing === undefined ? options.mode : existing.mode & 0o7777 });
    return undefined;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const missing = code === "ENOENT" ? await missingDirectory(path) : undefined;
    const why = missing !== undefined
      ? `directory ${missing} does not exist`
      : code === "ENOENT"
      ? "cannot create a file there"
      : code === "EEXIST" || code === "ENOTDIR"
      ? "a part of its directory is a file"
      : fileErrorReason(error);
    return `cannot write ${resolve(path)}: ${why}`;
  }
}

/** The outermost directory on the way to `path` that does not exist, or undefined when its directory exists. */
async function missingDirectory(path: string): Promise<string | undefined> {
  const { stat } = await fsPromises();
  let missing: string | undefined;
  for (let dir = dirname(resolve(path));; dir = dirname(dir)) {
    const code = await stat(dir).then(() => undefined, (error: NodeJS.ErrnoException) => error.code);
    if (code !== "ENOENT") return missing;
    missing = dir;
    if (dirname(dir) === dir) return missing;
  }
}
