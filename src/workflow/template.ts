/**
 * `${templates}`: parsing once at compile time, resolving at run time.
 *
 * Grammar: `${name}`, `${node_id.key.sub}`, `${node_id.items[0].x}`, and
 * `${node_id.items[*].x}` (the list of each item's `x`, `null` for an item
 * that is null or has no `x`); `$${` is always a literal `${` (and before a `{`
 * each `$$` is one `$`, so `$$${x}` is `$` and x's value), and a `${`
 * without a closing `}` is a syntax error. A value that is exactly one template keeps the resolved
 * value's type; templates inside text are stringified (objects as JSON).
 * When a path continues into a string that holds JSON (e.g. a command's
 * stdout), the string is parsed so `${cmd.stdout.field}` works. Templates
 * are resolved in values only: an object key holding one is refused
 * ({@link keyTemplateProblem}), and a key's escapes are written out.
 * @module
 */

import { didYouMean } from "./errors.ts";
import { type LossyNumber, lossyNumberText, lossyValues, parseJsonNoting } from "../util/json_numbers.ts";
import { TOO_DEEP } from "../util/json_depth.ts";
import { warnOnce } from "../util/warn_once.ts";
import { jsonText, JsonTextError, TOO_LONG } from "../util/json_text.ts";
import { lineColumn } from "../util/json_duplicates.ts";
import { jsonSyntaxError } from "../util/json_syntax.ts";

/** One step of a path: a key, an array index, or {@link EACH} (every item of a list). */
export type PathSegment = string | number;

/** The `[*]` segment: the rest of the path is taken from every item of the list. */
export const EACH = "*";

/** One `${...}` reference. */
export interface TemplateRef {
  /** The text as written, e.g. `${fetch.items[0]}`. */
  source: string;
  /** The segments, e.g. `["fetch", "items", 0]`. */
  segments: PathSegment[];
}

/** Where templates are resolved: batch variables first, then the root store. */
export interface TemplateScope {
  /** The root shared store. */
  root: Record<string, unknown>;
  /** Batch item variables (`item` or the batch's `as` name). */
  vars?: Record<string, unknown>;
  /**
   * Hears that JSON text a path went into holds a number the value read
   * cannot hold exactly (an id beyond 2^53); each message once per `warn`.
   */
  warn?: (message: string) => void;
}

/** Resolves a compiled value in a scope. */
export type Resolver = (scope: TemplateScope) => unknown;

/** A template could not be parsed. */
export class TemplateSyntaxError extends Error {
  /** @param message what is wrong */
  constructor(message: string) {
    super(message);
    this.name = "TemplateSyntaxError";
  }
}

/** A template's path does not exist in the store at run time. */
export class UnresolvedTemplateError extends Error {
  /** The reference that failed. */
  readonly ref: TemplateRef;
  /** What is missing and what is available (the message without the reference). */
  readonly reason: string;
  /** True when the path stopped at a `null` (e.g. the result of a batch item that threw). */
  readonly atNull: boolean;

  /**
   * @param ref the reference
   * @param message what is missing and what is available
   * @param options `atNull`: the path stopped at a `null`
   */
  constructor(ref: TemplateRef, message: string, options: { atNull?: boolean } = {}) {
    super(`cannot resolve ${ref.source}: ${message}`);
    this.name = "UnresolvedTemplateError";
    this.ref = ref;
    this.reason = message;
    this.atNull = options.atNull ?? false;
  }
}

const PATH = /^[A-Za-z_][\w-]*(?:\.[A-Za-z_][\w-]*|\[(?:\d+|\*)\])*$/;

type Part = string | TemplateRef;

/**
 * Parses a string into literal parts and references (escapes removed).
 * `$${` is always a literal `${` (with or without a `}` after it); any other
 * `${` must be closed by a `}` and hold a path, else {@link TemplateSyntaxError}.
 * Before a `{`, each `$$` is one `$`: a run of k `$` then `{` writes k/2 `$`
 * (rounded down), then a literal `{` for an even k or a template for an odd
 * one (`$$${price}` is `$` and the value). `$` not before `{` is as written.
 */
