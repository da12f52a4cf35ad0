/**
 * The `llm` node's caching, thinking, reasoning effort, structured output and
 * conversations, and LLM calls that broke, end to end through the compiled
 * `dist/pflow` against the local provider server (real Anthropic, OpenAI and
 * Gemini wire protocols): what goes on the wire, what the JSON result, the
 * trace and the OTLP export say, and what static validation rejects.
 *
 * Expected costs are computed by hand from pricing.yaml (USD per million
 * tokens) in the comment next to each.
 * @module
 */
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type CliResult, runPflow, workflow, writeWorkflow } from "./support/cli.ts";
import { type LlmHome, withLlmHome } from "./support/llm_home.ts";
import { type ScriptedResponse, startLlmServer } from "./support/llm_server.ts";
import { formatTraceFile, parseTraceText, type TraceLlmCall } from "../src/observability/trace_format.ts";
import { type CostLine, pageData } from "../src/cli/trace_page.ts";

const ANTHROPIC_KEY = "sk-ant-e2e-secret-0123456789";

type Ctx = LlmHome;

function withLlm(fn: (ctx: Ctx) => Promise<void>): Promise<void> {
  return withLlmHome(fn, { prefix: "pflow-llm-node-test-", apiKey: ANTHROPIC_KEY });
}

/** Runs a one-node (or given-nodes) workflow in JSON mode with a trace. */
async function runNodes(
  ctx: Ctx,
  nodes: unknown[],
  extra: { args?: string[]; wf?: Record<string, unknown> } = {},
  // deno-lint-ignore no-explicit-any
): Promise<{ result: CliResult; doc: any }> {
  const edges = nodes.slice(1).map((n, i) => ({ from: (nodes[i] as { id: string }).id, to: (n as { id: string }).id }));
  const file = writeWorkflow(ctx.dir, "wf.json", workflow(nodes, { edges, ...extra.wf }));
  const result = await runPflow(["run", file, "--output-format", "json", "--trace", ...(extra.args ?? [])], {
    env: ctx.env,
  });
  let doc = {};
  try {
    doc = JSON.parse(result.stdout);
  } catch {
    assert.fail(`stdout is not one JSON document (exit ${result.code}):\n${result.stdout}\n${result.stderr}`);
  }
  return { result, doc };
}

/** The LLM call records of the trace a JSON result names. */
// deno-lint-ignore no-explicit-any
function traceCalls(doc: any): { calls: TraceLlmCall[]; events: any[] } {
  const parsed = parseTraceText(readFileSync(doc.trace_path, "utf8"));
  const events = parsed.trace.events;
  return { calls: events.flatMap((e) => e.llm_calls), events };
}

function close(actual: number, expected: number, what: string) {
  assert.ok(Math.abs(actual - expected) < 1e-12, `${what}: ${actual} != ${expected}`);
}

/** Runs a workflow expecting static validation to reject it (exit 2); returns stderr. */
async function rejected(ctx: Ctx, params: Record<string, unknown>): Promise<string> {
  const file = writeWorkflow(ctx.dir, "bad.json", workflow([{ id: "ask", type: "llm", params }]));
  const result = await runPflow(["run", file], { env: ctx.env });
  assert.equal(result.code, 2, `expected exit 2 for ${JSON.stringify(params)}:\n${result.stderr}`);
  assert.equal(ctx.srv.requests.length, 0, "nothing was sent");
  return result.stderr;
}

const CITY = {
  type: "object",
  properties: { city: { type: "string" }, population: { type: "integer" } },
  required: ["city", "population"],
  additionalProperties: false,
};

// --- caching ------------------------------------------------------------------------

Deno.test("cache 1h: cache_control on the system prompt and the prefix on the wire; writes priced exactly in result, trace and OTLP", async () => {
  await withLlm(async (ctx) => {
    const usage = {
      input_tokens: 40,
      output_tokens: 20,
      cache_read_input_tokens: 0,
      cache_creation_input_tokens: 3000,
      cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 3000 },
    };
    ctx.srv.enqueue({ text: "Take the TGV.", usage });
    const { result, doc } = await runNodes(ctx, [{
      id: "plan",
      type: "llm",
      params: {
        model: "anthropic/claude-sonnet-4-5",
        system: "You are a travel agent with a long policy document.",
        messages: [
          { role: "user", content: "I am in ${from}." },
          { role: "assistant", content: "Where to?" },
          { role: "user", content: "To ${to}." },
        ],
        cache: "1h",
      },
    }], { wf: { inputs: { from: { type: "string", default: "Paris" }, to: { type: "string", default: "Lyon" } } } });
    assert.equal(result.code, 0, result.stderr);
    const body = ctx.srv.requests[0].body;
    assert.deepEqual(body.system, [{
      type: "text",
      text: "You are a travel agent with a long policy document.",
      cache_control: { type: "ephemeral", ttl: "1h" },
    }]);
    assert.deepEqual(body.messages.map((m: { content: unknown }) => m.content), [
      [{ type: "text", text: "I am in Paris." }],
      [{ type: "text", text: "Where to?", cache_control: { type: "ephemeral", ttl: "1h" } }],
      [{ type: "text", text: "To Lyon." }],
    ]);
    // Sonnet 4.5: 40 × 3 + 3000 × 6 (1h write) + 20 × 15 = 120 + 18000 + 300 = 18420 µ$
    close(doc.total_cost_usd, 0.01842, "total_cost_usd");
    assert.deepEqual(doc.usage, {
      input_tokens: 40,
      cache_creation_input_tokens: 3000,
      cache_read_input_tokens: 0,
      output_tokens: 20,
      reasoning_tokens: 0,
    });
    assert.equal(doc.result?.plan, undefined);
    const { calls } = traceCalls(doc);
    assert.equal(calls.length, 1);
    const call = calls[0];
    assert.equal(call.status, "ok");
    assert.deepEqual(call.system_cache_control, { type: "ephemeral", ttl: "1h" });
    assert.deepEqual(call.messages[1], {
      role: "assistant",
      content: "Where to?",
      cache_control: { type: "ephemeral", ttl: "1h" },
    });
    assert.equal(call.messages[2].content, "To Lyon.");
    assert.equal(call.usage.cache_write_1h_tokens, 3000);
    assert.equal(call.usage.cache_write_5m_tokens, 0);
    close(call.cost_usd!, 0.01842, "trace cost");

    const exported = await runPflow(["trace", "export", doc.trace_path, "--format", "otlp-json"], { env: ctx.env });
    assert.equal(exported.code, 0, exported.stderr);
    const spans = JSON.parse(exported.stdout).resourceSpans[0].scopeSpans.flatMap((s: { spans: unknown[] }) => s.spans);
    // deno-lint-ignore no-explicit-any
    const chat = spans.find((s: any) => s.name.startsWith("chat "));
    // deno-lint-ignore no-explicit-any
    const attr = (key: string) => chat.attributes.find((a: any) => a.key === key)?.value;
    assert.equal(attr("gen_ai.usage.input_tokens").intValue, "3040", "all input, cache writes included");
    assert.equal(attr("gen_ai.usage.cache_creation.input_tokens").intValue, "3000");
    assert.equal(attr("gen_ai.usage.output_tokens").intValue, "20");

    const shown = await runPflow(["trace", "show", doc.trace_path, "--node", "plan"], {
      env: { ...ctx.env, NO_COLOR: "1" },
    });
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /system: \[cached 1h\]/);
    assert.match(shown.stdout, /assistant: \[cached 1h\]\n\s+Where to\?/);
  });
});

