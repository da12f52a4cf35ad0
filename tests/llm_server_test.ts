// The scriptable test server itself: wire formats, default rule, prompt directives, standalone mode.
import assert from "node:assert/strict";
import { callLlm } from "../src/llm/mod.ts";
import { type LlmServer, startLlmServer } from "./support/llm_server.ts";

function withServer(fn: (srv: LlmServer) => Promise<void>): () => Promise<void> {
  return async () => {
    const srv = await startLlmServer();
    try {
      await fn(srv);
    } finally {
      await srv.close();
    }
  };
}

async function post(url: string, body: unknown): Promise<Response> {
  return await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}

/** Parses an SSE body into [event, data] pairs. */
function parseSse(text: string): [string | null, string][] {
  return text.split("\n\n").filter((block) => block.trim()).map((block) => {
    const event = block.match(/^event: (.*)$/m)?.[1] ?? null;
    const data = block.match(/^data: (.*)$/m)?.[1] ?? "";
    return [event, data];
  });
}

Deno.test(
  "default rule: echo of the last user message, usage in words (Anthropic JSON)",
  withServer(async (srv) => {
    const res = await post(`${srv.url}/v1/messages`, {
      model: "claude-x",
      max_tokens: 10,
      system: [{ type: "text", text: "be very brief" }],
      messages: [{ role: "user", content: [{ type: "text", text: "hello big world" }] }],
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("request-id"), "req_test_1");
    const body = await res.json();
    assert.equal(body.type, "message");
    assert.equal(body.id, "msg_test_1");
    assert.equal(body.model, "claude-x");
    assert.deepEqual(body.content, [{ type: "text", text: "echo: hello big world" }]);
    assert.equal(body.stop_reason, "end_turn");
    assert.deepEqual(body.usage, {
      input_tokens: 6,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 0,
      output_tokens: 4,
    });
    assert.equal(srv.requests[0].protocol, "anthropic");
    assert.equal(srv.requests[0].completed, true);
  }),
);

Deno.test(
  "Anthropic SSE: the real event sequence, usage split between message_start and message_delta",
  withServer(async (srv) => {
    const res = await post(`${srv.url}/v1/messages`, {
      model: "claude-x",
      stream: true,
      messages: [{ role: "user", content: "a b" }],
    });
    assert.match(res.headers.get("content-type") ?? "", /^text\/event-stream/);
    const events = parseSse(await res.text());
    const names = events.map(([e]) => e);
    assert.deepEqual(names, [
      "message_start",
      "content_block_start",
      "ping",
      "content_block_delta",
      "content_block_delta",
      "content_block_delta",
      "content_block_stop",
      "message_delta",
      "message_stop",
    ]);
    for (const [event, data] of events) assert.equal(JSON.parse(data).type, event);
    const start = JSON.parse(events[0][1]);
    assert.deepEqual(start.message.usage, {
      input_tokens: 2,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 0,
      output_tokens: 1,
    });
    const text = events.filter(([e]) => e === "content_block_delta").map(([, d]) => JSON.parse(d).delta.text).join("");
    assert.equal(text, "echo: a b");
    assert.deepEqual(JSON.parse(events[7][1]).usage, { output_tokens: 3 });
  }),
);

Deno.test(
  "OpenAI JSON and SSE: chunks end with [DONE]; a usage chunk only when include_usage",
  withServer(async (srv) => {
    const json = await (await post(`${srv.url}/v1/chat/completions`, {
      model: "gpt-x",
      messages: [{ role: "system", content: "sys tem" }, { role: "user", content: "one" }],
    })).json();
    assert.equal(json.object, "chat.completion");
    assert.equal(json.choices[0].message.content, "echo: one");
    assert.deepEqual(json.usage, { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 });

    const plain = parseSse(
      await (await post(`${srv.url}/v1/chat/completions`, {
        model: "gpt-x",
        stream: true,
        messages: [{ role: "user", content: "two" }],
      })).text(),
    );
    assert.equal(plain.at(-1)![1], "[DONE]");
    assert.ok(plain.every(([event]) => event === null));
    assert.ok(!plain.slice(0, -1).some(([, d]) => "usage" in JSON.parse(d)));

    const res = await post(`${srv.url}/v1/chat/completions`, {
      model: "gpt-x",
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: "user", content: "three" }],
    });
    assert.equal(res.headers.get("x-request-id"), "req_test_3");
    const chunks = parseSse(await res.text());
    assert.equal(chunks.at(-1)![1], "[DONE]");
    const last = JSON.parse(chunks.at(-2)![1]);
    assert.deepEqual(last.choices, []);
    assert.deepEqual(last.usage, { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 });
    const finish = JSON.parse(chunks.at(-3)![1]);
    assert.equal(finish.choices[0].finish_reason, "stop");
    assert.equal(finish.usage, null);
  }),
);