export function parseTemplate(text: string): Part[] {
  const parts: Part[] = [];
  let literal = "";
  let last = 0;
  for (let open = text.indexOf("${"); open >= 0; open = text.indexOf("${", last)) {
    // A run of k `$` before the `{`: k/2 of them written, then an odd one opens a template, an even k is `{`.
    let start = open;
    while (start > last && text.charCodeAt(start - 1) === 0x24) start--;
    const k = open - start + 1;
    literal += text.slice(last, start) + "$".repeat(k >> 1);
    if (k % 2 === 0) { // `$${`: a literal `${`
      literal += "{";
      last = open + 2;
      continue;
    }
    const close = text.indexOf("}", open + 2);
    if (close < 0) {
      const rest = text.slice(open);
      const shown = [...rest].length > 40 ? `${[...rest].slice(0, 37).join("")}...` : rest;
      throw new TemplateSyntaxError(
        `unclosed template '${shown}': a \${ needs a closing } (write $\${ for a literal \${)`,
      );
    }
    const whole = text.slice(open, close + 1);
    const path = text.slice(open + 2, close).trim();
    if (!PATH.test(path)) {
      throw new TemplateSyntaxError(
        `invalid template '${whole}': expected a path like \${name}, \${node.key}, \${node.list[0].x} or \${node.list[*].x} (write $\${ for a literal \${)`,
      );
    }
    if (literal !== "") parts.push(literal);
    literal = "";
    parts.push({ source: whole, segments: parsePath(path) });
    last = close + 1;
  }
  literal += text.slice(last);
  if (literal !== "") parts.push(literal);
  return parts;
}

function parsePath(path: string): PathSegment[] {
  const segments: PathSegment[] = [];
  for (const m of path.matchAll(/([A-Za-z_][\w-]*)|\[(\d+|\*)\]/g)) {
    segments.push(m[1] !== undefined ? m[1] : m[2] === EACH ? EACH : Number(m[2]));
  }
  return segments;
}

/** Formats segments back to `a.b[0]`. */
export function formatPath(segments: readonly PathSegment[]): string {
  return segments.map((s, i) => typeof s === "number" || s === EACH ? `[${s}]` : i === 0 ? s : `.${s}`).join("");
}

/** True when a string contains `${` that is a template or an escape. */
export function hasTemplateSyntax(text: string): boolean {
  return text.includes("${");
}

/**
 * Why an object key inside a param cannot be used, or undefined: templates
 * are resolved in values only, so a key holding one is refused rather than
 * used as written (a query parameter sent as `%24%7Bk%7D`, a header name that
 * fails). Escapes are fine: `$${` in a key is a literal `${`, as in a value.
 * Throws {@link TemplateSyntaxError} for a key that is not valid template text.
 * @param key the key
 * @param param the param the key is in (names it in the example of the fix)
 */
export function keyTemplateProblem(key: string, param?: string): string | undefined {
  if (!hasTemplateSyntax(key)) return undefined;
  const ref = parseTemplate(key).find((part) => typeof part !== "string");
  if (ref === undefined) return undefined;
  const example = param === undefined ? "" : ` ("${param}": "\${name}")`;
  return `${ref.source} is in an object key, and templates are resolved only in values: write the key out, ` +
    `or give the whole object as one template naming an object input or a node's JSON output${example}; ` +
    `write $\${ for a literal \${`;
}

/** A key as it is used: escapes written out (`$${` is `${`); a key holding a template throws. */
function literalKey(key: string): string {
  if (!hasTemplateSyntax(key)) return key;
  const problem = keyTemplateProblem(key);
  if (problem !== undefined) throw new TemplateSyntaxError(problem);
  return parseTemplate(key).join("");
}

