/**
 * The workflow IR: what a workflow file contains, as TypeScript types.
 * `workflow.schema.json` beside this module is the published JSON Schema.
 * @module
 */

/** The IR version this pflow reads and writes. */
export const IR_VERSION = "0.1.0";

/** A whole workflow file. */
export interface WorkflowIR {
  /** IR version, `0.1.0`. */
  ir_version: string;
  /** Short name (used in traces and saved workflows). */
  name?: string;
  /** What the workflow does. */
  description?: string;
  /** The nodes. */
  nodes: NodeIR[];
  /** Edges between nodes by action. */
  edges?: EdgeIR[];
  /** Id of the first node (default: the first in `nodes`). */
  start_node?: string;
  /** Declared inputs by name. */
  inputs?: Record<string, InputIR>;
  /** Declared outputs by name. */
  outputs?: Record<string, OutputIR>;
  /** Node outputs land under `shared[node_id]` (default true). */
  enable_namespacing?: boolean;
  /** Run limits. */
  limits?: LimitsIR;
}

/** Limits of one run of the workflow. */
export interface LimitsIR {
  /** Executions of any one node before the run fails (default {@link DEFAULT_MAX_NODE_EXECUTIONS}). */
  max_node_executions?: number;
}

/** How many times one node may run in one run unless the workflow or `--max-node-executions` says otherwise. */
export const DEFAULT_MAX_NODE_EXECUTIONS = 10_000;

/** One node. */
export interface NodeIR {
  /** Unique id; also its namespace in the shared store. */
  id: string;
  /** Node type, e.g. `shell`. */
  type: string;
  /** Params; strings may hold `${templates}`. */
  params?: Record<string, unknown>;
  /** Why the node is there (documentation). */
  purpose?: string;
  /** Run the node once per item. */
  batch?: BatchIR;
}

/** Batch settings of a node. */
export interface BatchIR {
  /** A template resolving to an array, or an array. */
  items: string | unknown[];
  /** Name of the current item in templates (default `item`). */
  as?: string;
  /** Run items concurrently (default false). */
  parallel?: boolean;
  /** Items in flight at once when parallel (default 10). */
  max_concurrent?: number;
  /** Stop at the first failed item or keep going (default `fail_fast`). */
  error_handling?: "fail_fast" | "continue";
}

/** One edge. */
export interface EdgeIR {
  /** Source node id. */
  from: string;
  /** Target node id. */
  to: string;
  /** Action that takes this edge (default `default`). */
  action?: string;
}

/**
 * The one name that cannot be plain data: assigning `obj["__proto__"]`
 * replaces an object's prototype. (`constructor`, `prototype` and the other
 * names of `Object.prototype` are ordinary names: every lookup checks own keys.)
 */
export const RESERVED_NAME = "__proto__";

/** The root key piped stdin fills (`${stdin}`): no input may take the name. */
export const STDIN_NAME = "stdin";

/** The problem of an input named {@link STDIN_NAME}. */
export const STDIN_INPUT_MESSAGE = "'stdin' is reserved for piped input (${stdin}), which would overwrite the " +
  'input; rename the input (to fill an input from piped stdin, mark it "stdin": true)';

/** The problem with {@link RESERVED_NAME} used as `what`. */
export function reservedMessage(what: string): string {
  return `'${RESERVED_NAME}' cannot be ${what}: JavaScript objects give it a special meaning; rename it`;
}

/** The types an input can declare. */
export const INPUT_TYPES: readonly string[] = ["string", "number", "integer", "boolean", "object", "array", "any"];

/** One declared input. */
export interface InputIR {
  /** Expected type. */
  type?: "string" | "number" | "integer" | "boolean" | "object" | "array" | "any";
  /** Must be given (default true unless a default exists). */
  required?: boolean;
  /** Value when not given. */
  default?: unknown;
  /** What it is. */
  description?: string;
  /** Filled from piped stdin when not given. */
  stdin?: boolean;
}

/**
 * `{name: default}` of each input of `workflow` (any value: a file may not validate) that declares a default:
 * what a redactor learns to hide a secret-named input's default (`api_token`) wherever the workflow is shown,
 * as a run of it would (it learns its inputs, defaults included). Not the declarations themselves: their
 * `type` and `description` are no secrets.
 */
export function inputDefaults(workflow: unknown): Record<string, unknown> {
  const inputs = workflow !== null && typeof workflow === "object"
    ? (workflow as { inputs?: unknown }).inputs
    : undefined;
  const defaults: Record<string, unknown> = {};
  if (inputs === null || typeof inputs !== "object" || Array.isArray(inputs)) return defaults;
  for (const [name, input] of Object.entries(inputs)) {
    if (input !== null && typeof input === "object" && !Array.isArray(input) && Object.hasOwn(input, "default")) {
      defaults[name] = (input as InputIR).default;
    }
  }
  return defaults;
}

/** One declared output. */
export interface OutputIR {
  /** A template, e.g. `${summarize.response}`. */
  source: string;
  /** What it is. */
  description?: string;
}
