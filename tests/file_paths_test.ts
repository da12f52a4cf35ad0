/**
 * Paths the file nodes take, through the compiled binary: a trailing '/'
 * names a directory (never the file), and `..` after a symlink climbs from
 * where the link leads, as the kernel resolves it.
 * @module
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
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
    // Written so in the file, it is a validation error (exit 2) before anything runs.
    r = runNode(dir, "read-file", { path: "victim.txt/" });
    assert.equal(r.status, 2, r.stdout + r.stderr);
    assert.match(r.stderr, /\/nodes\/0\/params\/path: path ends with '\/', so it names a directory/);
    for (const type of ["copy-file", "move-file"]) {
      // Made by a template, the node refuses it when it runs.
      r = runNode(dir, type, { source: "${s}", destination: "out.txt" }, ["s=victim.txt/"]);
      assert.equal(r.status, 1, r.stdout + r.stderr);
      assert.match(r.stderr, /source ends with '\/', so it names a directory: victim\.txt\//);
      assert.ok(!existsSync(join(dir, "out.txt")));
    }
    assert.equal(readFileSync(join(dir, "victim.txt"), "utf8"), "keep\n");
  } finally {
    tmp.cleanup();
  }
});

Deno.test("write-file through a link whose target climbs with '..' out of a linked folder lands where the shell's '>' does", () => {
  const tmp = tempDir("pflow-paths-test-");
  try {
    const dir = tmp.path;
    mkdirSync(join(dir, "sl/real/a/b"), { recursive: true });
    mkdirSync(join(dir, "sl/x"));
    symlinkSync("../real/a/b", join(dir, "sl/x/linkdir"));
    symlinkSync("../target.txt", join(dir, "sl/real/a/b/f"));
    // The kernel's answer, for comparison: sl/real/a/target.txt.
    const shell = spawnSync("sh", ["-c", "echo hi > sl/x/linkdir/f && cat sl/real/a/target.txt"], { cwd: dir });
    assert.equal(shell.stdout.toString(), "hi\n");
    const r = runNode(dir, "write-file", { path: "sl/x/linkdir/f", content: "hello" });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.equal(readFileSync(join(dir, "sl/real/a/target.txt"), "utf8"), "hello");
    assert.ok(!existsSync(join(dir, "sl/x/target.txt")), "written beside the link instead of where it leads");
  } finally {
    tmp.cleanup();
  }
});

Deno.test("read-file, copy-file, delete-file: 'link/..' is the parent of where the link leads, as for cat and rm", () => {
  const tmp = tempDir("pflow-paths-test-");
  try {
    const dir = tmp.path;
    mkdirSync(join(dir, "real/inner"), { recursive: true });
    mkdirSync(join(dir, "work"));
    writeFileSync(join(dir, "real/f.txt"), "real");
    writeFileSync(join(dir, "work/f.txt"), "work");
    symlinkSync("../real/inner", join(dir, "work/lnk"));
    const work = join(dir, "work");
    let r = runNode(work, "read-file", { path: "lnk/../f.txt" });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.equal(r.stdout, "real\n");
    r = runNode(work, "copy-file", { source: "lnk/../f.txt", destination: "lnk/../copy.txt" });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.equal(readFileSync(join(dir, "real/copy.txt"), "utf8"), "real");
    assert.ok(!existsSync(join(work, "copy.txt")));
    r = runNode(work, "delete-file", { path: "lnk/../f.txt" });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.ok(!existsSync(join(dir, "real/f.txt")));
    assert.equal(readFileSync(join(work, "f.txt"), "utf8"), "work", "the file beside the link was deleted");
  } finally {
    tmp.cleanup();
  }
});

Deno.test("delete-file and read-file: '.' or '..' after a file fails as it does for rm and cat; the file is kept", () => {
  const tmp = tempDir("pflow-paths-test-");
  try {
    const dir = tmp.path;
    writeFileSync(join(dir, "victim.txt"), "keep\n");
    for (const path of ["victim.txt/.", "victim.txt/../victim.txt"]) {
      for (const type of ["delete-file", "read-file"]) {
        const r = runNode(dir, type, { path });
        assert.equal(r.status, 1, `${type} ${path}: ${r.stdout}${r.stderr}`);
        assert.match(r.stderr, /not a directory: .* goes on after .*victim\.txt, which is a file/);
      }
    }
    assert.equal(readFileSync(join(dir, "victim.txt"), "utf8"), "keep\n");
  } finally {
    tmp.cleanup();
  }
});

Deno.test("write-file, copy-file: a dangling symlink where a folder goes is named as such, not as a file", () => {
  const tmp = tempDir("pflow-paths-test-");
  try {
    const dir = tmp.path;
    symlinkSync("nowhere", join(dir, "dl"));
    writeFileSync(join(dir, "src.txt"), "x");
    const runs = [
      runNode(dir, "write-file", { path: "dl/f.txt", content: "x" }),
      runNode(dir, "write-file", { path: "dl/sub/f.txt", content: "x" }),
      runNode(dir, "copy-file", { source: "src.txt", destination: "dl/c.txt" }),
    ];
    for (const r of runs) {
      assert.equal(r.status, 1, r.stdout + r.stderr);
      assert.match(
        r.stderr,
        new RegExp(`a part of its path is a symbolic link to something that does not exist: ${join(dir, "dl")}\\n`),
      );
      assert.doesNotMatch(r.stderr, /is a file|file not found/);
    }
    assert.ok(!existsSync(join(dir, "nowhere")));
  } finally {
    tmp.cleanup();
  }
});

Deno.test("a path with a control character or whitespace at an end of a part prints JSON-quoted in messages", () => {
  const tmp = tempDir("pflow-paths-test-");
  try {
    const dir = tmp.path;
    writeFileSync(join(dir, "real.txt"), "data\n");
    // `real.txt ` (as `cut` leaves it) is not `real.txt`: the message says which file was looked for.
    let r = runNode(dir, "read-file", { path: "real.txt " });
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.equal(r.stderr, `error: node 'n' failed: file not found: ${JSON.stringify(join(dir, "real.txt "))}\n`);
    r = runNode(dir, "copy-file", { source: "\treal.txt", destination: "out.txt" });
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.equal(r.stderr, `error: node 'n' failed: file not found: "${dir}/\\treal.txt"\n`);
    r = runNode(dir, "delete-file", { path: "sub /real.txt" });
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /file not found: "[^"]*\/sub \/real\.txt" \(set missing_ok/);
    // Escapes and C1 controls are written as escapes in the message itself (the library's too), inside the quotes.
    r = runNode(dir, "read-file", { path: "x\u001b[31mred\u009b" });
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.equal(r.stderr, `error: node 'n' failed: file not found: "${dir}/x\\u001b[31mred\\u009b"\n`);
    // A shell node's cwd as well.
    r = runNode(dir, "shell", { command: "true", cwd: "sub\t" });
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /working directory not found: "[^"]*\/sub\\t" \(set cwd/);
    // An ordinary path stays as it is.
    r = runNode(dir, "read-file", { path: "missing file.txt" });
    assert.equal(r.stderr, `error: node 'n' failed: file not found: ${join(dir, "missing file.txt")}\n`);
  } finally {
    tmp.cleanup();
  }
});

/** Runs `workflow` (nodes and edges) in `dir` with `args` after the file. */
function runFlow(dir: string, nodes: unknown[], edges: unknown[], args: string[] = [], extra = {}) {
  const wf = writeWorkflow(dir, "wf.json", workflow(nodes, { edges, ...extra }));
  return spawnSync(PFLOW_BIN, [...args.slice(0, 1), wf, ...args.slice(1)], {
    cwd: dir,
    env: { PATH: process.env.PATH!, PFLOW_HOME: join(dir, "home") },
    encoding: "utf8",
  });
}

