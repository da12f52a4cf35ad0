/**
 * Workflow tracing: trace files through the compiled binary (name, header,
 * events, crash safety, redaction, TRACEPARENT, logs) and the trace sink's
 * mutation recording and truncation in process.
 * @module
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Node, type Shared } from "../src/engine/mod.ts";
import { BUILTIN_NODES, type NodeSpec } from "../src/nodes/mod.ts";
import { instrumentNode, RunTelemetry } from "../src/observability/mod.ts";
import { REDACTED, Redactor } from "../src/observability/redact.ts";
import { parseTraceText, type TraceDocument } from "../src/observability/trace_format.ts";
import { TraceSink } from "../src/observability/trace_sink.ts";
import { storeAfter } from "../src/observability/trace_state.ts";
import { compileWorkflow, NodeRegistry, runWorkflow, type WorkflowIR } from "../src/workflow/mod.ts";
import { startLlmServer } from "./support/llm_server.ts";
import { PFLOW_BIN, ROOT, runPflow, tempDir, workflow, writeWorkflow } from "./support/cli.ts";

const TRACE_NAME = /^workflow-trace-([A-Za-z0-9._-]+)-(\d{8})-(\d{6})-([0-9a-f]{8})\.json$/;

function traces(home: string): string[] {
  const dir = join(home, "debug");
  return existsSync(dir)
    ? readdirSync(dir).filter((f) => f.startsWith("workflow-trace-")).map((f) => join(dir, f))
    : [];
}

function readTrace(path: string): { trace: TraceDocument; complete: boolean } {
  return parseTraceText(readFileSync(path, "utf8"));
}

async function withHome(fn: (dir: string, home: string) => Promise<void>) {
  const dir = tempDir("pflow-trace-test-");
  const home = join(dir.path, "home");
  mkdirSync(home);
  try {
    await fn(dir.path, home);
  } finally {
    dir.cleanup();
  }
}

Deno.test("--trace writes PFLOW_HOME/debug/workflow-trace-NAME-STAMP-EXEC8.json with header, events and footer", async () => {
  await withHome(async (dir, home) => {
    const out = join(dir, "out");
    const result = await runPflow(["run", "examples/hello.json", "--trace", `out_dir=${out}`, "name=Ada"], {
      env: { PFLOW_HOME: home },
    });
    assert.equal(result.code, 0, result.stderr);
    const [file] = traces(home);
    const name = file.split("/").pop()!;
    const m = TRACE_NAME.exec(name);
    assert.ok(m, name);
    assert.equal(m[1], "hello");
    assert.match(result.stderr, new RegExp(`Workflow trace saved: ${file.replace(/[.]/g, "\\.")}`));
    const { trace, complete } = readTrace(file);
    assert.equal(complete, true);
    assert.equal(trace.format_version, 1);
    assert.match(trace.trace_id, /^[0-9a-f]{32}$/);
    assert.match(trace.span_id, /^[0-9a-f]{16}$/);
    assert.equal(trace.execution_id.slice(0, 8), m[4]);
    assert.equal(trace.workflow_name, "hello");
    assert.equal(trace.workflow_file, "examples/hello.json");
    assert.equal(trace.final_status, "success");
    assert.deepEqual(trace.inputs, { name: "Ada", out_dir: out });
    assert.deepEqual(trace.initial_store, { name: "Ada", out_dir: out });
    assert.ok(Date.parse(trace.start_time) <= Date.parse(trace.end_time!));
    assert.equal(trace.nodes_executed, 4);
    assert.equal(trace.nodes_failed, 0);
    assert.equal(trace.metrics!.num_nodes, 4);
    assert.deepEqual(trace.events.map((e) => e.node_id), ["greet", "count", "save", "check"]);
    const greet = trace.events[0];
    assert.equal(greet.parent_span_id, trace.span_id);
    assert.equal(greet.action, "default");
    assert.equal(greet.success, true);
    assert.deepEqual(greet.params, { command: 'echo "Hello, $NAME! Welcome to pflow."', env: { NAME: "Ada" } });
    assert.deepEqual(greet.template_resolutions, [{ param: "env", template: "${name}", value: "Ada" }]);
    const save = trace.events[2];
    assert.deepEqual(save.template_resolutions.map((r) => [r.param, r.template]), [
      ["path", "${out_dir}"],
      ["content", "${greet.stdout}"],
      ["content", "${count.stdout}"],
    ]);
    assert.equal(save.params.path, `${out}/report.md`, "params hold the resolved values");
    assert.deepEqual(greet.mutations.map((x) => [x.op, x.path, x.after]), [
      ["set", "greet", {}],
      ["set", "greet.stdout", "Hello, Ada! Welcome to pflow.\n"],
      ["set", "greet.stderr", ""],
      ["set", "greet.exit_code", 0],
    ]);
    assert.ok(greet.phases.exec_ms > 0 && greet.duration_ms >= greet.phases.exec_ms);
    assert.ok(greet.phases.exec_cpu_ms !== undefined && greet.phases.exec_cpu_ms >= 0, "phases carry CPU time");
    assert.ok(greet.cpu.user_ms >= 0);
    assert.ok(!("child_user_ms" in greet.cpu), "a child using less than the clock's 10 ms tick reports nothing");
    // Figures agree with the JSON result's metrics of the same run.
    for (const e of trace.events) {
      assert.equal(
        (trace.metrics!.metrics!.workflow!.node_timings as Record<string, number>)[e.node_id],
        e.duration_ms,
      );
    }
  });
});

Deno.test("JSON mode carries trace_path; two runs in the same second never collide", async () => {
  await withHome(async (dir, home) => {
    const file = writeWorkflow(
      dir,
      "quick.json",
      workflow([{ id: "a", type: "echo", params: { value: 1 } }], { name: "quick" }),
    );
    const [one, two] = await Promise.all([
      runPflow(["run", file, "--trace", "--output-format", "json"], { env: { PFLOW_HOME: home } }),
      runPflow(["run", file, "--trace", "--output-format", "json"], { env: { PFLOW_HOME: home } }),
    ]);
    const paths = [JSON.parse(one.stdout).trace_path, JSON.parse(two.stdout).trace_path];
    assert.notEqual(paths[0], paths[1]);
    assert.deepEqual(traces(home).sort(), [...paths].sort());
  });
});

Deno.test("failures and loops: a failed node's event has its error; each pass of a loop is an event", async () => {
  await withHome(async (dir, home) => {
    const file = writeWorkflow(
      dir,
      "fail.json",
      workflow([
        { id: "ok", type: "echo", params: { value: "x" } },
        { id: "boom", type: "read-file", params: { path: "/nonexistent/pflow-trace" } },
      ], { edges: [{ from: "ok", to: "boom" }] }),
    );
    const failed = await runPflow(["run", file, "--trace"], { env: { PFLOW_HOME: home } });
    assert.equal(failed.code, 1);
    const { trace } = readTrace(traces(home)[0]);
    assert.equal(trace.final_status, "failed");
    assert.equal(trace.nodes_failed, 1);
    const boom = trace.events[1];
    assert.equal(boom.success, false);
    assert.equal(boom.action, null);
    assert.equal(boom.error?.type, "NodeError");
    assert.match(boom.error!.message, /not found: \/nonexistent\/pflow-trace/);
    assert.equal(boom.error!.stack, undefined, "stacks only with --verbose");
    assert.equal(trace.error?.node_id, "boom");
  });
  await withHome(async (dir, home) => {
    const file = writeWorkflow(
      dir,
      "loop.json",
      workflow([
        {
          id: "tick",
          type: "shell",
          params: { command: "n=$(cat $${HOME}/n 2>/dev/null || echo 0); echo $((n+1)) > $${HOME}/n; [ $n -lt 2 ]" },
        },
        { id: "done", type: "echo", params: { value: "done" } },
      ], { edges: [{ from: "tick", to: "tick" }, { from: "tick", to: "done", action: "error" }] }),
    );
    const result = await runPflow(["run", file, "--trace"], { env: { PFLOW_HOME: home, HOME: dir } });
    assert.equal(result.code, 0, result.stderr);
    const { trace } = readTrace(traces(home)[0]);
    assert.deepEqual(trace.events.map((e) => [e.node_id, e.execution_index, e.action]), [
      ["tick", 0, "default"],
      ["tick", 1, "default"],
      ["tick", 2, "error"],
      ["done", 0, "default"],
    ]);
    assert.equal(new Set(trace.events.map((e) => e.span_id)).size, 4);
    assert.equal(trace.nodes_failed, 1, "an error action handled by an error edge still counts as failed");
    assert.deepEqual(trace.events[2].error, { type: "ErrorAction", message: "command exited with code 1" });
  });
});

Deno.test("a failure an error edge handles keeps its error in the event, the footer and trace show", async () => {
  await withHome(async (dir, home) => {
    const file = writeWorkflow(
      dir,
      "edge.json",
      workflow([
        { id: "a", type: "read-file", params: { path: "/nonexistent/pflow-edge" } },
        { id: "sh", type: "shell", params: { command: "echo oops >&2; exit 3" } },
        { id: "h", type: "echo", params: { value: "${a.error}" } },
        { id: "last", type: "shell", params: { command: "echo late >&2; exit 4" } },
      ], {
        edges: [
          { from: "a", to: "h", action: "error" },
          { from: "h", to: "sh" },
          { from: "sh", to: "last", action: "error" },
        ],
      }),
    );
    const result = await runPflow(["run", file, "--trace", "--verbose"], { env: { PFLOW_HOME: home } });
    assert.equal(result.code, 1, result.stderr);
    const { trace } = readTrace(traces(home)[0]);
    const byId = new Map(trace.events.map((e) => [e.node_id, e]));
    // Threw, then its edge turned that into the `error` action: the error it threw is kept.
    assert.equal(byId.get("a")!.action, "error");
    assert.equal(byId.get("a")!.error?.type, "NodeError");
    assert.equal(byId.get("a")!.error?.message, "file not found: /nonexistent/pflow-edge");
    assert.match(byId.get("a")!.error?.stack ?? "", /NodeError/, "the stack with --verbose");
    // Returned `error` (handled, and not): the reason its error output gives.
    assert.deepEqual(byId.get("sh")!.error, { type: "ErrorAction", message: "command exited with code 3: oops" });
    assert.deepEqual(byId.get("last")!.error, { type: "ErrorAction", message: "command exited with code 4: late" });
    assert.equal(trace.nodes_failed, 3);
    const shown = await runPflow(["trace", "show", "latest"], { env: { PFLOW_HOME: home, NO_COLOR: "1" } });
    assert.match(shown.stdout, /✗ a .*\n +error: NodeError: file not found: \/nonexistent\/pflow-edge\n/);
    assert.match(shown.stdout, /error: ErrorAction: command exited with code 3: oops\n/);
    assert.match(shown.stdout, /4 node executions · 3 failed/);
    const json = await runPflow(["run", file, "--output-format", "json"], { env: { PFLOW_HOME: home } });
    const nodes = JSON.parse(json.stdout).metrics.workflow.nodes;
    assert.deepEqual([nodes.a.status, nodes.sh.status, nodes.h.status], ["error", "error", "success"]);
  });
});

/** A node that changes the store in place, the way user code does. */
class Mutator extends Node {
  static readonly spec: NodeSpec = {
    type: "mutator",
    description: "",
    params: {},
    outputs: { list: { type: "array", description: "" } },
  };
  override post(shared: Shared) {
    const big = shared.big as { items: number[]; meta: { touched: number } };
    big.items.push(42); // nested in-place change
    big.meta.touched = 2;
    delete (big.meta as Record<string, unknown>).old;
    shared.note = "x".repeat(25_000);
    shared.blob = new Uint8Array(2048);
    shared.wide = Object.fromEntries(Array.from({ length: 150 }, (_, i) => [`k${i}`, i]));
    return undefined;
  }
}

