// Calls through the real AI SDK against the local Anthropic / OpenAI wire-protocol server.
import assert from "node:assert/strict";
import { callLlm, checkModelConfig, LlmCallError, LlmConfigError, type LlmSettings } from "../src/llm/mod.ts";
import { type LlmServer, startLlmServer } from "./support/llm_server.ts";
import { AttemptTimeoutError, createAttemptFetch } from "../src/llm/attempt_fetch.ts";

const ANTHROPIC_KEY = "sk-ant-test-key-0123456789";
const OPENAI_KEY = "sk-openai-test-key-9876543210";

function envFor(
  srv: LlmServer,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    ANTHROPIC_API_KEY: ANTHROPIC_KEY,
    ANTHROPIC_BASE_URL: srv.url,
    OPENAI_API_KEY: OPENAI_KEY,
    OPENAI_BASE_URL: `${srv.url}/v1`,
    ...extra,
  };
}

/** Runs `fn` with a fresh server, closing it afterwards. */
function withServer(
  fn: (srv: LlmServer) => Promise<void>,
): () => Promise<void> {
  return async () => {
    const srv = await startLlmServer();
    try {
      await fn(srv);
    } finally {
      await srv.close();
    }
  };
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof Error, `expected an Error, got ${error}`);
    return error;
  }
  assert.fail("expected the call to fail");
}

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = performance.now() + 2000;
  while (!condition()) {
    if (performance.now() > deadline) {
      assert.fail(`timed out waiting for: ${what}`);
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}

const settings: LlmSettings = {};

// --- Anthropic ---------------------------------------------------------------

Deno.test(
  "anthropic JSON: text, raw usage with cache 5m/1h split, request id, response model, what was sent",
  withServer(async (srv) => {
    const usage = {
      input_tokens: 12,
      cache_read_input_tokens: 1000,
      cache_creation_input_tokens: 300,
      cache_creation: {
        ephemeral_5m_input_tokens: 100,
        ephemeral_1h_input_tokens: 200,
      },
      output_tokens: 57,
      service_tier: "standard",
    };
    srv.enqueue({
      text: "Bonjour",
      usage,
      model: "claude-sonnet-4-5-20250929",
      requestId: "req_abc",
      id: "msg_01XFDUDYJgAACzvnptvVoYEL",
    });
    const res = await callLlm(
      {
        model: "anthropic/claude-sonnet-4-5",
        prompt: "Say hi",
        system: "Be brief",
        maxTokens: 99,
        temperature: 0.5,
      },
      { env: envFor(srv), settings },
    );
    assert.equal(res.text, "Bonjour");
    assert.equal(res.finish_reason, "stop");
    assert.deepEqual(res.request, {
      model: "anthropic/claude-sonnet-4-5",
      system: "Be brief",
      messages: [{ role: "user", content: "Say hi" }],
      max_tokens: 99,
      temperature: 0.5,
    });
    assert.equal(res.time_to_first_token_ms, undefined);
    const { duration_ms, ...rest } = res.usage;
    assert.ok(duration_ms >= 0);
    assert.deepEqual(rest, {
      provider: "anthropic",
      model: "anthropic/claude-sonnet-4-5",
      response_model: "claude-sonnet-4-5-20250929",
      input_tokens: 12,
      cache_read_tokens: 1000,
      cache_write_tokens: 300,
      cache_write_5m_tokens: 100,
      cache_write_1h_tokens: 200,
      output_tokens: 57,
      reasoning_tokens: 0,
      request_id: "req_abc",
      response_id: "msg_01XFDUDYJgAACzvnptvVoYEL",
      raw: usage,
    });

    assert.equal(srv.requests.length, 1);
    const sent = srv.requests[0];
    assert.equal(sent.path, "/v1/messages");
    assert.equal(sent.headers["x-api-key"], ANTHROPIC_KEY);
    assert.ok(
      sent.headers["anthropic-version"],
      "anthropic-version header sent",
    );
    assert.equal(sent.headers["authorization"], undefined);
    assert.equal(sent.body.model, "claude-sonnet-4-5");
    assert.equal(sent.body.max_tokens, 99);
    assert.equal(sent.body.temperature, 0.5);
    assert.ok(!sent.body.stream);
    assert.equal(JSON.stringify(sent.body.system).includes("Be brief"), true);
    assert.deepEqual(sent.body.messages.map((m: { role: string }) => m.role), [
      "user",
    ]);
    assert.equal(
      JSON.stringify(sent.body.messages[0].content).includes("Say hi"),
      true,
    );
  }),
);

Deno.test(
  "anthropic JSON: cache writes without a split are all 5-minute; request id falls back to the message id",
  withServer(async (srv) => {
    srv.enqueue({
      id: "msg_fallback",
      requestId: null,
      usage: {
        input_tokens: 3,
        cache_creation_input_tokens: 40,
        cache_read_input_tokens: 0,
        output_tokens: 2,
      },
    });
    const res = await callLlm({
      model: "anthropic/claude-sonnet-4-5",
      prompt: "x",
    }, { env: envFor(srv), settings });
    assert.equal(res.usage.request_id, "msg_fallback");
    assert.equal(res.usage.cache_write_tokens, 40);
    assert.equal(res.usage.cache_write_5m_tokens, 40);
    assert.equal(res.usage.cache_write_1h_tokens, 0);
    assert.equal(res.usage.input_tokens, 3);
  }),
);

Deno.test(
  "anthropic streaming: text, time to first token, usage folded from message_start + cumulative message_delta",
  withServer(async (srv) => {
    const start = {
      input_tokens: 10,
      cache_read_input_tokens: 100,
      cache_creation_input_tokens: 50,
      cache_creation: {
        ephemeral_5m_input_tokens: 20,
        ephemeral_1h_input_tokens: 30,
      },
      output_tokens: 1,
    };
    // Newer API versions repeat (possibly updated) input fields in message_delta.
    const delta = {
      input_tokens: 14,
      cache_read_input_tokens: 100,
      cache_creation_input_tokens: null,
      output_tokens: 42,
    };
    srv.enqueue({
      text: "one two three four",
      anthropicStreamUsage: { start, delta },
      chunkDelayMs: 30,
      model: "claude-sonnet-4-5-20250929",
    });
    const res = await callLlm(
      { model: "anthropic/claude-sonnet-4-5", prompt: "count", stream: true },
      { env: envFor(srv), settings },
    );
    assert.equal(res.text, "one two three four");
    assert.equal(res.finish_reason, "stop");
    assert.equal(srv.requests[0].body.stream, true);
    assert.equal(res.usage.input_tokens, 14);
    assert.equal(res.usage.cache_read_tokens, 100);
    assert.equal(res.usage.cache_write_tokens, 50);
    assert.equal(res.usage.cache_write_5m_tokens, 20);
    assert.equal(res.usage.cache_write_1h_tokens, 30);
    assert.equal(
      res.usage.output_tokens,
      42,
      "output_tokens of message_delta is cumulative, not added to message_start's",
    );
    assert.equal(res.usage.response_model, "claude-sonnet-4-5-20250929");
    assert.equal(res.usage.request_id, "req_test_1");
    assert.deepEqual(res.usage.raw, {
      ...start,
      ...delta,
      cache_creation_input_tokens: 50,
    });
    assert.ok(
      res.time_to_first_token_ms !== undefined &&
        res.time_to_first_token_ms >= 0,
    );
    // Three more deltas follow the first one, 30 ms apart each (plus the closing events).
    assert.ok(
      res.usage.duration_ms - res.time_to_first_token_ms! >= 80,
      `ttft ${res.time_to_first_token_ms} vs duration ${res.usage.duration_ms}`,
    );
  }),
);

Deno.test(
  "anthropic streaming: a final message_delta reporting input_tokens 0 (sglang, gateways) keeps message_start's input",
  withServer(async (srv) => {
    srv.enqueue({
      text: "hi",
      anthropicStreamUsage: {
        start: {
          input_tokens: 100000,
          cache_creation_input_tokens: 0,
          cache_read_input_tokens: 50000,
          output_tokens: 1,
        },
        delta: { input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 500 },
      },
    });
    const res = await callLlm(
      { model: "anthropic/claude-sonnet-4-5", prompt: "x", stream: true },
      { env: envFor(srv), settings },
    );
    assert.equal(res.usage.input_tokens, 100000);
    assert.equal(res.usage.cache_read_tokens, 50000);
    assert.equal(res.usage.output_tokens, 500);
    assert.equal(res.usage.usage_missing, undefined);
  }),
);

Deno.test(
  "anthropic: a reply whose usage lacks counts (or has none) is kept, its usage missing with the counts it gave",
  withServer(async (srv) => {
    srv.enqueue(
      { text: "no input count", usage: { output_tokens: 7 } },
      { text: "no final usage", anthropicStreamUsage: { start: { input_tokens: 1000 }, delta: {} }, chunkDelayMs: 5 },
      { text: "none at all", noUsage: true, chunkDelayMs: 5 },
    );
    const call = (stream: boolean) =>
      callLlm({ model: "anthropic/claude-sonnet-4-5", prompt: "x", stream, maxRetries: 0 }, {
        env: envFor(srv),
        settings,
      });
    const json = await call(false);
    assert.equal(json.text, "no input count");
    assert.deepEqual([json.usage.usage_missing, json.usage.output_tokens, json.usage.raw], [true, 7, null]);
    const partial = await call(true);
    assert.equal(partial.text, "no final usage");
    assert.deepEqual([partial.usage.usage_missing, partial.usage.input_tokens], [true, 1000]);
    const none = await call(true);
    assert.equal(none.text, "none at all");
    assert.deepEqual([none.usage.usage_missing, none.usage.input_tokens, none.usage.output_tokens], [true, 0, 0]);
    assert.equal(none.usage.response_id, "msg_test_3", "the events' other fields are read as sent");
  }),
);

Deno.test(
  "openai and gemini: a usage object that leaves out a count the protocol always sends is missing usage, not 0 tokens",
  withServer(async (srv) => {
    const env = envFor(srv, { GOOGLE_GENERATIVE_AI_API_KEY: "google-test-key", GOOGLE_GEMINI_BASE_URL: srv.url });
    const cases: [model: string, usage: Record<string, unknown>, missing: true | undefined, input: number][] = [
      ["openai/gpt-4o-mini", {}, true, 0],
      ["openai/gpt-4o-mini", { prompt_tokens: 100 }, true, 100],
      ["openai/gpt-4o-mini", { completion_tokens: 5 }, true, 0],
      ["openai/gpt-4o-mini", { prompt_tokens: 100, completion_tokens: 0 }, undefined, 100],
      ["google/gemini-2.5-flash", { candidatesTokenCount: 4 }, true, 0],
      // proto3 JSON leaves a count of 0 out: no candidates count is 0 output, known.
      ["google/gemini-2.5-flash", { promptTokenCount: 10, totalTokenCount: 10 }, undefined, 10],
    ];
    for (const [model, usage, missing, input] of cases) {
      for (const stream of [false, true]) {
        srv.enqueue({ text: "ok", usage });
        const res = await callLlm({ model, prompt: "x", stream, maxRetries: 0 }, { env, settings });
        const label = `${model} ${JSON.stringify(usage)} stream=${stream}`;
        assert.equal(res.text, "ok", label);
        assert.equal(res.usage.usage_missing, missing, label);
        assert.equal(res.usage.input_tokens, input, label);
        assert.deepEqual(res.usage.raw, usage, `${label}: raw is what was sent`);
      }
    }
  }),
);

Deno.test(
  "anthropic streaming: an error event after output started is a LlmCallError",
  withServer(async (srv) => {
    srv.enqueue({
      text: "partial answer",
      streamError: { type: "overloaded_error", message: "Overloaded" },
    });
    const error = await rejection(
      callLlm({
        model: "anthropic/claude-sonnet-4-5",
        prompt: "x",
        stream: true,
        maxRetries: 0,
      }, { env: envFor(srv), settings }),
    );
    assert.ok(error instanceof LlmCallError);
    assert.equal(
      error.message,
      "anthropic/claude-sonnet-4-5: stream error overloaded_error: Overloaded",
    );
    assert.equal(error.errorType, "overloaded_error");
    assert.equal(error.retryable, true);
    // The tokens message_start reported before the error are kept on the failed attempt, but the stream
    // never reached its final usage (message_delta): its cost is unknown.
    assert.equal(error.failedAttempts.length, 1);
    assert.equal(error.failedAttempts[0].usage.input_tokens, 1);
    assert.equal(error.failedAttempts[0].usage.usage_missing, true);
    assert.equal(error.failedAttempts[0].error.message, error.message);
  }),
);

Deno.test(
  "streaming: a retryable error event is retried; the failed attempt is reported with its tokens",
  withServer(async (srv) => {
    srv.enqueue(
      { text: "partial", streamError: { type: "overloaded_error", message: "Overloaded" } },
      { text: "whole answer" },
    );
    const res = await callLlm({
      model: "anthropic/claude-sonnet-4-5",
      prompt: "x",
      stream: true,
      maxRetries: 1,
    }, { env: envFor(srv), settings });
    assert.equal(res.text, "whole answer", "the partial text of the failed attempt is dropped");
    assert.equal(srv.requests.length, 2);
    assert.equal(res.failedAttempts?.length, 1);
    const failed = res.failedAttempts![0];
    assert.equal(
      failed.status,
      null,
      "the response was HTTP 200: the SDK's 529 for overloaded_error is no HTTP status",
    );
    assert.match(failed.error.message, /stream error overloaded_error: Overloaded/);
    assert.equal(failed.usage.input_tokens, 1, "message_start's input tokens");
    assert.equal(failed.usage.request_id, "req_test_1");
  }),
);

Deno.test(
  "a stream whose first event is an error (HTTP 200): a stream error naming type and message, no HTTP status; usage 0",
  withServer(async (srv) => {
    const env = envFor(srv, { GOOGLE_GENERATIVE_AI_API_KEY: "google-test-key", GOOGLE_GEMINI_BASE_URL: srv.url });
    const cases: [string, { type: string; message: string }, string][] = [
      ["anthropic/claude-sonnet-4-5", { type: "overloaded_error", message: "Overloaded" }, "overloaded_error"],
      ["openai/gpt-4o-mini", { type: "server_error", message: "The server had an error" }, "server_error"],
      ["google/gemini-2.5-flash", { type: "x", message: "Internal error" }, "INTERNAL"],
    ];
    for (const [model, streamError, type] of cases) {
      srv.enqueue({ streamError, streamErrorFirst: true });
      const error = await rejection(callLlm({ model, prompt: "x", stream: true, maxRetries: 0 }, { env, settings }));
      assert.ok(error instanceof LlmCallError, String(error));
      assert.equal(error.message, `${model}: stream error ${type}: ${streamError.message}`);
      assert.equal(error.status, null, "the server sent HTTP 200");
      assert.equal(error.errorType, type);
      assert.equal(error.retryable, true);
      // Nothing was generated: known to cost nothing, not unknown.
      const usage = error.failedAttempts[0].usage;
      assert.equal(usage.usage_missing, undefined, model);
      assert.equal(usage.input_tokens + usage.output_tokens, 0);
    }
    // Retried like an overload.
    srv.enqueue({
      streamError: { type: "overloaded_error", message: "Overloaded" },
      streamErrorFirst: true,
      headers: { "retry-after-ms": "10" },
    }, {
      text: "second try",
    });
    const res = await callLlm({ model: "anthropic/claude-sonnet-4-5", prompt: "x", stream: true, maxRetries: 1 }, {
      env,
      settings,
    });
    assert.equal(res.text, "second try");
    assert.equal(
      res.failedAttempts?.[0].error.message,
      "anthropic/claude-sonnet-4-5: stream error overloaded_error: Overloaded",
    );
  }),
);

// --- OpenAI ------------------------------------------------------------------

Deno.test(
  "openai JSON: Chat Completions, bearer key, cached tokens taken out of prompt, reasoning inside output",
  withServer(async (srv) => {
    const usage = {
      prompt_tokens: 1000,
      completion_tokens: 300,
      total_tokens: 1300,
      prompt_tokens_details: { cached_tokens: 800, audio_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: 200, audio_tokens: 0 },
    };
    srv.enqueue({
      text: "42",
      usage,
      model: "gpt-4o-mini-2024-07-18",
      requestId: "req_oai_1",
    });
    const res = await callLlm(
      {
        model: "openai/gpt-4o-mini",
        prompt: "answer",
        system: "You are terse",
        maxTokens: 50,
      },
      { env: envFor(srv), settings },
    );
    assert.equal(res.text, "42");
    assert.equal(res.finish_reason, "stop");
    const u = res.usage;
    assert.equal(u.provider, "openai");
    assert.equal(u.model, "openai/gpt-4o-mini");
    assert.equal(u.response_model, "gpt-4o-mini-2024-07-18");
    assert.equal(u.request_id, "req_oai_1");
    assert.equal(u.input_tokens, 200);
    assert.equal(u.cache_read_tokens, 800);
    assert.equal(u.cache_write_tokens, 0);
    assert.equal(u.output_tokens, 300);
    assert.equal(u.reasoning_tokens, 200);
    assert.equal(u.reported_cost_usd, undefined);
    assert.deepEqual(u.raw, usage);

    const sent = srv.requests[0];
    assert.equal(sent.path, "/v1/chat/completions");
    assert.equal(sent.headers["authorization"], `Bearer ${OPENAI_KEY}`);
    assert.equal(sent.body.model, "gpt-4o-mini");
    assert.deepEqual(sent.body.messages, [
      { role: "system", content: "You are terse" },
      { role: "user", content: "answer" },
    ]);
    assert.ok(!sent.body.stream);
  }),
);

Deno.test(
  "openai JSON: request id falls back to the completion id",
  withServer(async (srv) => {
    srv.enqueue({ id: "chatcmpl-xyz", requestId: null });
    const res = await callLlm(
      { model: "openai/gpt-4o-mini", prompt: "hello" },
      { env: envFor(srv), settings },
    );
    assert.equal(res.usage.request_id, "chatcmpl-xyz");
    assert.equal(res.text, "echo: hello");
  }),
);

Deno.test(
  "openai streaming: asks for usage, takes it from the final chunk, records time to first token",
  withServer(async (srv) => {
    const usage = {
      prompt_tokens: 50,
      completion_tokens: 20,
      total_tokens: 70,
      prompt_tokens_details: { cached_tokens: 30 },
      completion_tokens_details: { reasoning_tokens: 5 },
    };
    srv.enqueue({
      text: "alpha beta gamma",
      usage,
      chunkDelayMs: 20,
      requestId: "req_stream",
    });
    const res = await callLlm({
      model: "openai/gpt-4o-mini",
      prompt: "go",
      stream: true,
    }, {
      env: envFor(srv),
      settings,
    });
    const sent = srv.requests[0];
    assert.equal(sent.body.stream, true);
    assert.deepEqual(sent.body.stream_options, { include_usage: true });
    assert.equal(res.text, "alpha beta gamma");
    assert.equal(res.finish_reason, "stop");
    assert.equal(res.usage.input_tokens, 20);
    assert.equal(res.usage.cache_read_tokens, 30);
    assert.equal(res.usage.output_tokens, 20);
    assert.equal(res.usage.reasoning_tokens, 5);
    assert.equal(res.usage.request_id, "req_stream");
    assert.equal(res.usage.response_model, "gpt-4o-mini");
    assert.deepEqual(res.usage.raw, usage);
    assert.ok(res.time_to_first_token_ms !== undefined);
    assert.ok(res.time_to_first_token_ms! <= res.usage.duration_ms);
  }),
);

// --- OpenAI-compatible ---------------------------------------------------------

Deno.test(
  "configured OpenAI-compatible provider: its base URL and key env, usage requested in streams",
  withServer(async (srv) => {
    const local: LlmSettings = {
      providers: {
        local: {
          base_url: `${srv.url}/compat/v1/`,
          api_key_env: "LOCAL_LLM_KEY",
        },
      },
    };
    const env = envFor(srv, { LOCAL_LLM_KEY: "local-secret-key" });
    const json = await callLlm(
      { model: "local/qwen2.5:7b", prompt: "one two" },
      { env, settings: local },
    );
    assert.equal(json.text, "echo: one two");
    assert.equal(json.usage.provider, "local");
    assert.equal(json.usage.model, "local/qwen2.5:7b");
    assert.equal(json.usage.input_tokens, 2);
    assert.equal(json.usage.output_tokens, 3);
    const streamed = await callLlm({
      model: "local/qwen2.5:7b",
      prompt: "three four five",
      stream: true,
    }, {
      env,
      settings: local,
    });
    assert.equal(streamed.text, "echo: three four five");
    assert.equal(streamed.usage.input_tokens, 3);
    assert.equal(streamed.usage.output_tokens, 4);
    for (const sent of srv.requests) {
      assert.equal(sent.path, "/compat/v1/chat/completions");
      assert.equal(sent.headers["authorization"], "Bearer local-secret-key");
      assert.equal(sent.body.model, "qwen2.5:7b");
    }
    assert.deepEqual(srv.requests[1].body.stream_options, {
      include_usage: true,
    });
  }),
);

Deno.test(
  "openrouter (preset overridden by settings): model keeps its slashes, usage.cost becomes reported_cost_usd",
  withServer(async (srv) => {
    const or: LlmSettings = {
      providers: {
        openrouter: {
          base_url: `${srv.url}/api/v1`,
          api_key_env: "OPENROUTER_API_KEY",
        },
      },
    };
    const env = envFor(srv, { OPENROUTER_API_KEY: "sk-or-v1-test" });
    const usage = {
      prompt_tokens: 194,
      completion_tokens: 2,
      total_tokens: 196,
      cost: 0.00095,
      prompt_tokens_details: {
        cached_tokens: 50,
        cache_write_tokens: 100,
        audio_tokens: 0,
      },
      completion_tokens_details: { reasoning_tokens: 0 },
    };
    srv.enqueue({ usage, model: "anthropic/claude-3.5-sonnet" }, {
      usage,
      model: "anthropic/claude-3.5-sonnet",
    });
    for (const stream of [false, true]) {
      const res = await callLlm({
        model: "openrouter/anthropic/claude-3.5-sonnet",
        prompt: "hi",
        stream,
      }, {
        env,
        settings: or,
      });
      assert.equal(res.usage.provider, "openrouter");
      assert.equal(res.usage.response_model, "anthropic/claude-3.5-sonnet");
      assert.equal(res.usage.reported_cost_usd, 0.00095);
      assert.equal(res.usage.cache_read_tokens, 50);
      assert.equal(res.usage.cache_write_tokens, 100);
      assert.equal(res.usage.input_tokens, 44);
      assert.equal(res.usage.output_tokens, 2);
    }
    assert.deepEqual(srv.requests.map((r) => r.path), [
      "/api/v1/chat/completions",
      "/api/v1/chat/completions",
    ]);
    assert.equal(srv.requests[0].body.model, "anthropic/claude-3.5-sonnet");
    assert.equal(
      srv.requests[0].headers["authorization"],
      "Bearer sk-or-v1-test",
    );
  }),
);

Deno.test(
  "ollama needs no key: no authorization header is sent",
  withServer(async (srv) => {
    const res = await callLlm(
      { model: "ollama/llama3.2", prompt: "hi there" },
      {
        env: {},
        settings: { providers: { ollama: { base_url: `${srv.url}/v1` } } },
      },
    );
    assert.equal(res.text, "echo: hi there");
    assert.equal(srv.requests[0].headers["authorization"], undefined);
    assert.equal(srv.requests[0].body.model, "llama3.2");
  }),
);

// --- Retries -------------------------------------------------------------------

Deno.test(
  "anthropic 429 with retry-after (seconds): waits, retries, succeeds",
  withServer(async (srv) => {
    srv.enqueue({ status: 429, headers: { "retry-after": "0.3" } }, {
      text: "finally",
    });
    const res = await callLlm({
      model: "anthropic/claude-sonnet-4-5",
      prompt: "x",
    }, { env: envFor(srv), settings });
    assert.equal(res.text, "finally");
    assert.equal(srv.requests.length, 2);
    const gap = srv.requests[1].receivedAt - srv.requests[0].receivedAt;
    assert.ok(
      gap >= 280 && gap < 1500,
      `waited ${gap} ms, expected ~300 (retry-after), not the 2 s backoff`,
    );
    assert.equal(res.failedAttempts?.length, 1);
    assert.equal(res.failedAttempts![0].status, 429);
    assert.match(res.failedAttempts![0].error.message, /HTTP 429 rate_limit_error: Rate limit exceeded/);
    assert.equal(
      res.failedAttempts![0].usage.usage_missing,
      undefined,
      "a rejected request is billed nothing: 0 tokens, known",
    );
    assert.ok(
      res.startedAt! - res.failedAttempts![0].startedAt >= 280,
      "the successful attempt starts after the wait; its duration is its own",
    );
  }),
);

Deno.test(
  "openai 429 with retry-after-ms: waits, retries, succeeds",
  withServer(async (srv) => {
    srv.enqueue({ status: 429, headers: { "retry-after-ms": "150" } }, {
      text: "ok now",
    });
    const res = await callLlm({
      model: "openai/gpt-4o-mini",
      prompt: "x",
      stream: true,
    }, {
      env: envFor(srv),
      settings,
    });
    assert.equal(res.text, "ok now");
    assert.equal(srv.requests.length, 2);
    const gap = srv.requests[1].receivedAt - srv.requests[0].receivedAt;
    assert.ok(gap >= 140 && gap < 1500, `waited ${gap} ms`);
  }),
);

Deno.test(
  "500 on every attempt: retries maxRetries times, then LlmCallError naming model and status",
  withServer(async (srv) => {
    const fail = { status: 500, headers: { "retry-after-ms": "10" } };
    srv.enqueue(fail, fail, fail, fail);
    const error = await rejection(
      callLlm({ model: "anthropic/claude-sonnet-4-5", prompt: "x" }, {
        env: envFor(srv),
        settings,
      }),
    );
    assert.ok(error instanceof LlmCallError);
    assert.equal(
      error.message,
      "anthropic/claude-sonnet-4-5: HTTP 500 api_error: Internal server error (after 3 attempts)",
    );
    assert.equal(error.status, 500);
    assert.equal(error.retryable, true);
    assert.equal(error.attempts, 3);
    assert.equal(error.provider, "anthropic");
    assert.equal(error.model, "anthropic/claude-sonnet-4-5");
    assert.equal(srv.requests.length, 3, "default maxRetries is 2");

    srv.reset();
    srv.enqueue(fail, fail, fail);
    const once = await rejection(
      callLlm({ model: "openai/gpt-4o-mini", prompt: "x", maxRetries: 1 }, {
        env: envFor(srv),
        settings,
      }),
    );
    assert.equal(
      once.message,
      "openai/gpt-4o-mini: HTTP 500 server_error: Internal server error (after 2 attempts)",
    );
    assert.equal(srv.requests.length, 2);
  }),
);

Deno.test(
  "401 is not retried and names the provider error",
  withServer(async (srv) => {
    srv.enqueue({ status: 401 }, { text: "must not be used" });
    const error = await rejection(
      callLlm({ model: "anthropic/claude-sonnet-4-5", prompt: "x" }, {
        env: envFor(srv),
        settings,
      }),
    );
    assert.ok(error instanceof LlmCallError);
    assert.equal(
      error.message,
      "anthropic/claude-sonnet-4-5: HTTP 401 authentication_error: invalid x-api-key",
    );
    assert.equal(error.status, 401);
    assert.equal(error.retryable, false);
    assert.equal(error.errorType, "authentication_error");
    assert.equal(error.requestId, "req_test_1");
    assert.equal(srv.requests.length, 1);
  }),
);

// --- Timeouts and cancellation -------------------------------------------------

Deno.test(
  "per-call timeout: a slow response fails with 'timed out after N ms' and the request is dropped",
  withServer(async (srv) => {
    srv.enqueue({ delayMs: 3000 });
    const t0 = performance.now();
    const error = await rejection(
      callLlm({
        model: "openai/gpt-4o-mini",
        prompt: "x",
        timeoutMs: 200,
        maxRetries: 0,
      }, {
        env: envFor(srv),
        settings,
      }),
    );
    const elapsed = performance.now() - t0;
    assert.ok(error instanceof LlmCallError);
    assert.equal(error.message, "openai/gpt-4o-mini: timed out after 200 ms");
    assert.equal(error.status, null);
    assert.equal(error.retryable, true);
    assert.ok(elapsed >= 190 && elapsed < 1500, `failed after ${elapsed} ms`);
    await until(
      () => srv.requests[0]?.aborted === true,
      "server sees the request dropped",
    );
    // It was sent and cut off: the provider may bill what it processed, so its usage is unknown, not 0.
    assert.equal(error.failedAttempts.length, 1);
    assert.equal(error.failedAttempts[0].usage.usage_missing, true);
  }),
);

Deno.test(
  "a connection refused was never sent: its usage is known to be 0, not missing",
  async () => {
    const error = await rejection(
      callLlm({ model: "openai/gpt-4o-mini", prompt: "x", timeoutMs: 2000, maxRetries: 0 }, {
        env: { OPENAI_API_KEY: "sk-test-0000000000", OPENAI_BASE_URL: "http://127.0.0.1:9/v1" },
        settings,
      }),
    );
    assert.ok(error instanceof LlmCallError);
    assert.equal(error.failedAttempts[0].usage.usage_missing, undefined);
    assert.equal(error.failedAttempts[0].usage.input_tokens, 0);
  },
);

Deno.test(
  "per-call timeout covers a slow stream body",
  withServer(async (srv) => {
    // 60 words, one every 100 ms: the stream lasts 6 s, so only the timeout ends the call, even on a machine
    // that stalls the process for a second or two (its buffered chunks must not complete the reply first).
    srv.enqueue({ text: Array.from({ length: 60 }, (_, i) => `w${i}`).join(" "), chunkDelayMs: 100 });
    const error = await rejection(
      callLlm({
        model: "anthropic/claude-sonnet-4-5",
        prompt: "x",
        stream: true,
        timeoutMs: 300,
        maxRetries: 0,
      }, {
        env: envFor(srv),
        settings,
      }),
    );
    assert.equal(
      error.message,
      "anthropic/claude-sonnet-4-5: timed out after 300 ms",
    );
  }),
);

Deno.test(
  "the attempt timeout ends a streaming body even where the runtime lets the body go on after its fetch's signal aborted",
  withServer(async (srv) => {
    srv.enqueue({ text: Array.from({ length: 60 }, (_, i) => `w${i}`).join(" "), chunkDelayMs: 100 });
    // A real request to the local server, its body not tied to the signal: what a runtime that does not cut an
    // already streaming body on abort gives (seen once in a loaded CI run: a 300 ms timeout let a 6 s stream finish).
    const detached: typeof fetch = (input, init) => fetch(input, { ...init, signal: undefined });
    const attempt = createAttemptFetch({ timeoutMs: 300, baseFetch: detached });
    const started = performance.now();
    const response = await attempt.fetch(`${srv.url}/v1/messages`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-api-key": "k", "anthropic-version": "2023-06-01" },
      body: JSON.stringify({ model: "claude-sonnet-4-5", max_tokens: 10, stream: true, messages: [] }),
    });
    const error = await response.text().then(() => undefined, (e) => e);
    assert.ok(error instanceof AttemptTimeoutError, `expected the timeout, got ${error}`);
    assert.ok(performance.now() - started < 3000, "cut at the timeout, not at the stream's end");
  }),
);

