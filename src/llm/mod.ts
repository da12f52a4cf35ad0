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
 * ```
 * @module
 */

import { LlmConfigError } from "./errors.ts";
import { parseModelId } from "./model_id.ts";
import { type ProviderOptions, resolveProvider } from "./provider_config.ts";
import type { LlmRequest, LlmResponse } from "./types.ts";

export type { LlmRequest, LlmResponse, LlmSettings, LlmUsage, ProviderSettings } from "./types.ts";
export { LlmAbortError, LlmCallError, type LlmCallErrorDetails, LlmConfigError } from "./errors.ts";
export { DEFAULT_MODEL, DEFAULT_MODEL_ENV, type ModelId, parseModelId, resolveModel } from "./model_id.ts";
export {
  checkModelConfig,
  knownProviders,
  PROVIDER_PRESETS,
  type ProviderKind,
  type ProviderOptions,
  type ResolvedProvider,
  resolveProvider,
} from "./provider_config.ts";
export {
  normalizeAnthropicUsage,
  normalizeOpenAiUsage,
  normalizeUsage,
  type UsageDialect,
  type UsageTokens,
} from "./usage.ts";

/**
 * Calls a model through the AI SDK (`generateText`, or `streamText` when
 * `request.stream`). Retries 429/5xx/timeouts (`request.maxRetries`, default
 * 2) honouring `retry-after`; each HTTP attempt is bounded by
 * `request.timeoutMs` (default 120000).
 * @param request the call: model id, prompt, optional system prompt, limits, signal
 * @param options environment (API keys, base URLs) and settings (providers)
 * @returns the text, finish reason, normalized usage and what was sent
 * @throws {LlmConfigError} for a bad model id, an unknown provider or a missing key
 * @throws {LlmCallError} when the call fails (message: `provider/model: reason`)
 * @throws {LlmAbortError} (name `AbortError`) when `request.signal` aborts the call
 */
export async function callLlm(
  request: LlmRequest,
  options: ProviderOptions,
): Promise<LlmResponse> {
  const { model: modelName } = parseModelId(request.model);
  const provider = resolveProvider(request.model, options);
  const { timeoutMs, maxRetries } = request;
  if (timeoutMs !== undefined && !(Number.isFinite(timeoutMs) && timeoutMs > 0)) {
    throw new LlmConfigError(
      `${request.model}: timeout must be a positive number of ms, got ${timeoutMs}`,
    );
  }
  if (maxRetries !== undefined && !(Number.isInteger(maxRetries) && maxRetries >= 0)) {
    throw new LlmConfigError(
      `${request.model}: max retries must be a non-negative integer, got ${maxRetries}`,
    );
  }
  if (typeof request.prompt !== "string") {
    throw new LlmConfigError(`${request.model}: prompt must be a string`);
  }
  const { callWithSdk } = await import("./call.ts");
  return await callWithSdk(request, { provider, modelName });
}
