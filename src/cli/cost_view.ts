/**
 * How `pflow cost` reports look: aligned tables for terminals (a compact
 * layout below 100 columns), Markdown for `--format md`.
 * @module
 */
import { localDateTime } from "../ledger/period.ts";
import { type LedgerRunStatus, PROCESS_GONE } from "../ledger/types.ts";
import type { GroupBy, Report, ReportRow, RunCost, TopNode, TopRun, Totals } from "../ledger/report.ts";
import { costKnown, formatCost, formatCount, formatDuration } from "./format.ts";
import {
  type Cell,
  type Column,
  escapeMarkdown,
  oneLine,
  renderMarkdownTable,
  renderTable,
  type Row,
} from "./table.ts";
import { PLAIN_STYLE, type Style } from "./terminal.ts";
import { statusLabel } from "./trace_list.ts";

/** What the views need besides the report. */
export interface ViewContext {
  timezone: string;
  style: Style;
  /** Terminal width, when stdout is a terminal. */
  columns?: number;
  /** The price table prices were repriced with, when `--reprice`. */
  repriced?: { version: string; source: string };
  /** Describes the period (`all time`, `2025-01-01 00:00 → …`). */
  period: string;
  /** `--breakdown`: a row per model under each group. */
  breakdown?: boolean;
}

/** Terminals narrower than this get the compact layout. */
export const COMPACT_BELOW = 100;

const GROUP_HEADERS: Record<GroupBy, string> = {
  day: "DATE",
  week: "WEEK OF",
  month: "MONTH",
  model: "MODEL",
  workflow: "WORKFLOW",
  node: "NODE",
  run: "STARTED",
};

const right = (header: string): Column => ({ header, align: "right" });

/** Runs, calls and the token columns of a row, formatted. */
function countCells(t: Totals): string[] {
  return [
    t.runs,
    t.llm_calls,
    t.input_tokens,
    t.cache_write_tokens,
    t.cache_read_tokens,
    t.output_tokens,
    t.total_tokens,
  ]
    .map(formatCount);
}

/** A row's leading cells (the group), per `--by`. */
function groupColumns(by: GroupBy): Column[] {
  return by === "run"
    ? [{ header: "STARTED" }, { header: "RUN" }, { header: "WORKFLOW" }, { header: "STATUS" }]
    : [{ header: GROUP_HEADERS[by] }];
}

function groupCells(row: ReportRow, by: GroupBy, ctx: ViewContext, label?: Cell): Cell[] {
  if (by !== "run") return [label ?? row.group];
  if (label !== undefined) return ["", label, "", ""];
  return [
    localDateTime(ctx.timezone, Date.parse(row.started_at!)),
    row.execution_id!.slice(0, 8),
    row.workflow!,
    statusCell(row.status!, ctx.style),
  ];
}

const statusCells = new WeakMap<Style, Map<LedgerRunStatus, { text: string; shown: string }>>();

/** A run's status mark and word (`running`: still going, as far as its process tells); one cell per status. */
function statusCell(status: LedgerRunStatus, style: Style): { text: string; shown: string } {
  let cells = statusCells.get(style);
  if (cells === undefined) statusCells.set(style, cells = new Map());
  let cell = cells.get(status);
  if (cell === undefined) {
    const label = (s: Style) =>
      status === "running" ? s.yellow("… running") : statusLabel(status as Parameters<typeof statusLabel>[0], s);
    cell = { text: label(PLAIN_STYLE), shown: label(style) };
    cells.set(status, cell);
  }
  return cell;
}

/**
 * A total's cost (`$1.23`, `$1.23+`, `unpriced`); `unknown` when only calls without usage left it unknown
 * (those and rejected requests: see {@link costKnown}).
 */
function totalCost(t: Totals, repriced = false): string {
  const cost = repriced ? t.repriced_cost_usd ?? null : t.cost_usd;
  // Every call without usage (null, unless some are unpriced), or those and rejected requests.
  if (!costKnown(t.llm_calls, t.usage_missing_calls, t.total_tokens)) return "unknown";
  // Unpriced calls beside free ones: `unpriced`, as the run's summary line says, not `$0+`.
  const unpriced = (repriced ? t.repriced_unpriced_calls ?? 0 : t.unpriced_calls) > 0;
  return formatCost(cost, repriced ? t.repriced_complete ?? true : t.cost_complete, { unpriced });
}

