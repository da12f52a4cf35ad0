/**
 * How a node type describes itself: params (types, defaults, required) and
 * outputs, declared once and used by the registry, validation and docs.
 * @module
 */
import type { BaseNode, RunContext } from "../engine/mod.ts";
import { TOO_DEEP } from "../util/json_depth.ts";
import { jsonText, JsonTextError, TOO_LONG } from "../util/json_text.ts";

/** Default bound of what a node reads into the store (shell output per stream, http bodies, read-file): 64 MiB. */
export const DEFAULT_MAX_OUTPUT_BYTES = 64 * 1024 * 1024;

/** Value types a param or output can have. */
export type ValueType = "string" | "number" | "integer" | "boolean" | "object" | "array" | "any";

/** One param of a node type. */
export interface ParamSpec {
  /** Expected type after template resolution. */
  type: ValueType | ValueType[];
  /** One-line description for `registry describe`. */
  description: string;
  /** Must be set (default false). */
  required?: boolean;
  /** Value used when the param is absent. */
  default?: unknown;
  /** Allowed values. */
  enum?: readonly unknown[];
  /** A number that must be greater than 0, in this unit (e.g. `seconds`). */
  positive?: string;
}

/** One output a node type writes to the shared store. */
export interface OutputSpec {
  /** Type of the value. */
  type: ValueType;
  /** One-line description. */
  description: string;
}

/** The declaration of a node type. */
export interface NodeSpec {
  /** Type name used in workflow files, e.g. `read-file`. */
  type: string;
  /** One-line description. */
  description: string;
  /** Accepted params by name. */
  params: Record<string, ParamSpec>;
  /** Written outputs by name. */
  outputs: Record<string, OutputSpec>;
  /** Actions `post` can return besides `default`. */
  actions?: readonly string[];
}

/** A node class that carries its spec: what the registry holds. */
export interface NodeClass {
  /** Creates a node with default options. */
  new (): BaseNode;
  /** The type's declaration. */
  readonly spec: NodeSpec;
}

/** A problem a node type's own static check finds in its params. */
export interface ParamProblem {
  /**
   * The param it is in: the workflow's problem points at that param (`/nodes/0/params/url`). Absent for a
   * problem of the params together (two that exclude each other, one missing).
   */
  param?: string;
  /** One line, as shown. */
  message: string;
}

/** A run context that adds environment variables for child processes (e.g. TRACEPARENT). */
export interface ChildEnvContext extends RunContext {
  /** Extra environment for a child process started now; absent in the common case. */
  childEnv?: () => Record<string, string>;
}

/** Thrown by a node for an expected failure; the message is shown as is. */
export class NodeError extends Error {
  /** @param message one line: what failed and what to do */
  constructor(message: string) {
    super(message);
    this.name = "NodeError";
  }
}

/**
 * True when a param value holds `${` anywhere (a template, or its escape):
 * what it becomes is known only at run time, so a static check leaves it be.
 */
export function hasTemplate(value: unknown): boolean {
  if (typeof value === "string") return value.includes("${");
  if (Array.isArray(value)) return value.some(hasTemplate);
  if (value !== null && typeof value === "object") return Object.values(value).some(hasTemplate);
  return false;
}

/**
 * For a node's static `validate`: the message of the {@link NodeError} that
 * `check` (a run-time check, given literal params) throws, or undefined, so
 * validation and the run cannot disagree.
 */
export function problemOf(check: () => unknown): string | undefined {
  try {
    check();
    return undefined;
  } catch (error) {
    if (error instanceof NodeError) return error.message;
    throw error;
  }
}

/**
 * `value` as JSON text for param `param` (a body, a file's content, stdin):
 * a value made at run time (e.g. parsed from a command's output) that has no
 * JSON text, nested too deep or too large, is a {@link NodeError} naming the
 * param, not a bare "Maximum call stack size exceeded" or "Invalid string length".
 */
export function paramJson(value: unknown, param: string, space?: number): string {
  try {
    return jsonText(value, space);
  } catch (error) {
    if (!(error instanceof JsonTextError)) throw error;
    const why = error.problem === "deep" ? `its value is ${TOO_DEEP}` : `its value is too large (${TOO_LONG})`;
    throw new NodeError(`param '${param}' cannot be written as JSON: ${why}`);
  }
}

