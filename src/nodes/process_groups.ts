/**
 * The process groups of running commands (each `shell` node's command runs
 * in its own group), for two guarantees:
 *
 * - a second interrupt kills every group at once ({@link killProcessGroupsNow}),
 *   without waiting for the SIGTERM grace;
 * - no group outlives pflow, even when pflow is SIGKILLed: the first command
 *   starts a watchdog, a tiny `/bin/sh` in its own session that ignores
 *   signals and reads group ids from a pipe whose only writer is pflow. Each
 *   command's shell writes its own id there (fd 3) before running anything,
 *   and pflow writes `-id` when it ended. When pflow dies — however it dies —
 *   the kernel closes the pipe, the watchdog reads end-of-file and SIGKILLs
 *   the groups still listed. A parent-death signal (`setpriv --pdeathsig`)
 *   would reach only the shell, not the commands it started; the watchdog
 *   reaches the whole group, on every POSIX system.
 * @module
 */
import type { ChildProcess, spawn as spawnProcess } from "node:child_process";
import { ignoredSignalsTrap } from "../util/inherited_signals.ts";
import process from "node:process";

/** A running command's process group. */
export interface TrackedGroup {
  /** The group id (the shell's pid). */
  readonly pgid: number;
  /** Stops the command with SIGKILL now (no grace). */
  killNow(): void;
}

/** How the watchdog shows in `ps`: `/bin/sh -c … pflow-watchdog PFLOW_PID`. */
export const WATCHDOG_NAME = "pflow-watchdog";

const live = new Set<TrackedGroup>();

/**
 * The watchdog: collects `+PGID` / `-PGID` lines until end-of-file, then
 * SIGKILLs every group left. It ignores the terminal's signals and runs in
 * its own session, so only the end of pflow (its pipe closing) ends it.
 */
const WATCHDOG_SCRIPT = `trap '' INT TERM HUP QUIT
groups=' '
while IFS= read -r line; do
  case $line in
    +*) groups="$groups\${line#+} " ;;
    -*) keep=' '; for g in $groups; do [ "$g" = "\${line#-}" ] || keep="$keep$g "; done; groups=$keep ;;
  esac
done
for g in $groups; do kill -s KILL -- "-$g" 2>/dev/null; done`;

let watchdog: ChildProcess | null | undefined;

/**
 * Starts the watchdog once; null where it cannot run. `spawn` is the caller's
 * (node:child_process is loaded when a shell node runs, not at start-up).
 */
function startWatchdog(spawn: typeof spawnProcess): ChildProcess | null {
  if (watchdog !== undefined) return watchdog;
  watchdog = null;
  if (process.platform === "win32") return null;
  try {
    // `$0` and `$1` name it in `ps`: pflow-watchdog PID.
    const child = spawn("/bin/sh", ["-c", WATCHDOG_SCRIPT, WATCHDOG_NAME, String(process.pid)], {
      stdio: ["pipe", "ignore", "ignore"],
      detached: true,
    });
    const lost = () => watchdog = null;
    child.on("error", lost);
    child.on("exit", lost);
    child.stdin!.on("error", lost);
    // Neither the watchdog nor its pipe keeps pflow running.
    child.unref();
    (child.stdin as unknown as { unref?: () => void }).unref?.();
    watchdog = child;
  } catch {
    watchdog = null; // no watchdog: commands are still killed on every exit pflow sees
  }
  return watchdog;
}

/** How to start a command so that the watchdog knows its group from its first instruction. */
export interface WatchedCommand {
  /** The `/bin/sh -c` script: the registration, then the command. */
  script: string;
  /** Extra stdio for the spawn (fd 3: the watchdog's pipe), empty when unwatched. */
  stdio: NonNullable<ChildProcess["stdin"]>[];
  /** Whether the watchdog watches it. */
  watched: boolean;
}

/**
 * Wraps `command` so that the shell itself registers its group with the
 * watchdog (writing `+$$` to fd 3, then closing it) before anything of the
 * command runs: no window in which pflow could die with the group unknown.
 * The command's text, line numbers and file descriptors are unchanged.
 */
export function watchCommand(command: string, spawn: typeof spawnProcess): WatchedCommand {
  const pipe = startWatchdog(spawn)?.stdin;
  // A signal pflow was started with ignored (nohup's SIGHUP) stays ignored in the command: spawn resets it.
  const keep = ignoredSignalsTrap();
  if (!pipe) return { script: `${keep}${command}`, stdio: [], watched: false };
  return { script: `${keep}printf '+%s\\n' $$ >&3; exec 3>&-; ${command}`, stdio: [pipe], watched: true };
}

/**
 * Registers a running command's group for {@link killProcessGroupsNow};
 * returns the function that forgets it (call when the command ended), which
 * also tells the watchdog when it watched the command.
 */
export function trackProcessGroup(group: TrackedGroup, options: { watched: boolean }): () => void {
  live.add(group);
  return () => {
    if (!live.delete(group)) return;
    if (options.watched) watchdog?.stdin?.write(`-${group.pgid}\n`);
  };
}

/** SIGKILLs every running command's group now (a second interrupt); returns how many there were. */
export function killProcessGroupsNow(): number {
  const groups = [...live];
  for (const group of groups) group.killNow();
  return groups.length;
}

/** How many commands are running. */
export function runningProcessGroups(): number {
  return live.size;
}
