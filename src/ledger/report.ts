/**
 * Reading the ledger for `pflow cost`: grouped totals, top runs and nodes,
 * one run's breakdown, and repricing. Figures are aggregated in SQL over the
 * `usage` rollup (one row per run, phase, node and model) through covering
 * indexes; only the groups and models come back to JS, each summed into its
 * group as it is read (`--by run`: the usage rows themselves, a run's few rows
 * listed together, which spares SQL a sort). Repricing prices the same sums,
 * reading only the call rows above a long-context threshold (a tier applies
 * per request).
 * @module
 */
import type { DatabaseSync, SQLInputValue } from "node:sqlite";
import { costAtPrices, findPrices, type PricedTokens, pricesFor, roundUsd } from "../pricing/cost.ts";
import type { ModelPrices, PriceTable } from "../pricing/table.ts";
import type { LlmUsage } from "../llm/types.ts";
import { type OffsetSpan, offsetSpansOver, type Period, periodSql } from "./period.ts";
import { FLAG, NO_NODE, PHASE_CODE, REQUEST_INPUT } from "./schema.ts";
import type { LedgerPhase, LedgerRunStatus } from "./types.ts";

/** What a report groups by. */
export type GroupBy = Period | "model" | "workflow" | "node" | "run";

/** The accepted `--by` values. */
export const GROUP_BYS: readonly GroupBy[] = ["day", "week", "month", "model", "workflow", "node", "run"];

/** Which calls and runs a report covers. */
export interface ReportFilters {
  /** First instant, Unix ms (inclusive). */
  sinceMs?: number;
  /** Last instant, Unix ms (inclusive). */
  untilMs?: number;
  /** Workflow name. */
  workflow?: string;
  /** Model ids (as requested), already matched from `--model`. */
  models?: string[];
  /** Run statuses. */
  statuses?: LedgerRunStatus[];
  /** Phase. */
  phase?: LedgerPhase;
}

/** Token and cost sums of a set of calls. */
export interface Totals {
  runs: number;
  llm_calls: number;
  input_tokens: number;
  cache_write_tokens: number;
  cache_read_tokens: number;
  output_tokens: number;
  reasoning_tokens: number;
  total_tokens: number;
  /** Priced calls' cost (provider-reported preferred); null when no call's cost is known. */
  cost_usd: number | null;
  /** False when some calls' cost is unknown: unpriced, or usage missing (their cost is left out). */
  cost_complete: boolean;
  /** Calls of a model without a price (their tokens are counted, their cost is not). */
  unpriced_calls: number;
  /** Calls whose usage the provider did not report (tokens and cost unknown, at any price). */
  usage_missing_calls: number;
  /** With `--reprice`: the cost under the given table. */
  repriced_cost_usd?: number | null;
  /** With `--reprice`: false when the table prices some calls' models not, or some calls' usage is missing. */
  repriced_complete?: boolean;
  /** With `--reprice`: calls with usage that the table does not price. */
  repriced_unpriced_calls?: number;
}

/** One row of a report. */
export interface ReportRow extends Totals {
  /** The group: a date, a month, a model id, a workflow, `workflow/node`, or an execution id. */
  group: string;
  /** Models of the group's calls, most expensive first. */
  models: string[];
  /** Models of the group without a price (calls whose usage is missing do not count). */
  unpriced_models: string[];
  /** `--by node`: the workflow, node and phase. */
  workflow?: string;
  node?: string | null;
  phase?: LedgerPhase;
  /**
   * `--by node`: node executions that made calls (each once, whatever models it called); in a breakdown row,
   * and with `--model`, those that called the row's models.
   */
  executions?: number;
  /** `--by run`: the run. */
  execution_id?: string;
  started_at?: string;
  status?: LedgerRunStatus;
  duration_ms?: number | null;
  trace_file?: string | null;
  /** `--breakdown`: one row per model. */
  breakdown?: ReportRow[];
}

/** A report. */
export interface Report {
  group_by: GroupBy;
  rows: ReportRow[];
  totals: Totals;
  /** Models without a price, with their calls in the report, most calls first. */
  unpriced_models: { model: string; calls: number }[];
  /** Models of the calls whose usage was not reported, with those calls, most first. */
  usage_missing_models: { model: string; calls: number }[];
  /** With `--reprice`: models the given table does not price. */
  repriced_unpriced_models?: string[];
}

/** Options of {@link costReport}. */
export interface ReportOptions {
  groupBy: GroupBy;
  filters: ReportFilters;
  /** IANA zone for day, week and month. */
  timezone: string;
  /** Reprice every call with this table. */
  reprice?: PriceTable;
  /** Give each row its `breakdown` (a row per model); without it, rows only name their models. */
  breakdown?: boolean;
}

interface Labels {
  text(id: number | null): string | null;
  ids(kind: string, text: string): number | undefined;
}

/** The ledger's labels, loaded once per report. */
export function loadLabels(db: DatabaseSync): Labels & { all(kind: string): string[] } {
  const byId = new Map<number, string>();
  const byText = new Map<string, number>();
  const byKind = new Map<string, string[]>();
  for (
    const row of db.prepare("SELECT id, kind, text FROM labels").all() as { id: number; kind: string; text: string }[]
  ) {
    byId.set(row.id, row.text);
    byText.set(`${row.kind}\0${row.text}`, row.id);
    if (!byKind.has(row.kind)) byKind.set(row.kind, []);
    byKind.get(row.kind)!.push(row.text);
  }
  return {
    text: (id) => id === null || id === NO_NODE ? null : byId.get(id) ?? null,
    ids: (kind, text) => byText.get(`${kind}\0${text}`),
    all: (kind) => [...(byKind.get(kind) ?? [])].sort(),
  };
}

/** A WHERE clause and its parameters. */
interface Where {
  sql: string;
  params: SQLInputValue[];
  /** Nothing can match (e.g. an unknown workflow). */
  empty: boolean;
}

/** The filters on a table with `started_ms`, `workflow`, `model`, `phase` and `run` columns (alias `a`). */
function rowWhere(filters: ReportFilters, labels: Labels, alias: string, runLevel = false): Where {
  const parts: string[] = [];
  const params: SQLInputValue[] = [];
  let empty = false;
  const runCol = runLevel ? `${alias}.id` : `${alias}.run`;
  if (filters.sinceMs !== undefined) {
    parts.push(`${alias}.started_ms >= ?`);
    params.push(Math.ceil(filters.sinceMs));
  }
  if (filters.untilMs !== undefined) {
    parts.push(`${alias}.started_ms <= ?`);
    params.push(Math.floor(filters.untilMs));
  }
  if (filters.workflow !== undefined) {
    const id = labels.ids("workflow", filters.workflow);
    if (id === undefined) empty = true;
    parts.push(`${alias}.workflow = ?`);
    params.push(id ?? -1);
  }
  if (!runLevel && filters.models !== undefined) {
    const ids = filters.models.flatMap((m) => labels.ids("model", m) ?? []);
    if (ids.length === 0) empty = true;
    parts.push(`${alias}.model IN (${ids.length ? ids.join(", ") : "-1"})`);
  }
  if (!runLevel && filters.phase !== undefined) parts.push(`${alias}.phase = ${PHASE_CODE[filters.phase]}`);
  if (filters.statuses !== undefined) {
    const list = filters.statuses.map(() => "?").join(", ");
    parts.push(
      runLevel ? `${alias}.status IN (${list})` : `${runCol} IN (SELECT id FROM runs WHERE status IN (${list}))`,
    );
    params.push(...filters.statuses);
  }
  return { sql: parts.length ? `WHERE ${parts.join(" AND ")}` : "", params, empty };
}

