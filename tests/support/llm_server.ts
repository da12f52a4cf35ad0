/**
 * A scriptable local LLM server speaking three real wire protocols, for tests:
 *
 * - the **Anthropic Messages API**: `POST /v1/messages`, JSON or SSE streaming
 *   (`message_start`, `content_block_start`, `ping`, `content_block_delta`,
 *   `content_block_stop`, `message_delta`, `message_stop`), `request-id`
 *   header, Anthropic-shaped error bodies;
 * - the **OpenAI Chat Completions API**: `POST /v1/chat/completions` (also
 *   under any prefix ending in `/chat/completions`, so configured
 *   OpenAI-compatible base URLs like `http://127.0.0.1:PORT/compat/v1` work),
 *   JSON or SSE `data:` chunks ending in `data: [DONE]`, with a final
 *   `choices: []` usage chunk when `stream_options.include_usage` is set,
 *   `x-request-id` header, OpenAI-shaped error bodies;
 * - the **Gemini API**: `POST /v1beta/models/MODEL:generateContent` and
 *   `:streamGenerateContent?alt=sse` (SSE `data:` chunks, running
 *   `usageMetadata` in each, `finishReason` in the last), Google-shaped
 *   error bodies (`{error: {code, message, status}}`).
 *
 * ## Structured output and thinking
 *
 * When a request asks for structured output, the reply takes the form it
 * asked for: Anthropic `output_config.format` → a text block with the JSON;
 * a forced Anthropic tool (`tool_choice` `any`/`tool`, or `auto` with a tool
 * named `json`, as the AI SDK sends when thinking is on) → a `tool_use` block
 * whose `input` is the value (streamed as `input_json_delta`); OpenAI
 * `response_format` and Gemini `responseSchema` → the JSON as the message
 * text. The value is {@link ScriptedResponse.json} (or
 * {@link ScriptedResponse.jsonText}), else the reply text parsed as JSON,
 * else (no text scripted) a value built from the schema (`"echo: <prompt>"`
 * for strings, 1, true, one array item, the first enum value). A
 * {@link ScriptedResponse.thinking} text is sent as an Anthropic
 * `thinking` block (`thinking_delta` when streaming) or a Gemini
 * `thought: true` part.
 *
 * ## Refusals, filters and requests the providers reject
 *
 * {@link ScriptedResponse.finishReason} sets the provider's stop reason
 * (`refusal`, `max_tokens`, `content_filter`, `length`, `SAFETY`, `MAX_TOKENS`…);
 * {@link ScriptedResponse.empty} sends no content at all, as providers do when
 * nothing was generated (Anthropic `content: []`, OpenAI `content: null`, a
 * Gemini candidate without `parts`); {@link ScriptedResponse.refusal} is an
 * OpenAI `message.refusal`; {@link ScriptedResponse.blockReason} a Gemini
 * prompt block (`promptFeedback.blockReason`, no candidate). Like the real
 * APIs, the server answers 400 to a Gemini request with a turn whose `parts`
 * are empty (`contents.parts must not be empty`) and to an Anthropic one with
 * an empty text block (`text content blocks must be non-empty`), without
 * taking a scripted response.
 *
 * ## In-process use
 *
 * ```ts
 * const srv = await startLlmServer();
 * srv.enqueue({ text: "hi", usage: { input_tokens: 3, output_tokens: 1 } });
 * // ANTHROPIC_BASE_URL = srv.url, OPENAI_BASE_URL = `${srv.url}/v1`
 * srv.requests[0].headers["x-api-key"];
 * await srv.close();
 * ```
 *
 * Each request takes the next {@link ScriptedResponse} from the queue
 * ({@link LlmServer.enqueue}); when the queue is empty it gets the default
 * behaviour below.
 *
 * ## Default behaviour (also the standalone server's)
 *
 * - The reply text is `echo: <prompt>` where `<prompt>` is the text of the
 *   last user message (directives included, verbatim).
 * - Usage is counted in words (runs of non-whitespace): input = words of the
 *   system prompt plus words of all messages; output = words of the reply.
 *   Anthropic: `{input_tokens, output_tokens, cache_creation_input_tokens: 0,
 *   cache_read_input_tokens: 0}`; OpenAI: `{prompt_tokens, completion_tokens,
 *   total_tokens}`.
 * - The reported model is the requested model; ids are sequential:
 *   `msg_test_N` / `chatcmpl-test-N`, request ids `req_test_N` (N counts
 *   requests from 1).
 *
 * ## Prompt directives (in the last user message)
 *
 * - `[[reply:TEXT]]` reply with TEXT (up to the closing `]]`) instead of the echo.
 * - `[[usage:{json}]]` use this provider-shaped usage object verbatim (write
 *   Anthropic fields for `anthropic/...` models, OpenAI fields otherwise).
 * - `[[fail:STATUS]]` answer every such request with HTTP STATUS and a
 *   provider-shaped error body.
 * - `[[fail:STATUS:N]]` fail the first N requests carrying this exact prompt,
 *   then answer normally (e.g. `[[fail:429:1]]` = one 429, then success).
 * - Failures with status 429 or >= 500 carry `retry-after-ms: 20` so that
 *   clients retry quickly; `[[retry-after:SECONDS]]` sends `retry-after:
 *   SECONDS` instead.
 * - `[[sleep:MS]]` wait MS milliseconds before answering (timeouts, aborts).
 * - `[[thinking:TEXT]]` send TEXT as thinking before the reply.
 * - `[[no-usage]]` send no usage object at all.
 * - `[[truncate]]` end a stream before its closing event (after the text).
 * - `[[truncate-after-usage]]` (Anthropic) end a stream after its final usage (`message_delta`), before
 *   `message_stop`.
 * - `[[drop]]` like `[[truncate]]`, then cut the connection mid-response.
 * - `[[body:TEXT]]` answer HTTP 200 with TEXT as the raw body (not JSON).
 *
 * ## Standalone
 *
 * `deno run -A tests/support/llm_server.ts [--port N]` listens on 127.0.0.1
 * (port 0 = any free port unless `--port` is given), prints `{"port":N}` on
 * stdout once listening and serves the default behaviour until killed. Point
 * pflow at it with `ANTHROPIC_BASE_URL=http://127.0.0.1:N`,
 * `OPENAI_BASE_URL=http://127.0.0.1:N/v1` and
 * `GOOGLE_GEMINI_BASE_URL=http://127.0.0.1:N`. Every request is logged as one
 * JSON line on stderr.
 * @module
 */

