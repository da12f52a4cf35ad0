/**
 * Signals and child processes through the compiled binary: a second SIGINT
 * during the kill grace, SIGHUP, no shell child outliving a SIGKILLed
 * pflow (the watchdog), and signals pflow was started with ignored.
 * @module
 */
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { parseTraceText } from "../src/observability/trace_format.ts";
import { WATCHDOG_NAME } from "../src/nodes/process_groups.ts";
import { PFLOW_BIN, runPflow, workflow, writeWorkflow } from "./support/cli.ts";
import { assertExit, isDead, oneJson, pidFrom, runAndSignal, waitFor, withHome } from "./support/e2e.ts";

/** echo, then a shell node whose command (and its `sleep`) ignores SIGTERM, then one that never runs. */
function stubbornWorkflow(dir: string, pidFile: string, ignoreTerm = true) {
  const trap = ignoreTerm ? "trap '' TERM; " : "";
  return writeWorkflow(
    dir,
    "stubborn.json",
    workflow([
      { id: "first", type: "echo", params: { value: "x" } },
      { id: "nap", type: "shell", params: { command: `${trap}sleep 30 & echo $! > '${pidFile}'; wait` } },
      { id: "never", type: "echo", params: { value: "should not run" } },
    ], { name: "stubborn", edges: [{ from: "first", to: "nap" }, { from: "nap", to: "never" }] }),
  );
}

function killLeftover(pid: number | undefined): void {
  if (pid !== undefined && !isDead(pid)) process.kill(pid, "SIGKILL");
}

function onlyTrace(home: string) {
  const dir = join(home, "debug");
  const files = existsSync(dir) ? readdirSync(dir) : [];
  assert.equal(files.length, 1, `traces: ${files}`);
  return parseTraceText(readFileSync(join(dir, files[0]), "utf8"));
}

Deno.test("a second SIGINT during the kill grace kills the commands at once; the result and trace are still written", async () => {
  await withHome(async (dir, env) => {
    const pidFile = join(dir, "sleep.pid");
    const file = stubbornWorkflow(dir, pidFile);
    let sleepPid: number | undefined;
    try {
      const { result } = await runAndSignal(["run", file, "--json", "--trace"], {
        env,
        ready: () => (sleepPid = pidFrom(pidFile)) !== undefined,
        signals: [{ signal: "SIGINT" }, { signal: "SIGINT", afterMs: 150 }],
      });
      assertExit(result, 130);
      const doc = oneJson(result);
      assert.equal(doc.subtype, "error_interrupted");
      assert.equal((doc.error as { node_id: string }).node_id, "nap");
      assert.ok(await waitFor(() => isDead(sleepPid!), 2000), `sleep ${sleepPid} (ignoring SIGTERM) survived`);
      const { trace, complete } = onlyTrace(env.PFLOW_HOME);
      assert.equal(complete, true);
      assert.equal(trace.final_status, "interrupted");
      assert.deepEqual(trace.events.map((e) => [e.node_id, e.status]), [["first", "success"], ["nap", "interrupted"]]);
    } finally {
      killLeftover(sleepPid);
    }
  });
});

Deno.test("SIGHUP is handled like SIGTERM: exit 129, trace interrupted, children killed", async () => {
  await withHome(async (dir, env) => {
    const pidFile = join(dir, "sleep.pid");
    const file = stubbornWorkflow(dir, pidFile, false);
    let sleepPid: number | undefined;
    try {
      const { result } = await runAndSignal(["run", file, "--json", "--trace"], {
        env,
        ready: () => (sleepPid = pidFrom(pidFile)) !== undefined,
        signals: [{ signal: "SIGHUP" }],
      });
      assertExit(result, 129);
      const doc = oneJson(result);
      assert.equal(doc.subtype, "error_interrupted");
      assert.equal((doc.error as { message: string }).message, "interrupted by SIGHUP");
      assert.ok(await waitFor(() => isDead(sleepPid!), 2000), `sleep ${sleepPid} survived the SIGHUP`);
      assert.equal(onlyTrace(env.PFLOW_HOME).trace.final_status, "interrupted");
      const text = await runAndSignal(["run", file], {
        env,
        ready: () => (sleepPid = pidFrom(pidFile)) !== undefined && !isDead(sleepPid),
        signals: [{ signal: "SIGHUP" }],
      });
      assertExit(text.result, 129);
      assert.match(text.result.stderr, /interrupted by SIGHUP/);
    } finally {
      killLeftover(sleepPid);
    }
  });
});

Deno.test("after pflow is SIGKILLed, no shell child outlives it (the watchdog kills the group)", async () => {
  await withHome(async (dir, env) => {
    const pidFile = join(dir, "sleep.pid");
    const file = stubbornWorkflow(dir, pidFile);
    let sleepPid: number | undefined;
    try {
      const { result } = await runAndSignal(["run", file], {
        env,
        ready: () => (sleepPid = pidFrom(pidFile)) !== undefined,
        signals: [{ signal: "SIGKILL" }],
      });
      assert.equal(result.signal, "SIGKILL");
      assert.ok(await waitFor(() => isDead(sleepPid!), 3000), `sleep ${sleepPid} outlived the SIGKILLed pflow`);
    } finally {
      killLeftover(sleepPid);
    }
  });
});

/** Pids of watchdogs started by pflow process `pid`. */
function watchdogsOf(pid: number): number[] {
  const ps = execFileSync("ps", ["-eo", "pid=,args="], { encoding: "utf8" });
  return ps.split("\n").filter((l) => l.trimEnd().endsWith(` ${WATCHDOG_NAME} ${pid}`)).map((l) =>
    Number(l.trim().split(" ")[0])
  );
}

