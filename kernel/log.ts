/**
 * A small leveled logger writing logrus-style text lines to stderr, like dockerd:
 *   time="2026-11-27T18:00:00.000000000Z" level=info msg="..." plugin=graph-vfs
 * No dependency: the daemon logs little and must start fast.
 */
export const LOG_LEVELS = ['panic', 'fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface Logger {
  error(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  debug(msg: string, fields?: Record<string, unknown>): void;
  /** A logger that adds `fields` to every line. */
  child(fields: Record<string, unknown>): Logger;
}

export interface LogSink { write(line: string): void }

export class TextLogger implements Logger {
  constructor(
    private readonly state: { level: LogLevel; format: 'text' | 'json' },
    private readonly sink: LogSink = process.stderr,
    private readonly base: Record<string, unknown> = {},
  ) {}

  setLevel(level: LogLevel): void { this.state.level = level; }
  get level(): LogLevel { return this.state.level; }

  error(msg: string, f?: Record<string, unknown>): void { this.log('error', msg, f); }
  warn(msg: string, f?: Record<string, unknown>): void { this.log('warn', msg, f); }
  info(msg: string, f?: Record<string, unknown>): void { this.log('info', msg, f); }
  debug(msg: string, f?: Record<string, unknown>): void { this.log('debug', msg, f); }

  child(fields: Record<string, unknown>): Logger {
    return new TextLogger(this.state, this.sink, { ...this.base, ...fields });
  }

  private log(level: LogLevel, msg: string, fields?: Record<string, unknown>): void {
    if (LOG_LEVELS.indexOf(level) > LOG_LEVELS.indexOf(this.state.level)) return;
    const all = { ...this.base, ...fields };
    const time = new Date().toISOString();
    if (this.state.format === 'json') {
      this.sink.write(JSON.stringify({ level, msg, time, ...all }) + '\n');
      return;
    }
    let line = `time="${time}" level=${level} msg=${JSON.stringify(msg)}`;
    for (const [k, v] of Object.entries(all)) line += ` ${k}=${formatValue(v)}`;
    this.sink.write(line + '\n');
  }
}

function formatValue(v: unknown): string {
  if (typeof v === 'string') return /^[\w./:@-]+$/.test(v) ? v : JSON.stringify(v);
  if (v instanceof Error) return JSON.stringify(v.message);
  return JSON.stringify(v) ?? 'undefined';
}

/** Discards everything; for tests and tools. */
export const silentLogger: Logger = {
  error() {}, warn() {}, info() {}, debug() {},
  child() { return silentLogger; },
};
