/**
 * A minimal OTLP/HTTP collector for tests: a `node:http` server on 127.0.0.1
 * that accepts `POST /v1/traces` (and any other path, recorded as is) with an
 * OTLP/HTTP JSON body and records each request, its headers and its spans.
 * @module
 */
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { gunzipSync } from "node:zlib";

/** An OTLP/JSON AnyValue as received. */
export type AnyValue = {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string | number;
  doubleValue?: number;
  arrayValue?: { values?: AnyValue[] };
  kvlistValue?: { values?: { key: string; value: AnyValue }[] };
};

/** An OTLP/JSON span as received (fields the tests read). */
export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  startTimeUnixNano: string | number;
  endTimeUnixNano: string | number;
  attributes?: { key: string; value: AnyValue }[];
  status?: { code?: number; message?: string };
  flags?: number;
}

/** One span with its resource and scope, attributes decoded to plain values. */
export interface FlatSpan {
  span: ReceivedSpan;
  attributes: Record<string, unknown>;
  resource: Record<string, unknown>;
  scope: { name?: string; version?: string };
}

/** One request the receiver got. */
export interface ReceivedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  /** The decoded body text (gunzipped when gzip). */
  body: string;
  /** The parsed JSON body, or undefined when not JSON. */
  json: unknown;
}

/** A running receiver. */
export interface OtlpReceiver {
  /** Base URL, e.g. `http://127.0.0.1:4318` (no trailing slash). */
  url: string;
  port: number;
  requests: ReceivedRequest[];
  /** Every span of every JSON request, flattened. */
  spans(): FlatSpan[];
  /** Resolves once `n` requests have arrived (rejects after `timeoutMs`). */
  waitForRequests(n: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

/** Options of {@link startOtlpReceiver}. */
export interface ReceiverOptions {
  /** HTTP status to answer with (default 200). */
  status?: number;
  /** Serve HTTPS with this key and certificate (PEM); with `clientCa`, only clients it signed are let in. */
  tls?: { key: string; cert: string; clientCa?: string };
}

/** Decodes an OTLP/JSON AnyValue to a plain value (intValue as number). */
export function decodeAnyValue(value: AnyValue | undefined): unknown {
  if (value === undefined) return undefined;
  if ("stringValue" in value) return value.stringValue;
  if ("boolValue" in value) return value.boolValue;
  if ("intValue" in value) return Number(value.intValue);
  if ("doubleValue" in value) return value.doubleValue;
  if ("arrayValue" in value) return (value.arrayValue?.values ?? []).map(decodeAnyValue);
  if ("kvlistValue" in value) {
    return Object.fromEntries((value.kvlistValue?.values ?? []).map((kv) => [kv.key, decodeAnyValue(kv.value)]));
  }
  return undefined;
}

/** Decodes a KeyValue list to a record. */
export function decodeAttributes(list: { key: string; value: AnyValue }[] | undefined): Record<string, unknown> {
  return Object.fromEntries((list ?? []).map((kv) => [kv.key, decodeAnyValue(kv.value)]));
}

interface TracesBody {
  resourceSpans?: {
    resource?: { attributes?: { key: string; value: AnyValue }[] };
    scopeSpans?: { scope?: { name?: string; version?: string }; spans?: ReceivedSpan[] }[];
  }[];
}

/** Flattens an OTLP/JSON TracesData document. */
export function flattenTraces(body: unknown): FlatSpan[] {
  const out: FlatSpan[] = [];
  for (const rs of (body as TracesBody)?.resourceSpans ?? []) {
    const resource = decodeAttributes(rs.resource?.attributes);
    for (const ss of rs.scopeSpans ?? []) {
      for (const span of ss.spans ?? []) {
        out.push({ span, attributes: decodeAttributes(span.attributes), resource, scope: ss.scope ?? {} });
      }
    }
  }
  return out;
}

/** Starts a receiver on 127.0.0.1 (a free port). */
export function startOtlpReceiver(options: ReceiverOptions = {}): Promise<OtlpReceiver> {
  const requests: ReceivedRequest[] = [];
  const waiters: (() => void)[] = [];
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      let raw: Buffer = Buffer.concat(chunks);
      if (req.headers["content-encoding"] === "gzip") raw = gunzipSync(raw);
      const body = raw.toString("utf8");
      let json: unknown;
      if (String(req.headers["content-type"] ?? "").includes("json")) {
        try {
          json = JSON.parse(body);
        } catch {
          json = undefined;
        }
      }
      requests.push({ method: req.method ?? "", path: req.url ?? "", headers: req.headers, body, json });
      const status = options.status ?? 200;
      res.writeHead(status, { "content-type": "application/json", connection: "close" });
      res.end(status < 300 ? "{}" : JSON.stringify({ code: status, message: "rejected by test receiver" }));
      for (const w of waiters.splice(0)) w();
    });
  };
  const tls = options.tls;
  const server: Server = tls === undefined ? createServer(handle) : createHttpsServer({
    key: tls.key,
    cert: tls.cert,
    ...(tls.clientCa ? { ca: tls.clientCa, requestCert: true, rejectUnauthorized: true } : {}),
  }, handle) as unknown as Server;
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as AddressInfo).port;
      resolve({
        url: `${tls === undefined ? "http" : "https"}://127.0.0.1:${port}`,
        port,
        requests,
        spans: () => requests.flatMap((r) => flattenTraces(r.json)),
        waitForRequests(n, timeoutMs = 5000) {
          return new Promise((ok, fail) => {
            const timer = setTimeout(
              () => fail(new Error(`expected ${n} requests, got ${requests.length}`)),
              timeoutMs,
            );
            const check = () => {
              if (requests.length >= n) {
                clearTimeout(timer);
                ok();
              } else waiters.push(check);
            };
            check();
          });
        },
        close: () =>
          new Promise<void>((done) => {
            server.closeAllConnections?.();
            server.close(() => done());
          }),
      });
    });
  });
}

/** A port on 127.0.0.1 that nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
