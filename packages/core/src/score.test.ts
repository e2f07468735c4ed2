import fc from 'fast-check';
import { parseConfig, defaultConfig } from './config';
import { compositeScore, componentScores, confidenceOf, liquidityScore, newTriggerState, stepTrigger, tapeScore, type ComponentScores } from './score';
import { computeRunway, runwayDirection } from './runway';
import type { BarrierReading } from './barrier';
import type { TapeReading } from './tape';
import type { FuelReading } from './fuel';
import type { BarrierStateName, Level } from './signals';
import { ms } from './test-support';

const barrier = (state: BarrierStateName, extra: Partial<BarrierReading> = {}): BarrierReading => ({
  state,
  delta_liq: 0,
  replenishment_ratio: 1,
  added: 0,
  canceled: 0,
  filled: 0,
  defending: null,
  churn: 0,
  passive_volume: 0,
  caveats: [],
  ...extra,
});
const quietTape: TapeReading = { imbalance: 0, buy_vol: 0, sell_vol: 0, velocity: 0, sweep: { detected: false, direction: null, notional: 0 } };
const fuel = (effect: FuelReading['effect']): FuelReading => ({ effect, net_dealer_gamma: 0, call_wall: null, put_wall: null, hvl: null });

describe('component scores (§5.4.1)', () => {
  const cfg = defaultConfig();
  it('maps barrier, fuel and tape to S_L, S_H, S_T', () => {
    expect(liquidityScore('VACUUM', 0, 5000)).toBe(100);
    expect(liquidityScore('WEAK', 0, 5000)).toBe(75);
    expect(liquidityScore('NEUTRAL', 0, 5000)).toBe(50);
    expect(liquidityScore('CONSUMED', -4999, 5000)).toBe(50);
    expect(liquidityScore('CONSUMED', -5001, 5000)).toBe(60);
    expect(liquidityScore('NEUTRAL', -5001, 5000)).toBe(60);
    expect(liquidityScore('WALL', 0, 5000)).toBe(0);
    expect(liquidityScore('ABSORPTION', 0, 5000)).toBe(0);
    expect(componentScores(cfg, barrier('VACUUM'), fuel('AMPLIFY'), quietTape, 'SUPPORT')).toEqual({ liquidity: 100, hedge: 100, tape: 0 });
    expect(componentScores(cfg, barrier('WALL'), fuel('DAMPEN'), quietTape, 'SUPPORT')).toEqual({ liquidity: 0, hedge: 0, tape: 0 });
    expect(componentScores(cfg, barrier('NEUTRAL'), fuel('NEUTRAL'), quietTape, 'SUPPORT').hedge).toBe(50);
  });
  it('S_T: 100 for a sweep in the break direction; else 0–50 from velocity and imbalance toward the break', () => {
    const sweepDown = { ...quietTape, sweep: { detected: true, direction: 'DOWN' as const, notional: 1e6 } };
    expect(tapeScore(sweepDown, 'SUPPORT', 0.05)).toBe(100);
    expect(tapeScore(sweepDown, 'RESISTANCE', 0.05)).toBe(0);
    expect(tapeScore({ ...quietTape, velocity: -0.1, imbalance: -1 }, 'SUPPORT', 0.05)).toBe(50);
    expect(tapeScore({ ...quietTape, velocity: -0.025, imbalance: -0.5 }, 'SUPPORT', 0.05)).toBeCloseTo(25, 9);
    expect(tapeScore({ ...quietTape, velocity: 0.1, imbalance: 1 }, 'SUPPORT', 0.05)).toBe(0);
    expect(tapeScore({ ...quietTape, velocity: 0.1, imbalance: 1 }, 'RESISTANCE', 0.05)).toBe(50);
  });
});