import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import process from "node:process";

/** Which wire protocol a request used. */
export type LlmProtocol = "anthropic" | "openai" | "google";

/** What the server should answer to one request. Every field is optional. */
export interface ScriptedResponse {
  /** Reply text (default: the echo rule). */
  text?: string;
  /**
   * Provider-shaped usage object sent verbatim: Anthropic fields on
   * `/v1/messages`, OpenAI fields on `/chat/completions` (default: word counts).
   * In an Anthropic stream it is sent in `message_start` (with
   * `output_tokens: 1`) and its `output_tokens` in `message_delta`, unless
   * {@link ScriptedResponse.anthropicStreamUsage} says otherwise.
   */
  usage?: Record<string, unknown>;
  /** Anthropic streams only: exact `usage` of `message_start` and `message_delta`. */
  anthropicStreamUsage?: {
    start: Record<string, unknown>;
    delta: Record<string, unknown>;
  };
  /** Model name to report (default: the requested model). */
  model?: string;
  /** Message / completion id to report. */
  id?: string;
  /** Request id header value (`request-id` / `x-request-id`); `null` omits the header. */
  requestId?: string | null;
  /** Stop reason in provider terms (default `end_turn` / `stop`). */
  finishReason?: string;
  /** Answer with this HTTP status and a provider-shaped error body. */
  status?: number;
  /** Error details for {@link ScriptedResponse.status} (defaults per status). */
  error?: { type?: string; message?: string; code?: string };
  /** Extra response headers (e.g. `retry-after`, `retry-after-ms`). */
  headers?: Record<string, string>;
  /** Wait this long before sending anything. */
  delayMs?: number;
  /** Streaming: wait this long before each SSE event after the first. */
  chunkDelayMs?: number;
  /** Streaming: after the text deltas, send a provider error event instead of finishing. */
  streamError?: { type: string; message: string };
  /** Streaming, with {@link ScriptedResponse.streamError}: send the error event alone, as the stream's first (HTTP 200). */
  streamErrorFirst?: boolean;
  /** The structured-output value to reply with (in the form the request asked for). */
  json?: unknown;
  /**
   * The structured-output value as JSON text, sent as written where the reply carries text (every form but
   * a non-streamed Anthropic tool, whose `input` is the parsed value): numbers `JSON.stringify` cannot write
   * (`1234567890123456789`).
   */
  jsonText?: string;
  /** Thinking text sent before the reply (Anthropic `thinking` block, Gemini thought part). */
  thinking?: string;
  /** Send no usage object at all. */
  noUsage?: boolean;
  /** Streaming: end the stream after the text, without the closing events. */
  truncate?: boolean;
  /** Anthropic streaming: end the stream after `message_delta` (the final usage), without `message_stop`. */
  truncateAfterUsage?: boolean;
  /** Streaming: like {@link ScriptedResponse.truncate}, then cut the connection (no end of the chunked body). */
  dropConnection?: boolean;
  /** Answer with this redirect (any protocol): the status (301, 302, 307, 308) and its `Location`. */
  redirect?: { status: number; location: string };
  /** Answer HTTP 200 with this raw body instead of a provider response. */
  rawBody?: string;
  /** Content type of {@link ScriptedResponse.rawBody} (default `text/html`). */
  rawContentType?: string;
  /** Send no content at all: Anthropic `content: []`, OpenAI `content: null`, a Gemini candidate without `parts`. */
  empty?: boolean;
  /** OpenAI: the model's refusal, sent as `message.refusal` (stream: `delta.refusal`) with `content: null`. */
  refusal?: string;
  /** Gemini: block the prompt: `promptFeedback.blockReason` with this reason and no candidate. */
  blockReason?: string;
}

/** One request the server received. */
export interface RecordedRequest {
  /** HTTP method. */
  method: string;
  /** Request path (with query). */
  path: string;
  /** Protocol the path belongs to, or null for unknown paths. */
  protocol: LlmProtocol | null;
  /** Request headers, lower-case names. */
  headers: Record<string, string>;
  /** Parsed JSON body (or the raw text when it is not JSON). */
  // deno-lint-ignore no-explicit-any
  body: any;
  /** `performance.now()` when the request arrived. */
  receivedAt: number;
  /** True when the client went away before the response was complete. */
  aborted: boolean;
  /** True once the response was fully sent. */
  completed: boolean;
}

