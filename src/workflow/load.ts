/**
 * Reading a workflow file: JSON syntax (with line:column on errors) and the
 * JSON Schema (with the pointer of the bad field).
 * @module
 */
import { InvalidUtf8Error, readUtf8File, utf8Problem } from "../util/utf8.ts";
import { MAX_NESTING_DEPTH, nestingBeyond, TOO_DEEP } from "../util/json_depth.ts";
import { Validator } from "@cfworker/json-schema";
import schema from "./workflow.schema.json" with { type: "json" };
import { matchesWorkflowSchema } from "./workflow_schema_check.ts";
import { INPUT_TYPES, type WorkflowIR } from "./ir.ts";
import { didYouMean, nonFiniteNumberProblems, type Problem, ValidationError } from "./errors.ts";
import { fileErrorReason } from "../util/file_errors.ts";
import { duplicateKeys, lineColumn } from "../util/json_duplicates.ts";
import { isSecretName } from "../observability/secret_names.ts";
import { type LossyNumber, lossyNumberText, lossyValues, parseJsonNoting } from "../util/json_numbers.ts";
import { pointerSegment, segmentKey } from "../util/json_pointer.ts";

/** The published JSON Schema of workflow files. */
export const WORKFLOW_SCHEMA: Record<string, unknown> = schema;

/** A parsed workflow and where it came from. */
export interface LoadedWorkflow {
  /** The IR (with `problems`, as far as it matches the schema). */
  ir: WorkflowIR;
  /** Path as given, or a label like `saved:NAME`. */
  file: string;
  /** The source text (for mapping pointers to lines). */
  text: string;
  /**
   * Problems of a file read leniently (schema, duplicate keys), located:
   * reported together with static validation's, which checks what it can.
   */
  problems?: Problem[];
}

/**
 * Reads and checks a workflow file; unreadable files are validation errors.
 * `lenient`: schema and duplicate-key problems are returned in `problems`
 * instead of thrown (invalid JSON still throws).
 */
export async function loadWorkflowFile(path: string, options: { lenient?: boolean } = {}): Promise<LoadedWorkflow> {
  let text: string;
  try {
    text = await readUtf8File(path);
  } catch (error) {
    if (error instanceof InvalidUtf8Error) throw new ValidationError([utf8Problem(path, error)]);
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === "ENOENT"
      ? "file not found"
      : code === "EISDIR"
      ? "is a directory, not a workflow file"
      : fileErrorReason(error);
    throw new ValidationError([{ file: path, message: `cannot read workflow: ${why}` }]);
  }
  if (!options.lenient) return { ir: await parseWorkflow(text, { file: path }), file: path, text };
  const { data, problems } = await readWorkflowText(text, { file: path });
  return { ir: data as WorkflowIR, file: path, text, ...(problems.length > 0 ? { problems } : {}) };
}

/** Parses workflow JSON text and validates it against the schema (and for duplicate keys). */
export async function parseWorkflow(text: string, options: { file?: string } = {}): Promise<WorkflowIR> {
  const { data, problems } = await readWorkflowText(text, options);
  if (problems.length > 0) throw new ValidationError(problems);
  return data as WorkflowIR;
}

/**
 * Parses workflow JSON text (invalid JSON throws a located
 * {@link ValidationError}) and returns the data with its schema and
 * duplicate-key problems, located and in file order.
 */
export async function readWorkflowText(
  text: string,
  options: { file?: string } = {},
): Promise<{ data: unknown; problems: Problem[] }> {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1); // a byte-order mark
  const tooDeep = nestingBeyond(text, MAX_NESTING_DEPTH);
  if (tooDeep >= 0) {
    throw new ValidationError([{
      file: options.file,
      ...lineColumn(text, tooDeep),
      message: `${TOO_DEEP}; flatten the data ` +
        `(or read it from a file at run time)`,
    }]);
  }
  let data: unknown;
  let lossy: Problem[] = [];
  try {
    data = JSON.parse(text);
    // Parsed again, noting the numbers that changed value, only when a number of the data is what a long
    // number of the text (16+ digits: one regex test on plain text) reads as; digits inside strings are not.
    const values = lossyValues(text);
    if (values.size > 0 && holdsNumberOf(data, values)) {
      const noted = parseJsonNoting(text);
      lossy = lossyNumberProblems(noted.lossy, noted.count);
    }
  } catch {
    throw new ValidationError([await locateSyntaxError(text, options.file)]);
  }
  if (data === null || typeof data !== "object" || Array.isArray(data)) {
    // Not an object: nothing in it can be read (every command reads the workflow's fields), so this is all there is to say.
    const problems = schemaProblems(data);
    await addLines(problems, text);
    throw new ValidationError(problems.map((p) => ({ ...p, file: options.file })));
  }
  const problems = [...duplicateKeyProblems(text), ...lossy, ...schemaProblems(data)];
  if (problems.length > 0) {
    await addLines(problems, text);
    problems.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
  }
  return { data, problems: problems.map((p) => ({ ...p, file: options.file })) };
}

