import assert from "node:assert/strict";
import { join } from "node:path";
import { readFileSync } from "node:fs";
import { BUILTIN_NODES } from "../src/nodes/mod.ts";
import { compileWorkflow, NodeRegistry, resolveInputs, runWorkflow, validateWorkflow } from "../src/workflow/mod.ts";
import type { WorkflowIR } from "../src/workflow/ir.ts";
import { startLlmServer } from "./support/llm_server.ts";
import { ROOT, runPflow, tempDir } from "./support/cli.ts";

const registry = new NodeRegistry(BUILTIN_NODES);

Deno.test("an llm node calls Anthropic's Messages API and writes response and normalized usage", async () => {
  const server = await startLlmServer();
  try {
    server.enqueue({
      text: "Paris.",
      usage: {
        input_tokens: 12,
        output_tokens: 3,
        cache_read_input_tokens: 100,
        cache_creation_input_tokens: 50,
        cache_creation: { ephemeral_5m_input_tokens: 20, ephemeral_1h_input_tokens: 30 },
      },
    });
    const ir: WorkflowIR = {
      ir_version: "0.1.0",
      inputs: { country: { type: "string" } },
      nodes: [{
        id: "ask",
        type: "llm",
        params: { model: "anthropic/claude-sonnet-4-5", system: "Be brief.", prompt: "Capital of ${country}?" },
      }],
    };
    const env = { ANTHROPIC_API_KEY: "sk-ant-test", ANTHROPIC_BASE_URL: server.url };
    assert.deepEqual(validateWorkflow(ir, { registry, env }), []);
    const result = await runWorkflow(compileWorkflow(ir, { registry }), {
      inputs: resolveInputs(ir, { country: "France" }),
      context: { env },
    });
    assert.equal(result.status, "success", JSON.stringify(result.error));
    const ask = result.shared.ask as Record<string, Record<string, unknown>>;
    assert.equal(ask.response, "Paris.");
    assert.equal(ask.usage.provider, "anthropic");
    assert.equal(ask.usage.model, "anthropic/claude-sonnet-4-5");
    assert.equal(ask.usage.input_tokens, 12);
    assert.equal(ask.usage.cache_read_tokens, 100);
    assert.equal(ask.usage.cache_write_5m_tokens, 20);
    assert.equal(ask.usage.cache_write_1h_tokens, 30);
    assert.equal(ask.usage.output_tokens, 3);
    const sent = server.requests[0];
    assert.equal(sent.path, "/v1/messages");
    assert.equal(sent.headers["x-api-key"], "sk-ant-test");
    const body = sent.body as { system: unknown; messages: { content: unknown }[] };
    assert.match(JSON.stringify(body.system), /Be brief\./);
    assert.match(JSON.stringify(body.messages[0].content), /Capital of France\?/);
  } finally {
    await server.close();
  }
});

Deno.test("a parallel batch of llm calls over OpenAI keeps item order and each call's usage", async () => {
  const server = await startLlmServer();
  try {
    const ir: WorkflowIR = {
      ir_version: "0.1.0",
      nodes: [{
        id: "fan",
        type: "llm",
        batch: { items: ["a", "b", "c", "d", "e"], parallel: true, max_concurrent: 5 },
        params: { model: "openai/gpt-4o-mini", prompt: "item ${item} [[sleep:20]]" },
      }],
    };
    const env = { OPENAI_API_KEY: "sk-openai-test", OPENAI_BASE_URL: `${server.url}/v1` };
    const result = await runWorkflow(compileWorkflow(ir, { registry }), { context: { env } });
    assert.equal(result.status, "success", JSON.stringify(result.error));
    const fan = result.shared.fan as {
      results: { response: string; usage: { input_tokens: number } }[];
      count: number;
    };
    assert.equal(fan.count, 5);
    assert.deepEqual(fan.results.map((r) => r.response), [
      "echo: item a [[sleep:20]]",
      "echo: item b [[sleep:20]]",
      "echo: item c [[sleep:20]]",
      "echo: item d [[sleep:20]]",
      "echo: item e [[sleep:20]]",
    ]);
    assert.ok(fan.results.every((r) => r.usage.input_tokens === 3));
    assert.equal(server.requests.length, 5);
  } finally {
    await server.close();
  }
});

