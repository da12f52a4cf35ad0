/**
 * How fast a run stops: SIGINT to exit of `dist/pflow` while a loop of two
 * `echo` nodes runs (no I/O, so only the engine's event-loop yields let the
 * signal in), in default mode, JSON mode and traced. Target: exit 130 within
 * 100 ms. `deno run -A bench/interrupt_bench.ts` (after `deno task compile`).
 * @module
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { median, PFLOW_BIN } from "./support.ts";

const ROUNDS = 20;

/** Milliseconds from SIGINT to the process's exit, and its exit code. */
function interruptOnce(args: string[], home: string): Promise<{ ms: number; code: number | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(PFLOW_BIN, args, { env: { PATH: process.env.PATH, PFLOW_HOME: home }, stdio: "ignore" });
    let sent = 0;
    child.on("error", reject);
    child.on("exit", (code) => resolve({ ms: performance.now() - sent, code }));
    // Well after start-up: a signal in a process's first milliseconds, before pflow installs its
    // handler, ends it as any program (exit by signal, no result); 250 ms was once not enough on a
    // slow moment of a loaded VM.
    setTimeout(() => {
      sent = performance.now();
      process.kill(child.pid!, "SIGINT");
    }, 500);
  });
}

if (import.meta.main) {
  const dir = mkdtempSync(join(tmpdir(), "pflow-interrupt-bench-"));
  try {
    const file = join(dir, "loop.json");
    writeFileSync(
      file,
      JSON.stringify({
        ir_version: "0.1.0",
        name: "ping-pong",
        nodes: [{ id: "a", type: "echo", params: { value: "ping" } }, { id: "b", type: "echo" }],
        edges: [{ from: "a", to: "b" }, { from: "b", to: "a" }],
      }),
    );
    const base = ["run", file, "--max-node-executions", "1000000000000"];
    const modes: Record<string, string[]> = {
      "default mode": base,
      "--output-format json": [...base, "--output-format", "json"],
      "--trace": [...base, "--trace"],
    };
    const samples: Record<string, number[]> = Object.fromEntries(Object.keys(modes).map((m) => [m, []]));
    for (let round = 0; round < ROUNDS; round++) {
      for (const [mode, args] of Object.entries(modes)) {
        const home = join(dir, `home-${round}-${mode.replace(/\W+/g, "")}`);
        const { ms, code } = await interruptOnce(args, home);
        if (code !== 130) {
          const why = code === null ? " (killed by the signal: before pflow's handler was installed?)" : "";
          throw new Error(`${mode}: exit ${code}, expected 130${why}`);
        }
        samples[mode].push(ms);
        rmSync(home, { recursive: true, force: true });
      }
    }
    console.log(`SIGINT → exit 130 while a loop of echo nodes runs (${ROUNDS} rounds, round-robin)`);
    console.table(
      Object.entries(samples).map(([mode, ms]) => ({
        mode,
        "median ms": median(ms).toFixed(1),
        "max ms": Math.max(...ms).toFixed(1),
      })),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
