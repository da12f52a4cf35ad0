/**
 * Trace mode against metrics mode, per node execution, for shared stores of
 * 1 KB, 1 MB and 10 MB where each node changes one small key. Time and trace
 * bytes per node must stay flat as the store grows (mutations are recorded
 * as they happen, never by copying the store).
 *
 * - `deno bench -A bench/trace_bench.ts`: Deno.bench groups per store size.
 * - `deno run -A bench/trace_bench.ts`: round-robin medians (tinybench for the
 *   1 MB case) and a table of µs and bytes per node.
 * @module
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Bench } from "tinybench";
import { Node, type Shared } from "../src/engine/mod.ts";
import type { NodeSpec } from "../src/nodes/spec.ts";
import { instrumentNode, RunTelemetry, timed } from "../src/observability/mod.ts";
import { Redactor } from "../src/observability/redact.ts";
import { TraceSink } from "../src/observability/trace_sink.ts";
import { compileWorkflow, NodeRegistry, runWorkflow, type WorkflowIR } from "../src/workflow/mod.ts";
import { median } from "./support.ts";

const N = 200;

/** Reads the payload's size and bumps one small counter. */
@timed
class Bump extends Node {
  static readonly spec: NodeSpec = {
    type: "bump",
    description: "",
    params: {},
    outputs: { counter: { type: "number", description: "" } },
  };
  override prep(shared: Shared) {
    return (shared.counter as number) ?? 0;
  }
  override post(shared: Shared, counter: unknown) {
    shared.counter = (counter as number) + 1;
    return undefined;
  }
}

const registry = new NodeRegistry([Bump]);
const ir: WorkflowIR = {
  ir_version: "0.1.0",
  enable_namespacing: false,
  nodes: Array.from({ length: N }, (_, i) => ({ id: `n${i}`, type: "bump" })),
  edges: Array.from({ length: N - 1 }, (_, i) => ({ from: `n${i}`, to: `n${i + 1}` })),
};
const compiled = compileWorkflow(ir, { registry, instrument: instrumentNode });

/** A store of about `bytes` bytes of JSON in 1 KB rows. */
function store(bytes: number): Record<string, unknown> {
  const row = "x".repeat(1000);
  return { payload: Array.from({ length: Math.max(1, Math.round(bytes / 1024)) }, (_, i) => ({ i, row })), counter: 0 };
}

const sizes = { "1 KB": store(1024), "1 MB": store(1024 * 1024), "10 MB": store(10 * 1024 * 1024) };
const dir = mkdtempSync(join(tmpdir(), "pflow-trace-bench-"));
let fileCount = 0;

function metricsRun(initial: Record<string, unknown>) {
  const telemetry = new RunTelemetry({ instrumented: true });
  return runWorkflow(compiled, { inputs: { ...initial }, telemetry, warn: () => {} });
}

/** A traced run writing its file; returns the trace's bytes per node event. */
async function traceRun(initial: Record<string, unknown>): Promise<number> {
  const file = join(dir, `t${fileCount++}.json`);
  const sink = new TraceSink({
    header: {
      execution_id: "bench",
      trace_id: "1".repeat(32),
      span_id: "1".repeat(16),
      parent_span_id: null,
      workflow_name: "bench",
      workflow_file: null,
      pflow_version: "bench",
      inputs: {},
    },
    nodeParams: new Map(),
    redactor: new Redactor(),
    file,
    warn: (m) => console.error(m),
  });
  const telemetry = new RunTelemetry({
    instrumented: true,
    sinks: [sink],
    ...sink.telemetryOptions(),
  });
  await runWorkflow(compiled, { inputs: { ...initial }, telemetry, onStart: (s) => sink.start(s), warn: () => {} });
  const doc = sink.document();
  const eventBytes = doc.events.reduce((sum, e) => sum + JSON.stringify(e).length + 2, 0);
  rmSync(file, { force: true });
  return eventBytes / N;
}

for (const [label, initial] of Object.entries(sizes)) {
  Deno.bench({
    name: `metrics, store ${label}`,
    group: `store ${label}`,
    baseline: true,
    fn: async () => void await metricsRun(initial),
  });
  Deno.bench({ name: `trace, store ${label}`, group: `store ${label}`, fn: async () => void await traceRun(initial) });
}

if (import.meta.main) {
  const bench = new Bench({ time: 1000 });
  bench.add("metrics, store 1 MB", async () => void await metricsRun(sizes["1 MB"]));
  bench.add("trace, store 1 MB", async () => void await traceRun(sizes["1 MB"]));
  await bench.run();
  console.table(bench.tasks.map((t) => {
    const r = t.result;
    if (r?.state !== "completed") throw new Error(`${t.name}: ${r?.state}`);
    return { case: t.name, "µs/node": (r.latency.mean * 1000 / N).toFixed(2) };
  }));

  // Round-robin over every size and mode, so warm-up and GC hit all alike.
  const rounds = 40;
  const samples = Object.fromEntries(
    Object.keys(sizes).map((k) => [k, { metrics: [] as number[], trace: [] as number[], bytes: 0 }]),
  );
  for (const initial of Object.values(sizes)) {
    await metricsRun(initial);
    await traceRun(initial);
  }
  for (let r = 0; r < rounds; r++) {
    for (const [label, initial] of Object.entries(sizes)) {
      let started = performance.now();
      await metricsRun(initial);
      samples[label].metrics.push(performance.now() - started);
      started = performance.now();
      samples[label].bytes = await traceRun(initial);
      samples[label].trace.push(performance.now() - started);
    }
  }
  const rows = Object.entries(samples).map(([label, s]) => {
    const m = median(s.metrics) * 1000 / N;
    const t = median(s.trace) * 1000 / N;
    return {
      store: label,
      "metrics µs/node": m.toFixed(2),
      "trace µs/node": t.toFixed(2),
      "trace extra µs/node": (t - m).toFixed(2),
      "trace bytes/node": s.bytes.toFixed(0),
    };
  });
  console.log(`\n${N} nodes, each changing one small key (medians of ${rounds} round-robin runs)`);
  console.table(rows);
}
rmSync(dir, { recursive: true, force: true });
