/**
 * The metrics sink and the run summary: the numbers of the JSON result
 * (and of trace headers), computed once from node executions and LLM calls.
 * @module
 */
import type { PriceTable } from "../pricing/table.ts";
import { roundUsd } from "../pricing/cost.ts";
import { callCostUsd, type LlmCallRecord, type NodeExecution, type TelemetrySink } from "./telemetry.ts";

/** Per-node aggregate over its executions. */
export interface NodeMetrics {
  type: string;
  executions: number;
  duration_ms: number;
  cpu_user_ms: number;
  cpu_system_ms: number;
  child_cpu_user_ms?: number;
  child_cpu_system_ms?: number;
  retries: number;
  llm_calls: number;
  cost_usd: number;
  status: "success" | "error" | "interrupted";
}

const STATUSES = ["success", "error", "interrupted"] as const;

// The sums kept per node: one row of a Float64Array per ordinal.
const COUNT = 0,
  DURATION = 1,
  CPU_USER = 2,
  CPU_SYSTEM = 3,
  CHILD_USER = 4,
  CHILD_SYSTEM = 5,
  RETRIES = 6,
  LLM_CALLS = 7,
  COST = 8,
  FIELDS = 9;

/**
 * Aggregates node executions as they end (memory stays per node, not per
 * execution). The hot path adds numbers into one typed array, a row per node
 * ordinal, and allocates nothing; {@link MetricsSink.nodes} builds the
 * per-node objects when the summary asks for them.
 */
export class MetricsSink implements TelemetrySink {
  /** Folds each execution into its node's aggregate at once: keeps none. */
  readonly keepsExecutions = false;
  /** Node executions seen. */
  executions = 0;
  // Per ordinal: id and type (set at the first execution), and the sums.
  #ids: (string | undefined)[] = [];
  #types: string[] = [];
  // Ordinals in first-execution order.
  #order: number[] = [];
  #sums: Float64Array;
  // Per ordinal: 1 + the index of the last execution's status in STATUSES; bit 4 set once child CPU was measured.
  #flags: Uint8Array;
  #nodes: Map<string, NodeMetrics> | undefined;

  /** @param options `nodes`: how many nodes the workflow has (room is made for them at once; more still fit) */
  constructor(options: { nodes?: number } = {}) {
    const capacity = Math.max(options.nodes ?? 0, 16);
    this.#sums = new Float64Array(capacity * FIELDS);
    this.#flags = new Uint8Array(capacity);
  }

  /** Folds one execution into its node's aggregate. */
  nodeEnd(exec: NodeExecution): void {
    this.executions++;
    const i = exec.ordinal;
    if (i >= this.#flags.length) this.#grow(i);
    if (this.#ids[i] === undefined) {
      this.#ids[i] = exec.node_id;
      this.#types[i] = exec.node_type;
      this.#order.push(i);
    }
    const sums = this.#sums;
    const row = i * FIELDS;
    sums[row + COUNT]++;
    sums[row + DURATION] += exec.duration_ms;
    sums[row + CPU_USER] += exec.cpu_user_ms;
    sums[row + CPU_SYSTEM] += exec.cpu_system_ms;
    let flags = this.#flags[i] & 16;
    if (exec.child_cpu_user_ms !== undefined) {
      sums[row + CHILD_USER] += exec.child_cpu_user_ms;
      sums[row + CHILD_SYSTEM] += exec.child_cpu_system_ms ?? 0;
      flags = 16;
    }
    sums[row + RETRIES] += exec.retries;
    sums[row + LLM_CALLS] += exec.llm_calls;
    sums[row + COST] += exec.cost_usd;
    this.#flags[i] = flags | (exec.status === "success" ? 1 : exec.status === "error" ? 2 : 3);
    this.#nodes = undefined;
  }

  /** Aggregates by node id, in first-execution order. */
  get nodes(): Map<string, NodeMetrics> {
    if (this.#nodes !== undefined) return this.#nodes;
    const nodes = new Map<string, NodeMetrics>();
    const sums = this.#sums;
    for (const i of this.#order) {
      const flags = this.#flags[i];
      const row = i * FIELDS;
      nodes.set(this.#ids[i]!, {
        type: this.#types[i],
        executions: sums[row + COUNT],
        duration_ms: sums[row + DURATION],
        cpu_user_ms: sums[row + CPU_USER],
        cpu_system_ms: sums[row + CPU_SYSTEM],
        ...(flags & 16
          ? { child_cpu_user_ms: sums[row + CHILD_USER], child_cpu_system_ms: sums[row + CHILD_SYSTEM] }
          : {}),
        retries: sums[row + RETRIES],
        llm_calls: sums[row + LLM_CALLS],
        cost_usd: sums[row + COST],
        status: STATUSES[(flags & 3) - 1],
      });
    }
    return this.#nodes = nodes;
  }

  #grow(ordinal: number): void {
    const capacity = Math.max(ordinal + 1, this.#flags.length * 2);
    const sums = new Float64Array(capacity * FIELDS);
    sums.set(this.#sums);
    this.#sums = sums;
    const flags = new Uint8Array(capacity);
    flags.set(this.#flags);
    this.#flags = flags;
  }
}

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
  /** Cost of the priced calls; null when the model is unpriced (not the same as free, 0). */
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
  /** Node aggregates, when the phase was instrumented. */
  metrics?: MetricsSink;
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
  const sinks = [planner?.metrics, input.metrics].filter((m): m is MetricsSink => m !== undefined);
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
    usage.input_tokens += u.input_tokens;
    usage.cache_creation_input_tokens += u.cache_write_tokens;
    usage.cache_read_input_tokens += u.cache_read_tokens;
    usage.output_tokens += u.output_tokens;
    usage.reasoning_tokens += u.reasoning_tokens;
    apiMs += u.duration_ms;
    const callCost = callCostUsd(call);
    if (callCost === null) unpriced.add(u.model);
    else cost += callCost;
    const m = modelUsage[u.model] ??= {
      inputTokens: 0,
      outputTokens: 0,
      cacheReadInputTokens: 0,
      cacheCreationInputTokens: 0,
      reasoningTokens: 0,
      costUSD: null,
      calls: 0,
    };
    m.inputTokens += u.input_tokens;
    m.outputTokens += u.output_tokens;
    m.cacheReadInputTokens += u.cache_read_tokens;
    m.cacheCreationInputTokens += u.cache_write_tokens;
    m.reasoningTokens += u.reasoning_tokens;
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
function totalBlock(all: Tally, llmCalls: number, sinks: MetricsSink[]): Record<string, unknown> {
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
