/**
 * The one table renderer of the CLI: aligned columns for terminals (colour
 * kept out of the width), and Markdown tables for reports.
 * @module
 */
import { escapeControls } from "./terminal.ts";

/** A column: its header and alignment. */
export interface Column {
  header: string;
  /** Default left. */
  align?: "left" | "right";
}

/** A cell: plain text, or text with a coloured form of the same width. */
export type Cell = string | { text: string; shown: string };

/** A row: its cells, and text to append after the last one (e.g. an error note). */
export type Row = Cell[] | { cells: Cell[]; suffix?: string };

/**
 * Data on one line of a view (a table cell, a header line's workflow name):
 * its controls and line breaks shown escaped (`\n`), so it never drives the
 * terminal nor breaks the line. `keepStyle`: pflow's own colour codes stay.
 */
export function oneLine(text: string, options: { keepStyle?: boolean } = {}): string {
  return escapeControls(text, { keepNewlines: false, ...options });
}

const rawTextOf = (cell: Cell) => typeof cell === "string" ? cell : cell.text;
const textOf = (cell: Cell) => oneLine(rawTextOf(cell));
const shownOf = (cell: Cell) => typeof cell === "string" ? oneLine(cell) : oneLine(cell.shown, { keepStyle: true });

/**
 * Renders aligned rows (two spaces between columns, the last column not
 * padded); `header` styles the header texts (e.g. dim). Ends with a newline.
 */
export function renderTable(
  columns: Column[],
  rows: Row[],
  options: { header?: (text: string) => string } = {},
): string {
  const bodies = rows.map((row) => Array.isArray(row) ? { cells: row, suffix: "" } : { suffix: "", ...row });
  const widths = columns.map((column, i) =>
    Math.max(column.header.length, ...bodies.map((row) => textOf(row.cells[i] ?? "").length))
  );
  const line = (cells: Cell[], suffix: string) =>
    cells.map((cell, i) => {
      const pad = " ".repeat(widths[i] - textOf(cell).length);
      if (columns[i].align === "right") return pad + shownOf(cell);
      return i === cells.length - 1 ? shownOf(cell) : shownOf(cell) + pad;
    }).join("  ").trimEnd() + suffix;
  const style = options.header ?? ((text: string) => text);
  const header = columns.map((c) => ({ text: c.header, shown: style(c.header) }));
  return [line(header, ""), ...bodies.map((row) => line(row.cells, row.suffix))].join("\n") + "\n";
}

/** Renders a GitHub-flavoured Markdown table (pipes in cells escaped). Ends with a newline. */
export function renderMarkdownTable(columns: Column[], rows: Cell[][]): string {
  const escape = (text: string) =>
    escapeControls(text.replace(/\r?\n/g, " "), { keepNewlines: false }).replace(/\\/g, "\\\\").replace(/\|/g, "\\|");
  const header = `| ${columns.map((c) => escape(c.header)).join(" | ")} |`;
  const rule = `|${columns.map((c) => (c.align === "right" ? " ---: |" : " --- |")).join("")}`;
  const body = rows.map((row) => `| ${row.map((cell) => escape(rawTextOf(cell))).join(" | ")} |`);
  return [header, rule, ...body].join("\n") + "\n";
}
