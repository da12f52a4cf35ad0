/**
 * The metrics of `pflow metrics` and `pflow metrics serve`, computed from
 * the ledger: a CLI process lives for seconds, so the counters are sums over
 * every recorded run (SQL aggregation over the `runs`, `usage` and
 * `node_usage` tables), not process memory. Labels are bounded: workflow
 * names, node types, providers, models, statuses; never ids or params.
 * @module
 */
import type { DatabaseSync, SQLInputValue } from "node:sqlite";
import { bucketColumns, BUCKETS, bucketSums } from "../ledger/schema.ts";
import { roundUsd } from "../pricing/cost.ts";
import { VERSION } from "../version.ts";
import { cumulate, type HistogramSeries, type MetricFamily, type ValueSeries } from "./exposition.ts";

/** What to count. */
export interface CollectOptions {
  /** Only runs started at or after this instant (Unix ms); all when absent. */
  sinceMs?: number;
}

const LLM_BUCKETS = bucketColumns("ld", BUCKETS.llm);
const NODE_BUCKETS = bucketColumns("nd", BUCKETS.node);

type Row = Record<string, number | string | null>;

/** The provider and model labels of a pflow model id (`provider/model`). */
export function modelLabels(id: string): { provider: string; model: string } {
  const slash = id.indexOf("/");
  return slash < 0 ? { provider: "", model: id } : { provider: id.slice(0, slash), model: id.slice(slash + 1) };
}

/** Rows summed per `key`, over `columns`. */
function sumBy(rows: Row[], key: string, columns: string[]): Row[] {
  const out = new Map<unknown, Row>();
  for (const row of rows) {
    const sum = out.get(row[key]) ?? { [key]: row[key] };
    for (const c of columns) sum[c] = Number(sum[c] ?? 0) + Number(row[c] ?? 0);
    out.set(row[key], sum);
  }
  return [...out.values()];
}

