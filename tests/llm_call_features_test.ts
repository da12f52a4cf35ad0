// The call API's features against the local wire-protocol server: messages, prompt caching,
// structured output, thinking and reasoning effort, the Gemini provider, aliases and what was sent.
import assert from "node:assert/strict";
import {
  callLlm,
  jsonSchemaProblems,
  LlmCallError,
  LlmConfigError,
  type LlmRequest,
  parseJsonReply,
  StructuredOutputError,
} from "../src/llm/mod.ts";
import { type LlmServer, startLlmServer } from "./support/llm_server.ts";

function envFor(srv: LlmServer): Record<string, string> {
  return {
    ANTHROPIC_API_KEY: "sk-ant-test",
    ANTHROPIC_BASE_URL: srv.url,
    OPENAI_API_KEY: "sk-openai-test",
    OPENAI_BASE_URL: `${srv.url}/v1`,
    GOOGLE_GENERATIVE_AI_API_KEY: "google-test-key",
    GOOGLE_GEMINI_BASE_URL: srv.url,
  };
}

function withServer(fn: (srv: LlmServer, call: (r: LlmRequest) => ReturnType<typeof callLlm>) => Promise<void>) {
  return async () => {
    const srv = await startLlmServer();
    try {
      await fn(srv, (request) => callLlm(request, { env: envFor(srv), settings: {} }));
    } finally {
      await srv.close();
    }
  };
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof Error);
    return error;
  }
  assert.fail("expected the call to fail");
}

const CITY = {
  type: "object",
  properties: { city: { type: "string" }, population: { type: "integer", minimum: 0 } },
  required: ["city", "population"],
  additionalProperties: false,
};

// --- messages and caching -------------------------------------------------------

Deno.test(
  "anthropic cache 5m: cache_control on the system prompt and the end of the stable prefix, nowhere else",
  withServer(async (srv, call) => {
    const res = await call({
      model: "anthropic/claude-sonnet-4-5",
      system: "You are a travel agent.",
      messages: [
        { role: "user", content: "I want to go to France." },
        { role: "assistant", content: "Paris or Lyon?" },
        { role: "user", content: "Paris." },
      ],
      cache: true,
    });
    const body = srv.requests[0].body;
    assert.deepEqual(body.system, [{
      type: "text",
      text: "You are a travel agent.",
      cache_control: { type: "ephemeral" },
    }]);
    assert.deepEqual(body.messages, [
      { role: "user", content: [{ type: "text", text: "I want to go to France." }] },
      { role: "assistant", content: [{ type: "text", text: "Paris or Lyon?", cache_control: { type: "ephemeral" } }] },
      { role: "user", content: [{ type: "text", text: "Paris." }] },
    ]);
    assert.equal(body.cache_control, undefined, "no top-level automatic cache marker");
    assert.equal(res.text, "echo: Paris.");
    assert.deepEqual(res.request, {
      model: "anthropic/claude-sonnet-4-5",
      system: "You are a travel agent.",
      system_cache_control: { type: "ephemeral" },
      messages: [
        { role: "user", content: "I want to go to France." },
        { role: "assistant", content: "Paris or Lyon?", cache_control: { type: "ephemeral" } },
        { role: "user", content: "Paris." },
      ],
    });
  }),
);

Deno.test(
  "anthropic cache 1h: ttl 1h on the system prompt; a lone prompt without system is itself marked",
  withServer(async (srv, call) => {
    await call({ model: "anthropic/claude-sonnet-4-5", system: "Long instructions", prompt: "Q1", cache: "1h" });
    assert.deepEqual(srv.requests[0].body.system[0].cache_control, { type: "ephemeral", ttl: "1h" });
    assert.equal(srv.requests[0].body.messages[0].content[0].cache_control, undefined);
    const res = await call({ model: "anthropic/claude-sonnet-4-5", prompt: "the whole prompt", cache: "1h" });
    assert.deepEqual(srv.requests[1].body.messages[0].content[0].cache_control, { type: "ephemeral", ttl: "1h" });
    assert.deepEqual(res.request.messages[0].cache_control, { type: "ephemeral", ttl: "1h" });
    // cache: false sends no marker at all.
    await call({ model: "anthropic/claude-sonnet-4-5", system: "S", prompt: "Q", cache: false });
    assert.doesNotMatch(JSON.stringify(srv.requests[2].body), /cache_control/);
  }),
);

