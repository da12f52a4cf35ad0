/**
 * What one call sends, decided before any SDK is loaded: the prompt with
 * its cache markers, the provider options for thinking and reasoning
 * effort, the structured-output format, and the record of all of it that
 * traces show. Pure and cheap (no SDK imports).
 *
 * Where cache markers go (Anthropic, `cache: true | "5m" | "1h"`):
 * - on the system prompt, when there is one (an empty or blank one is none: it is not sent);
 * - on the last message before the final user turn (the end of the stable
 *   conversation prefix), when there is one;
 * - on the only message, when there is neither (a repeated identical call).
 * That is at most two of Anthropic's four breakpoints. OpenAI caches
 * byte-identical prefixes on its own; other providers ignore the setting.
 * @module
 */

import type { ResolvedProvider } from "./provider_config.ts";
import { DEFAULT_SCHEMA_NAME } from "./structured.ts";
import type { CacheControl, LlmMessage, LlmRequest, SentMessage, SentRequest } from "./types.ts";

/** A message as the AI SDK takes it. */
export interface SdkMessage {
  role: "user" | "assistant";
  content: string;
  providerOptions?: Record<string, Record<string, unknown>>;
}

/** A system prompt as the AI SDK takes it. */
export type SdkInstructions = string | {
  role: "system";
  content: string;
  providerOptions: Record<string, Record<string, unknown>>;
};

/** Everything one attempt passes to the SDK, and what the trace shows of it. */
export interface CallPlan {
  /** The system prompt, with its cache marker when cached. */
  instructions?: SdkInstructions;
  /** The conversation. */
  messages: SdkMessage[];
  /** Output token bound to hand to the SDK (Anthropic adds the thinking budget to it). */
  maxOutputTokens?: number;
  /** Call-level provider options (thinking, reasoning effort). */
  providerOptions: Record<string, Record<string, unknown>>;
  /** The structured-output format, when a schema was given (an array schema wrapped, see {@link WRAPPED_KEY}). */
  responseFormat?: { type: "json"; schema: Record<string, unknown>; name: string };
  /** Set when an array schema was wrapped in an object: the property of the reply that holds the array. */
  unwrap?: string;
  /** What the trace shows (the structured-output mode is filled in from the wire body). */
  sent: SentRequest;
}

/** The conversation of a request: `messages`, or the `prompt` as one user turn. */
export function conversationOf(request: LlmRequest): LlmMessage[] {
  return request.messages ?? [{ role: "user", content: request.prompt ?? "" }];
}

/**
 * Plans the call.
 * @param request the validated request
 * @param options the resolved provider and the canonical model id
 */
