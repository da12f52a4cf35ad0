/**
 * One rule for what a run cost, everywhere it is shown: the JSON result, the
 * ledger, the trace footer, `trace list`, `trace show` and the HTML page count
 * a provider-reported cost (OpenRouter `usage.cost`) where there is one, else
 * pflow's computed price. End to end through the compiled `dist/pflow`
 * against the local provider server (OpenAI wire protocol, OpenRouter route).
 * @module
 */
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runPflow, workflow, writeWorkflow } from "./support/cli.ts";
import { type LlmHome, withLlmHome } from "./support/llm_home.ts";
import { writeSettings } from "./support/llm_run.ts";
import { startOtlpReceiver } from "./support/otlp_receiver.ts";
import { type CostLine, pageData } from "../src/cli/trace_page.ts";

type Ctx = LlmHome;

/** `ctx.env` with OpenRouter pointed at the local server (its OpenAI-compatible route). */
function openRouter(ctx: Ctx): Record<string, string> {
  writeSettings(ctx, { providers: { openrouter: { base_url: `${ctx.srv.url}/v1` } } });
  return { ...ctx.env, OPENROUTER_API_KEY: "sk-or-v1-test", NO_COLOR: "1" };
}

/** An llm node whose reply carries this usage verbatim (OpenAI fields, OpenRouter's `cost` among them). */
function node(id: string, model: string, usage: Record<string, unknown>) {
  return { id, type: "llm", params: { model, prompt: `${id} [[usage:${JSON.stringify(usage)}]]` } };
}

function close(actual: number, expected: number, what: string) {
  assert.ok(Math.abs(actual - expected) < 1e-12, `${what}: ${actual} != ${expected}`);
}

Deno.test("a provider-reported cost is the cost in the trace footer, trace list, trace show and the page, as in the result", async () => {
  await withLlmHome(async (ctx) => {
    const env = openRouter(ctx);
    // Sonnet 4.5 is priced at $3 / $15 per million: 10,000 in + 1,000 out = $0.045 computed; OpenRouter bills $0.05.
    // Llama has no price in the table: only its reported $0.002 is known.
    const file = writeWorkflow(
      ctx.dir,
      "wf.json",
      workflow([
        node("a", "openrouter/anthropic/claude-sonnet-4.5", {
          prompt_tokens: 10000,
          completion_tokens: 1000,
          cost: 0.05,
        }),
        node("b", "openrouter/meta-llama/llama-3.3-70b-instruct", {
          prompt_tokens: 10000,
          completion_tokens: 1000,
          cost: 0.002,
        }),
      ], { edges: [{ from: "a", to: "b" }] }),
    );
    const run = await runPflow(["run", file, "--output-format", "json", "--trace"], { env });
    assert.equal(run.code, 0, run.stderr);
    const doc = JSON.parse(run.stdout);
    close(doc.total_cost_usd, 0.052, "result");
    assert.equal(doc.pricing.complete, true);

    const trace = JSON.parse(readFileSync(doc.trace_path, "utf8"));
    close(trace.llm_totals.cost_usd, 0.052, "llm_totals");
    assert.deepEqual(trace.llm_totals.unpriced_models, [], "a model billed by its reported cost is not unpriced");
    // Each call keeps both figures.
    const [a, b] = trace.events.map((e: { llm_calls: { cost_usd: number; reported_cost_usd: number }[] }) =>
      e.llm_calls[0]
    );
    close(a.cost_usd, 0.045, "a computed");
    assert.equal(a.reported_cost_usd, 0.05);
    assert.equal(b.cost_usd, null);
    assert.equal(b.reported_cost_usd, 0.002);

    const listed = await runPflow(["trace", "list", "--json"], { env });
    assert.equal(listed.code, 0, listed.stderr);
    const entry = JSON.parse(listed.stdout)[0];
    assert.deepEqual([entry.total_cost_usd, entry.cost_complete], [0.052, true]);
    const list = await runPflow(["trace", "list"], { env });
    assert.match(list.stdout.split("\n")[1], / \$0\.0520 /);

    const shown = await runPflow(["trace", "show", doc.trace_path], { env });
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout.split("\n")[0], / · \$0\.0520 · /);
    assert.match(shown.stdout, / a +llm .* · \$0\.0500\n/);
    assert.match(shown.stdout, / b +llm .* · \$0\.0020\n/);
    assert.match(shown.stdout, /total \$0\.0520$/m);
    assert.doesNotMatch(shown.stdout, /unpriced|\$0\.0450|\$0\.0520\+/);
    // A call's details show pflow's price beside the reported one.
    const detail = await runPflow(["trace", "show", doc.trace_path, "--node", "a"], { env });
    assert.match(detail.stdout, /cost: \$0\.0500 provider reported · \$0\.0450 computed · /);
    const detailB = await runPflow(["trace", "show", doc.trace_path, "--node", "b"], { env });
    assert.match(detailB.stdout, /cost: \$0\.0020 provider reported · unpriced by pflow · /);

    // The page: one figure, the run's (no second "run cost" line that differs).
    const page = pageData([{ path: doc.trace_path, trace, complete: true, eventCount: trace.events.length }]);
    const t = page.traces[0];
    assert.equal(t.cost.total_usd, 0.052);
    assert.equal(t.cost.total_text, "$0.0520");
    assert.equal(page.total_text, "$0.0520");
    assert.deepEqual(t.cost.unpriced, []);
    const facts = Object.fromEntries(t.facts);
    assert.equal(facts.cost, "$0.0520");
    assert.equal(facts["run cost"], undefined);
    const lines = (by: CostLine[]) => Object.fromEntries(by.map((l) => [l.label, [l.usd, l.text]]));
    assert.deepEqual(lines(t.cost.by_node), { a: [0.05, "$0.0500"], b: [0.002, "$0.0020"] });
  });
});

