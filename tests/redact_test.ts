import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import {
  isCredentialName,
  isSecretName,
  MAX_LEARNED_CHARS,
  redactCredentialMembers,
  redactCredentials,
  REDACTED,
  Redactor,
  urlCredentials,
} from "../src/observability/redact.ts";
import { isSecretEnvName } from "../src/observability/secret_names.ts";
import { hideUserinfo } from "../src/util/uri.ts";
import { snapshot, truncateString } from "../src/observability/truncate.ts";

/**
 * A redactor that knows `secrets`, after `filler` unrelated secrets: with
 * many (a run that learned a list of tokens) it finds secrets through its
 * index instead of searching for every one, and must hide the same.
 */
function redactorWith(secrets: string[], filler: number): Redactor {
  const r = new Redactor(Array.from({ length: filler }, (_, i) => `filler-token-${i}-${(i * 7919).toString(36)}xyz`));
  r.text("built");
  r.add(...secrets);
  return r;
}

/** 0: every secret is searched for; 80 (past SEARCH_ALL, 64): the index chooses. */
const FILLERS = [0, 80];

Deno.test("secret-looking names are recognised; token counts are not", () => {
  for (
    const name of [
      "api_key",
      "apiKey",
      "x-api-key",
      "Authorization",
      "access_token",
      "password",
      "Cookie",
      "client_secret",
      "key",
    ]
  ) {
    assert.ok(isSecretName(name), name);
  }
  for (const name of ["max_tokens", "input_tokens", "keys", "monkey", "output", "tokens_total", "prompt"]) {
    assert.ok(!isSecretName(name), name);
  }
});

Deno.test("the environment's API keys are hidden wherever they appear", () => {
  const r = Redactor.fromEnv({
    ANTHROPIC_API_KEY: "sk-ant-abcdef123456",
    GITHUB_TOKEN: "ghp_secretvalue",
    HOME: "/root",
    SHORT_TOKEN: "abc",
  });
  assert.equal(
    r.text("key sk-ant-abcdef123456 and ghp_secretvalue at /root"),
    `key ${REDACTED} and ${REDACTED} at /root`,
  );
  assert.equal(r.text("abc stays (too short to be a secret)"), "abc stays (too short to be a secret)");
  const named = Redactor.fromEnv({ MY_PROVIDER_CRED: "long-credential-1" }, ["MY_PROVIDER_CRED"]);
  assert.equal(named.text("long-credential-1"), REDACTED);
});

Deno.test("OTLP header lists and export URLs: secret-named or credential-looking values are secrets, a dataset, a content type or a user name are not", () => {
  const r = Redactor.fromEnv({
    OTEL_EXPORTER_OTLP_HEADERS:
      "x-honeycomb-team=HoneyKey1234567890, x-honeycomb-dataset=production,Content-Type=application/json",
    OTEL_EXPORTER_OTLP_TRACES_HEADERS: "api-key=shortkey,Authorization=Basic%20QmFzaWNDcmVkZW50aWFs99",
    PFLOW_PUSHGATEWAY_URL: "http://grafana@127.0.0.1:9091/",
    OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: "https://glpat-Tok3nAsUser99@collector.example/",
    OTEL_EXPORTER_OTLP_ENDPOINT: "https://otel:pw-otel-77@collector.example/",
  });
  assert.equal(
    r.text("deploying to production as grafana, content-type application/json"),
    "deploying to production as grafana, content-type application/json",
  );
  assert.equal(
    r.text("HoneyKey1234567890 shortkey QmFzaWNDcmVkZW50aWFs99 glpat-Tok3nAsUser99 pw-otel-77"),
    Array(5).fill(REDACTED).join(" "),
  );
});

Deno.test("learned secrets: auth header values and their credential after the scheme", () => {
  const r = new Redactor();
  assert.equal(r.active, false);
  r.learn({ headers: { Authorization: "Bearer tok-123456789", accept: "json" }, api_key: "k-abcdefgh" });
  assert.equal(r.active, true);
  assert.equal(r.text("sent Bearer tok-123456789"), `sent ${REDACTED}`);
  assert.equal(r.text("echo tok-123456789"), `echo ${REDACTED}`);
  assert.equal(r.text("k-abcdefgh json"), `${REDACTED} json`);
  assert.deepEqual(r.value({ token: "x", nested: { password: "p", note: "tok-123456789" } }), {
    token: REDACTED,
    nested: { password: REDACTED, note: REDACTED },
  });
});

Deno.test("snapshots keep structure within limits", () => {
  const r = new Redactor(["supersecret"]);
  assert.equal(truncateString("abcdef", 3), "abc…[truncated 3 chars]");
  const value = {
    text: "x".repeat(50),
    note: "supersecret inside",
    api_key: "whatever",
    list: Array.from({ length: 10 }, (_, i) => i),
    bytes: new Uint8Array(7),
    deep: { a: { b: { c: { d: 1 } } } },
  };
  const copy = snapshot(value, { maxString: 10, maxItems: 6, maxDepth: 3 }, r) as Record<string, unknown>;
  assert.equal(copy.text, "xxxxxxxxxx…[truncated 40 chars]");
  assert.equal(copy.note, `${REDACTED}…[truncated 7 chars]`, "redacted first, then cut to 10 chars");
  assert.equal(copy.api_key, REDACTED);
  assert.deepEqual(copy.list, [0, 1, 2, 3, 4, 5, "…[4 more items]"]);
  assert.equal(copy.bytes, "<binary 7 bytes>");
  assert.deepEqual(copy.deep, { a: { b: "[object nested deeper than 3 levels]" } });
  const cyclic: Record<string, unknown> = { name: "loop" };
  cyclic.self = cyclic;
  assert.deepEqual(snapshot(cyclic, { maxString: 100 }, r), { name: "loop", self: "[circular]" });
  const huge = Array.from({ length: 50 }, () => Array.from({ length: 50 }, () => ({ k: 1 })));
  const bounded = snapshot(huge, { maxString: 100, maxChars: 5000 }, r) as unknown[][];
  const text = JSON.stringify(bounded);
  assert.ok(text.length < 5_500, "work and size are bounded for huge values");
  assert.match(
    String(bounded.at(-1)),
    /^…\[\d+ more items not copied: past 5000 characters \(trace\.value_chars\)\]$/,
    "cut inside, with one marker for the rest",
  );
});

