/**
 * SIGINT, SIGTERM and SIGHUP during a run.
 *
 * 1. The first signal aborts the run: the running node is told through its
 *    AbortSignal, shell commands get SIGTERM (SIGKILL after a grace), and the
 *    run ends as interrupted with its result and trace.
 * 2. A second signal SIGKILLs every command's process group at once; the run
 *    still ends as in 1 (result printed, trace finished), or exits after
 *    {@link HARD_EXIT_MS} if something still hangs.
 * 3. A third signal exits at once.
 *
 * The exit code is 128 + the first signal's number for SIGHUP (129) and 130
 * for SIGINT and SIGTERM.
 *
 * Once the result is printed, only the telemetry exports remain: a signal
 * then cuts them short ({@link cancelOnSignals}) and the exit code stays the
 * run's own.
 *
 * A signal pflow was started with ignored (`nohup` ignores SIGHUP; a
 * background job `&` of a script, SIGINT) stays ignored: no handler is
 * installed for it, as POSIX tools do (see util/inherited_signals.ts).
 * @module
 */
import process from "node:process";
import { InterruptedError } from "../engine/mod.ts";
import { killProcessGroupsNow, runningProcessGroups } from "../nodes/process_groups.ts";
import { inheritedIgnoredSignals } from "../util/inherited_signals.ts";

/** The signals that interrupt a run. */
export const INTERRUPT_SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

/** The interrupt signals pflow handles: those it was not started with ignored. */
function handledSignals(): NodeJS.Signals[] {
  const ignored = inheritedIgnoredSignals();
  return INTERRUPT_SIGNALS.filter((signal) => !ignored.has(signal));
}

/** After a second signal, the longest pflow waits for the run to report before it exits anyway. */
export const HARD_EXIT_MS = 3000;

let first: NodeJS.Signals | undefined;
/** Set while {@link cancelOnSignals} handles the signals: the run's handlers then stand aside. */
let exporting = false;

/** The exit code of an interrupted run: 129 after SIGHUP, else 130. */
export function interruptExitCode(): number {
  return first === "SIGHUP" ? 129 : 130;
}

/** The signal that interrupted the run, if one did. */
export function interruptSignal(): NodeJS.Signals | undefined {
  return first;
}

/**
 * Makes SIGINT, SIGTERM and SIGHUP abort `controller` (see the module doc
 * for the second and third signal), but one pflow was started with ignored. `notice` hears one line for the user
 * when commands are still stopping. Returns the function that removes the
 * handlers.
 */
export function abortOnSignals(controller: AbortController, notice?: (line: string) => void): () => void {
  let received = 0;
  const handler = (signal: NodeJS.Signals) => {
    if (exporting) return;
    received++;
    first ??= signal;
    if (received === 1) {
      controller.abort(new InterruptedError(`interrupted by ${signal}`));
      if (runningProcessGroups() > 0) {
        notice?.(`${signal}: stopping the running commands (send it again to kill them now)`);
      }
      return;
    }
    if (received === 2) {
      killProcessGroupsNow();
      setTimeout(() => process.exit(interruptExitCode()), HARD_EXIT_MS).unref();
      return;
    }
    process.exit(interruptExitCode());
  };
  const signals = handledSignals();
  for (const signal of signals) process.on(signal, handler);
  return () => {
    for (const signal of signals) process.off(signal, handler);
  };
}

/** The handling of signals after a run's result is printed (see {@link cancelOnSignals}). */
export interface ExportCancel {
  /** Aborted by the first signal. */
  signal: AbortSignal;
  /** The signal that aborted it, if one did. */
  by(): NodeJS.Signals | undefined;
  /** Removes the handlers (the run's own handle signals again). */
  remove(): void;
}

/**
 * After the result is printed: SIGINT, SIGTERM and SIGHUP cut the telemetry
 * exports short instead of interrupting a run that has ended. The first
 * aborts the returned signal; a second exits at once with `exitCode`, the
 * run's own (its result stands).
 */
export function cancelOnSignals(exitCode: number): ExportCancel {
  const controller = new AbortController();
  let by: NodeJS.Signals | undefined;
  const handler = (signal: NodeJS.Signals) => {
    if (by !== undefined) process.exit(exitCode);
    by = signal;
    controller.abort(new InterruptedError(`telemetry export cut short by ${signal}`));
  };
  exporting = true;
  const signals = handledSignals();
  for (const signal of signals) process.on(signal, handler);
  return {
    signal: controller.signal,
    by: () => by,
    remove: () => {
      for (const signal of signals) process.off(signal, handler);
      exporting = false;
    },
  };
}
