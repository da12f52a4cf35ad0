/**
 * Engine benchmarks.
 *
 * - `deno bench -A bench/engine_bench.ts`: Deno.bench groups.
 * - `deno run -A bench/engine_bench.ts`: the same cases with tinybench, plus
 *   binary start-up measured round-robin against a Bun hello-world binary,
 *   printed as a table of figures and ratios.
 *
 * Cases: engine cost per node for a 1,000-node chain of trivial nodes (raw
 * engine vs. compiled workflow with its wrappers); compile time (validate +
 * compile) for 10/100/1,000 nodes; start-up of `pflow --version` and of a
 * one-node echo workflow.
 * @module
 */
import { Bench } from "tinybench";
import { BUILTIN_NODES } from "../src/nodes/mod.ts";
import { compileWorkflow, NodeRegistry, runWorkflow, validateWorkflow } from "../src/workflow/mod.ts";
import {
  echoChainIR,
  echoWorkflowFile,
  ensureHelloBinary,
  interleavedMedians,
  PFLOW_BIN,
  rawChain,
  Tick,
} from "./support.ts";

const registry = new NodeRegistry([...BUILTIN_NODES, Tick]);
const CHAIN = 1000;
const raw = rawChain(CHAIN);
const compiledPlain = compileWorkflow(echoChainIR(CHAIN, { type: "tick" }), { registry });
const compiledTemplated = compileWorkflow(echoChainIR(CHAIN, { templates: true }), { registry });
const irs = Object.fromEntries([10, 100, 1000].map((n) => [n, echoChainIR(n, { templates: true })]));
const quiet = { warn: () => {} };

const cases: Record<string, () => Promise<unknown> | unknown> = {
  "raw engine: 1,000 trivial nodes": () => raw.run({}, quiet),
  "workflow: 1,000 trivial nodes (namespaced)": () => runWorkflow(compiledPlain, quiet),
  "workflow: 1,000 echo nodes (namespaced + templates)": () => runWorkflow(compiledTemplated, quiet),
  "compile: 10 nodes": () => compile(10),
  "compile: 100 nodes": () => compile(100),
  "compile: 1,000 nodes": () => compile(1000),
};

function compile(n: number) {
  const ir = irs[n];
  if (validateWorkflow(ir, { registry }).length > 0) throw new Error("invalid bench workflow");
  return compileWorkflow(ir, { registry });
}

for (const [name, fn] of Object.entries(cases)) {
  Deno.bench({
    name,
    group: name.split(":")[0],
    baseline: name.startsWith("raw") || name === "compile: 10 nodes",
    fn: async () => void await fn(),
  });
}

if (import.meta.main) {
  const bench = new Bench({ time: 1500, warmupTime: 300 });
  for (const [name, fn] of Object.entries(cases)) bench.add(name, async () => void await fn());
  await bench.run();
  const rows = bench.tasks.map((task) => {
    const result = task.result;
    if (result?.state !== "completed") throw new Error(`${task.name}: ${result?.state}`);
    const mean = result.latency.mean;
    const perNode = task.name.includes("1,000") && !task.name.startsWith("compile")
      ? `${(mean * 1000 / CHAIN).toFixed(2)} µs/node`
      : "";
    return {
      case: task.name,
      "mean ms": mean.toFixed(3),
      "p99 ms": result.latency.p99.toFixed(3),
      "per node": perNode,
    };
  });
  console.table(rows);

  const hello = ensureHelloBinary();
  const echo = echoWorkflowFile();
  const medians = interleavedMedians({
    "bun hello-world": [hello, []],
    "pflow --version": [PFLOW_BIN, ["--version"]],
    "pflow run echo.json (1 node)": [PFLOW_BIN, ["run", echo]],
  }, 40);
  const base = medians["bun hello-world"];
  console.table(
    Object.entries(medians).map(([name, ms]) => ({
      "start-up": name,
      "median ms": ms.toFixed(2),
      "× hello": (ms / base).toFixed(2),
    })),
  );
}
