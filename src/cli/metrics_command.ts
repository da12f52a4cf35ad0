/**
 * `pflow metrics` (the exposition text from the ledger, to stdout or a file
 * written atomically for node_exporter's textfile collector) and
 * `pflow metrics serve` (a scrape endpoint).
 * @module
 */
import { LedgerError } from "../ledger/db.ts";
import { ledgerCommandFailure } from "./ledger_failure.ts";
import { localTimeZone, parseBound } from "../ledger/period.ts";
import { LedgerStore } from "../ledger/store.ts";
import { collectMetrics } from "../metrics/collect.ts";
import { type ExpositionFormat, renderExposition } from "../metrics/exposition.ts";
import { jsonFlag, parseCommand, refuseJson } from "./args.ts";
import { type CommandEnv, EXIT } from "./command.ts";
import { showHelp } from "./show_help.ts";
import { outputFileDocument, writeOutputFile } from "./output_file.ts";
import { pflowHome } from "./home.ts";
import { printError, writeStdout } from "./terminal.ts";
import { UsageError } from "./usage_error.ts";

const FLAGS = {
  format: { type: "string" },
  output: { type: "string", short: "o" },
  since: { type: "string" },
  listen: { type: "string" },
} as const;

/** Runs `pflow metrics …`; returns the exit code. */
export async function metricsCommand(argv: string[], { env }: CommandEnv): Promise<number> {
  const parsed = parseCommand(argv, { command: "metrics", flags: FLAGS });
  if (parsed.values.help) return showHelp("metrics");
  const [action, ...rest] = parsed.positionals;
  if (rest.length > 0 || (action !== undefined && action !== "serve")) {
    throw new UsageError(`unexpected argument '${rest[0] ?? action}': usage: pflow metrics [serve] [flags]`, "metrics");
  }
  // JSON mode's one document: the path of the file written; the exposition itself is never JSON.
  if (action === "serve") refuseJson(parsed.values, "metrics serve", "it serves the exposition over HTTP");
  else if (parsed.values.output === undefined) {
    refuseJson(
      parsed.values,
      "metrics",
      "its output is the exposition text (--format prometheus|openmetrics); with -o FILE it prints the file's path",
    );
  }
  const home = pflowHome(env);
  try {
    if (action === "serve") return await serve(parsed.values, home);
    if (parsed.values.listen !== undefined) {
      throw new UsageError("--listen is a flag of 'pflow metrics serve'", "metrics");
    }
    const format = parseFormat(parsed.values.format as string | undefined);
    const sinceText = parsed.values.since as string | undefined;
    const sinceMs = sinceText === undefined
      ? undefined
      : parseBound(sinceText, { flag: "since", zone: localTimeZone(), nowMs: Date.now() });
    // A ledger that cannot be written is read from a copy in memory (see LedgerStore.openForReading).
    const { store, warnings, notice } = LedgerStore.openForReading(home, { settle: true });
    if (notice !== undefined) printError(`warning: ledger: ${notice}`);
    for (const warning of warnings) printError(`warning: ledger: ${warning}`);
    let text: string;
    try {
      text = renderExposition(collectMetrics(store.db, { sinceMs }), format);
    } finally {
      store.close();
    }
    const output = parsed.values.output as string | undefined;
    if (output === undefined) writeStdout(text);
    else {
      const failed = await writeOutputFile(output, text, { mode: 0o644 });
      if (failed !== undefined) {
        printError(`error: ${failed}`);
        return EXIT.usage;
      }
      if (jsonFlag(parsed.values) !== undefined) writeStdout(outputFileDocument(output));
    }
    return EXIT.ok;
  } catch (error) {
    return ledgerCommandFailure(error, { home, command: "metrics" });
  }
}

function parseFormat(text: string | undefined): ExpositionFormat {
  if (text === undefined || text === "prometheus") return "prometheus";
  if (text === "openmetrics") return "openmetrics";
  throw new UsageError(`--format must be prometheus or openmetrics; got '${text}'`, "metrics");
}

async function serve(values: Record<string, unknown>, home: string): Promise<number> {
  const why: Record<string, string> = {
    format: "a scrape asks for its format, in its Accept header",
    output: "it answers scrapes over HTTP and writes no file; 'pflow metrics -o FILE' writes one",
    since: "its counters cover the whole ledger, as a scraper expects of counters; " +
      "ask your queries for a window instead, e.g. increase(pflow_llm_calls_total[7d])",
  };
  for (const flag of ["format", "output", "since"]) {
    if (values[flag] !== undefined) {
      throw new UsageError(`--${flag} is not a flag of 'pflow metrics serve' (${why[flag]})`, "metrics");
    }
  }
  const { DEFAULT_LISTEN, parseListen, serveMetrics } = await import("../metrics/serve.ts");
  const listenText = values.listen as string | undefined;
  const listen = listenText === undefined ? DEFAULT_LISTEN : parseListen(listenText);
  if (listen === undefined) {
    throw new UsageError(`--listen must be HOST:PORT or PORT (e.g. 127.0.0.1:9464); got '${listenText}'`, "metrics");
  }
  const controller = new AbortController();
  const stop = () => controller.abort();
  // A signal it was started with ignored (SIGINT of a background job `&`) stays ignored.
  const { inheritedIgnoredSignals } = await import("../util/inherited_signals.ts");
  const signals = (["SIGINT", "SIGTERM"] as const).filter((s) => !inheritedIgnoredSignals().has(s));
  for (const signal of signals) process.on(signal, stop);
  try {
    await serveMetrics({
      home,
      listen,
      signal: controller.signal,
      onListening: (url) => printError(`Serving metrics on ${url} (and /healthz); Ctrl-C stops`),
      warn: (message) => printError(`warning: ${message}`),
    });
  } catch (error) {
    if (error instanceof LedgerError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    // The address cannot be had: in use, not allowed, not this machine's, or a host that does not resolve.
    if (["EADDRINUSE", "EACCES", "EADDRNOTAVAIL", "EINVAL", "ENOTFOUND", "EAI_AGAIN"].includes(code ?? "")) {
      printError(`error: cannot listen on ${listen.host}:${listen.port}: ${(error as Error).message}`);
      return EXIT.usage;
    }
    throw error;
  } finally {
    for (const signal of signals) process.off(signal, stop);
  }
  return EXIT.ok;
}