/** Whether the filters select calls rather than whole runs (then runs without calls do not count). */
function filtersCalls(filters: ReportFilters): boolean {
  return filters.models !== undefined || filters.phase !== undefined;
}

/** The summed columns of usage rows (`u`) and their names in a {@link SumRow}. */
const SUMMED: [string, keyof SumRow][] = [
  ["u.calls", "llm_calls"],
  ["u.input_tokens", "input_tokens"],
  ["u.cache_write_tokens", "cache_write_tokens"],
  ["u.cache_read_tokens", "cache_read_tokens"],
  ["u.cache_write_1h_tokens", "cache_write_1h_tokens"],
  ["u.output_tokens", "output_tokens"],
  ["u.reasoning_tokens", "reasoning_tokens"],
  ["u.cost_usd", "cost"],
  ["u.unpriced_calls", "unknown"],
  ["u.usage_missing_calls", "missing"],
];

/** The sums of usage rows (`u`), as a {@link SumRow}. */
const USAGE_SUMS = SUMMED.map(([column, name]) => `total(${column}) AS ${name}`).join(", ");

type SumRow = {
  llm_calls: number;
  input_tokens: number;
  cache_write_tokens: number;
  cache_write_1h_tokens: number;
  cache_read_tokens: number;
  output_tokens: number;
  reasoning_tokens: number;
  cost: number;
  /** Calls of unknown cost: unpriced or usage missing. */
  unknown: number;
  missing: number;
};

function totalsOf(runs: number, row: SumRow | undefined): Totals {
  const n = (v: unknown) => Number(v ?? 0);
  const calls = n(row?.llm_calls);
  const unknown = n(row?.unknown);
  const missing = n(row?.missing);
  const input = n(row?.input_tokens);
  const cacheWrite = n(row?.cache_write_tokens);
  const cacheRead = n(row?.cache_read_tokens);
  const output = n(row?.output_tokens);
  return {
    runs,
    llm_calls: calls,
    input_tokens: input,
    cache_write_tokens: cacheWrite,
    cache_read_tokens: cacheRead,
    output_tokens: output,
    reasoning_tokens: n(row?.reasoning_tokens),
    total_tokens: input + cacheWrite + cacheRead + output,
    cost_usd: calls > 0 && unknown === calls ? null : roundUsd(n(row?.cost)),
    cost_complete: unknown === 0,
    unpriced_calls: unknown - missing,
    usage_missing_calls: missing,
  };
}

/**
 * Sets the repriced figures of `totals` from the repriced cost and the calls with usage the table leaves
 * unpriced (calls without usage stay of unknown cost at any price).
 */
function setRepriced(totals: Totals, repriced: number, unpriced: number): void {
  const unknown = unpriced + totals.usage_missing_calls;
  totals.repriced_cost_usd = totals.llm_calls > 0 && unknown === totals.llm_calls ? null : roundUsd(repriced);
  totals.repriced_complete = unknown === 0;
  totals.repriced_unpriced_calls = unpriced;
}

/** Adds `b` into `a` (the Total row is the sum of the rows). */
export function addTotals(a: Totals, b: Totals): Totals {
  const sum: Totals = {
    runs: a.runs + b.runs,
    llm_calls: a.llm_calls + b.llm_calls,
    input_tokens: a.input_tokens + b.input_tokens,
    cache_write_tokens: a.cache_write_tokens + b.cache_write_tokens,
    cache_read_tokens: a.cache_read_tokens + b.cache_read_tokens,
    output_tokens: a.output_tokens + b.output_tokens,
    reasoning_tokens: a.reasoning_tokens + b.reasoning_tokens,
    total_tokens: a.total_tokens + b.total_tokens,
    cost_usd: sumCost(a.llm_calls, a.cost_usd, b.llm_calls, b.cost_usd),
    cost_complete: a.cost_complete && b.cost_complete,
    unpriced_calls: a.unpriced_calls + b.unpriced_calls,
    usage_missing_calls: a.usage_missing_calls + b.usage_missing_calls,
  };
  if (a.repriced_cost_usd !== undefined || b.repriced_cost_usd !== undefined) {
    const ra = a.repriced_cost_usd ?? null;
    const rb = b.repriced_cost_usd ?? null;
    sum.repriced_cost_usd = sumCost(a.llm_calls, ra, b.llm_calls, rb);
    sum.repriced_complete = (a.repriced_complete ?? true) && (b.repriced_complete ?? true);
    sum.repriced_unpriced_calls = (a.repriced_unpriced_calls ?? 0) + (b.repriced_unpriced_calls ?? 0);
  }
  return sum;
}

/** The cost of two sets of calls: null (unpriced) only when every call is; sets without calls add nothing. */
function sumCost(callsA: number, a: number | null, callsB: number, b: number | null): number | null {
  if (callsA === 0) return callsB === 0 ? roundUsd((a ?? 0) + (b ?? 0)) : b;
  if (callsB === 0) return a;
  // At the precision costs are reported with: 0.1 + 0.05 is 0.15, not 0.15000000000000002.
  return a === null && b === null ? null : roundUsd((a ?? 0) + (b ?? 0));
}

/** All-zero totals (with zero repriced figures when repricing). */
export function zeroTotals(reprice: boolean): Totals {
  const totals = totalsOf(0, undefined);
  if (reprice) setRepriced(totals, 0, 0);
  return totals;
}

/** Sorts rows by cost (then calls, then name), most expensive first. */
function byCost(a: Totals & { group: string }, b: Totals & { group: string }): number {
  return (b.cost_usd ?? 0) - (a.cost_usd ?? 0) || b.llm_calls - a.llm_calls ||
    (a.group < b.group ? -1 : a.group > b.group ? 1 : 0);
}

/** The span of run start times, or undefined for an empty ledger. */
function runSpan(db: DatabaseSync): { min: number; max: number } | undefined {
  const row = db.prepare("SELECT min(started_ms) AS min, max(started_ms) AS max FROM runs").get() as {
    min: number | null;
    max: number | null;
  };
  return row.min === null ? undefined : { min: row.min, max: row.max! };
}

/** The length of the stretches of time whose zone offsets a report samples where they hold runs (a year). */
const STRETCH_MS = 366 * 86_400_000;

/**
 * The offset spans of `zone` for labelling the run starts a report covers (within `--since`/`--until`): the
 * zone's changes are looked for only over the years that hold runs, each found with two index seeks, so a run
 * far from the others (a start in year 9999) costs a sample, not one every 12 hours of the years between.
 */
function reportSpans(db: DatabaseSync, zone: string, filters: ReportFilters): OffsetSpan[] {
  const lo = filters.sinceMs === undefined ? -Number.MAX_SAFE_INTEGER : Math.ceil(filters.sinceMs);
  const hi = filters.untilMs === undefined ? Number.MAX_SAFE_INTEGER : Math.floor(filters.untilMs);
  const first = db.prepare("SELECT min(started_ms) AS ms FROM runs WHERE started_ms >= ? AND started_ms <= ?");
  const last = db.prepare("SELECT max(started_ms) AS ms FROM runs WHERE started_ms < ? AND started_ms <= ?");
  const ranges: { fromMs: number; toMs: number }[] = [];
  let from = (first.get(lo, hi) as { ms: number | null }).ms;
  while (from !== null) {
    const end = Number(from) + STRETCH_MS;
    ranges.push({ fromMs: Number(from), toMs: Number((last.get(end, hi) as { ms: number }).ms) });
    from = (first.get(end, hi) as { ms: number | null }).ms;
  }
  return offsetSpansOver(zone, ranges);
}

