/**
 * `http`: one HTTP request with `fetch`; JSON responses are parsed.
 * @module
 */
import { Buffer, constants as bufferConstants } from "node:buffer";
import process from "node:process";
import { setImmediate } from "node:timers";
import { InterruptedError, Node, type RunContext, type Shared, throwIfAborted } from "../engine/mod.ts";
import { timed, traced } from "../observability/decorators.ts";
import {
  DEFAULT_MAX_OUTPUT_BYTES,
  hasTemplate,
  NodeError,
  type NodeSpec,
  paramJson,
  type ParamProblem,
  problemOf,
  readParams,
} from "./spec.ts";
import { formatBytes } from "../util/bytes.ts";
import { timeoutSignal } from "../util/timers.ts";
import { isSecretName } from "../observability/redact.ts";
import { decodeUtf8, InvalidUtf8Error } from "../util/utf8.ts";
import { formatJsonPath, lossyNumberText, parseJsonNoting } from "../util/json_numbers.ts";
import { warnOnce } from "../util/warn_once.ts";

/** How the body becomes `response`: text decoded by its charset, or the raw bytes as base64. */
export type ResponseEncoding = "text" | "base64";

const RESPONSE_ENCODINGS: readonly ResponseEncoding[] = ["text", "base64"];

interface HttpParams {
  url: string;
  method: string;
  headers?: Record<string, unknown>;
  query?: Record<string, unknown>;
  body?: unknown;
  timeout: number;
  max_response_bytes: number;
  response_encoding: ResponseEncoding;
}

/** What one request produced. */
export interface HttpResult {
  /** Parsed JSON for a JSON content type, otherwise the body as text (or base64 when asked). */
  response: unknown;
  /** The HTTP status code. */
  status_code: number;
  /** Response headers by lowercase name; `set-cookie` is a list, one item per header. */
  response_headers: Record<string, string | string[]>;
  /** Milliseconds from sending the request to reading the whole body. */
  duration_ms: number;
}

/** Sends an HTTP request; `error` on a 4xx or 5xx status. */
@timed
@traced({
  redact: [
    "headers.authorization",
    "headers.proxy-authorization",
    "headers.cookie",
    "headers.x-api-key",
    "response_headers.set-cookie",
  ],
})
export class HttpNode extends Node {
  /** The type's declaration. */
  static readonly spec: NodeSpec = {
    type: "http",
    description:
      "Sends an HTTP request and reads the response (JSON is parsed). Follows up to 20 redirects; one to another " +
      "origin (scheme, host or port) drops Authorization, Cookie and every secret-named header (X-Api-Key, ...)",
    params: {
      url: {
        type: "string",
        description: "Absolute http:// or https:// URL",
        required: true,
      },
      method: {
        type: "string",
        description: "HTTP method: GET, POST, PUT, PATCH, DELETE, HEAD, ...",
        default: "GET",
      },
      headers: {
        type: "object",
        description: "Request headers by name (values are sent as strings)",
      },
      query: {
        type: "object",
        description: "Query parameters appended to the URL (an array value repeats the parameter)",
      },
      body: {
        type: "any",
        description:
          "Request body: a string as is; objects and arrays as JSON (content-type application/json unless set); null sends none",
      },
      timeout: {
        type: "number",
        description: "Seconds before the request (including reading the response) is abandoned",
        default: 30,
        positive: "seconds",
      },
      max_response_bytes: {
        type: "integer",
        description:
          "Most bytes of response body read; a larger body fails the node (nothing is kept). A compressed body " +
          "(content-encoding gzip, deflate, br) is bounded as sent and as decoded",
        default: DEFAULT_MAX_OUTPUT_BYTES,
        positive: "bytes",
      },
      response_encoding: {
        type: "string",
        description:
          "text decodes the body by the content-type's charset (UTF-8 when none); bytes not valid in it fail the " +
          "node (an error status's page is read with U+FFFD instead, warned). base64 returns the raw bytes as " +
          "base64, for images and other binary bodies",
        default: "text",
        enum: RESPONSE_ENCODINGS,
      },
    },
    outputs: {
      response: {
        type: "any",
        description:
          "The body: parsed JSON for a JSON content type, otherwise text; base64 with response_encoding: base64",
      },
      status_code: { type: "integer", description: "HTTP status code" },
      response_headers: {
        type: "object",
        description:
          "Response headers by lowercase name (a repeated header joined with ', '); set-cookie is a list, one item per Set-Cookie header",
      },
      duration_ms: {
        type: "integer",
        description: "Milliseconds the request took, body included",
      },
    },
    actions: ["error"],
  };