/** A running server. */
export interface LlmServer {
  /** The port it listens on. */
  readonly port: number;
  /** `http://127.0.0.1:PORT` (an Anthropic-style base URL; append `/v1` for OpenAI). */
  readonly url: string;
  /** Every request received so far, in order. */
  readonly requests: RecordedRequest[];
  /** Queues responses; each request takes the next one (FIFO). */
  enqueue(...responses: ScriptedResponse[]): void;
  /** Number of queued responses not used yet. */
  pending(): number;
  /** Clears the queue, the recorded requests and the directive counters. */
  reset(): void;
  /** Resolves once `count` requests have arrived. */
  waitForRequests(count: number): Promise<void>;
  /** Stops listening and drops open connections. */
  close(): Promise<void>;
}

/** Options of {@link startLlmServer}. */
export interface StartLlmServerOptions {
  /** Port to listen on (default 0: any free port). */
  port?: number;
  /** Called with every request once it was answered or the client went away. */
  onRequest?: (request: RecordedRequest) => void;
}

const ANTHROPIC_ERROR_TYPES: Record<number, string> = {
  400: "invalid_request_error",
  401: "authentication_error",
  403: "permission_error",
  404: "not_found_error",
  413: "request_too_large",
  429: "rate_limit_error",
  500: "api_error",
  529: "overloaded_error",
};

const OPENAI_ERRORS: Record<number, { type: string; code: string | null }> = {
  400: { type: "invalid_request_error", code: null },
  401: { type: "invalid_request_error", code: "invalid_api_key" },
  403: {
    type: "invalid_request_error",
    code: "unsupported_country_region_territory",
  },
  404: { type: "invalid_request_error", code: "model_not_found" },
  429: { type: "requests", code: "rate_limit_exceeded" },
  500: { type: "server_error", code: null },
  503: { type: "server_error", code: null },
};

const DEFAULT_ERROR_MESSAGES: Record<number, string> = {
  400: "Bad request",
  401: "invalid x-api-key",
  403: "Permission denied",
  404: "Model not found",
  429: "Rate limit exceeded",
  500: "Internal server error",
  502: "Bad gateway",
  503: "Service unavailable",
  529: "Overloaded",
};

/** Starts a server on 127.0.0.1; see the module docs for the behaviour. */
export async function startLlmServer(
  options: StartLlmServerOptions = {},
): Promise<LlmServer> {
  const queue: ScriptedResponse[] = [];
  const requests: RecordedRequest[] = [];
  const failCounters = new Map<string, number>();
  const sockets = new Set<Socket>();
  const waiters: { count: number; resolve: () => void }[] = [];
  let counter = 0;

  const notifyWaiters = () => {
    for (const waiter of [...waiters]) {
      if (requests.length >= waiter.count) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error) => {
      if (!res.headersSent) {
        res.writeHead(500, { "content-type": "text/plain" });
      }
      res.end(`llm_server internal error: ${error}`);
    });
  });
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });

  async function handle(
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<void> {
    const text = await readBody(req);
    let body: unknown = text;
    try {
      body = text ? JSON.parse(text) : null;
    } catch { /* keep the raw text */ }
    const path = req.url ?? "/";
    const pathname = path.split("?")[0];
    const protocol: LlmProtocol | null = pathname.endsWith("/v1/messages") || pathname === "/messages"
      ? "anthropic"
      : pathname.endsWith("/chat/completions")
      ? "openai"
      : /\/models\/[^/]+:(generateContent|streamGenerateContent)$/.test(pathname)
      ? "google"
      : null;
    const record: RecordedRequest = {
      method: req.method ?? "GET",
      path,
      protocol,
      headers: headerRecord(req),
      body,
      receivedAt: performance.now(),
      aborted: false,
      completed: false,
    };
    requests.push(record);
    notifyWaiters();
    const n = ++counter;
    const closed = new AbortController();
    res.on("close", () => {
      if (!res.writableFinished) {
        record.aborted = true;
        options.onRequest?.(record);
      }
      closed.abort();
    });
    res.on("finish", () => {
      record.completed = true;
      options.onRequest?.(record);
    });

    if (req.method !== "POST" || protocol === null) {
      res.writeHead(404, { "content-type": "application/json" });
      res.end(
        JSON.stringify({
          error: { message: `no route for ${req.method} ${pathname}` },
        }),
      );
      return;
    }
    // deno-lint-ignore no-explicit-any
    const request = (body ?? {}) as any;
    // What the real APIs reject before generating anything (no scripted response is used).
    const invalid = invalidRequest(request, protocol);
    if (invalid !== undefined) {
      const reply = new Reply(res, closed.signal);
      const error = { ...invalid, type: protocol === "google" ? "INVALID_ARGUMENT" : "invalid_request_error" };
      const script: ScriptedResponse = { status: 400, error };
      if (protocol === "anthropic") await answerAnthropic(reply, request, script, n);
      else if (protocol === "google") await answerGoogle(reply, { request, pathname, script, n });
      else await answerOpenAi(reply, request, script, n);
      return;
    }
    const script = queue.shift() ??
      fromDirectives(request, protocol, failCounters);
    if (script.dropConnection) script.truncate = true;
    const reply = new Reply(res, closed.signal, script.dropConnection === true);
    if (script.delayMs) await reply.sleep(script.delayMs);
    if (closed.signal.aborted) return;
    if (script.redirect !== undefined) {
      if (!closed.signal.aborted) {
        res.writeHead(script.redirect.status, { location: script.redirect.location, "content-length": "0" });
        res.end();
      }
    } else if (script.rawBody !== undefined) {
      reply.raw(200, script.rawContentType ?? "text/html", script.rawBody);
    } else if (protocol === "anthropic") {
      await answerAnthropic(reply, request, script, n);
    } else if (protocol === "google") {
      await answerGoogle(reply, { request, pathname, script, n });
    } else {
      await answerOpenAi(reply, request, script, n);
    }
  }

  // Idle connections stay open as long as providers keep them (Node's default of 5 s closes one that a client,
  // slowed down by many processes on a small machine, reuses a moment later: a reset, then a retry, in a test
  // that counts calls).
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  return {
    port,
    url: `http://127.0.0.1:${port}`,
    requests,
    enqueue: (...responses) => void queue.push(...responses),
    pending: () => queue.length,
    reset: () => {
      queue.length = 0;
      requests.length = 0;
      failCounters.clear();
    },
    waitForRequests: (count) =>
      new Promise<void>((resolve) => {
        waiters.push({ count, resolve });
        notifyWaiters();
      }),
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Writes a response, tolerating a client that went away. */
class Reply {
  constructor(readonly res: ServerResponse, readonly closed: AbortSignal, readonly drop = false) {}

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.closed.aborted) return resolve();
      const timer = setTimeout(done, ms);
      const closed = this.closed;
      function done() {
        clearTimeout(timer);
        closed.removeEventListener("abort", done);
        resolve();
      }
      closed.addEventListener("abort", done);
    });
  }

  json(
    status: number,
    headers: Record<string, string>,
    payload: unknown,
  ): void {
    if (this.closed.aborted) return;
    this.res.writeHead(status, {
      ...headers,
      "content-type": "application/json",
    });
    this.res.end(JSON.stringify(payload));
  }

  raw(status: number, contentType: string, body: string): void {
    if (this.closed.aborted) return;
    this.res.writeHead(status, { "content-type": contentType });
    this.res.end(body);
  }

  startSse(headers: Record<string, string>): void {
    this.res.writeHead(200, {
      ...headers,
      "content-type": "text/event-stream",
      "cache-control": "no-cache",
    });
  }

  /** Sends SSE events (`event` null = data-only), pausing `delayMs` before each but the first. */
  async sse(events: [string | null, string][], delayMs: number): Promise<void> {
    await this.sseEvents(events, delayMs);
    if (this.closed.aborted) return;
    // Once the events are on their way, the connection is cut before the body's end.
    if (this.drop) this.res.write("", () => this.res.socket?.destroy());
    else this.res.end();
  }

  private async sseEvents(events: [string | null, string][], delayMs: number): Promise<void> {
    let first = true;
    for (const [event, data] of events) {
      if (!first && delayMs) await this.sleep(delayMs);
      first = false;
      if (this.closed.aborted) return;
      this.res.write(`${event ? `event: ${event}\n` : ""}data: ${data}\n\n`);
    }
  }
}

