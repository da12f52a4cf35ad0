/// <reference lib="dom" />
/**
 * The trace page in a real headless Chromium (Debian's `chromium`, driven by
 * puppeteer-core), on pages that the compiled binary wrote from traces of
 * runs made here against the local LLM server: bars, their order and the
 * overlap of parallel calls, the details panel (click and keyboard), text
 * from data never running as code, no network request, a 1,000-node trace's
 * render time, contrast in light, dark and print, and the screenshots.
 * @module
 */
import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import type { Browser, Page } from "puppeteer-core";
import { htmlPathFor } from "../src/cli/trace_html.ts";
import type { TraceDocument } from "../src/observability/trace_format.ts";
import { artifactPath, withChromium } from "./support/browser.ts";
import { ROOT, runPflow, tempDir, workflow, writeWorkflow } from "./support/cli.ts";
import { type LlmServer, startLlmServer } from "./support/llm_server.ts";
import { fanOutRun, plannedRun, tracedRun } from "./support/trace_runs.ts";

// puppeteer keeps sockets and timers of its own between calls.
const browserTest = (name: string, fn: () => Promise<void>) =>
  Deno.test({ name, fn, sanitizeOps: false, sanitizeResources: false });

const NASTY = '</script><script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2"><!-- \u2028';

/** Writes the page of `traces` with the binary; returns its path. */
async function writePage(home: string, traces: string[], out?: string): Promise<string> {
  const r = await runPflow(["trace", "show", ...traces, "--html", ...(out ? ["-o", out] : [])], {
    env: { PFLOW_HOME: home },
  });
  if (r.code !== 0) throw new Error(`trace show --html failed (${r.code}): ${r.stderr}`);
  return r.stdout.trim();
}

interface Loaded {
  page: Page;
  /** Every request the page made (URLs), the document's own included. */
  requests: string[];
  /** CSP violations and page errors seen. */
  problems: string[];
}

/** Opens a page file over file:// and waits until its script has drawn it. */
async function load(browser: Browser, file: string, width = 1400): Promise<Loaded> {
  const page = await browser.newPage();
  await page.setViewport({ width, height: 900 });
  const requests: string[] = [];
  const problems: string[] = [];
  await page.setRequestInterception(true);
  page.on("request", (request) => {
    requests.push(request.url());
    request.continue();
  });
  page.on("pageerror", (error) => problems.push(`page error: ${(error as Error).message}`));
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(`console error: ${message.text()}`);
  });
  await page.evaluateOnNewDocument(() => {
    const seen: string[] = [];
    (globalThis as unknown as { __violations: string[] }).__violations = seen;
    document.addEventListener("securitypolicyviolation", (e) => seen.push(`${e.violatedDirective} ${e.blockedURI}`));
    // When the page's script has drawn everything: the end of the next frame (layout and paint done).
    new PerformanceObserver((list) => {
      if (!list.getEntries().some((e) => e.name === "pflow:rendered")) return;
      requestAnimationFrame(() =>
        setTimeout(() => (globalThis as unknown as { __firstFrame: number }).__firstFrame = performance.now())
      );
    }).observe({ entryTypes: ["mark"] });
  });
  await page.goto(`file://${file}`, { waitUntil: "load" });
  await page.waitForFunction(() => performance.getEntriesByName("pflow:rendered").length === 1);
  const violations = await page.evaluate(() => (globalThis as unknown as { __violations: string[] }).__violations);
  problems.push(...violations.map((v) => `CSP violation: ${v}`));
  return { page, requests, problems };
}

/** Rows of the waterfall as the page shows them. */
function rows(page: Page) {
  return page.$$eval(".rows .row", (els) =>
    els.map((el) => {
      const bar = el.querySelector(".bar")!.getBoundingClientRect();
      return {
        kind: (el as HTMLElement).dataset.kind!,
        label: el.querySelector(".label")!.textContent!,
        text: el.querySelector(".bar-text")!.textContent!,
        status: [...el.classList].find((c) => c.startsWith("st-"))!,
        left: bar.left,
        right: bar.right,
      };
    }));
}