async function traceInProcess(
  initial: Record<string, unknown>,
  nodes: WorkflowIR["nodes"],
  extra: Partial<WorkflowIR> = {},
) {
  const registry = new NodeRegistry([...BUILTIN_NODES, Mutator]);
  const ir: WorkflowIR = { ir_version: "0.1.0", nodes, enable_namespacing: false, ...extra };
  const sink = new TraceSink({
    header: {
      execution_id: "e",
      trace_id: "0".repeat(31) + "1",
      span_id: "0".repeat(15) + "1",
      parent_span_id: null,
      workflow_name: "t",
      workflow_file: null,
      pflow_version: "test",
      inputs: {},
    },
    nodeParams: new Map(nodes.map((n) => [n.id, n.params ?? {}])),
    redactor: new Redactor(["sk-secret-value-123"]),
    warn: () => {},
  });
  const telemetry = new RunTelemetry({
    instrumented: true,
    sinks: [sink],
    ...sink.telemetryOptions(),
  });
  const result = await runWorkflow(compileWorkflow(ir, { registry, instrument: instrumentNode }), {
    inputs: initial,
    telemetry,
    onStart: (shared) => sink.start(shared),
    warn: () => {},
  });
  return { result, trace: sink.document() };
}

Deno.test("mutations record nested in-place changes, deletes, and bounded before/after values", async () => {
  const initial = { big: { items: [1, 2], meta: { touched: 1, old: "gone" } } };
  const { trace, result } = await traceInProcess(initial, [{ id: "m", type: "mutator" }]);
  assert.equal(result.status, "success");
  const mutations = trace.events[0].mutations;
  assert.deepEqual(mutations.slice(0, 3), [
    { op: "set", path: "big.items[2]", after: 42 },
    { op: "set", path: "big.meta.touched", before: 1, after: 2 },
    { op: "delete", path: "big.meta.old", before: "gone" },
  ]);
  const note = mutations.find((m) => m.path === "note")!;
  assert.equal((note.after as string).length, 10_000 + "…[truncated 15000 chars]".length);
  assert.ok((note.after as string).endsWith("…[truncated 15000 chars]"));
  assert.equal(mutations.find((m) => m.path === "blob")!.after, "<binary 2048 bytes>");
  const wide = mutations.find((m) => m.path === "wide")!.after as Record<string, unknown>;
  assert.equal(Object.keys(wide).length, 101, "truncated inside: 100 keys and a marker");
  assert.equal(wide["…"], "[50 more keys]");
  assert.equal(wide.k0, 0);
});

