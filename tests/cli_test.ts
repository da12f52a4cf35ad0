/**
 * End-to-end tests of the compiled `dist/pflow` binary: commands, params,
 * text and JSON output, exit codes, stdin, saved workflows, the registry,
 * signals and colour. Every run gets its own PFLOW_HOME.
 * @module
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { type CliResult, PFLOW_BIN, ROOT, runPflow, workflow, writeWorkflow } from "./support/cli.ts";
import { assertExit, explain, isDead, oneJson, waitFor, withHome } from "./support/e2e.ts";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ANSI = "\x1b[";

/** echo nodes a..e returning typed inputs n, flag, list, obj, text as declared outputs. */
const TYPED = workflow(
  [
    { id: "a", type: "echo", params: { value: "${n}" } },
    { id: "b", type: "echo", params: { value: "${flag}" } },
    { id: "c", type: "echo", params: { value: "${list}" } },
    { id: "d", type: "echo", params: { value: "${obj}" } },
    { id: "e", type: "echo", params: { value: "${text}" } },
  ],
  {
    name: "typed",
    inputs: {
      n: { type: "number" },
      flag: { type: "boolean" },
      list: { type: "array" },
      obj: { type: "object" },
      text: { type: "string", required: false, default: "none" },
    },
    edges: [{ from: "a", to: "b" }, { from: "b", to: "c" }, { from: "c", to: "d" }, { from: "d", to: "e" }],
    outputs: {
      n: { source: "${a.output}" },
      flag: { source: "${b.output}" },
      list: { source: "${c.output}" },
      obj: { source: "${d.output}" },
      text: { source: "${e.output}" },
    },
  },
);
const TYPED_ARGS = ["n=3", "flag=true", "list=[1,2]", 'obj={"a":1}', "text=hi"];

/** A first node that succeeds, then a shell node `boom` that exits 3. */
const FAILING = workflow(
  [
    { id: "ok", type: "echo", params: { value: "fine" } },
    { id: "boom", type: "shell", params: { command: "echo oops >&2; exit 3" } },
  ],
  { edges: [{ from: "ok", to: "boom" }] },
);

// ---------------------------------------------------------------- basics

Deno.test("--version prints the version of deno.json", async () => {
  const { version } = JSON.parse(readFileSync(join(ROOT, "deno.json"), "utf8"));
  await withHome(async (_dir, env) => {
    for (const flag of ["--version", "-V"]) {
      const result = await runPflow([flag], { env });
      assertExit(result, 0);
      assert.equal(result.stdout, `pflow ${version}\n`);
    }
  });
});

Deno.test("--help of every command exits 0 and shows its usage", async () => {
  await withHome(async (_dir, env) => {
    const cases: [string[], string][] = [
      [["--help"], "pflow run FILE.json|NAME"],
      [["-h"], "pflow workflow save|list|show|delete"],
      [["help"], "Exit codes: 0 success, 1 workflow failed, 2 usage or validation error,\n130 interrupted"],
      [["run", "--help"], "Usage:\n  pflow run FILE.json|NAME [key=value ...] [flags]"],
      [["help", "run"], "-o, --output-key KEY"],
      [["workflow", "--help"], "pflow workflow save FILE.json --name NAME"],
      [["registry", "--help"], "pflow registry describe TYPE [--json]"],
    ];
    for (const [args, expected] of cases) {
      const result = await runPflow(args, { env });
      assertExit(result, 0);
      assert.ok(result.stdout.includes(expected), `pflow ${args.join(" ")}: ${explain(result)}`);
      assert.equal(result.stderr, "");
    }
  });
});

Deno.test("no arguments prints the usage on stderr and exits 2; --help prints it on stdout and exits 0", async () => {
  await withHome(async (_dir, env) => {
    const result = await runPflow([], { env });
    assertExit(result, 2);
    assert.equal(result.stdout, "", "stdout is for results");
    assert.match(result.stderr, /Usage:/);
    const help = await runPflow(["--help"], { env });
    assertExit(help, 0);
    assert.match(help.stdout, /Usage:/);
  });
});

Deno.test("an unknown command exits 2 and names it", async () => {
  await withHome(async (_dir, env) => {
    const result = await runPflow(["frobnicate"], { env });
    assertExit(result, 2);
    assert.match(
      result.stderr,
      /error: unknown command 'frobnicate'; commands: run, plan, validate, workflow, registry, pricing, trace, cost, metrics, completion, help/,
    );
    assert.equal(result.stdout, "");
    const help = await runPflow(["help", "frobnicate"], { env });
    assertExit(help, 2);
    assert.match(help.stderr, /no help for 'frobnicate'/);
  });
});

Deno.test("top-level flags: an error before any command points at 'pflow --help'; --version and help take only global flags", async () => {
  await withHome(async (_dir, env) => {
    const cases: [string[], string][] = [
      [["--bogus"], "unknown flag '--bogus'"],
      [["-x"], "unknown flag '-x'"],
      [["--output-format"], "flag '--output-format' needs a value"],
      [["--output-format", "xml"], "--output-format must be 'text' or 'json', got 'xml'"],
      [["--output-format", "xml", "--json"], "--output-format must be 'text' or 'json', got 'xml'"],
      [["--version", "--bogus"], "unknown flag '--bogus'"],
      [["--version", "extra"], "unexpected argument 'extra'"],
      [["help", "run", "--bogus"], "unknown flag '--bogus'"],
      [["help", "validate", "extra"], "unexpected argument 'extra'"],
    ];
    for (const [args, message] of cases) {
      const result = await runPflow(args, { env });
      assertExit(result, 2);
      assert.equal(
        result.stderr,
        `error: ${message}\nRun 'pflow --help' for usage.\n`,
        `${args.join(" ")}: ${explain(result)}`,
      );
    }
    // Global flags are still taken there, and `help help` is the top level's help.
    assert.equal((await runPflow(["--version", "-v"], { env })).code, 0);
    const helpJson = await runPflow(["help", "--output-format", "json", "run"], { env });
    assertExit(helpJson, 0);
    assert.equal(oneJson(helpJson).command, "run");
    const helpHelp = await runPflow(["help", "help"], { env });
    assertExit(helpHelp, 0);
    assert.match(helpHelp.stdout, /^pflow .*\n\nUsage:/);
  });
});

Deno.test("JSON mode: an unknown command or saved-workflow name, no command at all, and a subcommand's usage error print one error document", async () => {
  await withHome(async (_dir, env) => {
    const cases: [string[], RegExp][] = [
      [["teleport", "--json"], /^unknown command 'teleport'/],
      [["--json", "teleport"], /^unknown command 'teleport'/],
      [["--output-format", "json", "teleport"], /^unknown command 'teleport'/],
      [["--json"], /^missing command/],
      [["help", "teleport", "--json"], /^no help for 'teleport'/],
      [["--json", "help", "teleport"], /^no help for 'teleport'/],
      // Subcommands that stop before writing their own document: a bad flag value, a thing that is not there.
      [["cost", "report", "--json", "--since", "nonsense"], /^--since must be/],
      [["trace", "list", "--json", "--bogus"], /^unknown flag '--bogus'/],
      [["trace", "show", "nosuch.json", "--json"], /^trace file not found: nosuch\.json/],
      [["cost", "show", "nosuchrun", "--json"], /^'nosuchrun' is not an execution id/],
      [["workflow", "show", "nosuch", "--json"], /^no saved workflow 'nosuch'/],
      [["cost", "report", "--format", "json", "--since", "x"], /^--since must be/],
    ];
    for (const [args, message] of cases) {
      const result = await runPflow(args, { env });
      assertExit(result, 2);
      const doc = oneJson(result);
      assert.equal(doc.subtype, "error_validation", explain(result));
      assert.equal(doc.is_error, true);
      assert.equal(doc.result, null);
      assert.match((doc.error as { message: string }).message, message);
      assert.match(result.stderr, /^error: /);
    }
    // `--format json` where json is no format of the command is its error, not JSON mode.
    for (const args of [["metrics", "--format", "json"], ["trace", "export", "latest", "--format", "json"]]) {
      const result = await runPflow(args, { env });
      assertExit(result, 2);
      assert.equal(result.stdout, "", args.join(" "));
      assert.match(result.stderr, /format/);
    }
  });
});

Deno.test("unknown flags and bad flag values exit 2", async () => {
  await withHome(async (dir, env) => {
    const file = writeWorkflow(dir, "wf.json", workflow([{ id: "a", type: "echo", params: { value: "x" } }]));
    const unknown = await runPflow(["run", file, "--bogus"], { env });
    assertExit(unknown, 2);
    assert.match(unknown.stderr, /unknown flag '--bogus'/);
    assert.match(unknown.stderr, /Run 'pflow run --help' for usage\./);
    const format = await runPflow(["run", file, "--output-format", "yaml"], { env });
    assertExit(format, 2);
    assert.match(format.stderr, /--output-format must be 'text' or 'json', got 'yaml'/);
    const missing = await runPflow(["run"], { env });
    assertExit(missing, 2);
    assert.match(missing.stderr, /missing workflow/);
  });
});

// ---------------------------------------------------------------- running

Deno.test("examples/hello.json prints its report and writes the file", async () => {
  await withHome(async (dir, env) => {
    const result = await runPflow(["run", "examples/hello.json", "name=Ada", `out_dir=${dir}`], { env });
    assertExit(result, 0);
    const expected = "# Greeting\n\nHello, Ada! Welcome to pflow.\nWords: 5\n";
    assert.equal(result.stdout, expected);
    assert.equal(readFileSync(join(dir, "report.md"), "utf8"), expected);
  });
});

Deno.test("without PFLOW_HOME, state lives in $HOME/.pflow (saved workflows found there, the run ledger written there)", async () => {
  await withHome(async (dir) => {
    const saved = join(dir, ".pflow", "workflows");
    mkdirSync(saved, { recursive: true });
    writeWorkflow(saved, "greet.json", workflow([{ id: "a", type: "echo", params: { value: "from HOME" } }]));
    const result = await runPflow(["greet"], { env: { HOME: dir } });
    assertExit(result, 0);
    assert.match(result.stdout, /from HOME/);
    assert.ok(
      readdirSync(join(dir, ".pflow")).some((name) => name.startsWith("ledger")),
      "the ledger is under $HOME/.pflow",
    );
  });
});

Deno.test("shorthand: pflow FILE.json k=v runs the file", async () => {
  await withHome(async (dir, env) => {
    const result = await runPflow(["examples/hello.json", "name=Bo", `out_dir=${dir}`], { env });
    assertExit(result, 0);
    assert.match(result.stdout, /Hello, Bo! Welcome to pflow\./);
    assert.ok(existsSync(join(dir, "report.md")));
  });
});

