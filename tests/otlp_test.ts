import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as incubating from "@opentelemetry/semantic-conventions/incubating";
import * as sc from "../src/observability/semconv.ts";
import { otlpAnyValue, parseKeyValueList, traceSpans, traceToOtlpJson } from "../src/observability/otlp_json.ts";
import { exportTrace, otlpEndpointFromEnv } from "../src/observability/otlp_export.ts";
import { newTraceId } from "../src/observability/ids.ts";
import { ratioSampled } from "../src/observability/sampling.ts";
import {
  formatTraceFile,
  parseTraceText,
  type TraceDocument,
  type TraceEvent,
  type TraceLlmCall,
} from "../src/observability/trace_format.ts";
import { runPflow, tempDir } from "./support/cli.ts";
import {
  assertExit,
  chain,
  llm,
  MINI,
  oneJson,
  runWorkflowFile,
  SONNET,
  withLlm,
  writeSettings,
} from "./support/llm_run.ts";
import { traceEvent } from "./support/trace_docs.ts";
import {
  closedPort,
  decodeAttributes,
  type FlatSpan,
  flattenTraces,
  type OtlpReceiver,
  startOtlpReceiver,
} from "./support/otlp_receiver.ts";

/** The spans of an OTLP/JSON TracesData body with their attributes as sent (values not decoded). */
function flattenRaw(body: unknown): { name: string; attributes: { key: string; value: unknown }[] }[] {
  // deno-lint-ignore no-explicit-any
  return ((body as any)?.resourceSpans ?? []).flatMap((rs: any) =>
    // deno-lint-ignore no-explicit-any
    (rs.scopeSpans ?? []).flatMap((ss: any) => ss.spans ?? [])
  );
}

// ---------------------------------------------------------------- fixtures

const TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
const RUN_SPAN = "00f067aa0ba902b7";
const CALLER_SPAN = "a3ce929d0e0e4736";
const FETCH_SPAN = "1000000000000001";
const ASK_SPAN = "1000000000000002";
const CHAT_SPAN = "2000000000000001";
const START = "2026-03-04T05:06:07.089Z";
const START_NS = BigInt(Date.parse(START)) * 1_000_000n;

function ns(offsetMs: number): string {
  return (START_NS + BigInt(Math.round(offsetMs * 1e6))).toString();
}

function event(overrides: Partial<TraceEvent> & { node_id: string; span_id: string }): TraceEvent {
  const start = overrides.start_offset_ms ?? 0;
  return traceEvent({
    node_type: "shell",
    parent_span_id: RUN_SPAN,
    start_time: new Date(Date.parse(START) + start).toISOString(),
    phases: { prep_ms: 0.1, exec_ms: 9.8, post_ms: 0.1 },
    cpu: { user_ms: 1.5, system_ms: 0.5 },
    ...overrides,
  });
}

function llmCall(overrides: Partial<TraceLlmCall> = {}): TraceLlmCall {
  return {
    provider: "anthropic",
    model: "anthropic/claude-sonnet-4-5",
    response_model: "claude-sonnet-4-5-20250929",
    request_id: "req_01XYZ",
    item_index: null,
    system: "be brief",
    messages: [{ role: "user", content: "hi" }],
    response: "hello",
    finish_reason: "end_turn",
    usage: {
      provider: "anthropic",
      model: "anthropic/claude-sonnet-4-5",
      response_model: "claude-sonnet-4-5-20250929",
      input_tokens: 100,
      cache_read_tokens: 2000,
      cache_write_tokens: 300,
      cache_write_5m_tokens: 300,
      cache_write_1h_tokens: 0,
      output_tokens: 50,
      reasoning_tokens: 20,
      request_id: "req_01XYZ",
      response_id: "msg_01ABC",
      duration_ms: 400.25,
    },
    cost_usd: 0.0123,
    reported_cost_usd: null,
    duration_ms: 400.25,
    time_to_first_token_ms: 150,
    start_offset_ms: 21.5,
    span_id: CHAT_SPAN,
    ...overrides,
  };
}

/** A successful run: `fetch` (shell) then `ask` (llm, one call). */
function successTrace(overrides: Partial<TraceDocument> = {}): TraceDocument {
  return {
    format_version: 1,
    kind: "workflow",
    execution_id: "0d9c6a8e-1111-4222-8333-944455556666",
    trace_id: TRACE_ID,
    span_id: RUN_SPAN,
    parent_span_id: null,
    workflow_name: "summarize",
    workflow_file: "examples/summarize.json",
    pflow_version: "0.1.0",
    start_time: START,
    inputs: { url: "https://example.com" },
    initial_store: {},
    limits: { store_chars: 2000, prompt_chars: 4000, response_chars: 4000 },
    events: [
      event({ node_id: "fetch", span_id: FETCH_SPAN, start_offset_ms: 0.5, duration_ms: 20.25 }),
      event({
        node_id: "ask",
        node_type: "llm",
        span_id: ASK_SPAN,
        start_offset_ms: 21,
        duration_ms: 401.5,
        llm_calls: [llmCall()],
      }),
    ],
    end_time: "2026-03-04T05:06:07.512Z",
    duration_ms: 423.75,
    final_status: "success",
    error: null,
    nodes_executed: 2,
    nodes_failed: 0,
    ...overrides,
  };
}

/** `ask` fails after `fetch` succeeded. */
function failedTrace(): TraceDocument {
  const trace = successTrace({
    final_status: "failed",
    error: { message: "node 'ask' failed: HTTP 500 from provider", node_id: "ask", type: "NodeError" },
    nodes_failed: 1,
  });
  trace.events[1] = event({
    node_id: "ask",
    node_type: "llm",
    span_id: ASK_SPAN,
    start_offset_ms: 21,
    duration_ms: 300,
    retries: 2,
    action: null,
    success: false,
    status: "error",
    error: { type: "LlmError", message: "HTTP 500 from provider" },
  });
  return trace;
}

/** The success trace as a crashed run leaves it: no footer (parsed from disk text). */
function incompleteTrace(): TraceDocument {
  const { trace, complete } = parseTraceText(formatTraceFile(successTrace(), { complete: false }));
  assert.equal(complete, false);
  return trace;
}

function byId(spans: FlatSpan[]): Map<string, FlatSpan> {
  return new Map(spans.map((s) => [s.span.spanId, s]));
}