async function withServer<T>(fn: (server: LlmServer) => Promise<T>): Promise<T> {
  const server = await startLlmServer();
  try {
    return await fn(server);
  } finally {
    await server.close();
  }
}

/** The `fan` run (see fanOutRun), its calls sleeping 400 ms. */
function parallelRun(home: string, server: LlmServer, briefPrompt?: string): Promise<string> {
  return fanOutRun(home, server, { sleepMs: 400, briefPrompt });
}

browserTest("one bar per node execution and LLM call, in execution order; parallel calls overlap", async () => {
  const home = tempDir();
  try {
    const tracePath = await withServer((server) => parallelRun(home.path, server));
    const trace = JSON.parse(readFileSync(tracePath, "utf8")) as TraceDocument;
    const file = await writePage(home.path, [tracePath]);
    assert.equal(file, htmlPathFor(tracePath));
    await withChromium(async (browser) => {
      const { page, problems } = await load(browser, file);
      const shown = await rows(page);
      const calls = trace.events.reduce((n, e) => n + e.llm_calls.length, 0);
      assert.equal(calls, 4);
      assert.equal(shown.length, trace.events.length + calls);
      assert.deepEqual(
        shown.map((r) => `${r.kind} ${r.label}`),
        [
          "node prepare",
          "node explain",
          "llm item 0",
          "llm item 1",
          "llm item 2",
          "node brief",
          "llm claude-haiku-4-5",
          "node save",
        ],
      );
      assert.ok(shown.every((r) => r.status === "st-success"));
      // Node bars follow one another on the axis; the batch's calls lie inside their node's bar.
      const nodes = shown.filter((r) => r.kind === "node");
      for (let i = 1; i < nodes.length; i++) assert.ok(nodes[i].left >= nodes[i - 1].right - 1.5, `${nodes[i].label}`);
      const [explain, ...items] = shown.slice(1, 5);
      for (const item of items) assert.ok(item.left >= explain.left - 1 && item.right <= explain.right + 1);
      // The three calls ran at once: every pair of bars overlaps by more than half their length (calls made one
      // after another would not overlap at all; on a loaded machine a call may start ~100 ms after the others).
      for (const a of items) {
        for (const b of items) {
          const overlap = Math.min(a.right, b.right) - Math.max(a.left, b.left);
          assert.ok(overlap > 0.5 * (a.right - a.left), `overlap ${overlap}px of ${a.right - a.left}px`);
        }
      }
      // Labels carry duration, tokens and cost.
      assert.match(shown[2].text, /^\d+ms · \d+ tokens · \$[\d.e-]+$/);
      // The cost view's totals equal the trace's.
      const totals = await page.$$eval(
        ".cost-line.total",
        (els) => els.map((e) => Number((e as HTMLElement).dataset.usd)),
      );
      assert.deepEqual(totals, [trace.metrics!.total_cost_usd, trace.metrics!.total_cost_usd]);
      const byNode = await page.$$eval(
        '.cost-table[data-view="node"] .cost-line:not(.total)',
        (els) => els.map((e) => Number((e as HTMLElement).dataset.usd)),
      );
      assert.ok(Math.abs(byNode.reduce((a, b) => a + b, 0) - trace.metrics!.total_cost_usd) < 1e-9);
      assert.deepEqual(problems, []);
    });
  } finally {
    home.cleanup();
  }
});

/** Each row's label and its track as laid out: the label must lie whole inside the track. */
function labelBoxes(page: Page) {
  return page.$$eval(".rows .row", (els) =>
    els.map((el) => {
      const track = el.querySelector(".track")!.getBoundingClientRect();
      const text = el.querySelector(".bar-text")!.getBoundingClientRect();
      return {
        label: el.querySelector(".label")!.textContent!,
        inside: text.left >= track.left - 1 && text.right <= track.right + 1,
        text: `${Math.round(text.left)}-${Math.round(text.right)} in ${Math.round(track.left)}-${
          Math.round(track.right)
        }`,
      };
    }));
}

