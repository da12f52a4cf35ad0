/**
 * Time in a report: which day, week or month an instant falls in for an
 * IANA time zone, and the `--since`/`--until` bounds.
 *
 * A zone's UTC offset is piecewise constant; its changes (DST, law) over the
 * reported range (only the years of it that hold runs) are found once here,
 * so SQL can shift each instant by the offset in force then (a `CASE` on the
 * change instants) and take the calendar day of the shifted value. That is exact across DST in every zone,
 * half-hour and 45-minute offsets included.
 * @module
 */
import { parseSpan } from "../util/time_span.ts";
import { localTimeZone } from "../util/time_zone.ts";

export { localTimeZone };

const DAY_MS = 86_400_000;

/** A zone's offset from UTC in force from `fromMs` on. */
export interface OffsetSpan {
  /** First instant (Unix ms) of this offset; -Infinity for the first span. */
  fromMs: number;
  /** Offset, ms (local = UTC + offset). */
  offsetMs: number;
}

/**
 * Checks an IANA zone name; returns it as the user wrote it (ICU would name
 * `Asia/Kolkata` by its old link `Asia/Calcutta`), with ICU's capitals when
 * only those differ, or undefined when unknown.
 */
export function checkTimeZone(zone: string): string | undefined {
  if (zone === "UTC") return zone; // what Intl says, without loading its zone data
  try {
    const resolved = new Intl.DateTimeFormat("en-US", { timeZone: zone }).resolvedOptions().timeZone;
    return resolved.toLowerCase() === zone.toLowerCase() ? resolved : zone;
  } catch {
    return undefined;
  }
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** The offset of `zone` at instant `ms` (whole minutes). */
export function zoneOffsetMs(zone: string, ms: number): number {
  if (zone === "UTC") return 0;
  let format = formatters.get(zone);
  if (format === undefined) {
    format = new Intl.DateTimeFormat("en-US", {
      timeZone: zone,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
    });
    formatters.set(zone, format);
  }
  const parts: Record<string, number> = {};
  for (const part of format.formatToParts(new Date(ms))) {
    if (part.type !== "literal") parts[part.type] = Number(part.value);
  }
  const wall = Date.UTC(parts.year, parts.month - 1, parts.day, parts.hour, parts.minute, parts.second);
  const floored = Math.floor(ms / 1000) * 1000;
  return wall - floored;
}

/**
 * The spans of constant offset covering `[fromMs, toMs]`: sampled every 12
 * hours (no zone changes twice within that), each change located to the
 * millisecond by bisection.
 */
export function offsetSpans(zone: string, fromMs: number, toMs: number): OffsetSpan[] {
  const step = DAY_MS / 2;
  const spans: OffsetSpan[] = [{ fromMs: -Infinity, offsetMs: zoneOffsetMs(zone, fromMs) }];
  let prev = fromMs;
  let prevOffset = spans[0].offsetMs;
  for (let t = fromMs + step;; t += step) {
    const at = Math.min(t, toMs);
    const offset = zoneOffsetMs(zone, at);
    if (offset !== prevOffset) {
      let lo = prev; // offset(lo) = prevOffset
      let hi = at; // offset(hi) = offset
      while (hi - lo > 1) {
        const mid = Math.floor((lo + hi) / 2);
        if (zoneOffsetMs(zone, mid) === prevOffset) lo = mid;
        else hi = mid;
      }
      spans.push({ fromMs: hi, offsetMs: offset });
      prevOffset = offset;
    }
    prev = at;
    if (at >= toMs) break;
  }
  return spans;
}

/**
 * The spans of constant offset over several disjoint ranges of instants, in order (see {@link offsetSpans}),
 * exact within each range: the offset in force at a range's start begins there when it differs from the one
 * before, and the instants between two ranges (which have no rows to label) are not sampled.
 */
export function offsetSpansOver(zone: string, ranges: readonly { fromMs: number; toMs: number }[]): OffsetSpan[] {
  const spans: OffsetSpan[] = [];
  for (const range of ranges) {
    const [first, ...rest] = offsetSpans(zone, range.fromMs, range.toMs);
    if (spans.length === 0) spans.push(first);
    else if (first.offsetMs !== spans[spans.length - 1].offsetMs) {
      spans.push({ fromMs: range.fromMs, offsetMs: first.offsetMs });
    }
    spans.push(...rest);
  }
  return spans;
}

/** The local calendar date of an instant as `YYYY-MM-DD`. */
export function localDate(zone: string, ms: number): string {
  return new Date(ms + zoneOffsetMs(zone, ms)).toISOString().slice(0, 10);
}

/**
 * The first instant of local day `date` (`YYYY-MM-DD`) in `zone`: local
 * midnight, or, where a change skips midnight, the instant the day begins.
 */
export function startOfLocalDay(zone: string, date: string): number {
  const [y, m, d] = date.split("-").map(Number);
  const wall = Date.UTC(y, m - 1, d);
  const candidates = new Set<number>();
  for (let probe = wall - 2 * DAY_MS; probe <= wall + 2 * DAY_MS; probe += DAY_MS / 4) {
    candidates.add(zoneOffsetMs(zone, probe));
  }
  let best: number | undefined;
  for (const offset of candidates) {
    const t = wall - offset;
    if (zoneOffsetMs(zone, t) === offset && (best === undefined || t < best)) best = t;
  }
  if (best !== undefined) return best;
  // Midnight does not exist that day: the day starts where the local date first reaches it.
  let lo = wall - 2 * DAY_MS;
  let hi = wall + 2 * DAY_MS;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (localDate(zone, mid) >= date) hi = mid;
    else lo = mid;
  }
  return hi;
}

