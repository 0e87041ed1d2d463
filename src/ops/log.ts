/**
 * Structured logs: one JSON object per line ({time, level, service, msg, ...fields}), so a log
 * shipper can index request, job and organisation ids without parsing prose. A small logger of our
 * own (pino is not among the dependencies): levels, child loggers that carry fields, errors as
 * {name, message, code, stack}. debug and info go to stdout, warn and error to stderr.
 *
 * The two start-up banners of `npm start` (the URL, the first admin key) stay plain text: they
 * are for the person at the terminal, and scripts read them.
 */

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export type LogFields = Record<string, unknown>;

/** Where lines go; tests give their own. */
export type LogSink = (line: string, level: Exclude<LogLevel, 'silent'>) => void;

// Through console (not process.stdout.write) so whatever captures console output, a test harness
// included, sees the lines.
const processSink: LogSink = (line, level) => {
  if (level === 'warn' || level === 'error') console.error(line);
  else console.log(line);
};

function errorFields(err: unknown): unknown {
  if (!(err instanceof Error)) return err;
  const code = (err as { code?: unknown }).code;
  return { name: err.name, message: err.message, ...(code !== undefined ? { code } : {}), stack: err.stack };
}

/** Values JSON would lose or choke on: errors, bigints. */
function serialisable(fields: LogFields): LogFields {
  const out: LogFields = {};
  for (const [k, v] of Object.entries(fields)) {
    if (v === undefined) continue;
    out[k] = v instanceof Error ? errorFields(v) : typeof v === 'bigint' ? v.toString() : v;
  }
  return out;
}

export class Logger {
  constructor(
    private readonly fields: LogFields,
    private readonly state: { level: LogLevel; sink: LogSink; base: LogFields },
  ) {}

  /** A logger whose every line also carries `fields` (e.g. a request's or a job's ids). */
  child(fields: LogFields): Logger {
    return new Logger({ ...this.fields, ...fields }, this.state);
  }

  /** Level and process-wide fields (e.g. service: api or worker) of this logger and all its children. */
  configure(options: { level?: LogLevel; base?: LogFields }): void {
    if (options.level) this.state.level = options.level;
    if (options.base) this.state.base = { ...this.state.base, ...options.base };
  }

  enabled(level: Exclude<LogLevel, 'silent'>): boolean {
    return RANK[level] >= RANK[this.state.level];
  }

  private write(level: Exclude<LogLevel, 'silent'>, msg: string, fields?: LogFields): void {
    if (!this.enabled(level)) return;
    const record = { time: new Date().toISOString(), level, ...this.state.base, ...serialisable(this.fields), msg, ...(fields ? serialisable(fields) : {}) };
    let line: string;
    try {
      line = JSON.stringify(record);
    } catch {
      line = JSON.stringify({ time: record.time, level, msg, note: 'fields not serialisable' });
    }
    this.state.sink(line, level);
  }

  debug(msg: string, fields?: LogFields): void {
    this.write('debug', msg, fields);
  }
  info(msg: string, fields?: LogFields): void {
    this.write('info', msg, fields);
  }
  warn(msg: string, fields?: LogFields): void {
    this.write('warn', msg, fields);
  }
  error(msg: string, fields?: LogFields): void {
    this.write('error', msg, fields);
  }
}

export function createLogger(fields: LogFields = {}, options: { level?: LogLevel; sink?: LogSink } = {}): Logger {
  return new Logger(fields, { level: options.level ?? 'info', sink: options.sink ?? processSink, base: {} });
}

/**
 * The process's logger. Entry points set its level and `service` (api or worker) at start; modules
 * take children of it.
 */
export const log = createLogger();
log.configure({ base: { service: 'speechmark' } });
