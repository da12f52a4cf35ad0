/**
 * The trace file format (`--trace`): one JSON document per run, written as
 * the run goes so that a crash leaves every finished node readable.
 *
 * Layout on disk, in this order: the header fields, then `events` (one line
 * per node execution, appended as each node finishes), then the footer fields
 * (`end_time`, `final_status`, …) written when the run ends. A file without
 * the footer is a run that crashed (or is still running); readers repair it
 * with {@link TraceLineReader}, which also skips a damaged line.
 * @module
 */
import type { RunError } from "../workflow/run.ts";
import type { LlmUsage } from "../llm/types.ts";
import type { RunSummary } from "./metrics.ts";
import type { ProcessIdentity } from "../util/process_identity.ts";

/** Version of this format. */
export const TRACE_FORMAT_VERSION = 1;

/**
 * How a traced run ended; `incomplete` is given by readers to a file without
 * footer; `timeout` ends a planning stopped by `--planner-timeout`.
 */
export type TraceStatus = "success" | "failed" | "interrupted" | "budget_exceeded" | "timeout" | "incomplete";

/** What a trace records: a workflow's run, or the planning of a request. */
export type TraceKind = "workflow" | "planner";

/** Truncation limits used when the trace was written. */
export interface TraceLimits {
  /** Max characters of a string in store values, params, mutations. */
  store_chars: number;
  /** Max characters of a prompt or system message. */
  prompt_chars: number;
  /** Max characters of a response. */
  response_chars: number;
  /** Max bytes of the file: events past it are counted (`events_dropped`), not written. */
  max_bytes?: number;
  /** Max characters of JSON text (about) of one value's copy: a param, a mutation's before or after, the initial store. */
  value_chars?: number;
}

/** The whole document. Footer fields are absent in a crashed run's file. */
export interface TraceDocument {
  format_version: number;
  /** `workflow`, or `planner` for the planning of a request (`--trace-planner`). */
  kind: TraceKind;
  execution_id: string;
  /** W3C trace id, 32 hex (from TRACEPARENT when given). */
  trace_id: string;
  /** Span id of the run (the `invoke_workflow` span), 16 hex. */
  span_id: string;
  /** The caller's span id from TRACEPARENT, else null. */
  parent_span_id: string | null;
  workflow_name: string;
  /** The workflow file as given (or the saved workflow's path), or null. */
  workflow_file: string | null;
  pflow_version: string;
  /** ISO 8601 UTC. */
  start_time: string;
  /**
   * The process writing it (Linux; absent elsewhere and in older traces): tells a run still going from one
   * that died without its footer (`trace prune`).
   */
  writer?: ProcessIdentity;
  /** Inputs as given (redacted, truncated). */
  inputs: Record<string, unknown>;
  /** The shared store before the first node (redacted, truncated). */
  initial_store: Record<string, unknown>;
  limits: TraceLimits;
  /** One per node execution, in order of completion. */
  events: TraceEvent[];
  // ---- footer
  end_time?: string;
  duration_ms?: number;
  final_status?: TraceStatus;
  error?: RunError | null;
  nodes_executed?: number;
  nodes_failed?: number;
  /** The run's cost and metrics summary (the JSON result's figures). */
  metrics?: RunSummary;
  // ---- planned runs
  /** Header: the request in plain words (planner traces). */
  request?: string;
  /** Header: the planner's model (planner traces). */
  planner_model?: string;
  /** Header: span id of the request's root span, parent of this `plan` span and of the workflow's (planner traces). */
  request_span_id?: string;
  /** Header of a planned run's workflow trace: the planner trace's file. */
  planner_trace?: string | null;
  /** Footer of a planner trace: the planner's decisions and results. */
  planner?: PlannerTraceFooter;
  /** Node executions the trace lacks: past `limits.max_bytes`, or (in its file) from a failed write on. */
  events_dropped?: number;
  /**
   * The first node execution not written (every later one was dropped too): its place in the run (0-based,
   * as events' `index`), node and execution index; absent when none was dropped.
   */
  first_dropped?: { index: number; node_id: string; execution_index: number };
  /** Why writing the file failed part-way (the file is then partial), e.g. `ENOSPC: no space left on device`. */
  write_error?: string;
  /**
   * Footer: the LLM calls of this trace's own nodes (for a planned run's
   * workflow trace, without the planning that `metrics` includes); absent in
   * traces written before pflow recorded it.
   */
  llm_totals?: TraceLlmTotals;
}

/** The totals of a trace's own LLM calls (its footer's `llm_totals`). */
export interface TraceLlmTotals {
  calls: number;
  /** Cost in USD of the calls whose cost is known (unpriced ones and those without usage excluded). */
  cost_usd: number;
  /** Input (uncached, cache read, cache write) plus output tokens. */
  tokens: number;
  cached_tokens: number;
  /** Models without a price (their calls' cost is not in `cost_usd`); a call without usage is counted below instead. */
  unpriced_models: string[];
  /** Calls whose usage is unknown: the cost is a lower bound. */
  usage_missing: number;
}

