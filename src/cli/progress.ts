/**
 * Per-node progress lines on stderr, shown only on a terminal.
 * @module
 */
import type { BaseNode, FlowObserver } from "../engine/mod.ts";
import type { CompiledWorkflow } from "../workflow/compiler.ts";
import { formatDuration, printError, type Style } from "./terminal.ts";

/** A flow observer that prints `✓ id (type) elapsed` as each node ends. */
export function progressObserver(compiled: CompiledWorkflow, style: Style): FlowObserver {
  const starts = new Map<BaseNode, number>();
  return {
    nodeStart(node) {
      starts.set(node, performance.now());
    },
    nodeEnd(node, action, error) {
      const id = compiled.idOf(node) ?? "?";
      const type = compiled.nodes.get(id)?.type ?? "";
      const elapsed = formatDuration(performance.now() - (starts.get(node) ?? performance.now()));
      const failed = error !== undefined || action === "error";
      const mark = failed ? style.red("✗") : style.green("✓");
      printError(`  ${mark} ${id} ${style.dim(`(${type})`)} ${style.dim(elapsed)}`);
    },
  };
}