function jsonSpans(trace: TraceDocument, options = {}): FlatSpan[] {
  return flattenTraces(JSON.parse(JSON.stringify(traceToOtlpJson(trace, options))));
}

// ---------------------------------------------------------------- semconv

Deno.test("semconv: GenAI keys and values equal @opentelemetry/semantic-conventions/incubating", () => {
  const inc = incubating as unknown as Record<string, string>;
  const pairs: [string, string][] = [
    [sc.ATTR_GEN_AI_OPERATION_NAME, "ATTR_GEN_AI_OPERATION_NAME"],
    [sc.ATTR_GEN_AI_PROVIDER_NAME, "ATTR_GEN_AI_PROVIDER_NAME"],
    [sc.ATTR_GEN_AI_SYSTEM, "ATTR_GEN_AI_SYSTEM"],
    [sc.ATTR_GEN_AI_REQUEST_MODEL, "ATTR_GEN_AI_REQUEST_MODEL"],
    [sc.ATTR_GEN_AI_RESPONSE_MODEL, "ATTR_GEN_AI_RESPONSE_MODEL"],
    [sc.ATTR_GEN_AI_RESPONSE_ID, "ATTR_GEN_AI_RESPONSE_ID"],
    [sc.ATTR_GEN_AI_RESPONSE_FINISH_REASONS, "ATTR_GEN_AI_RESPONSE_FINISH_REASONS"],
    [sc.ATTR_GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK, "ATTR_GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK"],
    [sc.ATTR_GEN_AI_USAGE_INPUT_TOKENS, "ATTR_GEN_AI_USAGE_INPUT_TOKENS"],
    [sc.ATTR_GEN_AI_USAGE_OUTPUT_TOKENS, "ATTR_GEN_AI_USAGE_OUTPUT_TOKENS"],
    [sc.ATTR_GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS, "ATTR_GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS"],
    [sc.ATTR_GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS, "ATTR_GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS"],
    [sc.ATTR_GEN_AI_USAGE_REASONING_OUTPUT_TOKENS, "ATTR_GEN_AI_USAGE_REASONING_OUTPUT_TOKENS"],
    [sc.ATTR_GEN_AI_WORKFLOW_NAME, "ATTR_GEN_AI_WORKFLOW_NAME"],
    [sc.ATTR_ERROR_TYPE, "ATTR_ERROR_TYPE"],
    [sc.ATTR_SERVICE_NAME, "ATTR_SERVICE_NAME"],
    [sc.OP_CHAT, "GEN_AI_OPERATION_NAME_VALUE_CHAT"],
    [sc.OP_INVOKE_WORKFLOW, "GEN_AI_OPERATION_NAME_VALUE_INVOKE_WORKFLOW"],
  ];
  for (const [ours, name] of pairs) assert.equal(ours, inc[name], name);
});

Deno.test("semconv: span names", () => {
  assert.equal(sc.workflowSpanName("summarize"), "invoke_workflow summarize");
  assert.equal(sc.nodeSpanName("fetch"), "node fetch");
  assert.equal(sc.chatSpanName("gpt-4o"), "chat gpt-4o");
});

// ---------------------------------------------------------------- traceToOtlpJson

Deno.test("otlp-json: TracesData layout, ids, kinds, times and statuses follow the OTLP/JSON encoding", () => {
  const doc = traceToOtlpJson(successTrace());
  const text = JSON.stringify(doc);
  const parsed = JSON.parse(text);
  assert.equal(parsed.resourceSpans.length, 1);
  const [rs] = parsed.resourceSpans;
  assert.deepEqual(rs.resource.attributes, [{ key: "service.name", value: { stringValue: "pflow" } }]);
  assert.equal(rs.scopeSpans.length, 1);
  assert.deepEqual(rs.scopeSpans[0].scope, { name: "pflow", version: "0.1.0" });
  const spans = rs.scopeSpans[0].spans;
  assert.equal(spans.length, 4);
  for (const s of spans) {
    assert.equal(s.traceId, TRACE_ID);
    assert.match(s.spanId, /^[0-9a-f]{16}$/);
    assert.equal(typeof s.startTimeUnixNano, "string");
    assert.match(s.startTimeUnixNano, /^\d+$/);
    assert.match(s.endTimeUnixNano, /^\d+$/);
    assert.ok(BigInt(s.endTimeUnixNano) >= BigInt(s.startTimeUnixNano));
    assert.equal(typeof s.kind, "number");
    assert.equal(s.status.code, 1);
    assert.equal(s.flags, 0x101);
    for (const kv of s.attributes) {
      const keys = Object.keys(kv.value);
      assert.equal(keys.length, 1, kv.key);
      assert.ok(["stringValue", "intValue", "doubleValue", "boolValue", "arrayValue"].includes(keys[0]), kv.key);
      if ("intValue" in kv.value) assert.match(kv.value.intValue, /^-?\d+$/, kv.key);
    }
  }
  const [run, fetch, ask, chat] = spans;
  assert.deepEqual(
    spans.map((s: { spanId: string }) => s.spanId),
    [RUN_SPAN, FETCH_SPAN, ASK_SPAN, CHAT_SPAN],
  );
  assert.equal("parentSpanId" in run, false, "a run without caller is a root");
  assert.equal(fetch.parentSpanId, RUN_SPAN);
  assert.equal(ask.parentSpanId, RUN_SPAN);
  assert.equal(chat.parentSpanId, ASK_SPAN);
  assert.deepEqual(spans.map((s: { kind: number }) => s.kind), [1, 1, 1, 3]);
  // Times: the run's ISO start plus the trace's (fractional) offsets and durations, to the nanosecond.
  assert.equal(run.startTimeUnixNano, ns(0));
  assert.equal(run.endTimeUnixNano, ns(423.75));
  assert.equal(fetch.startTimeUnixNano, ns(0.5));
  assert.equal(fetch.endTimeUnixNano, ns(20.75));
  assert.equal(ask.startTimeUnixNano, ns(21));
  assert.equal(ask.endTimeUnixNano, ns(422.5));
  assert.equal(chat.startTimeUnixNano, ns(21.5));
  assert.equal(chat.endTimeUnixNano, ns(421.75));
});

