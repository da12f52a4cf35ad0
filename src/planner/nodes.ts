/**
 * The planner's node types. The planner is a pflow workflow of these nodes
 * (see `flow.ts`), compiled and run by the same compiler and engine as any
 * workflow, so the same instrumented layer times it, the same `@llmUsage`
 * records its calls and the same trace sink writes its trace.
 *
 * They read and write the root of the shared store (the planner's workflow
 * turns namespacing off): `request`, `model`, then `workflow`,
 * `params`, `problems`, `repairs`, `path`, `reused_workflow`, `inputs`,
 * `missing_inputs`.
 * @module
 */
import { Node, type Shared } from "../engine/mod.ts";
import { callLlm, LlmReplyError, type LlmRequest, type LlmResponse, StructuredOutputError } from "../llm/mod.ts";
import type { LlmRunContext } from "../nodes/llm.ts";
import { coerceParam, type NodeSpec, type ParamSpec, type ValueType } from "../nodes/spec.ts";
import { llmUsage, timed, traced } from "../observability/decorators.ts";
import { isSecretName, outputRedactor } from "../observability/redact.ts";
import { type Problem, uniqueProblems } from "../workflow/errors.ts";
import { inputDefaults, type InputIR, type WorkflowIR } from "../workflow/ir.ts";
import { shownInputValue, type TypedText, untypedInputText } from "../workflow/input_text.ts";
import { loadWorkflowFile, schemaProblems } from "../workflow/load.ts";
import { MAX_NESTING_DEPTH, TOO_DEEP, valueNestedBeyond } from "../util/json_depth.ts";
import type { NodeRegistry } from "../workflow/registry.ts";
import { inputValueFits, validateWorkflow } from "../workflow/validate.ts";
import type { CatalogueEntry } from "./catalogue.ts";
import {
  discoverMessage,
  discoverSystemPrompt,
  generateMessage,
  generateSystemPrompt,
  repairMessage,
} from "./prompts.ts";
import { parseJsonReply } from "../llm/structured.ts";
import { DISCOVER_SCHEMA, GENERATE_SCHEMA, isUsableReply, readDiscoverReply, readGenerateReply } from "./replies.ts";

/** What the planner's nodes need from the run besides env and settings. */
export interface PlannerContext extends LlmRunContext {
  /** The node types a generated workflow may use (their specs are the prompt's registry). */
  plannerRegistry: NodeRegistry;
  /** Repairs allowed after the first invalid workflow. */
  maxRepairs: number;
  /**
   * The saved workflows to choose from. Not in the store: the run learns the values of secret-named keys in its
   * inputs as secrets, and the catalogue's inputs are keyed by name (`api_token: {type: "string", …}`), so
   * `string` and such a description would become secrets hidden everywhere, plan files and saved workflows too.
   */
  catalogue?: CatalogueEntry[];
  /**
   * The `key=value` texts given with the request: the plan runs with them, so they are known to its templates
   * (and a plan that declares inputs must declare each of them, as `pflow run` refuses others).
   */
  givenParams?: Record<string, string>;
  /**
   * When planning must end (a `performance.now()` time; `--planner-timeout`): each call's attempts are bounded
   * by the time left, not by the llm layer's per-attempt default (120 s), which would cut a slow model short
   * under a longer planner timeout. Unset: the llm layer's default.
   */
  deadline?: number;
}

/** A required input that neither the request nor a default fills. */
export interface MissingInput {
  name: string;
  type: string;
  description: string;
}

/** The planning ended with a workflow that still does not validate. */
export class PlanInvalidError extends Error {
  /** The validator's problems with the last workflow. */
  readonly problems: Problem[];

  /**
   * @param problems what the validator reported
   * @param repairs repairs made
   */
  constructor(problems: Problem[], repairs: number) {
    super(
      `the generated workflow is still invalid after ${repairs} repair${repairs === 1 ? "" : "s"} ` +
        `(${problems.length} problem${problems.length === 1 ? "" : "s"})`,
    );
    this.name = "PlanInvalidError";
    this.problems = problems;
  }
}

const cachedPrompts = new WeakMap<NodeRegistry, string>();

/** The generate system prompt of a registry, built once (it is byte-identical across calls). */
function systemPromptOf(registry: NodeRegistry): string {
  let prompt = cachedPrompts.get(registry);
  if (prompt === undefined) {
    prompt = generateSystemPrompt(registry.specs());
    cachedPrompts.set(registry, prompt);
  }
  return prompt;
}

