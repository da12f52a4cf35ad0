/**
 * Command-line parsing (`parseArgs` semantics, see flag_parser.ts): flags may
 * come before or after positionals; `key=value` params are typed.
 * @module
 */
import { FlagParseError, type FlagSpec, parseFlags } from "./flag_parser.ts";
import { UsageError } from "./usage_error.ts";
import { MAX_NESTING_DEPTH, nestingBeyond } from "../util/json_depth.ts";

export { UsageError };

/** Option definitions as parseArgs takes them. */
export type OptionSpec = FlagSpec;

/** Flags every command accepts. */
export const GLOBAL_OPTIONS: OptionSpec = {
  help: { type: "boolean", short: "h" },
  verbose: { type: "boolean", short: "v" },
  "output-format": { type: "string" },
  json: { type: "boolean" },
};

/** Parsed flags and positionals of one command. */
export interface Parsed {
  /** Flag values by long name. */
  values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  /** Positional arguments. */
  positionals: string[];
}

/** Parses `argv` against `options` + the global ones; unknown flags are usage errors. */
export function parseCommand(argv: string[], options: { command: string; flags: OptionSpec }): Parsed {
  try {
    const { values, positionals } = parseFlags(argv, { ...GLOBAL_OPTIONS, ...options.flags });
    const format = values["output-format"];
    if (format !== undefined && format !== "text" && format !== "json") {
      throw new UsageError(`--output-format must be 'text' or 'json', got '${format}'`, options.command);
    }
    return { values, positionals };
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(cleanParseError(error as Error), options.command);
  }
}

function cleanParseError(error: Error): string {
  if (!(error instanceof FlagParseError)) return error.message.split("\n")[0];
  switch (error.problem) {
    case "unknown":
      return `unknown flag '${error.flag}'`;
    case "missing_value":
      return `flag '${error.flag}' needs a value`;
    case "ambiguous_value":
      return `flag '${error.flag}' needs a value (one that starts with '-' is written --${error.longName}=-VALUE)`;
    case "unexpected_value":
      return `flag '${error.flag}' takes no value`;
  }
}

/**
 * Types a CLI value: `true`/`false`, numbers, JSON starting with `[` or `{`,
 * `null`; anything else is a string.
 */
export function typeValue(text: string, key: string): unknown {
  if (text === "true") return true;
  if (text === "false") return false;
  if (text === "null") return null;
  if (/^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/.test(text)) return Number(text);
  if (/^\s*[[{]/.test(text)) {
    if (nestingBeyond(text, MAX_NESTING_DEPTH) >= 0) {
      throw new UsageError(`param '${key}': JSON nested deeper than ${MAX_NESTING_DEPTH} levels`, "run");
    }
    try {
      return JSON.parse(text);
    } catch (error) {
      throw new UsageError(
        `param '${key}': value starts like JSON but does not parse (${
          (error as Error).message
        }); quote it differently or fix the JSON`,
        "run",
      );
    }
  }
  return text;
}

/** Splits `key=value` params into an object of typed values. */
export function parseParams(args: string[]): Record<string, unknown> {
  const params: Record<string, unknown> = {};
  for (const arg of args) {
    const eq = arg.indexOf("=");
    if (eq <= 0) throw new UsageError(`unexpected argument '${arg}': workflow params are written key=value`, "run");
    const key = arg.slice(0, eq);
    if (!/^[A-Za-z_][\w-]*$/.test(key)) {
      throw new UsageError(`invalid param name '${key}': use letters, digits, '_' and '-'`, "run");
    }
    params[key] = typeValue(arg.slice(eq + 1), key);
  }
  return params;
}
