/**
 * Checks of a call's options against what its provider accepts, before any
 * call: the same rules for the `llm` node's static validation and for
 * {@link callLlm}'s own checks. Pure and cheap (no SDK).
 * @module
 */

import type { ProviderKind } from "./provider_config.ts";
import { jsonSchemaProblems } from "./structured.ts";
import type { LlmRequest } from "./types.ts";

/** Anthropic's smallest extended-thinking budget. */
export const ANTHROPIC_MIN_THINKING_TOKENS = 1024;

/** Gemini's largest thinking budget (2.5 Pro; Flash accepts up to 24,576). */
export const GOOGLE_MAX_THINKING_TOKENS = 32_768;

/** The accepted reasoning efforts. */
export const REASONING_EFFORTS = ["minimal", "low", "medium", "high"] as const;

/** The options checked, by their `LlmRequest` names. */
export type CheckedOptions = Pick<
  LlmRequest,
  "cache" | "thinking" | "reasoningEffort" | "maxTokens" | "temperature" | "schema" | "schemaName"
>;

/** How each option is called where the problem is reported (node params are snake_case). */
export type OptionNames = Record<keyof CheckedOptions, string>;

/** The names of {@link LlmRequest}. */
export const REQUEST_NAMES: OptionNames = {
  cache: "cache",
  thinking: "thinking",
  reasoningEffort: "reasoningEffort",
  maxTokens: "maxTokens",
  temperature: "temperature",
  schema: "schema",
  schemaName: "schemaName",
};

/** A problem with one option of a call. */
export interface OptionProblem {
  /** The option it is about. */
  option: keyof CheckedOptions;
  /** One line, naming the option as the report was asked to. */
  message: string;
}

/** Problems (errors) and notices (warnings) about a call's options. */
export interface OptionReport {
  /** What the provider would reject; the call must not be made. */
  problems: string[];
  /** {@link OptionReport.problems} with the option each one is about. */
  located: OptionProblem[];
  /** What is ignored for this provider. */
  warnings: string[];
}

/**
 * Checks the options of a call to `model` at a provider of `kind`. Options
 * whose value is not known yet (`undefined`) are not checked; neither are
 * the provider's rules when its kind is unknown (a model chosen at run time).
 * @param options the option values
 * @param context model id, provider kind, and the names to report options by
 */
export function checkCallOptions(
  options: CheckedOptions,
  context: { model: string; kind: ProviderKind | undefined; names?: OptionNames },
): OptionReport {
  const names = context.names ?? REQUEST_NAMES;
  const { model, kind } = context;
  const located: OptionProblem[] = [];
  const problem = (option: keyof CheckedOptions, message: string) => void located.push({ option, message });
  const warnings: string[] = [];
  const { cache, thinking, reasoningEffort, maxTokens, temperature, schema, schemaName } = options;

  if (cache !== undefined) {
    if (cache !== true && cache !== false && cache !== "5m" && cache !== "1h") {
      problem("cache", `${names.cache} must be false, true, "5m" or "1h", got ${JSON.stringify(cache)}`);
    } else if (cache !== false && kind !== undefined && kind !== "anthropic" && kind !== "openai") {
      warnings.push(
        `${names.cache} is ignored for '${model}': only Anthropic takes cache markers (OpenAI caches on its own)`,
      );
    }
  }

  if (maxTokens !== undefined && !(typeof maxTokens === "number" && Number.isInteger(maxTokens) && maxTokens >= 1)) {
    problem(
      "maxTokens",
      `${names.maxTokens} must be a whole number of tokens, at least 1, got ${JSON.stringify(maxTokens)}`,
    );
  }

  if (thinking !== undefined) {
    if (typeof thinking !== "number" || !Number.isInteger(thinking) || thinking < 0) {
      problem("thinking", `${names.thinking} must be a whole number of tokens, got ${JSON.stringify(thinking)}`);
    } else if (kind === "anthropic") {
      if (thinking < ANTHROPIC_MIN_THINKING_TOKENS) {
        problem(
          "thinking",
          `${names.thinking} must be at least ${ANTHROPIC_MIN_THINKING_TOKENS} tokens for Anthropic, got ${thinking}`,
        );
      }
      const limit = anthropicOutputLimit(model);
      if (limit !== undefined && thinking >= limit && !(typeof maxTokens === "number" && maxTokens <= limit)) {
        // Without max_tokens (or with one above the limit) the library sends the model's limit as max_tokens.
        problem(
          "thinking",
          `${names.thinking} (${thinking}) must be less than the output limit of '${model}' (${limit} tokens), ` +
            `which bounds all output, thinking included`,
        );
      } else if (typeof maxTokens === "number" && thinking >= maxTokens) {
        problem(
          "thinking",
          `${names.thinking} (${thinking}) must be less than ${names.maxTokens} (${maxTokens}): ` +
            `${names.maxTokens} bounds all output, thinking included`,
        );
      }
      if (temperature !== undefined) {
        problem("temperature", `${names.temperature} cannot be set with ${names.thinking}: Anthropic rejects it`);
      }
    } else if (kind === "google") {
      if (thinking > GOOGLE_MAX_THINKING_TOKENS) {
        problem(
          "thinking",
          `${names.thinking} must be at most ${GOOGLE_MAX_THINKING_TOKENS} tokens for Gemini, got ${thinking}`,
        );
      }
    } else if (kind !== undefined) {
      problem(
        "thinking",
        `${names.thinking} is a thinking budget for Anthropic and Google models; '${model}' does not take it` +
          (kind === "openai" || kind === "openai-compatible" ? ` (use ${names.reasoningEffort})` : ""),
      );
    }
  }

  if (reasoningEffort !== undefined) {
    if (!(REASONING_EFFORTS as readonly unknown[]).includes(reasoningEffort)) {
      problem(
        "reasoningEffort",
        `${names.reasoningEffort} must be one of ${REASONING_EFFORTS.join(", ")}, got ${
          JSON.stringify(reasoningEffort)
        }`,
      );
    } else if (kind === "anthropic" || kind === "google") {
      problem(
        "reasoningEffort",
        `${names.reasoningEffort} is for OpenAI reasoning models; '${model}' does not take it (use ${names.thinking})`,
      );
    } else if (kind === "openai" && isNonReasoningOpenAiModel(model)) {
      problem(
        "reasoningEffort",
        `${names.reasoningEffort} is for OpenAI reasoning models (o-series, gpt-5); '${model}' is not one ` +
          `and OpenAI refuses it: remove ${names.reasoningEffort}`,
      );
    }
  }

  if (schema !== undefined) {
    for (const text of jsonSchemaProblems(schema)) problem("schema", `${names.schema}: ${text}`);
  }
  if (schemaName !== undefined && (typeof schemaName !== "string" || !/^[A-Za-z0-9_-]{1,64}$/.test(schemaName))) {
    problem(
      "schemaName",
      `${names.schemaName} must be 1-64 letters, digits, '_' or '-', got ${JSON.stringify(schemaName)}`,
    );
  }
  return { problems: located.map((p) => p.message), located, warnings };
}