Deno.test("flags may come before or after the workflow and its params", async () => {
  await withHome(async (dir, env) => {
    const before = await runPflow(["run", "--output-format", "json", "examples/hello.json", `out_dir=${dir}`], { env });
    const after = await runPflow(["run", "examples/hello.json", `out_dir=${dir}`, "--output-format", "json"], { env });
    const middle = await runPflow(["run", "examples/hello.json", "--output-format=json", `out_dir=${dir}`], { env });
    for (const result of [before, after, middle]) {
      assertExit(result, 0);
      const doc = oneJson(result);
      assert.equal(doc.subtype, "success");
      assert.deepEqual(doc.result, { report: "# Greeting\n\nHello, world! Welcome to pflow.\nWords: 5\n" });
    }
  });
});

Deno.test("params are typed: numbers, booleans, JSON arrays and objects, text", async () => {
  await withHome(async (dir, env) => {
    const file = writeWorkflow(dir, "typed.json", TYPED);
    const result = await runPflow(["run", file, ...TYPED_ARGS, "--output-format", "json"], { env });
    assertExit(result, 0);
    const doc = oneJson(result);
    assert.deepEqual(doc.result, { n: 3, flag: true, list: [1, 2], obj: { a: 1 }, text: "hi" });
    // Text mode: several outputs print as one JSON object.
    const text = await runPflow(["run", file, ...TYPED_ARGS], { env });
    assertExit(text, 0);
    assert.deepEqual(JSON.parse(text.stdout), { n: 3, flag: true, list: [1, 2], obj: { a: 1 }, text: "hi" });
    // A default applies when the param is absent; numbers stay numbers inside text.
    const defaults = await runPflow(["run", file, "n=-2.5", "flag=false", "list=[]", "obj={}", "--json"], { env });
    assertExit(defaults, 0);
    assert.deepEqual(oneJson(defaults).result, { n: -2.5, flag: false, list: [], obj: {}, text: "none" });
  });
});

