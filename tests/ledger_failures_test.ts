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
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { type CliResult, PFLOW_BIN, ROOT, runPflow, workflow, writeWorkflow } from "./support/cli.ts";
import { assertExit, explain, withHome } from "./support/e2e.ts";

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
