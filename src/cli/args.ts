/**
 * Command-line parsing (`parseArgs` semantics, see flag_parser.ts): flags may
 * come before or after positionals; `key=value` params are typed.
 * @module
 */
import { FlagParseError, type FlagSpec, parseFlags } from "./flag_parser.ts";
import { UsageError } from "./usage_error.ts";
import { siblingTaking } from "./subcommand_flags.ts";
import { didYouMean, type Problem } from "../workflow/errors.ts";
import { isSecretName } from "../observability/redact.ts";
import { type InputIR, RESERVED_NAME, reservedMessage } from "../workflow/ir.ts";
import { shownInputValue, typedInputText, untypedInputText } from "../workflow/input_text.ts";

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

/**
 * Parses `argv` against `options` + the global ones; unknown flags are usage
 * errors (naming the sibling subcommand that takes the flag, given `subcommand`).
 */
export function parseCommand(
  argv: string[],
  options: { command: string; subcommand?: string; flags: OptionSpec },
): Parsed {
  const spec = { ...GLOBAL_OPTIONS, ...options.flags };
  try {
    const { values, positionals } = parseFlags(argv, spec, { negativeNumbers: true, once: true });
    const format = values["output-format"];
    if (format !== undefined && format !== "text" && format !== "json") {
      throw new UsageError(`--output-format must be 'text' or 'json', got '${format}'`, options.command);
    }
    // Either one winning silently would print what the other did not ask for.
    if (values.json === true && format === "text") {
      throw new UsageError("--json contradicts --output-format text; give one of them", options.command);
    }
    return { values, positionals };
  } catch (error) {
    if (error instanceof UsageError) throw error;
    const flag = error instanceof FlagParseError && error.problem === "unknown" ? error.flag : undefined;
    const sibling = flag === undefined || options.subcommand === undefined
      ? undefined
      : siblingTaking(options.command, options.subcommand, flag);
    if (sibling !== undefined) {
      const here = `pflow ${options.command} ${options.subcommand}`;
      throw new UsageError(`'${flag}' is a flag of 'pflow ${sibling}', not of '${here}'`, options.command);
    }
    throw new UsageError(cleanParseError(error as Error, Object.keys(spec)), options.command);
  }
}

/**
 * The did-you-mean of an unknown long flag among the command's `known` ones: the one it is the start of
 * (`--max-budget` → `--max-budget-usd`), when only one is, else the closest spelling (`--nmae` → `--name`).
 */
function flagHint(flag: string, known: string[]): string {
  if (!flag.startsWith("--")) return ""; // a one-letter typo of a short flag is as close to every other one
  const longs = known.map((name) => `--${name}`);
  const extended = longs.filter((long) => long.startsWith(flag));
  return extended.length === 1 ? ` (did you mean '${extended[0]}'?)` : didYouMean(flag, longs);
}

/** How JSON mode was asked for (`--json` or `--output-format json`), or undefined in text mode. */
export function jsonFlag(values: Parsed["values"]): string | undefined {
  if (values.json === true) return "--json";
  if (values["output-format"] === "json") return "--output-format json";
  return undefined;
}

/**
 * Refuses JSON mode where a command's output is not a JSON document (a
 * script, an exposition, a server): a usage error naming the flag given and
 * `instead`, what to use. In JSON mode stdout holds one JSON document, so
 * printing text there would break it.
 */
export function refuseJson(values: Parsed["values"], command: string, instead: string): void {
  const flag = jsonFlag(values);
  if (flag === undefined) return;
  throw new UsageError(`${flag} is not supported by 'pflow ${command}': ${instead}`, command.split(" ")[0]);
}

/** Flags that take several values as one comma-separated list (`trace list` and `cost report --status`). */
const COMMA_LISTS = new Set(["status"]);

function cleanParseError(error: Error, known: string[]): string {
  if (!(error instanceof FlagParseError)) return error.message.split("\n")[0];
  switch (error.problem) {
    case "unknown":
      return `unknown flag '${error.flag}'${flagHint(error.flag, known)}`;
    case "missing_value":
      return `flag '${error.flag}' needs a value`;
    case "ambiguous_value":
      return `flag '${error.flag}' needs a value (one that starts with '-' is written --${error.longName}=-VALUE)`;
    case "unexpected_value":
      return `flag '${error.flag}' takes no value`;
    case "repeated":
      // The last would silently win (parseArgs's way): most likely a slip, or several values meant.
      return `flag '${error.flag}' given twice; give it once${
        error.longName !== undefined && COMMA_LISTS.has(error.longName)
          ? ` (several values comma-separated: --${error.longName} A,B)`
          : ""
      }`;
  }
}

/**
 * Splits `key=value` params into their texts (typed later by the workflow's
 * declared inputs: {@link typeParams}).
 */
export function parseParams(args: string[], command = "run"): Record<string, string> {
  const params: Record<string, string> = {};
  for (const arg of args) {
    const eq = arg.indexOf("=");
    if (eq <= 0) throw new UsageError(`unexpected argument '${arg}': workflow params are written key=value`, command);
    const key = arg.slice(0, eq);
    if (!/^[A-Za-z_][\w-]*$/.test(key)) {
      throw new UsageError(`invalid param name '${key}': use letters, digits, '_' and '-'`, command);
    }
    if (key === RESERVED_NAME) {
      throw new UsageError(`invalid param name '${key}': ${reservedMessage("a name")}`, command);
    }
    // The last would silently win: most likely a typo for another key.
    if (Object.hasOwn(params, key)) {
      throw new UsageError(`param '${key}' given twice; give each key=value once`, command);
    }
    params[key] = arg.slice(eq + 1);
  }
  return params;
}

/**
 * Types `key=value` texts by the workflow's declared inputs: a `string`
 * input takes the text as is (`title=123` is "123"), `number`, `integer`,
 * `boolean`, `object` and `array` inputs parse it as that type; untyped
 * (`any`) inputs and the keys of a workflow that declares no inputs follow
 * {@link untypedInputText}. A key that is not a declared input of a workflow that
 * declares inputs is a problem (with a did-you-mean), as is a text that does
 * not parse as its input's type (pointing at the input's declaration).
 */
export function typeParams(
  texts: Record<string, string>,
  inputs: Record<string, InputIR> | undefined,
): { values: Record<string, unknown>; problems: Problem[] } {
  const declared = inputs !== null && typeof inputs === "object" ? inputs : {};
  const names = Object.keys(declared);
  const values: Record<string, unknown> = {};
  const problems: Problem[] = [];
  for (const [key, text] of Object.entries(texts)) {
    if (!Object.hasOwn(declared, key) && names.length > 0) {
      problems.push({
        message: `'${key}=…' is not an input of this workflow${didYouMean(key, names)}; inputs: ${names.join(", ")}`,
      });
      continue;
    }
    const type = Object.hasOwn(declared, key) ? declared[key]?.type : undefined;
    const secret = isSecretName(key);
    const typed = type !== undefined && type !== "any"
      ? typedInputText(text, type, { secret })
      : untypedInputText(text, { secret });
    if (typed.ok) values[key] = typed.value;
    else {
      problems.push({
        ...(Object.hasOwn(declared, key) ? { pointer: `/inputs/${key}` } : {}),
        message: `input '${key}' ${typed.problem}, got ${shownInputValue(key, text, { json: false })} (from ${key}=…)`,
      });
    }
  }
  return { values, problems };
}