Deno.test("a param that starts like JSON but does not parse exits 2", async () => {
  await withHome(async (dir, env) => {
    // An untyped key (a workflow without inputs) follows the JSON rule; an object input must be JSON.
    const untyped = writeWorkflow(dir, "untyped.json", workflow([{ id: "a", type: "echo", params: { value: 1 } }]));
    const result = await runPflow(["run", untyped, "x={bad"], { env });
    assertExit(result, 2);
    assert.match(
      result.stderr,
      /input 'x' must be valid JSON when it starts with \[ or \{ \(.+\), got '\{bad' \(from x=…\)/,
    );
    assert.equal(result.stdout, "");
    // A template reading the refused key is not reported as naming nothing too: the key was given.
    const reads = writeWorkflow(dir, "reads.json", workflow([{ id: "a", type: "echo", params: { value: "${x}" } }]));
    const one = await runPflow(["run", reads, "x={bad", "--json"], { env });
    assertExit(one, 2);
    const problems = (oneJson(one).error as { problems: { message: string }[] }).problems;
    assert.deepEqual(problems.map((p) => p.message.split(" (")[0]), [
      "input 'x' must be valid JSON when it starts with [ or {",
    ]);
    const file = writeWorkflow(dir, "typed.json", TYPED);
    const typed = await runPflow(["run", file, "n=1", "flag=true", "list=[]", "obj={bad"], { env });
    assertExit(typed, 2);
    assert.match(
      typed.stderr,
      /typed\.json:\d+:\d+: \/inputs\/obj: input 'obj' must be JSON \(.*\), got '\{bad' \(from obj=…\)/,
    );
  });
});

Deno.test("a param without '=' exits 2", async () => {
  await withHome(async (dir, env) => {
    const file = writeWorkflow(dir, "typed.json", TYPED);
    const result = await runPflow(["run", file, "n=1", "oops"], { env });
    assertExit(result, 2);
    assert.match(result.stderr, /unexpected argument 'oops': workflow params are written key=value/);
    const badName = await runPflow(["run", file, "1n=1"], { env });
    assertExit(badName, 2);
    assert.match(badName.stderr, /invalid param name '1n'/);
  });
});

// ---------------------------------------------------------------- JSON mode

Deno.test("JSON mode: success is one result document", async () => {
  await withHome(async (dir, env) => {
    const result = await runPflow([
      "run",
      "examples/hello.json",
      "name=Ada",
      `out_dir=${dir}`,
      "--output-format",
      "json",
    ], { env });
    assertExit(result, 0);
    const doc = oneJson(result);
    assert.equal(doc.type, "result");
    assert.equal(doc.subtype, "success");
    assert.equal(doc.is_error, false);
    assert.deepEqual(doc.result, { report: "# Greeting\n\nHello, Ada! Welcome to pflow.\nWords: 5\n" });
    assert.equal(doc.error, null);
    assert.match(doc.execution_id as string, UUID);
    assert.equal(doc.workflow_name, "hello");
    assert.equal(typeof doc.duration_ms, "number");
    assert.ok((doc.duration_ms as number) >= 0);
    // --json is the same as --output-format json for run too.
    const short = await runPflow(["run", "examples/hello.json", `out_dir=${dir}`, "--json"], { env });
    assertExit(short, 0);
    assert.equal(oneJson(short).subtype, "success");
    assert.notEqual(oneJson(short).execution_id, doc.execution_id);
  });
});

Deno.test("null stays null: echo returns it, write-file writes it as JSON, a required param still refuses it", async () => {
  await withHome(async (dir, env) => {
    const out = join(dir, "null.json");
    const file = writeWorkflow(
      dir,
      "nulls.json",
      workflow([
        { id: "src", type: "echo", params: { value: null } },
        { id: "same", type: "echo", params: { value: "${src.output}" } },
        { id: "save", type: "write-file", params: { path: out, content: "${src.output}" } },
        { id: "post", type: "shell", params: { command: "cat", stdin: "${src.output}" } },
      ], {
        edges: [{ from: "src", to: "same" }, { from: "same", to: "save" }, { from: "save", to: "post" }],
        outputs: {
          direct: { source: "${src.output}" },
          copied: { source: "${same.output}" },
          piped: { source: "${post.stdout}" },
        },
      }),
    );
    const result = await runPflow(["run", file, "--json"], { env });
    assertExit(result, 0);
    assert.deepEqual(oneJson(result).result, { direct: null, copied: null, piped: "" });
    assert.equal(readFileSync(out, "utf8"), "null\n");
    const required = writeWorkflow(
      dir,
      "required.json",
      workflow([
        { id: "src", type: "echo", params: { value: null } },
        { id: "read", type: "read-file", params: { path: "${src.output}" } },
      ], { edges: [{ from: "src", to: "read" }] }),
    );
    const refused = await runPflow(["run", required, "--json"], { env });
    assertExit(refused, 1);
    assert.match(JSON.stringify(oneJson(refused).error), /param 'path' is required/);
  });
});

Deno.test("JSON mode: workflow_name falls back to the file name", async () => {
  await withHome(async (dir, env) => {
    const file = writeWorkflow(dir, "unnamed-flow.json", workflow([{ id: "a", type: "echo", params: { value: 1 } }]));
    const doc = oneJson(await runPflow(["run", file, "--json"], { env }));
    assert.equal(doc.workflow_name, "unnamed-flow");
  });
});

Deno.test("JSON mode: a failing shell node exits 1 with the node and the cause", async () => {
  await withHome(async (dir, env) => {
    const file = writeWorkflow(dir, "fail.json", FAILING);
    const result = await runPflow(["run", file, "--output-format", "json"], { env });
    assertExit(result, 1);
    const doc = oneJson(result);
    assert.equal(doc.type, "result");
    assert.equal(doc.subtype, "error_during_execution");
    assert.equal(doc.is_error, true);
    const error = doc.error as Record<string, unknown>;
    assert.equal(error.node_id, "boom");
    assert.match(error.message as string, /exited with code 3/);
    assert.match(error.message as string, /oops/);
    assert.match(doc.execution_id as string, UUID);
    assert.equal(typeof doc.duration_ms, "number");
    // The shell's own stdout/stderr never leak onto pflow's stdout.
    assert.ok(!result.stdout.includes("fine\n"));
  });
});

Deno.test("JSON mode: an echo node with fail: true exits 1 naming the node", async () => {
  await withHome(async (dir, env) => {
    const file = writeWorkflow(
      dir,
      "efail.json",
      workflow([{ id: "bad", type: "echo", params: { value: "x", fail: true } }]),
    );
    const result = await runPflow(["run", file, "--json"], { env });
    assertExit(result, 1);
    const doc = oneJson(result);
    assert.equal(doc.subtype, "error_during_execution");
    assert.equal(doc.is_error, true);
    assert.equal((doc.error as Record<string, unknown>).node_id, "bad");
    assert.match((doc.error as Record<string, unknown>).message as string, /error/);
  });
});

Deno.test("JSON mode: a validation error exits 2 with one document listing the problems", async () => {
  await withHome(async (dir, env) => {
    const file = writeWorkflow(
      dir,
      "invalid.json",
      workflow([{ id: "a", type: "shel", params: { command: "true" } }, {
        id: "b",
        type: "echo",
        params: { valu: 1 },
      }], { edges: [{ from: "a", to: "b" }] }),
    );
    const result = await runPflow(["run", file, "--output-format", "json"], { env });
    assertExit(result, 2);
    const doc = oneJson(result);
    assert.equal(doc.type, "result");
    assert.equal(doc.subtype, "error_validation");
    assert.equal(doc.is_error, true);
    assert.equal(doc.result, null);
    assert.match(doc.execution_id as string, UUID);
    const problems = (doc.error as { problems: { pointer: string; message: string; line: number }[] }).problems;
    assert.deepEqual(problems.map((p) => p.pointer).sort(), ["/nodes/0/type", "/nodes/1/params/valu"]);
    assert.ok(problems.every((p) => typeof p.line === "number"));
    assert.match(problems.find((p) => p.pointer === "/nodes/0/type")!.message, /did you mean 'shell'/);
    // Problems are repeated on stderr for people.
    assert.match(result.stderr, /unknown node type 'shel'/);
  });
});

Deno.test("JSON mode: usage errors inside run (bad params, missing file) are JSON documents too", async () => {
  await withHome(async (dir, env) => {
    const file = writeWorkflow(dir, "typed.json", TYPED);
    const badParam = await runPflow(["run", "--json", file, "x={bad"], { env });
    assertExit(badParam, 2);
    const doc = oneJson(badParam);
    assert.equal(doc.subtype, "error_validation");
    assert.equal(doc.is_error, true);
    assert.match((doc.error as Record<string, unknown>).message as string, /'x=…' is not an input of this workflow/);
    const missing = await runPflow(["run", "--json", join(dir, "nope.json")], { env });
    assertExit(missing, 2);
    assert.match(
      (oneJson(missing).error as Record<string, unknown>).message as string,
      /nope\.json: cannot read workflow: file not found/,
    );
    const inputs = await runPflow(["run", "--json", file], { env });
    assertExit(inputs, 2);
    const problems = (oneJson(inputs).error as { problems: { pointer: string }[] }).problems;
    assert.deepEqual(problems.map((p) => p.pointer), ["/inputs/n", "/inputs/flag", "/inputs/list", "/inputs/obj"]);
  });
});

Deno.test("JSON mode: warnings go to stderr, stdout stays one document", async () => {
  await withHome(async (dir, env) => {
    // The output's path does not exist at run time: a warning, and the output is null.
    const file = writeWorkflow(
      dir,
      "warn.json",
      workflow([{ id: "a", type: "shell", params: { command: "echo '{\"x\":1}'" } }], {
        outputs: { y: { source: "${a.stdout.y}" } },
      }),
    );
    const result = await runPflow(["run", file, "--json"], { env });
    assertExit(result, 0);
    const doc = oneJson(result);
    assert.deepEqual(doc.result, { y: null });
    assert.match(result.stderr, /warning: output 'y'/);
  });
});

// ---------------------------------------------------------------- text mode

Deno.test("text mode: a failing node exits 1, names the node and cause, no stack trace", async () => {
  await withHome(async (dir, env) => {
    const file = writeWorkflow(dir, "fail.json", FAILING);
    const result = await runPflow(["run", file], { env });
    assertExit(result, 1);
    assert.equal(result.stdout, "");
    assert.match(result.stderr, /error: node 'boom' failed: command exited with code 3: oops/);
    assert.doesNotMatch(result.stderr, /\n\s+at /);
    // With --verbose the run still fails the same way (a stack trace may be added).
    const verbose = await runPflow(["run", file, "--verbose"], { env });
    assertExit(verbose, 1);
    assert.match(verbose.stderr, /node 'boom' failed: command exited with code 3/);
  });
});

Deno.test("text mode: a node that throws reports its message without a stack trace", async () => {
  await withHome(async (dir, env) => {
    const file = writeWorkflow(
      dir,
      "rf.json",
      workflow([{ id: "reader", type: "read-file", params: { path: join(dir, "missing.txt") } }]),
    );
    const result = await runPflow(["run", file], { env });
    assertExit(result, 1);
    assert.match(result.stderr, /error: node 'reader' failed: .*missing\.txt/);
    assert.doesNotMatch(result.stderr, /\n\s+at /);
  });
});

Deno.test("-o/--output-key prints only that output", async () => {
  await withHome(async (dir, env) => {
    const file = writeWorkflow(dir, "typed.json", TYPED);
    const text = await runPflow(["run", file, ...TYPED_ARGS, "-o", "text"], { env });
    assertExit(text, 0);
    assert.equal(text.stdout, "hi\n");
    const list = await runPflow(["run", file, "--output-key", "list", ...TYPED_ARGS], { env });
    assertExit(list, 0);
    assert.deepEqual(JSON.parse(list.stdout), [1, 2]);
    // A store path like node.key works too.
    const path = await runPflow(["run", file, ...TYPED_ARGS, "-o", "d.output.a"], { env });
    assertExit(path, 0);
    assert.equal(path.stdout, "1\n");
  });
});

Deno.test("-o with an unknown key exits 2", async () => {
  await withHome(async (dir, env) => {
    const file = writeWorkflow(dir, "typed.json", TYPED);
    const result = await runPflow(["run", file, ...TYPED_ARGS, "-o", "nope"], { env });
    assertExit(result, 2);
    assert.match(
      result.stderr,
      /--output-key 'nope' is not an output of this workflow; outputs: n, flag, list, obj, text/,
    );
    assert.equal(result.stdout, "");
  });
});

Deno.test("-o with an unknown key or store path exits 2 when no outputs are declared", async () => {
  await withHome(async (dir, env) => {
    const file = writeWorkflow(
      dir,
      "bare.json",
      workflow([{ id: "a", type: "shell", params: { command: "echo hi" } }]),
    );
    for (const key of ["nope", "a.nope"]) {
      const result = await runPflow(["run", file, "-o", key], { env });
      assertExit(result, 2);
      assert.match(result.stderr, new RegExp(`--output-key '${key.replace(".", "\\.")}'`));
      assert.equal(result.stdout, "");
    }
    const syntax = await runPflow(["run", file, "-o", "a b"], { env });
    assertExit(syntax, 2);
    assert.match(syntax.stderr, /--output-key 'a b' is not an output name or a store path/);
    // The fallback output's name and store paths resolve.
    const stdout = await runPflow(["run", file, "-o", "stdout"], { env });
    assertExit(stdout, 0);
    assert.equal(stdout.stdout, "hi\n");
    const exitCode = await runPflow(["run", file, "-o", "a.exit_code"], { env });
    assertExit(exitCode, 0);
    assert.equal(exitCode.stdout, "0\n");
  });
});

Deno.test("-o is checked before the run as the run resolves it: error outputs, namespacing on and off, given keys", async () => {
  await withHome(async (dir, env) => {
    const handled = writeWorkflow(
      dir,
      "handled.json",
      workflow([
        { id: "fetch", type: "shell", params: { command: "echo err >&2; exit 3" } },
        { id: "report", type: "echo", params: { value: "failed: ${fetch.error}" } },
      ], { edges: [{ from: "fetch", to: "report", action: "error" }] }),
    );
    // A node with an error edge has an `error` output.
    const error = await runPflow(["run", handled, "-o", "fetch.error"], { env });
    assertExit(error, 0);
    assert.equal(error.stdout, "command exited with code 3: err\n");
    // Under namespacing a node's output is read under its id: a bare name no run prints is refused.
    const bare = await runPflow(["run", handled, "-o", "stderr"], { env });
    assertExit(bare, 2);
    assert.match(
      bare.stderr,
      /--output-key 'stderr' is not an output of this workflow \(did you mean 'fetch\.stderr'\?\)/,
    );
    const flat = writeWorkflow(
      dir,
      "flat.json",
      workflow([{ id: "a", type: "shell", params: { command: "echo hi" } }], { enable_namespacing: false }),
    );
    // With namespacing off, outputs live at the root: `a.stdout` is never there, `stdout` is.
    const path = await runPflow(["run", flat, "-o", "a.stdout"], { env });
    assertExit(path, 2);
    assert.match(
      path.stderr,
      /--output-key 'a\.stdout': namespacing is off, so node outputs live at the root; use 'stdout'/,
    );
    const root = await runPflow(["run", flat, "-o", "stdout"], { env });
    assertExit(root, 0);
    assert.equal(root.stdout, "hi\n");
    // A key given to a workflow that declares no inputs is in the root store.
    const given = await runPflow(["run", flat, "n=5", "-o", "n"], { env });
    assertExit(given, 0);
    assert.equal(given.stdout, "5\n");
  });
});

Deno.test("without declared outputs the last node's first output is printed", async () => {
  await withHome(async (dir, env) => {
    const file = writeWorkflow(
      dir,
      "bare.json",
      workflow([
        { id: "first", type: "shell", params: { command: "echo first" } },
        { id: "last", type: "shell", params: { command: "echo last; echo noise >&2" } },
      ], { edges: [{ from: "first", to: "last" }] }),
    );
    const text = await runPflow(["run", file], { env });
    assertExit(text, 0);
    assert.equal(text.stdout, "last\n");
    const json = await runPflow(["run", file, "--json"], { env });
    assertExit(json, 0);
    assert.deepEqual(oneJson(json).result, { stdout: "last\n" });
  });
});

Deno.test("an error edge to a handler node makes the run succeed", async () => {
  await withHome(async (dir, env) => {
    const file = writeWorkflow(
      dir,
      "handled.json",
      workflow([
        { id: "boom", type: "shell", params: { command: "exit 3" } },
        { id: "handler", type: "echo", params: { value: "handled ${boom.exit_code}" } },
      ], { edges: [{ from: "boom", to: "handler", action: "error" }] }),
    );
    const result = await runPflow(["run", file], { env });
    assertExit(result, 0);
    assert.equal(result.stdout, "handled 3\n");
  });
});

Deno.test("a retry loop through an error edge warns once per node and message, not at every pass", async () => {
  await withHome(async (dir, env) => {
    const missing = join(dir, "no-such-file.txt");
    const file = writeWorkflow(
      dir,
      "retry.json",
      workflow([
        { id: "wait", type: "echo", params: { value: "x" } },
        { id: "read", type: "read-file", params: { path: missing } },
      ], {
        edges: [{ from: "wait", to: "read" }, { from: "read", to: "wait", action: "error" }],
        limits: { max_node_executions: 20 },
      }),
    );
    const result = await runPflow(["run", file], { env });
    assertExit(result, 1);
    const warnings = result.stderr.split("\n").filter((line) => line.startsWith("warning:"));
    assert.deepEqual(warnings, [`warning: node 'read' failed (file not found: ${missing}); its error edge handles it`]);
    assert.match(result.stderr, /ran 20 times/);
  });
});

Deno.test("a node that fails (throws) with an error edge takes it: its message is its error output, the run goes on", async () => {
  await withHome(async (dir, env) => {
    const missing = join(dir, "no-such-file.txt");
    const nodes = [
      { id: "read", type: "read-file", params: { path: missing } },
      { id: "fallback", type: "echo", params: { value: "fallback: ${read.error}" } },
      { id: "after", type: "echo", params: { value: "read ${read.content}" } },
    ];
    const handled = writeWorkflow(
      dir,
      "handled.json",
      workflow(nodes, {
        edges: [{ from: "read", to: "after" }, { from: "read", to: "fallback", action: "error" }],
      }),
    );
    const text = await runPflow(["run", handled], { env });
    assertExit(text, 0);
    assert.equal(text.stdout, `fallback: file not found: ${missing}\n`);
    assert.match(text.stderr, /warning: node 'read' failed \(file not found: .*\); its error edge handles it/);
    const json = await runPflow(["run", handled, "--json"], { env });
    assertExit(json, 0);
    const doc = oneJson(json);
    assert.equal(doc.subtype, "success");
    const ran = (doc.metrics as { workflow: { nodes: Record<string, { status: string }> } }).workflow.nodes;
    assert.equal(ran.read.status, "error", "the failed node is still counted as failed");
    assert.equal(ran.fallback.status, "success");
    // Without an error edge the same failure fails the run, and `${read.error}` is no output to refer to.
    const unhandled = writeWorkflow(dir, "unhandled.json", workflow(nodes.slice(0, 1)));
    const failed = await runPflow(["run", unhandled], { env });
    assertExit(failed, 1);
    assert.match(failed.stderr, /file not found/);
    const wrong = writeWorkflow(
      dir,
      "wrong.json",
      workflow(nodes.slice(0, 2), { edges: [{ from: "read", to: "fallback" }] }),
    );
    const invalid = await runPflow(["run", wrong], { env });
    assertExit(invalid, 2);
    assert.match(invalid.stderr, /\$\{read\.error\}: node 'read' \(read-file\) has no output 'error'/);
  });
});

Deno.test("a number JSON text holds with more digits than a number keeps is warned about where a path reads it", async () => {
  await withHome(async (dir, env) => {
    const file = writeWorkflow(
      dir,
      "bigint.json",
      workflow([
        { id: "local", type: "shell", params: { command: `echo '{"id": 1234567890123456789, "ok": 5}'` } },
        { id: "next", type: "echo", params: { value: "\${local.stdout.id}" } },
        { id: "again", type: "echo", params: { value: "id \${local.stdout.id}, ok \${local.stdout.ok}" } },
      ], {
        edges: [{ from: "local", to: "next" }, { from: "next", to: "again" }],
        outputs: { id: { source: "\${next.output}" }, direct: { source: "\${local.stdout.id}" } },
      }),
    );
    const result = await runPflow(["run", file], { env });
    assertExit(result, 0);
    assert.deepEqual(JSON.parse(result.stdout), { id: 1234567890123456800, direct: 1234567890123456800 });
    // One warning per run for a template, though two params and an output read it.
    const warning = "warning: \${local.stdout.id}: 'local.stdout.id' 1234567890123456789 cannot be held exactly by a " +
      'JSON number here; it reads as 1234567890123456800 (write it in the JSON as a string: "1234567890123456789")';
    assert.deepEqual(result.stderr.trimEnd().split("\n"), [warning]);
  });
});

Deno.test("the binary says where text that starts like JSON stops being JSON when a path goes into it", async () => {
  await withHome(async (dir, env) => {
    const file = writeWorkflow(
      dir,
      "notjson.json",
      workflow([
        { id: "a", type: "shell", params: { command: "echo '[1,2,x]'" } },
        { id: "b", type: "echo", params: { value: "\${a.stdout[1]}" } },
      ], { edges: [{ from: "a", to: "b" }] }),
    );
    const result = await runPflow(["run", file], { env });
    assertExit(result, 1);
    assert.equal(
      result.stderr.trimEnd(),
      "error: node 'b' failed: param 'value': cannot resolve ${a.stdout[1]}: 'a.stdout' starts like JSON but is not " +
        'valid JSON (unexpected "x" at character 6), so it has no [1]',
    );
  });
});

// ---------------------------------------------------------------- batch

function batchWorkflow(batch: Record<string, unknown>, node: Record<string, unknown>, list: string) {
  return workflow([
    { id: "list", type: "shell", params: { command: `echo '${list}'` } },
    { id: "fan", ...node, batch: { items: "${list.stdout}", ...batch } },
  ], {
    edges: [{ from: "list", to: "fan" }],
    outputs: {
      results: { source: "${fan.results}" },
      count: { source: "${fan.count}" },
      errors: { source: "${fan.errors}" },
    },
  });
}

Deno.test("batch: parallel fan-out keeps results in item order", async () => {
  await withHome(async (dir, env) => {
    // Later items finish first, so completion order differs from item order.
    const file = writeWorkflow(
      dir,
      "batch.json",
      batchWorkflow(
        { parallel: true },
        { type: "echo", params: { value: "v${item}", delay_ms: "${item}" } },
        "[60,1,30,5]",
      ),
    );
    const result = await runPflow(["run", file, "--json"], { env });
    assertExit(result, 0);
    const doc = oneJson(result);
    assert.deepEqual(doc.result, {
      results: [{ output: "v60" }, { output: "v1" }, { output: "v30" }, { output: "v5" }],
      count: 4,
      errors: [],
    });
  });
});

Deno.test("batch: error_handling continue keeps going and lists the errors", async () => {
  await withHome(async (dir, env) => {
    const file = writeWorkflow(
      dir,
      "batch.json",
      batchWorkflow(
        { parallel: true, error_handling: "continue" },
        { type: "echo", params: { value: "${item.v}", fail: "${item.bad}" } },
        '[{"v":"a","bad":false},{"v":"b","bad":true},{"v":"c","bad":false}]',
      ),
    );
    const result = await runPflow(["run", file, "--json"], { env });
    assertExit(result, 0);
    const doc = oneJson(result);
    const out = doc.result as { results: unknown[]; count: number; errors: { index: number; error: string }[] };
    assert.equal(out.count, 3);
    assert.deepEqual(out.results, [{ output: "a" }, { output: "b" }, { output: "c" }]);
    assert.equal(out.errors.length, 1);
    assert.equal(out.errors[0].index, 1);
    assert.deepEqual((out.errors[0] as Record<string, unknown>).item, { v: "b", bad: true });
  });
});

Deno.test("batch: fail_fast stops at a failed item and exits 1", async () => {
  await withHome(async (dir, env) => {
    const file = writeWorkflow(
      dir,
      "batch.json",
      batchWorkflow(
        { error_handling: "fail_fast" },
        { type: "shell", params: { command: "test ${item} -ne 2" } },
        "[1,2,3]",
      ),
    );
    const result = await runPflow(["run", file, "--json"], { env });
    assertExit(result, 1);
    const doc = oneJson(result);
    assert.equal(doc.subtype, "error_during_execution");
    const error = doc.error as Record<string, unknown>;
    assert.equal(error.node_id, "fan");
    assert.match(error.message as string, /batch item 2 of 3 failed: command exited with code 1/);
  });
});

// ---------------------------------------------------------------- stdin

Deno.test("stdin: piped data fills ${stdin}", async () => {
  await withHome(async (dir, env) => {
    const file = writeWorkflow(
      dir,
      "stdin.json",
      workflow([{ id: "a", type: "echo", params: { value: "got:${stdin}" } }]),
    );
    const result = await runPflow(["run", file], { env, stdin: "data\n" });
    assertExit(result, 0);
    assert.equal(result.stdout, "got:data\n");
  });
});

Deno.test("stdin: an input marked stdin: true gets the piped text", async () => {
  await withHome(async (dir, env) => {
    const file = writeWorkflow(
      dir,
      "stdin.json",
      workflow([{ id: "a", type: "echo", params: { value: "${data}" } }], {
        inputs: { data: { type: "string", stdin: true } },
        outputs: { data: { source: "${a.output}" } },
      }),
    );
    const piped = await runPflow(["run", file, "--json"], { env, stdin: "piped text" });
    assertExit(piped, 0);
    assert.deepEqual(oneJson(piped).result, { data: "piped text" });
    // An explicit param wins over stdin.
    const param = await runPflow(["run", file, "data=given", "--json"], { env, stdin: "piped text" });
    assertExit(param, 0);
    assert.deepEqual(oneJson(param).result, { data: "given" });
    // Nothing piped and no param: the required input is missing.
    const none = await runPflow(["run", file], { env });
    assertExit(none, 2);
    assert.match(none.stderr, /missing required input 'data': pass data=VALUE or pipe it on stdin/);
  });
});

Deno.test("stdin: an optional stdin input without a default is warned about, and a run that leaves it unset stops before any node", async () => {
  await withHome(async (dir, env) => {
    const side = join(dir, "side.txt");
    const file = writeWorkflow(
      dir,
      "optional.json",
      workflow([
        { id: "first", type: "shell", params: { command: `echo ran >> '${side}'` } },
        { id: "show", type: "echo", params: { value: "[${text}]" } },
      ], {
        inputs: { text: { type: "string", required: false, stdin: true } },
        edges: [{ from: "first", to: "show" }],
      }),
    );
    const validated = await runPflow(["validate", file], { env });
    assertExit(validated, 0);
    assert.equal(
      validated.stderr,
      "warning: node 'show' reads ${text}, an optional input without a default: a run not given text=VALUE or " +
        'piped stdin is refused before any node runs; give the input a "default" (such as "") or make it required\n',
    );
    // Nothing piped (/dev/null), or an empty pipe: one line, exit 2, and no node ran.
    for (const stdin of [undefined, ""]) {
      const result = await runPflow(["run", file], { env, stdin });
      assertExit(result, 2);
      assert.deepEqual(result.stderr.trim().split("\n"), [
        `error: ${file}:20:5: /inputs/text: input 'text' has no value: nothing was piped to stdin to fill it and it ` +
        `has no default, but node 'show' reads it; pass text=VALUE or pipe it on stdin, or give the input a "default"`,
      ]);
      assert.equal(existsSync(side), false, "no node ran");
    }
    // Piped or given: no warning, and it runs.
    const piped = await runPflow(["run", file], { env, stdin: "hi" });
    assertExit(piped, 0);
    assert.equal(piped.stdout, "[hi]\n");
    assert.equal(piped.stderr, "");
    const given = await runPflow(["run", file, "text=yo"], { env });
    assertExit(given, 0);
    assert.equal(given.stdout, "[yo]\n");
  });
});

Deno.test("stdin: a typed input takes piped text as key=value text is typed, and says so when it does not fit", async () => {
  await withHome(async (dir, env) => {
    const typed = (type: string) =>
      writeWorkflow(
        dir,
        `${type}.json`,
        workflow([{ id: "a", type: "echo", params: { value: "${data}" } }], {
          inputs: { data: { type, stdin: true } },
          outputs: { data: { source: "${a.output}" } },
        }),
      );
    for (
      const [type, piped, expected] of [
        ["integer", "42\n", 42],
        ["number", " 2.5e3 ", 2500],
        ["boolean", "true\n", true],
        ["object", '{"k": [1, 2]}\n', { k: [1, 2] }],
        ["array", '[1, "a"]', [1, "a"]],
        ["string", " 42\n", " 42\n"],
      ] as const
    ) {
      const result = await runPflow(["run", typed(type), "--json"], { env, stdin: piped });
      assertExit(result, 0);
      assert.deepEqual(oneJson(result).result, { data: expected }, `${type} from ${JSON.stringify(piped)}`);
    }
    const bad = await runPflow(["run", typed("integer")], { env, stdin: "5x\n" });
    assertExit(bad, 2);
    assert.match(bad.stderr, /input 'data' must be an integer, got "5x\\n" \(from stdin\)/);
    // Piped text gets the problems key=value text gets, in the same words.
    for (
      const [type, piped, problem] of [
        ["integer", "2.5\n", /input 'data' must be a whole number, got "2.5\\n" \(from stdin\)/],
        ["boolean", "yes\n", /input 'data' must be true or false, got "yes\\n" \(from stdin\)/],
        ["array", '{"k": 1}', /input 'data' must be a JSON array, got "\{\\"k\\": 1\}" \(from stdin\)/],
        ["object", "[".repeat(1200) + "]".repeat(1200), /input 'data' must not be JSON nested deeper than \d+ levels/],
        ["object", "{oops", /input 'data' must be JSON \([^)]*\), got "\{oops" \(from stdin\)/],
      ] as const
    ) {
      const result = await runPflow(["run", typed(type)], { env, stdin: piped });
      assertExit(result, 2);
      assert.match(result.stderr, problem, `${type} from ${JSON.stringify(piped)}`);
      assert.doesNotMatch(result.stderr, /\n\s+at /, "no stack trace");
    }
    // A secret-named input's piped text is never quoted, not even by the JSON parser's message.
    const secret = writeWorkflow(
      dir,
      "secret.json",
      workflow([{ id: "a", type: "echo", params: { value: "${api_token}" } }], {
        inputs: { api_token: { type: "object", stdin: true } },
      }),
    );
    const leaked = await runPflow(["run", secret], { env, stdin: "{s3cr3t-value" });
    assertExit(leaked, 2);
    assert.match(leaked.stderr, /input 'api_token' must be JSON \(invalid JSON[^)]*\), got a value not shown here/);
    assert.doesNotMatch(leaked.stderr, /s3cr3t/);
    // Nor is text holding a secret-named key, whatever the input's own name.
    const inner = await runPflow(["run", typed("array")], {
      env,
      stdin: '{"api_key": "sk-live-abcdef123456", "x": 1}',
    });
    assertExit(inner, 2);
    assert.match(inner.stderr, /input 'data' must be a JSON array, got a value not shown here/);
    assert.doesNotMatch(inner.stderr, /sk-live/);
  });
});