Deno.test(
  "openai: cache sends nothing (automatic caching), the record says so; messages keep their order",
  withServer(async (srv, call) => {
    const res = await call({
      model: "openai/gpt-4o-mini",
      system: "S",
      messages: [{ role: "user", content: "a" }, { role: "assistant", content: "b" }, { role: "user", content: "c" }],
      cache: "1h",
    });
    assert.deepEqual(srv.requests[0].body.messages, [
      { role: "system", content: "S" },
      { role: "user", content: "a" },
      { role: "assistant", content: "b" },
      { role: "user", content: "c" },
    ]);
    assert.doesNotMatch(JSON.stringify(srv.requests[0].body), /cache/);
    assert.equal(res.request.cache, "automatic");
  }),
);

Deno.test("prompt and messages: exactly one, and messages are well-formed", async () => {
  const options = { env: { OPENAI_API_KEY: "k" }, settings: {} };
  const cases: [Partial<LlmRequest>, RegExp][] = [
    [{ prompt: "a", messages: [{ role: "user", content: "b" }] }, /give either prompt or messages, not both/],
    [{}, /prompt must be a string \(or give messages\)/],
    [{ messages: [] }, /messages must be a non-empty list/],
    [
      { messages: [{ role: "system", content: "x" }] as never },
      /messages\[0\]\.role must be "user" or "assistant".*put it in system/,
    ],
    [{ messages: [{ role: "user", content: 3 }] as never }, /messages\[0\]\.content must be a string/],
    [{ messages: [{ role: "user", content: "x", name: "n" }] as never }, /unknown field 'name'/],
  ];
  for (const [extra, pattern] of cases) {
    const error = await rejection(callLlm({ model: "openai/gpt-4o-mini", ...extra }, options));
    assert.ok(error instanceof LlmConfigError, error.message);
    assert.match(error.message, pattern);
  }
});

Deno.test(
  "an empty system prompt is no system prompt: not sent, and the cache marker goes on the prompt instead",
  withServer(async (srv, call) => {
    for (const system of ["", "  \n"]) {
      srv.reset();
      const res = await call({ model: "anthropic/claude-sonnet-4-5", system, prompt: "Hi", cache: true });
      const body = srv.requests[0].body;
      assert.equal(body.system, undefined, JSON.stringify(body.system));
      assert.deepEqual(body.messages, [
        { role: "user", content: [{ type: "text", text: "Hi", cache_control: { type: "ephemeral" } }] },
      ]);
      assert.equal(res.request.system, undefined);
      assert.equal(res.request.system_cache_control, undefined, "the trace claims no marker on a system prompt");
      assert.deepEqual(res.request.messages[0].cache_control, { type: "ephemeral" });
    }
    srv.reset();
    await call({ model: "google/gemini-2.5-flash", system: "", prompt: "Hi" });
    assert.equal(srv.requests[0].body.systemInstruction, undefined);
  }),
);

Deno.test(
  "maxTokens below 1 is refused before any request, by its name",
  withServer(async (srv, call) => {
    for (const maxTokens of [0, -1, 1.5]) {
      const error = await rejection(call({ model: "google/gemini-2.5-flash", prompt: "Hi", maxTokens }));
      assert.ok(error instanceof LlmConfigError, error.message);
      assert.match(
        error.message,
        new RegExp(`maxTokens must be a whole number of tokens, at least 1, got ${maxTokens}`),
      );
    }
    assert.equal(srv.requests.length, 0);
  }),
);

Deno.test(
  "anthropic thinking at or above the model's output limit is refused before any request; below it, the limit is max_tokens",
  withServer(async (srv, call) => {
    const error = await rejection(call({ model: "anthropic/claude-sonnet-4-5", prompt: "Hi", thinking: 64000 }));
    assert.ok(error instanceof LlmConfigError, error.message);
    assert.match(error.message, /thinking \(64000\) must be less than the output limit .* \(64000 tokens\)/);
    assert.equal(srv.requests.length, 0);
    await call({ model: "anthropic/claude-sonnet-4-5", prompt: "Hi", thinking: 40000 });
    assert.equal(srv.requests[0].body.max_tokens, 64000);
    assert.equal(srv.requests[0].body.thinking.budget_tokens, 40000);
  }),
);