/**
 * A reply that is not the JSON asked for, as the validator would word it
 * (the error's message already names each of its problems).
 */
function replyProblem(error: StructuredOutputError): Problem {
  return { pointer: "", message: `the reply is not the JSON object asked for (${error.message})` };
}

/**
 * The per-attempt timeout of a planner call: the planning's time left (at
 * least 1 ms; the planner's own abort ends the call at the deadline anyway),
 * or undefined without a deadline.
 */
export function callTimeoutMs(deadline: number | undefined, now = performance.now()): number | undefined {
  if (deadline === undefined) return undefined;
  // A deadline beyond any timer (a huge --planner-timeout) is still a finite number of ms for the llm layer.
  return Math.min(Math.max(1, Math.ceil(deadline - now)), Number.MAX_SAFE_INTEGER);
}

/** The base of planner nodes that call the model: one decorated method makes every call. */
abstract class PlannerCallNode extends Node {
  /**
   * The call; `@llmUsage` records it for the planner's run and node. A reply
   * the strict schema check refuses but the planner's readers use (`params`
   * null, a bare workflow) is the call's object, not an unusable reply.
   */
  @llmUsage
  async ask(request: LlmRequest, ctx: LlmRunContext): Promise<LlmResponse> {
    try {
      return await callLlm(request, { env: ctx.env ?? process.env, settings: ctx.llmSettings ?? {} });
    } catch (error) {
      if (!(error instanceof StructuredOutputError)) throw error;
      const parsed = parseJsonReply(error.response.text);
      if (parsed === undefined || !isUsableReply(request.schema, parsed.value)) throw error;
      return { ...error.response, object: parsed.value };
    }
  }

  /** A structured call with the stable system prompt marked cacheable, its attempts bounded by the planner's time left. */
  protected async structured(
    ctx: PlannerContext,
    call: { model: string; system: string; messages: LlmRequest["messages"]; schema: Record<string, unknown> },
  ): Promise<LlmResponse> {
    const timeoutMs = callTimeoutMs(ctx.deadline);
    try {
      return await this.ask({
        model: call.model,
        system: call.system,
        messages: call.messages,
        schema: call.schema,
        schemaName: call.schema === DISCOVER_SCHEMA ? "reuse_decision" : "workflow_plan",
        cache: true,
        signal: ctx.signal,
        ...(timeoutMs !== undefined ? { timeoutMs } : {}),
      }, ctx);
    } catch (error) {
      throw error instanceof LlmReplyError && error.problem === "truncated" ? plannerTruncated(error) : error;
    }
  }

  /** A generate-shaped call (generate, repair): the registry prompt, then the conversation. */
  protected async askForPlan(
    ctx: PlannerContext,
    call: { model: string; messages: PlanReply["messages"] },
  ): Promise<PlanReply> {
    let response: LlmResponse;
    try {
      response = await this.structured(ctx, {
        model: call.model,
        system: systemPromptOf(ctx.plannerRegistry),
        messages: call.messages,
        schema: GENERATE_SCHEMA,
      });
    } catch (error) {
      if (!(error instanceof StructuredOutputError)) throw error;
      const answer = { role: "assistant" as const, content: error.response.text || "(no text)" };
      return {
        workflow: undefined,
        params: undefined,
        replyProblem: replyProblem(error),
        messages: [...call.messages, answer],
      };
    }
    const reply = readGenerateReply(response.object);
    // Too deep to repeat: JSON.stringify, the validator and the run's walks recurse and would overflow the stack.
    if (replyTooDeep(reply)) {
      const answer = { role: "assistant" as const, content: `(the reply is not repeated here: it is ${TOO_DEEP})` };
      return {
        workflow: undefined,
        params: undefined,
        replyProblem: { pointer: "", message: `the reply is ${TOO_DEEP}; flatten the data` },
        messages: [...call.messages, answer],
      };
    }
    const answer = {
      role: "assistant" as const,
      content: JSON.stringify({ workflow: reply.workflow, params: reply.params }),
    };
    return { ...reply, messages: [...call.messages, answer] };
  }
}

/**
 * Whether a reply's workflow, or one of its param values, nests deeper than a workflow file or a JSON param
 * may (`pflow run` refuses both). Checked without recursing: a reply can be nested 100,000 deep.
 */