Deno.test("params given to a workflow that declares no inputs join the root store, templates read them", async () => {
  await withHome(async (dir, env) => {
    const file = writeWorkflow(
      dir,
      "free.json",
      workflow([{ id: "a", type: "echo", params: { value: "${greeting}, ${who.name} (${n})" } }]),
    );
    const result = await runPflow(["run", file, "greeting=hi", 'who={"name":"Ada"}', "n=3", "--json"], { env });
    assertExit(result, 0);
    assert.deepEqual(oneJson(result).result, { output: "hi, Ada (3)" });
    // Not given: a validation error that says how to give it.
    const missing = await runPflow(["run", file, "greeting=hi", "n=3"], { env });
    assertExit(missing, 2);
    assert.match(
      missing.stderr,
      /'who' is not a node id, an input or stdin; .*\(declare it under "inputs", or pass who=VALUE\)/,
    );
  });
});

Deno.test("a string param takes a number or boolean a whole-value template gives, as its text", async () => {
  await withHome(async (dir, env) => {
    writeFileSync(join(dir, "2024"), "year file");
    const file = writeWorkflow(
      dir,
      "read.json",
      workflow(
        [
          { id: "read", type: "read-file", params: { path: "${file}" } },
          { id: "save", type: "write-file", params: { path: "${flag}", content: "${read.content}" } },
          { id: "mode", type: "read-file", params: { path: "${file}", encoding: "${enc}" } },
        ],
        {
          inputs: { file: { type: "integer" }, flag: { type: "boolean" }, enc: { default: "utf8" } },
          edges: [{ from: "read", to: "save" }, { from: "save", to: "mode" }],
        },
      ),
    );
    const validated = await runPflow(["validate", file, "file=2024", "flag=true"], { env, cwd: dir });
    assertExit(validated, 0);
    const result = await runPflow(["run", file, "file=2024", "flag=true", "--json"], { env, cwd: dir });
    assertExit(result, 0);
    assert.equal(readFileSync(join(dir, "true"), "utf8"), "year file");
    // An enum still refuses the text a number makes when it is not one of its values (before the run).
    const bad = await runPflow(["run", file, "file=2024", "flag=true", "enc=8"], { env, cwd: dir });
    assertExit(bad, 2);
    assert.match(bad.stderr, /param 'encoding' must be one of "utf8", "base64", got integer 8/);
  });
});

