/**
 * Counts for people (`12,345`), one format for every message and command.
 * @module
 */

/**
 * A count with thousands separators, as `toLocaleString("en-US")` writes it:
 * `12,345`. Whole numbers are grouped here rather than by `Intl`, whose first
 * use loads the runtime's locale data (3–4 ms of a command's start on Bun);
 * anything else (fractions, `-0`, non-finite values) is left to `Intl`.
 */
export function formatCount(value: number): string {
  if (!Number.isSafeInteger(value) || Object.is(value, -0)) return value.toLocaleString("en-US");
  const digits = String(Math.abs(value));
  let grouped = digits.slice(0, (digits.length - 1) % 3 + 1);
  for (let at = grouped.length; at < digits.length; at += 3) grouped += `,${digits.slice(at, at + 3)}`;
  return value < 0 ? `-${grouped}` : grouped;
}
