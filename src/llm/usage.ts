/**
 * Normalization of providers' raw usage objects into non-overlapping token
 * counts (see {@link LlmUsage}). Pure functions, no SDK.
 *
 * - Anthropic Messages: `input_tokens` is already uncached;
 *   `cache_read_input_tokens` are reads; `cache_creation_input_tokens` are
 *   writes, split by `cache_creation.ephemeral_5m_input_tokens` /
 *   `ephemeral_1h_input_tokens` when present (all 5-minute otherwise);
 *   `output_tokens` includes thinking.
 * - OpenAI Chat Completions: `prompt_tokens` includes
 *   `prompt_tokens_details.cached_tokens` (and, on OpenRouter,
 *   `prompt_tokens_details.cache_write_tokens`), so they are subtracted;
 *   `completion_tokens` includes `completion_tokens_details.reasoning_tokens`;
 *   OpenRouter's `usage.cost` is the billed USD.
 * - Gemini `usageMetadata`: `promptTokenCount` includes
 *   `cachedContentTokenCount` (subtracted); thinking
 *   (`thoughtsTokenCount`) is billed as output but reported beside
 *   `candidatesTokenCount`, so output = candidates + thoughts.
 * @module
 */

import type { LlmUsage } from "./types.ts";

/** The token counts of one call, normalized (fields never overlap). */
export type UsageTokens = Pick<
  LlmUsage,
  | "input_tokens"
  | "cache_read_tokens"
  | "cache_write_tokens"
  | "cache_write_5m_tokens"
  | "cache_write_1h_tokens"
  | "output_tokens"
  | "reasoning_tokens"
  | "reported_cost_usd"
>;

/** Which usage dialect a raw usage object is in. */
export type UsageDialect = "anthropic" | "openai" | "google";

/** All-zero counts (a call whose provider reported no usage). */
export function emptyUsageTokens(): UsageTokens {
  return {
    input_tokens: 0,
    cache_read_tokens: 0,
    cache_write_tokens: 0,
    cache_write_5m_tokens: 0,
    cache_write_1h_tokens: 0,
    output_tokens: 0,
    reasoning_tokens: 0,
  };
}

/**
 * Normalizes an Anthropic Messages `usage` object.
 * @param raw the `usage` of a message (or the merged stream usage)
 * @returns normalized counts; missing fields count as 0
 */
export function normalizeAnthropicUsage(raw: unknown): UsageTokens {
  const usage = asRecord(raw);
  const split = asRecord(usage.cache_creation);
  const reported = count(usage.cache_creation_input_tokens);
  const split5m = count(split.ephemeral_5m_input_tokens);
  const split1h = count(split.ephemeral_1h_input_tokens);
  // The split, when present, details the total; should they disagree, the
  // larger total wins and the remainder counts as 5-minute (the default TTL).
  const writes = Math.max(reported, split5m + split1h);
  const output = count(usage.output_tokens);
  return {
    input_tokens: count(usage.input_tokens),
    cache_read_tokens: count(usage.cache_read_input_tokens),
    cache_write_tokens: writes,
    cache_write_5m_tokens: writes - split1h,
    cache_write_1h_tokens: split1h,
    output_tokens: output,
    reasoning_tokens: Math.min(
      output,
      count(asRecord(usage.output_tokens_details).thinking_tokens),
    ),
  };
}

/**
 * Normalizes an OpenAI Chat Completions `usage` object (also OpenRouter's and
 * other OpenAI-compatible servers').
 * @param raw the `usage` of a completion or of the final stream chunk
 * @returns normalized counts; missing fields count as 0
 */
