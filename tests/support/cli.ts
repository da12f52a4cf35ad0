/**
 * Runs the compiled pflow binary (dist/pflow) as a real child process.
 * `deno task test` builds it first.
 * @module
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

/** Absolute path of the binary under test. */
export const PFLOW_BIN = resolve(import.meta.dirname!, "../../dist/pflow");
/** Repository root. */
export const ROOT = resolve(import.meta.dirname!, "../..");

/** What a finished pflow process produced. */
export interface CliResult {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}

/** Options of {@link runPflow}. */
export interface CliOptions {
  /** Extra environment (merged over a clean base with PFLOW_HOME set). */
  env?: Record<string, string>;
  /** Text (or bytes) piped to stdin; when absent stdin is /dev/null. */
  stdin?: string | Uint8Array;
  /** Working directory. */
  cwd?: string;
  /** Called with the child once started (e.g. to send signals). */
  onSpawn?: (child: ReturnType<typeof spawn>) => void;
}

/** Runs `dist/pflow ARGS…` to completion. */
export function runPflow(args: string[], options: CliOptions = {}): Promise<CliResult> {
  if (!existsSync(PFLOW_BIN)) throw new Error(`${PFLOW_BIN} is missing: run 'deno task compile' first`);
  return new Promise((resolvePromise, reject) => {
    const child = spawn(PFLOW_BIN, args, {
      cwd: options.cwd ?? ROOT,
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/tmp", ...options.env },
      stdio: [options.stdin === undefined ? "ignore" : "pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (d) => stdout += d);
    child.stderr!.on("data", (d) => stderr += d);
    child.on("error", reject);
    child.on("close", (code, signal) => resolvePromise({ code, signal, stdout, stderr }));
    if (options.stdin !== undefined) child.stdin!.end(options.stdin);
    options.onSpawn?.(child);
  });
}

/** A temporary directory, removed by the returned cleanup. */
export function tempDir(prefix = "pflow-test-"): { path: string; cleanup: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}

/** A temp dir and the PFLOW_HOME inside it, for one test. */
export interface TempHome {
  /** The temp dir (for workflow files). */
  dir: string;
  /** `dir/home`, created. */
  home: string;
  /** `{PFLOW_HOME: home}`. */
  env: Record<string, string>;
}

/** Runs `fn` with a fresh temp dir and PFLOW_HOME, removed afterwards. */
export async function withTempHome(fn: (ctx: TempHome) => Promise<void> | void, prefix = "pflow-test-"): Promise<void> {
  const tmp = tempDir(prefix);
  try {
    const home = join(tmp.path, "home");
    mkdirSync(home);
    await fn({ dir: tmp.path, home, env: { PFLOW_HOME: home } });
  } finally {
    tmp.cleanup();
  }
}

/** Writes a workflow object to `dir/name` and returns its path. */
export function writeWorkflow(dir: string, name: string, workflow: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof workflow === "string" ? workflow : JSON.stringify(workflow, null, 2));
  return path;
}

/** A minimal valid workflow around the given nodes. */
export function workflow(nodes: unknown[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { ir_version: "0.1.0", nodes, ...extra };
}
