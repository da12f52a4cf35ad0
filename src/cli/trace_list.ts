/**
 * `pflow trace list`: the recent traces in PFLOW_HOME/debug, newest first,
 * and how the trace commands show a trace's status, cost and duration.
 * Reading trace files lives in trace_files.ts (re-exported here).
 * @module
 */
import {
  countedCallCost,
  knownCallCost,
  PARTIAL_SUFFIX,
  type TraceDocument,
  type TraceLlmCall,
  type TraceLlmTotals,
  type TraceStatus,
} from "../observability/trace_format.ts";
import { parseCommand } from "./args.ts";
import { showHelp } from "./show_help.ts";
import { type CommandEnv, EXIT } from "./command.ts";
import { costKnown, formatCost as formatUsdCost, formatDuration, formatUsd } from "./format.ts";
import { type Cell, renderTable, type Row } from "./table.ts";
import {
  escapeControls,
  PLAIN_STYLE,
  printError,
  stdoutStyle,
  type Style,
  writeDisplay,
  writeStdout,
} from "./terminal.ts";
import { UsageError } from "./usage_error.ts";
import { localZoneIsUtc } from "../util/time_zone.ts";
import { matchesFilter, parseTraceFilter } from "./trace_filters.ts";

/** Colour for stdout (re-exported for the trace commands). */
export { stdoutStyle };

export {
  locateTrace,
  type ReadTrace,
  readTraceFile,
  readTraceSummary,
  scanTraces,
  traceDir,
  type TraceListing,
  TraceReadError,
  WHOLE_READ_BYTES,
} from "./trace_files.ts";
import { type ReadTrace, scanTraces, TRACE_FILE, traceDir, type TraceListing, TraceReadError } from "./trace_files.ts";

/** Totals of a trace's own LLM calls: its footer's `llm_totals`, else from its metrics or summed over its events. */
export type TraceCost = TraceLlmTotals;

/**
 * The LLM totals of a trace (see {@link TraceCost}): its own calls only,
 * from its footer's `llm_totals`. A trace written before that field: a
 * planned run's workflow trace ends with the request's whole summary
 * (planning included, `metrics.planner`), so its own calls are summed from
 * its events, and the planning is counted once, in the planner trace.
 */
export function traceCost(trace: TraceDocument): TraceCost {
  const own = trace.llm_totals;
  if (own !== undefined && own !== null && typeof own === "object" && typeof own.calls === "number") {
    return { ...own, unpriced_models: Array.isArray(own.unpriced_models) ? own.unpriced_models : [] };
  }
  const m = trace.metrics;
  if (m !== undefined && (trace.kind !== "workflow" || m.metrics?.planner === undefined)) return summaryCost(m);
  const totals: TraceCost = {
    calls: 0,
    cost_usd: 0,
    tokens: 0,
    cached_tokens: 0,
    unpriced_models: [],
    usage_missing: 0,
  };
  const unpriced = new Set<string>();
  for (const event of trace.events) {
    for (const call of event.llm_calls ?? []) {
      totals.calls++;
      totals.tokens += countedCallTokens(call);
      if (!call.usage?.usage_missing) totals.cached_tokens += call.usage?.cache_read_tokens ?? 0;
      const cost = countedCallCost(call);
      if (cost !== null) totals.cost_usd += cost;
      if (call.usage?.usage_missing) totals.usage_missing++;
      else if (cost === null) unpriced.add(call.model);
    }
  }
  totals.cost_usd = Math.round(totals.cost_usd * 1e10) / 1e10;
  totals.unpriced_models = [...unpriced].sort();
  return totals;
}

/** The LLM totals of a run's summary (a trace's footer `metrics`): for a planned run, planning included. */
export function summaryCost(m: NonNullable<TraceDocument["metrics"]>): TraceCost {
  const u = m.usage;
  return {
    calls: m.num_llm_calls,
    cost_usd: m.total_cost_usd,
    tokens: u.input_tokens + u.cache_read_input_tokens + u.cache_creation_input_tokens + u.output_tokens,
    cached_tokens: u.cache_read_input_tokens,
    unpriced_models: m.pricing?.unpriced_models ?? [],
    usage_missing: m.pricing?.usage_missing?.length ?? 0,
  };
}