// --- structured output ------------------------------------------------------------

Deno.test(
  "anthropic structured output (native output_config.format): object parsed, schema sent, mode recorded",
  withServer(async (srv, call) => {
    srv.enqueue({ json: { city: "Paris", population: 2102650 } });
    const res = await call({ model: "anthropic/claude-sonnet-4-5", prompt: "Capital of France?", schema: CITY });
    assert.deepEqual(res.object, { city: "Paris", population: 2102650 });
    const format = srv.requests[0].body.output_config.format;
    assert.equal(format.type, "json_schema");
    assert.deepEqual(format.schema.required, ["city", "population"]);
    assert.deepEqual(res.request.schema, { name: "response", mode: "output_format", schema: CITY });
  }),
);

Deno.test(
  "anthropic structured output through a forced tool (models without native support), JSON and streaming",
  withServer(async (srv, call) => {
    for (const stream of [false, true]) {
      srv.enqueue({ json: { city: "Lyon", population: 522250 } });
      const res = await call({
        model: "anthropic/claude-3-5-haiku-latest",
        prompt: "Second city?",
        schema: CITY,
        schemaName: "city_answer",
        stream,
      });
      const body = srv.requests.at(-1)!.body;
      assert.deepEqual(body.tool_choice.type, "any");
      assert.equal(body.tools.length, 1);
      assert.deepEqual(body.tools[0].input_schema.properties, CITY.properties);
      assert.deepEqual(res.object, { city: "Lyon", population: 522250 }, `stream=${stream}`);
      assert.equal(res.request.schema?.mode, "tool");
      assert.equal(res.request.schema?.name, "city_answer");
    }
  }),
);

Deno.test(
  "openai structured output: response_format json_schema, strict only for a strict-compatible schema",
  withServer(async (srv, call) => {
    srv.enqueue({ json: { city: "Rome", population: 2749031 } }, { json: { city: "Oslo" } });
    const res = await call({
      model: "openai/gpt-4o-mini",
      prompt: "Capital of Italy?",
      schema: CITY,
      schemaName: "capital",
    });
    assert.deepEqual(res.object, { city: "Rome", population: 2749031 });
    const format = srv.requests[0].body.response_format;
    assert.equal(format.type, "json_schema");
    assert.equal(format.json_schema.name, "capital");
    assert.equal(format.json_schema.strict, true);
    assert.deepEqual(format.json_schema.schema.properties, CITY.properties);
    assert.equal(res.request.schema?.mode, "json_schema");

    const loose = {
      type: "object",
      properties: { city: { type: "string" }, note: { type: "string" } },
      required: ["city"],
    };
    const second = await call({ model: "openai/gpt-4o-mini", prompt: "Capital of Norway?", schema: loose });
    assert.equal(srv.requests[1].body.response_format.json_schema.strict, false, "optional property: not strict");
    assert.deepEqual(second.object, { city: "Oslo" });
  }),
);

