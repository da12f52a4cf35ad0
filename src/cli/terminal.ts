/**
 * Terminal output: stdout for results, stderr for everything else, colour
 * only on a TTY and never with NO_COLOR.
 * @module
 */
import { fstatSync, writeSync } from "node:fs";
import { outputRedactor } from "../observability/redact.ts";
import { NON_C0_CONTROLS } from "../util/controls.ts";
import { fileErrorReason } from "../util/file_errors.ts";

/**
 * Writes to stdout synchronously, so everything is out before the process
 * exits (and without the start-up cost of the stream machinery). A write
 * that fails (disk full, an I/O error) does not throw: the failure is kept
 * ({@link stdoutFailure}), later writes to stdout are skipped, and the command
 * goes on (a run still records its ledger row and exports its telemetry);
 * the CLI entry reports it in one line and exits 74. A reader that went away
 * (EPIPE, `| head`) is no failure.
 */
export function writeStdout(text: string): void {
  writeAll(1, text);
}

/** Why the result could not be written to stdout, in one line (no errno); `EXIT.output` (74) follows. */
export class OutputWriteError extends Error {
  override name = "OutputWriteError";
  /** The errno code (`ENOSPC`, `EIO`…). */
  readonly code: string | undefined;
  constructor(cause: unknown) {
    const code = (cause as NodeJS.ErrnoException | undefined)?.code;
    super(`cannot write the result to stdout: ${code === "EBADF" ? "it is closed" : fileErrorReason(cause)}`, {
      cause,
    });
    this.code = code;
  }
}

let stdoutError: OutputWriteError | undefined;
let stdoutErrorShown = false;

/** The first write to stdout that failed, if one did. */
export function stdoutFailure(): OutputWriteError | undefined {
  return stdoutError;
}

/**
 * Prints `error: cannot write the result to stdout: …` on stderr (through `print`, e.g. a logger) once, if a
 * write to stdout failed; returns whether one did.
 */
export function reportStdoutFailure(print: (line: string) => void = (m) => printError(`error: ${m}`)): boolean {
  if (stdoutError === undefined) return false;
  if (!stdoutErrorShown) print(stdoutError.message);
  stdoutErrorShown = true;
  return true;
}

/**
 * Writes one line to stderr with control characters and escape sequences
 * shown escaped (see {@link escapeControls}): what comes from data (a child's
 * stderr in an error, a workflow name) is never interpreted by the terminal.
 * A newline in `line` (a path that came from a command's output) is shown as
 * `\n`, so an error or a warning is always one line; `multiline` keeps them,
 * for a help text or a stack trace.
 */
export function printError(line: string, options: { multiline?: boolean } = {}): void {
  if (line.startsWith("error: ")) lastError = line;
  const text = `${escapeControls(line, { keepStyle: colourOn(2), keepNewlines: options.multiline === true })}\n`;
  // A live status line stays below whatever else is printed.
  writeAll(2, statusLine === undefined ? text : `${clearStatus()}${text}${statusLine}`);
}

let statusLine: string | undefined;
/** Columns the status line takes on screen. */
let statusWidth = 0;

/** Returns to the start of the status line and blanks it (spaces, not escape codes: fine for TERM=dumb). */
function clearStatus(): string {
  return statusWidth === 0 ? "" : `\r${" ".repeat(statusWidth)}\r`;
}

/**
 * Shows `line` as the live status line at the bottom of stderr (replacing
 * the previous one), or clears it (undefined). Only for a terminal; `line`
 * must hold escaped data only (see {@link escapeControls}); it is cut to the
 * terminal's width, so that it never wraps.
 */
