/**
 * The CLI does what a user types, through the compiled binary: global flags
 * before the command, saved names as commands, did-you-mean over commands,
 * files and saved workflows, params typed by declared inputs, unknown keys,
 * negative flag values, help for every command and flag, `pflow validate`,
 * `pflow completion` (exercised in bash, zsh and fish) and live progress on
 * a terminal.
 * @module
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  type CliResult,
  PFLOW_BIN,
  ROOT,
  runPflow,
  type TempHome,
  withTempHome,
  workflow,
  writeWorkflow,
} from "./support/cli.ts";
import { RUN_FLAGS } from "../src/cli/run_command.ts";
import { PLAN_FLAGS } from "../src/cli/plan_command.ts";
import { documentedFlags } from "../src/cli/completion_command.ts";
import { SUBCOMMAND_FLAGS } from "../src/cli/subcommand_flags.ts";
import { COMMANDS } from "../src/cli/command.ts";

type Ctx = TempHome;

function withHome(fn: (ctx: Ctx) => Promise<void> | void): Promise<void> {
  return withTempHome(fn, "pflow-usage-test-");
}

function explain(r: CliResult | { status: number | null; stdout: string; stderr: string }): string {
  const code = "code" in r ? r.code : r.status;
  return `exit ${code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
}

/** Greets; a declared string input, a number input with a default, one output. */
const GREET = workflow([{ id: "a", type: "echo", params: { value: "${title} ${name} x${n}" } }], {
  name: "greet",
  inputs: {
    name: { type: "string", description: "Who" },
    title: { type: "string", default: "Dr" },
    n: { type: "integer", default: 1 },
  },
  outputs: { text: { source: "${a.output}" } },
});

const FAILING = workflow([{ id: "boom", type: "shell", params: { command: "echo oops >&2; exit 3" } }]);

Deno.test("global flags work before the command: -v, --output-format json, --json", async () => {
  await withHome(async ({ dir, env }) => {
    const failing = writeWorkflow(dir, "fail.json", FAILING);
    const verbose = await runPflow(["-v", "run", failing], { env });
    assert.equal(verbose.code, 1, explain(verbose));
    assert.match(verbose.stderr, /\n\s+at /, "-v before the command shows the stack");
    // -v in a group of short flags is -v too, as the parser reads it; `-ov` is the output key 'v'.
    const grouped = await runPflow(["run", failing, "-vo", "boom.stdout"], { env });
    assert.equal(grouped.code, 1, explain(grouped));
    assert.match(grouped.stderr, /\n\s+at /, "-vo shows the stack");
    const file = writeWorkflow(dir, "greet.json", GREET);
    for (
      const args of [
        ["--output-format", "json", "run", file, "name=Ada"],
        ["--output-format=json", file, "name=Ada"],
        ["--json", "-v", "run", file, "name=Ada"],
        // The shorthand after `--` (a file or name that could pass for a flag) keeps the global flags before it.
        ["--json", "--", file, "name=Ada"],
        ["-v", "--output-format", "json", "--", file, "name=Ada"],
      ]
    ) {
      const result = await runPflow(args, { env });
      assert.equal(result.code, 0, `${args.join(" ")}\n${explain(result)}`);
      assert.deepEqual(JSON.parse(result.stdout).result, { text: "Dr Ada x1" }, args.join(" "));
    }
    const list = await runPflow(["--json", "workflow", "list"], { env });
    assert.equal(list.code, 0, explain(list));
    assert.deepEqual(JSON.parse(list.stdout), []);
    // Commands with subcommands take them too: the flags go after the subcommand.
    for (
      const args of [
        ["--json", "trace", "list"],
        ["--output-format", "json", "trace", "list"],
        [
          "--json",
          "cost",
          "report",
        ],
        ["-v", "cost", "report"],
        ["-v", "trace", "list"],
        ["--json", "workflow", "list"],
      ]
    ) {
      const result = await runPflow(args, { env });
      assert.equal(result.code, 0, `${args.join(" ")}\n${explain(result)}`);
      if (args.includes("--json") || args.includes("json")) JSON.parse(result.stdout);
    }
    const help = await runPflow(["-h", "run"], { env });
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^Run a workflow file or a saved workflow/);
    const alone = await runPflow(["-v"], { env });
    assert.equal(alone.code, 2, "global flags without a command: the usage, exit 2");
    assert.match(alone.stderr, /Usage:/);
    assert.equal(alone.stdout, "", "usage instead of a command is an error: stderr");
  });
});

Deno.test("a run's flags before a command's name: moved after it when it takes them, else exit 2 naming both; before a request, the planner's", async () => {
  await withHome(async ({ dir, home, env }) => {
    const file = writeWorkflow(dir, "greet.json", GREET);
    // run and plan take every run flag: `pflow --trace run x.json` is `pflow run x.json --trace`.
    for (
      const args of [["--trace", "run", file, "name=Ada"], ["--max-budget-usd", "1", "-v", "run", file, "name=Ada"]]
    ) {
      const result = await runPflow(args, { env });
      assert.equal(result.code, 0, `${args.join(" ")}\n${explain(result)}`);
      assert.equal(result.stdout, "Dr Ada x1\n", args.join(" "));
    }
    assert.match(readFileSync(join(home, "debug", readdirSync(join(home, "debug"))[0]), "utf8"), /"greet"/);
    // A global flag before a run's flag stays there: put after it, it would take the place of its value.
    const json = await runPflow(["--json", "--max-budget-usd", "1", file, "name=Ada"], { env });
    assert.equal(json.code, 0, explain(json));
    assert.deepEqual(JSON.parse(json.stdout).result, { text: "Dr Ada x1" });
    // A flag the command takes goes after it (after its subcommand): prune's --dry-run removes nothing.
    const dry = await runPflow(["--dry-run", "trace", "prune", "--keep", "0"], { env });
    assert.equal(dry.code, 0, explain(dry));
    assert.match(dry.stderr, /^Would remove 1 trace /m);
    assert.equal(readdirSync(join(home, "debug")).length, 1);
    // One it does not take is a usage error naming the flag and the command, not 'unexpected argument'.
    for (
      const [args, message] of [
        [["--no-ledger", "trace", "list"], "'--no-ledger' is not a flag of 'pflow trace'"],
        [["--trace", "-v", "validate", file], "'--trace' is not a flag of 'pflow validate'"],
        [["--max-budget-usd", "1", "cost", "report"], "'--max-budget-usd' is not a flag of 'pflow cost'"],
      ] as const
    ) {
      const text = await runPflow([...args], { env });
      assert.equal(text.code, 2, explain(text));
      assert.equal(text.stderr.split("\n")[0], `error: ${message}`);
      const json = await runPflow(["--json", ...args], { env });
      assert.equal(json.code, 2, explain(json));
      assert.equal(JSON.parse(json.stdout).error.message, message);
    }
    // Flags before a request in plain words are the planner's: `pflow --force "…"` is `pflow plan "…" --force`.
    const force = await runPflow(["--force", "say hi to Ada"], { env });
    assert.equal(force.code, 2, explain(force));
    assert.match(force.stderr, /^error: --force needs --save NAME/);
    const planned = await runPflow(["--trace", "-v", "say hi to Ada"], { env: { ...env, ANTHROPIC_API_KEY: "" } });
    assert.equal(planned.code, 2, explain(planned));
    assert.match(planned.stderr, /^error: planner model: ANTHROPIC_API_KEY is not set/, "planned, not run as a file");
    // A file named like the request is still the workflow those flags run.
    writeFileSync(join(dir, "say hi"), JSON.stringify(workflow([{ id: "a", type: "echo", params: { value: "hi" } }])));
    const file2 = await runPflow(["--no-ledger", "say hi"], { env, cwd: dir });
    assert.equal(file2.code, 0, explain(file2));
    assert.equal(file2.stdout, "hi\n");
    // A file named like the command is still the workflow those flags run, as before.
    writeFileSync(join(dir, "run"), JSON.stringify(workflow([{ id: "a", type: "echo", params: { value: "file" } }])));
    const named = await runPflow(["--no-ledger", "run"], { env, cwd: dir });
    assert.equal(named.code, 0, explain(named));
    assert.equal(named.stdout, "file\n");
  });
});