Deno.test("snapshots keep ordinary data whole; the limits default to 1,000 levels and 1,000,000 characters", () => {
  const r = new Redactor();
  const records = Array.from({ length: 100 }, (_, id) => ({
    id,
    ...Object.fromEntries(Array.from({ length: 24 }, (_, j) => [`field_${j}`, `value ${j}`])),
  }));
  assert.deepEqual(snapshot(records, { maxString: 10_000 }, r), records);
  let deep: unknown = "bottom";
  for (let level = 0; level < 1000; level++) deep = [deep];
  assert.deepEqual(snapshot(deep, { maxString: 100 }, r), deep, "1,000 levels are kept");
  let copy = snapshot([deep], { maxString: 100 }, r);
  for (let level = 0; level < 1000; level++) copy = (copy as unknown[])[0];
  assert.equal(copy, "[array of 1 nested deeper than 1000 levels]");
  const big = Array.from({ length: 100 }, () => "x".repeat(10_000));
  assert.deepEqual(snapshot(big, { maxString: 10_000 }, r), big, "100 strings at store_chars fit");
  const bigger = snapshot({ a: big, b: big }, { maxString: 10_000 }, r) as Record<string, unknown>;
  assert.equal(bigger["…"], "[1 more key not copied: past 1000000 characters (trace.value_chars)]");
});

Deno.test("every encoded form of a known secret is hidden: URL-encoded, base64 (any alignment, wrapped), hex", () => {
  for (const filler of FILLERS) encodedFormsHidden(filler);
});

function encodedFormsHidden(filler: number): void {
  const secret = "tok/SECRET+val=9876543210 with space";
  const r = redactorWith([secret], filler);
  const b64 = (s: string) => Buffer.from(s).toString("base64");
  const forms = {
    raw: secret,
    json: JSON.stringify(secret).slice(1, -1),
    uri: encodeURIComponent(secret),
    uriLower: encodeURIComponent(secret).replace(/%[0-9A-F]{2}/g, (h) => h.toLowerCase()),
    form: new URLSearchParams({ k: secret }).toString().slice(2),
    base64: b64(secret),
    base64url: Buffer.from(secret).toString("base64url"),
    hex: Buffer.from(secret).toString("hex"),
    HEX: Buffer.from(secret).toString("hex").toUpperCase(),
  };
  for (const [name, form] of Object.entries(forms)) {
    const out = r.text(`before ${form} after`);
    assert.ok(out.includes(REDACTED) && !out.includes(form), `${name}: ${out}`);
  }
  // Inside a longer encoded value (Basic auth of user:secret, a JSON body), at each of the 3 byte alignments.
  for (const prefix of ["", "u:", "us:", "user:"]) {
    const encoded = b64(`${prefix}${secret}\n`);
    const out = r.text(encoded);
    assert.ok(out.includes(REDACTED), `${prefix}: ${out}`);
    const left = out.replace(REDACTED, "");
    assert.ok(left.length <= 12, `at most the groups shared with the neighbours remain: ${out}`);
  }
  // Wrapped at 76 columns (base64(1)) or 60 (xxd -p), as raw text or inside a JSON string.
  const long = "sk-ant-api03-" + "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789".repeat(3);
  const r2 = redactorWith([long], filler);
  const wrapped = b64(long).replace(/.{76}/g, "$&\n");
  assert.ok(wrapped.includes("\n"));
  assert.doesNotMatch(r2.text(wrapped), /[A-Za-z0-9+/]{20,}/, r2.text(wrapped));
  const inJson = JSON.stringify({ stdout: wrapped });
  assert.ok(!r2.text(inJson).includes(b64(long).slice(0, 20)), r2.text(inJson));
  const hexWrapped = Buffer.from(long).toString("hex").replace(/.{60}/g, "$&\n");
  assert.doesNotMatch(r2.text(hexWrapped), /[0-9a-f]{20,}/);
  // Ordinary text and short values are left alone.
  assert.equal(r.text("nothing secret here: aGVsbG8="), "nothing secret here: aGVsbG8=");
}

