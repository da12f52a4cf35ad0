/**
 * `pflow run`: load, validate, compile, run, print.
 * @module
 */
import { stat } from "node:fs/promises";
import type { BaseNode, FlowObserver } from "../engine/mod.ts";
import { BUILTIN_NODES } from "../nodes/mod.ts";
import { type CompiledWorkflow, compileWorkflow } from "../workflow/compiler.ts";
import { type Problem, ValidationError } from "../workflow/errors.ts";
import { addLines, type LoadedWorkflow, loadWorkflowFile } from "../workflow/load.ts";
import { NodeRegistry } from "../workflow/registry.ts";
import { resolveInputs, runWorkflow, type WorkflowResult } from "../workflow/run.ts";
import {
  lookup,
  parseTemplate,
  type TemplateRef,
  templateRefs,
  UnresolvedTemplateError,
} from "../workflow/template.ts";
import { validateWorkflow } from "../workflow/validate.ts";
import { parseCommand, parseParams, UsageError } from "./args.ts";
import { HELP } from "./help.ts";
import { loadSettings, pflowHome } from "./home.ts";
import { loadSaved, savedExists } from "./saved.ts";
import { runDocument, validationDocument } from "./result_document.ts";
import { formatDuration, printError, stderrStyle, writeStdout } from "./terminal.ts";

/** Exit codes. */
export const EXIT = { ok: 0, failed: 1, usage: 2, interrupted: 130 } as const;

/** What the CLI entry gives a command. */
export interface CommandEnv {
  /** Environment variables. */
  env: Record<string, string | undefined>;
}

/** Runs `pflow run ARGV…`; returns the exit code. */
export async function runCommand(argv: string[], { env }: CommandEnv): Promise<number> {
  const started = performance.now();
  const executionId = crypto.randomUUID();
  const parsed = parseCommand(argv, { command: "run", flags: { "output-key": { type: "string", short: "o" } } });
  if (parsed.values.help) {
    await writeStdout(`${HELP.run}\n`);
    return EXIT.ok;
  }
  const json = parsed.values["output-format"] === "json" || parsed.values.json === true;
  const verbose = parsed.values.verbose === true;
  let workflowName: string | null = null;
  try {
    const [target, ...rest] = parsed.positionals;
    if (target === undefined) throw new UsageError("missing workflow: pflow run FILE.json [key=value ...]", "run");
    const params = parseParams(rest);
    const home = pflowHome(env);
    const settings = await loadSettings(home);
    const loaded = await loadTarget(target, home);
    workflowName = loaded.ir.name ?? nameFromPath(loaded.file);
    const registry = new NodeRegistry(BUILTIN_NODES);
    const problems = validateWorkflow(loaded.ir, { registry, env, settings });
    if (problems.length > 0) throw await locatedError(problems, loaded);
    const outputKey = parsed.values["output-key"] as string | undefined;
    if (outputKey !== undefined) checkOutputKey(outputKey, loaded);
    const compiled = compileWorkflow(loaded.ir, { registry });
    const stdin = needsStdin(compiled, params) ? await readPipedStdin() : undefined;
    let inputs: Record<string, unknown>;
    try {
      inputs = resolveInputs(loaded.ir, params, { stdin });
    } catch (error) {
      if (error instanceof ValidationError) throw await locatedError(error.problems, loaded);
      throw error;
    }
    const controller = new AbortController();
    const removeSignals = onInterrupt(controller);
    const style = stderrStyle(env);
    const observer = !json && process.stderr.isTTY ? progressObserver(compiled, style) : undefined;
    let result: WorkflowResult;
    try {
      result = await runWorkflow(compiled, {
        inputs,
        stdin,
        signal: controller.signal,
        observer,
        warn: (message) => printError(style.yellow(`warning: ${message}`)),
        context: { env, llmSettings: settings },
      });
    } finally {
      removeSignals();
    }
    if (json) {
      await writeStdout(`${JSON.stringify(runDocument(result, { executionId, workflowName }))}\n`);
    } else if (result.status === "success") {
      await writeStdout(formatOutputs(result, outputKey));
    }
    if (result.status === "interrupted") {
      if (!json) printError(style.yellow("interrupted"));
      return EXIT.interrupted;
    }
    if (result.status === "failed") {
      if (!json) {
        const where = result.error?.node_id ? `node '${result.error.node_id}' failed: ` : "";
        printError(`${style.red("error:")} ${where}${result.error?.message}`);
      }
      return EXIT.failed;
    }
    return EXIT.ok;
  } catch (error) {
    if (!json || !(error instanceof ValidationError || error instanceof UsageError)) throw error;
    const problems = error instanceof ValidationError ? error.problems : undefined;
    const doc = validationDocument(error.message, {
      executionId,
      workflowName,
      problems,
      type: error.name,
      durationMs: performance.now() - started,
    });
    await writeStdout(`${JSON.stringify(doc)}\n`);
    for (const line of error.message.split("\n")) printError(`error: ${line}`);
    if (verbose && error.stack) printError(error.stack);
    return EXIT.usage;
  }
}