Deno.test("a provider-reported cost counts in cost report --reprice and in the OTLP export, as in the result", async () => {
  await withLlmHome(async (ctx) => {
    const receiver = await startOtlpReceiver();
    try {
      const env = { ...openRouter(ctx), OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url };
      // As above: Sonnet computed $0.045, billed $0.05; Llama unpriced, billed $0.002. And a plain Haiku call
      // without a reported cost: 400*1 + 100*5 = $0.0009.
      const file = writeWorkflow(
        ctx.dir,
        "wf.json",
        workflow([
          node("a", "openrouter/anthropic/claude-sonnet-4.5", {
            prompt_tokens: 10000,
            completion_tokens: 1000,
            cost: 0.05,
          }),
          node("b", "openrouter/meta-llama/llama-3.3-70b-instruct", {
            prompt_tokens: 10000,
            completion_tokens: 1000,
            cost: 0.002,
          }),
          node("c", "anthropic/claude-haiku-4-5", { input_tokens: 400, output_tokens: 100 }),
        ], { edges: [{ from: "a", to: "b" }, { from: "b", to: "c" }] }),
      );
      const run = await runPflow(["run", file, "--output-format", "json"], { env });
      assert.equal(run.code, 0, run.stderr);
      const doc = JSON.parse(run.stdout);
      close(doc.total_cost_usd, 0.0529, "result");

      // Repriced with the same prices: the same, every model priced (Llama by its reported cost).
      const report = await runPflow(["cost", "report", "--by", "model", "--reprice", "--json"], { env });
      assert.equal(report.code, 0, report.stderr);
      const r = JSON.parse(report.stdout);
      close(r.totals.cost_usd, 0.0529, "recorded");
      close(r.totals.repriced_cost_usd, 0.0529, "repriced");
      assert.equal(r.totals.repriced_complete, true);
      assert.deepEqual(r.price_table.unpriced_models, []);
      const rows = Object.fromEntries(r.rows.map((row: { group: string }) => [row.group, row]));
      close(rows["openrouter/anthropic/claude-sonnet-4.5"].repriced_cost_usd, 0.05, "sonnet keeps its reported cost");
      close(rows["openrouter/meta-llama/llama-3.3-70b-instruct"].repriced_cost_usd, 0.002, "llama");
      assert.equal(rows["openrouter/meta-llama/llama-3.3-70b-instruct"].repriced_unpriced_calls, 0);
      // A new price for Haiku reprices its call; the reported costs stay.
      const table = join(ctx.dir, "prices.yaml");
      writeFileSync(table, "models:\n  anthropic/claude-haiku-4-5:\n    input: 2\n    output: 10\n");
      const newer = await runPflow(["cost", "report", "--reprice", "--price-table", table, "--json"], { env });
      assert.equal(newer.code, 0, newer.stderr);
      close(JSON.parse(newer.stdout).totals.repriced_cost_usd, 0.052 + 0.0018, "with Haiku at twice its price");
      const text = await runPflow(["cost", "report", "--reprice"], { env: { ...env, COLUMNS: "200" } });
      assert.match(text.stdout, /\nTotal .* \$0\.0529 +\$0\.0529 +0\.0%\n/);
      assert.doesNotMatch(text.stdout, /unpriced|not in that table/);

      // The chat spans count what the run counted; the run span is their sum.
      assert.equal(receiver.requests.length, 1);
      const spans = receiver.spans();
      const chat = (model: string) => spans.find((s) => s.span.name === `chat ${model}`)!.attributes;
      const sonnet = chat("anthropic/claude-sonnet-4.5");
      assert.deepEqual(
        [sonnet["pflow.cost_usd"], sonnet["pflow.reported_cost_usd"], sonnet["pflow.computed_cost_usd"]],
        [0.05, 0.05, 0.045],
      );
      const llama = chat("meta-llama/llama-3.3-70b-instruct");
      assert.deepEqual(
        [llama["pflow.cost_usd"], llama["pflow.reported_cost_usd"], llama["pflow.computed_cost_usd"]],
        [0.002, 0.002, undefined],
      );
      const haiku = chat("claude-haiku-4-5");
      assert.deepEqual(
        [haiku["pflow.cost_usd"], haiku["pflow.reported_cost_usd"], haiku["pflow.computed_cost_usd"]],
        [0.0009, undefined, undefined],
      );
      const root = spans.find((s) => s.span.name.startsWith("invoke_workflow"))!;
      assert.equal(root.attributes["pflow.total_cost_usd"], 0.0529);
    } finally {
      await receiver.close();
    }
  });
});

