/**
 * The start-up fast paths give the same answers as the slow ones they
 * replace: the workflow schema check compiled at build time agrees with the
 * full validator; a terminal is told from a pipe, a file or /dev/null without
 * building a stream.
 * @module
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, openSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Validator } from "@cfworker/json-schema";
import { PFLOW_BIN, ROOT, tempDir, writeWorkflow } from "./support/cli.ts";
import { schemaProblems, WORKFLOW_SCHEMA } from "../src/workflow/load.ts";
import { matchesWorkflowSchema } from "../src/workflow/workflow_schema_check.ts";
import { compiledSchemaCheck, SCHEMA_CHECK } from "../tools/build_schema_check.ts";
import { parseArgs } from "node:util";
import { parseFlags } from "../src/cli/flag_parser.ts";
import { GLOBAL_OPTIONS, parseCommand } from "../src/cli/args.ts";
import { RUN_FLAGS } from "../src/cli/run_command.ts";
import { asksVerbose } from "../src/cli/command.ts";

// ---------------------------------------------------------------- the compiled schema check

const fullValidator = new Validator(WORKFLOW_SCHEMA as never, "2020-12", false);
const fullAnswer = (doc: unknown) => fullValidator.validate(doc).valid;

Deno.test("the compiled schema check is up to date with workflow.schema.json (run tools/build_schema_check.ts)", () => {
  assert.equal(readFileSync(SCHEMA_CHECK, "utf8"), compiledSchemaCheck(), `${SCHEMA_CHECK} is out of date`);
});

const base = {
  ir_version: "0.1.0",
  name: "w",
  nodes: [{ id: "a", type: "echo", params: { value: 1 }, batch: { items: "${x}", as: "item", max_concurrent: 4 } }],
  edges: [{ from: "a", to: "a", action: "again" }],
  inputs: { x: { type: "array", required: false, default: [], description: "d", stdin: true } },
  outputs: { out: { source: "${a.output}", description: "d" } },
  start_node: "a",
  enable_namespacing: true,
  limits: { max_node_executions: 5 },
};

/** A copy of `base` with the value at `path` replaced (or removed, for `undefined`). */
function variant(path: (string | number)[], value: unknown): unknown {
  const doc = structuredClone(base) as Record<string | number, unknown>;
  let at = doc;
  for (const key of path.slice(0, -1)) at = at[key] as Record<string | number, unknown>;
  if (value === undefined) delete at[path.at(-1)!];
  else at[path.at(-1)!] = value;
  return doc;
}

