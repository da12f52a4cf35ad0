/**
 * Redaction, always on: values under secret-looking names, the value of every
 * API key found in the environment and every secret learned during a run
 * become `[REDACTED]` wherever they would appear (traces, logs, errors, JSON
 * and text output, plan files, exports) — as written (also split over
 * lines), JSON-escaped (once or twice, `\u00e9` style too), with any of its
 * characters percent-encoded (either hex case, space as `+` too) or
 * JSON-escaped (`\/`, `\u0041`), whichever an encoder chose,
 * base64 (standard and URL-safe, at any byte alignment, line breaks allowed)
 * and hex (with or without separators between bytes: `od -tx1`, `xxd -i`,
 * `aa:bb`). URLs lose their userinfo password and the values of query
 * and fragment parameters whose names look secret (`?api_key=…`, `&sig=…`,
 * `#access_token=…`), and a
 * `Bearer` credential loses its token, in any text.
 * @module
 */
import { Buffer } from "node:buffer";
import { decodeUriComponentSafe, urlUserinfo } from "../util/uri.ts";
import { keyValueEntries } from "../util/key_value_list.ts";
import {
  isCredentialName,
  isCredentialUrlEnvName,
  isOtlpHeadersEnvName,
  isSecretEnvName,
  isSecretName,
} from "./secret_names.ts";

export { isCredentialName, isSecretName };

/** What replaces a secret. */
export const REDACTED = "[REDACTED]";

/** Longest value under a secret-looking name that is learned as a secret (a longer one is a document, not a credential). */
export const MAX_LEARNED_CHARS = 4_096;

/** Values visited at most to learn a result's credentials: a result of any size costs at most this. */
const CREDENTIAL_VISITS = 100_000;

/** A value without its credentials, and the credentials it held (see {@link redactCredentials}). */
export interface RedactedCredentials {
  /** The value with every credential replaced; what needs no change is shared, not copied. */
  value: unknown;
  /**
   * The strings and numbers that were under credential names, at most
   * `limit`, none longer than {@link MAX_LEARNED_CHARS}: what a run's result
   * teaches the output redactor, so a credential copied into another output
   * (`echo ${api.response.access_token}`) is hidden there too.
   */
  credentials: string[];
}

/** An array or object being walked by {@link redactCredentials}. */
interface Frame {
  source: unknown[] | Record<string, unknown>;
  /** An object's keys (an array is walked by index). */
  keys: string[] | undefined;
  /** The next entry to walk. */
  next: number;
  /** A copy, made when one of its entries changed. */
  copy?: unknown[] | Record<string, unknown>;
  /** Where it sits: its container and key there (none for the value itself). */
  parent?: Frame;
  key?: string | number;
}

/**
 * `value` (named `name`) with every non-empty value under a credential name
 * (see {@link isCredentialName}) replaced by `[REDACTED]`, at any depth (the
 * rest is shared, not copied), and the credentials it held: at most `limit`
 * (1,000 unless told; 0 learns none), learned from the first 100,000 values
 * visited. What a run prints as its result goes through this: one pass over
 * the value, whatever its size. A stack, not recursion: a value parsed at run
 * time can nest deeper than the call stack goes.
 */
export function redactCredentials(
  value: unknown,
  options: { name?: string; limit?: number } = {},
): RedactedCredentials {
  const limit = options.limit ?? 1000;
  const credentials: string[] = [];
  let visits = 0;
  /** Counts a value visited while learning; false once learning is over. */
  const visit = () => credentials.length < limit && ++visits <= CREDENTIAL_VISITS;
  /** Learns every string and number inside the value of a credential name, in order. */
  const learn = (secret: unknown): void => {
    const work = [secret];
    while (work.length > 0 && visit()) {
      const v = work.pop();
      if (typeof v === "string") {
        if (v !== "" && v.length <= MAX_LEARNED_CHARS) credentials.push(v);
      } else if (typeof v === "bigint" || (typeof v === "number" && Number.isFinite(v))) {
        credentials.push(String(v));
      } else if (Array.isArray(v) || isRecord(v)) {
        const items = Array.isArray(v) ? v : Object.values(v);
        for (let i = items.length - 1; i >= 0; i--) work.push(items[i]);
      }
    }
  };
  /** `v` hidden if `name` is a credential's (and learned), else undefined. */
  const hidden = (v: unknown, name: string | undefined): unknown => {
    if (name === undefined || v === null || v === undefined || v === "" || !isCredentialName(name)) return undefined;
    learn(v);
    // A list of credentials (set-cookie) stays a list, of hidden items.
    return Array.isArray(v) ? v.map((item) => item === null || item === "" ? item : REDACTED) : REDACTED;
  };
  const frame = (source: unknown[] | Record<string, unknown>, parent?: Frame, key?: string | number): Frame => ({
    source,
    keys: Array.isArray(source) ? undefined : Object.keys(source),
    next: 0,
    parent,
    key,
  });
  const set = (f: Frame, key: string | number, v: unknown): void => {
    f.copy ??= Array.isArray(f.source) ? [...f.source] : { ...f.source };
    (f.copy as Record<string | number, unknown>)[key] = v;
  };

  const top = hidden(value, options.name);
  if (top !== undefined) return { value: top, credentials };
  visit();
  if (!Array.isArray(value) && !isRecord(value)) return { value, credentials };
  const root = frame(value);
  const stack = [root];
  // The containers on the path walked, to refuse a value that contains itself (as JSON would).
  const path = new Set<object>([value]);
  while (stack.length > 0) {
    const f = stack[stack.length - 1];
    const length = f.keys === undefined ? (f.source as unknown[]).length : f.keys.length;
    if (f.next === length) {
      stack.pop();
      path.delete(f.source);
      if (f.copy !== undefined && f.parent !== undefined) set(f.parent, f.key!, f.copy);
      continue;
    }
    const key = f.keys === undefined ? f.next : f.keys[f.next];
    f.next++;
    const v = (f.source as Record<string | number, unknown>)[key];
    const replaced = hidden(v, typeof key === "string" ? key : undefined);
    if (replaced !== undefined) {
      set(f, key, replaced);
      continue;
    }
    visit();
    if (Array.isArray(v) || isRecord(v)) {
      if (path.has(v)) throw new TypeError("cannot redact a value that contains itself");
      path.add(v);
      stack.push(frame(v, f, key));
    }
  }
  return { value: root.copy ?? value, credentials };
}