Deno.test("JSON mode: a command whose output is no JSON refuses it (exit 2, one error document); -o FILE prints {path}", async () => {
  await withHome(async ({ dir, env }) => {
    const file = writeWorkflow(dir, "greet.json", GREET);
    const ran = await runPflow(["run", file, "name=Ada", "--trace"], { env });
    assert.equal(ran.code, 0, explain(ran));
    // Text on stdout would break the one JSON document: a usage error naming the flag as given, as JSON.
    for (
      const [args, flag, command] of [
        [["metrics", "--json"], "--json", "metrics"],
        [["metrics", "--output-format", "json"], "--output-format json", "metrics"],
        [["--json", "metrics", "serve", "--listen", "127.0.0.1:0"], "--json", "metrics serve"],
        [["completion", "zsh", "--json"], "--json", "completion"],
        [["completion", "list", "types", "--output-format=json"], "--output-format json", "completion"],
      ] as const
    ) {
      const result = await runPflow([...args], { env });
      assert.equal(result.code, 2, `${args.join(" ")}\n${explain(result)}`);
      assert.match(
        result.stderr,
        new RegExp(`^error: ${flag} is not supported by 'pflow ${command}': `),
        explain(result),
      );
      const doc = JSON.parse(result.stdout);
      assert.equal(doc.subtype, "error_validation");
      assert.match(doc.error.message, new RegExp(`^${flag} is not supported by 'pflow ${command}'`));
    }
    // A report written to a file: the one document says where (absolute), as trace show --html's html_path.
    const trace = await runPflow(["trace", "list", "--json"], { env });
    const tracePath = JSON.parse(trace.stdout)[0].path;
    for (
      const [args, name, extra] of [
        [["metrics", "--json", "-o"], "m.prom", {}],
        [["trace", "export", "latest", "--format", "otlp-json", "--output-format", "json", "-o"], "t.json", {
          trace: tracePath,
        }],
        [["cost", "report", "--json", "-o"], "c.json", {}],
      ] as const
    ) {
      const result = await runPflow([...args, name], { env, cwd: dir });
      assert.equal(result.code, 0, `${args.join(" ")}\n${explain(result)}`);
      assert.deepEqual(JSON.parse(result.stdout), { path: join(dir, name), ...extra });
      assert.ok(readFileSync(join(dir, name), "utf8").length > 0);
    }
    // Not in JSON mode: the file alone, nothing on stdout.
    const plain = await runPflow(["metrics", "-o", join(dir, "m2.prom")], { env });
    assert.equal(plain.code, 0, explain(plain));
    assert.equal(plain.stdout, "");
  });
});

Deno.test("pflow NAME k=v runs a saved workflow; an unknown word gets a did-you-mean over commands, files and saved names", async () => {
  await withHome(async ({ dir, env }) => {
    const file = writeWorkflow(dir, "greet.json", GREET);
    writeWorkflow(dir, "report.json", FAILING);
    const save = await runPflow(["workflow", "save", file, "--name", "greeter"], { env });
    assert.equal(save.code, 0, explain(save));
    const run = await runPflow(["greeter", "name=Bo", "title=Ms"], { env, cwd: dir });
    assert.equal(run.code, 0, explain(run));
    assert.equal(run.stdout, "Ms Bo x1\n");
    const cases: [string, string][] = [
      ["greetr", "greeter"],
      ["wrkflow", "workflow"],
      ["valdate", "validate"],
      ["metrix", "metrics"],
      ["reprt.json", "report.json"],
      ["reprt", "report.json"],
    ];
    for (const [typed, meant] of cases) {
      const result = await runPflow([typed], { env, cwd: dir });
      assert.equal(result.code, 2, `${typed}: ${explain(result)}`);
      assert.ok(result.stderr.includes(`(did you mean '${meant}'?)`), `${typed}: ${explain(result)}`);
    }
    const nothing = await runPflow(["zzzzqqqq"], { env, cwd: dir });
    assert.equal(nothing.code, 2);
    assert.doesNotMatch(nothing.stderr, /did you mean/);
  });
});

Deno.test("params are typed by the declared input type; untyped inputs keep the text rules", async () => {
  await withHome(async ({ dir, env }) => {
    const file = writeWorkflow(
      dir,
      "types.json",
      workflow([{ id: "a", type: "echo", params: { value: "${title}" } }], {
        inputs: {
          title: { type: "string" },
          count: { type: "number", default: 0 },
          on: { type: "boolean", default: false },
          loose: { required: false },
        },
        outputs: {
          title: { source: "${title}" },
          count: { source: "${count}" },
          on: { source: "${on}" },
          loose: { source: "${loose}" },
        },
      }),
    );
    const result = await runPflow(["run", file, "title=123", "count=2.5", "on=true", "loose=7", "--json"], { env });
    assert.equal(result.code, 0, explain(result));
    assert.deepEqual(JSON.parse(result.stdout).result, { title: "123", count: 2.5, on: true, loose: 7 });
    for (const text of ['{"a":1}', "true"]) {
      const json = await runPflow(["run", file, `title=${text}`, "--json"], { env });
      assert.equal(JSON.parse(json.stdout).result.title, text, "a string stays text");
    }
    const bad: [string, RegExp][] = [
      ["count=abc", /\/inputs\/count: input 'count' must be a number, got 'abc' \(from count=…\)/],
      ["on=yes", /\/inputs\/on: input 'on' must be true or false, got 'yes'/],
    ];
    for (const [arg, message] of bad) {
      const r = await runPflow(["run", file, "title=x", arg], { env });
      assert.equal(r.code, 2, explain(r));
      assert.match(r.stderr, message);
    }
  });
});

Deno.test("an untyped key=value is a number only when it prints back as written; a typed one never loses digits", async () => {
  await withHome(async ({ dir, env }) => {
    // No declared inputs: the shell sees what the param became.
    const untyped = writeWorkflow(
      dir,
      "untyped.json",
      workflow([{ id: "a", type: "shell", params: { command: "printf '%s' ${id}" } }], {
        outputs: { shown: { source: "${a.stdout}" }, value: { source: "${id}" } },
      }),
    );
    const cases: [string, unknown][] = [
      ["1234567890123456789", "1234567890123456789"],
      ["1.10", "1.10"],
      ["1e3", "1e3"],
      ["007", "007"],
      ["-0", "-0"],
      ["42", 42],
      ["1.5", 1.5],
      ["-7", -7],
      ["0", 0],
    ];
    for (const [text, value] of cases) {
      const r = await runPflow(["run", untyped, `id=${text}`, "--json"], { env });
      assert.equal(r.code, 0, explain(r));
      assert.deepEqual(JSON.parse(r.stdout).result, { shown: text, value }, `id=${text}`);
    }
    // A number or integer input takes the number; one with more digits than a JSON number keeps is refused.
    const typed = writeWorkflow(
      dir,
      "typed.json",
      workflow([{ id: "a", type: "echo", params: { value: "${i}" } }], {
        inputs: { i: { type: "integer" }, n: { type: "number", default: 0 } },
        outputs: { i: { source: "${i}" }, n: { source: "${n}" } },
      }),
    );
    const ok = await runPflow(["run", typed, `i=${Number.MAX_SAFE_INTEGER}`, "n=1.10", "--json"], { env });
    assert.equal(ok.code, 0, explain(ok));
    assert.deepEqual(JSON.parse(ok.stdout).result, { i: Number.MAX_SAFE_INTEGER, n: 1.1 });
    const big = await runPflow(["run", typed, "n=6.022e23", "i=1e3", "--json"], { env });
    assert.deepEqual(JSON.parse(big.stdout).result, { i: 1000, n: 6.022e23 }, explain(big));
    for (
      const arg of [
        "i=99999999999999999999",
        "i=9007199254740993",
        "n=12345678901234567890",
        "n=0.10000000000000000001",
      ]
    ) {
      const args = arg.startsWith("i=") ? [arg] : ["i=1", arg];
      const r = await runPflow(["run", typed, ...args], { env });
      assert.equal(r.code, 2, `${arg}: ${explain(r)}`);
      const key = arg[0];
      assert.equal(
        r.stderr.split("\n")[0],
        `error: ${typed}:${
          r.stderr.match(/:(\d+:\d+): /)?.[1]
        }: /inputs/${key}: input '${key}' would lose digits as a ` +
          `JSON number (exact up to 9007199254740991 for whole numbers; declare the input "type": "string" to keep ` +
          `every digit), got '${arg.slice(2)}' (from ${key}=…)`,
      );
    }
    // validate says the same.
    const validate = await runPflow(["validate", typed, "i=99999999999999999999"], { env });
    assert.equal(validate.code, 2, explain(validate));
    assert.match(validate.stderr, /input 'i' would lose digits as a JSON number/);
    // JSON given for an object input, or for a workflow without inputs, may not hold such a number either.
    const object = writeWorkflow(
      dir,
      "object.json",
      workflow([{ id: "a", type: "echo", params: { value: "${o}" } }], { inputs: { o: { type: "object" } } }),
    );
    const lossy = await runPflow(["run", object, 'o={"id": 1234567890123456789, "n": [1, 2]}'], { env });
    assert.equal(lossy.code, 2, explain(lossy));
    assert.match(
      lossy.stderr,
      /input 'o' holds 1234567890123456789 at id, which would lose digits as a JSON number; write it as a JSON string/,
    );
    const exact = await runPflow(["run", object, 'o={"id": "1234567890123456789", "n": 9007199254740991}'], { env });
    assert.equal(exact.code, 0, explain(exact));
    assert.equal(exact.stdout, '{\n  "id": "1234567890123456789",\n  "n": 9007199254740991\n}\n');
    const noInputs = writeWorkflow(
      dir,
      "untyped.json",
      workflow([{ id: "a", type: "echo", params: { value: "${o}" } }]),
    );
    const loose = await runPflow(["run", noInputs, "o=[1, 12345678901234567890123]", "--json"], { env });
    assert.equal(loose.code, 2, explain(loose));
    assert.match(
      JSON.parse(loose.stdout).error.message,
      /holds 12345678901234567890123 at \[1\], which would lose digits/,
    );
    // Under a secret's name the number is not quoted.
    const secret = await runPflow(["run", noInputs, 'o={"api_key": 12345678901234567890}'], { env });
    assert.equal(secret.code, 2, explain(secret));
    assert.doesNotMatch(secret.stderr, /12345678901234567890/);
  });
});

