/**
 * Static validation: everything that can be known wrong before a node runs.
 * Each problem carries the JSON pointer of the bad field.
 * @module
 */
import type { NodeClass, NodeSpec, ParamProblem } from "../nodes/spec.ts";
import { coerceParam, describeValue, NodeError, rangeProblem, valueFits } from "../nodes/spec.ts";
import { toArray } from "./layers.ts";
import { didYouMean, nonFiniteNumberProblems, type Problem, unknownNodeMessage } from "./errors.ts";
import {
  type BatchIR,
  type EdgeIR,
  INPUT_TYPES,
  type InputIR,
  type NodeIR,
  type OutputIR,
  RESERVED_NAME,
  reservedMessage,
  STDIN_INPUT_MESSAGE,
  STDIN_NAME,
  type WorkflowIR,
} from "./ir.ts";
import type { NodeRegistry } from "./registry.ts";
import { type GraphComponents, graphComponents } from "./graph.ts";
import { pointerSegment } from "../util/json_pointer.ts";
import {
  compileValue,
  formatPath,
  hasTemplateSyntax,
  keyTemplateProblem,
  parseTemplate,
  type TemplateRef,
  templateRefs,
  TemplateSyntaxError,
} from "./template.ts";

/** Outputs every node writes when it carries a `batch`. */
export const BATCH_OUTPUTS = ["results", "count", "errors"] as const;

/** The ids of the nodes with an `error` edge: they have an `error` output too (what failed, when it takes the edge). */
export function errorHandledNodes(edges: readonly (EdgeIR | undefined)[]): Set<string> {
  return new Set(edges.flatMap((e) => e?.action === "error" && typeof e.from === "string" ? [e.from] : []));
}

/**
 * The outputs node `node` writes: its type's (a batch node's {@link BATCH_OUTPUTS}), and `error` when it is
 * among `errorHandled` ({@link errorHandledNodes}). A type that declares none may write any key.
 */
export function nodeOutputs(node: NodeIR, registry: NodeRegistry, errorHandled: ReadonlySet<string>): string[] {
  const outputs = node.batch ? [...BATCH_OUTPUTS] : Object.keys(registry.get(node.type)?.spec.outputs ?? {});
  return errorHandled.has(node.id) && !outputs.includes("error") ? [...outputs, "error"] : outputs;
}

/** Options of {@link validateWorkflow}. */
export interface ValidateOptions {
  /** Node types. */
  registry: NodeRegistry;
  /** Environment, for node checks such as API keys. */
  env?: Record<string, string | undefined>;
  /** Extra context node checks may use (e.g. LLM settings). */
  settings?: unknown;
  /** Run node checks that depend on this machine, like API keys (default true). */
  checkEnvironment?: boolean;
  /** Hears notices of node checks (a param that has no effect here); each names its node. */
  warn?: (message: string) => void;
  /**
   * Input values given for the run (else declared defaults are used): node
   * checks see params whose templates name only known inputs resolved.
   */
  inputs?: Record<string, unknown>;
  /**
   * The caller refuses, before the run, a `"stdin": true` input a node reads that neither a value nor piped
   * stdin fills (`pflow run`, once it has read stdin): no warning about such an input then.
   */
  stdinInputsChecked?: boolean;
}

/** Context handed to a node class's optional static `validate`. */
export interface NodeCheckContext {
  /** Environment variables. */
  env: Record<string, string | undefined>;
  /** Settings (e.g. LLM providers). */
  settings: unknown;
  /** Whether checks that depend on this machine (API keys) apply. */
  checkEnvironment: boolean;
  /** Reports a notice about the node (not a problem). */
  warn(message: string): void;
}

/** A node class that checks its own literal params statically. */
export interface SelfCheckingNodeClass extends NodeClass {
  /**
   * Returns the problems with the node's params, or none: each names the param it is in, so the workflow's
   * problem points at that param (a plain string points at the node's params).
   */
  validate?(params: Record<string, unknown>, ctx: NodeCheckContext): (ParamProblem | string)[];
}

/**
 * Every problem of the IR (empty when valid). An IR that does not match the
 * schema is checked as far as it can be: entries of the wrong shape are
 * skipped (the schema check reports them), the rest is checked in full.
 */
