/**
 * End-to-end tests of bad input: each case runs the compiled binary on a
 * broken workflow (or settings) and expects exit code 2 with a message that
 * says where (file:line:column and JSON pointer) and what is wrong.
 * @module
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type CliResult, runPflow, tempDir, writeWorkflow } from "./support/cli.ts";

interface Outcome {
  /** The process result. */
  result: CliResult;
  /** Path of the workflow file as passed to pflow. */
  file: string;
  /** stderr lines that start with `error: `, without that prefix. */
  errors: string[];
}

/**
 * Writes `text` as a workflow file in a fresh temp dir (also PFLOW_HOME) and
 * runs `pflow run FILE ARGS…`; asserts exit code 2 and nothing on stdout.
 */
async function runInvalid(
  text: string,
  args: string[] = [],
  options: { env?: Record<string, string>; settings?: string } = {},
): Promise<Outcome> {
  const dir = tempDir("pflow-validation-test-");
  try {
    const home = join(dir.path, "home");
    mkdirSync(home);
    if (options.settings !== undefined) writeFileSync(join(home, "settings.json"), options.settings);
    const file = writeWorkflow(dir.path, "wf.json", text);
    const result = await runPflow(["run", file, ...args], { env: { PFLOW_HOME: home, ...options.env } });
    const explain = `exit ${result.code}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`;
    assert.equal(result.code, 2, explain);
    assert.equal(result.stdout, "", explain);
    const errors = result.stderr.split("\n").filter((l) => l.startsWith("error: ")).map((l) =>
      l.slice("error: ".length)
    );
    assert.ok(errors.length > 0, explain);
    assert.doesNotMatch(result.stderr, /\n\s+at /, "no stack trace without --verbose");
    return { result, file, errors };
  } finally {
    dir.cleanup();
  }
}

/** Asserts exactly one problem, equal to `FILE:` + `expected`. */
function assertOnly(outcome: Outcome, expected: string): void {
  assert.deepEqual(outcome.errors, [`${outcome.file}:${expected}`]);
}

/** Runs the same file in JSON mode and returns the problems of the document. */
async function jsonProblems(
  text: string,
  args: string[] = [],
): Promise<{ pointer?: string; line?: number; column?: number; message: string }[]> {
  const dir = tempDir("pflow-validation-test-");
  try {
    const file = writeWorkflow(dir.path, "wf.json", text);
    const result = await runPflow(["run", file, "--output-format", "json", ...args], { env: { PFLOW_HOME: dir.path } });
    assert.equal(result.code, 2, result.stderr);
    const doc = JSON.parse(result.stdout);
    assert.equal(doc.type, "result");
    assert.equal(doc.subtype, "error_validation");
    assert.equal(doc.is_error, true);
    return doc.error.problems;
  } finally {
    dir.cleanup();
  }
}

const ECHO = `{ "id": "a", "type": "echo", "params": { "value": "x" } }`;

// ---------------------------------------------------------------- JSON

Deno.test("JSON syntax error: line and column of the bad token", async () => {
  const text = `{
  "ir_version": "0.1.0",
  "nodes": [
    { "id": "a", "type": "echo", }
  ]
}`;
  const outcome = await runInvalid(text);
  assertOnly(outcome, "4:34: invalid JSON: property name expected near '}'");
});

Deno.test("JSON syntax error: unterminated document", async () => {
  const outcome = await runInvalid(`{\n  "ir_version": "0.1.0",\n  "nodes": [`);
  assert.equal(outcome.errors.length, 1);
  assert.match(outcome.errors[0], new RegExp(`^${escape(outcome.file)}:3:\\d+: invalid JSON: `));
});

Deno.test("empty file", async () => {
  const outcome = await runInvalid("");
  assert.deepEqual(outcome.errors, [`${outcome.file}: invalid JSON: the file is empty`]);
  const blank = await runInvalid("  \n\n");
  assert.deepEqual(blank.errors, [`${blank.file}: invalid JSON: the file is empty`]);
});

Deno.test("a JSON document that is not an object", async () => {
  const outcome = await runInvalid(`[1, 2]`);
  assert.equal(outcome.errors.length, 1);
  assert.match(outcome.errors[0], /must be object, got array/);
  for (const [text, got] of [["null", "null"], [`"a workflow"`, "string"], ["7", "number"], ["true", "boolean"]]) {
    assertOnly(await runInvalid(`${text}\n`), `1:1: must be object, got ${got}`);
  }
});

Deno.test("a null workflow is a validation error in every command that reads one, not a crash", async () => {
  const dir = tempDir("pflow-validation-test-");
  try {
    const home = join(dir.path, "home");
    mkdirSync(home);
    const file = writeWorkflow(dir.path, "wf.json", "null\n");
    for (const args of [["validate", file], ["workflow", "save", file, "--name", "nothing"]]) {
      const result = await runPflow(args, { env: { PFLOW_HOME: home } });
      assert.equal(result.code, 2, `${args.join(" ")}: ${result.stderr}`);
      assert.match(result.stderr, new RegExp(`^error: ${escape(file)}:1:1: must be object, got null$`, "m"));
      assert.doesNotMatch(result.stderr, /Cannot read|is not an object|\n\s+at /);
    }
    const json = await runPflow(["run", file, "--output-format", "json"], { env: { PFLOW_HOME: home } });
    assert.equal(json.code, 2, json.stderr);
    const doc = JSON.parse(json.stdout);
    assert.equal(doc.subtype, "error_validation");
    assert.deepEqual(doc.error.problems.map((p: { message: string }) => p.message), ["must be object, got null"]);
  } finally {
    dir.cleanup();
  }
});

// ---------------------------------------------------------------- schema

Deno.test("schema: unknown top-level field with did-you-mean", async () => {
  const text = `{
  "ir_version": "0.1.0",
  "nodes": [${ECHO}],
  "edgse": []
}`;
  const outcome = await runInvalid(text);
  assertOnly(
    outcome,
    "4:3: /edgse: unknown field 'edgse' (did you mean 'edges'?); allowed: ir_version, name, description, nodes, edges, start_node, inputs, outputs, enable_namespacing, limits",
  );
});

Deno.test("schema: unknown node field with did-you-mean", async () => {
  const text = `{
  "ir_version": "0.1.0",
  "nodes": [
    { "id": "a", "type": "echo", "parms": {} }
  ]
}`;
  const outcome = await runInvalid(text);
  assertOnly(
    outcome,
    "4:34: /nodes/0/parms: unknown field 'parms' (did you mean 'params'?); allowed: id, type, params, purpose, batch",
  );
});

Deno.test("schema: node missing type", async () => {
  const text = `{
  "ir_version": "0.1.0",
  "nodes": [
    { "id": "a" }
  ]
}`;
  const outcome = await runInvalid(text);
  assertOnly(outcome, "4:5: /nodes/0: missing required field 'type'");
});

Deno.test("schema: missing nodes", async () => {
  const outcome = await runInvalid(`{ "ir_version": "0.1.0" }`);
  assertOnly(outcome, "1:1: missing required field 'nodes'");
});

Deno.test("schema: wrong type of a field", async () => {
  const text = `{
  "ir_version": "0.1.0",
  "nodes": [
    { "id": "a", "type": "echo", "params": "value" }
  ]
}`;
  const outcome = await runInvalid(text);
  assertOnly(outcome, "4:34: /nodes/0/params: must be object, got string");
});