Deno.test("a key=value that is not a declared input is an error with did-you-mean; without declared inputs it joins the store", async () => {
  await withHome(async ({ dir, env }) => {
    const file = writeWorkflow(dir, "greet.json", GREET);
    const typo = await runPflow(["run", file, "nmae=Ada"], { env });
    assert.equal(typo.code, 2, explain(typo));
    assert.match(
      typo.stderr,
      /'nmae=…' is not an input of this workflow \(did you mean 'name'\?\); inputs: name, title, n/,
    );
    assert.equal(typo.stdout, "");
    const json = await runPflow(["run", file, "name=Ada", "nmae=Ada", "--json"], { env });
    assert.equal(json.code, 2);
    assert.equal(JSON.parse(json.stdout).subtype, "error_validation");
    const bare = writeWorkflow(dir, "bare.json", workflow([{ id: "a", type: "echo", params: { value: "fine" } }]));
    const ok = await runPflow(["run", bare, "who=7"], { env });
    assert.equal(ok.code, 0, explain(ok));
    assert.equal(ok.stdout, "fine\n");
  });
});

Deno.test("a key=value named like a node of a workflow without inputs, or a key given twice, exits 2 naming it", async () => {
  await withHome(async ({ dir, env }) => {
    const bare = writeWorkflow(dir, "bare.json", workflow([{ id: "a", type: "echo", params: { value: "${u}" } }]));
    const clash = await runPflow(["run", bare, "a=5", "u=1"], { env });
    assert.equal(clash.code, 2, explain(clash));
    assert.equal(clash.stdout, "");
    assert.match(
      clash.stderr,
      /bare\.json:\d+:\d+: \/nodes\/0\/id: 'a=…' was given, but 'a' is this node's id: the value and the node's outputs would share one name; give the value another name \(or rename the node\)/,
    );
    const checked = await runPflow(["validate", bare, "a=5", "u=1"], { env });
    assert.equal(checked.code, 2, explain(checked));
    assert.match(checked.stderr, /'a=…' was given, but 'a' is this node's id/);
    // With namespacing off the node writes its outputs at the root, not under its id: no clash.
    const flat = writeWorkflow(
      dir,
      "flat.json",
      workflow([{ id: "a", type: "echo", params: { value: "${a}" } }], { enable_namespacing: false }),
    );
    const fine = await runPflow(["run", flat, "a=5"], { env });
    assert.equal(fine.code, 0, explain(fine));
    assert.equal(fine.stdout, "5\n");

    for (const command of ["run", "validate"]) {
      const twice = await runPflow([command, bare, "u=abc", "u=def"], { env });
      assert.equal(twice.code, 2, explain(twice));
      assert.equal(twice.stdout, "");
      assert.match(twice.stderr, /^error: param 'u' given twice; give each key=value once$/m);
      assert.doesNotMatch(twice.stderr, /abc|def/, "values are not shown (one may be a secret)");
    }
  });
});

Deno.test("a flag that takes one value given twice exits 2 naming it, in every command; a boolean may repeat", async () => {
  await withHome(async ({ dir, env }) => {
    const file = writeWorkflow(dir, "greet.json", GREET);
    const cases: [string[], string, string][] = [
      [
        ["cost", "report", "--status", "success", "--status", "failed"],
        "--status",
        " (several values comma-separated: --status A,B)",
      ],
      [
        ["trace", "list", "--status=success", "--status", "failed"],
        "--status",
        " (several values comma-separated: --status A,B)",
      ],
      [["cost", "report", "--by", "day", "--by=model"], "--by", ""],
      [["run", file, "name=Ada", "-o", "text", "-otext"], "-o", ""],
      [["run", file, "name=Ada", "--output-key", "text", "-o", "text"], "-o", ""],
      [["metrics", "--since", "7d", "--since", "1d"], "--since", ""],
      [["--output-format", "json", "workflow", "list", "--output-format", "text"], "--output-format", ""],
    ];
    for (const [args, flag, hint] of cases) {
      const result = await runPflow(args, { env });
      assert.equal(result.code, 2, `${args.join(" ")}\n${explain(result)}`);
      assert.equal(
        result.stderr.split("\n")[0],
        `error: flag '${flag}' given twice; give it once${hint}`,
        args.join(" "),
      );
      // In JSON mode, the error document.
      const json = await runPflow([...args, "--json"], { env });
      assert.equal(json.code, 2, explain(json));
      assert.match(JSON.parse(json.stdout).error.message, new RegExp(`^flag '${flag}' given twice`));
    }
    // Booleans (and the global ones before and after the command) may repeat: no value is lost.
    const repeated = await runPflow(["--json", "-v", "run", file, "name=Ada", "--json", "-v"], { env });
    assert.equal(repeated.code, 0, explain(repeated));
    assert.deepEqual(JSON.parse(repeated.stdout).result, { text: "Dr Ada x1" });
  });
});

Deno.test("plan: a bad --max-node-executions is a usage error before any planner call", async () => {
  await withHome(async ({ env }) => {
    // A provider that cannot be reached: a planner call would fail otherwise, not with the flag's message.
    const planEnv = {
      ...env,
      ANTHROPIC_API_KEY: "sk-ant-test-0000000000",
      ANTHROPIC_BASE_URL: "http://127.0.0.1:9/v1",
    };
    for (const value of ["0", "-5", "abc"]) {
      const result = await runPflow(["plan", "repeat hi", "--max-node-executions", value], { env: planEnv });
      assert.equal(result.code, 2, explain(result));
      assert.match(
        result.stderr,
        new RegExp(`^error: --max-node-executions must be a positive whole number, got '${value}'$`, "m"),
      );
      assert.equal(result.stdout, "");
    }
  });
});

Deno.test("negative numbers as flag values reach the flag's own check", async () => {
  await withHome(async ({ dir, env }) => {
    const file = writeWorkflow(dir, "greet.json", GREET);
    for (const args of [["--max-budget-usd", "-1"], ["--max-budget-usd=-1"]]) {
      const result = await runPflow(["run", file, "name=x", ...args], { env });
      assert.equal(result.code, 2, explain(result));
      assert.match(result.stderr, /--max-budget-usd must be ≥ 0 \(US dollars, e\.g\. 0\.50\), got '-1'/);
      assert.doesNotMatch(result.stderr, /takes no value/);
    }
    const limit = await runPflow(["trace", "list", "--limit", "-5"], { env });
    assert.equal(limit.code, 2, explain(limit));
    assert.match(limit.stderr, /--limit must be a positive whole number, got '-5'/);
    const ok = await runPflow(["run", file, "name=x", "--max-budget-usd", "0.5"], { env });
    assert.equal(ok.code, 0, explain(ok));
  });
});

Deno.test("number flags: the message names the real problem; exponent form is a number", async () => {
  await withHome(async ({ dir, env }) => {
    const file = writeWorkflow(dir, "greet.json", GREET);
    const cases: [string[], RegExp][] = [
      [
        ["--max-node-executions", "9007199254740992"],
        /^error: --max-node-executions must be at most 9007199254740991 \(2\^53-1\), got '9007199254740992'$/m,
      ],
      [["--max-budget-usd", "1e999"], /^error: --max-budget-usd must be a finite number, got '1e999'$/m],
      [
        ["--max-budget-usd", "-1e-3"],
        /^error: --max-budget-usd must be ≥ 0 \(US dollars, e\.g\. 0\.50\), got '-1e-3'$/m,
      ],
      [
        ["--max-budget-usd", "0x10"],
        /^error: --max-budget-usd must be a number of US dollars ≥ 0 \(e\.g\. 0\.50 or 1e-3\), got '0x10'$/m,
      ],
    ];
    for (const [flags, message] of cases) {
      const result = await runPflow(["run", file, "name=x", ...flags], { env });
      assert.equal(result.code, 2, explain(result));
      assert.match(result.stderr, message);
    }
    for (const budget of ["1e-3", "2.5E2", "0", "1."]) {
      const ok = await runPflow(["run", file, "name=x", "--max-budget-usd", budget], { env });
      assert.equal(ok.code, 0, `${budget}: ${explain(ok)}`);
    }
    const max = await runPflow(["run", file, "name=x", "--max-node-executions", "9007199254740991"], { env });
    assert.equal(max.code, 0, explain(max));
  });
});

Deno.test("an unknown flag gets a did-you-mean from the command's own flags, or the subcommand that takes it", async () => {
  await withHome(async ({ dir, env }) => {
    const file = writeWorkflow(dir, "greet.json", GREET);
    const cases: [string[], string][] = [
      [["run", file, "--max-budget", "1"], "unknown flag '--max-budget' (did you mean '--max-budget-usd'?)"],
      [["run", file, "--max-budget=1"], "unknown flag '--max-budget' (did you mean '--max-budget-usd'?)"],
      [[file, "--trcae"], "unknown flag '--trcae' (did you mean '--trace'?)"],
      [["workflow", "save", file, "--nam", "greet"], "unknown flag '--nam' (did you mean '--name'?)"],
      [["trace", "list", "--limt", "5"], "unknown flag '--limt' (did you mean '--limit'?)"],
      [["cost", "report", "--sinc", "7d"], "unknown flag '--sinc' (did you mean '--since'?)"],
      // Nothing close (and no guess among one-letter flags): the flag alone.
      [["run", file, "--nam"], "unknown flag '--nam'\n"],
      [["run", file, "-z"], "unknown flag '-z'\n"],
      // A subcommand refuses its siblings' flags, naming the one that takes it.
      [
        ["workflow", "list", "--name", "x"],
        "'--name' is a flag of 'pflow workflow save', not of 'pflow workflow list'\n",
      ],
      [
        ["workflow", "show", "greet", "--force"],
        "'--force' is a flag of 'pflow workflow save', not of 'pflow workflow show'\n",
      ],
      [
        ["workflow", "delete", "greet", "--description=d"],
        "'--description' is a flag of 'pflow workflow save', not of 'pflow workflow delete'\n",
      ],
      [["trace", "list", "--html"], "'--html' is a flag of 'pflow trace show', not of 'pflow trace list'\n"],
      [["trace", "list", "--keep", "3"], "'--keep' is a flag of 'pflow trace prune', not of 'pflow trace list'\n"],
      [["trace", "prune", "--limit=2"], "'--limit' is a flag of 'pflow trace list', not of 'pflow trace prune'\n"],
      [
        ["cost", "show", "latest", "--by", "model"],
        "'--by' is a flag of 'pflow cost report', not of 'pflow cost show'\n",
      ],
      // A flag no subcommand takes is unknown.
      [["cost", "report", "--listen", "1"], "unknown flag '--listen'\n"],
    ];
    for (const [args, message] of cases) {
      const result = await runPflow(args, { env });
      assert.equal(result.code, 2, explain(result));
      assert.ok(result.stderr.includes(`error: ${message}`), `${args.join(" ")}: ${explain(result)}`);
    }
  });
});

Deno.test("--json with --output-format text is a usage error naming both, in every command", async () => {
  await withHome(async ({ dir, env }) => {
    const file = writeWorkflow(dir, "greet.json", GREET);
    for (
      const args of [
        ["run", file, "name=x", "--json", "--output-format", "text"],
        ["--output-format=text", file, "name=x", "--json"],
        ["workflow", "list", "--output-format", "text", "--json"],
        ["trace", "list", "--json", "--output-format=text"],
        ["cost", "report", "--json", "--output-format", "text"],
      ]
    ) {
      const result = await runPflow(args, { env });
      assert.equal(result.code, 2, explain(result));
      assert.match(
        result.stderr,
        /^error: --json contradicts --output-format text; give one of them$/m,
        explain(result),
      );
    }
    // The same mode twice is no contradiction.
    const same = await runPflow(["run", file, "name=x", "--json", "--output-format", "json"], { env });
    assert.equal(same.code, 0, explain(same));
    assert.equal(JSON.parse(same.stdout).is_error, false);
  });
});

Deno.test("JSON mode: --version and help asked for are one JSON document; a missing subcommand is an error document", async () => {
  await withHome(async ({ env }) => {
    const version = await runPflow(["--version", "--json"], { env });
    assert.equal(version.code, 0, explain(version));
    const { version: expected } = JSON.parse(readFileSync(join(import.meta.dirname!, "..", "deno.json"), "utf8"));
    assert.deepEqual(JSON.parse(version.stdout), { name: "pflow", version: expected });
    for (
      const [args, command] of [
        [["--help", "--json"], null],
        [["run", "--help", "--output-format", "json"], "run"],
        [["help", "cost", "--json"], "cost"],
        [["trace", "list", "--help", "--json"], "trace"],
        [["--json", "workflow", "--help"], "workflow"],
      ] as const
    ) {
      const result = await runPflow([...args], { env });
      assert.equal(result.code, 0, explain(result));
      const doc = JSON.parse(result.stdout);
      assert.equal(doc.command, command, explain(result));
      assert.match(doc.help, /Usage:/);
      assert.equal(result.stderr, "");
    }
    // Help shown for a missing subcommand is a usage error: stderr in text mode, an error document in JSON mode.
    for (const command of ["trace", "cost", "workflow", "pricing", "registry"]) {
      const text = await runPflow([command], { env });
      assert.equal(text.code, 2, explain(text));
      assert.equal(text.stdout, "", explain(text));
      assert.match(text.stderr, /Usage:/);
      for (const args of [[command, "--json"], ["--json", command], [command, "--output-format", "json"]]) {
        const json = await runPflow(args, { env });
        assert.equal(json.code, 2, explain(json));
        const doc = JSON.parse(json.stdout);
        assert.equal(doc.subtype, "error_validation");
        assert.equal(doc.error.message, `missing ${command} command`, explain(json));
      }
    }
    // Global flags between a command and its subcommand move after the subcommand.
    const list = await runPflow(["trace", "--json", "list"], { env });
    assert.equal(list.code, 0, explain(list));
    assert.deepEqual(JSON.parse(list.stdout), []);
  });
});

Deno.test("every help text fits 80 columns; a wrapped flag's description goes on under its description column", async () => {
  for (const args of [["--help"], ...COMMANDS.map((c) => c === "help" ? ["help"] : [c, "--help"])]) {
    const result = await runPflow(args);
    assert.equal(result.code, 0, `${args.join(" ")}: ${explain(result)}`);
    for (const line of result.stdout.split("\n")) {
      assert.ok([...line].length <= 80, `'pflow ${args.join(" ")}': ${[...line].length} columns: ${line}`);
    }
    const command = args[0] === "--help" || args[0] === "help" ? "" : args[0];
    const flags = documentedFlags(command);
    for (const flag of flags) assert.match(flag.description, /^\S.{8,}$/, `${command} ${flag.long}`);
    // A continuation line is indented to the description column (29), and is never read as a flag of its own.
    const lines = result.stdout.split("\n");
    for (const [i, line] of lines.entries()) {
      if (!/^ {29}\S/.test(line)) continue;
      assert.match(lines[i - 1], /^ {2,}(?:-|\s{27})/, `'pflow ${args.join(" ")}': ${line} follows no flag`);
      assert.doesNotMatch(line, /^ +--?[a-z]/, `'pflow ${args.join(" ")}': ${line}`);
    }
  }
});

Deno.test("help: `pflow help --help` works and every command's help lists every flag it accepts", async () => {
  const help = await runPflow(["help", "--help"]);
  assert.equal(help.code, 0, explain(help));
  assert.match(help.stdout, /pflow help COMMAND|Usage:/);
  const named = await runPflow(["help", "validate"]);
  assert.equal(named.code, 0);
  assert.match(named.stdout, /^Check a workflow without running anything/);
  for (const command of COMMANDS.filter((c) => c !== "help")) {
    const result = await runPflow([command, "--help"]);
    assert.equal(result.code, 0, `${command}: ${explain(result)}`);
    assert.ok(result.stdout.includes("Flags:"), `${command} --help has a Flags section`);
  }
  const documented = (command: string) => new Set(documentedFlags(command).map((f) => f.long));
  // A flag its Usage lines show is in its Flags section too (completion offers what that section lists).
  for (const command of COMMANDS.filter((c) => c !== "help")) {
    const text = (await runPflow([command, "--help"])).stdout;
    const usage = text.slice(text.indexOf("Usage:"), text.indexOf("\n\n", text.indexOf("Usage:")));
    for (const [flag] of usage.matchAll(/--[a-z][\w-]*/g)) {
      assert.ok(documented(command).has(flag), `'${command} --help' shows ${flag} in Usage but not under Flags`);
    }
  }
  for (const [command, flags] of [["run", RUN_FLAGS], ["plan", PLAN_FLAGS]] as const) {
    for (const name of Object.keys(flags)) {
      assert.ok(documented(command).has(`--${name}`), `'${command} --help' does not list --${name}`);
    }
  }
  const trace = await runPflow(["trace", "--help"]);
  const flagsSection = trace.stdout.slice(trace.stdout.indexOf("Flags:"));
  for (
    const flag of ["--json", "--limit", "--node", "--state", "--format", "--output", "--html", "--open", "--verbose"]
  ) {
    assert.ok(flagsSection.includes(flag), `trace --help lacks ${flag} under Flags:\n${trace.stdout}`);
  }
  // The global flags: every help lists --help and --verbose; JSON mode's two exactly where the command takes them.
  for (const command of COMMANDS.filter((c) => c !== "help")) {
    const names = documented(command);
    for (const flag of ["--help", "--verbose"]) assert.ok(names.has(flag), `'${command} --help' lacks ${flag}`);
    const json = command !== "completion";
    for (const flag of ["--output-format", "--json"]) {
      assert.equal(names.has(flag), json, `'${command} --help' ${json ? "lacks" : "lists"} ${flag}`);
    }
  }
  await withHome(async ({ dir, env }) => {
    const file = writeWorkflow(dir, "greet.json", GREET);
    const invocations: Record<string, string[]> = {
      run: [file, "name=x"],
      plan: ["say hi"],
      validate: [file],
      workflow: ["list"],
      registry: ["list"],
      pricing: ["show"],
      trace: ["list"],
      cost: ["report"],
      metrics: ["-o", join(dir, "m.prom")],
      completion: ["bash"],
    };
    for (const command of COMMANDS.filter((c) => c !== "help")) {
      const args = invocations[command];
      assert.ok(args !== undefined, `an invocation of '${command}' to try --json with`);
      const result = await runPflow([command, ...args, "--json"], { env });
      const refused = /unknown flag|is not supported/.test(result.stderr);
      assert.equal(refused, !documented(command).has("--json"), `${command} --json: ${explain(result)}`);
    }
  });
  // Completion's table of each subcommand's flags is what the subcommand accepts: its flags and the global
  // ones pass the parser, the command's other documented flags are refused.
  await withHome(async ({ dir, env }) => {
    const refusal = /unknown flag|is not a flag of|is a flag of/;
    for (const [key, own] of Object.entries(SUBCOMMAND_FLAGS)) {
      const [command, sub] = key.split(" ");
      for (const flag of documentedFlags(command)) {
        if (flag.long === "--help") continue;
        const args = [command, sub, flag.value ? `${flag.long}=x` : flag.long];
        // A server that starts took its flags: it is stopped (on a port of its own, not the default).
        if (key === "metrics serve" && flag.long !== "--listen") args.push("--listen=127.0.0.1:0");
        // In the test's dir: `cost report --output=x` writes its report there, not into the repository.
        const result = await runPflow(args, {
          env,
          cwd: dir,
          onSpawn: (child) => {
            const stop = setTimeout(() => child.kill("SIGTERM"), 3000);
            child.on("close", () => clearTimeout(stop));
          },
        });
        const takes = own.includes(flag.long) || ["--verbose", "--output-format", "--json"].includes(flag.long);
        assert.equal(!refusal.test(result.stderr), takes, `${args.join(" ")}: ${explain(result)}`);
      }
    }
  });
  // Every documented flag is one the command accepts.
  await withHome(async ({ env }) => {
    for (const command of ["run", "plan", "validate", "workflow", "pricing", "registry"]) {
      for (const flag of documentedFlags(command)) {
        const args = flag.value ? [command, `${flag.long}=x`] : [command, flag.long];
        const result = await runPflow(args, { env });
        assert.doesNotMatch(result.stderr, /unknown flag/, `${command} ${flag.long}: ${result.stderr}`);
      }
    }
  });
});

Deno.test("pflow validate: the same messages, exit codes and JSON problem list as run; nothing runs", async () => {
  await withHome(async ({ dir, env }) => {
    const marker = join(dir, "ran");
    const good = writeWorkflow(
      dir,
      "good.json",
      workflow([{ id: "touch", type: "shell", params: { command: `touch '${marker}'` } }], {
        inputs: { who: { type: "string" } },
      }),
    );
    const ok = await runPflow(["validate", good], { env });
    assert.equal(ok.code, 0, explain(ok));
    assert.equal(ok.stdout, `✓ ${good} is valid (1 node)\n`);
    assert.ok(!existsSync(marker), "validate runs nothing");
    const okJson = await runPflow(["validate", good, "--output-format", "json"], { env });
    assert.equal(okJson.code, 0);
    const okDoc = JSON.parse(okJson.stdout);
    assert.deepEqual(
      { type: okDoc.type, valid: okDoc.valid, is_error: okDoc.is_error, problems: okDoc.problems, error: okDoc.error },
      { type: "validation", valid: true, is_error: false, problems: [], error: null },
    );
    // With params, inputs are checked as run checks them.
    const params = await runPflow(["validate", good, "whoo=x"], { env });
    assert.equal(params.code, 2, explain(params));
    assert.match(params.stderr, /'whoo=…' is not an input of this workflow \(did you mean 'who'\?\)/);
    const bad = writeWorkflow(
      dir,
      "bad.json",
      `{
  "ir_version": "0.1.0",
  "nodes": [
    { "id": "a", "type": "shell", "params": { "comand": "ls" }, "purpos": "x" },
    { "id": "b", "type": "echo", "params": { "value": "\${a.stdot}" } }
  ],
  "edges": [{ "from": "a", "to": "c" }]
}`,
    );
    const run = await runPflow(["run", bad, "--json"], { env });
    const validate = await runPflow(["validate", bad, "--json"], { env });
    assert.equal(run.code, 2);
    assert.equal(validate.code, 2, explain(validate));
    const runProblems = JSON.parse(run.stdout).error.problems;
    const doc = JSON.parse(validate.stdout);
    assert.equal(doc.valid, false);
    assert.deepEqual(doc.problems, runProblems);
    assert.deepEqual(doc.error.problems, runProblems);
    assert.ok(runProblems.length >= 5, JSON.stringify(runProblems));
    const text = await runPflow(["validate", bad], { env });
    const runText = await runPflow(["run", bad], { env });
    assert.equal(text.stderr, runText.stderr, "the same lines as run");
    const missing = await runPflow(["validate", join(dir, "nope.json"), "--json"], { env });
    assert.equal(missing.code, 2);
    assert.match(JSON.parse(missing.stdout).error.message, /nope\.json: cannot read workflow: file not found/);
    const usage = await runPflow(["validate"], { env });
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /missing workflow: pflow validate FILE\.json\|NAME/);
  });
});

