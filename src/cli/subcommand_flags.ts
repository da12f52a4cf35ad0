/**
 * Which flags each subcommand takes, where a command's subcommands take
 * different ones. Completion offers a subcommand only its own, and a flag
 * given to the wrong subcommand is refused with the one that takes it.
 * @module
 */

/**
 * The flags, beyond the global ones, of each subcommand (`command sub`) of a
 * command whose subcommands take different ones; a command's help documents
 * them all, each saying whose it is. A test checks this table against what
 * each subcommand accepts.
 */
export const SUBCOMMAND_FLAGS: Record<string, readonly string[]> = {
  "trace list": ["--limit", "--workflow", "--since", "--status"],
  "trace show": ["--node", "--state", "--html", "--output", "--open"],
  "trace export": ["--format", "--output"],
  "trace prune": ["--older-than", "--keep", "--dry-run"],
  "cost report": [
    "--by",
    "--breakdown",
    "--since",
    "--until",
    "--workflow",
    "--model",
    "--status",
    "--phase",
    "--timezone",
    "--top",
    "--format",
    "--output",
    "--reprice",
    "--price-table",
  ],
  "cost show": ["--timezone"],
  "workflow save": ["--name", "--description", "--force"],
  "workflow list": [],
  "workflow show": [],
  "workflow delete": [],
  "metrics serve": ["--listen"],
};

/**
 * The subcommand of `command` other than `sub` that takes the long flag
 * `flag` (`--keep` given to `trace list`: `trace prune`), if one does.
 */
export function siblingTaking(command: string, sub: string, flag: string): string | undefined {
  for (const [key, flags] of Object.entries(SUBCOMMAND_FLAGS)) {
    if (key !== `${command} ${sub}` && key.startsWith(`${command} `) && flags.includes(flag)) return key;
  }
  return undefined;
}