Deno.test("ordinary data is recorded whole: 100 records of 25 fields, a literal param nested 9 deep", async () => {
  const records = Array.from({ length: 100 }, (_, id) => ({
    id,
    ...Object.fromEntries(Array.from({ length: 24 }, (_, j) => [`f${j}`, j])),
  }));
  let deep: unknown = "bottom";
  for (let level = 9; level >= 1; level--) deep = { [`l${level}`]: deep };
  const { trace } = await traceInProcess({ records }, [
    { id: "e", type: "echo", params: { value: "${records}" } },
    { id: "deep", type: "echo", params: { value: deep } },
  ], { edges: [{ from: "e", to: "deep" }] });
  const [e, d] = trace.events;
  assert.deepEqual(e.params.value, records);
  assert.deepEqual(e.mutations[0].after, records);
  assert.deepEqual(d.params.value, deep);
  assert.deepEqual(d.mutations[0].after, deep);
  assert.deepEqual(storeAfter(trace, 1).output, deep, "trace show --state rebuilds the store as it was");
});

Deno.test("trace.value_chars bounds one value's copy; the marker names the setting", async () => {
  await withHome(async (dir, home) => {
    writeFileSync(join(home, "settings.json"), JSON.stringify({ trace: { value_chars: 1000 } }));
    const file = writeWorkflow(
      dir,
      "v.json",
      workflow([{
        id: "e",
        type: "echo",
        params: { value: Array.from({ length: 50 }, (_, i) => `item ${i} `.repeat(5)) },
      }]),
    );
    const result = await runPflow(["run", file, "--trace"], { env: { PFLOW_HOME: home } });
    assert.equal(result.code, 0, result.stderr);
    const { trace } = readTrace(traces(home)[0]);
    assert.equal(trace.limits.value_chars, 1000);
    const value = trace.events[0].params.value as string[];
    assert.ok(value.length > 10 && value.length < 50, String(value.length));
    assert.match(value.at(-1)!, /^…\[\d+ more items not copied: past 1000 characters \(trace\.value_chars\)\]$/);
  });
});

Deno.test("a node that changes one small key records the same bytes whatever the store's size", async () => {
  const sizes: number[] = [];
  for (const n of [10, 100_000]) {
    const initial = { huge: { rows: Array.from({ length: n }, (_, i) => ({ i, text: "row" })) }, counter: 0 };
    const { trace } = await traceInProcess(initial, [{ id: "bump", type: "echo", params: { value: "${counter}" } }]);
    const event = trace.events[0];
    assert.deepEqual(event.mutations.map((m) => m.path), ["output"]);
    sizes.push(
      JSON.stringify(event).length - String(event.duration_ms).length - JSON.stringify(event.phases).length -
        JSON.stringify(event.cpu).length - event.start_time.length - String(event.start_offset_ms).length,
    );
  }
  assert.equal(sizes[0], sizes[1]);
});

