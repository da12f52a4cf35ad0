/**
 * The signals this process was started with ignored (SIG_IGN): `nohup`
 * ignores SIGHUP, and a non-interactive shell starts a background job (`&`)
 * with SIGINT and SIGQUIT ignored. As POSIX tools do, pflow leaves such a
 * signal ignored (no handler of its own) and passes it on ignored to the
 * commands it runs. Linux only: read from `SigIgn` in `/proc/self/status`
 * (elsewhere none is known, and pflow handles its signals as always).
 * @module
 */
import { readFileSync } from "node:fs";

/** The signals this is asked about, by number. */
const NUMBERS = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGTERM: 15 } as const;

/** A signal whose inherited disposition is read. */
export type InheritableSignal = keyof typeof NUMBERS;

let ignored: ReadonlySet<InheritableSignal> | undefined;

/**
 * Which of SIGHUP, SIGINT, SIGQUIT and SIGTERM were ignored when first asked
 * (read once, then remembered: ask before installing a handler, which would
 * hide it). Empty where unknown.
 */
export function inheritedIgnoredSignals(): ReadonlySet<InheritableSignal> {
  return ignored ??= readIgnored();
}

function readIgnored(): ReadonlySet<InheritableSignal> {
  const found = new Set<InheritableSignal>();
  if (process.platform !== "linux") return found;
  let status: string;
  try {
    status = readFileSync("/proc/self/status", "latin1");
  } catch {
    return found; // no /proc mounted
  }
  const mask = /^SigIgn:\s*([0-9a-fA-F]+)\s*$/m.exec(status)?.[1];
  if (mask === undefined) return found;
  const bits = BigInt(`0x${mask}`);
  for (const [name, number] of Object.entries(NUMBERS) as [InheritableSignal, number][]) {
    if ((bits >> BigInt(number - 1)) & 1n) found.add(name);
  }
  return found;
}

/**
 * The shell words that ignore again, in a command's `/bin/sh`, the signals
 * pflow inherited ignored (`trap '' HUP; `), or "" when none was: a spawned
 * process gets every signal back at its default, so a command under
 * `nohup pflow` would otherwise die of the hang-up pflow itself ignores.
 */
export function ignoredSignalsTrap(): string {
  const names = [...inheritedIgnoredSignals()].map((s) => s.slice(3));
  return names.length === 0 ? "" : `trap '' ${names.join(" ")}; `;
}
