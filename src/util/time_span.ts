/**
 * Spans of time as users write them on the command line (`--since 7d`,
 * `--older-than 2w`), shared by the trace and ledger commands.
 * @module
 */

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** A span of time written `90s`, `30m`, `12h`, `7d`, `2w` or `1.5h`, in ms; undefined when `text` is not one. */
export function parseSpan(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)([smhdw])$/.exec(text.trim());
  return m ? Number(m[1]) * UNIT_MS[m[2]] : undefined;
}
