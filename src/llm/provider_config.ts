/**
 * Which providers exist and how each is reached: base URL, API key and wire
 * protocol, resolved from the environment and settings. Pure and cheap to
 * import (no SDK).
 * @module
 */

import { LlmConfigError } from "./errors.ts";
import { modelIdProblem } from "./model_id.ts";
import type { LlmSettings, ProviderSettings } from "./types.ts";
import { hideUserinfo } from "../util/uri.ts";

/** The SDK provider package a provider is driven by. */
export type ProviderKind = "anthropic" | "openai" | "google" | "openai-compatible";

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

/** Origin of the Gemini API; `GOOGLE_GEMINI_BASE_URL` replaces it (without `/v1beta`, as in Google's Gen AI SDK). */
export const GOOGLE_DEFAULT_BASE_URL = "https://generativelanguage.googleapis.com";

/** How each native provider is reached: its key and base-URL variables. */
const NATIVE_ENV = {
  anthropic: { key: "ANTHROPIC_API_KEY", url: "ANTHROPIC_BASE_URL" },
  openai: { key: "OPENAI_API_KEY", url: "OPENAI_BASE_URL" },
  google: { key: "GOOGLE_GENERATIVE_AI_API_KEY", url: "GOOGLE_GEMINI_BASE_URL" },
} as const;

/**
 * Built-in OpenAI-compatible providers. An entry of `settings.providers`
 * with the same name is merged over its preset field by field (an entry
 * with only `base_url` keeps the preset's `api_key_env`).
 */
export const PROVIDER_PRESETS: Readonly<Record<string, ProviderSettings>> = {
  ollama: { base_url: "http://localhost:11434/v1" },
  openrouter: {
    base_url: "https://openrouter.ai/api/v1",
    api_key_env: "OPENROUTER_API_KEY",
  },
};

const NATIVE = ["anthropic", "openai", "google"] as const;
/** Model families people write as the provider, and the provider that serves them. */
const VENDOR_HINTS: Record<string, string> = { gemini: "google", claude: "anthropic", gpt: "openai" };
type NativeName = typeof NATIVE[number];

/** All provider names usable in model ids: native, presets, then configured ones. */
export function knownProviders(settings: LlmSettings): string[] {
  const names = [...NATIVE, ...Object.keys(PROVIDER_PRESETS)];
  for (const name of Object.keys(settings.providers ?? {})) {
    if (!names.includes(name)) names.push(name);
  }
  return names;
}

/**
 * The kind of the provider of a (valid) model id, without checking keys or
 * URLs: native providers by name, presets and configured entries as
 * OpenAI-compatible; undefined for an unknown provider.
 */
export function providerKindOf(modelId: string, settings: LlmSettings): ProviderKind | undefined {
  const name = modelId.slice(0, modelId.indexOf("/"));
  if ((NATIVE as readonly string[]).includes(name)) return name as NativeName;
  return Object.hasOwn(PROVIDER_PRESETS, name) || Object.hasOwn(settings.providers ?? {}, name)
    ? "openai-compatible"
    : undefined;
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

  if ((NATIVE as readonly string[]).includes(name)) {
    const native = name as NativeName;
    const { key: keyEnv, url: urlEnv } = NATIVE_ENV[native];
    if (configured) {
      throw new LlmConfigError(
        `settings.providers.${name}: '${name}' is a built-in provider and cannot be redefined ` +
          `(set ${urlEnv} to point it elsewhere, or give the entry another name)`,
      );
    }
    const override = nonEmpty(env[urlEnv]);
    if (override !== undefined) checkUrl(override, urlEnv);
    const baseURL = native === "anthropic"
      ? anthropicApiBaseUrl(override ?? ANTHROPIC_DEFAULT_BASE_URL)
      : native === "google"
      ? `${trimSlashes((override ?? GOOGLE_DEFAULT_BASE_URL).trim())}/v1beta`
      : trimSlashes(override ?? OPENAI_DEFAULT_BASE_URL);
    return {
      name,
      kind: native,
      baseURL,
      apiKey: requireKey(keyEnv, modelId, env),
      apiKeyEnv: keyEnv,
    };
  }

  const preset = Object.hasOwn(PROVIDER_PRESETS, name) ? PROVIDER_PRESETS[name] : undefined;
  const entry: Partial<ProviderSettings> | undefined = configured || preset
    ? { ...preset, ...definedFields(configured) }
    : undefined;
  if (!entry) {
    const hint = Object.hasOwn(VENDOR_HINTS, name) ? ` (did you mean '${VENDOR_HINTS[name]}/…'?)` : "";
    throw new LlmConfigError(
      `unknown provider '${name}' in model '${modelId}'${hint}: known providers are ` +
        `${knownProviders(settings).join(", ")} (add others under "providers" in settings.json)`,
    );
  }
  const where = configured?.base_url !== undefined && configured.base_url !== null
    ? `settings.providers.${name}.base_url`
    : preset
    ? `provider preset '${name}'`
    : `settings.providers.${name}.base_url`;
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
    throw new LlmConfigError(`${where} is not a valid http(s) URL: '${hideUserinfo(value)}'`);
  }
}

/** The fields of a settings entry that are set (an absent or null field does not erase the preset's). */
function definedFields(entry: ProviderSettings | undefined): Partial<ProviderSettings> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(entry ?? {})) {
    if (value !== undefined && value !== null) out[key] = value;
  }
  return out as Partial<ProviderSettings>;
}

function trimSlashes(url: string): string {
  return url.replace(/\/+$/, "");
}

function nonEmpty(value: string | undefined): string | undefined {
  return typeof value === "string" && value.trim() !== "" ? value.trim() : undefined;
}
