/**
 * The compiler: a validated IR becomes an engine {@link Flow} whose nodes are
 * wrapped `LoopGuard? → Namespaced → Batch? → TemplateAware? → node` (only
 * the layers a node needs; the loop guard only on nodes on a cycle, outside
 * the layer telemetry can add through `instrument`), walked as compiled
 * steps (`walk.ts`).
 * @module
 */
import { graphComponents } from "./graph.ts";
import { type BaseNode, type Shared, wrapNode } from "../engine/mod.ts";
import type { NodeSpec } from "../nodes/spec.ts";
import type { NodeIR, WorkflowIR } from "./ir.ts";
import {
  batchLayer,
  errorEdgeLayer,
  loopGuardLayer,
  mayHoldSecrets,
  namespacedLayer,
  templateLayer,
} from "./layers.ts";
import type { NodeRegistry } from "./registry.ts";
import { compileValue, type Resolver, templateRefs } from "./template.ts";
import { scopeOf } from "./store.ts";
import { callsModels } from "../observability/decorators.ts";
import { buildSteps, type StepNode, WorkflowFlow } from "./walk.ts";
import {
  looksLikeCredential,
  outputRedactor,
  redactCredentialMembers,
  redactCredentials,
} from "../observability/redact.ts";
import { jsonText } from "../util/json_text.ts";
import { type Problem, unknownNodeMessage, ValidationError } from "./errors.ts";

/** What the compiler knows of one node. */
export interface CompiledNode {
  /** Node id. */
  id: string;
  /** Position in the IR's node list (a dense index for per-node tables). */
  ordinal: number;
  /** Node type. */
  type: string;
  /** The node as wired in the flow (outermost wrapper). */
  node: BaseNode;
  /** The node type's spec. */
  spec: NodeSpec;
  /** The IR entry. */
  ir: NodeIR;
}

/** A compiled workflow, ready to run any number of times (sequentially). */
export interface CompiledWorkflow {
  /** The IR it came from. */
  ir: WorkflowIR;
  /** The flow to run. */
  flow: WorkflowFlow;
  /** Nodes by id, in IR order. */
  nodes: Map<string, CompiledNode>;
  /** Maps a wired node (outermost wrapper) back to its id. */
  idOf(node: BaseNode): string | undefined;
  /** Whether any template names `${stdin}`. */
  stdinTemplates: boolean;
  /** Inputs filled from piped stdin when not given. */
  stdinInputs: string[];
  /** Declared outputs with their compiled sources. */
  outputs: { name: string; source: string; resolve: Resolver | undefined }[];
  /** Whether node outputs are namespaced. */
  namespacing: boolean;
  /** Whether any node calls models (`@llmUsage`): only then does a plain run keep a usage scope. */
  callsModels: boolean;
  /**
   * Resolves, from the initial store, every secret-named param that templates
   * fill (an `Authorization: "Bearer ${token}"`), so its value is redacted
   * from the first line a trace writes; params filled later by other nodes
   * are learned when they resolve.
   */
  learnSecrets(root: Record<string, unknown>): void;
}

/** Options of {@link compileWorkflow}. */
export interface CompileOptions {
  /** Node types. */
  registry: NodeRegistry;
  /**
   * Adds an outermost layer to each node (telemetry); identity when absent.
   * `describeError` says why the node returned the `error` action, from the store it ran with.
   */
  instrument?: (
    node: BaseNode,
    info: Omit<CompiledNode, "node"> & { describeError: (shared: Shared) => string },
  ) => BaseNode;
}

/**
 * Builds the flow. The IR should have passed {@link validateWorkflow}; the
 * compiler checks only what it cannot build without: an unknown node type
 * throws, an edge or `start_node` naming no node throws `ValidationError`.
 */