Deno.test("otlp-json: attribute values are typed (intValue string, doubleValue, boolValue, arrayValue)", () => {
  assert.deepEqual(otlpAnyValue("k", "v"), { stringValue: "v" });
  assert.deepEqual(otlpAnyValue("k", true), { boolValue: true });
  assert.deepEqual(otlpAnyValue("k", 42), { intValue: "42" });
  assert.deepEqual(otlpAnyValue("k", 1.5), { doubleValue: 1.5 });
  assert.deepEqual(otlpAnyValue(sc.ATTR_PFLOW_COST_USD, 0), { doubleValue: 0 }, "costs are doubles even when whole");
  assert.deepEqual(otlpAnyValue("k", ["a", "b"]), {
    arrayValue: { values: [{ stringValue: "a" }, { stringValue: "b" }] },
  });
  const chat = traceToOtlpJson(successTrace()).resourceSpans[0].scopeSpans[0].spans[3];
  const raw = Object.fromEntries(chat.attributes.map((kv) => [kv.key, kv.value]));
  assert.deepEqual(raw[sc.ATTR_GEN_AI_USAGE_INPUT_TOKENS], { intValue: "2400" });
  assert.deepEqual(raw[sc.ATTR_PFLOW_COST_USD], { doubleValue: 0.0123 });
  assert.deepEqual(raw[sc.ATTR_GEN_AI_RESPONSE_FINISH_REASONS], {
    arrayValue: { values: [{ stringValue: "end_turn" }] },
  });
});

Deno.test("otlp-json: span names and the attributes of run, node and chat spans", () => {
  const spans = byId(jsonSpans(successTrace()));
  const run = spans.get(RUN_SPAN)!;
  assert.equal(run.span.name, "invoke_workflow summarize");
  assert.deepEqual(run.attributes, {
    "gen_ai.operation.name": "invoke_workflow",
    "gen_ai.workflow.name": "summarize",
    "pflow.workflow.name": "summarize",
    "pflow.workflow.file": "examples/summarize.json",
    "pflow.execution_id": "0d9c6a8e-1111-4222-8333-944455556666",
    "pflow.final_status": "success",
    "pflow.version": "0.1.0",
    "pflow.nodes_executed": 2,
    "pflow.nodes_failed": 0,
    "pflow.llm_calls": 1,
    "pflow.total_cost_usd": 0.0123,
    "pflow.trace.complete": true,
  });
  const fetch = spans.get(FETCH_SPAN)!;
  assert.equal(fetch.span.name, "node fetch");
  assert.deepEqual(fetch.attributes, {
    "pflow.node.id": "fetch",
    "pflow.node.type": "shell",
    "pflow.node.execution_index": 0,
    "pflow.node.status": "success",
    "pflow.node.retries": 0,
    "pflow.node.action": "default",
    "pflow.node.prep_ms": 0.1,
    "pflow.node.exec_ms": 9.8,
    "pflow.node.post_ms": 0.1,
    "pflow.node.cpu.user_ms": 1.5,
    "pflow.node.cpu.system_ms": 0.5,
  });
  assert.equal(spans.get(ASK_SPAN)!.span.name, "node ask");
  const chat = spans.get(CHAT_SPAN)!;
  assert.equal(chat.span.name, "chat claude-sonnet-4-5");
  assert.deepEqual(chat.attributes, {
    "gen_ai.operation.name": "chat",
    "gen_ai.provider.name": "anthropic",
    "gen_ai.system": "anthropic",
    "gen_ai.request.model": "claude-sonnet-4-5",
    "gen_ai.response.model": "claude-sonnet-4-5-20250929",
    "gen_ai.response.id": "msg_01ABC",
    "gen_ai.response.finish_reasons": ["end_turn"],
    "gen_ai.response.time_to_first_chunk": 0.15,
    // All input tokens: 100 uncached + 2000 cache reads + 300 cache writes.
    "gen_ai.usage.input_tokens": 2400,
    "gen_ai.usage.cache_read.input_tokens": 2000,
    "gen_ai.usage.cache_creation.input_tokens": 300,
    "gen_ai.usage.output_tokens": 50,
    "gen_ai.usage.reasoning.output_tokens": 20,
    "pflow.llm.model": "anthropic/claude-sonnet-4-5",
    "pflow.llm.request_id": "req_01XYZ",
    "pflow.cost_usd": 0.0123,
  });
  // No prompt or response text is exported.
  assert.doesNotMatch(JSON.stringify(traceToOtlpJson(successTrace())), /be brief|"hello"/);
});

Deno.test("otlp-json: a failed node and run are ERROR with their messages and error.type", () => {
  const spans = byId(jsonSpans(failedTrace()));
  const run = spans.get(RUN_SPAN)!;
  assert.deepEqual(run.span.status, { code: 2, message: "node 'ask' failed: HTTP 500 from provider" });
  assert.equal(run.attributes["error.type"], "NodeError");
  assert.equal(run.attributes["pflow.final_status"], "failed");
  assert.equal(run.attributes["pflow.nodes_failed"], 1);
  const ask = spans.get(ASK_SPAN)!;
  assert.deepEqual(ask.span.status, { code: 2, message: "HTTP 500 from provider" });
  assert.equal(ask.attributes["error.type"], "LlmError");
  assert.equal(ask.attributes["pflow.node.retries"], 2);
  assert.equal("pflow.node.action" in ask.attributes, false);
  assert.deepEqual(spans.get(FETCH_SPAN)!.span.status, { code: 1 });
  assert.equal("error.type" in spans.get(FETCH_SPAN)!.attributes, false);
});

Deno.test("otlp-json: an interrupted run is ERROR", () => {
  const trace = successTrace({ final_status: "interrupted", error: null });
  const run = byId(jsonSpans(trace)).get(RUN_SPAN)!;
  assert.deepEqual(run.span.status, { code: 2, message: "interrupted" });
  assert.equal(run.attributes["error.type"], "interrupted");
});

Deno.test("otlp-json: an incomplete trace ends the run span at the last event's end", () => {
  const trace = incompleteTrace();
  assert.equal(trace.final_status, "incomplete");
  const spans = byId(jsonSpans(trace));
  assert.equal(spans.size, 4);
  const run = spans.get(RUN_SPAN)!;
  assert.equal(run.span.startTimeUnixNano, ns(0));
  assert.equal(run.span.endTimeUnixNano, ns(422.5), "ask ends at 21 + 401.5 ms");
  assert.equal(run.span.status?.code, 2);
  assert.match(run.span.status?.message ?? "", /did not finish/);
  assert.equal(run.attributes["pflow.final_status"], "incomplete");
  assert.equal(run.attributes["pflow.trace.complete"], false);
  assert.equal(run.attributes["pflow.nodes_executed"], 2);
  assert.equal(run.attributes["pflow.total_cost_usd"], 0.0123, "summed from the calls without footer metrics");
  // Cut off before any event: a zero-length run span.
  const bare = parseTraceText(formatTraceFile(successTrace({ events: [] }), { complete: false })).trace;
  const [only] = jsonSpans(bare);
  assert.equal(only.span.startTimeUnixNano, only.span.endTimeUnixNano);
});