function replyTooDeep(reply: { workflow: unknown; params: Record<string, unknown> | undefined }): boolean {
  if (valueNestedBeyond(reply.workflow, MAX_NESTING_DEPTH)) return true;
  return Object.values(reply.params ?? {}).some((value) => valueNestedBeyond(value, MAX_NESTING_DEPTH));
}

/**
 * A planner reply the output limit cut off, with advice the user can follow: the llm layer's (`ask for a shorter
 * reply`, `raise max_tokens`) is for an `llm` node, whose prompt and `max_tokens` are the user's; the planner's
 * are not, but its model and the request are.
 */
function plannerTruncated(error: LlmReplyError): LlmReplyError {
  const cause = error.message.includes("; ") ? error.message.slice(0, error.message.lastIndexOf("; ")) : error.message;
  return new LlmReplyError(
    `${cause}; the planner writes the whole workflow in one reply: plan with a model that has a larger output ` +
      "limit (--planner-model, PFLOW_PLANNER_MODEL or planner_model in settings), or ask for less in one request",
    { problem: error.problem, reason: error.reason, response: error.response },
  );
}

/** Params several planner nodes take. */
const REQUEST: ParamSpec = { type: "string", required: true, description: "The user's request" };
const MODEL: ParamSpec = { type: "string", required: true, description: "The planner's model" };
const STDIN_PIPED: ParamSpec = { type: "boolean", default: false, description: "Whether data is piped on stdin" };

const PLAN_OUTPUTS: NodeSpec["outputs"] = {
  workflow: { type: "object", description: "The workflow as the model wrote it (validated next)" },
  params: { type: "object", description: "Input values the request stated" },
};

/** Path A: picks a saved workflow for the request, or none. */
@timed
@traced({ capture: ["request", "catalogue"] })
export class DiscoverNode extends PlannerCallNode {
  /** The type's declaration. */
  static readonly spec: NodeSpec = {
    type: "planner-discover",
    description: "Asks the model whether a saved workflow does what the request asks",
    params: { request: REQUEST, model: MODEL },
    outputs: {
      reused_workflow: { type: "string", description: "The chosen saved workflow, or null" },
      params: { type: "object", description: "Values for its inputs" },
      reason: { type: "string", description: "Why" },
    },
    actions: ["reuse", "generate"],
  };

  /** The request, model and catalogue. */
  override prep(_shared: Shared, ctx: PlannerContext) {
    return {
      request: String(this.params.request),
      model: String(this.params.model),
      catalogue: ctx.catalogue ?? [],
    };
  }

  /** One call: the request and the catalogue; an unusable reply means "no reuse". */
  override async exec(p: ReturnType<DiscoverNode["prep"]>, ctx: PlannerContext) {
    const known = new Set(p.catalogue.map((e) => e.name));
    try {
      const response = await this.structured(ctx, {
        model: p.model,
        system: discoverSystemPrompt(p.catalogue),
        messages: [{ role: "user", content: discoverMessage(p.request, Object.keys(ctx.givenParams ?? {})) }],
        schema: DISCOVER_SCHEMA,
      });
      const reply = readDiscoverReply(response.object, known);
      // A workflow that declares inputs but not a key given with the request: its run would refuse that key.
      const chosen = p.catalogue.find((e) => e.name === reply.workflowName);
      const undeclared = chosen === undefined || Object.keys(chosen.inputs).length === 0
        ? []
        : Object.keys(ctx.givenParams ?? {}).filter((key) => !Object.hasOwn(chosen.inputs, key));
      if (undeclared.length > 0) {
        ctx.warn(
          `planner: the reuse call chose saved workflow '${reply.workflowName}', which has no input${
            undeclared.length === 1 ? "" : "s"
          } named ${undeclared.map((k) => `'${k}'`).join(", ")} (given with the request); generating a new workflow`,
        );
        return readDiscoverReply(undefined, known);
      }
      // Too deep for the run's walks (they recurse and would overflow the stack): as unusable as a reply that is not JSON.
      if (Object.values(reply.params).some((value) => valueNestedBeyond(value, MAX_NESTING_DEPTH))) {
        ctx.warn(`planner: the reuse reply was not usable (a param value is ${TOO_DEEP}); generating a new workflow`);
        return readDiscoverReply(undefined, known);
      }
      return reply;
    } catch (error) {
      if (!(error instanceof StructuredOutputError)) throw error;
      ctx.warn(`planner: the reuse reply was not usable (${error.message}); generating a new workflow`);
      return readDiscoverReply(undefined, known);
    }
  }

