// Issue 15: long simulated sessions wrote invalid books (`ask_sz.0 … received null`). Aggression can take a whole
// side of the SPY book within a step; until the next step refills it the mid is infinite, and strikes, option prices
// and dealer gamma computed off it turned NaN — once in the dealers' hedge need, NaN for the rest of the session.
// Also: several underlyings at once, and the realistic-density option.
import { formatEventLine, parseEventLine } from '../event-json';
import type { FuturesMbp10, InputEvent, StockQuote } from '../events';
import { MarketSim } from './market';
import { mulberry32 } from './rng';
import { SESSION_OPEN_NS, UNDERLYING_PROFILES, simulateMarket, simulateSession, underlyingSeed } from './session';

/**
 * Every event passes the strict JSONL validator (the one that dead-lettered the null sizes); MBP-10 books are sane.
 * Failures are collected and asserted once (an expect() per field would dominate the run time).
 */
function expectValid(events: Iterable<InputEvent>): { n: number; mbp: number } {
  let n = 0;
  let mbp = 0;
  const bad: string[] = [];
  for (const e of events) {
    n++;
    try {
      parseEventLine(formatEventLine(e), n);
    } catch (err) {
      bad.push(`event ${n}: ${(err as Error).message}`);
    }
    if (e.schema === 'futures.mbp10.v1') {
      mbp++;
      const m = e as FuturesMbp10;
      let ok = m.ask_px[0]! > m.bid_px[0]!;
      for (const x of [...m.bid_sz, ...m.ask_sz, ...m.bid_ct, ...m.ask_ct]) ok &&= Number.isInteger(x) && x > 0;
      for (let i = 1; i < 10; i++) ok &&= m.bid_px[i]! < m.bid_px[i - 1]! && m.ask_px[i]! > m.ask_px[i - 1]!;
      if (!ok) bad.push(`event ${n}: invalid book ${formatEventLine(e)}`);
    }
  }
  expect(bad.slice(0, 3)).toEqual([]);
  return { n, mbp };
}

describe('books stay valid when aggression empties a side of the book', () => {
  it('a sweep that takes every ask, with dealers short gamma and customers trading meanwhile', () => {
    const sim = new MarketSim({ rng: mulberry32(3), startNs: 1_766_415_600_000_000_000n, spot: 680.37 });
    for (let i = 0; i < 5; i++) sim.step(50);
    // Customers buy ATM calls and puts: dealers short gamma, so a move makes them chase it.
    for (const k of [679, 680, 681]) {
      sim.optionTrade(k, 'C', 400, 1);
      sim.optionTrade(k, 'P', 400, 1);
    }
    expect(sim.dealerGamma()).toBeLessThan(0);
    sim.marketOrder(1, 10_000_000);
    expect(Number.isFinite(sim.bestAskCents())).toBe(false);
    // While the side is empty, prints and strikes are quoted off the last mid the dealers hedged at.
    expect(Number.isFinite(sim.refMid())).toBe(true);
    sim.optionTrade(Math.round(sim.refMid()), 'C', 10, 1);
    for (let i = 0; i < 400; i++) sim.step(50);
    expect(Number.isFinite(sim.mid())).toBe(true);
    expect(Number.isFinite(sim.dealerGamma())).toBe(true);
    const { mbp } = expectValid(sim.drain());
    expect(mbp).toBeGreaterThan(10);
  });

  // Seed 12 empties a side about 19 minutes in (before the fix: 321 null-size MBP-10 records by minute 20, and every
  // record after that point in longer runs; the 6-hour seed-1 session lost 62,539).
  it('a 20-minute session that goes through it: every record validates', () => {
    const { n, mbp } = expectValid(simulateSession({ seed: 12, durationMs: 20 * 60_000 }));
    expect(n).toBeGreaterThan(50_000);
    expect(mbp).toBeGreaterThan(10_000);
  }, 120_000);
});

describe('simulateMarket: several underlyings at once', () => {
  const unds = ['SPY', 'QQQ', 'IWM'];
  const events = [...simulateMarket({ seed: 5, durationMs: 60_000, underlyings: unds })];

  it('is globally non-decreasing in event time, carries every underlying, and SPY is exactly its own session', () => {
    let ordered = true;
    for (let i = 1; i < events.length; i++) ordered &&= events[i]!.ts_event_ns >= events[i - 1]!.ts_event_ns;
    expect(ordered).toBe(true);
    expect(new Set(events.map((e) => e.key))).toEqual(new Set(unds));
    const spy = events.filter((e) => e.key === 'SPY').map(formatEventLine);
    expect(spy).toEqual([...simulateSession({ seed: 5, durationMs: 60_000, underlying: 'SPY' })].map(formatEventLine));
    // Listing order does not change any underlying's events.
    const other = [...simulateMarket({ seed: 5, durationMs: 60_000, underlyings: ['IWM', 'QQQ', 'SPY'] })];
    for (const u of unds) expect(other.filter((e) => e.key === u).map(formatEventLine)).toEqual(events.filter((e) => e.key === u).map(formatEventLine));
    expect(underlyingSeed(5, 'QQQ')).not.toBe(underlyingSeed(5, 'IWM'));
  });

  it('each underlying trades at its own spot with its own future (QQQ+NQ, IWM+RTY), and every record validates', () => {
    expectValid(events);
    for (const u of ['QQQ', 'IWM']) {
      const prof = UNDERLYING_PROFILES[u]!;
      const quotes = events.filter((e): e is StockQuote => e.key === u && e.schema === 'stocks.quotes.v1');
      expect(quotes.length).toBeGreaterThan(100);
      expect(Math.max(...quotes.map((q) => Math.abs(q.bid_px - prof.spot)))).toBeLessThan(prof.spot * 0.02);
      const fut = events.filter((e): e is FuturesMbp10 => e.key === u && e.schema === 'futures.mbp10.v1');
      expect(fut.length).toBeGreaterThan(100);
      expect(new Set(fut.map((m) => m.symbol))).toEqual(new Set([prof.futures.symbol]));
      const fair = prof.futures.multiplier * prof.spot + prof.futures.basis;
      expect(Math.max(...fut.map((m) => Math.abs(m.bid_px[0]! - fair)))).toBeLessThan(fair * 0.02);
      expect(events.some((e) => e.key === u && e.schema === 'options.trades.v1' && e.option_symbol.startsWith(`O:${u}`))).toBe(true);
    }
  });
});

describe('realistic density', () => {
  it('quotes at hundreds per second at the open; density normal is the default session', () => {
    const dense = [...simulateSession({ seed: 2, durationMs: 20_000, startNs: SESSION_OPEN_NS, density: 'realistic' })];
    const normal = [...simulateSession({ seed: 2, durationMs: 20_000, startNs: SESSION_OPEN_NS })];
    const quotesPerS = (evs: InputEvent[]) => evs.filter((e) => e.schema === 'stocks.quotes.v1').length / 20;
    expect(quotesPerS(dense)).toBeGreaterThan(200);
    expect(quotesPerS(normal)).toBeLessThan(50);
    expectValid(dense);
    expect([...simulateSession({ seed: 2, durationMs: 20_000, startNs: SESSION_OPEN_NS, density: 'normal' })].map(formatEventLine)).toEqual(normal.map(formatEventLine));
  });
});
