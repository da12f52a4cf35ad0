/**
 * End-to-end tests of the run ledger and `pflow cost` through the compiled
 * binary against the local LLM server: real SQLite files under temp
 * PFLOW_HOMEs, report totals against the runs' own JSON results, every
 * `--by`, filters, time zones, repricing, unpriced models, `--top`, JSON and
 * Markdown, concurrency, SIGKILL, `--no-ledger`, corrupt and newer ledgers,
 * and the migrations of a version-1 ledger and of a version-4 one written by the binary.
 * @module
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { DatabaseSync } from "node:sqlite";
import { type CliResult, PFLOW_BIN, ROOT, runPflow, workflow } from "./support/cli.ts";
import { bucketColumns, BUCKETS } from "../src/ledger/schema.ts";
import { parseTraceText } from "../src/observability/trace_format.ts";
import {
  assertExit,
  chain,
  type Doc,
  explain,
  HAIKU,
  llm,
  type LlmCtx,
  MINI,
  MINI_COST,
  MINI_USAGE,
  oneJson,
  prompt,
  runWorkflowFile,
  SONNET,
  SONNET_COST,
  SONNET_USAGE,
  withLlm,
  writeSettings,
} from "./support/llm_run.ts";

/** Haiku 4.5: 400*1 + 100*5 = 900 µ$. */
const HAIKU_USAGE = { input_tokens: 400, output_tokens: 100 };
const HAIKU_COST = 0.0009;
const near = (actual: number, expected: number, what: string) =>
  assert.ok(Math.abs(actual - expected) < 1e-9, `${what}: ${actual} ≠ ${expected}`);

/** `pflow cost ARGS…` in the test's home. */
function cost(ctx: { env: Record<string, string> }, args: string[], env: Record<string, string> = {}) {
  return runPflow(["cost", ...args], { env: { ...ctx.env, ...env } });
}

/** `pflow cost report --json ARGS…`, parsed. */
async function reportJson(ctx: { env: Record<string, string> }, args: string[] = []): Promise<Doc> {
  const result = await cost(ctx, ["report", "--json", ...args]);
  assertExit(result, 0);
  return JSON.parse(result.stdout);
}

/** Runs a workflow in JSON mode; returns its result document. */
async function runJson(ctx: LlmCtx, wf: unknown, name = "wf.json", args: string[] = []): Promise<Doc> {
  const result = await runWorkflowFile(ctx, wf, ["--output-format", "json", ...args], { name });
  assertExit(result, 0);
  return oneJson(result);
}

/** Opens the ledger database of a home (the test's own connection). */
function openDb(home: string): DatabaseSync {
  return new DatabaseSync(join(home, "ledger.db"));
}

/** Moves a run's start time (the test's way of making a run happen at a given instant). */
function setRunStart(home: string, executionId: string, startedMs: number): void {
  const db = openDb(home);
  try {
    const { id } = db.prepare("SELECT id FROM runs WHERE execution_id = ?").get(executionId) as { id: number };
    for (const table of ["calls", "usage"]) {
      db.prepare(`UPDATE ${table} SET started_ms = ? WHERE run = ?`).run(startedMs, id);
    }
    db.prepare("UPDATE runs SET started_ms = ? WHERE id = ?").run(startedMs, id);
  } finally {
    db.close();
  }
}

/** The sum of a numeric field over rows. */
const sum = (rows: Doc[], field: string) => rows.reduce((s, r) => s + (r[field] ?? 0), 0);

/** Checks that the Total equals the sum of the rows, field by field. */
function assertTotalIsSum(doc: Doc): void {
  for (const field of ["llm_calls", "input_tokens", "cache_write_tokens", "cache_read_tokens", "output_tokens"]) {
    assert.equal(doc.totals[field], sum(doc.rows, field), `${doc.group_by}: total ${field}`);
  }
  near(doc.totals.cost_usd, sum(doc.rows, "cost_usd"), `${doc.group_by}: total cost`);
}

/** Writes a price file into the test's dir; returns its path. */
function writePriceTable(ctx: { dir: string }, name: string, yaml: string): string {
  const path = join(ctx.dir, name);
  writeFileSync(path, yaml);
  return path;
}

const PLAIN_ENV = { NO_COLOR: "1" };
const ANSI = "\x1b[";

// ---------------------------------------------------------------- totals against the runs

Deno.test("cost report: totals equal the runs' JSON total_cost_usd and usage, for every --by", async () => {
  await withLlm(async (ctx) => {
    const docs = [
      await runJson(ctx, chain([llm("draft", SONNET, SONNET_USAGE), llm("check", MINI, MINI_USAGE)]), "alpha.json"),
      await runJson(ctx, chain([llm("draft", SONNET, SONNET_USAGE)]), "alpha.json"),
      await runJson(
        ctx,
        workflow([{
          id: "many",
          type: "llm",
          batch: { items: ["a", "b", "c"], parallel: true },
          params: { model: HAIKU, prompt: `[[usage:${JSON.stringify(HAIKU_USAGE)}]] \${item}` },
        }]),
        "beta.json",
      ),
      await runJson(ctx, workflow([{ id: "e", type: "echo", params: { value: 1 } }]), "gamma.json"),
    ];
    const expectedCost = docs.reduce((s, d) => s + d.total_cost_usd, 0);
    near(expectedCost, 2 * SONNET_COST + MINI_COST + 3 * HAIKU_COST, "the runs' own costs");
    const usage = (field: string) => docs.reduce((s, d) => s + d.usage[field], 0);
    for (const by of ["day", "week", "month", "model", "workflow", "node", "run"]) {
      const doc = await reportJson(ctx, ["--by", by]);
      assert.equal(doc.group_by, by);
      near(doc.totals.cost_usd, expectedCost, `--by ${by}: total cost`);
      assert.equal(doc.totals.cost_complete, true);
      assert.equal(doc.totals.llm_calls, docs.reduce((s, d) => s + d.num_llm_calls, 0), `--by ${by}: calls`);
      assert.equal(doc.totals.input_tokens, usage("input_tokens"), `--by ${by}: input`);
      assert.equal(doc.totals.cache_write_tokens, usage("cache_creation_input_tokens"), `--by ${by}: cache write`);
      assert.equal(doc.totals.cache_read_tokens, usage("cache_read_input_tokens"), `--by ${by}: cache read`);
      assert.equal(doc.totals.output_tokens, usage("output_tokens"), `--by ${by}: output`);
      assert.equal(doc.totals.reasoning_tokens, usage("reasoning_tokens"), `--by ${by}: reasoning`);
      assert.equal(
        doc.totals.total_tokens,
        usage("input_tokens") + usage("cache_creation_input_tokens") + usage("cache_read_input_tokens") +
          usage("output_tokens"),
      );
      // Runs without LLM calls are runs of their day and workflow, not of a model or node.
      assert.equal(doc.totals.runs, ["model", "node"].includes(by) ? 3 : 4, `--by ${by}: runs`);
      assertTotalIsSum(doc);
    }
    const byModel = await reportJson(ctx, ["--by", "model"]);
    assert.deepEqual(byModel.rows.map((r: Doc) => [r.group, r.runs, r.llm_calls]), [
      [SONNET, 2, 2],
      [HAIKU, 1, 3],
      [MINI, 1, 1],
    ]);
    near(byModel.rows[0].cost_usd, 2 * SONNET_COST, "sonnet");
    near(byModel.rows[1].cost_usd, 3 * HAIKU_COST, "haiku");
    assert.equal(byModel.rows[2].reasoning_tokens, 150);
    const byWorkflow = await reportJson(ctx, ["--by", "workflow"]);
    assert.deepEqual(byWorkflow.rows.map((r: Doc) => [r.group, r.runs, r.llm_calls]), [
      ["alpha", 2, 3],
      ["beta", 1, 3],
      ["gamma", 1, 0],
    ]);
    const byNode = await reportJson(ctx, ["--by", "node"]);
    assert.deepEqual(
      byNode.rows.map((r: Doc) => [r.group, r.workflow, r.node, r.phase, r.runs, r.executions, r.llm_calls]),
      [
        ["alpha/draft", "alpha", "draft", "workflow", 2, 2, 2],
        ["beta/many", "beta", "many", "workflow", 1, 1, 3],
        ["alpha/check", "alpha", "check", "workflow", 1, 1, 1],
      ],
    );
    const byRun = await reportJson(ctx, ["--by", "run"]);
    assert.deepEqual(byRun.rows.map((r: Doc) => r.execution_id), docs.map((d) => d.execution_id));
    for (const [i, row] of byRun.rows.entries()) {
      near(row.cost_usd, docs[i].total_cost_usd, `run ${i}`);
      assert.equal(row.status, "success");
      assert.equal(row.workflow, docs[i].workflow_name);
    }
    const byDay = await reportJson(ctx, ["--by", "day", "--timezone", "UTC"]);
    assert.deepEqual(byDay.rows.map((r: Doc) => r.group), [new Date().toISOString().slice(0, 10)]);
    assert.deepEqual(byDay.rows[0].models, [SONNET, HAIKU, MINI]);
    const byMonth = await reportJson(ctx, ["--by", "month", "--timezone", "UTC"]);
    assert.deepEqual(byMonth.rows.map((r: Doc) => r.group), [new Date().toISOString().slice(0, 7)]);
  }, "pflow-ledger-test-");
});

Deno.test("cost report --breakdown: a row per model under each group, summing to the group", async () => {
  await withLlm(async (ctx) => {
    await runJson(
      ctx,
      chain([llm("a", SONNET, SONNET_USAGE), llm("b", MINI, MINI_USAGE), llm("c", SONNET, SONNET_USAGE)]),
    );
    const doc = await reportJson(ctx, ["--by", "workflow", "--breakdown"]);
    const [row] = doc.rows;
    assert.deepEqual(row.breakdown.map((b: Doc) => [b.group, b.runs, b.llm_calls]), [[SONNET, 1, 2], [MINI, 1, 1]]);
    near(sum(row.breakdown, "cost_usd"), row.cost_usd, "breakdown cost");
    assert.equal(sum(row.breakdown, "input_tokens"), row.input_tokens);
    const plain = await reportJson(ctx, ["--by", "workflow"]);
    assert.equal(plain.rows[0].breakdown, undefined, "no breakdown without --breakdown");
    const text = await cost(ctx, ["report", "--by", "workflow", "--breakdown"], PLAIN_ENV);
    assertExit(text, 0);
    assert.match(text.stdout, /^ {2}└ anthropic\/claude-sonnet-4-5 +1 +2 +/m);
    assert.match(text.stdout, /^ {2}└ openai\/gpt-4o-mini +1 +1 +/m);
  });
});

// ---------------------------------------------------------------- time zones and dates

Deno.test("a run at 23:30 UTC lands on its UTC day, and on the next day in Asia/Tokyo", async () => {
  await withLlm(async (ctx) => {
    const doc = await runJson(ctx, chain([llm("a", SONNET, SONNET_USAGE)]));
    setRunStart(ctx.home, doc.execution_id, Date.UTC(2025, 2, 11, 23, 30));
    const utc = await reportJson(ctx, ["--timezone", "UTC"]);
    assert.deepEqual(utc.rows.map((r: Doc) => r.group), ["2025-03-11"]);
    assert.equal(utc.timezone, "UTC");
    const tokyo = await reportJson(ctx, ["--timezone", "Asia/Tokyo"]);
    assert.deepEqual(tokyo.rows.map((r: Doc) => r.group), ["2025-03-12"]);
    near(tokyo.rows[0].cost_usd, SONNET_COST, "cost");
    // Filters use the same zone: Tokyo's 2025-03-12 holds it, UTC's 2025-03-12 does not.
    const since = await reportJson(ctx, ["--timezone", "Asia/Tokyo", "--since", "2025-03-12", "--until", "20250312"]);
    assert.equal(since.rows.length, 1);
    assert.equal(since.since, "2025-03-11T15:00:00.000Z");
    assert.equal(since.until, "2025-03-12T14:59:59.999Z");
    const utcDay = await reportJson(ctx, ["--timezone", "UTC", "--since", "2025-03-12"]);
    assert.equal(utcDay.rows.length, 0);
    // The default zone is the local one (TZ).
    const local = await cost(ctx, ["report", "--json"], { TZ: "America/Los_Angeles" });
    assert.equal(JSON.parse(local.stdout).timezone, "America/Los_Angeles");
    assert.deepEqual(JSON.parse(local.stdout).rows.map((r: Doc) => r.group), ["2025-03-11"]);
  });
});

Deno.test("days, weeks and months across DST changes: Europe/Berlin and America/New_York", async () => {
  await withLlm(async (ctx) => {
    const at = [
      Date.UTC(2025, 2, 29, 23, 30), // Berlin: 00:30 CET, Sunday 30 March (DST starts 01:00 UTC)
      Date.UTC(2025, 2, 30, 22, 30), // Berlin: 00:30 CEST, Monday 31 March (a new ISO week)
      Date.UTC(2025, 9, 26, 22, 30), // Berlin: 23:30 CET, Sunday 26 October (DST ended 01:00 UTC)
      Date.UTC(2025, 10, 2, 4, 30), // Berlin: 05:30 CET, Sunday 2 November; New York: 00:30 EDT the same day
    ];
    for (const ms of at) {
      const doc = await runJson(ctx, chain([llm("a", HAIKU, HAIKU_USAGE)]));
      setRunStart(ctx.home, doc.execution_id, ms);
    }
    const days = await reportJson(ctx, ["--timezone", "Europe/Berlin"]);
    assert.deepEqual(days.rows.map((r: Doc) => r.group), ["2025-03-30", "2025-03-31", "2025-10-26", "2025-11-02"]);
    const weeks = await reportJson(ctx, ["--by", "week", "--timezone", "Europe/Berlin"]);
    assert.deepEqual(weeks.rows.map((r: Doc) => [r.group, r.runs]), [
      ["2025-03-24", 1],
      ["2025-03-31", 1],
      ["2025-10-20", 1],
      ["2025-10-27", 1],
    ]);
    const months = await reportJson(ctx, ["--by", "month", "--timezone", "Europe/Berlin"]);
    assert.deepEqual(months.rows.map((r: Doc) => [r.group, r.runs]), [["2025-03", 2], ["2025-10", 1], ["2025-11", 1]]);
    // 2025-11-02 04:30 UTC is 00:30 EDT (DST ends at 06:00 UTC that day); 2025-10-26 22:30 UTC is 18:30 EDT.
    const ny = await reportJson(ctx, ["--timezone", "America/New_York"]);
    assert.deepEqual(ny.rows.map((r: Doc) => r.group), ["2025-03-29", "2025-03-30", "2025-10-26", "2025-11-02"]);
  });
});

