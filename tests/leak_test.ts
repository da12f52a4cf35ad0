/**
 * Secrets never leak, in any form: one test runs the compiled binary in every
 * mode (JSON and text results, JSON and text logs, traces, OTLP export,
 * `trace show`/`trace export`, planning with plan files, planner traces and
 * `--save`) on workflows that put secrets through every encoding a shell,
 * an HTTP client or a model can produce, then searches every produced file
 * under PFLOW_HOME and every stream for each secret as written, URL-encoded,
 * base64 (standard and URL-safe, each byte alignment) and hex.
 * @module
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT, runPflow, tempDir, workflow, writeWorkflow } from "./support/cli.ts";
import { startLlmServer } from "./support/llm_server.ts";
import { startOtlpReceiver } from "./support/otlp_receiver.ts";

/** Long enough that `base64` wraps it over two lines (76 columns). */
const API_KEY = "sk-ant-api03-LEAKTEST/key+Zq9w8e7r6t5y4u3i2o1pAaSsDdFfGgHhJjKkLlMmNnBbVvCcXx-0123456789abcdef";
/** A secret-named input; `/` and `+` make its URL-encoded and base64 forms differ from the raw one. */
const TOKEN = "tok/SECRET+val-0123456789";
/** The password of a URL's userinfo (sent as Basic auth). */
const URL_PASSWORD = "hunter2-Secret-pw";
/** The value of a secret-named query parameter written in a URL. */
const QUERY_SECRET = "AKIAQUERYSECRET998877";
/** A literal bearer token in an Authorization header. */
const BEARER = "tok-FAKE-bearer-9876543210";
/** A secret-named input whose JSON-escaped forms differ from the raw one (quote, backslash, non-ASCII). */
const PASSWORD = 'pw"quoted\\é-secret-4242';
/** A value for a secret-named input that the planner read from the request. */
const PLANNED_TOKEN = "planned-SECRET-5544332211";
/** A secret-named `key=value` param given to `pflow plan`. */
const GIVEN_TOKEN = "given-SECRET-6655443322";
/** A bearer token written literally into a shell command. */
const LITERAL_BEARER = "litBEARER-0987654321";

/** Every form a secret must never appear in. */
function forms(secret: string): Record<string, string> {
  const bytes = Buffer.from(secret, "utf8");
  const json = JSON.stringify(secret).slice(1, -1);
  const ascii = json.replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
  const out: Record<string, string> = {
    raw: secret,
    json,
    "json twice": JSON.stringify(json).slice(1, -1),
    "json ascii": ascii,
    "json ascii twice": JSON.stringify(ascii).slice(1, -1),
    uri: encodeURIComponent(secret),
    form: new URLSearchParams({ s: secret }).toString().slice(2),
    hex: bytes.toString("hex"),
    HEX: bytes.toString("hex").toUpperCase(),
  };
  for (let offset = 0; offset < 3; offset++) {
    const encoded = Buffer.concat([Buffer.alloc(offset), bytes]).toString("base64");
    // The characters that depend on the secret's bits alone.
    const core = encoded.slice(Math.ceil((8 * offset) / 6), Math.floor((8 * (offset + bytes.length)) / 6));
    out[`base64@${offset}`] = core;
    out[`base64url@${offset}`] = core.replaceAll("+", "-").replaceAll("/", "_");
  }
  return out;
}

/** Every regular file under `dir`, recursively. */
function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? filesUnder(path) : entry.isFile() ? [path] : [];
  });
}

