/**
 * Finding and checking the workflow a command names: a file path or a saved
 * workflow, validated with problems located by file, line and column.
 * @module
 */
import { lstatSync, readlinkSync, type Stats, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { didYouMean, type Problem, uniqueProblems, ValidationError } from "../workflow/errors.ts";
import { addLines, type LoadedWorkflow, loadWorkflowFile } from "../workflow/load.ts";
import type { NodeRegistry } from "../workflow/registry.ts";
import { type InputWording, resolveInputs } from "../workflow/run.ts";
import { stdinUse } from "../workflow/compiler.ts";
import { type ValidateOptions, validateWorkflow } from "../workflow/validate.ts";
import { typeParams } from "./args.ts";
import { loadSaved, savedExists, savedNames, savedPath } from "./saved.ts";
import { fsPromises } from "../util/fs_promises.ts";
import { fileErrorReason } from "../util/file_errors.ts";
import { shellWord } from "./format.ts";

/**
 * Loads `target`: a file when it looks like a path (has a separator or ends
 * in `.json`) or exists as a file, else a saved workflow of that name. The
 * file is read leniently: its schema problems are reported by
 * {@link checkWorkflow} with the rest.
 */
export async function loadTarget(target: string, home: string): Promise<LoadedWorkflow> {
  if (target === "") {
    throw new ValidationError([{
      message: "the workflow argument is empty: give a workflow file or a saved workflow's name",
    }]);
  }
  const looksLikePath = target.includes("/") || target.includes("\\") || target.endsWith(".json");
  // One stat, synchronous on purpose: Bun's first promise-based file operation costs 3.5–4.5 ms of start-up.
  // A path's stat errors (ENOTDIR, EACCES, ELOOP) are its error; a bare name's mean "not a file".
  const info = looksLikePath ? pathStat(target) : statOf(target);
  if (looksLikePath || info?.isFile()) {
    const missing = info === undefined;
    // `x.json` with no such file here: the saved workflow of that name (the file `x.json.json`), when there is one.
    if (missing && savedExists(home, target)) return await loadSaved(home, target, { lenient: true });
    if (missing) brokenLink(target);
    const hint = missing ? await closeTarget(target, home) : "";
    if (hint !== "") {
      throw new ValidationError([{ file: target, message: `cannot read workflow: file not found${hint}` }]);
    }
    return await loadWorkflowFile(target, { lenient: true });
  }
  if (savedExists(home, target)) return await loadSaved(home, target, { lenient: true });
  // Something that is not a regular file (a FIFO, a directory): the read says what it is.
  if (info !== undefined) return await loadWorkflowFile(target, { lenient: true });
  brokenLink(target);
  throw new ValidationError([{
    file: target,
    message: `no such workflow file or saved workflow${await closeTarget(target, home)}; see 'pflow workflow list'`,
  }]);
}

/**
 * The arguments that make `pflow run` (or `pflow validate`) in the current directory take saved workflow
 * `name`, as {@link loadTarget} resolves them (for the commands pflow prints): the name; after `--` when it
 * starts with '-' (else it is read as a flag); the saved file's path when something here has that name and
 * would be read instead (a file `notes` for the saved `notes`; anything named `x.json` for the saved `x.json`).
 */
export function savedTargetArgs(home: string, name: string): string[] {
  const here = statOf(name);
  const shadowed = name.endsWith(".json") ? here !== undefined : here?.isFile() === true;
  if (shadowed) return [resolve(savedPath(home, name))];
  return name.startsWith("-") ? ["--", name] : [name];
}

/** `pflow COMMAND …` as a shell command that takes saved workflow `name` when run here (see {@link savedTargetArgs}). */
export function savedCommand(command: string, home: string, name: string): string {
  return ["pflow", command, ...savedTargetArgs(home, name)].map(shellWord).join(" ");
}

/** Throws the error of a symbolic link at `target` whose target is missing (stat says "not there"). */
function brokenLink(target: string): void {
  let to: string;
  try {
    if (!lstatSync(target).isSymbolicLink()) return;
    to = readlinkSync(target);
  } catch {
    return;
  }
  throw new ValidationError([{
    file: target,
    message: `cannot read workflow: it is a broken symbolic link to '${to}'`,
  }]);
}

/** "(did you mean …?)" over the JSON files beside `target` and the saved workflow names, or "". */
export async function closeTarget(target: string, home: string, extra: string[] = []): Promise<string> {
  const dir = dirname(target);
  const files = await (await fsPromises()).readdir(dir).then(
    (names) =>
      names.filter((n) => n.endsWith(".json")).map((n) => dir === "." && !target.startsWith("./") ? n : join(dir, n)),
    () => [] as string[],
  );
  const saved = await savedNames(home);
  const hint = didYouMean(target, [...extra, ...files, ...saved]);
  if (hint !== "" || target.endsWith(".json")) return hint;
  // `report` for report.json: compare names without the extension, suggest the file.
  const stem = /'(.*)'/.exec(didYouMean(target, files.map((f) => f.replace(/\.json$/, ""))))?.[1];
  return stem === undefined ? "" : ` (did you mean '${stem}.json'?)`;
}

/**
 * What a bare first argument names: an existing file, a saved workflow, or
 * neither (undefined).
 */
export async function targetKind(
  arg: string,
  env: Record<string, string | undefined>,
): Promise<"file" | "saved" | undefined> {
  // A FIFO or a device is a "file" too: reading it says why it cannot be a workflow.
  const info = statOf(arg);
  if (info !== undefined && !info.isDirectory()) return "file";
  const { pflowHome } = await import("./home.ts");
  // Any saved name, also one put there by hand outside the rule for new names (`pflow "My Flow"`).
  if (savedExists(pflowHome(env), arg)) return "saved";
  return undefined;
}

/** What the workflow path `target` is, or undefined when it is not there; any other failure is a one-line error. */
function pathStat(target: string): Stats | undefined {
  try {
    return statSync(target, { throwIfNoEntry: false });
  } catch (error) {
    throw new ValidationError([{ file: target, message: `cannot read workflow: ${fileErrorReason(error)}` }]);
  }
}

/** What `path` is, or undefined when it is not there or cannot be looked at (ENOTDIR, EACCES, too long). */
function statOf(path: string): Stats | undefined {
  try {
    return statSync(path, { throwIfNoEntry: false });
  } catch {
    return undefined;
  }
}

/**
 * The name of the workflow `target` (a path or a saved name) asks for, before it is read: the file name
 * without `.json` (what a file that cannot be read is reported as).
 */
export function targetName(target: string): string {
  return target.split(/[\\/]/).pop()!.replace(/\.json$/, "") || target;
}

/** The workflow's name: its `name`, else the file name without `.json`. */
export function workflowName(loaded: LoadedWorkflow): string {
  const name = (loaded.ir as { name?: unknown }).name;
  return typeof name === "string" && name !== "" ? name : loaded.file.split(/[\\/]/).pop()!.replace(/\.json$/, "");
}

/**
 * Throws a located {@link ValidationError} when static validation (or the
 * lenient read, see {@link loadTarget}) finds problems.
 */
export async function checkWorkflow(
  loaded: LoadedWorkflow,
  options: ValidateOptions & { registry: NodeRegistry },
): Promise<void> {
  const problems = await workflowProblems(loaded, options);
  if (problems.length > 0) throw new ValidationError(problems);
}

/** Every problem of the file: what reading it found and what static validation finds, located, in file order. */
export async function workflowProblems(
  loaded: LoadedWorkflow,
  options: ValidateOptions & { registry: NodeRegistry },
): Promise<Problem[]> {
  return await locate([...(loaded.problems ?? []), ...validateWorkflow(loaded.ir, options)], loaded);
}

/** Whether piped stdin can fill `${stdin}`: none on a terminal; unknown for a pipe until it is read. */
export type StdinState = "none" | "unknown";

/**
 * Everything that can be known wrong before a run with these params: the
 * file's problems, static validation with the params (an API key for a
 * model an input names), `key=value` texts typed by the declared inputs,
 * missing or mistyped inputs, and `${stdin}` on a terminal. Returns the
 * typed params.
 */
export async function runProblems(
  loaded: LoadedWorkflow,
  options: ValidateOptions & {
    registry: NodeRegistry;
    /** Typed params (e.g. from the planner). */
    params?: Record<string, unknown>;
    /** `key=value` texts from the command line. */
    paramText?: Record<string, string>;
    /** Whether stdin can still bring data. */
    stdin: StdinState;
    /** Check the inputs the params leave missing or mistyped (default true). */
    checkInputs?: boolean;
  },
): Promise<{ params: Record<string, unknown>; problems: Problem[] }> {
  const inputs = loaded.ir.inputs;
  const typed = typeParams(options.paramText ?? {}, inputs);
  const params = { ...options.params, ...typed.values };
  // Keys given but refused by typing (bad JSON, a lossy number) are still given: their templates are not
  // reported as naming nothing as well.
  const given = {
    ...Object.fromEntries(Object.keys(options.paramText ?? {}).map((key) => [key, undefined])),
    ...params,
  };
  const problems = [...(loaded.problems ?? []), ...validateWorkflow(loaded.ir, { ...options, inputs: given })];
  // Inputs are checked only once the file itself is sound (their declarations are read from it); all of
  // them at once, those whose text did not parse once (not also as missing).
  if (problems.length === 0 && options.checkInputs !== false) {
    const mistyped = new Set(typed.problems.flatMap((p) => p.pointer === undefined ? [] : [p.pointer]));
    problems.push(
      ...inputProblems(loaded, params, options.stdin).filter((p) =>
        p.pointer === undefined || !mistyped.has(p.pointer)
      ),
    );
  }
  problems.push(...typed.problems);
  return { params, problems: await locate(problems, loaded) };
}

/** Missing and mistyped inputs, and `${stdin}` that nothing can fill; stdin inputs count as filled while it may. */
function inputProblems(loaded: LoadedWorkflow, params: Record<string, unknown>, stdin: StdinState): Problem[] {
  const use = stdinUse(loaded.ir);
  const problems: Problem[] = [];
  try {
    resolveInputs(loaded.ir, params, { stdin: stdin === "unknown" ? "" : undefined, wording: CLI_INPUT_WORDING });
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    const pending = new Set(stdin === "unknown" ? use.stdinInputs.map((name) => `/inputs/${name}`) : []);
    problems.push(...error.problems.filter((p) => !pending.has(p.pointer ?? "")));
  }
  if (use.stdinTemplates && stdin === "none" && !Object.hasOwn(params, "stdin")) problems.push(noStdinProblem());
  return problems;
}

/** The CLI's wording of a missing input: `key=value` params and piped stdin. */
export const CLI_INPUT_WORDING: InputWording = {
  give: (name) => `pass ${name}=VALUE`,
  stdin: "or pipe it on stdin",
  given: (name) => `'${name}=…'`,
};

/** The problem of a workflow that reads `${stdin}` when nothing was piped. */
export function noStdinProblem(): Problem {
  return {
    message: "the workflow reads ${stdin}, but nothing was piped to stdin: pipe its input " +
      "(e.g. cat notes.md | pflow run FILE.json)",
  };
}

/** A {@link ValidationError} whose problems carry the file, line and column, in file order. */
export async function locatedError(problems: Problem[], loaded: LoadedWorkflow): Promise<ValidationError> {
  return new ValidationError(await locate(problems, loaded));
}

/** Problems with file, line and column, duplicates dropped, in file order (those without a line first). */
async function locate(problems: Problem[], loaded: LoadedWorkflow): Promise<Problem[]> {
  const located = uniqueProblems(problems).map((p) => ({ ...p, file: p.file ?? loaded.file }));
  await addLines(located, loaded.text);
  located.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
  return located;
}
