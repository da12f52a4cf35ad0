/**
 * Errors of the LLM layer: configuration problems found before a call,
 * failed calls, replies that are not the structured output asked for, and
 * interrupted calls.
 * @module
 */

import type { LlmFailedAttempt, LlmResponse } from "./types.ts";

/** A model id or provider configuration problem (bad id, unknown provider, missing key). */
export class LlmConfigError extends Error {
  /**
   * Creates the error.
   * @param message one-line description of the problem
   */
  constructor(message: string) {
    super(message);
    this.name = "LlmConfigError";
  }
}

/** Details of a failed call, beyond its one-line message. */
export interface LlmCallErrorDetails {
  /** Provider name as in the model id. */
  provider: string;
  /** Model id as requested (`provider/model`). */
  model: string;
  /** HTTP status of the last failed attempt, or null (network error, timeout). */
  status: number | null;
  /** Whether the failure was of a kind worth retrying (429, 5xx, timeout, network). */
  retryable: boolean;
  /** Provider error type/code (e.g. `authentication_error`), when reported. */
  errorType?: string | null;
  /** HTTP attempts made, retries included. */
  attempts?: number;
  /** Provider request id of the failed attempt, when reported. */
  requestId?: string | null;
  /** Every attempt, oldest first, each with its error and the usage it reported. */
  failedAttempts?: LlmFailedAttempt[];
}

/**
 * A model call that failed. Its message names the model and the reason in one
 * line, e.g. `anthropic/claude-sonnet-4-5: HTTP 401 authentication_error:
 * invalid x-api-key`; it never contains the API key.
 */
export class LlmCallError extends Error {
  /** Provider name as in the model id. */
  readonly provider: string;
  /** Model id as requested. */
  readonly model: string;
  /** HTTP status of the last failed attempt, or null. */
  readonly status: number | null;
  /** Whether the failure was retryable (and retries were exhausted). */
  readonly retryable: boolean;
  /** Provider error type/code, when reported. */
  readonly errorType: string | null;
  /** HTTP attempts made. */
  readonly attempts: number;
  /** Provider request id of the failed attempt, when reported. */
  readonly requestId: string | null;
  /** Every attempt, oldest first (the last one is this failure), with its error and reported usage. */
  readonly failedAttempts: LlmFailedAttempt[];

  /**
   * Creates the error.
   * @param message one-line message (already prefixed with the model id and redacted)
   * @param details structured details
   */
  constructor(message: string, details: LlmCallErrorDetails) {
    super(message);
    this.name = "LlmCallError";
    this.provider = details.provider;
    this.model = details.model;
    this.status = details.status;
    this.retryable = details.retryable;
    this.errorType = details.errorType ?? null;
    this.attempts = details.attempts ?? 1;
    this.requestId = details.requestId ?? null;
    this.failedAttempts = details.failedAttempts ?? [];
  }
}

/**
 * A call that succeeded but whose reply is not the structured output asked
 * for: not JSON at all, or JSON that does not match the schema. The tokens
 * were spent: `response` carries the reply and its usage. `problems` are the
 * validator's messages (`/pointer: what is wrong`), ready to be sent back to
 * the model in a retry.
 */
export class StructuredOutputError extends Error {
  /** The validator's messages, one per problem. */
  readonly problems: string[];
  /** The call's outcome (reply text, usage, what was sent). */
  readonly response: LlmResponse;

  /**
   * Creates the error.
   * @param message one line: model id and what is wrong
   * @param details the validator's messages and the response
   */
  constructor(message: string, details: { problems: string[]; response: LlmResponse }) {
    super(message);
    this.name = "StructuredOutputError";
    this.problems = details.problems;
    this.response = details.response;
  }
}

/** Why a reply that arrived cannot be used: see {@link LlmReplyError}. */
export type LlmReplyProblem = "blocked" | "refused" | "truncated";

/**
 * A call that succeeded but whose reply is not an answer: the provider
 * blocked the prompt or the reply (a safety or content filter), the model
 * refused, or, with structured output, the reply was cut off at the output
 * limit before its JSON was complete. Not retried (the same request gets the
 * same outcome). The tokens were spent: `response` carries what arrived and
 * its usage.
 */
export class LlmReplyError extends Error {
  /** `blocked` (safety or content filter), `refused` (the model declined), `truncated` (output limit). */
  readonly problem: LlmReplyProblem;
  /** The provider's reason as it sent it (`SAFETY`, `content_filter`, `refusal`, `max_tokens`…), when known. */
  readonly reason: string | null;
  /** The call's outcome (any partial text, usage, what was sent). */
  readonly response: LlmResponse;

  /**
   * Creates the error.
   * @param message one line: model id and what happened
   * @param details the kind of problem, the provider's reason and the response
   */
  constructor(message: string, details: { problem: LlmReplyProblem; reason: string | null; response: LlmResponse }) {
    super(message);
    this.name = "LlmReplyError";
    this.problem = details.problem;
    this.reason = details.reason;
    this.response = details.response;
  }
}

/**
 * A call interrupted by its `signal` (run cancellation). Its `name` is
 * `AbortError`, like the DOM's, so callers can tell interruption from failure.
 */
export class LlmAbortError extends Error {
  /**
   * The attempts made before the abort, oldest first; the last is the one in flight when the
   * signal fired (its usage unknown: a provider may bill what it processed before the abort).
   */
  readonly failedAttempts: LlmFailedAttempt[];

  /**
   * Creates the error.
   * @param message one-line message
   * @param options the abort reason as `cause`, and the attempts made
   */
  constructor(message: string, options?: { cause?: unknown; failedAttempts?: LlmFailedAttempt[] }) {
    super(message, { cause: options?.cause });
    this.name = "AbortError";
    this.failedAttempts = options?.failedAttempts ?? [];
  }
}

/** Replaces every occurrence of each secret (of 4+ characters) with `[REDACTED]`. */
export function redactSecrets(
  text: string,
  secrets: readonly (string | undefined)[],
): string {
  let out = text;
  for (const secret of secrets) {
    if (secret && secret.length >= 4) {
      out = out.split(secret).join("[REDACTED]");
    }
  }
  return out;
}
