/**
 * JSON text of a value made at run time (a param's body, a template inside
 * text): `JSON.stringify`'s RangeError said as what it means for the value.
 * @module
 */

import { MAX_NESTING_DEPTH, valueNestedBeyond } from "./json_depth.ts";

/** Why a value has no JSON text: nested too deep for the stack, or text longer than the longest string. */
export type JsonTextProblem = "deep" | "large";

/** Why a value too large has no JSON text (said after "too large"). */
export const TOO_LONG = "its JSON text would be longer than the longest string";

/** `JSON.stringify` threw a RangeError for a value; `problem` says which kind. */
export class JsonTextError extends RangeError {
  /** Nested too deep for the stack, or too large for a string. */
  readonly problem: JsonTextProblem;

  /**
   * @param problem which kind
   * @param cause the RangeError `JSON.stringify` threw
   */
  constructor(problem: JsonTextProblem, cause: RangeError) {
    super(problem === "deep" ? "nested too deep for JSON text" : `too large (${TOO_LONG})`, { cause });
    this.name = "JsonTextError";
    this.problem = problem;
  }
}

/**
 * `JSON.stringify(value, null, space)` (`""` for a value it skips), or a
 * {@link JsonTextError}: a value nested too deep overflows the stack, and
 * text longer than the longest string (about 2^29 characters on V8) is
 * refused, both as a bare RangeError.
 */
export function jsonText(value: unknown, space?: number): string {
  // Indented text repeats the indentation at every level, so a deep value's text grows with the square of
  // its depth: 200,000 levels took JavaScriptCore 24 s and 2.2 GB before it overflowed. Beyond the depth
  // pflow keeps anywhere, the value is refused before any text is made (the walk stops at that depth).
  if (space !== undefined && valueNestedBeyond(value, MAX_NESTING_DEPTH)) {
    throw new JsonTextError("deep", new RangeError(`nested deeper than ${MAX_NESTING_DEPTH} levels`));
  }
  try {
    return JSON.stringify(value, null, space) ?? "";
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    throw new JsonTextError(jsonRangeProblem(error, value), error);
  }
}

/**
 * Which kind a RangeError of `JSON.stringify(value)` is. V8 and JavaScriptCore say
 * "Maximum call stack size exceeded" for the stack; V8 says "Invalid string length" and
 * JavaScriptCore "Out of memory" for the length. Another wording is judged by the value's depth.
 */
export function jsonRangeProblem(error: RangeError, value: unknown): JsonTextProblem {
  if (/call stack/i.test(error.message)) return "deep";
  if (/string length|out of memory/i.test(error.message)) return "large";
  return valueNestedBeyond(value, MAX_NESTING_DEPTH) ? "deep" : "large";
}