Deno.test(
  "a stream cut off before its final usage has unknown usage, its known tokens kept: Anthropic, OpenAI, Gemini",
  withServer(async (srv) => {
    const env = envFor(srv, { GOOGLE_GENERATIVE_AI_API_KEY: "google-test-key", GOOGLE_GEMINI_BASE_URL: srv.url });
    const failedUsage = async (model: string, script: Parameters<LlmServer["enqueue"]>[0], timeoutMs = 5000) => {
      srv.enqueue(script);
      const error = await rejection(callLlm({ model, prompt: "x", stream: true, maxRetries: 0, timeoutMs }, {
        env,
        settings,
      }));
      assert.ok(error instanceof LlmCallError, String(error));
      assert.equal(error.failedAttempts.length, 1);
      return error.failedAttempts[0].usage;
    };
    const words = "word ".repeat(200);
    // The connection drops after the text: message_start's input and provisional output (1) are all there is.
    const anthropic = await failedUsage("anthropic/claude-sonnet-4-5", {
      text: words,
      usage: { input_tokens: 1000, output_tokens: 200 },
      dropConnection: true,
    });
    assert.equal(anthropic.usage_missing, true, "priced from output_tokens 1 otherwise");
    assert.equal(anthropic.input_tokens, 1000, "the tokens known so far stay visible");
    const openai = await failedUsage("openai/gpt-4o-mini", { text: words, dropConnection: true });
    assert.equal(openai.usage_missing, true);
    // Gemini sends running usageMetadata in each chunk: the last one before the cut is no final count.
    const gemini = await failedUsage("google/gemini-2.5-flash", {
      text: words,
      usage: { promptTokenCount: 1000, candidatesTokenCount: 1, totalTokenCount: 1001 },
      dropConnection: true,
    });
    assert.equal(gemini.usage_missing, true);
    assert.equal(gemini.input_tokens, 1000);
    // The attempt's timeout fires mid-stream.
    const slow = await failedUsage("google/gemini-2.5-flash", {
      text: "a b c d e f",
      usage: { promptTokenCount: 1000, candidatesTokenCount: 1, totalTokenCount: 1001 },
      chunkDelayMs: 150,
    }, 400);
    assert.equal(slow.usage_missing, true);
    assert.equal(slow.input_tokens, 1000);
  }),
);

