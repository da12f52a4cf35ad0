/**
 * What a run measures, decided from its flags: nothing but LLM usage by
 * default; node timings for `--output-format json`/`--metrics`; a trace
 * (file, OTLP export) for `--trace`/`--otlp-endpoint`; node logs for
 * `PFLOW_LOG_LEVEL=debug`. One RunTelemetry feeds every sink.
 * @module
 */
import { join } from "node:path";
import type { Shared } from "../engine/mod.ts";
import { newSpanId, newTraceId, parseTraceParent } from "../observability/ids.ts";
import { traceSampled } from "../observability/sampling.ts";
import { type Logger, LogSink } from "../observability/log.ts";
import type { RunSummary } from "../observability/metrics.ts";
import type { NodeTotals } from "../observability/node_totals.ts";
import { NODE_BOUNDS_MS } from "../ledger/mod.ts";
import { type Redactor, urlCredentials } from "../observability/redact.ts";
import { type RunPhase, RunTelemetry, type TelemetrySink } from "../observability/telemetry.ts";
import type { TraceDocument, TraceKind, TraceLimits, TraceStatus } from "../observability/trace_format.ts";
import { DEFAULT_TRACE_LIMITS, TraceSink } from "../observability/trace_sink.ts";
import type { PriceTable } from "../pricing/table.ts";
import type { LoadedWorkflow } from "../workflow/load.ts";
import type { RunStatus, WorkflowResult } from "../workflow/run.ts";
import { VERSION } from "../version.ts";
import type { TracedOptions } from "../observability/decorators.ts";
import { displayUrl, otlpEndpointFromEnv, untilAborted } from "../observability/otlp_export.ts";
import { timeoutSignal } from "../util/timers.ts";
import { cancelOnSignals } from "./signals.ts";
import { metricsExports, type MetricsRequest, type RunOutcome } from "./run_metrics.ts";
import { UsageError } from "./usage_error.ts";
import { hideUserinfo, isHttpUrl } from "../util/uri.ts";

/** What the flags ask for. */
export interface TelemetryRequest {
  executionId: string;
  workflowName: string;
  loaded: LoadedWorkflow;
  inputs: Record<string, unknown>;
  home: string;
  env: Record<string, string | undefined>;
  /** JSON result or --metrics. */
  metrics: boolean;
  /** --trace: write a trace file. */
  traceFile: boolean;
  /** OTLP export, when configured: the `--otlp-endpoint` URL, or undefined to use the OTEL_* variables. */
  otlp: { endpoint: string | undefined } | undefined;
  pricing: PriceTable | undefined;
  maxBudgetUsd: number | undefined;
  limits: TraceLimits | undefined;
  redactor: Redactor;
  logger: Logger;
  verbose: boolean;
  /** `@traced` declarations of each node's class, by node id. */
  nodeTraced?: Map<string, TracedOptions>;
  /** What the trace records (default `workflow`; the planner's run is `planner`). */
  kind?: TraceKind;
  /** Keep a trace in memory even without `--trace` (the planner writes it when planning fails). */
  keepTrace?: boolean;
  /** The trace id to use (a planned run's workflow shares its planner's). */
  traceId?: string;
  /** The run span's parent (a planned run's workflow: the request span), instead of TRACEPARENT's span. */
  parentSpanId?: string;
  /** Extra header fields of the trace (the request, the planner trace's file). */
  traceHeader?: Partial<Pick<TraceDocument, "request" | "planner_model" | "planner_trace" | "request_span_id">>;
  /** The phase this telemetry measures, and what earlier phases spent (budget). */
  phase?: RunPhase;
  spentUsd?: number;
  /** The run ledger's sink (writes each LLM call); with it, the run's node totals keep the ledger's duration histogram. */
  ledgerSink?: TelemetrySink;
  /** Instrument the run for the ledger: each LLM call is then attributed to its node (workflows with llm nodes). */
  instrumentForLedger?: boolean;
}

/** The assembled telemetry of one run. */
export interface RunInstruments {
  telemetry: RunTelemetry;
  /** The run's node totals, when its nodes are measured for the result (JSON, `--metrics`, traces, debug logs). */
  metrics: NodeTotals | undefined;
  trace: TraceSink | undefined;
  /** Whether the compiler must add the instrumented layer. */
  instrumented: boolean;
  /** Called with the initial store right before the first node. */
  onStart: ((shared: Shared) => void) | undefined;
}

