/**
 * Counts and time zones without `Intl` where it is not needed: `formatCount`
 * writes what `toLocaleString("en-US")` writes, and a process whose zone is
 * UTC (by `TZ` or `/etc/localtime`) names it, checks it and computes offsets
 * in it without touching `Intl` or a `Date`'s local-time methods, while any
 * other zone still comes from `Intl`. Each zone case runs in a child process
 * with its own `TZ`, on Deno and in the Bun binary.
 * @module
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { formatCount } from "../src/util/count.ts";
import { runPflow, withTempHome } from "./support/cli.ts";

Deno.test("formatCount writes what toLocaleString('en-US') writes, for whole numbers and everything else", () => {
  const cases = [
    0,
    1,
    12,
    123,
    1234,
    12_345,
    123_456,
    999_999,
    1_000_000,
    -1,
    -999,
    -1000,
    -1_234_567,
    Number.MAX_SAFE_INTEGER,
    -Number.MAX_SAFE_INTEGER,
    Number.MAX_SAFE_INTEGER + 1, // not safe: Intl's
    1e21,
    1234.5,
    0.125,
    -0,
    NaN,
    Infinity,
    -Infinity,
  ];
  let seed = 7;
  const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
  for (let i = 0; i < 3000; i++) {
    const digits = 1 + Math.floor(random() * 16);
    const value = Math.floor(random() * 10 ** digits) * (random() < 0.3 ? -1 : 1);
    cases.push(value);
  }
  for (const value of cases) assert.equal(formatCount(value), value.toLocaleString("en-US"), `for ${value}`);
});

/** What a child Deno process with `env` says of its zone, with and without Intl. */
function zoneFacts(env: Record<string, string | undefined>, options: { intlBroken?: boolean } = {}) {
  const breakIntl = options.intlBroken
    ? `
      const refuse = () => { throw new Error("Intl used"); };
      globalThis.Intl = new Proxy(Intl, { get: refuse });
      for (const m of ["getHours", "getDate", "getFullYear", "getTimezoneOffset", "toLocaleString"]) {
        Date.prototype[m] = refuse;
      }
      Number.prototype.toLocaleString = refuse;`
    : "";
  const code = `
    import { localTimeZone, localZoneIsUtc } from "./src/util/time_zone.ts";
    import { checkTimeZone, localDate, localDateTime, offsetSpans, zoneOffsetMs } from "./src/ledger/period.ts";
    import { localTime } from "./src/cli/trace_list.ts";
    import { formatCount } from "./src/util/count.ts";
    ${breakIntl}
    const at = Date.UTC(2025, 6, 1, 23, 30, 5);
    const zone = localTimeZone();
    // A machine whose own zone Intl cannot use (e.g. "Etc/Unknown") fails these alike, before and after.
    const attempt = (fn) => { try { return fn(); } catch (error) { return "threw: " + error.message; } };
    console.log(JSON.stringify({
      fast: localZoneIsUtc(),
      zone,
      checked: attempt(() => checkTimeZone(zone)),
      offset: attempt(() => zoneOffsetMs(zone, at)),
      spans: attempt(() => offsetSpans(zone, Date.UTC(2025, 0, 1), Date.UTC(2025, 11, 31)).length),
      date: attempt(() => localDate(zone, at)),
      dateTime: attempt(() => localDateTime(zone, at)),
      traceTime: attempt(() => localTime(at)),
      count: attempt(() => formatCount(1234567)),
      intl: ${options.intlBroken ? "null" : "Intl.DateTimeFormat().resolvedOptions().timeZone ?? null"},
    }));`;
  const childEnv: Record<string, string> = {};
  for (const [key, value] of Object.entries({ ...process.env, ...env })) if (value !== undefined) childEnv[key] = value;
  if (env.TZ === undefined) delete childEnv.TZ;
  const child = spawnSync(Deno.execPath(), ["eval", "--ext=js", code], { env: childEnv, encoding: "utf8" });
  assert.equal(child.status, 0, `TZ=${env.TZ}: ${child.stderr}`);
  return JSON.parse(child.stdout);
}

Deno.test("a UTC zone named by TZ is known without Intl, and every answer is Intl's", () => {
  for (const tz of ["UTC", "Etc/UTC", ":UTC", ":Etc/UTC", "Universal", "Etc/Universal", "Zulu", "Etc/Zulu"]) {
    const facts = zoneFacts({ TZ: tz });
    assert.equal(facts.fast, true, `TZ=${tz}`);
    assert.equal(facts.zone, facts.intl, `TZ=${tz}: the name Intl gives`);
    assert.equal(facts.zone, "UTC");
    assert.deepEqual(
      { checked: facts.checked, offset: facts.offset, spans: facts.spans, date: facts.date, dateTime: facts.dateTime },
      { checked: "UTC", offset: 0, spans: 1, date: "2025-07-01", dateTime: "2025-07-01 23:30" },
    );
    assert.equal(facts.traceTime, "2025-07-01 23:30:05");
    // The same answers with Intl and the Date's local-time methods made to throw: none of them was used.
    const withoutIntl = zoneFacts({ TZ: tz }, { intlBroken: true });
    assert.deepEqual({ ...withoutIntl, intl: facts.intl }, facts, `TZ=${tz}`);
  }
});

