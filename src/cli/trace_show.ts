/**
 * `pflow trace show [PATH|latest] [--node ID[#N] [--state]] [--json]`: a
 * trace as a tree of node executions, one node in full, or the shared store
 * before and after a node. With `--html`, a page instead (trace_html.ts).
 * @module
 */
import type { TraceDocument, TraceEvent, TraceLlmCall } from "../observability/trace_format.ts";
import { diffStores, type StateProblem, storesAround } from "../observability/trace_state.ts";
import { parseCommand } from "./args.ts";
import { showHelp } from "./show_help.ts";
import { type CommandEnv, EXIT } from "./command.ts";
import { formatBytes, formatCount, formatDuration } from "./format.ts";
import { escapeControls, printError, type Style, writeDisplay, writeStdout } from "./terminal.ts";
import {
  callCostDetail,
  callCostText,
  callsCost,
  countedCallTokens,
  formatCost,
  localTime,
  locateTrace,
  nodesExecuted,
  type ReadTrace,
  runDuration,
  stdoutStyle,
  traceCost,
  TraceReadError,
  traceStatusLabel,
} from "./trace_list.ts";
import { UsageError } from "./usage_error.ts";

/** Width of the duration bars, in cells. */
export const BAR_WIDTH = 20;
/** Longest value printed in the terminal before it is cut. */
export const VALUE_CHARS = 200;

/** A problem that ends the command with exit 2 and one line. */
class ShowError extends Error {}

/** Runs `pflow trace show`; returns the exit code. */
export async function traceShowCommand(argv: string[], { env }: CommandEnv): Promise<number> {
  const parsed = parseCommand(argv, {
    command: "trace",
    subcommand: "show",
    flags: {
      node: { type: "string" },
      state: { type: "boolean" },
      html: { type: "boolean" },
      open: { type: "boolean" },
      output: { type: "string", short: "o" },
    },
  });
  if (parsed.values.help) return showHelp("trace");
  const html = parsed.values.html === true;
  for (const flag of ["open", "output"]) {
    if (!html && parsed.values[flag] !== undefined) {
      throw new UsageError(`${flag === "open" ? "--open" : "-o"} needs --html: pflow trace show PATH --html`, "trace");
    }
  }
  if (html) {
    if (parsed.values.node !== undefined || parsed.values.state) {
      throw new UsageError("--html draws the whole run: use it without --node and --state", "trace");
    }
    return await (await import("./trace_html.ts")).traceHtmlCommand({
      targets: parsed.positionals,
      output: parsed.values.output as string | undefined,
      open: parsed.values.open === true,
      json: parsed.values.json === true || parsed.values["output-format"] === "json",
    }, { env });
  }
  if (parsed.positionals.length > 1) {
    throw new UsageError(
      `unexpected argument '${
        parsed.positionals[1]
      }': usage: pflow trace show [PATH|latest] [--node ID [--state]] [--json]`,
      "trace",
    );
  }
  const json = parsed.values.json === true || parsed.values["output-format"] === "json";
  const node = parsed.values.node as string | undefined;
  const state = parsed.values.state === true;
  if (state && node === undefined) throw new UsageError("--state needs --node ID", "trace");
  if (node !== undefined && node.trim() === "") throw new UsageError("--node needs a node id", "trace");
  try {
    const read = await locateTrace(parsed.positionals[0] ?? "latest", env);
    const style = stdoutStyle(env);
    if (node === undefined) {
      if (json) writeStdout(`${JSON.stringify(read.trace, null, 2)}\n`);
      else writeDisplay(`${renderTree(read, style).join("\n")}\n`);
      return EXIT.ok;
    }
    const selection = selectNode(read, node);
    if (state) {
      const { states, problems } = nodeStates(read.trace, selection.indices);
      if (json) writeStdout(`${JSON.stringify(selection.single ? states[0] : states, null, 2)}\n`);
      else writeDisplay(`${renderStates(read.trace, states, style).join("\n")}\n`);
      for (const p of problems) {
        printError(
          `warning: event ${p.event_index} (node '${p.node_id}'): cannot apply ${p.mutation.op} '${p.mutation.path}': ${p.message}; skipped`,
        );
      }
      return EXIT.ok;
    }
    if (json) {
      const events = selection.indices.map((i) => read.trace.events[i]);
      writeStdout(`${JSON.stringify(selection.single ? events[0] : events, null, 2)}\n`);
    } else {
      writeDisplay(`${renderNodes(read.trace, selection.indices, style).join("\n")}\n`);
    }
    return EXIT.ok;
  } catch (error) {
    if (error instanceof TraceReadError || error instanceof ShowError) {
      printError(`error: ${error.message}`);
      return EXIT.usage;
    }
    throw error;
  }
}

