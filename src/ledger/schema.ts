/**
 * The ledger's schema and its forward migrations. `PRAGMA user_version`
 * holds the version; a fresh file runs every migration in order, so the
 * upgrade path of old ledgers is the path every ledger takes.
 *
 * Version 2 is laid out for reports over millions of calls: strings are
 * stored once (`labels`) and referenced by id; besides one row per call,
 * the writer keeps `usage`, one row per run, phase, node and model with the
 * sums of its calls, its run's start and workflow, and "first of its run"
 * flags (so distinct runs per model, node or day are counted in one pass).
 * Reports aggregate `usage` in SQL over covering indexes; call rows serve
 * one run's detail. Version 4 lets repricing use the rollup too (its 1-hour
 * cache writes, and an index of call rows by request input for the
 * long-context tiers, which apply per request). Version 5 tells calls whose
 * usage the provider did not report from calls of a model without a price,
 * and records the process of each run (pid, host, start), so that readers
 * can settle a run whose process died without recording its end. Version 6
 * counts a node execution in the usage row of each model it called
 * (`model_executions`), besides once at its first call (`executions`, whose
 * sum over models counts each execution once). Version 7 stores no token
 * of a call whose usage is missing (unknown tokens; version 6 kept what a
 * cut-off stream had reported so far, and counted it in the totals).
 * Version 8 indexes the calls with a provider-reported cost, which
 * repricing keeps (their tokens are taken out of the rollup's sums).
 * @module
 */

/** The schema version this pflow writes. */
export const SCHEMA_VERSION = 8;

/**
 * Upper bounds (seconds) of the duration histograms the ledger keeps:
 * LLM calls (the GenAI semantic conventions' advised boundaries for
 * `gen_ai.client.operation.duration`), node executions and runs. A row
 * stores the count of each bucket (not cumulative); above the last bound
 * is `+Inf`, the rest of the count.
 */
export const BUCKETS = {
  llm: [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92],
  node: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
  run: [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600],
} as const;

/** A bound in milliseconds, exactly (`20.48` s is 20480 ms, not 20480.000000000004). */
export function boundMs(seconds: number): number {
  return Math.round(seconds * 1e6) / 1e3;
}

/** The bucket a duration in ms falls in (its index; `bounds.length` for `+Inf`). */
export function bucketOf(bounds: readonly number[], ms: number): number {
  let i = 0;
  while (i < bounds.length && ms > boundMs(bounds[i])) i++;
  return i;
}

/** Column names of a stored histogram: `prefix0 … prefixN` (one per finite bound). */
export function bucketColumns(prefix: string, bounds: readonly number[]): string[] {
  return bounds.map((_, i) => `${prefix}${i}`);
}

/** SQL counting the rows of `column` (ms) in each finite bucket (for a migration or a query). */
export function bucketSums(column: string, bounds: readonly number[]): string[] {
  return bounds.map((bound, i) => {
    const low = i === 0 ? "" : `${column} > ${boundMs(bounds[i - 1])} AND `;
    return `total(${low}${column} <= ${boundMs(bound)})`;
  });
}

/**
 * Usage-row flags: this row is its run's first (in write order) for …
 * (set by the writer: one process writes a run).
 */
export const FLAG = {
  /** … the run. */
  run: 1,
  /** … its phase. */
  runPhase: 2,
  /** … its model. */
  runModel: 4,
  /** … its phase and model. */
  runPhaseModel: 8,
  /** … its phase and node. */
  runPhaseNode: 16,
} as const;

/**
 * The flags of the usage row a call opens, whether it is its node execution's first call, and whether it is
 * its node execution's first call of its model, given the keys already seen in its run (updated).
 */