  /**
   * The run's own checks of literal params, before anything runs: the URL
   * (with a literal `query`), the method, header names and values, and a
   * body with GET or HEAD. Templated values are checked at run time.
   */
  static validate(params: Record<string, unknown>): ParamProblem[] {
    const problems: ParamProblem[] = [];
    const add = (param: string, problem: string | undefined) => {
      if (problem !== undefined) problems.push({ param, message: `param '${param}': ${problem}` });
    };
    const { url, query, method, headers, body } = params;
    if (typeof url === "string" && !hasTemplate(url)) {
      const literalQuery = isPlainObject(query) && !hasTemplate(query) ? query : undefined;
      add("url", problemOf(() => buildUrl(url, literalQuery)));
    }
    // Absent, the method is GET.
    const literalMethod = method === undefined
      ? "GET"
      : typeof method === "string" && !hasTemplate(method)
      ? method
      : undefined;
    const methodProblem = literalMethod === undefined ? undefined : problemOf(() => checkMethod(literalMethod));
    add("method", methodProblem);
    if (isPlainObject(headers)) {
      // Names as given (a name holding a template is the workflow check's to report: keys are never resolved);
      // a templated value stands in as a valid one.
      const literal = Object.fromEntries(
        Object.entries(headers).filter(([name]) => !hasTemplate(name)).map((
          [name, value],
        ) => [name, hasTemplate(value) ? "" : value]),
      );
      add("headers", problemOf(() => buildHeaders(literal)));
    }
    if (
      literalMethod !== undefined && methodProblem === undefined && body !== undefined && body !== null &&
      !hasTemplate(body)
    ) {
      add("body", problemOf(() => checkBodyAllowed(literalMethod.trim().toUpperCase())));
    }
    return problems;
  }

  /** Reads params. */
  override prep(): HttpParams {
    return readParams<HttpParams>(HttpNode.spec, this.params);
  }

  /** Sends the request and reads the whole response. */
  override async exec(p: HttpParams, ctx: RunContext): Promise<HttpResult> {
    const method = checkMethod(p.method);
    const url = buildUrl(p.url, p.query);
    const shown = `${method} ${displayUrl(url)}`;
    const headers = buildHeaders(p.headers);
    let body: string | undefined;
    if (p.body !== undefined && p.body !== null) {
      checkBodyAllowed(method);
      if (typeof p.body === "string") body = p.body;
      else {
        body = paramJson(p.body, "body");
        if (!headers.has("content-type")) {
          headers.set("content-type", "application/json");
        }
      }
    }

    throwIfAborted(ctx.signal);
    const timer = timeoutSignal(p.timeout * 1000);
    const timeout = timer.signal;
    const signal = AbortSignal.any([ctx.signal, timeout]);
    // Whether the response's headers came: a failure after that is one reading its body.
    let reading = false;
    const failed = (error: unknown): Error => {
      if (ctx.signal.aborted) return new InterruptedError();
      if (timeout.aborted) {
        return new NodeError(
          `request timed out after ${p.timeout} s: ${shown} (raise the node's 'timeout' param, in seconds)`,
        );
      }
      return new NodeError(
        `request failed: ${shown}: ${describeFetchError(error, reading)}`,
      );
    };

    const started = performance.now();
    let res: Response;
    let bytes: Uint8Array;
    try {
      res = await fetchFollowingRedirects(url, { method, headers, body, signal }, shown);
      reading = true;
      // A redirect never turns HEAD into another method.
      bytes = hasNoBody(method, res.status)
        ? await noBody(res)
        : await readBody(res, p.max_response_bytes, shown, () => ctx.signal.aborted || timeout.aborted);
    } catch (error) {
      if (error instanceof NodeError) throw error;
      throw failed(error);
    } finally {
      timer.clear();
    }
    const duration_ms = Math.round(performance.now() - started);

    const response_headers: Record<string, string | string[]> = {};
    res.headers.forEach((value, name) => {
      const key = name.toLowerCase();
      // Each Set-Cookie is one cookie; joined with ", " they could not be told apart (Expires has a comma).
      response_headers[key] = key === "set-cookie" ? res.headers.getSetCookie() : value;
    });
    const contentType = res.headers.get("content-type");
    if (p.response_encoding === "base64") {
      return {
        response: Buffer.from(bytes).toString("base64"),
        status_code: res.status,
        response_headers,
        duration_ms,
      };
    }
    // An error status takes the `error` action whatever its body: an error page is read as well as it can be.
    const { text, replacedIn } = decodeBody(bytes, contentType, shown, { lenient: res.status >= 400 });
    if (replacedIn !== undefined) {
      ctx.warn(
        `${shown}: the HTTP ${res.status} page is not valid ${replacedIn} (or its charset is unknown); ` +
          "read with replacement characters",
      );
    }
    let response: unknown = text;
    if (isJson(contentType) && text.trim() !== "") {
      try {
        const parsed = parseJsonNoting(text);
        response = parsed.value;
        this.#warnLossy(parsed, shown, ctx);
      } catch {
        ctx.warn(
          `${shown}: response says JSON but does not parse; kept as text`,
        );
      }
    }
    return { response, status_code: res.status, response_headers, duration_ms };
  }

