/**
 * Atomic file writes: a temp file beside the target, then a rename, so a
 * reader never sees a half-written file.
 * @module
 */
import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";

/** Writes `data` to `path` atomically, creating parent directories. */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true });
  const temp = join(dir, `.${randomSuffix()}.tmp`);
  try {
    await writeFile(temp, data);
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

function randomSuffix(): string {
  return `pflow-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
}
