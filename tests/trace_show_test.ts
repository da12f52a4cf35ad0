/**
 * Reading traces: store reconstruction (trace_state) as unit tests, and
 * `pflow trace list` / `pflow trace show` end to end through the compiled
 * binary on synthetic trace files written with `formatTraceFile` (complete
 * and cut off by a crash).
 * @module
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import {
  formatTraceFile,
  type Mutation,
  type TraceDocument,
  type TraceEvent,
  type TraceLlmCall,
} from "../src/observability/trace_format.ts";
import {
  applyMutation,
  diffStores,
  formatStorePath,
  parseStorePath,
  type StateProblem,
  storeAfter,
  storeBefore,
  StorePathError,
  storesAround,
} from "../src/observability/trace_state.ts";
import { executionList, nodeStates, renderNodes, renderStates } from "../src/cli/trace_show.ts";
import { PLAIN_STYLE } from "../src/cli/terminal.ts";
import { MutationRecorder } from "../src/observability/recording_store.ts";
import { type CliResult, PFLOW_BIN, ROOT, runPflow, tempDir, writeWorkflow } from "./support/cli.ts";
import { traceDoc, traceEvent } from "./support/trace_docs.ts";

const ANSI = "\x1b[";

// ---------------------------------------------------------------- fixtures

function event(fields: Partial<TraceEvent> & { node_id: string }): TraceEvent {
  return traceEvent({
    node_type: "shell",
    duration_ms: 100,
    phases: { prep_ms: 1, exec_ms: 98, post_ms: 1 },
    cpu: { user_ms: 5, system_ms: 2 },
    ...fields,
  });
}

function llmCall(
  fields: Omit<Partial<TraceLlmCall>, "usage"> & { usage?: Partial<TraceLlmCall["usage"]> } = {},
): TraceLlmCall {
  const { usage, ...rest } = fields;
  return {
    provider: "anthropic",
    model: "anthropic/claude-sonnet-4-5",
    response_model: "claude-sonnet-4-5-20250929",
    request_id: "req_1",
    item_index: null,
    system: "You are terse.",
    messages: [{ role: "user", content: "Summarize: hello world" }],
    response: "Hello.",
    finish_reason: "stop",
    usage: {
      provider: "anthropic",
      model: "anthropic/claude-sonnet-4-5",
      response_model: null,
      input_tokens: 1000,
      cache_read_tokens: 200,
      cache_write_tokens: 0,
      cache_write_5m_tokens: 0,
      cache_write_1h_tokens: 0,
      output_tokens: 234,
      reasoning_tokens: 0,
      request_id: "req_1",
      duration_ms: 790,
      ...usage,
    },
    cost_usd: 0.00651,
    reported_cost_usd: null,
    duration_ms: 790,
    time_to_first_token_ms: null,
    start_offset_ms: 260,
    span_id: "3".repeat(16),
    ...rest,
  };
}

const EXEC_ID = "9f1c2d3e-1111-4222-8333-444455556666";
const LONG = "x".repeat(500);

/**
 * summarize: fetch (250ms) → ask (llm, 500ms, two calls, one unpriced) →
 * loop twice (10ms, 30ms) → save (190ms, fails). The run took 1000ms.
 */
function sampleTrace(overrides: Partial<TraceDocument> = {}): TraceDocument {
  return {
    format_version: 1,
    kind: "workflow",
    execution_id: EXEC_ID,
    trace_id: "a".repeat(32),
    span_id: "b".repeat(16),
    parent_span_id: null,
    workflow_name: "summarize",
    workflow_file: "summarize.json",
    pflow_version: "0.1.0",
    start_time: "2025-03-04T10:00:00.000Z",
    inputs: { url: "https://example.com" },
    initial_store: { url: "https://example.com", tmp: "scratch" },
    limits: { store_chars: 2000, prompt_chars: 8000, response_chars: 8000 },
    events: [
      event({
        node_id: "fetch",
        duration_ms: 250,
        params: { command: "curl https://example.com", note: LONG },
        mutations: [{ op: "set", path: "fetch.stdout", after: "hello world" }],
      }),
      event({
        node_id: "ask",
        node_type: "llm",
        start_offset_ms: 250,
        start_time: "2025-03-04T10:00:00.250Z",
        duration_ms: 500,
        retries: 1,
        params: { prompt: "Summarize: hello world", model: "anthropic/claude-sonnet-4-5" },
        template_resolutions: [{
          param: "prompt",
          template: "Summarize: ${fetch.stdout}",
          value: "Summarize: hello world",
        }],
        mutations: [
          { op: "set", path: "ask.response", after: "Hello." },
          { op: "set", path: 'ask["odd key"]', after: { a: 1 } },
        ],
        llm_calls: [
          llmCall(),
          llmCall({
            provider: "local",
            model: "local/llama",
            response_model: null,
            request_id: null,
            system: null,
            messages: [{ role: "user", content: "Second prompt\nwith two lines" }],
            response: "Second answer",
            cost_usd: null,
            duration_ms: 120,
            usage: { model: "local/llama", input_tokens: 100, cache_read_tokens: 0, output_tokens: 20 },
          }),
        ],
      }),
      event({
        node_id: "loop",
        start_offset_ms: 750,
        duration_ms: 10,
        mutations: [{ op: "set", path: "counter", after: 1 }, { op: "set", path: "items[0]", after: "a" }],
      }),
      event({
        node_id: "loop",
        execution_index: 1,
        start_offset_ms: 760,
        duration_ms: 30,
        mutations: [
          { op: "set", path: "counter", before: 1, after: 2 },
          { op: "set", path: "items[1]", after: "b" },
          { op: "delete", path: "tmp", before: "scratch" },
        ],
      }),
      event({
        node_id: "save",
        start_offset_ms: 790,
        duration_ms: 190,
        action: null,
        success: false,
        status: "error",
        params: { command: "exit 3" },
        error: {
          type: "ShellError",
          message: "command exited with code 3",
          stack: "ShellError: command exited with code 3\n    at run (shell.ts:10:5)",
        },
      }),
    ],
    end_time: "2025-03-04T10:00:01.000Z",
    duration_ms: 1000,
    final_status: "failed",
    error: { message: "command exited with code 3", node_id: "save", type: "NodeError" },
    nodes_executed: 5,
    nodes_failed: 1,
    metrics: {
      num_nodes: 5,
      num_llm_calls: 2,
      duration_api_ms: 910,
      total_cost_usd: 0.00651,
      usage: {
        input_tokens: 1100,
        cache_creation_input_tokens: 0,
        cache_read_input_tokens: 200,
        output_tokens: 254,
        reasoning_tokens: 0,
      },
      modelUsage: {},
      pricing: {
        version: "2025-01",
        source: "shipped",
        unpriced_models: ["local/llama"],
        usage_missing: [],
        complete: false,
      },
    },
    ...overrides,
  };
}

/** A run without LLM calls: one echo node. */
function plainTrace(overrides: Partial<TraceDocument> = {}): TraceDocument {
  return sampleTrace({
    execution_id: "0d0d0d0d-0000-4000-8000-000000000000",
    workflow_name: "hello",
    start_time: "2025-03-04T09:00:00.000Z",
    initial_store: {},
    events: [event({ node_id: "greet", node_type: "echo", duration_ms: 5, start_time: "2025-03-04T09:00:00.000Z" })],
    end_time: "2025-03-04T09:00:00.005Z",
    duration_ms: 5,
    final_status: "success",
    error: null,
    nodes_executed: 1,
    nodes_failed: 0,
    metrics: {
      num_nodes: 1,
      num_llm_calls: 0,
      duration_api_ms: 0,
      total_cost_usd: 0,
      usage: {
        input_tokens: 0,
        cache_creation_input_tokens: 0,
        cache_read_input_tokens: 0,
        output_tokens: 0,
        reasoning_tokens: 0,
      },
      modelUsage: {},
      pricing: { version: "2025-01", source: "shipped", unpriced_models: [], usage_missing: [], complete: true },
    },
    ...overrides,
  });
}

