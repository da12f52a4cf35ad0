/**
 * Runs that always stop, through the compiled binary: loops of in-process
 * nodes answer signals, the loop guard (`limits.max_node_executions`,
 * `--max-node-executions`), the trace size cap (`trace.max_bytes`), and
 * durations past 2³¹ ms (timers that would fire at once).
 * @module
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { parseTraceText, type TraceDocument } from "../src/observability/trace_format.ts";
import { type CliResult, PFLOW_BIN, ROOT, runPflow, workflow, writeWorkflow } from "./support/cli.ts";
import { assertExit, explain, oneJson, runAndSignal, runGuarded, withHome } from "./support/e2e.ts";
import { type FlatSpan, flattenTraces, startOtlpReceiver } from "./support/otlp_receiver.ts";

/** Two echo nodes that call each other for ever. */
const PING_PONG = workflow([
  { id: "a", type: "echo", params: { value: "ping" } },
  { id: "b", type: "echo", params: { value: "pong" } },
], { name: "ping-pong", edges: [{ from: "a", to: "b" }, { from: "b", to: "a" }] });

/** A shell node that loops on itself until it has run `times` times, then `done`. */
function countedLoop(dir: string, times: number, extra: Record<string, unknown> = {}) {
  const counter = join(dir, "count");
  return workflow([
    {
      id: "step",
      type: "shell",
      params: {
        command: `n=$(cat '${counter}' 2>/dev/null || echo 0); echo $((n+1)) > '${counter}'; [ $n -lt ${times - 1} ]`,
      },
    },
    { id: "done", type: "echo", params: { value: "finished" } },
  ], {
    name: "counted",
    edges: [{ from: "step", to: "step" }, { from: "step", to: "done", action: "error" }],
    outputs: { out: { source: "${done.output}" } },
    ...extra,
  });
}

function traceFiles(env: Record<string, string>): string[] {
  const dir = join(env.PFLOW_HOME, "debug");
  return existsSync(dir) ? readdirSync(dir).map((f) => join(dir, f)) : [];
}

function readTrace(path: string): TraceDocument {
  return parseTraceText(readFileSync(path, "utf8")).trace;
}

const NO_LIMIT = ["--max-node-executions", "1000000000000"];
/**
 * Ready `ms` after the run logged "run started" (give it `PFLOW_LOG_LEVEL=info`): signalled once it has run a while, not after
 * a guess at start-up time (under parallel tests a process can take longer than any fixed delay to get there).
 */
function running(ms: number): Pick<Parameters<typeof runAndSignal>[1], "ready" | "onSpawn"> {
  let since: number | undefined;
  return {
    ready: () => since !== undefined && Date.now() - since >= ms,
    onSpawn: (child) =>
      child.stderr?.on("data", (chunk) => {
        if (since === undefined && String(chunk).includes("run started")) since = Date.now();
      }),
  };
}

// ---------------------------------------------------------------- signals in loops

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.test(`a loop of echo nodes stops on ${signal}: exit 130 and one error_interrupted document`, async () => {
    await withHome(async (dir, env) => {
      const file = writeWorkflow(dir, "loop.json", PING_PONG);
      const { result, afterSignalMs } = await runAndSignal(["run", file, "--json", ...NO_LIMIT], {
        env: { ...env, PFLOW_LOG_LEVEL: "info" },
        ...running(300),
        signals: [{ signal }],
      });
      assertExit(result, 130);
      const doc = oneJson(result);
      assert.equal(doc.subtype, "error_interrupted");
      assert.ok((doc.num_nodes as number) > 100, `the loop ran: ${doc.num_nodes} nodes`);
      // The target (100 ms) is measured by bench/interrupt_bench.ts; here: it stops, promptly.
      assert.ok(afterSignalMs < 3000, `took ${afterSignalMs} ms after ${signal}`);
    });
  });
}