Deno.test("otlp-json: an incomplete trace's run span costs what its calls add up to, rounded as costs are", () => {
  const trace = incompleteTrace();
  // $0.0045 and $0.009: 0.013499999999999998 when added in binary floating point.
  trace.events[1].llm_calls = [
    llmCall({ cost_usd: 0.0045 }),
    llmCall({ cost_usd: 0.009, span_id: "2000000000000002" }),
  ];
  const run = traceSpans(trace).find((s) => s.spanId === RUN_SPAN)!;
  assert.equal(run.attributes["pflow.total_cost_usd"], 0.0135);
});

Deno.test("otlp-json: the run span's parent is the caller's span (TRACEPARENT)", () => {
  const spans = byId(jsonSpans(successTrace({ parent_span_id: CALLER_SPAN })));
  const run = spans.get(RUN_SPAN)!;
  assert.equal(run.span.parentSpanId, CALLER_SPAN);
  assert.equal(run.span.flags, 0x301, "sampled, parent known to be remote");
  assert.equal(spans.get(FETCH_SPAN)!.span.flags, 0x101);
});

Deno.test("otlp-json: resource from serviceName and resourceAttributes", () => {
  const resourceOf = (options: object) => jsonSpans(successTrace(), options)[0].resource;
  assert.deepEqual(resourceOf({}), { "service.name": "pflow" });
  assert.deepEqual(resourceOf({ serviceName: "etl", resourceAttributes: { "deployment.environment": "prod" } }), {
    "deployment.environment": "prod",
    "service.name": "etl",
  });
  assert.deepEqual(resourceOf({ resourceAttributes: { "service.name": "from-attrs" } }), {
    "service.name": "from-attrs",
  });
  assert.deepEqual(parseKeyValueList(" a=1 , b = x%20y%2Cz ,bad, =nokey,c="), { a: "1", b: "x y,z", c: "" });
  // Skipped entries are said, by count and variable, never quoted (a header may hold a token).
  const warnings: string[] = [];
  const warn = (m: string) => warnings.push(m);
  parseKeyValueList("a=1,Bearer tok-SECRET-123456,=x", { variable: "OTEL_EXPORTER_OTLP_HEADERS", warn });
  parseKeyValueList("a=1,,b=2", { variable: "OTEL_RESOURCE_ATTRIBUTES", warn });
  assert.deepEqual(warnings, [
    "OTEL_EXPORTER_OTLP_HEADERS: 2 entries are not key=value (comma-separated, e.g. a=1,b=2) and ignored",
  ]);
});

Deno.test("otlp-json: a trace without valid ids or start time is refused", () => {
  assert.throws(() => traceSpans(successTrace({ trace_id: "nothex" })), /trace_id/);
  assert.throws(() => traceSpans(successTrace({ span_id: "0000000000000000" })), /span_id/);
  assert.throws(() => traceSpans(successTrace({ start_time: "yesterday" })), /start_time/);
});

// ---------------------------------------------------------------- otlpEndpointFromEnv

Deno.test("otlpEndpointFromEnv: flag, then TRACES endpoint (as is), then the base endpoint (+ /v1/traces)", () => {
  const env = {
    OTEL_EXPORTER_OTLP_ENDPOINT: "http://base:4318",
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://traces:4318/custom",
  };
  assert.equal(otlpEndpointFromEnv({}), undefined);
  assert.equal(otlpEndpointFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: "" }), undefined);
  assert.equal(otlpEndpointFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://base:4318" }), "http://base:4318/v1/traces");
  assert.equal(otlpEndpointFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://b/otlp/" }), "http://b/otlp/v1/traces");
  assert.equal(otlpEndpointFromEnv(env), "http://traces:4318/custom");
  assert.equal(otlpEndpointFromEnv(env, "http://flag:4318"), "http://flag:4318/v1/traces");
  assert.equal(otlpEndpointFromEnv(env, "http://flag:4318/v1/traces"), "http://flag:4318/v1/traces");
  assert.equal(otlpEndpointFromEnv({ ...env, OTEL_SDK_DISABLED: "true" }), undefined);
  assert.equal(otlpEndpointFromEnv({ ...env, OTEL_TRACES_EXPORTER: "none" }), undefined);
  assert.equal(otlpEndpointFromEnv({ OTEL_SDK_DISABLED: "true" }, "http://flag"), "http://flag/v1/traces");
  // A query string stays after the path: /v1/traces goes into the path, not into the query.
  assert.equal(otlpEndpointFromEnv({}, "http://flag/x?k=1"), "http://flag/x/v1/traces?k=1");
  assert.equal(otlpEndpointFromEnv({}, "http://flag/x/?k=1&j=2"), "http://flag/x/v1/traces?k=1&j=2");
  assert.equal(otlpEndpointFromEnv({}, "http://flag/v1/traces?k=1"), "http://flag/v1/traces?k=1");
  assert.equal(
    otlpEndpointFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://b:4318?k=1" }),
    "http://b:4318/v1/traces?k=1",
  );
});

Deno.test("an endpoint with a query string: the collector and the Pushgateway get the path before it, the query kept", async () => {
  await withReceiver(async (receiver) => {
    const dir = tempDir("pflow-otlp-query-");
    try {
      const file = join(dir.path, "wf.json");
      writeFileSync(
        file,
        JSON.stringify({
          ir_version: "0.1.0",
          name: "q",
          nodes: [{ id: "a", type: "shell", params: { command: "true" } }],
        }),
      );
      const env = {
        PFLOW_HOME: dir.path,
        OTEL_EXPORTER_OTLP_ENDPOINT: `${receiver.url}/base?tenant=b`,
        OTEL_METRICS_EXPORTER: "otlp",
      };
      const args = ["run", file, "--otlp-endpoint", `${receiver.url}/x?k=1`, "--pushgateway", `${receiver.url}/pg?k=3`];
      const result = await runPflow(args, { env });
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stderr, "");
      assert.deepEqual(receiver.requests.map((r) => `${r.method} ${r.path}`).sort(), [
        "POST /base/v1/metrics?tenant=b",
        "POST /x/v1/traces?k=1",
        "PUT /pg/metrics/job/pflow/workflow@base64/cQ==?k=3",
      ]);
    } finally {
      dir.cleanup();
    }
  });
});