Deno.test(
  "an Anthropic stream cut off after its final usage (message_delta, no message_stop) keeps that usage",
  withServer(async (srv) => {
    srv.enqueue({ text: "whole answer", usage: { input_tokens: 1000, output_tokens: 50 }, truncateAfterUsage: true });
    const error = await rejection(callLlm({
      model: "anthropic/claude-sonnet-4-5",
      prompt: "x",
      stream: true,
      maxRetries: 0,
    }, { env: envFor(srv), settings }));
    assert.ok(error instanceof LlmCallError);
    assert.equal(error.message, "anthropic/claude-sonnet-4-5: stream ended before completion");
    const usage = error.failedAttempts[0].usage;
    assert.equal(usage.usage_missing, undefined);
    assert.deepEqual([usage.input_tokens, usage.output_tokens], [1000, 50]);
  }),
);

Deno.test(
  "a timed-out attempt is retried",
  withServer(async (srv) => {
    srv.enqueue({ delayMs: 3000 }, { text: "second try" });
    const res = await callLlm({
      model: "openai/gpt-4o-mini",
      prompt: "x",
      timeoutMs: 200,
      maxRetries: 1,
    }, {
      env: envFor(srv),
      settings,
    });
    assert.equal(res.text, "second try");
    assert.equal(srv.requests.length, 2);
  }),
);