/**
 * Every reference inside a value (strings, arrays, objects), with its path in
 * the value. Keys hold no references: {@link keyTemplateProblem}.
 */
export function* templateRefs(value: unknown, at = ""): Generator<{ at: string; ref: TemplateRef }> {
  if (typeof value === "string") {
    if (!hasTemplateSyntax(value)) return;
    for (const part of parseTemplate(value)) if (typeof part !== "string") yield { at, ref: part };
  } else if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) yield* templateRefs(value[i], `${at}[${i}]`);
  } else if (value !== null && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) yield* templateRefs(v, at ? `${at}.${k}` : k);
  }
}

/**
 * Compiles a value: returns undefined when it holds no templates (use it as
 * is), else a resolver. Escapes are unescaped either way by the resolver, so
 * a value with only escapes also compiles to a (constant) resolver. Object
 * keys are not resolved: a key holding a template throws
 * {@link TemplateSyntaxError} ({@link keyTemplateProblem}); its escapes are
 * unescaped as a value's are.
 */
export function compileValue(value: unknown): Resolver | undefined {
  if (typeof value === "string") {
    if (!hasTemplateSyntax(value)) return undefined;
    const parts = parseTemplate(value);
    if (parts.length === 1 && typeof parts[0] !== "string") {
      const ref = parts[0];
      return (scope) => lookup(ref, scope);
    }
    return (scope) => parts.map((p) => typeof p === "string" ? p : textOf(p, lookup(p, scope))).join("");
  }
  if (Array.isArray(value)) {
    const items = value.map(compileValue);
    if (items.every((r) => r === undefined)) return undefined;
    return (scope) => value.map((v, i) => items[i] ? items[i](scope) : v);
  }
  if (value !== null && typeof value === "object") {
    // Keys are never templates (one that holds a template throws); their escapes are written out.
    const entries = Object.entries(value).map(([k, v]) => [k, literalKey(k), v, compileValue(v)] as const);
    if (entries.every(([k, key, , r]) => r === undefined && key === k)) return undefined;
    return (scope) => Object.fromEntries(entries.map(([, key, v, r]) => [key, r ? r(scope) : v]));
  }
  return undefined;
}

/** `stringify(value)`, or an error naming `ref` for a value that has no JSON text (nested too deep, or too large). */
function textOf(ref: TemplateRef, value: unknown): string {
  try {
    return stringify(value);
  } catch (error) {
    if (!(error instanceof JsonTextError)) throw error;
    throw new RangeError(
      error.problem === "deep"
        ? `${ref.source} is ${TOO_DEEP}, too deep to write into text; flatten it`
        : `${ref.source} is too large to write into text (${TOO_LONG})`,
      { cause: error },
    );
  }
}

/** Text form of a resolved value inside a string ({@link JsonTextError} for an object that has no JSON text). */
export function stringify(value: unknown): string {
  if (typeof value === "string") return value;
  if (value === undefined || value === null) return "";
  if (typeof value === "object") return jsonText(value);
  return String(value);
}

/** Resolves one reference; throws {@link UnresolvedTemplateError} naming what is available. */
export function lookup(ref: TemplateRef, scope: TemplateScope): unknown {
  const head = ref.segments[0] as string;
  let current: unknown;
  if (scope.vars !== undefined && Object.hasOwn(scope.vars, head)) current = scope.vars[head];
  else {
    current = scope.root[head];
    // `${constructor}` names a store key, never what every object inherits.
    if (current !== undefined && INHERITED.has(head) && !Object.hasOwn(scope.root, head)) current = undefined;
  }
  if (current === undefined) {
    const available = [...Object.keys(scope.vars ?? {}), ...Object.keys(scope.root)];
    const hint = didYouMean(head, available);
    throw new UnresolvedTemplateError(ref, `'${head}' is not in the shared store${hint}${listAvailable(available)}`);
  }
  return walk(current, ref, 1, [head], scope.warn);
}