Deno.test(
  "openai strict mode only for a schema in its subset: oneOf, allOf, not, tuple items, prefixItems, default are sent non-strict",
  withServer(async (srv, call) => {
    const closed = (properties: Record<string, unknown>) => ({
      type: "object",
      properties,
      required: Object.keys(properties),
      additionalProperties: false,
    });
    const open = { type: "object", properties: { x: { type: "string" } } };
    const cases: [string, Record<string, unknown>, boolean][] = [
      ["oneOf", closed({ a: { oneOf: [open, { type: "string" }] } }), false],
      [
        "oneOf of closed objects",
        closed({ a: { oneOf: [closed({ x: { type: "string" } }), { type: "string" }] } }),
        false,
      ],
      ["allOf", closed({ a: { allOf: [closed({ x: { type: "string" } })] } }), false],
      ["not", closed({ a: { type: "string", not: { const: "x" } } }), false],
      ["an open object in tuple items", closed({ a: { type: "array", items: [open] } }), false],
      ["prefixItems", closed({ a: { type: "array", prefixItems: [{ type: "string" }] } }), false],
      ["default", closed({ a: { type: "string", default: "x" } }), false],
      ["an open object under a nullable type", closed({ a: { type: ["object", "null"], properties: {} } }), false],
      [
        "closed objects in anyOf, items, $defs and $ref",
        {
          ...closed({
            a: { anyOf: [closed({ x: { type: "string", pattern: "^a" } }), { type: "null" }] },
            b: { type: "array", items: { $ref: "#/$defs/c" }, minItems: 1 },
            n: { type: "integer", minimum: 0, description: "a count" },
          }),
          $defs: { c: closed({ y: { enum: ["p", "q"] } }) },
        },
        true,
      ],
    ];
    for (const [what, schema, strict] of cases) {
      srv.reset();
      await call({ model: "openai/gpt-4o-mini", prompt: "go", schema }).catch(() => {});
      assert.equal(srv.requests[0].body.response_format.json_schema.strict, strict, what);
    }
  }),
);

Deno.test(
  "an array schema: wrapped in an object for OpenAI and Anthropic (root must be an object), sent as is to Gemini; object is the array",
  withServer(async (srv, call) => {
    const LIST = {
      type: "array",
      items: { $ref: "#/$defs/city" },
      $defs: {
        city: {
          type: "object",
          properties: { city: { type: "string" } },
          required: ["city"],
          additionalProperties: false,
        },
      },
    };
    const wrapped = {
      type: "object",
      properties: { items: { type: "array", items: { $ref: "#/$defs/city" } } },
      required: ["items"],
      additionalProperties: false,
      $defs: LIST.$defs,
    };
    const cities = [{ city: "Rome" }, { city: "Oslo" }];
    // deno-lint-ignore no-explicit-any
    type Body = any;
    const cases = [
      ["openai/gpt-4o-mini", (b: Body) => b.response_format.json_schema.schema, true],
      ["anthropic/claude-sonnet-4-5", (b: Body) => b.output_config.format.schema, true],
      ["anthropic/claude-3-5-haiku-latest", (b: Body) => b.tools[0].input_schema, true],
      ["google/gemini-2.5-flash", (b: Body) => b.generationConfig.responseJsonSchema, false],
    ] as const;
    for (const [model, schemaOf, wraps] of cases) {
      for (const stream of [false, true]) {
        srv.reset();
        srv.enqueue({ json: wraps ? { items: cities } : cities });
        const res = await call({ model, prompt: "Two capitals", schema: LIST, stream });
        assert.deepEqual(res.object, cities, `${model} stream=${stream}: the array, unwrapped`);
        const sent = schemaOf(srv.requests[0].body);
        if (wraps) {
          assert.equal(sent.type, "object", model);
          assert.deepEqual(sent.required, ["items"], model);
          assert.deepEqual(sent.properties.items.items, { $ref: "#/$defs/city" }, model);
          assert.deepEqual(res.request.schema?.wrapped, "items", model);
        } else {
          assert.equal(sent.type, "array", model);
          assert.equal(res.request.schema?.wrapped, undefined, model);
        }
      }
    }
    // The wrapper is strict when the array is: every object closed, all required.
    srv.reset();
    srv.enqueue({ json: { items: cities } });
    await call({ model: "openai/gpt-4o-mini", prompt: "x", schema: LIST });
    assert.equal(srv.requests[0].body.response_format.json_schema.strict, true);
    assert.deepEqual(
      { ...srv.requests[0].body.response_format.json_schema.schema, $defs: undefined },
      { ...wrapped, $defs: undefined },
    );
    // A model that answers with the bare array (plain-text JSON) is read as well.
    srv.reset();
    srv.enqueue({ json: cities });
    const bare = await call({ model: "openai/gpt-4o-mini", prompt: "x", schema: LIST });
    assert.deepEqual(bare.object, cities);
  }),
);

