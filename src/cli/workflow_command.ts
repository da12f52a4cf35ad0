/**
 * `pflow workflow save|list|show|delete`.
 * @module
 */
import { BUILTIN_NODES } from "../nodes/mod.ts";
import { loadWorkflowFile } from "../workflow/load.ts";
import { NodeRegistry } from "../workflow/registry.ts";
import { parseCommand, UsageError } from "./args.ts";
import { HELP } from "./help.ts";
import { pflowHome } from "./home.ts";
import { type CommandEnv, EXIT } from "./command.ts";
import {
  checkNewWorkflowName,
  checkWorkflowName,
  deleteSaved,
  listSaved,
  loadSaved,
  REDACTED_ON_SAVE,
  savedExists,
  saveWorkflow,
} from "./saved.ts";
import { printError, writeDisplay, writeStdout } from "./terminal.ts";
import { checkWorkflow, workflowProblems } from "./workflow_target.ts";
import { formatProblem, ValidationError } from "../workflow/errors.ts";

/** The problems of saved workflow `name` as `pflow validate` reports them (one line each); none when valid. */
async function savedProblems(home: string, name: string): Promise<string[]> {
  try {
    const loaded = await loadSaved(home, name, { lenient: true });
    const problems = await workflowProblems(loaded, {
      registry: new NodeRegistry(BUILTIN_NODES),
      checkEnvironment: false,
    });
    return problems.map(formatProblem);
  } catch (error) {
    if (error instanceof ValidationError) return error.problems.map(formatProblem);
    throw error;
  }
}

/** Runs `pflow workflow …`; returns the exit code. */
export async function workflowCommand(argv: string[], { env }: CommandEnv): Promise<number> {
  const parsed = parseCommand(argv, {
    command: "workflow",
    flags: { name: { type: "string" }, description: { type: "string" }, force: { type: "boolean" } },
  });
  const [action, ...args] = parsed.positionals;
  if (parsed.values.help || action === undefined) {
    writeStdout(`${HELP.workflow}\n`);
    return action === undefined && !parsed.values.help ? EXIT.usage : EXIT.ok;
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
      const entries = await Promise.all((await listSaved(home)).map(async (e) => {
        const problems = e.error === undefined ? await savedProblems(home, e.name) : [];
        return { ...e, valid: e.error === undefined && problems.length === 0, problems };
      }));
      if (json) {
        writeStdout(`${JSON.stringify(entries, null, 2)}\n`);
      } else if (entries.length === 0) {
        printError("No saved workflows. Save one with: pflow workflow save FILE.json --name NAME");
      } else {
        const width = Math.max(...entries.map((e) => e.name.length));
        const lines = entries.map((e) => {
          const mark = e.error
            ? `(unreadable: ${e.error})`
            : e.problems.length > 0
            ? `(invalid: ${e.problems.length} problem${
              e.problems.length === 1 ? "" : "s"
            }, see 'pflow validate ${e.name}') `
            : "";
          return `${e.name.padEnd(width)}  ${mark}${e.error ? "" : e.description}`.trimEnd();
        });
        writeDisplay(`${lines.join("\n")}\n`);
      }
      return EXIT.ok;
    }
    case "show": {
      expectArgs(1, "show NAME [--json]");
      checkWorkflowName(args[0]);
      if (!await savedExists(home, args[0])) {
        throw new UsageError(`no saved workflow '${args[0]}'; see 'pflow workflow list'`, "workflow");
      }
      const { ir, file } = await loadSaved(home, args[0], { lenient: true });
      if (json) {
        writeStdout(`${JSON.stringify(ir, null, 2)}\n`);
        return EXIT.ok;
      }
      const lines = [`${ir.name ?? args[0]}${ir.description ? `: ${ir.description}` : ""}`, `file: ${file}`];
      const inputs = Object.entries(ir.inputs ?? {});
      if (inputs.length) {
        lines.push("inputs:");
        for (const [n, i] of inputs) {
          const req = i.required === false || i.default !== undefined ? "optional" : "required";
          const fallback = i.default !== undefined ? `, default ${JSON.stringify(i.default)}` : "";
          const stdin = i.stdin ? ", or piped stdin" : "";
          lines.push(
            `  ${n} (${i.type ?? "any"}, ${req}${fallback}${stdin})${i.description ? `: ${i.description}` : ""}`,
          );
        }
      }
      const outputs = Object.entries(ir.outputs ?? {});
      if (outputs.length) {
        lines.push("outputs:");
        for (const [n, o] of outputs) lines.push(`  ${n} ← ${o.source}${o.description ? `: ${o.description}` : ""}`);
      }
      lines.push("nodes:");
      for (const n of ir.nodes) lines.push(`  ${n.id} (${n.type})${n.purpose ? `: ${n.purpose}` : ""}`);
      writeDisplay(`${lines.join("\n")}\n`);
      return EXIT.ok;
    }
    case "delete": {
      expectArgs(1, "delete NAME");
      checkWorkflowName(args[0]);
      if (!await deleteSaved(home, args[0])) throw new UsageError(`no saved workflow '${args[0]}'`, "workflow");
      printError(`Deleted workflow '${args[0]}'`);
      return EXIT.ok;
    }
    default:
      throw new UsageError(`unknown workflow command '${action}': use save, list, show or delete`, "workflow");
  }
}