/** A top run's or node's cost, as {@link totalCost} writes a total's (`unknown`, not `unpriced`, without usage). */
function topCost(t: TopRun | TopNode): string {
  return costKnown(t.llm_calls, t.usage_missing_calls, t.total_tokens)
    ? formatCost(t.cost_usd, t.cost_complete, { unpriced: t.unpriced_calls > 0 })
    : "unknown";
}

function costCell(totals: Totals, style: Style, repriced = false): Cell {
  const complete = repriced ? totals.repriced_complete ?? true : totals.cost_complete;
  if (totals.llm_calls === 0) return "-";
  const text = totalCost(totals, repriced);
  return complete ? text : { text, shown: style.yellow(text) };
}

/**
 * The change from the recorded cost to the repriced one. A cost that leaves calls out is a lower bound, and so
 * bounds the change: `≥ +5.0%` when only the repriced one is (its true change is at least that), `≤ -5.0%` when
 * only the recorded one is. When both are, they compare like for like if they leave out as many calls (the same
 * model unpriced then and now, or usage missing: the change of the other calls); else `unknown`.
 */
function changeCell(totals: Totals): string {
  const before = totals.cost_usd;
  const after = totals.repriced_cost_usd ?? null;
  if (before === null || after === null || totals.llm_calls === 0) return "";
  const afterLow = !(totals.repriced_complete ?? true);
  const beforeLow = !totals.cost_complete;
  if (afterLow && beforeLow && totals.repriced_unpriced_calls !== totals.unpriced_calls) return "unknown";
  const bound = afterLow && !beforeLow ? "≥ " : beforeLow && !afterLow ? "≤ " : "";
  if (before === 0) return after === 0 ? `${bound}0%` : "new";
  const pct = (after - before) / before * 100;
  return `${bound}${pct > 0 ? "+" : ""}${pct.toFixed(1)}%`;
}

function shortModel(model: string): string {
  return model.includes("/") ? model.slice(model.indexOf("/") + 1) : model;
}

