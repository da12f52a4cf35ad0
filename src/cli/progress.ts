/**
 * Progress on stderr, shown only on a terminal: a live line for the node
 * that is running (its elapsed time, and `3/10` items for a batch), replaced
 * by `✓ id (type) elapsed` when it ends. Other stderr lines (warnings, logs)
 * print above the live line.
 * @module
 */
import type { BaseNode } from "../engine/mod.ts";
import type { CompiledWorkflow } from "../workflow/compiler.ts";
import type { ProgressObserver } from "../workflow/layers.ts";
import { formatDuration } from "./format.ts";
import { escapeControls, printError, setStatusLine, type Style } from "./terminal.ts";

/** How often the live line is redrawn. */
const TICK_MS = 100;
const SPINNER = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

/** A flow observer that shows the running node live and prints `✓ id (type) elapsed` as each node ends. */
export function progressObserver(compiled: CompiledWorkflow, style: Style): ProgressObserver {
  const starts = new Map<BaseNode, number>();
  let running: { label: string; started: number; items?: [number, number] } | undefined;
  let timer: ReturnType<typeof setInterval> | undefined;
  let frame = 0;
  const label = (node: BaseNode) => {
    const id = compiled.idOf(node) ?? "?";
    const type = compiled.nodes.get(id)?.type ?? "";
    // Ids and types are checked names, but never let data drive the terminal.
    return `${escapeControls(id, { keepNewlines: false })} ${style.dim(`(${type})`)}`;
  };
  const draw = () => {
    if (running === undefined) return;
    const elapsed = formatDuration(performance.now() - running.started);
    const items = running.items ? ` ${running.items[0]}/${running.items[1]}` : "";
    frame = (frame + 1) % SPINNER.length;
    setStatusLine(`  ${style.yellow(SPINNER[frame])} ${running.label} ${style.dim(elapsed)}${items}`);
  };
  return {
    nodeStart(node) {
      const started = performance.now();
      starts.set(node, started);
      running = { label: label(node), started };
      draw();
      timer ??= setInterval(draw, TICK_MS);
      // The redraw never keeps a finished run alive.
      (timer as { unref?: () => void }).unref?.();
    },
    batchItems(done, total) {
      if (running === undefined) return;
      running.items = [done, total];
      draw();
    },
    nodeEnd(node, action, error) {
      clearInterval(timer);
      timer = undefined;
      running = undefined;
      setStatusLine(undefined);
      const elapsed = formatDuration(performance.now() - (starts.get(node) ?? performance.now()));
      const failed = error !== undefined || action === "error";
      const mark = failed ? style.red("✗") : style.green("✓");
      printError(`  ${mark} ${label(node)} ${style.dim(elapsed)}`);
    },
  };
}
