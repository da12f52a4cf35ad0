// Pure unit tests of usage normalization (src/llm/usage.ts).
import assert from "node:assert/strict";
import {
  emptyUsageTokens,
  findOpenAiStreamUsage,
  mergeAnthropicStreamUsage,
  normalizeAnthropicUsage,
  normalizeOpenAiUsage,
  normalizeUsage,
  usageCountsLeftOut,
} from "../src/llm/usage.ts";

Deno.test("anthropic: input is already uncached; reads and writes are separate", () => {
  assert.deepEqual(
    normalizeAnthropicUsage({
      input_tokens: 7,
      cache_read_input_tokens: 2000,
      cache_creation_input_tokens: 500,
      output_tokens: 90,
    }),
    {
      input_tokens: 7,
      cache_read_tokens: 2000,
      cache_write_tokens: 500,
      cache_write_5m_tokens: 500,
      cache_write_1h_tokens: 0,
      output_tokens: 90,
      reasoning_tokens: 0,
    },
  );
});

Deno.test("anthropic: the 5m/1h split details the cache writes", () => {
  const u = normalizeAnthropicUsage({
    input_tokens: 1,
    cache_creation_input_tokens: 300,
    cache_creation: {
      ephemeral_5m_input_tokens: 120,
      ephemeral_1h_input_tokens: 180,
    },
    output_tokens: 4,
  });
  assert.equal(u.cache_write_tokens, 300);
  assert.equal(u.cache_write_5m_tokens, 120);
  assert.equal(u.cache_write_1h_tokens, 180);
});

Deno.test("anthropic: a split without the total, and a total larger than the split", () => {
  const onlySplit = normalizeAnthropicUsage({
    cache_creation: {
      ephemeral_5m_input_tokens: 10,
      ephemeral_1h_input_tokens: 20,
    },
  });
  assert.equal(onlySplit.cache_write_tokens, 30);
  assert.equal(onlySplit.cache_write_5m_tokens, 10);
  assert.equal(onlySplit.cache_write_1h_tokens, 20);
  const larger = normalizeAnthropicUsage({
    cache_creation_input_tokens: 50,
    cache_creation: {
      ephemeral_5m_input_tokens: 0,
      ephemeral_1h_input_tokens: 20,
    },
  });
  assert.equal(larger.cache_write_tokens, 50);
  assert.equal(larger.cache_write_5m_tokens, 30);
  assert.equal(larger.cache_write_1h_tokens, 20);
});

Deno.test("anthropic: thinking tokens, when detailed, are part of output (never added)", () => {
  const u = normalizeAnthropicUsage({
    input_tokens: 5,
    output_tokens: 100,
    output_tokens_details: { thinking_tokens: 60 },
  });
  assert.equal(u.output_tokens, 100);
  assert.equal(u.reasoning_tokens, 60);
});

Deno.test("openai: cached tokens are taken out of prompt_tokens", () => {
  assert.deepEqual(
    normalizeOpenAiUsage({
      prompt_tokens: 2006,
      completion_tokens: 300,
      total_tokens: 2306,
      prompt_tokens_details: { cached_tokens: 1920, audio_tokens: 0 },
      completion_tokens_details: {
        reasoning_tokens: 0,
        audio_tokens: 0,
        accepted_prediction_tokens: 0,
        rejected_prediction_tokens: 0,
      },
    }),
    {
      input_tokens: 86,
      cache_read_tokens: 1920,
      cache_write_tokens: 0,
      cache_write_5m_tokens: 0,
      cache_write_1h_tokens: 0,
      output_tokens: 300,
      reasoning_tokens: 0,
    },
  );
});

Deno.test("openai: reasoning tokens are inside completion_tokens", () => {
  const u = normalizeOpenAiUsage({
    prompt_tokens: 10,
    completion_tokens: 500,
    completion_tokens_details: { reasoning_tokens: 448 },
  });
  assert.equal(u.output_tokens, 500);
  assert.equal(u.reasoning_tokens, 448);
  assert.equal(u.input_tokens, 10);
});

Deno.test("openrouter: cost is reported; cache writes are taken out of prompt_tokens too", () => {
  const u = normalizeOpenAiUsage({
    prompt_tokens: 194,
    completion_tokens: 2,
    total_tokens: 196,
    cost: 0.95,
    cost_details: { upstream_inference_cost: 19 },
    prompt_tokens_details: {
      cached_tokens: 0,
      cache_write_tokens: 100,
      audio_tokens: 0,
    },
    completion_tokens_details: { reasoning_tokens: 0 },
  });
  assert.equal(u.reported_cost_usd, 0.95);
  assert.equal(u.input_tokens, 94);
  assert.equal(u.cache_write_tokens, 100);
  assert.equal(u.cache_write_5m_tokens, 100);
  assert.equal(u.cache_read_tokens, 0);
});