/** The report as aligned text (ends with a newline). */
export function reportText(report: Report, ctx: ViewContext): string {
  const by = report.group_by;
  const compact = ctx.columns !== undefined && ctx.columns < COMPACT_BELOW;
  const reprice = ctx.repriced !== undefined;
  const costColumns = reprice ? [right("RECORDED"), right("REPRICED"), right("CHANGE")] : [right("COST")];
  const costCells = (t: Totals): Cell[] =>
    reprice ? [costCell(t, ctx.style), costCell(t, ctx.style, true), changeCell(t)] : [costCell(t, ctx.style)];
  const showModels = compact && by !== "model";
  const columns: Column[] = compact
    ? [
      ...groupColumns(by).slice(0, by === "run" ? 2 : 1),
      ...(showModels ? [{ header: "MODELS" }] : []),
      right("INPUT"),
      right("OUTPUT"),
      ...costColumns,
    ]
    : [
      ...groupColumns(by),
      ...(by === "run" ? [] : [right("RUNS")]),
      right("CALLS"),
      right("INPUT"),
      right("CACHE WRITE"),
      right("CACHE READ"),
      right("OUTPUT"),
      right("TOTAL TOKENS"),
      ...costColumns,
    ];
  const numbers = (t: Totals): Cell[] =>
    compact
      ? [formatCount(t.input_tokens), formatCount(t.output_tokens), ...costCells(t)]
      : [...countCells(t).slice(by === "run" ? 1 : 0), ...costCells(t)];
  const lead = (row: ReportRow, label?: Cell) => {
    const cells = groupCells(row, by, ctx, label);
    return compact ? cells.slice(0, by === "run" ? 2 : 1) : cells;
  };
  // The compact layout fits the terminal: its free-text cells (the models, a breakdown row's model, and a model,
  // workflow or node group) are cut to the width their column gets, once every other column's width is known.
  const fitGroup = compact && (by === "model" || by === "workflow" || by === "node");
  const groupLead = (row: ReportRow): LayoutCell[] =>
    fitGroup ? [{ fit: (width) => by === "node" ? nodeGroup(row, width) : cutText(row.group, width) }] : lead(row);
  const models = (row: ReportRow): LayoutCell[] =>
    showModels ? [{ fit: (width) => modelsCell(row.models.map(shortModel), width) }] : [];
  const rows: LayoutCell[][] = [];
  for (const row of report.rows) {
    rows.push([...groupLead(row), ...models(row), ...numbers(row)]);
    for (const sub of ctx.breakdown ? row.breakdown ?? [] : []) {
      if (showModels) {
        // Under the models column: the group's column keeps the width of its groups.
        const label = (width: number): Cell => {
          const text = cutText(`└ ${shortModel(sub.group)}`, width);
          return { text, shown: ctx.style.dim(text) };
        };
        rows.push([...(by === "run" ? ["", ""] : [""]), { fit: label }, ...numbers(sub)]);
      } else {
        const label = `  └ ${sub.group}`;
        rows.push([...lead(row, { text: label, shown: ctx.style.dim(label) }), ...numbers(sub)]);
      }
    }
  }
  const total = "Total";
  const totalLead = compact || by !== "run"
    ? [{ text: total, shown: ctx.style.bold(total) }]
    : [{ text: total, shown: ctx.style.bold(total) }, "", "", ""];
  const totalRow: Cell[] = [
    ...(compact && by === "run" ? [...totalLead, ""] : totalLead),
    ...(showModels ? [""] : []),
    ...numbers(report.totals),
  ];
  rows.push(totalRow);
  // (Only the compact layout has cells to fit: a wide one is rendered as it is, however many rows.)
  const fitted: Row[] = compact
    ? fitColumns(columns, rows, {
      width: ctx.columns!,
      free: [...(fitGroup ? [0] : []), ...(showModels ? [by === "run" ? 2 : 1] : [])],
    })
    : rows as Cell[][];
  const title = `Cost by ${by} · ${ctx.period} · ${ctx.timezone}`;
  return `${ctx.style.bold(title)}\n${renderTable(columns, fitted, { header: ctx.style.dim })}${notes(report, ctx)}`;
}

/** A cell whose text is cut to the width its column gets (see {@link fitColumns}). */
type FitCell = { fit: (width: number) => Cell };
type LayoutCell = Cell | FitCell;

const isFit = (cell: LayoutCell): cell is FitCell => typeof cell === "object" && "fit" in cell;
const cellAt = (cell: LayoutCell, width: number): Cell => isFit(cell) ? cell.fit(width) : cell;
const cellWidth = (cell: Cell) => oneLine(typeof cell === "string" ? cell : cell.text).length;

/**
 * The rows with each fitted cell made for its column's width: every column as wide as its widest cell, but the
 * `free` ones (at most two: a group, then the models), narrowed so that the line fits `width` (never below
 * their header). Of the room the two share, the models keep up to half (20 characters at least, when they
 * need them), the group the rest.
 */
function fitColumns(columns: Column[], rows: LayoutCell[][], options: { width: number; free: number[] }): Row[] {
  const widths = columns.map((c) => c.header.length);
  for (const row of rows) row.forEach((cell, i) => widths[i] = Math.max(widths[i], cellWidth(cellAt(cell, Infinity))));
  const budgets = columns.map(() => Infinity);
  const line = widths.reduce((sum, w) => sum + w, 0) + 2 * (columns.length - 1);
  const { free } = options;
  if (line > options.width && free.length > 0) {
    let room = options.width - (line - free.reduce((sum, i) => sum + widths[i], 0));
    if (free.length === 2) {
      const [group, models] = free;
      const keep = Math.min(widths[models], Math.max(20, Math.ceil(room / 2)));
      budgets[group] = Math.max(columns[group].header.length, Math.min(widths[group], room - keep));
      room -= budgets[group];
    }
    const last = free[free.length - 1];
    budgets[last] = Math.max(columns[last].header.length, room);
  }
  return rows.map((row) => row.map((cell, i) => cellAt(cell, budgets[i])));
}

