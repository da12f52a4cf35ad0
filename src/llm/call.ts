/**
 * Makes one model call through the Vercel AI SDK and turns its outcome into
 * an {@link LlmResponse} or an error. Heavy (loads `ai`): `mod.ts` imports it
 * dynamically, only when a call is made.
 *
 * How the raw provider data is obtained from AI SDK v7:
 * - `generateText` with `include: { responseBody: true }`: `response.body` is
 *   the provider's JSON body as received (before schema parsing), so its
 *   `usage`, `id` and `model` are the raw ones; `response.headers` has the
 *   request id header. `usage.raw` is the fallback.
 * - `streamText` with `include: { rawChunks: true }`: `fullStream` yields
 *   `raw` parts carrying every parsed SSE `data` object, from which the
 *   usage is folded (`message_start` + `message_delta` for Anthropic, the
 *   final usage chunk for OpenAI); the `finish-step` part has the response
 *   headers.
 *
 * Retries: the SDK's own `maxRetries` (exponential backoff from 2 s, x2)
 * already honours `retry-after-ms` and `retry-after` (seconds or HTTP date,
 * when within 0-60 s) on retryable `APICallError`s (408, 409, 429, 5xx,
 * network errors), so it is used as is. Timeouts are made retryable by the
 * per-attempt fetch (see `attempt_fetch.ts`).
 * @module
 */

import { APICallError, type CallWarning, generateText, RetryError, StreamProviderError, streamText } from "ai";
import { AttemptTimeoutError, createAttemptFetch } from "./attempt_fetch.ts";
import { LlmAbortError, LlmCallError, redactSecrets } from "./errors.ts";
import type { ResolvedProvider } from "./provider_config.ts";
import { createLanguageModel } from "./providers.ts";
import type { LlmRequest, LlmResponse, LlmUsage } from "./types.ts";
import { findOpenAiStreamUsage, mergeAnthropicStreamUsage, normalizeUsage, type UsageDialect } from "./usage.ts";

/** Default per-attempt timeout in ms. */
export const DEFAULT_TIMEOUT_MS = 120_000;
/** Default number of retries. */
export const DEFAULT_MAX_RETRIES = 2;

/**
 * Calls the model of `request` at `provider`.
 * @param request the call (model id, prompt, limits, signal)
 * @param options the resolved provider and the model name without its prefix
 * @returns text, finish reason and normalized usage
 * @throws {LlmCallError} when the call fails; an `AbortError` when `request.signal` aborts it
 */
