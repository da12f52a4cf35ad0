/**
 * The trace sink: turns the run's telemetry events into the trace document
 * (see trace_format.ts), streaming each node's event to disk as the node
 * finishes. Everything it writes is redacted and bounded. A failed write is
 * a warning; the run goes on and, when the document is read after the run
 * (an OTLP export), it keeps the later events in memory (within the size cap).
 * @module
 */
import { closeSync, ftruncateSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { openPrivateSync, privateDirSync } from "../util/private_files.ts";
import { type ProcessIdentity, thisProcess } from "../util/process_identity.ts";
import { directoryProblem } from "../util/path_problem.ts";
import { dirname } from "node:path";
import type { Shared } from "../engine/mod.ts";
import type { RunSummary } from "./metrics.ts";
import { MutationRecorder, type RawMutation } from "./recording_store.ts";
import { REDACTED, type Redactor } from "./redact.ts";
import type { TracedOptions } from "./decorators.ts";
import { DEFAULT_VALUE_CHARS, snapshot, truncateString } from "./truncate.ts";
import {
  callCostUsd,
  type LlmCallRecord,
  type NodeExecution,
  type RunTelemetryOptions,
  type TelemetrySink,
} from "./telemetry.ts";
import {
  type Mutation,
  PARTIAL_SUFFIX,
  type PlannerTraceFooter,
  type TemplateResolution,
  TRACE_FORMAT_VERSION,
  type TraceDocument,
  type TraceEvent,
  traceEventLine,
  traceFooterText,
  traceHeaderText,
  type TraceKind,
  type TraceLimits,
  type TraceLlmCall,
  type TraceLlmTotals,
  type TraceStatus,
} from "./trace_format.ts";
import { newSpanId } from "./ids.ts";
import type { RunError } from "../workflow/run.ts";

/** Default truncation limits, and the file's size cap (256 MiB). */
export const DEFAULT_TRACE_LIMITS: TraceLimits = {
  store_chars: 10_000,
  prompt_chars: 50_000,
  response_chars: 20_000,
  max_bytes: 256 * 1024 * 1024,
  value_chars: DEFAULT_VALUE_CHARS,
};

/** Options of {@link TraceSink}. */
export interface TraceSinkOptions {
  /** Header fields known before the run. */
  header:
    & Pick<
      TraceDocument,
      | "execution_id"
      | "trace_id"
      | "span_id"
      | "parent_span_id"
      | "workflow_name"
      | "workflow_file"
      | "pflow_version"
      | "inputs"
    >
    & Partial<Pick<TraceDocument, "request" | "planner_model" | "planner_trace" | "request_span_id">>;
  /** What the trace records (default `workflow`). */
  kind?: TraceKind;
  /** Params of each node as written in the workflow (resolved ones replace them). */
  nodeParams: Map<string, Record<string, unknown>>;
  /** What each node's class declared with `@traced` (fields captured in full, fields redacted). */
  nodeTraced?: Map<string, TracedOptions>;
  redactor: Redactor;
  limits?: TraceLimits;
  /**
   * Stream the document to this file; in memory only when absent. A function
   * is called when the file opens ({@link TraceSink.start}), so a name made
   * from the run's text is made once the run's secrets are known.
   */
  file?: string | (() => string);
  /** Include error stacks. */
  verbose?: boolean;
  /**
   * Also keep each streamed event in memory, for {@link TraceSink.document}
   * after the run (an OTLP export); default true. Without a file (or once
   * its header failed) events are always kept.
   */
  keepEvents?: boolean;
  /** Warning sink (a failed write warns once). */
  warn: (message: string) => void;
}

interface Pending {
  event: TraceEvent;
  recorder: MutationRecorder;
}

/** Builds (and streams) the trace of one run. */
export class TraceSink implements TelemetrySink {
  readonly limits: TraceLimits;
  readonly #options: TraceSinkOptions;
  readonly #events: TraceEvent[] = [];
  readonly #pending = new Map<NodeExecution, Pending>();
  #header: Omit<TraceDocument, "events"> | undefined;
  #fd: number | undefined;
  #file: string | (() => string) | undefined;
  #writeFailed = false;
  #writeError: string | undefined;
  #startEpochMs = 0;
  #footer: Partial<TraceDocument> | undefined;
  /** Bytes of the document so far: its header and events (what `limits.max_bytes` bounds). */
  #bytes = 0;
  /** Bytes of the file so far (every byte written is part of a whole line): where the next write goes. */
  #fileBytes = 0;
  /** Executions not in the document: past the size cap (neither written nor kept). */
  #dropped = 0;
  /** The first execution not in the document: from it on, none is. */
  #firstDropped: TraceDocument["first_dropped"];
  /** Executions not in the file: those past the cap, and every one from a failed write on. */
  #fileDropped = 0;
  /** The first execution not in the file: from it on, none is. */
  #fileFirstDropped: TraceDocument["first_dropped"];
  /** Events in the document (written, or kept in memory when there is no file). */
  #count = 0;
  /** Executions that failed (threw or returned `error`, an error edge's included), written or not. */
  #failed = 0;
  /** This trace's own LLM calls, written events or not (the footer's `llm_totals`). */
  #llm = { calls: 0, cost_usd: 0, tokens: 0, cached_tokens: 0, usage_missing: 0, unpriced: new Set<string>() };

  /** @param options header, redaction, limits and where to write */
  constructor(options: TraceSinkOptions) {
    this.#options = options;
    this.limits = { ...DEFAULT_TRACE_LIMITS, ...options.limits };
    this.#file = options.file;
  }

  /**
   * The RunTelemetry options that feed this sink: phase times, trace ids,
   * the recording store view and template resolutions. Spread them into
   * `new RunTelemetry({ instrumented: true, sinks: [..., sink], ...sink.telemetryOptions() })`.
   */
  telemetryOptions(): Pick<RunTelemetryOptions, "phases" | "traceId" | "storeView" | "onTemplate"> {
    return {
      phases: true,
      traceId: this.#options.header.trace_id,
      storeView: (exec, shared) => this.recordingStore(exec, shared),
      onTemplate: (exec, item, param, refs, value) => this.templateResolved(exec, item, param, refs, value),
    };
  }

  /**
   * The trace file, when writing one (renamed `….partial.json` once a write
   * failed part-way); named when {@link TraceSink.start} opens it.
   */
  get file(): string | undefined {
    return typeof this.#file === "function" ? undefined : this.#file;
  }

  /** Whether a write failed after the header: the file lacks events (and maybe its footer). */
  get partial(): boolean {
    return this.#writeError !== undefined;
  }

  /** Node executions not written to the file (past `limits.max_bytes`, or after a failed write). */
  get eventsDropped(): number {
    return this.#fileDropped;
  }

  /** Writes the header with the initial store; call once before the first node. */
  start(initialStore: Shared, options: { startWall?: number } = {}): void {
    // The run's offsets count from its `startWall` (performance.now()); the
    // header's start time is that same instant, so offsets added to it land
    // where they happened (a planned run's traces share one axis).
    const since = options.startWall === undefined ? 0 : Math.max(0, performance.now() - options.startWall);
    this.#startEpochMs = Date.now() - since;
    const h = this.#options.header;
    this.#header = {
      format_version: TRACE_FORMAT_VERSION,
      kind: this.#options.kind ?? "workflow",
      ...h,
      start_time: new Date(this.#startEpochMs).toISOString(),
      // Only in a file: whether its run still goes (trace prune keeps a live run's trace).
      ...(this.#file !== undefined ? writerField() : {}),
      inputs: this.#value(h.inputs, undefined, undefined, true) as Record<string, unknown>,
      initial_store: this.#value(initialStore, undefined, undefined, true) as Record<string, unknown>,
      limits: this.limits,
    };
    const text = this.#encode(traceHeaderText(this.#header));
    this.#bytes = text.length;
    this.#fileBytes = text.length;
    if (typeof this.#file === "function") this.#file = this.#file();
    const file = this.#file;
    if (file === undefined) return;
    try {
      // Traces hold prompts, responses and store values: 0600 in a 0700 folder, whatever the umask.
      privateDirSync(dirname(file));
      this.#fd = openPrivateSync(file, "w");
      this.#writeAll(text, 0);
    } catch (error) {
      // Without its header the file is no trace at all: remove it rather than leave an unreadable stub.
      this.#writeFailed = true;
      this.#closeFd();
      try {
        unlinkSync(file);
      } catch { /* never created */ }
      // A directory that cannot be (`debug` is a file): said in words, not as mkdir's EEXIST.
      const problem = directoryProblem(dirname(file));
      const why = problem === undefined ? describeIoError(error) : `${dirname(file)} ${problem}`;
      this.#options.warn(`trace not written (${why}); the run goes on`);
    }
  }

  /** A node execution began: its event opens and its store view starts recording. */
  nodeStart(exec: NodeExecution): void {
    const event: TraceEvent = {
      node_id: exec.node_id,
      node_type: exec.node_type,
      span_id: exec.span_id ?? newSpanId(),
      parent_span_id: this.#options.header.span_id,
      execution_index: exec.index,
      start_offset_ms: round(exec.start_ms),
      start_time: new Date(this.#startEpochMs + exec.start_ms).toISOString(),
      duration_ms: 0,
      phases: { prep_ms: 0, exec_ms: 0, post_ms: 0 },
      cpu: { user_ms: 0, system_ms: 0 },
      retries: 0,
      action: null,
      success: true,
      status: "success",
      error: null,
      params: this.#params(exec.node_id, this.#options.nodeParams.get(exec.node_id) ?? {}),
      template_resolutions: [],
      mutations: [],
      llm_calls: [],
    };
    const recorder = new MutationRecorder((m) => event.mutations.push(this.#mutation(exec.node_id, m)));
    this.#pending.set(exec, { event, recorder });
  }

  /** The store view a node execution runs with: writes through it are recorded. */
  recordingStore(exec: NodeExecution, shared: Shared): Shared {
    const pending = this.#pending.get(exec);
    return pending ? pending.recorder.root(shared) : shared;
  }

  /**
   * The templates of one param of `exec` resolved (per batch item when
   * `item` is set): one resolution per `${…}`, and the param's new value
   * (in `params`, or a batch item's in `item_params`; a batch's
   * `batch.items` has resolutions only).
   */
  templateResolved(
    exec: NodeExecution,
    item: number | undefined,
    param: string,
    refs: { template: string; value: unknown }[],
    value: unknown,
  ): void {
    const pending = this.#pending.get(exec);
    if (pending === undefined) return;
    const resolvedValue = this.#nodeValue(exec.node_id, param, value, "param");
    const hidden = resolvedValue === REDACTED;
    for (const ref of refs) {
      const resolution: TemplateResolution = {
        param,
        template: ref.template,
        value: hidden ? REDACTED : this.#nodeValue(exec.node_id, param, ref.value, "param"),
      };
      if (item !== undefined) resolution.item_index = item;
      pending.event.template_resolutions.push(resolution);
    }
    if (item !== undefined) {
      // A batch item's params: `params` keeps them as written, each item's resolved ones are listed apart.
      const perItem = pending.event.item_params ??= [];
      (perItem[item] ??= {})[param] = resolvedValue;
    } else if (Object.hasOwn(this.#options.nodeParams.get(exec.node_id) ?? {}, param)) {
      pending.event.params[param] = resolvedValue;
    }
  }

  /** An LLM call finished: it joins its node's event. */
  llmCall(call: LlmCallRecord): void {
    let target: Pending | undefined;
    for (const [exec, pending] of this.#pending) {
      if (exec.node_id === call.node_id && exec.index === call.node_execution) target = pending;
    }
    if (target === undefined) return;
    const u = call.usage;
    this.#llm.calls++;
    // A call whose usage is missing has unknown tokens: the counts it reported so far stay in its record only.
    if (!u.usage_missing) {
      this.#llm.tokens += u.input_tokens + u.cache_read_tokens + u.cache_write_tokens + u.output_tokens;
      this.#llm.cached_tokens += u.cache_read_tokens;
    }
    // The cost a call counts for, as in the run's result: the provider's reported cost, else pflow's.
    const cost = callCostUsd(call);
    if (u.usage_missing) this.#llm.usage_missing++;
    // A call without usage has no cost (counted in `usage_missing`), not a model without a price.
    else if (cost === null) this.#llm.unpriced.add(u.model);
    if (typeof cost === "number") this.#llm.cost_usd += cost;
    const { raw, ...usage } = u;
    const redactor = this.#options.redactor;
    const request = call.request;
    const options: NonNullable<TraceLlmCall["options"]> = {};
    if (request?.max_tokens !== undefined) options.max_tokens = request.max_tokens;
    if (request?.temperature !== undefined) options.temperature = request.temperature;
    if (request?.thinking !== undefined) options.thinking = request.thinking;
    if (request?.reasoning_effort !== undefined) options.reasoning_effort = request.reasoning_effort;
    if (request?.schema !== undefined) {
      options.schema = { ...request.schema, schema: this.#value(request.schema.schema) };
    }
    if (request?.cache !== undefined) options.cache = request.cache;
    target.event.llm_calls.push(
      {
        provider: u.provider,
        model: u.model,
        response_model: u.response_model,
        request_id: u.request_id,
        item_index: call.item_index,
        status: call.status,
        ...(call.error ? { error: { type: call.error.type, message: redactor.text(call.error.message) } } : {}),
        ...(call.http_status !== undefined ? { http_status: call.http_status } : {}),
        system: request?.system !== undefined
          ? truncateString(redactor.text(request.system), this.limits.prompt_chars)
          : null,
        ...(request?.system_cache_control ? { system_cache_control: request.system_cache_control } : {}),
        messages: (request?.messages ?? []).map((m) => ({
          role: m.role,
          content: truncateString(redactor.text(m.content), this.limits.prompt_chars),
          ...(m.cache_control ? { cache_control: m.cache_control } : {}),
        })),
        ...(Object.keys(options).length > 0 ? { options } : {}),
        response: truncateString(redactor.text(call.response ?? ""), this.limits.response_chars),
        ...(call.thinking !== undefined
          ? { thinking: truncateString(redactor.text(call.thinking), this.limits.response_chars) }
          : {}),
        ...(call.object !== undefined
          ? { object: this.#value(call.object, undefined, this.limits.response_chars) }
          : {}),
        finish_reason: call.finish_reason ?? null,
        usage: { ...usage, raw: this.#value(raw) },
        cost_usd: call.cost_usd,
        reported_cost_usd: call.reported_cost_usd,
        duration_ms: round(u.duration_ms),
        time_to_first_token_ms: call.time_to_first_token_ms ?? null,
        start_offset_ms: round(call.start_ms),
        span_id: newSpanId(),
      } satisfies TraceLlmCall,
    );
  }

  /** A node execution ended: its event is complete and goes to disk. */
  nodeEnd(exec: NodeExecution): void {
    const pending = this.#pending.get(exec);
    if (pending === undefined) return;
    this.#pending.delete(exec);
    pending.recorder.close();
    const e = pending.event;
    e.duration_ms = round(exec.duration_ms);
    const p = exec.phases;
    e.phases = {
      prep_ms: round(p.prep),
      exec_ms: round(p.exec),
      post_ms: round(p.post),
      prep_cpu_ms: round(p.cpu.prep),
      exec_cpu_ms: round(p.cpu.exec),
      post_cpu_ms: round(p.cpu.post),
    };
    e.cpu = { user_ms: round(exec.cpu_user_ms), system_ms: round(exec.cpu_system_ms) };
    if (exec.child_cpu_user_ms !== undefined) {
      e.cpu.child_user_ms = round(exec.child_cpu_user_ms);
      e.cpu.child_system_ms = round(exec.child_cpu_system_ms ?? 0);
    }
    e.retries = exec.retries;
    e.action = exec.action;
    e.status = exec.status;
    e.success = exec.status === "success";
    if (exec.error) {
      const redactor = this.#options.redactor;
      e.error = { type: exec.error.type, message: redactor.text(exec.error.message) };
      if (this.#options.verbose && exec.error.stack) e.error.stack = redactor.text(exec.error.stack);
    }
    if (!e.success) this.#failed++;
    e.index = this.#count;
    const place = { index: this.#count, node_id: e.node_id, execution_index: e.execution_index };
    // Once one event did not fit, no later one is in the document either: it holds the run up to a point,
    // without gaps. Those are counted, neither written nor kept in memory (the cap bounds both).
    const line = this.#firstDropped === undefined ? this.#encode(traceEventLine(e, this.#count)) : undefined;
    if (line === undefined || this.#bytes + line.length > this.limits.max_bytes!) {
      this.#dropped++;
      this.#firstDropped ??= place;
      this.#fileDropped++;
      this.#fileFirstDropped ??= place;
      return;
    }
    this.#bytes += line.length;
    this.#count++;
    // The file stops at its first failed write (no gaps either); the document read after the run goes on.
    if (this.#fd !== undefined) {
      if (this.#fileFirstDropped === undefined && this.#append(line)) {
        this.#fileBytes += line.length;
      } else {
        this.#fileDropped++;
        this.#fileFirstDropped ??= place;
      }
    }
    // Streamed to a file, an event is kept in memory only when something reads the document after the run.
    if (this.#fd === undefined || this.#options.keepEvents !== false) this.#events.push(e);
  }

  /** Closes the document with the run's outcome; returns it. */
  finish(outcome: {
    status: TraceStatus;
    error: RunError | null;
    durationMs: number;
    nodesExecuted: number;
    summary: RunSummary;
    /** A planner trace's decisions and results. */
    planner?: PlannerTraceFooter;
  }): TraceDocument {
    const redactor = this.#options.redactor;
    this.#footer = {
      end_time: new Date(this.#startEpochMs + outcome.durationMs).toISOString(),
      duration_ms: round(outcome.durationMs),
      final_status: outcome.status,
      error: outcome.error ? { ...outcome.error, message: redactor.text(outcome.error.message) } : null,
      nodes_executed: outcome.nodesExecuted,
      // Every failed execution, those an `error` edge handled (the run went on) included.
      nodes_failed: this.#failed,
      metrics: outcome.summary,
      llm_totals: this.#llmTotals(),
      ...(outcome.planner ? { planner: this.#plannerFooter(outcome.planner) } : {}),
      events_dropped: this.#dropped,
      ...(this.#firstDropped ? { first_dropped: this.#firstDropped } : {}),
    };
    if (this.#fd !== undefined) {
      // The file's footer says what the file lacks: after a failed write, more than the document does.
      const { events_dropped: _, first_dropped: __, ...rest } = this.#footer;
      const footer: Partial<TraceDocument> = {
        ...rest,
        events_dropped: this.#fileDropped,
        ...(this.#fileFirstDropped ? { first_dropped: this.#fileFirstDropped } : {}),
        ...(this.#writeError !== undefined ? { write_error: this.#writeError } : {}),
      };
      this.#append(this.#encode(traceFooterText(footer)));
      this.#closeFd();
    }
    return this.document();
  }

  /**
   * The document so far (complete after {@link finish}); a streamed trace
   * holds its events in memory only with `keepEvents` (see the options).
   */
  document(): TraceDocument {
    return { ...this.#header!, events: this.#events, ...this.#footer };
  }

  /** Whether a file is on disk (its header was written; see {@link TraceSink.partial}). */
  get written(): boolean {
    return typeof this.#file === "string" && !this.#writeFailed;
  }

  #llmTotals(): TraceLlmTotals {
    const { unpriced, ...totals } = this.#llm;
    return { ...totals, cost_usd: Math.round(totals.cost_usd * 1e10) / 1e10, unpriced_models: [...unpriced].sort() };
  }

  /** The planner footer with its workflow and params redacted and bounded like store values. */
  #plannerFooter(planner: PlannerTraceFooter): PlannerTraceFooter {
    return {
      ...planner,
      workflow: this.#value(planner.workflow, undefined, this.limits.prompt_chars),
      params: this.#value(planner.params) as Record<string, unknown>,
    };
  }

  #mutation(nodeId: string, raw: RawMutation): Mutation {
    const m: Mutation = { op: raw.op, path: raw.path };
    const segments = raw.path.split(/[.[\]"]+/).filter(Boolean);
    // A node's outputs are `node.key`: `@traced` names them by `key`.
    const field = segments[0] === nodeId && segments.length > 1 ? segments.slice(1).join(".") : segments.join(".");
    if (raw.existed) m.before = this.#nodeValue(nodeId, field, raw.before, "output");
    if (raw.op === "set") m.after = this.#nodeValue(nodeId, field, raw.after, "output");
    return m;
  }

  /** A node's params as traced: `@traced` redactions applied, bounded. */
  #params(nodeId: string, params: Record<string, unknown>): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(params)) out[name] = this.#nodeValue(nodeId, name, value, "param");
    return out;
  }

  /**
   * One value of a node (a param, or an output by its dotted path): the
   * `@traced` redactions of its class applied (and the values hidden learned
   * by the redactor, so they are hidden everywhere), then a bounded snapshot.
   * Its limit follows its kind: a `capture` param is a prompt (what was sent:
   * a prompt, a command), a `capture` output a response (what came back: a
   * model's answer, a command's stdout), anything else a store value.
   */
  #nodeValue(nodeId: string, field: string, value: unknown, kind: "param" | "output"): unknown {
    const traced = this.#options.nodeTraced?.get(nodeId);
    let shown = value;
    if (traced?.redact?.length) {
      const hidden: unknown[] = [];
      const paths = traced.redact.map((p) => p.toLowerCase().split("."));
      shown = redactPaths(value, field.toLowerCase().split("."), paths, hidden);
      // Only what was hidden is a secret: the request's other headers (Accept, …) are not.
      for (const secret of hidden) this.#options.redactor.learn(secret, "secret");
    }
    const top = field.split(".")[0];
    const captured = traced?.capture?.includes(top) ?? false;
    const limit = !captured
      ? this.limits.store_chars
      : kind === "param"
      ? this.limits.prompt_chars
      : this.limits.response_chars;
    return this.#value(shown, field.split(".").pop(), limit, true);
  }

  /**
   * A bounded, redacted snapshot; with `learnSecrets` (store values, params,
   * inputs) what it hides by name is learned, so later events hide it too.
   */
  #value(value: unknown, name?: string, maxString = this.limits.store_chars, learnSecrets = false): unknown {
    const wrapped = name === undefined ? value : { [name]: value };
    const limits = { maxString, maxChars: this.limits.value_chars };
    const copy = snapshot(wrapped, limits, this.#options.redactor, { learnSecrets });
    return name === undefined ? copy : (copy as Record<string, unknown>)[name];
  }

  /** The bytes of `text` as the file holds them (redacted: secrets learned at run time included). */
  #encode(text: string): Uint8Array {
    return new TextEncoder().encode(this.#options.redactor.text(text));
  }

  /**
   * Writes `bytes` at `position`: explicit positions, so that after a failed
   * write was cut off the next one (the footer) lands right after the last
   * whole line, not at the failed write's end (a hole, or past a size limit).
   */
  #writeAll(bytes: Uint8Array, position: number): void {
    let offset = 0;
    while (offset < bytes.length) {
      offset += writeSync(this.#fd!, bytes, offset, bytes.length - offset, position + offset);
    }
  }

  /**
   * Appends whole lines after the last good one. On failure (disk full) the
   * half-written bytes are cut off, the file is renamed `….partial.json` so
   * that it reads as partial even if pflow dies next, nothing more is
   * written but the footer, and the run goes on with one warning.
   */
  #append(bytes: Uint8Array): boolean {
    try {
      this.#writeAll(bytes, this.#fileBytes);
      return true;
    } catch (error) {
      try {
        ftruncateSync(this.#fd!, this.#fileBytes);
      } catch { /* the reader drops a half line anyway */ }
      if (this.#writeError === undefined) this.#markPartial(describeIoError(error));
      return false;
    }
  }

  #markPartial(reason: string): void {
    this.#writeError = reason;
    const file = this.#file as string;
    const renamed = file.endsWith(".json") ? `${file.slice(0, -".json".length)}${PARTIAL_SUFFIX}` : file;
    try {
      renameSync(file, renamed);
      this.#file = renamed;
    } catch { /* keeps its name; the footer (if it fits) says partial */ }
    this.#options.warn(
      `trace partially written (${reason}): ${this.#file}; later node executions are not in it; the run goes on`,
    );
  }

  #closeFd(): void {
    if (this.#fd === undefined) return;
    try {
      closeSync(this.#fd);
    } catch { /* nothing more to lose */ }
    this.#fd = undefined;
  }
}

/** `ENOSPC: no space left on device` from a file-system error. */
function describeIoError(error: unknown): string {
  const e = error as NodeJS.ErrnoException;
  const message = (e?.message ?? String(error)).split("\n")[0];
  return e?.code && !message.startsWith(e.code) ? `${e.code}: ${message}` : message;
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}

/**
 * A copy of `value` (found at `at`, lower-case segments) with every path of
 * `paths` that lies at or under it replaced by `[REDACTED]`; `value` itself
 * when nothing matched. Each value replaced is pushed on `hidden`.
 */
function redactPaths(value: unknown, at: string[], paths: string[][], hidden: unknown[]): unknown {
  let matched = false;
  const inner: string[][] = [];
  for (const path of paths) {
    if (path.length < at.length || !at.every((s, i) => path[i] === s)) continue;
    if (path.length === at.length) {
      if (value === undefined || value === null) return value;
      hidden.push(value);
      return REDACTED;
    }
    inner.push(path);
    matched = true;
  }
  if (!matched || value === null || typeof value !== "object" || Array.isArray(value)) return value;
  let changed = false;
  const copy: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    copy[k] = redactPaths(v, [...at, k.toLowerCase()], inner, hidden);
    if (copy[k] !== v) changed = true;
  }
  return changed ? copy : value;
}

/** The header's `writer`: this process, where it can be told (Linux). */
function writerField(): { writer?: ProcessIdentity } {
  const writer = thisProcess();
  return writer === undefined ? {} : { writer };
}