Deno.test("a traced loop stopped by SIGINT finishes its trace as interrupted", async () => {
  await withHome(async (dir, env) => {
    const file = writeWorkflow(dir, "loop.json", PING_PONG);
    const { result } = await runAndSignal(["run", file, "--trace", ...NO_LIMIT], {
      env,
      ready: () => traceFiles(env).length > 0 && statSync(traceFiles(env)[0]).size > 20_000,
      signals: [{ signal: "SIGINT" }],
    });
    assertExit(result, 130);
    const [path] = traceFiles(env);
    const trace = readTrace(path);
    assert.equal(trace.final_status, "interrupted");
    assert.ok(trace.events.length > 10);
  });
});

// ---------------------------------------------------------------- loop guard

Deno.test("the loop guard fails a run whose node would run more than 10,000 times: exit 1, full metrics", async () => {
  await withHome(async (dir, env) => {
    const file = writeWorkflow(dir, "loop.json", PING_PONG);
    const result = await runGuarded(["run", file, "--json"], { env });
    assertExit(result, 1);
    const doc = oneJson(result);
    assert.equal(doc.subtype, "error_during_execution");
    const error = doc.error as { message: string; node_id: string; type: string };
    assert.equal(error.node_id, "a");
    assert.equal(error.type, "NodeExecutionLimitError");
    assert.match(error.message, /ran 10,000 times, the limit per node \(limits\.max_node_executions = 10000\)/);
    assert.match(error.message, /--max-node-executions N/);
    assert.equal(doc.num_nodes, 20_000);
    const nodes = (doc.metrics as { workflow: { nodes: Record<string, { executions: number }> } }).workflow.nodes;
    assert.equal(nodes.a.executions, 10_000);
    assert.equal(nodes.b.executions, 10_000);
    const text = await runGuarded(["run", file], { env });
    assertExit(text, 1);
    assert.match(text.stderr, /error: node 'a' failed: ran 10,000 times, the limit per node/);
  });
});

Deno.test("limits.max_node_executions: a node may run exactly the limit; one more fails", async () => {
  await withHome(async (dir, env) => {
    const exact = writeWorkflow(dir, "exact.json", countedLoop(dir, 5, { limits: { max_node_executions: 5 } }));
    const ok = await runPflow(["run", exact], { env });
    assertExit(ok, 0);
    assert.equal(ok.stdout, "finished\n");
    writeFileSync(join(dir, "count"), "0\n");
    const tight = writeWorkflow(dir, "tight.json", countedLoop(dir, 5, { limits: { max_node_executions: 4 } }));
    const failed = await runPflow(["run", tight, "--json"], { env });
    assertExit(failed, 1);
    const doc = oneJson(failed);
    assert.equal((doc.error as { node_id: string }).node_id, "step");
    assert.match((doc.error as { message: string }).message, /ran 4 times.*max_node_executions = 4/);
    assert.equal(doc.num_nodes, 4);
    assert.equal(readFileSync(join(dir, "count"), "utf8"), "4\n", "the fifth execution never started");
  });
});

Deno.test("a run the loop guard stopped says so at that node in its metrics and its trace; counts are of executions that ran", async () => {
  await withHome(async (dir, env) => {
    const file = writeWorkflow(
      dir,
      "loop.json",
      workflow([
        { id: "s", type: "echo", params: { value: "start" } },
        { id: "a", type: "echo", params: { value: "x${s.output}" } },
        { id: "b", type: "echo", params: { value: "y" } },
      ], {
        name: "loop",
        edges: [{ from: "s", to: "a" }, { from: "a", to: "b" }, { from: "b", to: "a" }],
        limits: { max_node_executions: 3 },
      }),
    );
    const result = await runPflow(["run", file, "--json", "--trace"], { env });
    assertExit(result, 1);
    const doc = oneJson(result);
    assert.equal((doc.error as { node_id: string }).node_id, "a");
    assert.equal(doc.num_nodes, 7);
    const nodes = (doc.metrics as { workflow: { nodes: Record<string, { executions: number; status: string }> } })
      .workflow.nodes;
    assert.deepEqual(
      Object.fromEntries(Object.entries(nodes).map(([id, n]) => [id, [n.executions, n.status]])),
      { s: [1, "success"], a: [3, "error"], b: [3, "success"] },
    );
    const trace = readTrace(traceFiles(env)[0]);
    assert.equal(trace.nodes_executed, 7);
    assert.equal(trace.nodes_failed, 0, "no execution failed");
    const traced = trace.metrics?.metrics?.workflow?.nodes as Record<string, { status: string }> | undefined;
    assert.equal(traced?.a.status, "error");
    const shown = await runPflow(["trace", "show", "latest"], { env });
    assertExit(shown, 0);
    const lines = shown.stdout.trimEnd().split("\n");
    assert.equal(
      lines.at(-2),
      "7 node executions · 0 failed · stopped: node 'a' reached the limit of executions per node",
    );
    assert.match(lines.at(-1)!, /^error: node 'a' failed: ran 3 times, the limit per node/);
    const page = await runPflow(["trace", "show", "latest", "--html", "-o", join(dir, "page.html")], { env });
    assertExit(page, 0);
    assert.match(readFileSync(join(dir, "page.html"), "utf8"), /7 executions · 0 failed · stopped: node 'a' reached/);
  });
});

