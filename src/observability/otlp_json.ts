/**
 * A run trace as OpenTelemetry spans: the span model shared by the OTLP/JSON
 * file export (`pflow trace export --format otlp-json`) and the OTLP/HTTP
 * export through the SDK (`otlp_export.ts`), and its OTLP/JSON encoding.
 *
 * Loads no OpenTelemetry package (start-up time): the JSON is written by hand
 * following the OTLP/JSON rules — ids as lowercase hex, times as decimal
 * strings of Unix nanoseconds, 64-bit ints as decimal strings, enums as
 * integers. Span names and keys come from `semconv.ts`.
 * @module
 */
import { decodeUriComponentSafe } from "../util/uri.ts";
import { keyValueEntries } from "../util/key_value_list.ts";
import { roundUsd } from "../pricing/cost.ts";
import * as sc from "./semconv.ts";
import {
  countedCallCost,
  knownCallCost,
  type TraceDocument,
  type TraceEvent,
  type TraceLlmCall,
} from "./trace_format.ts";

/** An attribute value: a string, a number, a boolean or a string array. */
export type AttributeValue = string | number | boolean | string[];

/** Attributes by key (numbers in `DOUBLE_ATTRIBUTES` are doubles even when whole). */
export type Attributes = Record<string, AttributeValue>;

/** A span's status: `error` carries a message. */
export interface SpanStatus {
  code: "unset" | "ok" | "error";
  message?: string;
}

/** One span of a run, as both exports produce it. */
export interface SpanRecord {
  /** 32 hex. */
  traceId: string;
  /** 16 hex. */
  spanId: string;
  /** 16 hex; absent for a run without caller. */
  parentSpanId?: string;
  /** True when the parent is the caller's span (from TRACEPARENT), not one of the run's. */
  parentIsRemote: boolean;
  name: string;
  kind: "internal" | "client";
  /** Unix nanoseconds. */
  startNs: bigint;
  /** Unix nanoseconds (never before `startNs`). */
  endNs: bigint;
  attributes: Attributes;
  status: SpanStatus;
}

/** OTLP `SpanKind` values. */
export const OTLP_SPAN_KIND = { internal: 1, client: 3 } as const;
/** OTLP `StatusCode` values. */
export const OTLP_STATUS_CODE = { unset: 0, ok: 1, error: 2 } as const;
/** OTLP span flags: W3C `sampled`, and whether the parent's remoteness is known / remote. */
const FLAG_SAMPLED = 0x01;
const FLAG_HAS_IS_REMOTE = 0x100;
const FLAG_IS_REMOTE = 0x200;

const HEX32 = /^[0-9a-f]{32}$/;
const HEX16 = /^[0-9a-f]{16}$/;

/** Options of {@link traceSpans} and {@link requestSpans}. */
export interface SpanOptions {
  /**
   * Applied to every text the spans carry (names, string attributes, status messages) before any is cut
   * short: the run's redactor, so that what the run learned was secret after a text was recorded (a token the
   * planner found in the request) is hidden in whatever becomes an attribute.
   */
  redact?: (text: string) => string;
}

/**
 * The spans of a run, parents before children: the run span, then for each
 * node execution (in trace order) its span followed by its `chat` spans.
 * Works on incomplete traces (no footer): the run span then ends where its
 * last child ends and its status is an error (`incomplete`).
 * Throws when the trace has no valid ids or start time.
 */
export function traceSpans(trace: TraceDocument, options: SpanOptions = {}): SpanRecord[] {
  const spans = traceSpanRecords(trace);
  return options.redact === undefined ? spans : spans.map((span) => redactSpan(span, options.redact!));
}

/** A span with `redact` applied to its name, string attributes (and string array items) and status message. */
function redactSpan(span: SpanRecord, redact: (text: string) => string): SpanRecord {
  const attributes: Attributes = {};
  for (const [key, value] of Object.entries(span.attributes)) {
    attributes[key] = typeof value === "string"
      ? redact(value)
      : Array.isArray(value)
      ? value.map((v) => redact(v))
      : value;
  }
  const status = span.status.message === undefined
    ? span.status
    : { ...span.status, message: redact(span.status.message) };
  return { ...span, name: redact(span.name), attributes, status };
}

