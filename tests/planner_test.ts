/**
 * End-to-end tests of the natural-language planner through the compiled
 * `dist/pflow` binary, against the local LLM server scripted with the
 * planner's structured replies (Anthropic `tool_use` or JSON text, OpenAI
 * JSON text): reuse, generate, repair, exhausted repairs, missing inputs,
 * dry runs, saving, timeouts, interrupts, budgets, the result document,
 * planner traces and prompt caching. Every test has its own PFLOW_HOME.
 * @module
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { spawn, spawnSync } from "node:child_process";
import { type CliResult, PFLOW_BIN, runPflow, tempDir } from "./support/cli.ts";
import { flattenTraces, startOtlpReceiver } from "./support/otlp_receiver.ts";
import { startPushgateway } from "./support/prometheus.ts";
import { type LlmServer, type RecordedRequest, startLlmServer } from "./support/llm_server.ts";
import { parseTraceText, type TraceDocument } from "../src/observability/trace_format.ts";

const HAIKU = "anthropic/claude-haiku-4-5";
const MINI = "openai/gpt-4o-mini";
/** Anthropic usage of one planner call: 1000 in, 200 out. Haiku 4.5: 1000*1.00 + 200*5.00 = 2000 µ$. */
const PLAN_USAGE = { input_tokens: 1000, output_tokens: 200 };
const PLAN_COST = 0.002;

interface Ctx {
  dir: string;
  home: string;
  srv: LlmServer;
  env: Record<string, string>;
}

async function withPlanner(fn: (ctx: Ctx) => Promise<void>): Promise<void> {
  const tmp = tempDir("pflow-planner-test-");
  const srv = await startLlmServer();
  try {
    const home = join(tmp.path, "home");
    mkdirSync(home);
    const env = {
      PFLOW_HOME: home,
      ANTHROPIC_API_KEY: "test-key-planner",
      ANTHROPIC_BASE_URL: srv.url,
      OPENAI_API_KEY: "test-key-planner",
      OPENAI_BASE_URL: `${srv.url}/v1`,
      PFLOW_PLANNER_MODEL: HAIKU,
    };
    await fn({ dir: tmp.path, home, srv, env });
  } finally {
    await srv.close();
    tmp.cleanup();
  }
}

// deno-lint-ignore no-explicit-any
type Doc = Record<string, any>;

function explain(result: CliResult): string {
  return `exit ${result.code} (signal ${result.signal})\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`;
}

function assertExit(result: CliResult, code: number): void {
  assert.equal(result.code, code, explain(result));
}

function oneJson(result: CliResult): Doc {
  const text = result.stdout.trim();
  assert.ok(text.startsWith("{") && text.endsWith("}"), `stdout is not one JSON object:\n${explain(result)}`);
  assert.equal(text.split("\n").length, 1, `stdout has more than one line:\n${explain(result)}`);
  return JSON.parse(text);
}

function plan(ctx: Ctx, args: string[], options: Parameters<typeof runPflow>[1] = {}): Promise<CliResult> {
  return runPflow(args, { env: ctx.env, cwd: ctx.dir, ...options });
}

/** A saved workflow: greets someone (an echo node, so it runs offline). */
const GREET = {
  ir_version: "0.1.0",
  name: "greet",
  description: "Greets a person by name",
  inputs: { name: { type: "string", description: "Who to greet" } },
  nodes: [{ id: "hello", type: "echo", params: { value: "Hello, ${name}!" } }],
  outputs: { greeting: { source: "${hello.output}", description: "The greeting" } },
};

function saveWorkflow(ctx: Ctx, name: string, ir: unknown): void {
  mkdirSync(join(ctx.home, "workflows"), { recursive: true });
  writeFileSync(join(ctx.home, "workflows", `${name}.json`), JSON.stringify(ir, null, 2));
}

/** A generated workflow: repeats a word `times` times with a shell node. */
function repeatWorkflow(extra: Record<string, unknown> = {}) {
  return {
    ir_version: "0.1.0",
    name: "repeat-word",
    description: "Repeats a word",
    inputs: {
      word: { type: "string", description: "The word to repeat" },
      times: { type: "integer", description: "How many times", default: 2 },
    },
    nodes: [{
      id: "say",
      type: "shell",
      params: { command: "for i in $(seq 1 ${times}); do printf '%s ' '${word}'; done" },
    }],
    outputs: { text: { source: "${say.stdout}", description: "The words" } },
    ...extra,
  };
}

/** The one planner reply of a valid generated plan. */
function generated(params: Record<string, unknown> = { word: "hi", times: 3 }, workflow: unknown = repeatWorkflow()) {
  return { json: { workflow, params }, usage: PLAN_USAGE };
}

/** The system prompt an Anthropic request sent (a string or text blocks). */
function systemText(request: RecordedRequest): string {
  const system = request.body?.system;
  if (typeof system === "string") return system;
  return Array.isArray(system) ? system.map((b: { text?: string }) => b.text ?? "").join("") : "";
}

/** Every text the request's messages carry. */
function messagesText(request: RecordedRequest): string {
  return JSON.stringify(request.body?.messages ?? []);
}

/** Runs any command to completion (for `script`, which gives pflow a terminal). */
function runCommand(
  command: string,
  args: string[],
  options: { env: Record<string, string>; cwd: string; stdin: string | string[] },
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: {
        PATH: process.env.PATH ?? "/usr/bin:/bin",
        HOME: process.env.HOME ?? "/tmp",
        TERM: "xterm",
        ...options.env,
      },
      stdio: ["pipe", "pipe", "pipe"],
      detached: true,
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => stdout += d);
    child.stderr.on("data", (d) => stderr += d);
    // A safety net, not a timing check: a pflow that never exits fails the test instead of hanging it.
    const stuck = setTimeout(() => process.kill(-child.pid!, "SIGKILL"), 30_000);
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(stuck);
      resolve({ code, signal, stdout, stderr });
    });
    // Typed once the prompt is up, as a person would; several answers half a second apart (one per prompt).
    const answers = typeof options.stdin === "string" ? [options.stdin] : options.stdin;
    answers.forEach((answer, i) => {
      setTimeout(() => i === answers.length - 1 ? child.stdin.end(answer) : child.stdin.write(answer), 1500 + 500 * i);
    });
  });
}

function plannerTraces(home: string): string[] {
  const dir = join(home, "debug");
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((f) => f.startsWith("planner-trace-")).map((f) => join(dir, f));
}

function readTrace(path: string): TraceDocument {
  return parseTraceText(readFileSync(path, "utf8")).trace;
}

Deno.test("generate: a valid plan at once is exactly one call, runs, and names its plan file", async () => {
  await withPlanner(async (ctx) => {
    ctx.srv.enqueue(generated());
    const result = await plan(ctx, ["repeat the word hi three times"]);
    assertExit(result, 0);
    assert.equal(result.stdout, "hi hi hi \n");
    assert.equal(ctx.srv.requests.length, 1);
    const plans = readdirSync(join(ctx.home, "plans"));
    assert.equal(plans.length, 1);
    assert.match(plans[0], /^repeat-word-\d{8}-\d{6}-[0-9a-f]{8}\.json$/);
    const planPath = join(ctx.home, "plans", plans[0]);
    assert.equal(statSync(planPath).mode & 0o777, 0o600);
    assert.deepEqual(JSON.parse(readFileSync(planPath, "utf8")), repeatWorkflow());
    assert.ok(result.stderr.includes(`Plan written to ${planPath}`), result.stderr);
    assert.ok(result.stderr.includes(`pflow workflow save ${planPath} --name repeat-word`), result.stderr);
    // ✓ planned (generate, 1 call, $0.0020) · 1 node · …s · $0.0020 total · 1,200 tokens
    assert.match(
      result.stderr,
      /✓ planned \(generate, 1 call, \$0\.0020\) · 1 node · [\d.]+m?s · \$0\.0020 total · 1,200 tokens/,
    );
    // No saved workflows: the reuse call is skipped, and no planner trace is written on success.
    assert.equal(plannerTraces(ctx.home).length, 0);
  });
});

Deno.test("generate: the run uses the planned workflow, not its plan file where a key it writes out is [REDACTED]", async () => {
  await withPlanner(async (ctx) => {
    // The plan writes a literal key into a URL; a file the child writes is the witness of what ran (output is redacted).
    const url = "https://api.example/apod?api_key=DEMO_KEY";
    const workflow = {
      ir_version: "0.1.0",
      name: "apod",
      nodes: [{ id: "get", type: "shell", params: { command: `printf '%s' '${url}' > sent.txt` } }],
    };
    ctx.srv.enqueue(generated({}, workflow));
    const result = await plan(ctx, ["get the picture of the day"]);
    assertExit(result, 0);
    assert.equal(readFileSync(join(ctx.dir, "sent.txt"), "utf8"), url);
    const [planFile] = readdirSync(join(ctx.home, "plans"));
    const planText = readFileSync(join(ctx.home, "plans", planFile), "utf8");
    assert.ok(planText.includes("api_key=[REDACTED]") && !planText.includes("DEMO_KEY"), planText);
    assert.match(
      result.stderr,
      /warning: the plan file holds \[REDACTED\] in place of 1 secret value the planned workflow writes out/,
    );
  });
});

Deno.test("generate: the 'Save it with' hint names the workflow as the save command accepts it; none after --save", async () => {
  await withPlanner(async (ctx) => {
    for (const name of ["My Repeat Workflow", "../../../tmp/evil", "run", "notes.json"]) {
      ctx.srv.enqueue(generated(undefined, repeatWorkflow({ name })));
      const result = await plan(ctx, ["repeat the word hi three times"]);
      assertExit(result, 0);
      const hint = /Save it with: (pflow workflow save \S+ --name (\S+))$/m.exec(result.stderr);
      assert.ok(hint, result.stderr);
      assert.match(hint[2], /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, `a name the save command accepts: ${hint[2]}`);
      // The hint works as written (saved in another home: here a saved workflow would add a reuse call).
      const other = join(ctx.dir, "other-home");
      mkdirSync(other, { recursive: true });
      const saved = await runPflow(hint[1].split(" ").slice(1), { env: { ...ctx.env, PFLOW_HOME: other } });
      assertExit(saved, 0);
    }
    ctx.srv.enqueue(generated());
    const withSave = await plan(ctx, ["plan", "repeat the word hi three times", "--save", "kept"]);
    assertExit(withSave, 0);
    assert.doesNotMatch(withSave.stderr, /Save it with/);
    assert.match(withSave.stderr, /Saved as kept/);
  });
});

Deno.test("generate: the 'Save it with' hint keeps the model's name when it ends with '.' or is cut at one", async () => {
  await withPlanner(async (ctx) => {
    const cut = `${"a".repeat(54)}.b`; // cut to 55 characters, it ends with '.'
    for (
      const [name, expected] of [
        ["Summarize notes.", "Summarize-notes"],
        ["Fetch v1.2...", "Fetch-v1.2"],
        [cut, "a".repeat(54)],
        ["notes-.json.", "notes"],
      ]
    ) {
      ctx.srv.enqueue(generated(undefined, repeatWorkflow({ name })));
      const result = await plan(ctx, ["repeat the word hi three times"]);
      assertExit(result, 0);
      const hint = /Save it with: (pflow workflow save \S+ --name (\S+))$/m.exec(result.stderr);
      assert.ok(hint, result.stderr);
      assert.equal(hint[2], expected, `from ${name}`);
      const other = join(ctx.dir, "other-home");
      mkdirSync(other, { recursive: true });
      assertExit(await runPflow(hint[1].split(" ").slice(1), { env: { ...ctx.env, PFLOW_HOME: other } }), 0);
    }
  });
});

Deno.test("generate: the 'Save it with' hint suggests a free name when the workflow's is taken (repeat-word-2), and works as printed", async () => {
  await withPlanner(async (ctx) => {
    saveWorkflow(ctx, "repeat-word", GREET);
    const noReuse = { json: { workflow_name: null, params: {}, reason: "nothing fits" }, usage: PLAN_USAGE };
    ctx.srv.enqueue(noReuse, generated());
    const result = await plan(ctx, ["repeat the word hi three times"]);
    assertExit(result, 0);
    const hint = /Save it with: (pflow workflow save \S+ --name (\S+))$/m.exec(result.stderr);
    assert.ok(hint, result.stderr);
    assert.equal(hint[2], "repeat-word-2");
    assertExit(await runPflow(hint[1].split(" ").slice(1), { env: ctx.env }), 0);
    // Taken too now: the next free one.
    ctx.srv.enqueue(noReuse, generated());
    const again = await plan(ctx, ["repeat the word hi three times"]);
    assert.match(again.stderr, /Save it with: pflow workflow save \S+ --name repeat-word-3$/m);
    assert.equal(JSON.parse(readFileSync(join(ctx.home, "workflows", "repeat-word.json"), "utf8")).name, "greet");
  });
});

Deno.test("a planned run's traces each count their own calls: the planning once, in the planner trace", async () => {
  await withPlanner(async (ctx) => {
    ctx.srv.enqueue(generated());
    const result = await plan(ctx, ["plan", "repeat the word hi three times", "--trace", "--trace-planner"]);
    assertExit(result, 0);
    const list = await plan(ctx, ["trace", "list", "--json"]);
    assertExit(list, 0);
    const entries = JSON.parse(list.stdout) as { kind: string; total_cost_usd: number | null }[];
    const byKind = Object.fromEntries(entries.map((e) => [e.kind, e.total_cost_usd]));
    assert.equal(byKind.planner, 0.002, "the planner trace: the planning call");
    assert.equal(byKind.workflow, 0, "the workflow trace: its shell node made no call");
    const show = await plan(ctx, ["trace", "show", "latest"], { env: { ...ctx.env, NO_COLOR: "1" } });
    assertExit(show, 0);
    assert.doesNotMatch(
      show.stdout.split("\n")[0],
      /\$0\.0020/,
      "the workflow trace's header does not carry the planning cost",
    );
  });
});

Deno.test("generate: the request, registry, rules and examples are sent; the static prompt is cacheable", async () => {
  await withPlanner(async (ctx) => {
    ctx.srv.enqueue(generated(), generated());
    assertExit(await plan(ctx, ["plan", "repeat hi", "--dry-run"]), 0);
    assertExit(await plan(ctx, ["plan", "repeat ho", "--dry-run"]), 0);
    const [first, second] = ctx.srv.requests;
    const system = systemText(first);
    for (const type of ["shell", "llm", "http", "read-file", "write-file", "echo"]) {
      assert.ok(system.includes(`### ${type}`), `registry lacks ${type}`);
    }
    assert.ok(system.includes("ignore_errors"), "params come from the node specs");
    assert.ok(system.includes('"$${"'), "the $${ escape rule is taught");
    assert.ok(messagesText(first).includes("repeat hi"));
    // cache_control on the system prompt, and the prompt byte-identical across requests.
    const blocks = first.body.system as { cache_control?: unknown }[];
    assert.ok(
      Array.isArray(blocks) && blocks.some((b) => b.cache_control !== undefined),
      JSON.stringify(first.body.system),
    );
    assert.equal(systemText(second), system);
    // Structured output: a forced tool or native JSON schema output.
    assert.ok(first.body.tools !== undefined || first.body.output_config !== undefined, JSON.stringify(first.body));
  });
});

Deno.test("reuse: a saved workflow is chosen with params, in one call, and says so", async () => {
  await withPlanner(async (ctx) => {
    saveWorkflow(ctx, "greet", GREET);
    saveWorkflow(ctx, "other", { ...GREET, name: "other", description: "Something else" });
    ctx.srv.enqueue({
      json: { workflow_name: "greet", params: { name: "Ada" }, reason: "it greets" },
      usage: PLAN_USAGE,
    });
    const result = await plan(ctx, ["say hello to Ada"]);
    assertExit(result, 0);
    assert.equal(result.stdout, "Hello, Ada!\n");
    assert.equal(ctx.srv.requests.length, 1);
    assert.ok(result.stderr.includes("Reused saved workflow greet"), result.stderr);
    const system = systemText(ctx.srv.requests[0]);
    assert.ok(system.includes("- greet: Greets a person by name"), system);
    assert.ok(system.includes("name (string, required): Who to greet"), system);
    assert.ok(!existsSync(join(ctx.home, "plans")), "a reused workflow writes no plan file");
  });
});