/** Finds and reads the trace: `latest` (the newest readable one) or a path (or a file name in PFLOW_HOME/debug). */
/** The events `--node ID[#N]` selects; `single` when `#N` named one execution. */
function selectNode(read: ReadTrace, spec: string): { indices: number[]; single: boolean } {
  const events = read.trace.events;
  const m = /^(.*)#(\d+)$/.exec(spec);
  const id = m ? m[1] : spec;
  const indices = events.flatMap((e, i) => e.node_id === id ? [i] : []);
  // Node executions past the size cap (or a failed write) are not in the file: a node missing from it may have run.
  const stopped = stoppedWriting(read);
  const first = read.trace.first_dropped;
  // The one execution not written is the one the footer names: no other node is missing.
  const onlyFirst = first !== undefined && read.trace.events_dropped === 1 && !read.partial;
  const mayBeMissing = stopped !== undefined && !(onlyFirst && first.node_id !== id);
  if (indices.length === 0) {
    const ids = [...new Set(events.map((e) => e.node_id))];
    if (mayBeMissing) {
      throw new ShowError(
        `${
          first?.node_id === id
            ? `node '${id}' ran, but none of its executions was written`
            : `no execution of '${id}' was written`
        } to ${read.path}: ${stopped}; nodes written: ${ids.length ? ids.join(", ") : "none"}`,
      );
    }
    const unwritten = onlyFirst ? `, and ${first.node_id} (ran, but not written past the trace's size cap)` : "";
    throw new ShowError(
      `no node '${id}' in ${read.path}; ${
        ids.length ? `nodes in this trace: ${ids.join(", ")}${unwritten}` : "the trace has no node executions"
      }`,
    );
  }
  if (!m) return { indices, single: false };
  const n = Number(m[2]);
  const found = indices.find((i, k) => executionNumber(events[i], k) === n);
  if (found === undefined) {
    const numbers = executionList(indices.map((i, k) => executionNumber(events[i], k)));
    const runs = !mayBeMissing
      ? `it ran ${count(indices.length, "time")} (${numbers})`
      : `${count(indices.length, "execution")} of it ${
        indices.length === 1 ? "was" : "were"
      } written (${numbers}): ${stopped}`;
    throw new ShowError(`node '${id}' has no execution #${n} in ${read.path}; ${runs}`);
  }
  return { indices: [found], single: true };
}

/** Most runs of numbers {@link executionList} names before `…`. */
const LISTED_RUNS = 5;

/**
 * Execution numbers as a short list: consecutive ones as a range (`#1–#1000`),
 * two as themselves (`#1, #2`), and past {@link LISTED_RUNS} runs, `…` and how
 * many more, so a loop's thousands of executions take one short line.
 */
export function executionList(numbers: readonly number[]): string {
  const runs: [number, number][] = [];
  for (const n of numbers) {
    const last = runs.at(-1);
    if (last && n === last[1] + 1) last[1] = n;
    else runs.push([n, n]);
  }
  const parts = runs.slice(0, LISTED_RUNS).map(([from, to]) =>
    from === to ? `#${from}` : to === from + 1 ? `#${from}, #${to}` : `#${from}–#${to}`
  );
  const rest = runs.slice(LISTED_RUNS).reduce((sum, [from, to]) => sum + to - from + 1, 0);
  if (rest > 0) parts.push(`… ${formatCount(rest)} more`);
  return parts.join(", ");
}