const CASES: [string, unknown][] = [
  ["the base document", base],
  ["minimal", { ir_version: "0.1.0", nodes: [{ id: "a", type: "echo" }] }],
  ["not an object", []],
  ["null", null],
  ["a string", "workflow"],
  ["no ir_version", variant(["ir_version"], undefined)],
  ["ir_version 0.2.0", variant(["ir_version"], "0.2.0")],
  ["ir_version a number", variant(["ir_version"], 0.1)],
  ["unknown top-level field", variant(["nodez"], [])],
  ["$schema a string", variant(["$schema"], "x")],
  ["$schema a number", variant(["$schema"], 5)],
  ["empty name", variant(["name"], "")],
  ["name of 100 characters", variant(["name"], "n".repeat(100))],
  ["name of 101 characters", variant(["name"], "n".repeat(101))],
  // 100 code points, 200 UTF-16 units: lengths count code points.
  ["name of 100 astral characters", variant(["name"], "😀".repeat(100))],
  ["name of 101 astral characters", variant(["name"], "😀".repeat(101))],
  ["no nodes", variant(["nodes"], [])],
  ["nodes an object", variant(["nodes"], {})],
  ["node without type", variant(["nodes", 0, "type"], undefined)],
  ["node with empty type", variant(["nodes", 0, "type"], "")],
  ["node id with a dot", variant(["nodes", 0, "id"], "a.b")],
  ["node id starting with a digit", variant(["nodes", 0, "id"], "1a")],
  ["node id with a non-ASCII letter", variant(["nodes", 0, "id"], "é")],
  ["node params an array", variant(["nodes", 0, "params"], [])],
  ["node unknown field", variant(["nodes", 0, "paramz"], {})],
  ["purpose a number", variant(["nodes", 0, "purpose"], 1)],
  ["batch items a list", variant(["nodes", 0, "batch", "items"], [1, 2])],
  ["batch items a number", variant(["nodes", 0, "batch", "items"], 3)],
  ["batch without items", variant(["nodes", 0, "batch", "items"], undefined)],
  ["batch max_concurrent 0", variant(["nodes", 0, "batch", "max_concurrent"], 0)],
  ["batch max_concurrent 1000", variant(["nodes", 0, "batch", "max_concurrent"], 1000)],
  ["batch max_concurrent 1001", variant(["nodes", 0, "batch", "max_concurrent"], 1001)],
  ["batch max_concurrent 2.5", variant(["nodes", 0, "batch", "max_concurrent"], 2.5)],
  ["batch max_concurrent 2.0", JSON.parse(JSON.stringify(base).replace('"max_concurrent":4', '"max_concurrent":2.0'))],
  ["batch error_handling continue", variant(["nodes", 0, "batch", "error_handling"], "continue")],
  ["batch error_handling unknown", variant(["nodes", 0, "batch", "error_handling"], "retry")],
  ["batch parallel a string", variant(["nodes", 0, "batch", "parallel"], "yes")],
  ["batch as a bad name", variant(["nodes", 0, "batch", "as"], "x y")],
  ["edge without to", variant(["edges", 0, "to"], undefined)],
  ["edge with empty action", variant(["edges", 0, "action"], "")],
  ["edge unknown field", variant(["edges", 0, "when"], "x")],
  ["edges an object", variant(["edges"], {})],
  ["input name with a space", variant(["inputs"], { "a b": {} })],
  ["input type unknown", variant(["inputs", "x", "type"], "list")],
  ["input required a string", variant(["inputs", "x", "required"], "no")],
  ["input default null", variant(["inputs", "x", "default"], null)],
  ["input an array", variant(["inputs", "x"], [])],
  ["output without source", variant(["outputs", "out", "source"], undefined)],
  ["output with empty source", variant(["outputs", "out", "source"], "")],
  ["output unknown field", variant(["outputs", "out", "from"], "x")],
  ["start_node empty", variant(["start_node"], "")],
  ["enable_namespacing a string", variant(["enable_namespacing"], "yes")],
  ["limits max 0", variant(["limits", "max_node_executions"], 0)],
  ["limits max 1.5", variant(["limits", "max_node_executions"], 1.5)],
  ["limits unknown field", variant(["limits", "max"], 3)],
  ["__proto__ key", JSON.parse('{"ir_version":"0.1.0","nodes":[{"id":"a","type":"echo"}],"__proto__":{}}')],
];

Deno.test("the compiled schema check and the full validator agree: valid and invalid documents, field by field", () => {
  let valid = 0;
  for (const [name, doc] of CASES) {
    const expected = fullAnswer(doc);
    assert.equal(matchesWorkflowSchema(doc), expected, `${name}: the full validator says ${expected}`);
    if (expected) valid++;
    // The fast path changes nothing about what a document is told.
    assert.equal(schemaProblems(doc).length === 0, expected, name);
  }
  assert.ok(valid >= 8 && valid <= CASES.length - 30, `a balanced corpus (${valid} valid of ${CASES.length})`);
});

Deno.test("the compiled schema check and the full validator agree on every example and on 3,000 random mutations", () => {
  const docs: unknown[] = readdirSync(join(ROOT, "examples"))
    .filter((f) => f.endsWith(".json"))
    .map((f) => JSON.parse(readFileSync(join(ROOT, "examples", f), "utf8")));
  for (const doc of docs) assert.equal(matchesWorkflowSchema(doc), true);
  // A seeded generator: the same mutations every run.
  let seed = 20261201;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)];
  const VALUES = [undefined, null, 0, 1, -1, 1.5, 1000, 1001, "", "a", "0.1.9", "x y", "${a.b}", [], [1], {}, true];
  const KEYS = ["id", "type", "params", "batch", "items", "as", "from", "to", "action", "source", "extra", "name"];
  let valid = 0;
  for (let i = 0; i < 3000; i++) {
    const doc = structuredClone(pick([base, ...docs])) as Record<string, unknown>;
    for (let m = 0; m < 1 + Math.floor(random() * 3); m++) {
      // Walk to a random object inside, then change, add or remove one key.
      let at: Record<string, unknown> = doc;
      for (let depth = 0; depth < 4; depth++) {
        const inner = Object.values(at).filter((v) => v !== null && typeof v === "object");
        if (inner.length === 0 || random() < 0.3) break;
        at = pick(inner) as Record<string, unknown>;
      }
      const key = random() < 0.5 && Object.keys(at).length > 0 ? pick(Object.keys(at)) : pick(KEYS);
      const value = pick(VALUES);
      if (value === undefined) delete at[key];
      else at[key] = structuredClone(value);
    }
    // As a workflow file would hold it (no holes in arrays).
    const parsed = JSON.parse(JSON.stringify(doc));
    const expected = fullAnswer(parsed);
    assert.equal(matchesWorkflowSchema(parsed), expected, JSON.stringify(parsed));
    if (expected) valid++;
  }
  assert.ok(valid > 100 && valid < 2900, `mutations both keep and break documents (${valid} valid)`);
});

