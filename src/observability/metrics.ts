/**
 * The run summary: the numbers of the JSON result (and of trace headers),
 * computed once from the run's node totals and LLM calls.
 * @module
 */
import type { PriceTable } from "../pricing/table.ts";
import { emptyUsageTokens } from "../llm/usage.ts";
import { roundUsd } from "../pricing/cost.ts";
import { callCostUsd, type LlmCallRecord } from "./telemetry.ts";
import type { NodeTotals } from "./node_totals.ts";

/** Token totals in the JSON result's `usage` shape. */
export interface UsageTotals {
  input_tokens: number;
  cache_creation_input_tokens: number;
  cache_read_input_tokens: number;
  output_tokens: number;
  reasoning_tokens: number;
}

/** One model's line in `modelUsage` (Claude Code's shape). */
export interface ModelUsage {
  inputTokens: number;
  outputTokens: number;
  cacheReadInputTokens: number;
  cacheCreationInputTokens: number;
  reasoningTokens: number;
  /**
   * Cost of the calls of known cost; null when none is (an unpriced model, or no call's usage reported),
   * which is not the same as free (0).
   */
  costUSD: number | null;
  calls: number;
}

/** Everything the result document says about cost and usage. */
export interface RunSummary {
  num_nodes: number;
  num_llm_calls: number;
  duration_api_ms: number;
  total_cost_usd: number;
  usage: UsageTotals;
  modelUsage: Record<string, ModelUsage>;
  pricing: {
    version: string | null;
    source: string | null;
    unpriced_models: string[];
    /** Calls whose provider reported no usage: their tokens and cost are unknown. */
    usage_missing: { node_id: string | null; model: string; request_id: string | null }[];
    complete: boolean;
  };
  /** Present when node executions were measured: per phase, and the totals over all phases. */
  metrics?: {
    workflow?: Record<string, unknown>;
    planner?: Record<string, unknown>;
    total: Record<string, unknown>;
  };
}

/** Rounds milliseconds to 2 decimals. */
export function ms2(value: number): number {
  return Math.round(value * 100) / 100;
}

/** One phase of a run (the workflow, or the planning before it): its calls and, when measured, its nodes. */
export interface PhaseInput {
  /** The phase's LLM calls. */
  calls: readonly LlmCallRecord[];
  /** Node totals, when the phase was measured. */
  metrics?: NodeTotals;
  /** Wall time of the phase. */
  durationMs: number;
  /** Node executions (used when not instrumented). */
  nodesExecuted: number;
}

/**
 * Summarizes a run from its LLM calls and (when instrumented) its node
 * metrics; with `planner`, over the planning and the workflow together
 * (`metrics.planner` adds the planner's `extra` fields). Unpriced models are
 * listed, excluded from the total, and make the total incomplete; so do calls
 * that reported no usage (`usage_missing`).
 */
export function summarizeRun(
  input: PhaseInput & {
    pricing: PriceTable | undefined;
    planner?: PhaseInput & { extra: Record<string, unknown> };
  },
): RunSummary {
  const planner = input.planner;
  const calls = planner ? [...planner.calls, ...input.calls] : input.calls;
  const all = tally(calls);
  const nodesOf = (phase: PhaseInput) => phase.metrics?.executions ?? phase.nodesExecuted;
  const summary: RunSummary = {
    num_nodes: nodesOf(input) + (planner ? nodesOf(planner) : 0),
    num_llm_calls: calls.length,
    duration_api_ms: ms2(all.apiMs),
    total_cost_usd: roundUsd(all.cost),
    usage: all.usage,
    modelUsage: all.modelUsage,
    pricing: {
      version: input.pricing?.version ?? null,
      source: input.pricing?.source ?? null,
      unpriced_models: [...all.unpriced].sort(),
      usage_missing: all.missing,
      complete: all.unpriced.size === 0 && all.missing.length === 0,
    },
  };
  if (input.metrics === undefined && planner?.metrics === undefined) return summary;
  const sinks = [planner?.metrics, input.metrics].filter((m): m is NodeTotals => m !== undefined);
  summary.metrics = {
    ...(planner?.metrics !== undefined ? { planner: { ...phaseBlock(planner), ...planner.extra } } : {}),
    ...(input.metrics !== undefined ? { workflow: phaseBlock(input) } : {}),
    total: totalBlock(all, calls.length, sinks),
  };
  return summary;
}

/** Token, cost and model totals of some calls. */
interface Tally {
  usage: UsageTotals;
  modelUsage: Record<string, ModelUsage>;
  unpriced: Set<string>;
  missing: RunSummary["pricing"]["usage_missing"];
  cost: number;
  apiMs: number;
}

/** The tokens a call whose usage is missing counts for in totals. */
const NO_TOKENS = emptyUsageTokens();

