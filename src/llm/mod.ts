/**
 * The LLM provider layer: model ids, model selection, static configuration
 * checks and the model call itself, with normalized usage.
 *
 * Cheap to import: the AI SDK and provider packages are loaded with a dynamic
 * `import()` on the first {@link callLlm}.
 *
 * ```ts
 * const model = resolveModel(node.model, { env, settings });
 * const problem = checkModelConfig(model, { env, settings }); // static validation
 * const response = await callLlm({ model, prompt }, { env, settings });
 * response.usage.input_tokens; // uncached input tokens
 *
 * // Structured output, cached system prompt, a conversation:
 * const plan = await callLlm({
 *   model: "anthropic/claude-sonnet-4-5",
 *   system: longInstructions,
 *   cache: "1h",
 *   messages: [{ role: "user", content: "Plan it" }],
 *   schema: { type: "object", properties: { steps: { type: "array" } }, required: ["steps"] },
 * }, { env, settings });
 * plan.object; // the parsed value (a StructuredOutputError is thrown when it does not match)
 * ```
 * @module
 */

import { LlmConfigError } from "./errors.ts";
import { canonicalModelId, parseModelId } from "./model_id.ts";
import { type ProviderOptions, resolveProvider } from "./provider_config.ts";
import { checkCallOptions, promptProblem } from "./request_check.ts";
import type { LlmRequest, LlmResponse } from "./types.ts";

export type {
  CacheControl,
  LlmCacheSetting,
  LlmFailedAttempt,
  LlmMessage,
  LlmRequest,
  LlmResponse,
  LlmSettings,
  LlmUsage,
  LossyNumbers,
  ProviderSettings,
  ReasoningEffort,
  SentMessage,
  SentRequest,
} from "./types.ts";
export {
  LlmAbortError,
  LlmCallError,
  type LlmCallErrorDetails,
  LlmConfigError,
  LlmReplyError,
  type LlmReplyProblem,
  StructuredOutputError,
} from "./errors.ts";
export {
  canonicalModelId,
  DEFAULT_MODEL,
  DEFAULT_MODEL_ENV,
  defaultModelSource,
  MODEL_ALIASES,
  type ModelId,
  modelIdProblem,
  parseModelId,
  resolveModel,
} from "./model_id.ts";
export {
  ANTHROPIC_MIN_THINKING_TOKENS,
  checkCallOptions,
  type CheckedOptions,
  type OptionNames,
  type OptionReport,
  promptProblem,
  REASONING_EFFORTS,
} from "./request_check.ts";
export { DEFAULT_SCHEMA_NAME, jsonSchemaProblems, parseJsonReply, validateAgainst } from "./structured.ts";
export {
  checkModelConfig,
  knownProviders,
  PROVIDER_PRESETS,
  type ProviderKind,
  providerKindOf,
  type ProviderOptions,
  type ResolvedProvider,
  resolveProvider,
} from "./provider_config.ts";
export {
  normalizeAnthropicUsage,
  normalizeGoogleUsage,
  normalizeOpenAiUsage,
  normalizeUsage,
  type UsageDialect,
  type UsageTokens,
} from "./usage.ts";

/**
 * Calls a model through the AI SDK (`generateText`, or `streamText` when
 * `request.stream`). The model id's alias resolves first (the provider gets
 * the canonical id; usage is keyed by it). Retries 429/5xx/timeouts/broken
 * streams (`request.maxRetries`, default 2) honouring `retry-after`; each
 * HTTP attempt is bounded by `request.timeoutMs` (default 120000). With
 * `request.schema`, the reply is parsed and validated into `object`.
 * @param request the call: model id, prompt or messages, system prompt, cache, schema, thinking, limits, signal
 * @param options environment (API keys, base URLs) and settings (providers)
 * @returns the text (and object), thinking, finish reason, normalized usage and what was sent
 * @throws {LlmConfigError} for a bad model id, an unknown provider, a missing key or options the provider rejects
 * @throws {LlmCallError} when the call fails (message: `provider/model: reason`; `failedAttempts` lists each attempt)
 * @throws {StructuredOutputError} when the reply is not JSON or does not match `schema` (`problems`, `response`)
 * @throws {LlmReplyError} when the provider blocked the prompt or reply, the model refused, or (with `schema`)
 *   the reply was cut off at the output limit (`problem`, `reason`, `response`)
 * @throws {LlmAbortError} (name `AbortError`) when `request.signal` aborts the call
 */
export async function callLlm(
  request: LlmRequest,
  options: ProviderOptions,
): Promise<LlmResponse> {
  const modelId = canonicalModelId(request.model);
  const { model: modelName } = parseModelId(modelId);
  const provider = resolveProvider(modelId, options);
  const { timeoutMs, maxRetries } = request;
  if (timeoutMs !== undefined && !(Number.isFinite(timeoutMs) && timeoutMs > 0)) {
    throw new LlmConfigError(
      `${modelId}: timeout must be a positive number of ms, got ${timeoutMs}`,
    );
  }
  if (maxRetries !== undefined && !(Number.isInteger(maxRetries) && maxRetries >= 0 && maxRetries <= 10)) {
    throw new LlmConfigError(
      `${modelId}: max retries must be a whole number from 0 to 10, got ${maxRetries}`,
    );
  }
  const prompt = promptProblem(request);
  if (prompt !== null) throw new LlmConfigError(`${modelId}: ${prompt}`);
  const { problems } = checkCallOptions(request, { model: modelId, kind: provider.kind });
  if (problems.length > 0) throw new LlmConfigError(`${modelId}: ${problems.join("; ")}`);
  const { callWithSdk } = await import("./call.ts");
  return await callWithSdk(request, { provider, modelName, modelId });
}
