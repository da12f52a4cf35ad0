/**
 * Keys given twice in one JSON object, which JSON.parse accepts silently
 * (the last wins): found in workflow files, settings.json and JSON given as
 * a param, so that each refuses them alike.
 * @module
 */
import { pointerSegment } from "./json_pointer.ts";

/** A key given twice in one JSON object: the pointer of the object's member, and both keys' offsets. */
export interface DuplicateKey {
  /** The key. */
  key: string;
  /** JSON pointer of the (second) member. */
  pointer: string;
  /** UTF-16 offset of the key's first occurrence (its opening quote). */
  first: number;
  /** UTF-16 offset of the second occurrence. */
  second: number;
}

/**
 * Each key that appears twice in one JSON object of `text` (valid JSON;
 * JSON.parse silently keeps the last), in text order. One linear scan, no
 * parser: cheap enough for every settings file and JSON param.
 */
export function duplicateKeys(text: string): DuplicateKey[] {
  type Frame = { keys: Map<string, number>; key?: string } | { index: number };
  const found: DuplicateKey[] = [];
  const stack: Frame[] = [];
  let expectKey = false;
  const pointerOf = (frames: Frame[]) =>
    frames.map((f) => pointerSegment("keys" in f ? f.key ?? "" : f.index))
      .join("");
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) { // a string: skip it whole; in an object before ':' it is a key
      const start = i;
      for (i++; i < text.length && text.charCodeAt(i) !== 0x22; i++) if (text.charCodeAt(i) === 0x5c) i++;
      const top = stack[stack.length - 1];
      if (top !== undefined && "keys" in top && expectKey) {
        // Parsed only when escaped: a plain key is its text.
        const raw = text.slice(start + 1, i);
        const key = raw.includes("\\") ? JSON.parse(text.slice(start, i + 1)) as string : raw;
        const first = top.keys.get(key);
        top.key = key;
        if (first !== undefined) found.push({ key, pointer: pointerOf(stack), first, second: start });
        else top.keys.set(key, start);
        expectKey = false;
      }
    } else if (c === 0x7b) {
      stack.push({ keys: new Map() });
      expectKey = true;
    } else if (c === 0x5b) {
      stack.push({ index: 0 });
      expectKey = false;
    } else if (c === 0x7d || c === 0x5d) {
      stack.pop();
    } else if (c === 0x2c) {
      const top = stack[stack.length - 1];
      if (top !== undefined && "keys" in top) expectKey = true;
      else if (top !== undefined) top.index++;
    }
  }
  return found;
}

/**
 * The 1-based line and column of a UTF-16 `offset` in `text`; the column
 * counts characters (code points), so an emoji earlier on the line counts
 * once, as an editor shows it.
 */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  const end = Math.min(offset, text.length);
  for (let i = 0; i < end; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  let column = 1 + (offset - end);
  for (let i = lineStart; i < end; i++) {
    const c = text.charCodeAt(i);
    // The second half of a surrogate pair belongs to the character before it.
    if (c >= 0xdc00 && c <= 0xdfff && i > lineStart && (text.charCodeAt(i - 1) & 0xfc00) === 0xd800) continue;
    column++;
  }
  return { line, column };
}