Deno.test("template resolutions are recorded per batch item", async () => {
  const { trace } = await traceInProcess({}, [{
    id: "fan",
    type: "echo",
    params: { value: "v-${item}" },
    batch: { items: ["a", "b"], parallel: true },
  }]);
  const resolutions = trace.events[0].template_resolutions.map((r) => [r.item_index, r.template, r.value]).sort();
  assert.deepEqual(resolutions, [[0, "${item}", "a"], [1, "${item}", "b"]]);
});

Deno.test("a batch's event keeps its params as written, each item's resolved params, and its items template", async () => {
  const { trace } = await traceInProcess({ names: ["a", "b", "c"] }, [{
    id: "fan",
    type: "echo",
    params: { value: "v-${it}", fail: false },
    batch: { items: "${names}", as: "it", parallel: true },
  }]);
  const [event] = trace.events;
  assert.deepEqual(event.params, { value: "v-${it}", fail: false });
  assert.deepEqual(event.item_params, [{ value: "v-a" }, { value: "v-b" }, { value: "v-c" }]);
  assert.deepEqual(event.template_resolutions[0], {
    param: "batch.items",
    template: "${names}",
    value: ["a", "b", "c"],
  });
  const { trace: plain } = await traceInProcess({ n: 1 }, [{ id: "e", type: "echo", params: { value: "${n}" } }]);
  assert.equal(plain.events[0].item_params, undefined, "only a batch node has item_params");
  assert.deepEqual(plain.events[0].params, { value: 1 });
});

/** Runs pflow, waits until `ready(stderr+files)` then sends `signal`; returns exit code/signal. */
function runAndSignal(args: string[], env: Record<string, string>, ready: () => boolean, signal: "SIGINT" | "SIGKILL") {
  return new Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }>(
    (resolve, reject) => {
      const child = spawn(PFLOW_BIN, args, {
        cwd: ROOT,
        env: { PATH: process.env.PATH!, ...env },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d) => stdout += d);
      child.stderr.on("data", (d) => stderr += d);
      child.on("error", reject);
      child.on("close", (code, sig) => {
        clearInterval(poll);
        clearTimeout(guard);
        resolve({ code, signal: sig, stdout, stderr });
      });
      const guard = setTimeout(() => process.kill(child.pid!, "SIGKILL"), 15_000);
      const poll = setInterval(() => {
        if (ready()) {
          clearInterval(poll);
          process.kill(child.pid!, signal);
        }
      }, 20);
    },
  );
}

function sleepyWorkflow(dir: string) {
  return writeWorkflow(
    dir,
    "sleepy.json",
    workflow([
      { id: "first", type: "shell", params: { command: "echo first" } },
      { id: "nap", type: "shell", params: { command: "sleep 30" } },
      { id: "never", type: "echo", params: { value: "x" } },
    ], { name: "sleepy", edges: [{ from: "first", to: "nap" }, { from: "nap", to: "never" }] }),
  );
}

const firstEventWritten = (home: string) => () => {
  const [file] = traces(home);
  return file !== undefined && readFileSync(file, "utf8").includes('"node_id":"first"');
};

Deno.test("SIGINT finishes the trace as interrupted with every node so far", async () => {
  await withHome(async (dir, home) => {
    const result = await runAndSignal(
      ["run", sleepyWorkflow(dir), "--trace"],
      { PFLOW_HOME: home },
      firstEventWritten(home),
      "SIGINT",
    );
    assert.equal(result.code, 130, result.stderr);
    const { trace, complete } = readTrace(traces(home)[0]);
    assert.equal(complete, true);
    assert.equal(trace.final_status, "interrupted");
    assert.deepEqual(trace.events.map((e) => [e.node_id, e.status]), [["first", "success"], ["nap", "interrupted"]]);
    assert.ok(trace.metrics !== undefined);
  });
});

Deno.test("after SIGKILL every completed node's event is still readable", async () => {
  await withHome(async (dir, home) => {
    const result = await runAndSignal(
      ["run", sleepyWorkflow(dir), "--trace"],
      { PFLOW_HOME: home },
      firstEventWritten(home),
      "SIGKILL",
    );
    assert.equal(result.signal, "SIGKILL");
    const [file] = traces(home);
    assert.throws(() => JSON.parse(readFileSync(file, "utf8")), "the file has no footer");
    const { trace, complete } = readTrace(file);
    assert.equal(complete, false);
    assert.equal(trace.final_status, "incomplete");
    assert.deepEqual(trace.events.map((e) => e.node_id), ["first"]);
    assert.equal(trace.events[0].mutations.find((m) => m.path === "first.stdout")?.after, "first\n");
    const shown = await runPflow(["trace", "show", file], { env: { PFLOW_HOME: home } });
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /incomplete/);
    assert.match(shown.stdout, /✓ first\s+shell/);
    const listed = await runPflow(["trace", "list", "--json"], { env: { PFLOW_HOME: home } });
    assert.equal(JSON.parse(listed.stdout)[0].final_status, "incomplete");
  });
});

Deno.test("a trace that cannot be written is a warning; the run's outcome and exit code stay", async () => {
  await withHome(async (dir, home) => {
    writeFileSync(join(home, "debug"), "not a directory");
    const file = writeWorkflow(dir, "ok.json", workflow([{ id: "a", type: "echo", params: { value: "fine" } }]));
    const result = await runPflow(["run", file, "--trace"], { env: { PFLOW_HOME: home } });
    assert.equal(result.code, 0);
    assert.equal(result.stdout, "fine\n");
    assert.match(result.stderr, /warning: trace not written \(.*\); the run goes on/);
    assert.doesNotMatch(result.stderr, /Workflow trace saved/);
  });
});

