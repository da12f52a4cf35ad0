/**
 * Model ids (`provider/model`) and which model a node uses.
 * @module
 */

import { LlmConfigError } from "./errors.ts";
import type { LlmSettings } from "./types.ts";

/** The model used when neither the node, the environment nor settings name one. */
export const DEFAULT_MODEL = "anthropic/claude-sonnet-4-5";

/** Environment variable naming the default model. */
export const DEFAULT_MODEL_ENV = "PFLOW_DEFAULT_MODEL";

/**
 * Short names for current models, resolved before a call: the provider
 * receives the canonical id, and usage and cost are keyed by it.
 */
export const MODEL_ALIASES: Readonly<Record<string, string>> = {
  "anthropic/opus": "anthropic/claude-opus-4-5",
  "anthropic/sonnet": "anthropic/claude-sonnet-4-5",
  "anthropic/haiku": "anthropic/claude-haiku-4-5",
};

/**
 * The canonical model id of `id`: its alias target (see
 * {@link MODEL_ALIASES}), or `id` itself.
 */
export function canonicalModelId(id: string): string {
  return Object.hasOwn(MODEL_ALIASES, id) ? MODEL_ALIASES[id] : id;
}

/** A model id split into its provider and the provider's model name. */
export interface ModelId {
  /** Provider name, e.g. `anthropic`, `openai`, `ollama`, a configured name. */
  provider: string;
  /** Model name as the provider knows it; may itself contain `/`. */
  model: string;
}

/**
 * Splits a model id `provider/model` at its first `/`:
 * `openrouter/anthropic/claude-3.5-sonnet` is provider `openrouter`, model
 * `anthropic/claude-3.5-sonnet`.
 * @param id the model id
 * @returns its provider and model parts
 * @throws {LlmConfigError} when the id is not `provider/model`
 */
export function parseModelId(id: string): ModelId {
  const problem = modelIdProblem(id);
  if (problem) throw new LlmConfigError(problem);
  const slash = id.indexOf("/");
  return { provider: id.slice(0, slash), model: id.slice(slash + 1) };
}

/** Returns why `id` is not a valid model id, or null when it is. */
export function modelIdProblem(id: unknown): string | null {
  const example = "expected provider/model, e.g. anthropic/claude-sonnet-4-5";
  if (typeof id !== "string" || id.trim() === "") {
    return `invalid model id ${show(id)}: ${example}`;
  }
  if (/\s/.test(id)) {
    return `invalid model id ${show(id)}: it contains whitespace (${example})`;
  }
  const slash = id.indexOf("/");
  if (slash < 0) {
    return `invalid model id ${show(id)}: no provider prefix (${example})`;
  }
  if (slash === 0) {
    return `invalid model id ${show(id)}: empty provider (${example})`;
  }
  if (slash === id.length - 1) {
    return `invalid model id ${show(id)}: empty model name (${example})`;
  }
  return null;
}

/**
 * Picks the model for a call: the node's `model` parameter, else env
 * `PFLOW_DEFAULT_MODEL`, else `settings.default_model`, else
 * {@link DEFAULT_MODEL}. Empty strings count as unset. The result is not
 * validated (see `checkModelConfig`).
 * @param nodeModel the node's model parameter, if any
 * @param options environment and settings
 * @returns the model id to use
 */
/**
 * Where the model of a node that names none comes from: `PFLOW_DEFAULT_MODEL`,
 * settings.json's `default_model`, or pflow's own default (undefined).
 */
export function defaultModelSource(
  options: { env: Record<string, string | undefined>; settings: LlmSettings },
): string | undefined {
  const given = (v: unknown) => typeof v === "string" && v.trim() !== "";
  if (given(options.env[DEFAULT_MODEL_ENV])) return DEFAULT_MODEL_ENV;
  if (given(options.settings.default_model)) return "settings.json's default_model";
  return undefined;
}

export function resolveModel(
  nodeModel: string | undefined,
  options: { env: Record<string, string | undefined>; settings: LlmSettings },
): string {
  for (
    const candidate of [
      nodeModel,
      options.env[DEFAULT_MODEL_ENV],
      options.settings.default_model,
    ]
  ) {
    if (typeof candidate === "string" && candidate.trim() !== "") {
      return candidate.trim();
    }
  }
  return DEFAULT_MODEL;
}

function show(value: unknown): string {
  return typeof value === "string" ? `'${value}'` : String(value);
}
