/**
 * Which process runs a run, and whether that process is gone. A run killed
 * with SIGKILL (or a crash, a power loss) never records its end; its row
 * says `running` until a reader sees that its process no longer exists.
 *
 * A pid alone is not enough: pids are reused. On Linux a process is its
 * pid plus its start time (`/proc/<pid>/stat` field 22, clock ticks since
 * boot), within one boot (`/proc/sys/kernel/random/boot_id`) and one pid
 * namespace (a container's pids are not the host's). Elsewhere only the
 * pid is kept, and a run counts as gone only when no process has its pid.
 * A run of another host (a ledger on a network file system) is never
 * judged. Everything is read with node:fs, a few small reads per run (the
 * host name too, on Linux: loading `node:os` costs a Bun process ~1 ms).
 * @module
 */
import { readFileSync } from "node:fs";
import { bootId, pidNamespace, processStat } from "../util/process_identity.ts";
import process from "node:process";

/** The process of a run as the ledger records it. */
export interface RunProcess {
  pid: number;
  /** The host name. */
  host: string;
  /** `BOOT_ID:PID_NAMESPACE:START_TICKS` on Linux; null where that cannot be read. */
  processStart: string | null;
}

/** This boot and pid namespace (`BOOT_ID:NAMESPACE`), or null without a readable /proc. */
function pidScope(): string | null {
  try {
    const boot = bootId();
    const namespace = /\[(\d+)\]/.exec(pidNamespace())?.[1];
    return boot && namespace ? `${boot}:${namespace}` : null;
  } catch {
    return null;
  }
}

/**
 * The start time of process `pid` in clock ticks since boot; undefined when there is no such process,
 * null when it cannot be told.
 */
function startTicks(pid: number | "self"): string | null | undefined {
  const stat = processStat(pid);
  return stat === undefined || stat === null ? stat : stat.startTicks ?? null;
}

/** The host name: the kernel's (`uname -n`, what `os.hostname()` answers) read from /proc, else `os.hostname()`. */
function hostname(): string {
  try {
    const name = readFileSync("/proc/sys/kernel/hostname", "utf8").trim();
    if (name !== "") return name;
  } catch {
    // No /proc (macOS, BSD): ask the runtime.
  }
  return process.getBuiltinModule("node:os").hostname();
}

/** This process, as a run records it when it starts. */
export function thisProcess(): RunProcess {
  const scope = pidScope();
  const ticks = scope === null ? null : startTicks("self");
  return { pid: process.pid, host: hostname(), processStart: scope !== null && ticks ? `${scope}:${ticks}` : null };
}

/** The fields of a `running` row that say which process runs it (null in rows of an older pflow). */
export interface RecordedProcess {
  pid: number | null;
  host: string | null;
  processStart: string | null;
}

/** Tells whether the process of a `running` row is gone, as seen from this process (its facts read once). */
export class ProcessCheck {
  readonly #host = hostname();
  #scope: string | null | undefined;

  /**
   * True when the run's process is gone: no such process, another process under its pid (started at
   * another time), or a boot of this host since. False while it may still run, or when it cannot be
   * told (another host, another pid namespace). A row without a process was written by a pflow that
   * did not record one: its process cannot be found, so it counts as gone (should it still run, its
   * own end replaces the reader's verdict).
   */
  gone(run: RecordedProcess): boolean {
    if (run.pid === null || run.host === null) return true;
    if (run.host !== this.#host) return false;
    this.#scope ??= pidScope();
    const at = run.processStart?.lastIndexOf(":") ?? -1;
    if (run.processStart && at > 0 && this.#scope !== null) {
      const scope = run.processStart.slice(0, at);
      if (scope !== this.#scope) {
        // Another boot: every process of the last one is gone. Another pid namespace: its pids are not ours.
        return scope.split(":")[0] !== this.#scope.split(":")[0];
      }
      const ticks = startTicks(run.pid);
      return ticks === null ? false : ticks !== run.processStart.slice(at + 1);
    }
    return !exists(run.pid);
  }
}

/** Whether some process has this pid (one it may not signal counts). */
function exists(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false; // 0 and below would name process groups
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== "ESRCH";
  }
}