// Secrets in every form, across every file and stream: tests/leak_test.ts.

Deno.test("TRACEPARENT makes the run a child of the caller's trace; shell children get the node's TRACEPARENT", async () => {
  await withHome(async (dir, home) => {
    const parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    const file = writeWorkflow(
      dir,
      "tp.json",
      workflow([{ id: "sh", type: "shell", params: { command: "echo $TRACEPARENT" } }]),
    );
    const result = await runPflow(["run", file, "--trace"], { env: { PFLOW_HOME: home, TRACEPARENT: parent } });
    assert.equal(result.code, 0, result.stderr);
    const { trace } = readTrace(traces(home)[0]);
    assert.equal(trace.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
    assert.equal(trace.parent_span_id, "00f067aa0ba902b7");
    assert.equal(result.stdout.trim(), `00-4bf92f3577b34da6a3ce929d0e0e4736-${trace.events[0].span_id}-01`);
  });
});

Deno.test("shell children's TRACEPARENT carries the trace's sampling decision, the one the OTLP export makes", async () => {
  const { startOtlpReceiver } = await import("./support/otlp_receiver.ts");
  const receiver = await startOtlpReceiver();
  try {
    await withHome(async (dir, home) => {
      const file = writeWorkflow(
        dir,
        "tp.json",
        workflow([{ id: "sh", type: "shell", params: { command: "echo $TRACEPARENT" } }]),
      );
      const caller = (traceId: string, flags: string) => `00-${traceId}-00f067aa0ba902b7-${flags}`;
      const id = "4bf92f3577b34da6a3ce929d0e0e4736";
      // At ratio 0.5 the SDK's sampler keeps a trace id whose four 32-bit words XOR below 2^31, not one above.
      const low = "00000000000000000000000000000001";
      const high = "ffffffff000000000000000000000000";
      const cases: [Record<string, string>, string][] = [
        [{}, "01"],
        [{ TRACEPARENT: caller(id, "01") }, "01"],
        [{ TRACEPARENT: caller(id, "00") }, "00"],
        [{ OTEL_TRACES_SAMPLER: "always_off" }, "00"],
        [{ OTEL_TRACES_SAMPLER: "parentbased_always_off" }, "00"],
        [{ OTEL_TRACES_SAMPLER: "parentbased_always_off", TRACEPARENT: caller(id, "01") }, "01"],
        [{ OTEL_TRACES_SAMPLER: "always_on", TRACEPARENT: caller(id, "00") }, "01"],
        [{ OTEL_TRACES_SAMPLER: "traceidratio", OTEL_TRACES_SAMPLER_ARG: "0.5", TRACEPARENT: caller(low, "00") }, "01"],
        [
          { OTEL_TRACES_SAMPLER: "traceidratio", OTEL_TRACES_SAMPLER_ARG: "0.5", TRACEPARENT: caller(high, "01") },
          "00",
        ],
      ];
      for (const [extra, flags] of cases) {
        const label = JSON.stringify(extra);
        for (const export_ of [[], ["--otlp-endpoint", receiver.url]]) {
          receiver.requests.length = 0;
          const result = await runPflow(["run", file, "--trace", ...export_], { env: { PFLOW_HOME: home, ...extra } });
          assert.equal(result.code, 0, result.stderr);
          assert.match(result.stdout.trim(), /^00-[0-9a-f]{32}-[0-9a-f]{16}-(00|01)$/, label);
          assert.equal(result.stdout.trim().slice(-2), flags, label);
          if (export_.length > 0) {
            assert.equal(receiver.requests.length, flags === "01" ? 1 : 0, `${label}: the export agrees`);
          }
        }
      }
    });
  } finally {
    await receiver.close();
  }
});

Deno.test("JSON logs carry timestamp, level, message, execution_id, trace_id, span_id and node_id", async () => {
  await withHome(async (dir, home) => {
    const file = writeWorkflow(
      dir,
      "logs.json",
      workflow([{ id: "a", type: "echo", params: { value: 1 } }, { id: "b", type: "echo" }], {
        edges: [{ from: "a", to: "b" }],
      }),
    );
    const result = await runPflow(["run", file, "--trace", "--log-format", "json", "--output-format", "json"], {
      env: { PFLOW_HOME: home, PFLOW_LOG_LEVEL: "debug" },
    });
    assert.equal(result.code, 0, result.stderr);
    const records = result.stderr.trim().split("\n").map((line) => JSON.parse(line));
    const doc = JSON.parse(result.stdout);
    const { trace } = readTrace(doc.trace_path);
    for (const r of records) {
      for (const field of ["timestamp", "level", "message", "execution_id", "trace_id", "span_id", "node_id"]) {
        assert.ok(field in r, `${field} missing in ${JSON.stringify(r)}`);
      }
      assert.equal(r.execution_id, doc.execution_id);
      assert.equal(r.trace_id, trace.trace_id);
    }
    const nodeRecords = records.filter((r) => r.node_id !== null);
    assert.deepEqual(nodeRecords.map((r) => [r.node_id, r.span_id]), trace.events.map((e) => [e.node_id, e.span_id]));
    assert.ok(records.some((r) => r.message === `Workflow trace saved: ${doc.trace_path}`));
    const bad = await runPflow(["run", file], { env: { PFLOW_HOME: home, PFLOW_LOG_LEVEL: "loud" } });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /PFLOW_LOG_LEVEL must be one of debug, info, warn, error, got 'loud'/);
  });
});

