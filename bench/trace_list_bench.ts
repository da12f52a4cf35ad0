/**
 * `pflow trace list` at scale: 1,000 traces totalling 1 GB (1 MiB each, in
 * the writer's layout: header line, event lines, footer line), plus one
 * crashed 64 MiB trace; wall time and peak memory of `dist/pflow trace list`
 * (text, --json, --limit 1000, a filter) and of `trace show` of one trace,
 * medians of round-robin runs. Target: the listing in < 1 s.
 * `deno run -A bench/trace_list_bench.ts` (after `deno task compile`);
 * `PFLOW_BASELINE_BIN=/path/to/older/pflow` adds that binary's figures,
 * measured in the same rounds.
 * @module
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { formatTraceFile, type TraceDocument } from "../src/observability/trace_format.ts";
import { traceDoc } from "../tests/support/trace_docs.ts";
import { median, PFLOW_BIN } from "./support.ts";

const TRACES = 1000;
const EVENTS = 100;
const PAD = 10_000; // characters per event (~10 KiB), so each trace is ~1 MiB
const ROUNDS = 7;

/** Trace `n`: workflow wf-(n mod 10), one run a second, every 7th failed, `events` events of ~10 KiB. */
function doc(n: number, events: number): TraceDocument {
  return traceDoc(
    n.toString(16).padStart(8, "0"),
    { startMs: Date.UTC(2025, 2, 4, 10) + n * 1000, events, fields: { params: { value: "x".repeat(PAD) } } },
    { workflow_name: `wf-${n % 10}`, final_status: n % 7 === 0 ? "failed" : "success" },
  );
}

/** Wall ms and peak RSS (MiB, from /usr/bin/time) of one run. */
function measure(bin: string, args: string[], env: Record<string, string>): { ms: number; rssMiB: number } {
  const started = performance.now();
  const result = spawnSync("/usr/bin/time", ["-f", "%M", bin, ...args], {
    env: { PATH: process.env.PATH, ...env },
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  const ms = performance.now() - started;
  if (result.status !== 0) throw new Error(`pflow ${args.join(" ")}: exit ${result.status}: ${result.stderr}`);
  const kb = Number(result.stderr.trim().split("\n").pop());
  return { ms, rssMiB: kb / 1024 };
}

if (import.meta.main) {
  const home = mkdtempSync(join(tmpdir(), "pflow-trace-list-bench-"));
  try {
    const debug = join(home, "debug");
    mkdirSync(debug);
    let bytes = 0;
    for (let n = 0; n < TRACES; n++) {
      const text = formatTraceFile(doc(n, EVENTS));
      bytes += text.length;
      writeFileSync(
        join(
          debug,
          `workflow-trace-wf-${n % 10}-20250304-${String(n).padStart(6, "0")}-${n.toString(16).padStart(8, "0")}.json`,
        ),
        text,
      );
    }
    // One crashed run of 64 MiB (no footer): listed from its last event, never read whole.
    const big = formatTraceFile(doc(TRACES, 64 * EVENTS), { complete: false });
    writeFileSync(join(debug, "workflow-trace-crashed-20250304-235959-ffffffff.json"), big);
    bytes += big.length;
    console.log(`${TRACES + 1} traces, ${(bytes / 1024 ** 3).toFixed(2)} GiB in ${debug}`);
    const env = { PFLOW_HOME: home };
    const cases: Record<string, string[]> = {
      "trace list": ["trace", "list"],
      "trace list --json --limit 1000": ["trace", "list", "--json", "--limit", "1000"],
      "trace list --workflow wf-3 --status failed": ["trace", "list", "--workflow", "wf-3", "--status", "failed"],
      "trace show (one 1 MiB trace)": [
        "trace",
        "show",
        join(debug, "workflow-trace-wf-0-20250304-000000-00000000.json"),
      ],
      "pflow --version (start-up floor)": ["--version"],
    };
    const bins: [string, string][] = [["", PFLOW_BIN]];
    const baseline = process.env.PFLOW_BASELINE_BIN;
    if (baseline) bins.push(["baseline: ", baseline]);
    const samples: Record<string, { ms: number; rssMiB: number }[]> = {};
    // An older binary has no filters: it runs the other cases.
    const casesOf = (label: string) =>
      Object.entries(cases).filter(([, a]) => label === "" || !a.includes("--workflow"));
    for (const [label] of bins) for (const [name] of casesOf(label)) samples[label + name] = [];
    for (const [label, bin] of bins) for (const [, args] of casesOf(label)) measure(bin, args, env); // warm the cache
    for (let r = 0; r < ROUNDS; r++) {
      for (const [label, bin] of bins) {
        for (const [name, args] of casesOf(label)) samples[label + name].push(measure(bin, args, env));
      }
    }
    console.log(`medians of ${ROUNDS} round-robin runs`);
    console.table(
      Object.entries(samples).map(([name, s]) => ({
        case: name,
        "wall ms": median(s.map((x) => x.ms)).toFixed(1),
        "peak RSS MiB": median(s.map((x) => x.rssMiB)).toFixed(1),
      })),
    );
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}
