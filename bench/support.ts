/**
 * Shared pieces of the benchmarks: workflows of N trivial nodes, raw engine
 * chains, the binaries to compare, and side-by-side process timing.
 * @module
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { Flow, Node, type Shared } from "../src/engine/mod.ts";
import type { NodeSpec } from "../src/nodes/spec.ts";
import type { WorkflowIR } from "../src/workflow/ir.ts";

/** Repository root. */
export const ROOT = resolve(import.meta.dirname!, "..");
/** The pflow binary (built by `deno task compile`). */
export const PFLOW_BIN = resolve(ROOT, "dist/pflow");
/** A Bun hello-world binary, the start-up baseline. */
// Named for its build flags, so a baseline built before they changed is not reused.
export const HELLO_BIN = resolve(ROOT, "dist/bench-hello-noautoload");

let computed = 0;

/**
 * A fixed amount of arithmetic: `steps` steps of xorshift (the work of a
 * benchmark node that does work: the same CPU in every mode, however long
 * other processes make it take).
 */
export function compute(steps: number): void {
  let x = computed | 1;
  for (let i = 0; i < steps; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
  }
  computed = x;
}

/** Steps of {@link compute} per microsecond on this machine: the best of 15 calibrations (the least disturbed). */
export function calibrateCompute(): number {
  let best = 0;
  for (let i = 0; i < 15; i++) {
    const started = performance.now();
    compute(200_000);
    best = Math.max(best, 200_000 / ((performance.now() - started) * 1000));
  }
  return best;
}

/**
 * The engine's time between nodes, as the work nodes see it: from the end of
 * one node's work ({@link computeNotingGap}) to the start of the next one's,
 * summed over a run (`sum`, over `count` gaps); also the time inside the
 * works (`work`) and the first work's start (`firstStart`), so that a run's
 * wall time splits into its start, the works, the gaps and its end.
 */
export const gaps = { sum: 0, count: 0, lastEnd: 0, work: 0, firstStart: 0 };

/** Starts {@link gaps} over: the next work is a run's first, with no gap before it. */
export function resetGaps(): void {
  gaps.sum = 0;
  gaps.count = 0;
  gaps.lastEnd = 0;
  gaps.work = 0;
  gaps.firstStart = 0;
}

/** {@link compute} of `steps` as one node's work, noting in {@link gaps} the time since the previous work ended. */
export function computeNotingGap(steps: number): void {
  const started = performance.now();
  if (gaps.lastEnd !== 0) {
    gaps.sum += started - gaps.lastEnd;
    gaps.count++;
  } else if (gaps.firstStart === 0) gaps.firstStart = started;
  if (steps !== 0) compute(steps);
  gaps.lastEnd = performance.now();
  gaps.work += gaps.lastEnd - started;
}

/** The mean gap of the works since {@link resetGaps}, µs (NaN before a second work). */
export function meanGapUs(): number {
  return gaps.count === 0 ? NaN : gaps.sum * 1000 / gaps.count;
}

/** A trivial node: increments a counter. */
export class Tick extends Node {
  /** Spec so it can be registered and compiled. */
  static readonly spec: NodeSpec = {
    type: "tick",
    description: "increments shared.n",
    params: { by: { type: "number", description: "step", default: 1 } },
    outputs: { n: { type: "number", description: "counter" } },
  };
  /** Adds one to the root counter. */
  override post(shared: Shared) {
    shared.n = ((shared.n as number) ?? 0) + 1;
    return undefined;
  }
}

/** A raw engine chain of `n` Tick nodes (no compiler, no wrappers). */
export function rawChain(n: number): Flow {
  const first = new Tick();
  let last: Node = first;
  for (let i = 1; i < n; i++) last = last.next(new Tick());
  return new Flow(first);
}

/** IR of `n` echo nodes, each templating the previous one's output. */
export function echoChainIR(n: number, options: { templates?: boolean; type?: string } = {}): WorkflowIR {
  const type = options.type ?? "echo";
  const nodes = Array.from({ length: n }, (_, i) => ({
    id: `n${i}`,
    type,
    params: type === "echo" ? { value: options.templates && i > 0 ? `\${n${i - 1}.output}` : i } : {},
  }));
  const edges = nodes.slice(1).map((node, i) => ({ from: nodes[i].id, to: node.id }));
  return { ir_version: "0.1.0", name: `chain-${n}`, nodes, edges };
}

/** Builds the hello-world baseline binary once. */
export function ensureHelloBinary(): string {
  if (existsSync(HELLO_BIN)) return HELLO_BIN;
  mkdirSync(resolve(ROOT, "dist"), { recursive: true });
  const source = resolve(ROOT, "dist/bench-hello.ts");
  writeFileSync(source, 'console.log("hello");\n');
  // Built as dist/pflow is (deno.json's compile task): no .env or bunfig.toml looked for at start.
  const flags = ["--compile", "--no-compile-autoload-dotenv", "--no-compile-autoload-bunfig"];
  const built = spawnSync("npx", ["-y", "bun@1.4.5", "build", ...flags, source, "--outfile", HELLO_BIN], {
    stdio: "inherit",
  });
  if (built.status !== 0) throw new Error("could not build the hello-world baseline binary");
  return HELLO_BIN;
}

/** Writes the one-node echo workflow used for start-up timing. */
export function echoWorkflowFile(): string {
  const path = resolve(ROOT, "dist/bench-echo.json");
  writeFileSync(path, JSON.stringify(echoChainIR(1)));
  return path;
}

/** One command of a start-up comparison. */
export interface TimedCommand {
  /** Program and arguments. */
  command: [string, string[]];
  /** Extra environment. */
  env?: Record<string, string>;
  /** Runs before each start (e.g. scripting the local LLM server's reply). */
  before?: () => void;
}

/**
 * Wall time of one run, in ms. The child is spawned asynchronously, so a
 * server in this process (the local LLM server) can answer it.
 */
export async function timeProcess(cmd: TimedCommand): Promise<number> {
  const [command, args] = cmd.command;
  cmd.before?.();
  const started = performance.now();
  const child = spawn(command, args, { stdio: ["ignore", "ignore", "ignore"], env: { ...process.env, ...cmd.env } });
  const code = await new Promise<number | null>((resolveExit, reject) => {
    child.on("error", reject);
    child.on("exit", (exitCode) => resolveExit(exitCode));
  });
  const wall = performance.now() - started;
  if (code !== 0) throw new Error(`${command} ${args.join(" ")} exited with ${code}`);
  return wall;
}

/**
 * Runs the commands round-robin (so machine noise hits all alike) and
 * returns each one's median wall time in ms.
 */
export async function interleavedMedians(
  commands: Record<string, TimedCommand>,
  rounds: number,
): Promise<Record<string, number>> {
  const samples: Record<string, number[]> = Object.fromEntries(Object.keys(commands).map((k) => [k, []]));
  for (const cmd of Object.values(commands)) await timeProcess(cmd); // warm caches
  for (let i = 0; i < rounds; i++) {
    for (const [name, cmd] of Object.entries(commands)) samples[name].push(await timeProcess(cmd));
  }
  return Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, median(v)]));
}

/** Median of a list. */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}
