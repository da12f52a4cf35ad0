/**
 * `pflow metrics serve`: `/metrics` computed from the ledger per scrape
 * (cached for a second, so bursts of scrapes cost one computation) and
 * `/healthz`, on 127.0.0.1 unless told otherwise; SIGINT/SIGTERM close it.
 * @module
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { LedgerStore, type ReadLedger } from "../ledger/store.ts";
import { collectMetrics } from "./collect.ts";
import { CONTENT_TYPE, type ExpositionFormat, renderExposition } from "./exposition.ts";

/** Where to listen. */
export interface ListenAddress {
  host: string;
  port: number;
}

/** The default address: loopback, and the port of OpenTelemetry's Prometheus exporter (9464). */
export const DEFAULT_LISTEN: ListenAddress = { host: "127.0.0.1", port: 9464 };

/** How long a computed scrape is served again. */
export const CACHE_MS = 1000;

/** Parses `--listen`: `HOST:PORT`, `[IPv6]:PORT`, or `PORT` (on 127.0.0.1); undefined when malformed. */
export function parseListen(text: string): ListenAddress | undefined {
  const m = /^(?:(\[[0-9A-Fa-f:.]+\]|[^:\s[\]]+):)?(\d{1,5})$/.exec(text.trim());
  if (m === null) return undefined;
  const port = Number(m[2]);
  if (port > 65535) return undefined;
  const host = m[1] === undefined ? DEFAULT_LISTEN.host : m[1].replace(/^\[|\]$/g, "");
  return { host, port };
}

/** The media type and version of each format this server produces; the first wins a full tie (any type). */
const OFFERED: { format: ExpositionFormat; type: string; version: string }[] = [
  { format: "prometheus", type: "text/plain", version: "0.0.4" },
  { format: "openmetrics", type: "application/openmetrics-text", version: "1.0.0" },
];

/** One media range of an Accept header. */
interface MediaRange {
  type: string;
  subtype: string;
  version: string | undefined;
  q: number;
}