Deno.test("a run started in year 9999 (a valid inbox line) keeps day, week and month reports fast and exact", async () => {
  await withLlm(async (ctx) => {
    const lines = [Date.UTC(2026, 0, 1), Date.UTC(9999, 11, 31)].flatMap((startedMs, i) => {
      const run = { executionId: `run-${i}`, workflowName: "w", startedMs, pflowVersion: "0.1.0" };
      const end = {
        ...run,
        status: "success",
        subtype: "success",
        endedMs: startedMs + 1000,
        durationMs: 1000,
        nodesExecuted: 1,
      };
      return [{ v: 1, op: "start", run }, { v: 1, op: "end", run: end }].map((l) => JSON.stringify(l));
    });
    writeFileSync(join(ctx.home, "ledger-inbox.jsonl"), `${lines.join("\n")}\n`);
    const cases: [string, string[]][] = [
      ["day", ["2025-12-31", "9999-12-30"]],
      ["week", ["2025-12-29", "9999-12-27"]],
      ["month", ["2025-12", "9999-12"]],
    ];
    for (const [by, groups] of cases) {
      const started = performance.now();
      const doc = await reportJson(ctx, ["--by", by, "--timezone", "America/New_York"]);
      const ms = performance.now() - started;
      assert.ok(ms < 5000, `--by ${by}: ${ms.toFixed(0)} ms`);
      assert.deepEqual(doc.rows.map((r: Doc) => r.group), groups);
    }
  });
});

// ---------------------------------------------------------------- filters

Deno.test("filters: --workflow, --model (prefix, alias, dated snapshot, provider/*), --status, --phase, --since 24h", async () => {
  await withLlm(async (ctx) => {
    const a = await runJson(ctx, chain([llm("x", SONNET, SONNET_USAGE), llm("y", MINI, MINI_USAGE)]), "alpha.json");
    await runJson(ctx, chain([llm("z", `${SONNET}-20250929`, SONNET_USAGE)]), "beta.json");
    const failed = await runWorkflowFile(
      ctx,
      chain([
        llm("h", HAIKU, HAIKU_USAGE),
        { id: "boom", type: "shell", params: { command: "exit 3" } },
      ]),
      [],
      { name: "gamma.json" },
    );
    assertExit(failed, 1);
    const runsOf = async (args: string[]) =>
      (await reportJson(ctx, ["--by", "workflow", ...args])).rows.map((r: Doc) => r.group);
    assert.deepEqual(await runsOf(["--workflow", "alpha"]), ["alpha"]);
    assert.deepEqual(await runsOf(["--workflow", "nope"]), []);
    assert.deepEqual(await runsOf(["--model", SONNET]), ["alpha", "beta"], "dated snapshot matches its base");
    assert.deepEqual(await runsOf(["--model", "claude-sonnet-4-5"]), ["alpha", "beta"], "without provider");
    assert.deepEqual(await runsOf(["--model", "anthropic/sonnet"]), ["alpha", "beta"], "alias");
    assert.deepEqual(await runsOf(["--model", `${SONNET}-20250929`]), ["beta"], "a snapshot names itself");
    assert.deepEqual(await runsOf(["--model", "openai/*"]), ["alpha"]);
    assert.deepEqual(await runsOf(["--model", "gpt-5"]), [], "no prefix match across models");
    const model = await reportJson(ctx, ["--by", "model", "--model", "claude-sonnet-4-5"]);
    assert.deepEqual(model.filters.models_matched.sort(), [SONNET, `${SONNET}-20250929`]);
    assert.deepEqual(model.rows.map((r: Doc) => r.group).sort(), [SONNET, `${SONNET}-20250929`]);
    const alphaSonnet = await reportJson(ctx, ["--by", "workflow", "--model", SONNET, "--workflow", "alpha"]);
    near(alphaSonnet.totals.cost_usd, SONNET_COST, "alpha's sonnet calls");
    assert.equal(alphaSonnet.totals.runs, 1);
    assert.deepEqual(await runsOf(["--status", "failed"]), ["gamma"]);
    assert.deepEqual((await runsOf(["--status", "success,failed"])).sort(), ["alpha", "beta", "gamma"]);
    assert.deepEqual(await runsOf(["--phase", "planner"]), []);
    assert.deepEqual((await runsOf(["--phase", "workflow"])).sort(), ["alpha", "beta", "gamma"]);
    assert.equal((await runsOf(["--since", "24h"])).length, 3);
    setRunStart(ctx.home, a.execution_id, Date.now() - 3 * 86_400_000);
    assert.deepEqual((await runsOf(["--since", "2d"])).sort(), ["beta", "gamma"]);
    assert.deepEqual(await runsOf(["--until", "2d"]), ["alpha"]);
    assert.deepEqual((await runsOf(["--since", "1w"])).sort(), ["alpha", "beta", "gamma"]);
  });
});

// ---------------------------------------------------------------- repricing

Deno.test("cost report --reprice keeps a call of unknown usage out of the repriced total: incomplete, never $0, not unpriced", async () => {
  await withLlm(async (ctx) => {
    writeSettings(ctx, { providers: { local: { base_url: `${ctx.srv.url}/v1` } } });
    await runJson(
      ctx,
      chain([
        llm("a", MINI, MINI_USAGE),
        {
          id: "n",
          type: "llm",
          params: { model: MINI, prompt: "hi [[no-usage]]" },
        },
        llm("l", "local/llama", { prompt_tokens: 700, completion_tokens: 50 }),
        {
          id: "m",
          type: "llm",
          params: { model: "local/llama", prompt: "hi [[no-usage]]" },
        },
      ]),
    );
    const repriced = await reportJson(ctx, ["--by", "model", "--reprice"]);
    const row = repriced.rows.find((r: Doc) => r.group === MINI);
    assert.equal(row.llm_calls, 2);
    assert.equal(row.cost_complete, false);
    assert.equal(row.unpriced_calls, 0, "gpt-4o-mini has a price");
    assert.equal(row.usage_missing_calls, 1);
    assert.deepEqual(row.unpriced_models, []);
    near(row.repriced_cost_usd, MINI_COST, "the call with usage, repriced");
    assert.equal(row.repriced_complete, false);
    assert.equal(row.repriced_unpriced_calls, 0, "the table prices it: its call without usage is not unpriced");
    // A model the table does not price: only its call with usage is unpriced.
    const local = repriced.rows.find((r: Doc) => r.group === "local/llama");
    assert.equal(local.unpriced_calls, 1);
    assert.equal(local.usage_missing_calls, 1);
    assert.equal(local.repriced_unpriced_calls, 1);
    assert.equal(local.repriced_cost_usd, null);
    assert.deepEqual(repriced.unpriced_models, [{ model: "local/llama", calls: 1 }]);
    assert.deepEqual(repriced.usage_missing_models, [{ model: "local/llama", calls: 1 }, { model: MINI, calls: 1 }]);
    assert.deepEqual(repriced.price_table.unpriced_models, ["local/llama"]);
    const byRun = await reportJson(ctx, ["--by", "run", "--reprice"]);
    assert.equal(byRun.rows[0].repriced_complete, false);
    assert.equal(byRun.rows[0].repriced_unpriced_calls, 1);
    assert.equal(byRun.rows[0].usage_missing_calls, 2);
    assert.equal(byRun.totals.repriced_complete, false);
    assert.equal(byRun.totals.repriced_unpriced_calls, 1);
  });
});

Deno.test("a stream cut off before its final usage: its counts so far are no token of any total, and --reprice gives them no cost", async () => {
  await withLlm(async (ctx) => {
    // Each stream is cut off after message_start (100,000 input tokens reported so far; 250,000 in the second
    // run: above the long-context threshold), then retried to completion: 1,000 in, 100 out ($0.0045).
    const docs: Doc[] = [];
    for (const input of [100_000, 250_000]) {
      ctx.srv.enqueue(
        { text: "half", truncate: true, usage: { input_tokens: input, output_tokens: 50 } },
        { text: "ok", usage: { input_tokens: 1000, output_tokens: 100 } },
      );
      const wf = chain([{ id: "cut", type: "llm", params: { model: SONNET, stream: true, prompt: "hi" } }]);
      docs.push(await runJson(ctx, wf, "cut.json", ["--trace"]));
    }
    for (const doc of docs) {
      assert.equal(doc.pricing.usage_missing.length, 1);
      near(doc.total_cost_usd, 0.0045, "the complete call");
      assert.deepEqual(
        [doc.usage.input_tokens, doc.usage.output_tokens, doc.modelUsage[SONNET].inputTokens],
        [1000, 100, 1000],
        "the cut-off call's tokens are unknown: not in the run's usage",
      );
      const { trace } = parseTraceText(readFileSync(doc.trace_path, "utf8"));
      const calls = trace.events.flatMap((e) => e.llm_calls ?? []);
      assert.equal(calls[0].usage.usage_missing, true);
      assert.ok(calls[0].usage.input_tokens >= 100_000, "its counts so far stay in its trace record");
      assert.equal(trace.llm_totals?.tokens, 1100, "the trace footer counts the complete call's tokens");
      const show = await runPflow(["trace", "show", doc.trace_path], { env: { ...ctx.env, ...PLAIN_ENV } });
      assertExit(show, 0);
      assert.match(show.stdout, /^\S+ · ✓ success · .* · \$0\.0045\+ · 1,100 tokens · 2 LLM calls/);
      assert.match(show.stdout, /\n +✓ cut .* 1,100 tokens · \$0\.0045\+/);
    }
    for (const by of ["day", "model", "node", "run"]) {
      const doc = await reportJson(ctx, ["--by", by, "--reprice"]);
      assert.equal(doc.totals.input_tokens, 2000, `--by ${by}: input of the calls with usage`);
      assert.equal(doc.totals.output_tokens, 100 * 2, `--by ${by}: output`);
      assert.equal(doc.totals.usage_missing_calls, 2);
      near(doc.totals.cost_usd, 0.009, `--by ${by}: recorded`);
      near(doc.totals.repriced_cost_usd, 0.009, `--by ${by}: repriced with the same prices, the same`);
      assert.equal(doc.totals.repriced_complete, false);
      for (const row of doc.rows) near(row.repriced_cost_usd, row.cost_usd, `--by ${by}: ${row.group}`);
    }
    const text = await cost(ctx, ["report", "--by", "node", "--reprice"], { ...PLAIN_ENV, COLUMNS: "200" });
    assertExit(text, 0);
    assert.match(text.stdout, /\ncut\/cut +2 +4 +2,000 .* \$0\.0090\+ +\$0\.0090\+ +0\.0%\n/);
    const db = openDb(ctx.home);
    try {
      assert.deepEqual(
        db.prepare("SELECT input_tokens + output_tokens AS n FROM calls WHERE usage_missing = 1").all().map((r) =>
          Number(r.n)
        ),
        [0, 0],
        "stored as 0: unknown",
      );
    } finally {
      db.close();
    }
  });
});

Deno.test("a token count of 2^53 or more is unknown usage: the run, cost show, cost report and metrics keep working", async () => {
  await withLlm(async (ctx) => {
    // JSON.parse makes 9007199254740993 the number 2^53, which no SQLite integer reads back as a number.
    const huge = { prompt_tokens: 9007199254740993, completion_tokens: 10 };
    const doc = await runJson(ctx, chain([llm("a", MINI, MINI_USAGE), llm("b", MINI, huge)]));
    assert.deepEqual(doc.pricing.usage_missing.map((c: Doc) => c.node_id), ["b"]);
    assert.equal(doc.pricing.complete, false);
    near(doc.total_cost_usd, MINI_COST, "the call whose usage is known");
    assert.equal(doc.usage.input_tokens, 1000, "no token of the other");
    const show = await cost(ctx, ["show", "latest", "--json"]);
    assertExit(show, 0);
    const totals = JSON.parse(show.stdout).totals;
    assert.deepEqual([totals.llm_calls, totals.input_tokens, totals.cost_complete], [2, 1000, false]);
    for (const args of [["show", "latest"], ["report", "--by", "run"], ["report", "--by", "model", "--reprice"]]) {
      const result = await cost(ctx, args, PLAIN_ENV);
      assertExit(result, 0);
      assert.match(result.stdout, /\$0\.00040\+/, args.join(" "));
    }
    const metrics = await runPflow(["metrics"], { env: ctx.env });
    assertExit(metrics, 0);
    assert.match(metrics.stdout, /^pflow_llm_usage_missing_calls_total\{provider="openai",model="gpt-4o-mini"\} 1$/m);
  });
});

Deno.test("cost report --reprice prices a call as its run did: by the model the provider reported when the requested one has no price", async () => {
  await withLlm(async (ctx) => {
    // A model no table prices, answered as gpt-4o-mini (priced by its reported name at run time).
    ctx.srv.enqueue({ text: "ok", usage: MINI_USAGE, model: "gpt-4o-mini-2024-07-18" });
    const doc = await runJson(
      ctx,
      chain([{ id: "n", type: "llm", params: { model: "openai/gpt-9-turbo", prompt: "hi" } }]),
    );
    near(doc.total_cost_usd, MINI_COST, "priced by the reported model");
    assert.equal(doc.pricing.complete, true);
    const repriced = await reportJson(ctx, ["--by", "model", "--reprice"]);
    const row = repriced.rows.find((r: Doc) => r.group === "openai/gpt-9-turbo");
    near(row.repriced_cost_usd, MINI_COST, "repriced by the reported model");
    assert.equal(row.repriced_complete, true);
    assert.deepEqual(repriced.price_table.unpriced_models, []);
    const text = await cost(ctx, ["report", "--by", "model", "--reprice"], PLAIN_ENV);
    assertExit(text, 0);
    assert.doesNotMatch(text.stdout, /not in that table/);
  });
});

Deno.test("cost report --reprice prices a model unpriced when it ran by the model its provider reported, once a table prices that", async () => {
  await withLlm(async (ctx) => {
    // Neither the model asked for nor the one that answered has a price when it runs.
    ctx.srv.enqueue({ text: "ok", usage: MINI_USAGE, model: "gpt-9-mini-2026-01-15" });
    const doc = await runJson(
      ctx,
      chain([{ id: "n", type: "llm", params: { model: "openai/gpt-9-turbo", prompt: "hi" } }]),
    );
    assert.deepEqual(doc.pricing.unpriced_models, ["openai/gpt-9-turbo"]);
    // gpt-9-mini at gpt-4o-mini's prices: (1200-200)*0.15 + 200*0.075 + 400*0.6 = 405 µ$.
    const prices = "models:\n  openai/gpt-9-mini:\n    input: 0.15\n    output: 0.60\n    cache_read: 0.075\n";
    const table = writePriceTable(ctx, "gpt9.yaml", prices);
    const check = async (args: string[], what: string) => {
      const repriced = await reportJson(ctx, ["--by", "model", "--reprice", ...args]);
      const row = repriced.rows.find((r: Doc) => r.group === "openai/gpt-9-turbo");
      assert.equal(row.cost_usd, null, `${what}: unpriced when it ran`);
      near(row.repriced_cost_usd, MINI_COST, `${what}: repriced by the reported model`);
      assert.equal(row.repriced_complete, true, what);
      assert.deepEqual(repriced.price_table.unpriced_models, [], what);
    };
    await check(["--price-table", table], "--price-table");
    // The same once PFLOW_HOME/pricing.yaml prices it (a price update after the run).
    writeFileSync(join(ctx.home, "pricing.yaml"), prices);
    await check([], "PFLOW_HOME/pricing.yaml");
  });
});

