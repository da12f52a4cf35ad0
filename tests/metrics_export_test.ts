/**
 * End-to-end tests of the metrics exports through the compiled binary,
 * against real components: `pflow metrics` (checked by `promtool check
 * metrics` and against the ledger's own rows), `pflow metrics serve`
 * (scraped by a real Prometheus server, which asks for OpenMetrics),
 * `--pushgateway` (Debian's Pushgateway) and OTLP metrics (the local OTLP
 * receiver, bodies decoded).
 * @module
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { createServer as createHttpServer } from "node:http";
import { createServer, type Socket } from "node:net";
import { join } from "node:path";
import process from "node:process";
import { DatabaseSync } from "node:sqlite";
import { PFLOW_BIN, runPflow, workflow } from "./support/cli.ts";
import {
  assertExit,
  chain,
  type Doc,
  explain,
  HAIKU,
  llm,
  type LlmCtx,
  MINI,
  MINI_USAGE,
  oneJson,
  runWorkflowFile,
  SONNET,
  SONNET_USAGE,
  withLlm,
  writeSettings,
} from "./support/llm_run.ts";
import { type AnyValue, closedPort, decodeAttributes, startOtlpReceiver } from "./support/otlp_receiver.ts";
import {
  type Exposition,
  freePort,
  parseExposition,
  promtoolCheck,
  sampleValue,
  startPrometheus,
  startPushgateway,
} from "./support/prometheus.ts";

/** A workflow name that needs escaping in every format. */
const WEIRD = 'we"ird\\name\nline';
const HAIKU_USAGE = { input_tokens: 400, output_tokens: 100 };

/** `pflow ARGS…` in the test's home. */
function pflow(ctx: { env: Record<string, string>; dir?: string }, args: string[], env: Record<string, string> = {}) {
  return runPflow(args, { env: { ...ctx.env, ...env }, cwd: ctx.dir });
}

/** The ledger's own figures, for comparing. */
function ledgerRows(home: string, sql: string): Record<string, number | string | null>[] {
  const db = new DatabaseSync(join(home, "ledger.db"));
  try {
    return db.prepare(sql).all() as Record<string, number | string | null>[];
  } finally {
    db.close();
  }
}

/** Runs a mix: LLM calls under a weird name, shell runs (one failing), a batch. */
async function runMix(ctx: LlmCtx): Promise<Doc[]> {
  const docs: Doc[] = [];
  const json = async (wf: unknown, name: string, args: string[] = [], code = 0) => {
    const result = await runWorkflowFile(ctx, wf, ["--output-format", "json", ...args], { name });
    assertExit(result, code);
    docs.push(oneJson(result));
  };
  // Plain text runs: not instrumented, so their nodes are counted but not timed.
  const plain = async (wf: unknown, name: string, code = 0) =>
    assertExit(await runWorkflowFile(ctx, wf, [], { name }), code);
  await json(
    chain([llm("draft", SONNET, SONNET_USAGE), llm("check", MINI, MINI_USAGE)], { name: WEIRD }),
    "weird.json",
  );
  const shelly = workflow([{ id: "say", type: "shell", params: { command: "echo hi" } }], { name: "shelly" });
  await plain(shelly, "shelly.json");
  await plain(shelly, "shelly.json");
  await plain(
    workflow([{ id: "boom", type: "shell", params: { command: "exit 3" } }], { name: "broken" }),
    "broken.json",
    1,
  );
  await json(
    workflow([{
      id: "many",
      type: "llm",
      batch: { items: ["a", "b", "c"], parallel: true },
      params: { model: HAIKU, prompt: `[[usage:${JSON.stringify(HAIKU_USAGE)}]] \${item}` },
    }], { name: "batchy" }),
    "batchy.json",
  );
  return docs;
}

/** Histogram invariants: buckets cumulative (non-decreasing), `+Inf` equals `_count`. */
function assertHistograms(exposition: Exposition, family: string): void {
  const buckets = exposition.samples.filter((s) => s.name === `${family}_bucket`);
  assert.ok(buckets.length > 0, `${family} has buckets`);
  const series = new Map<string, typeof buckets>();
  for (const b of buckets) {
    const { le: _le, ...rest } = b.labels;
    const key = JSON.stringify(rest);
    if (!series.has(key)) series.set(key, []);
    series.get(key)!.push(b);
  }
  for (const [key, list] of series) {
    const labels = JSON.parse(key);
    for (let i = 1; i < list.length; i++) {
      assert.ok(list[i].value >= list[i - 1].value, `${family}${key}: buckets not cumulative`);
      assert.ok(Number(list[i].labels.le.replace("+Inf", "Infinity")) > Number(list[i - 1].labels.le), "le ascending");
    }
    assert.equal(list.at(-1)!.labels.le, "+Inf");
    assert.equal(
      list.at(-1)!.value,
      sampleValue(exposition, `${family}_count`, labels),
      `${family}${key}: +Inf ≠ count`,
    );
  }
}

// ---------------------------------------------------------------- pflow metrics