Deno.test("schema: bad node id pattern", async () => {
  const text = `{
  "ir_version": "0.1.0",
  "nodes": [
    { "id": "1st node", "type": "echo" }
  ]
}`;
  const outcome = await runInvalid(text);
  assertOnly(outcome, "4:7: /nodes/0/id: must be a name: letters, digits, '_' and '-', starting with a letter or '_'");
});

Deno.test("schema: bad ir_version", async () => {
  const text = `{
  "ir_version": "2.0",
  "nodes": [${ECHO}]
}`;
  const outcome = await runInvalid(text);
  assertOnly(outcome, `2:3: /ir_version: unsupported ir_version; this pflow reads 0.1.x (use "0.1.0")`);
});

Deno.test("schema: batch.items of the wrong type", async () => {
  const text = `{
  "ir_version": "0.1.0",
  "nodes": [
    { "id": "a", "type": "echo", "batch": { "items": 5 } }
  ]
}`;
  const outcome = await runInvalid(text);
  assertOnly(outcome, `4:45: /nodes/0/batch/items: must be a template string like "\${node.list}" or an array`);
});

Deno.test("schema: batch.items string without a template", async () => {
  const text = `{
  "ir_version": "0.1.0",
  "nodes": [
    { "id": "a", "type": "echo", "batch": { "items": "a,b" } }
  ]
}`;
  const outcome = await runInvalid(text);
  assertOnly(outcome, `4:45: /nodes/0/batch/items: must be a template like "\${node.list}" or an array`);
});

Deno.test("schema: edge missing 'to'", async () => {
  const text = `{
  "ir_version": "0.1.0",
  "nodes": [${ECHO}],
  "edges": [
    { "from": "a" }
  ]
}`;
  const outcome = await runInvalid(text);
  assertOnly(outcome, "5:5: /edges/0: missing required field 'to'");
});

Deno.test("schema: every schema problem is reported, one per line", async () => {
  const text = `{
  "ir_version": "0.1.0",
  "nodes": [
    { "id": "a" },
    { "id": "b", "type": 3 }
  ],
  "nodse": []
}`;
  const outcome = await runInvalid(text);
  assert.deepEqual(
    outcome.errors.toSorted(),
    [
      `${outcome.file}:4:5: /nodes/0: missing required field 'type'`,
      `${outcome.file}:5:18: /nodes/1/type: must be string, got number`,
      `${outcome.file}:7:3: /nodse: unknown field 'nodse' (did you mean 'nodes'?); allowed: ir_version, name, description, nodes, edges, start_node, inputs, outputs, enable_namespacing, limits`,
    ].toSorted(),
  );
});

// ---------------------------------------------------------------- structure

Deno.test("duplicate node ids", async () => {
  const text = `{
  "ir_version": "0.1.0",
  "nodes": [
    { "id": "a", "type": "echo" },
    { "id": "a", "type": "echo" }
  ]
}`;
  const outcome = await runInvalid(text);
  assertOnly(outcome, "5:7: /nodes/1/id: duplicate node id 'a'; ids must be unique");
});

Deno.test("edge to an unknown node, with did-you-mean", async () => {
  const text = `{
  "ir_version": "0.1.0",
  "nodes": [
    { "id": "fetch", "type": "echo" },
    { "id": "summarize", "type": "echo" }
  ],
  "edges": [
    { "from": "fetch", "to": "sumarize" }
  ]
}`;
  const outcome = await runInvalid(text);
  assertOnly(
    outcome,
    "8:24: /edges/0/to: unknown node 'sumarize' (did you mean 'summarize'?); nodes: fetch, summarize",
  );
});

Deno.test("unknown start_node", async () => {
  const text = `{
  "ir_version": "0.1.0",
  "start_node": "fech",
  "nodes": [
    { "id": "fetch", "type": "echo" }
  ]
}`;
  const outcome = await runInvalid(text);
  assertOnly(outcome, "3:3: /start_node: unknown node 'fech' (did you mean 'fetch'?)");
});

Deno.test("a node id equal to an input name", async () => {
  const text = `{
  "ir_version": "0.1.0",
  "inputs": { "topic": { "type": "string", "required": false } },
  "nodes": [
    { "id": "topic", "type": "echo" }
  ]
}`;
  const outcome = await runInvalid(text);
  assertOnly(outcome, "5:7: /nodes/0/id: node id 'topic' is also an input name; rename one");
});

// ---------------------------------------------------------------- node types and params

Deno.test("unknown node type with did-you-mean", async () => {
  const text = `{
  "ir_version": "0.1.0",
  "nodes": [
    { "id": "a", "type": "read_file", "params": { "path": "x" } }
  ]
}`;
  const outcome = await runInvalid(text);
  assertOnly(
    outcome,
    "4:18: /nodes/0/type: unknown node type 'read_file' (did you mean 'read-file'?); known types: copy-file, delete-file, echo, http, llm, move-file, read-file, shell, write-file",
  );
});

Deno.test("a param the node type does not accept, with did-you-mean", async () => {
  const text = `{
  "ir_version": "0.1.0",
  "nodes": [
    { "id": "a", "type": "shell", "params": { "command": "true", "timout": 5 } }
  ]
}`;
  const outcome = await runInvalid(text);
  assertOnly(
    outcome,
    "4:66: /nodes/0/params/timout: 'shell' does not accept param 'timout' (did you mean 'timeout'?); accepted: command, args, cwd, env, stdin, timeout, ignore_errors, max_output_bytes, stdout_encoding",
  );
});

Deno.test("a param of the wrong literal type", async () => {
  const text = `{
  "ir_version": "0.1.0",
  "nodes": [
    { "id": "a", "type": "shell", "params": { "command": "true", "ignore_errors": "yes" } }
  ]
}`;
  const outcome = await runInvalid(text);
  assertOnly(outcome, `4:66: /nodes/0/params/ignore_errors: must be boolean, got string "yes"`);
});

Deno.test("a required param given as null, and null or a list where a shell node needs text", async () => {
  const text = `{
  "ir_version": "0.1.0",
  "nodes": [
    { "id": "a", "type": "write-file", "params": { "path": null, "content": "x" } },
    { "id": "b", "type": "shell", "params": { "args": ["echo", null, ["x"]] } },
    { "id": "c", "type": "shell", "params": { "command": "echo", "env": { "A": null, "B": {}, "C": 5, "D=": "x" } } }
  ],
  "edges": [{ "from": "a", "to": "b" }, { "from": "b", "to": "c" }]
}`;
  const outcome = await runInvalid(text);
  const at = escape(outcome.file);
  assert.equal(outcome.errors.length, 6, outcome.errors.join("\n"));
  assert.match(
    outcome.errors[0],
    new RegExp(`^${at}:4:\\d+: /nodes/0/params/path: 'write-file' requires param 'path' \\(.*\\), got null$`),
  );
  assert.match(
    outcome.errors[1],
    new RegExp(`^${at}:5:\\d+: /nodes/1/params/args: args\\[1\\] must be text \\(one argument\\), got null$`),
  );
  assert.match(
    outcome.errors[2],
    /args\[2\] must be text \(one argument\), got a list \(give one item per argument\)$/,
  );
  assert.match(
    outcome.errors[3],
    /\/nodes\/2\/params\/env: env\.A must be a string, got null \(convert it to a string\)$/,
  );
  assert.match(outcome.errors[4], /env\.B must be a string, got object/);
  assert.match(outcome.errors[5], /env: invalid variable name "D="$/);
});

