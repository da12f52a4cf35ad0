/**
 * Text given for a declared input (a `key=value` param, or piped stdin) as a
 * value of the input's type, or the reason it is not one.
 * @module
 */
import { MAX_NESTING_DEPTH, nestingBeyond, TOO_DEEP } from "../util/json_depth.ts";
import { isSecretName } from "../observability/redact.ts";
import type { InputIR } from "./ir.ts";
import { formatJsonPath, parseJsonNoting, sameDecimal } from "../util/json_numbers.ts";
import { duplicateKeys, lineColumn } from "../util/json_duplicates.ts";

/** A text typed by {@link typedInputText}: its value, or what is wrong with it (a phrase after the input's name). */
export type TypedText = { ok: true; value: unknown } | { ok: false; problem: string };

/** The problem of an input given as JSON deeper than pflow reads. */
export const TOO_DEEP_INPUT = `must not be JSON ${TOO_DEEP}`;

const NUMBER = /^-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/**
 * `text` as a value of a declared input `type`: a `string` takes the text as
 * is, `number` and `integer` a finite number (white space around it allowed),
 * `boolean` exactly `true` or `false`, `object` and `array` JSON of that shape
 * and depth. Untyped (`any`) inputs are the caller's to type; here they stay
 * text. `secret`: a problem never quotes the text.
 */