/**
 * Whether an OpenAI model (`openai/NAME`) is of a family known not to reason (GPT-3.5, GPT-4, GPT-4o, GPT-4.1,
 * gpt-5-chat), which OpenAI refuses `reasoning_effort` for. Models of other or unknown names are not judged.
 */
export function isNonReasoningOpenAiModel(model: string): boolean {
  const name = model.slice(model.indexOf("/") + 1);
  return /^(gpt-3\.5|gpt-4|chatgpt-4o)/.test(name) || /^gpt-5-chat/.test(name);
}

/**
 * Rules of the Anthropic library (`@ai-sdk/anthropic`, its model table) for the largest `max_tokens` it sends a
 * model it knows, first match wins: without `max_tokens` it sends this limit, and it lowers a larger
 * `max_tokens` (thinking budget included) to it. Unknown models are not limited.
 */
const ANTHROPIC_OUTPUT_LIMITS: [RegExp, number][] = [
  [/claude-(sonnet|opus|haiku)-5-5|claude-opus-5|claude-fable-5|claude-opus-4-[78]|claude-sonnet-5/, 128_000],
  [/claude-(sonnet|opus)-4-6/, 128_000],
  [/claude-(sonnet|opus|haiku)-4-5/, 64_000],
  [/claude-opus-4-1/, 32_000],
  [/claude-sonnet-4(-|@)/, 64_000],
  [/claude-opus-4(-|@)/, 32_000],
  [/claude-3-haiku/, 4096],
];

/** The largest `max_tokens` the Anthropic library sends `model` (`anthropic/claude-…`), when it knows the model. */
export function anthropicOutputLimit(model: string): number | undefined {
  return ANTHROPIC_OUTPUT_LIMITS.find(([pattern]) => pattern.test(model))?.[1];
}

/**
 * The problem with a request's prompt: exactly one of `prompt` and
 * `messages`, messages of `user`/`assistant` with text content; a prompt or
 * a message content that is empty (or only whitespace) is refused, as the
 * providers would (Gemini, Anthropic) or would drop the turn (the Anthropic
 * library).
 * @returns a one-line problem, or null
 */
export function promptProblem(
  request: Pick<LlmRequest, "prompt" | "messages" | "system">,
  names: { prompt: string; messages: string; system: string } = {
    prompt: "prompt",
    messages: "messages",
    system: "system",
  },
): string | null {
  const { prompt, messages, system } = request;
  if (system !== undefined && typeof system !== "string") return `${names.system} must be a string`;
  if (prompt !== undefined && messages !== undefined) {
    return `give either ${names.prompt} or ${names.messages}, not both`;
  }
  if (messages === undefined) {
    if (typeof prompt !== "string") return `${names.prompt} must be a string (or give ${names.messages})`;
    return prompt.trim() === "" ? `${names.prompt} is empty: the model needs text to answer` : null;
  }
  if (!Array.isArray(messages) || messages.length === 0) {
    return `${names.messages} must be a non-empty list of {role, content}`;
  }
  for (const [i, message] of messages.entries()) {
    const m = message as unknown as Record<string, unknown>;
    if (m === null || typeof m !== "object" || Array.isArray(m)) {
      return `${names.messages}[${i}] must be an object {role, content}`;
    }
    if (m.role !== "user" && m.role !== "assistant") {
      return `${names.messages}[${i}].role must be "user" or "assistant", got ${JSON.stringify(m.role)}` +
        (m.role === "system" ? ` (put it in ${names.system})` : "");
    }
    if (typeof m.content !== "string") return `${names.messages}[${i}].content must be a string`;
    if (m.content.trim() === "") {
      return `${names.messages}[${i}].content is empty: providers refuse an empty turn, or drop it`;
    }
    const extra = Object.keys(m).filter((k) => k !== "role" && k !== "content");
    if (extra.length > 0) return `${names.messages}[${i}] has unknown field '${extra[0]}' (only role and content)`;
  }
  return null;
}
