/**
 * `pflow workflow save|list|show|delete`.
 * @module
 */
import { BUILTIN_NODES } from "../nodes/mod.ts";
import { type LoadedWorkflow, loadWorkflowFile } from "../workflow/load.ts";
import { inputDefaults, type WorkflowIR } from "../workflow/ir.ts";
import { outputRedactor } from "../observability/redact.ts";
import { NodeRegistry } from "../workflow/registry.ts";
import { parseCommand, UsageError } from "./args.ts";
import { showHelp } from "./show_help.ts";
import { pflowHome } from "./home.ts";
import { type CommandEnv, EXIT } from "./command.ts";
import {
  checkNewWorkflowName,
  checkSavedName,
  deleteSaved,
  listSavedLoaded,
  loadSaved,
  REDACTED_ON_SAVE,
  savedExists,
  savedPath,
  saveWorkflow,
} from "./saved.ts";
import { printError, writeDisplay, writeStdout } from "./terminal.ts";
import { checkWorkflow, savedCommand, workflowProblems } from "./workflow_target.ts";
import { formatProblem, type Problem, ValidationError } from "../workflow/errors.ts";

/** The problems of a saved workflow, read leniently, as `pflow validate` reports them; none when valid. */
async function savedProblems(loaded: LoadedWorkflow): Promise<Problem[]> {
  try {
    return await workflowProblems(loaded, {
      registry: new NodeRegistry(BUILTIN_NODES),
      checkEnvironment: false,
    });
  } catch (error) {
    if (error instanceof ValidationError) return error.problems;
    throw error;
  }
}

/** How `workflow list` and `show` mark an invalid saved workflow: a count and the first problem (where in the file). */
function invalidNote(home: string, name: string, problems: Problem[]): string {
  const count = `${problems.length} problem${problems.length === 1 ? "" : "s"}`;
  const first = formatProblem({ ...problems[0], file: undefined });
  const see = savedCommand("validate", home, name);
  return `invalid, ${count}: ${first}${problems.length > 1 ? " …" : ""}; see '${see}'`;
}

/** A field of a saved workflow as shown: text as is, anything else (an invalid file's) as JSON. */
function shown(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value) ?? "";
}

function record(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value) ? value as Record<string, unknown> : {};
}

/**
 * What `workflow show` prints of saved workflow `name`: name, description, inputs, outputs, nodes.
 * The file may no longer validate, so no field is trusted to have its type.
 */
function savedDescription(name: string, ir: WorkflowIR, file: string): string[] {
  const workflow = record(ir);
  const about = workflow.description ? `: ${shown(workflow.description)}` : "";
  const lines = [`${workflow.name !== undefined ? shown(workflow.name) : name}${about}`, `file: ${file}`];
  const inputs = Object.entries(record(workflow.inputs));
  if (inputs.length) {
    lines.push("inputs:");
    for (const [n, value] of inputs) {
      const i = record(value);
      const req = i.required === false || i.default !== undefined ? "optional" : "required";
      const fallback = i.default !== undefined ? `, default ${JSON.stringify(i.default)}` : "";
      const stdin = i.stdin ? ", or piped stdin" : "";
      const type = i.type !== undefined ? shown(i.type) : "any";
      lines.push(`  ${n} (${type}, ${req}${fallback}${stdin})${i.description ? `: ${shown(i.description)}` : ""}`);
    }
  }
  const outputs = Object.entries(record(workflow.outputs));
  if (outputs.length) {
    lines.push("outputs:");
    for (const [n, value] of outputs) {
      const o = record(value);
      const source = o.source !== undefined ? shown(o.source) : "(no source)";
      lines.push(`  ${n} ← ${source}${o.description ? `: ${shown(o.description)}` : ""}`);
    }
  }
  lines.push("nodes:");
  for (const value of Array.isArray(workflow.nodes) ? workflow.nodes : []) {
    const n = record(value);
    lines.push(`  ${shown(n.id)} (${shown(n.type)})${n.purpose ? `: ${shown(n.purpose)}` : ""}`);
  }
  return lines;
}

