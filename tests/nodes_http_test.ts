/**
 * Tests of the `http` node against a real local server on 127.0.0.1.
 * @module
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { type AddressInfo, createServer as createTcpServer, type Socket } from "node:net";
import { brotliCompressSync, deflateRawSync, deflateSync, gzipSync } from "node:zlib";
import { InterruptedError, type Shared } from "../src/engine/mod.ts";
import { NodeError } from "../src/nodes/spec.ts";
import { HttpNode } from "../src/nodes/http.ts";
import { runPflow, workflow, writeWorkflow } from "./support/cli.ts";
import { assertExit, explain, runAndSignal, runGuarded, withHome } from "./support/e2e.ts";

/** The first bytes of a PNG file: not valid UTF-8 (0x89 first). */
const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0xff]);

interface Seen {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** Routes of the test server; every request is recorded in `seen`. */
function handler(seen: Seen[], pending: Set<() => void>) {
  return (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Uint8Array[] = [];
    req.on("data", (c: Uint8Array) => chunks.push(c));
    req.on("end", () => {
      const body = new TextDecoder().decode(
        chunks.length ? new Uint8Array(chunks.flatMap((c) => [...c])) : new Uint8Array(),
      );
      const entry = { method: req.method!, url: req.url!, headers: req.headers, body };
      seen.push(entry);
      const path = new URL(req.url!, "http://x").pathname;
      const send = (status: number, type: string, text: string, extra = {}) => {
        res.writeHead(status, { "content-type": type, ...extra });
        res.end(text);
      };
      switch (path) {
        case "/json":
          return send(200, "application/json; charset=utf-8", '{"hello":"world","n":[1,2]}', {
            "X-Custom-Header": "Value",
          });
        case "/text":
          return send(200, "text/plain; charset=utf-8", "plain text ✓");
        case "/latin1":
          res.writeHead(200, { "content-type": 'text/plain; charset="ISO-8859-1"' });
          return res.end(Buffer.from([0x63, 0x61, 0x66, 0xe9]));
        case "/utf16":
          res.writeHead(200, { "content-type": "application/json; charset=utf-16le" });
          return res.end(Buffer.from('{"word":"café ✓"}', "utf16le"));
        case "/png":
          res.writeHead(200, { "content-type": "image/png" });
          return res.end(PNG);
        case "/redirect": {
          const query = new URL(req.url!, "http://x").searchParams;
          res.writeHead(Number(query.get("status") ?? 302), { location: query.get("to")! });
          return res.end("moved");
        }
        case "/loop":
          res.writeHead(302, { location: "/loop" });
          return res.end();
        case "/cookies":
          res.setHeader("set-cookie", ["a=1; Expires=Wed, 21 Oct 2026 07:28:00 GMT; Path=/", "b=2"]);
          res.setHeader("x-many", ["one", "two"]);
          return res.end("ok");
        case "/unknown-charset":
          res.writeHead(200, { "content-type": "text/plain; charset=x-no-such" });
          return res.end("abc");
        case "/odd-utf16": {
          // Three bytes: '<' and half a UTF-16 code unit, not valid UTF-16LE.
          const status = Number(new URL(req.url!, "http://x").searchParams.get("status") ?? 200);
          res.writeHead(status, { "content-type": "text/html; charset=utf-16le" });
          return res.end(Buffer.from([0x3c, 0x00, 0xe9]));
        }
        case "/error-page": {
          // An error page whose bytes are not UTF-8 (Latin-1 'é'), or that names a charset nobody knows.
          const odd = new URL(req.url!, "http://x").searchParams.get("charset") === "odd";
          res.writeHead(404, { "content-type": odd ? "text/html; charset=x-no-such" : "text/html" });
          return res.end(Buffer.from([0x3c, 0x70, 0x3e, 0xe9, 0x3c, 0x2f, 0x70, 0x3e]));
        }
        case "/echo":
          return send(200, "application/json", JSON.stringify(entry));
        case "/problem":
          return send(
            422,
            "application/problem+json",
            '{"title":"bad input","status":422}',
          );
        case "/vendor":
          return send(200, "application/vnd.api+json", '{"data":[]}');
        case "/bigint":
          return send(
            200,
            "application/json",
            '{"id": 1234567890123456789, "id_str": "1234567890123456789", "small": 12345, "items": [{"n": 0.1}, ' +
              '{"n": 9007199254740993}]}',
          );
        case "/badjson":
          return send(200, "application/json", "{not json");
        case "/empty":
          res.writeHead(204);
          return res.end();
        case "/huge": {
          // Declares 5 GB: only a HEAD request, or a 304 or 204 status, gets no body (none is sent).
          const status = Number(new URL(req.url!, "http://x").searchParams.get("status") ?? 200);
          res.writeHead(status, { "content-type": "application/octet-stream", "content-length": "5000000000" });
          return res.end();
        }
        case "/gzip": {
          // `?as=` the content coding (the body compressed by it; `bad`: bytes that are not); `?size=` a body of
          // that many zero bytes (a bomb: small compressed); `?asked`: compressed only when accept-encoding asks.
          const query = new URL(req.url!, "http://x").searchParams;
          const as = query.get("as") ?? "gzip";
          const size = query.get("size");
          const text = size === null ? Buffer.from('{"packed":true}') : Buffer.alloc(Number(size));
          const asked = query.has("asked") ? String(req.headers["accept-encoding"] ?? "").includes("gzip") : true;
          if (!asked) return send(200, "application/json", text.toString());
          // `?raw`: deflate without its zlib header; `?tail=`: bytes after the compressed ones (`gzip`: a gzip
          // member's, `gzip-cut` one cut short); `?cut=`: that many bytes short.
          const tail = query.get("tail") ?? "";
          // A list (`gzip, br`) applies each in order; `?crc`: the gzip checksum wrong.
          const pack = (body: Buffer, coding: string): Buffer =>
            coding === "identity"
              ? body
              : coding === "deflate"
              ? query.has("raw") ? deflateRawSync(body) : deflateSync(body)
              : coding === "br"
              ? brotliCompressSync(body)
              : gzipSync(body);
          const packed = query.has("bad")
            ? Buffer.from("this is not compressed at all")
            : as.split(",").map((c) => c.trim().toLowerCase()).reduce(pack, text);
          if (query.has("crc")) packed[packed.length - 6] ^= 0xff;
          const sent = Buffer.concat([
            packed.subarray(0, packed.length - Number(query.get("cut") ?? 0)),
            tail === "gzip"
              ? gzipSync('{"more":1}')
              : tail === "gzip-cut"
              ? gzipSync('{"more":1}').subarray(0, -3)
              : Buffer.from(tail),
          ]);
          res.writeHead(Number(query.get("status") ?? 200), {
            "content-type": size === null ? "application/json" : "application/octet-stream",
            "content-encoding": as,
          });
          return res.end(sent);
        }
        case "/members": {
          // `?n=` gzip members of ten 'x' each, then `?tail=` (a newline, junk).
          const query = new URL(req.url!, "http://x").searchParams;
          res.writeHead(200, { "content-type": "text/plain", "content-encoding": "gzip" });
          return res.end(gzipMembersBody(Number(query.get("n")), query.get("tail") ?? ""));
        }
        case "/coded": {
          // A plain body under the content-encoding `?as=` names (not a compression: a charset, `none`).
          res.writeHead(200, {
            "content-type": "application/json",
            "content-encoding": new URL(req.url!, "http://x").searchParams.get("as")!,
          });
          return res.end('{"plain":true}');
        }
        case "/404":
          return send(404, "application/json", '{"error":"not found"}');
        case "/500":
          return send(500, "text/plain", "internal failure");
        case "/500-secret":
          return send(500, "text/plain", body); // the request's body back
        case "/slow": {
          // Never answers on its own; the test's cleanup ends it.
          const end = () => res.destroy();
          pending.add(end);
          res.on("close", () => pending.delete(end));
          return;
        }
        case "/slowbody": {
          res.writeHead(200, { "content-type": "text/plain" });
          res.write("partial...");
          const end = () => res.destroy();
          pending.add(end);
          res.on("close", () => pending.delete(end));
          return;
        }
        default:
          return send(404, "text/plain", "no route");
      }
    });
  };
}

/** See the `/members` route; the last body is kept (a big one takes a while to build). */
let membersBody: { key: string; body: Buffer } | undefined;
function gzipMembersBody(n: number, tail: string): Buffer {
  const key = `${n} ${tail}`;
  if (membersBody?.key !== key) {
    const member = gzipSync("x".repeat(10));
    const body = Buffer.alloc(member.length * n + tail.length);
    for (let i = 0; i < n; i++) member.copy(body, i * member.length);
    body.write(tail, member.length * n, "latin1");
    membersBody = { key, body };
  }
  return membersBody.body;
}

/** Runs `fn` with a server on 127.0.0.1; closes it afterwards. */
async function withServer(
  fn: (base: string, seen: Seen[]) => Promise<void>,
): Promise<void> {
  const seen: Seen[] = [];
  const pending = new Set<() => void>();
  const server: Server = createServer(handler(seen, pending));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  try {
    await fn(`http://127.0.0.1:${port}`, seen);
  } finally {
    for (const end of pending) end();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

async function runHttp(
  params: Record<string, unknown>,
  signal?: AbortSignal,
  warnings: string[] = [],
): Promise<{ action: string | undefined; shared: Shared }> {
  const node = new HttpNode();
  node.params = params;
  const shared: Shared = {};
  const action = await node.run(shared, { signal, warn: (m) => warnings.push(m) });
  return { action, shared };
}

function nodeError(pattern: RegExp) {
  return (e: Error) => {
    assert.ok(e instanceof NodeError, `expected NodeError, got ${e.name}: ${e.message}`);
    assert.match(e.message, pattern);
    return true;
  };
}

Deno.test("http: GET parses a JSON response", async () => {
  await withServer(async (base, seen) => {
    const { action, shared } = await runHttp({ url: `${base}/json` });
    assert.equal(action, "default");
    assert.deepEqual(shared.response, { hello: "world", n: [1, 2] });
    assert.equal(shared.status_code, 200);
    const headers = shared.response_headers as Record<string, string>;
    assert.equal(headers["content-type"], "application/json; charset=utf-8");
    assert.equal(headers["x-custom-header"], "Value");
    assert.ok(!("X-Custom-Header" in headers));
    assert.equal(typeof shared.duration_ms, "number");
    assert.ok(Number.isInteger(shared.duration_ms) && (shared.duration_ms as number) >= 0);
    assert.deepEqual(
      Object.keys(shared).sort(),
      Object.keys(HttpNode.spec.outputs).sort(),
    );
    assert.equal(seen[0].method, "GET");
  });
});

Deno.test("http: a HEAD request, a 304 and a 204 have no body: a large content-length is not too large", async () => {
  await withServer(async (base) => {
    const head = await runHttp({ url: `${base}/huge`, method: "HEAD", max_response_bytes: 1000 });
    assert.equal(head.action, "default");
    assert.equal(head.shared.status_code, 200);
    assert.equal(head.shared.response, "");
    assert.equal((head.shared.response_headers as Record<string, string>)["content-length"], "5000000000");
    for (const status of [304, 204]) {
      const { action, shared } = await runHttp({ url: `${base}/huge?status=${status}`, max_response_bytes: 1000 });
      assert.equal(action, "default");
      assert.equal(shared.status_code, status);
      assert.equal(shared.response, "");
    }
  });
});

Deno.test("http: a text response stays text", async () => {
  await withServer(async (base) => {
    const { action, shared } = await runHttp({ url: `${base}/text` });
    assert.equal(action, "default");
    assert.equal(shared.response, "plain text ✓");
  });
});

Deno.test("http: text is decoded by the content-type's charset", async () => {
  await withServer(async (base) => {
    assert.equal((await runHttp({ url: `${base}/latin1` })).shared.response, "café");
    assert.deepEqual((await runHttp({ url: `${base}/utf16` })).shared.response, { word: "café ✓" });
  });
});

Deno.test("http: a binary body fails pointing to response_encoding, or comes back as base64", async () => {
  await withServer(async (base) => {
    await assert.rejects(
      runHttp({ url: `${base}/png` }),
      nodeError(
        /^response body of GET http:\/\/127\.0\.0\.1:\d+\/png is not valid UTF-8: byte 0x89 at byte offset 0 \(content-type "image\/png"\); .*set the node's 'response_encoding' param to base64$/,
      ),
    );
    const { action, shared } = await runHttp({ url: `${base}/png`, response_encoding: "base64" });
    assert.equal(action, "default");
    assert.equal(shared.response, PNG.toString("base64"));
    const latin1 = await runHttp({ url: `${base}/latin1`, response_encoding: "base64" });
    assert.equal(latin1.shared.response, "Y2Fm6Q==");
    const json = await runHttp({ url: `${base}/json`, response_encoding: "base64" });
    assert.equal(Buffer.from(json.shared.response as string, "base64").toString(), '{"hello":"world","n":[1,2]}');
  });
});

Deno.test("http: an unknown charset fails naming it", async () => {
  await withServer(async (base) => {
    await assert.rejects(
      runHttp({ url: `${base}/unknown-charset` }),
      nodeError(/names an unknown charset "x-no-such" \(content-type "text\/plain; charset=x-no-such"\); .*base64$/),
    );
  });
});

Deno.test("http: an error status takes the error action even when its body cannot be decoded (read leniently, warned)", async () => {
  await withServer(async (base) => {
    for (const query of ["", "?charset=odd"]) {
      const warnings: string[] = [];
      const { action, shared } = await runHttp({ url: `${base}/error-page${query}` }, undefined, warnings);
      assert.equal(action, "error", query);
      assert.equal(shared.status_code, 404);
      assert.equal(shared.response, "<p>\uFFFD</p>");
      assert.equal(warnings.length, 1, JSON.stringify(warnings));
      assert.match(
        warnings[0],
        /^GET http:\/\/127\.0\.0\.1:\d+\/error-page\S*: the HTTP 404 page is not valid (UTF-8|x-no-such) \(or its charset is unknown\); read with replacement characters$/,
      );
    }
  });
});

Deno.test("http: bytes not valid in a charset other than UTF-8 fail the node, and an error page reads them as U+FFFD", async () => {
  await withServer(async (base) => {
    await assert.rejects(
      runHttp({ url: `${base}/odd-utf16` }),
      nodeError(
        /^response body of GET http:\/\/127\.0\.0\.1:\d+\/odd-utf16 is not valid utf-16le \(content-type "text\/html; charset=utf-16le"\); .*base64$/,
      ),
    );
    const warnings: string[] = [];
    const { action, shared } = await runHttp({ url: `${base}/odd-utf16?status=500` }, undefined, warnings);
    assert.equal(action, "error");
    assert.equal(shared.response, "<\uFFFD");
    assert.deepEqual(warnings.map((w) => w.replace(/:\d+\//, ":PORT/")), [
      "GET http://127.0.0.1:PORT/odd-utf16?status=500: the HTTP 500 page is not valid utf-16le (or its charset is " +
      "unknown); read with replacement characters",
    ]);
  });
});

Deno.test("http: every Set-Cookie is kept, as a list; other repeated headers are joined", async () => {
  await withServer(async (base) => {
    const headers = (await runHttp({ url: `${base}/cookies` })).shared.response_headers as Record<string, unknown>;
    assert.deepEqual(headers["set-cookie"], ["a=1; Expires=Wed, 21 Oct 2026 07:28:00 GMT; Path=/", "b=2"]);
    assert.equal(headers["x-many"], "one, two");
  });
});

/** A URL of `base` that redirects to `to` with `status`. */
function redirect(base: string, to: string, status = 302): string {
  return `${base}/redirect?${new URLSearchParams({ to, status: String(status) })}`;
}

const CREDENTIALS = {
  Authorization: "Bearer tok-123456789",
  Cookie: "sid=abc",
  "X-Api-Key": "key-123456789",
  "X-Session-Token": "sess-123456789",
  "Proxy-Authorization": "Basic eDp5",
};

Deno.test("http: a redirect to another origin drops every credential header, Authorization and secret-named ones", async () => {
  await withServer(async (first, seenFirst) => {
    await withServer(async (other, seenOther) => {
      const headers = { ...CREDENTIALS, "X-Trace": "keep-me" };
      const { shared } = await runHttp({ url: redirect(first, `${other}/echo`), headers });
      assert.equal(shared.status_code, 200);
      assert.equal(seenFirst[0].headers["x-api-key"], "key-123456789", "the first origin gets them");
      const arrived = seenOther[0].headers;
      for (const name of Object.keys(CREDENTIALS)) assert.equal(arrived[name.toLowerCase()], undefined, name);
      assert.equal(arrived["x-trace"], "keep-me");
    });
  });
});

Deno.test("http: a redirect within one origin keeps the headers", async () => {
  await withServer(async (base, seen) => {
    await runHttp({ url: redirect(base, "/echo", 307), headers: CREDENTIALS });
    assert.equal(seen[1].url, "/echo");
    for (const [name, value] of Object.entries(CREDENTIALS)) assert.equal(seen[1].headers[name.toLowerCase()], value);
  });
});

Deno.test("http: 303 (and 301/302 after a POST) become a GET without the body; 307 and 308 keep both", async () => {
  await withServer(async (base, seen) => {
    const cases: [number, string, string][] = [
      [303, "GET", ""],
      [302, "GET", ""],
      [301, "GET", ""],
      [307, "PUT", '{"a":1}'],
      [308, "POST", '{"a":1}'],
    ];
    for (const [status, method, body] of cases) {
      seen.length = 0;
      const sent = status === 307 ? "PUT" : "POST";
      await runHttp({ url: redirect(base, "/echo", status), method: sent, body: { a: 1 } });
      assert.deepEqual([seen[1].method, seen[1].body], [method, body], `${status}`);
      assert.equal(seen[1].headers["content-type"], body ? "application/json" : undefined, `${status}`);
    }
    seen.length = 0;
    await runHttp({ url: redirect(base, "/echo", 302), method: "PUT", body: "x" });
    assert.deepEqual([seen[1].method, seen[1].body], ["PUT", "x"], "302 keeps a PUT");
  });
});

Deno.test("http: a redirect loop fails after 20 redirects", async () => {
  await withServer(async (base, seen) => {
    await assert.rejects(
      runHttp({ url: `${base}/loop` }),
      nodeError(/^request failed: GET http:\/\/127\.0\.0\.1:\d+\/loop: more than 20 redirects \(a redirect loop\?\)/),
    );
    assert.equal(seen.length, 21);
  });
});

Deno.test("http: a null body (a template resolving to null) sends no body", async () => {
  await withServer(async (base, seen) => {
    const { action } = await runHttp({ url: `${base}/echo`, body: null });
    assert.equal(action, "default");
    assert.deepEqual([seen[0].method, seen[0].body, seen[0].headers["content-type"]], ["GET", "", undefined]);
  });
});

Deno.test("http: +json content types are parsed", async () => {
  await withServer(async (base) => {
    const vendor = await runHttp({ url: `${base}/vendor` });
    assert.deepEqual(vendor.shared.response, { data: [] });
    const problem = await runHttp({ url: `${base}/problem` });
    assert.equal(problem.action, "error");
    assert.equal(problem.shared.status_code, 422);
    assert.deepEqual(problem.shared.response, { title: "bad input", status: 422 });
  });
});

Deno.test("http: invalid JSON is kept as text with a warning", async () => {
  await withServer(async (base) => {
    const warnings: string[] = [];
    const { action, shared } = await runHttp({ url: `${base}/badjson` }, undefined, warnings);
    assert.equal(action, "default");
    assert.equal(shared.response, "{not json");
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /does not parse/);
  });
});

Deno.test("http: numbers of a JSON body that a number cannot hold exactly are warned about, once per node a run", async () => {
  await withServer(async (base) => {
    const warnings: string[] = [];
    const node = new HttpNode();
    node.params = { url: `${base}/bigint` };
    // One run's warn (a loop running the node again, or a clone of it as a batch item does): said once.
    const warn = (m: string) => warnings.push(m);
    for (const runner of [node, node, node.clone()]) {
      const shared: Shared = {};
      await runner.run(shared, { warn });
      // The value is what JSON.parse makes of it (types unchanged); the warning says so.
      assert.equal((shared.response as { id: number }).id, 1234567890123456800);
    }
    assert.equal(warnings.length, 1, JSON.stringify(warnings));
    assert.match(
      warnings[0],
      /^GET http:\/\/127\.0\.0\.1:\d+\/bigint: response\.id 1234567890123456789 cannot be held exactly by a JSON number here; it reads as 1234567890123456800 \(1 more number too\); use the API's string form of it \(e\.g\. id_str\) where there is one$/,
    );
    // Another run (another warn) warns again.
    await node.run({}, { warn });
    await node.run({}, { warn: (m) => warnings.push(m) });
    assert.equal(warnings.length, 2, JSON.stringify(warnings));
    // A body whose numbers all fit: no warning.
    const quiet: string[] = [];
    await runHttp({ url: `${base}/json` }, undefined, quiet);
    assert.deepEqual(quiet, []);
  });
});

Deno.test("binary: a batch over an http node warns about a number its responses cannot hold once, not once per item", async () => {
  await withServer(async (base) => {
    await withHome(async (dir, env) => {
      const file = writeWorkflow(
        dir,
        "batch.json",
        workflow([{
          id: "get",
          type: "http",
          params: { url: `${base}/bigint`, query: { item: "\${item}" } },
          batch: { items: [1, 2, 3, 4, 5] },
        }], { outputs: { count: { source: "\${get.count}" } } }),
      );
      const result = await runPflow(["run", file], { env });
      assertExit(result, 0);
      assert.equal(result.stdout.trim(), "5");
      const lines = result.stderr.trimEnd().split("\n");
      assert.equal(lines.length, 1, explain(result));
      assert.match(
        lines[0],
        /^warning: GET http:\/\/127\.0\.0\.1:\d+\/bigint\?item=1: response\.id 1234567890123456789 /,
      );
      // Each run warns: a second run of the same file says it again.
      const again = await runPflow(["run", file], { env });
      assertExit(again, 0);
      assert.equal(again.stderr.trimEnd().split("\n").length, 1, explain(again));
    });
  });
});

Deno.test("http: an empty 204 response is an empty string", async () => {
  await withServer(async (base) => {
    const { action, shared } = await runHttp({ url: `${base}/empty`, method: "DELETE" });
    assert.equal(action, "default");
    assert.equal(shared.status_code, 204);
    assert.equal(shared.response, "");
  });
});

Deno.test("http: query params are appended to the URL", async () => {
  await withServer(async (base, seen) => {
    await runHttp({
      url: `${base}/echo?keep=1`,
      query: { q: "a b&c", n: 5, flag: true, tags: ["x", "y"], skip: null },
    });
    const url = new URL(seen[0].url, base);
    assert.equal(url.searchParams.get("keep"), "1");
    assert.equal(url.searchParams.get("q"), "a b&c");
    assert.equal(url.searchParams.get("n"), "5");
    assert.equal(url.searchParams.get("flag"), "true");
    assert.deepEqual(url.searchParams.getAll("tags"), ["x", "y"]);
    assert.equal(url.searchParams.has("skip"), false);
  });
});

Deno.test("http: POST with an object body sends JSON and content-type", async () => {
  await withServer(async (base, seen) => {
    const body = { name: "pflow", items: [1, 2, 3] };
    const { action, shared } = await runHttp({ url: `${base}/echo`, method: "post", body });
    assert.equal(action, "default");
    assert.equal(seen[0].method, "POST");
    assert.equal(seen[0].headers["content-type"], "application/json");
    assert.deepEqual(JSON.parse(seen[0].body), body);
    assert.equal((shared.response as Seen).method, "POST");
  });
});

Deno.test("http: an array body is JSON too", async () => {
  await withServer(async (base, seen) => {
    await runHttp({ url: `${base}/echo`, method: "PUT", body: [1, "two"] });
    assert.equal(seen[0].headers["content-type"], "application/json");
    assert.equal(seen[0].body, '[1,"two"]');
  });
});

Deno.test("http: a string body is sent as is; a set content-type is kept", async () => {
  await withServer(async (base, seen) => {
    await runHttp({
      url: `${base}/echo`,
      method: "POST",
      body: "a=1&b=2",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
    });
    assert.equal(seen[0].body, "a=1&b=2");
    assert.equal(seen[0].headers["content-type"], "application/x-www-form-urlencoded");
    await runHttp({
      url: `${base}/echo`,
      method: "POST",
      body: { x: 1 },
      headers: { "content-type": "application/vnd.custom+json" },
    });
    assert.equal(seen[1].headers["content-type"], "application/vnd.custom+json");
    assert.equal(seen[1].body, '{"x":1}');
  });
});

Deno.test("http: custom headers arrive", async () => {
  await withServer(async (base, seen) => {
    await runHttp({
      url: `${base}/echo`,
      headers: { Authorization: "Bearer abc", "X-Count": 3 },
    });
    assert.equal(seen[0].headers["authorization"], "Bearer abc");
    assert.equal(seen[0].headers["x-count"], "3");
  });
});

Deno.test("http: 404 writes outputs and returns error", async () => {
  await withServer(async (base) => {
    const { action, shared } = await runHttp({ url: `${base}/404` });
    assert.equal(action, "error");
    assert.equal(shared.status_code, 404);
    assert.deepEqual(shared.response, { error: "not found" });
    assert.equal(typeof shared.response_headers, "object");
  });
});

Deno.test("http: 500 writes outputs and returns error", async () => {
  await withServer(async (base) => {
    const { action, shared } = await runHttp({ url: `${base}/500`, method: "POST", body: "x" });
    assert.equal(action, "error");
    assert.equal(shared.status_code, 500);
    assert.equal(shared.response, "internal failure");
  });
});

Deno.test("http: timeout is a NodeError naming method and URL, not secrets", async () => {
  await withServer(async (base) => {
    const started = Date.now();
    await assert.rejects(
      runHttp({
        url: `${base}/slow`,
        timeout: 0.3,
        query: { api_key: "s3cret-key", page: 2 },
        headers: { Authorization: "Bearer hidden-token" },
      }),
      (e: Error) => {
        nodeError(/^request timed out after 0\.3 s: GET http:\/\/127\.0\.0\.1:\d+\/slow\?/)(e);
        assert.match(e.message, /page=2/);
        assert.match(e.message, /timeout/);
        assert.ok(!e.message.includes("s3cret-key"), e.message);
        assert.ok(!e.message.includes("hidden-token"), e.message);
        return true;
      },
    );
    assert.ok(Date.now() - started < 3000);
  });
});

Deno.test("http: timeout also covers reading the body", async () => {
  await withServer(async (base) => {
    await assert.rejects(
      runHttp({ url: `${base}/slowbody`, timeout: 0.3 }),
      nodeError(/^request timed out after 0\.3 s: GET .*\/slowbody/),
    );
  });
});

Deno.test("http: connection refused names the URL and the cause", async () => {
  // A port that was just free: listen, note it, close.
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  const url = `http://127.0.0.1:${port}/x`;
  await assert.rejects(
    runHttp({ url }),
    nodeError(new RegExp(`^request failed: GET ${url.replaceAll(".", "\\.")}: connection refused`)),
  );
});

Deno.test("http: abort rejects with InterruptedError", async () => {
  await withServer(async (base) => {
    const controller = new AbortController();
    const promise = runHttp({ url: `${base}/slow` }, controller.signal);
    setTimeout(() => controller.abort(), 100);
    const started = Date.now();
    await assert.rejects(promise, InterruptedError);
    assert.ok(Date.now() - started < 3000);
  });
});

Deno.test("http: an already aborted signal sends nothing", async () => {
  await withServer(async (base, seen) => {
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(runHttp({ url: `${base}/json` }, controller.signal), InterruptedError);
    assert.equal(seen.length, 0);
  });
});

Deno.test("http: invalid URLs are NodeErrors", async () => {
  await assert.rejects(runHttp({ url: "not a url" }), nodeError(/^invalid URL: "not a url"/));
  await assert.rejects(runHttp({ url: "/relative/path" }), nodeError(/^invalid URL/));
  await assert.rejects(
    runHttp({ url: "file:///etc/passwd" }),
    nodeError(/unsupported URL scheme 'file:'/),
  );
  await assert.rejects(runHttp({}), nodeError(/'url' is required/));
});

Deno.test("http: bad method, body on GET, bad timeout are NodeErrors", async () => {
  await assert.rejects(
    runHttp({ url: "http://127.0.0.1:9/", method: "GE T" }),
    nodeError(/invalid HTTP method/),
  );
  await assert.rejects(
    runHttp({ url: "http://127.0.0.1:9/", body: { a: 1 } }),
    nodeError(/GET requests cannot have a body/),
  );
  await assert.rejects(
    runHttp({ url: "http://127.0.0.1:9/", timeout: -1 }),
    nodeError(/'timeout' must be a positive/),
  );
});

Deno.test("http: an invalid header value is reported without the value", async () => {
  await assert.rejects(
    runHttp({ url: "http://127.0.0.1:9/", headers: { "X-Token": "secret-value\r\nInjected: 1" } }),
    (e: Error) => {
      nodeError(/^invalid header "X-Token"/)(e);
      assert.ok(!e.message.includes("secret-value"));
      return true;
    },
  );
});

Deno.test("binary: a header value HTTP cannot carry names the character at fault, never the value", async () => {
  await withHome(async (dir, env) => {
    const cases: [Record<string, string>, string][] = [
      // é is Latin-1 (sent as is), 😀 is not.
      [
        { "X-Name": "José 😀" },
        `invalid header "X-Name": its value holds '😀' (U+1F600) at character 6, which HTTP headers cannot ` +
        "carry: header values are ISO-8859-1 (Latin-1), best plain ASCII; percent-encode the value " +
        "(encodeURIComponent) or send it in the body",
      ],
      [
        { "X-Token": "secret-value\r\nInjected: 1" },
        'invalid header "X-Token": its value holds a line break (\\r, U+000D) at character 13; header values ' +
        "cannot contain line breaks",
      ],
    ];
    for (const [headers, message] of cases) {
      // Literal: refused by validation (exit 2); made at run time (an echo's output): the node fails.
      const file = writeWorkflow(
        dir,
        "h.json",
        workflow([{ id: "a", type: "http", params: { url: "http://127.0.0.1:9/", headers } }]),
      );
      const result = await runPflow(["run", file], { env });
      assertExit(result, 2);
      assert.match(result.stderr.trim(), /^error: \S+:\d+:\d+: \/nodes\/0\/params\/headers: param 'headers': /);
      assert.ok(result.stderr.trim().endsWith(message), explain(result));
      assert.ok(!result.stderr.includes("secret-value") && !result.stderr.includes("José"), result.stderr);
      const made = writeWorkflow(
        dir,
        "made.json",
        workflow([
          { id: "v", type: "echo", params: { value: headers } },
          { id: "a", type: "http", params: { url: "http://127.0.0.1:9/", headers: "${v.output}" } },
        ], { edges: [{ from: "v", to: "a" }] }),
      );
      const late = await runPflow(["run", made], { env });
      assertExit(late, 1);
      assert.equal(late.stderr.trim(), `error: node 'a' failed: ${message}`, explain(late));
      assert.ok(!late.stderr.includes("secret-value") && !late.stderr.includes("José"), late.stderr);
    }
  });
});

Deno.test("http: credentials in the URL never reach error messages", async () => {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  await assert.rejects(
    runHttp({ url: `http://user:pa55word@127.0.0.1:${port}/` }),
    (e: Error) => {
      nodeError(/connection refused/)(e);
      assert.ok(!e.message.includes("pa55word"), e.message);
      return true;
    },
  );
});

Deno.test("http: spec declares the error action", () => {
  assert.deepEqual(HttpNode.spec.actions, ["error"]);
  assert.equal(HttpNode.spec.params.url.required, true);
});

Deno.test("binary: an HTTP error status without an error edge names the status and the body, on one line, redacted", async () => {
  await withServer(async (base) => {
    await withHome(async (dir, env) => {
      const file = writeWorkflow(
        dir,
        "404.json",
        workflow([{ id: "get", type: "http", params: { url: `${base}/404` } }]),
      );
      const plain = await runPflow(["run", file], { env });
      assertExit(plain, 1);
      assert.equal(plain.stderr.trim(), `error: node 'get' failed: HTTP 404: {"error":"not found"}`, explain(plain));
      // A text body on one line, shortened; a secret input it echoes is masked.
      const long = writeWorkflow(
        dir,
        "500.json",
        workflow([{
          id: "each",
          type: "http",
          batch: { items: ["/echo", "/500-secret"] },
          params: {
            url: `${base}\${item}?token=\${api_token}`,
            method: "POST",
            body: "line one\n  line two ${api_token}",
          },
        }], { inputs: { api_token: { type: "string" } } }),
      );
      const batch = await runPflow(["run", long, "api_token=tok-SECRET-123"], { env });
      assertExit(batch, 1);
      const line = batch.stderr.trim();
      assert.equal(line.split("\n").length, 1, explain(batch));
      assert.match(line, /^error: node 'each' failed: batch item 2 of 2 failed: HTTP 500: line one line two \S+$/);
      assert.ok(!line.includes("tok-SECRET-123"), line);
    });
  });
});

Deno.test("http: a gzip body is decoded, bounded by max_response_bytes decoded; one that is not gzip fails naming the coding", async () => {
  await withServer(async (base) => {
    const { shared } = await runHttp({ url: `${base}/gzip` });
    assert.deepEqual(shared.response, { packed: true });
    assert.equal((shared.response_headers as Record<string, string>)["content-encoding"], "gzip");
    // 10 MB of zeros gzip to about 10 KB: the bound is on what they decode to.
    await assert.rejects(
      runHttp({ url: `${base}/gzip?size=10000000`, max_response_bytes: 1_000_000 }),
      nodeError(/^response body of GET .*\/gzip\?size=10000000 was cut off: it is longer than max_response_bytes/),
    );
    await assert.rejects(
      runHttp({ url: `${base}/gzip?bad` }),
      nodeError(
        /^response body of GET http:\/\/127\.0\.0\.1:\d+\/gzip\?bad is not valid gzip \(content-encoding: gzip\)$/,
      ),
    );
  });
});

Deno.test("http: every content coding is decoded where fetch does not (Deno's decodes a lone gzip or br); a bad gzip checksum or a cut gzip body fails naming the coding", async () => {
  await withServer(async (base) => {
    for (
      const as of ["gzip", "GZIP", "br", "x-gzip", "deflate", "gzip, br", "gzip, gzip", "identity, gzip", "X-Gzip"]
    ) {
      const { shared } = await runHttp({ url: `${base}/gzip?as=${encodeURIComponent(as)}` });
      assert.deepEqual(shared.response, { packed: true }, as);
    }
    const raw = await runHttp({ url: `${base}/gzip?as=deflate&raw` });
    assert.deepEqual(raw.shared.response, { packed: true });
    for (const [url, coding] of [["/gzip?crc", "gzip"], ["/gzip?cut=20", "gzip"], ["/gzip?as=x-gzip&crc", "x-gzip"]]) {
      await assert.rejects(
        runHttp({ url: `${base}${url}` }),
        nodeError(new RegExp(`^response body of GET \\S+ is not valid ${coding} \\(content-encoding: ${coding}\\)$`)),
        url,
      );
    }
  });
});

Deno.test("binary: a compressed body is decoded (gzip, deflate, br; asked for), a bad one fails on one line of stderr, JSON with --log-format json", async () => {
  await withServer(async (base) => {
    await withHome(async (dir, env) => {
      const get = (name: string, url: string, extra: Record<string, unknown> = {}) =>
        writeWorkflow(
          dir,
          `${name}.json`,
          workflow([{ id: "h", type: "http", params: { url: `${base}${url}`, ...extra } }], {
            outputs: {
              body: { source: "${h.response}" },
              coding: { source: "${h.response_headers.content-encoding}" },
            },
          }),
        );
      for (const as of ["gzip", "deflate", "br"]) {
        const result = await runPflow(["run", get(as, `/gzip?as=${as}`), "--output-format", "json"], { env });
        assertExit(result, 0);
        assert.deepEqual(JSON.parse(result.stdout).result.body, { packed: true }, as);
        assert.equal(result.stderr, "", as);
      }
      // pflow asks for gzip, so a server that compresses only when asked does.
      const asked = await runPflow(["run", get("asked", "/gzip?asked"), "--output-format", "json"], { env });
      assertExit(asked, 0);
      assert.deepEqual(JSON.parse(asked.stdout).result, { body: { packed: true }, coding: "gzip" });
      const bomb = await runPflow(["run", get("bomb", "/gzip?size=10000000", { max_response_bytes: 1_000_000 })], {
        env,
      });
      assertExit(bomb, 1);
      assert.match(bomb.stderr, /was cut off: it is longer than max_response_bytes \(/);

      for (const [name, url, coding] of [["bad", "/gzip?bad", "gzip"], ["bad-br", "/gzip?bad&as=br", "br"]]) {
        const file = get(name, url);
        const text = await runPflow(["run", file], { env });
        assertExit(text, 1);
        assert.equal(
          text.stderr,
          `error: node 'h' failed: response body of GET ${base}${url} is not valid ${coding} ` +
            `(content-encoding: ${coding})\n`,
          explain(text),
        );
        const json = await runPflow(["run", file, "--log-format", "json"], { env });
        assertExit(json, 1);
        const lines = json.stderr.split("\n").filter((l) => l !== "");
        assert.ok(lines.length > 0, explain(json));
        for (const line of lines) assert.doesNotThrow(() => JSON.parse(line), `not a JSON line: ${line}`);
        assert.ok(lines.some((l) => JSON.parse(l).message.includes(`is not valid ${coding}`)), explain(json));
      }
      // An error status with a bad body fails the same way (the page cannot be read).
      const page = await runPflow(["run", get("page", "/gzip?bad&status=500")], { env });
      assertExit(page, 1);
      assert.match(
        page.stderr,
        /^error: node 'h' failed: response body of GET \S+ is not valid gzip \(content-encoding: gzip\)\n$/,
      );
    });
  });
});

Deno.test("binary: a content-encoding that is no compression is read as sent; raw deflate, and bytes after a gzip member, are read as browsers read them", async () => {
  await withServer(async (base) => {
    await withHome(async (dir, env) => {
      const run = async (name: string, url: string, extra: Record<string, unknown> = {}) => {
        const file = writeWorkflow(
          dir,
          `${name}.json`,
          workflow([{ id: "h", type: "http", params: { url: `${base}${url}`, ...extra } }], {
            outputs: { body: { source: "${h.response}" } },
          }),
        );
        return await runPflow(["run", file, "--output-format", "json"], { env });
      };
      // Codings servers name that compress nothing: the body is what was sent.
      for (const coding of ["utf-8", "UTF8", "none", "identity", "Identity, utf-8"]) {
        const result = await run("coded", `/coded?as=${encodeURIComponent(coding)}`);
        assertExit(result, 0);
        assert.deepEqual(JSON.parse(result.stdout).result.body, { plain: true }, coding);
        assert.equal(result.stderr, "", coding);
      }
      // Raw deflate; a gzip member followed by a newline, by other bytes, or by a second member (as base64: two
      // JSON texts are no JSON).
      const both = Buffer.from('{"packed":true}{"more":1}').toString("base64");
      for (
        const [url, body, extra] of [
          ["/gzip?as=deflate&raw", { packed: true }, {}],
          ["/gzip?tail=%0A", { packed: true }, {}],
          ["/gzip?tail=%0D%0Ajunk%20after%20it", { packed: true }, {}],
          ["/gzip?tail=gzip", both, { response_encoding: "base64" }],
        ] as const
      ) {
        const result = await run("lenient", url, extra);
        assertExit(result, 0);
        assert.deepEqual(JSON.parse(result.stdout).result.body, body, url);
        assert.equal(result.stderr, "", `${url}: ${result.stderr}`);
      }
      // Still bounded: 10 MB of zeros with a newline after them, raw deflate too.
      for (const url of ["/gzip?size=10000000&tail=%0A", "/gzip?size=10000000&as=deflate&raw"]) {
        const bomb = await run("bomb", url, { max_response_bytes: 1_000_000 });
        assertExit(bomb, 1);
        assert.match(
          JSON.parse(bomb.stdout).error.message,
          /was cut off: it is longer than max_response_bytes \(/,
          url,
        );
      }
      // A member cut short, or followed by one that is not valid, is not valid gzip; compress is no coding pflow reads.
      for (
        const [url, coding] of [
          ["/gzip?cut=3", "gzip"],
          ["/gzip?cut=3&tail=%0A", "gzip"],
          ["/gzip?tail=gzip-cut", "gzip"],
          ["/gzip?as=deflate&cut=4", "deflate"],
        ]
      ) {
        const result = await run("bad", url);
        assertExit(result, 1);
        assert.match(
          JSON.parse(result.stdout).error.message,
          new RegExp(`is not valid ${coding} \\(content-encoding: ${coding}\\)$`),
          url,
        );
      }
      const compress = await run("compress", "/coded?as=compress");
      assertExit(compress, 1);
      assert.match(
        JSON.parse(compress.stdout).error.message,
        /is encoded as "compress" \(content-encoding\), which pflow cannot decode/,
      );
    });
  });
});

Deno.test("binary: a body of millions of gzip members and a tail is read member by member without blocking: the timeout and SIGINT stop it", async () => {
  await withServer(async (base, seen) => {
    await withHome(async (dir, env) => {
      const file = (name: string, url: string, extra: Record<string, unknown> = {}) =>
        writeWorkflow(
          dir,
          `${name}.json`,
          workflow([
            { id: "h", type: "http", params: { url: `${base}${url}`, ...extra } },
            { id: "after", type: "echo", params: { value: "the next node ran" } },
          ], {
            edges: [{ from: "h", to: "after" }],
            outputs: { body: { source: "${h.response}" }, after: { source: "${after.output}" } },
          }),
        );
      // A few members, then a newline or junk: all of them are read.
      for (const tail of ["%0A", "%0D%0Ajunk"]) {
        const result = await runGuarded(["run", file("few", `/members?n=3&tail=${tail}`), "--output-format", "json"], {
          env,
        });
        assertExit(result, 0);
        assert.deepEqual(JSON.parse(result.stdout).result, { body: "x".repeat(30), after: "the next node ran" }, tail);
      }
      // 2,800,000 members (64 MB) take seconds to read: the node's timeout stops that.
      for (const tail of ["%0A", "junk"]) {
        const started = performance.now();
        const result = await runGuarded(["run", file("timeout", `/members?n=2800000&tail=${tail}`, { timeout: 1 })], {
          env,
        });
        assertExit(result, 1);
        assert.match(result.stderr, /^error: node 'h' failed: request timed out after 1 s: GET /, tail);
        assert.ok(!result.stdout.includes("the next node ran"), explain(result));
        assert.ok(performance.now() - started < 4000, `${tail}: took ${performance.now() - started} ms`);
      }
      // And so does SIGINT: exit 130, promptly, the next node never runs.
      for (const tail of ["%0A", "junk"]) {
        const before = seen.length;
        const { result, afterSignalMs } = await runAndSignal(
          ["run", file("sigint", `/members?n=2800000&tail=${tail}`, { timeout: 60 })],
          { env, ready: () => seen.length > before, signals: [{ signal: "SIGINT", afterMs: 700 }] },
        );
        assertExit(result, 130);
        assert.ok(!result.stdout.includes("the next node ran"), explain(result));
        assert.ok(afterSignalMs < 2000, `${tail}: exited ${afterSignalMs} ms after SIGINT`);
      }
    });
  });
});

Deno.test("http: a body cut short by the server closing the connection says so, in the library and the binary", async () => {
  // Declares 100 bytes, sends 10, closes cleanly.
  const sockets = new Set<Socket>();
  const server = createTcpServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => {});
    socket.once("data", () => {
      socket.end("HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 100\r\n\r\n0123456789");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/cut`;
  const expected = `request failed: GET ${url}: the connection closed before the whole body arrived`;
  try {
    await assert.rejects(runHttp({ url }), (e: Error) => {
      assert.ok(e instanceof NodeError, `${e.name}: ${e.message}`);
      assert.equal(e.message, expected);
      return true;
    });
    await withHome(async (dir, env) => {
      const file = writeWorkflow(dir, "cut.json", workflow([{ id: "h", type: "http", params: { url } }]));
      const result = await runGuarded(["run", file], { env });
      assertExit(result, 1);
      assert.equal(result.stderr, `error: node 'h' failed: ${expected}\n`, explain(result));
    });
  } finally {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  }
});
