/**
 * Telemetry overhead, measured side by side in one run.
 *
 * Workloads: 1,000 trivial nodes, and 1,000 nodes doing ~200 µs of work
 * each (a calibrated, fixed amount of computation).
 * Modes: raw engine (plain classes, no compiler wrappers, no event-loop
 * yields: the engine as it was before it yielded); the raw engine with its
 * event-loop yields (as shipped); CLI default mode (compiled workflow,
 * decorated classes, no flags); metrics mode (the instrumented layer and the
 * metrics sink, as `--output-format json`); and decorated classes in the raw
 * engine with no run instrumented. Every mode but the first yields as the
 * shipped engine does, so "over raw" includes the yields' cost.
 *
 * - `deno bench -A bench/overhead_bench.ts`: Deno.bench groups.
 * - `deno run -A bench/overhead_bench.ts` and `npx -y bun@1.4.5
 *   bench/overhead_bench.ts` (the binary's runtime): the cost of one read of
 *   each clock on that runtime and which one metrics mode uses, tinybench for
 *   the trivial workload and the decorator micro-benchmark, then all modes of
 *   both workloads round-robin (median per mode, ratios to raw from the same
 *   run), each mode in processes of its own as the CLI runs it; for 200 µs
 *   nodes each run is taken less the same work done alone right after it in
 *   the same process (processes differ in how fast they run the work more
 *   than modes differ), and the median work is added back. The floor
 *   reads the same clocks as metrics mode (`readCpu`). Then the 200 µs
 *   workload once more, paired: every mode in one process, each round less
 *   the raw engine's time in the same round (how a process compiled the work
 *   cancels out). `--only trivial`, `--only heavy` (its two tables) or
 *   `--only paired` runs one of them.
 * @module
 */
import { Bench } from "tinybench";
import { EVENT_LOOP_YIELD, Flow, Node, type Shared, wrapNode } from "../src/engine/mod.ts";
import type { NodeSpec } from "../src/nodes/spec.ts";
import { instrumentNode, MetricsSink, RunTelemetry, timed } from "../src/observability/mod.ts";
import { CPU_CLOCK, readCpu } from "../src/observability/cpu.ts";
import { compileWorkflow, NodeRegistry, runWorkflow, type WorkflowIR } from "../src/workflow/mod.ts";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { median } from "./support.ts";

const N = 1000;
const quiet = { warn: () => {} };
const SHIPPED_YIELD_EVERY = EVENT_LOOP_YIELD.every;

/** Runs `fn` with the engine's event-loop yields on (as shipped) or off. */
function yielding(on: boolean, fn: () => Promise<unknown>): () => Promise<unknown> {
  return async () => {
    EVENT_LOOP_YIELD.every = on ? SHIPPED_YIELD_EVERY : 0;
    try {
      return await fn();
    } finally {
      EVENT_LOOP_YIELD.every = SHIPPED_YIELD_EVERY;
    }
  };
}

let sink = 0;

/** A fixed amount of arithmetic: `rounds` steps of xorshift. */
function compute(rounds: number): void {
  let x = sink | 1;
  for (let i = 0; i < rounds; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
  }
  sink = x;
}

/**
 * Steps of {@link compute} per microsecond on this machine: the best of a few
 * calibrations (the least disturbed by other processes), made once by the
 * parent and handed to every measuring child so all do the same work.
 */
const STEPS_PER_US = Number(process.env.PFLOW_BENCH_STEPS_PER_US) || (() => {
  let best = 0;
  for (let i = 0; i < 15; i++) {
    const started = performance.now();
    compute(200_000);
    best = Math.max(best, 200_000 / ((performance.now() - started) * 1000));
  }
  return best;
})();

/**
 * Busy work of about `us` microseconds (0 = trivial): a fixed amount of
 * computation, not "spin until the clock says", so the CPU it takes is the
 * same in every mode even when other processes take the core away meanwhile
 * (they lengthen the wall time, not the CPU time).
 */
function work(us: number): void {
  if (us !== 0) compute(Math.round(us * STEPS_PER_US));
}

function nodeClasses(us: number) {
  const spec: NodeSpec = {
    type: "work",
    description: "",
    params: {},
    outputs: { n: { type: "number", description: "" } },
  };
  class Plain extends Node {
    static readonly spec = spec;
    override exec() {
      work(us);
      return 1;
    }
    override post(shared: Shared, _p: unknown, n: unknown) {
      shared.n = n;
      return undefined;
    }
  }
  @timed
  class Decorated extends Plain {
    static override readonly spec = spec;
  }
  return { Plain, Decorated };
}

