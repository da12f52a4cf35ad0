/**
 * Network failures in the same words wherever pflow reports one (the
 * Pushgateway push, the OTLP exports), whatever runtime or client raised it:
 * Bun's fetch says `ECONNRESET: The socket connection was closed
 * unexpectedly. For more information, pass 'verbose: true' …`, node:http
 * `read ECONNRESET`, Deno `connection reset`.
 * @module
 */

/** How a connection the server reset (or closed abruptly) is said. */
export const CONNECTION_RESET = "connection reset by the server";

/**
 * `error` in words when it is a connection the server reset ({@link CONNECTION_RESET}), else undefined (the
 * caller says it as before). Looks through the chain of causes (`fetch failed` wraps the real reason).
 */
export function networkErrorReason(error: unknown): string | undefined {
  for (let e: unknown = error, depth = 0; e && depth < 5; depth++) {
    const err = e as { code?: unknown; message?: unknown; cause?: unknown };
    const text = `${typeof err.code === "string" ? err.code : ""} ${
      typeof err.message === "string" ? err.message : ""
    }`;
    if (/ECONNRESET|ConnectionReset|connection reset|socket connection was closed unexpectedly/i.test(text)) {
      return CONNECTION_RESET;
    }
    e = err.cause;
  }
  return undefined;
}
