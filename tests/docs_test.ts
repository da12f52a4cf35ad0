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
