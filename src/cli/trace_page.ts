/**
 * The trace page (`pflow trace show --html`): one self-contained HTML file
 * that draws one or more traces of a run (a planner trace and its workflow
 * trace) as a waterfall on one time axis, with a details panel and a cost
 * view. Everything the page shows is computed and formatted here; the page's
 * script (trace_page/page.js) only lays it out. The page makes no network
 * request (its Content-Security-Policy allows none) and puts every string
 * from a trace into the document as text.
 * @module
 */
import { createHash } from "node:crypto";
import pageCss from "./trace_page/page.css" with { type: "text" };
import pageScript from "./trace_page/page.js" with { type: "text" };
import type { TraceDocument, TraceEvent, TraceLlmCall } from "../observability/trace_format.ts";
import { roundUsd } from "../pricing/cost.ts";
import { VERSION } from "../version.ts";
import { formatCount, formatDuration } from "./format.ts";
import {
  callCostDetail,
  callCostText,
  callsCost,
  callTokens,
  countedCallTokens,
  formatCost,
  type ReadTrace,
  runDuration,
  summaryCost,
  type TraceCost,
  traceCost,
} from "./trace_list.ts";
import { droppedFrom, eventLabels, stoppedNote } from "./trace_show.ts";

/** A label and its text, as the page shows it. */
export type Fact = [label: string, value: string];

/** One bar of the waterfall: a node execution or one of its LLM calls. */
export interface PageBar {
  kind: "node" | "llm";
  /** Index of the event in its trace's `events`. */
  event: number;
  /** Index of the call in the event's `llm_calls` (LLM bars). */
  call?: number;
  /** Node id (with `#N` for repeated executions); a call's batch item, else its model. */
  label: string;
  /** Node type; a batch call's model. */
  sub: string;
  /** Start on the page's axis, ms. */
  start_ms: number;
  duration_ms: number;
  status: "success" | "error" | "interrupted";
  /** Duration, tokens and cost, after the bar. */
  text: string;
  /** The details panel's summary lines. */
  facts: Fact[];
}

/** One line of the cost view. */
export interface CostLine {
  label: string;
  /** Cost of its calls of known cost; null when none is. */
  usd: number | null;
  /** `$0.0123` (`+` when some call's cost is unknown), `unpriced`, or `unknown` (no call reported usage). */
  text: string;
  calls: number;
  tokens: number;
}

/** One trace as the page draws it. */
export interface PageTrace {
  /** The file it was read from. */
  file: string;
  /** `workflow`, `planner`, … (any kind is drawn the same way). */
  kind: string;
  title: string;
  status: string;
  complete: boolean;
  /** Writing the file failed part-way (a full disk): what follows the failure is not in it. */
  partial: boolean;
  /** Start of this trace on the page's axis (traces are aligned by their `start_time`). */
  offset_ms: number;
  duration_ms: number;
  /** The header card. */
  facts: Fact[];
  /** Header facts to flag (unpriced models, errors). */
  warnings: string[];
  bars: PageBar[];
  cost: { total_usd: number; total_text: string; by_node: CostLine[]; by_model: CostLine[]; unpriced: string[] };
  /** The document as read (the details panel shows its fields as they are). */
  doc: TraceDocument;
}

/** Everything the page's script gets. */
export interface PageData {
  pflow_version: string;
  /** Length of the time axis, ms. */
  axis_ms: number;
  ticks: { ms: number; label: string }[];
  traces: PageTrace[];
  /** Cost of all the traces together. */
  total_text: string;
}

/** Builds the page's data from traces read from disk (drawn in the given order). */
export function pageData(reads: ReadTrace[]): PageData {
  const starts = reads.map((r) => Date.parse(r.trace.start_time));
  const known = starts.filter((s) => !Number.isNaN(s));
  const origin = known.length > 0 ? Math.min(...known) : 0;
  const traces = reads.map((read, i) => pageTrace(read, Number.isNaN(starts[i]) ? 0 : starts[i] - origin));
  let axis = 0;
  for (const t of traces) {
    axis = Math.max(axis, t.offset_ms + t.duration_ms);
    for (const b of t.bars) axis = Math.max(axis, b.start_ms + b.duration_ms);
  }
  const costs = reads.map((r) => ownCost(r.trace));
  const total = formatCost({
    calls: costs.reduce((n, c) => n + c.calls, 0),
    cost_usd: roundUsd(costs.reduce((n, c) => n + c.cost_usd, 0)),
    tokens: costs.reduce((n, c) => n + c.tokens, 0),
    cached_tokens: 0,
    unpriced_models: costs.flatMap((c) => c.unpriced_models),
    usage_missing: costs.reduce((n, c) => n + c.usage_missing, 0),
  });
  return { pflow_version: VERSION, axis_ms: axis, ticks: axisTicks(axis), traces, total_text: total };
}