/** Text on one line (escaped, see {@link oneLine}), cut to `width` with an ellipsis when longer. */
function cutText(text: string, width: number): string {
  const shown = oneLine(text);
  if (shown.length <= width) return shown;
  if (width < 1) return "";
  let end = width - 1;
  // Never half of a surrogate pair.
  if (end > 0 && /[\uD800-\uDBFF]/.test(shown[end - 1])) end--;
  return `${shown.slice(0, end)}…`;
}

/** A `--by node` group in `width`: `workflow/node`, its workflow cut first (`a-long-work…/summarise`). */
function nodeGroup(row: ReportRow, width: number): string {
  if (oneLine(row.group).length <= width || row.workflow === undefined) return cutText(row.group, width);
  const node = oneLine(row.group.slice(row.workflow.length));
  const room = width - node.length;
  return room >= 5 ? `${cutText(row.workflow, room)}${node}` : cutText(`…${node}`, width);
}

/** A group's models in `width`: `a, b, c`, else as many as fit and how many more (`a, b, +3`). */
function modelsCell(models: string[], width: number): string {
  const names = models.map((m) => oneLine(m));
  const all = names.join(", ");
  if (all.length <= width || names.length === 0) return all;
  if (names.length === 1) return cutText(names[0], width);
  for (let shown = names.length - 1; shown >= 1; shown--) {
    const text = `${names.slice(0, shown).join(", ")}, +${names.length - shown}`;
    if (text.length <= width) return text;
  }
  // Not even the first whole: the first cut, when enough of it shows, else the count.
  const more = `, +${names.length - 1}`;
  if (width - more.length >= 5) return `${cutText(names[0], width - more.length)}${more}`;
  const count = `${names.length} models`;
  return count.length <= width ? count : `+${names.length}`;
}

/** `model (N calls), …`; `name` shows a model name (one line of text, or Markdown). */
function namedCalls(models: { model: string; calls: number }[], name: (model: string) => string = oneLine): string {
  return models.map((m) => `${name(m.model)} (${formatCount(m.calls)} call${m.calls === 1 ? "" : "s"})`).join(", ");
}

/** The lines saying which calls a cost leaves out, one per cause (a missing price, missing usage). */
function unknownCostLines(unpriced: { model: string; calls: number }[], missing: { model: string; calls: number }[]) {
  const lines: string[] = [];
  if (unpriced.length > 0) {
    lines.push(
      `+ cost leaves out calls of a model without a price: ${
        namedCalls(unpriced)
      } (add its price to PFLOW_HOME/pricing.yaml)`,
    );
  }
  if (missing.length > 0) {
    lines.push(
      `+ cost leaves out calls whose usage was not reported (interrupted, cut off, or the provider sent none): ${
        namedCalls(missing)
      }`,
    );
  }
  return lines;
}

/** Notes under a report: calls of unknown cost, repricing. */
function notes(report: Report, ctx: ViewContext): string {
  const lines = unknownCostLines(report.unpriced_models, report.usage_missing_models).map((line) =>
    ctx.style.yellow(line)
  );
  if (ctx.repriced !== undefined) {
    // A price file's version and path: data, escaped (colour codes too, which the display would let through).
    let line = `repriced with price table ${oneLine(ctx.repriced.version)} (${
      oneLine(ctx.repriced.source)
    }), long-context tiers per request`;
    if (report.repriced_unpriced_models?.length) {
      line += `; not in that table: ${report.repriced_unpriced_models.map((m) => oneLine(m)).join(", ")}`;
    }
    lines.push(line);
  }
  return lines.map((l) => `${l}\n`).join("");
}