/** How a request asked for structured output, and its schema. */
type StructuredAsk =
  | { form: "text"; schema: unknown }
  | { form: "tool"; schema: unknown; toolName: string }
  | undefined;

// deno-lint-ignore no-explicit-any
function anthropicStructuredAsk(request: any): StructuredAsk {
  const format = request.output_config?.format;
  if (format?.type === "json_schema") return { form: "text", schema: format.schema };
  const choice = request.tool_choice;
  const tools = Array.isArray(request.tools) ? request.tools : [];
  // deno-lint-ignore no-explicit-any
  const named = (name: unknown) => tools.find((t: any) => t?.name === name);
  // A forced tool, or (with thinking, which forbids forcing) the AI SDK's `json` tool offered with `auto`.
  const tool = choice?.type === "tool"
    ? named(choice.name)
    : choice?.type === "any"
    ? tools[0]
    : choice?.type === "auto"
    ? named("json")
    : undefined;
  return tool ? { form: "tool", schema: tool.input_schema, toolName: tool.name } : undefined;
}

// deno-lint-ignore no-explicit-any
function openAiStructuredAsk(request: any): StructuredAsk {
  const format = request.response_format;
  if (format?.type === "json_schema") return { form: "text", schema: format.json_schema?.schema };
  if (format?.type === "json_object") return { form: "text", schema: undefined };
  return undefined;
}

// deno-lint-ignore no-explicit-any
function googleStructuredAsk(request: any): StructuredAsk {
  const config = request.generationConfig ?? {};
  const schema = config.responseJsonSchema ?? config.responseSchema;
  if (schema !== undefined || config.responseMimeType === "application/json") return { form: "text", schema };
  return undefined;
}

/**
 * The structured value to reply with, and its JSON text: the scripted
 * `jsonText` (sent as written) or `json`, else the scripted text parsed as
 * JSON (undefined when it is not JSON: the text is sent as is), else one
 * built from the schema.
 */
function structuredValue(
  script: ScriptedResponse,
  schema: unknown,
  prompt: string,
): { value: unknown; text: string } | undefined {
  if (script.jsonText !== undefined) return { value: JSON.parse(script.jsonText), text: script.jsonText };
  if (script.json !== undefined) return { value: script.json, text: JSON.stringify(script.json) };
  if (script.text !== undefined) {
    try {
      const value = JSON.parse(script.text);
      return { value, text: JSON.stringify(value) };
    } catch {
      return undefined;
    }
  }
  const value = exampleOf(schema, replyText(prompt));
  return { value, text: JSON.stringify(value) };
}