export async function callWithSdk(
  request: LlmRequest,
  options: { provider: ResolvedProvider; modelName: string },
): Promise<LlmResponse> {
  const { provider } = options;
  const timeoutMs = request.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const attemptFetch = createAttemptFetch({ timeoutMs });
  const dialect: UsageDialect = provider.kind === "anthropic" ? "anthropic" : "openai";
  const sent: LlmResponse["request"] = {
    ...(request.system !== undefined ? { system: request.system } : {}),
    messages: [{ role: "user", content: request.prompt }],
  };
  const fail = (error: unknown): never => {
    if (request.signal?.aborted) {
      throw new LlmAbortError(`${request.model}: call aborted`, {
        cause: request.signal.reason,
      });
    }
    throw toCallError(error, {
      request,
      provider,
      timeoutMs,
      attempts: attemptFetch.attempts(),
    });
  };
  if (request.signal?.aborted) fail(request.signal.reason);

  // Warnings are returned in the response instead of being logged to the console.
  const globals = globalThis as { AI_SDK_LOG_WARNINGS?: unknown };
  globals.AI_SDK_LOG_WARNINGS ??= false;
  const model = await createLanguageModel(provider, options.modelName, {
    fetch: attemptFetch.fetch,
  });
  const settings = {
    model,
    ...(request.system !== undefined ? { instructions: request.system } : {}),
    prompt: request.prompt,
    ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
    ...(request.maxTokens !== undefined ? { maxOutputTokens: request.maxTokens } : {}),
    maxRetries: request.maxRetries ?? DEFAULT_MAX_RETRIES,
    ...(request.signal ? { abortSignal: request.signal } : {}),
  };
  // Timing starts here: loading the provider package is not part of the call.
  const started = performance.now();
  const usageOf = (
    raw: unknown,
    meta: { headers?: Record<string, string>; id?: unknown; model?: unknown },
  ) =>
    buildUsage(raw, {
      request,
      provider,
      dialect,
      started,
      headers: meta.headers ?? {},
      id: meta.id,
      responseModel: meta.model,
    });

  if (!request.stream) {
    let result;
    try {
      result = await generateText({
        ...settings,
        include: { responseBody: true },
      });
    } catch (error) {
      return fail(error);
    }
    const body = asRecord(result.response.body);
    return {
      text: result.text,
      finish_reason: result.finishReason,
      usage: usageOf(body.usage ?? result.usage.raw ?? null, {
        headers: result.response.headers,
        id: body.id,
        model: body.model,
      }),
      request: sent,
      ...warningsOf(result.warnings),
    };
  }

  const rawEvents: unknown[] = [];
  let text = "";
  let firstTokenAt: number | undefined;
  let finishReason = "other";
  let headers: Record<string, string> | undefined;
  let streamError: unknown;
  let aborted = false;
  let warnings: CallWarning[] | undefined;
  try {
    const result = streamText({
      ...settings,
      include: { rawChunks: true },
      onError: () => {}, // errors are handled below, from the stream's `error` parts
    });
    for await (const part of result.fullStream) {
      switch (part.type) {
        case "raw":
          rawEvents.push(part.rawValue);
          break;
        case "text-delta":
          firstTokenAt ??= performance.now();
          text += part.text;
          break;
        case "finish-step":
          headers = part.response.headers;
          break;
        case "finish":
          finishReason = part.finishReason;
          break;
        case "error":
          streamError ??= part.error;
          break;
        case "abort":
          aborted = true;
          break;
      }
    }
    if (streamError === undefined && !aborted) warnings = await result.warnings;
  } catch (error) {
    return fail(error);
  }
  if (streamError !== undefined || aborted) return fail(streamError);
  const rawUsage = dialect === "anthropic" ? mergeAnthropicStreamUsage(rawEvents) : findOpenAiStreamUsage(rawEvents);
  const meta = streamMetadata(rawEvents, dialect);
  return {
    text,
    finish_reason: finishReason,
    usage: usageOf(rawUsage, { headers, ...meta }),
    request: sent,
    ...(firstTokenAt !== undefined ? { time_to_first_token_ms: round(firstTokenAt - started) } : {}),
    ...warningsOf(warnings),
  };
}

function warningsOf(
  warnings: CallWarning[] | undefined,
): { warnings?: string[] } {
  if (!warnings?.length) return {};
  return {
    warnings: warnings.map((w) =>
      "message" in w && typeof w.message === "string"
        ? w.message
        : `${w.type}${"feature" in w ? ` ${w.feature}` : ""}${"details" in w && w.details ? `: ${w.details}` : ""}`
    ),
  };
}

function buildUsage(
  raw: unknown,
  context: {
    request: LlmRequest;
    provider: ResolvedProvider;
    dialect: UsageDialect;
    started: number;
    headers: Record<string, string>;
    id: unknown;
    responseModel: unknown;
  },
): LlmUsage {
  const headerName = context.dialect === "anthropic" ? "request-id" : "x-request-id";
  const requestId = context.headers[headerName] ?? stringOrNull(context.id);
  return {
    provider: context.provider.name,
    model: context.request.model,
    response_model: stringOrNull(context.responseModel),
    ...normalizeUsage(raw, context.dialect),
    request_id: requestId ?? null,
    duration_ms: round(performance.now() - context.started),
    raw: raw ?? null,
  };
}

/** Message id and reported model from the first stream event carrying them. */
function streamMetadata(
  events: unknown[],
  dialect: UsageDialect,
): { id?: unknown; model?: unknown } {
  for (const event of events) {
    const record = asRecord(event);
    if (dialect === "anthropic") {
      if (record.type === "message_start") {
        const message = asRecord(record.message);
        return { id: message.id, model: message.model };
      }
    } else if (record.id !== undefined || record.model !== undefined) {
      return { id: record.id, model: record.model };
    }
  }
  return {};
}

