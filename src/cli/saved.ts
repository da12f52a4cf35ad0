/**
 * Saved workflows: `PFLOW_HOME/workflows/NAME.json`, written atomically.
 * @module
 */
import { type Stats, statSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../util/atomic_write.ts";
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from "../util/private_files.ts";
import type { WorkflowIR } from "../workflow/ir.ts";
import { formatProblem, type Problem, ValidationError } from "../workflow/errors.ts";
import { type LoadedWorkflow, loadWorkflowFile } from "../workflow/load.ts";
import { UsageError } from "./args.ts";
import { COMMANDS } from "./command.ts";
import { outputRedactor } from "../observability/redact.ts";
import { fsPromises } from "../util/fs_promises.ts";
import { fileErrorReason, fileKind } from "../util/file_errors.ts";
import { isSavedFile, isSavedName, SAVED_NAME_RULE, savedWorkflowNames } from "../workflow/saved_files.ts";

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** The name rule, as every refusal of a name states it. */
const NAME_RULE = "use letters, digits, '.', '_' and '-' (max 64, starting with a letter or digit, " +
  "not ending with '.', no '..', no '.json')";

/**
 * Throws a usage error unless `name` is a valid saved-workflow name;
 * `command` is the command whose help it points at (`plan` for `--save`).
 */
export function checkWorkflowName(name: string, command = "workflow"): void {
  if (!NAME.test(name) || name.endsWith(".json") || name.includes("..")) {
    throw new UsageError(`invalid workflow name '${name}': ${NAME_RULE}`, command);
  }
}

/**
 * Throws a usage error unless `name` can name a saved workflow that exists (`workflow show`, `delete`): any
 * name a file in the directory can have and every command can take, also one outside the rule for new names
 * (`My Flow`, put there by hand); see `src/workflow/saved_files.ts`.
 */
export function checkSavedName(name: string, command = "workflow"): void {
  if (!isSavedName(name)) throw new UsageError(`invalid workflow name '${name}': ${SAVED_NAME_RULE}`, command);
}

/**
 * Like {@link checkWorkflowName}, for a name about to be saved: a name
 * ending with '.' is refused (`a.` would be saved as `a..json`, while `a..b`
 * is refused), as is a command's name, since `pflow NAME` would run the
 * command, never the workflow. One saved under such a name before can still
 * be shown, run with `pflow run NAME` and deleted.
 */
export function checkNewWorkflowName(name: string, command = "workflow"): void {
  checkWorkflowName(name, command);
  if (name.endsWith(".")) throw new UsageError(`invalid workflow name '${name}': ${NAME_RULE}`, command);
  if (COMMANDS.includes(name)) {
    throw new UsageError(
      `invalid workflow name '${name}': it is a pflow command, so 'pflow ${name}' would run the command, ` +
        "not the workflow; choose another name",
      command,
    );
  }
}

/** The directory of saved workflows. */
export function workflowsDir(home: string): string {
  return join(home, "workflows");
}

/** Path of saved workflow `name`. */
export function savedPath(home: string, name: string): string {
  return join(workflowsDir(home), `${name}.json`);
}

/** Whether a saved workflow exists (synchronously: a run's start pays for Bun's first promise-based file call). */
export function savedExists(home: string, name: string): boolean {
  return isSavedFile(workflowsDir(home), name);
}

/** The warning when a saved copy had known secrets replaced. */
export const REDACTED_ON_SAVE =
  "the saved copy holds [REDACTED] where the workflow had a secret (an API key from the environment, a key in a " +
  "URL, a token in a header); pass secrets as inputs or environment variables instead";

/**
 * Saves `ir` under `name` (atomic, mode 0600); refuses to overwrite unless
 * `force`, also a file another process saved meanwhile. Known secrets are replaced by `[REDACTED]` (`onRedacted` hears
 * when any was). `command`: whose help a usage error points at.
 */
export async function saveWorkflow(
  home: string,
  ir: WorkflowIR,
  options: { name: string; force?: boolean; onRedacted?: () => void; command?: string },
): Promise<string> {
  const command = options.command ?? "workflow";
  checkNewWorkflowName(options.name, command);
  const path = savedPath(home, options.name);
  const exists = () => new UsageError(`saved workflow '${options.name}' exists; pass --force to replace it`, command);
  if (!options.force && savedExists(home, options.name)) throw exists();
  const text = `${JSON.stringify(ir, null, 2)}\n`;
  const redacted = outputRedactor().text(text);
  try {
    // Without --force the name is taken exclusively: of concurrent saves under one name, one wins.
    await writeFileAtomic(path, redacted, {
      mode: PRIVATE_FILE_MODE,
      mkdir: true,
      dirMode: PRIVATE_DIR_MODE,
      exclusive: options.force !== true,
    });
  } catch (error) {
    // EEXIST is a name another save took meanwhile only when a saved workflow is there now (mkdir's EEXIST is
    // `workflows` being a file; the link's, a directory named NAME.json).
    if ((error as NodeJS.ErrnoException).code === "EEXIST" && savedExists(home, options.name)) throw exists();
    throw new ValidationError([{
      message: `cannot save workflow '${options.name}': ${saveFailure(home, path, error)}`,
    }]);
  }
  if (redacted !== text) options.onRedacted?.();
  return path;
}

/** Why saving to `path` failed, in words naming what is in the way: the workflows directory, then the file. */
function saveFailure(home: string, path: string, error: unknown): string {
  const dir = workflowsDir(home);
  const dirInfo = statOrNull(dir);
  if (dirInfo === undefined) {
    // mkdir's ENOENT: a parent it had to create could not be (`PFLOW_HOME=/proc/x`); EEXIST: a broken link.
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === "ENOENT"
      ? "its parent cannot be created"
      : code === "EEXIST"
      ? "a broken symbolic link is in its place"
      : fileErrorReason(error);
    return `cannot create the directory ${dir}: ${why}`;
  }
  if (dirInfo !== null && !dirInfo.isDirectory()) {
    return `${dir} is ${dirInfo.isFile() ? "a file" : fileKind(dirInfo)}, not a directory`;
  }
  const pathInfo = statOrNull(path);
  if (pathInfo && !pathInfo.isFile()) {
    return `${path} is ${fileKind(pathInfo)}, not a saved workflow; remove it or choose another name`;
  }
  return `${path}: ${fileErrorReason(error)}`;
}

/** What `path` is: undefined when nothing is there, null when it cannot be looked at (EACCES). */
function statOrNull(path: string): Stats | undefined | null {
  try {
    return statSync(path, { throwIfNoEntry: false });
  } catch {
    return null;
  }
}

/** Loads saved workflow `name` (`lenient`: see {@link loadWorkflowFile}). */
export async function loadSaved(
  home: string,
  name: string,
  options: { lenient?: boolean } = {},
): Promise<LoadedWorkflow> {
  return await loadWorkflowFile(savedPath(home, name), options);
}

/** Removes saved workflow `name`; false when there was none. */
export async function deleteSaved(home: string, name: string): Promise<boolean> {
  if (!savedExists(home, name)) return false;
  await (await fsPromises()).rm(savedPath(home, name));
  return true;
}

/** One entry of {@link listSavedLoaded}. */
export interface SavedEntry {
  /** Name. */
  name: string;
  /** Description, or empty. */
  description: string;
  /** Number of nodes. */
  nodes: number;
  /** Path of the file. */
  path: string;
  /**
   * Set when the file could not be read as a workflow: the first problem, located as
   * `pflow validate` shows it (`file:line:column: message`).
   */
  error?: string;
}

/** The names of the saved workflows, sorted: regular files (or links to one) only, and none of them read. */
export async function savedNames(home: string): Promise<string[]> {
  return await savedWorkflowNames(workflowsDir(home));
}

/** A saved workflow as {@link listSaved} read it: its entry, and what loading it gave. */
export interface SavedListing {
  /** The entry listed. */
  entry: SavedEntry;
  /** The workflow as read (leniently), when it could be. */
  loaded?: LoadedWorkflow;
  /** Why it could not be, as `pflow validate` says it. */
  problems?: Problem[];
}

/**
 * Every saved workflow, sorted by name, each read once; unreadable files are listed with an error. Only
 * regular files (or links to one) are saved workflows, as for `show`, `run` and `delete`.
 */
export async function listSavedLoaded(home: string): Promise<SavedListing[]> {
  const listings: SavedListing[] = [];
  for (const name of await savedNames(home)) {
    const path = savedPath(home, name);
    try {
      const loaded = await loadWorkflowFile(path, { lenient: true });
      const { ir } = loaded;
      const description = typeof ir?.description === "string" ? ir.description : "";
      const entry = { name, description, nodes: Array.isArray(ir?.nodes) ? ir.nodes.length : 0, path };
      listings.push({ entry, loaded });
    } catch (error) {
      const problems = error instanceof ValidationError ? error.problems : undefined;
      const message = problems !== undefined && problems.length > 0
        ? formatProblem(problems[0])
        : (error as Error).message;
      listings.push({ entry: { name, description: "", nodes: 0, path, error: message }, problems });
    }
  }
  return listings;
}
