/**
 * The planner's own time: a whole planning minus the time spent inside its
 * LLM calls, with the local provider server (real Anthropic wire protocol,
 * in process) answering at once. Two cases:
 *
 * - generate: no saved workflows; the prompt holds the registry of the
 *   built-in nodes; one generate call, validation, inputs;
 * - reuse: 50 saved workflows; the catalogue is read from disk and rendered;
 *   one reuse call, the chosen workflow loaded, inputs.
 *
 * Target: < 20 ms of planner time per planning. Instrumented as `pflow plan`
 * runs the planner (metrics sink and in-memory trace).
 *
 * `deno run -A bench/planner_bench.ts` prints the medians of 40 rounds (after
 * 5 warm-up rounds), round-robin between the cases.
 * @module
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BUILTIN_NODES } from "../src/nodes/mod.ts";
import { RunTelemetry } from "../src/observability/mod.ts";
import { Redactor } from "../src/observability/redact.ts";
import { TraceSink } from "../src/observability/trace_sink.ts";
import { plannerWorkflow, planRequest, readCatalogue } from "../src/planner/mod.ts";
import { loadPriceTable } from "../src/pricing/table.ts";
import { NodeRegistry } from "../src/workflow/registry.ts";
import { startLlmServer } from "../tests/support/llm_server.ts";
import { median } from "./support.ts";

const ROUNDS = 40;
const WARMUP = 5;
const MODEL = "anthropic/claude-haiku-4-5";

/** A saved workflow of the catalogue: a few inputs, two nodes. */
function savedWorkflow(i: number) {
  return {
    ir_version: "0.1.0",
    name: `task-${i}`,
    description: `Does task number ${i}: reads a file, asks a model about it and writes the answer`,
    inputs: {
      path: { type: "string", description: "The file to read" },
      question: { type: "string", description: "What to ask about it", default: "Summarize it" },
      out: { type: "string", description: "Where to write the answer", default: `answer-${i}.md` },
    },
    nodes: [
      { id: "read", type: "read-file", params: { path: "${path}" } },
      { id: "ask", type: "llm", params: { prompt: "${question}\n\n${read.content}" } },
      { id: "save", type: "write-file", params: { path: "${out}", content: "${ask.response}" } },
    ],
    edges: [{ from: "read", to: "ask" }, { from: "ask", to: "save" }],
  };
}

const GENERATED = {
  ir_version: "0.1.0",
  name: "count-lines",
  description: "Counts the lines of a file",
  inputs: { path: { type: "string", description: "File to count", default: "README.md" } },
  nodes: [{ id: "count", type: "shell", params: { command: 'wc -l < "${path}"' } }],
  outputs: { lines: { source: "${count.stdout}", description: "Number of lines" } },
};

if (import.meta.main) {
  const dir = mkdtempSync(join(tmpdir(), "pflow-planner-bench-"));
  const srv = await startLlmServer();
  try {
    const empty = join(dir, "none");
    const fifty = join(dir, "fifty");
    mkdirSync(empty);
    mkdirSync(fifty);
    for (let i = 0; i < 50; i++) writeFileSync(join(fifty, `task-${i}.json`), JSON.stringify(savedWorkflow(i)));
    const env = { ANTHROPIC_API_KEY: "bench-key", ANTHROPIC_BASE_URL: srv.url };
    const pricing = await loadPriceTable({ home: dir });
    const registry = new NodeRegistry(BUILTIN_NODES);

    /** One planning; returns its wall time and the time inside its LLM calls. */
    const planOnce = async (catalogueDir: string) => {
      const reuse = catalogueDir === fifty;
      srv.enqueue(
        reuse
          ? { json: { workflow_name: "task-7", params: { path: "notes.md" }, reason: "it fits" } }
          : { json: { workflow: GENERATED, params: { path: "notes.md" } } },
      );
      const started = performance.now();
      const catalogue = await readCatalogue(catalogueDir);
      const trace = new TraceSink({
        header: {
          execution_id: crypto.randomUUID(),
          trace_id: "0".repeat(31) + "1",
          span_id: "0".repeat(15) + "1",
          parent_span_id: null,
          workflow_name: "bench",
          workflow_file: null,
          pflow_version: "bench",
          inputs: {},
        },
        kind: "planner",
        nodeParams: new Map(plannerWorkflow({ reuse }).nodes.map((n) => [n.id, n.params ?? {}])),
        redactor: new Redactor(),
        warn: () => {},
      });
      const telemetry = new RunTelemetry({
        instrumented: true,
        sinks: [trace],
        pricing,
        phase: "planner",
        ...trace.telemetryOptions(),
      });
      const outcome = await planRequest({
        request: "count the lines of notes.md",
        model: MODEL,
        catalogue,
        registry,
        maxRepairs: 2,
        stdinPiped: false,
        signal: new AbortController().signal,
        env,
        settings: {},
        telemetry,
        onStart: (shared) => trace.start(shared),
        warn: () => {},
      });
      const total = performance.now() - started;
      if (outcome.status !== "success") throw new Error(`planning failed: ${outcome.error?.message}`);
      if (outcome.path !== (reuse ? "reuse" : "generate")) throw new Error(`unexpected path ${outcome.path}`);
      const inCalls = telemetry.llmCalls.reduce((sum, call) => sum + call.usage.duration_ms, 0);
      return { total, inCalls, calls: telemetry.llmCalls.length, nodes: outcome.run.nodes_executed };
    };

    const cases = [
      { name: "generate (built-in registry, nothing saved)", dir: empty },
      { name: "reuse (50 saved workflows)", dir: fifty },
    ];
    const samples = cases.map(() => ({ total: [] as number[], outside: [] as number[], calls: 0, nodes: 0 }));
    for (let round = 0; round < WARMUP + ROUNDS; round++) {
      for (const [i, c] of cases.entries()) {
        const r = await planOnce(c.dir);
        if (round < WARMUP) continue;
        samples[i].total.push(r.total);
        samples[i].outside.push(r.total - r.inCalls);
        samples[i].calls = r.calls;
        samples[i].nodes = r.nodes;
      }
    }
    console.log(`planner time outside LLM calls, medians of ${ROUNDS} rounds (local server answering at once)\n`);
    console.log("| case | planner nodes | LLM calls | planning (ms) | outside LLM calls (ms) | target |");
    console.log("|---|---|---|---|---|---|");
    for (const [i, c] of cases.entries()) {
      const s = samples[i];
      const outside = median(s.outside);
      console.log(
        `| ${c.name} | ${s.nodes} | ${s.calls} | ${median(s.total).toFixed(2)} | ${outside.toFixed(2)} | ` +
          `< 20 ms ${outside < 20 ? "✓" : "✗"} |`,
      );
    }
  } finally {
    await srv.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