Deno.test("a missing API key is a validation error naming the variable", () => {
  const ir: WorkflowIR = {
    ir_version: "0.1.0",
    nodes: [{ id: "ask", type: "llm", params: { model: "openai/gpt-4o-mini", prompt: "hi" } }],
  };
  const problems = validateWorkflow(ir, { registry, env: {} });
  assert.equal(problems.length, 1);
  assert.equal(problems[0].pointer, "/nodes/0/params/model");
  assert.match(problems[0].message, /OPENAI_API_KEY is not set/);
});

Deno.test("a model that is not text is one problem, its type, not the default model's missing key", () => {
  for (const model of [5, true, ["anthropic/claude-sonnet-4-5"]]) {
    const ir: WorkflowIR = {
      ir_version: "0.1.0",
      nodes: [{ id: "ask", type: "llm", params: { model, prompt: "hi" } }],
    };
    const problems = validateWorkflow(ir, { registry, env: {} });
    assert.deepEqual(problems.map((p) => p.pointer), ["/nodes/0/params/model"], JSON.stringify(problems));
    assert.match(problems[0].message, /^must be string, got /);
  }
});

Deno.test("the default model comes from PFLOW_DEFAULT_MODEL when a node sets none", async () => {
  const server = await startLlmServer();
  try {
    const ir: WorkflowIR = { ir_version: "0.1.0", nodes: [{ id: "ask", type: "llm", params: { prompt: "hi" } }] };
    const env = {
      OPENAI_API_KEY: "k",
      OPENAI_BASE_URL: `${server.url}/v1`,
      PFLOW_DEFAULT_MODEL: "openai/gpt-4.1-mini",
    };
    const result = await runWorkflow(compileWorkflow(ir, { registry }), { context: { env } });
    assert.equal(result.status, "success", JSON.stringify(result.error));
    assert.equal((server.requests[0].body as { model: string }).model, "gpt-4.1-mini");
  } finally {
    await server.close();
  }
});

Deno.test("a failing provider fails the node with provider/model and status in the message", async () => {
  const server = await startLlmServer();
  try {
    const ir: WorkflowIR = {
      ir_version: "0.1.0",
      nodes: [{ id: "ask", type: "llm", params: { model: "anthropic/claude-haiku-4-5", prompt: "[[fail:401]]" } }],
    };
    const env = { ANTHROPIC_API_KEY: "sk-ant-secret-value", ANTHROPIC_BASE_URL: server.url };
    const result = await runWorkflow(compileWorkflow(ir, { registry }), { context: { env } });
    assert.equal(result.status, "failed");
    assert.equal(result.error?.node_id, "ask");
    assert.match(result.error!.message, /anthropic\/claude-haiku-4-5: HTTP 401/);
    assert.doesNotMatch(result.error!.message, /sk-ant-secret-value/);
  } finally {
    await server.close();
  }
});

Deno.test("the LLM example runs end to end through the compiled binary", async () => {
  const server = await startLlmServer();
  const home = tempDir();
  try {
    const out = join(home.path, "brief.md");
    const result = await runPflow(
      ["run", "examples/explain.json", `out=${out}`, "--output-format", "json"],
      { env: { PFLOW_HOME: home.path, ANTHROPIC_API_KEY: "sk-ant-test", ANTHROPIC_BASE_URL: server.url }, cwd: ROOT },
    );
    assert.equal(result.code, 0, result.stderr);
    const doc = JSON.parse(result.stdout);
    assert.equal(doc.is_error, false);
    assert.match(doc.result.brief, /^echo: Write a short brief/);
    assert.equal(doc.result.path, out);
    assert.equal(readFileSync(out, "utf8"), doc.result.brief);
    assert.equal(server.requests.length, 4, "three topics, then the brief");
    // The brief gets only the explanations' texts, not the batch's usage records.
    const briefPrompt = JSON.stringify(server.requests[3].body.messages);
    assert.match(briefPrompt, /echo: Explain: prompt caching/);
    assert.doesNotMatch(briefPrompt, /input_tokens|request_id|usage/);
  } finally {
    await server.close();
    home.cleanup();
  }
});