/** Builds the telemetry the request needs (and nothing more). */
export function buildInstruments(request: TelemetryRequest): RunInstruments {
  const tracing = request.traceFile || request.otlp !== undefined || request.keepTrace === true;
  const logNodes = request.logger.enabled("debug");
  const measured = request.metrics || tracing || logNodes;
  const instrumented = measured || (request.ledgerSink !== undefined && request.instrumentForLedger === true);
  const parent = parseTraceParent(request.env.TRACEPARENT);
  // JSON logs carry trace ids too, so they join traces (and the caller's TRACEPARENT).
  const traceId = request.traceId ??
    (tracing || logNodes || request.logger.format === "json" ? parent?.traceId ?? newTraceId() : undefined);
  // Only a run that carries trace ids has a run span (traces, JSON or debug logs).
  const runSpanId = traceId !== undefined ? newSpanId() : "";
  if (traceId !== undefined) {
    request.logger.context = { ...request.logger.context, trace_id: traceId, span_id: runSpanId };
  }
  const trace = tracing
    ? new TraceSink({
      header: {
        execution_id: request.executionId,
        trace_id: traceId!,
        span_id: runSpanId,
        parent_span_id: request.parentSpanId ?? parent?.spanId ?? null,
        workflow_name: request.workflowName,
        workflow_file: request.kind === "planner" ? null : request.loaded.file,
        pflow_version: VERSION,
        inputs: request.inputs,
        ...request.traceHeader,
      },
      kind: request.kind,
      nodeParams: new Map(request.loaded.ir.nodes.map((n) => [n.id, n.params ?? {}])),
      nodeTraced: request.nodeTraced,
      // What the trace learns (values it hides by name) hides them in its own later events, not on stdout:
      // a run prints the same with or without --trace.
      redactor: request.redactor.child(),
      limits: request.limits ?? DEFAULT_TRACE_LIMITS,
      // Named when the file opens: the run's secrets (secret-named inputs and params) are known by then.
      file: request.traceFile ? () => traceFilePath(request) : undefined,
      // A streamed trace is re-read after the run only for an OTLP export.
      keepEvents: request.otlp !== undefined,
      verbose: request.verbose,
      warn: (message) => request.logger.warn(message),
    })
    : undefined;
  const sinks: TelemetrySink[] = [];
  if (trace) sinks.push(trace);
  if (logNodes) sinks.push(new LogSink(request.logger));
  if (request.ledgerSink) sinks.push(request.ledgerSink);
  const telemetry = new RunTelemetry({
    instrumented,
    sinks,
    nodes: request.loaded.ir.nodes.length,
    // The ledger keeps a histogram of the workflow's node durations.
    durationBoundsMs: request.ledgerSink !== undefined && request.phase !== "planner" ? NODE_BOUNDS_MS : undefined,
    pricing: request.pricing,
    maxBudgetUsd: request.maxBudgetUsd,
    warn: (message) => request.logger.warn(message),
    phase: request.phase,
    spentUsd: request.spentUsd,
    traceId,
    // As the OTLP export will decide it: the caller's flags (when this trace continues the caller's) and the
    // OTEL_TRACES_SAMPLER setting.
    sampled: traceId === undefined
      ? true
      : traceSampled(request.env, traceId, parent?.traceId === traceId ? parent : undefined),
    ...trace?.telemetryOptions(),
  });
  return {
    telemetry,
    metrics: measured ? telemetry.totals : undefined,
    trace,
    instrumented,
    onStart: trace ? (shared) => trace.start(shared, { startWall: telemetry.startWall }) : undefined,
  };
}

/**
 * `PFLOW_HOME/debug/{kind}-trace-{name}-{YYYYMMDD-HHMMSS}-{exec8}.json` (UTC
 * time); `kind` is `workflow` or `planner`. The name is made from the
 * redacted name and holds no secret the redactor knows now: a path is printed
 * through the redacting output, and must still name the file on disk.
 */
export function traceFilePath(
  request: { home: string; workflowName: string; executionId: string; kind?: TraceKind; redactor: Redactor },
): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15);
  const kind = request.kind ?? "workflow";
  const safe = fileSafeName(request.redactor.text(request.workflowName));
  // Joining words with '-' can spell a secret that has dashes (`ab-cd-ef`); such a name is not used.
  const name = safe !== "" && request.redactor.text(safe) === safe ? safe : kind === "planner" ? "request" : "workflow";
  return join(request.home, "debug", `${kind}-trace-${name}-${stamp}-${request.executionId.slice(0, 8)}.json`);
}

/** A name reduced to file-name characters (`[A-Za-z0-9._-]`, runs of others as one `-`), at most 60. */
export function fileSafeName(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 60);
}

const TRACE_STATUS: Record<RunStatus, TraceStatus> = {
  success: "success",
  failed: "failed",
  interrupted: "interrupted",
  budget_exceeded: "budget_exceeded",
};

/** Closes the trace: the footer goes to disk. Undefined when the run was not traced. */
export function closeTrace(
  instruments: RunInstruments,
  outcome: { result: WorkflowResult; summary: RunSummary },
): TraceDocument | undefined {
  const { result, summary } = outcome;
  return instruments.trace?.finish({
    status: TRACE_STATUS[result.status],
    error: result.error,
    durationMs: result.duration_ms,
    nodesExecuted: result.nodes_executed,
    summary,
  });
}

