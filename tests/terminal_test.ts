/**
 * Control characters and escape sequences from data are shown escaped on
 * stderr and in `trace show`/`trace list`/`workflow list|show`, never
 * interpreted; workflow outputs on stdout stay byte-exact. Through the
 * compiled binary, off and on a terminal.
 * @module
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { escapeControls } from "../src/cli/terminal.ts";
import { type CliResult, PFLOW_BIN, ROOT, runPflow, tempDir, workflow, writeWorkflow } from "./support/cli.ts";
import { withLlmHome } from "./support/llm_home.ts";

/** Any control character a terminal may act on (newline and tab aside). */
// deno-lint-ignore no-control-regex
const RAW_CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u202e]/;

/** A name that retitles the terminal, rings the bell and reverses the text that follows. */
const EVIL_NAME = "evil\u001b]0;PWNED\u0007\u202ename";

/** A command whose stderr tries to clear the screen and move the cursor; its stdout carries colour codes. */
const EVIL_COMMAND =
  "printf 'out\\033[31mRED\\033[0m\\n'; printf 'bad\\033[2J\\033[H\\r\\033]0;T\\007 end\\n' >&2; exit 4";

function explain(r: CliResult): string {
  return `exit ${r.code}\n--- stdout\n${JSON.stringify(r.stdout)}\n--- stderr\n${JSON.stringify(r.stderr)}`;
}

Deno.test("escapeControls: every control shown as an escape; newlines, tabs and (only when asked) pflow's colours kept", () => {
  assert.equal(escapeControls("a\u001b]0;x\u0007b\r\u009b\u202e\tc\n"), "a\\u001b]0;x\\u0007b\\r\\u009b\\u202e\tc\n");
  assert.equal(escapeControls("line1\nline2", { keepNewlines: false }), "line1\\nline2");
  assert.equal(escapeControls("\u001b[31mred\u001b[39m", { keepStyle: true }), "\u001b[31mred\u001b[39m");
  assert.equal(escapeControls("\u001b[2J\u001b[31m", { keepStyle: true }), "\\u001b[2J\u001b[31m");
  assert.equal(escapeControls("\u001b[31mred"), "\\u001b[31mred");
  // The escapes stay valid inside a JSON string.
  assert.equal(JSON.parse(`"${escapeControls("\u001b\r\u0007")}"`), "\u001b\r\u0007");
});

Deno.test("data with escape sequences: escaped on stderr and in trace show/list; stdout outputs stay byte-exact", async () => {
  const tmp = tempDir("pflow-terminal-test-");
  try {
    const home = join(tmp.path, "home");
    mkdirSync(home);
    const env = { PFLOW_HOME: home, PFLOW_LOG_LEVEL: "debug" };
    const failing = writeWorkflow(
      tmp.path,
      "evil.json",
      workflow([{ id: "a", type: "shell", params: { command: EVIL_COMMAND } }], { name: EVIL_NAME }),
    );
    const failed = await runPflow(["run", failing, "--trace"], { env });
    assert.equal(failed.code, 1, explain(failed));
    assert.doesNotMatch(failed.stderr, RAW_CONTROL, explain(failed));
    assert.match(failed.stderr, /bad\\u001b\[2J\\u001b\[H\\r\\u001b\]0;T\\u0007 end/, "the child's stderr, escaped");
    assert.ok(failed.stderr.includes("evil\\u001b]0;PWNED\\u0007\\u202ename"), "the workflow name, escaped");
    // With --verbose too: the stack trace is a record of its own (a `stack` field), not raw lines in the stream.
    for (const verbose of [[], ["-v"]]) {
      const logs = await runPflow(["run", failing, "--log-format", "json", ...verbose], { env });
      const records = logs.stderr.trim().split("\n").map((line) => {
        assert.doesNotMatch(line, RAW_CONTROL);
        return JSON.parse(line); // still one JSON record per line
      });
      assert.equal(records.some((r) => typeof r.stack === "string" && r.stack.includes("\n")), verbose.length > 0);
    }
    for (const args of [["trace", "show", "latest"], ["trace", "show", "latest", "--node", "a"], ["trace", "list"]]) {
      const shown = await runPflow(args, { env });
      assert.equal(shown.code, 0, `${args.join(" ")}: ${explain(shown)}`);
      assert.doesNotMatch(shown.stdout, RAW_CONTROL, `${args.join(" ")}: ${explain(shown)}`);
      assert.ok(shown.stdout.includes("\\u001b"), `${args.join(" ")} shows the escapes`);
    }
    // trace list measures the escaped name: the PATH column stays aligned.
    const list = (await runPflow(["trace", "list"], { env })).stdout.split("\n");
    const pathAt = list[0].indexOf("PATH");
    assert.ok(pathAt > 0 && list.slice(1).filter(Boolean).every((l) => l.indexOf(home) === pathAt), list.join("\n"));
    // --json keeps the data as data (JSON escapes it).
    const json = await runPflow(["trace", "show", "latest", "--json"], { env });
    assert.equal(JSON.parse(json.stdout).workflow_name, EVIL_NAME);
    // The workflow's output on stdout is the command's bytes, escape codes included.
    const ok = writeWorkflow(
      tmp.path,
      "ok.json",
      workflow([{ id: "a", type: "shell", params: { command: "printf 'out\\033[31mRED\\033[0m\\r\\n'" } }], {
        outputs: { text: { source: "${a.stdout}" } },
      }),
    );
    const result = await runPflow(["run", ok], { env });
    assert.equal(result.code, 0, explain(result));
    assert.equal(result.stdout, "out\u001b[31mRED\u001b[0m\r\n");
    // Saved workflow listings escape descriptions.
    const described = writeWorkflow(
      tmp.path,
      "d.json",
      workflow([{ id: "a", type: "echo" }], { description: "line\u001b[2Jcleared" }),
    );
    assert.equal((await runPflow(["workflow", "save", described, "--name", "d"], { env })).code, 0);
    for (const args of [["workflow", "list"], ["workflow", "show", "d"]]) {
      const listed = await runPflow(args, { env });
      assert.doesNotMatch(listed.stdout, RAW_CONTROL, args.join(" "));
      assert.ok(listed.stdout.includes("line\\u001b[2Jcleared"), args.join(" "));
    }
  } finally {
    tmp.cleanup();
  }
});

Deno.test("on a colour terminal, pflow's own colours stay while the data's escape codes are escaped", () => {
  const hasScript = spawnSync("script", ["--version"]).status === 0;
  assert.ok(hasScript, "script(1) from util-linux is needed for the TTY test");
  const tmp = tempDir("pflow-terminal-tty-");
  try {
    const home = join(tmp.path, "home");
    mkdirSync(home);
    const file = writeWorkflow(
      tmp.path,
      "evil.json",
      workflow([{ id: "a", type: "shell", params: { command: EVIL_COMMAND } }], { name: EVIL_NAME }),
    );
    const tty = spawnSync("script", ["-qec", `'${PFLOW_BIN}' run '${file}' 2>&1 >/dev/null`, "/dev/null"], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", TERM: "xterm", PFLOW_HOME: home },
      encoding: "utf8",
      timeout: 10_000,
    });
    const out = tty.stdout;
    assert.ok(out.includes("\u001b[31merror:\u001b[39m"), `pflow's red 'error:' is kept: ${JSON.stringify(out)}`);
    assert.ok(
      !out.includes("\u001b[2J") && !out.includes("\u001b]0;"),
      `data escapes interpreted: ${JSON.stringify(out)}`,
    );
    assert.ok(out.includes("\\u001b[2J"), JSON.stringify(out));
  } finally {
    tmp.cleanup();
  }
});

