/**
 * Paths the file nodes take, through the compiled binary: a trailing '/'
 * names a directory (never the file), and `..` after a symlink climbs from
 * where the link leads, as the kernel resolves it.
 * @module
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { PFLOW_BIN, tempDir, workflow, writeWorkflow } from "./support/cli.ts";

/** Runs one node of `type` with `params` in `dir`, with `args` as key=value inputs. */
function runNode(dir: string, type: string, params: Record<string, unknown>, args: string[] = []) {
  const wf = writeWorkflow(dir, "wf.json", workflow([{ id: "n", type, params }]));
  return spawnSync(PFLOW_BIN, ["run", wf, ...args], {
    cwd: dir,
    env: { PATH: process.env.PATH!, PFLOW_HOME: join(dir, "home") },
    encoding: "utf8",
  });
}

Deno.test("delete-file, read-file, copy-file, move-file: a path ending in '/' is refused and the file is kept", () => {
  const tmp = tempDir("pflow-paths-test-");
  try {
    const dir = tmp.path;
    writeFileSync(join(dir, "victim.txt"), "keep\n");
    // The path a template made from an empty name: `rm victim.txt/` fails, so does the node.
    let r = runNode(dir, "delete-file", { path: "${dir}/${name}" }, ["dir=victim.txt", "name="]);
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /node 'n' failed: path ends with '\/', so it names a directory: victim\.txt\//);
    assert.equal(readFileSync(join(dir, "victim.txt"), "utf8"), "keep\n");
    r = runNode(dir, "read-file", { path: "victim.txt/" });
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /path ends with '\/', so it names a directory/);
    for (const type of ["copy-file", "move-file"]) {
      r = runNode(dir, type, { source: "victim.txt/", destination: "out.txt" });
      assert.equal(r.status, 1, r.stdout + r.stderr);
      assert.match(r.stderr, /source ends with '\/', so it names a directory: victim\.txt\//);
      assert.ok(!existsSync(join(dir, "out.txt")));
    }
    assert.equal(readFileSync(join(dir, "victim.txt"), "utf8"), "keep\n");
  } finally {
    tmp.cleanup();
  }
});
