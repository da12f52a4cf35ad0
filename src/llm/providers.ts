/**
 * Creates AI SDK language models for resolved providers. Heavy: loads the
 * provider package it needs with a dynamic `import()`; only reached through
 * the lazily imported `call.ts`.
 * @module
 */

import type { LanguageModel } from "ai";
import type { ResolvedProvider } from "./provider_config.ts";

/**
 * Builds the SDK model for `modelName` at `provider`.
 * - `anthropic`: `@ai-sdk/anthropic` (Messages API);
 * - `openai`: `@ai-sdk/openai`, Chat Completions API (not Responses), so
 *   OpenAI-compatible servers behind `OPENAI_BASE_URL` work;
 * - `google`: `@ai-sdk/google` (Gemini API, `generateContent`);
 * - everything else: `@ai-sdk/openai-compatible` with usage requested in
 *   streams (`includeUsage`) and JSON Schema structured outputs
 *   (`response_format: json_schema`, which current local servers accept).
 * @param provider resolved provider (base URL, key)
 * @param modelName model name without the provider prefix
 * @param options the `fetch` every HTTP request goes through
 */
export async function createLanguageModel(
  provider: ResolvedProvider,
  modelName: string,
  options: { fetch: typeof globalThis.fetch },
): Promise<LanguageModel> {
  switch (provider.kind) {
    case "anthropic": {
      const { createAnthropic } = await import("@ai-sdk/anthropic");
      return createAnthropic({
        baseURL: provider.baseURL,
        apiKey: provider.apiKey,
        fetch: options.fetch,
      })(
        modelName,
      );
    }
    case "openai": {
      const { createOpenAI } = await import("@ai-sdk/openai");
      return createOpenAI({
        baseURL: provider.baseURL,
        apiKey: provider.apiKey,
        fetch: options.fetch,
      }).chat(
        modelName,
      );
    }
    case "google": {
      const { createGoogleGenerativeAI } = await import("@ai-sdk/google");
      return createGoogleGenerativeAI({
        baseURL: provider.baseURL,
        apiKey: provider.apiKey,
        fetch: options.fetch,
      })(modelName);
    }
    case "openai-compatible": {
      const { createOpenAICompatible } = await import(
        "@ai-sdk/openai-compatible"
      );
      return createOpenAICompatible({
        name: provider.name,
        baseURL: provider.baseURL,
        apiKey: provider.apiKey,
        includeUsage: true,
        supportsStructuredOutputs: true,
        fetch: options.fetch,
      }).chatModel(modelName);
    }
  }
}
