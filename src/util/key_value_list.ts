/**
 * OTel's `key=value,key2=value2` lists (`OTEL_RESOURCE_ATTRIBUTES`,
 * `OTEL_EXPORTER_OTLP_HEADERS`): entries as written, for the exporters that
 * decode them and the redactor that must know their values in both forms.
 * @module
 */

/** One entry of a list: key and value trimmed, as written (percent-encoded or not); `key` is "" without `=`. */
export interface KeyValueEntry {
  key: string;
  value: string;
}

/** The entries of an OTel `key=value,…` list, blank ones left out. */
export function keyValueEntries(text: string | undefined): KeyValueEntry[] {
  if (!text) return [];
  const entries: KeyValueEntry[] = [];
  for (const entry of text.split(",")) {
    if (entry.trim() === "") continue;
    const eq = entry.indexOf("=");
    entries.push(
      eq < 0 ? { key: "", value: entry.trim() } : {
        key: entry.slice(0, eq).trim(),
        value: entry.slice(eq + 1).trim(),
      },
    );
  }
  return entries;
}
