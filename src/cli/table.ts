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

/** Markdown pflow writes itself (`**Total**`), put into a Markdown table as is. */
export interface MarkdownCell {
  markdown: string;
}

/** The characters of inline Markdown (CommonMark and GFM: code, emphasis, strike-through, links, table pipes). */
const MARKDOWN_SIGNIFICANT = /[\\`*_~[\]|]/g;
const HTML_ENTITIES: Record<string, string> = { "<": "&lt;", ">": "&gt;", "&": "&amp;" };

/**
 * Data as Markdown text that renders as the text itself, on one line: no tag,
 * entity, emphasis, code or link from the data. `<`, `>` and `&` become
 * entities, the characters of inline Markdown are backslash-escaped, a line
 * break is a space and a control is shown escaped.
 */
export function escapeMarkdown(text: string): string {
  return oneLine(text.replace(/\r?\n/g, " "))
    .replace(MARKDOWN_SIGNIFICANT, (c) => `\\${c}`)
    .replace(/[<>&]/g, (c) => HTML_ENTITIES[c]);
}

/**
 * Renders a GitHub-flavoured Markdown table, each cell's text escaped
 * ({@link escapeMarkdown}) but a {@link MarkdownCell}'s. Ends with a newline.
 */
export function renderMarkdownTable(columns: Column[], rows: (Cell | MarkdownCell)[][]): string {
  const cellText = (cell: Cell | MarkdownCell) =>
    typeof cell === "object" && "markdown" in cell ? cell.markdown : escapeMarkdown(rawTextOf(cell));
  const header = `| ${columns.map((c) => escapeMarkdown(c.header)).join(" | ")} |`;
  const rule = `|${columns.map((c) => (c.align === "right" ? " ---: |" : " --- |")).join("")}`;
  const body = rows.map((row) => `| ${row.map(cellText).join(" | ")} |`);
  return [header, rule, ...body].join("\n") + "\n";
}