browserTest("every bar's label is shown whole: a one-node run's bar spans the axis, at any width", async () => {
  const home = tempDir();
  try {
    const tracePaths = await withServer(async (server) => {
      const wf = writeWorkflow(
        home.path,
        "one.json",
        workflow([{
          id: "ask",
          type: "llm",
          params: { model: "anthropic/claude-haiku-4-5", prompt: "Say hi [[sleep:300]]" },
        }], { name: "one" }),
      );
      const env = { ANTHROPIC_API_KEY: "sk-ant-test", ANTHROPIC_BASE_URL: server.url };
      return [await tracedRun(wf, { home: home.path, env }), await parallelRun(home.path, server)];
    });
    await withChromium(async (browser) => {
      for (const tracePath of tracePaths) {
        const file = await writePage(home.path, [tracePath]);
        for (const width of [1400, 1000]) {
          const { page, problems } = await load(browser, file, width);
          const boxes = await labelBoxes(page);
          assert.ok(boxes.length >= 2);
          for (const box of boxes) {
            assert.ok(box.inside, `${tracePath} at ${width}px: ${box.label}'s label ${box.text}`);
          }
          // Resized, the labels are placed again.
          await page.setViewport({ width: width - 300, height: 900 });
          await page.waitForFunction(() => new Promise((done) => requestAnimationFrame(() => done(true))));
          for (const box of await labelBoxes(page)) assert.ok(box.inside, `resized: ${box.label}'s label ${box.text}`);
          assert.deepEqual(problems, []);
          await page.close();
        }
      }
    });
  } finally {
    home.cleanup();
  }
});

/**
 * For each row whose label is written on its bar: the label's background, whether its box lies on the bar, and
 * the bar's columns (device pixels) that show none of the bar's own colour, from a screenshot of the bar.
 */
async function labelsOnBars(browser: Browser, page: Page) {
  const found = await page.$$eval(".rows .row", (els) =>
    els.flatMap((el) => {
      const text = el.querySelector(".bar-text")!;
      if (!text.classList.contains("inside")) return [];
      const bar = el.querySelector(".bar")!.getBoundingClientRect();
      const box = text.getBoundingClientRect();
      return [{
        label: el.querySelector(".label")!.textContent!,
        background: getComputedStyle(text).backgroundColor,
        colour: getComputedStyle(el.querySelector(".bar")!).backgroundColor,
        onBar: box.left >= bar.left - 0.5 && box.right <= bar.right + 0.5 && box.top >= bar.top - 0.5 &&
          box.bottom <= bar.bottom + 0.5,
        clip: { x: bar.left, y: bar.top, width: bar.width, height: bar.height },
      }];
    }));
  // The screenshot is decoded on a blank page of its own (the trace page's CSP allows no image).
  const decoder = await browser.newPage();
  try {
    const result = [];
    for (const row of found) {
      const clip = {
        x: Math.ceil(row.clip.x),
        y: Math.ceil(row.clip.y),
        width: Math.floor(row.clip.x + row.clip.width) - Math.ceil(row.clip.x),
        height: Math.floor(row.clip.y + row.clip.height) - Math.ceil(row.clip.y),
      };
      const png = await page.screenshot({ clip, encoding: "base64" });
      const hidden = await decoder.evaluate(
        async (data: string, colour: string) => {
          const image = await createImageBitmap(await (await fetch(`data:image/png;base64,${data}`)).blob());
          const canvas = new OffscreenCanvas(image.width, image.height);
          const context = canvas.getContext("2d")!;
          context.drawImage(image, 0, 0);
          const pixels = context.getImageData(0, 0, image.width, image.height).data;
          const [r, g, b] = colour.match(/\d+/g)!.map(Number);
          const columns: number[] = [];
          for (let x = 0; x < image.width; x++) {
            let seen = false;
            for (let y = 0; y < image.height && !seen; y++) {
              const i = (y * image.width + x) * 4;
              seen = Math.abs(pixels[i] - r) + Math.abs(pixels[i + 1] - g) + Math.abs(pixels[i + 2] - b) < 24;
            }
            if (!seen) columns.push(x);
          }
          return columns;
        },
        png as string,
        row.colour,
      );
      result.push({ ...row, hidden });
    }
    return result;
  } finally {
    await decoder.close();
  }
}

