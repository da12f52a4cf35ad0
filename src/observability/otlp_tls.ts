/**
 * TLS files for OTLP exports, from the standard variables: a CA to trust
 * (`OTEL_EXPORTER_OTLP_CERTIFICATE`) and a client certificate and key for
 * mutual TLS (`OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE`,
 * `OTEL_EXPORTER_OTLP_CLIENT_KEY`), each also per signal
 * (`OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE`…), which wins. pflow hands its
 * exporters an HTTP agent of its own, so it reads these itself: the SDK's
 * own reading of them lives in the agent it replaces.
 * @module
 */
import { readFileSync } from "node:fs";
import { fileErrorReason } from "../util/file_errors.ts";

/** The agent options the TLS variables ask for: `ca`, `cert`, `key` (PEM). */
export interface OtlpTlsOptions {
  ca?: Uint8Array;
  cert?: Uint8Array;
  key?: Uint8Array;
}

const FILES = [["ca", "CERTIFICATE"], ["cert", "CLIENT_CERTIFICATE"], ["key", "CLIENT_KEY"]] as const;

/**
 * The TLS files `env` names for `signal`'s export, read; a file that cannot be
 * read is left out with a warning naming the variable (the export then
 * fails or goes on as the collector decides).
 */
export function otlpTlsOptions(
  env: Record<string, string | undefined>,
  options: { signal: "TRACES" | "METRICS"; warn: (message: string) => void },
): OtlpTlsOptions {
  const tls: OtlpTlsOptions = {};
  for (const [field, suffix] of FILES) {
    const specific = `OTEL_EXPORTER_OTLP_${options.signal}_${suffix}`;
    const general = `OTEL_EXPORTER_OTLP_${suffix}`;
    const variable = env[specific]?.trim() ? specific : env[general]?.trim() ? general : undefined;
    if (variable === undefined) continue;
    const path = env[variable]!.trim();
    try {
      tls[field] = readFileSync(path);
    } catch (error) {
      options.warn(`${variable}: cannot read ${path} (${fileErrorReason(error)}); the export goes on without it`);
    }
  }
  return tls;
}
