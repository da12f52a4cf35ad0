/**
 * The two reply contracts of the planner's model, as JSON Schemas for
 * structured output, and how a reply is read. The schemas are deliberately
 * loose (only the reply's outline): the workflow itself is checked by the
 * same static validator as `pflow run`, whose messages (pointer + message)
 * drive the repair call.
 * @module
 */
import { shippedSchema } from "../llm/structured.ts";

/** `{"workflow_name": string | null, "params": {…}, "reason": string}`. */
export const DISCOVER_SCHEMA: Record<string, unknown> = shippedSchema({
  type: "object",
  properties: {
    workflow_name: { type: ["string", "null"], description: "The chosen saved workflow, or null" },
    params: { type: "object", description: "Values for the chosen workflow's inputs" },
    reason: { type: "string", description: "Why, in one sentence" },
  },
  required: ["workflow_name"],
});

/** `{"workflow": <workflow IR>, "params": {…}}`. */
export const GENERATE_SCHEMA: Record<string, unknown> = shippedSchema({
  type: "object",
  properties: {
    workflow: { type: "object", description: "The pflow workflow (ir_version, nodes, edges, inputs, outputs)" },
    params: { type: "object", description: "Values for the workflow's inputs stated by the request" },
  },
  required: ["workflow"],
});

/** A reuse decision, normalized. */
export interface DiscoverReply {
  /** A name from the catalogue, or null (a name not in it counts as null). */
  workflowName: string | null;
  /** Values for the chosen workflow's inputs. */
  params: Record<string, unknown>;
  /** The model's one-line reason. */
  reason: string;
}

/** Reads a reuse reply; an unknown workflow name, or a reply of the wrong shape, is "no reuse". */
export function readDiscoverReply(value: unknown, known: ReadonlySet<string>): DiscoverReply {
  const reply = asObject(value);
  const name = typeof reply.workflow_name === "string" ? reply.workflow_name.trim() : null;
  return {
    workflowName: name !== null && known.has(name) ? name : null,
    params: asObject(reply.params),
    reason: typeof reply.reason === "string" ? reply.reason : "",
  };
}

/** A generated (or repaired) plan. */
export interface GenerateReply {
  /** The workflow as the model wrote it (not yet validated), or undefined when the reply had none. */
  workflow: unknown;
  /**
   * Input values the request stated; undefined when the reply gives none (no `params`, null, `{}`, or a bare
   * workflow), so that a repair keeps the values the earlier reply extracted.
   */
  params: Record<string, unknown> | undefined;
}

/** Reads a generate reply. A bare workflow (with `nodes` at the top) is accepted as one. */
export function readGenerateReply(value: unknown): GenerateReply {
  const reply = asObject(value);
  if (reply.workflow === undefined && Array.isArray(reply.nodes)) return { workflow: reply, params: undefined };
  const params = asObject(reply.params);
  return { workflow: reply.workflow, params: Object.keys(params).length > 0 ? params : undefined };
}

/**
 * Whether a reply that does not match its schema (`schema`: one of the two
 * above) is still one the readers above use: a reuse decision with `params`
 * null, or a reason that is not text; a plan with `params` null, or a bare
 * workflow (`nodes` at the top). The schemas sent to the provider stay as
 * they are; only the planner reads this leniently (an `llm` node's `schema`
 * is checked strictly).
 */
export function isUsableReply(schema: Record<string, unknown> | undefined, value: unknown): boolean {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return false;
  const reply = value as Record<string, unknown>;
  if (schema === DISCOVER_SCHEMA) return reply.workflow_name === null || typeof reply.workflow_name === "string";
  if (schema === GENERATE_SCHEMA) {
    const workflow = reply.workflow;
    if (workflow === undefined) return Array.isArray(reply.nodes);
    return workflow !== null && typeof workflow === "object" && !Array.isArray(workflow);
  }
  return false;
}

function asObject(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value) ? value as Record<string, unknown> : {};
}
