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
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { type CliResult, PFLOW_BIN, ROOT, runPflow, workflow, writeWorkflow } from "./support/cli.ts";
import { assertExit, explain, waitFor, withHome } from "./support/e2e.ts";
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
