/**
 * The telemetry exports of an ended run (OTLP traces, OTLP metrics,
 * Pushgateway) through the compiled binary, against real local receivers: a
 * collector that never answers, a refused port, a 503, Debian's Pushgateway.
 * They report the run's own duration, wait until the result is printed and
 * the ledger row closed, run at once under one bound, send one request each,
 * and a Ctrl-C cuts them short without changing the exit code.
 * @module
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createServer, type Socket } from "node:net";
import { type CliOptions, type CliResult, runPflow, withTempHome, workflow, writeWorkflow } from "./support/cli.ts";
import { assertExit, explain, oneJson, runAndSignal } from "./support/e2e.ts";
import { startLlmServer } from "./support/llm_server.ts";
import { closedPort, startOtlpReceiver } from "./support/otlp_receiver.ts";
import { parseExposition, sampleValue, startPushgateway } from "./support/prometheus.ts";

// deno-lint-ignore no-explicit-any
type Doc = Record<string, any>;

/** A server that accepts connections and never answers (a hung collector or gateway). */
async function startSilent(): Promise<{ url: string; close(): void }> {
  const sockets: Socket[] = [];
  const server = createServer((socket) => {
    socket.on("error", () => {}); // pflow gives up and resets the connection
    sockets.push(socket);
  });
  const port = await new Promise<number>((resolve) =>
    server.listen(0, "127.0.0.1", () => resolve((server.address() as { port: number }).port))
  );
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => {
      for (const socket of sockets) socket.destroy();
      server.close();
    },
  };
}

/** A run, with when (ms after the spawn) its first stdout arrived and when it exited. */
async function timedRun(args: string[], options: CliOptions) {
  const started = performance.now();
  let printedMs: number | undefined;
  const result = await runPflow(args, {
    ...options,
    onSpawn: (child) => child.stdout!.once("data", () => printedMs = performance.now() - started),
  });
  return { result, printedMs: printedMs ?? Infinity, tookMs: performance.now() - started };
}

/** The ledger's record of a run (`pflow cost show ID --json`). */
async function ledgerRun(env: Record<string, string>, executionId: string): Promise<Doc> {
  const shown = await runPflow(["cost", "show", executionId, "--json"], { env });
  assertExit(shown, 0);
  return JSON.parse(shown.stdout).run;
}

const ECHO = workflow([{ id: "say", type: "echo", params: { value: "hi" } }], { name: "quick" });

