// Event builders for the core's unit tests (pure; not exported from the package index).
import type { FuturesMbp10, FuturesTrade, GreeksSnapshot, Heartbeat, OptionTrade, StockQuote, StockTrade } from './events';
import { DBN_FLAGS } from './events';
import { mulberry32 } from './sim/rng';

/** 2024-05-13 14:00:00 UTC (10:00 ET), a whole second, so tick boundaries fall on round offsets. */
export const T0 = 1_715_608_800_000_000_000n;
export const ms = (n: number): bigint => T0 + BigInt(Math.round(n * 1000)) * 1000n;
/** ms(n) as the engines hold it on the tick path: float64 ns from an epoch at T0 (event-clock.ts). */
export const msT = (n: number): number => Math.round(n * 1000) * 1000;

const env = (ts: bigint, key = 'SPY') => ({
  schema_version: 1,
  source: 'sim' as const,
  ts_event_ns: ts,
  ts_recv_ns: ts,
  key,
  seq: null,
  event_id: `e${ts}`,
});

export function quote(tMs: number, bid: number, ask: number, bidSz = 10_000, askSz = 10_000, key = 'SPY'): StockQuote {
  return { ...env(ms(tMs), key), schema: 'stocks.quotes.v1', symbol: key, bid_px: bid, ask_px: ask, bid_sz: bidSz, ask_sz: askSz, bid_exch: null, ask_exch: null };
}

export function trade(tMs: number, price: number, size: number, exchange: number | null = null, key = 'SPY'): StockTrade {
  return { ...env(ms(tMs), key), schema: 'stocks.trades.v1', symbol: key, price, size, exchange, conditions: [] };
}

export function optTrade(
  tMs: number,
  o: { symbol: string; strike: number; right: 'C' | 'P'; price: number; size: number; bid?: number | null; ask?: number | null; aggressor?: -1 | 0 | 1 },
): OptionTrade {
  return {
    ...env(ms(tMs)),
    schema: 'options.trades.v1',
    underlying: 'SPY',
    option_symbol: o.symbol,
    exp_date: '2024-05-13',
    strike: o.strike,
    right: o.right,
    price: o.price,
    size: o.size,
    opt_bid: o.bid ?? null,
    opt_ask: o.ask ?? null,
    aggressor: o.aggressor ?? 0,
  };
}

export function greeks(tMs: number, symbol: string, strike: number, right: 'C' | 'P', gamma: number): GreeksSnapshot {
  return {
    ...env(ms(tMs)),
    schema: 'options.greeks_snapshots.v1',
    underlying: 'SPY',
    option_symbol: symbol,
    exp_date: '2024-05-13',
    strike,
    right,
    delta: 0.5,
    gamma,
    theta: 0,
    vega: 0,
    implied_volatility: null,
    open_interest: null,
    last_quote_ts_ns: null,
    last_trade_ts_ns: null,
    snapshot_id: `s${tMs}`,
  };
}

/** A 10-level ES book: bids best-first from bestBid down, asks from bestBid + tick up; sizes per level. */
export function book(
  tMs: number,
  bestBid: number,
  bidSz: number[] | number,
  askSz: number[] | number,
  flags: number = DBN_FLAGS.F_LAST,
  tick = 0.25,
  symbol = 'ESM4',
): FuturesMbp10 {
  const bs = Array.isArray(bidSz) ? bidSz : new Array(10).fill(bidSz);
  const as = Array.isArray(askSz) ? askSz : new Array(10).fill(askSz);
  return {
    ...env(ms(tMs)),
    schema: 'futures.mbp10.v1',
    symbol,
    bid_px: bs.map((_, i) => bestBid - i * tick),
    bid_sz: bs,
    ask_px: as.map((_, i) => bestBid + tick + i * tick),
    ask_sz: as,
    bid_ct: bs.map(() => 1),
    ask_ct: as.map(() => 1),
    flags,
    is_snapshot: false,
  };
}