Deno.test(
  "plain-text JSON from a local model: a surrounding code fence is stripped",
  withServer(async (srv) => {
    srv.enqueue({ text: 'Here you go:\n```json\n{"city": "Bern", "population": 134794}\n```' });
    const res = await callLlm(
      { model: "ollama/qwen2.5", prompt: "Capital of Switzerland?", schema: CITY },
      { env: {}, settings: { providers: { ollama: { base_url: `${srv.url}/v1` } } } },
    );
    assert.deepEqual(res.object, { city: "Bern", population: 134794 });
    assert.equal(srv.requests[0].body.response_format.type, "json_schema");
  }),
);

Deno.test(
  "a reply that does not match the schema is a StructuredOutputError with the validator's messages and the usage",
  withServer(async (srv, call) => {
    srv.enqueue({ json: { city: 42 }, usage: { input_tokens: 10, output_tokens: 5 } });
    const error = await rejection(call({ model: "anthropic/claude-sonnet-4-5", prompt: "x", schema: CITY }));
    assert.ok(error instanceof StructuredOutputError);
    assert.match(error.message, /^anthropic\/claude-sonnet-4-5: the reply does not match the schema: /);
    assert.deepEqual(error.problems, [
      '/: missing required property "population"',
      "/city: is a number, expected string",
    ]);
    assert.equal(error.response.usage.input_tokens, 10, "the spent tokens travel with the error");
    assert.equal(error.response.text, '{"city":42}');

    srv.enqueue({ text: "I cannot answer that." });
    const notJson = await rejection(
      callLlm({ model: "ollama/m", prompt: "x", schema: CITY }, {
        env: {},
        settings: { providers: { ollama: { base_url: `${srv.url}/v1` } } },
      }),
    );
    assert.ok(notJson instanceof StructuredOutputError);
    assert.match(notJson.message, /the reply is not JSON \('I cannot answer that\.'\)/);
    assert.deepEqual(notJson.problems, ["the reply is not JSON"]);
  }),
);

Deno.test("parseJsonReply: whole JSON, one fenced block; prose or two blocks are not JSON", () => {
  assert.deepEqual(parseJsonReply(' {"a": 1} \n'), { value: { a: 1 } });
  assert.deepEqual(parseJsonReply("```\n[1, 2]\n```"), { value: [1, 2] });
  assert.deepEqual(parseJsonReply('Sure:\n```json\n{"a": true}\n```\nDone.'), { value: { a: true } });
  assert.equal(parseJsonReply("the answer is 42 apples"), undefined);
  assert.equal(parseJsonReply("```json\n{}\n```\n```json\n{}\n```"), undefined);
  assert.equal(parseJsonReply('{"a": 1'), undefined);
  // A number the value cannot hold exactly is located, fenced or not.
  assert.deepEqual(parseJsonReply('```json\n{"a": [12345678901234567890]}\n```'), {
    value: { a: [12345678901234567000] },
    lossy: { numbers: [{ path: ["a", 0], source: "12345678901234567890", value: 12345678901234567000 }], count: 1 },
  });
});

Deno.test("parseJsonReply: a leading <think> block of a reasoning model is skipped; only a leading one", () => {
  const json = '{"a": 1}';
  assert.deepEqual(parseJsonReply(`<think>\nThe user wants {"b": 2}.\n</think>\n\n${json}`), { value: { a: 1 } });
  assert.deepEqual(parseJsonReply(`  <thinking>hmm</thinking>${json}  `), { value: { a: 1 } });
  assert.deepEqual(parseJsonReply(`<think>\n\n</think>\n\n${json}`), { value: { a: 1 } }, "Qwen3's empty block");
  // A fenced block in the reasoning is not the answer; the answer may be fenced itself.
  const draft = '<think>Draft:\n```json\n{"a": 0}\n```\n</think>';
  assert.deepEqual(parseJsonReply(`${draft}\nHere:\n\`\`\`json\n${json}\n\`\`\``), { value: { a: 1 } });
  assert.equal(parseJsonReply(`${draft}\nNo JSON here.`), undefined);
  // The chat template opened the block in the prompt (DeepSeek-R1): the reply starts inside it.
  assert.deepEqual(parseJsonReply(`The user wants a.\n</think>\n\n${json}`), { value: { a: 1 } });
  // Not leading, or not closed, or mismatched: the reply is read as before.
  assert.equal(parseJsonReply(`Sure. <think>x</think> ${json}`), undefined);
  assert.equal(parseJsonReply(`<think>still thinking ${json}`), undefined);
  assert.equal(parseJsonReply(`<think>x</thinking>${json}`), undefined);
  // A `</think>` inside the answer's own fenced block is text, not the end of reasoning.
  assert.deepEqual(parseJsonReply('```json\n{"tag": "</think>"}\n```'), { value: { tag: "</think>" } });
});

