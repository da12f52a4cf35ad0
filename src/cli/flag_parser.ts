/**
 * The command-line flag parser: `node:util`'s `parseArgs` in strict mode with
 * positionals allowed, for boolean and string flags. Same results and the
 * same error codes (`tests/startup_test.ts` compares the two); written here
 * because loading `node:util` costs about a millisecond of every start-up on
 * Bun, more than all the rest of the parsing.
 * @module
 */
import type { ParseArgsConfig } from "node:util";

/** Flag definitions, as `parseArgs` takes them (`type` and `short` are read). */
export type FlagSpec = NonNullable<ParseArgsConfig["options"]>;

/** What {@link parseFlags} returns, as `parseArgs` does. */
export interface ParsedFlags {
  /** Flag values by long name (a null-prototype object). */
  values: Record<string, string | boolean | undefined>;
  /** Positional arguments, in order. */
  positionals: string[];
}

/** Why a flag was refused (`repeated` only with the `once` option). */
export type FlagProblem = "unknown" | "missing_value" | "ambiguous_value" | "unexpected_value" | "repeated";

/** A parse error carrying `parseArgs`'s error code, the flag as written and the problem. */
export class FlagParseError extends TypeError {
  /** `ERR_PARSE_ARGS_UNKNOWN_OPTION` or `ERR_PARSE_ARGS_INVALID_OPTION_VALUE`. */
  readonly code: string;
  /** The flag as written (`--bogus`, `-o`). */
  readonly flag: string;
  /** Its long name, when it is a known flag. */
  readonly longName: string | undefined;
  /** What is wrong with it. */
  readonly problem: FlagProblem;
  /**
   * @param problem what is wrong
   * @param flag the flag as written, and its long name when known
   * @param message parseArgs's wording
   */
  constructor(problem: FlagProblem, flag: { token: string; name?: string }, message: string) {
    super(message);
    this.problem = problem;
    this.flag = flag.token;
    this.longName = flag.name;
    this.code = problem === "unknown" ? "ERR_PARSE_ARGS_UNKNOWN_OPTION" : "ERR_PARSE_ARGS_INVALID_OPTION_VALUE";
  }
}

/** How {@link parseFlags} departs from parseArgs, when asked. */
export interface Parsing {
  /** A next argument like `-1` or `-.5` is a string flag's value (parseArgs calls it ambiguous). */
  negativeNumbers?: boolean;
  /** A string flag given twice is an error (parseArgs keeps the last value); a boolean may repeat. */
  once?: boolean;
}

/**
 * Parses `args` against `options`: `--name`, `--name=value`, `--name value`,
 * `-n`, `-n value`, `-nvalue`, groups of short booleans (`-hv`), `--` before
 * positionals that start with `-`. Unknown flags, a value for a boolean and a
 * missing value (or one that looks like a flag) are errors.
 */
export function parseFlags(
  args: readonly string[],
  options: FlagSpec,
  parsing: Parsing = {},
): ParsedFlags {
  const values: Record<string, string | boolean | undefined> = Object.create(null);
  const positionals: string[] = [];
  const byShort = new Map<string, string>();
  for (const [name, spec] of Object.entries(options)) if (spec.short !== undefined) byShort.set(spec.short, name);
  const queue = [...args];
  while (queue.length > 0) {
    const arg = queue.shift()!;
    if (arg === "--") {
      positionals.push(...queue);
      break;
    }
    if (arg.length < 2 || arg[0] !== "-") {
      positionals.push(arg);
      continue;
    }
    if (arg[1] !== "-") {
      const name = byShort.get(arg[1]) ?? arg[1];
      const isString = Object.hasOwn(options, name) && options[name].type === "string";
      if (arg.length > 2) {
        if (isString) {
          setString(values, { name, token: `-${arg[1]}`, value: arg.slice(2), once: parsing.once }); // -ovalue
          continue;
        }
        // A group: -abc is -a -b -c, and -abfFILE is -a -b -fFILE.
        const expanded: string[] = [];
        for (let i = 1; i < arg.length; i++) {
          const short = arg[i];
          const long = byShort.get(short) ?? short;
          if (!(Object.hasOwn(options, long) && options[long].type === "string") || i === arg.length - 1) {
            expanded.push(`-${short}`);
          } else {
            expanded.push(`-${arg.slice(i)}`);
            break;
          }
        }
        queue.unshift(...expanded);
        continue;
      }
      take(values, options, { name, token: arg, queue, ...parsing });
      continue;
    }
    const eq = arg.indexOf("=");
    if (eq > 2) {
      const name = arg.slice(2, eq);
      known(options, name, arg.slice(0, eq));
      if (options[name].type !== "string") {
        throw new FlagParseError(
          "unexpected_value",
          { token: `--${name}`, name },
          `Option '--${name}' does not take an argument`,
        );
      }
      setString(values, { name, token: `--${name}`, value: arg.slice(eq + 1), once: parsing.once });
      continue;
    }
    take(values, options, { name: arg.slice(2), token: arg, queue, ...parsing });
  }
  return { values, positionals };
}

/**
 * One flag given without `=`: true for a boolean, the next argument for a string. With `negativeNumbers`,
 * a next argument like `-1` or `-.5` is the value (`--max-budget-usd -1` reaches the flag's own check)
 * where parseArgs would call it ambiguous.
 */
function take(
  values: ParsedFlags["values"],
  options: FlagSpec,
  { name, token, queue, negativeNumbers, once }: { name: string; token: string; queue: string[] } & Parsing,
): void {
  known(options, name, token);
  if (options[name].type !== "string") {
    values[name] = true;
    return;
  }
  const value = queue[0];
  if (value === undefined) {
    throw new FlagParseError("missing_value", { token, name }, `Option '${token} <value>' argument missing`);
  }
  if (value.length > 1 && value[0] === "-" && !(negativeNumbers && /^-(?:\d|\.\d)/.test(value))) {
    throw new FlagParseError(
      "ambiguous_value",
      { token, name },
      `Option '${token}' argument is ambiguous. To specify an option argument starting with a dash use '${
        token.startsWith("--") ? `${token}=-XYZ` : `--${name}=-XYZ`
      }'.`,
    );
  }
  setString(values, { name, token, value: queue.shift()!, once });
}

/** A string flag's value; with `once`, a second one is an error rather than the last silently winning. */
function setString(
  values: ParsedFlags["values"],
  { name, token, value, once }: { name: string; token: string; value: string; once?: boolean },
): void {
  if (once && values[name] !== undefined) {
    throw new FlagParseError("repeated", { token, name }, `Option '${token}' given more than once`);
  }
  values[name] = value;
}

function known(options: FlagSpec, name: string, token: string): void {
  if (!Object.hasOwn(options, name)) {
    throw new FlagParseError("unknown", { token }, `Unknown option '${token}'`);
  }
}
