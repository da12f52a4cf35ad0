/**
 * Exports a finished (or interrupted) run's spans over OTLP/HTTP (JSON) with
 * the official OpenTelemetry JS SDK. The spans are created after the run from
 * its trace document, with the trace's own times and ids.
 *
 * The SDK is loaded only by dynamic `import()` inside {@link exportTrace}, so
 * importing this module (or calling {@link otlpEndpointFromEnv}) costs nothing
 * at start-up.
 *
 * Configuration comes from `options.env` (the standard OTEL_* variables):
 * endpoint, headers, service name, resource attributes, sampler, compression.
 * TLS files (a CA, a client certificate and key) come from the standard
 * variables too, read by {@link otlpTlsOptions}: pflow's HTTP agent replaces
 * the SDK's, which would have read them.
 * @module
 */
import type { TraceDocument } from "./trace_format.ts";
import { appendUrlPath, hideUserinfo, urlPathEndsWith } from "../util/uri.ts";
import {
  parseKeyValueList,
  requestSpans,
  resourceAttributes,
  resourceOptionsFromEnv,
  type SpanRecord,
  traceSpans,
} from "./otlp_json.ts";
import { DOUBLE_ATTRIBUTES, SCOPE_NAME } from "./semconv.ts";
import { timeoutSignal } from "../util/timers.ts";
import { networkErrorReason } from "../util/network_errors.ts";
import { otlpTlsOptions } from "./otlp_tls.ts";
import { outputRedactor, type Redactor } from "./redact.ts";
import { samplerSetting } from "./sampling.ts";

/** Environment variables, as `process.env`. */
export type Env = Record<string, string | undefined>;

/** Options of {@link exportTrace}. */
export interface ExportTraceOptions {
  /** `--otlp-endpoint`: a base URL like OTEL_EXPORTER_OTLP_ENDPOINT (`/v1/traces` is appended). */
  endpoint?: string;
  /** Where the OTEL_* variables are read. */
  env: Env;
  /** Bound on the whole export, from the call (default 5000 ms). It is one request: a failure is not retried. */
  timeoutMs?: number;
  /** Receives one line per problem (an unreachable collector gives exactly one). */
  warn: (message: string) => void;
  /** A planned run's planner trace: exported with the workflow's under one root span for the request. */
  planner?: TraceDocument;
  /** A planned request whose workflow never ran: how the command ended (see `requestSpans`). */
  ended?: { status: string; reason: string };
  /** Cuts the export short (the user's Ctrl-C): the request is dropped and nothing is said (the caller says it). */
  signal?: AbortSignal;
  /**
   * Hides secrets in every text the spans carry (default: the process's output redactor, which knows every
   * secret the run learned, those it learned after a text was recorded too).
   */
  redactor?: Redactor;
}

/** Default bound on an export. */
export const DEFAULT_EXPORT_TIMEOUT_MS = 5000;

const TRACES_PATH = "v1/traces";

/**
 * The OTLP/HTTP traces URL when export is configured, else undefined. In
 * order: `flag` (a base URL; `/v1/traces` appended unless already there),
 * OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (as is), OTEL_EXPORTER_OTLP_ENDPOINT
 * (`/v1/traces` appended). The environment's endpoints are ignored when
 * OTEL_SDK_DISABLED is `true` or OTEL_TRACES_EXPORTER is `none`; the flag
 * always counts.
 */
export function otlpEndpointFromEnv(env: Env, flag?: string): string | undefined {
  return otlpEndpointSource(env, flag)?.url;
}

/**
 * The OTLP/HTTP traces URL ({@link otlpEndpointFromEnv}) and where it comes from: the flag or variable
 * (`from`) and its value as given, for a message about a bad one.
 */
export function otlpEndpointSource(env: Env, flag?: string): { url: string; from: string; value: string } | undefined {
  const given = flag?.trim();
  if (given) {
    const url = urlPathEndsWith(given, `/${TRACES_PATH}`) ? given : appendUrlPath(given, TRACES_PATH);
    return { url, from: "--otlp-endpoint", value: given };
  }
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === "true") return undefined;
  if (env.OTEL_TRACES_EXPORTER?.trim().toLowerCase() === "none") return undefined;
  const traces = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim();
  if (traces) return { url: traces, from: "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", value: traces };
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  if (base) return { url: appendUrlPath(base, TRACES_PATH), from: "OTEL_EXPORTER_OTLP_ENDPOINT", value: base };
  return undefined;
}

