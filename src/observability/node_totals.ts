/**
 * Per-node sums of a run's executions: what the JSON result's `metrics`
 * and the run ledger's node statistics are made of. An instrumented run's
 * telemetry adds each execution as it ends, in the same call that reads its
 * clocks: a few numbers added into typed arrays, a row per node ordinal, no
 * sink to dispatch to and no allocation per execution. Measured side by
 * side, the same sums kept by two sinks (the metrics and the ledger's) cost
 * ~0.5 µs per node more on a machine whose caches the clock's system call
 * has just cooled (`bench/overhead_bench.ts`).
 * @module
 */
import type { NodeExecution } from "./telemetry.ts";

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

/** How long the executions of one node type that ended one way took, as a histogram. */
export interface NodeDurationStat {
  /** Node type. */
  type: string;
  /** How they ended. */
  status: NodeMetrics["status"];
  /** Executions (all timed). */
  executions: number;
  /** Their summed wall time. */
  durationMsSum: number;
  /** Executions per bucket of the bounds given to {@link NodeTotals} (not cumulative; beyond the last: none). */
  buckets: number[];
}

/** Options of {@link NodeTotals}. */
export interface NodeTotalsOptions {
  /** How many nodes the workflow has (room is made for them at once; more still fit). */
  nodes?: number;
  /** Upper bounds (ms, ascending) of a duration histogram per node type and status (the run ledger's). */
  durationBoundsMs?: readonly number[];
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

/** Sums node executions by node ordinal (and durations by type and status); see the module doc. */
export class NodeTotals {
  /** Node executions added. */
  executions = 0;
  #sums: Float64Array;
  // Per ordinal, two ints: [1 + the last execution's status index, bit 4 once child CPU was measured;
  // the index of its type in #typeNames]. Set at its first execution, with its id.
  #marks: Int32Array;
  #ids: (string | undefined)[];
  readonly #typeNames: string[] = [];
  // Ordinals in first-execution order.
  #order: Int32Array;
  #ordered = 0;
  // Duration histogram: per (type index, status), [executions, duration sum, one count per bound].
  readonly #bounds: Float64Array | undefined;
  readonly #histogramRow: number;
  #histogram: Float64Array;
  #nodes: Map<string, NodeMetrics> | undefined;
  #nodesAt = -1;

  /** @param options room for nodes, and the histogram's bounds */
  constructor(options: NodeTotalsOptions = {}) {
    const capacity = Math.max(options.nodes ?? 0, 16);
    this.#sums = new Float64Array(capacity * FIELDS);
    this.#marks = new Int32Array(capacity * 2);
    this.#ids = new Array(capacity);
    this.#order = new Int32Array(capacity);
    this.#bounds = options.durationBoundsMs ? Float64Array.from(options.durationBoundsMs) : undefined;
    this.#histogramRow = 2 + (this.#bounds?.length ?? 0);
    this.#histogram = new Float64Array(this.#bounds ? 4 * STATUSES.length * this.#histogramRow : 0);
  }

