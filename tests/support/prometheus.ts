/**
 * Debian's Prometheus components for the metrics tests: a Pushgateway and a
 * Prometheus server started on 127.0.0.1 at free ports, `promtool check
 * metrics`, and a parser of the exposition text. A missing component fails
 * the test with the name of the package to install (never a skip).
 * @module
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Throws unless `binary` is on PATH, naming the Debian package that has it. */
export function requireBinary(binary: string, debianPackage: string): string {
  const found = spawnSync("sh", ["-c", `command -v ${binary}`], { encoding: "utf8" });
  const path = found.stdout.trim();
  if (found.status !== 0 || path === "") {
    throw new Error(
      `${binary} is not installed: install Debian's package '${debianPackage}' (apt-get install -y ${debianPackage}; .ci/run does it)`,
    );
  }
  return path;
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** A started component: its base URL, and how to stop it (kills the process it started). */
export interface Component {
  url: string;
  close(): Promise<void>;
}

async function waitReady(url: string, child: ChildProcess, what: string, log: () => string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${what} exited (${child.exitCode}): ${log()}`);
    try {
      const response = await fetch(url);
      await response.body?.cancel();
      if (response.ok) return;
    } catch { /* not yet listening */ }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${what} did not get ready within 20 s: ${log()}`);
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once("close", () => resolve());
    child.kill("SIGTERM");
    setTimeout(() => child.kill("SIGKILL"), 5000).unref?.();
  });
}

/** Starts Debian's `prometheus-pushgateway` on 127.0.0.1 at a free port. */
export async function startPushgateway(): Promise<Component> {
  const binary = requireBinary("prometheus-pushgateway", "prometheus-pushgateway");
  const port = await freePort();
  // Debian's default persists to /var/lib/prometheus/pushgateway.data, and a new gateway would load
  // what an earlier run (or anyone) pushed: an empty file keeps this one's metrics in memory only.
  const child = spawn(binary, [`--web.listen-address=127.0.0.1:${port}`, "--persistence.file="], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let log = "";
  child.stderr!.on("data", (d) => log += d);
  const url = `http://127.0.0.1:${port}`;
  await waitReady(`${url}/-/ready`, child, "prometheus-pushgateway", () => log);
  return { url, close: () => stop(child) };
}

/** A Prometheus server scraping targets every 200 ms. */
export interface PrometheusServer extends Component {
  /** `/api/v1/query` result vector. */
  query(expression: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]>;
  /** `/api/v1/targets` active targets. */
  targets(): Promise<{ health: string; lastError: string; scrapeUrl: string }[]>;
}

/** Starts Debian's `prometheus` on 127.0.0.1 scraping `targets` (`host:port`, path /metrics). */
export async function startPrometheus(targets: string[]): Promise<PrometheusServer> {
  const binary = requireBinary("prometheus", "prometheus");
  const dir = mkdtempSync(join(tmpdir(), "pflow-prometheus-"));
  const config = join(dir, "prometheus.yml");
  writeFileSync(
    config,
    `global: { scrape_interval: 200ms, scrape_timeout: 200ms }
scrape_configs:
  - job_name: pflow
    static_configs: [ { targets: ${JSON.stringify(targets)} } ]
`,
  );
  const port = await freePort();
  const child = spawn(binary, [
    `--config.file=${config}`,
    `--storage.tsdb.path=${join(dir, "data")}`,
    `--web.listen-address=127.0.0.1:${port}`,
  ], { stdio: ["ignore", "ignore", "pipe"] });
  let log = "";
  child.stderr!.on("data", (d) => log += d);
  const url = `http://127.0.0.1:${port}`;
  await waitReady(`${url}/-/ready`, child, "prometheus", () => log.slice(-2000));
  const api = async (path: string) => {
    const response = await fetch(`${url}${path}`);
    const body = await response.json() as { status: string; data: unknown };
    if (body.status !== "success") throw new Error(`prometheus ${path}: ${JSON.stringify(body)}`);
    return body.data;
  };
  return {
    url,
    query: async (expression) =>
      ((await api(`/api/v1/query?query=${encodeURIComponent(expression)}`)) as { result: never[] }).result,
    targets: async () => ((await api("/api/v1/targets")) as { activeTargets: never[] }).activeTargets,
    close: async () => {
      await stop(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** `promtool check metrics` of a text (exit code and what it printed). */
export function promtoolCheck(text: string): { code: number | null; output: string } {
  const binary = requireBinary("promtool", "prometheus");
  const result = spawnSync(binary, ["check", "metrics"], { input: text, encoding: "utf8" });
  return { code: result.status, output: `${result.stdout}${result.stderr}` };
}

/** One sample of an exposition text. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A parsed exposition: its samples and the `# TYPE`, `# HELP`, `# UNIT` of each family. */
export interface Exposition {
  samples: Sample[];
  types: Map<string, string>;
  help: Map<string, string>;
  units: Map<string, string>;
  eof: boolean;
}

/** Parses the Prometheus text format or OpenMetrics (label values unescaped). */
export function parseExposition(text: string): Exposition {
  const exposition: Exposition = { samples: [], types: new Map(), help: new Map(), units: new Map(), eof: false };
  for (const line of text.split("\n")) {
    if (line === "") continue;
    if (line === "# EOF") {
      exposition.eof = true;
      continue;
    }
    const meta = /^# (HELP|TYPE|UNIT) (\S+) ?(.*)$/.exec(line);
    if (meta) {
      const map = meta[1] === "HELP" ? exposition.help : meta[1] === "TYPE" ? exposition.types : exposition.units;
      map.set(meta[2], meta[3]);
      continue;
    }
    // `s`: a label value may hold U+2028/U+2029 unescaped (only `\`, `"` and newline are escaped).
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)$/s.exec(line);
    if (m === null) throw new Error(`not an exposition line: ${line}`);
    const labels: Record<string, string> = {};
    if (m[2]) {
      const body = m[2].slice(1, -1);
      const pair = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?/gys;
      let consumed = 0;
      for (let match = pair.exec(body); match !== null; match = pair.exec(body)) {
        labels[match[1]] = match[2].replace(/\\(.)/g, (_, c) => c === "n" ? "\n" : c);
        consumed = pair.lastIndex;
      }
      if (consumed !== body.length) throw new Error(`bad labels: ${line}`);
    }
    const value = m[3] === "+Inf" ? Infinity : m[3] === "-Inf" ? -Infinity : Number(m[3]);
    exposition.samples.push({ name: m[1], labels, value });
  }
  return exposition;
}

/** The value of the one sample named `name` whose labels include `labels`. */
export function sampleValue(exposition: Exposition, name: string, labels: Record<string, string> = {}): number {
  const found = exposition.samples.filter((s) =>
    s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)
  );
  if (found.length !== 1) {
    throw new Error(`${found.length} samples ${name}${JSON.stringify(labels)}`);
  }
  return found[0].value;
}