function traceSpanRecords(trace: TraceDocument): SpanRecord[] {
  const traceId = String(trace.trace_id ?? "").toLowerCase();
  const runSpanId = String(trace.span_id ?? "").toLowerCase();
  if (!HEX32.test(traceId) || /^0+$/.test(traceId)) {
    throw new Error(`trace has no valid trace_id ('${trace.trace_id}')`);
  }
  if (!HEX16.test(runSpanId) || /^0+$/.test(runSpanId)) {
    throw new Error(`trace has no valid span_id ('${trace.span_id}')`);
  }
  const runStart = epochNs(trace.start_time);
  if (runStart === undefined) throw new Error(`trace has no valid start_time ('${trace.start_time}')`);
  const caller = typeof trace.parent_span_id === "string" ? trace.parent_span_id.toLowerCase() : "";
  const events = Array.isArray(trace.events) ? trace.events : [];

  const children: SpanRecord[] = [];
  let lastEnd = runStart;
  let callCount = 0;
  let costSum = 0;
  let priced = false;
  let failedEvents = 0;
  for (const event of events) {
    const nodeStart = offsetNs(runStart, event.start_offset_ms) ?? epochNs(event.start_time) ?? runStart;
    const nodeEnd = nodeStart + durationNs(event.duration_ms);
    const nodeSpanId = String(event.span_id ?? "").toLowerCase();
    if (!HEX16.test(nodeSpanId)) continue; // not exportable without its id
    if (event.status !== "success" || event.success === false) failedEvents++;
    children.push({
      traceId,
      spanId: nodeSpanId,
      parentSpanId: runSpanId,
      parentIsRemote: false,
      name: sc.nodeSpanName(event.node_id),
      kind: "internal",
      startNs: nodeStart,
      endNs: nodeEnd,
      attributes: nodeAttributes(event),
      status: nodeStatus(event),
    });
    if (nodeEnd > lastEnd) lastEnd = nodeEnd;
    for (const call of Array.isArray(event.llm_calls) ? event.llm_calls : []) {
      const callSpanId = String(call.span_id ?? "").toLowerCase();
      if (!HEX16.test(callSpanId)) continue;
      const callStart = offsetNs(runStart, call.start_offset_ms) ?? nodeStart;
      const callEnd = callStart + durationNs(call.duration_ms);
      callCount++;
      const callCost = countedCallCost(call);
      if (callCost !== null) {
        costSum += callCost;
        priced = true;
      }
      children.push({
        traceId,
        spanId: callSpanId,
        parentSpanId: nodeSpanId,
        parentIsRemote: false,
        name: sc.chatSpanName(requestModel(call)),
        kind: "client",
        startNs: callStart,
        endNs: callEnd,
        attributes: chatAttributes(call),
        status: call.status === "error"
          ? { code: "error", message: call.error?.message ?? "LLM call failed" }
          : { code: "ok" },
      });
      if (callEnd > lastEnd) lastEnd = callEnd;
    }
  }

  // Ended: the footer is there. Complete: and no node execution is missing (past the size cap, a failed write).
  const ended = trace.final_status !== undefined && trace.final_status !== "incomplete";
  const dropped = typeof trace.events_dropped === "number" && trace.events_dropped > 0 ? trace.events_dropped : 0;
  const complete = ended && dropped === 0;
  let runEnd: bigint;
  if (ended && typeof trace.duration_ms === "number" && Number.isFinite(trace.duration_ms)) {
    runEnd = runStart + durationNs(trace.duration_ms);
  } else if (ended && trace.end_time !== undefined && epochNs(trace.end_time) !== undefined) {
    runEnd = epochNs(trace.end_time)!;
  } else {
    runEnd = lastEnd; // incomplete: the last event's end
  }
  if (runEnd < runStart) runEnd = runStart;

  const status = trace.final_status ?? "incomplete";
  const run: Attributes = {
    [sc.ATTR_GEN_AI_OPERATION_NAME]: sc.OP_INVOKE_WORKFLOW,
    [sc.ATTR_GEN_AI_WORKFLOW_NAME]: trace.workflow_name,
    [sc.ATTR_PFLOW_WORKFLOW_NAME]: trace.workflow_name,
    [sc.ATTR_PFLOW_EXECUTION_ID]: trace.execution_id,
    [sc.ATTR_PFLOW_FINAL_STATUS]: status,
    [sc.ATTR_PFLOW_VERSION]: trace.pflow_version,
    [sc.ATTR_PFLOW_NODES_EXECUTED]: trace.nodes_executed ?? events.length,
    [sc.ATTR_PFLOW_NODES_FAILED]: trace.nodes_failed ?? failedEvents,
    [sc.ATTR_PFLOW_LLM_CALLS]: trace.metrics?.num_llm_calls ?? callCount,
    [sc.ATTR_PFLOW_TRACE_COMPLETE]: complete,
  };
  if (dropped > 0) run[sc.ATTR_PFLOW_TRACE_EVENTS_DROPPED] = dropped;
  if (trace.workflow_file) run[sc.ATTR_PFLOW_WORKFLOW_FILE] = trace.workflow_file;
  const total = ownCostUsd(trace, priced ? roundUsd(costSum) : undefined);
  if (typeof total === "number" && Number.isFinite(total)) run[sc.ATTR_PFLOW_TOTAL_COST_USD] = total;
  let runStatus: SpanStatus = { code: "ok" };
  if (status !== "success") {
    run[sc.ATTR_ERROR_TYPE] = trace.error?.type || status;
    runStatus = { code: "error", message: runErrorMessage(trace, status) };
  }

  if (trace.kind === "planner") {
    run[sc.ATTR_GEN_AI_OPERATION_NAME] = sc.OP_PLAN;
    delete run[sc.ATTR_GEN_AI_WORKFLOW_NAME];
    delete run[sc.ATTR_PFLOW_WORKFLOW_NAME];
    if (trace.planner?.path) run[sc.ATTR_PFLOW_PLANNER_PATH] = trace.planner.path;
  }
  const root: SpanRecord = {
    traceId,
    spanId: runSpanId,
    parentIsRemote: false,
    name: trace.kind === "planner" ? sc.OP_PLAN : sc.workflowSpanName(trace.workflow_name),
    kind: "internal",
    startNs: runStart,
    endNs: runEnd,
    attributes: clean(run),
    status: runStatus,
  };
  if (HEX16.test(caller) && !/^0+$/.test(caller)) {
    root.parentSpanId = caller;
    root.parentIsRemote = true;
  }
  return [root, ...children];
}

