/**
 * JSON pointer segments (RFC 6901): inside a key, `~` is written `~0` and
 * `/` is written `~1`, so a key with either still names one segment.
 * @module
 */

/** `/` and the segment naming `key` in a JSON pointer: `a/b` → `/a~1b`. */
export function pointerSegment(key: string | number): string {
  return `/${String(key).replaceAll("~", "~0").replaceAll("/", "~1")}`;
}

/** The key a JSON pointer segment (without its `/`) names: `a~1b` → `a/b`. */
export function segmentKey(segment: string): string {
  return segment.replaceAll("~1", "/").replaceAll("~0", "~");
}
