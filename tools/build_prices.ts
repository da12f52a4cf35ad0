/**
 * Compiles the shipped `pricing.yaml` to `src/pricing/shipped_prices.json`,
 * the form a run loads (no YAML parser at start-up). Runs before every build
 * (`deno task compile`), and validates the table on the way: a bad price
 * fails the build with the file and line. `tests/pricing_test.ts` checks the
 * JSON equals the YAML.
 *
 * `deno run -A tools/build_prices.ts` rewrites the JSON when it differs;
 * `--check` only reports whether it is up to date (exit 1 when not).
 * @module
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { priceTableFromYaml } from "../src/pricing/price_file.ts";
import { ValidationError } from "../src/workflow/errors.ts";
import { updateGenerated } from "./generated_file.ts";

const ROOT = resolve(import.meta.dirname!, "..");
/** The shipped price table's source. */
export const PRICES_YAML: string = resolve(ROOT, "pricing.yaml");
/** What the build makes of it. */
export const PRICES_JSON: string = resolve(ROOT, "src/pricing/shipped_prices.json");

/** The JSON text of the compiled shipped table. */
export async function compiledPrices(): Promise<string> {
  const table = await priceTableFromYaml(readFileSync(PRICES_YAML, "utf8"));
  const doc = { generated: "from pricing.yaml by tools/build_prices.ts; do not edit", table };
  return `${JSON.stringify(doc, null, 2)}\n`;
}

if (import.meta.main) {
  let text: string;
  try {
    text = await compiledPrices();
  } catch (error) {
    const lines = error instanceof ValidationError ? error.message : String(error);
    for (const line of lines.split("\n")) console.error(`error: pricing.yaml: ${line}`);
    process.exit(2);
  }
  updateGenerated(PRICES_JSON, text, "tools/build_prices.ts");
}