/** Maps an SDK failure to a one-line, key-free {@link LlmCallError}. */
function toCallError(
  error: unknown,
  context: {
    request: LlmRequest;
    provider: ResolvedProvider;
    timeoutMs: number;
    attempts: number;
  },
): LlmCallError {
  const { request, provider, attempts } = context;
  const last = error instanceof RetryError ? error.lastError : error;
  const details = {
    provider: provider.name,
    model: request.model,
    status: null as number | null,
    retryable: false,
    errorType: null as string | null,
    attempts: Math.max(attempts, 1),
    requestId: null as string | null,
  };
  let reason: string;
  const timeout = findInCauses(last, (e) => e instanceof AttemptTimeoutError) as
    | AttemptTimeoutError
    | undefined;
  if (timeout) {
    reason = `timed out after ${timeout.timeoutMs} ms`;
    details.retryable = true;
  } else if (APICallError.isInstance(last)) {
    details.status = last.statusCode ?? null;
    details.retryable = last.isRetryable;
    details.requestId = last.responseHeaders?.["request-id"] ??
      last.responseHeaders?.["x-request-id"] ?? null;
    if (last.statusCode !== undefined) {
      const parsed = providerError(last.responseBody);
      details.errorType = parsed.type;
      const message = parsed.message ??
        (last.responseBody?.trim() || last.message);
      reason = `HTTP ${last.statusCode}${parsed.type ? ` ${parsed.type}` : ""}: ${message}`;
    } else {
      reason = `cannot reach ${provider.baseURL}: ${causeMessage(last)}`;
    }
  } else if (StreamProviderError.isInstance(last)) {
    // An error event inside a stream that had started (not retried: output was already streaming).
    details.status = last.statusCode ?? null;
    details.retryable = last.isRetryable;
    details.errorType = last.type ??
      (typeof last.code === "string" ? last.code : null);
    reason = `stream error${details.errorType ? ` ${details.errorType}` : ""}: ${last.message}`;
  } else if (last === undefined) {
    reason = "the stream ended without a response";
  } else {
    reason = causeMessage(last);
  }
  const suffix = details.attempts > 1 ? ` (after ${details.attempts} attempts)` : "";
  const line = `${request.model}: ${reason}${suffix}`.replace(/\s*\n\s*/g, " ");
  return new LlmCallError(redactSecrets(line, [provider.apiKey]), details);
}

/** Type and message of an Anthropic (`{error: {type, message}}`) or OpenAI (`{error: {message, type, code}}`) error body. */
function providerError(
  body: string | undefined,
): { type: string | null; message: string | null } {
  if (!body) return { type: null, message: null };
  try {
    const error = asRecord(asRecord(JSON.parse(body)).error);
    const type = error.type ?? error.code;
    return {
      type: typeof type === "string" && type ? type : null,
      message: typeof error.message === "string" && error.message ? error.message : null,
    };
  } catch {
    return { type: null, message: null };
  }
}

function findInCauses(error: unknown, test: (e: unknown) => boolean): unknown {
  const seen = new Set<unknown>();
  let current = error;
  while (current !== undefined && current !== null && !seen.has(current)) {
    if (test(current)) return current;
    seen.add(current);
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/** The innermost useful message of an error chain. */
function causeMessage(error: unknown): string {
  let message = error instanceof Error ? error.message : String(error);
  let current = error instanceof Error ? error.cause : undefined;
  const seen = new Set<unknown>([error]);
  while (current instanceof Error && !seen.has(current)) {
    seen.add(current);
    if (current.message) message = current.message;
    current = current.cause;
  }
  return message || "unknown error";
}

function asRecord(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value) ? value as Record<string, unknown> : {};
}

function stringOrNull(value: unknown): string | null {
  return typeof value === "string" && value !== "" ? value : null;
}

function round(ms: number): number {
  return Math.round(ms);
}
