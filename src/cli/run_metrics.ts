/**
 * A run's metrics exports: its gauges to a Pushgateway (`--pushgateway`,
 * PFLOW_PUSHGATEWAY_URL, settings `"pushgateway"`) and its OTLP metrics
 * (the OTEL_* variables). Decided before the run from this tiny module; the
 * export code is imported only when one is configured, after the result is
 * printed. Failures are warnings.
 * @module
 */
import { MetricsConfigError, otlpMetricsEndpoint, pushgatewayUrl } from "../metrics/config.ts";
import type { RunSummary } from "../observability/metrics.ts";
import type { LlmCallRecord } from "../observability/telemetry.ts";
import { displayUrl } from "../observability/otlp_export.ts";
import { VERSION } from "../version.ts";
import type { Settings } from "./home.ts";
import { UsageError } from "./usage_error.ts";

/** Where a run's metrics go; undefined when nowhere. */
export interface MetricsRequest {
  pushgateway: string | undefined;
  otlp: string | undefined;
  env: Record<string, string | undefined>;
  home: string;
  /** Whether the ledger is on (it knows the workflow's last success when this run failed). */
  ledger: boolean;
}

/** Reads the configuration; a bad Pushgateway URL is a usage error (exit 2). */
export function metricsRequest(options: {
  flag: string | undefined;
  env: Record<string, string | undefined>;
  settings: Settings;
  home: string;
  ledger: boolean;
  command: string;
}): MetricsRequest | undefined {
  let pushgateway: string | undefined;
  try {
    pushgateway = pushgatewayUrl({ flag: options.flag, env: options.env, settings: options.settings });
  } catch (error) {
    if (error instanceof MetricsConfigError) throw new UsageError(error.message, options.command);
    throw error;
  }
  const otlp = otlpMetricsEndpoint(options.env);
  if (pushgateway === undefined && otlp === undefined) return undefined;
  return { pushgateway, otlp, env: options.env, home: options.home, ledger: options.ledger };
}

/** What a finished run (or planning) reports. */
export interface RunOutcome {
  workflow: string;
  status: "success" | "failed" | "interrupted" | "budget_exceeded";
  /** The result's subtype (`error_missing_inputs`…), when it says more than the status. */
  subtype?: string;
  durationMs: number;
  /** When the run (the invocation, planning included) started, Unix ms. */
  startedMs: number;
  /** When the run ended (as the ledger recorded it). */
  endedMs: number;
  summary: RunSummary;
  /** Every LLM call of the run, the planner's included. */
  calls: readonly LlmCallRecord[];
}

/** One export of an ended run, run with the others at once (see `exportEndedRun`). */
export interface ExportTask {
  /** What it is, for messages: `Pushgateway push to URL`. */
  label: string;
  /** Runs it, bounded by `timeoutMs`; `signal` cuts it short without a word. Never throws. */
  run(options: { signal: AbortSignal; timeoutMs: number }): Promise<void>;
}

/** The run's metrics exports where configured (none when nowhere). */
export function metricsExports(
  request: MetricsRequest | undefined,
  outcome: RunOutcome,
  warn: (message: string) => void,
): ExportTask[] {
  if (request === undefined) return [];
  const tasks: ExportTask[] = [];
  const failed = (error: unknown) => warn(`metrics export failed: ${(error as Error).message}`);
  const gateway = request.pushgateway;
  if (gateway !== undefined) {
    tasks.push({
      label: `Pushgateway push to ${shownUrl(gateway)}`,
      run: (options) => push(request, outcome, { ...options, endedMs: outcome.endedMs, warn }).catch(failed),
    });
  }
  const url = request.otlp;
  if (url !== undefined) {
    tasks.push({
      label: `OTLP metrics export to ${shownUrl(url)}`,
      run: async ({ signal, timeoutMs }) => {
        try {
          const { exportRunMetrics } = await import("../metrics/otlp_metrics.ts");
          await exportRunMetrics(
            {
              workflow: outcome.workflow,
              status: outcome.status,
              durationMs: outcome.durationMs,
              startedMs: outcome.startedMs,
              calls: outcome.calls,
              version: VERSION,
            },
            { url, env: request.env, warn, signal, timeoutMs },
          );
        } catch (error) {
          failed(error);
        }
      },
    });
  }
  return tasks;
}

/** A URL for messages: without credentials, without a trailing slash. */
function shownUrl(url: string): string {
  return (displayUrl(url) ?? url).replace(/\/+$/, "");
}

async function push(
  request: MetricsRequest,
  outcome: RunOutcome,
  context: { endedMs: number; warn: (message: string) => void; signal: AbortSignal; timeoutMs: number },
): Promise<void> {
  const { pushRunGauges } = await import("../metrics/pushgateway.ts");
  const { summary } = outcome;
  let lastSuccessMs = outcome.status === "success" ? context.endedMs : undefined;
  if (lastSuccessMs === undefined && request.ledger) {
    const known = await lastSuccess(request.home, outcome.workflow);
    if (known instanceof Error) {
      // PUT replaces the whole group: pushed without it, the gauge of the last success would be gone.
      context.warn(
        `Pushgateway push to ${shownUrl(request.pushgateway!)} skipped: the workflow's last success could not be ` +
          `read from the ledger (${known.message.split("\n")[0]}), and the push would remove it from the group`,
      );
      return;
    }
    lastSuccessMs = known;
  }
  const u = summary.usage;
  await pushRunGauges(request.pushgateway!, {
    workflow: outcome.workflow,
    status: outcome.status,
    durationMs: outcome.durationMs,
    costUsd: summary.total_cost_usd,
    costComplete: summary.pricing.complete,
    llmCalls: summary.num_llm_calls,
    tokens: {
      input: u.input_tokens,
      cache_read: u.cache_read_input_tokens,
      cache_write: u.cache_creation_input_tokens,
      output: u.output_tokens,
      reasoning: u.reasoning_tokens,
    },
    nodeExecutions: summary.num_nodes,
    endedMs: context.endedMs,
    lastSuccessMs,
  }, { warn: context.warn, signal: context.signal, timeoutMs: context.timeoutMs });
}

/**
 * When the workflow last succeeded, from the ledger and its inbox, read without writing or waiting for another
 * process's lock (undefined when none is recorded); the error when they cannot be read.
 */
async function lastSuccess(home: string, workflow: string): Promise<number | undefined | Error> {
  try {
    const { readLastSuccessMs } = await import("../ledger/store.ts");
    return readLastSuccessMs(home, workflow);
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
}
