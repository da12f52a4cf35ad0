/**
 * pflow as a library: the engine, node base classes and built-in nodes, the
 * workflow compiler and runner, and their types.
 *
 * ```ts
 * import { BUILTIN_NODES, compileWorkflow, NodeRegistry, parseWorkflow, runWorkflow } from "./mod.ts";
 * const ir = await parseWorkflow(text);
 * const registry = new NodeRegistry(BUILTIN_NODES);
 * const result = await runWorkflow(compileWorkflow(ir, { registry }), { inputs: { name: "Ada" } });
 * ```
 * @module
 */
export * from "./src/engine/mod.ts";
export * from "./src/nodes/mod.ts";
export * from "./src/workflow/mod.ts";
export * from "./src/observability/mod.ts";
export * from "./src/pricing/mod.ts";
export type {
  LlmFailedAttempt,
  LlmMessage,
  LlmRequest,
  LlmResponse,
  LlmSettings,
  LlmUsage,
  LossyNumbers,
  ProviderSettings,
  SentRequest,
} from "./src/llm/types.ts";
export type { LossyNumber } from "./src/util/json_numbers.ts";
export {
  callLlm,
  canonicalModelId,
  checkModelConfig,
  jsonSchemaProblems,
  LlmAbortError,
  LlmCallError,
  LlmConfigError,
  LlmReplyError,
  parseModelId,
  resolveModel,
  StructuredOutputError,
} from "./src/llm/mod.ts";
export { VERSION } from "./src/version.ts";
