/**
 * The usage error, apart from the parser so `pflow --version` loads no parser.
 * @module
 */

/** A usage error: wrong flags or arguments (exit code 2). */
export class UsageError extends Error {
  /** Command whose help to point at. */
  readonly command: string;

  /**
   * @param message one line
   * @param command command name for the help hint
   */
  constructor(message: string, command = "") {
    super(message);
    this.name = "UsageError";
    this.command = command;
  }
}
