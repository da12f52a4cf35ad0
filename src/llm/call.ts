/**
 * Makes one model call through the Vercel AI SDK and turns its outcome into
 * an {@link LlmResponse} or an error. Heavy (loads `ai`): `mod.ts` imports it
 * dynamically, only when a call is made.
 *
 * How the raw provider data is obtained from AI SDK v7:
 * - `generateText` with `include: { responseBody: true }`: `response.body` is
 *   the provider's JSON body as received (before schema parsing), so its
 *   `usage` (`usageMetadata` for Gemini), `id` and `model` are the raw ones;
 *   `response.headers` has the request id header.
 * - `streamText` with `include: { rawChunks: true }`: `fullStream` yields
 *   `raw` parts carrying every parsed SSE `data` object, from which the
 *   usage is folded (`message_start` + `message_delta` for Anthropic, the
 *   final usage chunk for OpenAI, the last `usageMetadata` for Gemini) and
 *   the stream's completion is checked (its closing event); the
 *   `finish-step` part has the response headers.
 *
 * Attempts: pflow runs them itself (the SDK's `maxRetries` is 0), so each
 * failed attempt is visible (`LlmResponse.failedAttempts`,
 * `LlmCallError.failedAttempts`) with its error, status and whatever usage
 * it reported. Retried: 408, 409, 429, 5xx, network errors, timeouts (see
 * `attempt_fetch.ts`), retryable stream error events (the first one too, which the SDK reports with an
 * HTTP status of its own) and streams that end
 * before their closing event; not retried: a successful status whose body
 * is not the provider's (an HTML page, and for a stream anything but
 * `text/event-stream`), described with its first 200 characters. The wait
 * honours `retry-after-ms` and `retry-after` (seconds or HTTP date) within
 * 0-60 s, else it is an
 * exponential backoff from 2 s (x2), as the SDK's own.
 * @module
 */

import { APICallError, type CallWarning, generateText, StreamProviderError, streamText } from "ai";
import { type AttemptFetch, AttemptTimeoutError, createAttemptFetch } from "./attempt_fetch.ts";
import { type CallPlan, planCall, structuredOutputMode } from "./call_plan.ts";
import { LlmAbortError, LlmCallError, LlmReplyError, redactSecrets, StructuredOutputError } from "./errors.ts";
import type { ResolvedProvider } from "./provider_config.ts";
import { createLanguageModel } from "./providers.ts";
import { readStructuredOutput } from "./structured.ts";
import { delay } from "../util/timers.ts";
import type { LlmFailedAttempt, LlmRequest, LlmResponse, LlmUsage } from "./types.ts";
import {
  findGoogleStreamUsage,
  findOpenAiStreamUsage,
  mergeAnthropicStreamUsage,
  normalizeUsage,
  usageCountsLeftOut,
  type UsageDialect,
} from "./usage.ts";
import { currentAttemptHooks } from "./attempt_hooks.ts";

/** Default per-attempt timeout in ms. */
export const DEFAULT_TIMEOUT_MS = 120_000;
/** Default number of retries. */
export const DEFAULT_MAX_RETRIES = 2;
/** First backoff wait in ms (doubles with each retry) when the provider names none. */
const INITIAL_BACKOFF_MS = 2000;
/** At most this many characters of a response body appear in an error message. */
const BODY_PREVIEW_CHARS = 200;
/** What {@link redactSecrets} puts in place of a secret. */
const REDACTED = "[REDACTED]";

/** A stream that ended without its closing event. */
class StreamIncompleteError extends Error {
  constructor() {
    super("stream ended before completion");
    this.name = "StreamIncompleteError";
  }
}

/** A streamed call whose successful response was not an event stream (an HTML page, a JSON body…). */
class NotEventStreamError extends Error {
  constructor(readonly status: number, readonly body: string) {
    super("the response is not an event stream");
    this.name = "NotEventStreamError";
  }
}

/**
 * What one attempt gave: a response (with the reason a Gemini prompt was blocked, when it was), or an error
 * with the usage reported before it.
 */
type AttemptOutcome =
  | { response: LlmResponse; promptBlocked?: string; error?: undefined }
  | { error: unknown; usage: LlmUsage; events?: unknown[]; response?: undefined };

/** Everything an attempt needs. */
interface AttemptContext {
  request: LlmRequest;
  provider: ResolvedProvider;
  modelId: string;
  dialect: UsageDialect;
  plan: CallPlan;
  settings: Record<string, unknown>;
  attemptFetch: AttemptFetch;
}

/**
 * Calls the model of `request` at `provider`, retrying as described above.
 * @param request the validated call
 * @param options the resolved provider, the model name without its prefix and the canonical model id
 * @returns text (and parsed object), finish reason, normalized usage, what was sent
 * @throws {LlmCallError} when the call fails; {@link LlmAbortError} when `request.signal` aborts it;
 *   `StructuredOutputError` when the reply is not the structured output asked for; {@link LlmReplyError}
 *   when the reply was blocked or refused, or cut off before its structured output was complete
 */
