/**
 * The ledger handle of one run. The run row goes to the inbox at start (one
 * appended line); the database is opened only when the first LLM call
 * finishes, and each call is written as it finishes, so a killed run's
 * billed calls are counted. Every failure is one warning: the ledger never
 * changes a run's outcome.
 * @module
 */
import type { LlmCallRecord, TelemetrySink } from "../observability/telemetry.ts";
import type { NodeDurationStat } from "../observability/node_totals.ts";
import { appendInbox, INBOX_ROTATE_BYTES } from "./inbox.ts";
import { inboxFile, ledgerFile } from "./paths.ts";
import { thisProcess } from "./run_process.ts";
import { boundMs, BUCKETS, callFirsts } from "./schema.ts";
import type { CallRow, LateCall, LedgerStore } from "./store.ts";
import type { LedgerPhase, NodeStat, RunEnd, RunStart } from "./types.ts";

/** The bounds (ms) of the ledger's node duration histogram: what a run's node totals are given. */
export const NODE_BOUNDS_MS: readonly number[] = BUCKETS.node.map(boundMs);

type StoreModule = typeof import("./store.ts");

/** Options of {@link LedgerRun}. */
export interface LedgerRunOptions {
  /** PFLOW_HOME. */
  home: string;
  /** Where warnings go (each problem is reported once). */
  warn: (message: string) => void;
}

type CallRecord = LlmCallRecord;

/** A call waiting to be written, with the version of the prices it was priced with. */
interface PendingCall {
  phase: LedgerPhase;
  record: CallRecord;
  priceVersion: string | null;
}

/** The ledger of one run: `begin`, a sink per phase, `finish`. */
export class LedgerRun {
  readonly #home: string;
  readonly #warn: (message: string) => void;
  #start: RunStart | undefined;
  #store: LedgerStore | undefined;
  #runId: number | undefined;
  #module: Promise<StoreModule> | undefined;
  #loaded: StoreModule | undefined;
  #broken = false;
  #pending: PendingCall[] = [];
  // Calls the database did not take (it failed): they go to the inbox with the run's end.
  readonly #unwritten: PendingCall[] = [];
  #flush: Promise<void> = Promise.resolve();
  #firsts = new Set<string>();
  readonly #nodes = new Map<string, NodeStat>();
  // Calls written unpriced: priced again at the end if prices arrived later.
  readonly #unpriced: { id: number; record: CallRecord }[] = [];

  /** @param options home and warning sink */
  constructor(options: LedgerRunOptions) {
    this.#home = options.home;
    this.#warn = options.warn;
  }