Deno.test("pflow metrics: the ledger's sums in the Prometheus text format, promtool-clean, escaped, -o atomic", async () => {
  await withLlm(async (ctx) => {
    const docs = await runMix(ctx);
    const out = join(ctx.dir, "textfile", "pflow.prom");
    mkdirSync(join(ctx.dir, "textfile"));
    const written = await pflow(ctx, ["metrics", "-o", out]);
    assertExit(written, 0);
    assert.equal(written.stdout, "");
    const text = readFileSync(out, "utf8");
    assert.deepEqual(readdirSync(join(ctx.dir, "textfile")), ["pflow.prom"], "no temp file left");
    assert.equal(statSync(out).mode & 0o777, 0o644, "readable by node_exporter");
    const stdout = await pflow(ctx, ["metrics"]);
    assertExit(stdout, 0);
    assert.equal(stdout.stdout, text, "-o writes what stdout shows");
    const check = promtoolCheck(text);
    assert.equal(check.code, 0, `promtool check metrics:\n${check.output}`);
    const m = parseExposition(text);
    // Runs by workflow and status, as the runs ended.
    assert.equal(sampleValue(m, "pflow_workflow_runs_total", { workflow: WEIRD, status: "success" }), 1);
    assert.equal(sampleValue(m, "pflow_workflow_runs_total", { workflow: "shelly", status: "success" }), 2);
    assert.equal(sampleValue(m, "pflow_workflow_runs_total", { workflow: "broken", status: "failed" }), 1);
    assert.ok(text.includes('workflow="we\\"ird\\\\name\\nline"'), "label value escaped: quote, backslash, newline");
    // Node executions: every run counts (plain runs untimed), the failed one as an error.
    assert.equal(sampleValue(m, "pflow_node_executions_total", { node_type: "shell", status: "success" }), 2);
    assert.equal(sampleValue(m, "pflow_node_executions_total", { node_type: "shell", status: "error" }), 1);
    assert.equal(sampleValue(m, "pflow_node_executions_total", { node_type: "llm", status: "success" }), 3);
    assert.equal(
      sampleValue(m, "pflow_node_duration_seconds_count", { node_type: "shell" }),
      0,
      "plain runs time no node",
    );
    assert.equal(sampleValue(m, "pflow_node_duration_seconds_count", { node_type: "llm" }), 3);
    // LLM figures equal the ledger's.
    const byModel = ledgerRows(
      ctx.home,
      `SELECT l.text AS model, count(*) AS calls, total(c.input_tokens) AS input, total(c.cache_read_tokens) AS cache_read,
         total(c.cache_write_5m_tokens + c.cache_write_1h_tokens) AS cache_write, total(c.output_tokens) AS output,
         total(c.reasoning_tokens) AS reasoning, total(coalesce(c.reported_cost_usd, c.cost_usd)) AS cost,
         total(c.duration_ms) AS duration FROM calls c JOIN labels l ON l.id = c.model GROUP BY l.text`,
    );
    assert.equal(byModel.length, 3);
    for (const row of byModel) {
      const [provider, model] = String(row.model).split("/");
      const labels = { provider, model };
      assert.equal(sampleValue(m, "pflow_llm_calls_total", { ...labels, status: "ok" }), row.calls);
      for (const type of ["input", "cache_read", "cache_write", "output", "reasoning"]) {
        assert.equal(sampleValue(m, "pflow_llm_tokens_total", { ...labels, type }), row[type], `${model} ${type}`);
      }
      assert.ok(Math.abs(sampleValue(m, "pflow_llm_cost_dollars_total", labels) - Number(row.cost)) < 1e-12);
      assert.equal(sampleValue(m, "pflow_llm_call_duration_seconds_count", labels), row.calls);
      assert.ok(
        Math.abs(sampleValue(m, "pflow_llm_call_duration_seconds_sum", labels) - Number(row.duration) / 1000) < 1e-9,
      );
      assert.equal(sampleValue(m, "pflow_llm_unpriced_calls_total", labels), 0);
    }
    const totalCost = docs.reduce((s, d) => s + d.total_cost_usd, 0);
    const metricCost = m.samples.filter((s) => s.name === "pflow_llm_cost_dollars_total").reduce(
      (s, x) => s + x.value,
      0,
    );
    assert.ok(Math.abs(metricCost - totalCost) < 1e-9, `cost ${metricCost} ≠ runs ${totalCost}`);
    // Workflow durations and last-run times equal the run rows.
    const runs = ledgerRows(
      ctx.home,
      `SELECT l.text AS workflow, r.status AS status, count(*) AS n, total(r.duration_ms) AS duration,
         max(r.ended_ms) AS ended FROM runs r JOIN labels l ON l.id = r.workflow GROUP BY l.text, r.status`,
    );
    for (const row of runs) {
      const workflow = String(row.workflow);
      assert.equal(
        sampleValue(m, "pflow_workflow_last_run_timestamp_seconds", { workflow, status: String(row.status) }),
        Number(row.ended) / 1000,
      );
    }
    const shelly = runs.find((r) => r.workflow === "shelly")!;
    assert.equal(sampleValue(m, "pflow_workflow_duration_seconds_count", { workflow: "shelly" }), 2);
    assert.ok(
      Math.abs(
        sampleValue(m, "pflow_workflow_duration_seconds_sum", { workflow: "shelly" }) - Number(shelly.duration) / 1000,
      ) < 1e-9,
    );
    assert.equal(
      sampleValue(m, "pflow_workflow_last_success_timestamp_seconds", { workflow: "shelly" }),
      Number(shelly.ended) / 1000,
    );
    assert.throws(() => sampleValue(m, "pflow_workflow_last_success_timestamp_seconds", { workflow: "broken" }));
    for (
      const family of [
        "pflow_workflow_duration_seconds",
        "pflow_node_duration_seconds",
        "pflow_llm_call_duration_seconds",
      ]
    ) {
      assertHistograms(m, family);
      assert.equal(m.types.get(family), "histogram");
    }
    assert.equal(m.types.get("pflow_workflow_runs_total"), "counter");
    assert.match(m.help.get("pflow_llm_cost_dollars_total")!, /US dollars \(USD\)/);
    assert.equal(sampleValue(m, "pflow_build_info", { version: "0.1.0" }), 1);
    // No unbounded label anywhere: no execution ids, prompts or params.
    const labelNames = new Set(m.samples.flatMap((s) => Object.keys(s.labels)));
    assert.deepEqual([...labelNames].sort(), [
      "le",
      "model",
      "node_type",
      "provider",
      "status",
      "type",
      "version",
      "workflow",
    ]);
    assert.ok(!docs.some((d) => text.includes(d.execution_id)));
    // A run that measures its nodes (--metrics) times them.
    const measured = workflow([{ id: "say", type: "shell", params: { command: "echo hi" } }], { name: "shelly" });
    assertExit(await runWorkflowFile(ctx, measured, ["--metrics"], { name: "timed.json" }), 0);
    const timed = parseExposition((await pflow(ctx, ["metrics"])).stdout);
    assert.equal(sampleValue(timed, "pflow_node_duration_seconds_count", { node_type: "shell" }), 1);
    assert.equal(sampleValue(timed, "pflow_node_executions_total", { node_type: "shell", status: "success" }), 3);
  });
});

