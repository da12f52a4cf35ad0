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
import { Buffer } from "node:buffer";
import { ValidationError } from "../workflow/errors.ts";

export { LedgerRun, type LedgerRunOptions, NODE_BOUNDS_MS } from "./recorder.ts";
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

/**
 * `sha256:HEX` of a workflow file's text (the ledger's content hash; `sha256sum FILE` gives the same).
 * WebCrypto (a web-standard API, as everything under src/ uses): started when the run starts, the
 * digest is ready by the time the run ends.
 */
export async function contentHash(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  // Native hex: a 256-entry table built in JavaScript at load cost a Bun process 1-3 ms of its start.
  return `sha256:${Buffer.from(digest).toString("hex")}`;
}