/** What a planner trace's footer adds: the path taken and what came of it. */
export interface PlannerTraceFooter {
  /** `reuse`, `generate`, or null when planning stopped before choosing. */
  path: "reuse" | "generate" | null;
  /** The reused saved workflow, or null. */
  reused_workflow: string | null;
  /** Repair calls made. */
  repairs: number;
  /** LLM calls made. */
  llm_calls: number;
  /** Each validation of a generated workflow with its problems (empty list: valid). */
  attempts: { problems: { pointer?: string; message: string }[] }[];
  /** The final workflow IR (redacted, bounded), or null. */
  workflow: unknown;
  /** The values extracted for its inputs. */
  params: Record<string, unknown>;
  /** Required inputs nothing filled. */
  missing_inputs: { name: string; type: string; description: string }[];
  /** The plan file written for a generated workflow, or null. */
  plan_path: string | null;
}

/**
 * A traced call's cost when it is known: null for a model without a price and for a call whose usage is
 * missing (which older traces recorded as $0: its zero tokens were never measured).
 */
export function knownCallCost(
  call: { cost_usd?: number | null; usage?: { usage_missing?: boolean } | null },
): number | null {
  if (call.usage?.usage_missing) return null;
  return typeof call.cost_usd === "number" && Number.isFinite(call.cost_usd) ? call.cost_usd : null;
}

/**
 * The cost a traced call counts for, by the rule of the run's result: the cost the provider reported
 * (OpenRouter's `usage.cost`), else pflow's computed one; null when neither is known (an unpriced model
 * without a reported cost, or a call whose usage is missing).
 */
export function countedCallCost(
  call: { cost_usd?: number | null; reported_cost_usd?: number | null; usage?: { usage_missing?: boolean } | null },
): number | null {
  if (call.usage?.usage_missing) return null;
  const reported = call.reported_cost_usd;
  return typeof reported === "number" && Number.isFinite(reported) ? reported : knownCallCost(call);
}

/** Suffix of a trace file whose writing failed part-way: `….partial.json`. */
export const PARTIAL_SUFFIX = ".partial.json";

/** One change a node made to the shared store. */
export interface Mutation {
  op: "set" | "delete";
  /** Path in template syntax: `node.key`, `list[2]`, `obj["odd key"]`. */
  path: string;
  /** Value before (absent when the key did not exist). */
  before?: unknown;
  /** Value after (absent for deletes). */
  after?: unknown;
}

/** What one `${…}` resolved to. */
export interface TemplateResolution {
  /** The param (top-level name). */
  param: string;
  /** The param's template text. */
  template: unknown;
  /** The resolved value (redacted, truncated). */
  value: unknown;
  /** Batch item index, when resolved for an item. */
  item_index?: number;
}

/** One LLM call (or failed attempt of one) in a trace event. */
export interface TraceLlmCall {
  provider: string;
  model: string;
  response_model: string | null;
  request_id: string | null;
  item_index: number | null;
  /** `ok`, or `error` for a failed attempt or a reply that was not the structured output asked for. */
  status?: "ok" | "error";
  /** What failed (redacted). */
  error?: { type: string; message: string };
  /** HTTP status of a failed attempt (null: network error, timeout, broken stream). */
  http_status?: number | null;
  /** System prompt sent (truncated). */
  system: string | null;
  /** Anthropic cache marker on the system prompt. */
  system_cache_control?: { type: string; ttl?: string };
  /** Messages sent (content truncated), with their cache markers. */
  messages: { role: string; content: string; cache_control?: { type: string; ttl?: string } }[];
  /** Request options as sent: thinking budget, reasoning effort, output bound, temperature, structured-output schema. */
  options?: {
    max_tokens?: number;
    temperature?: number;
    thinking?: { budget_tokens: number };
    reasoning_effort?: string;
    schema?: { name: string; mode: string; schema: unknown };
    cache?: string;
  };
  /** Response text (truncated). */
  response: string;
  /** Thinking text the provider returned (truncated like the response). */
  thinking?: string;
  /** The parsed structured output, when one was asked for (redacted, bounded). */
  object?: unknown;
  finish_reason: string | null;
  usage: Omit<LlmUsage, "raw"> & { raw?: unknown };
  /** Cost as priced by pflow; null when unknown: the model is unpriced, or the usage missing (`usage.usage_missing`). */
  cost_usd: number | null;
  reported_cost_usd: number | null;
  duration_ms: number;
  time_to_first_token_ms: number | null;
  /** Start, ms after the run started. */
  start_offset_ms: number;
  /** Span id of the call's `chat` span, 16 hex. */
  span_id: string;
}

