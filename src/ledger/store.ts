/**
 * Writing the ledger database: run rows, call rows, labels and the inbox
 * fold, each write one short `BEGIN IMMEDIATE` transaction (concurrent runs
 * queue on SQLite's lock within the busy timeout).
 * @module
 */
import type { DatabaseSync, StatementSync } from "node:sqlite";
import {
  asLedgerError,
  cannotWrite,
  ledgerVersion,
  openLedgerCopy,
  openLedgerDb,
  openLedgerReadOnly,
  refusedValues,
  RUN_BUSY_TIMEOUT_MS,
} from "./db.ts";

export { isBusy, RUN_BUSY_TIMEOUT_MS } from "./db.ts";
import { inboxFile, ledgerFile } from "./paths.ts";
import { EntryError, foldInbox, type InboxEntry, InboxUnreadable } from "./inbox.ts";
import { bucketColumns, bucketOf, BUCKETS, callFirsts, NO_NODE, PHASE_CODE, SCHEMA_VERSION } from "./schema.ts";
import { type LedgerPhase, type NodeStat, PROCESS_GONE, type RunEnd, type RunStart } from "./types.ts";
import { ProcessCheck } from "./run_process.ts";

const LLM_BUCKETS = bucketColumns("ld", BUCKETS.llm);
const NODE_BUCKETS = bucketColumns("nd", BUCKETS.node);

/** The token counts stored for a call whose usage is missing: unknown, so none (see {@link LedgerStore.addCall}). */
const UNKNOWN_TOKENS = {
  inputTokens: 0,
  cacheReadTokens: 0,
  cacheWrite5mTokens: 0,
  cacheWrite1hTokens: 0,
  outputTokens: 0,
  reasoningTokens: 0,
} as const;

/** One LLM call as stored (see the README's ledger section for each field). */
export interface CallRow {
  phase: LedgerPhase;
  node: string | null;
  nodeExecution: number | null;
  itemIndex: number | null;
  provider: string;
  /** Model id as requested. */
  model: string;
  /** The price-table key that priced it. */
  priceModel: string | null;
  /** Model as the provider reported it. */
  responseModel: string | null;
  inputTokens: number;
  cacheReadTokens: number;
  cacheWrite5mTokens: number;
  cacheWrite1hTokens: number;
  outputTokens: number;
  reasoningTokens: number;
  costUsd: number | null;
  reportedCostUsd: number | null;
  /**
   * The provider reported no usage (or not all of it): tokens and cost unknown (give `costUsd` null), whatever the
   * model's price; its tokens are stored as 0.
   */
  usageMissing?: boolean;
  priceVersion: string | null;
  durationMs: number | null;
  ttftMs: number | null;
  requestId: string | null;
  status: "ok" | "error";
  errorType: string | null;
  startOffsetMs: number | null;
  /** {@link FLAG} bits of the usage row this call opens (the call is its run's first of …). */
  flags: number;
  /** The first call of its node execution (counts the execution once, whatever models it called). */
  newExecution: boolean;
  /** The first call of its node execution with its model (counts the execution for the model). */
  newModelExecution: boolean;
}

/**
 * A call as a run's end line in the inbox carries it when the database did not take it (see
 * {@link LedgerStore.addLateCalls}): a {@link CallRow} without the flags, which depend on the calls stored before.
 */
export type LateCall = Omit<CallRow, "flags" | "newExecution" | "newModelExecution">;

/** One 1 in the bucket of `ms` (none when not measured). */
function bucketFlags(bounds: readonly number[], ms: number | null): number[] {
  const flags = bounds.map(() => 0);
  if (ms === null) return flags;
  const i = bucketOf(bounds, ms);
  if (i < flags.length) flags[i] = 1;
  return flags;
}

/**
 * When a run of `workflow` last ended in success (Unix ms), read quickly and without writing: the ledger through
 * a read-only connection (which waits for no writer; a ledger of an older schema is migrated in a copy in
 * memory), then the inbox's lines not folded into it yet (a run that calls no model is there until the next
 * fold). Undefined when none is recorded; throws a {@link LedgerError} (or the inbox's error) when it cannot be
 * read.
 */