/** The sample run cut off by a crash after three events, in the middle of writing the fourth. */
function partialText(): { doc: TraceDocument; text: string } {
  const doc = sampleTrace({
    execution_id: "77777777-0000-4000-8000-000000000000",
    start_time: "2025-03-04T11:00:00.000Z",
  });
  const full = formatTraceFile(doc, { complete: false });
  const lines = full.split("\n");
  // header + 3 whole event lines, then half of the 4th
  const text = `${lines.slice(0, 4).join("\n")}\n${lines[4].slice(0, 40)}`;
  return { doc, text };
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object") {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

function traceOf(initial: Record<string, unknown>, mutations: Mutation[][]): TraceDocument {
  return sampleTrace({
    initial_store: initial,
    events: mutations.map((m, i) => event({ node_id: `n${i}`, mutations: m })),
  });
}

// ---------------------------------------------------------------- trace_state: unit tests

Deno.test("store paths: dotted keys, indices, quoted odd keys, and back", () => {
  assert.deepEqual(parseStorePath("a"), ["a"]);
  assert.deepEqual(parseStorePath("node.items[2].x"), ["node", "items", 2, "x"]);
  assert.deepEqual(parseStorePath('obj["odd key"].y'), ["obj", "odd key", "y"]);
  assert.deepEqual(parseStorePath('["top key"][0]'), ["top key", 0]);
  assert.deepEqual(parseStorePath('o["a.b"]["say \\"hi\\""]'), ["o", "a.b", 'say "hi"']);
  assert.deepEqual(parseStorePath("o['single q']"), ["o", "single q"]);
  assert.deepEqual(parseStorePath("my-node.some_key"), ["my-node", "some_key"]);
  for (const bad of ["", "a..b", "a[", "a[x]", 'a["open', "a.", "a]b"]) {
    assert.throws(() => parseStorePath(bad), StorePathError, `'${bad}' should not parse`);
  }
  assert.equal(formatStorePath(["node", "items", 2, "x"]), "node.items[2].x");
  assert.equal(formatStorePath(["obj", "odd key", "a.b", "1st"]), 'obj["odd key"]["a.b"]["1st"]');
  for (const path of ['a.b[0]["c d"]', '["top key"].x', 'o["say \\"hi\\""]']) {
    assert.equal(formatStorePath(parseStorePath(path)), path);
  }
});

Deno.test("applyMutation sets and deletes at top level and nested paths", () => {
  let store: Record<string, unknown> = { a: 1, node: { keep: true } };
  store = applyMutation(store, { op: "set", path: "b", after: "two" });
  store = applyMutation(store, { op: "set", path: "node.result.value", after: 3 });
  assert.deepEqual(store, { a: 1, b: "two", node: { keep: true, result: { value: 3 } } });
  store = applyMutation(store, { op: "delete", path: "node.keep", before: true });
  store = applyMutation(store, { op: "delete", path: "a", before: 1 });
  assert.deepEqual(store, { b: "two", node: { result: { value: 3 } } });
  // Deleting what is not there changes nothing.
  assert.deepEqual(applyMutation(store, { op: "delete", path: "nope.deeper" }), store);
  assert.deepEqual(applyMutation(store, { op: "delete", path: "b.length" }), store);
});

Deno.test("applyMutation handles array indices: set, grow, replace, delete trailing items", () => {
  let store: Record<string, unknown> = { list: ["a", "b", "c", "d", "e"] };
  store = applyMutation(store, { op: "set", path: "list[1]", after: "B" });
  store = applyMutation(store, { op: "set", path: "list[5]", after: "f" });
  assert.deepEqual(store.list, ["a", "B", "c", "d", "e", "f"]);
  store = applyMutation(store, { op: "set", path: "rows[0].name", after: "x" });
  assert.ok(Array.isArray(store.rows), "a missing parent followed by an index is created as a list");
  assert.deepEqual(store.rows, [{ name: "x" }]);
  // A list shrinking from 6 to 3, its trailing items deleted first to last.
  for (const i of [3, 4, 5]) store = applyMutation(store, { op: "delete", path: `list[${i}]` });
  assert.deepEqual(store.list, ["a", "B", "c"]);
  store = applyMutation(store, { op: "set", path: "m.items[0][1]", after: 7 });
  assert.equal(JSON.stringify(store.m), '{"items":[[null,7]]}');
});

Deno.test("a list shrunk or grown in place (pop, splice, shift, length = n) is rebuilt exactly from its mutations", () => {
  const mutations: Mutation[] = [];
  const recorder = new MutationRecorder((m) =>
    mutations.push({ op: m.op, path: m.path, after: structuredClone(m.after) })
  );
  const real = { n: { list: [1, 2, 3, 4, 5, 6] as unknown[], grow: [1] as unknown[] } };
  const initial = structuredClone(real);
  const view = recorder.root(real) as typeof real;
  view.n.list.pop();
  view.n.list.unshift(0);
  view.n.list.splice(1, 2);
  view.n.list.shift();
  view.n.list.length = 1;
  view.n.grow.push(9);
  view.n.grow.length = 4;
  assert.ok(mutations.some((m) => m.path === "n.list.length"), "the cut is recorded as a set of its length");
  let store: Record<string, unknown> = structuredClone(initial);
  for (const m of mutations) store = applyMutation(store, m);
  assert.equal(JSON.stringify(store), JSON.stringify(real));
  assert.deepEqual((store.n as { list: unknown[] }).list, [3]);
  assert.throws(
    () => applyMutation(store, { op: "set", path: "n.list.length", after: -1 }),
    /-1 is not a list length/,
  );
  const obj = applyMutation({ o: { length: 2 } }, { op: "set", path: "o.length", after: 0 });
  assert.deepEqual(obj, { o: { length: 0 } }, "an object's key named length is a plain key");
});

Deno.test("applyMutation keeps odd keys apart from paths that look alike", () => {
  let store: Record<string, unknown> = {};
  store = applyMutation(store, { op: "set", path: 'obj["odd key"]', after: 1 });
  store = applyMutation(store, { op: "set", path: 'obj["a.b"]', after: 2 });
  store = applyMutation(store, { op: "set", path: "obj.a.b", after: 3 });
  store = applyMutation(store, { op: "set", path: '["top level key"].x', after: 4 });
  store = applyMutation(store, { op: "set", path: 'obj["0"]', after: 5 });
  store = applyMutation(store, { op: "set", path: 'obj["__proto__"]', after: 6 });
  assert.deepEqual(Object.keys(store.obj as object).sort(), ["0", "__proto__", "a", "a.b", "odd key"]);
  assert.equal((store.obj as Record<string, unknown>)["odd key"], 1);
  assert.equal((store.obj as Record<string, unknown>)["a.b"], 2);
  assert.deepEqual((store.obj as Record<string, unknown>).a, { b: 3 });
  assert.deepEqual(store["top level key"], { x: 4 });
  assert.equal(Object.getPrototypeOf(store.obj), Object.prototype, "__proto__ is a plain key, not the prototype");
  store = applyMutation(store, { op: "delete", path: 'obj["odd key"]' });
  assert.ok(!("odd key" in (store.obj as object)));
  assert.equal((store.obj as Record<string, unknown>)["a.b"], 2);
});

Deno.test("applyMutation is pure: the input store and the mutation's value are never shared or changed", () => {
  const input = deepFreeze({ a: { b: [1, 2] }, c: 1 });
  const value = { deep: { list: [1] } };
  const mutation = deepFreeze({ op: "set" as const, path: "a.b[0]", after: value });
  const out = applyMutation(input, mutation);
  assert.deepEqual(input, { a: { b: [1, 2] }, c: 1 });
  assert.deepEqual((out.a as { b: unknown[] }).b, [{ deep: { list: [1] } }, 2]);
  const placed = (out.a as { b: { deep: { list: number[] } }[] }).b[0];
  assert.notEqual(placed, value, "the value is a copy");
  placed.deep.list.push(2);
  assert.deepEqual(value.deep.list, [1]);
  const deleted = applyMutation(input, { op: "delete", path: "a.b[1]" });
  assert.deepEqual(deleted, { a: { b: [1] }, c: 1 });
  assert.deepEqual(input.a.b, [1, 2]);
});

Deno.test("mutations apply in order, within an event and across events", () => {
  const trace = traceOf({ x: 0 }, [
    [{ op: "set", path: "x", after: 1 }, { op: "delete", path: "x" }, { op: "set", path: "y", after: "first" }],
    [{ op: "set", path: "y", after: "second" }, { op: "set", path: "x", after: 3 }],
    [{ op: "delete", path: "y" }, { op: "set", path: "y", after: "third" }],
  ]);
  assert.deepEqual(storeBefore(trace, 0), { x: 0 });
  assert.deepEqual(storeAfter(trace, 0), { y: "first" });
  assert.deepEqual(storeBefore(trace, 1), { y: "first" });
  assert.deepEqual(storeAfter(trace, 1), { y: "second", x: 3 });
  assert.deepEqual(storeAfter(trace, 2), { x: 3, y: "third" });
});

Deno.test("storeBefore/storeAfter of a loop's second execution see the first one's writes", () => {
  const trace = sampleTrace();
  const second = trace.events.findIndex((e) => e.node_id === "loop" && e.execution_index === 1);
  assert.equal(second, 3);
  const before = storeBefore(trace, second);
  assert.deepEqual(before, {
    url: "https://example.com",
    tmp: "scratch",
    fetch: { stdout: "hello world" },
    ask: { response: "Hello.", "odd key": { a: 1 } },
    counter: 1,
    items: ["a"],
  });
  assert.deepEqual(storeAfter(trace, second), {
    url: "https://example.com",
    fetch: { stdout: "hello world" },
    ask: { response: "Hello.", "odd key": { a: 1 } },
    counter: 2,
    items: ["a", "b"],
  });
  assert.deepEqual(storeAfter(trace, second - 1), before, "after the first execution = before the second");
  assert.deepEqual(storeBefore(trace, 0), trace.initial_store);
});

Deno.test("reconstruction never modifies the trace and returns stores that share nothing with it", () => {
  const trace = deepFreeze(sampleTrace({ initial_store: { nested: { list: [1] } } }));
  const snapshot = JSON.stringify(trace);
  const before = storeBefore(trace, 1);
  const after = storeAfter(trace, 4);
  assert.equal(JSON.stringify(trace), snapshot);
  (before.nested as { list: number[] }).list.push(2);
  (after.fetch as Record<string, unknown>).stdout = "changed";
  assert.deepEqual(trace.initial_store, { nested: { list: [1] } });
  assert.equal(trace.events[0].mutations[0].after, "hello world");
  assert.deepEqual(storeBefore(trace, 1), { nested: { list: [1] }, fetch: { stdout: "hello world" } });
});

Deno.test("reconstruction rejects bad indices and reports unappliable mutations", () => {
  const trace = traceOf({}, [[{ op: "set", path: "ok", after: 1 }, { op: "set", path: "bad[", after: 2 }], [{
    op: "set",
    path: "later",
    after: 3,
  }]]);
  assert.throws(() => storeBefore(trace, 2), RangeError);
  assert.throws(() => storeAfter(trace, -1), RangeError);
  assert.throws(() => storeAfter(trace, 1), /event 0 \(node 'n0'\): cannot apply set 'bad\['/);
  const problems: StateProblem[] = [];
  assert.deepEqual(storeAfter(trace, 1, { onProblem: (p) => problems.push(p) }), { ok: 1, later: 3 });
  assert.equal(problems.length, 1);
  assert.equal(problems[0].event_index, 0);
  assert.equal(problems[0].mutation.path, "bad[");
});

Deno.test("storesAround gives what storeBefore/storeAfter give, for any indices in any order", () => {
  const trace = sampleTrace();
  const all = trace.events.map((_, i) => i);
  const indices = [3, 0, 4, 2, 3, 1];
  const stores = storesAround(trace, indices);
  assert.equal(stores.length, indices.length);
  indices.forEach((i, k) => {
    assert.deepEqual(stores[k].before, storeBefore(trace, i), `before ${i}`);
    assert.deepEqual(stores[k].after, storeAfter(trace, i), `after ${i}`);
  });
  assert.deepEqual(storesAround(trace, []), []);
  assert.throws(() => storesAround(trace, [...all, all.length]), RangeError);
  // A mutation that cannot be applied is reported once, however many stores come after it.
  const bad = traceOf({}, [[{ op: "set", path: "bad[", after: 1 }], [{ op: "set", path: "x", after: 2 }], []]);
  const problems: StateProblem[] = [];
  const around = storesAround(bad, [0, 1, 2], { onProblem: (p) => problems.push(p) });
  assert.deepEqual(around.map((s) => s.after), [{}, { x: 2 }, { x: 2 }]);
  assert.deepEqual(problems.map((p) => [p.event_index, p.mutation.path]), [[0, "bad["]]);
});

Deno.test("--node ID [--state] of a loop's every execution reads each event a bounded number of times, not once per execution", () => {
  // a → b → a, 4,000 executions: replaying the trace (or labelling its events) once per execution shown
  // would read about 4,000 × 4,000 / 2 events' mutations (node ids), minutes for --state in a real trace.
  const n = 4000;
  const reads = { mutations: 0, node_id: 0 };
  const events = Array.from({ length: n }, (_, i) => {
    const id = i % 2 === 0 ? "a" : "b";
    const e = event({
      node_id: id,
      node_type: "echo",
      execution_index: Math.floor(i / 2),
      mutations: [{ op: "set", path: `${id}.output`, after: `run ${i}` }],
    });
    const { mutations, node_id } = e;
    Object.defineProperty(e, "mutations", { get: () => (reads.mutations++, mutations), enumerable: true });
    Object.defineProperty(e, "node_id", { get: () => (reads.node_id++, node_id), enumerable: true });
    return e;
  });
  const trace = sampleTrace({ initial_store: {}, events });
  const selected = events.flatMap((_, i) => i % 2 === 0 ? [i] : []);

  const { states, problems } = nodeStates(trace, selected);
  const stateLines = renderStates(trace, states, PLAIN_STYLE);
  assert.equal(problems.length, 0);
  assert.deepEqual(states[1].before, { a: { output: "run 0" }, b: { output: "run 1" } });
  assert.deepEqual(states[1].after, { a: { output: "run 2" }, b: { output: "run 1" } });
  assert.deepEqual(states.at(-1)!.after, { a: { output: `run ${n - 2}` }, b: { output: `run ${n - 3}` } });
  assert.equal(stateLines[0], `a#1 · echo · shared store before and after (event 1 of ${n})`);
  assert.equal(stateLines.filter((l) => /^a#\d+ · echo · shared store/.test(l)).length, n / 2);
  const nodeLines = renderNodes(trace, selected, PLAIN_STYLE);
  assert.equal(nodeLines.filter((l) => /^a#\d+ · echo · /.test(l)).length, n / 2);
  assert.ok(nodeLines.includes(`a#${n / 2} · echo · ✓ success · 100ms (event ${n - 1} of ${n})`));

  assert.ok(reads.mutations <= 2 * n, `event mutations read ${reads.mutations} times for ${n} events`);
  assert.ok(reads.node_id <= 20 * n, `event node ids read ${reads.node_id} times for ${n} events`);
});

Deno.test("diffStores lists added, removed and changed paths", () => {
  const changes = diffStores(
    { a: 1, gone: true, obj: { x: 1, "odd key": [1, 2] }, list: [1, 2, 3], kind: { x: 1 } },
    { a: 2, obj: { x: 1, "odd key": [1, 5], y: 0 }, list: [1, 2], kind: [1], fresh: null },
  );
  assert.deepEqual(changes, [
    { kind: "changed", path: "a" },
    { kind: "removed", path: "gone" },
    { kind: "changed", path: 'obj["odd key"][1]' },
    { kind: "added", path: "obj.y" },
    { kind: "removed", path: "list[2]" },
    { kind: "changed", path: "kind" },
    { kind: "added", path: "fresh" },
  ]);
  assert.deepEqual(diffStores({ a: { b: [1, { c: 2 }] } }, { a: { b: [1, { c: 2 }] } }), []);
});

// ---------------------------------------------------------------- CLI helpers

/** A temp PFLOW_HOME with a debug dir; env pins the time zone so local times are predictable. */
async function withHome(fn: (home: string, env: Record<string, string>) => Promise<void> | void): Promise<void> {
  const dir = tempDir("pflow-trace-test-");
  try {
    const home = join(dir.path, "home");
    mkdirSync(join(home, "debug"), { recursive: true });
    await fn(home, { PFLOW_HOME: home, TZ: "UTC" });
  } finally {
    dir.cleanup();
  }
}

function traceName(doc: { workflow_name: string; start_time: string; execution_id: string }): string {
  const stamp = doc.start_time.slice(0, 19).replace(/[-:]/g, "").replace("T", "-");
  return `workflow-trace-${doc.workflow_name}-${stamp}-${doc.execution_id.slice(0, 8)}.json`;
}

/** Writes a trace file into PFLOW_HOME/debug (optionally with a given mtime); returns its path. */
function writeTrace(home: string, name: string, text: string, mtime?: string): string {
  const path = join(home, "debug", name);
  writeFileSync(path, text);
  if (mtime !== undefined) utimesSync(path, new Date(mtime), new Date(mtime));
  return path;
}

function explain(result: CliResult): string {
  return `exit ${result.code} (signal ${result.signal})\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`;
}

function assertExit(result: CliResult, code: number): void {
  assert.equal(result.code, code, explain(result));
}

/** The cells of a list row (columns are separated by two or more spaces). */
function cells(line: string): string[] {
  return line.trim().split(/\s{2,}/);
}

// ---------------------------------------------------------------- trace list

Deno.test("trace list: newest first by start time, partial and unreadable files included", async () => {
  await withHome(async (home, env) => {
    // File names and mtimes disagree with the start times: the order must follow start_time.
    const plain = plainTrace();
    const plainPath = writeTrace(
      home,
      "workflow-trace-hello-20990101-000000-0d0d0d0d.json",
      formatTraceFile(plain),
      "2025-03-05T00:00:00Z",
    );
    const failed = sampleTrace();
    const failedPath = writeTrace(home, traceName(failed), formatTraceFile(failed), "2025-03-04T09:00:00Z");
    const partial = partialText();
    const partialPath = writeTrace(home, traceName(partial.doc), partial.text, "2025-03-01T00:00:00Z");
    const brokenPath = writeTrace(
      home,
      "workflow-trace-broken-20250304-103000-bbbbbbbb.json",
      "garbage",
      "2025-03-04T10:30:00Z",
    );
    const otherPath = writeTrace(
      home,
      "workflow-trace-other-20250304-102000-cccccccc.json",
      '{"hello": 1}\n',
      "2025-03-04T10:20:00Z",
    );
    writeTrace(home, "not-a-trace.json", formatTraceFile(sampleTrace({ start_time: "2030-01-01T00:00:00Z" })));

    const result = await runPflow(["trace", "list"], { env });
    assertExit(result, 0);
    assert.equal(result.stderr, "");
    const lines = result.stdout.trimEnd().split("\n");
    assert.deepEqual(cells(lines[0]), ["TIME", "KIND", "WORKFLOW", "STATUS", "DURATION", "COST", "NODES", "PATH"]);
    assert.deepEqual(lines.slice(1).map(cells), [
      ["2025-03-04 11:00:00", "workflow", "summarize", "… incomplete", "≥760ms", "$0.0065+", "3", partialPath],
      [
        "2025-03-04 10:30:00",
        "workflow",
        "broken",
        "✗ unreadable",
        "-",
        "-",
        "-",
        brokenPath,
        "error: not a pflow trace (no header)",
      ],
      [
        "2025-03-04 10:20:00",
        "workflow",
        "other",
        "✗ unreadable",
        "-",
        "-",
        "-",
        otherPath,
        "error: not a pflow trace (no format_version)",
      ],
      ["2025-03-04 10:00:00", "workflow", "summarize", "✗ failed", "1.00s", "$0.0065+", "5", failedPath],
      ["2025-03-04 09:00:00", "workflow", "hello", "✓ success", "5ms", "-", "1", plainPath],
    ]);
    // Columns line up: every row's PATH starts where the header's does.
    const at = lines[0].indexOf("PATH");
    for (const line of lines.slice(1)) assert.equal(line.indexOf("/"), at, line);

    const local = await runPflow(["trace", "list", "--limit", "1"], { env: { ...env, TZ: "Asia/Tokyo" } });
    assertExit(local, 0);
    assert.equal(local.stdout.trimEnd().split("\n").length, 2, explain(local));
    assert.equal(cells(local.stdout.split("\n")[1])[0], "2025-03-04 20:00:00", "times are local");
  });
});

Deno.test("trace list --json gives the fields of each trace; --limit keeps the newest", async () => {
  await withHome(async (home, env) => {
    const plain = plainTrace();
    const plainPath = writeTrace(home, traceName(plain), formatTraceFile(plain));
    const failed = sampleTrace();
    const failedPath = writeTrace(home, traceName(failed), formatTraceFile(failed));
    const partial = partialText();
    const partialPath = writeTrace(home, traceName(partial.doc), partial.text);
    const brokenPath = writeTrace(
      home,
      "workflow-trace-broken-20250304-103000-bbbbbbbb.json",
      "",
      "2025-03-04T10:30:00Z",
    );

    const result = await runPflow(["trace", "list", "--json"], { env });
    assertExit(result, 0);
    const entries = JSON.parse(result.stdout);
    assert.deepEqual(entries, [
      {
        path: partialPath,
        kind: "workflow",
        workflow_name: "summarize",
        execution_id: partial.doc.execution_id,
        start_time: "2025-03-04T11:00:00.000Z",
        final_status: "incomplete",
        duration_ms: 760,
        duration_lower_bound: true,
        total_cost_usd: 0.00651,
        cost_complete: false, // "$0.0065+": local/llama has no price
        nodes_executed: 3,
        partial: false,
      },
      {
        path: brokenPath,
        kind: "workflow",
        workflow_name: null,
        execution_id: null,
        start_time: null,
        final_status: null,
        duration_ms: null,
        duration_lower_bound: null,
        total_cost_usd: null,
        cost_complete: null,
        nodes_executed: null,
        partial: false,
        error: "not a pflow trace (no header)",
      },
      {
        path: failedPath,
        kind: "workflow",
        workflow_name: "summarize",
        execution_id: EXEC_ID,
        start_time: "2025-03-04T10:00:00.000Z",
        final_status: "failed",
        duration_ms: 1000,
        duration_lower_bound: false,
        total_cost_usd: 0.00651,
        cost_complete: false, // "$0.0065+": local/llama has no price
        nodes_executed: 5,
        partial: false,
      },
      {
        path: plainPath,
        kind: "workflow",
        workflow_name: "hello",
        execution_id: plain.execution_id,
        start_time: "2025-03-04T09:00:00.000Z",
        final_status: "success",
        duration_ms: 5,
        duration_lower_bound: false,
        total_cost_usd: 0,
        cost_complete: true,
        nodes_executed: 1,
        partial: false,
      },
    ]);

    const two = await runPflow(["trace", "list", "--json", "--limit", "2"], { env });
    assertExit(two, 0);
    assert.deepEqual(JSON.parse(two.stdout).map((e: { path: string }) => e.path), [partialPath, brokenPath]);

    const text = await runPflow(["trace", "list", "--limit=3"], { env });
    assertExit(text, 0);
    assert.equal(text.stdout.trimEnd().split("\n").length, 4, explain(text));

    for (const bad of ["0", "-1", "two", "1.5"]) {
      const r = await runPflow(["trace", "list", `--limit=${bad}`], { env });
      assertExit(r, 2);
      assert.match(r.stderr, /--limit must be a positive whole number/);
    }
  });
});

Deno.test("trace list with no traces says how to make one, on stderr, exit 0", async () => {
  await withHome(async (home, env) => {
    const result = await runPflow(["trace", "list"], { env });
    assertExit(result, 0);
    assert.equal(result.stdout, "");
    assert.equal(result.stderr, `No traces in ${join(home, "debug")}. Write one with: pflow run FILE.json --trace\n`);
    const json = await runPflow(["trace", "list", "--json"], { env });
    assertExit(json, 0);
    assert.deepEqual(JSON.parse(json.stdout), []);
    // Not even a debug directory.
    const bare = await runPflow(["trace", "list"], { env: { ...env, PFLOW_HOME: join(home, "nothing-here") } });
    assertExit(bare, 0);
    assert.match(bare.stderr, /No traces in .*nothing-here\/debug\. Write one with: pflow run FILE\.json --trace/);
  });
});

// ---------------------------------------------------------------- trace show: tree

const SAMPLE_TREE = [
  `summarize · ✗ failed · 1.00s · $0.0065+ · 1,554 tokens (200 cached) · 2 LLM calls · execution ${EXEC_ID} · started 2025-03-04 10:00:00`,
  "  ✓ fetch   shell  250ms  █████",
  "  ✓ ask     llm    500ms  ██████████            1,554 tokens · $0.0065+ · 1 retry",
  "      ├─ anthropic/claude-sonnet-4-5 · in 1,000 · out 234 · cached 200 · $0.0065 · 790ms",
  "      └─ local/llama · in 100 · out 20 · cached 0 · unpriced · 120ms",
  "  ✓ loop#1  shell   10ms  ▎",
  "  ✓ loop#2  shell   30ms  ▋",
  "  ✗ save    shell  190ms  ███▊",
  "      error: ShellError: command exited with code 3",
  "5 node executions · 1 failed · total $0.0065+ · unpriced: local/llama",
  "error: node 'save' failed: command exited with code 3",
];

Deno.test("trace show PATH prints the run as a tree: marks, proportional bars, LLM calls, inline error", async () => {
  await withHome(async (home, env) => {
    const path = writeTrace(home, traceName(sampleTrace()), formatTraceFile(sampleTrace()));
    const result = await runPflow(["trace", "show", path], { env });
    assertExit(result, 0);
    assert.equal(result.stderr, "");
    assert.deepEqual(result.stdout.split("\n"), [...SAMPLE_TREE, ""]);
    assert.ok(!result.stdout.includes(ANSI), "no colour without a terminal");
  });
});

Deno.test("trace show and trace list: line breaks in a workflow's name (\\n, U+2028) are shown escaped, on one line", async () => {
  await withHome(async (home, env) => {
    const doc = plainTrace({ workflow_name: "two\nlines\u2028x\u2029y" });
    // Named on disk as pflow names it (the name made file-safe).
    const path = writeTrace(home, traceName(plainTrace()), formatTraceFile(doc));
    const show = await runPflow(["trace", "show", path], { env });
    assertExit(show, 0);
    assert.match(show.stdout.split("\n")[0], /^two\\nlines\\u2028x\\u2029y · /);
    const list = await runPflow(["trace", "list"], { env });
    assertExit(list, 0);
    assert.ok(!/[\u2028\u2029]/.test(list.stdout), `no raw line separator:\n${explain(list)}`);
    assert.match(list.stdout, /two\\nlines\\u2028x\\u2029y/, explain(list));
    assert.equal(list.stdout.trim().split("\n").length, 2, "header and one row");
  });
});

Deno.test("trace show: bars scale with the run's duration; interrupted nodes get ⚠", async () => {
  await withHome(async (home, env) => {
    const doc = plainTrace({
      duration_ms: 4000,
      final_status: "interrupted",
      nodes_executed: 4,
      events: [
        event({ node_id: "half", duration_ms: 2000 }),
        event({ node_id: "tiny", duration_ms: 1, start_offset_ms: 2000 }),
        event({ node_id: "zero", duration_ms: 0, start_offset_ms: 2001 }),
        event({ node_id: "stop", duration_ms: 1000, status: "interrupted", success: false, start_offset_ms: 2001 }),
      ],
    });
    const path = writeTrace(home, traceName(doc), formatTraceFile(doc));
    const result = await runPflow(["trace", "show", path], { env });
    assertExit(result, 0);
    const lines = result.stdout.split("\n");
    assert.match(lines[0], /^hello · ⚠ interrupted · 4\.00s · execution /);
    assert.equal(lines[1], "  ✓ half  shell  2.00s  ██████████");
    assert.equal(lines[2], "  ✓ tiny  shell    1ms  ▏", "anything above zero shows a sliver");
    assert.equal(lines[3], "  ✓ zero  shell    0ms");
    assert.equal(lines[4], "  ⚠ stop  shell  1.00s  █████");
    assert.equal(lines[5], "4 node executions · 0 failed");
  });
});

Deno.test("trace show on a file cut off by a crash shows the finished nodes and says it is incomplete", async () => {
  await withHome(async (home, env) => {
    const { doc, text } = partialText();
    const path = writeTrace(home, traceName(doc), text);
    const result = await runPflow(["trace", "show", path], { env });
    assertExit(result, 0);
    const lines = result.stdout.trimEnd().split("\n");
    assert.equal(
      lines[0],
      `summarize · … incomplete · ≥760ms · $0.0065+ · 1,554 tokens (200 cached) · 2 LLM calls · execution ${doc.execution_id} · started 2025-03-04 11:00:00 (incomplete: the run did not finish — crashed or still running)`,
    );
    // Bars relative to the 760ms seen so far.
    assert.deepEqual(lines.slice(1), [
      "  ✓ fetch  shell  250ms  ██████▋",
      "  ✓ ask    llm    500ms  █████████████▏        1,554 tokens · $0.0065+ · 1 retry",
      "      ├─ anthropic/claude-sonnet-4-5 · in 1,000 · out 234 · cached 200 · $0.0065 · 790ms",
      "      └─ local/llama · in 100 · out 20 · cached 0 · unpriced · 120ms",
      "  ✓ loop   shell   10ms  ▎",
      "3 node executions · 0 failed · total $0.0065+ · unpriced: local/llama",
    ]);
    const json = await runPflow(["trace", "show", path, "--json"], { env });
    assertExit(json, 0);
    const repaired = JSON.parse(json.stdout);
    assert.equal(repaired.final_status, "incomplete");
    assert.deepEqual(repaired.events, doc.events.slice(0, 3));
    assert.equal(repaired.end_time, undefined);
  });
});

Deno.test("trace show --json prints the whole document", async () => {
  await withHome(async (home, env) => {
    const doc = sampleTrace();
    const path = writeTrace(home, traceName(doc), formatTraceFile(doc));
    const result = await runPflow(["trace", "show", path, "--json"], { env });
    assertExit(result, 0);
    assert.deepEqual(JSON.parse(result.stdout), doc);
    const format = await runPflow(["trace", "show", path, "--output-format", "json"], { env });
    assert.deepEqual(JSON.parse(format.stdout), doc);
  });
});

Deno.test("trace show (and show latest) picks the newest trace by start time", async () => {
  await withHome(async (home, env) => {
    const older = sampleTrace({ workflow_name: "older", start_time: "2025-03-04T08:00:00.000Z" });
    // The newest run has the oldest mtime and a name that sorts first.
    writeTrace(home, traceName(older), formatTraceFile(older), "2025-03-06T00:00:00Z");
    const newest = plainTrace({ workflow_name: "aaa-newest", start_time: "2025-03-05T08:00:00.000Z" });
    const newestPath = writeTrace(home, traceName(newest), formatTraceFile(newest), "2025-03-01T00:00:00Z");
    for (const args of [["trace", "show"], ["trace", "show", "latest"]]) {
      const result = await runPflow(args, { env });
      assertExit(result, 0);
      assert.match(result.stdout, /^aaa-newest · ✓ success · 5ms · execution /, explain(result));
    }
    const json = await runPflow(["trace", "show", "latest", "--json"], { env });
    assert.equal(JSON.parse(json.stdout).workflow_name, "aaa-newest");
    // A file name alone is looked up in PFLOW_HOME/debug.
    const byName = await runPflow(["trace", "show", newestPath.slice(newestPath.lastIndexOf("/") + 1)], { env });
    assertExit(byName, 0);
    assert.match(byName.stdout, /^aaa-newest · /);
    // An unreadable newer file is skipped with a note.
    const brokenPath = writeTrace(home, "workflow-trace-x-20250307-000000-eeeeeeee.json", "{", "2025-03-07T00:00:00Z");
    const skipped = await runPflow(["trace", "show"], { env });
    assertExit(skipped, 0);
    assert.match(skipped.stdout, /^aaa-newest · /);
    assert.ok(skipped.stderr.includes(`note: skipping unreadable newer trace ${brokenPath}`), explain(skipped));
  });
});

// ---------------------------------------------------------------- trace show --node

Deno.test("trace show --node shows params, template resolutions, mutations and LLM prompts", async () => {
  await withHome(async (home, env) => {
    const path = writeTrace(home, traceName(sampleTrace()), formatTraceFile(sampleTrace()));
    const result = await runPflow(["trace", "show", path, "--node", "ask"], { env });
    assertExit(result, 0);
    assert.deepEqual(result.stdout.split("\n"), [
      "ask · llm · ✓ success · 500ms (event 2 of 5)",
      "  started    2025-03-04 10:00:00 (+250ms into the run)",
      "  phases     prep 1ms · exec 98ms · post 1ms",
      "  cpu        user 5ms · system 2ms",
      "  action     default",
      "  retries    1",
      "params",
      '  prompt: "Summarize: hello world"',
      '  model: "anthropic/claude-sonnet-4-5"',
      "template resolutions",
      '  prompt: "Summarize: ${fetch.stdout}" → "Summarize: hello world"',
      "mutations",
      '  set ask.response: (absent) → "Hello."',
      '  set ask["odd key"]: (absent) → {"a":1}',
      "llm calls",
      "  [1] anthropic/claude-sonnet-4-5 response model claude-sonnet-4-5-20250929 · finish stop · request req_1",
      "      usage: in 1,000 · out 234 · cache read 200 · cache write 0",
      "      cost: $0.0065 · time: 790ms",
      "      system:",
      "        You are terse.",
      "      user:",
      "        Summarize: hello world",
      "      response:",
      "        Hello.",
      "  [2] local/llama finish stop",
      "      usage: in 100 · out 20 · cache read 0 · cache write 0",
      "      cost: unpriced · time: 120ms",
      "      user:",
      "        Second prompt",
      "        with two lines",
      "      response:",
      "        Second answer",
      "",
    ]);
  });
});

Deno.test("trace show --node: a batch node's params as written and each item's as resolved", async () => {
  await withHome(async (home, env) => {
    const doc = traceDoc("ba7c0000", { events: 1 });
    doc.events[0] = traceEvent({
      index: 0,
      node_id: "r",
      params: { path: "${p}" },
      item_params: [{ path: "/a" }, null],
      template_resolutions: [{ param: "batch.items", template: "${files}", value: ["/a", "/b"] }],
    });
    const path = writeTrace(home, traceName(doc), formatTraceFile(doc));
    const result = await runPflow(["trace", "show", path, "--node", "r"], { env });
    assertExit(result, 0);
    const lines = result.stdout.split("\n");
    const at = lines.indexOf("params (as written)");
    assert.deepEqual(lines.slice(at, at + 7), [
      "params (as written)",
      '  path: "${p}"',
      "params per item (resolved)",
      '  item 0: path: "/a"',
      "  item 1: (not resolved)",
      "template resolutions",
      '  batch.items: "${files}" → ["/a","/b"]',
    ]);
  });
});

Deno.test("trace show --node: a failed node's error and stack, deletes, long values cut with a note", async () => {
  await withHome(async (home, env) => {
    const path = writeTrace(home, traceName(sampleTrace()), formatTraceFile(sampleTrace()));
    const save = await runPflow(["trace", "show", path, "--node", "save"], { env });
    assertExit(save, 0);
    assert.match(save.stdout, /^save · shell · ✗ error · 190ms \(event 5 of 5\)\n/);
    assert.ok(save.stdout.includes("\n  action     (none: the node threw)\n"), save.stdout);
    assert.ok(
      save.stdout.endsWith("\nerror\n  ShellError: command exited with code 3\n      at run (shell.ts:10:5)\n"),
      save.stdout,
    );

    const loop = await runPflow(["trace", "show", path, "--node", "loop#2"], { env });
    assertExit(loop, 0);
    assert.match(loop.stdout, /^loop#2 · shell · ✓ success · 30ms \(event 4 of 5\)\n/);
    assert.ok(
      loop.stdout.includes(
        '\nmutations\n  set counter: 1 → 2\n  set items[1]: (absent) → "b"\n  delete tmp (was "scratch")\n',
      ),
      loop.stdout,
    );
    assert.ok(!loop.stdout.includes("loop#1"));

    const both = await runPflow(["trace", "show", path, "--node", "loop"], { env });
    assertExit(both, 0);
    const headers = both.stdout.split("\n").filter((l) => l.startsWith("loop#"));
    assert.deepEqual(headers, [
      "loop#1 · shell · ✓ success · 10ms (event 3 of 5)",
      "loop#2 · shell · ✓ success · 30ms (event 4 of 5)",
    ]);

    const fetch = await runPflow(["trace", "show", path, "--node", "fetch"], { env });
    assertExit(fetch, 0);
    const note = fetch.stdout.split("\n").find((l) => l.startsWith("  note: "));
    assert.equal(note, `  note: "${"x".repeat(199)}… (502 chars, cut; full value: --json)`);
  });
});

Deno.test("trace show --node --json gives the event(s); ID#N one object, ID every execution", async () => {
  await withHome(async (home, env) => {
    const doc = sampleTrace();
    const path = writeTrace(home, traceName(doc), formatTraceFile(doc));
    const one = await runPflow(["trace", "show", path, "--node", "loop#2", "--json"], { env });
    assertExit(one, 0);
    assert.deepEqual(JSON.parse(one.stdout), doc.events[3]);
    const all = await runPflow(["trace", "show", path, "--node", "loop", "--json"], { env });
    assertExit(all, 0);
    assert.deepEqual(JSON.parse(all.stdout), [doc.events[2], doc.events[3]]);
    const single = await runPflow(["trace", "show", path, "--node", "fetch", "--json"], { env });
    assert.deepEqual(JSON.parse(single.stdout), [doc.events[0]]);
    // Full values are in --json even when the terminal view cuts them.
    assert.equal(JSON.parse(single.stdout)[0].params.note, LONG);
  });
});

Deno.test("trace show --node ID --state prints the store before and after, and what changed", async () => {
  await withHome(async (home, env) => {
    const doc = sampleTrace();
    const path = writeTrace(home, traceName(doc), formatTraceFile(doc));
    const before = {
      url: "https://example.com",
      tmp: "scratch",
      fetch: { stdout: "hello world" },
      ask: { response: "Hello.", "odd key": { a: 1 } },
      counter: 1,
      items: ["a"],
    };
    const after = {
      url: "https://example.com",
      fetch: { stdout: "hello world" },
      ask: { response: "Hello.", "odd key": { a: 1 } },
      counter: 2,
      items: ["a", "b"],
    };
    const json = await runPflow(["trace", "show", path, "--node", "loop#2", "--state", "--json"], { env });
    assertExit(json, 0);
    assert.deepEqual(JSON.parse(json.stdout), { node_id: "loop", execution_index: 1, event_index: 3, before, after });

    const text = await runPflow(["trace", "show", path, "--node", "loop#2", "--state"], { env });
    assertExit(text, 0);
    assert.equal(
      text.stdout,
      [
        "loop#2 · shell · shared store before and after (event 4 of 5)",
        "before:",
        JSON.stringify(before, null, 2),
        "after:",
        JSON.stringify(after, null, 2),
        "changed (3):",
        "  - tmp",
        "  ~ counter",
        "  + items[1]",
        "",
      ].join("\n"),
    );

    const both = await runPflow(["trace", "show", path, "--node", "loop", "--state", "--json"], { env });
    assertExit(both, 0);
    const states = JSON.parse(both.stdout);
    assert.equal(states.length, 2);
    assert.deepEqual(states[1].before, before);
    assert.deepEqual(states[0].after, before);
    assert.deepEqual(states[0].before, {
      url: "https://example.com",
      tmp: "scratch",
      fetch: { stdout: "hello world" },
      ask: { response: "Hello.", "odd key": { a: 1 } },
    });

    // A node that changes nothing, and long strings cut in the terminal only.
    const save = await runPflow(["trace", "show", path, "--node", "save", "--state"], { env });
    assertExit(save, 0);
    assert.match(save.stdout, /\nchanged: nothing\n$/);
    const long = sampleTrace({ initial_store: { big: LONG } });
    const longPath = writeTrace(home, "workflow-trace-long-20250304-100000-dddddddd.json", formatTraceFile(long));
    const cut = await runPflow(["trace", "show", longPath, "--node", "fetch", "--state"], { env });
    assertExit(cut, 0);
    assert.ok(cut.stdout.includes(`"big": "${"x".repeat(200)}… (500 chars)"`), explain(cut));
    assert.match(cut.stdout, /\(strings over 200 characters are cut here; full values: --json\)\n$/);
  });
});

// ---------------------------------------------------------------- errors

Deno.test("trace show errors: exit 2 with one line naming the path or listing the nodes", async () => {
  await withHome(async (home, env) => {
    const doc = sampleTrace();
    const path = writeTrace(home, traceName(doc), formatTraceFile(doc));
    const garbage = writeTrace(home, "workflow-trace-bad-20250304-100000-ffffffff.json", "not json at all");
    const notTrace = join(home, "other.json");
    writeFileSync(notTrace, JSON.stringify({ kind: "something", format_version: 1 }));
    const missing = join(home, "nope.json");
    // Damaged shapes of a real trace: each is named, not an internal error.
    const damaged = (name: string, change: (d: Record<string, unknown>) => void) => {
      const copy = JSON.parse(JSON.stringify(doc));
      change(copy);
      return writeTrace(home, `workflow-trace-${name}-20250304-100000-eeeeeeee.json`, JSON.stringify(copy));
    };
    const nullMetrics = damaged("nullmetrics", (d) => d.metrics = null);
    const nullEvent = damaged("nullevent", (d) => (d.events as unknown[])[1] = null);
    const slow = damaged("slow", (d) => d.duration_ms = "slow");
    const cases: [string[], string][] = [
      [
        ["trace", "show", nullMetrics],
        `error: ${nullMetrics}: not a pflow trace (metrics is null, not an object)\n`,
      ],
      [
        ["trace", "show", nullEvent, "--html"],
        `error: ${nullEvent}: not a pflow trace (event 2 is null, not an object)\n`,
      ],
      [["trace", "show", slow], `error: ${slow}: not a pflow trace (duration_ms is a string, not a number of ms)\n`],
      [["trace", "show", missing], `error: trace file not found: ${missing}\n`],
      [["trace", "show", garbage], `error: ${garbage}: not a pflow trace (no header)\n`],
      [
        ["trace", "show", notTrace],
        `error: ${notTrace}: not a pflow trace (kind is "something", not "workflow" or "planner")\n`,
      ],
      [["trace", "show", home], `error: ${home}: is a directory, not a trace file\n`],
      [
        ["trace", "show", path, "--node", "nope"],
        `error: no node 'nope' in ${path}; nodes in this trace: fetch, ask, loop, save\n`,
      ],
      [
        ["trace", "show", path, "--node", "loop#3", "--state"],
        `error: node 'loop' has no execution #3 in ${path}; it ran 2 times (#1, #2)\n`,
      ],
    ];
    for (const [args, stderr] of cases) {
      const result = await runPflow(args, { env });
      assertExit(result, 2);
      assert.equal(result.stderr, stderr, explain(result));
      assert.equal(result.stdout, "");
    }
    const usage = await runPflow(["trace", "show", path, "--state"], { env });
    assertExit(usage, 2);
    assert.match(usage.stderr, /^error: --state needs --node ID\n/);
    const extra = await runPflow(["trace", "show", path, path], { env });
    assertExit(extra, 2);
    assert.match(extra.stderr, /unexpected argument/);
  });
});

Deno.test("--node ID#N past a loop's executions names them as ranges, on one short line", async () => {
  assert.equal(executionList([1]), "#1");
  assert.equal(executionList([1, 2]), "#1, #2");
  assert.equal(executionList([1, 2, 3, 5, 7, 8]), "#1–#3, #5, #7, #8");
  assert.equal(executionList([1, 3, 5, 7, 9, 11, 12, 13, 20]), "#1, #3, #5, #7, #9, … 4 more");
  await withHome(async (home, env) => {
    const events = Array.from({ length: 1000 }, (_, i) => event({ node_id: "a", execution_index: i }));
    const doc = sampleTrace({ events });
    const path = writeTrace(home, traceName(doc), formatTraceFile(doc));
    const result = await runPflow(["trace", "show", path, "--node", "a#1001"], { env });
    assertExit(result, 2);
    assert.equal(
      result.stderr,
      `error: node 'a' has no execution #1001 in ${path}; it ran 1,000 times (#1–#1000)\n`,
    );
  });
});

Deno.test("--node of an execution past the trace's size cap says it was not written, not that the node does not exist", async () => {
  await withHome(async (home, env) => {
    // A real run: the 4th node's event would take the file past trace.max_bytes, so it is dropped.
    writeFileSync(join(home, "settings.json"), JSON.stringify({ trace: { max_bytes: 4096 } }));
    const big = "x".repeat(280);
    const wf = writeWorkflow(home, "four.json", {
      ir_version: "0.1.0",
      name: "four",
      nodes: [
        { id: "a", type: "echo", params: { value: "hi" } },
        { id: "big", type: "echo", params: { value: big } },
        { id: "arr", type: "echo", params: { value: [1, 2, 3] } },
        { id: "c", type: "echo", params: { value: "${big.output}".repeat(8) } },
      ],
      edges: [{ from: "a", to: "big" }, { from: "big", to: "arr" }, { from: "arr", to: "c" }],
    });
    const run = await runPflow(["run", wf, "--trace", "--output-format", "json"], { env });
    assertExit(run, 0);
    const path = JSON.parse(run.stdout).trace_path as string;
    const tree = await runPflow(["trace", "show", path], { env });
    assert.match(tree.stdout, /1 node execution not written past .*: from node execution 4 \(c\) on/, explain(tree));
    const stopped =
      "the trace stopped writing past its size cap (trace.max_bytes = 4 KiB in PFLOW_HOME/settings.json) " +
      "at node execution 4 (c), 1 node execution not written";
    const cases: [string, string][] = [
      [
        "c",
        `error: node 'c' ran, but none of its executions was written to ${path}: ${stopped}; nodes written: a, big, arr`,
      ],
      // Only c's execution is missing: any other node did not run.
      [
        "zz",
        `error: no node 'zz' in ${path}; nodes in this trace: a, big, arr, and c (ran, but not written past the trace's size cap)`,
      ],
      ["a#2", `error: node 'a' has no execution #2 in ${path}; it ran 1 time (#1)`],
    ];
    for (const [node, stderr] of cases) {
      const result = await runPflow(["trace", "show", path, "--node", node, "--state"], { env });
      assertExit(result, 2);
      assert.equal(result.stderr, `${stderr}\n`);
    }

    // Several executions not written: any node may have run among them.
    const doc = sampleTrace({
      events: sampleTrace().events.slice(0, 4),
      limits: { store_chars: 2000, prompt_chars: 8000, response_chars: 8000, max_bytes: 4096 },
      events_dropped: 3,
      first_dropped: { index: 4, node_id: "loop", execution_index: 2 },
    });
    const capped = writeTrace(home, "workflow-trace-capped-20250304-100000-cccccccc.json", formatTraceFile(doc));
    const several =
      "the trace stopped writing past its size cap (trace.max_bytes = 4 KiB in PFLOW_HOME/settings.json) " +
      "at node execution 5 (loop#3), 3 node executions not written";
    const more: [string, string][] = [
      ["save", `error: no execution of 'save' was written to ${capped}: ${several}; nodes written: fetch, ask, loop`],
      [
        "loop#3",
        `error: node 'loop' has no execution #3 in ${capped}; 2 executions of it were written (#1, #2): ${several}`,
      ],
    ];
    for (const [node, stderr] of more) {
      const result = await runPflow(["trace", "show", capped, "--node", node], { env });
      assertExit(result, 2);
      assert.equal(result.stderr, `${stderr}\n`);
    }
  });
});

Deno.test("a field of the wrong type is one line naming the file and field, exit 2, in show, --html, export and list", async () => {
  await withHome(async (home, env) => {
    // Edited in a trace as the writer lays it out (header line, event lines, footer line).
    const damaged = (name: string, change: (d: TraceDocument) => void) => {
      const copy = JSON.parse(JSON.stringify(sampleTrace())) as TraceDocument;
      change(copy);
      return writeTrace(home, `workflow-trace-${name}-20250304-100000-eeeeeeee.json`, formatTraceFile(copy));
    };
    const objectId = damaged("objectid", (d) => (d.events[1] as unknown as Record<string, unknown>).node_id = { a: 1 });
    const textCost = damaged("textcost", (d) => (d.events[1].llm_calls[0] as { cost_usd: unknown }).cost_usd = "1");
    const farOffset = damaged("faroffset", (d) => d.events[1].start_offset_ms = 1e306);
    const textTotal = damaged("texttotal", (d) => {
      d.llm_totals = {
        calls: 2,
        cost_usd: "x" as unknown as number,
        tokens: 1,
        cached_tokens: 0,
        unpriced_models: [],
        usage_missing: 0,
      };
    });
    const nodeId = "event 2: node_id is an object, not a string";
    const cost = "event 2: llm_calls[0].cost_usd is a string, not a number or null";
    const offset = "event 2: start_offset_ms is 1e+306, out of range for a time in ms";
    const export_ = (path: string) => ["trace", "export", path, "--format", "otlp-json"];
    const cases: [string[], string, string][] = [
      [["trace", "show", objectId], objectId, nodeId],
      [export_(objectId), objectId, nodeId],
      [["trace", "show", textCost], textCost, cost],
      [["trace", "show", textCost, "--node", "ask"], textCost, cost],
      [["trace", "show", textCost, "--html"], textCost, cost],
      [export_(textCost), textCost, cost],
      [export_(farOffset), farOffset, offset],
      [["trace", "show", farOffset], farOffset, offset],
      [["trace", "show", textTotal], textTotal, "llm_totals.cost_usd is a string, not a number"],
    ];
    for (const [args, path, why] of cases) {
      const result = await runPflow(args, { env });
      assertExit(result, 2);
      assert.equal(result.stderr, `error: ${path}: not a pflow trace (${why})\n`, explain(result));
      assert.equal(result.stdout, "");
    }
    // The list reads the footer: that trace is unreadable there too, with the same reason.
    const listed = await runPflow(["trace", "list", "--json"], { env });
    assertExit(listed, 0);
    const entry = JSON.parse(listed.stdout).find((e: { path: string }) => e.path === textTotal);
    assert.equal(entry.error, "not a pflow trace (llm_totals.cost_usd is a string, not a number)");
  });
});

Deno.test("trace show latest without traces exits 2 with a hint to run with --trace", async () => {
  await withHome(async (home, env) => {
    for (const args of [["trace", "show"], ["trace", "show", "latest"], ["trace", "show", "--node", "x"]]) {
      const result = await runPflow(args, { env });
      assertExit(result, 2);
      assert.equal(
        result.stderr,
        `error: no traces in ${
          join(home, "debug")
        }; write one by running a workflow with --trace: pflow run FILE.json --trace\n`,
      );
    }
    writeTrace(home, "workflow-trace-x-20250307-000000-eeeeeeee.json", "nope");
    const unreadable = await runPflow(["trace", "show"], { env });
    assertExit(unreadable, 2);
    assert.match(
      unreadable.stderr,
      /^error: no readable trace in .*\/debug \(newest: .*eeeeeeee\.json: not a pflow trace \(no header\)\)\n$/,
    );
  });
});

// ---------------------------------------------------------------- colour

function underTty(args: string[], env: Record<string, string>) {
  const quoted = [PFLOW_BIN, ...args].map((a) => `'${a}'`).join(" ");
  return spawnSync("script", ["-qec", quoted, "/dev/null"], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", TERM: "xterm", ...env },
    encoding: "utf8",
    timeout: 10_000,
  });
}

Deno.test("trace output is coloured on a terminal, and not with NO_COLOR or without a terminal", async () => {
  const hasScript = spawnSync("script", ["--version"]).status === 0;
  assert.ok(hasScript, "script(1) from util-linux is needed for the TTY test");
  await withHome(async (home, env) => {
    const path = writeTrace(home, traceName(sampleTrace()), formatTraceFile(sampleTrace()));
    for (const args of [["trace", "show", path], ["trace", "list"], ["trace", "show", path, "--node", "ask"]]) {
      const coloured = underTty(args, env);
      assert.equal(coloured.status, 0, coloured.stdout + coloured.stderr);
      assert.ok(coloured.stdout.includes(ANSI), `expected colour on a TTY for ${args.join(" ")}`);
      if (args.length === 3) {
        assert.ok(coloured.stdout.includes(`\x1b[31m✗\x1b[39m save`), "the failed node's mark is red");
        assert.ok(coloured.stdout.includes("\x1b[31merror: ShellError: command exited with code 3\x1b[39m"));
      }
      const plain = underTty(args, { ...env, NO_COLOR: "1" });
      assert.equal(plain.status, 0);
      assert.ok(!plain.stdout.includes(ANSI), `ANSI codes despite NO_COLOR: ${JSON.stringify(plain.stdout)}`);
      const piped = await runPflow(args, { env });
      assertExit(piped, 0);
      assert.ok(!piped.stdout.includes(ANSI), "ANSI codes without a terminal");
    }
    // Under NO_COLOR the tree is exactly the plain one (with the terminal's CRLF line ends).
    const plain = underTty(["trace", "show", path], { ...env, NO_COLOR: "1" });
    assert.deepEqual(plain.stdout.split("\r\n"), [...SAMPLE_TREE, ""]);
  });
});
