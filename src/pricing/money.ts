/**
 * How an amount of money is written for people, by every command and by the
 * run's own messages (the budget's): `$0`, `$1.23`, `$0.0123`, `$0.00012`,
 * `$0.00000090` (always positional: never `$9.0e-7`).
 * @module
 */

/** Formats a USD amount with enough digits to show small costs. */
export function formatUsd(value: number): string {
  if (value === 0) return "$0";
  const size = Math.abs(value);
  if (size >= 1) return `$${value.toFixed(2)}`;
  if (size >= 0.01) return `$${value.toFixed(4)}`;
  // Two significant digits, written positionally (toPrecision writes below 1e-6 in exponent form).
  const rounded = Number(value.toPrecision(2));
  const decimals = Math.min(100, 1 - Math.floor(Math.log10(Math.abs(rounded))));
  return `$${rounded.toFixed(decimals)}`;
}
