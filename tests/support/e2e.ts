/**
 * Helpers of the end-to-end tests: a temp PFLOW_HOME, one-JSON-document
 * parsing, failure explanations, polling, process liveness and signalling a
 * running binary.
 * @module
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { type CliOptions, type CliResult, runPflow, tempDir } from "./cli.ts";

/** A temp dir (for workflow files) with `home/` as PFLOW_HOME; removed afterwards. */
export async function withHome(
  fn: (dir: string, env: Record<string, string>) => Promise<void> | void,
): Promise<void> {
  const dir = tempDir("pflow-e2e-test-");
  try {
    const home = join(dir.path, "home");
    mkdirSync(home);
    await fn(dir.path, { PFLOW_HOME: home });
  } finally {
    dir.cleanup();
  }
}

/** Exit code, signal, stdout and stderr, for assertion messages. */
export function explain(result: CliResult): string {
  return `exit ${result.code} (signal ${result.signal})\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`;
}

/** Asserts the exit code, showing the whole result when it differs. */
export function assertExit(result: CliResult, code: number): void {
  assert.equal(result.code, code, explain(result));
}

/** stdout parsed as exactly one JSON document on one line. */
export function oneJson(result: CliResult): Record<string, unknown> {
  const text = result.stdout.trim();
  assert.ok(text.startsWith("{") && text.endsWith("}"), `stdout is not one JSON object:\n${explain(result)}`);
  assert.equal(text.split("\n").length, 1, `stdout has more than one line:\n${result.stdout}`);
  return JSON.parse(text);
}

/** Polls `check` every 10 ms until it holds or `ms` pass; returns whether it held. */
export async function waitFor(check: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return check();
}

/** Whether process `pid` is gone (or a zombie). */
export function isDead(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state === "Z" || state === "X";
  } catch {
    return true;
  }
}

/** A pid written by a shell command (`echo $! > FILE`), once the line is complete. */
export function pidFrom(file: string): number | undefined {
  if (!existsSync(file)) return undefined;
  const text = readFileSync(file, "utf8");
  return text.endsWith("\n") ? Number(text.trim()) : undefined;
}

/** Runs `dist/pflow ARGS…`, SIGKILLing it after `guardMs` (a run that should end but hangs fails its test). */
export function runGuarded(args: string[], options: CliOptions & { guardMs?: number } = {}): Promise<CliResult> {
  let guard: ReturnType<typeof setTimeout> | undefined;
  return runPflow(args, {
    ...options,
    onSpawn: (child) => {
      guard = setTimeout(() => child.kill("SIGKILL"), options.guardMs ?? 30_000);
      options.onSpawn?.(child);
    },
  }).finally(() => clearTimeout(guard));
}

/** What {@link runAndSignal} saw. */
export interface SignalledRun {
  result: CliResult;
  /** Milliseconds from the (last) signal to the process's exit. */
  afterSignalMs: number;
}

/**
 * Runs `dist/pflow ARGS…`, waits until `ready()` holds (polled), then sends
 * each of `signals` (`{signal, afterMs}` from the previous one) with
 * `process.kill`; a guard SIGKILLs it after `guardMs` (the test then fails
 * on the exit code).
 */
export async function runAndSignal(
  args: string[],
  options: CliOptions & {
    ready: () => boolean;
    signals: { signal: NodeJS.Signals; afterMs?: number }[];
    guardMs?: number;
  },
): Promise<SignalledRun> {
  let lastSent = 0;
  let guard: ReturnType<typeof setTimeout> | undefined;
  const result = await runPflow(args, {
    ...options,
    onSpawn: (child) => {
      guard = setTimeout(() => child.kill("SIGKILL"), options.guardMs ?? 15_000);
      (async () => {
        if (!await waitFor(options.ready, 10_000)) return;
        for (const { signal, afterMs } of options.signals) {
          if (afterMs) await new Promise((resolve) => setTimeout(resolve, afterMs));
          lastSent = performance.now();
          // process.kill, not child.kill: Deno's child.kill makes 'close' report the sent signal.
          try {
            process.kill(child.pid!, signal);
          } catch { /* already gone */ }
        }
      })();
      options.onSpawn?.(child);
    },
  });
  clearTimeout(guard);
  return { result, afterSignalMs: performance.now() - lastSent };
}
