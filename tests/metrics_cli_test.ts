/**
 * End-to-end tests of metrics and cost through the compiled `dist/pflow`
 * binary against the local LLM server (real Anthropic Messages and OpenAI
 * Chat Completions wire protocols): the JSON result's cost, usage and
 * metrics on success, failure, budget stop and interrupt; long-context
 * tiers; parallel batches; unpriced, free, overridden and provider-reported
 * prices; bad price files; the text summary line; `pflow pricing show`.
 *
 * Every expected cost is computed by hand from pricing.yaml (USD per million
 * tokens) in the comment next to it. Every run gets its own PFLOW_HOME.
 * @module
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { spawnSync } from "node:child_process";
import { type CliResult, PFLOW_BIN, runPflow, workflow, writeWorkflow } from "./support/cli.ts";
import { type LlmHome, withLlmHome } from "./support/llm_home.ts";
import {
  assertExit,
  chain,
  type Doc,
  explain,
  HAIKU,
  llm,
  MINI,
  MINI_COST,
  MINI_USAGE,
  oneJson,
  prompt,
  SONNET,
  SONNET_COST,
  SONNET_USAGE,
  writeSettings,
} from "./support/llm_run.ts";

type Ctx = LlmHome;

/** Runs `fn` with a fresh temp dir, PFLOW_HOME and LLM server; cleans up afterwards. */
function withLlm(fn: (ctx: Ctx) => Promise<void>): Promise<void> {
  return withLlmHome(fn, { prefix: "pflow-metrics-test-" });
}

/** Writes `wf` and runs it. */
function run(ctx: Ctx, wf: unknown, args: string[] = [], options: Parameters<typeof runPflow>[1] = {}) {
  const file = writeWorkflow(ctx.dir, "wf.json", wf);
  return runPflow(["run", file, ...args], { env: ctx.env, ...options });
}

/** Writes `wf`, runs it in JSON mode and parses the one document on stdout. */
async function runJson(ctx: Ctx, wf: unknown, args: string[] = []): Promise<{ result: CliResult; doc: Doc }> {
  const result = await run(ctx, wf, ["--output-format", "json", ...args]);
  return { result, doc: oneJson(result) };
}

/** A non-negative millisecond figure with at most 2 decimals. */
function assertMs(value: unknown, what: string): void {
  assert.equal(typeof value, "number", `${what} is not a number: ${value}`);
  const n = value as number;
  assert.ok(n >= 0, `${what} is negative: ${n}`);
  assert.equal(Math.round(n * 100) / 100, n, `${what} has more than 2 decimals: ${n}`);
}