export async function callWithSdk(
  request: LlmRequest,
  options: { provider: ResolvedProvider; modelName: string; modelId: string },
): Promise<LlmResponse> {
  const { provider, modelId } = options;
  const timeoutMs = request.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxRetries = request.maxRetries ?? DEFAULT_MAX_RETRIES;
  const dialect: UsageDialect = provider.kind === "anthropic"
    ? "anthropic"
    : provider.kind === "google"
    ? "google"
    : "openai";
  // The Anthropic library rejects a reply without usage (the others keep it): it is filled, and marked missing.
  const attemptFetch = createAttemptFetch({ timeoutMs, ...(dialect === "anthropic" ? { fillUsage: dialect } : {}) });
  const failed: LlmFailedAttempt[] = [];
  const hooks = currentAttemptHooks();
  // Aborted calls keep their attempts (the one in flight included), so traces and the ledger show them.
  const aborted = (inFlight?: LlmFailedAttempt): LlmAbortError =>
    new LlmAbortError(`${modelId}: call aborted`, {
      cause: request.signal?.reason,
      failedAttempts: inFlight === undefined ? [...failed] : [...failed, inFlight],
    });
  if (request.signal?.aborted) throw aborted();

  // Warnings are returned in the response instead of being logged to the console.
  const globals = globalThis as { AI_SDK_LOG_WARNINGS?: unknown };
  globals.AI_SDK_LOG_WARNINGS ??= false;
  const model = await createLanguageModel(provider, options.modelName, { fetch: attemptFetch.fetch });
  const plan = planCall(request, { provider, modelId });
  const settings: Record<string, unknown> = {
    model,
    ...(plan.instructions !== undefined ? { instructions: plan.instructions } : {}),
    messages: plan.messages,
    ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
    ...(plan.maxOutputTokens !== undefined ? { maxOutputTokens: plan.maxOutputTokens } : {}),
    ...(Object.keys(plan.providerOptions).length > 0 ? { providerOptions: plan.providerOptions } : {}),
    ...(plan.responseFormat ? { output: passThroughOutput(plan.responseFormat) } : {}),
    maxRetries: 0,
    ...(request.signal ? { abortSignal: request.signal } : {}),
  };
  const context: AttemptContext = { request, provider, modelId, dialect, plan, settings, attemptFetch };

  for (let attempt = 1;; attempt++) {
    const startedAt = performance.now();
    const outcome = request.stream ? await streamOnce(context, startedAt) : await generateOnce(context, startedAt);
    // What this attempt sent, with the structured-output mode read from its wire body.
    const sent = structuredClone(plan.sent);
    if (plan.responseFormat && sent.schema) {
      sent.schema.mode = structuredOutputMode(parseBody(attemptFetch.lastBody()), plan.responseFormat.name);
    }
    if (request.signal?.aborted) {
      throw aborted({
        // A reply that completed as the signal fired reported its usage; one cut off did not.
        usage: outcome.response ? outcome.response.usage : { ...outcome.usage, usage_missing: true },
        error: { type: "AbortError", message: `${modelId}: call aborted${abortReason(request.signal)}` },
        status: attemptFetch.lastStatus() ?? null,
        startedAt,
        request: sent,
      });
    }
    if (outcome.response) {
      const response = outcome.response;
      response.request = sent;
      response.startedAt = startedAt;
      if (failed.length > 0) response.failedAttempts = failed;
      // A blocked or refused reply is no answer, whatever text came with it (billed: the error carries the usage).
      if (response.finish_reason === "content-filter") {
        throw blockedReply(response, { modelId, dialect, promptBlocked: outcome.promptBlocked });
      }
      if (plan.responseFormat) {
        try {
          const { value, lossy } = readStructuredOutput(response, {
            schema: request.schema ?? plan.responseFormat.schema,
            ...(plan.unwrap !== undefined ? { unwrap: plan.unwrap } : {}),
            model: modelId,
          });
          response.object = value;
          if (lossy !== undefined) response.lossyNumbers = lossy;
        } catch (error) {
          // Asking again cannot complete a reply the output limit cut off: the cause is named instead.
          if (error instanceof StructuredOutputError && response.finish_reason === "length") {
            throw truncatedReply(response, { modelId, request, sentBody: parseBody(attemptFetch.lastBody()) });
          }
          throw error;
        }
      }
      return response;
    }
    const status = attemptFetch.lastStatus();
    const failure = describeFailure(outcome.error, {
      modelId,
      provider,
      events: outcome.events,
      bodyStart: attemptFetch.lastBodyStart(),
      httpStatus: status,
    });
    // Rejected requests (an HTTP error, a connection that failed, a stream whose only event is an error) are not
    // billed: their tokens are known to be 0. Unknown are those of a response that arrived and never reported its
    // final usage, and of a request sent and then cut off by its timeout (the provider may bill what it processed).
    if (
      failure.rejected || (status === undefined && !attemptFetch.lastTimedOutInFlight()) ||
      (status !== undefined && status >= 400)
    ) {
      delete outcome.usage.usage_missing;
    } else if (status === undefined) outcome.usage.usage_missing = true;
    const failedAttempt: LlmFailedAttempt = {
      usage: outcome.usage,
      error: { type: "LlmCallError", message: failure.message },
      status: failure.status,
      startedAt,
      request: sent,
    };
    failed.push(failedAttempt);
    hooks?.onFailedAttempt(failedAttempt);
    if (!failure.retryable || attempt > maxRetries) {
      const suffix = attempt > 1 ? ` (after ${attempt} attempts)` : "";
      throw new LlmCallError(`${failure.message}${suffix}`, {
        provider: provider.name,
        model: modelId,
        status: failure.status,
        retryable: failure.retryable,
        errorType: failure.errorType,
        attempts: attempt,
        requestId: failure.requestId,
        failedAttempts: failed,
      });
    }
    hooks?.beforeRetry();
    await delay(retryDelayMs(failure.headers, attempt), { signal: request.signal, onAbort: aborted });
    hooks?.beforeRetry();
  }
}