Deno.test("a secret with any of its characters percent-encoded (either hex case) or JSON-escaped is hidden, whichever encoder chose them", () => {
  /** Percent-encodes the characters of `s` that `which` matches (UTF-8 bytes), in lower or upper case hex. */
  const percent = (s: string, which: RegExp, lower = false) =>
    s.replace(
      which,
      (c) =>
        [...Buffer.from(c)].map((b) => "%" + (lower ? b.toString(16) : b.toString(16).toUpperCase()).padStart(2, "0"))
          .join(""),
    );
  const star = "sk_live_Ab3xY9*Qz7Lm";
  const slash = "Ab3xY9/Qz+Lm=Pq'z";
  const spaced = "pass word+é/x-99";
  const encodings: [string, string][] = [
    // curl --data-urlencode: everything but unreserved, lowercase hex.
    [star, percent(star, /[^A-Za-z0-9._~-]/g, true)],
    [star, encodeURIComponent(star).replace("*", "%2A")],
    // Python's quote(): `/` kept; quote_plus/urlencode: space as `+`, `/` encoded.
    [slash, percent(slash, /[^A-Za-z0-9._~/-]/g)],
    [slash, percent(slash, /[^A-Za-z0-9._~-]/g)],
    [spaced, percent(spaced, /[^A-Za-z0-9._~/ -]/g).replaceAll(" ", "+")],
    [spaced, percent(spaced, /[^A-Za-z0-9._~ -]/g, true).replaceAll(" ", "+")],
    [spaced, percent(spaced, /[^A-Za-z0-9._~-]/g)],
    // PHP's json_encode: `/` as `\/`, `'` kept; any character as `\u00XX`; non-ASCII percent-encoded, the rest not.
    [slash, JSON.stringify(slash).slice(1, -1).replaceAll("/", "\\/")],
    [slash, slash.replace("Y", "\\u0059").replace("L", "\\u004c")],
    [spaced, spaced.replace("é", "%C3%A9")],
    [spaced, spaced.replace("é", "\\u00e9").replace("/", "\\/")],
    // Every character escaped, and escapes of both kinds mixed.
    [star, percent(star, /./g)],
    [star, [...star].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`).join("")],
    [slash, percent(slash, /[+=]/g).replace("/", "\\/")],
    // JSON that a command printed, inside pflow's JSON (escaped twice).
    [slash, JSON.stringify(JSON.stringify(slash).replaceAll("/", "\\/")).slice(3, -3)],
    // A character outside the BMP: four UTF-8 bytes, or a surrogate pair of `\u` escapes.
    ["emoji-😀-secret-x", "emoji-%F0%9F%98%80-secret-x"],
    ["emoji-😀-secret-x", "emoji-\\uD83D\\ude00-secret-x"],
    // A base64 form percent-encoded (a signature in a URL).
    ["tok?SECRET>val-0123456789", encodeURIComponent(Buffer.from("tok?SECRET>val-0123456789").toString("base64"))],
  ];
  for (const filler of FILLERS) {
    for (const [secret, encoded] of encodings) {
      const base = redactorWith([secret], filler);
      const child = base.child();
      child.add("child-secret-222");
      for (const r of [base, child]) {
        const text = `GET http://127.0.0.1:1/api?q=${encoded}&page=2 ${encoded}`;
        assert.equal(
          r.text(text),
          `GET http://127.0.0.1:1/api?q=${REDACTED}&page=2 ${REDACTED}`,
          `${filler}: ${encoded}`,
        );
      }
    }
  }
  // What is around an escaped secret stays, escapes included; text without a secret is left as it is.
  const r = new Redactor([slash]);
  assert.equal(
    r.text('{"url":"https:\\/\\/h\\/Ab3xY9\\/Qz+Lm=Pq\'z\\/x%2Fy"}'),
    `{"url":"https:\\/\\/h\\/${REDACTED}\\/x%2Fy"}`,
  );
  for (const text of ["100% sure", "%zz %4", "a\\u00e9b %C3%A9 %ff%fe \\uZZZZ", "C:\\users\\x", "\\"]) {
    assert.equal(r.text(text), text);
  }
});

Deno.test("URLs lose their userinfo password and secret-looking query values, even when no secret is known", () => {
  const r = new Redactor();
  assert.equal(
    r.text("GET http://alice:s3cr3t%40pw@db.example:5432/x?q=cats&api_key=AKIA123&sig=abc&page=2 failed"),
    `GET http://alice:${REDACTED}@db.example:5432/x?q=cats&api_key=${REDACTED}&sig=${REDACTED}&page=2 failed`,
  );
  for (const name of ["key", "token", "access_token", "signature", "X-Amz-Signature", "password", "client_secret"]) {
    assert.equal(r.text(`https://h/p?${name}=v4lue`), `https://h/p?${name}=${REDACTED}`, name);
  }
  assert.equal(r.text("https://h/p?monkey=1&tokens_total=3"), "https://h/p?monkey=1&tokens_total=3");
  assert.equal(
    r.text("mailto:bob@example.com and http://bob@example.com/"),
    "mailto:bob@example.com and http://bob@example.com/",
  );
  assert.deepEqual(r.value({ url: "https://u:pw1234@h/" }), { url: `https://u:${REDACTED}@h/` });
  // Learning a URL learns its secrets, so their other forms are hidden too.
  r.learn({ url: "https://h/p?token=tok%2FSECRET%2Bval" });
  assert.equal(r.text("echo tok/SECRET+val"), `echo ${REDACTED}`);
  assert.equal(r.text(Buffer.from("tok/SECRET+val").toString("base64")), REDACTED);
});