/**
 * The cost of a trace's own LLM calls (what its chat spans add up to, as the trace page counts it): its footer's
 * `llm_totals`; without them (an older trace), its summary's total unless that is a planned run's (the whole
 * request's, planning included); else the sum of its calls' known costs (`summed`), as a crashed run's trace has it.
 */
function ownCostUsd(trace: TraceDocument, summed: number | undefined): number | undefined {
  const own = trace.llm_totals?.cost_usd;
  if (typeof own === "number") return own;
  const summary = trace.metrics;
  if (
    summary !== undefined && summary !== null && (trace.kind !== "workflow" || summary.metrics?.planner === undefined)
  ) {
    return summary.total_cost_usd;
  }
  return summed;
}

/**
 * The spans of a planned run: one root span for the request (the caller's
 * span from TRACEPARENT is its parent), whose children are the planner's
 * `plan` span tree and, when the plan ran, the workflow's `invoke_workflow`
 * tree. Both traces share the trace id; the root's id is the planner trace's
 * `request_span_id`.
 */
export function requestSpans(
  planner: TraceDocument,
  workflow?: TraceDocument,
  options: {
    /**
     * How the command ended when its workflow never ran (missing inputs, a refused param, a dry run): the request
     * span's status and final status are the command's, not the planning's (which succeeded).
     */
    ended?: { status: string; reason: string };
  } & SpanOptions = {},
): SpanRecord[] {
  const plan = traceSpans(planner, options);
  const requestSpanId = String(planner.request_span_id ?? "").toLowerCase();
  if (!HEX16.test(requestSpanId)) return [...plan, ...(workflow ? traceSpans(workflow, options) : [])];
  const runs = workflow ? traceSpans(workflow, options) : [];
  const redact = options.redact ?? ((text: string) => text);
  const [planRoot] = plan;
  const runRoot = runs[0];
  const request: SpanRecord = {
    traceId: planRoot.traceId,
    spanId: requestSpanId,
    parentIsRemote: false,
    name: sc.REQUEST_SPAN_NAME,
    kind: "internal",
    startNs: planRoot.startNs,
    endNs: runRoot && runRoot.endNs > planRoot.endNs ? runRoot.endNs : planRoot.endNs,
    attributes: clean({
      // Redacted whole, then cut: a secret cut first would no longer be found.
      [sc.ATTR_PFLOW_REQUEST]: redact(planner.request ?? "").slice(0, 1000),
      [sc.ATTR_PFLOW_EXECUTION_ID]: planner.execution_id,
      [sc.ATTR_PFLOW_FINAL_STATUS]: (workflow === undefined ? options.ended?.status : undefined) ??
        (workflow ?? planner).final_status ?? "incomplete",
      [sc.ATTR_PFLOW_VERSION]: planner.pflow_version,
      ...(planner.planner?.path ? { [sc.ATTR_PFLOW_PLANNER_PATH]: planner.planner.path } : {}),
      ...(workflow ? { [sc.ATTR_GEN_AI_WORKFLOW_NAME]: workflow.workflow_name } : {}),
    }),
    // A planning that failed says why itself; one that succeeded takes how the command then ended.
    status: runRoot?.status ??
      (planRoot.status.code === "error" ? planRoot.status : endedStatus(options.ended) ?? planRoot.status),
  };
  if (options.redact !== undefined) Object.assign(request, redactSpan(request, options.redact));
  // The planner trace's parent is the caller; the request span takes that place.
  if (planRoot.parentSpanId !== undefined) {
    request.parentSpanId = planRoot.parentSpanId;
    request.parentIsRemote = planRoot.parentIsRemote;
  }
  // The request's cost, as the JSON result's total_cost_usd: a planned run's workflow trace sums up the whole
  // request, planning included; without it (the workflow never ran, or its trace has no footer), the planning's
  // and the workflow's own costs.
  const whole = workflow?.metrics?.total_cost_usd;
  const parts = [planRoot, runRoot].map((root) => root?.attributes[sc.ATTR_PFLOW_TOTAL_COST_USD]);
  request.attributes[sc.ATTR_PFLOW_TOTAL_COST_USD] = typeof whole === "number"
    ? whole
    : roundUsd(parts.reduce((sum: number, part) => sum + (typeof part === "number" ? part : 0), 0));
  for (const root of [planRoot, runRoot]) {
    if (root === undefined) continue;
    root.parentSpanId = requestSpanId;
    root.parentIsRemote = false;
  }
  return [request, ...plan, ...runs];
}