/**
 * The tokens a traced call counts for in totals: its own ({@link callTokens}), or none when its usage is missing
 * (its tokens are unknown: the counts it reported before it was cut off stay in its record, never in a total).
 */
export function countedCallTokens(
  call: {
    usage?: {
      usage_missing?: boolean;
      input_tokens?: number;
      cache_read_tokens?: number;
      cache_write_tokens?: number;
      output_tokens?: number;
    } | null;
  },
): number {
  return !call.usage || call.usage.usage_missing ? 0 : callTokens(call.usage);
}

/** Input (uncached + cache read + cache write) plus output tokens of one call. */
export function callTokens(
  u: { input_tokens?: number; cache_read_tokens?: number; cache_write_tokens?: number; output_tokens?: number },
): number {
  return (u?.input_tokens ?? 0) + (u?.cache_read_tokens ?? 0) + (u?.cache_write_tokens ?? 0) + (u?.output_tokens ?? 0);
}

/**
 * `$0.0123`, with `+` when some models are unpriced or some calls' usage is unknown, `unpriced` when some
 * model is and the priced calls cost nothing, `unknown` when no call reported its usage (see {@link costKnown}),
 * `-` without LLM calls.
 */
export function formatCost(cost: TraceCost): string {
  if (cost.calls === 0) return "-";
  return formatUsdCost(cost.cost_usd, costComplete(cost), {
    known: costKnown(cost.calls, cost.usage_missing, cost.tokens),
    unpriced: cost.unpriced_models.length > 0,
  });
}

/** Whether a trace's cost is all of it: no model unpriced and no call's usage unknown (else a lower bound). */
export function costComplete(cost: TraceCost): boolean {
  return cost.unpriced_models.length === 0 && cost.usage_missing === 0;
}

export { countedCallCost };

/** One traced call's cost as it counts (see {@link countedCallCost}): `$0.0012`, `unpriced`, or `unknown (no usage reported)`. */
export function callCostText(call: TraceLlmCall): string {
  const cost = countedCallCost(call);
  if (cost !== null) return formatUsd(cost);
  return call.usage?.usage_missing ? "unknown (no usage reported)" : "unpriced";
}

/**
 * One traced call's cost in full, for its details: the cost it counts for, and when the provider reported
 * one, pflow's computed price beside it (`$0.0500 provider reported · $0.0450 computed`).
 */
export function callCostDetail(call: TraceLlmCall): string {
  const counted = callCostText(call);
  if (call.usage?.usage_missing || typeof call.reported_cost_usd !== "number") return counted;
  const computed = knownCallCost(call);
  return `${counted} provider reported · ${
    computed === null ? "unpriced by pflow" : `${formatUsd(computed)} computed`
  }`;
}

/**
 * The cost of some traced calls: the sum of those of known cost (null when none is), and its text:
 * `$0.0123`, `+` when some call's cost is unknown; `unpriced` when none is known and some model has no
 * price, `unknown` when only calls without usage left it unknown (those and rejected requests: see
 * {@link costKnown}).
 */
export function callsCost(calls: readonly TraceLlmCall[]): { usd: number | null; text: string } {
  let usd: number | null = null;
  let unpriced = false;
  let missing = 0;
  let tokens = 0;
  for (const call of calls) {
    const cost = countedCallCost(call);
    if (cost !== null) usd = (usd ?? 0) + cost;
    else if (call.usage?.usage_missing) missing++;
    else unpriced = true;
    if (!call.usage?.usage_missing) tokens += callTokens(call.usage ?? {});
  }
  if (usd === null) return { usd, text: unpriced ? "unpriced" : "unknown" };
  usd = Math.round(usd * 1e10) / 1e10;
  if (!costKnown(calls.length, missing, tokens)) return { usd, text: "unknown" };
  return { usd, text: `${formatUsd(usd)}${unpriced || missing > 0 ? "+" : ""}` };
}

