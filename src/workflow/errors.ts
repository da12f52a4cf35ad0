/**
 * Errors of loading, validating and running workflows. Each prints as one
 * line that names where the problem is and what to do.
 * @module
 */
import { pointerSegment } from "../util/json_pointer.ts";

/** Where in a file a problem is. */
export interface Location {
  /** File path as the user gave it. */
  file?: string;
  /** JSON pointer of the bad field, e.g. `/nodes/1/type`. */
  pointer?: string;
  /** 1-based line. */
  line?: number;
  /** 1-based column. */
  column?: number;
}

/** One problem found before anything runs (exit code 2). */
export interface Problem extends Location {
  /** What is wrong and what to do, one line. */
  message: string;
}

/** Formats a problem as `file:line:col: /pointer: message`. */
export function formatProblem(problem: Problem): string {
  let where = problem.file ?? "";
  if (problem.line !== undefined) where += `${where ? ":" : "line "}${problem.line}:${problem.column ?? 1}`;
  const pointer = problem.pointer !== undefined && problem.pointer !== "" ? `${problem.pointer}: ` : "";
  return `${where ? `${where}: ` : ""}${pointer}${problem.message}`;
}

/**
 * A problem for every number in `value` that is not finite: JSON text like
 * `1e400` parses to Infinity, which no field can use and JSON cannot hold.
 * `pointer` is where `value` is in the document.
 */
export function nonFiniteNumberProblems(value: unknown, pointer = ""): Problem[] {
  const found: { at: string; value: number }[] = [];
  const walk = (v: unknown, at: string): void => {
    if (typeof v === "number") {
      if (!Number.isFinite(v)) found.push({ at, value: v });
    } else if (v !== null && typeof v === "object") {
      for (const [key, item] of Object.entries(v)) {
        walk(item, `${at}${pointerSegment(key)}`);
      }
    }
  };
  walk(value, pointer);
  // Each problem is located in the text: a file of 60,000 of them gets the first few and a count.
  const shown: Problem[] = found.slice(0, MAX_NUMBER_PROBLEMS).map(({ at, value }) => ({
    pointer: at,
    message: `number too large (it reads as ${value}, which JSON cannot hold)`,
  }));
  if (found.length > MAX_NUMBER_PROBLEMS) {
    shown.push({
      pointer: found[MAX_NUMBER_PROBLEMS].at,
      message: `and ${found.length - MAX_NUMBER_PROBLEMS} more numbers too large, from here on`,
    });
  }
  return shown;
}

/** The most numbers too large reported one by one. */
const MAX_NUMBER_PROBLEMS = 20;

/** `problems` without repeats (the same message at the same place), in order. */
export function uniqueProblems(problems: Problem[]): Problem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const key = `${p.pointer}|${p.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** `text` on one line: its line breaks written as the escapes `\n` and `\r` (as in JSON). */
function oneLine(text: string): string {
  return text.replace(
    /\r|\n|\u2028|\u2029/g,
    (c) => c === "\n" ? "\\n" : c === "\r" ? "\\r" : `\\u${c.charCodeAt(0).toString(16)}`,
  );
}

/** Static validation failed: the workflow never started (exit code 2). */
export class ValidationError extends Error {
  /** Every problem found, in file order. */
  readonly problems: Problem[];

  /**
   * @param problems at least one problem; the message has one line each (a
   * line break inside one, from a value such as a file name, shows as `\n`)
   */
  constructor(problems: Problem[]) {
    super(problems.map((problem) => oneLine(formatProblem(problem))).join("\n"));
    this.name = "ValidationError";
    this.problems = problems;
  }
}

/** A node failed while running (exit code 1). */
export class NodeFailedError extends Error {
  /** Id of the failing node. */
  readonly nodeId: string;
  /** Error class name of the cause, or `ErrorAction` for an `error` action. */
  readonly errorType: string;

  /**
   * @param nodeId the failing node
   * @param message what failed
   * @param options cause and error type
   */
  constructor(nodeId: string, message: string, options: { cause?: unknown; errorType?: string } = {}) {
    super(`node '${nodeId}' failed: ${message}`, { cause: options.cause });
    this.name = "NodeFailedError";
    this.nodeId = nodeId;
    this.errorType = options.errorType ?? "Error";
  }
}

/** An edge's end (or a start) naming no node: `unknown node 'x' (did you mean 'y'?); nodes: a, b`. */
export function unknownNodeMessage(id: string, ids: readonly string[]): string {
  return `unknown node '${id}'${didYouMean(id, ids)}; nodes: ${ids.join(", ")}`;
}

/**
 * Returns "did you mean X?" for the closest candidate within a small edit
 * distance, or an empty string.
 */
export function didYouMean(word: string, candidates: Iterable<string>): string {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const d = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  // Short words need a close match, or every two-letter typo "means" every id.
  const limit = word.length <= 3 ? 1 : Math.max(2, Math.floor(word.length / 3));
  return best !== undefined && bestDistance <= limit && bestDistance < word.length ? ` (did you mean '${best}'?)` : "";
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost);
    }
    previous = current;
  }
  return previous[b.length];
}
