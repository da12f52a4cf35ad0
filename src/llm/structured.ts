/**
 * Structured output: checking a JSON Schema before a call, and turning a
 * model's reply into a value that matches it. Pure (no SDK): used by static
 * validation and by the call.
 *
 * Replies are read leniently, because local models answer in plain text:
 * the whole reply as JSON, else the content of one fenced code block
 * (```` ```json … ``` ````), after a leading `<think>…</think>` block that
 * reasoning models served by OpenAI-compatible servers (DeepSeek-R1, QwQ,
 * Qwen3) write first. Anything else, or a value that does not match
 * the schema, is a {@link StructuredOutputError} carrying the validator's
 * messages, so that a caller can retry with them.
 * @module
 */

import { Validator } from "@cfworker/json-schema";
import metaSchema from "./json_schema_draft7.json" with { type: "json" };
import { StructuredOutputError } from "./errors.ts";
import type { LlmResponse, LossyNumbers } from "./types.ts";
import { parseJsonNoting } from "../util/json_numbers.ts";

/** Default name of a structured output (tool name, `json_schema.name`). */
export const DEFAULT_SCHEMA_NAME = "response";

/** At most this many validator messages are kept. */
const MAX_PROBLEMS = 10;

let metaValidator: Validator | undefined;

const shippedSchemas = new WeakSet<object>();

/**
 * Marks a schema that ships with pflow (the planner's reply contracts) as
 * checked: {@link jsonSchemaProblems} passes it without building the
 * meta-schema's validator, which costs ~5 ms of a process's first call
 * (Bun). Tests check every shipped schema against the meta-schema instead.
 * (Not frozen: the reply validator, `@cfworker/json-schema`, marks the schemas it compiles.)
 * @returns the schema
 */
export function shippedSchema<T extends Record<string, unknown>>(schema: T): T {
  shippedSchemas.add(schema);
  return schema;
}

/**
 * Why `schema` is not a usable JSON Schema for structured output, or an
 * empty list when it is: it must be an object, valid against the JSON Schema
 * (draft-07) meta-schema, and describe an object or array value.
 * @param schema the schema as written in the workflow or request
 * @returns one-line problems (pointer into the schema first)
 */
export function jsonSchemaProblems(schema: unknown): string[] {
  if (schema === null || typeof schema !== "object" || Array.isArray(schema)) {
    return ['a schema must be a JSON Schema object, e.g. {"type": "object", "properties": {…}}'];
  }
  if (shippedSchemas.has(schema)) return [];
  metaValidator ??= new Validator(metaSchema as never, "7", false);
  const result = metaValidator.validate(schema);
  if (!result.valid) return leafMessages(result.errors, "schema");
  const type = (schema as Record<string, unknown>).type;
  if (type !== "object" && type !== "array") {
    return [
      type === undefined
        ? 'give a top-level "type": "object" (or "array"), the kind of value the reply is'
        : `the top-level type must be "object" (or "array"), got ${JSON.stringify(type)}`,
    ];
  }
  return [];
}

/**
 * The JSON text inside a reply: the whole reply when it parses, else the
 * body of its only fenced code block. A leading `<think>…</think>` (or
 * `<thinking>…</thinking>`) block of a reasoning model is skipped first (a
 * fenced block inside it is not the answer), and so is the reasoning before
 * the first `</think>` of a reply that opens with no tag (the server's chat
 * template wrote `<think>` into the prompt), when what follows it is the JSON.
 * @returns the parsed value, with `lossy` when the text holds numbers the
 *   value does not hold exactly (an id beyond 2^53); undefined when the reply
 *   holds no JSON
 */
export function parseJsonReply(text: string): { value: unknown; lossy?: LossyNumbers } | undefined {
  const trimmed = text.trim();
  const whole = tryParse(trimmed);
  if (whole) return whole;
  const thinking = leadingThinking(trimmed);
  if (thinking === undefined) return fenced(trimmed);
  const answer = trimmed.slice(thinking.end).trim();
  const parsed = tryParse(answer) ?? fenced(answer);
  // A lone `</think>` might be text of the reply's own (in a fenced block): then the reply is read as it is.
  return parsed ?? (thinking.opened ? undefined : fenced(trimmed));
}

/**
 * Where a reply's leading reasoning block ends: after `</think>` (or `</thinking>`) closing a block the reply
 * opens with, or after the first lone `</think>` when the reply opens with no tag (the server's chat template
 * wrote the opening tag into the prompt). Undefined without one.
 */
function leadingThinking(text: string): { end: number; opened: boolean } | undefined {
  const block = /^<(think|thinking)>[\s\S]*?<\/\1>/.exec(text);
  if (block) return { end: block[0].length, opened: true };
  const close = /<\/think(?:ing)?>/.exec(text);
  // An opening tag before it: a block later in the reply, not reasoning the reply starts inside.
  if (close === null || /<think(?:ing)?>/.test(text.slice(0, close.index))) return undefined;
  return { end: close.index + close[0].length, opened: false };
}

/** The JSON of a text's only fenced code block. */
function fenced(text: string): { value: unknown; lossy?: LossyNumbers } | undefined {
  const fences = [...text.matchAll(/```[\w-]*[ \t]*\r?\n([\s\S]*?)\r?\n?```/g)];
  return fences.length === 1 ? tryParse(fences[0][1].trim()) : undefined;
}

const validators = new WeakMap<object, Validator>();

/**
 * Checks a value against a schema.
 * @returns the validator's messages (`/pointer: what is wrong`), empty when it matches
 */