export function typedInputText(
  text: string,
  type: InputIR["type"] | undefined,
  options: { secret?: boolean } = {},
): TypedText {
  if (type !== "string" && /^\s*[[{]/.test(text) && nestingBeyond(text, MAX_NESTING_DEPTH) >= 0) {
    return { ok: false, problem: TOO_DEEP_INPUT };
  }
  switch (type) {
    case "number":
    case "integer": {
      const n = Number(text);
      if (!NUMBER.test(text.trim()) || !Number.isFinite(n)) {
        return { ok: false, problem: `must be ${type === "integer" ? "an integer" : "a number"}` };
      }
      if (type === "integer" && !Number.isInteger(n)) return { ok: false, problem: "must be a whole number" };
      if (!sameDecimal(text.trim(), String(n))) return { ok: false, problem: LOSES_DIGITS };
      return { ok: true, value: n };
    }
    case "boolean":
      if (text === "true" || text === "false") return { ok: true, value: text === "true" };
      return { ok: false, problem: "must be true or false" };
    case "object":
    case "array": {
      let value: unknown;
      try {
        const parsed = givenJson(text, options);
        if (!parsed.ok) return parsed;
        value = parsed.value;
      } catch (error) {
        return { ok: false, problem: `must be JSON (${jsonErrorText(error as Error, text, options.secret)})` };
      }
      const fits = type === "array" ? Array.isArray(value) : value !== null && typeof value === "object" &&
        !Array.isArray(value);
      return fits ? { ok: true, value } : { ok: false, problem: `must be a JSON ${type}` };
    }
    default:
      return { ok: true, value: text };
  }
}

/**
 * A text given for an untyped (`any`) input, or a key of a workflow that declares no inputs, typed by the
 * command line's rule (the planner types the model's text for such an input by it too, so a printed `x=42`
 * gives the value the planned run used): `true`/`false`, `null`, a number only when it prints back as the
 * same text (`42`, `1.5`, `-3`; `1.10`, `1e3`, `007` and `1234567890123456789` stay text), JSON starting with
 * `[` or `{` (a problem when it does not parse, is too deep, or holds a number it would lose digits of);
 * anything else is text. `secret` (a secret-named key): text stays text (`token=000123` keeps its zeros),
 * unless it is JSON data, and a problem never quotes it.
 */
export function untypedInputText(text: string, options: { secret?: boolean } = {}): TypedText {
  const secret = options.secret ?? false;
  const json = /^\s*[[{]/.test(text);
  if (secret && !json) return { ok: true, value: text };
  if (text === "true") return { ok: true, value: true };
  if (text === "false") return { ok: true, value: false };
  if (text === "null") return { ok: true, value: null };
  // Only a number that prints back as the text it was: no digit lost, no spelling changed.
  if (/^-?\d+(?:\.\d+)?$/.test(text) && String(Number(text)) === text) return { ok: true, value: Number(text) };
  if (!json) return { ok: true, value: text };
  if (nestingBeyond(text, MAX_NESTING_DEPTH) >= 0) return { ok: false, problem: TOO_DEEP_INPUT };
  try {
    return givenJson(text, { secret });
  } catch (error) {
    const reason = jsonErrorText(error as Error, text, secret);
    return { ok: false, problem: `must be valid JSON when it starts with [ or { (${reason}; quote it differently)` };
  }
}

/**
 * JSON text given as a value (`key=value`, piped stdin), parsed (invalid JSON
 * throws as `JSON.parse` does); a number in it that a JSON number cannot keep
 * (`{"id": 1234567890123456789}`) is a problem, as it is for a number input,
 * instead of a value silently changed. `secret`: the problem does not quote it.
 */
export function givenJson(text: string, options: { secret?: boolean } = {}): TypedText {
  const { value, lossy, count } = parseJsonNoting(text);
  // A key given twice would silently keep its last value, as a workflow file's would: refused alike.
  if (value !== null && typeof value === "object") {
    const [twice] = duplicateKeys(text);
    if (twice !== undefined) {
      const where = (offset: number) => {
        const { line, column } = lineColumn(text, offset);
        return text.includes("\n") ? `line ${line}:${column}` : `character ${column}`;
      };
      const inside = twice.pointer.split("/").length > 2 ? ` (at ${twice.pointer})` : "";
      return {
        ok: false,
        problem: `holds the key '${twice.key}' twice${inside}, at ${where(twice.first)} and ${
          where(twice.second)
        }; JSON keeps only the last one (remove or rename one)`,
      };
    }
  }
  if (count === 0) return { ok: true, value };
  const [first] = lossy;
  const at = first.path.length === 0 ? "" : ` at ${formatJsonPath(first.path).replace(/^\./, "")}`;
  const more = count > 1 ? ` (and ${count - 1} more)` : "";
  // Under a secret's name (the param's, or a key on the way to the number) the number is not quoted.
  const hidden = options.secret || first.path.some((key) => typeof key === "string" && isSecretName(key));
  const shown = hidden ? `a number${at}` : `${first.source}${at}`;
  return {
    ok: false,
    problem: `holds ${shown}${more}, which would lose digits as a JSON number; write ${
      count > 1 ? "them as JSON strings" : "it as a JSON string"
    } ("…") to keep every digit`,
  };
}

/** The problem of a number given with more digits than a JSON number keeps (`id=99999999999999999999`). */
export const LOSES_DIGITS = `would lose digits as a JSON number (exact up to ${Number.MAX_SAFE_INTEGER} for whole ` +
  'numbers; declare the input "type": "string" to keep every digit)';

/**
 * Why `text` is not JSON, in a few words, from the `error` that parsing it
 * threw; `secret`: without the runtime's quote of the text.
 */
export function jsonErrorText(error: Error, text: string, secret = false): string {
  const message = error.message.split("\n")[0];
  if (!secret && !mayShowSecret("", text)) return message;
  const at = /position \d+(?: \(line \d+ column \d+\))?/.exec(message)?.[0];
  return at === undefined ? "invalid JSON" : `invalid JSON at ${at}`;
}

/** Whether quoting `text`, given for `key`, could show a secret: a secret-named key, or JSON with one inside. */
export function mayShowSecret(key: string, text: string): boolean {
  if (isSecretName(key)) return true;
  if (!/^\s*[[{]/.test(text)) return false;
  for (const [, name] of text.matchAll(/"([^"\\]{1,64})"\s*:/g)) if (isSecretName(name)) return true;
  return false;
}

/** What an input problem says in place of a value that may hold a secret. */
const NOT_SHOWN = "a value not shown here (it may hold a secret)";

/**
 * How an input problem shows the value given for `name`: shortened, as
 * JSON (`json`: piped text and typed values) or in single quotes (text typed
 * on the command line), or not at all when the name is a secret's or the
 * value holds a secret-named key (`{"password": …`, parsed or not).
 */
export function shownInputValue(name: string, value: unknown, options: { json: boolean }): string {
  const json = JSON.stringify(value) ?? String(value);
  const text = typeof value === "string" ? value : json;
  if (mayShowSecret(name, text)) return NOT_SHOWN;
  const shorten = (t: string) => t.length > 60 ? `${t.slice(0, 57)}...` : t;
  return options.json ? shorten(json) : `'${shorten(text)}'`;
}
