/**
 * Atomic file writes: a temp file beside the target, then a rename, so a
 * reader never sees a half-written file and a failure leaves nothing behind.
 * @module
 */
import { chmod, mkdir, rename, unlink, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

/**
 * Writes `data` to `path` atomically.
 * @param path the target file
 * @param data what to write
 * @param options `mode` to give the file (e.g. the replaced file's), `mkdir` to create parent directories
 */
export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  options: { mode?: number; mkdir?: boolean } = {},
): Promise<void> {
  const dir = dirname(path);
  if (options.mkdir !== false) await mkdir(dir, { recursive: true });
  const random = Math.random().toString(36).slice(2, 10);
  const temp = join(dir, `.${basename(path)}.${process.pid}.${random}.tmp`);
  try {
    await writeFile(temp, data, { flag: "wx" });
    if (options.mode !== undefined) await chmod(temp, options.mode & 0o7777);
    await rename(temp, path);
  } catch (error) {
    await unlink(temp).catch(() => {});
    throw error;
  }
}