/**
 * Exports the run's spans (run → node executions → LLM calls) to the
 * configured OTLP/HTTP endpoint, keeping the trace's ids (the run span's
 * parent is the caller's span from TRACEPARENT). Never throws: a bad
 * configuration, an unreachable or failing collector, or a timeout is one
 * `options.warn` line. Does nothing when no endpoint is configured or the
 * sampler drops the trace.
 */
export async function exportTrace(trace: TraceDocument | undefined, options: ExportTraceOptions): Promise<void> {
  const { env, warn } = options;
  const timeoutMs = options.timeoutMs !== undefined && options.timeoutMs > 0
    ? options.timeoutMs
    : DEFAULT_EXPORT_TIMEOUT_MS;
  const source = otlpEndpointSource(env, options.endpoint);
  if (source === undefined) return;
  const { url } = source;
  const shown = displayUrl(url);
  if (shown === undefined) {
    // The value as set, under its name: not the URL made of it (`notaurl/v1/traces`), which no one wrote.
    warn(`OTLP export skipped: ${source.from}: '${hideUserinfo(source.value)}' is not an http(s) URL`);
    return;
  }
  const cancel = options.signal;
  if (cancel?.aborted) return;
  // The bound covers the whole export (loading the SDK included), so exports started together end together.
  const timeout = timeoutSignal(timeoutMs);
  const signal = cancel ? AbortSignal.any([cancel, timeout.signal]) : timeout.signal;
  try {
    const redactor = options.redactor ?? outputRedactor();
    const redact = (text: string) => redactor.text(text);
    const records = options.planner
      ? requestSpans(options.planner, trace, { ended: options.ended, redact })
      : traceSpans(trace!, { redact });
    const outcome = await untilAborted(
      exportSpans(records, {
        url,
        shown,
        env,
        signal,
        warn: (message) => cancel?.aborted || warn(message),
        version: (options.planner ?? trace!).pflow_version,
      }),
      signal,
    );
    if (outcome === ABORTED && !cancel?.aborted) warn(`OTLP export to ${shown} timed out after ${timeoutMs} ms`);
  } catch (error) {
    if (!cancel?.aborted) warn(`OTLP export to ${shown} failed: ${describeExportError(error)}`);
  } finally {
    timeout.clear();
  }
}

/** What {@link untilAborted} returns when the signal aborted first. */
export const ABORTED: unique symbol = Symbol("aborted");

/** `work`'s value, or {@link ABORTED} as soon as `signal` aborts (the work is left to end on its own). */
export function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T | typeof ABORTED> {
  if (signal.aborted) return Promise.resolve(ABORTED);
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<typeof ABORTED>((resolve) => {
    onAbort = () => resolve(ABORTED);
    signal.addEventListener("abort", onAbort, { once: true });
  });
  return Promise.race([work, aborted]).finally(() => signal.removeEventListener("abort", onAbort!));
}

interface Resolved {
  /** pflow's version as the trace recorded it (the tracer's version). */
  version: string;
  url: string;
  shown: string;
  env: Env;
  /** Ends the request (the export's bound, or the user's Ctrl-C). */
  signal: AbortSignal;
  warn: (message: string) => void;
}