// ---------------------------------------------------------------- the flag parser

/** What node:util's parseArgs makes of `args`: values and positionals, or its error code. */
function nodeParse(args: string[], options: typeof GLOBAL_OPTIONS): unknown {
  try {
    const { values, positionals } = parseArgs({ args, options, allowPositionals: true, strict: true });
    return { values: { ...values }, positionals };
  } catch (error) {
    return (error as { code?: string }).code ?? String(error);
  }
}

function ownParse(args: string[], options: typeof GLOBAL_OPTIONS): unknown {
  try {
    const { values, positionals } = parseFlags(args, options);
    return { values: { ...values }, positionals };
  } catch (error) {
    return (error as { code?: string }).code ?? String(error);
  }
}

const FLAGS = { ...GLOBAL_OPTIONS, ...RUN_FLAGS };

Deno.test("the flag parser gives node:util parseArgs's results: hand-picked argument lists", () => {
  const cases = [
    [],
    ["wf.json"],
    ["wf.json", "a=1", "--metrics"],
    ["--metrics", "wf.json"],
    ["-o", "out", "wf.json"],
    ["-oout", "wf.json"],
    ["--output-key=out", "wf.json"],
    ["--output-key=", "wf.json"],
    ["--output-key", "out", "--output-key", "again"],
    ["-hv"],
    ["-vo", "x"],
    ["-vox"],
    ["-ov"],
    ["--json", "x"],
    ["--json=1"],
    ["--metrics=true"],
    ["--bogus"],
    ["--bogus=1"],
    ["-x"],
    ["-vx"],
    ["--output-key"],
    ["-o"],
    ["--output-key", "-"],
    ["--output-key", "-x"],
    ["--max-budget-usd", "-1"],
    ["--max-budget-usd=-1"],
    ["-o", "--metrics"],
    ["--", "--metrics", "-v"],
    ["wf.json", "--", "--x"],
    ["-"],
    ["a=--b"],
    ["--output-format", "json", "wf.json"],
    ["--log-format=json", "--trace", "--otlp-endpoint", "http://x"],
    ["--__proto__"],
    ["--constructor"],
    ["-h", "--help"],
  ];
  for (const args of cases) assert.deepEqual(ownParse(args, FLAGS), nodeParse(args, FLAGS), JSON.stringify(args));
});

Deno.test("the flag parser gives node:util parseArgs's results: 5,000 random argument lists", () => {
  const TOKENS = [
    "wf.json",
    "a=1",
    "-",
    "--",
    "--metrics",
    "--metrics=x",
    "--trace",
    "-o",
    "-oout",
    "-ov",
    "-vo",
    "-hv",
    "-hvo",
    "--output-key",
    "--output-key=k",
    "--output-format",
    "json",
    "text",
    "--json",
    "-v",
    "-h",
    "--bogus",
    "-z",
    "-1",
    "--max-budget-usd",
    "-0.5",
    "--log-format=json",
    "--price-table",
    "p.yaml",
    "--max-node-executions=3",
    "x",
  ];
  let seed = 7;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  let errors = 0;
  for (let i = 0; i < 5000; i++) {
    const args = Array.from({ length: Math.floor(random() * 6) }, () => TOKENS[Math.floor(random() * TOKENS.length)]);
    const expected = nodeParse(args, FLAGS);
    if (typeof expected === "string") errors++;
    assert.deepEqual(ownParse(args, FLAGS), expected, JSON.stringify(args));
  }
  assert.ok(errors > 500 && errors < 4500, `both accepted and refused lists (${errors} refused)`);
});

Deno.test("verbose as scanned before parsing (for stack traces) agrees with the flag parser", () => {
  const verboseOf = (args: string[]) => {
    try {
      return parseFlags(args, FLAGS).values.verbose === true;
    } catch {
      return undefined; // a flag error: the scan is all there is
    }
  };
  for (
    const args of [["-vo", "a.content"], ["-hv"], ["-ov"], ["-v"], ["--verbose"], ["--", "-v"], ["wf.json", "-vox"]]
  ) {
    assert.equal(asksVerbose(args), verboseOf(args), JSON.stringify(args));
  }
  assert.equal(asksVerbose(["-vo", "a.content"]), true);
  const TOKENS = [
    "wf.json",
    "a=1",
    "--",
    "-v",
    "-vo",
    "-ov",
    "-hv",
    "-hvo",
    "-vh",
    "-o",
    "x",
    "-oout",
    "--verbose",
    "-h",
  ];
  let seed = 11;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let i = 0; i < 3000; i++) {
    const args = Array.from({ length: Math.floor(random() * 5) }, () => TOKENS[Math.floor(random() * TOKENS.length)]);
    const parsed = verboseOf(args);
    if (parsed !== undefined) assert.equal(asksVerbose(args), parsed, JSON.stringify(args));
  }
});