Deno.test("no secret leaks in any form: raw, URL-encoded, base64, hex, across every file and stream pflow produces", async () => {
  const tmp = tempDir("pflow-leak-test-");
  const llm = await startLlmServer();
  const otlp = await startOtlpReceiver();
  const echo = createServer((req, res) => {
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify({ url: req.url, authorization: req.headers.authorization ?? null }));
  });
  await new Promise<void>((resolve) => echo.listen(0, "127.0.0.1", resolve));
  try {
    const dir = tmp.path;
    const home = join(dir, "home");
    mkdirSync(home);
    const port = (echo.address() as AddressInfo).port;
    const env = {
      PFLOW_HOME: home,
      ANTHROPIC_API_KEY: API_KEY,
      ANTHROPIC_BASE_URL: llm.url,
      PFLOW_PLANNER_MODEL: "anthropic/claude-haiku-4-5",
    };
    // The shell writes the key and the token encoded every way common tools do.
    const encodeAll = [
      `printf %s "$ANTHROPIC_API_KEY" | base64`,
      `printf %s "$ANTHROPIC_API_KEY" | base64 | tr -d '\\n' | tr '+/' '-_'`,
      `printf %s "$ANTHROPIC_API_KEY" | od -An -tx1 | tr -d ' \\n'; echo`,
      `printf 'x%s' "$T" | base64`,
      `printf 'xy%s' "$T" | base64`,
      `printf %s "$T" | od -An -tx1 | tr -d ' \\n'; echo`,
      // Hex dumps with separators, the raw key folded over lines, and JSON printed by a command (JSON inside JSON).
      `printf %s "$ANTHROPIC_API_KEY" | od -An -tx1`,
      `printf %s "$T" | od -An -tx1 -w4 | sed 's/ /:/g'`,
      `printf %s "$ANTHROPIC_API_KEY" | fold -w 40; echo`,
      `printf %s "$P" | node -e 'process.stdout.write(JSON.stringify(require("fs").readFileSync(0, "utf8")))'; echo`,
      `printf %s "$P" | node -e 'const s = JSON.stringify(require("fs").readFileSync(0, "utf8")); ` +
      `console.log(s.replace(/[^\\x00-\\x7f]/g, (c) => "\\\\u" + c.charCodeAt(0).toString(16).padStart(4, "0")))'`,
      `echo curl -H "Authorization: Bearer ${LITERAL_BEARER}" https://example.com`,
    ].join("; ");
    const ok = writeWorkflow(
      dir,
      "ok.json",
      workflow([
        {
          id: "call",
          type: "http",
          params: {
            url: `http://bob:${URL_PASSWORD}@127.0.0.1:${port}/echo?api_key=${QUERY_SECRET}&page=2`,
            query: { k: "${token}" },
          },
        },
        {
          id: "auth",
          type: "http",
          params: { url: `http://127.0.0.1:${port}/auth`, headers: { Authorization: `Bearer ${BEARER}` } },
        },
        { id: "encode", type: "shell", params: { command: encodeAll, env: { T: "${token}", P: "${password}" } } },
        {
          id: "ask",
          type: "llm",
          params: {
            model: "anthropic/claude-haiku-4-5",
            prompt: "repeat ${token} ${encode.stdout} ${call.response} ${auth.response.authorization}",
          },
        },
      ], {
        inputs: { token: { type: "string" }, password: { type: "string" } },
        edges: [{ from: "call", to: "auth" }, { from: "auth", to: "encode" }, { from: "encode", to: "ask" }],
        outputs: {
          echoed: { source: "${call.response}" },
          bearer: { source: "${auth.response}" },
          encoded: { source: "${encode.stdout}" },
          answer: { source: "${ask.response}" },
        },
      }),
    );
    // A failing node whose error message carries the token base64-encoded, and a URL-encoded one in its URL.
    const failing = writeWorkflow(
      dir,
      "fail.json",
      workflow([
        {
          id: "boom",
          type: "shell",
          params: { command: `printf %s "$T" | base64 >&2; exit 3`, env: { T: "${token}" } },
        },
      ], { inputs: { token: { type: "string" } } }),
    );
    // A request that fails: the message names the URL, whose query holds the token URL-encoded.
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const closedPort = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const failingUrl = writeWorkflow(
      dir,
      "fail-url.json",
      workflow([
        { id: "get", type: "http", params: { url: `http://127.0.0.1:${closedPort}/x`, query: { k: "${token}" } } },
      ], { inputs: { token: { type: "string" } } }),
    );
    const streams: string[] = [];
    const run = async (args: string[], code: number) => {
      const result = await runPflow(args, { env, cwd: dir });
      assert.equal(result.code, code, `${args.join(" ")}\n${result.stderr}`);
      streams.push(result.stdout, result.stderr);
      return result;
    };
    const modes = [
      ["--trace", "--output-format", "json", "--otlp-endpoint", otlp.url],
      ["--trace", "--log-format", "json", "--metrics"],
      ["--trace", "--metrics"],
    ];
    for (const mode of modes) {
      await run(["run", ok, `token=${TOKEN}`, `password=${PASSWORD}`, ...mode], 0);
      await run(["run", failing, `token=${TOKEN}`, ...mode], 1);
      const refused = await run(["run", failingUrl, `token=${TOKEN}`, ...mode], 1);
      assert.match(refused.stdout + refused.stderr, /request failed: GET http:\/\/127\.0\.0\.1:\d+\/x\?k=\[REDACTED\]/);
    }
    await run(["trace", "show", "latest"], 0);
    await run(["trace", "show", "latest", "--json"], 0);
    await run(["trace", "export", "latest", "--format", "otlp-json", "-o", join(home, "exported.json")], 0);
    // Secret-named inputs the planner filled from the request, or that were given as key=value: hidden in the
    // planner trace, the plan shown by --dry-run (text and JSON) and the run.
    const apiCall = workflow([{ id: "use", type: "echo", params: { value: "${api_token}" } }], {
      name: "api-call",
      inputs: { api_token: { type: "string" }, other_token: { type: "string", default: "x" } },
      outputs: { used: { source: "${use.output}" } },
    });
    for (const output of [["--output-format", "json"], []]) {
      llm.enqueue({
        json: { workflow: apiCall, params: { api_token: PLANNED_TOKEN } },
        usage: { input_tokens: 9, output_tokens: 3 },
      });
      await run(["plan", "call the api", "--dry-run", "--trace-planner", ...output], 0);
      llm.enqueue({
        json: { workflow: apiCall, params: { api_token: PLANNED_TOKEN } },
        usage: { input_tokens: 9, output_tokens: 3 },
      });
      await run(["plan", "call the api", "--trace-planner", "--trace", ...output], 0);
      llm.enqueue({ json: { workflow: apiCall, params: {} }, usage: { input_tokens: 9, output_tokens: 3 } });
      await run(["plan", "call the api", `api_token=${GIVEN_TOKEN}`, "--dry-run", "--trace-planner", ...output], 0);
    }
    // Planning: the model (scripted) writes every form of the key into the workflow it generates.
    const leakyPlan = workflow([
      { id: "say", type: "shell", params: { command: `echo ${Object.values(forms(API_KEY)).join(" ")}` } },
    ], { name: "leaky" });
    llm.enqueue({ json: { workflow: leakyPlan, params: {} }, usage: { input_tokens: 10, output_tokens: 5 } });
    await run([`echo the key ${API_KEY} please`, "--trace", "--trace-planner", "--output-format", "json"], 0);
    llm.enqueue({ json: { workflow: leakyPlan, params: {} }, usage: { input_tokens: 10, output_tokens: 5 } });
    await run(["plan", "echo the key please", "--dry-run", "--trace-planner", "--save", "leaky"], 0);

    const files = filesUnder(home);
    const kinds = (prefix: string) => files.filter((f) => f.split("/").pop()!.startsWith(prefix)).length;
    assert.equal(kinds("workflow-trace-"), 12, files.join("\n"));
    assert.ok(kinds("planner-trace-") >= 8, "planner traces");
    assert.ok(files.some((f) => f.includes(`${join(home, "plans")}/`)), "plan files");
    assert.ok(existsSync(join(home, "workflows", "leaky.json")), "the saved workflow");
    assert.ok(otlp.requests.length >= 1, "OTLP export");
    // LEDGER (issue 8): once src/ledger has landed, runs write PFLOW_HOME/ledger.db and it is searched
    // like every other file below; this makes sure it exists so the search covers it.
    if (existsSync(join(ROOT, "src", "ledger", "mod.ts"))) {
      assert.ok(files.some((f) => f.endsWith("ledger.db")), `no ledger.db under ${home}: ${files.join(", ")}`);
    }

    const haystacks: [string, string][] = [
      ...files.map((f) => [f, readFileSync(f).toString("utf8")] as [string, string]),
      ...streams.map((s, i) => [`stream ${i}`, s] as [string, string]),
      ...otlp.requests.map((r, i) => [`OTLP request ${i}`, r.body] as [string, string]),
    ];
    // The same with every separator a hex dump or a line wrap puts between characters taken out.
    const squeezed = haystacks.map(([where, text]) =>
      [`${where} (separators and line breaks taken out)`, text.replace(/\\r|\\n|[\s:,]|0x/g, "")] as [string, string]
    );
    const secrets = {
      API_KEY,
      TOKEN,
      URL_PASSWORD,
      QUERY_SECRET,
      BEARER,
      PASSWORD,
      LITERAL_BEARER,
      PLANNED_TOKEN,
      GIVEN_TOKEN,
    };
    for (const [secretName, secret] of Object.entries(secrets)) {
      for (const [formName, form] of Object.entries(forms(secret))) {
        for (const [where, text] of haystacks) {
          assert.ok(!text.includes(form), `${secretName} (${formName} '${form}') leaked into ${where}`);
        }
        if (!/[\s:,]/.test(form)) {
          for (const [where, text] of squeezed) {
            assert.ok(!text.includes(form), `${secretName} (${formName} '${form}') leaked into ${where}`);
          }
        }
      }
    }
    // The secrets did their work: the server saw the real token and Basic credentials, the model the real key.
    assert.ok(streams[0].includes("[REDACTED]"), "the JSON result shows where secrets were");
    assert.equal(llm.requests[0].headers["x-api-key"], API_KEY);
    assert.ok(statSync(join(home, "workflows", "leaky.json")).size > 0);
  } finally {
    echo.close();
    await otlp.close();
    await llm.close();
    tmp.cleanup();
  }
});