/** Runs a bash completion of `words` (the last one being completed) and returns the candidates. */
function bashComplete(ctx: Ctx, words: string[]): string[] {
  const script = `
source <("$PFLOW" completion bash)
COMP_WORDS=(${words.map((w) => `'${w.replaceAll("'", "'\\''")}'`).join(" ")})
COMP_CWORD=${words.length - 1}
_pflow
printf '%s\\n' "\${COMPREPLY[@]}"
`;
  const result = spawnSync("bash", ["-c", script], {
    cwd: ctx.dir,
    env: { PATH: `${join(ROOT, "dist")}:${process.env.PATH}`, PFLOW: PFLOW_BIN, ...ctx.env },
    encoding: "utf8",
  });
  assert.equal(result.status, 0, explain(result));
  return result.stdout.split("\n").filter(Boolean);
}

/** The rc file of the interactive bash: the script, and Ctrl-X writing the line to $BCOMP_OUT.N. */
const BASH_RC = `PS1=
source <(pflow completion bash)
declare -i bcomp_n=1
_bcomp_line() { printf '%s\\n' "$READLINE_LINE" > "$BCOMP_OUT.$bcomp_n"; bcomp_n+=1; }
bind -x '"\\C-x": _bcomp_line'
`;

/** Drives an interactive bash in a pseudo-terminal (zsh/zpty): types each argument, a TAB, then Ctrl-X. */
const BASH_DRIVER = `zmodload zsh/zpty
zpty b bash --noprofile --rcfile "$BCOMP_RC" -i
integer n=0
for line in "$@"; do
  (( n++ ))
  zpty -w -n b "$line"$'\\t\\C-x'
  for i in {1..400}; do [[ -s $BCOMP_OUT.$n ]] && break; sleep 0.05; done
  [[ -s $BCOMP_OUT.$n ]] || { print -u2 "bash did not complete '$line'"; exit 1 }
  zpty -w -n b $'\\C-a\\C-k'
done
zpty -d b
`;

