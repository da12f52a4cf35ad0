/**
 * Finding and checking the workflow a command names: a file path or a saved
 * workflow, validated with problems located by file, line and column.
 * @module
 */
import { stat } from "node:fs/promises";
import { type Problem, ValidationError } from "../workflow/errors.ts";
import { addLines, type LoadedWorkflow, loadWorkflowFile } from "../workflow/load.ts";
import type { NodeRegistry } from "../workflow/registry.ts";
import { type ValidateOptions, validateWorkflow } from "../workflow/validate.ts";
import { loadSaved, savedExists } from "./saved.ts";

/**
 * Loads `target`: a file when it looks like a path (has a separator or ends
 * in `.json`) or exists as a file, else a saved workflow of that name.
 */
export async function loadTarget(target: string, home: string): Promise<LoadedWorkflow> {
  const looksLikePath = target.includes("/") || target.includes("\\") || target.endsWith(".json");
  if (looksLikePath || await isFile(target)) return await loadWorkflowFile(target);
  if (await savedExists(home, target)) return await loadSaved(home, target);
  throw new ValidationError([{
    file: target,
    message: "no such workflow file or saved workflow; see 'pflow workflow list'",
  }]);
}

/**
 * What a bare first argument names: an existing file, a saved workflow, or
 * neither (undefined).
 */
export async function targetKind(
  arg: string,
  env: Record<string, string | undefined>,
): Promise<"file" | "saved" | undefined> {
  if (await isFile(arg)) return "file";
  const { pflowHome } = await import("./home.ts");
  if (/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(arg) && await savedExists(pflowHome(env), arg)) return "saved";
  return undefined;
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/** The workflow's name: its `name`, else the file name without `.json`. */
export function workflowName(loaded: LoadedWorkflow): string {
  return loaded.ir.name ?? loaded.file.split(/[\\/]/).pop()!.replace(/\.json$/, "");
}

/** Throws a located {@link ValidationError} when static validation finds problems. */
export async function checkWorkflow(
  loaded: LoadedWorkflow,
  options: ValidateOptions & { registry: NodeRegistry },
): Promise<void> {
  const problems = validateWorkflow(loaded.ir, options);
  if (problems.length > 0) throw await locatedError(problems, loaded);
}

/** A {@link ValidationError} whose problems carry the file, line and column, in file order. */
export async function locatedError(problems: Problem[], loaded: LoadedWorkflow): Promise<ValidationError> {
  const located = problems.map((p) => ({ ...p, file: p.file ?? loaded.file }));
  await addLines(located, loaded.text);
  located.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
  return new ValidationError(located);
}
