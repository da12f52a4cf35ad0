/**
 * The trace's sampling decision from OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG and the caller's
 * TRACEPARENT flags, made without the OpenTelemetry SDK (loaded only to export): it is known when the run
 * starts, so the child processes' TRACEPARENT carries it, and it agrees with the SDK sampler the export builds
 * from the same variables (`otlp_export.ts`).
 * @module
 */

/** Environment variables, as `process.env`. */
type Env = Record<string, string | undefined>;

/** The samplers pflow supports (OTEL_TRACES_SAMPLER). */
export const SAMPLERS = [
  "always_on",
  "always_off",
  "traceidratio",
  "parentbased_always_on",
  "parentbased_always_off",
  "parentbased_traceidratio",
] as const;

/** A supported sampler. */
export type SamplerName = typeof SAMPLERS[number];

/** The default sampler. */
export const DEFAULT_SAMPLER: SamplerName = "parentbased_always_on";

/**
 * The configured sampler and its ratio (for the `traceidratio` ones; 1 when unset or invalid). With `warn`,
 * an unsupported sampler or a bad ratio is said once each (the default, or 1, is used).
 */
export function samplerSetting(
  env: Env,
  warn?: (message: string) => void,
): { name: SamplerName; ratio: number } {
  const given = env.OTEL_TRACES_SAMPLER?.trim().toLowerCase() || DEFAULT_SAMPLER;
  let name: SamplerName = DEFAULT_SAMPLER;
  if ((SAMPLERS as readonly string[]).includes(given)) name = given as SamplerName;
  else warn?.(`OTEL_TRACES_SAMPLER='${given}' is not supported: using ${DEFAULT_SAMPLER}`);
  let ratio = 1;
  const arg = env.OTEL_TRACES_SAMPLER_ARG?.trim();
  if (name.endsWith("traceidratio") && arg) {
    const value = Number(arg);
    if (Number.isFinite(value) && value >= 0 && value <= 1) ratio = value;
    else warn?.(`OTEL_TRACES_SAMPLER_ARG='${arg}' is not a ratio in [0, 1]: using 1`);
  }
  return { name, ratio };
}

/**
 * Whether the trace `traceId` is sampled: the caller's decision (`parent`, from its TRACEPARENT, when the
 * trace continues the caller's) for the parent-based samplers, else the sampler's own.
 */
export function traceSampled(env: Env, traceId: string, parent?: { sampled: boolean }): boolean {
  const { name, ratio } = samplerSetting(env);
  if (name.startsWith("parentbased_") && parent !== undefined) return parent.sampled;
  switch (name) {
    case "always_off":
    case "parentbased_always_off":
      return false;
    case "traceidratio":
    case "parentbased_traceidratio":
      return ratioSampled(traceId, ratio);
    default:
      return true;
  }
}

/**
 * The OpenTelemetry JS SDK's `TraceIdRatioBasedSampler` decision: the trace id's four 32-bit words XORed,
 * below `ratio` × (2³² − 1) (every id at ratio 1).
 */
export function ratioSampled(traceId: string, ratio: number): boolean {
  if (!/^[0-9a-f]{32}$/i.test(traceId) || /^0+$/.test(traceId)) return false;
  const r = Number.isNaN(ratio) ? 0 : Math.min(1, Math.max(0, ratio));
  const upper = r === 1 ? 4294967296 : Math.floor(r * 4294967295);
  let accumulated = 0;
  for (let i = 0; i < 32; i += 8) accumulated = (accumulated ^ parseInt(traceId.slice(i, i + 8), 16)) >>> 0;
  return accumulated < upper;
}