/** How one `--by` groups usage rows (`u`) and call rows (`c`). */
interface Grouping {
  /** The group key over usage rows, and the same over call rows (for repricing). */
  usageKey: string[];
  callKey: string[];
  /** The covering index to scan. */
  index: string;
  /** Flag of the usage row that counts a run for its group, and for its group and model. */
  groupRunFlag: number;
  pairRunFlag: number;
}

function grouping(groupBy: GroupBy, filters: ReportFilters, spans: OffsetSpan[]): Grouping {
  const phased = filters.phase !== undefined;
  const modelRun = phased ? FLAG.runPhaseModel : FLAG.runModel;
  switch (groupBy) {
    case "model":
      return { usageKey: [], callKey: [], index: "usage_by_model", groupRunFlag: modelRun, pairRunFlag: modelRun };
    case "node":
      return {
        usageKey: ["u.workflow", "u.phase", "u.node"],
        callKey: ["c.workflow", "c.phase", `coalesce(c.node, ${NO_NODE})`],
        index: "usage_by_node",
        groupRunFlag: FLAG.runPhaseNode,
        pairRunFlag: 0, // every usage row is one run's use of a node and model
      };
    case "workflow":
    case "run": {
      const column = groupBy === "workflow" ? "workflow" : "run";
      return {
        usageKey: [`u.${column}`],
        callKey: [`c.${column}`],
        index: groupBy === "workflow" ? "usage_by_node" : "sqlite_autoindex_usage_1",
        groupRunFlag: phased ? FLAG.runPhase : FLAG.run,
        pairRunFlag: modelRun,
      };
    }
    default:
      return {
        usageKey: [periodSql(groupBy, "u.started_ms", spans)],
        callKey: [periodSql(groupBy, "c.started_ms", spans)],
        index: "usage_by_time",
        groupRunFlag: phased ? FLAG.runPhase : FLAG.run,
        pairRunFlag: modelRun,
      };
  }
}

/** One group and model of a report, before naming (kept for `--by model` and repricing, which need them all). */
interface Pair {
  key: string;
  keyValues: unknown[];
  model: number;
  groupRuns: number;
  /** Node executions counted once (at their first call's model), and those that called this model. */
  executions: number;
  modelExecutions: number;
  /** The pair's sums as the query gave them, and as figures (cost rounded). */
  sums: SumRow;
  totals: Totals;
  /** The 1-hour part of the cache writes (priced apart when repricing). */
  cacheWrite1hTokens: number;
  /** With `--reprice`: the repriced cost (not rounded) and the calls with usage the table does not price. */
  repricedCost?: number;
  repricedUnpriced?: number;
}

/** A row of the pair query: the group's key values (`k0`…), the model, run and execution counts, and the sums. */
type PairRow = SumRow & {
  model: number;
  runs: number;
  group_runs: number;
  executions: number;
  model_executions: number;
  [key: `k${number}`]: unknown;
};

/** Builds a cost report (see {@link Report}). */
export function costReport(db: DatabaseSync, options: ReportOptions): Report {
  const labels = loadLabels(db);
  const { groupBy, filters } = options;
  const span = runSpan(db);
  const spans = span && (groupBy === "day" || groupBy === "week" || groupBy === "month")
    ? reportSpans(db, options.timezone, filters)
    : [];
  const g = grouping(groupBy, filters, spans);
  const where = rowWhere(filters, labels, "u");
  const reprices = options.reprice !== undefined;
  const nothing = where.empty || span === undefined;
  const groups = new Groups({ groupBy, labels, reprices, byModel: filters.models !== undefined });
  // Every pair at once only where all are priced first or are the rows; else each sums into its group as read.
  const keepPairs = groupBy === "model" || reprices;
  const breakdown = options.breakdown === true;
  const pairs = nothing || !keepPairs ? [] : [...scanPairs(db, { g, where, aggregate: true })].map((r) => pairOf(g, r));
  const entries = new Map<number, ModelPrices | undefined>();
  if (options.reprice && pairs.length > 0) {
    reprice(db, { g, pairs, filters, labels, table: options.reprice, entries });
  }
  let rows: Keyed[];
  if (groupBy === "model") rows = pairs.map((p) => ({ row: modelRow(p, labels, groupBy), key: p.key, keyValues: [] }));
  else {
    if (keepPairs) { for (const pair of pairs) groups.addPair(pair, breakdown); }
    else if (!nothing) {
      // A run has few usage rows, which its group's index lists together: summed here, without SQL's sort
      // (a breakdown row is one group and model: summed by SQL).
      const aggregate = groupBy !== "run" || breakdown;
      for (const r of scanPairs(db, { g, where, aggregate })) groups.add(g, r, breakdown);
    }
    rows = groups.rows();
  }
  if (filters.models !== undefined && groupBy !== "model") {
    // A group's first call may be of another model: count its runs (and node executions) from the matching rows.
    exactCounts(db, { g, where, labels, filters, rows: new Map(rows.map((r) => [r.key, r.row])) });
  }
  if (!filtersCalls(filters) && groupBy !== "model" && groupBy !== "node" && span !== undefined) {
    addRunsWithoutCalls(db, { g, filters, labels, rows, spans, groupBy, reprices });
  }
  const named = nameRows(db, rows, { groupBy, labels, filters });
  let totals = zeroTotals(reprices);
  for (const row of named) totals = addTotals(totals, row);
  // A run counts once in the total even when it spans several models or nodes.
  if (groupBy === "model" || groupBy === "node") totals.runs = runsWithCalls(db, where);
  const report: Report = { group_by: groupBy, rows: named, totals, ...unknownCostModels(db, where, labels) };
  if (options.reprice) {
    // Models with calls the table leaves unpriced (not those whose every call cost $0 or lacks usage).
    const unpriced = new Set(pairs.filter((p) => (p.repricedUnpriced ?? 0) > 0).map((p) => p.model));
    report.repriced_unpriced_models = [...unpriced].map((m) => labels.text(m)!).sort();
  }
  return report;
}

/**
 * The report's groups and models, summed over usage rows in one scan (rows one at a time); without
 * `aggregate`, the usage rows themselves, in the same shape (a group and model may then come more than once).
 */
function scanPairs(db: DatabaseSync, ctx: { g: Grouping; where: Where; aggregate: boolean }): Iterable<PairRow> {
  const { g, where, aggregate } = ctx;
  const sum = (expression: string) => aggregate ? `total(${expression})` : expression;
  const keys = g.usageKey.map((k, i) => `${k} AS k${i}`);
  const pairRuns = g.pairRunFlag === 0 ? (aggregate ? "count(*)" : "1") : sum(`(u.flags & ${g.pairRunFlag}) != 0`);
  // Only the node report's index covers the executions per model (the other reports do not show them).
  const modelExecutions = g.index === "usage_by_node" ? sum("u.model_executions") : "0";
  const sums = aggregate ? USAGE_SUMS : SUMMED.map(([column, name]) => `${column} AS ${name}`).join(", ");
  const sql = `SELECT ${[...keys, "u.model AS model"].join(", ")}, ${pairRuns} AS runs,
      ${sum(`(u.flags & ${g.groupRunFlag}) != 0`)} AS group_runs, ${sum("u.executions")} AS executions,
      ${modelExecutions} AS model_executions, ${sums}
    FROM usage u INDEXED BY ${g.index} ${where.sql}
    ${aggregate ? `GROUP BY ${[...g.usageKey.map((_, i) => `k${i}`), "u.model"].join(", ")}` : ""}`;
  return db.prepare(sql).iterate(...where.params) as Iterable<PairRow>;
}