/** A small value matching a JSON Schema (object properties all filled). */
function exampleOf(schema: unknown, text: string, depth = 0): unknown {
  // deno-lint-ignore no-explicit-any
  const s = (schema ?? {}) as any;
  if (Array.isArray(s.enum) && s.enum.length) return s.enum[0];
  if (s.const !== undefined) return s.const;
  const type = Array.isArray(s.type) ? s.type.find((t: string) => t !== "null") : s.type;
  if (depth > 8) return null;
  if (Array.isArray(s.anyOf) && s.anyOf.length) return exampleOf(s.anyOf[0], text, depth + 1);
  if (type === "object" || (type === undefined && s.properties)) {
    const out: Record<string, unknown> = {};
    for (const [key, sub] of Object.entries(s.properties ?? {})) out[key] = exampleOf(sub, text, depth + 1);
    return out;
  }
  if (type === "array") {
    const count = Math.max(1, typeof s.minItems === "number" ? s.minItems : 1);
    return Array.from({ length: count }, () => exampleOf(s.items, text, depth + 1));
  }
  if (type === "integer") return typeof s.minimum === "number" ? Math.ceil(s.minimum) : 1;
  if (type === "number") return typeof s.minimum === "number" ? s.minimum : 1;
  if (type === "boolean") return true;
  if (type === "null") return null;
  if (type === "string") return text;
  return depth === 0 ? { value: text } : text;
}

async function answerAnthropic(
  reply: Reply,
  // deno-lint-ignore no-explicit-any
  request: any,
  script: ScriptedResponse,
  n: number,
): Promise<void> {
  const requestId = script.requestId === undefined ? `req_test_${n}` : script.requestId;
  const headers: Record<string, string> = { ...(script.headers ?? {}) };
  if (requestId !== null) headers["request-id"] = requestId;
  if (script.status && script.status >= 400) {
    const type = script.error?.type ?? ANTHROPIC_ERROR_TYPES[script.status] ??
      "api_error";
    const message = script.error?.message ??
      DEFAULT_ERROR_MESSAGES[script.status] ?? "Error";
    reply.json(script.status, headers, {
      type: "error",
      error: { type, message },
      ...(requestId !== null ? { request_id: requestId } : {}),
    });
    return;
  }
  const prompt = lastUserText(request.messages);
  const ask = anthropicStructuredAsk(request);
  const structured = ask ? structuredValue(script, ask.schema, prompt) : undefined;
  const text = script.empty
    ? ""
    : structured && ask?.form === "text"
    ? structured.text
    : structured && ask?.form === "tool"
    ? ""
    : script.text ?? replyText(prompt);
  const toolUse = structured && ask?.form === "tool" && !script.empty
    ? { type: "tool_use", id: `toolu_test_${n}`, name: ask.toolName, input: structured.value, text: structured.text }
    : undefined;
  const model = script.model ?? String(request.model ?? "unknown");
  const id = script.id ?? `msg_test_${n}`;
  const stopReason = script.finishReason ?? (toolUse ? "tool_use" : "end_turn");
  const usage = script.usage ?? {
    input_tokens: countWords(anthropicInputText(request)),
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: 0,
    output_tokens: countWords(text) + countWords(script.thinking ?? "") +
      (toolUse ? countWords(toolUse.text) : 0),
  };
  const thinkingBlock = script.thinking !== undefined
    ? { type: "thinking", thinking: script.thinking, signature: "sig_test" }
    : undefined;
  if (!request.stream) {
    const content = [
      ...(thinkingBlock ? [thinkingBlock] : []),
      ...(toolUse
        ? [{ type: toolUse.type, id: toolUse.id, name: toolUse.name, input: toolUse.input }]
        : script.empty
        ? []
        : [{ type: "text", text }]),
    ];
    reply.json(200, headers, {
      id,
      type: "message",
      role: "assistant",
      model,
      content,
      stop_reason: stopReason,
      stop_sequence: null,
      ...(script.noUsage ? {} : { usage }),
    });
    return;
  }
  const streamUsage = script.anthropicStreamUsage ?? {
    start: { ...usage, output_tokens: 1 },
    delta: { output_tokens: usage.output_tokens },
  };
  const events: [string, unknown][] = [
    ["message_start", {
      type: "message_start",
      message: {
        id,
        type: "message",
        role: "assistant",
        model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        ...(script.noUsage ? {} : { usage: streamUsage.start }),
      },
    }],
  ];
  let index = 0;
  if (thinkingBlock) {
    events.push(
      ["content_block_start", {
        type: "content_block_start",
        index,
        content_block: { type: "thinking", thinking: "", signature: "" },
      }],
      ["content_block_delta", {
        type: "content_block_delta",
        index,
        delta: { type: "thinking_delta", thinking: thinkingBlock.thinking },
      }],
      ["content_block_delta", {
        type: "content_block_delta",
        index,
        delta: { type: "signature_delta", signature: "sig_test" },
      }],
      ["content_block_stop", { type: "content_block_stop", index }],
    );
    index++;
  }
  if (toolUse) {
    events.push(
      ["content_block_start", {
        type: "content_block_start",
        index,
        content_block: { type: "tool_use", id: toolUse.id, name: toolUse.name, input: {} },
      }],
    );
    for (const piece of splitJson(toolUse.text)) {
      events.push(["content_block_delta", {
        type: "content_block_delta",
        index,
        delta: { type: "input_json_delta", partial_json: piece },
      }]);
    }
  } else if (!script.empty) {
    events.push(
      ["content_block_start", {
        type: "content_block_start",
        index,
        content_block: { type: "text", text: "" },
      }],
      ["ping", { type: "ping" }],
    );
    for (const piece of splitText(text)) {
      events.push(["content_block_delta", {
        type: "content_block_delta",
        index,
        delta: { type: "text_delta", text: piece },
      }]);
    }
  }
  if (script.streamError) {
    events.push(["error", { type: "error", error: script.streamError }]);
  } else if (!script.truncate) {
    events.push(
      ...(toolUse || !script.empty
        ? [["content_block_stop", { type: "content_block_stop", index }] as [string, unknown]]
        : []),
      ["message_delta", {
        type: "message_delta",
        delta: { stop_reason: stopReason, stop_sequence: null },
        ...(script.noUsage ? {} : { usage: streamUsage.delta }),
      }],
      ...(script.truncateAfterUsage ? [] : [["message_stop", { type: "message_stop" }] as [string, unknown]]),
    );
  }
  reply.startSse(headers);
  await reply.sse(
    errorFirst(script, events).map(([e, d]) => [e, JSON.stringify(d)]),
    script.chunkDelayMs ?? 0,
  );
}