// ---------------------------------------------------------------- exportTrace (SDK, OTLP/HTTP)

async function withReceiver(
  fn: (receiver: OtlpReceiver) => Promise<void>,
  options: { status?: number } = {},
): Promise<void> {
  const receiver = await startOtlpReceiver(options);
  try {
    await fn(receiver);
  } finally {
    await receiver.close();
  }
}

/** Exports and returns the warnings. */
async function exportWith(trace: TraceDocument, env: Record<string, string>, extra: { endpoint?: string } = {}) {
  const warnings: string[] = [];
  await exportTrace(trace, { env, warn: (m) => warnings.push(m), timeoutMs: 3000, ...extra });
  return warnings;
}

/** Span fields that both exports must agree on (ints compared as numbers). */
function comparable(s: FlatSpan) {
  return {
    traceId: s.span.traceId,
    spanId: s.span.spanId,
    parentSpanId: s.span.parentSpanId,
    name: s.span.name,
    kind: s.span.kind,
    start: String(s.span.startTimeUnixNano),
    end: String(s.span.endTimeUnixNano),
    status: { code: s.span.status?.code ?? 0, ...(s.span.status?.message ? { message: s.span.status.message } : {}) },
    flags: s.span.flags,
    attributes: s.attributes,
  };
}

Deno.test("export: the SDK sends the run's span tree with the trace's ids, times and attributes", async () => {
  await withReceiver(async (receiver) => {
    const trace = successTrace();
    const warnings = await exportWith(trace, {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_SERVICE_NAME: "nightly-etl",
      OTEL_RESOURCE_ATTRIBUTES: "deployment.environment=prod,team=data%20eng",
      OTEL_EXPORTER_OTLP_HEADERS: "authorization=Bearer%20abc,x-tenant=one",
      OTEL_EXPORTER_OTLP_TRACES_HEADERS: "x-tenant=two",
    });
    assert.deepEqual(warnings, []);
    assert.equal(receiver.requests.length, 1);
    const [request] = receiver.requests;
    assert.equal(request.method, "POST");
    assert.equal(request.path, "/v1/traces");
    assert.match(String(request.headers["content-type"]), /application\/json/);
    assert.equal(request.headers["authorization"], "Bearer abc");
    assert.equal(request.headers["x-tenant"], "two", "TRACES_HEADERS wins over HEADERS");
    assert.match(String(request.headers["user-agent"]), /^pflow\/0\.1\.0 /);

    const spans = receiver.spans();
    assert.equal(spans.length, 4);
    const resource = spans[0].resource;
    assert.equal(resource["service.name"], "nightly-etl");
    assert.equal(resource["deployment.environment"], "prod");
    assert.equal(resource["team"], "data eng");
    assert.equal(resource["telemetry.sdk.name"], "opentelemetry");
    assert.deepEqual(spans[0].scope, { name: "pflow", version: "0.1.0" });

    const sent = byId(spans);
    assert.deepEqual([...sent.keys()].sort(), [RUN_SPAN, FETCH_SPAN, ASK_SPAN, CHAT_SPAN].sort());
    assert.equal(sent.get(RUN_SPAN)!.span.parentSpanId, undefined);
    assert.equal(sent.get(FETCH_SPAN)!.span.parentSpanId, RUN_SPAN);
    assert.equal(sent.get(ASK_SPAN)!.span.parentSpanId, RUN_SPAN);
    assert.equal(sent.get(CHAT_SPAN)!.span.parentSpanId, ASK_SPAN);
    const chat = sent.get(CHAT_SPAN)!;
    assert.equal(chat.span.name, "chat claude-sonnet-4-5");
    assert.equal(chat.span.kind, 3);
    assert.equal(chat.attributes["gen_ai.usage.input_tokens"], 2400);
    assert.equal(chat.attributes["gen_ai.usage.output_tokens"], 50);
    assert.equal(chat.attributes["gen_ai.usage.cache_read.input_tokens"], 2000);
    assert.equal(chat.attributes["gen_ai.usage.cache_creation.input_tokens"], 300);
    assert.equal(chat.attributes["gen_ai.provider.name"], "anthropic");
    assert.equal(chat.attributes["gen_ai.request.model"], "claude-sonnet-4-5");
    assert.deepEqual(chat.attributes["gen_ai.response.finish_reasons"], ["end_turn"]);
    assert.equal(chat.attributes["pflow.cost_usd"], 0.0123);
    assert.equal(chat.span.startTimeUnixNano, ns(21.5));
    assert.equal(chat.span.endTimeUnixNano, ns(421.75));

    // The SDK's spans equal the hand-written OTLP/JSON export, field for field.
    const expected = byId(jsonSpans(trace));
    for (const [id, span] of sent) assert.deepEqual(comparable(span), comparable(expected.get(id)!), id);
  });
});

Deno.test("export: failed node and run spans are ERROR with messages", async () => {
  await withReceiver(async (receiver) => {
    assert.deepEqual(await exportWith(failedTrace(), { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url }), []);
    const sent = byId(receiver.spans());
    assert.deepEqual(sent.get(RUN_SPAN)!.span.status, {
      code: 2,
      message: "node 'ask' failed: HTTP 500 from provider",
    });
    assert.deepEqual(sent.get(ASK_SPAN)!.span.status, { code: 2, message: "HTTP 500 from provider" });
    assert.equal(sent.get(ASK_SPAN)!.attributes["error.type"], "LlmError");
    assert.equal(sent.get(FETCH_SPAN)!.span.status?.code, 1);
  });
});

Deno.test("export: an incomplete trace is exported, the run ending with its last event", async () => {
  await withReceiver(async (receiver) => {
    assert.deepEqual(await exportWith(incompleteTrace(), { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url }), []);
    const run = byId(receiver.spans()).get(RUN_SPAN)!;
    assert.equal(run.span.endTimeUnixNano, ns(422.5));
    assert.equal(run.span.status?.code, 2);
    assert.equal(run.attributes["pflow.final_status"], "incomplete");
  });
});