Deno.test("a planned workflow's names and descriptions (model output) are shown escaped by plan --dry-run", async () => {
  await withLlmHome(async ({ dir, srv, env }) => {
    const planned = workflow([{ id: "a", type: "echo", params: { value: "${who}" } }], {
      name: "evil-plan",
      description: "clears\u001b[2J\u001b]0;PWNED\u0007 the screen",
      inputs: { who: { type: "string", description: "who\u001b[H\u202e", default: "x\u001b[31m" } },
    });
    srv.enqueue({ json: { workflow: planned, params: {} }, usage: { input_tokens: 10, output_tokens: 5 } });
    const shown = await runPflow(["plan", "greet someone", "--dry-run"], {
      env: { ...env, PFLOW_PLANNER_MODEL: "anthropic/claude-haiku-4-5" },
      cwd: dir,
    });
    assert.equal(shown.code, 0, explain(shown));
    assert.doesNotMatch(shown.stdout + shown.stderr, RAW_CONTROL, explain(shown));
    assert.ok(shown.stdout.includes("clears\\u001b[2J\\u001b]0;PWNED\\u0007 the screen"), explain(shown));
  }, { prefix: "pflow-terminal-plan-" });
});

Deno.test("an error on stderr is one line: a newline in it shows as \\n (a --verbose stack keeps its lines)", async () => {
  const tmp = tempDir("pflow-terminal-test-");
  try {
    const env = { PFLOW_HOME: join(tmp.path, "home") };
    // A value with a newline (as a command's stdout has) in a node's error message.
    const wf = writeWorkflow(
      tmp.path,
      "cwd.json",
      workflow([{ id: "s", type: "shell", params: { command: "true", cwd: "no\nsuch" } }]),
    );
    const failed = await runPflow(["run", wf], { env, cwd: tmp.path });
    assert.equal(failed.code, 1, explain(failed));
    assert.deepEqual(failed.stderr.trimEnd().split("\n").length, 1, explain(failed));
    assert.match(failed.stderr, /^error: node 's' failed: working directory not found: .*no\\nsuch/, explain(failed));
    // The same in a validation problem and a usage error: one line each, not one per piece of the value.
    const missing = await runPflow(["run", "no\nsuch.json"], { env, cwd: tmp.path });
    assert.equal(missing.code, 2, explain(missing));
    assert.deepEqual(missing.stderr.trimEnd().split("\n"), [
      "error: no\\nsuch.json: cannot read workflow: file not found",
    ]);
    const validated = await runPflow(["validate", "no\nsuch.json"], { env, cwd: tmp.path });
    assert.deepEqual(validated.stderr.trimEnd().split("\n"), [
      "error: no\\nsuch.json: cannot read workflow: file not found",
    ]);
    const usage = await runPflow(["run", wf, "a\nb=1"], { env, cwd: tmp.path });
    assert.equal(usage.code, 2, explain(usage));
    assert.deepEqual(usage.stderr.trimEnd().split("\n"), [
      "error: invalid param name 'a\\nb': use letters, digits, '_' and '-'",
      "Run 'pflow run --help' for usage.",
    ]);
    // --verbose: the error line stays one line; the stack trace after it keeps its lines.
    const verbose = await runPflow(["run", wf, "-v"], { env, cwd: tmp.path });
    const lines = verbose.stderr.trimEnd().split("\n");
    assert.match(lines[0], /^error: node 's' failed: .*no\\nsuch/, explain(verbose));
    assert.ok(lines.slice(1).some((line) => /^\s+at /.test(line)), explain(verbose));
  } finally {
    tmp.cleanup();
  }
});
