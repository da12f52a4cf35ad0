/**
 * The planner as a pflow workflow: its own node types (nodes.ts) wired by an
 * IR, compiled by the workflow compiler and run by the workflow runner, so it
 * is instrumented, priced and traced exactly like any workflow.
 *
 * ```
 * discover ──reuse──► load ─────────────────────────────┐
 *    │                                                    ▼
 *    └─generate─► generate ─► validate ──default──────► inputs
 *                               ▲  │invalid
 *                               │  ▼
 *                               repair
 * ```
 * `discover` is skipped when nothing is saved; `validate` fails the run once
 * `maxRepairs` repairs are spent.
 * @module
 */
import type { Shared } from "../engine/mod.ts";
import type { LlmSettings } from "../llm/types.ts";
import { instrumentNode } from "../observability/instrument.ts";
import type { RunTelemetry } from "../observability/telemetry.ts";
import { compileWorkflow } from "../workflow/compiler.ts";
import type { Problem } from "../workflow/errors.ts";
import type { WorkflowIR } from "../workflow/ir.ts";
import { NodeRegistry } from "../workflow/registry.ts";
import { type RunError, runWorkflow, type WorkflowResult } from "../workflow/run.ts";
import type { CatalogueEntry } from "./catalogue.ts";
import {
  DiscoverNode,
  GenerateNode,
  InputsNode,
  LoadSavedNode,
  type MissingInput,
  PlanInvalidError,
  type PlannerContext,
  RepairNode,
  ValidateNode,
} from "./nodes.ts";

/** The planner's node types. */
export const PLANNER_NODES = [DiscoverNode, LoadSavedNode, GenerateNode, ValidateNode, RepairNode, InputsNode];

const plannerRegistry = new NodeRegistry(PLANNER_NODES);

/** The planner's workflow; it starts at `discover` only when there is something to reuse. */
export function plannerWorkflow(options: { reuse: boolean }): WorkflowIR {
  const model = "${model}";
  return {
    ir_version: "0.1.0",
    name: "planner",
    description: "Reuses a saved workflow or generates a new one for a request",
    enable_namespacing: false,
    start_node: options.reuse ? "discover" : "generate",
    nodes: [
      { id: "discover", type: "planner-discover", params: { request: "${request}", model } },
      { id: "load", type: "planner-load", params: { name: "${reused_workflow}" } },
      {
        id: "generate",
        type: "planner-generate",
        params: { request: "${request}", model, stdin_piped: "${stdin_piped}" },
      },
      { id: "validate", type: "planner-validate", params: { workflow: "${workflow}" } },
      { id: "repair", type: "planner-repair", params: { model, problems: "${problems}" } },
      {
        id: "inputs",
        type: "planner-inputs",
        params: { workflow: "${workflow}", params: "${params}", stdin_piped: "${stdin_piped}" },
      },
    ],
    edges: [
      { from: "discover", to: "load", action: "reuse" },
      { from: "discover", to: "generate", action: "generate" },
      { from: "load", to: "inputs" },
      { from: "generate", to: "validate" },
      { from: "validate", to: "repair", action: "invalid" },
      { from: "repair", to: "validate" },
      { from: "validate", to: "inputs" },
    ],
  };
}

