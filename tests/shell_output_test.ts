/**
 * What a `shell` node gives as its output, through the compiled binary:
 * stdout bytes are never silently replaced (invalid UTF-8 fails the node,
 * `stdout_encoding: base64` gives the raw bytes), and a command that exited
 * is not waited for because a background process still holds its output.
 * @module
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { gunzipSync } from "node:zlib";
import { runPflow, workflow, writeWorkflow } from "./support/cli.ts";
import { assertExit, explain, oneJson, withHome } from "./support/e2e.ts";

Deno.test("shell: stdout that is not UTF-8 fails the node naming the offset and stdout_encoding; base64 keeps the bytes", async () => {
  await withHome(async (dir, env) => {
    const out = join(dir, "out.gz");
    const nodes = (shellParams: Record<string, unknown>, writeParams: Record<string, unknown>) =>
      workflow([
        { id: "z", type: "shell", params: { command: "printf hi | gzip -c", ...shellParams } },
        { id: "w", type: "write-file", params: { path: out, content: "${z.stdout}", ...writeParams } },
      ], { edges: [{ from: "z", to: "w" }] });

    const text = await runPflow(["run", writeWorkflow(dir, "text.json", nodes({}, {}))], { env, cwd: dir });
    assertExit(text, 1);
    assert.match(text.stderr, /node 'z' failed: stdout is not valid UTF-8: byte 0x8B at byte offset 1 \(line 1\)/);
    assert.match(text.stderr, /set the node's 'stdout_encoding' param to base64/);
    assert.equal(text.stderr.trim().split("\n").length, 1, explain(text));
    assert.ok(!existsSync(out), "nothing corrupted was written");

    const binary = nodes({ stdout_encoding: "base64" }, { encoding: "base64" });
    const raw = await runPflow(["run", writeWorkflow(dir, "base64.json", binary)], { env, cwd: dir });
    assertExit(raw, 0);
    assert.equal(gunzipSync(readFileSync(out)).toString(), "hi");

    const bad = nodes({ stdout_encoding: "hex" }, {});
    assertExit(await runPflow(["run", writeWorkflow(dir, "bad.json", bad)], { env, cwd: dir }), 2);
  });
});

Deno.test("shell: a byte-order mark on stdout is kept; stderr is decoded leniently", async () => {
  await withHome(async (dir, env) => {
    const file = writeWorkflow(
      dir,
      "bom.json",
      workflow([{ id: "a", type: "shell", params: { command: "printf '\\357\\273\\277x'; printf 'e\\377' >&2" } }], {
        outputs: { out: { source: "${a.stdout}" }, err: { source: "${a.stderr}" } },
      }),
    );
    const result = await runPflow(["run", file, "--json"], { env, cwd: dir });
    assertExit(result, 0);
    const doc = oneJson(result) as { result: { out: string; err: string } };
    assert.equal(doc.result.out, "\ufeffx");
    assert.equal(doc.result.err, "e\ufffd");
  });
});

Deno.test("shell: a command that exited is not waited for while a background process holds its output", async () => {
  await withHome(async (dir, env) => {
    const pidFile = join(dir, "bg.pid");
    const alive = join(dir, "alive");
    const file = writeWorkflow(
      dir,
      "bg.json",
      workflow([
        // The background job writes to the pipe after the node ended: it must not die of EPIPE.
        {
          id: "a",
          type: "shell",
          params: {
            command: `sleep 20 & echo $! > '${pidFile}'; (sleep 1; echo more; echo yes > '${alive}') & echo started`,
            timeout: 5,
          },
        },
        { id: "b", type: "shell", params: { command: "sleep 2" } },
      ], { edges: [{ from: "a", to: "b" }], outputs: { out: { source: "${a.stdout}" } } }),
    );
    const result = await runPflow(["run", file, "--json"], { env, cwd: dir });
    try {
      process.kill(Number(readFileSync(pidFile, "utf8")), "SIGKILL");
    } catch { /* gone */ }
    assertExit(result, 0);
    assert.equal((oneJson(result) as { result: { out: string } }).result.out, "started\n");
    assert.match(
      result.stderr,
      /node 'a': the command exited \(code 0\) but a process it started in the background still holds/,
    );
    assert.doesNotMatch(result.stderr, /timed out/);
    assert.equal(readFileSync(alive, "utf8"), "yes\n", "the background process died when pflow stopped waiting");
  });
});

Deno.test("shell: output a background job writes just after the shell exits is kept, without a warning", async () => {
  await withHome(async (dir, env) => {
    const file = writeWorkflow(
      dir,
      "late.json",
      workflow([{ id: "a", type: "shell", params: { command: "(sleep 0.05; echo late) & echo early" } }], {
        outputs: { out: { source: "${a.stdout}" } },
      }),
    );
    const result = await runPflow(["run", file, "--json"], { env, cwd: dir });
    assertExit(result, 0);
    assert.equal((oneJson(result) as { result: { out: string } }).result.out, "early\nlate\n");
    assert.doesNotMatch(result.stderr, /background/, explain(result));
  });
});