Deno.test("an optional input without a default, not given, that a template reads: the error says how to give it", async () => {
  await withHome(async (dir, env) => {
    const file = writeWorkflow(
      dir,
      "optional.json",
      workflow([{ id: "a", type: "echo", params: { value: "hi ${x}" } }], {
        inputs: { x: { type: "string", required: false } },
      }),
    );
    const missing = await runPflow(["run", file], { env });
    assertExit(missing, 1);
    assert.match(
      missing.stderr,
      /param 'value': cannot resolve \$\{x\}: input 'x' was not given and has no default; pass x=VALUE or give the input a "default"/,
    );
    const given = await runPflow(["run", file, "x=you"], { env });
    assertExit(given, 0);
    assert.equal(given.stdout, "hi you\n");
  });
});

/** Runs pflow with a stdin pipe that is never closed; fails if it has not exited after 5 s. */
async function runWithOpenStdin(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string }> {
  const child = spawn(PFLOW_BIN, args, {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...env },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stdout = "";
  child.stdout!.on("data", (d) => stdout += d);
  child.stderr!.resume();
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const outcome = await Promise.race([
      new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code))),
      new Promise<"timeout">((resolve) => timer = setTimeout(() => resolve("timeout"), 5000)),
    ]);
    assert.notEqual(outcome, "timeout", `pflow ${args.join(" ")} blocked on an open stdin pipe`);
    return { code: outcome as number | null, stdout };
  } finally {
    clearTimeout(timer);
    if (child.exitCode === null && child.signalCode === null) {
      process.kill(child.pid!, "SIGKILL");
      await new Promise((resolve) => child.on("close", resolve));
    }
    child.stdin!.destroy();
  }
}

Deno.test("stdin: a workflow that does not use stdin never waits for an open pipe", async () => {
  await withHome(async (dir, env) => {
    const file = writeWorkflow(dir, "nostdin.json", workflow([{ id: "a", type: "echo", params: { value: "done" } }]));
    const result = await runWithOpenStdin(["run", file], env);
    assert.equal(result.code, 0);
    assert.equal(result.stdout, "done\n");
  });
});

Deno.test("stdin: an open pipe is not read when the stdin input is given as a param", async () => {
  await withHome(async (dir, env) => {
    const file = writeWorkflow(
      dir,
      "stdin.json",
      workflow([{ id: "a", type: "echo", params: { value: "${data}" } }], {
        inputs: { data: { type: "string", stdin: true } },
      }),
    );
    const result = await runWithOpenStdin(["run", file, "data=given"], env);
    assert.equal(result.code, 0);
    assert.equal(result.stdout, "given\n");
  });
});

Deno.test("stdin: more than 64 MiB is refused (reading stops at the bound), and so are bytes that are not UTF-8", async () => {
  await withHome(async (dir, env) => {
    const file = writeWorkflow(
      dir,
      "stdin.json",
      workflow([{ id: "a", type: "shell", params: { command: "wc -c", stdin: "${stdin}" } }]),
    );
    // An endless stream: the run ends at the bound instead of reading (and holding) it all.
    const endless = spawnSync("/bin/sh", ["-c", `yes | "${PFLOW_BIN}" run "${file}" --json`], {
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...env },
      encoding: "utf8",
      timeout: 60_000,
    });
    assert.equal(endless.status, 2, `${endless.stdout}\n${endless.stderr}`);
    const doc = JSON.parse(endless.stdout);
    assert.equal(doc.subtype, "error_validation");
    assert.equal(
      doc.error.message,
      "stdin: more than 64 MiB was piped, the most pflow reads from stdin; give larger data to a read-file node " +
        "(or a shell node) by its path instead",
    );
    // Exactly the bound is read whole.
    const full = await runPflow(["run", file], { env, stdin: "a".repeat(64 * 1024 * 1024) });
    assertExit(full, 0);
    assert.equal(full.stdout.trim(), String(64 * 1024 * 1024));
    // Latin-1 is not silently turned into U+FFFD: the error names the line, column and byte offset.
    const latin1 = await runPflow(["run", file], {
      env,
      stdin: new Uint8Array([0x6f, 0x6b, 0x0a, 0x63, 0x61, 0x66, 0xe9]),
    });
    assertExit(latin1, 2);
    assert.equal(
      latin1.stderr,
      "error: stdin:2:4: not valid UTF-8: byte 0xE9 at byte offset 6; pipe UTF-8 text (e.g. through iconv -t UTF-8), " +
        "or give binary data to a read-file node with encoding: base64\n",
    );
    // A UTF-8 byte-order mark is dropped, as in files.
    const bom = await runPflow(["run", file], { env, stdin: new Uint8Array([0xef, 0xbb, 0xbf, 0x68, 0x69]) });
    assertExit(bom, 0);
    assert.equal(bom.stdout.trim(), "2");
  });
});

Deno.test("stdin: a directory redirected to stdin is one line, exit 2 (error_validation in JSON mode)", async () => {
  await withHome((dir, env) => {
    const file = writeWorkflow(dir, "stdin.json", workflow([{ id: "a", type: "echo", params: { value: "${stdin}" } }]));
    const message = "stdin: it is a directory, not text; redirect a file (< notes.md) or pipe the input " +
      "(e.g. cat notes.md | pflow run FILE.json)";
    for (const extra of ["", " --json"]) {
      const result = spawnSync("/bin/sh", ["-c", `"${PFLOW_BIN}" run "${file}"${extra} < "${dir}"`], {
        env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...env },
        encoding: "utf8",
        timeout: 10_000,
      });
      assert.equal(result.status, 2, `${result.stdout}\n${result.stderr}`);
      if (extra === "") assert.equal(result.stderr, `error: ${message}\n`);
      else assert.deepEqual(JSON.parse(result.stdout).error.message, message);
    }
  });
});