/** An ended command's status as a span's: ERROR with its reason unless it succeeded. */
function endedStatus(ended: { status: string; reason: string } | undefined): SpanStatus | undefined {
  if (ended === undefined || ended.status === "success") return undefined;
  return { code: "error", message: ended.reason };
}

function runErrorMessage(trace: TraceDocument, status: string): string {
  if (trace.error?.message) return trace.error.message;
  switch (status) {
    case "incomplete":
      return "the run did not finish: its trace has no footer (crashed, killed, or still running)";
    case "interrupted":
      return "interrupted";
    case "budget_exceeded":
      return "budget exceeded";
    default:
      return status;
  }
}

function nodeAttributes(event: TraceEvent): Attributes {
  const a: Attributes = {
    [sc.ATTR_PFLOW_NODE_ID]: event.node_id,
    [sc.ATTR_PFLOW_NODE_TYPE]: event.node_type,
    [sc.ATTR_PFLOW_NODE_EXECUTION_INDEX]: event.execution_index,
    [sc.ATTR_PFLOW_NODE_STATUS]: event.status,
    [sc.ATTR_PFLOW_NODE_RETRIES]: event.retries,
  };
  if (event.action !== null && event.action !== undefined) a[sc.ATTR_PFLOW_NODE_ACTION] = event.action;
  if (event.phases) {
    a[sc.ATTR_PFLOW_NODE_PREP_MS] = event.phases.prep_ms;
    a[sc.ATTR_PFLOW_NODE_EXEC_MS] = event.phases.exec_ms;
    a[sc.ATTR_PFLOW_NODE_POST_MS] = event.phases.post_ms;
  }
  if (event.cpu) {
    a[sc.ATTR_PFLOW_NODE_CPU_USER_MS] = event.cpu.user_ms;
    a[sc.ATTR_PFLOW_NODE_CPU_SYSTEM_MS] = event.cpu.system_ms;
  }
  if (event.status !== "success" && event.status !== undefined) {
    a[sc.ATTR_ERROR_TYPE] = event.error?.type || event.status;
  }
  return clean(a);
}

