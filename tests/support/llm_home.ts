/**
 * A temp dir with its own PFLOW_HOME and a fresh local LLM server, and the
 * environment that points every provider (Anthropic, OpenAI, Gemini) at it:
 * what an end-to-end test of LLM nodes through the binary starts from.
 * @module
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "./cli.ts";
import { type LlmServer, startLlmServer } from "./llm_server.ts";

/** What one test works with. */
export interface LlmHome {
  /** The temp dir (removed afterwards). */
  dir: string;
  /** PFLOW_HOME inside it. */
  home: string;
  /** The server. */
  srv: LlmServer;
  /** PFLOW_HOME, provider keys and base URLs. */
  env: Record<string, string>;
}

/**
 * Runs `fn` with a fresh temp dir, PFLOW_HOME and LLM server; cleans up afterwards.
 * @param fn the test body
 * @param options temp dir prefix, and the API key every provider gets (default `test-key`)
 */
export async function withLlmHome(
  fn: (ctx: LlmHome) => Promise<void>,
  options: { prefix?: string; apiKey?: string } = {},
): Promise<void> {
  const tmp = tempDir(options.prefix ?? "pflow-llm-test-");
  const srv = await startLlmServer();
  try {
    const home = join(tmp.path, "home");
    mkdirSync(home);
    const key = options.apiKey ?? "test-key";
    const env = {
      PFLOW_HOME: home,
      ANTHROPIC_API_KEY: key,
      ANTHROPIC_BASE_URL: srv.url,
      OPENAI_API_KEY: key,
      OPENAI_BASE_URL: `${srv.url}/v1`,
      GOOGLE_GENERATIVE_AI_API_KEY: key,
      GOOGLE_GEMINI_BASE_URL: srv.url,
    };
    await fn({ dir: tmp.path, home, srv, env });
  } finally {
    await srv.close();
    tmp.cleanup();
  }
}