export function planCall(
  request: LlmRequest,
  options: { provider: ResolvedProvider; modelId: string },
): CallPlan {
  const { provider } = options;
  const conversation = conversationOf(request);
  const anthropic = provider.kind === "anthropic";
  // An empty (or blank) system prompt is no system prompt: Anthropic refuses an empty text block, and a cache
  // marker on it would mark nothing.
  const system = request.system !== undefined && request.system.trim() !== "" ? request.system : undefined;
  const marker = request.cache && anthropic ? cacheControlOf(request.cache) : undefined;
  const markedIndex = marker === undefined ? -1 : prefixEnd(conversation, system !== undefined);

  const messages: SdkMessage[] = conversation.map((m, i) => ({
    role: m.role,
    content: m.content,
    ...(i === markedIndex ? { providerOptions: { anthropic: { cacheControl: marker } } } : {}),
  }));
  const sentMessages: SentMessage[] = conversation.map((m, i) => ({
    role: m.role,
    content: m.content,
    ...(i === markedIndex ? { cache_control: marker } : {}),
  }));

  let instructions: SdkInstructions | undefined;
  if (system !== undefined) {
    instructions = marker === undefined ? system : {
      role: "system",
      content: system,
      providerOptions: { anthropic: { cacheControl: marker } },
    };
  }
  const sent: SentRequest = {
    model: options.modelId,
    ...(system !== undefined ? { system } : {}),
    ...(system !== undefined && marker !== undefined ? { system_cache_control: marker } : {}),
    messages: sentMessages,
  };
  if (request.cache && !anthropic) sent.cache = provider.kind === "openai" ? "automatic" : "ignored";

  const providerOptions: Record<string, Record<string, unknown>> = {};
  let maxOutputTokens = request.maxTokens;
  if (request.thinking !== undefined) {
    sent.thinking = { budget_tokens: request.thinking };
    if (anthropic) {
      providerOptions.anthropic = { thinking: { type: "enabled", budgetTokens: request.thinking } };
      // pflow's max_tokens bounds all output, thinking included (Anthropic's rule:
      // budget < max_tokens); the SDK adds the budget to what it is given.
      if (maxOutputTokens !== undefined) maxOutputTokens -= request.thinking;
    } else if (provider.kind === "google") {
      providerOptions.google = { thinkingConfig: { thinkingBudget: request.thinking, includeThoughts: true } };
    }
  }
  if (request.reasoningEffort !== undefined) {
    sent.reasoning_effort = request.reasoningEffort;
    if (provider.kind === "openai") providerOptions.openai = { reasoningEffort: request.reasoningEffort };
    else if (provider.kind === "openai-compatible") {
      providerOptions[provider.name] = { reasoningEffort: request.reasoningEffort };
    }
  }
  if (request.maxTokens !== undefined) sent.max_tokens = request.maxTokens;
  if (request.temperature !== undefined) sent.temperature = request.temperature;

  let responseFormat: CallPlan["responseFormat"];
  let unwrap: string | undefined;
  if (request.schema !== undefined) {
    const name = request.schemaName ?? DEFAULT_SCHEMA_NAME;
    // OpenAI's response_format and Anthropic's tool input and output format take an object at the root only:
    // an array schema goes as the one property of an object, and the reply is unwrapped (Gemini takes arrays).
    let schema = request.schema;
    if (schema.type === "array" && provider.kind !== "google") {
      schema = wrapArraySchema(schema);
      unwrap = WRAPPED_KEY;
    }
    responseFormat = { type: "json", schema, name };
    sent.schema = { name, mode: "pending", schema, ...(unwrap !== undefined ? { wrapped: unwrap } : {}) };
    if (provider.kind === "openai" || provider.kind === "openai-compatible") {
      // OpenAI's strict mode rejects schemas with optional or open properties:
      // ask for it only when the schema already satisfies it.
      const key = provider.kind === "openai" ? "openai" : provider.name;
      providerOptions[key] = { ...providerOptions[key], strictJsonSchema: isStrictSchema(schema) };
    }
  }

  return {
    ...(instructions !== undefined ? { instructions } : {}),
    messages,
    ...(maxOutputTokens !== undefined ? { maxOutputTokens } : {}),
    providerOptions,
    ...(responseFormat ? { responseFormat } : {}),
    ...(unwrap !== undefined ? { unwrap } : {}),
    sent,
  };
}

/**
 * How the provider was asked for structured output, read from the request
 * body that was actually sent.
 */
export function structuredOutputMode(body: unknown, schemaName: string): string {
  const b = asRecord(body);
  if (asRecord(asRecord(b.output_config).format).type === "json_schema") return "output_format";
  if (Array.isArray(b.tools) && b.tools.some((t) => asRecord(t).name === "json" || asRecord(t).name === schemaName)) {
    return "tool";
  }
  const format = asRecord(b.response_format).type;
  if (typeof format === "string") return format;
  const generation = asRecord(b.generationConfig);
  if (generation.responseSchema !== undefined || generation.responseJsonSchema !== undefined) {
    return "response_schema";
  }
  if (generation.responseMimeType === "application/json") return "json_mime_type";
  return "prompt";
}

/** The property of the object an array schema is wrapped in on the wire. */
export const WRAPPED_KEY = "items";

/**
 * An array schema as the one required property of a closed object. Its `$defs`/`definitions` (and `$schema`)
 * move up to the new root, and its references into itself (`#`, `#/items`…) are rewritten to point under the
 * property, so they resolve as before.
 */
