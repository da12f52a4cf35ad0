import { Flow, Node, type Shared } from "../src/engine/mod.ts";
import type { NodeSpec } from "../src/nodes/spec.ts";
import { ACTIVE, instrumentNode, MetricsSink, RunTelemetry, timed } from "../src/observability/mod.ts";
import { compileWorkflow, NodeRegistry, runWorkflow, type WorkflowIR } from "../src/workflow/mod.ts";
const N = 1000;
const spec: NodeSpec = { type: "work", description: "", params: {}, outputs: {} };
class Plain extends Node { static readonly spec = spec; override exec() { return 1; } override post(s: Shared, _p: unknown, n: unknown) { s.n = n; return undefined; } }
@timed class Dec extends Plain { static override readonly spec = spec; }
const ir: WorkflowIR = { ir_version: "0.1.0", nodes: Array.from({ length: N }, (_, i) => ({ id: `n${i}`, type: "work" })), edges: Array.from({ length: N - 1 }, (_, i) => ({ from: `n${i}`, to: `n${i + 1}` })) };
for (const [label, cls] of [["decorated", Dec], ["plain", Plain], ["decorated2", Dec]] as const) {
  const reg = new NodeRegistry([cls as never]);
  const inst = compileWorkflow(ir, { registry: reg, instrument: instrumentNode });
  const def = compileWorkflow(ir, { registry: reg });
  const run = (c: typeof inst, t?: RunTelemetry) => runWorkflow(c, { warn: () => {}, telemetry: t });
  for (let i = 0; i < 50; i++) { await run(inst, new RunTelemetry({ instrumented: true, sinks: [new MetricsSink()] })); await run(def); }
  const samples: Record<string, number[]> = { def: [], inst: [], instNoSink: [] };
  for (let r = 0; r < 300; r++) {
    let s = performance.now(); await run(def); samples.def.push(performance.now() - s);
    s = performance.now(); await run(inst, new RunTelemetry({ instrumented: true, sinks: [new MetricsSink()] })); samples.inst.push(performance.now() - s);
    s = performance.now(); await run(inst, new RunTelemetry({ instrumented: true })); samples.instNoSink.push(performance.now() - s);
  }
  const med = (v: number[]) => v.sort((a, b) => a - b)[v.length >> 1];
  console.log(label, Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, (med(v) * 1000 / N).toFixed(3) + " µs/node"])));
}