Deno.test("a redirect to another origin reaches it without the request's credential headers (compiled binary)", async () => {
  const tmp = tempDir("pflow-leak-test-");
  const arrived: Record<string, string | string[] | undefined>[] = [];
  const other = createServer((req, res) => {
    arrived.push(req.headers);
    res.end("ok");
  });
  await new Promise<void>((resolve) => other.listen(0, "127.0.0.1", resolve));
  const otherUrl = `http://127.0.0.1:${(other.address() as AddressInfo).port}/landing`;
  const first = createServer((_req, res) => {
    res.writeHead(302, { location: otherUrl });
    res.end();
  });
  await new Promise<void>((resolve) => first.listen(0, "127.0.0.1", resolve));
  try {
    const headers = { Authorization: `Bearer ${BEARER}`, Cookie: "sid=1", "X-Api-Key": TOKEN, "X-Trace": "kept" };
    const file = writeWorkflow(
      tmp.path,
      "redirect.json",
      workflow([{
        id: "get",
        type: "http",
        params: { url: `http://127.0.0.1:${(first.address() as AddressInfo).port}/start`, headers },
      }]),
    );
    const result = await runPflow(["run", file], { env: { PFLOW_HOME: tmp.path } });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(arrived.length, 1);
    assert.equal(arrived[0]["x-trace"], "kept");
    for (const name of ["authorization", "cookie", "x-api-key"]) assert.equal(arrived[0][name], undefined, name);
  } finally {
    first.close();
    other.close();
    tmp.cleanup();
  }
});

