/**
 * Bounded snapshots for traces: a copy of a value that keeps its structure
 * but never grows past fixed limits, however large the value is. Strings
 * keep their head and say how much was cut; binary data becomes
 * `<binary N bytes>`; large objects and arrays are truncated inside, not
 * replaced; a value nested past the depth limit, or past the size budget,
 * is a marker naming that limit; secrets are redacted on the way.
 * @module
 */
import { isSecretName, MAX_LEARNED_CHARS, REDACTED, type Redactor } from "./redact.ts";
import { MAX_NESTING_DEPTH } from "../util/json_depth.ts";

/** Limits of one snapshot. */
export interface SnapshotLimits {
  /** Max characters of one string. */
  maxString: number;
  /** Max items of one array / keys of one object. */
  maxItems?: number;
  /** Max nesting depth (default {@link MAX_NESTING_DEPTH}, as for JSON pflow reads and prints). */
  maxDepth?: number;
  /**
   * Max characters of JSON text the copy holds, about (default {@link DEFAULT_VALUE_CHARS}): bounds the
   * work and the size for huge values; a value is copied while some is left, so one string may go past it.
   */
  maxChars?: number;
}

/** Default {@link SnapshotLimits.maxChars}: the `trace.value_chars` setting's default. */
export const DEFAULT_VALUE_CHARS = 1_000_000;

/** Cuts a string to `max` characters, saying how much was cut. */
export function truncateString(text: string, max: number): string {
  if (text.length <= max) return text;
  return `${text.slice(0, max)}…[truncated ${text.length - max} chars]`;
}

/**
 * A bounded, redacted copy of `value`. With `learnSecrets`, a string or
 * number hidden because of its secret-looking name (`token`, `session`), or
 * a list of them, is learned by `redactor`, so it stays hidden wherever it
 * turns up next (a command that echoes it). Only such leaves up to
 * {@link MAX_LEARNED_CHARS} (not templates, not objects: `api_token: {type:
 * "string"}` declares an input), within the snapshot's budget.
 */
export function snapshot(
  value: unknown,
  limits: SnapshotLimits,
  redactor: Redactor,
  options: { learnSecrets?: boolean } = {},
): unknown {
  const maxItems = limits.maxItems ?? 100;
  const maxDepth = limits.maxDepth ?? MAX_NESTING_DEPTH;
  const maxChars = limits.maxChars ?? DEFAULT_VALUE_CHARS;
  // Characters left (JSON text, about): each value copied spends its text, each key its name and quotes.
  let budget = maxChars;
  const seen = new WeakSet<object>();
  const spent = (what: string) => `${what} not copied: past ${maxChars} characters (trace.value_chars)`;
  const tooDeep = (v: object) =>
    `[${Array.isArray(v) ? `array of ${v.length}` : "object"} nested deeper than ${maxDepth} levels]`;
  const learnLeaf = (v: unknown): void => {
    if (budget <= 0) return;
    if (typeof v === "string") {
      budget -= v.length;
      if (v.length <= MAX_LEARNED_CHARS && !v.includes("${")) redactor.add(v);
    } else if ((typeof v === "number" && Number.isFinite(v)) || typeof v === "bigint") {
      const text = String(v);
      budget -= text.length;
      redactor.add(text);
    }
  };
  const learn = (v: unknown): void => {
    if (Array.isArray(v)) { for (const item of v.slice(0, maxItems)) learnLeaf(item); }
    else learnLeaf(v);
  };
  const copy = (v: unknown, depth: number, key?: string): unknown => {
    if (key !== undefined && isSecretName(key) && v !== null && v !== undefined && v !== "") {
      if (options.learnSecrets) learn(v);
      budget -= REDACTED.length + 2;
      return REDACTED;
    }
    if (typeof v === "string") {
      const text = truncateString(redactor.text(v), limits.maxString);
      budget -= text.length + 2;
      return text;
    }
    if (v === null || typeof v !== "object") {
      if (typeof v === "function") return "[function]";
      const shown = typeof v === "bigint" ? v.toString() : v;
      budget -= typeof v === "number" ? String(v).length : typeof v === "boolean" ? 5 : 4;
      return shown;
    }
    if (v instanceof ArrayBuffer) return `<binary ${v.byteLength} bytes>`;
    if (ArrayBuffer.isView(v)) return `<binary ${v.byteLength} bytes>`;
    if (seen.has(v)) return "[circular]";
    if (depth >= maxDepth) return tooDeep(v);
    if (v instanceof Date) return v.toISOString();
    seen.add(v);
    budget -= 2;
    try {
      if (Array.isArray(v)) {
        const n = Math.min(v.length, maxItems);
        const out: unknown[] = [];
        for (let i = 0; i < n; i++) {
          if (budget <= 0) {
            out.push(`…[${spent(plural(v.length - i, "more item"))}]`);
            return out;
          }
          budget -= 1;
          out.push(copy(v[i], depth + 1));
        }
        if (v.length > maxItems) out.push(`…[${v.length - maxItems} more items]`);
        return out;
      }
      const keys = Object.keys(v);
      const n = Math.min(keys.length, maxItems);
      // Entries, not assignments: a key named `__proto__` stays a plain key.
      const out: [string, unknown][] = [];
      for (let i = 0; i < n; i++) {
        if (budget <= 0) {
          out.push(["…", `[${spent(plural(keys.length - i, "more key"))}]`]);
          return Object.fromEntries(out);
        }
        const k = keys[i];
        budget -= k.length + 4;
        out.push([k, copy((v as Record<string, unknown>)[k], depth + 1, k)]);
      }
      if (keys.length > maxItems) out.push(["…", `[${keys.length - maxItems} more keys]`]);
      return Object.fromEntries(out);
    } finally {
      seen.delete(v);
    }
  };
  return copy(value, 0);
}

/** `3 more items`, `1 more item`. */
function plural(count: number, what: string): string {
  return `${count} ${what}${count === 1 ? "" : "s"}`;
}