function nodeStatus(event: TraceEvent): SpanStatus {
  if (event.status === "success" && event.success !== false) return { code: "ok" };
  const message = event.error?.message || (event.status === "interrupted" ? "interrupted" : "node failed");
  return { code: "error", message };
}

/** The model name as requested: pflow's model id without its `provider/` prefix. */
function requestModel(call: TraceLlmCall): string {
  const model = String(call.model ?? call.usage?.model ?? "");
  const provider = String(call.provider ?? call.usage?.provider ?? "");
  return provider && model.startsWith(`${provider}/`) ? model.slice(provider.length + 1) : model;
}

/**
 * Whether a call's token counts are the provider's report: not when it sent
 * no usage (`usage_missing`), nor for a failed attempt without a usage object
 * (a rejected request, a connection that broke first), whose zeros are
 * pflow's, not a measurement. A failed attempt that did report usage (a
 * stream cut off after it) counts.
 */
export function usageReported(
  call: { status?: string; usage?: { usage_missing?: boolean; raw?: unknown } | null },
): boolean {
  const u = call.usage;
  if (!u || u.usage_missing) return false;
  return call.status !== "error" || (u.raw !== null && u.raw !== undefined);
}

function chatAttributes(call: TraceLlmCall): Attributes {
  const u = call.usage ?? ({} as Partial<TraceLlmCall["usage"]>);
  const cacheRead = count(u.cache_read_tokens);
  const cacheWrite = count(u.cache_write_tokens);
  const provider = String(call.provider ?? u.provider ?? "");
  const a: Attributes = {
    [sc.ATTR_GEN_AI_OPERATION_NAME]: sc.OP_CHAT,
    [sc.ATTR_GEN_AI_PROVIDER_NAME]: provider,
    [sc.ATTR_GEN_AI_SYSTEM]: provider,
    [sc.ATTR_GEN_AI_REQUEST_MODEL]: requestModel(call),
    [sc.ATTR_PFLOW_LLM_MODEL]: String(call.model ?? u.model ?? ""),
  };
  // Unknown usage is left out, not sent as 0 tokens.
  if (usageReported(call)) {
    a[sc.ATTR_GEN_AI_USAGE_INPUT_TOKENS] = count(u.input_tokens) + cacheRead + cacheWrite;
    a[sc.ATTR_GEN_AI_USAGE_OUTPUT_TOKENS] = count(u.output_tokens);
    a[sc.ATTR_GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] = cacheRead;
    a[sc.ATTR_GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS] = cacheWrite;
    a[sc.ATTR_GEN_AI_USAGE_REASONING_OUTPUT_TOKENS] = count(u.reasoning_tokens);
  }
  const responseModel = call.response_model ?? u.response_model;
  if (responseModel) a[sc.ATTR_GEN_AI_RESPONSE_MODEL] = responseModel;
  if (u.response_id) a[sc.ATTR_GEN_AI_RESPONSE_ID] = u.response_id;
  const requestId = call.request_id ?? u.request_id;
  if (requestId) a[sc.ATTR_PFLOW_LLM_REQUEST_ID] = requestId;
  if (call.finish_reason) a[sc.ATTR_GEN_AI_RESPONSE_FINISH_REASONS] = [call.finish_reason];
  if (typeof call.time_to_first_token_ms === "number") {
    a[sc.ATTR_GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] = call.time_to_first_token_ms / 1000;
  }
  // The cost the call counts for (a provider-reported one, else pflow's), as in the run's result; an unknown
  // cost (unpriced without a reported one, or usage missing: older traces say $0 for it) is left out, not sent
  // as 0. Beside a reported cost, pflow's own price of the call, when it has one.
  const cost = countedCallCost(call);
  if (cost !== null) a[sc.ATTR_PFLOW_COST_USD] = cost;
  if (typeof call.reported_cost_usd === "number") {
    a[sc.ATTR_PFLOW_REPORTED_COST_USD] = call.reported_cost_usd;
    const computed = knownCallCost(call);
    if (computed !== null) a[sc.ATTR_PFLOW_COMPUTED_COST_USD] = computed;
  }
  if (typeof call.item_index === "number") a[sc.ATTR_PFLOW_LLM_ITEM_INDEX] = call.item_index;
  if (call.status === "error") a[sc.ATTR_ERROR_TYPE] = call.error?.type || "error";
  return clean(a);
}

