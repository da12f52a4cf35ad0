/**
 * The price table: the shipped `pricing.yaml`, merged field by field with
 * `PFLOW_HOME/pricing.yaml` and then with `--price-table FILE`. Bad price
 * files are validation errors that name the file and line.
 *
 * The shipped table is not parsed at run time: `tools/build_prices.ts`
 * validates `pricing.yaml` and compiles it to `shipped_prices.json` before
 * every build (a test checks the two are equal), so a start-up costs a JSON
 * module, and the YAML parser is loaded only for an override file that exists.
 * @module
 */
import { InvalidUtf8Error, readUtf8File, utf8Problem } from "../util/utf8.ts";
import { join } from "node:path";
import shipped from "./shipped_prices.json" with { type: "json" };
import { type Problem, ValidationError } from "../workflow/errors.ts";
import { checkComplete, mergePriceFile } from "./price_file.ts";

export { BUILTIN_SOURCE, parsePriceFile, type PriceFile, priceTableFromYaml } from "./price_file.ts";

/** Prices of one request class, USD per million tokens. */
export interface Prices {
  /** Uncached input. */
  input: number;
  /** Output (reasoning included). */
  output: number;
  /** Input read from the cache (default: the input price). */
  cache_read?: number;
  /** Cache writes with 5-minute lifetime (default: the input price). */
  cache_write_5m?: number;
  /** Cache writes with 1-hour lifetime (default: the 5-minute write price). */
  cache_write_1h?: number;
}

/** A long-context tier: above the threshold the whole request uses these prices. */
export interface PriceTier extends Partial<Prices> {
  /** Total input of one request (input + cache read + cache write) above which the tier applies. */
  above_input_tokens: number;
}

/** One model's entry. */
export interface ModelPrices extends Prices {
  /** Extra names for the model. */
  aliases?: string[];
  /** Long-context tiers, lowest threshold first. */
  tiers?: PriceTier[];
}

/** The effective table. */
export interface PriceTable {
  /** Version of the shipped table, or of the last override that set one. */
  version: string;
  /** Always USD. */
  currency: "USD";
  /** Entries by model id (`provider/model`, or `provider/*`). */
  models: Record<string, ModelPrices>;
  /** Where each model's fields came from: model → field → source label. */
  sources: Record<string, Record<string, string>>;
  /** `builtin`, or `builtin + PATH…` when overrides were merged. */
  source: string;
  /** Where each model was last defined: file, line and column (for error messages). */
  locations: Record<string, Problem>;
}

/**
 * The effective price table: shipped, then `home/pricing.yaml` if present,
 * then `priceTable` (a `--price-table` file) if given.
 */
export async function loadPriceTable(options: { home?: string; priceTable?: string } = {}): Promise<PriceTable> {
  let table = shippedPriceTable();
  if (options.home !== undefined) {
    const path = join(options.home, "pricing.yaml");
    const text = await readOptional(path);
    if (text !== undefined) table = await mergePriceFile(table, text, path);
  }
  if (options.priceTable !== undefined) {
    const text = await readOptional(options.priceTable);
    if (text === undefined) {
      throw new ValidationError([{ file: options.priceTable, message: "price table not found (--price-table)" }]);
    }
    table = await mergePriceFile(table, text, options.priceTable);
  }
  // The shipped table was checked when it was built.
  if (table !== shippedPriceTable()) checkComplete(table);
  return table;
}

/** The shipped table alone. */
export function loadShippedPriceTable(): Promise<PriceTable> {
  return Promise.resolve(shippedPriceTable());
}

let frozen: PriceTable | undefined;

/**
 * The shipped table as compiled at build time. Merging never changes the
 * table it starts from, so every caller shares this one (frozen, so that no
 * caller can change it for the others).
 */
function shippedPriceTable(): PriceTable {
  return frozen ??= deepFreeze(shipped.table as PriceTable);
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object" && !Object.isFrozen(value)) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readUtf8File(path);
  } catch (error) {
    if (error instanceof InvalidUtf8Error) throw new ValidationError([utf8Problem(path, error)]);
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return undefined;
    throw new ValidationError([{ file: path, message: `cannot read price table: ${(error as Error).message}` }]);
  }
}