export function normalizeOpenAiUsage(raw: unknown): UsageTokens {
  const usage = asRecord(raw);
  const promptDetails = asRecord(usage.prompt_tokens_details);
  const completionDetails = asRecord(usage.completion_tokens_details);
  const prompt = count(usage.prompt_tokens);
  // DeepSeek-style servers report cache hits at the top level instead.
  const cached = Math.min(
    prompt,
    count(promptDetails.cached_tokens ?? usage.prompt_cache_hit_tokens),
  );
  const written = Math.min(
    prompt - cached,
    count(promptDetails.cache_write_tokens),
  );
  const output = count(usage.completion_tokens);
  const tokens: UsageTokens = {
    input_tokens: prompt - cached - written,
    cache_read_tokens: cached,
    cache_write_tokens: written,
    cache_write_5m_tokens: written,
    cache_write_1h_tokens: 0,
    output_tokens: output,
    reasoning_tokens: Math.min(
      output,
      count(completionDetails.reasoning_tokens),
    ),
  };
  if (typeof usage.cost === "number" && Number.isFinite(usage.cost)) {
    tokens.reported_cost_usd = usage.cost;
  }
  return tokens;
}

/**
 * Normalizes a Gemini `usageMetadata` object.
 * @param raw the `usageMetadata` of a response (or of the last stream chunk)
 * @returns normalized counts; missing fields count as 0
 */
export function normalizeGoogleUsage(raw: unknown): UsageTokens {
  const usage = asRecord(raw);
  const prompt = count(usage.promptTokenCount) + count(usage.toolUsePromptTokenCount);
  const cached = Math.min(prompt, count(usage.cachedContentTokenCount));
  const thoughts = count(usage.thoughtsTokenCount);
  return {
    input_tokens: prompt - cached,
    cache_read_tokens: cached,
    cache_write_tokens: 0,
    cache_write_5m_tokens: 0,
    cache_write_1h_tokens: 0,
    output_tokens: count(usage.candidatesTokenCount) + thoughts,
    reasoning_tokens: thoughts,
  };
}

/** The counts each dialect's usage is read from (a path of fields; the first ones are always sent). */
const COUNT_FIELDS: Record<UsageDialect, { required: number; paths: string[][] }> = {
  anthropic: {
    required: 2,
    paths: [
      ["input_tokens"],
      ["output_tokens"],
      ["cache_read_input_tokens"],
      ["cache_creation_input_tokens"],
      ["cache_creation", "ephemeral_5m_input_tokens"],
      ["cache_creation", "ephemeral_1h_input_tokens"],
      ["output_tokens_details", "thinking_tokens"],
    ],
  },
  openai: {
    required: 2,
    paths: [
      ["prompt_tokens"],
      ["completion_tokens"],
      ["prompt_tokens_details", "cached_tokens"],
      ["prompt_cache_hit_tokens"],
      ["prompt_tokens_details", "cache_write_tokens"],
      ["completion_tokens_details", "reasoning_tokens"],
    ],
  },
  google: {
    required: 1,
    paths: [
      ["promptTokenCount"],
      ["toolUsePromptTokenCount"],
      ["cachedContentTokenCount"],
      ["thoughtsTokenCount"],
      ["candidatesTokenCount"],
    ],
  },
};

/**
 * Whether a usage object leaves out a count its protocol always sends: Anthropic's `input_tokens` and
 * `output_tokens`, OpenAI's `prompt_tokens` and `completion_tokens`, Gemini's `promptTokenCount` (its
 * other counts follow proto3's JSON rule: a count of 0 is left out). Such counts are unknown, not 0. So are
 * those of a usage object that reports a count too large to be one: 2^53 or more, which no number holds
 * exactly (and no request has), so its usage is unknown rather than a figure no total or ledger can hold.
 */
export function usageCountsLeftOut(raw: unknown, dialect: UsageDialect): boolean {
  const usage = asRecord(raw);
  const { required, paths } = COUNT_FIELDS[dialect];
  return paths.some((path, i) => {
    let value: unknown = usage;
    for (const key of path) value = asRecord(value)[key];
    return (i < required && typeof value !== "number") || (typeof value === "number" && value > MAX_COUNT);
  });
}

/**
 * Normalizes a raw usage object of the given dialect; `null`/`undefined`
 * (no usage reported) yields zeros.
 */