Deno.test("export: the run span's parent is the caller's span, in the caller's trace", async () => {
  await withReceiver(async (receiver) => {
    const trace = successTrace({ parent_span_id: CALLER_SPAN });
    assert.deepEqual(await exportWith(trace, { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url }), []);
    const sent = byId(receiver.spans());
    assert.equal(sent.size, 4);
    const run = sent.get(RUN_SPAN)!;
    assert.equal(run.span.traceId, TRACE_ID);
    assert.equal(run.span.parentSpanId, CALLER_SPAN);
    assert.equal(run.span.flags, 0x301);
    for (const s of sent.values()) assert.equal(s.span.traceId, TRACE_ID);
  });
});

Deno.test("export: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT wins over OTEL_EXPORTER_OTLP_ENDPOINT and is used as is", async () => {
  await withReceiver(async (base) => {
    await withReceiver(async (traces) => {
      const warnings = await exportWith(successTrace(), {
        OTEL_EXPORTER_OTLP_ENDPOINT: base.url,
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${traces.url}/collector/traces`,
      });
      assert.deepEqual(warnings, []);
      assert.equal(base.requests.length, 0);
      assert.equal(traces.requests.length, 1);
      assert.equal(traces.requests[0].path, "/collector/traces");
    });
  });
});

Deno.test("export: the --otlp-endpoint flag wins over the environment and gets /v1/traces", async () => {
  await withReceiver(async (env) => {
    await withReceiver(async (flag) => {
      const warnings = await exportWith(successTrace(), { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: env.url }, {
        endpoint: flag.url,
      });
      assert.deepEqual(warnings, []);
      assert.equal(env.requests.length, 0);
      assert.equal(flag.requests.length, 1);
      assert.equal(flag.requests[0].path, "/v1/traces");
    });
  });
});

Deno.test("e2e: gen_ai.response.id is the completion's id from the body; the HTTP request id is pflow.llm.request_id", async () => {
  await withLlm(async (ctx) => {
    const receiver = await startOtlpReceiver();
    try {
      // The fake provider answers with body ids chatcmpl-test-N / msg_test_N and headers x-request-id /
      // request-id req_test_N; one call plain, one streamed.
      const wf = chain([
        { id: "plain", type: "llm", params: { model: MINI, prompt: "hi" } },
        { id: "streamed", type: "llm", params: { model: SONNET, prompt: "go", stream: true } },
      ], { name: "ids" });
      const result = await runWorkflowFile(ctx, wf, ["--output-format", "json", "--trace"], {
        env: { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${receiver.url}/v1/traces` },
      });
      assertExit(result, 0);
      const ids = (attributes: Record<string, unknown>) => [
        attributes["gen_ai.request.model"],
        attributes["gen_ai.response.id"],
        attributes["pflow.llm.request_id"],
      ];
      const live = receiver.spans().filter((s) => s.span.name.startsWith("chat ")).map((s) => ids(s.attributes));
      assert.equal(live.length, 2);
      for (const [model, responseId, requestId] of live) {
        assert.match(String(responseId), model === "gpt-4o-mini" ? /^chatcmpl-test-\d+$/ : /^msg_test_\d+$/);
        assert.match(String(requestId), /^req_test_\d+$/);
      }
      const exported = await runPflow(["trace", "export", oneJson(result).trace_path, "--format", "otlp-json"], {
        env: ctx.env,
      });
      assertExit(exported, 0);
      const fromFile = flattenTraces(JSON.parse(exported.stdout)).filter((s) => s.span.name.startsWith("chat "))
        .map((s) => ids(s.attributes));
      assert.deepEqual(fromFile.map(String).sort(), live.map(String).sort(), "the file export says the same");
    } finally {
      await receiver.close();
    }
  });
});