async function answerOpenAi(
  reply: Reply,
  // deno-lint-ignore no-explicit-any
  request: any,
  script: ScriptedResponse,
  n: number,
): Promise<void> {
  const requestId = script.requestId === undefined ? `req_test_${n}` : script.requestId;
  const headers: Record<string, string> = { ...(script.headers ?? {}) };
  if (requestId !== null) headers["x-request-id"] = requestId;
  if (script.status && script.status >= 400) {
    const preset = OPENAI_ERRORS[script.status] ??
      {
        type: script.status >= 500 ? "server_error" : "invalid_request_error",
        code: null,
      };
    reply.json(script.status, headers, {
      error: {
        message: script.error?.message ??
          DEFAULT_ERROR_MESSAGES[script.status] ?? "Error",
        type: script.error?.type ?? preset.type,
        param: null,
        code: script.error?.code ?? preset.code,
      },
    });
    return;
  }
  const prompt = lastUserText(request.messages);
  const ask = openAiStructuredAsk(request);
  const structured = ask ? structuredValue(script, ask.schema, prompt) : undefined;
  // No content: nothing generated, or a refusal (which OpenAI sends apart, with `content: null`).
  const noContent = script.empty === true || script.refusal !== undefined;
  const text = noContent ? "" : structured ? structured.text : script.text ?? replyText(prompt);
  const model = script.model ?? String(request.model ?? "unknown");
  const id = script.id ?? `chatcmpl-test-${n}`;
  const finishReason = script.finishReason ?? "stop";
  const created = 1_700_000_000 + n;
  let usage = script.usage;
  if (!usage) {
    const input = countWords(openAiInputText(request));
    const output = countWords(text) + countWords(script.refusal ?? "");
    usage = {
      prompt_tokens: input,
      completion_tokens: output,
      total_tokens: input + output,
    };
  }
  if (!request.stream) {
    reply.json(200, headers, {
      id,
      object: "chat.completion",
      created,
      model,
      choices: [{
        index: 0,
        message: { role: "assistant", content: noContent ? null : text, refusal: script.refusal ?? null },
        logprobs: null,
        finish_reason: finishReason,
      }],
      ...(script.noUsage ? {} : { usage }),
      system_fingerprint: "fp_test",
    });
    return;
  }
  const includeUsage = request.stream_options?.include_usage === true && !script.noUsage;
  const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) =>
    JSON.stringify({
      id,
      object: "chat.completion.chunk",
      created,
      model,
      system_fingerprint: "fp_test",
      choices,
      ...(includeUsage ? { usage: null } : {}),
      ...extra,
    });
  const events: [null, string][] = [
    [
      null,
      chunk([{
        index: 0,
        delta: { role: "assistant", content: "" },
        finish_reason: null,
      }]),
    ],
  ];
  for (const piece of noContent ? [] : splitText(text)) {
    events.push([
      null,
      chunk([{ index: 0, delta: { content: piece }, finish_reason: null }]),
    ]);
  }
  for (const piece of script.refusal !== undefined ? splitText(script.refusal) : []) {
    events.push([null, chunk([{ index: 0, delta: { refusal: piece }, finish_reason: null }])]);
  }
  if (script.streamError) {
    events.push([
      null,
      JSON.stringify({
        error: { ...script.streamError, param: null, code: null },
      }),
    ]);
  } else if (!script.truncate) {
    events.push([
      null,
      chunk([{ index: 0, delta: {}, finish_reason: finishReason }]),
    ]);
    if (includeUsage) events.push([null, chunk([], { usage })]);
    events.push([null, "[DONE]"]);
  }
  reply.startSse(headers);
  await reply.sse(errorFirst(script, events), script.chunkDelayMs ?? 0);
}

const GOOGLE_STATUSES: Record<number, string> = {
  400: "INVALID_ARGUMENT",
  401: "UNAUTHENTICATED",
  403: "PERMISSION_DENIED",
  404: "NOT_FOUND",
  429: "RESOURCE_EXHAUSTED",
  500: "INTERNAL",
  503: "UNAVAILABLE",
};