// ---------------------------------------------------------------- saved workflows

Deno.test("saved workflows: save, list, show, run, overwrite, delete", async () => {
  await withHome(async (dir, env) => {
    const file = writeWorkflow(dir, "typed.json", TYPED);
    const workflowsDir = join(env.PFLOW_HOME, "workflows");

    const saved = await runPflow(["workflow", "save", file, "--name", "demo", "--description", "d"], { env });
    assertExit(saved, 0);
    assert.match(saved.stderr, /Saved workflow 'demo'/);
    assert.deepEqual(readdirSync(workflowsDir), ["demo.json"]);
    const stored = JSON.parse(readFileSync(join(workflowsDir, "demo.json"), "utf8"));
    assert.equal(stored.name, "demo");
    assert.equal(stored.description, "d");
    assert.deepEqual(stored.nodes, TYPED.nodes);

    const list = await runPflow(["workflow", "list"], { env });
    assertExit(list, 0);
    assert.equal(list.stdout, "demo  d\n");
    const listJson = await runPflow(["workflow", "list", "--json"], { env });
    assertExit(listJson, 0);
    assert.deepEqual(JSON.parse(listJson.stdout), [
      { name: "demo", description: "d", nodes: 5, path: join(workflowsDir, "demo.json"), valid: true, problems: [] },
    ]);

    const show = await runPflow(["workflow", "show", "demo"], { env });
    assertExit(show, 0);
    assert.match(show.stdout, /^demo: d\n/);
    assert.match(show.stdout, /inputs:\n {2}n \(number, required\)/);
    assert.match(show.stdout, /text \(string, optional, default "none"\)/);
    assert.match(show.stdout, /outputs:\n {2}n ← \$\{a\.output\}/);
    assert.match(show.stdout, /nodes:\n {2}a \(echo\)/);
    const showJson = await runPflow(["workflow", "show", "demo", "--json"], { env });
    assertExit(showJson, 0);
    assert.deepEqual(JSON.parse(showJson.stdout), stored);

    const run = await runPflow(["run", "demo", ...TYPED_ARGS, "--json"], { env });
    assertExit(run, 0);
    const doc = oneJson(run);
    assert.equal(doc.workflow_name, "demo");
    assert.deepEqual(doc.result, { n: 3, flag: true, list: [1, 2], obj: { a: 1 }, text: "hi" });
    const runText = await runPflow(["run", "demo", ...TYPED_ARGS, "-o", "text"], { env });
    assertExit(runText, 0);
    assert.equal(runText.stdout, "hi\n");

    const again = await runPflow(["workflow", "save", file, "--name", "demo"], { env });
    assertExit(again, 2);
    assert.match(again.stderr, /saved workflow 'demo' exists; pass --force to replace it/);
    const forced = await runPflow(["workflow", "save", file, "--name", "demo", "--description", "new", "--force"], {
      env,
    });
    assertExit(forced, 0);
    assert.equal(JSON.parse(readFileSync(join(workflowsDir, "demo.json"), "utf8")).description, "new");
    // Atomic writes leave no temp files behind.
    assert.deepEqual(readdirSync(workflowsDir), ["demo.json"]);

    const deleted = await runPflow(["workflow", "delete", "demo"], { env });
    assertExit(deleted, 0);
    assert.equal(deleted.stdout, "");
    assert.equal(deleted.stderr, "Deleted workflow 'demo'\n");
    assert.deepEqual(readdirSync(workflowsDir), []);
    // --json: one document on stdout, as `save --json` writes, and nothing on stderr.
    assertExit(await runPflow(["workflow", "save", file, "--name", "demo"], { env }), 0);
    const deletedJson = await runPflow(["workflow", "delete", "demo", "--json"], { env });
    assertExit(deletedJson, 0);
    assert.deepEqual(JSON.parse(deletedJson.stdout), {
      name: "demo",
      path: join(workflowsDir, "demo.json"),
      deleted: true,
    });
    assert.equal(deletedJson.stderr, "");
    assert.deepEqual(readdirSync(workflowsDir), []);
    const empty = await runPflow(["workflow", "list"], { env });
    assertExit(empty, 0);
    assert.equal(empty.stdout, "");
    assert.match(empty.stderr, /No saved workflows/);
    const emptyJson = await runPflow(["workflow", "list", "--json"], { env });
    assertExit(emptyJson, 0);
    assert.deepEqual(JSON.parse(emptyJson.stdout), []);
    const deleteAgain = await runPflow(["workflow", "delete", "demo"], { env });
    assertExit(deleteAgain, 2);
    assert.match(deleteAgain.stderr, /no saved workflow 'demo'/);
  });
});

Deno.test("saved workflows: of concurrent saves under one name without --force, exactly one succeeds", async () => {
  await withHome(async (dir, env) => {
    const workflowsDir = join(env.PFLOW_HOME, "workflows");
    // Each process saves its own description, so the file that stays shows whose save won.
    const files = [0, 1, 2, 3, 4, 5].map((i) =>
      writeWorkflow(dir, `w${i}.json`, { ...TYPED, description: `from ${i}` })
    );
    for (let round = 0; round < 4; round++) {
      const results = await Promise.all(
        files.map((file) => runPflow(["workflow", "save", file, "--name", "same"], { env })),
      );
      const winners = results.flatMap((r, i) => r.code === 0 ? [i] : []);
      assert.equal(winners.length, 1, results.map(explain).join("\n"));
      for (const r of results.filter((r) => r.code !== 0)) {
        assertExit(r, 2);
        assert.match(r.stderr, /saved workflow 'same' exists; pass --force to replace it/);
      }
      // The one save reported is the one kept, whole, and no temp file is left.
      assert.deepEqual(readdirSync(workflowsDir), ["same.json"]);
      const kept = JSON.parse(readFileSync(join(workflowsDir, "same.json"), "utf8"));
      assert.equal(kept.description, `from ${winners[0]}`);
      rmSync(join(workflowsDir, "same.json"));
    }
    // With --force every save replaces the file: all succeed, one whole file stays.
    const forced = await Promise.all(
      files.map((file) => runPflow(["workflow", "save", file, "--name", "same", "--force"], { env })),
    );
    for (const r of forced) assertExit(r, 0);
    assert.deepEqual(readdirSync(workflowsDir), ["same.json"]);
    assert.match(JSON.parse(readFileSync(join(workflowsDir, "same.json"), "utf8")).description, /^from \d$/);
  });
});

Deno.test("saved workflows: invalid names exit 2 and write nothing", async () => {
  await withHome(async (dir, env) => {
    const file = writeWorkflow(dir, "typed.json", TYPED);
    for (const name of ["../x", "a/b", "", "x.json", ".hidden", "a".repeat(65), "a.", "a..b", "a.b."]) {
      const result = await runPflow(["workflow", "save", file, "--name", name], { env });
      assertExit(result, 2);
      // The message states the whole rule, the trailing '.' included.
      assert.ok(
        result.stderr.includes(
          `invalid workflow name '${name}': use letters, digits, '.', '_' and '-' (max 64, ` +
            "starting with a letter or digit, not ending with '.', no '..', no '.json')",
        ),
        explain(result),
      );
      assert.ok(result.stderr.includes("Run 'pflow workflow --help' for usage."), explain(result));
    }
    // plan --save checks the name before any planner call (the provider here cannot be reached).
    const planEnv = {
      ...env,
      ANTHROPIC_API_KEY: "sk-ant-test-0000000000",
      ANTHROPIC_BASE_URL: "http://127.0.0.1:9/v1",
    };
    const planSave = await runPflow(["plan", "do it", "--save", "a."], { env: planEnv });
    assertExit(planSave, 2);
    assert.match(planSave.stderr, /invalid workflow name 'a\.': .*not ending with '\.'/);
    const show = await runPflow(["workflow", "show", "../x"], { env });
    assertExit(show, 2);
    assert.match(show.stderr, /invalid workflow name/);
    // A command's name: `pflow plan` would run the command, never the workflow.
    for (const name of ["plan", "run", "workflow", "help"]) {
      const result = await runPflow(["workflow", "save", file, "--name", name], { env });
      assertExit(result, 2);
      assert.match(result.stderr, new RegExp(`invalid workflow name '${name}': it is a pflow command`));
    }
    assert.ok(
      !existsSync(join(env.PFLOW_HOME, "workflows")) || readdirSync(join(env.PFLOW_HOME, "workflows")).length === 0,
    );
    assert.ok(!existsSync(join(env.PFLOW_HOME, "x.json")));
    // One saved under a command's name before it was refused can still be shown, run and deleted.
    mkdirSync(join(env.PFLOW_HOME, "workflows"), { recursive: true });
    writeWorkflow(join(env.PFLOW_HOME, "workflows"), "plan.json", workflow([{ id: "a", type: "echo" }]));
    assertExit(await runPflow(["workflow", "show", "plan"], { env }), 0);
    assertExit(await runPflow(["run", "plan"], { env }), 0);
    assertExit(await runPflow(["workflow", "delete", "plan"], { env }), 0);
    // So can one saved as 'a.' (the file a..json) before the trailing '.' was refused.
    writeWorkflow(join(env.PFLOW_HOME, "workflows"), "a..json", workflow([{ id: "a", type: "echo" }]));
    assertExit(await runPflow(["workflow", "show", "a."], { env }), 0);
    assertExit(await runPflow(["run", "a."], { env }), 0);
    assertExit(await runPflow(["workflow", "delete", "a."], { env }), 0);
  });
});

Deno.test("saved workflows put there by hand: every command takes the names 'workflow list' lists, and only them", async () => {
  await withHome(async (_dir, env) => {
    const workflowsDir = join(env.PFLOW_HOME, "workflows");
    mkdirSync(workflowsDir, { recursive: true });
    const echo = (value: string) =>
      workflow([{ id: "a", type: "echo", params: { value } }], {
        description: value,
        outputs: { r: { source: "${a.output}" } },
      });
    writeWorkflow(workflowsDir, "My Flow.json", echo("spaced"));
    writeWorkflow(workflowsDir, "x.json.json", echo("dotted"));
    mkdirSync(join(workflowsDir, "dir.json"));
    assert.equal(spawnSync("mkfifo", [join(workflowsDir, "pipe.json")]).status, 0);
    const list = await runPflow(["workflow", "list"], { env });
    assertExit(list, 0);
    assert.equal(list.stdout, "My Flow  spaced\nx.json   dotted\n");
    for (const [name, value] of [["My Flow", "spaced"], ["x.json", "dotted"]]) {
      const show = await runPflow(["workflow", "show", name], { env });
      assertExit(show, 0);
      assert.match(show.stdout, new RegExp(`: ${value}\n`));
      assertExit(await runPflow(["validate", name], { env }), 0);
      for (const args of [["run", name], [name]]) {
        const run = await runPflow(args, { env });
        assertExit(run, 0);
        assert.equal(run.stdout, `${value}\n`);
      }
    }
    // Not saved workflows: 'list' leaves them out, and no command takes them.
    for (const name of ["dir", "pipe"]) {
      assertExit(await runPflow(["workflow", "show", name], { env }), 2);
      assertExit(await runPflow(["validate", name], { env }), 2);
      assertExit(await runPflow(["workflow", "delete", name], { env }), 2);
    }
    for (const name of ["My Flow", "x.json"]) assertExit(await runPflow(["workflow", "delete", name], { env }), 0);
    assert.deepEqual(readdirSync(workflowsDir).sort(), ["dir.json", "pipe.json"]);
  });
});