/** The lines of a text. */
function lines(text: string): string[] {
  return text.split("\n").filter((l) => l !== "");
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function writeHomePricing(ctx: Ctx, yaml: string): string {
  const path = join(ctx.home, "pricing.yaml");
  writeFileSync(path, yaml);
  return path;
}

const ZERO_USAGE = {
  input_tokens: 0,
  cache_creation_input_tokens: 0,
  cache_read_input_tokens: 0,
  output_tokens: 0,
  reasoning_tokens: 0,
};

// ---------------------------------------------------------------- success

Deno.test("JSON result on success: exact costs, usage, modelUsage, pricing and metrics", async () => {
  await withLlm(async (ctx) => {
    const wf = chain([llm("a", SONNET, SONNET_USAGE), llm("b", MINI, MINI_USAGE)]);
    const { result, doc } = await runJson(ctx, wf);
    assertExit(result, 0);
    assert.equal(ctx.srv.requests.length, 2);
    assert.equal(doc.type, "result");
    assert.equal(doc.subtype, "success");
    assert.equal(doc.is_error, false);
    assert.equal(doc.error, null);
    assert.equal(doc.workflow_name, "wf");
    assert.equal(doc.duration_planner_ms, null);
    assertMs(doc.duration_ms, "duration_ms");
    assertMs(doc.duration_api_ms, "duration_api_ms");
    assert.ok(doc.duration_api_ms <= doc.duration_ms, `api ${doc.duration_api_ms} > wall ${doc.duration_ms}`);
    assert.equal(doc.num_nodes, 2);
    assert.equal(doc.num_llm_calls, 2);
    // 12675 + 405 µ$
    assert.equal(doc.total_cost_usd, 0.01308);
    assert.deepEqual(doc.usage, {
      input_tokens: 1000 + 1000, // Anthropic uncached as reported + OpenAI 1200 minus 200 cached
      cache_creation_input_tokens: 300,
      cache_read_input_tokens: 2000 + 200,
      output_tokens: 500 + 400, // reasoning is inside, not added
      reasoning_tokens: 150,
    });
    assert.deepEqual(doc.modelUsage, {
      [SONNET]: {
        inputTokens: 1000,
        outputTokens: 500,
        cacheReadInputTokens: 2000,
        cacheCreationInputTokens: 300,
        reasoningTokens: 0,
        costUSD: SONNET_COST,
        calls: 1,
      },
      [MINI]: {
        inputTokens: 1000,
        outputTokens: 400,
        cacheReadInputTokens: 200,
        cacheCreationInputTokens: 0,
        reasoningTokens: 150,
        costUSD: MINI_COST,
        calls: 1,
      },
    });
    assert.deepEqual(doc.pricing, {
      version: "2025-11-15",
      source: "builtin",
      unpriced_models: [],
      usage_missing: [],
      complete: true,
    });

    const w = doc.metrics.workflow;
    assertMs(w.duration_ms, "metrics.workflow.duration_ms");
    assert.equal(w.nodes_executed, 2);
    assert.equal(w.cost_usd, 0.01308);
    // all input, cached included: 1000+2000+300 + 1000+200
    assert.equal(w.tokens_input, 4500);
    assert.equal(w.tokens_output, 900);
    assert.equal(w.tokens_total, 5400);
    assert.deepEqual(w.models_used, [SONNET, MINI]);
    assert.deepEqual(Object.keys(w.node_timings), ["a", "b"]);
    for (const id of ["a", "b"]) {
      assertMs(w.node_timings[id], `node_timings.${id}`);
      const node = w.nodes[id];
      assert.equal(node.type, "llm");
      assert.equal(node.executions, 1);
      assert.equal(node.llm_calls, 1);
      assert.equal(node.status, "success");
      assert.equal(node.retries, 0);
      assert.equal(node.duration_ms, w.node_timings[id]);
      for (const f of ["duration_ms", "cpu_user_ms", "cpu_system_ms"]) assertMs(node[f], `nodes.${id}.${f}`);
    }
    assert.deepEqual(Object.keys(w.nodes), ["a", "b"]);
    assert.equal(w.nodes.a.cost_usd, SONNET_COST);
    assert.equal(w.nodes.b.cost_usd, MINI_COST);

    const t = doc.metrics.total;
    assert.equal(t.cost_usd, 0.01308);
    assert.equal(t.llm_calls, 2);
    assert.equal(t.tokens_input, 4500);
    assert.equal(t.tokens_output, 900);
    assert.equal(t.tokens_total, 5400);
    assert.equal(t.tokens_uncached_input, 2000);
    assert.equal(t.tokens_cache_read, 2200);
    assert.equal(t.tokens_cache_write, 300);
    assert.equal(t.tokens_reasoning, 150);
    assertMs(t.cpu_user_ms, "total.cpu_user_ms");
    assertMs(t.cpu_system_ms, "total.cpu_system_ms");
  });
});

Deno.test("long-context tier: a Sonnet request above 200,000 input tokens is billed at tier prices, one at 200,000 is not", async () => {
  await withLlm(async (ctx) => {
    // 150,000 + 40,000 read + 10,001 written (1 for 5 minutes, 10,000 for 1 hour) = 200,001 > 200,000: tier.
    const above = {
      input_tokens: 150_000,
      output_tokens: 1_000,
      cache_read_input_tokens: 40_000,
      cache_creation_input_tokens: 10_001,
      cache_creation: { ephemeral_5m_input_tokens: 1, ephemeral_1h_input_tokens: 10_000 },
    };
    // tier: 150000*6 + 40000*0.6 + 1*7.5 + 10000*12 + 1000*22.5 = 900000 + 24000 + 7.5 + 120000 + 22500 µ$
    const aboveCost = 1.0665075;
    // 150,000 + 40,000 + 10,000 = 200,000: not above the threshold, base prices.
    const at = {
      input_tokens: 150_000,
      output_tokens: 1_000,
      cache_read_input_tokens: 40_000,
      cache_creation_input_tokens: 10_000,
    };
    // base: 150000*3 + 40000*0.3 + 10000*3.75 (unsplit = 5 minutes) + 1000*15 = 450000 + 12000 + 37500 + 15000 µ$
    const atCost = 0.5145;
    const { result, doc } = await runJson(ctx, chain([llm("above", SONNET, above), llm("at", SONNET, at)]));
    assertExit(result, 0);
    assert.equal(doc.metrics.workflow.nodes.above.cost_usd, aboveCost);
    assert.equal(doc.metrics.workflow.nodes.at.cost_usd, atCost);
    assert.equal(doc.total_cost_usd, 1.5810075);
    assert.equal(doc.modelUsage[SONNET].costUSD, 1.5810075);
    assert.equal(doc.modelUsage[SONNET].calls, 2);
    assert.equal(doc.usage.input_tokens, 300_000);
    assert.equal(doc.usage.cache_creation_input_tokens, 20_001);
  });
});

Deno.test("parallel batch: the batch node's llm_calls and cost_usd are the exact sums over its items", async () => {
  await withLlm(async (ctx) => {
    // Haiku 4.5: input 1, output 5, cache_read 0.10, cache_write_5m 1.25. Sleeps make completion order differ.
    const items = [
      prompt({ input_tokens: 1234, output_tokens: 56 }, { sleepMs: 300 }), // 1234 + 280 = 1514 µ$
      prompt({ input_tokens: 2345, output_tokens: 67, cache_read_input_tokens: 1000 }), // 2345 + 335 + 100 = 2780
      prompt({ input_tokens: 3456, output_tokens: 78, cache_creation_input_tokens: 400 }, { sleepMs: 80 }), // 3456 + 390 + 500 = 4346
      prompt({ input_tokens: 10, output_tokens: 1000 }, { sleepMs: 30 }), // 10 + 5000 = 5010
    ];
    const sum = 0.01365; // 1514 + 2780 + 4346 + 5010 = 13650 µ$
    const wf = workflow([
      { id: "fan", type: "llm", batch: { items, parallel: true }, params: { model: HAIKU, prompt: "${item}" } },
    ]);
    const { result, doc } = await runJson(ctx, wf);
    assertExit(result, 0);
    assert.equal(ctx.srv.requests.length, 4);
    // the four requests were in flight together (in sequence, item 1 would wait for item 0's 300 ms)
    const arrived = ctx.srv.requests.map((r) => r.receivedAt);
    assert.ok(Math.max(...arrived) - Math.min(...arrived) < 250, `requests not parallel: ${arrived}`);
    assert.equal(doc.num_llm_calls, 4);
    assert.equal(doc.total_cost_usd, sum);
    assert.equal(doc.modelUsage[HAIKU].costUSD, sum);
    assert.equal(doc.modelUsage[HAIKU].calls, 4);
    assert.deepEqual(doc.usage, {
      input_tokens: 1234 + 2345 + 3456 + 10,
      cache_creation_input_tokens: 400,
      cache_read_input_tokens: 1000,
      output_tokens: 56 + 67 + 78 + 1000,
      reasoning_tokens: 0,
    });
    const fan = doc.metrics.workflow.nodes.fan;
    assert.equal(fan.type, "llm");
    assert.equal(fan.executions, 1);
    assert.equal(fan.llm_calls, 4);
    assert.equal(fan.cost_usd, sum);
    assert.equal(fan.status, "success");
    assert.equal(doc.metrics.total.llm_calls, 4);
  });
});

// ---------------------------------------------------------------- failures

Deno.test("node failure after an LLM call: exit 1, error_during_execution, metrics keep the LLM node's cost", async () => {
  await withLlm(async (ctx) => {
    const wf = chain([llm("ask", SONNET, SONNET_USAGE), { id: "boom", type: "shell", params: { command: "exit 3" } }]);
    const { result, doc } = await runJson(ctx, wf);
    assertExit(result, 1);
    assert.equal(doc.subtype, "error_during_execution");
    assert.equal(doc.is_error, true);
    assert.equal(doc.error.node_id, "boom");
    assert.equal(doc.num_llm_calls, 1);
    assert.equal(doc.num_nodes, 2);
    assert.equal(doc.total_cost_usd, SONNET_COST);
    assert.equal(doc.modelUsage[SONNET].costUSD, SONNET_COST);
    assert.equal(doc.usage.input_tokens, 1000);
    assert.deepEqual(doc.pricing, {
      version: "2025-11-15",
      source: "builtin",
      unpriced_models: [],
      usage_missing: [],
      complete: true,
    });
    const w = doc.metrics.workflow;
    assert.equal(w.nodes_executed, 2);
    assert.equal(w.cost_usd, SONNET_COST);
    assert.deepEqual(Object.keys(w.nodes), ["ask", "boom"]);
    assert.deepEqual(Object.keys(w.node_timings), ["ask", "boom"]);
    assert.equal(w.nodes.ask.status, "success");
    assert.equal(w.nodes.ask.llm_calls, 1);
    assert.equal(w.nodes.ask.cost_usd, SONNET_COST);
    assert.equal(w.nodes.boom.type, "shell");
    assert.equal(w.nodes.boom.status, "error");
    assert.equal(w.nodes.boom.llm_calls, 0);
    assert.equal(w.nodes.boom.cost_usd, 0);
    assert.equal(doc.metrics.total.cost_usd, SONNET_COST);
    assert.equal(doc.metrics.total.tokens_total, 1000 + 2000 + 300 + 500);
  });
});

Deno.test("thrown error after an LLM call (read-file of a missing path): exit 1, full metrics up to that point", async () => {
  await withLlm(async (ctx) => {
    const missing = join(ctx.dir, "does-not-exist.txt");
    const wf = chain([
      llm("ask", MINI, MINI_USAGE),
      { id: "read", type: "read-file", params: { path: missing } },
      { id: "never", type: "echo", params: { value: "x" } },
    ]);
    const { result, doc } = await runJson(ctx, wf);
    assertExit(result, 1);
    assert.equal(doc.subtype, "error_during_execution");
    assert.equal(doc.is_error, true);
    assert.equal(doc.error.node_id, "read");
    assert.match(doc.error.message, /does-not-exist\.txt/);
    assert.equal(doc.num_nodes, 2);
    assert.equal(doc.num_llm_calls, 1);
    assert.equal(doc.total_cost_usd, MINI_COST);
    assert.equal(doc.modelUsage[MINI].costUSD, MINI_COST);
    assert.equal(doc.usage.cache_read_input_tokens, 200);
    assert.equal(doc.usage.reasoning_tokens, 150);
    const w = doc.metrics.workflow;
    assert.equal(w.nodes_executed, 2);
    assert.deepEqual(Object.keys(w.nodes), ["ask", "read"]);
    assert.equal(w.nodes.ask.cost_usd, MINI_COST);
    assert.equal(w.nodes.read.type, "read-file");
    assert.equal(w.nodes.read.status, "error");
    assert.equal(w.tokens_input, 1200);
    assert.equal(w.tokens_output, 400);
    assert.equal(doc.metrics.total.cost_usd, MINI_COST);
  });
});

// ---------------------------------------------------------------- budget

Deno.test("--max-budget-usd below the first call's cost: one call, then error_max_budget_usd at the next LLM node", async () => {
  await withLlm(async (ctx) => {
    const wf = chain([
      llm("one", SONNET, SONNET_USAGE),
      llm("two", SONNET, SONNET_USAGE),
      llm("three", SONNET, SONNET_USAGE),
    ]);
    const { result, doc } = await runJson(ctx, wf, ["--max-budget-usd", "0.01"]);
    assertExit(result, 1);
    assert.equal(ctx.srv.requests.length, 1);
    assert.equal(doc.subtype, "error_max_budget_usd");
    assert.equal(doc.is_error, true);
    assert.equal(doc.error.node_id, "two");
    assert.equal(doc.num_llm_calls, 1);
    assert.equal(doc.total_cost_usd, SONNET_COST);
    assert.equal(doc.modelUsage[SONNET].calls, 1);
    assert.deepEqual(Object.keys(doc.metrics.workflow.nodes), ["one", "two"]);
    assert.equal(doc.metrics.workflow.nodes.one.cost_usd, SONNET_COST);
    assert.equal(doc.metrics.workflow.nodes.two.llm_calls, 0);
    assert.equal(doc.metrics.workflow.nodes.two.status, "error");
  });
});

Deno.test("--max-budget-usd between one and two calls' cost stops before the third call (text mode: exit 1, summary line)", async () => {
  await withLlm(async (ctx) => {
    const wf = chain([
      llm("one", SONNET, SONNET_USAGE),
      llm("two", SONNET, SONNET_USAGE),
      llm("three", SONNET, SONNET_USAGE),
    ]);
    const result = await run(ctx, wf, ["--max-budget-usd=0.02"]);
    assertExit(result, 1);
    assert.equal(ctx.srv.requests.length, 2);
    assert.equal(result.stdout, "");
    // 2 × 12675 µ$ = $0.02535 → "$0.0254"; tokens 2 × 3800
    assert.match(result.stderr, /^✗ 3 nodes · \d+ms · \$0\.0254 · 7,600 tokens \(4,000 cached\) · 2 LLM calls$/m);
    assert.match(result.stderr, /node 'three'/);
    assert.match(result.stderr, /budget/);
  });
});

Deno.test("parallel batch under a budget: calls in flight finish and are counted, no new call starts", async () => {
  await withLlm(async (ctx) => {
    // Two in flight at once; item 0 finishes first and spends the budget, item 1 is still in flight.
    const items = [
      prompt({ input_tokens: 1000, output_tokens: 100 }, { sleepMs: 50 }), // Haiku: 1000 + 500 = 1500 µ$
      prompt({ input_tokens: 2000, output_tokens: 300 }, { sleepMs: 600 }), // 2000 + 1500 = 3500 µ$
      prompt({ input_tokens: 4000, output_tokens: 400 }),
      prompt({ input_tokens: 8000, output_tokens: 800 }),
    ];
    const wf = chain([
      {
        id: "fan",
        type: "llm",
        batch: { items, parallel: true, max_concurrent: 2 },
        params: { model: HAIKU, prompt: "${item}" },
      },
      llm("after", HAIKU, { input_tokens: 1, output_tokens: 1 }),
    ]);
    const { result, doc } = await runJson(ctx, wf, ["--max-budget-usd", "0.001"]);
    assertExit(result, 1);
    assert.equal(ctx.srv.requests.length, 2);
    assert.ok(ctx.srv.requests.every((r) => r.completed && !r.aborted), "an in-flight call was abandoned");
    assert.equal(doc.subtype, "error_max_budget_usd");
    assert.equal(doc.error.node_id, "fan");
    assert.equal(doc.num_llm_calls, 2);
    assert.equal(doc.total_cost_usd, 0.005);
    assert.equal(doc.usage.input_tokens, 3000);
    assert.equal(doc.usage.output_tokens, 400);
    assert.equal(doc.metrics.workflow.nodes.fan.llm_calls, 2);
    assert.equal(doc.metrics.workflow.nodes.fan.cost_usd, 0.005);
    assert.equal(doc.metrics.workflow.nodes.fan.status, "error");
    assert.equal(doc.metrics.workflow.nodes.after, undefined);
  });
});

Deno.test("bad --max-budget-usd values exit 2 before anything runs", async () => {
  await withLlm(async (ctx) => {
    const wf = chain([llm("one", HAIKU, { input_tokens: 1, output_tokens: 1 })]);
    for (
      const args of [["--max-budget-usd", "-1"], ["--max-budget-usd=-1"], ["--max-budget-usd", "abc"], [
        "--max-budget-usd=",
      ]]
    ) {
      const result = await run(ctx, wf, args);
      assertExit(result, 2);
      assert.match(result.stderr, /--max-budget-usd/, `${args}: ${result.stderr}`);
      assert.equal(result.stdout, "");
    }
    // 0 is a valid budget: nothing may be spent, so no call starts
    const zero = await runJson(ctx, wf, ["--max-budget-usd", "0"]);
    assertExit(zero.result, 1);
    assert.equal(zero.doc.subtype, "error_max_budget_usd");
    assert.equal(zero.doc.error.node_id, "one");
    assert.equal(zero.doc.num_llm_calls, 0);
    assert.equal(zero.doc.total_cost_usd, 0);
    const json = await run(ctx, wf, ["--max-budget-usd", "abc", "--output-format", "json"]);
    assertExit(json, 2);
    const doc = oneJson(json);
    assert.equal(doc.subtype, "error_validation");
    assert.match(
      doc.error.message,
      /--max-budget-usd must be a number of US dollars ≥ 0 \(e\.g\. 0\.50 or 1e-3\), got 'abc'/,
    );
    assert.equal(ctx.srv.requests.length, 0);
  });
});

// ---------------------------------------------------------------- SIGINT

Deno.test("SIGINT during a slow LLM call: exit 130, one error_interrupted document with the first call's cost", async () => {
  await withLlm(async (ctx) => {
    const wf = chain([
      llm("fast", SONNET, SONNET_USAGE),
      llm("slow", MINI, MINI_USAGE, { sleepMs: 5000 }),
      { id: "never", type: "echo", params: { value: "x" } },
    ]);
    let guard: ReturnType<typeof setTimeout> | undefined;
    const started = Date.now();
    const result = await run(ctx, wf, ["--output-format", "json"], {
      onSpawn: (child) => {
        guard = setTimeout(() => child.kill("SIGKILL"), 10_000);
        // The second request has arrived: the slow call is in flight.
        ctx.srv.waitForRequests(2).then(() => process.kill(child.pid!, "SIGINT"));
      },
    });
    clearTimeout(guard);
    assertExit(result, 130);
    assert.ok(Date.now() - started < 4000, "pflow waited for the slow call instead of stopping");
    const doc = oneJson(result);
    assert.equal(doc.subtype, "error_interrupted");
    assert.equal(doc.is_error, true);
    assert.equal(doc.error.node_id, "slow");
    // The call cut off counts, as an error whose usage is unknown: the cost is the first call's, incomplete.
    assert.equal(doc.num_llm_calls, 2);
    assert.equal(doc.pricing.complete, false);
    assert.deepEqual(doc.pricing.usage_missing.map((m: { node_id: string }) => m.node_id), ["slow"]);
    assert.equal(doc.total_cost_usd, SONNET_COST);
    assert.deepEqual(doc.usage, {
      input_tokens: 1000,
      cache_creation_input_tokens: 300,
      cache_read_input_tokens: 2000,
      output_tokens: 500,
      reasoning_tokens: 0,
    });
    // The model of the call cut off is listed (it was called), with no tokens known.
    assert.deepEqual(Object.keys(doc.modelUsage), [SONNET, MINI]);
    assert.equal(doc.modelUsage[MINI].inputTokens, 0);
    assert.equal(doc.metrics.workflow.nodes.fast.cost_usd, SONNET_COST);
    assert.equal(doc.metrics.workflow.nodes.slow.status, "interrupted");
    assert.equal(doc.metrics.workflow.nodes.slow.llm_calls, 1);
    assert.equal(doc.metrics.workflow.nodes.slow.cost_usd, 0);
    assert.equal(doc.metrics.workflow.nodes.never, undefined);
  });
});

// ---------------------------------------------------------------- unpriced and free models

Deno.test("unpriced model: listed, pricing incomplete, tokens counted, cost 0 in the total", async () => {
  await withLlm(async (ctx) => {
    writeSettings(ctx, { providers: { local: { base_url: `${ctx.srv.url}/v1` } } });
    const wf = chain([
      llm("priced", HAIKU, { input_tokens: 1000, output_tokens: 100 }), // 1000 + 500 = 1500 µ$
      llm("local1", "local/some-model", { prompt_tokens: 500, completion_tokens: 50 }),
      llm("local2", "local/some-model", { prompt_tokens: 300, completion_tokens: 30 }),
    ]);
    const { result, doc } = await runJson(ctx, wf);
    assertExit(result, 0);
    assert.equal(ctx.srv.requests.length, 3);
    assert.deepEqual(doc.pricing, {
      version: "2025-11-15",
      source: "builtin",
      unpriced_models: ["local/some-model"],
      usage_missing: [],
      complete: false,
    });
    assert.equal(doc.total_cost_usd, 0.0015);
    assert.deepEqual(doc.usage, { ...ZERO_USAGE, input_tokens: 1800, output_tokens: 180 });
    assert.deepEqual(doc.modelUsage["local/some-model"], {
      inputTokens: 800,
      outputTokens: 80,
      cacheReadInputTokens: 0,
      cacheCreationInputTokens: 0,
      reasoningTokens: 0,
      costUSD: null, // unpriced, not free
      calls: 2,
    });
    assert.equal(doc.metrics.workflow.nodes.local1.cost_usd, 0);
    assert.equal(doc.metrics.workflow.nodes.local1.llm_calls, 1);
    assert.equal(doc.metrics.workflow.tokens_total, 1980);
  });
});

Deno.test("unpriced model in text mode: one warning naming it, the summary line names it", async () => {
  await withLlm(async (ctx) => {
    writeSettings(ctx, { providers: { local: { base_url: `${ctx.srv.url}/v1` } } });
    const wf = chain([
      llm("priced", HAIKU, { input_tokens: 1000, output_tokens: 100 }),
      llm("local1", "local/some-model", { prompt_tokens: 500, completion_tokens: 50 }),
      llm("local2", "local/some-model", { prompt_tokens: 300, completion_tokens: 30 }, { reply: "done" }),
    ]);
    for (const args of [[], ["--metrics"], ["--max-budget-usd", "5"]]) {
      const result = await run(ctx, wf, args);
      assertExit(result, 0);
      assert.equal(result.stdout, "done\n");
      const named = lines(result.stderr).filter((l) => l.includes("local/some-model"));
      const warnings = named.filter((l) => l.startsWith("warning:"));
      assert.equal(warnings.length, 1, `${args}: expected one warning:\n${result.stderr}`);
      assert.match(warnings[0], /no price for model 'local\/some-model'/);
      const summary = named.filter((l) => l.startsWith("✓"));
      assert.equal(summary.length, 1, `${args}: expected one summary line:\n${result.stderr}`);
      // $0.0015 plus an unknown amount; 1000+100+500+50+300+30 tokens
      assert.match(
        summary[0],
        /^✓ 3 nodes · \d+ms · \$0\.0015\+ · 1,980 tokens · 3 LLM calls · unpriced: local\/some-model$/,
      );
      assert.equal(lines(result.stderr).length, 2, `${args}: unexpected stderr:\n${result.stderr}`);
    }
  });
});

Deno.test("only unpriced models: the summary line and trace list say unpriced, never $0+", async () => {
  await withLlm(async (ctx) => {
    writeSettings(ctx, { providers: { local: { base_url: `${ctx.srv.url}/v1` } } });
    const wf = chain([llm("local1", "local/some-model", { prompt_tokens: 500, completion_tokens: 50 })]);
    const result = await run(ctx, wf, ["--metrics", "--trace"]);
    assertExit(result, 0);
    const summary = lines(result.stderr).filter((l) => l.startsWith("✓"));
    assert.deepEqual(summary.length, 1, result.stderr);
    assert.match(summary[0], /^✓ 1 node · \d+ms · unpriced · 550 tokens · 1 LLM call · unpriced: local\/some-model$/);
    const listed = await runPflow(["trace", "list"], { env: ctx.env });
    assertExit(listed, 0);
    const row = lines(listed.stdout)[1];
    assert.match(row, / unpriced /, listed.stdout);
    assert.doesNotMatch(row, /\$0\+/);
    // Beside a priced call the cost is its lower bound, as before.
    const mixed = await run(
      ctx,
      chain([
        llm("priced", HAIKU, { input_tokens: 1000, output_tokens: 100 }),
        llm("local1", "local/some-model", { prompt_tokens: 500, completion_tokens: 50 }),
      ]),
    );
    assert.match(mixed.stderr, / · \$0\.0015\+ · /);
  });
});

Deno.test("a model made free in PFLOW_HOME/pricing.yaml is priced at 0 and pricing is complete", async () => {
  await withLlm(async (ctx) => {
    writeSettings(ctx, { providers: { local: { base_url: `${ctx.srv.url}/v1` } } });
    const path = writeHomePricing(ctx, "models:\n  local/free-model: {input: 0, output: 0}\n");
    const wf = chain([
      llm("priced", HAIKU, { input_tokens: 1000, output_tokens: 100 }),
      llm("free", "local/free-model", { prompt_tokens: 500, completion_tokens: 50 }, { reply: "ok" }),
    ]);
    const { result, doc } = await runJson(ctx, wf);
    assertExit(result, 0);
    assert.deepEqual(doc.pricing, {
      version: "2025-11-15",
      source: `builtin + ${path}`,
      unpriced_models: [],
      usage_missing: [],
      complete: true,
    });
    assert.equal(doc.total_cost_usd, 0.0015);
    assert.equal(doc.modelUsage["local/free-model"].costUSD, 0);
    assert.equal(doc.modelUsage["local/free-model"].inputTokens, 500);
    assert.equal(doc.usage.input_tokens, 1500);

    const text = await run(ctx, wf);
    assertExit(text, 0);
    assert.equal(text.stdout, "ok\n");
    assert.match(text.stderr, /^✓ 2 nodes · \d+ms · \$0\.0015 · 1,650 tokens · 2 LLM calls\n$/);
  });
});

// ---------------------------------------------------------------- overrides

Deno.test("PFLOW_HOME/pricing.yaml overrides one field; --price-table merges over both for one run", async () => {
  await withLlm(async (ctx) => {
    const homeFile = writeHomePricing(ctx, "models:\n  anthropic/claude-haiku-4-5:\n    output: 7\n");
    const usage = { input_tokens: 1000, output_tokens: 100, cache_read_input_tokens: 1000 };
    const wf = chain([llm("ask", HAIKU, usage)]);

    // shipped input 1 and cache_read 0.10, overridden output 7: 1000 + 100 + 700 = 1800 µ$
    const first = await runJson(ctx, wf);
    assertExit(first.result, 0);
    assert.equal(first.doc.total_cost_usd, 0.0018);
    assert.equal(first.doc.modelUsage[HAIKU].costUSD, 0.0018);
    assert.equal(first.doc.pricing.source, `builtin + ${homeFile}`);
    assert.equal(first.doc.pricing.version, "2025-11-15");
    assert.equal(first.doc.pricing.complete, true);

    // --price-table sets input 2: 2000 + 100 + 700 = 2800 µ$
    const table = join(ctx.dir, "run-prices.yaml");
    writeFileSync(table, 'version: "run-1"\nmodels:\n  anthropic/claude-haiku-4-5:\n    input: 2\n');
    const second = await runJson(ctx, wf, ["--price-table", table]);
    assertExit(second.result, 0);
    assert.equal(second.doc.total_cost_usd, 0.0028);
    assert.equal(second.doc.pricing.source, `builtin + ${homeFile} + ${table}`);
    assert.equal(second.doc.pricing.version, "run-1");

    // only for that run
    const third = await runJson(ctx, wf);
    assert.equal(third.doc.total_cost_usd, 0.0018);

    // a missing --price-table file is an error, not an empty override
    const missing = join(ctx.dir, "missing.yaml");
    const gone = await run(ctx, wf, ["--price-table", missing]);
    assertExit(gone, 2);
    assert.match(gone.stderr, new RegExp(`^error: ${escapeRegExp(missing)}: price table not found`, "m"));

    // pricing show tells where each field came from
    const show = await runPflow(["pricing", "show", HAIKU, "--json", "--price-table", table], { env: ctx.env });
    assertExit(show, 0);
    const shown = JSON.parse(show.stdout);
    assert.equal(shown.prices.input, 2);
    assert.equal(shown.prices.output, 7);
    assert.equal(shown.prices.cache_read, 0.1);
    assert.equal(shown.sources.input, table);
    assert.equal(shown.sources.output, homeFile);
    assert.equal(shown.sources.cache_read, "builtin");
  });
});

Deno.test("provider-reported cost (OpenRouter-style usage.cost) wins over a computed price", async () => {
  await withLlm(async (ctx) => {
    writeSettings(ctx, { providers: { router: { base_url: `${ctx.srv.url}/v1` } } });
    // computed would be 1000*1 + 100*1 = 1100 µ$; the provider says 0.0042
    writeHomePricing(ctx, "models:\n  router/some-model: {input: 1, output: 1}\n");
    const wf = chain([
      llm("reported", "router/some-model", { prompt_tokens: 1000, completion_tokens: 100, cost: 0.0042 }),
      llm("computed", "router/some-model", { prompt_tokens: 2000, completion_tokens: 1000 }), // 3000 µ$
    ]);
    const { result, doc } = await runJson(ctx, wf);
    assertExit(result, 0);
    assert.equal(doc.total_cost_usd, 0.0072);
    assert.equal(doc.modelUsage["router/some-model"].costUSD, 0.0072);
    assert.equal(doc.metrics.workflow.nodes.reported.cost_usd, 0.0042);
    assert.equal(doc.metrics.workflow.nodes.computed.cost_usd, 0.003);
    assert.equal(doc.pricing.complete, true);

    // also in text mode, where prices are loaded after the run
    const text = await run(ctx, wf);
    assertExit(text, 0);
    assert.match(text.stderr, /^✓ 2 nodes · \d+ms · \$0\.0072 · 4,100 tokens · 2 LLM calls\n$/);
  });
});

// ---------------------------------------------------------------- bad price files

/** Bad price files: content, the line the error must name, and what the message says. */
const BAD_PRICE_FILES: { name: string; yaml: string; line: number; message: RegExp }[] = [
  {
    name: "YAML syntax error",
    yaml: "models:\n  anthropic/claude-haiku-4-5:\n    input: 1\n   output: 2\n",
    line: 4,
    message: /YAML syntax/,
  },
  {
    name: "negative price",
    yaml: "models:\n  anthropic/claude-haiku-4-5:\n    input: 1\n    output: -5\n",
    line: 4,
    message: /'output' of 'anthropic\/claude-haiku-4-5' must not be negative, got -5/,
  },
  {
    name: "non-numeric price",
    yaml: "models:\n  anthropic/claude-haiku-4-5:\n    input: cheap\n",
    line: 3,
    message: /'input' of 'anthropic\/claude-haiku-4-5' must be a number .*"cheap"/,
  },
  {
    name: "unknown field",
    yaml: "models:\n  anthropic/claude-haiku-4-5:\n    input: 1\n    ouput: 2\n",
    line: 4,
    message: /unknown field 'ouput' .*\(did you mean 'output'\?\)/,
  },
  {
    name: "tier without above_input_tokens",
    yaml: "models:\n  anthropic/claude-haiku-4-5:\n    tiers:\n      - input: 2\n        output: 9\n",
    line: 4,
    message: /has no 'above_input_tokens'/,
  },
  {
    // README: "a model left without input/output" is one error line with the file and line, like the others;
    // the line is that of the model's id.
    name: "new model without an output price",
    yaml: "models:\n  local/half-priced:\n    input: 1\n",
    line: 2,
    message: /model 'local\/half-priced' has no 'output' price/,
  },
];

for (const bad of BAD_PRICE_FILES) {
  Deno.test(`bad price file (${bad.name}): exit 2 with one line naming file and line`, async () => {
    await withLlm(async (ctx) => {
      // as PFLOW_HOME/pricing.yaml, on a JSON run
      const homeFile = writeHomePricing(ctx, bad.yaml);
      const wf = chain([llm("ask", HAIKU, { input_tokens: 1, output_tokens: 1 })]);
      const { result, doc } = await runJson(ctx, wf);
      assertExit(result, 2);
      assert.equal(ctx.srv.requests.length, 0);
      assert.equal(doc.subtype, "error_validation");
      assert.equal(doc.error.problems.length, 1, JSON.stringify(doc.error));
      assert.equal(doc.error.problems[0].file, homeFile);
      assert.equal(doc.error.problems[0].line, bad.line);
      assert.match(doc.error.problems[0].message, bad.message);
      const errLines = lines(result.stderr);
      assert.equal(errLines.length, 1, explain(result));
      assert.match(errLines[0], new RegExp(`^error: ${escapeRegExp(homeFile)}:${bad.line}:\\d+: `));
      assert.match(errLines[0], bad.message);

      // as --price-table FILE of pricing show (with a valid home file)
      writeHomePricing(ctx, "");
      const table = join(ctx.dir, "bad-prices.yaml");
      writeFileSync(table, bad.yaml);
      const show = await runPflow(["pricing", "show", "--price-table", table], { env: ctx.env });
      assertExit(show, 2);
      assert.equal(show.stdout, "");
      const showLines = lines(show.stderr);
      assert.equal(showLines.length, 1, explain(show));
      assert.match(showLines[0], new RegExp(`^error: ${escapeRegExp(table)}:${bad.line}:\\d+: `));
      assert.match(showLines[0], bad.message);
    });
  });
}

Deno.test("bad PFLOW_HOME/pricing.yaml on a plain text run of an LLM workflow: exit 2 before any call", async () => {
  await withLlm(async (ctx) => {
    // Prices are read before a run that has llm nodes, so a bad price file stops it like any validation error.
    const homeFile = writeHomePricing(ctx, BAD_PRICE_FILES[1].yaml);
    const wf = chain([llm("ask", HAIKU, { input_tokens: 1000, output_tokens: 100 }, { reply: "fine" })]);
    const result = await run(ctx, wf);
    assertExit(result, 2);
    assert.equal(ctx.srv.requests.length, 0, "no LLM call was made");
    assert.equal(result.stdout, "");
    assert.match(lines(result.stderr)[0], new RegExp(`^error: ${escapeRegExp(homeFile)}:4:\\d+: `));
  });
});

Deno.test("a workflow that cannot call a model loads no prices: a bad PFLOW_HOME/pricing.yaml does not stop it", async () => {
  await withLlm(async (ctx) => {
    writeHomePricing(ctx, BAD_PRICE_FILES[1].yaml);
    const wf = chain([{ id: "hi", type: "echo", params: { value: "hello" } }]);
    for (const args of [["--output-format", "json"], ["--metrics"], ["--trace"], ["--max-budget-usd", "1"]]) {
      const result = await run(ctx, wf, args);
      assertExit(result, 0);
      assert.doesNotMatch(result.stderr, /pricing\.yaml/, explain(result));
    }
    const { result, doc } = await runJson(ctx, wf);
    assertExit(result, 0);
    // No prices were used: the table is not named, nothing is unpriced, the (empty) total is complete.
    assert.deepEqual(doc.pricing, {
      version: null,
      source: null,
      unpriced_models: [],
      usage_missing: [],
      complete: true,
    });
    assert.equal(doc.total_cost_usd, 0);
    // A --price-table given is still checked.
    writeHomePricing(ctx, "");
    const table = join(ctx.dir, "bad-prices.yaml");
    writeFileSync(table, BAD_PRICE_FILES[1].yaml);
    const checked = await run(ctx, wf, ["--price-table", table]);
    assertExit(checked, 2);
    assert.match(lines(checked.stderr)[0], new RegExp(`^error: ${escapeRegExp(table)}:4:\\d+: `));
  });
});

// ---------------------------------------------------------------- text mode

Deno.test("text mode: outputs on stdout, exactly one summary line on stderr with cost and tokens", async () => {
  await withLlm(async (ctx) => {
    const wf = chain([
      llm("a", SONNET, SONNET_USAGE, { reply: "first" }),
      llm("b", MINI, MINI_USAGE, { reply: "second answer" }),
    ]);
    const result = await run(ctx, wf);
    assertExit(result, 0);
    assert.equal(result.stdout, "second answer\n");
    // 12675 + 405 µ$ = $0.01308 → "$0.0131"; 2000 uncached + 2200 read + 300 written + 900 out = 5,400
    assert.match(result.stderr, /^✓ 2 nodes · \d+ms · \$0\.0131 · 5,400 tokens \(2,200 cached\) · 2 LLM calls\n$/);

    const metrics = await run(ctx, wf, ["--metrics"]);
    assertExit(metrics, 0);
    assert.equal(metrics.stdout, "second answer\n");
    assert.match(metrics.stderr, /^✓ 2 nodes · \d+ms · \$0\.0131 · 5,400 tokens \(2,200 cached\) · 2 LLM calls\n$/);
  });
});

Deno.test("text mode without LLM calls: no summary line unless --metrics", async () => {
  await withLlm(async (ctx) => {
    const wf = chain([{ id: "hi", type: "echo", params: { value: "hello" } }]);
    const plain = await run(ctx, wf);
    assertExit(plain, 0);
    assert.equal(plain.stdout, "hello\n");
    assert.equal(plain.stderr, "");

    const metrics = await run(ctx, wf, ["--metrics"]);
    assertExit(metrics, 0);
    assert.equal(metrics.stdout, "hello\n");
    assert.match(metrics.stderr, /^✓ 1 node · \d+ms\n$/);
  });
});

// ---------------------------------------------------------------- pricing show

Deno.test("pricing show: the table, a dated snapshot, a wildcard, an unpriced model, and --json", async () => {
  await withLlm(async (ctx) => {
    const env = ctx.env;
    const table = await runPflow(["pricing", "show"], { env });
    assertExit(table, 0);
    assert.match(table.stdout, /version 2025-11-15 · builtin/);
    assert.match(table.stdout, /^anthropic\/claude-sonnet-4-5 +3 +15 +0\.3 +3\.75 +6 +builtin$/m);
    assert.match(table.stdout, /^openai\/gpt-4o-mini +0\.15 +0\.6 +0\.075 +0\.15 +0\.15 +builtin$/m);
    assert.match(table.stdout, /^ollama\/\* +0 +0 /m);

    const snapshot = await runPflow(["pricing", "show", "anthropic/claude-sonnet-4-5-20250929"], { env });
    assertExit(snapshot, 0);
    assert.match(snapshot.stdout, /^anthropic\/claude-sonnet-4-5-20250929 \(priced as anthropic\/claude-sonnet-4-5\)/);
    assert.match(snapshot.stdout, /^ +input +3 +builtin$/m);
    assert.match(snapshot.stdout, /^ +output +15 +builtin$/m);
    assert.match(
      snapshot.stdout,
      /above 200,000 input tokens \(whole request\): input 6, output 22\.5, cache_read 0\.6, cache_write_5m 7\.5, cache_write_1h 12/,
    );

    const ollama = await runPflow(["pricing", "show", "ollama/llama3"], { env });
    assertExit(ollama, 0);
    assert.match(ollama.stdout, /^ollama\/llama3 \(priced as ollama\/\*\)/);
    assert.match(ollama.stdout, /^ +input +0 +builtin$/m);
    assert.match(ollama.stdout, /^ +output +0 +builtin$/m);

    // A model alias is priced as a run prices it; text that is no model id is a usage error.
    const alias = await runPflow(["pricing", "show", "anthropic/haiku"], { env });
    assertExit(alias, 0);
    assert.match(alias.stdout, /^anthropic\/haiku \(priced as anthropic\/claude-haiku-4-5\)/);
    for (const bad of ["openai", ""]) {
      const notAnId = await runPflow(["pricing", "show", bad], { env });
      assertExit(notAnId, 2);
      assert.match(notAnId.stderr, /invalid model id/);
    }

    const nope = await runPflow(["pricing", "show", "nope/x"], { env });
    assertExit(nope, 1);
    assert.equal(nope.stdout, "");
    assert.match(nope.stderr, /no price for 'nope\/x': it is unpriced/);

    const tableJson = await runPflow(["pricing", "show", "--json"], { env });
    assertExit(tableJson, 0);
    const t = JSON.parse(tableJson.stdout);
    assert.equal(t.version, "2025-11-15");
    assert.equal(t.currency, "USD");
    assert.equal(t.source, "builtin");
    assert.equal(t.models[SONNET].input, 3);
    assert.equal(t.models[SONNET].output, 15);
    assert.deepEqual(t.models[SONNET].tiers, [
      { above_input_tokens: 200000, input: 6, output: 22.5, cache_read: 0.6, cache_write_5m: 7.5, cache_write_1h: 12 },
    ]);

    const snapJson = await runPflow(["pricing", "show", "anthropic/claude-sonnet-4-5-20250929", "--json"], { env });
    assertExit(snapJson, 0);
    const s = JSON.parse(snapJson.stdout);
    assert.equal(s.model, "anthropic/claude-sonnet-4-5-20250929");
    assert.equal(s.priced, true);
    assert.equal(s.key, SONNET);
    assert.equal(s.prices.input, 3);
    assert.equal(s.prices.output, 15);
    assert.equal(s.prices.tiers[0].above_input_tokens, 200000);

    const ollamaJson = await runPflow(["pricing", "show", "ollama/llama3", "--output-format", "json"], { env });
    assertExit(ollamaJson, 0);
    const o = JSON.parse(ollamaJson.stdout);
    assert.equal(o.priced, true);
    assert.equal(o.key, "ollama/*");
    assert.deepEqual(o.prices, { input: 0, output: 0 });

    const nopeJson = await runPflow(["pricing", "show", "nope/x", "--json"], { env });
    assertExit(nopeJson, 1);
    assert.deepEqual(JSON.parse(nopeJson.stdout), { model: "nope/x", priced: false });
  });
});

Deno.test("pricing show and cost report --reprice: a price file's version, aliases and path are shown escaped", async () => {
  await withLlm(async (ctx) => {
    // Someone else's price table: an OSC title and a colour in its version and an alias, an OSC in its file name.
    const version = "v1\u001b[31mred\u001b]0;TITLE\u0007";
    const yaml = `version: ${JSON.stringify(version)}\nmodels:\n  ${HAIKU}:\n    input: 2\n` +
      `    aliases: [${JSON.stringify("anthropic/hk\u001b]0;T2\u0007")}]\n`;
    const table = join(ctx.dir, "p\u001b]0;X\u0007.yaml");
    writeFileSync(table, yaml);
    // deno-lint-ignore no-control-regex
    const controls = /[\x00-\x08\x0b-\x1f\x7f]/;
    const all = await runPflow(["pricing", "show", "--price-table", table], { env: ctx.env });
    assertExit(all, 0);
    assert.doesNotMatch(all.stdout, controls, all.stdout);
    assert.ok(all.stdout.startsWith("prices: USD per million tokens · version v1\\u001b[31mred\\u001b]0;TITLE\\u0007"));
    assert.ok(
      all.stdout.split("\n")[0].endsWith(
        "builtin + " + table.replace("\u001b", "\\u001b").replace("\u0007", "\\u0007"),
      ),
    );
    const one = await runPflow(["pricing", "show", HAIKU, "--price-table", table], { env: ctx.env });
    assertExit(one, 0);
    assert.doesNotMatch(one.stdout, controls, one.stdout);
    assert.match(one.stdout, /^ +aliases: anthropic\/hk\\u001b\]0;T2\\u0007$/m);
    assert.match(one.stdout, /^ +input +2 +\S*p\\u001b\]0;X\\u0007\.yaml$/m);
    // In a terminal with colour on, where pflow's own colour codes pass: the version's colour code does not.
    const command = `stty cols 140; ${PFLOW_BIN} cost report --reprice --price-table '${table}'`;
    const terminal = spawnSync("script", ["-qfec", command, "/dev/null"], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, TERM: "xterm", ...ctx.env },
      encoding: "utf8",
    });
    assert.equal(terminal.status, 0, `${terminal.stdout}\n${terminal.stderr}`);
    assert.match(terminal.stdout, /repriced with price table v1\\u001b\[31mred\\u001b\]0;TITLE\\u0007 \(builtin \+ /);
    assert.ok(!terminal.stdout.includes("\u001b[31m"), terminal.stdout);
  });
});