export function normalizeUsage(
  raw: unknown,
  dialect: UsageDialect,
): UsageTokens {
  if (raw == null) return emptyUsageTokens();
  if (dialect === "anthropic") return normalizeAnthropicUsage(raw);
  return dialect === "google" ? normalizeGoogleUsage(raw) : normalizeOpenAiUsage(raw);
}

/**
 * Folds the raw events of an Anthropic Messages stream into the final usage
 * object: `message_start.message.usage` gives the input side (and a
 * provisional `output_tokens`), each `message_delta.usage` carries cumulative
 * values (`output_tokens`, and possibly updated input/cache fields). The
 * counts only grow during a stream, so each keeps the largest value seen: a
 * delta that reports `input_tokens: 0` (sglang, some gateways) or null does not
 * erase what `message_start` reported.
 * @param events parsed SSE `data` objects in stream order (others are ignored)
 * @returns the merged raw usage, or null when no event carried usage
 */
export function mergeAnthropicStreamUsage(
  events: readonly unknown[],
): Record<string, unknown> | null {
  let merged: Record<string, unknown> | null = null;
  for (const event of events) {
    const record = asRecord(event);
    const usage = record.type === "message_start"
      ? asRecord(asRecord(record.message).usage)
      : record.type === "message_delta"
      ? asRecord(record.usage)
      : null;
    if (!usage) continue;
    merged = mergeCounts(merged ?? {}, usage);
  }
  return merged;
}

/** `into` updated by `update`: numbers keep the larger, objects merge field by field, nulls erase nothing. */
function mergeCounts(into: Record<string, unknown>, update: Record<string, unknown>): Record<string, unknown> {
  for (const [key, value] of Object.entries(update)) {
    if (value === null || value === undefined) continue;
    const known = into[key];
    if (typeof value === "number" && typeof known === "number") into[key] = Math.max(known, value);
    else if (isRecord(value) && isRecord(known)) into[key] = mergeCounts({ ...known }, value);
    else into[key] = value;
  }
  return into;
}

/**
 * Finds the usage of an OpenAI Chat Completions stream: the last chunk whose
 * `usage` is an object (sent when `stream_options.include_usage` is set).
 * @param chunks parsed SSE `data` objects in stream order
 * @returns that usage object, or null
 */
export function findOpenAiStreamUsage(
  chunks: readonly unknown[],
): Record<string, unknown> | null {
  for (let i = chunks.length - 1; i >= 0; i--) {
    const usage = asRecord(chunks[i]).usage;
    if (usage !== null && typeof usage === "object" && !Array.isArray(usage)) {
      return usage as Record<string, unknown>;
    }
  }
  return null;
}

/**
 * Finds the usage of a Gemini stream: the last chunk's `usageMetadata`
 * (each chunk carries the running totals).
 * @param chunks parsed SSE `data` objects in stream order
 * @returns that usage object, or null
 */
export function findGoogleStreamUsage(
  chunks: readonly unknown[],
): Record<string, unknown> | null {
  for (let i = chunks.length - 1; i >= 0; i--) {
    const usage = asRecord(chunks[i]).usageMetadata;
    if (usage !== null && typeof usage === "object" && !Array.isArray(usage)) {
      return usage as Record<string, unknown>;
    }
  }
  return null;
}

/** The largest token count taken as one: the largest integer a number holds exactly. */
const MAX_COUNT = Number.MAX_SAFE_INTEGER;

/**
 * A non-negative integer from a raw field; anything else counts as 0, a count above {@link MAX_COUNT} too
 * ({@link usageCountsLeftOut} then says the usage is unknown).
 */
function count(value: unknown): number {
  return typeof value === "number" && Number.isFinite(value) && value > 0 && value <= MAX_COUNT ? Math.round(value) : 0;
}

function asRecord(value: unknown): Record<string, unknown> {
  return isRecord(value) ? value : {};
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}
