/**
 * The start of an HTTP answer's body, for an error message: never more than
 * a few KiB read, however much the server sends (an endless error page).
 * @module
 */

/** How much of an error answer's body is read: enough for its first line. */
export const BODY_START_BYTES = 4096;

/**
 * Reads at most `maxBytes` of `response`'s body and cancels the rest; a body
 * that fails or is cut short part-way (the request's timeout) gives what
 * came. Decoded as UTF-8 (a character cut at the end is dropped).
 */
export async function readBodyStart(response: Response, maxBytes = BODY_START_BYTES): Promise<string> {
  const reader = response.body?.getReader();
  if (reader === undefined) return "";
  const parts: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < maxBytes) {
      const { done, value } = await reader.read();
      if (done) break;
      const part = value.subarray(0, maxBytes - size);
      parts.push(part);
      size += part.byteLength;
    }
  } catch {
    // Cut short (a timeout, a reset): what came is the message.
  } finally {
    reader.cancel().catch(() => {});
  }
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const part of parts) {
    bytes.set(part, at);
    at += part.byteLength;
  }
  return new TextDecoder().decode(bytes, { stream: true });
}