browserTest(
  "a label with no room beside its bar is written on the bar, which stays visible over its whole length",
  async () => {
    const home = tempDir();
    try {
      // One LLM node: its bar and its call's bar span the axis, leaving no room for a label beside them.
      const tracePath = await withServer((server) => {
        const wf = writeWorkflow(
          home.path,
          "one.json",
          workflow([{
            id: "ask",
            type: "llm",
            params: { model: "anthropic/claude-haiku-4-5", prompt: "Say hi [[sleep:300]]" },
          }], { name: "one" }),
        );
        return tracedRun(wf, {
          home: home.path,
          env: { ANTHROPIC_API_KEY: "sk-ant-test", ANTHROPIC_BASE_URL: server.url },
        });
      });
      const file = await writePage(home.path, [tracePath]);
      await withChromium(async (browser) => {
        for (const scheme of ["light", "dark"] as const) {
          const { page, problems } = await load(browser, file);
          await page.emulateMediaFeatures([{ name: "prefers-color-scheme", value: scheme }]);
          const onBars = await labelsOnBars(browser, page);
          assert.equal(onBars.length, 2, `${scheme}: the node's and the call's labels are on their bars`);
          for (const row of onBars) {
            const where = `${scheme}: ${row.label}`;
            assert.equal(row.background, "rgba(0, 0, 0, 0)", `${where}: nothing is drawn behind the label`);
            assert.ok(row.onBar, `${where}: the label lies on its bar`);
            assert.deepEqual(row.hidden, [], `${where}: columns of the bar that show none of its colour`);
          }
          assert.deepEqual(problems, []);
          await page.close();
        }
      });
    } finally {
      home.cleanup();
    }
  },
);

browserTest("a trace with a status of several words (an odd or hand-edited file) is still drawn", async () => {
  const home = tempDir();
  try {
    const tracePath = await withServer((server) => parallelRun(home.path, server));
    const odd = join(home.path, "odd-trace.json");
    const text = readFileSync(tracePath, "utf8");
    assert.match(text, /"final_status":"success"/);
    writeFileSync(odd, text.replace('"final_status":"success"', '"final_status":"in progress"'));
    const file = await writePage(home.path, [odd]);
    await withChromium(async (browser) => {
      const { page, problems } = await load(browser, file);
      assert.equal((await rows(page)).length, 8);
      assert.match(await page.$eval(".card", (e) => (e as HTMLElement).innerText), /in progress/);
      assert.deepEqual(problems, []);
    });
  } finally {
    home.cleanup();
  }
});