Deno.test(
  "queue, reset, pending, waitForRequests and unknown routes",
  withServer(async (srv) => {
    srv.enqueue({ text: "first" }, { status: 418, error: { type: "teapot", message: "short and stout" } });
    assert.equal(srv.pending(), 2);
    const waiting = srv.waitForRequests(2);
    const a = await (await post(`${srv.url}/v1/chat/completions`, { messages: [] })).json();
    const b = await post(`${srv.url}/v1/messages`, { messages: [] });
    await waiting;
    assert.equal(a.choices[0].message.content, "first");
    assert.equal(b.status, 418);
    assert.deepEqual(await b.json(), {
      type: "error",
      error: { type: "teapot", message: "short and stout" },
      request_id: "req_test_2",
    });
    const missing = await post(`${srv.url}/v2/other`, {});
    assert.equal(missing.status, 404);
    await missing.body?.cancel();
    srv.reset();
    assert.equal(srv.requests.length, 0);
    assert.equal(srv.pending(), 0);
  }),
);

Deno.test(
  "directives: reply, usage, fail:STATUS:N with fast retry, fail:STATUS always",
  withServer(async (srv) => {
    const env = {
      ANTHROPIC_API_KEY: "k",
      ANTHROPIC_BASE_URL: srv.url,
      OPENAI_API_KEY: "k",
      OPENAI_BASE_URL: `${srv.url}/v1`,
    };
    const reply = await callLlm({
      model: "anthropic/claude-x",
      prompt:
        '[[reply:Paris]] [[usage:{"input_tokens":5,"cache_creation":{"ephemeral_1h_input_tokens":7},"output_tokens":1}]]',
    }, { env, settings: {} });
    assert.equal(reply.text, "Paris");
    assert.equal(reply.usage.cache_write_1h_tokens, 7);
    assert.equal(reply.usage.input_tokens, 5);

    const t0 = performance.now();
    const retried = await callLlm({ model: "openai/gpt-x", prompt: "flaky [[fail:429:2]]" }, { env, settings: {} });
    assert.equal(retried.text, "echo: flaky [[fail:429:2]]");
    assert.equal(srv.requests.length, 4);
    assert.ok(performance.now() - t0 < 1500, "retry-after-ms: 20 keeps retries fast");

    const error = await callLlm({ model: "openai/gpt-x", prompt: "down [[fail:503]]", maxRetries: 1 }, {
      env,
      settings: {},
    }).then(() => null, (e: Error) => e);
    assert.equal(error?.message, "openai/gpt-x: HTTP 503 server_error: Service unavailable (after 2 attempts)");
    const last = srv.requests.at(-1)!;
    assert.equal(last.body.messages[0].content, "down [[fail:503]]");
  }),
);

Deno.test(
  "directives: retry-after seconds and sleep",
  withServer(async (srv) => {
    const env = { OPENAI_API_KEY: "k", OPENAI_BASE_URL: `${srv.url}/v1` };
    const res = await post(`${srv.url}/v1/chat/completions`, {
      messages: [{ role: "user", content: "[[fail:429]] [[retry-after:0.1]]" }],
    });
    assert.equal(res.status, 429);
    assert.equal(res.headers.get("retry-after"), "0.1");
    assert.equal(res.headers.get("retry-after-ms"), null);
    assert.equal((await res.json()).error.code, "rate_limit_exceeded");

    const t0 = performance.now();
    const slow = await callLlm({ model: "openai/gpt-x", prompt: "[[sleep:250]] hi" }, { env, settings: {} });
    assert.ok(performance.now() - t0 >= 240);
    assert.equal(slow.text, "echo: [[sleep:250]] hi");
  }),
);

