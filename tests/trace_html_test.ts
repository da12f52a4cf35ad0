/**
 * `pflow trace show --html` without a browser: the page's data (bars, order,
 * costs, axis), the escaping of data into the page, and the command through
 * the compiled binary (default path, -o, --json, --open, linked and
 * trace-id traces, bad input). The page in a real browser:
 * trace_html_browser_test.ts.
 * @module
 */
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { escapeHtml, PAGE_ASSETS, pageData, renderTracePage, scriptSafeJson } from "../src/cli/trace_page.ts";
import { htmlPathFor } from "../src/cli/trace_html.ts";
import type { ReadTrace } from "../src/cli/trace_list.ts";
import { formatTraceFile, parseTraceText, type TraceDocument } from "../src/observability/trace_format.ts";
import { runPflow, tempDir } from "./support/cli.ts";
import { startLlmServer } from "./support/llm_server.ts";
import { embeddedData, fanOutRun, plannedRun } from "./support/trace_runs.ts";

function read(trace: TraceDocument, path = "/tmp/t.json", complete = true): ReadTrace {
  return { path, trace, complete, eventCount: trace.events.length };
}

/** A real trace of the `fan` run (fanOutRun); `brief` calls a model that has no price. */
async function realTrace(home: string): Promise<string> {
  const server = await startLlmServer();
  try {
    return await fanOutRun(home, server, { sleepMs: 150, briefModel: "anthropic/unpriced-model" });
  } finally {
    await server.close();
  }
}

// ---------------------------------------------------------------- escaping

Deno.test("scriptSafeJson: no '<', '>', '&', U+2028 or U+2029 survives, and it parses back to the same value", () => {
  const value = {
    a: "</script><script>alert(1)</script>",
    b: "<!-- x --> & <\u2028\u2029>",
    c: ["</SCRIPT>", { "</script>": "\u2028" }],
  };
  const text = scriptSafeJson(value);
  assert.doesNotMatch(text, /[<>&\u2028\u2029]/);
  assert.deepEqual(JSON.parse(text), value);
  assert.equal(
    escapeHtml(`<a href="x" title='y'>&</a>`),
    "&#60;a href=&#34;x&#34; title=&#39;y&#39;&#62;&#38;&#60;/a&#62;",
  );
});

