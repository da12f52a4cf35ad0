/**
 * `shell`: runs a command line through `/bin/sh -c`, or a program with its
 * `args` without any shell interpretation, and captures its output.
 *
 * The command runs in its own process group, so a timeout or an interrupted
 * run kills everything it started (grandchildren included), not just the
 * shell.
 * @module
 */
import type { ChildProcess } from "node:child_process";
import { Buffer } from "node:buffer";
import { resolve } from "node:path";
import process from "node:process";
import { setImmediate } from "node:timers";
import { InterruptedError, Node, type RunContext, type Shared, throwIfAborted } from "../engine/mod.ts";
import { timed, traced } from "../observability/decorators.ts";
import { setLongTimeout } from "../util/timers.ts";
import { formatBytes } from "../util/bytes.ts";
import { trackProcessGroup, watchCommand } from "./process_groups.ts";
import {
  type ChildEnvContext,
  DEFAULT_MAX_OUTPUT_BYTES,
  describeValue,
  NodeError,
  type NodeSpec,
  paramJson,
  type ParamProblem,
  readParams,
} from "./spec.ts";
import { fsPromises } from "../util/fs_promises.ts";
import { decodeUtf8, InvalidUtf8Error } from "../util/utf8.ts";
import { endsInNewline, shownPath, TRAILING_NEWLINE_HINT } from "../util/shown_path.ts";

/** How `stdout` is given: text (valid UTF-8 or the node fails), or the raw bytes as base64. */
type StdoutEncoding = "utf8" | "base64";
const STDOUT_ENCODINGS: readonly StdoutEncoding[] = ["utf8", "base64"];

interface ShellParams {
  command?: string;
  args?: unknown[];
  cwd?: string;
  env?: Record<string, unknown>;
  stdin?: unknown;
  timeout: number;
  ignore_errors: boolean;
  max_output_bytes: number;
  stdout_encoding: StdoutEncoding;
}

/** What one run of a command produced. */
export interface ShellResult {
  /** Standard output: strict UTF-8 (a BOM kept), or base64 with `stdout_encoding: base64`. */
  stdout: string;
  /** Standard error, decoded as UTF-8 leniently (diagnostics: bad bytes become U+FFFD). */
  stderr: string;
  /** Exit status; 128 + the signal number when a signal ended the shell. */
  exit_code: number;
}

/** Milliseconds between SIGTERM and SIGKILL when a command is stopped. */
const KILL_GRACE_MS = 1000;
/**
 * Milliseconds after SIGKILL to stop waiting for the pipes to close (a
 * process that left the group could hold them open forever).
 */
const CLOSE_WAIT_MS = 1000;
/**
 * Milliseconds after the shell exits to wait for its output pipes to close.
 * Output written before the exit is in the pipe already and read within a
 * few ms; what stays open past this is a process started in the background
 * (`server &`), which may run for ever. 300 ms leaves room for a background
 * job that ends just after the shell and for a busy machine, and is all a
 * command that leaves a process holding its output costs.
 */
const EXITED_PIPE_GRACE_MS = 300;

