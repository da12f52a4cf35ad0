/**
 * Shared types of the LLM layer: the request pflow sends and the normalized
 * usage record every call yields, whatever the provider.
 * @module
 */

/** One model call as the `llm` node asks for it. */
export interface LlmRequest {
  /** Model id `provider/model`, e.g. `anthropic/claude-sonnet-4-5`. */
  model: string;
  /** The user message. */
  prompt: string;
  /** Optional system prompt. */
  system?: string;
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
  /** Wall time of the call, retries included, in ms. */
  duration_ms: number;
  /** Cost the provider billed itself (e.g. OpenRouter `usage.cost`), when reported. */
  reported_cost_usd?: number;
  /** The provider's usage object exactly as received. */
  raw: unknown;
}

/** The outcome of one successful call. */
export interface LlmResponse {
  /** The response text. */
  text: string;
  /** Why generation stopped (`stop`, `length`, ...). */
  finish_reason: string;
  /** Normalized usage. */
  usage: LlmUsage;
  /** What was sent: system prompt and messages. */
  request: { system?: string; messages: { role: string; content: string }[] };
  /** Time to first text token in ms, streaming only. */
  time_to_first_token_ms?: number;
  /** Warnings of the SDK about the call (e.g. an unsupported setting), when any. */
  warnings?: string[];
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