/**
 * A problem for each key that appears twice in one JSON object (JSON.parse
 * silently keeps the last), naming both places.
 */
export function duplicateKeyProblems(text: string): Problem[] {
  return duplicateKeys(text).map(({ key, pointer, first, second }) => {
    const a = lineColumn(text, first);
    const b = lineColumn(text, second);
    return {
      pointer,
      ...b,
      message: `duplicate key '${key}' at line ${a.line}:${a.column} and line ${b.line}:${b.column}; ` +
        "JSON keeps only the last one (remove or rename one)",
    };
  });
}

/**
 * A problem for each number written with more digits than a JSON number keeps (`1234567890123456789`
 * reads as `1234567890123456800`), as a `key=value` param with it is refused: the workflow would run with
 * another value than the file shows. Numbers too large to be finite are left to {@link schemaProblems}.
 */
function lossyNumberProblems(lossy: LossyNumber[], count: number): Problem[] {
  const finite = lossy.filter((n) => Number.isFinite(n.value));
  const problems: Problem[] = finite.map((n) => {
    // An input's default is checked against its type: a string default needs a string input.
    const input = n.path.length === 3 && n.path[0] === "inputs" && n.path[2] === "default";
    const declare = input ? ' and declare the input "type": "string"' : "";
    // Under a secret's name (an input's, or a key on the way) the number is not quoted, as for a param.
    const hidden = n.path.some((key) => typeof key === "string" && isSecretName(key));
    return {
      pointer: n.path.map(pointerSegment).join(""),
      message: hidden
        ? `a number here cannot be held exactly by a JSON number; write it as a string${declare} to keep every digit`
        : `${lossyNumberText(n)}; write it as a string ("${n.source}")${declare} to keep every digit, ` +
          `or write ${n.value}`,
    };
  });
  // Only the first few are located: the last one says how many more follow.
  const last = problems.at(-1);
  if (last !== undefined && count > lossy.length) {
    last.message += ` (and ${count - lossy.length} more numbers like it after this one)`;
  }
  return problems;
}

/** Whether `value` holds one of the numbers `values`. */
function holdsNumberOf(value: unknown, values: Set<number>): boolean {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === "number" && values.has(v)) return true;
    if (v !== null && typeof v === "object") { for (const item of Object.values(v)) stack.push(item); }
  }
  return false;
}

let validator: Validator | undefined;

/**
 * Schema problems of a parsed document, deepest first, one per field. The
 * check compiled at build time answers for a valid document; only an invalid
 * one builds the full validator, for its messages. A number that is not
 * finite (`1e400`) is a problem wherever it is, whatever the schema says
 * there (the full validator takes Infinity for an integer).
 */
export function schemaProblems(data: unknown): Problem[] {
  const infinite = nonFiniteNumberProblems(data);
  if (infinite.length === 0 && matchesWorkflowSchema(data)) return [];
  validator ??= new Validator(WORKFLOW_SCHEMA as never, "2020-12", false);
  const result = validator.validate(data);
  if (result.valid) return infinite;
  const seen = new Set<string>();
  const notFinite = new Set(infinite.map((p) => p.pointer));
  const problems: Problem[] = [...infinite];
  // A bad oneOf also reports each failed alternative: keep only the oneOf line.
  const oneOfPointers = new Set(
    result.errors.filter((e) => e.keyword === "oneOf").map((e) => e.instanceLocation),
  );
  for (const error of result.errors) {
    if (error.keyword !== "oneOf" && oneOfPointers.has(error.instanceLocation)) continue;
    const message = describeSchemaError(error.keyword, error.error, error.instanceLocation, data);
    if (message === undefined) continue;
    const pointer = pointerOf(error.instanceLocation, error.keyword, error.error);
    const key = `${pointer}|${message}`;
    if (seen.has(key) || notFinite.has(pointer)) continue;
    seen.add(key);
    problems.push({ pointer, message });
  }
  return problems;
}

const FIELDS: [RegExp, string[]][] = [
  [/^$/, [
    "ir_version",
    "name",
    "description",
    "nodes",
    "edges",
    "start_node",
    "inputs",
    "outputs",
    "enable_namespacing",
    "limits",
  ]],
  [/^\/limits$/, ["max_node_executions"]],
  [/^\/nodes\/\d+$/, ["id", "type", "params", "purpose", "batch"]],
  [/^\/nodes\/\d+\/batch$/, ["items", "as", "parallel", "max_concurrent", "error_handling"]],
  [/^\/edges\/\d+$/, ["from", "to", "action"]],
  [/^\/inputs\/[^/]+$/, ["type", "required", "default", "description", "stdin"]],
  [/^\/outputs\/[^/]+$/, ["source", "description"]],
];

