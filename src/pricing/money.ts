/**
 * How an amount of money is written for people, by every command and by the
 * run's own messages (the budget's): `$0`, `$1.23`, `$0.0123`, `$0.00012`,
 * `$0.00000090`, `$1000000000000000000000.00` (always positional: never `$9.0e-7` nor `$1e+21`).
 * @module
 */

/** Formats a USD amount with enough digits to show small costs. */
export function formatUsd(value: number): string {
  if (value === 0) return "$0";
  const size = Math.abs(value);
  if (size >= 1e21 && Number.isFinite(value)) return `$${writtenOut(value)}.00`;
  if (size >= 1) return `$${value.toFixed(2)}`;
  if (size >= 0.01) return `$${value.toFixed(4)}`;
  // Two significant digits, written positionally (toPrecision writes below 1e-6 in exponent form).
  const rounded = Number(value.toPrecision(2));
  const decimals = Math.min(100, 1 - Math.floor(Math.log10(Math.abs(rounded))));
  return `$${rounded.toFixed(decimals)}`;
}

/**
 * A number of 1e21 or more, which toFixed and String write in exponent form (`1.5e+21`), written out: its
 * shortest digits (those JSON shows) and then zeros. By string, without Intl (which start-up avoids).
 */
function writtenOut(value: number): string {
  const [mantissa, exponent] = String(Math.abs(value)).split("e+");
  const [whole, fraction = ""] = mantissa.split(".");
  return `${value < 0 ? "-" : ""}${whole}${fraction}${"0".repeat(Number(exponent) - fraction.length)}`;
}