/** The day after a `YYYY-MM-DD` date. */
export function nextDate(date: string): string {
  const [y, m, d] = date.split("-").map(Number);
  return new Date(Date.UTC(y, m - 1, d + 1)).toISOString().slice(0, 10);
}

/** A bad `--since`/`--until` value. */
export class DateBoundError extends Error {
  /** @param message one line naming the flag and the accepted forms */
  constructor(message: string) {
    super(message);
    this.name = "DateBoundError";
  }
}

/** The earliest and latest instants a bound may name: the Unix epoch, and the last day of year 9999. */
const EARLIEST_MS = 0;
const LATEST_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/**
 * Parses a `--since`/`--until` value (or any flag naming an instant, e.g.
 * `trace prune --older-than`): a time ago (`90s`, `30m`, `24h`, `7d`, `4w`:
 * that long before `nowMs`), a date `YYYY-MM-DD` or `YYYYMMDD` (a local day
 * in `zone`: its first instant, or its last for `until`), or a date and time
 * `YYYY-MM-DDTHH:MM[:SS[.mmm]]` (local in `zone` unless it ends in `Z` or an
 * offset such as `+02:00`). Anything else, an impossible date, time or
 * offset, or an instant before 1970 or after 9999 is a {@link DateBoundError}.
 */
export function parseBound(
  text: string,
  options: { flag: string; zone: string; nowMs: number },
): number {
  const ms = boundOf(text, options);
  if (Number.isNaN(ms) || ms < EARLIEST_MS || ms > LATEST_MS) {
    throw new DateBoundError(`--${options.flag}: '${text}' is before 1970 or after 9999; give a later time or a date`);
  }
  return ms;
}

function boundOf(text: string, options: { flag: string; zone: string; nowMs: number }): number {
  const span = parseSpan(text);
  if (span !== undefined) return options.nowMs - span;
  const date = /^(\d{4})-?(\d{2})-?(\d{2})$/.exec(text);
  if (date && (text.length === 8 || text.length === 10) && (text.length === 8) !== text.includes("-")) {
    const iso = `${date[1]}-${date[2]}-${date[3]}`;
    if (isCalendarDate(iso) && Number(date[1]) >= 1970) {
      if (options.flag !== "until") return startOfLocalDay(options.zone, iso);
      // The last date there is has no next one to start: its day ends 24 hours after it starts.
      return iso === "9999-12-31"
        ? startOfLocalDay(options.zone, iso) + 86_400_000 - 1
        : startOfLocalDay(options.zone, nextDate(iso)) - 1;
    }
    throw new DateBoundError(`--${options.flag}: '${text}' is not a calendar date from 1970 on`);
  }
  const dateTime = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,3})?)?(Z|[+-](\d{2}):(\d{2}))?$/
    .exec(text);
  if (dateTime) {
    const [, day, hh, mm, ss = "00", fraction = "", zone, zoneHh, zoneMm] = dateTime;
    const badOffset = zone !== undefined && zone !== "Z" && (Number(zoneHh) > 23 || Number(zoneMm) > 59);
    if (!isCalendarDate(day) || Number(hh) > 23 || Number(mm) > 59 || Number(ss) > 59 || badOffset) {
      throw new DateBoundError(`--${options.flag}: '${text}' is not a date and time`);
    }
    const asUtc = Date.parse(`${day}T${hh}:${mm}:${ss}${fraction}${zone ?? "Z"}`);
    return zone === undefined ? localToUtc(options.zone, asUtc) : asUtc;
  }
  throw new DateBoundError(
    `--${options.flag} must be a time ago (30m, 24h, 7d, 4w), a date (YYYY-MM-DD or YYYYMMDD) ` +
      `or a date and time (YYYY-MM-DDTHH:MM), got '${text}'`,
  );
}

