/**
 * The catalogue of saved workflows the reuse call chooses from: name,
 * description and typed inputs of each, nothing else (node details would
 * cost tokens without helping the choice).
 * @module
 */
import { join } from "node:path";
import { BUILTIN_NODES } from "../nodes/mod.ts";
import { isSecretName, outputRedactor } from "../observability/redact.ts";
import type { InputIR } from "../workflow/ir.ts";
import { loadWorkflowFile } from "../workflow/load.ts";
import { NodeRegistry } from "../workflow/registry.ts";
import { validateWorkflow } from "../workflow/validate.ts";
import { savedWorkflowNames } from "../workflow/saved_files.ts";

/** One saved workflow as the planner sees it. */
export interface CatalogueEntry {
  /** Saved name. */
  name: string;
  /** Its description, or empty; secrets in it (URL passwords, secret query values, known secrets) redacted. */
  description: string;
  /**
   * Declared inputs with their type, whether required, default and description. The default of a
   * secret-named input (`api_token`) is not kept, only that there is one (`secretDefault`); other defaults
   * have their secrets (secret-named keys inside, URL passwords, known secrets) redacted, and so have the
   * descriptions: the catalogue goes to the planner's provider.
   */
  inputs: Record<
    string,
    { type?: string; required: boolean; default?: unknown; secretDefault?: true; description?: string }
  >;
  /** The saved file. */
  path: string;
}

/** Options of {@link readCatalogue}. */
export interface CatalogueOptions {
  /** The node types a saved workflow may use (default: the built-in ones). */
  registry?: NodeRegistry;
  /** Hears the name of each saved workflow left out because it does not read or validate. */
  onInvalid?: (name: string) => void;
}

/**
 * Reads every saved workflow in `dir` (sorted by name, so the prompt is
 * stable; what is one: `src/workflow/saved_files.ts`). Workflows that do not validate (statically, as `workflow list`
 * checks them: no API keys or other facts of this machine) are left out,
 * each named to `onInvalid`: reusing one would fail the run after the reuse
 * call was paid for.
 */
export async function readCatalogue(dir: string, options: CatalogueOptions = {}): Promise<CatalogueEntry[]> {
  // The saved workflows `workflow list` lists: a directory or FIFO named `x.json` is none.
  const names = await savedWorkflowNames(dir);
  let registry = options.registry;
  const entries = await Promise.all(names.map(async (name): Promise<CatalogueEntry | undefined> => {
    const path = join(dir, `${name}.json`);
    try {
      // Read as `workflow list` reads a saved workflow: its schema problems kept, not thrown.
      const { ir, problems = [] } = await loadWorkflowFile(path, { lenient: true });
      registry ??= new NodeRegistry(BUILTIN_NODES);
      if (problems.length === 0 && validateWorkflow(ir, { registry, checkEnvironment: false }).length === 0) {
        const description = outputRedactor().text(ir.description ?? "");
        return { name, description, inputs: describeInputs(ir.inputs), path };
      }
    } catch {
      // Unreadable, not JSON, not an object: as invalid.
    }
    options.onInvalid?.(name);
    return undefined;
  }));
  return entries.filter((e): e is CatalogueEntry => e !== undefined);
}

function describeInputs(inputs: Record<string, InputIR> | undefined): CatalogueEntry["inputs"] {
  const out: CatalogueEntry["inputs"] = {};
  for (const [name, input] of Object.entries(inputs ?? {})) {
    const fallback = input.default === undefined
      ? {}
      : isSecretName(name)
      ? { secretDefault: true as const }
      : { default: outputRedactor().value(input.default) };
    out[name] = {
      ...(input.type !== undefined ? { type: input.type } : {}),
      required: input.required !== false && input.default === undefined,
      ...fallback,
      ...(input.description ? { description: outputRedactor().text(input.description) } : {}),
    };
  }
  return out;
}