Deno.test("reuse: saved workflows that do not validate are left out of the catalogue, with a warning naming them", async () => {
  await withPlanner(async (ctx) => {
    saveWorkflow(ctx, "greet", GREET);
    saveWorkflow(ctx, "broken", {
      ...GREET,
      name: "broken",
      description: "Counts things",
      nodes: [{ id: "a", type: "ech0" }],
    });
    saveWorkflow(ctx, "typo", {
      ...GREET,
      name: "typo",
      description: "Lists things",
      nodes: [{ id: "a", type: "shell", params: { comand: "ls" } }],
    });
    writeFileSync(join(ctx.home, "workflows", "notjson.json"), "{");
    ctx.srv.enqueue({ json: { workflow_name: "greet", params: { name: "Ada" }, reason: "it greets" } });
    const result = await plan(ctx, ["say hello to Ada", "--output-format", "json"]);
    assertExit(result, 0);
    assert.equal(oneJson(result).subtype, "success");
    assert.match(
      result.stderr,
      /warning: 3 saved workflows do not validate and are not offered for reuse: 'broken', 'notjson', 'typo'; see 'pflow validate NAME'/,
    );
    const system = systemText(ctx.srv.requests[0]);
    assert.ok(system.includes("- greet: Greets a person by name"), system);
    assert.ok(!/broken|Counts things|typo|Lists things|notjson/.test(system), system);
    // One invalid workflow, and nothing valid to reuse: no reuse call at all, the planner generates.
    rmSync(join(ctx.home, "workflows"), { recursive: true });
    saveWorkflow(ctx, "broken", { ...GREET, name: "broken", nodes: [{ id: "a", type: "ech0" }] });
    ctx.srv.enqueue(generated());
    const generatedRun = await plan(ctx, ["repeat hi"]);
    assertExit(generatedRun, 0);
    assert.match(
      generatedRun.stderr,
      /warning: saved workflow 'broken' does not validate and is not offered for reuse; see 'pflow validate broken'/,
    );
    assert.equal(ctx.srv.requests.length, 2, "the reuse call was skipped");
  });
});

Deno.test("saved workflows by hand: a directory or FIFO named x.json is none, 'My Flow' is one (reused, run by name)", async () => {
  await withPlanner(async (ctx) => {
    saveWorkflow(ctx, "My Flow", { ...GREET, name: "My Flow" });
    mkdirSync(join(ctx.home, "workflows", "dir.json"));
    const fifo = spawnSync("mkfifo", [join(ctx.home, "workflows", "pipe.json")]);
    assert.equal(fifo.status, 0, String(fifo.stderr));
    // `workflow list` lists neither; the planner's catalogue does not warn about them either.
    ctx.srv.enqueue({ json: { workflow_name: "My Flow", params: { name: "Ada" }, reason: "it greets" } });
    const reused = await plan(ctx, ["say hello to Ada"]);
    assertExit(reused, 0);
    assert.equal(reused.stdout, "Hello, Ada!\n");
    assert.ok(!reused.stderr.includes("warning"), reused.stderr);
    assert.ok(systemText(ctx.srv.requests[0]).includes("- My Flow: Greets a person by name"));
    // `pflow "My Flow"`: the saved workflow of that exact name runs; nothing is planned (no request).
    const byName = await plan(ctx, ["My Flow", "name=Bo"]);
    assertExit(byName, 0);
    assert.equal(byName.stdout, "Hello, Bo!\n");
    assert.equal(ctx.srv.requests.length, 1, "no planner call");
  });
});

