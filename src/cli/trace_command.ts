/**
 * `pflow trace list|show|export|prune`: reading and pruning trace files.
 * @module
 */
import { showHelp } from "./show_help.ts";
import type { CommandEnv } from "./command.ts";
import { UsageError } from "./usage_error.ts";

/** Runs `pflow trace …`; returns the exit code. */
export async function traceCommand(argv: string[], env: CommandEnv): Promise<number> {
  const [action, ...rest] = argv;
  switch (action) {
    case "list":
      return await (await import("./trace_list.ts")).traceListCommand(rest, env);
    case "show":
      return await (await import("./trace_show.ts")).traceShowCommand(rest, env);
    case "export":
      return await (await import("./trace_export.ts")).traceExportCommand(rest, env);
    case "prune":
      return await (await import("./trace_prune.ts")).tracePruneCommand(rest, env);
    case undefined:
    case "-h":
    case "--help":
      return showHelp("trace", { asked: action !== undefined });
    default:
      throw new UsageError(`unknown trace command '${action}': use list, show, export or prune`, "trace");
  }
}
