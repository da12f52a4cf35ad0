/**
 * Atomic file writes: a temp file beside the target, then a rename, so a
 * reader never sees a half-written file and a failure leaves nothing behind.
 * @module
 */
import type { FileHandle } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { fsPromises } from "./fs_promises.ts";

/** What `link()` fails with where the file system has no hard links (FAT, some network and FUSE file systems). */
const NO_LINKS = new Set(["EPERM", "ENOTSUP", "EOPNOTSUPP", "ENOSYS"]);

/** The longest file name most file systems take (bytes). */
const NAME_MAX = 255;

/**
 * Writes `data` to `path` atomically.
 * @param path the target file
 * @param data what to write, or a function that writes it to the temp file
 *   (opened for writing; a copy in chunks): what it throws fails the write
 * @param options `mode` to give the file (e.g. the replaced file's; the temp
 *   file is created with it, so the content is never readable more widely),
 *   `mkdir` to create missing parent directories (off by default: a
 *   path a user gave names a directory that exists; pflow's own state
 *   under PFLOW_HOME asks for it), `dirMode` for the directories
 *   created (and the parent, which is set to it: e.g. 0700 under PFLOW_HOME),
 *   `exclusive` to fail with `EEXIST` when `path` exists, also when another
 *   process creates it meanwhile (the complete temp file is hard-linked to
 *   `path`, which never replaces a file, instead of renamed over it)
 */
export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array | ((temp: FileHandle) => Promise<void>),
  options: { mode?: number; mkdir?: boolean; dirMode?: number; exclusive?: boolean } = {},
): Promise<void> {
  const { chmod, link, mkdir, open, rename, unlink, writeFile } = await fsPromises();
  const dir = dirname(path);
  if (options.mkdir === true) {
    await mkdir(dir, { recursive: true, ...(options.dirMode !== undefined ? { mode: options.dirMode } : {}) });
    if (options.dirMode !== undefined) await chmod(dir, options.dirMode).catch(() => {});
  }
  const temp = join(dir, tempName(basename(path)));
  try {
    if (typeof data === "function") {
      const handle = await open(temp, "wx", options.mode !== undefined ? options.mode & 0o7777 : 0o666);
      try {
        await data(handle);
      } finally {
        await handle.close();
      }
    } else {
      await writeFile(temp, data, {
        flag: "wx",
        ...(options.mode !== undefined ? { mode: options.mode & 0o7777 } : {}),
      });
    }
    // Exactly `mode`, whatever the umask took away.
    if (options.mode !== undefined) await chmod(temp, options.mode & 0o7777);
    if (options.exclusive === true) {
      // A check before a rename would let two writers both see no file and both "create" it.
      try {
        await link(temp, path);
        await unlink(temp).catch(() => {});
      } catch (error) {
        if (!NO_LINKS.has((error as NodeJS.ErrnoException).code ?? "")) throw error;
        // A file system without hard links: claim the name by creating it (empty) exclusively, then fill it.
        await (await open(path, "wx", options.mode ?? 0o666)).close();
        await rename(temp, path);
      }
    } else {
      await rename(temp, path);
    }
  } catch (error) {
    await unlink(temp).catch(() => {});
    throw error;
  }
}

/**
 * `.NAME.RANDOM.tmp` beside the target, with NAME cut (on a character
 * boundary) so that the temp name is never longer than the longest name a
 * file system takes: a 250-byte target name still gets a temp file.
 */
export function tempName(name: string): string {
  const random = Math.random().toString(36).slice(2, 10).padEnd(8, "0");
  const room = NAME_MAX - `..${random}.tmp`.length;
  const bytes = new TextEncoder().encode(name);
  let kept = name;
  if (bytes.length > room) {
    let end = room;
    while (end > 0 && (bytes[end] & 0xc0) === 0x80) end--; // not inside a UTF-8 sequence
    kept = new TextDecoder().decode(bytes.subarray(0, end));
  }
  return `.${kept}.${random}.tmp`;
}
