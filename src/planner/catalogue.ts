/**
 * The catalogue of saved workflows the reuse call chooses from: name,
 * description and typed inputs of each, nothing else (node details would
 * cost tokens without helping the choice).
 * @module
 */
import { readdir } from "node:fs/promises";
import { readUtf8File } from "../util/utf8.ts";
import { join } from "node:path";
import type { InputIR, WorkflowIR } from "../workflow/ir.ts";

/** One saved workflow as the planner sees it. */
export interface CatalogueEntry {
  /** Saved name. */
  name: string;
  /** Its description, or empty. */
  description: string;
  /** Declared inputs with their type, whether required, default and description. */
  inputs: Record<string, { type?: string; required: boolean; default?: unknown; description?: string }>;
  /** The saved file. */
  path: string;
}

/**
 * Reads every saved workflow in `dir` (sorted by name, so the prompt is
 * stable). Files that are not workflows are left out: the planner cannot
 * reuse what it cannot read.
 */
export async function readCatalogue(dir: string): Promise<CatalogueEntry[]> {
  let files: string[];
  try {
    files = (await readdir(dir)).filter((f) => f.endsWith(".json") && !f.startsWith(".")).sort();
  } catch {
    return [];
  }
  const entries = await Promise.all(files.map(async (file): Promise<CatalogueEntry | undefined> => {
    const path = join(dir, file);
    try {
      const ir = JSON.parse(await readUtf8File(path)) as WorkflowIR;
      if (ir === null || typeof ir !== "object" || !Array.isArray(ir.nodes)) return undefined;
      return { name: file.slice(0, -5), description: ir.description ?? "", inputs: describeInputs(ir.inputs), path };
    } catch {
      return undefined;
    }
  }));
  return entries.filter((e): e is CatalogueEntry => e !== undefined);
}

function describeInputs(inputs: Record<string, InputIR> | undefined): CatalogueEntry["inputs"] {
  const out: CatalogueEntry["inputs"] = {};
  for (const [name, input] of Object.entries(inputs ?? {})) {
    out[name] = {
      ...(input.type !== undefined ? { type: input.type } : {}),
      required: input.required !== false && input.default === undefined,
      ...(input.default !== undefined ? { default: input.default } : {}),
      ...(input.description ? { description: input.description } : {}),
    };
  }
  return out;
}
