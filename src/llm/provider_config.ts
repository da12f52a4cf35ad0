/**
 * Which providers exist and how each is reached: base URL, API key and wire
 * protocol, resolved from the environment and settings. Pure and cheap to
 * import (no SDK).
 * @module
 */

import { LlmConfigError } from "./errors.ts";
import { modelIdProblem } from "./model_id.ts";
import type { LlmSettings, ProviderSettings } from "./types.ts";

/** The SDK provider package a provider is driven by. */
export type ProviderKind = "anthropic" | "openai" | "openai-compatible";

/** Everything needed to call one provider. */
export interface ResolvedProvider {
  /** Provider name as in the model id. */
  name: string;
  /** Which wire protocol / SDK package. */
  kind: ProviderKind;
  /** Base URL as the AI SDK wants it (ends with the API version, e.g. `/v1`). */
  baseURL: string;
  /** The API key, when the provider needs one. */
  apiKey?: string;
  /** Name of the env var the key came from. */
  apiKeyEnv?: string;
}

/** Environment and settings a provider is resolved from. */
export interface ProviderOptions {
  /** Environment variables (never read from the process directly). */
  env: Record<string, string | undefined>;
  /** User settings. */
  settings: LlmSettings;
}

/** Origin of the Anthropic API; `ANTHROPIC_BASE_URL` replaces it (without `/v1`, as in Anthropic's SDK). */
export const ANTHROPIC_DEFAULT_BASE_URL = "https://api.anthropic.com";

/** Base URL of the OpenAI API; `OPENAI_BASE_URL` replaces it (with `/v1`, as in OpenAI's SDK). */
export const OPENAI_DEFAULT_BASE_URL = "https://api.openai.com/v1";

/** Built-in OpenAI-compatible providers; entries of `settings.providers` override them. */
export const PROVIDER_PRESETS: Readonly<Record<string, ProviderSettings>> = {
  ollama: { base_url: "http://localhost:11434/v1" },
  openrouter: {
    base_url: "https://openrouter.ai/api/v1",
    api_key_env: "OPENROUTER_API_KEY",
  },
};

const NATIVE = ["anthropic", "openai"] as const;

/** All provider names usable in model ids: native, presets, then configured ones. */
export function knownProviders(settings: LlmSettings): string[] {
  const names = [...NATIVE, ...Object.keys(PROVIDER_PRESETS)];
  for (const name of Object.keys(settings.providers ?? {})) {
    if (!names.includes(name)) names.push(name);
  }
  return names;
}

/**
 * Resolves how to reach the provider of `modelId`.
 * @param modelId model id `provider/model`
 * @param options environment and settings
 * @returns the provider's kind, base URL and key
 * @throws {LlmConfigError} for a bad id, an unknown provider, a missing key or a bad base URL
 */
export function resolveProvider(
  modelId: string,
  options: ProviderOptions,
): ResolvedProvider {
  const idProblem = modelIdProblem(modelId);
  if (idProblem) throw new LlmConfigError(idProblem);
  const name = modelId.slice(0, modelId.indexOf("/"));
  const { env, settings } = options;
  const configured = Object.hasOwn(settings.providers ?? {}, name) ? settings.providers![name] : undefined;

  if (name === "anthropic" || name === "openai") {
    if (configured) {
      throw new LlmConfigError(
        `settings.providers.${name}: '${name}' is a built-in provider and cannot be redefined ` +
          `(set ${name === "anthropic" ? "ANTHROPIC_BASE_URL" : "OPENAI_BASE_URL"} to point it elsewhere, ` +
          `or give the entry another name)`,
      );
    }
    const keyEnv = name === "anthropic" ? "ANTHROPIC_API_KEY" : "OPENAI_API_KEY";
    const urlEnv = name === "anthropic" ? "ANTHROPIC_BASE_URL" : "OPENAI_BASE_URL";
    const override = nonEmpty(env[urlEnv]);
    if (override !== undefined) checkUrl(override, urlEnv);
    const baseURL = name === "anthropic"
      ? anthropicApiBaseUrl(override ?? ANTHROPIC_DEFAULT_BASE_URL)
      : trimSlashes(override ?? OPENAI_DEFAULT_BASE_URL);
    return {
      name,
      kind: name,
      baseURL,
      apiKey: requireKey(keyEnv, modelId, env),
      apiKeyEnv: keyEnv,
    };
  }

  const entry = configured ??
    (Object.hasOwn(PROVIDER_PRESETS, name) ? PROVIDER_PRESETS[name] : undefined);
  if (!entry) {
    throw new LlmConfigError(
      `unknown provider '${name}' in model '${modelId}': known providers are ` +
        `${knownProviders(settings).join(", ")} (add others under "providers" in settings.json)`,
    );
  }
  const where = configured ? `settings.providers.${name}.base_url` : `provider preset '${name}'`;
  if (typeof entry.base_url !== "string" || entry.base_url.trim() === "") {
    throw new LlmConfigError(
      `${where} is missing: model '${modelId}' needs a base URL`,
    );
  }
  checkUrl(entry.base_url, where);
  const keyEnv = nonEmpty(entry.api_key_env);
  return {
    name,
    kind: "openai-compatible",
    baseURL: trimSlashes(entry.base_url.trim()),
    ...(keyEnv ? { apiKey: requireKey(keyEnv, modelId, env), apiKeyEnv: keyEnv } : {}),
  };
}

/**
 * Checks that `modelId` can be called with this environment and settings,
 * without calling it (static validation before a run).
 * @param modelId model id `provider/model`
 * @param options environment and settings
 * @returns a one-line problem description, or null when the model is usable
 */
export function checkModelConfig(
  modelId: string,
  options: ProviderOptions,
): string | null {
  try {
    resolveProvider(modelId, options);
    return null;
  } catch (error) {
    if (error instanceof LlmConfigError) return error.message;
    throw error;
  }
}

/**
 * Turns an Anthropic origin (as `ANTHROPIC_BASE_URL` holds it, without
 * `/v1`) into the AI SDK's base URL, which includes `/v1`:
 * `http://host:1/` → `http://host:1/v1`.
 */
export function anthropicApiBaseUrl(origin: string): string {
  return `${trimSlashes(origin.trim())}/v1`;
}

function requireKey(
  keyEnv: string,
  modelId: string,
  env: Record<string, string | undefined>,
): string {
  const key = nonEmpty(env[keyEnv]);
  if (key === undefined) {
    throw new LlmConfigError(
      `${keyEnv} is not set: model '${modelId}' needs it (export ${keyEnv}=...)`,
    );
  }
  return key;
}

function checkUrl(value: string, where: string): void {
  let url: URL | undefined;
  try {
    url = new URL(value.trim());
  } catch { /* reported below */ }
  if (!url || (url.protocol !== "http:" && url.protocol !== "https:")) {
    throw new LlmConfigError(`${where} is not a valid http(s) URL: '${value}'`);
  }
}

function trimSlashes(url: string): string {
  return url.replace(/\/+$/, "");
}

function nonEmpty(value: string | undefined): string | undefined {
  return typeof value === "string" && value.trim() !== "" ? value.trim() : undefined;
}