Deno.test("--max-node-executions overrides the workflow's limit for one run", async () => {
  await withHome(async (dir, env) => {
    const file = writeWorkflow(dir, "loop.json", countedLoop(dir, 5, { limits: { max_node_executions: 2 } }));
    const result = await runPflow(["run", file, "--max-node-executions", "5"], { env });
    assertExit(result, 0);
    writeFileSync(join(dir, "count"), "0\n");
    const lower = await runPflow(["run", file, "--max-node-executions=3", "--json"], { env });
    assertExit(lower, 1);
    // The limit that stopped it is named as it was given: the flag, not the workflow's field.
    assert.match(
      (oneJson(lower).error as { message: string }).message,
      /^ran 3 times, the limit per node \(--max-node-executions 3\); if the loop is meant to go on, pass a larger --max-node-executions$/,
    );
  });
});

Deno.test("bad loop limits are usage or validation errors (exit 2)", async () => {
  await withHome(async (dir, env) => {
    const file = writeWorkflow(dir, "loop.json", PING_PONG);
    for (const value of ["0", "-1", "1.5", "many", ""]) {
      const result = await runPflow(["run", file, `--max-node-executions=${value}`], { env });
      assertExit(result, 2);
      assert.match(result.stderr, /--max-node-executions must be a positive whole number/);
    }
    const bad = [
      [{ max_node_executions: 0 }, /\/limits\/max_node_executions: out of range/],
      [{ max_node_executions: 2.5 }, /\/limits\/max_node_executions: must be integer/],
      [{ max_node_executions: "10" }, /\/limits\/max_node_executions: must be integer, got string/],
      [{ max_node_execution: 10 }, /unknown field 'max_node_execution' \(did you mean 'max_node_executions'\?\)/],
      ["lots", /\/limits: must be object/],
    ] as const;
    for (const [limits, message] of bad) {
      const path = writeWorkflow(dir, "bad.json", { ...PING_PONG, limits });
      const result = await runPflow(["run", path, "--json"], { env });
      assertExit(result, 2);
      const doc = oneJson(result);
      assert.equal(doc.subtype, "error_validation");
      assert.match((doc.error as { message: string }).message, message);
    }
  });
});

// ---------------------------------------------------------------- trace size cap

Deno.test("trace.max_bytes: events past the cap are counted, not written; the footer and trace show say so", async () => {
  await withHome(async (dir, env) => {
    writeFileSync(join(env.PFLOW_HOME, "settings.json"), JSON.stringify({ trace: { max_bytes: 20_000 } }));
    const file = writeWorkflow(dir, "loop.json", PING_PONG);
    const result = await runPflow(["run", file, "--trace", "--max-node-executions", "100", "--json"], { env });
    assertExit(result, 1);
    const [path] = traceFiles(env);
    const text = readFileSync(path, "utf8");
    const footerStart = text.lastIndexOf("\n", text.length - 2);
    assert.ok(footerStart <= 20_000, `events end at ${footerStart} bytes, past the 20,000-byte cap`);
    const { trace, complete } = parseTraceText(text);
    assert.equal(complete, true);
    assert.equal(trace.limits.max_bytes, 20_000);
    assert.equal(trace.nodes_executed, 200);
    assert.ok(trace.events.length > 5, "events up to the cap are written");
    assert.equal(trace.events_dropped, 200 - trace.events.length);
    assert.ok(trace.events_dropped! > 0);
    const shown = await runPflow(["trace", "show", path], { env });
    assertExit(shown, 0);
    assert.ok(
      shown.stdout.includes(
        `⚠ ${trace.events_dropped} node executions not written past the trace's size cap (trace.max_bytes = 20,000 bytes`,
      ),
      shown.stdout,
    );
  });
});

