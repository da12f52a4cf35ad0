/**
 * Telemetry overhead, measured side by side in one run.
 *
 * Workloads: 1,000 trivial nodes, and 1,000 nodes doing ~200 µs of work
 * each (a calibrated, fixed amount of computation).
 * Modes: raw engine (plain classes, no compiler wrappers, no event-loop
 * yields: the engine as it was before it yielded); the raw engine with its
 * event-loop yields (as shipped); decorated classes in the raw engine with no
 * run instrumented; CLI default mode (compiled workflow, decorated classes,
 * no flags; it counts executions per node for the run ledger, as every run
 * does); the same with namespacing off; the floor (a wrapper that reads the
 * wall clock and the CPU clock once per node, with the functions metrics mode
 * uses, and keeps nothing); and metrics mode (what `--output-format json`
 * builds: the instrumented layer with its node totals, including the run
 * ledger's duration histogram, and the ledger's sink). Every mode but the first yields as the shipped engine does, so
 * "over raw" includes the yields' cost.
 *
 * - `deno bench -A bench/overhead_bench.ts`: Deno.bench groups.
 * - `deno run -A bench/overhead_bench.ts` and `npx -y bun@1.4.5
 *   bench/overhead_bench.ts` (the binary's runtime): the cost of one read of
 *   each clock on that runtime and which one metrics mode uses; tinybench
 *   for the trivial workload and the decorator micro-benchmark; then each
 *   comparison of {@link COMPARISONS} for both workloads, measured *paired*:
 *   the two modes alternate, round after round, in processes that run only
 *   those two (as the CLI runs one mode per process, no call site is made
 *   polymorphic by a third), and each round's difference is one sample. The
 *   median of the samples is reported with a 95 % bootstrap confidence
 *   interval: a machine that slows down for a minute slows both sides of a
 *   round, and what one process happens to compile well counts for both.
 *   Each measured run ends with one event-loop turn, so that what a run
 *   leaves for the loop (its collector's sweep, timers) is counted in its
 *   own window, not in the next run's (a mode that yields during the run
 *   would otherwise pay for a mode that does not).
 *   `--only trivial` or `--only heavy` runs one workload; `--only gaps`
 *   instead measures, for 200 µs nodes, the engine's time between one
 *   node's `exec` ending and the next one's starting (the per-node work
 *   outside the node, without the noise of 200 µs of computation), and
 *   splits the rest of the whole-run difference into the run's start and
 *   end, the nodes' own work, and CPU beyond wall time.
 * @module
 */
import { Bench } from "tinybench";
import { EVENT_LOOP_YIELD, Flow, Node, type Shared, wrapNode } from "../src/engine/mod.ts";
import type { NodeSpec } from "../src/nodes/spec.ts";
import { instrumentNode, RunTelemetry, timed } from "../src/observability/mod.ts";
import { CPU_CLOCK, readCpu } from "../src/observability/cpu.ts";
import { LedgerRun, NODE_BOUNDS_MS } from "../src/ledger/mod.ts";
import {
  type CompiledWorkflow,
  type CompileOptions,
  compileWorkflow,
  NodeRegistry,
  runWorkflow,
  type WorkflowIR,
} from "../src/workflow/mod.ts";
import { spawnSync } from "node:child_process";
import { setImmediate } from "node:timers";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { calibrateCompute, compute, computeNotingGap, gaps, meanGapUs, median, resetGaps } from "./support.ts";

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

/**
 * Steps of {@link compute} per microsecond on this machine, calibrated once
 * by the parent and handed to every measuring child so all do the same work.
 */
const STEPS_PER_US = Number(process.env.PFLOW_BENCH_STEPS_PER_US) || calibrateCompute();

/** Whether the work nodes note the engine's time between them (`--only gaps`, see {@link computeNotingGap}). */
let measuringGaps = false;

