/**
 * The trace check's table (src/cli/trace_check.ts) against the views that
 * read a trace, in process: for every field in the table, a value of the
 * wrong type is caught and named; a field it lets be absent (or null) is
 * one every view can do without — `trace show` (tree, `--node`, `--state`),
 * the HTML page, the OTLP export and the list's cost, status and duration.
 * @module
 */
import assert from "node:assert/strict";
import { EVENT_FIELDS, type Fields, type FieldSpec, TRACE_FIELDS, traceProblem } from "../src/cli/trace_check.ts";
import { renderNode, renderTree } from "../src/cli/trace_show.ts";
import { renderTracePage } from "../src/cli/trace_page.ts";
import {
  formatCost,
  nodesExecuted,
  type ReadTrace,
  runDuration,
  traceCost,
  traceStatusLabel,
} from "../src/cli/trace_list.ts";
import { escapeControls, PLAIN_STYLE } from "../src/cli/terminal.ts";
import { traceToOtlpJson } from "../src/observability/otlp_json.ts";
import { storeAfter, storeBefore } from "../src/observability/trace_state.ts";
import type { TraceDocument } from "../src/observability/trace_format.ts";

/** Plausible text for fields whose views parse it; any other string field gets its own name. */
const TEXT: Record<string, string> = {
  trace_id: "0123456789abcdef0123456789abcdef",
  span_id: "1".repeat(16),
  parent_span_id: "2".repeat(16),
  request_span_id: "3".repeat(16),
  start_time: "2025-03-04T10:00:00.000Z",
  end_time: "2025-03-04T10:00:01.000Z",
  path: "node.key",
};

/** A value of every field the spec has, all present. */
function sample(spec: FieldSpec, name: string): unknown {
  switch (spec.type) {
    case "string":
      return spec.values?.[0] ?? TEXT[name] ?? name;
    case "number":
      return 2;
    case "ms":
      return 5;
    case "boolean":
      return true;
    case "object":
    case "any":
      return { key: [1, "two"] };
    case "record":
      return Object.fromEntries(Object.entries(spec.fields).map(([k, s]) => [k, sample(s, k)]));
    case "list":
      return [sample(spec.of, name)];
  }
}

/** A trace with every field of the table (two events), of `kind`. */
function fullTrace(kind: "workflow" | "planner"): TraceDocument {
  const event = () => sample({ type: "record", fields: EVENT_FIELDS }, "event");
  return {
    format_version: 1,
    kind,
    ...(sample({ type: "record", fields: TRACE_FIELDS }, "trace") as object),
    events: [event(), event()],
  } as TraceDocument;
}

type Path = (string | number)[];

/** Every field of the table, depth first, with list items at index 0. */
function* fieldPaths(fields: Fields, prefix: Path): Generator<{ path: Path; spec: FieldSpec }> {
  for (const [name, spec] of Object.entries(fields)) {
    yield* specPaths(spec, [...prefix, name]);
  }
}

function* specPaths(spec: FieldSpec, path: Path): Generator<{ path: Path; spec: FieldSpec }> {
  yield { path, spec };
  if (spec.type === "record") yield* fieldPaths(spec.fields, path);
  if (spec.type === "list") yield* specPaths(spec.of, [...path, 0]);
}

/** `a.b[0].c`, as the check names a field. */
function shown(path: Path): string {
  return path.map((p, i) => typeof p === "number" ? `[${p}]` : i === 0 ? p : `.${p}`).join("");
}

/** A copy of `doc` with the value at `path` replaced (`undefined`: deleted). */
function changed(doc: TraceDocument, path: Path, value: unknown): TraceDocument {
  const copy = structuredClone(doc) as unknown as Record<string | number, unknown>;
  let at = copy;
  for (const key of path.slice(0, -1)) at = at[key] as Record<string | number, unknown>;
  if (value === undefined) delete at[path.at(-1)!];
  else at[path.at(-1)!] = value;
  return copy as unknown as TraceDocument;
}

