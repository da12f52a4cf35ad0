/**
 * `--pushgateway URL`: at the end of a run, its gauges go to a Prometheus
 * Pushgateway under the grouping key `job="pflow", workflow="<name>"` with
 * PUT, so the group holds the last run (Prometheus's guidance for batch
 * jobs). The workflow name travels base64url-encoded in the path
 * (`workflow@base64/…`), so any name works. Bounded by a timeout; a failed
 * push is one warning. Loaded only when a Pushgateway is configured.
 * @module
 */
import { displayUrl } from "../observability/otlp_export.ts";
import { readBodyStart } from "../util/body_start.ts";
import { networkErrorReason } from "../util/network_errors.ts";
import { timeoutSignal } from "../util/timers.ts";
import { appendUrlPath } from "../util/uri.ts";
import { type MetricFamily, renderExposition } from "./exposition.ts";

/** The push timeout. */
export const PUSH_TIMEOUT_MS = 5000;

/** What a run pushes. */
export interface RunGauges {
  workflow: string;
  status: string;
  durationMs: number;
  costUsd: number;
  /** False when some call was unpriced. */
  costComplete: boolean;
  llmCalls: number;
  tokens: { input: number; cache_read: number; cache_write: number; output: number; reasoning: number };
  nodeExecutions: number;
  endedMs: number;
  /** When the workflow last succeeded (this run, or an earlier one from the ledger), if known. */
  lastSuccessMs: number | undefined;
}

/** The grouping-key URL of a workflow's group. */
export function groupUrl(base: string, workflow: string): string {
  const encoded = workflow === "" ? "=" : btoa(String.fromCharCode(...new TextEncoder().encode(workflow)))
    .replace(/\+/g, "-").replace(/\//g, "_");
  return appendUrlPath(base, `metrics/job/pflow/workflow@base64/${encoded}`);
}

/** The gauge families of one run. */
export function runFamilies(run: RunGauges): MetricFamily[] {
  const gauge = (name: string, help: string, value: number, unit?: string): MetricFamily => ({
    name,
    help,
    unit,
    type: "gauge",
    series: [{ labels: {}, value }],
  });
  const families: MetricFamily[] = [
    gauge(
      "pflow_run_duration_seconds",
      "Wall time of the workflow's last run, in seconds.",
      run.durationMs / 1000,
      "seconds",
    ),
    gauge(
      "pflow_run_cost_dollars",
      "Cost of the last run's priced LLM calls, in US dollars (USD).",
      run.costUsd,
      "dollars",
    ),
    gauge(
      "pflow_run_cost_complete",
      "1 when every LLM call of the last run was priced, else 0.",
      run.costComplete ? 1 : 0,
    ),
    gauge("pflow_run_llm_calls", "LLM calls of the last run.", run.llmCalls),
    {
      name: "pflow_run_llm_tokens",
      help: "LLM tokens of the last run by type: input (uncached), cache_read, cache_write, output, reasoning.",
      type: "gauge",
      series: (Object.keys(run.tokens) as (keyof RunGauges["tokens"])[]).map((type) => ({
        labels: { type },
        value: run.tokens[type],
      })),
    },
    gauge("pflow_run_node_executions", "Node executions of the last run.", run.nodeExecutions),
    {
      name: "pflow_run_status",
      help: "How the last run ended: 1 for its status (success, failed, interrupted, budget_exceeded).",
      type: "gauge",
      series: [{ labels: { status: run.status }, value: 1 }],
    },
    gauge("pflow_run_success", "1 when the last run succeeded, else 0.", run.status === "success" ? 1 : 0),
    gauge("pflow_run_end_timestamp_seconds", "When the last run ended, Unix seconds.", run.endedMs / 1000, "seconds"),
  ];
  if (run.lastSuccessMs !== undefined) {
    families.push(gauge(
      "pflow_workflow_last_success_timestamp_seconds",
      "When the workflow last succeeded, Unix seconds.",
      run.lastSuccessMs / 1000,
      "seconds",
    ));
  }
  return families;
}

/**
 * Pushes a run's gauges (PUT): one request bounded by `timeoutMs`; any
 * failure is one `warn` line. `signal` cuts it short without a word (the
 * caller says it).
 */
export async function pushRunGauges(
  base: string,
  run: RunGauges,
  options: { warn: (message: string) => void; timeoutMs?: number; signal?: AbortSignal },
): Promise<void> {
  const url = groupUrl(base, run.workflow);
  const shown = (displayUrl(base) ?? base).replace(/\/+$/, "");
  const timeoutMs = options.timeoutMs ?? PUSH_TIMEOUT_MS;
  const cancel = options.signal;
  if (cancel?.aborted) return;
  const timeout = timeoutSignal(timeoutMs);
  try {
    const response = await fetch(url, {
      method: "PUT",
      headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" },
      body: renderExposition(runFamilies(run), "prometheus"),
      signal: cancel ? AbortSignal.any([cancel, timeout.signal]) : timeout.signal,
    });
    if (!response.ok) {
      // At most 4 KiB of it: an endless error page is neither held in memory nor waited for.
      const text = (await readBodyStart(response)).trim().split("\n")[0].slice(0, 200);
      options.warn(`Pushgateway push to ${shown} failed: HTTP ${response.status}${text ? `: ${text}` : ""}`);
    } else {
      await response.body?.cancel();
    }
  } catch (error) {
    if (cancel?.aborted) return;
    const reason = timeout.signal.aborted
      ? `no answer within ${timeoutMs / 1000} s`
      : networkErrorReason(error) ?? String((error as Error)?.message ?? error).split("\n")[0];
    options.warn(`Pushgateway push to ${shown} failed: ${reason}`);
  } finally {
    timeout.clear();
  }
}