Deno.test(
  "abort via signal: rejects with an AbortError and aborts the in-flight HTTP request",
  withServer(async (srv) => {
    srv.enqueue({ delayMs: 5000 });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const t0 = performance.now();
    const error = await rejection(
      callLlm({
        model: "anthropic/claude-sonnet-4-5",
        prompt: "x",
        signal: controller.signal,
      }, {
        env: envFor(srv),
        settings,
      }),
    );
    assert.equal(error.name, "AbortError");
    assert.ok(!(error instanceof LlmCallError));
    assert.ok(performance.now() - t0 < 1500);
    await until(
      () => srv.requests[0]?.aborted === true,
      "server sees the request aborted",
    );
    assert.equal(srv.requests.length, 1, "an abort is not retried");
  }),
);

Deno.test(
  "abort via signal while streaming",
  withServer(async (srv) => {
    srv.enqueue({ text: "a b c d e f g h i j", chunkDelayMs: 100 });
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error("run interrupted")), 250);
    const error = await rejection(
      callLlm({
        model: "openai/gpt-4o-mini",
        prompt: "x",
        stream: true,
        signal: controller.signal,
      }, {
        env: envFor(srv),
        settings,
      }),
    );
    assert.equal(error.name, "AbortError");
    await until(
      () => srv.requests[0]?.aborted === true,
      "server sees the stream aborted",
    );
  }),
);