/** 1-based number of an execution of its node (`#N`). */
function executionNumber(event: TraceEvent, ordinal: number): number {
  return (typeof event.execution_index === "number" ? event.execution_index : ordinal) + 1;
}

/** Labels of every event: the node id, with `#N` for nodes that ran more than once. */
export function eventLabels(events: TraceEvent[]): string[] {
  const counts = new Map<string, number>();
  for (const e of events) counts.set(e.node_id, (counts.get(e.node_id) ?? 0) + 1);
  const seen = new Map<string, number>();
  return events.map((e) => {
    const ordinal = seen.get(e.node_id) ?? 0;
    seen.set(e.node_id, ordinal + 1);
    const repeated = counts.get(e.node_id)! > 1 || (e.execution_index ?? 0) > 0;
    return repeated ? `${e.node_id}#${executionNumber(e, ordinal)}` : e.node_id;
  });
}

const PARTIAL_BLOCKS = ["", "▏", "▎", "▍", "▌", "▋", "▊", "▉"];

/** A bar `fraction` of `width` cells long, in eighths of a cell (a sliver for anything above zero). */
export function durationBar(fraction: number, width = BAR_WIDTH): string {
  const clamped = Math.max(0, Math.min(1, Number.isFinite(fraction) ? fraction : 0));
  const eighths = Math.round(clamped * width * 8);
  if (eighths === 0) return clamped > 0 ? "▏" : "";
  return "█".repeat(Math.floor(eighths / 8)) + PARTIAL_BLOCKS[eighths % 8];
}

function eventMark(event: TraceEvent, style: Style): string {
  if (event.status === "interrupted") return style.yellow("⚠");
  return event.status === "success" && event.success !== false ? style.green("✓") : style.red("✗");
}

function count(n: number, word: string): string {
  return `${formatCount(n)} ${word}${n === 1 ? "" : "s"}`;
}

function tokensText(tokens: number, cached: number): string {
  return `${count(tokens, "token")}${cached > 0 ? ` (${formatCount(cached)} cached)` : ""}`;
}

