/**
 * What every command shares: the exit codes and what the CLI entry hands a
 * command. Tiny on purpose: commands import it without loading the run path.
 * @module
 */

/**
 * Exit codes. `output` (74, sysexits.h's EX_IOERR): the command did its work but its result could not be
 * written to stdout (disk full, an I/O error).
 */
export const EXIT = { ok: 0, failed: 1, usage: 2, output: 74, interrupted: 130 } as const;

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

/**
 * Whether `argv` asks for --verbose as the flag parser reads it, scanned before parsing (so a flag error gets its
 * stack trace too): `--verbose`, `-v`, or `v` in a group of short flags (`-vo out`, `-hv`) before the one that
 * takes a value (`-ov` is `-o v`); nothing after `--`.
 */
export function asksVerbose(argv: readonly string[]): boolean {
  for (const arg of argv) {
    if (arg === "--") return false;
    if (arg === "--verbose") return true;
    if (arg.length < 2 || arg[0] !== "-" || arg[1] === "-") continue;
    for (const short of arg.slice(1)) {
      if (short === "v") return true;
      if (short === "o") break; // -o (every command's only short flag with a value) takes the rest
    }
  }
  return false;
}