Deno.test(
  "abort during the retry wait, and an already aborted signal",
  withServer(async (srv) => {
    srv.enqueue({ status: 429, headers: { "retry-after": "5" } });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 150);
    const error = await rejection(
      callLlm({
        model: "openai/gpt-4o-mini",
        prompt: "x",
        signal: controller.signal,
      }, { env: envFor(srv), settings }),
    );
    assert.equal(error.name, "AbortError");
    assert.equal(srv.requests.length, 1);

    const early = await rejection(
      callLlm({
        model: "openai/gpt-4o-mini",
        prompt: "x",
        signal: AbortSignal.abort(),
      }, { env: envFor(srv), settings }),
    );
    assert.equal(early.name, "AbortError");
    assert.equal(
      srv.requests.length,
      1,
      "no request for an already aborted call",
    );
  }),
);

// --- Configuration ---------------------------------------------------------------

Deno.test(
  "missing API key: LlmConfigError naming the env var, no request made",
  withServer(async (srv) => {
    const env = envFor(srv);
    delete (env as Record<string, string | undefined>).ANTHROPIC_API_KEY;
    const expected =
      "ANTHROPIC_API_KEY is not set: model 'anthropic/claude-sonnet-4-5' needs it (export ANTHROPIC_API_KEY=...)";
    assert.equal(
      checkModelConfig("anthropic/claude-sonnet-4-5", { env, settings }),
      expected,
    );
    const error = await rejection(
      callLlm({ model: "anthropic/claude-sonnet-4-5", prompt: "x" }, {
        env,
        settings,
      }),
    );
    assert.ok(error instanceof LlmConfigError);
    assert.equal(error.message, expected);
    assert.equal(srv.requests.length, 0);
  }),
);