/** The tree view: header, one line per node execution (LLM calls under it), footer. */
export function renderTree(read: ReadTrace, style: Style): string[] {
  const { trace } = read;
  const events = trace.events;
  const duration = runDuration(read);
  const cost = traceCost(trace);
  const head = [
    // A name is data: on the header's one line, its line breaks are shown escaped.
    style.bold(escapeControls(trace.workflow_name, { keepNewlines: false })),
    traceStatusLabel(read, style),
    `${duration.lowerBound ? "≥" : ""}${formatDuration(duration.ms)}`,
  ];
  if (cost.calls > 0) {
    head.push(formatCost(cost), tokensText(cost.tokens, cost.cached_tokens), count(cost.calls, "LLM call"));
  }
  head.push(`execution ${trace.execution_id}`);
  const started = Date.parse(trace.start_time);
  if (!Number.isNaN(started)) head.push(`started ${localTime(started)}`);
  let header = head.join(" · ");
  if (!read.complete && !read.partial) {
    header += ` ${style.yellow("(incomplete: the run did not finish — crashed or still running)")}`;
  }
  const lines = [header];
  if (trace.kind === "planner") lines.push(...plannerLines(trace, style));
  else if (trace.planner_trace) lines.push(style.dim(`planned by: ${trace.planner_trace}`));

  const labels = eventLabels(events);
  const scale = Math.max(duration.ms, ...events.map((e) => e.duration_ms ?? 0));
  const durations = events.map((e) => formatDuration(e.duration_ms ?? 0));
  const idWidth = Math.max(0, ...labels.map((l) => l.length));
  const typeWidth = Math.max(0, ...events.map((e) => (e.node_type ?? "").length));
  const durationWidth = Math.max(0, ...durations.map((d) => d.length));
  events.forEach((event, i) => {
    const calls = event.llm_calls ?? [];
    const extras: string[] = [];
    if (calls.length > 0) {
      const tokens = calls.reduce((sum, c) => sum + countedCallTokens(c), 0);
      extras.push(count(tokens, "token"));
      extras.push(callsCost(calls).text);
    }
    if ((event.retries ?? 0) > 0) {
      extras.push(style.yellow(event.retries === 1 ? "1 retry" : `${event.retries} retries`));
    }
    const bar = scale > 0 ? durationBar((event.duration_ms ?? 0) / scale) : "";
    const line = [
      `  ${eventMark(event, style)} ${labels[i].padEnd(idWidth)}`,
      style.dim((event.node_type ?? "").padEnd(typeWidth)),
      durations[i].padStart(durationWidth),
      bar.padEnd(BAR_WIDTH),
      extras.join(" · "),
    ].join("  ");
    lines.push(line.trimEnd());
    calls.forEach((call, c) => {
      const branch = c === calls.length - 1 ? "└─" : "├─";
      const failed = call.status === "error"
        ? ` ${style.red(`✗ ${call.http_status ? `HTTP ${call.http_status}` : (call.error?.type ?? "failed")}`)}`
        : "";
      lines.push(`      ${style.dim(branch)} ${callSummary(call)}${failed}`);
    });
    if (event.error) {
      const first = oneLine(`${event.error.type ? `${event.error.type}: ` : ""}${event.error.message ?? ""}`);
      lines.push(`      ${style.red(`error: ${first}`)}`);
    }
  });
  if (events.length === 0) lines.push(style.dim("  (no node execution recorded)"));

  const executed = read.complete ? nodesExecuted(read) : events.length;
  const failed = typeof trace.nodes_failed === "number" && read.complete
    ? trace.nodes_failed
    : events.filter((e) => e.status === "error").length;
  const foot = [count(executed, "node execution"), `${failed} failed`];
  const stopped = stoppedNote(trace);
  if (stopped !== undefined) foot.push(style.red(stopped));
  if (cost.calls > 0) foot.push(`total ${formatCost(cost)}`);
  if (cost.unpriced_models.length > 0) foot.push(style.yellow(`unpriced: ${cost.unpriced_models.join(", ")}`));
  lines.push(foot.join(" · "));
  for (const note of writeNotes(read)) lines.push(style.yellow(note));
  if (trace.error) {
    const where = trace.error.node_id ? `node '${trace.error.node_id}' failed: ` : "";
    lines.push(style.red(`error: ${where}${oneLine(trace.error.message ?? "")}`));
  }
  return lines;
}

/**
 * For a run the loop guard stopped, what the count of failed executions cannot say (none failed: the node
 * was refused one more): `stopped: node 'a' reached the limit of executions per node`.
 */
export function stoppedNote(trace: Pick<TraceDocument, "error">): string | undefined {
  const error = trace.error;
  if (error?.type !== "NodeExecutionLimitError" || !error.node_id) return undefined;
  return `stopped: node '${error.node_id}' reached the limit of executions per node`;
}