Deno.test("every sink reports the run's own duration, not the time spent waiting on a hung trace collector", async () => {
  await withTempHome(async ({ dir, env }) => {
    const silent = await startSilent();
    const gateway = await startPushgateway();
    const metrics = await startOtlpReceiver();
    try {
      const file = writeWorkflow(dir, "quick.json", ECHO);
      const { result, tookMs } = await timedRun(["run", file, "--output-format", "json"], {
        env: {
          ...env,
          PFLOW_PUSHGATEWAY_URL: gateway.url,
          OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${silent.url}/v1/traces`,
          OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: `${metrics.url}/v1/metrics`,
        },
      });
      assertExit(result, 0);
      assert.ok(tookMs > 4000, `the trace export waited for its bound (${tookMs} ms)`);
      const doc = oneJson(result) as Doc;
      assert.ok(doc.duration_ms < 3000, `duration_ms ${doc.duration_ms}`);
      // One figure everywhere: the result's, to the hundredth of a millisecond.
      const near = (ms: number, what: string) =>
        assert.ok(Math.abs(ms - doc.duration_ms) < 0.011, `${what}: ${ms} ms, the result says ${doc.duration_ms} ms`);
      near((await ledgerRun(env, doc.execution_id)).duration_ms, "ledger");
      const m = parseExposition(await (await fetch(`${gateway.url}/metrics`)).text());
      near(sampleValue(m, "pflow_run_duration_seconds", { job: "pflow", workflow: "quick" }) * 1000, "Pushgateway");
      const body = metrics.requests.find((r) => r.path === "/v1/metrics")?.json as Doc;
      const run = body.resourceMetrics[0].scopeMetrics[0].metrics.find((x: Doc) =>
        x.name === "pflow.workflow.duration"
      );
      near(run.histogram.dataPoints[0].sum * 1000, "OTLP pflow.workflow.duration");
    } finally {
      silent.close();
      await gateway.close();
      await metrics.close();
    }
  });
});

Deno.test("a failed planning prints its result before the trace export, with its own duration in the ledger and Pushgateway", async () => {
  await withTempHome(async ({ dir, env: homeEnv }) => {
    const srv = await startLlmServer();
    const silent = await startSilent();
    const gateway = await startPushgateway();
    try {
      const env = {
        ...homeEnv,
        ANTHROPIC_API_KEY: "test-key-planner",
        ANTHROPIC_BASE_URL: srv.url,
        PFLOW_PLANNER_MODEL: "anthropic/claude-haiku-4-5",
        PFLOW_PUSHGATEWAY_URL: gateway.url,
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${silent.url}/v1/traces`,
      };
      srv.enqueue({ empty: true, finishReason: "refusal", usage: { input_tokens: 10, output_tokens: 1 } });
      const { result, printedMs, tookMs } = await timedRun(["plan", "do a thing", "--output-format", "json"], {
        env,
        cwd: dir,
      });
      assertExit(result, 1);
      const doc = oneJson(result) as Doc;
      assert.equal(doc.subtype, "error_planning");
      assert.ok(printedMs < 3000, `the result came ${printedMs} ms after the start (the export waits 5 s)`);
      assert.ok(tookMs > 4000, `the trace export still ran (${tookMs} ms): ${explain(result)}`);
      assert.match(result.stderr, /OTLP export to .* timed out/);
      assert.ok(doc.duration_ms < 3000, `duration_ms ${doc.duration_ms}`);
      const ledger = await ledgerRun(homeEnv, doc.execution_id);
      assert.ok(Math.abs(ledger.duration_ms - doc.duration_ms) < 0.011, `ledger ${ledger.duration_ms} ms`);
      const m = parseExposition(await (await fetch(`${gateway.url}/metrics`)).text());
      const pushed = sampleValue(m, "pflow_run_duration_seconds", { job: "pflow", workflow: "(planning)" }) * 1000;
      assert.ok(Math.abs(pushed - doc.duration_ms) < 0.011, `Pushgateway ${pushed} ms`);
    } finally {
      silent.close();
      await gateway.close();
      await srv.close();
    }
  });
});

/** Runs `args`, sends `signal` once the result is printed, and returns the result and the time after the signal. */
async function signalAfterResult(args: string[], env: Record<string, string>, signal: NodeJS.Signals) {
  let printed = false;
  const run = await runAndSignal(args, {
    env,
    ready: () => printed,
    signals: [{ signal, afterMs: 300 }],
    guardMs: 30_000,
    onSpawn: (child) => child.stdout!.once("data", () => printed = true),
  });
  return run;
}

Deno.test("Ctrl-C while the exports wait cuts them short at once, with one warning; the exit code stays the run's", async () => {
  await withTempHome(async ({ dir, env: homeEnv }) => {
    const silent = await startSilent();
    try {
      const env = {
        ...homeEnv,
        OTEL_EXPORTER_OTLP_ENDPOINT: silent.url,
        OTEL_METRICS_EXPORTER: "otlp",
        PFLOW_PUSHGATEWAY_URL: silent.url,
      };
      const ok = await signalAfterResult(["run", writeWorkflow(dir, "quick.json", ECHO)], env, "SIGINT");
      assertExit(ok.result, 0);
      assert.equal(ok.result.stdout, "hi\n");
      assert.ok(ok.afterSignalMs < 3000, `exited ${ok.afterSignalMs} ms after SIGINT`);
      const lines = ok.result.stderr.trim().split("\n");
      assert.equal(lines.length, 1, explain(ok.result));
      assert.match(lines[0], /^warning: SIGINT: telemetry export cut short \(/);
      for (const what of ["OTLP export to", "OTLP metrics export to", "Pushgateway push to"]) {
        assert.ok(lines[0].includes(`${what} ${silent.url}`), `${what}: ${lines[0]}`);
      }
      // A failed run keeps its exit code 1; SIGTERM is handled alike.
      const failing = writeWorkflow(
        dir,
        "failing.json",
        workflow([{ id: "boom", type: "shell", params: { command: "echo out; exit 3" } }], { name: "failing" }),
      );
      const failed = await signalAfterResult(["run", failing, "--output-format", "json"], env, "SIGTERM");
      assertExit(failed.result, 1);
      assert.equal((oneJson(failed.result) as Doc).subtype, "error_during_execution");
      assert.ok(failed.afterSignalMs < 3000, `exited ${failed.afterSignalMs} ms after SIGTERM`);
      assert.match(failed.result.stderr, /warning: SIGTERM: telemetry export cut short/);
    } finally {
      silent.close();
    }
  });
});

Deno.test("the exports run at once under one 5 s bound, one request each: a refused port or a 503 is not retried", async () => {
  await withTempHome(async ({ dir, env: homeEnv }) => {
    const file = writeWorkflow(dir, "quick.json", ECHO);
    // A refused collector: one warning per signal, at once (the SDK retried for up to 5 s, one signal after the other).
    const closed = await closedPort();
    const refused = await timedRun(["run", file], {
      env: { ...homeEnv, OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${closed}`, OTEL_METRICS_EXPORTER: "otlp" },
    });
    assertExit(refused.result, 0);
    assert.ok(refused.tookMs < 3000, `took ${refused.tookMs} ms`);
    const warnings = refused.result.stderr.trim().split("\n").sort();
    assert.equal(warnings.length, 2, explain(refused.result));
    assert.match(warnings[0], /^warning: OTLP export to http:\/\/127\.0\.0\.1:\d+\/v1\/traces failed: .*ECONNREFUSED/);
    assert.match(warnings[1], /^warning: OTLP metrics export to .*\/v1\/metrics failed: .*ECONNREFUSED/);
    // A collector answering 503: one request per signal.
    const busy = await startOtlpReceiver({ status: 503 });
    try {
      const answered = await timedRun(["run", file], {
        env: { ...homeEnv, OTEL_EXPORTER_OTLP_ENDPOINT: busy.url, OTEL_METRICS_EXPORTER: "otlp" },
      });
      assertExit(answered.result, 0);
      assert.ok(answered.tookMs < 3000, `took ${answered.tookMs} ms`);
      assert.deepEqual(busy.requests.map((r) => r.path).sort(), ["/v1/metrics", "/v1/traces"]);
      assert.match(answered.result.stderr, /OTLP export to .* failed: HTTP 503/);
      assert.match(answered.result.stderr, /OTLP metrics export to .* failed: HTTP 503/);
    } finally {
      await busy.close();
    }
    // Three exports that never get an answer: one bound for all, not 5 s each.
    const silent = await startSilent();
    try {
      const hung: { result: CliResult; tookMs: number } = await timedRun(["run", file], {
        env: {
          ...homeEnv,
          OTEL_EXPORTER_OTLP_ENDPOINT: silent.url,
          OTEL_METRICS_EXPORTER: "otlp",
          PFLOW_PUSHGATEWAY_URL: silent.url,
        },
      });
      assertExit(hung.result, 0);
      assert.ok(hung.tookMs > 4000 && hung.tookMs < 9000, `took ${hung.tookMs} ms (each alone takes 5 s)`);
      const lines = hung.result.stderr.trim().split("\n");
      assert.equal(lines.length, 3, explain(hung.result));
      assert.ok(lines.some((l) => /^warning: OTLP export to .* timed out after 5000 ms$/.test(l)), lines.join("\n"));
      assert.ok(lines.some((l) => /^warning: OTLP metrics export to .* timed out after 5000 ms$/.test(l)));
      assert.ok(lines.some((l) => /^warning: Pushgateway push to .* failed: no answer within 5 s$/.test(l)));
    } finally {
      silent.close();
    }
  });
});

/** A self-signed CA and a certificate for 127.0.0.1 signed by it, plus a client certificate (PEM files in `dir`). */
function makeCertificates(dir: string): Record<"caKey" | "ca" | "key" | "cert" | "clientKey" | "clientCert", string> {
  const files = {
    caKey: join(dir, "ca.key"),
    ca: join(dir, "ca.pem"),
    key: join(dir, "server.key"),
    cert: join(dir, "server.pem"),
    clientKey: join(dir, "client.key"),
    clientCert: join(dir, "client.pem"),
  };
  const openssl = (args: string[]) => {
    const result = spawnSync("openssl", args, { encoding: "utf8" });
    assert.equal(result.status, 0, `openssl ${args.join(" ")}: ${result.error ?? result.stderr}`);
  };
  openssl([
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    files.caKey,
    "-out",
    files.ca,
    "-days",
    "2",
    "-subj",
    "/CN=pflow test CA",
  ]);
  for (
    const [key, cert, name, ext] of [
      [files.key, files.cert, "127.0.0.1", "subjectAltName=IP:127.0.0.1"],
      [files.clientKey, files.clientCert, "pflow client", "extendedKeyUsage=clientAuth"],
    ]
  ) {
    const request = `${cert}.csr`;
    openssl(["req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", request, "-subj", `/CN=${name}`]);
    const extFile = `${cert}.ext`;
    writeFileSync(extFile, `${ext}\n`);
    openssl([
      "x509",
      "-req",
      "-in",
      request,
      "-CA",
      files.ca,
      "-CAkey",
      files.caKey,
      "-CAcreateserial",
      "-out",
      cert,
      "-days",
      "2",
      "-extfile",
      extFile,
    ]);
  }
  return files;
}

Deno.test("OTLP over HTTPS trusts the CA of OTEL_EXPORTER_OTLP_CERTIFICATE and sends the client certificate and key (mTLS)", async () => {
  await withTempHome(async ({ dir, env }) => {
    const files = makeCertificates(dir);
    const read = (path: string) => readFileSync(path, "utf8");
    const receiver = await startOtlpReceiver({
      tls: { key: read(files.key), cert: read(files.cert), clientCa: read(files.ca) },
    });
    try {
      const file = writeWorkflow(dir, "wf.json", workflow([{ id: "a", type: "echo", params: { value: "hi" } }]));
      const args = ["run", file, "--otlp-endpoint", receiver.url];
      // Without the CA the collector's certificate is not trusted: a warning, the run itself succeeds.
      const untrusted = await runPflow(args, { env });
      assertExit(untrusted, 0);
      assert.match(
        untrusted.stderr,
        /warning: OTLP export to https:\/\/127\.0\.0\.1:\d+\S* failed/,
        explain(untrusted),
      );
      assert.equal(receiver.requests.length, 0);
      // The CA alone: the collector asks for a client certificate, and none is sent.
      const noClient = await runPflow(args, { env: { ...env, OTEL_EXPORTER_OTLP_CERTIFICATE: files.ca } });
      assertExit(noClient, 0);
      assert.match(noClient.stderr, /warning: OTLP export/, explain(noClient));
      assert.equal(receiver.requests.length, 0);
      // CA, client certificate and key (the per-signal variable wins over the general one).
      const mutual = await runPflow(args, {
        env: {
          ...env,
          OTEL_EXPORTER_OTLP_CERTIFICATE: join(dir, "missing.pem"),
          OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE: files.ca,
          OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE: files.clientCert,
          OTEL_EXPORTER_OTLP_CLIENT_KEY: files.clientKey,
        },
      });
      assertExit(mutual, 0);
      assert.doesNotMatch(mutual.stderr, /warning/, explain(mutual));
      assert.equal(receiver.requests.length, 1);
      assert.ok(receiver.spans().some((s) => s.span.name.includes("a")), "the node's span arrived");
      // A file that cannot be read is named, and the export goes on without it.
      const missing = await runPflow(args, { env: { ...env, OTEL_EXPORTER_OTLP_CERTIFICATE: join(dir, "nope.pem") } });
      assertExit(missing, 0);
      assert.match(missing.stderr, /warning: OTEL_EXPORTER_OTLP_CERTIFICATE: cannot read \S+nope\.pem \(not found\)/);
    } finally {
      await receiver.close();
    }
  });
});
