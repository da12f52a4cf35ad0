/**
 * The local time zone, known without `Intl` when it is UTC. The first use of
 * `Intl.DateTimeFormat` or of a `Date`'s local-time methods loads the
 * runtime's time-zone data: 10–18 ms of a command's start on Bun (measured
 * with `bun -e`, fresh processes). Servers, containers and CI machines run
 * in UTC, where none of it is needed.
 * @module
 */
import { readlinkSync } from "node:fs";

/**
 * Zone names that Deno and Bun both resolve to `UTC`, as `TZ` or as the
 * target of `/etc/localtime`; and the empty `TZ`, which POSIX reads as UTC
 * (as Bun and every `Date` do, while Deno's `Intl` names it `Etc/Unknown`, a
 * zone it then refuses).
 */
const UTC_NAMES = new Set(["UTC", "Etc/UTC", "Universal", "Etc/Universal", "Zulu", "Etc/Zulu", ""]);

let localUtc: boolean | undefined;

/**
 * Whether this process's local zone is UTC, decided from `TZ` (a UTC name,
 * with or without POSIX's leading `:`) or, when `TZ` is unset, from the
 * zoneinfo file `/etc/localtime` links to. False when that cannot be told
 * (any other `TZ`, an `/etc/localtime` that is a copy, not a link): then the
 * caller asks `Intl`, as before.
 */
export function localZoneIsUtc(): boolean {
  if (localUtc !== undefined) return localUtc;
  const tz = process.env.TZ;
  if (tz !== undefined) return localUtc = UTC_NAMES.has(tz.startsWith(":") ? tz.slice(1) : tz);
  try {
    const target = readlinkSync("/etc/localtime");
    const at = target.lastIndexOf("zoneinfo/");
    return localUtc = at >= 0 && UTC_NAMES.has(target.slice(at + "zoneinfo/".length));
  } catch {
    return localUtc = false;
  }
}

/**
 * The local zone's IANA name (honours `TZ`): `UTC` without asking `Intl` when
 * {@link localZoneIsUtc}, and `UTC` when `Intl` names none it can use (a `TZ`
 * it does not know: local `Date`s are in UTC then too).
 */
export function localTimeZone(): string {
  if (localZoneIsUtc()) return "UTC";
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  return zone === undefined || zone === "Etc/Unknown" ? "UTC" : zone;
}