Deno.test("cost report --reprice: a rejected request (no tokens) stays $0 for a model the table does not price, never unpriced", async () => {
  await withLlm(async (ctx) => {
    const rejected = (model: string) => chain([{ id: "r", type: "llm", params: { model, prompt: "[[fail:400]] x" } }]);
    assertExit(await runWorkflowFile(ctx, rejected("openai/unknown-x"), [], { name: "rejected.json" }), 1);
    await runJson(ctx, chain([llm("m", MINI, { prompt_tokens: 1000, completion_tokens: 100 })]));
    const doc = await reportJson(ctx, ["--by", "model", "--reprice"]);
    const row = doc.rows.find((r: Doc) => r.group === "openai/unknown-x");
    assert.equal(row.cost_usd, 0);
    assert.equal(row.cost_complete, true);
    assert.equal(row.repriced_cost_usd, 0, "the same table: the same $0");
    assert.equal(row.repriced_complete, true);
    assert.equal(row.repriced_unpriced_calls, 0);
    assert.equal(doc.totals.repriced_complete, true);
    assert.equal(doc.totals.repriced_unpriced_calls, 0);
    near(doc.totals.repriced_cost_usd, doc.totals.cost_usd, "repriced with the table it was priced with");
    assert.deepEqual(doc.price_table.unpriced_models, []);
    const text = await cost(ctx, ["report", "--by", "model", "--reprice"], PLAIN_ENV);
    assertExit(text, 0);
    assert.doesNotMatch(text.stdout, /unpriced|not in that table|≥|\$[0-9.]+\+/);

    // A call of that model with tokens is unpriced; its rejected request still is not, in every grouping.
    await runJson(ctx, chain([llm("u", "openai/unknown-x", { prompt_tokens: 10, completion_tokens: 5 })]));
    for (const by of ["model", "day", "workflow", "node", "run"]) {
      const report = await reportJson(ctx, ["--by", by, "--reprice"]);
      assert.equal(report.totals.repriced_unpriced_calls, 1, `--by ${by}`);
      assert.equal(report.totals.repriced_unpriced_calls, report.totals.unpriced_calls, `--by ${by}: as recorded`);
      assert.deepEqual(report.price_table.unpriced_models, ["openai/unknown-x"], `--by ${by}`);
    }
    const byModel = await reportJson(ctx, ["--by", "model", "--reprice"]);
    const unknown = byModel.rows.find((r: Doc) => r.group === "openai/unknown-x");
    assert.equal(unknown.llm_calls, 2);
    assert.equal(unknown.repriced_unpriced_calls, 1);
    const byRun = await reportJson(ctx, ["--by", "run", "--reprice"]);
    assert.equal(byRun.rows[0].repriced_complete, true, "the rejected request's run");
    assert.equal(byRun.rows[0].repriced_cost_usd, 0);

    // A model priced by the model its provider reported: a rejected request of it (no reported model) does not
    // make it unpriced.
    ctx.srv.enqueue({ text: "ok", usage: MINI_USAGE, model: "gpt-4o-mini-2024-07-18" });
    await runJson(ctx, chain([llm("t", "openai/gpt-9-turbo", MINI_USAGE)]));
    assertExit(await runWorkflowFile(ctx, rejected("openai/gpt-9-turbo"), [], { name: "rejected.json" }), 1);
    const reported = (await reportJson(ctx, ["--by", "model", "--reprice"])).rows
      .find((r: Doc) => r.group === "openai/gpt-9-turbo");
    assert.equal(reported.llm_calls, 2);
    assert.equal(reported.cost_complete, true);
    near(reported.repriced_cost_usd, MINI_COST, "priced by the reported model, the rejected request $0");
    assert.equal(reported.repriced_complete, true);
    assert.equal(reported.repriced_unpriced_calls, 0);
  });
});

Deno.test("cost report --reprice: recorded and repriced side by side; the long-context tier per request", async () => {
  await withLlm(async (ctx) => {
    const long = { input_tokens: 250_000, output_tokens: 1000 };
    const short = { input_tokens: 100_000, output_tokens: 1000 };
    const doc = await runJson(
      ctx,
      chain([llm("big", SONNET, long), llm("small", SONNET, short), llm("m", MINI, MINI_USAGE)]),
    );
    // Recorded: big (above 200k: tier 6 in / 22.5 out) = 250000*6 + 1000*22.5 = 1,522,500 µ$;
    // small (base 3/15) = 300,000 + 15,000 = 315,000 µ$; mini 405 µ$.
    near(doc.total_cost_usd, 1.5225 + 0.315 + MINI_COST, "recorded by the run");
    const table = writePriceTable(
      ctx,
      "new-prices.yaml",
      `version: "2026-01-01"
models:
  anthropic/claude-sonnet-4-5:
    input: 2
    output: 10
    tiers:
      - above_input_tokens: 150000
        input: 4
        output: 20
`,
    );
    const repriced = await reportJson(ctx, ["--by", "model", "--reprice", "--price-table", table]);
    assert.equal(repriced.price_table.version, "2026-01-01");
    assert.equal(repriced.price_table.repriced, true);
    const sonnet = repriced.rows.find((r: Doc) => r.group === SONNET);
    near(sonnet.cost_usd, 1.5225 + 0.315, "recorded");
    // big: 250000*4 + 1000*20 = 1,020,000 µ$; small (below 150k): 100000*2 + 1000*10 = 210,000 µ$.
    near(sonnet.repriced_cost_usd, 1.02 + 0.21, "repriced, tier per request");
    const mini = repriced.rows.find((r: Doc) => r.group === MINI);
    near(mini.repriced_cost_usd, MINI_COST, "a model the file leaves alone keeps its shipped price");
    near(repriced.totals.repriced_cost_usd, 1.23 + MINI_COST, "total repriced");
    near(repriced.totals.cost_usd, doc.total_cost_usd, "total recorded");
    const text = await cost(ctx, ["report", "--by", "model", "--reprice", "--price-table", table], PLAIN_ENV);
    assertExit(text, 0);
    assert.match(text.stdout, /RECORDED +REPRICED +CHANGE/);
    assert.match(text.stdout, /anthropic\/claude-sonnet-4-5 .* \$1\.84 +\$1\.23 +-33\.1%/);
    assert.match(text.stdout, /repriced with price table 2026-01-01/);
    for (const by of ["day", "workflow", "node", "run"]) {
      const d = await reportJson(ctx, ["--by", by, "--reprice", "--price-table", table]);
      near(d.totals.repriced_cost_usd, 1.23 + MINI_COST, `--by ${by} repriced`);
      near(sum(d.rows, "repriced_cost_usd"), 1.23 + MINI_COST, `--by ${by} rows`);
    }
  });
});

Deno.test("--reprice: 1-hour cache writes priced apart, a long request at its tier, from the rollup; a version-3 ledger migrates", async () => {
  await withLlm(async (ctx) => {
    // 150,000 + 60,000 + 3,000 = 213,000 input tokens: above Sonnet's 200,000 threshold.
    const long = {
      input_tokens: 150_000,
      output_tokens: 1000,
      cache_read_input_tokens: 60_000,
      cache_creation_input_tokens: 3000,
      cache_creation: { ephemeral_5m_input_tokens: 1000, ephemeral_1h_input_tokens: 2000 },
    };
    const doc = await runJson(ctx, chain([llm("cached", SONNET, SONNET_USAGE), llm("long", SONNET, long)]));
    // Shipped tier: 150000*6 + 60000*0.6 + 1000*7.5 + 2000*12 + 1000*22.5 = 990,000 µ$.
    near(doc.total_cost_usd, SONNET_COST + 0.99, "recorded by the run");
    const table = writePriceTable(
      ctx,
      "cache-prices.yaml",
      `version: "2026-02-01"
models:
  anthropic/claude-sonnet-4-5:
    input: 2
    output: 10
    cache_read: 0.2
    cache_write_5m: 2.5
    cache_write_1h: 4
    tiers:
      - above_input_tokens: 200000
        input: 4
        output: 20
        cache_read: 0.4
        cache_write_5m: 5
        cache_write_1h: 8
`,
    );
    // cached: 1000*2 + 2000*0.2 + 100*2.5 + 200*4 + 500*10 = 8,450 µ$;
    // long: 150000*4 + 60000*0.4 + 1000*5 + 2000*8 + 1000*20 = 665,000 µ$.
    const expected = 0.00845 + 0.665;
    const check = async (what: string) => {
      for (const by of ["day", "model", "workflow", "node", "run"]) {
        const d = await reportJson(ctx, ["--by", by, "--reprice", "--price-table", table]);
        near(d.totals.repriced_cost_usd, expected, `${what}: --by ${by} total`);
        near(sum(d.rows, "repriced_cost_usd"), expected, `${what}: --by ${by} rows`);
        near(d.totals.cost_usd, doc.total_cost_usd, `${what}: --by ${by} recorded`);
      }
      const node = await reportJson(ctx, ["--by", "node", "--reprice", "--price-table", table]);
      near(node.rows.find((r: Doc) => r.node === "cached").repriced_cost_usd, 0.00845, `${what}: the cached node`);
      near(node.rows.find((r: Doc) => r.node === "long").repriced_cost_usd, 0.665, `${what}: the long node`);
    };
    await check("version 4");
    // The same rows as a version-3 ledger had them (no 1-hour writes in the rollup, no request-input index).
    const db = openDb(ctx.home);
    try {
      for (
        const index of ["calls_request_input", "usage_by_model", "usage_by_node", "usage_by_time", "usage_metrics"]
      ) {
        db.exec(`DROP INDEX ${index}`);
      }
      db.exec("ALTER TABLE usage DROP COLUMN cache_write_1h_tokens");
      // … nor version 5's columns (the metrics index as version 3 made it).
      // … nor version 6's per-model node executions, nor version 8's index of calls with a reported cost.
      db.exec("ALTER TABLE usage DROP COLUMN model_executions");
      db.exec("DROP INDEX calls_reported");
      db.exec("ALTER TABLE usage DROP COLUMN usage_missing_calls");
      db.exec("ALTER TABLE calls DROP COLUMN usage_missing");
      db.exec("DROP INDEX runs_running");
      for (const column of ["pid", "host", "process_start"]) db.exec(`ALTER TABLE runs DROP COLUMN ${column}`);
      db.exec(`CREATE INDEX usage_metrics ON usage(model, started_ms, calls, errors, input_tokens, cache_read_tokens,
        cache_write_tokens, output_tokens, reasoning_tokens, cost_usd, unpriced_calls, timed_calls, duration_ms_sum,
        ${bucketColumns("ld", BUCKETS.llm).join(", ")})`);
      db.exec("PRAGMA user_version = 3");
    } finally {
      db.close();
    }
    await check("migrated from version 3");
    // Repricing reads the rollup, and call rows only for requests above a threshold: a call row below
    // every threshold can go without changing the figures (over a million calls, this is what keeps
    // --reprice as fast as the report).
    const raw = openDb(ctx.home);
    try {
      const gone = raw.prepare("DELETE FROM calls WHERE input_tokens < 100000").run();
      assert.equal(gone.changes, 1);
    } finally {
      raw.close();
    }
    await check("below-threshold call rows not read");
  });
});

// ---------------------------------------------------------------- unpriced models

Deno.test("unpriced models: tokens counted, cost shown with + and named in a note, never $0", async () => {
  await withLlm(async (ctx) => {
    writeSettings(ctx, { providers: { local: { base_url: `${ctx.srv.url}/v1` } } });
    const usage = { prompt_tokens: 700, completion_tokens: 50 };
    await runJson(ctx, chain([llm("a", SONNET, SONNET_USAGE), llm("b", "local/llama", usage)]), "mixed.json");
    await runJson(ctx, chain([llm("c", "local/llama", usage)]), "local-only.json");
    const doc = await reportJson(ctx, ["--by", "workflow"]);
    assert.deepEqual(doc.unpriced_models, [{ model: "local/llama", calls: 2 }]);
    const mixed = doc.rows.find((r: Doc) => r.group === "mixed");
    near(mixed.cost_usd, SONNET_COST, "priced part");
    assert.equal(mixed.cost_complete, false);
    assert.equal(mixed.unpriced_calls, 1);
    assert.equal(mixed.usage_missing_calls, 0);
    assert.deepEqual(mixed.unpriced_models, ["local/llama"]);
    assert.deepEqual(doc.usage_missing_models, []);
    assert.equal(mixed.input_tokens, 1000 + 700);
    const localOnly = doc.rows.find((r: Doc) => r.group === "local-only");
    assert.equal(localOnly.cost_usd, null, "unpriced, not $0");
    assert.equal(doc.totals.cost_complete, false);
    const text = await cost(ctx, ["report", "--by", "workflow"], PLAIN_ENV);
    assertExit(text, 0);
    assert.match(text.stdout, /^mixed .* \$0\.0127\+$/m);
    assert.match(text.stdout, /^local-only .* unpriced$/m);
    assert.match(text.stdout, /^Total .* \$0\.0127\+$/m);
    assert.match(
      text.stdout,
      /^\+ cost leaves out calls of a model without a price: local\/llama \(2 calls\) \(add its price to PFLOW_HOME\/pricing\.yaml\)$/m,
    );
    assert.doesNotMatch(text.stdout, /usage was not reported/, "no call lacked usage");
    assert.doesNotMatch(text.stdout, /\$0(?![.\d])/);
  });
});

// ---------------------------------------------------------------- top, JSON, Markdown, show

Deno.test("--top N: the most expensive runs and nodes", async () => {
  await withLlm(async (ctx) => {
    const cheap = await runJson(ctx, chain([llm("a", HAIKU, HAIKU_USAGE)]), "cheap.json");
    const dear = await runJson(ctx, chain([llm("b", SONNET, SONNET_USAGE), llm("c", MINI, MINI_USAGE)]), "dear.json", [
      "--trace",
    ]);
    const doc = await reportJson(ctx, ["--top", "2"]);
    assert.deepEqual(doc.top_runs.map((r: Doc) => r.execution_id), [dear.execution_id, cheap.execution_id]);
    assert.equal(doc.top_runs[0].workflow, "dear");
    assert.equal(doc.top_runs[0].status, "success");
    near(doc.top_runs[0].cost_usd, SONNET_COST + MINI_COST, "top run cost");
    assert.equal(doc.top_runs[0].trace_file, dear.trace_path);
    assert.ok(existsSync(doc.top_runs[0].trace_file));
    assert.equal(doc.top_runs[1].trace_file, null);
    assert.deepEqual(doc.top_nodes.map((n: Doc) => [n.workflow, n.node, n.executions]), [["dear", "b", 1], [
      "cheap",
      "a",
      1,
    ]]);
    const one = await reportJson(ctx, ["--top", "1"]);
    assert.equal(one.top_runs.length, 1);
    const text = await cost(ctx, ["report", "--top", "2"], PLAIN_ENV);
    assertExit(text, 0);
    assert.match(text.stdout, /^Top 2 runs$/m);
    assert.match(
      text.stdout,
      new RegExp(
        `^\\S+ \\S+ +${dear.execution_id.slice(0, 8)} +dear +✓ success +\\$0\\.0131 +${dear.trace_path}$`,
        "m",
      ),
    );
    assert.match(text.stdout, /^Top 2 nodes$/m);
    assert.match(text.stdout, /^dear\/b +1 +1 +\$0\.0127$/m);
  });
});

