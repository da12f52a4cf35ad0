/**
 * Workflows: the IR and its schema, templates, validation, the registry of
 * node types, the compiler and the runner.
 * @module
 */
export * from "./ir.ts";
export * from "./errors.ts";
export * from "./load.ts";
export * from "./template.ts";
export * from "./registry.ts";
export * from "./store.ts";
export * from "./layers.ts";
export * from "./validate.ts";
export * from "./compiler.ts";
export * from "./walk.ts";
export * from "./run.ts";
