import assert from "node:assert/strict";
import { EVENT_LOOP_YIELD, layersOf, Node, type Shared, wrapNode } from "../src/engine/mod.ts";
import { BUILTIN_NODES, type NodeSpec } from "../src/nodes/mod.ts";
import {
  ACTIVE,
  instrumentNode,
  llmUsage,
  NodeTotals,
  RunTelemetry,
  summarizeRun,
  timed,
  traced,
  tracedOptionsOf,
} from "../src/observability/mod.ts";
import { loadShippedPriceTable } from "../src/pricing/mod.ts";
import { spawnSync } from "node:child_process";
import type { LlmResponse } from "../src/llm/types.ts";
import { compileWorkflow, NodeRegistry, runWorkflow, type WorkflowIR } from "../src/workflow/mod.ts";
import { startLlmServer } from "./support/llm_server.ts";

/** A user node class using the decorators, with a private field. */
@timed
@traced({ redact: ["token"] })
class Flaky extends Node {
  static readonly spec: NodeSpec = {
    type: "flaky",
    description: "fails `fails` times, then succeeds after `ms`",
    params: {
      fails: { type: "number", description: "", default: 0 },
      ms: { type: "number", description: "", default: 0 },
    },
    outputs: { attempts: { type: "number", description: "" } },
  };
  #attempts = 0;
  constructor() {
    super({ maxRetries: 5 });
  }
  get attempts() {
    return this.#attempts;
  }
  override async exec() {
    this.#attempts++;
    if (this.#attempts <= Number(this.params.fails ?? 0)) throw new Error(`attempt ${this.#attempts} failed`);
    if (this.params.ms) await new Promise((r) => setTimeout(r, Number(this.params.ms)));
    return this.#attempts;
  }
  override post(shared: Shared, _p: unknown, attempts: unknown) {
    shared.attempts = attempts;
    return undefined;
  }
}

/** Loops on `again` three times. */
class Countdown extends Node {
  static readonly spec: NodeSpec = {
    type: "countdown",
    description: "",
    params: {},
    outputs: { n: { type: "number", description: "" } },
  };
  override post(shared: Shared) {
    shared.n = ((shared.n as number) ?? 0) + 1;
    return (shared.n as number) < 3 ? "again" : "done";
  }
}

const registry = new NodeRegistry([...BUILTIN_NODES, Flaky, Countdown]);
const chain = (n: number, type = "echo"): WorkflowIR => ({
  ir_version: "0.1.0",
  nodes: Array.from({ length: n }, (_, i) => ({ id: `n${i}`, type })),
  edges: Array.from({ length: n - 1 }, (_, i) => ({ from: `n${i}`, to: `n${i + 1}` })),
});

/** Counts calls of performance.now and process.cpuUsage while `fn` runs. */
async function countClockReads(fn: () => Promise<unknown>): Promise<{ now: number; cpu: number }> {
  const counts = { now: 0, cpu: 0 };
  const now = performance.now.bind(performance);
  const cpu = process.cpuUsage.bind(process);
  performance.now = () => (counts.now++, now());
  process.cpuUsage = ((prev?: NodeJS.CpuUsage) => (counts.cpu++, cpu(prev))) as typeof process.cpuUsage;
  try {
    await fn();
  } finally {
    performance.now = now;
    process.cpuUsage = cpu;
  }
  return counts;
}

Deno.test("a run without telemetry flags builds no instrumented wrapper and reads no clock per node", async () => {
  const small = compileWorkflow(chain(5), { registry });
  const large = compileWorkflow(chain(200), { registry });
  assert.ok([...large.nodes.values()].every((n) => !layersOf(n.node).includes("instrumented")));
  const a = await countClockReads(() => runWorkflow(small, { warn: () => {} }));
  const b = await countClockReads(() => runWorkflow(large, { warn: () => {} }));
  assert.equal(a.cpu, 0);
  assert.equal(b.cpu, 0);
  // The only other reads: the event-loop yield's check of how long the run went without a turn.
  const checks = Math.ceil(200 / EVENT_LOOP_YIELD.every);
  assert.ok(b.now <= 3 + checks, `${b.now} wall-clock reads for 200 nodes`);
  const shipped = EVENT_LOOP_YIELD.every;
  EVENT_LOOP_YIELD.every = 0;
  try {
    const c = await countClockReads(() => runWorkflow(small, { warn: () => {} }));
    const d = await countClockReads(() => runWorkflow(large, { warn: () => {} }));
    assert.equal(c.now, d.now, "without yields, clock reads do not grow with the number of nodes");
    assert.ok(d.now <= 3);
  } finally {
    EVENT_LOOP_YIELD.every = shipped;
  }
});

Deno.test("an instrumented run reads the CPU clock once per node (one node's end is the next one's start)", async () => {
  const compiled = compileWorkflow(chain(50), { registry, instrument: instrumentNode });
  assert.deepEqual(layersOf(compiled.nodes.get("n0")!.node), ["instrumented", "namespaced"]);
  const telemetry = new RunTelemetry({ instrumented: true });
  const metrics = telemetry.totals!;
  const counts = await countClockReads(() => runWorkflow(compiled, { telemetry, warn: () => {} }));
  assert.equal(counts.cpu, 51);
  assert.ok(counts.now <= 55, `${counts.now} wall-clock reads for 50 nodes: phases are not timed in metrics mode`);
  assert.equal(metrics.executions, 50);
  assert.equal(ACTIVE.instrumented, 0, "the counter is released after the run");
});

Deno.test("the instrumented wrapper is as transparent as the others", async () => {
  const bare = new Flaky();
  const wrapped = instrumentNode(wrapNode(bare, { name: "inner", run: (n, s, c) => n._run(s, c) }), {
    id: "f",
    type: "flaky",
    ordinal: 0,
  });
  assert.ok(wrapped instanceof Flaky);
  assert.equal((wrapped as Flaky).attempts, 0);
  wrapped.params = { fails: 0 };
  assert.deepEqual(bare.params, { fails: 0 });
  const next = new Flaky();
  assert.equal(wrapped.next(next), next);
  assert.equal(bare.successors.get("default"), next);
  const clone = wrapped.clone();
  assert.deepEqual(layersOf(clone), ["instrumented", "inner"]);
  const shared: Shared = {};
  await wrapped.run(shared, { warn: () => {} });
  assert.equal(shared.attempts, 1);
  assert.equal((wrapped as Flaky).attempts, 1, "private fields work through the wrapper");
});

Deno.test("node executions record duration, phases, retries, loops and failures", async () => {
  const ir: WorkflowIR = {
    ir_version: "0.1.0",
    nodes: [
      { id: "retry", type: "flaky", params: { fails: 2, ms: 20 } },
      { id: "loop", type: "echo", params: { value: 1 } },
      { id: "boom", type: "read-file", params: { path: "/nonexistent/pflow" } },
    ],
    edges: [{ from: "retry", to: "loop" }, { from: "loop", to: "boom" }],
  };
  const compiled = compileWorkflow(ir, { registry, instrument: instrumentNode });
  const ends: { id: string; index: number; status: string; retries: number; exec: number; duration: number }[] = [];
  const telemetry = new RunTelemetry({
    instrumented: true,
    phases: true,
    sinks: [{
      nodeEnd: (e) =>
        ends.push({
          id: e.node_id,
          index: e.index,
          status: e.status,
          retries: e.retries,
          exec: e.phases.exec,
          duration: e.duration_ms,
        }),
    }],
  });
  const result = await runWorkflow(compiled, { telemetry, warn: () => {} });
  const metrics = telemetry.totals!;
  assert.equal(result.status, "failed");
  assert.deepEqual(ends.map((e) => [e.id, e.status, e.retries]), [["retry", "success", 2], ["loop", "success", 0], [
    "boom",
    "error",
    0,
  ]]);
  assert.ok(ends[0].exec >= 18 && ends[0].duration >= ends[0].exec, `exec phase ${ends[0].exec} ms`);
  const summary = summarizeRun({
    calls: [],
    pricing: undefined,
    metrics,
    durationMs: result.duration_ms,
    nodesExecuted: result.nodes_executed,
  });
  const nodes = summary.metrics!.workflow!.nodes as Record<string, { status: string; retries: number }>;
  assert.equal(nodes.boom.status, "error");
  assert.equal(nodes.retry.retries, 2);
  assert.equal(summary.num_nodes, 3);

  const looping: WorkflowIR = {
    ir_version: "0.1.0",
    nodes: [{ id: "count", type: "countdown" }],
    edges: [{ from: "count", to: "count", action: "again" }],
  };
  const indexes: number[] = [];
  const loopTelemetry = new RunTelemetry({ instrumented: true, sinks: [{ nodeEnd: (e) => indexes.push(e.index) }] });
  const loopMetrics = loopTelemetry.totals!;
  await runWorkflow(compileWorkflow(looping, { registry, instrument: instrumentNode }), {
    telemetry: loopTelemetry,
    warn: () => {},
  });
  assert.equal(loopMetrics.nodes.get("count")!.executions, 3, "each pass through the loop counts");
  assert.deepEqual(indexes, [0, 1, 2]);
});

Deno.test("parallel LLM calls in a batch are each attributed to their node and item, summed exactly", async () => {
  const server = await startLlmServer();
  try {
    const inputs = [11, 22, 33, 44, 55, 66, 77, 88];
    const ir: WorkflowIR = {
      ir_version: "0.1.0",
      nodes: [
        { id: "intro", type: "llm", params: { model: "anthropic/claude-haiku-4-5", prompt: "hello" } },
        {
          id: "fan",
          type: "llm",
          batch: { items: inputs, parallel: true, max_concurrent: 8 },
          params: {
            model: "anthropic/claude-haiku-4-5",
            // Each item reports its own usage and finishes at its own time.
            prompt: '[[sleep:${item}]][[usage:{"input_tokens": ${item}000, "output_tokens": ${item}}]]',
          },
        },
      ],
      edges: [{ from: "intro", to: "fan" }],
    };
    const pricing = await loadShippedPriceTable();
    const telemetry = new RunTelemetry({ instrumented: true, pricing });
    const result = await runWorkflow(compileWorkflow(ir, { registry, instrument: instrumentNode }), {
      telemetry,
      context: { env: { ANTHROPIC_API_KEY: "k", ANTHROPIC_BASE_URL: server.url } },
    });
    assert.equal(result.status, "success", JSON.stringify(result.error));
    const fan = telemetry.llmCalls.filter((c) => c.node_id === "fan");
    assert.equal(fan.length, inputs.length);
    assert.deepEqual(fan.map((c) => c.item_index).sort((a, b) => a! - b!), [0, 1, 2, 3, 4, 5, 6, 7]);
    for (const call of fan) assert.equal(call.usage.input_tokens, inputs[call.item_index!] * 1000);
    assert.equal(telemetry.llmCalls.filter((c) => c.node_id === "intro").length, 1);
    const expected = inputs.reduce((sum, n) => sum + (n * 1000 * 1 + n * 5) / 1e6, 0);
    const fanCost = fan.reduce((sum, c) => sum + c.cost_usd!, 0);
    assert.ok(Math.abs(fanCost - expected) < 1e-9, `${fanCost} vs ${expected}`);
  } finally {
    await server.close();
  }
});

Deno.test("concurrent runs in one process keep their LLM calls apart", async () => {
  const server = await startLlmServer();
  try {
    const ir = (n: number): WorkflowIR => ({
      ir_version: "0.1.0",
      nodes: [{
        id: "ask",
        type: "llm",
        batch: { items: Array.from({ length: n }, (_, i) => i), parallel: true },
        params: { model: "openai/gpt-4o-mini", prompt: "[[sleep:10]] q${item}" },
      }],
    });
    const env = { OPENAI_API_KEY: "k", OPENAI_BASE_URL: `${server.url}/v1` };
    const [a, b] = await Promise.all([
      runWorkflow(compileWorkflow(ir(3), { registry }), { context: { env } }),
      runWorkflow(compileWorkflow(ir(5), { registry }), { context: { env } }),
    ]);
    assert.equal(a.telemetry.llmCalls.length, 3);
    assert.equal(b.telemetry.llmCalls.length, 5);
    assert.ok(a.telemetry.llmCalls.every((c) => c.node_id === null), "default mode keeps usage, not node timing");
  } finally {
    await server.close();
  }
});

Deno.test("@timed keeps a class and its methods working; outside a run it only calls through", async () => {
  const node = new Flaky();
  assert.ok(node instanceof Flaky && node instanceof Node);
  assert.equal(Flaky.spec.type, "flaky");
  assert.equal(Flaky.prototype.exec.name, "exec");
  assert.equal(await node.exec(), 1);
  assert.equal(node.attempts, 1);
  assert.deepEqual(tracedOptionsOf(Flaky), { redact: ["token"] });
  class Sub extends Flaky {}
  assert.deepEqual(tracedOptionsOf(Sub), { redact: ["token"] }, "inherited");
  assert.equal(tracedOptionsOf(Node), undefined);
  assert.throws(() => {
    class Bad {
      @timed
      other() {}
    }
    return Bad;
  }, /@timed goes on a node class or on prep\/exec\/post, not on 'other'/);
});

Deno.test("@timed classes keep their own methods until a run times phases; then every phase is timed", () => {
  // In a process of its own: an earlier traced run here would have put the marks in place already.
  const script = `
    import { Node } from "${new URL("../src/engine/mod.ts", import.meta.url)}";
    import { instrumentNode, RunTelemetry, timed } from "${new URL("../src/observability/mod.ts", import.meta.url)}";
    import { compileWorkflow, NodeRegistry, runWorkflow } from "${new URL("../src/workflow/mod.ts", import.meta.url)}";
    const spec = (type) => ({ type, description: "", params: {}, outputs: {} });
    const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
    @timed class Base extends Node {
      static spec = spec("base");
      async exec() { await sleep(30); return 1; }
    }
    @timed class Sub extends Base {
      static spec = spec("sub");
      async post() { await sleep(30); return undefined; }
    }
    const own = { base: Base.prototype.exec, sub: Sub.prototype.post };
    const same = () => Base.prototype.exec === own.base && Sub.prototype.post === own.sub;
    const run = async (classes, phases) => {
      const ends = [];
      const workflow = { ir_version: "0.1.0", nodes: classes.map((c, i) => ({ id: "n" + i, type: c.spec.type })) };
      workflow.edges = workflow.nodes.slice(1).map((n, i) => ({ from: workflow.nodes[i].id, to: n.id }));
      const compiled = compileWorkflow(workflow, { registry: new NodeRegistry(classes), instrument: instrumentNode });
      const telemetry = new RunTelemetry({ instrumented: true, phases, sinks: [{ nodeEnd: (e) => ends.push(e.phases) }] });
      const result = await runWorkflow(compiled, { telemetry, warn: () => {} });
      if (result.status !== "success") throw new Error(result.error.message);
      return ends.map((p) => [Math.round(p.exec), Math.round(p.post)]);
    };
    const out = { untouched: same() };
    await runWorkflow(compileWorkflow({ ir_version: "0.1.0", nodes: [{ id: "b", type: "base" }] }, { registry: new NodeRegistry([Base]) }), { warn: () => {} });
    out.afterPlainRun = same();
    await run([Base, Sub], false);
    out.afterMetricsRun = same();
    out.traced = await run([Base, Sub], true);
    out.afterTracedRun = { base: Base.prototype.exec !== own.base, sub: Sub.prototype.post !== own.sub };
    out.names = [Base.prototype.exec.name, Sub.prototype.post.name];
    out.subInheritsBaseMark = !Object.hasOwn(Sub.prototype, "exec");
    @timed class Later extends Node {
      static spec = spec("later");
      async exec() { await sleep(30); return 1; }
    }
    out.later = await run([Later], true);
    console.log(JSON.stringify(out));
  `;
  const child = spawnSync(Deno.execPath(), ["run", "-A", "-"], { input: script, encoding: "utf8" });
  assert.equal(child.status, 0, child.stderr);
  const out = JSON.parse(child.stdout);
  assert.equal(out.untouched, true, "defining a @timed class leaves its methods as written");
  assert.equal(out.afterPlainRun, true, "a run with no flags leaves them");
  assert.equal(out.afterMetricsRun, true, "metrics mode (no phases) leaves them");
  assert.deepEqual(out.afterTracedRun, { base: true, sub: true }, "a run that times phases marks them");
  assert.deepEqual(out.names, ["exec", "post"]);
  assert.equal(out.subInheritsBaseMark, true, "an inherited phase is marked once, by the class that defines it");
  for (const [exec, post] of [out.traced[0], out.later[0]]) {
    assert.ok(exec >= 25 && post < 25, `exec ${exec} ms, post ${post} ms`);
  }
  const [subExec, subPost] = out.traced[1];
  assert.ok(subExec >= 25 && subPost >= 25, `sub: exec ${subExec} ms, post ${subPost} ms`);
});

Deno.test("@timed on a single method and @llmUsage outside any run call straight through", async () => {
  class OneMethod extends Node {
    @timed
    override exec() {
      return 42;
    }
  }
  assert.equal(await new OneMethod().exec(), 42);
  class Caller {
    calls = 0;
    @llmUsage
    call(): Promise<LlmResponse> {
      this.calls++;
      return Promise.resolve({ text: "x" } as LlmResponse);
    }
  }
  const caller = new Caller();
  assert.equal((await caller.call()).text, "x");
  assert.equal(caller.calls, 1);
});

Deno.test("a shell node under instrumentation reports its children's CPU time (Linux)", async () => {
  const ir: WorkflowIR = {
    ir_version: "0.1.0",
    nodes: [{ id: "busy", type: "shell", params: { command: "i=0; while [ $i -lt 150000 ]; do i=$((i+1)); done" } }],
  };
  const telemetry = new RunTelemetry({ instrumented: true });
  const metrics = telemetry.totals!;
  await runWorkflow(compileWorkflow(ir, { registry, instrument: instrumentNode }), { telemetry });
  const busy = metrics.nodes.get("busy")!;
  assert.ok(busy.child_cpu_user_ms !== undefined, "child CPU is measured on Linux");
  assert.ok(busy.child_cpu_user_ms! + busy.child_cpu_system_ms! >= 10, `child CPU ${busy.child_cpu_user_ms} ms`);
  assert.equal(metrics.nodes.get("busy")!.type, "shell");
});

Deno.test("a plain run keeps a usage scope only when some node calls models", async () => {
  let seen = -1;
  class Peek extends Node {
    static readonly spec: NodeSpec = { type: "peek", description: "", params: {}, outputs: {} };
    override exec() {
      seen = ACTIVE.runs;
    }
  }
  const reg = new NodeRegistry([...BUILTIN_NODES, Peek]);
  const plain = compileWorkflow({ ir_version: "0.1.0", nodes: [{ id: "p", type: "peek" }] }, { registry: reg });
  assert.equal(plain.callsModels, false);
  await runWorkflow(plain);
  assert.equal(seen, 0);
  const withLlm = compileWorkflow({
    ir_version: "0.1.0",
    nodes: [{ id: "p", type: "peek" }, { id: "ask", type: "llm", params: { prompt: "x" } }],
  }, { registry: reg });
  assert.equal(withLlm.callsModels, true);
  withLlm.nodes.get("p")!.node.successors.clear(); // run only the peek node
  await runWorkflow(withLlm);
  assert.equal(seen, 1);
});

Deno.test("an instrumented run whose nodes call no model keeps its scope ambient; overlapping runs keep theirs", () => {
  // In a process of its own: no scope has been carried there yet (here, earlier tests carried some).
  const script = `
    import { Node } from "${new URL("../src/engine/mod.ts", import.meta.url)}";
    import { BUILTIN_NODES } from "${new URL("../src/nodes/mod.ts", import.meta.url)}";
    import { instrumentNode, RunTelemetry } from "${new URL("../src/observability/mod.ts", import.meta.url)}";
    import { carriesScopes, scopes } from "${new URL("../src/observability/scope.ts", import.meta.url)}";
    import { compileWorkflow, NodeRegistry, runWorkflow } from "${new URL("../src/workflow/mod.ts", import.meta.url)}";
    const seen = [];
    const telemetries = [0, 1].map(() => new RunTelemetry({ instrumented: true }));
    class Look extends Node {
      static spec = { type: "look", description: "", params: {}, outputs: {} };
      async exec() {
        await new Promise((resolve) => setTimeout(resolve, 5));
        const scope = scopes.getStore();
        seen.push([this.params.run, scope?.node?.node_id ?? null, scope?.telemetry === telemetries[this.params.run]]);
      }
    }
    const registry = new NodeRegistry([...BUILTIN_NODES, Look]);
    const workflow = (run) => ({
      ir_version: "0.1.0",
      nodes: [{ id: "look" + run, type: "look", params: { run } }, { id: "again" + run, type: "look", params: { run } }],
      edges: [{ from: "look" + run, to: "again" + run }],
    });
    const compile = (run) => compileWorkflow(workflow(run), { registry, instrument: instrumentNode });
    const alone = await runWorkflow(compile(2), { telemetry: new RunTelemetry({ instrumented: true }) });
    const carriedAlone = carriesScopes();
    seen.length = 0;
    const results = await Promise.all([0, 1].map((run) =>
      runWorkflow(compile(run), { telemetry: telemetries[run] })
    ));
    const statuses = [alone, ...results].map((r) => r.status);
    console.log(JSON.stringify({ seen, statuses, carriedAlone, after: scopes.getStore() ?? null }));
  `;
  const child = spawnSync(Deno.execPath(), ["run", "-A", "-"], { input: script, encoding: "utf8" });
  assert.equal(child.status, 0, child.stderr);
  const got = JSON.parse(child.stdout);
  assert.deepEqual(got.statuses, ["success", "success", "success"]);
  assert.equal(got.carriedAlone, false, "a run alone carries nothing through async context");
  assert.deepEqual(got.seen.sort(), [[0, "again0", true], [0, "look0", true], [1, "again1", true], [1, "look1", true]]);
  assert.equal(got.after, null, "no scope is left behind");
});

Deno.test("template resolutions of batch items name their item, phases timed or not", () => {
  // In a process of its own, where no scope has been carried yet (here, earlier tests carried some).
  const script = `
    import { BUILTIN_NODES } from "${new URL("../src/nodes/mod.ts", import.meta.url)}";
    import { instrumentNode, RunTelemetry } from "${new URL("../src/observability/mod.ts", import.meta.url)}";
    import { compileWorkflow, NodeRegistry, runWorkflow } from "${new URL("../src/workflow/mod.ts", import.meta.url)}";
    const workflow = {
      ir_version: "0.1.0",
      nodes: [{ id: "b", type: "echo", params: { value: "\${item}" }, batch: { items: [10, 20, 30], parallel: true } }],
    };
    const compiled = compileWorkflow(workflow, { registry: new NodeRegistry(BUILTIN_NODES), instrument: instrumentNode });
    const out = [];
    for (const phases of [false, true]) {
      const seen = [];
      const telemetry = new RunTelemetry({
        instrumented: true,
        phases,
        onTemplate: (exec, item, _param, _refs, value) => seen.push([exec.node_id, item ?? null, value]),
      });
      const result = await runWorkflow(compiled, { telemetry, warn: () => {} });
      out.push({ phases, status: result.status, seen: seen.sort() });
    }
    console.log(JSON.stringify(out));
  `;
  const child = spawnSync(Deno.execPath(), ["run", "-A", "-"], { input: script, encoding: "utf8" });
  assert.equal(child.status, 0, child.stderr);
  for (const { phases, status, seen } of JSON.parse(child.stdout)) {
    assert.equal(status, "success");
    assert.deepEqual(seen, [["b", 0, 10], ["b", 1, 20], ["b", 2, 30]], `phases ${phases}`);
  }
});

Deno.test("metrics mode reuses one execution record; a sink that may keep them gets a new one each time", async () => {
  const looping: WorkflowIR = {
    ir_version: "0.1.0",
    nodes: [{ id: "count", type: "countdown" }],
    edges: [{ from: "count", to: "count", action: "again" }],
  };
  const compiled = compileWorkflow(looping, { registry, instrument: instrumentNode });
  const seen = (keeps: boolean | undefined) => {
    const records: unknown[] = [];
    const indexes: number[] = [];
    const sink = {
      ...(keeps === undefined ? {} : { keepsExecutions: keeps }),
      nodeEnd: (e: { index: number }) => (records.push(e), indexes.push(e.index)),
    };
    return { sink, records, indexes };
  };
  const quietSink = seen(false);
  await runWorkflow(compiled, {
    telemetry: new RunTelemetry({ instrumented: true, sinks: [quietSink.sink] }),
    warn: () => {},
  });
  assert.deepEqual(quietSink.indexes, [0, 1, 2], "each execution's figures are fresh");
  assert.equal(new Set(quietSink.records).size, 1, "no sink keeps them: one record, reused");
  // Along a chain too: each node's figures in the one record, fresh for every node.
  const ids: string[] = [];
  const records = new Set<unknown>();
  const chainTelemetry = new RunTelemetry({
    instrumented: true,
    sinks: [{
      keepsExecutions: false,
      nodeEnd: (e) => (records.add(e), ids.push(`${e.node_id}:${e.index}:${e.ordinal}:${e.status}`)),
    }],
  });
  await runWorkflow(compileWorkflow(chain(5), { registry, instrument: instrumentNode }), {
    telemetry: chainTelemetry,
    warn: () => {},
  });
  const metrics = chainTelemetry.totals!;
  assert.equal(records.size, 1);
  assert.deepEqual(ids, ["n0:0:0:success", "n1:0:1:success", "n2:0:2:success", "n3:0:3:success", "n4:0:4:success"]);
  assert.deepEqual([...metrics.nodes.keys()], ["n0", "n1", "n2", "n3", "n4"]);
  for (const keeps of [undefined, true]) {
    const keeping = seen(keeps);
    await runWorkflow(compiled, {
      telemetry: new RunTelemetry({ instrumented: true, sinks: [keeping.sink] }),
      warn: () => {},
    });
    assert.equal(new Set(keeping.records).size, 3, `keepsExecutions ${keeps}: one record per execution`);
    assert.deepEqual(keeping.indexes, [0, 1, 2]);
  }
});

Deno.test("NodeTotals sums each node's executions in first-execution order, past its initial capacity", () => {
  const sink = new NodeTotals();
  const exec = (ordinal: number, extra: Record<string, unknown> = {}) =>
    sink.add({
      node_id: `n${ordinal}`,
      node_type: ordinal % 2 ? "shell" : "echo",
      ordinal,
      index: 0,
      start_ms: 0,
      duration_ms: 1.5,
      cpu_user_ms: 0.25,
      cpu_system_ms: 0.125,
      phases: { prep: 0, exec: 0, post: 0, cpu: { prep: 0, exec: 0, post: 0 } },
      action: "default",
      status: "success",
      retries: 1,
      llm_calls: 2,
      cost_usd: 0.5,
      startWall: 0,
      startCpu: { user: 0, system: 0 },
      ...extra,
    } as never);
  for (let i = 40; i >= 0; i--) exec(i); // ordinals beyond 16, arriving last-first
  exec(3, { status: "error", child_cpu_user_ms: 10, child_cpu_system_ms: 20 });
  exec(5, { status: "interrupted" });
  exec(3, { duration_ms: 0.5 });
  assert.equal(sink.executions, 44);
  const nodes = sink.nodes;
  assert.equal(nodes.size, 41);
  assert.deepEqual([...nodes.keys()].slice(0, 3), ["n40", "n39", "n38"]);
  assert.deepEqual(nodes.get("n3"), {
    type: "shell",
    executions: 3,
    duration_ms: 3.5,
    cpu_user_ms: 0.75,
    cpu_system_ms: 0.375,
    child_cpu_user_ms: 10,
    child_cpu_system_ms: 20,
    retries: 3,
    llm_calls: 6,
    cost_usd: 1.5,
    status: "success",
  });
  assert.equal(nodes.get("n5")!.status, "interrupted");
  assert.equal(nodes.get("n0")!.child_cpu_user_ms, undefined);
  assert.equal(nodes.get("n0")!.type, "echo");
  assert.equal(sink.nodes, nodes, "built once until the next execution");
});

Deno.test("NodeTotals keeps a duration histogram by node type and status when given bounds", () => {
  const none = new NodeTotals();
  const totals = new NodeTotals({ nodes: 2, durationBoundsMs: [1, 10, 100] });
  const exec = (ordinal: number, type: string, duration_ms: number, status = "success") => {
    const record = {
      node_id: `n${ordinal}`,
      node_type: type,
      ordinal,
      duration_ms,
      cpu_user_ms: 0,
      cpu_system_ms: 0,
      status,
      retries: 0,
      llm_calls: 0,
      cost_usd: 0,
    } as never;
    totals.add(record);
    none.add(record);
  };
  exec(0, "echo", 0.5);
  exec(0, "echo", 1); // on a bound: that bucket (`le`)
  exec(1, "shell", 1.01);
  exec(1, "shell", 50, "error");
  exec(2, "echo", 1000); // beyond the last bound: counted and summed, in no bucket
  // Types past the room made at first (many types, each its own rows).
  for (let i = 3; i < 12; i++) exec(i, `type${i}`, 5, "interrupted");
  const stats = totals.durationStats();
  const find = (type: string, status: string) => stats.find((s) => s.type === type && s.status === status);
  assert.deepEqual(find("echo", "success"), {
    type: "echo",
    status: "success",
    executions: 3,
    durationMsSum: 1001.5,
    buckets: [2, 0, 0],
  });
  assert.deepEqual(find("shell", "success")!.buckets, [0, 1, 0]);
  assert.deepEqual(find("shell", "error")!.buckets, [0, 0, 1]);
  assert.deepEqual(find("type11", "interrupted")!.buckets, [0, 1, 0]);
  assert.equal(stats.length, 3 + 9);
  assert.deepEqual(none.durationStats(), [], "no bounds, no histogram");
  assert.equal(totals.nodes.get("n1")!.status, "error");
});

Deno.test("metrics mode: an LLM call in a loop names its node's execution, with or without node sinks", async () => {
  const server = await startLlmServer();
  try {
    const ir: WorkflowIR = {
      ir_version: "0.1.0",
      nodes: [
        { id: "ask", type: "llm", params: { model: "openai/gpt-4o-mini", prompt: "pass" } },
        { id: "count", type: "countdown" },
      ],
      edges: [{ from: "ask", to: "count" }, { from: "count", to: "ask", action: "again" }],
    };
    const env = { OPENAI_API_KEY: "k", OPENAI_BASE_URL: `${server.url}/v1` };
    for (const sinks of [[], [{ nodeEnd: () => {} }]]) {
      const telemetry = new RunTelemetry({ instrumented: true, sinks, nodes: ir.nodes.length });
      const result = await runWorkflow(compileWorkflow(ir, { registry, instrument: instrumentNode }), {
        telemetry,
        context: { env },
        warn: () => {},
      });
      assert.equal(result.status, "success", JSON.stringify(result.error));
      assert.deepEqual(telemetry.llmCalls.map((c) => [c.node_id, c.node_execution]), [["ask", 0], ["ask", 1], [
        "ask",
        2,
      ]]);
      const ask = telemetry.totals!.nodes.get("ask")!;
      assert.deepEqual([ask.executions, ask.llm_calls], [3, 3]);
      assert.equal(telemetry.totals!.nodes.get("count")!.executions, 3);
    }
  } finally {
    await server.close();
  }
});

Deno.test("metrics mode without node sinks keeps the same totals as a run whose sinks hear every execution", async () => {
  const ir: WorkflowIR = {
    ir_version: "0.1.0",
    nodes: [
      { id: "retry", type: "flaky", params: { fails: 1 } },
      { id: "plain", type: "echo", params: { value: 1 } },
      { id: "count", type: "countdown" },
      { id: "sh", type: "shell", params: { command: "exit 3" } },
      { id: "after", type: "echo", params: { value: 2 } },
      // Summed at once (child CPU) after an execution that ended in `error`: its own status, not that one's.
      { id: "ok", type: "shell", params: { command: "exit 0" } },
      { id: "boom", type: "read-file", params: { path: "/nonexistent/pflow" } },
    ],
    edges: [
      { from: "retry", to: "plain" },
      { from: "plain", to: "count" },
      { from: "count", to: "count", action: "again" },
      { from: "count", to: "sh", action: "done" },
      { from: "sh", to: "after", action: "error" },
      { from: "after", to: "ok" },
      { from: "ok", to: "boom" },
    ],
  };
  const run = async (sinks: { nodeEnd?: () => void }[]) => {
    // Compiled for each run: a flaky node counts its attempts across runs.
    const compiled = compileWorkflow(ir, { registry, instrument: instrumentNode });
    const telemetry = new RunTelemetry({
      instrumented: true,
      sinks,
      nodes: ir.nodes.length,
      durationBoundsMs: [1, 1000],
    });
    const result = await runWorkflow(compiled, { telemetry, warn: () => {} });
    assert.equal(result.status, "failed");
    const nodes = [...telemetry.totals!.nodes].map(([id, m]) => ({
      id,
      type: m.type,
      executions: m.executions,
      retries: m.retries,
      status: m.status,
      timed: m.duration_ms > 0 && m.cpu_user_ms + m.cpu_system_ms >= 0,
    }));
    const stats = telemetry.totals!.durationStats().map(({ type, status, executions, buckets }) => ({
      type,
      status,
      executions,
      bucketed: buckets.reduce((a, b) => a + b, 0),
    }));
    return { nodes, stats, executions: telemetry.totals!.executions };
  };
  const lean = await run([]);
  const heard = await run([{ nodeEnd: () => {} }]);
  assert.deepEqual(lean, heard);
  assert.deepEqual(lean.nodes.map((n) => [n.id, n.executions, n.retries, n.status]), [
    ["retry", 1, 1, "success"],
    ["plain", 1, 0, "success"],
    ["count", 3, 0, "success"],
    ["sh", 1, 0, "error"],
    ["after", 1, 0, "success"],
    ["ok", 1, 0, "success"],
    ["boom", 1, 0, "error"],
  ]);
  assert.ok(lean.nodes.every((n) => n.timed));
  assert.equal(lean.executions, 9);
});
