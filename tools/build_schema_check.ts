/**
 * Compiles the workflow JSON Schema (`src/workflow/workflow.schema.json`) to
 * a standalone check, `src/workflow/workflow_schema_check.ts`, with Ajv's
 * standalone code generation. A run validates every workflow it loads; the
 * generated code answers "valid or not" without building a validator at
 * start-up (the interpreting validator costs about a millisecond to set up
 * and run), and `load.ts` asks the full validator only for the messages of an
 * invalid file. Runs before every build (`deno task compile`);
 * `tests/startup_test.ts` checks the file is up to date and that both
 * validators agree.
 *
 * `deno run -A tools/build_schema_check.ts` rewrites the file when it
 * differs; `--check` only reports (exit 1 when out of date).
 * @module
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { Ajv2020 } from "ajv/dist/2020.js";
import standalone from "ajv/dist/standalone/index.js";
import { updateGenerated } from "./generated_file.ts";

const ROOT = resolve(import.meta.dirname!, "..");
/** The schema. */
export const SCHEMA_JSON: string = resolve(ROOT, "src/workflow/workflow.schema.json");
/** The generated check. */
export const SCHEMA_CHECK: string = resolve(ROOT, "src/workflow/workflow_schema_check.ts");

// Ajv's code for `minLength`/`maxLength` counts code points through a runtime
// helper it would `require`; the same count, inline, keeps the file standalone.
const UCS2LENGTH = 'require("ajv/dist/runtime/ucs2length").default';
const INLINE_UCS2LENGTH = "((text) => { let n = 0; for (const _ of text) n++; return n; })";

/** The text of the generated module. */
export function compiledSchemaCheck(): string {
  const schema = JSON.parse(readFileSync(SCHEMA_JSON, "utf8"));
  // Same dialect and regular-expression flags as the full validator (@cfworker/json-schema, 2020-12, `u`).
  const ajv = new Ajv2020({ code: { source: true, esm: true, lines: false }, strict: true, unicodeRegExp: true });
  let code: string = standalone.default(ajv, ajv.compile(schema));
  const header = /^"use strict";export const validate = (\w+);export default \1;/.exec(code);
  if (header === null) throw new Error("unexpected output of Ajv's standalone code generation");
  code = code.slice(header[0].length).replaceAll(UCS2LENGTH, INLINE_UCS2LENGTH);
  if (/\brequire\(/.test(code)) throw new Error("the generated schema check needs a runtime helper not inlined here");
  return [
    "// Generated from workflow.schema.json by tools/build_schema_check.ts (Ajv standalone code); do not edit.",
    "// deno-lint-ignore-file",
    "// @ts-nocheck: generated code",
    code,
    "",
    "/** Whether `data` matches the workflow schema (no messages: `load.ts` asks the full validator for those). */",
    `export function matchesWorkflowSchema(data: unknown): boolean {`,
    `  return ${header[1]}(data);`,
    "}",
    "",
  ].join("\n");
}

if (import.meta.main) updateGenerated(SCHEMA_CHECK, compiledSchemaCheck(), "tools/build_schema_check.ts");