/** Options of {@link planRequest}. */
export interface PlanOptions {
  /** What the user asked for, in plain words. */
  request: string;
  /** The planner's model id. */
  model: string;
  /** Saved workflows to choose from (empty: generate). */
  catalogue: CatalogueEntry[];
  /** Node types a generated workflow may use. */
  registry: NodeRegistry;
  /** Repairs allowed after an invalid workflow. */
  maxRepairs: number;
  /** The `key=value` texts given with the request (the plan may use them without declaring them, as `pflow run`). */
  givenParams?: Record<string, string>;
  /** Whether data is piped on stdin (the planner may use `${stdin}`). */
  stdinPiped: boolean;
  /** Aborts the planning (interrupt, timeout); the call in flight is aborted. */
  signal: AbortSignal;
  /**
   * When the planning times out (a `performance.now()` time), the deadline `signal` aborts at: each call's
   * attempts are bounded by the time left instead of the llm layer's 120 s default. Unset: that default.
   */
  deadline?: number;
  /** Environment (API keys, base URLs). */
  env: Record<string, string | undefined>;
  /** LLM settings (providers). */
  settings: LlmSettings;
  /** The planner's telemetry: its calls always, node timings and trace when instrumented. */
  telemetry: RunTelemetry;
  /** Called with the initial store right before the first planner node (trace header). */
  onStart?: (shared: Shared) => void;
  /** Warning sink. */
  warn: (message: string) => void;
}

/** What the planning produced. */
export interface PlanOutcome {
  /** How the planner's run ended (`failed` also for a workflow still invalid after the repairs). */
  status: WorkflowResult["status"];
  /** `reuse` or `generate`, or null when planning stopped before choosing. */
  path: "reuse" | "generate" | null;
  /** The reused saved workflow, or null. */
  reusedWorkflow: string | null;
  /** The workflow to run (valid for a generated plan), when planning succeeded. */
  workflow: WorkflowIR | undefined;
  /** The saved workflow's file, for a reused one. */
  workflowFile: string | undefined;
  /** Typed values for the workflow's inputs. */
  inputs: Record<string, unknown>;
  /** Required inputs that nothing fills. */
  missingInputs: MissingInput[];
  /** Repair calls made. */
  repairs: number;
  /** Each validation of a generated workflow, with its problems. */
  attempts: { problems: Problem[] }[];
  /** The last validation's problems, when the workflow stayed invalid. */
  problems: Problem[];
  /** The error, when planning failed. */
  error: RunError | null;
  /** The planner's own run (duration, node executions, telemetry). */
  run: WorkflowResult;
}

/** Plans `request`: reuse a saved workflow or generate (and repair) one; never throws for planning failures. */
export async function planRequest(options: PlanOptions): Promise<PlanOutcome> {
  const telemetry = options.telemetry;
  const reuse = options.catalogue.length > 0;
  const compiled = compileWorkflow(plannerWorkflow({ reuse }), {
    registry: plannerRegistry,
    instrument: telemetry.instrumented ? instrumentNode : undefined,
  });
  const context: Omit<PlannerContext, "signal" | "warn"> = {
    env: options.env,
    llmSettings: options.settings,
    plannerRegistry: options.registry,
    maxRepairs: options.maxRepairs,
    givenParams: options.givenParams,
    deadline: options.deadline,
    catalogue: options.catalogue,
  };
  const run = await runWorkflow(compiled, {
    inputs: {
      request: options.request,
      model: options.model,
      stdin_piped: options.stdinPiped,
      // Nothing to reuse: the generate path from the start, whether or not its call succeeds.
      ...(reuse ? {} : { path: "generate" }),
    },
    signal: options.signal,
    warn: options.warn,
    context,
    telemetry,
    onStart: options.onStart,
  });
  const shared = run.shared;
  const ok = run.status === "success";
  return {
    status: run.status,
    path: (shared.path as PlanOutcome["path"]) ?? null,
    reusedWorkflow: (shared.reused_workflow as string | null | undefined) ?? null,
    workflow: ok ? shared.workflow as WorkflowIR : undefined,
    workflowFile: shared.workflow_file as string | undefined,
    inputs: (shared.inputs as Record<string, unknown> | undefined) ?? {},
    missingInputs: (shared.missing_inputs as MissingInput[] | undefined) ?? [],
    repairs: (shared.repairs as number | undefined) ?? 0,
    attempts: (shared.attempts as { problems: Problem[] }[] | undefined) ?? [],
    problems: run.cause instanceof PlanInvalidError ? run.cause.problems : [],
    error: run.error,
    run,
  };
}