/** An SDK output that asks for JSON with the schema and hands the text back untouched (pflow parses it). */
function passThroughOutput(format: NonNullable<CallPlan["responseFormat"]>): never {
  return {
    name: "object",
    responseFormat: Promise.resolve(format),
    parseCompleteOutput: ({ text }: { text: string }) => Promise.resolve(text),
    parsePartialOutput: () => Promise.resolve(undefined),
    createElementStreamTransform: () => undefined,
  } as never;
}

async function generateOnce(context: AttemptContext, startedAt: number): Promise<AttemptOutcome> {
  let result;
  try {
    result = await generateText({ ...context.settings, include: { responseBody: true } } as never);
  } catch (error) {
    return { error, usage: buildUsage(null, { ...context, startedAt, headers: {} }) };
  }
  // deno-lint-ignore no-explicit-any
  const r = result as any;
  const body = asRecord(r.response?.body);
  const raw = context.dialect === "google" ? body.usageMetadata : body.usage;
  const meta = context.dialect === "google" ? { id: body.responseId, model: body.modelVersion } : body;
  const thinking: string | undefined = r.reasoningText || undefined;
  const promptBlocked = context.dialect === "google" ? promptBlockReason([body]) : undefined;
  return {
    ...(promptBlocked !== undefined ? { promptBlocked } : {}),
    response: {
      text: r.text,
      finish_reason: r.finishReason,
      ...(typeof r.rawFinishReason === "string" ? { raw_finish_reason: r.rawFinishReason } : {}),
      usage: filledUsage(
        context.attemptFetch,
        buildUsage(raw ?? null, {
          ...context,
          startedAt,
          headers: r.response?.headers ?? {},
          id: meta.id,
          responseModel: meta.model,
        }),
      ),
      request: context.plan.sent, // replaced by the caller with what this attempt sent
      ...(thinking !== undefined ? { thinking } : {}),
      ...warningsOf(r.warnings),
    },
  };
}

/**
 * A failed streamed attempt. A body that was never an event stream (an HTML page, a JSON error) is the
 * cause whatever the SDK made of it, so it is named instead.
 */
function streamFailed(
  context: AttemptContext,
  error: unknown,
  outcome: { usage: LlmUsage; events?: unknown[] },
): AttemptOutcome {
  return { error: notEventStream(context.attemptFetch) ?? error, ...outcome };
}

/**
 * A usage the provider left out, filled with zeros for the provider library (`usage_fill.ts`): unknown, with
 * the counts it did report; its raw object is not the one received, so none is kept.
 */
function filledUsage(fetch: AttemptFetch, usage: LlmUsage): LlmUsage {
  if (!fetch.lastUsageFilled()) return usage;
  usage.usage_missing = true;
  usage.raw = null;
  return usage;
}

/**
 * The usage of a stream, marked missing unless the stream got as far as its final usage: the counts of
 * one cut off before (a dropped connection, a timeout, an error event) are a running total or a
 * placeholder (`message_start`'s `output_tokens: 1`), so its cost is unknown. The counts known so far stay.
 */
function streamUsageOf(events: unknown[], dialect: UsageDialect, usage: LlmUsage): LlmUsage {
  if (!finalStreamUsageReported(events, dialect)) usage.usage_missing = true;
  return usage;
}