export function compileWorkflow(ir: WorkflowIR, options: CompileOptions): CompiledWorkflow {
  const namespacing = ir.enable_namespacing ?? true;
  const nodes = new Map<string, CompiledNode>();
  const ids = new WeakMap<BaseNode, string>();
  let anyModelCalls = false;
  const secretParams: [string, Resolver][] = [];
  const looping = nodesOnCycles(ir);
  const errorHandled = new Set((ir.edges ?? []).filter((e) => e.action === "error").map((e) => e.from));
  const stepNodes: StepNode[] = [];
  for (const [ordinal, nodeIr] of ir.nodes.entries()) {
    const cls = options.registry.get(nodeIr.type);
    if (cls === undefined) throw new Error(options.registry.unknownTypeMessage(nodeIr.type));
    const params = nodeIr.params ?? {};
    // Literal secrets written in the workflow (an api_key param, an auth header) are never printed;
    // templates are learned as they resolve.
    outputRedactor().learn(params, undefined, { templates: true });
    const info = { id: nodeIr.id, ordinal, type: nodeIr.type, spec: cls.spec, ir: nodeIr };
    if (callsModels(cls)) anyModelCalls = true;
    let node: BaseNode = new cls();
    node.params = { ...params };
    node.nodeId = nodeIr.id;
    const resolvers = Object.entries(params).flatMap(([name, value]) => {
      const resolve = compileValue(value);
      return resolve ? [[name, resolve] as [string, Resolver]] : [];
    });
    for (const [name, resolve] of resolvers) if (mayHoldSecrets(name, params[name])) secretParams.push([name, resolve]);
    if (resolvers.length > 0) node = wrapNode(node, templateLayer(params, resolvers));
    if (nodeIr.batch !== undefined) {
      node = wrapNode(node, batchLayer(nodeIr.batch, compileValue(nodeIr.batch.items), describeErrorOutputs));
    }
    const { id } = nodeIr;
    // Why the node returned the `error` action, from what it wrote.
    const describe = (shared: Shared) =>
      describeErrorOutputs(errorOutputsOf(scopeOf(shared).root, id, cls.spec, namespacing));
    // A failure of a node with an `error` edge takes that edge (its message as the node's `error` output).
    if (errorHandled.has(id)) node = wrapNode(node, errorEdgeLayer(id, { describe, clearOnSuccess: !namespacing }));
    const inside = node;
    if (namespacing) node = wrapNode(node, namespacedLayer(nodeIr.id, { once: !looping.has(nodeIr.id) }));
    const namespaced = node;
    if (options.instrument) node = options.instrument(node, { ...info, describeError: describe });
    // Outermost, so a stopped execution is never one that ran; only nodes on a cycle can run twice.
    if (looping.has(nodeIr.id)) node = wrapNode(node, loopGuardLayer(nodeIr.id));
    nodes.set(nodeIr.id, { ...info, node });
    ids.set(node, nodeIr.id);
    // When the namespace is the outermost layer, the walk applies it (see walk.ts).
    stepNodes.push({
      node,
      insideNamespace: namespacing && node === namespaced ? { id: nodeIr.id, node: inside } : undefined,
    });
  }
  const wiring = wiringProblems(ir, nodes);
  if (wiring.length > 0) throw new ValidationError(wiring);
  for (const edge of ir.edges ?? []) {
    nodes.get(edge.from)!.node.on(edge.action ?? "default", nodes.get(edge.to)!.node);
  }
  const steps = buildSteps(stepNodes);
  const start = steps.get(nodes.get(ir.start_node ?? ir.nodes[0].id)!.node)!;
  const outputs = Object.entries(ir.outputs ?? {}).map(([name, o]) => {
    return { name, source: o.source, resolve: compileValue(o.source) };
  });
  return {
    ir,
    flow: new WorkflowFlow(start, { namespaces: new Set(namespacing ? nodes.keys() : []) }),
    nodes,
    idOf: (node) => ids.get(node),
    ...stdinUse(ir),
    outputs,
    namespacing,
    callsModels: anyModelCalls,
    learnSecrets(root) {
      // Inputs named like secrets (`token=…`), and URL passwords in any input.
      for (const [name, value] of Object.entries(root)) if (name !== "stdin") outputRedactor().learn(value, name);
      for (const [name, resolve] of secretParams) {
        try {
          outputRedactor().learn(resolve({ root }), name);
        } catch { /* filled by a node at run time: learned when it resolves */ }
      }
    },
  };
}

/**
 * Ids of the nodes on a cycle of edges (a node wired to itself included):
 * the only ones that can run more than once.
 */
export function nodesOnCycles(ir: WorkflowIR): Set<string> {
  return graphComponents(ir.nodes.map((n) => n.id), ir.edges ?? []).looping;
}

/** How a workflow uses piped stdin: `${stdin}` templates, and inputs filled from stdin. */
export function stdinUse(ir: WorkflowIR): { stdinTemplates: boolean; stdinInputs: string[] } {
  const values = [
    ...ir.nodes.map((n) => [n.params ?? {}, n.batch?.items]),
    ...Object.values(ir.outputs ?? {}).map((o) => o.source),
  ];
  let stdinTemplates = false;
  for (const { ref } of templateRefs(values)) if (ref.segments[0] === "stdin") stdinTemplates = true;
  const stdinInputs = Object.entries(ir.inputs ?? {}).filter(([, i]) => i.stdin).map(([name]) => name);
  return { stdinTemplates, stdinInputs };
}

