/**
 * URL text helpers.
 * @module
 */

/** `decodeURIComponent(text)`, or `text` itself when it is not valid percent-encoding. */
export function decodeUriComponentSafe(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** Whether `value` is a string that parses as an `http:` or `https:` URL. */
export function isHttpUrl(value: unknown): boolean {
  if (typeof value !== "string") return false;
  try {
    const { protocol } = new URL(value.trim());
    return protocol === "http:" || protocol === "https:";
  } catch {
    return false;
  }
}