  /** `reuse` with the chosen name and params, or `generate`. */
  override post(shared: Shared, _p: unknown, reply: ReturnType<typeof readDiscoverReply>) {
    shared.reused_workflow = reply.workflowName;
    shared.reason = reply.reason;
    // Decided now: a generate call that then fails (401, timeout, refusal) was still the generate path.
    if (reply.workflowName === null) {
      shared.path = "generate";
      return "generate";
    }
    learnSecretParams(reply.params);
    shared.params = reply.params;
    shared.path = "reuse";
    return "reuse";
  }
}

/** Loads the saved workflow the reuse call chose. */
@timed
export class LoadSavedNode extends Node {
  /** The type's declaration. */
  static readonly spec: NodeSpec = {
    type: "planner-load",
    description: "Reads the chosen saved workflow",
    params: { name: { type: "string", required: true, description: "Saved workflow name" } },
    outputs: { workflow: { type: "object", description: "Its IR" } },
  };

  /** The catalogue entry of the chosen name. */
  override prep(_shared: Shared, ctx: PlannerContext): CatalogueEntry {
    const entry = (ctx.catalogue ?? []).find((e) => e.name === this.params.name);
    if (entry === undefined) throw new Error(`saved workflow '${this.params.name}' is not in the catalogue`);
    return entry;
  }

  /**
   * Reads the file as a run of it does (validated like any workflow before it runs): one changed or removed
   * since the catalogue was read fails with the run's located error (`greet.json:1:12: invalid JSON …`, a
   * ValidationError the command reports as one, exit 2), not the parser's bare message.
   */
  override async exec(entry: CatalogueEntry): Promise<unknown> {
    return (await loadWorkflowFile(entry.path)).ir;
  }

  /** Writes `workflow` and `workflow_file`. */
  override post(shared: Shared, entry: CatalogueEntry, workflow: unknown): undefined {
    // Its secret defaults (left out of the catalogue) are secrets in the dry run's display, the trace and the run.
    learnInputDefaults(workflow);
    shared.workflow = workflow;
    shared.workflow_file = entry.path;
    return undefined;
  }
}

/** Path B: one call writes a workflow for the request. */
@timed
@traced({ capture: ["request"] })
export class GenerateNode extends PlannerCallNode {
  /** The type's declaration. */
  static readonly spec: NodeSpec = {
    type: "planner-generate",
    description: "Asks the model for a workflow that does what the request asks",
    params: { request: REQUEST, model: MODEL, stdin_piped: STDIN_PIPED },
    outputs: PLAN_OUTPUTS,
  };

  /** The request and model. */
  override prep() {
    return {
      request: String(this.params.request),
      model: String(this.params.model),
      stdinPiped: this.params.stdin_piped === true,
    };
  }

  /** The call: registry, rules and examples (cached), then the request. */
  override async exec(p: ReturnType<GenerateNode["prep"]>, ctx: PlannerContext): Promise<PlanReply> {
    const givenNames = Object.keys(ctx.givenParams ?? {});
    const content = generateMessage(p.request, { stdinPiped: p.stdinPiped, givenNames });
    const messages = [{ role: "user" as const, content }];
    return await this.askForPlan(ctx, { model: p.model, messages });
  }

  /** Writes the plan and the conversation so far (a repair continues it). */
  override post(shared: Shared, _p: unknown, reply: PlanReply): undefined {
    writePlan(shared, reply);
    shared.path = "generate";
    shared.repairs = 0;
    return undefined;
  }
}

/** What a generate or repair call produced. */
interface PlanReply {
  workflow: unknown;
  /** Undefined when the reply gives none: a repair then keeps the earlier reply's. */
  params: Record<string, unknown> | undefined;
  /** Set when the reply was not usable JSON. */
  replyProblem?: Problem;
  /** The conversation including this reply (for a repair). */
  messages: { role: "user" | "assistant"; content: string }[];
}

/**
 * Writes a generate or repair reply to the store. A reply without params keeps the ones already there (a
 * repair answered with the bare corrected workflow must not lose what the first reply extracted); a reply
 * with params replaces them.
 */
function writePlan(shared: Shared, reply: PlanReply): void {
  learnSecretParams(reply.params);
  learnInputDefaults(reply.workflow);
  shared.workflow = reply.workflow ?? null;
  shared.params = reply.params ?? (shared.params as Record<string, unknown> | undefined) ?? {};
  shared.reply_problem = reply.replyProblem ?? null;
  shared.conversation = reply.messages;
}

