/**
 * Sizes for people, one format for every message and command.
 * @module
 */
import { formatCount } from "./count.ts";

/**
 * Formats a size exactly: whole binary units when it is one (`64 MiB`),
 * else bytes (`100,000 bytes`); with `approximate`, one decimal of the
 * largest unit (`1.5 GiB`) — for totals, not for limits.
 */
export function formatBytes(bytes: number, options: { approximate?: boolean } = {}): string {
  const units = ["GiB", "MiB", "KiB"];
  for (const [i, unit] of units.entries()) {
    const size = 1024 ** (3 - i);
    if (bytes < size) continue;
    if (bytes % size === 0) return `${bytes / size} ${unit}`;
    if (options.approximate) return `${(bytes / size).toFixed(1)} ${unit}`;
  }
  return `${formatCount(bytes)} bytes`;
}