Deno.test("every name=value after ?, & or # is checked: a stray second ?, a fragment, a URL inside JSON text", () => {
  const r = new Redactor();
  const cases: [string, string][] = [
    // A stray second `?`: the first value does not swallow the next parameter.
    ["http://h/?a=1?token=abc&page=2", `http://h/?a=1?token=${REDACTED}&page=2`],
    ["?a=1??token=abc", `?a=1??token=${REDACTED}`],
    ["http://h/?next=http://x/?sig=abc123&b=1", `http://h/?next=http://x/?sig=${REDACTED}&b=1`],
    // A `?` that starts no parameter is part of the value, hidden with it.
    ["http://x/?token=ab?cd", `http://x/?token=${REDACTED}`],
    // OAuth's implicit flow puts the token in the fragment.
    ["http://x/cb#access_token=frag12345&state=1", `http://x/cb#access_token=${REDACTED}&state=1`],
    // A URL inside JSON text: the value ends at `\"` (the JSON stays valid), `\n`, `\u0026` (Go's `&`); `\/` is in it.
    ['{"cmd":"echo \\"http://h/?token=$BAR\\""}', `{"cmd":"echo \\"http://h/?token=${REDACTED}\\""}`],
    ['{"u":"https://h/?a=1\\u0026token=abc\\u0026b=2"}', `{"u":"https://h/?a=1\\u0026token=${REDACTED}\\u0026b=2"}`],
    ['{"u":"https://h/?token=ab\\/cd&x=1"}', `{"u":"https://h/?token=${REDACTED}&x=1"}`],
    ["line ?token=abc\\nnext", `line ?token=${REDACTED}\\nnext`],
  ];
  for (const [text, hidden] of cases) {
    assert.equal(r.text(text), hidden, text);
    if (text.startsWith("{")) assert.deepEqual(Object.keys(JSON.parse(r.text(text))), Object.keys(JSON.parse(text)));
  }
  for (const kept of ["# token=abc", "a=b ? c=d", "https://h/p?monkey=1&tokens_total=3#top"]) {
    assert.equal(r.text(kept), kept);
  }
  // Learning a URL learns the secret after a stray `?` too.
  const learner = new Redactor();
  learner.learn({ url: "http://h/?a=1?token=learned-SECRET-42" });
  assert.equal(learner.text("echo learned-SECRET-42"), `echo ${REDACTED}`);
});

Deno.test("hex dumps with separators, secrets split over lines and JSON printed inside JSON are hidden", () => {
  for (const filler of FILLERS) dumpsHidden(filler);
});