/**
 * Values the request gave for secret-named inputs (`api_token`), and URL
 * passwords in any value, are secrets from now on: hidden in this node's
 * trace event, the planner trace, plan output and the run that follows.
 */
function learnSecretParams(params: Record<string, unknown> | undefined): void {
  if (params !== null && typeof params === "object") outputRedactor().learn(params);
}

/**
 * The defaults of a workflow's inputs are secrets as the run would learn them (it learns its inputs, defaults
 * included): a secret-named input's default (`api_token` with default `tok-…`, a token the model copied from the
 * request, or one a saved workflow keeps), and URL passwords in any default. Learned as soon as the workflow is
 * known, before the plan file, a saved copy, the planner trace or its file name (made from the redacted request)
 * are written, or a dry run prints it.
 */
function learnInputDefaults(workflow: unknown): void {
  outputRedactor().learn(inputDefaults(workflow));
}

/** Checks the plan with the same static validator as `pflow run`. */
@timed
export class ValidateNode extends Node {
  /** The type's declaration. */
  static readonly spec: NodeSpec = {
    type: "planner-validate",
    description: "Validates the generated workflow (schema, node types, params, templates, edges)",
    params: { workflow: { type: "any", description: "The workflow to check" } },
    outputs: {
      problems: { type: "array", description: "The validator's problems (pointer + message), empty when valid" },
      attempts: { type: "array", description: "Every validation so far, with its problems" },
    },
    actions: ["invalid"],
  };

  /** The workflow, the reply's own problem (not JSON) and the repairs so far. */
  override prep(shared: Shared) {
    return {
      workflow: shared.workflow,
      params: shared.params as Record<string, unknown> | undefined,
      replyProblem: shared.reply_problem as Problem | null,
      repairs: (shared.repairs as number | undefined) ?? 0,
    };
  }

  /** The problems (none: valid). */
  override exec(p: ReturnType<ValidateNode["prep"]>, ctx: PlannerContext): Problem[] {
    if (p.replyProblem) return [p.replyProblem];
    const problems = workflowProblems(p.workflow, ctx.plannerRegistry, ctx.givenParams);
    // The extracted values once the workflow is sound (their inputs' declarations are read from it).
    return problems.length > 0 ? problems : paramProblems(p.workflow, p.params, ctx.givenParams);
  }

  /** `default` when valid, `invalid` while repairs remain; else the planning fails with the problems. */
  override post(shared: Shared, p: ReturnType<ValidateNode["prep"]>, problems: Problem[], ctx: PlannerContext) {
    shared.problems = problems;
    shared.attempts = [...(shared.attempts as unknown[] ?? []), { problems }];
    if (problems.length === 0) return undefined;
    if (p.repairs < ctx.maxRepairs) return "invalid";
    throw new PlanInvalidError(problems, p.repairs);
  }
}

/**
 * Every problem the static validator finds in a generated workflow
 * (machine-independent checks only). `given`: the `key=value` texts the plan
 * will run with, known to its templates as `pflow run` knows them
 * (`${who}` with `who=Bob` given is no problem).
 */
export function workflowProblems(
  workflow: unknown,
  registry: NodeRegistry,
  given: Record<string, string> = {},
): Problem[] {
  if (workflow === null || typeof workflow !== "object" || Array.isArray(workflow)) {
    return [{ pointer: "", message: 'the reply has no "workflow" object' }];
  }
  // Deeper than a workflow file may be (`pflow run` refuses it): the one problem, before checks that recurse.
  if (valueNestedBeyond(workflow, MAX_NESTING_DEPTH)) {
    return [{
      pointer: "",
      message: `${TOO_DEEP}; flatten the data`,
    }];
  }
  // Every problem at once (schema problems do not hide the rest), so one repair can fix them all.
  // API keys and other facts of this machine are checked when the plan runs, not by the model.
  return uniqueProblems([
    ...undeclaredGiven(workflow as WorkflowIR, given),
    ...schemaProblems(workflow),
    ...validateWorkflow(workflow as WorkflowIR, {
      registry,
      checkEnvironment: false,
      inputs: givenInputs(workflow as WorkflowIR, given),
    }),
  ]);
}