async function exportSpans(records: SpanRecord[], config: Resolved): Promise<void> {
  const { env, warn } = config;
  const variable = env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL !== undefined
    ? "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"
    : "OTEL_EXPORTER_OTLP_PROTOCOL";
  if (env[variable]?.trim() === "grpc") warn(`${variable}=grpc is not supported: sending OTLP/HTTP JSON`);

  const [api, sdk, resources, exporterBase, nodeHttp, transformer, core] = await Promise.all([
    import("@opentelemetry/api"),
    import("@opentelemetry/sdk-trace"),
    import("@opentelemetry/resources"),
    import("@opentelemetry/otlp-exporter-base"),
    import("@opentelemetry/otlp-exporter-base/node-http"),
    import("@opentelemetry/otlp-transformer"),
    import("@opentelemetry/core"),
  ]);

  // ---- the caller's sampling decision, when its TRACEPARENT is the trace's parent
  const root = records[0];
  const callerFlags = callerTraceFlags(env.TRACEPARENT, root) ?? api.TraceFlags.SAMPLED;

  // ---- provider: explicit resource, sampler and ids; spans collected in memory
  const resource = resources.defaultResource().merge(
    resources.resourceFromAttributes(resourceAttributes(resourceOptionsFromEnv(env, { warn }))),
  );
  const ids = new TraceIds(root.traceId);
  const collected = new sdk.InMemorySpanExporter();
  const provider = new sdk.TracerProvider({
    resource,
    sampler: samplerFromEnv(env, sdk, warn),
    idGenerator: ids,
    spanProcessors: [new sdk.SimpleSpanProcessor({ exporter: collected })],
    spanLimits: { attributeCountLimit: 1000 },
  });
  const tracer = provider.getTracer(SCOPE_NAME, config.version);
  const started = new Map<string, import("@opentelemetry/api").Span>();
  for (const record of records) {
    let context = api.ROOT_CONTEXT;
    if (record.parentSpanId !== undefined) {
      const parent = started.get(record.parentSpanId);
      context = parent !== undefined ? api.trace.setSpan(api.ROOT_CONTEXT, parent) : api.trace.setSpanContext(
        api.ROOT_CONTEXT,
        { traceId: record.traceId, spanId: record.parentSpanId, traceFlags: callerFlags, isRemote: true },
      );
    }
    ids.nextSpanId = record.spanId;
    const span = tracer.startSpan(record.name, {
      kind: record.kind === "client" ? api.SpanKind.CLIENT : api.SpanKind.INTERNAL,
      startTime: hrTime(record.startNs),
      attributes: record.attributes,
    }, context);
    if (record.status.code === "error") {
      span.setStatus({ code: api.SpanStatusCode.ERROR, message: record.status.message });
    } else if (record.status.code === "ok") {
      span.setStatus({ code: api.SpanStatusCode.OK });
    }
    started.set(record.spanId, span);
  }
  for (const record of [...records].reverse()) started.get(record.spanId)!.end(hrTime(record.endNs));
  await provider.forceFlush();
  const spans = collected.getFinishedSpans();
  await provider.shutdown();
  if (spans.length === 0) return; // sampled out

  // ---- one OTLP/HTTP JSON request, bounded
  const headers = {
    ...parseKeyValueList(env.OTEL_EXPORTER_OTLP_HEADERS, { variable: "OTEL_EXPORTER_OTLP_HEADERS", warn }),
    ...parseKeyValueList(env.OTEL_EXPORTER_OTLP_TRACES_HEADERS, {
      variable: "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
      warn,
    }),
  };
  const compression = (env.OTEL_EXPORTER_OTLP_TRACES_COMPRESSION ?? env.OTEL_EXPORTER_OTLP_COMPRESSION)?.trim();
  // OTLPTraceExporter, assembled from its parts as that class does, with two changes: the JSON serializer
  // keeps pflow's double attributes doubles (the SDK sends any whole number as intValue), and the transport
  // sends one request (the SDK's retries a refused connection or a 503 with back-off until its timeout).
  const options: ExporterConfig = {
    url: config.url,
    headers,
    concurrencyLimit: 1,
    httpAgentOptions: { keepAlive: false, ...otlpTlsOptions(env, { signal: "TRACES", warn }) },
    compression: (compression === "gzip" ? "gzip" : "none") as ExporterConfig["compression"],
    userAgent: `pflow/${config.version}`,
  };
  const http = nodeHttp.convertLegacyHttpOptions(options, "TRACES", TRACES_PATH, {
    "Content-Type": "application/json",
  });
  const exporter = new exporterBase.OTLPExporterBase(exporterBase.createOtlpNetworkExportDelegate(
    http,
    keepingDoubles(transformer.JsonTraceSerializer),
    nodeHttp.createOtlpHttpExporterMetrics(
      "otlp_http_span_exporter",
      transformer.TraceExporterMetricsHelper,
      http.url,
      undefined,
    ),
    oneRequestTransport(http, config.signal),
  ));
  const result = await new Promise<{ code: number; error?: Error }>((resolve) => exporter.export(spans, resolve));
  exporter.shutdown().catch(() => {});
  if (result.code !== core.ExportResultCode.SUCCESS && !config.signal.aborted) {
    warn(`OTLP export to ${config.shown} failed: ${describeExportError(result.error ?? "unknown error")}`);
  }
}

