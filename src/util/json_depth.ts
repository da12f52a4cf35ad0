/**
 * Nesting depth of JSON text, checked before parsing: the parser, the schema
 * validator and every later walk recurse, so a document nested 100,000 deep
 * would overflow the stack instead of failing with a clear error.
 * @module
 */

/** Deepest nesting of arrays and objects pflow accepts in a workflow file or a JSON param. */
export const MAX_NESTING_DEPTH = 1000;

/** What a document deeper than {@link MAX_NESTING_DEPTH} is, in the words of every error that refuses one. */
export const TOO_DEEP = `nested deeper than ${MAX_NESTING_DEPTH} levels of arrays and objects`;

/** Offset of the first `[` or `{` that opens level `max + 1` of nesting (outside strings), or -1. One pass. */
export function nestingBeyond(text: string, max: number): number {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return i;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return -1;
}

/**
 * Whether `value` nests arrays and objects more than `max` levels deep.
 * Iterative (a value parsed at run time can be nested 100,000 deep, which
 * every recursive walk would overflow on); stops at the first such level.
 */
export function valueNestedBeyond(value: unknown, max: number): boolean {
  if (value === null || typeof value !== "object") return false;
  const stack: [object, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (depth > max) return true;
    if (ArrayBuffer.isView(v)) continue;
    for (const item of Array.isArray(v) ? v : Object.values(v)) {
      if (item !== null && typeof item === "object") stack.push([item, depth + 1]);
    }
  }
  return false;
}
