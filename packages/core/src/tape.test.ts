import { parseConfig } from './config';
import { TapeEngine, aggressorFromQuote, newTapeReading, priceSlope } from './tape';
import type { InputEvent } from './events';
import type { Level } from './signals';
import { ms, quote, trade } from './test-support';

const L: Level = { id: 'STRIKE_545', price: 545, kind: 'STRIKE' };

function run(events: InputEvent[], cfgRaw: object = {}): TapeEngine {
  const e = new TapeEngine(parseConfig(cfgRaw));
  for (const ev of events) e.onEvent(ev);
  return e;
}

describe('tape engine (§5.2)', () => {
  it('classifies the aggressor from the last quote', () => {
    expect(aggressorFromQuote(545.02, 545.0, 545.02)).toBe(1);
    expect(aggressorFromQuote(545.03, 545.0, 545.02)).toBe(1);
    expect(aggressorFromQuote(545.0, 545.0, 545.02)).toBe(-1);
    expect(aggressorFromQuote(545.01, 545.0, 545.02)).toBe(0);
    expect(aggressorFromQuote(545.01, null, null)).toBe(0);
  });

  it('imbalance sign follows the dominant aggressor near the level; mid prints are ignored', () => {
    const sells = run([quote(0, 545.0, 545.02), trade(100, 545.0, 3000), trade(200, 545.0, 1000), trade(300, 545.02, 1000), trade(400, 545.01, 9000)]);
    const r = sells.read(L, ms(500));
    expect(r.sell_vol).toBe(4000);
    expect(r.buy_vol).toBe(1000);
    expect(r.imbalance).toBeCloseTo((1000 - 4000) / (5000 + 1), 12);
    expect(r.imbalance).toBeLessThan(0);
    const buys = run([quote(0, 545.0, 545.02), trade(100, 545.02, 3000)]);
    expect(buys.read(L, ms(500)).imbalance).toBeGreaterThan(0.99);
  });

  it('imbalance only counts prints within band B_t of L and within W_t', () => {
    const e = run([quote(0, 546.0, 546.02), trade(100, 546.0, 5000)]);
    expect(e.read(L, ms(200))).toMatchObject({ buy_vol: 0, sell_vol: 0, imbalance: 0 });
    const old = run([quote(0, 545.0, 545.02), trade(100, 545.0, 5000)]);
    expect(old.read(L, ms(200)).sell_vol).toBe(5000);
    expect(old.read(L, ms(5200)).sell_vol).toBe(0);
  });

  it('velocity is the least-squares slope of price vs time ($/s): sign and magnitude on a linear ramp', () => {
    const up: InputEvent[] = [quote(0, 544.0, 546.0)];
    const down: InputEvent[] = [quote(0, 544.0, 546.0)];
    for (let i = 0; i <= 20; i++) {
      up.push(trade(i * 100, 545 + 0.02 * i * 0.1, 100)); // +0.02 $/s
      down.push(trade(i * 100, 545 - 0.5 * i * 0.1, 100)); // −0.5 $/s
    }
    expect(run(up).read(L, ms(2000)).velocity).toBeCloseTo(0.02, 9);
    expect(run(down).read(L, ms(2000)).velocity).toBeCloseTo(-0.5, 9);
    expect(priceSlope([], 0n)).toBe(0);
    expect(priceSlope([{ ts: 5n, price: 1 }, { ts: 5n, price: 2 }], 5n)).toBe(0);
  });

  function burst(startMs: number, gapMs: number, n: number, price: (i: number) => number, size: number, venue: (i: number) => number | null): InputEvent[] {
    return Array.from({ length: n }, (_, i) => trade(startMs + i * gapMs, price(i), size, venue(i)));
  }

  it('detects a sweep: tight gaps, enough notional, several venues — with its direction', () => {
    const evs = [quote(0, 545.0, 545.02), ...burst(1000, 20, 5, (i) => 545.02 + 0.01 * i, 1000, (i) => i)];
    const r = run(evs).read(L, ms(1200));
    expect(r.sweep.detected).toBe(true);
    expect(r.sweep.direction).toBe('UP');
    expect(r.sweep.notional).toBeCloseTo([0, 1, 2, 3, 4].reduce((a, i) => a + (545.02 + 0.01 * i) * 1000, 0), 6);
    const down = run([quote(0, 545.0, 545.02), ...burst(1000, 20, 5, (i) => 545.0 - 0.01 * i, 1000, () => null)]).read(L, ms(1200));
    expect(down.sweep).toMatchObject({ detected: true, direction: 'DOWN' }); // no venues, but prints keep crossing the spread
  });

  it('a reading refilled into a caller\'s object (the engine\'s scratch) equals a fresh one, sweep included', () => {
    const e = run([quote(0, 545.0, 545.02), ...burst(1000, 20, 5, (i) => 545.02 + 0.01 * i, 1000, (i) => i)]);
    const out = newTapeReading();
    for (const t of [1050, 1200, 9000]) {
      const fresh = e.read(L, ms(t));
      expect(e.read(L, ms(t), out)).toBe(out);
      expect(out).toEqual(fresh);
    }
    expect(e.read(L, ms(1200), out).sweep.detected).toBe(true);
  });

  it('no sweep when the gaps are too large, the notional too small, or neither venues nor crossings qualify', () => {
    const gaps = run([quote(0, 545.0, 545.02), ...burst(1000, 200, 5, () => 545.02, 1000, (i) => i)]);
    expect(gaps.read(L, ms(2000)).sweep.detected).toBe(false);
    const small = run([quote(0, 545.0, 545.02), ...burst(1000, 20, 5, () => 545.02, 100, (i) => i)]);
    expect(small.read(L, ms(1200)).sweep.detected).toBe(false);
    const mids = run([quote(0, 545.0, 545.04), ...burst(1000, 20, 5, () => 545.02, 1000, () => 7)]);
    expect(mids.read(L, ms(1200)).sweep.detected).toBe(false);
  });

  it('a busy tape of separate orders is not one sweep: clusters are cut at sweep_max_span_ms', () => {
    // 40 prints of 200 shares, 20 ms apart (each gap within sweep_max_gap_ms), on rotating venues, all lifting the
    // ask: $4.4M over 800 ms, but no 250 ms of it reaches the $2M sweep notional
    const busy = run([quote(0, 545.0, 545.02), ...burst(1000, 20, 40, () => 545.02, 200, (i) => i % 5)]);
    busy.onTick(ms(1500));
    expect(busy.read(L, ms(1500)).sweep.detected).toBe(false);
    // the same notional inside one 40 ms burst is a sweep
    const one = run([quote(0, 545.0, 545.02), ...burst(1000, 1, 40, () => 545.02, 200, (i) => i % 5)]);
    one.onTick(ms(1500));
    expect(one.read(L, ms(1500)).sweep).toMatchObject({ detected: true, direction: 'UP' });
  });

  it('a sweep stays detected for W_t after its last print, then expires', () => {
    const e = run([quote(0, 545.0, 545.02), ...burst(1000, 20, 5, () => 545.02, 1000, (i) => i)]);
    e.onTick(ms(3000));
    expect(e.read(L, ms(3000)).sweep.detected).toBe(true);
    e.onTick(ms(6100));
    expect(e.read(L, ms(6100)).sweep.detected).toBe(false);
  });

  it('reads after many evictions equal those of an engine rebuilt from the same state (the mirrors\' head and its cuts)', () => {
    // The running engine keeps evicted prints' mirror entries in front of a head and cuts them in batches (and all at
    // once when the window empties); an engine built from a copy of its state starts with none. Both must read the
    // same imbalance, volumes, velocity and sweep, through several cuts, a window that empties, and late prints.
    const cfg = parseConfig({});
    const e = new TapeEngine(cfg);
    e.onEvent(quote(0, 545.0, 545.02));
    let x = 4242;
    const rnd = () => (x = (x * 1103515245 + 12345) % 2147483648) / 2147483648;
    let tMs = 0;
    let cuts = 0;
    for (let i = 0; i < 24_000; i++) {
      // ~2 ms apart (a window of ~2,500 prints), one 8 s pause (the window empties), every 97th print late by ≤ 1 s
      tMs += i === 12_000 ? 8000 : rnd() * 4;
      const at = i % 97 === 96 ? Math.max(0, tMs - rnd() * 1000) : tMs;
      const price = [545.0, 545.01, 545.02, 545.03][Math.floor(rnd() * 4)]!;
      e.onEvent(trade(at, price, Math.floor(rnd() * 900) + 1, Math.floor(rnd() * 3)));
      if (i % 100 === 99) {
        const t = ms(tMs);
        const before = (e as unknown as { mHead: number }).mHead;
        e.onTick(t);
        if ((e as unknown as { mHead: number }).mHead < before) cuts++;
        if (i % 1000 === 999) {
          const fresh = new TapeEngine(cfg, structuredClone(e.state));
          for (const p of [544.99, 545.0, 545.02]) {
            const lvl: Level = { id: 'X', price: p, kind: 'STRIKE' };
            expect(e.read(lvl, t)).toEqual(fresh.read(lvl, t));
          }
        }
      }
    }
    expect(cuts).toBeGreaterThanOrEqual(3);
  });
});