type HttpConfig = ReturnType<typeof import("@opentelemetry/otlp-exporter-base/node-http").convertLegacyHttpOptions>;
type Transport = import("@opentelemetry/otlp-exporter-base").IExporterTransport;
type ExportResponse = import("@opentelemetry/otlp-exporter-base").ExportResponse;

/** The most of a collector's answer that is read (as the SDK's transport). */
const MAX_RESPONSE_BYTES = 4 * 1024 * 1024;

/**
 * An OTLP/HTTP transport that sends each export as one request with the SDK's
 * resolved settings (URL, headers, compression, user agent, HTTP agent),
 * ended by `signal`. Unlike the SDK's, nothing is retried: a refused
 * connection or a 503 is one failure, at once. `node:http` is loaded only
 * when a request is sent.
 */
export function oneRequestTransport(config: HttpConfig, signal: AbortSignal): Transport {
  return {
    async send(data: Uint8Array): Promise<ExportResponse> {
      if (signal.aborted) return { status: "failure", error: abortError(signal) };
      const url = new URL(config.url);
      const [{ request }, zlib, agent, given] = await Promise.all([
        url.protocol === "https:" ? import("node:https") : import("node:http"),
        import("node:zlib"),
        config.agentFactory(url.protocol),
        config.headers(),
      ]);
      const { OTLPExporterError } = await import("@opentelemetry/otlp-exporter-base");
      const headers: Record<string, string> = { ...given };
      headers["User-Agent"] = [config.userAgent, "OTel-OTLP-Exporter-JavaScript"].filter(Boolean).join(" ");
      let body: Uint8Array = data;
      if (config.compression === "gzip") {
        body = zlib.gzipSync(data);
        headers["Content-Encoding"] = "gzip";
      }
      headers["Content-Length"] = String(body.byteLength);
      return await new Promise<ExportResponse>((resolve) => {
        const req = request(url, { method: "POST", headers, agent }, (res) => {
          const chunks: Uint8Array[] = [];
          let size = 0;
          res.on("data", (chunk: Uint8Array) => {
            size += chunk.byteLength;
            if (size > MAX_RESPONSE_BYTES) {
              res.destroy();
              resolve({ status: "failure", error: new Error(`the answer exceeds ${MAX_RESPONSE_BYTES} bytes`) });
              return;
            }
            chunks.push(chunk);
          });
          res.on("end", () => {
            const answer = new Uint8Array(size);
            let at = 0;
            for (const chunk of chunks) answer.set(chunk, (at += chunk.byteLength) - chunk.byteLength);
            const status = res.statusCode ?? 0;
            resolve(
              status >= 200 && status <= 299 ? { status: "success", data: answer } : {
                status: "failure",
                error: new OTLPExporterError(res.statusMessage, status, new TextDecoder().decode(answer)),
              },
            );
          });
          res.on("error", (error) => resolve({ status: "failure", error }));
        });
        const onAbort = () => {
          req.destroy();
          resolve({ status: "failure", error: abortError(signal) });
        };
        signal.addEventListener("abort", onAbort, { once: true });
        req.on("close", () => signal.removeEventListener("abort", onAbort));
        req.on("error", (error) => resolve({ status: "failure", error }));
        req.end(body);
      });
    },
    shutdown() {},
  };
}

function abortError(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error("aborted");
}

type Serializer<T> = import("@opentelemetry/otlp-transformer").ISerializer<T, unknown>;

/**
 * The SDK's OTLP/JSON serializer, with the attributes of `DOUBLE_ATTRIBUTES`
 * (costs, milliseconds) sent as `doubleValue` even when whole: the SDK
 * encodes a whole JS number as `intValue`, so a cost of 0 would change type
 * with its value and differ from `pflow trace export`.
 */