/** Runs a shell command; writes `stdout`, `stderr` and `exit_code`. */
@timed({ childCpu: true })
@traced({ capture: ["command", "args", "stdout", "stderr", "exit_code"] })
export class ShellNode extends Node {
  /** The type's declaration. */
  static readonly spec: NodeSpec = {
    type: "shell",
    description: "Runs a command line with /bin/sh -c, or a program with `args` and no shell, and captures its output",
    params: {
      command: {
        type: "string",
        description:
          "The command line, run by /bin/sh -c. A ${template} in it is pasted into the shell text (quotes, ;, $(...) and all), " +
          'so only for values you trust; for any other value use `args`, or pass it in `env` and write "$NAME"',
      },
      args: {
        type: "array",
        description: "Instead of `command`: the program and its arguments, run without a shell ([program, arg, ...]; " +
          "the program is looked up in PATH; one not found exits 127, one not executable 126, saying so on stderr). Each item is exactly one argument, never quoted, split, globbed or " +
          "expanded: safe for any value",
      },
      cwd: {
        type: "string",
        description: "Working directory (relative to pflow's own); default: pflow's",
      },
      env: {
        type: "object",
        description:
          "Extra environment variables (string values), merged over pflow's environment. A value given here and " +
          'used as "$NAME" (double-quoted) in `command` reaches the command as data, never as shell text',
      },
      stdin: {
        type: "any",
        description:
          "Data written to the command's standard input: a string as is, anything else as JSON (null writes nothing)",
      },
      timeout: {
        type: "number",
        description: "Seconds before the command (and everything it started) is killed",
        default: 30,
        positive: "seconds",
      },
      ignore_errors: {
        type: "boolean",
        description: "Take the `default` action even when the command exits non-zero",
        default: false,
      },
      max_output_bytes: {
        type: "integer",
        description: "Most bytes kept of stdout and of stderr each; past it the command is stopped and the node fails",
        default: DEFAULT_MAX_OUTPUT_BYTES,
        positive: "bytes",
      },
      stdout_encoding: {
        type: "string",
        description: "utf8 gives stdout as text: bytes that are not UTF-8 fail the node (nothing is replaced, a " +
          "byte-order mark is kept). base64 gives the raw bytes as base64, for binary output (gzip, images); " +
          "write-file with encoding: base64 writes them back",
        default: "utf8",
        enum: STDOUT_ENCODINGS,
      },
    },
    outputs: {
      stdout: {
        type: "string",
        description: "Standard output (UTF-8 text, or base64 when stdout_encoding is base64)",
      },
      stderr: { type: "string", description: "Standard error (UTF-8; bytes that are not become U+FFFD)" },
      exit_code: {
        type: "integer",
        description: "Exit status (128 + signal number when killed by a signal)",
      },
    },
    actions: ["error"],
  };

  /**
   * Exactly one of `command` and `args`; literal `args` items and `env` values are text, `env` names valid; no
   * NUL byte in `command`, an `args` item, an `env` value or `cwd` (a NUL in the text around a template is
   * there whatever the template gives).
   */
  static validate(params: Record<string, unknown>): ParamProblem[] {
    const problem = programProblem(params.command, params.args);
    if (problem !== undefined) {
      // An empty `args` is about that param; both or neither given is about the pair.
      const alone = (params.command === undefined || params.command === null) && Array.isArray(params.args);
      return [{ param: alone ? "args" : undefined, message: problem }];
    }
    const problems: ParamProblem[] = [];
    const nul = (param: string, what: string, value: unknown) => {
      const found = typeof value === "string" ? nulProblem(what, value) : undefined;
      if (found !== undefined) problems.push({ param, message: found });
    };
    nul("command", "command", params.command);
    if (Array.isArray(params.args)) {
      params.args.forEach((item, i) => {
        const bad = typeof item === "object"; // a list, an object or null
        const what = Array.isArray(item) ? "a list (give one item per argument)" : typeOf(item);
        if (bad) problems.push({ param: "args", message: `args[${i}] must be text (one argument), got ${what}` });
        else nul("args", `args[${i}]`, item);
      });
    }
    const env = params.env;
    if (env !== null && typeof env === "object" && !Array.isArray(env)) {
      for (const [name, value] of Object.entries(env)) {
        const nameProblem = envNameProblem(name);
        if (nameProblem !== undefined) problems.push({ param: "env", message: nameProblem });
        else if (typeof value === "object") {
          problems.push({
            param: "env",
            message: `env.${name} must be a string, got ${typeOf(value)} (convert it to a string)`,
          });
        } else nul("env", `env.${name}`, value);
      }
    }
    nul("cwd", "cwd", params.cwd);
    return problems;
  }

  /** Reads params. */
  override prep(): ShellParams {
    return readParams<ShellParams>(ShellNode.spec, this.params);
  }