describe('composite (§5.4.2)', () => {
  it('uses the configured weights (defaults 0.45/0.35/0.20)', () => {
    const w = defaultConfig().score;
    expect(compositeScore({ liquidity: 100, hedge: 100, tape: 100 }, w)).toBe(100);
    expect(compositeScore({ liquidity: 100, hedge: 0, tape: 0 }, w)).toBeCloseTo(45, 9);
    expect(compositeScore({ liquidity: 0, hedge: 100, tape: 0 }, w)).toBeCloseTo(35, 9);
    expect(compositeScore({ liquidity: 0, hedge: 0, tape: 100 }, w)).toBeCloseTo(20, 9);
    expect(compositeScore({ liquidity: 100, hedge: 0, tape: 0 }, { w_l: 1, w_h: 0, w_t: 0 })).toBe(100);
    expect(compositeScore({ liquidity: 100, hedge: 0, tape: 0 }, { w_l: 1, w_h: 1, w_t: 2 })).toBe(25);
  });
  it('property: S ∈ [0, 100] for arbitrary component scores and weights', () => {
    const score = fc.double({ min: -1e6, max: 1e6, noNaN: true });
    const weight = fc.double({ min: 0, max: 1e3, noNaN: true });
    fc.assert(
      fc.property(score, score, score, weight, weight, weight, (l, h, t, w_l, w_h, w_t) => {
        const s = compositeScore({ liquidity: l, hedge: h, tape: t }, { w_l, w_h, w_t });
        return s >= 0 && s <= 100;
      }),
      { numRuns: 2000 },
    );
  });
  it('property: S ∈ [0, 100] for arbitrary engine readings', () => {
    const cfg = defaultConfig();
    const states: BarrierStateName[] = ['VACUUM', 'WALL', 'ABSORPTION', 'CONSUMED', 'WEAK', 'NEUTRAL'];
    const num = fc.double({ noNaN: true, noDefaultInfinity: true });
    fc.assert(
      fc.property(fc.constantFrom(...states), fc.constantFrom('AMPLIFY', 'DAMPEN', 'NEUTRAL'), num, num, num, fc.boolean(), fc.constantFrom('SUPPORT', 'RESISTANCE'), (st, eff, dl, v, im, sw, dir) => {
        const tape: TapeReading = { ...quietTape, velocity: v, imbalance: im, sweep: { detected: sw, direction: sw ? 'DOWN' : null, notional: 0 } };
        const c = componentScores(cfg, barrier(st, { delta_liq: dl }), fuel(eff as FuelReading['effect']), tape, dir as 'SUPPORT');
        const s = compositeScore(c, cfg.score);
        return s >= 0 && s <= 100;
      }),
      { numRuns: 2000 },
    );
  });
});

describe('trigger state machine (§5.4.3)', () => {
  const cfg = parseConfig({ score: { hold_ms: 3000 }, snap: { tick_ms: 250 } });
  const step = (st: ReturnType<typeof newTriggerState>, tMs: number, smooth: number, distance = 0.2, extra: Partial<Parameters<typeof stepTrigger>[1]> = {}) =>
    stepTrigger(st, { raw: smooth, smooth, distance, tNs: ms(tMs), barrierState: 'NEUTRAL', tape: quietTape, ...extra }, cfg);

  it('BREAK only after S̃ > 80 is held for hold_ms over consecutive ticks — not before', () => {
    const st = newTriggerState();
    const signals: string[] = [];
    for (let i = 0; i <= 13; i++) signals.push(step(st, i * 250, 85));
    // ticks 0..11 span 2750 ms < 3000: no BREAK yet; tick 12 reaches 3000 ms
    expect(signals.slice(0, 12).every((s) => s === 'NEUTRAL')).toBe(true);
    expect(signals[12]).toBe('BREAK');
    expect(signals[13]).toBe('BREAK');
  });

  it('the BREAK timer runs on the composite S, REJECT on the smoothed S̃', () => {
    const st = newTriggerState();
    const at = (i: number, raw: number, smooth: number, distance = 0.2) =>
      stepTrigger(st, { raw, smooth, distance, tNs: ms(i * 250), barrierState: 'NEUTRAL', tape: quietTape }, cfg);
    // S above 80 for 3 s while S̃ is still catching up below 80: BREAK after hold_ms of S
    for (let i = 0; i < 12; i++) expect(at(i, 85, 70)).toBe('NEUTRAL');
    expect(at(12, 85, 78)).toBe('BREAK');
    // S̃ above 80 but S not: no BREAK timer
    const st2 = newTriggerState();
    for (let i = 0; i <= 13; i++) expect(stepTrigger(st2, { raw: 70, smooth: 85, distance: 0.2, tNs: ms(i * 250), barrierState: 'NEUTRAL', tape: quietTape }, cfg)).toBe('NEUTRAL');
    // REJECT reads S̃: a single quiet tick of S does not fire it, a low S̃ does
    expect(stepTrigger(newTriggerState(), { raw: 5, smooth: 30, distance: 0.01, tNs: 0n, barrierState: 'NEUTRAL', tape: quietTape }, cfg)).toBe('NEUTRAL');
    expect(stepTrigger(newTriggerState(), { raw: 30, smooth: 15, distance: 0.01, tNs: 0n, barrierState: 'NEUTRAL', tape: quietTape }, cfg)).toBe('REJECT');
  });

  it('a dip at or below the threshold restarts the hold timer', () => {
    const st = newTriggerState();
    for (let i = 0; i < 11; i++) step(st, i * 250, 90);
    expect(step(st, 11 * 250, 80)).toBe('NEUTRAL'); // not strictly above
    for (let i = 12; i < 24; i++) expect(step(st, i * 250, 90)).toBe('NEUTRAL');
    expect(step(st, 24 * 250, 90)).toBe('BREAK');
  });

  it('leaving MONITOR_BAND resets the BREAK timer', () => {
    const st = newTriggerState();
    for (let i = 0; i < 10; i++) step(st, i * 250, 90);
    step(st, 10 * 250, 90, 0.6);
    expect(step(st, 13 * 250, 90)).toBe('NEUTRAL');
  });

  it('REJECT needs S̃ < 20 and price within TOUCH_BAND', () => {
    expect(step(newTriggerState(), 0, 10, 0.04)).toBe('REJECT');
    expect(step(newTriggerState(), 0, 10, 0.05)).toBe('REJECT');
    expect(step(newTriggerState(), 0, 10, 0.06)).toBe('NEUTRAL');
    expect(step(newTriggerState(), 0, 25, 0.01)).toBe('NEUTRAL');
  });

  it('CONTESTED for mid scores with CONSUMED liquidity and a strong tape', () => {
    const strong = { ...quietTape, imbalance: -0.7 };
    expect(step(newTriggerState(), 0, 50, 0.1, { barrierState: 'CONSUMED', tape: strong })).toBe('CONTESTED');
    expect(step(newTriggerState(), 0, 50, 0.1, { barrierState: 'CONSUMED', tape: quietTape })).toBe('NEUTRAL');
    expect(step(newTriggerState(), 0, 50, 0.1, { barrierState: 'NEUTRAL', tape: strong })).toBe('NEUTRAL');
  });
});

