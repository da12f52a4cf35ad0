/**
 * Reading the text files pflow reads (workflows, settings, price tables):
 * a file, a pipe and a device are read up to a cap, so `/dev/zero` given by
 * mistake is one clear error, never a read without end; through the CLI,
 * exit 2 naming the file; and a ledger path that is a named pipe is refused
 * before anything opens it (an open would wait for a writer forever).
 * @module
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { readUtf8File } from "../src/util/utf8.ts";
import { runPflow, tempDir } from "./support/cli.ts";

Deno.test("readUtf8File: a file within the cap, a pipe, and more than the cap from a file or a device", async () => {
  const dir = tempDir("pflow-read-text-");
  try {
    const file = join(dir.path, "small.json");
    writeFileSync(file, '{"a": "é"}');
    assert.equal(await readUtf8File(file), '{"a": "é"}');
    assert.equal(await readUtf8File(file, { maxBytes: 11 }), '{"a": "é"}', "exactly the cap is fine");
    const large = (error: NodeJS.ErrnoException) => error.code === "EFBIG" && /more than/.test(error.message);
    await assert.rejects(readUtf8File(file, { maxBytes: 10 }), large);
    await assert.rejects(readUtf8File("/dev/zero", { maxBytes: 1 << 20 }), large);
    // A named pipe with a writer: read to its end.
    const fifo = join(dir.path, "pipe");
    assert.equal(spawnSync("mkfifo", [fifo]).status, 0);
    const writer = spawn("sh", ["-c", `printf '{"piped": true}' > '${fifo}'`]);
    // Listened for before the read: the writer may be gone by the time the read returns.
    const closed = new Promise((resolve) => writer.on("close", resolve));
    assert.equal(await readUtf8File(fifo), '{"piped": true}');
    await closed;
  } finally {
    dir.cleanup();
  }
});

Deno.test("/dev/zero as a workflow or a price table, and a named pipe as the ledger: exit 2 naming it, at once", async () => {
  const dir = tempDir("pflow-read-text-");
  try {
    const env = { PFLOW_HOME: dir.path };
    const cases: [string[], string][] = [
      [["run", "/dev/zero"], "error: /dev/zero: cannot read workflow: it holds more than 64 MiB"],
      [["pricing", "show", "--price-table", "/dev/zero"], "error: /dev/zero: cannot read price table: it holds more"],
    ];
    for (const [args, start] of cases) {
      const result = await runPflow(args, { env });
      assert.equal(result.code, 2, result.stderr);
      assert.ok(result.stderr.startsWith(start), result.stderr);
    }
    assert.equal(spawnSync("mkfifo", [join(dir.path, "ledger.db")]).status, 0);
    const report = await runPflow(["cost", "report"], { env });
    assert.equal(report.code, 2, report.stderr);
    assert.equal(
      report.stderr.trim(),
      `error: ${join(dir.path, "ledger.db")}: cannot read the ledger: it is not a regular file; ` +
        "move it away and pflow starts a new one",
    );
  } finally {
    dir.cleanup();
  }
});
