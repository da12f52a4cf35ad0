/**
 * Fills the usage an Anthropic-protocol server left out, before the provider
 * library's schema check: it requires `usage` (with `input_tokens` and
 * `output_tokens` in a message, `input_tokens` in `message_start`,
 * `output_tokens` in `message_delta`) and would reject the whole reply,
 * while OpenAI and Gemini replies without usage are kept. The counts that
 * are missing become 0 and the filler says so (`onFill`), so the call's usage
 * is then marked missing (unknown, not 0). Counts that are present are kept
 * as they are; anything else passes through unchanged.
 * @module
 */
import { concatBytes } from "../util/bytes.ts";

/**
 * A transform of an Anthropic response body that fills missing usage.
 * @param kind `json` (a whole message: buffered, then parsed) or `sse` (an event stream, event by event)
 * @param onFill called each time usage was filled in
 */
export function anthropicUsageFiller(
  kind: "json" | "sse",
  onFill: () => void,
): TransformStream<Uint8Array, Uint8Array> {
  return kind === "json" ? jsonFiller(onFill) : sseFiller(onFill);
}

function jsonFiller(onFill: () => void): TransformStream<Uint8Array, Uint8Array> {
  const chunks: Uint8Array[] = [];
  return new TransformStream({
    transform(chunk) {
      chunks.push(chunk);
    },
    flush(controller) {
      const bytes = concatBytes(chunks);
      let message: unknown;
      try {
        message = JSON.parse(new TextDecoder().decode(bytes));
      } catch {
        controller.enqueue(bytes); // not JSON: the library reports it
        return;
      }
      if (isObject(message) && message.type === "message" && fill(message, ["input_tokens", "output_tokens"])) {
        onFill();
        controller.enqueue(new TextEncoder().encode(JSON.stringify(message)));
      } else controller.enqueue(bytes);
    },
  });
}

function sseFiller(onFill: () => void): TransformStream<Uint8Array, Uint8Array> {
  const decoder = new TextDecoder();
  const encoder = new TextEncoder();
  let buffer = "";
  // Events go on whole, as they end (the library's parser waits for an event's end too).
  const forward = (controller: TransformStreamDefaultController<Uint8Array>, final: boolean) => {
    let out = "";
    for (let end = /\r\n\r\n|\n\n|\r\r/.exec(buffer); end; end = /\r\n\r\n|\n\n|\r\r/.exec(buffer)) {
      out += fillEvent(buffer.slice(0, end.index), onFill) + end[0];
      buffer = buffer.slice(end.index + end[0].length);
    }
    if (final) {
      out += buffer;
      buffer = "";
    }
    if (out !== "") controller.enqueue(encoder.encode(out));
  };
  return new TransformStream({
    transform(chunk, controller) {
      buffer += decoder.decode(chunk, { stream: true });
      forward(controller, false);
    },
    flush(controller) {
      buffer += decoder.decode();
      forward(controller, true);
    },
  });
}

/** One SSE event's text (without its closing blank line), with usage filled into its data when needed. */
function fillEvent(text: string, onFill: () => void): string {
  const lines = text.split(/\r\n|\n|\r/);
  const data = lines.filter((line) => line.startsWith("data:"));
  if (data.length === 0) return text;
  let event: unknown;
  try {
    event = JSON.parse(data.map((line) => line.slice(5).replace(/^ /, "")).join("\n"));
  } catch {
    return text;
  }
  if (!isObject(event)) return text;
  const filled = event.type === "message_start" && isObject(event.message)
    ? fill(event.message, ["input_tokens"])
    : event.type === "message_delta"
    ? fill(event, ["output_tokens"])
    : false;
  if (!filled) return text;
  onFill();
  return [...lines.filter((line) => !line.startsWith("data:")), `data: ${JSON.stringify(event)}`].join("\n");
}

/** Sets `usage` of `holder` (0 for each of `required` that is not a number); whether anything was filled. */
function fill(holder: Record<string, unknown>, required: string[]): boolean {
  const usage = isObject(holder.usage) ? holder.usage : {};
  const absent = required.filter((key) => typeof usage[key] !== "number");
  if (absent.length === 0 && usage === holder.usage) return false;
  holder.usage = { ...usage, ...Object.fromEntries(absent.map((key) => [key, 0])) };
  return true;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}
