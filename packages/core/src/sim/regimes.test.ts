import { formatEventLine } from '../event-json';
import type { InputEvent, StockQuote, StockTrade } from '../events';
import { COND_INTERMARKET_SWEEP } from './market';
import { MARKET_REGIMES, regimeAt, regimeSchedule, type SessionRegime } from './regimes';
import { simulateSession } from './session';

const run = (regime: SessionRegime, seed: number, durationMs: number): InputEvent[] => [...simulateSession({ seed, durationMs, regime })];

function stats(events: InputEvent[]) {
  const trades = events.filter((e): e is StockTrade => e.schema === 'stocks.trades.v1');
  const quotes = events.filter((e): e is StockQuote => e.schema === 'stocks.quotes.v1');
  const px = trades.map((t) => t.price);
  return {
    trades,
    quotes,
    options: events.filter((e) => e.schema === 'options.trades.v1').length,
    sweepPrints: trades.filter((t) => t.conditions.includes(COND_INTERMARKET_SWEEP)).length,
    range: Math.max(...px) - Math.min(...px),
    first: px[0]!,
    last: px[px.length - 1]!,
  };
}

describe('market regimes', () => {
  it('the default regime is the original session, byte for byte', () => {
    const a = [...simulateSession({ seed: 4, durationMs: 20_000 })].map(formatEventLine);
    expect([...simulateSession({ seed: 4, durationMs: 20_000, regime: 'session' })].map(formatEventLine)).toEqual(a);
    expect(run('trending', 4, 20_000).map(formatEventLine)).not.toEqual(a);
  });

  it.each([...MARKET_REGIMES, 'mixed' as const])('%s: seeded and deterministic, valid book (never crossed, event time non-decreasing)', (regime) => {
    const a = run(regime, 6, 30_000);
    expect(run(regime, 6, 30_000).map(formatEventLine)).toEqual(a.map(formatEventLine));
    expect(run(regime, 7, 30_000).map(formatEventLine)).not.toEqual(a.map(formatEventLine));
    let q: StockQuote | null = null;
    let last = -1n;
    for (const e of a) {
      expect(e.ts_event_ns).toBeGreaterThanOrEqual(last);
      last = e.ts_event_ns;
      if (e.schema === 'stocks.quotes.v1') {
        expect(e.ask_px).toBeGreaterThan(e.bid_px);
        expect(Number.isFinite(e.bid_px) && Number.isFinite(e.ask_px)).toBe(true);
        q = e;
      }
    }
    expect(q).not.toBeNull();
  });

  it("quiet: the issue's balanced market — one-cent spread, 2,000–4,000 shares quoted, no options flow, no sweeps", () => {
    const s = stats(run('quiet', 11, 5 * 60_000));
    expect(s.options).toBe(0);
    expect(s.sweepPrints).toBe(0);
    const oneCent = s.quotes.filter((q) => Math.round((q.ask_px - q.bid_px) * 100) === 1).length;
    expect(oneCent / s.quotes.length).toBeGreaterThan(0.95);
    // Refreshed levels sit at 2,000–4,000; the touch is below only while trades are eating it.
    const sizes = s.quotes.flatMap((q) => [q.bid_sz, q.ask_sz]);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(4000);
    expect(sizes.filter((x) => x >= 1500).length / sizes.length).toBeGreaterThan(0.7);
    expect(s.range).toBeLessThan(0.5);
  });

  it('trending moves price through levels with sweeps and dealer-chasing option flow; pinned stays at its strike; news jumps', () => {
    const trend = stats(run('trending', 3, 6 * 60_000));
    const pin = stats(run('pinned', 3, 6 * 60_000));
    const news = stats(run('news', 3, 4 * 60_000));
    const quiet = stats(run('quiet', 3, 6 * 60_000));
    expect(trend.sweepPrints).toBeGreaterThan(20);
    expect(trend.options).toBeGreaterThan(150);
    expect(trend.range).toBeGreaterThan(2 * quiet.range);
    // Pinned: price ends within 50 cents of the strike nearest the start (680), and traded on both sides of it.
    expect(Math.abs(pin.last - 680)).toBeLessThan(0.5);
    expect(pin.trades.some((t) => t.price < 680) && pin.trades.some((t) => t.price > 680)).toBe(true);
    expect(news.sweepPrints).toBeGreaterThan(20);
    expect(news.range).toBeGreaterThan(1);
  });

  it('mixed: a seeded schedule covering the session, no regime twice in a row; regimeAt reads it', () => {
    const day = 6.5 * 3_600_000;
    for (const seed of [1, 2, 3, 11, 30]) {
      const s = regimeSchedule('mixed', seed, day);
      expect(s[0]!.startMs).toBe(0);
      expect(s[s.length - 1]!.endMs).toBe(day);
      for (let i = 1; i < s.length; i++) {
        expect(s[i]!.startMs).toBe(s[i - 1]!.endMs);
        expect(s[i]!.regime).not.toBe(s[i - 1]!.regime);
      }
      expect(regimeAt(s, 0)).toBe(s[0]!.regime);
      expect(regimeAt(s, s[1]!.startMs)).toBe(s[1]!.regime);
      expect(regimeSchedule('mixed', seed, day)).toEqual(s);
    }
    const all = new Set([1, 2, 3, 4, 5].flatMap((seed) => regimeSchedule('mixed', seed, day).map((x) => x.regime)));
    expect([...all].sort()).toEqual([...MARKET_REGIMES].sort());
    expect(regimeSchedule('pinned', 1, 1000)).toEqual([{ regime: 'pinned', startMs: 0, endMs: 1000 }]);
  });
});
