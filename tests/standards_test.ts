/**
 * Project rules that code review alone would miss: the product code under
 * src/ runs on any runtime, so it uses web-standard APIs and `node:`
 * built-ins only, never a runtime's own global (`Deno.*`, `Bun.*`); and
 * `deno task bench` can load every file under bench/.
 * @module
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { ROOT } from "./support/cli.ts";

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return /\.(ts|js)$/.test(entry.name) ? [path] : [];
  });
}

/** The code of a file without its comments and string contents (good enough for identifiers). */
function codeOnly(text: string): string {
  return text
    .replace(/\/\*[\s\S]*?\*\//g, "")
    .replace(/(^|[^:])\/\/.*$/gm, "$1")
    .replace(/`(?:\\.|[^`\\])*`|"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*'/g, '""');
}

Deno.test("src/ uses no runtime-specific global (Deno.*, Bun.*, globalThis.Bun)", () => {
  const offenders: string[] = [];
  for (const file of sourceFiles(join(ROOT, "src"))) {
    const code = codeOnly(readFileSync(file, "utf8"));
    code.split("\n").forEach((line, i) => {
      if (/\b(?:Deno|Bun)\s*[.?[]|\{\s*(?:Deno|Bun)\??\s*:/.test(line)) {
        offenders.push(`${relative(ROOT, file)}:${i + 1}: ${line.trim()}`);
      }
    });
  }
  assert.deepEqual(offenders, []);
});

Deno.test("the check itself finds a runtime global in code, not in comments or strings", () => {
  const code = codeOnly('// Bun.file is fast\nconst s = "Deno.env";\nconst h = (globalThis as { Bun?: X }).Bun?.x;\n');
  const hits = code.split("\n").filter((line) => /\b(?:Deno|Bun)\s*[.?[]|\{\s*(?:Deno|Bun)\??\s*:/.test(line));
  assert.equal(hits.length, 1);
});

Deno.test("every file under bench/ loads under `deno bench` (as `deno task bench` runs them) without running a script", () => {
  // A filter that matches no benchmark: each module's top-level code runs, no benchmark does. A script that
  // needs arguments (bench/baseline_bench.ts) must do nothing unless it is the main module.
  const result = spawnSync(Deno.execPath(), ["bench", "-A", "--filter", "^no benchmark has this name$", "bench/"], {
    cwd: ROOT,
    encoding: "utf8",
  });
  assert.equal(result.status, 0, `${result.stdout}\n${result.stderr}`);
});