/** A planner trace's request, path and validation attempts. */
function plannerLines(trace: TraceDocument, style: Style): string[] {
  const lines = [
    `request: ${oneLine(JSON.stringify(trace.request ?? ""))}${
      trace.planner_model ? style.dim(` · planner model ${trace.planner_model}`) : ""
    }`,
  ];
  const p = trace.planner;
  if (p === undefined) return lines;
  const path = [`path: ${p.path ?? "none"}`];
  if (p.reused_workflow) path.push(`reused ${p.reused_workflow}`);
  if (p.path === "generate") path.push(count(p.repairs, "repair"));
  if (p.plan_path) path.push(`plan ${p.plan_path}`);
  lines.push(path.join(" · "));
  p.attempts.forEach((attempt, i) => {
    if (attempt.problems.length === 0) {
      lines.push(`  attempt ${i + 1}: ${style.green("✓ valid")}`);
      return;
    }
    lines.push(`  attempt ${i + 1}: ${style.red(`✗ ${count(attempt.problems.length, "problem")}`)}`);
    for (const problem of attempt.problems) {
      lines.push(`      ${oneLine(`${problem.pointer || "/"}: ${problem.message}`)}`);
    }
  });
  for (const m of p.missing_inputs) {
    lines.push(style.yellow(`  missing input ${m.name} (${m.type})${m.description ? `: ${m.description}` : ""}`));
  }
  return lines;
}

/** `: from node execution 3 (fetch) on`, naming the first execution not written (when the trace says). */
export function droppedFrom(trace: TraceDocument): string {
  const first = trace.first_dropped;
  if (first === undefined) return "";
  const run = first.execution_index > 0 ? `#${first.execution_index + 1}` : "";
  return `: from node execution ${first.index + 1} (${first.node_id}${run}) on`;
}

/**
 * Why a trace holds fewer node executions than ran, when it does:
 * `the trace stopped writing past its size cap (…) at node execution 4 (c); 1 node execution not written`.
 */
function stoppedWriting(read: ReadTrace): string | undefined {
  const { trace } = read;
  const dropped = trace.events_dropped ?? 0;
  if (dropped === 0 && !read.partial) return undefined;
  const first = trace.first_dropped;
  const at = first === undefined
    ? ""
    : ` at node execution ${first.index + 1} (${first.node_id}${
      first.execution_index > 0 ? `#${first.execution_index + 1}` : ""
    })`;
  const cause = read.partial || trace.write_error
    ? `after a write failed${trace.write_error ? ` (${trace.write_error})` : ""}`
    : `past its size cap (${capText(trace)})`;
  return `the trace stopped writing ${cause}${at}${
    dropped > 0 ? `, ${count(dropped, "node execution")} not written` : ""
  }`;
}

/** `trace.max_bytes = 4 KiB in PFLOW_HOME/settings.json`. */
function capText(trace: TraceDocument): string {
  return `trace.max_bytes = ${
    trace.limits?.max_bytes === undefined ? "?" : formatBytes(trace.limits.max_bytes)
  } in PFLOW_HOME/settings.json`;
}

/** Why node executions are missing from the file: its size cap, or a write that failed. */
export function writeNotes(read: ReadTrace): string[] {
  const { trace } = read;
  const dropped = trace.events_dropped ?? 0;
  const notes: string[] = [];
  if (read.partial) {
    const why = trace.write_error ? ` (${trace.write_error})` : "";
    notes.push(`⚠ partial: writing the trace failed${why}; node executions after that are not in the file`);
  }
  if (dropped > 0) {
    const cause = trace.write_error ? "after the write failed" : `past the trace's size cap (${capText(trace)})`;
    notes.push(`⚠ ${count(dropped, "node execution")} not written ${cause}${droppedFrom(trace)}`);
  }
  return notes;
}

/** `model · in N · out N · cached N · $cost · duration` for the tree. */
function callSummary(call: TraceLlmCall): string {
  const u = call.usage ?? {};
  const parts = [call.model];
  if (call.item_index !== null && call.item_index !== undefined) parts.push(`item ${call.item_index}`);
  parts.push(
    `in ${formatCount(u.input_tokens ?? 0)}`,
    `out ${formatCount(u.output_tokens ?? 0)}`,
    `cached ${formatCount(u.cache_read_tokens ?? 0)}`,
  );
  if ((u.cache_write_tokens ?? 0) > 0) parts.push(`cache write ${formatCount(u.cache_write_tokens)}`);
  parts.push(callCostText(call), formatDuration(call.duration_ms ?? 0));
  return parts.join(" · ");
}