export function callFirsts(
  seen: Set<string>,
  call: { phase: string; node: string | null; model: string; nodeExecution: number | null },
): { flags: number; newExecution: boolean; newModelExecution: boolean } {
  let flags = 0;
  const first = (key: string) => {
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  };
  const { phase, node, model } = call;
  if (first("r")) flags |= FLAG.run;
  if (first(`p\0${phase}`)) flags |= FLAG.runPhase;
  if (first(`m\0${model}`)) flags |= FLAG.runModel;
  if (first(`pm\0${phase}\0${model}`)) flags |= FLAG.runPhaseModel;
  if (first(`pn\0${phase}\0${node}`)) flags |= FLAG.runPhaseNode;
  const execution = `e\0${phase}\0${node}\0${call.nodeExecution}`;
  return { flags, newExecution: first(execution), newModelExecution: first(`${execution}\0${model}`) };
}

/** `usage.node` of calls made outside any node. */
export const NO_NODE = 0;

/** Phase codes stored in `calls.phase`. */
export const PHASE_CODE = { workflow: 0, planner: 1 } as const;

/** The columns the covering indexes of `usage` carried after their keys (the summed ones) up to version 3. */
const SUMMED_V2 = "calls, errors, executions, input_tokens, cache_read_tokens, cache_write_tokens, output_tokens, " +
  "reasoning_tokens, cost_usd, unpriced_calls";

/** The summed columns of the report indexes in version 4 (the 1-hour cache writes, for repricing). */
const SUMMED_V4 = `${SUMMED_V2}, cache_write_1h_tokens`;

/**
 * The summed columns of the report indexes from version 5. `unpriced_calls` counts the calls of unknown
 * cost, `usage_missing_calls` those of them whose usage was not reported (the rest: a model without a price).
 */
const SUMMED = `${SUMMED_V4}, usage_missing_calls`;

/**
 * A call row's request input (uncached + cache read + cache writes), the quantity a long-context
 * tier's threshold applies to; indexed (`calls_request_input`), so repricing finds the few
 * requests above a threshold without reading every call row.
 */
export const REQUEST_INPUT =
  "(c.input_tokens + c.cache_read_tokens + c.cache_write_5m_tokens + c.cache_write_1h_tokens)";

let built: readonly string[] | undefined;

/**
 * The migrations: migration `i` takes a ledger from version `i` to `i + 1`. Built when first asked for (by
 * a process that opens the ledger): every run loads this module, and building the SQL at load cost a Bun
 * process about 1 ms of its start.
 */
export function migrations(): readonly string[] {
  return built ??= buildMigrations();
}