Deno.test("a path with a line break or a NUL is refused by every file node (a command's stdout ends in a newline)", () => {
  const tmp = tempDir("pflow-paths-test-");
  try {
    const dir = tmp.path;
    writeFileSync(join(dir, "real.txt"), "data\n");
    const fromStdout = (command: string, node: Record<string, unknown>) =>
      runFlow(dir, [{ id: "f", type: "shell", params: { command } }, { id: "n", ...node }], [{ from: "f", to: "n" }], [
        "run",
      ]);
    // `echo real.txt` prints `real.txt\n`: said so, with what to do, on one line.
    let r = fromStdout("echo real.txt", { type: "read-file", params: { path: "${f.stdout}" } });
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.equal(r.stderr.split("\n").length, 2, r.stderr);
    assert.match(
      r.stderr,
      /^error: node 'n' failed: path ends in a newline: "real\.txt\\n" \(as a command's stdout does/,
    );
    assert.match(r.stderr, /printf '%s' NAME instead of echo NAME/);
    // write-file does not create `out.txt\n` (nor anything else).
    r = fromStdout("echo out.txt", { type: "write-file", params: { path: "${f.stdout}", content: "x" } });
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /path ends in a newline: "out\.txt\\n"/);
    // copy-file and move-file: either path; several lines are several paths.
    r = fromStdout("printf 'a.txt\\nb.txt'", {
      type: "copy-file",
      params: { source: "real.txt", destination: "${f.stdout}" },
    });
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /destination holds a line break: "a\.txt\\nb\.txt" \(file nodes take no line breaks/);
    r = fromStdout("echo real.txt", { type: "move-file", params: { source: "${f.stdout}", destination: "moved.txt" } });
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /source ends in a newline: "real\.txt\\n"/);
    // delete-file leaves even a file of that very name alone.
    writeFileSync(join(dir, "victim.txt\n"), "keep");
    r = fromStdout("echo victim.txt", { type: "delete-file", params: { path: "${f.stdout}", missing_ok: true } });
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /path ends in a newline: "victim\.txt\\n"/);
    assert.equal(readFileSync(join(dir, "victim.txt\n"), "utf8"), "keep");
    // A NUL byte: no file name can hold one (the runtime's words were "must be a string without null bytes").
    r = fromStdout("printf 'out\\000.txt'", { type: "write-file", params: { path: "${f.stdout}" } });
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /path holds a NUL byte, which no file name can: "out\\u0000\.txt"/);
    assert.deepEqual(readdirSync(dir).sort(), ["home", "real.txt", "victim.txt\n", "wf.json"]);
    assert.equal(readFileSync(join(dir, "real.txt"), "utf8"), "data\n");
  } finally {
    tmp.cleanup();
  }
});

