/**
 * Choosing traces: `--workflow`, `--since`, `--status` of `pflow trace list`,
 * and the ages of `pflow trace prune --older-than`.
 * @module
 */
import type { TraceListing } from "./trace_files.ts";
import { parseSpan } from "../util/time_span.ts";
import { DateBoundError, parseBound } from "../ledger/period.ts";
import { localTimeZone } from "../util/time_zone.ts";
import { UsageError } from "./usage_error.ts";

export { parseSpan };

/**
 * An instant given as a span ago (`7d`: seven days before `nowMs`), a local
 * date (`2025-03-04`: its midnight) or an ISO date-time (`2025-03-04T10:00`,
 * local unless it names a zone), read as `cost report --since` reads it.
 * Throws a {@link UsageError} naming `flag`.
 */
export function parseInstant(text: string, options: { flag: string; nowMs: number }): number {
  try {
    return parseBound(text, { flag: options.flag.replace(/^--/, ""), zone: localTimeZone(), nowMs: options.nowMs });
  } catch (error) {
    if (error instanceof DateBoundError) throw new UsageError(error.message, "trace");
    throw error;
  }
}

/** What `--status` accepts: the run outcomes, `incomplete` (no footer) and `partial` (a write failed). */
export const TRACE_STATUSES = [
  "success",
  "failed",
  "interrupted",
  "budget_exceeded",
  "timeout",
  "incomplete",
  "partial",
  "unreadable",
] as const;

/** The filters of `pflow trace list`. */
export interface TraceFilter {
  /** Exact workflow name (a planner trace's is its request's slug). */
  workflow?: string;
  /** Earliest start, Unix ms. */
  sinceMs?: number;
  /** Any of these statuses. */
  statuses?: Set<string>;
}

/** Reads `--workflow`, `--since`, `--status` (comma-separated) into a filter. */
export function parseTraceFilter(
  values: Record<string, unknown>,
  nowMs: number,
): TraceFilter {
  const filter: TraceFilter = {};
  const workflow = values.workflow as string | undefined;
  if (workflow !== undefined) {
    if (workflow.trim() === "") throw new UsageError("--workflow needs a workflow name", "trace");
    filter.workflow = workflow;
  }
  const since = values.since as string | undefined;
  if (since !== undefined) filter.sinceMs = parseInstant(since, { flag: "--since", nowMs });
  const status = values.status as string | undefined;
  if (status !== undefined) {
    const wanted = status.split(",").map((s) => s.trim().toLowerCase());
    for (const s of wanted) {
      if (!(TRACE_STATUSES as readonly string[]).includes(s)) {
        throw new UsageError(`--status: unknown status '${s}'; use ${TRACE_STATUSES.join(", ")}`, "trace");
      }
    }
    filter.statuses = new Set(wanted);
  }
  return filter;
}

/** The statuses a listing answers to: its run's, and `partial`/`incomplete`/`unreadable` as they apply. */
function statusesOf(listing: TraceListing): string[] {
  if (listing.read === undefined) return ["unreadable"];
  const { trace, complete, partial } = listing.read;
  const statuses = [String(trace.final_status ?? "incomplete")];
  if (!complete && !statuses.includes("incomplete")) statuses.push("incomplete");
  if (partial) statuses.push("partial");
  return statuses;
}

/** Whether `listing` passes `filter`. */
export function matchesFilter(listing: TraceListing, filter: TraceFilter): boolean {
  if (filter.workflow !== undefined && listing.read?.trace.workflow_name !== filter.workflow) return false;
  if (filter.sinceMs !== undefined && listing.time < filter.sinceMs) return false;
  if (filter.statuses !== undefined && !statusesOf(listing).some((s) => filter.statuses!.has(s))) return false;
  return true;
}
