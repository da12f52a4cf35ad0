/**
 * W3C trace context ids and the TRACEPARENT header.
 * @module
 */

/** Random lowercase hex of `bytes` bytes (never all zero). */
export function randomHex(bytes: number): string {
  const buf = new Uint8Array(bytes);
  do crypto.getRandomValues(buf); while (buf.every((b) => b === 0));
  return Array.from(buf, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** A new 32-hex trace id. */
export function newTraceId(): string {
  return randomHex(16);
}

/** A new 16-hex span id. */
export function newSpanId(): string {
  return randomHex(8);
}

/** A parsed TRACEPARENT. */
export interface TraceParent {
  traceId: string;
  spanId: string;
  sampled: boolean;
}

/** Parses `00-<trace id>-<span id>-<flags>`; undefined when absent or malformed. */
export function parseTraceParent(text: string | undefined): TraceParent | undefined {
  const m = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/.exec(text?.trim().toLowerCase() ?? "");
  if (!m || m[1] === "ff" || /^0+$/.test(m[2]) || /^0+$/.test(m[3])) return undefined;
  return { traceId: m[2], spanId: m[3], sampled: (parseInt(m[4], 16) & 1) === 1 };
}

/** Formats a TRACEPARENT for a child of span `spanId` in trace `traceId`. */
export function formatTraceParent(traceId: string, spanId: string, sampled = true): string {
  return `00-${traceId}-${spanId}-${sampled ? "01" : "00"}`;
}