Deno.test("any other zone still comes from Intl: Berlin by TZ, and the machine's own zone when TZ is unset", () => {
  for (const tz of ["Europe/Berlin", ":Europe/Berlin"]) {
    const facts = zoneFacts({ TZ: tz });
    assert.equal(facts.fast, false);
    assert.equal(facts.zone, "Europe/Berlin");
    assert.equal(facts.intl, "Europe/Berlin");
    assert.equal(facts.offset, 2 * 3_600_000);
    assert.equal(facts.spans, 3);
    assert.equal(facts.date, "2025-07-02");
    assert.equal(facts.traceTime, "2025-07-02 01:30:05");
  }
  // Unset TZ: /etc/localtime decides; whatever this machine's zone is, the name is Intl's.
  const machine = zoneFacts({ TZ: undefined });
  assert.equal(machine.zone, machine.intl ?? "UTC");
  if (machine.fast) assert.equal(machine.zone, "UTC");
  // A TZ that is set but names no UTC zone is never taken for UTC without asking Intl.
  assert.equal(zoneFacts({ TZ: "America/New_York" }).fast, false);
  assert.equal(zoneFacts({ TZ: "UTC0" }).fast, false);
});

Deno.test("an empty TZ is UTC (POSIX), and so is a TZ naming no zone the runtime knows", () => {
  const utc = { zone: "UTC", checked: "UTC", offset: 0, date: "2025-07-01", dateTime: "2025-07-01 23:30" };
  for (const tz of ["", ":"]) {
    const facts = zoneFacts({ TZ: tz });
    assert.equal(facts.fast, true, `TZ='${tz}'`);
    assert.deepEqual(
      { zone: facts.zone, checked: facts.checked, offset: facts.offset, date: facts.date, dateTime: facts.dateTime },
      utc,
      `TZ='${tz}'`,
    );
    assert.equal(facts.traceTime, "2025-07-01 23:30:05", `TZ='${tz}': what the local Date says`);
  }
  // Deno's Intl names no zone for an unknown TZ; its Dates are in UTC.
  const unknown = zoneFacts({ TZ: "Nowhere/Atlantis" });
  assert.equal(unknown.fast, false);
  assert.deepEqual(
    { zone: unknown.zone, checked: unknown.checked, offset: unknown.offset, date: unknown.date },
    { zone: "UTC", checked: "UTC", offset: 0, date: "2025-07-01" },
  );
  assert.equal(unknown.traceTime, "2025-07-01 23:30:05");
});

Deno.test("cost report from source on Deno with an empty TZ reports in UTC", async () => {
  await withTempHome(({ env }) => {
    const child = spawnSync(Deno.execPath(), ["run", "-A", "src/cli/main.ts", "cost", "report", "--json"], {
      env: { ...process.env, ...env, TZ: "" },
      encoding: "utf8",
    });
    assert.equal(child.status, 0, child.stderr);
    assert.equal(JSON.parse(child.stdout).timezone, "UTC");
  });
});

Deno.test("the Bun binary: cost report names the local zone from TZ, UTC and otherwise", async () => {
  await withTempHome(async ({ env }) => {
    for (const [tz, zone] of [["Etc/UTC", "UTC"], [":UTC", "UTC"], ["", "UTC"], ["Asia/Tokyo", "Asia/Tokyo"]]) {
      const result = await runPflow(["cost", "report", "--json"], { env: { ...env, TZ: tz } });
      assert.equal(result.code, 0, result.stderr);
      assert.equal(JSON.parse(result.stdout).timezone, zone, `TZ=${tz}`);
      const text = await runPflow(["cost", "report"], { env: { ...env, TZ: tz, NO_COLOR: "1" } });
      assert.match(text.stdout, new RegExp(`^Cost by day · all time · ${zone.replace("/", "\\/")}$`, "m"));
    }
  });
});

Deno.test("checkTimeZone keeps the name the user wrote (not ICU's old link), ICU's capitals, and refuses unknown zones", async () => {
  const { checkTimeZone } = await import("../src/ledger/period.ts");
  assert.equal(checkTimeZone("Asia/Kolkata"), "Asia/Kolkata");
  assert.equal(checkTimeZone("Asia/Kathmandu"), "Asia/Kathmandu");
  assert.equal(checkTimeZone("Europe/Kyiv"), "Europe/Kyiv");
  assert.equal(checkTimeZone("europe/berlin"), "Europe/Berlin");
  assert.equal(checkTimeZone("UTC"), "UTC");
  assert.equal(checkTimeZone("Mars/Olympus"), undefined);
});
