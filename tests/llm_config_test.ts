// Model ids, model selection, provider resolution and static checks; no network.
import assert from "node:assert/strict";
import {
  callLlm,
  checkModelConfig,
  DEFAULT_MODEL,
  knownProviders,
  LlmConfigError,
  parseModelId,
  resolveModel,
  resolveProvider,
} from "../src/llm/mod.ts";

Deno.test("parseModelId splits at the first slash only", () => {
  assert.deepEqual(parseModelId("anthropic/claude-sonnet-4-5"), {
    provider: "anthropic",
    model: "claude-sonnet-4-5",
  });
  assert.deepEqual(parseModelId("openai/gpt-4o-mini"), {
    provider: "openai",
    model: "gpt-4o-mini",
  });
  assert.deepEqual(parseModelId("ollama/llama3.2"), {
    provider: "ollama",
    model: "llama3.2",
  });
  assert.deepEqual(parseModelId("openrouter/anthropic/claude-3.5-sonnet"), {
    provider: "openrouter",
    model: "anthropic/claude-3.5-sonnet",
  });
  assert.deepEqual(parseModelId("ollama/qwen2.5:7b"), {
    provider: "ollama",
    model: "qwen2.5:7b",
  });
});

Deno.test("parseModelId rejects bad ids with a one-line LlmConfigError", () => {
  const cases: [string, RegExp][] = [
    ["gpt-4o", /^invalid model id 'gpt-4o': no provider prefix/],
    ["/gpt-4o", /^invalid model id '\/gpt-4o': empty provider/],
    ["openai/", /^invalid model id 'openai\/': empty model name/],
    ["", /^invalid model id '': expected provider\/model/],
    ["openai/gpt 4o", /^invalid model id 'openai\/gpt 4o': it contains whitespace/],
  ];
  for (const [id, pattern] of cases) {
    assert.throws(() => parseModelId(id), (error: unknown) => {
      assert.ok(error instanceof LlmConfigError);
      assert.match(error.message, pattern);
      assert.ok(!error.message.includes("\n"));
      return true;
    });
  }
});

Deno.test("resolveModel precedence: node, PFLOW_DEFAULT_MODEL, settings, built-in default", () => {
  const settings = { default_model: "openai/gpt-4o-mini" };
  const env = { PFLOW_DEFAULT_MODEL: "ollama/llama3.2" };
  assert.equal(
    resolveModel("anthropic/claude-haiku-4-5", { env, settings }),
    "anthropic/claude-haiku-4-5",
  );
  assert.equal(resolveModel(undefined, { env, settings }), "ollama/llama3.2");
  assert.equal(resolveModel(undefined, { env: {}, settings }), "openai/gpt-4o-mini");
  assert.equal(resolveModel(undefined, { env: {}, settings: {} }), DEFAULT_MODEL);
  assert.equal(DEFAULT_MODEL, "anthropic/claude-sonnet-4-5");
  // Empty values count as unset.
  assert.equal(
    resolveModel("", { env: { PFLOW_DEFAULT_MODEL: "" }, settings }),
    "openai/gpt-4o-mini",
  );
});

Deno.test("checkModelConfig: fine configurations give null", () => {
  const env = {
    ANTHROPIC_API_KEY: "a",
    OPENAI_API_KEY: "o",
    OPENROUTER_API_KEY: "r",
  };
  const settings = {
    providers: { lmstudio: { base_url: "http://127.0.0.1:1234/v1" } },
  };
  for (
    const id of [
      "anthropic/claude-sonnet-4-5",
      "openai/gpt-4o-mini",
      "ollama/llama3.2",
      "openrouter/anthropic/claude-3.5-sonnet",
      "lmstudio/qwen",
    ]
  ) {
    assert.equal(checkModelConfig(id, { env, settings }), null, id);
  }
});

Deno.test("checkModelConfig: missing keys name the env var", () => {
  const settings = {
    providers: {
      together: {
        base_url: "https://api.together.xyz/v1",
        api_key_env: "TOGETHER_API_KEY",
      },
    },
  };
  const env = { ANTHROPIC_API_KEY: "  " }; // blank counts as unset
  assert.equal(
    checkModelConfig("anthropic/claude-sonnet-4-5", { env, settings }),
    "ANTHROPIC_API_KEY is not set: model 'anthropic/claude-sonnet-4-5' needs it (export ANTHROPIC_API_KEY=...)",
  );
  assert.equal(
    checkModelConfig("openai/gpt-4o-mini", { env, settings }),
    "OPENAI_API_KEY is not set: model 'openai/gpt-4o-mini' needs it (export OPENAI_API_KEY=...)",
  );
  assert.equal(
    checkModelConfig("openrouter/x/y", { env, settings }),
    "OPENROUTER_API_KEY is not set: model 'openrouter/x/y' needs it (export OPENROUTER_API_KEY=...)",
  );
  assert.equal(
    checkModelConfig("together/llama", { env, settings }),
    "TOGETHER_API_KEY is not set: model 'together/llama' needs it (export TOGETHER_API_KEY=...)",
  );
});

Deno.test("checkModelConfig: unknown provider lists the known ones, configured included", () => {
  const settings = {
    providers: { lmstudio: { base_url: "http://127.0.0.1:1234/v1" } },
  };
  assert.equal(
    checkModelConfig("gemini/gemini-2.5-pro", { env: {}, settings }),
    "unknown provider 'gemini' in model 'gemini/gemini-2.5-pro' (did you mean 'google/…'?): known providers are " +
      'anthropic, openai, google, ollama, openrouter, lmstudio (add others under "providers" in settings.json)',
  );
  assert.deepEqual(knownProviders({}), [
    "anthropic",
    "openai",
    "google",
    "ollama",
    "openrouter",
  ]);
  assert.match(
    checkModelConfig("claude", { env: {}, settings })!,
    /^invalid model id 'claude'/,
  );
});

