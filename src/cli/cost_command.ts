/**
 * `pflow cost report` and `pflow cost show`: LLM spend across runs, from
 * the ledger every run writes (PFLOW_HOME/ledger.db).
 * @module
 */
import { ledgerCommandFailure } from "./ledger_failure.ts";
import { matchModels } from "../ledger/model_match.ts";
import { checkTimeZone, localDateTime, localTimeZone, parseBound } from "../ledger/period.ts";
import {
  costReport,
  findRun,
  GROUP_BYS,
  type GroupBy,
  loadLabels,
  type Report,
  type ReportFilters,
  type ReportRow,
  runCost,
  topSpenders,
  UnknownRunError,
} from "../ledger/report.ts";
import { LedgerStore } from "../ledger/store.ts";
import { type LedgerPhase, type LedgerRunStatus, RUN_STATUSES } from "../ledger/types.ts";
import { loadPriceTable, type PriceTable } from "../pricing/table.ts";
import { parseCommand, type Parsed } from "./args.ts";
import { reportMarkdown, reportText, runCostText, topText, type ViewContext } from "./cost_view.ts";
import { formatCount } from "./format.ts";
import { showHelp } from "./show_help.ts";
import { outputFileDocument, writeOutputFile } from "./output_file.ts";
import { pflowHome } from "./home.ts";
import { type CommandEnv, EXIT } from "./command.ts";
import {
  escapeControls,
  isTerminal,
  PLAIN_STYLE,
  printError,
  stdoutStyle,
  writeDisplay,
  writeStdout,
} from "./terminal.ts";
import { UsageError } from "./usage_error.ts";

const REPORT_FLAGS = {
  by: { type: "string" },
  breakdown: { type: "boolean" },
  since: { type: "string" },
  until: { type: "string" },
  workflow: { type: "string" },
  model: { type: "string" },
  status: { type: "string" },
  phase: { type: "string" },
  timezone: { type: "string" },
  top: { type: "string" },
  format: { type: "string" },
  output: { type: "string", short: "o" },
  reprice: { type: "boolean" },
  "price-table": { type: "string" },
} as const;

/** Runs `pflow cost …`; returns the exit code. */
export async function costCommand(argv: string[], { env }: CommandEnv): Promise<number> {
  const [action, ...rest] = argv;
  if (action === undefined || action === "-h" || action === "--help") {
    return showHelp("cost", { asked: action !== undefined });
  }
  if (action !== "report" && action !== "show") {
    throw new UsageError(`unknown cost command '${action}': use report or show`, "cost");
  }
  try {
    return action === "report" ? await reportCommand(rest, env) : showCommand(rest, env);
  } catch (error) {
    if (error instanceof UnknownRunError) {
      printError(`error: ${error.message}`);
      return EXIT.usage;
    }
    return ledgerCommandFailure(error, { home: pflowHome(env), command: "cost" });
  }
}

/**
 * The ledger of `home`, opened (created when absent), its inbox folded in, runs whose process is gone settled;
 * a copy in memory when it cannot be written (see {@link LedgerStore.openForReading}).
 */
function openLedger(home: string): LedgerStore {
  const { store, warnings, notice } = LedgerStore.openForReading(home, { settle: true });
  if (notice !== undefined) printError(`warning: ledger: ${notice}`);
  for (const warning of warnings) printError(`warning: ledger: ${warning}`);
  return store;
}

type Format = "text" | "json" | "md";

