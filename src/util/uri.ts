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
