/**
 * Ledger benchmarks (`deno run -A bench/ledger_bench.ts`), figures side by
 * side in one run:
 *
 * - reports over a generated ledger of 1,000,000 calls in 100,000 runs (one
 *   year, 20 models, 50 workflows; built once under dist/bench-ledger/):
 *   `pflow cost report --by day|model|workflow|…` and `pflow metrics` through
 *   the compiled binary (process wall time, medians of round-robin rounds),
 *   and the report queries in process;
 * - writes on a fresh ledger: one call row per transaction (as a run writes
 *   them), one run's rows (start + end) in the database, and a run's rows in
 *   the inbox (runs that make no LLM call); `LEDGER_BENCH=writes` runs only
 *   these (under Bun too: `LEDGER_BENCH=writes npx -y bun@1.4.5 bench/ledger_bench.ts`).
 * @module
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { LedgerStore } from "../src/ledger/store.ts";
import { costReport, type GroupBy } from "../src/ledger/report.ts";
import { LedgerRun } from "../src/ledger/recorder.ts";
import { bucketOf, BUCKETS, callFirsts } from "../src/ledger/schema.ts";
import type { CallRow } from "../src/ledger/store.ts";
import type { RunEnd, RunStart } from "../src/ledger/types.ts";
import { loadShippedPriceTable } from "../src/pricing/table.ts";
import { priceCall } from "../src/pricing/cost.ts";
import type { LlmUsage } from "../src/llm/types.ts";
import { median, PFLOW_BIN, ROOT } from "./support.ts";

const RUNS = 100_000;
const CALLS_PER_RUN = 10;
const BIG_HOME = resolve(ROOT, "dist/bench-ledger");
const YEAR_START = Date.UTC(2025, 0, 1);
const YEAR_MS = 365 * 86_400_000;

/** A deterministic pseudo-random generator (mulberry32), so every build of the ledger is the same. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const MODELS = [
  "anthropic/claude-opus-4-5",
  "anthropic/claude-opus-4-1",
  "anthropic/claude-sonnet-4-5",
  "anthropic/claude-sonnet-4-5-20250929",
  "anthropic/claude-sonnet-4",
  "anthropic/claude-haiku-4-5",
  "anthropic/claude-3-5-haiku",
  "openai/gpt-5",
  "openai/gpt-5-mini",
  "openai/gpt-5-nano",
  "openai/gpt-4.1",
  "openai/gpt-4.1-mini",
  "openai/gpt-4o",
  "openai/gpt-4o-mini",
  "openai/o3",
  "openai/o4-mini",
  "google/gemini-2.5-pro",
  "google/gemini-2.5-flash",
  "ollama/llama3.1",
  "local/qwen2.5-coder", // unpriced
];

interface BenchWorkflow {
  name: string;
  nodes: { id: string; model: string; weight: number }[];
}

function workflows(rand: () => number): BenchWorkflow[] {
  return Array.from({ length: 50 }, (_, w) => {
    const count = 1 + Math.floor(rand() * 4);
    return {
      name: `workflow-${String(w).padStart(2, "0")}`,
      nodes: Array.from({ length: count }, (_, n) => ({
        id: ["summarize", "classify", "extract", "draft"][n],
        model: MODELS[Math.floor(rand() * MODELS.length)],
        weight: 1 + Math.floor(rand() * 4),
      })),
    };
  });
}

/** Builds the 1,000,000-call ledger once (reused while it has the expected size). */
async function ensureBigLedger(): Promise<void> {
  const file = join(BIG_HOME, "ledger.db");
  if (existsSync(file)) {
    const { store } = LedgerStore.open(BIG_HOME);
    const row = store.db.prepare("SELECT count(*) AS n FROM calls").get() as { n: number };
    store.close();
    if (Number(row.n) === RUNS * CALLS_PER_RUN) return;
  }
  rmSync(BIG_HOME, { recursive: true, force: true });
  mkdirSync(BIG_HOME, { recursive: true });
  console.log("building the benchmark ledger (1,000,000 calls in 100,000 runs) …");
  const started = performance.now();
  const table = await loadShippedPriceTable();
  const rand = random(42);
  const flows = workflows(rand);
  const { store } = LedgerStore.open(BIG_HOME);
  const statuses: RunEnd["status"][] = ["success", "success", "success", "success", "success", "failed", "interrupted"];
  for (let batch = 0; batch < RUNS; batch += 1000) {
    store.write(() => {
      for (let r = batch; r < batch + 1000; r++) {
        const flow = flows[Math.floor(rand() * flows.length)];
        const start: RunStart = {
          executionId: crypto.randomUUID(),
          traceId: null,
          kind: rand() < 0.2 ? "planned" : "workflow",
          workflowName: flow.name,
          workflowFile: `/srv/flows/${flow.name}.json`,
          workflowHash: null,
          savedName: null,
          startedMs: YEAR_START + Math.floor(rand() * YEAR_MS),
          pflowVersion: "0.1.0",
        };
        const runId = store.startRun(start);
        const firsts = new Set<string>();
        const totalWeight = flow.nodes.reduce((s, n) => s + n.weight, 0);
        for (let c = 0; c < CALLS_PER_RUN; c++) {
          const planner = start.kind === "planned" && c < 2;
          let node = flow.nodes[0];
          if (!planner) {
            let pick = rand() * totalWeight;
            for (const n of flow.nodes) {
              if ((pick -= n.weight) < 0) {
                node = n;
                break;
              }
            }
          }
          const model = planner ? "anthropic/claude-sonnet-4-5" : node.model;
          const nodeId = planner ? "plan" : node.id;
          const phase = planner ? "planner" : "workflow";
          const long = rand() < 0.01;
          const usage = {
            provider: model.split("/")[0],
            model,
            response_model: null,
            input_tokens: long ? 210_000 : 200 + Math.floor(rand() * 4000),
            cache_read_tokens: rand() < 0.3 ? Math.floor(rand() * 8000) : 0,
            cache_write_tokens: 0,
            cache_write_5m_tokens: 0,
            cache_write_1h_tokens: 0,
            output_tokens: 50 + Math.floor(rand() * 1500),
            reasoning_tokens: 0,
            request_id: null,
            duration_ms: 300 + Math.floor(rand() * 5000),
            raw: null,
          } as LlmUsage;
          const cost = priceCall(table, usage);
          const { flags, newExecution, newModelExecution } = callFirsts(firsts, {
            phase,
            node: nodeId,
            model,
            nodeExecution: 0,
          });
          const row: CallRow = {
            phase,
            node: nodeId,
            nodeExecution: 0,
            itemIndex: null,
            provider: usage.provider,
            model,
            priceModel: cost.price_key,
            responseModel: null,
            inputTokens: usage.input_tokens,
            cacheReadTokens: usage.cache_read_tokens,
            cacheWrite5mTokens: 0,
            cacheWrite1hTokens: 0,
            outputTokens: usage.output_tokens,
            reasoningTokens: 0,
            costUsd: cost.cost_usd,
            reportedCostUsd: null,
            priceVersion: table.version,
            durationMs: usage.duration_ms,
            ttftMs: null,
            requestId: `req_${r}_${c}`,
            status: "ok",
            errorType: null,
            startOffsetMs: c * 1000,
            flags,
            newExecution,
            newModelExecution,
          };
          store.addCall(runId, start, row);
        }
        const nodeMs = 300 + Math.floor(rand() * 5000);
        store.endRun({
          ...start,
          nodes: [{
            type: "llm",
            status: "success",
            executions: flow.nodes.length,
            timed: flow.nodes.length,
            durationMsSum: nodeMs * flow.nodes.length,
            buckets: BUCKETS.node.map((_, i) => (i === bucketOf(BUCKETS.node, nodeMs) ? flow.nodes.length : 0)),
          }, {
            type: "shell",
            status: "success",
            executions: 2,
            timed: 0,
            durationMsSum: 0,
            buckets: BUCKETS.node.map(() => 0),
          }],
          status: statuses[Math.floor(rand() * statuses.length)],
          subtype: "success",
          endedMs: start.startedMs + 30_000,
          durationMs: 30_000,
          nodesExecuted: 5,
          traceFile: null,
          priceVersion: table.version,
          priceSource: "builtin",
          pricingComplete: true,
        });
      }
    });
  }
  store.db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  store.close();
  console.log(`built in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

function timeCli(args: string[]): number {
  const started = performance.now();
  const result = spawnSync(PFLOW_BIN, args, {
    env: { ...process.env, PFLOW_HOME: BIG_HOME, TZ: "Europe/Berlin" },
    stdio: ["ignore", "ignore", "pipe"],
  });
  const elapsed = performance.now() - started;
  if (result.status !== 0) throw new Error(`pflow ${args.join(" ")}: exit ${result.status}: ${result.stderr}`);
  return elapsed;
}

/** Report timings: the binary (process wall time) and in process, medians. */
function reportBench(rounds: number): Record<string, string>[] {
  const cases: [string, GroupBy, string[]][] = [
    ["--by day", "day", []],
    ["--by week", "week", []],
    ["--by month", "month", []],
    ["--by model", "model", []],
    ["--by workflow", "workflow", []],
    ["--by node", "node", []],
    ["--by day --breakdown", "day", ["--breakdown"]],
    ["--by day --model claude-sonnet-4-5", "day", ["--model", "claude-sonnet-4-5"]],
    ["--by model --reprice", "model", ["--reprice"]],
    ["--by day --reprice", "day", ["--reprice"]],
    ["--by run --status failed", "run", ["--status", "failed"]],
    ["--by run --status failed --reprice", "run", ["--status", "failed", "--reprice"]],
  ];
  const metricsCases: [string, string[]][] = [
    ["pflow metrics", ["metrics"]],
    ["pflow metrics --format openmetrics", ["metrics", "--format", "openmetrics"]],
  ];
  const cli: Record<string, number[]> = {};
  const inProcess: Record<string, number[]> = {};
  const { store } = LedgerStore.open(BIG_HOME);
  for (const [name, , extra] of cases) timeCli(["cost", "report", "--by", name.split(" ")[1], ...extra, "--json"]);
  for (let i = 0; i < rounds; i++) {
    for (const [name, groupBy, extra] of cases) {
      (cli[name] ??= []).push(timeCli(["cost", "report", "--by", groupBy, ...extra, "--json"]));
      if (extra.length > 0) continue;
      const started = performance.now();
      costReport(store.db, { groupBy, filters: {}, timezone: "Europe/Berlin" });
      (inProcess[name] ??= []).push(performance.now() - started);
    }
  }
  for (const [, args] of metricsCases) timeCli(args);
  const metricsTimes: Record<string, number[]> = {};
  for (let i = 0; i < rounds; i++) {
    for (const [name, args] of metricsCases) (metricsTimes[name] ??= []).push(timeCli(args));
  }
  store.close();
  return [
    ...cases.map(([name]) => ({
      report: `pflow cost report ${name}`,
      "binary ms (median)": median(cli[name]).toFixed(0),
      "in process ms (median)": inProcess[name] ? median(inProcess[name]).toFixed(0) : "",
    })),
    ...metricsCases.map(([name]) => ({
      report: name,
      "binary ms (median)": median(metricsTimes[name]).toFixed(0),
      "in process ms (median)": "",
    })),
  ];
}

/** Write costs on a fresh ledger. */
async function writeBench(): Promise<Record<string, string>[]> {
  const home = resolve(ROOT, "dist/bench-ledger-writes");
  rmSync(home, { recursive: true, force: true });
  const { store } = LedgerStore.open(home);
  const start = (i: number): RunStart => ({
    executionId: crypto.randomUUID(),
    traceId: null,
    kind: "workflow",
    workflowName: `workflow-${i % 50}`,
    workflowFile: "/srv/flows/x.json",
    workflowHash: "sha256:0",
    savedName: null,
    startedMs: Date.now(),
    pflowVersion: "0.1.0",
  });
  const end: Omit<RunEnd, "durationMs"> = {
    status: "success",
    subtype: "success",
    endedMs: Date.now(),
    nodesExecuted: 3,
    traceFile: null,
    priceVersion: "2025-11-15",
    priceSource: "builtin",
    pricingComplete: true,
  };
  const call = (i: number): CallRow => ({
    phase: "workflow",
    node: `node-${i % 4}`,
    nodeExecution: 0,
    itemIndex: i % 10,
    provider: "anthropic",
    model: MODELS[i % MODELS.length],
    priceModel: MODELS[i % MODELS.length],
    responseModel: null,
    inputTokens: 1000 + i,
    cacheReadTokens: 100,
    cacheWrite5mTokens: 0,
    cacheWrite1hTokens: 0,
    outputTokens: 200,
    reasoningTokens: 0,
    costUsd: 0.001,
    reportedCostUsd: null,
    priceVersion: "2025-11-15",
    durationMs: 800,
    ttftMs: null,
    requestId: `req_${i}`,
    status: "ok",
    errorType: null,
    startOffsetMs: 10,
    flags: i % 10 === 0 ? 31 : 0,
    newExecution: i % 10 === 0,
    newModelExecution: i % 10 === 0,
  });
  // Some history, so indexes are not trivially small.
  const warm = store.write(() => store.startRun(start(0)));
  store.write(() => {
    for (let i = 0; i < 20_000; i++) {
      store.addCall(warm, { startedMs: Date.now(), workflowName: "workflow-0" }, call(i));
    }
  });
  const N = 2000;
  const runId = store.write(() => store.startRun(start(1)));
  const run = { startedMs: Date.now(), workflowName: "workflow-1" };
  let t = performance.now();
  for (let i = 0; i < N; i++) store.write(() => store.addCall(runId, run, call(i)));
  const perCall = (performance.now() - t) / N;
  const R = 500;
  t = performance.now();
  for (let i = 0; i < R; i++) {
    const s = start(i);
    store.write(() => store.startRun(s));
    store.write(() => store.endRun({ ...s, ...end, durationMs: 5 }));
  }
  const perRunDb = (performance.now() - t) / R;
  store.close();
  t = performance.now();
  for (let i = 0; i < R; i++) {
    const ledger = new LedgerRun({ home, warn: (m) => console.error(m) });
    ledger.begin(start(i));
    await ledger.finish({ ...end, durationMs: 5 });
  }
  const perRunInbox = (performance.now() - t) / R;
  t = performance.now();
  const opened = LedgerStore.open(home); // folds the R inbox runs
  const fold = performance.now() - t;
  opened.store.close();
  return [
    { write: "call row (own transaction, as runs write them)", "ms each": perCall.toFixed(3), target: "≤ 0.2" },
    {
      write: "run rows in the database (start + end, two transactions)",
      "ms each": perRunDb.toFixed(3),
      target: "≤ 1",
    },
    {
      write: "run rows in the inbox (start + end lines; runs without LLM calls)",
      "ms each": perRunInbox.toFixed(3),
      target: "≤ 1",
    },
    { write: `fold ${R} inbox runs into the database (next open)`, "ms each": (fold / R).toFixed(3), target: "" },
  ];
}

if (import.meta.main) {
  // LEDGER_BENCH=writes measures the writes alone (e.g. under Bun, the binary's runtime:
  // `LEDGER_BENCH=writes npx -y bun@1.4.5 bench/ledger_bench.ts`).
  if (process.env.LEDGER_BENCH !== "writes") {
    if (!existsSync(PFLOW_BIN)) throw new Error(`${PFLOW_BIN} is missing: run 'deno task compile' first`);
    await ensureBigLedger();
    console.table(reportBench(Number(process.env.LEDGER_BENCH_ROUNDS ?? 7)));
  }
  console.table(await writeBench());
}
