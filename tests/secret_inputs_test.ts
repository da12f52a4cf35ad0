/**
 * Secret-named inputs through the compiled binary: an object or a number
 * under a secret name is hidden like a string (text and JSON results, trace
 * files), an untyped secret stays the text it was given, and an input that
 * does not parse is reported without its value.
 * @module
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { runPflow, withTempHome, workflow, writeWorkflow } from "./support/cli.ts";
import { typeParams } from "../src/cli/args.ts";

const INNER = "inner-SECRET-value-77";
const NUMBER = 12_345_678_901;

/** Every file under `dir`, as text. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => readFileSync(join(entry.parentPath, entry.name), "utf8"));
}

Deno.test("an object under a secret name, and a number, are hidden in results and traces; JSON stays valid", async () => {
  await withTempHome(async ({ dir, home, env }) => {
    const file = writeWorkflow(
      dir,
      "wf.json",
      workflow([
        { id: "creds", type: "echo", params: { value: "${credentials}" } },
        { id: "pw", type: "echo", params: { value: "${password}" } },
      ], {
        inputs: { credentials: { type: "object" }, password: { type: "integer" } },
        edges: [{ from: "creds", to: "pw" }],
        outputs: { creds: { source: "${creds.output}" }, pw: { source: "${pw.output}" } },
      }),
    );
    const credentials = JSON.stringify({ user: "bob", nested: { value: INNER }, pin: 98_765_432 });
    const args = ["run", file, `credentials=${credentials}`, `password=${NUMBER}`, "--trace"];
    const text = await runPflow(args, { env });
    assert.equal(text.code, 0, text.stderr);
    const json = await runPflow([...args, "--output-format", "json"], { env });
    assert.equal(json.code, 0, json.stderr);
    const doc = JSON.parse(json.stdout);
    assert.deepEqual(doc.result, {
      creds: { user: "bob", nested: { value: "[REDACTED]" }, pin: "[REDACTED]" },
      pw: "[REDACTED]",
    });
    const traces = filesUnder(home).filter((t) => t.includes('"workflow_name"') || t.includes("creds"));
    assert.ok(traces.length >= 2, "two traces written");
    for (const trace of traces) JSON.parse(trace); // still JSON
    for (const out of [text.stdout, text.stderr, json.stdout, json.stderr, ...filesUnder(home)]) {
      for (const secret of [INNER, String(NUMBER), "98765432"]) assert.ok(!out.includes(secret), `${secret} leaked`);
    }
  });
});

Deno.test("an input named like data that may be a secret (sort_key, session) is hidden only when its value looks like a credential", async () => {
  await withTempHome(async ({ dir, env }) => {
    const file = writeWorkflow(
      dir,
      "wf.json",
      workflow([{ id: "a", type: "shell", params: { command: "printf 'id,created_at,%s' '${session}'" } }], {
        inputs: { sort_key: { type: "string" }, session: { type: "string" }, sig: { type: "integer" } },
      }),
    );
    const token = "sess9f8e7d6c5b4a";
    const plain = await runPflow(["run", file, "sort_key=created_at", "session=morning", "sig=3"], { env });
    assert.equal(plain.code, 0, plain.stderr);
    assert.equal(plain.stdout, "id,created_at,morning\n");
    const secret = await runPflow(["run", file, "sort_key=created_at", `session=${token}`, "sig=3"], { env });
    assert.equal(secret.code, 0, secret.stderr);
    assert.equal(secret.stdout, "id,created_at,[REDACTED]\n");
  });
});

Deno.test("an untyped secret input stays the text it was given, not a number made of it", async () => {
  await withTempHome(async ({ dir, env }) => {
    const out = join(dir, "token.txt");
    const file = writeWorkflow(
      dir,
      "wf.json",
      workflow([{ id: "w", type: "write-file", params: { path: out, content: "${token}" } }], {
        inputs: { token: { type: "any" } },
      }),
    );
    const result = await runPflow(["run", file, "token=123456.780"], { env });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(readFileSync(out, "utf8"), "123456.780");
    assert.ok(!result.stdout.includes("123456.780") && !result.stderr.includes("123456.780"));
  });
});

Deno.test("an input that does not parse is reported without its value when it may hold a secret", async () => {
  await withTempHome(async ({ dir, env }) => {
    const file = writeWorkflow(
      dir,
      "wf.json",
      workflow([{ id: "a", type: "echo", params: { value: "${password} ${creds} ${plain}" } }], {
        inputs: { password: { type: "integer" }, creds: { type: "object" }, plain: { type: "integer" } },
      }),
    );
    const secretText = "hunter2-SECRET-abc";
    const result = await runPflow(
      ["run", file, `password=${secretText}`, `creds={"password":"${secretText}"`, "plain=abc"],
      { env },
    );
    assert.equal(result.code, 2, result.stderr);
    assert.ok(!result.stderr.includes(secretText), result.stderr);
    assert.match(result.stderr, /input 'password' must be an integer, got a value not shown here/);
    assert.match(result.stderr, /input 'creds' must be JSON \(invalid JSON[^)]*\)*, got a value not shown here/);
    // A value that cannot hold a secret is still quoted, to show what was wrong with it.
    assert.match(result.stderr, /input 'plain' must be an integer, got 'abc'/);
  });
});

Deno.test("an untyped key=value (or an answer at the inputs prompt): JSON that does not parse is reported without the parser's quote of it when it may hold a secret", () => {
  const message = (text: string, key: string) => {
    const { problems } = typeParams({ [key]: text }, undefined);
    assert.equal(problems.length, 1, `${key}=${text} parsed`);
    return problems[0].message;
  };
  for (const [text, key] of [['{"a": hunter2secret}', "api_key"], ['{"password": hunter2secret}', "config"]]) {
    const said = message(text, key);
    assert.match(said, new RegExp(`^input '${key}' must be valid JSON when it starts with \\[ or \\{ \\(invalid JSON`));
    assert.ok(!said.includes("hunter2"), said);
  }
  // Without a secret in sight, the parser's own words help to fix the JSON.
  assert.ok(message('{"a": notsecret}', "config").includes("notsecret"));
});
