// Level universe (plan §4): which prices are critical right now.
// Sources: session VWAP, round numbers (every round_step, plus the half-steps on either side of spot when
// half_round_near_spot), listed strikes near spot (strike_count each side at strike_step), the fuel engine's call
// wall / put wall / HVL, user hotzones (config levels.hotzones) and the session high/low.
// Ids are stable: VWAP, ROUND_545, ROUND_545.5, STRIKE_545, CALL_WALL, PUT_WALL, HVL, HOTZONE_545, SESSION_HIGH,
// SESSION_LOW. When two sources give the same price, one level is kept, by priority
//   CALL_WALL > PUT_WALL > HVL > VWAP > HOTZONE > SESSION_HIGH > SESSION_LOW > STRIKE > ROUND
// (the more specific story wins; it also keeps one row per price downstream). Levels are ordered by price, then id.
// Rounds and strikes are generated within ±max(strike_count·strike_step, 2·round_step) of spot, so the runway
// always has obstacles beyond the monitor band.
// The universe is rebuilt on a cadence (levels.refresh_ms of event time) and at once when a wall or HVL moves;
// between rebuilds prices (VWAP, session extremes) are frozen, which keeps level ids and prices steady for the UI.
//
// Sessions: VWAP and the session high/low reset at the session anchor in New York time — 04:00 ET for
// vwap_anchor 'session' (pre-market open), 09:30 ET for 'rth_open' — with US daylight-saving rules computed from
// the event time (no clock, no time-zone database).
import type { Config } from './config';
import type { Level, LevelKind } from './signals';
import type { FuelWalls } from './fuel';
import { cachedPriceKey, msToNs, priceKey, round4 } from './numeric';

/**
 * Levels whose price follows the market (a new price at each universe refresh). The engine keeps per-level state —
 * smoothing, trigger, episode, the one event — under their id; every other level is its price, whichever id
 * deduplication gives that price at a tick (a PUT_WALL and a STRIKE on one price are one level). Eval's episodes use
 * the same identity (levelKeyOf).
 */
export const MOVING_KINDS: ReadonlySet<LevelKind> = new Set<LevelKind>(['VWAP', 'SESSION_HIGH', 'SESSION_LOW']);

/** The key a level's per-level state is kept under: `@id` for a moving level, priceKey(price) otherwise. */
export const levelKeyOf = (level: Pick<Level, 'id' | 'kind' | 'price'>): string => (MOVING_KINDS.has(level.kind) ? `@${level.id}` : priceKey(level.price));

/** The one order of a level universe: by price, then id (the runway walks it outward from a level). */
export const byPriceThenId = (a: Level, b: Level): number => a.price - b.price || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/**
 * Dedup priority of a kind (lower wins). A switch, not a Record lookup: `record[level.kind]` is a keyed load whose
 * inline cache sees nine property names, so every lookup went through the megamorphic keyed stub (the universe
 * rebuild's dedup does two per comparison); kind strings are internalized, so each case is a pointer compare.
 */
function kindPriority(kind: LevelKind): number {
  switch (kind) {
    case 'CALL_WALL':
      return 0;
    case 'PUT_WALL':
      return 1;
    case 'HVL':
      return 2;
    case 'VWAP':
      return 3;
    case 'USER':
      return 4;
    case 'SESSION_HIGH':
      return 5;
    case 'SESSION_LOW':
      return 6;
    case 'STRIKE':
      return 7;
    case 'ROUND':
      return 8;
  }
}

export interface LevelUniverseState {
  sessionKey: string | null;
  vwapPv: number;
  vwapV: number;
  high: number | null;
  low: number | null;
  levels: Level[];
  lastRefreshNs: bigint | null;
  walls: FuelWalls;
}

export const newLevelUniverseState = (): LevelUniverseState => ({
  sessionKey: null,
  vwapPv: 0,
  vwapV: 0,
  high: null,
  low: null,
  levels: [],
  lastRefreshNs: null,
  walls: { call_wall: null, put_wall: null, hvl: null },
});

/** Second Sunday of March 07:00 UTC to first Sunday of November 06:00 UTC is EDT (UTC−4), else EST (UTC−5). */
export function nyOffsetMinutes(utcMs: number): number {
  const y = new Date(utcMs).getUTCFullYear();
  const nthSunday = (month: number, n: number): number => {
    const first = new Date(Date.UTC(y, month, 1)).getUTCDay();
    return 1 + ((7 - first) % 7) + 7 * (n - 1);
  };
  const start = Date.UTC(y, 2, nthSunday(2, 2), 7);
  const end = Date.UTC(y, 10, nthSunday(10, 1), 6);
  return utcMs >= start && utcMs < end ? -240 : -300;
}

/** Session id (New York date of the session start) for an event time. */
export function sessionKeyOf(tNs: bigint, anchor: 'session' | 'rth_open'): string {
  const utcMs = Number(tNs / 1_000_000n);
  const anchorMin = anchor === 'rth_open' ? 9 * 60 + 30 : 4 * 60;
  const local = utcMs + (nyOffsetMinutes(utcMs) - anchorMin) * 60_000;
  return new Date(local).toISOString().slice(0, 10);
}

/**
 * One level per price (prices are already rounded to 4 decimals, so equal prices are equal priceKeys): the one of the
 * highest kind priority, then the smallest id, the first added on a full tie; in byPriceThenId order. A stable
 * insertion sort by (price, priority, id) puts each price's winner first and a pass keeps it: the candidates arrive
 * nearly sorted (round numbers and strikes ascending), and this took half the time of a Map by price and a sort
 * (levels.test.ts checks it against that). Sorts `levels` in place.
 */