export function readLastSuccessMs(home: string, workflow: string): number | undefined {
  const path = ledgerFile(home);
  let last: number | undefined;
  let offset = 0;
  let db = openLedgerReadOnly(path, { busyTimeoutMs: RUN_BUSY_TIMEOUT_MS });
  if (db !== undefined) {
    try {
      if (ledgerVersion(db) !== SCHEMA_VERSION) {
        db.close();
        db = openLedgerCopy(path);
      }
      const store = new LedgerStore(db, path, { copy: true });
      last = store.lastSuccessMs(workflow);
      const row = db.prepare("SELECT value FROM meta WHERE key = 'inbox_offset'").get() as
        | { value: number }
        | undefined;
      offset = Number(row?.value ?? 0);
    } catch (error) {
      throw asLedgerError(error, path);
    } finally {
      db.close();
    }
  }
  foldInbox(home, {
    offset: () => offset,
    setOffset: () => {},
    apply: (entry) => {
      if (entry.op !== "end") return;
      const run = entry.run;
      if (run.workflowName === workflow && run.status === "success") last = Math.max(last ?? run.endedMs, run.endedMs);
    },
  }, { readOnly: true });
  return last;
}

/** A ledger opened by {@link LedgerStore.openForReading}. */
export interface ReadLedger {
  store: LedgerStore;
  /** The fold's warnings (lines skipped). */
  warnings: string[];
  /** Set when the store is a copy in memory, and the copy counts inbox entries the ledger does not hold. */
  notice?: string;
}

/** An open ledger database for writing. */
export class LedgerStore {
  /** The file. */
  readonly path: string;
  readonly #db: DatabaseSync;
  readonly #labels = new Map<string, number>();
  readonly #statements = new Map<string, StatementSync>();

  /** Whether this is a copy in memory of a ledger that cannot be written ({@link LedgerStore.openForReading}). */
  readonly copy: boolean;
  // Inbox entries folded by this store.
  #folded = 0;

  /**
   * @param db an open, migrated ledger @param path its file
   * @param options `copy`: `db` is a copy in memory of the file (folding leaves the inbox's files alone)
   */
  constructor(db: DatabaseSync, path: string, options: { copy?: boolean } = {}) {
    this.#db = db;
    this.path = path;
    this.copy = options.copy ?? false;
  }

  /**
   * Opens the ledger of `home` to be read (`pflow cost`, `pflow metrics`): as {@link LedgerStore.open} does when
   * it can be written; when it cannot (a read-only or full file system, a PFLOW_HOME that cannot be created, a
   * lock held past the busy timeout), a copy in memory of what the file holds (nothing when there is no file),
   * the inbox folded into the copy only. `notice` then says so, when the inbox had lines not yet in the ledger.
   */
  static openForReading(home: string, options: { settle?: boolean } = {}): ReadLedger {
    try {
      return { ...LedgerStore.open(home, options) };
    } catch (error) {
      if (!cannotWrite(error)) throw error;
      return LedgerStore.#openCopy(home, options, error as Error);
    }
  }

  /**
   * Reads `opened` again for a reader that keeps it (`pflow metrics serve`, each scrape): folds the inbox and
   * settles runs; a copy is replaced by the ledger, written when it can be now, else by a new copy.
   */
  static reread(opened: ReadLedger, home: string): ReadLedger {
    if (!opened.store.copy) {
      const { store } = opened;
      try {
        const warnings = store.foldInbox(home);
        warnings.push(...store.settleRuns(home));
        return { store, warnings };
      } catch (error) {
        const failure = asLedgerError(error, store.path);
        if (!cannotWrite(failure)) throw error;
        store.close();
        return LedgerStore.#openCopy(home, { settle: true }, failure);
      }
    }
    opened.store.close();
    return LedgerStore.openForReading(home, { settle: true });
  }

