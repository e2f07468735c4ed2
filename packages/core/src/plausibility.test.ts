import { readDbn, toNormalizedEvents } from '@snap/dbn';
import { fixture } from '../../dbn/src/test-fixtures';
import type { InputEvent } from './events';
import { checkPlausible, CROSSED_TOLERANCE, MAX_PLAUSIBLE_PRICE } from './plausibility';
import { SCENARIOS } from './sim/scenarios';
import { simulateSession } from './sim/session';
import { book, esTrade, genStream, greeks, heartbeat, optTrade, quote, trade } from './test-support';

describe('checkPlausible refuses the impossible', () => {
  it.each<[string, InputEvent, RegExp]>([
    ['quote bid −5', quote(0, -5, 545.01), /bid_px -5 is not positive/],
    ['quote ask 1e308', quote(0, 545, 1e308), /ask_px 1e\+308 is above/],
    ['quote ask NaN', quote(0, 545, NaN), /ask_px is not finite/],
    ['quote bid Infinity', quote(0, Infinity, 545), /bid_px is not finite/],
    ['quote negative size', quote(0, 545, 545.01, -1), /bid_sz -1 is negative/],
    ['quote crossed by 10%', quote(0, 600, 545), /quote crossed/],
    ['quote price 0 with size', quote(0, 0, 545.01, 100), /bid_px 0 is not positive/],
    ['stock trade at 0', trade(0, 0, 100), /price 0 is not positive/],
    ['stock trade size 0', trade(0, 545, 0), /size 0 is not positive/],
    ['stock trade size NaN', trade(0, 545, NaN), /size is not finite/],
    ['futures trade at −1e-9', esTrade(0, -1e-9, 1, 1), /price -1e-9 is not positive/],
    ['futures trade at 1e308', esTrade(0, 1e308, 1, 1), /above/],
    ['option trade negative price', optTrade(0, { symbol: 'C545', strike: 545, right: 'C', price: -0.5, size: 1 }), /price -0.5/],
    ['option trade strike 0', optTrade(0, { symbol: 'C0', strike: 0, right: 'C', price: 0.5, size: 1 }), /strike 0/],
    ['option trade opt_bid −1', optTrade(0, { symbol: 'C545', strike: 545, right: 'C', price: 0.5, size: 1, bid: -1 }), /opt_bid -1/],
    ['greeks delta 3', { ...greeks(0, 'C545', 545, 'C', 0.05), delta: 3 }, /delta 3/],
    ['greeks gamma −0.1', greeks(0, 'C545', 545, 'C', -0.1), /gamma -0.1/],
    ['greeks gamma NaN', greeks(0, 'C545', 545, 'C', NaN), /gamma NaN/],
    ['greeks iv −1', { ...greeks(0, 'C545', 545, 'C', 0.05), implied_volatility: -1 }, /implied_volatility -1/],
    ['book level negative price', (() => { const b = book(0, 5000, 10, 10); b.bid_px[3] = -1; return b; })(), /bid_px\[3\] -1/],
    ['book level NaN price with size', (() => { const b = book(0, 5000, 10, 10); b.ask_px[0] = NaN; return b; })(), /ask_px\[0\] is not finite/],
    ['book crossed by 10%', (() => { const b = book(0, 5000, 10, 10); b.ask_px[0] = 4500; return b; })(), /book crossed/],
    ['book negative size', book(0, 5000, -3, 10), /bid_sz\[0\] -3/],
    ['book deeper size NaN', (() => { const b = book(0, 5000, 10, 10); b.ask_sz[6] = NaN; return b; })(), /^ask_sz\[6\] is not finite \(NaN\)$/],
    ['book deeper size 2e9', (() => { const b = book(0, 5000, 10, 10); b.bid_sz[4] = 2e9; return b; })(), /^bid_sz\[4\] 2000000000 is above 1000000000$/],
    ['book negative count', (() => { const b = book(0, 5000, 10, 10); b.ask_ct[2] = -1; return b; })(), /^ask_ct\[2\] -1 is not a count$/],
    ['book price above the maximum', (() => { const b = book(0, 5000, 10, 10); b.ask_px[9] = 2e7; return b; })(), /^ask_px\[9\] 20000000 is above 10000000$/],
    ['absent book level with a negative price', (() => { const b = book(0, 5000, 10, 10); b.bid_px[8] = -2; b.bid_sz[8] = 0; return b; })(), /^bid_px\[8\] -2 is not positive$/],
    ['zero event time', { ...trade(0, 545, 100), ts_event_ns: 0n }, /ts_event_ns 0/],
  ])('%s', (_what, e, reason) => {
    expect(checkPlausible(e)).toMatch(reason);
  });
});

describe('checkPlausible accepts what real markets do', () => {
  it('accepts one-sided quotes, locked and slightly crossed markets, absent book levels and heartbeats', () => {
    expect(checkPlausible(quote(0, 0, 545.01, 0, 100))).toBeNull();
    expect(checkPlausible(quote(0, 545, 545))).toBeNull();
    expect(checkPlausible(quote(0, 545.02, 545))).toBeNull();
    expect(checkPlausible(quote(0, 545 * (1 + CROSSED_TOLERANCE) - 0.01, 545))).toBeNull();
    const b = book(0, 5000, 10, 10);
    b.bid_px[9] = NaN;
    b.bid_sz[9] = 0;
    expect(checkPlausible(b)).toBeNull();
    expect(checkPlausible(heartbeat(0))).toBeNull();
    expect(checkPlausible(esTrade(0, MAX_PLAUSIBLE_PRICE / 2, 1, -1))).toBeNull();
  });

  it('accepts every event of the simulator (sessions and scripted scenarios) and of the generated test stream', () => {
    const bad: string[] = [];
    for (const seed of [1, 2, 3]) {
      for (const e of simulateSession({ seed, durationMs: 120_000 })) {
        const r = checkPlausible(e);
        if (r) bad.push(`${e.schema}: ${r}`);
      }
    }
    for (const s of SCENARIOS) {
      for (const e of s.build(1).events) {
        const r = checkPlausible(e);
        if (r) bad.push(`${s.name} ${e.schema}: ${r}`);
      }
    }
    for (const e of genStream(7, 5000)) {
      const r = checkPlausible(e);
      if (r) bad.push(`gen ${e.schema}: ${r}`);
    }
    expect(bad.slice(0, 5)).toEqual([]);
  });

  it("accepts Databento's real ES sample records", async () => {
    for (const f of ['test_data.mbp-10.dbn', 'test_data.trades.dbn']) {
      const r = await readDbn(fixture(f));
      const evs = toNormalizedEvents(r.records, r.metadata!, { underlying: 'SPY', symbolRoot: 'ES' });
      expect(evs.length).toBeGreaterThan(0);
      expect(evs.map(checkPlausible).filter((x) => x !== null)).toEqual([]);
    }
  });
});
