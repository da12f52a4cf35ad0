/**
 * Terminal output: stdout for results, stderr for everything else, colour
 * only on a TTY and never with NO_COLOR.
 * @module
 */
import { fstatSync, writeSync } from "node:fs";
import { outputRedactor } from "../observability/redact.ts";

/**
 * Writes to stdout synchronously, so everything is out before the process
 * exits (and without the start-up cost of the stream machinery).
 */
export function writeStdout(text: string): void {
  writeAll(1, text);
}

/** Writes one line to stderr. */
export function printError(line: string): void {
  writeAll(2, `${line}\n`);
}

function writeAll(fd: number, text: string): void {
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
      throw error;
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
export function isTerminal(fd: 1 | 2): boolean {
  let rdev: number;
  try {
    const stats = fstatSync(fd);
    if (!stats.isCharacterDevice()) return false;
    rdev = stats.rdev;
  } catch {
    return false; // closed
  }
  if (process.platform === "linux" && linuxMajor(rdev) === 1) return false;
  return Boolean((fd === 1 ? process.stdout : process.stderr).isTTY);
}

/** The major number of a Linux device id (glibc's gnu_dev_major). */
function linuxMajor(rdev: number): number {
  return ((rdev >>> 8) & 0xfff) | (Math.floor(rdev / 2 ** 32) & ~0xfff);
}

function styleFor(fd: 1 | 2, env: Record<string, string | undefined>): Style {
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

export { formatBytes } from "../util/bytes.ts";

/** Formats milliseconds for people: `850ms`, `1.23s`, `2m 05s`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(2)}s`;
  const minutes = Math.floor(ms / 60_000);
  return `${minutes}m ${String(Math.round((ms % 60_000) / 1000)).padStart(2, "0")}s`;
}
