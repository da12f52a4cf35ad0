/**
 * Synthetic trace documents for tests and benchmarks: one node execution
 * event and one whole trace with plain defaults, any field overridden.
 * @module
 */
import type { TraceDocument, TraceEvent } from "../../src/observability/trace_format.ts";

/** A successful `echo` execution at offset 0 lasting 10 ms; `fields` override anything. */
export function traceEvent(fields: Partial<TraceEvent> & { node_id: string }): TraceEvent {
  return {
    node_type: "echo",
    span_id: "1".repeat(16),
    parent_span_id: "2".repeat(16),
    execution_index: 0,
    start_offset_ms: 0,
    start_time: "2025-03-04T10:00:00.000Z",
    duration_ms: 10,
    phases: { prep_ms: 0, exec_ms: 10, post_ms: 0 },
    cpu: { user_ms: 0, system_ms: 0 },
    retries: 0,
    action: "default",
    success: true,
    status: "success",
    error: null,
    params: {},
    template_resolutions: [],
    mutations: [],
    llm_calls: [],
    ...fields,
  };
}

/**
 * A complete trace of execution `id8-0000-4000-8000-000000000000` that
 * started at `startMs` and ran `events` nodes n0, n1, … (each with its
 * `index`); `fields` override anything.
 */
export function traceDoc(
  id8: string,
  options: { startMs?: number; events?: number; fields?: Partial<TraceEvent> } = {},
  fields: Partial<TraceDocument> = {},
): TraceDocument {
  const start = options.startMs ?? Date.UTC(2025, 2, 4, 10);
  const count = options.events ?? 2;
  return {
    format_version: 1,
    kind: "workflow",
    execution_id: `${id8}-0000-4000-8000-000000000000`,
    trace_id: "0123456789abcdef0123456789abcdef",
    span_id: "2".repeat(16),
    parent_span_id: null,
    workflow_name: "report",
    workflow_file: null,
    pflow_version: "0.1.0",
    start_time: new Date(start).toISOString(),
    inputs: {},
    initial_store: {},
    limits: { store_chars: 10_000, prompt_chars: 50_000, response_chars: 20_000 },
    events: Array.from(
      { length: count },
      (_, i) => traceEvent({ index: i, node_id: `n${i}`, start_offset_ms: i * 10, ...options.fields }),
    ),
    end_time: new Date(start + 100).toISOString(),
    duration_ms: 100,
    final_status: "success",
    error: null,
    nodes_executed: count,
    nodes_failed: 0,
    events_dropped: 0,
    ...fields,
  };
}
