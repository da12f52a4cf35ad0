/**
 * `llm`: one model call. Model ids are `provider/model`; the provider
 * library is loaded only when a call is made.
 * @module
 */
import { Node, type RunContext, type Shared } from "../engine/mod.ts";
import { callLlm, checkModelConfig, resolveModel } from "../llm/mod.ts";
import type { LlmResponse, LlmSettings } from "../llm/types.ts";
import { type NodeSpec, readParams } from "./spec.ts";
import { llmUsage, timed, traced } from "../observability/decorators.ts";
import type { LlmRequest } from "../llm/types.ts";

interface LlmParams {
  prompt: string;
  system?: string;
  model?: string;
  temperature?: number;
  max_tokens?: number;
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

/** Sends `prompt` (and `system`) to `model`; writes `response` and `usage`. */
@timed
@traced({ capture: ["model", "system", "prompt", "response"] })
export class LlmNode extends Node {
  /** The type's declaration. */
  static readonly spec: NodeSpec = {
    type: "llm",
    description: "Calls a language model (anthropic/…, openai/…, or an OpenAI-compatible server)",
    params: {
      prompt: { type: "string", required: true, description: "The user message" },
      system: { type: "string", description: "System prompt" },
      model: { type: "string", description: "provider/model; default from PFLOW_DEFAULT_MODEL or settings" },
      temperature: { type: "number", description: "Sampling temperature" },
      max_tokens: { type: "integer", description: "Upper bound on output tokens" },
      stream: { type: "boolean", default: false, description: "Stream the response (records time to first token)" },
      timeout: { type: "number", default: 120, description: "Seconds per call before it is abandoned" },
      max_retries: { type: "integer", default: 2, description: "Retries on 429, 5xx and timeouts" },
    },
    outputs: {
      response: { type: "string", description: "The model's text" },
      usage: {
        type: "object",
        description:
          "Normalized usage: tokens (uncached input, cache read/write, output, reasoning), model, request id",
      },
    },
  };

  /** Checks the model id and its API key before the run starts. */
  static validate(
    params: Record<string, unknown>,
    ctx: { env: Record<string, string | undefined>; settings: unknown },
  ): string[] {
    if (typeof params.model === "string" && params.model.includes("${")) return [];
    const settings = (ctx.settings ?? {}) as LlmSettings;
    const model = resolveModel(params.model as string | undefined, { env: ctx.env, settings });
    const problem = checkModelConfig(model, { env: ctx.env, settings });
    return problem ? [problem] : [];
  }

  /** Reads params. */
  override prep(): LlmParams {
    return readParams<LlmParams>(LlmNode.spec, this.params);
  }

  /** Makes the call. */
  override exec(p: LlmParams, ctx: LlmRunContext): Promise<LlmResponse> {
    const env = ctx.env ?? process.env;
    const settings = ctx.llmSettings ?? {};
    const model = resolveModel(p.model, { env, settings });
    const problem = checkModelConfig(model, { env, settings });
    if (problem) throw new Error(problem);
    return this.callModel({
      model,
      prompt: p.prompt,
      system: p.system,
      temperature: p.temperature,
      maxTokens: p.max_tokens,
      stream: p.stream,
      signal: ctx.signal,
      timeoutMs: p.timeout * 1000,
      maxRetries: p.max_retries,
    }, { env, settings });
  }

  /** The model call itself; `@llmUsage` records its usage for the run, node and batch item. */
  @llmUsage
  callModel(request: LlmRequest, options: Parameters<typeof callLlm>[1]): Promise<LlmResponse> {
    return callLlm(request, options);
  }

  /** Writes `response` and `usage`. */
  override post(shared: Shared, _p: LlmParams, result: LlmResponse): undefined {
    shared.response = result.text;
    shared.usage = result.usage;
    return undefined;
  }
}