Deno.test("credentials in a run's outputs (access_token, set-cookie) are hidden on stdout, in text, JSON and -o", async () => {
  const produced = "produced-SECRET-7788990011";
  const cookie = "session=cookie-SECRET-1122334455";
  // What an API answers at run time (so no param or input names it): a token in a JSON body, and a cookie.
  const server = createServer((_req, res) => {
    res.setHeader("set-cookie", [cookie]);
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify({ access_token: produced, n: 1, Contents: [{ Key: "photos/2026/cat.jpg", Size: 12 }] }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  const tmp = tempDir("pflow-output-secret-test-");
  try {
    const env = { PFLOW_HOME: join(tmp.path, "home"), NO_COLOR: "1" };
    const file = writeWorkflow(
      tmp.path,
      "outputs.json",
      workflow([
        { id: "api", type: "http", params: { url } },
        // A copy of the token in another output: hidden there too.
        { id: "log", type: "shell", params: { command: "echo using ${api.response.access_token}" } },
      ], {
        edges: [{ from: "api", to: "log" }],
        outputs: {
          body: { source: "${api.response}" },
          headers: { source: "${api.response_headers}" },
          log: { source: "${log.stdout}" },
        },
      }),
    );
    for (
      const args of [["--json"], [], ["-o", "body"], ["-o", "headers"], ["-o", "log"], [
        "-o",
        "api.response.access_token",
      ]]
    ) {
      const result = await runPflow(["run", file, ...args], { env });
      assert.equal(result.code, 0, result.stderr);
      for (const secret of [produced, "cookie-SECRET"]) {
        assert.ok(!result.stdout.includes(secret), `${args.join(" ")}: ${secret} on stdout:\n${result.stdout}`);
        assert.ok(!result.stderr.includes(secret), `${args.join(" ")}: ${secret} on stderr`);
      }
      assert.match(result.stdout, /\[REDACTED\]/, args.join(" "));
    }
    // Values under other names are printed as they are.
    const doc = JSON.parse((await runPflow(["run", file, "--json"], { env })).stdout);
    assert.equal(doc.result.body.n, 1);
    // Data under names that are not credentials (an S3 listing's Key) is printed as it is.
    assert.deepEqual(doc.result.body.Contents, [{ Key: "photos/2026/cat.jpg", Size: 12 }]);
    assert.equal(doc.result.body.access_token, "[REDACTED]");
    assert.deepEqual(doc.result.headers["set-cookie"], ["[REDACTED]"], "a list of cookies stays a list");
    assert.equal(doc.result.log, "using [REDACTED]\n");
    assert.equal(doc.result.headers["content-type"], "application/json");
  } finally {
    server.close();
    tmp.cleanup();
  }
});

Deno.test("the trace hides an environment key as stdout does, whole, when its redactor has learned secrets of its own", async () => {
  const tmp = tempDir("pflow-trace-chain-test-");
  try {
    const home = join(tmp.path, "home");
    // Keys holding `:` and `&`, where a Bearer credential and a query value end.
    const env = { PFLOW_HOME: home, FOO_API_KEY: "abcdef12:xyz789", BAR_TOKEN: "pa&ss1234567" };
    const file = writeWorkflow(
      tmp.path,
      "chain.json",
      workflow([{
        id: "say",
        type: "shell",
        params: { command: "echo Authorization: Bearer $FOO_API_KEY; echo http://h/?token=$BAR_TOKEN" },
      }], { inputs: { api_key: { type: "string" } } }),
    );
    // api_key is a secret-named param: the trace's redactor learns it (a secret of its own).
    const result = await runPflow(["run", file, "api_key=child-secret-222", "--trace"], { env });
    assert.equal(result.code, 0, result.stderr);
    const trace = filesUnder(home).filter((f) => f.split("/").pop()!.startsWith("workflow-trace-"));
    assert.equal(trace.length, 1);
    const haystacks: [string, string][] = [["stdout", result.stdout], ["stderr", result.stderr], [
      "trace",
      readFileSync(trace[0], "utf8"),
    ]];
    for (const [where, text] of haystacks) {
      for (const piece of ["xyz789", "ss1234567", "child-secret-222"]) {
        assert.ok(!text.includes(piece), `${piece} in ${where}:\n${text}`);
      }
    }
    assert.match(readFileSync(trace[0], "utf8"), /Bearer \[REDACTED\]\\nhttp:\/\/h\/\?token=\[REDACTED\]\\n"/);
  } finally {
    tmp.cleanup();
  }
});

Deno.test("the secret values of OTEL_EXPORTER_OTLP_*HEADERS (percent-decoded too) are hidden on stdout and in the trace; a dataset name is not", async () => {
  const tmp = tempDir("pflow-otlp-headers-test-");
  try {
    const home = join(tmp.path, "home");
    const env = {
      PFLOW_HOME: home,
      OTEL_EXPORTER_OTLP_HEADERS:
        "x-honeycomb-team=HoneyKey1234567890,api-key=DDapikey0987654321,x-honeycomb-dataset=production",
      // Percent-encoded as the OTel spec allows: the value is `Basic QmFzaWNDcmVkZW50aWFs99`.
      OTEL_EXPORTER_OTLP_TRACES_HEADERS: "Authorization=Basic%20QmFzaWNDcmVkZW50aWFs99",
      OTEL_EXPORTER_OTLP_METRICS_HEADERS: "x-metrics-key = MetricsKey5544332211 ",
    };
    const file = writeWorkflow(
      tmp.path,
      "headers.json",
      workflow([{
        id: "show",
        type: "shell",
        params: {
          command: "printenv OTEL_EXPORTER_OTLP_HEADERS; echo QmFzaWNDcmVkZW50aWFs99; echo MetricsKey5544332211; " +
            "echo deploying to production",
        },
      }]),
    );
    const result = await runPflow(["run", file, "--trace"], { env });
    assert.equal(result.code, 0, result.stderr);
    // A value that is neither under a secret name nor looks like a credential (a dataset's name) is not hidden.
    assert.equal(
      result.stdout,
      "x-honeycomb-team=[REDACTED],api-key=[REDACTED],x-honeycomb-dataset=production\n[REDACTED]\n[REDACTED]\n" +
        "deploying to production\n",
    );
    const trace = filesUnder(home).filter((f) => f.split("/").pop()!.startsWith("workflow-trace-"));
    assert.equal(trace.length, 1);
    const text = readFileSync(trace[0], "utf8");
    for (
      const secret of ["HoneyKey1234567890", "DDapikey0987654321", "QmFzaWNDcmVkZW50aWFs99", "MetricsKey5544332211"]
    ) {
      assert.ok(!text.includes(secret) && !result.stderr.includes(secret), `${secret} in the trace or on stderr`);
    }
  } finally {
    tmp.cleanup();
  }
});

Deno.test("a secret percent-encoded by curl, Python or a browser, or JSON-escaped by PHP, is hidden on stdout, in the trace, the ledger and OTLP", async () => {
  const tmp = tempDir("pflow-escaped-leak-test-");
  const otlp = await startOtlpReceiver();
  try {
    const home = join(tmp.path, "home");
    // Both start with `Ab3xY9`: that piece anywhere means a leak.
    const env = { PFLOW_HOME: home, SVC_TOKEN: "sk_live_Ab3xY9*Qz7Lm", PHP_TOKEN: "Ab3xY9/Qz+Lm=Pq'z" };
    // curl encodes `*` as `%2a` (lowercase); Python's quote() keeps `/`; PHP's json_encode writes `/` as `\/`.
    const emulate = [
      "const t = process.env.PHP_TOKEN;",
      'const quote = encodeURIComponent(t).replace(/%2F/g, "/").replace(/\'/g, "%27");',
      'process.stderr.write(" " + quote + " " + JSON.stringify({ t }).replace(/\\//g, "\\\\/") + "\\n");',
    ].join(" ");
    const file = writeWorkflow(
      tmp.path,
      "escaped.json",
      workflow([{
        id: "call",
        type: "shell",
        params: {
          command: `curl -sS -G --data-urlencode "q=$SVC_TOKEN" -o /dev/null -w "%{url_effective}" ` +
            `http://127.0.0.1:1/api >&2; node -e '${emulate.replaceAll("'", "'\\''")}'; exit 7`,
        },
      }]),
    );
    const streams: string[] = [];
    for (const mode of [["--output-format", "json", "--otlp-endpoint", otlp.url], ["--log-format", "json"], []]) {
      const result = await runPflow(["run", file, "--trace", ...mode], { env, cwd: tmp.path });
      assert.equal(result.code, 1, result.stderr);
      streams.push(result.stdout, result.stderr);
    }
    const doc = JSON.parse(streams[0]);
    assert.match(doc.error.message, /api\?q=\[REDACTED\]/, "curl's URL, its secret hidden");
    assert.match(doc.error.message, / \[REDACTED\] \{"t":"\[REDACTED\]"\}/, "Python's and PHP's forms hidden");
    assert.ok(otlp.requests.length >= 1, "OTLP export");
    const haystacks: [string, string][] = [
      ...filesUnder(home).map((f) => [f, readFileSync(f).toString("latin1")] as [string, string]),
      ...streams.map((s, i) => [`stream ${i}`, s] as [string, string]),
      ...otlp.requests.map((r, i) => [`OTLP request ${i}`, r.body] as [string, string]),
    ];
    assert.ok(haystacks.some(([where]) => where.includes("workflow-trace-")), "a trace");
    for (const [where, text] of haystacks) assert.ok(!text.includes("Ab3xY9"), `a secret in ${where}:\n${text}`);
  } finally {
    await otlp.close();
    tmp.cleanup();
  }
});

Deno.test("a query value after a stray second ? or in a fragment is hidden, and a URL in a shell command keeps the trace valid JSON", async () => {
  const tmp = tempDir("pflow-query-leak-test-");
  try {
    const home = join(tmp.path, "home");
    const file = writeWorkflow(
      tmp.path,
      "query.json",
      workflow([{
        id: "say",
        type: "shell",
        params: {
          // `$BAR\"` inside the trace's JSON: the value must end before the backslash of `\"`.
          command:
            'echo "http://h/?token=$BAR"; echo "http://h/?a=1?token=stray-SECRET-1 http://x/cb#access_token=frag-SECRET-2&state=1"',
        },
      }]),
    );
    for (const mode of [["--output-format", "json"], []]) {
      const result = await runPflow(["run", file, "--trace", ...mode], { env: { PFLOW_HOME: home }, cwd: tmp.path });
      assert.equal(result.code, 0, result.stderr);
      for (const secret of ["stray-SECRET-1", "frag-SECRET-2"]) {
        assert.ok(!result.stdout.includes(secret), `${secret} on stdout:\n${result.stdout}`);
      }
      assert.match(result.stdout, /\?a=1\?token=\[REDACTED\] http:\/\/x\/cb#access_token=\[REDACTED\]&state=1/);
    }
    const traces = filesUnder(home).filter((f) => f.split("/").pop()!.startsWith("workflow-trace-"));
    assert.equal(traces.length, 2);
    for (const trace of traces) {
      const text = readFileSync(trace, "utf8");
      const doc = JSON.parse(text); // stays valid JSON
      assert.equal(doc.events[0].params.command.split('"')[1], "http://h/?token=[REDACTED]");
      for (const secret of ["stray-SECRET-1", "frag-SECRET-2"]) {
        assert.ok(!text.includes(secret), `${secret} in ${trace}`);
      }
    }
  } finally {
    tmp.cleanup();
  }
});

Deno.test("credentials in an HTTP error body are masked in the error message: stderr, the JSON result, ${node.error}, traces, the ledger and OTLP", async () => {
  const password = "hunter2hunter2";
  const token = "tok_9f8e7d6c5b4a";
  const textPassword = "pw-text-123456";
  const urlPassword = "s3cretpw";
  // What an API answers with an error status: a JSON body with credentials (no param or input names them), and
  // a text page echoing the request's Authorization (Basic, from the URL's userinfo) and quoting some JSON.
  const server = createServer((req, res) => {
    if (req.url === "/json") {
      res.writeHead(400, { "content-type": "application/json" });
      return res.end(JSON.stringify({ user: "bob", password, access_token: token }));
    }
    res.writeHead(404, { "content-type": "text/plain" });
    res.end(`you sent Authorization: ${req.headers.authorization} and {"password": "${textPassword}"}`);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  const otlp = await startOtlpReceiver();
  const tmp = tempDir("pflow-error-body-test-");
  try {
    const home = join(tmp.path, "home");
    const env = { PFLOW_HOME: home, NO_COLOR: "1" };
    const json = writeWorkflow(
      tmp.path,
      "json.json",
      workflow([{ id: "h", type: "http", params: { url: `http://127.0.0.1:${port}/json` } }]),
    );
    const text = writeWorkflow(
      tmp.path,
      "text.json",
      workflow([{ id: "h", type: "http", params: { url: `http://user:${urlPassword}@127.0.0.1:${port}/text` } }]),
    );
    // The error edge passes the message on as `${h.error}`.
    const handled = writeWorkflow(
      tmp.path,
      "handled.json",
      workflow([
        { id: "h", type: "http", params: { url: `http://127.0.0.1:${port}/json` } },
        { id: "say", type: "echo", params: { value: "${h.error}" } },
      ], { edges: [{ from: "h", to: "say", action: "error" }], outputs: { said: { source: "${say.output}" } } }),
    );
    const shown = `HTTP 400: {"user":"bob","password":"[REDACTED]","access_token":"[REDACTED]"}`;
    const streams: [string, string][] = [];
    const run = async (args: string[], code: number) => {
      const result = await runPflow(["run", ...args, "--trace", "--otlp-endpoint", otlp.url], { env });
      assert.equal(result.code, code, `${args.join(" ")}\n${result.stderr}`);
      streams.push([`${args.join(" ")} stdout`, result.stdout], [`${args.join(" ")} stderr`, result.stderr]);
      return result;
    };

    const plain = await run([json], 1);
    const errorLine = (stderr: string) => stderr.split("\n").filter((l) => l.startsWith("error:"));
    assert.deepEqual(errorLine(plain.stderr), [`error: node 'h' failed: ${shown}`]);
    const doc = JSON.parse((await run([json, "--output-format", "json"], 1)).stdout);
    assert.equal(doc.error.message, shown);
    const logged = (await run([json, "--log-format", "json"], 1)).stderr.split("\n").filter((l) => l !== "");
    assert.ok(logged.some((l) => JSON.parse(l).message === `node 'h' failed: ${shown}`), logged.join("\n"));
    assert.equal(JSON.parse((await run([handled, "--output-format", "json"], 0)).stdout).result.said, shown);
    assert.equal((await run([handled], 0)).stdout, `${shown}\n`);
    // A Basic credential is hidden whole: no part of its base64 is left.
    const basic = await run([text], 1);
    assert.deepEqual(errorLine(basic.stderr), [
      `error: node 'h' failed: HTTP 404: you sent Authorization: Basic [REDACTED] and {"password": "[REDACTED]"}`,
    ]);

    const files = filesUnder(home);
    assert.ok(files.filter((f) => f.split("/").pop()!.startsWith("workflow-trace-")).length === 6, files.join("\n"));
    assert.ok(files.some((f) => /ledger(-inbox\.jsonl|\.db)$/.test(f)), files.join("\n"));
    assert.ok(otlp.requests.length >= 6, "OTLP export");
    const haystacks: [string, string][] = [
      ...files.map((f) => [f, readFileSync(f).toString("utf8")] as [string, string]),
      ...streams,
      ...otlp.requests.map((r, i) => [`OTLP request ${i}`, r.body] as [string, string]),
    ];
    const basicValue = Buffer.from(`user:${urlPassword}`).toString("base64");
    for (const secret of [password, token, textPassword, urlPassword, basicValue, basicValue.slice(0, 7)]) {
      for (const [where, haystack] of haystacks) {
        assert.ok(!haystack.includes(secret), `${secret} leaked into ${where}`);
      }
    }
    // The messages were there, masked.
    assert.ok(otlp.requests.some((r) => r.body.includes('\\"password\\":\\"[REDACTED]\\"')), "OTLP has the message");
  } finally {
    server.close();
    await otlp.close();
    tmp.cleanup();
  }
});

Deno.test("a credential in JSON quoted as a string in an HTTP error body (JSON or text) is masked in the error message and the trace", async () => {
  const token = "abc123secretXYZ";
  const quoted = JSON.stringify({ access_token: token, ok: false });
  // A gateway passing on what the upstream answered: as a JSON string in its own JSON, or a JSON string in text.
  const server = createServer((req, res) => {
    if (req.url === "/json") {
      res.writeHead(502, { "content-type": "application/json" });
      return res.end(JSON.stringify({ error: `upstream said: ${quoted}` }));
    }
    res.writeHead(502, { "content-type": "text/plain" });
    res.end(`upstream said: ${JSON.stringify(quoted)}`);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  const tmp = tempDir("pflow-quoted-json-test-");
  try {
    const home = join(tmp.path, "home");
    const env = { PFLOW_HOME: home, NO_COLOR: "1" };
    const expected: Record<string, string> = {
      json: String.raw`HTTP 502: {"error":"upstream said: {\"access_token\":\"[REDACTED]\",\"ok\":false}"}`,
      text: String.raw`HTTP 502: upstream said: "{\"access_token\":\"[REDACTED]\",\"ok\":false}"`,
    };
    for (const [route, shown] of Object.entries(expected)) {
      const file = writeWorkflow(
        tmp.path,
        `${route}.json`,
        workflow([{ id: "h", type: "http", params: { url: `http://127.0.0.1:${port}/${route}` } }]),
      );
      const result = await runPflow(["run", file, "--trace"], { env });
      assert.equal(result.code, 1, result.stderr);
      const errors = result.stderr.split("\n").filter((l) => l.startsWith("error:"));
      assert.deepEqual(errors, [`error: node 'h' failed: ${shown}`], result.stderr);
      assert.ok(!result.stderr.includes(token), result.stderr);
    }
    const traces = filesUnder(home).filter((f) => f.split("/").pop()!.startsWith("workflow-trace-"));
    assert.equal(traces.length, 2);
    for (const trace of traces) {
      const text = readFileSync(trace, "utf8");
      assert.ok(text.includes("[REDACTED]"), trace);
      assert.ok(!text.includes(token), `${token} in ${trace}`);
    }
  } finally {
    server.close();
    tmp.cleanup();
  }
});

Deno.test("a validation message under a credential name in an HTTP error body is masked there, not hidden elsewhere (DRF, Laravel)", async () => {
  const server = createServer((req, res) => {
    res.writeHead(req.url === "/drf" ? 400 : 422, { "content-type": "application/json" });
    const required = "This field is required.";
    const short = "The password field must be at least 8 characters.";
    res.end(JSON.stringify(
      req.url === "/drf"
        ? { username: [required], password: [required] }
        : { message: short, errors: { password: [short] } },
    ));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  const tmp = tempDir("pflow-validation-body-test-");
  try {
    const env = { PFLOW_HOME: join(tmp.path, "home"), NO_COLOR: "1" };
    const post = (path: string) => ({
      id: "h",
      type: "http",
      params: { url: `http://127.0.0.1:${port}${path}`, method: "POST", body: { username: "bob" } },
    });
    const drf = await runPflow(["run", writeWorkflow(tmp.path, "drf.json", workflow([post("/drf")]))], { env });
    assert.equal(drf.code, 1, drf.stderr);
    assert.equal(
      drf.stderr,
      `error: node 'h' failed: HTTP 400: {"username":["This field is required."],"password":["[REDACTED]"]}\n`,
    );
    const laravel = await runPflow(["run", writeWorkflow(tmp.path, "lv.json", workflow([post("/laravel")]))], { env });
    assert.equal(laravel.code, 1, laravel.stderr);
    assert.equal(
      laravel.stderr,
      `error: node 'h' failed: HTTP 422: {"message":"The password field must be at least 8 characters.",` +
        `"errors":{"password":["[REDACTED]"]}}\n`,
    );
    // An error edge reads the response: the message under username is data, shown.
    const handled = writeWorkflow(
      tmp.path,
      "handled.json",
      workflow([post("/drf"), {
        id: "s",
        type: "shell",
        params: { command: "echo handled: ${h.response.username[0]}" },
      }], {
        edges: [{ from: "h", to: "s", action: "error" }],
      }),
    );
    const result = await runPflow(["run", handled], { env });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, "handled: This field is required.\n");
  } finally {
    server.close();
    tmp.cleanup();
  }
});

Deno.test("a shell printing a table with a basic tier and a base64 config prints it as it is; a Basic header stays hidden", async () => {
  const tmp = tempDir("pflow-basic-data-test-");
  try {
    const env = { PFLOW_HOME: join(tmp.path, "home") };
    const file = writeWorkflow(
      tmp.path,
      "tiers.json",
      workflow([{
        id: "s",
        type: "shell",
        params: {
          command: String.raw`printf 'tier\tconfig_b64\nbasic\teyJtYXgiOjEwfQ==\n'; ` +
            `echo "Authorization: Basic $(printf %s bob:pw-123456 | base64)"`,
        },
      }]),
    );
    const result = await runPflow(["run", file], { env });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, "tier\tconfig_b64\nbasic\teyJtYXgiOjEwfQ==\nAuthorization: Basic [REDACTED]\n");
  } finally {
    tmp.cleanup();
  }
});

Deno.test("a password in an export URL without its scheme (or with a mistyped one) is hidden: every entry point, text and JSON", async () => {
  const password = "s3cretPassw0rd99";
  const values = [
    `bob:${password}@collector.example:4318`,
    `http//bob:${password}@collector.example:4318`,
    `http://bob:${password}@collector.example:99999`,
  ];
  const tmp = tempDir("pflow-url-userinfo-test-");
  try {
    // The run prints the password: a run that goes ahead (a bad variable is a warning) must hide it as learned.
    const file = writeWorkflow(
      tmp.path,
      "echo.json",
      workflow([{ id: "say", type: "shell", params: { command: `echo ${password}` } }]),
    );
    let n = 0;
    for (const value of values) {
      const entries: { args?: string[]; env?: Record<string, string>; settings?: Record<string, string> }[] = [
        { env: { OTEL_EXPORTER_OTLP_ENDPOINT: value } },
        { env: { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: value } },
        { env: { OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: value } },
        { env: { PFLOW_PUSHGATEWAY_URL: value } },
        { args: ["--pushgateway", value] },
        { args: ["--otlp-endpoint", value] },
        { settings: { pushgateway: value } },
      ];
      for (const entry of entries) {
        for (const mode of [[], ["--output-format", "json"]]) {
          const home = join(tmp.path, `home${n++}`);
          mkdirSync(home);
          if (entry.settings) writeFileSync(join(home, "settings.json"), JSON.stringify(entry.settings));
          const result = await runPflow(["run", file, "--trace", ...mode, ...(entry.args ?? [])], {
            env: { PFLOW_HOME: home, ...entry.env },
          });
          const where = `${JSON.stringify(entry)} ${mode.join(" ")}`;
          // Each is either a usage error naming the value (user kept, password hidden) or a warning, never silent.
          assert.match(result.stdout + result.stderr, /bob:\[REDACTED\]@collector\.example/, where);
          for (const [form, secret] of Object.entries(forms(password))) {
            if (secret.length < 6) continue;
            assert.ok(!result.stdout.includes(secret), `${where}: ${form} on stdout:\n${result.stdout}`);
            assert.ok(!result.stderr.includes(secret), `${where}: ${form} on stderr:\n${result.stderr}`);
            for (const path of filesUnder(home).filter((f) => !f.endsWith("settings.json"))) {
              assert.ok(!readFileSync(path, "latin1").includes(secret), `${where}: ${form} in ${path}`);
            }
          }
        }
      }
    }
  } finally {
    tmp.cleanup();
  }
});