Deno.test("--max-budget-usd warns once per model that it cannot count calls without usage; the usage warning is once per node", async () => {
  await withLlmHome(async (ctx) => {
    const file = writeWorkflow(
      ctx.dir,
      "wf.json",
      workflow([{
        id: "a",
        type: "llm",
        batch: { items: [1, 2, 3, 4, 5] },
        params: { model: "openai/gpt-4o", prompt: "hi ${item} [[no-usage]]" },
      }]),
    );
    const run = await runPflow(["run", file, "--max-budget-usd", "0.000001"], { env: { ...ctx.env, NO_COLOR: "1" } });
    // Nothing was counted, so nothing stopped the calls: all five ran, and the run says why.
    assert.equal(run.code, 0, run.stderr);
    assert.equal(ctx.srv.requests.length, 5);
    const warnings = run.stderr.split("\n").filter((line) => line.startsWith("warning:"));
    assert.deepEqual(
      warnings.filter((w) => /budget/.test(w)).map((w) => w.replace(/^warning: (\[a\] )?/, "")),
      ["no usage reported for model 'openai/gpt-4o': the budget cannot count its calls (their cost is unknown)"],
    );
    const usage = warnings.filter((w) => /\(node 'a'\): no usage reported/.test(w));
    assert.equal(usage.length, 1, run.stderr);
    assert.match(
      usage[0],
      /^warning: openai\/gpt-4o \(node 'a'\): no usage reported for 5 calls \(requests \S+, \S+, \S+, … 2 more\) \(interrupted, cut off, or the provider sent none\); their tokens and cost are unknown$/,
    );
  });
});

