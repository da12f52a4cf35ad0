/**
 * Price files: parsing and validating one YAML price table (every problem
 * names the file and line), and merging it over another table field by field.
 * The YAML parser is loaded only when a file is parsed.
 * @module
 */
import { didYouMean, type Problem, ValidationError } from "../workflow/errors.ts";
import type { ModelPrices, PriceTable, PriceTier } from "./table.ts";

/** A parsed (validated) price file before merging. */
export interface PriceFile {
  version?: string;
  models: Record<string, Partial<ModelPrices>>;
  /** Line and column of each model id. */
  lines: Record<string, { line?: number; column?: number }>;
}

const PRICE_FIELDS = ["input", "output", "cache_read", "cache_write_5m", "cache_write_1h"] as const;
const MODEL_FIELDS = [...PRICE_FIELDS, "aliases", "tiers"];
const TOP_FIELDS = ["version", "currency", "models"];

/** Label of the shipped table. */
export const BUILTIN_SOURCE = "builtin";

/**
 * Parses and validates the text of a complete price table (the shipped
 * `pricing.yaml`) into the table it defines, labelled `source`. Used at build
 * time and by the test that the compiled table equals the YAML.
 */
export async function priceTableFromYaml(text: string, source: string = BUILTIN_SOURCE): Promise<PriceTable> {
  const table = await mergePriceFile(undefined, text, source);
  checkComplete(table);
  return table;
}

/** Parses one price file and merges it over `base` (a new table; `base` is left as it was). */
export async function mergePriceFile(
  base: PriceTable | undefined,
  text: string,
  source: string,
): Promise<PriceTable> {
  const file = await parsePriceFile(text, source);
  const table: PriceTable = base
    ? {
      ...base,
      models: { ...base.models },
      sources: { ...base.sources },
      locations: { ...base.locations },
      source: `${base.source} + ${source}`,
    }
    : { version: "", currency: "USD", models: {}, sources: {}, locations: {}, source };
  if (file.version !== undefined) table.version = file.version;
  for (const [model, entry] of Object.entries(file.models)) {
    table.models[model] = { ...table.models[model], ...entry } as ModelPrices;
    table.locations[model] = { file: source, ...file.lines[model], message: "" };
    table.sources[model] = { ...table.sources[model] };
    for (const field of Object.keys(entry)) table.sources[model][field] = source;
  }
  return table;
}

/** Throws when a model of the merged table lacks its input or output price. */
export function checkComplete(table: PriceTable): void {
  const problems: Problem[] = [];
  for (const [model, entry] of Object.entries(table.models)) {
    for (const field of ["input", "output"] as const) {
      if (entry[field] === undefined) {
        problems.push({ ...table.locations[model], message: `model '${model}' has no '${field}' price; set it` });
      }
    }
  }
  if (problems.length > 0) throw new ValidationError(problems);
}

/**
 * Parses and validates one price file (YAML). Every problem names the file
 * and line: YAML syntax, unknown fields, negative or non-numeric prices, a
 * tier without `above_input_tokens`.
 */
export async function parsePriceFile(text: string, file: string): Promise<PriceFile> {
  const { LineCounter, parseDocument, isMap, isSeq, isScalar, visit } = await import("yaml");
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true });
  const problems: Problem[] = [];
  const at = (node: { range?: [number, number, number] | null } | null | undefined, message: string) => {
    const pos = node?.range ? lineCounter.linePos(node.range[0]) : undefined;
    problems.push({ file, line: pos?.line, column: pos?.col, message });
  };
  for (const error of doc.errors) {
    const pos = error.linePos?.[0];
    // The yaml package appends " at line L, column C:"; the problem carries the position already.
    const message = error.message.split("\n")[0].replace(/ at line \d+, column \d+:?$/, "");
    problems.push({ file, line: pos?.line, column: pos?.col, message: `YAML syntax: ${message}` });
  }
  if (problems.length > 0) throw new ValidationError(problems);
  // An alias (`*base`) would read as no value at all where a price is expected: said plainly instead.
  visit(doc, {
    Alias(_key, node) {
      at(node, `YAML aliases (*${node.source}) are not read in a price table; write the value out`);
    },
  });
  if (problems.length > 0) throw new ValidationError(problems);
  const root = doc.contents;
  if (root === null || (isScalar(root) && root.value === null)) return { models: {}, lines: {} };
  if (!isMap(root)) {
    at(root, "a price table is a mapping with 'version', 'currency' and 'models'");
    throw new ValidationError(problems);
  }
  const result: PriceFile = { models: {}, lines: {} };
  for (const pair of root.items) {
    const key = String((pair.key as { value?: unknown })?.value);
    const value = pair.value as Parameters<typeof at>[0] & { value?: unknown };
    if (!TOP_FIELDS.includes(key)) {
      at(pair.key as never, `unknown field '${key}'${didYouMean(key, TOP_FIELDS)}; allowed: ${TOP_FIELDS.join(", ")}`);
    } else if (key === "version") {
      const v = isScalar(value) ? value.value : undefined;
      if (typeof v !== "string" && typeof v !== "number") at(value, "'version' must be a string like \"2025-11-15\"");
      // A number is the version as written: `1.10` is 1.10 (not 1.1), `0x10` is 0x10 (not 16).
      else result.version = typeof v === "number" ? (value as { source?: string }).source ?? String(v) : v;
    } else if (key === "currency") {
      if (!isScalar(value) || value.value !== "USD") {
        at(value, "'currency' must be USD (prices are USD per million tokens)");
      }
    } else if (key === "models") {
      if (!isMap(value)) {
        at(value, "'models' must be a mapping of model id to prices");
        continue;
      }
      for (const modelPair of value.items) {
        const model = String((modelPair.key as { value?: unknown })?.value);
        const entryNode = modelPair.value as Parameters<typeof at>[0];
        if (!/^[\w.-]+\/(?:[\w.:/-]+|\*)$/.test(model)) {
          at(
            modelPair.key as never,
            `model id '${model}' must be provider/model (or provider/* for every model of a provider)`,
          );
          continue;
        }
        if (!isMap(entryNode)) {
          at(entryNode ?? (modelPair.key as never), `model '${model}' needs a mapping of prices (input, output, ...)`);
          continue;
        }
        result.models[model] = readModel(model, entryNode, { at, isMap, isSeq, isScalar });
        const keyRange = (modelPair.key as { range?: [number, number, number] }).range;
        if (keyRange) {
          const pos = lineCounter.linePos(keyRange[0]);
          result.lines[model] = { line: pos.line, column: pos.col };
        }
      }
    }
  }
  if (problems.length > 0) throw new ValidationError(problems);
  return result;
}