  /**
   * Records the run's start (one line appended to the inbox). `preload`
   * loads the database code in the background, for a run that will call
   * models.
   */
  begin(start: RunStart, options: { preload?: boolean } = {}): void {
    // Which process runs it, so that readers can tell a run killed without a word from one still going.
    this.#start = start.pid === undefined ? { ...start, ...thisProcess() } : { ...start };
    try {
      appendInbox(this.#home, { v: 1, op: "start", run: this.#start });
    } catch {
      // The start is not in the inbox: the run's first database write inserts its row, and its end (a line
      // that carries the start's fields) inserts it otherwise; a failure there is the run's one warning.
    }
    if (options.preload) this.#loadModule();
  }

  /** Whether {@link LedgerRun.begin} was called (a planned run begins before its workflow is known). */
  get begun(): boolean {
    return this.#start !== undefined;
  }

  /** Updates what is known of the run (a planned run learns its workflow after planning). */
  describe(fields: Partial<Omit<RunStart, "executionId" | "startedMs">>): void {
    if (this.#start !== undefined) Object.assign(this.#start, fields);
  }

  /**
   * The sink that writes the calls of one phase as they finish.
   * `priceVersion` is the version of the table pricing them. The workflow's
   * node executions reach the ledger when the run ends: {@link LedgerRun.recordNodes}
   * (timed, from the run's node totals) or {@link LedgerRun.recordNode} (counts).
   */
  sink(phase: LedgerPhase, options: { priceVersion?: () => string | null } = {}): TelemetrySink {
    return {
      keepsExecutions: false,
      llmCall: (record) => {
        this.#pending.push({ phase, record, priceVersion: options.priceVersion?.() ?? null });
        // Written synchronously once the database code is loaded, so the row
        // is on disk before the node goes on.
        if (this.#loaded !== undefined && this.#flushing === 0) this.#writePending();
        else this.#flush = this.#flush.then(() => this.#drain());
      },
    };
  }

  /** Counts `count` executions of the workflow's nodes of `type` that ended as `status`, untimed. */
  recordNode(type: string, status: NodeStat["status"], count: number): void {
    this.#nodeStat(type, status).executions += count;
  }

  /** Adds timed node executions, summed by type and status over {@link NODE_BOUNDS_MS} (a run's node totals). */
  recordNodes(stats: readonly NodeDurationStat[]): void {
    for (const { type, status, executions, durationMsSum, buckets } of stats) {
      const stat = this.#nodeStat(type, status);
      stat.executions += executions;
      stat.timed += executions;
      stat.durationMsSum += durationMsSum;
      buckets.forEach((count, i) => stat.buckets[i] += count);
    }
  }

  #nodeStat(type: string, status: NodeStat["status"]): NodeStat {
    const key = `${type}\0${status}`;
    let stat = this.#nodes.get(key);
    if (stat === undefined) {
      stat = { type, status, executions: 0, timed: 0, durationMsSum: 0, buckets: BUCKETS.node.map(() => 0) };
      this.#nodes.set(key, stat);
    }
    return stat;
  }

  #flushing = 0;

  async #drain(): Promise<void> {
    if (this.#pending.length === 0 || this.#broken) return;
    this.#flushing++;
    try {
      await this.#loadModule();
    } catch (error) {
      this.#fail(error);
    } finally {
      this.#flushing--;
    }
    this.#writePending();
  }

  /**
   * Writes the calls waiting (after those a busy ledger did not take yet, in order) in one transaction. A ledger
   * locked by another process is waited for only {@link RUN_BUSY_TIMEOUT_MS}: the calls wait for the next write,
   * or go with the run's end to the inbox, and the run goes on at once.
   */
  #writePending(): void {
    if (this.#pending.length === 0 && this.#unwritten.length === 0) return;
    const batch = [...this.#unwritten.splice(0), ...this.#pending.splice(0)];
    if (this.#broken) {
      this.#unwritten.push(...batch);
      return;
    }
    const firsts = new Set(this.#firsts);
    const unpriced: { id: number; record: CallRecord }[] = [];
    const written = this.#tryDatabase(() => {
      const store = this.#openStore();
      if (store === undefined) return false;
      store.write(() => {
        for (const { phase, record, priceVersion } of batch) {
          const id = store.addCall(this.#runId!, this.#start!, this.#row(phase, record, priceVersion));
          // Without a price yet (a call without usage has its price's key, and no cost at any price).
          if (record.cost_usd === null && record.reported_cost_usd === null && record.price_key === null) {
            unpriced.push({ id, record });
          }
        }
      });
      return true;
    });
    if (written) this.#unpriced.push(...unpriced);
    else {
      // Rolled back whole: the batch waits (or goes with the run's end), its flags computed again when written.
      this.#firsts = firsts;
      this.#unwritten.push(...batch);
    }
  }

  /**
   * Records how the run ended: in the database when it was opened (totals
   * recomputed from the call rows), else as a second inbox line. When the
   * database failed or was busy (another process's lock), the end goes to
   * the inbox with the calls the database did not take: the run is not
   * left `running` (to be settled as gone), and its calls are folded in
   * once the ledger can be written. Call after the result is printed.
   */
  async finish(end: RunEnd, options: { priceVersion?: string | null } = {}): Promise<void> {
    if (this.#start === undefined) return;
    await this.#flush;
    this.#writePending();
    const run = { ...this.#start, ...dropUndefined(end), nodes: [...this.#nodes.values()] } as RunStart & RunEnd;
    const lateVersion = options.priceVersion ?? end.priceVersion;
    const store = this.#store;
    let recorded = false;
    if (store !== undefined && this.#unwritten.length === 0) {
      recorded = this.#tryDatabase(() => {
        store.write(() => {
          for (const { id, record } of this.#unpriced) {
            if (record.cost_usd === null && record.price_key === null) continue;
            store.priceCall(id, {
              // Priced late, a call without usage gets its price's key, still no cost (not $0: see priceCall).
              costUsd: record.cost_usd,
              priceModel: record.price_key,
              priceVersion: options.priceVersion ?? end.priceVersion,
            });
          }
          store.endRun(run);
        });
        return true;
      });
    }
    if (!recorded && (store !== undefined || this.#broken || this.#unwritten.length > 0)) {
      this.#endInInbox(run, lateVersion);
    } else if (!recorded) {
      let size = 0;
      this.#guard(() => size = appendInbox(this.#home, { v: 1, op: "end", run }));
      // Runs that never call models keep the inbox small themselves, now and then (not when the ledger is busy).
      if (size >= INBOX_ROTATE_BYTES && !this.#broken) {
        try {
          await this.#loadModule();
          this.#tryDatabase(() => this.#openStore() !== undefined);
        } catch (error) {
          this.#fail(error);
        }
      }
    }
    this.#store?.close();
    this.#store = undefined;
  }

  /**
   * Runs `write` (true when it wrote); false when the ledger was busy (another process's lock: nothing to warn
   * of, the rows go to the inbox) or failed (one warning, and the database is not tried again).
   */
  #tryDatabase(write: () => boolean): boolean {
    if (this.#broken) return false;
    try {
      return write();
    } catch (error) {
      if (!this.#loaded?.isBusy(error)) this.#fail(error);
      return false;
    }
  }

  /**
   * Appends the run's end to the inbox when the database did not take it (no lock needed), with the calls it did
   * not take (priced as they are now: `lateVersion` is the version of prices that arrived after a call). A
   * failure is warned of unless the database's was already: the inbox failing too adds nothing to say.
   */
  #endInInbox(run: RunStart & RunEnd, lateVersion: string | null): void {
    const calls = this.#unwritten.splice(0).map(({ phase, record, priceVersion }) =>
      this.#call(phase, record, priceVersion ?? lateVersion)
    );
    try {
      appendInbox(this.#home, { v: 1, op: "end", run, ...(calls.length > 0 ? { calls } : {}) });
    } catch (error) {
      this.#fail(error); // nothing when warned of already
    }
  }

  #loadModule(): Promise<StoreModule> {
    this.#module ??= import("./store.ts").then((m) => this.#loaded = m);
    this.#module.catch(() => {}); // reported where awaited
    return this.#module;
  }

  #openStore(): LedgerStore | undefined {
    if (this.#store !== undefined) return this.#store;
    if (this.#loaded === undefined || this.#start === undefined) return undefined;
    // An inbox that cannot be read holds up no run: its rows go to the database.
    const { store, warnings } = this.#loaded.LedgerStore.open(this.#home, {
      unreadableInbox: "warn",
      busyTimeoutMs: this.#loaded.RUN_BUSY_TIMEOUT_MS,
    });
    for (const warning of warnings) this.#warn(`ledger: ${warning}`);
    try {
      this.#runId = store.write(() => store.startRun(this.#start!));
    } catch (error) {
      store.close();
      throw error;
    }
    this.#store = store;
    return store;
  }

  #row(phase: LedgerPhase, record: CallRecord, priceVersion: string | null): CallRow {
    const call = this.#call(phase, record, priceVersion);
    return { ...call, ...callFirsts(this.#firsts, call) };
  }

  /** A call as stored, but its flags (which depend on the run's calls stored before it). */
  #call(phase: LedgerPhase, record: CallRecord, priceVersion: string | null): LateCall {
    const u = record.usage;
    return {
      phase: record.phase ?? phase,
      node: record.node_id,
      nodeExecution: record.node_execution,
      itemIndex: record.item_index,
      provider: u.provider,
      model: u.model,
      priceModel: record.price_key,
      responseModel: u.response_model,
      inputTokens: u.input_tokens,
      cacheReadTokens: u.cache_read_tokens,
      cacheWrite5mTokens: u.cache_write_5m_tokens,
      cacheWrite1hTokens: u.cache_write_1h_tokens,
      outputTokens: u.output_tokens,
      reasoningTokens: u.reasoning_tokens,
      // A call whose usage is unknown (none reported, or cut off in flight) has no cost (priceCall): it is
      // stored as such, so reports mark their totals incomplete (`$0+`) instead of counting it as $0.
      costUsd: record.cost_usd,
      reportedCostUsd: record.reported_cost_usd,
      usageMissing: u.usage_missing === true,
      priceVersion: record.cost_usd === null ? null : priceVersion,
      durationMs: u.duration_ms ?? null,
      ttftMs: record.time_to_first_token_ms ?? null,
      requestId: u.request_id,
      status: record.status ?? "ok",
      errorType: record.error?.type ?? null,
      startOffsetMs: record.start_ms ?? null,
    };
  }

  #guard(fn: () => void): void {
    if (this.#broken) return;
    try {
      fn();
    } catch (error) {
      this.#fail(error);
    }
  }

  #fail(error: unknown): void {
    if (this.#broken) return;
    this.#broken = true;
    this.#store?.close();
    this.#store = undefined;
    const file = ledgerFile(this.#home);
    let message = String((error as Error)?.message ?? error).split("\n")[0];
    if (!message.includes(file) && !message.includes(inboxFile(this.#home))) message = `${file}: ${message}`;
    this.#warn(`ledger: ${message}; this run is not (fully) recorded`);
  }
}

function dropUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
