/**
 * The one instrumentation layer's event hub for a run. It keeps what every
 * run keeps (each LLM call's usage, for cost), and when the run is
 * instrumented it times node executions and hands each event to the sinks
 * (metrics here; trace files and exporters attach the same way).
 * @module
 */
import { FatalError } from "../engine/mod.ts";
import type { LlmFailedAttempt, LlmResponse, LlmUsage } from "../llm/types.ts";
import { type CallCost, priceCall, roundUsd } from "../pricing/cost.ts";
import type { PriceTable } from "../pricing/table.ts";
import { formatUsd } from "../pricing/money.ts";
import { type CpuReading, readChildrenCpu, readCpu } from "./cpu.ts";
import { ACTIVE, scopes, type TelemetryScope } from "./scope.ts";
import { armPhaseMarks } from "./decorators.ts";
import { newSpanId } from "./ids.ts";
import { NodeTotals } from "./node_totals.ts";
import type { Shared } from "../engine/mod.ts";

/** Wall-clock milliseconds of each phase of one node execution, and the process CPU time while it ran. */
export interface PhaseTimes {
  prep: number;
  exec: number;
  post: number;
  /** CPU (user + system) ms while each phase ran. */
  cpu: { prep: number; exec: number; post: number };
}

/** One execution of one node (a node in a loop has several). */
export interface NodeExecution {
  /** Node id. */
  node_id: string;
  /** Node type. */
  node_type: string;
  /** The node's position in the workflow (dense; sinks index tables by it). */
  ordinal: number;
  /** 0-based count of earlier executions of this node in the run. */
  index: number;
  /** Start, ms after the run started. */
  start_ms: number;
  /** Wall time, ms. */
  duration_ms: number;
  /** CPU time of pflow itself, ms. */
  cpu_user_ms: number;
  /** CPU time of pflow itself, ms. */
  cpu_system_ms: number;
  /** CPU time of child processes (shell nodes, where the runtime exposes it), ms. */
  child_cpu_user_ms?: number;
  /** CPU time of child processes, ms. */
  child_cpu_system_ms?: number;
  /** Wall time per phase (summed over retries and batch items), from `@timed`. */
  phases: PhaseTimes;
  /** The action returned, or null when it threw. */
  action: string | null;
  /** How it ended. */
  status: "success" | "error" | "interrupted";
  /**
   * The error, when it threw or returned `error` (`ErrorAction` with the reason, or what it threw before
   * its `error` edge turned that into the action).
   */
  error?: { type: string; message: string; stack?: string };
  /** W3C span id (16 hex) when the run carries trace ids. */
  span_id?: string;
  /** Retries of `exec`. */
  retries: number;
  /** LLM calls made. */
  llm_calls: number;
  /** Their cost (priced calls; provider-reported cost preferred). */
  cost_usd: number;
  /** Start readings: wall clock (ms) and CPU (µs); internal. */
  startWall: number;
  /** Start CPU reading; internal. */
  startCpu: CpuReading;
  /** Children's CPU at the start, when measured; internal. */
  startChildCpu?: CpuReading;
}

/** Which part of a run made a call: planning it, or the workflow. */
export type RunPhase = "planner" | "workflow";

/** One LLM call (or one failed attempt of it) as every run keeps it. */
export interface LlmCallRecord extends CallCost {
  /** The run's phase that made it. */
  phase: RunPhase;
  /** `ok` for a reply, `error` for a failed attempt or a reply that was not the structured output asked for. */
  status: "ok" | "error";
  /** What failed, when `status` is `error`. */
  error?: { type: string; message: string };
  /** HTTP status of a failed attempt (null: network error, timeout, broken stream). */
  http_status?: number | null;
  /** Node that made it (instrumented runs), else null. */
  node_id: string | null;
  /** Execution index of that node, or null. */
  node_execution: number | null;
  /** Batch item index, or null. */
  item_index: number | null;
  /** Normalized usage. */
  usage: LlmUsage;
  /** What was sent (kept for traces). */
  request?: LlmResponse["request"];
  /** The response text (kept for traces). */
  response?: string;
  /** Thinking text the provider returned (kept for traces). */
  thinking?: string;
  /** The parsed structured output, when one was asked for (kept for traces). */
  object?: unknown;
  /** Why generation stopped. */
  finish_reason?: string;
  /** Time to first token when streaming. */
  time_to_first_token_ms?: number;
  /** Start, ms after the run started. */
  start_ms: number;
}