Deno.test("a run with --otlp-endpoint exports its span tree (run → nodes → chat) with the trace file's ids", async () => {
  const { startOtlpReceiver } = await import("./support/otlp_receiver.ts");
  const receiver = await startOtlpReceiver();
  const llm = await startLlmServer();
  try {
    await withHome(async (dir, home) => {
      const file = writeWorkflow(
        dir,
        "otel.json",
        workflow([
          { id: "prep", type: "echo", params: { value: "q" } },
          { id: "ask", type: "llm", params: { model: "anthropic/claude-haiku-4-5", prompt: "hello ${prep.output}" } },
        ], { name: "otel", edges: [{ from: "prep", to: "ask" }] }),
      );
      const parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
      const env = {
        PFLOW_HOME: home,
        ANTHROPIC_API_KEY: "sk-ant-otel-test-key",
        ANTHROPIC_BASE_URL: llm.url,
        TRACEPARENT: parent,
        OTEL_SERVICE_NAME: "pflow-e2e",
      };
      const result = await runPflow(["run", file, "--trace", "--otlp-endpoint", receiver.url], { env });
      assert.equal(result.code, 0, result.stderr);
      const { trace } = readTrace(traces(home)[0]);
      const spans = receiver.spans();
      const byId = new Map(spans.map((s) => [s.span.spanId, s]));
      const root = byId.get(trace.span_id)!;
      assert.equal(root.span.name, "invoke_workflow otel");
      assert.equal(root.span.parentSpanId, "00f067aa0ba902b7");
      assert.equal(root.span.traceId, "4bf92f3577b34da6a3ce929d0e0e4736");
      assert.equal(root.resource["service.name"], "pflow-e2e");
      for (const event of trace.events) {
        const span = byId.get(event.span_id)!;
        assert.equal(span.span.parentSpanId, trace.span_id, event.node_id);
      }
      const ask = trace.events[1];
      const chat = byId.get(ask.llm_calls[0].span_id)!;
      assert.equal(chat.span.name, "chat claude-haiku-4-5");
      assert.equal(chat.span.parentSpanId, ask.span_id);
      assert.equal(chat.attributes["gen_ai.request.model"], "claude-haiku-4-5");
      assert.equal(chat.attributes["gen_ai.usage.output_tokens"], ask.llm_calls[0].usage.output_tokens);
      assert.equal(spans.length, 4);
      assert.ok(!JSON.stringify(receiver.requests.map((r) => r.body)).includes("sk-ant-otel-test-key"));
    });
  } finally {
    await receiver.close();
    await llm.close();
  }
});

Deno.test("a secret that a template puts in an auth header is redacted from the first line of the trace", async () => {
  await withHome(async (dir, home) => {
    const server = createServer((_req, res) => res.end("ok"));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
      const file = writeWorkflow(
        dir,
        "h.json",
        workflow([
          { id: "first", type: "shell", params: { command: "echo using ${tok}" } },
          { id: "call", type: "http", params: { url, headers: { Authorization: "Bearer ${tok}" } } },
          { id: "doc", type: "echo", params: { value: "Use $${tok} in headers" } },
        ], {
          inputs: { tok: { type: "string" } },
          edges: [{ from: "first", to: "call" }, { from: "call", to: "doc" }],
          outputs: { doc: { source: "${doc.output}" } },
        }),
      );
      const result = await runPflow(["run", file, "tok=tokSECRETVAL999", "--trace", "--output-format", "json"], {
        env: { PFLOW_HOME: home },
      });
      assert.equal(result.code, 0, result.stderr);
      const text = readFileSync(traces(home)[0], "utf8");
      assert.ok(!text.includes("tokSECRETVAL999"), "the token is in the trace");
      assert.ok(!result.stdout.includes("tokSECRETVAL999"));
      // The template in the header is no secret itself: its text stays wherever it is written.
      assert.equal(JSON.parse(result.stdout).result.doc, "Use ${tok} in headers");
      const { trace } = readTrace(traces(home)[0]);
      assert.deepEqual(trace.events[1].template_resolutions, [{
        param: "headers",
        template: "${tok}",
        value: REDACTED,
      }]);
      const shown = await runPflow(["trace", "show", "latest", "--node", "first", "--state"], {
        env: { PFLOW_HOME: home },
      });
      assert.ok(!shown.stdout.includes("tokSECRETVAL999"));
    } finally {
      server.close();
    }
  });
});