Deno.test("e2e: cost attributes are doubles in the live export as in the file export, whole values (0, 1) included", async () => {
  await withLlm(async (ctx) => {
    const receiver = await startOtlpReceiver();
    try {
      writeSettings(ctx, { providers: { local: { base_url: `${ctx.srv.url}/v1` } } });
      // Prices per million tokens: the free model costs $0, the dear one exactly $1 (1000 × $1000/M).
      writeFileSync(
        join(ctx.home, "pricing.yaml"),
        "models:\n  local/free-model: {input: 0, output: 0}\n  local/dear-model: {input: 1000, output: 0}\n",
      );
      const free = chain([llm("free", "local/free-model", { prompt_tokens: 500, completion_tokens: 50 })], {
        name: "free",
      });
      const dear = chain([llm("dear", "local/dear-model", { prompt_tokens: 1000, completion_tokens: 0 })], {
        name: "dear",
      });
      const env = { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${receiver.url}/v1/traces` };
      const costKeys = ["pflow.cost_usd", "pflow.total_cost_usd"];
      /** The raw OTLP/JSON values of the cost attributes, by span name. */
      const costValues = (body: unknown) =>
        flattenRaw(body).flatMap((span) =>
          span.attributes.filter((kv) => costKeys.includes(kv.key)).map((kv) => [span.name, kv.key, kv.value])
        ).sort((a, b) => String(a).localeCompare(String(b)));
      for (const [wf, cost] of [[free, 0], [dear, 1]] as const) {
        receiver.requests.length = 0;
        const result = await runWorkflowFile(ctx, wf, ["--output-format", "json", "--trace"], { env });
        assertExit(result, 0);
        const doc = oneJson(result);
        assert.equal(doc.total_cost_usd, cost);
        const live = costValues(receiver.requests[0].json);
        assert.equal(live.length, 2, JSON.stringify(live));
        for (const [, key, value] of live) assert.deepEqual(value, { doubleValue: cost }, `${key} is a double`);
        const exported = await runPflow(["trace", "export", doc.trace_path, "--format", "otlp-json"], { env: ctx.env });
        assertExit(exported, 0);
        assert.deepEqual(costValues(JSON.parse(exported.stdout)), live, "the file export encodes them alike");
      }
    } finally {
      await receiver.close();
    }
  });
});

Deno.test("--otlp-endpoint that is not an http(s) URL is a usage error (exit 2) in run and plan, before anything runs", async () => {
  const dir = tempDir("pflow-otlp-flag-");
  try {
    const file = join(dir.path, "wf.json");
    const marker = join(dir.path, "ran.txt");
    writeFileSync(
      file,
      JSON.stringify({
        ir_version: "0.1.0",
        nodes: [{ id: "w", type: "write-file", params: { path: marker, content: "x" } }],
      }),
    );
    for (const value of ["notaurl", "ftp://collector:4318", ""]) {
      for (const args of [["run", file], ["plan", "say hi"]]) {
        const env = { PFLOW_HOME: dir.path, ANTHROPIC_API_KEY: "sk-ant-test-not-used-0000" };
        const result = await runPflow([...args, "--otlp-endpoint", value], { env });
        assert.equal(result.code, 2, `${args[0]} ${value}: ${result.stderr}`);
        assert.match(
          result.stderr,
          new RegExp(`^error: --otlp-endpoint: '${value.replace(/[./]/g, "\\$&")}' is not an http\\(s\\) URL`, "m"),
        );
        assert.equal(result.stdout, "");
      }
    }
    assert.equal(existsSync(marker), false, "the workflow did not run");
  } finally {
    dir.cleanup();
  }
});

Deno.test("a bad OTLP endpoint variable is a warning naming the variable and its value as set, not the URL made of it", async () => {
  const dir = tempDir("pflow-otlp-variable-");
  try {
    const file = join(dir.path, "wf.json");
    writeFileSync(
      file,
      JSON.stringify({ ir_version: "0.1.0", nodes: [{ id: "e", type: "echo", params: { value: "x" } }] }),
    );
    const cases: [Record<string, string>, string[]][] = [
      [{ OTEL_EXPORTER_OTLP_ENDPOINT: "notaurl" }, [
        "warning: OTLP export skipped: OTEL_EXPORTER_OTLP_ENDPOINT: 'notaurl' is not an http(s) URL",
      ]],
      [{ OTEL_EXPORTER_OTLP_ENDPOINT: "notaurl", OTEL_METRICS_EXPORTER: "otlp" }, [
        "warning: OTLP export skipped: OTEL_EXPORTER_OTLP_ENDPOINT: 'notaurl' is not an http(s) URL",
        "warning: OTLP metrics export skipped: OTEL_EXPORTER_OTLP_ENDPOINT: 'notaurl' is not an http(s) URL",
      ]],
      [{ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "ftp://c:4318", OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: "c:4318" }, [
        "warning: OTLP export skipped: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'ftp://c:4318' is not an http(s) URL",
        "warning: OTLP metrics export skipped: OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'c:4318' is not an http(s) URL",
      ]],
    ];
    for (const [vars, expected] of cases) {
      const result = await runPflow(["run", file], { env: { PFLOW_HOME: dir.path, ...vars } });
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(result.stderr.split("\n").filter((l) => l.startsWith("warning:")).sort(), expected.sort());
    }
    // The per-signal protocol variable is the one named (a collector that is not there: the warning comes first).
    const grpc = await runPflow(["run", file], {
      env: {
        PFLOW_HOME: dir.path,
        OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:9",
        OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: "grpc",
      },
    });
    assert.match(
      grpc.stderr,
      /^warning: OTEL_EXPORTER_OTLP_TRACES_PROTOCOL=grpc is not supported: sending OTLP\/HTTP JSON$/m,
    );
  } finally {
    dir.cleanup();
  }
});

Deno.test("export: samplers (always_off, traceidratio, parentbased with the caller's flags)", async () => {
  await withReceiver(async (receiver) => {
    const env = { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url };
    assert.deepEqual(await exportWith(successTrace(), { ...env, OTEL_TRACES_SAMPLER: "always_off" }), []);
    assert.deepEqual(
      await exportWith(successTrace(), { ...env, OTEL_TRACES_SAMPLER: "traceidratio", OTEL_TRACES_SAMPLER_ARG: "0" }),
      [],
    );
    // The caller did not sample (flags 00): parent-based sampling drops the run too.
    const child = successTrace({ parent_span_id: CALLER_SPAN });
    const notSampled = `00-${TRACE_ID}-${CALLER_SPAN}-00`;
    assert.deepEqual(await exportWith(child, { ...env, TRACEPARENT: notSampled }), []);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(receiver.requests.length, 0, "nothing exported");

    assert.deepEqual(
      await exportWith(child, { ...env, TRACEPARENT: notSampled, OTEL_TRACES_SAMPLER: "always_on" }),
      [],
    );
    assert.deepEqual(
      await exportWith(successTrace(), { ...env, OTEL_TRACES_SAMPLER: "traceidratio", OTEL_TRACES_SAMPLER_ARG: "1" }),
      [],
    );
    assert.deepEqual(await exportWith(child, { ...env, TRACEPARENT: `00-${TRACE_ID}-${CALLER_SPAN}-01` }), []);
    assert.equal(receiver.requests.length, 3);
    for (const r of receiver.requests) assert.equal(flattenTraces(r.json).length, 4);
  });
});

Deno.test("ratioSampled decides as the SDK's TraceIdRatioBasedSampler, for any trace id and ratio", async () => {
  const sdk = await import("@opentelemetry/sdk-trace");
  const api = await import("@opentelemetry/api");
  const ids = [
    "00000000000000000000000000000001",
    "ffffffffffffffffffffffffffffffff",
    "7FFFFFFF000000000000000000000000",
  ];
  for (let i = 0; i < 500; i++) ids.push(newTraceId());
  for (const ratio of [0, 0.001, 0.25, 0.5, 0.9999, 1]) {
    const sampler = new sdk.TraceIdRatioBasedSampler(ratio);
    for (const id of ids) {
      const decision = sampler.shouldSample(api.ROOT_CONTEXT, id).decision;
      assert.equal(ratioSampled(id, ratio), decision === sdk.SamplingDecision.RECORD_AND_SAMPLED, `${id} at ${ratio}`);
    }
  }
});

Deno.test("export: an unknown sampler warns and exports with the default", async () => {
  await withReceiver(async (receiver) => {
    const warnings = await exportWith(successTrace(), {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_TRACES_SAMPLER: "jaeger_remote",
    });
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /OTEL_TRACES_SAMPLER='jaeger_remote'/);
    assert.equal(receiver.requests.length, 1);
  });
});

Deno.test("export: an unreachable collector is one warning, within the timeout", async () => {
  const port = await closedPort();
  const warnings: string[] = [];
  const started = performance.now();
  await exportTrace(successTrace(), {
    env: { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}` },
    timeoutMs: 1500,
    warn: (m) => warnings.push(m),
  });
  const elapsed = performance.now() - started;
  assert.ok(elapsed < 1500 + 1000, `took ${elapsed} ms`);
  assert.equal(warnings.length, 1, warnings.join("\n"));
  assert.match(
    warnings[0],
    new RegExp(`OTLP export to http://127\\.0\\.0\\.1:${port}/v1/traces failed: .*ECONNREFUSED`),
  );
});

Deno.test("export: a collector answering 400 is one warning with the status", async () => {
  await withReceiver(async (receiver) => {
    const warnings = await exportWith(successTrace(), { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url });
    assert.equal(receiver.requests.length, 1);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /failed: HTTP 400/);
  }, { status: 400 });
});