/** Round tick marks (1, 2 or 5 × 10^n ms apart) covering `[0, axis]`, 5 to 11 of them. */
export function axisTicks(axis: number): { ms: number; label: string }[] {
  if (!(axis > 0)) return [{ ms: 0, label: formatDuration(0) }];
  const rough = axis / 10;
  const power = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= rough) ?? 10 * power;
  const ticks = [];
  for (let ms = 0; ms <= axis + step * 1e-9; ms += step) ticks.push({ ms, label: tickLabel(ms, step) });
  return ticks;
}

function tickLabel(ms: number, step: number): string {
  // formatDuration rounds below a second to whole ms and shows 2 decimals above: enough for these steps.
  if (step < 1 && ms < 1000) return `${Number(ms.toFixed(3))}ms`;
  return formatDuration(ms);
}

function pageTrace(read: ReadTrace, offset: number): PageTrace {
  const { trace } = read;
  const events = Array.isArray(trace.events) ? trace.events : [];
  const duration = runDuration(read);
  const bars: PageBar[] = [];
  const labels = eventLabels(events);
  // Execution order: by start, file order (completion order) breaking ties.
  const order = events.map((_, i) => i).sort((a, b) =>
    num(events[a].start_offset_ms) - num(events[b].start_offset_ms) || a - b
  );
  for (const i of order) {
    const event = events[i];
    bars.push(nodeBar(event, i, labels[i], offset));
    const calls = Array.isArray(event.llm_calls) ? event.llm_calls : [];
    const callOrder = calls.map((_, c) => c).sort((a, b) =>
      num(calls[a].start_offset_ms) - num(calls[b].start_offset_ms) || a - b
    );
    for (const c of callOrder) bars.push(callBar(calls[c], i, c, offset));
  }
  const cost = ownCost(trace);
  const { facts, warnings } = headerFacts(read, cost, duration);
  return {
    file: read.path,
    kind: typeof trace.kind === "string" ? trace.kind : "workflow",
    title: typeof trace.workflow_name === "string" ? trace.workflow_name : String(trace.kind ?? "trace"),
    status: read.complete ? String(trace.final_status ?? "unknown") : read.partial ? "partial" : "incomplete",
    complete: read.complete,
    partial: read.partial === true,
    offset_ms: offset,
    duration_ms: duration.ms,
    facts,
    warnings,
    bars,
    cost: {
      total_usd: cost.cost_usd,
      total_text: formatCost(cost),
      by_node: costBy(events, (e) => e.node_id),
      by_model: costBy(events, (_, c) => c.model),
      unpriced: cost.unpriced_models,
    },
    doc: trace,
  };
}

function num(value: unknown): number {
  return typeof value === "number" && Number.isFinite(value) ? value : 0;
}

function count(n: number, word: string): string {
  return `${formatCount(n)} ${word}${n === 1 ? "" : "s"}`;
}

function eventStatus(event: TraceEvent): PageBar["status"] {
  if (event.status === "interrupted") return "interrupted";
  return event.status === "success" && event.success !== false ? "success" : "error";
}

function callStatus(call: TraceLlmCall): PageBar["status"] {
  return call.status === "error" || (call.error !== undefined && call.error !== null) ? "error" : "success";
}