Deno.test("pflow validate refuses a literal file-node path with a line break (exit 2), and an input's value too", () => {
  const tmp = tempDir("pflow-paths-test-");
  try {
    const dir = tmp.path;
    let r = runFlow(
      dir,
      [
        { id: "w", type: "write-file", params: { path: "out.txt\n", content: "x" } },
        { id: "c", type: "copy-file", params: { source: "in\r\n.txt", destination: "b.txt" } },
      ],
      [{ from: "w", to: "c" }],
      ["validate"],
    );
    assert.equal(r.status, 2, r.stdout + r.stderr);
    assert.match(r.stderr, /\/nodes\/0\/params\/path: path ends in a newline: "out\.txt\\n"/);
    assert.match(r.stderr, /\/nodes\/1\/params\/source: source holds a line break: "in\\r\\n\.txt"/);
    assert.equal(r.stderr.trimEnd().split("\n").length, 2, r.stderr);
    // Given for the run, an input's value is checked before anything runs.
    const nodes = [{ id: "d", type: "delete-file", params: { path: "${name}" } }];
    writeFileSync(join(dir, "a"), "keep");
    r = runFlow(dir, nodes, [], ["run", "name=a\nb"], { inputs: { name: { type: "string" } } });
    assert.equal(r.status, 2, r.stdout + r.stderr);
    assert.match(r.stderr, /\/nodes\/0\/params\/path: path holds a line break: "a\\nb"/);
    assert.equal(readFileSync(join(dir, "a"), "utf8"), "keep");
  } finally {
    tmp.cleanup();
  }
});

Deno.test("shell: a cwd ending in a newline says so in its error", () => {
  const tmp = tempDir("pflow-paths-test-");
  try {
    const r = runFlow(
      tmp.path,
      [
        { id: "f", type: "shell", params: { command: "pwd" } },
        { id: "s", type: "shell", params: { command: "true", cwd: "${f.stdout}" } },
      ],
      [{ from: "f", to: "s" }],
      ["run"],
    );
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(
      r.stderr,
      /working directory not found: "[^"]+\\n" \(it ends in a newline, as a command's stdout does/,
    );
  } finally {
    tmp.cleanup();
  }
});

Deno.test("an empty path or one ending in '/' written in the file is a validation error; one a node makes fails the node with its own message", () => {
  const tmp = tempDir("pflow-paths-test-");
  try {
    const dir = tmp.path;
    const first = { id: "first", type: "shell", params: { command: "touch ran.txt" } };
    const r = runFlow(
      dir,
      [
        first,
        { id: "r", type: "read-file", params: { path: "" } },
        { id: "w", type: "write-file", params: { path: "out/", content: "x" } },
        { id: "d", type: "delete-file", params: { path: "${p}" } },
        { id: "c", type: "copy-file", params: { source: "a.txt", destination: "" } },
      ],
      [{ from: "first", to: "r" }, { from: "r", to: "w" }, { from: "w", to: "d" }, { from: "d", to: "c" }],
      ["run"],
      { inputs: { p: { type: "string", default: "" } } },
    );
    assert.equal(r.status, 2, r.stdout + r.stderr);
    const lines = r.stderr.trimEnd().split("\n").map((l) => l.replace(/^error: .*?: \//, "/"));
    assert.deepEqual(lines, [
      "/nodes/1/params/path: path is empty (give the file's full path)",
      "/nodes/2/params/path: path ends with '/', so it names a directory: out/ (give the file's full path)",
      "/nodes/3/params/path: path is empty (delete-file deletes files only; give the file's full path)",
      "/nodes/4/params/destination: destination is empty (give the destination's full file path)",
    ]);
    assert.ok(!existsSync(join(dir, "ran.txt")), "no node ran");
    // Made at run time (a command's empty output), the node fails saying so, not "is a directory: <cwd>".
    const made = runFlow(
      dir,
      [
        { id: "name", type: "shell", params: { command: "printf ''" } },
        { id: "r", type: "read-file", params: { path: "${name.stdout}" } },
      ],
      [{ from: "name", to: "r" }],
      ["run"],
    );
    assert.equal(made.status, 1, made.stdout + made.stderr);
    assert.equal(made.stderr, "error: node 'r' failed: path is empty (give the file's full path)\n");
  } finally {
    tmp.cleanup();
  }
});