Deno.test("cache true: 5-minute markers; on OpenAI nothing is sent; on Gemini one validation warning, no marker", async () => {
  await withLlm(async (ctx) => {
    const { result } = await runNodes(ctx, [
      { id: "a", type: "llm", params: { model: "anthropic/claude-haiku-4-5", system: "S", prompt: "Q", cache: true } },
      { id: "o", type: "llm", params: { model: "openai/gpt-4o-mini", system: "S", prompt: "Q", cache: true } },
      { id: "g", type: "llm", params: { model: "google/gemini-2.5-flash", system: "S", prompt: "Q", cache: "5m" } },
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(ctx.srv.requests[0].body.system[0].cache_control, { type: "ephemeral" });
    assert.equal(ctx.srv.requests[0].body.messages[0].content[0].cache_control, undefined);
    assert.doesNotMatch(JSON.stringify(ctx.srv.requests[1].body), /cache/);
    assert.doesNotMatch(JSON.stringify(ctx.srv.requests[2].body), /cache/);
    const warnings = result.stderr.split("\n").filter((l) => /cache is ignored/.test(l));
    assert.equal(warnings.length, 1, result.stderr);
    assert.match(warnings[0], /node 'g': cache is ignored for 'google\/gemini-2\.5-flash'/);
  });
});

// --- thinking and reasoning effort -------------------------------------------------

Deno.test("thinking: budget on the wire, thinking text in the trace record (not in response), thinking tokens priced as output", async () => {
  await withLlm(async (ctx) => {
    const usage = { input_tokens: 100, output_tokens: 900, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 };
    for (const stream of [false, true]) {
      ctx.srv.enqueue({ text: "It is 42.", thinking: "6 times 7 is 42.", usage });
      const { result, doc } = await runNodes(ctx, [{
        id: "think",
        type: "llm",
        params: { model: "anthropic/claude-sonnet-4-5", prompt: "6*7?", thinking: 2048, max_tokens: 4096, stream },
      }], { wf: { outputs: { answer: { source: "${think.response}" } } } });
      assert.equal(result.code, 0, result.stderr);
      const body = ctx.srv.requests.at(-1)!.body;
      assert.deepEqual(body.thinking, { type: "enabled", budget_tokens: 2048 });
      assert.equal(body.max_tokens, 4096);
      assert.equal(doc.result.answer, "It is 42.");
      const [call] = traceCalls(doc).calls;
      assert.equal(call.thinking, "6 times 7 is 42.");
      assert.equal(call.response, "It is 42.");
      assert.deepEqual(call.options?.thinking, { budget_tokens: 2048 });
      assert.equal(call.options?.max_tokens, 4096);
      const node = await runPflow(["trace", "show", doc.trace_path, "--node", "think"], {
        env: { ...ctx.env, NO_COLOR: "1" },
      });
      assert.match(node.stdout, /sent: max_tokens 4096 · thinking 2048 tokens/);
      assert.match(node.stdout, /thinking:\n\s+6 times 7 is 42\./);
      // 100 × 3 + 900 × 15 = 300 + 13500 = 13800 µ$
      close(doc.total_cost_usd, 0.0138, "total");
    }
  });
});

Deno.test("reasoning_effort: sent to OpenAI; cached and reasoning tokens priced exactly (o3-mini)", async () => {
  await withLlm(async (ctx) => {
    ctx.srv.enqueue({
      text: "proof",
      usage: {
        prompt_tokens: 2000,
        completion_tokens: 1500,
        total_tokens: 3500,
        prompt_tokens_details: { cached_tokens: 1024 },
        completion_tokens_details: { reasoning_tokens: 1200 },
      },
    });
    const { result, doc } = await runNodes(ctx, [{
      id: "r",
      type: "llm",
      params: { model: "openai/o3-mini", prompt: "prove it", reasoning_effort: "high" },
    }]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(ctx.srv.requests[0].body.reasoning_effort, "high");
    // o3-mini: (2000-1024) × 1.10 + 1024 × 0.55 + 1500 × 4.40 = 1073.6 + 563.2 + 6600 = 8236.8 µ$
    close(doc.total_cost_usd, 0.0082368, "total");
    assert.deepEqual(doc.usage, {
      input_tokens: 976,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 1024,
      output_tokens: 1500,
      reasoning_tokens: 1200,
    });
    assert.equal(traceCalls(doc).calls[0].options?.reasoning_effort, "high");
  });
});

Deno.test("a setting the provider's SDK drops (temperature for an OpenAI reasoning model) is warned about once per node", async () => {
  await withLlm(async (ctx) => {
    for (let i = 0; i < 2; i++) ctx.srv.enqueue({ text: "done", usage: { prompt_tokens: 5, completion_tokens: 2 } });
    const { result } = await runNodes(ctx, [{
      id: "r",
      type: "llm",
      batch: { items: [1, 2] },
      params: { model: "openai/o3-mini", prompt: "go ${item}", temperature: 0 },
    }]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(ctx.srv.requests.length, 2);
    assert.equal(ctx.srv.requests[0].body.temperature, undefined, "the SDK did not send it");
    const warnings = result.stderr.split("\n").filter((line) => line.includes("temperature"));
    assert.deepEqual(warnings, [
      "warning: node 'r': openai/o3-mini: temperature is not supported for reasoning models (ignored)",
    ], result.stderr);
  });
});

Deno.test("google: Gemini through the binary, cached prompt tokens and thoughts normalized and priced", async () => {
  await withLlm(async (ctx) => {
    ctx.srv.enqueue({
      text: "Hallo",
      usage: {
        promptTokenCount: 5000,
        cachedContentTokenCount: 4000,
        candidatesTokenCount: 100,
        thoughtsTokenCount: 300,
      },
    });
    const { result, doc } = await runNodes(ctx, [{
      id: "g",
      type: "llm",
      params: { model: "google/gemini-2.5-flash", prompt: "Say hello in German", thinking: 1024 },
    }]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(ctx.srv.requests[0].headers["x-goog-api-key"], ANTHROPIC_KEY);
    // gemini-2.5-flash: 1000 × 0.30 + 4000 × 0.03 + 400 × 2.50 = 300 + 120 + 1000 = 1420 µ$
    close(doc.total_cost_usd, 0.00142, "total");
    assert.equal(doc.usage.output_tokens, 400);
    assert.equal(doc.usage.reasoning_tokens, 300);
    assert.equal(doc.usage.cache_read_input_tokens, 4000);
  });
});

// --- structured output ------------------------------------------------------------------

Deno.test("schema: response is the parsed object, usable by later nodes; the schema is in each provider's form", async () => {
  await withLlm(async (ctx) => {
    ctx.srv.enqueue(
      { json: { city: "Paris", population: 2102650 } },
      { json: { city: "Rome", population: 2749031 } },
      { json: { city: "Madrid", population: 3332035 } },
      { json: { city: "Berlin", population: 3850809 } },
    );
    const ask = (id: string, model: string, prompt: string, extra: Record<string, unknown> = {}) => ({
      id,
      type: "llm",
      params: { model, prompt, schema: CITY, ...extra },
    });
    const { result, doc } = await runNodes(ctx, [
      ask("a", "anthropic/claude-sonnet-4-5", "France?"),
      ask("o", "openai/gpt-4o-mini", "Italy?", { schema_name: "city" }),
      ask("t", "anthropic/claude-3-7-sonnet-latest", "Spain?"),
      ask("g", "google/gemini-2.5-flash", "Germany?"),
      {
        id: "use",
        type: "echo",
        params: { value: "${a.response.city}, ${o.response.city}, ${t.response.city}, ${g.response.city}" },
      },
    ], { wf: { outputs: { both: { source: "${use.output}" }, paris: { source: "${a.response}" } } } });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(doc.result.both, "Paris, Rome, Madrid, Berlin");
    assert.deepEqual(doc.result.paris, { city: "Paris", population: 2102650 });
    assert.equal(ctx.srv.requests[0].body.output_config.format.type, "json_schema");
    assert.equal(ctx.srv.requests[1].body.response_format.type, "json_schema");
    assert.equal(ctx.srv.requests[1].body.response_format.json_schema.name, "city");
    // Models without native structured output get a forced tool; Gemini a response schema.
    assert.equal(ctx.srv.requests[2].body.tool_choice.type, "any");
    assert.deepEqual(ctx.srv.requests[2].body.tools[0].input_schema.required, ["city", "population"]);
    assert.deepEqual(ctx.srv.requests[3].body.generationConfig.responseJsonSchema.required, ["city", "population"]);
    const { calls } = traceCalls(doc);
    assert.deepEqual(calls.map((c) => c.options?.schema?.mode), [
      "output_format",
      "json_schema",
      "tool",
      "response_schema",
    ]);
    assert.deepEqual(calls[0].options?.schema?.schema, CITY);
  });
});

Deno.test("schema: an array schema goes to OpenAI and Anthropic wrapped in an object; response is the array", async () => {
  await withLlm(async (ctx) => {
    const LIST = { type: "array", items: { type: "string" } };
    ctx.srv.enqueue({ json: { items: ["a", "b"] } }, { json: { items: ["c"] } }, { json: ["d"] });
    const { result, doc } = await runNodes(ctx, [
      { id: "o", type: "llm", params: { model: "openai/gpt-4o-mini", prompt: "list", schema: LIST } },
      { id: "a", type: "llm", params: { model: "anthropic/claude-sonnet-4-5", prompt: "list", schema: LIST } },
      { id: "g", type: "llm", params: { model: "google/gemini-2.5-flash", prompt: "list", schema: LIST } },
    ], {
      wf: {
        outputs: { o: { source: "${o.response}" }, a: { source: "${a.response}" }, g: { source: "${g.response}" } },
      },
    });
    assert.equal(result.code, 0, result.stderr);
    const [openai, anthropic, google] = ctx.srv.requests.map((r) => r.body);
    assert.equal(openai.response_format.json_schema.schema.type, "object");
    assert.deepEqual(openai.response_format.json_schema.schema.properties.items, LIST);
    assert.equal(anthropic.output_config.format.schema.type, "object");
    assert.equal(google.generationConfig.responseJsonSchema.type, "array");
    assert.deepEqual(doc.result, { o: ["a", "b"], a: ["c"], g: ["d"] });
  });
});

Deno.test("schema: a number the reply writes with more digits than a JSON number keeps is warned about, once per node a run", async () => {
  await withLlm(async (ctx) => {
    const big = '{"id": 1234567890123456789, "name": "a"}';
    ctx.srv.enqueue(
      { jsonText: big },
      { jsonText: big },
      { jsonText: big },
      { jsonText: '{"id": 9007199254740993, "name": "b"}' },
      { jsonText: '{"id": 42, "name": "c"}' },
    );
    const schema = {
      type: "object",
      properties: { id: { type: "integer" }, name: { type: "string" } },
      required: ["id", "name"],
    };
    const { result, doc } = await runNodes(ctx, [
      // A batch: its items (clones of the node) share one warning.
      {
        id: "ids",
        type: "llm",
        params: { model: "openai/gpt-4o-mini", prompt: "id ${item}?", schema },
        batch: { items: [1, 2, 3] },
      },
      // A forced tool, streamed: the tool input's JSON text as the model wrote it.
      {
        id: "tool",
        type: "llm",
        params: { model: "anthropic/claude-3-7-sonnet-latest", prompt: "id?", schema, stream: true },
      },
      { id: "fits", type: "llm", params: { model: "google/gemini-2.5-flash", prompt: "id?", schema } },
    ], {
      wf: {
        outputs: {
          ids: { source: "${ids.results[*].response.id}" },
          tool: { source: "${tool.response}" },
          fits: { source: "${fits.response}" },
        },
      },
    });
    assert.equal(result.code, 0, result.stderr);
    // The value is what JSON.parse makes of the reply (types unchanged); the warning says so.
    assert.deepEqual(doc.result, {
      ids: [1234567890123456800, 1234567890123456800, 1234567890123456800],
      tool: { id: 9007199254740992, name: "b" },
      fits: { id: 42, name: "c" },
    });
    assert.equal(ctx.srv.requests[3].body.tool_choice.type, "any", "the second node used a forced tool");
    assert.deepEqual(result.stderr.split("\n").filter((line) => line.startsWith("warning:")), [
      "warning: node 'ids': response.id 1234567890123456789 cannot be held exactly by a JSON number here; it reads " +
      'as 1234567890123456800; ask for it as a string in the schema ("type": "string") to keep every digit',
      // The provider library's own warning, passed on in pflow's words.
      "warning: node 'tool': anthropic/claude-3-7-sonnet-latest: The model \"claude-3-7-sonnet-latest\" is unknown. " +
      "The max output tokens have been limited to 4096. Set max_tokens explicitly to override this limit.",
      "warning: node 'tool': response.id 9007199254740993 cannot be held exactly by a JSON number here; it reads " +
      'as 9007199254740992; ask for it as a string in the schema ("type": "string") to keep every digit',
    ]);
  });
});

Deno.test("schema: a mismatching reply is retried once with the validator's message; both calls recorded, the retry counted", async () => {
  await withLlm(async (ctx) => {
    ctx.srv.enqueue(
      { json: { city: "Paris" }, usage: { input_tokens: 10, output_tokens: 5 } },
      { json: { city: "Paris", population: 2102650 }, usage: { input_tokens: 30, output_tokens: 8 } },
    );
    const { result, doc } = await runNodes(ctx, [{
      id: "a",
      type: "llm",
      params: { model: "anthropic/claude-haiku-4-5", prompt: "France?", schema: CITY },
    }], { wf: { outputs: { city: { source: "${a.response}" } } } });
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(doc.result.city, { city: "Paris", population: 2102650 });
    const retry = ctx.srv.requests[1].body.messages;
    assert.equal(retry.length, 3);
    assert.equal(retry[1].role, "assistant");
    assert.equal(retry[1].content[0].text, '{"city":"Paris"}');
    assert.match(retry[2].content[0].text, /did not match the required JSON schema:\n- \/: .*population/);
    assert.equal(doc.num_llm_calls, 2);
    // Haiku 4.5: (10 + 30) × 1 + (5 + 8) × 5 = 40 + 65 = 105 µ$: the rejected reply is paid for too
    close(doc.total_cost_usd, 0.000105, "total");
    assert.equal(doc.metrics.workflow.nodes.a.retries, 1);
    const { calls, events } = traceCalls(doc);
    assert.deepEqual(calls.map((c) => c.status), ["error", "ok"]);
    assert.equal(calls[0].error?.type, "StructuredOutputError");
    assert.match(calls[0].error!.message, /does not match the schema/);
    assert.equal(events[0].retries, 1);
  });
});

Deno.test("schema: an OpenAI-compatible reasoning model's leading <think> block is skipped: the object, no retry", async () => {
  await withLlm(async (ctx) => {
    ctx.srv.enqueue({
      text: '<think>\nParis, about 2.1 million.\n</think>\n\n{"city": "Paris", "population": 2102650}',
    });
    const { result, doc } = await runNodes(ctx, [{
      id: "a",
      type: "llm",
      params: { model: "openai/gpt-4o-mini", prompt: "France?", schema: CITY },
    }], { wf: { outputs: { city: { source: "${a.response}" } } } });
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(doc.result.city, { city: "Paris", population: 2102650 });
    assert.equal(ctx.srv.requests.length, 1, "no retry");
  });
});

Deno.test("schema: two mismatching replies fail the node with the validator's messages (exit 1)", async () => {
  await withLlm(async (ctx) => {
    ctx.srv.enqueue({ json: { city: 1 } }, { json: { city: 2 } });
    const { result, doc } = await runNodes(ctx, [{
      id: "a",
      type: "llm",
      params: { model: "openai/gpt-4o-mini", prompt: "France?", schema: CITY },
    }]);
    assert.equal(result.code, 1);
    assert.equal(doc.is_error, true);
    assert.equal(
      doc.error.message,
      'openai/gpt-4o-mini: the reply does not match the schema: /: missing required property "population"; ' +
        "/city: is a number, expected string (after a retry with the validator's messages)",
    );
    assert.equal(ctx.srv.requests.length, 2);
    assert.equal(doc.num_llm_calls, 2);
    assert.deepEqual(traceCalls(doc).calls.map((c) => c.status), ["error", "error"]);
  });
});

// --- what validation rejects ---------------------------------------------------------------

Deno.test("invalid combinations are rejected at validation (exit 2) with a clear message, nothing sent", async () => {
  await withLlm(async (ctx) => {
    const sonnet = "anthropic/claude-sonnet-4-5";
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ model: sonnet }, /give either prompt or messages|prompt must be a string \(or give messages\)/],
      [
        { model: sonnet, prompt: "a", messages: [{ role: "user", content: "b" }] },
        /give either prompt or messages, not both/,
      ],
      [
        { model: sonnet, messages: [{ role: "system", content: "b" }] },
        /messages\[0\]\.role must be "user" or "assistant"/,
      ],
      [{ model: sonnet, messages: [] }, /messages must be a non-empty list/],
      [{ model: sonnet, prompt: "" }, /prompt is empty/],
      [{ model: "google/gemini-2.5-flash", prompt: "  \n" }, /prompt is empty/],
      [
        {
          model: sonnet,
          messages: [{ role: "user", content: "a" }, { role: "assistant", content: "" }, {
            role: "user",
            content: "b",
          }],
          cache: true,
        },
        /messages\[1\]\.content is empty/,
      ],
      [{ model: sonnet, prompt: "x", thinking: 512 }, /thinking must be at least 1024 tokens for Anthropic, got 512/],
      [
        { model: sonnet, prompt: "x", thinking: 4096, max_tokens: 2048 },
        /thinking \(4096\) must be less than max_tokens \(2048\)/,
      ],
      [{ model: sonnet, prompt: "x", thinking: 2048, temperature: 0.5 }, /temperature cannot be set with thinking/],
      [
        { model: sonnet, prompt: "x", thinking: 100000 },
        /thinking \(100000\) must be less than the output limit of 'anthropic\/claude-sonnet-4-5' \(64000 tokens\)/,
      ],
      [
        { model: "anthropic/claude-opus-4-1", prompt: "x", thinking: 40000, max_tokens: 50000 },
        /thinking \(40000\) must be less than the output limit .* \(32000 tokens\)/,
      ],
      [
        { model: "openai/gpt-4o", prompt: "x", thinking: 2048 },
        /thinking is a thinking budget for Anthropic and Google models.*use reasoning_effort/,
      ],
      [
        { model: sonnet, prompt: "x", reasoning_effort: "low" },
        /reasoning_effort is for OpenAI reasoning models.*use thinking/,
      ],
      [
        { model: "openai/gpt-4o-mini", prompt: "x", reasoning_effort: "low" },
        /reasoning_effort is for OpenAI reasoning models \(o-series, gpt-5\); 'openai\/gpt-4o-mini' is not one/,
      ],
      [{ model: "openai/gpt-4.1", prompt: "x", reasoning_effort: "high" }, /'openai\/gpt-4\.1' is not one/],
      [
        { model: "openai/o3-mini", prompt: "x", reasoning_effort: "max" },
        /reasoning_effort.*must be one of "minimal", "low", "medium", "high"/,
      ],
      [{ model: sonnet, prompt: "x", cache: "2h" }, /cache.*must be one of false, true, "5m", "1h"/],
      [
        { model: sonnet, prompt: "x", schema: { type: "object", properties: { a: { type: "strin" } } } },
        /schema: schema\/properties\/a/,
      ],
      // The param is named once after its pointer (`schema: schema: give…` had said it twice).
      [
        { model: sonnet, prompt: "x", schema: { type: "string" } },
        /\/params\/schema: schema: the top-level type must be "object"/,
      ],
      [
        { model: sonnet, prompt: "x", schema: {} },
        /\/params\/schema: schema: give a top-level "type": "object" \(or "array"\)/,
      ],
      [
        { model: sonnet, prompt: "x", schema: { anyOf: [{ type: "object" }, { type: "array" }] } },
        /\/params\/schema: schema: give a top-level "type": "object" \(or "array"\)/,
      ],
      [
        { model: sonnet, prompt: "x", schema: { enum: ["a", "b"] } },
        /\/params\/schema: schema: give a top-level "type"/,
      ],
      [{ model: sonnet, prompt: "x", schema: "not a schema" }, /schema.*must be object/],
      [{ model: sonnet, prompt: "x", max_retries: 11 }, /max_retries' must be from 0 to 10, got 11/],
      [{ model: sonnet, prompt: "x", max_tokens: 0 }, /max_tokens must be a whole number of tokens, at least 1, got 0/],
      [{ model: "openai/gpt-4o", prompt: "x", max_tokens: -5 }, /max_tokens must be .* at least 1, got -5/],
      [{ model: sonnet, prompt: "x", max_retries: -1 }, /max_retries' must be from 0 to 10, got -1/],
    ];
    for (const [params, pattern] of cases) {
      const stderr = await rejected(ctx, params);
      assert.match(stderr, pattern, JSON.stringify(params));
      assert.match(stderr, /bad\.json:\d+:\d+/, "the message names the file and line");
      assert.doesNotMatch(stderr, /\n\s+at /, "no stack trace");
    }
  });
});

Deno.test("a prompt or message a template leaves empty fails the node before any call (no request, no call counted)", async () => {
  await withLlm(async (ctx) => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ model: "anthropic/claude-sonnet-4-5", prompt: "${src.output}" }, /prompt is empty/],
      [
        {
          model: "google/gemini-2.5-flash",
          messages: [{ role: "user", content: "hi" }, { role: "assistant", content: "${src.output}" }, {
            role: "user",
            content: "go on",
          }],
        },
        /messages\[1\]\.content is empty/,
      ],
    ];
    for (const [params, pattern] of cases) {
      const { result, doc } = await runNodes(ctx, [{ id: "src", type: "echo", params: { value: " " } }, {
        id: "ask",
        type: "llm",
        params,
      }]);
      assert.equal(result.code, 1, result.stderr);
      assert.match(doc.error.message, pattern);
      assert.match(doc.error.message, /after templates were filled in/);
      assert.equal(ctx.srv.requests.length, 0, "nothing was sent");
      assert.equal(doc.num_llm_calls ?? 0, 0, "no call counted");
    }
  });
});