function rawChain(cls: new () => Node): Flow {
  const first = new cls();
  let last: Node = first;
  for (let i = 1; i < N; i++) last = last.next(new cls());
  return new Flow(first);
}

const chainIR: WorkflowIR = {
  ir_version: "0.1.0",
  nodes: Array.from({ length: N }, (_, i) => ({ id: `n${i}`, type: "work" })),
  edges: Array.from({ length: N - 1 }, (_, i) => ({ from: `n${i}`, to: `n${i + 1}` })),
};

/** The four modes for one workload. */
function modes(us: number): Record<string, () => Promise<unknown>> {
  const { Plain, Decorated } = nodeClasses(us);
  const registry = new NodeRegistry([Decorated]);
  const raw = rawChain(Plain);
  const rawDecorated = rawChain(Decorated);
  const plain = compileWorkflow(chainIR, { registry });
  const unspaced = compileWorkflow({ ...chainIR, enable_namespacing: false }, { registry });
  const instrumented = compileWorkflow(chainIR, { registry, instrument: instrumentNode });
  // The floor of any per-node CPU accounting: one wall and one CPU read per node, nothing kept.
  const floor = compileWorkflow(chainIR, {
    registry,
    instrument: (node) =>
      wrapNode(node, {
        name: "clock-floor",
        run: async (inner, shared, ctx) => {
          const action = await inner._run(shared, ctx);
          performance.now();
          readCpu();
          return action;
        },
      }),
  });
  return {
    "raw engine": yielding(false, () => raw.run({}, quiet)),
    "raw engine + event-loop yields": yielding(true, () => raw.run({}, quiet)),
    "decorated, no run instrumented": yielding(true, () => rawDecorated.run({}, quiet)),
    "CLI default mode": yielding(true, () => runWorkflow(plain, quiet)),
    // What namespacing (each execution's view of the store) takes of default mode.
    "CLI default mode, namespacing off": yielding(true, () => runWorkflow(unspaced, quiet)),
    "floor: 1 wall + 1 CPU read per node": yielding(true, () => runWorkflow(floor, quiet)),
    "metrics mode": yielding(true, () =>
      runWorkflow(instrumented, {
        ...quiet,
        telemetry: new RunTelemetry({ instrumented: true, sinks: [new MetricsSink({ nodes: N })] }),
      })),
  };
}

const trivial = modes(0);
const heavy = modes(200);

for (const [name, fn] of typeof Deno === "undefined" ? [] : Object.entries(trivial)) {
  Deno.bench({
    name: `trivial: ${name}`,
    group: "1,000 trivial nodes",
    baseline: name === "raw engine",
    fn: async () => void await fn(),
  });
}
for (const [name, fn] of typeof Deno === "undefined" ? [] : Object.entries(heavy)) {
  Deno.bench({
    name: `200µs: ${name}`,
    group: "1,000 nodes × 200 µs",
    baseline: name === "raw engine",
    n: 10,
    warmup: 2,
    fn: async () => void await fn(),
  });
}

const CHILD_FLAG = "--measure-mode";

/**
 * Round-robin medians of whole runs, wall time and CPU time (ms), each mode
 * measured in processes of its own, in batches that take turns: as the CLI
 * runs one mode per process, no mode pays for call sites that other modes
 * made polymorphic. Many short batches average out how differently each
 * process compiles the same code. CPU time is not charged for time the VM's
 * host took away, so it is the steadier figure on a shared machine.
 */