Deno.test("trace.max_bytes: once an event does not fit, no later one is written, small or not", async () => {
  await withHome(async (dir, env) => {
    writeFileSync(join(env.PFLOW_HOME, "settings.json"), JSON.stringify({ trace: { max_bytes: 4096 } }));
    const file = writeWorkflow(
      dir,
      "gap.json",
      workflow([
        { id: "small", type: "echo", params: { value: "first" } },
        { id: "big", type: "shell", params: { command: "printf 'A%.0s' $(seq 1 6000)" } },
        { id: "after", type: "echo", params: { value: "last" } },
      ], { edges: [{ from: "small", to: "big" }, { from: "big", to: "after" }] }),
    );
    const result = await runPflow(["run", file, "--trace"], { env });
    assertExit(result, 0);
    const [path] = traceFiles(env);
    const { trace } = parseTraceText(readFileSync(path, "utf8"));
    assert.deepEqual(trace.events.map((e) => e.node_id), ["small"], "no gap: 'after' is not written after 'big'");
    assert.equal(trace.events_dropped, 2);
    assert.deepEqual(trace.first_dropped, { index: 1, node_id: "big", execution_index: 0 });
    const shown = await runPflow(["trace", "show", path], { env });
    assert.match(shown.stdout, /⚠ 2 node executions not written past .*: from node execution 2 \(big\) on\n/);
  });
});

/** Five nodes, three of which print 6,000 characters: past a 4,096-byte cap from the second node on. */
const FIVE_BIG = workflow([
  { id: "a", type: "echo", params: { value: "small" } },
  { id: "b", type: "shell", params: { command: "head -c 6000 /dev/zero | tr '\\0' x" } },
  { id: "c", type: "shell", params: { command: "head -c 6000 /dev/zero | tr '\\0' y" } },
  { id: "d", type: "shell", params: { command: "head -c 6000 /dev/zero | tr '\\0' z" } },
  { id: "e", type: "echo", params: { value: "end" } },
], {
  name: "big",
  edges: [{ from: "a", to: "b" }, { from: "b", to: "c" }, { from: "c", to: "d" }, { from: "d", to: "e" }],
});

/** The run span of an OTLP export (the one without a parent) and the ids of its node spans. */
function runSpanOf(spans: FlatSpan[]): { run: FlatSpan; nodes: string[] } {
  const run = spans.find((s) => s.span.name.startsWith("invoke_workflow"));
  assert.ok(run, spans.map((s) => s.span.name).join(", "));
  return { run, nodes: spans.filter((s) => s.span.name.startsWith("node ")).map((s) => s.span.name.slice(5)).sort() };
}

Deno.test("trace.max_bytes with an OTLP export: the run span says the spans past the cap are missing", async () => {
  await withHome(async (dir, env) => {
    writeFileSync(join(env.PFLOW_HOME, "settings.json"), JSON.stringify({ trace: { max_bytes: 4096 } }));
    const file = writeWorkflow(dir, "big.json", FIVE_BIG);
    const receiver = await startOtlpReceiver();
    try {
      // Exported only (the trace kept in memory, bounded by the same cap), and written as well.
      for (const trace of [[], ["--trace"]]) {
        receiver.requests.length = 0;
        const result = await runPflow(["run", file, ...trace, "--otlp-endpoint", receiver.url], { env });
        assertExit(result, 0);
        assert.equal(receiver.requests.length, 1, explain(result));
        const { run, nodes } = runSpanOf(receiver.spans());
        assert.deepEqual(nodes, ["a"], "the events past the cap are not kept");
        assert.equal(run.attributes["pflow.nodes_executed"], 5);
        assert.equal(run.attributes["pflow.trace.complete"], false, trace.join(" "));
        assert.equal(run.attributes["pflow.trace.events_dropped"], 4);
        assert.equal(run.attributes["pflow.final_status"], "success");
        assert.equal(run.span.status?.code, 1, "the run itself succeeded");
      }
      // The file export of the capped trace says the same.
      const [path] = traceFiles(env);
      const exported = await runPflow(["trace", "export", path, "--format", "otlp-json"], { env });
      assertExit(exported, 0);
      const { run } = runSpanOf(flattenTraces(JSON.parse(exported.stdout)));
      assert.equal(run.attributes["pflow.trace.complete"], false);
      assert.equal(run.attributes["pflow.trace.events_dropped"], 4);
    } finally {
      await receiver.close();
    }
  });
});