  /**
   * Warns about numbers of the JSON body that `response` does not hold exactly (an id beyond 2^53): once per
   * node a run, as a loop or the items of a batch (clones of this node) would say it again for every response.
   */
  #warnLossy(parsed: ReturnType<typeof parseJsonNoting>, shown: string, ctx: RunContext): void {
    const [first] = parsed.lossy;
    if (first === undefined) return;
    const more = parsed.count > 1 ? ` (${parsed.count - 1} more number${parsed.count === 2 ? "" : "s"} too)` : "";
    // A node built by hand has no id: its request stands for it.
    const key = `http lossy number: ${this.nodeId !== undefined ? `node '${this.nodeId}'` : shown}`;
    warnOnce(
      ctx.warn,
      `${shown}: response${formatJsonPath(first.path)} ${lossyNumberText(first)}${more}; ` +
        "use the API's string form of it (e.g. id_str) where there is one",
      key,
    );
  }

  /** Writes the outputs; `error` on a 4xx or 5xx status. */
  override post(shared: Shared, _p: HttpParams, r: HttpResult): string {
    shared.response = r.response;
    shared.status_code = r.status_code;
    shared.response_headers = r.response_headers;
    shared.duration_ms = r.duration_ms;
    return r.status_code >= 400 ? "error" : "default";
  }
}

/** Most redirects followed for one request, as `fetch` itself allows. */
export const MAX_REDIRECTS = 20;

/** Statuses that redirect (with a `location`). */
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** Headers that describe a request body, dropped with it when a redirect turns the request into a GET. */
const BODY_HEADERS = ["content-type", "content-length", "content-encoding", "content-language", "content-location"];

/** Whether a request header carries a credential: never sent to another origin than the one it was given for. */
function isCredentialHeader(name: string): boolean {
  return isSecretName(name) || /^(proxy-)?authorization$|^cookie$/i.test(name);
}

/**
 * `fetch` that follows redirects itself (`fetch` would forward headers like
 * `X-Api-Key` to any host a redirect names): up to {@link MAX_REDIRECTS};
 * 301/302 after a POST and 303 become a GET without the body, 307/308 keep
 * method and body; on a move to another origin (scheme, host or port)
 * every credential header (Authorization, Cookie, secret-named ones) is
 * dropped, for good.
 */
async function fetchFollowingRedirects(
  start: URL,
  init: { method: string; headers: Headers; body: string | undefined; signal: AbortSignal },
  shown: string,
): Promise<Response> {
  let url = start;
  let { method, body } = init;
  const headers = new Headers(init.headers);
  if (OWN_DECODING && !headers.has("accept-encoding")) headers.set("accept-encoding", acceptEncoding());
  for (let redirects = 0;; redirects++) {
    const request: RequestInit & { decompress?: boolean } = {
      method,
      headers,
      body,
      signal: init.signal,
      redirect: "manual",
      // Bun's option (see OWN_DECODING).
      ...(OWN_DECODING ? { decompress: false } : {}),
    };
    const res = await fetch(url, request);
    const location = res.headers.get("location");
    if (!REDIRECTS.has(res.status) || location === null) return res;
    await res.body?.cancel().catch(() => {});
    let next: URL;
    try {
      next = new URL(location, url);
    } catch {
      throw new NodeError(`request failed: ${shown}: redirect (${res.status}) to an invalid URL`);
    }
    if (next.protocol !== "http:" && next.protocol !== "https:") {
      throw new NodeError(
        `request failed: ${shown}: redirect (${res.status}) to a '${next.protocol}' URL (only http and https are followed)`,
      );
    }
    if (redirects === MAX_REDIRECTS) {
      throw new NodeError(
        `request failed: ${shown}: more than ${MAX_REDIRECTS} redirects (a redirect loop?), the last to ${
          displayUrl(next)
        }`,
      );
    }
    if (
      ((res.status === 301 || res.status === 302) && method === "POST") || (res.status === 303 && method !== "HEAD")
    ) {
      method = "GET";
      body = undefined;
      for (const name of BODY_HEADERS) headers.delete(name);
    }
    if (next.origin !== url.origin) {
      for (const name of [...headers.keys()]) if (isCredentialHeader(name)) headers.delete(name);
    }
    url = next;
  }
}