function pointerOf(location: string, keyword: string, text: string): string {
  const pointer = location.replace(/^#/, "");
  if (keyword === "additionalProperties") {
    const name = /Property "([^"]*)"/.exec(text)?.[1];
    if (name !== undefined) return `${pointer}/${name}`;
  }
  return pointer;
}

function describeSchemaError(keyword: string, text: string, location: string, data: unknown): string | undefined {
  const pointer = location.replace(/^#/, "");
  switch (keyword) {
    case "additionalProperties": {
      const name = /Property "([^"]*)"/.exec(text)?.[1] ?? "?";
      const allowed = FIELDS.find(([re]) => re.test(pointer))?.[1];
      // Inputs and outputs take any name: the entry's own problem is reported deeper.
      if (allowed === undefined) return undefined;
      return `unknown field '${name}'${didYouMean(name, allowed)}; allowed: ${allowed.join(", ")}`;
    }
    case "required": {
      const name = /property "([^"]*)"/.exec(text)?.[1] ?? "?";
      return `missing required field '${name}'`;
    }
    case "type": {
      const m = /type "([^"]*)" is invalid\. Expected "([^"]*)"/.exec(text);
      return m ? `must be ${m[2]}, got ${m[1]}` : text;
    }
    case "pattern":
      if (pointer.endsWith("/ir_version")) return 'unsupported ir_version; this pflow reads 0.1.x (use "0.1.0")';
      return "must be a name: letters, digits, '_' and '-', starting with a letter or '_'";
    case "propertyNames":
      return undefined; // reported by the pattern error under it
    case "minItems":
      return pointer === "/nodes" ? "a workflow needs at least one node" : text;
    case "minLength":
      return "must not be empty";
    case "minimum":
    case "maximum":
      return `out of range: ${text}`;
    case "enum":
      if (/^\/inputs\/[^/]+\/type$/.test(pointer)) {
        const value = valueAt(data, pointer);
        const types = INPUT_TYPES;
        const shown = typeof value === "string" ? `'${value}'` : JSON.stringify(value);
        return `unknown type ${shown}${typeof value === "string" ? didYouMean(value, types) : ""}; types: ${
          types.join(", ")
        }`;
      }
      return `must be one of the allowed values (${text})`;
    case "const":
      return `must be one of the allowed values (${text})`;
    case "oneOf":
      return pointer.endsWith("/batch/items") ? 'must be a template string like "${node.list}" or an array' : text;
    case "properties":
    case "items":
    case "$ref":
    case "additionalItems":
    case "false":
    case "allOf":
      return undefined;
    default:
      return text;
  }
}

/** The value at a JSON pointer inside `data`, or undefined. */
function valueAt(data: unknown, pointer: string): unknown {
  let current = data;
  for (const raw of pointer.split("/").slice(1)) {
    const key = segmentKey(raw);
    if (current === null || typeof current !== "object" || !Object.hasOwn(current, key)) return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

/** Adds line:column to problems that have a pointer, using the source text. */
export async function addLines(problems: Problem[], text: string): Promise<void> {
  // Nothing to locate (the common case of a valid file): the parser is not even loaded.
  if (!problems.some((p) => p.line === undefined && p.pointer !== undefined)) return;
  const { parseTree, findNodeAtLocation } = await import("jsonc-parser");
  const tree = parseTree(text);
  if (tree === undefined) return;
  for (const problem of problems) {
    if (problem.line !== undefined || problem.pointer === undefined) continue; // located already, or not in the file
    const segments = (problem.pointer ?? "").split("/").slice(1)
      .map((s) => /^\d+$/.test(s) ? Number(s) : segmentKey(s));
    // For an unknown field, point at the key itself; otherwise at the value.
    let node = findNodeAtLocation(tree, segments);
    while (node === undefined && segments.length > 0) {
      segments.pop();
      node = findNodeAtLocation(tree, segments);
    }
    const target = node?.parent?.type === "property" ? node.parent : node;
    if (target !== undefined) Object.assign(problem, lineColumn(text, target.offset));
  }
}

/** The problem of text that is not valid JSON: what is wrong, at line:column. */
export async function locateSyntaxError(text: string, file?: string): Promise<Problem> {
  const { parse, printParseErrorCode } = await import("jsonc-parser");
  const errors: { error: number; offset: number; length: number }[] = [];
  parse(text, errors, { disallowComments: true, allowTrailingComma: false });
  const first = errors[0];
  if (text.trim() === "") return { file, message: "invalid JSON: the file is empty" };
  if (first === undefined) return { file, message: "invalid JSON" };
  const code = printParseErrorCode(first.error as never);
  const found = text.slice(first.offset, first.offset + Math.max(1, first.length)).slice(0, 20);
  const human = code.replace(/([a-z])([A-Z])/g, "$1 $2").toLowerCase();
  return {
    file,
    ...lineColumn(text, first.offset),
    message: `invalid JSON: ${human}${found ? ` near '${found}'` : " at end of file"}`,
  };
}