/** An object that is neither an array nor binary data. */
function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v) && !ArrayBuffer.isView(v);
}

/** Shortest literal secret looked for (shorter values would redact ordinary words). */
const MIN_SECRET = 6;
/** Shortest encoded fragment looked for. */
const MIN_ENCODED = 8;

/** `scheme://user:password@` — the password part. */
const USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s:@/?#"'<>]*):([^\s@/?#"'<>]+)@/gi;
/**
 * `?name=value`, `&name=value` (also `;`, and `\u0026` as Go's JSON writes `&`) in a URL query, and
 * `#name=value` in a fragment (OAuth's `#access_token=`). A value ends where the URL does, at a JSON escape
 * (`\"`, `\n`, `\u0026`: the URL inside JSON text) and before a stray `?` that starts another parameter
 * (`?a=1?token=abc`); a `?` that does not is part of it.
 */
const QUERY_PARAM = new RegExp(
  String.raw`([?&;#]|\\u0026)([^=&#\s"'<>?;\\]+)=` +
    String.raw`((?:[^&#\s"'<>;?\\]|\\(?![\\"bfnrtu])|\?(?![^=&#\s"'<>?;\\]+=))*?)` +
    String.raw`(?=[:,.)]*(?:[&#\s"'<>;]|\?[^=&#\s"'<>?;\\]+=|\\[\\"bfnrtu]|$))`,
  "g",
);
/** `Bearer <credential>` (a credential has a digit; `Bearer ${token}` and prose are left alone). */
const BEARER = /\b([Bb]earer\s+)((?=[\w.~+/=-]*\d)[\w.~+/-]{8,}=*)/g;
/** What may stand between the bytes of a hex dump: spaces, `:`/`-`/`,`, and one line break. */
const HEX_SEPARATOR = String.raw`[ \t,:-]*(?:(?:\r?\n|\\r\\n|\\n)[ \t,:-]*)?`;
/** What may precede each byte of a hex dump: `0x` (`xxd -i`) or `\x` (as written or JSON-escaped). */
const HEX_PREFIX = String.raw`(?:0x|\\{1,2}x)?`;
/** Two hex bytes with a separator or prefix between them: the cheap test before the separated-hex patterns run. */
const SEPARATED_HEX = /[0-9a-f]{2}(?:[ \t,:-]|\r|\n|\\n|\\{1,2}x|0x)+[0-9a-f]{2}/i;
/** Line breaks a base64 or hex encoder inserts (raw, or JSON-escaped inside a JSON string). */
const BREAK = String.raw`(?:\r?\n|\\r\\n|\\n)?`;

/** An encoded form that may be wrapped over lines, with the cheap test that must pass first. */
interface WrappedForm {
  /** The form without line breaks. */
  form: string;
  /** Two fragments of which at least one appears unbroken in any wrapped occurrence. */
  probes: [string, string];
  /** Built when first needed. */
  pattern?: RegExp;
}

/** Everything looked for to hide one secret. */
interface SecretForms {
  /** Literal and encoded forms (none for a number). */
  forms: string[];
  /** A numeric secret as a whole number (see {@link Redactor.text}). */
  number?: { raw: string; pattern: RegExp };
  /** Forms matched across line breaks. */
  wrapped: WrappedForm[];
  /** The secret's bytes as hex, with separators allowed between them (pattern built when first needed). */
  hex: { bytes: string[]; pattern?: RegExp };
  /** The UTF-16 code units of its forms (built when first needed). */
  units?: Set<string>;
}

/**
 * Up to this many secrets every text is searched for each of them; past it
 * (a run that learned thousands of tokens) an index of each form's first
 * characters picks the few secrets that may be in a text, so redacting
 * stays linear in the text rather than in text × secrets.
 */
const SEARCH_ALL = 64;
/** Characters of a form's index key (every form is at least this long). */
const KEY = MIN_SECRET;
/** Hex digits of a separated-hex index key (the first {@link KEY} bytes of a secret). */
const HEX_KEY = 2 * KEY;
/** A stretch of text that a hex dump could lie in: hex digits, prefixes, separators and line breaks. */
const HEX_STRETCH = /(?:0x|\\{1,2}x|\\r\\n|\\n|[0-9a-f \t,:\r\n-])+/gi;

/** Replaces secrets in text and values. */
export class Redactor {
  /** Each secret's forms, in the order added. */
  #secrets: SecretForms[] = [];
  /** Every literal form, while there are at most {@link SEARCH_ALL} secrets. */
  #forms: string[] = [];
  /** Past {@link SEARCH_ALL} secrets: the secrets (indexes) with a form (or wrap probe) starting with each key. */
  #byKey = new Map<string, number[]>();
  /** Past {@link SEARCH_ALL} secrets: the secrets whose hex starts with each {@link HEX_KEY} digits. */
  #byHexKey = new Map<string, number[]>();
  /** Raw secrets already added. */
  #known = new Set<string>();
  /** Secrets added since the forms were last built (built when text is next redacted). */
  #pending: string[] = [];
  /** Secrets that are numbers (`password: 12345678`). */
  #numbers = new Set<string>();
  /** The length of the longest form. */
  #longest = 0;
  /** The UTF-16 code units of all forms. */
  #units = new Set<string>();

  /** What `base` hides, this hides too (see {@link Redactor.child}). */
  readonly #base: Redactor | undefined;

  /**
   * @param secrets literal values to hide (values shorter than 6 characters are ignored)
   * @param options `base`: a redactor whose secrets this one hides as well, now and as it learns more
   */
  constructor(secrets: Iterable<string> = [], options: { base?: Redactor } = {}) {
    this.#base = options.base;
    this.add(...secrets);
  }

  /**
   * A redactor that hides what this one hides, and what it learns itself
   * without teaching this one: a trace learns the values it hides by name
   * for its own later events, and stdout stays what it is without tracing.
   */
  child(): Redactor {
    return new Redactor([], { base: this });
  }