/** The line an interactive bash makes of each of `lines` on a TAB. */
function bashTyped(ctx: Ctx, lines: string[]): string[] {
  const driver = join(ctx.dir, "bash_complete.zsh");
  const out = join(ctx.dir, "bash_complete.out");
  writeFileSync(driver, BASH_DRIVER);
  writeFileSync(`${driver}.rc`, BASH_RC);
  const result = spawnSync("zsh", ["-f", driver, ...lines], {
    cwd: ctx.dir,
    env: {
      PATH: `${join(ROOT, "dist")}:${process.env.PATH}`,
      HOME: ctx.dir,
      ...ctx.env,
      BCOMP_OUT: out,
      BCOMP_RC: `${driver}.rc`,
    },
    encoding: "utf8",
    timeout: 60_000,
  });
  assert.equal(result.status, 0, explain(result));
  return lines.map((_, i) => readFileSync(`${out}.${i + 1}`, "utf8").replace(/\n$/, ""));
}

/**
 * Drives an interactive zsh in a pseudo-terminal (zsh/zpty): loads compinit and the script, then
 * for each argument types it and a TAB; the candidates completion N adds go to $ZCOMP_OUT.N.
 */
const ZSH_DRIVER = `zmodload zsh/zpty
zpty z zsh -f -i
zpty -w z 'PROMPT='
zpty -w z 'autoload -Uz compinit && compinit -u -D'
zpty -w z 'source <(pflow completion zsh)'
zpty -w z 'integer zcomp_n=1'
zpty -w z 'compadd() { local -a hits; if (( \${@[(I)-[OAD]]} )); then builtin compadd "$@"; return; fi;
  builtin compadd -A hits "$@"; print -rl -- $hits >> $ZCOMP_OUT.$zcomp_n; builtin compadd "$@" }'
zpty -w z 'zcomp() { zle complete-word; : >> $ZCOMP_OUT.$zcomp_n.done; (( zcomp_n++ )) }; zle -N zcomp; bindkey "^I" zcomp'
integer n=0
for line in "$@"; do
  (( n++ ))
  zpty -w -n z "$line"$'\\t'
  for i in {1..400}; do [[ -e $ZCOMP_OUT.$n.done ]] && break; sleep 0.05; done
  [[ -e $ZCOMP_OUT.$n.done ]] || { print -u2 "zsh did not complete '$line'"; exit 1 }
  zpty -w -n z $'\\C-u'
done
zpty -d z
`;

