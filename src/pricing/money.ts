/**
 * How an amount of money is written for people, by every command and by the
 * run's own messages (the budget's): `$0`, `$1.23`, `$0.0123`, `$0.00012`.
 * @module
 */

/** Formats a USD amount with enough digits to show small costs. */
export function formatUsd(value: number): string {
  if (value === 0) return "$0";
  if (value >= 1) return `$${value.toFixed(2)}`;
  if (value >= 0.01) return `$${value.toFixed(4)}`;
  return `$${value.toPrecision(2)}`;
}