Deno.test("templated options are checked at run time by the node's param names, before any call", async () => {
  await withLlm(async (ctx) => {
    const cases: [unknown, Record<string, unknown>, RegExp][] = [
      [0, { max_tokens: "${src.output}" }, /max_tokens must be a whole number of tokens, at least 1, got 0/],
      [
        4096,
        { max_tokens: "${src.output}", thinking: 8192 },
        /thinking \(8192\) must be less than max_tokens \(4096\)/,
      ],
      ["low", { reasoning_effort: "${src.output}" }, /reasoning_effort is for OpenAI reasoning models/],
      [11, { max_retries: "${src.output}" }, /param 'max_retries' must be from 0 to 10, got 11/],
    ];
    for (const [value, params, pattern] of cases) {
      const { result, doc } = await runNodes(ctx, [{ id: "src", type: "echo", params: { value } }, {
        id: "ask",
        type: "llm",
        params: { model: "anthropic/claude-sonnet-4-5", prompt: "hi", ...params },
      }]);
      assert.equal(result.code, 1, result.stderr);
      assert.match(doc.error.message, pattern);
      assert.doesNotMatch(doc.error.message, /maxTokens|reasoningEffort|max retries|maxOutputTokens/);
      assert.equal(ctx.srv.requests.length, 0, "nothing was sent");
      assert.equal(doc.num_llm_calls ?? 0, 0, "no call counted");
    }
  });
});