Deno.test("flag errors read as one line naming the flag", () => {
  const message = (args: string[]) => {
    try {
      parseCommand(args, { command: "run", flags: RUN_FLAGS });
      return "";
    } catch (error) {
      return (error as Error).message;
    }
  };
  assert.equal(message(["--bogus"]), "unknown flag '--bogus'");
  assert.equal(message(["-z"]), "unknown flag '-z'");
  assert.equal(message(["--output-key"]), "flag '--output-key' needs a value");
  assert.equal(message(["-o"]), "flag '-o' needs a value");
  assert.equal(message(["--json=yes"]), "flag '--json' takes no value");
  assert.equal(
    message(["--output-key", "-x"]),
    "flag '--output-key' needs a value (one that starts with '-' is written --output-key=-VALUE)",
  );
  // A negative number is a value (issue 10): the flag's own check reports it.
  assert.equal(message(["--max-budget-usd", "-1"]), "");
  assert.equal(
    parseCommand(["--max-budget-usd", "-1.5"], { command: "run", flags: RUN_FLAGS }).values["max-budget-usd"],
    "-1.5",
  );
  assert.equal(parseCommand(["-o", "-2"], { command: "run", flags: RUN_FLAGS }).values["output-key"], "-2");
  // After `--` everything is positional, negative numbers too.
  assert.deepEqual(
    parseCommand(["wf.json", "--", "--max-budget-usd", "-1"], { command: "run", flags: RUN_FLAGS }).positionals,
    ["wf.json", "--max-budget-usd", "-1"],
  );
});

// ---------------------------------------------------------------- terminals

const TERMINAL_MODULE = join(ROOT, "src/cli/terminal.ts");

/** isTerminal(1) and isTerminal(2) in a child whose stdout and stderr are `stdio`. */
function terminalAnswer(stdio: "ignore" | "pipe" | number, out: string): [boolean, boolean] {
  const script = `import { isTerminal } from ${JSON.stringify(TERMINAL_MODULE)};\n` +
    `import { writeFileSync } from "node:fs";\n` +
    `writeFileSync(${JSON.stringify(out)}, JSON.stringify([isTerminal(1), isTerminal(2)]));\n`;
  const result = spawnSync(Deno.execPath(), ["eval", "--quiet", script], { stdio: ["ignore", stdio, stdio] });
  assert.equal(result.status, 0, String(result.stderr ?? ""));
  return JSON.parse(readFileSync(out, "utf8"));
}

Deno.test("isTerminal: a pipe, a file and /dev/null are not terminals", () => {
  const dir = tempDir();
  try {
    assert.deepEqual(terminalAnswer("pipe", join(dir.path, "pipe.json")), [false, false]);
    assert.deepEqual(terminalAnswer("ignore", join(dir.path, "null.json")), [false, false]);
    const file = openSync(join(dir.path, "out.txt"), "w");
    assert.deepEqual(terminalAnswer(file, join(dir.path, "file.json")), [false, false]);
  } finally {
    dir.cleanup();
  }
});

Deno.test("a terminal is one: under a pseudo-terminal the summary line is coloured, through a pipe it is not", () => {
  if (spawnSync("script", ["--version"]).status !== 0) {
    throw new Error("'script' (util-linux, Debian package bsdutils) is needed to run pflow under a pseudo-terminal");
  }
  const dir = tempDir();
  try {
    const wf = writeWorkflow(dir.path, "wf.json", {
      ir_version: "0.1.0",
      nodes: [{ id: "hi", type: "echo", params: { value: "hello" } }],
    });
    const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", PFLOW_HOME: join(dir.path, "home"), TERM: "xterm" };
    const command = `${PFLOW_BIN} run ${wf} --metrics`;
    const tty = spawnSync("script", ["-qec", command, "/dev/null"], { env, encoding: "utf8" });
    assert.equal(tty.status, 0, tty.stderr);
    assert.ok(tty.stdout.includes("\x1b[32m✓\x1b[39m 1 node"), JSON.stringify(tty.stdout));
    const piped = spawnSync(PFLOW_BIN, ["run", wf, "--metrics"], { env, encoding: "utf8" });
    assert.equal(piped.status, 0, piped.stderr);
    assert.match(piped.stderr, /^✓ 1 node · \d+ms\n$/);
  } finally {
    dir.cleanup();
  }
});

