/**
 * The run ledger: `PFLOW_HOME/ledger.db`, one row per run and per LLM call,
 * read by `pflow cost` (and the metrics exports).
 *
 * What a run (or the planner) does with it:
 *
 * ```ts
 * const ledger = ledgerEnabled({ env, settings, flag }) ? new LedgerRun({ home, warn }) : undefined;
 * ledger?.begin({ executionId, workflowName, startedMs: Date.now(), ... }, { preload: callsModels });
 * // one sink per phase, added to that phase's RunTelemetry sinks:
 * const workflowSink = ledger?.sink("workflow", { priceVersion: () => pricing?.version ?? null });
 * const plannerSink = ledger?.sink("planner", { priceVersion: () => pricing?.version ?? null });
 * ledger?.describe({ workflowName }); // a planned run learns its workflow late
 * // … after the result is printed:
 * await ledger?.finish({ status, subtype, endedMs, durationMs, nodesExecuted, traceFile, ... });
 * ```
 *
 * `begin` appends one line to an inbox file (no database at start-up);
 * the database is opened lazily when the first LLM call finishes, and each
 * call is written as it finishes. Failures are warnings, never a changed
 * outcome. This module loads no SQLite code; `store.ts` and `report.ts` do.
 * @module
 */
import { ValidationError } from "../workflow/errors.ts";

export { LedgerRun, type LedgerRunOptions } from "./recorder.ts";
export { inboxFile, ledgerFile } from "./paths.ts";
export type { LedgerPhase, LedgerRunStatus, RunEnd, RunStart } from "./types.ts";

/**
 * Whether runs write the ledger: on unless `--no-ledger` (`noLedger`),
 * `PFLOW_LEDGER=off` or settings `"ledger": false`. Throws
 * {@link ValidationError} for a value that is neither on nor off.
 */
export function ledgerEnabled(options: {
  env: Record<string, string | undefined>;
  settings: Record<string, unknown>;
  /** The settings file (named in the error). */
  settingsFile?: string;
  noLedger?: boolean;
}): boolean {
  const setting = options.settings.ledger;
  if (setting !== undefined && typeof setting !== "boolean") {
    throw new ValidationError([{
      file: options.settingsFile ?? "settings.json",
      pointer: "/ledger",
      message: `must be true or false, got ${JSON.stringify(setting)}`,
    }]);
  }
  const variable = options.env.PFLOW_LEDGER;
  let fromEnv: boolean | undefined;
  if (variable !== undefined && variable !== "") {
    const value = variable.trim().toLowerCase();
    if (["off", "0", "false", "no"].includes(value)) fromEnv = false;
    else if (["on", "1", "true", "yes"].includes(value)) fromEnv = true;
    else {
      throw new ValidationError([{ message: `PFLOW_LEDGER must be 'on' or 'off', got '${variable}'` }]);
    }
  }
  if (options.noLedger) return false;
  return fromEnv ?? setting ?? true;
}

/** Bun's native hasher (the binary): synchronous, a quarter of WebCrypto's cold cost there. */
type BunHasher = new (algorithm: "sha256") => { update(text: string): { digest(encoding: "hex"): string } };
const BUN_HASHER = (globalThis as { Bun?: { CryptoHasher?: BunHasher } }).Bun?.CryptoHasher;

/**
 * `sha256:HEX` of a workflow file's text (the ledger's content hash; `sha256sum FILE` gives the same).
 * In the binary, Bun's native hasher (0.1 ms cold against WebCrypto's 0.35–0.55 ms); elsewhere WebCrypto,
 * which hashes off the main thread: started when the run starts, it is ready when the run ends.
 */
export async function contentHash(text: string): Promise<string> {
  if (BUN_HASHER !== undefined) return `sha256:${new BUN_HASHER("sha256").update(text).digest("hex")}`;
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return `sha256:${Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("")}`;
}
