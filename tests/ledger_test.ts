/**
 * Unit tests of the ledger's parts on real SQLite files: time zones and
 * periods (against Intl, across DST), `--since`/`--until` parsing, model
 * matching, the inbox fold, and the `LedgerRun` API the planner attaches to.
 * @module
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { tempDir } from "./support/cli.ts";
import { appendInbox, foldInbox, type InboxEntry } from "../src/ledger/inbox.ts";
import { inboxFile, LedgerRun, type RunStart } from "../src/ledger/mod.ts";
import { matchModels } from "../src/ledger/model_match.ts";
import {
  DateBoundError,
  localDate,
  localDateTime,
  offsetSpans,
  parseBound,
  periodSql,
  startOfLocalDay,
  zoneOffsetMs,
} from "../src/ledger/period.ts";
import { costReport, runCost } from "../src/ledger/report.ts";
import { callFirsts } from "../src/ledger/schema.ts";
import { type CallRow, LedgerStore } from "../src/ledger/store.ts";
import { renderTable } from "../src/cli/table.ts";
import type { LlmCallRecord } from "../src/observability/telemetry.ts";
import { priceCall } from "../src/pricing/cost.ts";
import { loadShippedPriceTable } from "../src/pricing/table.ts";

const HOUR = 3_600_000;

Deno.test("offset spans: Berlin's two changes of 2025 to the millisecond; Lord Howe's half hour", () => {
  const berlin = offsetSpans("Europe/Berlin", Date.UTC(2025, 0, 1), Date.UTC(2025, 11, 31));
  assert.deepEqual(berlin.slice(1).map((s) => [new Date(s.fromMs).toISOString(), s.offsetMs / 60_000]), [
    ["2025-03-30T01:00:00.000Z", 120],
    ["2025-10-26T01:00:00.000Z", 60],
  ]);
  assert.equal(berlin[0].offsetMs, HOUR);
  const lordHowe = offsetSpans("Australia/Lord_Howe", Date.UTC(2025, 0, 1), Date.UTC(2025, 11, 31));
  assert.deepEqual(lordHowe.map((s) => s.offsetMs / 60_000), [660, 630, 660]);
  assert.deepEqual(offsetSpans("UTC", 0, Date.UTC(2030, 0, 1)).map((s) => s.offsetMs), [0]);
  assert.equal(zoneOffsetMs("Asia/Kathmandu", Date.UTC(2025, 5, 1)), (5 * 60 + 45) * 60_000);
});

Deno.test("periods in SQL match Intl's local dates for 5,000 instants in zones with DST, :30 and :45 offsets", () => {
  const db = new DatabaseSync(":memory:");
  db.exec("CREATE TABLE t(ms INTEGER)");
  const insert = db.prepare("INSERT INTO t VALUES (?)");
  let seed = 7;
  const rand = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
  const from = Date.UTC(2023, 0, 1);
  const to = Date.UTC(2026, 0, 1);
  const instants = Array.from({ length: 5000 }, () => from + Math.floor(rand() * (to - from)));
  // Plus the instants around each change, where a wrong offset shows first.
  for (const s of offsetSpans("America/New_York", from, to).slice(1)) instants.push(s.fromMs - 1, s.fromMs);
  for (const ms of instants) insert.run(ms);
  for (const zone of ["Europe/Berlin", "America/New_York", "Asia/Kathmandu", "Australia/Lord_Howe", "America/Havana"]) {
    const spans = offsetSpans(zone, from, to);
    const rows = db.prepare(
      `SELECT ms, ${periodSql("day", "ms", spans)} AS day, ${periodSql("week", "ms", spans)} AS week,
         ${periodSql("month", "ms", spans)} AS month FROM t`,
    ).all() as { ms: number; day: string; week: string; month: string }[];
    for (const row of rows) {
      const expected = localDate(zone, row.ms);
      assert.equal(row.day, expected, `${zone} ${new Date(row.ms).toISOString()}`);
      assert.equal(row.month, expected.slice(0, 7));
      const weekday = new Date(`${expected}T00:00:00Z`).getUTCDay(); // 0 = Sunday
      const monday = new Date(Date.parse(`${expected}T00:00:00Z`) - ((weekday + 6) % 7) * 86_400_000);
      assert.equal(row.week, monday.toISOString().slice(0, 10), `${zone} week of ${expected}`);
    }
  }
  db.close();
});

Deno.test("cost report by day, week, month: exact for runs years apart, around changes; fast with a start in year 9999", () => {
  const tmp = tempDir("pflow-ledger-zones-test-");
  try {
    const { store } = LedgerStore.open(tmp.path);
    try {
      // Runs years apart, each side of New York's and Berlin's changes, and two at the end of year 9999.
      const ny = (y: number) => offsetSpans("America/New_York", Date.UTC(y, 0, 1), Date.UTC(y, 11, 31)).slice(1);
      const berlin = offsetSpans("Europe/Berlin", Date.UTC(2031, 0, 1), Date.UTC(2031, 11, 31)).slice(1);
      const instants = [
        Date.UTC(1975, 5, 1, 3, 30),
        ...[...ny(2019), ...ny(2023), ...berlin].flatMap((change) => [change.fromMs - 1, change.fromMs]),
        Date.UTC(2026, 0, 1, 4, 59),
        Date.UTC(9999, 11, 31, 4, 59, 59, 999),
        Date.UTC(9999, 11, 31, 5),
        // Every hour of a winter and a summer day of some of those years: an offset wrong by an hour shows.
        ...[1975, 2023, 2031, 9999].flatMap((y) =>
          Array.from({ length: 24 }, (_, h) => [Date.UTC(y, 0, 15, h, 30), Date.UTC(y, 6, 15, h, 30)]).flat()
        ),
      ];
      store.write(() => {
        instants.forEach((ms, i) => {
          const run = start(`run-${i}`, { startedMs: ms });
          const id = store.startRun(run);
          // Every other run makes a call (its usage row is labelled), the rest none (their run row is).
          if (i % 2 === 0) {
            store.addCall(id, run, {
              phase: "workflow",
              node: "n",
              nodeExecution: 0,
              itemIndex: null,
              provider: "openai",
              model: "openai/gpt-4o-mini",
              priceModel: "openai/gpt-4o-mini",
              responseModel: null,
              inputTokens: 10,
              cacheReadTokens: 0,
              cacheWrite5mTokens: 0,
              cacheWrite1hTokens: 0,
              outputTokens: 1,
              reasoningTokens: 0,
              costUsd: 0.0001,
              reportedCostUsd: null,
              priceVersion: "2025-11-15",
              durationMs: 10,
              ttftMs: null,
              requestId: null,
              status: "ok",
              errorType: null,
              startOffsetMs: 0,
              ...callFirsts(new Set(), { phase: "workflow", node: "n", model: "openai/gpt-4o-mini", nodeExecution: 0 }),
            });
          }
          store.endRun({ ...run, ...END, endedMs: ms + 1000 });
        });
      });
      const label = (zone: string, period: "day" | "week" | "month", ms: number) => {
        const day = localDate(zone, ms);
        if (period === "month") return day.slice(0, 7);
        if (period === "day") return day;
        const weekday = new Date(`${day}T00:00:00Z`).getUTCDay();
        return new Date(Date.parse(`${day}T00:00:00Z`) - ((weekday + 6) % 7) * 86_400_000).toISOString().slice(0, 10);
      };
      const expected = (zone: string, period: "day" | "week" | "month", from = -Infinity, to = Infinity) => {
        const counts = new Map<string, number>();
        for (const ms of instants.filter((ms) => ms >= from && ms <= to)) {
          const key = label(zone, period, ms);
          counts.set(key, (counts.get(key) ?? 0) + 1);
        }
        return [...counts].sort(([a], [b]) => (a < b ? -1 : 1));
      };
      for (const zone of ["America/New_York", "Europe/Berlin", "Australia/Lord_Howe"]) {
        for (const period of ["day", "week", "month"] as const) {
          const started = performance.now();
          const report = costReport(store.db, { groupBy: period, filters: {}, timezone: zone });
          const ms = performance.now() - started;
          assert.ok(ms < 2000, `${zone} by ${period}: ${ms.toFixed(0)} ms`);
          assert.deepEqual(report.rows.map((r) => [r.group, r.runs]), expected(zone, period), `${zone} by ${period}`);
        }
        const sinceMs = Date.UTC(2019, 5, 1);
        const untilMs = Date.UTC(2031, 5, 1);
        const bounded = costReport(store.db, { groupBy: "day", filters: { sinceMs, untilMs }, timezone: zone });
        assert.deepEqual(bounded.rows.map((r) => [r.group, r.runs]), expected(zone, "day", sinceMs, untilMs), zone);
      }
    } finally {
      store.close();
    }
  } finally {
    tmp.cleanup();
  }
});

Deno.test("a local day's first instant, where midnight exists twice, once or not at all", () => {
  assert.equal(new Date(startOfLocalDay("Asia/Tokyo", "2025-03-12")).toISOString(), "2025-03-11T15:00:00.000Z");
  assert.equal(new Date(startOfLocalDay("Europe/Berlin", "2025-03-30")).toISOString(), "2025-03-29T23:00:00.000Z");
  assert.equal(new Date(startOfLocalDay("Europe/Berlin", "2025-03-31")).toISOString(), "2025-03-30T22:00:00.000Z");
  // Havana and Santiago move their clocks at midnight: those days begin at 01:00.
  assert.equal(new Date(startOfLocalDay("America/Havana", "2025-03-09")).toISOString(), "2025-03-09T05:00:00.000Z");
  assert.equal(new Date(startOfLocalDay("America/Santiago", "2025-09-07")).toISOString(), "2025-09-07T04:00:00.000Z");
  assert.equal(localDate("America/Santiago", startOfLocalDay("America/Santiago", "2025-09-07") - 1), "2025-09-06");
  assert.equal(new Date(startOfLocalDay("Asia/Kathmandu", "2025-01-01")).toISOString(), "2024-12-31T18:15:00.000Z");
});

Deno.test("--since/--until: dates in both forms, relative times, and one clear error otherwise", () => {
  const now = Date.UTC(2025, 5, 15, 12);
  const zone = "Europe/Berlin";
  assert.equal(parseBound("2025-06-01", { flag: "since", zone, nowMs: now }), Date.UTC(2025, 4, 31, 22));
  assert.equal(parseBound("20250601", { flag: "since", zone, nowMs: now }), Date.UTC(2025, 4, 31, 22));
  assert.equal(parseBound("2025-06-01", { flag: "until", zone, nowMs: now }), Date.UTC(2025, 5, 1, 22) - 1);
  // The last date there is: until its end (there is no next date to start).
  for (const text of ["9999-12-31", "99991231"]) {
    assert.equal(parseBound(text, { flag: "until", zone, nowMs: now }), Date.UTC(9999, 11, 31, 23) - 1);
    assert.equal(parseBound(text, { flag: "until", zone: "UTC", nowMs: now }), Date.UTC(9999, 11, 31, 24) - 1);
  }
  assert.equal(parseBound("24h", { flag: "since", zone, nowMs: now }), now - 24 * HOUR);
  assert.equal(parseBound("7d", { flag: "since", zone, nowMs: now }), now - 7 * 24 * HOUR);
  assert.equal(parseBound("4w", { flag: "until", zone, nowMs: now }), now - 28 * 24 * HOUR);
  assert.equal(parseBound("30m", { flag: "since", zone, nowMs: now }), now - 30 * 60_000);
  assert.equal(parseBound("1.5h", { flag: "since", zone, nowMs: now }), now - 90 * 60_000);
  // A date and time is local in the zone (summer: +02:00) unless it names its own offset.
  assert.equal(parseBound("2025-06-01T10:30", { flag: "since", zone, nowMs: now }), Date.UTC(2025, 5, 1, 8, 30));
  assert.equal(parseBound("2025-06-01 10:30:15", { flag: "until", zone, nowMs: now }), Date.UTC(2025, 5, 1, 8, 30, 15));
  assert.equal(parseBound("2025-01-01T10:30", { flag: "since", zone, nowMs: now }), Date.UTC(2025, 0, 1, 9, 30));
  assert.equal(parseBound("2025-06-01T10:30Z", { flag: "since", zone, nowMs: now }), Date.UTC(2025, 5, 1, 10, 30));
  assert.equal(parseBound("2025-06-01T10:30-05:00", { flag: "since", zone, nowMs: now }), Date.UTC(2025, 5, 1, 15, 30));
  // Across DST: 02:30 on 2025-03-30 does not exist in Berlin (taken at +01:00); on 2025-10-26 it happens twice (the first).
  assert.equal(parseBound("2025-03-30T02:30", { flag: "since", zone, nowMs: now }), Date.UTC(2025, 2, 30, 1, 30));
  assert.equal(parseBound("2025-10-26T02:30", { flag: "since", zone, nowMs: now }), Date.UTC(2025, 9, 26, 0, 30));
  assert.equal(parseBound("2025-10-26T03:30", { flag: "since", zone, nowMs: now }), Date.UTC(2025, 9, 26, 2, 30));
  for (
    const bad of [
      "2025-6-1",
      "2025-13-01",
      "2025-02-29",
      "202506-01",
      "7x",
      "-7d",
      "",
      "yesterday",
      "2025-02-29T10:00",
      "2025-06-01T24:00",
      "2025-06-01T10:60",
      "2025-06-01T10",
    ]
  ) {
    assert.throws(() => parseBound(bad, { flag: "since", zone, nowMs: now }), DateBoundError, bad);
  }
  assert.throws(
    () => parseBound("2025-02-29", { flag: "until", zone, nowMs: now }),
    /--until: '2025-02-29' is not a calendar date/,
  );
});

Deno.test("--model matching: provider optional, dated snapshots, routes, aliases, provider/*, nothing looser", async () => {
  const table = await loadShippedPriceTable();
  const known = [
    "anthropic/claude-sonnet-4-5",
    "anthropic/claude-sonnet-4-5-20250929",
    "anthropic/claude-haiku-4-5",
    "openrouter/anthropic/claude-sonnet-4-5",
    "openrouter/anthropic/claude-sonnet-4.5",
    "openai/gpt-4o",
    "openai/gpt-4o-mini",
    "local/llama",
  ];
  const match = (q: string) => matchModels(q, known, table).sort();
  const sonnets = [
    "anthropic/claude-sonnet-4-5",
    "anthropic/claude-sonnet-4-5-20250929",
    // OpenRouter's spelling of the same model: priced by the same entry, so named by every name of it.
    "openrouter/anthropic/claude-sonnet-4.5",
  ];
  assert.deepEqual(match("anthropic/claude-sonnet-4-5"), [...sonnets, "openrouter/anthropic/claude-sonnet-4-5"].sort());
  assert.deepEqual(match("claude-sonnet-4-5"), [...sonnets, "openrouter/anthropic/claude-sonnet-4-5"].sort());
  assert.deepEqual(match("anthropic/claude-sonnet-4-5-20250929"), ["anthropic/claude-sonnet-4-5-20250929"]);
  assert.deepEqual(match("anthropic/sonnet"), [...sonnets, "openrouter/anthropic/claude-sonnet-4-5"].sort());
  assert.deepEqual(match("anthropic/claude-sonnet-4.5"), [...sonnets, "openrouter/anthropic/claude-sonnet-4-5"].sort());
  assert.deepEqual(match("Claude-Haiku-4-5"), ["anthropic/claude-haiku-4-5"]);
  assert.deepEqual(match("gpt-4o"), ["openai/gpt-4o"], "gpt-4o is not a prefix of gpt-4o-mini");
  assert.deepEqual(match("openai/*"), ["openai/gpt-4o", "openai/gpt-4o-mini"]);
  assert.deepEqual(match("local/"), ["local/llama"]);
  assert.deepEqual(match("claude"), []);
  assert.deepEqual(match("mistral/large"), []);
});

/** A run start for tests. */
function start(id: string, overrides: Partial<RunStart> = {}): RunStart {
  return {
    executionId: id,
    traceId: null,
    kind: "workflow",
    workflowName: "wf",
    workflowFile: "/x/wf.json",
    workflowHash: null,
    savedName: null,
    startedMs: Date.UTC(2025, 0, 2, 10),
    pflowVersion: "0.1.0",
    ...overrides,
  };
}

