/**
 * What every command shares: the exit codes and what the CLI entry hands a
 * command. Tiny on purpose: commands import it without loading the run path.
 * @module
 */

/** Exit codes. */
export const EXIT = { ok: 0, failed: 1, usage: 2, interrupted: 130 } as const;

/** What the CLI entry gives a command. */
export interface CommandEnv {
  /** Environment variables. */
  env: Record<string, string | undefined>;
}

/** The commands, in the order help lists them. */
export const COMMANDS = [
  "run",
  "plan",
  "validate",
  "workflow",
  "registry",
  "pricing",
  "trace",
  "cost",
  "metrics",
  "completion",
  "help",
];