browserTest("clicking a bar shows that node's template resolutions; the keyboard selects bars too", async () => {
  const home = tempDir();
  try {
    const tracePath = await withServer((server) => parallelRun(home.path, server));
    const trace = JSON.parse(readFileSync(tracePath, "utf8")) as TraceDocument;
    const file = await writePage(home.path, [tracePath]);
    await withChromium(async (browser) => {
      const { page, problems } = await load(browser, file);
      const details = () => page.$eval(".details", (e) => (e as HTMLElement).innerText);
      const resolutions = () =>
        page.$$eval(
          ".details table.resolutions tr",
          (trs) => trs.slice(1).map((tr) => [...tr.querySelectorAll("td")].map((td) => td.textContent)),
        );

      await page.click("#bar-0-1 .bar"); // explain
      assert.match(await details(), /^explain\n/);
      const explain = trace.events.find((e) => e.node_id === "explain")!;
      assert.deepEqual(
        await resolutions(),
        explain.template_resolutions.map((r) => [r.param, r.template, r.value, String(r.item_index)]),
      );
      assert.deepEqual((await resolutions()).map((r) => r[2]), ["caching", "reasoning", "retries"]);

      await page.click("#bar-0-5 .name"); // brief
      const brief = trace.events.find((e) => e.node_id === "brief")!;
      assert.deepEqual(await resolutions(), [["prompt", "${explain.count}", "3", ""]]);
      assert.equal(brief.template_resolutions.length, 1);
      const text = await details();
      assert.match(text, /CPU time\s+user \d+ms · system \d+ms/);
      assert.match(text, /retries\s+0\n/);
      assert.match(text, /mutations\n/);
      assert.match(text, /set brief\.response/);

      // Keyboard: the timeline is focused (after the click); ↓ moves to brief's call, End to the last bar.
      await page.keyboard.press("ArrowDown");
      assert.match(await details(), /^LLM call · claude-haiku-4-5\n/);
      assert.match(await details(), /response\n+echo: Combine 3 answers/);
      await page.keyboard.press("End");
      assert.match(await details(), /^save\n/);
      await page.keyboard.press("Home");
      assert.match(await details(), /^prepare\n/);
      const selected = await page.$$eval('.row[aria-selected="true"]', (els) => els.map((e) => e.id));
      assert.deepEqual(selected, ["bar-0-0"]);
      assert.equal(await page.$eval(".rows", (e) => e.getAttribute("aria-activedescendant")), "bar-0-0");
      assert.deepEqual(problems, []);
    });
  } finally {
    home.cleanup();
  }
});

browserTest("a prompt with <script> and </script> is shown as text; nothing from the data runs or loads", async () => {
  const home = tempDir();
  try {
    const tracePath = await withServer((server) =>
      parallelRun(home.path, server, `Combine ${NASTY} \${explain.count}`)
    );
    const file = await writePage(home.path, [tracePath]);
    await withChromium(async (browser) => {
      const { page, requests, problems } = await load(browser, file);
      assert.equal(await page.evaluate(() => (globalThis as unknown as { __pwned?: number }).__pwned), undefined);
      // Only the page's own two scripts, and no element made from data.
      assert.equal(await page.evaluate(() => document.scripts.length), 2);
      assert.equal(await page.evaluate(() => document.querySelectorAll("img, iframe, object, embed").length), 0);
      await page.click("#bar-0-6 .bar"); // brief's call
      const prompt = await page.$$eval(".details pre", (els) => els.map((e) => e.textContent));
      assert.ok(prompt.includes(`Combine ${NASTY} 3`), JSON.stringify(prompt));
      assert.ok(prompt.includes(`echo: Combine ${NASTY} 3`));
      assert.equal(await page.evaluate(() => (globalThis as unknown as { __pwned?: number }).__pwned), undefined);
      assert.deepEqual(requests, [`file://${file}`]);
      assert.deepEqual(problems, []);
    });
  } finally {
    home.cleanup();
  }
});

browserTest("no network request while the page loads: only the file itself, no resource entries", async () => {
  const home = tempDir();
  try {
    const tracePath = await withServer((server) => parallelRun(home.path, server));
    const file = await writePage(home.path, [tracePath]);
    await withChromium(async (browser) => {
      const { page, requests, problems } = await load(browser, file);
      assert.deepEqual(requests, [`file://${file}`]);
      assert.equal(await page.evaluate(() => performance.getEntriesByType("resource").length), 0);
      assert.deepEqual(problems, []);
    });
  } finally {
    home.cleanup();
  }
});