type YamlGuards = {
  at: (node: never, message: string) => void;
  isMap: (n: unknown) => boolean;
  isSeq: (n: unknown) => boolean;
  isScalar: (n: unknown) => boolean;
};

type YamlMap = { items: { key: unknown; value: unknown }[] };

function readModel(model: string, node: unknown, y: YamlGuards): Partial<ModelPrices> {
  const entry: Partial<ModelPrices> = {};
  for (const pair of (node as YamlMap).items) {
    const field = String((pair.key as { value?: unknown })?.value);
    const value = pair.value;
    if (!MODEL_FIELDS.includes(field)) {
      y.at(
        pair.key as never,
        `unknown field '${field}' in model '${model}'${didYouMean(field, MODEL_FIELDS)}; allowed: ${
          MODEL_FIELDS.join(", ")
        }`,
      );
    } else if (field === "aliases") {
      const items = y.isSeq(value) ? (value as YamlMap).items as unknown[] : undefined;
      const names = items?.map((i) => (y.isScalar(i) ? (i as { value: unknown }).value : undefined));
      if (!names || names.some((n) => typeof n !== "string" || !n.includes("/"))) {
        y.at(value as never, `'aliases' of '${model}' must be a list of provider/model names`);
      } else entry.aliases = names as string[];
    } else if (field === "tiers") {
      const items = y.isSeq(value) ? (value as YamlMap).items as unknown[] : undefined;
      if (!items) {
        y.at(value as never, `'tiers' of '${model}' must be a list`);
        continue;
      }
      entry.tiers = items.map((tierNode) => readTier(model, tierNode, y));
      entry.tiers.sort((a, b) => a.above_input_tokens - b.above_input_tokens);
    } else {
      const price = readPrice(model, field, value, y);
      if (price !== undefined) (entry as Record<string, number>)[field] = price;
    }
  }
  return entry;
}

function readTier(model: string, node: unknown, y: YamlGuards): PriceTier {
  const tier: Partial<PriceTier> = {};
  let thresholdGiven = false;
  if (!y.isMap(node)) {
    y.at(node as never, `a tier of '${model}' must be a mapping with above_input_tokens and prices`);
    return { above_input_tokens: Infinity };
  }
  for (const pair of (node as YamlMap).items) {
    const field = String((pair.key as { value?: unknown })?.value);
    if (field === "above_input_tokens") {
      thresholdGiven = true;
      const v = y.isScalar(pair.value) ? (pair.value as { value: unknown }).value : undefined;
      if (typeof v !== "number" || !Number.isInteger(v) || v <= 0) {
        y.at(pair.value as never, `'above_input_tokens' of a tier of '${model}' must be a positive whole number`);
      } else tier.above_input_tokens = v;
    } else if ((PRICE_FIELDS as readonly string[]).includes(field)) {
      const price = readPrice(model, field, pair.value, y);
      if (price !== undefined) (tier as Record<string, number>)[field] = price;
    } else {
      const allowed = ["above_input_tokens", ...PRICE_FIELDS];
      y.at(
        pair.key as never,
        `unknown field '${field}' in a tier of '${model}'${didYouMean(field, allowed)}; allowed: ${allowed.join(", ")}`,
      );
    }
  }
  if (tier.above_input_tokens === undefined) {
    // A threshold given but wrong is reported where it is, once.
    if (!thresholdGiven) y.at(node as never, `a tier of '${model}' has no 'above_input_tokens' threshold`);
    tier.above_input_tokens = Infinity;
  }
  return tier as PriceTier;
}

function readPrice(model: string, field: string, node: unknown, y: YamlGuards): number | undefined {
  const v = y.isScalar(node) ? (node as { value: unknown }).value : undefined;
  if (typeof v !== "number" || !Number.isFinite(v)) {
    // As written: 1e400 and .nan parse to Infinity and NaN, which JSON would show as null.
    const written = typeof v === "number"
      ? (node as { source?: string }).source ?? String(v)
      : JSON.stringify(v ?? null);
    const what = typeof v === "number" ? "a finite number" : "a number";
    y.at(node as never, `'${field}' of '${model}' must be ${what} (USD per million tokens), got ${written}`);
    return undefined;
  }
  if (v < 0) {
    y.at(node as never, `'${field}' of '${model}' must not be negative, got ${v}`);
    return undefined;
  }
  return v;
}