Deno.test("the page: data from the trace cannot end its script element; the embedded data is the page data", () => {
  const nasty = "</script><script>window.__pwned = 1</script><!--\u2028";
  const trace = parseTraceText(
    formatTraceFile({
      format_version: 1,
      kind: "workflow",
      execution_id: "e",
      trace_id: "a".repeat(32),
      span_id: "b".repeat(16),
      parent_span_id: null,
      workflow_name: nasty,
      workflow_file: null,
      pflow_version: "0.1.0",
      start_time: "2025-03-04T10:00:00.000Z",
      inputs: { q: nasty },
      initial_store: {},
      limits: { store_chars: 1, prompt_chars: 1, response_chars: 1 },
      events: [],
    }, { complete: false }),
  ).trace;
  const html = renderTracePage([read(trace, "/tmp/t.json", false)]);
  // Exactly the page's two script elements close, and the title is escaped text.
  assert.equal(html.match(/<\/script/gi)?.length, 2);
  assert.equal(html.match(/<script/gi)?.length, 2);
  assert.match(html, /<title>&#60;\/script&#62;&#60;script&#62;window.__pwned = 1/);
  const data = embeddedData(html);
  assert.equal(data.traces[0].title, nasty);
  assert.equal(data.traces[0].doc.inputs.q, nasty);
  assert.equal(data.traces[0].status, "incomplete");
});

Deno.test("the page's own code is small and self-contained: no URL, no external resource", () => {
  const size = new TextEncoder().encode(PAGE_ASSETS.css + PAGE_ASSETS.script).length;
  assert.ok(size < 100_000, `page code is ${size} bytes`);
  for (const text of [PAGE_ASSETS.css, PAGE_ASSETS.script]) {
    assert.doesNotMatch(text, /https?:|\/\/[a-z]|@import|url\(|<\/script|<\/style|fetch\(|XMLHttpRequest/i);
  }
  const html = renderTracePage([]);
  assert.match(html, /Content-Security-Policy" content="default-src &#39;none&#39;/);
});

// ---------------------------------------------------------------- page data

Deno.test("page data of a real run: one bar per node execution and per LLM call, in execution order", async () => {
  const home = tempDir();
  try {
    const path = await realTrace(home.path);
    const trace = JSON.parse(readFileSync(path, "utf8")) as TraceDocument;
    const data = pageData([read(trace, path)]);
    const [t] = data.traces;
    const calls = trace.events.reduce((n, e) => n + e.llm_calls.length, 0);
    assert.equal(calls, 4);
    assert.equal(t.bars.length, trace.events.length + calls);
    assert.deepEqual(
      t.bars.map((b) => `${b.kind}:${b.label}`),
      [
        "node:prepare",
        "node:explain",
        "llm:item 0",
        "llm:item 1",
        "llm:item 2",
        "node:brief",
        "llm:unpriced-model",
        "node:save",
      ],
    );
    // Batch calls in start order, each inside its node's span on the axis.
    const explain = t.bars[1];
    const items = t.bars.slice(2, 5);
    for (const c of items) {
      assert.ok(
        c.start_ms >= explain.start_ms - 1 && c.start_ms + c.duration_ms <= explain.start_ms + explain.duration_ms + 1,
      );
    }
    assert.ok(items[0].start_ms <= items[1].start_ms && items[1].start_ms <= items[2].start_ms);
    assert.ok(data.axis_ms >= t.duration_ms);
    // Cost view: totals equal the trace's; the unpriced model is flagged, not counted.
    assert.equal(t.cost.total_usd, trace.metrics!.total_cost_usd);
    const sum = (lines: { usd: number | null }[]) => lines.reduce((n, l) => n + (l.usd ?? 0), 0);
    assert.ok(Math.abs(sum(t.cost.by_node) - trace.metrics!.total_cost_usd) < 1e-9);
    assert.ok(Math.abs(sum(t.cost.by_model) - trace.metrics!.total_cost_usd) < 1e-9);
    assert.deepEqual(t.cost.unpriced, ["anthropic/unpriced-model"]);
    assert.equal(t.cost.by_model.find((l) => l.label === "anthropic/unpriced-model")?.text, "unpriced");
    assert.match(t.cost.total_text, /^\$[\d.e-]+\+$/);
    const facts = Object.fromEntries(t.facts);
    assert.match(facts.cost, /unpriced: anthropic\/unpriced-model/);
    assert.ok(t.warnings.includes("cost"));
    assert.match(facts.tokens, /input \d+ · output \d+ · cache read 0 · cache write 0 · reasoning 0/);
    assert.equal(facts.status, "success");
    assert.match(facts.pricing, /\d{4}-\d{2}-\d{2}/);
  } finally {
    home.cleanup();
  }
});

Deno.test("axis ticks are round steps covering the run", () => {
  const ticks = pageData([]).ticks;
  assert.deepEqual(ticks, [{ ms: 0, label: "0ms" }]);
  const doc = { start_time: "2025-03-04T10:00:00.000Z", events: [], duration_ms: 1234 } as unknown as TraceDocument;
  const data = pageData([read(doc)]);
  assert.equal(data.axis_ms, 1234);
  assert.deepEqual(data.ticks.map((t) => t.label), ["0ms", "200ms", "400ms", "600ms", "800ms", "1.00s", "1.20s"]);
});

Deno.test("several traces share the axis, offset by their start times", () => {
  const a = { kind: "planner", start_time: "2025-03-04T10:00:00.000Z", events: [], duration_ms: 500 };
  const b = { kind: "workflow", start_time: "2025-03-04T10:00:00.700Z", events: [], duration_ms: 300 };
  const data = pageData([read(a as unknown as TraceDocument), read(b as unknown as TraceDocument)]);
  assert.deepEqual(data.traces.map((t) => t.offset_ms), [0, 700]);
  assert.equal(data.axis_ms, 1000);
});

// ---------------------------------------------------------------- the command

Deno.test("trace show --html writes the page beside the trace (and -o elsewhere), prints its path; --json", async () => {
  const home = tempDir();
  try {
    const path = await realTrace(home.path);
    const env = { PFLOW_HOME: home.path };
    const beside = await runPflow(["trace", "show", path, "--html"], { env });
    assert.equal(beside.code, 0, beside.stderr);
    assert.equal(beside.stdout, `${htmlPathFor(path)}\n`);
    assert.equal(beside.stderr, "");
    const html = readFileSync(htmlPathFor(path), "utf8");
    assert.equal(embeddedData(html).traces[0].file, path);

    const out = join(home.path, "pages", "run.html");
    mkdirSync(join(home.path, "pages"));
    const latest = await runPflow(["trace", "show", "latest", "--html", "-o", out, "--json"], { env });
    assert.equal(latest.code, 0, latest.stderr);
    assert.deepEqual(JSON.parse(latest.stdout), { html_path: out, traces: [path] });
    assert.equal(readFileSync(out, "utf8").length > 1000, true);

    // -o DIR: an existing directory, named with or without a trailing slash, gets the page under its name.
    const name = basename(htmlPathFor(path));
    mkdirSync(join(home.path, "new"));
    for (
      const [dir, arg] of [[join(home.path, "pages"), join(home.path, "pages")], [
        join(home.path, "new"),
        `${join(home.path, "new")}/`,
      ]]
    ) {
      const r = await runPflow(["trace", "show", path, "--html", "-o", arg], { env });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, `${join(dir, name)}\n`);
      assert.ok(statSync(join(dir, name)).isFile());
    }
  } finally {
    home.cleanup();
  }
});

Deno.test("trace show --html bad input: exit 2 with one line; an unwritable -o place: exit 2 naming it", async () => {
  const home = tempDir();
  try {
    const env = { PFLOW_HOME: home.path };
    const missing = join(home.path, "nope.json");
    const cases: [string[], number, string][] = [
      [["trace", "show", missing, "--html"], 2, `error: trace file not found: ${missing}\n`],
      [["trace", "show", "--html"], 2, `error: no traces in ${join(home.path, "debug")}; write one`],
      [["trace", "show", missing, "-o", "x.html"], 2, "error: -o needs --html: pflow trace show PATH --html\n"],
      [["trace", "show", missing, "--open"], 2, "error: --open needs --html: pflow trace show PATH --html\n"],
      [["trace", "show", missing, "--html", "--node", "a"], 2, "error: --html draws the whole run: use it without"],
      [["trace", "show", missing, "--html", "-o", ""], 2, "error: -o needs a file name\n"],
      [
        ["trace", "show", "0af7651916cd43dd8448eb211c80319c", "--html"],
        2,
        "error: no trace with trace id 0af7651916cd43dd8448eb211c80319c in",
      ],
    ];
    for (const [args, code, stderr] of cases) {
      const r = await runPflow(args, { env });
      assert.equal(r.code, code, `${args.join(" ")}: ${r.stderr}`);
      assert.ok(r.stderr.startsWith(stderr), `${args.join(" ")}: ${r.stderr}`);
      assert.equal(r.stderr.trim().split("\n").length <= 2, true, r.stderr);
      assert.equal(r.stdout, "");
    }
    const path = await realTrace(home.path);
    // A directory that cannot be made (its parent is a file), for root too.
    const target = join(path, "x.html");
    const r = await runPflow(["trace", "show", path, "--html", "-o", target], { env });
    assert.equal(r.code, 2, r.stderr); // a place given with -o that cannot be written: as every command's -o
    assert.match(r.stderr, new RegExp(`^error: cannot write ${escapeRe(target)}: [^\n]+\n$`));
    assert.equal(r.stdout, "");
  } finally {
    home.cleanup();
  }
});

function escapeRe(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

Deno.test("trace show --open starts the system opener with the page; without one it says how to open it", async () => {
  const home = tempDir();
  try {
    const path = await realTrace(home.path);
    const bin = join(home.path, "bin");
    mkdirSync(bin);
    const log = join(home.path, "opened.txt");
    writeFileSync(join(bin, "xdg-open"), `#!/bin/sh\nprintf '%s\\n' "$@" > '${log}'\n`, { mode: 0o755 });
    const opened = await runPflow(["trace", "show", path, "--html", "--open"], {
      env: { PFLOW_HOME: home.path, PATH: `${bin}:/usr/bin:/bin` },
    });
    assert.equal(opened.code, 0, opened.stderr);
    const html = htmlPathFor(path);
    for (let i = 0; i < 100 && !exists(log); i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(readFileSync(log, "utf8"), `${html}\n`);

    const none = await runPflow(["trace", "show", path, "--html", "--open"], {
      env: { PFLOW_HOME: home.path, PATH: join(home.path, "empty") },
    });
    assert.equal(none.code, 0, none.stderr);
    assert.equal(none.stdout, `${html}\n`);
    assert.equal(none.stderr, `note: no system opener found (xdg-open is not on PATH); open ${html} in a browser\n`);
  } finally {
    home.cleanup();
  }
});

function exists(path: string): boolean {
  try {
    return readFileSync(path, "utf8").length > 0;
  } catch {
    return false;
  }
}

Deno.test("a planned run's planner and workflow traces: found from either or by trace id, on one axis, costs apart", async () => {
  const home = tempDir();
  const server = await startLlmServer();
  try {
    const { planner, workflow: wf } = await plannedRun(home.path, server);
    const plannerDoc = JSON.parse(readFileSync(planner, "utf8")) as TraceDocument;
    const wfDoc = JSON.parse(readFileSync(wf, "utf8")) as TraceDocument;
    assert.equal(plannerDoc.kind, "planner");
    assert.equal(wfDoc.planner_trace, planner);
    const env = { PFLOW_HOME: home.path };
    for (const target of [wf, planner, wfDoc.trace_id]) {
      const r = await runPflow(["trace", "show", target, "--html", "-o", join(home.path, "p.html"), "--json"], { env });
      assert.equal(r.code, 0, `${target}: ${r.stderr}`);
      assert.equal(r.stderr, "");
      assert.deepEqual(JSON.parse(r.stdout).traces, [planner, wf], target);
      const data = embeddedData(readFileSync(join(home.path, "p.html"), "utf8"));
      assert.deepEqual(data.traces.map((t) => t.kind), ["planner", "workflow"]);
      assert.equal(data.traces[0].offset_ms, 0);
      const gap = Date.parse(wfDoc.start_time) - Date.parse(plannerDoc.start_time);
      assert.ok(gap > 0);
      assert.equal(data.traces[1].offset_ms, gap);
      // The workflow's first bar starts after the planner's nodes on the shared axis.
      const plannerEnd = Math.max(...data.traces[0].bars.map((b) => b.start_ms + b.duration_ms));
      // Start times are whole milliseconds: allow each its rounding.
      assert.ok(
        data.traces[1].bars[0].start_ms >= plannerEnd - 2,
        `${data.traces[1].bars[0].start_ms} < ${plannerEnd}`,
      );
      // Each trace's cost is its own calls'; together they are the run's total (the workflow trace's summary).
      const [p, w] = data.traces;
      assert.equal(p.cost.total_usd, 0.002); // 1000 in + 200 out at Haiku 4.5 prices
      assert.ok(w.cost.total_usd > 0);
      assert.ok(Math.abs(p.cost.total_usd + w.cost.total_usd - wfDoc.metrics!.total_cost_usd) < 1e-9);
      const wFacts = Object.fromEntries(w.facts);
      assert.match(wFacts["run cost"], /^\$0\.002\d* · 2 LLM calls \(planning included\)$/);
      const pFacts = Object.fromEntries(p.facts);
      assert.equal(pFacts.request, "repeat hi three times and count the words");
      assert.equal(pFacts["planner model"], "anthropic/claude-haiku-4-5");
      assert.match(pFacts.planning, /^generate · 1 validation · 0 repairs$/);
    }
    // trace list (header and footer only) shows each trace's own cost too: the footer's llm_totals.
    const ownCost = wfDoc.llm_totals!.cost_usd;
    assert.ok(ownCost > 0 && Math.abs(ownCost + 0.002 - wfDoc.metrics!.total_cost_usd) < 1e-9);
    assert.equal(wfDoc.llm_totals!.calls, 1);
    const listed = await runPflow(["trace", "list", "--json"], { env });
    assert.equal(listed.code, 0, listed.stderr);
    const costs = Object.fromEntries(
      JSON.parse(listed.stdout).map((e: { path: string; total_cost_usd: number }) => [e.path, e.total_cost_usd]),
    );
    assert.deepEqual(costs, { [planner]: 0.002, [wf]: ownCost });
    const text = await runPflow(["trace", "list"], { env });
    const row = text.stdout.split("\n").find((l) => l.includes(basename(wf)))!;
    assert.match(row, /\$0\.0000\d+/, row);
    // Given both (and one twice): the same page, each file once, beside the first given.
    const both = await runPflow(["trace", "show", planner, wf, wf, "--html", "--json"], { env });
    assert.equal(both.code, 0, both.stderr);
    assert.deepEqual(JSON.parse(both.stdout), { html_path: htmlPathFor(planner), traces: [planner, wf] });
  } finally {
    await server.close();
    home.cleanup();
  }
});

Deno.test("a crashed run's trace (no footer) becomes a page marked incomplete with the finished nodes", async () => {
  const home = tempDir();
  try {
    const path = await realTrace(home.path);
    const lines = readFileSync(path, "utf8").trimEnd().split("\n");
    // Header, two whole events, half of the third; no footer.
    const cut = `${lines.slice(0, 3).join("\n")}\n${lines[3].slice(0, 40)}`;
    const crashed = join(home.path, "crashed.json");
    writeFileSync(crashed, cut);
    const r = await runPflow(["trace", "show", crashed, "--html"], { env: { PFLOW_HOME: home.path } });
    assert.equal(r.code, 0, r.stderr);
    const data = embeddedData(readFileSync(join(home.path, "crashed.html"), "utf8"));
    const [t] = data.traces;
    assert.equal(t.complete, false);
    assert.equal(t.status, "incomplete");
    assert.equal(t.bars.filter((b) => b.kind === "node").length, 2);
    assert.deepEqual(t.warnings.includes("status"), true);
    assert.match(Object.fromEntries(t.facts).duration, /^≥ /);
  } finally {
    home.cleanup();
  }
});

Deno.test("a partial trace (its write failed part-way) is marked partial on the page, not crashed or still running", async () => {
  const home = tempDir();
  try {
    const path = await realTrace(home.path);
    const lines = readFileSync(path, "utf8").trimEnd().split("\n");
    // What a failed write leaves: the header and whole events, under the name pflow gives such a file.
    const partial = path.replace(/\.json$/, ".partial.json");
    writeFileSync(partial, `${lines.slice(0, 3).join("\n")}\n`);
    const r = await runPflow(["trace", "show", partial, "--html"], { env: { PFLOW_HOME: home.path } });
    assert.equal(r.code, 0, r.stderr);
    const html = readFileSync(htmlPathFor(partial), "utf8");
    const [t] = embeddedData(html).traces;
    assert.equal(t.partial, true);
    assert.equal(t.status, "partial");
    assert.ok(PAGE_ASSETS.script.includes("Partial trace: writing this "), "the page's banner for it");
  } finally {
    home.cleanup();
  }
});

Deno.test("the page leaves secrets of the environment out even when a trace file holds them", async () => {
  const home = tempDir();
  try {
    const path = await realTrace(home.path);
    const secret = "sk-live-0123456789abcdef";
    const text = readFileSync(path, "utf8").replace('"echo ready"', JSON.stringify(`echo ${secret}`));
    writeFileSync(path, text);
    const r = await runPflow(["trace", "show", path, "--html"], { env: { PFLOW_HOME: home.path, MY_API_KEY: secret } });
    assert.equal(r.code, 0, r.stderr);
    const html = readFileSync(htmlPathFor(path), "utf8");
    assert.equal(html.includes(secret), false);
    assert.match(html, /echo \[REDACTED\]/);
  } finally {
    home.cleanup();
  }
});

Deno.test("the page hides a URL's password from a trace file even when no secret is in the environment", async () => {
  const home = tempDir();
  try {
    const path = await realTrace(home.path);
    const url = "https://deploy:hunter2-pw-9f8e@example.test/hook";
    const text = readFileSync(path, "utf8").replace('"echo ready"', JSON.stringify(`curl ${url}`));
    writeFileSync(path, text);
    const r = await runPflow(["trace", "show", path, "--html"], { env: { PFLOW_HOME: home.path } });
    assert.equal(r.code, 0, r.stderr);
    const html = readFileSync(htmlPathFor(path), "utf8");
    assert.equal(html.includes("hunter2-pw-9f8e"), false);
    assert.match(html, /curl https:\/\/deploy:\[REDACTED\]@example\.test\/hook/);
  } finally {
    home.cleanup();
  }
});