  /** Runs the command and waits until its output pipes close. */
  override async exec(p: ShellParams, ctx: RunContext): Promise<ShellResult> {
    const problem = programProblem(p.command, p.args);
    if (problem !== undefined) throw new NodeError(problem);
    const command = p.command === undefined ? undefined : refuseNul("command", p.command);
    const program = command === undefined ? { args: argumentTexts(p.args!) } : { command };
    // Telemetry may add variables (TRACEPARENT); the node's own `env` param wins.
    const env = buildEnv({ ...(ctx as ChildEnvContext).childEnv?.(), ...p.env });
    const cwd = p.cwd === undefined ? undefined : await checkCwd(p.cwd);
    // null (e.g. a template resolving to a missing value) writes nothing, as before: no "null" on stdin.
    const input = p.stdin === undefined || p.stdin === null ? undefined : stdinText(p.stdin);
    throwIfAborted(ctx.signal);
    return await run(program, {
      cwd,
      env,
      input,
      timeout: p.timeout,
      maxOutputBytes: p.max_output_bytes,
      stdoutEncoding: p.stdout_encoding,
      nodeId: this.nodeId,
    }, ctx);
  }

  /** Writes the outputs; `error` on a non-zero exit unless `ignore_errors`. */
  override post(shared: Shared, p: ShellParams, result: ShellResult): string {
    shared.stdout = result.stdout;
    shared.stderr = result.stderr;
    shared.exit_code = result.exit_code;
    return result.exit_code !== 0 && !p.ignore_errors ? "error" : "default";
  }
}

/** What is wrong with a node's `command`/`args` pair (exactly one, `args` not empty), or undefined. */
function programProblem(command: unknown, args: unknown): string | undefined {
  if (command !== undefined && command !== null && args !== undefined && args !== null) {
    return "give either 'command' (a command line run by /bin/sh -c) or 'args' (a program and its arguments, " +
      "no shell), not both";
  }
  if ((command === undefined || command === null) && (args === undefined || args === null)) {
    return "'shell' needs 'command' (a command line run by /bin/sh -c) or 'args' (a program and its arguments)";
  }
  if (Array.isArray(args) && args.length === 0) return "'args' needs at least the program to run: [program, arg, ...]";
  return undefined;
}

/**
 * Why `text`, given as param `what`, cannot reach the command: it holds a NUL
 * byte, which ends a string where the system takes it (a command line, an
 * argument, a variable, a path), so no command could receive it whole.
 */
function nulProblem(what: string, text: string): string | undefined {
  const at = text.indexOf("\0");
  if (at < 0) return undefined;
  // Where it is, not the text: a command line may be long, and an argument or a variable may be a secret.
  const head = `${what} holds a NUL byte (character ${at + 1} of ${text.length})`;
  if (what === "cwd") return `${head}: no path can hold one`;
  const carrier = what === "command" ? "command line" : what.startsWith("env.") ? "environment variable" : "argument";
  return `${head}: no ${carrier} can carry one (the system ends the text there); pass data with NUL bytes on ` +
    "stdin (the 'stdin' param), or encoded (base64)";
}

/** `text` (param `what`), unless it holds a NUL byte (see {@link nulProblem}). */
function refuseNul(what: string, text: string): string {
  const problem = nulProblem(what, text);
  if (problem !== undefined) throw new NodeError(problem);
  return text;
}

/** `args` as the texts of the arguments: text as is, numbers and booleans written out. */
function argumentTexts(args: unknown[]): string[] {
  return args.map((item, i) => {
    if (typeof item === "string") return refuseNul(`args[${i}]`, item);
    if (typeof item === "number" || typeof item === "boolean") return String(item);
    const what = Array.isArray(item) ? "a list (give one item per argument)" : typeOf(item);
    throw new NodeError(`args[${i}] must be text (one argument), got ${what}`);
  });
}

/** Why `name` cannot be an environment variable's name (empty, or holding `=` or a NUL), if it cannot. */
function envNameProblem(name: string): string | undefined {
  return name === "" || name.includes("=") || name.includes("\0")
    ? `env: invalid variable name ${JSON.stringify(name)}`
    : undefined;
}