async function reportCommand(argv: string[], env: CommandEnv["env"]): Promise<number> {
  const parsed = parseCommand(argv, { command: "cost", subcommand: "report", flags: REPORT_FLAGS });
  if (parsed.values.help) return showHelp("cost");
  if (parsed.positionals.length > 0) {
    throw new UsageError(`unexpected argument '${parsed.positionals[0]}': see 'pflow cost --help'`, "cost");
  }
  const options = reportOptions(parsed, Date.now());
  const home = pflowHome(env);
  const table = await loadPriceTable({ home, priceTable: parsed.values["price-table"] as string | undefined });
  const store = openLedger(home);
  try {
    const filters = { ...options.filters };
    if (options.model !== undefined) {
      filters.models = matchModels(options.model, loadLabels(store.db).all("model"), table);
    }
    const reprice = options.reprice ? table : undefined;
    const report = costReport(store.db, {
      groupBy: options.groupBy,
      filters,
      timezone: options.timezone,
      reprice,
      breakdown: options.breakdown,
    });
    const top = options.top !== undefined || options.format === "md"
      ? topSpenders(store.db, { filters, limit: options.top ?? 10 })
      : undefined;
    const style = stdoutStyle(env);
    const ctx: ViewContext = {
      timezone: options.timezone,
      style: options.output !== undefined || options.format !== "text" ? PLAIN_STYLE : style,
      columns: isTerminal(1) && options.output === undefined ? process.stdout.columns : undefined,
      repriced: reprice ? { version: table.version, source: table.source } : undefined,
      period: describePeriod(options),
      breakdown: options.breakdown,
    };
    let text: string;
    if (options.format === "json") {
      text = `${JSON.stringify(reportJson(report, { options, filters, table, top }), null, 2)}\n`;
    } else if (options.format === "md") {
      const byModel = options.groupBy === "model" ? report : costReport(store.db, {
        groupBy: "model",
        filters,
        timezone: options.timezone,
        reprice,
      });
      const byWorkflow = options.groupBy === "workflow" ? report : costReport(store.db, {
        groupBy: "workflow",
        filters,
        timezone: options.timezone,
        reprice,
      });
      // A document for files and pipes: data in it (workflow names, a price file's path) carries no control.
      text = escapeControls(
        reportMarkdown({ main: report, byModel, byWorkflow, top: top!, limit: options.top ?? 10 }, ctx),
      );
    } else {
      text = reportText(report, ctx);
      if (top !== undefined) text += topText(top, { ...ctx, limit: options.top! });
    }
    if (options.output !== undefined) {
      const failed = await writeOutputFile(options.output, text);
      if (failed !== undefined) {
        printError(`error: ${failed}`);
        return EXIT.usage;
      }
      printError(`Report written: ${options.output}`);
      // JSON mode's one document on stdout: where the report went (the report itself is in the file).
      if (options.format === "json") writeStdout(outputFileDocument(options.output));
    } else if (options.format === "text") writeDisplay(text);
    else writeStdout(text);
    if (report.rows.length === 0 && options.format === "text") {
      // By model or node, rows come from LLM calls only: runs without any may still be there.
      const runs = options.groupBy === "model" || options.groupBy === "node"
        ? costReport(store.db, { groupBy: "workflow", filters, timezone: options.timezone }).totals.runs
        : 0;
      printError(emptyHint(options, runs));
    }
    return EXIT.ok;
  } finally {
    store.close();
  }
}

/** Parsed `cost report` flags. */
interface ReportOptions {
  groupBy: GroupBy;
  breakdown: boolean;
  filters: ReportFilters;
  model: string | undefined;
  timezone: string;
  top: number | undefined;
  format: Format;
  output: string | undefined;
  reprice: boolean;
  since: string | undefined;
  until: string | undefined;
}

function reportOptions(parsed: Parsed, nowMs: number): ReportOptions {
  const v = parsed.values;
  const text = (name: string) => v[name] as string | undefined;
  const by = text("by") ?? "day";
  if (!(GROUP_BYS as readonly string[]).includes(by)) {
    throw new UsageError(`--by must be one of ${GROUP_BYS.join(", ")}; got '${by}'`, "cost");
  }
  const zoneName = text("timezone") ?? localTimeZone();
  const timezone = checkTimeZone(zoneName);
  if (timezone === undefined) {
    throw new UsageError(
      `--timezone: unknown time zone '${zoneName}'; use an IANA name like Europe/Berlin, Asia/Tokyo or UTC`,
      "cost",
    );
  }
  const filters: ReportFilters = {};
  const since = text("since");
  const until = text("until");
  if (since !== undefined) filters.sinceMs = parseBound(since, { flag: "since", zone: timezone, nowMs });
  if (until !== undefined) filters.untilMs = parseBound(until, { flag: "until", zone: timezone, nowMs });
  if (filters.sinceMs !== undefined && filters.untilMs !== undefined && filters.sinceMs > filters.untilMs) {
    throw new UsageError(`--since ${since} is after --until ${until}`, "cost");
  }
  if (text("workflow") !== undefined) filters.workflow = text("workflow");
  const status = text("status");
  if (status !== undefined) {
    const statuses = status.split(",").map((s) => s.trim());
    for (const s of statuses) {
      if (!(RUN_STATUSES as readonly string[]).includes(s)) {
        throw new UsageError(
          `--status must be ${RUN_STATUSES.join(", ")} (or several, comma-separated); got '${s}'`,
          "cost",
        );
      }
    }
    filters.statuses = statuses as LedgerRunStatus[];
  }
  const phase = text("phase");
  if (phase !== undefined) {
    if (phase !== "planner" && phase !== "workflow") {
      throw new UsageError(`--phase must be planner or workflow; got '${phase}'`, "cost");
    }
    filters.phase = phase as LedgerPhase;
  }
  const topText = text("top");
  if (topText !== undefined && !/^[1-9]\d{0,5}$/.test(topText)) {
    throw new UsageError(`--top must be a positive whole number; got '${topText}'`, "cost");
  }
  const json = v.json === true || v["output-format"] === "json";
  const formatText = text("format") ?? (json ? "json" : "text");
  if (!["text", "json", "md"].includes(formatText)) {
    throw new UsageError(`--format must be text, json or md; got '${formatText}'`, "cost");
  }
  if (json && formatText !== "json") {
    const given = v.json === true ? "--json" : "--output-format json";
    throw new UsageError(`${given} contradicts --format ${formatText}`, "cost");
  }
  // `--format json --output-format text`: the text asked for would not be what is printed (Markdown is text).
  if (v["output-format"] === "text" && formatText === "json") {
    throw new UsageError("--output-format text contradicts --format json", "cost");
  }
  const model = text("model");
  if (model !== undefined && model.trim() === "") throw new UsageError("--model needs a model id", "cost");
  if (v["price-table"] !== undefined && v.reprice !== true && model === undefined) {
    throw new UsageError(
      "--price-table is used with --reprice (or --model): pflow cost report --reprice --price-table FILE",
      "cost",
    );
  }
  return {
    groupBy: by as GroupBy,
    breakdown: v.breakdown === true,
    filters,
    model,
    timezone,
    top: topText === undefined ? undefined : Number(topText),
    format: formatText as Format,
    output: text("output"),
    reprice: v.reprice === true,
    since,
    until,
  };
}

