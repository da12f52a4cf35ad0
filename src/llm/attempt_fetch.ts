/**
 * A `fetch` for the AI SDK's provider factories that bounds each HTTP attempt
 * by a timeout (response headers and body alike) and counts attempts. It
 * keeps the status, content type and first bytes of the last response (for
 * error messages); it does not touch requests or responses otherwise, but for
 * not following redirects: a redirect's target would receive the API key
 * header (`x-api-key`, `x-goog-api-key`, which fetch keeps across origins), so
 * a 3xx response is handed to the provider library as it is (an error); and,
 * with `fillUsage: "anthropic"`, for filling the usage an Anthropic reply
 * left out (`usage_fill.ts`), which {@link AttemptFetch.lastUsageFilled} tells.
 *
 * A timed-out attempt fails with an {@link AttemptTimeoutError} whose `code`
 * is `ETIMEDOUT`: the AI SDK classifies errors with that code as retryable
 * network errors (`APICallError` with `isRetryable: true`), so its own retry
 * loop retries timeouts like 429s and 5xx. Cancellation through the request's
 * own signal is left as it is (an abort, never retried).
 * @module
 */

import { setLongTimeout } from "../util/timers.ts";
import { anthropicUsageFiller } from "./usage_fill.ts";

/** The failure of one HTTP attempt that exceeded its time budget. */
export class AttemptTimeoutError extends Error {
  /** Node-style error code, which the AI SDK treats as a retryable network error. */
  readonly code = "ETIMEDOUT";
  /** The budget that was exceeded, in ms. */
  readonly timeoutMs: number;

  /**
   * Creates the error.
   * @param timeoutMs the budget that was exceeded
   */
  constructor(timeoutMs: number) {
    super(`timed out after ${timeoutMs} ms`);
    this.name = "AttemptTimeoutError";
    this.timeoutMs = timeoutMs;
  }
}

/** A fetch function that also reports how many attempts it made. */
export interface AttemptFetch {
  /** The fetch to hand to a provider factory. */
  fetch: typeof globalThis.fetch;
  /** Number of HTTP requests started so far. */
  attempts(): number;
  /** The body of the last request sent (as the SDK serialized it), when it was text. */
  lastBody(): string | undefined;
  /** The HTTP status of the last request's response, or undefined when none arrived. */
  lastStatus(): number | undefined;
  /** The `content-type` of the last response, or undefined. */
  lastContentType(): string | undefined;
  /** The first bytes (up to 2 KB) of the last response's body that were read, as text. */
  lastBodyStart(): string;
  /**
   * Whether the last request was sent and then cut off by its timeout before a
   * response came: the provider may bill what it processed, so its usage is unknown.
   */
  lastTimedOutInFlight(): boolean;
  /** Whether usage the last response left out was filled in (its usage is unknown, not 0). */
  lastUsageFilled(): boolean;
}

/** How much of a response body is kept for error messages. */
const BODY_START_BYTES = 2048;

/**
 * Creates the per-attempt-timeout fetch.
 * @param options `timeoutMs` per attempt; `baseFetch` defaults to the global fetch
 */
export function createAttemptFetch(
  options: { timeoutMs: number; baseFetch?: typeof globalThis.fetch; fillUsage?: "anthropic" },
): AttemptFetch {
  const baseFetch = options.baseFetch ?? globalThis.fetch;
  const { timeoutMs } = options;
  let attempts = 0;
  let lastBody: string | undefined;
  let lastStatus: number | undefined;
  let lastContentType: string | undefined;
  let bodyStart: Uint8Array[] = [];
  let bodyStartBytes = 0;
  let timedOutInFlight = false;
  let usageFilled = false;

  const fetch = async (
    input: RequestInfo | URL,
    init?: RequestInit,
  ): Promise<Response> => {
    attempts++;
    lastBody = typeof init?.body === "string" ? init.body : undefined;
    lastStatus = undefined;
    lastContentType = undefined;
    bodyStart = [];
    bodyStartBytes = 0;
    timedOutInFlight = false;
    usageFilled = false;
    const timeout = new AbortController();
    const timeoutError = new AttemptTimeoutError(timeoutMs);
    const outer = init?.signal ?? undefined;
    // The body's reader, once there is one: a timeout cancels it too, not only the fetch's signal (a runtime
    // may let a body that is already streaming go on reading after its fetch's signal aborted).
    const streaming: { reader?: ReadableStreamDefaultReader<Uint8Array> } = {};
    const timer = setLongTimeout(() => {
      timeout.abort(timeoutError);
      streaming.reader?.cancel(timeoutError).catch(() => {});
    }, timeoutMs);
    const stop = () => {
      timer.clear();
      outer?.removeEventListener("abort", stop);
    };
    outer?.addEventListener("abort", stop);
    const signal = outer ? AbortSignal.any([outer, timeout.signal]) : timeout.signal;
    const timedOut = () => timeout.signal.aborted && !outer?.aborted;

    let response: Response;
    try {
      response = await baseFetch(input, { ...init, signal, redirect: "manual" });
    } catch (error) {
      stop();
      timedOutInFlight = timedOut();
      throw timedOutInFlight ? timeoutError : error;
    }
    lastStatus = response.status;
    lastContentType = response.headers.get("content-type") ?? undefined;
    const kept = bodyStart;
    if (!response.body) {
      stop();
      return response;
    }
    // The timer keeps running while the body streams; it stops when the
    // body ends, fails or is cancelled.
    const reader = response.body.getReader();
    streaming.reader = reader;
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        try {
          const { done, value } = await reader.read();
          if (timedOut()) {
            // Whatever the read returned, the attempt's time is up.
            stop();
            controller.error(timeoutError);
            return;
          }
          if (done) {
            stop();
            controller.close();
          } else {
            if (bodyStartBytes < BODY_START_BYTES && kept === bodyStart) {
              kept.push(value.slice(0, BODY_START_BYTES - bodyStartBytes));
              bodyStartBytes += Math.min(value.length, BODY_START_BYTES - bodyStartBytes);
            }
            controller.enqueue(value);
          }
        } catch (error) {
          stop();
          controller.error(timedOut() ? timeoutError : error);
        }
      },
      cancel(reason) {
        stop();
        return reader.cancel(reason);
      },
    });
    const type = /^\s*text\/event-stream\b/i.test(lastContentType ?? "")
      ? "sse"
      : /\bjson\b/i.test(lastContentType ?? "")
      ? "json"
      : undefined;
    if (options.fillUsage !== "anthropic" || !response.ok || type === undefined) {
      return new Response(body, {
        status: response.status,
        statusText: response.statusText,
        headers: response.headers,
      });
    }
    const headers = new Headers(response.headers);
    headers.delete("content-length"); // a filled body is longer
    const filled = body.pipeThrough(anthropicUsageFiller(type, () => {
      if (kept === bodyStart) usageFilled = true;
    }));
    return new Response(filled, { status: response.status, statusText: response.statusText, headers });
  };

  return {
    fetch: fetch as typeof globalThis.fetch,
    attempts: () => attempts,
    lastBody: () => lastBody,
    lastStatus: () => lastStatus,
    lastContentType: () => lastContentType,
    lastTimedOutInFlight: () => timedOutInFlight,
    lastUsageFilled: () => usageFilled,
    lastBodyStart: () => {
      const bytes = new Uint8Array(bodyStartBytes);
      let at = 0;
      for (const part of bodyStart) {
        bytes.set(part, at);
        at += part.length;
      }
      return new TextDecoder().decode(bytes);
    },
  };
}