Deno.test("saved workflows: show/run of a missing name and save without --name exit 2", async () => {
  await withHome(async (dir, env) => {
    const show = await runPflow(["workflow", "show", "missing"], { env });
    assertExit(show, 2);
    assert.match(show.stderr, /no saved workflow 'missing'/);
    const run = await runPflow(["run", "missing"], { env });
    assertExit(run, 2);
    assert.match(run.stderr, /missing: no such workflow file or saved workflow/);
    const file = writeWorkflow(dir, "typed.json", TYPED);
    const noName = await runPflow(["workflow", "save", file], { env });
    assertExit(noName, 2);
    assert.match(noName.stderr, /missing --name NAME/);
    const unknown = await runPflow(["workflow", "rename", "a"], { env });
    assertExit(unknown, 2);
    assert.match(unknown.stderr, /unknown workflow command 'rename'/);
  });
});

Deno.test("saved workflows: a save the file system refuses names what is in the way (exit 2), never 'exists'", async () => {
  await withHome(async (dir, env) => {
    const file = writeWorkflow(dir, "typed.json", TYPED);
    const workflowsDir = join(env.PFLOW_HOME, "workflows");
    const save = (name: string, ...extra: string[]) =>
      runPflow(["workflow", "save", file, "--name", name, ...extra], { env });
    // `workflows` a file: with and without --force.
    writeFileSync(workflowsDir, "");
    for (const extra of [[], ["--force"]]) {
      const result = await save("z", ...extra);
      assertExit(result, 2);
      assert.equal(
        result.stderr,
        `error: cannot save workflow 'z': ${workflowsDir} is a file, not a directory\n`,
        explain(result),
      );
    }
    rmSync(workflowsDir);
    // A directory named d.json is no saved workflow: not 'exists', and --force does not replace it.
    mkdirSync(join(workflowsDir, "d.json"), { recursive: true });
    for (const extra of [[], ["--force"]]) {
      const result = await save("d", ...extra);
      assertExit(result, 2);
      assert.equal(
        result.stderr,
        `error: cannot save workflow 'd': ${join(workflowsDir, "d.json")} is a directory, not a saved workflow; ` +
          "remove it or choose another name\n",
        explain(result),
      );
    }
    // A PFLOW_HOME that cannot be created.
    const proc = await runPflow(["workflow", "save", file, "--name", "p", "--json"], {
      env: { PFLOW_HOME: "/proc/pflow-nope" },
    });
    assertExit(proc, 2);
    assert.equal(
      (oneJson(proc).error as { message: string }).message,
      "cannot save workflow 'p': cannot create the directory /proc/pflow-nope/workflows: its parent cannot be created",
    );
  });
});

Deno.test("saved workflows: an invalid workflow is not saved", async () => {
  await withHome(async (dir, env) => {
    const file = writeWorkflow(dir, "bad.json", workflow([{ id: "a", type: "shel" }]));
    const result = await runPflow(["workflow", "save", file, "--name", "bad"], { env });
    assertExit(result, 2);
    assert.match(result.stderr, /bad\.json:\d+:\d+: \/nodes\/0\/type: unknown node type 'shel'/);
    assert.ok(!existsSync(join(env.PFLOW_HOME, "workflows", "bad.json")));
  });
});

// ---------------------------------------------------------------- registry

const TYPES = ["shell", "read-file", "write-file", "copy-file", "move-file", "delete-file", "http", "llm", "echo"];

Deno.test("registry list shows every node type", async () => {
  await withHome(async (_dir, env) => {
    const text = await runPflow(["registry", "list"], { env });
    assertExit(text, 0);
    const listed = text.stdout.trimEnd().split("\n").map((line) => line.split(/\s+/)[0]);
    assert.deepEqual(listed.sort(), [...TYPES].sort());
    assert.match(text.stdout, /^shell\s+Runs a command/m);
    const json = await runPflow(["registry", "list", "--json"], { env });
    assertExit(json, 0);
    const specs = JSON.parse(json.stdout) as { type: string; params: object; outputs: object }[];
    assert.ok(Array.isArray(specs));
    assert.deepEqual(specs.map((s) => s.type).sort(), [...TYPES].sort());
    for (const spec of specs) {
      assert.equal(typeof spec.params, "object");
      assert.equal(typeof spec.outputs, "object");
    }
  });
});

Deno.test("registry describe shows params with defaults and outputs", async () => {
  await withHome(async (_dir, env) => {
    const text = await runPflow(["registry", "describe", "shell"], { env });
    assertExit(text, 0);
    assert.match(text.stdout, /^shell: Runs a command/);
    assert.match(text.stdout, /params:\n {2}command \(string, optional\)/);
    assert.match(
      text.stdout,
      / {2}args \(array, optional\): Instead of `command`: the program and its arguments, run without a shell/,
    );
    assert.match(text.stdout, / {2}timeout \(number, default 30\)/);
    assert.match(text.stdout, / {2}ignore_errors \(boolean, default false\)/);
    assert.match(text.stdout, /outputs:\n {2}stdout \(string\)/);
    assert.match(text.stdout, / {2}exit_code \(integer\)/);
    assert.match(text.stdout, /actions: default, error/);
    const json = await runPflow(["registry", "describe", "shell", "--json"], { env });
    assertExit(json, 0);
    const spec = JSON.parse(json.stdout);
    assert.equal(spec.type, "shell");
    assert.equal(spec.params.timeout.default, 30);
    assert.equal(spec.params.command.required, undefined);
    assert.equal(spec.params.args.type, "array");
    assert.deepEqual(Object.keys(spec.outputs), ["stdout", "stderr", "exit_code"]);
  });
});

Deno.test("registry describe of an unknown type exits 2 with did-you-mean", async () => {
  await withHome(async (_dir, env) => {
    const result = await runPflow(["registry", "describe", "shel"], { env });
    assertExit(result, 2);
    assert.match(result.stderr, /unknown node type 'shel' \(did you mean 'shell'\?\)/);
    assert.equal(result.stdout, "");
    const bare = await runPflow(["registry"], { env });
    assertExit(bare, 2);
    const unknown = await runPflow(["registry", "frob"], { env });
    assertExit(unknown, 2);
    assert.match(unknown.stderr, /unknown registry command 'frob'/);
  });
});

// ---------------------------------------------------------------- signals

/** Runs a workflow whose shell node starts `sleep 30`, sends `signal` once it started, returns the result. */
async function interruptRun(
  signal: "SIGINT" | "SIGTERM",
  extraArgs: string[],
): Promise<{ result: CliResult; elapsed: number }> {
  let outcome: { result: CliResult; elapsed: number } | undefined;
  await withHome(async (dir, env) => {
    const pidFile = join(dir, "sleep.pid");
    const file = writeWorkflow(
      dir,
      "sleepy.json",
      workflow([
        { id: "first", type: "echo", params: { value: "x" } },
        { id: "nap", type: "shell", params: { command: `sleep 30 & echo $! > '${pidFile}'; wait` } },
        { id: "never", type: "echo", params: { value: "should not run" } },
      ], { edges: [{ from: "first", to: "nap" }, { from: "nap", to: "never" }] }),
    );
    let sleepPid: number | undefined;
    let guard: ReturnType<typeof setTimeout> | undefined;
    let sentAt = 0;
    try {
      const result = await runPflow(["run", file, ...extraArgs], {
        env,
        onSpawn: (child) => {
          guard = setTimeout(() => child.kill("SIGKILL"), 10_000);
          waitFor(() => existsSync(pidFile) && readFileSync(pidFile, "utf8").endsWith("\n"), 5000).then((started) => {
            if (!started) return;
            sleepPid = Number(readFileSync(pidFile, "utf8"));
            sentAt = Date.now();
            // process.kill, not child.kill: Deno's child.kill makes 'close' report the
            // sent signal instead of the real exit code.
            process.kill(child.pid!, signal);
          });
        },
      });
      assert.ok(sleepPid !== undefined && sleepPid > 0, `the shell node never started: ${explain(result)}`);
      outcome = { result, elapsed: Date.now() - sentAt };
      assert.ok(await waitFor(() => isDead(sleepPid!), 2000), `grandchild sleep ${sleepPid} survived the ${signal}`);
    } finally {
      clearTimeout(guard);
      if (sleepPid !== undefined && !isDead(sleepPid)) process.kill(sleepPid, "SIGKILL");
    }
  });
  return outcome!;
}

Deno.test("SIGINT interrupts a running shell node: exit 130, grandchild killed", async () => {
  const { result, elapsed } = await interruptRun("SIGINT", []);
  assertExit(result, 130);
  assert.ok(elapsed < 5000, `took ${elapsed} ms to stop`);
  assert.match(result.stderr, /interrupted/);
  assert.equal(result.stdout, "");
});

Deno.test("SIGINT in JSON mode prints one error_interrupted document", async () => {
  const { result } = await interruptRun("SIGINT", ["--output-format", "json"]);
  assertExit(result, 130);
  const doc = oneJson(result);
  assert.equal(doc.type, "result");
  assert.equal(doc.subtype, "error_interrupted");
  assert.equal(doc.is_error, true);
  assert.equal((doc.error as Record<string, unknown>).node_id, "nap");
});

Deno.test("SIGTERM behaves like SIGINT", async () => {
  const { result, elapsed } = await interruptRun("SIGTERM", ["--json"]);
  assertExit(result, 130);
  assert.ok(elapsed < 5000, `took ${elapsed} ms to stop`);
  assert.equal(oneJson(result).subtype, "error_interrupted");
});

// ---------------------------------------------------------------- colour, files

