// Argument parsers shared by the CLI commands (commander `argParser`s: a bad value is a usage error naming the option).
import { InvalidArgumentError } from 'commander';
import { checkTimeZone } from '@snap/platform';

/** "120s", "2m", "500ms", "1h", "1.5m"; a bare number is seconds. Milliseconds, > 0. */
export function parseDurationMs(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/i.exec(text);
  if (!m) throw new InvalidArgumentError(`expected a duration like 120s, 2m, 500ms (got ${JSON.stringify(text)})`);
  const n = Number(m[1]);
  const unit = (m[2] ?? 's').toLowerCase();
  const ms = Math.round(n * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[unit as 'ms' | 's' | 'm' | 'h']);
  if (ms <= 0) throw new InvalidArgumentError(`duration must be positive (got ${JSON.stringify(text)})`);
  return ms;
}

/** `--underlying`: an upper-case ticker such as SPY. */
export function underlyingArg(text: string): string {
  if (!/^[A-Z][A-Z0-9.]{0,9}$/.test(text)) throw new InvalidArgumentError(`expected an upper-case ticker such as SPY (got ${JSON.stringify(text)})`);
  return text;
}

/** `--tz`: an IANA zone for the times a command prints (a bad one is a usage error naming it). */
export function tzArg(text: string): string {
  try {
    return checkTimeZone(text);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
}
