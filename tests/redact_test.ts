import assert from "node:assert/strict";
import { isSecretName, REDACTED, Redactor } from "../src/observability/redact.ts";
import { snapshot, truncateString } from "../src/observability/truncate.ts";

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
  assert.deepEqual(copy.deep, { a: { b: "[object]" } });
  const cyclic: Record<string, unknown> = { name: "loop" };
  cyclic.self = cyclic;
  assert.deepEqual(snapshot(cyclic, { maxString: 100 }, r), { name: "loop", self: "[circular]" });
  const huge = Array.from({ length: 50 }, () => Array.from({ length: 50 }, () => ({ k: 1 })));
  const bounded = JSON.stringify(snapshot(huge, { maxString: 100, maxNodes: 500 }, r));
  assert.ok(bounded.length < 20_000 && bounded.includes("value too large"), "work is bounded for huge values");
});
