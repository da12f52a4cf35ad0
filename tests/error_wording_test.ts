/**
 * Failures said in words, the same wherever they happen: a connection the
 * server reset (Pushgateway, OTLP), a trace directory or ledger path that is
 * something else than pflow needs. Through the compiled binary.
 * @module
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer, type Socket } from "node:net";
import { join } from "node:path";
import { runPflow, withTempHome, workflow, writeWorkflow } from "./support/cli.ts";

/** A server that reads the first bytes of a request and resets the connection (RST). */
async function resettingServer(): Promise<{ url: string; close(): void }> {
  const sockets: Socket[] = [];
  const server = createServer((socket) => {
    sockets.push(socket);
    socket.on("error", () => {});
    socket.once("data", () => socket.resetAndDestroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => {
      for (const socket of sockets) socket.destroy();
      server.close();
    },
  };
}

Deno.test("a connection the server resets is 'connection reset by the server' for the Pushgateway and OTLP alike", async () => {
  const server = await resettingServer();
  try {
    await withTempHome(async ({ dir, env }) => {
      const file = writeWorkflow(
        dir,
        "wf.json",
        workflow([{ id: "a", type: "shell", params: { command: "echo hi" } }]),
      );
      const r = await runPflow(["run", file, "--pushgateway", server.url, "--otlp-endpoint", server.url], { env });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, "hi\n");
      assert.deepEqual(r.stderr.trim().split("\n").sort(), [
        `warning: OTLP export to ${server.url}/v1/traces failed: connection reset by the server`,
        `warning: Pushgateway push to ${server.url} failed: connection reset by the server`,
      ]);
    });
  } finally {
    server.close();
  }
});

Deno.test("PFLOW_HOME/debug that is a file or a link to nothing: said so by the run, trace list, show and prune", async () => {
  await withTempHome(async ({ dir, home, env }) => {
    const file = writeWorkflow(dir, "wf.json", workflow([{ id: "a", type: "shell", params: { command: "echo hi" } }]));
    const debug = join(home, "debug");
    for (
      const [make, problem] of [
        [() => writeFileSync(debug, "not a directory"), "is a file, not a directory"],
        [
          () => symlinkSync(join(dir, "nowhere", "debug"), debug),
          `is a symbolic link to '${dir}/nowhere/debug', which does not exist`,
        ],
      ] as const
    ) {
      rmSync(debug, { force: true });
      make();
      const run = await runPflow(["run", file, "--trace"], { env });
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stderr, `warning: trace not written (${debug} ${problem}); the run goes on\n`);
      for (const args of [["trace", "list"], ["trace", "show", "latest"], ["trace", "prune"]]) {
        const r = await runPflow(args, { env });
        assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
        assert.equal(r.stderr, `error: ${debug} ${problem}: pflow keeps its traces there\n`, args.join(" "));
      }
    }
  });
});

Deno.test("a ledger.db that is a symbolic link to nothing: said so, not 'ENOENT … open'; a link into a folder works", async () => {
  await withTempHome(async ({ dir, home, env }) => {
    const ledger = join(home, "ledger.db");
    symlinkSync("/nonexistent/ledger.db", ledger);
    for (const args of [["cost", "report"], ["cost", "show", "latest"]]) {
      const r = await runPflow(args, { env });
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.equal(
        r.stderr,
        `error: ${ledger} is a symbolic link to '/nonexistent/ledger.db', which does not exist: fix or remove the ` +
          "link (pflow then starts a new ledger)\n",
      );
    }
    // A link to a file not there yet, in a folder that is: the ledger is created through it.
    rmSync(ledger);
    mkdirSync(join(dir, "elsewhere"));
    symlinkSync(join(dir, "elsewhere", "l.db"), ledger);
    const report = await runPflow(["cost", "report"], { env });
    assert.equal(report.code, 0, report.stderr);
    assert.ok(existsSync(join(dir, "elsewhere", "l.db")));
  });
});