browserTest(
  "a planned run: planner trace and workflow trace on one axis, the workflow after the planning",
  async () => {
    const home = tempDir();
    try {
      const request = "repeat hi <script>window.__pwned = 3</script> and count";
      const { planner, workflow: wf } = await withServer((server) => plannedRun(home.path, server, request));
      const docs = [planner, wf].map((p) => JSON.parse(readFileSync(p, "utf8")) as TraceDocument);
      const file = await writePage(home.path, [wf]);
      await withChromium(async (browser) => {
        const { page, problems } = await load(browser, file);
        const groups = await page.$$eval(".group", (els) => els.map((e) => e.textContent));
        assert.deepEqual(groups, docs.map((d) => `${d.kind}: ${d.workflow_name} (success)`));
        assert.deepEqual(groups.map((g) => g.split(":")[0]), ["planner", "workflow"]);
        const shown = await rows(page);
        const bars = docs.map((d) => d.events.reduce((n, e) => n + 1 + e.llm_calls.length, 0));
        assert.equal(shown.length, bars[0] + bars[1]);
        assert.ok(shown.slice(0, bars[0]).some((r) => r.kind === "llm"), "the planner's LLM call is a bar");
        const plannerEnd = Math.max(...shown.slice(0, bars[0]).map((r) => r.right));
        assert.ok(shown[bars[0]].left >= plannerEnd - 1, `${shown[bars[0]].left} >= ${plannerEnd}`);
        const cards = await page.$$eval(".card h2 .kind", (els) => els.map((e) => e.textContent));
        assert.deepEqual(cards, ["planner", "workflow"]);
        assert.equal(await page.$eval(".card dd", (e) => e.textContent), request);
        // The planner's header and footer fields, from its card's button and from its title row.
        for (const selector of [".card button.fields", ".group"]) {
          await page.click(selector);
          const fields = await page.$eval(".details", (e) => (e as HTMLElement).innerText);
          assert.match(fields, /"kind": "planner"/);
          assert.match(fields, /"path": "generate"/);
          assert.ok(fields.includes(request));
        }
        assert.equal(await page.evaluate(() => (globalThis as unknown as { __pwned?: number }).__pwned), undefined);
        assert.deepEqual(problems, []);
      });
    } finally {
      home.cleanup();
    }
  },
);

browserTest("bars are coloured by status: a failed attempt and a failed node are red, with their errors", async () => {
  const home = tempDir();
  try {
    const wf = writeWorkflow(
      home.path,
      "flaky.json",
      workflow([
        { id: "ask", type: "llm", params: { model: "anthropic/claude-haiku-4-5", prompt: "[[fail:429:1]] hello" } },
        { id: "check", type: "shell", params: { command: "echo 'no luck' >&2; exit 3" } },
      ], { name: "flaky", edges: [{ from: "ask", to: "check" }] }),
    );
    const tracePath = await withServer((server) =>
      tracedRun(wf, {
        home: home.path,
        env: { ANTHROPIC_API_KEY: "sk-ant-test", ANTHROPIC_BASE_URL: server.url },
        expectFailure: true,
      })
    );
    const file = await writePage(home.path, [tracePath]);
    await withChromium(async (browser) => {
      const { page, problems } = await load(browser, file);
      const shown = await rows(page);
      assert.deepEqual(shown.map((r) => `${r.kind} ${r.status}`), [
        "node st-success",
        "llm st-error",
        "llm st-success",
        "node st-error",
      ]);
      const colour = (id: string) => page.$eval(`#${id} .bar`, (e) => getComputedStyle(e).backgroundColor);
      assert.notEqual(await colour("bar-0-1"), await colour("bar-0-2"));
      assert.notEqual(await colour("bar-0-0"), await colour("bar-0-3"));
      assert.match(await page.$eval("#bar-0-0 .bar-text", (e) => e.textContent!), / · 1 retry$/);
      const card = await page.$eval(".card", (e) => (e as HTMLElement).innerText);
      assert.match(card, /status\s+failed/);
      assert.match(card, /error\s+node 'check': /);
      await page.click("#bar-0-1 .bar");
      const attempt = await page.$eval(".details", (e) => (e as HTMLElement).innerText);
      assert.match(attempt, /status\s+error/);
      assert.match(attempt, /HTTP status\s+429/);
      await page.click("#bar-0-3 .bar");
      const failed = await page.$eval(".details", (e) => (e as HTMLElement).innerText);
      assert.match(failed, /action\s+error\n/);
      assert.match(failed, /error \(ended the run\)\n+[^\n]*exit[^\n]*3/i);
      assert.deepEqual(problems, []);
    });
  } finally {
    home.cleanup();
  }
});