/** One node execution. */
export interface TraceEvent {
  /**
   * 0-based position among the file's events (a crashed trace's last line
   * says how many it holds without reading them all); absent in older traces.
   */
  index?: number;
  node_id: string;
  node_type: string;
  /** 16 hex. */
  span_id: string;
  /** The run's span id. */
  parent_span_id: string;
  /** 0-based count of earlier executions of this node (loops). */
  execution_index: number;
  /** Start, ms after the run started. */
  start_offset_ms: number;
  /** ISO 8601 UTC start. */
  start_time: string;
  duration_ms: number;
  /** Wall time of each phase, and the process's CPU time while it ran (`*_cpu_ms`). */
  phases: {
    prep_ms: number;
    exec_ms: number;
    post_ms: number;
    prep_cpu_ms?: number;
    exec_cpu_ms?: number;
    post_cpu_ms?: number;
  };
  cpu: { user_ms: number; system_ms: number; child_user_ms?: number; child_system_ms?: number };
  retries: number;
  /** The action returned, or null when the node threw. */
  action: string | null;
  success: boolean;
  status: "success" | "error" | "interrupted";
  error: { type: string; message: string; stack?: string } | null;
  /**
   * Params as the node ran with them (templates resolved; redacted, truncated); a batch node's as written,
   * since each item resolves its own (see `item_params`).
   */
  params: Record<string, unknown>;
  /**
   * A batch node: each item's templated params as that item ran with them, by item index (null for an item
   * that never resolved them: stopped by `fail_fast`); absent otherwise.
   */
  item_params?: (Record<string, unknown> | null)[];
  template_resolutions: TemplateResolution[];
  mutations: Mutation[];
  llm_calls: TraceLlmCall[];
}

/** A parsed trace and whether it was complete on disk. */
export interface ParsedTrace {
  /** The document (`final_status` is `incomplete` when the footer was missing). */
  trace: TraceDocument;
  /** False when the file lacked its footer (crash, SIGKILL, or still running). */
  complete: boolean;
  /** What was skipped in a damaged file (absent when nothing was). */
  damage?: TraceDamage;
}

/**
 * What a reader skipped in a damaged file: lines that are not a header,
 * event or footer line, and NUL bytes (a region a crash left zeroed, or a
 * sparse file). The last line of a file without footer is not counted: it is
 * the line being written when the run stopped.
 */
export interface TraceDamage {
  /** 1-based numbers of the first few skipped lines. */
  lines: number[];
  /** Skipped lines in all. */
  lineCount: number;
  /** NUL bytes skipped. */
  nulBytes: number;
  /** The line of the first NUL byte. */
  nulLine?: number;
}

/** The most line numbers a {@link TraceDamage} keeps. */
const DAMAGE_LINES_KEPT = 5;

/**
 * Builds a trace from the pieces of its file in the writer's layout: the
 * header line, one line per event, the footer line. A damaged line is
 * skipped (and counted), not the end of reading: the events after it and the
 * footer still count. Fed a piece at a time, so a reader can stream a file
 * of any size; a run of NUL bytes ends a piece like a newline (it is never in
 * a written line: JSON escapes U+0000).
 */
export class TraceLineReader {
  #header: TraceDocument | undefined;
  #events: TraceEvent[] = [];
  #footer: Partial<TraceDocument> | undefined;
  #damage: TraceDamage = { lines: [], lineCount: 0, nulBytes: 0 };
  /** A damaged line not counted yet: the last line of a file without footer is the one being written. */
  #unfinished: number | undefined;

  /**
   * Takes one piece: a line without its newline, or the part of a line
   * between runs of NUL bytes (`line`: its 1-based line number). Returns
   * false when the first piece is not a header line of the writer's layout:
   * the file is then to be parsed whole. Throws on a header line that is not
   * valid JSON.
   */
  add(piece: string, line: number): boolean {
    const text = piece.trim();
    if (text === "") return true;
    if (this.#header === undefined) {
      if (!text.endsWith(EVENTS_OPEN)) return false;
      let header: unknown;
      try {
        header = JSON.parse(`${text}]}`);
      } catch {
        throw new Error(`not a pflow trace (its header, line ${line}, is not valid JSON)`);
      }
      if (!isRecord(header)) throw new Error("not a pflow trace (its header is not a JSON object)");
      this.#header = header as unknown as TraceDocument;
      return true;
    }
    this.#settle();
    const parsed = this.#footer === undefined ? parseLine(text) : undefined;
    if (parsed?.footer !== undefined) this.#footer = parsed.footer;
    else if (parsed?.event !== undefined) this.#events.push(parsed.event);
    else this.#unfinished = line;
    return true;
  }