/** What the instrumented layer knows of its node. */
export interface NodeInfo {
  /** Node id. */
  id: string;
  /** Node type. */
  type: string;
  /** Position in the workflow. */
  ordinal: number;
  /** Also measure child processes' CPU (the class is `@timed({ childCpu: true })`). */
  childCpu?: boolean;
  /** Why the node returned the `error` action, from the store it ran with (its `error` output, exit code…). */
  describeError?: (shared: Shared) => string;
}

/** What a sink hears. Every method is optional. */
export interface TelemetrySink {
  /**
   * `false` when the sink reads a node execution only inside its calls and
   * keeps no reference to it after `nodeEnd`: if every sink says so, a run
   * reuses the record of an ended execution instead of allocating one per
   * execution.
   */
  readonly keepsExecutions?: boolean;
  /** A node execution began. */
  nodeStart?(exec: NodeExecution): void;
  /** A node execution ended (its figures are final). */
  nodeEnd?(exec: NodeExecution): void;
  /** An LLM call finished. */
  llmCall?(call: LlmCallRecord): void;
}

/** Phase times of a run that does not time phases (shared, never written). */
const NO_PHASES: PhaseTimes = Object.freeze({
  prep: 0,
  exec: 0,
  post: 0,
  cpu: Object.freeze({ prep: 0, exec: 0, post: 0 }),
});

/** No LLM call may start: the run's budget is spent. */
export class BudgetExceededError extends FatalError {
  /** @param message what was spent against which budget */
  constructor(message: string) {
    super(message);
    this.name = "BudgetExceededError";
  }
}

/** Options of {@link RunTelemetry}. */
export interface RunTelemetryOptions {
  /** Time node executions and feed sinks (metrics, traces). */
  instrumented?: boolean;
  /**
   * Also time each node's prep/exec/post (`@timed`); for traces. Metrics
   * report whole-node timings and leave this off, as it costs clock reads.
   */
  phases?: boolean;
  /** Sinks to feed. */
  sinks?: TelemetrySink[];
  /** How many nodes the workflow has: room for their {@link RunTelemetry.totals} is made at once. */
  nodes?: number;
  /** Upper bounds (ms) of the totals' duration histogram by node type and status (the run ledger's). */
  durationBoundsMs?: readonly number[];
  /** Prices, when known before the run (needed for a budget). */
  pricing?: PriceTable;
  /** Stop starting LLM calls once this much is spent. */
  maxBudgetUsd?: number;
  /** Warning sink. */
  warn?: (message: string) => void;
  /** The phase this telemetry measures (default `workflow`); each call record carries it. */
  phase?: RunPhase;
  /** USD already spent by an earlier phase of the same invocation (counts against the budget). */
  spentUsd?: number;
  /** W3C trace id: node executions get span ids and child processes a TRACEPARENT. */
  traceId?: string;
  /** Whether the trace is sampled (default true): the flag of the child processes' TRACEPARENT. */
  sampled?: boolean;
  /** Gives each node execution the store view it runs with (traces record mutations through it). */
  storeView?: (exec: NodeExecution, shared: Shared) => Shared;
  /**
   * Hears what each templated param of a node execution resolved to: each
   * `${…}` and the whole value (per batch item when `item` is set).
   */
  onTemplate?: (
    exec: NodeExecution,
    item: number | undefined,
    param: string,
    refs: { template: string; value: unknown }[],
    value: unknown,
  ) => void;
}

