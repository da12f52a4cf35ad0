/**
 * `llm`: one model call. Model ids are `provider/model`; the provider
 * library is loaded only when a call is made.
 *
 * With `schema`, `response` is the parsed object. A reply that is not JSON or
 * does not match the schema is retried once, with the reply and the
 * validator's messages appended to the conversation; a second mismatch fails
 * the node with those messages. Both calls are recorded (the first with
 * `status: "error"`) and the retry is counted in the node's `retries`.
 *
 * A reply the provider blocked or the model refused fails the node (an
 * `LlmReplyError`, recorded and priced like any call), as does a structured
 * reply cut off at the output limit (not retried: the same limit cuts it off
 * again). A text reply cut off there is kept, with a warning.
 * @module
 */
import { Node, type RunContext, type Shared } from "../engine/mod.ts";
import { formatJsonPath, lossyNumberText } from "../util/json_numbers.ts";
import { warnOnce } from "../util/warn_once.ts";
import {
  callLlm,
  canonicalModelId,
  checkCallOptions,
  checkModelConfig,
  defaultModelSource,
  type LlmMessage,
  modelIdProblem,
  type OptionNames,
  promptProblem,
  type ProviderKind,
  providerKindOf,
  REASONING_EFFORTS,
  type ReasoningEffort,
  resolveModel,
  StructuredOutputError,
} from "../llm/mod.ts";
import type { LlmCacheSetting, LlmRequest, LlmResponse, LlmSettings } from "../llm/types.ts";
import { hasTemplate, NodeError, type NodeSpec, type ParamProblem, readParams, valueFits } from "./spec.ts";
import { countRetry, llmUsage, timed, traced } from "../observability/decorators.ts";

interface LlmParams {
  prompt?: string;
  messages?: LlmMessage[];
  system?: string;
  model?: string;
  temperature?: number;
  max_tokens?: number;
  cache: LlmCacheSetting;
  thinking?: number;
  reasoning_effort?: ReasoningEffort;
  schema?: Record<string, unknown>;
  schema_name?: string;
  stream: boolean;
  timeout: number;
  max_retries: number;
}

/** What an LLM node needs from the run: environment and settings. */
export interface LlmRunContext extends RunContext {
  /** Environment variables (API keys, base URLs). */
  env?: Record<string, string | undefined>;
  /** LLM settings from PFLOW_HOME/settings.json. */
  llmSettings?: LlmSettings;
}

/** The node's param names for the call options (problems name what the user wrote). */
const PARAM_NAMES: OptionNames = {
  cache: "cache",
  thinking: "thinking",
  reasoningEffort: "reasoning_effort",
  maxTokens: "max_tokens",
  temperature: "temperature",
  schema: "schema",
  schemaName: "schema_name",
};

/** Largest `max_retries`. */
const MAX_RETRIES_LIMIT = 10;

/** Sends `prompt` or `messages` (and `system`) to `model`; writes `response` and `usage`. */
@timed
@traced({ capture: ["model", "system", "prompt", "messages", "response"] })
export class LlmNode extends Node {
  /** The type's declaration. */
  static readonly spec: NodeSpec = {
    type: "llm",
    description: "Calls a language model (anthropic/…, openai/…, google/…, or an OpenAI-compatible server)",
    params: {
      prompt: { type: "string", description: "The user message (or give `messages`)" },
      messages: {
        type: "array",
        description: "A conversation instead of `prompt`: [{role: user|assistant, content}], templates allowed",
      },
      system: { type: "string", description: "System prompt" },
      model: { type: "string", description: "provider/model; default from PFLOW_DEFAULT_MODEL or settings" },
      temperature: { type: "number", description: "Sampling temperature" },
      max_tokens: { type: "integer", description: "Upper bound on output tokens (thinking included)" },
      cache: {
        type: ["boolean", "string"],
        enum: [false, true, "5m", "1h"],
        default: false,
        description: "Prompt caching: Anthropic marks the system prompt and stable prefix (true = 5m, or 1h)",
      },
      thinking: {
        type: "integer",
        description: "Thinking budget in tokens: Anthropic extended thinking (≥ 1024, < max_tokens), Gemini",
      },
      reasoning_effort: {
        type: "string",
        enum: REASONING_EFFORTS,
        description: "Reasoning effort of OpenAI reasoning models: minimal, low, medium, high",
      },
      schema: {
        type: "object",
        description: "A JSON Schema: ask for structured output; `response` is the parsed, validated object",
      },
      schema_name: { type: "string", description: "Name of the structured output (default `response`)" },
      stream: { type: "boolean", default: false, description: "Stream the response (records time to first token)" },
      timeout: {
        type: "number",
        default: 120,
        positive: "seconds",
        description: "Seconds per attempt before it is abandoned",
      },
      max_retries: {
        type: "integer",
        default: 2,
        description: "Retries (0-10) on 429, 5xx, network errors, timeouts and broken streams",
      },
    },
    outputs: {
      response: { type: "any", description: "The model's text, or the parsed object when `schema` is set" },
      usage: {
        type: "object",
        description: "Normalized usage of the call that gave `response`: tokens (uncached input, cache read/write, " +
          "output, reasoning), model, request id. After a schema retry, the retry's alone (the run's totals count both)",
      },
    },
  };

