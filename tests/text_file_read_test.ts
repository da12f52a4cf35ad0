/**
 * Reading the text files pflow reads (workflows, settings, price tables):
 * a regular file is read up to a cap; a named pipe, socket, device or
 * directory is refused at once, saying what it is, never waited on or read
 * without end; through the CLI, exit 2 naming the file; and a ledger path that is a named pipe is refused
 * before anything opens it (an open would wait for a writer forever).
 * @module
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { readUtf8File } from "../src/util/utf8.ts";
import { PFLOW_BIN, runPflow, tempDir } from "./support/cli.ts";

Deno.test("readUtf8File: a file within the cap, more than the cap, and a pipe or device refused at once", async () => {
  const dir = tempDir("pflow-read-text-");
  try {
    const file = join(dir.path, "small.json");
    writeFileSync(file, '{"a": "é"}');
    assert.equal(await readUtf8File(file), '{"a": "é"}');
    assert.equal(await readUtf8File(file, { maxBytes: 11 }), '{"a": "é"}', "exactly the cap is fine");
    const large = (error: NodeJS.ErrnoException) => error.code === "EFBIG" && /more than/.test(error.message);
    await assert.rejects(readUtf8File(file, { maxBytes: 10 }), large);
    const refused = (kind: string) => (error: NodeJS.ErrnoException) =>
      error.code === "ENOTREGULAR" && error.message === `it is ${kind}, not a regular file`;
    await assert.rejects(readUtf8File("/dev/zero"), refused("a character device"));
    // A named pipe with no writer: opening it for reading would wait for one for ever.
    const fifo = join(dir.path, "pipe");
    assert.equal(spawnSync("mkfifo", [fifo]).status, 0);
    await assert.rejects(readUtf8File(fifo), refused("a named pipe (FIFO)"));
    await assert.rejects(
      readUtf8File(dir.path),
      (error: NodeJS.ErrnoException) => error.code === "EISDIR" && /it is a directory/.test(error.message),
    );
  } finally {
    dir.cleanup();
  }
});

Deno.test("a named pipe, device or directory as a workflow, settings.json or price table: exit 2 at once, naming what it is", () => {
  const dir = tempDir("pflow-read-text-");
  try {
    const home = join(dir.path, "home");
    mkdirSync(home);
    const fifo = join(dir.path, "wf.fifo");
    assert.equal(spawnSync("mkfifo", [fifo]).status, 0);
    const wf = join(dir.path, "wf.json");
    writeFileSync(wf, JSON.stringify({ ir_version: "0.1.0", nodes: [{ id: "a", type: "echo" }] }));
    // Before the fix the open of a FIFO blocked, and SIGTERM did not end it: killed with SIGKILL after 10 s.
    const run = (args: string[], cwd = dir.path) =>
      spawnSync(PFLOW_BIN, args, {
        cwd,
        env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: dir.path, PFLOW_HOME: home },
        timeout: 10_000,
        killSignal: "SIGKILL",
      });
    const pipe = "a named pipe (FIFO), not a regular file";
    const cases: [string[], string][] = [
      [["run", "./wf.fifo"], `error: ./wf.fifo: cannot read workflow: it is ${pipe}`],
      // A bare name that is no saved workflow: what is there is named, not "no such workflow".
      [["run", "wf.fifo"], `error: wf.fifo: cannot read workflow: it is ${pipe}`],
      [["wf.fifo"], `error: wf.fifo: cannot read workflow: it is ${pipe}`],
      [["run", "/dev/zero"], "error: /dev/zero: cannot read workflow: it is a character device, not a regular file"],
      [["pricing", "show", "--price-table", "wf.fifo"], `error: wf.fifo: cannot read price table: it is ${pipe}`],
    ];
    for (const [args, line] of cases) {
      const result = run(args);
      assert.equal(result.status, 2, `${args.join(" ")}: ${result.stderr}`);
      assert.equal(String(result.stderr).trim(), line);
    }
    const settings = join(home, "settings.json");
    assert.equal(spawnSync("mkfifo", [settings]).status, 0);
    let result = run(["run", wf]);
    assert.equal(result.status, 2, String(result.stderr));
    assert.equal(String(result.stderr).trim(), `error: ${settings}: cannot read settings: it is ${pipe}`);
    rmSync(settings);
    mkdirSync(settings);
    result = run(["run", wf]);
    assert.equal(result.status, 2, String(result.stderr));
    assert.equal(
      String(result.stderr).trim(),
      `error: ${settings}: cannot read settings: it is a directory, not a regular file`,
    );
  } finally {
    dir.cleanup();
  }
});

Deno.test("/dev/zero as a workflow or a price table, and a named pipe as the ledger: exit 2 naming it, at once", async () => {
  const dir = tempDir("pflow-read-text-");
  try {
    const env = { PFLOW_HOME: dir.path };
    const cases: [string[], string][] = [
      [["run", "/dev/zero"], "error: /dev/zero: cannot read workflow: it is a character device"],
      [["pricing", "show", "--price-table", "/dev/zero"], "error: /dev/zero: cannot read price table: it is a char"],
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
      `error: ${join(dir.path, "ledger.db")}: cannot read the ledger: it is a named pipe (FIFO), not a regular file; ` +
        "move it away and pflow starts a new one",
    );
  } finally {
    dir.cleanup();
  }
});

Deno.test("a named pipe in place of the ledger's inbox: a run warns and succeeds, cost report is exit 2 naming it", () => {
  const dir = tempDir("pflow-read-text-");
  try {
    const home = join(dir.path, "home");
    mkdirSync(home);
    const inbox = join(home, "ledger-inbox.jsonl");
    assert.equal(spawnSync("mkfifo", [inbox]).status, 0);
    const wf = join(dir.path, "wf.json");
    writeFileSync(
      wf,
      JSON.stringify({ ir_version: "0.1.0", nodes: [{ id: "a", type: "shell", params: { command: "echo hi" } }] }),
    );
    // Before the fix the open of the FIFO blocked every run's start: killed with SIGKILL after 10 s.
    const run = (args: string[]) =>
      spawnSync(PFLOW_BIN, args, {
        cwd: dir.path,
        env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: dir.path, PFLOW_HOME: home },
        timeout: 10_000,
        killSignal: "SIGKILL",
        encoding: "utf8",
      });
    const named = `the inbox ${inbox}: it is a named pipe (FIFO), not a regular file`;
    const ran = run(["run", wf]);
    assert.equal(ran.status, 0, ran.stderr);
    assert.equal(ran.stdout, "hi\n");
    assert.ok(ran.stderr.startsWith("warning: ledger: ") && ran.stderr.includes(named), ran.stderr);
    const report = run(["cost", "report"]);
    assert.equal(report.status, 2, report.stderr);
    assert.ok(report.stderr.includes(named), report.stderr);
  } finally {
    dir.cleanup();
  }
});
