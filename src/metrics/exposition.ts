/**
 * Metric families and their exposition: the Prometheus text format 0.0.4
 * and OpenMetrics 1.0 (family names without `_total`/`_info`, `# UNIT`,
 * `# EOF`). Label values and help texts are escaped as each format says.
 * @module
 */

/** Label names to values. */
export type Labels = Record<string, string>;

/** One counter or gauge series. */
export interface ValueSeries {
  labels: Labels;
  value: number;
}

/** One histogram series: cumulative counts per finite upper bound, then `+Inf` (= count). */
export interface HistogramSeries {
  labels: Labels;
  /** Cumulative counts, one per bound of the family. */
  cumulative: number[];
  count: number;
  sum: number;
}

/** A metric family (the name as in the Prometheus text format: counters end in `_total`). */
export type MetricFamily =
  | { name: string; help: string; unit?: string; type: "counter" | "gauge"; series: ValueSeries[] }
  | { name: string; help: string; unit?: string; type: "info"; series: ValueSeries[] }
  | {
    name: string;
    help: string;
    unit?: string;
    type: "histogram";
    bounds: readonly number[];
    series: HistogramSeries[];
  };

/** The exposition formats. */
export type ExpositionFormat = "prometheus" | "openmetrics";

/** Content types of the formats. */
export const CONTENT_TYPE: Record<ExpositionFormat, string> = {
  prometheus: "text/plain; version=0.0.4; charset=utf-8",
  openmetrics: "application/openmetrics-text; version=1.0.0; charset=utf-8",
};

/** Escapes a label value: backslash, double quote, line feed (both formats). */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function escapeHelp(text: string, format: ExpositionFormat): string {
  const escaped = text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
  return format === "openmetrics" ? escaped.replace(/"/g, '\\"') : escaped;
}

/** A sample value: integers as such, `+Inf`/`-Inf`/`NaN` spelled out. */
export function formatValue(value: number): string {
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  if (Number.isNaN(value)) return "NaN";
  return String(value);
}

function labelText(labels: Labels, extra?: [string, string]): string {
  const pairs = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabelValue(v)}"`);
  if (extra) pairs.push(`${extra[0]}="${escapeLabelValue(extra[1])}"`);
  return pairs.length ? `{${pairs.join(",")}}` : "";
}

/** The family name a format declares in `# TYPE` (OpenMetrics drops the counter's `_total`, the info's `_info`). */
function familyName(family: MetricFamily, format: ExpositionFormat): string {
  if (format !== "openmetrics") return family.name;
  if (family.type === "counter") return family.name.replace(/_total$/, "");
  if (family.type === "info") return family.name.replace(/_info$/, "");
  return family.name;
}

function typeWord(family: MetricFamily, format: ExpositionFormat): string {
  if (family.type === "info") return format === "openmetrics" ? "info" : "gauge";
  return family.type;
}

/** Renders families in a format (ending with a newline; OpenMetrics with `# EOF`). */
export function renderExposition(families: MetricFamily[], format: ExpositionFormat): string {
  const lines: string[] = [];
  for (const family of families) {
    const name = familyName(family, format);
    lines.push(`# HELP ${name} ${escapeHelp(family.help, format)}`);
    lines.push(`# TYPE ${name} ${typeWord(family, format)}`);
    if (format === "openmetrics" && family.unit) lines.push(`# UNIT ${name} ${family.unit}`);
    if (family.type === "histogram") {
      for (const s of family.series) {
        family.bounds.forEach((bound, i) => {
          lines.push(`${family.name}_bucket${labelText(s.labels, ["le", formatValue(bound)])} ${s.cumulative[i]}`);
        });
        lines.push(`${family.name}_bucket${labelText(s.labels, ["le", "+Inf"])} ${s.count}`);
        lines.push(`${family.name}_sum${labelText(s.labels)} ${formatValue(s.sum)}`);
        lines.push(`${family.name}_count${labelText(s.labels)} ${s.count}`);
      }
    } else {
      for (const s of family.series) lines.push(`${family.name}${labelText(s.labels)} ${formatValue(s.value)}`);
    }
  }
  if (format === "openmetrics") lines.push("# EOF");
  return `${lines.join("\n")}\n`;
}

/** Turns per-bucket counts (not cumulative) into cumulative ones. */
export function cumulate(counts: number[]): number[] {
  let running = 0;
  return counts.map((c) => running += c);
}