browserTest("a 1,000-node trace renders in under a second", async () => {
  const home = tempDir();
  try {
    // 900 echo nodes and 100 llm nodes in a chain.
    const nodes = Array.from(
      { length: 1000 },
      (_, i) =>
        i % 10 === 9
          ? { id: `n${i}`, type: "llm", params: { model: "anthropic/claude-haiku-4-5", prompt: `step ${i}` } }
          : { id: `n${i}`, type: "echo", params: { value: `value ${i}` } },
    );
    const edges = nodes.slice(1).map((n, i) => ({ from: nodes[i].id, to: n.id }));
    const wf = writeWorkflow(home.path, "big.json", workflow(nodes, { name: "big", edges }));
    const tracePath = await withServer((server) =>
      tracedRun(wf, { home: home.path, env: { ANTHROPIC_API_KEY: "sk-ant-test", ANTHROPIC_BASE_URL: server.url } })
    );
    const file = await writePage(home.path, [tracePath]);
    await withChromium(async (browser) => {
      const timings: { drawn: number; firstFrame: number }[] = [];
      for (let run = 0; run < 3; run++) {
        const { page, problems } = await load(browser, file);
        assert.equal(await page.$$eval(".rows .row", (els) => els.length), 1100);
        assert.deepEqual(problems, []);
        // From navigation start: parse, JSON, DOM drawn (the page's mark); then the first frame after it.
        timings.push(
          await page.evaluate(async () => {
            const drawn = performance.getEntriesByName("pflow:rendered")[0].startTime;
            const g = globalThis as unknown as { __firstFrame?: number };
            while (g.__firstFrame === undefined) await new Promise((done) => setTimeout(done, 10));
            return { drawn, firstFrame: g.__firstFrame };
          }),
        );
        await page.close();
      }
      const best = timings.reduce((a, b) => (a.firstFrame < b.firstFrame ? a : b));
      console.log(
        `1,000-node trace (${(readFileSync(file).length / 1e6).toFixed(2)} MB page): drawn ${
          best.drawn.toFixed(0)
        } ms, first frame ${best.firstFrame.toFixed(0)} ms after navigation (best of 3: ${
          timings.map((t) => t.firstFrame.toFixed(0)).join(", ")
        })`,
      );
      assert.ok(best.firstFrame < 1000, `rendered in ${best.firstFrame} ms`);
    });
  } finally {
    home.cleanup();
  }
});

/** WCAG contrast ratio of two `#rrggbb` colours. */
function contrast(a: string, b: string): number {
  const luminance = (hex: string) => {
    const [r, g, bl] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255)
      .map((c) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4));
    return 0.2126 * r + 0.7152 * g + 0.0722 * bl;
  };
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}

