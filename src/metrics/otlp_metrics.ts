/**
 * OTLP metrics of one run, with the official SDK (`@opentelemetry/sdk-metrics`
 * and `@opentelemetry/exporter-metrics-otlp-http`), loaded only when
 * OTEL_EXPORTER_OTLP_METRICS_ENDPOINT (or OTEL_EXPORTER_OTLP_ENDPOINT with
 * OTEL_METRICS_EXPORTER=otlp) is set: the GenAI semantic-convention metrics
 * `gen_ai.client.token.usage` and `gen_ai.client.operation.duration` per LLM
 * call, `pflow.workflow.duration` and `pflow.llm.cost` (USD). A CLI process
 * is one collection interval, so temporality is delta unless
 * OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE says otherwise. The
 * resource is the span export's (service name, OTEL_RESOURCE_ATTRIBUTES).
 * One request, bounded, never retried; a failure is one warning.
 * @module
 */
import {
  parseKeyValueList,
  resourceAttributes,
  resourceOptionsFromEnv,
  usageReported,
} from "../observability/otlp_json.ts";
import {
  ABORTED,
  describeExportError,
  displayUrl,
  oneRequestTransport,
  untilAborted,
} from "../observability/otlp_export.ts";
import { timeoutSignal } from "../util/timers.ts";
import { hideUserinfo } from "../util/uri.ts";
import { otlpMetricsSource } from "./config.ts";
import {
  ATTR_GEN_AI_OPERATION_NAME,
  ATTR_GEN_AI_PROVIDER_NAME,
  ATTR_GEN_AI_REQUEST_MODEL,
  ATTR_GEN_AI_RESPONSE_MODEL,
  OP_CHAT,
  SCOPE_NAME,
} from "../observability/semconv.ts";
import type { LlmCallRecord } from "../observability/telemetry.ts";
import { callCostUsd } from "../observability/telemetry.ts";
import { roundUsd } from "../pricing/cost.ts";
import { BUCKETS } from "../ledger/schema.ts";
import { modelLabels } from "./collect.ts";
import { otlpTlsOptions } from "../observability/otlp_tls.ts";

/** Metric names and attribute keys (GenAI semantic conventions, and pflow's own). */
export const OTLP_METRICS = {
  tokenUsage: "gen_ai.client.token.usage",
  operationDuration: "gen_ai.client.operation.duration",
  workflowDuration: "pflow.workflow.duration",
  llmCost: "pflow.llm.cost",
  tokenType: "gen_ai.token.type",
  errorType: "error.type",
  workflowName: "pflow.workflow.name",
  runStatus: "pflow.run.status",
  phase: "pflow.phase",
} as const;

/** The advised bucket boundaries of `gen_ai.client.token.usage`. */
export const TOKEN_BUCKETS = [
  1,
  4,
  16,
  64,
  256,
  1024,
  4096,
  16384,
  65536,
  262144,
  1048576,
  4194304,
  16777216,
  67108864,
];

/** What one run contributes. */
export interface RunMetricsInput {
  workflow: string;
  status: string;
  durationMs: number;
  /** When it started, Unix ms: the start time of every data point. */
  startedMs: number;
  /** Its LLM calls (planner and workflow). */
  calls: readonly LlmCallRecord[];
  version: string;
}

/**
 * Exports a run's metrics when OTLP metrics are configured, as one request
 * bounded by `timeoutMs` from the call (a failure is not retried); never
 * throws. `signal` cuts it short without a word (the caller says it).
 */
export async function exportRunMetrics(
  run: RunMetricsInput,
  options: {
    url: string;
    env: Record<string, string | undefined>;
    warn: (message: string) => void;
    timeoutMs?: number;
    signal?: AbortSignal;
  },
): Promise<void> {
  const cancel = options.signal;
  const warn = (message: string) => cancel?.aborted || options.warn(message);
  const timeoutMs = options.timeoutMs ?? 5000;
  const shown = displayUrl(options.url);
  if (shown === undefined) {
    // The variable and its value as set, not the URL made of it (`notaurl/v1/metrics`).
    const source = otlpMetricsSource(options.env);
    const bad = source?.url === options.url
      ? `${source.from}: '${hideUserinfo(source.value)}'`
      : `'${hideUserinfo(options.url)}'`;
    warn(`OTLP metrics export skipped: ${bad} is not an http(s) URL`);
    return;
  }
  if (cancel?.aborted) return;
  // The bound covers the whole export (loading the SDK included), so exports started together end together.
  const timeout = timeoutSignal(timeoutMs);
  const signal = cancel ? AbortSignal.any([cancel, timeout.signal]) : timeout.signal;
  try {
    const outcome = await untilAborted(flush(run, { ...options, warn, signal }), signal);
    if (outcome === ABORTED) warn(`OTLP metrics export to ${shown} timed out after ${timeoutMs} ms`);
    else if (outcome !== undefined) warn(`OTLP metrics export to ${shown} failed: ${outcome}`);
  } catch (error) {
    warn(`OTLP metrics export to ${shown} failed: ${describeExportError(error)}`);
  } finally {
    timeout.clear();
  }
}

