/**
 * Bounded snapshots for traces: a copy of a value that keeps its structure
 * but never grows past fixed limits, however large the value is. Strings
 * keep their head and say how much was cut; binary data becomes
 * `<binary N bytes>`; large objects and arrays are truncated inside, not
 * replaced; secrets are redacted on the way.
 * @module
 */
import { isSecretName, MAX_LEARNED_CHARS, REDACTED, type Redactor } from "./redact.ts";

/** Limits of one snapshot. */
export interface SnapshotLimits {
  /** Max characters of one string. */
  maxString: number;
  /** Max items of one array / keys of one object. */
  maxItems?: number;
  /** Max nesting depth. */
  maxDepth?: number;
  /** Max values visited in all (bounds the work for huge values). */
  maxNodes?: number;
}

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
  const state = {
    maxItems: limits.maxItems ?? 100,
    maxDepth: limits.maxDepth ?? 8,
    budget: limits.maxNodes ?? 2000,
    seen: new WeakSet<object>(),
  };
  const learnLeaf = (v: unknown): void => {
    if (--state.budget < 0) return;
    if (typeof v === "string") {
      if (v.length <= MAX_LEARNED_CHARS && !v.includes("${")) redactor.add(v);
    } else if ((typeof v === "number" && Number.isFinite(v)) || typeof v === "bigint") {
      redactor.add(String(v));
    }
  };
  const learn = (v: unknown): void => {
    if (Array.isArray(v)) { for (const item of v.slice(0, state.maxItems)) learnLeaf(item); }
    else learnLeaf(v);
  };
  const copy = (v: unknown, depth: number, key?: string): unknown => {
    if (key !== undefined && isSecretName(key) && v !== null && v !== undefined && v !== "") {
      if (options.learnSecrets) learn(v);
      return REDACTED;
    }
    if (--state.budget < 0) return "…[not copied: value too large]";
    if (typeof v === "string") return truncateString(redactor.text(v), limits.maxString);
    if (v === null || typeof v !== "object") {
      if (typeof v === "function") return "[function]";
      if (typeof v === "bigint") return v.toString();
      return v;
    }
    if (v instanceof ArrayBuffer) return `<binary ${v.byteLength} bytes>`;
    if (ArrayBuffer.isView(v)) return `<binary ${v.byteLength} bytes>`;
    if (state.seen.has(v)) return "[circular]";
    if (depth >= state.maxDepth) return Array.isArray(v) ? `[array of ${v.length}]` : "[object]";
    state.seen.add(v);
    try {
      if (Array.isArray(v)) {
        const out = v.slice(0, state.maxItems).map((item) => copy(item, depth + 1));
        if (v.length > state.maxItems) out.push(`…[${v.length - state.maxItems} more items]`);
        return out;
      }
      if (v instanceof Date) return v.toISOString();
      const keys = Object.keys(v);
      // Entries, not assignments: a key named `__proto__` stays a plain key.
      const out = keys.slice(0, state.maxItems).map((k) => [k, copy((v as Record<string, unknown>)[k], depth + 1, k)]);
      if (keys.length > state.maxItems) out.push(["…", `[${keys.length - state.maxItems} more keys]`]);
      return Object.fromEntries(out);
    } finally {
      state.seen.delete(v);
    }
  };
  return copy(value, 0);
}