browserTest("colours have enough contrast in light and dark schemes and in print", async () => {
  const home = tempDir();
  try {
    const tracePath = await withServer((server) => parallelRun(home.path, server));
    const file = await writePage(home.path, [tracePath]);
    await withChromium(async (browser) => {
      const { page } = await load(browser, file);
      for (const [scheme, media] of [["light", "screen"], ["dark", "screen"], ["dark", "print"]] as const) {
        await page.emulateMediaFeatures([{ name: "prefers-color-scheme", value: scheme }]);
        await page.emulateMediaType(media);
        const v = await page.evaluate(() => {
          const style = getComputedStyle(document.documentElement);
          const names = [
            "bg",
            "panel",
            "track",
            "fg",
            "muted",
            "ok",
            "err",
            "warn",
            "llm",
            "llm-err",
            "select-bg",
            "cost",
          ];
          return Object.fromEntries(names.map((n) => [n, style.getPropertyValue(`--${n}`).trim().toLowerCase()]));
        });
        const where = `${scheme} ${media}`;
        if (media === "print") assert.equal(v.bg, "#ffffff", where);
        for (const text of ["fg", "muted", "ok", "err", "warn"]) {
          for (const ground of ["bg", "panel", "select-bg"]) {
            assert.ok(
              contrast(v[text], v[ground]) >= 4.5,
              `${where}: ${text} on ${ground} ${contrast(v[text], v[ground])}`,
            );
          }
        }
        // A label with no room beside its bar is written on it in the page's background colour.
        for (const bar of ["ok", "err", "warn", "llm", "llm-err"]) {
          assert.ok(contrast(v.bg, v[bar]) >= 4.5, `${where}: bg text on ${bar} ${contrast(v.bg, v[bar])}`);
        }
        for (const bar of ["ok", "err", "warn", "llm", "llm-err", "cost"]) {
          for (const ground of ["bg", "track", "select-bg"]) {
            assert.ok(
              contrast(v[bar], v[ground]) >= 3,
              `${where}: ${bar} bar on ${ground} ${contrast(v[bar], v[ground])}`,
            );
          }
        }
      }
      // Printed, the details panel flows with the page instead of sticking to the screen.
      assert.equal(await page.$eval(".details", (e) => getComputedStyle(e).position), "static");
    });
  } finally {
    home.cleanup();
  }
});

browserTest("screenshot of the example run (examples/explain.json), saved as a test artifact", async () => {
  const home = tempDir();
  try {
    const tracePath = await withServer(async (server) => {
      const answers = [
        ["Prompt caching stores a prompt's stable prefix on the provider's side.", 620, 1210, 38],
        ["Reasoning tokens are the model's hidden thinking, billed as output.", 810, 1195, 41],
        ["A retry-after header says how long to wait before retrying.", 540, 1203, 35],
      ] as const;
      for (const [text, delayMs, input, output] of answers) {
        server.enqueue({ text, delayMs, usage: { input_tokens: input, output_tokens: output } });
      }
      server.enqueue({
        text: "# Brief\n\n- Prompt caching …\n- Reasoning tokens …\n- Retry-after …",
        delayMs: 950,
        usage: { input_tokens: 640, cache_read_input_tokens: 1024, output_tokens: 182 },
      });
      return await tracedRun(join(ROOT, "examples", "explain.json"), {
        home: home.path,
        env: { ANTHROPIC_API_KEY: "sk-ant-test", ANTHROPIC_BASE_URL: server.url },
        params: [`out=${join(home.path, "brief.md")}`],
      });
    });
    const file = await writePage(home.path, [tracePath]);
    await withChromium(async (browser) => {
      const { page, problems } = await load(browser, file, 1280);
      await page.emulateMediaFeatures([{ name: "prefers-color-scheme", value: "light" }]);
      await page.click("#bar-0-2 .bar"); // the first call of the parallel batch
      const shot = artifactPath("trace-html-example.png");
      await page.screenshot({ path: shot, fullPage: true });
      assert.ok(readFileSync(shot).length > 20_000);
      // PFLOW_UPDATE_DOCS=1 refreshes the README's screenshot.
      if (process.env.PFLOW_UPDATE_DOCS === "1") {
        mkdirSync(join(ROOT, "docs"), { recursive: true });
        copyFileSync(shot, join(ROOT, "docs", "trace-html.png"));
      }
      assert.deepEqual(problems, []);
    });
  } finally {
    home.cleanup();
  }
});