/** A value the spec does not allow, of another type. */
function wrongValue(spec: FieldSpec): unknown {
  switch (spec.type) {
    case "string":
      return spec.values ? "neither" : 7;
    case "number":
    case "ms":
      return "1";
    case "boolean":
      return "true";
    case "object":
    case "record":
      return "text";
    case "list":
      return { 0: "not a list" };
    case "any":
      return undefined;
  }
}

/** What each view does with a trace; throws what a view would. */
function renderEverything(trace: TraceDocument): void {
  const complete = trace.final_status !== undefined;
  const read: ReadTrace = { path: "/tmp/t.json", trace, complete, eventCount: trace.events.length };
  renderTree(read, PLAIN_STYLE);
  for (let i = 0; i < trace.events.length; i++) {
    renderNode(trace, i, PLAIN_STYLE);
    storeBefore(trace, i, { onProblem: () => {} });
    storeAfter(trace, i, { onProblem: () => {} });
  }
  renderTracePage([read]);
  try {
    JSON.stringify(traceToOtlpJson(trace));
  } catch (error) {
    // Without its ids or start time a trace cannot be exported: that is said, as the command's error.
    assert.match((error as Error).message, /^trace has no valid (trace_id|span_id|start_time) /);
  }
  formatCost(traceCost(trace));
  runDuration(read);
  nodesExecuted(read);
  traceStatusLabel(read, PLAIN_STYLE);
  escapeControls(trace.workflow_name, { keepNewlines: false });
}

for (const kind of ["workflow", "planner"] as const) {
  const full = fullTrace(kind);
  const all: { path: Path; spec: FieldSpec; label: string }[] = [
    ...[...fieldPaths(TRACE_FIELDS, [])].map((f) => ({ ...f, label: shown(f.path) })),
    ...[...fieldPaths(EVENT_FIELDS, [])].map((f) => ({
      path: ["events", 1, ...f.path],
      spec: f.spec,
      label: `event 2: ${shown(f.path)}`,
    })),
  ];

  Deno.test(`trace check (${kind}): a trace with every field passes and every view reads it`, () => {
    assert.equal(traceProblem(full as unknown as Record<string, unknown>), undefined);
    renderEverything(full);
  });

  Deno.test(`trace check (${kind}): a value of the wrong type in any field is named`, () => {
    for (const { path, spec, label } of all) {
      const wrong = wrongValue(spec);
      if (wrong === undefined) continue;
      const problem = traceProblem(changed(full, path, wrong) as unknown as Record<string, unknown>);
      assert.ok(problem?.startsWith(`${label} is `), `${label}: ${problem}`);
      if (!spec.nullable && spec.type !== "any") {
        const nulled = traceProblem(changed(full, path, null) as unknown as Record<string, unknown>);
        assert.equal(nulled, `${label} is null, not ${nulled?.split(", not ")[1]}`, label);
      }
      if (spec.type === "ms") {
        const far = traceProblem(changed(full, path, 1e306) as unknown as Record<string, unknown>);
        assert.equal(far, `${label} is 1e+306, out of range for a time in ms`);
      }
    }
  });

  Deno.test(`trace check (${kind}): a field it lets be absent or null, every view does without`, () => {
    for (const { path, spec, label } of all) {
      const variants: [string, unknown][] = [];
      if (typeof path.at(-1) === "string") variants.push(["absent", undefined]);
      if (spec.nullable) variants.push(["null", null]);
      for (const [how, value] of variants) {
        const doc = changed(full, path, value);
        const problem = traceProblem(doc as unknown as Record<string, unknown>);
        if (spec.required && how === "absent") {
          assert.equal(problem, `${label} is missing`);
          continue;
        }
        assert.equal(problem, undefined, `${label} ${how}`);
        try {
          renderEverything(doc);
        } catch (error) {
          assert.fail(`${label} ${how}: ${(error as Error).stack}`);
        }
      }
    }
  });
}