export function validateWorkflow(ir: WorkflowIR, options: ValidateOptions): Problem[] {
  const problems: Problem[] = [];
  const add = (pointer: string, message: string) => problems.push({ pointer, message });
  const { nodes, edges, inputs, outputs } = checkable(ir);
  const byId = new Map<string, NodeIR>();
  nodes.forEach((node, i) => {
    if (node === undefined) return;
    if (node.id === RESERVED_NAME) add(`/nodes/${i}/id`, reservedMessage("a node id"));
    if (byId.has(node.id)) add(`/nodes/${i}/id`, `duplicate node id '${node.id}'; ids must be unique`);
    else byId.set(node.id, node);
    if (Object.hasOwn(inputs, node.id)) add(`/nodes/${i}/id`, `node id '${node.id}' is also an input name; rename one`);
    if (node.id === "stdin") add(`/nodes/${i}/id`, "'stdin' is reserved for piped input; rename the node");
    // A workflow without inputs takes any key=value into the root store, where this node's outputs go too.
    if (
      Object.keys(inputs).length === 0 && options.inputs !== undefined && Object.hasOwn(options.inputs, node.id) &&
      ir.enable_namespacing !== false
    ) {
      add(
        `/nodes/${i}/id`,
        `'${node.id}=…' was given, but '${node.id}' is this node's id: the value and the node's outputs ` +
          `would share one name; give the value another name (or rename the node)`,
      );
    }
  });
  // A node whose id could not be read: edges naming it would all be reported as unknown.
  const idsComplete = nodes.every((n) => n !== undefined);
  const ids = [...byId.keys()];
  if (typeof ir.start_node === "string" && idsComplete && !byId.has(ir.start_node)) {
    add("/start_node", `unknown node '${ir.start_node}'${didYouMean(ir.start_node, ids)}`);
  }
  const firstEdge = new Map<string, number>();
  edges.forEach((edge, i) => {
    if (edge === undefined) return;
    for (const end of ["from", "to"] as const) {
      if (idsComplete && !byId.has(edge[end])) {
        add(`/edges/${i}/${end}`, unknownNodeMessage(edge[end], ids));
      }
    }
    // The engine keeps one successor per action: a second edge would silently replace the first.
    const action = edge.action ?? "default";
    const key = JSON.stringify([edge.from, action]);
    const first = firstEdge.get(key);
    if (first === undefined) firstEdge.set(key, i);
    else {
      const other = edges[first]!;
      add(
        `/edges/${i}`,
        `node '${edge.from}' has two '${action}' edges: /edges/${first} (to '${other.to}') and /edges/${i} ` +
          `(to '${edge.to}'); a node takes one edge per action (give one of them another action)`,
      );
    }
  });
  problems.push(...actionProblems(edges, byId, options.registry));
  // A node no edge reaches is reported as such, not also for reading nodes that cannot run before it.
  const unreached = new Set<string>();
  if (idsComplete) problems.push(...unreachableProblems(ir, { nodes, edges, byId, unreached }));
  const namespacing = ir.enable_namespacing ?? true;
  // Keys given for the run join the root store (a workflow that declares inputs accepts no others: see typeParams).
  const given = Object.fromEntries(Object.keys(options.inputs ?? {}).map((key) => [key, {} as InputIR]));
  const errorHandled = errorHandledNodes(edges);
  // Optional inputs without a default that this run (or, for `pflow validate`, any run) may not be given; not
  // one named stdin, refused (giving it stdin=VALUE, as the warning would say, cannot help). One filled from
  // stdin is left to a caller that checks it once stdin is read.
  const unset = new Set(
    Object.entries(inputs).flatMap(([name, input]) =>
      name !== STDIN_NAME && input.required === false && input.default === undefined &&
        !(input.stdin && options.stdinInputsChecked) &&
        !(options.inputs !== undefined && Object.hasOwn(options.inputs, name))
        ? [name]
        : []
    ),
  );
  const fromStdin = new Set(Object.entries(inputs).flatMap(([name, input]) => input.stdin ? [name] : []));
  const refs = new ReferenceChecker(
    { nodes: [...byId.values()], inputs: { ...given, ...inputs }, errorHandled, edges, unreached },
    options.registry,
    { namespacing, unset, fromStdin, warn: options.warn },
  );
  const known = knownInputs(inputs, options.inputs);
  nodes.forEach((node, i) => {
    if (node === undefined) return;
    const checkContext: NodeCheckContext = {
      env: options.env ?? {},
      settings: options.settings,
      checkEnvironment: options.checkEnvironment !== false,
      warn: (message) => options.warn?.(`node '${node.id}': ${message}`),
    };
    const at = `/nodes/${i}`;
    const cls = options.registry.get(node.type) as SelfCheckingNodeClass | undefined;
    if (cls === undefined) {
      add(`${at}/type`, options.registry.unknownTypeMessage(node.type));
      return;
    }
    const spec = cls.spec;
    const params = isObject(node.params) ? node.params as Record<string, unknown> : {};
    const accepted = Object.keys(spec.params);
    for (const [name, value] of Object.entries(params)) {
      const paramSpec = Object.hasOwn(spec.params, name) ? spec.params[name] : undefined;
      if (paramSpec === undefined) {
        add(
          `${at}/params/${name}`,
          `'${node.type}' does not accept param '${name}'${didYouMean(name, accepted)}; accepted: ${
            accepted.join(", ")
          }`,
        );
        continue;
      }
      // Reported for the whole document by schemaProblems too (the same problem, so shown once).
      const infinite = nonFiniteNumberProblems(value, `${at}/params/${name}`);
      if (infinite.length > 0) {
        problems.push(...infinite);
        continue;
      }
      const outOfRange = containsTemplate(value) ? undefined : rangeProblem(name, paramSpec, value);
      if (outOfRange !== undefined && valueFits(paramSpec, value)) add(`${at}/params/${name}`, outOfRange);
      if (!containsTemplate(value) && value !== null && !valueFits(paramSpec, value)) {
        const expected = paramSpec.enum
          ? `one of ${paramSpec.enum.map((v) => JSON.stringify(v)).join(", ")}`
          : [paramSpec.type].flat().join(" or ");
        add(`${at}/params/${name}`, `must be ${expected}, got ${describeValue(value)}`);
      }
    }
    if (node.params === undefined || isObject(node.params)) {
      for (const [name, p] of Object.entries(spec.params)) {
        if (p.required && params[name] === undefined) {
          add(`${at}/params`, `'${node.type}' requires param '${name}' (${p.description})`);
        } else if (p.required && params[name] === null) {
          add(`${at}/params/${name}`, `'${node.type}' requires param '${name}' (${p.description}), got null`);
        }
      }
    }
    const batch = isObject(node.batch) ? node.batch as BatchIR : undefined;
    const as = typeof batch?.as === "string" ? batch.as : "item";
    const vars = batch ? [as] : [];
    if (batch) {
      if (as === RESERVED_NAME) add(`${at}/batch/as`, reservedMessage("a batch variable"));
      if (byId.has(as) || Object.hasOwn(inputs, as)) {
        add(`${at}/batch/as`, `batch variable '${as}' hides a node or input of that name; choose another 'as'`);
      } else if (as === "stdin") {
        add(`${at}/batch/as`, "batch variable 'stdin' hides the piped input ${stdin}; choose another 'as'");
      } else if (
        Object.keys(inputs).length === 0 && options.inputs !== undefined && Object.hasOwn(options.inputs, as)
      ) {
        // A workflow without inputs takes any key=value into the root store, which the item would hide.
        add(
          `${at}/batch/as`,
          `batch variable '${as}' hides '${as}=…', given for this run: \${${as}} would read the item; ` +
            `choose another 'as' (or give the value another name)`,
        );
      }
      if (typeof batch.items === "string") {
        if (!containsTemplate(batch.items)) {
          add(`${at}/batch/items`, `must be a template like "\${node.list}" or an array`);
        }
      } else keyProblems(batch.items, `${at}/batch/items`, undefined, problems);
      // A list of items resolves its templates too (before any item runs: the item variable is not there yet).
      refs.check(batch.items, `${at}/batch/items`, [], problems, node.id);
      if (typeof batch.items === "string" && containsTemplate(batch.items)) {
        const items = withKnownInputs({ items: batch.items }, known).items;
        if (items !== batch.items) {
          try {
            toArray(items, { source: "batch.items", path: "batch.items" }, () => {});
          } catch (error) {
            if (!(error instanceof TypeError)) throw error;
            add(`${at}/batch/items`, `${error.message}${fromInputs(batch.items, options.inputs)}`);
          }
        }
      }
    }
    for (const [name, value] of Object.entries(params)) {
      keyProblems(value, `${at}/params/${name}`, name, problems);
      refs.check(value, `${at}/params/${name}`, vars, problems, node.id);
    }
    // A template naming only inputs known before the run (a default, a given value) is checked as the run
    // checks what it resolves to: a side-effecting node before it must not run first.
    const resolved = { ...withKnownInputs(params, known) };
    for (const [name, value] of Object.entries(params)) {
      const paramSpec = Object.hasOwn(spec.params, name) ? spec.params[name] : undefined;
      const knownValue = resolved[name];
      if (paramSpec === undefined || knownValue === value) continue;
      if (knownValue === undefined || knownValue === null) {
        if (paramSpec.required) {
          add(
            `${at}/params/${name}`,
            `'${node.type}' requires param '${name}' (${paramSpec.description}), got null` +
              fromInputs(value, options.inputs),
          );
        }
        continue;
      }
      try {
        resolved[name] = coerceParam(name, paramSpec, knownValue);
      } catch (error) {
        if (!(error instanceof NodeError)) throw error;
        add(`${at}/params/${name}`, `${error.message}${fromInputs(value, options.inputs)}`);
        resolved[name] = value; // the node's own checks leave it be
      }
    }
    if (cls.validate) {
      for (const problem of cls.validate(resolved, checkContext)) {
        const { param, message } = typeof problem === "string" ? { param: undefined, message: problem } : problem;
        const given = param !== undefined && Object.hasOwn(params, param);
        add(given ? `${at}/params${pointerSegment(param)}` : `${at}/params`, message);
      }
    }
  });
  for (const [name, output] of Object.entries(outputs)) {
    if (name === RESERVED_NAME) add(`/outputs/${name}`, reservedMessage("an output name"));
    if (output === undefined) continue;
    if (!containsTemplate(output.source)) add(`/outputs/${name}/source`, `must be a template like "\${node.key}"`);
    refs.check(output.source, `/outputs/${name}/source`, [], problems);
  }
  for (const [name, input] of Object.entries(inputs)) {
    if (name === RESERVED_NAME) add(`/inputs/${name}`, reservedMessage("an input name"));
    if (name === STDIN_NAME) add(`/inputs/${name}`, STDIN_INPUT_MESSAGE);
    // A default makes an input optional: with `required: true` too, one of them says something untrue.
    if (input.required === true && input.default !== undefined) {
      add(
        `/inputs/${name}/required`,
        `input '${name}': "required": true and a "default" contradict (a default makes it optional); remove one`,
      );
    }
    if (input.default !== undefined && !inputValueFits(input, input.default)) {
      add(`/inputs/${name}/default`, `default does not match type '${input.type}'`);
    }
  }
  return problems;
}