Deno.test("checkModelConfig: bad base URLs and redefined native providers", () => {
  assert.equal(
    checkModelConfig("anthropic/claude-sonnet-4-5", {
      env: { ANTHROPIC_API_KEY: "k", ANTHROPIC_BASE_URL: "localhost:8080" },
      settings: {},
    }),
    "ANTHROPIC_BASE_URL is not a valid http(s) URL: 'localhost:8080'",
  );
  assert.equal(
    checkModelConfig("mine/m", {
      env: {},
      settings: { providers: { mine: { base_url: "" } } },
    }),
    "settings.providers.mine.base_url is missing: model 'mine/m' needs a base URL",
  );
  assert.match(
    checkModelConfig("openai/gpt-4o", {
      env: { OPENAI_API_KEY: "k" },
      settings: { providers: { openai: { base_url: "http://x/v1" } } },
    })!,
    /^settings\.providers\.openai: 'openai' is a built-in provider and cannot be redefined/,
  );
});

Deno.test("resolveProvider: base URL semantics and presets", () => {
  const keys = {
    ANTHROPIC_API_KEY: "a",
    OPENAI_API_KEY: "o",
    OPENROUTER_API_KEY: "r",
  };
  const base = (id: string, env: Record<string, string> = {}, settings = {}) =>
    resolveProvider(id, { env: { ...keys, ...env }, settings }).baseURL;
  assert.equal(base("anthropic/m"), "https://api.anthropic.com/v1");
  assert.equal(
    base("anthropic/m", { ANTHROPIC_BASE_URL: "http://127.0.0.1:9/" }),
    "http://127.0.0.1:9/v1",
  );
  assert.equal(
    base("anthropic/m", { ANTHROPIC_BASE_URL: "https://gw.example/anthropic" }),
    "https://gw.example/anthropic/v1",
  );
  assert.equal(base("openai/m"), "https://api.openai.com/v1");
  assert.equal(
    base("openai/m", { OPENAI_BASE_URL: "http://127.0.0.1:9/v1/" }),
    "http://127.0.0.1:9/v1",
  );
  assert.equal(base("ollama/m"), "http://localhost:11434/v1");
  assert.equal(base("openrouter/a/b"), "https://openrouter.ai/api/v1");
  // Configured entries override presets.
  assert.equal(
    base("ollama/m", {}, {
      providers: { ollama: { base_url: "http://gpu-box:11434/v1" } },
    }),
    "http://gpu-box:11434/v1",
  );
  const ollama = resolveProvider("ollama/m", { env: {}, settings: {} });
  assert.equal(ollama.kind, "openai-compatible");
  assert.equal(ollama.apiKey, undefined);
  const anthropic = resolveProvider("anthropic/m", { env: keys, settings: {} });
  assert.equal(anthropic.kind, "anthropic");
  assert.equal(anthropic.apiKey, "a");
  assert.equal(anthropic.apiKeyEnv, "ANTHROPIC_API_KEY");
});

Deno.test("importing src/llm/mod.ts does not statically load the AI SDK", async () => {
  // Walks the static (non-type) imports from mod.ts; the SDK may only be reached via import().
  const seen = new Set<string>();
  const heavy: string[] = [];
  const visit = async (url: URL) => {
    if (seen.has(url.href)) return;
    seen.add(url.href);
    const source = await Deno.readTextFile(url);
    const statics = source.matchAll(
      /^\s*(?:import|export)\s+(?!type\b)[^;]*?from\s+["']([^"']+)["']/gm,
    );
    for (const [, specifier] of statics) {
      if (specifier.startsWith(".")) await visit(new URL(specifier, url));
      // The JSON Schema validator is small and already loaded by the workflow loader.
      else if (!specifier.startsWith("node:") && specifier !== "@cfworker/json-schema") {
        heavy.push(`${url.pathname}: ${specifier}`);
      }
    }
  };
  await visit(new URL("../src/llm/mod.ts", import.meta.url));
  assert.deepEqual(heavy, []);
  assert.ok(seen.size >= 4, "the walk follows relative imports");
  assert.ok(![...seen].some((u) => u.endsWith("/call.ts") || u.endsWith("/providers.ts")));
});

Deno.test("src/llm uses no Deno or Bun APIs", async () => {
  const dir = new URL("../src/llm/", import.meta.url);
  for await (const entry of Deno.readDir(dir)) {
    if (!entry.name.endsWith(".ts")) continue;
    const source = await Deno.readTextFile(new URL(entry.name, dir));
    assert.doesNotMatch(source, /\b(Deno|Bun)\./, entry.name);
  }
});

Deno.test("callLlm rejects bad limits before any call", async () => {
  const options = { env: { OPENAI_API_KEY: "k" }, settings: {} };
  const cases: [Record<string, unknown>, string][] = [
    [{ timeoutMs: 0 }, "openai/m: timeout must be a positive number of ms, got 0"],
    [{ timeoutMs: NaN }, "openai/m: timeout must be a positive number of ms, got NaN"],
    [{ maxRetries: -1 }, "openai/m: max retries must be a whole number from 0 to 10, got -1"],
    [{ maxRetries: 1.5 }, "openai/m: max retries must be a whole number from 0 to 10, got 1.5"],
    [{ maxRetries: 11 }, "openai/m: max retries must be a whole number from 0 to 10, got 11"],
  ];
  for (const [extra, message] of cases) {
    await assert.rejects(
      callLlm({ model: "openai/m", prompt: "x", ...extra }, options),
      (error: unknown) => error instanceof LlmConfigError && error.message === message,
    );
  }
});