describe('confidence', () => {
  const all: ComponentScores = { liquidity: 100, hedge: 100, tape: 50 };
  it('HIGH when all components agree, MEDIUM with two, LOW otherwise; caveats lower it', () => {
    expect(confidenceOf(all, 90, barrier('VACUUM'), false)).toBe('HIGH');
    expect(confidenceOf({ liquidity: 100, hedge: 100, tape: 0 }, 80, barrier('VACUUM'), false)).toBe('MEDIUM');
    expect(confidenceOf({ liquidity: 100, hedge: 0, tape: 0 }, 45, barrier('VACUUM'), false)).toBe('MEDIUM');
    expect(confidenceOf({ liquidity: 100, hedge: 50, tape: 25 }, 72, barrier('VACUUM'), false)).toBe('LOW');
    expect(confidenceOf(all, 90, barrier('VACUUM', { caveats: ['CHURN'] }), false)).toBe('MEDIUM');
    expect(confidenceOf(all, 90, barrier('VACUUM', { caveats: ['BAD_BOOK'] }), false)).toBe('LOW');
    expect(confidenceOf(all, 90, barrier('NEUTRAL', { caveats: ['OUT_OF_RANGE'] }), false)).toBe('LOW');
    expect(confidenceOf(all, 90, barrier('VACUUM'), true)).toBe('LOW');
  });
});

describe('runway (§5.5)', () => {
  const lv = (id: string, price: number, kind: Level['kind'] = 'ROUND'): Level => ({ id, price, kind });
  const universe = [lv('PUT_WALL', 542, 'PUT_WALL'), lv('ROUND_544', 544), lv('STRIKE_545', 545, 'STRIKE'), lv('ROUND_546', 546), lv('CALL_WALL', 548, 'CALL_WALL')];
  const neutral = (): BarrierStateName => 'NEUTRAL';

  it('direction: BREAK → break direction, REJECT → bounce direction', () => {
    expect(runwayDirection('BREAK', 'SUPPORT', 90)).toBe('DOWN');
    expect(runwayDirection('REJECT', 'SUPPORT', 10)).toBe('UP');
    expect(runwayDirection('BREAK', 'RESISTANCE', 90)).toBe('UP');
    expect(runwayDirection('REJECT', 'RESISTANCE', 10)).toBe('DOWN');
    expect(runwayDirection('NEUTRAL', 'SUPPORT', 60)).toBe('DOWN');
    expect(runwayDirection('NEUTRAL', 'SUPPORT', 40)).toBe('UP');
  });

  it('next obstacle is the nearest level in the move direction; distance |obstacle − L|', () => {
    expect(computeRunway(universe[2]!, 'DOWN', universe, neutral)).toEqual({ direction: 'DOWN', next_obstacle: { id: 'ROUND_544', price: 544 }, distance: 1, quality: 'CLEAR' });
    expect(computeRunway(universe[2]!, 'UP', universe, neutral)).toEqual({ direction: 'UP', next_obstacle: { id: 'ROUND_546', price: 546 }, distance: 1, quality: 'CLEAR' });
    expect(computeRunway(universe[4]!, 'UP', universe, neutral)).toEqual({ direction: 'UP', next_obstacle: null, distance: null, quality: 'CLEAR' });
  });

  it('OBSTRUCTED when a wall level or a WALL/ABSORPTION barrier (facing the move) stands at the obstacle', () => {
    expect(computeRunway(universe[1]!, 'DOWN', universe, neutral)).toMatchObject({ next_obstacle: { id: 'PUT_WALL' }, distance: 2, quality: 'OBSTRUCTED' });
    const facing: string[] = [];
    const walled = (l: Level, f: string): BarrierStateName => {
      facing.push(f);
      return l.id === 'ROUND_546' ? 'ABSORPTION' : 'NEUTRAL';
    };
    expect(computeRunway(universe[2]!, 'UP', universe, walled).quality).toBe('OBSTRUCTED');
    expect(facing).toEqual(['RESISTANCE']);
    expect(computeRunway(universe[2]!, 'DOWN', universe, walled).quality).toBe('CLEAR');
  });
});