/** A group's key values in a pair row, and the key they make. */
function keyOf(g: Grouping, r: PairRow): { key: string; keyValues: unknown[] } {
  const keyValues = g.usageKey.map((_, i) => r[`k${i}`]);
  return { key: JSON.stringify(keyValues), keyValues };
}

function pairOf(g: Grouping, r: PairRow): Pair {
  return {
    ...keyOf(g, r),
    model: Number(r.model),
    groupRuns: Number(r.group_runs),
    executions: Number(r.executions),
    modelExecutions: Number(r.model_executions),
    sums: sumsOf(r),
    totals: totalsOf(Number(r.runs), r),
    cacheWrite1hTokens: Number(r.cache_write_1h_tokens),
  };
}

/**
 * Adds the repriced cost to each pair. Cost is linear in tokens within one price class, so the
 * rollup's sums are priced at the base prices, except the requests above a long-context threshold
 * (a tier applies per request, as providers bill): those few call rows, found through the
 * `calls_request_input` index, are summed per tier and priced at their tier's prices instead. A call
 * whose provider reported its cost (OpenRouter's `usage.cost`) keeps it, as it counts everywhere: those
 * call rows (the `calls_reported` index) are taken out of the sums, and their reported costs added.
 */
function reprice(
  db: DatabaseSync,
  ctx: {
    g: Grouping;
    pairs: Pair[];
    filters: ReportFilters;
    labels: Labels;
    table: PriceTable;
    /** The prices found per model (filled here, read again for the report's unpriced models). */
    entries: Map<number, ModelPrices | undefined>;
  },
): void {
  const entries = ctx.entries;
  // Models with tokens: the prices of the others do not matter (a call of known zero usage, a rejected request,
  // costs $0 priced or not; one whose usage is missing has no cost at any price).
  const withTokens = new Set(ctx.pairs.filter((p) => p.totals.total_tokens > 0).map((p) => p.model));
  for (const { model } of ctx.pairs) {
    if (!entries.has(model)) {
      entries.set(model, repriceEntry(db, { table: ctx.table, model, labels: ctx.labels, withTokens }));
    }
  }
  // Every threshold of the models in the report: a request's class is how many of them it exceeds.
  const thresholds = [
    ...new Set([...entries.values()].flatMap((e) => (e?.tiers ?? []).map((t) => t.above_input_tokens))),
  ].sort((a, b) => a - b);
  const long = longRequests(db, { ...ctx, thresholds });
  const reported = reportedCalls(db, ctx);
  // A call of known zero usage (a rejected request) costs $0 at any price, even without one (as priceCall
  // prices it): of an unpriced pair, only its calls with tokens are unpriced. A pair without any token has only
  // those (and calls whose usage is missing); the others' are counted from their call rows.
  const unpricedWithTokens = ctx.pairs.filter((p) => entries.get(p.model) === undefined && p.totals.total_tokens > 0);
  const zero = zeroUsageCalls(db, { ...ctx, models: [...new Set(unpricedWithTokens.map((p) => p.model))] });
  for (const pair of ctx.pairs) {
    const entry = entries.get(pair.model);
    const own = reported.get(`${pair.key}\0${pair.model}`);
    if (entry === undefined) {
      // Only the calls with a reported cost have one.
      const t = pair.totals;
      const known = t.llm_calls - t.usage_missing_calls - (own?.calls ?? 0);
      const free = t.total_tokens === (own?.tokens ?? 0) ? known : zero.get(`${pair.key}\0${pair.model}`) ?? 0;
      pair.repricedCost = own?.cost ?? 0;
      pair.repricedUnpriced = known - free;
      setRepriced(t, pair.repricedCost, pair.repricedUnpriced);
      continue;
    }
    const t = pair.totals;
    const base: PricedTokens = {
      input_tokens: t.input_tokens,
      cache_read_tokens: t.cache_read_tokens,
      cache_write_5m_tokens: t.cache_write_tokens - pair.cacheWrite1hTokens,
      cache_write_1h_tokens: pair.cacheWrite1hTokens,
      output_tokens: t.output_tokens,
    };
    let cost = own?.cost ?? 0;
    for (const field of Object.keys(base) as (keyof PricedTokens)[]) base[field] -= own?.priced[field] ?? 0;
    for (const { tier, tokens } of long.get(`${pair.key}\0${pair.model}`) ?? []) {
      // The prices of a request just above the tier's lower threshold (exactly what pricesFor picks).
      const probe = Math.floor(thresholds[tier - 1]) + 1;
      const prices = pricesFor(entry, { input_tokens: probe, cache_read_tokens: 0, cache_write_tokens: 0 } as LlmUsage);
      cost += costAtPrices(prices, tokens);
      for (const field of Object.keys(base) as (keyof PricedTokens)[]) base[field] -= tokens[field];
    }
    // A call whose usage is unknown has no cost at any price (its tokens are stored as 0, and a long request's
    // are those of calls with usage): it keeps the repriced total incomplete.
    pair.repricedCost = cost + costAtPrices(entry, base);
    pair.repricedUnpriced = 0;
    setRepriced(t, pair.repricedCost, 0);
  }
}

/**
 * The prices `table` gives the calls of `model` (a label id), found as a run
 * prices a call: by the model requested, else by the model the provider
 * reported (`openai/gpt-9-turbo` answered as `gpt-4o-mini-2024-07-18`) when
 * all of its calls (but rejected requests, which report none) reported models of one entry. Undefined: unpriced.
 * The reported names are looked up whatever priced the model when it ran: the table repriced with may be
 * another (`--price-table`, a price file edited since, a newer pflow's prices).
 */
function repriceEntry(
  db: DatabaseSync,
  ctx: { table: PriceTable; model: number; labels: Labels; withTokens: ReadonlySet<number> },
): ModelPrices | undefined {
  const id = ctx.labels.text(ctx.model)!;
  const direct = findPrices(ctx.table, id);
  if (direct !== undefined) return direct.prices;
  if (!ctx.withTokens.has(ctx.model)) return undefined;
  const provider = id.slice(0, id.indexOf("/"));
  // A rejected request (known zero usage: $0 whatever the price) reported no model, and tells nothing of one.
  // The model's calls are those of its runs, found through the usage rollup (by model) and the calls' index by
  // run, so the calls of runs that never called it are not read.
  const input = REQUEST_INPUT.replaceAll("c.", "");
  const reported = db.prepare(
    `SELECT DISTINCT response_model AS name FROM calls INDEXED BY calls_run
    WHERE run IN (SELECT run FROM usage WHERE model = ?1) AND model = ?1
      AND NOT (usage_missing = 0 AND ${input} = 0 AND output_tokens = 0)`,
  ).all(ctx.model) as { name: string | null }[];
  const matches = reported.map((r) => r.name === null ? undefined : findPrices(ctx.table, `${provider}/${r.name}`));
  const keys = new Set(matches.map((m) => m?.key));
  return keys.size === 1 && matches[0] !== undefined ? matches[0].prices : undefined;
}

/**
 * The calls of known zero usage (reported, every count 0: a rejected request) of `models`, per group and model,
 * found through the `calls_request_input` index (no input at all), so the rest of the call rows are not read.
 */