// --- LLM calls that broke (issue 9, section 3) ------------------------------------------------

Deno.test("a provider's redirect to another host is not followed: the key stays home, the error names the target", async () => {
  await withLlm(async (ctx) => {
    const other = await startLlmServer();
    try {
      const target = `${other.url.replace("127.0.0.1", "localhost")}/v1/messages`;
      ctx.srv.enqueue({ redirect: { status: 307, location: target } });
      const { result, doc } = await runNodes(ctx, [
        { id: "a", type: "llm", params: { model: "anthropic/claude-haiku-4-5", prompt: "hi" } },
      ]);
      assert.equal(result.code, 1);
      assert.equal(other.requests.length, 0, "the other host never got the request (nor its x-api-key)");
      assert.equal(ctx.srv.requests.length, 1, "not retried");
      assert.equal(
        doc.error.message,
        `anthropic/claude-haiku-4-5: the provider answered HTTP 307 redirecting to ${target}; redirects are not ` +
          "followed (the API key would go along): set the base URL to the new location",
      );
      assert.equal(doc.pricing.complete, true, "a redirect generated nothing: known to cost 0");
    } finally {
      await other.close();
    }
  });
});

Deno.test("a stream that ends before its closing event is retried; the failed attempt is in the trace, its cost unknown", async () => {
  await withLlm(async (ctx) => {
    const usage = { input_tokens: 1000, output_tokens: 50, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 };
    ctx.srv.enqueue({ text: "half an ans", truncate: true, usage }, { text: "the whole answer", usage });
    const { result, doc } = await runNodes(ctx, [{
      id: "s",
      type: "llm",
      params: { model: "anthropic/claude-sonnet-4-5", prompt: "go", stream: true, max_retries: 1 },
    }], { wf: { outputs: { text: { source: "${s.response}" } } } });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(doc.result.text, "the whole answer");
    assert.equal(ctx.srv.requests.length, 2);
    assert.equal(doc.metrics.workflow.nodes.s.retries, 1);
    const { calls, events } = traceCalls(doc);
    assert.equal(events[0].retries, 1);
    assert.deepEqual(calls.map((c) => c.status), ["error", "ok"]);
    assert.equal(calls[0].error?.message, "anthropic/claude-sonnet-4-5: stream ended before completion");
    assert.equal(calls[0].http_status, null);
    // The failed attempt's message_start reported 1000 input tokens: kept in the trace. Its output is unknown
    // (message_start's provisional 1) and so is what it was billed: never priced as if complete.
    assert.equal(calls[0].usage.input_tokens, 1000);
    assert.equal(calls[0].usage.usage_missing, true);
    assert.equal(calls[0].cost_usd, null);
    // The answer: 1000 × 3 + 50 × 15 = 3750 µ$, the known part of an incomplete total.
    close(doc.total_cost_usd, 0.00375, "total");
    assert.equal(doc.pricing.complete, false);
    assert.deepEqual(doc.pricing.usage_missing.map((m: { node_id: string }) => m.node_id), ["s"]);
    assert.equal(doc.num_llm_calls, 2);
    const shown = JSON.parse((await runPflow(["cost", "show", "latest", "--json"], { env: ctx.env })).stdout);
    assert.equal(shown.totals.cost_complete, false);

    const env = { ...ctx.env, NO_COLOR: "1" };
    const tree = await runPflow(["trace", "show", doc.trace_path], { env });
    assert.match(tree.stdout, /├─ anthropic\/claude-sonnet-4-5 · .* ✗ LlmCallError\n/);
    assert.match(tree.stdout, /1 retry/);
    const node = await runPflow(["trace", "show", doc.trace_path, "--node", "s"], { env });
    assert.match(node.stdout, /failed: LlmCallError: anthropic\/claude-sonnet-4-5: stream ended before completion/);
    const exported = await runPflow(["trace", "export", doc.trace_path, "--format", "otlp-json"], { env });
    const spans = JSON.parse(exported.stdout).resourceSpans[0].scopeSpans.flatMap((s: { spans: unknown[] }) => s.spans);
    // deno-lint-ignore no-explicit-any
    const chats = spans.filter((s: any) => s.name.startsWith("chat "));
    // deno-lint-ignore no-explicit-any
    assert.deepEqual(chats.map((s: any) => s.status.code), [2, 1], "the failed attempt's span is an error");
  });
});

Deno.test("a stream that never completes fails after its retries with 'stream ended before completion', never as a success", async () => {
  await withLlm(async (ctx) => {
    ctx.srv.enqueue({ text: "partial", truncate: true }, { text: "partial", truncate: true });
    const { result, doc } = await runNodes(ctx, [{
      id: "s",
      type: "llm",
      params: { model: "openai/gpt-4o-mini", prompt: "go", stream: true, max_retries: 1 },
    }]);
    assert.equal(result.code, 1);
    assert.match(JSON.stringify(doc), /openai\/gpt-4o-mini: stream ended before completion \(after 2 attempts\)/);
    const { calls } = traceCalls(doc);
    assert.deepEqual(calls.map((c) => c.status), ["error", "error"]);
    assert.equal(doc.metrics.workflow.nodes.s.retries, 1);
  });
});

