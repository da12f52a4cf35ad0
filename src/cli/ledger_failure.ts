/**
 * How the commands that read the run ledger (`cost`, `metrics`) end on a
 * failure they can name.
 * @module
 */
import { ledgerQueryError } from "../ledger/db.ts";
import { ledgerFile } from "../ledger/paths.ts";
import { DateBoundError } from "../ledger/period.ts";
import { EXIT } from "./command.ts";
import { printError } from "./terminal.ts";
import { UsageError } from "./usage_error.ts";

/**
 * The exit code for `error` thrown while `command` read the ledger of
 * `home`: a query failing on a damaged (or read-only) ledger is one line
 * naming the file, as a failed open is, and a bad date bound a usage error;
 * anything else is rethrown.
 */
export function ledgerCommandFailure(error: unknown, options: { home: string; command: string }): number {
  const ledgerError = ledgerQueryError(error, ledgerFile(options.home));
  if (ledgerError !== undefined) {
    printError(`error: ${ledgerError.message}`);
    return EXIT.usage;
  }
  if (error instanceof DateBoundError) throw new UsageError(error.message, options.command);
  throw error;
}
