/**
 * The one-line text-mode summary on stderr:
 * `✓ 5 nodes · 1.23s · $0.0123 · 4,521 tokens (1,200 cached)`.
 * @module
 */
import type { RunSummary } from "../observability/metrics.ts";
import type { WorkflowResult } from "../workflow/run.ts";
import type { Style } from "./terminal.ts";
import { costKnown, formatCost, formatCount, formatDuration } from "./format.ts";

/**
 * The summary line for a finished run. A planned run names its planning
 * first (`planned`: e.g. `planned (generate, 1 call, $0.0042)`), then the
 * workflow's nodes, the whole duration and the total cost:
 * `✓ planned (generate, 1 call, $0.0042) · 4 nodes · 2.1s · $0.0123 total · 5,210 tokens`.
 */
export function summaryLine(
  result: WorkflowResult,
  summary: RunSummary,
  style: Style,
  planned?: { label: string; nodes: number; durationMs: number },
): string {
  const ok = result.status === "success";
  const mark = ok ? style.green("✓") : style.red("✗");
  const u = summary.usage;
  const tokens = u.input_tokens + u.cache_read_input_tokens + u.cache_creation_input_tokens + u.output_tokens;
  const nodes = planned ? summary.num_nodes - planned.nodes : summary.num_nodes;
  const parts = [
    ...(planned ? [planned.label] : []),
    `${nodes} node${nodes === 1 ? "" : "s"}`,
    formatDuration(result.duration_ms + (planned?.durationMs ?? 0)),
  ];
  const priced = summary.pricing.source !== null;
  if (summary.num_llm_calls > 0) {
    const cost = summaryCost(summary) + (priced && planned ? " total" : "");
    const cached = u.cache_read_input_tokens > 0 ? ` (${formatCount(u.cache_read_input_tokens)} cached)` : "";
    parts.push(cost, `${formatCount(tokens)} tokens${cached}`);
    if (!planned) parts.push(`${summary.num_llm_calls} LLM call${summary.num_llm_calls === 1 ? "" : "s"}`);
  }
  if (priced && summary.pricing.unpriced_models.length > 0) {
    parts.push(style.yellow(`unpriced: ${summary.pricing.unpriced_models.join(", ")}`));
  }
  const missing = summary.pricing.usage_missing.length;
  if (missing > 0) parts.push(style.yellow(`usage missing: ${missing} call${missing === 1 ? "" : "s"}`));
  return `${mark} ${parts.join(" · ")}`;
}

/**
 * The cost of a run's (or its planning's) calls as the summary line writes it: `$0.0123`, `$0.0123+`,
 * `unpriced`, `unknown` (see {@link formatCost}); `cost unknown` without a price table (a bad price file), not
 * $0 with every model unpriced.
 */
export function summaryCost(summary: RunSummary): string {
  if (summary.pricing.source === null) return "cost unknown";
  // No call reported its usage (the others, if any, rejected): nothing of the cost is known, not "$0+".
  const u = summary.usage;
  const tokens = u.input_tokens + u.cache_read_input_tokens + u.cache_creation_input_tokens + u.output_tokens;
  return formatCost(summary.total_cost_usd, summary.pricing.complete, {
    known: costKnown(summary.num_llm_calls, summary.pricing.usage_missing.length, tokens),
    unpriced: summary.pricing.unpriced_models.length > 0,
  });
}