/** First line of a text, cut to {@link VALUE_CHARS}. */
function oneLine(text: string): string {
  const lines = text.split("\n");
  let first = lines[0];
  if (first.length > VALUE_CHARS) first = `${first.slice(0, VALUE_CHARS)}…`;
  return lines.length > 1 ? `${first} …` : first;
}

/**
 * A value on one line as JSON, cut after {@link VALUE_CHARS} characters
 * with a note (the full value is in `--json`).
 */
export function compactValue(value: unknown): string {
  if (value === undefined) return "(absent)";
  const text = JSON.stringify(value) ?? String(value);
  if (text.length <= VALUE_CHARS) return text;
  return `${text.slice(0, VALUE_CHARS)}… (${formatCount(text.length)} chars, cut; full value: --json)`;
}

function indent(text: string, by: string): string[] {
  return text.split("\n").map((l) => `${by}${l}`.trimEnd());
}

/** `--node` in the terminal: each of the executions at `indices` in full, a blank line between them. */
export function renderNodes(trace: TraceDocument, indices: readonly number[], style: Style): string[] {
  const labels = eventLabels(trace.events); // once, not once per execution shown
  return indices.flatMap((i, k) => [...(k > 0 ? [""] : []), ...renderNode(trace, i, style, labels)]);
}

/** Everything about one node execution (`labels`: {@link eventLabels} of the trace's events). */
export function renderNode(
  trace: TraceDocument,
  index: number,
  style: Style,
  labels: readonly string[] = eventLabels(trace.events),
): string[] {
  const event = trace.events[index];
  const label = labels[index];
  const status = event.status === "success"
    ? style.green("✓ success")
    : event.status === "interrupted"
    ? style.yellow("⚠ interrupted")
    : style.red("✗ error");
  const lines = [
    `${style.bold(label)} · ${event.node_type} · ${status} · ${formatDuration(event.duration_ms ?? 0)} ${
      style.dim(`(event ${index + 1} of ${trace.events.length})`)
    }`,
  ];
  const field = (name: string, value: string) => lines.push(`  ${style.dim(name.padEnd(10))} ${value}`);
  const started = Date.parse(event.start_time);
  field(
    "started",
    `${Number.isNaN(started) ? "?" : localTime(started)} (+${formatDuration(event.start_offset_ms ?? 0)} into the run)`,
  );
  const ph = event.phases;
  if (ph) {
    field(
      "phases",
      `prep ${formatDuration(ph.prep_ms)} · exec ${formatDuration(ph.exec_ms)} · post ${formatDuration(ph.post_ms)}`,
    );
  }
  const cpu = event.cpu;
  if (cpu) {
    const children = cpu.child_user_ms !== undefined
      ? ` · children user ${formatDuration(cpu.child_user_ms)} · system ${formatDuration(cpu.child_system_ms ?? 0)}`
      : "";
    field("cpu", `user ${formatDuration(cpu.user_ms)} · system ${formatDuration(cpu.system_ms)}${children}`);
  }
  field("action", event.action === null || event.action === undefined ? "(none: the node threw)" : event.action);
  field("retries", String(event.retries ?? 0));

  const params = Object.entries(event.params ?? {});
  const perItem = event.item_params ?? [];
  lines.push(style.bold(perItem.length > 0 ? "params (as written)" : "params"));
  if (params.length === 0) lines.push(style.dim("  (none)"));
  for (const [key, value] of params) lines.push(`  ${key}: ${compactValue(value)}`);
  if (perItem.length > 0) {
    lines.push(style.bold("params per item (resolved)"));
    perItem.forEach((p, i) => {
      const shown = p === null
        ? style.dim("(not resolved)")
        : Object.entries(p).map(([key, value]) => `${key}: ${compactValue(value)}`).join(" · ");
      lines.push(`  item ${i}: ${shown}`);
    });
  }

  const resolutions = event.template_resolutions ?? [];
  if (resolutions.length > 0) {
    lines.push(style.bold("template resolutions"));
    for (const r of resolutions) {
      const item = r.item_index !== undefined ? style.dim(` (item ${r.item_index})`) : "";
      lines.push(`  ${r.param}: ${compactValue(r.template)} → ${compactValue(r.value)}${item}`);
    }
  }

  const mutations = event.mutations ?? [];
  lines.push(style.bold("mutations"));
  if (mutations.length === 0) lines.push(style.dim("  (none)"));
  for (const m of mutations) {
    if (m.op === "delete") {
      lines.push(`  ${style.red("delete")} ${m.path}${"before" in m ? ` (was ${compactValue(m.before)})` : ""}`);
    } else lines.push(`  ${style.green("set")} ${m.path}: ${compactValue(m.before)} → ${compactValue(m.after)}`);
  }

  const calls = event.llm_calls ?? [];
  if (calls.length > 0) {
    lines.push(style.bold("llm calls"));
    calls.forEach((call, c) => lines.push(...renderCall(call, c, style)));
  }

  if (event.error) {
    lines.push(style.bold("error"));
    lines.push(...indent(style.red(`${event.error.type}: ${event.error.message}`), "  "));
    const stack = (event.error.stack ?? "").split("\n");
    if (stack[0] === `${event.error.type}: ${event.error.message}`.split("\n")[0]) stack.shift();
    if (stack.some((l) => l.trim() !== "")) lines.push(...indent(style.dim(stack.join("\n")), "  "));
  }
  return lines;
}

