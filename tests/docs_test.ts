import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { withReference } from "../tools/node_reference.ts";
import { VERSION } from "../src/version.ts";
import { WORKFLOW_SCHEMA } from "../src/workflow/load.ts";

const root = resolve(import.meta.dirname!, "..");

Deno.test("the README's node reference matches the node specs (run tools/node_reference.ts)", () => {
  const readme = readFileSync(resolve(root, "README.md"), "utf8");
  assert.equal(readme, withReference(readme));
});

Deno.test("src/version.ts matches deno.json", () => {
  const config = JSON.parse(readFileSync(resolve(root, "deno.json"), "utf8"));
  assert.equal(VERSION, config.version);
});

Deno.test("every example validates against the published schema", async () => {
  const { parseWorkflow } = await import("../src/workflow/load.ts");
  for (const name of ["hello.json", "explain.json", "trip_plan.json"]) {
    const ir = await parseWorkflow(readFileSync(resolve(root, "examples", name), "utf8"));
    assert.equal(ir.ir_version, "0.1.0");
  }
  assert.equal(WORKFLOW_SCHEMA.title, "pflow workflow");
});

/** The long flags in the first cells (those starting with a flag) of the Markdown table that holds `row`. */
function tableFlags(readme: string, row: string): Set<string> {
  const at = readme.indexOf(row);
  assert.ok(at >= 0, `the README has a table row ${row}`);
  const start = readme.lastIndexOf("\n\n", at);
  const end = readme.indexOf("\n\n", at);
  const table = readme.slice(start, end);
  const cells = [...table.matchAll(/^\| (`-[^|]*)/gm)].map((m) => m[1]);
  return new Set(cells.flatMap((cell) => [...cell.matchAll(/--[a-z][\w-]*/g)].map((m) => m[0])));
}

Deno.test("the README and each command's --help document the same flags", async () => {
  const { documentedFlags } = await import("../src/cli/completion_command.ts");
  const { COMMANDS } = await import("../src/cli/command.ts");
  const { RUN_FLAGS } = await import("../src/cli/run_command.ts");
  const { PLAN_FLAGS } = await import("../src/cli/plan_command.ts");
  const readme = readFileSync(resolve(root, "README.md"), "utf8");
  const help = (command: string) => new Set(documentedFlags(command).map((f) => f.long));
  // The `run` flags table: every flag run's help lists but the global ones (Commands names those), no other.
  const globals = ["--help", "--verbose", "--json"];
  const runHelp = [...help("run")].filter((f) => !globals.includes(f)).sort();
  const runTable = [...tableFlags(readme, "| `--trace` |")].filter((f) => !globals.includes(f)).sort();
  assert.deepEqual(runTable, runHelp, "README's run flags vs 'run --help'");
  // The plan table: every flag only plan takes, and only flags plan's help lists.
  const planTable = tableFlags(readme, "| `--dry-run` |");
  for (const name of Object.keys(PLAN_FLAGS).filter((n) => !Object.hasOwn(RUN_FLAGS, n))) {
    assert.ok(planTable.has(`--${name}`), `README's plan table lacks --${name}`);
  }
  for (const flag of planTable) assert.ok(help("plan").has(flag), `README's plan table: ${flag} not in 'plan --help'`);
  // The Commands table: a flag a command's usage shows is in that command's help.
  const rows = readme.slice(readme.indexOf("| command | what it does |"));
  for (const [, usage] of rows.slice(0, rows.indexOf("\n\n")).matchAll(/^\| (`pflow [^|]*(?:\\\|[^|]*)*)\|/gm)) {
    const command = usage.match(/^`pflow ([a-z]+)/)?.[1];
    if (command === undefined || !COMMANDS.includes(command)) continue;
    for (const [flag] of usage.matchAll(/--[a-z][\w-]*/g)) {
      assert.ok(help(command).has(flag), `README's ${usage.trim()}: ${flag} is not in '${command} --help'`);
    }
  }
});

Deno.test("the top-level help names every environment variable the README documents and the code reads", async () => {
  const { runPflow } = await import("./support/cli.ts");
  const { readdirSync } = await import("node:fs");
  const help = await runPflow(["--help"]);
  assert.equal(help.code, 0, help.stderr);
  const text = help.stdout.slice(help.stdout.indexOf("Environment:"), help.stdout.indexOf("Exit codes:"));
  const listed = new Set(text.match(/\b[A-Z][A-Z0-9]*_[A-Z0-9_]+\b|\bTRACEPARENT\b/g) ?? []);
  // OTEL_* beyond the endpoint are covered by "(and the other OTEL_* variables)".
  const inHelp = (name: string) =>
    listed.has(name) || (name.startsWith("OTEL_") && text.includes("(and the other OTEL_* variables)"));
  const readme = readFileSync(resolve(root, "README.md"), "utf8");
  const table = readme.slice(readme.indexOf("| variable | meaning |"));
  const documented = table.slice(0, table.indexOf("\n\n")).match(/`[A-Z][A-Z0-9_]+(?:\(_ARG\))?`/g) ?? [];
  assert.ok(documented.length >= 10, "the README's environment table is found");
  for (const quoted of documented) {
    const name = quoted.slice(1, -1).replace("(_ARG)", "");
    assert.ok(inHelp(name), `README documents ${name}; 'pflow --help' does not list it`);
  }
  // Every variable the code reads, but the system's own (HOME, PATH, TERM, TZ).
  const system = new Set(["HOME", "PATH", "TERM", "TZ"]);
  const read = new Set<string>();
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = resolve(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith(".ts")) {
        const source = readFileSync(path, "utf8");
        for (const m of source.matchAll(/\benv(?:\.|\[")([A-Z][A-Z0-9_]+)/g)) read.add(m[1]);
        for (const m of source.matchAll(/"((?:PFLOW|ANTHROPIC|OPENAI|GOOGLE|OPENROUTER|OTEL)_[A-Z0-9_]+)"/g)) {
          read.add(m[1]);
        }
      }
    }
  };
  walk(resolve(root, "src"));
  assert.ok(read.has("PFLOW_HOME") && read.has("OPENROUTER_API_KEY"), "the scan finds the variables read");
  for (const name of read) {
    if (!system.has(name)) assert.ok(inHelp(name), `the code reads ${name}; 'pflow --help' does not list it`);
  }
});

Deno.test("messages the README quotes are the binary's, word for word", async () => {
  const { runPflow, withTempHome, writeWorkflow } = await import("./support/cli.ts");
  const readme = readFileSync(resolve(root, "README.md"), "utf8");
  await withTempHome(async ({ dir, env }) => {
    const typed = writeWorkflow(dir, "n.json", {
      ir_version: "0.1.0",
      inputs: { n: { type: "integer", stdin: true } },
      nodes: [{ id: "a", type: "echo", params: { value: "${n}" } }],
    });
    const greet = writeWorkflow(dir, "greet.json", {
      ir_version: "0.1.0",
      inputs: { name: { type: "string" }, title: { type: "string", required: false } },
      nodes: [{ id: "a", type: "echo", params: { value: "${name}" } }],
    });
    const cases: [string[], string | undefined, RegExp][] = [
      [["run", typed], "5x\n", /input 'n' must .*\(from stdin\)/],
      [["run", greet, "nmae=x"], undefined, /'nmae=.*' is not an input of this workflow.*/],
    ];
    for (const [args, stdin, pattern] of cases) {
      const result = await runPflow(args, { env, stdin });
      assert.equal(result.code, 2, result.stderr);
      const said = result.stderr.match(pattern)?.[0].replace("'nmae=x'", "'nmae=…'");
      assert.ok(said !== undefined, result.stderr);
      assert.ok(readme.includes(`\`${said}\``), `the README does not quote \`${said}\` as the binary says it`);
    }
  });
});
