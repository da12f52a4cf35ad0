/**
 * The step every build-time generator ends with: write the generated file
 * when it differs from what is checked in, or (`--check`) only say whether
 * it is up to date.
 * @module
 */
import { readFileSync, writeFileSync } from "node:fs";

/**
 * Writes `text` to `path` unless the file already holds it; with `--check` on
 * the command line, writes nothing and exits 1 when it differs. `tool` names
 * the generator in the message (e.g. `tools/build_prices.ts`).
 */
export function updateGenerated(path: string, text: string, tool: string): void {
  let current = "";
  try {
    current = readFileSync(path, "utf8");
  } catch { /* first build */ }
  if (current === text) return;
  if (process.argv.includes("--check")) {
    console.error(`error: ${path} is out of date; run: deno run -A ${tool}`);
    process.exit(1);
  }
  writeFileSync(path, text);
  console.error(`wrote ${path}`);
}