  /**
   * Checks what is known before the run: prompt or messages, the options the
   * provider accepts, the schema, `max_retries`, and the model id and its
   * API key (with `ctx.checkEnvironment`). Templated values are checked at
   * run time.
   */
  static validate(
    params: Record<string, unknown>,
    ctx: {
      env: Record<string, string | undefined>;
      settings: unknown;
      checkEnvironment?: boolean;
      warn?: (message: string) => void;
    },
  ): ParamProblem[] {
    const problems: ParamProblem[] = [];
    // Values of the declared type only: type and enum mismatches are the spec check's to report.
    const literal = (name: string) => {
      const value = params[name];
      const fits = value !== undefined && value !== null && !hasTemplate(value) &&
        valueFits(LlmNode.spec.params[name], value);
      return fits ? value : undefined;
    };
    // null is "not given", as for every other param.
    const messages = params.messages ?? undefined;
    const literalPrompt = params.prompt ?? undefined;
    const prompt = promptProblem({
      // A template stands for text (what it becomes is checked at run time); a value of another type is the
      // spec check's to report.
      prompt: literalPrompt === undefined
        ? undefined
        : typeof literalPrompt === "string" && !hasTemplate(literalPrompt)
        ? literalPrompt
        : TEMPLATE_TEXT,
      messages: messages === undefined
        ? undefined
        : Array.isArray(messages)
        ? messages.map(templatedMessage) as LlmMessage[]
        : [{ role: "user", content: TEMPLATE_TEXT }], // a template for the whole list, or a type problem reported elsewhere
    });
    if (prompt !== null) {
      // Both given is about the pair; else the one given (neither: the params).
      const param = messages !== undefined ? (literalPrompt === undefined ? "messages" : undefined) : "prompt";
      problems.push({ param, message: prompt });
    }
    const retries = literal("max_retries");
    if (typeof retries === "number" && (retries < 0 || retries > MAX_RETRIES_LIMIT)) {
      problems.push({
        param: "max_retries",
        message: `param 'max_retries' must be from 0 to ${MAX_RETRIES_LIMIT}, got ${retries}`,
      });
    }

    const settings = (ctx.settings ?? {}) as LlmSettings;
    const modelParam = params.model;
    // A template is checked at run time; a value that is not text (`"model": 5`) is the spec check's to
    // report, not a reason to check the default model's key.
    const model = (typeof modelParam === "string" && hasTemplate(modelParam)) ||
        (modelParam !== undefined && modelParam !== null && typeof modelParam !== "string")
      ? undefined
      : canonicalModelId(resolveModel(modelParam as string | undefined, { env: ctx.env, settings }));
    let kind: ProviderKind | undefined;
    if (model !== undefined) {
      if (modelIdProblem(model) === null) kind = providerKindOf(model, settings);
      if (ctx.checkEnvironment !== false) {
        const problem = checkModelConfig(model, { env: ctx.env, settings });
        // A node that names no model: say where its model came from, or the user looks for it in the workflow.
        const source = modelParam === undefined ? defaultModelSource({ env: ctx.env, settings }) : undefined;
        if (problem) {
          problems.push(
            source
              ? { message: `${problem} (the node names no model: it comes from ${source})` }
              : { param: "model", message: problem },
          );
        }
      }
    }
    const report = checkCallOptions({
      cache: literal("cache") as LlmCacheSetting | undefined,
      thinking: literal("thinking") as number | undefined,
      reasoningEffort: literal("reasoning_effort") as ReasoningEffort | undefined,
      maxTokens: literal("max_tokens") as number | undefined,
      temperature: literal("temperature") as number | undefined,
      schema: literal("schema") as Record<string, unknown> | undefined,
      schemaName: literal("schema_name") as string | undefined,
    }, { model: model ?? "the model", kind, names: PARAM_NAMES });
    for (const { option, message } of report.located) problems.push({ param: PARAM_NAMES[option], message });
    for (const warning of report.warnings) ctx.warn?.(warning);
    return problems;
  }

