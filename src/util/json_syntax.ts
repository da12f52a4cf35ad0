/**
 * Where JSON text stops being JSON, and why, in words of our own: the
 * runtimes' `JSON.parse` messages differ (V8 names a position, JavaScriptCore
 * of the compiled binary does not), so an error that says where reads this.
 * @module
 */

/** The first syntax error of JSON text: its UTF-16 offset and what is wrong there. */
export interface JsonSyntaxError {
  /** Where (`text.length` when the text ends too early). */
  offset: number;
  /** What, e.g. `unexpected 'x'`, `expected ',' or ']'`. */
  problem: string;
}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const WHITE = /[ \t\n\r]*/y;

/**
 * The first syntax error of `text`, or undefined when it is JSON. One
 * iterative pass (nesting as deep as the text likes); for an error path: a
 * text that parsed needs no second look.
 */
export function jsonSyntaxError(text: string): JsonSyntaxError | undefined {
  const closers: string[] = []; // "]" or "}" of each open container
  let i = 0;
  const skip = () => {
    WHITE.lastIndex = i;
    WHITE.test(text);
    i = WHITE.lastIndex;
  };
  const fail = (problem: string, at = i): JsonSyntaxError =>
    at >= text.length ? { offset: text.length, problem: "it ends too early" } : { offset: at, problem };
  const shown = () => `unexpected ${JSON.stringify(text[i])}`;
  /** Reads a string at `i` (its opening quote); the error, if any. */
  const string = (): JsonSyntaxError | undefined => {
    const start = i;
    for (i++; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        i++;
        return undefined;
      }
      if (c < 0x20) return fail("a control character (a raw line break or tab) in a string");
      if (c === 0x5c) {
        const e = text[i + 1];
        if (e === "u") {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) return fail("a bad \\u escape in a string");
          i += 5;
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) i++;
        else return fail("a bad escape in a string", i + 1 >= text.length ? i + 1 : i);
      }
    }
    return { offset: start, problem: "a string that is not closed" };
  };
  /** Reads `"key" :` of an object member at `i`; the error, if any. */
  const member = (): JsonSyntaxError | undefined => {
    skip();
    if (text[i] !== '"') return fail("expected a key in double quotes");
    const bad = string();
    if (bad !== undefined) return bad;
    skip();
    if (text[i] !== ":") return fail("expected ':' after a key");
    i++;
    return undefined;
  };
  for (;;) {
    // A value.
    skip();
    if (i >= text.length) return fail("");
    const c = text[i];
    if (c === "{" || c === "[") {
      i++;
      skip();
      if (text[i] === (c === "{" ? "}" : "]")) i++; // empty
      else {
        closers.push(c === "{" ? "}" : "]");
        if (c === "[") continue;
        const key = member();
        if (key !== undefined) return key;
        continue;
      }
    } else if (c === '"') {
      const bad = string();
      if (bad !== undefined) return bad;
    } else if (c === "-" || (c >= "0" && c <= "9")) {
      NUMBER.lastIndex = i;
      if (!NUMBER.test(text)) return fail("a bad number");
      i = NUMBER.lastIndex;
    } else {
      const word = ["true", "false", "null"].find((w) => text.startsWith(w, i));
      if (word === undefined) return fail(shown());
      i += word.length;
    }
    // After a value: close containers, or go on to the next item.
    for (;;) {
      skip();
      const closer = closers[closers.length - 1];
      if (closer === undefined) return i >= text.length ? undefined : fail("unexpected text after the JSON");
      if (text[i] === closer) {
        closers.pop();
        i++;
        continue;
      }
      if (text[i] !== ",") return fail(`expected ',' or '${closer}'`);
      i++;
      if (closer === "}") {
        const key = member();
        if (key !== undefined) return key;
      }
      break;
    }
  }
}
