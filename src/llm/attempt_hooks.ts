/**
 * What the code around a model call hears of its attempts while the call
 * goes on: each failed attempt as it fails, and each retry before it
 * starts. The hooks travel in async context, so a method that calls a model
 * (`@llmUsage`) sets them whatever its own arguments are.
 * @module
 */
import { AsyncLocalStorage } from "node:async_hooks";
import type { LlmFailedAttempt } from "./types.ts";

/** Hooks of the calls made inside {@link withAttemptHooks}. */
export interface AttemptHooks {
  /**
   * Told of each attempt as it fails, before any retry (so what it was
   * billed is recorded even when the process dies during the retries). The
   * attempt is still listed in the response's or error's `failedAttempts`.
   */
  onFailedAttempt(attempt: LlmFailedAttempt): void;
  /** Called before each retry (before and after its wait); what it throws ends the call (a spent budget). */
  beforeRetry(): void;
}

// Made by the first call that sets hooks: a process that calls no model never carries one.
let hooks: AsyncLocalStorage<AttemptHooks> | undefined;

/** Runs `fn`; the model calls it makes report their attempts to `attemptHooks`. */
export function withAttemptHooks<T>(attemptHooks: AttemptHooks, fn: () => Promise<T>): Promise<T> {
  return (hooks ??= new AsyncLocalStorage<AttemptHooks>()).run(attemptHooks, fn);
}

/** The hooks of the running call, if any. */
export function currentAttemptHooks(): AttemptHooks | undefined {
  return hooks?.getStore();
}