export function esTrade(tMs: number, price: number, size: number, aggressor: -1 | 0 | 1, symbol = 'ESM4'): FuturesTrade {
  return { ...env(ms(tMs)), schema: 'futures.trades.v1', symbol, price, size, aggressor, venue: null };
}

export function heartbeat(tMs: number, key = 'SPY'): Heartbeat {
  return { ...env(ms(tMs), key), schema: 'heartbeat.v1' };
}

/**
 * A seeded mixed stream around spot ≈ 545 in merged order: SPY quotes and trades (several venues), option trades
 * with greeks, ES MBP-10 books and ES trades, and heartbeats. `n` steps of 37–137 ms each.
 */
export function genStream(seed: number, n: number, startMs = 0): import('./events').InputEvent[] {
  const rnd = mulberry32(seed).next;
  const out: import('./events').InputEvent[] = [];
  let t = startMs;
  let mid = 545 + Math.floor(rnd() * 40 - 20) / 100;
  let bidSz = 8000;
  let askSz = 8000;
  const strikes = [543, 544, 545, 546, 547];
  for (const k of strikes) {
    out.push(greeks(t, `C${k}`, k, 'C', 0.02 + rnd() * 0.06));
    out.push(greeks(t, `P${k}`, k, 'P', 0.02 + rnd() * 0.06));
  }
  for (let i = 0; i < n; i++) {
    t += 37 + Math.floor(rnd() * 100);
    const r = rnd();
    if (r < 0.08) mid = Math.round((mid + (rnd() < 0.5 ? -0.01 : 0.01)) * 100) / 100;
    const bid = Math.round((mid - 0.01) * 100) / 100;
    const ask = Math.round((mid + 0.01) * 100) / 100;
    if (r < 0.35) {
      bidSz = Math.max(100, bidSz + Math.floor((rnd() - 0.5) * 4000));
      askSz = Math.max(100, askSz + Math.floor((rnd() - 0.5) * 4000));
      out.push(quote(t, bid, ask, bidSz, askSz));
    } else if (r < 0.6) {
      out.push(trade(t, rnd() < 0.5 ? bid : ask, 100 * (1 + Math.floor(rnd() * 30)), Math.floor(rnd() * 6)));
    } else if (r < 0.7) {
      const k = strikes[Math.floor(rnd() * strikes.length)]!;
      const right = rnd() < 0.5 ? 'C' : 'P';
      const px = Math.round((0.5 + rnd()) * 100) / 100;
      out.push(optTrade(t, { symbol: `${right}${k}`, strike: k, right, price: px, size: 1 + Math.floor(rnd() * 500), bid: px - 0.02 + Math.floor(rnd() * 3) * 0.02, ask: px + 0.02 }));
    } else if (r < 0.73) {
      const k = strikes[Math.floor(rnd() * strikes.length)]!;
      out.push(greeks(t, `C${k}`, k, 'C', 0.02 + rnd() * 0.06));
    } else if (r < 0.9) {
      const esBid = Math.round(mid * 10 * 4) / 4 + 2;
      const sizes = (): number[] => Array.from({ length: 10 }, () => 20 + Math.floor(rnd() * 200));
      const flags = rnd() < 0.9 ? DBN_FLAGS.F_LAST : rnd() < 0.5 ? 0 : DBN_FLAGS.F_LAST | DBN_FLAGS.F_MAYBE_BAD_BOOK;
      out.push(book(t, esBid, sizes(), sizes(), flags));
    } else if (r < 0.97) {
      const esBid = Math.round(mid * 10 * 4) / 4 + 2;
      const sell = rnd() < 0.5;
      out.push(esTrade(t, sell ? esBid : esBid + 0.25, 1 + Math.floor(rnd() * 40), sell ? -1 : 1));
    } else {
      out.push(heartbeat(t));
    }
  }
  return out;
}
