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
 * compile) for 10/100/1,000 nodes; start-up (see {@link startupTable}).
 * `deno run -A bench/engine_bench.ts --startup [ROUNDS]` runs only the
 * start-up table; `PFLOW_BENCH_BASELINE=PATH` adds another pflow binary's
 * one-node run (and its `--no-ledger` run, when it has the flag) side by side (e.g. one built before a change).
 * @module
 */
import { Bench } from "tinybench";
import { BUILTIN_NODES } from "../src/nodes/mod.ts";
import { compileWorkflow, NodeRegistry, runWorkflow, validateWorkflow } from "../src/workflow/mod.ts";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startLlmServer } from "../tests/support/llm_server.ts";
import {
  echoChainIR,
  echoWorkflowFile,
  ensureHelloBinary,
  interleavedMedians,
  PFLOW_BIN,
  rawChain,
  Tick,
  type TimedCommand,
} from "./support.ts";

/** The workflow the planner "generates" in the planned start-up case. */
const PLANNED = {
  ir_version: "0.1.0",
  name: "say-hello",
  description: "Says hello",
  nodes: [{ id: "say", type: "echo", params: { value: "hello" } }],
  outputs: { text: { source: "${say.output}", description: "The greeting" } },
};

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

if (import.meta.main && Deno.args.includes("--startup")) {
  await startupTable(Number(Deno.args[Deno.args.indexOf("--startup") + 1] ?? 40) || 40);
} else if (import.meta.main) {
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

  await startupTable(40);
}

/**
 * Start-up of the binary against a Bun hello-world binary, round-robin:
 * `--version`; a one-node run in text and in JSON mode; `pricing show`;
 * `cost report` on an empty ledger (when the binary has the command); a
 * planned request (`pflow "…"`) whose planner call the local LLM server
 * answers at once. Prints medians, ratios and the targets of issue 13.
 */
export async function startupTable(rounds: number): Promise<void> {
  const hello = ensureHelloBinary();
  const echo = echoWorkflowFile();
  const home = mkdtempSync(join(tmpdir(), "pflow-startup-bench-"));
  const srv = await startLlmServer();
  try {
    const plannedEnv = {
      PFLOW_HOME: join(home, "planned"),
      ANTHROPIC_API_KEY: "bench-key",
      ANTHROPIC_BASE_URL: srv.url,
      PFLOW_PLANNER_MODEL: "anthropic/claude-haiku-4-5",
    };
    const env = { PFLOW_HOME: join(home, "empty") };
    const commands: Record<string, TimedCommand> = {
      "bun hello-world": { command: [hello, []] },
      "pflow --version": { command: [PFLOW_BIN, ["--version"]], env },
      "pflow run echo.json (1 node, text)": { command: [PFLOW_BIN, ["run", echo]], env },
      "pflow run echo.json --no-ledger": { command: [PFLOW_BIN, ["run", echo, "--no-ledger"]], env },
      "pflow run echo.json --output-format json": {
        command: [PFLOW_BIN, ["run", echo, "--output-format", "json"]],
        env,
      },
      "pflow pricing show": { command: [PFLOW_BIN, ["pricing", "show"]], env },
    };
    const baseline = process.env.PFLOW_BENCH_BASELINE;
    if (baseline) {
      commands[`${baseline} run echo.json (baseline)`] = { command: [baseline, ["run", echo]], env };
      const noLedger = [baseline, ["run", echo, "--no-ledger"]] as [string, string[]];
      const hasNoLedger = spawnSync(noLedger[0], noLedger[1], { env: { ...process.env, ...env } }).status === 0;
      if (hasNoLedger) commands[`${baseline} run echo.json --no-ledger (baseline)`] = { command: noLedger, env };
    }
    const hasCost =
      spawnSync(PFLOW_BIN, ["cost", "report", "--help"], { env: { ...process.env, ...env } }).status === 0;
    if (hasCost) commands["pflow cost report (empty ledger)"] = { command: [PFLOW_BIN, ["cost", "report"]], env };
    commands['pflow "echo hello" (planned, local LLM server)'] = {
      command: [PFLOW_BIN, ["echo hello from the planner"]],
      env: plannedEnv,
      before: () => srv.enqueue({ json: { workflow: PLANNED, params: {} } }),
    };
    const medians = await interleavedMedians(commands, rounds);
    const base = medians["bun hello-world"];
    console.log(`\nstart-up (medians of ${rounds} round-robin runs, wall time)`);
    console.table(
      Object.entries(medians).map(([name, ms]) => ({
        "start-up": name,
        "median ms": ms.toFixed(2),
        "× hello": (ms / base).toFixed(2),
      })),
    );
    if (!hasCost) console.log("(`pflow cost report` is not in this build: no ledger yet)");
    const text = medians["pflow run echo.json (1 node, text)"];
    const ratio = (a: number, b: number) => (a / b).toFixed(2);
    console.log(`one-node run, text mode: ${ratio(text, base)}× hello-world (target ≤ 2.5)`);
    console.log(
      `one-node run, JSON mode: ${ratio(medians["pflow run echo.json --output-format json"], text)}× text mode ` +
        "(target ≤ 1.15)",
    );
    console.log(
      `pricing show: ${ratio(medians["pflow pricing show"], medians["pflow --version"])}× --version (target ≤ 2)`,
    );
  } finally {
    await srv.close();
    rmSync(home, { recursive: true, force: true });
  }
}