function count(value: unknown): number {
  return typeof value === "number" && Number.isFinite(value) && value > 0 ? value : 0;
}

/** Drops attributes that cannot be encoded (non-finite numbers, null/undefined). */
function clean(attributes: Attributes): Attributes {
  for (const [key, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || (typeof value === "number" && !Number.isFinite(value))) {
      delete attributes[key];
    }
  }
  return attributes;
}

const NS_PER_MS = 1_000_000n;

/** Unix nanoseconds of an ISO time (millisecond precision), or undefined. */
function epochNs(iso: unknown): bigint | undefined {
  if (typeof iso !== "string") return undefined;
  const ms = Date.parse(iso);
  return Number.isFinite(ms) ? BigInt(ms) * NS_PER_MS : undefined;
}

/** `base` plus `offsetMs` (fractional ms kept to the nanosecond), or undefined. */
function offsetNs(base: bigint, offsetMs: unknown): bigint | undefined {
  if (typeof offsetMs !== "number" || !Number.isFinite(offsetMs)) return undefined;
  return base + BigInt(Math.round(offsetMs * 1e6));
}

function durationNs(ms: unknown): bigint {
  return typeof ms === "number" && Number.isFinite(ms) && ms > 0 ? BigInt(Math.round(ms * 1e6)) : 0n;
}

// ---- resource

/** Resource options: `service.name` and further attributes. */
export interface ResourceOptions {
  /** `service.name` (wins over one in `resourceAttributes`); default `pflow`. */
  serviceName?: string;
  /** Further resource attributes (e.g. from OTEL_RESOURCE_ATTRIBUTES). */
  resourceAttributes?: Record<string, string>;
}

/** The resource attributes: the given ones, then `service.name`. */
export function resourceAttributes(options: ResourceOptions = {}): Record<string, string> {
  const attributes: Record<string, string> = { ...options.resourceAttributes };
  attributes[sc.ATTR_SERVICE_NAME] = options.serviceName || attributes[sc.ATTR_SERVICE_NAME] ||
    sc.DEFAULT_SERVICE_NAME;
  return attributes;
}

/**
 * Parses an OTel `key=value,key2=value2` list (OTEL_RESOURCE_ATTRIBUTES,
 * OTEL_EXPORTER_OTLP_HEADERS): entries trimmed, keys and values
 * percent-decoded; an entry without `=` or key is skipped, and with `warn`
 * said so (naming `variable`, never the entry: a header may hold a token).
 */
export function parseKeyValueList(
  text: string | undefined,
  options: { variable?: string; warn?: (message: string) => void } = {},
): Record<string, string> {
  const result: Record<string, string> = {};
  let skipped = 0;
  for (const entry of keyValueEntries(text)) {
    const key = decodeUriComponentSafe(entry.key);
    if (!key) {
      skipped++;
      continue;
    }
    result[key] = decodeUriComponentSafe(entry.value);
  }
  if (skipped > 0 && options.warn) {
    options.warn(
      `${options.variable ?? "a key=value list"}: ${skipped} entr${skipped === 1 ? "y is" : "ies are"} not ` +
        "key=value (comma-separated, e.g. a=1,b=2) and ignored",
    );
  }
  return result;
}