/**
 * Whether a response has no body whatever its headers say: to a HEAD
 * request, or a 1xx, 204 or 304 status (RFC 9110 6.4.1). Their
 * `content-length` is the size of a body not sent, never too large.
 */
function hasNoBody(method: string, status: number): boolean {
  return method === "HEAD" || status < 200 || status === 204 || status === 304;
}

/** The empty body of a response that has none (anything a server sent anyway is not read). */
async function noBody(res: Response): Promise<Uint8Array> {
  await res.body?.cancel().catch(() => {});
  return new Uint8Array();
}

/**
 * Whether pflow decodes a compressed body itself: where `fetch` hands it over
 * as sent when asked to (`decompress: false`), as Bun's does. Bun's own
 * decoding prints a bare `Decompression error: ZlibError` line on stderr for
 * a body that is not what its `content-encoding` says, and fails in its own
 * words; pflow's names the coding. Deno's `fetch` has no such option: it
 * decodes a lone gzip or br itself (a bad body fails reading; of several
 * gzip members it keeps the first), and pflow decodes any other coding
 * (`x-gzip`, `deflate`, a list such as `gzip, br`), see {@link readBody}.
 */
const OWN_DECODING = typeof process.versions.bun === "string";

/** See {@link decoders}. */
let decoderFormats: Record<string, string> | undefined;

/**
 * The `DecompressionStream` format of each content coding pflow decodes
 * (`brotli` and `zstd` where the runtime's stream has them, as Bun's has),
 * found at the first request that needs them (not at start-up).
 */
function decoders(): Record<string, string> {
  if (decoderFormats !== undefined) return decoderFormats;
  decoderFormats = { gzip: "gzip", "x-gzip": "gzip", deflate: "deflate" };
  for (const [coding, format] of [["br", "brotli"], ["zstd", "zstd"]]) {
    try {
      new DecompressionStream(format as CompressionFormat);
      decoderFormats[coding] = format;
    } catch { /* not in this runtime: not asked for, and a body sent so anyway fails naming it */ }
  }
  return decoderFormats;
}

/** The `accept-encoding` pflow sends when it decodes bodies itself (and the workflow sets none). */
function acceptEncoding(): string {
  return Object.keys(decoders()).filter((c) => c !== "x-gzip").join(", ");
}

/**
 * Content codings that compress: a body sent so is decoded (see
 * {@link decoders}), or fails naming the coding where pflow cannot. Any other
 * coding a server names (`identity`, `none`, `utf-8`: a charset, misplaced)
 * changes nothing: the body is read as sent, as `fetch` reads it.
 */
const COMPRESSIONS = new Set(["gzip", "x-gzip", "deflate", "br", "zstd", "compress", "x-compress"]);

/**
 * The whole body, decoded by its `content-encoding` (where `fetch` left it
 * encoded), at most `max` bytes: a larger declared `content-length` fails
 * before reading, a longer stream (as sent, and decoded: a small gzip body
 * can decode to gigabytes) at the first chunk past the bound. A body that is
 * not what its `content-encoding` says fails naming it; as browsers and curl
 * read them, `deflate` may be raw deflate (no zlib header), and bytes after a
 * complete gzip member that are not another member (a stray newline) are
 * ignored. `interrupted` tells a read that failed because the request was
 * abandoned.
 */