Deno.test("unknown provider: LlmConfigError listing known providers", async () => {
  const error = await rejection(
    callLlm({ model: "mistral/large", prompt: "x" }, {
      env: {},
      settings: {
        providers: { lmstudio: { base_url: "http://127.0.0.1:1234/v1" } },
      },
    }),
  );
  assert.ok(error instanceof LlmConfigError);
  assert.equal(
    error.message,
    "unknown provider 'mistral' in model 'mistral/large': known providers are anthropic, openai, google, ollama, openrouter, " +
      'lmstudio (add others under "providers" in settings.json)',
  );
});

Deno.test(
  "base URLs: ANTHROPIC_BASE_URL is an origin without /v1 (trailing slash and path prefix ok); OPENAI_BASE_URL includes /v1",
  withServer(async (srv) => {
    const call = (model: string, env: Record<string, string>) =>
      callLlm({ model, prompt: "x" }, { env: envFor(srv, env), settings });
    await call("anthropic/claude-sonnet-4-5", {
      ANTHROPIC_BASE_URL: `${srv.url}/`,
    });
    await call("anthropic/claude-sonnet-4-5", {
      ANTHROPIC_BASE_URL: `${srv.url}/gateway//`,
    });
    await call("openai/gpt-4o-mini", { OPENAI_BASE_URL: `${srv.url}/v1/` });
    await call("openai/gpt-4o-mini", {
      OPENAI_BASE_URL: `${srv.url}/proxy/v1`,
    });
    assert.deepEqual(srv.requests.map((r) => r.path), [
      "/v1/messages",
      "/gateway/v1/messages",
      "/v1/chat/completions",
      "/proxy/v1/chat/completions",
    ]);
  }),
);

