/**
 * Piped stdin: read only when the workflow uses it, and interruptibly.
 * @module
 */
import { InterruptedError } from "../engine/mod.ts";
import type { stdinUse } from "../workflow/compiler.ts";
import { ValidationError } from "../workflow/errors.ts";
import { decodeUtf8, InvalidUtf8Error, MAX_TEXT_FILE_BYTES, utf8Problem } from "../util/utf8.ts";
import { formatBytes } from "../util/bytes.ts";
import { Buffer } from "node:buffer";

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
 * Rejects with {@link InterruptedError} when `signal` aborts first, and with
 * a {@link ValidationError} for more than `maxBytes` (reading stops there:
 * `yes | pflow run …` must not fill the memory) or bytes that are not UTF-8,
 * as every text pflow reads must be.
 */
export function readPipedStdin(
  signal: AbortSignal,
  options: { maxBytes?: number } = {},
): Promise<string | undefined> {
  if (process.stdin.isTTY) return Promise.resolve(undefined);
  const max = options.maxBytes ?? MAX_TEXT_FILE_BYTES;
  return new Promise((resolve, reject) => {
    const chunks: Uint8Array[] = [];
    let size = 0;
    const stdin = process.stdin;
    const cleanup = () => {
      signal.removeEventListener("abort", onAbort);
      stdin.off("data", onData).off("end", onEnd).off("error", onError);
      stdin.pause();
    };
    const onData = (chunk: Uint8Array | string) => {
      const bytes = typeof chunk === "string" ? new TextEncoder().encode(chunk) : chunk;
      size += bytes.length;
      if (size > max) {
        cleanup();
        chunks.length = 0;
        reject(
          new ValidationError([{
            message: `stdin: more than ${formatBytes(max)} was piped, the most pflow reads from stdin; ` +
              "give larger data to a read-file node (or a shell node) by its path instead",
          }]),
        );
        return;
      }
      chunks.push(bytes);
    };
    const onEnd = () => {
      cleanup();
      let text: string;
      try {
        text = decodeUtf8(Buffer.concat(chunks, size));
      } catch (error) {
        if (!(error instanceof InvalidUtf8Error)) return reject(error);
        const hint = "pipe UTF-8 text (e.g. through iconv -t UTF-8), or give binary data to a read-file node " +
          "with encoding: base64";
        return reject(new ValidationError([utf8Problem("stdin", error, hint)]));
      }
      resolve(text === "" ? undefined : text);
    };
    const onError = (error: Error) => {
      cleanup();
      // `pflow run wf.json < /tmp`: a directory on stdin is a mistake of the command line, not of the run.
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== "EISDIR" && code !== "ERR_FS_EISDIR") return reject(error);
      reject(
        new ValidationError([{
          message: "stdin: it is a directory, not text; redirect a file (< notes.md) or pipe the input " +
            "(e.g. cat notes.md | pflow run FILE.json)",
        }]),
      );
    };
    const onAbort = () => {
      cleanup();
      reject(new InterruptedError("interrupted while reading stdin"));
    };
    if (signal.aborted) return onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    try {
      stdin.on("data", onData).on("end", onEnd).on("error", onError);
    } catch (error) {
      onError(error as Error); // Bun's stdin throws EISDIR here, as it starts reading
    }
  });
}