/**
 * Edges whose action the node can never return: the engine follows only
 * what `post` returns, so such an edge is dead (often a typo, `eror`).
 * `error` is possible on every node (a failure takes an `error` edge); a
 * batch node returns only `default` (its items' actions are collected).
 */
function actionProblems(
  edges: (EdgeIR | undefined)[],
  byId: Map<string, NodeIR>,
  registry: NodeRegistry,
): Problem[] {
  const problems: Problem[] = [];
  edges.forEach((edge, i) => {
    if (edge === undefined || edge.action === undefined || edge.action === "") return;
    const node = byId.get(edge.from);
    const spec = node && registry.get(node.type)?.spec;
    if (node === undefined || spec === undefined) return; // reported as an unknown node or type
    const actions = node.batch !== undefined ? ["default", "error"] : nodeActions(spec);
    if (actions.includes(edge.action)) return;
    const what = node.batch !== undefined ? `batch node '${node.id}'` : `node '${node.id}' (${node.type})`;
    problems.push({
      pointer: `/edges/${i}/action`,
      message: `${what} never returns action '${edge.action}'${didYouMean(edge.action, actions)}, so this edge ` +
        `would never be taken; its actions: ${actions.join(", ")}`,
    });
  });
  return problems;
}

/** The actions a node type can return: `default`, `error` (any failure can take it) and those its spec declares. */
function nodeActions(spec: NodeSpec): string[] {
  return [...new Set(["default", "error", ...(spec.actions ?? [])])];
}