async function readBody(res: Response, max: number, shown: string, interrupted: () => boolean): Promise<Uint8Array> {
  const encoding = res.headers.get("content-encoding");
  const codings = (encoding ?? "").split(",").map((c) => c.trim().toLowerCase()).filter((c) => COMPRESSIONS.has(c));
  const invalid = (coding: string) =>
    new NodeError(
      `response body of ${shown} is not valid ${coding} (content-encoding: ${shorten(encoding!)})`,
    );
  // Deno's fetch decodes a lone `gzip` or `br` itself (any case), and hands any other body over as sent.
  const fetchDecoded = !OWN_DECODING && /^(gzip|br)$/i.test((encoding ?? "").trim());
  let bytes: Uint8Array;
  try {
    bytes = await readBounded(res.body, max, shown, Number(res.headers.get("content-length") ?? NaN));
  } catch (error) {
    // Deno's fetch decodes while the body is read: a bad body fails the read.
    if (
      error instanceof NodeError || interrupted() || !fetchDecoded ||
      !/gzip|brotli|deflate|zlib|zstd|decompress|inflate|checksum|CRC computed|unexpected end of file|reached unexpected EOF/i
        .test(describeFetchError(error))
    ) throw error;
    throw invalid(codings.at(-1)!);
  }
  if (fetchDecoded || bytes.length === 0) return bytes;
  // Codings apply in the order listed: the last one is undone first.
  for (const coding of codings.toReversed()) {
    let format = decoders()[coding];
    if (format === undefined) {
      throw new NodeError(
        `response body of ${shown} is encoded as ${JSON.stringify(shorten(coding))} (content-encoding), which ` +
          `pflow cannot decode (it decodes ${Object.keys(decoders()).join(", ")}); ask for one of those with an ` +
          `'Accept-Encoding' header`,
      );
    }
    // `deflate` is zlib (RFC 9110), but servers send raw deflate too: without a zlib header, it is read so.
    if (format === "deflate" && !hasZlibHeader(bytes)) format = "deflate-raw";
    const decode = (body: Uint8Array) =>
      readBounded(
        new Blob([body as Uint8Array<ArrayBuffer>]).stream().pipeThrough(
          new DecompressionStream(format as CompressionFormat),
        ),
        max,
        shown,
        NaN,
        interrupted,
      );
    try {
      bytes = await decode(bytes);
    } catch (error) {
      if (error instanceof NodeError || interrupted()) throw error;
      if (format !== "gzip") throw invalid(coding);
      // The stream refuses anything after the last gzip member. Most often that is a newline: without it, the
      // stream reads the body. Otherwise read member by member, the rest ignored.
      const trimmed = withoutTrailingWhitespace(bytes);
      const retried = trimmed.length < bytes.length && trimmed.length > 0
        ? await decode(trimmed).catch((error) => {
          if (error instanceof NodeError || interrupted()) throw error;
          return undefined;
        })
        : undefined;
      const members = retried ?? await gzipMembers(bytes, max, shown, interrupted);
      if (members === undefined) throw invalid(coding);
      bytes = members;
    }
  }
  return bytes;
}

/** `bytes` without the ASCII whitespace (space, tab, CR, LF) they end with. */
function withoutTrailingWhitespace(bytes: Uint8Array): Uint8Array {
  let end = bytes.length;
  while (
    end > 0 &&
    (bytes[end - 1] === 0x0a || bytes[end - 1] === 0x0d || bytes[end - 1] === 0x20 || bytes[end - 1] === 0x09)
  ) {
    end--;
  }
  return bytes.subarray(0, end);
}

/** The error a read abandoned for the request's signal (timed out, interrupted) fails with; the node names why. */
function abandoned(): Error {
  return new DOMException("the read was abandoned", "AbortError");
}

/** Whether `bytes` start as a zlib stream does (RFC 1950): the deflate method, and a header check that holds. */
function hasZlibHeader(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && (bytes[0] & 0x0f) === 8 && (bytes[0] >> 4) <= 7 &&
    ((bytes[0] << 8) | bytes[1]) % 31 === 0;
}

/**
 * The gzip members at the start of `bytes` (RFC 1952), decoded and joined,
 * at most `max` bytes (past it fails as {@link readBounded} does); what
 * follows the last complete member is ignored unless it starts as a member
 * does (then it must be one). Undefined when the first member, or one that
 * follows, is not valid gzip: cut short, or its checksum or size wrong.
 * Millions of tiny members take seconds: the loop yields to the event loop
 * every few milliseconds, and stops (failing as an abandoned read) once
 * `interrupted()` holds (the node's timeout, an interrupt).
 */
