/**
 * Whether a run exports metrics, decided without loading any metrics code:
 * the Pushgateway URL (`--pushgateway`, PFLOW_PUSHGATEWAY_URL, settings
 * `"pushgateway"`) and the OTLP metrics endpoint (the standard OTEL_* variables).
 * @module
 */
import { appendUrlPath, hideUserinfo } from "../util/uri.ts";

/** A bad Pushgateway URL; the message names where it came from. */
export class MetricsConfigError extends Error {
  /** @param message one line */
  constructor(message: string) {
    super(message);
    this.name = "MetricsConfigError";
  }
}

/**
 * The Pushgateway base URL a run pushes to, or undefined: the flag, else
 * PFLOW_PUSHGATEWAY_URL, else settings `"pushgateway"`. Throws
 * {@link MetricsConfigError} for one that is not an http(s) URL.
 */
export function pushgatewayUrl(options: {
  flag: string | undefined;
  env: Record<string, string | undefined>;
  settings: Record<string, unknown>;
}): string | undefined {
  const sources: [string, unknown][] = [
    ["--pushgateway", options.flag],
    ["PFLOW_PUSHGATEWAY_URL", options.env.PFLOW_PUSHGATEWAY_URL],
    ['settings "pushgateway"', options.settings.pushgateway],
  ];
  for (const [where, value] of sources) {
    if (value === undefined || value === "") continue;
    if (typeof value !== "string") {
      throw new MetricsConfigError(`${where} must be a URL string like "http://host:9091"`);
    }
    let url: URL;
    try {
      url = new URL(value.trim());
    } catch {
      throw new MetricsConfigError(`${where}: '${hideUserinfo(value)}' is not a URL (e.g. http://127.0.0.1:9091)`);
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw new MetricsConfigError(`${where}: '${hideUserinfo(value)}' is not an http(s) URL`);
    }
    return url.href.replace(/\/+$/, "");
  }
  return undefined;
}

/**
 * The OTLP/HTTP metrics URL when metrics export is configured, else
 * undefined: OTEL_EXPORTER_OTLP_METRICS_ENDPOINT (as is), or
 * OTEL_EXPORTER_OTLP_ENDPOINT + `/v1/metrics` when OTEL_METRICS_EXPORTER is
 * `otlp`. OTEL_SDK_DISABLED=true and OTEL_METRICS_EXPORTER=none turn it off.
 */
export function otlpMetricsEndpoint(env: Record<string, string | undefined>): string | undefined {
  return otlpMetricsSource(env)?.url;
}

/**
 * The OTLP/HTTP metrics URL ({@link otlpMetricsEndpoint}) and the variable it comes from (`from`), with its
 * value as set, for a message about a bad one.
 */
export function otlpMetricsSource(
  env: Record<string, string | undefined>,
): { url: string; from: string; value: string } | undefined {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === "true") return undefined;
  const exporter = env.OTEL_METRICS_EXPORTER?.trim().toLowerCase();
  if (exporter === "none") return undefined;
  const metrics = env.OTEL_EXPORTER_OTLP_METRICS_ENDPOINT?.trim();
  if (metrics) return { url: metrics, from: "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", value: metrics };
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  if (base && exporter?.split(",").map((e) => e.trim()).includes("otlp")) {
    return { url: appendUrlPath(base, "v1/metrics"), from: "OTEL_EXPORTER_OTLP_ENDPOINT", value: base };
  }
  return undefined;
}
