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

/** Where a URL's userinfo (`user:password`, or `user`) stands in the text, and its two parts as written. */
interface Userinfo {
  start: number;
  end: number;
  username: string;
  /** Undefined when there is no `:`. */
  password: string | undefined;
}

/**
 * The userinfo of URL-like `text` as written, whether or not the text parses as a URL: what a client takes
 * for `user:password` once a scheme is added or fixed (`bob:pw@host:4318`, `http//bob:pw@host`,
 * `http://bob:pw@host:99999`). It runs from the start of the authority (after the last `/` before the first
 * `@`, else the text's start) to the last `@` of the authority. Undefined when there is no `@` there.
 */
function userinfoSpan(text: string): Userinfo | undefined {
  const firstAt = text.indexOf("@");
  if (firstAt < 0) return undefined;
  const start = text.lastIndexOf("/", firstAt) + 1;
  if (/[?#\s]/.test(text.slice(start, firstAt))) return undefined;
  const tail = text.slice(firstAt).search(/[/?#\s]/);
  const end = text.lastIndexOf("@", tail < 0 ? text.length : firstAt + tail);
  const userinfo = text.slice(start, end);
  if (userinfo === "") return undefined;
  const colon = userinfo.indexOf(":");
  return colon < 0
    ? { start, end, username: userinfo, password: undefined }
    : { start, end, username: userinfo.slice(0, colon), password: userinfo.slice(colon + 1) };
}

/**
 * The user name and password of URL-like `text`: as `new URL` reads them when it parses with its userinfo,
 * else as written (see {@link userinfoSpan}) when `text` does not parse or has no `://` (`bob:pw@host` parses
 * with `bob:` as its scheme). Empty strings when there are none.
 */
export function urlUserinfo(text: string): { username: string; password: string } {
  try {
    const { username, password } = new URL(text);
    if (username !== "" || password !== "" || text.includes("://")) return { username, password };
  } catch { /* read as written below */ }
  const span = userinfoSpan(text);
  return { username: span?.username ?? "", password: span?.password ?? "" };
}

/**
 * `text` (a value given as a URL) with its userinfo hidden, for a message that quotes it: `user:[REDACTED]@`
 * for a password, `[REDACTED]@` for a user name alone (it may be a token). Parsed or not (see
 * {@link userinfoSpan}), so that a value that is not a URL does not show its password either.
 */
export function hideUserinfo(text: string): string {
  const span = userinfoSpan(text);
  if (span === undefined) return text;
  const shown = span.password === undefined ? "[REDACTED]" : `${span.username}:[REDACTED]`;
  return `${text.slice(0, span.start)}${shown}${text.slice(span.end)}`;
}