Deno.test("every Set-Cookie a server sends is kept in response_headers and redacted in the trace", async () => {
  await withHome(async (dir, home) => {
    const server = createServer((_req, res) => {
      res.setHeader("set-cookie", ["a=cookieONE4242; Expires=Wed, 21 Oct 2026 07:28:00 GMT", "b=cookieTWO4343"]);
      res.end("ok");
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
      const file = writeWorkflow(
        dir,
        "c.json",
        workflow([
          { id: "call", type: "http", params: { url } },
          { id: "count", type: "echo", params: { value: "${call.response_headers.set-cookie}" } },
        ], { edges: [{ from: "call", to: "count" }] }),
      );
      const result = await runPflow(["run", file, "--trace", "--output-format", "json"], { env: { PFLOW_HOME: home } });
      assert.equal(result.code, 0, result.stderr);
      const text = readFileSync(traces(home)[0], "utf8");
      assert.ok(text.includes('"set-cookie":"[REDACTED]"'), "the trace shows where the cookies were");
      for (const cookie of ["cookieONE4242", "cookieTWO4343"]) {
        assert.ok(!text.includes(cookie), `${cookie} in the trace`);
      }
    } finally {
      server.close();
    }
  });
});

Deno.test("a redacted header hides its own value only: the request's and response's other headers stay visible", async () => {
  await withHome(async (dir, home) => {
    const server = createServer((_req, res) => {
      res.setHeader("set-cookie", "sid=cookieVAL4242");
      res.setHeader("content-type", "application/json");
      res.end("{}");
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
      const headers = {
        Authorization: "Bearer abcdef123456",
        Accept: "application/xml-ish",
        "X-Trace-Note": "hello-note",
      };
      const file = writeWorkflow(
        dir,
        "h.json",
        workflow([
          { id: "call", type: "http", params: { url, headers } },
          { id: "say", type: "echo", params: { value: "Accept application/xml-ish; note hello-note" } },
          { id: "got", type: "echo", params: { value: "${call.response_headers}" } },
        ], {
          edges: [{ from: "call", to: "say" }, { from: "say", to: "got" }],
          outputs: { say: { source: "${say.output}" }, got: { source: "${got.output}" } },
        }),
      );
      const result = await runPflow(["run", file, "--trace", "--output-format", "json"], { env: { PFLOW_HOME: home } });
      assert.equal(result.code, 0, result.stderr);
      const doc = JSON.parse(result.stdout);
      assert.equal(doc.result.say, "Accept application/xml-ish; note hello-note");
      assert.equal(doc.result.got["content-type"], "application/json");
      const { trace } = readTrace(traces(home)[0]);
      const call = trace.events.find((e) => e.node_id === "call")!;
      assert.deepEqual(call.params.headers, {
        Authorization: "[REDACTED]",
        Accept: "application/xml-ish",
        "X-Trace-Note": "hello-note",
      });
      const responseHeaders = call.mutations.find((m) => m.path === "call.response_headers")!.after as Record<
        string,
        unknown
      >;
      assert.equal(responseHeaders["set-cookie"], "[REDACTED]");
      assert.equal(responseHeaders["content-type"], "application/json");
      const text = readFileSync(traces(home)[0], "utf8");
      for (const secret of ["abcdef123456", "cookieVAL4242"]) {
        assert.ok(!text.includes(secret), `${secret} in the trace`);
      }
    } finally {
      server.close();
    }
  });
});

Deno.test("a value under a secret name in the store (an API's token) is hidden in later nodes' events too", async () => {
  await withHome(async (dir, home) => {
    const server = createServer((_req, res) => {
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ token: "srv-made-token-7777", session: "sess-abc-123456", note: "plain-note-value" }));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
      const file = writeWorkflow(
        dir,
        "t.json",
        workflow([
          { id: "h", type: "http", params: { url } },
          {
            id: "sh",
            type: "shell",
            params: { command: "echo ${h.response.token} ${h.response.session} ${h.response.note}" },
          },
        ], { edges: [{ from: "h", to: "sh" }] }),
      );
      const result = await runPflow(["run", file, "--trace"], { env: { PFLOW_HOME: home } });
      assert.equal(result.code, 0, result.stderr);
      const text = readFileSync(traces(home)[0], "utf8");
      for (const secret of ["srv-made-token-7777", "sess-abc-123456"]) {
        assert.ok(!text.includes(secret), `${secret} in the trace`);
      }
      const sh = readTrace(traces(home)[0]).trace.events.find((e) => e.node_id === "sh")!;
      assert.equal(sh.params.command, "echo [REDACTED] [REDACTED] plain-note-value");
      assert.equal(sh.mutations.find((m) => m.path === "sh.stdout")!.after, "[REDACTED] [REDACTED] plain-note-value\n");
      // What the trace learned stays in the trace: the run prints the same with or without --trace.
      const plain = await runPflow(["run", file], { env: { PFLOW_HOME: home } });
      assert.equal(plain.code, 0, plain.stderr);
      assert.equal(result.stdout, plain.stdout);
    } finally {
      server.close();
    }
  });
});

Deno.test("writing the trace's header (a large initial store) is not charged to the first node", async () => {
  await withHome(async (dir, home) => {
    const file = writeWorkflow(
      dir,
      "obj.json",
      workflow([{ id: "a", type: "echo", params: { value: "ok" } }], {
        inputs: { data: { type: "object", stdin: true } },
      }),
    );
    const data = JSON.stringify(
      Object.fromEntries(Array.from({ length: 40_000 }, (_, i) => [`k${i}`, "v".repeat(60)])),
    );
    const result = await runPflow(["run", file, "--trace"], { env: { PFLOW_HOME: home }, stdin: data });
    assert.equal(result.code, 0, result.stderr);
    const [a] = readTrace(traces(home)[0]).trace.events;
    // The header's time lies before the node: the node starts after it and takes an echo's time.
    assert.ok(a.start_offset_ms > a.duration_ms, `starts at ${a.start_offset_ms} ms, takes ${a.duration_ms} ms`);
    assert.ok(a.phases.prep_ms <= a.duration_ms);
  });
});

Deno.test("trace times share the run's clock: every event lies within the run's duration", async () => {
  await withHome(async (dir, home) => {
    const nodes = Array.from({ length: 300 }, (_, i) => ({ id: `n${i}`, type: "echo", params: { value: i } }));
    const edges = nodes.slice(1).map((n, i) => ({ from: nodes[i].id, to: n.id }));
    const file = writeWorkflow(dir, "many.json", workflow(nodes, { edges }));
    const result = await runPflow(["run", file, "--trace", "--output-format", "json"], { env: { PFLOW_HOME: home } });
    assert.equal(result.code, 0, result.stderr);
    const { trace } = readTrace(traces(home)[0]);
    const end = Date.parse(trace.end_time!);
    for (const e of trace.events) {
      assert.ok(e.start_offset_ms >= 0 && e.start_offset_ms + e.duration_ms <= trace.duration_ms! + 0.05, e.node_id);
      assert.ok(Date.parse(e.start_time) <= end);
    }
    const doc = JSON.parse(result.stdout);
    assert.equal(doc.metrics.workflow.duration_ms, trace.duration_ms);
    assert.ok(doc.duration_ms >= trace.duration_ms!, "the result's duration_ms includes loading and compiling");
  });
});