  /** Reads params. */
  override prep(): LlmParams {
    return readParams<LlmParams>(LlmNode.spec, this.params);
  }

  /** Makes the call; with `schema`, retries once on a reply that does not match it. */
  override async exec(p: LlmParams, ctx: LlmRunContext): Promise<LlmResponse> {
    const env = ctx.env ?? process.env;
    const settings = ctx.llmSettings ?? {};
    const model = resolveModel(p.model, { env, settings });
    const problem = checkModelConfig(canonicalModelId(model), { env, settings });
    if (problem) throw new NodeError(problem);
    // What templates made of the prompt, before any call (an empty turn would be dropped or refused).
    const promptIssue = promptProblem(
      p.messages !== undefined ? { messages: p.messages } : { prompt: p.prompt },
    );
    if (promptIssue !== null) throw new NodeError(`${promptIssue} (after templates were filled in)`);
    // Templated options, checked by the names the node gives them (callLlm would use its own: maxTokens…).
    if (!(Number.isInteger(p.max_retries) && p.max_retries >= 0 && p.max_retries <= MAX_RETRIES_LIMIT)) {
      throw new NodeError(`param 'max_retries' must be from 0 to ${MAX_RETRIES_LIMIT}, got ${p.max_retries}`);
    }
    const modelId = canonicalModelId(model);
    const options = checkCallOptions({
      cache: p.cache,
      thinking: p.thinking,
      reasoningEffort: p.reasoning_effort,
      maxTokens: p.max_tokens,
      temperature: p.temperature,
      schema: p.schema,
      schemaName: p.schema_name,
    }, { model: modelId, kind: providerKindOf(modelId, settings), names: PARAM_NAMES });
    if (options.problems.length > 0) throw new NodeError(`${modelId}: ${options.problems.join("; ")}`);
    const request: LlmRequest = {
      model,
      ...(p.messages !== undefined ? { messages: p.messages } : { prompt: p.prompt }),
      system: p.system,
      temperature: p.temperature,
      maxTokens: p.max_tokens,
      cache: p.cache,
      thinking: p.thinking,
      reasoningEffort: p.reasoning_effort,
      schema: p.schema,
      schemaName: p.schema_name,
      stream: p.stream,
      signal: ctx.signal,
      timeoutMs: p.timeout * 1000,
      maxRetries: p.max_retries,
    };
    try {
      const response = await this.callModel(request, { env, settings });
      return this.warnIfLossy(this.warnIfCutOff(this.warnIfIgnored(response, ctx), p, ctx), ctx);
    } catch (error) {
      if (!(error instanceof StructuredOutputError)) throw error;
      const retry: LlmRequest = {
        ...request,
        prompt: undefined,
        messages: [
          ...(request.messages ?? [{ role: "user", content: request.prompt ?? "" }]),
          // Providers reject an empty assistant turn (Gemini: `contents.parts must not be empty`).
          { role: "assistant", content: error.response.text.trim() === "" ? "(no text)" : error.response.text },
          { role: "user", content: correctionPrompt(error.problems) },
        ],
      };
      try {
        // Counted once the call starts: a spent budget stops it before (no retry was made).
        const response = await this.callModel(retry, { env, settings }, countRetry);
        return this.warnIfLossy(this.warnIfIgnored(response, ctx), ctx);
      } catch (second) {
        if (!(second instanceof StructuredOutputError)) throw second;
        throw new NodeError(`${second.message} (after a retry with the validator's messages)`);
      }
    }
  }