/** The candidates zsh's completion offers for each of `lines` (completing at its end). */
function zshComplete(ctx: Ctx, env: Record<string, string>, lines: string[]): string[][] {
  const driver = join(ctx.dir, "zsh_complete.zsh");
  const out = join(ctx.dir, "zsh_complete.out");
  writeFileSync(driver, ZSH_DRIVER);
  const result = spawnSync("zsh", ["-f", driver, ...lines], {
    cwd: ctx.dir,
    env: { ...env, ZCOMP_OUT: out },
    encoding: "utf8",
    timeout: 60_000,
  });
  assert.equal(result.status, 0, explain(result));
  return lines.map((_, i) => {
    const file = `${out}.${i + 1}`;
    return existsSync(file) ? [...new Set(readFileSync(file, "utf8").split("\n").filter(Boolean))] : [];
  });
}

function requireShell(name: string): void {
  const found = spawnSync("sh", ["-c", `command -v ${name}`]).status === 0;
  assert.ok(found, `${name} is needed for the completion test: apt-get install ${name} (.ci/run installs it)`);
}

async function completionFixture(ctx: Ctx): Promise<void> {
  writeWorkflow(ctx.dir, "local.json", workflow([{ id: "a", type: "echo" }]));
  const saved = writeWorkflow(ctx.dir, "tmp.json", GREET);
  const r = await runPflow(["workflow", "save", saved, "--name", "greeter"], { env: ctx.env });
  assert.equal(r.code, 0, explain(r));
  const t = await runPflow(["run", saved, "name=x", "--trace"], { env: ctx.env });
  assert.equal(t.code, 0, explain(t));
}

Deno.test("completion bash: commands, saved names, files, subcommands, flags, node types, traces", async () => {
  requireShell("bash");
  await withHome(async (ctx) => {
    await completionFixture(ctx);
    const top = bashComplete(ctx, ["pflow", ""]);
    for (const word of ["run", "validate", "workflow", "trace", "completion", "greeter", "local.json"]) {
      assert.ok(top.includes(word), `'${word}' not offered: ${top.join(" ")}`);
    }
    assert.deepEqual(bashComplete(ctx, ["pflow", "wor"]), ["workflow"]);
    assert.deepEqual(bashComplete(ctx, ["pflow", "workflow", "s"]).sort(), ["save", "show"]);
    assert.deepEqual(bashComplete(ctx, ["pflow", "workflow", "show", "gr"]), ["greeter"]);
    assert.ok(bashComplete(ctx, ["pflow", "run", ""]).includes("greeter"));
    assert.ok(bashComplete(ctx, ["pflow", "run", "lo"]).includes("local.json"));
    const runFlags = bashComplete(ctx, ["pflow", "run", "x.json", "--"]);
    for (const flag of ["--trace", "--metrics", "--output-key", "--max-budget-usd", "--output-format"]) {
      assert.ok(runFlags.includes(flag), `${flag} not offered: ${runFlags.join(" ")}`);
    }
    assert.deepEqual(bashComplete(ctx, ["pflow", "run", "x.json", "--output-format", ""]).sort(), ["json", "text"]);
    assert.ok(bashComplete(ctx, ["pflow", "registry", "describe", ""]).includes("write-file"));
    const traces = bashComplete(ctx, ["pflow", "trace", "show", ""]);
    assert.ok(traces.includes("latest") && traces.some((t) => t.startsWith("workflow-trace-greet-")), traces.join(" "));
    assert.deepEqual(bashComplete(ctx, ["pflow", "completion", ""]).sort(), ["bash", "fish", "zsh"]);
  });
});