function separately(workload: "trivial" | "heavy", modeNames: string[], rounds: number, batches: number) {
  const wall: Record<string, number[]> = Object.fromEntries(modeNames.map((k) => [k, []]));
  const cpu: Record<string, number[]> = Object.fromEntries(modeNames.map((k) => [k, []]));
  const pureWall: number[] = [];
  const pureCpu: number[] = [];
  const script = fileURLToPath(import.meta.url);
  const [command, prefix] = typeof Deno !== "undefined"
    ? [Deno.execPath(), ["run", "-A", script]]
    : [process.execPath, [script]];
  const perBatch = Math.ceil(rounds / batches);
  for (let b = 0; b < batches; b++) {
    for (const mode of modeNames) {
      const child = spawnSync(command, [...prefix, CHILD_FLAG, workload, mode, String(perBatch)], {
        encoding: "utf8",
        env: { ...process.env, PFLOW_BENCH_STEPS_PER_US: String(STEPS_PER_US) },
        maxBuffer: 1 << 24,
      });
      if (child.status !== 0) throw new Error(`measuring ${mode}: ${child.stderr}`);
      const samples = JSON.parse(child.stdout) as Record<"wall" | "cpu" | "pureWall" | "pureCpu", number[]>;
      // Long nodes: each run less the same work alone in the same process, so that how fast
      // one process happens to run the work does not count as the mode's overhead.
      const less = (values: number[], pure: number[]) => values.map((v, i) => v - (pure[i] ?? 0));
      wall[mode].push(...less(samples.wall, samples.pureWall));
      cpu[mode].push(...less(samples.cpu, samples.pureCpu));
      pureWall.push(...samples.pureWall);
      pureCpu.push(...samples.pureCpu);
    }
  }
  // The work itself, added back (0 for trivial nodes), so that figures are whole runs.
  const work = { wall: pureWall.length ? median(pureWall) : 0, cpu: pureCpu.length ? median(pureCpu) : 0 };
  const medians = (m: Record<string, number[]>, base: number) =>
    Object.fromEntries(Object.entries(m).map(([k, v]) => [k, median(v) + base]));
  return { wall: medians(wall, work.wall), cpu: medians(cpu, work.cpu) };
}

/**
 * In a child: warms one mode up, then prints the wall and CPU times of
 * `rounds` runs as JSON (for 200 µs nodes, each followed by the same work alone).
 */
async function measureMode(workload: "trivial" | "heavy", mode: string, rounds: number) {
  const cases = workload === "trivial" ? trivial : heavy;
  const fn = cases[mode];
  if (fn === undefined) throw new Error(`unknown mode '${mode}'`);
  // Warm-up to the steady state (the optimizing compilers have had their turn), then measure.
  for (let i = 0; i < (workload === "trivial" ? Math.max(rounds, 100) : 5); i++) await fn();
  const wall: number[] = [];
  const cpu: number[] = [];
  const pureWall: number[] = [];
  const pureCpu: number[] = [];
  const time = async (run: () => unknown, walls: number[], cpus: number[]) => {
    const cpuStart = process.cpuUsage();
    const started = performance.now();
    await run();
    walls.push(performance.now() - started);
    const used = process.cpuUsage(cpuStart);
    cpus.push((used.user + used.system) / 1000);
  };
  for (let r = 0; r < rounds; r++) {
    await time(fn, wall, cpu);
    // Long nodes: the same work with no engine at all, right after, in this process.
    if (workload === "heavy") await time(() => pureWork(200), pureWall, pureCpu);
  }
  process.stdout.write(JSON.stringify({ wall, cpu, pureWall, pureCpu }));
}

const PAIRED_FLAG = "--measure-paired";

/**
 * In a child: every mode of the 200 µs workload in this one process, round-robin (the starting mode
 * rotates each round), printing per round each mode's wall and CPU time less the raw engine's in the same
 * round. One process compiles the work once for every mode and rounds next to each other share the
 * machine's moment, so neither how a process compiled the loop nor a slow minute counts as overhead.
 */
async function measurePaired(rounds: number) {
  const names = Object.keys(heavy);
  for (let i = 0; i < 3; i++) for (const name of names) await heavy[name]();
  const over: Record<"wall" | "cpu", Record<string, number[]>> = { wall: {}, cpu: {} };
  const raw: Record<"wall" | "cpu", number[]> = { wall: [], cpu: [] };
  for (const name of names) [over.wall[name], over.cpu[name]] = [[], []];
  for (let r = 0; r < rounds; r++) {
    const wall: Record<string, number> = {};
    const cpu: Record<string, number> = {};
    for (let k = 0; k < names.length; k++) {
      const name = names[(r + k) % names.length];
      const cpuStart = process.cpuUsage();
      const started = performance.now();
      await heavy[name]();
      wall[name] = performance.now() - started;
      const used = process.cpuUsage(cpuStart);
      cpu[name] = (used.user + used.system) / 1000;
    }
    raw.wall.push(wall["raw engine"]);
    raw.cpu.push(cpu["raw engine"]);
    for (const name of names) {
      over.wall[name].push(wall[name] - wall["raw engine"]);
      over.cpu[name].push(cpu[name] - cpu["raw engine"]);
    }
  }
  process.stdout.write(JSON.stringify({ over, raw }));
}

