/**
 * How every command writes costs, token counts, durations and sizes for people
 * (JSON output keeps the raw numbers).
 * @module
 */

import { formatUsd } from "../pricing/money.ts";
import { NON_C0_CONTROLS } from "../util/controls.ts";

/** Formats a USD amount with enough digits to show small costs (shared with the run's budget messages). */
export { formatUsd };

/**
 * A cost that may leave out some calls: `$1.23`, `$1.23+` (a lower bound: some
 * calls unpriced or without reported usage, their cost not included),
 * `unpriced` (no call priced, or `unpriced: true` (some model has no price)
 * and the priced calls cost nothing; never `$0+`), `unknown` (`known: false`:
 * no call's cost is known, as when none reported its usage; never `$0+`).
 */
export function formatCost(
  cost: number | null,
  complete: boolean,
  options: { known?: boolean; unpriced?: boolean } = {},
): string {
  if (options.known === false) return "unknown";
  if (cost === null || (cost === 0 && !complete && options.unpriced === true)) return "unpriced";
  return `${formatUsd(cost)}${complete ? "" : "+"}`;
}

/**
 * Whether anything of some calls' cost is known, for {@link formatCost}'s `known`: not when some call's usage
 * is missing and no other counted a token. A call that reported its usage counted tokens (every reply has
 * input tokens); one with none was a rejected request (an HTTP 401, a connection refused), whose $0 is known
 * but tells nothing of what the others cost: such calls and some without usage are `unknown`, not `$0+`.
 * Every surface asks this one question of its totals (the summary line, `trace list`/`show`, the trace page,
 * `cost show`/`report`), from the counts each has: calls, calls without usage, and the tokens of the others.
 */
export function costKnown(calls: number, usageMissing: number, tokens: number): boolean {
  return usageMissing === 0 || (usageMissing < calls && tokens > 0);
}

/** A count with thousands separators: `12,345`. */
export { formatCount } from "../util/count.ts";

/**
 * Formats milliseconds for people: `850ms`, `1.23s`, `2m 05s`. The unit is chosen by the value as rounded
 * for display, so a rounding carries into the next unit: 999.6 ms is `1.00s`, 59,996 ms `1m 00s`, 119,600 ms
 * `2m 00s`.
 */
export function formatDuration(ms: number): string {
  const whole = Math.round(ms);
  if (whole < 1000) return `${whole}ms`;
  const hundredths = Math.round(ms / 10);
  if (hundredths < 6000) return `${(hundredths / 100).toFixed(2)}s`;
  const seconds = Math.round(ms / 1000);
  return `${Math.floor(seconds / 60)}m ${String(seconds % 60).padStart(2, "0")}s`;
}

/** Formats a size for people: `512 bytes`, `64 MiB`, `1.5 GiB`. */
export { formatBytes } from "../util/bytes.ts";

/** A character a terminal may act on or a reader cannot see: what pflow's output shows escaped. */
const SHELL_CONTROL = new RegExp(`[\\x00-\\x1f${NON_C0_CONTROLS}]`);

/**
 * Quotes a word for a POSIX shell when it needs it: `'…'`, or `$'…'` (bash, zsh, ksh, POSIX.1-2024 sh) when it
 * holds a control character (a newline, a tab, ESC): inside `'…'` such a character would be printed escaped
 * (`\n`, as every message is, see `escapeControls`), and the command pasted back would pass a backslash and
 * an `n`; in `$'…'` the shell reads `\n` as the newline.
 */
export function shellWord(word: string): string {
  if (/^[\w@%+=:,./-]+$/.test(word)) return word;
  if (!SHELL_CONTROL.test(word)) return `'${word.replaceAll("'", `'\\''`)}'`;
  return `$'${[...word].map(ansiC).join("")}'`;
}

const ANSI_C_NAMED = new Map([["\\", "\\\\"], ["'", "\\'"], ["\n", "\\n"], ["\t", "\\t"], ["\r", "\\r"]]);

/** One character as written inside `$'…'`. */
function ansiC(c: string): string {
  const named = ANSI_C_NAMED.get(c);
  if (named !== undefined) return named;
  if (!SHELL_CONTROL.test(c)) return c;
  const code = c.charCodeAt(0);
  // `\xHH` takes at most two hex digits, so a digit after it stays itself.
  return code < 0x80 ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`;
}
