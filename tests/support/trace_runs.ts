/**
 * Real traces for page tests: a workflow run with `dist/pflow run --trace`,
 * a planned run with `--trace --trace-planner`, and the data a trace page
 * embeds.
 * @module
 */
import { join } from "node:path";
import type { PageData } from "../../src/cli/trace_page.ts";
import { runPflow, workflow, writeWorkflow } from "./cli.ts";
import type { LlmServer } from "./llm_server.ts";

/** Runs `workflowPath` with `--trace` in PFLOW_HOME `home` (exit 0, or 1 with `expectFailure`); returns the trace file's path. */
export async function tracedRun(
  workflowPath: string,
  options: { home: string; env?: Record<string, string>; params?: string[]; expectFailure?: boolean },
): Promise<string> {
  const r = await runPflow(["run", workflowPath, ...(options.params ?? []), "--trace", "--output-format", "json"], {
    env: { PFLOW_HOME: options.home, ...options.env },
  });
  if (r.code !== (options.expectFailure ? 1 : 0)) {
    throw new Error(`pflow run ${workflowPath} ended with ${r.code}: ${r.stderr}${r.stdout}`);
  }
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

/** What the planner generates in {@link plannedRun}: a shell node, then an LLM call on its output. */
const PLANNED_WORKFLOW = {
  ir_version: "0.1.0",
  name: "repeat-word",
  description: "Repeats a word, then counts the words",
  inputs: {
    word: { type: "string", description: "The word to repeat" },
    times: { type: "integer", description: "How many times", default: 2 },
  },
  nodes: [
    { id: "say", type: "shell", params: { command: "for i in $(seq 1 ${times}); do printf '%s ' '${word}'; done" } },
    {
      id: "count",
      type: "llm",
      params: { model: "anthropic/claude-haiku-4-5", prompt: "Count the words: ${say.stdout}" },
    },
  ],
  edges: [{ from: "say", to: "count" }],
  outputs: { answer: { source: "${count.response}", description: "The count" } },
};

/**
 * A real planned run (`pflow "REQUEST" --trace --trace-planner`) against
 * `server`, whose first reply is the planner's plan: returns the planner
 * trace and the workflow trace it wrote (one trace id; the workflow trace
 * names the planner trace).
 */
export async function plannedRun(
  home: string,
  server: LlmServer,
  request = "repeat hi three times and count the words",
): Promise<{ planner: string; workflow: string }> {
  server.enqueue({
    json: { workflow: PLANNED_WORKFLOW, params: { word: "hi", times: 3 } },
    usage: { input_tokens: 1000, output_tokens: 200 },
  });
  const r = await runPflow([request, "--trace", "--trace-planner"], {
    env: {
      PFLOW_HOME: home,
      ANTHROPIC_API_KEY: "sk-ant-test",
      ANTHROPIC_BASE_URL: server.url,
      PFLOW_PLANNER_MODEL: "anthropic/claude-haiku-4-5",
    },
    cwd: home,
  });
  const planner = /Planner trace saved: (.+)/.exec(r.stderr)?.[1];
  const workflow = /Workflow trace saved: (.+)/.exec(r.stderr)?.[1];
  if (r.code !== 0 || planner === undefined || workflow === undefined) {
    throw new Error(`planned run failed (${r.code}): ${r.stderr}${r.stdout}`);
  }
  return { planner, workflow };
}

/** The data embedded in a trace page. */
export function embeddedData(html: string): PageData {
  const m = /<script type="application\/json" id="pflow-data">([^<]*)<\/script>/.exec(html);
  if (m === null) throw new Error("no pflow-data script in the page");
  return JSON.parse(m[1]);
}