/** Runs {@link measurePaired} in `processes` children; medians of the per-round differences (ms). */
function paired(processes: number, rounds: number) {
  const script = fileURLToPath(import.meta.url);
  const [command, prefix] = typeof Deno !== "undefined"
    ? [Deno.execPath(), ["run", "-A", script]]
    : [process.execPath, [script]];
  const over: Record<"wall" | "cpu", Record<string, number[]>> = { wall: {}, cpu: {} };
  const raw: Record<"wall" | "cpu", number[]> = { wall: [], cpu: [] };
  for (let p = 0; p < processes; p++) {
    const child = spawnSync(command, [...prefix, PAIRED_FLAG, String(rounds)], {
      encoding: "utf8",
      env: { ...process.env, PFLOW_BENCH_STEPS_PER_US: String(STEPS_PER_US) },
      maxBuffer: 1 << 24,
    });
    if (child.status !== 0) throw new Error(`measuring paired rounds: ${child.stderr}`);
    const got = JSON.parse(child.stdout) as { over: typeof over; raw: typeof raw };
    for (const clock of ["wall", "cpu"] as const) {
      raw[clock].push(...got.raw[clock]);
      for (const [name, values] of Object.entries(got.over[clock])) (over[clock][name] ??= []).push(...values);
    }
  }
  const medians = (m: Record<string, number[]>) =>
    Object.fromEntries(Object.entries(m).map(([k, v]) => [k, median(v)]));
  return {
    over: { wall: medians(over.wall), cpu: medians(over.cpu) },
    raw: { wall: median(raw.wall), cpu: median(raw.cpu) },
  };
}

/** `N` times `work(us)` in a plain loop: the work of a run with no engine. */
function pureWork(us: number): void {
  for (let i = 0; i < N; i++) work(us);
}

/** The runtime this runs on, e.g. `Bun 1.4.5`. */
function runtimeName(): string {
  const versions = process.versions as Record<string, string | undefined>;
  return versions.bun ? `Bun ${versions.bun}` : `Deno ${versions.deno}`;
}

/** Median cost of one read of each candidate clock, warm and right after 200 µs of work (µs). */
function clockReads(): { clock: string; "warm µs": string; "after 200 µs of work, µs": string; used: string }[] {
  const p = process as unknown as { threadCpuUsage?: () => unknown };
  const clocks: [string, () => unknown][] = [
    ["performance.now()", () => performance.now()],
    ["process.cpuUsage()", () => process.cpuUsage()],
    ...(p.threadCpuUsage ? [["process.threadCpuUsage()", () => p.threadCpuUsage!()] as [string, () => unknown]] : []),
  ];
  return clocks.map(([clock, read]) => {
    const warm: number[] = [];
    for (let r = 0; r < 21; r++) {
      const started = performance.now();
      for (let i = 0; i < 10_000; i++) read();
      warm.push((performance.now() - started) * 1000 / 10_000);
    }
    const cold: number[] = [];
    for (let i = 0; i < 2000; i++) {
      work(200);
      const started = performance.now();
      read();
      cold.push((performance.now() - started) * 1000);
    }
    const used = clock === CPU_CLOCK || clock === "performance.now()" ? "yes" : "no";
    return { clock, "warm µs": median(warm).toFixed(3), "after 200 µs of work, µs": median(cold).toFixed(3), used };
  });
}