  /** Counts `count` NUL bytes met on `line`. */
  nul(count: number, line: number): void {
    if (this.#damage.nulBytes === 0) this.#damage.nulLine = line;
    this.#damage.nulBytes += count;
  }

  /** The document; `incomplete` without footer. Throws when there was no header line. */
  finish(): ParsedTrace {
    if (this.#header === undefined) throw new Error("not a pflow trace (no header)");
    // A damaged last line is the one being written when the run stopped, unless a footer came before it.
    if (this.#footer !== undefined) this.#settle();
    const trace: TraceDocument = { ...this.#header, events: this.#events, ...this.#footer };
    const complete = this.#footer !== undefined && trace.final_status !== undefined;
    if (this.#footer === undefined) trace.final_status = "incomplete";
    const damaged = this.#damage.lineCount > 0 || this.#damage.nulBytes > 0;
    return damaged ? { trace, complete, damage: this.#damage } : { trace, complete };
  }

  #settle(): void {
    if (this.#unfinished === undefined) return;
    if (this.#damage.lines.length < DAMAGE_LINES_KEPT) this.#damage.lines.push(this.#unfinished);
    this.#damage.lineCount++;
    this.#unfinished = undefined;
  }
}

/** An event line (`{…}`, after the first `,{…}`) or the footer line (`]}` or `],…}`); undefined when neither. */
function parseLine(text: string): { event?: TraceEvent; footer?: Partial<TraceDocument> } | undefined {
  try {
    if (text.startsWith("]")) {
      if (text === "]}") return { footer: {} };
      if (!text.startsWith("],")) return undefined;
      const footer = JSON.parse(`{${text.slice(2)}`);
      return isRecord(footer) ? { footer } : undefined;
    }
    const event = JSON.parse(text.slice(text.startsWith(",") ? 1 : 0, text.endsWith(",") ? -1 : undefined));
    return isRecord(event) ? { event: event as unknown as TraceEvent } : undefined;
  } catch {
    return undefined;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/**
 * Parses a trace file's text (see {@link TraceLineReader}): a file cut off
 * by a crash keeps every whole event line and is marked `incomplete`; a
 * damaged line is skipped and reported in `damage`. A file not in the
 * writer's layout (e.g. pretty-printed) is parsed as one JSON document.
 * Throws when not even the header is readable.
 */
export function parseTraceText(text: string): ParsedTrace {
  const reader = new TraceLineReader();
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const pieces = lines[i].includes("\0") ? lines[i].split(/(\0+)/) : [lines[i]];
    for (const piece of pieces) {
      if (piece.startsWith("\0")) reader.nul(piece.length, i + 1);
      else if (!reader.add(piece, i + 1)) return parseTraceDocument(text);
    }
  }
  return reader.finish();
}

/** A trace that is one JSON document (not in the writer's line layout). */
export function parseTraceDocument(text: string): ParsedTrace {
  let trace: TraceDocument;
  try {
    trace = JSON.parse(text);
  } catch {
    throw new Error("not a pflow trace (no header)");
  }
  return { trace, complete: isRecord(trace) && trace.final_status !== undefined };
}

const EVENTS_OPEN = '"events":[';

/** The header as written first: every header field, then the opening of `events`. */
export function traceHeaderText(header: Omit<TraceDocument, "events">): string {
  return `${JSON.stringify(header).slice(0, -1)},${EVENTS_OPEN}\n`;
}

/** One event line as appended when a node finishes (`index` 0 for the first). */
export function traceEventLine(event: TraceEvent, index: number): string {
  return `${index === 0 ? "" : ","}${JSON.stringify(event)}\n`;
}

/** The footer that closes `events` and the document. */
export function traceFooterText(footer: Partial<TraceDocument>): string {
  const fields = JSON.stringify(footer).slice(1);
  return fields === "}" ? "]}\n" : `],${fields}\n`;
}

/** The fields of the footer, in the order they are written. */
const FOOTER_FIELDS: readonly (keyof TraceDocument)[] = [
  "end_time",
  "duration_ms",
  "final_status",
  "error",
  "nodes_executed",
  "nodes_failed",
  "metrics",
  "llm_totals",
  "planner",
  "events_dropped",
  "first_dropped",
  "write_error",
];

/** The whole file for a document (as the writer leaves it; without footer when `complete` is false). */
export function formatTraceFile(doc: TraceDocument, options: { complete?: boolean } = {}): string {
  const header: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(doc)) {
    if (key !== "events" && !FOOTER_FIELDS.includes(key as keyof TraceDocument)) header[key] = value;
  }
  let text = traceHeaderText(header as Omit<TraceDocument, "events">) + doc.events.map(traceEventLine).join("");
  if (options.complete !== false) {
    text += traceFooterText(Object.fromEntries(FOOTER_FIELDS.map((key) => [key, doc[key]])));
  }
  return text;
}