/** The `--top N` tables as text. */
export function topText(top: { runs: TopRun[]; nodes: TopNode[] }, ctx: ViewContext & { limit: number }): string {
  const runs = renderTable(
    [{ header: "STARTED" }, { header: "RUN" }, { header: "WORKFLOW" }, { header: "STATUS" }, right("COST"), {
      header: "TRACE",
    }],
    top.runs.map((r) => [
      localDateTime(ctx.timezone, Date.parse(r.started_at)),
      r.execution_id.slice(0, 8),
      r.workflow,
      statusCell(r.status, ctx.style),
      topCost(r),
      r.trace_file ?? "-",
    ]),
    { header: ctx.style.dim },
  );
  const nodes = renderTable(
    [{ header: "NODE" }, right("EXECUTIONS"), right("CALLS"), right("COST")],
    top.nodes.map((n) => [
      nodeLabel(n),
      formatCount(n.executions),
      formatCount(n.llm_calls),
      topCost(n),
    ]),
    { header: ctx.style.dim },
  );
  return `\n${ctx.style.bold(`Top ${ctx.limit} runs`)}\n${top.runs.length ? runs : "(none)\n"}\n${
    ctx.style.bold(`Top ${ctx.limit} nodes`)
  }\n${top.nodes.length ? nodes : "(none)\n"}`;
}

function nodeLabel(n: { workflow: string; node: string | null; phase: string }): string {
  return `${n.workflow}/${n.node ?? "(no node)"}${n.phase === "planner" ? " (planner)" : ""}`;
}

/** One run's cost as text. */
export function runCostText(cost: RunCost, ctx: Omit<ViewContext, "period" | "repriced">): string {
  const r = cost.run;
  // Names and paths from the ledger, each on its line as the tables show them (`\n` escaped).
  const head = [
    `${ctx.style.bold(`Run ${r.execution_id}`)} · ${oneLine(r.workflow)} · ${statusCell(r.status, ctx.style).shown}`,
    `started ${localDateTime(ctx.timezone, Date.parse(r.started_at))} (${ctx.timezone})${
      r.duration_ms === null ? "" : ` · ${formatDuration(r.duration_ms)}`
    }${r.nodes_executed === null ? "" : ` · ${formatCount(r.nodes_executed)} node executions`} · ${
      cost.totals.llm_calls ? totalCost(cost.totals) : formatCost(0, true)
    }`,
  ];
  if (r.subtype === PROCESS_GONE) {
    head.push(ctx.style.yellow("ended: unknown (its process is gone: killed, crashed or stopped with its machine)"));
  }
  if (r.workflow_file) {
    head.push(
      `workflow file: ${oneLine(r.workflow_file)}${r.workflow_hash ? ` (${r.workflow_hash.slice(0, 19)})` : ""}`,
    );
  }
  head.push(`trace: ${r.trace_file === null ? "none (run with --trace to write one)" : oneLine(r.trace_file)}`);
  if (r.planner_trace_file) head.push(`planner trace: ${oneLine(r.planner_trace_file)}`);
  if (r.price_version) head.push(`prices: ${oneLine(r.price_version)} (${oneLine(r.price_source ?? "?")})`);
  if (cost.rows.length === 0) return `${head.join("\n")}\nno LLM calls\n`;
  const table = renderTable(
    [
      { header: "PHASE" },
      { header: "NODE" },
      { header: "MODEL" },
      right("EXECUTIONS"),
      right("CALLS"),
      right("INPUT"),
      right("CACHE WRITE"),
      right("CACHE READ"),
      right("OUTPUT"),
      right("COST"),
    ],
    [
      ...cost.rows.map((row): Cell[] => [
        row.phase,
        row.node ?? "(no node)",
        row.model,
        formatCount(row.executions),
        formatCount(row.llm_calls),
        formatCount(row.input_tokens),
        formatCount(row.cache_write_tokens),
        formatCount(row.cache_read_tokens),
        formatCount(row.output_tokens),
        costCell(row, ctx.style),
      ]),
      [
        { text: "Total", shown: ctx.style.bold("Total") },
        "",
        "",
        "",
        formatCount(cost.totals.llm_calls),
        formatCount(cost.totals.input_tokens),
        formatCount(cost.totals.cache_write_tokens),
        formatCount(cost.totals.cache_read_tokens),
        formatCount(cost.totals.output_tokens),
        costCell(cost.totals, ctx.style),
      ],
    ],
    { header: ctx.style.dim },
  );
  const byModel = (field: "unpriced_calls" | "usage_missing_calls") => {
    const calls = new Map<string, number>();
    for (const row of cost.rows) calls.set(row.model, (calls.get(row.model) ?? 0) + row[field]);
    return [...calls].filter(([, n]) => n > 0).map(([model, n]) => ({ model, calls: n }))
      .sort((a, b) => b.calls - a.calls);
  };
  const note = unknownCostLines(byModel("unpriced_calls"), byModel("usage_missing_calls"))
    .map((line) => `${ctx.style.yellow(line)}\n`).join("");
  return `${head.join("\n")}\n\n${table}${note}`;
}

