/**
 * CPU clocks: this process (`process.cpuUsage()`) and, on Linux, its waited-for
 * children (`/proc/self/stat` cutime/cstime, clock ticks of 10 ms).
 * @module
 */
import { readFileSync } from "node:fs";

/** CPU time in microseconds. */
export interface CpuReading {
  /** User time, µs. */
  user: number;
  /** System time, µs. */
  system: number;
}

/**
 * The CPU clock node executions are timed with, on every runtime: the whole
 * process's user and system time (getrusage). Bun's `process.threadCpuUsage()`
 * is cheaper per read, but counts only the main thread: work the runtime
 * hands to its thread pool (file reads, for one) would vanish from a node's
 * figures (10 reads of 64 MiB: 328 ms of process CPU, 4.5 ms of main-thread
 * CPU on Bun 1.4.5), so it is not a correct clock for what a node costs.
 */
export const CPU_CLOCK = "process.cpuUsage()";

/** This process's CPU time so far ({@link CPU_CLOCK}). */
export function readCpu(): CpuReading {
  return process.cpuUsage();
}

const TICK_US = 10_000; // USER_HZ is 100 on Linux
let childrenSupported: boolean | undefined;

/**
 * CPU time of this process's terminated, waited-for children (and their
 * waited-for descendants), or undefined where the runtime does not expose it.
 */
export function readChildrenCpu(): CpuReading | undefined {
  if (childrenSupported === false) return undefined;
  try {
    const stat = readFileSync("/proc/self/stat", "utf8");
    // Fields after the command name (which may hold spaces) start at field 3.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const cutime = Number(fields[13]);
    const cstime = Number(fields[14]);
    if (!Number.isFinite(cutime) || !Number.isFinite(cstime)) throw new Error("unexpected /proc/self/stat");
    childrenSupported = true;
    return { user: cutime * TICK_US, system: cstime * TICK_US };
  } catch {
    childrenSupported = false;
    return undefined;
  }
}
