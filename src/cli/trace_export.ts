/**
 * Placeholder, replaced by the real command.
 * @module
 */
import type { CommandEnv } from "./run_command.ts";
import { UsageError } from "./usage_error.ts";

/** Not built yet. */
export function traceExportCommand(_argv: string[], _env: CommandEnv): Promise<number> {
  return Promise.reject(new UsageError("not implemented yet", "trace"));
}
