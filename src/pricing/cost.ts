/**
 * The cost of one LLM call: find the model's prices (aliases, dated
 * snapshots, provider wildcards) and apply the billing rules to the
 * normalized usage.
 * @module
 */
import type { LlmUsage } from "../llm/types.ts";
import type { ModelPrices, Prices, PriceTable } from "./table.ts";

/** The price entry a model id resolved to. */
export interface PriceMatch {
  /** The table key that matched. */
  key: string;
  /** Its prices. */
  prices: ModelPrices;
}

const DATE_SUFFIX = /-(?:\d{8}|\d{4}-\d{2}-\d{2})$/;

/** `name` without a dated snapshot suffix (`-20250929`, `-2025-09-29`). */
export function undatedModel(name: string): string {
  return name.replace(DATE_SUFFIX, "");
}

/**
 * The names a model id is priced under, in the order they are tried: itself, undated, and an
 * OpenRouter-style route's `vendor/model` (dated and undated). Duplicates are left in.
 */
export function modelNameForms(modelId: string): string[] {
  const forms = [modelId, undatedModel(modelId)];
  const rest = modelId.slice(modelId.indexOf("/") + 1);
  if (rest.includes("/")) forms.push(rest, undatedModel(rest));
  return forms;
}

/**
 * Finds the prices of `modelId` (`provider/model`): by key, by alias, with a
 * dated snapshot suffix removed, through an OpenRouter-style route
 * (`openrouter/vendor/model` → `vendor/model`), or by a `provider/*` entry.
 * Undefined means unpriced: never another model's price.
 */
export function findPrices(table: PriceTable, modelId: string): PriceMatch | undefined {
  const slash = modelId.indexOf("/");
  for (const candidate of new Set(modelNameForms(modelId))) {
    const direct = table.models[candidate];
    if (direct !== undefined) return { key: candidate, prices: direct };
    for (const [key, entry] of Object.entries(table.models)) {
      if (entry.aliases?.includes(candidate)) return { key, prices: entry };
    }
  }
  const wildcard = `${modelId.slice(0, slash)}/*`;
  const entry = table.models[wildcard];
  return entry ? { key: wildcard, prices: entry } : undefined;
}

/** Total input of one request: uncached + cache read + cache write. */
export function totalInputTokens(usage: LlmUsage): number {
  return usage.input_tokens + usage.cache_read_tokens + usage.cache_write_tokens;
}

/** The prices that apply to one request: the highest tier whose threshold it exceeds, else the base. */
export function pricesFor(entry: ModelPrices, usage: LlmUsage): Prices {
  const total = totalInputTokens(usage);
  let applied: Prices = entry;
  for (const tier of entry.tiers ?? []) {
    if (total > tier.above_input_tokens) applied = { ...entry, ...tier } as Prices;
  }
  return applied;
}

/** Token counts priced apart: uncached input, cache reads, 5-minute and 1-hour cache writes, output. */
export interface PricedTokens {
  input_tokens: number;
  cache_read_tokens: number;
  cache_write_5m_tokens: number;
  cache_write_1h_tokens: number;
  output_tokens: number;
}

/**
 * The cost in USD (unrounded) of `tokens` at the prices `p` (one request's, or a sum of requests
 * that share one price class): each kind of token at its own price, a missing cache price
 * falling back as the table documents (reasoning tokens are inside output already).
 */
export function costAtPrices(p: Prices, tokens: PricedTokens): number {
  const cacheRead = p.cache_read ?? p.input;
  const write5m = p.cache_write_5m ?? p.input;
  const write1h = p.cache_write_1h ?? write5m;
  const micros = tokens.input_tokens * p.input +
    tokens.cache_read_tokens * cacheRead +
    tokens.cache_write_5m_tokens * write5m +
    tokens.cache_write_1h_tokens * write1h +
    tokens.output_tokens * p.output;
  return micros / 1_000_000;
}

/**
 * The cost of one call in USD, rounded to 1e-10: {@link costAtPrices} at the prices of its
 * request class (see {@link pricesFor}).
 */
export function costOfUsage(entry: ModelPrices, usage: LlmUsage): number {
  // Writes the provider did not split are 5-minute writes.
  const unsplit = Math.max(0, usage.cache_write_tokens - usage.cache_write_5m_tokens - usage.cache_write_1h_tokens);
  return roundUsd(costAtPrices(pricesFor(entry, usage), {
    ...usage,
    cache_write_5m_tokens: usage.cache_write_5m_tokens + unsplit,
  }));
}

/** Rounds a USD amount to 1e-10 (never coarser). */
export function roundUsd(value: number): number {
  return Math.round(value * 1e10) / 1e10;
}

/** How one call was priced. */
export interface CallCost {
  /** Computed cost, or null when it is unknown: the model is unpriced, or the call's usage is missing. */
  cost_usd: number | null;
  /** The cost the provider reported itself, when it did (never for a call whose usage is missing). */
  reported_cost_usd: number | null;
  /** The table key that priced it (or would have, for a call whose usage is missing), or null. */
  price_key: string | null;
}

/** Whether a call's usage is known to be nothing at all: reported (not missing) and every count 0. */
export function usageIsZero(usage: LlmUsage): boolean {
  return usage.usage_missing !== true && totalInputTokens(usage) === 0 && usage.output_tokens === 0;
}

/**
 * Prices one call (no table: nothing is priced); the model id as requested is tried first, then the
 * one the provider reported. A call whose usage is missing (`usage_missing`) has no cost, not $0: its zero counts are unknown, not
 * measured; its price's key is still given. A call whose usage is known to be zero (a request the provider
 * rejected) costs $0 whatever the model's price, even without one: no token was billed.
 */
export function priceCall(table: PriceTable | undefined, usage: LlmUsage): CallCost {
  let match = table === undefined ? undefined : findPrices(table, usage.model);
  if (table !== undefined && match === undefined && usage.response_model) {
    match = findPrices(table, `${usage.provider}/${usage.response_model}`);
  }
  const known = usage.usage_missing !== true;
  const free = table !== undefined && match === undefined && usageIsZero(usage);
  return {
    cost_usd: match && known ? costOfUsage(match.prices, usage) : free ? 0 : null,
    reported_cost_usd: known ? usage.reported_cost_usd ?? null : null,
    price_key: match?.key ?? null,
  };
}