const END = {
  status: "success" as const,
  subtype: "success",
  endedMs: Date.UTC(2025, 0, 2, 10, 1),
  durationMs: 60_000,
  nodesExecuted: 2,
  traceFile: null,
  priceVersion: "2025-11-15",
  priceSource: "builtin",
  pricingComplete: true,
};

/** A finished call as RunTelemetry hands it to sinks. */
function record(model: string, cost: number | null, extra: Partial<LlmCallRecord> = {}): LlmCallRecord {
  return {
    node_id: "n",
    node_execution: 0,
    item_index: null,
    usage: {
      provider: model.split("/")[0],
      model,
      response_model: null,
      input_tokens: 100,
      cache_read_tokens: 10,
      cache_write_tokens: 5,
      cache_write_5m_tokens: 5,
      cache_write_1h_tokens: 0,
      output_tokens: 20,
      reasoning_tokens: 3,
      request_id: "req_1",
      duration_ms: 250,
      raw: null,
    },
    cost_usd: cost,
    reported_cost_usd: null,
    price_key: cost === null ? null : model,
    start_ms: 1,
    phase: "workflow",
    status: "ok",
    ...extra,
  };
}

Deno.test("the inbox: folded once, a partial line waits, a bad line is skipped with a warning, rotation re-folds", () => {
  const tmp = tempDir("pflow-inbox-test-");
  try {
    const home = tmp.path;
    const applied: InboxEntry[] = [];
    let offset = 0;
    const target = {
      offset: () => offset,
      setOffset: (o: number) => offset = o,
      apply: (e: InboxEntry) => applied.push(e),
    };
    appendInbox(home, { v: 1, op: "start", run: start("r1") });
    appendInbox(home, { v: 1, op: "end", run: { ...start("r1"), ...END } });
    writeFileSync(
      inboxFile(home),
      `${readFileSync(inboxFile(home), "utf8")}not json\n{"v":1,"op":"start","run":{"exec`,
    );
    const warnings = foldInbox(home, target);
    assert.deepEqual(applied.map((e) => [e.op, e.run.executionId]), [["start", "r1"], ["end", "r1"]]);
    assert.equal(warnings.length, 1);
    assert.match(
      warnings[0],
      /ledger-inbox\.jsonl:3: skipped a line that is not a ledger entry \(not JSON\): not json$/,
    );
    assert.deepEqual(foldInbox(home, target), [], "nothing new");
    assert.equal(applied.length, 2);
    // The writer finishes its line: it is folded next time.
    writeFileSync(
      inboxFile(home),
      `${readFileSync(inboxFile(home), "utf8")}utionId":"r2","workflowName":"wf","startedMs":1}}\n`,
    );
    foldInbox(home, target, { rotateBytes: 100 });
    assert.deepEqual(applied.map((e) => e.run.executionId), ["r1", "r1", "r2"]);
    assert.equal(existsSync(inboxFile(home)), false, "rotated");
    assert.equal(offset, 0);
    // A line that reached the rotated file late is folded with it, then the old file goes.
    writeFileSync(`${inboxFile(home)}.old`, `${JSON.stringify({ v: 1, op: "start", run: start("late") })}\n`, {
      flag: "a",
    });
    foldInbox(home, target);
    assert.equal(applied.at(-1)!.run.executionId, "late");
    assert.equal(existsSync(`${inboxFile(home)}.old`), false);
  } finally {
    tmp.cleanup();
  }
});

