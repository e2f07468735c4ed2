import { parseConfig } from './config';
import { FuelEngine, customerSign, hvlOf, newFuelReading } from './fuel';
import type { InputEvent } from './events';
import type { Level } from './signals';
import { greeks, ms, optTrade } from './test-support';

const L: Level = { id: 'STRIKE_545', price: 545, kind: 'STRIKE' };
const C545 = { symbol: 'O:SPY240513C00545000', strike: 545, right: 'C' as const };
const P544 = { symbol: 'O:SPY240513P00544000', strike: 544, right: 'P' as const };

function run(events: InputEvent[], cfgRaw: object = {}): FuelEngine {
  const e = new FuelEngine(parseConfig(cfgRaw));
  for (const ev of events) e.onEvent(ev);
  return e;
}
const noWalls = { call_wall: null, put_wall: null, hvl: null };

describe('fuel engine (§5.3)', () => {
  it('customer sign: feed aggressor, then option BBO, then tick rule', () => {
    const t = (p: Partial<Parameters<typeof optTrade>[1]>) => optTrade(0, { ...C545, price: 1.0, size: 1, ...p });
    expect(customerSign(t({ aggressor: -1, bid: 0.9, ask: 1.0 }), undefined)).toBe(-1);
    expect(customerSign(t({ bid: 0.9, ask: 1.0 }), undefined)).toBe(1);
    expect(customerSign(t({ price: 0.9, bid: 0.9, ask: 1.0 }), undefined)).toBe(-1);
    expect(customerSign(t({ price: 0.98, bid: 0.9, ask: 1.0 }), undefined)).toBe(1);
    expect(customerSign(t({ price: 0.95, bid: 0.9, ask: 1.0 }), { price: 0.97, sign: 1 })).toBe(-1); // at mid → tick rule
    expect(customerSign(t({ price: 1.05 }), { price: 1.0, sign: -1 })).toBe(1);
    expect(customerSign(t({ price: 1.0 }), { price: 1.0, sign: -1 })).toBe(-1);
    expect(customerSign(t({}), undefined)).toBe(0);
  });

  it('a reading refilled into a caller\'s object (the engine\'s scratch) equals a fresh one, prepared or scanned', () => {
    const e = run([greeks(0, C545.symbol, 545, 'C', 0.05), optTrade(100, { ...C545, price: 1.0, size: 500, bid: 0.9, ask: 1.0 })]);
    const walls = { call_wall: 545, put_wall: null, hvl: 544 };
    const out = newFuelReading();
    const fresh = e.read(L, ms(200), walls);
    expect(e.read(L, ms(200), walls, out)).toBe(out);
    expect(out).toEqual(fresh);
    e.prepareReads([545], ms(200));
    expect(e.read(L, ms(200), walls, out)).toEqual(fresh);
  });

  it('dealer gamma = −s·size·γ·100 and flips sign when customers switch from buying to selling', () => {
    const buying = run([greeks(0, C545.symbol, 545, 'C', 0.05), optTrade(100, { ...C545, price: 1.0, size: 500, bid: 0.9, ask: 1.0 })]);
    const rb = buying.read(L, ms(200), noWalls);
    expect(rb.net_dealer_gamma).toBeCloseTo(-500 * 0.05 * 100, 9);
    expect(rb.effect).toBe('AMPLIFY');
    const selling = run([greeks(0, C545.symbol, 545, 'C', 0.05), optTrade(100, { ...C545, price: 0.9, size: 500, bid: 0.9, ask: 1.0 })]);
    const rs = selling.read(L, ms(200), noWalls);
    expect(rs.net_dealer_gamma).toBeCloseTo(500 * 0.05 * 100, 9);
    expect(rs.effect).toBe('DAMPEN');
    const mixed = run([
      greeks(0, C545.symbol, 545, 'C', 0.05),
      optTrade(100, { ...C545, price: 1.0, size: 500, bid: 0.9, ask: 1.0 }),
      optTrade(200, { ...C545, price: 0.9, size: 300, bid: 0.9, ask: 1.0 }),
    ]);
    expect(mixed.read(L, ms(300), noWalls).net_dealer_gamma).toBeCloseTo(-200 * 0.05 * 100, 9);
  });

  it('uses γ as of the trade time, never a later snapshot', () => {
    const e = run([
      greeks(0, C545.symbol, 545, 'C', 0.05),
      optTrade(100, { ...C545, price: 1.0, size: 10, bid: 0.9, ask: 1.0 }),
      greeks(200, C545.symbol, 545, 'C', 0.5),
    ]);
    expect(e.read(L, ms(300), noWalls).net_dealer_gamma).toBeCloseTo(-10 * 0.05 * 100, 9);
    expect(e.gammaAsOf(C545.symbol, ms(150))).toBe(0.05);
    expect(e.gammaAsOf(C545.symbol, ms(250))).toBe(0.5);
    // a trade with no snapshot at or before it has no gamma and is skipped
    const early = run([optTrade(100, { ...C545, price: 1.0, size: 10, bid: 0.9, ask: 1.0 }), greeks(200, C545.symbol, 545, 'C', 0.05)]);
    expect(early.read(L, ms(300), noWalls).net_dealer_gamma).toBe(0);
  });

  it('NEUTRAL inside ±neutral_gamma; strikes beyond ΔK and flows older than W_g are excluded', () => {
    const e = run([greeks(0, C545.symbol, 545, 'C', 0.001), optTrade(100, { ...C545, price: 1.0, size: 1, bid: 0.9, ask: 1.0 })]);
    expect(e.read(L, ms(200), noWalls).effect).toBe('NEUTRAL');
    const far = run([greeks(0, C545.symbol, 545, 'C', 0.05), optTrade(100, { ...C545, price: 1.0, size: 500, bid: 0.9, ask: 1.0 })]);
    expect(far.read({ id: 'X', price: 547, kind: 'ROUND' }, ms(200), noWalls).net_dealer_gamma).toBe(0);
    expect(far.read(L, ms(120_200), noWalls).net_dealer_gamma).toBe(0);
  });

  it('identifies the call wall, the put wall and the HVL from flow', () => {
    const c546 = { symbol: 'C546', strike: 546, right: 'C' as const };
    const c547 = { symbol: 'C547', strike: 547, right: 'C' as const };
    const p543 = { symbol: 'P543', strike: 543, right: 'P' as const };
    const e = run([
      greeks(0, c546.symbol, 546, 'C', 0.04),
      greeks(0, c547.symbol, 547, 'C', 0.04),
      greeks(0, P544.symbol, 544, 'P', 0.04),
      greeks(0, p543.symbol, 543, 'P', 0.04),
      // customers SELL 546 calls heavily (dealers long gamma there), sell some 547s
      optTrade(100, { ...c546, price: 0.5, size: 1000, bid: 0.5, ask: 0.6 }),
      optTrade(110, { ...c547, price: 0.2, size: 200, bid: 0.2, ask: 0.3 }),
      // customers BUY puts: 544 heavily, 543 a little
      optTrade(120, { ...P544, price: 0.6, size: 3000, bid: 0.5, ask: 0.6 }),
      optTrade(130, { ...p543, price: 0.3, size: 100, bid: 0.2, ask: 0.3 }),
    ]);
    const w = e.walls(ms(200), 545);
    expect(w.call_wall).toBe(546);
    expect(w.put_wall).toBe(544);
    // dealer gamma by strike: 543 −400, 544 −12000, 546 +4000, 547 +800 → cumulative −400, −12400, −8400, −7600: no flip
    expect(w.hvl).toBeNull();
  });

  it('HVL is where the cumulative dealer gamma across strikes changes sign (nearest spot if several)', () => {
    expect(hvlOf(new Map([[543, -100], [544, -50], [545, 400], [546, 10]]), 545.2)).toBe(545);
    expect(hvlOf(new Map([[540, 100], [541, -300], [549, 500]]), 548)).toBe(549);
    expect(hvlOf(new Map([[540, 100], [541, -300], [549, 500]]), 540)).toBe(541);
    expect(hvlOf(new Map([[540, 100], [541, 5]]), 540)).toBeNull();
  });

  it('fuel.greeks_max_age_ms: a snapshot older than it at the trade is not used (0 = any age)', () => {
    const events = [greeks(0, C545.symbol, 545, 'C', 0.05), optTrade(30_000, { ...C545, price: 1.0, size: 10, bid: 0.9, ask: 1.0 })];
    expect(run(events).state.flows).toHaveLength(1);
    expect(run(events, { fuel: { greeks_max_age_ms: 60_000 } }).state.flows).toHaveLength(1);
    expect(run(events, { fuel: { greeks_max_age_ms: 20_000 } }).state.flows).toHaveLength(0);
  });
  it('walls and prepared reads equal a plain scan of the window flows at every tick (cached and incremental paths)', () => {
    // The engine reuses per-strike and per-price folds between ticks; a scan of state.flows in arrival order is the
    // definition. Gammas are irrational-ish so that any change of summation order would show in the last bits.
    const cfg = parseConfig({ fuel: { window_ms: 20_000, wall_window_ms: 60_000 } });
    let x = 99;
    const rnd = () => (x = (x * 1103515245 + 12345) % 2147483648) / 2147483648;
    const e = new FuelEngine(cfg);
    const strikes = [540, 541, 542, 543, 544, 545, 546, 547, 548];
    let tMs = 0;
    let ticks = 0;
    for (const k of strikes) for (const r of ['C', 'P'] as const) e.onEvent(greeks(0, `${r}${k}`, k, r, 0.01 + rnd() / 7));
    while (ticks < 2000) {
      tMs += rnd() * 400;
      const k = strikes[Math.floor(rnd() * strikes.length)]!;
      const right = rnd() < 0.5 ? 'C' : 'P';
      if (rnd() < 0.2) e.onEvent(greeks(tMs, `${right}${k}`, k, right, 0.01 + rnd() / 7));
      else e.onEvent(optTrade(tMs, { symbol: `${right}${k}`, strike: k, right, price: 1, size: 1 + Math.floor(rnd() * 50), aggressor: rnd() < 0.5 ? 1 : -1 }));
      if (rnd() < 0.5) continue;
      ticks++;
      const T = ms(Math.ceil(tMs / 250) * 250);
      e.onTick(T);
      const spot = 540 + rnd() * 8;
      // reference: arrival-order folds over the window
      const from = T - 60_000_000_000n;
      const byStrike = new Map<number, { c: number; p: number; all: number; hasC: boolean; hasP: boolean }>();
      for (const fl of e.state.flows) {
        if (fl.ts <= from || fl.ts > T) continue;
        const b = byStrike.get(fl.strike) ?? { c: 0, p: 0, all: 0, hasC: false, hasP: false };
        if (fl.right === 'C') (b.c += fl.dealerGamma), (b.hasC = true);
        else (b.p += fl.dealerGamma), (b.hasP = true);
        b.all += fl.dealerGamma;
        byStrike.set(fl.strike, b);
      }
      let callWall: number | null = null;
      let putWall: number | null = null;
      let bc = 0;
      let bp = 0;
      for (const k2 of [...byStrike.keys()].sort((a, b) => a - b)) {
        const b = byStrike.get(k2)!;
        if (b.hasC && b.c > bc) (bc = b.c), (callWall = k2);
        if (b.hasP && Math.abs(b.p) > bp) (bp = Math.abs(b.p)), (putWall = k2);
      }
      const hvl = hvlOf(new Map([...byStrike].map(([k2, b]) => [k2, b.all])), spot);
      expect(e.walls(T, spot)).toEqual({ call_wall: callWall, put_wall: putWall, hvl });
      const prices = [Math.round(spot * 2) / 2, Math.round(spot * 2) / 2 + 0.5, 543];
      e.prepareReads(prices, T);
      for (const price of prices) {
        let g = 0;
        for (const fl of e.state.flows) if (fl.ts > T - 20_000_000_000n && fl.ts <= T && Math.abs(fl.strike - price) <= 1.5 + 1e-9) g += fl.dealerGamma;
        expect(e.read({ id: 'X', price, kind: 'STRIKE' }, T, noWalls).net_dealer_gamma).toBe(g);
      }
    }
  });
  it('walls and strike gamma are the same when times are too far apart for float64 offsets (the scan path)', () => {
    // An engine whose first flow is 200 days before the rest can no longer hold times as exact float64 ns offsets and
    // computes walls by a scan of state.flows; an engine fed only the recent flows uses its strike buckets. Both fold
    // in arrival order, so their walls and per-strike sums agree to the bit.
    const cfg = parseConfig({ fuel: { window_ms: 20_000, wall_window_ms: 60_000 } });
    const far = new FuelEngine(cfg);
    const near = new FuelEngine(cfg);
    far.onEvent(greeks(0, C545.symbol, 545, 'C', 0.05));
    far.onEvent(optTrade(1, { ...C545, price: 1, size: 3, aggressor: 1 }));
    const D = 200 * 86_400_000;
    let x = 7;
    const rnd = () => (x = (x * 1103515245 + 12345) % 2147483648) / 2147483648;
    const strikes = [542, 543, 544, 545, 546, 547];
    for (const k of strikes)
      for (const r of ['C', 'P'] as const) {
        const g = greeks(D, `${r}${k}`, k, r, 0.01 + rnd() / 7);
        far.onEvent(g);
        near.onEvent(g);
      }
    let tMs = D;
    for (let tick = 0; tick < 400; tick++) {
      for (let n = 0; n < 3; n++) {
        tMs += rnd() * 300;
        const k = strikes[Math.floor(rnd() * strikes.length)]!;
        const right = rnd() < 0.5 ? 'C' : 'P';
        const tr = optTrade(tMs, { symbol: `${right}${k}`, strike: k, right, price: 1, size: 1 + Math.floor(rnd() * 50), aggressor: rnd() < 0.5 ? 1 : -1 });
        far.onEvent(tr);
        near.onEvent(tr);
      }
      const T = ms(Math.ceil(tMs / 250) * 250);
      far.onTick(T);
      near.onTick(T);
      const spot = 542 + rnd() * 5;
      expect(far.walls(T, spot)).toEqual(near.walls(T, spot));
      for (const k of strikes) expect(far.strikeGamma(k, T)).toBe(near.strikeGamma(k, T));
    }
    expect(far.walls(ms(tMs), 544).call_wall).not.toBeNull();
  });
});
