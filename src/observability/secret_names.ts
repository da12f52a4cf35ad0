/**
 * Which names hold secrets: parameter, header, object, query and environment
 * variable names. The rules are the regular expressions below; names are
 * matched by the runtime's native string search first, because compiling
 * these case-insensitive alternations (or looping over characters in
 * JavaScript, before the JIT has warmed up) costs a Bun process about 1 ms
 * at the start of every run. Tests check both ways agree on random names.
 * @module
 */

// Names that hold secrets: api_key, x-api-key, access_token, authorization, cookie, password, client_secret,
// sig… but not max_tokens or input_tokens.
const SECRET_NAME =
  /(^|[^a-z])(api[_-]?key|apikey|key|token|secret|password|passwd|pass|authorization|auth|cookie|set-cookie|credentials?|private[_-]?key|session|sig|signature)($|[^a-z])/i;
// Every word SECRET_NAME matches as a whole word (`api_key` is found as `key`, `set-cookie` as `cookie`).
const SECRET_WORDS = [
  "key",
  "token",
  "secret",
  "password",
  "passwd",
  "pass",
  "authorization",
  "auth",
  "cookie",
  "credential",
  "credentials",
  "apikey",
  "privatekey",
  "session",
  "sig",
  "signature",
];

// Names that hold credentials, and nothing else: what a run's printed result hides. Narrower than
// SECRET_NAME (no bare `key`, `session`, `sig` or `auth`: an S3 listing's `Key` is data a run is for).
const CREDENTIAL_NAME =
  /(^|[^a-z])(api[_-]?key|apikey|access[_-]?key|token|secret|password|passwd|authorization|cookie|set-cookie|credentials?|private[_-]?key)($|[^a-z])/i;
const CREDENTIAL_WORDS = [
  "token",
  "secret",
  "password",
  "passwd",
  "authorization",
  "cookie",
  "credential",
  "credentials",
  "apikey",
  "api_key",
  "api-key",
  "accesskey",
  "access_key",
  "access-key",
  "privatekey",
  "private_key",
  "private-key",
];

// Environment variables whose values are always secrets when set.
const SECRET_ENV = /(_API_KEY|_TOKEN|_SECRET|_PASSWORD|_ACCESS_KEY|^API_KEY)$/i;
const SECRET_ENV_SUFFIXES = ["_API_KEY", "_TOKEN", "_SECRET", "_PASSWORD", "_ACCESS_KEY"];

/** Whether a param/header/env/object/query key names a secret (`api_key`, `X-Auth-Token`, `session`). */
export function isSecretName(name: string): boolean {
  return containsWord(name, SECRET_WORDS) ?? SECRET_NAME.test(name);
}

/** Whether a key names a credential (`access_token`, `password`, `set-cookie`; not `Key` or `max_tokens`). */
export function isCredentialName(name: string): boolean {
  return containsWord(name, CREDENTIAL_WORDS) ?? CREDENTIAL_NAME.test(name);
}

/** Whether an environment variable holds a secret whenever set: `*_API_KEY`, `*_TOKEN`, `*_SECRET`, `*_PASSWORD`, `*_ACCESS_KEY`, `API_KEY`. */
export function isSecretEnvName(name: string): boolean {
  const upper = name.toUpperCase();
  // A character whose case changes its length (ß → SS) goes to the rule itself; so do the rare hits below
  // that are not ASCII (ſ and ı upper-case to S and I, which the rule's case folding does not do).
  if (upper.length !== name.length) return SECRET_ENV.test(name);
  for (const suffix of SECRET_ENV_SUFFIXES) {
    if (upper.endsWith(suffix)) return isAscii(name, name.length - suffix.length, name.length) || SECRET_ENV.test(name);
  }
  return upper === "API_KEY" && (isAscii(name, 0, name.length) || SECRET_ENV.test(name));
}

/** Variables holding a URL whose userinfo is a credential: the Pushgateway's and the OTLP exporters' endpoints. */
const CREDENTIAL_URL_ENV = new Set([
  "PFLOW_PUSHGATEWAY_URL",
  ...["", "TRACES_", "METRICS_", "LOGS_"].map((s) => `OTEL_EXPORTER_OTLP_${s}ENDPOINT`),
]);

/** Whether an environment variable is an export's URL, whose userinfo (`user:password@`) is a secret. */
export function isCredentialUrlEnvName(name: string): boolean {
  return CREDENTIAL_URL_ENV.has(name);
}

/** The OTLP exporters' header lists (`OTEL_EXPORTER_OTLP_HEADERS` and per signal): they hold credentials. */
const OTLP_HEADERS_ENV = new Set(["", "TRACES_", "METRICS_", "LOGS_"].map((s) => `OTEL_EXPORTER_OTLP_${s}HEADERS`));

/** Whether an environment variable is an OTLP exporter's `key=value,…` header list, whose secret values are known secrets. */
export function isOtlpHeadersEnvName(name: string): boolean {
  return OTLP_HEADERS_ENV.has(name);
}

/**
 * Whether one of `words` (lower-case ASCII) is in `name` as a whole word, ASCII letters in any case, not
 * touching another ASCII letter; undefined when the native search cannot tell (lower-casing changed the
 * name's length).
 */
function containsWord(name: string, words: readonly string[]): boolean | undefined {
  const lower = name.toLowerCase();
  if (lower.length !== name.length) return undefined;
  for (const word of words) {
    for (let at = lower.indexOf(word); at >= 0; at = lower.indexOf(word, at + 1)) {
      const end = at + word.length;
      // The Kelvin sign lower-cases to `k`: a hit must be ASCII in the name itself.
      if (
        (at === 0 || !isAsciiLetter(name.charCodeAt(at - 1))) &&
        (end === name.length || !isAsciiLetter(name.charCodeAt(end))) && isAscii(name, at, end)
      ) return true;
    }
  }
  return false;
}

function isAsciiLetter(code: number): boolean {
  const lower = code | 0x20; // sets only bit 5: maps A-Z onto a-z and nothing else into a-z
  return lower >= 0x61 && lower <= 0x7a;
}

function isAscii(text: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (text.charCodeAt(i) > 0x7f) return false;
  return true;
}