Deno.test("a number too large to be one (1e400) anywhere in the file is a problem at its line:column", async () => {
  const text = `{
  "ir_version": "0.1.0",
  "limits": { "max_node_executions": 1e400 },
  "inputs": { "n": { "type": "number", "default": 1e400 } },
  "nodes": [
    { "id": "a", "type": "echo", "params": { "value": 1 }, "batch": { "items": [1, -1e400] } }
  ]
}`;
  const outcome = await runInvalid(text);
  assert.deepEqual(outcome.errors, [
    `${outcome.file}:3:15: /limits/max_node_executions: number too large (it reads as Infinity, which JSON cannot hold)`,
    `${outcome.file}:4:40: /inputs/n/default: number too large (it reads as Infinity, which JSON cannot hold)`,
    `${outcome.file}:6:84: /nodes/0/batch/items/1: number too large (it reads as -Infinity, which JSON cannot hold)`,
  ]);
});

Deno.test("limits.max_node_executions has the upper bound of --max-node-executions (2^53-1)", async () => {
  const workflow = (limit: string) =>
    `{"ir_version": "0.1.0", "limits": {"max_node_executions": ${limit}}, "nodes": [{"id": "a", "type": "echo", "params": {"value": 1}}]}`;
  assertOnly(
    await runInvalid(workflow("1e20")),
    "1:36: /limits/max_node_executions: out of range: 100000000000000000000 is greater than 9007199254740991.",
  );
  const dir = tempDir("pflow-validation-test-");
  try {
    const file = writeWorkflow(dir.path, "wf.json", workflow("9007199254740991"));
    const result = await runPflow(["run", file], { env: { PFLOW_HOME: dir.path } });
    assert.equal(result.code, 0, result.stderr);
  } finally {
    dir.cleanup();
  }
});

Deno.test("a number too large to be one (1e999) in a param is a problem at its place; given as key=value it stays text", async () => {
  const text = `{
  "ir_version": "0.1.0",
  "nodes": [
    { "id": "a", "type": "echo", "params": { "value": { "x": [1, 1e999] } } }
  ]
}`;
  const outcome = await runInvalid(text);
  assertOnly(
    outcome,
    "4:66: /nodes/0/params/value/x/1: number too large (it reads as Infinity, which JSON cannot hold)",
  );
  const dir = tempDir("pflow-validation-test-");
  try {
    const file = writeWorkflow(
      dir.path,
      "wf.json",
      `{"ir_version": "0.1.0", "nodes": [{"id": "a", "type": "echo", "params": {"value": "\${n}"}}]}`,
    );
    const result = await runPflow(["run", file, "n=1e999", "--output-format", "json"], {
      env: { PFLOW_HOME: dir.path },
    });
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout).result, { output: "1e999" });
  } finally {
    dir.cleanup();
  }
});

Deno.test("a number written with more digits than a JSON number keeps is a problem at its line:column, not rounded", async () => {
  const text = `{
  "ir_version": "0.1.0",
  "inputs": {
    "id": { "type": "integer", "default": 1234567890123456789 },
    "api_token": { "type": "number", "default": 98765432109876543210 }
  },
  "nodes": [
    { "id": "a", "type": "echo", "params": { "value": { "n": [9007199254740991, 3.14159265358979323846] } } },
    { "id": "b", "type": "shell", "params": { "command": "echo 12345678901234567890 \${id}" } }
  ],
  "edges": [{ "from": "a", "to": "b" }]
}`;
  const outcome = await runInvalid(text);
  assert.deepEqual(outcome.errors, [
    `${outcome.file}:4:32: /inputs/id/default: 1234567890123456789 cannot be held exactly by a JSON number here; it ` +
    'reads as 1234567890123456800; write it as a string ("1234567890123456789") and declare the input "type": ' +
    '"string" to keep every digit, or write 1234567890123456800',
    // Under a secret's name the number is not quoted.
    `${outcome.file}:5:38: /inputs/api_token/default: a number here cannot be held exactly by a JSON number; write ` +
    'it as a string and declare the input "type": "string" to keep every digit',
    `${outcome.file}:8:81: /nodes/0/params/value/n/1: 3.14159265358979323846 cannot be held exactly by a JSON ` +
    'number here; it reads as 3.141592653589793; write it as a string ("3.14159265358979323846") to keep every ' +
    "digit, or write 3.141592653589793",
  ]);
  // `pflow validate` says the same; written as the value it reads as (and digits inside text), the file runs.
  const dir = tempDir("pflow-validation-test-");
  try {
    const file = writeWorkflow(dir.path, "wf.json", text);
    const validate = await runPflow(["validate", file], { env: { PFLOW_HOME: dir.path } });
    assert.equal(validate.code, 2, validate.stderr);
    assert.match(validate.stderr, /wf\.json:4:32: \/inputs\/id\/default: 1234567890123456789 cannot be held exactly/);
    const exact = text.replace("1234567890123456789", "1234567890123456800").replace("98765432109876543210", "1")
      .replace("3.14159265358979323846", "3.141592653589793");
    writeWorkflow(dir.path, "wf.json", exact);
    const run = await runPflow(["run", file], { env: { PFLOW_HOME: dir.path } });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, "12345678901234567890 1234567890123456800\n");
  } finally {
    dir.cleanup();
  }
});

Deno.test("a missing required param", async () => {
  const text = `{
  "ir_version": "0.1.0",
  "nodes": [
    { "id": "a", "type": "write-file", "params": { "content": "x" } }
  ]
}`;
  const outcome = await runInvalid(text);
  assert.equal(outcome.errors.length, 1);
  assert.match(
    outcome.errors[0],
    new RegExp(`^${escape(outcome.file)}:4:40: /nodes/0/params: 'write-file' requires param 'path' \\(`),
  );
});

// ---------------------------------------------------------------- templates

Deno.test("a template referencing a node that does not exist", async () => {
  const text = `{
  "ir_version": "0.1.0",
  "nodes": [
    { "id": "fetch", "type": "shell", "params": { "command": "true" } },
    { "id": "show", "type": "echo", "params": { "value": "\${fetc.stdout}" } }
  ],
  "edges": [{ "from": "fetch", "to": "show" }]
}`;
  const outcome = await runInvalid(text);
  assert.equal(outcome.errors.length, 1);
  assert.ok(
    outcome.errors[0].startsWith(
      `${outcome.file}:5:49: /nodes/1/params/value: \${fetc.stdout}: 'fetc' is not a node id, an input or stdin`,
    ),
    outcome.errors[0],
  );
  assert.match(outcome.errors[0], /did you mean 'fetch'/);
  assert.match(outcome.errors[0], /nodes: fetch, show; inputs: none/);
});

