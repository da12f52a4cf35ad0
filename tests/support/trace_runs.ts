/**
 * Real traces for page tests: runs a workflow with `dist/pflow run --trace`,
 * links two such traces as a planned run (a planner trace and its workflow
 * trace), and reads the data a trace page embeds.
 * @module
 */
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import type { PageData } from "../../src/cli/trace_page.ts";
import { runPflow, workflow, writeWorkflow } from "./cli.ts";
import type { LlmServer } from "./llm_server.ts";

/** Runs `workflowPath` with `--trace` in PFLOW_HOME `home`; returns the trace file's path. */
export async function tracedRun(
  workflowPath: string,
  options: { home: string; env?: Record<string, string>; params?: string[] },
): Promise<string> {
  const r = await runPflow(["run", workflowPath, ...(options.params ?? []), "--trace", "--output-format", "json"], {
    env: { PFLOW_HOME: options.home, ...options.env },
  });
  if (r.code !== 0) throw new Error(`pflow run ${workflowPath} failed (${r.code}): ${r.stderr}${r.stdout}`);
  return JSON.parse(r.stdout).trace_path;
}

/**
 * Runs `fan`: shell `prepare` → `explain`, a parallel batch of 3 LLM calls
 * that overlap (each sleeps `sleepMs`) → `brief`, one LLM call → write-file
 * `save`; against `server`. Returns the trace file's path.
 */
export async function fanOutRun(
  home: string,
  server: LlmServer,
  options: { sleepMs?: number; briefModel?: string; briefPrompt?: string } = {},
): Promise<string> {
  const wf = writeWorkflow(
    home,
    "fan.json",
    workflow([
      { id: "prepare", type: "shell", params: { command: "echo ready" } },
      {
        id: "explain",
        type: "llm",
        batch: { items: ["caching", "reasoning", "retries"], as: "topic", parallel: true, max_concurrent: 3 },
        params: {
          model: "anthropic/claude-haiku-4-5",
          system: "Be brief.",
          prompt: `Explain \${topic} [[sleep:${options.sleepMs ?? 400}]]`,
        },
      },
      {
        id: "brief",
        type: "llm",
        params: {
          model: options.briefModel ?? "anthropic/claude-haiku-4-5",
          prompt: options.briefPrompt ?? "Combine ${explain.count} answers",
        },
      },
      { id: "save", type: "write-file", params: { path: join(home, "brief.md"), content: "${brief.response}" } },
    ], {
      name: "fan",
      edges: [{ from: "prepare", to: "explain" }, { from: "explain", to: "brief" }, { from: "brief", to: "save" }],
    }),
  );
  return await tracedRun(wf, { home, env: { ANTHROPIC_API_KEY: "sk-ant-test", ANTHROPIC_BASE_URL: server.url } });
}

function rewriteHeader(path: string, change: (header: Record<string, unknown>) => void): void {
  const text = readFileSync(path, "utf8");
  const firstBreak = text.indexOf("\n");
  const header = JSON.parse(`${text.slice(0, firstBreak)}]}`);
  delete header.events;
  change(header);
  writeFileSync(path, `${JSON.stringify(header).slice(0, -1)},"events":[${text.slice(firstBreak)}`);
}

/**
 * Makes two real workflow traces look like one planned run until the
 * planner writes real planner traces: the first becomes the planner trace
 * (`kind: "planner"`, a `request`, renamed `planner-trace-…`), the second
 * shares its trace id and names it in `planner_trace`.
 */
export function linkAsPlanner(
  first: string,
  second: string,
): { planner: string; workflow: string; traceId: string } {
  const planner = join(dirname(first), basename(first).replace(/^workflow-trace-[^-]+/, "planner-trace-plan"));
  renameSync(first, planner);
  let traceId = "";
  rewriteHeader(planner, (h) => {
    h.kind = "planner";
    h.workflow_name = "planner";
    h.request = "explain three topics <script>window.__pwned = 3</script>";
    traceId = h.trace_id as string;
  });
  rewriteHeader(second, (h) => {
    h.trace_id = traceId;
    h.planner_trace = planner;
  });
  return { planner, workflow: second, traceId };
}

/** The data embedded in a trace page. */
export function embeddedData(html: string): PageData {
  const m = /<script type="application\/json" id="pflow-data">([^<]*)<\/script>/.exec(html);
  if (m === null) throw new Error("no pflow-data script in the page");
  return JSON.parse(m[1]);
}