Deno.test("@traced: a node class's redact list hides those fields (and their values everywhere); capture keeps more", async () => {
  const { traced: tracedDecorator, tracedOptionsOf } = await import("../src/observability/decorators.ts");
  @tracedDecorator({ redact: ["foo", "cfg.pin"], capture: ["big"] })
  class Private extends Node {
    static readonly spec: NodeSpec = {
      type: "private",
      description: "",
      params: {
        foo: { type: "string", description: "" },
        cfg: { type: "object", description: "" },
        big: { type: "string", description: "" },
      },
      outputs: {
        foo: { type: "string", description: "" },
        big: { type: "string", description: "" },
        plain: { type: "string", description: "" },
      },
    };
    override post(shared: Shared) {
      shared.foo = `echo ${this.params.foo}`;
      shared.big = this.params.big;
      shared.plain = this.params.big;
      return undefined;
    }
  }
  const registry = new NodeRegistry([...BUILTIN_NODES, Private]);
  const ir: WorkflowIR = {
    ir_version: "0.1.0",
    nodes: [{
      id: "p",
      type: "private",
      params: {
        foo: "plain-visible-value",
        cfg: { pin: "1234-5678", mode: "mode-not-secret" },
        big: "y".repeat(30_000),
      },
    }],
  };
  const redactor = new Redactor();
  const sink = new TraceSink({
    header: {
      execution_id: "e",
      trace_id: "2".repeat(32),
      span_id: "2".repeat(16),
      parent_span_id: null,
      workflow_name: "t",
      workflow_file: null,
      pflow_version: "test",
      inputs: {},
    },
    nodeParams: new Map([["p", ir.nodes[0].params!]]),
    nodeTraced: new Map([["p", tracedOptionsOf(Private)!]]),
    redactor,
    limits: { store_chars: 1_000, prompt_chars: 100_000, response_chars: 2_000 },
    warn: () => {},
  });
  const telemetry = new RunTelemetry({ instrumented: true, sinks: [sink], ...sink.telemetryOptions() });
  await runWorkflow(compileWorkflow(ir, { registry, instrument: instrumentNode }), {
    telemetry,
    onStart: (s) => sink.start(s),
  });
  const event = sink.document().events[0];
  assert.equal(event.params.foo, "[REDACTED]");
  assert.deepEqual(event.params.cfg, { pin: "[REDACTED]", mode: "mode-not-secret" });
  // Each kind of value has its own limit: a captured param is a prompt, a captured output a response.
  assert.equal((event.params.big as string).length, 30_000, "captured param: up to the prompt limit");
  const cut = (m: string) => event.mutations.find((x) => x.path === m)!.after as string;
  assert.equal(cut("p.big"), `${"y".repeat(2_000)}…[truncated 28000 chars]`, "captured output: the response limit");
  assert.equal(cut("p.plain"), `${"y".repeat(1_000)}…[truncated 29000 chars]`, "other output: the store limit");
  const fooOut = event.mutations.find((m) => m.path === "p.foo")!;
  assert.equal(fooOut.after, "[REDACTED]");
  assert.equal(redactor.text("x plain-visible-value y"), "x [REDACTED] y", "the value is hidden everywhere");
  assert.equal(redactor.text("1234-5678 mode-not-secret"), "[REDACTED] mode-not-secret", "only what was hidden");
});

Deno.test("an unreachable OTLP collector is one warning; the result is printed first and its timing excludes the export", async () => {
  await withHome(async (dir, home) => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const file = writeWorkflow(dir, "ok.json", workflow([{ id: "a", type: "echo", params: { value: 1 } }]));
    const result = await runPflow([
      "run",
      file,
      "--output-format",
      "json",
      "--otlp-endpoint",
      `http://127.0.0.1:${port}`,
    ], {
      env: { PFLOW_HOME: home },
    });
    assert.equal(result.code, 0, result.stderr);
    const doc = JSON.parse(result.stdout);
    assert.equal(doc.subtype, "success");
    assert.ok(doc.duration_ms < 1000, `duration_ms ${doc.duration_ms} must not include the export`);
    assert.equal(result.stderr.match(/warning: OTLP export/g)?.length, 1, result.stderr);
  });
});

Deno.test("a sequential batch's phases add up to its duration: the node's own phase pauses while its items run", async () => {
  await withHome(async (dir, home) => {
    const file = writeWorkflow(
      dir,
      "batch.json",
      workflow([{
        id: "s",
        type: "shell",
        batch: { items: [1, 2, 3] },
        params: { command: "sleep 0.1; echo ${item}" },
      }]),
    );
    const result = await runPflow(["run", file, "--trace"], { env: { PFLOW_HOME: home } });
    assert.equal(result.code, 0, result.stderr);
    const event = readTrace(traces(home)[0]).trace.events.find((e) => e.node_id === "s")!;
    const p = event.phases!;
    const wall = p.prep_ms + p.exec_ms + p.post_ms;
    assert.ok(event.duration_ms >= 300, `three items of 100 ms: ${event.duration_ms}`);
    assert.ok(wall <= event.duration_ms + 0.1, `phases ${wall} ms within the node's ${event.duration_ms} ms`);
    assert.ok(wall >= 0.9 * event.duration_ms, `phases ${wall} ms account for the node's ${event.duration_ms} ms`);
  });
});
