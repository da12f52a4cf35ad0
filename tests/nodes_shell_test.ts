/**
 * Tests of the `shell` node: real `/bin/sh` processes, real temp dirs.
 * @module
 */
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { InterruptedError, type Shared } from "../src/engine/mod.ts";
import { NodeError } from "../src/nodes/spec.ts";
import { ShellNode } from "../src/nodes/shell.ts";

async function runShell(
  params: Record<string, unknown>,
  signal?: AbortSignal,
): Promise<{ action: string | undefined; shared: Shared }> {
  const node = new ShellNode();
  node.params = params;
  const shared: Shared = {};
  const action = await node.run(shared, { signal, warn: () => {} });
  return { action, shared };
}

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "pflow-shell-test-"));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** True while `pid` is a live (non-zombie) process. */
async function isAlive(pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, "utf8");
    // Field 3, after the parenthesised command name, is the state.
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}

/** Waits up to `ms` for `pid` to die; returns whether it did. */
async function diesWithin(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (!(await isAlive(pid))) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return !(await isAlive(pid));
}

/** Reads the pid a command wrote to `file`, waiting for it to appear. */
async function readPid(file: string): Promise<number> {
  for (let i = 0; i < 100; i++) {
    const text = await readFile(file, "utf8").catch(() => "");
    if (text.trim() !== "") return Number(text.trim());
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`no pid in ${file}`);
}

Deno.test("shell: captures stdout, stderr and exit code 0", async () => {
  const { action, shared } = await runShell({
    command: "echo out; echo err >&2",
  });
  assert.equal(action, "default");
  assert.deepEqual(shared, { stdout: "out\n", stderr: "err\n", exit_code: 0 });
});

Deno.test("shell: non-zero exit writes outputs and returns error", async () => {
  const { action, shared } = await runShell({
    command: "echo partial; echo boom >&2; exit 3",
  });
  assert.equal(action, "error");
  assert.equal(shared.stdout, "partial\n");
  assert.equal(shared.stderr, "boom\n");
  assert.equal(shared.exit_code, 3);
});

Deno.test("shell: ignore_errors takes default on non-zero exit", async () => {
  const { action, shared } = await runShell({
    command: "exit 7",
    ignore_errors: true,
  });
  assert.equal(action, "default");
  assert.equal(shared.exit_code, 7);
});

Deno.test("shell: ignore_errors given as the string 'true' is coerced", async () => {
  const { action } = await runShell({ command: "false", ignore_errors: "true" });
  assert.equal(action, "default");
});

Deno.test("shell: a shell killed by a signal reports 128 + signal", async () => {
  const { action, shared } = await runShell({ command: "kill -9 $$" });
  assert.equal(action, "error");
  assert.equal(shared.exit_code, 137);
});

Deno.test("shell: stdin string is passed as is", async () => {
  const { shared } = await runShell({ command: "cat", stdin: "line 1\nline 2" });
  assert.equal(shared.stdout, "line 1\nline 2");
});

Deno.test("shell: non-string stdin is passed as JSON", async () => {
  const { shared } = await runShell({
    command: "cat",
    stdin: { a: 1, list: [true, null, "x"] },
  });
  assert.deepEqual(JSON.parse(shared.stdout as string), {
    a: 1,
    list: [true, null, "x"],
  });
  const num = await runShell({ command: "cat", stdin: 42 });
  assert.equal(num.shared.stdout, "42");
});

Deno.test("shell: no stdin gives the command an empty input", async () => {
  const { shared, action } = await runShell({ command: "cat; echo done" });
  assert.equal(action, "default");
  assert.equal(shared.stdout, "done\n");
});

Deno.test("shell: stdin a command never reads does not fail it", async () => {
  const { action, shared } = await runShell({
    command: "echo ignored",
    stdin: "x".repeat(1_000_000),
  });
  assert.equal(action, "default");
  assert.equal(shared.stdout, "ignored\n");
});

Deno.test("shell: env is merged over the process environment", async () => {
  const { shared } = await runShell({
    command: 'printf "%s|%s|%s" "$PFLOW_TEST_VAR" "$PFLOW_NUM" "$PATH"',
    env: { PFLOW_TEST_VAR: "hello world", PFLOW_NUM: 5 },
  });
  assert.equal(shared.stdout, `hello world|5|${process.env.PATH}`);
});

Deno.test("shell: env overrides an inherited variable", async () => {
  const { shared } = await runShell({
    command: 'printf "%s" "$HOME"',
    env: { HOME: "/overridden" },
  });
  assert.equal(shared.stdout, "/overridden");
});

Deno.test("shell: env with a non-string value is rejected", async () => {
  await assert.rejects(
    runShell({ command: "true", env: { BAD: { nested: 1 } } }),
    (e: Error) => e instanceof NodeError && /env\.BAD must be a string/.test(e.message),
  );
});