/** Runs `pflow workflow …`; returns the exit code. */
export async function workflowCommand(argv: string[], { env }: CommandEnv): Promise<number> {
  const parsed = parseCommand(argv, {
    command: "workflow",
    flags: { name: { type: "string" }, description: { type: "string" }, force: { type: "boolean" } },
  });
  const [action, ...args] = parsed.positionals;
  if (parsed.values.help || action === undefined) return showHelp("workflow", { asked: parsed.values.help === true });
  // --name, --description and --force are save's: parsed again without them, the others refuse them as unknown.
  if (["list", "show", "delete"].includes(action)) {
    parseCommand(argv, { command: "workflow", subcommand: action, flags: {} });
  }
  const json = parsed.values.json === true || parsed.values["output-format"] === "json";
  const home = pflowHome(env);
  const expectArgs = (n: number, usage: string) => {
    if (args.length !== n) throw new UsageError(`usage: pflow workflow ${usage}`, "workflow");
  };
  switch (action) {
    case "save": {
      expectArgs(1, "save FILE.json --name NAME [--description TEXT] [--force]");
      const name = parsed.values.name as string | undefined;
      if (name === undefined) throw new UsageError("missing --name NAME", "workflow");
      checkNewWorkflowName(name);
      const loaded = await loadWorkflowFile(args[0], { lenient: true });
      // Saving checks the workflow itself, not this machine's API keys.
      await checkWorkflow(loaded, { registry: new NodeRegistry(BUILTIN_NODES), checkEnvironment: false });
      const description = (parsed.values.description as string | undefined) ?? loaded.ir.description;
      const ir = { ...loaded.ir, name, ...(description !== undefined ? { description } : {}) };
      const path = await saveWorkflow(home, ir, {
        name,
        force: parsed.values.force === true,
        onRedacted: () => printError(`warning: ${REDACTED_ON_SAVE}`),
      });
      if (json) writeStdout(`${JSON.stringify({ name, path })}\n`);
      else printError(`Saved workflow '${name}' to ${path}`);
      return EXIT.ok;
    }
    case "list": {
      expectArgs(0, "list [--json]");
      // Each file read once: a file that did not load has its problems already.
      const entries = await Promise.all((await listSavedLoaded(home)).map(async ({ entry, loaded, problems }) => ({
        entry,
        problems: loaded !== undefined
          ? await savedProblems(loaded)
          : problems ?? [{ message: entry.error ?? "cannot be read" }],
      })));
      if (json) {
        const docs = entries.map(({ entry, problems }) => ({
          ...entry,
          valid: problems.length === 0,
          problems: problems.map(formatProblem),
        }));
        writeStdout(`${JSON.stringify(docs, null, 2)}\n`);
      } else if (entries.length === 0) {
        printError("No saved workflows. Save one with: pflow workflow save FILE.json --name NAME");
      } else {
        const width = Math.max(...entries.map(({ entry }) => entry.name.length));
        const lines = entries.map(({ entry, problems }) => {
          const mark = problems.length > 0 ? `(${invalidNote(home, entry.name, problems)}) ` : "";
          return `${entry.name.padEnd(width)}  ${mark}${entry.description}`.trimEnd();
        });
        writeDisplay(`${lines.join("\n")}\n`);
      }
      return EXIT.ok;
    }
    case "show": {
      expectArgs(1, "show NAME [--json]");
      checkSavedName(args[0]);
      if (!savedExists(home, args[0])) {
        throw new UsageError(`no saved workflow '${args[0]}'; see 'pflow workflow list'`, "workflow");
      }
      const loaded = await loadSaved(home, args[0], { lenient: true });
      const { ir, file } = loaded;
      // A secret-named input's default (`api_token`) is shown as `[REDACTED]`, as the planner's catalogue and a
      // run of it hide it.
      outputRedactor().learn(inputDefaults(ir));
      if (json) {
        writeStdout(`${JSON.stringify(ir, null, 2)}\n`);
        return EXIT.ok;
      }
      const lines = savedDescription(args[0], ir, file);
      const problems = await savedProblems(loaded);
      if (problems.length > 0) lines.push(invalidNote(home, args[0], problems));
      writeDisplay(`${lines.join("\n")}\n`);
      return EXIT.ok;
    }
    case "delete": {
      expectArgs(1, "delete NAME [--json]");
      checkSavedName(args[0]);
      if (!await deleteSaved(home, args[0])) throw new UsageError(`no saved workflow '${args[0]}'`, "workflow");
      // As `save --json`: one document on stdout, the notice on stderr only in text mode.
      if (json) writeStdout(`${JSON.stringify({ name: args[0], path: savedPath(home, args[0]), deleted: true })}\n`);
      else printError(`Deleted workflow '${args[0]}'`);
      return EXIT.ok;
    }
    default:
      throw new UsageError(`unknown workflow command '${action}': use save, list, show or delete`, "workflow");
  }
}