Deno.test("a template referencing an output its node type does not declare, with did-you-mean", async () => {
  const text = `{
  "ir_version": "0.1.0",
  "nodes": [
    { "id": "fetch", "type": "shell", "params": { "command": "true" } },
    { "id": "show", "type": "echo", "params": { "value": "\${fetch.stdot}" } }
  ],
  "edges": [{ "from": "fetch", "to": "show" }]
}`;
  const outcome = await runInvalid(text);
  assertOnly(
    outcome,
    "5:49: /nodes/1/params/value: ${fetch.stdot}: node 'fetch' (shell) has no output 'stdot' (did you mean 'stdout'?); outputs: stdout, stderr, exit_code",
  );
});

Deno.test("a template reading a node that cannot have run yet: itself (on a loop too), or a node no edges lead from", async () => {
  const self = `{
  "ir_version": "0.1.0",
  "nodes": [{ "id": "a", "type": "echo", "params": { "value": "\${a.output}" } }]
}`;
  assertOnly(
    await runInvalid(self),
    "3:54: /nodes/0/params/value: ${a.output}: node 'a' reads its own output, which is empty while its params " +
      "resolve (on a loop too: each execution starts with an empty namespace); read another node's output",
  );
  const looping = `{
  "ir_version": "0.1.0",
  "nodes": [{ "id": "a", "type": "shell", "params": { "command": "echo \${a.stdout}" } }],
  "edges": [{ "from": "a", "to": "a", "action": "error" }]
}`;
  const onLoop = await runInvalid(looping);
  assert.equal(onLoop.errors.length, 1, onLoop.errors.join("\n"));
  assert.match(onLoop.errors[0], /node 'a' reads its own output/);
  const forward = `{
  "ir_version": "0.1.0",
  "nodes": [
    { "id": "a", "type": "echo", "params": { "value": ["\${b.output}"] } },
    { "id": "b", "type": "echo", "params": { "value": "x" } }
  ],
  "edges": [{ "from": "a", "to": "b" }]
}`;
  assertOnly(
    await runInvalid(forward),
    "4:56: /nodes/0/params/value/0: ${b.output}: node 'b' never runs before node 'a' (no edges lead from 'b' to " +
      "'a'), so its output is not there yet; wire 'b' before 'a'",
  );
});

Deno.test("a template reading a node upstream, or on the same loop, is valid and runs", async () => {
  const dir = tempDir("pflow-validation-test-");
  try {
    const file = writeWorkflow(
      dir.path,
      "loop.json",
      JSON.stringify({
        ir_version: "0.1.0",
        inputs: { n: { type: "integer", default: 0 } },
        nodes: [
          { id: "a", type: "echo", params: { value: "start" } },
          // b and c loop (c's error edge goes back to b) until a flag file exists; c reads b on the loop.
          { id: "b", type: "shell", params: { command: "echo ${a.output}" } },
          {
            id: "c",
            type: "shell",
            params: { command: "printf '${b.stdout}'; test -f flag || { touch flag; exit 1; }" },
          },
          { id: "d", type: "echo", params: { value: "${a.output} ${c.stdout}" } },
        ],
        edges: [{ from: "a", to: "b" }, { from: "b", to: "c" }, { from: "c", to: "b", action: "error" }, {
          from: "c",
          to: "d",
        }],
      }),
    );
    const result = await runPflow(["validate", file], { env: { PFLOW_HOME: dir.path } });
    assert.equal(result.code, 0, result.stderr);
    const run = await runPflow(["run", file], { env: { PFLOW_HOME: dir.path }, cwd: dir.path });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, "start start\n");
  } finally {
    dir.cleanup();
  }
});

Deno.test("a declared output whose source names an unknown output", async () => {
  const text = `{
  "ir_version": "0.1.0",
  "nodes": [${ECHO}],
  "outputs": { "out": { "source": "\${a.outptu}" } }
}`;
  const outcome = await runInvalid(text);
  assertOnly(
    outcome,
    "4:25: /outputs/out/source: ${a.outptu}: node 'a' (echo) has no output 'outptu' (did you mean 'output'?); outputs: output",
  );
});

Deno.test("invalid template syntax", async () => {
  const text = `{
  "ir_version": "0.1.0",
  "nodes": [
    { "id": "a", "type": "echo", "params": { "value": "\${a b}" } }
  ]
}`;
  const outcome = await runInvalid(text);
  assertOnly(
    outcome,
    "4:46: /nodes/0/params/value: invalid template '${a b}': expected a path like ${name}, ${node.key}, ${node.list[0].x} or ${node.list[*].x} (write $${ for a literal ${)",
  );
});

Deno.test("a ${ without a closing } is a problem at its field; $${ with no } after it runs as a literal ${", async () => {
  const text = `{
  "ir_version": "0.1.0",
  "nodes": [
    { "id": "a", "type": "echo", "params": { "value": { "k": 1 } } },
    { "id": "b", "type": "echo", "params": { "value": "x \${a.output.k y \${a.output" } }
  ],
  "edges": [{ "from": "a", "to": "b" }],
  "outputs": { "o": { "source": "\${b.output" } }
}`;
  const outcome = await runInvalid(text);
  assert.deepEqual(outcome.errors, [
    `${outcome.file}:5:46: /nodes/1/params/value: unclosed template '\${a.output.k y \${a.output': a \${ needs a closing } (write $\${ for a literal \${)`,
    `${outcome.file}:8:23: /outputs/o/source: unclosed template '\${b.output': a \${ needs a closing } (write $\${ for a literal \${)`,
  ]);
  const dir = tempDir("pflow-validation-test-");
  try {
    const file = writeWorkflow(
      dir.path,
      "wf.json",
      `{"ir_version": "0.1.0", "nodes": [{"id": "a", "type": "echo", "params": {"value": "cost $\${ and $\${HOME} and $$$\${x} and $$\${n}"}}]}`,
    );
    const result = await runPflow(["run", file, "n=1", "--output-format", "json"], { env: { PFLOW_HOME: dir.path } });
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout).result, { output: "cost ${ and ${HOME} and $${x} and $1" });
  } finally {
    dir.cleanup();
  }
});

Deno.test("columns count characters: an emoji or accent earlier on the line counts once", async () => {
  const text = `{
  "ir_version": "0.1.0", "description": "😀 café 👍🏽",
  "nodes": [{ "id": "a", "type": "echo", "params": { "value": "😀😀", "bogus": 1 } }],
  "edgez": [], "name": "ü"
}`;
  const outcome = await runInvalid(text);
  assert.deepEqual(outcome.errors, [
    `${outcome.file}:3:69: /nodes/0/params/bogus: 'echo' does not accept param 'bogus'; accepted: value, delay_ms, fail`,
    `${outcome.file}:4:3: /edgez: unknown field 'edgez' (did you mean 'edges'?); allowed: ir_version, name, description, nodes, edges, start_node, inputs, outputs, enable_namespacing, limits`,
  ]);
  const dup = await runInvalid(`{"ir_version": "0.1.0", "description": "😀", "description": "x", "nodes": []}`);
  assert.ok(
    dup.errors.some((e) => e.includes("duplicate key 'description' at line 1:25 and line 1:45")),
    dup.errors.join("\n"),
  );
});

