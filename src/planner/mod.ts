/**
 * The natural-language planner: given a request in plain words, reuse a
 * saved workflow (one call choosing from a catalogue) or generate a new one
 * (one call, then static validation and at most a few repair calls). The
 * planner is itself a pflow workflow of planner node types, run by the same
 * engine, instrumented and traced by the same layer.
 *
 * ```ts
 * const outcome = await planRequest({ request, model, catalogue, registry, maxRepairs: 2, ... });
 * if (outcome.status === "success") runWorkflow(compileWorkflow(outcome.workflow!, { registry }), ...);
 * ```
 * @module
 */
export { type CatalogueEntry, readCatalogue } from "./catalogue.ts";
export { PLANNER_NODES, plannerWorkflow, type PlanOptions, type PlanOutcome, planRequest } from "./flow.ts";
export { type MissingInput, PlanInvalidError, typeInputs, workflowProblems } from "./nodes.ts";
export { DISCOVER_SCHEMA, GENERATE_SCHEMA } from "./replies.ts";
export {
  discoverSystemPrompt,
  generateMessage,
  generateSystemPrompt,
  PLANNER_EXAMPLES,
  renderCatalogueEntry,
  renderNodeSpec,
  repairMessage,
} from "./prompts.ts";