Deno.test("pflow metrics --format openmetrics: the same values, OpenMetrics names, units and # EOF; --since", async () => {
  await withLlm(async (ctx) => {
    await runMix(ctx);
    const prom = parseExposition((await pflow(ctx, ["metrics"])).stdout);
    const result = await pflow(ctx, ["metrics", "--format", "openmetrics"]);
    assertExit(result, 0);
    const om = parseExposition(result.stdout);
    assert.ok(om.eof && result.stdout.endsWith("# EOF\n"));
    assert.equal(om.types.get("pflow_workflow_runs"), "counter", "the counter's family has no _total");
    assert.equal(om.types.get("pflow_llm_cost_dollars"), "counter");
    assert.equal(om.units.get("pflow_llm_cost_dollars"), "dollars");
    assert.equal(om.units.get("pflow_llm_call_duration_seconds"), "seconds");
    assert.equal(om.types.get("pflow_build"), "info");
    assert.deepEqual(om.samples, prom.samples, "the same samples in both formats");
    assert.ok(result.stdout.includes('workflow="we\\"ird\\\\name\\nline"'));
    const future = await pflow(ctx, ["metrics", "--since", "2099-01-01"]);
    assertExit(future, 0);
    const empty = parseExposition(future.stdout);
    assert.deepEqual(empty.samples.filter((s) => s.name === "pflow_workflow_runs_total"), []);
    assert.equal(sampleValue(empty, "pflow_build_info"), 1);
    for (
      const [args, message] of [
        [["metrics", "--format", "json"], /--format must be prometheus or openmetrics/],
        [["metrics", "--since", "soon"], /--since must be a time ago \(30m, 24h, 7d, 4w\), a date/],
        [["metrics", "extra"], /unexpected argument 'extra'/],
        [["metrics", "serve", "--listen", "nope:port"], /--listen must be HOST:PORT or PORT/],
        [["metrics", "serve", "-o", "x"], /--output is not a flag of 'pflow metrics serve' \(it answers scrapes/],
        [
          ["metrics", "serve", "--since", "1d"],
          /--since is not a flag of 'pflow metrics serve' \(its counters cover the whole ledger/,
        ],
        [
          ["metrics", "serve", "--format", "openmetrics"],
          /--format is not a flag .*\(a scrape asks for its format, in its Accept header\)/,
        ],
      ] as [string[], RegExp][]
    ) {
      const bad = await pflow(ctx, args);
      assertExit(bad, 2);
      assert.match(bad.stderr, message, explain(bad));
    }
  });
});

Deno.test("pflow metrics: a run in progress is a gauge, not a counter series that vanishes when it ends", async () => {
  await withLlm(async (ctx) => {
    const gate = join(ctx.dir, "gate");
    const wf = workflow([{
      id: "wait",
      type: "shell",
      params: { command: `while [ ! -e '${gate}' ]; do sleep 0.05; done` },
    }], { name: "longrun" });
    const run = runWorkflowFile(ctx, wf, [], { name: "longrun.json" });
    const scrape = async (format = "prometheus") => {
      const result = await pflow(ctx, ["metrics", "--format", format]);
      assertExit(result, 0);
      return result.stdout;
    };
    let during = "";
    const deadline = Date.now() + 15_000;
    while (!during.includes('pflow_workflow_runs_in_progress{workflow="longrun"} 1') && Date.now() < deadline) {
      during = await scrape();
    }
    const om = await scrape("openmetrics");
    writeFileSync(gate, "");
    assertExit(await run, 0);
    const after = await scrape();
    for (const text of [during, after]) {
      const check = promtoolCheck(text);
      assert.equal(check.code, 0, `promtool check metrics:\n${check.output}\n${text}`);
    }
    const m = parseExposition(during);
    assert.equal(sampleValue(m, "pflow_workflow_runs_in_progress", { workflow: "longrun" }), 1);
    assert.equal(m.types.get("pflow_workflow_runs_in_progress"), "gauge");
    assert.deepEqual(
      m.samples.filter((s) => s.name === "pflow_workflow_runs_total"),
      [],
      "no counter series for a run that has not ended",
    );
    const o = parseExposition(om);
    assert.equal(o.types.get("pflow_workflow_runs_in_progress"), "gauge");
    assert.equal(sampleValue(o, "pflow_workflow_runs_in_progress", { workflow: "longrun" }), 1);
    const a = parseExposition(after);
    assert.equal(sampleValue(a, "pflow_workflow_runs_total", { workflow: "longrun", status: "success" }), 1);
    assert.equal(sampleValue(a, "pflow_workflow_runs_in_progress", { workflow: "longrun" }), 0, "0, not gone");
    assert.ok(!a.samples.some((s) => s.labels.status === "running"), 'no status="running" anywhere');
  });
});

Deno.test("pflow metrics: calls without usage and calls of a model without a price are counted apart", async () => {
  await withLlm(async (ctx) => {
    writeSettings(ctx, { providers: { local: { base_url: `${ctx.srv.url}/v1` } } });
    const silent = (id: string, model: string) => ({
      id,
      type: "llm",
      params: { model, prompt: `${id} [[no-usage]]` },
    });
    const result = await runWorkflowFile(
      ctx,
      chain([
        llm("a", MINI, MINI_USAGE),
        silent("b", MINI),
        llm("c", "local/llama", { prompt_tokens: 700, completion_tokens: 50 }),
        silent("d", "local/llama"),
        silent("e", "local/llama"),
      ], { name: "mixed" }),
    );
    assertExit(result, 0);
    const text = (await pflow(ctx, ["metrics"])).stdout;
    const check = promtoolCheck(text);
    assert.equal(check.code, 0, `promtool check metrics:\n${check.output}`);
    const m = parseExposition(text);
    const mini = { provider: "openai", model: "gpt-4o-mini" };
    const local = { provider: "local", model: "llama" };
    assert.equal(sampleValue(m, "pflow_llm_unpriced_calls_total", mini), 0, "gpt-4o-mini has a price");
    assert.equal(sampleValue(m, "pflow_llm_usage_missing_calls_total", mini), 1);
    assert.equal(sampleValue(m, "pflow_llm_unpriced_calls_total", local), 1, "only its call with usage");
    assert.equal(sampleValue(m, "pflow_llm_usage_missing_calls_total", local), 2);
    assert.equal(m.types.get("pflow_llm_usage_missing_calls_total"), "counter");
    assert.equal(sampleValue(m, "pflow_llm_calls_total", { ...local, status: "ok" }), 3);
  });
});

// ---------------------------------------------------------------- metrics serve

/** Starts `pflow metrics serve` on a free port; resolves with its URL once listening. */
function startServe(
  ctx: LlmCtx,
  args: string[] = [],
): Promise<{ url: string; child: ChildProcess; done: Promise<number | null> }> {
  return new Promise((resolve, reject) => {
    const child = spawn(PFLOW_BIN, ["metrics", "serve", "--listen", "127.0.0.1:0", ...args], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...ctx.env },
      stdio: ["ignore", "ignore", "pipe"],
    });
    const done = new Promise<number | null>((r) => child.on("close", (code) => r(code)));
    let stderr = "";
    const guard = setTimeout(() => reject(new Error(`metrics serve did not start: ${stderr}`)), 15_000);
    child.stderr!.on("data", (d) => {
      stderr += d;
      const m = /Serving metrics on (http:\/\/\S+)/.exec(stderr);
      if (m) {
        clearTimeout(guard);
        resolve({ url: m[1], child, done });
      }
    });
    child.on("error", reject);
  });
}