function keepingDoubles<T>(serializer: Serializer<T>): Serializer<T> {
  return {
    serializeRequest(request: T): Uint8Array | undefined {
      const bytes = serializer.serializeRequest(request);
      if (bytes === undefined) return undefined;
      const body = JSON.parse(new TextDecoder().decode(bytes)) as {
        resourceSpans?: {
          scopeSpans?: { spans?: { attributes?: { key: string; value: Record<string, unknown> }[] }[] }[];
        }[];
      };
      for (const rs of body.resourceSpans ?? []) {
        for (const ss of rs.scopeSpans ?? []) {
          for (const span of ss.spans ?? []) {
            for (const kv of span.attributes ?? []) {
              if (DOUBLE_ATTRIBUTES.has(kv.key) && "intValue" in kv.value) {
                kv.value = { doubleValue: Number(kv.value.intValue) };
              }
            }
          }
        }
      }
      return new TextEncoder().encode(JSON.stringify(body));
    },
    deserializeResponse: (data) => serializer.deserializeResponse(data),
  };
}

/** Returns the trace's ids: the trace id, and the span id set just before each `startSpan`. */
class TraceIds {
  nextSpanId = "";
  constructor(readonly traceId: string) {}
  generateTraceId(): string {
    return this.traceId;
  }
  generateSpanId(): string {
    return this.nextSpanId;
  }
}

/** Unix nanoseconds as the SDK's `[seconds, nanoseconds]`. */
function hrTime(ns: bigint): [number, number] {
  return [Number(ns / 1_000_000_000n), Number(ns % 1_000_000_000n)];
}

/**
 * The W3C trace flags of TRACEPARENT when it names this run's trace and
 * parent span (then the run was started under it), else undefined.
 */
function callerTraceFlags(traceparent: string | undefined, root: SpanRecord): number | undefined {
  const m = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/.exec(traceparent?.trim().toLowerCase() ?? "");
  if (m === null || root.parentSpanId === undefined) return undefined;
  if (m[2] !== root.traceId || m[3] !== root.parentSpanId) return undefined;
  return parseInt(m[4], 16) & 0x01;
}

type Sdk = typeof import("@opentelemetry/sdk-trace");
type ExporterConfig = import("@opentelemetry/otlp-exporter-base/node-http").OTLPExporterNodeConfigBase;
type Sampler = import("@opentelemetry/sdk-trace").Sampler;

/**
 * The sampler of OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG (default parentbased_always_on), read as
 * `traceSampled` reads them for the child processes' TRACEPARENT (sampling.ts).
 */
function samplerFromEnv(env: Env, sdk: Sdk, warn: (message: string) => void): Sampler {
  const { name, ratio } = samplerSetting(env, warn);
  switch (name) {
    case "always_on":
      return new sdk.AlwaysOnSampler();
    case "always_off":
      return new sdk.AlwaysOffSampler();
    case "traceidratio":
      return new sdk.TraceIdRatioBasedSampler(ratio);
    case "parentbased_always_off":
      return new sdk.ParentBasedSampler({ root: new sdk.AlwaysOffSampler() });
    case "parentbased_traceidratio":
      return new sdk.ParentBasedSampler({ root: new sdk.TraceIdRatioBasedSampler(ratio) });
    default:
      return new sdk.ParentBasedSampler({ root: new sdk.AlwaysOnSampler() });
  }
}

/** An http(s) URL without its credentials (for messages), or undefined for anything else. */
export function displayUrl(url: string): string | undefined {
  try {
    const parsed = new URL(url);
    if (parsed.protocol !== "http:" && parsed.protocol !== "https:") return undefined;
    parsed.username = "";
    parsed.password = "";
    return parsed.href;
  } catch {
    return undefined;
  }
}

/** One line for an export error (HTTP status when the collector answered). */
export function describeExportError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: unknown }).code;
  if (typeof code === "number") return `HTTP ${code}${error.message ? ` ${error.message}` : ""}`;
  const network = networkErrorReason(error); // a reset: in the words the Pushgateway's failure uses too
  if (network !== undefined) return network;
  const message = error.message || error.name;
  return typeof code === "string" && !message.includes(code) ? `${code} ${message}` : message;
}
