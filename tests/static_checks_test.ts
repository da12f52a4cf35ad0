/**
 * What static validation knows before a run, through the compiled binary:
 * every problem at once (schema problems do not hide the rest), duplicate
 * JSON keys and edges naming both places, no warning for a success path that
 * ends at a node with only an `error` edge, input type names, `${stdin}` with
 * nothing piped, API keys for models known before the run, settings and
 * price files reported as written, PFLOW_HOME that is a file, `-o KEY` in
 * JSON mode and outputs the run did not produce, and what `workflow show`
 * and `workflow list` tell about saved workflows.
 * @module
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type CliResult, runPflow, type TempHome, withTempHome, workflow, writeWorkflow } from "./support/cli.ts";
import { withLlmHome } from "./support/llm_home.ts";

type Ctx = TempHome;

function withHome(fn: (ctx: Ctx) => Promise<void> | void): Promise<void> {
  return withTempHome(fn, "pflow-static-test-");
}

function explain(r: CliResult): string {
  return `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
}

function errors(r: CliResult): string[] {
  return r.stderr.split("\n").filter((l) => l.startsWith("error: ")).map((l) => l.slice(7));
}

Deno.test("schema problems do not hide param, template and edge problems: every problem in one report", async () => {
  await withHome(async ({ dir, env }) => {
    const file = writeWorkflow(
      dir,
      "wf.json",
      `{
  "ir_version": "0.1.0",
  "nmae": "typo",
  "nodes": [
    { "id": "a", "type": "shell", "params": { "comand": "ls" }, "purpos": "x" },
    { "id": "b", "type": "echo", "params": { "value": "\${a.stdot}" }, "batch": { "items": 5 } },
    { "id": "c", "type": "nope" }
  ],
  "edges": [{ "from": "a", "to": "zz" }, { "from": "b" }],
  "outputs": { "out": { "source": "\${b.output}", "extra": 1 } }
}`,
    );
    const result = await runPflow(["run", file], { env });
    assert.equal(result.code, 2, explain(result));
    const lines = errors(result);
    const expected = [
      /wf\.json:3:3: \/nmae: unknown field 'nmae' \(did you mean 'name'\?\)/, // schema
      /wf\.json:5:65: \/nodes\/0\/purpos: unknown field 'purpos' \(did you mean 'purpose'\?\)/, // schema
      /wf\.json:5:47: \/nodes\/0\/params\/comand: 'shell' does not accept param 'comand'/, // params
      /\/nodes\/0\/params: 'shell' needs 'command' .* or 'args'/, // a required param
      /\/nodes\/1\/params\/value: \$\{a\.stdot\}: node 'a' \(shell\) has no output 'stdot'/, // template
      /\/nodes\/1\/batch\/items: must be a template string like/, // schema
      /\/nodes\/2\/type: unknown node type 'nope'/, // types
      /\/edges\/0\/to: unknown node 'zz'/, // edges
      /\/edges\/1: missing required field 'to'/, // schema
      /\/outputs\/out\/extra: unknown field 'extra'/, // schema
    ];
    for (const pattern of expected) {
      assert.ok(lines.some((l) => pattern.test(l)), `${pattern} not reported:\n${lines.join("\n")}`);
    }
    // In file order, each once.
    const at = lines.map((l) => /wf\.json:(\d+):(\d+)/.exec(l)).filter(Boolean).map((m) =>
      Number(m![1]) * 1000 + Number(m![2])
    );
    assert.deepEqual(at, [...at].sort((a, b) => a - b));
    assert.equal(new Set(lines).size, lines.length);
  });
});

Deno.test("duplicate keys in a JSON object and two edges for one action are errors naming both places", async () => {
  await withHome(async ({ dir, env }) => {
    const file = writeWorkflow(
      dir,
      "dup.json",
      `{
  "ir_version": "0.1.0",
  "nodes": [
    { "id": "a", "type": "shell", "params": { "command": "echo one", "command": "echo two" } },
    { "id": "b", "type": "echo" },
    { "id": "c", "type": "echo" }
  ],
  "edges": [
    { "from": "a", "to": "b" },
    { "from": "a", "to": "c", "action": "default" },
    { "from": "b", "to": "c", "action": "error" },
    { "from": "b", "to": "a", "action": "error" }
  ]
}`,
    );
    const result = await runPflow(["run", file], { env });
    assert.equal(result.code, 2, explain(result));
    assert.deepEqual(errors(result), [
      `${file}:4:70: /nodes/0/params/command: duplicate key 'command' at line 4:47 and line 4:70; JSON keeps only the last one (remove or rename one)`,
      `${file}:10:5: /edges/1: node 'a' has two 'default' edges: /edges/0 (to 'b') and /edges/1 (to 'c'); a node takes one edge per action (give one of them another action)`,
      `${file}:12:5: /edges/3: node 'b' has two 'error' edges: /edges/2 (to 'c') and /edges/3 (to 'a'); a node takes one edge per action (give one of them another action)`,
    ]);
  });
});

Deno.test("duplicate keys in settings.json and in JSON params are refused as in workflow files, exit 2", async () => {
  await withHome(async ({ dir, home, env }) => {
    const file = writeWorkflow(
      dir,
      "o.json",
      workflow([{ id: "a", type: "echo", params: { value: "${o}" } }], {
        inputs: { o: { type: "object" } },
      }),
    );
    const settings = join(home, "settings.json");
    // JSON.parse keeps the last: the ledger would be off without a word.
    writeFileSync(settings, `{"ledger": true,\n "ledger": false}\n`);
    const run = await runPflow(["run", file, `o={}`], { env });
    assert.equal(run.code, 2, explain(run));
    assert.deepEqual(errors(run), [
      `${settings}:2:2: /ledger: duplicate key 'ledger' at line 1:2 and line 2:2; JSON keeps only the last one (remove or rename one)`,
    ]);
    rmSync(settings);
    const param = await runPflow(["run", file, `o={"a":1,"a":2}`], { env });
    assert.equal(param.code, 2, explain(param));
    assert.deepEqual(errors(param), [
      `${file}:13:5: /inputs/o: input 'o' holds the key 'a' twice, at character 2 and character 8; JSON keeps only ` +
      `the last one (remove or rename one), got '{"a":1,"a":2}' (from o=…)`,
    ]);
    // Nested, and a param no input declares.
    const nested = await runPflow(["run", file, `o={"x":{"b":1,"b":2}}`, `p=[{"c":1,"c":2}]`], { env });
    assert.equal(nested.code, 2, explain(nested));
    assert.match(nested.stderr, /input 'o' holds the key 'b' twice \(at \/x\/b\), at character 7 and character 13/);
    const untyped = writeWorkflow(dir, "u.json", workflow([{ id: "a", type: "echo", params: { value: 1 } }]));
    const loose = await runPflow(["run", untyped, `p=[{"c":1,"c":2}]`], { env });
    assert.equal(loose.code, 2, explain(loose));
    assert.match(loose.stderr, /'p' holds the key 'c' twice \(at \/0\/c\), at character 3 and character 9/);
    // The same keys in different objects are fine.
    const fine = await runPflow(["run", file, `o={"a":{"a":1},"b":{"a":2}}`], { env });
    assert.equal(fine.code, 0, explain(fine));
  });
});

Deno.test("a success path that ends at a node whose only edge is `error` is normal: no warning", async () => {
  await withHome(async ({ dir, env }) => {
    const file = writeWorkflow(
      dir,
      "err.json",
      workflow([
        { id: "work", type: "echo", params: { value: "done" } },
        { id: "handler", type: "echo", params: { value: "handled" } },
      ], { edges: [{ from: "work", to: "handler", action: "error" }] }),
    );
    const result = await runPflow(["run", file], { env });
    assert.equal(result.code, 0, explain(result));
    assert.equal(result.stdout, "done\n");
    assert.equal(result.stderr, "", "no 'flow ends' warning");
    // An edge with an action the node never returns is a validation error, not a run that ends with a warning.
    const other = writeWorkflow(
      dir,
      "other.json",
      workflow([{ id: "a", type: "echo", params: { value: 1 } }, { id: "b", type: "echo" }], {
        edges: [{ from: "a", to: "b", action: "retry" }],
      }),
    );
    const refused = await runPflow(["run", other], { env });
    assert.equal(refused.code, 2, explain(refused));
    assert.match(refused.stderr, /\/edges\/0\/action: node 'a' \(echo\) never returns action 'retry'/);
  });
});

Deno.test("a misspelled input type says which type was meant", async () => {
  await withHome(async ({ dir, env }) => {
    const file = writeWorkflow(
      dir,
      "t.json",
      `{
  "ir_version": "0.1.0",
  "inputs": { "name": { "type": "strin" }, "n": { "type": 5 } },
  "nodes": [{ "id": "a", "type": "echo" }]
}`,
    );
    const result = await runPflow(["run", file], { env });
    assert.equal(result.code, 2, explain(result));
    assert.deepEqual(errors(result), [
      `${file}:3:25: /inputs/name/type: unknown type 'strin' (did you mean 'string'?); types: string, number, integer, boolean, object, array, any`,
      `${file}:3:51: /inputs/n/type: unknown type 5; types: string, number, integer, boolean, object, array, any`,
    ]);
  });
});

Deno.test("${stdin} with nothing piped is a validation error (exit 2), with the JSON document", async () => {
  await withHome(async ({ dir, env }) => {
    const file = writeWorkflow(dir, "s.json", workflow([{ id: "a", type: "echo", params: { value: "${stdin}" } }]));
    const none = await runPflow(["run", file], { env }); // stdin is /dev/null
    assert.equal(none.code, 2, explain(none));
    assert.match(none.stderr, /the workflow reads \$\{stdin\}, but nothing was piped to stdin/);
    const json = await runPflow(["run", file, "--json"], { env });
    assert.equal(json.code, 2);
    assert.equal(JSON.parse(json.stdout).subtype, "error_validation");
    const piped = await runPflow(["run", file], { env, stdin: "hello" });
    assert.equal(piped.code, 0, explain(piped));
    assert.equal(piped.stdout, "hello\n");
  });
});

Deno.test("a missing API key is exit 2 whenever the model is known before the run", async () => {
  await withLlmHome(async ({ dir, env }) => {
    const noKey = { ...env, ANTHROPIC_API_KEY: "" };
    const cases: [string, Record<string, unknown>, string[], Record<string, string>][] = [
      ["literal", { model: "anthropic/claude-haiku-4-5", prompt: "hi" }, [], noKey],
      ["input default", { model: "${model}", prompt: "hi" }, [], noKey],
      ["given param", { model: "${model}", prompt: "hi" }, ["model=anthropic/claude-haiku-4-5"], {
        ...noKey,
        OPENAI_API_KEY: "k",
      }],
      ["default model", { prompt: "hi" }, [], { ...noKey, PFLOW_DEFAULT_MODEL: "anthropic/claude-haiku-4-5" }],
    ];
    for (const [name, params, args, caseEnv] of cases) {
      const file = writeWorkflow(
        dir,
        `${name.replace(/ /g, "_")}.json`,
        workflow([{ id: "ask", type: "llm", params }], {
          inputs: {
            model: {
              type: "string",
              default: name === "given param" ? "openai/gpt-4o-mini" : "anthropic/claude-haiku-4-5",
            },
          },
        }),
      );
      const result = await runPflow(["run", file, ...args], { env: caseEnv });
      assert.equal(result.code, 2, `${name}: ${explain(result)}`);
      assert.match(result.stderr, /ANTHROPIC_API_KEY/, name);
      // A node that names no model is told where its model came from.
      assert.equal(
        /the node names no model: it comes from PFLOW_DEFAULT_MODEL/.test(result.stderr),
        name === "default model",
        `${name}: ${result.stderr}`,
      );
    }
    for (
      const [source, caseEnv, settings] of [
        ["PFLOW_DEFAULT_MODEL", { ...env, PFLOW_DEFAULT_MODEL: "foo/bar" }, {}],
        ["settings.json's default_model", env, { default_model: "foo/bar" }],
      ] as const
    ) {
      writeFileSync(join(env.PFLOW_HOME, "settings.json"), JSON.stringify(settings));
      const file = writeWorkflow(dir, "nomodel.json", workflow([{ id: "ask", type: "llm", params: { prompt: "hi" } }]));
      const result = await runPflow(["run", file], { env: caseEnv });
      assert.equal(result.code, 2, explain(result));
      assert.ok(result.stderr.includes(`unknown provider 'foo'`), explain(result));
      assert.ok(result.stderr.includes(`(the node names no model: it comes from ${source})`), explain(result));
    }
    writeFileSync(join(env.PFLOW_HOME, "settings.json"), "{}");
    // A model computed at run time can only fail at run time (exit 1).
    const computed = writeWorkflow(
      dir,
      "computed.json",
      workflow([
        { id: "pick", type: "echo", params: { value: "anthropic/claude-haiku-4-5" } },
        { id: "ask", type: "llm", params: { model: "${pick.output}", prompt: "hi" } },
      ], { edges: [{ from: "pick", to: "ask" }] }),
    );
    const late = await runPflow(["run", computed], { env: noKey });
    assert.equal(late.code, 1, explain(late));
    assert.match(late.stderr, /ANTHROPIC_API_KEY/);
  });
});

Deno.test("settings.json providers: a preset's entry may leave its base_url to the preset; bad shapes are located", async () => {
  await withHome(async ({ dir, home, env }) => {
    const file = writeWorkflow(
      dir,
      "or.json",
      workflow([{ id: "a", type: "llm", params: { model: "openrouter/openai/gpt-4o-mini", prompt: "hi" } }]),
    );
    const settings = join(home, "settings.json");
    for (const entry of ['{ "api_key_env": "MY_OR_KEY" }', '{ "base_url": null, "api_key_env": "MY_OR_KEY" }']) {
      writeFileSync(settings, `{ "providers": { "openrouter": ${entry} } }`);
      const ok = await runPflow(["validate", file], { env: { ...env, MY_OR_KEY: "k-123456789" } });
      assert.equal(ok.code, 0, explain(ok));
    }
    writeFileSync(
      settings,
      `{
  "providers": { "vllm": { "base_url": "http://127.0.0.1:1/v1", "api_key_env": 5 } }
}
`,
    );
    const badKey = await runPflow(["validate", file], { env });
    assert.equal(badKey.code, 2, explain(badKey));
    assert.deepEqual(errors(badKey), [
      `${settings}:2:65: /providers/vllm/api_key_env: must be the name of an environment variable (a string), got 5`,
    ]);
    for (
      const [providers, problem] of [["5", "/providers: must be an object"], ['"ab"', "/providers: must be an object"]]
    ) {
      writeFileSync(settings, `{ "providers": ${providers} }`);
      const bad = await runPflow(["validate", file], { env });
      assert.equal(bad.code, 2, explain(bad));
      assert.equal(errors(bad).length, 1, explain(bad));
      assert.ok(errors(bad)[0].includes(problem), explain(bad));
    }
    // A misspelt setting or provider field is refused (it would be ignored without a word), with a suggestion.
    writeFileSync(
      settings,
      `{\n  "default_modle": "openai/gpt-4o-mini",\n  "providers": { "vllm": { "base_url": "http://x/v1", "api_key_evn": "K" } }\n}\n`,
    );
    const typo = await runPflow(["validate", file], { env });
    assert.equal(typo.code, 2, explain(typo));
    assert.match(
      errors(typo)[0],
      /settings\.json:2:3: \/default_modle: unknown setting 'default_modle' \(did you mean 'default_model'\?\)/,
    );
    assert.match(
      errors(typo)[1],
      /\/providers\/vllm\/api_key_evn: unknown provider field 'api_key_evn' \(did you mean 'api_key_env'\?\)/,
    );
    // A preset still needs its base_url when the entry is not a preset's.
    writeFileSync(settings, `{ "providers": { "vllm": { "api_key_env": "K" } } }`);
    const noUrl = await runPflow(["validate", file], { env });
    assert.match(
      errors(noUrl)[0],
      /\/providers\/vllm\/base_url: must be the API's base URL, a string such as http:\/\/localhost:8000\/v1/,
    );
  });
});

Deno.test("settings.json errors carry line:column; a PFLOW_HOME that is a file is one clear line, exit 2", async () => {
  await withHome(async ({ dir, home, env }) => {
    const file = writeWorkflow(dir, "ok.json", workflow([{ id: "a", type: "echo", params: { value: 1 } }]));
    const settings = join(home, "settings.json");
    writeFileSync(
      settings,
      `{\n  "default_model": 5,\n  "providers": { "x": { "base_url": 1 } },\n  "trace": { "store_chars": 1 }\n}\n`,
    );
    const bad = await runPflow(["run", file], { env });
    assert.equal(bad.code, 2, explain(bad));
    assert.deepEqual(errors(bad), [
      `${settings}:2:3: /default_model: must be a string like "anthropic/claude-sonnet-4-5"`,
      `${settings}:3:25: /providers/x/base_url: must be the API's base URL, a string such as http://localhost:8000/v1`,
      `${settings}:4:14: /trace/store_chars: must be a whole number of characters (at least 100), got 1`,
    ]);
    writeFileSync(settings, `{\n  "default_model": "a/b",\n  "trace": }\n`);
    const syntax = await runPflow(["run", file], { env });
    assert.deepEqual(errors(syntax), [`${settings}:3:12: invalid JSON: value expected near '}'`]);
    const asFile = join(dir, "homefile");
    writeFileSync(asFile, "");
    for (const args of [["run", file], ["workflow", "list"], ["trace", "list"], ["validate", file]]) {
      const result = await runPflow(args, { env: { PFLOW_HOME: asFile } });
      assert.equal(result.code, 2, `${args.join(" ")}: ${explain(result)}`);
      assert.deepEqual(errors(result), [
        `PFLOW_HOME ${asFile} is a file, not a directory: point PFLOW_HOME at a directory (pflow creates it when missing)`,
      ], args.join(" "));
      assert.doesNotMatch(result.stderr, /\n\s+at /);
    }
    // A symbolic link to nothing, or a loop of them, is no directory pflow could create either.
    const dangling = join(dir, "dangling");
    symlinkSync(join(dir, "nowhere"), dangling);
    const loop = join(dir, "loop");
    symlinkSync(loop, loop);
    for (
      const [path, problem] of [
        [dangling, `is a symbolic link to '${join(dir, "nowhere")}', which does not exist`],
        [loop, "is a loop of symbolic links"],
      ]
    ) {
      for (const args of [["run", file, "--trace"], ["cost", "report"]]) {
        const result = await runPflow(args, { env: { PFLOW_HOME: path } });
        assert.equal(result.code, 2, `${args.join(" ")}: ${explain(result)}`);
        assert.deepEqual(errors(result), [
          `PFLOW_HOME ${path} ${problem}: point PFLOW_HOME at a directory (pflow creates it when missing)`,
        ], args.join(" "));
      }
    }
    assert.equal(existsSync(join(dir, "nowhere")), false, "nothing was created where the link points");
  });
});

Deno.test("a price file's 1e400 and .nan are reported as written", async () => {
  await withHome(async ({ dir, env }) => {
    const prices = join(dir, "prices.yaml");
    writeFileSync(prices, "models:\n  local/x:\n    input: 1e400\n    output: .nan\n");
    const result = await runPflow(["pricing", "show", "--price-table", prices], { env });
    assert.equal(result.code, 2, explain(result));
    assert.deepEqual(errors(result), [
      `${prices}:3:12: 'input' of 'local/x' must be a finite number (USD per million tokens), got 1e400`,
      `${prices}:4:13: 'output' of 'local/x' must be a finite number (USD per million tokens), got .nan`,
    ]);
  });
});

Deno.test("-o KEY in JSON mode restricts result; an output the run did not produce fails alike for -o h and -o h.output", async () => {
  await withHome(async ({ dir, env }) => {
    const file = writeWorkflow(
      dir,
      "o.json",
      workflow([
        { id: "a", type: "echo", params: { value: "first" } },
        { id: "h", type: "echo", params: { value: "second" } },
      ], {
        // 'h' is reached only if 'a' fails, which it does not.
        edges: [{ from: "a", to: "h", action: "error" }],
        outputs: { first: { source: "${a.output}" }, h: { source: "${h.output}" } },
      }),
    );
    const json = await runPflow(["run", file, "-o", "first", "--json"], { env });
    assert.equal(json.code, 0, explain(json));
    assert.deepEqual(JSON.parse(json.stdout).result, { first: "first" });
    const path = await runPflow(["run", file, "-o", "a.output", "--json"], { env });
    assert.deepEqual(JSON.parse(path.stdout).result, { "a.output": "first" });
    for (const key of ["h", "h.output"]) {
      const text = await runPflow(["run", file, "-o", key], { env });
      assert.equal(text.code, 1, `${key}: ${explain(text)}`);
      assert.match(
        text.stderr,
        new RegExp(
          `error: --output-key '${
            key.replace(".", "\\.")
          }' was not produced by this run: cannot resolve \\$\\{h\\.output\\}`,
        ),
      );
      assert.equal(text.stdout, "");
      const doc = await runPflow(["run", file, "-o", key, "--json"], { env });
      assert.equal(doc.code, 1);
      const parsed = JSON.parse(doc.stdout);
      assert.equal(parsed.subtype, "error_during_execution");
      assert.equal(parsed.error.type, "OutputNotProducedError");
    }
    // An output named like its node keeps the node's namespace readable.
    const same = writeWorkflow(
      dir,
      "same.json",
      workflow([{ id: "h", type: "echo", params: { value: "v" } }], { outputs: { h: { source: "${h.output}" } } }),
    );
    for (const key of ["h", "h.output"]) {
      const r = await runPflow(["run", same, "-o", key], { env });
      assert.equal(r.code, 0, `${key}: ${explain(r)}`);
      assert.equal(r.stdout, "v\n");
    }
  });
});

Deno.test("workflow show lists input defaults; workflow list marks saved files that no longer validate", async () => {
  await withHome(async ({ dir, home, env }) => {
    const file = writeWorkflow(
      dir,
      "w.json",
      workflow([{ id: "a", type: "echo", params: { value: "${who}" } }], {
        description: "greets",
        inputs: { who: { type: "string", default: "world", description: "Who" }, n: { type: "integer" } },
      }),
    );
    assert.equal((await runPflow(["workflow", "save", file, "--name", "good"], { env })).code, 0);
    const show = await runPflow(["workflow", "show", "good"], { env });
    assert.match(
      show.stdout,
      /inputs:\n {2}who \(string, optional, default "world"\): Who\n {2}n \(integer, required\)/,
    );
    // Saved, then broken by hand (as an older pflow or an editor might leave it).
    writeFileSync(
      join(home, "workflows", "broken.json"),
      JSON.stringify(workflow([{ id: "a", type: "shel", params: {} }], { description: "was fine" })),
    );
    const list = await runPflow(["workflow", "list"], { env });
    assert.equal(list.code, 0, explain(list));
    assert.match(
      list.stdout,
      /^broken {2}\(invalid, 1 problem: line 1:\d+: \/nodes\/0\/type: unknown node type 'shel' \(did you mean 'shell'\?\)[^\n]*; see 'pflow validate broken'\) was fine\ngood {4}greets\n$/,
    );
    const json = JSON.parse((await runPflow(["workflow", "list", "--json"], { env })).stdout);
    assert.deepEqual(json.map((e: { name: string; valid: boolean }) => [e.name, e.valid]), [["broken", false], [
      "good",
      true,
    ]]);
    assert.match(json[0].problems[0], /\/nodes\/0\/type: unknown node type 'shel' \(did you mean 'shell'\?\)/);
  });
});

Deno.test("workflow list: a damaged file shows validate's located problem; a directory is no saved workflow; show of an output with no source", async () => {
  await withHome(async ({ home, env }) => {
    const dir = join(home, "workflows");
    mkdirSync(join(dir, "dir.json"), { recursive: true });
    writeFileSync(join(dir, "trunc.json"), "{\n");
    writeFileSync(
      join(dir, "nosource.json"),
      JSON.stringify(workflow([{ id: "a", type: "echo" }], { outputs: { p: { description: "the p" } } }), null, 2),
    );
    // What `pflow validate NAME` says first, and that line as the list shows it (where, not which file).
    const firstProblem = async (name: string) => {
      const validate = await runPflow(["validate", name], { env });
      assert.equal(validate.code, 2, explain(validate));
      const line = validate.stderr.split("\n")[0].replace(/^error: /, "");
      return { line, inList: line.replace(/^.*\.json:(\d+:\d+): /, "line $1: ") };
    };
    const trunc = await firstProblem("trunc");
    assert.match(trunc.line, /trunc\.json:2:1: invalid JSON/);
    const noSource = await firstProblem("nosource");
    assert.match(noSource.inList, /^line \d+:\d+: \/outputs\/p: missing required field 'source'$/);
    const list = await runPflow(["workflow", "list"], { env });
    assert.equal(list.code, 0, explain(list));
    assert.equal(
      list.stdout,
      `nosource  (invalid, 1 problem: ${noSource.inList}; see 'pflow validate nosource')\n` +
        `trunc     (invalid, 1 problem: ${trunc.inList}; see 'pflow validate trunc')\n`,
    );
    const json = JSON.parse((await runPflow(["workflow", "list", "--json"], { env })).stdout);
    assert.deepEqual(json.map((e: { name: string }) => e.name), ["nosource", "trunc"]);
    assert.equal(json[1].valid, false);
    assert.deepEqual(json[1].problems, [trunc.line]);
    assert.equal(json[1].error, trunc.line);
    // The directory is not listed, so nothing offers a name that show, run and delete refuse.
    const names = await runPflow(["completion", "list", "workflows"], { env });
    assert.equal(names.stdout, "nosource\ntrunc\n");
    const show = await runPflow(["workflow", "show", "nosource"], { env });
    assert.equal(show.code, 0, explain(show));
    assert.match(show.stdout, /outputs:\n {2}p ← \(no source\): the p\n/);
    assert.ok(
      show.stdout.includes(`\ninvalid, 1 problem: ${noSource.inList}; see 'pflow validate nosource'\n`),
      show.stdout,
    );
    assert.doesNotMatch(show.stdout, /undefined/);
  });
});

Deno.test("a node no edge reaches is a validation error naming it and the edge to add; error edges count", async () => {
  await withHome(async ({ dir, env }) => {
    // Two nodes, the edge forgotten: `save` would never run, and the file would never be written.
    const forgot = writeWorkflow(
      dir,
      "forgot.json",
      `{
  "ir_version": "0.1.0",
  "nodes": [
    { "id": "fetch", "type": "shell", "params": { "command": "echo data" } },
    { "id": "save", "type": "write-file", "params": { "path": "out.txt", "content": "\${fetch.stdout}" } }
  ],
  "outputs": { "path": { "source": "\${save.written_path}" } }
}`,
    );
    for (const command of ["validate", "run"]) {
      const result = await runPflow([command, forgot], { env, cwd: dir });
      assert.equal(result.code, 2, explain(result));
      assert.deepEqual(errors(result), [
        `${forgot}:5:5: /nodes/1: node 'save' would never run: no edge leads to it from the start node 'fetch'; ` +
        `add an edge such as {"from": "fetch", "to": "save"} (or remove the node)`,
      ]);
    }
    // Without templates the node before it in the file is suggested; a node the start node does not reach
    // (start_node names a later one) may be meant as the start.
    const chain = writeWorkflow(
      dir,
      "chain.json",
      workflow([
        { id: "a", type: "echo" },
        { id: "b", type: "echo" },
        { id: "c", type: "echo" },
        { id: "d", type: "echo" },
      ], { start_node: "b", edges: [{ from: "b", to: "c" }] }),
    );
    const json = await runPflow(["validate", chain, "--json"], { env });
    assert.equal(json.code, 2, explain(json));
    const problems = (JSON.parse(json.stdout) as { problems: { pointer: string; message: string }[] }).problems;
    assert.deepEqual(problems.map((p) => [p.pointer, p.message]), [
      [
        "/nodes/0",
        `node 'a' would never run: no edge leads to it from the start node 'b'; add an edge to it, or make it ` +
        `"start_node" (or remove the node)`,
      ],
      [
        "/nodes/3",
        `node 'd' would never run: no edge leads to it from the start node 'b'; add an edge such as ` +
        `{"from": "c", "to": "d"} (or remove the node)`,
      ],
    ]);
    // Reached only through an `error` edge (or a batch node's), the start node alone, loops: all valid.
    const valid = writeWorkflow(
      dir,
      "valid.json",
      workflow([
        { id: "work", type: "shell", params: { command: "true" } },
        { id: "each", type: "echo", batch: { items: ["x", "y"] }, params: { value: "${item}" } },
        { id: "again", type: "echo", params: { fail: true } },
        { id: "handler", type: "echo", params: { value: "handled" } },
      ], {
        edges: [
          { from: "work", to: "each" },
          { from: "each", to: "again", action: "error" },
          { from: "again", to: "again" },
          { from: "work", to: "handler", action: "error" },
        ],
      }),
    );
    const ok = await runPflow(["validate", valid], { env });
    assert.equal(ok.code, 0, explain(ok));
    // An edge to an unknown node is the problem shown, not the node it was meant to reach.
    const typo = writeWorkflow(
      dir,
      "typo.json",
      workflow([{ id: "a", type: "echo" }, { id: "b", type: "echo" }], { edges: [{ from: "a", to: "bb" }] }),
    );
    const unknown = await runPflow(["validate", typo], { env });
    assert.equal(unknown.code, 2, explain(unknown));
    assert.equal(errors(unknown).length, 1, explain(unknown));
    assert.match(errors(unknown)[0], /\/edges\/0\/to: unknown node 'bb' \(did you mean 'b'\?\)/);
  });
});

Deno.test("an edge whose action the node never returns is a validation error with a did-you-mean", async () => {
  await withHome(async ({ dir, env }) => {
    const file = writeWorkflow(
      dir,
      "typo.json",
      `{
  "ir_version": "0.1.0",
  "nodes": [
    { "id": "test", "type": "shell", "params": { "command": "exit 1" } },
    { "id": "report", "type": "echo", "params": { "value": "tests failed, reported" } },
    { "id": "ship", "type": "echo", "params": { "value": "shipped" } }
  ],
  "edges": [{ "from": "test", "to": "report", "action": "eror" }, { "from": "test", "to": "ship" }]
}`,
    );
    for (const command of ["validate", "run"]) {
      const result = await runPflow([command, file], { env });
      assert.equal(result.code, 2, explain(result));
      assert.deepEqual(errors(result), [
        `${file}:8:47: /edges/0/action: node 'test' (shell) never returns action 'eror' (did you mean 'error'?), ` +
        `so this edge would never be taken; its actions: default, error`,
      ]);
    }
    // `error` is taken on any node's failure (write-file declares no `error` action); a batch node returns only
    // `default` and `error`.
    const other = writeWorkflow(
      dir,
      "other.json",
      workflow([
        { id: "save", type: "write-file", params: { path: "/nonexistent-dir/x/y", content: "x" } },
        { id: "each", type: "echo", batch: { items: [1] } },
        { id: "done", type: "echo" },
      ], {
        edges: [
          { from: "save", to: "each", action: "error" },
          { from: "each", to: "done", action: "next" },
        ],
      }),
    );
    const result = await runPflow(["validate", other], { env });
    assert.equal(result.code, 2, explain(result));
    assert.deepEqual(errors(result).map((e) => e.replace(/^.*?: \/edges/, "/edges")), [
      "/edges/1/action: batch node 'each' never returns action 'next', so this edge would never be taken; its " +
      "actions: default, error",
    ]);
  });
});

Deno.test("literal http and write-file params the run would refuse fail validation (exit 2) before any node runs", async () => {
  await withHome(async ({ dir, env }) => {
    const marker = join(dir, "ran.txt");
    const nodes = [
      { id: "first", type: "shell", params: { command: `touch '${marker}'` } },
      { id: "scheme", type: "http", params: { url: "htp:/127.0.0.1/json" } },
      { id: "nourl", type: "http", params: { url: "not a url" } },
      { id: "method", type: "http", params: { url: "http://127.0.0.1/x", method: "G E T" } },
      { id: "header", type: "http", params: { url: "http://127.0.0.1/x", headers: { "Bad Name": "x" } } },
      { id: "body", type: "http", params: { url: "http://127.0.0.1/x", body: "data" } },
      { id: "b64", type: "write-file", params: { path: join(dir, "o"), encoding: "base64", content: "not base64!" } },
      // Templated values are the run's to check; literal good ones pass.
      {
        id: "later",
        type: "http",
        params: { url: "${first.stdout}", method: "${first.stdout}", body: "x", headers: { "X-A": "${first.stdout}" } },
      },
      {
        id: "fine",
        type: "http",
        params: { url: "http://127.0.0.1/x", method: "post", query: { q: [1, 2] }, body: {} },
      },
      {
        id: "b64t",
        type: "write-file",
        params: { path: join(dir, "o"), encoding: "base64", content: "${first.stdout}" },
      },
    ];
    const edges = nodes.slice(1).map((n, i) => ({ from: nodes[i].id, to: n.id }));
    const file = writeWorkflow(dir, "bad.json", workflow(nodes, { edges }));
    for (const command of ["validate", "run"]) {
      const result = await runPflow([command, file], { env });
      assert.equal(result.code, 2, explain(result));
      assert.deepEqual(errors(result).map((e) => e.replace(/^.*?: \/nodes/, "/nodes")), [
        "/nodes/1/params/url: param 'url': unsupported URL scheme 'htp:' in htp:/127.0.0.1/json (only http:// and " +
        "https:// are allowed)",
        `/nodes/2/params/url: param 'url': invalid URL: "not a url" (give an absolute http:// or https:// URL)`,
        `/nodes/3/params/method: param 'method': invalid HTTP method "G E T"`,
        `/nodes/4/params/headers: param 'headers': invalid header "Bad Name": bad name: a header name is ASCII letters, ` +
        "digits and !#$%&'*+-.^_`|~ (no spaces, ':' or other characters)",
        "/nodes/5/params/body: param 'body': GET requests cannot have a body (use POST, PUT or PATCH, or send data " +
        "with 'query')",
        "/nodes/6/params/content: content is not valid base64 (use encoding: utf8 for text)",
      ]);
    }
    assert.equal(existsSync(marker), false, "no node ran");
  });
});