Deno.test("completion bash: a saved name with spaces is one word; one starting with '-' only after '--'", async () => {
  requireShell("bash");
  await withHome((ctx) => {
    const workflowsDir = join(ctx.env.PFLOW_HOME, "workflows");
    mkdirSync(workflowsDir, { recursive: true });
    for (const name of ["My Flow", "My Other", "-x"]) {
      writeWorkflow(workflowsDir, `${name}.json`, workflow([{ id: "a", type: "echo" }]));
    }
    for (const words of [["pflow", "My"], ["pflow", "run", "My"], ["pflow", "validate", "My"]]) {
      assert.deepEqual(bashComplete(ctx, words).sort(), ["My Flow", "My Other"], words.join(" "));
    }
    assert.deepEqual(bashComplete(ctx, ["pflow", "workflow", "show", "My F"]), ["My Flow"]);
    // The word as typed, quoted or escaped, still completes the name (and a file name with a space).
    writeWorkflow(ctx.dir, "My File.json", workflow([{ id: "a", type: "echo" }]));
    for (const typed of ["My\\ F", '"My F', "'My F"]) {
      assert.deepEqual(bashComplete(ctx, ["pflow", "workflow", "show", typed]), ["My Flow"], typed);
      assert.deepEqual(bashComplete(ctx, ["pflow", "run", typed]).sort(), ["My File.json", "My Flow"], typed);
      assert.deepEqual(bashComplete(ctx, ["pflow", "cost", "report", "-o", typed]), ["My File.json"], typed);
    }
    // `pflow run -x` would be a flag: the name is offered after '--' only, there also for a word starting with '-'.
    assert.ok(!bashComplete(ctx, ["pflow", "run", ""]).includes("-x"));
    assert.ok(!bashComplete(ctx, ["pflow", ""]).includes("-x"));
    assert.deepEqual(bashComplete(ctx, ["pflow", "run", "--", "-"]), ["-x"]);
    assert.deepEqual(bashComplete(ctx, ["pflow", "--", "-"]), ["-x"]);
    assert.deepEqual(bashComplete(ctx, ["pflow", "workflow", "delete", "--", ""]).sort(), [
      "-x",
      "My Flow",
      "My Other",
    ]);
    // Readline quotes what it inserts (`My\ Flow`) for names and files, and adds no '/' to a word that
    // names a directory too (the trace subcommand `list` beside a folder list/).
    mkdirSync(join(ctx.dir, "list"));
    assert.deepEqual(
      bashTyped(ctx, [
        "pflow workflow show My\\ F",
        "pflow run My\\ Fi",
        "pflow trace l",
        "pflow trace list --statu",
        "pflow li",
      ]),
      [
        "pflow workflow show My\\ Flow ",
        "pflow run My\\ File.json ",
        "pflow trace list ",
        "pflow trace list --status ",
        "pflow list/",
      ],
    );
  });
});

/** What `pflow … --format <TAB>` (and the other fixed-value flags) offer, by command: each its own values. */
const FLAG_VALUE_CASES: [string[], string[]][] = [
  [["pflow", "metrics", "--format", ""], ["openmetrics", "prometheus"]],
  [["pflow", "cost", "report", "--format", ""], ["json", "md", "text"]],
  [["pflow", "trace", "export", "latest", "--format", ""], ["otlp-json"]],
  [["pflow", "cost", "report", "--status", ""], ["budget_exceeded", "failed", "interrupted", "running", "success"]],
  [["pflow", "trace", "list", "--status", ""], [
    "budget_exceeded",
    "failed",
    "incomplete",
    "interrupted",
    "partial",
    "success",
    "timeout",
    "unreadable",
  ]],
];

/** A subcommand is offered its own flags only; before one is typed, every flag of its command. */
const SUBCOMMAND_FLAG_CASES: [string[], string[]][] = [
  [["pflow", "trace", "list", "--d"], []],
  [["pflow", "trace", "prune", "--d"], ["--dry-run"]],
  [["pflow", "trace", "--d"], ["--dry-run"]],
  [["pflow", "-v", "trace", "show", "latest", "--o"], ["--open", "--output", "--output-format"]],
  [["pflow", "trace", "export", "latest", "--o"], ["--output", "--output-format"]],
  [["pflow", "cost", "show", "--t"], ["--timezone"]],
  [["pflow", "cost", "show", "--b"], []],
  [["pflow", "cost", "report", "--b"], ["--breakdown", "--by"]],
  [["pflow", "workflow", "list", "--"], ["--help", "--json", "--output-format", "--verbose"]],
  [["pflow", "workflow", "save", "local.json", "--f"], ["--force"]],
  [["pflow", "metrics", "serve", "--l"], ["--listen"]],
  [["pflow", "metrics", "serve", "--s"], []],
];

/** Global flags before the command, then what completes after it. */
const AFTER_GLOBAL_FLAGS: [string[], string][] = [
  [["pflow", "-v", "run", ""], "greeter"],
  [["pflow", "--json", "workflow", "show", ""], "greeter"],
  [["pflow", "--output-format", "json", "workflow", "show", "gr"], "greeter"],
  [["pflow", "-v", "registry", "describe", "wr"], "write-file"],
  [["pflow", "--json", "trace", "show", ""], "latest"],
];

Deno.test("completion bash: flag values by command, every subcommand's flags, global flags before the command", async () => {
  requireShell("bash");
  await withHome(async (ctx) => {
    await completionFixture(ctx);
    for (const [words, values] of [...FLAG_VALUE_CASES, ...SUBCOMMAND_FLAG_CASES]) {
      assert.deepEqual(bashComplete(ctx, words).sort(), values, words.join(" "));
    }
    // bash splits --format=VALUE at '='.
    assert.deepEqual(bashComplete(ctx, ["pflow", "metrics", "--format", "=", ""]).sort(), [
      "openmetrics",
      "prometheus",
    ]);
    const save = bashComplete(ctx, ["pflow", "workflow", "save", "local.json", "--"]);
    for (const flag of ["--name", "--description", "--force"]) assert.ok(save.includes(flag), save.join(" "));
    for (const [words, expected] of AFTER_GLOBAL_FLAGS) {
      const got = bashComplete(ctx, words);
      assert.ok(got.includes(expected), `${words.join(" ")}: '${expected}' not offered: ${got.join(" ")}`);
    }
    assert.deepEqual(bashComplete(ctx, ["pflow", "-v", "workflow", "sh"]), ["show"]);
    // A flag's value is not taken for the command; run's -o names an output (no files), cost's a file.
    assert.deepEqual(bashComplete(ctx, ["pflow", "run", "local.json", "-o", ""]), []);
    assert.ok(bashComplete(ctx, ["pflow", "cost", "report", "-o", "lo"]).includes("local.json"));
    // A workflow as the command (pflow FILE.json …) takes run's flags.
    assert.ok(bashComplete(ctx, ["pflow", "local.json", "--"]).includes("--trace"));
  });
});