function zeroUsageCalls(
  db: DatabaseSync,
  ctx: { g: Grouping; filters: ReportFilters; labels: Labels; models: number[] },
): Map<string, number> {
  const found = new Map<string, number>();
  if (ctx.models.length === 0) return found;
  const where = rowWhere(ctx.filters, ctx.labels, "c");
  const keys = ctx.g.callKey.map((k, i) => `${k} AS k${i}`);
  const sql = `SELECT ${[...keys, "c.model AS model"].join(", ")}, count(*) AS n
    FROM calls c INDEXED BY calls_request_input
    ${where.sql ? `${where.sql} AND` : "WHERE"} ${REQUEST_INPUT} = 0 AND c.output_tokens = 0 AND c.usage_missing = 0
      AND c.reported_cost_usd IS NULL AND c.model IN (${ctx.models.join(", ")})
    GROUP BY ${[...ctx.g.callKey.map((_, i) => `k${i}`), "c.model"].join(", ")}`;
  for (const r of db.prepare(sql).all(...where.params) as Record<string, number>[]) {
    found.set(`${JSON.stringify(ctx.g.callKey.map((_, i) => r[`k${i}`]))}\0${Number(r.model)}`, Number(r.n));
  }
  return found;
}

/** What the calls whose provider reported their cost add up to, per group and model. */
interface ReportedSums {
  calls: number;
  /** Their reported costs. */
  cost: number;
  /** Their tokens, as priced, and all of them (input, cache reads and writes, output). */
  priced: PricedTokens;
  tokens: number;
}

/**
 * The calls with a provider-reported cost, per group and model, found through the `calls_reported` index (a
 * partial index of those calls only), so the rest of the call rows are not read.
 */
function reportedCalls(
  db: DatabaseSync,
  ctx: { g: Grouping; filters: ReportFilters; labels: Labels },
): Map<string, ReportedSums> {
  const found = new Map<string, ReportedSums>();
  const where = rowWhere(ctx.filters, ctx.labels, "c");
  const keys = ctx.g.callKey.map((k, i) => `${k} AS k${i}`);
  const sql = `SELECT ${[...keys, "c.model AS model"].join(", ")}, count(*) AS calls,
      total(c.reported_cost_usd) AS cost, total(c.input_tokens) AS input_tokens,
      total(c.cache_read_tokens) AS cache_read_tokens, total(c.cache_write_5m_tokens) AS cache_write_5m_tokens,
      total(c.cache_write_1h_tokens) AS cache_write_1h_tokens, total(c.output_tokens) AS output_tokens
    FROM calls c INDEXED BY calls_reported
    ${where.sql ? `${where.sql} AND` : "WHERE"} c.reported_cost_usd IS NOT NULL
    GROUP BY ${[...ctx.g.callKey.map((_, i) => `k${i}`), "c.model"].join(", ")}`;
  for (const r of db.prepare(sql).all(...where.params) as Record<string, number>[]) {
    const priced: PricedTokens = {
      input_tokens: Number(r.input_tokens),
      cache_read_tokens: Number(r.cache_read_tokens),
      cache_write_5m_tokens: Number(r.cache_write_5m_tokens),
      cache_write_1h_tokens: Number(r.cache_write_1h_tokens),
      output_tokens: Number(r.output_tokens),
    };
    found.set(`${JSON.stringify(ctx.g.callKey.map((_, i) => r[`k${i}`]))}\0${Number(r.model)}`, {
      calls: Number(r.calls),
      cost: Number(r.cost),
      priced,
      tokens: Object.values(priced).reduce((a, b) => a + b, 0),
    });
  }
  return found;
}

/** The token sums of the requests above the lowest threshold, per group, model and tier (1 = above the lowest). */
function longRequests(
  db: DatabaseSync,
  ctx: { g: Grouping; filters: ReportFilters; labels: Labels; thresholds: number[] },
): Map<string, { tier: number; tokens: PricedTokens }[]> {
  const found = new Map<string, { tier: number; tokens: PricedTokens }[]>();
  if (ctx.thresholds.length === 0) return found;
  const where = rowWhere(ctx.filters, ctx.labels, "c");
  const keys = ctx.g.callKey.map((k, i) => `${k} AS k${i}`);
  const tier = ctx.thresholds.map((t) => `(${REQUEST_INPUT} > ${t})`).join(" + ");
  const sql = `SELECT ${[...keys, "c.model AS model"].join(", ")}, ${tier} AS tier,
      total(c.input_tokens) AS input_tokens, total(c.cache_read_tokens) AS cache_read_tokens,
      total(c.cache_write_5m_tokens) AS cache_write_5m_tokens, total(c.cache_write_1h_tokens) AS cache_write_1h_tokens,
      total(c.output_tokens) AS output_tokens
    FROM calls c INDEXED BY calls_request_input
    ${where.sql ? `${where.sql} AND` : "WHERE"} ${REQUEST_INPUT} > ? AND c.usage_missing = 0
      AND c.reported_cost_usd IS NULL
    GROUP BY ${[...ctx.g.callKey.map((_, i) => `k${i}`), "c.model", "tier"].join(", ")}`;
  for (const r of db.prepare(sql).all(...where.params, ctx.thresholds[0]) as Record<string, number>[]) {
    const key = `${JSON.stringify(ctx.g.callKey.map((_, i) => r[`k${i}`]))}\0${Number(r.model)}`;
    if (!found.has(key)) found.set(key, []);
    found.get(key)!.push({
      tier: Number(r.tier),
      tokens: {
        input_tokens: Number(r.input_tokens),
        cache_read_tokens: Number(r.cache_read_tokens),
        cache_write_5m_tokens: Number(r.cache_write_5m_tokens),
        cache_write_1h_tokens: Number(r.cache_write_1h_tokens),
        output_tokens: Number(r.output_tokens),
      },
    });
  }
  return found;
}

/** A report row and its group's key (the group's SQL key values, and those as one string). */
interface Keyed {
  row: ReportRow;
  key: string;
  keyValues: unknown[];
}

function modelRow(pair: Pair, labels: Labels, groupBy: GroupBy): ReportRow {
  return breakdownRow(labels.text(pair.model)!, pair.totals, groupBy === "node" ? pair.modelExecutions : undefined);
}

/** The row of one model of a group (`--by model`, `--breakdown`); `executions` for a node's. */
function breakdownRow(model: string, totals: Totals, executions: number | undefined): ReportRow {
  return {
    group: model,
    ...totals,
    models: [model],
    unpriced_models: totals.unpriced_calls ? [model] : [],
    ...(executions === undefined ? {} : { executions }),
  };
}

/** The sums of a query row, apart from the rest of it. */
function sumsOf(r: SumRow): SumRow {
  return {
    llm_calls: r.llm_calls,
    input_tokens: r.input_tokens,
    cache_write_tokens: r.cache_write_tokens,
    cache_write_1h_tokens: r.cache_write_1h_tokens,
    cache_read_tokens: r.cache_read_tokens,
    output_tokens: r.output_tokens,
    reasoning_tokens: r.reasoning_tokens,
    cost: r.cost,
    unknown: r.unknown,
    missing: r.missing,
  };
}

/** A group's row before anything is added. */
function emptyRow(reprices: boolean): ReportRow {
  return { group: "", ...zeroTotals(reprices), models: [], unpriced_models: [] };
}

/** One model of a group: what orders the group's models (as {@link byCost} orders rows), and its row. */
interface GroupModel {
  id: number;
  /** The cost (not rounded), the calls, those of unknown cost, and those of them whose usage is missing. */
  cost: number;
  calls: number;
  unknown: number;
  missing: number;
  /** `--breakdown`: the model's row. */
  row?: ReportRow;
}

/** A model's cost as its row shows it (rounded; 0 when unknown), what orders a group's models. */
function shownCost(m: GroupModel): number {
  return m.unknown === m.calls ? 0 : roundUsd(m.cost);
}

/** A group being summed. */
interface Group {
  key: string;
  keyValues: unknown[];
  runs: number;
  executions: number;
  /** The group's sums (cost not rounded: a row's cost is rounded once, from these). */
  sums: SumRow;
  repricedCost: number;
  repricedUnpriced: number;
  models: GroupModel[];
}

