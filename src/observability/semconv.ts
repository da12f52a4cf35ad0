/**
 * Every span name and attribute key pflow's OpenTelemetry export uses, in one
 * place. Plain constants: this module loads no OpenTelemetry package.
 *
 * GenAI keys follow the OpenTelemetry GenAI semantic conventions (Development
 * status), as published in `@opentelemetry/semantic-conventions` 1.45.0
 * (`/incubating`, whose GenAI entries point at the
 * open-telemetry/semantic-conventions-genai repository) and that repository's
 * `docs/gen-ai/gen-ai-agent-spans.md` / `gen-ai-spans.md`. `tests/otlp_test.ts`
 * checks each GenAI key against the package's constants.
 *
 * The span tree of one run:
 *
 * - `invoke_workflow {workflow_name}` (INTERNAL): the run. Its parent is the
 *   caller's span from TRACEPARENT, when there was one.
 *   - `node {node_id}` (INTERNAL): one per node execution (a node run by a
 *     loop three times gives three spans, told apart by
 *     `pflow.node.execution_index`).
 *     - `chat {model}` (CLIENT): one per LLM call the execution made, `model`
 *       being the model name without pflow's `provider/` prefix.
 *
 * Token counts follow the semconv definitions, not pflow's normalized usage:
 * `gen_ai.usage.input_tokens` counts ALL input tokens (uncached + cache reads +
 * cache writes), the cache attributes are parts of it, and
 * `gen_ai.usage.output_tokens` includes reasoning tokens.
 *
 * Usage and cost sit on the `chat` spans only, so that a backend summing
 * `gen_ai.usage.*` or `pflow.cost_usd` over a trace counts each call once; the
 * run's total is `pflow.total_cost_usd` on the root span.
 * @module
 */

/** `gen_ai.operation.name` of the run span. */
export const OP_INVOKE_WORKFLOW = "invoke_workflow";
/** `gen_ai.operation.name` of an LLM call span. */
export const OP_CHAT = "chat";
/** `gen_ai.operation.name` of a planner run's span (the planning of a request). */
export const OP_PLAN = "plan";
/** Name of the root span of a planned run: the request, parent of `plan` and `invoke_workflow`. */
export const REQUEST_SPAN_NAME = "pflow request";
/** Name prefix of node execution spans (`node {node_id}`). */
export const NODE_SPAN_PREFIX = "node";

/** Name of the run span: `invoke_workflow {workflow_name}`. */
export function workflowSpanName(workflowName: string): string {
  return workflowName ? `${OP_INVOKE_WORKFLOW} ${workflowName}` : OP_INVOKE_WORKFLOW;
}

/** Name of a node execution span: `node {node_id}`. */
export function nodeSpanName(nodeId: string): string {
  return `${NODE_SPAN_PREFIX} ${nodeId}`;
}

/** Name of an LLM call span: `chat {model}`. */
export function chatSpanName(requestModel: string): string {
  return requestModel ? `${OP_CHAT} ${requestModel}` : OP_CHAT;
}

// ---- OpenTelemetry semantic conventions (GenAI, error, resource)

