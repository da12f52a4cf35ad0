/**
 * The engine: nodes, flows, batches, retries and cancellation. It knows
 * nothing of workflows or telemetry.
 * @module
 */
export * from "./node.ts";
export * from "./flow.ts";
export * from "./batch.ts";
export * from "./wrap.ts";
export * from "./yield.ts";