// ---------------------------------------------------------------- inputs
Deno.test('"required": true with a "default" is a problem: they contradict', async () => {
  const text = `{
  "ir_version": "0.1.0",
  "inputs": {
    "n": { "type": "string", "required": true, "default": "d" },
    "m": { "type": "string", "required": false, "default": "d" },
    "k": { "type": "string", "default": "d" }
  },
  "nodes": [{ "id": "a", "type": "echo", "params": { "value": "\${n}\${m}\${k}" } }]
}`;
  const outcome = await runInvalid(text);
  assertOnly(
    outcome,
    `4:30: /inputs/n/required: input 'n': "required": true and a "default" contradict (a default makes it optional); remove one`,
  );
});

const WITH_INPUT = `{
  "ir_version": "0.1.0",
  "inputs": {
    "count": { "type": "integer", "description": "How many" }
  },
  "nodes": [
    { "id": "a", "type": "echo", "params": { "value": "\${count}" } }
  ]
}`;

Deno.test("a missing required input says pass NAME=VALUE", async () => {
  const outcome = await runInvalid(WITH_INPUT);
  assertOnly(outcome, "4:5: /inputs/count: missing required input 'count' (How many): pass count=VALUE");
});

Deno.test("an input of the wrong type", async () => {
  const outcome = await runInvalid(WITH_INPUT, ["count=many"]);
  assertOnly(outcome, `4:5: /inputs/count: input 'count' must be an integer, got 'many' (from count=…)`);
  const fraction = await runInvalid(WITH_INPUT, ["count=1.5"]);
  assertOnly(fraction, `4:5: /inputs/count: input 'count' must be a whole number, got '1.5' (from count=…)`);
});

Deno.test("every input problem at once: a mistyped input, a missing one and a key that is no input", async () => {
  const text = `{
  "ir_version": "0.1.0",
  "inputs": {
    "count": { "type": "integer" },
    "name": { "type": "string" }
  },
  "nodes": [${ECHO}]
}`;
  const outcome = await runInvalid(text, ["count=many", "nmae=x"]);
  assert.deepEqual(
    outcome.errors.toSorted(),
    [
      `${outcome.file}:4:5: /inputs/count: input 'count' must be an integer, got 'many' (from count=…)`,
      `${outcome.file}:5:5: /inputs/name: missing required input 'name': pass name=VALUE`,
      `${outcome.file}: 'nmae=…' is not an input of this workflow (did you mean 'name'?); inputs: count, name`,
    ].toSorted(),
  );
});

Deno.test("an input default that does not match its type", async () => {
  const text = `{
  "ir_version": "0.1.0",
  "inputs": {
    "flag": { "type": "boolean", "default": "yes" }
  },
  "nodes": [${ECHO}]
}`;
  const outcome = await runInvalid(text);
  assertOnly(outcome, "4:34: /inputs/flag/default: default does not match type 'boolean'");
});

// ---------------------------------------------------------------- environment

Deno.test("an llm node whose provider key is missing", async () => {
  const text = `{
  "ir_version": "0.1.0",
  "nodes": [
    { "id": "ask", "type": "llm", "params": { "prompt": "hi", "model": "anthropic/claude-sonnet-4-5" } }
  ]
}`;
  const outcome = await runInvalid(text);
  assert.equal(outcome.errors.length, 1);
  assert.ok(outcome.errors[0].startsWith(`${outcome.file}:4:63: /nodes/0/params/model: `), outcome.errors[0]);
  assert.match(outcome.errors[0], /ANTHROPIC_API_KEY is not set/);
  // With the key set the workflow validates (the same file is not rejected for the key).
  const dir = tempDir("pflow-validation-test-");
  try {
    const file = writeWorkflow(dir.path, "wf.json", text);
    const result = await runPflow(["workflow", "save", file, "--name", "ask"], { env: { PFLOW_HOME: dir.path } });
    assert.equal(result.code, 0, `saving does not check this machine's keys: ${result.stderr}`);
  } finally {
    dir.cleanup();
  }
});

Deno.test("settings.json with invalid JSON in PFLOW_HOME", async () => {
  const outcome = await runInvalid(`{ "ir_version": "0.1.0", "nodes": [${ECHO}] }`, [], {
    settings: `{ "default_model": `,
  });
  assert.equal(outcome.errors.length, 1);
  assert.match(outcome.errors[0], /\/home\/settings\.json:1:20: invalid JSON: value expected at end of file/);
  const notObject = await runInvalid(`{ "ir_version": "0.1.0", "nodes": [${ECHO}] }`, [], { settings: `[]` });
  assert.match(notObject.errors[0], /settings\.json: settings must be a JSON object/);
});

// ---------------------------------------------------------------- several problems

Deno.test("several problems in one file are all reported, one per line", async () => {
  const text = `{
  "ir_version": "0.1.0",
  "nodes": [
    { "id": "a", "type": "shel", "params": { "command": "true" } },
    { "id": "b", "type": "echo", "params": { "valu": 1 } },
    { "id": "c", "type": "echo", "params": { "value": "\${ghost.x}" } }
  ],
  "edges": [
    { "from": "a", "to": "b" },
    { "from": "b", "to": "nowhere" }
  ]
}`;
  const outcome = await runInvalid(text);
  const f = outcome.file;
  assert.deepEqual(outcome.errors.toSorted(), [
    `${f}:10:20: /edges/1/to: unknown node 'nowhere'; nodes: a, b, c`,
    `${f}:4:18: /nodes/0/type: unknown node type 'shel' (did you mean 'shell'?); known types: copy-file, delete-file, echo, http, llm, move-file, read-file, shell, write-file`,
    `${f}:5:46: /nodes/1/params/valu: 'echo' does not accept param 'valu' (did you mean 'value'?); accepted: value, delay_ms, fail`,
    `${f}:6:46: /nodes/2/params/value: \${ghost.x}: 'ghost' is not a node id, an input or stdin; nodes: a, b, c; inputs: none (declare it under "inputs", or pass ghost=VALUE)`,
  ]);
});

Deno.test("JSON mode: a file that cannot be read is named by its file name, by run and by validate", async () => {
  const dir = tempDir("pflow-validation-test-");
  try {
    const broken = writeWorkflow(dir.path, "broken-flow.json", "{ not json");
    mkdirSync(join(dir.path, "workflows"));
    writeFileSync(join(dir.path, "workflows", "saved-broken.json"), '{"ir_version":');
    const cases = [
      [broken, "broken-flow", broken],
      [join(dir.path, "absent.json"), "absent", join(dir.path, "absent.json")],
      ["saved-broken", "saved-broken", join(dir.path, "workflows", "saved-broken.json")],
    ];
    for (const [target, name, file] of cases) {
      const result = await runPflow(["run", target, "--output-format", "json"], { env: { PFLOW_HOME: dir.path } });
      assert.equal(result.code, 2, result.stderr);
      const doc = JSON.parse(result.stdout);
      assert.equal(doc.subtype, "error_validation");
      assert.equal(doc.workflow_name, name);
      const validated = await runPflow(["validate", target, "--json"], { env: { PFLOW_HOME: dir.path } });
      assert.equal(validated.code, 2, validated.stderr);
      const report = JSON.parse(validated.stdout);
      assert.equal(report.workflow_name, name);
      assert.equal(report.file, file);
      assert.equal(report.problems[0].file, file);
    }
  } finally {
    dir.cleanup();
  }
});