Deno.test(
  "structured output of an OpenAI-compatible reasoning model: the leading <think> block is skipped",
  withServer(async (srv) => {
    srv.enqueue({ text: '<think>\nSwitzerland: Bern.\n</think>\n\n{"city": "Bern", "population": 134794}' });
    const res = await callLlm(
      { model: "ollama/qwen3", prompt: "Capital of Switzerland?", schema: CITY },
      { env: {}, settings: { providers: { ollama: { base_url: `${srv.url}/v1` } } } },
    );
    assert.deepEqual(res.object, { city: "Bern", population: 134794 });
  }),
);

Deno.test("jsonSchemaProblems: a schema must be a valid JSON Schema describing an object or array", () => {
  assert.deepEqual(jsonSchemaProblems(CITY), []);
  assert.deepEqual(jsonSchemaProblems({ type: "array", items: { type: "string" } }), []);
  assert.match(jsonSchemaProblems("x")[0], /must be a JSON Schema object/);
  assert.match(jsonSchemaProblems([])[0], /must be a JSON Schema object/);
  assert.ok(jsonSchemaProblems({ type: "strin" }).length > 0);
  assert.deepEqual(jsonSchemaProblems({ type: "object", properties: [] }), [
    "schema/properties: is an array, expected object",
  ]);
  assert.deepEqual(jsonSchemaProblems({ type: "object", required: "city" }), [
    "schema/required: is a string, expected array",
  ]);
  assert.deepEqual(jsonSchemaProblems({ type: "object", properties: { a: { type: "strin" } } }), [
    'schema/properties/a/type: value does not match any of ["array","boolean","integer","null","number","object","string"]',
  ]);
  assert.match(jsonSchemaProblems({ type: "string" })[0], /top-level type must be "object"/);
});

// --- thinking and reasoning effort ----------------------------------------------------

Deno.test(
  "anthropic thinking: budget sent, max_tokens bounds thinking + answer, thinking text returned apart from the text",
  withServer(async (srv, call) => {
    for (const stream of [false, true]) {
      srv.enqueue({ text: "42", thinking: "Let me compute 6 times 7." });
      const res = await call({
        model: "anthropic/claude-sonnet-4-5",
        prompt: "6*7?",
        thinking: 2048,
        maxTokens: 5000,
        stream,
      });
      const body = srv.requests.at(-1)!.body;
      assert.deepEqual(body.thinking, { type: "enabled", budget_tokens: 2048 });
      assert.equal(body.max_tokens, 5000, "max_tokens as given, thinking included");
      assert.equal(res.text, "42");
      assert.equal(res.thinking, "Let me compute 6 times 7.");
      assert.deepEqual(res.request.thinking, { budget_tokens: 2048 });
    }
  }),
);