function nodeBar(event: TraceEvent, index: number, label: string, offset: number): PageBar {
  const calls = Array.isArray(event.llm_calls) ? event.llm_calls : [];
  const parts = [formatDuration(num(event.duration_ms))];
  const facts: Fact[] = [
    ["status", eventStatus(event)],
    ["type", String(event.node_type ?? "?")],
    ["started", `+${formatDuration(num(event.start_offset_ms))} into the run (${event.start_time ?? "?"})`],
    ["duration", formatDuration(num(event.duration_ms))],
  ];
  const ph = event.phases;
  if (ph) {
    facts.push([
      "phases",
      `prep ${formatDuration(num(ph.prep_ms))} · exec ${formatDuration(num(ph.exec_ms))} · post ${
        formatDuration(num(ph.post_ms))
      }`,
    ]);
  }
  const cpu = event.cpu;
  if (cpu) {
    let text = `user ${formatDuration(num(cpu.user_ms))} · system ${formatDuration(num(cpu.system_ms))}`;
    if (cpu.child_user_ms !== undefined) {
      text += ` · children user ${formatDuration(num(cpu.child_user_ms))} · system ${
        formatDuration(num(cpu.child_system_ms))
      }`;
    }
    facts.push(["CPU time", text]);
  }
  facts.push(["retries", String(num(event.retries))]);
  facts.push(["action", event.action === null || event.action === undefined ? "(none: the node threw)" : event.action]);
  if (calls.length > 0) {
    const tokens = calls.reduce((sum, c) => sum + countedCallTokens(c), 0);
    const money = callsCost(calls).text;
    parts.push(count(tokens, "token"), money);
    facts.push(["LLM calls", `${calls.length} · ${count(tokens, "token")} · ${money}`]);
  }
  if (num(event.retries) > 0) parts.push(event.retries === 1 ? "1 retry" : `${event.retries} retries`);
  return {
    kind: "node",
    event: index,
    label,
    sub: String(event.node_type ?? ""),
    start_ms: offset + num(event.start_offset_ms),
    duration_ms: num(event.duration_ms),
    status: eventStatus(event),
    text: parts.join(" · "),
    facts,
  };
}

function callBar(call: TraceLlmCall, index: number, c: number, offset: number): PageBar {
  const u = call.usage ?? ({} as TraceLlmCall["usage"]);
  const tokens = callTokens(u);
  const facts: Fact[] = [
    ["status", callStatus(call)],
    ["model", String(call.model)],
  ];
  if (call.response_model && call.response_model !== call.model) facts.push(["response model", call.response_model]);
  if (call.item_index !== null && call.item_index !== undefined) facts.push(["batch item", String(call.item_index)]);
  facts.push(["started", `+${formatDuration(num(call.start_offset_ms))} into the run`]);
  const timing = [formatDuration(num(call.duration_ms))];
  if (typeof call.time_to_first_token_ms === "number") {
    timing.push(`first token after ${formatDuration(call.time_to_first_token_ms)}`);
  }
  facts.push(["duration", timing.join(" · ")]);
  const usage = [
    `input ${formatCount(num(u.input_tokens))}`,
    `output ${formatCount(num(u.output_tokens))}`,
    `cache read ${formatCount(num(u.cache_read_tokens))}`,
    `cache write ${formatCount(num(u.cache_write_tokens))}`,
    `reasoning ${formatCount(num(u.reasoning_tokens))}`,
  ];
  facts.push(["tokens", `${formatCount(tokens)} (${usage.join(" · ")})`]);
  facts.push(["cost", callCostDetail(call)]);
  if (call.finish_reason) facts.push(["finish reason", call.finish_reason]);
  if (call.request_id) facts.push(["request id", call.request_id]);
  if (typeof call.http_status === "number") facts.push(["HTTP status", String(call.http_status)]);
  if (call.error) facts.push(["error", `${call.error.type ? `${call.error.type}: ` : ""}${call.error.message ?? ""}`]);
  return {
    kind: "llm",
    event: index,
    call: c,
    // A batch's calls differ by item: that comes first (the full model id is in the details).
    ...(call.item_index !== null && call.item_index !== undefined
      ? { label: `item ${call.item_index}`, sub: shortModel(call) }
      : { label: shortModel(call), sub: "" }),
    start_ms: offset + num(call.start_offset_ms),
    duration_ms: num(call.duration_ms),
    status: callStatus(call),
    text: [formatDuration(num(call.duration_ms)), count(tokens, "token"), callCostText(call)].join(" · "),
    facts,
  };
}

/** The model id without its `provider/` prefix. */
function shortModel(call: TraceLlmCall): string {
  const model = String(call.model);
  return model.startsWith(`${call.provider}/`) ? model.slice(String(call.provider).length + 1) : model;
}