/** Every metric family, from the ledger `db`. */
export function collectMetrics(db: DatabaseSync, options: CollectOptions = {}): MetricFamily[] {
  const since = options.sinceMs === undefined ? undefined : Math.ceil(options.sinceMs);
  const where = (alias: string, more?: string) => {
    const parts = [since === undefined ? "" : `${alias}.started_ms >= ?`, more ?? ""].filter(Boolean);
    return parts.length ? `WHERE ${parts.join(" AND ")}` : "";
  };
  const params: SQLInputValue[] = since === undefined ? [] : [since];
  const all = (sql: string) => db.prepare(sql).all(...params) as Row[];
  const labels = new Map<number, string>();
  for (const row of db.prepare("SELECT id, text FROM labels").all() as { id: number; text: string }[]) {
    labels.set(row.id, row.text);
  }
  const label = (id: unknown) => labels.get(Number(id)) ?? "";
  const n = (v: unknown) => Number(v ?? 0);

  // ---- runs, nodes and LLM calls: one ordered scan of a covering index each
  const runs = all(`SELECT r.workflow AS workflow, r.status AS status, count(*) AS runs,
      max(coalesce(r.ended_ms, r.started_ms)) AS last, count(r.duration_ms) AS count, total(r.duration_ms) AS sum,
      ${bucketSums("r.duration_ms", BUCKETS.run).map((sql, i) => `${sql} AS b${i}`).join(", ")}
    FROM runs r INDEXED BY runs_metrics ${where("r")} GROUP BY r.workflow, r.status`);
  const nodes = all(`SELECT u.node_type AS type, u.status AS status, total(u.executions) AS executions,
      total(u.timed) AS count, total(u.duration_ms_sum) AS sum,
      ${NODE_BUCKETS.map((c) => `total(u.${c}) AS ${c}`).join(", ")}
    FROM node_usage u INDEXED BY node_usage_metrics ${where("u")} GROUP BY u.node_type, u.status`);
  const models = all(`SELECT u.model AS model, total(u.calls) AS calls, total(u.errors) AS errors,
      total(u.input_tokens) AS input, total(u.cache_read_tokens) AS cache_read,
      total(u.cache_write_tokens) AS cache_write, total(u.output_tokens) AS output,
      total(u.reasoning_tokens) AS reasoning, total(u.cost_usd) AS cost,
      total(u.unpriced_calls) - total(u.usage_missing_calls) AS unpriced, total(u.usage_missing_calls) AS missing,
      total(u.timed_calls) AS timed, total(u.duration_ms_sum) AS duration,
      ${LLM_BUCKETS.map((c) => `total(u.${c}) AS ${c}`).join(", ")}
    FROM usage u INDEXED BY usage_metrics ${where("u")} GROUP BY u.model`);
  // A counter never goes down, so it counts ended runs only: a run in progress would count under
  // `running` and then move to its final status, which a scraper reads as a counter reset.
  const ended = runs.filter((r) => r.status !== "running");
  // Histograms over every status: the rows of one workflow (node type) summed.
  const durations = sumBy(ended, "workflow", [
    "count",
    "sum",
    ...BUCKETS.run.map((_, i) => `b${i}`),
  ]);
  const nodeDurations = sumBy(nodes, "type", ["count", "sum", ...NODE_BUCKETS]);
  const nodeCounts = nodes;

  const byModel = models.map((row) => ({ row, labels: modelLabels(label(row.model)) }));
  const seconds = (ms: unknown) => n(ms) / 1000;
  const histogram = (
    labelsOf: Record<string, string>,
    row: Row,
    columns: string[],
    sumMs: unknown,
  ): HistogramSeries => ({
    labels: labelsOf,
    cumulative: cumulate(columns.map((c) => n(row[c]))),
    count: n(row.count ?? row.timed),
    sum: seconds(sumMs),
  });
  const lastSuccess = new Map<string, number>();
  for (const r of runs) {
    if (r.status !== "success") continue;
    const workflow = label(r.workflow);
    lastSuccess.set(workflow, Math.max(lastSuccess.get(workflow) ?? 0, n(r.last)));
  }
  const sorted = <T extends { labels: Record<string, string> }>(series: T[]) =>
    series.sort((a, b) => JSON.stringify(a.labels) < JSON.stringify(b.labels) ? -1 : 1);

  // Every workflow has its gauge, 0 when nothing runs, so the series does not vanish.
  const inProgress = new Map<string, number>();
  for (const r of runs) {
    const workflow = label(r.workflow);
    inProgress.set(workflow, (inProgress.get(workflow) ?? 0) + (r.status === "running" ? n(r.runs) : 0));
  }

  return [
    {
      name: "pflow_workflow_runs_total",
      help: "Ended workflow runs recorded in the ledger, by workflow and how they ended.",
      type: "counter",
      series: sorted(
        ended.map((r) => ({ labels: { workflow: label(r.workflow), status: String(r.status) }, value: n(r.runs) })),
      ),
    },
    {
      name: "pflow_workflow_runs_in_progress",
      help:
        "Workflow runs in progress: started, not ended, and their process still there (a run whose process is gone counts as interrupted).",
      type: "gauge",
      series: sorted([...inProgress].map(([workflow, value]) => ({ labels: { workflow }, value }))),
    },
    {
      name: "pflow_workflow_duration_seconds",
      help: "Wall time of ended workflow runs, in seconds.",
      unit: "seconds",
      type: "histogram",
      bounds: BUCKETS.run,
      series: sorted(durations.map((r) => ({
        labels: { workflow: label(r.workflow) },
        cumulative: cumulate(BUCKETS.run.map((_, i) => n(r[`b${i}`]))),
        count: n(r.count),
        sum: seconds(r.sum),
      }))),
    },
    {
      name: "pflow_node_executions_total",
      help: "Node executions of workflow runs, by node type and how they ended.",
      type: "counter",
      series: sorted(nodeCounts.map((r) => ({
        labels: { node_type: String(r.type), status: String(r.status) },
        value: n(r.executions),
      }))),
    },
    {
      name: "pflow_node_duration_seconds",
      help:
        "Wall time of node executions that were measured (runs of workflows with llm nodes, --metrics, JSON output, traces), in seconds.",
      unit: "seconds",
      type: "histogram",
      bounds: BUCKETS.node,
      series: sorted(nodeDurations.map((r) => histogram({ node_type: String(r.type) }, r, NODE_BUCKETS, r.sum))),
    },
    {
      name: "pflow_llm_calls_total",
      help: "LLM calls (failed attempts included), by provider, model and status (ok or error).",
      type: "counter",
      series: sorted(byModel.flatMap(({ row, labels: l }) => [
        { labels: { ...l, status: "ok" }, value: n(row.calls) - n(row.errors) },
        ...(n(row.errors) > 0 ? [{ labels: { ...l, status: "error" }, value: n(row.errors) }] : []),
      ])),
    },
    {
      name: "pflow_llm_call_duration_seconds",
      help: "Wall time of LLM calls, retries included, in seconds.",
      unit: "seconds",
      type: "histogram",
      bounds: BUCKETS.llm,
      series: sorted(byModel.map(({ row, labels: l }) => histogram(l, row, LLM_BUCKETS, row.duration))),
    },
    {
      name: "pflow_llm_tokens_total",
      help:
        "LLM tokens by type: input (uncached), cache_read, cache_write, output (reasoning included) and reasoning (a part of output).",
      type: "counter",
      series: sorted(
        byModel.flatMap(({ row, labels: l }) =>
          (["input", "cache_read", "cache_write", "output", "reasoning"] as const).map((type) => ({
            labels: { ...l, type },
            value: n(row[type]),
          }))
        ),
      ),
    },
    {
      name: "pflow_llm_cost_dollars_total",
      help: "Cost of priced LLM calls in US dollars (USD), provider-reported cost preferred; unpriced calls count 0.",
      unit: "dollars",
      type: "counter",
      // Summed in SQL: rounded as every cost is reported (0.0135, not 0.013499999999999998).
      series: sorted(byModel.map(({ row, labels: l }) => ({ labels: l, value: roundUsd(n(row.cost)) }))),
    },
    {
      name: "pflow_llm_unpriced_calls_total",
      help: "LLM calls whose model has no price: their tokens are counted, their cost is not.",
      type: "counter",
      series: sorted(byModel.map(({ row, labels: l }) => ({ labels: l, value: n(row.unpriced) }))),
    },
    {
      name: "pflow_llm_usage_missing_calls_total",
      help: "LLM calls whose usage the provider did not report: their tokens and cost are unknown.",
      type: "counter",
      series: sorted(byModel.map(({ row, labels: l }) => ({ labels: l, value: n(row.missing) }))),
    },
    {
      name: "pflow_workflow_last_success_timestamp_seconds",
      help: "When the last successful run of each workflow ended, Unix seconds.",
      unit: "seconds",
      type: "gauge",
      series: sorted([...lastSuccess].map(([workflow, ms]) => ({ labels: { workflow }, value: ms / 1000 }))),
    },
    {
      name: "pflow_workflow_last_run_timestamp_seconds",
      help: "When the last run of each workflow ended (or started, when still running), by status, Unix seconds.",
      unit: "seconds",
      type: "gauge",
      series: sorted(runs.map((r): ValueSeries => ({
        labels: { workflow: label(r.workflow), status: String(r.status) },
        value: n(r.last) / 1000,
      }))),
    },
    {
      name: "pflow_build_info",
      help: "The pflow version that computed these metrics.",
      type: "info",
      series: [{ labels: { version: VERSION }, value: 1 }],
    },
  ];
}
