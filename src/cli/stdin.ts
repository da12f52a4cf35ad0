/**
 * Piped stdin: read only when the workflow uses it, and interruptibly.
 * @module
 */
import { InterruptedError } from "../engine/mod.ts";
import type { stdinUse } from "../workflow/compiler.ts";

/**
 * Whether to read piped stdin: a template names `${stdin}`, or an input
 * marked `"stdin": true` was not given as a param. Reading waits for EOF,
 * so an open pipe must not be read when nothing would use it.
 */
export function needsStdin(use: ReturnType<typeof stdinUse>, params: Record<string, unknown>): boolean {
  return use.stdinTemplates || use.stdinInputs.some((name) => params[name] === undefined);
}

/**
 * Reads piped stdin to EOF; undefined for a terminal or empty input.
 * Rejects with {@link InterruptedError} when `signal` aborts first.
 */
export function readPipedStdin(signal: AbortSignal): Promise<string | undefined> {
  if (process.stdin.isTTY) return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    const chunks: Uint8Array[] = [];
    const stdin = process.stdin;
    const cleanup = () => {
      signal.removeEventListener("abort", onAbort);
      stdin.off("data", onData).off("end", onEnd).off("error", onError);
      stdin.pause();
    };
    const onData = (chunk: Uint8Array | string) => {
      chunks.push(typeof chunk === "string" ? new TextEncoder().encode(chunk) : chunk);
    };
    const onEnd = () => {
      cleanup();
      const text = new TextDecoder().decode(concat(chunks));
      resolve(text === "" ? undefined : text);
    };
    const onError = (error: Error) => {
      cleanup();
      reject(error);
    };
    const onAbort = () => {
      cleanup();
      reject(new InterruptedError("interrupted while reading stdin"));
    };
    if (signal.aborted) return onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    stdin.on("data", onData).on("end", onEnd).on("error", onError);
  });
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}
