import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { LlmUsage } from "../src/llm/types.ts";
import { normalizeAnthropicUsage, normalizeOpenAiUsage } from "../src/llm/usage.ts";
import {
  costOfUsage,
  findPrices,
  loadPriceTable,
  loadShippedPriceTable,
  parsePriceFile,
  priceCall,
  priceTableFromYaml,
  roundUsd,
} from "../src/pricing/mod.ts";
import { ValidationError } from "../src/workflow/errors.ts";
import { compiledPrices, PRICES_JSON, PRICES_YAML } from "../tools/build_prices.ts";
import { readFileSync } from "node:fs";

function usage(model: string, tokens: Partial<LlmUsage>): LlmUsage {
  return {
    provider: model.split("/")[0],
    model,
    response_model: null,
    input_tokens: 0,
    cache_read_tokens: 0,
    cache_write_tokens: 0,
    cache_write_5m_tokens: 0,
    cache_write_1h_tokens: 0,
    output_tokens: 0,
    reasoning_tokens: 0,
    request_id: null,
    duration_ms: 1,
    raw: null,
    ...tokens,
  };
}

const close = (actual: number | null, expected: number) =>
  assert.ok(actual !== null && Math.abs(actual - expected) < 1e-12, `${actual} != ${expected}`);

const table = await loadShippedPriceTable();

Deno.test("the shipped table a run loads (compiled JSON) equals pricing.yaml (run tools/build_prices.ts)", async () => {
  const fromYaml = await priceTableFromYaml(readFileSync(PRICES_YAML, "utf8"));
  assert.deepEqual(table, fromYaml);
  assert.equal(readFileSync(PRICES_JSON, "utf8"), await compiledPrices(), `${PRICES_JSON} is out of date`);
  assert.equal(table.source, "builtin");
  assert.ok(Object.keys(table.models).length > 10);
  // Every entry keeps the line of its model id in pricing.yaml, as parsed.
  const line = readFileSync(PRICES_YAML, "utf8").split("\n").findIndex((l) => l.startsWith("  openai/gpt-4o-mini:")) +
    1;
  assert.equal(table.locations["openai/gpt-4o-mini"].line, line);
});

