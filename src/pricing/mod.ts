/**
 * Pricing: the price table and the cost of one usage record.
 * @module
 */
export * from "./table.ts";
export * from "./cost.ts";
export * from "./money.ts";
