// The one logger: structured JSON lines on stderr (stdout stays free for command output such as `dbn dump`).
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

const jsonSafe = (_k: string, v: unknown) => (typeof v === 'bigint' ? v.toString() : v instanceof Error ? { name: v.name, message: v.message } : v);

/** Secret values (passwords, tokens) registered by platform/secrets.ts: masked as "***" in every line written. */
const secrets = new Set<string>();
let secretPattern: RegExp | null = null;
export function registerSecret(value: string): void {
  // Very short values would mask ordinary words; config secrets are never that short in practice.
  if (value.length < 4 || secrets.has(value)) return;
  secrets.add(value);
  const esc = [...secrets].sort((a, b) => b.length - a.length).map((x) => x.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  secretPattern = new RegExp(esc.join('|'), 'g');
}
/** The text with every registered secret masked (also JSON-escaped forms would contain the raw value's characters). */
export function maskSecrets(text: string): string {
  return secretPattern ? text.replace(secretPattern, '***') : text;
}

export function createLogger(opts: { level?: LogLevel; name?: string; base?: Record<string, unknown>; write?: (line: string) => void } = {}): Logger {
  const min = ORDER[opts.level ?? ((process.env.LOG_LEVEL as LogLevel) || 'info')] ?? ORDER.info;
  const write = opts.write ?? ((line: string) => process.stderr.write(line + '\n'));
  const base = { ...(opts.name ? { name: opts.name } : {}), ...opts.base };
  const log = (level: LogLevel) => (msg: string, fields?: Record<string, unknown>) => {
    if (ORDER[level] < min) return;
    const line = JSON.stringify({ time: new Date().toISOString(), level, msg, ...base, ...fields }, jsonSafe);
    write(secretPattern ? maskSecrets(line) : line);
  };
  return {
    debug: log('debug'),
    info: log('info'),
    warn: log('warn'),
    error: log('error'),
    child: (fields) => createLogger({ ...opts, base: { ...base, ...fields } }),
  };
}