async function answerGoogle(
  reply: Reply,
  // deno-lint-ignore no-explicit-any
  call: { request: any; pathname: string; script: ScriptedResponse; n: number },
): Promise<void> {
  const { request, pathname, script, n } = call;
  const headers: Record<string, string> = { ...(script.headers ?? {}) };
  if (script.status && script.status >= 400) {
    reply.json(script.status, headers, {
      error: {
        code: script.status,
        message: script.error?.message ?? DEFAULT_ERROR_MESSAGES[script.status] ?? "Error",
        status: script.error?.type ?? GOOGLE_STATUSES[script.status] ?? "UNKNOWN",
      },
    });
    return;
  }
  const model = script.model ?? decodeURIComponent(pathname.match(/\/models\/([^/:]+):/)?.[1] ?? "unknown");
  const prompt = lastGoogleUserText(request.contents);
  const ask = googleStructuredAsk(request);
  const structured = ask ? structuredValue(script, ask.schema, prompt) : undefined;
  const text = script.empty ? "" : structured ? structured.text : script.text ?? replyText(prompt);
  const thoughts = script.thinking;
  const responseId = script.id ?? `resp_test_${n}`;
  if (script.blockReason !== undefined) {
    // A blocked prompt: no candidate at all, the reason in promptFeedback, only the prompt's tokens.
    const input = countWords(googleInputText(request));
    const blocked = {
      promptFeedback: { blockReason: script.blockReason },
      ...(script.noUsage ? {} : { usageMetadata: script.usage ?? { promptTokenCount: input, totalTokenCount: input } }),
      modelVersion: model,
      responseId,
    };
    if (!pathname.endsWith(":streamGenerateContent")) return reply.json(200, headers, blocked);
    reply.startSse(headers);
    return await reply.sse([[null, JSON.stringify(blocked)]], 0);
  }
  const usage = script.usage ?? {
    promptTokenCount: countWords(googleInputText(request)),
    candidatesTokenCount: countWords(text),
    ...(thoughts !== undefined ? { thoughtsTokenCount: countWords(thoughts) } : {}),
    totalTokenCount: countWords(googleInputText(request)) + countWords(text) + countWords(thoughts ?? ""),
  };
  const finishReason = script.finishReason ?? "STOP";
  const thoughtPart = thoughts !== undefined ? [{ text: thoughts, thought: true }] : [];
  if (!pathname.endsWith(":streamGenerateContent")) {
    reply.json(200, headers, {
      candidates: [{
        content: script.empty && !thoughtPart.length
          ? { role: "model" }
          : { parts: [...thoughtPart, ...(script.empty ? [] : [{ text }])], role: "model" },
        finishReason,
        index: 0,
      }],
      ...(script.noUsage ? {} : { usageMetadata: usage }),
      modelVersion: model,
      responseId,
    });
    return;
  }
  const pieces = script.empty ? [""] : splitText(text);
  const events: [null, string][] = [];
  if (thoughtPart.length) {
    events.push([
      null,
      JSON.stringify({
        candidates: [{ content: { parts: thoughtPart, role: "model" }, index: 0 }],
        modelVersion: model,
        responseId,
      }),
    ]);
  }
  pieces.forEach((piece, i) => {
    const last = i === pieces.length - 1;
    events.push([
      null,
      JSON.stringify({
        candidates: [{
          content: script.empty ? { role: "model" } : { parts: [{ text: piece }], role: "model" },
          index: 0,
          ...(last && !script.truncate && !script.streamError ? { finishReason } : {}),
        }],
        ...(script.noUsage || (script.truncate && last) ? {} : { usageMetadata: last ? usage : { ...usage } }),
        modelVersion: model,
        responseId,
      }),
    ]);
  });
  if (script.streamError) {
    events.push([null, JSON.stringify({ error: { code: 500, ...script.streamError, status: "INTERNAL" } })]);
  }
  reply.startSse(headers);
  await reply.sse(errorFirst(script, events), script.chunkDelayMs ?? 0);
}

/** The stream's events, or only its error event (the last) when the script sends it first. */
function errorFirst<T>(script: ScriptedResponse, events: T[]): T[] {
  return script.streamError && script.streamErrorFirst ? events.slice(-1) : events;
}

/**
 * What the real API rejects with 400 before generating anything, worded as it words it: a Gemini turn
 * with no parts, an Anthropic text block with no text; undefined for a request it accepts.
 */
// deno-lint-ignore no-explicit-any
function invalidRequest(request: any, protocol: LlmProtocol): { message: string } | undefined {
  if (protocol === "google") {
    const contents = Array.isArray(request.contents) ? request.contents : [];
    // deno-lint-ignore no-explicit-any
    const i = contents.findIndex((c: any) => !Array.isArray(c?.parts) || c.parts.length === 0);
    if (i >= 0) {
      return { message: `* GenerateContentRequest.contents[${i}].parts: contents.parts must not be empty.\n` };
    }
  } else if (protocol === "anthropic") {
    const messages: { role?: unknown; content?: unknown }[] = Array.isArray(request.messages) ? request.messages : [];
    const i = messages.findIndex((m, i) =>
      (m?.content === "" || (Array.isArray(m?.content) && m.content.length === 0)) &&
      !(i === messages.length - 1 && m.role === "assistant")
    );
    if (i >= 0) {
      return {
        message:
          `messages.${i}: all messages must have non-empty content except for the optional final assistant message`,
      };
    }
    const empty = messages.some((m) =>
      Array.isArray(m?.content) &&
      // deno-lint-ignore no-explicit-any
      m.content.some((b: any) => b?.type === "text" && (typeof b.text !== "string" || b.text === ""))
    );
    if (empty) return { message: "messages: text content blocks must be non-empty" };
  }
  return undefined;
}

