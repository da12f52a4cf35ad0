/**
 * Output that cannot be written: a lost diagnostic (stderr on a full disk,
 * `2>/dev/full`) never fails the run; a result that cannot
 * be written to stdout is one clear line, and the run is still recorded.
 * Through the compiled binary, with real descriptors.
 * @module
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { PFLOW_BIN, ROOT, withTempHome, workflow, writeWorkflow } from "./support/cli.ts";

/** What a run with some of its descriptors given (a path opened for writing) produced. */
interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `dist/pflow ARGS…` with stdout and/or stderr opened on `out`/`err` (e.g. /dev/full) for writing. */
function runWith(
  args: string[],
  options: { env: Record<string, string>; out?: string; err?: string },
): Promise<Outcome> {
  const fds: number[] = [];
  const open = (path: string | undefined): "pipe" | "ignore" | number => {
    if (path === undefined) return "pipe";
    const fd = openSync(path, "w");
    fds.push(fd);
    return fd;
  };
  const stdio: ["ignore", "pipe" | "ignore" | number, "pipe" | "ignore" | number] = [
    "ignore",
    open(options.out),
    open(options.err),
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(PFLOW_BIN, args, {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/tmp", ...options.env },
      stdio,
    });
    for (const fd of fds) closeSync(fd);
    let stdout = "";
    let stderr = "";
    child.stdout?.on("data", (d) => stdout += d);
    child.stderr?.on("data", (d) => stderr += d);
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

function explain(r: Outcome): string {
  return `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
}

Deno.test("a warning that cannot be written to stderr (2>/dev/full) does not fail the node", async () => {
  await withTempHome(async ({ dir, env }) => {
    // The shell node warns while it runs: a background process still holds its output.
    const file = writeWorkflow(
      dir,
      "bg.json",
      workflow([{ id: "a", type: "shell", params: { command: "sleep 1 & echo hi" } }]),
    );
    const r = await runWith(["run", file, "--json"], { env, err: "/dev/full" });
    assert.equal(r.code, 0, explain(r));
    const doc = JSON.parse(r.stdout);
    assert.equal(doc.subtype, "success", explain(r));
    assert.deepEqual(doc.result, { stdout: "hi\n" });
  });
});

Deno.test("--trace --json with 2>/dev/full: the lost 'trace saved' notice leaves the result document whole", async () => {
  await withTempHome(async ({ dir, env }) => {
    const file = writeWorkflow(dir, "ok.json", workflow([{ id: "a", type: "shell", params: { command: "echo hi" } }]));
    const r = await runWith(["run", file, "--trace", "--json"], { env, err: "/dev/full" });
    assert.equal(r.code, 0, explain(r));
    const doc = JSON.parse(r.stdout);
    assert.equal(doc.subtype, "success");
    assert.match(doc.trace_path, /workflow-trace-ok-.*\.json$/);
    // A failed run still exits 1 (its error line lost), with its document.
    const failing = writeWorkflow(
      dir,
      "bad.json",
      workflow([{ id: "a", type: "shell", params: { command: "exit 3" } }]),
    );
    const f = await runWith(["run", failing, "--trace", "--json"], { env, err: "/dev/full" });
    assert.equal(f.code, 1, explain(f));
    assert.equal(JSON.parse(f.stdout).subtype, "error_during_execution");
  });
});

/** A local Pushgateway stand-in that answers every push 200 and keeps what it was sent. */
async function pushReceiver(): Promise<
  { url: string; pushes: { method: string; path: string; body: string }[]; close(): Promise<void> }
> {
  const { createServer } = await import("node:http");
  const pushes: { method: string; path: string; body: string }[] = [];
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (d) => body += d);
    req.on("end", () => {
      pushes.push({ method: req.method ?? "", path: req.url ?? "", body });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    pushes,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

Deno.test(">/dev/full: one clear line, exit 74; the ledger row and the Pushgateway push still happen", async () => {
  const gateway = await pushReceiver();
  try {
    await withTempHome(async ({ dir, env }) => {
      const file = writeWorkflow(
        dir,
        "ok.json",
        workflow([{ id: "a", type: "shell", params: { command: "echo hi" } }]),
      );
      for (const mode of [[], ["--json"], ["--trace", "--json", "--log-format", "json"]]) {
        const before = gateway.pushes.length;
        const r = await runWith(["run", file, ...mode, "--pushgateway", gateway.url], { env, out: "/dev/full" });
        const label = `${mode.join(" ")}: ${explain(r)}`;
        assert.equal(r.code, 74, label);
        const lines = r.stderr.trim().split("\n").filter((l) => !l.includes("Workflow trace saved"));
        if (mode.includes("--log-format")) {
          assert.equal(lines.length, 1, label);
          const record = JSON.parse(lines[0]);
          assert.equal(record.level, "error", label);
          assert.equal(
            record.msg ?? record.message,
            "cannot write the result to stdout: no space left on the device",
            label,
          );
        } else {
          assert.deepEqual(lines, ["error: cannot write the result to stdout: no space left on the device"], label);
        }
        assert.equal(gateway.pushes.length, before + 1, `pushed: ${label}`);
        assert.equal(gateway.pushes.at(-1)!.method, "PUT", label);
        assert.match(gateway.pushes.at(-1)!.body, /^pflow_run_success 1$/m, label);
        // The ledger row is closed as the run ended, not as a process gone.
        const shown = await runWith(["cost", "show", "latest", "--json"], { env });
        const run = JSON.parse(shown.stdout).run;
        assert.equal(run.status, "success", label);
        assert.equal(run.subtype, "success", label);
      }
      // A failed run keeps its exit 1 (the workflow failed); the lost result is one more line.
      const failing = writeWorkflow(
        dir,
        "bad.json",
        workflow([{ id: "a", type: "shell", params: { command: "exit 3" } }]),
      );
      const f = await runWith(["run", failing, "--json"], { env, out: "/dev/full" });
      assert.equal(f.code, 1, explain(f));
      assert.match(f.stderr, /^error: cannot write the result to stdout: no space left on the device$/m);
    });
  } finally {
    await gateway.close();
  }
});

Deno.test(">/dev/full for the other commands: the same one line (no errno text), exit 74", async () => {
  await withTempHome(async ({ dir, env }) => {
    const file = writeWorkflow(dir, "ok.json", workflow([{ id: "a", type: "shell", params: { command: "echo hi" } }]));
    assert.equal((await runWith(["run", file, "--trace"], { env })).code, 0);
    for (
      const args of [
        ["--version"],
        ["trace", "list"],
        ["trace", "show", "latest"],
        ["cost", "report"],
        ["cost", "report", "--json"],
        ["pricing", "show"],
        ["validate", file],
        ["completion", "bash"],
      ]
    ) {
      const r = await runWith(args, { env, out: "/dev/full" });
      const label = `${args.join(" ")}: ${explain(r)}`;
      assert.equal(r.code, 74, label);
      assert.equal(r.stderr, "error: cannot write the result to stdout: no space left on the device\n", label);
    }
  });
});