/** The telemetry of one run. */
export class RunTelemetry {
  /** Whether node executions are timed. */
  readonly instrumented: boolean;
  /** Whether node phases are timed. */
  readonly phases: boolean;
  /** Sinks fed with events. */
  readonly sinks: TelemetrySink[];
  /** Per-node sums of the executions, when instrumented (added as each ends, before the sinks hear it). */
  readonly totals: NodeTotals | undefined;
  /** Every LLM call, in completion order (always kept). */
  readonly llmCalls: LlmCallRecord[] = [];
  /** `performance.now()` when the run started (set by {@link RunTelemetry.begin}). */
  startWall: number;
  /** Prices used for running cost (budget); may be set later for reporting. */
  pricing: PriceTable | undefined;
  /** Budget in USD, if any. */
  readonly maxBudgetUsd: number | undefined;
  /** The phase this telemetry measures. */
  readonly phase: RunPhase;
  /** W3C trace id, when the run carries trace ids. */
  readonly traceId: string | undefined;
  /** Whether the trace is sampled (see {@link RunTelemetryOptions.sampled}). */
  readonly sampled: boolean;
  /** See {@link RunTelemetryOptions.storeView}. */
  readonly storeView: RunTelemetryOptions["storeView"];
  /** See {@link RunTelemetryOptions.onTemplate}. */
  readonly onTemplate: RunTelemetryOptions["onTemplate"];
  /** USD spent so far (priced calls). */
  spentUsd = 0;
  /** Set when the budget stopped the run. */
  budgetStop = false;
  /** USD spent when the budget first stopped a call (calls already in flight may add to it). */
  budgetReachedUsd: number | undefined;
  /** The run's scope (node field updated as nodes run). */
  readonly scope: TelemetryScope;
  // The previous node's end readings, reused as the next node's start.
  #lastWall = -1;
  #lastCpu: CpuReading | undefined;
  readonly #warn: (message: string) => void;
  readonly #warnedUnpriced = new Set<string>();
  readonly #warnedUncounted = new Set<string>();
  // Only the sinks that listen, so the per-node loops do no work for the rest.
  readonly #startSinks: TelemetrySink[];
  readonly #endSinks: TelemetrySink[];
  // Whether the record of an ended execution may be reused by the next one: no sink keeps
  // records (TelemetrySink.keepsExecutions). A sequential flow needs one record in all: the spare.
  readonly #reuse: boolean;
  #spare: NodeExecution | undefined;

  /** @param options what to measure and where to send it */
  constructor(options: RunTelemetryOptions = {}) {
    this.instrumented = options.instrumented ?? false;
    this.phases = this.instrumented && (options.phases ?? false);
    this.sinks = options.sinks ?? [];
    this.totals = this.instrumented
      ? new NodeTotals({ nodes: options.nodes, durationBoundsMs: options.durationBoundsMs })
      : undefined;
    this.#startSinks = this.sinks.filter((sink) => sink.nodeStart);
    this.#endSinks = this.sinks.filter((sink) => sink.nodeEnd);
    this.#reuse = this.sinks.every((sink) => sink.keepsExecutions === false);
    this.pricing = options.pricing;
    this.maxBudgetUsd = options.maxBudgetUsd;
    this.phase = options.phase ?? "workflow";
    this.spentUsd = options.spentUsd ?? 0;
    this.traceId = options.traceId;
    this.sampled = options.sampled ?? true;
    this.storeView = options.storeView;
    this.onTemplate = options.onTemplate;
    this.#warn = options.warn ?? (() => {});
    this.scope = { telemetry: this, node: undefined, item: undefined, phase: "prep", mark: 0 };
    this.startWall = performance.now();
  }

  /**
   * Marks the start of the run's execution: every offset (nodes, LLM calls)
   * counts from here, as the run's `duration_ms` does.
   */
  begin(startWall: number = performance.now()): void {
    this.startWall = startWall;
    if (this.instrumented) {
      this.#lastWall = startWall;
      this.#lastCpu = readCpu();
    }
  }

  /**
   * The work since {@link begin} (writing a trace's header with the initial
   * store) belongs to no node: the first node's timing starts now, not at
   * the run's start. Offsets still count from the run's start.
   */
  skipToNow(): void {
    if (this.instrumented && this.#lastCpu !== undefined) {
      this.#lastWall = performance.now();
      this.#lastCpu = readCpu();
    }
  }

  /**
   * Runs `fn` as this run: LLM calls inside are attributed to it. `carried`
   * (when its nodes call models, or phases are timed) carries the run's scope
   * through async context, so that concurrent calls and batch items each
   * keep theirs; otherwise the run's scope is the ambient one, which costs
   * nothing per promise.
   */
  async run<T>(fn: () => Promise<T>, options: { carried?: boolean } = {}): Promise<T> {
    ACTIVE.runs++;
    if (this.phases) {
      armPhaseMarks();
      ACTIVE.phased++;
    }
    if (this.instrumented) ACTIVE.instrumented++;
    try {
      return await (options.carried ?? true ? scopes.run(this.scope, fn) : scopes.runAmbient(this.scope, fn));
    } finally {
      ACTIVE.runs--;
      if (this.phases) ACTIVE.phased--;
      if (this.instrumented) ACTIVE.instrumented--;
    }
  }