Deno.test("openai: a zero cost is still reported; no cost field means none", () => {
  assert.equal(
    normalizeOpenAiUsage({ prompt_tokens: 1, cost: 0 }).reported_cost_usd,
    0,
  );
  assert.equal(
    "reported_cost_usd" in normalizeOpenAiUsage({ prompt_tokens: 1 }),
    false,
  );
});

Deno.test("openai-compatible: DeepSeek-style top-level cache hits", () => {
  const u = normalizeOpenAiUsage({
    prompt_tokens: 100,
    completion_tokens: 5,
    prompt_cache_hit_tokens: 64,
    prompt_cache_miss_tokens: 36,
  });
  assert.equal(u.input_tokens, 36);
  assert.equal(u.cache_read_tokens, 64);
});

Deno.test("garbage and missing fields count as zero; counts never go negative", () => {
  assert.deepEqual(normalizeAnthropicUsage(null), emptyUsageTokens());
  assert.deepEqual(normalizeOpenAiUsage("nope"), emptyUsageTokens());
  assert.deepEqual(normalizeUsage(undefined, "openai"), emptyUsageTokens());
  const odd = normalizeOpenAiUsage({
    prompt_tokens: 10,
    prompt_tokens_details: { cached_tokens: 50 },
    completion_tokens: -3,
  });
  assert.equal(odd.input_tokens, 0);
  assert.equal(odd.cache_read_tokens, 10);
  assert.equal(odd.output_tokens, 0);
  assert.equal(
    normalizeAnthropicUsage({ input_tokens: "12", output_tokens: NaN })
      .input_tokens,
    0,
  );
});

Deno.test("a count of 2^53 or more is no count: it counts 0 and the usage is unknown, in every dialect", () => {
  const huge = 2 ** 53; // what JSON.parse makes of 9007199254740993
  assert.equal(usageCountsLeftOut({ input_tokens: 5, output_tokens: 1 }, "anthropic"), false);
  assert.equal(usageCountsLeftOut({ input_tokens: Number.MAX_SAFE_INTEGER, output_tokens: 1 }, "anthropic"), false);
  assert.equal(
    normalizeAnthropicUsage({ input_tokens: Number.MAX_SAFE_INTEGER }).input_tokens,
    Number.MAX_SAFE_INTEGER,
  );
  const cases: [Record<string, unknown>, "anthropic" | "openai" | "google"][] = [
    [{ input_tokens: huge, output_tokens: 1 }, "anthropic"],
    [{ input_tokens: 5, output_tokens: 1, cache_creation: { ephemeral_1h_input_tokens: huge } }, "anthropic"],
    [{ input_tokens: 5, output_tokens: 1, output_tokens_details: { thinking_tokens: Infinity } }, "anthropic"],
    [{ prompt_tokens: 10, completion_tokens: huge }, "openai"],
    [{ prompt_tokens: 10, completion_tokens: 1, prompt_tokens_details: { cached_tokens: 1e300 } }, "openai"],
    [{ promptTokenCount: 10, candidatesTokenCount: huge }, "google"],
  ];
  for (const [raw, dialect] of cases) {
    assert.equal(usageCountsLeftOut(raw, dialect), true, JSON.stringify(raw));
    const tokens = normalizeUsage(raw, dialect);
    for (const [field, value] of Object.entries(tokens)) {
      assert.ok(Number.isSafeInteger(value), `${dialect} ${field}: ${value}`);
    }
  }
});

Deno.test("normalizeUsage dispatches on the dialect", () => {
  const raw = {
    input_tokens: 3,
    prompt_tokens: 10,
    prompt_tokens_details: { cached_tokens: 4 },
  };
  assert.equal(normalizeUsage(raw, "anthropic").input_tokens, 3);
  assert.equal(normalizeUsage(raw, "openai").input_tokens, 6);
});

Deno.test("anthropic stream: message_delta values update message_start's, nulls do not erase", () => {
  const merged = mergeAnthropicStreamUsage([
    {
      type: "message_start",
      message: {
        id: "msg_1",
        usage: {
          input_tokens: 472,
          cache_creation_input_tokens: 0,
          cache_read_input_tokens: 0,
          output_tokens: 2,
        },
      },
    },
    {
      type: "content_block_delta",
      index: 0,
      delta: { type: "text_delta", text: "Hi" },
    },
    { type: "ping" },
    {
      type: "message_delta",
      delta: { stop_reason: "end_turn" },
      usage: {
        output_tokens: 15,
        input_tokens: null,
        cache_read_input_tokens: 12,
      },
    },
    { type: "message_stop" },
  ]);
  assert.deepEqual(merged, {
    input_tokens: 472,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: 12,
    output_tokens: 15,
  });
  assert.equal(normalizeAnthropicUsage(merged).output_tokens, 15);
});

