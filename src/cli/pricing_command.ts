/**
 * `pflow pricing show [MODEL]`: the effective prices and where each came from.
 * @module
 */
import { findPrices } from "../pricing/cost.ts";
import { canonicalModelId, modelIdProblem } from "../llm/model_id.ts";
import { loadPriceTable, type ModelPrices, type PriceTable } from "../pricing/table.ts";
import { parseCommand } from "./args.ts";
import { formatCount } from "./format.ts";
import { showHelp } from "./show_help.ts";
import { pflowHome } from "./home.ts";
import { type CommandEnv, EXIT } from "./command.ts";
import { oneLine, renderTable } from "./table.ts";
import { printError, writeStdout } from "./terminal.ts";
import { UsageError } from "./usage_error.ts";

const FIELDS = ["input", "output", "cache_read", "cache_write_5m", "cache_write_1h"] as const;

/** Runs `pflow pricing …`; returns the exit code. */
export async function pricingCommand(argv: string[], { env }: CommandEnv): Promise<number> {
  const parsed = parseCommand(argv, { command: "pricing", flags: { "price-table": { type: "string" } } });
  const [action, ...args] = parsed.positionals;
  if (parsed.values.help || action === undefined) return showHelp("pricing", { asked: parsed.values.help === true });
  if (action !== "show") throw new UsageError(`unknown pricing command '${action}': use show`, "pricing");
  if (args.length > 1) {
    throw new UsageError("usage: pflow pricing show [MODEL] [--price-table FILE] [--json]", "pricing");
  }
  const json = parsed.values.json === true || parsed.values["output-format"] === "json";
  const table = await loadPriceTable({
    home: pflowHome(env),
    priceTable: parsed.values["price-table"] as string | undefined,
  });
  const model = args[0];
  if (model !== undefined) return showModel(table, model, json);
  if (json) {
    writeStdout(
      `${
        JSON.stringify(
          {
            version: table.version,
            currency: table.currency,
            source: table.source,
            models: table.models,
            sources: table.sources,
          },
          null,
          2,
        )
      }\n`,
    );
    return EXIT.ok;
  }
  const rows = Object.entries(table.models).map((
    [id, m],
  ) => [id, ...FIELDS.map((f) => price(m, f)), sourceOf(table, id)]);
  const header = ["model", ...FIELDS, "source"];
  // The version and the sources are a price file's text and paths (someone else's `--price-table`): shown escaped,
  // as the table's cells are.
  writeStdout(
    `prices: USD per million tokens · version ${oneLine(table.version)} · ${oneLine(table.source)}\n${
      renderTable(header.map((h) => ({ header: h })), rows)
    }`,
  );
  return EXIT.ok;
}

function showModel(table: PriceTable, model: string, json: boolean): number {
  const problem = modelIdProblem(model);
  if (problem !== null) throw new UsageError(problem, "pricing");
  // As a run prices it: a model alias (`anthropic/haiku`) is its canonical id.
  const match = findPrices(table, canonicalModelId(model));
  if (match === undefined) {
    if (json) writeStdout(`${JSON.stringify({ model, priced: false })}\n`);
    printError(
      `no price for '${model}': it is unpriced (its tokens are counted, its cost is not); add it to PFLOW_HOME/pricing.yaml`,
    );
    return EXIT.failed;
  }
  const sources = table.sources[match.key] ?? {};
  if (json) {
    writeStdout(`${JSON.stringify({ model, priced: true, key: match.key, prices: match.prices, sources }, null, 2)}\n`);
    return EXIT.ok;
  }
  // Ids, aliases and sources come from price files: each shown on its line, escaped (as the cost views show them).
  const lines = [
    `${oneLine(model)}${match.key !== model ? ` (priced as ${oneLine(match.key)})` : ""}: USD per million tokens`,
  ];
  for (const field of FIELDS) {
    const value = match.prices[field];
    const shown = value === undefined ? `${price(match.prices, field)} (default)` : String(value);
    lines.push(
      `  ${field.padEnd(15)} ${shown.padEnd(16)} ${value === undefined ? "" : oneLine(sources[field] ?? "")}`.trimEnd(),
    );
  }
  for (const tier of match.prices.tiers ?? []) {
    const prices = FIELDS.filter((f) => tier[f] !== undefined).map((f) => `${f} ${tier[f]}`).join(", ");
    lines.push(`  above ${formatCount(tier.above_input_tokens)} input tokens (whole request): ${prices}`);
  }
  if (match.prices.aliases?.length) lines.push(`  aliases: ${match.prices.aliases.map((a) => oneLine(a)).join(", ")}`);
  writeStdout(`${lines.join("\n")}\n`);
  return EXIT.ok;
}

/** A price field, with the documented fallbacks for absent cache prices. */
function price(m: ModelPrices, field: typeof FIELDS[number]): string {
  const value = m[field] ?? (field === "cache_write_1h" ? m.cache_write_5m ?? m.input : m.input);
  return String(value);
}

function sourceOf(table: PriceTable, id: string): string {
  const sources = new Set(Object.values(table.sources[id] ?? {}));
  return [...sources].join(" + ");
}