/**
 * Busy work of about `us` microseconds (0 = trivial): a fixed amount of
 * computation, not "spin until the clock says", so the CPU it takes is the
 * same in every mode even when other processes take the core away meanwhile
 * (they lengthen the wall time, not the CPU time).
 */
function work(us: number): void {
  const steps = us === 0 ? 0 : Math.round(us * STEPS_PER_US);
  if (measuringGaps) computeNotingGap(steps);
  else if (steps !== 0) compute(steps);
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
  /** Marked as a process that has traced once has it: `@timed` on the method wraps it at once. */
  class Marked extends Plain {
    static override readonly spec = spec;
    @timed
    override exec() {
      work(us);
      return 1;
    }
  }
  return { Plain, Decorated, Marked };
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

const RAW = "raw engine";
const DEFAULT = "CLI default mode";
const FLOOR = "floor: 1 wall + 1 CPU read per node";
const METRICS = "metrics mode";
/** A home for the run ledger's sink, made when metrics mode is built; it writes only LLM calls, and none are made. */
function ledgerHome(): string {
  const home = mkdtempSync(join(tmpdir(), "pflow-bench-ledger-"));
  process.on("exit", () => rmSync(home, { recursive: true, force: true }));
  return home;
}

type Run = () => Promise<unknown>;

/**
 * The modes for one workload, each built (compiled) only when asked for, so
 * that a measuring process holds just the two it compares: a heap holding
 * every mode's workflows makes each garbage collection, and so each
 * allocation, dearer than in a CLI process.
 */
function modes(us: number): Record<string, () => Run> {
  const { Plain, Decorated } = nodeClasses(us);
  const registry = new NodeRegistry([Decorated]);
  const compile = (options: { namespacing?: boolean; instrument?: CompileOptions["instrument"] } = {}) =>
    compileWorkflow({ ...chainIR, enable_namespacing: options.namespacing ?? true }, {
      registry,
      instrument: options.instrument,
    });
  const raw = (cls: new () => Node, yields: boolean) => {
    const flow = rawChain(cls);
    return yielding(yields, () => flow.run({}, quiet));
  };
  const workflow = (compiled: CompiledWorkflow, telemetry?: () => RunTelemetry) =>
    yielding(true, () => runWorkflow(compiled, { ...quiet, telemetry: telemetry?.() }));
  return {
    [RAW]: () => raw(Plain, false),
    "raw engine + event-loop yields": () => raw(Plain, true),
    "decorated, no run instrumented": () => raw(Decorated, true),
    [DEFAULT]: () => workflow(compile()),
    // What namespacing (each execution's view of the store) takes of default mode.
    "CLI default mode, namespacing off": () => workflow(compile({ namespacing: false })),
    // The floor of any per-node CPU accounting: one wall and one CPU read per node, nothing kept.
    [FLOOR]: () =>
      workflow(compile({
        instrument: (node) =>
          wrapNode(node, {
            name: "clock-floor",
            run: async (_inner, shared, ctx, next) => {
              const action = await next(shared, ctx);
              performance.now();
              readCpu();
              return action;
            },
          }),
      })),
    [METRICS]: () => {
      const home = ledgerHome();
      return workflow(compile({ instrument: instrumentNode }), () => {
        const ledger = new LedgerRun({ home, warn: quiet.warn });
        const sinks = [ledger.sink("workflow")];
        return new RunTelemetry({ instrumented: true, sinks, nodes: N, durationBoundsMs: NODE_BOUNDS_MS });
      });
    },
  };
}

const trivial = modes(0);
const heavy = modes(200);

for (
  const [group, cases, options] of [
    ["1,000 trivial nodes", trivial, {}],
    ["1,000 nodes × 200 µs", heavy, { n: 10, warmup: 2 }],
  ] as const
) {
  for (const [name, build] of typeof Deno === "undefined" ? [] : Object.entries(cases)) {
    let fn: Run | undefined;
    Deno.bench({
      name: `${group === "1,000 trivial nodes" ? "trivial" : "200µs"}: ${name}`,
      group,
      baseline: name === RAW,
      ...options,
      fn: async () => void await (fn ??= build())(),
    });
  }
}

/** What is compared: each mode against its baseline, in processes that run only the two. */
const COMPARISONS: [mode: string, baseline: string][] = [
  ["raw engine + event-loop yields", RAW],
  ["decorated, no run instrumented", RAW],
  [DEFAULT, RAW],
  ["CLI default mode, namespacing off", RAW],
  [FLOOR, RAW],
  [METRICS, RAW],
  [METRICS, FLOOR],
];

type Workload = "trivial" | "heavy";
/** One side's samples of a paired child: per round, µs per node. */
interface Side {
  cpu: number[];
  wall: number[];
  /** Engine time between nodes, µs per node (`--only gaps`). */
  gap: number[];
  /** Time inside the nodes' work, µs per node (`--only gaps`). */
  work: number[];
  /** A run's time before its first node's work and after its last one's, µs per node (`--only gaps`). */
  ends: number[];
}

const PAIR_FLAG = "--measure-pair";
/** Runs per sample: a trivial run takes well under a millisecond, too short for one CPU reading. */
const REPS: Record<Workload, number> = { trivial: 25, heavy: 1 };

/**
 * In a child: warms `mode` and `baseline` up, then for `rounds` rounds runs
 * each (`REPS` runs; which goes first alternates) and prints each side's
 * CPU, wall and gap time per node as JSON.
 */
async function measurePair(workload: Workload, mode: string, baseline: string, rounds: number) {
  const cases = workload === "trivial" ? trivial : heavy;
  if (cases[mode] === undefined || cases[baseline] === undefined) {
    throw new Error(`unknown mode '${mode}' or '${baseline}'`);
  }
  const fns = [cases[mode](), cases[baseline]()];
  // Warm-up to the steady state (the optimizing compilers have had their turn), then measure.
  for (let i = 0; i < (workload === "trivial" ? 200 : 4); i++) for (const fn of fns) await fn();
  const sides: Side[] = [0, 1].map(() => ({ cpu: [], wall: [], gap: [], work: [], ends: [] }));
  const reps = REPS[workload];
  for (let r = 0; r < rounds; r++) {
    for (const k of r % 2 === 0 ? [0, 1] : [1, 0]) {
      resetGaps();
      let ends = 0;
      const cpuStart = process.cpuUsage();
      const started = performance.now();
      for (let i = 0; i < reps; i++) {
        gaps.lastEnd = 0; // a new run: its first node has no gap before it
        gaps.firstStart = 0;
        const runStart = performance.now();
        await fns[k]();
        const runEnd = performance.now();
        if (measuringGaps) ends += (gaps.firstStart - runStart) + (runEnd - gaps.lastEnd);
        // Work a run leaves for the event loop (a collector's sweep, timers) is its own: done in its window.
        await new Promise((resolve) => setImmediate(resolve));
      }
      const wall = performance.now() - started;
      const used = process.cpuUsage(cpuStart);
      sides[k].wall.push(wall * 1000 / (reps * N));
      sides[k].cpu.push((used.user + used.system) / (reps * N));
      sides[k].gap.push(meanGapUs());
      sides[k].work.push(gaps.work * 1000 / (reps * N));
      sides[k].ends.push(ends * 1000 / (reps * N));
    }
  }
  process.stdout.write(JSON.stringify(sides));
}

/** Samples of one comparison: per round, the mode's figure less the baseline's (µs per node), and the baseline's. */
interface Paired {
  cpu: number[];
  wall: number[];
  gap: number[];
  work: number[];
  ends: number[];
  baseline: Side;
}

/** Runs one comparison in `processes` children of `rounds` rounds each. */
function pair(workload: Workload, comparison: [string, string], processes: number, rounds: number): Paired {
  const script = fileURLToPath(import.meta.url);
  const [command, prefix] = typeof Deno !== "undefined"
    ? [Deno.execPath(), ["run", "-A", script]]
    : [process.execPath, [script]];
  const sample = (): Side => ({ cpu: [], wall: [], gap: [], work: [], ends: [] });
  const result: Paired = { ...sample(), baseline: sample() };
  for (let p = 0; p < processes; p++) {
    const child = spawnSync(command, [...prefix, PAIR_FLAG, workload, ...comparison, String(rounds)], {
      encoding: "utf8",
      env: { ...process.env, PFLOW_BENCH_STEPS_PER_US: String(STEPS_PER_US) },
      maxBuffer: 1 << 24,
    });
    if (child.status !== 0) throw new Error(`measuring ${comparison.join(" against ")}: ${child.stderr}`);
    const [mode, baseline] = JSON.parse(child.stdout) as [Side, Side];
    for (const key of ["cpu", "wall", "gap", "work", "ends"] as const) {
      result[key].push(...mode[key].map((v, i) => v - baseline[key][i]));
      result.baseline[key].push(...baseline[key]);
    }
  }
  return result;
}

/**
 * The median of `values` and a 95 % confidence interval for it (percentile
 * bootstrap, 2,000 resamples, a fixed seed so a run's figures are repeatable).
 */
function medianWithInterval(values: number[]): { median: number; low: number; high: number } {
  let seed = 0x9e3779b9;
  const random = () => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) / 2 ** 32;
  };
  const medians: number[] = [];
  for (let b = 0; b < 2000; b++) {
    medians.push(median(Array.from(values, () => values[Math.floor(random() * values.length)])));
  }
  medians.sort((a, b) => a - b);
  return { median: median(values), low: medians[50], high: medians[1949] };
}