/** pflow's environment with the `env` param's variables over it. */
function buildEnv(
  extra: Record<string, unknown> | undefined,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value !== undefined) env[name] = value;
  }
  for (const [name, value] of Object.entries(extra ?? {})) {
    const nameProblem = envNameProblem(name);
    if (nameProblem !== undefined) throw new NodeError(nameProblem);
    if (typeof value === "string") env[name] = refuseNul(`env.${name}`, value);
    else if (typeof value === "number" || typeof value === "boolean") {
      env[name] = String(value);
    } else {
      throw new NodeError(
        `env.${name} must be a string, got ${typeOf(value)} (convert it to a string)`,
      );
    }
  }
  return env;
}

function typeOf(value: unknown): string {
  return describeValue(value).split(" ")[0];
}

/** Resolves `cwd` and checks it is an existing directory. */
async function checkCwd(cwd: string): Promise<string> {
  const dir = resolve(refuseNul("cwd", cwd));
  let info;
  try {
    info = await (await fsPromises()).stat(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") {
      throw new NodeError(
        `working directory not found: ${shownPath(dir)} (` +
          (endsInNewline(dir)
            ? `it ends in a newline, ${TRAILING_NEWLINE_HINT})`
            : "set cwd to an existing directory)"),
      );
    }
    if (code === "EACCES" || code === "EPERM") {
      throw new NodeError(`permission denied: ${shownPath(dir)} (the cwd of the command)`);
    }
    throw new NodeError(
      `cannot use working directory ${shownPath(dir)}: ${(error as Error).message.split("\n")[0]}`,
    );
  }
  if (!info.isDirectory()) {
    throw new NodeError(
      `working directory is not a directory: ${shownPath(dir)} (set cwd to a directory)`,
    );
  }
  return dir;
}

/** The `stdin` param as text: a string as is, anything else as JSON. */
function stdinText(value: unknown): string {
  return typeof value === "string" ? value : paramJson(value, "stdin");
}

/** The first line of a command (or its program and arguments), shortened for messages. */
function commandHead(program: Program): string {
  const command = "command" in program
    ? program.command
    : program.args.map((a) => /^[\w./:=@%+-]+$/.test(a) ? a : JSON.stringify(a)).join(" ");
  const lines = command.trim().split("\n");
  let head = lines[0];
  if (head.length > 60) head = `${head.slice(0, 57)}...`;
  else if (lines.length > 1) head = `${head} ...`;
  return head;
}

/**
 * The script that runs `args` (its positional parameters): `exec "$@"`,
 * after saying in a line of its own (on stderr, with the shell's exit
 * status) what `exec` would say as `pflow-args: 1: exec: x: not found`: a
 * program that is not there (127) or not executable (126).
 */
const EXEC_ARGS = 'case $1 in */*) if [ ! -e "$1" ]; then printf \'program not found: %s\\n\' "$1" >&2; exit 127; ' +
  'elif [ -d "$1" ] || [ ! -x "$1" ]; then printf \'program is not executable: %s\\n\' "$1" >&2; exit 126; fi ;; ' +
  '*) command -v -- "$1" >/dev/null 2>&1 || { printf \'program not found: %s (not in PATH)\\n\' "$1" >&2; exit 127; } ;; ' +
  'esac; exec "$@"';

/** A command line for /bin/sh, or a program with its arguments (run without interpretation). */
type Program = { command: string } | { args: string[] };

interface RunOptions {
  cwd?: string;
  env: Record<string, string>;
  input?: string;
  timeout: number;
  maxOutputBytes: number;
  stdoutEncoding: StdoutEncoding;
  /** The node's id, to say which command a warning is about. */
  nodeId?: string;
}