Deno.test("metrics serve: /metrics per scrape (cached 1 s), OpenMetrics on request, /healthz, 20 concurrent scrapes, clean stop", async () => {
  await withLlm(async (ctx) => {
    await runMix(ctx);
    const served = await startServe(ctx);
    try {
      assert.match(served.url, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/, "binds to 127.0.0.1");
      const base = served.url.replace(/\/metrics$/, "");
      const health = await fetch(`${base}/healthz`);
      assert.equal(health.status, 200);
      assert.equal(await health.text(), "ok\n");
      const missing = await fetch(`${base}/nope`);
      assert.equal(missing.status, 404);
      await missing.body?.cancel();
      const post = await fetch(served.url, { method: "POST" });
      assert.equal(post.status, 405);
      await post.body?.cancel();
      const scrapes = await Promise.all(Array.from({ length: 20 }, () => fetch(served.url)));
      const bodies = await Promise.all(scrapes.map((r) => r.text()));
      for (const r of scrapes) {
        assert.equal(r.status, 200);
        assert.equal(r.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
      }
      assert.equal(new Set(bodies).size, 1, "concurrent scrapes agree");
      const check = promtoolCheck(bodies[0]);
      assert.equal(check.code, 0, `promtool:\n${check.output}`);
      assert.equal(
        sampleValue(parseExposition(bodies[0]), "pflow_workflow_runs_total", { workflow: "shelly", status: "success" }),
        2,
      );
      const om = await fetch(served.url, {
        headers: {
          accept:
            "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
        },
      });
      assert.equal(om.headers.get("content-type"), "application/openmetrics-text; version=1.0.0; charset=utf-8");
      assert.ok((await om.text()).endsWith("# EOF\n"));
      // A new run shows up once the cache (1 s) has passed.
      assertExit(
        await runWorkflowFile(
          ctx,
          workflow([{ id: "say", type: "shell", params: { command: "true" } }], { name: "shelly" }),
          [],
          { name: "again.json" },
        ),
        0,
      );
      await new Promise((resolve) => setTimeout(resolve, 1100));
      const later = parseExposition(await (await fetch(served.url)).text());
      assert.equal(sampleValue(later, "pflow_workflow_runs_total", { workflow: "shelly", status: "success" }), 3);
    } finally {
      process.kill(served.child.pid!, "SIGTERM");
    }
    assert.equal(await served.done, 0, "SIGTERM stops it cleanly");
    const again = await startServe(ctx);
    process.kill(again.child.pid!, "SIGINT");
    assert.equal(await again.done, 0, "SIGINT stops it cleanly");
    await assert.rejects(fetch(again.url), "the port is closed");
  });
});

Deno.test("a run killed with SIGKILL is in progress while its process lives, then interrupted: metrics serve and pflow metrics", async () => {
  await withLlm(async (ctx) => {
    const served = await startServe(ctx);
    try {
      const started = join(ctx.dir, "started");
      const wf = workflow([{
        id: "wait",
        type: "shell",
        params: { command: `touch '${started}'; sleep 30` },
      }], { name: "doomed" });
      let child: ChildProcess | undefined;
      const run = runWorkflowFile(ctx, wf, [], { name: "doomed.json", onSpawn: (c) => child = c });
      const deadline = Date.now() + 15_000;
      while (!existsSync(started) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      const scrape = async () => parseExposition(await (await fetch(served.url)).text());
      const during = await scrape();
      assert.equal(sampleValue(during, "pflow_workflow_runs_in_progress", { workflow: "doomed" }), 1, "alive");
      child!.kill("SIGKILL");
      assert.equal((await run).signal, "SIGKILL");
      await new Promise((resolve) => setTimeout(resolve, 1100)); // past the scrape cache
      for (const m of [await scrape(), parseExposition((await pflow(ctx, ["metrics"])).stdout)]) {
        assert.equal(sampleValue(m, "pflow_workflow_runs_in_progress", { workflow: "doomed" }), 0, "gone");
        assert.equal(sampleValue(m, "pflow_workflow_runs_total", { workflow: "doomed", status: "interrupted" }), 1);
      }
      const [row] = ledgerRows(ctx.home, "SELECT status, subtype, ended_ms, pid FROM runs");
      assert.deepEqual({ ...row, pid: typeof row.pid }, {
        status: "interrupted",
        subtype: "error_process_gone",
        ended_ms: null,
        pid: "number",
      });
    } finally {
      process.kill(served.child.pid!, "SIGTERM");
    }
    assert.equal(await served.done, 0);
  });
});

Deno.test("metrics serve: Accept is negotiated by weight, q=0 refuses, and only the OpenMetrics version served counts", async () => {
  await withLlm(async (ctx) => {
    const served = await startServe(ctx);
    try {
      const PROM = "text/plain; version=0.0.4; charset=utf-8";
      const OM = "application/openmetrics-text; version=1.0.0; charset=utf-8";
      const cases: [string | undefined, string][] = [
        [undefined, PROM],
        ["*/*", PROM],
        ["text/plain;q=1, application/openmetrics-text;q=0.1", PROM],
        ["text/plain, application/openmetrics-text;q=0", PROM],
        ["application/openmetrics-text;q=0", PROM],
        ["application/openmetrics-text;version=0.0.1", PROM],
        ["application/openmetrics-text;version=0.0.1, text/plain;q=0.2", PROM],
        ["application/openmetrics-text;version=1.0.0;q=0, application/openmetrics-text", PROM],
        ["application/openmetrics-text;q=1.5", PROM],
        ["application/json", PROM],
        ["application/openmetrics-text", OM],
        ["application/openmetrics-text;version=1.0.0", OM],
        ["text/plain;q=0.1, application/openmetrics-text;q=0.9", OM],
        ["text/plain;q=0, */*", OM],
        ["application/*;q=0.8, text/plain;version=0.0.4;q=0.5", OM],
        ["text/plain;version=1.0.0;q=0.9, application/openmetrics-text;version=1.0.0;q=0.2", OM],
        // Prometheus 2's and 3's scrape headers.
        [
          "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
          OM,
        ],
        [
          "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2",
          OM,
        ],
      ];
      for (const [accept, expected] of cases) {
        const response = await fetch(served.url, { headers: accept === undefined ? {} : { accept } });
        const body = await response.text();
        assert.equal(response.status, 200);
        assert.equal(response.headers.get("content-type"), expected, `Accept: ${accept}`);
        assert.equal(response.headers.get("vary"), "Accept");
        assert.equal(body.endsWith("# EOF\n"), expected === OM, `Accept: ${accept}: the body is the format named`);
      }
    } finally {
      process.kill(served.child.pid!, "SIGTERM");
      await served.done;
    }
  });
});

Deno.test("metrics serve: a real Prometheus scrapes it (asking for OpenMetrics) with no error and reads the values", async () => {
  await withLlm(async (ctx) => {
    await runMix(ctx);
    const served = await startServe(ctx);
    const prometheus = await startPrometheus([new URL(served.url).host]);
    try {
      let target: { health: string; lastError: string } | undefined;
      const deadline = Date.now() + 20_000;
      while (Date.now() < deadline) {
        [target] = await prometheus.targets();
        if (target?.health === "up") break;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      assert.equal(target?.health, "up", JSON.stringify(target));
      assert.equal(target?.lastError, "");
      const runs = await prometheus.query('pflow_workflow_runs_total{status="success"}');
      const byWorkflow = Object.fromEntries(runs.map((r) => [r.metric.workflow, Number(r.value[1])]));
      assert.deepEqual(byWorkflow, { [WEIRD]: 1, shelly: 2, batchy: 1 }, "escaped names parsed back");
      const inProgress = await prometheus.query("pflow_workflow_runs_in_progress");
      assert.deepEqual(
        Object.fromEntries(inProgress.map((r) => [r.metric.workflow, Number(r.value[1])])),
        { [WEIRD]: 0, shelly: 0, broken: 0, batchy: 0 },
      );
      const tokens = await prometheus.query('pflow_llm_tokens_total{model="gpt-4o-mini",type="reasoning"}');
      assert.equal(Number(tokens[0].value[1]), 150);
      const inf = await prometheus.query('pflow_llm_call_duration_seconds_bucket{model="claude-haiku-4-5",le="+Inf"}');
      assert.equal(Number(inf[0].value[1]), 3);
      const info = await prometheus.query("pflow_build_info");
      assert.equal(info[0].metric.version, "0.1.0");
    } finally {
      await prometheus.close();
      process.kill(served.child.pid!, "SIGTERM");
      await served.done;
    }
  });
});

Deno.test("metrics serve: a port in use is one line and exit 2", async () => {
  await withLlm(async (ctx) => {
    const blocker = createServer();
    const port = await new Promise<number>((resolve) =>
      blocker.listen(0, "127.0.0.1", () => resolve((blocker.address() as { port: number }).port))
    );
    try {
      const result = await pflow(ctx, ["metrics", "serve", "--listen", `127.0.0.1:${port}`]);
      assertExit(result, 2);
      assert.match(result.stderr, new RegExp(`^error: cannot listen on 127\\.0\\.0\\.1:${port}: `, "m"));
    } finally {
      blocker.close();
    }
    // A host that does not resolve, or no address at all: the same one line, exit 2.
    for (const listen of ["nosuchhost.invalid:9464", "256.1.1.1:9464"]) {
      const result = await pflow(ctx, ["metrics", "serve", "--listen", listen]);
      assertExit(result, 2);
      assert.match(result.stderr, new RegExp(`^error: cannot listen on ${listen.replaceAll(".", "\\.")}: `, "m"));
      assert.doesNotMatch(result.stderr, /\n\s+at /);
    }
  });
});

// ---------------------------------------------------------------- Pushgateway

Deno.test("--pushgateway: the real Pushgateway holds the last run of each workflow under job=pflow, workflow=<name>", async () => {
  await withLlm(async (ctx) => {
    const gateway = await startPushgateway();
    try {
      const weird = chain([llm("draft", SONNET, SONNET_USAGE), llm("check", MINI, MINI_USAGE)], { name: WEIRD });
      const result = await runWorkflowFile(ctx, weird, ["--output-format", "json", "--pushgateway", gateway.url]);
      assertExit(result, 0);
      assert.equal(result.stderr, "", "no warning");
      const doc = oneJson(result);
      const scrape = async () => parseExposition(await (await fetch(`${gateway.url}/metrics`)).text());
      let m = await scrape();
      const group = { job: "pflow", workflow: WEIRD };
      assert.equal(sampleValue(m, "pflow_run_cost_dollars", group), doc.total_cost_usd);
      assert.equal(sampleValue(m, "pflow_run_cost_complete", group), 1);
      assert.equal(sampleValue(m, "pflow_run_llm_calls", group), 2);
      assert.equal(sampleValue(m, "pflow_run_llm_tokens", { ...group, type: "input" }), doc.usage.input_tokens);
      assert.equal(
        sampleValue(m, "pflow_run_llm_tokens", { ...group, type: "cache_read" }),
        doc.usage.cache_read_input_tokens,
      );
      assert.equal(
        sampleValue(m, "pflow_run_llm_tokens", { ...group, type: "cache_write" }),
        doc.usage.cache_creation_input_tokens,
      );
      assert.equal(sampleValue(m, "pflow_run_llm_tokens", { ...group, type: "output" }), doc.usage.output_tokens);
      assert.equal(sampleValue(m, "pflow_run_llm_tokens", { ...group, type: "reasoning" }), 150);
      assert.equal(sampleValue(m, "pflow_run_node_executions", group), 2);
      assert.equal(sampleValue(m, "pflow_run_status", { ...group, status: "success" }), 1);
      assert.equal(sampleValue(m, "pflow_run_success", group), 1);
      const duration = sampleValue(m, "pflow_run_duration_seconds", group);
      assert.ok(duration > 0 && duration * 1000 >= doc.duration_ms - 1, `duration ${duration}`);
      const success = sampleValue(m, "pflow_workflow_last_success_timestamp_seconds", group);
      assert.ok(Math.abs(success - Date.now() / 1000) < 60);
      // A failing run of the same workflow replaces the group (PUT), keeping the last success from the ledger.
      const failing = chain([llm("draft", SONNET, SONNET_USAGE), {
        id: "boom",
        type: "shell",
        params: { command: "exit 2" },
      }], { name: WEIRD });
      const failed = await runWorkflowFile(ctx, failing, ["--pushgateway", gateway.url]);
      assertExit(failed, 1);
      m = await scrape();
      assert.equal(sampleValue(m, "pflow_run_success", group), 0);
      assert.equal(sampleValue(m, "pflow_run_status", { ...group, status: "failed" }), 1);
      assert.throws(
        () => sampleValue(m, "pflow_run_status", { ...group, status: "success" }),
        "the old run's series are gone",
      );
      assert.equal(sampleValue(m, "pflow_run_llm_calls", group), 1);
      assert.equal(sampleValue(m, "pflow_workflow_last_success_timestamp_seconds", group), success);
      // Another workflow has its own group; the variable and the setting configure it too.
      const shell = workflow([{ id: "say", type: "shell", params: { command: "echo hi" } }], { name: "shelly" });
      assertExit(
        await runWorkflowFile(ctx, shell, [], { name: "s.json", env: { PFLOW_PUSHGATEWAY_URL: gateway.url } }),
        0,
      );
      m = await scrape();
      assert.equal(sampleValue(m, "pflow_run_success", { job: "pflow", workflow: "shelly" }), 1);
      assert.equal(sampleValue(m, "pflow_run_llm_calls", { job: "pflow", workflow: "shelly" }), 0);
      writeSettings(ctx, { pushgateway: gateway.url });
      const other = workflow([{ id: "say", type: "shell", params: { command: "echo hi" } }], { name: "settled" });
      assertExit(await runWorkflowFile(ctx, other, [], { name: "t.json" }), 0);
      m = await scrape();
      assert.equal(sampleValue(m, "pflow_run_success", { job: "pflow", workflow: "settled" }), 1);
    } finally {
      await gateway.close();
    }
  });
});

Deno.test("an unreachable or silent Pushgateway is one warning, bounded in time; the exit code does not change", async () => {
  await withLlm(async (ctx) => {
    const wf = workflow([{ id: "say", type: "shell", params: { command: "echo hi" } }], { name: "quiet" });
    const closed = await closedPort();
    const refused = await runWorkflowFile(ctx, wf, ["--pushgateway", `http://127.0.0.1:${closed}`]);
    assertExit(refused, 0);
    assert.equal(refused.stdout, "hi\n");
    const lines = refused.stderr.trim().split("\n");
    assert.equal(lines.length, 1, explain(refused));
    assert.match(lines[0], new RegExp(`^warning: Pushgateway push to http://127\\.0\\.0\\.1:${closed} failed: `));
    // A gateway that accepts the connection and never answers: the push gives up after 5 s.
    const sockets: Socket[] = [];
    const silent = createServer((socket) => {
      socket.on("error", () => {}); // pflow gives up and resets the connection
      sockets.push(socket);
    });
    const port = await new Promise<number>((resolve) =>
      silent.listen(0, "127.0.0.1", () => resolve((silent.address() as { port: number }).port))
    );
    try {
      const started = Date.now();
      const hung = await runWorkflowFile(ctx, chain([{ id: "boom", type: "shell", params: { command: "exit 4" } }]), [
        "--pushgateway",
        `http://127.0.0.1:${port}`,
      ]);
      const took = Date.now() - started;
      assertExit(hung, 1);
      assert.ok(took >= 4500 && took < 9000, `took ${took} ms`);
      assert.match(hung.stderr, /warning: Pushgateway push to http:\/\/127\.0\.0\.1:\d+ failed: no answer within 5 s/);
    } finally {
      for (const socket of sockets) socket.destroy();
      silent.close();
    }
    for (
      const [env, message] of [
        [{ PFLOW_PUSHGATEWAY_URL: "not a url" }, /PFLOW_PUSHGATEWAY_URL: 'not a url' is not a URL/],
        [{ PFLOW_PUSHGATEWAY_URL: "ftp://x" }, /is not an http\(s\) URL/],
      ] as [Record<string, string>, RegExp][]
    ) {
      const bad = await runWorkflowFile(ctx, wf, [], { env });
      assertExit(bad, 2);
      assert.match(bad.stderr, message);
    }
  });
});

Deno.test("a Pushgateway's error answer is read only as far as its first 4 KiB: an endless body is 'HTTP 500: …' at once", async () => {
  await withLlm(async (ctx) => {
    const wf = workflow([{ id: "say", type: "shell", params: { command: "echo hi" } }], { name: "endless" });
    // HTTP 500 whose body never ends: a first line, then filler as fast as the socket takes it.
    const gateway = createHttpServer((_req, res) => {
      res.on("error", () => {});
      res.writeHead(500, { "content-type": "text/plain" });
      res.write("push rejected: storage full\n");
      const filler = "x".repeat(64 * 1024);
      const more = () => {
        while (!res.destroyed && res.write(filler));
        if (!res.destroyed) res.once("drain", more);
      };
      more();
    });
    const port = await new Promise<number>((resolve) =>
      gateway.listen(0, "127.0.0.1", () => resolve((gateway.address() as { port: number }).port))
    );
    try {
      const started = Date.now();
      const result = await runWorkflowFile(ctx, wf, ["--pushgateway", `http://127.0.0.1:${port}`]);
      const took = Date.now() - started;
      assertExit(result, 0);
      assert.equal(result.stdout, "hi\n");
      assert.equal(
        result.stderr.trim(),
        `warning: Pushgateway push to http://127.0.0.1:${port} failed: HTTP 500: push rejected: storage full`,
      );
      assert.ok(took < 4000, `took ${took} ms (not the 5 s timeout)`);
    } finally {
      gateway.closeAllConnections();
      gateway.close();
    }
  });
});

Deno.test("a Pushgateway or OTLP URL's password is a known secret: not in a push failure quoting it, nor in a run's output", async () => {
  await withLlm(async (ctx) => {
    const password = "PgwPassw0rd99";
    // A gateway (a debugging proxy) that refuses every push, quoting the request's Authorization header and the password.
    const echo = createHttpServer((req, res) => {
      req.resume();
      req.on("end", () => {
        res.writeHead(401, { "content-type": "text/plain" });
        res.end(`unauthorized: got ${req.headers.authorization} (${password})`);
      });
    });
    const port = await new Promise<number>((resolve) =>
      echo.listen(0, "127.0.0.1", () => resolve((echo.address() as { port: number }).port))
    );
    try {
      const wf = workflow([{ id: "say", type: "shell", params: { command: "echo hi" } }], { name: "pushed" });
      const url = `http://bob:${password}@127.0.0.1:${port}/`;
      const basic = btoa(`bob:${password}`);
      for (
        const [args, env, settings] of [
          [["--pushgateway", url], {}, {}],
          [[], { PFLOW_PUSHGATEWAY_URL: url }, {}],
          [[], {}, { pushgateway: url }],
        ] as [string[], Record<string, string>, Record<string, unknown>][]
      ) {
        writeSettings(ctx, settings);
        const result = await runWorkflowFile(ctx, wf, args, { env });
        const label = JSON.stringify([args, env, settings]);
        assertExit(result, 0);
        assert.match(result.stderr, /warning: Pushgateway push to http:\/\/127\.0\.0\.1:\d+ failed: HTTP 401: /, label);
        assert.ok(!result.stderr.includes(password) && !result.stderr.includes(basic), `${label}: ${result.stderr}`);
        assert.match(
          result.stderr,
          /unauthorized: got Basic \[REDACTED\] \(\[REDACTED\]\)\n/,
          `${label}: ${result.stderr}`,
        );
      }
      writeSettings(ctx, {});
      // A run that prints the credentials of its own exports' URLs (here in Basic form) prints them hidden.
      const receiver = await startOtlpReceiver();
      try {
        const otlpUrl = receiver.url.replace("://", "://otel:OtelPassw0rd77@");
        const show = workflow([{
          id: "say",
          type: "shell",
          params: { command: `printf %s "bob:${password}" | base64; printf %s "otel:OtelPassw0rd77" | base64` },
        }], { name: "shown" });
        for (
          const [args, env] of [
            [["--pushgateway", url, "--otlp-endpoint", otlpUrl], {}],
            [[], { PFLOW_PUSHGATEWAY_URL: url, OTEL_EXPORTER_OTLP_ENDPOINT: otlpUrl }],
          ] as [string[], Record<string, string>][]
        ) {
          const result = await runWorkflowFile(ctx, show, args, { env });
          assertExit(result, 0);
          assert.equal(result.stdout, "[REDACTED]\n[REDACTED]\n", JSON.stringify(env));
        }
      } finally {
        await receiver.close();
      }
    } finally {
      echo.close();
    }
  });
});

// ---------------------------------------------------------------- OTLP metrics

type OtlpMetric = {
  name: string;
  unit: string;
  histogram?: { aggregationTemporality: number; dataPoints: Doc[] };
  sum?: { aggregationTemporality: number; isMonotonic: boolean; dataPoints: Doc[] };
};

/** The metrics of every `/v1/metrics` request, by name, with the resource. */
function receivedMetrics(requests: { path: string; json: unknown }[]) {
  const metrics = new Map<string, OtlpMetric>();
  let resource: Record<string, unknown> = {};
  for (const request of requests.filter((r) => r.path === "/v1/metrics")) {
    for (const rm of (request.json as Doc).resourceMetrics) {
      resource = decodeAttributes(rm.resource.attributes as { key: string; value: AnyValue }[]);
      for (const sm of rm.scopeMetrics) for (const metric of sm.metrics) metrics.set(metric.name, metric);
    }
  }
  return { metrics, resource };
}

Deno.test("OTLP metrics: GenAI token usage and duration, workflow duration, cost; delta unless asked; the span export's resource", async () => {
  await withLlm(async (ctx) => {
    const receiver = await startOtlpReceiver();
    try {
      const env = {
        OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: `${receiver.url}/v1/metrics`,
        OTEL_SERVICE_NAME: "nightly",
        OTEL_RESOURCE_ATTRIBUTES: "deployment.environment=ci",
      };
      const wf = chain([
        llm("draft", SONNET, SONNET_USAGE, { sleepMs: 150 }),
        llm("check", MINI, MINI_USAGE),
      ], { name: "otlp-flow" });
      const before = BigInt(Date.now()) * 1_000_000n;
      const result = await runWorkflowFile(ctx, wf, ["--output-format", "json"], { env });
      const after = BigInt(Date.now()) * 1_000_000n;
      assertExit(result, 0);
      assert.equal(result.stderr, "");
      const doc = oneJson(result);
      const { metrics, resource } = receivedMetrics(receiver.requests);
      // Every point covers the run: it starts when the run started (after the command did), not at its export.
      const points = [...metrics.values()].flatMap((m) => (m.histogram ?? m.sum)!.dataPoints);
      assert.equal(points.length, 9);
      const starts = new Set(points.map((p) => String(p.startTimeUnixNano)));
      assert.equal(starts.size, 1, "one start: the run's");
      for (const p of points) {
        const start = BigInt(p.startTimeUnixNano);
        const end = BigInt(p.timeUnixNano);
        assert.ok(start >= before && end <= after, `${start}..${end} within ${before}..${after}`);
        assert.ok(
          end - start >= BigInt(Math.floor(doc.duration_ms)) * 1_000_000n,
          `${end - start} ns cover the run's ${doc.duration_ms} ms`,
        );
      }
      assert.equal(resource["service.name"], "nightly");
      assert.equal(resource["deployment.environment"], "ci");
      const tokens = metrics.get("gen_ai.client.token.usage")!;
      assert.equal(tokens.unit, "{token}");
      assert.equal(tokens.histogram!.aggregationTemporality, 1, "delta");
      const point = (m: OtlpMetric, match: Record<string, unknown>): Doc => {
        const points = (m.histogram ?? m.sum)!.dataPoints.filter((p) => {
          const attributes = decodeAttributes(p.attributes);
          return Object.entries(match).every(([k, v]) => attributes[k] === v);
        });
        assert.equal(points.length, 1, `${m.name} ${JSON.stringify(match)}`);
        return { ...points[0], attributes: decodeAttributes(points[0].attributes) };
      };
      // Input is every input token (uncached + cache read + cache write), as the semconv counts it.
      const sonnetInput = point(tokens, { "gen_ai.request.model": "claude-sonnet-4-5", "gen_ai.token.type": "input" });
      assert.equal(sonnetInput.sum, 1000 + 2000 + 300);
      assert.equal(Number(sonnetInput.count), 1);
      assert.deepEqual(
        Object.keys(sonnetInput.attributes).sort(),
        [
          "gen_ai.operation.name",
          "gen_ai.provider.name",
          "gen_ai.request.model",
          "gen_ai.response.model",
          "gen_ai.token.type",
          "pflow.phase",
          "pflow.workflow.name",
        ],
      );
      assert.equal(sonnetInput.attributes["gen_ai.operation.name"], "chat");
      assert.equal(sonnetInput.attributes["gen_ai.provider.name"], "anthropic");
      assert.equal(sonnetInput.attributes["pflow.workflow.name"], "otlp-flow");
      assert.equal(point(tokens, { "gen_ai.request.model": "gpt-4o-mini", "gen_ai.token.type": "output" }).sum, 400);
      const duration = metrics.get("gen_ai.client.operation.duration")!;
      assert.equal(duration.unit, "s");
      const miniDuration = point(duration, { "gen_ai.request.model": "gpt-4o-mini" });
      assert.equal(Number(miniDuration.count), 1);
      assert.ok(miniDuration.sum > 0 && miniDuration.sum < 30);
      assert.deepEqual(miniDuration.explicitBounds, [
        0.01,
        0.02,
        0.04,
        0.08,
        0.16,
        0.32,
        0.64,
        1.28,
        2.56,
        5.12,
        10.24,
        20.48,
        40.96,
        81.92,
      ]);
      const cost = metrics.get("pflow.llm.cost")!;
      assert.equal(cost.unit, "USD");
      assert.equal(cost.sum!.isMonotonic, true);
      const costs = cost.sum!.dataPoints.reduce((s: number, p: Doc) => s + p.asDouble, 0);
      assert.ok(Math.abs(costs - doc.total_cost_usd) < 1e-12);
      const run = point(metrics.get("pflow.workflow.duration")!, { "pflow.workflow.name": "otlp-flow" });
      assert.equal(run.attributes["pflow.run.status"], "success");
      assert.equal(metrics.get("pflow.workflow.duration")!.unit, "s");
      assert.ok(run.sum * 1000 >= doc.duration_ms - 1);
      // Cumulative when asked; the base endpoint counts only with OTEL_METRICS_EXPORTER=otlp.
      receiver.requests.length = 0;
      const cumulative = await runWorkflowFile(ctx, wf, [], {
        env: { ...env, OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE: "cumulative" },
      });
      assertExit(cumulative, 0);
      const cumulativeTokens = receivedMetrics(receiver.requests).metrics.get("gen_ai.client.token.usage")!.histogram!;
      assert.equal(cumulativeTokens.aggregationTemporality, 2);
      for (const p of cumulativeTokens.dataPoints) {
        assert.ok(
          BigInt(p.timeUnixNano) - BigInt(p.startTimeUnixNano) >= 150_000_000n,
          "the stream starts with the run",
        );
      }
      receiver.requests.length = 0;
      assertExit(await runWorkflowFile(ctx, wf, [], { env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url } }), 0);
      assert.deepEqual(
        receiver.requests.map((r) => r.path),
        ["/v1/traces"],
        "no metrics without OTEL_METRICS_EXPORTER=otlp",
      );
      receiver.requests.length = 0;
      assertExit(
        await runWorkflowFile(ctx, wf, [], {
          env: {
            OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
            OTEL_METRICS_EXPORTER: "otlp",
            OTEL_TRACES_EXPORTER: "none",
          },
        }),
        0,
      );
      assert.deepEqual(receiver.requests.map((r) => r.path), ["/v1/metrics"]);
    } finally {
      await receiver.close();
    }
  });
});

Deno.test("OTLP metrics: a failed call carries error.type; an unreachable collector is one warning and the exit code stays", async () => {
  await withLlm(async (ctx) => {
    const receiver = await startOtlpReceiver();
    try {
      const env = { OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: `${receiver.url}/v1/metrics` };
      const wf = workflow([{
        id: "ask",
        type: "llm",
        params: { model: HAIKU, prompt: "[[fail:500]]", max_retries: 0 },
      }], { name: "failing" });
      const result = await runWorkflowFile(ctx, wf, [], { env });
      assertExit(result, 1);
      const duration = receivedMetrics(receiver.requests).metrics.get("gen_ai.client.operation.duration")!;
      const attributes = decodeAttributes(duration.histogram!.dataPoints[0].attributes);
      assert.ok(
        typeof attributes["error.type"] === "string" && attributes["error.type"] !== "",
        JSON.stringify(attributes),
      );
      const run = decodeAttributes(
        receivedMetrics(receiver.requests).metrics.get("pflow.workflow.duration")!.histogram!.dataPoints[0].attributes,
      );
      assert.equal(run["pflow.run.status"], "failed");
    } finally {
      await receiver.close();
    }
    const closed = await closedPort();
    const wf = workflow([{ id: "say", type: "shell", params: { command: "echo hi" } }]);
    const unreachable = await runWorkflowFile(ctx, wf, [], {
      env: { OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: `http://127.0.0.1:${closed}/v1/metrics` },
    });
    assertExit(unreachable, 0);
    assert.equal(unreachable.stdout, "hi\n");
    const lines = unreachable.stderr.trim().split("\n");
    assert.equal(lines.length, 1, explain(unreachable));
    assert.match(
      lines[0],
      new RegExp(`^warning: OTLP metrics export to http://127\\.0\\.0\\.1:${closed}/v1/metrics failed`),
    );
  });
});

Deno.test("OTLP: a failed attempt that reported no usage adds no token points and its chat span no gen_ai.usage.*; one that reported usage counts", async () => {
  await withLlm(async (ctx) => {
    const receiver = await startOtlpReceiver();
    try {
      const env = {
        OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: `${receiver.url}/v1/metrics`,
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${receiver.url}/v1/traces`,
      };
      const usageKeys = (attributes: Record<string, unknown>) =>
        Object.keys(attributes).filter((k) => k.startsWith("gen_ai.usage.")).sort();
      const tokenPoints = () =>
        receivedMetrics(receiver.requests).metrics.get("gen_ai.client.token.usage")!.histogram!.dataPoints.map((
          p: Doc,
        ): Doc => ({ ...p, attributes: decodeAttributes(p.attributes) }));
      // A 503 (rejected: no usage) and then a reply with usage.
      const wf = workflow([{
        id: "ask",
        type: "llm",
        params: { model: HAIKU, prompt: `[[fail:503:1]] [[usage:${JSON.stringify(HAIKU_USAGE)}]]`, max_retries: 1 },
      }], { name: "retried" });
      const result = await runWorkflowFile(ctx, wf, ["--output-format", "json", "--trace"], { env });
      assertExit(result, 0);
      const doc = oneJson(result);
      const points = tokenPoints();
      assert.deepEqual(
        points.map((p) => [p.attributes["gen_ai.token.type"], Number(p.count), p.sum]).sort(),
        [["input", 1, 400], ["output", 1, 100]],
        "only the answered attempt's tokens, no 0-token points",
      );
      const durations = receivedMetrics(receiver.requests).metrics.get("gen_ai.client.operation.duration")!;
      assert.equal(
        durations.histogram!.dataPoints.reduce((n: number, p: Doc) => n + Number(p.count), 0),
        2,
        "both attempts are timed",
      );
      const chats = receiver.spans().filter((s) => s.span.name.startsWith("chat "));
      assert.equal(chats.length, 2);
      const failed = chats.find((s) => s.attributes["error.type"] !== undefined)!;
      const ok = chats.find((s) => s.attributes["error.type"] === undefined)!;
      assert.deepEqual(usageKeys(failed.attributes), [], JSON.stringify(failed.attributes));
      assert.equal(ok.attributes["gen_ai.usage.input_tokens"], 400);
      assert.equal(ok.attributes["gen_ai.usage.output_tokens"], 100);
      // The file export agrees.
      const exported = await pflow(ctx, ["trace", "export", doc.trace_path, "--format", "otlp-json"]);
      assertExit(exported, 0);
      const fileChats = (JSON.parse(exported.stdout).resourceSpans[0].scopeSpans as Doc[])
        .flatMap((s) => s.spans as Doc[]).filter((s) => s.name.startsWith("chat "))
        .map((s) => decodeAttributes(s.attributes));
      assert.deepEqual(fileChats.map((a) => usageKeys(a).length).sort(), [0, 5]);

      // A stream cut off after its final usage (message_delta, no message_stop): counted, like its span's.
      receiver.requests.length = 0;
      const usage = { input_tokens: 1000, output_tokens: 50 };
      ctx.srv.enqueue({ text: "the whole answer", truncateAfterUsage: true, usage }, {
        text: "the whole answer",
        usage,
      });
      const cut = workflow([{
        id: "s",
        type: "llm",
        params: { model: SONNET, prompt: "go", stream: true, max_retries: 1 },
      }], { name: "cut" });
      assertExit(await runWorkflowFile(ctx, cut, [], { env }), 0);
      const inputs = tokenPoints().filter((p) => p.attributes["gen_ai.token.type"] === "input");
      assert.deepEqual(inputs.map((p) => [Number(p.count), p.sum]), [[2, 2000]], "the cut-off attempt's input counts");
      const cutChats = receiver.spans().filter((s) => s.span.name.startsWith("chat "));
      assert.deepEqual(cutChats.map((s) => s.attributes["gen_ai.usage.input_tokens"]), [1000, 1000]);
      // A reply without usage: unknown, so no token point and no gen_ai.usage.* either.
      receiver.requests.length = 0;
      const silent = workflow([{ id: "q", type: "llm", params: { model: MINI, prompt: "[[no-usage]] hi" } }], {
        name: "silent",
      });
      assertExit(await runWorkflowFile(ctx, silent, [], { env }), 0);
      assert.equal(receivedMetrics(receiver.requests).metrics.get("gen_ai.client.token.usage"), undefined);
      const silentChats = receiver.spans().filter((s) => s.span.name.startsWith("chat "));
      assert.equal(silentChats.length, 1);
      assert.deepEqual(usageKeys(silentChats[0].attributes), []);
    } finally {
      await receiver.close();
    }
  });
});

Deno.test("OTLP: a call without usage has no pflow.cost_usd on its span and adds no pflow.llm.cost point, not 0", async () => {
  await withLlm(async (ctx) => {
    const receiver = await startOtlpReceiver();
    try {
      const env = {
        OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: `${receiver.url}/v1/metrics`,
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${receiver.url}/v1/traces`,
      };
      // gpt-4o has a price: only its usage is missing.
      const wf = chain([
        llm("known", MINI, MINI_USAGE),
        { id: "silent", type: "llm", params: { model: "openai/gpt-4o", prompt: "[[no-usage]] hi" } },
      ], { name: "half-known" });
      const result = await runWorkflowFile(ctx, wf, ["--output-format", "json"], { env });
      assertExit(result, 0);
      const doc = oneJson(result);
      assert.ok(doc.total_cost_usd > 0);
      const cost = receivedMetrics(receiver.requests).metrics.get("pflow.llm.cost")!;
      const points = cost.sum!.dataPoints.map((
        p: Doc,
      ) => [decodeAttributes(p.attributes)["gen_ai.request.model"], p.asDouble]);
      assert.deepEqual(points, [["gpt-4o-mini", doc.total_cost_usd]], "no point for the call of unknown cost");
      const chats = receiver.spans().filter((s) => s.span.name.startsWith("chat "));
      const costs = Object.fromEntries(
        chats.map((s) => [s.attributes["gen_ai.request.model"], s.attributes["pflow.cost_usd"] ?? null]),
      );
      assert.deepEqual(costs, { "gpt-4o-mini": doc.total_cost_usd, "gpt-4o": null });
    } finally {
      await receiver.close();
    }
  });
});

Deno.test("cost sums are rounded as every cost is reported: pflow metrics and the OTLP pflow.llm.cost point", async () => {
  await withLlm(async (ctx) => {
    const receiver = await startOtlpReceiver();
    try {
      const env = { OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: `${receiver.url}/v1/metrics` };
      // Sonnet 4.5: $0.0045 and $0.009, whose sum in binary floating point is 0.013499999999999998.
      const wf = chain([
        llm("a", SONNET, { input_tokens: 1000, output_tokens: 100 }),
        llm("b", SONNET, { input_tokens: 2000, output_tokens: 200 }),
      ], { name: "sums" });
      const result = await runWorkflowFile(ctx, wf, ["--output-format", "json"], { env });
      assertExit(result, 0);
      assert.equal(oneJson(result).total_cost_usd, 0.0135);
      const cost = receivedMetrics(receiver.requests).metrics.get("pflow.llm.cost")!;
      assert.deepEqual(cost.sum!.dataPoints.map((p: Doc) => p.asDouble), [0.0135]);
      const text = await pflow(ctx, ["metrics"]);
      assertExit(text, 0);
      assert.match(
        text.stdout,
        /^pflow_llm_cost_dollars_total\{provider="anthropic",model="claude-sonnet-4-5"\} 0\.0135$/m,
      );
    } finally {
      await receiver.close();
    }
  });
});

Deno.test("missing components fail naming their Debian package", async () => {
  const { requireBinary } = await import("./support/prometheus.ts");
  assert.throws(() => requireBinary("pflow-no-such-binary", "some-package"), /install Debian's package 'some-package'/);
  // The real ones are installed (CI installs them; a missing one fails here, never skips).
  for (
    const [binary, pkg] of [["prometheus-pushgateway", "prometheus-pushgateway"], ["promtool", "prometheus"], [
      "prometheus",
      "prometheus",
    ]]
  ) {
    requireBinary(binary, pkg);
  }
  assert.ok(await freePort() > 0);
});