function dumpsHidden(filler: number): void {
  const secret = 'sk-ant-api03-REVIEW/key+"quoted"\\é-0123456789abcdef';
  const r = redactorWith([secret], filler);
  const hex = Buffer.from(secret).toString("hex");
  const pairs = hex.match(/../g)!;
  const dumps = {
    "od -An -tx1": pairs.map((b, i) => (i % 16 === 0 && i > 0 ? "\n" : "") + " " + b).join("") + "\n",
    "xxd grouped": pairs.map((b, i) => b + (i % 2 === 1 ? " " : "")).join(""),
    "xxd -i": "  " + pairs.map((b) => `0x${b}`).join(", ").replace(/(?:[^,]*,){12}/g, "$&\n "),
    "colons, upper case": pairs.join(":").toUpperCase(),
    "od -w4 with colons": pairs.map((b, i) => (i % 4 === 0 && i > 0 ? "\n" : "") + ":" + b).join(""),
    "C escapes": pairs.map((b) => `\\x${b}`).join(""),
  };
  for (const [name, dump] of Object.entries(dumps)) {
    for (const text of [dump, JSON.stringify({ stdout: dump })]) {
      const out = r.text(`before ${text} after`);
      assert.ok(out.includes(REDACTED), `${name}: ${out}`);
      assert.doesNotMatch(
        out,
        /(?:[0-9a-f]{2}[\s:,x\\n]*){6}/i,
        `${name}: no run of the secret's bytes is left: ${out}`,
      );
    }
  }
  // Split over lines as written (`fold -w 10`), raw and inside a JSON string.
  const folded = secret.replace(/.{10}/g, "$&\n");
  assert.equal(r.text(`>${folded}<`), `>${REDACTED}<`);
  assert.equal(r.text(JSON.stringify(folded)), JSON.stringify(REDACTED));
  // A command printed the secret as JSON (jq, Python's ASCII escapes); pflow writes that text inside its JSON.
  const python = JSON.stringify(secret).replace(
    /[\u0080-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
  for (const printed of [JSON.stringify(secret), python]) {
    assert.equal(r.text(printed), `"${REDACTED}"`, printed);
    assert.equal(r.text(JSON.stringify({ stdout: printed })), JSON.stringify({ stdout: `"${REDACTED}"` }), printed);
  }
  // Ordinary hex, timestamps and ids stay.
  const ordinary = "at 2026-12-01T23:19:57 id 81480e97-69c1 mac 00:1a:2b:3c:4d:5e sha e3b0c44298fc1c14";
  assert.equal(r.text(ordinary), ordinary);
}

Deno.test("a workflow's templates are not learned as secrets; what they resolve to is", () => {
  const r = new Redactor();
  r.learn(
    { headers: { Authorization: "Bearer ${tok}", "X-Api-Key": "literal-key-123456" }, api_key: "${key.value}" },
    undefined,
    { templates: true },
  );
  r.add("Token ${other}");
  assert.equal(r.text("Use ${tok}, ${key.value} and ${other}"), "Use ${tok}, ${key.value} and ${other}");
  assert.equal(r.text("sent literal-key-123456"), `sent ${REDACTED}`, "a literal secret beside a template");
  r.learn({ Authorization: "Bearer abcdefgh12345" });
  assert.equal(r.text("x abcdefgh12345"), `x ${REDACTED}`);
});

Deno.test("Bearer credentials are hidden in any text; prose, templates and query punctuation stay", () => {
  const r = new Redactor();
  assert.equal(
    r.text(`curl -H 'Authorization: Bearer tokLITERAL123456' https://x`),
    `curl -H 'Authorization: Bearer ${REDACTED}' https://x`,
  );
  assert.equal(r.text("bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig-1"), `bearer ${REDACTED}`);
  for (const kept of ["Bearer ${token}", "the bearer instruments of trade", "Bearer [REDACTED]"]) {
    assert.equal(r.text(kept), kept);
  }
  // The value of a secret query parameter ends before the punctuation that follows the URL.
  assert.equal(
    r.text("request failed: GET http://h:9/x?token=abc123: connection refused"),
    `request failed: GET http://h:9/x?token=${REDACTED}: connection refused`,
  );
  assert.equal(r.text("see (https://h/?sig=abc1234)."), `see (https://h/?sig=${REDACTED}).`);
});

Deno.test("a Basic credential is hidden whole, also where a known password hid only a part of its base64", () => {
  const basic = Buffer.from("user:s3cretpw").toString("base64"); // dXNlcjpzM2NyZXRwdw==
  assert.equal(new Redactor().text(`Authorization: Basic ${basic}`), `Authorization: Basic ${REDACTED}`);
  assert.equal(new Redactor().text(`{"auth":"basic ${basic}"}`), `{"auth":"basic ${REDACTED}"}`);
  const urlSafe = Buffer.from("ü:??>>?").toString("base64url");
  assert.equal(new Redactor().text(`BASIC ${urlSafe} then`), `BASIC ${REDACTED} then`);
  // The password alone is known (from a URL's userinfo): its bits in the base64 do not leave the rest showing.
  const r = new Redactor();
  r.learn("http://user:s3cretpw@127.0.0.1:8080/");
  assert.equal(r.text(`{"Authorization":"Basic ${basic}"}`), `{"Authorization":"Basic ${REDACTED}"}`);
  // Prose, and a value that is not `user:password` base64, stay.
  for (const kept of ["basic settings apply", "Basic authentication failed", "Basic [REDACTED]", "Basic ${cred}"]) {
    assert.equal(new Redactor().text(kept), kept);
  }
  // An empty user-id with a token after it (Azure DevOps' personal access tokens) is a credential.
  const pat = Buffer.from(":azurePat1234567890").toString("base64");
  assert.equal(new Redactor().text(`Basic ${pat}`), `Basic ${REDACTED}`);
});

Deno.test("Basic then base64 of data is not a credential: a tab or line break after the word, or a user-id no user has", () => {
  const data = (text: string) => Buffer.from(text).toString("base64");
  const basic = data("user:s3cretpw");
  for (
    const kept of [
      // A table of tiers and their configs: {"max":10}.
      "tier\tconfig_b64\nbasic\teyJtYXgiOjEwfQ==\npro\teyJtYXgiOjEwMH0=\n",
      `basic\t${basic}`,
      `Basic\n${basic}`,
      `Basic  ${basic}`,
      `Basic ${data('{"max":10}')}`,
      `Basic ${data("[1,2]:x")}`,
      `Basic ${data("a b:c")}`,
      `Basic ${data("name,tier:basic")}`,
      `Basic ${data("'q':1")}`,
      `Basic ${data(":x y z")}`,
      `Basic ${data("ab:\u0085cd")}`,
    ]
  ) {
    assert.equal(new Redactor().text(kept), kept, JSON.stringify(kept));
  }
  assert.equal(new Redactor().text(`basic ${basic}`), `basic ${REDACTED}`);
});

Deno.test("redactCredentialMembers: credential-named members of JSON text, also cut off or quoted in a page, are hidden and learned", () => {
  const { text, credentials } = redactCredentialMembers(
    '{"user":"bob","password":"hunter2hunter2","access_token":"tok_9f\\u0041","pin_password": 123456, ' +
      '"Key":"photos/cat.jpg","api_key":"","nested":{"client_secret":"abc\\"def"}}',
  );
  assert.equal(
    text,
    '{"user":"bob","password":"[REDACTED]","access_token":"[REDACTED]","pin_password": "[REDACTED]", ' +
      '"Key":"photos/cat.jpg","api_key":"","nested":{"client_secret":"[REDACTED]"}}',
  );
  assert.deepEqual(credentials, ["hunter2hunter2", "tok_9fA", "123456", 'abc"def']);
  // A page quoting JSON, cut off inside a value: hidden, not learned.
  const page = redactCredentialMembers('<pre>error: {"token": "eyJhbGciOiJIUzI1');
  assert.equal(page.text, '<pre>error: {"token": "[REDACTED]"');
  assert.deepEqual(page.credentials, []);
  assert.deepEqual(redactCredentialMembers("no json here: password=x").text, "no json here: password=x");
});

Deno.test("redactCredentialMembers: a credential-named member of JSON quoted as a string (in JSON or in text) is hidden and learned", () => {
  const inner = JSON.stringify({ access_token: "abc123secretXYZ", ok: false, pin_password: 123456, user: "bob" });
  const json = redactCredentialMembers(JSON.stringify({ error: `upstream said: ${inner}` }));
  assert.equal(
    json.text,
    String.raw`{"error":"upstream said: {\"access_token\":\"[REDACTED]\",\"ok\":false,` +
      String.raw`\"pin_password\":\"[REDACTED]\",\"user\":\"bob\"}"}`,
  );
  assert.deepEqual(json.credentials, ["abc123secretXYZ", "123456"]);
  // A text body quoting a JSON string; spaces after the colon; a value with escapes of its own.
  const text = redactCredentialMembers(
    `upstream said: ${JSON.stringify(JSON.stringify({ password: 'p"w\\n-1234567' }, null, 1))}`,
  );
  assert.equal(text.text, String.raw`upstream said: "{\n \"password\": \"[REDACTED]\"\n}"`);
  assert.deepEqual(text.credentials, ['p"w\\n-1234567']);
  // Cut off inside the value: hidden, not learned. Empty and already hidden values, and other names, stay.
  const cut = redactCredentialMembers(String.raw`{"e":"{\"token\": \"eyJhbGciOiJIUzI1`);
  assert.equal(cut.text, String.raw`{"e":"{\"token\": \"[REDACTED]\"`);
  assert.deepEqual(cut.credentials, []);
  const kept = String.raw`{"e":"{\"password\":\"\",\"token\":\"[REDACTED]\",\"user\":\"bob\"}"}`;
  assert.equal(redactCredentialMembers(kept).text, kept);
});

Deno.test("everything under a secret-named object or list is secret: strings and numbers, at any depth", () => {
  const r = new Redactor();
  r.learn({
    credentials: { user: "bob", key: "inner-secret-1", nested: [{ note: "deep-secret-22" }], pin: 98_765_432 },
    token: ["list-secret-333"],
    settings: { timeout: 30_000_000, label: "visible-label" },
  });
  const text = "inner-secret-1 deep-secret-22 list-secret-333 98765432 30000000 visible-label bob";
  assert.equal(r.text(text), `${Array(4).fill(REDACTED).join(" ")} 30000000 visible-label bob`);
  // A value under a name that is not secret still goes by its own key.
  const plain = new Redactor();
  plain.learn({ config: { api_key: "keyed-secret-4444", name: "plain-value-55" } });
  assert.equal(plain.text("keyed-secret-4444 plain-value-55"), `${REDACTED} plain-value-55`);
});

Deno.test("a numeric secret is hidden as a whole number only, and JSON around it stays valid", () => {
  for (const filler of FILLERS) numbersHidden(filler);
});

function numbersHidden(filler: number): void {
  const r = redactorWith([], filler);
  r.learn({ password: 12_345_678_901, pin: 4242 }); // 4242: too short to be looked for
  const doc = JSON.stringify(
    {
      value: 12_345_678_901,
      list: [12_345_678_901, 1_234_567_890_123, 312_345_678_901, -12_345_678_901, 12_345_678_901.5],
      text: "pw 12345678901, then 4242",
      version: "v12345678901.2",
    },
    null,
    2,
  );
  const out = r.text(doc);
  const parsed = JSON.parse(out);
  assert.deepEqual(parsed, {
    value: REDACTED,
    list: [REDACTED, 1_234_567_890_123, 312_345_678_901, -12_345_678_901, 12_345_678_901.5],
    text: `pw ${REDACTED}, then 4242`,
    version: "v12345678901.2",
  });
  assert.equal(JSON.parse(r.text(JSON.stringify({ a: 12_345_678_901 }))).a, REDACTED, "compact JSON too");
  assert.equal(r.text("code 12345678901."), `code ${REDACTED}.`);
  assert.deepEqual(r.value({ a: 12_345_678_901, b: 7, c: [12_345_678_901] }), { a: REDACTED, b: 7, c: [REDACTED] });
  // A secret with a sign and a fraction is matched as written, its dot and sign not wildcards.
  const decimal = redactorWith([], filler);
  decimal.learn({ secret: -1234.5678 });
  assert.equal(
    decimal.text("got -1234.5678 and -1234x5678 and 1234.5678"),
    `got ${REDACTED} and -1234x5678 and 1234.5678`,
  );
  // Its encodings are hidden like any secret's.
  const base64 = Buffer.from("12345678901").toString("base64");
  assert.equal(r.text(`b64 ${base64}`), `b64 ${REDACTED}`);
}

Deno.test("thousands of learned secrets keep redaction fast: only the few that may occur are searched for", () => {
  const r = redactorWith([], 5_000);
  r.learn({ session: "sess-abc-123456" });
  const text = "lorem ipsum dolor sit amet, 0a 1b 2c 3d 4e 5f ".repeat(220) + "sess-abc-123456";
  const start = performance.now();
  for (let i = 0; i < 200; i++) assert.ok(r.text(text + i).endsWith(`${REDACTED}${i}`));
  // Searching every secret's ~25 forms took ~60 ms a text here; the index takes ~2.
  assert.ok(performance.now() - start < 3_000, `${performance.now() - start} ms`);
});

Deno.test("redactCredentials: credentials at any depth become [REDACTED]; other data, and what needs no change, stay", () => {
  for (const name of ["access_token", "api_key", "X-Api-Key", "password", "client_secret", "set-cookie", "Cookie"]) {
    assert.ok(isCredentialName(name), name);
  }
  for (const name of ["Key", "key", "session", "sig", "max_tokens", "input_tokens", "author", "passage", "tokenizer"]) {
    assert.ok(!isCredentialName(name), name);
  }
  const listing = { Contents: Array.from({ length: 3 }, (_, i) => ({ Key: `photos/${i}.jpg`, Size: i })) };
  assert.equal(redactCredentials(listing).value, listing, "nothing to hide: the same object, not a copy");
  const answer = {
    access_token: "tok-123456789",
    expires_in: 3600,
    empty_token: "",
    nested: [{ password: { any: "thing" } }, { note: "kept" }],
    headers: { "set-cookie": ["a=1", "b=2"], "content-type": "text/plain" },
  };
  assert.deepEqual(redactCredentials(answer).value, {
    access_token: REDACTED,
    expires_in: 3600,
    empty_token: "",
    nested: [{ password: REDACTED }, { note: "kept" }],
    headers: { "set-cookie": [REDACTED, REDACTED], "content-type": "text/plain" },
  });
  assert.deepEqual(redactCredentials(answer).credentials.sort(), ["a=1", "b=2", "thing", "tok-123456789"].sort());
  assert.deepEqual(redactCredentials(listing).credentials, []);
  assert.equal(
    redactCredentials({ token: Array.from({ length: 5000 }, (_, i) => `t-${i}-xxxxxx`) }).credentials.length,
    1000,
    "capped",
  );
  assert.equal(answer.access_token, "tok-123456789", "the value itself is not changed");
  assert.deepEqual(redactCredentials("tok-123456789", { name: "token" }), {
    value: REDACTED,
    credentials: ["tok-123456789"],
  }, "a value named by its path");
  assert.equal(
    redactCredentials("tok-123456789", { name: "token", limit: 0 }).credentials.length,
    0,
    "nothing learned",
  );
  assert.equal(redactCredentials("tok-123456789").value, "tok-123456789");
  assert.deepEqual(
    redactCredentials({ access_token: ["t".repeat(MAX_LEARNED_CHARS), "u".repeat(MAX_LEARNED_CHARS + 1)] }).credentials,
    ["t".repeat(MAX_LEARNED_CHARS)],
    "a longer value is a document, not a credential: hidden, not learned",
  );
});

Deno.test("Redactor.child: hides its base's secrets, learned before or after, and keeps its own to itself", () => {
  const base = new Redactor(["base-secret-111"]);
  const child = base.child();
  child.add("child-secret-222");
  base.add("later-secret-333");
  base.add("424242424242");
  const text = "base-secret-111 child-secret-222 later-secret-333";
  assert.equal(child.text(text), `${REDACTED} ${REDACTED} ${REDACTED}`);
  assert.equal(base.text(text), `${REDACTED} child-secret-222 ${REDACTED}`, "the base does not learn the child's");
  assert.equal(child.value(424242424242), REDACTED, "a number the base knows");
  assert.ok(new Redactor().child().active === false && base.child().active);
});

Deno.test("Redactor.child: a secret it learned that holds one of its base's is hidden whole", () => {
  const base = new Redactor(["hunter2secret"]);
  const child = base.child();
  child.add("sid-777777-hunter2secret");
  assert.equal(child.text("got sid-777777-hunter2secret"), `got ${REDACTED}`);
  assert.equal(base.text("got sid-777777-hunter2secret"), `got sid-777777-${REDACTED}`);
});

Deno.test("Redactor.child: URLs and Bearer credentials are hidden in what its base's secrets leave, as the base hides them", () => {
  const base = new Redactor(["sk-base-111111"]);
  const child = base.child();
  child.add("child-secret-222");
  // Once the key is hidden, `bearer` starts a word: the credential after it is hidden too, by the child as by its base.
  const text = "sk-base-111111bearer abcdefgh1 child-secret-222 https://u:pw1@h/?sig=s1";
  assert.equal(
    base.text(text),
    `${REDACTED}bearer ${REDACTED} child-secret-222 https://u:${REDACTED}@h/?sig=${REDACTED}`,
  );
  assert.equal(child.text(text), `${REDACTED}bearer ${REDACTED} ${REDACTED} https://u:${REDACTED}@h/?sig=${REDACTED}`);
  assert.equal(base.child().text(text), base.text(text), "a child that learned nothing hides as its base");
  for (const r of [base, child]) assert.equal(r.text(r.text(text)), r.text(text), "hiding again changes nothing");
});

Deno.test("Redactor.child: its base's secrets are hidden whole before any URL or Bearer credential, and one inside another or overlapping it too", () => {
  // The environment's key holds `:` and `&`, where a Bearer credential or a query value ends.
  const base = new Redactor(["abcdef12:xyz789", "pa&ss1234567", "outer-sid-777777-tail"]);
  const child = base.child();
  child.add("child-secret-222", "sid-777777");
  const text = "Authorization: Bearer abcdef12:xyz789 http://h/?token=pa&ss1234567 got outer-sid-777777-tail";
  const hidden = `Authorization: Bearer ${REDACTED} http://h/?token=${REDACTED} got ${REDACTED}`;
  assert.equal(base.text(text), hidden);
  assert.equal(child.text(text), hidden, "the trace's redactor hides what stdout's hides");
  // Two secrets of one redactor that overlap: neither leaves a piece of itself.
  const r = new Redactor(["first-part-OVERLAP", "OVERLAP-second-part"]);
  assert.equal(r.text("x first-part-OVERLAP-second-part y"), `x ${REDACTED} y`);
  for (const filler of FILLERS) {
    const many = redactorWith(["first-part-OVERLAP", "OVERLAP-second-part"], filler);
    assert.equal(many.text("x first-part-OVERLAP-second-part y"), `x ${REDACTED} y`, `${filler} fillers`);
  }
});

// ---------------------------------------------------------------- secret names, matched without regular expressions

// The rules as they were written, as regular expressions: the hand-written matchers must answer as these do.
const SECRET_NAME_RULE =
  /(^|[^a-z])(api[_-]?key|apikey|key|token|secret|password|passwd|pass|authorization|auth|cookie|set-cookie|credentials?|private[_-]?key|session|sig|signature)($|[^a-z])/i;
const CREDENTIAL_NAME_RULE =
  /(^|[^a-z])(api[_-]?key|apikey|access[_-]?key|token|secret|password|passwd|authorization|cookie|set-cookie|credentials?|private[_-]?key)($|[^a-z])/i;
const SECRET_ENV_RULE = /(_API_KEY|_TOKEN|_SECRET|_PASSWORD|_ACCESS_KEY|^API_KEY)$/i;

/** Random names built from the rules' words, their neighbours and characters case folding treats specially. */
function randomName(random: () => number): string {
  const pieces = [
    "api",
    "key",
    "apikey",
    "access",
    "private",
    "token",
    "tokens",
    "secret",
    "password",
    "passwd",
    "pass",
    "auth",
    "authorization",
    "cookie",
    "set",
    "credential",
    "credentials",
    "session",
    "sig",
    "signature",
    "max",
    "x",
    "s",
    "_",
    "-",
    "__",
    ".",
    " ",
    "1",
    "K",
    "ſ",
    "ı",
    "İ",
    "é",
    "\u212a",
    "API",
    "KEY",
    "Token",
    "SeT-CoOkIe",
    "AccEss",
    "_TOKEN",
    "_API_KEY",
    "_secret",
    "_PassWord",
    "_ACCESS_KEY",
    "API_KEY",
    "_ACCESS",
    "_APIKEY",
  ];
  let name = "";
  const n = 1 + Math.floor(random() * 5);
  for (let i = 0; i < n; i++) {
    let piece = pieces[Math.floor(random() * pieces.length)];
    if (random() < 0.3) piece = piece.toUpperCase();
    name += piece;
  }
  return name;
}

Deno.test("secret, credential and secret-environment names are told as the regular expressions they replace tell them, for 50,000 random names", () => {
  let seed = 7;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const counts = { secret: 0, credential: 0, env: 0 };
  for (let i = 0; i < 50_000; i++) {
    const name = randomName(random);
    assert.equal(isSecretName(name), SECRET_NAME_RULE.test(name), `isSecretName(${JSON.stringify(name)})`);
    assert.equal(isCredentialName(name), CREDENTIAL_NAME_RULE.test(name), `isCredentialName(${JSON.stringify(name)})`);
    assert.equal(isSecretEnvName(name), SECRET_ENV_RULE.test(name), `isSecretEnvName(${JSON.stringify(name)})`);
    if (isSecretName(name)) counts.secret++;
    if (isCredentialName(name)) counts.credential++;
    if (isSecretEnvName(name)) counts.env++;
  }
  // Both answers occur often, so agreement is not agreement on "no".
  for (const [rule, count] of Object.entries(counts)) assert.ok(count > 1_000 && count < 49_000, `${rule}: ${count}`);
});

Deno.test("secret names: the cases the rules are for", () => {
  for (
    const name of [
      "api_key",
      "x-api-key",
      "X-API-KEY",
      "apiKey",
      "access_token",
      "Authorization",
      "set-cookie",
      "client_secret",
      "sig",
      "private-key",
      "DB_PASSWORD",
    ]
  ) {
    assert.ok(isSecretName(name), name);
  }
  for (
    const name of ["max_tokens", "input_tokens", "passwords", "keyboard", "monkey", "signing", "", "ſecret", "\u212aey"]
  ) {
    assert.ok(!isSecretName(name), name);
  }
  for (const name of ["api_key", "access-key", "private_key", "access_token", "set-cookie", "password"]) {
    assert.ok(isCredentialName(name), name);
  }
  for (const name of ["Key", "session", "auth", "sig", "api__key", "api.key", "xapi_key", "max_tokens"]) {
    assert.ok(!isCredentialName(name), name);
  }
  for (const name of ["OPENAI_API_KEY", "gh_token", "API_KEY", "api_key", "AWS_SECRET", "X_ACCESS_KEY"]) {
    assert.ok(isSecretEnvName(name), name);
  }
  for (const name of ["XAPI_KEY", "TOKEN", "MY_TOKENS", "PATH", "HOME", "_TOKEN_", "ſ_TOKEN".slice(1) + "X"]) {
    assert.ok(!isSecretEnvName(name), name);
  }
});

Deno.test("redactCredentials and learn walk a value nested 90,000 (or 200,000) deep without recursion", () => {
  // (redactCredentials learns from the first 100,000 values; it hides at any depth.)
  let deep: unknown = { access_token: "tok-deep-123456" };
  for (let i = 0; i < 90_000; i++) deep = [deep];
  const { value, credentials } = redactCredentials(deep);
  assert.deepEqual(credentials, ["tok-deep-123456"]);
  let inner = value;
  for (let i = 0; i < 90_000; i++) inner = (inner as unknown[])[0];
  assert.deepEqual(inner, { access_token: REDACTED });
  for (let i = 0; i < 110_000; i++) deep = { next: deep };
  const deeper = redactCredentials(deep);
  assert.deepEqual(deeper.credentials, [], "past what is learned from");
  inner = deeper.value;
  for (let i = 0; i < 110_000; i++) inner = (inner as Record<string, unknown>).next;
  for (let i = 0; i < 90_000; i++) inner = (inner as unknown[])[0];
  assert.deepEqual(inner, { access_token: REDACTED }, "still hidden");
  const loop: Record<string, unknown> = { token: "tok-loop-123456" };
  loop.self = { again: [loop] };
  assert.throws(
    () => redactCredentials(loop),
    TypeError,
    "a value that contains itself is refused, as JSON refuses it",
  );
  const redactor = new Redactor();
  let named: unknown = { password: "pw-deep-123456" };
  for (let i = 0; i < 90_000; i++) named = { next: named };
  redactor.learn(named);
  assert.equal(redactor.text("x pw-deep-123456 y"), "x [REDACTED] y");
});

Deno.test("urlCredentials and hideUserinfo read a URL's userinfo when its scheme is missing or mistyped", () => {
  for (const value of ["bob:pw-123456@host:4318", "http//bob:pw-123456@host", "http://bob:pw-123456@host:99999"]) {
    assert.deepEqual(urlCredentials(value), ["pw-123456", "pw-123456", "bob:pw-123456", "bob:pw-123456"], value);
    assert.equal(hideUserinfo(value), value.replace("pw-123456", REDACTED), value);
  }
  assert.deepEqual(urlCredentials("http://bob:p%40ss@host"), ["p%40ss", "p@ss", "bob:p%40ss", "bob:p@ss"]);
  assert.equal(hideUserinfo("bob:p@ss@host/x@y"), `bob:${REDACTED}@host/x@y`);
  assert.equal(hideUserinfo("tok123@host"), `${REDACTED}@host`);
  // No userinfo: a path's or query's `@` is not one.
  assert.deepEqual(urlCredentials("http://host/path@x"), []);
  assert.equal(hideUserinfo("notaurl"), "notaurl");
  assert.equal(hideUserinfo("host?to=a@b"), "host?to=a@b");
});