function buildMigrations(): readonly string[] {
  return [
    // 0 → 1: the first ledger (one row per run and per call, names as text).
    `CREATE TABLE runs(
     execution_id TEXT PRIMARY KEY,
     trace_id TEXT,
     workflow_name TEXT NOT NULL,
     workflow_file TEXT,
     workflow_hash TEXT,
     saved_name TEXT,
     started_at TEXT NOT NULL,
     ended_at TEXT,
     duration_ms REAL,
     status TEXT NOT NULL,
     subtype TEXT,
     nodes_executed INTEGER,
     cost_usd REAL,
     computed_cost_usd REAL,
     reported_cost_usd REAL,
     price_version TEXT,
     price_source TEXT,
     pricing_complete INTEGER,
     pflow_version TEXT,
     trace_file TEXT
   );
   CREATE TABLE calls(
     id INTEGER PRIMARY KEY,
     execution_id TEXT NOT NULL,
     phase TEXT NOT NULL,
     node_id TEXT,
     node_execution INTEGER,
     item_index INTEGER,
     provider TEXT NOT NULL,
     model TEXT NOT NULL,
     price_model TEXT,
     response_model TEXT,
     input_tokens INTEGER NOT NULL,
     cache_read_tokens INTEGER NOT NULL,
     cache_write_5m_tokens INTEGER NOT NULL,
     cache_write_1h_tokens INTEGER NOT NULL,
     output_tokens INTEGER NOT NULL,
     reasoning_tokens INTEGER NOT NULL,
     cost_usd REAL,
     reported_cost_usd REAL,
     price_version TEXT,
     duration_ms REAL,
     ttft_ms REAL,
     request_id TEXT,
     status TEXT NOT NULL
   );
   CREATE INDEX calls_execution ON calls(execution_id);
   CREATE INDEX runs_started ON runs(started_at);`,

    // 1 → 2: labels, integer run ids, per-run totals, call flags, covering indexes.
    `CREATE TABLE labels(
     id INTEGER PRIMARY KEY,
     kind TEXT NOT NULL,
     text TEXT NOT NULL,
     UNIQUE(kind, text)
   );
   CREATE TABLE meta(key TEXT PRIMARY KEY, value) WITHOUT ROWID;
   CREATE TABLE runs2(
     id INTEGER PRIMARY KEY,
     execution_id TEXT NOT NULL UNIQUE,
     trace_id TEXT,
     kind TEXT NOT NULL DEFAULT 'workflow',
     workflow INTEGER NOT NULL,
     workflow_file TEXT,
     workflow_hash TEXT,
     saved_name TEXT,
     started_ms INTEGER NOT NULL,
     ended_ms INTEGER,
     duration_ms REAL,
     status TEXT NOT NULL,
     subtype TEXT,
     nodes_executed INTEGER,
     llm_calls INTEGER NOT NULL DEFAULT 0,
     input_tokens INTEGER NOT NULL DEFAULT 0,
     cache_read_tokens INTEGER NOT NULL DEFAULT 0,
     cache_write_tokens INTEGER NOT NULL DEFAULT 0,
     output_tokens INTEGER NOT NULL DEFAULT 0,
     reasoning_tokens INTEGER NOT NULL DEFAULT 0,
     cost_usd REAL NOT NULL DEFAULT 0,
     computed_cost_usd REAL,
     reported_cost_usd REAL,
     unpriced_calls INTEGER NOT NULL DEFAULT 0,
     pricing_complete INTEGER,
     price_version TEXT,
     price_source TEXT,
     pflow_version TEXT,
     trace_file TEXT,
     planner_path TEXT,
     planner_trace_file TEXT,
     duration_planner_ms REAL
   );
   INSERT INTO labels(kind, text)
     SELECT 'workflow', workflow_name FROM runs
     UNION SELECT 'model', model FROM calls
     UNION SELECT 'model', price_model FROM calls WHERE price_model IS NOT NULL
     UNION SELECT 'provider', provider FROM calls
     UNION SELECT 'node', node_id FROM calls WHERE node_id IS NOT NULL;
   INSERT INTO runs2(execution_id, trace_id, workflow, workflow_file, workflow_hash, saved_name, started_ms, ended_ms,
       duration_ms, status, subtype, nodes_executed, cost_usd, computed_cost_usd, reported_cost_usd, pricing_complete,
       price_version, price_source, pflow_version, trace_file)
     SELECT execution_id, trace_id, (SELECT id FROM labels WHERE kind = 'workflow' AND text = workflow_name),
       workflow_file, workflow_hash, saved_name,
       CAST(round((julianday(started_at) - 2440587.5) * 86400000) AS INTEGER),
       CAST(round((julianday(ended_at) - 2440587.5) * 86400000) AS INTEGER),
       duration_ms, status, subtype, nodes_executed, coalesce(cost_usd, 0), computed_cost_usd, reported_cost_usd,
       pricing_complete, price_version, price_source, pflow_version, trace_file
     FROM runs ORDER BY started_at;
   CREATE TABLE calls2(
     id INTEGER PRIMARY KEY,
     run INTEGER NOT NULL,
     started_ms INTEGER NOT NULL,
     workflow INTEGER NOT NULL,
     phase INTEGER NOT NULL,
     node INTEGER,
     model INTEGER NOT NULL,
     status INTEGER NOT NULL,
     input_tokens INTEGER NOT NULL,
     cache_read_tokens INTEGER NOT NULL,
     cache_write_5m_tokens INTEGER NOT NULL,
     cache_write_1h_tokens INTEGER NOT NULL,
     output_tokens INTEGER NOT NULL,
     reasoning_tokens INTEGER NOT NULL,
     cost_usd REAL,
     reported_cost_usd REAL,
     node_execution INTEGER,
     item_index INTEGER,
     provider INTEGER NOT NULL,
     price_model INTEGER,
     response_model TEXT,
     price_version TEXT,
     duration_ms REAL,
     ttft_ms REAL,
     request_id TEXT,
     error_type TEXT,
     start_offset_ms REAL
   );
   INSERT INTO calls2(id, run, started_ms, workflow, phase, node, model, status, input_tokens,
       cache_read_tokens, cache_write_5m_tokens, cache_write_1h_tokens, output_tokens, reasoning_tokens, cost_usd,
       reported_cost_usd, node_execution, item_index, provider, price_model, response_model, price_version,
       duration_ms, ttft_ms, request_id)
     SELECT c.id, r.id, r.started_ms, r.workflow, CASE c.phase WHEN 'planner' THEN 1 ELSE 0 END, n.id, m.id,
       CASE c.status WHEN 'error' THEN 1 ELSE 0 END, c.input_tokens, c.cache_read_tokens, c.cache_write_5m_tokens,
       c.cache_write_1h_tokens, c.output_tokens, c.reasoning_tokens, c.cost_usd, c.reported_cost_usd,
       c.node_execution, c.item_index, p.id, pm.id, c.response_model, c.price_version, c.duration_ms, c.ttft_ms,
       c.request_id
     FROM calls c
     JOIN runs2 r ON r.execution_id = c.execution_id
     JOIN labels m ON m.kind = 'model' AND m.text = c.model
     JOIN labels p ON p.kind = 'provider' AND p.text = c.provider
     LEFT JOIN labels n ON n.kind = 'node' AND n.text = c.node_id
     LEFT JOIN labels pm ON pm.kind = 'model' AND pm.text = c.price_model
     ORDER BY c.id;
   UPDATE runs2 SET (llm_calls, input_tokens, cache_read_tokens, cache_write_tokens, output_tokens, reasoning_tokens,
       unpriced_calls) = (
     SELECT count(*), total(input_tokens), total(cache_read_tokens),
       total(cache_write_5m_tokens + cache_write_1h_tokens), total(output_tokens), total(reasoning_tokens),
       total(cost_usd IS NULL AND reported_cost_usd IS NULL)
     FROM calls2 WHERE calls2.run = runs2.id);
   DROP TABLE calls;
   DROP TABLE runs;
   ALTER TABLE runs2 RENAME TO runs;
   ALTER TABLE calls2 RENAME TO calls;
   CREATE INDEX runs_started ON runs(started_ms);
   CREATE INDEX calls_run ON calls(run);
   CREATE TABLE usage(
     run INTEGER NOT NULL,
     phase INTEGER NOT NULL,
     node INTEGER NOT NULL,
     model INTEGER NOT NULL,
     started_ms INTEGER NOT NULL,
     workflow INTEGER NOT NULL,
     flags INTEGER NOT NULL,
     calls INTEGER NOT NULL,
     errors INTEGER NOT NULL,
     executions INTEGER NOT NULL,
     input_tokens INTEGER NOT NULL,
     cache_read_tokens INTEGER NOT NULL,
     cache_write_tokens INTEGER NOT NULL,
     output_tokens INTEGER NOT NULL,
     reasoning_tokens INTEGER NOT NULL,
     cost_usd REAL NOT NULL,
     unpriced_calls INTEGER NOT NULL,
     PRIMARY KEY(run, phase, node, model)
   );
   INSERT INTO usage
     SELECT run, phase, n, model, min(started_ms), min(workflow), 0, count(*), total(status = 1),
       count(DISTINCT node_execution) + max(node_execution IS NULL), total(input_tokens), total(cache_read_tokens),
       total(cache_write_5m_tokens + cache_write_1h_tokens), total(output_tokens), total(reasoning_tokens),
       total(coalesce(reported_cost_usd, cost_usd)), total(coalesce(reported_cost_usd, cost_usd) IS NULL)
     FROM (SELECT *, coalesce(node, ${NO_NODE}) AS n FROM calls) GROUP BY run, phase, n, model;
   UPDATE usage SET flags =
     ((SELECT min(rowid) FROM usage u WHERE u.run = usage.run) = usage.rowid) * ${FLAG.run}
     + ((SELECT min(rowid) FROM usage u WHERE u.run = usage.run AND u.phase = usage.phase) = usage.rowid)
       * ${FLAG.runPhase}
     + ((SELECT min(rowid) FROM usage u WHERE u.run = usage.run AND u.model = usage.model) = usage.rowid)
       * ${FLAG.runModel}
     + ((SELECT min(rowid) FROM usage u WHERE u.run = usage.run AND u.phase = usage.phase AND u.model = usage.model)
       = usage.rowid) * ${FLAG.runPhaseModel}
     + ((SELECT min(rowid) FROM usage u WHERE u.run = usage.run AND u.phase = usage.phase AND u.node = usage.node)
       = usage.rowid) * ${FLAG.runPhaseNode};
   CREATE INDEX usage_by_model ON usage(model, phase, flags, run, started_ms, workflow, ${SUMMED_V2});
   CREATE INDEX usage_by_node ON usage(workflow, phase, node, model, flags, run, started_ms, ${SUMMED_V2});
   CREATE INDEX usage_by_time ON usage(started_ms, model, phase, flags, run, workflow, node, ${SUMMED_V2});`,
    // 2 → 3: duration histograms of LLM calls in the usage rollup; node executions per run, type and status;
    // covering indexes for the metrics (one ordered scan per table).
    `${
      [
        "timed_calls INTEGER NOT NULL DEFAULT 0",
        "duration_ms_sum REAL NOT NULL DEFAULT 0",
        ...bucketColumns("ld", BUCKETS.llm).map((c) => `${c} INTEGER NOT NULL DEFAULT 0`),
      ]
        .map((column) => `ALTER TABLE usage ADD COLUMN ${column};`).join("\n")
    }
   UPDATE usage SET (${["timed_calls", "duration_ms_sum", ...bucketColumns("ld", BUCKETS.llm)].join(", ")}) = (
     SELECT count(c.duration_ms), total(c.duration_ms), ${bucketSums("c.duration_ms", BUCKETS.llm).join(", ")}
     FROM calls c
     WHERE c.run = usage.run AND c.phase = usage.phase AND coalesce(c.node, ${NO_NODE}) = usage.node
       AND c.model = usage.model);
   CREATE TABLE node_usage(
     run INTEGER NOT NULL,
     started_ms INTEGER NOT NULL,
     node_type TEXT NOT NULL,
     status TEXT NOT NULL,
     executions INTEGER NOT NULL,
     timed INTEGER NOT NULL,
     duration_ms_sum REAL NOT NULL,
     ${bucketColumns("nd", BUCKETS.node).map((c) => `${c} INTEGER NOT NULL`).join(",\n     ")},
     PRIMARY KEY(run, node_type, status)
   );
   CREATE INDEX usage_metrics ON usage(model, started_ms, calls, errors, input_tokens, cache_read_tokens,
     cache_write_tokens, output_tokens, reasoning_tokens, cost_usd, unpriced_calls, timed_calls, duration_ms_sum,
     ${bucketColumns("ld", BUCKETS.llm).join(", ")});
   CREATE INDEX node_usage_metrics ON node_usage(node_type, status, started_ms, executions, timed, duration_ms_sum,
     ${bucketColumns("nd", BUCKETS.node).join(", ")});
   CREATE INDEX runs_metrics ON runs(workflow, status, started_ms, ended_ms, duration_ms, llm_calls);`,
    // 3 → 4: repricing from the rollup. Usage rows keep their 1-hour cache writes (priced apart from 5-minute
    // ones), the report indexes cover them, and call rows are indexed by request input: repricing prices the
    // rollup's sums at base prices and reads only the calls above a long-context threshold.
    `ALTER TABLE usage ADD COLUMN cache_write_1h_tokens INTEGER NOT NULL DEFAULT 0;
   UPDATE usage SET cache_write_1h_tokens = (
     SELECT total(c.cache_write_1h_tokens) FROM calls c
     WHERE c.run = usage.run AND c.phase = usage.phase AND coalesce(c.node, ${NO_NODE}) = usage.node
       AND c.model = usage.model)
   WHERE run IN (SELECT run FROM calls WHERE cache_write_1h_tokens > 0);
   DROP INDEX IF EXISTS usage_by_model;
   DROP INDEX IF EXISTS usage_by_node;
   DROP INDEX IF EXISTS usage_by_time;
   CREATE INDEX usage_by_model ON usage(model, phase, flags, run, started_ms, workflow, ${SUMMED_V4});
   CREATE INDEX usage_by_node ON usage(workflow, phase, node, model, flags, run, started_ms, ${SUMMED_V4});
   CREATE INDEX usage_by_time ON usage(started_ms, model, phase, flags, run, workflow, node, ${SUMMED_V4});
   CREATE INDEX calls_request_input ON calls(${REQUEST_INPUT.replaceAll("c.", "")});`,
    // 4 → 5: calls whose usage was not reported, told from calls of a model without a price (both have no
    // cost). Version 4 stored both alike: a call without a cost whose model was priced (price_model set) can
    // only have lacked usage, and so can a successful call without a cost that counted no token at all (a
    // response always has input tokens). A failed attempt of a model without a price and with no tokens stays
    // unpriced (rejected requests, whose 0 tokens are known, look the same). And each run's process (pid, host,
    // start: run_process.ts), with the running runs indexed apart for readers to check them; older rows have
    // none, and readers settle those still running like runs whose process is gone (see LedgerStore.settleRuns).
    `ALTER TABLE calls ADD COLUMN usage_missing INTEGER NOT NULL DEFAULT 0;
   UPDATE calls SET usage_missing = 1
   WHERE run IN (SELECT run FROM usage WHERE unpriced_calls > 0)
     AND cost_usd IS NULL AND reported_cost_usd IS NULL
     AND (price_model IS NOT NULL OR (status = 0 AND ${REQUEST_INPUT.replaceAll("c.", "")} + output_tokens = 0));
   ALTER TABLE usage ADD COLUMN usage_missing_calls INTEGER NOT NULL DEFAULT 0;
   UPDATE usage SET usage_missing_calls = (
     SELECT count(*) FROM calls c
     WHERE c.run = usage.run AND c.phase = usage.phase AND coalesce(c.node, ${NO_NODE}) = usage.node
       AND c.model = usage.model AND c.usage_missing = 1)
   WHERE unpriced_calls > 0;
   DROP INDEX IF EXISTS usage_by_model;
   DROP INDEX IF EXISTS usage_by_node;
   DROP INDEX IF EXISTS usage_by_time;
   DROP INDEX IF EXISTS usage_metrics;
   CREATE INDEX usage_by_model ON usage(model, phase, flags, run, started_ms, workflow, ${SUMMED});
   CREATE INDEX usage_by_node ON usage(workflow, phase, node, model, flags, run, started_ms, ${SUMMED});
   CREATE INDEX usage_by_time ON usage(started_ms, model, phase, flags, run, workflow, node, ${SUMMED});
   CREATE INDEX usage_metrics ON usage(model, started_ms, calls, errors, input_tokens, cache_read_tokens,
     cache_write_tokens, output_tokens, reasoning_tokens, cost_usd, unpriced_calls, usage_missing_calls, timed_calls,
     duration_ms_sum, ${bucketColumns("ld", BUCKETS.llm).join(", ")});
   ALTER TABLE runs ADD COLUMN pid INTEGER;
   ALTER TABLE runs ADD COLUMN host TEXT;
   ALTER TABLE runs ADD COLUMN process_start TEXT;
   CREATE INDEX runs_running ON runs(status) WHERE status = 'running';`,
    // 5 → 6: a node execution counts in the usage row of each model it called (`model_executions`); up to
    // version 5 it counted only in its first call's row. Where a run's node used one model both are the same;
    // where it used several, both are counted again from the call rows (an execution's first call is its
    // lowest id: calls are written in the order the writer saw them). The node report's index covers it.
    `ALTER TABLE usage ADD COLUMN model_executions INTEGER NOT NULL DEFAULT 0;
   UPDATE usage SET model_executions = executions;
   UPDATE usage SET
     model_executions = (
       SELECT count(DISTINCT c.node_execution) + max(c.node_execution IS NULL) FROM calls c
       WHERE c.run = usage.run AND c.phase = usage.phase AND coalesce(c.node, ${NO_NODE}) = usage.node
         AND c.model = usage.model),
     executions = (
       SELECT count(*) FROM calls c
       WHERE c.run = usage.run AND c.phase = usage.phase AND coalesce(c.node, ${NO_NODE}) = usage.node
         AND c.model = usage.model
         AND c.id = (SELECT min(f.id) FROM calls f WHERE f.run = c.run AND f.phase = c.phase AND f.node IS c.node
           AND f.node_execution IS c.node_execution))
   WHERE EXISTS (SELECT 1 FROM usage o WHERE o.run = usage.run AND o.phase = usage.phase AND o.node = usage.node
     AND o.model <> usage.model);
   DROP INDEX IF EXISTS usage_by_node;
   CREATE INDEX usage_by_node ON usage(workflow, phase, node, model, flags, run, started_ms, ${SUMMED},
     model_executions);`,
    // 6 → 7: the tokens of a call whose usage is missing are unknown, so none is stored or counted. Version 6
    // kept the counts such a call had reported so far (a stream cut off after message_start: its input) in
    // its row and in the usage and run totals, where repricing priced them. They leave the totals, then the rows.
    `UPDATE usage SET (input_tokens, cache_read_tokens, cache_write_tokens, cache_write_1h_tokens, output_tokens,
       reasoning_tokens) = (
     SELECT usage.input_tokens - total(c.input_tokens), usage.cache_read_tokens - total(c.cache_read_tokens),
       usage.cache_write_tokens - total(c.cache_write_5m_tokens + c.cache_write_1h_tokens),
       usage.cache_write_1h_tokens - total(c.cache_write_1h_tokens), usage.output_tokens - total(c.output_tokens),
       usage.reasoning_tokens - total(c.reasoning_tokens)
     FROM calls c
     WHERE c.run = usage.run AND c.phase = usage.phase AND coalesce(c.node, ${NO_NODE}) = usage.node
       AND c.model = usage.model AND c.usage_missing = 1)
   WHERE usage_missing_calls > 0;
   UPDATE runs SET (input_tokens, cache_read_tokens, cache_write_tokens, output_tokens, reasoning_tokens) = (
     SELECT runs.input_tokens - total(c.input_tokens), runs.cache_read_tokens - total(c.cache_read_tokens),
       runs.cache_write_tokens - total(c.cache_write_5m_tokens + c.cache_write_1h_tokens),
       runs.output_tokens - total(c.output_tokens), runs.reasoning_tokens - total(c.reasoning_tokens)
     FROM calls c WHERE c.run = runs.id AND c.usage_missing = 1)
   WHERE id IN (SELECT run FROM usage WHERE usage_missing_calls > 0);
   UPDATE calls SET input_tokens = 0, cache_read_tokens = 0, cache_write_5m_tokens = 0, cache_write_1h_tokens = 0,
     output_tokens = 0, reasoning_tokens = 0
   WHERE run IN (SELECT run FROM usage WHERE usage_missing_calls > 0) AND usage_missing = 1;`,
    // 7 → 8: a call whose provider reported its cost (OpenRouter's usage.cost) counts for it, repriced or not:
    // repricing reads those call rows (their tokens and reported costs) through a partial index of them alone.
    `CREATE INDEX calls_reported ON calls(started_ms) WHERE reported_cost_usd IS NOT NULL;`,
  ];
}