const ZERO_SUMS: SumRow = {
  llm_calls: 0,
  input_tokens: 0,
  cache_write_tokens: 0,
  cache_write_1h_tokens: 0,
  cache_read_tokens: 0,
  output_tokens: 0,
  reasoning_tokens: 0,
  cost: 0,
  unknown: 0,
  missing: 0,
};

const SUM_FIELDS = [
  "llm_calls",
  "input_tokens",
  "cache_write_tokens",
  "cache_write_1h_tokens",
  "cache_read_tokens",
  "output_tokens",
  "reasoning_tokens",
  "cost",
  "unknown",
  "missing",
] as const satisfies readonly (keyof SumRow)[];

/**
 * Rolls pairs up into their groups, in place: one object per group and a small entry per model (its breakdown
 * row only with `--breakdown`). `byModel` (`--model`): a node's executions are those that called the matching
 * models (exact for one; see {@link exactCounts}).
 */
class Groups {
  readonly #groups = new Map<string, Group>();
  readonly #ctx: { groupBy: GroupBy; labels: Labels; reprices: boolean; byModel: boolean };

  constructor(ctx: { groupBy: GroupBy; labels: Labels; reprices: boolean; byModel: boolean }) {
    this.#ctx = ctx;
  }

  /**
   * Adds one row of the pair query (a group and model may come more than once: see {@link scanPairs});
   * `breakdown` (a query that sums each group and model) keeps the model's row.
   */
  add(g: Grouping, r: PairRow, breakdown: boolean): void {
    const { key, keyValues } = keyOf(g, r);
    const executions = Number(this.#ctx.byModel ? r.model_executions : r.executions);
    const group = this.#sum(key, keyValues, r, Number(r.group_runs), executions);
    const id = Number(r.model);
    let model = group.models.find((m) => m.id === id);
    if (model === undefined) group.models.push(model = { id, cost: 0, calls: 0, unknown: 0, missing: 0 });
    model.cost += Number(r.cost);
    model.calls += Number(r.llm_calls);
    model.unknown += Number(r.unknown);
    model.missing += Number(r.missing);
    if (breakdown) {
      const { groupBy, labels } = this.#ctx;
      const executions = groupBy === "node" ? Number(r.model_executions) : undefined;
      model.row = breakdownRow(labels.text(id)!, totalsOf(Number(r.runs), r), executions);
    }
  }

  /** Adds a pair (repriced, when repricing); `breakdown` keeps its row. */
  addPair(pair: Pair, breakdown: boolean): void {
    const executions = this.#ctx.byModel ? pair.modelExecutions : pair.executions;
    const group = this.#sum(pair.key, pair.keyValues, pair.sums, pair.groupRuns, executions);
    group.repricedCost += pair.repricedCost ?? 0;
    group.repricedUnpriced += pair.repricedUnpriced ?? 0;
    group.models.push({
      id: pair.model,
      cost: Number(pair.sums.cost),
      calls: Number(pair.sums.llm_calls),
      unknown: Number(pair.sums.unknown),
      missing: Number(pair.sums.missing),
      row: breakdown ? modelRow(pair, this.#ctx.labels, this.#ctx.groupBy) : undefined,
    });
  }

  #sum(key: string, keyValues: unknown[], sums: SumRow, runs: number, executions: number): Group {
    let group = this.#groups.get(key);
    if (group === undefined) {
      const sums = sumsOf(ZERO_SUMS);
      group = { key, keyValues, runs: 0, executions: 0, sums, repricedCost: 0, repricedUnpriced: 0, models: [] };
      this.#groups.set(key, group);
    }
    for (const field of SUM_FIELDS) group.sums[field] += Number(sums[field]);
    group.runs += runs;
    group.executions += executions;
    return group;
  }

  /** The groups' rows (each group's models most expensive first). */
  rows(): Keyed[] {
    const { labels, groupBy, reprices } = this.#ctx;
    const name = (id: number) => labels.text(id)!;
    const out: Keyed[] = [];
    for (const group of this.#groups.values()) {
      const totals = totalsOf(group.runs, group.sums);
      if (reprices) setRepriced(totals, group.repricedCost, group.repricedUnpriced);
      const row: ReportRow = { group: "", ...totals, models: [], unpriced_models: [] };
      if (groupBy === "node") row.executions = group.executions;
      const models = group.models;
      if (models.length > 1) {
        models.sort((a, b) =>
          shownCost(b) - shownCost(a) || b.calls - a.calls ||
          (name(a.id) < name(b.id) ? -1 : name(a.id) > name(b.id) ? 1 : 0)
        );
      }
      row.models = models.map((m) => name(m.id));
      row.unpriced_models = models.length === 1
        ? (models[0].unknown > models[0].missing ? [row.models[0]] : [])
        : models.filter((m) => m.unknown > m.missing).map((m) => name(m.id));
      if (models[0]?.row !== undefined) row.breakdown = models.map((m) => m.row!);
      out.push({ row, key: group.key, keyValues: group.keyValues });
    }
    return out;
  }
}

/**
 * With `--model`: each group's runs (and a node's executions) counted from the matching rows alone. A node
 * execution that called several of the matching models counts once: where a run's node has rows of several,
 * its executions are counted from its call rows.
 */
function exactCounts(
  db: DatabaseSync,
  ctx: { g: Grouping; where: Where; labels: Labels; filters: ReportFilters; rows: Map<string, ReportRow> },
): void {
  const { g, where } = ctx;
  if (g.usageKey.length === 0) return;
  const keys = g.usageKey.map((k, i) => `${k} AS k${i}`);
  const groupKeys = g.usageKey.map((_, i) => `k${i}`).join(", ");
  const sql = `SELECT ${keys.join(", ")}, count(DISTINCT u.run) AS runs FROM usage u ${where.sql}
    GROUP BY ${groupKeys}`;
  const rowOf = (r: Record<string, unknown>) => ctx.rows.get(JSON.stringify(g.usageKey.map((_, i) => r[`k${i}`])));
  for (const r of db.prepare(sql).all(...where.params) as Record<string, unknown>[]) {
    const row = rowOf(r);
    if (row !== undefined) row.runs = Number(r.runs);
  }
  const models = (ctx.filters.models ?? []).flatMap((m) => ctx.labels.ids("model", m) ?? []);
  if (g.index !== "usage_by_node" || g.usageKey.length !== 3 || models.length < 2) return;
  // Executions counted once per matching model, less those counted once in all (from the call rows).
  const overlap = `SELECT workflow AS k0, phase AS k1, node AS k2,
      total(n - (SELECT count(DISTINCT c.node_execution) + max(c.node_execution IS NULL) FROM calls c
        WHERE c.run = m.run AND c.phase = m.phase AND coalesce(c.node, ${NO_NODE}) = m.node
          AND c.model IN (${models.join(", ")}))) AS extra
    FROM (SELECT u.run AS run, u.phase AS phase, u.node AS node, min(u.workflow) AS workflow,
        total(u.model_executions) AS n
      FROM usage u ${where.sql} GROUP BY u.run, u.phase, u.node HAVING count(*) > 1) m
    GROUP BY ${groupKeys}`;
  for (const r of db.prepare(overlap).all(...where.params) as Record<string, unknown>[]) {
    const row = rowOf(r);
    if (row?.executions !== undefined) row.executions -= Number(r.extra);
  }
}

/** Runs without LLM calls count as runs of their group (day, week, month, workflow, run). */
function addRunsWithoutCalls(
  db: DatabaseSync,
  ctx: {
    g: Grouping;
    filters: ReportFilters;
    labels: Labels;
    rows: Keyed[];
    spans: OffsetSpan[];
    groupBy: GroupBy;
    reprices: boolean;
  },
): void {
  const where = rowWhere(ctx.filters, ctx.labels, "r", true);
  if (where.empty) return;
  const key = ctx.groupBy === "workflow"
    ? "r.workflow"
    : ctx.groupBy === "run"
    ? "r.id"
    : periodSql(ctx.groupBy as Period, "r.started_ms", ctx.spans);
  const sql = `SELECT ${key} AS k0, count(*) AS runs FROM runs r
    ${where.sql ? `${where.sql} AND` : "WHERE"} r.llm_calls = 0 GROUP BY k0`;
  const byKey = new Map(ctx.rows.map((r) => [r.key, r.row]));
  for (const r of db.prepare(sql).iterate(...where.params) as Iterable<{ k0: unknown; runs: number }>) {
    const k = JSON.stringify([r.k0]);
    let row = byKey.get(k);
    if (row === undefined) {
      row = emptyRow(ctx.reprices);
      byKey.set(k, row);
      ctx.rows.push({ row, key: k, keyValues: [r.k0] });
    }
    row.runs += Number(r.runs);
  }
}

/** Names and orders the rows: periods in time order, runs by start, the rest by cost. */
function nameRows(
  db: DatabaseSync,
  rows: Keyed[],
  ctx: { groupBy: GroupBy; labels: Labels; filters: ReportFilters },
): ReportRow[] {
  const { groupBy, labels } = ctx;
  if (groupBy === "run") return describeRuns(db, rows, ctx);
  const named = rows.map(({ row, keyValues: values }) => {
    if (groupBy === "workflow") row.group = labels.text(Number(values[0]))!;
    else if (groupBy === "node") {
      row.workflow = labels.text(Number(values[0]))!;
      row.phase = Number(values[1]) === PHASE_CODE.planner ? "planner" : "workflow";
      row.node = labels.text(Number(values[2]));
      row.group = `${row.workflow}/${row.node ?? "(no node)"}${row.phase === "planner" ? " (planner)" : ""}`;
    } else if (groupBy !== "model") row.group = String(values[0]);
    return row;
  });
  if (groupBy === "day" || groupBy === "week" || groupBy === "month") {
    return named.sort((a, b) => (a.group < b.group ? -1 : a.group > b.group ? 1 : 0));
  }
  return named.sort(byCost);
}

/** Runs with calls under the filters. */
function runsWithCalls(db: DatabaseSync, where: Where): number {
  if (where.empty) return 0;
  const sql = `SELECT count(*) AS n FROM (SELECT DISTINCT u.run FROM usage u ${where.sql})`;
  return Number((db.prepare(sql).get(...where.params) as { n: number }).n);
}

interface RunRecord {
  id: number;
  execution_id: string;
  workflow: number;
  started_ms: number;
  status: LedgerRunStatus;
  duration_ms: number | null;
  trace_file: string | null;
}

/**
 * `--by run`: names each row by its run, in start order: one query over the runs the filters cover (in table
 * order: sorting numbers here beats reading 100,000 rows through the start index), each joined to its row.
 */
function describeRuns(db: DatabaseSync, rows: Keyed[], ctx: { labels: Labels; filters: ReportFilters }): ReportRow[] {
  const byRun = new Map(rows.map((r) => [Number(r.keyValues[0]), r.row]));
  const where = rowWhere(ctx.filters, ctx.labels, "r", true);
  const sql = `SELECT id, execution_id, workflow, started_ms, status, duration_ms, trace_file FROM runs r ${where.sql}`;
  const described: { ms: number; id: number; row: ReportRow }[] = [];
  for (const run of db.prepare(sql).iterate(...where.params) as Iterable<RunRecord>) {
    const row = byRun.get(Number(run.id));
    if (row === undefined) continue;
    row.group = run.execution_id;
    row.execution_id = run.execution_id;
    row.workflow = ctx.labels.text(run.workflow)!;
    row.started_at = new Date(run.started_ms).toISOString();
    row.status = run.status;
    row.duration_ms = run.duration_ms;
    row.trace_file = run.trace_file;
    described.push({ ms: Number(run.started_ms), id: Number(run.id), row });
  }
  return described.sort((a, b) => a.ms - b.ms || a.id - b.id).map((d) => d.row);
}

/** The models of the calls of unknown cost the filters cover, apart by cause, most calls first. */
function unknownCostModels(
  db: DatabaseSync,
  where: Where,
  labels: Labels,
): Pick<Report, "unpriced_models" | "usage_missing_models"> {
  if (where.empty) return { unpriced_models: [], usage_missing_models: [] };
  const sql = `SELECT u.model AS model, total(u.unpriced_calls) - total(u.usage_missing_calls) AS unpriced,
      total(u.usage_missing_calls) AS missing
    FROM usage u INDEXED BY usage_by_model ${where.sql} GROUP BY u.model HAVING total(u.unpriced_calls) > 0`;
  const rows = db.prepare(sql).all(...where.params) as { model: number; unpriced: number; missing: number }[];
  const list = (field: "unpriced" | "missing") =>
    rows.filter((r) => r[field] > 0).map((r) => ({ model: labels.text(r.model)!, calls: Number(r[field]) }))
      .sort((a, b) => b.calls - a.calls || (a.model < b.model ? -1 : 1));
  return { unpriced_models: list("unpriced"), usage_missing_models: list("missing") };
}

/** One of the most expensive runs. */
export interface TopRun {
  execution_id: string;
  started_at: string;
  workflow: string;
  status: LedgerRunStatus;
  cost_usd: number | null;
  cost_complete: boolean;
  llm_calls: number;
  /** Calls of a model without a price (for `unpriced` rather than `$0+`). */
  unpriced_calls: number;
  /** Calls whose usage was not reported, and the tokens of the others (for `unknown`: see costKnown). */
  usage_missing_calls: number;
  total_tokens: number;
  trace_file: string | null;
}

/** One of the most expensive nodes. */
export interface TopNode {
  workflow: string;
  node: string | null;
  phase: LedgerPhase;
  executions: number;
  llm_calls: number;
  cost_usd: number | null;
  cost_complete: boolean;
  /** As {@link TopRun}'s. */
  unpriced_calls: number;
  /** As {@link TopRun}'s. */
  usage_missing_calls: number;
  total_tokens: number;
}

/** The `limit` most expensive runs and nodes under the filters. */
export function topSpenders(
  db: DatabaseSync,
  options: { filters: ReportFilters; limit: number },
): { runs: TopRun[]; nodes: TopNode[] } {
  const labels = loadLabels(db);
  const where = rowWhere(options.filters, labels, "u");
  if (where.empty) return { runs: [], nodes: [] };
  const byRun = rowWhere(options.filters, labels, "r", true);
  const runSql = filtersCalls(options.filters)
    ? `SELECT t.*, r.execution_id, r.workflow, r.started_ms, r.status, r.trace_file FROM (
        SELECT u.run AS run, total(u.cost_usd) AS cost, total(u.unpriced_calls) AS unknown, total(u.calls) AS calls,
          total(u.usage_missing_calls) AS missing,
          total(u.input_tokens + u.cache_read_tokens + u.cache_write_tokens + u.output_tokens) AS tokens
        FROM usage u ${where.sql} GROUP BY u.run ORDER BY cost DESC, calls DESC LIMIT ${options.limit}
      ) t JOIN runs r ON r.id = t.run ORDER BY t.cost DESC, t.calls DESC`
    : `SELECT r.cost_usd AS cost, r.unpriced_calls AS unknown, r.llm_calls AS calls, r.execution_id, r.workflow,
        r.started_ms, r.status, r.trace_file,
        (SELECT total(usage_missing_calls) FROM usage WHERE run = r.id) AS missing,
        r.input_tokens + r.cache_read_tokens + r.cache_write_tokens + r.output_tokens AS tokens FROM runs r ${byRun.sql} ${
      byRun.sql ? "AND" : "WHERE"
    } r.llm_calls > 0
        ORDER BY r.cost_usd DESC, r.llm_calls DESC LIMIT ${options.limit}`;
  const params = filtersCalls(options.filters) ? where.params : byRun.params;
  const runs = (db.prepare(runSql).all(...params) as Record<string, number | string | null>[]).map((r) => ({
    execution_id: String(r.execution_id),
    started_at: new Date(Number(r.started_ms)).toISOString(),
    workflow: labels.text(Number(r.workflow))!,
    status: r.status as LedgerRunStatus,
    cost_usd: Number(r.unknown) === Number(r.calls) ? null : roundUsd(Number(r.cost)),
    cost_complete: Number(r.unknown) === 0,
    llm_calls: Number(r.calls),
    unpriced_calls: Number(r.unknown),
    usage_missing_calls: Number(r.missing),
    total_tokens: Number(r.tokens),
    trace_file: r.trace_file === null ? null : String(r.trace_file),
  }));
  const nodes = costReport(db, { groupBy: "node", filters: options.filters, timezone: "UTC" }).rows
    .slice(0, options.limit).map((row) => ({
      workflow: row.workflow!,
      node: row.node ?? null,
      phase: row.phase!,
      executions: row.executions!,
      llm_calls: row.llm_calls,
      cost_usd: row.cost_usd,
      cost_complete: row.cost_complete,
      unpriced_calls: row.unpriced_calls,
      usage_missing_calls: row.usage_missing_calls,
      total_tokens: row.total_tokens,
    }));
  return { runs, nodes };
}

/** A run as `pflow cost show` prints it. */
export interface RunCost {
  run: {
    execution_id: string;
    trace_id: string | null;
    kind: string;
    workflow: string;
    workflow_file: string | null;
    workflow_hash: string | null;
    saved_name: string | null;
    started_at: string;
    ended_at: string | null;
    duration_ms: number | null;
    status: LedgerRunStatus;
    subtype: string | null;
    nodes_executed: number | null;
    price_version: string | null;
    price_source: string | null;
    pricing_complete: boolean | null;
    pflow_version: string | null;
    trace_file: string | null;
    planner_path: string | null;
    planner_trace_file: string | null;
    duration_planner_ms: number | null;
  };
  /** Per phase, node and model. */
  rows: (Totals & { phase: LedgerPhase; node: string | null; model: string; executions: number })[];
  totals: Totals;
  /** Models without a price (calls whose usage is missing are counted in `totals.usage_missing_calls`). */
  unpriced_models: string[];
}

/** A run that `cost show` cannot name. */
export class UnknownRunError extends Error {
  /** @param message one line: what was looked for and what to do */
  constructor(message: string) {
    super(message);
    this.name = "UnknownRunError";
  }
}

/** Finds a run by execution id, a unique prefix of one, or `latest`. Throws {@link UnknownRunError}. */
export function findRun(db: DatabaseSync, target: string): number {
  if (target === "latest") {
    const row = db.prepare("SELECT id FROM runs ORDER BY started_ms DESC, id DESC LIMIT 1").get() as
      | { id: number }
      | undefined;
    if (row === undefined) throw new UnknownRunError("the ledger has no runs yet; run a workflow first");
    return row.id;
  }
  if (!/^[0-9a-fA-F-]{1,36}$/.test(target)) {
    throw new UnknownRunError(`'${target}' is not an execution id (a UUID, or a unique prefix of one) or 'latest'`);
  }
  const prefix = target.toLowerCase();
  const rows = db.prepare(
    "SELECT id, execution_id FROM runs WHERE execution_id >= ? AND execution_id < ? ORDER BY execution_id LIMIT 3",
  ).all(prefix, `${prefix}\u{10FFFF}`) as { id: number; execution_id: string }[];
  if (rows.length === 0) {
    throw new UnknownRunError(`no run '${target}' in the ledger; list runs with: pflow cost report --by run`);
  }
  if (rows.length > 1) {
    // Up to 3 rows are read: two are named, and a third says there are more.
    const shown = rows.slice(0, 2).map((r) => r.execution_id).join(", ");
    const more = rows.length > 2 ? ", …" : "";
    throw new UnknownRunError(`'${target}' matches several runs (${shown}${more}); give more of the execution id`);
  }
  return rows[0].id;
}

/** One run's cost by phase, node and model. */
export function runCost(db: DatabaseSync, runId: number): RunCost {
  const labels = loadLabels(db);
  const r = db.prepare("SELECT * FROM runs WHERE id = ?").get(runId) as Record<string, unknown>;
  const ms = (v: unknown) => v === null || v === undefined ? null : new Date(Number(v)).toISOString();
  const sql = `SELECT u.phase AS phase, u.node AS node, u.model AS model, total(u.model_executions) AS executions,
      ${USAGE_SUMS} FROM usage u WHERE u.run = ? GROUP BY u.phase, u.node, u.model`;
  const rows =
    (db.prepare(sql).all(runId) as (SumRow & { phase: number; node: number; model: number; executions: number })[])
      .map((row) => ({
        phase: (row.phase === PHASE_CODE.planner ? "planner" : "workflow") as LedgerPhase,
        node: labels.text(row.node),
        model: labels.text(row.model)!,
        executions: Number(row.executions),
        ...totalsOf(1, row),
      }))
      .sort((a, b) =>
        (a.phase === b.phase ? 0 : a.phase === "planner" ? -1 : 1) || (b.cost_usd ?? 0) - (a.cost_usd ?? 0) ||
        String(a.node).localeCompare(String(b.node))
      );
  let totals = zeroTotals(false);
  for (const row of rows) totals = addTotals(totals, { ...row, runs: 0 });
  totals.runs = 1;
  return {
    run: {
      execution_id: String(r.execution_id),
      trace_id: (r.trace_id as string | null) ?? null,
      kind: String(r.kind),
      workflow: labels.text(Number(r.workflow))!,
      workflow_file: (r.workflow_file as string | null) ?? null,
      workflow_hash: (r.workflow_hash as string | null) ?? null,
      saved_name: (r.saved_name as string | null) ?? null,
      started_at: ms(r.started_ms)!,
      ended_at: ms(r.ended_ms),
      duration_ms: (r.duration_ms as number | null) ?? null,
      status: r.status as LedgerRunStatus,
      subtype: (r.subtype as string | null) ?? null,
      nodes_executed: r.nodes_executed === null ? null : Number(r.nodes_executed),
      price_version: (r.price_version as string | null) ?? null,
      price_source: (r.price_source as string | null) ?? null,
      pricing_complete: r.pricing_complete === null ? null : Boolean(r.pricing_complete),
      pflow_version: (r.pflow_version as string | null) ?? null,
      trace_file: (r.trace_file as string | null) ?? null,
      planner_path: (r.planner_path as string | null) ?? null,
      planner_trace_file: (r.planner_trace_file as string | null) ?? null,
      duration_planner_ms: (r.duration_planner_ms as number | null) ?? null,
    },
    rows,
    totals,
    unpriced_models: [...new Set(rows.filter((row) => row.unpriced_calls > 0).map((row) => row.model))].sort(),
  };
}