Deno.test(
  "no content, refusals and blocked prompts in each provider's shape; requests the real APIs reject get their 400",
  withServer(async (srv) => {
    const gemini = `${srv.url}/v1beta/models/gemini-x:generateContent`;
    const user = { role: "user", parts: [{ text: "hi" }] };
    srv.enqueue(
      { empty: true, finishReason: "refusal" },
      { empty: true, finishReason: "content_filter" },
      { refusal: "I can't." },
      { empty: true, finishReason: "SAFETY" },
      { blockReason: "SAFETY" },
    );
    const anthropic = await (await post(`${srv.url}/v1/messages`, {
      model: "claude-x",
      messages: [{ role: "user", content: "hi" }],
    })).json();
    assert.deepEqual([anthropic.content, anthropic.stop_reason], [[], "refusal"]);
    const openai = await (await post(`${srv.url}/v1/chat/completions`, {
      model: "gpt-x",
      messages: [{ role: "user", content: "hi" }],
    })).json();
    assert.deepEqual(openai.choices[0].message, { role: "assistant", content: null, refusal: null });
    assert.equal(openai.choices[0].finish_reason, "content_filter");
    const refused = await (await post(`${srv.url}/v1/chat/completions`, {
      model: "gpt-x",
      messages: [{ role: "user", content: "hi" }],
    })).json();
    assert.deepEqual(refused.choices[0].message, { role: "assistant", content: null, refusal: "I can't." });
    const safety = await (await post(gemini, { contents: [user] })).json();
    assert.deepEqual(safety.candidates[0].content, { role: "model" });
    assert.equal(safety.candidates[0].finishReason, "SAFETY");
    const blocked = await (await post(gemini, { contents: [user] })).json();
    assert.equal(blocked.candidates, undefined);
    assert.deepEqual(blocked.promptFeedback, { blockReason: "SAFETY" });

    // Rejected before any scripted response is taken.
    srv.enqueue({ text: "kept for the next request" });
    const emptyTurn = await post(gemini, { contents: [user, { role: "model", parts: [] }, user] });
    assert.equal(emptyTurn.status, 400);
    assert.deepEqual((await emptyTurn.json()).error, {
      code: 400,
      message: "* GenerateContentRequest.contents[1].parts: contents.parts must not be empty.\n",
      status: "INVALID_ARGUMENT",
    });
    const emptyBlock = await post(`${srv.url}/v1/messages`, {
      model: "claude-x",
      messages: [
        { role: "user", content: "hi" },
        { role: "assistant", content: [{ type: "text", text: "" }] },
        { role: "user", content: "again" },
      ],
    });
    assert.equal(emptyBlock.status, 400);
    assert.deepEqual((await emptyBlock.json()).error, {
      type: "invalid_request_error",
      message: "messages: text content blocks must be non-empty",
    });
    assert.equal(srv.pending(), 1);
  }),
);

Deno.test('standalone: prints {"port":N} and serves the default behaviour', async () => {
  const root = new URL("..", import.meta.url);
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "tests/support/llm_server.ts"],
    cwd: root,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stdout = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  try {
    let line = "";
    while (!line.includes("\n")) {
      const { value, done } = await stdout.read();
      if (done) break;
      line += value;
    }
    const { port } = JSON.parse(line.trim());
    assert.ok(Number.isInteger(port) && port > 0);
    const res = await callLlm({ model: "anthropic/claude-x", prompt: "ping pong", stream: true }, {
      env: { ANTHROPIC_API_KEY: "k", ANTHROPIC_BASE_URL: `http://127.0.0.1:${port}` },
      settings: {},
    });
    assert.equal(res.text, "echo: ping pong");
    assert.equal(res.usage.input_tokens, 2);
    assert.equal(res.usage.output_tokens, 3);
  } finally {
    child.kill("SIGTERM");
    await stdout.cancel();
    await child.stderr.cancel();
    await child.status;
  }
});