function wrapArraySchema(schema: Record<string, unknown>): Record<string, unknown> {
  const { $defs, definitions, $schema, ...array } = schema;
  return {
    ...($schema !== undefined ? { $schema } : {}),
    type: "object",
    properties: { [WRAPPED_KEY]: rewriteRefs(array) },
    required: [WRAPPED_KEY],
    additionalProperties: false,
    ...($defs !== undefined ? { $defs: rewriteRefs($defs) } : {}),
    ...(definitions !== undefined ? { definitions: rewriteRefs(definitions) } : {}),
  };
}

/** A copy of a schema part whose `$ref`s into the wrapped array point under its new place. */
function rewriteRefs(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(rewriteRefs);
  if (value === null || typeof value !== "object") return value;
  const out: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) {
    if (key === "$ref" && typeof child === "string" && (child === "#" || child.startsWith("#/"))) {
      const inDefinitions = /^#\/(\$defs|definitions)(\/|$)/.test(child);
      out[key] = inDefinitions ? child : `#/properties/${WRAPPED_KEY}${child.slice(1)}`;
    } else out[key] = rewriteRefs(child);
  }
  return out;
}

/** Anthropic's marker for a cache setting. */
function cacheControlOf(cache: true | "5m" | "1h"): CacheControl {
  return cache === "1h" ? { type: "ephemeral", ttl: "1h" } : { type: "ephemeral" };
}

/** Index of the message that ends the cached prefix, or -1. */
function prefixEnd(conversation: LlmMessage[], hasSystem: boolean): number {
  if (conversation.length > 1) return conversation.length - 2;
  return hasSystem ? -1 : 0;
}

/**
 * The keywords of OpenAI's strict-mode subset of JSON Schema: structure (`type`, `properties`, `required`,
 * `additionalProperties`, object-form `items`, `anyOf`, `enum`, `const`, `$ref`, `$defs`/`definitions`),
 * annotations (`title`, `description`), string `pattern`/`format`, number bounds and `multipleOf`, array
 * `minItems`/`maxItems`. Anything else (`oneOf`, `allOf`, `not`, `if`, `prefixItems`, `default`, `minLength`…)
 * makes OpenAI refuse a strict request, so a schema using it is sent non-strict.
 */
const STRICT_KEYWORDS = new Set([
  "type",
  "properties",
  "required",
  "additionalProperties",
  "items",
  "anyOf",
  "enum",
  "const",
  "$ref",
  "$defs",
  "definitions",
  "title",
  "description",
  "pattern",
  "format",
  "minimum",
  "maximum",
  "exclusiveMinimum",
  "exclusiveMaximum",
  "multipleOf",
  "minItems",
  "maxItems",
]);

/**
 * Whether OpenAI's strict mode takes the schema: every object at every depth lists all its properties as
 * required and closes itself (`additionalProperties: false`), and no keyword is outside {@link STRICT_KEYWORDS}.
 */
function isStrictSchema(schema: unknown): boolean {
  if (schema === null || typeof schema !== "object" || Array.isArray(schema)) return false;
  const node = schema as Record<string, unknown>;
  if (!Object.keys(node).every((k) => STRICT_KEYWORDS.has(k))) return false;
  const properties = asRecord(node.properties);
  const names = Object.keys(properties);
  const types = Array.isArray(node.type) ? node.type : [node.type];
  const isObject = types.includes("object") || node.properties !== undefined;
  if (isObject) {
    if (node.additionalProperties !== false) return false;
    const required = Array.isArray(node.required) ? node.required : [];
    if (!names.every((n) => required.includes(n))) return false;
  }
  if (node.anyOf !== undefined && !Array.isArray(node.anyOf)) return false;
  const children = [
    ...Object.values(properties),
    ...(node.items !== undefined ? [node.items] : []),
    ...(Array.isArray(node.anyOf) ? node.anyOf : []),
    ...Object.values(asRecord(node.$defs)),
    ...Object.values(asRecord(node.definitions)),
  ];
  return children.every(isStrictSchema);
}

function asRecord(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value) ? value as Record<string, unknown> : {};
}