Deno.test("the shipped table is shared and frozen: overrides merge into a new table, never into it", async () => {
  const dir = mkdtempSync(join(tmpdir(), "pflow-prices-"));
  try {
    writeFileSync(join(dir, "pricing.yaml"), "models:\n  anthropic/claude-haiku-4-5:\n    output: 7\n");
    const merged = await loadPriceTable({ home: dir });
    assert.equal(merged.models["anthropic/claude-haiku-4-5"].output, 7);
    const shipped = await loadShippedPriceTable();
    assert.equal(shipped.models["anthropic/claude-haiku-4-5"].output, 5);
    assert.equal(shipped, await loadPriceTable({ home: join(dir, "missing") }), "no override: the shared table");
    assert.throws(() => {
      (shipped.models["anthropic/claude-haiku-4-5"] as { output: number }).output = 0;
    }, TypeError);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

Deno.test("Anthropic: uncached input, cache reads and 5m/1h cache writes each at their own price", () => {
  const raw = {
    input_tokens: 1000,
    output_tokens: 500,
    cache_read_input_tokens: 2000,
    cache_creation_input_tokens: 300,
    cache_creation: { ephemeral_5m_input_tokens: 100, ephemeral_1h_input_tokens: 200 },
  };
  const u = usage("anthropic/claude-sonnet-4-5", normalizeAnthropicUsage(raw));
  // 1000×3 + 2000×0.30 + 100×3.75 + 200×6.00 + 500×15 = 3000 + 600 + 375 + 1200 + 7500 per million
  close(priceCall(table, u).cost_usd, 12675 / 1e6);
});

Deno.test("Anthropic: cache writes without a split are billed as 5-minute writes", () => {
  const u = usage(
    "anthropic/claude-haiku-4-5",
    normalizeAnthropicUsage({ input_tokens: 10, output_tokens: 0, cache_creation_input_tokens: 1000 }),
  );
  close(priceCall(table, u).cost_usd, (10 * 1 + 1000 * 1.25) / 1e6);
});

Deno.test("long context: above 200k total input the whole request is re-priced; at 200k it is not", () => {
  const below = usage("anthropic/claude-sonnet-4-5", {
    input_tokens: 100_000,
    cache_read_tokens: 100_000,
    output_tokens: 1000,
  });
  const above = usage("anthropic/claude-sonnet-4-5", {
    input_tokens: 100_000,
    cache_read_tokens: 100_000,
    cache_write_tokens: 1,
    cache_write_5m_tokens: 1,
    output_tokens: 1000,
  });
  close(priceCall(table, below).cost_usd, (100_000 * 3 + 100_000 * 0.3 + 1000 * 15) / 1e6);
  close(priceCall(table, above).cost_usd, (100_000 * 6 + 100_000 * 0.6 + 1 * 7.5 + 1000 * 22.5) / 1e6);
});

Deno.test("OpenAI: cached tokens inside prompt_tokens and reasoning inside completion_tokens are not double counted", () => {
  const raw = {
    prompt_tokens: 1200,
    completion_tokens: 400,
    prompt_tokens_details: { cached_tokens: 200 },
    completion_tokens_details: { reasoning_tokens: 150 },
  };
  const u = usage("openai/gpt-4o-mini", normalizeOpenAiUsage(raw));
  assert.equal(u.input_tokens, 1000);
  assert.equal(u.cache_read_tokens, 200);
  assert.equal(u.output_tokens, 400);
  assert.equal(u.reasoning_tokens, 150);
  close(priceCall(table, u).cost_usd, (1000 * 0.15 + 200 * 0.075 + 400 * 0.6) / 1e6);
});

Deno.test("dated snapshots, aliases and the reported model name find the base model's prices", () => {
  assert.equal(findPrices(table, "anthropic/claude-sonnet-4-5-20250929")?.key, "anthropic/claude-sonnet-4-5");
  assert.equal(findPrices(table, "openai/gpt-4o-2024-08-06")?.key, "openai/gpt-4o");
  // A snapshot with prices of its own is not its base model: the first GPT-4o kept its launch price.
  const may = usage("openai/gpt-4o-2024-05-13", { input_tokens: 1_000_000, output_tokens: 1_000_000 });
  assert.equal(priceCall(table, may).price_key, "openai/gpt-4o-2024-05-13");
  close(priceCall(table, may).cost_usd, 20);
  assert.equal(findPrices(table, "anthropic/claude-3-5-haiku-latest")?.key, "anthropic/claude-3-5-haiku");
  assert.equal(findPrices(table, "anthropic/claude-3-7-sonnet-latest")?.key, "anthropic/claude-3-7-sonnet");
  assert.equal(findPrices(table, "anthropic/claude-3-5-sonnet-latest")?.key, "anthropic/claude-3-5-sonnet");
  assert.equal(findPrices(table, "openrouter/anthropic/claude-3.5-sonnet")?.key, "anthropic/claude-3-5-sonnet");
  assert.equal(findPrices(table, "anthropic/claude-3-7-sonnet-20250219")?.key, "anthropic/claude-3-7-sonnet");
  assert.equal(findPrices(table, "openrouter/openai/gpt-4o-mini")?.key, "openai/gpt-4o-mini");
  const viaReported = usage("anthropic/latest-best", {
    input_tokens: 1000,
    response_model: "claude-haiku-4-5-20251001",
  });
  assert.equal(priceCall(table, viaReported).price_key, "anthropic/claude-haiku-4-5");
});

Deno.test("an unknown model is unpriced, never given another model's price; a free model costs exactly 0", () => {
  const unknown = priceCall(table, usage("anthropic/claude-sonnet-9", { input_tokens: 1000 }));
  assert.deepEqual(unknown, { cost_usd: null, reported_cost_usd: null, price_key: null });
  assert.equal(findPrices(table, "openai/gpt-4o-mini-transcribe")?.key, undefined);
  const free = priceCall(table, usage("ollama/llama3.2", { input_tokens: 5000, output_tokens: 100 }));
  assert.deepEqual(free, { cost_usd: 0, reported_cost_usd: null, price_key: "ollama/*" });
});

Deno.test("a call whose usage is missing has no cost, not $0, at any price; its price's key is still found", () => {
  const silent = usage("openai/gpt-4o", { usage_missing: true });
  assert.deepEqual(priceCall(table, silent), { cost_usd: null, reported_cost_usd: null, price_key: "openai/gpt-4o" });
  // Cut off in flight after some tokens were reported: what it was billed is still unknown.
  const cut = usage("ollama/llama3.2", { input_tokens: 500, usage_missing: true });
  assert.deepEqual(priceCall(table, cut), { cost_usd: null, reported_cost_usd: null, price_key: "ollama/*" });
  // Without a table nothing is priced; a reported cost is kept only with usage.
  const reported = usage("openai/gpt-4o", { input_tokens: 10, reported_cost_usd: 0.5 });
  assert.deepEqual(priceCall(undefined, reported), { cost_usd: null, reported_cost_usd: 0.5, price_key: null });
});

Deno.test("a provider-reported cost is kept beside the computed one", () => {
  const u = usage("openai/gpt-4o-mini", { input_tokens: 1000, reported_cost_usd: 0.0042 });
  assert.deepEqual(priceCall(table, u), {
    cost_usd: 0.00015,
    reported_cost_usd: 0.0042,
    price_key: "openai/gpt-4o-mini",
  });
});

Deno.test("costs are rounded to 1e-10 USD, never coarser", () => {
  const u = usage("openai/gpt-5-nano", { input_tokens: 1 });
  assert.equal(priceCall(table, u).cost_usd, 5e-8);
  assert.equal(roundUsd(0.123456789012345), 0.123456789);
  assert.equal(costOfUsage({ input: 0.001, output: 0 }, usage("x/y", { input_tokens: 1 })), 1e-9);
});

function withHome(files: Record<string, string>, fn: (home: string) => Promise<void>) {
  const home = mkdtempSync(join(tmpdir(), "pflow-pricing-"));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(home, name), text);
  return fn(home).finally(() => rmSync(home, { recursive: true, force: true }));
}

Deno.test("PFLOW_HOME/pricing.yaml overrides field by field; --price-table merges over both", async () => {
  await withHome({
    "pricing.yaml":
      "models:\n  anthropic/claude-haiku-4-5:\n    output: 4.5\n  local/m:\n    input: 0\n    output: 0\n",
    "run.yaml": "version: run-1\nmodels:\n  anthropic/claude-haiku-4-5:\n    input: 0.9\n",
  }, async (home) => {
    const merged = await loadPriceTable({ home });
    const haiku = merged.models["anthropic/claude-haiku-4-5"];
    assert.equal(haiku.input, 1);
    assert.equal(haiku.output, 4.5);
    assert.equal(haiku.cache_read, 0.1);
    assert.equal(merged.sources["anthropic/claude-haiku-4-5"].output, join(home, "pricing.yaml"));
    assert.equal(merged.sources["anthropic/claude-haiku-4-5"].input, "builtin");
    assert.equal(merged.source, `builtin + ${join(home, "pricing.yaml")}`);
    assert.equal(merged.version, "2025-11-15");
    assert.equal(priceCall(merged, usage("local/m", { input_tokens: 10 })).cost_usd, 0);
    const run = await loadPriceTable({ home, priceTable: join(home, "run.yaml") });
    assert.equal(run.models["anthropic/claude-haiku-4-5"].input, 0.9);
    assert.equal(run.models["anthropic/claude-haiku-4-5"].output, 4.5);
    assert.equal(run.version, "run-1");
  });
});

async function problemOf(text: string): Promise<string> {
  try {
    await parsePriceFile(text, "prices.yaml");
  } catch (error) {
    assert.ok(error instanceof ValidationError);
    return error.message;
  }
  throw new Error("expected a validation error");
}

Deno.test("bad price files: each problem names the file and line", async () => {
  assert.match(await problemOf("models:\n  a/b: {input: 1\n"), /^prices\.yaml:\d+:\d+: YAML syntax: /);
  assert.equal(
    await problemOf("models:\n  a/b:\n    input: &base 2\n    output: *base\n"),
    "prices.yaml:4:13: YAML aliases (*base) are not read in a price table; write the value out",
  );
  assert.equal(
    await problemOf(
      "models:\n  a/b:\n    input: 1\n    output: 1\n    tiers:\n      - {above_input_tokens: -5, input: 2}\n",
    ),
    "prices.yaml:6:30: 'above_input_tokens' of a tier of 'a/b' must be a positive whole number",
  );
  assert.equal(
    await problemOf("models:\n  a/b:\n    input: -1\n    output: 1\n"),
    "prices.yaml:3:12: 'input' of 'a/b' must not be negative, got -1",
  );
  assert.equal(
    await problemOf("models:\n  a/b:\n    input: cheap\n    output: 1\n"),
    "prices.yaml:3:12: 'input' of 'a/b' must be a number (USD per million tokens), got \"cheap\"",
  );
  assert.match(
    await problemOf("models:\n  a/b:\n    input: 1\n    outptu: 1\n"),
    /^prices\.yaml:4:5: unknown field 'outptu' in model 'a\/b' \(did you mean 'output'\?\)/,
  );
  assert.match(
    await problemOf("models:\n  a/b:\n    input: 1\n    output: 1\n    tiers:\n      - input: 2\n"),
    /^prices\.yaml:6:9: a tier of 'a\/b' has no 'above_input_tokens' threshold/,
  );
  assert.match(
    await problemOf("modles: {}\n"),
    /^prices\.yaml:1:1: unknown field 'modles' \(did you mean 'models'\?\)/,
  );
  assert.match(await problemOf("currency: EUR\n"), /currency' must be USD/);
  assert.match(await problemOf("models:\n  nomodelslash: {input: 1, output: 1}\n"), /must be provider\/model/);
});

Deno.test("a price file's version is the text written: an unquoted 1.10 is 1.10, 0x10 is 0x10", async () => {
  const cases: [string, string][] = [
    ["1.10", "1.10"],
    ["0x10", "0x10"],
    ["1e3", "1e3"],
    ["007", "007"],
    ["2.0 # a comment", "2.0"],
    ["2025-11-15", "2025-11-15"],
    ['"1.10"', "1.10"],
    ["!!str 1.10", "1.10"],
  ];
  for (const [written, version] of cases) {
    assert.equal((await parsePriceFile(`version: ${written}\n`, "prices.yaml")).version, version, written);
  }
  assert.equal(await problemOf("version: true\n"), "prices.yaml:1:10: 'version' must be a string like \"2025-11-15\"");
});

Deno.test("a model without input or output price after merging is an error naming the file", async () => {
  await withHome({ "pricing.yaml": "models:\n  new/model:\n    input: 1\n" }, async (home) => {
    await assert.rejects(
      loadPriceTable({ home }),
      /pricing\.yaml:2:3: model 'new\/model' has no 'output' price; set it/,
    );
  });
  await assert.rejects(loadPriceTable({ priceTable: "/nonexistent/prices.yaml" }), /price table not found/);
});

Deno.test("the shipped table matches the published prices it was filled from", () => {
  const expect: Record<string, [number, number, number?, number?, number?]> = {
    "anthropic/claude-opus-4-5": [5, 25, 0.5, 6.25, 10],
    "anthropic/claude-opus-4-1": [15, 75, 1.5, 18.75, 30],
    "anthropic/claude-sonnet-4-5": [3, 15, 0.3, 3.75, 6],
    "anthropic/claude-haiku-4-5": [1, 5, 0.1, 1.25, 2],
    "anthropic/claude-3-5-haiku": [0.8, 4, 0.08, 1, 1.6],
    "anthropic/claude-3-haiku": [0.25, 1.25, 0.03, 0.3, 0.5],
    "openai/gpt-5": [1.25, 10, 0.125],
    "openai/gpt-4.1-mini": [0.4, 1.6, 0.1],
    "openai/gpt-4o-mini": [0.15, 0.6, 0.075],
    "openai/o4-mini": [1.1, 4.4, 0.275],
    "google/gemini-2.5-flash": [0.3, 2.5, 0.03],
  };
  for (const [model, [input, output, read, w5, w1]] of Object.entries(expect)) {
    const m = table.models[model];
    assert.deepEqual([m.input, m.output, m.cache_read, m.cache_write_5m, m.cache_write_1h], [
      input,
      output,
      read,
      w5,
      w1,
    ], model);
  }
  assert.equal(table.models["google/gemini-2.5-pro"].tiers?.[0].input, 2.5);
});

Deno.test("every shipped model is priced under its OpenRouter name (dotted version: claude-opus-4-1 → claude-opus-4.1)", () => {
  const missing: string[] = [];
  for (const key of Object.keys(table.models)) {
    if (key.endsWith("/*")) continue;
    // Anthropic writes versions with a dash (claude-3-7-sonnet, claude-opus-4-1); OpenRouter with a dot.
    const dotted = key.replace(/-(\d)-(\d)(?=-|$)/, "-$1.$2");
    const match = findPrices(table, `openrouter/${dotted}`);
    if (match?.key !== key) missing.push(`${key}: openrouter/${dotted} → ${match?.key ?? "unpriced"}`);
  }
  assert.deepEqual(missing, []);
  assert.equal(findPrices(table, "openrouter/anthropic/claude-opus-4.1")?.key, "anthropic/claude-opus-4-1");
});