function parseAccept(header: string): MediaRange[] {
  const ranges: MediaRange[] = [];
  for (const part of header.split(",")) {
    const [media, ...params] = part.split(";").map((p) => p.trim());
    const m = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+)\/([!#$%&'*+.^_`|~0-9A-Za-z-]+)$/.exec(media);
    if (m === null) continue;
    let q = 1;
    let version: string | undefined;
    let valid = true;
    for (const param of params) {
      const eq = param.indexOf("=");
      if (eq < 0) continue;
      const name = param.slice(0, eq).trim().toLowerCase();
      const value = param.slice(eq + 1).trim().replace(/^"(.*)"$/, "$1");
      if (name === "q") {
        // RFC 9110 weight: 0 to 1, at most three decimals; anything else makes the range unusable.
        valid = /^(0(\.\d{0,3})?|1(\.0{0,3})?)$/.test(value);
        q = Number(value);
      } else if (name === "version") version = value;
    }
    if (valid) ranges.push({ type: m[1].toLowerCase(), subtype: m[2].toLowerCase(), version, q });
  }
  return ranges;
}

/**
 * The exposition format for an `Accept` header (RFC 9110 content
 * negotiation): for each format the most specific matching media range
 * gives its weight (a range naming a version applies only to that version;
 * `q=0` means not acceptable); the highest weight wins, a tie goes to the
 * more specific match, then to the range listed first. When nothing we
 * produce is acceptable, or nothing is asked, the Prometheus text format.
 */
export function negotiateFormat(accept: string | string[] | undefined): ExpositionFormat {
  const ranges = parseAccept(Array.isArray(accept) ? accept.join(",") : accept ?? "");
  let best: { format: ExpositionFormat; q: number; specificity: number; position: number } | undefined;
  for (const offer of OFFERED) {
    const [type, subtype] = offer.type.split("/");
    let match: { q: number; specificity: number; position: number } | undefined;
    ranges.forEach((range, position) => {
      let specificity: number;
      if (range.type === type && range.subtype === subtype) {
        if (range.version !== undefined && range.version !== offer.version) return;
        specificity = range.version === undefined ? 2 : 3;
      } else if (range.type === type && range.subtype === "*") specificity = 1;
      else if (range.type === "*" && range.subtype === "*") specificity = 0;
      else return;
      if (match === undefined || specificity > match.specificity) match = { q: range.q, specificity, position };
    });
    if (match === undefined || match.q <= 0) continue;
    const better = best === undefined || match.q > best.q ||
      (match.q === best.q && (match.specificity > best.specificity ||
        (match.specificity === best.specificity && match.position < best.position)));
    if (better) best = { format: offer.format, ...match };
  }
  return best?.format ?? "prometheus";
}

/** Options of {@link serveMetrics}. */
export interface ServeOptions {
  home: string;
  listen: ListenAddress;
  /** Told the address once listening. */
  onListening: (url: string) => void;
  /** Told each failed scrape. */
  warn: (message: string) => void;
  /** Stops the server (SIGINT/SIGTERM). */
  signal: AbortSignal;
}

/** Serves until `options.signal` aborts; rejects when the address cannot be bound. */
export async function serveMetrics(options: ServeOptions): Promise<void> {
  // A ledger that cannot be written is read from a copy in memory, made again each scrape (and the ledger
  // written again once it can be): its warnings, the same each time, are told once.
  const told = new Set<string>();
  let noticed = false; // the notice of a copy: told once, until the ledger can be written again
  const tell = (opened: ReadLedger) => {
    if (!opened.store.copy) noticed = false;
    else if (opened.notice !== undefined && !noticed) {
      noticed = true;
      options.warn(`ledger: ${opened.notice}`);
    }
    for (const warning of opened.warnings) {
      if (opened.store.copy && told.has(warning)) continue;
      if (opened.store.copy && told.size < 1000) told.add(warning);
      options.warn(`ledger: ${warning}`);
    }
  };
  let ledger = LedgerStore.openForReading(options.home);
  tell(ledger);
  const cache: Partial<Record<ExpositionFormat, { at: number; text: string }>> = {};
  const scrape = (format: ExpositionFormat): string => {
    const hit = cache[format];
    if (hit !== undefined && performance.now() - hit.at < CACHE_MS) return hit.text;
    // Folds the inbox; a run whose process is gone no longer counts as in progress.
    ledger = LedgerStore.reread(ledger, options.home);
    tell(ledger);
    const text = renderExposition(collectMetrics(ledger.store.db), format);
    cache[format] = { at: performance.now(), text };
    return text;
  };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD", "content-type": "text/plain; charset=utf-8" });
      res.end("method not allowed\n");
      return;
    }
    if (path === "/healthz") {
      res.writeHead(200, { "content-type": "text/plain; charset=utf-8" });
      res.end(req.method === "HEAD" ? undefined : "ok\n");
      return;
    }
    if (path !== "/metrics") {
      res.writeHead(404, { "content-type": "text/plain; charset=utf-8" });
      res.end("not found: try /metrics or /healthz\n");
      return;
    }
    const format = negotiateFormat(req.headers.accept);
    let body: string;
    try {
      body = scrape(format);
    } catch (error) {
      const message = String((error as Error)?.message ?? error).split("\n")[0];
      options.warn(`scrape failed: ${message}`);
      res.writeHead(500, { "content-type": "text/plain; charset=utf-8" });
      res.end(`scrape failed: ${message}\n`);
      return;
    }
    res.writeHead(200, { "content-type": CONTENT_TYPE[format], vary: "Accept" });
    res.end(req.method === "HEAD" ? undefined : body);
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(options.listen.port, options.listen.host, () => resolve());
    });
    const address = server.address() as AddressInfo;
    const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
    options.onListening(`http://${host}:${address.port}/metrics`);
    await new Promise<void>((resolve) => {
      if (options.signal.aborted) return resolve();
      options.signal.addEventListener("abort", () => resolve(), { once: true });
    });
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections?.();
    });
  } finally {
    ledger.store.close();
  }
}