/** The GenAI operation: `invoke_workflow` (run span) or `chat` (LLM call). */
export const ATTR_GEN_AI_OPERATION_NAME = "gen_ai.operation.name";
/** Provider as in pflow's model id (`anthropic`, `openai`, a configured name). */
export const ATTR_GEN_AI_PROVIDER_NAME = "gen_ai.provider.name";
/** Deprecated predecessor of `gen_ai.provider.name`, set too for older backends. */
export const ATTR_GEN_AI_SYSTEM = "gen_ai.system";
/** Model name requested (pflow's model id without its `provider/` prefix). */
export const ATTR_GEN_AI_REQUEST_MODEL = "gen_ai.request.model";
/** Model name the provider reported. */
export const ATTR_GEN_AI_RESPONSE_MODEL = "gen_ai.response.model";
/** The completion's id from the response body (`chatcmpl-…`, `msg_…`), not the HTTP request id. */
export const ATTR_GEN_AI_RESPONSE_ID = "gen_ai.response.id";
/** Why generation stopped, as a string array. */
export const ATTR_GEN_AI_RESPONSE_FINISH_REASONS = "gen_ai.response.finish_reasons";
/** Time to first chunk of a streamed response, in seconds (double). */
export const ATTR_GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK = "gen_ai.response.time_to_first_chunk";
/** All input tokens, cached ones included. */
export const ATTR_GEN_AI_USAGE_INPUT_TOKENS = "gen_ai.usage.input_tokens";
/** Output tokens, reasoning included. */
export const ATTR_GEN_AI_USAGE_OUTPUT_TOKENS = "gen_ai.usage.output_tokens";
/** Input tokens served from the provider's cache (part of input_tokens). */
export const ATTR_GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS = "gen_ai.usage.cache_read.input_tokens";
/** Input tokens written to the provider's cache (part of input_tokens). */
export const ATTR_GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS = "gen_ai.usage.cache_creation.input_tokens";
/** Reasoning tokens (part of output_tokens). */
export const ATTR_GEN_AI_USAGE_REASONING_OUTPUT_TOKENS = "gen_ai.usage.reasoning.output_tokens";
/** The workflow's name, on the run span. */
export const ATTR_GEN_AI_WORKFLOW_NAME = "gen_ai.workflow.name";
/** Class of error a failed span ended with (stable semconv). */
export const ATTR_ERROR_TYPE = "error.type";

/** Resource: the logical service name (`OTEL_SERVICE_NAME`, default `pflow`). */
export const ATTR_SERVICE_NAME = "service.name";
/** Resource: the service version (pflow's version unless given). */
export const ATTR_SERVICE_VERSION = "service.version";
/** Default `service.name`. */
export const DEFAULT_SERVICE_NAME = "pflow";
/** Instrumentation scope name of every span. */
export const SCOPE_NAME = "pflow";

// ---- pflow's own attributes

/** Run: the workflow's name (same value as `gen_ai.workflow.name`). */
export const ATTR_PFLOW_WORKFLOW_NAME = "pflow.workflow.name";
/** Run: the workflow file as given, when there was one. */
export const ATTR_PFLOW_WORKFLOW_FILE = "pflow.workflow.file";
/** Planned run: the request in plain words (bounded). */
export const ATTR_PFLOW_REQUEST = "pflow.request";
/** Planned run: how it was planned, `reuse` or `generate`. */
export const ATTR_PFLOW_PLANNER_PATH = "pflow.planner.path";
/** Run: pflow's execution id (a UUID). */
export const ATTR_PFLOW_EXECUTION_ID = "pflow.execution_id";
/** Run: how it ended (`success`, `failed`, `interrupted`, `budget_exceeded`, `incomplete`). */
export const ATTR_PFLOW_FINAL_STATUS = "pflow.final_status";
/** Run: pflow's version. */
export const ATTR_PFLOW_VERSION = "pflow.version";
/** Run: node executions completed or failed. */
export const ATTR_PFLOW_NODES_EXECUTED = "pflow.nodes_executed";
/** Run: node executions that failed. */
export const ATTR_PFLOW_NODES_FAILED = "pflow.nodes_failed";
/** Run: LLM calls made. */
export const ATTR_PFLOW_LLM_CALLS = "pflow.llm_calls";
/** Run: total cost in USD of the calls of known cost (double); unpriced calls and those without usage are not in it. */
export const ATTR_PFLOW_TOTAL_COST_USD = "pflow.total_cost_usd";
/**
 * Run: false when the trace had no footer (crash, kill, still running) or lacks node executions (past its size
 * cap, or after a failed write: see {@link ATTR_PFLOW_TRACE_EVENTS_DROPPED}).
 */
