/**
 * Structured logs on stderr: `--log-format text|json` and `PFLOW_LOG_LEVEL`.
 * JSON records carry `execution_id`, `trace_id`, `span_id` and `node_id`,
 * so logs and traces join. Every line goes through the output redactor.
 * @module
 */
import { scopes } from "./scope.ts";
import type { NodeExecution, TelemetrySink } from "./telemetry.ts";

/** Log levels, lowest first. */
export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;

/** One level. */
export type LogLevel = typeof LOG_LEVELS[number];

/** Options of {@link Logger}. */
export interface LoggerOptions {
  /** `text` (default) or `json`. */
  format: "text" | "json";
  /** Records below this level are dropped (default `warn`). */
  level: LogLevel;
  /** Writes one line to stderr. */
  write: (line: string) => void;
  /** Styles text-mode lines (colours). */
  style?: { yellow(t: string): string; red(t: string): string; dim(t: string): string };
}

/** Fields every record of a run carries. */
export interface LogContext {
  execution_id?: string;
  trace_id?: string;
  span_id?: string;
}

/** Parses `PFLOW_LOG_LEVEL`; undefined when unset, an error message when invalid. */
export function parseLogLevel(text: string | undefined): LogLevel | undefined {
  if (text === undefined || text === "") return undefined;
  const level = text.toLowerCase() === "warning" ? "warn" : text.toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    throw new RangeError(`PFLOW_LOG_LEVEL must be one of ${LOG_LEVELS.join(", ")}, got '${text}'`);
  }
  return level as LogLevel;
}

/** A leveled logger writing text or JSON lines. */
export class Logger {
  /** Fields added to every record. */
  context: LogContext = {};
  readonly #options: LoggerOptions;
  readonly #min: number;

  /** @param options format, level and output */
  constructor(options: LoggerOptions) {
    this.#options = options;
    this.#min = LOG_LEVELS.indexOf(options.level);
  }

  /** `text` or `json`. */
  get format(): "text" | "json" {
    return this.#options.format;
  }

  /** Whether records of `level` are written. */
  enabled(level: LogLevel): boolean {
    return LOG_LEVELS.indexOf(level) >= this.#min;
  }

  /** Debug detail (node executions, LLM calls). */
  debug(message: string, fields: Record<string, unknown> = {}): void {
    this.#log("debug", message, fields);
  }

  /** What the run is doing. */
  info(message: string, fields: Record<string, unknown> = {}): void {
    this.#log("info", message, fields);
  }

  /** Something to know that did not stop the run. */
  warn(message: string, fields: Record<string, unknown> = {}): void {
    this.#log("warn", message, fields);
  }

  /** A failure. */
  error(message: string, fields: Record<string, unknown> = {}): void {
    this.#log("error", message, fields);
  }

  /**
   * A stack trace (`--verbose`): as it is in text logs, as one record with a
   * `stack` field in JSON logs, so the stream stays one JSON record per line.
   */
  stack(stack: string, write: (text: string) => void): void {
    if (this.#options.format === "json") this.#log("error", "stack trace", { stack }, true);
    else write(stack);
  }

  /** A message the user always sees (written at `info` whatever the level). */
  notice(message: string, fields: Record<string, unknown> = {}): void {
    this.#log("info", message, fields, true);
  }

  #log(level: LogLevel, message: string, fields: Record<string, unknown>, always = false): void {
    if (!always && !this.enabled(level)) return;
    const node = scopes.getStore()?.node;
    if (this.#options.format === "json") {
      const record: Record<string, unknown> = {
        timestamp: new Date().toISOString(),
        level,
        message,
        execution_id: null,
        trace_id: null,
        span_id: null,
        ...this.context,
        node_id: node?.node_id ?? null,
        ...(node?.span_id ? { span_id: node.span_id } : {}),
        ...fields,
      };
      this.#options.write(JSON.stringify(record));
      return;
    }
    const style = this.#options.style;
    const where = fields.node_id ?? node?.node_id;
    const prefix = level === "warn"
      ? (style?.yellow("warning:") ?? "warning:")
      : level === "error"
      ? (style?.red("error:") ?? "error:")
      : level === "debug"
      ? (style?.dim("debug:") ?? "debug:")
      : "";
    // A message that names its node already (`node 'a': …`) is not prefixed with it again.
    const tag = where && level !== "error" && !always && !message.startsWith(`node '${where}'`);
    const text = `${prefix ? `${prefix} ` : ""}${tag ? `[${where}] ` : ""}${message}`;
    this.#options.write(text);
  }
}

/** A telemetry sink that logs each node execution at `debug`. */
export class LogSink implements TelemetrySink {
  /** Logs each execution as it ends: keeps none. */
  readonly keepsExecutions = false;
  /** @param logger where records go */
  constructor(private readonly logger: Logger) {}

  /** Logs one node execution. */
  nodeEnd(exec: NodeExecution): void {
    this.logger.debug(`node ${exec.node_id} ${exec.status} in ${exec.duration_ms.toFixed(2)} ms`, {
      node_id: exec.node_id,
      ...(exec.span_id ? { span_id: exec.span_id } : {}),
      node_type: exec.node_type,
      status: exec.status,
      action: exec.action,
      duration_ms: Math.round(exec.duration_ms * 100) / 100,
      llm_calls: exec.llm_calls,
    });
  }
}