async function run(
  program: Program,
  opts: RunOptions,
  ctx: RunContext,
): Promise<ShellResult> {
  // Loaded when a shell node runs, not at every start-up.
  const { spawn } = await import("node:child_process");
  return await new Promise((resolvePromise, reject) => {
    let child: ChildProcess;
    // `args` run as `exec "$@"`: the shell only registers the group (see watchCommand), then becomes the
    // program; the arguments are its positional parameters, never parsed as shell text.
    const watch = watchCommand("command" in program ? program.command : EXEC_ARGS, spawn);
    const positional = "args" in program ? ["pflow-args", ...program.args] : [];
    try {
      child = spawn("/bin/sh", ["-c", watch.script, ...positional], {
        cwd: opts.cwd,
        env: opts.env,
        detached: true, // own process group: kill(-pid) reaches grandchildren
        stdio: ["pipe", "pipe", "pipe", ...watch.stdio],
      });
    } catch (error) {
      reject(
        new NodeError(`could not start /bin/sh: ${(error as Error).message}`),
      );
      return;
    }

    let stopped: Error | undefined; // why we killed the command, if we did
    let settled = false;
    const timers: { clear(): void }[] = [];

    const finish = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      for (const t of timers) t.clear();
      ctx.signal.removeEventListener("abort", onAbort);
      untrack();
      outcome();
    };

    /** After SIGKILL: stop waiting for pipes that something outside the group still holds. */
    const giveUpOnPipes = () => {
      timers.push(setLongTimeout(() => {
        child.stdout?.destroy();
        child.stderr?.destroy();
        finish(() => reject(stopped));
      }, CLOSE_WAIT_MS));
    };

    const stop = (reason: Error) => {
      if (stopped || settled) return;
      stopped = reason;
      killGroup(child, "SIGTERM");
      timers.push(setLongTimeout(() => {
        killGroup(child, "SIGKILL");
        giveUpOnPipes();
      }, KILL_GRACE_MS));
    };

    // A second interrupt: SIGKILL now, without the grace.
    const untrack = child.pid === undefined ? () => {} : trackProcessGroup({
      pgid: child.pid,
      killNow: () => {
        if (settled) return;
        stopped ??= new InterruptedError();
        for (const t of timers) t.clear();
        timers.length = 0;
        killGroup(child, "SIGKILL");
        giveUpOnPipes();
      },
    }, { watched: watch.watched });

    const stdout = new BoundedCapture(opts.maxOutputBytes);
    const stderr = new BoundedCapture(opts.maxOutputBytes);
    const overflow = (stream: string) =>
      stop(
        new NodeError(
          `command wrote more than ${formatBytes(opts.maxOutputBytes)} to ${stream} (max_output_bytes) and was ` +
            `stopped: ${commandHead(program)} (raise the node's 'max_output_bytes' param, or write the output to ` +
            `a file and read what you need)`,
        ),
      );
    let collecting = true; // false once the node has ended without waiting for pipes a background process holds
    child.stdout!.on("data", (chunk: Buffer) => !collecting || stdout.add(chunk) || overflow("stdout"));
    child.stderr!.on("data", (chunk: Buffer) => !collecting || stderr.add(chunk) || overflow("stderr"));
    // A command that does not read its input closes the pipe: EPIPE is fine.
    child.stdin!.on("error", () => {});
    child.stdin!.end(opts.input ?? "");

    const onAbort = () => stop(new InterruptedError());
    ctx.signal.addEventListener("abort", onAbort, { once: true });
    const timeout = setLongTimeout(() => {
      stop(
        new NodeError(
          `command timed out after ${opts.timeout} s: ${commandHead(program)}` +
            ` (raise the node's 'timeout' param, in seconds)`,
        ),
      );
    }, opts.timeout * 1000);
    timers.push(timeout);

    /** The command's result from what was read: its output and the shell's exit status. */
    const result = (code: number | null, signal: NodeJS.Signals | null): ShellResult => ({
      stdout: stdoutText(stdout.bytes(), opts.stdoutEncoding, program),
      // Diagnostics: a stray byte in them should not hide the command's result.
      stderr: new TextDecoder("utf-8").decode(stderr.bytes()),
      exit_code: exitCode(code, signal),
    });
    const settle = (code: number | null, signal: NodeJS.Signals | null) => {
      if (stopped) return reject(stopped);
      try {
        resolvePromise(result(code, signal));
      } catch (error) {
        reject(error);
      }
    };

    // The shell has exited: its own output is done. A process it started in the background can hold the
    // pipes open for as long as it runs; waiting for it (until the timeout, with a message to raise it) would
    // be wrong, so after a short grace the node ends with the shell's status. The pipes are still drained,
    // unreferenced: closing them would kill a background server with EPIPE at its next log line, and they
    // must not keep pflow running.
    child.on("exit", (code: number | null, signal: NodeJS.Signals | null) => {
      if (stopped || settled) return;
      timeout.clear(); // the command is done: nothing left to time out
      timers.push(setLongTimeout(() => {
        // A timer may fire before the loop has read the pipes' end (a long synchronous stretch elsewhere):
        // let one more round of I/O run before deciding the pipes are held.
        setImmediate(() => {
          if (stopped || settled) return;
          const ended = (s: ChildProcess["stdout"]) => s === null || s.readableEnded || s.destroyed;
          if (ended(child.stdout) && ended(child.stderr)) return; // "close" is on its way
          collecting = false;
          for (const s of [child.stdout, child.stderr]) (s as { unref?: () => void } | null)?.unref?.();
          child.unref();
          const node = opts.nodeId !== undefined ? `node '${opts.nodeId}': ` : "";
          ctx.warn(
            `${node}the command exited (code ${exitCode(code, signal)}) but a process it started in the ` +
              "background still holds its output open; pflow stopped waiting and discards what it writes there " +
              "(redirect the background command's output, e.g. `cmd > /dev/null 2>&1 &`)",
          );
          finish(() => settle(code, signal));
        });
      }, EXITED_PIPE_GRACE_MS));
    });

    child.on("error", (error: NodeJS.ErrnoException) => {
      finish(() => {
        if (stopped) return reject(stopped);
        reject(new NodeError(`could not start /bin/sh: ${error.message}`));
      });
    });

    child.on("close", (code: number | null, signal: NodeJS.Signals | null) => {
      finish(() => settle(code, signal));
    });
  });
}