export const ATTR_PFLOW_TRACE_COMPLETE = "pflow.trace.complete";
/** Run: node executions the trace lacks, whose spans are therefore not sent (only when some are). */
export const ATTR_PFLOW_TRACE_EVENTS_DROPPED = "pflow.trace.events_dropped";

/** Node: the node's id. */
export const ATTR_PFLOW_NODE_ID = "pflow.node.id";
/** Node: the node's type (`llm`, `shell`, …). */
export const ATTR_PFLOW_NODE_TYPE = "pflow.node.type";
/** Node: 0-based count of earlier executions of this node (loops). */
export const ATTR_PFLOW_NODE_EXECUTION_INDEX = "pflow.node.execution_index";
/** Node: the action it returned (absent when it threw). */
export const ATTR_PFLOW_NODE_ACTION = "pflow.node.action";
/** Node: retries before it succeeded or gave up. */
export const ATTR_PFLOW_NODE_RETRIES = "pflow.node.retries";
/** Node: `success`, `error` or `interrupted`. */
export const ATTR_PFLOW_NODE_STATUS = "pflow.node.status";
/** Node: milliseconds in prep (double). */
export const ATTR_PFLOW_NODE_PREP_MS = "pflow.node.prep_ms";
/** Node: milliseconds in exec, retries included (double). */
export const ATTR_PFLOW_NODE_EXEC_MS = "pflow.node.exec_ms";
/** Node: milliseconds in post (double). */
export const ATTR_PFLOW_NODE_POST_MS = "pflow.node.post_ms";
/** Node: user CPU milliseconds of the pflow process during the execution (double). */
export const ATTR_PFLOW_NODE_CPU_USER_MS = "pflow.node.cpu.user_ms";
/** Node: system CPU milliseconds of the pflow process during the execution (double). */
export const ATTR_PFLOW_NODE_CPU_SYSTEM_MS = "pflow.node.cpu.system_ms";

/**
 * Chat: cost the call counts for in USD (double): the provider-reported one when there is one, else pflow's
 * price, as in the run's result; absent when unknown (unpriced without a reported cost, or usage missing).
 */
export const ATTR_PFLOW_COST_USD = "pflow.cost_usd";
/** Chat: cost the provider billed itself, when it reports one (double). */
export const ATTR_PFLOW_REPORTED_COST_USD = "pflow.reported_cost_usd";
/** Chat: beside a reported cost, the call as priced by pflow (double), when its model has a price. */
export const ATTR_PFLOW_COMPUTED_COST_USD = "pflow.computed_cost_usd";
/** Chat: pflow's full model id (`provider/model`). */
export const ATTR_PFLOW_LLM_MODEL = "pflow.llm.model";
/** Chat: the provider's request id (`x-request-id`/`request-id` header, else the body's id), for support requests. */
export const ATTR_PFLOW_LLM_REQUEST_ID = "pflow.llm.request_id";
/** Chat: batch item index, when the call was made for one item. */
export const ATTR_PFLOW_LLM_ITEM_INDEX = "pflow.llm.item_index";

/**
 * Keys whose numeric values are doubles even when whole (a cost of 0 is
 * `doubleValue` 0, not `intValue`); other whole numbers encode as ints.
 */
export const DOUBLE_ATTRIBUTES: ReadonlySet<string> = new Set([
  ATTR_GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK,
  ATTR_PFLOW_TOTAL_COST_USD,
  ATTR_PFLOW_NODE_PREP_MS,
  ATTR_PFLOW_NODE_EXEC_MS,
  ATTR_PFLOW_NODE_POST_MS,
  ATTR_PFLOW_NODE_CPU_USER_MS,
  ATTR_PFLOW_NODE_CPU_SYSTEM_MS,
  ATTR_PFLOW_COST_USD,
  ATTR_PFLOW_REPORTED_COST_USD,
  ATTR_PFLOW_COMPUTED_COST_USD,
]);