Deno.test("JSON mode: problems carry pointer, line and column", async () => {
  const problems = await jsonProblems(`{
  "ir_version": "0.1.0",
  "nodes": [
    { "id": "a", "type": "shel" },
    { "id": "a", "type": "echo" }
  ]
}`);
  const byPointer = Object.fromEntries(problems.map((p) => [p.pointer, p]));
  assert.deepEqual(Object.keys(byPointer).sort(), ["/nodes/0/type", "/nodes/1/id"]);
  assert.equal(byPointer["/nodes/0/type"].line, 4);
  assert.equal(byPointer["/nodes/0/type"].column, 18);
  assert.match(byPointer["/nodes/0/type"].message, /unknown node type 'shel'/);
  assert.equal(byPointer["/nodes/1/id"].line, 5);
  assert.equal(byPointer["/nodes/1/id"].column, 7);
  // A syntax error is a problem with a line and column but no pointer.
  const syntax = await jsonProblems(`{\n  "nodes": [,]\n}`);
  assert.equal(syntax.length, 1);
  assert.equal(syntax[0].line, 2);
  assert.equal(syntax[0].column, 13);
  assert.match(syntax[0].message, /^invalid JSON: /);
  // Input problems too.
  const inputs = await jsonProblems(WITH_INPUT, ["count=x"]);
  assert.deepEqual(inputs.map((p) => [p.pointer, p.line, p.column]), [["/inputs/count", 4, 5]]);
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

Deno.test("problems are reported in file order, and short names get no far-fetched suggestion", async () => {
  const dir = tempDir("pflow-order-");
  try {
    const file = writeWorkflow(dir.path, "order.json", {
      ir_version: "0.1.0",
      nodes: [{ id: "a", type: "nosuch" }],
      edges: [{ from: "a", to: "zz" }],
    });
    const result = await runPflow(["run", file], { env: { PFLOW_HOME: dir.path } });
    assert.equal(result.code, 2);
    const lines = result.stderr.trim().split("\n");
    assert.match(lines[0], /\/nodes\/0\/type: unknown node type 'nosuch'/);
    assert.match(lines[1], /\/edges\/0\/to: unknown node 'zz'; nodes: a$/);
  } finally {
    dir.cleanup();
  }
});

Deno.test("numbers too large: the first 20 one by one, then how many more; a key with / or ~ is located at itself", async () => {
  const many = Array.from({ length: 5000 }, () => "1e400").join(", ");
  const text = `{
  "ir_version": "0.1.0",
  "nodes": [{ "id": "a", "type": "echo", "params": { "value": 1 }, "batch": { "items": [${many}] } }]
}`;
  const outcome = await runInvalid(text);
  assert.equal(outcome.errors.length, 21, outcome.errors.slice(0, 3).join("\n"));
  assert.match(outcome.errors[0], /:3:\d+: \/nodes\/0\/batch\/items\/0: number too large/);
  assert.match(outcome.errors[20], /\/nodes\/0\/batch\/items\/20: and 4980 more numbers too large, from here on$/);
  const slash = await runInvalid(`{
  "ir_version": "0.1.0",
  "nodes": [{ "id": "a", "type": "shell", "params": { "command": "true", "env": { "A/B~C": 1e400 } } }]
}`);
  const line = slash.errors.find((e) => e.includes("A~1B~0C"))!;
  const column = Number(/:3:(\d+):/.exec(line)![1]);
  const lineText =
    `  "nodes": [{ "id": "a", "type": "shell", "params": { "command": "true", "env": { "A/B~C": 1e400 } } }]`;
  assert.equal(column, lineText.indexOf('"A/B~C"') + 1, line);
});

Deno.test("a node reading an optional input without a default is warned about before the run, not only when it fails", async () => {
  const dir = tempDir("pflow-validation-test-");
  try {
    const home = join(dir.path, "home");
    mkdirSync(home);
    const env = { PFLOW_HOME: home };
    const workflow = (input: Record<string, unknown>) =>
      JSON.stringify({
        ir_version: "0.1.0",
        inputs: { name: { type: "string", ...input }, other: { type: "string", required: false } },
        nodes: [
          { id: "first", type: "echo", params: { value: "start" } },
          { id: "greet", type: "echo", params: { value: "hi ${name}" } },
          { id: "twice", type: "echo", params: { value: "${name} and ${name}" } },
        ],
        edges: [{ from: "first", to: "greet" }, { from: "greet", to: "twice" }],
      });
    const file = writeWorkflow(dir.path, "optional.json", workflow({ required: false }));
    const expected = (node: string) =>
      `warning: node '${node}' reads \${name}, an optional input without a default: a run not given name=VALUE ` +
      `fails at this node; give the input a "default" (such as "") or make it required`;

    // `pflow validate`: valid, with one warning per reading node (not per reference); `other` is read by none.
    const checked = await runPflow(["validate", file], { env });
    assert.equal(checked.code, 0, checked.stderr);
    assert.deepEqual(checked.stderr.trim().split("\n"), [expected("greet"), expected("twice")]);
    const json = await runPflow(["validate", "--json", file], { env });
    assert.equal(json.code, 0, json.stderr);
    const document = JSON.parse(json.stdout);
    assert.equal(document.valid, true);
    assert.deepEqual(document.warnings, [expected("greet"), expected("twice")].map((w) => w.slice("warning: ".length)));

    // A run not given it: warned before any node runs, then fails at the node as the warning said.
    const failed = await runPflow(["run", file], { env });
    assert.equal(failed.code, 1, failed.stderr);
    const lines = failed.stderr.trim().split("\n");
    assert.equal(lines[0], expected("greet"));
    assert.match(
      lines.at(-1)!,
      /node 'greet' failed: param 'value': cannot resolve \$\{name\}: input 'name' was not given/,
    );

    // Given it, or given a default: no warning.
    const given = await runPflow(["run", file, "name=Ada"], { env });
    assert.equal(given.code, 0, given.stderr);
    assert.equal(given.stderr, "");
    assert.match(given.stdout, /Ada and Ada/);
    const withDefault = writeWorkflow(dir.path, "default.json", workflow({ required: false, default: "" }));
    const defaulted = await runPflow(["validate", withDefault], { env });
    assert.equal(defaulted.code, 0, defaulted.stderr);
    assert.equal(defaulted.stderr, "");
    // A required input is not warned about: a run without it stops before any node, exit 2.
    const required = writeWorkflow(dir.path, "required.json", workflow({ required: true }));
    const missing = await runPflow(["run", required], { env });
    assert.equal(missing.code, 2, missing.stderr);
    assert.doesNotMatch(missing.stderr, /optional input/);
  } finally {
    dir.cleanup();
  }
});

Deno.test("a batch variable may not hide stdin or a key given for the run", async () => {
  const text = (as: string, items = '["p", "q"]') =>
    `{
  "ir_version": "0.1.0",
  "nodes": [{ "id": "b", "type": "echo", "params": { "value": "\${${as}}" }, "batch": { "items": ${items}, "as": "${as}" } }]
}`;
  const piped = await runInvalid(text("stdin", '"${stdin}"'), [], {});
  assert.deepEqual(piped.errors, [
    `${piped.file}:3:109: /nodes/0/batch/as: batch variable 'stdin' hides the piped input \${stdin}; choose another 'as'`,
  ]);
  const given = await runInvalid(text("x"), ["x=5"]);
  assert.deepEqual(given.errors, [
    `${given.file}:3:105: /nodes/0/batch/as: batch variable 'x' hides 'x=…', given for this run: \${x} would read ` +
    `the item; choose another 'as' (or give the value another name)`,
  ]);
  // Without x=5 the same workflow runs.
  const dir = tempDir("pflow-validation-test-");
  try {
    const file = writeWorkflow(dir.path, "wf.json", text("x"));
    const result = await runPflow(["run", file, "--output-format", "json"], { env: { PFLOW_HOME: dir.path } });
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout).result, { results: [{ output: "p" }, { output: "q" }] });
  } finally {
    dir.cleanup();
  }
});

