/**
 * Choosing traces: `--workflow`, `--since`, `--status` of `pflow trace list`,
 * and the ages of `pflow trace prune --older-than`.
 * @module
 */
import type { TraceListing } from "./trace_files.ts";
import { parseSpan } from "../util/time_span.ts";
import { UsageError } from "./usage_error.ts";

export { parseSpan };

/**
 * An instant given as a span ago (`7d`: seven days before `nowMs`), a local
 * date (`2025-03-04`: its midnight) or an ISO date-time (`2025-03-04T10:00`,
 * local unless it names a zone). Throws a {@link UsageError} naming `flag`.
 */
export function parseInstant(text: string, options: { flag: string; nowMs: number }): number {
  const span = parseSpan(text);
  if (span !== undefined) return options.nowMs - span;
  const date = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (date) {
    const ms = new Date(Number(date[1]), Number(date[2]) - 1, Number(date[3])).getTime();
    const back = new Date(ms);
    if (back.getFullYear() === Number(date[1]) && back.getMonth() + 1 === Number(date[2])) return ms;
  } else if (/^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}/.test(text)) {
    const ms = Date.parse(text.replace(" ", "T"));
    if (!Number.isNaN(ms)) return ms;
  }
  throw new UsageError(
    `${options.flag} must be a time ago (30m, 12h, 7d, 2w), a date (2025-03-04) or a date and time ` +
      `(2025-03-04T10:00), got '${text}'`,
    "trace",
  );
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
