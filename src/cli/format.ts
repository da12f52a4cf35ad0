/**
 * How every command writes costs, token counts, durations and sizes for people
 * (JSON output keeps the raw numbers).
 * @module
 */

import { formatUsd } from "../pricing/money.ts";

/** Formats a USD amount with enough digits to show small costs (shared with the run's budget messages). */
export { formatUsd };

/**
 * A cost that may leave out unpriced calls: `$1.23`, `$1.23+` (some calls
 * unpriced: their cost is not included), `unpriced` (no call priced; never $0).
 */
export function formatCost(cost: number | null, complete: boolean): string {
  if (cost === null) return "unpriced";
  return `${formatUsd(cost)}${complete ? "" : "+"}`;
}

/** A count with thousands separators: `12,345`. */
export { formatCount } from "../util/count.ts";

/** Formats milliseconds for people: `850ms`, `1.23s`, `2m 05s`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(2)}s`;
  const minutes = Math.floor(ms / 60_000);
  return `${minutes}m ${String(Math.round((ms % 60_000) / 1000)).padStart(2, "0")}s`;
}

/** Formats a size for people: `512 bytes`, `64 MiB`, `1.5 GiB`. */
export { formatBytes } from "../util/bytes.ts";