// ---------------------------------------------------------------- what a plain run loads

/**
 * The modules `pflow run FILE` evaluates before its workflow runs: the binary's entry chunk and the run
 * command's chunk, with every chunk they import statically (Bun's bundle, split as `deno task compile`
 * splits it). Returns the runtime modules they import and the npm packages bundled into them.
 */
function runPathModules(outdir: string): { builtins: Set<string>; packages: Set<string> } {
  const build = spawnSync(
    "npx",
    ["-y", "bun@1.4.5", "build", "--format=esm", "--splitting", "--target=bun", "src/cli/main.ts", "--outdir", outdir],
    { cwd: ROOT, encoding: "utf8" },
  );
  assert.equal(build.status, 0, build.stderr);
  const builtins = new Set<string>();
  const packages = new Set<string>();
  const seen = new Set<string>();
  const visit = (chunk: string) => {
    if (seen.has(chunk)) return;
    seen.add(chunk);
    const text = readFileSync(join(outdir, chunk), "utf8");
    // Bun marks each bundled file with a `// path` line; npm packages sit under node_modules/.deno/NAME@VERSION.
    for (const m of text.matchAll(/^\/\/ node_modules\/\.deno\/([^/@]+|@[^/@]+)@/gm)) {
      packages.add(m[1].replace("+", "/"));
    }
    // Static imports only (`import(...)` is loaded when reached, not at start).
    for (const m of text.matchAll(/(?:^|[;}\s])import\s*(?:[^"'();]*?from\s*)?["']([^"']+)["']/g)) {
      if (m[1].startsWith("./")) visit(m[1].slice(2));
      else builtins.add(m[1].replace(/^node:/, ""));
    }
  };
  visit("main.js");
  const runChunk = readdirSync(outdir).find((name) => name.startsWith("run_command-"));
  assert.ok(runChunk, "the run command is a chunk of its own");
  visit(runChunk);
  return { builtins, packages };
}

Deno.test("a plain run loads only what it needs: no node:fs/promises, node:os, child_process, YAML, Ajv, AI SDK or OpenTelemetry before its workflow runs", () => {
  const dir = tempDir();
  try {
    const { builtins, packages } = runPathModules(dir.path);
    // Each runtime module costs a Bun process ~0.2-4 ms of its start (node:fs/promises 1-4 ms, node:os ~1 ms):
    // one added to this list should be measured first (bench/engine_bench.ts --startup).
    assert.deepEqual([...builtins].sort(), ["async_hooks", "buffer", "fs", "path", "process", "timers"]);
    // The full JSON Schema validator (for an invalid file's messages) is the only package; it costs ~0.2 ms.
    assert.deepEqual([...packages].sort(), ["@cfworker/json-schema"]);
  } finally {
    dir.cleanup();
  }
});

// ---------------------------------------------------------------- what the binary reads from its directory

Deno.test("the binary reads no .env and no bunfig.toml from the directory it runs in (a preload there does not run)", () => {
  const dir = tempDir();
  try {
    const home = join(dir.path, "home");
    const other = join(dir.path, "other-home");
    const marker = join(dir.path, "preloaded");
    writeFileSync(join(dir.path, ".env"), `PFLOW_HOME=${other}\nNO_COLOR=\n`);
    writeFileSync(join(dir.path, "bunfig.toml"), 'preload = ["./preload.ts"]\n');
    writeFileSync(
      join(dir.path, "preload.ts"),
      `require("node:fs").writeFileSync(${JSON.stringify(marker)}, "ran");\n`,
    );
    const wf = writeWorkflow(dir.path, "wf.json", {
      ir_version: "0.1.0",
      nodes: [{ id: "hi", type: "echo", params: { value: "hello" } }],
    });
    const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", PFLOW_HOME: home };
    const run = spawnSync(PFLOW_BIN, ["run", wf], { cwd: dir.path, env, encoding: "utf8" });
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout, "hello\n");
    assert.ok(!existsSync(marker), "bunfig.toml's preload ran inside pflow");
    assert.ok(!existsSync(other), ".env's PFLOW_HOME was used");
    assert.ok(readdirSync(home).some((name) => name.startsWith("ledger")), "the given PFLOW_HOME has the run's ledger");
  } finally {
    dir.cleanup();
  }
});