Deno.test("--max-budget-usd stops an LLM call's retries too: a retried attempt that spent the budget is the last", async () => {
  await withLlm(async (ctx) => {
    // Every attempt streams its final usage (message_delta), then ends before message_stop: a retryable failure that was billed.
    const node = {
      id: "flaky",
      type: "llm",
      params: {
        model: SONNET,
        prompt: `${prompt(SONNET_USAGE)} [[truncate-after-usage]]`,
        stream: true,
        max_retries: 1,
      },
    };
    const { result, doc } = await runJson(ctx, chain([node]), ["--max-budget-usd", "0.0001"]);
    assertExit(result, 1);
    assert.equal(ctx.srv.requests.length, 1, "no retry started once the budget was spent");
    assert.equal(doc.subtype, "error_max_budget_usd");
    assert.equal(doc.num_llm_calls, 1);
    assert.ok(doc.total_cost_usd > 0.0001, `the failed attempt's cost counts: ${doc.total_cost_usd}`);
    assert.equal(doc.metrics.workflow.nodes.flaky.retries, 0);
    // Without a budget the same node tries twice, each attempt counted.
    const all = await runJson(ctx, chain([node]));
    assertExit(all.result, 1);
    assert.equal(all.doc.num_llm_calls, 2);
    assert.equal(all.doc.metrics.workflow.nodes.flaky.retries, 1);
    assert.equal(all.doc.total_cost_usd, Math.round(2 * doc.total_cost_usd * 1e10) / 1e10);
  });
});

Deno.test("--max-budget-usd is compared at the precision costs are reported with ($0.7 + $0.1 reaches $0.8)", async () => {
  await withLlm(async (ctx) => {
    // Haiku 4.5 input: $1 per million tokens, so 700,000 and 100,000 input tokens cost $0.7 and $0.1 exactly.
    const wf = chain([
      llm("a", HAIKU, { input_tokens: 700_000, output_tokens: 0 }),
      llm("b", HAIKU, { input_tokens: 100_000, output_tokens: 0 }),
      llm("c", HAIKU, { input_tokens: 100_000, output_tokens: 0 }),
    ]);
    const { result, doc } = await runJson(ctx, wf, ["--max-budget-usd", "0.8"]);
    assertExit(result, 1);
    assert.equal(ctx.srv.requests.length, 2);
    assert.equal(doc.subtype, "error_max_budget_usd");
    assert.equal(doc.total_cost_usd, 0.8);
    assert.equal(doc.error.node_id, "c");
  });
});
