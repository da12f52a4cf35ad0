/**
 * The shape of a trace as the trace commands read it: every field that
 * `trace show` (text, `--node`, `--state`, `--html`), `trace list` and
 * `trace export` read, with its type, in one table. A file edited by hand or
 * damaged is then one line naming the field (`event 2: node_id is an object,
 * not a string`), not an internal error in whichever view met it first.
 *
 * A field may be absent unless marked `required` (older traces lack some,
 * and the views fall back); when present it must have the writer's type.
 * Values the views only print as JSON (params, store values) are `any`.
 * @module
 */

/** What a field may hold. */
export type FieldSpec =
  | { type: "string"; values?: readonly string[]; nullable?: boolean; required?: boolean }
  | { type: "number" | "ms" | "boolean" | "object" | "any"; nullable?: boolean; required?: boolean }
  | { type: "record"; fields: Fields; nullable?: boolean; required?: boolean }
  | { type: "list"; of: FieldSpec; nullable?: boolean; required?: boolean };

/** Fields of a JSON object, by name. */
export type Fields = Readonly<Record<string, FieldSpec>>;

/**
 * Largest duration or time offset, in ms: the range of a JavaScript date.
 * Anything further is damage, and within it a time in nanoseconds (the OTLP
 * export's unit) stays a finite number.
 */
export const MAX_MS = 8.64e15;

const string = { type: "string" } as const;
const number = { type: "number" } as const;
/** A duration or an offset from the run's start. */
const ms = { type: "ms" } as const;
const boolean = { type: "boolean" } as const;
/** Any JSON object (its values are shown as they are). */
const object = { type: "object" } as const;
const any = { type: "any" } as const;

function nullable<S extends FieldSpec>(spec: S): S {
  return { ...spec, nullable: true };
}
function required<S extends FieldSpec>(spec: S): S {
  return { ...spec, required: true };
}
function record(fields: Fields): FieldSpec {
  return { type: "record", fields };
}
function list(of: FieldSpec): FieldSpec {
  return { type: "list", of };
}
function oneOf(...values: string[]): FieldSpec {
  return { type: "string", values };
}

const CACHE_CONTROL = record({ type: string, ttl: string });

const ERROR = record({ type: string, message: string, stack: string });

/** One LLM call of an event (`TraceLlmCall`). */
const LLM_CALL: Fields = {
  provider: string,
  model: required(string),
  response_model: nullable(string),
  request_id: nullable(string),
  item_index: nullable(number),
  status: string,
  error: nullable(ERROR),
  http_status: nullable(number),
  system: nullable(string),
  system_cache_control: CACHE_CONTROL,
  messages: nullable(list(record({ role: string, content: required(string), cache_control: CACHE_CONTROL }))),
  options: record({
    max_tokens: number,
    temperature: number,
    thinking: record({ budget_tokens: number }),
    reasoning_effort: string,
    schema: record({ name: string, mode: string, schema: any }),
    cache: string,
  }),
  response: string,
  thinking: string,
  object: any,
  finish_reason: nullable(string),
  usage: nullable(record({
    provider: string,
    model: string,
    response_model: nullable(string),
    input_tokens: number,
    cache_read_tokens: number,
    cache_write_tokens: number,
    cache_write_5m_tokens: number,
    cache_write_1h_tokens: number,
    output_tokens: number,
    reasoning_tokens: number,
    request_id: nullable(string),
    response_id: nullable(string),
    duration_ms: ms,
    reported_cost_usd: number,
    raw: any,
    usage_missing: boolean,
  })),
  cost_usd: nullable(number),
  reported_cost_usd: nullable(number),
  duration_ms: ms,
  time_to_first_token_ms: nullable(ms),
  start_offset_ms: ms,
  span_id: string,
};