// --- Secrets -----------------------------------------------------------------------

Deno.test(
  "API keys never appear in error messages, even when the server echoes them",
  withServer(async (srv) => {
    srv.enqueue(
      { status: 401, error: { message: `invalid x-api-key ${ANTHROPIC_KEY}` } },
      { status: 400, error: { message: `bad request for key=${OPENAI_KEY}` } },
      {
        status: 503,
        error: { message: `upstream rejected ${OPENAI_KEY}` },
        headers: { "retry-after-ms": "5" },
      },
      {
        status: 503,
        error: { message: `upstream rejected ${OPENAI_KEY}` },
        headers: { "retry-after-ms": "5" },
      },
    );
    const errors = [
      await rejection(
        callLlm({ model: "anthropic/claude-sonnet-4-5", prompt: "x" }, {
          env: envFor(srv),
          settings,
        }),
      ),
      await rejection(
        callLlm({ model: "openai/gpt-4o-mini", prompt: "x" }, {
          env: envFor(srv),
          settings,
        }),
      ),
      await rejection(
        callLlm({
          model: "openai/gpt-4o-mini",
          prompt: "x",
          stream: true,
          maxRetries: 1,
        }, {
          env: envFor(srv),
          settings,
        }),
      ),
    ];
    assert.equal(
      errors[0].message,
      "anthropic/claude-sonnet-4-5: HTTP 401 authentication_error: invalid x-api-key [REDACTED]",
    );
    assert.equal(
      errors[1].message,
      "openai/gpt-4o-mini: HTTP 400 invalid_request_error: bad request for key=[REDACTED]",
    );
    assert.equal(
      errors[2].message,
      "openai/gpt-4o-mini: HTTP 503 server_error: upstream rejected [REDACTED] (after 2 attempts)",
    );
    for (const error of errors) {
      const shown = `${error.message}\n${error.stack}\n${JSON.stringify(error)}`;
      assert.ok(
        !shown.includes(ANTHROPIC_KEY) && !shown.includes(OPENAI_KEY),
        shown,
      );
    }
  }),
);