/**
 * What node `id` (of a type with `spec`) wrote in its latest execution, from
 * the run's root store, for {@link describeErrorOutputs}: its namespace; with
 * namespacing off, the root's keys its type declares as outputs (the root
 * also holds other nodes' keys: an earlier node's `error` or `exit_code`).
 */
export function errorOutputsOf(
  root: Shared,
  id: string,
  spec: NodeSpec,
  namespacing: boolean,
): Record<string, unknown> {
  if (namespacing) {
    const own = root[id];
    return own !== null && typeof own === "object" ? own as Record<string, unknown> : {};
  }
  const written: Record<string, unknown> = {};
  for (const key of Object.keys(spec.outputs)) if (Object.hasOwn(root, key)) written[key] = root[key];
  return written;
}

/**
 * A one-line reason for a node's `error` action from what it wrote: its
 * `error` output, else a non-zero `exit_code` with stderr, else an HTTP status
 * with its body. Secrets are masked here, so every place the reason goes
 * (stderr, the JSON result, a `${node.error}` an error edge passes on,
 * traces, the ledger, exports) gets it masked: what the output redactor
 * knows, and the body's credentials (a `password` member, a `Basic`
 * value); the members' values that look like credentials it learns too.
 */
export function describeErrorOutputs(outputs: Record<string, unknown>): string {
  if (typeof outputs.error === "string" && outputs.error !== "") return outputRedactor().text(outputs.error);
  if (typeof outputs.exit_code === "number") {
    const stderr = typeof outputs.stderr === "string" ? outputs.stderr.trim().split("\n").slice(-1)[0] : "";
    return outputRedactor().text(
      `command exited with code ${outputs.exit_code}${stderr ? `: ${stderr.slice(0, 200)}` : ""}`,
    );
  }
  if (typeof outputs.status_code === "number") {
    const body = bodyLine(outputs.response);
    return `HTTP ${outputs.status_code}${body ? `: ${body}` : ""}`;
  }
  return "returned the 'error' action";
}

/** Most characters of a response body an error message shows. */
const BODY_SHOWN = 200;

/**
 * An HTTP response body on one line (JSON as text, whitespace runs as one
 * space), at most {@link BODY_SHOWN} characters, its credentials masked;
 * those that look like one (see {@link looksLikeCredential}) are learned by
 * the output redactor, so a copy elsewhere is masked too. An error body's
 * member under a credential name is often a message about it (a 4xx's
 * `"password": ["This field is required."]`): masked here, never learned,
 * or the message would be hidden wherever it appears (in `username` beside
 * it, or in a later run of the same process).
 */
function bodyLine(response: unknown): string {
  if (response === undefined || response === null) return "";
  let text: string;
  try {
    const { value, credentials } = redactCredentials(response);
    outputRedactor().add(...credentials.filter(looksLikeCredential));
    text = typeof value === "string" ? value : jsonText(value);
  } catch {
    return ""; // too deep or too large to show
  }
  // A text body can be JSON (or quote some) too.
  const members = redactCredentialMembers(text.slice(0, 4 * BODY_SHOWN));
  outputRedactor().add(...members.credentials.filter(looksLikeCredential));
  const line = outputRedactor().text(members.text).replace(/\s+/g, " ").trim();
  return line.length > BODY_SHOWN || text.length > 4 * BODY_SHOWN ? `${line.slice(0, BODY_SHOWN)}…` : line;
}

/**
 * An empty node list, and edges and `start_node` naming no node, worded as {@link validateWorkflow}
 * words them: a library caller that skipped validation gets the CLI's message.
 */
function wiringProblems(ir: WorkflowIR, nodes: Map<string, CompiledNode>): Problem[] {
  const problems: Problem[] = [];
  if (ir.nodes.length === 0) problems.push({ pointer: "/nodes", message: "a workflow needs at least one node" });
  const hint = "; validateWorkflow() reports every problem of a workflow before compileWorkflow()";
  const ids = [...nodes.keys()];
  const unknown = (id: string) => unknownNodeMessage(id, ids);
  if (ir.start_node !== undefined && !nodes.has(ir.start_node)) {
    problems.push({ pointer: "/start_node", message: unknown(ir.start_node) + hint });
  }
  (ir.edges ?? []).forEach((edge, i) => {
    for (const end of ["from", "to"] as const) {
      if (!nodes.has(edge[end])) problems.push({ pointer: `/edges/${i}/${end}`, message: unknown(edge[end]) + hint });
    }
  });
  return problems;
}
