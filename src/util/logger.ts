import pino from 'pino';

/**
 * The logging surface the core depends on: pino's method shape, so the real logger drops in,
 * while tests can pass `silentLogger`.
 */
export interface Logger {
  debug(obj: object | string, msg?: string): void;
  info(obj: object | string, msg?: string): void;
  warn(obj: object | string, msg?: string): void;
  error(obj: object | string, msg?: string): void;
  child(bindings: Record<string, unknown>): Logger;
}

export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return silentLogger;
  },
};

export type LogFormat = 'json' | 'pretty';

/**
 * Structured logs (JSON, one object per line) for machines; on a terminal, a one-line-per-event
 * rendering that a person can read. Both carry the same fields.
 */
export function createLogger(opts: { level?: string; format?: LogFormat; name?: string } = {}): Logger {
  const format: LogFormat = opts.format ?? (process.stdout.isTTY ? 'pretty' : 'json');
  const level = opts.level ?? process.env.QUORUMMQ_LOG_LEVEL ?? 'info';
  if (format === 'json') return pino({ level, name: opts.name ?? 'quorummq' }) as unknown as Logger;
  return pino({ level, name: opts.name ?? 'quorummq' }, { write: (line: string) => process.stdout.write(prettyLine(line)) }) as unknown as Logger;
}

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO ', 40: 'WARN ', 50: 'ERROR', 60: 'FATAL' };
const OMIT = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'name']);

/** `12:01:02.345 INFO  broker started  port=61613 store=journal` */
export function prettyLine(jsonLine: string): string {
  let rec: Record<string, unknown>;
  try {
    rec = JSON.parse(jsonLine);
  } catch {
    return jsonLine;
  }
  const time = new Date(Number(rec.time ?? Date.now())).toISOString().slice(11, 23);
  const lvl = LEVELS[Number(rec.level)] ?? String(rec.level);
  const fields = Object.entries(rec)
    .filter(([k]) => !OMIT.has(k))
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  return `${time} ${lvl} ${String(rec.msg ?? '')}${fields ? '  ' + fields : ''}\n`;
}