/** A file path, or the name of a saved workflow. */
async function loadTarget(target: string, home: string): Promise<LoadedWorkflow> {
  const looksLikePath = target.includes("/") || target.includes("\\") || target.endsWith(".json");
  if (looksLikePath || await isFile(target)) return await loadWorkflowFile(target);
  if (await savedExists(home, target)) return await loadSaved(home, target);
  throw new ValidationError([{
    file: target,
    message: "no such workflow file or saved workflow; see 'pflow workflow list'",
  }]);
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

function nameFromPath(path: string): string {
  return path.split(/[\\/]/).pop()!.replace(/\.json$/, "");
}

async function locatedError(problems: Problem[], loaded: LoadedWorkflow): Promise<ValidationError> {
  const located = problems.map((p) => ({ ...p, file: p.file ?? loaded.file }));
  await addLines(located, loaded.text);
  return new ValidationError(located);
}

function checkOutputKey(key: string, loaded: LoadedWorkflow): void {
  outputKeyRef(key);
  const declared = Object.keys(loaded.ir.outputs ?? {});
  if (declared.length === 0 || declared.includes(key) || key.includes(".")) return;
  throw new UsageError(
    `--output-key '${key}' is not an output of this workflow; outputs: ${declared.join(", ")}`,
    "run",
  );
}

/** The store reference an `--output-key` names; a usage error when it is not a path. */
function outputKeyRef(key: string): TemplateRef {
  let parts: ReturnType<typeof parseTemplate>;
  try {
    parts = parseTemplate(`\${${key}}`);
  } catch {
    parts = [];
  }
  if (parts.length !== 1 || typeof parts[0] === "string") {
    throw new UsageError(`--output-key '${key}' is not an output name or a store path like node.key`, "run");
  }
  return parts[0];
}

/** Text-mode stdout: one output raw, several as a JSON object. */
function formatOutputs(result: WorkflowResult, outputKey: string | undefined): string {
  let value: unknown;
  if (outputKey !== undefined) {
    value = Object.hasOwn(result.outputs, outputKey) ? result.outputs[outputKey] : lookupOutputKey(outputKey, result);
  } else {
    const entries = Object.entries(result.outputs);
    if (entries.length === 0) return "";
    value = entries.length === 1 ? entries[0][1] : result.outputs;
  }
  const text = typeof value === "string" ? value : JSON.stringify(value, null, 2);
  return text.endsWith("\n") || text === "" ? text : `${text}\n`;
}

/** Resolves an `--output-key` store path after the run; a miss is a usage error (exit 2), not a failed run. */
function lookupOutputKey(key: string, result: WorkflowResult): unknown {
  try {
    return lookup(outputKeyRef(key), { root: result.shared });
  } catch (error) {
    if (!(error instanceof UnresolvedTemplateError)) throw error;
    const outputs = Object.keys(result.outputs);
    const hint = outputs.length > 0 ? `; outputs: ${outputs.join(", ")}` : "";
    throw new UsageError(`--output-key '${key}': ${error.message}${hint}`, "run");
  }
}

/**
 * Whether to read piped stdin: a template names `\${stdin}`, or an input
 * marked `"stdin": true` was not given as a param. (Reading waits for EOF,
 * so an open pipe must not be read when nothing would use it.)
 */
function needsStdin(compiled: CompiledWorkflow, params: Record<string, unknown>): boolean {
  if (!compiled.usesStdin) return false;
  const inputs = Object.entries(compiled.ir.inputs ?? {});
  if (inputs.some(([name, input]) => input.stdin && params[name] === undefined)) return true;
  const values = [
    ...compiled.ir.nodes.map((n) => [n.params ?? {}, n.batch?.items]),
    ...Object.values(compiled.ir.outputs ?? {}).map((o) => o.source),
  ];
  for (const { ref } of templateRefs(values)) if (ref.segments[0] === "stdin") return true;
  return false;
}

/** Reads piped stdin (not a terminal); undefined when nothing was piped. */
async function readPipedStdin(): Promise<string | undefined> {
  if (process.stdin.isTTY) return undefined;
  const chunks: Uint8Array[] = [];
  for await (const chunk of process.stdin) {
    chunks.push(typeof chunk === "string" ? new TextEncoder().encode(chunk) : chunk);
  }
  const text = new TextDecoder().decode(concat(chunks));
  return text === "" ? undefined : text;
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

/**
 * SIGINT/SIGTERM abort the run (the running node is told through its
 * signal); a second SIGINT exits at once.
 */
function onInterrupt(controller: AbortController): () => void {
  const handler = () => {
    if (controller.signal.aborted) process.exit(EXIT.interrupted);
    controller.abort();
  };
  process.on("SIGINT", handler);
  process.on("SIGTERM", handler);
  return () => {
    process.off("SIGINT", handler);
    process.off("SIGTERM", handler);
  };
}

/** Per-node progress lines on stderr (terminals only). */
function progressObserver(compiled: CompiledWorkflow, style: ReturnType<typeof stderrStyle>): FlowObserver {
  const starts = new Map<BaseNode, number>();
  return {
    nodeStart(node) {
      starts.set(node, performance.now());
    },
    nodeEnd(node, action, error) {
      const id = compiled.idOf(node) ?? "?";
      const type = compiled.nodes.get(id)?.type ?? "";
      const elapsed = formatDuration(performance.now() - (starts.get(node) ?? performance.now()));
      const failed = error !== undefined || action === "error";
      const mark = failed ? style.red("✗") : style.green("✓");
      printError(`  ${mark} ${id} ${style.dim(`(${type})`)} ${style.dim(elapsed)}`);
    },
  };
}