/** One node execution (`TraceEvent`). */
export const EVENT_FIELDS: Fields = {
  index: number,
  node_id: required(string),
  node_type: string,
  span_id: string,
  parent_span_id: string,
  execution_index: number,
  start_offset_ms: ms,
  start_time: string,
  duration_ms: ms,
  phases: record({ prep_ms: ms, exec_ms: ms, post_ms: ms, prep_cpu_ms: ms, exec_cpu_ms: ms, post_cpu_ms: ms }),
  cpu: record({ user_ms: ms, system_ms: ms, child_user_ms: ms, child_system_ms: ms }),
  retries: number,
  action: nullable(string),
  success: boolean,
  status: string,
  error: nullable(ERROR),
  params: nullable(object),
  item_params: list(nullable(object)),
  template_resolutions: nullable(list(record({ param: string, template: any, value: any, item_index: number }))),
  mutations: nullable(
    list(record({ op: required(oneOf("set", "delete")), path: required(string), before: any, after: any })),
  ),
  llm_calls: nullable(list(record(LLM_CALL))),
};

/**
 * The header and footer (`TraceDocument` without `events`, which are
 * checked one by one with {@link EVENT_FIELDS}). `format_version`, `kind`,
 * `execution_id` and `workflow_name` are checked before, with their own
 * messages.
 */
export const TRACE_FIELDS: Fields = {
  execution_id: required(string),
  trace_id: string,
  span_id: string,
  parent_span_id: nullable(string),
  workflow_name: required(string),
  workflow_file: nullable(string),
  pflow_version: string,
  start_time: string,
  writer: record({ pid: number, start_ticks: string, boot_id: string, pid_ns: string }),
  inputs: object,
  initial_store: object,
  limits: record({
    store_chars: number,
    prompt_chars: number,
    response_chars: number,
    max_bytes: number,
    value_chars: number,
  }),
  request: string,
  planner_model: string,
  request_span_id: string,
  planner_trace: nullable(string),
  end_time: string,
  duration_ms: ms,
  final_status: string,
  error: nullable(record({ message: string, node_id: nullable(string), type: string })),
  nodes_executed: number,
  nodes_failed: number,
  metrics: record({
    num_nodes: number,
    num_llm_calls: required(number),
    duration_api_ms: ms,
    total_cost_usd: required(number),
    usage: required(record({
      input_tokens: required(number),
      cache_creation_input_tokens: required(number),
      cache_read_input_tokens: required(number),
      output_tokens: required(number),
      reasoning_tokens: number,
    })),
    modelUsage: object,
    pricing: record({
      version: nullable(string),
      source: nullable(string),
      unpriced_models: list(string),
      usage_missing: list(record({ node_id: nullable(string), model: string, request_id: nullable(string) })),
      complete: boolean,
    }),
    metrics: record({ workflow: object, planner: object, total: object }),
  }),
  llm_totals: record({
    calls: required(number),
    cost_usd: required(number),
    tokens: required(number),
    cached_tokens: required(number),
    unpriced_models: required(list(string)),
    usage_missing: required(number),
  }),
  planner: record({
    path: nullable(oneOf("reuse", "generate")),
    reused_workflow: nullable(string),
    repairs: number,
    llm_calls: number,
    attempts: required(list(record({
      problems: required(list(record({ pointer: string, message: string }))),
    }))),
    workflow: any,
    params: object,
    missing_inputs: required(list(record({ name: string, type: string, description: string }))),
    plan_path: nullable(string),
  }),
  events_dropped: number,
  first_dropped: record({ index: number, node_id: string, execution_index: number }),
  write_error: string,
};

/**
 * The first field of `doc` (a JSON object with an `events` list) that does
 * not have its type, as `path is X, not Y`; undefined when every field does.
 * Events are named `event N`, 1-based as `trace show` counts them
 * (`firstEvent`: the number of `events[0]`, when it is not the file's first).
 */
export function traceProblem(doc: Record<string, unknown>, firstEvent = 1): string | undefined {
  const { trace, event: eventCheck } = checks ??= {
    trace: compileFields(TRACE_FIELDS),
    event: compileFields(EVENT_FIELDS),
  };
  const top = trace(doc);
  if (top !== undefined) return sentence(top);
  const events = doc.events as unknown[];
  for (let i = 0; i < events.length; i++) {
    const event = events[i];
    if (!isRecord(event)) return `event ${firstEvent + i} is ${describe(event)}, not an object`;
    const problem = eventCheck(event);
    if (problem !== undefined) return `event ${firstEvent + i}: ${sentence(problem)}`;
  }
  return undefined;
}

