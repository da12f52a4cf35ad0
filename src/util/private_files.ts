/**
 * What pflow writes under PFLOW_HOME holds prompts, responses and store
 * values: files are mode 0600 and the directories pflow keeps them in 0700,
 * whatever the umask (modes are set explicitly, not left to it), and a
 * directory that an older pflow created 0755 is tightened on the next write.
 * @module
 */
import { chmodSync, fchmodSync, mkdirSync, openSync } from "node:fs";
import { fsPromises } from "./fs_promises.ts";

/** Mode of every file pflow writes under PFLOW_HOME. */
export const PRIVATE_FILE_MODE = 0o600;
/** Mode of the directories pflow keeps them in (`debug/`, `plans/`, `workflows/`). */
export const PRIVATE_DIR_MODE = 0o700;

/** Creates `dir` (and missing parents, 0700 too) and makes it 0700. */
export function privateDirSync(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  tighten(() => chmodSync(dir, PRIVATE_DIR_MODE));
}

/** Creates `dir` (and missing parents, 0700 too) and makes it 0700. */
export async function privateDir(dir: string): Promise<void> {
  const { chmod, mkdir } = await fsPromises();
  await mkdir(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  try {
    await chmod(dir, PRIVATE_DIR_MODE);
  } catch (error) {
    if (!notOurs(error)) throw error;
  }
}

/** Opens `path` for writing as a new 0600 file (`flags` as for openSync, default "w"); returns the descriptor. */
export function openPrivateSync(path: string, flags = "w"): number {
  const fd = openSync(path, flags, PRIVATE_FILE_MODE);
  // The umask may have taken bits away: the file is exactly 0600.
  fchmodSync(fd, PRIVATE_FILE_MODE);
  return fd;
}

function tighten(fn: () => void): void {
  try {
    fn();
  } catch (error) {
    if (!notOurs(error)) throw error;
  }
}

/** A directory someone else owns (a shared PFLOW_HOME) keeps its mode: ours to use, not to change. */
function notOurs(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === "EPERM" || code === "EACCES";
}