Deno.test("a run under the cap writes every event and events_dropped: 0", async () => {
  await withHome(async (dir, env) => {
    const file = writeWorkflow(dir, "loop.json", PING_PONG);
    const result = await runPflow(["run", file, "--trace", "--max-node-executions", "50"], { env });
    assertExit(result, 1);
    const trace = readTrace(traceFiles(env)[0]);
    assert.equal(trace.events.length, 100);
    assert.equal(trace.events_dropped, 0);
    assert.equal(trace.limits.max_bytes, 256 * 1024 * 1024);
    const shown = await runPflow(["trace", "show", traceFiles(env)[0]], { env });
    assert.doesNotMatch(shown.stdout, /not written/);
  });
});

Deno.test("bad trace settings are validation errors naming settings.json and the field", async () => {
  await withHome(async (dir, env) => {
    const file = writeWorkflow(dir, "ok.json", workflow([{ id: "a", type: "echo" }]));
    const settings = join(env.PFLOW_HOME, "settings.json");
    const cases = [
      [{ max_bytes: 100 }, /\/trace\/max_bytes: must be a whole number of bytes \(at least 4096\), got 100/],
      [{ max_bytes: "1GB" }, /\/trace\/max_bytes: must be a whole number of bytes/],
      [{ store_chars: 5 }, /\/trace\/store_chars: must be a whole number of characters \(at least 100\)/],
      [{ keep_days: 0 }, /\/trace\/keep_days: must be a whole number of days \(at least 1\)/],
      [{ value_chars: 10 }, /\/trace\/value_chars: must be a whole number of characters \(at least 1000\)/],
      [{ max_byte: 5000 }, /\/trace\/max_byte: unknown field; known: store_chars/],
      [[1], /\/trace: must be an object/],
      // As text: JSON.stringify cannot write a number past the float range.
      ['{"max_bytes": 1e400}', /\/trace\/max_bytes: .*got Infinity \(out of range\)/],
    ] as const;
    for (const [trace, message] of cases) {
      writeFileSync(settings, typeof trace === "string" ? `{"trace": ${trace}}` : JSON.stringify({ trace }));
      const result = await runPflow(["run", file], { env });
      assertExit(result, 2);
      // Located in the file: settings.json:LINE:COLUMN.
      assert.ok(result.stderr.includes(`error: ${settings}:1:`), explain(result));
      assert.match(result.stderr, message);
    }
  });
});

// ---------------------------------------------------------------- durations past 2^31 ms

const OVERFLOW = /TimeoutOverflowWarning|does not fit into a 32-bit|Timeout duration was set/;

Deno.test("a shell timeout past 2^31 ms (24.9 days) waits as long as it says", async () => {
  await withHome(async (dir, env) => {
    const file = writeWorkflow(
      dir,
      "long.json",
      workflow([{ id: "s", type: "shell", params: { command: "sleep 0.2; echo ok", timeout: 2_147_484 } }]),
    );
    const result = await runPflow(["run", file], { env });
    assertExit(result, 0);
    assert.equal(result.stdout, "ok\n");
    assert.doesNotMatch(result.stderr, OVERFLOW);
    const huge = writeWorkflow(
      dir,
      "huge.json",
      workflow([{ id: "s", type: "shell", params: { command: "echo ok", timeout: 1e300 } }]),
    );
    const hugeResult = await runPflow(["run", huge], { env });
    assertExit(hugeResult, 0);
    assert.doesNotMatch(hugeResult.stderr, OVERFLOW);
  });
});