Deno.test("anthropic stream: several message_delta events, the latest (largest) count wins", () => {
  const merged = mergeAnthropicStreamUsage([
    { type: "message_start", message: { usage: { input_tokens: 5, output_tokens: 1 } } },
    { type: "message_delta", usage: { output_tokens: 10 } },
    { type: "message_delta", usage: { output_tokens: 25 } },
  ]);
  assert.deepEqual(merged, { input_tokens: 5, output_tokens: 25 });
  assert.equal(mergeAnthropicStreamUsage([{ type: "ping" }]), null);
});

Deno.test("anthropic stream: counts only grow, a delta's 0 does not replace message_start's count", () => {
  const merged = mergeAnthropicStreamUsage([
    {
      type: "message_start",
      message: {
        usage: {
          input_tokens: 100000,
          cache_read_input_tokens: 50000,
          cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 300 },
          output_tokens: 1,
        },
      },
    },
    {
      type: "message_delta",
      usage: {
        input_tokens: 0,
        cache_read_input_tokens: 0,
        cache_creation: { ephemeral_1h_input_tokens: 0 },
        output_tokens: 500,
      },
    },
  ]);
  assert.deepEqual(merged, {
    input_tokens: 100000,
    cache_read_input_tokens: 50000,
    cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 300 },
    output_tokens: 500,
  });
});

Deno.test("openai stream: the last chunk with a usage object", () => {
  const chunks = [
    { id: "c", choices: [{ delta: { content: "a" } }], usage: null },
    { id: "c", choices: [{ delta: {}, finish_reason: "stop" }], usage: null },
    { id: "c", choices: [], usage: { prompt_tokens: 9, completion_tokens: 1 } },
  ];
  assert.deepEqual(findOpenAiStreamUsage(chunks), {
    prompt_tokens: 9,
    completion_tokens: 1,
  });
  assert.equal(findOpenAiStreamUsage(chunks.slice(0, 2)), null);
});

Deno.test("anthropic usage filler: fills only what is missing, whatever the chunking and line endings", async () => {
  const { anthropicUsageFiller } = await import("../src/llm/usage_fill.ts");
  const run = async (kind: "json" | "sse", text: string, chunk: number) => {
    let fills = 0;
    const bytes = new TextEncoder().encode(text);
    const parts: Uint8Array[] = [];
    for (let i = 0; i < bytes.length; i += chunk) parts.push(bytes.slice(i, i + chunk));
    const out = await new Response(ReadableStream.from(parts).pipeThrough(anthropicUsageFiller(kind, () => fills++)))
      .text();
    return { out, fills };
  };
  const sse = [
    'event: message_start\r\ndata: {"type":"message_start","message":{"id":"m","content":[]}}',
    'event: content_block_delta\r\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"é"}}',
    'event: message_delta\r\ndata: {"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"input_tokens":3}}',
    'event: message_stop\r\ndata: {"type":"message_stop"}',
  ].join("\r\n\r\n") + "\r\n\r\n";
  for (const chunk of [1, 7, 10_000]) {
    const { out, fills } = await run("sse", sse, chunk);
    assert.equal(fills, 2);
    const events = out.split(/\r?\n\r?\n/).filter(Boolean).map((e) => JSON.parse(e.split("data: ")[1]));
    assert.deepEqual(events[0].message.usage, { input_tokens: 0 });
    assert.equal(events[1].delta.text, "é", "multi-byte characters split across chunks survive");
    assert.deepEqual(events[2].usage, { input_tokens: 3, output_tokens: 0 });
    assert.equal(events.length, 4);
  }
  const complete = 'data: {"type":"message_delta","usage":{"output_tokens":5}}\n\n';
  assert.deepEqual(await run("sse", complete, 3), { out: complete, fills: 0 }, "a stream with its usage is untouched");
  const message = { type: "message", content: [], usage: { output_tokens: 2 } };
  const json = await run("json", JSON.stringify(message), 4);
  assert.deepEqual([JSON.parse(json.out).usage, json.fills], [{ output_tokens: 2, input_tokens: 0 }, 1]);
  assert.deepEqual(await run("json", "<html>", 2), { out: "<html>", fills: 0 });
});