/** The Markdown report: totals, the `--by` table, per model, per workflow, top runs and nodes. */
export function reportMarkdown(
  parts: {
    main: Report;
    byModel: Report;
    byWorkflow: Report;
    top: { runs: TopRun[]; nodes: TopNode[] };
    limit: number;
  },
  ctx: ViewContext,
): string {
  const reprice = ctx.repriced !== undefined;
  const sumColumns: Column[] = [
    right("Runs"),
    right("LLM calls"),
    right("Input"),
    right("Cache write"),
    right("Cache read"),
    right("Output"),
    right("Total tokens"),
    right(reprice ? "Recorded" : "Cost"),
    ...(reprice ? [right("Repriced")] : []),
  ];
  const sums = (t: Totals): Cell[] => [
    ...countCells(t),
    t.llm_calls ? totalCost(t) : "-",
    ...(reprice ? [t.llm_calls ? totalCost(t, true) : "-"] : []),
  ];
  const grouped = (report: Report, header: string) =>
    renderMarkdownTable(
      [{ header }, ...sumColumns],
      [...report.rows.map((row) => [row.group, ...sums(row)]), [{ markdown: "**Total**" }, ...sums(report.totals)]],
    );
  const out = [
    `# pflow cost report`,
    "",
    escapeMarkdown(
      `${ctx.period} · time zone ${ctx.timezone}${
        ctx.repriced ? ` · repriced with ${ctx.repriced.version} (${ctx.repriced.source})` : ""
      }`,
    ),
    "",
    "## Totals",
    "",
    renderMarkdownTable(sumColumns, [sums(parts.main.totals)]),
  ];
  const { unpriced_models: unpriced, usage_missing_models: missing } = parts.main;
  if (unpriced.length > 0) {
    out.push(`Costs marked + leave out calls of a model without a price: ${namedCalls(unpriced, escapeMarkdown)}.`, "");
  }
  if (missing.length > 0) {
    out.push(
      `Costs marked + leave out calls whose usage was not reported: ${namedCalls(missing, escapeMarkdown)}.`,
      "",
    );
  }
  if (parts.main.group_by !== "model" && parts.main.group_by !== "workflow") {
    out.push(`## By ${parts.main.group_by}`, "", grouped(parts.main, GROUP_HEADERS[parts.main.group_by].toLowerCase()));
  }
  out.push(
    "## By model",
    "",
    grouped(parts.byModel, "Model"),
    "## By workflow",
    "",
    grouped(parts.byWorkflow, "Workflow"),
  );
  out.push(
    `## Top ${parts.limit} runs`,
    "",
    renderMarkdownTable(
      [{ header: "Started" }, { header: "Run" }, { header: "Workflow" }, { header: "Status" }, right("Cost"), {
        header: "Trace",
      }],
      parts.top.runs.map((r) => [
        localDateTime(ctx.timezone, Date.parse(r.started_at)),
        r.execution_id,
        r.workflow,
        r.status,
        topCost(r),
        r.trace_file ?? "",
      ]),
    ),
    `## Top ${parts.limit} nodes`,
    "",
    renderMarkdownTable(
      [{ header: "Node" }, right("Executions"), right("LLM calls"), right("Cost")],
      parts.top.nodes.map((n) => [
        nodeLabel(n),
        formatCount(n.executions),
        formatCount(n.llm_calls),
        topCost(n),
      ]),
    ),
  );
  return out.join("\n");
}