Deno.test("shell: cwd sets the working directory", async () => {
  await withTempDir(async (dir) => {
    const { shared } = await runShell({ command: "pwd -P", cwd: dir });
    const real = await Deno.realPath(dir);
    assert.equal(shared.stdout, `${real}\n`);
  });
});

Deno.test("shell: a missing cwd is a clear NodeError", async () => {
  await withTempDir(async (dir) => {
    const missing = join(dir, "nope");
    await assert.rejects(
      runShell({ command: "true", cwd: missing }),
      (e: Error) =>
        e instanceof NodeError &&
        e.message.includes(`working directory not found: ${missing}`),
    );
  });
});

Deno.test("shell: a cwd that is a file is a clear NodeError", async () => {
  await withTempDir(async (dir) => {
    const file = join(dir, "f.txt");
    await writeFile(file, "x");
    await assert.rejects(
      runShell({ command: "true", cwd: file }),
      (e: Error) => e instanceof NodeError && /not a directory: .*f\.txt/.test(e.message),
    );
  });
});

Deno.test("shell: neither command nor args is a NodeError", async () => {
  await assert.rejects(
    runShell({}),
    (e: Error) => e instanceof NodeError && /'shell' needs 'command' .* or 'args'/.test(e.message),
  );
});

Deno.test("shell: a non-positive timeout is rejected", async () => {
  await assert.rejects(
    runShell({ command: "true", timeout: 0 }),
    (e: Error) => e instanceof NodeError && /timeout/.test(e.message),
  );
});

Deno.test("shell: large output is complete and UTF-8 is decoded across chunks", async () => {
  const { shared } = await runShell({
    command: "yes é | head -n 200000",
  });
  const out = shared.stdout as string;
  assert.equal(out.length, 400_000);
  assert.equal(out, "é\n".repeat(200_000));
});

Deno.test("shell: output written just before exit is not lost", async () => {
  // A background writer that finishes after the shell exits: close, not exit.
  const { shared } = await runShell({
    command: "(sleep 0.2; echo late) & echo early",
  });
  assert.equal(shared.stdout, "early\nlate\n");
});

Deno.test("shell: timeout kills the whole process group", async () => {
  await withTempDir(async (dir) => {
    const pidfile = join(dir, "pid");
    const started = Date.now();
    await assert.rejects(
      runShell({
        command: `sh -c 'sleep 30 & echo $! > ${pidfile}; wait'`,
        timeout: 0.3,
      }),
      (e: Error) =>
        e instanceof NodeError &&
        e.message.startsWith("command timed out after 0.3 s: sh -c 'sleep 30") &&
        /timeout/.test(e.message.slice(30)),
    );
    assert.ok(Date.now() - started < 5000, "timeout returned promptly");
    const pid = await readPid(pidfile);
    assert.ok(await diesWithin(pid, 3000), `grandchild ${pid} still alive`);
  });
});

Deno.test("shell: a command ignoring SIGTERM is killed with SIGKILL", async () => {
  await withTempDir(async (dir) => {
    const pidfile = join(dir, "pid");
    const started = Date.now();
    await assert.rejects(
      runShell({
        command: `trap '' TERM; echo $$ > ${pidfile}; while :; do sleep 0.05; done`,
        timeout: 0.3,
      }),
      (e: Error) => e instanceof NodeError && /timed out/.test(e.message),
    );
    assert.ok(Date.now() - started < 6000);
    const pid = await readPid(pidfile);
    assert.ok(await diesWithin(pid, 3000), `shell ${pid} still alive`);
  });
});

Deno.test("shell: abort rejects with InterruptedError and kills the group", async () => {
  await withTempDir(async (dir) => {
    const pidfile = join(dir, "pid");
    const controller = new AbortController();
    const promise = runShell(
      { command: `sh -c 'sleep 30 & echo $! > ${pidfile}; wait'` },
      controller.signal,
    );
    const pid = await readPid(pidfile);
    assert.ok(await isAlive(pid), "grandchild runs before the abort");
    const started = Date.now();
    controller.abort();
    await assert.rejects(promise, InterruptedError);
    assert.ok(Date.now() - started < 5000);
    assert.ok(await diesWithin(pid, 3000), `grandchild ${pid} still alive`);
  });
});

Deno.test("shell: an already aborted signal does not start the command", async () => {
  await withTempDir(async (dir) => {
    const marker = join(dir, "ran");
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(
      runShell({ command: `touch ${marker}` }, controller.signal),
      InterruptedError,
    );
    await assert.rejects(readFile(marker), { code: "ENOENT" });
  });
});

Deno.test("shell: spec outputs match the keys post writes", async () => {
  const { shared } = await runShell({ command: "true" });
  assert.deepEqual(
    Object.keys(shared).sort(),
    Object.keys(ShellNode.spec.outputs).sort(),
  );
  assert.deepEqual(ShellNode.spec.actions, ["error"]);
});