Deno.test("export: a bad endpoint URL is one warning; no endpoint does nothing", async () => {
  assert.deepEqual(await exportWith(successTrace(), {}), []);
  const warnings = await exportWith(successTrace(), { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "not a url" });
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /not an http\(s\) URL/);
  const credentials = await exportWith(successTrace(), {}, {
    endpoint: `http://user:secret@127.0.0.1:${await closedPort()}`,
  });
  assert.equal(credentials.length, 1);
  assert.doesNotMatch(credentials[0], /secret/);
});

// ---------------------------------------------------------------- pflow trace export (compiled binary)

/** A PFLOW_HOME with trace files in debug/. */
function home(files: Record<string, string>) {
  const dir = tempDir("pflow-otlp-");
  const debug = join(dir.path, "debug");
  mkdirSync(debug, { recursive: true });
  for (const [name, text] of Object.entries(files)) writeFileSync(join(debug, name), text);
  return { ...dir, debug };
}

const NEWER = "workflow-trace-summarize-20260304-050607-0d9c6a8e.json";
const OLDER = "workflow-trace-other-20260101-000000-11111111.json";

function roundTrip(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value));
}

Deno.test("cli: trace export PATH --format otlp-json prints the OTLP/JSON document", async () => {
  const h = home({ [NEWER]: formatTraceFile(successTrace()) });
  try {
    const result = await runPflow(["trace", "export", join(h.debug, NEWER), "--format", "otlp-json"], {
      env: { PFLOW_HOME: h.path },
    });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr, "");
    assert.equal(result.stdout.trimEnd().split("\n").length, 1, "one line");
    assert.deepEqual(JSON.parse(result.stdout), roundTrip(traceToOtlpJson(successTrace())));
  } finally {
    h.cleanup();
  }
});

Deno.test("cli: trace export latest -o FILE writes the newest trace atomically; OTEL_SERVICE_NAME is honoured", async () => {
  const other = successTrace({ workflow_name: "other", trace_id: "1".repeat(32) });
  const h = home({ [OLDER]: formatTraceFile(other), [NEWER]: formatTraceFile(failedTrace()) });
  try {
    const out = join(h.path, "out", "trace.otlp.json");
    mkdirSync(join(h.path, "out"));
    const result = await runPflow(["trace", "export", "latest", "--format=otlp-json", "-o", out], {
      env: { PFLOW_HOME: h.path, OTEL_SERVICE_NAME: "etl", OTEL_RESOURCE_ATTRIBUTES: "env=ci" },
    });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, "");
    assert.ok(existsSync(out));
    const doc = JSON.parse(readFileSync(out, "utf8")) as ReturnType<typeof traceToOtlpJson>;
    assert.deepEqual(
      doc,
      roundTrip(traceToOtlpJson(failedTrace(), { serviceName: "etl", resourceAttributes: { env: "ci" } })),
    );
    assert.deepEqual(decodeAttributes(doc.resourceSpans[0].resource.attributes), { env: "ci", "service.name": "etl" });
  } finally {
    h.cleanup();
  }
});

Deno.test("cli: trace export of a crashed run's file (no footer)", async () => {
  const h = home({ [NEWER]: formatTraceFile(successTrace(), { complete: false }) });
  try {
    const result = await runPflow(["trace", "export", "latest", "--format", "otlp-json"], {
      env: { PFLOW_HOME: h.path },
    });
    assert.equal(result.code, 0, result.stderr);
    const run = byId(flattenTraces(JSON.parse(result.stdout))).get(RUN_SPAN)!;
    assert.equal(run.attributes["pflow.final_status"], "incomplete");
    assert.equal(run.span.endTimeUnixNano, ns(422.5));
  } finally {
    h.cleanup();
  }
});

Deno.test("cli: trace export bad inputs exit 2 with one line", async () => {
  const h = home({ "workflow-trace-bad-20260304-050607-aaaaaaaa.json": "this is not json" });
  const empty = tempDir("pflow-otlp-empty-");
  try {
    const bad = join(h.debug, "workflow-trace-bad-20260304-050607-aaaaaaaa.json");
    const cases: [string[], RegExp, string?][] = [
      [
        ["trace", "export", join(h.path, "missing.json"), "--format", "otlp-json"],
        /trace file not found: .*missing\.json/,
      ],
      [["trace", "export", bad, "--format", "otlp-json"], /workflow-trace-bad-.*: not a pflow trace/],
      [["trace", "export", h.debug, "--format", "otlp-json"], /debug: is a directory, not a trace file/],
      [["trace", "export", bad], /--format is required/],
      [["trace", "export", bad, "--format", "zipkin"], /unknown export format 'zipkin': use otlp-json/],
      [["trace", "export", "latest", "--format", "otlp-json"], /no traces in .*debug/, empty.path],
    ];
    for (const [args, pattern, pflowHome] of cases) {
      const result = await runPflow(args, { env: { PFLOW_HOME: pflowHome ?? h.path } });
      assert.equal(result.code, 2, `${args.join(" ")}: ${result.stderr}`);
      assert.equal(result.stdout, "");
      const lines = result.stderr.trimEnd().split("\n");
      assert.equal(lines.length, 1, result.stderr);
      assert.match(lines[0], /^error: /);
      assert.match(lines[0], pattern);
    }
    // Usage errors (no trace given, unknown flag) are exit 2 too.
    for (const args of [["trace", "export"], ["trace", "export", bad, "--format", "otlp-json", "--bogus"]]) {
      const result = await runPflow(args, { env: { PFLOW_HOME: h.path } });
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, /^error: /);
    }
  } finally {
    h.cleanup();
    empty.cleanup();
  }
});