async function streamOnce(context: AttemptContext, startedAt: number): Promise<AttemptOutcome> {
  const rawEvents: unknown[] = [];
  let text = "";
  let thinking = "";
  let firstTokenAt: number | undefined;
  let finishReason = "other";
  let rawFinishReason: string | undefined;
  let headers: Record<string, string> = {};
  let streamError: unknown;
  let aborted = false;
  let warnings: CallWarning[] | undefined;
  const usage = () => {
    const meta = streamMetadata(rawEvents, context.dialect);
    const built = buildUsage(streamUsage(rawEvents, context.dialect), {
      ...context,
      startedAt,
      headers,
      id: meta.id,
      responseModel: meta.model,
    });
    return filledUsage(context.attemptFetch, streamUsageOf(rawEvents, context.dialect, built));
  };
  try {
    const result = streamText({
      ...context.settings,
      include: { rawChunks: true },
      onError: () => {}, // errors are handled below, from the stream's `error` parts
    } as never);
    for await (const part of result.fullStream) {
      switch (part.type) {
        case "raw":
          rawEvents.push(part.rawValue);
          break;
        case "text-delta":
          firstTokenAt ??= performance.now();
          text += part.text;
          break;
        case "reasoning-delta":
          thinking += part.text;
          break;
        case "finish-step":
          headers = part.response.headers ?? {};
          break;
        case "finish":
          finishReason = part.finishReason;
          rawFinishReason = part.rawFinishReason;
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
    return streamFailed(context, error, { usage: usage(), events: rawEvents });
  }
  if (streamError !== undefined || aborted) {
    return streamFailed(context, streamError, { usage: usage(), events: rawEvents });
  }
  if (!streamCompleted(rawEvents, context.dialect)) {
    return streamFailed(context, new StreamIncompleteError(), { usage: usage() });
  }
  const promptBlocked = context.dialect === "google" ? promptBlockReason(rawEvents) : undefined;
  return {
    ...(promptBlocked !== undefined ? { promptBlocked } : {}),
    response: {
      text,
      finish_reason: finishReason,
      ...(rawFinishReason !== undefined ? { raw_finish_reason: rawFinishReason } : {}),
      usage: usage(),
      request: context.plan.sent, // replaced by the caller with what this attempt sent
      ...(thinking !== "" ? { thinking } : {}),
      ...(firstTokenAt !== undefined ? { time_to_first_token_ms: Math.round(firstTokenAt - startedAt) } : {}),
      ...warningsOf(warnings),
    },
  };
}

/**
 * The reason Gemini blocked the prompt itself (`promptFeedback.blockReason`, no candidate finished), from the
 * response body or the stream's chunks; undefined when the prompt was not blocked.
 */
function promptBlockReason(chunks: unknown[]): string | undefined {
  let reason: string | undefined;
  for (const chunk of chunks) {
    const record = asRecord(chunk);
    const candidates = Array.isArray(record.candidates) ? record.candidates : [];
    if (candidates.some((c) => asRecord(c).finishReason != null)) return undefined;
    const block = asRecord(record.promptFeedback).blockReason;
    if (typeof block === "string" && block !== "" && !block.endsWith("_UNSPECIFIED")) reason ??= block;
  }
  return reason;
}

/**
 * The error of a reply the provider blocked or the model refused (unified finish reason `content-filter`):
 * a Gemini prompt block (`promptFeedback.blockReason`), an Anthropic `refusal`, an OpenAI `refusal` message
 * (finish reason `stop`, the refusal as the text), else a filter that stopped the reply (`content_filter`,
 * `SAFETY`, `RECITATION`…). Partial text that came before a filter is not an answer either.
 */
function blockedReply(
  response: LlmResponse,
  context: { modelId: string; dialect: UsageDialect; promptBlocked?: string },
): LlmReplyError {
  const raw = response.raw_finish_reason ?? null;
  const text = response.text.trim();
  let message: string;
  let problem: "blocked" | "refused" = "blocked";
  if (context.promptBlocked !== undefined) {
    message = `the provider blocked the prompt: ${context.promptBlocked}`;
  } else if (raw === "refusal" || (context.dialect === "openai" && raw !== "content_filter")) {
    problem = "refused";
    const said = text !== "" ? `: '${preview(text)}'` : "";
    message = `the model refused to answer${raw === "refusal" ? " (stop_reason refusal)" : ""}${said}`;
  } else {
    const partial = text !== "" ? ` (after ${text.length} characters of text, not used)` : "";
    message = `the provider blocked the reply: ${raw ?? "content filter"}${partial}`;
  }
  return new LlmReplyError(`${context.modelId}: ${message}`, {
    problem,
    reason: context.promptBlocked ?? raw,
    response,
  });
}

/**
 * The error of a structured reply the output limit cut off before its JSON was complete: the limit the
 * request set (`maxTokens`), else the one the provider library sent (the model's default).
 */
function truncatedReply(
  response: LlmResponse,
  context: { modelId: string; request: LlmRequest; sentBody: unknown },
): LlmReplyError {
  const body = asRecord(context.sentBody);
  const sent = [body.max_tokens, body.max_completion_tokens, asRecord(body.generationConfig).maxOutputTokens]
    .find((v) => typeof v === "number");
  const limit = context.request.maxTokens ?? (sent as number | undefined);
  const thinking = response.usage.reasoning_tokens > 0 ? `, ${response.usage.reasoning_tokens} of them thinking` : "";
  const where = limit !== undefined
    ? `the output limit (max_tokens ${limit}${thinking})`
    : `the model's output limit (${response.usage.output_tokens} output tokens${thinking})`;
  const before = response.text.trim() === "" ? "before any text" : "before its JSON was complete";
  const advice = context.request.maxTokens !== undefined ? "raise max_tokens" : "ask for a shorter reply";
  return new LlmReplyError(`${context.modelId}: the reply was cut off at ${where} ${before}; ${advice}`, {
    problem: "truncated",
    reason: response.raw_finish_reason ?? null,
    response,
  });
}

/**
 * The failure of a stream whose response had a successful status but another
 * content type than `text/event-stream` (a proxy's HTML page, a JSON body):
 * the provider library reads no event from it and would report an empty or
 * incomplete stream instead.
 */
function notEventStream(fetch: AttemptFetch): NotEventStreamError | undefined {
  const status = fetch.lastStatus();
  if (status === undefined || status >= 300) return undefined;
  if (/^\s*text\/event-stream\b/i.test(fetch.lastContentType() ?? "")) return undefined;
  return new NotEventStreamError(status, fetch.lastBodyStart());
}

/** The raw usage of a stream, in the provider's dialect, or null when no event carried one. */
function streamUsage(events: unknown[], dialect: UsageDialect): Record<string, unknown> | null {
  if (dialect === "anthropic") return mergeAnthropicStreamUsage(events);
  if (dialect === "google") return findGoogleStreamUsage(events);
  return findOpenAiStreamUsage(events);
}

/**
 * Whether a stream's events include its final usage, not a running or provisional one: an Anthropic
 * `message_delta` with usage (its counts are the final ones, even if `message_stop` never came), an OpenAI
 * chunk with usage at or after the one with a `finish_reason`, a Gemini `usageMetadata` at or after the
 * candidate's `finishReason` (or that of a blocked prompt's only chunk).
 */
function finalStreamUsageReported(events: unknown[], dialect: UsageDialect): boolean {
  if (dialect === "anthropic") {
    return events.some((event) => asRecord(event).type === "message_delta" && isObject(asRecord(event).usage));
  }
  const key = dialect === "google" ? "usageMetadata" : "usage";
  const finished = dialect === "google" && promptBlockReason(events) !== undefined
    ? 0
    : events.findIndex((event) => streamCompleted([event], dialect));
  return finished >= 0 && events.slice(finished).some((event) => isObject(asRecord(event)[key]));
}

/**
 * Whether a stream reached its closing event: Anthropic `message_stop`, an
 * OpenAI chunk with a `finish_reason`, a Gemini candidate with a `finishReason`
 * (or a blocked prompt's only chunk, `promptFeedback.blockReason` and no candidate).
 */
function streamCompleted(events: unknown[], dialect: UsageDialect): boolean {
  if (dialect === "google" && promptBlockReason(events) !== undefined) return true;
  return events.some((event) => {
    const record = asRecord(event);
    if (dialect === "anthropic") return record.type === "message_stop";
    const choices = dialect === "google" ? record.candidates : record.choices;
    const key = dialect === "google" ? "finishReason" : "finish_reason";
    return Array.isArray(choices) && choices.some((c) => asRecord(c)[key] != null);
  });
}

function warningsOf(warnings: CallWarning[] | undefined): { warnings?: string[] } {
  if (!warnings?.length) return {};
  return { warnings: warnings.map(warningText) };
}

/** A warning of the provider library in pflow's words (its `maxOutputTokens` is the node's `max_tokens`). */
function warningText(warning: CallWarning): string {
  const w = warning as { type: string; feature?: string; details?: string; message?: string };
  const text = typeof w.message === "string"
    ? w.message
    : w.type === "unsupported"
    ? `${w.details || `${w.feature} is not supported`} (ignored)`
    : w.details || `${w.type}: ${w.feature}`;
  return text.replace(/\bmaxOutputTokens\b/g, "max_tokens");
}

function buildUsage(
  raw: unknown,
  context: AttemptContext & {
    startedAt: number;
    headers: Record<string, string>;
    id?: unknown;
    responseModel?: unknown;
  },
): LlmUsage {
  const headerName = context.dialect === "anthropic" ? "request-id" : "x-request-id";
  const requestId = context.headers[headerName] ?? stringOrNull(context.id);
  const absent = raw === null || raw === undefined || typeof raw !== "object";
  // Counts left out are unknown, not 0: the counts that are there are kept, and `raw` is what was sent.
  const missing = absent || usageCountsLeftOut(raw, context.dialect);
  return {
    provider: context.provider.name,
    model: context.modelId,
    response_model: stringOrNull(context.responseModel),
    ...normalizeUsage(absent ? null : raw, context.dialect),
    request_id: requestId ?? null,
    response_id: stringOrNull(context.id),
    duration_ms: Math.round(performance.now() - context.startedAt),
    raw: absent ? null : raw,
    ...(missing ? { usage_missing: true as const } : {}),
  };
}

/** Message id and reported model from the first stream event carrying them. */
function streamMetadata(events: unknown[], dialect: UsageDialect): { id?: unknown; model?: unknown } {
  for (const event of events) {
    const record = asRecord(event);
    if (dialect === "anthropic") {
      if (record.type === "message_start") {
        const message = asRecord(record.message);
        return { id: message.id, model: message.model };
      }
    } else if (dialect === "google") {
      if (record.responseId !== undefined || record.modelVersion !== undefined) {
        return { id: record.responseId, model: record.modelVersion };
      }
    } else if (record.id !== undefined || record.model !== undefined) {
      return { id: record.id, model: record.model };
    }
  }
  return {};
}

/** One failed attempt, described. */
interface Failure {
  /** One line, `provider/model: reason`, key-free. */
  message: string;
  status: number | null;
  retryable: boolean;
  errorType: string | null;
  requestId: string | null;
  /** Response headers (for the retry wait). */
  headers: Record<string, string> | undefined;
  /** Whether the provider answered with an error before anything was generated (nothing billed). */
  rejected: boolean;
}

/** Describes an SDK failure in one key-free line. */
function describeFailure(
  error: unknown,
  context: {
    modelId: string;
    provider: ResolvedProvider;
    events?: unknown[];
    bodyStart?: string;
    /** The status the response really had (the SDK gives a stream's error event one of its own). */
    httpStatus?: number;
  },
): Failure {
  const { provider } = context;
  const failure: Failure = {
    message: "",
    status: null,
    retryable: false,
    errorType: null,
    requestId: null,
    headers: undefined,
    rejected: false,
  };
  // Body previews are redacted before they are cut (a key the cut splits would survive in part).
  const secrets = [provider.apiKey];
  let reason: string;
  const timeout = findInCauses(error, (e) => e instanceof AttemptTimeoutError) as AttemptTimeoutError | undefined;
  if (timeout) {
    reason = `timed out after ${timeout.timeoutMs} ms`;
    failure.retryable = true;
  } else if (error instanceof NotEventStreamError) {
    // Like an unreadable non-streamed body: not retried (the same request gets the same page).
    failure.status = error.status;
    reason = `HTTP ${error.status} with an unreadable body: ${bodyProblem(error.body, { stream: true, secrets })}`;
  } else if (error instanceof StreamIncompleteError) {
    reason = error.message;
    failure.retryable = true;
  } else if (
    APICallError.isInstance(error) && error.statusCode !== undefined && error.statusCode >= 400 &&
    context.httpStatus !== undefined && context.httpStatus < 400
  ) {
    // A successful stream whose first event is an error (`overloaded_error`…): the SDK reports it with a status
    // of its own choosing, which the server did not send. Retried as the SDK says (an overload is).
    const parsed = streamErrorOf(error.responseBody);
    failure.retryable = error.isRetryable;
    failure.headers = error.responseHeaders;
    failure.requestId = error.responseHeaders?.["request-id"] ?? error.responseHeaders?.["x-request-id"] ?? null;
    failure.errorType = parsed.type;
    failure.rejected = true;
    reason = `stream error${parsed.type ? ` ${parsed.type}` : ""}: ${parsed.message ?? error.message}`;
  } else if (APICallError.isInstance(error)) {
    failure.status = error.statusCode ?? null;
    failure.retryable = error.isRetryable;
    failure.headers = error.responseHeaders;
    failure.requestId = error.responseHeaders?.["request-id"] ?? error.responseHeaders?.["x-request-id"] ?? null;
    if (error.statusCode !== undefined) {
      const parsed = providerError(error.responseBody);
      failure.errorType = parsed.type;
      if (error.statusCode >= 300 && error.statusCode < 400) {
        // Not followed (attempt_fetch.ts): nothing was generated.
        failure.retryable = false;
        failure.rejected = true;
        reason = redirectReason(error.statusCode, error.responseHeaders?.location, {
          from: error.url,
          keyed: provider.apiKey !== undefined && provider.apiKey !== "",
        });
      } else if (error.statusCode < 400 && error.responseBody === undefined && isReadFailure(error.cause)) {
        // The body stopped arriving (connection reset, closed mid-stream): a network error, retried.
        reason = `the connection broke off while reading the response (${causeMessage(error)})`;
        failure.retryable = true;
      } else if (error.statusCode < 400) {
        // A successful status whose body could not be read as the provider's response.
        reason = `HTTP ${error.statusCode} with an unreadable body: ${
          bodyProblem(error.responseBody, { error, secrets })
        }`;
      } else if (parsed.message !== null) {
        reason = `HTTP ${error.statusCode}${parsed.type ? ` ${parsed.type}` : ""}: ${parsed.message}`;
      } else {
        reason = `HTTP ${error.statusCode}: ${bodyProblem(error.responseBody, { error, secrets })}`;
      }
    } else {
      reason = `cannot reach ${provider.baseURL}: ${causeMessage(error)}`;
    }
  } else if (StreamProviderError.isInstance(error)) {
    // An error event inside a stream (its status is the SDK's guess from the error's type, not an HTTP one).
    failure.retryable = error.isRetryable;
    failure.errorType = error.type ?? (typeof error.code === "string" ? error.code : null);
    // Nothing but the error came (no message_start, no chunk): nothing was generated.
    failure.rejected = (context.events ?? []).every(isErrorEvent);
    reason = `stream error${failure.errorType ? ` ${failure.errorType}` : ""}: ${error.message}`;
  } else if (error === undefined) {
    reason = "the stream ended without a response";
    failure.retryable = true;
  } else if (context.events !== undefined && !(error instanceof Error && /^AI_/.test(error.name))) {
    // The provider library could not read the stream (an event that is not the protocol's, not an error event).
    // The first event read, else the start of the body (the event the library could not read).
    const start = context.events.length > 0 ? JSON.stringify(context.events[0]) : context.bodyStart?.trim() ?? "";
    const first = start !== "" ? `: '${preview(start, secrets)}'` : "";
    reason = `unreadable stream (${causeMessage(error)})${first}`;
  } else {
    reason = describeOther(error, secrets);
  }
  const line = `${context.modelId}: ${reason}`.replace(/\s*\n\s*/g, " ");
  failure.message = redactSecrets(line, secrets);
  return failure;
}

/**
 * A redirect the provider answered, which is not followed: where it points, without its query and
 * credentials (they may hold secrets).
 */
function redirectReason(
  status: number,
  location: string | undefined,
  request: { from: string; keyed: boolean },
): string {
  let target: URL | undefined;
  try {
    target = location ? new URL(location, request.from) : undefined;
  } catch { /* an invalid location */ }
  const to = target
    ? `redirecting to ${target.origin}${target.pathname === "/" ? "" : target.pathname}`
    : location
    ? "redirecting to an invalid location"
    : "redirecting without a location";
  const why = request.keyed ? " (the API key would go along)" : "";
  return `the provider answered HTTP ${status} ${to}; redirects are not followed${why}: set the base URL to the new location`;
}

/** Whether an error is the body's transport failing (not the SDK rejecting what it read). */
function isReadFailure(cause: unknown): boolean {
  if (!(cause instanceof Error) || /^AI_/.test(cause.name) || cause instanceof SyntaxError) return false;
  return findInCauses(cause, (e) => Array.isArray((e as { issues?: unknown })?.issues)) === undefined;
}

/**
 * What is wrong with a response body: not JSON (an HTML page…) or not the
 * expected shape (with the SDK `error`'s first issue), or, for a stream
 * (`stream`), not an event stream; with a preview.
 */
function bodyProblem(
  body: string | undefined,
  options: { error?: unknown; stream?: boolean; secrets: readonly (string | undefined)[] },
): string {
  const trimmed = (body ?? "").trim();
  const expected = options.stream ? "an event stream" : "JSON";
  let what: string;
  if (trimmed === "") what = "empty body";
  else if (/^<(!doctype|html|head|body|\?xml)/i.test(trimmed) || /^<[a-z]/i.test(trimmed)) {
    what = `an HTML page instead of ${expected}`;
  } else if (parseBody(trimmed) === undefined) what = options.stream ? "not an event stream" : "invalid JSON";
  else if (options.stream) {
    const parsed = providerError(trimmed);
    what = parsed.message !== null
      ? `an error instead of an event stream${parsed.type ? ` ${parsed.type}` : ""}: ${parsed.message}`
      : "JSON instead of an event stream";
  } else {
    const issue = validationIssue(options.error);
    what = `JSON of an unexpected shape${issue ? ` (${issue})` : ""}`;
  }
  return trimmed === "" ? what : `${what}: '${preview(trimmed, options.secrets)}'`;
}

/** The first schema issue behind a response the SDK could not read (`usage: expected object, …`). */
function validationIssue(error: unknown): string | undefined {
  const withIssues = findInCauses(error, (e) => Array.isArray((e as { issues?: unknown })?.issues)) as
    | { issues: { path?: unknown[]; message?: string }[] }
    | undefined;
  const issue = withIssues?.issues[0];
  if (!issue) return undefined;
  const path = (issue.path ?? []).join(".");
  return `${path || "body"}: ${String(issue.message ?? "invalid").replace(/^Invalid input: /, "")}`;
}

/** An SDK error of another kind (e.g. a response whose JSON could not be parsed). */
function describeOther(error: unknown, secrets: readonly (string | undefined)[]): string {
  const name = error instanceof Error ? error.name : "";
  const text = (error as { text?: unknown })?.text;
  if (/JSONParseError|TypeValidationError/.test(name) && typeof text === "string") {
    return `invalid response body (${name === "JSONParseError" ? "invalid JSON" : "unexpected shape"}): '${
      preview(text, secrets)
    }'`;
  }
  return causeMessage(error);
}

/**
 * The start of a body on one line, its secrets redacted first (a cut made before would leave part of a key
 * the cut splits); a cut that would split a `[REDACTED]` marker leaves it out whole.
 */
function preview(text: string, secrets: readonly (string | undefined)[] = []): string {
  const oneLine = redactSecrets(text, secrets).replace(/\s+/g, " ").trim();
  if (oneLine.length <= BODY_PREVIEW_CHARS) return oneLine;
  let cut = oneLine.slice(0, BODY_PREVIEW_CHARS - 3);
  const open = cut.lastIndexOf("[");
  if (open !== -1 && cut.length - open < REDACTED.length && oneLine.startsWith(REDACTED, open)) {
    cut = cut.slice(0, open);
  }
  return `${cut}...`;
}

/** Type and message of an Anthropic / OpenAI (`{error: {type|code, message}}`) or Gemini (`{error: {status, message}}`) error body. */
function providerError(body: string | undefined): { type: string | null; message: string | null } {
  const error = asRecord(asRecord(parseBody(body)).error);
  const type = [error.type, error.code, error.status].find((t) => typeof t === "string" && t !== "");
  return {
    type: typeof type === "string" ? type : null,
    message: typeof error.message === "string" && error.message ? error.message : null,
  };
}

/** Type and message of a stream's error event: `{type, message}` (Anthropic's, OpenAI's) or `{error: {…}}`. */
function streamErrorOf(body: string | undefined): { type: string | null; message: string | null } {
  const record = asRecord(parseBody(body));
  const error = isObject(record.error) ? record.error : record;
  const type = [error.type, error.code, error.status].find((t) => typeof t === "string" && t !== "" && t !== "error");
  return {
    type: typeof type === "string" ? type : null,
    message: typeof error.message === "string" && error.message ? error.message : null,
  };
}

/** Whether a stream event is an error (Anthropic `{type: "error"}`, OpenAI's and Gemini's `{error: {…}}`). */
function isErrorEvent(event: unknown): boolean {
  const record = asRecord(event);
  return record.type === "error" || isObject(record.error);
}

/** How long to wait before retry number `attempt` (1-based), as the SDK would. */
export function retryDelayMs(headers: Record<string, string> | undefined, attempt: number): number {
  const backoff = INITIAL_BACKOFF_MS * 2 ** (attempt - 1);
  let ms: number | undefined;
  const retryAfterMs = headers?.["retry-after-ms"];
  if (retryAfterMs) {
    const value = parseFloat(retryAfterMs);
    if (!Number.isNaN(value)) ms = value;
  }
  const retryAfter = headers?.["retry-after"];
  if (retryAfter && ms === undefined) {
    const seconds = parseFloat(retryAfter);
    ms = Number.isNaN(seconds) ? Date.parse(retryAfter) - Date.now() : seconds * 1000;
  }
  if (ms !== undefined && !Number.isNaN(ms) && ms >= 0 && (ms < 60_000 || ms < backoff)) return ms;
  return backoff;
}

function parseBody(body: string | undefined): unknown {
  if (!body) return undefined;
  try {
    return JSON.parse(body);
  } catch {
    return undefined;
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
  // Bun's fetch adds advice for its own API, which means nothing to a pflow user.
  message = message.replace(/\s*For more information, pass `verbose: true` in the second argument to fetch\(\)\.?/, "");
  return message || "unknown error";
}

function asRecord(value: unknown): Record<string, unknown> {
  return isObject(value) ? value : {};
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function stringOrNull(value: unknown): string | null {
  return typeof value === "string" && value !== "" ? value : null;
}

/** `: REASON` for an abort whose reason is an error with a message (a timeout, an interrupt), else nothing. */
function abortReason(signal: AbortSignal): string {
  const reason = signal.reason as { message?: unknown } | undefined;
  return typeof reason?.message === "string" && reason.message !== "" ? ` (${reason.message})` : "";
}