/**
 * A command's stdout as the node gives it: base64, or strict UTF-8 with a
 * BOM kept (it is data); invalid UTF-8 fails the node rather than being
 * replaced with U+FFFD, which would corrupt binary output silently.
 */
function stdoutText(bytes: Buffer, encoding: StdoutEncoding, program: Program): string {
  if (encoding === "base64") return bytes.toString("base64");
  try {
    return decodeUtf8(bytes, { keepBom: true });
  } catch (error) {
    if (!(error instanceof InvalidUtf8Error)) throw error;
    throw new NodeError(
      `stdout is ${error.message} (line ${error.at.line}): ${commandHead(program)} (for binary or non-UTF-8 ` +
        `output set the node's 'stdout_encoding' param to base64)`,
    );
  }
}

/** Output of one stream, kept up to a bound; past it, nothing more is kept. */
class BoundedCapture {
  readonly #chunks: Buffer[] = [];
  #size = 0;
  #full = false;

  constructor(readonly max: number) {}

  /** Keeps `chunk`; false once the stream has passed the bound (the chunk is dropped). */
  add(chunk: Buffer): boolean {
    if (this.#full) return true; // reported once already
    if (this.#size + chunk.length > this.max) {
      this.#full = true;
      this.#chunks.length = 0;
      return false;
    }
    this.#chunks.push(chunk);
    this.#size += chunk.length;
    return true;
  }

  /** Everything kept. */
  bytes(): Buffer {
    return Buffer.concat(this.#chunks, this.#size);
  }
}

/** A shell's exit status: its code, or 128 + the signal number when a signal ended it. */
function exitCode(code: number | null, signal: NodeJS.Signals | null): number {
  return code ?? 128 + (signal ? signalNumber(signal) ?? 0 : 0);
}

/** Sends `signal` to the child's whole process group. */
function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // ESRCH: the group is already gone. Fall back to the shell itself.
    try {
      child.kill(signal);
    } catch { /* already gone */ }
  }
}

/** The number of `signal` (128 + it is a shell's exit status for it); `node:os` loads only for a signalled child. */
function signalNumber(signal: NodeJS.Signals): number | undefined {
  return process.getBuiltinModule("node:os").constants.signals[signal];
}
