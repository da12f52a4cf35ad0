/**
 * Redaction, always on: values under secret-looking names, and the literal
 * value of every API key found in the environment, become `[REDACTED]`
 * wherever they would appear (traces, logs, errors, JSON output, exports).
 * @module
 */

/** What replaces a secret. */
export const REDACTED = "[REDACTED]";

// Names that hold secrets: api_key, x-api-key, access_token, authorization,
// cookie, password, client_secret… but not max_tokens or input_tokens.
const SECRET_NAME =
  /(^|[^a-z])(api[_-]?key|key|token|secret|password|passwd|pass|authorization|auth|cookie|set-cookie|credentials?|private[_-]?key|session)($|[^a-z])/i;

/** Whether a param/header/env/object key names a secret. */
export function isSecretName(name: string): boolean {
  return SECRET_NAME.test(name);
}

/** Environment variables whose values are always secrets when set. */
const SECRET_ENV = /(_API_KEY|_TOKEN|_SECRET|_PASSWORD|_ACCESS_KEY|^API_KEY)$/i;

/** Replaces secrets in text and values. */
export class Redactor {
  #secrets: string[] = [];

  /** @param secrets literal values to hide (values shorter than 6 characters are ignored) */
  constructor(secrets: Iterable<string> = []) {
    this.add(...secrets);
  }

  /**
   * Adds literal secrets (e.g. the value of a param named `api_key`, or of an
   * `Authorization` header, and the credential after its `Bearer ` scheme).
   */
  add(...secrets: string[]): void {
    const more = secrets.flatMap((s) => {
      const credential = /^(?:bearer|basic|token|bot)\s+(\S+)$/i.exec(s.trim())?.[1];
      const forms = credential ? [s, credential] : [s];
      // Also as it appears inside JSON text (quotes, backslashes and control characters escaped).
      return forms.flatMap((f) => {
        const escaped = JSON.stringify(f).slice(1, -1);
        return escaped === f ? [f] : [f, escaped];
      });
    });
    // Longest first, so a secret that contains another is replaced whole.
    this.#secrets = [...new Set([...this.#secrets, ...more.filter((s) => s.length >= 6)])]
      .sort((a, b) => b.length - a.length);
  }

  /** Adds every string found under a secret-looking name inside `value` (named `name` itself). */
  learn(value: unknown, name?: string): void {
    if (typeof value === "string") {
      if (name !== undefined && isSecretName(name)) this.add(value);
    } else if (Array.isArray(value)) {
      for (const v of value) this.learn(v, name);
    } else if (value !== null && typeof value === "object") {
      for (const [k, v] of Object.entries(value)) this.learn(v, k);
    }
  }

  /**
   * A redactor for the values of secret environment variables: every
   * `*_API_KEY`, `*_TOKEN`, `*_SECRET`, `*_PASSWORD` variable, plus `names`
   * (e.g. configured providers' `api_key_env`).
   */
  static fromEnv(env: Record<string, string | undefined>, names: Iterable<string> = []): Redactor {
    const wanted = new Set(names);
    const values: string[] = [];
    for (const [name, value] of Object.entries(env)) {
      if (value && (wanted.has(name) || SECRET_ENV.test(name))) values.push(value);
    }
    return new Redactor(values);
  }

  /** Whether there is any literal secret to look for. */
  get active(): boolean {
    return this.#secrets.length > 0;
  }

  /** `text` with every literal secret replaced. */
  text(text: string): string {
    let out = text;
    for (const secret of this.#secrets) if (out.includes(secret)) out = out.replaceAll(secret, REDACTED);
    return out;
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
    if (Array.isArray(value)) return value.map((v) => this.value(v));
    if (value !== null && typeof value === "object" && !ArrayBuffer.isView(value)) {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) out[k] = this.value(v, k);
      return out;
    }
    return value;
  }
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