/** A field that does not fit: its path (innermost first, as found on the way out) and what is wrong. */
interface Misfit {
  path: (string | number)[];
  what: string;
}

type Check = (value: unknown) => Misfit | undefined;

/** The table compiled to one function per spec: checking a trace takes about a tenth of the time parsing it does. */
let checks: { trace: FieldsCheck; event: FieldsCheck } | undefined;

type FieldsCheck = (value: Record<string, unknown>) => Misfit | undefined;

function compileFields(fields: Fields): FieldsCheck {
  const entries = Object.entries(fields).map(([name, spec]) => [name, compile(spec)] as const);
  return (value) => {
    for (const [name, check] of entries) {
      const misfit = check(value[name]);
      if (misfit !== undefined) {
        misfit.path.push(name);
        return misfit;
      }
    }
    return undefined;
  };
}

function compile(spec: FieldSpec): Check {
  const fits = fitting(spec);
  const inner = spec.type === "record" ? compileFields(spec.fields) : undefined;
  const item = spec.type === "list" ? compile(spec.of) : undefined;
  return (value) => {
    if (value === undefined) return spec.required ? { path: [], what: "is missing" } : undefined;
    if (value === null && spec.nullable) return undefined;
    if (!fits(value)) return { path: [], what: misfitText(value, spec) };
    if (inner !== undefined) return inner(value as Record<string, unknown>);
    if (item !== undefined) {
      const items = value as unknown[];
      for (let i = 0; i < items.length; i++) {
        const found = item(items[i]);
        if (found !== undefined) {
          found.path.push(i);
          return found;
        }
      }
    }
    return undefined;
  };
}

/** Whether a present, non-null value has the spec's type (not looking inside records and lists). */
function fitting(spec: FieldSpec): (value: unknown) => boolean {
  switch (spec.type) {
    case "string": {
      const values = spec.values;
      return values === undefined ? (v) => typeof v === "string" : (v) => typeof v === "string" && values.includes(v);
    }
    case "number":
      return (v) => typeof v === "number" && Number.isFinite(v);
    case "ms":
      return (v) => typeof v === "number" && Math.abs(v) <= MAX_MS;
    case "boolean":
      return (v) => typeof v === "boolean";
    case "any":
      return () => true;
    case "object":
    case "record":
      return isRecord;
    case "list":
      return Array.isArray;
  }
}

/** `is X, not Y` for a value that does not fit. */
function misfitText(value: unknown, spec: FieldSpec): string {
  if (spec.type === "ms" && typeof value === "number" && Number.isFinite(value)) {
    return `is ${value}, out of range for a time in ms`;
  }
  // An enumerated word (an op, a path) is shown: it is never a secret.
  const shown = spec.type === "string" && typeof value === "string"
    ? JSON.stringify(value.slice(0, 40))
    : describe(value);
  return `is ${shown}, not ${expected(spec)}`;
}

/** `a.b[0].c is …` from a misfit found on the way out. */
function sentence(misfit: Misfit): string {
  let path = "";
  for (let i = misfit.path.length - 1; i >= 0; i--) {
    const part = misfit.path[i];
    path += typeof part === "number" ? `[${part}]` : path === "" ? part : `.${part}`;
  }
  return `${path} ${misfit.what}`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** What a value is, in a few words (never the value of a string: a trace holds prompts and responses). */
function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "an object";
  if (typeof value === "string") return "a string";
  if (typeof value === "number") return Number.isFinite(value) ? "a number" : String(value);
  return typeof value === "boolean" ? String(value) : typeof value;
}

function expected(spec: FieldSpec): string {
  const what = spec.type === "string"
    ? spec.values ? spec.values.map((v) => JSON.stringify(v)).join(" or ") : "a string"
    : spec.type === "number"
    ? "a number"
    : spec.type === "ms"
    ? "a number of ms"
    : spec.type === "boolean"
    ? "true or false"
    : spec.type === "list"
    ? "a list"
    : "an object";
  return spec.nullable ? `${what} or null` : what;
}