  /** Runs `fn` as batch item `index` of the current node execution (its own phase marks). */
  runItem<T>(index: number, fn: () => Promise<T>): Promise<T> {
    const parent = scopes.getStore() ?? this.scope;
    const mark = performance.now();
    const markCpu = this.phases ? readCpu() : undefined;
    const scope: TelemetryScope = { telemetry: this, node: parent.node, item: index, phase: "prep", mark, markCpu };
    // The item's phases count for the node; the node's own running phase pauses meanwhile, so a sequential
    // batch's phases add up to its duration rather than twice it.
    const paused = this.phases && parent.node !== undefined && parent.node === scope.node;
    if (paused) this.#restartPhase(parent, mark, markCpu);
    return scopes.run(scope, async () => {
      try {
        return await fn();
      } finally {
        const now = performance.now();
        const cpu = this.phases ? readCpu() : undefined;
        this.#closePhase(scope, now, cpu);
        if (paused) {
          parent.mark = now;
          parent.markCpu = cpu;
        }
      }
    });
  }

  /** Adds the time since the last mark to the running phase of `scope`, and marks `now`. */
  #restartPhase(scope: TelemetryScope, now: number, cpu: CpuReading | undefined): void {
    this.#closePhase(scope, now, cpu);
    scope.mark = now;
    scope.markCpu = cpu;
  }

  /**
   * Marks the start of `phase` in the current context: the time since the
   * last mark goes to the phase that was running. One clock read per phase
   * boundary, and no wrapping of the phase's promise.
   */
  enterPhase(scope: TelemetryScope, phase: "prep" | "exec" | "post"): void {
    this.#restartPhase(scope, performance.now(), readCpu());
    scope.phase = phase;
  }

  /** Adds the wall and CPU time since the last mark to the running phase. */
  #closePhase(scope: TelemetryScope, now: number, cpu: CpuReading | undefined): void {
    const node = scope.node;
    if (node === undefined || !this.phases) return;
    node.phases[scope.phase] += now - scope.mark;
    if (cpu !== undefined && scope.markCpu !== undefined) {
      node.phases.cpu[scope.phase] += (cpu.user - scope.markCpu.user + cpu.system - scope.markCpu.system) / 1000;
    }
  }

  /** Counts a retry of the running node's `exec`, or `count` retries of one of its calls (in `scope`). */
  onRetry(scope?: TelemetryScope, count = 1): void {
    const node = (scope ?? scopes.getStore() ?? this.scope).node;
    if (node) node.retries += count;
  }

  /**
   * Starts timing a node execution. In a sequential flow the previous node's
   * end readings serve as this node's start, so each node costs one CPU read
   * (and, when no sink keeps executions, no allocation: the record of an
   * ended execution is reset and reused).
   */
  beginNode(info: NodeInfo): NodeExecution {
    const ordinal = info.ordinal;
    // Executions of a node in a walk never overlap: the ones before this have all ended.
    const index = this.totals!.executionsOf(ordinal);
    let wall = this.#lastWall;
    let cpu = this.#lastCpu;
    if (cpu === undefined) {
      wall = performance.now();
      cpu = readCpu();
    }
    this.#lastCpu = undefined;
    const startChildCpu = info.childCpu ? readChildrenCpu() : undefined;
    const reused = this.#spare;
    this.#spare = undefined;
    // Two branches on purpose: one shared block of assignments after `?? blankRecord` measured
    // ~0.03 µs/node slower in metrics mode on Deno (bench/overhead_bench.ts, four alternations).
    let exec: NodeExecution;
    if (reused !== undefined) {
      exec = reused;
      exec.node_id = info.id;
      exec.node_type = info.type;
      exec.ordinal = ordinal;
      exec.index = index;
      exec.start_ms = wall - this.startWall;
      exec.duration_ms = 0;
      exec.cpu_user_ms = 0;
      exec.cpu_system_ms = 0;
      exec.child_cpu_user_ms = undefined;
      exec.child_cpu_system_ms = undefined;
      exec.action = null;
      exec.status = "success";
      exec.error = undefined;
      exec.retries = 0;
      exec.llm_calls = 0;
      exec.cost_usd = 0;
      exec.startWall = wall;
      exec.startCpu = cpu;
      exec.startChildCpu = startChildCpu;
      if (this.phases) {
        const phases = exec.phases;
        phases.prep = phases.exec = phases.post = 0;
        phases.cpu.prep = phases.cpu.exec = phases.cpu.post = 0;
      }
    } else {
      exec = {
        node_id: info.id,
        node_type: info.type,
        ordinal,
        index,
        start_ms: wall - this.startWall,
        duration_ms: 0,
        cpu_user_ms: 0,
        cpu_system_ms: 0,
        child_cpu_user_ms: undefined,
        child_cpu_system_ms: undefined,
        phases: this.phases ? { prep: 0, exec: 0, post: 0, cpu: { prep: 0, exec: 0, post: 0 } } : NO_PHASES,
        action: null,
        status: "success",
        error: undefined,
        span_id: undefined,
        retries: 0,
        llm_calls: 0,
        cost_usd: 0,
        startWall: wall,
        startCpu: cpu,
        startChildCpu,
      };
    }
    if (this.traceId !== undefined) exec.span_id = newSpanId();
    const scope = this.scope;
    scope.node = exec;
    if (this.phases) {
      scope.phase = "prep";
      scope.mark = wall;
      scope.markCpu = cpu;
    }
    const sinks = this.#startSinks;
    for (let i = 0; i < sinks.length; i++) sinks[i].nodeStart!(exec);
    return exec;
  }

  /** Ends a node execution with its action or error and hands it to the sinks. */
  endNode(exec: NodeExecution, action: string | undefined, error?: unknown): void {
    const wall = performance.now();
    const cpu = readCpu();
    this.#lastWall = wall;
    this.#lastCpu = cpu;
    if (this.phases) this.#closePhase(this.scope, wall, cpu);
    exec.duration_ms = wall - exec.startWall;
    exec.cpu_user_ms = (cpu.user - exec.startCpu.user) / 1000;
    exec.cpu_system_ms = (cpu.system - exec.startCpu.system) / 1000;
    const children = exec.startChildCpu && readChildrenCpu();
    if (children) {
      const user = (children.user - exec.startChildCpu!.user) / 1000;
      const system = (children.system - exec.startChildCpu!.system) / 1000;
      // The clock ticks every 10 ms: below that nothing was measured, so nothing is reported.
      if (user + system > 0) {
        exec.child_cpu_user_ms = user;
        exec.child_cpu_system_ms = system;
      }
    }
    if (error !== undefined) {
      const err = error as Error;
      exec.status = err?.name === "InterruptedError" || err?.name === "AbortError" ? "interrupted" : "error";
      exec.error = errorRecord(error);
    } else {
      exec.action = action ?? "default";
      if (action === "error") exec.status = "error";
    }
    this.scope.node = undefined;
    this.totals!.add(exec);
    const sinks = this.#endSinks;
    for (let i = 0; i < sinks.length; i++) sinks[i].nodeEnd!(exec);
    if (this.#reuse) this.#spare = exec;
  }

  /**
   * The run failed at the node at `ordinal` before it ran again (the loop guard's limit): its totals say
   * so (status `error`) without counting an execution that never ran.
   */
  nodeStopped(ordinal: number): void {
    this.totals?.markFailed(ordinal);
  }

  /**
   * The running node (in `scope`) failed with `error`, which its `error` edge turns into the `error`
   * action: the execution keeps the error itself.
   */
  nodeFailed(error: unknown, scope: TelemetryScope): void {
    const node = scope.node;
    if (node !== undefined) node.error = errorRecord(error);
  }

  /**
   * Whether the budget is spent: no LLM call may start. Compared at the
   * precision costs are reported with, so $0.7 + $0.1 reaches a $0.8 budget
   * (the sum of the floats is 0.7999999999999999).
   */
  get budgetSpent(): boolean {
    return this.maxBudgetUsd !== undefined && roundUsd(this.spentUsd) >= this.maxBudgetUsd;
  }

  /** Throws {@link BudgetExceededError} when no LLM call may start. */
  checkBudget(): void {
    if (!this.budgetSpent) return;
    this.budgetStop = true;
    this.budgetReachedUsd ??= roundUsd(this.spentUsd);
    throw new BudgetExceededError(
      `budget of ${formatUsd(this.maxBudgetUsd!)} reached (${
        formatUsd(roundUsd(this.spentUsd))
      } spent); no further LLM call was started`,
    );
  }

  /**
   * What a run stopped by the budget spent in all, when calls already in flight as the budget was
   * reached finished afterwards and added to it (`; calls in flight finished: $0.0180 spent in all`);
   * else empty: the stop's message already says the total.
   */
  budgetTotalNote(): string {
    const reached = this.budgetReachedUsd;
    const total = roundUsd(this.spentUsd);
    if (reached === undefined || total <= reached) return "";
    return `; calls already in flight then finished: ${formatUsd(total)} spent in all`;
  }

  /** Keeps one finished LLM call, prices it when prices are known, and tells the sinks. */
  recordLlmCall(
    response: LlmResponse,
    scope: TelemetryScope,
    startWall: number,
    failure?: { type: string; message: string },
  ): LlmCallRecord {
    return this.#keep(scope, {
      ...this.#origin(scope, response.usage),
      status: failure ? "error" : "ok",
      ...(failure ? { error: failure } : {}),
      request: response.request,
      response: response.text,
      ...(response.thinking !== undefined ? { thinking: response.thinking } : {}),
      ...(response.object !== undefined ? { object: response.object } : {}),
      finish_reason: response.finish_reason,
      time_to_first_token_ms: response.time_to_first_token_ms,
      start_ms: (response.startedAt ?? startWall) - this.startWall,
    });
  }

  /** Keeps one failed attempt of an LLM call (with whatever usage it reported), priced like a call. */
  recordLlmAttempt(attempt: LlmFailedAttempt, scope: TelemetryScope): LlmCallRecord {
    return this.#keep(scope, {
      ...this.#origin(scope, attempt.usage),
      status: "error",
      error: attempt.error,
      http_status: attempt.status,
      ...(attempt.request ? { request: attempt.request } : {}),
      start_ms: attempt.startedAt - this.startWall,
    });
  }

  /** Node, item, usage and price of a call record. */
  #origin(scope: TelemetryScope, usage: LlmUsage) {
    const cost = priceCall(this.pricing, usage);
    const node = scope.node;
    return {
      phase: this.phase,
      node_id: node?.node_id ?? null,
      node_execution: node?.index ?? null,
      item_index: scope.item ?? null,
      usage,
      ...cost,
    };
  }

  #keep(scope: TelemetryScope, record: LlmCallRecord): LlmCallRecord {
    this.llmCalls.push(record);
    const spent = callCostUsd(record);
    if (spent !== null) this.spentUsd += spent;
    else if (this.maxBudgetUsd !== undefined) {
      // A call the budget cannot count (no price, or no usage reported) is said once per model, as it happens:
      // the budget does not stop what it cannot see.
      if (record.price_key === null) this.#warnUnpriced(record.usage.model, "the budget cannot count it");
      else if (record.usage.usage_missing) this.#warnUncounted(record.usage.model);
    }
    const node = scope.node;
    if (node) {
      node.llm_calls++;
      node.cost_usd += spent ?? 0;
    }
    for (const sink of this.sinks) sink.llmCall?.(record);
    return record;
  }

  /** Warns once per model that it has no price. */
  #warnUnpriced(model: string, consequence: string): void {
    if (this.#warnedUnpriced.has(model)) return;
    this.#warnedUnpriced.add(model);
    this.#warn(`no price for model '${model}': ${consequence} (add it to PFLOW_HOME/pricing.yaml)`);
  }

  /** Warns once per model that the budget cannot count its calls: their provider reported no usage. */
  #warnUncounted(model: string): void {
    if (this.#warnedUncounted.has(model)) return;
    this.#warnedUncounted.add(model);
    this.#warn(`no usage reported for model '${model}': the budget cannot count its calls (their cost is unknown)`);
  }

  /** Prices calls recorded before prices were known (reporting after the run). */
  priceRecorded(table: PriceTable): void {
    this.pricing = table;
    for (const call of this.llmCalls) {
      if (call.price_key !== null || call.cost_usd !== null) continue;
      Object.assign(call, priceCall(table, call.usage));
    }
  }
}

/** What a node execution keeps of what it threw. */
function errorRecord(error: unknown): NonNullable<NodeExecution["error"]> {
  const err = error as Error;
  return { type: err?.name ?? "Error", message: err?.message ?? String(error), stack: err?.stack };
}

/** The cost a call counts for: the provider's reported cost when given, else the computed one. */
export function callCostUsd(call: CallCost): number | null {
  return call.reported_cost_usd ?? call.cost_usd;
}