Deno.test("a template in an object key is a problem at the key, in every param and in batch items; $${ in a key is a literal ${", async () => {
  const text = `{
  "ir_version": "0.1.0",
  "inputs": { "k": { "type": "string" }, "hname": { "type": "string" } },
  "nodes": [
    { "id": "h", "type": "http", "params": { "url": "http://127.0.0.1:9/echo", "query": { "\${k}": "v" },
      "headers": { "\${hname}": "v" } } },
    { "id": "s", "type": "shell", "batch": { "items": [{ "a/b": { "n\${k}": 1 } }] },
      "params": { "command": "env", "env": { "\${nope}": "1" } } }
  ],
  "edges": [{ "from": "h", "to": "s" }]
}`;
  const fix = (param?: string) =>
    "write the key out, or give the whole object as one template naming an object input or a node's JSON output" +
    (param === undefined ? "" : ` ("${param}": "\${name}")`) + "; write $${ for a literal ${";
  const expected = (file: string) => [
    `${file}:5:91: /nodes/0/params/query/\${k}: \${k} is in an object key, and templates are resolved only in values: ` +
    fix("query"),
    `${file}:6:20: /nodes/0/params/headers/\${hname}: \${hname} is in an object key, and templates are resolved ` +
    `only in values: ${fix("headers")}`,
    `${file}:7:67: /nodes/1/batch/items/0/a~1b/n\${k}: \${k} is in an object key, and templates are resolved only ` +
    `in values: ${fix()}`,
    `${file}:8:46: /nodes/1/params/env/\${nope}: \${nope} is in an object key, and templates are resolved only in ` +
    `values: ${fix("env")}`,
  ];
  const outcome = await runInvalid(text, ["k=a", "hname=X-A"]);
  assert.deepEqual(outcome.errors, expected(outcome.file));
  const dir = tempDir("pflow-validation-test-");
  try {
    const file = writeWorkflow(dir.path, "wf.json", text);
    const validated = await runPflow(["validate", file], { env: { PFLOW_HOME: dir.path } });
    assert.equal(validated.code, 2, validated.stderr);
    assert.deepEqual(validated.stderr.trimEnd().split("\n").map((l) => l.replace(/^error: /, "")), expected(file));
    // Escapes in keys are written out as in values; other `$` stay as written.
    const escaped = writeWorkflow(
      dir.path,
      "escaped.json",
      `{"ir_version": "0.1.0", "nodes": [{"id": "a", "type": "echo", "params": {"value": {"$\${x}": 1, "a$$b": 2, "$$$\${y}": {"k": "$\${z}"}}}}]}`,
    );
    const result = await runPflow(["run", escaped, "--output-format", "json"], { env: { PFLOW_HOME: dir.path } });
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout).result, { output: { "${x}": 1, "a$$b": 2, "$${y}": { k: "${z}" } } });
  } finally {
    dir.cleanup();
  }
});

Deno.test("a template problem inside a key with / or ~ is located at that key", async () => {
  const text = `{
  "ir_version": "0.1.0",
  "nodes": [
    { "id": "a", "type": "echo", "params": { "value": { "a/b": "x",
      "c/d~": "\${nope}" } } }
  ]
}`;
  const outcome = await runInvalid(text);
  assertOnly(
    outcome,
    "5:7: /nodes/0/params/value/c~1d~0: ${nope}: 'nope' is not a node id, an input or stdin; nodes: a; inputs: none " +
      `(declare it under "inputs", or pass nope=VALUE)`,
  );
});

Deno.test("an input may not be named stdin: piped stdin would overwrite it", async () => {
  // Required, or optional without a default (no warning then tells to give stdin=VALUE, which cannot help).
  const texts = ['{ "type": "integer" }', '{ "type": "integer", "required": false }'].map((input) =>
    `{
  "ir_version": "0.1.0",
  "inputs": { "stdin": ${input} },
  "nodes": [{ "id": "s", "type": "shell", "params": { "command": "expr \${stdin} + 1" } }]
}`
  );
  const message = `3:15: /inputs/stdin: 'stdin' is reserved for piped input (\${stdin}), which would overwrite the ` +
    `input; rename the input (to fill an input from piped stdin, mark it "stdin": true)`;
  const dir = tempDir("pflow-validation-test-");
  try {
    const env = { PFLOW_HOME: dir.path };
    for (const [i, text] of texts.entries()) {
      const file = writeWorkflow(dir.path, `wf${i}.json`, text);
      for (
        const [args, stdin] of [
          [["validate", file], undefined],
          [["run", file, "stdin=5"], "not a number\n"],
          [["run", file], "piped\n"],
          [["run", file, "stdin=5"], undefined],
          [["run", file], undefined],
        ] as const
      ) {
        const result = await runPflow([...args], { env, stdin });
        const explain = `${args.join(" ")}: exit ${result.code}\n${result.stderr}`;
        assert.equal(result.code, 2, explain);
        assert.equal(result.stderr, `error: ${file}:${message}\n`, explain);
        assert.equal(result.stdout, "", explain);
      }
    }
  } finally {
    dir.cleanup();
  }
});

Deno.test("stdin=VALUE fills ${stdin} when nothing is piped; given and piped both, it is exit 2, not overwritten", async () => {
  const dir = tempDir("pflow-validation-test-");
  try {
    const file = writeWorkflow(
      dir.path,
      "wf.json",
      `{"ir_version": "0.1.0", "nodes": [{"id": "e", "type": "echo", "params": {"value": "\${stdin}"}}]}`,
    );
    const env = { PFLOW_HOME: dir.path };
    const given = await runPflow(["run", file, "stdin=given"], { env });
    assert.equal(given.code, 0, given.stderr);
    assert.equal(given.stdout, "given\n");
    const piped = await runPflow(["run", file], { env, stdin: "piped" });
    assert.equal(piped.code, 0, piped.stderr);
    assert.equal(piped.stdout, "piped\n");
    const both = await runPflow(["run", file, "stdin=given"], { env, stdin: "piped" });
    assert.equal(both.code, 2, both.stderr);
    assert.equal(
      both.stderr,
      `error: ${file}: 'stdin=…' was given, and stdin was piped too: both would be \${stdin}; give only one\n`,
    );
    assert.equal(both.stdout, "");
  } finally {
    dir.cleanup();
  }
});