const childAt = process.argv.indexOf(CHILD_FLAG);
const pairedAt = process.argv.indexOf(PAIRED_FLAG);
if (import.meta.main && pairedAt >= 0) {
  await measurePaired(Number(process.argv[pairedAt + 1]));
} else if (import.meta.main && childAt >= 0) {
  const [workload, mode, rounds] = process.argv.slice(childAt + 1);
  await measureMode(workload === "heavy" ? "heavy" : "trivial", mode, Number(rounds));
} else if (import.meta.main) {
  console.log(`${runtimeName()}: metrics mode reads performance.now() and ${CPU_CLOCK} once per node execution`);
  console.table(clockReads());
  const bench = new Bench({ time: 1500, warmupTime: 300 });
  for (const [name, fn] of Object.entries(trivial)) bench.add(`trivial: ${name}`, async () => void await fn());
  const { Plain, Decorated } = nodeClasses(0);
  const plainNode = new Plain();
  const decoratedNode = new Decorated();
  const CALLS = 10_000;
  bench.add("exec() ×10,000, undecorated", () => {
    for (let i = 0; i < CALLS; i++) plainNode.exec();
  });
  bench.add("exec() ×10,000, @timed, no run", () => {
    for (let i = 0; i < CALLS; i++) decoratedNode.exec();
  });
  await bench.run();
  console.table(bench.tasks.map((task) => {
    const r = task.result;
    if (r?.state !== "completed") throw new Error(`${task.name}: ${r?.state}`);
    const per = task.name.startsWith("exec")
      ? `${(r.latency.mean * 1e6 / CALLS).toFixed(2)} ns/call`
      : `${(r.latency.mean * 1000 / N).toFixed(3)} µs/node`;
    return { case: task.name, "mean ms": r.latency.mean.toFixed(4), per };
  }));

  const FLOOR = "floor: 1 wall + 1 CPU read per node";
  const workloads = [
    ["1,000 trivial nodes", "trivial", 400, 16],
    ["1,000 nodes × 200 µs", "heavy", 40, 5],
  ] as const;
  const only = process.argv.includes("--only") ? process.argv[process.argv.indexOf("--only") + 1] : undefined;
  for (const [label, workload, rounds, batches] of workloads) {
    if (only !== undefined && only !== workload) continue;
    const { wall, cpu } = separately(workload, Object.keys(trivial), rounds, batches);
    const overRaw = (m: Record<string, number>, mode: string) => (m[mode] / m["raw engine"] - 1) * 100;
    const perNode = (m: Record<string, number>, mode: string) => (m[mode] - m[FLOOR]) * 1000 / N;
    console.log(
      `\n${label} (${runtimeName()}, medians of ${rounds} runs per mode, round-robin: ${batches} batches, ` +
        "each mode in processes of its own)",
    );
    console.table(
      Object.keys(wall).map((mode) => ({
        mode,
        "wall ms": wall[mode].toFixed(3),
        "wall over raw µs/node": ((wall[mode] - wall["raw engine"]) * 1000 / N).toFixed(3),
        "wall vs raw": `${((wall[mode] / wall["raw engine"] - 1) * 100).toFixed(2)} %`,
        "cpu ms": cpu[mode].toFixed(3),
        "cpu over raw µs/node": ((cpu[mode] - cpu["raw engine"]) * 1000 / N).toFixed(3),
        "cpu vs raw": `${((cpu[mode] / cpu["raw engine"] - 1) * 100).toFixed(2)} %`,
      })),
    );
    // The targets, from this run (wall / CPU).
    const pair = (f: (m: Record<string, number>) => number, digits: number) =>
      `${f(wall).toFixed(digits)} / ${f(cpu).toFixed(digits)}`;
    if (label.includes("trivial")) {
      console.log(`metrics mode over the floor: ${pair((m) => perNode(m, "metrics mode"), 3)} µs/node (target ≤ 0.3)`);
    } else {
      console.log(
        `metrics mode over raw: ${pair((m) => overRaw(m, "metrics mode"), 2)} %, floor ${
          pair((m) => overRaw(m, FLOOR), 2)
        } %: ${pair((m) => overRaw(m, "metrics mode") - overRaw(m, FLOOR), 2)} points over the floor (target ≤ 0.2)`,
      );
      console.log(`CLI default mode over raw: ${pair((m) => overRaw(m, "CLI default mode"), 2)} % (target ≤ 0.5)`);
    }
  }
  if (only !== "trivial") {
    const [processes, rounds] = [4, 12];
    const { over, raw } = paired(processes, rounds);
    console.log(
      `\n1,000 nodes × 200 µs, paired (${runtimeName()}): every mode in one process, round-robin, ${processes} ` +
        `processes × ${rounds} rounds; medians of each round's difference to the raw engine in the same round`,
    );
    const percent = (clock: "wall" | "cpu", mode: string) => over[clock][mode] / raw[clock] * 100;
    console.table(
      Object.keys(over.wall).map((mode) => ({
        mode,
        "wall over raw µs/node": (over.wall[mode] * 1000 / N).toFixed(3),
        "wall vs raw": `${percent("wall", mode).toFixed(2)} %`,
        "cpu over raw µs/node": (over.cpu[mode] * 1000 / N).toFixed(3),
        "cpu vs raw": `${percent("cpu", mode).toFixed(2)} %`,
      })),
    );
    const both = (f: (clock: "wall" | "cpu") => number) => `${f("wall").toFixed(2)} / ${f("cpu").toFixed(2)}`;
    console.log(
      `paired: metrics mode ${both((c) => percent(c, "metrics mode") - percent(c, FLOOR))} points over the floor ` +
        `(target ≤ 0.2); CLI default mode ${both((c) => percent(c, "CLI default mode"))} % over raw (target ≤ 0.5)`,
    );
  }
}