export function setStatusLine(line: string | undefined): void {
  if (line === undefined && statusLine === undefined) return;
  const clear = clearStatus();
  // A terminal that does not say its width (0) is taken as 80 columns.
  const columns = Math.max(20, (process.stderr.columns || 80) - 1);
  // deno-lint-ignore no-control-regex
  const visible = line === undefined ? "" : line.replace(/\x1b\[[0-9;]*m/g, "");
  statusLine = line === undefined
    ? undefined
    : visible.length > columns
    ? [...visible].slice(0, columns).join("")
    : line;
  statusWidth = Math.min([...visible].length, columns);
  writeAll(2, `${clear}${statusLine ?? ""}`);
}

/**
 * Writes a display for people (a listing, a rendered trace) to stdout with
 * control characters shown escaped. Results use {@link writeStdout}, byte-exact.
 */
export function writeDisplay(text: string): void {
  writeAll(1, escapeControls(text, { keepStyle: colourOn(1) }));
}

/** The styles pflow itself writes (Style below): the only escape sequences let through, and only with colour on. */
// deno-lint-ignore no-control-regex
const OWN_STYLE = /\x1b\[(?:1|2|22|31|32|33|39)m/y;
/** Controls a terminal may act on, but newline and tab. */
const CONTROL = new RegExp(`[\\x00-\\x08\\x0b-\\x1f${NON_C0_CONTROLS}]`, "g");
/** Every control a terminal may act on, newline and tab included (text shown on one line). */
const CONTROL_ONE_LINE = new RegExp(`[\\x00-\\x1f${NON_C0_CONTROLS}]`, "g");
const NAMED: Record<string, string> = { "\r": "\\r", "\b": "\\b", "\f": "\\f" };

/**
 * `text` with every control character written as an escape (`\r`,
 * `\u001b`…, valid inside JSON strings too); newlines and tabs stay, and
 * with `keepStyle` the colour codes pflow writes itself.
 */
export function escapeControls(text: string, options: { keepStyle?: boolean; keepNewlines?: boolean } = {}): string {
  const keepNewlines = options.keepNewlines !== false;
  const pattern = keepNewlines ? CONTROL : CONTROL_ONE_LINE;
  if (!pattern.test(text)) return text;
  pattern.lastIndex = 0;
  return text.replace(pattern, (c, offset: number) => {
    if (c === "\x1b" && options.keepStyle) {
      OWN_STYLE.lastIndex = offset;
      if (OWN_STYLE.test(text)) return c;
    }
    if (c === "\n") return "\\n";
    if (c === "\t") return "\\t";
    return NAMED[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;
  });
}

const colour = new Map<1 | 2, boolean>();

/** Whether colour is on for stdout (1) or stderr (2): a terminal, without NO_COLOR or TERM=dumb (asked once). */
function colourOn(fd: 1 | 2): boolean {
  let on = colour.get(fd);
  if (on === undefined) {
    on = isTerminal(fd) && !process.env.NO_COLOR && process.env.TERM !== "dumb";
    colour.set(fd, on);
  }
  return on;
}

let stdoutUsed = false;
let lastError: string | undefined;

/** The last `error: …` line printed to stderr (redacted when written, not here). */
export function lastErrorLine(): string | undefined {
  return lastError;
}

/** Whether this process has written anything to stdout (JSON mode: whether its one document is out). */
export function stdoutWritten(): boolean {
  return stdoutUsed;
}

/**
 * Writes all of `text` to `fd`. stderr (2) never throws: a warning, notice,
 * progress line or log record that cannot be written (`2>/dev/full`, a full
 * disk, a closed descriptor) is dropped silently: a lost diagnostic never
 * fails the run. A failed write to stdout (1) is kept (see
 * {@link writeStdout}); EPIPE there (the reader went away) is no failure.
 */
function writeAll(fd: 1 | 2, text: string): void {
  if (fd === 1 && text !== "") stdoutUsed = true;
  if (fd === 1 && stdoutError !== undefined) return;
  // Secrets never reach a stream: every line out of pflow is redacted.
  const bytes = new TextEncoder().encode(outputRedactor().text(text));
  let offset = 0;
  while (offset < bytes.length) {
    try {
      offset += writeSync(fd, bytes, offset);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "EAGAIN") continue; // a non-blocking pipe is full: retry
      if (code === "EPIPE") return; // the reader went away (e.g. `| head`)
      if (fd === 2) return; // a diagnostic lost: never the run's failure
      stdoutError = new OutputWriteError(error);
      return;
    }
  }
}

/** ANSI styling that is a no-op when colour is off. */
export interface Style {
  /** Whether colour is on. */
  enabled: boolean;
  green(text: string): string;
  red(text: string): string;
  yellow(text: string): string;
  dim(text: string): string;
  bold(text: string): string;
}

const identity = (text: string) => text;

/** No colour at all (for measuring the width of what a coloured style prints). */
export const PLAIN_STYLE: Style = {
  enabled: false,
  green: identity,
  red: identity,
  yellow: identity,
  dim: identity,
  bold: identity,
};

/** Colour for stderr: on only for a TTY without NO_COLOR. */
export function stderrStyle(env: Record<string, string | undefined>): Style {
  return styleFor(2, env);
}

/** Colour for stdout: on only for a TTY without NO_COLOR. */
export function stdoutStyle(env: Record<string, string | undefined>): Style {
  return styleFor(1, env);
}

/**
 * Whether stdout (1) or stderr (2) is a terminal. Touching `process.stderr`
 * builds a stream (milliseconds of start-up on Bun), so what is plainly not a
 * terminal is told apart first from the descriptor itself: not a character
 * device (a pipe, a file), or a memory device (Linux major 1: `/dev/null`).
 * Only a character device that may be a terminal asks the stream.
 */
export function isTerminal(fd: 0 | 1 | 2): boolean {
  let rdev: number;
  try {
    const stats = fstatSync(fd);
    if (!stats.isCharacterDevice()) return false;
    rdev = stats.rdev;
  } catch {
    return false; // closed
  }
  if (process.platform === "linux" && linuxMajor(rdev) === 1) return false;
  return Boolean((fd === 0 ? process.stdin : fd === 1 ? process.stdout : process.stderr).isTTY);
}

/** The major number of a Linux device id (glibc's gnu_dev_major). */
function linuxMajor(rdev: number): number {
  return ((rdev >>> 8) & 0xfff) | (Math.floor(rdev / 2 ** 32) & ~0xfff);
}

function styleFor(fd: 1 | 2, env: Record<string, string | undefined>): Style {
  // Keep the codes in step with OWN_STYLE above.
  const enabled = isTerminal(fd) && !env.NO_COLOR && env.TERM !== "dumb";
  const wrap = (open: number, close: number) => (text: string) => enabled ? `\x1b[${open}m${text}\x1b[${close}m` : text;
  return {
    enabled,
    green: wrap(32, 39),
    red: wrap(31, 39),
    yellow: wrap(33, 39),
    dim: wrap(2, 22),
    bold: wrap(1, 22),
  };
}