Deno.test("a problem a node type's own check finds points at its param (line:column on the param), or at params for a pair", async () => {
  const oneLine = await runInvalid(
    `{"ir_version":"0.1.0","nodes":[{"id":"h","type":"http","params":{"url":"http://127.0.0.1:99999/"}}]}`,
  );
  assertOnly(
    oneLine,
    `1:66: /nodes/0/params/url: param 'url': invalid URL: "http://127.0.0.1:99999/" (give an absolute http:// or ` +
      "https:// URL)",
  );
  const text = `{
  "ir_version": "0.1.0",
  "nodes": [
    { "id": "a", "type": "llm", "params": { "model": "openai/gpt-4o", "prompt": " ",
      "max_retries": 99, "thinking": 2000, "schema_name": "a b" } },
    { "id": "b", "type": "shell", "params": { "command": "x", "args": ["y"] } },
    { "id": "c", "type": "shell", "params": { "args": [] } }
  ],
  "edges": [{ "from": "a", "to": "b" }, { "from": "b", "to": "c" }]
}`;
  const outcome = await runInvalid(text, [], { env: { OPENAI_API_KEY: "sk-test" } });
  assert.deepEqual(outcome.errors.map((e) => e.slice(outcome.file.length + 1)), [
    "4:71: /nodes/0/params/prompt: prompt is empty: the model needs text to answer",
    "5:7: /nodes/0/params/max_retries: param 'max_retries' must be from 0 to 10, got 99",
    "5:26: /nodes/0/params/thinking: thinking is a thinking budget for Anthropic and Google models; " +
    "'openai/gpt-4o' does not take it (use reasoning_effort)",
    `5:44: /nodes/0/params/schema_name: schema_name must be 1-64 letters, digits, '_' or '-', got "a b"`,
    "6:35: /nodes/1/params: give either 'command' (a command line run by /bin/sh -c) or 'args' (a program and " +
    "its arguments, no shell), not both",
    "7:47: /nodes/2/params/args: 'args' needs at least the program to run: [program, arg, ...]",
  ]);
});

Deno.test("llm: a null prompt or messages is not given, as for every other param: neither given is a validation error", async () => {
  const text = `{
  "ir_version": "0.1.0",
  "nodes": [
    { "id": "a", "type": "llm", "params": { "model": "openai/gpt-4o", "prompt": "hi" } },
    { "id": "b", "type": "llm", "params": { "model": "openai/gpt-4o", "prompt": null } },
    { "id": "c", "type": "llm", "params": { "model": "openai/gpt-4o", "prompt": "hi", "messages": null } },
    { "id": "d", "type": "llm", "params": { "model": "openai/gpt-4o", "prompt": null, "messages": null } }
  ],
  "edges": [{ "from": "a", "to": "b" }, { "from": "b", "to": "c" }, { "from": "c", "to": "d" }]
}`;
  const outcome = await runInvalid(text, [], { env: { OPENAI_API_KEY: "sk-test" } });
  assert.deepEqual(outcome.errors.map((e) => e.slice(outcome.file.length + 1)), [
    "5:71: /nodes/1/params/prompt: prompt must be a string (or give messages)",
    "7:71: /nodes/3/params/prompt: prompt must be a string (or give messages)",
  ]);
});

Deno.test("templates in a literal list of batch items are checked as a param's are", async () => {
  const text = `{
  "ir_version": "0.1.0",
  "inputs": { "a": { "type": "string" } },
  "nodes": [
    { "id": "e", "type": "echo", "batch": { "items": ["\${a}", { "k": "\${nope}" }, "$\${x}"] },
      "params": { "value": "\${item}" } }
  ]
}`;
  const outcome = await runInvalid(text, ["a=1"]);
  assertOnly(
    outcome,
    "5:65: /nodes/0/batch/items/1/k: ${nope}: 'nope' is not a node id, an input or stdin; nodes: e; inputs: a " +
      `(declare it under "inputs", or pass nope=VALUE)`,
  );
  const dir = tempDir("pflow-validation-test-");
  try {
    const file = writeWorkflow(dir.path, "wf.json", text.replace("\${nope}", "\${a}"));
    const result = await runPflow(["run", file, "a=1", "--output-format", "json"], { env: { PFLOW_HOME: dir.path } });
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout).result, {
      results: [{ output: "1" }, { output: { k: "1" } }, { output: "${x}" }],
    });
  } finally {
    dir.cleanup();
  }
});

Deno.test("a template naming an input known before the run (its default, a given value) is checked as the run checks its value", async () => {
  const dir = tempDir("pflow-validation-test-");
  try {
    const side = join(dir.path, "side.txt");
    const text = `{
  "ir_version": "0.1.0",
  "inputs": {
    "enc": { "type": "string", "default": "utf-8" },
    "secs": { "type": "number", "default": 0 },
    "list": { "type": "string", "default": "a,b" }
  },
  "nodes": [
    { "id": "first", "type": "shell", "params": { "command": "echo ran >> ${side}" } },
    { "id": "read", "type": "read-file", "params": { "path": "${side}", "encoding": "\${enc}" } },
    { "id": "wait", "type": "shell", "params": { "command": "true", "timeout": "\${secs}" } },
    { "id": "each", "type": "echo", "batch": { "items": "\${list}" }, "params": { "value": "\${item}" } }
  ],
  "edges": [{ "from": "first", "to": "read" }, { "from": "read", "to": "wait" }, { "from": "wait", "to": "each" }]
}`;
    const file = writeWorkflow(dir.path, "wf.json", text);
    const env = { PFLOW_HOME: dir.path };
    const validated = await runPflow(["validate", file], { env });
    assert.equal(validated.code, 2, validated.stderr);
    // Located at the param (its column depends on the temp dir's path, written in the file).
    const lines = validated.stderr.trim().split("\n").map((l) => l.replace(/:\d+: \//, ": /"));
    assert.deepEqual(lines, [
      `error: ${file}:10: /nodes/1/params/encoding: param 'encoding' must be one of "utf8", "base64", got ` +
      `string "utf-8" (from the default of input 'enc')`,
      `error: ${file}:11: /nodes/2/params/timeout: param 'timeout' must be a positive number of seconds, got 0 ` +
      `(from the default of input 'secs')`,
      `error: ${file}:12: /nodes/3/batch/items: batch.items must resolve to a list, got string "a,b" ` +
      `(from the default of input 'list')`,
    ]);
    // The run refuses it before any node runs: the first node's side effect never happens.
    const run = await runPflow(["run", file], { env });
    assert.equal(run.code, 2, run.stderr);
    assert.equal(existsSync(side), false, "no node ran");
    // A given value is checked the same way, and named as given.
    const given = await runPflow(["validate", file, "enc=base", "secs=1", 'list=["x"]'], { env });
    assert.equal(given.code, 2, given.stderr);
    assert.match(given.stderr, /got string "base" \(from enc=…, given for this run\)/);
    assert.doesNotMatch(given.stderr, /timeout|batch\.items/);
    // Values that fit (a number given as text for a number param too) validate and run.
    const ok = await runPflow(["run", file, "enc=utf8", "secs=5", 'list=["x","y"]', "--json"], { env });
    assert.equal(ok.code, 0, ok.stderr);
    assert.deepEqual(JSON.parse(ok.stdout).result, { results: [{ output: "x" }, { output: "y" }] });
  } finally {
    dir.cleanup();
  }
});
