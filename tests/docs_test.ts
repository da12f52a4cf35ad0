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
