/**
 * The agent's and the operator's own log: one JSON object per line on stderr, each with a
 * real `level` (debug, info, warn, error) and filtered by `--log-level`, as log collectors
 * (Loki, Fluent Bit, the OTel filelog receiver) expect from a Kubernetes component.
 *
 * Modules below the entry points keep the plain `(message, fields)` function they already
 * take (src/kube, src/operator and src/agent know nothing of this file); a call that is not
 * routine says so with a `level` field, e.g. `log("watch failed, retrying", {level: "warn"})`.
 * No SDK import here: `scan` may load this without the OpenTelemetry SDK.
 */

export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** What src/kube, src/operator and src/agent call; `fields.level` picks the level (default info). */
export type LogFn = (message: string, fields?: Record<string, unknown>) => void;

export function isLogLevel(v: unknown): v is LogLevel {
  return typeof v === "string" && (LOG_LEVELS as readonly string[]).includes(v);
}

/** `--log-level` (or SOCKLENS_LOG_LEVEL): a level name, else an error that lists the valid ones. */
export function parseLogLevel(text: string | undefined, fallback: LogLevel = "info"): LogLevel {
  if (text === undefined || text === "") return fallback;
  const v = text.trim().toLowerCase();
  // "warning" is what klog/zap users type; accept it rather than fail on a synonym.
  if (v === "warning") return "warn";
  if (isLogLevel(v)) return v;
  throw new RangeError(`"${text}" is not a log level; use one of ${LOG_LEVELS.join(", ")}`);
}

export interface LoggerOptions {
  level: LogLevel;
  /** Where a finished line goes (stderr in the programs, an array in tests). */
  write: (line: string) => void;
  /** Fields on every line, e.g. {node} or {identity}. */
  base?: Record<string, unknown>;
  now?: () => Date;
}

export class Logger {
  readonly #min: number;
  constructor(private readonly o: LoggerOptions) {
    this.#min = LOG_LEVELS.indexOf(o.level);
  }

  enabled(level: LogLevel): boolean {
    return LOG_LEVELS.indexOf(level) >= this.#min;
  }

  debug(message: string, fields?: Record<string, unknown>): void {
    this.write("debug", message, fields);
  }
  info(message: string, fields?: Record<string, unknown>): void {
    this.write("info", message, fields);
  }
  warn(message: string, fields?: Record<string, unknown>): void {
    this.write("warn", message, fields);
  }
  error(message: string, fields?: Record<string, unknown>): void {
    this.write("error", message, fields);
  }

  /** The `(message, fields)` function for modules that take one; honours `fields.level`. */
  readonly log: LogFn = (message, fields = {}) => {
    const { level, ...rest } = fields;
    this.write(isLogLevel(level) ? level : "info", message, rest);
  };

  write(level: LogLevel, message: string, fields: Record<string, unknown> = {}): void {
    if (!this.enabled(level)) return;
    // time, level and msg first and never overwritten by a field of the same name: a log
    // query for level=error must not be fooled by a field called "level".
    const { time: _t, level: _l, msg: _m, ...rest } = { ...this.o.base, ...fields };
    const now = (this.o.now ?? (() => new Date()))();
    // JSON.stringify escapes control characters, so a hostile process name in a field
    // cannot start a new line.
    this.o.write(`${JSON.stringify({ time: now.toISOString(), level, msg: message, ...rest })}\n`);
  }
}