Deno.test("echo delay_ms of 2^31 waits (until interrupted) and prints no runtime warning", async () => {
  await withHome(async (dir, env) => {
    const file = writeWorkflow(
      dir,
      "delay.json",
      workflow([{ id: "wait", type: "echo", params: { value: "x", delay_ms: 2 ** 31 } }]),
    );
    const { result } = await runAndSignal(["run", file, "--json"], {
      env: { ...env, PFLOW_LOG_LEVEL: "info" },
      ...running(300),
      signals: [{ signal: "SIGINT" }],
    });
    assertExit(result, 130);
    assert.equal(oneJson(result).subtype, "error_interrupted");
    assert.doesNotMatch(result.stderr, OVERFLOW);
  });
});

Deno.test("an http timeout past 2^31 ms does not abort the request", async () => {
  const server = createServer((_req, res) => setTimeout(() => res.end('{"ok":true}'), 100));
  server.listen(0, "127.0.0.1");
  await new Promise((resolve) => server.once("listening", resolve));
  const port = (server.address() as AddressInfo).port;
  try {
    await withHome(async (dir, env) => {
      const file = writeWorkflow(
        dir,
        "http.json",
        workflow([{ id: "get", type: "http", params: { url: `http://127.0.0.1:${port}/`, timeout: 3e6 } }], {
          outputs: { status: { source: "${get.status_code}" } },
        }),
      );
      const result = await runPflow(["run", file], { env });
      assertExit(result, 0);
      assert.equal(result.stdout, "200\n");
      assert.doesNotMatch(result.stderr, OVERFLOW);
    });
  } finally {
    server.close();
  }
});

// ---------------------------------------------------------------- trace writes that fail

/** Runs pflow under `ulimit -f KB` (RLIMIT_FSIZE: a write past it fails with EFBIG, like a full disk). */
function runWithFileSizeLimit(kb: number, args: string[], env: Record<string, string>): CliResult {
  const quoted = [PFLOW_BIN, ...args].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(" ");
  const result = spawnSync("/bin/sh", ["-c", `ulimit -f ${kb} && exec ${quoted}`], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...env },
    encoding: "utf8",
    timeout: 30_000,
  });
  return { code: result.status, signal: result.signal, stdout: result.stdout, stderr: result.stderr };
}

Deno.test("a trace whose header cannot be written is removed, not left as an empty file", async () => {
  await withHome((dir, env) => {
    const file = writeWorkflow(dir, "ok.json", workflow([{ id: "a", type: "echo", params: { value: "x" } }]));
    const result = runWithFileSizeLimit(0, ["run", file, "--trace", "--json"], env);
    assertExit(result, 0);
    assert.equal(oneJson(result).subtype, "success");
    assert.equal(oneJson(result).trace_path, undefined);
    assert.match(result.stderr, /warning: trace not written \(EFBIG: .*\); the run goes on/);
    assert.deepEqual(traceFiles(env), [], "no empty trace file is left");
  });
});

Deno.test("after a failed trace write the footer follows the last whole event: the partial trace is complete", async () => {
  await withHome((dir, env) => {
    const file = writeWorkflow(
      dir,
      "big.json",
      workflow([
        { id: "small", type: "echo", params: { value: "first" } },
        // Its event (~10 KB of stdout) does not fit under the 8 KB limit; the footer does.
        { id: "big", type: "shell", params: { command: "printf 'A%.0s' $(seq 1 12000)" } },
        { id: "after", type: "echo", params: { value: "last" } },
      ], { edges: [{ from: "small", to: "big" }, { from: "big", to: "after" }] }),
    );
    const result = runWithFileSizeLimit(8, ["run", file, "--trace", "--json"], env);
    assertExit(result, 0);
    const [path] = traceFiles(env);
    assert.match(path, /\.partial\.json$/);
    const text = readFileSync(path, "utf8");
    assert.ok(!text.includes("\0"), "no hole of zeros");
    const { trace, complete } = parseTraceText(text);
    assert.equal(complete, true, "the footer is in the file");
    assert.equal(trace.final_status, "success");
    assert.match(trace.write_error!, /^EFBIG/);
    assert.deepEqual(trace.events.map((e) => e.node_id), ["small"]);
    assert.equal(trace.events_dropped, 2);
  });
});

