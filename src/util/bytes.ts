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

/** The bytes of `chunks` one after another, in one array (the one chunk itself when there is only one). */
export function concatBytes(chunks: readonly Uint8Array[]): Uint8Array {
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.length, 0));
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}