Deno.test("thinking and reasoning effort: values a provider does not accept are rejected before any call", async () => {
  const options = {
    env: { ANTHROPIC_API_KEY: "a", OPENAI_API_KEY: "o", GOOGLE_GENERATIVE_AI_API_KEY: "g" },
    settings: {},
  };
  const cases: [Partial<LlmRequest> & { model: string }, RegExp][] = [
    [
      { model: "anthropic/claude-sonnet-4-5", thinking: 1000 },
      /thinking must be at least 1024 tokens for Anthropic, got 1000/,
    ],
    [
      { model: "anthropic/claude-sonnet-4-5", thinking: 4096, maxTokens: 4096 },
      /thinking \(4096\) must be less than maxTokens \(4096\)/,
    ],
    [
      { model: "anthropic/claude-sonnet-4-5", thinking: 2048, temperature: 0.2 },
      /temperature cannot be set with thinking/,
    ],
    [{ model: "anthropic/claude-sonnet-4-5", thinking: 2048.5 }, /thinking must be a whole number of tokens/],
    [{ model: "openai/o3-mini", thinking: 2048 }, /does not take it \(use reasoningEffort\)/],
    [
      { model: "google/gemini-2.5-pro", thinking: 40000 },
      /thinking must be at most 32768 tokens for Gemini, got 40000/,
    ],
    [
      { model: "anthropic/claude-sonnet-4-5", reasoningEffort: "high" },
      /reasoningEffort is for OpenAI reasoning models.*use thinking/,
    ],
    [
      { model: "openai/o3-mini", reasoningEffort: "extreme" as never },
      /reasoningEffort must be one of minimal, low, medium, high/,
    ],
    [{ model: "openai/gpt-4o", schema: { type: "strin" } }, /^openai\/gpt-4o: schema: /],
    [{ model: "openai/gpt-4o", schema: CITY, schemaName: "has space" }, /schemaName must be 1-64 letters/],
    [{ model: "anthropic/claude-sonnet-4-5", cache: "2h" as never }, /cache must be false, true, "5m" or "1h"/],
  ];
  for (const [request, pattern] of cases) {
    const error = await rejection(callLlm({ prompt: "x", ...request }, options));
    assert.ok(error instanceof LlmConfigError, `${error.name}: ${error.message}`);
    assert.match(error.message, pattern);
  }
});

Deno.test(
  "openai reasoning effort is sent as reasoning_effort; reasoning tokens are inside output",
  withServer(async (srv, call) => {
    srv.enqueue({
      text: "done",
      usage: {
        prompt_tokens: 100,
        completion_tokens: 400,
        total_tokens: 500,
        prompt_tokens_details: { cached_tokens: 60 },
        completion_tokens_details: { reasoning_tokens: 350 },
      },
    });
    const res = await call({ model: "openai/o3-mini", prompt: "think", reasoningEffort: "high", maxTokens: 1000 });
    const body = srv.requests[0].body;
    assert.equal(body.reasoning_effort, "high");
    assert.equal(body.max_completion_tokens, 1000, "reasoning models take max_completion_tokens");
    assert.equal(res.request.reasoning_effort, "high");
    assert.equal(res.usage.input_tokens, 40);
    assert.equal(res.usage.cache_read_tokens, 60);
    assert.equal(res.usage.output_tokens, 400);
    assert.equal(res.usage.reasoning_tokens, 350);
  }),
);

// --- Google ----------------------------------------------------------------------------

Deno.test(
  "google: Gemini generateContent with the API key header; cached tokens out of the prompt, thoughts counted as output",
  withServer(async (srv, call) => {
    const usage = {
      promptTokenCount: 1200,
      cachedContentTokenCount: 1000,
      candidatesTokenCount: 30,
      thoughtsTokenCount: 70,
      totalTokenCount: 1300,
    };
    for (const stream of [false, true]) {
      srv.enqueue({ text: "Bonjour", usage, thinking: "greeting in French", model: "gemini-2.5-flash-001" });
      const res = await call({
        model: "google/gemini-2.5-flash",
        system: "Be French",
        prompt: "Hi",
        thinking: 512,
        stream,
      });
      const sent = srv.requests.at(-1)!;
      assert.equal(
        sent.path.split("?")[0],
        `/v1beta/models/gemini-2.5-flash:${stream ? "streamGenerateContent" : "generateContent"}`,
      );
      assert.equal(sent.headers["x-goog-api-key"], "google-test-key");
      assert.deepEqual(sent.body.generationConfig.thinkingConfig, { thinkingBudget: 512, includeThoughts: true });
      assert.equal(res.text, "Bonjour");
      assert.equal(res.thinking, "greeting in French");
      assert.equal(res.usage.provider, "google");
      assert.equal(res.usage.response_model, "gemini-2.5-flash-001");
      assert.equal(res.usage.input_tokens, 200);
      assert.equal(res.usage.cache_read_tokens, 1000);
      assert.equal(res.usage.output_tokens, 100);
      assert.equal(res.usage.reasoning_tokens, 70);
      assert.deepEqual(res.usage.raw, usage);
    }
  }),
);