Deno.test("a rejected attempt (429, no tokens) costs $0 even for a model priced only by its reported cost: the run stays complete", async () => {
  await withLlmHome(async (ctx) => {
    const env = openRouter(ctx);
    const usage = JSON.stringify({ prompt_tokens: 10000, completion_tokens: 1000, cost: 0.002 });
    // `[[fail:429:1]]` fails the first request with this exact prompt: each run gets its own.
    const wf = (name: string) =>
      writeWorkflow(
        ctx.dir,
        `${name}.json`,
        workflow([{
          id: "a",
          type: "llm",
          params: {
            model: "openrouter/meta-llama/llama-3.3-70b-instruct",
            prompt: `${name} [[fail:429:1]] [[usage:${usage}]]`,
          },
        }]),
      );
    const file = wf("json");
    const run = await runPflow(["run", file, "--output-format", "json", "--trace"], { env });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(ctx.srv.requests.length, 2, "one 429, then the reply");
    const doc = JSON.parse(run.stdout);
    close(doc.total_cost_usd, 0.002, "result");
    assert.deepEqual(doc.pricing.unpriced_models, []);
    assert.equal(doc.pricing.complete, true);
    const calls = JSON.parse(readFileSync(doc.trace_path, "utf8")).events[0].llm_calls;
    assert.deepEqual(calls.map((c: { status: string; cost_usd: number | null }) => [c.status, c.cost_usd]), [
      ["error", 0],
      ["ok", null],
    ]);
    const ledger = await runPflow(["cost", "show", "latest", "--json"], { env });
    assert.equal(ledger.code, 0, ledger.stderr);
    const totals = JSON.parse(ledger.stdout).totals;
    assert.deepEqual([totals.cost_usd, totals.cost_complete], [0.002, true]);
    const text = await runPflow(["run", wf("text")], { env });
    assert.equal(text.code, 0, text.stderr);
    assert.equal(ctx.srv.requests.length, 4, "one 429, then the reply");
    assert.match(text.stderr, / · \$0\.0020 · /);
    assert.doesNotMatch(text.stderr, /no price|not counted|\$0\.0020\+/);
  });
});

Deno.test("a budget stop says what was spent as the CLI writes money, and the total once calls in flight have finished", async () => {
  await withLlmHome(async (ctx) => {
    // Haiku 4.5 at $1 / $5 per million. Two in flight at once: item 0 ($0.0015) ends first and reaches the
    // $0.001 budget; item 1 ($0.0035) is still in flight, finishes and counts; item 2 never starts.
    const usage = (input_tokens: number, output_tokens: number) => JSON.stringify({ input_tokens, output_tokens });
    const file = writeWorkflow(
      ctx.dir,
      "wf.json",
      workflow([{
        id: "fan",
        type: "llm",
        batch: {
          items: [
            `[[usage:${usage(1000, 100)}]] [[sleep:50]]`,
            `[[usage:${usage(2000, 300)}]] [[sleep:600]]`,
            `[[usage:${usage(4000, 400)}]]`,
          ],
          parallel: true,
          max_concurrent: 2,
        },
        params: { model: "anthropic/claude-haiku-4-5", prompt: "${item}" },
      }]),
    );
    const run = await runPflow(["run", file, "--max-budget-usd", "0.001", "--output-format", "json", "--trace"], {
      env: ctx.env,
    });
    assert.equal(run.code, 1, run.stderr);
    assert.equal(ctx.srv.requests.length, 2);
    const doc = JSON.parse(run.stdout);
    assert.equal(doc.total_cost_usd, 0.005);
    const message = "budget of $0.0010 reached ($0.0015 spent); no further LLM call was started; " +
      "calls already in flight then finished: $0.0050 spent in all";
    assert.equal(doc.error.message, message);
    assert.equal(JSON.parse(readFileSync(doc.trace_path, "utf8")).error.message, message);
    const text = await runPflow(["run", file, "--max-budget-usd", "0.001"], {
      env: { ...ctx.env, NO_COLOR: "1" },
    });
    assert.equal(text.code, 1, text.stderr);
    assert.match(text.stderr, /^✗ 1 node · \S+ · \$0\.0050 · /m);
    assert.ok(text.stderr.includes(`error: node 'fan' failed: ${message}\n`), text.stderr);
  });
});
