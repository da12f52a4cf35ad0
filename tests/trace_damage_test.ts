/**
 * Damaged trace files, read through the compiled binary: a line that is not
 * valid JSON in the middle of a finished trace, and a region of NUL bytes
 * (the blocks a crash leaves zeroed, or a sparse file). The damage is one
 * warning; the events after it and the footer still count, and `trace
 * show`, `trace list` and `trace export` agree.
 * @module
 */
import assert from "node:assert/strict";
import { appendFileSync, readdirSync, readFileSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type CliResult, runPflow, type TempHome, withTempHome, workflow, writeWorkflow } from "./support/cli.ts";

function explain(result: CliResult): string {
  return `exit ${result.code} (signal ${result.signal})\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`;
}

/** Runs a traced 3-node workflow (a → b → c) and returns its trace file's path and lines. */
async function tracedRun(ctx: TempHome): Promise<{ path: string; lines: string[] }> {
  const wf = writeWorkflow(
    ctx.dir,
    "three.json",
    workflow(
      ["a", "b", "c"].map((id) => ({ id, type: "echo", params: { value: id } })),
      { name: "three", edges: [{ from: "a", to: "b" }, { from: "b", to: "c" }] },
    ),
  );
  const run = await runPflow(["run", wf, "--trace"], { env: ctx.env });
  assert.equal(run.code, 0, explain(run));
  const dir = join(ctx.home, "debug");
  const path = join(dir, readdirSync(dir).find((n) => n.endsWith(".json"))!);
  const lines = readFileSync(path, "utf8").split("\n");
  // header, 3 events, footer, and the empty string after the last newline
  assert.equal(lines.length, 6);
  assert.ok(lines[4].startsWith('],"end_time"'), lines[4]);
  return { path, lines };
}

/** `trace show`, `--json`, `trace list --json` and `trace export` of a damaged finished trace: all say success, with every event. */
async function assertReadWhole(ctx: TempHome, path: string, warning: string, events = ["a", "b", "c"]): Promise<void> {
  const shown = await runPflow(["trace", "show", path], { env: ctx.env });
  assert.equal(shown.code, 0, explain(shown));
  assert.equal(shown.stderr, `warning: ${path}: ${warning}\n`);
  const lines = shown.stdout.trimEnd().split("\n");
  assert.match(lines[0], /^three · ✓ success · \d+ms · execution /, explain(shown));
  assert.doesNotMatch(shown.stdout, /incomplete/);
  assert.deepEqual(lines.slice(1, -1).map((l) => l.trim().split(/\s+/).slice(0, 2)), events.map((id) => ["✓", id]));
  assert.equal(lines.at(-1), "3 node executions · 0 failed");

  const json = await runPflow(["trace", "show", path, "--json"], { env: ctx.env });
  assert.equal(json.code, 0, explain(json));
  const doc = JSON.parse(json.stdout);
  assert.equal(doc.final_status, "success");
  assert.equal(doc.nodes_executed, 3);
  assert.deepEqual(doc.events.map((e: { node_id: string }) => e.node_id), events);

  const listed = await runPflow(["trace", "list", "--json"], { env: ctx.env });
  assert.equal(listed.code, 0, explain(listed));
  const [entry] = JSON.parse(listed.stdout);
  assert.equal(entry.final_status, "success");
  assert.equal(entry.nodes_executed, 3);

  const exported = await runPflow(["trace", "export", path, "--format", "otlp-json"], { env: ctx.env });
  assert.equal(exported.code, 0, explain(exported));
  assert.equal(exported.stderr, `warning: ${path}: ${warning}\n`);
  const spans = JSON.parse(exported.stdout).resourceSpans[0].scopeSpans[0].spans;
  assert.deepEqual(spans.map((s: { name: string }) => s.name).slice(1), events.map((id) => `node ${id}`));
  const status = spans[0].attributes.find((a: { key: string }) => a.key === "pflow.final_status");
  assert.deepEqual(status.value, { stringValue: "success" });
}

Deno.test("a line that is not valid JSON in a finished trace is skipped with one warning; later events and the footer count", async () => {
  await withTempHome(async (ctx) => {
    const { path, lines } = await tracedRun(ctx);
    // Before the second event (line 3 of the file).
    writeFileSync(path, [...lines.slice(0, 2), ',{"node_id":garbage', ...lines.slice(2)].join("\n"));
    await assertReadWhole(ctx, path, "line 3 is not valid JSON; skipped");
  });
});

Deno.test("many damaged lines are counted in one warning, the first few named", async () => {
  await withTempHome(async (ctx) => {
    const { path, lines } = await tracedRun(ctx);
    const junk = Array.from({ length: 7 }, (_, i) => `,{"broken":${i}`);
    writeFileSync(path, [...lines.slice(0, 3), ...junk, ...lines.slice(3)].join("\n"));
    await assertReadWhole(ctx, path, "7 lines are not valid JSON (4, 5, 6, 7, 8, …); skipped");
  });
});

Deno.test("a region of NUL bytes in a trace is skipped, not read as the end of the run", async () => {
  await withTempHome(async (ctx) => {
    const { path, lines } = await tracedRun(ctx);
    // Zeroed blocks in place of the second event's line (as a crash can leave them), a sparse 256 MiB region.
    const head = `${lines.slice(0, 2).join("\n")}\n`;
    const nulBytes = 256 * 1024 * 1024;
    writeFileSync(path, head);
    truncateSync(path, head.length + nulBytes);
    appendFileSync(path, `${lines.slice(3).join("\n")}`);
    await assertReadWhole(ctx, path, `${nulBytes.toLocaleString("en-US")} NUL bytes from line 3; skipped`, ["a", "c"]);
  });
});

Deno.test("a trace whose footer follows a NUL region without a newline reads as finished in show and list", async () => {
  await withTempHome(async (ctx) => {
    const { path, lines } = await tracedRun(ctx);
    const head = lines.slice(0, 4).join("\n"); // header and events, no newline after the last
    writeFileSync(path, head);
    truncateSync(path, head.length + 1000);
    appendFileSync(path, `${lines[4]}\n`);
    await assertReadWhole(ctx, path, "1,000 NUL bytes from line 4; skipped");
  });
});

Deno.test("a trace cut off by a crash is still incomplete, its half-written last line not reported", async () => {
  await withTempHome(async (ctx) => {
    const { path, lines } = await tracedRun(ctx);
    writeFileSync(path, `${lines.slice(0, 3).join("\n")}\n${lines[3].slice(0, 30)}`);
    const shown = await runPflow(["trace", "show", path], { env: ctx.env });
    assert.equal(shown.code, 0, explain(shown));
    assert.equal(shown.stderr, "");
    assert.match(
      shown.stdout,
      /^three · … incomplete · .*\(incomplete: the run did not finish — crashed or still running\)\n/,
    );
    assert.match(shown.stdout, /\n2 node executions · 0 failed\n$/);
    const listed = await runPflow(["trace", "list", "--json"], { env: ctx.env });
    assert.equal(JSON.parse(listed.stdout)[0].final_status, "incomplete");
  });
});