Deno.test(
  "google: errors carry the Gemini status; structured output uses the response schema",
  withServer(async (srv, call) => {
    srv.enqueue({ status: 400, error: { message: "API key not valid" } });
    const error = await rejection(call({ model: "google/gemini-2.5-pro", prompt: "x" }));
    assert.ok(error instanceof LlmCallError);
    assert.equal(error.message, "google/gemini-2.5-pro: HTTP 400 INVALID_ARGUMENT: API key not valid");
    srv.enqueue({ json: { city: "Berlin", population: 3850809 } });
    const res = await call({ model: "google/gemini-2.5-pro", prompt: "Capital of Germany?", schema: CITY });
    assert.deepEqual(res.object, { city: "Berlin", population: 3850809 });
    assert.equal(srv.requests[1].body.generationConfig.responseMimeType, "application/json");
    assert.equal(res.request.schema?.mode, "response_schema");
  }),
);

Deno.test("google: the key variable is named when missing, GOOGLE_GEMINI_BASE_URL is checked", async () => {
  const error = await rejection(callLlm({ model: "google/gemini-2.5-pro", prompt: "x" }, { env: {}, settings: {} }));
  assert.equal(
    error.message,
    "GOOGLE_GENERATIVE_AI_API_KEY is not set: model 'google/gemini-2.5-pro' needs it (export GOOGLE_GENERATIVE_AI_API_KEY=...)",
  );
  const bad = await rejection(
    callLlm({ model: "google/gemini-2.5-pro", prompt: "x" }, {
      env: { GOOGLE_GENERATIVE_AI_API_KEY: "g", GOOGLE_GEMINI_BASE_URL: "ftp://x" },
      settings: {},
    }),
  );
  assert.equal(bad.message, "GOOGLE_GEMINI_BASE_URL is not a valid http(s) URL: 'ftp://x'");
});

// --- aliases and provider presets --------------------------------------------------------

Deno.test(
  "a model alias resolves before the call: the provider receives the canonical id and usage is keyed by it",
  withServer(async (srv, call) => {
    const res = await call({ model: "anthropic/sonnet", prompt: "x" });
    assert.equal(srv.requests[0].body.model, "claude-sonnet-4-5");
    assert.equal(res.usage.model, "anthropic/claude-sonnet-4-5");
    assert.equal(res.request.model, "anthropic/claude-sonnet-4-5");
  }),
);

Deno.test(
  "a settings entry merges over its preset: openrouter with only base_url keeps the preset's key variable",
  withServer(async (srv) => {
    const res = await callLlm({ model: "openrouter/openai/gpt-4o-mini", prompt: "x" }, {
      env: { OPENROUTER_API_KEY: "sk-or-merged" },
      settings: { providers: { openrouter: { base_url: `${srv.url}/api/v1` } } },
    });
    assert.equal(res.usage.provider, "openrouter");
    assert.equal(srv.requests[0].path, "/api/v1/chat/completions");
    assert.equal(srv.requests[0].headers.authorization, "Bearer sk-or-merged");
    const missing = await rejection(
      callLlm({ model: "openrouter/openai/gpt-4o-mini", prompt: "x" }, {
        env: {},
        settings: { providers: { openrouter: { base_url: `${srv.url}/api/v1` } } },
      }),
    );
    assert.match(missing.message, /^OPENROUTER_API_KEY is not set/);
  }),
);

Deno.test(
  "a failed attempt carries what it sent, structured-output mode included",
  withServer(async (srv, call) => {
    srv.enqueue({ status: 529, headers: { "retry-after-ms": "10" } }, { json: { city: "Paris", population: 1 } });
    const res = await call({ model: "anthropic/claude-sonnet-4-5", prompt: "x", schema: CITY, cache: true });
    assert.deepEqual(res.object, { city: "Paris", population: 1 });
    const failed = res.failedAttempts![0];
    assert.equal(failed.status, 529);
    assert.equal(failed.request?.schema?.mode, "output_format");
    assert.deepEqual(failed.request?.messages[0].cache_control, { type: "ephemeral" });
    assert.equal(res.request.schema?.mode, "output_format");
  }),
);