Deno.test("completion fish and zsh: the scripts load and complete (fish through `complete -C`)", async () => {
  requireShell("fish");
  requireShell("zsh");
  await withHome(async (ctx) => {
    await completionFixture(ctx);
    // A saved name starting with '-': `pflow run -dash` would be flags, so it is offered after '--' only.
    writeWorkflow(join(ctx.env.PFLOW_HOME, "workflows"), "-dash.json", workflow([{ id: "a", type: "echo" }]));
    const env = { PATH: `${join(ROOT, "dist")}:${process.env.PATH}`, HOME: ctx.dir, ...ctx.env };
    const fish = (line: string) => {
      const result = spawnSync("fish", ["--no-config", "-c", `pflow completion fish | source; complete -C '${line}'`], {
        cwd: ctx.dir,
        env,
        encoding: "utf8",
      });
      assert.equal(result.status, 0, explain(result));
      return result.stdout.split("\n").filter(Boolean).map((l) => l.split("\t")[0]);
    };
    const top = fish("pflow ");
    for (const word of ["run", "validate", "greeter", "local.json"]) assert.ok(top.includes(word), top.join(" "));
    assert.ok(fish("pflow registry describe ").includes("llm"));
    assert.ok(fish("pflow trace show ").includes("latest"));
    assert.ok(fish("pflow run local.json --").includes("--trace"));
    assert.deepEqual(fish("pflow run local.json --output-format ").sort(), ["json", "text"]);
    for (const [words, values] of [...FLAG_VALUE_CASES, ...SUBCOMMAND_FLAG_CASES]) {
      assert.deepEqual(fish(words.join(" ")).sort(), values, words.join(" "));
    }
    const fishSave = fish("pflow workflow save local.json --");
    for (const flag of ["--name", "--description", "--force"]) assert.ok(fishSave.includes(flag), fishSave.join(" "));
    for (const [words, expected] of AFTER_GLOBAL_FLAGS) {
      const got = fish(words.join(" "));
      assert.ok(got.includes(expected), `${words.join(" ")}: '${expected}' not offered: ${got.join(" ")}`);
    }
    // Global flags before the command, and run's flags for a workflow given as the command.
    for (const line of ["pflow --", "pflow -v --"]) {
      const got = fish(line);
      for (const flag of ["--verbose", "--output-format", "--json", "--version"]) assert.ok(got.includes(flag), line);
      assert.ok(!got.includes("--trace"), line);
    }
    assert.deepEqual(fish("pflow --output-format ").sort(), ["json", "text"]);
    for (const line of ["pflow local.json --", "pflow -v local.json --", "pflow --output-format json greeter --"]) {
      const got = fish(line);
      for (const flag of ["--trace", "--metrics", "--output-key", "--output-format"]) {
        assert.ok(got.includes(flag), line);
      }
    }
    assert.deepEqual(fish("pflow local.json --output-format ").sort(), ["json", "text"]);
    assert.ok(!fish("pflow trace --").includes("--trace"), "run's flags only for a workflow as the command");
    for (const line of ["pflow ", "pflow -", "pflow run ", "pflow run -", "pflow workflow show "]) {
      assert.ok(!fish(line).includes("-dash"), line);
    }
    for (const line of ["pflow -- -", "pflow run -- -", "pflow -v run -- ", "pflow workflow delete -- -"]) {
      assert.ok(fish(line).includes("-dash"), line);
    }
    // zsh: the script parses and defines its completion function under compinit.
    const loaded = spawnSync(
      "zsh",
      ["-fc", "autoload -Uz compinit && compinit -u && source <(pflow completion zsh) && whence -w _pflow"],
      { cwd: ctx.dir, env, encoding: "utf8" },
    );
    assert.equal(loaded.status, 0, explain(loaded));
    assert.equal(loaded.stdout.trim(), "_pflow: function");
    const parsed = spawnSync("zsh", ["-n"], { input: spawnSync(PFLOW_BIN, ["completion", "zsh"]).stdout });
    assert.equal(parsed.status, 0, String(parsed.stderr));
    // zsh completes for real: an interactive zsh in a pseudo-terminal gets a TAB after each line.
    const zshCases: [string, (got: string[]) => void][] = [
      ["pflow ", (got) => assert.ok(got.includes("workflow"), got.join(" "))],
      ["pflow workflow s", (got) => assert.deepEqual(got.sort(), ["save", "show"])],
      ["pflow run local.json --", (got) => assert.ok(got.includes("--trace"), got.join(" "))],
      ["pflow metrics --format=", (got) => assert.deepEqual(got.sort(), ["openmetrics", "prometheus"])],
      ["pflow workflow save local.json --", (got) => {
        for (const flag of ["--name", "--description", "--force"]) assert.ok(got.includes(flag), got.join(" "));
      }],
      ...["pflow ", "pflow -", "pflow run ", "pflow run -", "pflow workflow show "].map((
        line,
      ): [string, (got: string[]) => void] => [line, (got) => assert.ok(!got.includes("-dash"), got.join(" "))]),
      // After '--' a word starting with '-' is an argument: the name, not flags.
      ["pflow -- -", (got) => assert.deepEqual(got, ["-dash"])],
      ["pflow run -- -", (got) => assert.deepEqual(got, ["-dash"])],
      ["pflow -v run -- ", (got) => assert.ok(got.includes("-dash") && got.includes("greeter"), got.join(" "))],
      ["pflow workflow delete -- -", (got) => assert.deepEqual(got, ["-dash"])],
      ...[...FLAG_VALUE_CASES, ...SUBCOMMAND_FLAG_CASES].map(([words, values]): [string, (got: string[]) => void] => [
        words.join(" "),
        (got) => assert.deepEqual(got.sort(), values, words.join(" ")),
      ]),
      ...AFTER_GLOBAL_FLAGS.map(([words, expected]): [string, (got: string[]) => void] => [
        words.join(" "),
        (got) => assert.ok(got.includes(expected), `${words.join(" ")}: '${expected}' not offered: ${got.join(" ")}`),
      ]),
    ];
    const zshResults = zshComplete(ctx, env, zshCases.map(([line]) => line));
    zshCases.forEach(([line, check], i) => {
      try {
        check(zshResults[i]);
      } catch (error) {
        throw new Error(`zsh, '${line}': ${(error as Error).message}`);
      }
    });
    const bad = await runPflow(["completion", "tcsh"]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /unknown shell 'tcsh': use bash, zsh or fish/);
  });
});

Deno.test("on a terminal, progress shows the running node with a live elapsed time and batch items; none off a terminal", async () => {
  const hasScript = spawnSync("script", ["--version"]).status === 0;
  assert.ok(hasScript, "script(1) from util-linux is needed for the TTY test");
  await withHome(async ({ dir, env }) => {
    const file = writeWorkflow(
      dir,
      "slow.json",
      workflow([
        { id: "wait", type: "echo", params: { value: "x", delay_ms: 700 } },
        { id: "each", type: "echo", batch: { items: [1, 2, 3] }, params: { value: "${item}", delay_ms: 300 } },
      ], { edges: [{ from: "wait", to: "each" }] }),
    );
    const underTty = spawnSync("script", ["-qec", `'${PFLOW_BIN}' run '${file}'`, "/dev/null"], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", TERM: "xterm", ...env },
      encoding: "utf8",
      timeout: 20_000,
    });
    // deno-lint-ignore no-control-regex
    const out = underTty.stdout.replace(/\x1b\[[0-9;]*m/g, "");
    assert.equal(underTty.status, 0, out);
    // The live line of the running node, redrawn with its elapsed time before the ✓ line.
    const live = [...out.matchAll(/[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] wait \(echo\) (\d+)ms/g)].map((m) => Number(m[1]));
    assert.ok(live.length >= 3, `expected several live redraws of 'wait': ${JSON.stringify(out)}`);
    assert.ok(Math.max(...live) > Math.min(...live), `the elapsed time grows: ${live.join(", ")}`);
    for (const items of ["0/3", "1/3", "2/3"]) {
      assert.ok(out.includes(` ${items}`), `batch progress ${items} missing: ${JSON.stringify(out)}`);
    }
    assert.match(out, /✓ wait \(echo\)/);
    assert.match(out, /✓ each \(echo\)/);
    const piped = await runPflow(["run", file], { env });
    assert.equal(piped.code, 0);
    assert.doesNotMatch(piped.stderr, /wait|each|⠋|\r/, "no progress when stderr is not a terminal");
  });
});

Deno.test("a bare word that is both an existing file and a saved workflow runs the file", async () => {
  await withHome(async ({ dir, env }) => {
    const saved = writeWorkflow(dir, "saved.json", workflow([{ id: "a", type: "echo", params: { value: "saved" } }]));
    assert.equal((await runPflow(["workflow", "save", saved, "--name", "plain"], { env })).code, 0);
    writeFileSync(join(dir, "plain"), JSON.stringify(workflow([{ id: "a", type: "echo", params: { value: "file" } }])));
    const both = await runPflow(["plain"], { env, cwd: dir });
    assert.equal(both.code, 0, explain(both));
    assert.equal(both.stdout, "file\n");
    const elsewhere = await runPflow(["plain"], { env, cwd: ROOT });
    assert.equal(elsewhere.code, 0, explain(elsewhere));
    assert.equal(elsewhere.stdout, "saved\n");
  });
});