Deno.test("non-TTY stderr has no ANSI escapes", async () => {
  await withHome(async (dir, env) => {
    const file = writeWorkflow(dir, "fail.json", FAILING);
    const variants: Record<string, string>[] = [{}, { NO_COLOR: "1" }, { TERM: "xterm-256color", FORCE_COLOR: "1" }];
    for (const extra of variants) {
      const result = await runPflow(["run", file], { env: { ...env, ...extra } });
      assertExit(result, 1);
      assert.ok(
        !result.stderr.includes(ANSI),
        `ANSI codes with ${JSON.stringify(extra)}: ${JSON.stringify(result.stderr)}`,
      );
      assert.ok(!result.stdout.includes(ANSI));
    }
  });
});

Deno.test("on a terminal, stderr is coloured unless NO_COLOR is set", async () => {
  // script(1) gives pflow a pseudo-terminal; the coloured run shows the check is real.
  const hasScript = spawnSync("script", ["--version"]).status === 0;
  assert.ok(hasScript, "script(1) from util-linux is needed for the TTY test");
  await withHome((dir, env) => {
    const file = writeWorkflow(dir, "fail.json", FAILING);
    const underTty = (extra: Record<string, string>) =>
      spawnSync("script", ["-qec", `'${PFLOW_BIN}' run '${file}'`, "/dev/null"], {
        cwd: ROOT,
        env: { PATH: process.env.PATH ?? "/usr/bin:/bin", TERM: "xterm", ...env, ...extra },
        encoding: "utf8",
        timeout: 10_000,
      });
    const coloured = underTty({});
    assert.ok(coloured.stdout.includes(ANSI), `expected colour on a TTY: ${JSON.stringify(coloured.stdout)}`);
    assert.match(coloured.stdout, /boom/);
    const plain = underTty({ NO_COLOR: "1" });
    assert.match(plain.stdout, /error: node 'boom' failed: command exited with code 3/);
    assert.ok(!plain.stdout.includes(ANSI), `ANSI codes despite NO_COLOR: ${JSON.stringify(plain.stdout)}`);
  });
});

Deno.test("a workflow file that does not exist exits 2 and names it", async () => {
  await withHome(async (dir, env) => {
    const missing = join(dir, "nope.json");
    for (const args of [["run", missing], [missing]]) {
      const result = await runPflow(args, { env });
      assertExit(result, 2);
      assert.ok(result.stderr.includes(`error: ${missing}: cannot read workflow: file not found`), explain(result));
      assert.equal(result.stdout, "");
    }
  });
});

Deno.test("a directory given as the workflow exits 2", async () => {
  await withHome(async (dir, env) => {
    const folder = join(dir, "folder.json");
    mkdirSync(folder);
    const result = await runPflow(["run", folder], { env });
    assertExit(result, 2);
    assert.ok(result.stderr.includes(`${folder}: cannot read workflow: is a directory`), explain(result));
    const plain = await runPflow(["run", dir], { env });
    assertExit(plain, 2);
    assert.match(plain.stderr, /is a directory/);
  });
});

Deno.test("a workflow path that cannot be looked at (ENOTDIR, ELOOP, too long) exits 2 with the reason in words", async () => {
  await withHome(async (dir, env) => {
    const file = writeWorkflow(dir, "e.json", workflow([{ id: "a", type: "echo", params: { value: "x" } }]));
    symlinkSync("loop2.json", join(dir, "loop1.json"));
    symlinkSync("loop1.json", join(dir, "loop2.json"));
    const cases: [string, string][] = [
      [join(file, "x.json"), "a part of its path is a file"],
      [join(dir, "loop1.json"), "too many symbolic links"],
      [join(dir, `${"a".repeat(300)}.json`), "file name too long"],
    ];
    for (const [path, reason] of cases) {
      for (const command of ["run", "validate"]) {
        const result = await runPflow([command, path], { env });
        assertExit(result, 2);
        assert.equal(result.stderr, `error: ${path}: cannot read workflow: ${reason}\n`, explain(result));
      }
      const json = await runPflow(["run", path, "--json"], { env });
      assertExit(json, 2);
      assert.equal(oneJson(json).subtype, "error_validation");
    }
  });
});

Deno.test("a broken symbolic link given as the workflow says so (exit 2), not 'file not found (did you mean itself?)'", async () => {
  await withHome(async (dir, env) => {
    const missing = join(dir, "nowhere.json");
    const link = join(dir, "dangling.json");
    symlinkSync(missing, link);
    for (const args of [["run", link], ["validate", link], [link]]) {
      const result = await runPflow(args, { env });
      assertExit(result, 2);
      assert.equal(
        result.stderr,
        `error: ${link}: cannot read workflow: it is a broken symbolic link to '${missing}'\n`,
        explain(result),
      );
    }
  });
});

Deno.test("an empty workflow argument is named as empty (exit 2)", async () => {
  await withHome(async (_dir, env) => {
    for (const command of ["run", "validate"]) {
      const result = await runPflow([command, ""], { env });
      assertExit(result, 2);
      assert.equal(
        result.stderr,
        "error: the workflow argument is empty: give a workflow file or a saved workflow's name\n",
        explain(result),
      );
    }
    // Without a command, an empty or blank first argument is named as such too (was "unknown command ''").
    for (const first of ["", "  "]) {
      const result = await runPflow([first], { env });
      assertExit(result, 2);
      assert.equal(
        result.stderr,
        "error: the first argument is empty: give a command, a workflow file, a saved workflow or a request in " +
          "quotes (pflow \"what you want done\")\nRun 'pflow --help' for usage.\n",
        explain(result),
      );
    }
  });
});

// ---------------------------------------------------------------- follow-ups

Deno.test("SIGINT while waiting for piped stdin ends as interrupted (exit 130, one JSON document, result null)", async () => {
  await withHome(async (dir, env) => {
    const file = writeWorkflow(dir, "reads.json", workflow([{ id: "a", type: "echo", params: { value: "${stdin}" } }]));
    const child = spawn(PFLOW_BIN, ["run", file, "--output-format", "json"], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    child.stdout!.on("data", (d) => stdout += d);
    child.stderr!.resume();
    const closed = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
    await new Promise((resolve) => setTimeout(resolve, 400));
    process.kill(child.pid!, "SIGINT");
    const guard = setTimeout(() => process.kill(child.pid!, "SIGKILL"), 5000);
    const code = await closed;
    clearTimeout(guard);
    child.stdin!.destroy();
    assert.equal(code, 130);
    const doc = JSON.parse(stdout);
    assert.equal(doc.subtype, "error_interrupted");
    assert.equal(doc.is_error, true);
    // The workflow never started: no outputs, not empty ones.
    assert.equal(doc.result, null);
    assert.equal(doc.num_nodes, 0);
  });
});

Deno.test("JSON mode: an unknown flag still yields one JSON document on stdout", async () => {
  await withHome(async (dir, env) => {
    const file = writeWorkflow(dir, "ok.json", workflow([{ id: "a", type: "echo" }]));
    for (const args of [["run", "--json", "--bogus", file], ["run", file, "--output-format=json", "--nope"]]) {
      const result = await runPflow(args, { env });
      assertExit(result, 2);
      const doc = oneJson(result);
      assert.equal(doc.subtype, "error_validation");
      assert.match((doc.error as { message: string }).message, /unknown flag '--(bogus|nope)'/);
    }
  });
});

Deno.test("--verbose adds the stack trace of a node that threw", async () => {
  await withHome(async (dir, env) => {
    const file = writeWorkflow(
      dir,
      "throws.json",
      workflow([{ id: "r", type: "read-file", params: { path: "/no/such/f" } }]),
    );
    const plain = await runPflow(["run", file], { env });
    const verbose = await runPflow(["run", file, "--verbose"], { env });
    assertExit(plain, 1);
    assertExit(verbose, 1);
    assert.doesNotMatch(plain.stderr, /\n\s+at /);
    assert.match(verbose.stderr, /NodeError: .*not found[\s\S]*\n\s+at /);
  });
});

Deno.test("JSON mode: a bad --log-format or PFLOW_LOG_LEVEL still yields one JSON document", async () => {
  await withHome(async (dir, env) => {
    const file = writeWorkflow(dir, "ok.json", workflow([{ id: "a", type: "echo" }]));
    const format = await runPflow(["run", file, "--output-format", "json", "--log-format", "xml"], { env });
    assertExit(format, 2);
    assert.match((oneJson(format).error as { message: string }).message, /--log-format must be 'text' or 'json'/);
    const level = await runPflow(["run", file, "--output-format", "json"], {
      env: { ...env, PFLOW_LOG_LEVEL: "loud" },
    });
    assertExit(level, 2);
    assert.equal(oneJson(level).subtype, "error_validation");
  });
});

Deno.test("-o: a store path no node declares exits 2 before anything runs; one the run did not produce exits 1", async () => {
  await withHome(async (dir, env) => {
    const marker = join(dir, "ran");
    const file = writeWorkflow(
      dir,
      "branch.json",
      workflow([
        { id: "touch", type: "shell", params: { command: `touch '${marker}'` } },
        { id: "skipped", type: "echo", params: { value: "x" } },
      ], { edges: [{ from: "touch", to: "skipped", action: "error" }] }), // taken only if 'touch' fails
    );
    const bad = await runPflow(["run", file, "-o", "touch.nope"], { env });
    assertExit(bad, 2);
    assert.match(
      bad.stderr,
      /--output-key 'touch.nope': node 'touch' has no output 'nope'; outputs: stdout, stderr, exit_code/,
    );
    assert.equal(existsSync(marker), false, "nothing ran");
    const missing = await runPflow(["run", file, "-o", "skipped.output"], { env });
    assertExit(missing, 1);
    assert.match(missing.stderr, /--output-key 'skipped.output' was not produced by this run/);
  });
});

Deno.test("a secret with characters JSON escapes is redacted from JSON output too", async () => {
  await withHome(async (dir, env) => {
    const file = writeWorkflow(
      dir,
      "q.json",
      workflow([{ id: "s", type: "shell", params: { command: "printf '%s' \"$MY_API_KEY\"" } }]),
    );
    const secret = 'ab"cdef123';
    for (const args of [["--output-format", "json"], []]) {
      const result = await runPflow(["run", file, ...args], { env: { ...env, MY_API_KEY: secret } });
      assertExit(result, 0);
      assert.ok(!result.stdout.includes(secret) && !result.stdout.includes('ab\\"cdef123'), result.stdout);
      assert.match(result.stdout, /\[REDACTED\]/);
    }
  });
});
