/**
 * Numbers that JSON text holds and a JavaScript number cannot: a whole
 * number beyond 2^53 (`1234567890123456789` reads as `1234567890123456800`),
 * more significant digits than a double keeps, or an exponent out of range.
 * `JSON.parse` changes them silently; {@link parseJsonNoting} says which.
 * @module
 */

/**
 * Whether two decimal numerals (`1.10`, `1e3`, `-0.5E-7`) have the same value: the text given and the
 * number it became, printed back, differ when the number could not keep all the digits.
 */
export function sameDecimal(a: string, b: string): boolean {
  return canonicalDecimal(a) === canonicalDecimal(b);
}

/** A decimal numeral as `sign digits e exponent`, with no leading or trailing zeros in its digits. */
function canonicalDecimal(text: string): string {
  const m = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(text);
  if (m === null) return text;
  const [, sign, whole, fraction = "", exponent = "0"] = m;
  const all = `${whole}${fraction}`;
  const lead = all.search(/[1-9]/);
  if (lead < 0) return "0";
  const digits = all.slice(lead).replace(/0+$/, "");
  // The value is 0.DIGITS × 10^power.
  const power = Number(exponent) + whole.length - lead;
  return `${sign === "-" ? "-" : ""}${digits}e${power}`;
}

/** A number of JSON text that reads as another value. */
export interface LossyNumber {
  /** Where it is in the parsed value: keys and indexes. */
  path: (string | number)[];
  /** The number as the text writes it. */
  source: string;
  /** What it reads as. */
  value: number;
}

/**
 * Text that may hold a number a double cannot keep: 16 or more digits in a
 * row (a `.` between them allowed), or a 3-digit exponent. Up to 15
 * significant digits always print back as written.
 */
const MAYBE_LOSSY = /\d[\d.]{15}|\d[eE][+-]?\d{3}/;

/** Most lossy numbers {@link parseJsonNoting} locates (`count` says how many there were). */
const MAX_NOTED = 10;

/**
 * `JSON.parse(text)` (throws as it does), with the numbers in the text that
 * the value does not hold exactly: the first few located, and how many in
 * all. Text without long digit runs costs one regex test more than
 * `JSON.parse`; text with them is parsed with a reviver that reads each
 * number's source.
 */
export function parseJsonNoting(text: string): { value: unknown; lossy: LossyNumber[]; count: number } {
  if (!MAYBE_LOSSY.test(text)) return { value: JSON.parse(text), lossy: [], count: 0 };
  const parents = new Map<object, [object, string]>();
  const found: { holder: object; key: string; source: string; value: number }[] = [];
  let count = 0;
  const value = JSON.parse(text, function (this: object, key: string, v: unknown, context?: { source?: string }) {
    if (v !== null && typeof v === "object") parents.set(v, [this, key]);
    else if (typeof v === "number" && context?.source !== undefined && !sameDecimal(context.source, String(v))) {
      if (count++ < MAX_NOTED) found.push({ holder: this, key, source: context.source, value: v });
    }
    return v;
  });
  const lossy = found.map(({ holder, key, source, value: v }) => {
    const path: (string | number)[] = [];
    let at: object | undefined = holder;
    let k = key;
    // The root's holder is the wrapper `{"": value}`, which has no parent.
    while (at !== undefined) {
      path.unshift(Array.isArray(at) ? Number(k) : k);
      const up = parents.get(at);
      if (up === undefined) break;
      [at, k] = up;
    }
    path.shift(); // the wrapper's "" key
    return { path, source, value: v };
  });
  return { value, lossy, count };
}

/**
 * Each number of `text` long enough for {@link MAYBE_LOSSY} (16 or more digits and dots, or a
 * 3-digit exponent), whole: the digits and dots from its first digit, then its exponent.
 */
const LONG_NUMBER = /-?\d[\d.]{15,}(?:[eE][+-]?\d+)?|-?\d+(?:\.\d+)?[eE][+-]?\d{3,}/g;

/**
 * The values the numbers of JSON text that {@link parseJsonNoting} would
 * note read as: a parsed number not among them is held exactly. One regex
 * pass, no parse; digits inside strings may add values (never remove one),
 * so a value found here is a reason to parse with the noting, not a finding.
 */
export function lossyValues(text: string): Set<number> {
  const values = new Set<number>();
  if (!MAYBE_LOSSY.test(text)) return values;
  for (const [source] of text.matchAll(LONG_NUMBER)) {
    const value = Number(source);
    const shown = String(value);
    if (shown !== source && !Number.isNaN(value) && !sameDecimal(source, shown)) values.add(value);
  }
  return values;
}

/** A path as `.key[0]["odd key"]`, to follow a value's name. */
export function formatJsonPath(path: readonly (string | number)[]): string {
  return path.map((p) =>
    typeof p === "number" ? `[${p}]` : /^[A-Za-z_][\w-]*$/.test(p) ? `.${p}` : `[${JSON.stringify(p)}]`
  ).join("");
}

/** What a lossy number reads as, in words: `1234567890123456789 cannot be held exactly …; it reads as …`. */
export function lossyNumberText(n: LossyNumber): string {
  return `${n.source} cannot be held exactly by a JSON number here; it reads as ${n.value}`;
}