function tally(calls: readonly LlmCallRecord[]): Tally {
  const usage: UsageTotals = {
    input_tokens: 0,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: 0,
    output_tokens: 0,
    reasoning_tokens: 0,
  };
  const modelUsage: Record<string, ModelUsage> = {};
  const unpriced = new Set<string>();
  const missing: RunSummary["pricing"]["usage_missing"] = [];
  let cost = 0;
  let apiMs = 0;
  for (const call of calls) {
    const u = call.usage;
    if (u.usage_missing) missing.push({ node_id: call.node_id, model: u.model, request_id: u.request_id });
    // A call whose usage is missing has unknown tokens, as its cost: the counts it reported before it was cut
    // off (a stream's message_start) stay in its trace record; no total counts them (as the ledger stores none).
    const t = u.usage_missing ? NO_TOKENS : u;
    usage.input_tokens += t.input_tokens;
    usage.cache_creation_input_tokens += t.cache_write_tokens;
    usage.cache_read_input_tokens += t.cache_read_tokens;
    usage.output_tokens += t.output_tokens;
    usage.reasoning_tokens += t.reasoning_tokens;
    apiMs += u.duration_ms;
    const callCost = callCostUsd(call);
    if (callCost !== null) cost += callCost;
    // A call without usage has no cost whatever its price: it is listed as such, its model not as unpriced.
    else if (!u.usage_missing) unpriced.add(u.model);
    const m = modelUsage[u.model] ??= {
      inputTokens: 0,
      outputTokens: 0,
      cacheReadInputTokens: 0,
      cacheCreationInputTokens: 0,
      reasoningTokens: 0,
      costUSD: null,
      calls: 0,
    };
    m.inputTokens += t.input_tokens;
    m.outputTokens += t.output_tokens;
    m.cacheReadInputTokens += t.cache_read_tokens;
    m.cacheCreationInputTokens += t.cache_write_tokens;
    m.reasoningTokens += t.reasoning_tokens;
    if (callCost !== null) m.costUSD = roundUsd((m.costUSD ?? 0) + callCost);
    m.calls++;
  }
  return { usage, modelUsage, unpriced, missing, cost, apiMs };
}

/** All input tokens (cached included), as `tokens_input` counts them. */
function inputTokens(u: UsageTotals): number {
  return u.input_tokens + u.cache_read_input_tokens + u.cache_creation_input_tokens;
}

/** `metrics.workflow` (and `metrics.planner`): one phase's duration, nodes, cost and tokens. */
function phaseBlock(phase: PhaseInput): Record<string, unknown> {
  const t = tally(phase.calls);
  const metrics = phase.metrics!;
  const nodes: Record<string, unknown> = {};
  const timings: Record<string, number> = {};
  for (const [id, m] of metrics.nodes) {
    timings[id] = ms2(m.duration_ms);
    nodes[id] = {
      type: m.type,
      executions: m.executions,
      duration_ms: ms2(m.duration_ms),
      cpu_user_ms: ms2(m.cpu_user_ms),
      cpu_system_ms: ms2(m.cpu_system_ms),
      ...(m.child_cpu_user_ms !== undefined
        ? { child_cpu_user_ms: ms2(m.child_cpu_user_ms), child_cpu_system_ms: ms2(m.child_cpu_system_ms ?? 0) }
        : {}),
      retries: m.retries,
      llm_calls: m.llm_calls,
      cost_usd: roundUsd(m.cost_usd),
      status: m.status,
    };
  }
  const tokensInput = inputTokens(t.usage);
  return {
    duration_ms: ms2(phase.durationMs),
    nodes_executed: metrics.executions,
    cost_usd: roundUsd(t.cost),
    tokens_input: tokensInput,
    tokens_output: t.usage.output_tokens,
    tokens_total: tokensInput + t.usage.output_tokens,
    models_used: Object.keys(t.modelUsage),
    node_timings: timings,
    nodes,
  };
}

/** `metrics.total`: cost, calls, tokens and CPU over every phase. */
function totalBlock(all: Tally, llmCalls: number, sinks: NodeTotals[]): Record<string, unknown> {
  let cpuUser = 0;
  let cpuSystem = 0;
  let childUser: number | undefined;
  let childSystem: number | undefined;
  for (const sink of sinks) {
    for (const m of sink.nodes.values()) {
      cpuUser += m.cpu_user_ms;
      cpuSystem += m.cpu_system_ms;
      if (m.child_cpu_user_ms !== undefined) {
        childUser = (childUser ?? 0) + m.child_cpu_user_ms;
        childSystem = (childSystem ?? 0) + (m.child_cpu_system_ms ?? 0);
      }
    }
  }
  const u = all.usage;
  const tokensInput = inputTokens(u);
  return {
    cost_usd: roundUsd(all.cost),
    llm_calls: llmCalls,
    tokens_input: tokensInput,
    tokens_output: u.output_tokens,
    tokens_total: tokensInput + u.output_tokens,
    tokens_uncached_input: u.input_tokens,
    tokens_cache_read: u.cache_read_input_tokens,
    tokens_cache_write: u.cache_creation_input_tokens,
    tokens_reasoning: u.reasoning_tokens,
    cpu_user_ms: ms2(cpuUser),
    cpu_system_ms: ms2(cpuSystem),
    ...(childUser !== undefined ? { child_cpu_user_ms: ms2(childUser), child_cpu_system_ms: ms2(childSystem!) } : {}),
  };
}