/** Resource options from OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES (`warn`: about entries it skips). */
export function resourceOptionsFromEnv(
  env: Record<string, string | undefined>,
  options: { warn?: (message: string) => void } = {},
): ResourceOptions {
  const serviceName = env.OTEL_SERVICE_NAME?.trim();
  return {
    serviceName: serviceName || undefined,
    resourceAttributes: parseKeyValueList(env.OTEL_RESOURCE_ATTRIBUTES, {
      variable: "OTEL_RESOURCE_ATTRIBUTES",
      warn: options.warn,
    }),
  };
}

// ---- OTLP/JSON

/** An OTLP/JSON `AnyValue`. */
export type OtlpAnyValue =
  | { stringValue: string }
  | { boolValue: boolean }
  | { intValue: string }
  | { doubleValue: number }
  | { arrayValue: { values: OtlpAnyValue[] } };

/** An OTLP/JSON `KeyValue`. */
export interface OtlpKeyValue {
  key: string;
  value: OtlpAnyValue;
}

/** An OTLP/JSON `Span` as pflow writes it. */
export interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  flags: number;
  name: string;
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: OtlpKeyValue[];
  status: { code: number; message?: string };
}

/** An OTLP/JSON `TracesData` (the body of an OTLP/HTTP JSON export request). */
export interface OtlpTracesData {
  resourceSpans: {
    resource: { attributes: OtlpKeyValue[] };
    scopeSpans: { scope: { name: string; version: string }; spans: OtlpSpan[] }[];
  }[];
}

/** Encodes one attribute value (`key` decides int vs double for whole numbers). */
export function otlpAnyValue(key: string, value: AttributeValue): OtlpAnyValue {
  if (typeof value === "string") return { stringValue: value };
  if (typeof value === "boolean") return { boolValue: value };
  if (typeof value === "number") {
    return !sc.DOUBLE_ATTRIBUTES.has(key) && Number.isSafeInteger(value)
      ? { intValue: String(value) }
      : { doubleValue: value };
  }
  return { arrayValue: { values: value.map((v) => ({ stringValue: String(v) })) } };
}

/** Encodes attributes as OTLP/JSON `KeyValue`s. */
export function otlpAttributes(attributes: Record<string, AttributeValue>): OtlpKeyValue[] {
  return Object.entries(attributes).map(([key, value]) => ({ key, value: otlpAnyValue(key, value) }));
}

/** Encodes one span record. */
export function otlpSpan(span: SpanRecord): OtlpSpan {
  const out: OtlpSpan = {
    traceId: span.traceId,
    spanId: span.spanId,
    flags: FLAG_SAMPLED | FLAG_HAS_IS_REMOTE | (span.parentIsRemote ? FLAG_IS_REMOTE : 0),
    name: span.name,
    kind: OTLP_SPAN_KIND[span.kind],
    startTimeUnixNano: span.startNs.toString(),
    endTimeUnixNano: (span.endNs < span.startNs ? span.startNs : span.endNs).toString(),
    attributes: otlpAttributes(span.attributes),
    status: { code: OTLP_STATUS_CODE[span.status.code] },
  };
  if (span.parentSpanId) out.parentSpanId = span.parentSpanId;
  if (span.status.code === "error" && span.status.message) out.status.message = span.status.message;
  return out;
}

/**
 * The run as an OTLP/JSON `TracesData` document: one resource (service.name
 * `options.serviceName`, else `service.name` in `options.resourceAttributes`,
 * else `pflow`), one scope (`pflow`, the trace's pflow version), the spans of
 * {@link traceSpans}. Throws when the trace has no valid ids or start time.
 */
export function traceToOtlpJson(trace: TraceDocument, options: ResourceOptions = {}): OtlpTracesData {
  return {
    resourceSpans: [{
      resource: { attributes: otlpAttributes(resourceAttributes(options)) },
      scopeSpans: [{
        scope: { name: sc.SCOPE_NAME, version: trace.pflow_version },
        spans: traceSpans(trace).map(otlpSpan),
      }],
    }],
  };
}