Deno.test("a response without usage: pricing incomplete and the call listed, never $0 complete", async () => {
  await withLlm(async (ctx) => {
    ctx.srv.enqueue({ text: "fine", noUsage: true, requestId: "req_nousage" }, { text: "streamed", noUsage: true });
    const { result, doc } = await runNodes(ctx, [
      { id: "n", type: "llm", params: { model: "openai/gpt-4o-mini", prompt: "hi" } },
      { id: "s", type: "llm", params: { model: "openai/gpt-4o-mini", prompt: "hi", stream: true } },
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(doc.pricing.complete, false);
    assert.deepEqual(doc.pricing.usage_missing, [
      { node_id: "n", model: "openai/gpt-4o-mini", request_id: "req_nousage" },
      { node_id: "s", model: "openai/gpt-4o-mini", request_id: "req_test_2" },
    ]);
    assert.deepEqual(traceCalls(doc).calls.map((c) => c.usage.usage_missing), [true, true]);
    // Text mode warns (naming the node: the ledger attributes calls to nodes) and marks the cost as incomplete.
    ctx.srv.enqueue({ text: "fine", noUsage: true, requestId: "req_again" });
    const text = await runPflow(["run", join(ctx.dir, "wf.json")], { env: ctx.env });
    assert.equal(text.code, 0, text.stderr);
    assert.match(
      text.stderr,
      /warning: openai\/gpt-4o-mini \(node 'n'\): no usage reported for request req_again \(interrupted, cut off, or the provider sent none\); its tokens and cost are unknown/,
    );
    assert.match(text.stderr, /\$[\d.]+\+ · .*usage missing: 1 call\n/);
    // The ledger keeps such calls as of unknown cost: its views say $0+ and incomplete, never $0 complete.
    const show = await runPflow(["cost", "show", "latest", "--json"], { env: ctx.env });
    assert.equal(show.code, 0, show.stderr);
    const shown = JSON.parse(show.stdout);
    assert.equal(shown.totals.cost_complete, false, JSON.stringify(shown.totals));
    assert.equal(shown.totals.unpriced_calls, 0, "gpt-4o-mini has a price");
    assert.equal(shown.totals.usage_missing_calls, 1);
    const report = await runPflow(["cost", "report", "--by", "run", "--json"], { env: ctx.env });
    assert.equal(report.code, 0, report.stderr);
    const rows = JSON.parse(report.stdout).rows;
    assert.equal(rows.length, 2);
    for (const row of rows) assert.equal(row.cost_complete, false, JSON.stringify(row));
    const plain = await runPflow(["cost", "show", "latest"], { env: { ...ctx.env, NO_COLOR: "1" } });
    assert.match(plain.stdout, /\$0\+|unknown/);
    assert.doesNotMatch(plain.stdout, /unpriced/, "gpt-4o-mini has a price: its usage is what is missing");
    assert.doesNotMatch(plain.stdout, /\$0(?![.+\d])/);
    // With every call's usage missing, the summary line says the cost is unknown, as `pflow cost` does.
    ctx.srv.enqueue({ text: "fine", noUsage: true }, { text: "streamed", noUsage: true });
    const none = await runPflow(["run", join(ctx.dir, "wf.json")], { env: ctx.env });
    assert.equal(none.code, 0, none.stderr);
    assert.match(none.stderr, /✓ 2 nodes · [\d.]+m?s · unknown · 0 tokens · 2 LLM calls · usage missing: 2 calls\n/);
  });
});

Deno.test("a call without usage has no cost, not $0: JSON result, trace, trace show and OTLP export; a mixed run's total is the known part", async () => {
  await withLlm(async (ctx) => {
    writeFileSync(
      join(ctx.home, "settings.json"),
      JSON.stringify({ providers: { local: { base_url: `${ctx.srv.url}/v1` } } }),
    );
    // Only a call without usage: its cost is unknown, not $0, and its model (which has a price) is not unpriced.
    const alone = await runNodes(ctx, [{
      id: "a",
      type: "llm",
      params: { model: "openai/gpt-4o", prompt: "x [[no-usage]]" },
    }]);
    assert.equal(alone.result.code, 0, alone.result.stderr);
    let doc = alone.doc;
    assert.equal(doc.total_cost_usd, 0, "the Claude Code field stays a number: the known part");
    assert.equal(doc.modelUsage["openai/gpt-4o"].costUSD, null);
    assert.deepEqual(doc.pricing.unpriced_models, []);
    assert.deepEqual(doc.pricing.usage_missing.map((m: { node_id: string }) => m.node_id), ["a"]);
    assert.equal(doc.pricing.complete, false);
    let trace = JSON.parse(readFileSync(doc.trace_path, "utf8"));
    assert.deepEqual(trace.events[0].llm_calls.map((c: TraceLlmCall) => c.cost_usd), [null]);
    assert.deepEqual(trace.llm_totals, {
      calls: 1,
      cost_usd: 0,
      tokens: 0,
      cached_tokens: 0,
      usage_missing: 1,
      unpriced_models: [],
    });
    const shown = await runPflow(["trace", "show", doc.trace_path], { env: { ...ctx.env, NO_COLOR: "1" } });
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /openai\/gpt-4o · in 0 · out 0 · cached 0 · unknown \(no usage reported\)/);
    assert.match(shown.stdout, / a +llm .*0 tokens · unknown\n/);
    assert.doesNotMatch(shown.stdout, /unpriced|\$0(?![.+\d])/);
    const exported = await runPflow(["trace", "export", doc.trace_path, "--format", "otlp-json"], { env: ctx.env });
    assert.equal(exported.code, 0, exported.stderr);
    const spans = JSON.parse(exported.stdout).resourceSpans[0].scopeSpans.flatMap((s: { spans: unknown[] }) => s.spans);
    // deno-lint-ignore no-explicit-any
    const chats = spans.filter((s: any) => s.name.startsWith("chat "));
    assert.equal(chats.length, 1);
    // deno-lint-ignore no-explicit-any
    assert.equal(chats[0].attributes.find((a: any) => a.key === "pflow.cost_usd"), undefined, "no cost, not 0");

    // With a call of known cost: the total is that call's, marked incomplete; each call keeps its own.
    // gpt-4o at $2.50 / $10 per million: 1000 in + 100 out = 0.0025 + 0.001.
    const usage = JSON.stringify({ prompt_tokens: 1000, completion_tokens: 100 });
    const mixed = await runNodes(ctx, [
      { id: "a", type: "llm", params: { model: "openai/gpt-4o", prompt: "x [[no-usage]]" } },
      { id: "b", type: "llm", params: { model: "openai/gpt-4o", prompt: `y [[usage:${usage}]]` } },
      { id: "c", type: "llm", params: { model: "local/llama", prompt: "z [[no-usage]]" } },
    ]);
    assert.equal(mixed.result.code, 0, mixed.result.stderr);
    doc = mixed.doc;
    close(doc.total_cost_usd, 0.0035, "total");
    close(doc.modelUsage["openai/gpt-4o"].costUSD, 0.0035, "gpt-4o");
    assert.equal(doc.modelUsage["local/llama"].costUSD, null);
    // A call without usage counts as usage missing, whatever its model's price (as in the ledger).
    assert.deepEqual(doc.pricing.unpriced_models, []);
    assert.deepEqual(doc.pricing.usage_missing.map((m: { node_id: string }) => m.node_id), ["a", "c"]);
    assert.equal(doc.pricing.complete, false);
    assert.equal(doc.metrics.workflow.nodes.a.cost_usd, 0);
    close(doc.metrics.workflow.nodes.b.cost_usd, 0.0035, "node b");
    trace = JSON.parse(readFileSync(doc.trace_path, "utf8"));
    const costs = Object.fromEntries(
      trace.events.map((e: { node_id: string; llm_calls: TraceLlmCall[] }) => [e.node_id, e.llm_calls[0].cost_usd]),
    );
    assert.equal(costs.a, null);
    close(costs.b, 0.0035, "trace b");
    assert.equal(costs.c, null);
    close(trace.llm_totals.cost_usd, 0.0035, "llm_totals");
    assert.equal(trace.llm_totals.usage_missing, 2);
    assert.deepEqual(trace.llm_totals.unpriced_models, []);
    assert.deepEqual(trace.metrics.pricing.usage_missing.length, 2);
    const list = await runPflow(["trace", "list"], { env: { ...ctx.env, NO_COLOR: "1" } });
    assert.match(list.stdout.split("\n")[1], /\$0\.0035\+/);
    // The run whose only call reported no usage: nothing of its cost is known, so not `$0+`.
    assert.match(list.stdout.split("\n")[2], / unknown /);
    assert.doesNotMatch(list.stdout, /\$0\+/);
    // --json says what the `+` says: the cost is the known part, not all of it.
    const listed = await runPflow(["trace", "list", "--json"], { env: ctx.env });
    assert.equal(listed.code, 0, listed.stderr);
    const entries = Object.fromEntries(
      JSON.parse(listed.stdout).map((e: { path: string; total_cost_usd: number; cost_complete: boolean }) => [
        e.path,
        [e.total_cost_usd, e.cost_complete],
      ]),
    );
    assert.deepEqual(entries[alone.doc.trace_path], [0, false]);
    assert.deepEqual(entries[doc.trace_path], [0.0035, false]);
    // The trace page: a node or model whose calls all lack usage is of unknown cost, neither $0 nor unpriced.
    const page = pageData([{ path: doc.trace_path, trace, complete: true, eventCount: trace.events.length }]).traces[0];
    const lines = (by: CostLine[]) => Object.fromEntries(by.map((l) => [l.label, [l.usd, l.text]]));
    assert.deepEqual(lines(page.cost.by_node), {
      a: [null, "unknown"],
      b: [0.0035, "$0.0035"],
      c: [null, "unknown"],
    });
    assert.deepEqual(lines(page.cost.by_model), {
      "openai/gpt-4o": [0.0035, "$0.0035+"],
      "local/llama": [null, "unknown"],
    });
    assert.deepEqual(page.cost.unpriced, []);
    assert.match(page.bars.find((b) => b.kind === "llm" && b.event === 0)!.text, /unknown \(no usage reported\)$/);

    // A trace written before such calls had no cost said $0 for them: read as unknown all the same.
    trace.events[0].llm_calls[0].cost_usd = 0;
    writeFileSync(doc.trace_path, formatTraceFile(trace));
    const old = await runPflow(["trace", "show", doc.trace_path], { env: { ...ctx.env, NO_COLOR: "1" } });
    assert.match(old.stdout, / {2}✓ a +llm .*0 tokens · unknown\n.*unknown \(no usage reported\)/);
    const oldExport = await runPflow(["trace", "export", doc.trace_path, "--format", "otlp-json"], { env: ctx.env });
    const oldCosts = JSON.parse(oldExport.stdout).resourceSpans[0].scopeSpans
      .flatMap((s: { spans: unknown[] }) => s.spans)
      // deno-lint-ignore no-explicit-any
      .filter((s: any) => s.name.startsWith("chat "))
      // deno-lint-ignore no-explicit-any
      .map((s: any) => s.attributes.find((a: any) => a.key === "pflow.cost_usd")?.value.doubleValue ?? null);
    assert.deepEqual(oldCosts, [null, 0.0035, null]);
  });
});

Deno.test("a call cut off by the node's timeout: usage unknown, pricing incomplete, never $0 complete", async () => {
  await withLlm(async (ctx) => {
    ctx.srv.enqueue({ delayMs: 3000 });
    const { result, doc } = await runNodes(ctx, [
      { id: "slow", type: "llm", params: { model: "openai/gpt-4o-mini", prompt: "hi", timeout: 0.3, max_retries: 0 } },
    ]);
    assert.equal(result.code, 1, result.stderr);
    assert.equal(doc.pricing.complete, false);
    assert.deepEqual(doc.pricing.usage_missing.map((m: { node_id: string }) => m.node_id), ["slow"]);
    assert.deepEqual(traceCalls(doc).calls.map((c) => c.usage.usage_missing), [true]);
    // The trace commands show the cost as unknown too (its only call reported no usage), not as $0 or $0+.
    const list = await runPflow(["trace", "list"], { env: { ...ctx.env, NO_COLOR: "1" } });
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, / unknown /);
    const show = await runPflow(["trace", "show", doc.trace_path], { env: { ...ctx.env, NO_COLOR: "1" } });
    assert.equal(show.code, 0, show.stderr);
    assert.match(show.stdout, /total unknown/);
    assert.doesNotMatch(show.stdout, /\$0(?![.\d])/);
    const report = await runPflow(["cost", "report", "--json"], { env: ctx.env });
    assert.equal(report.code, 0, report.stderr);
    assert.equal(JSON.parse(report.stdout).totals.cost_complete, false);
  });
});