  static #openCopy(home: string, options: { settle?: boolean }, why: Error): ReadLedger {
    const path = ledgerFile(home);
    const store = new LedgerStore(openLedgerCopy(path), path, { copy: true });
    try {
      const warnings = store.foldInbox(home);
      if (options.settle) warnings.push(...store.settleRuns(home));
      const folded = store.#folded;
      const reason = why.message.split("\n")[0];
      const cause = reason.startsWith(`${path}: `) ? reason.slice(path.length + 2) : reason;
      const notice = folded === 0
        ? undefined
        : `${path} cannot be written (${cause}): the ${
          folded === 1 ? "inbox entry" : `${folded} inbox entries`
        } not yet in it are counted from a copy in memory, and stay in ${inboxFile(home)} until it can be written`;
      return { store, warnings, notice };
    } catch (error) {
      store.close();
      throw asLedgerError(error, path);
    }
  }

  /**
   * Opens the ledger of `home` and folds its inbox; returns the store and the fold's warnings.
   * `settle` (readers) also settles the runs whose process is gone ({@link LedgerStore.settleRuns}).
   * `unreadableInbox: "warn"` (a run, whose own rows go to the database) makes an inbox that cannot be read a
   * warning instead of an error. `busyTimeoutMs` bounds each wait for another process's lock (a run's is short).
   */
  static open(
    home: string,
    options: { settle?: boolean; unreadableInbox?: "warn"; busyTimeoutMs?: number } = {},
  ): { store: LedgerStore; warnings: string[] } {
    const path = ledgerFile(home);
    const store = new LedgerStore(openLedgerDb(path, { busyTimeoutMs: options.busyTimeoutMs }), path);
    try {
      let warnings: string[];
      try {
        warnings = store.foldInbox(home);
      } catch (error) {
        if (!(options.unreadableInbox === "warn" && error instanceof InboxUnreadable)) throw error;
        warnings = [`${error.message}; its lines were not folded into the ledger`];
      }
      if (options.settle) warnings.push(...store.settleRuns(home));
      return { store, warnings };
    } catch (error) {
      store.close();
      throw asLedgerError(error, path);
    }
  }

  /** The underlying connection (reports query it). */
  get db(): DatabaseSync {
    return this.#db;
  }

  /** Runs `fn` in one write transaction. */
  write<T>(fn: () => T): T {
    this.#db.exec("BEGIN IMMEDIATE");
    try {
      const result = fn();
      this.#db.exec("COMMIT");
      return result;
    } catch (error) {
      try {
        this.#db.exec("ROLLBACK");
      } catch { /* no transaction left */ }
      throw error;
    }
  }

  /** Folds the inbox (see inbox.ts) in one transaction. */
  foldInbox(home: string): string[] {
    return this.write(() => this.#fold(home));
  }

  /**
   * Settles the `running` runs whose process is gone (killed, crashed, or the machine stopped: see
   * run_process.ts) as `interrupted`, subtype {@link PROCESS_GONE}, end unknown; returns the fold's
   * warnings. Only running rows are looked at (a partial index holds them), so ended runs cost nothing.
   */
  settleRuns(home: string, check: ProcessCheck = new ProcessCheck()): string[] {
    const running = this.#stmt("SELECT id, pid, host, process_start FROM runs WHERE status = 'running'").all() as {
      id: number;
      pid: number | null;
      host: string | null;
      process_start: string | null;
    }[];
    const gone = running.filter((r) => check.gone({ pid: r.pid, host: r.host, processStart: r.process_start }));
    if (gone.length === 0) return [];
    return this.write(() => {
      // A gone process wrote whatever it wrote: its end, if it reached the inbox, wins over the verdict.
      const warnings = this.#fold(home);
      const settle = this.#stmt(
        "UPDATE runs SET status = 'interrupted', subtype = ? WHERE id = ? AND status = 'running'",
      );
      for (const { id } of gone) settle.run(PROCESS_GONE, id);
      return warnings;
    });
  }

  #fold(home: string): string[] {
    return foldInbox(home, {
      offset: () => Number(this.#stmt("SELECT value FROM meta WHERE key = 'inbox_offset'").get()?.value ?? 0),
      setOffset: (offset) => {
        this.#stmt(
          "INSERT INTO meta(key, value) VALUES ('inbox_offset', CAST(? AS INTEGER)) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        )
          .run(offset);
      },
      apply: (entry: InboxEntry) => {
        // Each entry wholly or not at all: a refused one is rolled back alone and the fold goes on.
        this.#db.exec("SAVEPOINT inbox_entry");
        try {
          if (entry.op === "start") this.startRun(entry.run);
          else {
            if (entry.calls !== undefined) this.addLateCalls(entry.run, entry.calls);
            this.endRun(entry.run);
          }
        } catch (error) {
          this.#db.exec("ROLLBACK TO inbox_entry");
          this.#db.exec("RELEASE inbox_entry");
          if (!refusedValues(error)) throw error;
          throw new EntryError(String((error as Error)?.message ?? error).split("\n")[0], { cause: error });
        }
        this.#db.exec("RELEASE inbox_entry");
        this.#folded++;
      },
    }, { readOnly: this.copy });
  }

  /** The id of a label (a workflow, node, model or provider name), created when new. */
  label(kind: string, text: string): number {
    const key = `${kind}\0${text}`;
    let id = this.#labels.get(key);
    if (id === undefined) {
      const row = this.#stmt(
        "INSERT INTO labels(kind, text) VALUES (?, ?) ON CONFLICT(kind, text) DO UPDATE SET text = excluded.text RETURNING id",
      ).get(kind, text) as { id: number };
      id = row.id;
      this.#labels.set(key, id);
    }
    return id;
  }

  /** Inserts the run's row (status `running`) unless it exists; returns its id. */
  startRun(run: RunStart): number {
    this.#stmt(
      `INSERT INTO runs(execution_id, trace_id, kind, workflow, workflow_file, workflow_hash, saved_name, started_ms,
         status, pflow_version, pid, host, process_start)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'running', ?, ?, ?, ?) ON CONFLICT(execution_id) DO NOTHING`,
    ).run(
      run.executionId,
      run.traceId,
      run.kind,
      this.label("workflow", run.workflowName),
      run.workflowFile,
      run.workflowHash,
      run.savedName,
      Math.round(run.startedMs),
      run.pflowVersion,
      run.pid ?? null,
      run.host ?? null,
      run.processStart ?? null,
    );
    return this.runId(run.executionId)!;
  }

  /** The row id of a run, or undefined. */
  runId(executionId: string): number | undefined {
    const row = this.#stmt("SELECT id FROM runs WHERE execution_id = ?").get(executionId) as { id: number } | undefined;
    return row?.id;
  }

  /** Writes the run's end (inserting the row when the start never reached the ledger). */
  endRun(run: RunStart & RunEnd): number {
    const id = this.startRun(run);
    const workflow = this.label("workflow", run.workflowName);
    this.#stmt(
      `UPDATE runs SET trace_id = ?, kind = ?, workflow = ?, workflow_file = ?, workflow_hash = ?, saved_name = ?,
         ended_ms = ?, duration_ms = ?, status = ?, subtype = ?, nodes_executed = ?, trace_file = ?,
         price_version = ?, price_source = ?, pricing_complete = ?, planner_path = ?, planner_trace_file = ?,
         duration_planner_ms = ?
       WHERE id = ?`,
    ).run(
      run.traceId,
      run.kind,
      workflow,
      run.workflowFile,
      run.workflowHash,
      run.savedName,
      Math.round(run.endedMs),
      run.durationMs,
      run.status,
      run.subtype,
      run.nodesExecuted,
      run.traceFile,
      run.priceVersion,
      run.priceSource,
      run.pricingComplete === null ? null : run.pricingComplete ? 1 : 0,
      run.plannerPath ?? null,
      run.plannerTraceFile ?? null,
      run.durationPlannerMs ?? null,
      id,
    );
    // A planned run learns its workflow late: its earlier calls follow.
    this.#stmt("UPDATE calls SET workflow = ?1 WHERE run = ?2 AND workflow <> ?1").run(workflow, id);
    this.#stmt("UPDATE usage SET workflow = ?1 WHERE run = ?2 AND workflow <> ?1").run(workflow, id);
    if (run.nodes !== undefined) this.#writeNodes(id, run.startedMs, run.nodes);
    this.#stmt(
      `UPDATE runs SET (llm_calls, input_tokens, cache_read_tokens, cache_write_tokens, output_tokens,
         reasoning_tokens, cost_usd, computed_cost_usd, reported_cost_usd, unpriced_calls) = (
         SELECT count(*), total(input_tokens), total(cache_read_tokens),
           total(cache_write_5m_tokens + cache_write_1h_tokens), total(output_tokens), total(reasoning_tokens),
           total(coalesce(reported_cost_usd, cost_usd)), sum(cost_usd), sum(reported_cost_usd),
           total(cost_usd IS NULL AND reported_cost_usd IS NULL)
         FROM calls WHERE run = ?1)
       WHERE id = ?1`,
    ).run(id);
    return id;
  }

  /** Appends one call of run `runId` and adds it to its usage row and the run's totals; returns the call's id. */
  addCall(runId: number, run: { startedMs: number; workflowName: string }, given: CallRow): number {
    // A call whose usage is missing has unknown tokens: stored as 0 (the counts it reported so far, such as
    // a cut-off stream's `message_start`, stay in its trace), so no total and no repricing counts them.
    const call = given.usageMissing ? { ...given, ...UNKNOWN_TOKENS } : given;
    const workflow = this.label("workflow", run.workflowName);
    const node = call.node === null ? null : this.label("node", call.node);
    const model = this.label("model", call.model);
    const phase = PHASE_CODE[call.phase];
    const startedMs = Math.round(run.startedMs);
    const missing = call.usageMissing ? 1 : 0;
    const cost = call.reportedCostUsd ?? call.costUsd;
    const inserted = this.#stmt(
      `INSERT INTO calls(run, started_ms, workflow, phase, node, model, status, input_tokens,
         cache_read_tokens, cache_write_5m_tokens, cache_write_1h_tokens, output_tokens, reasoning_tokens, cost_usd,
         reported_cost_usd, node_execution, item_index, provider, price_model, response_model, price_version,
         duration_ms, ttft_ms, request_id, error_type, start_offset_ms, usage_missing)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      runId,
      startedMs,
      workflow,
      phase,
      node,
      model,
      call.status === "error" ? 1 : 0,
      call.inputTokens,
      call.cacheReadTokens,
      call.cacheWrite5mTokens,
      call.cacheWrite1hTokens,
      call.outputTokens,
      call.reasoningTokens,
      call.costUsd,
      call.reportedCostUsd,
      call.nodeExecution,
      call.itemIndex,
      this.label("provider", call.provider),
      call.priceModel === null ? null : this.label("model", call.priceModel),
      call.responseModel,
      call.priceVersion,
      call.durationMs,
      call.ttftMs,
      call.requestId,
      call.errorType,
      call.startOffsetMs,
      missing,
    );
    const cacheWrite = call.cacheWrite5mTokens + call.cacheWrite1hTokens;
    this.#stmt(
      `INSERT INTO usage(run, phase, node, model, started_ms, workflow, flags, calls, errors, executions,
         model_executions, input_tokens, cache_read_tokens, cache_write_tokens, cache_write_1h_tokens, output_tokens, reasoning_tokens, cost_usd,
         unpriced_calls, usage_missing_calls, timed_calls, duration_ms_sum, ${LLM_BUCKETS.join(", ")})
       VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ${
        LLM_BUCKETS.map(() => "?").join(", ")
      })
       ON CONFLICT(run, phase, node, model) DO UPDATE SET calls = calls + 1, errors = errors + excluded.errors,
         executions = executions + excluded.executions,
         model_executions = model_executions + excluded.model_executions, input_tokens = input_tokens + excluded.input_tokens,
         cache_read_tokens = cache_read_tokens + excluded.cache_read_tokens,
         cache_write_tokens = cache_write_tokens + excluded.cache_write_tokens,
         cache_write_1h_tokens = cache_write_1h_tokens + excluded.cache_write_1h_tokens,
         output_tokens = output_tokens + excluded.output_tokens,
         reasoning_tokens = reasoning_tokens + excluded.reasoning_tokens, cost_usd = cost_usd + excluded.cost_usd,
         unpriced_calls = unpriced_calls + excluded.unpriced_calls,
         usage_missing_calls = usage_missing_calls + excluded.usage_missing_calls,
         timed_calls = timed_calls + excluded.timed_calls,
         duration_ms_sum = duration_ms_sum + excluded.duration_ms_sum,
         ${LLM_BUCKETS.map((c) => `${c} = ${c} + excluded.${c}`).join(", ")}`,
    ).run(
      runId,
      phase,
      node ?? NO_NODE,
      model,
      startedMs,
      workflow,
      call.flags,
      call.status === "error" ? 1 : 0,
      call.newExecution ? 1 : 0,
      call.newModelExecution ? 1 : 0,
      call.inputTokens,
      call.cacheReadTokens,
      cacheWrite,
      call.cacheWrite1hTokens,
      call.outputTokens,
      call.reasoningTokens,
      cost ?? 0,
      cost === null ? 1 : 0,
      missing,
      call.durationMs === null ? 0 : 1,
      call.durationMs ?? 0,
      ...bucketFlags(BUCKETS.llm, call.durationMs),
    );
    this.#stmt(
      `UPDATE runs SET llm_calls = llm_calls + 1, input_tokens = input_tokens + ?, cache_read_tokens =
         cache_read_tokens + ?, cache_write_tokens = cache_write_tokens + ?, output_tokens = output_tokens + ?,
         reasoning_tokens = reasoning_tokens + ?, cost_usd = cost_usd + ?, unpriced_calls = unpriced_calls + ?
       WHERE id = ?`,
    ).run(
      call.inputTokens,
      call.cacheReadTokens,
      cacheWrite,
      call.outputTokens,
      call.reasoningTokens,
      cost ?? 0,
      cost === null ? 1 : 0,
      runId,
    );
    return Number(inserted.lastInsertRowid);
  }

  /**
   * Adds the calls a run could not write to the database (it was locked by another process, corrupt, …),
   * which its end line in the inbox carries, before that end is written: only while the run's end is not
   * recorded (`running`, or settled as gone), so an end line folded again (a rotated inbox is folded whole)
   * adds nothing. Each call's flags continue from the run's calls already stored, in write order.
   */
  addLateCalls(run: RunStart, calls: readonly LateCall[]): void {
    if (calls.length === 0) return;
    const id = this.startRun(run);
    const row = this.#stmt("SELECT status, subtype FROM runs WHERE id = ?").get(id) as {
      status: string;
      subtype: string | null;
    };
    if (row.status !== "running" && !(row.status === "interrupted" && row.subtype === PROCESS_GONE)) return;
    const seen = new Set<string>();
    const stored = this.#stmt(
      `SELECT c.phase AS phase, n.text AS node, m.text AS model, c.node_execution AS node_execution
       FROM calls c JOIN labels m ON m.id = c.model LEFT JOIN labels n ON n.id = c.node WHERE c.run = ? ORDER BY c.id`,
    ).all(id) as { phase: number; node: string | null; model: string; node_execution: number | null }[];
    for (const c of stored) {
      const phase = c.phase === PHASE_CODE.planner ? "planner" : "workflow";
      callFirsts(seen, { phase, node: c.node, model: c.model, nodeExecution: c.node_execution });
    }
    for (const call of calls) this.addCall(id, run, { ...call, ...callFirsts(seen, call) });
  }

  /** Replaces the node statistics of run `runId`. */
  #writeNodes(runId: number, startedMs: number, nodes: NodeStat[]): void {
    this.#stmt("DELETE FROM node_usage WHERE run = ?").run(runId);
    const insert = this.#stmt(
      `INSERT INTO node_usage(run, started_ms, node_type, status, executions, timed, duration_ms_sum,
         ${NODE_BUCKETS.join(", ")}) VALUES (?, ?, ?, ?, ?, ?, ?, ${NODE_BUCKETS.map(() => "?").join(", ")})`,
    );
    for (const node of nodes) {
      const buckets = NODE_BUCKETS.map((_, i) => node.buckets[i] ?? 0);
      insert.run(
        runId,
        Math.round(startedMs),
        node.type,
        node.status,
        node.executions,
        node.timed,
        node.durationMsSum,
        ...buckets,
      );
    }
  }

  /** Sets the cost of a call priced after it was written (prices loaded after the run). */
  priceCall(callId: number, cost: { costUsd: number | null; priceModel: string | null; priceVersion: string | null }) {
    if (cost.costUsd !== null) {
      this.#stmt(
        `UPDATE usage SET cost_usd = cost_usd + ?, unpriced_calls = unpriced_calls - 1
         WHERE (run, phase, node, model) = (
           SELECT run, phase, coalesce(node, ${NO_NODE}), model FROM calls
           WHERE id = ? AND cost_usd IS NULL AND reported_cost_usd IS NULL)`,
      ).run(cost.costUsd, callId);
    }
    this.#stmt("UPDATE calls SET cost_usd = ?, price_model = ?, price_version = ? WHERE id = ?").run(
      cost.costUsd,
      cost.priceModel === null ? null : this.label("model", cost.priceModel),
      cost.priceVersion,
      callId,
    );
  }

  /** When a run of `workflow` last ended in success (Unix ms), or undefined. */
  lastSuccessMs(workflow: string): number | undefined {
    const row = this.#stmt(
      `SELECT max(r.ended_ms) AS ended FROM runs r JOIN labels l ON l.id = r.workflow
       WHERE l.kind = 'workflow' AND l.text = ? AND r.status = 'success'`,
    ).get(workflow) as { ended: number | null };
    return row.ended ?? undefined;
  }

  /** Closes the connection. */
  close(): void {
    try {
      this.#db.close();
    } catch { /* closed */ }
  }

  #stmt(sql: string): StatementSync {
    let statement = this.#statements.get(sql);
    if (statement === undefined) {
      statement = this.#db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }
}
