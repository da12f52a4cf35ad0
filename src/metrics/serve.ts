/**
 * `pflow metrics serve`: `/metrics` computed from the ledger per scrape
 * (cached for a second, so bursts of scrapes cost one computation) and
 * `/healthz`, on 127.0.0.1 unless told otherwise; SIGINT/SIGTERM close it.
 * @module
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { LedgerStore } from "../ledger/store.ts";
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
  const { store, warnings } = LedgerStore.open(options.home);
  for (const warning of warnings) options.warn(`ledger: ${warning}`);
  const cache: Partial<Record<ExpositionFormat, { at: number; text: string }>> = {};
  const scrape = (format: ExpositionFormat): string => {
    const hit = cache[format];
    if (hit !== undefined && performance.now() - hit.at < CACHE_MS) return hit.text;
    for (const warning of store.foldInbox(options.home)) options.warn(`ledger: ${warning}`);
    const text = renderExposition(collectMetrics(store.db), format);
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
    const format: ExpositionFormat = /application\/openmetrics-text/.test(String(req.headers.accept ?? ""))
      ? "openmetrics"
      : "prometheus";
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
    res.writeHead(200, { "content-type": CONTENT_TYPE[format] });
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
    store.close();
  }
}
