/**
 * Running workflows with `llm` nodes through the compiled binary against the
 * local LLM server (a temp PFLOW_HOME and server per test, see llm_home.ts):
 * prompts carrying scripted usage, and checks of the one JSON document a run
 * prints.
 * @module
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { type CliOptions, type CliResult, runPflow, workflow, writeWorkflow } from "./cli.ts";
import { oneJson as oneJsonObject } from "./e2e.ts";
import { type LlmHome, withLlmHome } from "./llm_home.ts";

export { assertExit, explain } from "./e2e.ts";

export const SONNET = "anthropic/claude-sonnet-4-5";
export const HAIKU = "anthropic/claude-haiku-4-5";
export const MINI = "openai/gpt-4o-mini";

/** Anthropic usage with every field: 1000 in, 500 out, 2000 cache read, 100 + 200 cache writes (5m + 1h). */
export const SONNET_USAGE = {
  input_tokens: 1000,
  output_tokens: 500,
  cache_read_input_tokens: 2000,
  cache_creation_input_tokens: 300,
  cache_creation: { ephemeral_5m_input_tokens: 100, ephemeral_1h_input_tokens: 200 },
};
/**
 * Sonnet 4.5: input 3, output 15, cache_read 0.30, cache_write_5m 3.75, cache_write_1h 6.
 * 1000*3 + 2000*0.3 + 100*3.75 + 200*6 + 500*15 = 3000 + 600 + 375 + 1200 + 7500 = 12675 µ$
 */
export const SONNET_COST = 0.012675;

/** OpenAI usage: 1200 prompt of which 200 cached, 400 completion of which 150 reasoning. */
export const MINI_USAGE = {
  prompt_tokens: 1200,
  completion_tokens: 400,
  total_tokens: 1600,
  prompt_tokens_details: { cached_tokens: 200 },
  completion_tokens_details: { reasoning_tokens: 150 },
};
/**
 * gpt-4o-mini: input 0.15, output 0.60, cache_read 0.075.
 * (1200-200)*0.15 + 200*0.075 + 400*0.6 = 150 + 15 + 240 = 405 µ$ (reasoning is inside the 400)
 */
export const MINI_COST = 0.000405;

/** What one test works with: a temp dir, its PFLOW_HOME, a fresh LLM server and the env pointing at it. */
export type LlmCtx = LlmHome;

/** Runs `fn` with a fresh temp dir, PFLOW_HOME and LLM server (see {@link withLlmHome}). */
export function withLlm(fn: (ctx: LlmCtx) => Promise<void>, prefix = "pflow-llm-test-"): Promise<void> {
  return withLlmHome(fn, { prefix });
}

/** A prompt carrying scripted usage (and optionally a reply text and a delay). */
export function prompt(usage: Record<string, unknown>, extra: { reply?: string; sleepMs?: number } = {}): string {
  const parts = [`[[usage:${JSON.stringify(usage)}]]`];
  if (extra.reply !== undefined) parts.push(`[[reply:${extra.reply}]]`);
  if (extra.sleepMs !== undefined) parts.push(`[[sleep:${extra.sleepMs}]]`);
  return parts.join(" ");
}

/** An llm node. */
export function llm(
  id: string,
  model: string,
  usage: Record<string, unknown>,
  extra: { reply?: string; sleepMs?: number } = {},
) {
  return { id, type: "llm", params: { model, prompt: prompt(usage, extra) } };
}

/** A node of a workflow. */
export type NodeIr = { id: string; [field: string]: unknown };

/** A workflow running `nodes` in order. */
export function chain(nodes: NodeIr[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  const edges = nodes.slice(1).map((n, i) => ({ from: nodes[i].id, to: n.id }));
  return workflow(nodes, { edges, ...extra });
}

/** Writes `wf` to `name` in the test's dir and runs it. */
export function runWorkflowFile(
  ctx: LlmCtx,
  wf: unknown,
  args: string[] = [],
  options: CliOptions & { name?: string } = {},
): Promise<CliResult> {
  const file = writeWorkflow(ctx.dir, options.name ?? "wf.json", wf);
  return runPflow(["run", file, ...args], { ...options, env: { ...ctx.env, ...options.env } });
}

// deno-lint-ignore no-explicit-any
export type Doc = Record<string, any>;

/** stdout as exactly one JSON document (fails on anything else), typed for field access. */
export function oneJson(result: CliResult): Doc {
  return oneJsonObject(result);
}

/** Writes PFLOW_HOME/settings.json. */
export function writeSettings(ctx: { home: string }, settings: unknown): void {
  writeFileSync(join(ctx.home, "settings.json"), JSON.stringify(settings));
}