/**
 * A problem for each given key the workflow does not declare when it declares
 * inputs: `pflow run` refuses such a key (see `typeParams`), so the plan must
 * declare it (the repair call is told so).
 */
function undeclaredGiven(workflow: WorkflowIR, given: Record<string, string>): Problem[] {
  const declared = workflow.inputs !== null && typeof workflow.inputs === "object" && !Array.isArray(workflow.inputs)
    ? workflow.inputs
    : {};
  const names = Object.keys(declared);
  if (names.length === 0) return [];
  return Object.keys(given).filter((key) => !Object.hasOwn(declared, key)).map((key) => ({
    pointer: "/inputs",
    message: `'${key}=…' is given with the request but is not an input of this workflow; inputs: ${
      names.join(", ")
    } (declare '${key}' under "inputs": a workflow that declares inputs accepts no other key=value)`,
  }));
}

/** The given texts, each typed by its declared input (as the run will type it); others as written. */
function givenInputs(workflow: WorkflowIR, given: Record<string, string>): Record<string, unknown> {
  const declared = workflow.inputs !== null && typeof workflow.inputs === "object" ? workflow.inputs : {};
  return Object.fromEntries(
    Object.entries(given).map(([name, text]) => {
      const input = Object.hasOwn(declared, name) ? declared[name] : undefined;
      const type = input !== null && typeof input === "object" && typeof input.type === "string"
        ? input.type
        : undefined;
      return [name, typed(name, type, text)];
    }),
  );
}

/** One call fixes the workflow, given the validator's messages verbatim. */
@timed
export class RepairNode extends PlannerCallNode {
  /** The type's declaration. */
  static readonly spec: NodeSpec = {
    type: "planner-repair",
    description: "Asks the model to fix the workflow, given the validator's messages",
    params: { model: MODEL, problems: { type: "array", required: true, description: "The validator's problems" } },
    outputs: PLAN_OUTPUTS,
  };

  /** The conversation so far and the problems. */
  override prep(shared: Shared) {
    return {
      model: String(this.params.model),
      problems: this.params.problems as Problem[],
      conversation: (shared.conversation ?? []) as PlanReply["messages"],
      repairs: (shared.repairs as number | undefined) ?? 0,
    };
  }

  /** The call: the previous workflow and the problems; answers in the generate shape. */
  override async exec(p: ReturnType<RepairNode["prep"]>, ctx: PlannerContext): Promise<PlanReply> {
    const messages = [...p.conversation, { role: "user" as const, content: repairMessage(p.problems) }];
    return await this.askForPlan(ctx, { model: p.model, messages });
  }

  /** Writes the repaired plan; counts the repair. */
  override post(shared: Shared, p: ReturnType<RepairNode["prep"]>, reply: PlanReply): undefined {
    writePlan(shared, reply);
    shared.repairs = p.repairs + 1;
    return undefined;
  }
}

/** Fills the workflow's inputs from the params, typed by each input's declared type. */
@timed
export class InputsNode extends Node {
  /** The type's declaration. */
  static readonly spec: NodeSpec = {
    type: "planner-inputs",
    description: "Types the extracted params by the workflow's inputs and lists required inputs still missing",
    params: {
      workflow: { type: "object", required: true, description: "The workflow to run" },
      params: { type: "object", description: "Extracted values" },
      stdin_piped: STDIN_PIPED,
    },
    outputs: {
      inputs: { type: "object", description: "Typed values of declared inputs" },
      missing_inputs: { type: "array", description: "Required inputs with neither a value nor a default" },
    },
  };

  /** Types each value and lists what is missing. */
  override exec() {
    const workflow = this.params.workflow as WorkflowIR;
    const given = (this.params.params ?? {}) as Record<string, unknown>;
    return typeInputs(workflow, given, { stdinPiped: this.params.stdin_piped === true });
  }

  /** Writes `inputs` and `missing_inputs`; warns of each extracted value left out for its type. */
  override post(shared: Shared, _p: unknown, typed: ReturnType<typeof typeInputs>, ctx: PlannerContext): undefined {
    // A value given with the request wins over the model's: nothing is left out then.
    for (const m of typed.mistyped.filter((m) => !Object.hasOwn(ctx.givenParams ?? {}, m.name))) {
      ctx.warn(
        `the planner's value for input '${m.name}' ${m.problem}; left out, as if the request had not given it`,
      );
    }
    shared.inputs = typed.inputs;
    shared.missing_inputs = typed.missing;
    return undefined;
  }
}

