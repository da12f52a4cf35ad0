/**
 * The `trace` object of `PFLOW_HOME/settings.json`: truncation limits
 * (characters), the file's size cap and how long traces are kept.
 *
 * ```json
 * {"trace": {"store_chars": 10000, "prompt_chars": 50000, "response_chars": 20000,
 *            "value_chars": 1000000, "max_bytes": 268435456, "keep_days": 30}}
 * ```
 * @module
 */
import type { TraceLimits } from "../observability/trace_format.ts";
import { DEFAULT_TRACE_LIMITS } from "../observability/trace_sink.ts";
import { ValidationError } from "../workflow/errors.ts";
import type { Settings } from "./home.ts";

/** What the settings ask of traces. */
export interface TraceSettings {
  /** Truncation limits and the size cap. */
  limits: TraceLimits;
  /** Remove traces older than this many days after a traced run (at most once a day); undefined: keep all. */
  keepDays: number | undefined;
}

/** Smallest `max_bytes`: room for a header and a few events. */
export const MIN_TRACE_BYTES = 4096;

const FIELDS: Record<string, { min: number; unit: string }> = {
  store_chars: { min: 100, unit: "characters" },
  prompt_chars: { min: 100, unit: "characters" },
  response_chars: { min: 100, unit: "characters" },
  max_bytes: { min: MIN_TRACE_BYTES, unit: "bytes" },
  value_chars: { min: 1000, unit: "characters" },
  keep_days: { min: 1, unit: "days" },
};

/**
 * Reads and checks `settings.trace` (`file` names settings.json in errors);
 * throws {@link ValidationError} for an unknown field or a bad value.
 */
export function traceSettings(settings: Settings, file: string): TraceSettings {
  const t = settings.trace as Record<string, unknown> | undefined;
  const limits = { ...DEFAULT_TRACE_LIMITS };
  if (t === undefined) return { limits, keepDays: undefined };
  if (t === null || typeof t !== "object" || Array.isArray(t)) {
    throw new ValidationError([{ file, pointer: "/trace", message: 'must be an object like {"keep_days": 30}' }]);
  }
  const problems = [];
  let keepDays: number | undefined;
  for (const [key, value] of Object.entries(t)) {
    const field = FIELDS[key];
    if (field === undefined) {
      problems.push({
        file,
        pointer: `/trace/${key}`,
        message: `unknown field; known: ${Object.keys(FIELDS).join(", ")}`,
      });
      continue;
    }
    if (!Number.isSafeInteger(value) || (value as number) < field.min) {
      problems.push({
        file,
        pointer: `/trace/${key}`,
        message: `must be a whole number of ${field.unit} (at least ${field.min}), got ${shownValue(value)}`,
      });
      continue;
    }
    if (key === "keep_days") keepDays = value as number;
    else limits[key as keyof TraceLimits] = value as number;
  }
  if (problems.length > 0) throw new ValidationError(problems);
  return { limits, keepDays };
}

/** A settings value as the user would recognise it: `1e400` parses to Infinity, which JSON would show as null. */
function shownValue(value: unknown): string {
  return typeof value === "number" && !Number.isFinite(value) ? `${value} (out of range)` : JSON.stringify(value);
}