Deno.test("reuse: --dry-run validates the reused workflow with the given params, as the run would (exit 2, not 0)", async () => {
  await withPlanner(async (ctx) => {
    // Valid alone; with `a=1` given, the value and node a's outputs would share one name, which the run refuses.
    saveWorkflow(ctx, "count", {
      ir_version: "0.1.0",
      name: "count",
      description: "Counts the things",
      nodes: [{ id: "a", type: "echo", params: { value: "1" } }],
    });
    const reuse = { json: { workflow_name: "count", params: {}, reason: "it counts" } };
    ctx.srv.enqueue(reuse);
    const dry = await plan(ctx, ["count the things", "a=1", "--dry-run"]);
    assertExit(dry, 2);
    assert.match(dry.stderr, /count\.json:\d+:\d+: \/nodes\/0\/id: 'a=…' was given, but 'a' is this node's id/);
    assert.match(dry.stderr, /✗ planned \(reuse, 1 call/);
    assert.equal(dry.stdout, "");
    ctx.srv.enqueue(reuse);
    const doc = oneJson(await plan(ctx, ["count the things", "a=1", "--dry-run", "--output-format", "json"]));
    assert.equal(doc.subtype, "error_validation");
    assert.match(doc.error.problems[0].message, /'a=…' was given, but 'a' is this node's id/);
    // The run refuses it the same way.
    ctx.srv.enqueue(reuse);
    assertExit(await plan(ctx, ["count the things", "a=1"]), 2);
    // Without the clash the dry run succeeds.
    ctx.srv.enqueue(reuse);
    assertExit(await plan(ctx, ["count the things", "--dry-run"]), 0);
  });
});

Deno.test("reuse: secret defaults of saved workflows are not sent to the planner's provider; the run still uses them", async () => {
  await withPlanner(async (ctx) => {
    const token = "tok-live-9f8e7d6c5b4a3210";
    const password = "hunter2-pw-5566";
    const bearer = "bearer-cred-77aa88bb";
    saveWorkflow(ctx, "api", {
      ir_version: "0.1.0",
      name: "api",
      description: "Calls the API",
      inputs: {
        api_token: { type: "string", default: token, description: "The token" },
        base: { type: "string", default: `https://bot:${password}@api.example.com/v1` },
        headers: { type: "object", default: { Authorization: `Bearer ${bearer}`, Accept: "text/plain" } },
        region: { type: "string", default: "eu-west" },
      },
      nodes: [{
        id: "a",
        type: "shell",
        params: { command: 'test "$T" = ' + token + " && echo used", env: { T: "${api_token}" } },
      }],
    });
    ctx.srv.enqueue({ json: { workflow_name: "api", params: {}, reason: "it calls the api" } });
    const result = await plan(ctx, ["call the api please"]);
    assertExit(result, 0);
    assert.equal(result.stdout, "used\n", "the run gets the real default");
    const sent = JSON.stringify(ctx.srv.requests[0].body);
    for (const secret of [token, password, bearer]) assert.ok(!sent.includes(secret), `${secret} sent: ${sent}`);
    const system = systemText(ctx.srv.requests[0]);
    assert.ok(system.includes("api_token (string, optional, has a secret default (not shown)): The token"), system);
    // Other defaults are shown, with the secrets inside them hidden.
    assert.ok(system.includes('region (string, optional, default "eu-west")'), system);
    assert.ok(system.includes('default "https://bot:[REDACTED]@api.example.com/v1"'), system);
    assert.ok(system.includes('default {"Authorization":"[REDACTED]","Accept":"text/plain"}'), system);
  });
});

Deno.test("--dry-run refuses what the run would refuse (exit 2): a model with no API key here, generated or reused", async () => {
  await withPlanner(async (ctx) => {
    const asking = {
      ir_version: "0.1.0",
      name: "ask",
      inputs: { topic: { type: "string", description: "What to ask about" } },
      nodes: [{ id: "ask", type: "llm", params: { prompt: "about ${topic}", model: "google/gemini-2.5-flash" } }],
    };
    const env = { ...ctx.env, GOOGLE_GENERATIVE_AI_API_KEY: "" };
    ctx.srv.enqueue(generated({}, asking));
    const text = await plan(ctx, ["plan", "ask gemini", "--dry-run"], { env });
    assertExit(text, 2);
    assert.match(text.stderr, /GOOGLE_GENERATIVE_AI_API_KEY/);
    assert.match(text.stderr, /✗ planned \(generate, 1 call/);
    assert.equal(text.stdout, "");
    // The same plan with the key: the dry run succeeds, the missing input shown, not an error.
    ctx.srv.enqueue(generated({}, asking));
    const keyed = await plan(ctx, ["plan", "ask gemini", "--dry-run"], {
      env: { ...env, GOOGLE_GENERATIVE_AI_API_KEY: "k" },
    });
    assertExit(keyed, 0);
    assert.match(keyed.stdout, /topic +string \(missing\)/);
    // Reused: the same, text and JSON.
    saveWorkflow(ctx, "ask", asking);
    const reuse = () =>
      ctx.srv.enqueue({ json: { workflow_name: "ask", params: { topic: "owls" }, reason: "it asks" } });
    reuse();
    const reused = await plan(ctx, ["ask gemini about owls", "--dry-run"], { env });
    assertExit(reused, 2);
    assert.match(reused.stderr, /GOOGLE_GENERATIVE_AI_API_KEY/);
    assert.match(reused.stderr, /✗ planned \(reuse, 1 call/);
    reuse();
    const doc = oneJson(await plan(ctx, ["ask gemini about owls", "--dry-run", "--json"], { env }));
    assert.equal(doc.subtype, "error_validation");
    assert.match(doc.error.message, /GOOGLE_GENERATIVE_AI_API_KEY/);
    // The run refuses it the same way.
    reuse();
    assertExit(await plan(ctx, ["ask gemini about owls"], { env }), 2);
  });
});

Deno.test("a value the model extracts that is not of its input's type: a generated plan is repaired, a reused one leaves it out", async () => {
  await withPlanner(async (ctx) => {
    // Generated: the validator's problem goes to a repair, which fixes the value; the run then uses it.
    ctx.srv.enqueue(generated({ word: "hi", times: "three" }), generated({ word: "hi", times: 3 }));
    const repaired = await plan(ctx, ["repeat hi three times"]);
    assertExit(repaired, 0);
    assert.equal(repaired.stdout, "hi hi hi \n");
    assert.equal(ctx.srv.requests.length, 2);
    assert.match(
      messagesText(ctx.srv.requests[1]),
      /\/inputs\/times: \\"params\\" gives input 'times' a value that must be integer, got \\"three\\"/,
    );
    // Reused (no repair): left out with a warning, so a required input is missing, not refused by the run as
    // mistyped; on a dry run shown as missing.
    saveWorkflow(ctx, "count", {
      ir_version: "0.1.0",
      name: "count",
      description: "Counts to n",
      inputs: { n: { type: "integer", description: "How far" } },
      nodes: [{ id: "a", type: "shell", params: { command: "seq ${n}" } }],
    });
    const reuse = () =>
      ctx.srv.enqueue({ json: { workflow_name: "count", params: { n: "three" }, reason: "it counts" } });
    reuse();
    const reused = await plan(ctx, ["count to three"]);
    assertExit(reused, 2);
    assert.match(
      reused.stderr,
      /warning: \[inputs\] the planner's value for input 'n' must be integer, got "three"; left out, as if the request had not given it/,
    );
    assert.match(reused.stderr, /missing required input 'n' \(integer\): How far/);
    assert.match(reused.stderr, /Run it with: pflow run count n=VALUE/);
    reuse();
    const dry = await plan(ctx, ["count to three", "--dry-run"]);
    assertExit(dry, 0);
    assert.match(dry.stdout, /n +integer \(missing\)/);
    // A value given with the request wins, with no warning.
    reuse();
    const given = await plan(ctx, ["count to three", "n=3"]);
    assertExit(given, 0);
    assert.equal(given.stdout, "1\n2\n3\n");
    assert.doesNotMatch(given.stderr, /warning/);
  });
});

Deno.test("reuse: a saved workflow's secret defaults are [REDACTED] in a dry run of it (text and JSON) and in 'workflow show'", async () => {
  await withPlanner(async (ctx) => {
    const token = "tok-live-1a2b3c4d5e6f7788";
    const password = "hunter2-pw-9911";
    saveWorkflow(ctx, "api", {
      ir_version: "0.1.0",
      name: "api",
      description: "Calls the API",
      inputs: {
        api_token: { type: "string", default: token, description: "The token" },
        base: { type: "string", default: `https://bot:${password}@api.example.com/v1` },
      },
      nodes: [{ id: "a", type: "shell", params: { command: "echo ok", env: { T: "${api_token}", B: "${base}" } } }],
    });
    const reuse = () => ctx.srv.enqueue({ json: { workflow_name: "api", params: {}, reason: "it calls the api" } });
    reuse();
    const text = await plan(ctx, ["call the api please", "--dry-run"]);
    assertExit(text, 0);
    assert.match(text.stdout, /api_token +string = "\[REDACTED\]" \(default\)/);
    reuse();
    const json = await plan(ctx, ["call the api please", "--dry-run", "--json"]);
    assertExit(json, 0);
    assert.equal(oneJson(json).workflow.inputs.api_token.default, "[REDACTED]");
    const show = await plan(ctx, ["workflow", "show", "api"]);
    assertExit(show, 0);
    assert.match(show.stdout, /api_token \(string, optional, default "\[REDACTED\]"\): The token/);
    const showJson = await plan(ctx, ["workflow", "show", "api", "--json"]);
    assertExit(showJson, 0);
    assert.equal(JSON.parse(showJson.stdout).inputs.api_token.default, "[REDACTED]");
    for (const result of [text, json, show, showJson]) {
      for (const secret of [token, password]) {
        assert.ok(!result.stdout.includes(secret) && !result.stderr.includes(secret), explain(result));
      }
    }
  });
});

Deno.test("reuse: secrets in saved workflows' descriptions and input descriptions are not sent to the planner's provider", async () => {
  await withPlanner(async (ctx) => {
    const key = "sk-desc-SECRET-1122334455";
    const given = "tok-given-5544332211";
    saveWorkflow(ctx, "feed", {
      ir_version: "0.1.0",
      name: "feed",
      description: "Fetches https://bob:hunter2pw99@feeds.example.com/rss?api_key=k3y123456789xyz",
      inputs: {
        who: { type: "string", description: `token ${key}`, default: `with ${key}` },
        what: { type: "string", description: `as ${given}` },
        api_token: { type: "string", required: false },
      },
      nodes: [{ id: "a", type: "echo", params: { value: "${who} ${what}" } }],
    });
    ctx.srv.enqueue({ json: { workflow_name: "feed", params: { what: "x" }, reason: "it fetches" } });
    const env = { ...ctx.env, MY_SERVICE_API_KEY: key };
    const result = await plan(ctx, ["fetch the feed", `api_token=${given}`, "--dry-run"], { env });
    assertExit(result, 0);
    const sent = JSON.stringify(ctx.srv.requests[0].body);
    for (const secret of ["hunter2pw99", "k3y123456789xyz", key, given]) {
      assert.ok(!sent.includes(secret), `${secret} sent: ${sent}`);
    }
    const system = systemText(ctx.srv.requests[0]);
    assert.ok(
      system.includes("- feed: Fetches https://bob:[REDACTED]@feeds.example.com/rss?api_key=[REDACTED]"),
      system,
    );
    assert.ok(system.includes('who (string, optional, default "with [REDACTED]"): token [REDACTED]'), system);
    assert.ok(system.includes("what (string, required): as [REDACTED]"), system);
  });
});

Deno.test("a saved workflow's secret-named input declaration teaches no secret: 'string' and its description stay in plans", async () => {
  await withPlanner(async (ctx) => {
    saveWorkflow(ctx, "api", {
      ir_version: "0.1.0",
      name: "api",
      description: "Calls the API",
      inputs: { api_token: { type: "string", description: "The token" } },
      nodes: [{ id: "a", type: "echo", params: { value: "ok" } }],
    });
    const say = {
      ir_version: "0.1.0",
      name: "say",
      description: "The token",
      inputs: { word: { type: "string", default: "hi" } },
      nodes: [{ id: "a", type: "echo", params: { value: "${word} string" } }],
    };
    ctx.srv.enqueue({ json: { workflow_name: null, params: {}, reason: "none fits" } }, generated({}, say));
    const doc = oneJson(await plan(ctx, ["say a word", "--save", "say", "--output-format", "json"]));
    assert.equal(doc.subtype, "success", JSON.stringify(doc.error));
    assert.deepEqual(doc.result, { output: "hi string" });
    assert.deepEqual(JSON.parse(readFileSync(doc.plan_path, "utf8")), say);
    assert.deepEqual(JSON.parse(readFileSync(join(ctx.home, "workflows", "say.json"), "utf8")), say);
  });
});

Deno.test("the JSON result has every field of Claude Code's result: num_turns (LLM calls) and session_id (the execution id) too", async () => {
  await withPlanner(async (ctx) => {
    const claudeFields = [
      "type",
      "subtype",
      "is_error",
      "duration_ms",
      "duration_api_ms",
      "num_turns",
      "result",
      "session_id",
      "total_cost_usd",
      "usage",
    ];
    const check = (doc: Doc, turns: number) => {
      for (const field of claudeFields) assert.ok(Object.hasOwn(doc, field), `${field} in ${JSON.stringify(doc)}`);
      assert.equal(doc.session_id, doc.execution_id);
      assert.equal(doc.num_turns, turns);
      assert.equal(doc.num_turns, doc.num_llm_calls);
    };
    writeFileSync(join(ctx.dir, "hi.json"), JSON.stringify(GREET));
    check(oneJson(await plan(ctx, ["run", "hi.json", "name=Ada", "--json"])), 0);
    check(oneJson(await plan(ctx, ["run", "missing.json", "--json"])), 0);
    ctx.srv.enqueue(generated());
    check(oneJson(await plan(ctx, ["repeat hi three times", "--json"])), 1);
    ctx.srv.enqueue(generated({}));
    check(oneJson(await plan(ctx, ["repeat a word", "--json"])), 1);
    ctx.srv.enqueue({ status: 401 });
    check(oneJson(await plan(ctx, ["repeat hi", "--json"])), 1);
  });
});

Deno.test("reuse: JSON result carries the planner metrics, and totals cover planning and the run", async () => {
  await withPlanner(async (ctx) => {
    saveWorkflow(ctx, "greet", GREET);
    ctx.srv.enqueue({
      json: { workflow_name: "greet", params: { name: "Ada" }, reason: "it greets" },
      usage: PLAN_USAGE,
    });
    const doc = oneJson(await plan(ctx, ["say hello to Ada", "--output-format", "json", "--trace-planner"]));
    assert.equal(doc.subtype, "success");
    assert.deepEqual(doc.result, { greeting: "Hello, Ada!" });
    assert.equal(doc.workflow_name, "greet");
    assert.equal(typeof doc.duration_planner_ms, "number");
    assert.ok(doc.duration_planner_ms > 0 && doc.duration_planner_ms <= doc.duration_ms);
    const p = doc.metrics.planner;
    assert.equal(p.path, "reuse");
    assert.equal(p.reused_workflow, "greet");
    assert.equal(p.repairs, 0);
    assert.equal(p.llm_calls, 1);
    assert.deepEqual(Object.keys(p.node_timings), ["discover", "load", "inputs"]);
    assert.equal(p.nodes_executed, 3);
    assert.equal(p.cost_usd, PLAN_COST);
    assert.deepEqual(p.models_used, [HAIKU]);
    assert.equal(doc.metrics.workflow.nodes_executed, 1);
    assert.equal(doc.num_nodes, 4, "planner plus workflow node executions");
    assert.equal(doc.num_llm_calls, 1);
    assert.equal(doc.total_cost_usd, PLAN_COST);
    assert.equal(doc.metrics.total.cost_usd, PLAN_COST);
    assert.equal(doc.usage.input_tokens, 1000);
    // metrics.planner equals the sums over the planner trace's calls.
    const [tracePath] = plannerTraces(ctx.home);
    const trace = readTrace(tracePath);
    const calls = trace.events.flatMap((e) => e.llm_calls);
    assert.equal(calls.length, p.llm_calls);
    assert.equal(calls.reduce((s, c) => s + (c.cost_usd ?? 0), 0), p.cost_usd);
    assert.equal(
      calls.reduce((s, c) => s + c.usage.input_tokens + c.usage.cache_read_tokens + c.usage.cache_write_tokens, 0),
      p.tokens_input,
    );
    assert.equal(calls.reduce((s, c) => s + c.usage.output_tokens, 0), p.tokens_output);
    assert.equal(doc.planner_trace_path, tracePath);
  });
});

Deno.test("reuse: a saved workflow changed or removed while the reuse call ran is reported as its run would be (located, exit 2)", async () => {
  await withPlanner(async (ctx) => {
    const file = join(ctx.home, "workflows", "greet.json");
    const reuse = { json: { workflow_name: "greet", params: { name: "Al" }, reason: "it greets" }, delayMs: 500 };
    /** Plans while `change` alters the saved file once the reuse call arrived (after the catalogue was read). */
    const planWhile = async (change: () => void, args: string[] = []) => {
      saveWorkflow(ctx, "greet", GREET);
      ctx.srv.reset();
      ctx.srv.enqueue(reuse);
      const result = plan(ctx, ["greet Al", ...args]);
      await ctx.srv.waitForRequests(1);
      change();
      return await result;
    };
    const cut = await planWhile(() => writeFileSync(file, '{"ir_version": "0.1.0", "nodes": ['));
    assertExit(cut, 2);
    assert.match(cut.stderr, new RegExp(`error: ${file}:1:\\d+: invalid JSON`), cut.stderr);
    assert.doesNotMatch(cut.stderr, /JSON Parse error|SyntaxError|\n\s+at /);
    assert.match(cut.stderr, /✗ planned \(reuse, 1 call, /);
    const json = await planWhile(() => writeFileSync(file, "{"), ["--output-format", "json"]);
    assertExit(json, 2);
    const doc = oneJson(json);
    assert.equal(doc.subtype, "error_validation");
    assert.equal(doc.error.type, "ValidationError");
    assert.match(doc.error.problems[0].message, /invalid JSON/);
    const removed = await planWhile(() => rmSync(file));
    assertExit(removed, 2);
    assert.ok(removed.stderr.includes(`error: ${file}: cannot read workflow: file not found`), removed.stderr);
    assert.doesNotMatch(removed.stderr, /ENOENT/);
  });
});

Deno.test("reuse: a param value nested 50,000 deep makes the reply unusable (a warning), and the planner generates", async () => {
  await withPlanner(async (ctx) => {
    saveWorkflow(ctx, "greet", GREET);
    const deep = "[".repeat(50_000) + "]".repeat(50_000);
    const reuse = `{"workflow_name": "greet", "params": {"name": ${deep}}, "reason": "it greets"}`;
    ctx.srv.enqueue({ text: reuse }, { text: JSON.stringify({ workflow: repeatWorkflow(), params: { word: "hi" } }) });
    const result = await plan(ctx, ["greet someone", "--planner-model", MINI]);
    assertExit(result, 0);
    assert.equal(result.stdout, "hi hi \n");
    assert.match(
      result.stderr,
      /warning: .*the reuse reply was not usable \(a param value is nested deeper than 1000 levels of arrays and objects\); generating a new workflow/,
    );
  });
});

Deno.test("reuse: a name that is not saved counts as none, and the planner generates", async () => {
  await withPlanner(async (ctx) => {
    saveWorkflow(ctx, "greet", GREET);
    ctx.srv.enqueue(
      { json: { workflow_name: "greeter-deluxe", params: {}, reason: "invented" }, usage: PLAN_USAGE },
      generated(),
    );
    const doc = oneJson(await plan(ctx, ["repeat hi thrice", "--output-format", "json"]));
    assert.equal(doc.subtype, "success", JSON.stringify(doc));
    assert.equal(doc.metrics.planner.path, "generate");
    assert.equal(doc.metrics.planner.reused_workflow, null);
    assert.equal(doc.num_llm_calls, 2);
    assert.deepEqual(doc.result, { text: "hi hi hi " });
    assert.match(doc.plan_path, /plans\/repeat-word-/);
  });
});

Deno.test("reuse: the reuse call is told the key=value names given; a pick that does not declare one counts as none", async () => {
  await withPlanner(async (ctx) => {
    saveWorkflow(ctx, "greet", GREET);
    const greetWho = {
      ...GREET,
      name: "greet-who",
      inputs: { who: { type: "string", description: "Who to greet" } },
      nodes: [{ id: "hello", type: "echo", params: { value: "Hello, ${who}!" } }],
    };
    ctx.srv.enqueue(
      { json: { workflow_name: "greet", params: { name: "Ada" }, reason: "it greets" }, usage: PLAN_USAGE },
      generated({}, greetWho),
    );
    const result = await plan(ctx, ["greet Ada", "who=zed"]);
    assertExit(result, 0);
    assert.equal(result.stdout, "Hello, zed!\n");
    assert.match(
      result.stderr,
      /warning: \[discover\] planner: the reuse call chose saved workflow 'greet', which has no input named 'who' \(given with the request\); generating a new workflow/,
    );
    assert.match(result.stderr, /✓ planned \(generate, 2 calls/);
    const told = messagesText(ctx.srv.requests[0]);
    assert.ok(told.includes('gives a value for \\"who\\" with the request'), told);
    assert.ok(!told.includes("zed"), "the value is not sent");
    // A pick that declares it is reused.
    saveWorkflow(ctx, "greet-who", greetWho);
    ctx.srv.enqueue({ json: { workflow_name: "greet-who", params: {}, reason: "it greets" }, usage: PLAN_USAGE });
    const reused = await plan(ctx, ["greet Ada", "who=zed"]);
    assertExit(reused, 0);
    assert.equal(reused.stdout, "Hello, zed!\n");
    assert.match(reused.stderr, /Reused saved workflow greet-who/);
  });
});

Deno.test("repair: an invalid plan is repaired with the validator's message verbatim", async () => {
  await withPlanner(async (ctx) => {
    const broken = repeatWorkflow();
    (broken.nodes[0].params as Record<string, unknown>).comand = "echo typo";
    ctx.srv.enqueue(generated({ word: "hi", times: 3 }, broken), generated());
    const doc = oneJson(await plan(ctx, ["repeat hi", "--output-format", "json", "--trace-planner"]));
    assert.equal(doc.subtype, "success", JSON.stringify(doc.error));
    assert.equal(doc.metrics.planner.repairs, 1);
    assert.equal(doc.metrics.planner.llm_calls, 2);
    assert.deepEqual(Object.keys(doc.metrics.planner.node_timings), ["generate", "validate", "repair", "inputs"]);
    assert.equal(doc.metrics.planner.nodes.validate.executions, 2);
    const repairRequest = messagesText(ctx.srv.requests[1]);
    assert.ok(
      repairRequest.includes(
        "/nodes/0/params/comand: 'shell' does not accept param 'comand' (did you mean 'command'?)",
      ),
      repairRequest,
    );
    // The repair continues the conversation: the previous workflow is in it.
    assert.ok(repairRequest.includes("echo typo"), repairRequest);
    const trace = readTrace(plannerTraces(ctx.home)[0]);
    assert.equal(trace.planner?.attempts.length, 2);
    assert.ok(trace.planner!.attempts[0].problems.length > 0);
    assert.deepEqual(trace.planner!.attempts[1].problems, []);
    assert.equal(trace.final_status, "success");
  });
});

Deno.test("repair: a repaired workflow without params keeps the params the first reply extracted; params given replace them", async () => {
  await withPlanner(async (ctx) => {
    const broken = repeatWorkflow();
    (broken.nodes[0].params as Record<string, unknown>).comand = "echo typo";
    // The repair answers with the bare corrected workflow (no "params"), as the reply contract allows.
    ctx.srv.enqueue(generated({ word: "hi", times: 3 }, broken), { json: repeatWorkflow(), usage: PLAN_USAGE });
    const kept = await plan(ctx, ["repeat hi three times"]);
    assertExit(kept, 0);
    assert.equal(kept.stdout, "hi hi hi \n");
    assert.equal(ctx.srv.requests.length, 2);
    // {"workflow": …, "params": null} or {} gives none either; a repair that gives params replaces them.
    ctx.srv.enqueue(generated({ word: "hi", times: 3 }, broken), { json: { workflow: repeatWorkflow(), params: {} } });
    assertExit(await plan(ctx, ["repeat hi three times"]), 0);
    ctx.srv.enqueue(generated({ word: "hi", times: 3 }, broken), generated({ word: "yo" }));
    const replaced = await plan(ctx, ["repeat yo"]);
    assertExit(replaced, 0);
    assert.equal(replaced.stdout, "yo yo \n");
  });
});

Deno.test("repair: still invalid after --max-repairs is exit 2 with every problem, and the planner trace is written", async () => {
  await withPlanner(async (ctx) => {
    const broken = repeatWorkflow({ edges: [{ from: "say", to: "nowhere" }] });
    ctx.srv.enqueue(generated({}, broken), generated({}, broken));
    const result = await plan(ctx, ["repeat hi", "--max-repairs", "1"]);
    assertExit(result, 2);
    assert.equal(ctx.srv.requests.length, 2);
    assert.match(result.stderr, /error: planning failed: the generated workflow is still invalid after 1 repair/);
    assert.match(result.stderr, /error: \/edges\/0\/to: unknown node 'nowhere'/);
    const traces = plannerTraces(ctx.home);
    assert.equal(traces.length, 1, "written without --trace-planner");
    assert.ok(result.stderr.includes(`Planner trace saved: ${traces[0]}`), result.stderr);
    const trace = readTrace(traces[0]);
    assert.equal(trace.kind, "planner");
    assert.equal(trace.final_status, "failed");
    assert.equal(trace.request, "repeat hi");
    assert.equal(trace.planner?.attempts.length, 2);
    assert.ok(!existsSync(join(ctx.home, "plans")), "an invalid plan is not written as a plan file");
  });
});

Deno.test("repair: exhausted in JSON mode is error_planning with the problems", async () => {
  await withPlanner(async (ctx) => {
    const broken = { ...repeatWorkflow(), nodes: [{ id: "say", type: "shel", params: {} }] };
    ctx.srv.enqueue(generated({}, broken));
    const result = await plan(ctx, ["repeat hi", "--max-repairs", "0", "--output-format", "json"]);
    assertExit(result, 2);
    const doc = oneJson(result);
    assert.equal(doc.subtype, "error_planning");
    assert.equal(doc.is_error, true);
    assert.equal(doc.result, null);
    assert.ok(
      doc.error.problems.some((p: Doc) => p.pointer === "/nodes/0/type" && /did you mean 'shell'/.test(p.message)),
    );
    assert.equal(doc.metrics.planner.llm_calls, 1);
    assert.equal(doc.total_cost_usd, PLAN_COST);
    assert.equal(doc.metrics.workflow, undefined);
  });
});

Deno.test("missing inputs: text mode names each input and the command that reruns the plan", async () => {
  await withPlanner(async (ctx) => {
    ctx.srv.enqueue(generated({ times: 3 }));
    const result = await plan(ctx, ["repeat a word three times"]);
    assertExit(result, 2);
    assert.match(result.stderr, /error: missing required input 'word' \(string\): The word to repeat/);
    // What planning cost, as every failed planning shows it.
    assert.match(result.stderr, /✗ planned \(generate, 1 call, \$0\.0020\) · [\d.]+m?s · 1,200 tokens\n/);
    const planPath = join(ctx.home, "plans", readdirSync(join(ctx.home, "plans"))[0]);
    assert.ok(result.stderr.includes(`Run it with: pflow run ${planPath} times=3 word=VALUE`), result.stderr);
    // The command works as printed (with a value).
    const rerun = await plan(ctx, ["run", planPath, "times=3", "word=yo"]);
    assertExit(rerun, 0);
    assert.equal(rerun.stdout, "yo yo yo \n");
  });
});

/** Runs a printed `pflow …` command line with bash, `pflow` being the binary under test. */
function runPrinted(ctx: Ctx, command: string, stdin?: string): CliResult {
  assert.ok(command.startsWith("pflow "), command);
  const result = spawnSync("bash", ["-c", `${PFLOW_BIN} ${command.slice("pflow ".length)}`], {
    cwd: ctx.dir,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", LANG: "C.UTF-8", ...ctx.env },
    encoding: "utf8",
    input: stdin,
  });
  return { code: result.status, signal: result.signal, stdout: result.stdout, stderr: result.stderr };
}

Deno.test("the printed rerun command passes a value with a newline, a tab or ESC as it was ($'…'), text and JSON", async () => {
  await withPlanner(async (ctx) => {
    const text = "line one\n\tline 'two' \x1b[31mred";
    const show = {
      ir_version: "0.1.0",
      name: "show",
      inputs: { text: { type: "string" }, word: { type: "string" } },
      nodes: [{ id: "a", type: "echo", params: { value: "${text}|${word}" } }],
    };
    ctx.srv.enqueue(generated({ text }, show));
    const dry = await plan(ctx, ["plan", "show the text", "--dry-run"]);
    assertExit(dry, 0);
    const printed = /^Run it with: (.*)$/m.exec(dry.stderr)?.[1];
    assert.ok(printed !== undefined, dry.stderr);
    assert.match(printed, / text=\$'line one\\n\\tline \\'two\\' \\x1b\[31mred' word=VALUE$/);
    const ran = runPrinted(ctx, printed.replace("VALUE", "w"));
    assertExit(ran, 0);
    assert.equal(ran.stdout, `${text}|w\n`);
    ctx.srv.enqueue(generated({ text }, show));
    const doc = oneJson(await plan(ctx, ["plan", "show the text", "--dry-run", "--json"]));
    assert.equal(runPrinted(ctx, doc.rerun_command.replace("VALUE", "w")).stdout, `${text}|w\n`);
  });
});

Deno.test("an untyped input's text from the model is typed as the printed rerun command's x=… is: both runs get the same values", async () => {
  await withPlanner(async (ctx) => {
    const untyped = {
      ir_version: "0.1.0",
      name: "untyped",
      inputs: { n: { description: "n" }, price: {}, flag: {}, list: {}, word: {}, api_token: { default: "" } },
      nodes: [{
        id: "a",
        type: "echo",
        params: { value: { n: "${n}", price: "${price}", flag: "${flag}", list: "${list}", word: "${word}" } },
      }],
      outputs: { value: { source: "${a.output}" } },
    };
    const params = { n: "42", price: "1.10", flag: "true", list: "[1, 2]", word: "hi", api_token: "000123" };
    ctx.srv.enqueue(generated(params, untyped));
    const planned = oneJson(await plan(ctx, ["show the values", "--json"]));
    assert.equal(planned.subtype, "success", JSON.stringify(planned.error));
    assert.deepEqual(planned.result.value, { n: 42, price: "1.10", flag: true, list: [1, 2], word: "hi" });
    ctx.srv.enqueue(generated(params, untyped));
    const dry = oneJson(await plan(ctx, ["show the values", "--dry-run", "--json"]));
    assert.deepEqual(dry.params, {
      n: 42,
      price: "1.10",
      flag: true,
      list: [1, 2],
      word: "hi",
      api_token: "[REDACTED]",
    });
    const rerun = runPrinted(ctx, `${dry.rerun_command.replace("api_token=VALUE", "api_token=000123")} --json`);
    assertExit(rerun, 0);
    assert.deepEqual(JSON.parse(rerun.stdout).result, planned.result);
  });
});

Deno.test("missing inputs: the rerun command of a reused workflow runs it as printed: '-dash' after --, 'notes' by path when ./notes is a file", async () => {
  await withPlanner(async (ctx) => {
    saveWorkflow(ctx, "-dash", { ...GREET, name: "dash" });
    saveWorkflow(ctx, "notes", { ...GREET, name: "notes" });
    // A file here named like the saved workflow: `pflow run notes` would run it.
    writeFileSync(join(ctx.dir, "notes"), JSON.stringify({ ...GREET, name: "file", inputs: {}, outputs: undefined }));
    const notesPath = join(ctx.home, "workflows", "notes.json");
    for (
      const [name, printed] of [["-dash", "pflow run -- -dash name=VALUE"], [
        "notes",
        `pflow run ${notesPath} name=VALUE`,
      ]]
    ) {
      ctx.srv.enqueue({ json: { workflow_name: name, params: {}, reason: "it greets" } });
      const result = await plan(ctx, ["greet someone", "--output-format", "json"]);
      assertExit(result, 2);
      assert.equal(oneJson(result).rerun_command, printed);
      ctx.srv.enqueue({ json: { workflow_name: name, params: {}, reason: "it greets" } });
      const text = await plan(ctx, ["greet someone"]);
      assertExit(text, 2);
      assert.ok(text.stderr.includes(`Run it with: ${printed}\n`), text.stderr);
      // As printed, with a value: the saved workflow runs.
      const rerun = await plan(ctx, printed.replace("VALUE", "Al").split(" ").slice(1));
      assertExit(rerun, 0);
      assert.equal(rerun.stdout, "Hello, Al!\n");
    }
    // So does the command --save names when the planner reused the workflow instead.
    ctx.srv.enqueue({ json: { workflow_name: "-dash", params: { name: "Bo" }, reason: "it greets" } });
    const saved = await plan(ctx, ["greet Bo", "--save", "greeter"]);
    assertExit(saved, 0);
    assert.match(saved.stderr, /reused the saved workflow '-dash' \(run it again with 'pflow run -- -dash'\)/);
    // And the validate command named for a saved workflow that does not validate (planning, workflow list).
    saveWorkflow(ctx, "-bad", { ir_version: "0.1.0", nodes: [] });
    ctx.srv.enqueue({ json: { workflow_name: "-dash", params: { name: "Bo" }, reason: "it greets" } });
    const warned = await plan(ctx, ["greet Bo"]);
    assertExit(warned, 0);
    assert.match(warned.stderr, /saved workflow '-bad' does not validate .*; see 'pflow validate -- -bad'\n/);
    const list = await plan(ctx, ["workflow", "list"]);
    assert.match(list.stdout, /-bad .*; see 'pflow validate -- -bad'\)/);
    const validate = await plan(ctx, ["validate", "--", "-bad"]);
    assertExit(validate, 2);
    assert.ok(validate.stderr.includes(join(ctx.home, "workflows", "-bad.json")), validate.stderr);
  });
});

Deno.test("missing inputs: a secret's value is a placeholder in the rerun command, not [REDACTED] (text and JSON)", async () => {
  await withPlanner(async (ctx) => {
    saveWorkflow(ctx, "two", {
      ir_version: "0.1.0",
      name: "two",
      description: "Needs a token and a host",
      inputs: {
        api_token: { type: "string", description: "The token" },
        host: { type: "string", description: "Where" },
        n: { type: "integer", default: 3 },
      },
      nodes: [{ id: "a", type: "echo", params: { value: "${host} ${n}" } }],
    });
    const reuse = { json: { workflow_name: "two", params: { api_token: "tok-SECRET-99887766" } }, usage: PLAN_USAGE };
    ctx.srv.enqueue(reuse, reuse);
    const text = await plan(ctx, ["call two", "n=5"]);
    assertExit(text, 2);
    assert.ok(text.stderr.includes("Run it with: pflow run two api_token=VALUE n=5 host=VALUE\n"), text.stderr);
    assert.doesNotMatch(text.stderr, /REDACTED|tok-SECRET/);
    const doc = oneJson(await plan(ctx, ["call two", "n=5", "--output-format", "json"]));
    assert.equal(doc.rerun_command, "pflow run two api_token=VALUE n=5 host=VALUE");
  });
});

Deno.test("missing inputs: JSON mode is error_missing_inputs with the inputs and the plan path", async () => {
  await withPlanner(async (ctx) => {
    const noReuse = { json: { workflow_name: null, params: {}, reason: "nothing fits" } };
    ctx.srv.enqueue(noReuse, generated({}));
    const doc = oneJson(await plan(ctx, ["repeat a word", "--output-format", "json"]));
    assert.equal(doc.subtype, "error_missing_inputs");
    assert.deepEqual(doc.missing_inputs, [{ name: "word", type: "string", description: "The word to repeat" }]);
    assert.ok(existsSync(doc.plan_path));
    assert.equal(doc.metrics.planner.path, "generate");
  });
});

Deno.test("params given with the request fill inputs and override extracted ones, typed by the input", async () => {
  await withPlanner(async (ctx) => {
    ctx.srv.enqueue(generated({ word: "hi", times: "2" }));
    const result = await plan(ctx, ["repeat a word", "word=ok"]);
    assertExit(result, 0);
    assert.equal(result.stdout, "ok ok \n", "times '2' was typed as the integer 2");
  });
});

Deno.test("the first argument is the request even with '=' in it; key=value params (spaces in values too) follow it", async () => {
  await withPlanner(async (ctx) => {
    const topic = {
      ir_version: "0.1.0",
      name: "topic",
      inputs: { topic: { type: "string" } },
      nodes: [{ id: "a", type: "echo", params: { value: "about ${topic}" } }],
    };
    ctx.srv.enqueue(generated({}, topic));
    const shorthand = await plan(ctx, ["x=1 means what in math", "topic=x y"]);
    assertExit(shorthand, 0);
    assert.equal(shorthand.stdout, "about x y\n");
    assert.ok(messagesText(ctx.srv.requests[0]).includes("x=1 means what in math"), messagesText(ctx.srv.requests[0]));
    ctx.srv.enqueue(generated({}, topic));
    // `pflow plan` too; other words after the request join it.
    const explicit = await plan(ctx, ["plan", "x=1", "means", "what", "topic=a b"]);
    assertExit(explicit, 0);
    assert.equal(explicit.stdout, "about a b\n");
    assert.ok(messagesText(ctx.srv.requests[1]).includes("x=1 means what"), messagesText(ctx.srv.requests[1]));
  });
});

Deno.test("a plan may use a key=value given with the request without declaring it, as pflow run allows; no repair spent", async () => {
  await withPlanner(async (ctx) => {
    const greet = {
      ir_version: "0.1.0",
      name: "tmpl",
      nodes: [{ id: "a", type: "echo", params: { value: "hi ${who}" } }],
    };
    ctx.srv.enqueue(generated({}, greet));
    const result = await plan(ctx, ["say hi to someone", "who=Bob", "--max-repairs", "0"]);
    assertExit(result, 0);
    assert.equal(result.stdout, "hi Bob\n");
    assert.equal(ctx.srv.requests.length, 1);
    // The generate call is told the name given (to declare it as an input), never its value.
    const asked = messagesText(ctx.srv.requests[0]);
    assert.ok(asked.includes('The user gives a value for \\"who\\" with the request (not shown here)'), asked);
    assert.ok(!asked.includes("Bob"), asked);
    // The system prompt states the edge rules validation enforces.
    assert.match(systemText(ctx.srv.requests[0]), /a node nothing leads to never runs and is refused/);
  });
});

Deno.test("a plan that declares inputs but not a key=value given with the request is repaired to declare it, as pflow run requires", async () => {
  await withPlanner(async (ctx) => {
    const undeclared = {
      ir_version: "0.1.0",
      name: "say",
      inputs: { greeting: { type: "string", default: "hi" } },
      nodes: [{ id: "a", type: "echo", params: { value: "${greeting} ${who}" } }],
    };
    const declared = { ...undeclared, inputs: { ...undeclared.inputs, who: { type: "string" } } };
    ctx.srv.enqueue(generated({}, undeclared), generated({}, declared));
    const result = await plan(ctx, ["say hi to someone", "who=Bob"]);
    assertExit(result, 0);
    assert.equal(result.stdout, "hi Bob\n");
    assert.equal(ctx.srv.requests.length, 2, "one repair");
    const repairRequest = messagesText(ctx.srv.requests[1]);
    assert.ok(repairRequest.includes("/inputs: 'who=…' is given with the request but is not an input"), repairRequest);
    // Without repairs left it is the planning's failure (exit 2, the problem named), not the run's.
    ctx.srv.enqueue(generated({}, undeclared));
    const failed = await plan(ctx, ["say hi to someone", "who=Bob", "--max-repairs", "0"]);
    assertExit(failed, 2);
    assert.match(failed.stderr, /planning failed: .*still invalid/);
    assert.match(failed.stderr, /\/inputs: 'who=…' is given with the request but is not an input of this workflow/);
  });
});

Deno.test("--dry-run prints the plan and runs nothing (text and JSON)", async () => {
  await withPlanner(async (ctx) => {
    const writes = {
      ...repeatWorkflow(),
      nodes: [{ id: "save", type: "write-file", params: { path: "${out}", content: "x" } }],
      inputs: { out: { type: "string", description: "Target file" } },
      outputs: {},
    };
    ctx.srv.enqueue(generated({ out: "made.txt" }, writes), generated({ out: "made.txt" }, writes));
    const text = await plan(ctx, ["plan", "write x to made.txt", "--dry-run"]);
    assertExit(text, 0);
    assert.match(text.stdout, /^Plan: repeat-word \(generated\)/);
    assert.match(text.stdout, /Inputs:\n {2}out {2}string = "made\.txt" {2}Target file/);
    assert.match(text.stdout, /Nodes:\n {2}1\. save \(write-file\)/);
    assert.match(text.stdout, /File: .*plans\/repeat-word-.*\.json/);
    assert.ok(!existsSync(join(ctx.dir, "made.txt")), "nothing ran");
    const doc = oneJson(await plan(ctx, ["plan", "write x to made.txt", "--dry-run", "--output-format", "json"]));
    assert.equal(doc.subtype, "success");
    assert.equal(doc.workflow.nodes[0].type, "write-file");
    assert.deepEqual(doc.params, { out: "made.txt" });
    assert.equal(doc.metrics.planner.llm_calls, 1);
    assert.ok(!existsSync(join(ctx.dir, "made.txt")), "nothing ran");
  });
});

Deno.test("--dry-run shows each text of the model's on its line: a newline in it is escaped like other controls", async () => {
  await withPlanner(async (ctx) => {
    const odd = {
      ir_version: "0.1.0",
      name: "two\nlines\x1b[31m",
      description: "first\nsecond",
      inputs: { who: { type: "string", description: "the\nperson", default: "Al" } },
      nodes: [{ id: "a", type: "echo", purpose: "say\nhi", params: { value: "hi ${who}" } }],
      outputs: { said: { source: "${a.output}", description: "what\nwas said" } },
    };
    ctx.srv.enqueue(generated({}, odd));
    const result = await plan(ctx, ["say hi", "--dry-run"]);
    assertExit(result, 0);
    const lines = result.stdout.split("\n");
    assert.equal(lines[0], "Plan: two\\nlines\\u001b[31m (generated)");
    assert.equal(lines[1], "  first\\nsecond");
    assert.ok(lines.includes('  who  string = "Al" (default)  the\\nperson'), result.stdout);
    assert.ok(lines.includes("  1. a (echo): say\\nhi"), result.stdout);
    assert.ok(lines.includes("  said: ${a.output}  what\\nwas said"), result.stdout);
  });
});

Deno.test("--save keeps the generated workflow, which is then reused", async () => {
  await withPlanner(async (ctx) => {
    ctx.srv.enqueue(generated());
    const result = await plan(ctx, ["plan", "repeat hi", "--save", "repeat", "--dry-run"]);
    assertExit(result, 0);
    const saved = JSON.parse(readFileSync(join(ctx.home, "workflows", "repeat.json"), "utf8"));
    assert.deepEqual(saved, repeatWorkflow());
    ctx.srv.enqueue({ json: { workflow_name: "repeat", params: { word: "yo", times: 1 }, reason: "same" } });
    const again = await plan(ctx, ["repeat yo once"]);
    assertExit(again, 0);
    assert.equal(again.stdout, "yo \n");
    assert.ok(again.stderr.includes("Reused saved workflow repeat"));
    // An existing name is refused without --force, before any call is made.
    const before = ctx.srv.requests.length;
    const clash = await plan(ctx, ["plan", "repeat hi", "--save", "repeat"]);
    assertExit(clash, 2);
    assert.equal(ctx.srv.requests.length, before, "refused before planning");
    assert.match(clash.stderr, /saved workflow 'repeat' exists; pass --force/);
  });
});

Deno.test("--save saves nothing when the planner reuses a saved workflow (no copy, the original untouched), and says so", async () => {
  await withPlanner(async (ctx) => {
    const api = {
      ir_version: "0.1.0",
      name: "api",
      description: "Calls the API",
      inputs: { api_token: { type: "string", default: "tok-live-9f8e7d6c5b4a3210" } },
      nodes: [{ id: "a", type: "echo", params: { value: "ok" } }],
    };
    saveWorkflow(ctx, "api", api);
    const original = readFileSync(join(ctx.home, "workflows", "api.json"), "utf8");
    const reuse = { json: { workflow_name: "api", params: {}, reason: "it calls the api" } };
    ctx.srv.enqueue(reuse);
    const copy = await plan(ctx, ["call the api please", "--save", "api2"]);
    assertExit(copy, 0);
    assert.equal(copy.stdout, "ok\n", "the run happens");
    assert.match(
      copy.stderr,
      /warning: --save api2: nothing saved; the planner reused the saved workflow 'api' \(run it again with 'pflow run api'\)/,
    );
    assert.doesNotMatch(copy.stderr, /Saved as/);
    assert.ok(!existsSync(join(ctx.home, "workflows", "api2.json")));
    // Under its own name with --force, the original is not rewritten (saving would redact its secret default).
    ctx.srv.enqueue(reuse);
    const same = await plan(ctx, ["call the api please", "--save", "api", "--force", "--output-format", "json"]);
    assertExit(same, 0);
    assert.equal(oneJson(same).subtype, "success");
    assert.match(same.stderr, /--save api: nothing saved/);
    assert.equal(readFileSync(join(ctx.home, "workflows", "api.json"), "utf8"), original);
  });
});

Deno.test("a plain-text JSON reply in a code fence is accepted (OpenAI-compatible model)", async () => {
  await withPlanner(async (ctx) => {
    const reply = "Here is the plan:\n```json\n" +
      JSON.stringify({ workflow: repeatWorkflow(), params: { word: "ok" } }) +
      "\n```";
    ctx.srv.enqueue({ text: reply });
    const result = await plan(ctx, ["repeat ok twice", "--planner-model", MINI]);
    assertExit(result, 0);
    assert.equal(result.stdout, "ok ok \n");
    assert.equal(ctx.srv.requests[0].protocol, "openai");
  });
});

Deno.test("a reasoning model's leading <think> block before the JSON is skipped: one call, no repair", async () => {
  await withPlanner(async (ctx) => {
    const json = JSON.stringify({ workflow: repeatWorkflow(), params: { word: "ok" } });
    ctx.srv.enqueue({ text: `<think>\nThe user wants {"word": "ok"} repeated.\n</think>\n\n${json}` });
    const result = await plan(ctx, ["repeat ok twice", "--planner-model", MINI]);
    assertExit(result, 0);
    assert.equal(result.stdout, "ok ok \n");
    assert.equal(ctx.srv.requests.length, 1);
  });
});

Deno.test("--planner-timeout aborts the call in flight (exit 1, error_planning, planner trace timeout)", async () => {
  await withPlanner(async (ctx) => {
    ctx.srv.enqueue({ delayMs: 60_000, json: { workflow: repeatWorkflow() } });
    const started = performance.now();
    const result = await plan(ctx, ["repeat hi", "--planner-timeout", "1", "--output-format", "json"]);
    const elapsed = performance.now() - started;
    assertExit(result, 1);
    const doc = oneJson(result);
    assert.equal(doc.subtype, "error_planning");
    assert.match(doc.error.message, /planning timed out after 1\.\d\ds \(--planner-timeout\)/);
    // Aborted, not waited for: the process ends long before the server would answer.
    assert.ok(elapsed < 10_000, `took ${elapsed} ms`);
    assert.equal(ctx.srv.requests[0].aborted, true, "the server saw the request aborted");
    assert.equal(doc.error.type, "PlannerTimeoutError");
    const trace = readTrace(plannerTraces(ctx.home)[0]);
    assert.equal(trace.final_status, "timeout");
    assert.equal(trace.error?.type, "PlannerTimeoutError");
    assert.match(trace.error!.message, /planning timed out after/);
    // The call cut off is in the trace and the result: an error, its usage unknown (it may be billed).
    const calls = trace.events.flatMap((e) => e.llm_calls);
    assert.equal(calls.length, 1);
    assert.equal(calls[0].status, "error");
    assert.equal(calls[0].error?.type, "AbortError");
    assert.match(calls[0].error!.message, /call aborted \(timed out after 1000 ms\)/);
    assert.equal(calls[0].usage.usage_missing, true);
    assert.equal(doc.num_llm_calls, 1);
    assert.equal(doc.pricing.complete, false);
    const list = await plan(ctx, ["trace", "list"]);
    assert.match(list.stdout, /\splanner\s+repeat-hi\s+✗ timeout/, list.stdout);
    const show = await plan(ctx, ["trace", "show", plannerTraces(ctx.home)[0]]);
    assert.match(show.stdout, /^repeat-hi · ✗ timeout · /, show.stdout);
    assert.match(show.stdout, /planning timed out after/, show.stdout);
  });
});

Deno.test("SIGINT while planning: exit 130, and the planner trace says interrupted", async () => {
  await withPlanner(async (ctx) => {
    ctx.srv.enqueue({ delayMs: 60_000, json: { workflow: repeatWorkflow() } });
    const result = await plan(ctx, ["repeat hi"], {
      onSpawn: (child) => {
        // process.kill, not child.kill: Deno's child.kill makes 'close' report the signal, not the exit code.
        ctx.srv.waitForRequests(1).then(() => process.kill(child.pid!, "SIGINT"));
      },
    });
    assertExit(result, 130);
    assert.match(result.stderr, /interrupted while planning/);
    const trace = readTrace(plannerTraces(ctx.home)[0]);
    assert.equal(trace.final_status, "interrupted");
  });
});

Deno.test("a budget spent by planning starts no workflow node that would call a model (result null)", async () => {
  await withPlanner(async (ctx) => {
    const llmWorkflow = {
      ir_version: "0.1.0",
      name: "ask",
      nodes: [{ id: "ask", type: "llm", params: { prompt: "hello", model: HAIKU } }],
    };
    ctx.srv.enqueue(generated({}, llmWorkflow));
    const result = await plan(ctx, ["ask hello", "--max-budget-usd", "0.001", "--output-format", "json"]);
    assertExit(result, 1);
    const doc = oneJson(result);
    assert.equal(doc.subtype, "error_max_budget_usd");
    assert.equal(ctx.srv.requests.length, 1, "only the planner's call was made");
    assert.equal(doc.total_cost_usd, PLAN_COST);
    assert.match(
      doc.error.message,
      /^budget of \$0\.0010 reached by planning \(\$0\.0020 spent\); the workflow was not started$/,
    );
    assert.equal(doc.result, null, "the workflow was not started");
  });
});

Deno.test("an unpriced planner model is flagged, its tokens counted", async () => {
  await withPlanner(async (ctx) => {
    ctx.srv.enqueue({ json: { workflow: repeatWorkflow(), params: { word: "a" } } });
    const doc = oneJson(
      await plan(ctx, ["repeat a", "--planner-model", "openai/no-such-model", "--output-format", "json"]),
    );
    assert.equal(doc.subtype, "success", JSON.stringify(doc.error));
    assert.deepEqual(doc.pricing.unpriced_models, ["openai/no-such-model"]);
    assert.equal(doc.pricing.complete, false);
    assert.equal(doc.modelUsage["openai/no-such-model"].costUSD, null);
    assert.ok(doc.modelUsage["openai/no-such-model"].inputTokens > 0);
  });
});

Deno.test("piped stdin reaches the planned workflow as stdin, and the planner is told it is there", async () => {
  await withPlanner(async (ctx) => {
    const upper = {
      ir_version: "0.1.0",
      name: "upper",
      nodes: [{ id: "up", type: "shell", params: { command: "tr a-z A-Z", stdin: "${stdin}" } }],
    };
    ctx.srv.enqueue(generated({}, upper));
    const result = await plan(ctx, ["upper-case what I pipe in"], { stdin: "shout\n" });
    assertExit(result, 0);
    assert.equal(result.stdout, "SHOUT\n");
    assert.ok(messagesText(ctx.srv.requests[0]).includes("${stdin}"));
  });
});

Deno.test("the rerun command of a plan that reads piped stdin says the data is piped to it (… | pflow run …)", async () => {
  await withPlanner(async (ctx) => {
    const prefix = {
      ir_version: "0.1.0",
      name: "prefix",
      inputs: { tag: { type: "string", description: "The prefix" } },
      nodes: [{
        id: "p",
        type: "shell",
        params: { command: 'sed "s/^/$T /"', stdin: "${stdin}", env: { T: "${tag}" } },
      }],
    };
    ctx.srv.enqueue(generated({}, prefix));
    const missing = await plan(ctx, ["prefix each line I pipe in"], { stdin: "a\nb\n" });
    assertExit(missing, 2);
    const printed = /^Run it with: (.*)$/m.exec(missing.stderr)?.[1];
    assert.match(printed ?? "", /^… \| pflow run \S+\/plans\/prefix-\S+\.json tag=VALUE$/, missing.stderr);
    const ran = runPrinted(ctx, printed!.replace("… | ", "").replace("VALUE", "x"), "a\nb\n");
    assertExit(ran, 0);
    assert.equal(ran.stdout, "x a\nx b\n");
    // A stdin input piped stdin filled: the same; JSON too.
    const fromStdin = {
      ...prefix,
      inputs: { ...prefix.inputs, text: { type: "string", stdin: true } },
      nodes: [{ id: "p", type: "echo", params: { value: "${tag}: ${text}" } }],
    };
    ctx.srv.enqueue(generated({}, fromStdin));
    const doc = oneJson(await plan(ctx, ["prefix what I pipe in", "--dry-run", "--json"], { stdin: "a" }));
    assert.match(doc.rerun_command, /^… \| pflow run \S+ tag=VALUE$/);
    // Without stdin piped, a stdin input is missing like any other, and nothing is piped.
    ctx.srv.enqueue(generated({}, fromStdin));
    const unpiped = oneJson(await plan(ctx, ["prefix what I pipe in", "--dry-run", "--json"]));
    assert.match(unpiped.rerun_command, /^pflow run \S+ tag=VALUE text=VALUE$/);
  });
});

Deno.test("--log-format json: every stderr line of a planned command is one JSON record (run, failure, missing inputs, dry run, refused param)", async () => {
  await withPlanner(async (ctx) => {
    const records = (result: CliResult) =>
      result.stderr.trimEnd().split("\n").map((line) => {
        try {
          return JSON.parse(line) as Doc;
        } catch {
          assert.fail(`not a JSON record: ${line}\n${explain(result)}`);
        }
      });
    const json = ["--log-format", "json"];
    ctx.srv.enqueue(generated());
    const ran = await plan(ctx, ["repeat hi three times", ...json]);
    assertExit(ran, 0);
    const messages = records(ran).map((r) => r.message as string);
    assert.ok(messages.some((m) => m.startsWith("Plan written to ")), ran.stderr);
    assert.ok(messages.some((m) => m.startsWith("Save it with: ")), ran.stderr);
    const broken = repeatWorkflow({ edges: [{ from: "say", to: "nowhere" }] });
    ctx.srv.enqueue(generated({}, broken));
    const failed = await plan(ctx, ["repeat hi", "--max-repairs", "0", ...json]);
    assertExit(failed, 2);
    const summary = records(failed).find((r) => r.message === "planning summary");
    assert.equal(summary?.status, "failed", failed.stderr);
    assert.equal(summary?.llm_calls, 1);
    ctx.srv.enqueue(generated({ times: 3 }));
    const missing = await plan(ctx, ["repeat a word three times", ...json]);
    assertExit(missing, 2);
    const rerun = records(missing).find((r) => String(r.message).startsWith("Run it with: "));
    assert.match(rerun?.rerun_command ?? "", /^pflow run \S+ times=3 word=VALUE$/, missing.stderr);
    ctx.srv.enqueue(generated({ times: 3 }));
    const dry = await plan(ctx, ["plan", "repeat a word three times", "--dry-run", ...json]);
    assertExit(dry, 0);
    assert.equal(records(dry).find((r) => r.message === "planning summary")?.status, "success");
    ctx.srv.enqueue(generated());
    const refused = await plan(ctx, ["repeat hi", "times=many", ...json]);
    assertExit(refused, 2);
    assert.ok(records(refused).some((r) => r.level === "error" && /times/.test(r.message)), refused.stderr);
  });
});

Deno.test("--trace with --trace-planner: one trace id, the workflow trace names the planner trace", async () => {
  await withPlanner(async (ctx) => {
    ctx.srv.enqueue(generated());
    const result = await plan(ctx, ["repeat hi", "--trace", "--trace-planner"]);
    assertExit(result, 0);
    const debug = join(ctx.home, "debug");
    const files = readdirSync(debug);
    const plannerFile = join(debug, files.find((f) => f.startsWith("planner-trace-repeat-hi-"))!);
    const workflowFile = join(debug, files.find((f) => f.startsWith("workflow-trace-"))!);
    const planner = readTrace(plannerFile);
    const workflow = readTrace(workflowFile);
    assert.equal(planner.kind, "planner");
    assert.equal(workflow.kind, "workflow");
    assert.equal(planner.trace_id, workflow.trace_id);
    assert.equal(workflow.planner_trace, plannerFile);
    assert.equal(workflow.parent_span_id, planner.request_span_id);
    assert.equal(planner.planner?.path, "generate");
    assert.equal(planner.planner?.plan_path?.includes("/plans/repeat-word-"), true);
    assert.deepEqual(planner.planner?.params, { word: "hi", times: 3 });
    const call = planner.events.find((e) => e.node_id === "generate")!.llm_calls[0];
    assert.ok(call.system!.includes("### shell"));
    assert.deepEqual((call.object as Doc).params, { word: "hi", times: 3 });
    assert.equal(call.usage.input_tokens, 1000);
    assert.ok(result.stderr.includes(`Planner trace saved: ${plannerFile}`));
    assert.ok(result.stderr.includes(`Workflow trace saved: ${workflowFile}`));
  });
});

Deno.test("a request never leaks a known secret into the plan file or the planner trace", async () => {
  await withPlanner(async (ctx) => {
    const secret = "sk-live-planner-SECRET-1234567890";
    const leaky = {
      ...repeatWorkflow(),
      name: `echo-${secret}`,
      nodes: [{ id: "say", type: "shell", params: { command: `echo ${secret}` } }],
      inputs: {},
    };
    ctx.srv.enqueue(generated({}, leaky));
    const env = { ...ctx.env, MY_SERVICE_API_KEY: secret };
    const result = await plan(ctx, [`${secret} echo it`, "--dry-run", "--trace-planner"], { env });
    assertExit(result, 0);
    const files = [
      ...plannerTraces(ctx.home),
      ...readdirSync(join(ctx.home, "plans")).map((f) => join(ctx.home, "plans", f)),
    ];
    assert.equal(files.length, 2);
    for (const file of files) {
      // Lower-cased too: the planner trace is named after the request.
      assert.ok(!file.toLowerCase().includes(secret.toLowerCase()), `${file} is named after the secret`);
      const text = readFileSync(file, "utf8").toLowerCase();
      assert.ok(!text.includes(secret.toLowerCase()), `${file} holds the secret`);
    }
    const list = await plan(ctx, ["trace", "list"], { env });
    assert.ok(!list.stdout.toLowerCase().includes(secret.toLowerCase()), list.stdout);
    assert.ok(!result.stdout.includes(secret) && !result.stderr.includes(secret));
  });
});

Deno.test("a secret the planner learns from the request is in no trace's name or text, and each printed path is the file", async () => {
  await withPlanner(async (ctx) => {
    const secret = "qq7secret7qq";
    const request = `call the api with token ${secret}`;
    const api = {
      ir_version: "0.1.0",
      name: "api",
      inputs: { api_token: { type: "string" }, who: { type: "string" } },
      nodes: [{ id: "a", type: "echo", params: { value: "hi ${who}" } }],
    };
    const reply = () => ({ json: { workflow: api, params: { api_token: secret } }, usage: PLAN_USAGE });
    const printedPaths: string[] = [];
    // A failed planning (inputs missing) writes its trace unasked; text and JSON name it.
    ctx.srv.enqueue(reply());
    const text = await plan(ctx, [request]);
    assertExit(text, 2);
    printedPaths.push(text.stderr.match(/Planner trace saved: (\S+)/)![1]);
    ctx.srv.enqueue(reply());
    const doc = oneJson(await plan(ctx, [request, "--json"]));
    assert.equal(doc.subtype, "error_missing_inputs");
    printedPaths.push(doc.planner_trace_path);
    // --trace-planner on a planning that succeeds; --trace names the workflow trace.
    ctx.srv.enqueue(reply());
    const traced = await plan(ctx, [request, "who=Bob", "--trace-planner", "--trace"]);
    assertExit(traced, 0);
    assert.equal(traced.stdout, "hi Bob\n");
    printedPaths.push(traced.stderr.match(/Planner trace saved: (\S+)/)![1]);
    printedPaths.push(traced.stderr.match(/Workflow trace saved: (\S+)/)![1]);
    // `pflow run` with the secret given as a param, in a workflow named after it.
    writeFileSync(join(ctx.dir, "named.json"), JSON.stringify({ ...api, name: `api-${secret}` }));
    const run = await plan(ctx, ["run", "named.json", "--trace", `api_token=${secret}`, "who=Al"]);
    assertExit(run, 0);
    printedPaths.push(run.stderr.match(/Workflow trace saved: (\S+)/)![1]);
    const onDisk = readdirSync(join(ctx.home, "debug")).map((f) => join(ctx.home, "debug", f)).sort();
    assert.deepEqual([...printedPaths].sort(), onDisk);
    for (const file of onDisk) {
      assert.ok(!file.includes(secret), `${file} is named after the secret`);
      assert.ok(!readFileSync(file, "utf8").includes(secret), `${file} holds the secret`);
    }
    assert.match(printedPaths[0], /planner-trace-call-the-api-with-token-redacted-/);
    const show = await plan(ctx, ["trace", "show", printedPaths[0]]);
    assertExit(show, 0);
    assert.match(show.stdout, /request: "call the api with token \[REDACTED\]"/);
  });
});

/** Every file under `dir` (recursively), with its path relative to `dir`. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" }).map((f) => join(dir, f))
    .filter((f) => statSync(f).isFile());
}

/** Asserts `secret` is in no file's name or bytes under `home`, nor in the results' stdout and stderr. */
function assertNowhere(secret: string, home: string, results: CliResult[]): void {
  for (const file of filesUnder(home)) {
    assert.ok(!file.toLowerCase().includes(secret.toLowerCase()), `${file} is named after the secret`);
    assert.ok(!readFileSync(file).toString("latin1").includes(secret), `${file} holds the secret`);
  }
  for (const result of results) {
    assert.ok(!result.stdout.includes(secret) && !result.stderr.includes(secret), explain(result));
  }
}

Deno.test("a token the model writes as a secret-named input's default is hidden in the plan, the saved copy, the planner trace and its name, and the dry run", async () => {
  await withPlanner(async (ctx) => {
    const token = "tok-9f8e7d6c5b4a39";
    const request = `call the service with token ${token}`;
    const service = {
      ir_version: "0.1.0",
      name: "call-service",
      inputs: { api_token: { type: "string", description: "The token", default: token } },
      nodes: [{
        id: "a",
        type: "shell",
        params: { command: 'test "$T" = "$X" && echo ok', env: { T: "${api_token}" } },
      }],
    };
    const reply = () => ({ json: { workflow: service, params: {} }, usage: PLAN_USAGE });
    const env = { ...ctx.env, X: token };
    const results: CliResult[] = [];
    ctx.srv.enqueue(reply());
    const json = oneJson(await plan(ctx, [request, "--dry-run", "--json"], { env }));
    assert.equal(json.workflow.inputs.api_token.default, "[REDACTED]");
    results.push({ code: 0, signal: null, stdout: JSON.stringify(json), stderr: "" });
    // The run itself uses the token (the planned workflow, not its redacted plan file).
    ctx.srv.enqueue(reply());
    const ran = await plan(ctx, [request, "--trace-planner", "--trace"], { env });
    assertExit(ran, 0);
    assert.equal(ran.stdout, "ok\n");
    results.push(ran);
    ctx.srv.enqueue(reply());
    const dry = await plan(ctx, ["plan", request, "--dry-run", "--trace-planner", "--save", "kept"], { env });
    assertExit(dry, 0);
    results.push(dry);
    assert.match(dry.stdout, /api_token +string = "\[REDACTED\]" \(default\)/);
    assert.ok(existsSync(join(ctx.home, "workflows", "kept.json")));
    const traces = plannerTraces(ctx.home);
    assert.equal(traces.length, 2);
    for (const trace of traces) assert.match(trace, /planner-trace-call-the-service-with-token-redacted-/);
    assertNowhere(token, ctx.home, results);
  });
});

Deno.test("a secret in a workflow's name is hidden in the Pushgateway group and the ledger (planned runs, pflow run)", async () => {
  await withPlanner(async (ctx) => {
    const gateway = await startPushgateway();
    try {
      const token = "tok_abcdef1234567890";
      const key = "sk-name-SECRET-0987654321";
      const env = { ...ctx.env, MY_SERVICE_API_KEY: key };
      const named = {
        ir_version: "0.1.0",
        name: `call with ${token}`,
        inputs: { api_token: { type: "string" }, who: { type: "string" } },
        nodes: [{ id: "a", type: "echo", params: { value: "hi ${who}" } }],
        outputs: { o: { source: "${a.output}" } },
      };
      // The model names its plan after the token given with the request: a run, then a planning that ends the
      // command (an input missing), each pushed and recorded.
      ctx.srv.enqueue(generated({ who: "Bob" }, named));
      const ran = await plan(ctx, ["call the api", `api_token=${token}`, "--pushgateway", gateway.url], { env });
      assertExit(ran, 0);
      assert.equal(ran.stdout, "hi Bob\n");
      ctx.srv.enqueue(generated({}, { ...named, name: `missing for ${token}` }));
      const missing = await plan(ctx, ["call the api", `api_token=${token}`, "--pushgateway", gateway.url], { env });
      assertExit(missing, 2);
      // A workflow file whose name holds an API key of the environment.
      writeFileSync(join(ctx.dir, "keyed.json"), JSON.stringify({ ...named, name: `keyed ${key}`, inputs: undefined }));
      assertExit(await plan(ctx, ["run", "keyed.json", "who=Al", "--pushgateway", gateway.url], { env }), 0);
      const scraped = await (await fetch(`${gateway.url}/metrics`)).text();
      for (const name of ["call with [REDACTED]", "missing for [REDACTED]", "keyed [REDACTED]"]) {
        assert.ok(scraped.includes(`workflow="${name}"`), `no group for ${name}:\n${scraped}`);
      }
      const report = await plan(ctx, ["cost", "report", "--by", "workflow", "--json"], { env: ctx.env });
      assertExit(report, 0);
      const groups = JSON.parse(report.stdout).rows.map((r: Doc) => r.group).sort();
      assert.deepEqual(groups, ["call with [REDACTED]", "keyed [REDACTED]", "missing for [REDACTED]"]);
      for (const secret of [token, key]) {
        assert.ok(!scraped.includes(secret), `the Pushgateway holds ${secret}`);
        // The ledger's files hold neither (the cost report above ran without the key, so it printed as stored).
        for (const file of readdirSync(ctx.home).filter((f) => f.startsWith("ledger"))) {
          assert.ok(!readFileSync(join(ctx.home, file), "latin1").includes(secret), `${file} holds ${secret}`);
        }
      }
    } finally {
      await gateway.close();
    }
  });
});

Deno.test("bad planner flags are usage errors (exit 2) before any call", async () => {
  await withPlanner(async (ctx) => {
    const cases: [string[], RegExp][] = [
      [["plan"], /missing request/],
      [["plan", "do it", "--max-repairs", "11"], /--max-repairs must be a whole number from 0 to 10/],
      [["plan", "do it", "--planner-timeout", "0"], /--planner-timeout must be a number of seconds above 0/],
      [
        ["plan", "do it", "--planner-timeout", "0x10"],
        /--planner-timeout must be a number of seconds above 0, got '0x10'/,
      ],
      [["plan", "do it", "--planner-timeout", " 5"], /--planner-timeout must be a number of seconds above 0/],
      [
        ["plan", "do it", "--max-budget-usd", "1e1x"],
        /--max-budget-usd must be a number .*got '1e1x'\n.*pflow plan --help/,
      ],
      [["plan", "do it", "--save", "bad name"], /invalid workflow name 'bad name'.*\nRun 'pflow plan --help'/],
      [["plan", "do it", "--save", "run"], /invalid workflow name 'run': it is a pflow command/],
      [["plan", "do it", "--bogus"], /unknown flag '--bogus'/],
    ];
    for (const [args, message] of cases) {
      const result = await plan(ctx, args);
      assertExit(result, 2);
      assert.match(result.stderr, message);
    }
    const noKey = await plan(ctx, ["plan", "do it"], { env: { ...ctx.env, ANTHROPIC_API_KEY: "" } });
    assertExit(noKey, 2);
    assert.match(noKey.stderr, /error: planner model: .*ANTHROPIC_API_KEY/);
    const badModel = await plan(ctx, ["plan", "do it", "--planner-model", "nonsense"]);
    assertExit(badModel, 2);
    assert.match(badModel.stderr, /error: planner model: invalid model id 'nonsense'/);
    // Settings: planner_model is used when no flag or PFLOW_PLANNER_MODEL names one; a non-string is an error.
    writeFileSync(join(ctx.home, "settings.json"), JSON.stringify({ planner_model: 42 }));
    const badSetting = await plan(ctx, ["plan", "do it"], { env: { ...ctx.env, PFLOW_PLANNER_MODEL: "" } });
    assertExit(badSetting, 2);
    assert.match(badSetting.stderr, /error: \S+settings\.json:1:2: \/planner_model: must be a string/);
    assert.equal(ctx.srv.requests.length, 0);
  });
});

Deno.test("a bare first argument that is a single unknown word is an unknown command, not a request", async () => {
  await withPlanner(async (ctx) => {
    const result = await plan(ctx, ["summarize"]);
    assertExit(result, 2);
    assert.match(result.stderr, /unknown command 'summarize'/);
    assert.equal(ctx.srv.requests.length, 0);
  });
});

Deno.test("OTLP export of a planned run: a root span for the request, parent of plan and invoke_workflow", async () => {
  await withPlanner(async (ctx) => {
    const receiver = await startOtlpReceiver();
    try {
      ctx.srv.enqueue(generated());
      const result = await plan(ctx, ["repeat hi"], { env: { ...ctx.env, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url } });
      assertExit(result, 0);
      assert.equal(receiver.requests.length, 1, "one export for planning and run");
      const spans = receiver.spans();
      const byName = (name: string) => spans.filter((s) => s.span.name === name);
      const [root] = byName("pflow request");
      assert.ok(root, spans.map((s) => s.span.name).join(", "));
      assert.equal(root.span.parentSpanId ?? "", "");
      assert.equal(root.attributes["pflow.request"], "repeat hi");
      assert.equal(root.attributes["pflow.planner.path"], "generate");
      const [planSpan] = byName("plan");
      const [run] = byName("invoke_workflow repeat-word");
      assert.equal(planSpan.span.parentSpanId, root.span.spanId);
      assert.equal(run.span.parentSpanId, root.span.spanId);
      assert.equal(planSpan.attributes["gen_ai.operation.name"], "plan");
      for (const node of ["generate", "validate", "inputs"]) {
        assert.equal(byName(`node ${node}`)[0]?.span.parentSpanId, planSpan.span.spanId, node);
      }
      const chat = spans.find((s) => s.span.name.startsWith("chat "))!;
      assert.ok(chat, spans.map((s) => s.span.name).join(", "));
      assert.equal(chat.span.parentSpanId, byName("node generate")[0].span.spanId);
      assert.equal(byName("node say")[0].span.parentSpanId, run.span.spanId);
      assert.ok(spans.every((s) => s.span.traceId === root.span.traceId));
    } finally {
      await receiver.close();
    }
  });
});

Deno.test("OTLP export of a planned run: the request span costs the request, plan and invoke_workflow each their own calls", async () => {
  await withPlanner(async (ctx) => {
    const receiver = await startOtlpReceiver();
    try {
      // The plan's workflow makes one Haiku call: 400*1.00 + 100*5.00 = 900 µ$; planning cost PLAN_COST.
      const ask = repeatWorkflow({
        nodes: [{ id: "ask", type: "llm", params: { model: HAIKU, prompt: "say ${word}" } }],
        outputs: { text: { source: "${ask.response}", description: "The words" } },
      });
      ctx.srv.enqueue(generated({ word: "hi" }, ask), {
        text: "hi hi",
        usage: { input_tokens: 400, output_tokens: 100 },
      });
      const env = { ...ctx.env, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url };
      const doc = oneJson(await plan(ctx, ["repeat hi", "--output-format", "json"], { env }));
      assert.equal(doc.subtype, "success", JSON.stringify(doc.error));
      assert.equal(doc.total_cost_usd, 0.0029);
      assert.equal(receiver.requests.length, 1);
      const spans = receiver.spans();
      const cost = (name: string) => spans.find((s) => s.span.name === name)?.attributes["pflow.total_cost_usd"];
      assert.equal(cost("pflow request"), doc.total_cost_usd, "the request: planning and workflow, once each");
      assert.equal(cost("plan"), PLAN_COST);
      assert.equal(cost("invoke_workflow repeat-word"), 0.0009, "the workflow's own calls");
      const run = spans.find((s) => s.span.name === "invoke_workflow repeat-word")!;
      const nodes = new Set(spans.filter((s) => s.span.parentSpanId === run.span.spanId).map((s) => s.span.spanId));
      const chats = spans.filter((s) => nodes.has(s.span.parentSpanId ?? "") && s.span.name.startsWith("chat "));
      assert.equal(chats.length, 1);
      assert.equal(chats[0].attributes["pflow.cost_usd"], 0.0009, "its chat spans add up to it");
    } finally {
      await receiver.close();
    }
  });
});

Deno.test("OTLP export of a planning whose workflow never runs: dry run, missing inputs, a bad param", async () => {
  await withPlanner(async (ctx) => {
    const receiver = await startOtlpReceiver();
    try {
      const env = { ...ctx.env, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url };
      // How the command ended is the request span's status (the planning itself succeeded in all three).
      const cases: [args: string[], reply: ReturnType<typeof generated>, exit: number, status: unknown][] = [
        [["plan", "repeat hi", "--dry-run"], generated(), 0, ["success", 1, undefined]],
        [["repeat a word", "--output-format", "json"], generated({}), 2, ["failed", 2, "error_missing_inputs"]],
        [["repeat hi", "times=lots"], generated(), 2, ["failed", 2, "error_validation"]],
      ];
      for (const [args, reply, exit, status] of cases) {
        const before = receiver.requests.length;
        ctx.srv.enqueue(reply);
        const result = await plan(ctx, args, { env });
        assertExit(result, exit);
        assert.equal(receiver.requests.length, before + 1, `one export: ${args.join(" ")}`);
        const all = receiver.spans();
        const spans = all.filter((s) => s.span.traceId === all.at(-1)!.span.traceId);
        const root = spans.find((s) => s.span.name === "pflow request");
        assert.ok(root, `${args.join(" ")}: ${spans.map((s) => s.span.name).join(", ")}`);
        assert.equal(root.attributes["pflow.planner.path"], "generate");
        assert.equal(root.attributes["pflow.total_cost_usd"], PLAN_COST, "the planning's cost, the request's");
        const planSpan = spans.find((s) => s.span.name === "plan")!;
        assert.equal(planSpan.span.parentSpanId, root.span.spanId);
        assert.ok(spans.some((s) => s.span.name.startsWith("chat ")), args.join(" "));
        assert.ok(!spans.some((s) => s.span.name.startsWith("invoke_workflow")), "no workflow ran");
        assert.deepEqual(
          [root.attributes["pflow.final_status"], root.span.status?.code, root.span.status?.message],
          status,
          args.join(" "),
        );
        assert.equal(planSpan.span.status?.code, 1, "the planning succeeded");
      }
    } finally {
      await receiver.close();
    }
  });
});

Deno.test("a secret the planner learns from the request is not in the OTLP export (request span, any span)", async () => {
  await withPlanner(async (ctx) => {
    const receiver = await startOtlpReceiver();
    try {
      const secret = "ReqTokenABC123456";
      const request = `fetch data about cats with token ${secret}`;
      const api = {
        ir_version: "0.1.0",
        name: "fetch-data",
        inputs: { api_token: { type: "string" }, topic: { type: "string" } },
        nodes: [{ id: "e", type: "echo", params: { value: "${topic}" } }],
      };
      const reply = (params: Record<string, unknown> = { topic: "cats" }) => ({
        json: { workflow: api, params: { ...params, api_token: secret } },
        usage: PLAN_USAGE,
      });
      const env = { ...ctx.env, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url };
      // The workflow runs; a dry run; a planning whose inputs are missing (its trace then goes to a file too).
      const cases: [string[], ReturnType<typeof reply>, number][] = [
        [[request], reply(), 0],
        [["plan", request, "--dry-run"], reply(), 0],
        [[request, "--output-format", "json"], reply({}), 2],
      ];
      for (const [args, answer, exit] of cases) {
        const before = receiver.requests.length;
        ctx.srv.enqueue(answer);
        const result = await plan(ctx, args, { env });
        assertExit(result, exit);
        assert.equal(receiver.requests.length, before + 1, `one export: ${args.join(" ")}`);
        const body = receiver.requests.at(-1)!.body;
        assert.ok(!body.includes(secret), `${args.join(" ")}: the export holds the secret`);
        const root = flattenTraces(receiver.requests.at(-1)!.json).find((s) => s.span.name === "pflow request");
        assert.ok(root, body);
        assert.match(String(root.attributes["pflow.request"]), /with token \[REDACTED\]$/);
      }
    } finally {
      await receiver.close();
    }
  });
});

Deno.test("a reply that is not JSON is sent back as a problem, and the repair fixes it", async () => {
  await withPlanner(async (ctx) => {
    ctx.srv.enqueue({ text: "Sorry, I would rather write prose.", usage: PLAN_USAGE }, generated());
    const doc = oneJson(await plan(ctx, ["repeat hi", "--output-format", "json"]));
    assert.equal(doc.subtype, "success", JSON.stringify(doc.error));
    assert.equal(doc.metrics.planner.repairs, 1);
    assert.equal(doc.num_llm_calls, 2);
    // The unusable reply was billed: both calls are counted and priced.
    assert.equal(doc.total_cost_usd, 2 * PLAN_COST);
    const repair = messagesText(ctx.srv.requests[1]);
    assert.ok(repair.includes("Sorry, I would rather write prose."), repair);
    assert.ok(repair.includes("is not the JSON object asked for"), repair);
  });
});

Deno.test("a reply nested 50,000 deep (a node param or a param value) is a problem the repair is told, not a crash", async () => {
  await withPlanner(async (ctx) => {
    const deep = "[".repeat(50_000) + "]".repeat(50_000);
    const valid = JSON.stringify({ workflow: repeatWorkflow(), params: { word: "hi" } });
    const inNode = valid.replace('"params":{"command"', `"params":{"deep":${deep},"command"`);
    const inParams = valid.replace('"params":{"word"', `"params":{"deep":${deep},"word"`);
    for (const text of [inNode, inParams]) {
      ctx.srv.reset();
      ctx.srv.enqueue({ text }, { text: valid });
      const result = await plan(ctx, ["repeat hi", "--planner-model", MINI]);
      assertExit(result, 0);
      assert.equal(result.stdout, "hi hi \n");
      assert.equal(ctx.srv.requests.length, 2);
      const repair = messagesText(ctx.srv.requests[1]);
      assert.ok(repair.includes("the reply is nested deeper than 1000 levels of arrays and objects"), repair);
      assert.ok(!repair.includes("[[[["), "the deep reply is not sent back");
    }
    // No repair left: the problem, exit 2.
    ctx.srv.reset();
    ctx.srv.enqueue({ text: inParams });
    const failed = await plan(ctx, ["repeat hi", "--planner-model", MINI, "--max-repairs", "0"]);
    assertExit(failed, 2);
    assert.match(
      failed.stderr,
      /error: \/: the reply is nested deeper than 1000 levels of arrays and objects; flatten/,
    );
  });
});

Deno.test("a reply that is not the JSON asked for is one problem, each cause said once", async () => {
  await withPlanner(async (ctx) => {
    ctx.srv.enqueue({ text: "nope", usage: PLAN_USAGE });
    const notJson = await plan(ctx, ["do a thing", "--max-repairs", "0"]);
    assertExit(notJson, 2);
    const line = notJson.stderr.split("\n").find((l) => l.startsWith("error: /: "))!;
    assert.equal(
      line,
      "error: /: the reply is not the JSON object asked for (anthropic/claude-haiku-4-5: the reply is not JSON " +
        "('nope'); structured output needs a JSON value matching the schema)",
    );
    ctx.srv.enqueue({ json: { plan: 1 }, usage: PLAN_USAGE });
    const wrongShape = await plan(ctx, ["do a thing", "--max-repairs", "0"]);
    assertExit(wrongShape, 2);
    const problem = wrongShape.stderr.split("\n").find((l) => l.startsWith("error: /: "))!;
    assert.match(problem, /the reply does not match the schema: .*"workflow"/);
    assert.equal(problem.split('"workflow"').length, 2, problem);
  });
});

Deno.test("a reply the model refused stops the planning with the reason; no repair is spent on it", async () => {
  await withPlanner(async (ctx) => {
    ctx.srv.enqueue({ empty: true, finishReason: "refusal", usage: PLAN_USAGE }, generated());
    const doc = oneJson(await plan(ctx, ["do something forbidden", "--output-format", "json"]));
    assert.equal(doc.subtype, "error_planning");
    assert.equal(doc.error.message, "anthropic/claude-haiku-4-5: the model refused to answer (stop_reason refusal)");
    assert.equal(ctx.srv.requests.length, 1, "no repair call");
    assert.equal(doc.num_llm_calls, 1);
    assert.equal(doc.total_cost_usd, PLAN_COST);
  });
});

Deno.test("a generate call that fails (401, refusal) was on the generate path: metrics.planner.path and the summary say so", async () => {
  await withPlanner(async (ctx) => {
    ctx.srv.enqueue({ status: 401 });
    const denied = await plan(ctx, ["repeat hi"]);
    assertExit(denied, 1);
    assert.match(denied.stderr, /✗ planned \(generate, 1 call/);
    ctx.srv.enqueue({ status: 401 });
    assert.equal(oneJson(await plan(ctx, ["repeat hi", "--json"])).metrics.planner.path, "generate");
    // After a reuse call that chose none.
    saveWorkflow(ctx, "greet", GREET);
    const none = { json: { workflow_name: null, params: {}, reason: "nothing fits" }, usage: PLAN_USAGE };
    ctx.srv.enqueue(none, { empty: true, finishReason: "refusal", usage: PLAN_USAGE });
    const refused = oneJson(await plan(ctx, ["do something forbidden", "--json"]));
    assert.equal(refused.subtype, "error_planning");
    assert.equal(refused.metrics.planner.path, "generate");
    // A reuse call that fails chose nothing: null.
    ctx.srv.enqueue({ status: 401 });
    assert.equal(oneJson(await plan(ctx, ["greet Ada", "--json"])).metrics.planner.path, null);
  });
});

Deno.test("a reply cut off at the output limit stops the planning with that cause; no repair is spent on it", async () => {
  await withPlanner(async (ctx) => {
    const cut = { text: '{"workflow": {"ir_version": "0.1.0", "nodes": [{"id": "a"', finishReason: "max_tokens" };
    ctx.srv.enqueue({ ...cut, usage: PLAN_USAGE }, generated());
    const text = await plan(ctx, ["build a very large workflow"]);
    assertExit(text, 1);
    assert.match(
      text.stderr,
      /error: planning failed: anthropic\/claude-haiku-4-5: the reply was cut off at the output limit \(max_tokens \d+\) before its JSON was complete; the planner writes the whole workflow in one reply: plan with a model that has a larger output limit \(--planner-model, PFLOW_PLANNER_MODEL or planner_model in settings\), or ask for less in one request\n/,
    );
    // Not the llm node's advice, which the planner's user cannot follow.
    assert.doesNotMatch(text.stderr, /ask for a shorter reply|raise max_tokens/);
    assert.equal(ctx.srv.requests.length, 1, "no repair call");
    ctx.srv.reset();
    ctx.srv.enqueue({ ...cut, usage: PLAN_USAGE });
    const doc = oneJson(await plan(ctx, ["build a very large workflow", "--output-format", "json"]));
    assert.equal(doc.subtype, "error_planning");
    assert.equal(doc.error.type, "LlmReplyError");
    assert.equal(doc.num_llm_calls, 1);
    // The cut-off reply was billed.
    assert.equal(doc.total_cost_usd, PLAN_COST);
  });
});

Deno.test("replies the strict schema refuses but the planner reads are used: params null, a bare workflow", async () => {
  await withPlanner(async (ctx) => {
    // A reuse decision with "params": null (the workflow has nothing to fill): reused, one call, no warning.
    saveWorkflow(ctx, "disk-usage", {
      ir_version: "0.1.0",
      name: "disk-usage",
      description: "Shows disk usage",
      nodes: [{ id: "a", type: "echo", params: { value: "42G" } }],
    });
    ctx.srv.enqueue({ json: { workflow_name: "disk-usage", params: null, reason: "it does" }, usage: PLAN_USAGE });
    const reused = await plan(ctx, ["show disk usage here"]);
    assertExit(reused, 0);
    assert.equal(reused.stdout, "42G\n");
    assert.doesNotMatch(reused.stderr, /warning/);
    assert.match(reused.stderr, /✓ planned \(reuse, 1 call/);
    assert.equal(ctx.srv.requests.length, 1);
    rmSync(join(ctx.home, "workflows"), { recursive: true });
    // A generate reply that is the workflow itself, and one with "params": null: valid plans, no repair.
    ctx.srv.enqueue({ json: repeatWorkflow(), usage: PLAN_USAGE });
    const bare = oneJson(await plan(ctx, ["repeat hi", "word=hi", "--max-repairs", "0", "--output-format", "json"]));
    assert.equal(bare.subtype, "success", JSON.stringify(bare.error));
    assert.deepEqual(bare.result, { text: "hi hi " });
    assert.equal(bare.num_llm_calls, 1);
    ctx.srv.enqueue({ json: { workflow: repeatWorkflow(), params: null }, usage: PLAN_USAGE });
    const nullParams = oneJson(
      await plan(ctx, ["repeat hi", "word=ho", "--max-repairs", "0", "--output-format", "json"]),
    );
    assert.equal(nullParams.subtype, "success", JSON.stringify(nullParams.error));
    assert.deepEqual(nullParams.result, { text: "ho ho " });
    // The schema sent to the provider is unchanged: the planner only reads leniently.
    const tool = (ctx.srv.requests.at(-1)!.body?.tools ?? [])[0];
    const sent = tool?.input_schema ?? ctx.srv.requests.at(-1)!.body?.output_config?.format?.schema;
    assert.deepEqual(sent?.required, ["workflow"], JSON.stringify(ctx.srv.requests.at(-1)!.body));
  });
});

Deno.test("on a terminal, missing inputs are asked for, then the plan runs", async () => {
  await withPlanner(async (ctx) => {
    ctx.srv.enqueue(generated({ times: 2 }));
    // `script` (util-linux) runs pflow on a pseudo-terminal and forwards our stdin to it.
    const command = `${PFLOW_BIN} 'repeat a word twice'`;
    const result = await runCommand("script", ["-qec", command, "/dev/null"], {
      env: ctx.env,
      cwd: ctx.dir,
      stdin: "yo\n",
    });
    assert.equal(result.code, 0, explain(result));
    assert.match(result.stdout, /word \(string\): The word to repeat\? /);
    assert.match(result.stdout, /yo yo/);
  });
});

Deno.test("on a terminal, a secret-named input is asked for without echoing what is typed", async () => {
  await withPlanner(async (ctx) => {
    const token = "tok-secret-77aa88bb99cc";
    const api = {
      ir_version: "0.1.0",
      name: "api",
      inputs: { word: { type: "string" }, api_token: { type: "string", description: "API token" } },
      nodes: [{
        id: "a",
        type: "shell",
        params: { command: `test "$T" = ${token} && echo "ok $W"`, env: { T: "${api_token}", W: "${word}" } },
      }],
    };
    const onTerminal = (answers: string[]) => {
      ctx.srv.enqueue(generated({}, api));
      const command = `${PFLOW_BIN} 'call the api'`;
      return runCommand("script", ["-qec", command, "/dev/null"], { env: ctx.env, cwd: ctx.dir, stdin: answers });
    };
    const result = await onTerminal(["yo\n", `${token}\n`]);
    assert.equal(result.code, 0, explain(result));
    assert.match(result.stdout, /word \(string\)\? \S*yo\r*\n/, "an input that is not secret is echoed");
    assert.match(result.stdout, /api_token \(string\): API token\? \r*\n/);
    assert.match(result.stdout, /ok yo/, "the typed secret reached the run");
    assert.ok(!result.stdout.includes(token), `the token was echoed:\n${result.stdout}`);
    // Ctrl+C at the secret's prompt still interrupts.
    const interrupt = await onTerminal(["yo\n", "\x03"]);
    assert.equal(interrupt.code, 130, explain(interrupt));
    assert.match(interrupt.stdout, /interrupted while asking for inputs/);
  });
});

Deno.test("on a terminal, a secret-named input's answer that is not valid JSON is reported without its text", async () => {
  await withPlanner(async (ctx) => {
    const api = {
      ir_version: "0.1.0",
      name: "api",
      inputs: { credentials: { type: "object", description: "API credentials" } },
      nodes: [{ id: "a", type: "shell", params: { command: "echo ok", env: { C: "${credentials}" } } }],
    };
    ctx.srv.enqueue(generated({}, api));
    const command = `${PFLOW_BIN} 'call the api'`;
    const result = await runCommand("script", ["-qec", command, "/dev/null"], {
      env: ctx.env,
      cwd: ctx.dir,
      stdin: ['{"user": "bob", "key": hunter2secret}\n'],
    });
    // Asked again; the input then ends (Ctrl+D): the missing input is reported.
    assert.equal(result.code, 2, explain(result));
    assert.match(result.stdout, /credentials \(object\): API credentials\? \r*\n/);
    assert.match(result.stdout, /input 'credentials' must be JSON \(invalid JSON[^\n]*; try again/);
    assert.match(result.stdout, /missing required input 'credentials'/);
    assert.ok(!result.stdout.includes("hunter2"), `the answer was shown:\n${result.stdout}`);
  });
});

Deno.test("on a terminal, answers are typed by the input's declared type, as key=value is; a wrong one is asked again", async () => {
  await withPlanner(async (ctx) => {
    const typedInputs = {
      ir_version: "0.1.0",
      name: "typed",
      inputs: {
        price: { type: "number", description: "Price" },
        n: { type: "integer", description: "Count" },
        code: { type: "string", description: "Code" },
        data: { type: "object", description: "Data" },
      },
      nodes: [{
        id: "a",
        type: "shell",
        params: {
          command: 'printf "%s|%s|%s|%s" "$P" "$N" "$C" "$D"',
          env: { P: "${price}", N: "${n}", C: "${code}", D: "${data.a}" },
        },
      }],
    };
    ctx.srv.enqueue(generated({}, typedInputs));
    const command = `${PFLOW_BIN} 'price things'`;
    const result = await runCommand("script", ["-qec", command, "/dev/null"], {
      env: ctx.env,
      cwd: ctx.dir,
      stdin: ["1.10\n", "007\n", "007\n", "{bad\n", '{"a": 5}\n'],
    });
    assert.equal(result.code, 0, explain(result));
    assert.match(result.stdout, /input 'data' must be JSON \([^\n]*\), got '\{bad'; try again/);
    assert.equal(result.stdout.match(/data \(object\): Data\? /g)?.length, 2, result.stdout);
    assert.match(result.stdout, /1\.1\|7\|007\|5/);
  });
});

Deno.test("trace list shows planner and workflow traces with their kind; trace show renders a planner trace", async () => {
  await withPlanner(async (ctx) => {
    const broken = repeatWorkflow();
    (broken.nodes[0].params as Record<string, unknown>).comand = "echo typo";
    ctx.srv.enqueue(generated({ word: "hi", times: 3 }, broken), generated());
    assertExit(await plan(ctx, ["repeat hi", "--trace", "--trace-planner"]), 0);
    const list = await plan(ctx, ["trace", "list"]);
    assertExit(list, 0);
    const [head, ...rows] = list.stdout.trim().split("\n");
    assert.match(head, /^TIME\s+KIND\s+WORKFLOW\s+STATUS/);
    assert.equal(rows.length, 2);
    assert.ok(rows.some((r) => /\splanner\s+repeat-hi\s+✓ success/.test(r)), list.stdout);
    assert.ok(rows.some((r) => /\sworkflow\s+repeat-word\s+✓ success/.test(r)), list.stdout);
    const json = JSON.parse((await plan(ctx, ["trace", "list", "--json"])).stdout) as Doc[];
    assert.deepEqual(json.map((e) => e.kind).sort(), ["planner", "workflow"]);
    const [plannerFile] = plannerTraces(ctx.home);
    const show = await plan(ctx, ["trace", "show", plannerFile]);
    assertExit(show, 0);
    assert.match(show.stdout, /request: "repeat hi" · planner model anthropic\/claude-haiku-4-5/);
    assert.match(show.stdout, /path: generate · 1 repair · plan .*\/plans\/repeat-word-/);
    assert.match(
      show.stdout,
      /attempt 1: ✗ 1 problem\n\s+\/nodes\/0\/params\/comand: 'shell' does not accept param 'comand'/,
    );
    assert.match(show.stdout, /attempt 2: ✓ valid/);
    assert.match(show.stdout, /✓ generate\s+planner-generate/);
    assert.match(show.stdout, /└─ anthropic\/claude-haiku-4-5 · in 1,000 · out 200/);
    const workflowShow = await plan(ctx, ["trace", "show", "latest"]);
    assert.ok(
      workflowShow.stdout.includes("planned by: ") || workflowShow.stdout.includes("request: "),
      workflowShow.stdout,
    );
  });
});

Deno.test("a --planner-timeout longer than a timer can hold works, with no runtime warning", async () => {
  await withPlanner(async (ctx) => {
    ctx.srv.enqueue(generated());
    const result = await plan(ctx, ["repeat hi", "--planner-timeout", "3000000"]);
    assertExit(result, 0);
    assert.equal(result.stdout, "hi hi hi \n");
    assert.doesNotMatch(result.stderr, /TimeoutOverflow|warning/i);
  });
});

Deno.test("a budget spent while planning stops the planning: error_max_budget_usd, no further call", async () => {
  await withPlanner(async (ctx) => {
    const broken = repeatWorkflow({ edges: [{ from: "say", to: "nowhere" }] });
    ctx.srv.enqueue(generated({}, broken), generated());
    const result = await plan(ctx, ["repeat hi", "--max-budget-usd", "0.001", "--output-format", "json"]);
    assertExit(result, 1);
    const doc = oneJson(result);
    assert.equal(doc.subtype, "error_max_budget_usd");
    assert.equal(doc.is_error, true);
    assert.equal(ctx.srv.requests.length, 1, "the repair call never started");
    assert.equal(doc.metrics.planner.llm_calls, 1);
    assert.equal(doc.total_cost_usd, PLAN_COST);
    assert.match(doc.error.message, /^budget of \$0\.0010 reached \(\$0\.0020 spent\)/);
    assert.equal(readTrace(plannerTraces(ctx.home)[0]).final_status, "budget_exceeded");
  });
});

Deno.test("SIGINT while planning in JSON mode prints one error_interrupted document", async () => {
  await withPlanner(async (ctx) => {
    ctx.srv.enqueue({ delayMs: 60_000, json: { workflow: repeatWorkflow() } });
    const result = await plan(ctx, ["repeat hi", "--output-format", "json"], {
      onSpawn: (child) => {
        ctx.srv.waitForRequests(1).then(() => process.kill(child.pid!, "SIGINT"));
      },
    });
    assertExit(result, 130);
    const doc = oneJson(result);
    assert.equal(doc.subtype, "error_interrupted");
    assert.equal(doc.result, null);
    assert.equal(typeof doc.duration_planner_ms, "number");
    assert.equal(doc.metrics.planner.path, "generate", "nothing saved: the generate path from the start");
  });
});

Deno.test("a plan that fails to prepare reports what planning spent, names the plan, and closes its ledger run", async () => {
  await withPlanner(async (ctx) => {
    // A key=value that is not a value of its input's type (a key the plan does not declare is the planner's
    // problem: a repair declares it).
    ctx.srv.enqueue(generated());
    const bad = await plan(ctx, ["repeat hi", "times=many", "--output-format", "json"]);
    assertExit(bad, 2);
    const doc = oneJson(bad);
    assert.equal(doc.subtype, "error_validation");
    assert.match(doc.error.message, /input 'times' must be an integer, got 'many' \(from times=…\)/);
    assert.equal(doc.workflow_name, "repeat-word");
    assert.equal(doc.total_cost_usd, PLAN_COST, "the planning's call is counted");
    assert.equal(doc.num_llm_calls, 1);
    assert.equal(doc.metrics.planner.llm_calls, 1);
    assert.equal(typeof doc.duration_planner_ms, "number");
    assert.ok(existsSync(doc.plan_path), "the plan is named");
    const show = JSON.parse((await plan(ctx, ["cost", "show", doc.execution_id, "--json"])).stdout);
    assert.equal(show.run.status, "failed");
    assert.equal(show.run.subtype, "error_validation");
    assert.equal(show.totals.cost_usd, PLAN_COST);
    // A planned workflow whose model has no API key here: text mode says so, with the planning and the plan file.
    const asking = {
      ir_version: "0.1.0",
      name: "ask",
      nodes: [{ id: "ask", type: "llm", params: { prompt: "hello", model: "google/gemini-2.5-flash" } }],
    };
    ctx.srv.enqueue(generated({}, asking));
    const noKey = await plan(ctx, ["ask gemini hello"], { env: { ...ctx.env, GOOGLE_GENERATIVE_AI_API_KEY: "" } });
    assertExit(noKey, 2);
    assert.match(noKey.stderr, /GOOGLE_GENERATIVE_AI_API_KEY/);
    assert.match(noKey.stderr, /✗ planned \(generate, 1 call, \$0\.0020\)/);
    assert.match(noKey.stderr, /Plan written to .*\/plans\/ask-/);
    const runs = JSON.parse((await plan(ctx, ["cost", "report", "--by", "run", "--json"])).stdout);
    assert.deepEqual(runs.rows.map((r: Doc) => r.status), ["failed", "failed"], JSON.stringify(runs.rows));
    // A plan file that cannot be written: one clear line, exit 2.
    const home = join(ctx.dir, "home-plans-file");
    mkdirSync(home);
    writeFileSync(join(home, "plans"), "");
    ctx.srv.enqueue(generated());
    const unwritable = await plan(ctx, ["repeat hi"], { env: { ...ctx.env, PFLOW_HOME: home } });
    assertExit(unwritable, 2);
    assert.match(
      unwritable.stderr,
      /error: \S+\/plans: cannot write the plan file \(.+\); check that PFLOW_HOME is writable/,
    );
    assert.doesNotMatch(unwritable.stderr, /\n\s+at /, "no stack trace");
  });
});

Deno.test("--save keeps a plan whose inputs are still missing; --dry-run shows them instead of failing", async () => {
  await withPlanner(async (ctx) => {
    ctx.srv.enqueue(generated({}));
    const dry = await plan(ctx, ["plan", "repeat a word", "--save", "repeat", "--dry-run"]);
    assertExit(dry, 0);
    assert.match(dry.stdout, /Inputs:\n {2}word {3}string \(missing\) {2}The word to repeat/);
    assert.match(dry.stderr, /Run it with: pflow run \S+\/plans\/repeat-word-\S+\.json word=VALUE/);
    assert.match(dry.stderr, /Saved as repeat /);
    assert.deepEqual(JSON.parse(readFileSync(join(ctx.home, "workflows", "repeat.json"), "utf8")), repeatWorkflow());
    assert.equal(plannerTraces(ctx.home).length, 0, "a dry run that shows its missing inputs did not fail");
    const noReuse = { json: { workflow_name: null, params: {}, reason: "nothing fits" } };
    ctx.srv.enqueue(noReuse, generated({}));
    const doc = oneJson(await plan(ctx, ["plan", "repeat a word", "--dry-run", "--output-format", "json"]));
    assert.equal(doc.subtype, "success");
    assert.deepEqual(doc.missing_inputs, [{ name: "word", type: "string", description: "The word to repeat" }]);
    // The command that runs it, as the error_missing_inputs document gives it.
    assert.equal(doc.rerun_command, `pflow run ${doc.plan_path} word=VALUE`);
    // Without --dry-run the missing input ends the command (exit 2), but the workflow asked to be saved is saved.
    ctx.srv.enqueue(noReuse, generated({}));
    const run = await plan(ctx, ["plan", "repeat a word", "--save", "repeat-too"]);
    assertExit(run, 2);
    assert.match(run.stderr, /missing required input 'word'/);
    assert.match(run.stderr, /Saved as repeat-too /);
    assert.ok(existsSync(join(ctx.home, "workflows", "repeat-too.json")));
  });
});

Deno.test("on a terminal, Ctrl+D at an input's prompt reports the missing inputs and Ctrl+C interrupts (130)", async () => {
  await withPlanner(async (ctx) => {
    /** Plans on a terminal, then presses `keys` at the first input's prompt. */
    const onTerminal = (keys: string) => {
      ctx.srv.enqueue(generated({ times: 2 }));
      const command = `${PFLOW_BIN} 'repeat a word twice'`;
      return runCommand("script", ["-qec", command, "/dev/null"], { env: ctx.env, cwd: ctx.dir, stdin: keys });
    };
    const eof = await onTerminal("\x04");
    assert.equal(eof.code, 2, explain(eof));
    assert.match(eof.stdout, /missing required input 'word' \(string\): The word to repeat/);
    assert.match(eof.stdout, /Run it with: pflow run \S+\/plans\/repeat-word-\S+\.json times=2 word=VALUE/);
    const interrupt = await onTerminal("\x03");
    assert.equal(interrupt.code, 130, explain(interrupt));
    assert.match(interrupt.stdout, /interrupted while asking for inputs/);
    const runs = JSON.parse((await plan(ctx, ["cost", "report", "--by", "run", "--json"])).stdout);
    assert.deepEqual(runs.rows.map((r: Doc) => r.status), ["failed", "interrupted"], JSON.stringify(runs.rows));
  });
});

Deno.test("the planner's model: --planner-model, else PFLOW_PLANNER_MODEL, else settings planner_model, else the default", async () => {
  await withPlanner(async (ctx) => {
    writeFileSync(
      join(ctx.home, "settings.json"),
      JSON.stringify({ planner_model: MINI, default_model: "anthropic/claude-sonnet-4-5" }),
    );
    const modelOf = async (args: string[], env: Record<string, string>) => {
      ctx.srv.enqueue(generated());
      assertExit(await plan(ctx, ["plan", "repeat hi", "--dry-run", ...args], { env: { ...ctx.env, ...env } }), 0);
      return ctx.srv.requests.at(-1)!.body.model;
    };
    assert.equal(await modelOf(["--planner-model", "openai/gpt-4o"], {}), "gpt-4o");
    assert.equal(await modelOf([], {}), "claude-haiku-4-5", "PFLOW_PLANNER_MODEL over settings");
    assert.equal(await modelOf([], { PFLOW_PLANNER_MODEL: "" }), "gpt-4o-mini", "settings planner_model");
    writeFileSync(join(ctx.home, "settings.json"), JSON.stringify({ default_model: "anthropic/claude-sonnet-4-5" }));
    assert.equal(await modelOf([], { PFLOW_PLANNER_MODEL: "" }), "claude-sonnet-4-5", "the default model");
  });
});

Deno.test("the planning part of the summary line writes its cost as the run's does: unpriced, unknown, never $0+", async () => {
  await withPlanner(async (ctx) => {
    const env = { ...ctx.env, NO_COLOR: "1" };
    ctx.srv.enqueue({ json: { workflow: repeatWorkflow(), params: { word: "a" } } });
    const unpriced = await plan(ctx, ["repeat a", "--planner-model", "openai/no-such-model"], { env });
    assertExit(unpriced, 0);
    assert.match(unpriced.stderr, /✓ planned \(generate, 1 call, unpriced\) · 1 node · /);
    // The planner's only call reported no usage: its cost is unknown.
    ctx.srv.enqueue({ json: { workflow: repeatWorkflow(), params: { word: "a" } }, noUsage: true });
    const missing = await plan(ctx, ["repeat a"], { env });
    assertExit(missing, 0);
    assert.match(missing.stderr, /✓ planned \(generate, 1 call, unknown\) · 1 node · [\d.]+m?s · unknown total · /);
    assert.doesNotMatch(unpriced.stderr + missing.stderr, /\$0\+/);
  });
});

Deno.test("--force without --save is a usage error before any planner call, in plan and the request shorthand", async () => {
  await withPlanner(async (ctx) => {
    for (const args of [["plan", "repeat a", "--force"], ["repeat a", "--force"], ["repeat a", "--force", "--json"]]) {
      const result = await plan(ctx, args);
      assertExit(result, 2);
      const message = "--force needs --save NAME: it replaces the saved workflow of that name";
      if (args.includes("--json")) assert.equal(oneJson(result).error.message, message);
      else assert.equal(result.stderr.split("\n")[0], `error: ${message}`);
    }
    assert.equal(ctx.srv.requests.length, 0, "nothing was planned");
  });
});
