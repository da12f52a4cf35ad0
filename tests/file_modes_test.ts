/**
 * Files pflow writes, through the compiled binary: traces, plan files,
 * planner traces, saved workflows, trace pages (and the ledger) are 0600 in
 * 0700 folders whatever the umask; `write-file` writes through symlinks,
 * dangling or not, and handles names up to the file-system limit.
 * @module
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { PFLOW_BIN, ROOT, tempDir, workflow, writeWorkflow } from "./support/cli.ts";
import { withLlmHome } from "./support/llm_home.ts";

/** Runs pflow under `umask` (asynchronously: the local LLM server answers in this process). */
async function underUmask(umask: string, args: string[], options: { env: Record<string, string>; cwd: string }) {
  const child = spawn("sh", ["-c", `umask ${umask}; exec "$@"`, "sh", PFLOW_BIN, ...args], {
    cwd: options.cwd,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/tmp", ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout.on("data", (d) => out += d);
  child.stderr.on("data", (d) => out += d);
  const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
  assert.equal(code, 0, `${args.join(" ")}\n${out}`);
}

function mode(path: string): string {
  return (statSync(path).mode & 0o777).toString(8).padStart(3, "0");
}

Deno.test("traces, plans, planner traces, saved workflows, trace pages and the ledger are 0600 in 0700 folders, whatever the umask", async () => {
  for (const umask of ["000", "022", "077"]) {
    await withLlmHome(async ({ dir, home, srv, env }) => {
      const wf = writeWorkflow(
        dir,
        "wf.json",
        workflow([{ id: "ask", type: "llm", params: { model: "anthropic/claude-haiku-4-5", prompt: "hi" } }]),
      );
      await underUmask(umask, ["run", wf, "--trace"], { env, cwd: dir });
      srv.enqueue({
        json: { workflow: workflow([{ id: "a", type: "echo", params: { value: 1 } }], { name: "p" }), params: {} },
      });
      await underUmask(umask, ["plan", "echo one", "--trace-planner", "--dry-run"], {
        env: { ...env, PFLOW_PLANNER_MODEL: "anthropic/claude-haiku-4-5" },
        cwd: dir,
      });
      await underUmask(umask, ["trace", "show", "latest", "--html"], { env, cwd: dir });
      // Saved after planning, so the planner had nothing to reuse.
      await underUmask(umask, ["workflow", "save", wf, "--name", "saved"], { env, cwd: dir });
      const debug = join(home, "debug");
      const plans = join(home, "plans");
      const workflows = join(home, "workflows");
      for (const folder of [debug, plans, workflows]) assert.equal(mode(folder), "700", `${folder} (umask ${umask})`);
      const files = [
        ...readdirSync(debug).map((f) => join(debug, f)),
        ...readdirSync(plans).map((f) => join(plans, f)),
        join(workflows, "saved.json"),
      ];
      assert.ok(files.some((f) => f.includes("workflow-trace-") && f.endsWith(".json")), files.join("\n"));
      assert.ok(files.some((f) => f.includes("planner-trace-")), files.join("\n"));
      assert.ok(files.some((f) => f.endsWith(".html")), files.join("\n"));
      assert.ok(files.some((f) => f.startsWith(plans)), files.join("\n"));
      for (const file of files) assert.equal(mode(file), "600", `${file} (umask ${umask})`);
      // LEDGER (issue 8): once src/ledger has landed, the run above wrote PFLOW_HOME/ledger.db; it is 0600 too.
      if (existsSync(join(ROOT, "src", "ledger", "mod.ts"))) {
        const ledger = readdirSync(home).filter((f) => f.startsWith("ledger"));
        assert.ok(ledger.length > 0, `no ledger file in ${home}: ${readdirSync(home).join(", ")}`);
        for (const f of ledger) assert.equal(mode(join(home, f)), "600", `${f} (umask ${umask})`);
      }
    });
  }
});

Deno.test("a PFLOW_HOME that pflow creates is 0700 under umask 000, whichever command creates it first", async () => {
  const tmp = tempDir("pflow-modes-test-");
  try {
    const wf = writeWorkflow(tmp.path, "wf.json", workflow([{ id: "a", type: "echo", params: { value: 1 } }]));
    const commands = [["run", wf], ["run", wf, "--trace"], ["workflow", "save", wf, "--name", "w"], ["cost", "report"]];
    for (const [i, args] of commands.entries()) {
      const home = join(tmp.path, `home-${i}`, "pflow");
      await underUmask("000", args, { env: { PFLOW_HOME: home }, cwd: tmp.path });
      assert.ok(existsSync(home), `${args.join(" ")} created no ${home}`);
      assert.equal(mode(home), "700", args.join(" "));
    }
  } finally {
    tmp.cleanup();
  }
});

Deno.test("a debug folder an older pflow left 0755 is tightened to 0700 on the next trace", async () => {
  const tmp = tempDir("pflow-modes-test-");
  try {
    const home = join(tmp.path, "home");
    const debug = join(home, "debug");
    mkdirSync(debug, { recursive: true });
    chmodSync(debug, 0o755);
    const wf = writeWorkflow(tmp.path, "wf.json", workflow([{ id: "a", type: "echo", params: { value: 1 } }]));
    await underUmask("022", ["run", wf, "--trace"], { env: { PFLOW_HOME: home }, cwd: tmp.path });
    assert.equal(mode(debug), "700");
  } finally {
    tmp.cleanup();
  }
});

Deno.test("write-file writes through symlinks — existing, dangling, chained — and reports a loop", () => {
  const tmp = tempDir("pflow-links-test-");
  try {
    const dir = tmp.path;
    const env = { PFLOW_HOME: join(dir, "home") };
    const write = (path: string, content: string, extra: Record<string, unknown> = {}) => {
      const wf = writeWorkflow(
        dir,
        "w.json",
        workflow([{ id: "w", type: "write-file", params: { path, content, ...extra } }], {
          outputs: { path: { source: "${w.written_path}" } },
        }),
      );
      return spawnSync(PFLOW_BIN, ["run", wf], {
        cwd: dir,
        env: { PATH: process.env.PATH!, ...env },
        encoding: "utf8",
      });
    };
    // An existing link: the target changes, the link stays a link.
    writeFileSync(join(dir, "real.txt"), "old");
    symlinkSync("real.txt", join(dir, "link.txt"));
    let r = write(join(dir, "link.txt"), "new");
    assert.equal(r.status, 0, r.stderr);
    assert.equal(readFileSync(join(dir, "real.txt"), "utf8"), "new");
    assert.ok(lstatSync(join(dir, "link.txt")).isSymbolicLink());
    assert.equal(r.stdout, `${join(dir, "link.txt")}\n`, "written_path is the path given");
    // A dangling link: the same — its target is created (with parent folders), the link stays.
    symlinkSync(join(dir, "made", "later.txt"), join(dir, "dangling.txt"));
    r = write(join(dir, "dangling.txt"), "created");
    assert.equal(r.status, 0, r.stderr);
    assert.ok(lstatSync(join(dir, "dangling.txt")).isSymbolicLink(), "the dangling link was replaced by a file");
    assert.equal(readFileSync(join(dir, "made", "later.txt"), "utf8"), "created");
    // Appending through a dangling link creates the target too.
    symlinkSync("appended.txt", join(dir, "append-link.txt"));
    r = write(join(dir, "append-link.txt"), "a1", { append: true });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(readFileSync(join(dir, "appended.txt"), "utf8"), "a1");
    assert.ok(lstatSync(join(dir, "append-link.txt")).isSymbolicLink());
    // A chain of links ending nowhere yet.
    symlinkSync("chain2", join(dir, "chain1"));
    symlinkSync("chain-end.txt", join(dir, "chain2"));
    r = write(join(dir, "chain1"), "end");
    assert.equal(r.status, 0, r.stderr);
    assert.equal(readFileSync(join(dir, "chain-end.txt"), "utf8"), "end");
    assert.equal(readlinkSync(join(dir, "chain1")), "chain2");
    // A loop fails the node with a clear message, nothing replaced.
    symlinkSync("loop-b", join(dir, "loop-a"));
    symlinkSync("loop-a", join(dir, "loop-b"));
    r = write(join(dir, "loop-a"), "x");
    assert.equal(r.status, 1);
    assert.match(r.stderr, /node 'w' failed: too many symbolic links: .*loop-a/);
    assert.ok(lstatSync(join(dir, "loop-a")).isSymbolicLink());
  } finally {
    tmp.cleanup();
  }
});

Deno.test("write-file: a 250- or 255-byte file name works (the temp file never exceeds the limit); 256 is a clear error", () => {
  const tmp = tempDir("pflow-names-test-");
  try {
    const dir = tmp.path;
    const run = (name: string) => {
      const wf = writeWorkflow(
        dir,
        "w.json",
        workflow([{ id: "w", type: "write-file", params: { path: join(dir, "out", name), content: "ok" } }]),
      );
      return spawnSync(PFLOW_BIN, ["run", wf], {
        cwd: dir,
        env: { PATH: process.env.PATH!, PFLOW_HOME: join(dir, "home") },
        encoding: "utf8",
      });
    };
    for (const name of ["a".repeat(250), "b".repeat(255), `${"é".repeat(127)}x`]) {
      const r = run(name);
      assert.equal(r.status, 0, `${name.length}: ${r.stderr}`);
      assert.equal(readFileSync(join(dir, "out", name), "utf8"), "ok");
    }
    // Replacing an existing long-named file works the same way.
    assert.equal(run("a".repeat(250)).status, 0);
    assert.deepEqual(readdirSync(join(dir, "out")).filter((f) => f.endsWith(".tmp")), [], "no temp file left");
    const tooLong = run("c".repeat(256));
    assert.equal(tooLong.status, 1);
    assert.match(tooLong.stderr, /file name too long: .*c{256}/);
  } finally {
    tmp.cleanup();
  }
});