/** Whether `YYYY-MM-DD` names a day of the calendar (not 2025-02-29). */
function isCalendarDate(iso: string): boolean {
  const parsed = new Date(`${iso}T00:00:00Z`);
  return !Number.isNaN(parsed.getTime()) && parsed.toISOString().slice(0, 10) === iso;
}

/**
 * The instant whose wall-clock time in `zone` is `wallMs` (a wall time read
 * as UTC). A time skipped by a DST change is taken with the offset before it,
 * a repeated one at its first occurrence.
 */
function localToUtc(zone: string, wallMs: number): number {
  const before = wallMs - zoneOffsetMs(zone, wallMs - DAY_MS);
  const after = wallMs - zoneOffsetMs(zone, wallMs + DAY_MS);
  for (const candidate of [Math.min(before, after), Math.max(before, after)]) {
    if (candidate + zoneOffsetMs(zone, candidate) === wallMs) return candidate;
  }
  return before;
}

/**
 * SQL for the local time of `column` (Unix ms) in a zone, given its offset
 * spans: `column + CASE WHEN column < change1 THEN offset0 … END`.
 */
export function localTimeSql(column: string, spans: OffsetSpan[]): string {
  if (spans.length <= 1) return `(${column} + ${spans[0]?.offsetMs ?? 0})`;
  const whens = spans.slice(1).map((span, i) => `WHEN ${column} < ${span.fromMs} THEN ${spans[i].offsetMs}`);
  return `(${column} + CASE ${whens.join(" ")} ELSE ${spans[spans.length - 1].offsetMs} END)`;
}

/** The reporting periods. */
export type Period = "day" | "week" | "month";

/**
 * SQL for the period label of `column`: `YYYY-MM-DD` (day), the Monday
 * `YYYY-MM-DD` starting its ISO week (week), `YYYY-MM` (month).
 */
export function periodSql(period: Period, column: string, spans: OffsetSpan[]): string {
  const local = localTimeSql(column, spans);
  if (period === "month") return `strftime('%Y-%m', ${local} / 1000, 'unixepoch')`;
  if (period === "day") return `date(${local} / 1000, 'unixepoch')`;
  // 1970-01-01 was a Thursday: day number + 3 counts from a Monday.
  return `date(((${local} / ${DAY_MS} + 3) / 7 * 7 - 3) * 86400, 'unixepoch')`;
}

/** Per zone, a window of instants whose offset is known (see {@link localDateTime}). */
const knownOffsets = new Map<string, { fromMs: number; toMs: number; offsetMs: number }>();

/**
 * The local date and time of an instant as `YYYY-MM-DD HH:MM`. A report lists up to 100,000 runs, in start
 * order: an offset found equal at an instant and 12 hours later holds between them (no zone changes twice
 * within 12 hours, as {@link offsetSpans} assumes), so the instants in that window need no `Intl` call.
 */
export function localDateTime(zone: string, ms: number): string {
  let offset: number;
  const known = knownOffsets.get(zone);
  if (known !== undefined && ms >= known.fromMs && ms <= known.toMs) offset = known.offsetMs;
  else {
    offset = zoneOffsetMs(zone, ms);
    if (zone !== "UTC" && zoneOffsetMs(zone, ms + DAY_MS / 2) === offset) {
      knownOffsets.set(zone, { fromMs: ms, toMs: ms + DAY_MS / 2, offsetMs: offset });
    }
  }
  return new Date(ms + offset).toISOString().slice(0, 16).replace("T", " ");
}
