// Keeps the 0DTE option contracts around spot subscribed (T.O:… and Q.O:… for calls and puts) as spot moves.
// Pure logic: spot and event time come in, subscribe/unsubscribe diffs go out. The ws client applies them.
import type { OptionRight } from '@snap/core';
import { formatOptionTicker } from './normalize';

const NS_PER_MS = 1_000_000n;
const MS_PER_DAY = 86_400_000;

/** Days since 1970-01-01 → proleptic Gregorian (y, m, d). Howard Hinnant's civil_from_days. */
function civilFromDays(days: number): { y: number; m: number; d: number } {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  return { y: yoe + era * 400 + (m <= 2 ? 1 : 0), m, d };
}

function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** Day number of the n-th Sunday (n ≥ 1) of a month. 1970-01-01 was a Thursday (weekday 4, Sunday = 0). */
function nthSunday(y: number, m: number, n: number): number {
  const first = daysFromCivil(y, m, 1);
  const wd = (((first + 4) % 7) + 7) % 7;
  return first + ((7 - wd) % 7) + 7 * (n - 1);
}

/**
 * UTC offset of America/New_York in ms at a UTC instant, by the US rule in force since 2007: EDT (−4h) from the
 * second Sunday of March 02:00 EST (07:00 UTC) to the first Sunday of November 02:00 EDT (06:00 UTC), else EST (−5h).
 * Computed, not looked up, so the result never depends on the host's tz database (DESIGN decision 2).
 */
export function newYorkOffsetMs(utcMs: number): number {
  const { y } = civilFromDays(Math.floor(utcMs / MS_PER_DAY));
  const dstStart = nthSunday(y, 3, 2) * MS_PER_DAY + 7 * 3_600_000;
  const dstEnd = nthSunday(y, 11, 1) * MS_PER_DAY + 6 * 3_600_000;
  return utcMs >= dstStart && utcMs < dstEnd ? -4 * 3_600_000 : -5 * 3_600_000;
}

const iso = ({ y, m, d }: { y: number; m: number; d: number }) => `${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;

/** America/New_York calendar date (YYYY-MM-DD) of an event time. */
export function newYorkDate(ts_event_ns: bigint): string {
  const utcMs = Number(ts_event_ns / NS_PER_MS);
  return iso(civilFromDays(Math.floor((utcMs + newYorkOffsetMs(utcMs)) / MS_PER_DAY)));
}

/**
 * The 0DTE expiration for an event time: its New York trading date, rolled forward over weekends and the given
 * exchange holidays (SPY lists daily expiries Monday–Friday; no contract expires on a day the market is shut).
 */
export function zeroDteExpiration(ts_event_ns: bigint, holidays: ReadonlySet<string> = new Set()): string {
  const start = newYorkDate(ts_event_ns);
  const [y, m, d] = start.split('-').map(Number) as [number, number, number];
  let day = daysFromCivil(y, m, d);
  for (let i = 0; i < 14; i++, day++) {
    const wd = (((day + 4) % 7) + 7) % 7;
    const date = iso(civilFromDays(day));
    if (wd !== 0 && wd !== 6 && !holidays.has(date)) return date;
  }
  throw new Error(`no trading day within 14 days of ${start}: holiday list is implausible`);
}

/** Strikes on the `step` grid nearest to `center`, n either side: 2n+1 strikes, ascending. */
export function strikesAround(center: number, n: number, step: number): number[] {
  const c = Math.round(center / step);
  const out: number[] = [];
  // Integer grid index × step, then rounded to 1/1000 (the ticker's resolution) so 0.5 steps do not drift.
  for (let k = c - n; k <= c + n; k++) if (k > 0) out.push(Math.round(k * step * 1000) / 1000);
  return out;
}

export interface SubscriptionDiff {
  subscribe: string[];
  unsubscribe: string[];
}

export function diffSubscriptions(prev: ReadonlySet<string>, next: ReadonlySet<string>): SubscriptionDiff {
  return { subscribe: [...next].filter((s) => !prev.has(s)).sort(), unsubscribe: [...prev].filter((s) => !next.has(s)).sort() };
}

export interface StrikeManagerOptions {
  underlying: string;
  /** ±N strikes around spot (config massive.strikes_around_spot). */
  strikesAroundSpot: number;
  /** Strike grid spacing (config massive.strike_step); SPY 0DTE lists $1 strikes. */
  strikeStep: number;
  /** Channels per contract: trades drive the fuel engine, quotes give their aggressor. */
  channels?: readonly ('T' | 'Q')[];
  /**
   * Re-center only once spot is this fraction of a step past the half-way point between strikes, so a spot
   * oscillating around x.50 does not churn subscriptions every tick.
   */
  hysteresis?: number;
  holidays?: ReadonlySet<string>;
}

export class StrikeManager {
  private center: number | null = null;
  private expiration: string | null = null;
  private current = new Set<string>();

  constructor(private readonly opts: StrikeManagerOptions) {
    if (!(opts.strikeStep > 0)) throw new RangeError(`strikeStep must be > 0 (got ${opts.strikeStep})`);
    if (!(Number.isInteger(opts.strikesAroundSpot) && opts.strikesAroundSpot >= 0)) throw new RangeError(`strikesAroundSpot must be an integer ≥ 0 (got ${opts.strikesAroundSpot})`);
  }

  /** The channels (T.O:…, Q.O:…) that should be subscribed now. */
  subscriptions(): string[] {
    return [...this.current].sort();
  }

  /** The contracts (O:…) currently tracked. */
  contracts(): string[] {
    return [...new Set([...this.current].map((c) => c.slice(c.indexOf('.') + 1)))].sort();
  }

  get expirationDate(): string | null {
    return this.expiration;
  }

  get centerStrike(): number | null {
    return this.center;
  }

  /** Feed a spot observation at an event time; returns what to subscribe and unsubscribe (both empty when nothing changes). */
  update(spot: number, ts_event_ns: bigint): SubscriptionDiff {
    if (!(Number.isFinite(spot) && spot > 0)) return { subscribe: [], unsubscribe: [] };
    const { strikeStep: step, hysteresis = 0.2 } = this.opts;
    const expiration = zeroDteExpiration(ts_event_ns, this.opts.holidays);
    const nearest = Math.round(spot / step) * step;
    const recenter = this.center === null || expiration !== this.expiration || Math.abs(spot - this.center) > step * (0.5 + hysteresis);
    if (!recenter) return { subscribe: [], unsubscribe: [] };
    this.center = nearest;
    this.expiration = expiration;
    const next = new Set<string>();
    const channels = this.opts.channels ?? ['T', 'Q'];
    for (const strike of strikesAround(nearest, this.opts.strikesAroundSpot, step)) {
      for (const right of ['C', 'P'] as OptionRight[]) {
        const ticker = formatOptionTicker(this.opts.underlying, expiration, right, strike);
        for (const ch of channels) next.add(`${ch}.${ticker}`);
      }
    }
    const diff = diffSubscriptions(this.current, next);
    this.current = next;
    return diff;
  }
}