/** The JSON type name of a value (`integer` counts as `number` too). */
export function typeOfValue(value: unknown): ValueType {
  if (Array.isArray(value)) return "array";
  if (value === null) return "any";
  const t = typeof value;
  if (t === "number") return Number.isInteger(value) ? "integer" : "number";
  if (t === "string" || t === "boolean") return t;
  return "object";
}

/** True when `value` fits `spec.type`. */
export function valueFits(spec: ParamSpec, value: unknown): boolean {
  const types = Array.isArray(spec.type) ? spec.type : [spec.type];
  const actual = typeOfValue(value);
  return types.some((t) => t === "any" || t === actual || (t === "number" && actual === "integer")) &&
    (spec.enum === undefined || spec.enum.includes(value));
}

/**
 * Coerces a resolved param value toward its declared type where the intent
 * is unambiguous (`"30"` → 30 for a number, `"true"` → true for a boolean,
 * 42 → `"42"` and true → `"true"` for a string),
 * and throws a {@link NodeError} naming the param when it cannot fit.
 */
export function coerceParam(name: string, spec: ParamSpec, value: unknown): unknown {
  const coerced = coerceType(name, spec, value);
  const problem = rangeProblem(name, spec, coerced);
  if (problem !== undefined) throw new NodeError(problem);
  return coerced;
}

/** The problem with a value outside a param's declared range (`positive`), or undefined. */
export function rangeProblem(name: string, spec: ParamSpec, value: unknown): string | undefined {
  if (spec.positive === undefined || (typeof value === "number" && value > 0)) return undefined;
  return `param '${name}' must be a positive number of ${spec.positive}, got ${value}`;
}

function coerceType(name: string, spec: ParamSpec, value: unknown): unknown {
  if (valueFits(spec, value)) return value;
  const types = Array.isArray(spec.type) ? spec.type : [spec.type];
  if (
    types.includes("string") && !valueFits({ ...spec, enum: undefined }, value) &&
    ((typeof value === "number" && Number.isFinite(value)) || typeof value === "boolean")
  ) {
    // A whole-value template keeps the value's type (`"${question}"` with question=42 is 42): a string param
    // takes it as the text a template inside text writes (`"Q: ${question}"` is "Q: 42").
    const text = String(value);
    if (valueFits(spec, text)) return text;
  }
  if (typeof value === "string") {
    const text = value.trim();
    if ((types.includes("number") || types.includes("integer")) && text !== "" && Number.isFinite(Number(text))) {
      const n = Number(text);
      if (types.includes("number") || Number.isInteger(n)) return n;
    }
    if (types.includes("boolean") && (text === "true" || text === "false")) return text === "true";
    if ((types.includes("object") || types.includes("array")) && /^[[{]/.test(text)) {
      try {
        const parsed = JSON.parse(text);
        if (valueFits(spec, parsed)) return parsed;
      } catch { /* fall through to the error */ }
    }
  }
  const expected = spec.enum ? `one of ${spec.enum.map((v) => JSON.stringify(v)).join(", ")}` : types.join(" or ");
  throw new NodeError(`param '${name}' must be ${expected}, got ${describeValue(value)}`);
}

/** A short description of a value for error messages. */
export function describeValue(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  const shown = text.length > 60 ? `${text.slice(0, 57)}...` : text;
  return value === null ? "null" : `${typeOfValue(value)} ${shown}`;
}

/**
 * The params of a built-in node with defaults applied and values coerced to
 * their declared types; unknown params were rejected by static validation.
 * `null` (written, or what a template resolved to) is a value for a param of
 * type `any` (`echo`'s value stays null) and means "not given" for any other;
 * a required param is never null.
 */
export function readParams<P>(spec: NodeSpec, params: Record<string, unknown>): P {
  const out: Record<string, unknown> = {};
  for (const [name, p] of Object.entries(spec.params)) {
    const value = params[name];
    if (value === undefined || value === null) {
      if (p.required) throw new NodeError(`param '${name}' is required`);
      if (value === null && [p.type].flat().includes("any")) out[name] = null;
      else if (p.default !== undefined) out[name] = p.default;
      continue;
    }
    out[name] = coerceParam(name, p, value);
  }
  return out as P;
}
