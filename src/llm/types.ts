/**
 * Shared types of the LLM layer: the request pflow sends and the normalized
 * usage record every call yields, whatever the provider.
 * @module
 */
import type { LossyNumber } from "../util/json_numbers.ts";

/** One turn of a conversation. */
export interface LlmMessage {
  /** Who said it. */
  role: "user" | "assistant";
  /** What was said (plain text). */
  content: string;
}

/** Prompt caching: `true` and `"5m"` are Anthropic's default 5-minute lifetime, `"1h"` the 1-hour one. */
export type LlmCacheSetting = boolean | "5m" | "1h";

/** OpenAI reasoning effort. */
export type ReasoningEffort = "minimal" | "low" | "medium" | "high";

/** One model call as the `llm` node, the planner or a library user asks for it. */
export interface LlmRequest {
  /** Model id `provider/model`, e.g. `anthropic/claude-sonnet-4-5`; aliases (`anthropic/sonnet`) resolve first. */
  model: string;
  /** The user message; exactly one of `prompt` and `messages`. */
  prompt?: string;
  /** A multi-turn conversation ending with a user turn; exactly one of `prompt` and `messages`. */
  messages?: LlmMessage[];
  /** Optional system prompt. */
  system?: string;
  /**
   * Prompt caching. Anthropic: `cache_control` on the system prompt and on the
   * stable prefix of the messages (`ttl: "1h"` for `"1h"`); OpenAI caches
   * automatically (nothing is sent); other providers ignore it.
   */
  cache?: LlmCacheSetting;
  /** A JSON Schema (object): ask for structured output; the reply is parsed into `LlmResponse.object`. */
  schema?: Record<string, unknown>;
  /** Name of the structured output (tool / `json_schema` name), default `response`. */
  schemaName?: string;
  /** Extended thinking budget in tokens (Anthropic, min 1024; Google `thinkingBudget`). */
  thinking?: number;
  /** Reasoning effort of OpenAI reasoning models (and OpenAI-compatible servers). */
  reasoningEffort?: ReasoningEffort;
  /** Sampling temperature. */
  temperature?: number;
  /** Upper bound on output tokens. */
  maxTokens?: number;
  /** Stream the response (records time to first token). */
  stream?: boolean;
  /** Aborts the call (run cancellation). */
  signal?: AbortSignal;
  /** Per-call timeout in milliseconds (default 120000). */
  timeoutMs?: number;
  /** Retries on 429/5xx/timeouts (default 2). */
  maxRetries?: number;
}

/**
 * The normalized usage of one call. Token fields never overlap:
 * `input_tokens` excludes cached tokens on every provider, and
 * `reasoning_tokens` is a part of `output_tokens`, never added to it.
 */
export interface LlmUsage {
  /** Provider name as in the model id (`anthropic`, `openai`, a configured name). */
  provider: string;
  /** Model id as requested, with provider prefix. */
  model: string;
  /** Model name as the provider reported it, or null. */
  response_model: string | null;
  /** Uncached input tokens. */
  input_tokens: number;
  /** Input tokens read from the prompt cache. */
  cache_read_tokens: number;
  /** Input tokens written to the cache (5m + 1h). */
  cache_write_tokens: number;
  /** Cache writes with 5-minute lifetime (all writes when the provider does not split). */
  cache_write_5m_tokens: number;
  /** Cache writes with 1-hour lifetime. */
  cache_write_1h_tokens: number;
  /** Output tokens, reasoning included. */
  output_tokens: number;
  /** Reasoning/thinking tokens (already inside output_tokens). */
  reasoning_tokens: number;
  /** Provider request id (response header or body id), or null. */
  request_id: string | null;
  /** The completion's id from the response body (`chatcmpl-…`, `msg_…`, Gemini's `responseId`), or null. */
  response_id?: string | null;
  /** Wall time of this attempt in ms (retry waits and earlier attempts are not included). */
  duration_ms: number;
  /** Cost the provider billed itself (e.g. OpenRouter `usage.cost`), when reported. */
  reported_cost_usd?: number;
  /** The provider's usage object exactly as received. */
  raw: unknown;
  /**
   * Set when the provider reported no usage, or not its final usage (a stream cut off partway: the counts are
   * those reported so far): the token counts are unknown (not zero) and the call cannot be priced.
   */
  usage_missing?: true;
}

/** Anthropic's cache marker as sent. */
export interface CacheControl {
  /** Always `ephemeral`. */
  type: "ephemeral";
  /** Present for the 1-hour lifetime. */
  ttl?: "1h";
}