/** The bound on an ended run's telemetry exports, together: they run at once, each bounded by it. */
export const EXPORT_TIMEOUT_MS = 5000;

/** What an ended run exports (see {@link exportEndedRun}). */
export interface RunExports {
  /** The run's closed trace (undefined when not traced, or when only a planner trace goes). */
  trace: TraceDocument | undefined;
  /** A planned run's planner trace: exported with the workflow's under one root span for the request. */
  planner?: TraceDocument;
  request: Pick<TelemetryRequest, "otlp" | "env" | "logger">;
  metrics: MetricsRequest | undefined;
  outcome: RunOutcome;
  /** The run's exit code: what a second signal during the exports exits with. */
  exitCode: number;
}

/**
 * The exports of an ended run (OTLP trace, OTLP metrics, Pushgateway), once
 * its result is printed and its ledger row closed, so a slow collector never
 * delays either: all at once, each one request bounded by
 * {@link EXPORT_TIMEOUT_MS}. A signal meanwhile cuts them short at once, with
 * one warning; the exit code stays the run's. Failures only warn. Nothing is
 * loaded when nothing is configured.
 */
export async function exportEndedRun(exports: RunExports): Promise<void> {
  const { request } = exports;
  const warn = (message: string) => request.logger.warn(message);
  const tasks = metricsExports(exports.metrics, exports.outcome, warn);
  const trace = exports.trace ?? exports.planner;
  if (trace !== undefined && request.otlp !== undefined) {
    const url = otlpEndpointFromEnv(request.env, request.otlp.endpoint) ?? "";
    tasks.unshift({
      label: `OTLP export to ${displayUrl(url) ?? url}`,
      run: async ({ signal, timeoutMs }) => {
        try {
          const { exportTrace } = await import("../observability/otlp_export.ts");
          await exportTrace(exports.trace, {
            endpoint: request.otlp!.endpoint,
            env: request.env,
            warn,
            planner: exports.planner,
            // A planning that ended the command: the request span says how (the planning itself may have succeeded).
            ended: exports.trace === undefined && exports.planner !== undefined
              ? { status: exports.outcome.status, reason: exports.outcome.subtype ?? exports.outcome.status }
              : undefined,
            signal,
            timeoutMs,
          });
        } catch (error) {
          warn(`OTLP export failed: ${(error as Error).message}`);
        }
      },
    });
  }
  if (tasks.length === 0) return;
  const cancel = cancelOnSignals(exports.exitCode);
  const pending = new Set(tasks);
  // Each export keeps its own bound; this one only guards against an export that would not.
  const backstop = timeoutSignal(EXPORT_TIMEOUT_MS + 1000);
  try {
    const all = Promise.all(
      tasks.map((task) =>
        task.run({ signal: cancel.signal, timeoutMs: EXPORT_TIMEOUT_MS }).finally(() => pending.delete(task))
      ),
    );
    await untilAborted(all, AbortSignal.any([cancel.signal, backstop.signal]));
    const unfinished = [...pending].map((task) => task.label).join(", ");
    if (unfinished === "") return;
    if (cancel.signal.aborted) warn(`${cancel.by()}: telemetry export cut short (${unfinished})`);
    else warn(`${unfinished}: no answer within ${EXPORT_TIMEOUT_MS / 1000} s`);
  } finally {
    backstop.clear();
    cancel.remove();
  }
}

/**
 * OTLP export settings from `--otlp-endpoint` and the standard variables
 * (`OTEL_SDK_DISABLED` and `OTEL_TRACES_EXPORTER=none` turn it off); undefined
 * when export is not configured. A flag that is not an http(s) URL is a
 * usage error (as `--pushgateway`'s is); a bad variable is a warning when the
 * export would run, since telemetry set up for every run never stops one.
 */
export function otlpRequest(
  flag: string | undefined,
  env: Record<string, string | undefined>,
  options: { command: string },
) {
  if (flag !== undefined && !isHttpUrl(flag.trim())) {
    throw new UsageError(
      `--otlp-endpoint: '${hideUserinfo(flag)}' is not an http(s) URL (e.g. http://127.0.0.1:4318)`,
      options.command,
    );
  }
  return otlpEndpointFromEnv(env, flag) === undefined ? undefined : { endpoint: flag };
}

/**
 * The credentials in the userinfo of the URLs a run exports to (the OTLP traces and metrics endpoints, the
 * Pushgateway), wherever they came from (flag, settings, environment): secrets the run's redactor must know.
 */
export function exportCredentials(
  env: Record<string, string | undefined>,
  otlp: { endpoint: string | undefined } | undefined,
  metrics: MetricsRequest | undefined,
): string[] {
  const urls = [
    otlp === undefined ? undefined : otlpEndpointFromEnv(env, otlp.endpoint),
    metrics?.pushgateway,
    metrics?.otlp,
  ];
  return urls.flatMap((url) => urlCredentials(url));
}