async function gzipMembers(
  bytes: Uint8Array,
  max: number,
  shown: string,
  interrupted: () => boolean,
): Promise<Uint8Array | undefined> {
  const zlib = await import("node:zlib");
  const cap = Math.min(max, bufferConstants.MAX_LENGTH);
  // One buffer, grown as members are decoded (never past `max`).
  let joined = new Uint8Array(Math.min(cap, Math.max(64 * 1024, bytes.length * 2)));
  let size = 0;
  let at = 0;
  let lastYield = performance.now();
  do {
    if (performance.now() - lastYield >= 5) {
      await new Promise((resolve) => setImmediate(resolve));
      lastYield = performance.now();
    }
    if (interrupted()) throw abandoned();
    const start = gzipDataStart(bytes, at);
    if (start === undefined) return undefined;
    let out: Buffer;
    let used: number;
    try {
      const result = zlib.inflateRawSync(bytes.subarray(start), {
        info: true,
        maxOutputLength: Math.min(max - size + 1, bufferConstants.MAX_LENGTH),
      });
      ({ buffer: out, engine: { bytesWritten: used } } = result as unknown as {
        buffer: Buffer;
        engine: { bytesWritten: number };
      });
    } catch (error) {
      if ((error as { code?: string }).code === "ERR_BUFFER_TOO_LARGE") throw tooLarge(shown, max);
      return undefined;
    }
    const trailer = start + used;
    if (trailer + 8 > bytes.length) return undefined;
    const view = new DataView(bytes.buffer, bytes.byteOffset + trailer, 8);
    if (view.getUint32(0, true) !== zlib.crc32(out) || view.getUint32(4, true) !== out.length % 2 ** 32) {
      return undefined;
    }
    if (size + out.length > max) throw tooLarge(shown, max);
    if (size + out.length > joined.length) {
      const grown = new Uint8Array(Math.min(cap, Math.max(size + out.length, joined.length * 2)));
      grown.set(joined.subarray(0, size));
      joined = grown;
    }
    joined.set(out, size);
    size += out.length;
    at = trailer + 8;
  } while (at + 1 < bytes.length && bytes[at] === 0x1f && bytes[at + 1] === 0x8b);
  return joined.subarray(0, size);
}

/** Where the compressed data of the gzip member at `at` of `bytes` starts, after its header; undefined if it is not one. */
function gzipDataStart(bytes: Uint8Array, at: number): number | undefined {
  if (at + 10 > bytes.length || bytes[at] !== 0x1f || bytes[at + 1] !== 0x8b || bytes[at + 2] !== 8) return undefined;
  const flags = bytes[at + 3];
  let pos = at + 10;
  if (flags & 0x04) {
    // FEXTRA: a length, then that many bytes.
    if (pos + 2 > bytes.length) return undefined;
    pos += 2 + (bytes[pos] | (bytes[pos + 1] << 8));
  }
  for (const flag of [0x08, 0x10]) {
    // FNAME, FCOMMENT: text ending with a zero byte.
    if (!(flags & flag)) continue;
    const zero = bytes.indexOf(0, pos);
    if (zero < 0) return undefined;
    pos = zero + 1;
  }
  if (flags & 0x02) pos += 2; // FHCRC
  return pos < bytes.length ? pos : undefined;
}

/** The failure of a body longer than `max` bytes (`what`: how it was found to be). */
function tooLarge(shown: string, max: number, what = "was cut off: it is longer than"): NodeError {
  return new NodeError(
    `response body of ${shown} ${what} max_response_bytes (${formatBytes(max)}); ` +
      `raise the node's 'max_response_bytes' param, or fetch less (a range, a page, a filter)`,
  );
}

/**
 * A whole stream, reading no more than `max` bytes: a larger `declared`
 * length fails before reading, a longer stream at the first chunk past the
 * bound (the rest is never read).
 */
async function readBounded(
  stream: ReadableStream<Uint8Array> | null,
  max: number,
  shown: string,
  declared = NaN,
  interrupted: () => boolean = () => false,
): Promise<Uint8Array> {
  if (Number.isFinite(declared) && declared > max) {
    await stream?.cancel().catch(() => {});
    throw tooLarge(shown, max, `is ${formatBytes(declared)} (content-length), more than`);
  }
  if (stream === null) return new Uint8Array();
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    // A stream not tied to the request's signal (a body being decoded) stops here when the request is abandoned.
    if (interrupted()) {
      await reader.cancel().catch(() => {});
      throw abandoned();
    }
    size += value.length;
    if (size > max) {
      await reader.cancel().catch(() => {});
      throw tooLarge(shown, max);
    }
    chunks.push(value);
  }
  const body = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.length;
  }
  return body;
}