/** Records the run's measurements and sends them in one request; returns why it failed, if it did. */
async function flush(
  run: RunMetricsInput,
  options: {
    url: string;
    env: Record<string, string | undefined>;
    warn: (message: string) => void;
    signal: AbortSignal;
  },
): Promise<string | undefined> {
  const { env, warn } = options;
  const [sdk, exporters, exporterBase, nodeHttp, transformer, resources] = await Promise.all([
    import("@opentelemetry/sdk-metrics"),
    import("@opentelemetry/exporter-metrics-otlp-http"),
    import("@opentelemetry/otlp-exporter-base"),
    import("@opentelemetry/otlp-exporter-base/node-http"),
    import("@opentelemetry/otlp-transformer"),
    import("@opentelemetry/resources"),
  ]);
  const preference = temporality(env.OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE, warn);
  const compression = (env.OTEL_EXPORTER_OTLP_METRICS_COMPRESSION ?? env.OTEL_EXPORTER_OTLP_COMPRESSION)?.trim();
  // OTLPMetricExporter, assembled from its parts as that class does, but sending one request: the SDK's
  // transport retries a refused connection or a 503 with back-off until its timeout.
  const http = nodeHttp.convertLegacyHttpOptions(
    {
      url: options.url,
      headers: {
        ...parseKeyValueList(env.OTEL_EXPORTER_OTLP_HEADERS, { variable: "OTEL_EXPORTER_OTLP_HEADERS", warn }),
        ...parseKeyValueList(env.OTEL_EXPORTER_OTLP_METRICS_HEADERS, {
          variable: "OTEL_EXPORTER_OTLP_METRICS_HEADERS",
          warn,
        }),
      },
      httpAgentOptions: { keepAlive: false, ...otlpTlsOptions(env, { signal: "METRICS", warn }) },
      compression: (compression === "gzip" ? "gzip" : "none") as never,
    },
    "METRICS",
    "v1/metrics",
    { "Content-Type": "application/json" },
  );
  const exporter = new exporters.OTLPMetricExporterBase(
    exporterBase.createOtlpNetworkExportDelegate(
      http,
      transformer.JsonMetricsSerializer,
      nodeHttp.createOtlpHttpExporterMetrics(
        "otlp_http_metric_exporter",
        transformer.MetricsExporterMetricsHelper,
        http.url,
        undefined,
      ),
      oneRequestTransport(http, options.signal),
    ),
    { temporalityPreference: exporters.AggregationTemporalityPreference[preference] },
  );
  let failure: string | undefined;
  const reader = new sdk.PeriodicExportingMetricReader({
    exporter: {
      export: (metrics, done) =>
        exporter.export(startingAt(metrics, run.startedMs), (result) => {
          if (result.code !== 0) failure = describeExportError(result.error ?? "unknown error");
          done(result);
        }),
      forceFlush: () => exporter.forceFlush(),
      shutdown: () => exporter.shutdown(),
      selectAggregationTemporality: (kind) => exporter.selectAggregationTemporality(kind),
    },
    exportIntervalMillis: 2 ** 31 - 1, // one export: the flush at the end
    exportTimeoutMillis: 2 ** 31 - 1, // bounded by the signal
  });
  const provider = new sdk.MeterProvider({
    resource: resources.defaultResource().merge(
      resources.resourceFromAttributes(resourceAttributes(resourceOptionsFromEnv(env, { warn }))),
    ),
    readers: [reader],
  });
  record(provider.getMeter(SCOPE_NAME, run.version), run);
  try {
    await provider.forceFlush();
  } finally {
    provider.shutdown().catch(() => {});
  }
  return failure;
}

type Meter = import("@opentelemetry/api").Meter;
type ResourceMetrics = import("@opentelemetry/sdk-metrics").ResourceMetrics;

