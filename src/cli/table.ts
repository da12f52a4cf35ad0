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
// The options of a cell's escape, made once (a table may escape a million cells).
const ONE_LINE = { keepNewlines: false } as const;
const ONE_LINE_STYLED = { keepNewlines: false, keepStyle: true } as const;
const textOf = (cell: Cell) => escapeControls(rawTextOf(cell), ONE_LINE);
const shownOf = (cell: Cell) =>
  typeof cell === "string" ? escapeControls(cell, ONE_LINE) : escapeControls(cell.shown, ONE_LINE_STYLED);

/**
 * Renders aligned rows (two spaces between columns, the last column not
 * padded); `header` styles the header texts (e.g. dim). Ends with a newline.
 */
export function renderTable(
  columns: Column[],
  rows: Row[],
  options: { header?: (text: string) => string } = {},
): string {
  const style = options.header ?? ((text: string) => text);
  const header = columns.map((c) => ({ text: c.header, shown: style(c.header) }));
  // Each cell's text and shown form, found once (a report may have 100,000 rows): the text sets the widths.
  const widths = columns.map((c) => c.header.length);
  const measure = (cells: Cell[], suffix: string) => {
    const texts = cells.map(textOf);
    // Plain cells are shown as their text: one array serves both.
    const shown = cells.every((cell) => typeof cell === "string") ? texts : cells.map(shownOf);
    return { texts, shown, suffix };
  };
  const measured = [measure(header, "")];
  for (const row of rows) {
    const body = Array.isArray(row) ? measure(row, "") : measure(row.cells, row.suffix ?? "");
    for (let i = 0; i < widths.length && i < body.texts.length; i++) {
      if (body.texts[i].length > widths[i]) widths[i] = body.texts[i].length;
    }
    measured.push(body);
  }
  const pads: string[] = [];
  const lines = measured.map(({ texts, shown, suffix }) => {
    let line = "";
    for (let i = 0; i < shown.length; i++) {
      const n = widths[i] - texts[i].length;
      const pad = pads[n] ??= " ".repeat(n);
      if (i > 0) line += "  ";
      if (columns[i].align === "right") line += pad + shown[i];
      else line += i === shown.length - 1 ? shown[i] : shown[i] + pad;
    }
    return line.trimEnd() + suffix;
  });
  return lines.join("\n") + "\n";
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