/** A value the planner extracted for an input that is not a value of the input's type (left out). */
export interface MistypedInput {
  name: string;
  type: string;
  /** What is wrong, as an input problem says it: `must be integer, got "three"` (a secret's value not shown). */
  problem: string;
}

/**
 * The values of a workflow's declared inputs: each given value coerced to its
 * input's type where the intent is clear (`"3"` → 3 for an integer); values
 * for undeclared names are dropped; a value that is not one of its input's
 * type (`"three"` for an integer) is left out, as if the request had not
 * given it (its default applies, or it is missing), and listed in
 * `mistyped`; required inputs without value or default (and not fed by
 * piped stdin) are missing.
 */
export function typeInputs(
  workflow: WorkflowIR,
  given: Record<string, unknown>,
  options: { stdinPiped: boolean },
): { inputs: Record<string, unknown>; missing: MissingInput[]; mistyped: MistypedInput[] } {
  const inputs: Record<string, unknown> = {};
  const missing: MissingInput[] = [];
  const mistyped: MistypedInput[] = [];
  for (const [name, input] of Object.entries(workflow.inputs ?? {})) {
    const value = Object.hasOwn(given, name) ? given[name] : undefined;
    if (value !== undefined && value !== null) {
      const extracted = typedExtracted(name, input, value);
      if (extracted.ok) {
        inputs[name] = extracted.value;
        continue;
      }
      mistyped.push({ name, type: input.type ?? "any", problem: extracted.problem });
    }
    const fed = input.default !== undefined || input.required === false || (input.stdin && options.stdinPiped);
    if (!fed) missing.push({ name, type: input.type ?? "any", description: input.description ?? "" });
  }
  return { inputs, missing, mistyped };
}

/**
 * A value the model extracted for `input` as a value of its type (coerced: `"3"` → 3 for an integer), or why it
 * is none (`"three"` for an integer: `must be integer, got "three"`). Text for an untyped input is typed by the
 * command line's rule for an untyped `key=value` (`"42"` → 42, `"1.10"` stays text): the command printed to
 * run the plan again gives such a value as `x=42`, which must be the value the planned run used.
 */
function typedExtracted(name: string, input: InputIR, value: unknown): TypedText {
  if (input.type === undefined || input.type === "any") {
    if (typeof value !== "string") return { ok: true, value };
    const text = untypedInputText(value, { secret: isSecretName(name) });
    return text.ok
      ? text
      : { ok: false, problem: `${text.problem}, got ${shownInputValue(name, value, { json: true })}` };
  }
  const coerced = typed(name, input.type, value);
  if (inputValueFits(input, coerced)) return { ok: true, value: coerced };
  return { ok: false, problem: `must be ${input.type}, got ${shownInputValue(name, value, { json: true })}` };
}

/**
 * A problem for each value the reply's `params` gives a declared input that is not a value of the input's type
 * (`"three"` for an integer), for the repair call: the run would refuse it. A key given with the request is
 * skipped (its value wins over the model's).
 */
export function paramProblems(
  workflow: unknown,
  params: Record<string, unknown> | undefined,
  given: Record<string, string> = {},
): Problem[] {
  if (workflow === null || typeof workflow !== "object" || Array.isArray(workflow)) return [];
  const declared = (workflow as WorkflowIR).inputs;
  if (declared === null || typeof declared !== "object" || Array.isArray(declared)) return [];
  const problems: Problem[] = [];
  for (const [name, value] of Object.entries(params ?? {})) {
    const input = Object.hasOwn(declared, name) ? declared[name] : undefined;
    if (input === null || typeof input !== "object" || Object.hasOwn(given, name) || value === null) continue;
    const extracted = typedExtracted(name, input, value);
    if (extracted.ok) continue;
    const problem = extracted.problem;
    problems.push({
      pointer: `/inputs/${name}`,
      // Null, not "leave it out": a repair reply with no params (`{}`) keeps the earlier ones.
      message: `"params" gives input '${name}' a value that ${problem}: give a value of its type in "params", ` +
        `or null there when the request does not state one`,
    });
  }
  return problems;
}

function typed(name: string, type: string | undefined, value: unknown): unknown {
  if (type === undefined || type === "any") return value;
  try {
    return coerceParam(name, { type: type as ValueType, description: "" }, value);
  } catch {
    return type === "string" && typeof value !== "object" ? String(value) : value; // the run reports a mismatch
  }
}