  /** Adds one ended execution (its figures final). */
  add(exec: NodeExecution): void {
    this.executions++;
    const i = exec.ordinal;
    if (i >= this.#order.length) this.#grow(i);
    const sums = this.#sums;
    const row = i * FIELDS;
    if (sums[row + COUNT]++ === 0) this.#first(i, exec);
    const duration = exec.duration_ms;
    sums[row + DURATION] += duration;
    sums[row + CPU_USER] += exec.cpu_user_ms;
    sums[row + CPU_SYSTEM] += exec.cpu_system_ms;
    const marks = this.#marks;
    let flags = marks[2 * i] & 16;
    if (exec.child_cpu_user_ms !== undefined) {
      sums[row + CHILD_USER] += exec.child_cpu_user_ms;
      sums[row + CHILD_SYSTEM] += exec.child_cpu_system_ms ?? 0;
      flags = 16;
    }
    sums[row + RETRIES] += exec.retries;
    sums[row + LLM_CALLS] += exec.llm_calls;
    sums[row + COST] += exec.cost_usd;
    const status = exec.status === "success" ? 0 : exec.status === "error" ? 1 : 2;
    marks[2 * i] = flags | (status + 1);
    const bounds = this.#bounds;
    if (bounds === undefined) return;
    const at = (marks[2 * i + 1] * STATUSES.length + status) * this.#histogramRow;
    const histogram = this.#histogram;
    histogram[at]++;
    histogram[at + 1] += duration;
    let bucket = 0;
    while (bucket < bounds.length && duration > bounds[bucket]) bucket++;
    if (bucket < bounds.length) histogram[at + 2 + bucket]++;
  }

  /**
   * The run failed at the node at `ordinal` without an execution of it failing (the loop guard refused
   * one more): its status becomes `error`, its executions stay those that ran.
   */
  markFailed(ordinal: number): void {
    if (this.executionsOf(ordinal) === 0) return;
    this.#marks[2 * ordinal] = (this.#marks[2 * ordinal] & 16) | 2;
    this.#nodes = undefined;
  }

  /** How many executions of the node at `ordinal` were added. */
  executionsOf(ordinal: number): number {
    return ordinal < this.#order.length ? this.#sums[ordinal * FIELDS + COUNT] : 0;
  }

  /** Aggregates by node id, in first-execution order. */
  get nodes(): Map<string, NodeMetrics> {
    if (this.#nodes !== undefined && this.#nodesAt === this.executions) return this.#nodes;
    const nodes = new Map<string, NodeMetrics>();
    const sums = this.#sums;
    for (let k = 0; k < this.#ordered; k++) {
      const i = this.#order[k];
      const flags = this.#marks[2 * i];
      const row = i * FIELDS;
      nodes.set(this.#ids[i]!, {
        type: this.#typeNames[this.#marks[2 * i + 1]],
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
    this.#nodesAt = this.executions;
    return this.#nodes = nodes;
  }

  /** The duration histogram by node type and status (empty without `durationBoundsMs`). */
  durationStats(): NodeDurationStat[] {
    const stats: NodeDurationStat[] = [];
    if (this.#bounds === undefined) return stats;
    const width = this.#histogramRow;
    this.#typeNames.forEach((type, t) => {
      STATUSES.forEach((status, s) => {
        const at = (t * STATUSES.length + s) * width;
        const executions = this.#histogram[at];
        if (executions === 0) return;
        const buckets = Array.from(this.#histogram.subarray(at + 2, at + width));
        stats.push({ type, status, executions, durationMsSum: this.#histogram[at + 1], buckets });
      });
    });
    return stats;
  }

  /** Notes a node's id and type at its first execution. */
  #first(i: number, exec: NodeExecution): void {
    this.#order[this.#ordered++] = i;
    this.#ids[i] = exec.node_id;
    let t = this.#typeNames.indexOf(exec.node_type);
    if (t < 0) {
      t = this.#typeNames.push(exec.node_type) - 1;
      const needed = (t + 1) * STATUSES.length * this.#histogramRow;
      if (this.#bounds !== undefined && needed > this.#histogram.length) {
        const grown = new Float64Array(Math.max(needed, this.#histogram.length * 2));
        grown.set(this.#histogram);
        this.#histogram = grown;
      }
    }
    this.#marks[2 * i + 1] = t;
  }

  #grow(ordinal: number): void {
    const capacity = Math.max(ordinal + 1, this.#order.length * 2);
    const sums = new Float64Array(capacity * FIELDS);
    sums.set(this.#sums);
    this.#sums = sums;
    const marks = new Int32Array(capacity * 2);
    marks.set(this.#marks);
    this.#marks = marks;
    const order = new Int32Array(capacity);
    order.set(this.#order);
    this.#order = order;
    this.#ids.length = capacity;
  }
}