/** One message as sent, with its cache marker when it carries one. */
export interface SentMessage {
  /** `user` or `assistant`. */
  role: string;
  /** The text. */
  content: string;
  /** Anthropic `cache_control` on this message (the end of a cached prefix). */
  cache_control?: CacheControl;
}

/** What was sent to the provider, for traces: the prompt and every option that shaped the request. */
export interface SentRequest {
  /** The canonical model id the provider received (aliases resolved). */
  model?: string;
  /** The system prompt. */
  system?: string;
  /** Anthropic `cache_control` on the system prompt. */
  system_cache_control?: CacheControl;
  /** The messages in order. */
  messages: SentMessage[];
  /** Upper bound on output tokens as passed (thinking included for Anthropic). */
  max_tokens?: number;
  /** Sampling temperature. */
  temperature?: number;
  /** Anthropic extended thinking / Google thinking budget. */
  thinking?: { budget_tokens: number };
  /** OpenAI reasoning effort. */
  reasoning_effort?: ReasoningEffort;
  /**
   * Structured output: the schema and how the provider was asked for it
   * (`output_format`: Anthropic `output_config.format`; `tool`: a forced
   * Anthropic tool; `json_schema` / `json_object`: OpenAI `response_format`;
   * `response_schema`: Gemini; `prompt`: the request carries no schema field).
   */
  schema?: {
    name: string;
    mode: string;
    /** The schema as sent (an array schema wrapped in an object for OpenAI and Anthropic). */
    schema: Record<string, unknown>;
    /** Set when an array schema was sent wrapped: the property of the reply that holds the array. */
    wrapped?: string;
  };
  /** Set when `cache` was asked for but the provider caches on its own (`automatic`) or not at all (`ignored`). */
  cache?: "automatic" | "ignored";
}

/** The outcome of one successful call. */
export interface LlmResponse {
  /** The response text (for structured output, the JSON text the model produced). */
  text: string;
  /** The parsed and validated structured output, when `schema` was given. */
  object?: unknown;
  /** Thinking / reasoning text the provider returned, when any. */
  thinking?: string;
  /** Why generation stopped (`stop`, `length`, `content-filter`, ...). */
  finish_reason: string;
  /** The provider's own finish reason (`end_turn`, `max_tokens`, `SAFETY`, `content_filter`…), when it sent one. */
  raw_finish_reason?: string;
  /** Normalized usage. */
  usage: LlmUsage;
  /** What was sent: prompt, cache markers, thinking, schema. */
  request: SentRequest;
  /** Earlier attempts of this call that failed and were retried (oldest first), when any. */
  failedAttempts?: LlmFailedAttempt[];
  /** `performance.now()` when the successful attempt started (its `usage.duration_ms` counts from here). */
  startedAt?: number;
  /** Time to first text token in ms, streaming only. */
  time_to_first_token_ms?: number;
  /** Warnings of the SDK about the call (e.g. an unsupported setting), when any. */
  warnings?: string[];
  /**
   * Numbers the structured reply writes that `object` does not hold exactly (an id beyond 2^53 reads
   * rounded), when any.
   */
  lossyNumbers?: LossyNumbers;
}

/** Numbers of JSON text that the value parsed from it does not hold exactly. */
export interface LossyNumbers {
  /** The first few, located (see `parseJsonNoting`). */
  numbers: LossyNumber[];
  /** How many there were in all. */
  count: number;
}

/** One HTTP attempt of a call that failed (and may have been retried). */
export interface LlmFailedAttempt {
  /** Usage the attempt reported before it failed (zeros when none; `usage_missing` set). */
  usage: LlmUsage;
  /** What failed: error class name and one-line message. */
  error: { type: string; message: string };
  /** HTTP status, or null (network error, timeout, broken stream). */
  status: number | null;
  /** Start of the attempt, `performance.now()`. */
  startedAt: number;
  /** What the attempt sent. */
  request?: SentRequest;
}

/** Settings that influence model selection (from PFLOW_HOME/settings.json). */
export interface LlmSettings {
  /** Default model id when a node sets none. */
  default_model?: string;
  /** Extra OpenAI-compatible providers by name. */
  providers?: Record<string, ProviderSettings>;
}

/** One configured OpenAI-compatible provider. */
export interface ProviderSettings {
  /** Base URL including `/v1`, e.g. `http://127.0.0.1:11434/v1`. */
  base_url: string;
  /** Name of the env var holding its API key; omit for keyless local servers. */
  api_key_env?: string;
}