  /**
   * Passes on what the provider's SDK said about the call, once per node a run: a setting it dropped
   * (`temperature` for an OpenAI reasoning model) would otherwise be ignored without a word.
   */
  private warnIfIgnored(response: LlmResponse, ctx: LlmRunContext): LlmResponse {
    if (response.warnings === undefined) return response;
    const who = this.nodeId !== undefined ? `node '${this.nodeId}'` : "llm";
    const model = response.request.model ?? "the model";
    for (const warning of response.warnings) {
      warnOnce(ctx.warn, `${who}: ${model}: ${warning}`, `llm sdk warning: ${who}: ${warning}`);
    }
    return response;
  }

  /** Warns when a text reply was cut off at the output limit: `response` holds the truncated text. */
  private warnIfCutOff(response: LlmResponse, p: LlmParams, ctx: LlmRunContext): LlmResponse {
    // A structured reply that parsed was complete, whatever the finish reason.
    if (response.finish_reason === "length" && p.schema === undefined) {
      const limit = p.max_tokens !== undefined ? `the output limit (max_tokens ${p.max_tokens})` : "the output limit";
      const node = this.nodeId !== undefined ? `node '${this.nodeId}': ` : "";
      ctx.warn(`${node}the reply was cut off at ${limit}; its response is truncated`);
    }
    return response;
  }

  /**
   * Warns when the structured reply writes a number `response` does not hold exactly (an id beyond 2^53):
   * once per node a run, as the items of a batch (clones of this node) or a loop would say it again.
   */
  private warnIfLossy(response: LlmResponse, ctx: LlmRunContext): LlmResponse {
    const [first] = response.lossyNumbers?.numbers ?? [];
    if (first === undefined) return response;
    const count = response.lossyNumbers!.count;
    const more = count > 1 ? ` (${count - 1} more number${count === 2 ? "" : "s"} too)` : "";
    // A node built by hand has no id: the model stands for it.
    const who = this.nodeId !== undefined ? `node '${this.nodeId}'` : response.request.model ?? "llm";
    warnOnce(
      ctx.warn,
      `${who}: response${formatJsonPath(first.path)} ${lossyNumberText(first)}${more}; ` +
        'ask for it as a string in the schema ("type": "string") to keep every digit',
      `llm lossy number: ${who}`,
    );
    return response;
  }

  /**
   * The model call itself; `@llmUsage` records its usage for the run, node and batch item, and checks the
   * budget before this body runs (`onStart` then, for what counts only a call that started).
   */
  @llmUsage
  callModel(request: LlmRequest, options: Parameters<typeof callLlm>[1], onStart?: () => void): Promise<LlmResponse> {
    onStart?.();
    return callLlm(request, options);
  }

  /** Writes `response` (the text, or the parsed object with `schema`) and `usage`. */
  override post(shared: Shared, p: LlmParams, result: LlmResponse): undefined {
    shared.response = p.schema !== undefined ? result.object : result.text;
    shared.usage = result.usage;
    return undefined;
  }
}

/** The follow-up turn asking the model to correct a reply that did not match the schema. */
function correctionPrompt(problems: string[]): string {
  return `Your reply did not match the required JSON schema:\n${problems.map((p) => `- ${p}`).join("\n")}\n` +
    "Reply again with only the corrected JSON value, no other text.";
}

/** What a templated prompt or content stands for in the static check: some text (checked at run time). */
const TEMPLATE_TEXT = "${template}";

/** A message whose templated fields count as strings for the static check. */
function templatedMessage(message: unknown): unknown {
  if (message === null || typeof message !== "object" || Array.isArray(message)) {
    return hasTemplate(message) ? { role: "user", content: TEMPLATE_TEXT } : message;
  }
  const m = message as Record<string, unknown>;
  return {
    ...m,
    ...(hasTemplate(m.role) ? { role: "user" } : {}),
    ...(hasTemplate(m.content) ? { content: TEMPLATE_TEXT } : {}),
  };
}
