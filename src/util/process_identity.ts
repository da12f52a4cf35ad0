/**
 * Which process wrote a file, well enough to tell later whether it is still
 * running: its pid alone is not (pids are reused), so also its start time
 * (clock ticks after boot, `/proc/PID/stat` field 22), the boot it belongs to
 * (`/proc/sys/kernel/random/boot_id`) and its pid namespace (a pid read in
 * another container names another process). Linux only; elsewhere unknown.
 * @module
 */
import { readFileSync, readlinkSync } from "node:fs";

/** A process as a trace header records it (`writer`). */
export interface ProcessIdentity {
  pid: number;
  /** Start time in clock ticks after boot (`/proc/PID/stat` field 22), as a decimal string. */
  start_ticks: string;
  /** The boot it started in. */
  boot_id: string;
  /** Its pid namespace, e.g. `pid:[4026531836]`. */
  pid_ns: string;
}

/** This process, or undefined where it cannot be told (not Linux, no /proc). */
export function thisProcess(): ProcessIdentity | undefined {
  if (process.platform !== "linux") return undefined;
  try {
    const start = startTicks(process.pid);
    if (start === undefined) return undefined;
    return { pid: process.pid, start_ticks: start, boot_id: bootId(), pid_ns: pidNamespace() };
  } catch {
    return undefined;
  }
}

/**
 * Whether the process `recorded` names still runs: true or false when that
 * can be told from here (this boot, this pid namespace, Linux), else
 * undefined. Anything malformed is undefined too.
 */
export function isRunning(recorded: unknown): boolean | undefined {
  if (process.platform !== "linux" || !isIdentity(recorded)) return undefined;
  try {
    if (recorded.boot_id !== bootId()) return false; // the machine restarted since: that process is gone
    if (recorded.pid_ns !== pidNamespace()) return undefined; // another container's pid
  } catch {
    return undefined;
  }
  return startTicks(recorded.pid) === recorded.start_ticks;
}

function isIdentity(value: unknown): value is ProcessIdentity {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return Number.isSafeInteger(v.pid) && (v.pid as number) > 0 && typeof v.start_ticks === "string" &&
    /^\d+$/.test(v.start_ticks) && typeof v.boot_id === "string" && typeof v.pid_ns === "string";
}

let boot: string | undefined;

/** This boot's id (`/proc/sys/kernel/random/boot_id`), read once; throws without a readable /proc. */
export function bootId(): string {
  return boot ??= readFileSync("/proc/sys/kernel/random/boot_id", "latin1").trim();
}

/** This process's pid namespace, e.g. `pid:[4026531836]`; throws without a readable /proc. */
export function pidNamespace(): string {
  return readlinkSync("/proc/self/ns/pid");
}

/**
 * What `/proc/PID/stat` says of process `pid`: its state (field 3) and start time in clock ticks after boot
 * (field 22, undefined when not a number); undefined when there is no such process, null when it cannot be
 * read otherwise. The command name before them (in parentheses) may hold spaces and parentheses.
 */
export function processStat(
  pid: number | "self",
): { state: string; startTicks: string | undefined } | null | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "latin1");
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "ENOENT" ? undefined : null;
  }
  // Fields after `(comm)`: state is field 3, so starttime (22) is the 20th.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const start = fields[19];
  return { state: fields[0], startTicks: start !== undefined && /^\d+$/.test(start) ? start : undefined };
}

/** The start ticks of process `pid` while it runs; undefined when there is none, it cannot be read, or it ended (a zombie). */
function startTicks(pid: number): string | undefined {
  const stat = processStat(pid);
  return stat && stat.state !== "Z" && stat.state !== "X" ? stat.startTicks : undefined;
}