Deno.test("the inbox: a half line left by a crash is ended before the next entry, which is folded", () => {
  const tmp = tempDir("pflow-inbox-test-");
  try {
    const home = tmp.path;
    const applied: InboxEntry[] = [];
    let offset = 0;
    const target = {
      offset: () => offset,
      setOffset: (o: number) => offset = o,
      apply: (e: InboxEntry) => applied.push(e),
    };
    appendInbox(home, { v: 1, op: "start", run: start("r1") });
    // A process died in the middle of its line.
    writeFileSync(inboxFile(home), '{"v":1,"op":"start","run":{"exec', { flag: "a" });
    appendInbox(home, { v: 1, op: "start", run: start("r2") });
    const warnings = foldInbox(home, target);
    assert.deepEqual(applied.map((e) => e.run.executionId), ["r1", "r2"]);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /ledger-inbox\.jsonl:2: skipped a line that is not a ledger entry \(not JSON\)/);
    assert.ok(readFileSync(inboxFile(home), "utf8").endsWith("\n"));
  } finally {
    tmp.cleanup();
  }
});

Deno.test("the inbox: bytes that are not UTF-8 are skipped once and do not move the fold's offset", () => {
  const tmp = tempDir("pflow-inbox-test-");
  try {
    const home = tmp.path;
    const applied: InboxEntry[] = [];
    let offset = 0;
    const target = {
      offset: () => offset,
      setOffset: (o: number) => offset = o,
      apply: (e: InboxEntry) => applied.push(e),
    };
    const good = new TextEncoder().encode(`${JSON.stringify({ v: 1, op: "start", run: start("r1") })}\n`);
    // Two bytes that are not UTF-8 (each decodes to U+FFFD, three bytes when encoded again), then a good line.
    writeFileSync(
      inboxFile(home),
      new Uint8Array([...new TextEncoder().encode("bad "), 0xff, 0xfe, 0x0a, ...good]),
    );
    const first = foldInbox(home, target);
    assert.equal(first.length, 1, first.join("\n"));
    assert.match(first[0], /ledger-inbox\.jsonl:1: skipped a line that is not a ledger entry \(not JSON\)/);
    assert.equal(offset, statSync(inboxFile(home)).size, "the offset is the bytes folded");
    appendInbox(home, { v: 1, op: "start", run: start("r2") });
    assert.deepEqual(foldInbox(home, target), [], "skipped for good: no second warning");
    assert.deepEqual(applied.map((e) => e.run.executionId), ["r1", "r2"], "the later entry is whole");
    assert.equal(offset, statSync(inboxFile(home)).size);
  } finally {
    tmp.cleanup();
  }
});

