/**
 * Traces at scale, through the compiled binary: `trace list` reads only the
 * header and footer of each file, `trace show` refuses non-regular files,
 * list filters, execution ids (and prefixes) as trace names, and
 * `trace prune` with the automatic pruning of `trace.keep_days`.
 * @module
 */
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import {
  closeSync,
  existsSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  utimesSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { formatTraceFile, type TraceDocument } from "../src/observability/trace_format.ts";
import { traceDoc, traceEvent } from "./support/trace_docs.ts";
import { PFLOW_BIN, runPflow, workflow, writeWorkflow } from "./support/cli.ts";
import { assertExit, explain, oneJson, runGuarded, waitFor, withHome } from "./support/e2e.ts";

const DAY = 86_400_000;

/** A trace document: `id8` names the execution, `startMs` its start. */
function doc(
  id8: string,
  options: { name?: string; startMs?: number; status?: string; events?: number; kind?: string } = {},
): TraceDocument {
  return traceDoc(id8, { startMs: options.startMs ?? Date.now() - 60_000, events: options.events }, {
    kind: (options.kind ?? "workflow") as TraceDocument["kind"],
    workflow_name: options.name ?? "report",
    final_status: (options.status ?? "success") as TraceDocument["final_status"],
    nodes_failed: options.status === "failed" ? 1 : 0,
  });
}

/** The writer's file name for a document. */
function fileName(d: TraceDocument): string {
  const stamp = d.start_time.replace(/[-:]/g, "").replace("T", "-").slice(0, 15);
  return `${d.kind}-trace-${d.workflow_name}-${stamp}-${d.execution_id.slice(0, 8)}.json`;
}

/** Writes `d` (or `text`) into PFLOW_HOME/debug with its mtime at its start; returns the path. */
function writeTrace(home: string, d: TraceDocument, text = formatTraceFile(d)): string {
  const dir = join(home, "debug");
  mkdirSync(dir, { recursive: true });
  const path = join(dir, fileName(d));
  writeFileSync(path, text);
  const when = new Date(d.start_time);
  utimesSync(path, when, when);
  return path;
}

/**
 * A trace of `holeBytes` whose events region is a sparse hole (zero bytes):
 * only the header line and the last line are real. Reading it whole would
 * take `holeBytes` of memory.
 */
function sparseTrace(home: string, d: TraceDocument, holeBytes: number, lastLine: string): string {
  const text = formatTraceFile({ ...d, events: [] }, { complete: false });
  const path = writeTrace(home, d, text);
  const fd = openSync(path, "r+");
  try {
    ftruncateSync(fd, text.length + holeBytes);
    const tail = new TextEncoder().encode(`\n${lastLine}\n`);
    writeSync(fd, tail, 0, tail.length, text.length + holeBytes);
  } finally {
    closeSync(fd);
  }
  return path;
}

function footerLine(d: TraceDocument): string {
  const full = formatTraceFile(d).trimEnd();
  return full.slice(full.lastIndexOf("\n") + 1);
}

// ---------------------------------------------------------------- list reads header and footer only

Deno.test("trace list reads a trace's header and footer only: a 20 GB file lists at once", async () => {
  await withHome(async (_dir, env) => {
    const complete = doc("aaaaaaaa", { name: "huge", status: "failed", events: 7 });
    const huge = sparseTrace(env.PFLOW_HOME, complete, 20 * 1024 ** 3, footerLine(complete));
    const crashed = doc("cccccccc", { name: "crashed", startMs: Date.now() - 120_000 });
    const lastEvent = `,${
      JSON.stringify(traceEvent({ index: 41, node_id: "n41", start_offset_ms: 5000, duration_ms: 250 }))
    }`;
    const crashedPath = sparseTrace(env.PFLOW_HOME, crashed, 20 * 1024 ** 3, lastEvent);
    const json = await runGuarded(["trace", "list", "--json"], { env, guardMs: 20_000 });
    assertExit(json, 0);
    const [a, b] = JSON.parse(json.stdout);
    assert.deepEqual(
      [a.path, a.final_status, a.nodes_executed, a.duration_ms, a.workflow_name],
      [huge, "failed", 7, 100, "huge"],
    );
    assert.deepEqual(
      [b.path, b.final_status, b.nodes_executed, b.total_cost_usd],
      [crashedPath, "incomplete", 42, null],
      "a crashed trace is counted from its last event's index; its cost is unknown",
    );
    const text = await runGuarded(["trace", "list"], { env, guardMs: 20_000 });
    assertExit(text, 0);
    const row = text.stdout.split("\n").find((l) => l.includes("crashed"))!;
    assert.match(row, /… incomplete\s+≥5\.25s\s+\?\s+42\s/, row);
  });
});

Deno.test("trace show refuses a device or a FIFO instead of reading it for ever", async () => {
  await withHome(async (dir, env) => {
    const fifo = join(dir, "pipe.json");
    execFileSync("mkfifo", [fifo]);
    const kinds = [["/dev/zero", "a character device"], [fifo, "a named pipe (FIFO)"]];
    for (const [target, kind] of kinds) {
      for (const command of [["trace", "show", target], ["trace", "export", target, "--format", "otlp-json"]]) {
        const result = await runGuarded(command, { env, guardMs: 10_000 });
        assertExit(result, 2);
        assert.ok(
          result.stderr.includes(`error: ${target}: it is ${kind}, not a regular file; give a trace file`),
          explain(result),
        );
      }
    }
  });
});

// ---------------------------------------------------------------- filters

Deno.test("trace list --workflow, --since and --status choose traces; bad values exit 2", async () => {
  await withHome(async (_dir, env) => {
    const now = Date.now();
    const home = env.PFLOW_HOME;
    writeTrace(home, doc("00000001", { name: "report", startMs: now - 10 * DAY }));
    writeTrace(home, doc("00000002", { name: "report", startMs: now - 2 * 3_600_000, status: "failed" }));
    writeTrace(home, doc("00000003", { name: "digest", startMs: now - 30 * 60_000, status: "interrupted" }));
    const partial = doc("00000004", { name: "digest", startMs: now - 5 * 60_000 });
    const partialText = formatTraceFile(partial, { complete: false });
    const partialPath = writeTrace(home, partial, partialText).replace(/\.json$/, ".partial.json");
    writeFileSync(partialPath, partialText);
    const ids = async (...args: string[]) => {
      const result = await runPflow(["trace", "list", "--json", ...args], { env });
      assertExit(result, 0);
      return JSON.parse(result.stdout).map((e: { execution_id: string | null }) => e.execution_id?.slice(0, 8));
    };
    assert.deepEqual(await ids(), ["00000004", "00000004", "00000003", "00000002", "00000001"]);
    assert.deepEqual(await ids("--workflow", "report"), ["00000002", "00000001"]);
    assert.deepEqual(await ids("--since", "3h"), ["00000004", "00000004", "00000003", "00000002"]);
    assert.deepEqual(await ids("--since", "1h", "--workflow", "digest"), ["00000004", "00000004", "00000003"]);
    const sinceDate = new Date(now - 3 * DAY);
    const day = `${sinceDate.getFullYear()}-${String(sinceDate.getMonth() + 1).padStart(2, "0")}-${
      String(sinceDate.getDate()).padStart(2, "0")
    }`;
    assert.deepEqual(await ids("--since", day, "--workflow", "report"), ["00000002"]);
    assert.deepEqual(await ids("--status", "failed,interrupted"), ["00000003", "00000002"]);
    assert.deepEqual(await ids("--status", "failed,success"), ["00000002", "00000001"]);
    assert.deepEqual(await ids("--status", "partial"), ["00000004"]);
    assert.deepEqual(await ids("--status", "incomplete"), ["00000004", "00000004"]);
    assert.deepEqual(await ids("--status", "success", "--limit", "1"), ["00000001"]);
    const none = await runPflow(["trace", "list", "--workflow", "nope"], { env });
    assertExit(none, 0);
    assert.equal(none.stdout, "");
    assert.match(none.stderr, /No trace of the 5 in .* matches the filters\./);
    for (
      const [args, message] of [
        [["--since", "yesterday"], /--since must be a time ago \(30m, 24h, 7d, 4w\), a date/],
        [["--since", "2025-02-30"], /--since: '2025-02-30' is not a calendar date/],
        [["--since", "2026-02-31T10:00"], /--since: '2026-02-31T10:00' is not a date and time/],
        [["--since", "2026-03-01T10:00+25:00"], /--since: '2026-03-01T10:00\+25:00' is not a date and time/],
        [["--since", "100000000d"], /--since: '100000000d' is before 1970 or after 9999/],
        [["--status", "done"], /--status: unknown status 'done'; use success, failed/],
        [["--workflow", ""], /--workflow needs a workflow name/],
      ] as const
    ) {
      const result = await runPflow(["trace", "list", ...args], { env });
      assertExit(result, 2);
      assert.match(result.stderr, message);
    }
  });
});

// ---------------------------------------------------------------- execution ids

Deno.test("trace show and export take an execution id or a unique prefix of one", async () => {
  await withHome(async (_dir, env) => {
    const home = env.PFLOW_HOME;
    const one = doc("ab12cd34", { name: "first" });
    writeTrace(home, one);
    writeTrace(home, doc("ab99ffff", { name: "second" }));
    for (const target of [one.execution_id, "ab12cd34", "ab12c", "AB12", "ab12cd34-0000"]) {
      const result = await runPflow(["trace", "show", target], { env });
      assertExit(result, 0);
      assert.match(result.stdout, /^first · ✓ success/, `${target}: ${explain(result)}`);
    }
    const exported = await runPflow(["trace", "export", "ab12c", "--format", "otlp-json"], { env });
    assertExit(exported, 0);
    assert.match(exported.stdout, /"resourceSpans"/);
    const unique = await runPflow(["trace", "show", "ab12"], { env });
    assertExit(unique, 0);
    const tooShort = await runPflow(["trace", "show", "ab1"], { env }); // under 4 characters: a file name only
    assertExit(tooShort, 2);
    assert.match(tooShort.stderr, /trace file not found: ab1/);
    writeTrace(home, doc("ab12ffff", { name: "third" }));
    const clash = await runPflow(["trace", "show", "ab12"], { env });
    assertExit(clash, 2);
    assert.match(clash.stderr, /execution id prefix 'ab12' matches 2 runs: ab12.*; give more characters/);
    assert.match(clash.stderr, /ab12cd34-0000-4000-8000-000000000000 \(first, /);
    assert.match(clash.stderr, /ab12ffff-0000-4000-8000-000000000000 \(third, /);
    const unknown = await runPflow(["trace", "show", "deadbeef"], { env });
    assertExit(unknown, 2);
    assert.match(unknown.stderr, /no trace file 'deadbeef' and no trace of an execution id starting 'deadbeef' in /);
  });
});

Deno.test("the execution id of a planned run names its workflow trace; the planner trace is noted", async () => {
  await withHome(async (_dir, env) => {
    const home = env.PFLOW_HOME;
    const run = doc("5eed5eed", { name: "plan-it" });
    const planner = writeTrace(home, { ...doc("5eed5eed", { name: "plan-it", kind: "planner" }) });
    writeTrace(home, run);
    const result = await runPflow(["trace", "show", "5eed5eed", "--json"], { env });
    assertExit(result, 0);
    assert.equal(JSON.parse(result.stdout).kind, "workflow");
    assert.ok(result.stderr.includes(`note: the planner trace of this run: ${planner}`), explain(result));
  });
});

// ---------------------------------------------------------------- prune

function names(home: string): string[] {
  const dir = join(home, "debug");
  return existsSync(dir) ? readdirSync(dir).sort() : [];
}

Deno.test("trace prune: one that cannot be removed is one line and exit 1; the others still go", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "pflow-prune-fail-" });
  try {
    const debug = join(dir, "debug");
    const stuck = join(debug, "workflow-trace-x-20200101-000000-aaaaaaaa.json");
    Deno.mkdirSync(stuck, { recursive: true }); // a directory where a trace should be: rm cannot take it
    Deno.writeTextFileSync(join(stuck, "inside"), "x");
    const old = join(debug, "workflow-trace-y-20200101-000000-bbbbbbbb.json");
    Deno.writeTextFileSync(old, "not a trace, but old");
    const past = new Date("2020-01-01T00:00:00Z");
    for (const path of [stuck, old]) Deno.utimeSync(path, past, past);
    const result = await runPflow(["trace", "prune", "--older-than", "1d"], { env: { PFLOW_HOME: dir } });
    assertExit(result, 1);
    assert.match(
      result.stderr,
      new RegExp(`^error: cannot remove ${stuck.replaceAll(".", "\\.")}: it is a directory$`, "m"),
    );
    assert.match(result.stderr, /Removed 1 trace .*; 1 could not be removed\./);
    assert.equal(existsSync(old), false, "the other old trace went");
    const json = await runPflow(["trace", "prune", "--older-than", "1d", "--json"], { env: { PFLOW_HOME: dir } });
    assertExit(json, 1);
    assert.deepEqual(JSON.parse(json.stdout).failed, [{ path: stuck, reason: "it is a directory" }]);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("trace prune removes traces older than --older-than (default 30 days), keeps --keep newest; --dry-run removes nothing", async () => {
  await withHome(async (_dir, env) => {
    const home = env.PFLOW_HOME;
    const now = Date.now();
    const ages = [1, 10, 40, 50, 60]; // days
    const paths = ages.map((d, i) => writeTrace(home, doc(`0000000${i}`, { startMs: now - d * DAY })));
    const page = paths[4].replace(/\.json$/, ".html");
    writeFileSync(page, "<html></html>");
    writeFileSync(join(home, "debug", "notes.txt"), "not a trace");
    const dry = await runPflow(["trace", "prune", "--dry-run"], { env });
    assertExit(dry, 0);
    assert.deepEqual(dry.stdout.trim().split("\n").sort(), [paths[2], paths[3], paths[4]].sort());
    assert.match(dry.stderr, /^Would remove 3 traces \(.*\) from .*; 2 kept\.$/m);
    assert.equal(names(home).length, 7, "a dry run removes nothing");
    const keep = await runPflow(["trace", "prune", "--older-than", "45d", "--keep", "4", "--json"], { env });
    assertExit(keep, 0);
    const report = oneJson({ ...keep, stdout: JSON.stringify(JSON.parse(keep.stdout)) });
    assert.deepEqual((report.removed as { path: string }[]).map((r) => r.path), [paths[4]]);
    assert.equal(report.kept, 4);
    assert.equal(report.dry_run, false);
    assert.ok(!existsSync(paths[4]) && !existsSync(page), "the trace and its page are gone");
    const all = await runPflow(["trace", "prune"], { env });
    assertExit(all, 0);
    assert.deepEqual(names(home), [paths[0], paths[1]].map((p) => p.split("/").pop()!).concat("notes.txt").sort());
    const newest = await runPflow(["trace", "prune", "--keep", "1"], { env });
    assertExit(newest, 0);
    assert.deepEqual(newest.stdout.trim().split("\n"), [paths[1]]);
    // The help says so: --keep alone is no age limit (the 10-day trace went), not "older than 30d and not newest".
    const help = (await runPflow(["trace", "--help"], { env })).stdout.replace(/\s+/g, " ");
    assert.match(help, / --keep alone keeps the newest N and removes the rest, whatever their age\./);
    for (
      const [args, message] of [
        [["--keep=-1"], /--keep must be a whole number of traces/],
        [["--older-than", "old"], /--older-than must be a time ago/],
        [["--older-than", "2026-02-31T10:00"], /--older-than: '2026-02-31T10:00' is not a date and time/],
        [["extra"], /unexpected argument 'extra'/],
      ] as const
    ) {
      const bad = await runPflow(["trace", "prune", ...args], { env });
      assertExit(bad, 2);
      assert.match(bad.stderr, message);
    }
  });
});

Deno.test("trace.keep_days: a traced run removes older traces at most once a day, never its own", async () => {
  await withHome(async (dir, env) => {
    const home = env.PFLOW_HOME;
    const now = Date.now();
    const wf = writeWorkflow(
      dir,
      "wf.json",
      workflow([{ id: "a", type: "echo", params: { value: "x" } }], { name: "wf" }),
    );
    const old = writeTrace(home, doc("0ld00001", { startMs: now - 9 * DAY }));
    const recent = writeTrace(home, doc("0ld00002", { startMs: now - 2 * DAY }));
    const untraced = await runPflow(["run", wf], { env: { ...env } });
    assertExit(untraced, 0);
    const noSetting = await runPflow(["run", wf, "--trace"], { env });
    assertExit(noSetting, 0);
    assert.ok(existsSync(old), "without trace.keep_days nothing is pruned");
    writeFileSync(join(home, "settings.json"), JSON.stringify({ trace: { keep_days: 7 } }));
    const first = await runPflow(["run", wf, "--trace", "--json"], { env });
    assertExit(first, 0);
    const own = oneJson(first).trace_path as string;
    assert.ok(!existsSync(old), "a trace older than 7 days is removed after a traced run");
    assert.ok(existsSync(recent) && existsSync(own));
    const again = writeTrace(home, doc("0ld00003", { startMs: now - 9 * DAY }));
    assertExit(await runPflow(["run", wf, "--trace"], { env }), 0);
    assert.ok(existsSync(again), "pruned at most once a day");
    const marker = join(home, "debug", ".last-prune");
    const twoDaysAgo = new Date(now - 2 * DAY);
    utimesSync(marker, twoDaysAgo, twoDaysAgo);
    assertExit(await runPflow(["run", wf, "--trace"], { env }), 0);
    assert.ok(!existsSync(again), "a day later it prunes again");
    assert.ok(existsSync(own), "never the trace a run just wrote");
  });
});

Deno.test("trace prune keeps the trace of a run still going, however long its node has been quiet; a dead run's goes", async () => {
  await withHome(async (dir, env) => {
    const home = env.PFLOW_HOME;
    const marker = join(dir, "started");
    const wf = writeWorkflow(
      dir,
      "slow.json",
      workflow([{ id: "nap", type: "shell", params: { command: `echo > '${marker}'; sleep 30` } }], { name: "slow" }),
    );
    const longAgo = new Date(Date.now() - 10 * 60_000);
    // A run still going: its trace (no footer yet) unchanged for 10 minutes, as under a long node.
    const live = spawn(PFLOW_BIN, ["run", wf, "--trace"], {
      env: { ...env, PATH: process.env.PATH ?? "/usr/bin:/bin" },
    });
    const ended = new Promise((resolve) => live.on("close", (code, signal) => resolve(signal ?? code)));
    try {
      assert.ok(await waitFor(() => existsSync(marker), 10_000), "the run started");
      const [trace] = names(home).map((n) => join(home, "debug", n));
      utimesSync(trace, longAgo, longAgo);
      const pruned = await runPflow(["trace", "prune", "--keep", "0", "--json"], { env });
      assertExit(pruned, 0);
      assert.deepEqual(JSON.parse(pruned.stdout).removed, [], "the running run's trace is kept");
      assert.ok(existsSync(trace));
      // Killed (no footer written): the writer is gone, so the quiet trace is abandoned and goes.
      live.kill("SIGKILL");
      assert.equal(await ended, "SIGKILL");
      utimesSync(trace, longAgo, longAgo);
      const after = await runPflow(["trace", "prune", "--keep", "0", "--json"], { env });
      assertExit(after, 0);
      assert.deepEqual(JSON.parse(after.stdout).removed.map((r: { path: string }) => r.path), [trace]);
    } finally {
      live.kill("SIGKILL");
    }
  });
});