/** `0.123 (0.100…0.150)`: a median and its interval, to `digits` places. */
function withInterval(values: number[], digits: number, scale = 1): string {
  const { median: m, low, high } = medianWithInterval(values.map((v) => v * scale));
  return `${m.toFixed(digits)} (${low.toFixed(digits)}…${high.toFixed(digits)})`;
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

/** Measures every comparison of one workload and prints the table and the issue's targets. */
function comparisonTable(workload: Workload, processes: number, rounds: number): void {
  const label = workload === "trivial" ? "1,000 trivial nodes" : "1,000 nodes × 200 µs";
  console.log(
    `\n${label} (${runtimeName()}): each mode against its baseline, alternating in ${processes} processes × ` +
      `${rounds} rounds${workload === "trivial" ? ` of ${REPS.trivial} runs` : ""} that run only the two; ` +
      "medians of the rounds' differences, µs per node (95 % confidence interval)",
  );
  const results = COMPARISONS.map((comparison) => ({ comparison, got: pair(workload, comparison, processes, rounds) }));
  // The raw engine's run time, from every comparison against it: the denominator of percentages.
  const rawCpu = median(results.flatMap(({ comparison, got }) => comparison[1] === RAW ? got.baseline.cpu : []));
  const rawWall = median(results.flatMap(({ comparison, got }) => comparison[1] === RAW ? got.baseline.wall : []));
  console.table(results.map(({ comparison: [mode, baseline], got }) => ({
    mode,
    against: baseline,
    "CPU µs/node": withInterval(got.cpu, 3),
    "CPU, % of raw": withInterval(got.cpu, 2, 100 / rawCpu),
    "wall µs/node": withInterval(got.wall, 3),
    "wall, % of raw": withInterval(got.wall, 2, 100 / rawWall),
  })));
  const of = (mode: string, baseline: string) =>
    results.find(({ comparison }) => comparison[0] === mode && comparison[1] === baseline)!.got;
  const metricsOverFloor = of(METRICS, FLOOR);
  if (workload === "trivial") {
    console.log(`metrics mode over the floor: ${withInterval(metricsOverFloor.cpu, 3)} µs/node of CPU (target ≤ 0.3)`);
  } else {
    console.log(
      `metrics mode over the floor: ${withInterval(metricsOverFloor.cpu, 2, 100 / rawCpu)} points of CPU ` +
        `(target ≤ 0.2); CLI default mode over raw: ${withInterval(of(DEFAULT, RAW).cpu, 2, 100 / rawCpu)} % ` +
        "of CPU (target ≤ 0.5)",
    );
  }
}

/**
 * `--only gaps`: the engine's time between 200 µs nodes, per mode against
 * its baseline (the raw engine; metrics mode also against the floor, paired
 * directly rather than as the difference of two comparisons), and where the
 * rest of the whole-run difference goes: a run's wall time is its start
 * (before the first node's work), the nodes' work, the gaps between them,
 * its end (after the last node's work) and one event-loop turn; CPU beyond
 * wall time is spent on the runtime's other threads (its collector, its
 * compilers).
 */
function gapTable(processes: number, rounds: number): void {
  measuringGaps = true;
  console.log(
    `\n1,000 nodes × 200 µs (${runtimeName()}): time from one node's exec ending to the next one's starting ` +
      "(gap), and the rest of the run's wall time and CPU, µs per node, mode less its baseline in the same round " +
      `(${processes} processes × ${rounds} rounds, 95 % interval)`,
  );
  const rows = COMPARISONS.map((comparison) => {
    const got = pair("heavy", comparison, processes, rounds);
    return {
      mode: comparison[0],
      against: comparison[1],
      "baseline's gap": median(got.baseline.gap).toFixed(3),
      "gap": withInterval(got.gap, 3),
      "run start + end": withInterval(got.ends, 3),
      "node work": withInterval(got.work, 3),
      "wall": withInterval(got.wall, 3),
      "CPU": withInterval(got.cpu, 3),
    };
  });
  console.table(rows);
}

const pairAt = process.argv.indexOf(PAIR_FLAG);
if (import.meta.main && pairAt >= 0) {
  const [workload, mode, baseline, rounds] = process.argv.slice(pairAt + 1);
  measuringGaps = process.env.PFLOW_BENCH_GAPS === "1";
  await measurePair(workload === "heavy" ? "heavy" : "trivial", mode, baseline, Number(rounds));
} else if (import.meta.main) {
  const only = process.argv.includes("--only") ? process.argv[process.argv.indexOf("--only") + 1] : undefined;
  if (only === "gaps") {
    process.env.PFLOW_BENCH_GAPS = "1";
    gapTable(3, 20);
  } else {
    console.log(`${runtimeName()}: metrics mode reads performance.now() and ${CPU_CLOCK} once per node execution`);
    console.table(clockReads());
    const bench = new Bench({ time: 1500, warmupTime: 300 });
    for (const [name, build] of Object.entries(trivial)) {
      const fn = build();
      bench.add(`trivial: ${name}`, async () => void await fn());
    }
    const { Plain, Decorated, Marked } = nodeClasses(0);
    const CALLS = 10_000;
    for (
      const [name, node] of [
        ["undecorated", new Plain()],
        ["@timed class, no traced run yet (its own method)", new Decorated()],
        ["@timed, phase mark in place, no run", new Marked()],
      ] as const
    ) {
      bench.add(`exec() ×10,000, ${name}`, () => {
        for (let i = 0; i < CALLS; i++) node.exec();
      });
    }
    await bench.run();
    console.table(bench.tasks.map((task) => {
      const r = task.result;
      if (r?.state !== "completed") throw new Error(`${task.name}: ${r?.state}`);
      const per = task.name.startsWith("exec")
        ? `${(r.latency.mean * 1e6 / CALLS).toFixed(2)} ns/call`
        : `${(r.latency.mean * 1000 / N).toFixed(3)} µs/node`;
      return { case: task.name, "mean ms": r.latency.mean.toFixed(4), per };
    }));
    if (only !== "heavy") comparisonTable("trivial", 4, 30);
    if (only !== "trivial") comparisonTable("heavy", 4, 24);
  }
}