Deno.test("the inbox: every field is checked; a bad or refused entry is skipped naming its line, the rest folded", () => {
  const tmp = tempDir("pflow-inbox-test-");
  try {
    const home = tmp.path;
    const end = { ...start("e1"), ...END };
    const stat = { type: "echo", status: "success", executions: 1, timed: 0, durationMsSum: 0, buckets: [] };
    // A call the database did not take, carried by its run's end.
    const call = {
      phase: "workflow",
      node: "a",
      nodeExecution: 0,
      itemIndex: null,
      provider: "openai",
      model: "openai/gpt-4o-mini",
      priceModel: "openai/gpt-4o-mini",
      responseModel: null,
      inputTokens: 1000,
      cacheReadTokens: 0,
      cacheWrite5mTokens: 0,
      cacheWrite1hTokens: 0,
      outputTokens: 100,
      reasoningTokens: 0,
      costUsd: 0.00021,
      reportedCostUsd: null,
      usageMissing: false,
      priceVersion: "2025-11-15",
      durationMs: 12,
      ttftMs: null,
      requestId: null,
      status: "ok",
      errorType: null,
      startOffsetMs: 3,
    };
    const bad: [unknown, RegExp][] = [
      [{ v: 1, op: "end", run: { executionId: "y", startedMs: 1, workflowName: "w" } }, /\(status: not one of /],
      [{ v: 1, op: "start", run: { ...start("x"), startedMs: 1e300 } }, /\(startedMs: not a number from 0 to /],
      [{ v: 1, op: "start", run: { ...start("x"), startedMs: "1" } }, /\(startedMs: /],
      [{ v: 1, op: "start", run: { ...start("x"), workflowName: 7 } }, /\(workflowName: not a non-empty string\)/],
      [{ v: 1, op: "start", run: { ...start("x"), kind: "other" } }, /\(kind: /],
      [{ v: 1, op: "start", run: { ...start("x"), pid: -1 } }, /\(pid: /],
      [{ v: 1, op: "start", run: { ...start("x"), traceId: {} } }, /\(traceId: not a string or null\)/],
      [{ v: 1, op: "end", run: { ...end, nodesExecuted: 1.5 } }, /\(nodesExecuted: not an integer\)/],
      [{ v: 1, op: "end", run: { ...end, pricingComplete: "yes" } }, /\(pricingComplete: /],
      [{ v: 1, op: "end", run: { ...end, nodes: [{ ...stat, buckets: [-1] }] } }, /\(nodes\[0\]\.buckets: /],
      [{ v: 1, op: "end", run: end, calls: {} }, /\(calls: not a list\)/],
      [{ v: 1, op: "end", run: end, calls: [call, { ...call, inputTokens: -1 }] }, /\(calls\[1\]\.inputTokens: /],
      [{ v: 1, op: "end", run: end, calls: [{ ...call, phase: "x" }] }, /\(calls\[0\]\.phase: /],
      [{ v: 1, op: "end", run: end, calls: [{ ...call, usageMissing: 1 }] }, /\(calls\[0\]\.usageMissing: /],
      [{ v: 1, op: "start", run: null }, /\(run: not an object\)/],
      [{ v: 2, op: "start", run: start("x") }, /\(v: not 1\)/],
      [[1], /\(the line: not an object\)/],
      // Valid, but the database refuses it (two rows for one node type and status): rolled back alone.
      [
        { v: 1, op: "end", run: { ...start("dup"), ...END, nodes: [stat, stat] } },
        /skipped an entry the ledger refused \(UNIQUE constraint failed/,
      ],
    ];
    const good = [
      { v: 1, op: "start", run: start("g1") },
      { v: 1, op: "end", run: { ...start("g2"), ...END, nodes: [stat] } },
      { v: 1, op: "end", run: { ...start("g3"), ...END }, calls: [call, { ...call, node: "b" }] },
    ];
    const lines = [
      JSON.stringify(good[0]),
      ...bad.map(([entry]) => JSON.stringify(entry)),
      ...good.slice(1).map((g) => JSON.stringify(g)),
    ];
    writeFileSync(inboxFile(home), `${lines.join("\n")}\n`);
    const { store, warnings } = LedgerStore.open(home);
    try {
      assert.equal(warnings.length, bad.length, warnings.join("\n"));
      bad.forEach(([, pattern], i) => {
        assert.match(warnings[i], new RegExp(`^${inboxFile(home).replace(/[.]/g, "\\.")}:${i + 2}: skipped `));
        assert.match(warnings[i], pattern);
      });
      const runs = store.db.prepare("SELECT execution_id AS id, status FROM runs ORDER BY id").all();
      assert.deepEqual(runs.map((r) => [r.id, r.status]), [["g1", "running"], ["g2", "success"], ["g3", "success"]]);
      const g3 = store.db.prepare("SELECT llm_calls, input_tokens, cost_usd FROM runs WHERE execution_id = 'g3'").get();
      assert.deepEqual({ ...g3 }, { llm_calls: 2, input_tokens: 2000, cost_usd: 0.00042 });
      assert.equal((store.db.prepare("SELECT count(*) AS n FROM node_usage").get() as { n: number }).n, 1);
    } finally {
      store.close();
    }
    // Skipped for good: the next opening warns of nothing; a line appended later is numbered in the whole file.
    appendInbox(home, { v: 1, op: "start", run: { ...start("late"), startedMs: -5 } });
    const again = LedgerStore.open(home);
    assert.equal(again.warnings.length, 1);
    assert.match(again.warnings[0], new RegExp(`:${lines.length + 1}: skipped a line .*\\(startedMs: `));
    assert.equal(
      (again.store.db.prepare("SELECT count(*) AS n FROM calls").get() as { n: number }).n,
      2,
      "an end folded once adds its calls once",
    );
    again.store.close();
  } finally {
    tmp.cleanup();
  }
});

Deno.test("LedgerRun: planner and workflow sinks, a workflow named after planning, calls priced after the run", async () => {
  const tmp = tempDir("pflow-ledger-run-test-");
  try {
    const home = tmp.path;
    const warnings: string[] = [];
    const ledger = new LedgerRun({ home, warn: (m) => warnings.push(m) });
    ledger.begin(start("11111111-0000-4000-8000-000000000001", { kind: "planned", workflowName: "(planning)" }), {
      preload: true,
    });
    const planner = ledger.sink("planner", { priceVersion: () => "2025-11-15" });
    const workflowSink = ledger.sink("workflow", { priceVersion: () => "2025-11-15" });
    planner.llmCall!(record("anthropic/claude-sonnet-4-5", 0.01, { node_id: "plan", phase: "planner" }));
    ledger.describe({ workflowName: "summarize", workflowFile: "/plans/summarize.json" });
    const late = record("anthropic/claude-haiku-4-5", null);
    workflowSink.llmCall!(late);
    const failed = record("anthropic/claude-haiku-4-5", 0.002, {
      status: "error",
      error: { type: "LlmCallError", message: "HTTP 500" },
    });
    workflowSink.llmCall!(failed);
    // Prices arrive after the run (RunTelemetry.priceRecorded assigns them to the record).
    Object.assign(late, { cost_usd: 0.003, price_key: "anthropic/claude-haiku-4-5" });
    await ledger.finish({
      ...END,
      plannerPath: "generate",
      plannerTraceFile: "/debug/planner.json",
      durationPlannerMs: 900,
    });
    assert.deepEqual(warnings, []);
    const { store } = LedgerStore.open(home);
    try {
      const run = runCost(store.db, store.runId("11111111-0000-4000-8000-000000000001")!);
      assert.equal(run.run.kind, "planned");
      assert.equal(run.run.workflow, "summarize");
      assert.equal(run.run.workflow_file, "/plans/summarize.json");
      assert.equal(run.run.planner_path, "generate");
      assert.equal(run.run.planner_trace_file, "/debug/planner.json");
      assert.equal(run.run.duration_planner_ms, 900);
      assert.deepEqual(run.rows.map((r) => [r.phase, r.node, r.model, r.llm_calls]), [
        ["planner", "plan", "anthropic/claude-sonnet-4-5", 1],
        ["workflow", "n", "anthropic/claude-haiku-4-5", 2],
      ]);
      assert.ok(Math.abs(run.totals.cost_usd! - 0.015) < 1e-12, `total ${run.totals.cost_usd}`);
      assert.equal(run.totals.cost_complete, true, "the late price reached the ledger");
      const status = store.db.prepare("SELECT status, error_type, price_version FROM calls ORDER BY id").all();
      assert.deepEqual(status.map((r) => [r.status, r.error_type, r.price_version]), [
        [0, null, "2025-11-15"],
        [0, null, "2025-11-15"],
        [1, "LlmCallError", "2025-11-15"],
      ]);
      const byWorkflow = costReport(store.db, { groupBy: "workflow", filters: {}, timezone: "UTC" });
      assert.deepEqual(byWorkflow.rows.map((r) => [r.group, r.runs, r.llm_calls]), [["summarize", 1, 3]]);
      const planned = costReport(store.db, { groupBy: "node", filters: { phase: "planner" }, timezone: "UTC" });
      assert.deepEqual(planned.rows.map((r) => r.group), ["summarize/plan (planner)"]);
      const row = store.db.prepare("SELECT llm_calls, unpriced_calls, status FROM runs").get();
      assert.deepEqual({ ...row }, { llm_calls: 3, unpriced_calls: 0, status: "success" });
    } finally {
      store.close();
    }
  } finally {
    tmp.cleanup();
  }
});

Deno.test("LedgerRun: a call without usage priced after the run keeps no cost: usage missing, not $0, not unpriced", async () => {
  const tmp = tempDir("pflow-ledger-run-test-");
  try {
    const home = tmp.path;
    const ledger = new LedgerRun({ home, warn: (m) => assert.fail(m) });
    ledger.begin(start("33333333-0000-4000-8000-000000000003"), { preload: true });
    const sink = ledger.sink("workflow", { priceVersion: () => "2025-11-15" });
    const silent = record("anthropic/claude-haiku-4-5", null);
    silent.usage = { ...silent.usage, input_tokens: 0, cache_read_tokens: 0, output_tokens: 0, usage_missing: true };
    sink.llmCall!(silent);
    sink.llmCall!(record("anthropic/claude-haiku-4-5", 0.002));
    // Written unpriced (the database code loads in the background; the file appears with the first write) …
    for (let i = 0; i < 500 && !existsSync(join(home, "ledger.db")); i++) await new Promise((r) => setTimeout(r, 10));
    // … then prices arrive after the run: RunTelemetry.priceRecorded finds the price's key, and no cost.
    Object.assign(silent, priceCall(await loadShippedPriceTable(), silent.usage));
    assert.deepEqual([silent.cost_usd, silent.price_key], [null, "anthropic/claude-haiku-4-5"]);
    await ledger.finish(END);
    const { store } = LedgerStore.open(home);
    try {
      const calls = store.db.prepare(
        "SELECT cost_usd, price_model IS NOT NULL AS keyed, usage_missing FROM calls ORDER BY id",
      )
        .all().map((r) => [r.cost_usd, r.keyed, r.usage_missing]);
      assert.deepEqual(calls, [[null, 1, 1], [0.002, 1, 0]]);
      const report = costReport(store.db, { groupBy: "model", filters: {}, timezone: "UTC" });
      const t = report.totals;
      assert.deepEqual([t.cost_usd, t.cost_complete, t.unpriced_calls, t.usage_missing_calls], [0.002, false, 0, 1]);
      assert.deepEqual(report.unpriced_models, []);
      assert.deepEqual(report.usage_missing_models, [{ model: "anthropic/claude-haiku-4-5", calls: 1 }]);
    } finally {
      store.close();
    }
  } finally {
    tmp.cleanup();
  }
});

Deno.test("LedgerRun: a ledger that cannot be written is one warning, and the run goes on", async () => {
  const tmp = tempDir("pflow-ledger-run-test-");
  try {
    writeFileSync(join(tmp.path, "ledger.db"), "x".repeat(200));
    const warnings: string[] = [];
    const ledger = new LedgerRun({ home: tmp.path, warn: (m) => warnings.push(m) });
    ledger.begin(start("22222222-0000-4000-8000-000000000002"), { preload: true });
    const sink = ledger.sink("workflow");
    sink.llmCall!(record("anthropic/claude-haiku-4-5", 0.001));
    await new Promise((resolve) => setTimeout(resolve, 50));
    sink.llmCall!(record("anthropic/claude-haiku-4-5", 0.001));
    await ledger.finish(END);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /^ledger: .*ledger\.db: not a readable ledger .*; this run is not \(fully\) recorded$/);
    assert.equal(readFileSync(join(tmp.path, "ledger.db"), "utf8"), "x".repeat(200), "the file is left alone");
  } finally {
    tmp.cleanup();
  }
});

Deno.test("LedgerRun: an inbox that cannot take the start line holds up no run: the database records it", async () => {
  const tmp = tempDir("pflow-ledger-run-test-");
  try {
    const home = tmp.path;
    mkdirSync(inboxFile(home)); // a directory in the inbox's place: no line can be appended, none read
    const warnings: string[] = [];
    const ledger = new LedgerRun({ home, warn: (m) => warnings.push(m) });
    const id = "44444444-0000-4000-8000-000000000004";
    ledger.begin(start(id), { preload: true });
    const sink = ledger.sink("workflow", { priceVersion: () => "2025-11-15" });
    sink.llmCall!(record("anthropic/claude-haiku-4-5", 0.001));
    await new Promise((resolve) => setTimeout(resolve, 50));
    sink.llmCall!(record("anthropic/claude-haiku-4-5", 0.002));
    await ledger.finish(END);
    assert.equal(warnings.length, 1, warnings.join("\n"));
    assert.match(
      warnings[0],
      /^ledger: the inbox .*ledger-inbox\.jsonl: it is a directory, not a regular file; .*not folded/,
    );
    const db = new DatabaseSync(join(home, "ledger.db"));
    try {
      const run = db.prepare("SELECT status, llm_calls, cost_usd FROM runs WHERE execution_id = ?").get(id);
      assert.deepEqual({ ...run }, { status: "success", llm_calls: 2, cost_usd: 0.003 });
    } finally {
      db.close();
    }
  } finally {
    tmp.cleanup();
  }
});

Deno.test("report and run totals are sums at the precision costs are reported with (0.1 + 0.2 is 0.3)", async () => {
  const tmp = tempDir("pflow-ledger-sum-test-");
  try {
    const home = tmp.path;
    const ids = ["11111111-0000-4000-8000-0000000000a1", "11111111-0000-4000-8000-0000000000a2"];
    for (const [i, id] of ids.entries()) {
      const ledger = new LedgerRun({ home, warn: (m) => assert.fail(m) });
      ledger.begin(start(id, { workflowName: `wf${i}`, startedMs: Date.UTC(2025, 0, 2, 10, i) }), { preload: true });
      const sink = ledger.sink("workflow", { priceVersion: () => "2025-11-15" });
      sink.llmCall!(record("anthropic/claude-sonnet-4-5", 0.1));
      sink.llmCall!(record("anthropic/claude-haiku-4-5", 0.2, { node_id: "m" }));
      await ledger.finish(END);
    }
    const { store } = LedgerStore.open(home);
    try {
      assert.equal(0.1 + 0.2, 0.30000000000000004, "the float sum this test is about");
      assert.equal(runCost(store.db, store.runId(ids[0])!).totals.cost_usd, 0.3);
      for (const groupBy of ["workflow", "model", "node", "run", "day"] as const) {
        const report = costReport(store.db, { groupBy, filters: {}, timezone: "UTC" });
        assert.equal(report.totals.cost_usd, 0.6, `--by ${groupBy}: total`);
        for (const row of report.rows) {
          assert.equal(row.cost_usd, Math.round(row.cost_usd! * 1e10) / 1e10, `--by ${groupBy}: ${row.group}`);
        }
      }
      const byRun = costReport(store.db, { groupBy: "run", filters: {}, timezone: "UTC" });
      assert.deepEqual(byRun.rows.map((r) => r.cost_usd), [0.3, 0.3]);
    } finally {
      store.close();
    }
  } finally {
    tmp.cleanup();
  }
});

/** A database whose statements count how often they are run (get, all, iterate). */
function countingDb(db: DatabaseSync): { db: DatabaseSync; runs: () => number } {
  let runs = 0;
  const counted = new Proxy(db, {
    get(target, prop) {
      if (prop !== "prepare") return Reflect.get(target, prop);
      return (sql: string) => {
        const statement = target.prepare(sql);
        return new Proxy(statement, {
          get(st, name) {
            const value = Reflect.get(st, name);
            if (typeof value !== "function") return value;
            return (...args: unknown[]) => {
              if (name === "get" || name === "all" || name === "iterate") runs++;
              return value.apply(st, args);
            };
          },
        });
      };
    },
  });
  return { db: counted, runs: () => runs };
}

Deno.test("cost report --by run: the same number of queries for 10 runs as for 400; per-model rows only when asked", () => {
  const tmp = tempDir("pflow-ledger-scale-test-");
  try {
    const home = tmp.path;
    const { store } = LedgerStore.open(home);
    try {
      const models = ["anthropic/claude-haiku-4-5", "openai/gpt-4o-mini"];
      const write = (from: number, count: number) =>
        store.write(() => {
          for (let r = from; r < from + count; r++) {
            // Started in reverse order of their rows: the report lists them by start.
            const run = start(`run-${String(r).padStart(4, "0")}`, { startedMs: Date.UTC(2025, 0, 2) - r * 60_000 });
            const id = store.startRun(run);
            const seen = new Set<string>();
            for (const [c, model] of [...models, models[0]].entries()) {
              const call: CallRow = {
                phase: "workflow",
                node: "n",
                nodeExecution: 0,
                itemIndex: c,
                provider: model.split("/")[0],
                model,
                priceModel: model,
                responseModel: null,
                inputTokens: 100,
                cacheReadTokens: 0,
                cacheWrite5mTokens: 0,
                cacheWrite1hTokens: 0,
                outputTokens: 10,
                reasoningTokens: 0,
                costUsd: model === models[0] ? 0.0002 : 0.00001,
                reportedCostUsd: null,
                priceVersion: "2025-11-15",
                durationMs: 100,
                ttftMs: null,
                requestId: null,
                status: "ok",
                errorType: null,
                startOffsetMs: 0,
                ...callFirsts(seen, { phase: "workflow", node: "n", model, nodeExecution: 0 }),
              };
              store.addCall(id, run, call);
            }
            store.endRun({ ...run, ...END });
          }
          // A run without calls is a row too.
          store.endRun({ ...start(`none-${from}`, { startedMs: Date.UTC(2025, 0, 3) + from }), ...END });
        });
      const queries = () => {
        const counting = countingDb(store.db);
        const report = costReport(counting.db, { groupBy: "run", filters: {}, timezone: "UTC" });
        return { report, runs: counting.runs() };
      };
      write(0, 10);
      const small = queries();
      write(10, 390);
      const big = queries();
      assert.equal(big.report.rows.length, 402);
      assert.equal(big.runs, small.runs, "queries do not grow with the runs");
      const starts = big.report.rows.map((r) => r.started_at!);
      assert.deepEqual(starts, [...starts].sort(), "in start order");
      const row = big.report.rows.find((r) => r.execution_id === "run-0007")!;
      assert.deepEqual([row.llm_calls, row.cost_usd, row.models, row.breakdown], [3, 0.00041, models, undefined]);
      const broken = costReport(store.db, { groupBy: "run", filters: {}, timezone: "UTC", breakdown: true });
      const same = broken.rows.find((r) => r.execution_id === "run-0007")!;
      assert.deepEqual(same.breakdown!.map((b) => [b.group, b.llm_calls, b.cost_usd]), [
        [models[0], 2, 0.0004],
        [models[1], 1, 0.00001],
      ]);
      assert.deepEqual({ ...same, breakdown: undefined }, { ...row, breakdown: undefined });
    } finally {
      store.close();
    }
  } finally {
    tmp.cleanup();
  }
});

Deno.test("renderTable: 300,000 rows render (no spread of every row into one call)", () => {
  const rows = Array.from({ length: 300_000 }, (_, i) => [String(i), "x"]);
  const text = renderTable([{ header: "N", align: "right" }, { header: "X" }], rows);
  assert.equal(text.split("\n").length, 300_002);
  assert.equal(text.slice(0, 20), "     N  X\n     0  x\n");
});

Deno.test("localDateTime: its known-offset window gives every instant its exact local time across DST changes, in order and back", () => {
  const zone = "Europe/Berlin";
  // Every 20 minutes across the spring and autumn changes of 2025, in order (as a report lists runs), then back.
  const from = Date.UTC(2025, 2, 29, 12);
  const instants = Array.from({ length: 2 * 72 }, (_, i) => from + i * 20 * 60_000);
  const autumn = Array.from({ length: 2 * 72 }, (_, i) => Date.UTC(2025, 9, 25, 12) + i * 20 * 60_000);
  for (const ms of [...instants, ...autumn, ...instants.reverse()]) {
    const expected = new Date(ms + zoneOffsetMs(zone, ms)).toISOString().slice(0, 16).replace("T", " ");
    assert.equal(localDateTime(zone, ms), expected, new Date(ms).toISOString());
  }
  assert.equal(localDateTime(zone, Date.UTC(2025, 2, 30, 0, 59)), "2025-03-30 01:59");
  assert.equal(localDateTime(zone, Date.UTC(2025, 2, 30, 1, 0)), "2025-03-30 03:00");
});