function renderCall(call: TraceLlmCall, c: number, style: Style): string[] {
  const u = call.usage ?? {};
  const about = call.model.startsWith(`${call.provider}/`) ? [] : [`provider ${call.provider}`];
  if (call.response_model && call.response_model !== call.model) about.push(`response model ${call.response_model}`);
  if (call.item_index !== null && call.item_index !== undefined) about.push(`item ${call.item_index}`);
  if (call.finish_reason) about.push(`finish ${call.finish_reason}`);
  if (call.request_id) about.push(`request ${call.request_id}`);
  const usage = [
    `in ${formatCount(u.input_tokens ?? 0)}`,
    `out ${formatCount(u.output_tokens ?? 0)}`,
    `cache read ${formatCount(u.cache_read_tokens ?? 0)}`,
    `cache write ${formatCount(u.cache_write_tokens ?? 0)}`,
  ];
  if ((u.reasoning_tokens ?? 0) > 0) usage.push(`reasoning ${formatCount(u.reasoning_tokens)}`);
  const money = callCostDetail(call);
  const timing = [formatDuration(call.duration_ms ?? 0)];
  if (typeof call.time_to_first_token_ms === "number") {
    timing.push(`first token ${formatDuration(call.time_to_first_token_ms)}`);
  }
  const lines = [
    `  ${style.bold(`[${c + 1}] ${call.model}`)}${about.length ? ` ${style.dim(about.join(" · "))}` : ""}`,
    `      usage: ${usage.join(" · ")}`,
    `      cost: ${money} · time: ${timing.join(" · ")}`,
  ];
  if (call.status === "error") {
    const status = call.http_status ? `HTTP ${call.http_status} · ` : "";
    lines.push(`      ${style.red(`failed: ${status}${call.error?.type ?? "error"}: ${call.error?.message ?? ""}`)}`);
  }
  const o = call.options;
  const sent = [
    ...(o?.max_tokens !== undefined ? [`max_tokens ${o.max_tokens}`] : []),
    ...(o?.temperature !== undefined ? [`temperature ${o.temperature}`] : []),
    ...(o?.thinking ? [`thinking ${o.thinking.budget_tokens} tokens`] : []),
    ...(o?.reasoning_effort ? [`reasoning effort ${o.reasoning_effort}`] : []),
    ...(o?.schema ? [`schema '${o.schema.name}' (${o.schema.mode})`] : []),
    ...(o?.cache ? [`cache ${o.cache}`] : []),
  ];
  if (sent.length > 0) lines.push(`      sent: ${sent.join(" · ")}`);
  const marker = (m?: { ttl?: string }) => m ? ` ${style.dim(`[cached ${m.ttl ?? "5m"}]`)}` : "";
  const block = (title: string, text: string, cached?: { ttl?: string }) => {
    lines.push(`      ${style.dim(`${title}:`)}${marker(cached)}`);
    lines.push(...indent(text === "" ? style.dim("(empty)") : text, "        "));
  };
  if (call.system !== null && call.system !== undefined) block("system", call.system, call.system_cache_control);
  for (const m of call.messages ?? []) block(m.role, m.content, m.cache_control);
  if (call.thinking !== undefined) block("thinking", call.thinking);
  if (call.status !== "error" || call.response) block("response", call.response ?? "");
  return lines;
}