Deno.test(
  "a redirect is not followed (the key would go to another host): named with its target, not retried, usage 0",
  withServer(async (srv) => {
    const other = await startLlmServer();
    try {
      const env = envFor(srv, { GOOGLE_GENERATIVE_AI_API_KEY: "google-test-key", GOOGLE_GEMINI_BASE_URL: srv.url });
      const target = `${other.url.replace("127.0.0.1", "localhost")}/elsewhere/v1/messages`;
      const cases: [string, boolean, number][] = [
        ["anthropic/claude-sonnet-4-5", false, 307],
        ["anthropic/claude-sonnet-4-5", true, 302],
        ["google/gemini-2.5-flash", false, 308],
      ];
      for (const [model, stream, status] of cases) {
        srv.reset();
        srv.enqueue({ redirect: { status, location: `${target}?token=QUERY-SECRET` } });
        const error = await rejection(callLlm({ model, prompt: "x", stream, maxRetries: 2 }, { env, settings }));
        assert.ok(error instanceof LlmCallError, String(error));
        assert.equal(
          error.message,
          `${model}: the provider answered HTTP ${status} redirecting to ${target}; redirects are not followed ` +
            "(the API key would go along): set the base URL to the new location",
        );
        assert.equal(error.status, status);
        assert.equal(error.retryable, false);
        assert.equal(srv.requests.length, 1, "not retried");
        assert.equal(error.failedAttempts[0].usage.usage_missing, undefined, "nothing was generated");
      }
      assert.equal(other.requests.length, 0, "the redirect's target never saw a request (nor the key)");
    } finally {
      await other.close();
    }
  }),
);

Deno.test("unreachable server: one-line LlmCallError without the key", async () => {
  const srv = await startLlmServer();
  const url = srv.url;
  await srv.close();
  const error = await rejection(
    callLlm({ model: "openai/gpt-4o-mini", prompt: "x", maxRetries: 0 }, {
      env: { OPENAI_API_KEY: OPENAI_KEY, OPENAI_BASE_URL: `${url}/v1` },
      settings,
    }),
  );
  assert.ok(error instanceof LlmCallError);
  assert.match(
    error.message,
    new RegExp(`^openai/gpt-4o-mini: cannot reach ${url}/v1: .+`),
  );
  assert.ok(!error.message.includes("\n"));
  assert.ok(!error.message.includes(OPENAI_KEY));
  assert.equal(error.status, null);
  assert.equal(error.retryable, true);
});