export function dedupByPrice(levels: Level[]): Level[] {
  for (let i = 1; i < levels.length; i++) {
    const x = levels[i]!;
    const px = kindPriority(x.kind);
    let j = i;
    while (j > 0) {
      const y = levels[j - 1]!;
      const py = kindPriority(y.kind);
      if (x.price < y.price || (x.price === y.price && (px < py || (px === py && x.id < y.id)))) {
        levels[j] = y;
        j--;
      } else break;
    }
    levels[j] = x;
  }
  let n = 0;
  for (let i = 0; i < levels.length; i++) {
    if (n > 0 && levels[n - 1]!.price === levels[i]!.price) continue;
    levels[n++] = levels[i]!;
  }
  levels.length = n;
  return levels;
}

const sameWalls = (a: FuelWalls, b: FuelWalls): boolean => a.call_wall === b.call_wall && a.put_wall === b.put_wall && a.hvl === b.hvl;

export class LevelUniverse {
  /** levels.refresh_ms in ns, converted once (update runs every snap tick). */
  private readonly refreshNs: bigint;

  constructor(
    private readonly cfg: Config,
    readonly state: LevelUniverseState = newLevelUniverseState(),
  ) {
    this.refreshNs = msToNs(cfg.levels.refresh_ms);
  }

  /** sessionKeyOf of the UTC minute [minuteLo, minuteHi) of event time (ns); empty range until the first print. */
  private minuteLo = 0n;
  private minuteHi = 0n;
  private minuteKey = '';

  /** Session VWAP and extremes follow the underlying's prints. */
  onTrade(price: number, size: number, tNs: bigint): void {
    if (!(size > 0) || !Number.isFinite(price)) return;
    const s = this.state;
    // The session key is constant within a UTC minute (every boundary — DST switch, anchor, date — is a whole
    // minute), so it is computed once per minute of event time, not per print.
    if (!(tNs >= this.minuteLo && tNs < this.minuteHi)) {
      const minute = Math.floor(Number(tNs / 1_000_000n) / 60_000);
      this.minuteKey = sessionKeyOf(tNs, this.cfg.levels.vwap_anchor);
      // Cache the minute as an ns range only for times ≥ 0 (where ms truncation and the floor agree).
      if (tNs >= 0n) {
        this.minuteLo = BigInt(minute) * 60_000_000_000n;
        this.minuteHi = this.minuteLo + 60_000_000_000n;
      } else this.minuteLo = this.minuteHi = 0n;
    }
    const key = this.minuteKey;
    if (key !== s.sessionKey) {
      s.sessionKey = key;
      s.vwapPv = 0;
      s.vwapV = 0;
      s.high = null;
      s.low = null;
    }
    s.vwapPv += price * size;
    s.vwapV += size;
    if (s.high === null || price > s.high) s.high = price;
    if (s.low === null || price < s.low) s.low = price;
  }

  get vwap(): number | null {
    return this.state.vwapV > 0 ? this.state.vwapPv / this.state.vwapV : null;
  }

  /** Rebuilds when refresh_ms has passed or the walls moved; returns the current levels. */
  update(spot: number, tNs: bigint, walls: FuelWalls): Level[] {
    const s = this.state;
    const due = s.lastRefreshNs === null || tNs - s.lastRefreshNs >= this.refreshNs;
    if (due || !sameWalls(walls, s.walls)) {
      s.walls = { ...walls };
      s.levels = this.build(spot);
      s.lastRefreshNs = tNs;
    }
    return s.levels;
  }

  get levels(): Level[] {
    return this.state.levels;
  }

  /** Level ids of round numbers and strikes by price (a handful of prices recur at every rebuild); bounded. */
  private readonly roundIds = new Map<number, string>();
  private readonly strikeIds = new Map<number, string>();

  build(spot: number): Level[] {
    const c = this.cfg.levels;
    const s = this.state;
    const out: Level[] = [];
    const add = (id: string, price: number, kind: LevelKind): void => {
      if (Number.isFinite(price) && price > 0) out.push({ id, price: round4(price), kind });
    };
    const span = Math.max(c.strike_count * c.strike_step, 2 * c.round_step);
    const vwap = this.vwap;
    if (vwap !== null) add('VWAP', vwap, 'VWAP');
    for (let i = Math.ceil((spot - span) / c.round_step); i * c.round_step <= spot + span + 1e-9; i++) {
      const p = round4(i * c.round_step);
      add(cachedPriceKey(this.roundIds, 'ROUND_', p), p, 'ROUND');
    }
    if (c.half_round_near_spot) {
      const below = Math.floor(spot / c.round_step) * c.round_step;
      for (let h = -1; h <= 3; h += 2) {
        const p = below + (h * c.round_step) / 2;
        if (Math.abs(p - spot) <= c.round_step) add(cachedPriceKey(this.roundIds, 'ROUND_', p), p, 'ROUND');
      }
    }
    const atm = Math.round(spot / c.strike_step);
    for (let i = -c.strike_count; i <= c.strike_count; i++) {
      const p = round4((atm + i) * c.strike_step);
      add(cachedPriceKey(this.strikeIds, 'STRIKE_', p), p, 'STRIKE');
    }
    if (s.walls.call_wall !== null) add('CALL_WALL', s.walls.call_wall, 'CALL_WALL');
    if (s.walls.put_wall !== null) add('PUT_WALL', s.walls.put_wall, 'PUT_WALL');
    if (s.walls.hvl !== null) add('HVL', s.walls.hvl, 'HVL');
    for (const h of c.hotzones) add(`HOTZONE_${priceKey(h)}`, h, 'USER');
    if (s.high !== null) add('SESSION_HIGH', s.high, 'SESSION_HIGH');
    if (s.low !== null) add('SESSION_LOW', s.low, 'SESSION_LOW');

    return dedupByPrice(out);
  }
}
