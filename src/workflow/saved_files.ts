/**
 * What a saved workflow is on disk, the one rule every command and the
 * planner's catalogue apply: a regular file (or a link to one) `NAME.json`
 * directly in the saved-workflows directory, NAME not empty, not starting
 * with '.' (temp files and hidden files) and without '/', '\' or control
 * characters. Names saved by pflow follow a stricter rule; a file put there
 * by hand under any other such name (`My Flow.json`) is listed, shown, run,
 * validated, deleted and offered to the planner all the same.
 * @module
 */
import { statSync } from "node:fs";
import { join } from "node:path";
import { fsPromises } from "../util/fs_promises.ts";

/** A name no saved workflow has: empty, hidden, a path, or with control characters. */
// deno-lint-ignore no-control-regex
const NOT_A_NAME = /^$|^\.|[/\\\u0000-\u001f\u007f]/;

/** The rule {@link isSavedName} applies, as refusals state it. */
export const SAVED_NAME_RULE = "a saved workflow's name is not empty, does not start with '.' and has no '/', " +
  "'\\' or control characters";

/** Whether `name` can be a saved workflow's name (the file `NAME.json` in the directory, and nothing else). */
export function isSavedName(name: string): boolean {
  return !NOT_A_NAME.test(name);
}

/** Whether saved workflow `name` exists in `dir`: a regular file or a link to one (synchronous: cheap at start). */
export function isSavedFile(dir: string, name: string): boolean {
  if (!isSavedName(name)) return false;
  try {
    return statSync(join(dir, `${name}.json`), { throwIfNoEntry: false })?.isFile() ?? false;
  } catch {
    return false; // a name too long, EACCES: not one
  }
}

/** The names of the saved workflows in `dir`, sorted by file name; none of them read. */
export async function savedWorkflowNames(dir: string): Promise<string[]> {
  let files: string[];
  try {
    files = await (await fsPromises()).readdir(dir);
  } catch {
    return [];
  }
  return files.filter((f) => f.endsWith(".json")).sort().map((f) => f.slice(0, -5)).filter((name) =>
    isSavedFile(dir, name)
  );
}