/** {@link runWithFileSizeLimit}, without blocking this process (a local server must answer the run). */
function runWithFileSizeLimitAsync(kb: number, args: string[], env: Record<string, string>): Promise<CliResult> {
  const quoted = [PFLOW_BIN, ...args].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(" ");
  return new Promise((resolve, reject) => {
    const child = spawn("/bin/sh", ["-c", `ulimit -f ${kb} && exec ${quoted}`], {
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

Deno.test("a failed trace write loses no span of the OTLP export: the file is partial, the export whole", async () => {
  await withHome(async (dir, env) => {
    const file = writeWorkflow(dir, "big.json", FIVE_BIG);
    const receiver = await startOtlpReceiver();
    try {
      const result = await runWithFileSizeLimitAsync(8, ["run", file, "--trace", "--otlp-endpoint", receiver.url], env);
      assertExit(result, 0);
      assert.match(result.stderr, /warning: trace partially written \(EFBIG: .*\): .*\.partial\.json/);
      const [path] = traceFiles(env);
      const { trace, complete } = parseTraceText(readFileSync(path, "utf8"));
      assert.equal(complete, true, "the footer is in the file");
      assert.ok(trace.events.length < 5 && trace.events_dropped === 5 - trace.events.length, JSON.stringify(trace));
      assert.equal(trace.first_dropped?.index, trace.events.length);
      assert.match(trace.write_error!, /^EFBIG/);
      assert.equal(receiver.requests.length, 1, explain(result));
      const { run, nodes } = runSpanOf(receiver.spans());
      assert.deepEqual(nodes, ["a", "b", "c", "d", "e"]);
      assert.equal(run.attributes["pflow.trace.complete"], true);
      assert.equal(run.attributes["pflow.trace.events_dropped"], undefined);
      // The partial file, exported, says what it lacks.
      const exported = await runPflow(["trace", "export", path, "--format", "otlp-json"], { env });
      assertExit(exported, 0);
      const fromFile = runSpanOf(flattenTraces(JSON.parse(exported.stdout)));
      assert.equal(fromFile.run.attributes["pflow.trace.complete"], false);
      assert.equal(fromFile.run.attributes["pflow.trace.events_dropped"], trace.events_dropped);
    } finally {
      await receiver.close();
    }
  });
});

Deno.test("a trace whose writing fails part-way is cut to whole lines, renamed .partial.json and shown as partial", async () => {
  await withHome(async (dir, env) => {
    const file = writeWorkflow(dir, "loop.json", PING_PONG);
    const result = runWithFileSizeLimit(8, ["run", file, "--trace", "--max-node-executions", "100", "--json"], env);
    assertExit(result, 1);
    assert.equal((oneJson(result).error as { type: string }).type, "NodeExecutionLimitError", "the run went on");
    const [path] = traceFiles(env);
    assert.match(path, /workflow-trace-ping-pong-\d{8}-\d{6}-[0-9a-f]{8}\.partial\.json$/);
    assert.equal(oneJson(result).trace_path, path);
    assert.match(result.stderr, /warning: trace partially written \(EFBIG: .*\): .*\.partial\.json/);
    const text = readFileSync(path, "utf8");
    assert.ok(text.endsWith("\n"), "no half-written line");
    const { trace } = parseTraceText(text);
    assert.ok(trace.events.length > 3 && trace.events.length < 200, `${trace.events.length} events`);
    const listed = await runPflow(["trace", "list", "--json"], { env });
    const entry = JSON.parse(listed.stdout)[0];
    assert.equal(entry.partial, true);
    assert.equal(entry.path, path);
    const shown = await runPflow(["trace", "show", "latest"], { env });
    assertExit(shown, 0);
    assert.match(shown.stdout, /⚠ partial/);
    assert.match(shown.stdout, /writing the trace failed/);
    assert.doesNotMatch(shown.stdout, /crashed or still running/);
  });
});