/**
 * Nodes no edge reaches from the start node: they would never run (edges
 * forgotten, or a typo in one). Any action counts, `error` included. Checked
 * only when every edge names a known node, else that is the problem shown.
 */
function unreachableProblems(
  ir: WorkflowIR,
  graph: {
    nodes: (NodeIR | undefined)[];
    edges: (EdgeIR | undefined)[];
    byId: Map<string, NodeIR>;
    /** Gets the ids of the nodes reported. */
    unreached: Set<string>;
  },
): Problem[] {
  const { nodes, edges, byId, unreached } = graph;
  if (nodes.length === 0 || edges.some((e) => e === undefined || !byId.has(e.from) || !byId.has(e.to))) return [];
  const start = ir.start_node === undefined ? nodes[0]!.id : ir.start_node;
  if (typeof start !== "string" || !byId.has(start)) return [];
  const next = new Map<string, string[]>();
  for (const edge of edges as EdgeIR[]) {
    const list = next.get(edge.from);
    if (list === undefined) next.set(edge.from, [edge.to]);
    else list.push(edge.to);
  }
  const reached = new Set([start]);
  const work = [start];
  while (work.length > 0) {
    for (const to of next.get(work.pop()!) ?? []) {
      if (!reached.has(to)) {
        reached.add(to);
        work.push(to);
      }
    }
  }
  const order = new Map<string, number>();
  for (const [i, n] of nodes.entries()) if (!order.has(n!.id)) order.set(n!.id, i);
  const problems: Problem[] = [];
  nodes.forEach((node, i) => {
    // A duplicate id is reported as such; its first node stands for it here.
    if (reached.has(node!.id) || order.get(node!.id) !== i) return;
    unreached.add(node!.id);
    const from = edgeSource(node!, i, nodes as NodeIR[], order);
    const fix = from === undefined
      ? `add an edge to it, or make it "start_node"`
      : `add an edge such as {"from": "${from}", "to": "${node!.id}"}`;
    problems.push({
      pointer: `/nodes/${i}`,
      message: `node '${node!.id}' would never run: no edge leads to it from the start node '${start}'; ${fix} ` +
        `(or remove the node)`,
    });
  });
  return problems;
}