describe('tape times too far apart for float64 offsets', () => {
  it('reads the same as an engine fed only the recent prints (the scan path instead of the float64 mirrors)', () => {
    // The first print 200 days before the rest: offsets from that epoch pass 2^53 ns, the mirrors turn inexact and
    // reads scan the bigint times; the near engine keeps its float64 mirrors and its tick offsets. Same fold, same bits.
    const cfg = parseConfig({});
    const far = new TapeEngine(cfg);
    const near = new TapeEngine(cfg);
    far.onEvent(quote(0, 545.0, 545.02));
    far.onEvent(trade(1, 545.01, 100, 1));
    const D = 200 * 86_400_000;
    far.onEvent(quote(D, 545.0, 545.02));
    near.onEvent(quote(D, 545.0, 545.02));
    let x = 99;
    const rnd = () => (x = (x * 1103515245 + 12345) % 2147483648) / 2147483648;
    let tMs = D;
    for (let tick = 0; tick < 300; tick++) {
      for (let n = 0; n < 4; n++) {
        tMs += rnd() * 60;
        const ev = trade(tMs, [545.0, 545.01, 545.02][Math.floor(rnd() * 3)]!, 1 + Math.floor(rnd() * 900), Math.floor(rnd() * 3));
        far.onEvent(ev);
        near.onEvent(ev);
      }
      const T = ms(Math.ceil(tMs / 250) * 250);
      far.onTick(T);
      near.onTick(T);
      expect(far.velocityAt(T)).toBe(near.velocityAt(T));
      for (const p of [545.0, 545.02]) {
        const lvl: Level = { id: 'X', price: p, kind: 'STRIKE' };
        expect(far.read(lvl, T)).toEqual(near.read(lvl, T));
      }
    }
    expect((far as unknown as { exact: boolean }).exact).toBe(false);
    expect((near as unknown as { exact: boolean }).exact).toBe(true);
  });
});

describe('tape sweep reading', () => {
  it('reports the largest sweep of the window, not merely the latest', () => {
    const e = new TapeEngine(parseConfig({}));
    const evs: InputEvent[] = [quote(0, 545.0, 545.02)];
    // a big DOWN sweep, then a small UP one 1 s later
    for (let i = 0; i < 5; i++) evs.push(trade(1000 + i * 20, 545.0 - 0.01 * i, 3000, i));
    for (let i = 0; i < 3; i++) evs.push(trade(2000 + i * 20, 545.02, 400, i));
    evs.forEach((ev) => e.onEvent(ev));
    e.onTick(ms(2500));
    const r = e.read({ id: 'L', price: 545, kind: 'ROUND' }, ms(2500));
    expect(r.sweep.detected).toBe(true);
    expect(r.sweep.direction).toBe('DOWN');
    expect(r.sweep.notional).toBeGreaterThan(7_000_000);
  });
});