/** The status mark and word of a run. */
export function statusLabel(status: TraceStatus | undefined, style: Style): string {
  switch (status) {
    case "success":
      return style.green("✓ success");
    case "failed":
      return style.red("✗ failed");
    case "interrupted":
      return style.yellow("⚠ interrupted");
    case "budget_exceeded":
      return style.red("✗ budget");
    case "timeout":
      return style.red("✗ timeout");
    case "incomplete":
      return style.yellow("… incomplete");
    default:
      return `? ${String(status)}`;
  }
}

/** The status of a trace as read: its run's status, or `⚠ partial` when writing it failed before its footer. */
export function traceStatusLabel(read: Pick<ReadTrace, "trace" | "complete" | "partial">, style: Style): string {
  if (read.partial && !read.complete) return style.yellow("⚠ partial");
  return statusLabel(read.trace.final_status, style) + (read.partial ? style.yellow(" (partial)") : "");
}

/** Local time as `YYYY-MM-DD HH:MM:SS`. */
export function localTime(ms: number): string {
  // In UTC, the ISO form (the same text for 1970–9999): a Date's local-time methods would load the
  // runtime's zone data first.
  const d = new Date(ms);
  if (localZoneIsUtc() && ms >= 0 && ms < 253_402_300_800_000) {
    return d.toISOString().slice(0, 19).replace("T", " ");
  }
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${
    p(d.getSeconds())
  }`;
}

/** A run's duration: the footer's, else (partial file) at least until its last event ended. */
export function runDuration(read: Pick<ReadTrace, "trace" | "complete">): { ms: number; lowerBound: boolean } {
  const { trace } = read;
  if (typeof trace.duration_ms === "number") return { ms: trace.duration_ms, lowerBound: false };
  let end = 0;
  for (const e of trace.events) end = Math.max(end, (e.start_offset_ms ?? 0) + (e.duration_ms ?? 0));
  return { ms: end, lowerBound: true };
}

/** The hint shown when there is no trace yet. */
export function noTracesHint(dir: string): string {
  return `No traces in ${dir}. Write one with: pflow run FILE.json --trace`;
}

/** Runs `pflow trace list`; returns the exit code. */
export async function traceListCommand(argv: string[], { env }: CommandEnv): Promise<number> {
  const parsed = parseCommand(argv, {
    command: "trace",
    subcommand: "list",
    flags: {
      limit: { type: "string" },
      workflow: { type: "string" },
      since: { type: "string" },
      status: { type: "string" },
    },
  });
  if (parsed.values.help) return showHelp("trace");
  if (parsed.positionals.length > 0) {
    throw new UsageError(
      `unexpected argument '${parsed.positionals[0]}': usage: pflow trace list [--workflow NAME] [--since WHEN] ` +
        `[--status STATUS] [--limit N] [--json]`,
      "trace",
    );
  }
  const filter = parseTraceFilter(parsed.values, Date.now());
  const json = parsed.values.json === true || parsed.values["output-format"] === "json";
  const limitText = parsed.values.limit as string | undefined;
  if (limitText !== undefined && !/^[1-9]\d*$/.test(limitText)) {
    throw new UsageError(`--limit must be a positive whole number, got '${limitText}'`, "trace");
  }
  const limit = limitText === undefined ? 20 : Number(limitText);
  const dir = traceDir(env);
  let all: TraceListing[];
  try {
    all = await scanTraces(dir, { summaryOnly: true });
  } catch (error) {
    if (!(error instanceof TraceReadError)) throw error;
    printError(`error: ${error.message}`); // the trace directory is a file, a link to nothing
    return EXIT.usage;
  }
  const listings = all.filter((l) => matchesFilter(l, filter)).slice(0, limit);
  if (json) {
    writeStdout(`${JSON.stringify(listings.map(jsonEntry), null, 2)}\n`);
    return EXIT.ok;
  }
  if (listings.length === 0) {
    printError(all.length === 0 ? noTracesHint(dir) : `No trace of the ${all.length} in ${dir} matches the filters.`);
    return EXIT.ok;
  }
  const style = stdoutStyle(env);
  const columns = ["TIME", "KIND", "WORKFLOW", "STATUS", "DURATION", "COST", "NODES", "PATH"].map((header, i) => ({
    header,
    align: i >= 4 && i <= 6 ? "right" as const : "left" as const,
  }));
  writeDisplay(renderTable(columns, listings.map((l) => textRow(l, style)), { header: style.dim }));
  return EXIT.ok;
}

function textRow(l: TraceListing, style: Style): Row {
  const cell = (text: string, shown = text): Cell => ({ text, shown });
  if (l.read === undefined) {
    const name = TRACE_FILE.exec(l.path.slice(l.path.lastIndexOf("/") + 1))?.[1] ?? "?";
    return {
      cells: [
        cell(localTime(l.mtimeMs)),
        cell(kindOfFile(l.path)),
        cell(name),
        cell("✗ unreadable", style.red("✗ unreadable")),
        cell("-"),
        cell("-"),
        cell("-"),
        cell(l.path),
      ],
      suffix: `  ${style.red(`error: ${l.error}`)}`,
    };
  }
  const { trace } = l.read;
  const plainStatus = traceStatusLabel(l.read, PLAIN_STYLE);
  const duration = runDuration(l.read);
  return {
    cells: [
      cell(localTime(l.time)),
      cell(trace.kind),
      // Escaped before the columns are measured, so a name with control characters keeps the table aligned.
      cell(escapeControls(trace.workflow_name, { keepNewlines: false })),
      cell(plainStatus, traceStatusLabel(l.read, style)),
      cell(`${duration.lowerBound ? "≥" : ""}${formatDuration(duration.ms)}`),
      cell(l.read.eventsSkipped ? "?" : formatCost(traceCost(trace))),
      cell(String(nodesExecuted(l.read))),
      cell(l.path),
    ],
  };
}

/** `planner` or `workflow`, from a trace file's name. */
function kindOfFile(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1).startsWith("planner-trace-") ? "planner" : "workflow";
}

/** Node executions of a run: the footer's count, else the events in the file. */
export function nodesExecuted(read: ReadTrace): number {
  return typeof read.trace.nodes_executed === "number" ? read.trace.nodes_executed : read.eventCount;
}

/** A listed trace's cost in `--json`, as its text row shows it: `$0.0123+` is `cost_complete: false`. */
function jsonCost(read: ReadTrace): { total_cost_usd: number | null; cost_complete: boolean | null } {
  if (read.eventsSkipped) return { total_cost_usd: null, cost_complete: null };
  const cost = traceCost(read.trace);
  return { total_cost_usd: cost.cost_usd, cost_complete: costComplete(cost) };
}

function jsonEntry(l: TraceListing): Record<string, unknown> {
  if (l.read === undefined) {
    return {
      path: l.path,
      kind: kindOfFile(l.path),
      workflow_name: null,
      execution_id: null,
      start_time: null,
      final_status: null,
      duration_ms: null,
      duration_lower_bound: null,
      total_cost_usd: null,
      cost_complete: null,
      nodes_executed: null,
      partial: l.path.endsWith(PARTIAL_SUFFIX),
      error: l.error,
    };
  }
  const { trace } = l.read;
  // As the text row: a trace without footer lists its duration so far (until its last event ended).
  const duration = runDuration(l.read);
  return {
    path: l.path,
    kind: trace.kind,
    workflow_name: trace.workflow_name,
    execution_id: trace.execution_id,
    start_time: trace.start_time ?? null,
    final_status: trace.final_status ?? null,
    duration_ms: duration.ms,
    duration_lower_bound: duration.lowerBound,
    ...jsonCost(l.read),
    nodes_executed: nodesExecuted(l.read),
    partial: l.read.partial === true,
  };
}
