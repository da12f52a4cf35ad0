/**
 * `--model ID`: which of the ledger's model ids a query names, matched the
 * way the price table matches: with or without the provider prefix, a
 * dated snapshot (`-20250929`, `-2025-09-29`) as its base model, an
 * OpenRouter-style route (`openrouter/vendor/model`) as `vendor/model`,
 * model aliases (`anthropic/sonnet`) and the price table's aliases
 * (`anthropic/claude-sonnet-4.5`), and `provider/*` for every model of a provider.
 * @module
 */
import { findPrices, modelNameForms, undatedModel } from "../pricing/cost.ts";
import type { PriceTable } from "../pricing/table.ts";
import { canonicalModelId } from "../llm/model_id.ts";

/** The full names a model id answers to (lower case), as the price table matches them. */
function fullForms(id: string): Set<string> {
  return new Set(modelNameForms(id.toLowerCase()));
}

/** The bare model names of an id (without provider or route), dated and undated. */
function bareForms(id: string): Set<string> {
  const name = id.toLowerCase().split("/").pop()!;
  return new Set([name, undatedModel(name)]);
}

/**
 * The ids among `known` that `query` names: by name, and (unless the query
 * is a dated snapshot, which names only itself) the ids priced by the same
 * price-table entry as the query: an alias, and another spelling of the
 * same model (OpenRouter's `anthropic/claude-sonnet-4.5` for
 * `anthropic/claude-sonnet-4-5`). Never through a `provider/*` wildcard,
 * which would match every model of the provider.
 */
export function matchModels(query: string, known: readonly string[], table?: PriceTable): string[] {
  const q = canonicalModelId(query.trim().toLowerCase());
  if (q.endsWith("/*") || q.endsWith("/")) {
    const provider = q.slice(0, q.indexOf("/") + 1);
    return known.filter((id) => id.toLowerCase().startsWith(provider));
  }
  // A query with a provider names that provider's model; a bare name names it at any provider.
  const formsOf = q.includes("/") ? fullForms : bareForms;
  const named = known.filter((id) => formsOf(id).has(q));
  if (table === undefined || undatedModel(q) !== q) return named;
  // The query may also be an alias, or another name of a price-table entry that priced other ids.
  const providers = new Set(known.map((id) => id.split("/")[0]));
  const candidates = q.includes("/") ? [q] : [...providers].map((p) => `${p}/${q}`);
  const keys = new Set(
    candidates.map((c) => findPrices(table, c)?.key).filter((k): k is string => k !== undefined && !k.endsWith("/*")),
  );
  if (keys.size === 0) return named;
  return known.filter((id) => {
    if (named.includes(id)) return true;
    const key = findPrices(table, id)?.key;
    return key !== undefined && keys.has(key);
  });
}
