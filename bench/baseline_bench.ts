/**
 * Default mode of this tree against another checkout of pflow (a commit before
 * a change), side by side in one process: both trees' compiled workflows and
 * this tree's raw engine run round-robin, and each round's figures are taken
 * less the raw engine's in the same round. Reports, per tree, the median CPU
 * time per node over the raw engine and the engine's time between nodes (from
 * one node's `exec` ending to the next one's starting, as the work node reads
 * it).
 *
 * `deno run -A bench/baseline_bench.ts PATH [US] [ROUNDS]` (or under
 * `npx -y bun@1.4.5`), where PATH is the other checkout, e.g. made with
 * `git worktree add /tmp/before 348de94` (with this tree's `node_modules`
 * linked into it); US is the work per node in µs (default 200; 0 = trivial
 * nodes), ROUNDS the rounds (default 30).
 * @module
 */
import { resolve } from "node:path";
import { setImmediate } from "node:timers";
import { pathToFileURL } from "node:url";
import { calibrateCompute, computeNotingGap, meanGapUs, median, resetGaps, ROOT } from "./support.ts";
import type { NodeSpec } from "../src/nodes/spec.ts";

const N = 1000;
const quiet = { warn: () => {} };

/** Runs the comparison against the checkout at `other`: `us` µs of work per node, `rounds` rounds. */
async function compareWith(other: string, options: { us: number; rounds: number }): Promise<void> {
  const { us, rounds } = options;
  const STEPS = Math.round(us * calibrateCompute());
  const ir = {
    ir_version: "0.1.0",
    nodes: Array.from({ length: N }, (_, i) => ({ id: `n${i}`, type: "work" })),
    edges: Array.from({ length: N - 1 }, (_, i) => ({ from: `n${i}`, to: `n${i + 1}` })),
  };
  const spec: NodeSpec = {
    type: "work",
    description: "",
    params: {},
    outputs: { n: { type: "number", description: "" } },
  };
  type Run = () => Promise<unknown>;
  const modes: Record<string, Run> = {};
  for (const [label, root] of [["this tree", ROOT], [`other tree (${other})`, resolve(other)]] as const) {
    const load = (path: string) => import(pathToFileURL(resolve(root, path)).href);
    // The other tree has the same API (typed as this one's).
    const engine: typeof import("../src/engine/mod.ts") = await load("src/engine/mod.ts");
    const observability: typeof import("../src/observability/mod.ts") = await load("src/observability/mod.ts");
    const workflow: typeof import("../src/workflow/mod.ts") = await load("src/workflow/mod.ts");
    class Plain extends engine.Node {
      static readonly spec = spec;
      override exec() {
        computeNotingGap(STEPS);
        return 1;
      }
      override post(shared: Record<string, unknown>, _p: unknown, n: unknown) {
        shared.n = n;
        return undefined;
      }
    }
    // The decorator applied as the compiler of this tree applies it to a class.
    const Decorated = observability.timed(
      class extends Plain {},
      { kind: "class", name: "Work" } as ClassDecoratorContext,
    );
    const compiled = workflow.compileWorkflow(ir, { registry: new workflow.NodeRegistry([Decorated]) });
    if (root === ROOT) {
      const first = new Plain();
      let last: InstanceType<typeof engine.Node> = first;
      for (let i = 1; i < N; i++) last = last.next(new Plain());
      const raw = new engine.Flow(first);
      modes["raw engine"] = async () => {
        const every = engine.EVENT_LOOP_YIELD.every;
        engine.EVENT_LOOP_YIELD.every = 0;
        try {
          await raw.run({}, quiet);
        } finally {
          engine.EVENT_LOOP_YIELD.every = every;
        }
      };
    }
    modes[`default mode, ${label}`] = () => workflow.runWorkflow(compiled, quiet);
  }

  const names = Object.keys(modes);
  for (let i = 0; i < 3; i++) for (const name of names) await modes[name]();
  const samples: Record<string, { gap: number[]; cpu: number[] }> = Object.fromEntries(
    names.map((name) => [name, { gap: [], cpu: [] }]),
  );
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < names.length; k++) {
      const name = names[(r + k) % names.length];
      resetGaps();
      const cpuStart = process.cpuUsage();
      await modes[name]();
      await new Promise((done) => setImmediate(done));
      const used = process.cpuUsage(cpuStart);
      samples[name].gap.push(meanGapUs());
      samples[name].cpu.push((used.user + used.system) / N);
    }
  }
  const overRaw = (name: string, key: "gap" | "cpu") =>
    median(samples[name][key].map((v, i) => v - samples["raw engine"][key][i])).toFixed(3);
  const versions = process.versions as Record<string, string | undefined>;
  console.log(
    `${versions.bun ? `Bun ${versions.bun}` : `Deno ${versions.deno}`}, 1,000 nodes × ${us} µs, ${rounds} rounds in ` +
      "one process: µs per node over the raw engine (medians of each round's difference)",
  );
  console.table(
    names.slice(1).map((name) => ({
      mode: name,
      "CPU over raw": overRaw(name, "cpu"),
      "time between nodes over raw": overRaw(name, "gap"),
    })),
  );
}

// Run as a script only: `deno bench bench/` loads every file here and must find nothing to do.
if (import.meta.main) {
  const [other, us, rounds] = process.argv.slice(2).filter((a) => !a.startsWith("-"));
  if (other === undefined) throw new Error("usage: baseline_bench.ts PATH [US] [ROUNDS]");
  await compareWith(other, { us: Number(us ?? 200), rounds: Number(rounds ?? 30) });
}
