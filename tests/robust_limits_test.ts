/**
 * Bounded memory and text encodings, through the compiled binary: shell
 * output, http bodies and read-file bounded (`max_output_bytes`,
 * `max_response_bytes`, `max_bytes`); file nodes refuse pipes and devices; workflows nested too deep; files that
 * are not UTF-8 (workflows, settings, price tables, read-file) and UTF-8
 * byte-order marks.
 * @module
 */
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { spawnSync } from "node:child_process";
import { existsSync, lstatSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runPflow, workflow, writeWorkflow } from "./support/cli.ts";
import { assertExit, explain, oneJson, runGuarded, withHome } from "./support/e2e.ts";

const MiB = 1024 * 1024;

function errorOf(result: { stdout: string }): { message: string; node_id: string | null; type: string } {
  return JSON.parse(result.stdout).error;
}

// ---------------------------------------------------------------- shell output

Deno.test("shell: output past max_output_bytes stops the command and fails the node", async () => {
  await withHome(async (dir, env) => {
    for (const [stream, command] of [["stdout", "yes"], ["stderr", "yes >&2"]]) {
      const file = writeWorkflow(
        dir,
        "yes.json",
        workflow([{ id: "flood", type: "shell", params: { command, max_output_bytes: 100_000 } }]),
      );
      const result = await runGuarded(["run", file, "--json"], { env });
      assertExit(result, 1);
      const error = errorOf(result);
      assert.equal(error.node_id, "flood");
      assert.match(
        error.message,
        new RegExp(`command wrote more than 100,000 bytes to ${stream} \\(max_output_bytes\\) and was stopped: yes`),
      );
      assert.match(error.message, /raise the node's 'max_output_bytes' param/);
    }
  });
});

Deno.test("shell: the default bound is 64 MiB per stream; output under it is kept whole", async () => {
  await withHome(async (dir, env) => {
    const over = writeWorkflow(
      dir,
      "over.json",
      workflow([{ id: "big", type: "shell", params: { command: `head -c ${65 * MiB} /dev/zero` } }]),
    );
    const result = await runGuarded(["run", over, "--json"], { env });
    assertExit(result, 1);
    assert.match(errorOf(result).message, /more than 64 MiB to stdout \(max_output_bytes\)/);
    const under = writeWorkflow(
      dir,
      "under.json",
      workflow([{
        id: "ok",
        type: "shell",
        params: { command: "head -c 5000 /dev/zero | tr '\\0' x", max_output_bytes: 5000 },
      }], {
        outputs: { n: { source: "${ok.stdout}" } },
      }),
    );
    const fits = await runPflow(["run", under], { env });
    assertExit(fits, 0);
    assert.equal(fits.stdout, `${"x".repeat(5000)}\n`);
  });
});

Deno.test("max_output_bytes, max_response_bytes and max_bytes must be positive whole numbers (exit 2)", async () => {
  await withHome(async (dir, env) => {
    const cases = [
      ["shell", { command: "true", max_output_bytes: 0 }, /max_output_bytes' must be a positive number of bytes/],
      ["shell", { command: "true", max_output_bytes: 1.5 }, /max_output_bytes: must be integer/],
      ["http", { url: "http://127.0.0.1:1/", max_response_bytes: -1 }, /max_response_bytes' must be a positive/],
      ["read-file", { path: "x", max_bytes: "lots" }, /max_bytes: must be integer, got string/],
    ] as const;
    for (const [type, params, message] of cases) {
      const file = writeWorkflow(dir, "bad.json", workflow([{ id: "n", type, params }]));
      const result = await runPflow(["run", file], { env });
      assertExit(result, 2);
      assert.match(result.stderr, message);
    }
  });
});

// ---------------------------------------------------------------- http bodies

async function withServer(
  handler: Parameters<typeof createServer>[1],
  fn: (url: string) => Promise<void>,
): Promise<void> {
  const server: Server = createServer(handler);
  server.listen(0, "127.0.0.1");
  await new Promise((resolve) => server.once("listening", resolve));
  try {
    await fn(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  } finally {
    server.closeAllConnections();
    server.close();
  }
}

Deno.test("http: a body past max_response_bytes fails the node, by content-length or while streaming", async () => {
  let endless = 0;
  await withServer((req, res) => {
    if (req.url === "/sized") {
      res.setHeader("content-length", String(2 * MiB));
      res.end(Buffer.alloc(2 * MiB, 120));
      return;
    }
    // No content-length, never ends: only the bound stops the read.
    endless++;
    const chunk = Buffer.alloc(64 * 1024, 121);
    const pump = () => {
      while (res.write(chunk)) { /* fill the socket */ }
      res.once("drain", pump);
    };
    res.on("error", () => {});
    pump();
  }, async (base) => {
    await withHome(async (dir, env) => {
      const sized = writeWorkflow(
        dir,
        "sized.json",
        workflow([{ id: "get", type: "http", params: { url: `${base}/sized`, max_response_bytes: MiB } }]),
      );
      const a = await runGuarded(["run", sized, "--json"], { env });
      assertExit(a, 1);
      assert.match(
        errorOf(a).message,
        /response body of GET .*\/sized is 2 MiB \(content-length\), more than max_response_bytes \(1 MiB\)/,
      );
      const stream = writeWorkflow(
        dir,
        "stream.json",
        workflow([{ id: "get", type: "http", params: { url: `${base}/endless` } }]),
      );
      const b = await runGuarded(["run", stream, "--json"], { env });
      assertExit(b, 1);
      assert.match(errorOf(b).message, /\/endless was cut off: it is longer than max_response_bytes \(64 MiB\)/);
      assert.equal(endless, 1);
    });
  });
});

// ---------------------------------------------------------------- read-file

Deno.test("read-file: a file past max_bytes fails the node, and a device is refused", async () => {
  await withHome(async (dir, env) => {
    const big = join(dir, "big.txt");
    writeFileSync(big, "x".repeat(2000));
    const file = writeWorkflow(
      dir,
      "read.json",
      workflow([{ id: "r", type: "read-file", params: { path: big, max_bytes: 1000 } }]),
    );
    const a = await runPflow(["run", file, "--json"], { env });
    assertExit(a, 1);
    assert.match(errorOf(a).message, /big\.txt is 2,000 bytes, more than max_bytes \(1,000 bytes\)/);
    const zero = writeWorkflow(
      dir,
      "zero.json",
      workflow([{ id: "r", type: "read-file", params: { path: "/dev/zero" } }]),
    );
    const b = await runGuarded(["run", zero, "--json"], { env });
    assertExit(b, 1);
    assert.equal(
      errorOf(b).message,
      "not a regular file: /dev/zero is a character device (read-file reads files; " +
        "use a shell node to read or write pipes and devices)",
    );
  });
});

Deno.test("file nodes refuse a named pipe at once instead of waiting on it for ever", async () => {
  await withHome(async (dir, env) => {
    const fifo = join(dir, "fifo");
    assert.equal(spawnSync("mkfifo", [fifo]).status, 0);
    const file = join(dir, "file.txt");
    writeFileSync(file, "x");
    const cases: [Record<string, unknown>, string][] = [
      [{ type: "read-file", params: { path: fifo } }, `${fifo} is a named pipe (FIFO) (read-file reads files;`],
      [
        { type: "copy-file", params: { source: fifo, destination: join(dir, "c") } },
        `${fifo} is a named pipe (FIFO) (copy-file copies files;`,
      ],
      [
        { type: "move-file", params: { source: fifo, destination: join(dir, "m") } },
        `${fifo} is a named pipe (FIFO) (move-file moves files;`,
      ],
      [
        { type: "write-file", params: { path: fifo, content: "x" } },
        `${fifo} is a named pipe (FIFO) (write-file writes files;`,
      ],
      [
        { type: "write-file", params: { path: fifo, content: "x", append: true } },
        `${fifo} is a named pipe (FIFO) (write-file writes files;`,
      ],
      [
        { type: "copy-file", params: { source: file, destination: fifo, overwrite: true } },
        `${fifo} is a named pipe (FIFO) (copy-file copies files;`,
      ],
    ];
    for (const [node, named] of cases) {
      const wf = writeWorkflow(dir, "fifo.json", workflow([{ id: "f", ...node }]));
      const result = await runGuarded(["run", wf, "--json"], { env, guardMs: 10_000 });
      assertExit(result, 1);
      const message = errorOf(result).message;
      assert.ok(message.startsWith(`not a regular file: ${named}`), message);
      assert.ok(lstatSync(fifo).isFIFO(), `${node.type}: the pipe is left as it was`);
    }
  });
});

Deno.test("read-file: invalid UTF-8 fails with the offset and suggests encoding: base64", async () => {
  await withHome(async (dir, env) => {
    const latin1 = join(dir, "latin1.txt");
    writeFileSync(latin1, Buffer.from("caf\xe9\nna\xefve\n", "latin1"));
    const file = writeWorkflow(dir, "read.json", workflow([{ id: "r", type: "read-file", params: { path: latin1 } }]));
    const result = await runPflow(["run", file], { env });
    assertExit(result, 1);
    assert.match(
      result.stderr,
      /latin1\.txt: not valid UTF-8: byte 0xE9 at byte offset 3 \(line 1\); to read binary or non-UTF-8 files use encoding: base64/,
    );
    const base64 = writeWorkflow(
      dir,
      "b64.json",
      workflow([{ id: "r", type: "read-file", params: { path: latin1, encoding: "base64" } }]),
    );
    const ok = await runPflow(["run", base64], { env });
    assertExit(ok, 0);
    assert.equal(Buffer.from(ok.stdout.trim(), "base64").toString("latin1"), "caf\xe9\nna\xefve\n");
  });
});

// ---------------------------------------------------------------- nesting depth

/** A workflow whose echo value is `levels` nested arrays (the document itself is 4 levels deep around it). */
function nested(levels: number): string {
  return `{"ir_version":"0.1.0","nodes":[{"id":"a","type":"echo","params":{"value":${"[".repeat(levels)}${
    "]".repeat(levels)
  }}}]}`;
}

Deno.test("a workflow nested deeper than 1,000 levels is a validation error (exit 2) with the JSON document", async () => {
  await withHome(async (dir, env) => {
    const deep = writeWorkflow(dir, "deep.json", nested(100_000));
    const json = await runGuarded(["run", deep, "--json"], { env });
    assertExit(json, 2);
    const doc = oneJson(json);
    assert.equal(doc.subtype, "error_validation");
    const problems = (doc.error as { problems: { file: string; line: number; column: number; message: string }[] })
      .problems;
    assert.equal(problems[0].file, deep);
    assert.equal(problems[0].line, 1);
    assert.equal(problems[0].column, nested(2).indexOf("[[") + 1 + 996, "points at the bracket that opens level 1,001");
    assert.match(problems[0].message, /nested deeper than 1000 levels of arrays and objects/);
    const text = await runGuarded(["run", deep], { env });
    assertExit(text, 2);
    assert.match(text.stderr, /^error: .*deep\.json:1:\d+: nested deeper than 1000 levels/m);
    assert.doesNotMatch(text.stderr, /call stack/);
    const limit = writeWorkflow(dir, "limit.json", nested(996));
    assertExit(await runPflow(["run", limit], { env }), 0);
    const over = writeWorkflow(dir, "over.json", nested(997));
    assertExit(await runPflow(["run", over], { env }), 2);
  });
});

Deno.test("a JSON param nested deeper than 1,000 levels is a usage error (exit 2)", async () => {
  await withHome(async (dir, env) => {
    const file = writeWorkflow(dir, "echo.json", workflow([{ id: "a", type: "echo", params: { value: "${v}" } }]));
    const result = await runGuarded(["run", file, `v=${"[".repeat(50_000)}${"]".repeat(50_000)}`, "--json"], { env });
    assertExit(result, 2);
    assert.match(errorOf(result).message, /input 'v' must not be JSON nested deeper than 1000 levels/);
  });
});

Deno.test("JSON nested 20,000 (or 200,000) deep made at run time: the output is refused by name, the report is whole", async () => {
  await withHome(async (dir, env) => {
    for (const depth of [20_000, 200_000]) {
      const data = join(dir, `deep-${depth}.json`);
      writeFileSync(data, "[".repeat(depth) + "]".repeat(depth));
      const file = writeWorkflow(
        dir,
        "deep.json",
        workflow([
          { id: "a", type: "shell", params: { command: `cat '${data}'` } },
          { id: "b", type: "echo", params: { value: "${a.stdout[0]}" } },
        ], { name: "deep", edges: [{ from: "a", to: "b" }] }),
      );
      const refused = "output 'output' is nested deeper than 1000 levels of arrays and objects, too deep to print; " +
        "flatten it, or output the text it was parsed from (e.g. ${node.stdout})";
      const json = await runGuarded(["run", file, "--json"], { env });
      assertExit(json, 1);
      const doc = oneJson(json);
      assert.equal(doc.subtype, "error_during_execution");
      assert.equal(doc.workflow_name, "deep");
      assert.equal(doc.num_nodes, 2, "both nodes ran");
      assert.deepEqual(doc.error, { message: refused, node_id: null, type: "OutputTooDeepError" });
      assert.deepEqual(doc.result, { output: null });
      const text = await runGuarded(["run", file], { env });
      assertExit(text, 1);
      assert.equal(text.stderr, `error: ${refused}\n`);
      assert.equal(text.stdout, "");
      const key = await runGuarded(["run", file, "-o", "b.output"], { env });
      assertExit(key, 1);
      assert.match(key.stderr, /^error: --output-key 'b\.output' is nested deeper than 1000 levels/);
      // The text it came from prints as it is.
      const raw = await runGuarded(["run", file, "-o", "a.stdout"], { env });
      assertExit(raw, 0);
      assert.ok(raw.stdout === `${"[".repeat(depth)}${"]".repeat(depth)}\n`, "printed as it is");
      // Written into text, it fails its node with a message that names the template.
      const inText = writeWorkflow(
        dir,
        "text.json",
        workflow([
          { id: "a", type: "shell", params: { command: `cat '${data}'` } },
          { id: "b", type: "echo", params: { value: "got ${a.stdout[0]}" } },
        ], { edges: [{ from: "a", to: "b" }] }),
      );
      const failed = await runGuarded(["run", inText], { env });
      assertExit(failed, depth === 20_000 ? 0 : 1);
      if (depth !== 20_000) {
        assert.match(failed.stderr, /^error: node 'b' failed: \$\{a\.stdout\[0\]\} is nested deeper than 1000 levels/);
      }
    }
  });
});

Deno.test("a value nested 200,000 deep made at run time, given to write-file, http or shell as JSON, fails that node naming the param", async () => {
  await withHome(async (dir, env) => {
    const depth = 200_000;
    const data = join(dir, "deep.json");
    writeFileSync(data, "[".repeat(depth) + "]".repeat(depth));
    const cases: [string, Record<string, unknown>, string][] = [
      ["write-file", { path: join(dir, "out.json"), content: "${a.stdout[0]}" }, "content"],
      ["http", { url: "http://127.0.0.1:9/", method: "POST", body: "${a.stdout[0]}" }, "body"],
      ["shell", { command: "cat > /dev/null", stdin: "${a.stdout[0]}" }, "stdin"],
    ];
    for (const [type, params, param] of cases) {
      const file = writeWorkflow(
        dir,
        `deep-${type}.json`,
        workflow([
          { id: "a", type: "shell", params: { command: `cat '${data}'` } },
          { id: "b", type, params },
        ], { edges: [{ from: "a", to: "b" }] }),
      );
      const result = await runGuarded(["run", file, "--json"], { env });
      assertExit(result, 1);
      const error = oneJson(result).error as { node_id: string; message: string };
      assert.equal(error.node_id, "b", type);
      assert.equal(
        error.message,
        `param '${param}' cannot be written as JSON: its value is nested deeper than 1000 levels of arrays and objects`,
        type,
      );
      assert.doesNotMatch(result.stderr, /Maximum call stack/);
    }
    assert.ok(!existsSync(join(dir, "out.json")), "nothing written");
  });
});

// ---------------------------------------------------------------- encodings of pflow's own files

const LATIN1_WORKFLOW = Buffer.from(
  '{\n  "ir_version": "0.1.0",\n  "description": "caf\xe9",\n  "nodes": [{"id": "a", "type": "echo"}]\n}\n',
  "latin1",
);

Deno.test("a workflow file that is not UTF-8 is a validation error naming the file, line, column and byte offset", async () => {
  await withHome(async (dir, env) => {
    const file = join(dir, "latin1.json");
    writeFileSync(file, LATIN1_WORKFLOW);
    const text = await runPflow(["run", file], { env });
    assertExit(text, 2);
    assert.ok(
      text.stderr.includes(
        `error: ${file}:3:22: not valid UTF-8: byte 0xE9 at byte offset 48; save the file as UTF-8`,
      ),
      explain(text),
    );
    const json = await runPflow(["run", file, "--json"], { env });
    assertExit(json, 2);
    const doc = oneJson(json);
    assert.equal(doc.subtype, "error_validation");
    assert.deepEqual(
      (doc.error as { problems: unknown[] }).problems.map((p) => {
        const { file, line, column } = p as Record<string, unknown>;
        return { file, line, column };
      }),
      [{ file, line: 3, column: 22 }],
    );
    mkdirSync(join(env.PFLOW_HOME, "workflows"));
    writeFileSync(join(env.PFLOW_HOME, "workflows", "legacy.json"), LATIN1_WORKFLOW);
    const saved = await runPflow(["run", "legacy"], { env });
    assertExit(saved, 2);
    assert.match(saved.stderr, /legacy\.json:3:22: not valid UTF-8: byte 0xE9/);
  });
});

Deno.test("the column of a byte that is not UTF-8 counts the characters before it, not their bytes", async () => {
  await withHome(async (dir, env) => {
    const file = join(dir, "mixed.json");
    // "😀" (4 bytes) and "é" (2 bytes) in UTF-8, then a Latin-1 "é": the 21st character of line 3.
    const utf8 = Buffer.from('{\n  "ir_version": "0.1.0",\n  "description": "😀é', "utf8");
    const rest = Buffer.from('\xe9",\n  "nodes": [{"id": "a", "type": "echo"}]\n}\n', "latin1");
    writeFileSync(file, Buffer.concat([utf8, rest]));
    const result = await runPflow(["run", file], { env });
    assertExit(result, 2);
    assert.ok(
      result.stderr.includes(`error: ${file}:3:21: not valid UTF-8: byte 0xE9 at byte offset 51`),
      explain(result),
    );
  });
});

const BOM = "\ufeff";

Deno.test("a UTF-8 byte-order mark is accepted in workflow, settings and price files", async () => {
  await withHome(async (dir, env) => {
    const file = writeWorkflow(
      dir,
      "bom.json",
      BOM + JSON.stringify(workflow([{ id: "a", type: "echo", params: { value: "café" } }])),
    );
    writeFileSync(join(env.PFLOW_HOME, "settings.json"), `${BOM}{"trace": {"store_chars": 5000}}`);
    writeFileSync(
      join(env.PFLOW_HOME, "pricing.yaml"),
      `${BOM}models:\n  local/tiny:\n    input: 1\n    output: 2\n`,
    );
    const result = await runPflow(["run", file, "--json"], { env });
    assertExit(result, 0);
    assert.deepEqual(oneJson(result).result, { output: "café" });
    const prices = await runPflow(["pricing", "show", "local/tiny", "--json"], { env });
    assertExit(prices, 0);
    assert.match(prices.stdout, /"input": 1/);
  });
});

Deno.test("settings and price files that are not UTF-8 are validation errors naming the file and offset", async () => {
  await withHome(async (dir, env) => {
    const file = writeWorkflow(dir, "ok.json", workflow([{ id: "a", type: "echo" }]));
    const settings = join(env.PFLOW_HOME, "settings.json");
    writeFileSync(settings, Buffer.from('{"default_model": "caf\xe9"}', "latin1"));
    const a = await runPflow(["run", file], { env });
    assertExit(a, 2);
    assert.ok(a.stderr.includes(`error: ${settings}:1:23: not valid UTF-8: byte 0xE9 at byte offset 22`), explain(a));
    writeFileSync(settings, "{}");
    const prices = join(env.PFLOW_HOME, "pricing.yaml");
    writeFileSync(prices, Buffer.from("models:\n  local/caf\xe9:\n    input: 1\n    output: 1\n", "latin1"));
    const b = await runPflow(["pricing", "show"], { env });
    assertExit(b, 2);
    assert.ok(b.stderr.includes(`error: ${prices}:2:12: not valid UTF-8: byte 0xE9 at byte offset 19`), explain(b));
  });
});