Deno.test("an Anthropic response without usage is kept, like OpenAI's and Gemini's: usage missing, pricing incomplete, a warning", async () => {
  await withLlm(async (ctx) => {
    ctx.srv.enqueue({ text: "fine", noUsage: true }, { text: "streamed", noUsage: true });
    const { result, doc } = await runNodes(ctx, [
      { id: "n", type: "llm", params: { model: "anthropic/claude-sonnet-4-5", prompt: "hi", max_retries: 0 } },
      {
        id: "s",
        type: "llm",
        params: { model: "anthropic/claude-sonnet-4-5", prompt: "hi", stream: true, max_retries: 0 },
      },
    ], { wf: { outputs: { n: { source: "${n.response}" }, s: { source: "${s.response}" } } } });
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(doc.result, { n: "fine", s: "streamed" });
    assert.equal(doc.pricing.complete, false);
    assert.deepEqual(doc.pricing.usage_missing.map((m: { node_id: string }) => m.node_id), ["n", "s"]);
    assert.deepEqual(traceCalls(doc).calls.map((c) => [c.usage.usage_missing, c.usage.raw]), [[true, null], [
      true,
      null,
    ]]);
    ctx.srv.enqueue({ text: "fine", noUsage: true, requestId: "req_silent" });
    const text = await runPflow(["run", join(ctx.dir, "wf.json")], { env: ctx.env });
    assert.match(
      text.stderr,
      /warning: anthropic\/claude-sonnet-4-5 \(node 'n'\): no usage reported for request req_silent \(interrupted, cut off, or the provider sent none\)/,
    );
  });
});

Deno.test("a body that is not the provider's JSON: provider/model and the cause, at most 200 characters of it, redacted", async () => {
  await withLlm(async (ctx) => {
    const page = `<html><head><title>502 Bad Gateway</title></head><body>proxy says key=${ANTHROPIC_KEY} ` +
      "x".repeat(500) + "</body></html>";
    ctx.srv.enqueue({ rawBody: page });
    const { result, doc } = await runNodes(ctx, [{
      id: "m",
      type: "llm",
      params: { model: "anthropic/claude-sonnet-4-5", prompt: "hi" },
    }]);
    assert.equal(result.code, 1);
    const message: string = doc.error.message;
    assert.match(
      message,
      /anthropic\/claude-sonnet-4-5: HTTP 200 with an unreadable body: an HTML page instead of JSON: '<html>/,
    );
    assert.doesNotMatch(JSON.stringify(doc), new RegExp(ANTHROPIC_KEY));
    const quoted = message.match(/'(<html>[^']*)'/)![1];
    assert.ok(quoted.length <= 200, `${quoted.length} characters of the body`);
    assert.doesNotMatch(message, /x{300}/);

    ctx.srv.reset();
    ctx.srv.enqueue({ rawBody: '{"id": "msg_1", "content": [', rawContentType: "application/json" });
    const second = await runNodes(ctx, [{
      id: "m",
      type: "llm",
      params: { model: "anthropic/claude-sonnet-4-5", prompt: "hi" },
    }]);
    assert.equal(second.result.code, 1);
    assert.match(
      JSON.stringify(second.doc),
      /anthropic\/claude-sonnet-4-5: HTTP 200 with an unreadable body: invalid JSON: '\{\\"id\\": \\"msg_1\\"/,
    );
  });
});

