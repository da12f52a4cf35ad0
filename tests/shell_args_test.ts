/**
 * The shell node's `args` (a program and its arguments, no shell) and the
 * `env` way of passing values, through the compiled binary: template values
 * reach the program as data, never as shell text.
 * @module
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runPflow, workflow, writeWorkflow } from "./support/cli.ts";

Deno.test("shell args: values reach the program as single arguments, never as shell text (through the binary)", async () => {
  const dir = mkdtempSync(join(tmpdir(), "pflow-shell-args-"));
  try {
    const env = { PFLOW_HOME: join(dir, "home") };
    const pwned = join(dir, "PWNED");
    const hostile = `x'; touch '${pwned}'; echo "$(touch '${pwned}')" \`touch '${pwned}'\` *`;
    const file = writeWorkflow(
      dir,
      "safe.json",
      workflow([
        { id: "viaArgs", type: "shell", params: { args: ["printf", "[%s]\\n", "${name}", 42, true] } },
        { id: "viaEnv", type: "shell", params: { command: 'printf "[%s]\\n" "$NAME"', env: { NAME: "${name}" } } },
      ], {
        inputs: { name: { type: "string" } },
        edges: [{ from: "viaArgs", to: "viaEnv" }],
        outputs: { args: { source: "${viaArgs.stdout}" }, env: { source: "${viaEnv.stdout}" } },
      }),
    );
    const result = await runPflow(["run", file, `name=${hostile}`, "--trace", "--json"], { env, cwd: dir });
    assert.equal(result.code, 0, result.stderr);
    const doc = JSON.parse(result.stdout);
    assert.equal(doc.result.args, `[${hostile}]\n[42]\n[true]\n`);
    assert.equal(doc.result.env, `[${hostile}]\n`);
    assert.ok(!existsSync(pwned), "the value was interpreted by a shell");
    const trace = readFileSync(doc.trace_path, "utf8");
    assert.ok(trace.includes('"args":["printf"'), "the trace shows the args the program got");
    // Program not found, exit codes, stdin and timeouts work as with command.
    const more = writeWorkflow(
      dir,
      "more.json",
      workflow([
        { id: "missing", type: "shell", params: { args: ["no-such-program-xyz"], ignore_errors: true } },
        { id: "cat", type: "shell", params: { args: ["cat"], stdin: "piped text" } },
        { id: "slow", type: "shell", params: { args: ["sleep", "5"], timeout: 0.3 } },
      ], {
        edges: [{ from: "missing", to: "cat" }, { from: "cat", to: "slow" }],
      }),
    );
    const ran = await runPflow(["run", more, "--trace", "--json"], { env, cwd: dir });
    assert.equal(ran.code, 1, ran.stderr);
    const outcome = JSON.parse(ran.stdout);
    assert.match(outcome.error.message, /command timed out after 0\.3 s: sleep 5 \(raise the node's 'timeout' param/);
    const events = JSON.parse(readFileSync(outcome.trace_path, "utf8").split("\n")[1]);
    assert.equal(events.node_id, "missing");
    const notFound = (events.mutations as { path: string; after: unknown }[]).find((m) =>
      m.path === "missing.exit_code"
    );
    assert.equal(notFound?.after, 127);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

Deno.test("shell: exactly one of command and args, args not empty and of text, as validation errors (exit 2)", async () => {
  const dir = mkdtempSync(join(tmpdir(), "pflow-shell-args-"));
  try {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ command: "ls", args: ["ls"] }, /give either 'command' \(a command line run by \/bin\/sh -c\) or 'args'/],
      [{}, /'shell' needs 'command' \(a command line run by \/bin\/sh -c\) or 'args'/],
      [{ args: [] }, /'args' needs at least the program to run/],
      [{ args: ["echo", { a: 1 }] }, /args\[1\] must be text \(one argument\), got object/],
      [{ args: "ls -l" }, /\/nodes\/0\/params\/args: must be array, got string/],
    ];
    for (const [params, message] of cases) {
      const file = writeWorkflow(dir, "bad.json", workflow([{ id: "s", type: "shell", params }]));
      const result = await runPflow(["run", file], { env: { PFLOW_HOME: join(dir, "home") } });
      assert.equal(result.code, 2, `${JSON.stringify(params)}: ${result.stderr}`);
      assert.match(result.stderr, message, JSON.stringify(params));
    }
    // A list where one argument belongs fails at run time with a hint.
    const list = writeWorkflow(
      dir,
      "list.json",
      workflow([{ id: "s", type: "shell", params: { args: ["echo", "${files}"] } }], {
        inputs: { files: { type: "array" } },
      }),
    );
    const r = await runPflow(["run", list, 'files=["a","b"]'], { env: { PFLOW_HOME: join(dir, "home") } });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /args\[1\] must be text \(one argument\), got a list \(give one item per argument\)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

Deno.test("shell args: a program not found or not executable is said so, with the shell's exit status", async () => {
  const dir = mkdtempSync(join(tmpdir(), "pflow-shell-args-"));
  try {
    const cases: [string, string][] = [
      ["nonexistent-prog-xyz", "command exited with code 127: program not found: nonexistent-prog-xyz (not in PATH)"],
      [join(dir, "nope"), `command exited with code 127: program not found: ${join(dir, "nope")}`],
      ["/etc/passwd", "command exited with code 126: program is not executable: /etc/passwd"],
      [dir, `command exited with code 126: program is not executable: ${dir}`],
    ];
    for (const [program, message] of cases) {
      const file = writeWorkflow(
        dir,
        "p.json",
        workflow([{ id: "p", type: "shell", params: { args: [program, "x"] } }]),
      );
      const result = await runPflow(["run", file], { env: { PFLOW_HOME: join(dir, "home") } });
      assert.equal(result.code, 1, result.stderr);
      assert.equal(result.stderr.trim(), `error: node 'p' failed: ${message}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

Deno.test("shell: a NUL byte in command, an args item, an env value or cwd is named by its param, statically and when templated", async () => {
  const dir = mkdtempSync(join(tmpdir(), "pflow-shell-args-"));
  try {
    const env = { PFLOW_HOME: join(dir, "home") };
    // Written in the workflow: `pflow validate` refuses it (exit 2), naming the user's index, not the runtime's.
    const literal = writeWorkflow(
      dir,
      "literal.json",
      workflow([
        { id: "a", type: "shell", params: { args: ["echo", "a\u0000b"], env: { X: "c\u0000d" } } },
        { id: "c", type: "shell", params: { command: "echo a\u0000b", cwd: "sub\u0000dir" } },
      ], { edges: [{ from: "a", to: "c" }] }),
    );
    const validated = await runPflow(["validate", literal], { env, cwd: dir });
    assert.equal(validated.code, 2, validated.stderr);
    const lines = validated.stderr.trimEnd().split("\n");
    assert.equal(lines.length, 4, validated.stderr);
    assert.match(
      lines[0],
      /\/nodes\/0\/params\/args: args\[1\] holds a NUL byte \(character 2 of 3\): no argument can carry one/,
    );
    assert.match(lines[0], /pass data with NUL bytes on stdin \(the 'stdin' param\)/);
    assert.match(
      lines[1],
      /\/nodes\/0\/params\/env: env\.X holds a NUL byte \(character 2 of 3\): no environment variable/,
    );
    assert.match(
      lines[2],
      /\/nodes\/1\/params\/command: command holds a NUL byte \(character 7 of 8\): no command line can carry one/,
    );
    assert.match(
      lines[3],
      /\/nodes\/1\/params\/cwd: cwd holds a NUL byte \(character 4 of 7\): no path can hold one$/,
    );
    assert.doesNotMatch(validated.stderr, /could not start|args\[4\]|without null bytes|printf '\+%s/);
    assert.equal((await runPflow(["run", literal], { env, cwd: dir })).code, 2);
    // Made at run time (a command's output): the node fails, saying the same.
    const made = (params: Record<string, unknown>) =>
      writeWorkflow(
        dir,
        "made.json",
        workflow([
          { id: "f", type: "shell", params: { command: "printf 'a\\000b'" } },
          { id: "s", type: "shell", params },
        ], { edges: [{ from: "f", to: "s" }] }),
      );
    const cases: [Record<string, unknown>, RegExp][] = [
      [
        { args: ["echo", "x", "${f.stdout}"] },
        /^error: node 's' failed: args\[2\] holds a NUL byte \(character 2 of 3\)/,
      ],
      [{ command: 'echo "$Y"', env: { Y: "${f.stdout}" } }, /^error: node 's' failed: env\.Y holds a NUL byte/],
      [{ command: "echo ${f.stdout}" }, /^error: node 's' failed: command holds a NUL byte \(character 7 of 8\)/],
      [
        { command: "pwd", cwd: "${f.stdout}" },
        /^error: node 's' failed: cwd holds a NUL byte \(character 2 of 3\)/,
      ],
    ];
    for (const [params, expected] of cases) {
      const file = made(params);
      assert.equal((await runPflow(["validate", file], { env, cwd: dir })).code, 0);
      const run = await runPflow(["run", file], { env, cwd: dir });
      assert.equal(run.code, 1, run.stderr);
      assert.match(run.stderr, expected);
      assert.doesNotMatch(run.stderr, /could not start|without null bytes|printf '\+%s/);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