  /**
   * Adds literal secrets (e.g. the value of a param named `api_key`, or of an
   * `Authorization` header, and the credential after its `Bearer ` scheme),
   * with every encoded form of each.
   */
  add(...secrets: string[]): void {
    for (const secret of secrets) {
      const credential = /^(?:bearer|basic|token|bot)\s+(\S+)$/i.exec(secret.trim())?.[1];
      // A `${template}` credential is a placeholder that workflows and plans must keep, not a secret.
      for (const raw of credential && !credential.includes("${") ? [secret, credential] : [secret]) {
        if (raw.length < MIN_SECRET || this.#known.has(raw)) continue;
        this.#known.add(raw);
        this.#pending.push(raw);
      }
    }
  }

  /** Builds the forms of the secrets added since the last call (work in proportion to those alone). */
  #build(): void {
    const indexed = this.#secrets.length > SEARCH_ALL;
    for (const raw of this.#pending) {
      const secret: SecretForms = {
        forms: [],
        wrapped: [],
        hex: { bytes: Buffer.from(raw, "utf8").toString("hex").match(/../g)! },
      };
      if (NUMBER.test(raw)) {
        // A number is looked for as a whole number only: as a plain form it would cut into longer numbers.
        secret.number = { raw, pattern: numberPattern(raw) };
        this.#numbers.add(raw);
      } else {
        secret.forms.push(...literalForms(raw));
        // As written and JSON-escaped, split over lines (`fold`, a wrapped log line).
        for (const form of new Set([raw, jsonEscaped(raw)])) {
          if (form.length > 2 * MIN_ENCODED) secret.wrapped.push(wrappedForm(form));
        }
      }
      for (const form of encodedForms(raw)) {
        secret.forms.push(form);
        if (form.length > 2 * MIN_ENCODED) secret.wrapped.push(wrappedForm(form));
      }
      secret.forms = [...new Set(secret.forms)];
      for (const form of secret.forms) this.#longest = Math.max(this.#longest, form.length);
      for (const unit of codeUnits(secret.forms)) this.#units.add(unit);
      this.#secrets.push(secret);
      if (indexed) this.#index(this.#secrets.length - 1);
    }
    this.#pending = [];
    if (!indexed && this.#secrets.length > SEARCH_ALL) {
      this.#forms = [];
      for (let i = 0; i < this.#secrets.length; i++) this.#index(i);
    } else if (!indexed) {
      this.#forms = [...new Set(this.#secrets.flatMap((s) => s.forms))];
    }
  }

  /** Adds secret `i` to the index: each form's, wrap probe's and number's first characters, and its hex. */
  #index(i: number): void {
    const secret = this.#secrets[i];
    const keys = new Set<string>();
    for (const form of secret.forms) keys.add(form.slice(0, KEY));
    for (const w of secret.wrapped) for (const probe of w.probes) keys.add(probe.slice(0, KEY));
    if (secret.number) keys.add(secret.number.raw.slice(0, KEY));
    for (const key of keys) push(this.#byKey, key, i);
    push(this.#byHexKey, secret.hex.bytes.slice(0, KEY).join(""), i);
  }

  /**
   * The secrets that may occur in `text`: some form's first characters (or,
   * unless `hex` is false, the start of its hex) are in it.
   */
  #candidates(text: string, hex = true): SecretForms[] {
    const found = new Set<number>();
    for (let i = 0; i + KEY <= text.length; i++) {
      const ids = this.#byKey.get(text.slice(i, i + KEY));
      if (ids !== undefined) { for (const id of ids) found.add(id); }
    }
    if (hex && SEPARATED_HEX.test(text)) {
      for (const [stretch] of text.matchAll(HEX_STRETCH)) {
        if (stretch.length < HEX_KEY) continue;
        const digits = stretch.toLowerCase().replace(/0x|\\+x|\\r|\\n/g, "").replace(/[^0-9a-f]/g, "");
        for (let i = 0; i + HEX_KEY <= digits.length; i++) {
          const ids = this.#byHexKey.get(digits.slice(i, i + HEX_KEY));
          if (ids !== undefined) { for (const id of ids) found.add(id); }
        }
      }
    }
    return [...found].sort((a, b) => a - b).map((i) => this.#secrets[i]);
  }

  /**
   * Adds every string and number found under a secret-looking name inside
   * `value` (named `name` itself): everything inside an object or list under
   * such a name is secret (`credentials: {user, key}`), elsewhere each key
   * decides; and the passwords and secret query values of the URLs in any
   * string. With `templates` (a workflow's params as written), a string
   * holding `${` is a template, not a secret: its value is learned once it
   * resolves (`Bearer ${token}` must not make the text `${token}` secret).
   */
  learn(value: unknown, name?: string, options: { templates?: boolean } = {}): void {
    // A stack, not recursion: a value parsed at run time can nest deeper than the call stack goes.
    const work: [unknown, string | undefined][] = [[value, name]];
    while (work.length > 0) {
      const [v, n] = work.pop()!;
      const secret = n !== undefined && isSecretName(n);
      // Names that are often data (`sort_key`, `session`, `sig`, `auth`) hold a secret only when the value
      // looks like one: `created_at` under `sort_key` is not hidden wherever it appears.
      const credential = secret && isCredentialName(n!);
      if (typeof v === "string") {
        if (options.templates && v.includes("${")) continue;
        if (credential || (secret && looksLikeCredential(v))) this.add(v);
        else if (v.includes("://") || v.includes("=")) this.add(...urlSecrets(v));
      } else if (typeof v === "number" || typeof v === "bigint") {
        if (credential && (typeof v === "bigint" || Number.isFinite(v))) this.add(String(v));
      } else if (Array.isArray(v)) {
        for (const item of v) work.push([item, n]);
      } else if (v !== null && typeof v === "object" && !ArrayBuffer.isView(v)) {
        for (const [k, item] of Object.entries(v)) work.push([item, secret ? n : k]);
      }
    }
  }

  #isSecretNumber(value: number | bigint): boolean {
    if (this.#pending.length > 0) this.#build();
    return this.#numbers.has(String(value)) || (this.#base !== undefined && this.#base.#isSecretNumber(value));
  }

  /**
   * A redactor for the values of secret environment variables: every
   * `*_API_KEY`, `*_TOKEN`, `*_SECRET`, `*_PASSWORD` variable, plus `names`
   * (e.g. configured providers' `api_key_env`), and each secret header value
   * of the OTLP exporters' header lists (`OTEL_EXPORTER_OTLP_HEADERS`,
   * `…_TRACES_HEADERS`, `…_METRICS_HEADERS`, `…_LOGS_HEADERS`; see
   * {@link headerListValues}), as written and percent-decoded, and the
   * userinfo of the exports' URLs
   * (`PFLOW_PUSHGATEWAY_URL`, `OTEL_EXPORTER_OTLP_*ENDPOINT`, see
   * {@link urlCredentials}).
   */
  static fromEnv(env: Record<string, string | undefined>, names: Iterable<string> = []): Redactor {
    const wanted = new Set(names);
    const values: string[] = [];
    for (const [name, value] of Object.entries(env)) {
      if (!value) continue;
      if (wanted.has(name) || isSecretEnvName(name)) values.push(value);
      else if (isOtlpHeadersEnvName(name)) values.push(...headerListValues(value));
      else if (isCredentialUrlEnvName(name)) values.push(...urlCredentials(value));
    }
    return new Redactor(values);
  }

  /** Whether there is any literal secret to look for (URL passwords and secret query values are always hidden). */
  get active(): boolean {
    return this.#known.size > 0 || (this.#base?.active ?? false);
  }

  /** `text` with every secret replaced. */
  text(text: string): string {
    // Every redactor in the chain looks for its secrets in the text as given and what any of them finds is
    // replaced at once: a secret that holds or overlaps another (a child's that holds its base's, or the other
    // way round) is hidden whole. URLs and `Bearer` credentials after that, once: hidden first, they would cut a
    // known secret (`Bearer key:tail` loses `key` alone and `:tail` stays), and a secret hidden can make a match
    // (`…111111bearer x1` is `[REDACTED]bearer x1` once the key before the word is hidden).
    const cuts: Cut[] = [];
    const chain: Redactor[] = [];
    if (this.#known.size > 0) chain.push(this);
    for (let r = this.#base; r !== undefined; r = r.#base) if (r.#known.size > 0) chain.push(r);
    for (const r of chain) r.#find(text, cuts);
    if (chain.length > 0 && mayHoldEscapes(text)) Redactor.#findEscaped(text, chain, cuts);
    // A `Basic` credential is hidden whole, also where a known password hid a part of its base64.
    findBasic(text, cuts);
    return redactUrls(cuts.length === 0 ? text : replaceCuts(text, cuts));
  }

  /**
   * Adds to `cuts` where the forms of the secrets of `chain` are in `text`
   * written with some of their characters escaped, whichever: percent-encoded
   * (any encoder's choice of characters, either case of hex: `%2a` from curl,
   * `/` kept by Python's `quote`) or JSON-escaped (`\/` from PHP, `\u0041`
   * for any character), once or twice over. The text is decoded (again when
   * what it decodes to still holds escapes) and the forms are looked for
   * around the escapes (all of it where they are dense); what a form found
   * there was decoded from is replaced.
   */
  static #findEscaped(text: string, chain: Redactor[], cuts: Cut[]): void {
    const once = unescapeText(text);
    if (once === undefined) return;
    const twice = mayHoldEscapes(once.text) ? unescapeText(once.text) : undefined;
    const decoded = twice?.text ?? once.text;
    const longest = Math.max(...chain.map((r) => r.#longest));
    // Around each escape, as far as a form reaches; the whole text when escapes are dense (or decoded twice).
    const windows = twice === undefined ? once.around(longest) : [{ from: 0, to: decoded.length }];
    for (const { from, to, decodes } of windows) {
      const window = to - from === decoded.length ? decoded : decoded.slice(from, to);
      // A form found here that no escape here decodes a character of was found as written already.
      const escapes = (form: string) => decodes === undefined || decodes.some((c) => form.includes(c));
      for (const r of chain) {
        if (decodes !== undefined && !decodes.some((c) => r.#units.has(c))) continue;
        const secrets = r.#secrets.length <= SEARCH_ALL ? r.#secrets : r.#candidates(window, false);
        for (const secret of secrets) {
          const units = secret.units ??= codeUnits(secret.forms);
          if (decodes !== undefined && !decodes.some((c) => units.has(c))) continue;
          for (const form of secret.forms) {
            if (!escapes(form)) continue;
            for (let at = window.indexOf(form); at !== -1; at = window.indexOf(form, at + form.length)) {
              let start = from + at;
              let end = start + form.length;
              if (twice !== undefined) [start, end] = [twice.start(start), twice.end(end)];
              cuts.push([once.start(start), once.end(end), REDACTED]);
            }
          }
        }
      }
    }
  }

  /** Adds to `cuts` where this redactor's own secrets are in `text` (not its base's). */
  #find(text: string, cuts: Cut[]): void {
    if (this.#pending.length > 0) this.#build();
    const all = this.#secrets.length <= SEARCH_ALL;
    const secrets = all ? this.#secrets : this.#candidates(text);
    const forms = all ? this.#forms : [...new Set(secrets.flatMap((s) => s.forms))];
    for (const form of forms) {
      for (let at = text.indexOf(form); at !== -1; at = text.indexOf(form, at + form.length)) {
        cuts.push([at, at + form.length, REDACTED]);
      }
    }
    for (const { number } of secrets) {
      if (number !== undefined && text.includes(number.raw)) {
        for (const m of text.matchAll(number.pattern)) {
          cuts.push([m.index, m.index + m[0].length, redactedNumber(text, m[0], m.index)]);
        }
      }
    }
    if (text.includes("\n") || text.includes("\\n")) {
      for (const { wrapped } of secrets) {
        for (const form of wrapped) {
          if (text.includes(form.probes[0]) || text.includes(form.probes[1])) {
            const pattern = form.pattern ??= wrappedPattern(form.form);
            for (const m of text.matchAll(pattern)) cuts.push([m.index, m.index + m[0].length, REDACTED]);
          }
        }
      }
    }
    if (secrets.length > 0 && SEPARATED_HEX.test(text)) {
      for (const { hex } of secrets) {
        const pattern = hex.pattern ??= separatedHexPattern(hex.bytes);
        for (const m of text.matchAll(pattern)) cuts.push([m.index, m.index + m[0].length, REDACTED]);
      }
    }
  }

  /**
   * A copy of `value` with secret-named keys and literal secrets redacted
   * (strings anywhere inside; objects and arrays copied).
   */
  value(value: unknown, name?: string): unknown {
    if (name !== undefined && isSecretName(name) && value !== null && value !== undefined && value !== "") {
      return REDACTED;
    }
    if (typeof value === "string") return this.text(value);
    if ((typeof value === "number" || typeof value === "bigint") && this.#isSecretNumber(value)) return REDACTED;
    if (Array.isArray(value)) return value.map((v) => this.value(v));
    if (value !== null && typeof value === "object" && !ArrayBuffer.isView(value)) {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.value(v, k)]));
    }
    return value;
  }
}

/**
 * `text` with URL passwords, the values of secret-named query parameters and
 * `Bearer` credentials replaced.
 */
export function redactUrls(text: string): string {
  let out = text;
  if (out.includes("earer")) {
    out = out.replace(BEARER, `$1${REDACTED}`);
  }
  if (out.includes("://") && out.includes("@")) {
    out = out.replace(USERINFO, (whole, scheme: string, user: string, password: string) => {
      // A template (`${pw}`) is not a secret yet: workflows and plans must keep it.
      return password === REDACTED || password.includes("${") ? whole : `${scheme}${user}:${REDACTED}@`;
    });
  }
  if (
    out.includes("=") &&
    (out.includes("?") || out.includes("&") || out.includes(";") || out.includes("#") || out.includes("\\u0026"))
  ) {
    out = redactQuery(out);
  }
  return out;
}

/**
 * `Basic <base64>` (RFC 7617), the scheme in any case and one space after
 * it, as a header has it: the value, a whole base64 word (standard or
 * URL-safe), is a credential when it decodes to `user:password` text (prose,
 * `basic settings`, does not; nor a table's `basic<TAB>eyJtYXgiOjEwfQ==`).
 */
const BASIC = /\b(basic )([A-Za-z0-9+/_-]{4,}={0,2})(?![\w+/=-])/gi;

/** Adds to `cuts` the value of every `Basic` credential in `text`. */
function findBasic(text: string, cuts: Cut[]): void {
  if (!text.includes("asic") && !text.includes("ASIC")) return;
  for (const m of text.matchAll(BASIC)) {
    if (isUserPassword(m[2])) cuts.push([m.index + m[1].length, m.index + m[0].length, REDACTED]);
  }
}

/**
 * Whether base64 (standard or URL-safe) decodes to `user:password`: UTF-8 text without control characters,
 * whose user-id (before the first `:`) has no whitespace, quotes, braces, brackets or commas, as data
 * decoded from base64 has (`{"max":10}`); the user-id is not empty, unless what follows is a token without
 * whitespace (`:<token>`, as Azure DevOps takes a personal access token).
 */
function isUserPassword(base64: string): boolean {
  const bytes = Buffer.from(base64.replaceAll("-", "+").replaceAll("_", "/"), "base64");
  let decoded: string;
  try {
    decoded = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return false;
  }
  const colon = decoded.indexOf(":");
  if (colon < 0) return false;
  for (let i = 0; i < decoded.length; i++) {
    const code = decoded.charCodeAt(i);
    if (code < 0x20 || (code >= 0x7f && code <= 0x9f)) return false;
  }
  const user = decoded.slice(0, colon);
  if (user === "") return decoded.length > MIN_SECRET && !/\s/.test(decoded);
  return !/[\s"'`{}[\],]/.test(user);
}

/**
 * A JSON member (`"name": value`, in JSON text or text quoting JSON) with
 * a string or number value; a string cut off at the end of the text counts.
 */
const JSON_MEMBER =
  /"((?:[^"\\\n]|\\.){1,200})"(\s*:\s*)("(?:[^"\\]|\\.)*(?:"|$)|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?(?![\w.]))/g;

/**
 * One character of a JSON string as it reads inside another JSON string
 * (JSON quoted as a string: `"upstream said: {\"token\": \"…\"}"`): a plain
 * character, an escaped escape (`\\\"`, `\\\\`, `\\n`), or an escape of the outer string
 * (`\n`, `\u0041`); an escaped quote (`\"`) ends it.
 */
const ESCAPED_CHAR = String.raw`(?:[^"\\]|\\\\(?:\\.|[^"\\])|\\[^"\\])`;

/** A JSON member quoted inside a JSON string (`\"name\": \"value\"`), as {@link JSON_MEMBER} for that text. */
const ESCAPED_MEMBER = new RegExp(
  String.raw`(?<!\\)\\"((?:(?!\n)${ESCAPED_CHAR}){1,200}?)\\"(\s*:\s*)` +
    String.raw`(\\"${ESCAPED_CHAR}*(?:\\"|\\?$)|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?(?![\w.]))`,
  "g",
);

/** `text` decoded as the inside of a JSON string (undefined when it is not one). */
function unquoted(text: string): string | undefined {
  try {
    const value = JSON.parse(`"${text}"`);
    return typeof value === "string" ? value : undefined;
  } catch {
    return undefined;
  }
}

/**
 * `text` (JSON, or text quoting some: an error page, a body cut short) with
 * the value of every member under a credential name (see
 * {@link isCredentialName}) replaced by `"[REDACTED]"`, also a member of
 * JSON quoted as a string in it (`\"password\": \"[REDACTED]\"`), and the
 * credentials it held (whole strings and numbers; one cut off is hidden,
 * not learned). What {@link redactCredentials} does for a parsed value, for
 * text.
 */
export function redactCredentialMembers(text: string): { text: string; credentials: string[] } {
  const credentials: string[] = [];
  if (!text.includes('"')) return { text, credentials };
  const learn = (value: string | undefined) => {
    if (value === undefined) return;
    if (!value.startsWith('"')) credentials.push(value);
    else if (value.length > 1 && value.endsWith('"')) {
      try {
        const secret = JSON.parse(value);
        if (typeof secret === "string" && secret.length <= MAX_LEARNED_CHARS) credentials.push(secret);
      } catch { /* not a JSON string after all: hidden, not learned */ }
    }
  };
  let out = text.replace(JSON_MEMBER, (whole, name: string, colon: string, value: string) => {
    const key = unquoted(name) ?? name;
    if (!isCredentialName(key) || value === '""' || value === `"${REDACTED}"`) return whole;
    learn(value);
    return `"${name}"${colon}"${REDACTED}"`;
  });
  if (out.includes('\\"')) {
    out = out.replace(ESCAPED_MEMBER, (whole, name: string, colon: string, value: string) => {
      const inner = unquoted(name);
      const key = (inner === undefined ? undefined : unquoted(inner)) ?? inner ?? name;
      if (!isCredentialName(key) || value === '\\"\\"' || value === `\\"${REDACTED}\\"`) return whole;
      // The value as the inner JSON has it (`"…"` or a number), when the outer escapes decode.
      learn(unquoted(value));
      return `\\"${name}\\"${colon}\\"${REDACTED}\\"`;
    });
  }
  return { text: out, credentials };
}

/** `text` with the values of its secret-named query (and fragment) parameters replaced. */
function redactQuery(text: string): string {
  return text.replace(QUERY_PARAM, (whole, sep: string, name: string, value: string) => {
    return value === "" || value === REDACTED || value.includes("${") || !isSecretName(decodeUriComponentSafe(name))
      ? whole
      : `${sep}${name}=${REDACTED}`;
  });
}

/**
 * The credentials in a URL's userinfo, as written and percent-decoded: the password and `user:password` (what
 * a client sends as Basic auth, base64-encoded: known whole, it is hidden whole), or a user name given without
 * password when it looks like a token sent as the user (see {@link looksLikeCredential}), not a name
 * (`http://grafana@host`). A value whose scheme is missing or mistyped has them too (`bob:pw@host:4318`,
 * `http//bob:pw@host`: see {@link urlUserinfo}). None for text without userinfo.
 */
export function urlCredentials(url: string | undefined): string[] {
  if (url === undefined) return [];
  const { username, password } = urlUserinfo(url.trim());
  const decode = decodeUriComponentSafe;
  if (password === "") return [username, decode(username)].filter(looksLikeCredential);
  return [password, decode(password), `${username}:${password}`, `${decode(username)}:${decode(password)}`];
}

/**
 * The secret values of an OTel `key=value,key2=value2` header list, trimmed, as written and percent-decoded
 * (the spec allows either): a value under a secret name (`api-key`, `Authorization`: an
 * `Authorization=Basic%20…` value is added decoded too, so its credential is known), or one that looks like
 * a credential (`x-honeycomb-team=…`, see {@link looksLikeCredential}); not `x-honeycomb-dataset=production`
 * or `Content-Type=application/json`.
 */
function headerListValues(list: string): string[] {
  const values: string[] = [];
  for (const { key, value } of keyValueEntries(list)) {
    if (value === "") continue;
    const decoded = decodeUriComponentSafe(value);
    const secret = isSecretName(key) || isSecretName(decodeUriComponentSafe(key)) || looksLikeCredential(value) ||
      looksLikeCredential(decoded);
    if (secret) values.push(value, decoded);
  }
  return values;
}

/** The userinfo passwords and secret-named query values of the URLs in `text`, decoded and as written. */
function urlSecrets(text: string): string[] {
  const found: string[] = [];
  for (const m of text.matchAll(USERINFO)) found.push(m[3], decodeUriComponentSafe(m[3]));
  for (const m of text.matchAll(QUERY_PARAM)) {
    if (m[3] !== "" && isSecretName(decodeUriComponentSafe(m[2]))) {
      found.push(m[3], decodeUriComponentSafe(m[3].replaceAll("+", " ")));
    }
  }
  return found;
}

/** A secret that is a number as written (`12345678`, `-3.25e7`). */
const NUMBER = /^-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

/** A numeric secret as a whole number: not a part of a longer number, word or version string. */
function numberPattern(raw: string): RegExp {
  const escaped = raw.replace(/[.+-]/g, "\\$&");
  return new RegExp(String.raw`(?<![\w.-])${escaped}(?!\w|\.\d)`, "g");
}

/**
 * What replaces a numeric secret at `offset` of `text`: `"[REDACTED]"`,
 * quoted, where it stands as a value of its own outside any string on its
 * line (a number in JSON output stays valid JSON), else `[REDACTED]`.
 */
function redactedNumber(text: string, match: string, offset: number): string {
  const lineStart = text.lastIndexOf("\n", offset) + 1;
  let quotes = 0;
  for (let i = lineStart; i < offset; i++) {
    if (text[i] === "\\") i++;
    else if (text[i] === '"') quotes++;
  }
  if (quotes % 2 === 1) return REDACTED; // inside a string
  const before = text.slice(lineStart, offset).trimEnd();
  const after = text.slice(offset + match.length).trimStart();
  const valueStart = before === "" || /[:[,]$/.test(before);
  const valueEnd = after === "" || /^[,\]}\r\n]/.test(after);
  return valueStart && valueEnd ? `"${REDACTED}"` : REDACTED;
}

/** A stretch of a text to replace: where it starts, where it ends, and what replaces it. */
type Cut = [start: number, end: number, replacement: string];

/** `text` with each stretch of `cuts` replaced; stretches that overlap are replaced as one, by `[REDACTED]`. */
function replaceCuts(text: string, cuts: Cut[]): string {
  cuts.sort((a, b) => a[0] - b[0] || b[1] - a[1]);
  let out = "";
  let [, end, replacement] = cuts[0];
  for (let i = 1; i < cuts.length; i++) {
    const cut = cuts[i];
    if (cut[0] < end) {
      // Overlaps the stretch so far: one stretch (the same one found twice keeps its replacement).
      if (cut[1] > end || cut[2] !== replacement) [end, replacement] = [Math.max(end, cut[1]), REDACTED];
      continue;
    }
    out += replacement + text.slice(end, cut[0]);
    [, end, replacement] = cut;
  }
  return text.slice(0, cuts[0][0]) + out + replacement + text.slice(end);
}

/** `text` as it appears inside a JSON string. */
function jsonEscaped(text: string): string {
  return JSON.stringify(text).slice(1, -1);
}

/**
 * A secret as written, JSON-escaped (once: a JSON document holding it;
 * twice: JSON text that a command printed, inside pflow's JSON; with
 * non-ASCII as `\u00e9`, as Python writes it), and with its spaces as `+`
 * (form data). Percent-encoded forms, and those with only some characters
 * escaped, are found by decoding the text (see {@link unescapeText}).
 */
function literalForms(secret: string): string[] {
  const json = jsonEscaped(secret);
  const ascii = json.replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
  const forms = [secret, json, ascii, jsonEscaped(json), jsonEscaped(ascii)];
  return secret.includes(" ") ? [...forms, secret.replaceAll(" ", "+")] : forms;
}

/** The UTF-16 code units of `texts` (each half of a surrogate pair on its own, as an escape can write it). */
function codeUnits(texts: string[]): Set<string> {
  const units = new Set<string>();
  for (const text of texts) for (let i = 0; i < text.length; i++) units.add(text[i]);
  return units;
}

/** The value of each hex digit by character code (-1: not a hex digit). */
const HEX_DIGIT = new Int8Array(128).fill(-1);
for (let i = 0; i < 16; i++) {
  HEX_DIGIT["0123456789abcdef".charCodeAt(i)] = HEX_DIGIT["0123456789ABCDEF".charCodeAt(i)] = i;
}
/** What each one-character JSON escape stands for. */
const JSON_ESCAPES: Record<string, string> = {
  '"': '"',
  "\\": "\\",
  "/": "/",
  b: "\b",
  f: "\f",
  n: "\n",
  r: "\r",
  t: "\t",
};

/** The byte of the `%XX` at `i` of `text`, or -1. */
function percentByte(text: string, i: number): number {
  if (text.charCodeAt(i) !== 0x25) return -1;
  const high = HEX_DIGIT[text.charCodeAt(i + 1)] ?? -1;
  const low = HEX_DIGIT[text.charCodeAt(i + 2)] ?? -1;
  return high === -1 || low === -1 ? -1 : (high << 4) | low;
}

/** How many continuation bytes a UTF-8 sequence that starts with byte `lead` has (-1: none starts so). */
function continuationBytes(lead: number): number {
  if (lead < 0x80) return 0;
  if (lead < 0xc2) return -1;
  if (lead < 0xe0) return 1;
  if (lead < 0xf0) return 2;
  return lead < 0xf5 ? 3 : -1;
}

/**
 * Whether `text` may hold a secret with some of its characters escaped: it
 * has a percent-encoded byte (either case), a `\u` or a `\/` (found with
 * native searches: most texts have neither `%` nor `\`).
 */
function mayHoldEscapes(text: string): boolean {
  for (let at = text.indexOf("%"); at !== -1; at = text.indexOf("%", at + 1)) {
    if (percentByte(text, at) !== -1) return true;
  }
  for (let at = text.indexOf("\\"); at !== -1; at = text.indexOf("\\", at + 1)) {
    const next = text.charCodeAt(at + 1);
    if (next === 0x75 || next === 0x2f) return true; // u, /
  }
  return false;
}

/** A text with its escapes decoded, and where a stretch of it came from in the text as written. */
interface Unescaped {
  /** The decoded text. */
  text: string;
  /** Where a stretch that starts at `i` of the decoded text starts as written. */
  start(i: number): number;
  /** Where a stretch that ends at `i` of the decoded text ends as written (a partly covered escape whole). */
  end(i: number): number;
  /**
   * The stretches of the decoded text within `reach` characters of a decoded
   * escape, merged, each with the first UTF-16 code unit of what each escape
   * in it decodes to (distinct ones); the whole text, without those, when
   * the stretches would cover most of it.
   */
  around(reach: number): { from: number; to: number; decodes?: string[] }[];
}

/**
 * `text` with every percent-encoded character (a UTF-8 sequence of `%XX`,
 * either case) and every JSON escape (`\/`, `\"`, `\u00e9`…) decoded, or
 * undefined when it has none. One pass, linear in the text; what does not
 * decode (`%ff` alone) stays as written.
 */
function unescapeText(text: string): Unescaped | undefined {
  // Per escape, four numbers: where its result starts in the decoded text, where it starts as written, the
  // length of its result and its length as written.
  let map = new Int32Array(16);
  let used = 0;
  let decoded = "";
  let last = 0;
  // The next `%` and `\` (searched for natively: escapes are few in most texts that have any).
  let percent = text.indexOf("%");
  let backslash = text.indexOf("\\");
  while (percent !== -1 || backslash !== -1) {
    const at = percent === -1 ? backslash : backslash === -1 ? percent : Math.min(percent, backslash);
    let size = 0;
    let result = "";
    if (at === percent) {
      const lead = percentByte(text, at);
      const more = lead === -1 ? -1 : continuationBytes(lead);
      let code = more <= 0 ? lead : lead & (0x3f >> more);
      for (let k = 1; k <= more && code !== -1; k++) {
        const byte = percentByte(text, at + 3 * k);
        code = byte >= 0x80 && byte < 0xc0 ? (code << 6) | (byte & 0x3f) : -1;
      }
      if (more !== -1 && code !== -1 && code <= 0x10ffff) {
        result = String.fromCodePoint(code);
        size = 3 * (more + 1);
      }
    } else if (text.charCodeAt(at + 1) === 0x75) { // \uXXXX
      let code = 0;
      for (let k = 2; k < 6 && code !== -1; k++) {
        const digit = HEX_DIGIT[text.charCodeAt(at + k)] ?? -1;
        code = digit === -1 ? -1 : (code << 4) | digit;
      }
      if (code !== -1) {
        result = String.fromCharCode(code);
        size = 6;
      }
    } else {
      const escaped = JSON_ESCAPES[text[at + 1]];
      if (escaped !== undefined) {
        result = escaped;
        size = 2;
      }
    }
    if (size > 0) {
      decoded += text.slice(last, at);
      if (used === map.length) {
        const grown = new Int32Array(2 * used);
        grown.set(map);
        map = grown;
      }
      map[used++] = decoded.length;
      map[used++] = at;
      map[used++] = result.length;
      map[used++] = size;
      decoded += result;
      last = at + size;
    }
    // Past this escape, or past the `%` or `\\` that starts none.
    const next = size > 0 ? at + size : at + 1;
    if (percent !== -1 && percent < next) percent = text.indexOf("%", next);
    if (backslash !== -1 && backslash < next) backslash = text.indexOf("\\", next);
  }
  if (used === 0) return undefined;
  decoded += text.slice(last);
  /** The last escape whose result starts before `i` (at `i` too unless `strict`), or -1. */
  const escapeBefore = (i: number, strict: boolean): number => {
    let lo = 0;
    let hi = used / 4 - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (strict ? map[4 * mid] < i : map[4 * mid] <= i) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return 4 * found;
  };
  return {
    text: decoded,
    start(i) {
      const k = escapeBefore(i, false);
      if (k < 0) return i;
      const inside = i - map[k];
      return inside < map[k + 2] ? map[k + 1] : map[k + 1] + map[k + 3] + inside - map[k + 2];
    },
    end(i) {
      const k = escapeBefore(i, true);
      if (k < 0) return i;
      return map[k + 1] + map[k + 3] + Math.max(0, i - map[k] - map[k + 2]);
    },
    around(reach) {
      const windows: { from: number; to: number; decodes: string[] }[] = [];
      // Every escape's first unit, while few (dense escapes of many kinds: no filter).
      let all: string[] | undefined = [];
      let covered = 0;
      for (let k = 0; k < used; k += 4) {
        const from = Math.max(0, map[k] - reach + 1);
        const to = Math.min(decoded.length, map[k] + map[k + 2] + reach - 1);
        const unit = decoded[map[k]];
        if (all !== undefined && !all.includes(unit)) all = all.length < 16 ? [...all, unit] : undefined;
        const last = windows[windows.length - 1];
        if (last !== undefined && from <= last.to) {
          covered += to - last.to;
          last.to = to;
          if (!last.decodes.includes(unit)) last.decodes.push(unit);
        } else {
          covered += to - from;
          windows.push({ from, to, decodes: [unit] });
        }
      }
      return covered > decoded.length / 2 ? [{ from: 0, to: decoded.length, decodes: all }] : windows;
    },
  };
}

/**
 * A secret's bytes as hex (both cases) and as base64, standard and URL-safe:
 * the whole encoding, and for each of the three byte alignments it can have
 * inside a longer encoded value (a `user:password` pair, a JSON body) every
 * character that depends on the secret's bits alone (the characters shared
 * with the neighbours reveal at most 4 bits of it).
 */
function encodedForms(secret: string): string[] {
  // Buffer's encoders are native: a start-up with API keys in the environment builds these at once.
  const bytes = Buffer.from(secret, "utf8");
  const hex = bytes.toString("hex");
  const forms = [hex, hex.toUpperCase()];
  const whole = bytes.toString("base64");
  const base64 = [whole, whole.replace(/=+$/, "")];
  for (let offset = 0; offset < 3; offset++) {
    // Character i holds bits [6i, 6i+6); the secret holds bits [8·offset, 8·(offset+n)).
    const start = Math.ceil((8 * offset) / 6);
    const end = Math.floor((8 * (offset + bytes.length)) / 6);
    const shifted = offset === 0 ? whole : Buffer.concat([Buffer.alloc(offset), bytes]).toString("base64");
    const part = shifted.slice(start, end);
    if (part.length >= MIN_ENCODED) base64.push(part);
  }
  for (const form of base64) forms.push(form, form.replaceAll("+", "-").replaceAll("/", "_"));
  return forms.filter((f) => f.length >= MIN_ENCODED);
}

/** A form that may be wrapped over lines, and the fragments that detect it cheaply. */
function wrappedForm(form: string): WrappedForm {
  return { form, probes: [form.slice(0, MIN_ENCODED), form.slice(MIN_ENCODED, 2 * MIN_ENCODED)] };
}

/** Adds `id` to the list of `key` in `map`. */
function push(map: Map<string, number[]>, key: string, id: number): void {
  const ids = map.get(key);
  if (ids === undefined) map.set(key, [id]);
  else if (ids[ids.length - 1] !== id) ids.push(id);
}

/** A form as a pattern that allows an encoder's line breaks between its characters. */
function wrappedPattern(form: string): RegExp {
  const chars = [...form].map((c) => c.replace(/[\\^$.*+?()[\]{}|/-]/g, (m) => `\\${m}`));
  return new RegExp(chars.join(BREAK), "g");
}

/** A secret's hex bytes as a pattern that allows a hex dump's separators and prefixes, either case. */
function separatedHexPattern(bytes: string[]): RegExp {
  return new RegExp(bytes.map((b) => HEX_PREFIX + b).join(HEX_SEPARATOR), "gi");
}

let processRedactor = new Redactor();

/** The redactor every output stream of this process uses. */
export function outputRedactor(): Redactor {
  return processRedactor;
}

/** Sets the redactor every output stream of this process uses (the CLI does, at start-up). */
export function setOutputRedactor(redactor: Redactor): void {
  processRedactor = redactor;
}

/**
 * Whether a value under a name that is often data (`key`, `session`, `sig`), or one found in text it may
 * only describe (an error body's `"password": ["This field is required."]`), looks like a credential: 12
 * or more characters without whitespace, holding letters and digits (`sk-…`, a hex or base64 key, a JWT),
 * unlike a column name, a date, a word or a sentence.
 */
export function looksLikeCredential(value: string): boolean {
  return value.length >= 12 && !/\s/.test(value) && /[A-Za-z]/.test(value) && /[0-9]/.test(value);
}