/** Builds the behaviour for a request from the default rule and its prompt directives. */
function fromDirectives(
  // deno-lint-ignore no-explicit-any
  request: any,
  protocol: LlmProtocol,
  failCounters: Map<string, number>,
): ScriptedResponse {
  const prompt = protocol === "google" ? lastGoogleUserText(request.contents) : lastUserText(request.messages);
  const script: ScriptedResponse = {};
  const thinking = prompt.match(/\[\[thinking:([\s\S]*?)\]\]/);
  if (thinking) script.thinking = thinking[1];
  if (prompt.includes("[[no-usage]]")) script.noUsage = true;
  if (prompt.includes("[[truncate]]")) script.truncate = true;
  if (prompt.includes("[[truncate-after-usage]]")) script.truncateAfterUsage = true;
  if (prompt.includes("[[drop]]")) script.dropConnection = true;
  const body = prompt.match(/\[\[body:([\s\S]*?)\]\]/);
  if (body) script.rawBody = body[1];
  const sleep = prompt.match(/\[\[sleep:(\d+)\]\]/);
  if (sleep) script.delayMs = Number(sleep[1]);
  const replyMatch = prompt.match(/\[\[reply:([\s\S]*?)\]\]/);
  if (replyMatch) script.text = replyMatch[1];
  const usage = prompt.match(/\[\[usage:(\{[\s\S]*?\})\]\]/);
  if (usage) {
    try {
      script.usage = JSON.parse(usage[1]);
    } catch { /* ignored: malformed usage directive */ }
  }
  const fail = prompt.match(/\[\[fail:(\d{3})(?::(\d+))?\]\]/);
  if (fail) {
    const status = Number(fail[1]);
    const times = fail[2] === undefined ? Infinity : Number(fail[2]);
    const key = `${protocol}\n${prompt}`;
    const seen = failCounters.get(key) ?? 0;
    failCounters.set(key, seen + 1);
    if (seen < times) {
      const retryAfter = prompt.match(/\[\[retry-after:(\d+(?:\.\d+)?)\]\]/);
      const retryable = status === 429 || status >= 500;
      script.status = status;
      script.headers = retryAfter ? { "retry-after": retryAfter[1] } : retryable ? { "retry-after-ms": "20" } : {};
    }
  }
  return script;
}

function replyText(prompt: string): string {
  return `echo: ${prompt}`;
}

/** Splits JSON text into a few partial pieces. */
function splitJson(text: string): string[] {
  const size = Math.max(1, Math.ceil(text.length / 3));
  const pieces: string[] = [];
  for (let i = 0; i < text.length; i += size) pieces.push(text.slice(i, i + size));
  return pieces.length ? pieces : [""];
}

/** Splits a text into a few stream deltas (word boundaries kept). */
function splitText(text: string): string[] {
  const pieces = text.match(/\S+\s*|\s+/g) ?? [];
  return pieces.length ? pieces : [""];
}

function countWords(text: string): number {
  return text.split(/\s+/).filter(Boolean).length;
}

// deno-lint-ignore no-explicit-any
function contentText(content: any): string {
  if (typeof content === "string") return content;
  if (Array.isArray(content)) {
    return content.map((
      part,
    ) => (typeof part?.text === "string" ? part.text : "")).join(" ");
  }
  return "";
}

// deno-lint-ignore no-explicit-any
function lastUserText(messages: any): string {
  if (!Array.isArray(messages)) return "";
  for (let i = messages.length - 1; i >= 0; i--) {
    if (messages[i]?.role === "user") return contentText(messages[i].content);
  }
  return "";
}

// deno-lint-ignore no-explicit-any
function googleParts(content: any): string {
  // deno-lint-ignore no-explicit-any
  return (content?.parts ?? []).map((p: any) => (typeof p?.text === "string" ? p.text : "")).join(" ");
}

// deno-lint-ignore no-explicit-any
function lastGoogleUserText(contents: any): string {
  if (!Array.isArray(contents)) return "";
  for (let i = contents.length - 1; i >= 0; i--) {
    if (contents[i]?.role === "user") return googleParts(contents[i]);
  }
  return "";
}

// deno-lint-ignore no-explicit-any
function googleInputText(request: any): string {
  // deno-lint-ignore no-explicit-any
  return [googleParts(request.systemInstruction), ...(request.contents ?? []).map((c: any) => googleParts(c))].join(
    " ",
  );
}

// deno-lint-ignore no-explicit-any
function anthropicInputText(request: any): string {
  const parts = [contentText(request.system)];
  for (const message of request.messages ?? []) {
    parts.push(contentText(message?.content));
  }
  return parts.join(" ");
}

// deno-lint-ignore no-explicit-any
function openAiInputText(request: any): string {
  return (request.messages ?? []).map((m: { content: unknown }) => contentText(m?.content)).join(" ");
}

function headerRecord(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) {
      out[name] = Array.isArray(value) ? value.join(", ") : value;
    }
  }
  return out;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Uint8Array[] = [];
    req.on("data", (chunk: Uint8Array) => chunks.push(chunk));
    req.on("end", () => resolve(new TextDecoder().decode(concat(chunks))));
    req.on("error", reject);
  });
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((sum, c) => sum + c.length, 0));
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

if (import.meta.main) {
  const portArg = process.argv.indexOf("--port");
  const port = portArg >= 0 ? Number(process.argv[portArg + 1]) : 0;
  const srv = await startLlmServer({
    port,
    onRequest: (r) =>
      process.stderr.write(
        JSON.stringify({
          method: r.method,
          path: r.path,
          model: r.body?.model ?? null,
          aborted: r.aborted,
        }) +
          "\n",
      ),
  });
  process.stdout.write(JSON.stringify({ port: srv.port }) + "\n");
}