/** Names every object inherits (`constructor`, `toString`, `__proto__`…): looked up as own keys only. */
const INHERITED = new Set(Object.getOwnPropertyNames(Object.prototype));

/**
 * Follows `ref.segments` from index `from` into `value`; `[*]` maps the rest
 * over a list. `at` is the path walked before `from`, with the index of each
 * item `[*]` went into (so an error names `m.results[1]`, not `m.results[*]`).
 */
function walk(
  value: unknown,
  ref: TemplateRef,
  from: number,
  at: PathSegment[],
  warn?: (message: string) => void,
): unknown {
  // The path to segment `i`: built only for an error or a warning.
  const pathTo = (i: number): PathSegment[] => [...at, ...ref.segments.slice(from, i)];
  let current = value;
  let json: JsonText | undefined;
  for (let i = from; i < ref.segments.length; i++) {
    const segment = ref.segments[i];
    if (typeof current === "string" && /^\s*[[{]/.test(current)) {
      const text = current;
      try {
        current = JSON.parse(text);
        json = warn === undefined ? undefined : { text, from: i };
      } catch {
        // Text that starts like JSON and is not: the path cannot go on, and the error says why.
        const needs = segment === EACH
          ? "[*] has nothing to map"
          : `it has no ${typeof segment === "number" ? `[${segment}]` : `'${segment}'`}`;
        throw new UnresolvedTemplateError(
          ref,
          `'${formatPath(pathTo(i))}' starts like JSON but is not valid JSON (${notJsonReason(text)}), so ${needs}`,
        );
      }
    }
    if (segment === EACH) {
      if (!Array.isArray(current)) {
        throw new UnresolvedTemplateError(
          ref,
          `'${formatPath(pathTo(i))}' is ${kindOf(current)}, not a list, so [*] has nothing to map`,
          { atNull: current === null },
        );
      }
      if (json !== undefined) warnLossy(json, current, ref, pathTo(json.from), warn!);
      return eachItem(current, ref, i + 1, pathTo(i), warn);
    }
    const next = step(current, segment);
    if (next === undefined) {
      const atNull = current === null;
      const here = formatPath(pathTo(i));
      if (typeof segment === "number") {
        const what = Array.isArray(current) ? `has ${current.length} items` : `is ${kindOf(current)}, not a list`;
        throw new UnresolvedTemplateError(ref, `'${here}' ${what}, no [${segment}]`, { atNull });
      }
      const keys = current !== null && typeof current === "object" && !Array.isArray(current)
        ? Object.keys(current)
        : undefined;
      const detail = keys === undefined ? ` ('${here}' is ${kindOf(current)})` : listAvailable(keys);
      throw new UnresolvedTemplateError(ref, `'${here}' has no '${segment}'${detail}`, { atNull });
    }
    current = next;
  }
  if (json !== undefined) warnLossy(json, current, ref, pathTo(json.from), warn!);
  return current;
}

/** Why `text`, which `JSON.parse` refused, is not JSON, and where: `unexpected "x" at character 6`. */
function notJsonReason(text: string): string {
  const error = jsonSyntaxError(text);
  if (error === undefined) return "it does not parse";
  if (error.offset >= text.trimEnd().length) {
    return error.problem === "it ends too early" ? error.problem : `${error.problem} at the end`;
  }
  const { line, column } = lineColumn(text, error.offset);
  const where = text.trimEnd().includes("\n") ? `line ${line} column ${column}` : `character ${column}`;
  return `${error.problem} at ${where}`;
}

/** The last JSON text a path went into, at segment `from`. */
interface JsonText {
  text: string;
  from: number;
}

/**
 * Per `warn` (a run's): what was found in the last JSON text looked into (a
 * template in a loop reads the same text again).
 */
interface RunNotes {
  text?: string;
  /** {@link lossyValues} of `text`, once scanned. */
  values?: Set<number>;
  /** The lossy numbers {@link parseJsonNoting} locates in `text`, once parsed so. */
  lossy?: LossyNumber[];
}

const notes = new WeakMap<(message: string) => void, RunNotes>();

/**
 * Warns about the first lossy number of `json` (found at path `at`) inside
 * what the rest of the path selects (`selected`, or the list `[*]` maps).
 * The text is parsed again noting its numbers only when `selected` holds a
 * number that a long number of the text reads as: a float printed with 17
 * digits (`0.30000000000000004`) elsewhere in the text costs one regex pass
 * (once per text and run), not a second, slower parse at every lookup.
 */
function warnLossy(
  json: JsonText,
  selected: unknown,
  ref: TemplateRef,
  at: PathSegment[],
  warn: (message: string) => void,
): void {
  let run = notes.get(warn);
  if (run === undefined) notes.set(warn, run = {});
  if (run.text !== json.text) Object.assign(run, { text: json.text, values: undefined, lossy: undefined });
  const text = json.text;
  if (!holdsLossy(selected, () => run.values ??= lossyValues(text))) return;
  run.lossy ??= parseJsonNoting(json.text).lossy;
  const rest = ref.segments.slice(json.from);
  const hit = run.lossy.find((n) =>
    n.path.length >= rest.length && rest.every((s, j) => s === EACH ? typeof n.path[j] === "number" : n.path[j] === s)
  );
  if (hit === undefined) return;
  const message = `${ref.source}: '${formatPath([...at, ...hit.path])}' ${lossyNumberText(hit)} ` +
    `(write it in the JSON as a string: "${hit.source}")`;
  warnOnce(warn, message); // once per run: a template in a loop or a batch reads it again
}

/**
 * Whether `value` is or holds a number among `lossy()` (the values the long
 * numbers of the text read as, scanned at the first number met).
 * Iterative: a value parsed at run time can be nested deeper than the stack.
 */
function holdsLossy(value: unknown, lossy: () => Set<number>): boolean {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === "number") {
      const values = lossy();
      if (values.size === 0) return false;
      if (values.has(v)) return true;
    } else if (v !== null && typeof v === "object") {
      for (const item of Array.isArray(v) ? v : Object.values(v)) stack.push(item);
    }
  }
  return false;
}