/**
 * The metrics with every data point starting at the run's start. The
 * measurements are recorded after the run (the SDK is loaded only then), and
 * the SDK starts a point at its first measurement, so its points would span
 * no time at all; the run is the interval they cover (delta), and the start
 * of this process's cumulative stream (cumulative).
 */
function startingAt(metrics: ResourceMetrics, startedMs: number): ResourceMetrics {
  const startTime: [number, number] = [Math.floor(startedMs / 1000), Math.round((startedMs % 1000) * 1e6)];
  if (startTime[1] >= 1e9) [startTime[0], startTime[1]] = [startTime[0] + 1, startTime[1] - 1e9];
  return {
    ...metrics,
    scopeMetrics: metrics.scopeMetrics.map((scope) => ({
      ...scope,
      metrics: scope.metrics.map((metric) => ({
        ...metric,
        dataPoints: metric.dataPoints.map((point) => ({ ...point, startTime })),
      } as typeof metric)),
    })),
  };
}

/** Records the run's measurements on `meter`. */
function record(meter: Meter, run: RunMetricsInput): void {
  const tokens = meter.createHistogram(OTLP_METRICS.tokenUsage, {
    description: "Number of input and output tokens used.",
    unit: "{token}",
    advice: { explicitBucketBoundaries: TOKEN_BUCKETS },
  });
  const duration = meter.createHistogram(OTLP_METRICS.operationDuration, {
    description: "GenAI operation duration.",
    unit: "s",
    advice: { explicitBucketBoundaries: [...BUCKETS.llm] },
  });
  const cost = meter.createCounter(OTLP_METRICS.llmCost, {
    description: "Cost of priced LLM calls in US dollars (USD).",
    unit: "USD",
  });
  const workflow = meter.createHistogram(OTLP_METRICS.workflowDuration, {
    description: "Wall time of the workflow run.",
    unit: "s",
    advice: { explicitBucketBoundaries: [...BUCKETS.run] },
  });
  const costs = new Map<string, { attributes: Record<string, string>; usd: number }>();
  for (const call of run.calls) {
    const u = call.usage;
    const { provider, model } = modelLabels(u.model);
    const attributes: Record<string, string> = {
      [ATTR_GEN_AI_OPERATION_NAME]: OP_CHAT,
      [ATTR_GEN_AI_PROVIDER_NAME]: provider,
      [ATTR_GEN_AI_REQUEST_MODEL]: model,
      [OTLP_METRICS.workflowName]: run.workflow,
      [OTLP_METRICS.phase]: call.phase ?? "workflow",
    };
    if (u.response_model) attributes[ATTR_GEN_AI_RESPONSE_MODEL] = u.response_model;
    // Unknown usage (none reported, or a failed attempt without any) is no measurement: 0 would skew the histogram.
    if (usageReported(call)) {
      // The semconv's input tokens are all input: uncached, cache reads and cache writes.
      tokens.record(u.input_tokens + u.cache_read_tokens + u.cache_write_tokens, {
        ...attributes,
        [OTLP_METRICS.tokenType]: "input",
      });
      tokens.record(u.output_tokens, { ...attributes, [OTLP_METRICS.tokenType]: "output" });
    }
    const failed = call.status === "error";
    duration.record(
      u.duration_ms / 1000,
      failed ? { ...attributes, [OTLP_METRICS.errorType]: call.error?.type ?? "_OTHER" } : attributes,
    );
    const spent = callCostUsd(call);
    if (spent !== null) {
      const key = JSON.stringify(attributes);
      const sum = costs.get(key) ?? { attributes, usd: 0 };
      sum.usd += spent;
      costs.set(key, sum);
    }
  }
  // The calls' costs are added per attribute set here, and rounded as every cost is reported (0.0135, not the
  // 0.013499999999999998 that adding them in the SDK gives): one run is one collection, so the point is the same.
  for (const { attributes, usd } of costs.values()) cost.add(roundUsd(usd), attributes);
  workflow.record(run.durationMs / 1000, {
    [OTLP_METRICS.workflowName]: run.workflow,
    [OTLP_METRICS.runStatus]: run.status,
  });
}

/** OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE (default delta: one process is one interval). */
function temporality(text: string | undefined, warn: (message: string) => void): "DELTA" | "CUMULATIVE" | "LOWMEMORY" {
  const value = text?.trim().toLowerCase();
  if (!value || value === "delta") return "DELTA";
  if (value === "cumulative") return "CUMULATIVE";
  if (value === "lowmemory") return "LOWMEMORY";
  warn(
    `OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE='${text}' is not delta, cumulative or lowmemory: using delta`,
  );
  return "DELTA";
}