/**
 * The body as text, decoded by the content-type's charset (UTF-8 when none
 * is given); bytes not valid in it fail, never becoming U+FFFD: a binary
 * body needs `response_encoding: base64`. With `lenient` (an error page),
 * they become U+FFFD instead (an unknown charset reads as UTF-8), and
 * `replacedIn` names the charset they were not valid in.
 */
function decodeBody(
  bytes: Uint8Array,
  contentType: string | null,
  shown: string,
  options: { lenient: boolean },
): { text: string; replacedIn?: string } {
  const binaryHint = "to get the raw bytes (an image, a download) set the node's 'response_encoding' param to base64";
  const type = contentType ? ` (content-type ${JSON.stringify(shorten(contentType))})` : "";
  const label = charsetOf(contentType);
  let decoder: TextDecoder;
  try {
    decoder = new TextDecoder(label ?? "utf-8", { fatal: true });
  } catch {
    if (options.lenient) return { text: new TextDecoder().decode(bytes), replacedIn: label };
    throw new NodeError(
      `response of ${shown} names an unknown charset ${JSON.stringify(shorten(label!))}${type}; ${binaryHint}`,
    );
  }
  try {
    return { text: decoder.encoding === "utf-8" ? decodeUtf8(bytes) : decoder.decode(bytes) };
  } catch (error) {
    if (decoder.encoding === "utf-8" && !(error instanceof InvalidUtf8Error)) throw error;
    if (options.lenient) {
      return { text: new TextDecoder(decoder.encoding).decode(bytes), replacedIn: label ?? "UTF-8" };
    }
    const what = error instanceof InvalidUtf8Error ? error.message : `not valid ${decoder.encoding}`;
    throw new NodeError(`response body of ${shown} is ${what}${type}; ${binaryHint}`);
  }
}

/** The `charset` parameter of a content type (`text/plain; charset="iso-8859-1"`), or undefined. */
function charsetOf(contentType: string | null): string | undefined {
  for (const part of (contentType ?? "").split(";").slice(1)) {
    const eq = part.indexOf("=");
    if (eq < 0 || part.slice(0, eq).trim().toLowerCase() !== "charset") continue;
    const value = part.slice(eq + 1).trim().replace(/^"(.*)"$/, "$1").trim();
    return value === "" ? undefined : value;
  }
  return undefined;
}

