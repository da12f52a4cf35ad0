/**
 * The run ledger when its files fail, through the compiled binary: short
 * writes of the inbox (a file size limit, as a full disk cuts a write),
 * bytes that are not UTF-8 in the inbox, a ledger another process keeps
 * locked, a read-only or missing PFLOW_HOME for the report commands, and the
 * Pushgateway push of a failed run when the ledger cannot be read. The
 * promise under test: telemetry never breaks a run, nothing is left half
 * written, and a report reads what is there.
 * @module
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { chmodSync, existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { type CliResult, PFLOW_BIN, ROOT, runPflow, workflow, writeWorkflow } from "./support/cli.ts";
import { assertExit, explain, waitFor, withHome } from "./support/e2e.ts";
import { parseExposition, sampleValue, startPushgateway } from "./support/prometheus.ts";
import { chain, type Doc, HAIKU, llm, MINI, MINI_USAGE, oneJson, runWorkflowFile, withLlm } from "./support/llm_run.ts";

/** One echo node: a run that never opens the database (its start and end are two inbox lines). */
const ECHO = workflow([{ id: "a", type: "echo", params: { value: "x" } }]);

/** Runs pflow with RLIMIT_FSIZE at `bytes` (util-linux's prlimit): a write past it is cut short, then fails (EFBIG). */
function runWithFileSizeLimit(bytes: number, args: string[], env: Record<string, string>): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn("prlimit", [`--fsize=${bytes}`, "--", PFLOW_BIN, ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => stdout += d);
    child.stderr.on("data", (d) => stderr += d);
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/**
 * Runs pflow as user nobody (util-linux's setpriv): a reader that may read PFLOW_HOME (mode 0755, its files 0644)
 * but not write it, as a monitoring user reads another's ledger. Tests run as root (CI does), whom modes do not stop.
 */
function runAsNobody(args: string[], env: Record<string, string>): Promise<CliResult> {
  assert.equal(
    process.getuid?.(),
    0,
    "this test runs pflow as nobody through setpriv: run the tests as root (CI does)",
  );
  return new Promise((resolve, reject) => {
    const child = spawn("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", "--", PFLOW_BIN, ...args], {
      cwd: "/",
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: "/nonexistent", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => stdout += d);
    child.stderr.on("data", (d) => stderr += d);
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** Three runs in `env`'s home: two folded into the ledger, the third's start and end still in the inbox. */
async function ledgerWithPendingRun(file: string, env: Record<string, string>): Promise<void> {
  for (const args of [["run", file], ["run", file], ["cost", "report"], ["run", file]]) {
    assertExit(await runPflow(args, { env }), 0);
  }
}

/** The bytes of every file of a folder, by name (to show a reader changed nothing). */
function snapshot(dir: string): Record<string, string> {
  return Object.fromEntries(readdirSync(dir).map((f) => [f, readFileSync(join(dir, f), "base64")]));
}

const PENDING_NOTICE =
  /^warning: ledger: \S+ledger\.db cannot be written \(.+\): the 2 inbox entries not yet in it are counted from a copy in memory, and stay in \S+ledger-inbox\.jsonl until it can be written$/m;

/** `pflow cost report --by run --json`: the rows, and stderr. */
async function runsInReport(env: Record<string, string>): Promise<{ rows: Record<string, unknown>[]; stderr: string }> {
  const result = await runPflow(["cost", "report", "--by", "run", "--json"], { env });
  assertExit(result, 0);
  return { rows: JSON.parse(result.stdout).rows, stderr: result.stderr };
}

/** Inbox lines of one ended run (valid entries, folded idempotently), `bytes` long or a little less. */
function paddingLines(bytes: number): string {
  const line = `${
    JSON.stringify({
      v: 1,
      op: "end",
      run: {
        executionId: "pad",
        workflowName: "pad",
        startedMs: 1,
        pflowVersion: "0.1.0",
        status: "success",
        subtype: "success",
        endedMs: 2,
        durationMs: 1,
        nodesExecuted: 1,
      },
    })
  }\n`;
  return line.repeat(Math.floor(bytes / line.length));
}

// ---------------------------------------------------------------- short writes of the inbox

Deno.test("an inbox line cut short is undone and warned of; the next run's lines are folded whole", async () => {
  await withHome(async (dir, env) => {
    const file = writeWorkflow(dir, "echo.json", ECHO);
    const inbox = join(env.PFLOW_HOME, "ledger-inbox.jsonl");
    // 150 bytes below the limit: the run's start line (~350 bytes) is cut short by it.
    writeFileSync(inbox, paddingLines(4096 - 150));
    const before = readFileSync(inbox, "utf8");
    const limited = await runWithFileSizeLimit(4096, ["run", file], env);
    assertExit(limited, 0);
    assert.equal(limited.stdout, "x\n");
    assert.match(
      limited.stderr,
      /^warning: ledger: the inbox .*ledger-inbox\.jsonl: EFBIG.*; this run is not \(fully\) recorded$/m,
      explain(limited),
    );
    assert.equal(readFileSync(inbox, "utf8"), before, "the part of the line that was written is undone");
    const next = await runPflow(["run", file], { env });
    assertExit(next, 0);
    assert.equal(next.stderr, "");
    const { rows, stderr } = await runsInReport(env);
    assert.equal(stderr, "", "no line is skipped");
    assert.deepEqual(rows.map((r) => [r.workflow, r.status]).sort(), [["echo", "success"], ["pad", "success"]]);
  });
});

// ---------------------------------------------------------------- a ledger another process keeps locked

/** Haiku 4.5: 400*1 + 100*5 = 900 µ$. */
const HAIKU_USAGE = { input_tokens: 400, output_tokens: 100 };

/**
 * Holds the write lock of `home`'s ledger from a second process (`BEGIN EXCLUSIVE` through node:sqlite) until
 * the returned release is called (or 60 s pass). Resolves once the lock is held.
 */
async function holdLedgerLock(dir: string, home: string): Promise<{ release: () => Promise<void> }> {
  const ready = join(dir, "locked");
  const release = join(dir, "release");
  const holder = join(dir, "holder.ts");
  writeFileSync(
    holder,
    `import { DatabaseSync } from "node:sqlite";
import { existsSync, writeFileSync } from "node:fs";
const db = new DatabaseSync(${JSON.stringify(join(home, "ledger.db"))});
db.exec("BEGIN EXCLUSIVE");
writeFileSync(${JSON.stringify(ready)}, "");
const started = Date.now();
const timer = setInterval(() => {
  if (!existsSync(${JSON.stringify(release)}) && Date.now() - started < 60_000) return;
  clearInterval(timer);
  db.exec("COMMIT");
  db.close();
}, 20);
`,
  );
  const child = spawn(Deno.execPath(), ["run", "-A", holder], { stdio: "ignore" });
  const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
  assert.ok(await waitFor(() => existsSync(ready), 20_000), "the lock holder took the lock");
  return {
    release: async () => {
      writeFileSync(release, "");
      await exited;
    },
  };
}

Deno.test("a ledger another process keeps locked holds up no run: its calls go with its end to the inbox, folded later", async () => {
  await withLlm(async (ctx) => {
    // The ledger exists (a report creates it), then another process locks it for the whole run.
    assertExit(await runPflow(["cost", "report"], { env: ctx.env }), 0);
    const lock = await holdLedgerLock(ctx.dir, ctx.home);
    let doc: Doc;
    try {
      const wf = chain([llm("a", HAIKU, HAIKU_USAGE), llm("b", MINI, MINI_USAGE), llm("c", HAIKU, HAIKU_USAGE)]);
      const started = Date.now();
      const run = await runWorkflowFile(ctx, wf, ["--output-format", "json"]);
      const tookMs = Date.now() - started;
      assertExit(run, 0);
      assert.equal(run.stderr, "", "a busy ledger is no failure: nothing to warn of");
      // Before the fix the first call's write waited out the 10 s busy timeout (the run held, signals too).
      assert.ok(tookMs < 5_000, `the run took ${tookMs} ms`);
      doc = oneJson(run);
    } finally {
      await lock.release();
    }
    const { rows, stderr } = await runsInReport(ctx.env);
    assert.equal(stderr, "");
    assert.equal(rows.length, 1);
    assert.equal(rows[0].status, "success");
    assert.equal(rows[0].llm_calls, 3);
    assert.ok(Math.abs((rows[0].cost_usd as number) - (doc.total_cost_usd as number)) < 1e-9, JSON.stringify(rows[0]));
  });
});

// ---------------------------------------------------------------- reports from a ledger that cannot be written

Deno.test("reports from a full disk: the ledger is read from a copy in memory with the inbox's pending lines", async () => {
  await withHome(async (dir, env) => {
    const file = writeWorkflow(dir, "echo.json", ECHO);
    await ledgerWithPendingRun(file, env);
    const before = snapshot(env.PFLOW_HOME);
    // No write may pass 4 KB (EFBIG, as a full disk refuses it): the fold's first write to the ledger fails.
    const report = await runWithFileSizeLimit(4096, ["cost", "report", "--by", "run", "--json"], env);
    assertExit(report, 0);
    assert.match(report.stderr, PENDING_NOTICE, explain(report));
    const rows = JSON.parse(report.stdout).rows as Record<string, unknown>[];
    assert.deepEqual(rows.map((r) => r.status), ["success", "success", "success"], "the pending run is counted");
    const show = await runWithFileSizeLimit(4096, ["cost", "show", "latest", "--json"], env);
    assertExit(show, 0);
    assert.equal(JSON.parse(show.stdout).run.status, "success");
    const metrics = await runWithFileSizeLimit(4096, ["metrics"], env);
    assertExit(metrics, 0);
    assert.match(metrics.stdout, /^pflow_workflow_runs_total\{workflow="echo",status="success"\} 3$/m);
    assert.equal(snapshot(env.PFLOW_HOME)["ledger-inbox.jsonl"], before["ledger-inbox.jsonl"], "the inbox stays");
    // Once the ledger can be written, the pending lines are folded into it, with no word.
    const { rows: folded, stderr } = await runsInReport(env);
    assert.equal(stderr, "");
    assert.equal(folded.length, 3);
  });
});

Deno.test("reports from a PFLOW_HOME the user may read but not write, or that does not exist and cannot be made", async () => {
  await withHome(async (dir, env) => {
    const file = writeWorkflow(dir, "echo.json", ECHO);
    await ledgerWithPendingRun(file, env);
    chmodSync(dir, 0o755);
    chmodSync(env.PFLOW_HOME, 0o755);
    for (const f of readdirSync(env.PFLOW_HOME)) chmodSync(join(env.PFLOW_HOME, f), 0o644);
    const before = snapshot(env.PFLOW_HOME);
    const report = await runAsNobody(["cost", "report", "--by", "run", "--json"], env);
    assertExit(report, 0);
    assert.match(report.stderr, PENDING_NOTICE, explain(report));
    assert.equal(JSON.parse(report.stdout).rows.length, 3);
    const show = await runAsNobody(["cost", "show", "latest"], env);
    assertExit(show, 0);
    const metrics = await runAsNobody(["metrics"], env);
    assertExit(metrics, 0);
    assert.match(metrics.stdout, /^pflow_workflow_runs_total\{workflow="echo",status="success"\} 3$/m);
    assert.deepEqual(snapshot(env.PFLOW_HOME), before, "a reader changed nothing");
    // A home that does not exist, in a folder where it cannot be made: an empty ledger, as the README says.
    const missing = { PFLOW_HOME: join(env.PFLOW_HOME, "missing") };
    const empty = await runAsNobody(["cost", "report", "--json"], missing);
    assertExit(empty, 0);
    assert.deepEqual(JSON.parse(empty.stdout).rows, []);
    assert.doesNotMatch(empty.stderr, /warning|error/);
    const none = await runAsNobody(["metrics"], missing);
    assertExit(none, 0);
    assert.doesNotMatch(none.stdout, /\{workflow=/);
    assert.equal(existsSync(missing.PFLOW_HOME), false);
  });
});

Deno.test("metrics serve on a ledger it may not write: every scrape reads a fresh copy, the notice is told once", async () => {
  await withHome(async (dir, env) => {
    const file = writeWorkflow(dir, "echo.json", ECHO);
    await ledgerWithPendingRun(file, env);
    chmodSync(dir, 0o755);
    chmodSync(env.PFLOW_HOME, 0o755);
    for (const f of readdirSync(env.PFLOW_HOME)) chmodSync(join(env.PFLOW_HOME, f), 0o644);
    assert.equal(process.getuid?.(), 0, "this test runs pflow as nobody through setpriv: run the tests as root");
    const child = spawn(
      "setpriv",
      [
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        "--",
        PFLOW_BIN,
        "metrics",
        "serve",
        "--listen",
        "127.0.0.1:0",
      ],
      { cwd: "/", env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...env }, stdio: ["ignore", "ignore", "pipe"] },
    );
    let stderr = "";
    child.stderr.on("data", (d) => stderr += d);
    const closed = new Promise((resolve) => child.on("close", resolve));
    try {
      assert.ok(await waitFor(() => /Serving metrics on http/.test(stderr), 15_000), stderr);
      const url = /Serving metrics on (http:\/\/\S+)/.exec(stderr)![1];
      for (let i = 0; i < 2; i++) {
        const response = await fetch(url);
        assert.equal(response.status, 200);
        assert.match(await response.text(), /^pflow_workflow_runs_total\{workflow="echo",status="success"\} 3$/m);
        await new Promise((resolve) => setTimeout(resolve, 1_100)); // past the 1 s cache: read again
      }
      // A run of the ledger's owner meanwhile is counted at the next scrape (its lines are in the inbox).
      assertExit(await runPflow(["run", file], { env }), 0);
      chmodSync(join(env.PFLOW_HOME, "ledger-inbox.jsonl"), 0o644);
      assert.match(
        await (await fetch(url)).text(),
        /^pflow_workflow_runs_total\{workflow="echo",status="success"\} 4$/m,
      );
    } finally {
      child.kill("SIGTERM");
      await closed;
    }
    assert.equal(stderr.match(/cannot be written/g)?.length, 1, `the notice once:\n${stderr}`);
    assert.doesNotMatch(stderr, /scrape failed/);
  });
});

// ---------------------------------------------------------------- the Pushgateway push of a failed run

Deno.test("a failed run's push keeps the workflow's last success: read at once from a locked ledger, from the inbox on a full disk", async () => {
  await withHome(async (dir, env) => {
    const gateway = await startPushgateway();
    try {
      const ok = writeWorkflow(
        dir,
        "ok.json",
        workflow([{ id: "a", type: "echo", params: { value: "x" } }], { name: "nightly" }),
      );
      const bad = writeWorkflow(
        dir,
        "bad.json",
        workflow([{ id: "a", type: "shell", params: { command: "exit 2" } }], { name: "nightly" }),
      );
      const push = ["--pushgateway", gateway.url];
      const group = { job: "pflow", workflow: "nightly" };
      const gauges = async () => parseExposition(await (await fetch(`${gateway.url}/metrics`)).text());
      const lastSuccess = async () =>
        sampleValue(await gauges(), "pflow_workflow_last_success_timestamp_seconds", group);
      assertExit(await runPflow(["run", ok, ...push], { env }), 0);
      const first = await lastSuccess();
      // Folded into the ledger, which another process then keeps locked.
      assertExit(await runPflow(["cost", "report"], { env }), 0);
      const lock = await holdLedgerLock(dir, env.PFLOW_HOME);
      try {
        const started = Date.now();
        const failed = await runPflow(["run", bad, ...push], { env });
        const tookMs = Date.now() - started;
        assertExit(failed, 1);
        assert.doesNotMatch(failed.stderr, /warning/, explain(failed));
        // Before the fix: the ledger opened for writing, 10 s of waiting, then a push without the gauge.
        assert.ok(tookMs < 5_000, `the run took ${tookMs} ms`);
        const m = await gauges();
        assert.equal(sampleValue(m, "pflow_run_success", group), 0);
        assert.equal(sampleValue(m, "pflow_workflow_last_success_timestamp_seconds", group), first);
      } finally {
        await lock.release();
      }
      // A success that is still only in the inbox, then a failed run on a full disk (no write passes 1 byte).
      assertExit(await runPflow(["run", ok, ...push], { env }), 0);
      const second = await lastSuccess();
      assert.ok(second > first);
      const full = await runWithFileSizeLimit(1, ["run", bad, ...push], env);
      assertExit(full, 1);
      assert.doesNotMatch(full.stderr, /Pushgateway/, explain(full));
      assert.equal(sampleValue(await gauges(), "pflow_run_success", group), 0);
      assert.equal(await lastSuccess(), second, "read from the inbox's line");
      // A ledger that cannot be read at all: no push (it would remove the gauge), one warning.
      writeFileSync(join(env.PFLOW_HOME, "ledger.db"), "x".repeat(200));
      const corrupt = await runPflow(["run", bad, ...push], { env });
      assertExit(corrupt, 1);
      assert.match(
        corrupt.stderr,
        /^warning: Pushgateway push to http:\/\/127\.0\.0\.1:\d+ skipped: the workflow's last success could not be read from the ledger \(.*ledger\.db: not a readable ledger.*\), and the push would remove it from the group$/m,
        explain(corrupt),
      );
      assert.equal(await lastSuccess(), second);
    } finally {
      await gateway.close();
    }
  });
});
