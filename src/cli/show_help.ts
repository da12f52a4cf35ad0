/**
 * Showing a command's help. Asked for (`--help`), help is the command's
 * result: stdout, exit 0, and in JSON mode one JSON document like every
 * result. Shown in place of a missing subcommand, it is a usage error:
 * stderr, exit 2 (in JSON mode a one-line error, so stdout holds the error
 * document).
 * @module
 */
import { EXIT } from "./command.ts";
import { HELP } from "./help.ts";
import { printError, writeStdout } from "./terminal.ts";
import { UsageError } from "./usage_error.ts";

let jsonOutput = false;

/** Sets whether help asked for is written as a JSON document (the CLI entry's JSON mode). */
export function setHelpJson(on: boolean): void {
  jsonOutput = on;
}

/**
 * Shows the help of `topic` (a command, or `""` for the top level) and
 * returns the exit code: 0 when `asked` (the default), else 2.
 */
export function showHelp(topic: string, options: { asked?: boolean } = {}): number {
  const text = HELP[topic];
  if (options.asked ?? true) {
    writeStdout(jsonOutput ? `${JSON.stringify({ command: topic || null, help: text })}\n` : `${text}\n`);
    return EXIT.ok;
  }
  if (jsonOutput) throw new UsageError(`missing ${topic} command`, topic);
  printError(text, { multiline: true });
  return EXIT.usage;
}