/** True for `application/json`, `application/problem+json`, `text/json`, ... */
function isJson(contentType: string | null): boolean {
  if (!contentType) return false;
  const mime = contentType.split(";")[0].trim().toLowerCase();
  return /^[a-z]+\/([a-z0-9.!#$&^_-]+\+)?json$/.test(mime);
}

/** The method, upper-cased; one that is not a token (`G E T`) fails. */
function checkMethod(raw: string): string {
  const method = raw.trim().toUpperCase();
  if (!/^[A-Z][A-Z0-9_-]*$/.test(method)) {
    throw new NodeError(`invalid HTTP method ${JSON.stringify(raw)}`);
  }
  return method;
}

/** Fails for a method that sends no body (GET, HEAD). */
function checkBodyAllowed(method: string): void {
  if (method === "GET" || method === "HEAD") {
    throw new NodeError(
      `${method} requests cannot have a body (use POST, PUT or PATCH, or send data with 'query')`,
    );
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** Parses the URL and appends the `query` params. */
function buildUrl(
  raw: string,
  query: Record<string, unknown> | undefined,
): URL {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new NodeError(
      `invalid URL: ${JSON.stringify(shorten(raw))} (give an absolute http:// or https:// URL)`,
    );
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new NodeError(
      `unsupported URL scheme '${url.protocol}' in ${displayUrl(url)} (only http:// and https:// are allowed)`,
    );
  }
  for (const [name, value] of Object.entries(query ?? {})) {
    for (const item of Array.isArray(value) ? value : [value]) {
      if (item === undefined || item === null) continue;
      url.searchParams.append(
        name,
        typeof item === "object" ? paramJson(item, `query.${name}`) : String(item),
      );
    }
  }
  return url;
}

/**
 * The request headers. A bad name or value is reported by name only: values
 * may hold secrets.
 */
function buildHeaders(raw: Record<string, unknown> | undefined): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(raw ?? {})) {
    if (value === undefined || value === null) continue;
    const text = typeof value === "object" ? paramJson(value, `headers.${name}`) : String(value);
    try {
      headers.set(name, text);
    } catch {
      throw new NodeError(`invalid header ${JSON.stringify(shorten(name))}: ${headerProblem(name, text)}`);
    }
  }
  return headers;
}

/**
 * Why `Headers` refused a header, naming the first character at fault (and
 * its place) but never the value around it, which may be a secret.
 */
function headerProblem(name: string, value: string): string {
  const token = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
  if (!token.test(name)) {
    return "bad name: a header name is ASCII letters, digits and !#$%&'*+-.^_`|~ (no spaces, ':' or other characters)";
  }
  let position = 0;
  for (const char of value) {
    position++;
    const code = char.codePointAt(0)!;
    const hex = `U+${code.toString(16).toUpperCase().padStart(4, "0")}`;
    if (code === 0x0a || code === 0x0d) {
      return `its value holds a line break (${code === 0x0a ? "\\n" : "\\r"}, ${hex}) at character ${position}; ` +
        "header values cannot contain line breaks";
    }
    if (code === 0) {
      return `its value holds a NUL character (U+0000) at character ${position}, which headers cannot carry`;
    }
    if (code > 0xff) {
      return `its value holds '${char}' (${hex}) at character ${position}, which HTTP headers cannot carry: header ` +
        "values are ISO-8859-1 (Latin-1), best plain ASCII; percent-encode the value (encodeURIComponent) or send " +
        "it in the body";
    }
  }
  return "bad name or value";
}

/**
 * The URL for messages: credentials removed and the values of query params
 * whose names suggest secrets (key, token, ...) masked.
 */
function displayUrl(url: URL): string {
  const copy = new URL(url.href);
  copy.username = "";
  copy.password = "";
  for (const name of new Set(copy.searchParams.keys())) {
    if (/key|token|secret|passw|auth|sig|credential/i.test(name)) {
      copy.searchParams.set(name, "***");
    }
  }
  return shorten(copy.href, 200);
}

function shorten(text: string, max = 80): string {
  return text.length > max ? `${text.slice(0, max - 3)}...` : text;
}

/**
 * Why `fetch` failed, in a few words: connection refused, host not found,
 * ... `reading`: while reading the body, where a connection that ends (a
 * clean close before the length the server declared, or a reset) means the
 * body was cut short.
 */
function describeFetchError(error: unknown, reading = false): string {
  const parts: string[] = [];
  const messages: string[] = []; // outermost first
  for (let e: unknown = error, depth = 0; e && depth < 5; depth++) {
    const err = e as { code?: unknown; message?: unknown; cause?: unknown };
    if (typeof err.code === "string") parts.push(err.code);
    if (typeof err.message === "string") {
      parts.push(err.message);
      messages.push(err.message);
    }
    e = err.cause;
  }
  const all = parts.join(" ");
  if (/ECONNREFUSED|ConnectionRefused|connection refused/i.test(all)) {
    return "connection refused (is the server running, and are host and port right?)";
  }
  if (
    /ENOTFOUND|EAI_AGAIN|EAI_NONAME|dns error|failed to lookup|getaddrinfo|name resolution|could not resolve|DNS/i
      .test(all)
  ) {
    return "host not found (check the host name)";
  }
  if (
    reading &&
    /ECONNRESET|ConnectionReset|connection reset|ConnectionClosed|connection closed|socket closed|error reading a body from connection|unexpected EOF|terminated/i
      .test(all)
  ) {
    return "the connection closed before the whole body arrived";
  }
  if (/ECONNRESET|ConnectionReset|connection reset/i.test(all)) {
    return "connection reset by the server";
  }
  if (/certificate|CERT_|SSL|TLS/i.test(all)) {
    return "TLS/certificate error (check the URL and the server's certificate)";
  }
  // The innermost cause says most ("fetch failed" wraps the real reason).
  const message = messages.at(-1) ?? parts[0] ?? String(error);
  // Deno names the URL (query included) in its messages; it is shown already.
  return message.split("\n")[0].replace(/\s*for url \([^)]*\)/g, "");
}