Deno.test("a key the 200-character body preview would cut in two is redacted whole: no part of it in the result, stderr or trace", async () => {
  await withLlm(async (ctx) => {
    // Each body puts the key where the preview's cut falls (character 197 of the body on one line).
    const cases = [
      // A page instead of JSON (bodyProblem), as JSON and as a stream.
      ["anthropic/claude-sonnet-4-5", false, { rawBody: `${"x".repeat(186)} ${ANTHROPIC_KEY} tail` }],
      ["openai/gpt-4o", true, { rawBody: `${"x".repeat(186)} ${ANTHROPIC_KEY} tail` }],
      // JSON of another shape: the SDK's parse error (describeOther).
      ["openai/gpt-4o", false, {
        rawBody: `{"a":"${"x".repeat(180)} ${ANTHROPIC_KEY} tail"}`,
        rawContentType: "application/json",
      }],
      // An event the provider library cannot read (the unreadable-stream preview).
      ["anthropic/claude-sonnet-4-5", true, {
        rawBody: `data: {"type":"zzz","a":"${"x".repeat(160)} ${ANTHROPIC_KEY} tail"}\n\n`,
        rawContentType: "text/event-stream",
      }],
    ] as const;
    for (const [model, stream, reply] of cases) {
      ctx.srv.reset();
      ctx.srv.enqueue(reply);
      const { result, doc } = await runNodes(ctx, [
        { id: "m", type: "llm", params: { model, prompt: "hi", stream, max_retries: 0 } },
      ]);
      assert.equal(result.code, 1, result.stderr);
      assert.match(doc.error.message, /\.\.\.'/, `the body was cut: ${doc.error.message}`);
      const shown = `${result.stdout}\n${result.stderr}\n${readFileSync(doc.trace_path, "utf8")}`;
      for (let n = 6; n <= ANTHROPIC_KEY.length; n++) {
        assert.ok(!shown.includes(ANTHROPIC_KEY.slice(0, n)), `${model}: ${n} characters of the key shown`);
      }
      assert.doesNotMatch(doc.error.message, /\[R?E?D?A?C?T?E?D?\.\.\.'/, "no partial [REDACTED] marker");
    }
  });
});

Deno.test("a streamed call answered 200 with a page, not an event stream: the cause and the body, not retried", async () => {
  await withLlm(async (ctx) => {
    const page = `<html><body>Sign in to the proxy (key=${ANTHROPIC_KEY})</body></html>`;
    const cases = [
      [
        "anthropic/claude-sonnet-4-5",
        { rawBody: page },
        "an HTML page instead of an event stream: '<html><body>Sign in",
      ],
      ["openai/gpt-4o", { rawBody: page }, "an HTML page instead of an event stream: '<html><body>Sign in"],
      ["google/gemini-2.5-flash", { rawBody: page }, "an HTML page instead of an event stream: '<html><body>Sign in"],
      [
        "openai/gpt-4o",
        {
          rawBody: '{"error":{"type":"invalid_request_error","message":"stream is off"}}',
          rawContentType: "application/json",
        },
        "an error instead of an event stream invalid_request_error: stream is off",
      ],
    ] as const;
    for (const [model, reply, cause] of cases) {
      ctx.srv.reset();
      ctx.srv.enqueue(reply, reply);
      const { result, doc } = await runNodes(ctx, [
        { id: "s", type: "llm", params: { model, prompt: "hi", stream: true, max_retries: 1 } },
      ]);
      assert.equal(result.code, 1, result.stderr);
      const message: string = doc.error.message;
      assert.ok(message.startsWith(`${model}: HTTP 200 with an unreadable body: ${cause}`), message);
      assert.equal(ctx.srv.requests.length, 1, `${model}: the same page again would not help; not retried`);
      assert.doesNotMatch(JSON.stringify(doc) + result.stderr, new RegExp(ANTHROPIC_KEY));
    }
  });
});

Deno.test("a stream whose connection breaks off mid-response: said so, retried like a network error", async () => {
  await withLlm(async (ctx) => {
    for (const model of ["anthropic/claude-sonnet-4-5", "openai/gpt-4o", "google/gemini-2.5-flash"]) {
      ctx.srv.reset();
      ctx.srv.enqueue({ text: "partial answer", dropConnection: true }, { text: "whole answer" });
      const { result, doc } = await runNodes(ctx, [
        { id: "s", type: "llm", params: { model, prompt: "hi", stream: true, max_retries: 1 } },
      ]);
      assert.equal(result.code, 0, `${model}: ${result.stderr}${result.stdout}`);
      const { calls } = traceCalls(doc);
      assert.equal(calls.length, 2, model);
      assert.match(
        calls[0].error!.message,
        new RegExp(`^${model.replace("/", "\\/")}: the connection broke off while reading the response \\(`),
      );
      assert.doesNotMatch(calls[0].error!.message, /unreadable body|verbose: true/);
      assert.equal(calls[1].status, "ok");
    }
  });
});

Deno.test("retries of 429/500 are counted and each failed attempt is in the trace with its status", async () => {
  await withLlm(async (ctx) => {
    ctx.srv.enqueue(
      { status: 429, headers: { "retry-after-ms": "10" } },
      { status: 500, headers: { "retry-after-ms": "10" } },
      { text: "ok" },
    );
    const { result, doc } = await runNodes(ctx, [{
      id: "r",
      type: "llm",
      params: { model: "anthropic/claude-haiku-4-5", prompt: "hi" },
    }]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(doc.metrics.workflow.nodes.r.retries, 2);
    const { calls, events } = traceCalls(doc);
    assert.equal(events[0].retries, 2);
    assert.deepEqual(calls.map((c) => [c.status, c.http_status ?? null]), [["error", 429], ["error", 500], [
      "ok",
      null,
    ]]);
    assert.match(calls[0].error!.message, /HTTP 429 rate_limit_error/);
    assert.equal(calls[0].usage.usage_missing, undefined, "a rejected request costs nothing: 0 tokens, known");
    assert.equal(doc.pricing.complete, true);
    assert.equal(doc.num_llm_calls, 3);
  });
});

// --- the example ------------------------------------------------------------------------------

Deno.test("examples/trip_plan.json (caching + structured output) runs end to end", async () => {
  await withLlm(async (ctx) => {
    const days = [
      { title: "Old town", neighbourhood: "Vieux Lyon", highlights: ["Cathedral"] },
      { title: "Hills", neighbourhood: "Croix-Rousse", highlights: ["Traboules"] },
    ];
    ctx.srv.enqueue({ json: { city: "Lyon", days } });
    const result = await runPflow(
      ["run", "examples/trip_plan.json", "city=Lyon", "--output-format", "json"],
      { env: ctx.env },
    );
    assert.equal(result.code, 0, result.stderr);
    const doc = JSON.parse(result.stdout);
    assert.equal(doc.is_error, false);
    assert.equal(ctx.srv.requests.length, 3, "one structured plan, then a batch of two day descriptions");
    assert.equal(ctx.srv.requests[0].body.output_config.format.type, "json_schema");
    for (const request of ctx.srv.requests) {
      assert.equal(request.body.system[0].cache_control.type, "ephemeral", "the shared system prompt is cached");
    }
    assert.deepEqual(doc.result.plan, { city: "Lyon", days });
    assert.equal(doc.result.days.length, 2);
    assert.match(doc.result.days[0], /^echo: In Lyon, describe this day in four sentences: \{"title":"Old town"/);
  });
});

// --- model ids and provider settings (issue 10) ------------------------------------------------

Deno.test("a model alias is resolved before the call: canonical id on the wire, one id for usage and cost", async () => {
  await withLlm(async (ctx) => {
    ctx.srv.enqueue({ usage: { input_tokens: 1000, output_tokens: 100 } });
    const { result, doc } = await runNodes(ctx, [{
      id: "a",
      type: "llm",
      params: { model: "anthropic/sonnet", prompt: "hi" },
    }]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(ctx.srv.requests[0].body.model, "claude-sonnet-4-5");
    assert.deepEqual(Object.keys(doc.modelUsage), ["anthropic/claude-sonnet-4-5"]);
    // 1000 × 3 + 100 × 15 = 4500 µ$
    close(doc.total_cost_usd, 0.0045, "total");
    assert.equal(traceCalls(doc).calls[0].model, "anthropic/claude-sonnet-4-5");
  });
});

Deno.test("a providers entry merges over its preset: openrouter with only base_url still sends OPENROUTER_API_KEY", async () => {
  await withLlm(async (ctx) => {
    writeFileSync(
      join(ctx.home, "settings.json"),
      JSON.stringify({ providers: { openrouter: { base_url: `${ctx.srv.url}/api/v1` } } }),
    );
    const env = { ...ctx.env, OPENROUTER_API_KEY: "sk-or-v1-merged-key" };
    const file = writeWorkflow(
      ctx.dir,
      "or.json",
      workflow([{ id: "a", type: "llm", params: { model: "openrouter/openai/gpt-4o-mini", prompt: "hi" } }]),
    );
    const result = await runPflow(["run", file, "--output-format", "json"], { env });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(ctx.srv.requests[0].path, "/api/v1/chat/completions");
    assert.equal(ctx.srv.requests[0].headers.authorization, "Bearer sk-or-v1-merged-key");
    const { OPENROUTER_API_KEY: _, ...withoutKey } = env;
    const missing = await runPflow(["run", file], { env: withoutKey });
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /OPENROUTER_API_KEY is not set/);
  });
});

Deno.test("messages as one template: a conversation built by an earlier node", async () => {
  await withLlm(async (ctx) => {
    const history = [{ role: "user", content: "Hi" }, { role: "assistant", content: "Hello!" }, {
      role: "user",
      content: "Bye",
    }];
    const { result } = await runNodes(ctx, [
      { id: "h", type: "echo", params: { value: history } },
      { id: "a", type: "llm", params: { model: "openai/gpt-4o-mini", messages: "${h.output}" } },
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(ctx.srv.requests[0].body.messages, history);
    ctx.srv.reset();
    const bad = await runNodes(ctx, [
      { id: "h", type: "echo", params: { value: [{ role: "system", content: "x" }] } },
      { id: "a", type: "llm", params: { model: "openai/gpt-4o-mini", messages: "${h.output}" } },
    ]);
    assert.equal(bad.result.code, 1);
    assert.match(bad.doc.error.message, /messages\[0\]\.role must be "user" or "assistant"/);
    assert.equal(ctx.srv.requests.length, 0);
  });
});

Deno.test("a structured reply that does not fit, after failed attempts: each retry counted once", async () => {
  await withLlm(async (ctx) => {
    const { result, doc } = await runNodes(ctx, [{
      id: "ask",
      type: "llm",
      params: { model: "anthropic/claude-sonnet-4-5", prompt: '[[fail:500:2]][[reply:{"wrong":1}]]', schema: CITY },
    }]);
    assert.equal(result.code, 0, result.stderr);
    const calls = traceCalls(doc).calls;
    // Two 500s retried, the reply that did not fit, then the one retry asking for a corrected reply (which fits).
    assert.deepEqual(calls.map((c) => c.status), ["error", "error", "error", "ok"]);
    assert.equal(doc.metrics.workflow.nodes.ask.retries, 3);
  });
});

Deno.test("a budget spent by a reply that does not fit stops the corrective retry, which is not counted as made", async () => {
  await withLlm(async (ctx) => {
    // sonnet 4.5: 1000 × 3 + 100 × 15 = 4500 µ$, past the budget of 100 µ$.
    ctx.srv.enqueue({ text: '{"wrong":1}', usage: { input_tokens: 1000, output_tokens: 100 } });
    const { result, doc } = await runNodes(ctx, [{
      id: "ask",
      type: "llm",
      params: { model: "anthropic/claude-sonnet-4-5", prompt: "hi", schema: CITY },
    }], { args: ["--max-budget-usd", "0.0001"] });
    assert.equal(result.code, 1);
    assert.equal(doc.subtype, "error_max_budget_usd");
    assert.equal(ctx.srv.requests.length, 1);
    assert.equal(doc.num_llm_calls, 1);
    assert.equal(doc.metrics.workflow.nodes.ask.retries, 0);
  });
});

// --- replies that are not answers: blocked, refused, cut off ------------------------------------

Deno.test("a reply the provider blocked or the model refused fails the node with the reason; the call is recorded and priced, not retried", async () => {
  await withLlm(async (ctx) => {
    const gemini = "google/gemini-2.5-flash";
    const sonnet = "anthropic/claude-sonnet-4-5";
    const mini = "openai/gpt-4o-mini";
    const geminiUsage = { promptTokenCount: 1000, totalTokenCount: 1000 };
    const cases: { model: string; stream?: boolean; script: ScriptedResponse; message: string; cost: number }[] = [
      // gemini-2.5-flash: 1000 × 0.30 = 300 µ$
      {
        model: gemini,
        script: { blockReason: "SAFETY", usage: geminiUsage },
        message: `${gemini}: the provider blocked the prompt: SAFETY`,
        cost: 0.0003,
      },
      {
        model: gemini,
        script: { empty: true, finishReason: "SAFETY", usage: geminiUsage },
        message: `${gemini}: the provider blocked the reply: SAFETY`,
        cost: 0.0003,
      },
      // sonnet 4.5: 1000 × 3 = 3000 µ$
      {
        model: sonnet,
        script: { empty: true, finishReason: "refusal", usage: { input_tokens: 1000, output_tokens: 0 } },
        message: `${sonnet}: the model refused to answer (stop_reason refusal)`,
        cost: 0.003,
      },
      // gpt-4o-mini: 1000 × 0.15 = 150 µ$; partial text: + 100 × 0.60 = 60 µ$; refusal: + 10 × 0.60 = 6 µ$
      {
        model: mini,
        script: {
          empty: true,
          finishReason: "content_filter",
          usage: { prompt_tokens: 1000, completion_tokens: 0, total_tokens: 1000 },
        },
        message: `${mini}: the provider blocked the reply: content_filter`,
        cost: 0.00015,
      },
      {
        model: mini,
        script: {
          text: "Step one: take the",
          finishReason: "content_filter",
          usage: { prompt_tokens: 1000, completion_tokens: 100, total_tokens: 1100 },
        },
        message: `${mini}: the provider blocked the reply: content_filter (after 18 characters of text, not used)`,
        cost: 0.00021,
      },
      {
        model: mini,
        script: {
          refusal: "I can't help with that.",
          usage: { prompt_tokens: 1000, completion_tokens: 10, total_tokens: 1010 },
        },
        message: `${mini}: the model refused to answer: 'I can't help with that.'`,
        cost: 0.000156,
      },
      // Streamed: the same reasons from the streams' closing events.
      {
        model: gemini,
        stream: true,
        script: { blockReason: "PROHIBITED_CONTENT", usage: geminiUsage },
        message: `${gemini}: the provider blocked the prompt: PROHIBITED_CONTENT`,
        cost: 0.0003,
      },
      // sonnet 4.5: 1000 × 3 + 3 × 15 = 3045 µ$
      {
        model: sonnet,
        stream: true,
        script: { text: "Sure, here is", finishReason: "refusal", usage: { input_tokens: 1000, output_tokens: 3 } },
        message: `${sonnet}: the model refused to answer (stop_reason refusal): 'Sure, here is'`,
        cost: 0.003045,
      },
      {
        model: mini,
        stream: true,
        script: {
          refusal: "I can't help with that.",
          usage: { prompt_tokens: 1000, completion_tokens: 10, total_tokens: 1010 },
        },
        message: `${mini}: the model refused to answer: 'I can't help with that.'`,
        cost: 0.000156,
      },
    ];
    for (const c of cases) {
      ctx.srv.reset();
      ctx.srv.enqueue(c.script);
      const { result, doc } = await runNodes(ctx, [
        { id: "a", type: "llm", params: { model: c.model, prompt: "hi", ...(c.stream ? { stream: true } : {}) } },
        { id: "b", type: "echo", params: { value: "${a.response}" } },
      ]);
      const what = `${c.model}${c.stream ? " (stream)" : ""}: ${JSON.stringify(c.script)}`;
      assert.equal(result.code, 1, `${what}\n${result.stderr}`);
      assert.equal(doc.error.message, c.message, what);
      assert.equal(doc.error.node_id, "a", what);
      assert.equal(ctx.srv.requests.length, 1, `${what}: not retried`);
      assert.equal(doc.num_llm_calls, 1, what);
      close(doc.total_cost_usd, c.cost, what);
      const { calls } = traceCalls(doc);
      assert.deepEqual(calls.map((call) => [call.status, call.error?.type]), [["error", "LlmReplyError"]], what);
    }
    // Text mode names the node; the ledger keeps the billed call.
    ctx.srv.reset();
    ctx.srv.enqueue({ empty: true, finishReason: "refusal", usage: { input_tokens: 1000, output_tokens: 0 } });
    const file = writeWorkflow(ctx.dir, "text.json", workflow([{ id: "ask", type: "llm", params: { prompt: "hi" } }]));
    const text = await runPflow(["run", file], { env: { ...ctx.env, NO_COLOR: "1" } });
    assert.equal(text.code, 1, text.stderr);
    assert.match(
      text.stderr,
      /error: node 'ask' failed: anthropic\/claude-sonnet-4-5: the model refused to answer \(stop_reason refusal\)\n/,
    );
    const shown = await runPflow(["cost", "show", "latest", "--json"], { env: ctx.env });
    assert.equal(shown.code, 0, shown.stderr);
    const ledger = JSON.parse(shown.stdout);
    assert.equal(ledger.run.status, "failed");
    assert.equal(ledger.totals.llm_calls, 1);
    close(ledger.totals.cost_usd, 0.003, "ledger");
  });
});

Deno.test("a blocked reply takes the llm node's error edge, with the reason as its error", async () => {
  await withLlm(async (ctx) => {
    ctx.srv.enqueue({ empty: true, finishReason: "SAFETY" });
    const { result, doc } = await runNodes(ctx, [
      { id: "a", type: "llm", params: { model: "google/gemini-2.5-flash", prompt: "hi" } },
      { id: "fallback", type: "echo", params: { value: "handled: ${a.error}" } },
    ], {
      wf: {
        edges: [{ from: "a", to: "fallback", action: "error" }],
        outputs: { said: { source: "${fallback.output}" } },
      },
    });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(doc.result.said, "handled: google/gemini-2.5-flash: the provider blocked the reply: SAFETY");
    assert.match(
      result.stderr,
      /node 'a' failed \(google\/gemini-2\.5-flash: the provider blocked the reply: SAFETY\)/,
    );
    assert.equal(doc.num_llm_calls, 1);
  });
});

Deno.test("schema: a reply cut off at the output limit fails with that cause, with no retry that cannot fix it", async () => {
  await withLlm(async (ctx) => {
    const cases: { params: Record<string, unknown>; script: ScriptedResponse; message: string }[] = [
      {
        params: { model: "anthropic/claude-haiku-4-5", max_tokens: 50 },
        script: { text: '{"city": "Par', finishReason: "max_tokens", usage: { input_tokens: 100, output_tokens: 50 } },
        message: "anthropic/claude-haiku-4-5: the reply was cut off at the output limit (max_tokens 50) " +
          "before its JSON was complete; raise max_tokens",
      },
      {
        params: { model: "google/gemini-2.5-flash", max_tokens: 200 },
        // Thinking used the whole budget: no text at all.
        script: {
          empty: true,
          finishReason: "MAX_TOKENS",
          usage: { promptTokenCount: 20, thoughtsTokenCount: 200, totalTokenCount: 220 },
        },
        message: "google/gemini-2.5-flash: the reply was cut off at the output limit (max_tokens 200, " +
          "200 of them thinking) before any text; raise max_tokens",
      },
      {
        params: { model: "openai/gpt-4o-mini", stream: true },
        script: {
          text: '{"city": "Pa',
          finishReason: "length",
          usage: { prompt_tokens: 100, completion_tokens: 16384, total_tokens: 16484 },
        },
        message: "openai/gpt-4o-mini: the reply was cut off at the model's output limit (16384 output tokens) " +
          "before its JSON was complete; ask for a shorter reply",
      },
    ];
    for (const c of cases) {
      ctx.srv.reset();
      ctx.srv.enqueue(c.script, { json: { city: "Paris", population: 2102650 } });
      const { result, doc } = await runNodes(ctx, [{
        id: "a",
        type: "llm",
        params: { prompt: "France?", schema: CITY, ...c.params },
      }]);
      const what = JSON.stringify(c.params);
      assert.equal(result.code, 1, `${what}\n${result.stderr}`);
      assert.equal(doc.error.message, c.message, what);
      assert.equal(ctx.srv.requests.length, 1, `${what}: no retry`);
      assert.equal(doc.num_llm_calls, 1, what);
      assert.ok(doc.total_cost_usd > 0, `${what}: the call is priced`);
      assert.equal(doc.metrics.workflow.nodes.a.retries, 0, what);
      assert.deepEqual(traceCalls(doc).calls.map((call) => call.error?.type), ["LlmReplyError"], what);
    }
  });
});

Deno.test("a text reply cut off at the output limit is kept, with a warning naming the node", async () => {
  await withLlm(async (ctx) => {
    ctx.srv.enqueue(
      { text: "Once upon a", finishReason: "max_tokens" },
      { text: "In the beginning", finishReason: "length" },
    );
    const file = writeWorkflow(
      ctx.dir,
      "cut.json",
      workflow([
        { id: "story", type: "llm", params: { model: "anthropic/claude-haiku-4-5", prompt: "a story", max_tokens: 3 } },
        { id: "other", type: "llm", params: { model: "openai/gpt-4o-mini", prompt: "another", stream: true } },
      ], {
        edges: [{ from: "story", to: "other" }],
        outputs: { story: { source: "${story.response}" }, other: { source: "${other.response}" } },
      }),
    );
    const result = await runPflow(["run", file, "--output-format", "json"], { env: ctx.env });
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout).result, { story: "Once upon a", other: "In the beginning" });
    assert.match(
      result.stderr,
      /warning: node 'story': the reply was cut off at the output limit \(max_tokens 3\); its response is truncated/,
    );
    assert.match(result.stderr, /warning: node 'other': the reply was cut off at the output limit; its response/);
  });
});

Deno.test("schema: the retry after an empty reply sends a placeholder turn, which Gemini and Anthropic accept", async () => {
  await withLlm(async (ctx) => {
    for (const model of ["google/gemini-2.5-flash", "anthropic/claude-haiku-4-5"]) {
      ctx.srv.reset();
      ctx.srv.enqueue({ empty: true }, { json: { city: "Paris", population: 2102650 } });
      const { result, doc } = await runNodes(ctx, [{
        id: "a",
        type: "llm",
        params: { model, prompt: "France?", schema: CITY },
      }], { wf: { outputs: { city: { source: "${a.response.city}" } } } });
      assert.equal(result.code, 0, `${model}\n${result.stderr}`);
      assert.equal(doc.result.city, "Paris", model);
      assert.equal(ctx.srv.requests.length, 2, model);
      const retry = ctx.srv.requests[1].body;
      const answer = model.startsWith("google/")
        ? retry.contents[1].parts.map((p: { text: string }) => p.text).join("")
        : retry.messages[1].content.map((p: { text: string }) => p.text).join("");
      assert.equal(answer, "(no text)", model);
      assert.equal(doc.metrics.workflow.nodes.a.retries, 1, model);
    }
  });
});

Deno.test("a run whose calls are one without usage and a rejected request (401, $0) is of unknown cost on every surface, never $0+", async () => {
  await withLlm(async (ctx) => {
    const nodes = [
      { id: "a", type: "llm", params: { model: "openai/gpt-4o", prompt: "x [[no-usage]]" } },
      { id: "b", type: "llm", params: { model: "openai/gpt-4o", prompt: "y [[fail:401]]" } },
    ];
    const { result, doc } = await runNodes(ctx, nodes);
    assert.equal(result.code, 1, result.stderr);
    // The rejected request's $0 is known: the JSON keeps the known part, incomplete.
    assert.equal(doc.total_cost_usd, 0);
    assert.equal(doc.pricing.complete, false);
    const env = { ...ctx.env, NO_COLOR: "1" };
    const text = await runPflow(["run", join(ctx.dir, "wf.json")], { env });
    assert.equal(text.code, 1, text.stderr);
    assert.match(text.stderr, /✗ 2 nodes · [\d.]+m?s · unknown · 0 tokens · 2 LLM calls · usage missing: 1 call\n/);
    const surfaces: [string, string[]][] = [
      ["trace list", ["trace", "list"]],
      ["trace show", ["trace", "show", doc.trace_path]],
      ["cost show", ["cost", "show", "latest"]],
      ["cost report", ["cost", "report"]],
      ["cost report --by run", ["cost", "report", "--by", "run"]],
      ["cost report --top", ["cost", "report", "--top", "3"]],
      ["cost report --top --model", ["cost", "report", "--top", "3", "--model", "openai/gpt-4o"]],
      ["cost report --format md", ["cost", "report", "--format", "md"]],
    ];
    for (const [name, args] of surfaces) {
      const shown = await runPflow(args, { env });
      assert.equal(shown.code, 0, `${name}: ${shown.stderr}`);
      assert.match(shown.stdout, /unknown/, `${name}:\n${shown.stdout}`);
      assert.doesNotMatch(shown.stdout, /\$0\+/, `${name}:\n${shown.stdout}`);
      // The top runs and nodes: a call without usage is of unknown cost, not unpriced (gpt-4o has a price).
      assert.doesNotMatch(shown.stdout, /unpriced/, `${name}:\n${shown.stdout}`);
    }
    const top = JSON.parse((await runPflow(["cost", "report", "--top", "3", "--json"], { env })).stdout);
    assert.deepEqual(
      top.top_runs.map((r: Record<string, unknown>) => [r.llm_calls, r.usage_missing_calls, r.total_tokens]),
      [[2, 1, 0], [2, 1, 0]],
    );
    // The trace page: the model's two calls, and the run's total.
    const trace = JSON.parse(readFileSync(doc.trace_path, "utf8"));
    const data = pageData([{ path: doc.trace_path, trace, complete: true, eventCount: trace.events.length }]);
    assert.deepEqual(data.traces[0].cost.by_model.map((l) => [l.label, l.text]), [["openai/gpt-4o", "unknown"]]);
    assert.equal(data.total_text, "unknown");
    // A call that reported its usage makes the cost known again: the rest is a lower bound.
    const usage = JSON.stringify({ prompt_tokens: 1000, completion_tokens: 100 });
    const known = await runNodes(ctx, [
      nodes[0],
      { id: "c", type: "llm", params: { model: "openai/gpt-4o", prompt: `z [[usage:${usage}]]` } },
      nodes[1],
    ]);
    assert.equal(known.result.code, 1, known.result.stderr);
    const list = await runPflow(["trace", "list"], { env });
    assert.match(list.stdout.split("\n")[1], / \$0\.0035\+ /);
  });
});