Deno.test("the watchdog starts with the first command and ends with pflow", async () => {
  await withHome(async (dir, env) => {
    const pidFile = join(dir, "sleep.pid");
    const file = stubbornWorkflow(dir, pidFile, false);
    let pflowPid = 0;
    let seen: number[] = [];
    const { result } = await runAndSignal(["run", file], {
      env,
      onSpawn: (child) => pflowPid = child.pid!,
      ready: () => pidFrom(pidFile) !== undefined && (seen = watchdogsOf(pflowPid)).length > 0,
      signals: [{ signal: "SIGINT" }],
    });
    assertExit(result, 130);
    assert.equal(seen.length, 1, "one watchdog while the command ran");
    assert.ok(await waitFor(() => watchdogsOf(pflowPid).length === 0, 3000), "the watchdog outlived pflow");
    const echoOnly = writeWorkflow(dir, "echo.json", workflow([{ id: "a", type: "echo" }]));
    let echoPid = 0;
    const plain = await runPflow(["run", echoOnly], { env, onSpawn: (child) => echoPid = child.pid! });
    assertExit(plain, 0);
    assert.deepEqual(watchdogsOf(echoPid), [], "a run without shell nodes starts no watchdog");
  });
});

Deno.test("SIGINT during a long copy-file (the last node) stops the copy, leaves no partial file and exits 130", async () => {
  await withHome(async (dir, env) => {
    const source = join(dir, "big.bin");
    // 8 GiB, sparse: reading it costs no disk, and the copy cannot finish before the signal.
    const handle = await Deno.open(source, { create: true, write: true });
    await handle.truncate(8 * 1024 ** 3);
    handle.close();
    const out = join(dir, "out");
    const file = writeWorkflow(
      dir,
      "copy.json",
      workflow([
        { id: "first", type: "echo", params: { value: "x" } },
        { id: "copy", type: "copy-file", params: { source, destination: join(out, "copy.bin") } },
      ], { edges: [{ from: "first", to: "copy" }] }),
    );
    const { result, afterSignalMs } = await runAndSignal(["run", file, "--json"], {
      env,
      ready: () => existsSync(out) && readdirSync(out).length > 0,
      signals: [{ signal: "SIGINT" }],
    });
    assertExit(result, 130);
    assert.equal(oneJson(result).subtype, "error_interrupted");
    assert.deepEqual(readdirSync(out), [], "no partial copy or temp file is left");
    assert.ok(afterSignalMs < 3000, `the copy stopped ${Math.round(afterSignalMs)} ms after the signal`);
  });
});

/**
 * Runs `pflow ARGS…` from `sh -c "trap '' SIGNALS; exec pflow …"` (as `nohup` or a background job of a script
 * starts it: those signals ignored), sends `send` once `ready`, and returns how it ended.
 */
function runIgnoring(
  ignored: string,
  args: string[],
  options: { env: Record<string, string>; ready: () => boolean; send: NodeJS.Signals },
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn("/bin/sh", ["-c", `trap '' ${ignored}; exec "$0" "$@"`, PFLOW_BIN, ...args], {
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/tmp", ...options.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const guard = setTimeout(() => child.kill("SIGKILL"), 15_000);
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (d) => stdout += d);
    child.stderr!.on("data", (d) => stderr += d);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(guard);
      resolve({ code, stdout, stderr });
    });
    (async () => {
      if (!await waitFor(options.ready, 10_000)) return;
      try {
        process.kill(child.pid!, options.send); // sh exec'd pflow: the same pid
      } catch { /* gone */ }
    })();
  });
}

Deno.test("a signal pflow was started with ignored (nohup's SIGHUP, a background job's SIGINT) stays ignored, in its commands too", async () => {
  await withHome(async (dir, env) => {
    const marker = join(dir, "started");
    // The command says it started, outlives the signal, then shows what its own child (grep) ignores.
    const file = writeWorkflow(
      dir,
      "nap.json",
      workflow([{
        id: "nap",
        type: "shell",
        params: { command: `echo > '${marker}'; sleep 1.5; grep '^SigIgn:' /proc/self/status` },
      }]),
    );
    for (const [ignored, signal, bit] of [["HUP", "SIGHUP", 0], ["INT", "SIGINT", 1]] as const) {
      rmSync(marker, { force: true });
      const r = await runIgnoring(ignored, ["run", file, "--json"], {
        env,
        ready: () => existsSync(marker),
        send: signal,
      });
      const label = `${signal}: exit ${r.code}\n${r.stdout}\n${r.stderr}`;
      assert.equal(r.code, 0, label);
      const doc = JSON.parse(r.stdout);
      assert.equal(doc.subtype, "success", label);
      const mask = BigInt(`0x${/SigIgn:\s*([0-9a-f]+)/.exec(doc.result.stdout)![1]}`);
      assert.equal((mask >> BigInt(bit)) & 1n, 1n, `the command's child ignores ${signal} too: ${label}`);
    }
    // Only the ignored one: SIGTERM still interrupts a run started with SIGHUP ignored.
    rmSync(marker, { force: true });
    const term = await runIgnoring("HUP", ["run", file, "--json"], {
      env,
      ready: () => existsSync(marker),
      send: "SIGTERM",
    });
    assert.equal(term.code, 130, `${term.stdout}\n${term.stderr}`);
    assert.equal(JSON.parse(term.stdout).subtype, "error_interrupted");
  });
});