function costBy(events: TraceEvent[], key: (event: TraceEvent, call: TraceLlmCall) => string): CostLine[] {
  const lines = new Map<string, TraceLlmCall[]>();
  for (const event of events) {
    for (const call of Array.isArray(event.llm_calls) ? event.llm_calls : []) {
      const k = String(key(event, call));
      const line = lines.get(k) ?? [];
      line.push(call);
      lines.set(k, line);
    }
  }
  return [...lines].map(([label, calls]) => {
    const { usd, text } = callsCost(calls);
    const tokens = calls.reduce((sum, c) => sum + countedCallTokens(c), 0);
    return { label, usd, text, calls: calls.length, tokens };
  }).sort((a, b) => (b.usd ?? -1) - (a.usd ?? -1) || b.tokens - a.tokens);
}

/**
 * The LLM totals of the trace's own calls. (A planned run's workflow trace
 * carries the run's summary, planning included, in `metrics`: the page
 * draws each trace's calls, and the planner trace beside it has the rest.)
 */
function ownCost(trace: TraceDocument): TraceCost {
  return traceCost({ ...trace, events: Array.isArray(trace.events) ? trace.events : [], metrics: undefined });
}

function headerFacts(
  read: ReadTrace,
  cost: TraceCost,
  duration: { ms: number; lowerBound: boolean },
): { facts: Fact[]; warnings: string[] } {
  const { trace } = read;
  const doc = trace as TraceDocument & Record<string, unknown>;
  const facts: Fact[] = [];
  const warnings: string[] = [];
  if (typeof doc.request === "string") facts.push(["request", doc.request]);
  if (typeof trace.planner_model === "string") facts.push(["planner model", trace.planner_model]);
  const planner = trace.planner;
  if (planner && typeof planner === "object") {
    const attempts = Array.isArray(planner.attempts) ? planner.attempts.length : 0;
    const path = planner.path === "reuse" ? `reused ${planner.reused_workflow ?? "a saved workflow"}` : planner.path;
    facts.push([
      "planning",
      `${path ?? "stopped before choosing"} · ${count(attempts, "validation")} · ${
        count(num(planner.repairs), "repair")
      }`,
    ]);
    if (Array.isArray(planner.missing_inputs) && planner.missing_inputs.length > 0) {
      facts.push(["missing inputs", planner.missing_inputs.map((m) => m.name).join(", ")]);
      warnings.push("missing inputs");
    }
  }
  facts.push(["status", read.complete ? String(trace.final_status) : "incomplete"]);
  if (!read.complete) warnings.push("status");
  facts.push(["started", utcTime(trace.start_time)]);
  facts.push(["duration", `${duration.lowerBound ? "≥ " : ""}${formatDuration(duration.ms)}`]);
  const events = Array.isArray(trace.events) ? trace.events : [];
  const executed = read.complete && typeof trace.nodes_executed === "number" ? trace.nodes_executed : events.length;
  const failed = read.complete && typeof trace.nodes_failed === "number"
    ? trace.nodes_failed
    : events.filter((e) => eventStatus(e) === "error").length;
  const stopped = stoppedNote(trace);
  facts.push(["nodes", `${count(executed, "execution")} · ${failed} failed${stopped ? ` · ${stopped}` : ""}`]);
  if (stopped !== undefined) warnings.push("nodes");
  if (cost.calls > 0) {
    const unpriced = cost.unpriced_models.length > 0 ? ` (unpriced: ${cost.unpriced_models.join(", ")})` : "";
    facts.push(["cost", `${formatCost(cost)}${unpriced}`]);
    if (unpriced) warnings.push("cost");
    facts.push(["tokens", tokenText(events)]);
    facts.push(["LLM calls", String(cost.calls)]);
    facts.push(["models", models(events).join(", ")]);
  } else {
    facts.push(["cost", "no LLM calls"]);
  }
  // The run's figures when they differ from this trace's calls (a planned run's total includes the planning).
  const run = trace.metrics;
  if (run && (roundUsd(run.total_cost_usd) !== cost.cost_usd || run.num_llm_calls !== cost.calls)) {
    const why = trace.planner_trace || run.metrics?.planner ? " (planning included)" : "";
    facts.push(["run cost", `${formatCost(summaryCost(run))} · ${count(run.num_llm_calls, "LLM call")}${why}`]);
  }
  if (num(trace.events_dropped) > 0) {
    const cause = typeof trace.write_error === "string" ? "after the write failed" : "trace size limit";
    facts.push([
      "events dropped",
      `${trace.events_dropped} node executions not written (${cause})${droppedFrom(trace)}`,
    ]);
    warnings.push("events dropped");
  }
  if (typeof trace.write_error === "string") {
    facts.push(["write error", trace.write_error]);
    warnings.push("write error");
  }
  const pricing = trace.metrics?.pricing;
  if (pricing) {
    facts.push(["pricing", `${pricing.version ?? "no price table"}${pricing.source ? ` (${pricing.source})` : ""}`]);
  }
  if (trace.error) {
    const where = trace.error.node_id ? `node '${trace.error.node_id}': ` : "";
    facts.push(["error", `${where}${trace.error.message ?? ""}`]);
    warnings.push("error");
  }
  facts.push(["execution", String(trace.execution_id)]);
  facts.push(["trace id", String(trace.trace_id)]);
  facts.push(["file", read.path]);
  return { facts, warnings };
}