function describePeriod(options: ReportOptions): string {
  const { sinceMs, untilMs } = options.filters;
  if (sinceMs === undefined && untilMs === undefined) return "all time";
  const at = (ms: number) => localDateTime(options.timezone, ms);
  if (untilMs === undefined) return `since ${at(sinceMs!)}`;
  if (sinceMs === undefined) return `until ${at(untilMs)}`;
  return `${at(sinceMs)} → ${at(untilMs)}`;
}

/** Why a text report has no rows; `runs`: the runs it covers (a report by model or node has none of their calls). */
function emptyHint(options: ReportOptions, runs: number): string {
  const filtered = Object.keys(options.filters).length > 0 || options.model !== undefined;
  if (runs > 0) {
    const which = filtered
      ? `${runs === 1 ? "The 1 run that matches" : `None of the ${formatCount(runs)} runs that match`} these filters`
      : `${runs === 1 ? "The ledger's 1 run" : `None of the ledger's ${formatCount(runs)} runs`}`;
    return `${which} ${runs === 1 ? "made no" : "made an"} LLM call: nothing to show by ${options.groupBy}. ` +
      "Runs without calls are counted by day, week, month, workflow and run.";
  }
  if (filtered) return "No runs match these filters. Widen them, e.g. drop --since/--until or --model.";
  return "The ledger has no runs yet. Every 'pflow run' records one (unless --no-ledger or PFLOW_LEDGER=off).";
}

/** The `--json` document (field names documented in the README and stable). */
function reportJson(
  report: Report,
  ctx: {
    options: ReportOptions;
    filters: ReportFilters;
    table: PriceTable;
    top: ReturnType<typeof topSpenders> | undefined;
  },
): Record<string, unknown> {
  const { options } = ctx;
  const iso = (ms: number | undefined) => ms === undefined ? null : new Date(ms).toISOString();
  const row = (r: ReportRow): ReportRow => {
    if (r.breakdown === undefined) return r;
    const { breakdown, ...rest } = r;
    return options.breakdown ? { ...rest, breakdown: breakdown.map(row) } : rest;
  };
  return {
    since: iso(options.filters.sinceMs),
    until: iso(options.filters.untilMs),
    timezone: options.timezone,
    group_by: report.group_by,
    filters: {
      workflow: options.filters.workflow ?? null,
      model: options.model ?? null,
      models_matched: ctx.filters.models ?? null,
      status: options.filters.statuses ?? null,
      phase: options.filters.phase ?? null,
    },
    rows: report.rows.map(row),
    totals: report.totals,
    unpriced_models: report.unpriced_models,
    usage_missing_models: report.usage_missing_models,
    price_table: {
      version: ctx.table.version,
      source: ctx.table.source,
      repriced: options.reprice,
      ...(options.reprice ? { unpriced_models: report.repriced_unpriced_models ?? [] } : {}),
    },
    ...(ctx.top ? { top_runs: ctx.top.runs, top_nodes: ctx.top.nodes } : {}),
  };
}

function showCommand(argv: string[], env: CommandEnv["env"]): number {
  const parsed = parseCommand(argv, { command: "cost", subcommand: "show", flags: { timezone: { type: "string" } } });
  if (parsed.values.help) return showHelp("cost");
  if (parsed.positionals.length > 1) {
    throw new UsageError("usage: pflow cost show [RUN|latest] [--json]", "cost");
  }
  const zoneName = (parsed.values.timezone as string | undefined) ?? localTimeZone();
  const timezone = checkTimeZone(zoneName);
  if (timezone === undefined) throw new UsageError(`--timezone: unknown time zone '${zoneName}'`, "cost");
  const store = openLedger(pflowHome(env));
  try {
    const cost = runCost(store.db, findRun(store.db, parsed.positionals[0] ?? "latest"));
    if (parsed.values.json === true || parsed.values["output-format"] === "json") {
      writeStdout(`${JSON.stringify(cost, null, 2)}\n`);
    } else writeDisplay(runCostText(cost, { timezone, style: stdoutStyle(env) }));
    return EXIT.ok;
  } finally {
    store.close();
  }
}