export function validateAgainst(schema: Record<string, unknown>, value: unknown): string[] {
  let validator = validators.get(schema);
  if (validator === undefined) {
    validator = new Validator(schema as never, "2020-12", false);
    validators.set(schema, validator);
  }
  const result = validator.validate(value);
  return result.valid ? [] : leafMessages(result.errors, "");
}

/**
 * The structured output of a reply: parsed and validated.
 * @param response the call's outcome (its `text` is the reply)
 * @param options the schema and the model id (for messages)
 * @returns the value, with `lossy` when the reply writes numbers it does not hold exactly
 * @throws {StructuredOutputError} when the reply is not JSON or does not match
 */
export function readStructuredOutput(
  response: LlmResponse,
  options: { schema: Record<string, unknown>; model: string; unwrap?: string },
): { value: unknown; lossy?: LossyNumbers } {
  const parsed = parseJsonReply(response.text);
  // An array schema sent wrapped in an object (`{"items": [...]}`): the array is the value. A bare array (a
  // model that answered in plain text) is taken as it is.
  if (parsed !== undefined && options.unwrap !== undefined) {
    const value = parsed.value;
    if (value !== null && typeof value === "object" && !Array.isArray(value) && options.unwrap in value) {
      parsed.value = (value as Record<string, unknown>)[options.unwrap];
      if (parsed.lossy !== undefined) {
        const numbers = parsed.lossy.numbers.filter((n) => n.path[0] === options.unwrap);
        parsed.lossy.numbers = numbers.map((n) => ({ ...n, path: n.path.slice(1) }));
        if (numbers.length === 0) delete parsed.lossy;
      }
    }
  }
  if (parsed === undefined) {
    const shown = response.text.trim() === "" ? "an empty reply" : `'${preview(response.text)}'`;
    throw new StructuredOutputError(
      `${options.model}: the reply is not JSON (${shown}); structured output needs a JSON value matching the schema`,
      { problems: ["the reply is not JSON"], response },
    );
  }
  const problems = validateAgainst(options.schema, parsed.value);
  if (problems.length > 0) {
    throw new StructuredOutputError(
      `${options.model}: the reply does not match the schema: ${problems.join("; ")}`,
      { problems, response },
    );
  }
  return parsed;
}

function tryParse(text: string): { value: unknown; lossy?: LossyNumbers } | undefined {
  if (!/^[[{"\-\d tfn]/.test(text)) return undefined;
  try {
    const { value, lossy, count } = parseJsonNoting(text);
    return count > 0 ? { value, lossy: { numbers: lossy, count } } : { value };
  } catch {
    return undefined;
  }
}

/**
 * The validator's messages without the summaries that only say a child
 * failed (`Property "a" does not match schema`, `anyOf` over branches that are
 * reported themselves); at one location an `enum` message wins over the
 * branches of an `anyOf` that explain it.
 */
function leafMessages(
  errors: readonly { instanceLocation: string; keyword: string; error: string }[],
  root: string,
): string[] {
  const under = (location: string, other: string) => other === location || other.startsWith(`${location}/`);
  const real = errors.filter((e) => !["false", "$ref", "items", "prefixItems", "additionalItems"].includes(e.keyword));
  const kept = real.filter((e) => {
    const property = e.error.match(/^Property "(.+?)" does not match/)?.[1];
    if (property !== undefined) {
      const child = `${e.instanceLocation}/${property}`;
      return !real.some((o) => o !== e && under(child, o.instanceLocation));
    }
    if (["anyOf", "oneOf", "allOf", "properties"].includes(e.keyword)) {
      return !real.some((o) => o !== e && under(e.instanceLocation, o.instanceLocation));
    }
    return true;
  });
  const byLocation = new Map<string, typeof kept>();
  for (const e of kept.length > 0 ? kept : errors) {
    byLocation.set(e.instanceLocation, [...(byLocation.get(e.instanceLocation) ?? []), e]);
  }
  const messages: string[] = [];
  for (const [location, list] of byLocation) {
    const here = list.some((e) => e.keyword === "enum") ? list.filter((e) => e.keyword === "enum") : list;
    const pointer = location.replace(/^#/, "");
    const where = root ? `${root}${pointer}` : pointer || "/";
    for (const e of here) messages.push(`${where}: ${plainMessage(e.error)}`);
  }
  const unique = [...new Set(messages)];
  return unique.length > MAX_PROBLEMS
    ? [...unique.slice(0, MAX_PROBLEMS), `… and ${unique.length - MAX_PROBLEMS} more`]
    : unique;
}

/** The validator's wording, shortened: `Instance type "number" is invalid. Expected "string"` → `is a number, expected string`. */
function plainMessage(error: string): string {
  return error
    .replace(
      /^Instance type "(\w+)" is invalid\. Expected (.+?)\.?$/,
      (_, got, want) => `is ${article(got)}, expected ${want.replaceAll('"', "")}`,
    )
    .replace(/^Instance does not have required property "(.+)"\.?$/, 'missing required property "$1"')
    .replace(/^Property "(.+)" does not match additional properties schema\.?$/, 'has unexpected property "$1"')
    .replace(/^Instance /, "value ")
    .replace(/\.$/, "");
}

function article(type: string): string {
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

function preview(text: string): string {
  const oneLine = text.trim().replace(/\s+/g, " ");
  return oneLine.length > 80 ? `${oneLine.slice(0, 77)}...` : oneLine;
}