/** Tokens in total, then input (uncached), output, cache read, cache write and reasoning apart. */
function tokenText(events: TraceEvent[]): string {
  const u = { input: 0, output: 0, cache_read: 0, cache_write: 0, reasoning: 0 };
  for (const e of events) {
    for (const c of Array.isArray(e.llm_calls) ? e.llm_calls : []) {
      // A call whose usage is missing has unknown tokens: its counts so far are its own, not the run's.
      if (c.usage?.usage_missing) continue;
      u.input += num(c.usage?.input_tokens);
      u.cache_write += num(c.usage?.cache_write_tokens);
      u.cache_read += num(c.usage?.cache_read_tokens);
      u.output += num(c.usage?.output_tokens);
      u.reasoning += num(c.usage?.reasoning_tokens);
    }
  }
  const n = formatCount;
  return `${n(u.input + u.cache_read + u.cache_write + u.output)} · input ${n(u.input)} · output ${
    n(u.output)
  } · ${`cache read ${n(u.cache_read)} · cache write ${n(u.cache_write)} · reasoning ${n(u.reasoning)}`}`;
}

function models(events: TraceEvent[]): string[] {
  const seen = new Set<string>();
  for (const e of events) for (const c of Array.isArray(e.llm_calls) ? e.llm_calls : []) seen.add(String(c.model));
  return [...seen];
}

/** `2025-03-04 10:00:00 UTC` (the page may be read in another time zone than the run's). */
function utcTime(iso: string): string {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return String(iso ?? "?");
  return `${new Date(ms).toISOString().slice(0, 19).replace("T", " ")} UTC`;
}

/** Escapes text for HTML element content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * JSON that is safe inside a `<script>` element: `<`, `>` and `&` as
 * `\u003c`…, so no `</script>` or `<!--` can end or change the element, and
 * U+2028/U+2029 escaped (raw they break older JavaScript parsers). It parses
 * back to the same value.
 */
export function scriptSafeJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("base64");
}

/** The page's own code (CSS and script), before any data. */
export const PAGE_ASSETS: { css: string; script: string } = { css: pageCss, script: pageScript };

/**
 * The whole page. The Content-Security-Policy allows only the page's own
 * style and script (by hash) and no network at all, so even a string that
 * slipped through could neither run nor fetch anything.
 */
export function renderTracePage(reads: ReadTrace[]): string {
  const data = pageData(reads);
  const main = data.traces.find((t) => t.kind === "workflow") ?? data.traces[0];
  const title = main === undefined ? "pflow trace" : `${main.title} · ${main.status} · pflow trace`;
  const csp = [
    "default-src 'none'",
    `style-src 'sha256-${sha256(pageCss)}'`,
    `script-src 'sha256-${sha256(pageScript)}'`,
    "img-src data:",
    "base-uri 'none'",
    "form-action 'none'",
  ].join("; ");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${escapeHtml(csp)}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta name="generator" content="pflow ${escapeHtml(VERSION)}">
<title>${escapeHtml(title)}</title>
<style>${pageCss}</style>
</head>
<body>
<noscript><p class="noscript">This page draws the trace with JavaScript; the data is in the page source (script#pflow-data), or read the trace with: pflow trace show ${
    escapeHtml(main?.file ?? "")
  }</p></noscript>
<main id="app" aria-busy="true"></main>
<script type="application/json" id="pflow-data">${scriptSafeJson(data)}</script>
<script>${pageScript}</script>
</body>
</html>
`;
}