/** The store before and after one node execution (`--state`; its `--json` document). */
export interface NodeState {
  node_id: string;
  execution_index: number;
  event_index: number;
  before: Record<string, unknown>;
  after: Record<string, unknown>;
}

/**
 * The stores around each of the executions at `indices`, from one replay of
 * the trace (not one per execution: a loop's 5,000 executions would replay it
 * 5,000 times), and the mutations that could not be applied on the way, each
 * once.
 */
export function nodeStates(
  trace: TraceDocument,
  indices: readonly number[],
): { states: NodeState[]; problems: StateProblem[] } {
  const problems: StateProblem[] = [];
  const stores = storesAround(trace, indices, { onProblem: (p) => problems.push(p) });
  const states = indices.map((index, k) => ({
    node_id: trace.events[index].node_id,
    execution_index: trace.events[index].execution_index,
    event_index: index,
    before: stores[k].before,
    after: stores[k].after,
  }));
  return { states, problems };
}

/** Copies a value with long strings cut (for pretty JSON in the terminal); `cut` is set when any was. */
function cutStrings(value: unknown, state: { cut: boolean }): unknown {
  if (typeof value === "string") {
    if (value.length <= VALUE_CHARS) return value;
    state.cut = true;
    return `${value.slice(0, VALUE_CHARS)}… (${value.length} chars)`;
  }
  if (Array.isArray(value)) return value.map((v) => cutStrings(v, state));
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, cutStrings(v, state)]));
  }
  return value;
}

/** `--state` in the terminal: each state, a blank line between them. */
export function renderStates(trace: TraceDocument, states: readonly NodeState[], style: Style): string[] {
  const labels = eventLabels(trace.events); // once, not once per execution shown
  return states.flatMap((s, k) => [...(k > 0 ? [""] : []), ...renderState(trace, s, style, labels)]);
}

function renderState(trace: TraceDocument, state: NodeState, style: Style, labels: readonly string[]): string[] {
  const label = labels[state.event_index];
  const cut = { cut: false };
  const lines = [
    `${style.bold(label)} · ${trace.events[state.event_index].node_type} · shared store before and after ${
      style.dim(`(event ${state.event_index + 1} of ${trace.events.length})`)
    }`,
    style.bold("before:"),
    JSON.stringify(cutStrings(state.before, cut), null, 2),
    style.bold("after:"),
    JSON.stringify(cutStrings(state.after, cut), null, 2),
  ];
  const changes = diffStores(state.before, state.after);
  if (changes.length === 0) lines.push(`${style.bold("changed:")} nothing`);
  else {
    lines.push(style.bold(`changed (${changes.length}):`));
    const marks = { added: style.green("+"), removed: style.red("-"), changed: style.yellow("~") };
    for (const c of changes) lines.push(`  ${marks[c.kind]} ${c.path}`);
  }
  if (cut.cut) lines.push(style.dim(`(strings over ${VALUE_CHARS} characters are cut here; full values: --json)`));
  return lines;
}