/**
 * The node an unreachable node most likely follows: the last one (in file
 * order) whose outputs its templates read, else the one before it in the
 * file; none for the first node.
 */
function edgeSource(node: NodeIR, i: number, nodes: NodeIR[], order: Map<string, number>): string | undefined {
  let last = -1;
  try {
    for (const { ref } of templateRefs([node.params, node.batch?.items])) {
      const at = order.get(ref.segments[0] as string);
      if (at !== undefined && at !== i && at > last) last = at;
    }
  } catch { /* a template syntax error, reported at its field */ }
  if (last >= 0) return nodes[last].id;
  return i > 0 ? nodes[i - 1].id : undefined;
}

/**
 * The parts of an IR that have the shape validation reads, by position:
 * entries of the wrong shape are `undefined` (the schema check reports them).
 */
function checkable(ir: WorkflowIR): {
  nodes: (NodeIR | undefined)[];
  edges: (EdgeIR | undefined)[];
  inputs: Record<string, InputIR>;
  outputs: Record<string, OutputIR | undefined>;
} {
  const data = (isObject(ir) ? ir : {}) as Partial<WorkflowIR>;
  const nodes = (Array.isArray(data.nodes) ? data.nodes : []).map((n) =>
    isObject(n) && typeof n.id === "string" && typeof n.type === "string" ? n : undefined
  );
  const edges = (Array.isArray(data.edges) ? data.edges : []).map((e) =>
    isObject(e) && typeof e.from === "string" && typeof e.to === "string" &&
      (e.action === undefined || typeof e.action === "string")
      ? e
      : undefined
  );
  // Entries, not assignments: a key named `__proto__` must stay a key (and be reported).
  const inputs: Record<string, InputIR> = Object.fromEntries(
    Object.entries(isObject(data.inputs) ? data.inputs! : {}).flatMap(([name, input]) => {
      if (!isObject(input)) return [];
      const type = INPUT_TYPES.includes(input.type as string) ? input.type as InputIR["type"] : undefined;
      return [[name, { ...input, type }]];
    }),
  );
  const outputs: Record<string, OutputIR | undefined> = Object.fromEntries(
    Object.entries(isObject(data.outputs) ? data.outputs! : {}).map(([name, output]) => {
      return [name, isObject(output) && typeof output.source === "string" ? output : undefined];
    }),
  );
  return { nodes, edges, inputs, outputs };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/**
 * The input values known before the run: given values over declared
 * defaults (inputs filled from stdin are known only when given).
 */
function knownInputs(inputs: Record<string, InputIR>, given: Record<string, unknown> | undefined) {
  const known: Record<string, unknown> = {};
  for (const [name, input] of Object.entries(inputs)) {
    if (given !== undefined && Object.hasOwn(given, name)) known[name] = given[name];
    else if (input.default !== undefined && !input.stdin) known[name] = input.default;
  }
  return known;
}

/**
 * Params with every value whose templates name only known inputs resolved
 * (`"model": "${model}"` with a default or a given model), so node checks
 * such as an API key apply to them too; other values stay as written.
 */
function withKnownInputs(params: Record<string, unknown>, known: Record<string, unknown>): Record<string, unknown> {
  if (Object.keys(known).length === 0) return params;
  let out: Record<string, unknown> | undefined;
  for (const [name, value] of Object.entries(params)) {
    if (!containsTemplate(value)) continue;
    const heads = [...templateRefs(value)].map(({ ref }) => ref.segments[0] as string);
    if (!heads.every((h) => Object.hasOwn(known, h))) continue;
    try {
      const resolved = compileValue(value)!({ root: known });
      (out ??= { ...params })[name] = resolved;
    } catch { /* a path into an input that is not there: checked at run time */ }
  }
  return out ?? params;
}

/**
 * Where a value known before the run came from, for a problem with it: ` (from the default of input 'enc')`,
 * ` (from enc=…, given for this run)`.
 */
function fromInputs(value: unknown, given: Record<string, unknown> | undefined): string {
  const heads = [...new Set([...templateRefs(value)].map(({ ref }) => ref.segments[0] as string))];
  const parts = heads.map((head) =>
    given !== undefined && Object.hasOwn(given, head)
      ? `${head}=…, given for this run`
      : `the default of input '${head}'`
  );
  return ` (from ${parts.join(" and ")})`;
}

/**
 * Adds a problem for each object key inside `value` that holds a template
 * (or bad template syntax), at the key's pointer: keys are never resolved
 * ({@link keyTemplateProblem}). `param` is the param `value` is (none for batch items).
 */
function keyProblems(value: unknown, pointer: string, param: string | undefined, problems: Problem[]): void {
  if (Array.isArray(value)) value.forEach((v, i) => keyProblems(v, `${pointer}/${i}`, param, problems));
  else if (value !== null && typeof value === "object") {
    for (const [key, v] of Object.entries(value)) {
      const at = `${pointer}${pointerSegment(key)}`;
      try {
        const message = keyTemplateProblem(key, param);
        if (message !== undefined) problems.push({ pointer: at, message });
      } catch (error) {
        if (!(error instanceof TemplateSyntaxError)) throw error;
        problems.push({ pointer: at, message: error.message });
      }
      keyProblems(v, at, param, problems);
    }
  }
}

function containsTemplate(value: unknown): boolean {
  if (typeof value === "string") return hasTemplateSyntax(value) && parseSafe(value).some((p) => typeof p !== "string");
  if (Array.isArray(value)) return value.some(containsTemplate);
  if (value !== null && typeof value === "object") return Object.values(value).some(containsTemplate);
  return false;
}

function parseSafe(text: string) {
  try {
    return parseTemplate(text);
  } catch {
    return [{ source: "", segments: [] } as TemplateRef];
  }
}

/** Checks that each `${…}` names something that will exist. */
class ReferenceChecker {
  #nodes = new Map<string, NodeIR>();
  #inputs: Set<string>;
  #rootOutputs = new Set<string>();
  #errorHandled: ReadonlySet<string>;
  #edges: readonly (EdgeIR | undefined)[];
  #graph: (GraphComponents & { successors: Map<number, Set<number>> }) | undefined;
  /** Per component, how far a search of the components its edges lead to has gone (see #mayRunBefore). */
  #searches = new Map<number, { queue: number[]; next: number; seen: Set<number> }>();
  #unreached: ReadonlySet<string>;
  #unset: ReadonlySet<string>;
  #fromStdin: ReadonlySet<string>;
  #warned = new Set<string>();
  #warn: ((message: string) => void) | undefined;
  private namespacing: boolean;

  constructor(
    ir: {
      nodes: NodeIR[];
      inputs: Record<string, InputIR>;
      errorHandled: ReadonlySet<string>;
      edges: readonly (EdgeIR | undefined)[];
      /** Nodes reported as never run: their reads are not checked against the graph's order. */
      unreached: ReadonlySet<string>;
    },
    private registry: NodeRegistry,
    options: {
      namespacing: boolean;
      /** Optional inputs without a default that may not be given: a node param reading one gets a warning. */
      unset: ReadonlySet<string>;
      /** Inputs marked `"stdin": true`: a run that leaves one of those unset is refused before it starts. */
      fromStdin: ReadonlySet<string>;
      warn?: (message: string) => void;
    },
  ) {
    this.namespacing = options.namespacing;
    this.#unset = options.unset;
    this.#fromStdin = options.fromStdin;
    this.#warn = options.warn;
    this.#errorHandled = ir.errorHandled;
    this.#edges = ir.edges;
    this.#unreached = ir.unreached;
    for (const node of ir.nodes) this.#nodes.set(node.id, node);
    this.#inputs = new Set(Object.keys(ir.inputs));
    if (!this.namespacing) {
      for (const node of ir.nodes) for (const key of this.#outputsOf(node)) this.#rootOutputs.add(key);
    }
  }

  #outputsOf(node: NodeIR): string[] {
    return nodeOutputs(node, this.registry, this.#errorHandled);
  }

  /**
   * Adds to `problems` what is wrong with each `${…}` in `value`; `reader` is the node whose param it is
   * (its reads of other nodes must come after them).
   */
  check(value: unknown, pointer: string, vars: string[], problems: Problem[], reader?: string): void {
    if (typeof value === "string") {
      if (!hasTemplateSyntax(value)) return;
      let parts;
      try {
        parts = parseTemplate(value);
      } catch (error) {
        if (error instanceof TemplateSyntaxError) {
          problems.push({ pointer, message: error.message });
          return;
        }
        throw error;
      }
      for (const part of parts) {
        if (typeof part === "string") continue;
        const message = this.#problemOf(part, vars) ?? this.#orderProblem(part, reader);
        if (message !== undefined) problems.push({ pointer, message });
        else if (reader !== undefined) this.#warnUnset(part, vars, reader);
      }
    } else if (Array.isArray(value)) {
      value.forEach((v, i) => this.check(v, `${pointer}/${i}`, vars, problems, reader));
    } else if (value !== null && typeof value === "object") {
      for (const [k, v] of Object.entries(value)) {
        this.check(v, `${pointer}${pointerSegment(k)}`, vars, problems, reader);
      }
    }
  }

  /**
   * A read of a node's outputs by a node that can never run after it: no path of edges leads from the
   * one to the other, so the namespace read is empty on every run. A node's own namespace is empty while
   * its params resolve, on a loop too (each execution starts with an empty one).
   */
  #orderProblem(ref: TemplateRef, reader: string | undefined): string | undefined {
    const head = ref.segments[0] as string;
    if (
      reader === undefined || !this.namespacing || !this.#nodes.has(head) || this.#unreached.has(reader) ||
      this.#mayRunBefore(head, reader)
    ) {
      return undefined;
    }
    return head === reader
      ? `${ref.source}: node '${reader}' reads its own output, which is empty while its params resolve (on a ` +
        `loop too: each execution starts with an empty namespace); read another node's output`
      : `${ref.source}: node '${head}' never runs before node '${reader}' (no edges lead from '${head}' to ` +
        `'${reader}'), so its output is not there yet; wire '${head}' before '${reader}'`;
  }

  /**
   * True when a path of edges leads from `from` to another node `to`, whatever the order of the edges in
   * the file (two branches of one node, its success and its error path, never reach each other).
   */
  #mayRunBefore(from: string, to: string): boolean {
    if (from === to) return false;
    const graph = this.#graph ??= this.#buildGraph();
    const a = graph.component.get(from);
    const b = graph.component.get(to);
    if (a === undefined || b === undefined) return true; // not checked: an unknown node is reported elsewhere
    // Components count down along paths: a path from `from` reaches lower numbers, or stays in its cycle.
    if (b > a) return false;
    if (b === a) return true;
    // A search of the graph of components from `from`'s, resumed by each later question about it: `to` is
    // reached with its component (each of a component's nodes leads to the others).
    let search = this.#searches.get(a);
    if (search === undefined) this.#searches.set(a, search = { queue: [a], next: 0, seen: new Set([a]) });
    const { queue, seen } = search;
    while (!seen.has(b) && search.next < queue.length) {
      for (const next of graph.successors.get(queue[search.next++]) ?? []) {
        if (seen.has(next)) continue;
        seen.add(next);
        queue.push(next);
      }
    }
    return seen.has(b);
  }

  /** The graph's components, each with the components an edge leads to from one of its nodes. */
  #buildGraph(): GraphComponents & { successors: Map<number, Set<number>> } {
    const edges = validEdges(this.#edges);
    const graph = graphComponents([...this.#nodes.keys()], edges);
    const successors = new Map<number, Set<number>>();
    for (const edge of edges) {
      const from = graph.component.get(edge.from);
      const to = graph.component.get(edge.to);
      if (from === undefined || to === undefined || from === to) continue;
      const set = successors.get(from);
      if (set === undefined) successors.set(from, new Set([to]));
      else set.add(to);
    }
    return { ...graph, successors };
  }

  /**
   * A node param reading an optional input without a default: a run that is not given it fails at that
   * node, after the nodes before it have run (and been paid for), so it is said before the run. One filled
   * from stdin the run refuses before it starts, when nothing was piped.
   */
  #warnUnset(ref: TemplateRef, vars: string[], reader: string): void {
    const head = ref.segments[0] as string;
    if (this.#warn === undefined || !this.#unset.has(head) || vars.includes(head) || this.#rootOutputs.has(head)) {
      return;
    }
    const key = `${reader}\0${head}`;
    if (this.#warned.has(key)) return;
    this.#warned.add(key);
    const fate = this.#fromStdin.has(head)
      ? `${head}=VALUE or piped stdin is refused before any node runs`
      : `${head}=VALUE fails at this node`;
    this.#warn(
      `node '${reader}' reads \${${head}}, an optional input without a default: a run not given ${fate}; ` +
        `give the input a "default" (such as "") or make it required`,
    );
  }

  #problemOf(ref: TemplateRef, vars: string[]): string | undefined {
    const head = ref.segments[0] as string;
    if (vars.includes(head) || this.#inputs.has(head) || head === "stdin") return undefined;
    const node = this.#nodes.get(head);
    if (node !== undefined) {
      if (!this.namespacing) {
        return `${ref.source}: namespacing is off, so node outputs live at the root; write \${${
          formatPath(ref.segments.slice(1)) || "key"
        }}`;
      }
      const key = ref.segments[1];
      if (key === undefined) return undefined; // the whole namespace object
      const outputs = this.#outputsOf(node);
      const spec = this.registry.get(node.type)?.spec;
      if (typeof key !== "string" || (!outputs.includes(key) && !(spec && Object.keys(spec.outputs).length === 0))) {
        const what = node.batch ? `batch node '${head}'` : `node '${head}' (${node.type})`;
        return `${ref.source}: ${what} has no output '${key}'${didYouMean(String(key), outputs)}; outputs: ${
          outputs.join(", ")
        }`;
      }
      return undefined;
    }
    if (this.#rootOutputs.has(head)) return undefined;
    const known = [...this.#nodes.keys(), ...this.#inputs, ...vars, "stdin"];
    const inputsText = this.#inputs.size ? [...this.#inputs].join(", ") : "none";
    const suggestion = didYouMean(head, known);
    // Without a near name it is likely meant as an input: say how to give it.
    const howTo = suggestion === "" ? ` (declare it under "inputs", or pass ${head}=VALUE)` : "";
    return `${ref.source}: '${head}' is not a node id, an input or stdin${suggestion}; nodes: ${
      [...this.#nodes.keys()].join(", ")
    }; inputs: ${inputsText}${howTo}`;
  }
}

/** The edges whose ends are both strings (the rest are reported elsewhere). */
function validEdges(edges: readonly (EdgeIR | undefined)[]): EdgeIR[] {
  return edges.filter((e): e is EdgeIR => typeof e?.from === "string" && typeof e.to === "string");
}

/** True when an input value matches the input's declared type. */
export function inputValueFits(input: InputIR, value: unknown): boolean {
  if (input.type === undefined || input.type === "any") return true;
  return valueFits({ type: input.type, description: "" }, value);
}