/**
 * The rest of the path (from `from`) taken from every item of `list`. An item
 * that is `null` or lacks the rest of the path gives `null` (a batch item
 * that threw has a `null` result); when no item has it and some item is not
 * null, the path is likely misspelt, so that item's error is thrown.
 */
function eachItem(
  list: unknown[],
  ref: TemplateRef,
  from: number,
  at: PathSegment[],
  warn?: (message: string) => void,
): unknown[] {
  let resolvedAny = false;
  let missing: UnresolvedTemplateError | undefined;
  const values = list.map((item, index) => {
    try {
      const value = walk(item, ref, from, [...at, index], warn);
      resolvedAny = true;
      return value;
    } catch (error) {
      if (!(error instanceof UnresolvedTemplateError)) throw error;
      if (!error.atNull) missing ??= error;
      return null;
    }
  });
  if (!resolvedAny && missing !== undefined) {
    const others = list.length > 1 ? `; no item of '${formatPath(at)}' has it` : "";
    throw new UnresolvedTemplateError(ref, `${missing.reason}${others}`);
  }
  return values;
}

function step(value: unknown, segment: PathSegment): unknown {
  if (value === null || typeof value !== "object") return undefined;
  if (typeof segment === "number") return Array.isArray(value) ? value[segment] : undefined;
  if (Object.hasOwn(value, segment) || (segment === "length" && Array.isArray(value))) {
    return (value as Record<string, unknown>)[segment];
  }
  return undefined;
}

function kindOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  return typeof value === "object" ? "an object" : `a ${typeof value}`;
}

function listAvailable(keys: string[]): string {
  if (keys.length === 0) return " (nothing is available there)";
  const shown = keys.slice(0, 15).join(", ");
  return ` (available: ${shown}${keys.length > 15 ? `, … ${keys.length - 15} more` : ""})`;
}
