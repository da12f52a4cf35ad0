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

/**
 * `base` with `path` appended to its path, its query string (and fragment)
 * kept after the path: `http://h/x?k=1` + `v1/traces` is
 * `http://h/x/v1/traces?k=1`, not `http://h/x?k=1/v1/traces`. Text that does
 * not parse as a URL gets `path` appended as text, for the caller's own
 * "not a URL" message to quote.
 */
export function appendUrlPath(base: string, path: string): string {
  let url: URL;
  try {
    url = new URL(base);
  } catch {
    return `${base.replace(/\/+$/, "")}/${path.replace(/^\/+/, "")}`;
  }
  url.pathname = `${url.pathname.replace(/\/+$/, "")}/${path.replace(/^\/+/, "")}`;
  return url.href;
}

/** Whether the path of URL `text` (its query aside) ends with `suffix`, a trailing `/` allowed. */
export function urlPathEndsWith(text: string, suffix: string): boolean {
  let pathname: string;
  try {
    pathname = new URL(text).pathname;
  } catch {
    pathname = text.replace(/[?#].*$/s, "");
  }
  return pathname.replace(/\/+$/, "").endsWith(suffix);
}
