/**
 * `pflow trace prune [--older-than 30d] [--keep N] [--dry-run] [--json]`:
 * removes old traces from PFLOW_HOME/debug; and the automatic pruning after
 * a traced run when settings say `trace.keep_days` (at most once a day).
 * @module
 */
import { rm, stat, utimes, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { formatBytes } from "../util/bytes.ts";
import { parseCommand } from "./args.ts";
import { type CommandEnv, EXIT } from "./command.ts";
import { showHelp } from "./show_help.ts";
import { loadSettings, pflowHome, settingsFile } from "./home.ts";
import { printError, writeStdout } from "./terminal.ts";
import { parseInstant } from "./trace_filters.ts";
import { scanTraces, traceDir, type TraceListing, TraceReadError } from "./trace_files.ts";
import { traceSettings } from "./trace_settings.ts";
import { UsageError } from "./usage_error.ts";
import { fileErrorReason } from "../util/file_errors.ts";
import { isRunning } from "../util/process_identity.ts";

/** Age of the traces `pflow trace prune` removes without flags or `trace.keep_days`. */
export const DEFAULT_KEEP_DAYS = 30;

/**
 * A trace without footer changed this recently may still be written: never pruned. (One whose header names
 * its writer is kept as long as that process runs, however long ago it last wrote.)
 */
const IN_PROGRESS_MS = 60_000;

/** What to prune. */
export interface PruneOptions {
  /** Remove traces that started before this instant (Unix ms). */
  beforeMs?: number;
  /** Keep the newest `keep` traces whatever their age. */
  keep?: number;
  /** Only say what would go. */
  dryRun?: boolean;
  /** Paths never removed (the trace a run just wrote), resolved. */
  exclude?: Set<string>;
  /** The current time. */
  nowMs: number;
}

/** One removed (or, in a dry run, removable) trace. */
export interface PrunedTrace {
  path: string;
  start_time: string | null;
  /** The trace's bytes, and its `.html` page's when there is one. */
  bytes: number;
}

/** What {@link pruneTraces} did. */
export interface PruneResult {
  removed: PrunedTrace[];
  kept: number;
  /** Traces that should have gone but could not be removed, with why (the others were still removed). */
  failed: { path: string; reason: string }[];
}

/**
 * Removes from `dir` every trace (workflow and planner, partial and
 * unreadable ones too) that is older than `beforeMs` (when given) and not
 * among the newest `keep` (when given), with its `.html` page. Never removes
 * an excluded path, or a trace without footer whose run may still be writing
 * it (its process still runs, or it changed in the last minute).
 */
export async function pruneTraces(dir: string, options: PruneOptions): Promise<PruneResult> {
  const listings = await scanTraces(dir, { summaryOnly: true });
  const removed: PrunedTrace[] = [];
  const failed: PruneResult["failed"] = [];
  let kept = 0;
  for (const [rank, listing] of listings.entries()) {
    if (!shouldGo(listing, rank, options)) {
      kept++;
      continue;
    }
    const page = listing.path.replace(/\.json$/, ".html");
    const pageBytes = await sizeOf(page);
    const entry: PrunedTrace = {
      path: listing.path,
      start_time: listing.read?.trace.start_time ?? null,
      bytes: (await sizeOf(listing.path)) + pageBytes,
    };
    if (!options.dryRun) {
      try {
        await rm(listing.path, { force: true });
        if (pageBytes > 0) await rm(page, { force: true });
      } catch (error) {
        // One that cannot go (a read-only folder) does not stop the others.
        failed.push({ path: listing.path, reason: fileErrorReason(error) });
        continue;
      }
    }
    removed.push(entry);
  }
  return { removed, kept, failed };
}

function shouldGo(listing: TraceListing, rank: number, options: PruneOptions): boolean {
  if (options.exclude?.has(resolve(listing.path))) return false;
  if (options.keep !== undefined && rank < options.keep) return false;
  if (options.beforeMs !== undefined && listing.time >= options.beforeMs) return false;
  return !stillWriting(listing, options.nowMs);
}

/**
 * Whether a run may still be writing this trace: it has no footer, and its writer process (the header's
 * `writer`) still runs, or it changed in the last minute (where the writer cannot be told: no `writer`,
 * another machine's or container's, not Linux).
 */
function stillWriting(listing: TraceListing, nowMs: number): boolean {
  if (listing.read?.complete === true) return false;
  if (nowMs - listing.mtimeMs < IN_PROGRESS_MS) return true;
  return isRunning(listing.read?.trace.writer) === true;
}

async function sizeOf(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}

/** Runs `pflow trace prune`; returns the exit code. */
export async function tracePruneCommand(argv: string[], { env }: CommandEnv): Promise<number> {
  const parsed = parseCommand(argv, {
    command: "trace",
    subcommand: "prune",
    flags: { "older-than": { type: "string" }, keep: { type: "string" }, "dry-run": { type: "boolean" } },
  });
  if (parsed.values.help) return showHelp("trace");
  if (parsed.positionals.length > 0) {
    throw new UsageError(
      `unexpected argument '${
        parsed.positionals[0]
      }': usage: pflow trace prune [--older-than AGE] [--keep N] [--dry-run]`,
      "trace",
    );
  }
  const nowMs = Date.now();
  const keepText = parsed.values.keep as string | undefined;
  if (keepText !== undefined && !/^\d+$/.test(keepText)) {
    throw new UsageError(`--keep must be a whole number of traces (0 or more), got '${keepText}'`, "trace");
  }
  const keep = keepText === undefined ? undefined : Number(keepText);
  const olderText = parsed.values["older-than"] as string | undefined;
  let beforeMs: number | undefined;
  if (olderText !== undefined) beforeMs = parseInstant(olderText, { flag: "--older-than", nowMs });
  else if (keep === undefined) {
    const home = pflowHome(env);
    const days = traceSettings(await loadSettings(home), settingsFile(home)).keepDays ?? DEFAULT_KEEP_DAYS;
    beforeMs = nowMs - days * 86_400_000;
  }
  const dryRun = parsed.values["dry-run"] === true;
  const dir = traceDir(env);
  let result: PruneResult;
  try {
    result = await pruneTraces(dir, { beforeMs, keep, dryRun, nowMs });
  } catch (error) {
    if (!(error instanceof TraceReadError)) throw error;
    printError(`error: ${error.message}`); // the trace directory is a file, a link to nothing
    return EXIT.usage;
  }
  const bytes = result.removed.reduce((n, r) => n + r.bytes, 0);
  for (const f of result.failed) printError(`error: cannot remove ${f.path}: ${f.reason}`);
  const code = result.failed.length > 0 ? EXIT.failed : EXIT.ok;
  if (parsed.values.json === true || parsed.values["output-format"] === "json") {
    const doc = { dry_run: dryRun, removed: result.removed, bytes, kept: result.kept, failed: result.failed };
    writeStdout(`${JSON.stringify(doc, null, 2)}\n`);
    return code;
  }
  for (const r of result.removed) writeStdout(`${r.path}\n`);
  const count = `${result.removed.length} trace${result.removed.length === 1 ? "" : "s"}`;
  const size = formatBytes(bytes, { approximate: true });
  const notRemoved = result.failed.length > 0 ? `; ${result.failed.length} could not be removed` : "";
  printError(
    `${dryRun ? "Would remove" : "Removed"} ${count} (${size}) from ${dir}; ${result.kept} kept${notRemoved}.`,
  );
  return code;
}

/** When the traces were last pruned automatically (its mtime). */
const MARKER = ".last-prune";

/**
 * After a traced run, when settings say `trace.keep_days`: removes traces
 * older than that, at most once a day (a marker file in the trace directory
 * records when), never the files of this run. Failures are the caller's to
 * warn about; they never change the run's outcome.
 */
export async function pruneAfterRun(options: {
  home: string;
  keepDays: number | undefined;
  keep: string[];
  nowMs?: number;
}): Promise<PruneResult | undefined> {
  if (options.keepDays === undefined) return undefined;
  const nowMs = options.nowMs ?? Date.now();
  const dir = join(options.home, "debug");
  const marker = join(dir, MARKER);
  try {
    if (nowMs - (await stat(marker)).mtimeMs < 86_400_000) return undefined;
  } catch { /* never pruned */ }
  const result = await pruneTraces(dir, {
    beforeMs: nowMs - options.keepDays * 86_400_000,
    exclude: new Set(options.keep.map((p) => resolve(p))),
    nowMs,
  });
  await writeFile(marker, `${new Date(nowMs).toISOString()}\n`);
  const when = new Date(nowMs);
  await utimes(marker, when, when);
  return result;
}