Deno.test("--json has the documented fields; --format md writes the Markdown report atomically with -o", async () => {
  await withLlm(async (ctx) => {
    await runJson(ctx, chain([llm("a", SONNET, SONNET_USAGE), llm("b", MINI, MINI_USAGE)]), "alpha.json");
    const doc = await reportJson(ctx, ["--since", "7d"]);
    assert.deepEqual(Object.keys(doc), [
      "since",
      "until",
      "timezone",
      "group_by",
      "filters",
      "rows",
      "totals",
      "unpriced_models",
      "usage_missing_models",
      "price_table",
    ]);
    assert.deepEqual(Object.keys(doc.rows[0]), [
      "group",
      "runs",
      "llm_calls",
      "input_tokens",
      "cache_write_tokens",
      "cache_read_tokens",
      "output_tokens",
      "reasoning_tokens",
      "total_tokens",
      "cost_usd",
      "cost_complete",
      "unpriced_calls",
      "usage_missing_calls",
      "models",
      "unpriced_models",
    ]);
    assert.deepEqual(doc.price_table, { version: "2025-11-15", source: "builtin", repriced: false });
    assert.equal(typeof doc.since, "string");
    assert.equal(doc.until, null);
    const out = join(ctx.dir, "reports", "cost.md");
    mkdirSync(join(ctx.dir, "reports"));
    const md = await cost(ctx, ["report", "--format", "md", "-o", out]);
    assertExit(md, 0);
    assert.equal(md.stdout, "");
    assert.match(md.stderr, /Report written: .*cost\.md/);
    const text = readFileSync(out, "utf8");
    assert.match(text, /^# pflow cost report$/m);
    assert.match(text, /^## Totals$/m);
    assert.match(text, /^\| 1 \| 2 \| 2,000 \| 300 \| 2,200 \| 900 \| 5,400 \| \$0\.0131 \|$/m);
    assert.match(text, /^## By model$/m);
    assert.match(text, /^\| anthropic\/claude-sonnet-4-5 \| 1 \| 1 \|/m);
    assert.match(text, /^## By workflow$/m);
    assert.match(text, /^\| alpha \| 1 \| 2 \|/m);
    assert.match(text, /^## Top 10 runs$/m);
    assert.match(text, /^## Top 10 nodes$/m);
    assert.match(text, /^\| alpha\/a \| 1 \| 1 \| \$0\.0127 \|$/m);
    assert.ok(!text.includes(ANSI), "no colour in a file");
    assert.deepEqual(readdirSync(join(ctx.dir, "reports")), ["cost.md"], "no temp file left");
    const json = await cost(ctx, ["report", "--json", "-o", join(ctx.dir, "reports", "cost.json")]);
    assertExit(json, 0);
    assert.equal(JSON.parse(readFileSync(join(ctx.dir, "reports", "cost.json"), "utf8")).group_by, "day");
  });
});

Deno.test("cost show: one run by phase, node and model, with its trace file; latest and prefixes", async () => {
  await withLlm(async (ctx) => {
    const first = await runJson(ctx, chain([llm("a", HAIKU, HAIKU_USAGE)]), "one.json");
    const second = await runJson(ctx, chain([llm("a", SONNET, SONNET_USAGE), llm("b", MINI, MINI_USAGE)]), "two.json", [
      "--trace",
    ]);
    const latest = await cost(ctx, ["show", "--json"]);
    assertExit(latest, 0);
    const doc = JSON.parse(latest.stdout);
    assert.equal(doc.run.execution_id, second.execution_id);
    assert.equal(doc.run.workflow, "two");
    assert.equal(doc.run.status, "success");
    assert.equal(doc.run.subtype, "success");
    assert.equal(doc.run.trace_file, second.trace_path);
    assert.equal(doc.run.trace_id.length, 32);
    assert.equal(doc.run.nodes_executed, 2);
    assert.equal(doc.run.price_version, "2025-11-15");
    assert.equal(doc.run.pricing_complete, true);
    assert.ok(doc.run.workflow_file.endsWith("two.json"));
    const sha256 = createHash("sha256").update(readFileSync(doc.run.workflow_file)).digest("hex");
    assert.equal(doc.run.workflow_hash, `sha256:${sha256}`, "the same as sha256sum FILE");
    assert.deepEqual(doc.rows.map((r: Doc) => [r.phase, r.node, r.model, r.executions, r.llm_calls]), [
      ["workflow", "a", SONNET, 1, 1],
      ["workflow", "b", MINI, 1, 1],
    ]);
    near(doc.totals.cost_usd, second.total_cost_usd, "run total");
    const byPrefix = await cost(ctx, ["show", first.execution_id.slice(0, 8), "--json"]);
    assertExit(byPrefix, 0);
    assert.equal(JSON.parse(byPrefix.stdout).run.execution_id, first.execution_id);
    const text = await cost(ctx, ["show", second.execution_id], PLAIN_ENV);
    assertExit(text, 0);
    assert.match(text.stdout, new RegExp(`^Run ${second.execution_id} · two · ✓ success$`, "m"));
    assert.match(text.stdout, new RegExp(`^trace: ${second.trace_path}$`, "m"));
    assert.match(text.stdout, /^workflow +a +anthropic\/claude-sonnet-4-5 +1 +1 /m);
    assert.match(text.stdout, /^Total +2 +2,000 +300 +2,200 +900 +\$0\.0131$/m);
  });
});

Deno.test("a node execution that calls two models counts for each model, and once across models", async () => {
  await withLlm(async (ctx) => {
    // One execution of a batch node whose items call Haiku, gpt-4o-mini, gpt-4o and gpt-4o-mini again.
    const wf = workflow([{
      id: "many",
      type: "llm",
      batch: { items: [HAIKU, MINI, "openai/gpt-4o", MINI] },
      params: { model: "${item}", prompt: "[[reply:ok]] hello" },
    }], { name: "multi" });
    await runJson(ctx, wf, "multi.json");
    await runJson(ctx, wf, "multi.json");
    const show = await cost(ctx, ["show", "--json"]);
    assertExit(show, 0);
    const rows = JSON.parse(show.stdout).rows;
    assert.deepEqual(rows.map((r: Doc) => [r.model, r.executions, r.llm_calls]).sort(), [
      [HAIKU, 1, 1],
      ["openai/gpt-4o", 1, 1],
      [MINI, 1, 2],
    ]);
    const text = await cost(ctx, ["show"], PLAIN_ENV);
    assert.match(text.stdout, /^workflow +many +openai\/gpt-4o-mini +1 +2 /m);
    const byNode = await reportJson(ctx, ["--by", "node", "--breakdown"]);
    assert.deepEqual(byNode.rows.map((r: Doc) => [r.group, r.runs, r.executions, r.llm_calls]), [
      ["multi/many", 2, 2, 8],
    ]);
    assert.deepEqual(
      byNode.rows[0].breakdown.map((b: Doc) => [b.group, b.executions, b.llm_calls]).sort(),
      [[HAIKU, 2, 2], ["openai/gpt-4o", 2, 2], [MINI, 2, 4]],
    );
    // A model that was not its first call's: its executions still count.
    const mini = await reportJson(ctx, ["--by", "node", "--model", "gpt-4o-mini", "--top", "3"]);
    assert.deepEqual(mini.rows.map((r: Doc) => [r.group, r.runs, r.executions, r.llm_calls]), [
      ["multi/many", 2, 2, 4],
    ]);
    assert.deepEqual(mini.top_nodes.map((n: Doc) => [n.node, n.executions, n.llm_calls]), [["many", 2, 4]]);
    // Two matching models called by the same executions: each execution once.
    const openai = await reportJson(ctx, ["--by", "node", "--model", "openai/*"]);
    assert.deepEqual(openai.rows.map((r: Doc) => [r.group, r.runs, r.executions, r.llm_calls]), [
      ["multi/many", 2, 2, 6],
    ]);
    const top = await cost(ctx, ["report", "--model", "gpt-4o-mini", "--top", "3"], PLAIN_ENV);
    assert.match(top.stdout, /^multi\/many +2 +4 /m);
  });
});

Deno.test("cost show PREFIX: two matching runs are both named; more, two and …", async () => {
  await withLlm(async (ctx) => {
    for (let i = 0; i < 5; i++) await runJson(ctx, chain([llm("a", HAIKU, HAIKU_USAGE)]));
    const ids = ["e1", "e2", "f1", "f2", "f3"].map((p) => `${p}000000-0000-4000-8000-000000000000`);
    const db = openDb(ctx.home);
    try {
      ids.forEach((id, i) => db.prepare("UPDATE runs SET execution_id = ? WHERE id = ?").run(id, i + 1));
    } finally {
      db.close();
    }
    const two = await cost(ctx, ["show", "e"]);
    assertExit(two, 2);
    assert.equal(
      two.stderr.trim(),
      `error: 'e' matches several runs (${ids[0]}, ${ids[1]}); give more of the execution id`,
    );
    const three = await cost(ctx, ["show", "f"]);
    assertExit(three, 2);
    assert.equal(
      three.stderr.trim(),
      `error: 'f' matches several runs (${ids[2]}, ${ids[3]}, …); give more of the execution id`,
    );
  });
});

Deno.test("--reprice: the change is a bound when a cost leaves calls out, never -100%; tiny costs written positionally", async () => {
  await withLlm(async (ctx) => {
    writeSettings(ctx, { providers: { local: { base_url: `${ctx.srv.url}/v1` } } });
    // local/llama priced for this run only: the shipped table that --reprice uses leaves it out.
    const prices = writePriceTable(
      ctx,
      "local.yaml",
      `version: local\nmodels:\n  local/llama:\n    input: 1\n    output: 2\n`,
    );
    const doc = await runJson(
      ctx,
      chain([
        llm("l", "local/llama", { prompt_tokens: 700, completion_tokens: 50 }),
        llm("m", MINI, { prompt_tokens: 4, completion_tokens: 1 }),
      ]),
      "wf.json",
      ["--price-table", prices],
    );
    near(doc.total_cost_usd, 0.0008 + 0.0000012, "recorded with the run's table");
    const text = await cost(ctx, ["report", "--by", "model", "--reprice"], PLAIN_ENV);
    assertExit(text, 0);
    // Recorded $0.00080 (complete), repriced $0.0000012+ (local/llama unpriced): the change is at least -99.9%.
    assert.match(text.stdout, /^Total .* \$0\.00080 +\$0\.0000012\+ +≥ -99\.9%$/m);
    assert.match(text.stdout, /^openai\/gpt-4o-mini .* \$0\.0000012 +\$0\.0000012 +0\.0%$/m);
    assert.doesNotMatch(text.stdout, /e-\d/, "no exponent form");
    // Both costs leave calls out: like for like when as many (local/llama unpriced then and now), else unknown.
    const other = { prompt_tokens: 10, completion_tokens: 1 };
    const both = chain([llm("l", "local/llama", other), llm("m", MINI, { prompt_tokens: 4, completion_tokens: 1 })]);
    await runJson(ctx, { ...both, name: "same" }, "same.json");
    await runJson(ctx, { ...both, name: "mixed" }, "mixed.json", ["--price-table", prices]);
    await runJson(ctx, chain([llm("o", "local/other", other)], { name: "mixed" }), "mixed2.json");
    const same = await cost(ctx, ["report", "--by", "workflow", "--reprice", "--workflow", "same"], PLAIN_ENV);
    assert.match(same.stdout, /^Total .* \$0\.0000012\+ +\$0\.0000012\+ +0\.0%$/m);
    const mixed = await cost(ctx, ["report", "--by", "workflow", "--reprice", "--workflow", "mixed"], PLAIN_ENV);
    assert.match(mixed.stdout, /^Total .* \$0\.000013\+ +\$0\.0000012\+ +unknown$/m);
  });
});

// ---------------------------------------------------------------- bad input and empty ledgers

Deno.test("by model or node, runs that made no LLM call: the hint says so, not that the ledger has no runs", async () => {
  await withLlm(async (ctx) => {
    const echo = workflow([{ id: "a", type: "echo", params: { value: "x" } }], { name: "quiet" });
    await runJson(ctx, echo);
    await runJson(ctx, echo);
    for (const by of ["model", "node"]) {
      const result = await cost(ctx, ["report", "--by", by], PLAIN_ENV);
      assertExit(result, 0);
      assert.match(result.stdout, /^Total +0 +0 /m);
      assert.equal(
        result.stderr,
        `None of the ledger's 2 runs made an LLM call: nothing to show by ${by}. ` +
          "Runs without calls are counted by day, week, month, workflow and run.\n",
      );
      const filtered = await cost(ctx, ["report", "--by", by, "--workflow", "quiet", "--since", "7d"], PLAIN_ENV);
      assertExit(filtered, 0);
      assert.match(filtered.stderr, /^None of the 2 runs that match these filters made an LLM call: nothing to show/);
      // Filters that no run matches are still said to be.
      const none = await cost(ctx, ["report", "--by", by, "--workflow", "loud"], PLAIN_ENV);
      assert.match(none.stderr, /^No runs match these filters\./);
    }
  });
});

Deno.test("bad input: one line and exit 2; an empty ledger or period: an empty table, a hint, exit 0", async () => {
  await withLlm(async (ctx) => {
    const empty = await cost(ctx, ["report"], PLAIN_ENV);
    assertExit(empty, 0);
    assert.match(empty.stdout, /^DATE +RUNS +CALLS +INPUT +CACHE WRITE +CACHE READ +OUTPUT +TOTAL TOKENS +COST$/m);
    assert.match(empty.stdout, /^Total +0 +0 /m);
    assert.match(empty.stderr, /^The ledger has no runs yet\./m);
    const emptyJson = await reportJson(ctx);
    assert.deepEqual(emptyJson.rows, []);
    assert.equal(emptyJson.totals.cost_usd, 0);
    await runJson(ctx, chain([llm("a", HAIKU, HAIKU_USAGE)]));
    const period = await cost(ctx, ["report", "--since", "2001-01-01", "--until", "2001-01-31"], PLAIN_ENV);
    assertExit(period, 0);
    assert.match(period.stderr, /No runs match these filters/);
    const bad: [string[], RegExp][] = [
      [["report", "--by", "hour"], /--by must be one of day, week, month, model, workflow, node, run; got 'hour'/],
      [["report", "--since", "2025-02-30"], /--since: '2025-02-30' is not a calendar date/],
      [["report", "--since", "yesterday"], /--since must be a time ago \(30m, 24h, 7d, 4w\), a date/],
      [["report", "--since", "2024-02-29T10:00+25:00"], /--since: '2024-02-29T10:00\+25:00' is not a date and time/],
      [["report", "--until", "2024-02-29T10:00-03:60"], /--until: '2024-02-29T10:00-03:60' is not a date and time/],
      [["report", "--since", "100000000d"], /--since: '100000000d' is before 1970 or after 9999/],
      [["report", "--since", "0000-01-01"], /--since: '0000-01-01' is not a calendar date from 1970 on/],
      [["report", "--since", "2025-03-02", "--until", "2025-03-01"], /--since 2025-03-02 is after --until 2025-03-01/],
      [["report", "--timezone", "Mars/Olympus"], /unknown time zone 'Mars\/Olympus'/],
      [["report", "--status", "done"], /--status must be success, failed, interrupted, budget_exceeded, running/],
      [["report", "--phase", "plan"], /--phase must be planner or workflow/],
      [["report", "--top", "0"], /--top must be a positive whole number/],
      [["report", "--format", "csv"], /--format must be text, json or md/],
      [["report", "--json", "--format", "md"], /--json contradicts --format md/],
      [["report", "--output-format", "json", "--format", "md"], /--output-format json contradicts --format md/],
      [["report", "--format", "json", "--output-format", "text"], /--output-format text contradicts --format json/],
      [["report", "--output-format=text", "--format=json"], /--output-format text contradicts --format json/],
      [["report", "--bogus"], /unknown flag '--bogus'/],
      [["show", "0123abcd-ffff"], /no run '0123abcd-ffff' in the ledger/],
      [["show", "not-an-id!"], /is not an execution id/],
      [["frobnicate"], /unknown cost command 'frobnicate'/],
    ];
    for (const [args, message] of bad) {
      const result = await cost(ctx, args, PLAIN_ENV);
      assertExit(result, 2);
      assert.match(result.stderr, message, `${args.join(" ")}:\n${explain(result)}`);
      assert.equal(result.stderr.split("\n").filter((l) => l.startsWith("error:")).length, 1, explain(result));
      assert.doesNotMatch(result.stderr, /^\s+at /m, "no stack trace");
    }
  });
});

Deno.test("-o a file that cannot be written: one line naming it, exit 2, for cost report and metrics", async () => {
  await withLlm(async (ctx) => {
    await runJson(ctx, chain([llm("a", HAIKU, HAIKU_USAGE)]));
    const plain = join(ctx.dir, "plain-file");
    writeFileSync(plain, "x");
    const cases: [string, string][] = [[ctx.dir, "it is a directory"], [
      join(plain, "r.md"),
      "a part of its directory is a file",
    ]];
    for (const [target, why] of cases) {
      for (const args of [["cost", "report", "--format", "md", "-o", target], ["metrics", "-o", target]]) {
        const result = await runPflow(args, { env: ctx.env });
        assertExit(result, 2);
        assert.equal(result.stderr.trim(), `error: cannot write ${target}: ${why}`, explain(result));
      }
    }
    assert.deepEqual(readdirSync(ctx.dir).filter((f) => f.endsWith(".tmp")), [], "no temp file left");
  });
});

Deno.test("-o into a directory that does not exist: exit 2 naming it, nothing created, for every command's -o", async () => {
  await withLlm(async (ctx) => {
    await runJson(ctx, chain([llm("a", HAIKU, HAIKU_USAGE)]), "wf.json", ["--trace"]);
    const target = join(ctx.dir, "newdir", "sub", "out.txt");
    for (
      const args of [
        ["metrics", "-o", target],
        ["cost", "report", "-o", target],
        ["cost", "report", "--format", "md", "-o", target],
        ["trace", "export", "latest", "--format", "otlp-json", "-o", target],
        ["trace", "show", "latest", "--html", "-o", target],
        ["trace", "show", "latest", "--html", "-o", `${join(ctx.dir, "newdir")}/`],
      ]
    ) {
      const result = await runPflow(args, { env: ctx.env });
      assertExit(result, 2);
      const line = result.stderr.trim();
      const newdir = join(ctx.dir, "newdir");
      assert.ok(
        line.startsWith(`error: cannot write ${newdir}/`) && line.endsWith(`: directory ${newdir} does not exist`) &&
          !line.includes("\n"),
        `${args.join(" ")}\n${explain(result)}`,
      );
      assert.equal(result.stdout, "");
      assert.equal(existsSync(join(ctx.dir, "newdir")), false, `${args.join(" ")} made the directory`);
    }
    // In JSON mode, the same line as the error document.
    const json = await runPflow(["metrics", "--json", "-o", target], { env: ctx.env });
    assertExit(json, 2);
    assert.equal(
      JSON.parse(json.stdout).error.message,
      `cannot write ${target}: directory ${join(ctx.dir, "newdir")} does not exist`,
    );
    assert.equal(existsSync(join(ctx.dir, "newdir")), false);
  });
});

Deno.test("-o into a named pipe or a device writes in place; through a symlink, its file; a file keeps its mode", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "pflow-output-file-" });
  try {
    const env = { PFLOW_HOME: join(dir, "home") };
    const report = (target: string) => runPflow(["cost", "report", "--format", "md", "-o", target], { env });
    // A FIFO: its reader gets the report, and it stays a FIFO (a rename would have replaced it).
    const fifo = join(dir, "pipe");
    assert.equal(spawnSync("mkfifo", [fifo]).status, 0);
    const reader = new Deno.Command("cat", { args: [fifo], stdout: "piped" }).spawn();
    const written = await report(fifo);
    assertExit(written, 0);
    const read = new TextDecoder().decode((await reader.output()).stdout);
    assert.match(read, /^# pflow cost report/);
    assert.ok(Deno.lstatSync(fifo).isFifo, "still a FIFO");
    // A device: /dev/full reports its error and stays a device.
    const full = await report("/dev/full");
    assertExit(full, 2);
    assert.equal(full.stderr.trim(), "error: cannot write /dev/full: no space left on the device");
    assert.ok(Deno.statSync("/dev/full").isCharDevice, "/dev/full untouched");
    // An existing file keeps its permissions; a symlink stays a link and its file gets the report.
    const file = join(dir, "r.md");
    writeFileSync(file, "old", { mode: 0o600 });
    const link = join(dir, "link.md");
    Deno.symlinkSync(file, link);
    assertExit(await report(link), 0);
    assert.ok(Deno.lstatSync(link).isSymlink, "still a symlink");
    assert.match(readFileSync(file, "utf8"), /^# pflow cost report/);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    // A name that ends with '/' and an empty name: one line each, exit 2, nothing created.
    const slash = await report(join(dir, "newdir") + "/");
    assertExit(slash, 2);
    assert.equal(
      slash.stderr.trim(),
      `error: cannot write ${join(dir, "newdir")}/: it ends with '/', so it names a directory; give a file name`,
    );
    assertExit(await report(""), 2);
    assert.equal(existsSync(join(dir, "newdir")), false);
    assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith(".tmp")), [], "no temp file left");
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("cost show on an empty ledger: one line, exit 2", async () => {
  await withLlm(async (ctx) => {
    const result = await cost(ctx, ["show"]);
    assertExit(result, 2);
    assert.match(result.stderr, /^error: the ledger has no runs yet; run a workflow first$/m);
  });
});

// ---------------------------------------------------------------- recording

Deno.test("the ledger file is 0600 and holds no prompt, response or param value", async () => {
  await withLlm(async (ctx) => {
    const secretish = "PROMPT-TEXT-thirteen-herons";
    const wf = workflow([{
      id: "ask",
      type: "llm",
      params: { model: HAIKU, prompt: `${secretish} [[reply:RESPONSE-TEXT-seven-owls]] \${topic}` },
    }], { inputs: { topic: { type: "string" } } });
    const result = await runWorkflowFile(ctx, wf, ["topic=PARAM-VALUE-nine-foxes"]);
    assertExit(result, 0);
    const file = join(ctx.home, "ledger.db");
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const inbox = join(ctx.home, "ledger-inbox.jsonl");
    assert.equal(statSync(inbox).mode & 0o777, 0o600);
    const bytes = [file, `${file}-wal`, inbox].filter(existsSync).map((p) => readFileSync(p, "latin1")).join("");
    for (const text of [secretish, "RESPONSE-TEXT", "PARAM-VALUE"]) {
      assert.ok(!bytes.includes(text), `${text} in the ledger`);
    }
  });
});

Deno.test("runs without LLM calls are recorded without opening the database; folded on the next read", async () => {
  await withLlm(async (ctx) => {
    const result = await runWorkflowFile(ctx, workflow([{ id: "e", type: "echo", params: { value: "x" } }]));
    assertExit(result, 0);
    assert.equal(existsSync(join(ctx.home, "ledger.db")), false, "no database for a run without LLM calls");
    const lines = readFileSync(join(ctx.home, "ledger-inbox.jsonl"), "utf8").trim().split("\n").map((l) =>
      JSON.parse(l)
    );
    assert.deepEqual(lines.map((l) => l.op), ["start", "end"]);
    assert.equal(lines[1].run.status, "success");
    const doc = await reportJson(ctx, ["--by", "run"]);
    assert.equal(doc.rows.length, 1);
    assert.equal(doc.rows[0].status, "success");
    assert.equal(doc.rows[0].llm_calls, 0);
    const again = await reportJson(ctx, ["--by", "run"]);
    assert.equal(again.rows.length, 1, "folding twice adds nothing");
  });
});

Deno.test("a malformed inbox line is skipped with a warning naming its line; reports, metrics and runs go on", async () => {
  await withLlm(async (ctx) => {
    const inbox = join(ctx.home, "ledger-inbox.jsonl");
    writeFileSync(
      inbox,
      [
        `{"v":1,"op":"end","run":{"executionId":"y","startedMs":1,"workflowName":"w"}}`,
        `{"v":1,"op":"start","run":{"executionId":"z","startedMs":1e300,"workflowName":"w"}}`,
        `{"v":1,"op":"start","run":{"executionId":"ok","startedMs":1700000000000,"workflowName":"good"}}`,
      ].join("\n") + "\n",
    );
    const report = await cost(ctx, ["report", "--by", "run", "--json"]);
    assertExit(report, 0);
    assert.deepEqual(JSON.parse(report.stdout).rows.map((r: Doc) => r.execution_id), ["ok"]);
    const warned = report.stderr.trim().split("\n");
    assert.equal(warned.length, 2, report.stderr);
    assert.match(
      warned[0],
      new RegExp(`^warning: ledger: ${inbox}:1: skipped a line that is not a ledger entry \\(status: `),
    );
    assert.match(warned[1], new RegExp(`^warning: ledger: ${inbox}:2: skipped a line .*\\(startedMs: `));
    assertExit(await runPflow(["metrics"], { env: ctx.env }), 0);
    const run = await runWorkflowFile(ctx, chain([llm("a", HAIKU, HAIKU_USAGE)]));
    assertExit(run, 0);
    assert.doesNotMatch(run.stderr, /ledger/, "the run is recorded without a warning");
    assert.equal((await reportJson(ctx, ["--by", "run"])).rows.length, 2);
  });
});

Deno.test("node executions in the ledger: counted in plain runs, timed with --metrics, a failure once, a stopped loop's next pass not at all", async () => {
  await withLlm(async (ctx) => {
    const inboxRuns = () =>
      readFileSync(join(ctx.home, "ledger-inbox.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l))
        .filter((l) => l.op === "end").map((l) => l.run);
    const looping = {
      ...workflow([{ id: "a", type: "echo", params: { value: 1 } }, { id: "b", type: "echo", params: { value: 2 } }]),
      edges: [{ from: "a", to: "b" }, { from: "b", to: "a" }],
      limits: { max_node_executions: 3 },
    };
    const failing = workflow([
      { id: "ok", type: "echo", params: { value: 1 } },
      { id: "bad", type: "read-file", params: { path: join(ctx.dir, "missing.txt") } },
    ], { edges: [{ from: "ok", to: "bad" }] });
    for (const args of [[], ["--metrics"]]) {
      assertExit(await runWorkflowFile(ctx, looping, args, { name: "loop.json" }), 1);
      assertExit(await runWorkflowFile(ctx, failing, args, { name: "fail.json" }), 1);
    }
    const runs = inboxRuns();
    assert.equal(runs.length, 4);
    const nodes = (run: { nodes: { type: string; status: string; executions: number; timed: number }[] }) =>
      run.nodes.map((n) => [n.type, n.status, n.executions, n.timed]).sort();
    // The loop guard stops a's fourth pass before it starts: six passes ran, all successful.
    assert.deepEqual(nodes(runs[0]), [["echo", "success", 6, 0]]);
    assert.deepEqual(nodes(runs[2]), [["echo", "success", 6, 6]]);
    assert.deepEqual(nodes(runs[1]), [["echo", "success", 1, 0], ["read-file", "error", 1, 0]]);
    assert.deepEqual(nodes(runs[3]), [["echo", "success", 1, 1], ["read-file", "error", 1, 1]]);
    const histogram = runs[2].nodes[0];
    assert.equal(histogram.buckets.reduce((a: number, b: number) => a + b, 0), 6, "six timed passes, each in a bucket");
  });
});

Deno.test('--no-ledger, PFLOW_LEDGER=off and settings "ledger": false record nothing; bad values exit 2', async () => {
  await withLlm(async (ctx) => {
    const wf = chain([llm("a", HAIKU, HAIKU_USAGE)]);
    assertExit(await runWorkflowFile(ctx, wf, ["--no-ledger"]), 0);
    assertExit(await runWorkflowFile(ctx, wf, [], { env: { PFLOW_LEDGER: "off" } }), 0);
    writeSettings(ctx, { ledger: false });
    assertExit(await runWorkflowFile(ctx, wf), 0);
    assert.equal(existsSync(join(ctx.home, "ledger.db")), false);
    assert.equal(existsSync(join(ctx.home, "ledger-inbox.jsonl")), false);
    // The variable wins over the setting.
    assertExit(await runWorkflowFile(ctx, wf, [], { env: { PFLOW_LEDGER: "on" } }), 0);
    assert.equal((await reportJson(ctx)).totals.runs, 1);
    writeSettings(ctx, { ledger: "no" });
    const badSetting = await runWorkflowFile(ctx, wf);
    assertExit(badSetting, 2);
    assert.match(badSetting.stderr, /settings\.json:\d+:\d+: \/ledger: must be true or false, got "no"/);
    // A pushgateway setting that is no http(s) URL: also located.
    for (const pushgateway of [5, "ftp://gateway:9091"]) {
      writeSettings(ctx, { pushgateway });
      const result = await runWorkflowFile(ctx, wf);
      assertExit(result, 2);
      assert.match(result.stderr, /settings\.json:\d+:\d+: \/pushgateway: must be an http\(s\) URL string/);
    }
    writeSettings(ctx, {});
    const badEnv = await runWorkflowFile(ctx, wf, [], { env: { PFLOW_LEDGER: "maybe" } });
    assertExit(badEnv, 2);
    assert.match(badEnv.stderr, /PFLOW_LEDGER must be 'on' or 'off', got 'maybe'/);
  });
});

Deno.test("50 concurrent runs: every run and call row is present, no busy errors", async () => {
  await withLlm(async (ctx) => {
    const wf = chain([llm("a", HAIKU, HAIKU_USAGE), llm("b", MINI, MINI_USAGE)]);
    const file = join(ctx.dir, "wf.json");
    writeFileSync(file, JSON.stringify(wf));
    const results = await Promise.all(
      Array.from({ length: 50 }, () => runPflow(["run", file, "--output-format", "json"], { env: ctx.env })),
    );
    const ids = results.map((r) => {
      assertExit(r, 0);
      assert.equal(r.stderr, "", `a run warned:\n${explain(r)}`);
      return oneJson(r).execution_id;
    });
    const doc = await reportJson(ctx, ["--by", "run"]);
    assert.deepEqual(doc.rows.map((r: Doc) => r.execution_id).sort(), ids.sort());
    assert.equal(doc.totals.llm_calls, 100);
    near(doc.totals.cost_usd, 50 * (HAIKU_COST + MINI_COST), "total");
    const db = openDb(ctx.home);
    try {
      assert.equal((db.prepare("SELECT count(*) AS n FROM calls").get() as { n: number }).n, 100);
      assert.equal(
        (db.prepare("SELECT count(*) AS n FROM runs WHERE status = 'success'").get() as { n: number }).n,
        50,
      );
    } finally {
      db.close();
    }
  });
});

Deno.test("SIGKILL mid-run keeps the finished calls; 'running' while it lives, then 'interrupted'; SIGINT records 'interrupted'", async () => {
  await withLlm(async (ctx) => {
    const wf = chain([llm("fast", SONNET, SONNET_USAGE), llm("slow", MINI, MINI_USAGE, { sleepMs: 8000 })]);
    let guard: ReturnType<typeof setTimeout> | undefined;
    let during: Doc | undefined;
    const killed = await runWorkflowFile(ctx, wf, [], {
      onSpawn: (child) => {
        guard = setTimeout(() => child.kill("SIGKILL"), 15_000);
        ctx.srv.waitForRequests(2).then(async () => {
          during = await reportJson(ctx, ["--by", "run"]);
          child.kill("SIGKILL");
        });
      },
    });
    clearTimeout(guard);
    assert.equal(killed.signal, "SIGKILL");
    assert.equal(during?.rows[0].status, "running", "its process still runs it");
    const doc = await reportJson(ctx, ["--by", "run"]);
    assert.equal(doc.rows.length, 1);
    assert.equal(doc.rows[0].status, "interrupted", "its process is gone");
    assert.equal(doc.rows[0].llm_calls, 1);
    near(doc.rows[0].cost_usd, SONNET_COST, "the billed call");
    const text = await cost(ctx, ["report", "--by", "run"], PLAIN_ENV);
    assert.match(text.stdout, /⚠ interrupted/);
    assert.doesNotMatch(text.stdout, /running/);
    const shown = await cost(ctx, ["show", "latest", "--json"]);
    assertExit(shown, 0);
    const run = JSON.parse(shown.stdout).run;
    assert.deepEqual([run.status, run.subtype, run.ended_at], ["interrupted", "error_process_gone", null]);
    const shownText = await cost(ctx, ["show", "latest"], PLAIN_ENV);
    assert.match(shownText.stdout, /^ended: unknown \(its process is gone/m);
    // Settled in the ledger once: the row itself says so.
    const db = openDb(ctx.home);
    try {
      assert.deepEqual({ ...db.prepare("SELECT status, subtype FROM runs").get() }, {
        status: "interrupted",
        subtype: "error_process_gone",
      });
    } finally {
      db.close();
    }
    const interrupted = await runWorkflowFile(ctx, wf, [], {
      onSpawn: (child) => {
        guard = setTimeout(() => child.kill("SIGKILL"), 15_000);
        ctx.srv.waitForRequests(4).then(() => process.kill(child.pid!, "SIGINT"));
      },
    });
    clearTimeout(guard);
    assertExit(interrupted, 130);
    const after = await reportJson(ctx, ["--by", "run", "--status", "interrupted"]);
    assert.equal(after.rows.length, 2, "the killed run and this one");
    // The finished call and the one cut off by the interrupt (recorded as an error, its usage unknown).
    assert.equal(after.rows[1].llm_calls, 2);
    near(after.rows[1].cost_usd, SONNET_COST, "only the finished call is priced");
    const latest = JSON.parse((await cost(ctx, ["show", "latest", "--json"])).stdout).run;
    assert.equal(latest.subtype, "error_interrupted", "it recorded its own end");
    assert.equal(typeof latest.ended_at, "string");
  });
});

Deno.test("SIGKILL while an LLM call waits to retry keeps its failed, billed attempt", async () => {
  await withLlm(async (ctx) => {
    // The attempt streams its final usage (message_delta), then ends before message_stop: retried after a wait of seconds.
    const flaky = {
      id: "flaky",
      type: "llm",
      params: {
        model: SONNET,
        prompt: `${prompt(SONNET_USAGE)} [[truncate-after-usage]]`,
        stream: true,
        max_retries: 1,
      },
    };
    let guard: ReturnType<typeof setTimeout> | undefined;
    const killed = await runWorkflowFile(ctx, chain([flaky]), [], {
      onSpawn: (child) => {
        guard = setTimeout(() => child.kill("SIGKILL"), 15_000);
        ctx.srv.waitForRequests(1).then(() => setTimeout(() => child.kill("SIGKILL"), 700));
      },
    });
    clearTimeout(guard);
    assert.equal(killed.signal, "SIGKILL");
    assert.equal(ctx.srv.requests.length, 1, "killed during the wait before the retry");
    const doc = await reportJson(ctx, ["--by", "run"]);
    assert.equal(doc.rows.length, 1);
    assert.equal(doc.rows[0].status, "interrupted");
    assert.equal(doc.rows[0].llm_calls, 1, "the failed attempt is in the ledger");
    assert.ok(doc.rows[0].cost_usd > 0, `its billed usage is priced: ${doc.rows[0].cost_usd}`);
  });
});

Deno.test("a 'running' row is settled only when its process is gone: pid reused, another boot; not another host or namespace", async () => {
  await withLlm(async (ctx) => {
    const names = ["alive", "reused", "remote", "alive-nostart", "gone-nostart", "older", "other-ns", "other-boot"];
    for (const name of names) {
      const wf = workflow([{ id: "e", type: "echo", params: { value: 1 } }], { name });
      assertExit(await runWorkflowFile(ctx, wf, [], { name: `${name}.json` }), 0);
    }
    assert.equal((await reportJson(ctx, ["--by", "run"])).rows.length, names.length, "folded from the inbox");
    // A live process that is not pflow: its pid stands for a reused one.
    const sleeper = spawn("sleep", ["60"], { stdio: "ignore" });
    try {
      const pid = sleeper.pid!;
      const ticks = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ")[19];
      const db = openDb(ctx.home);
      try {
        const rows = db.prepare(
          "SELECT r.id, l.text AS name, r.pid, r.host, r.process_start FROM runs r " +
            "JOIN labels l ON l.id = r.workflow",
        ).all() as { id: number; name: string; pid: number; host: string; process_start: string }[];
        const first = rows[0];
        assert.equal(first.host, hostname());
        assert.match(first.process_start, /^[0-9a-f-]{36}:\d+:\d+$/, "boot id, pid namespace, start ticks");
        const [boot, namespace] = first.process_start.split(":");
        const set = (name: string, fields: Record<string, string | number | null>) => {
          const id = rows.find((r) => r.name === name)!.id;
          const columns = Object.keys(fields).map((k) => `${k} = ?`).join(", ");
          db.prepare(`UPDATE runs SET status = 'running', ended_ms = NULL, ${columns} WHERE id = ?`)
            .run(...Object.values(fields), id);
        };
        set("alive", { pid, process_start: `${boot}:${namespace}:${ticks}` });
        set("reused", { pid, process_start: `${boot}:${namespace}:${Number(ticks) - 1}` });
        set("remote", { host: "elsewhere.example" }); // its own pid, long gone, on another host
        set("alive-nostart", { pid, process_start: null }); // as recorded where /proc is not readable
        set("gone-nostart", { process_start: null });
        set("older", { pid: null, host: null, process_start: null }); // a row of a version-4 ledger
        set("other-ns", { pid: 999_999, process_start: `${boot}:1:${ticks}` });
        set("other-boot", { pid, process_start: `00000000-0000-4000-8000-000000000000:${namespace}:${ticks}` });
      } finally {
        db.close();
      }
      const statuses = async () =>
        Object.fromEntries((await reportJson(ctx, ["--by", "run"])).rows.map((r: Doc) => [r.workflow, r.status]));
      const expected = {
        "alive": "running",
        "reused": "interrupted",
        "remote": "running",
        "alive-nostart": "running",
        "gone-nostart": "interrupted",
        "older": "interrupted",
        "other-ns": "running",
        "other-boot": "interrupted",
      };
      assert.deepEqual(await statuses(), expected);
      const metrics = await runPflow(["metrics"], { env: ctx.env });
      assertExit(metrics, 0);
      for (const [name, status] of Object.entries(expected)) {
        assert.ok(
          metrics.stdout.includes(
            `pflow_workflow_runs_in_progress{workflow="${name}"} ${status === "running" ? 1 : 0}`,
          ),
          name,
        );
      }
      // Once the process ends, its run is settled too; a settled run stays so.
      sleeper.kill("SIGKILL");
      await new Promise((resolve) => sleeper.on("close", resolve));
      assert.deepEqual(await statuses(), { ...expected, "alive": "interrupted", "alive-nostart": "interrupted" });
    } finally {
      sleeper.kill("SIGKILL");
    }
  });
});

// ---------------------------------------------------------------- damaged and foreign ledgers

Deno.test("a corrupt ledger: cost commands exit 2 naming it; a run succeeds with one warning", async () => {
  await withLlm(async (ctx) => {
    const file = join(ctx.home, "ledger.db");
    writeFileSync(file, "this is not a database, just text that is long enough to have a header".repeat(4));
    const report = await cost(ctx, ["report"]);
    assertExit(report, 2);
    assert.equal(
      report.stderr.trim(),
      `error: ${file}: not a readable ledger (corrupt or not a SQLite file); move it away and pflow starts a new one`,
    );
    const show = await cost(ctx, ["show"]);
    assertExit(show, 2);
    const run = await runWorkflowFile(ctx, chain([llm("a", HAIKU, HAIKU_USAGE), llm("b", HAIKU, HAIKU_USAGE)]), [
      "--output-format",
      "json",
    ]);
    assertExit(run, 0);
    assert.equal(oneJson(run).subtype, "success");
    const warnings = run.stderr.split("\n").filter((l) => l.includes("ledger"));
    assert.equal(warnings.length, 1, explain(run));
    assert.match(warnings[0], new RegExp(`^warning: (\\[a\\] )?ledger: ${file}: not a readable ledger`));
  });
});

Deno.test("a run whose ledger was corrupt ends in the inbox with its calls: once the file is moved away, it is recorded as it ended", async () => {
  await withLlm(async (ctx) => {
    const file = join(ctx.home, "ledger.db");
    writeFileSync(file, "not a db\n");
    const run = await runWorkflowFile(ctx, chain([llm("a", HAIKU, HAIKU_USAGE), llm("b", MINI, MINI_USAGE)]), [
      "--output-format",
      "json",
    ]);
    assertExit(run, 0);
    assert.match(run.stderr, /this run is not \(fully\) recorded/);
    const doc = oneJson(run);
    // As the README advises: move the file away, and pflow starts a new one.
    copyFileSync(file, join(ctx.dir, "corrupt.db"));
    Deno.removeSync(file);
    const check = async () => {
      const byRun = await reportJson(ctx, ["--by", "run"]);
      assert.equal(byRun.rows.length, 1);
      const row = byRun.rows[0];
      assert.equal(row.execution_id, doc.execution_id);
      assert.equal(row.status, "success", "it succeeded: not settled as gone");
      assert.equal(row.llm_calls, 2);
      assert.equal(row.cost_complete, true);
      near(row.cost_usd, doc.total_cost_usd, "the run's own cost");
      assert.equal(row.input_tokens, doc.usage.input_tokens);
      assert.equal(row.cache_read_tokens, doc.usage.cache_read_input_tokens);
      assert.equal(row.output_tokens, doc.usage.output_tokens);
      const byModel = await reportJson(ctx, ["--by", "model"]);
      assert.deepEqual(byModel.rows.map((r: Doc) => [r.group, r.runs, r.llm_calls]).sort(), [
        [HAIKU, 1, 1],
        [MINI, 1, 1],
      ]);
      const metrics = await runPflow(["metrics"], { env: ctx.env });
      assertExit(metrics, 0);
      assert.match(metrics.stdout, /pflow_workflow_runs_total\{workflow="wf",status="success"\} 1/);
      assert.doesNotMatch(metrics.stdout, /status="interrupted"/);
    };
    await check();
    // A rotated inbox is folded whole again: its end line adds its calls once.
    copyFileSync(join(ctx.home, "ledger-inbox.jsonl"), join(ctx.home, "ledger-inbox.jsonl.old"));
    await check();
  });
});

Deno.test("a ledger locked by another process mid-run: the calls it did not take come with the run's end, after the ones it took", async () => {
  await withLlm(async (ctx) => {
    const file = join(ctx.home, "ledger.db");
    const ready = join(ctx.dir, "locked");
    const done = join(ctx.dir, "unlocked");
    // Holds the ledger's write lock for 2 s (past a run's short busy timeout), from the middle of the run.
    const holder = join(ctx.dir, "holder.ts");
    writeFileSync(
      holder,
      `import { DatabaseSync } from "node:sqlite";
import { writeFileSync } from "node:fs";
const db = new DatabaseSync(${JSON.stringify(file)});
db.exec("BEGIN EXCLUSIVE");
writeFileSync(${JSON.stringify(ready)}, "");
setTimeout(() => { db.exec("COMMIT"); db.close(); writeFileSync(${JSON.stringify(done)}, ""); }, 2_000);
`,
    );
    const lock = {
      id: "lock",
      type: "shell",
      params: {
        command: `setsid ${Deno.execPath()} run -A ${holder} </dev/null >/dev/null 2>&1 &
          while [ ! -e ${ready} ]; do sleep 0.05; done`,
      },
    };
    const wf = chain([
      llm("a", HAIKU, HAIKU_USAGE),
      lock,
      llm("b", HAIKU, HAIKU_USAGE),
      llm("c", MINI, MINI_USAGE),
    ]);
    const run = await runWorkflowFile(ctx, wf, ["--output-format", "json"]);
    assertExit(run, 0);
    assert.doesNotMatch(run.stderr, /warning/, "a busy ledger is no failure: the calls wait for the inbox");
    const doc = oneJson(run);
    const started = Date.now();
    while (!existsSync(done)) {
      assert.ok(Date.now() - started < 20_000, "the lock holder ends");
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const byRun = await reportJson(ctx, ["--by", "run"]);
    assert.equal(byRun.rows.length, 1);
    assert.equal(byRun.rows[0].status, "success", "it succeeded: not settled as gone");
    assert.equal(byRun.rows[0].llm_calls, 3, "the call written before the lock, and the two after");
    near(byRun.rows[0].cost_usd, doc.total_cost_usd, "the run's own cost");
    // Each call counted once, its run once per model, node and day (the late calls' flags follow the stored ones).
    const byModel = await reportJson(ctx, ["--by", "model"]);
    assert.deepEqual(byModel.rows.map((r: Doc) => [r.group, r.runs, r.llm_calls]).sort(), [
      [HAIKU, 1, 2],
      [MINI, 1, 1],
    ]);
    const byNode = await reportJson(ctx, ["--by", "node"]);
    assert.deepEqual(byNode.rows.map((r: Doc) => [r.node, r.runs, r.executions]).sort(), [
      ["a", 1, 1],
      ["b", 1, 1],
      ["c", 1, 1],
    ]);
    assert.equal((await reportJson(ctx, ["--by", "day"])).totals.runs, 1);
    const metrics = await runPflow(["metrics"], { env: ctx.env });
    assertExit(metrics, 0);
    assert.match(metrics.stdout, /pflow_workflow_runs_total\{workflow="wf",status="success"\} 1/);
  });
});

Deno.test("a directory where the ledger file goes: one line naming it, exit 2; a run succeeds with one warning", async () => {
  await withLlm(async (ctx) => {
    const file = join(ctx.home, "ledger.db");
    mkdirSync(file);
    const line = `error: ${file}: cannot read the ledger: it is a directory; move it away and pflow starts a new one`;
    for (const args of [["cost", "report"], ["cost", "show"], ["metrics"]]) {
      const result = await runPflow(args, { env: ctx.env });
      assertExit(result, 2);
      assert.equal(result.stderr.trim(), line, explain(result));
    }
    const run = await runWorkflowFile(ctx, chain([llm("a", HAIKU, HAIKU_USAGE)]), ["--output-format", "json"]);
    assertExit(run, 0);
    assert.equal(oneJson(run).subtype, "success");
    const warnings = run.stderr.split("\n").filter((l) => l.includes("ledger"));
    assert.equal(warnings.length, 1, explain(run));
    assert.match(warnings[0], /cannot read the ledger: it is a directory/);
  });
});

Deno.test("a workflow name with controls and a line break: shown escaped in every cost table and cost show, one line each", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "pflow-evil-name-" });
  try {
    const env = { PFLOW_HOME: join(dir, "home") };
    const name = "ev|il\u001b]0;pwn\u0007\u001b[31mred\nline2";
    const file = join(dir, "evil.json");
    writeFileSync(file, JSON.stringify(workflow([{ id: "a", type: "echo", params: { value: "x" } }], { name })));
    assertExit(await runPflow(["run", file], { env }), 0);
    for (
      const args of [["report", "--by", "workflow"], ["report", "--by", "run"], ["report", "--top", "3"], [
        "report",
        "--format",
        "md",
      ], ["show"]]
    ) {
      const result = await cost({ env }, args);
      assertExit(result, 0);
      // deno-lint-ignore no-control-regex
      assert.doesNotMatch(result.stdout, /[\x00-\x08\x0b-\x1f\x7f]/, `${args.join(" ")}: no control reaches stdout`);
      const rows = result.stdout.split("\n").filter((line) => line.includes("ev|") || line.includes("ev\\|"));
      if (!args.includes("--top")) assert.ok(rows.length >= 1, args.join(" ")); // --top lists runs that cost
      for (const row of rows) assert.match(row, /line2/, `${args.join(" ")}: the name stays on its row`);
      // Shown as the text tables show it: the line break as \n.
      if (!args.includes("md")) {
        for (const row of rows) assert.ok(row.includes("red\\nline2"), `${args.join(" ")}: ${row}`);
      }
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("cost report --format md: a workflow name's HTML and Markdown are escaped, shown as its text", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "pflow-md-name-" });
  try {
    const env = { PFLOW_HOME: join(dir, "home") };
    const name = "a|b <img src=x onerror=alert(1)> *bold* _it_ ~~s~~ [l](http://x) `c` &amp; \\";
    const file = join(dir, "md.json");
    writeFileSync(file, JSON.stringify(workflow([{ id: "a", type: "echo", params: { value: "x" } }], { name })));
    assertExit(await runPflow(["run", file], { env }), 0);
    const result = await cost({ env }, ["report", "--format", "md", "--top", "3"]);
    assertExit(result, 0);
    const rows = result.stdout.split("\n").filter((line) => line.startsWith("| a\\|b"));
    assert.equal(rows.length, 1, result.stdout);
    assert.equal(
      rows[0].split(" | ")[0],
      "| a\\|b &lt;img src=x onerror=alert(1)&gt; \\*bold\\* \\_it\\_ \\~\\~s\\~\\~ \\[l\\](http://x) \\`c\\` &amp;amp; \\\\",
    );
    assert.ok(!result.stdout.includes("<img"), "no tag from the data");
    assert.match(result.stdout, /^\| \*\*Total\*\* \|/m, "pflow's own Markdown stays");
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("a ledger whose pages are damaged: cost report and cost show name the file, exit 2", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "pflow-damaged-ledger-" });
  try {
    const env = { PFLOW_HOME: dir };
    assertExit(await runPflow(["cost", "report"], { env }), 0); // creates the ledger
    const file = join(dir, "ledger.db");
    const bytes = readFileSync(file);
    bytes.fill(0x67, 4096, 4096 + 2800); // the second page onwards: the header still says SQLite
    writeFileSync(file, bytes);
    for (const args of [["cost", "report"], ["cost", "report", "--json"], ["cost", "show", "latest"]]) {
      const result = await runPflow(args, { env });
      assertExit(result, 2);
      assert.equal(
        result.stderr.trim(),
        `error: ${file}: not a readable ledger (corrupt or not a SQLite file); move it away and pflow starts a new one`,
        args.join(" "),
      );
      if (args.includes("--json")) {
        // JSON mode: the one document on stdout says the same.
        const doc = JSON.parse(result.stdout);
        assert.equal(doc.subtype, "error_validation");
        assert.match(doc.error.message, /not a readable ledger/);
      } else assert.equal(result.stdout, "");
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("a ledger of a newer schema: exit 2, the file untouched; a run warns and succeeds", async () => {
  await withLlm(async (ctx) => {
    await runJson(ctx, chain([llm("a", HAIKU, HAIKU_USAGE)]));
    const file = join(ctx.home, "ledger.db");
    const db = openDb(ctx.home);
    db.exec("PRAGMA user_version = 99");
    db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    db.close();
    const before = readFileSync(file);
    const report = await cost(ctx, ["report"]);
    assertExit(report, 2);
    assert.match(report.stderr, /ledger schema version 99 is newer than this pflow reads \(8\); upgrade pflow/);
    const run = await runWorkflowFile(ctx, chain([llm("a", HAIKU, HAIKU_USAGE)]));
    assertExit(run, 0);
    assert.equal(run.stderr.split("\n").filter((l) => /^warning: (\[a\] )?ledger:/.test(l)).length, 1, explain(run));
    assert.ok(readFileSync(file).equals(before), "the newer ledger was modified");
  });
});

Deno.test("a version-1 ledger (fixture) migrates forward and reports the same figures", async () => {
  await withLlm(async (ctx) => {
    copyFileSync(join(ROOT, "tests/fixtures/ledger-v1.db"), join(ctx.home, "ledger.db"));
    const doc = await reportJson(ctx, ["--by", "run", "--timezone", "UTC"]);
    assert.deepEqual(doc.rows.map((r: Doc) => [r.execution_id.slice(0, 8), r.workflow, r.status, r.llm_calls]), [
      ["aaaaaaaa", "summarize", "success", 3],
      ["bbbbbbbb", "classify", "failed", 1],
      ["cccccccc", "classify", "success", 0],
    ]);
    near(doc.rows[0].cost_usd, 0.02365, "run A");
    assert.equal(doc.rows[1].cost_usd, null);
    assert.deepEqual(doc.unpriced_models, [{ model: "local/llama", calls: 1 }]);
    const byNode = await reportJson(ctx, ["--by", "node"]);
    assert.deepEqual(byNode.rows.map((r: Doc) => [r.group, r.runs, r.llm_calls]), [
      ["summarize/explain", 1, 2],
      ["summarize/brief", 1, 1],
      ["classify/label", 1, 1],
    ]);
    const tokyo = await reportJson(ctx, ["--timezone", "Asia/Tokyo"]);
    assert.deepEqual(tokyo.rows.map((r: Doc) => [r.group, r.runs]), [["2025-03-10", 1], ["2025-03-12", 2]]);
    const db = openDb(ctx.home);
    try {
      assert.equal((db.prepare("PRAGMA user_version").get() as { user_version: number }).user_version, 8);
    } finally {
      db.close();
    }
    // A run writes to the migrated ledger as to a new one.
    await runJson(ctx, chain([llm("a", HAIKU, HAIKU_USAGE)]));
    assert.equal((await reportJson(ctx, ["--by", "run"])).rows.length, 4);
  });
});

Deno.test("a version-4 ledger (written by the binary) migrates: calls without usage told from calls without a price; its killed run settled", async () => {
  await withLlm(async (ctx) => {
    // See tests/fixtures/make_ledger_v4.ts for what its runs did.
    copyFileSync(join(ROOT, "tests/fixtures/ledger-v4.db"), join(ctx.home, "ledger.db"));
    const byWorkflow = await reportJson(ctx, ["--by", "workflow"]);
    const rows = Object.fromEntries(byWorkflow.rows.map((r: Doc) => [r.group, r]));
    const counts = (r: Doc) => [r.llm_calls, r.unpriced_calls, r.usage_missing_calls, r.cost_complete];
    // priced: a Sonnet call, gpt-4o-mini without usage, a rejected attempt (0 tokens, known: $0).
    assert.deepEqual(counts(rows.priced), [3, 0, 1, false]);
    near(rows.priced.cost_usd, SONNET_COST, "priced");
    // timeout: a gpt-4o-mini call cut off by its timeout (usage unknown).
    assert.deepEqual(counts(rows.timeout), [1, 0, 1, false]);
    assert.equal(rows.timeout.cost_usd, null);
    // local: a model without a price, twice with usage and once without.
    assert.deepEqual(counts(rows.local), [3, 2, 1, false]);
    assert.deepEqual(rows.local.unpriced_models, ["local/llama"]);
    assert.deepEqual(counts(rows.killed), [1, 0, 0, true]);
    // The run killed with SIGKILL recorded no process (version 4 did not): settled as interrupted.
    const byRun = await reportJson(ctx, ["--by", "run"]);
    assert.deepEqual(byRun.rows.map((r: Doc) => [r.workflow, r.status]), [
      ["plain", "success"],
      ["priced", "failed"],
      ["timeout", "failed"],
      ["local", "success"],
      ["killed", "interrupted"],
    ]);
    assert.deepEqual(byWorkflow.unpriced_models, [{ model: "local/llama", calls: 2 }]);
    assert.deepEqual(byWorkflow.usage_missing_models, [{ model: MINI, calls: 2 }, { model: "local/llama", calls: 1 }]);
    assert.deepEqual(counts(byWorkflow.totals), [8, 2, 3, false]);
    const db = openDb(ctx.home);
    try {
      assert.equal((db.prepare("PRAGMA user_version").get() as { user_version: number }).user_version, 8);
      assert.deepEqual(
        { ...db.prepare("SELECT status, subtype, pid, host, process_start FROM runs WHERE id = 5").get() },
        { status: "interrupted", subtype: "error_process_gone", pid: null, host: null, process_start: null },
      );
      const flagged = db.prepare(
        `SELECT l.text AS model, c.status, c.input_tokens, c.usage_missing FROM calls c JOIN labels l ON l.id = c.model
         ORDER BY c.id`,
      ).all().map((r) => [r.model, r.status, r.input_tokens, r.usage_missing]);
      assert.deepEqual(flagged, [
        [SONNET, 0, 1000, 0],
        [MINI, 0, 0, 1],
        [MINI, 1, 0, 0],
        [MINI, 1, 0, 1],
        ["local/llama", 0, 700, 0],
        ["local/llama", 0, 700, 0],
        ["local/llama", 0, 0, 1],
        [SONNET, 0, 1000, 0],
      ]);
    } finally {
      db.close();
    }
    // Repricing: the calls without usage stay of unknown cost, not unpriced.
    const repriced = await reportJson(ctx, ["--by", "model", "--reprice"]);
    const mini = repriced.rows.find((r: Doc) => r.group === MINI);
    assert.deepEqual([mini.repriced_unpriced_calls, mini.repriced_complete, mini.repriced_cost_usd], [0, false, 0]);
    const local = repriced.rows.find((r: Doc) => r.group === "local/llama");
    assert.deepEqual([local.repriced_unpriced_calls, local.repriced_complete, local.repriced_cost_usd], [
      2,
      false,
      null,
    ]);
    const text = await cost(ctx, ["report", "--by", "workflow"], PLAIN_ENV);
    assertExit(text, 0);
    // No known cost: for want of a price, or (a priced model) of usage.
    assert.match(text.stdout, /^local .* unpriced$/m);
    assert.match(text.stdout, /^timeout .* unknown$/m);
    assert.match(text.stdout, /^\+ cost leaves out calls of a model without a price: local\/llama \(2 calls\) /m);
    assert.match(
      text.stdout,
      /^\+ cost leaves out calls whose usage was not reported \(.*\): openai\/gpt-4o-mini \(2 calls\), local\/llama \(1 call\)$/m,
    );
    const metrics = await runPflow(["metrics"], { env: ctx.env });
    assertExit(metrics, 0);
    const sample = (name: string, provider: string, model: string) => {
      const line = metrics.stdout.split("\n").find((l) =>
        l.startsWith(`${name}{provider="${provider}",model="${model}"}`)
      );
      assert.ok(line !== undefined, `${name} ${provider}/${model} in:\n${metrics.stdout}`);
      return Number(line.split(" ").at(-1));
    };
    assert.equal(sample("pflow_llm_unpriced_calls_total", "local", "llama"), 2);
    assert.equal(sample("pflow_llm_unpriced_calls_total", "openai", "gpt-4o-mini"), 0);
    assert.equal(sample("pflow_llm_usage_missing_calls_total", "local", "llama"), 1);
    assert.equal(sample("pflow_llm_usage_missing_calls_total", "openai", "gpt-4o-mini"), 2);
    assert.equal(sample("pflow_llm_usage_missing_calls_total", "anthropic", "claude-sonnet-4-5"), 0);
    // A run writes to the migrated ledger as to a new one, its call without usage counted as such.
    await runJson(
      ctx,
      chain([{ id: "q", type: "llm", params: { model: MINI, prompt: "hi [[no-usage]]" } }]),
      "new.json",
    );
    const after = await reportJson(ctx, ["--by", "workflow", "--workflow", "new"]);
    assert.deepEqual(counts(after.rows[0]), [1, 0, 1, false]);
  });
});

// ---------------------------------------------------------------- terminal layout

Deno.test("a version-5 ledger (written by the binary) migrates: a node execution counts for each model it called", async () => {
  await withLlm(async (ctx) => {
    // See tests/fixtures/make_ledger_v5.ts: one batch execution calling Haiku twice, then gpt-4o-mini.
    copyFileSync(join(ROOT, "tests/fixtures/ledger-v5.db"), join(ctx.home, "ledger.db"));
    const byNode = await reportJson(ctx, ["--by", "node", "--breakdown"]);
    assert.deepEqual(byNode.rows.map((r: Doc) => [r.group, r.executions, r.llm_calls]).sort(), [
      ["multimodel/many", 1, 3],
      ["single/a", 1, 1],
    ]);
    const many = byNode.rows.find((r: Doc) => r.group === "multimodel/many");
    assert.deepEqual(many.breakdown.map((b: Doc) => [b.group, b.executions, b.llm_calls]).sort(), [
      [HAIKU, 1, 2],
      [MINI, 1, 1],
    ]);
    const mini = await reportJson(ctx, ["--by", "node", "--model", MINI]);
    assert.deepEqual(mini.rows.map((r: Doc) => [r.group, r.executions]), [["multimodel/many", 1]]);
    const run = (await reportJson(ctx, ["--by", "run"])).rows.find((r: Doc) => r.workflow === "multimodel");
    const show = await cost(ctx, ["show", run.execution_id, "--json"]);
    assertExit(show, 0);
    assert.deepEqual(JSON.parse(show.stdout).rows.map((r: Doc) => [r.model, r.executions, r.llm_calls]).sort(), [
      [HAIKU, 1, 2],
      [MINI, 1, 1],
    ]);
    const db = openDb(ctx.home);
    try {
      assert.equal((db.prepare("PRAGMA user_version").get() as { user_version: number }).user_version, 8);
    } finally {
      db.close();
    }
    // A run writes to the migrated ledger as to a new one.
    await runJson(ctx, chain([llm("a", HAIKU, HAIKU_USAGE)]));
    assert.equal((await reportJson(ctx, ["--by", "run"])).rows.length, 3);
  });
});

Deno.test("a version-6 ledger (written by the binary) migrates: the counts so far of calls whose usage is missing leave every total", async () => {
  await withLlm(async (ctx) => {
    // See tests/fixtures/make_ledger_v6.ts: two runs of a Sonnet stream cut off after message_start (100,000 and
    // 250,000 input tokens so far), each retried to completion (1,000 in, 100 out: $0.0045).
    copyFileSync(join(ROOT, "tests/fixtures/ledger-v6.db"), join(ctx.home, "ledger.db"));
    for (const by of ["day", "model", "node", "run"]) {
      const doc = await reportJson(ctx, ["--by", by, "--reprice"]);
      assert.deepEqual(
        [doc.totals.llm_calls, doc.totals.usage_missing_calls, doc.totals.input_tokens, doc.totals.output_tokens],
        [4, 2, 2000, 200],
        `--by ${by}`,
      );
      near(doc.totals.cost_usd, 0.009, `--by ${by}: recorded`);
      near(doc.totals.repriced_cost_usd, 0.009, `--by ${by}: repriced, the long one's counts so far at no tier`);
      for (const row of doc.rows) {
        near(row.repriced_cost_usd, row.cost_usd, `--by ${by}: ${row.group}`);
        if (by === "run") assert.equal(row.input_tokens, 1000);
      }
    }
    const run = (await reportJson(ctx, ["--by", "run"])).rows[0];
    const show = await cost(ctx, ["show", run.execution_id, "--json"]);
    assertExit(show, 0);
    assert.equal(JSON.parse(show.stdout).totals.input_tokens, 1000);
    const db = openDb(ctx.home);
    try {
      assert.equal((db.prepare("PRAGMA user_version").get() as { user_version: number }).user_version, 8);
      assert.deepEqual(
        db.prepare("SELECT input_tokens + output_tokens AS n FROM calls ORDER BY id").all().map((r) => Number(r.n)),
        [0, 1100, 0, 1100],
      );
    } finally {
      db.close();
    }
  });
});

Deno.test("a terminal narrower than 100 columns gets the compact layout, coloured unless NO_COLOR", async () => {
  await withLlm(async (ctx) => {
    await runJson(ctx, chain([llm("a", SONNET, SONNET_USAGE), llm("b", MINI, MINI_USAGE)]));
    const inTerminal = (columns: number, env: Record<string, string>) => {
      const command = `stty cols ${columns}; ${PFLOW_BIN} cost report`;
      const result = spawnSync("script", ["-qfec", command, "/dev/null"], {
        env: { PATH: process.env.PATH, HOME: process.env.HOME, TERM: "xterm", ...ctx.env, ...env },
        encoding: "utf8",
      });
      assert.equal(result.status, 0, `${result.stdout}\n${result.stderr}`);
      return result.stdout.replace(/\r/g, "");
    };
    const narrow = inTerminal(80, { NO_COLOR: "1" });
    assert.match(narrow, /^DATE +MODELS +INPUT +OUTPUT +COST$/m);
    assert.match(narrow, /^\d{4}-\d{2}-\d{2} +claude-sonnet-4-5, gpt-4o-mini +2,000 +900 +\$0\.0131$/m);
    assert.ok(!narrow.includes(ANSI));
    const wide = inTerminal(140, { NO_COLOR: "1" });
    assert.match(wide, /^DATE +RUNS +CALLS +INPUT +CACHE WRITE +CACHE READ +OUTPUT +TOTAL TOKENS +COST$/m);
    const coloured = inTerminal(140, {});
    assert.ok(coloured.includes(`${ANSI}1mTotal${ANSI}22m`), coloured);
    const piped: CliResult = await cost(ctx, ["report"]);
    assert.ok(!piped.stdout.includes(ANSI), "no colour into a pipe");
  });
});

Deno.test("the compact layout fits 80 columns: many long model names, a long workflow, --breakdown, --reprice", async () => {
  await withLlm(async (ctx) => {
    const openAiUsage = { prompt_tokens: 1200, completion_tokens: 300 };
    const models = [
      ["anthropic/claude-sonnet-4-5-20250929", HAIKU_USAGE],
      ["openai/gpt-4o-mini-2024-07-18", openAiUsage],
      ["anthropic/claude-3-7-sonnet-20250219", HAIKU_USAGE],
      ["openai/gpt-4.1-nano-2025-04-14", openAiUsage],
      ["anthropic/claude-haiku-4-5-20251001", HAIKU_USAGE],
    ] as const;
    const nodes = models.map(([model, usage], i) =>
      llm(i === 0 ? "summarise-the-long-document" : `n${i}`, model, usage)
    );
    await runJson(ctx, chain(nodes, { name: "a-rather-long-workflow-name-for-the-report" }));
    const inTerminal = (args: string, env: Record<string, string>) => {
      const result = spawnSync("script", ["-qfec", `stty cols 80; ${PFLOW_BIN} cost report ${args}`, "/dev/null"], {
        env: { PATH: process.env.PATH, HOME: process.env.HOME, TERM: "xterm", ...ctx.env, ...env },
        encoding: "utf8",
      });
      assert.equal(result.status, 0, `${result.stdout}\n${result.stderr}`);
      return result.stdout.replace(/\r/g, "");
    };
    for (const by of ["day", "workflow", "node", "run", "model"]) {
      for (const extra of ["", " --reprice"]) {
        for (const env of [PLAIN_ENV, {}]) {
          // As shown: without the colour codes.
          // deno-lint-ignore no-control-regex
          const out = inTerminal(`--by ${by} --breakdown${extra}`, env).replace(/\x1b\[\d+m/g, "");
          assert.match(out, /^Total /m, out);
          for (const line of out.split("\n")) {
            assert.ok([...line].length <= 80, `--by ${by}${extra}: ${[...line].length} columns: ${line}\n${out}`);
          }
        }
      }
    }
    const day = inTerminal("--breakdown", PLAIN_ENV);
    // The date column as wide as a date: the breakdown rows name their model under MODELS, cut with an ellipsis.
    assert.match(day, /^DATE {8}MODELS {2}/m, day);
    assert.match(day, /^\d{4}-\d{2}-\d{2} {2}claude-[\w.-]+…?, \+[1-4] /m, day);
    assert.equal(day.match(/^ {12}└ (claude|gpt)-/gm)?.length, 5, day);
    const node = inTerminal("--by node", PLAIN_ENV);
    // A node group keeps its node: the workflow is cut first.
    assert.match(node, /^a-rather-lon[\w-]*…\/n1 /m, node);
  });
});

Deno.test("a cost of 1e21 dollars and more is written out in every view, never $1e+21", async () => {
  await withLlm(async (ctx) => {
    // 1e15 input tokens at 1e12 USD per million: 1e21 USD a call.
    writeFileSync(join(ctx.home, "pricing.yaml"), `models:\n  ${HAIKU}:\n    input: 1e12\n`);
    const wf = chain([llm("a", HAIKU, { input_tokens: 1e15, output_tokens: 0 })]);
    const run = await runWorkflowFile(ctx, wf, [], { env: PLAIN_ENV });
    assertExit(run, 0);
    assert.match(run.stderr, / · \$1000000000000000000000\.00 · /, explain(run));
    const views = [["report"], ["report", "--by", "run"], ["report", "--top", "1"], ["report", "--format", "md"], [
      "show",
    ]];
    for (const args of views) {
      const result = await cost(ctx, args, PLAIN_ENV);
      assertExit(result, 0);
      assert.ok(result.stdout.includes("$1000000000000000000000.00"), `${args.join(" ")}:\n${result.stdout}`);
      assert.doesNotMatch(result.stdout, /\$[\d.]+e/, args.join(" "));
    }
  });
});

Deno.test("an unquoted price table version (version: 1.10) is recorded and shown as written, not as 1.1", async () => {
  await withLlm(async (ctx) => {
    writeFileSync(join(ctx.home, "pricing.yaml"), "version: 1.10\n");
    await runJson(ctx, chain([llm("a", HAIKU, HAIKU_USAGE)]));
    const show = await cost(ctx, ["show", "--json"]);
    assertExit(show, 0);
    assert.equal(JSON.parse(show.stdout).run.price_version, "1.10");
    const text = await cost(ctx, ["show"], PLAIN_ENV);
    assert.match(text.stdout, /^prices: 1\.10 \(builtin \+ /m, text.stdout);
    const table = writePriceTable(ctx, "other.yaml", "version: 0x10\n");
    const repriced = await cost(ctx, ["report", "--reprice", "--price-table", table], PLAIN_ENV);
    assert.match(repriced.stdout, /^repriced with price table 0x10 \(/m, repriced.stdout);
    const prices = await runPflow(["pricing", "show"], { env: ctx.env });
    assert.match(prices.stdout, /^prices: USD per million tokens · version 1\.10 · /, prices.stdout);
  });
});

// ---------------------------------------------------------------- planned runs

/** Planner reply usage: Haiku 4.5, 1000*1 + 200*5 = 2000 µ$. */
const PLAN_USAGE = { input_tokens: 1000, output_tokens: 200 };
const PLAN_COST = 0.002;

/** A generated workflow with one llm node (gpt-4o-mini, MINI_USAGE). */
const ASKING = {
  ir_version: "0.1.0",
  name: "ask-once",
  description: "Asks a model once",
  nodes: [{ id: "ask", type: "llm", params: { model: MINI, prompt: `[[usage:${JSON.stringify(MINI_USAGE)}]] go` } }],
};

Deno.test("planned runs: planner calls in the planner phase, the workflow learned after planning, failures recorded", async () => {
  await withLlm(async (ctx) => {
    const env = { PFLOW_PLANNER_MODEL: HAIKU };
    ctx.srv.enqueue({ json: { workflow: ASKING, params: {} }, usage: PLAN_USAGE });
    const planned = await runPflow(["plan", "ask a model once", "--output-format", "json", "--trace-planner"], {
      env: { ...ctx.env, ...env },
      cwd: ctx.dir,
    });
    assertExit(planned, 0);
    const doc = oneJson(planned);
    near(doc.total_cost_usd, PLAN_COST + MINI_COST, "the run's own total");
    const show = await cost(ctx, ["show", "latest", "--json"]);
    assertExit(show, 0);
    const run = JSON.parse(show.stdout);
    assert.equal(run.run.execution_id, doc.execution_id);
    assert.equal(run.run.kind, "planned");
    assert.equal(run.run.workflow, "ask-once");
    assert.equal(run.run.planner_path, "generate");
    assert.equal(run.run.planner_trace_file, doc.planner_trace_path);
    assert.ok(run.run.workflow_file.endsWith(".json"), run.run.workflow_file);
    assert.equal(run.run.status, "success");
    assert.deepEqual(run.rows.map((r: Doc) => [r.phase, r.model, r.llm_calls]), [
      ["planner", HAIKU, 1],
      ["workflow", MINI, 1],
    ]);
    near(run.totals.cost_usd, doc.total_cost_usd, "ledger total");
    const planner = await reportJson(ctx, ["--phase", "planner", "--by", "workflow"]);
    assert.deepEqual(planner.rows.map((r: Doc) => r.group), ["ask-once"], "planner calls follow the workflow");
    near(planner.totals.cost_usd, PLAN_COST, "planner phase");
    const workflowPhase = await reportJson(ctx, ["--phase", "workflow"]);
    near(workflowPhase.totals.cost_usd, MINI_COST, "workflow phase");
    // A planning that fails is a failed run that spent its planner calls.
    const broken = { ...ASKING, edges: [{ from: "ask", to: "nowhere" }] };
    ctx.srv.enqueue(
      { json: { workflow: broken, params: {} }, usage: PLAN_USAGE },
      { json: { workflow: broken, params: {} }, usage: PLAN_USAGE },
    );
    const failed = await runPflow(["plan", "ask again", "--max-repairs", "1"], {
      env: { ...ctx.env, ...env },
      cwd: ctx.dir,
    });
    assertExit(failed, 2);
    const runs = await reportJson(ctx, ["--by", "run"]);
    assert.equal(runs.rows.length, 2);
    const last = runs.rows[1];
    assert.equal(last.status, "failed");
    assert.equal(last.llm_calls, 2);
    near(last.cost_usd, 2 * PLAN_COST, "failed planning");
    const lastShow = JSON.parse((await cost(ctx, ["show", last.execution_id, "--json"])).stdout);
    assert.equal(lastShow.run.subtype, "error_planning");
    assert.equal(lastShow.run.kind, "planned");
    assert.ok(lastShow.run.planner_trace_file, "the failed planning's trace is named");
  });
});

Deno.test("cost --help documents every flag cost report accepts, and each documented flag is accepted", async () => {
  const { documentedFlags } = await import("../src/cli/completion_command.ts");
  const help = await runPflow(["cost", "--help"]);
  assertExit(help, 0);
  const documented = documentedFlags("cost").map((f) => f.long).sort();
  assert.deepEqual(documented, [
    "--breakdown",
    "--by",
    "--format",
    "--help",
    "--json",
    "--model",
    "--output",
    "--output-format",
    "--phase",
    "--price-table",
    "--reprice",
    "--since",
    "--status",
    "--timezone",
    "--top",
    "--until",
    "--verbose",
    "--workflow",
  ]);
  await withLlm(async (ctx) => {
    for (const flag of documentedFlags("cost")) {
      // Run in the test's dir: `--output=x` writes a report there.
      const args = ["cost", "report", flag.value ? `${flag.long}=x` : flag.long];
      const result = await runPflow(args, { env: ctx.env, cwd: ctx.dir });
      assert.doesNotMatch(result.stderr, /unknown flag/, `${flag.long}: ${result.stderr}`);
    }
  });
});

Deno.test("cost report and cost show: calls of an unpriced model beside free ones cost 'unpriced', as the run's summary line says, not $0+", async () => {
  await withLlm(async (ctx) => {
    writeSettings(ctx, { providers: { local: { base_url: `${ctx.srv.url}/v1` } } });
    // local/free is explicitly free (price 0); local/llama has no price.
    writeFileSync(join(ctx.home, "pricing.yaml"), "models:\n  local/free:\n    input: 0\n    output: 0\n");
    const usage = { prompt_tokens: 700, completion_tokens: 50 };
    const run = await runWorkflowFile(ctx, chain([llm("f", "local/free", usage), llm("l", "local/llama", usage)]), [], {
      name: "wf.json",
    });
    assertExit(run, 0);
    assert.match(run.stderr, / unpriced /, "the summary line");
    for (
      const args of [["report", "--by", "run"], ["report", "--by", "model"], ["report", "--top", "3"], [
        "show",
        "latest",
      ]]
    ) {
      const text = await cost(ctx, args, PLAIN_ENV);
      assertExit(text, 0);
      assert.doesNotMatch(text.stdout, /\$0\+/, `${args.join(" ")}:\n${text.stdout}`);
      assert.match(text.stdout, /unpriced/, `${args.join(" ")}:\n${text.stdout}`);
    }
    const top = await reportJson(ctx, ["--top", "3"]);
    assert.equal(top.top_runs[0].unpriced_calls, 1);
    assert.deepEqual(top.top_nodes.map((n: Doc) => [n.node, n.unpriced_calls]).sort(), [["f", 0], ["l", 1]]);
    // The free model alone is a known $0.
    const byModel = await cost(ctx, ["report", "--by", "model"], PLAIN_ENV);
    assert.match(byModel.stdout, /local\/free .*\$0(\.0+)?\s*$/m, byModel.stdout);
  });
});
