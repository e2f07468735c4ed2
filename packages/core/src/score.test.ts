import fc from 'fast-check';
import { parseConfig, defaultConfig } from './config';
import { compositeScore, componentScores, confidenceOf, leadOf, liquidityScore, newTriggerState, stepEpisode, stepTrigger, tapeScore, type ComponentScores } from './score';
import { computeRunway, runwayDirection } from './runway';
import type { BarrierReading } from './barrier';
import type { TapeReading } from './tape';
import type { FuelReading } from './fuel';
import type { BarrierStateName, Level } from './signals';
import { msT } from './test-support';

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
const quietTape: TapeReading = { imbalance: 0, buy_vol: 0, sell_vol: 0, velocity: 0, sweep: { detected: false, direction: null, notional: 0, venues: 0, window_ms: 0 } };
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
    // AMPLIFY is direction-aware: 100 on the approach (moving toward the break, or still), 0 while price bounces away
    const falling = { ...quietTape, velocity: -0.05 };
    const rising = { ...quietTape, velocity: 0.05 };
    expect(componentScores(cfg, barrier('VACUUM'), fuel('AMPLIFY'), falling, 'SUPPORT')).toEqual({ liquidity: 100, hedge: 100, tape: 25 });
    expect(componentScores(cfg, barrier('VACUUM'), fuel('AMPLIFY'), rising, 'SUPPORT').hedge).toBe(0);
    expect(componentScores(cfg, barrier('VACUUM'), fuel('AMPLIFY'), rising, 'RESISTANCE').hedge).toBe(100);
    expect(componentScores(cfg, barrier('VACUUM'), fuel('AMPLIFY'), quietTape, 'SUPPORT')).toEqual({ liquidity: 100, hedge: 100, tape: 0 });
    expect(componentScores(cfg, barrier('VACUUM'), fuel('AMPLIFY'), { ...quietTape, velocity: 0.005 }, 'SUPPORT').hedge).toBe(100);
    expect(componentScores(cfg, barrier('VACUUM'), fuel('DAMPEN'), falling, 'SUPPORT').hedge).toBe(0);
    expect(componentScores(cfg, barrier('WALL'), fuel('DAMPEN'), quietTape, 'SUPPORT')).toEqual({ liquidity: 0, hedge: 0, tape: 0 });
    expect(componentScores(cfg, barrier('NEUTRAL'), fuel('NEUTRAL'), quietTape, 'SUPPORT').hedge).toBe(50);
  });
  it('ABSORPTION is a hold only while the tape presses into the level (score.absorption_min_imbalance)', () => {
    expect(cfg.score.absorption_min_imbalance).toBe(0.2);
    // Support: the break is down, so sellers (imbalance < 0) press into it.
    const pressed = { ...quietTape, imbalance: -0.3 };
    const balanced = { ...quietTape, imbalance: 0.1 };
    expect(componentScores(cfg, barrier('ABSORPTION'), fuel('NEUTRAL'), pressed, 'SUPPORT').liquidity).toBe(0);
    expect(componentScores(cfg, barrier('ABSORPTION'), fuel('NEUTRAL'), balanced, 'SUPPORT').liquidity).toBe(50);
    // The same sellers hit the bid under a resistance: nobody is lifting it, so it is a refill, not a defence.
    expect(componentScores(cfg, barrier('ABSORPTION'), fuel('NEUTRAL'), pressed, 'RESISTANCE').liquidity).toBe(50);
    expect(componentScores(cfg, barrier('ABSORPTION'), fuel('NEUTRAL'), { ...quietTape, imbalance: 0.2 }, 'RESISTANCE').liquidity).toBe(0);
    // A WALL needs no aggression (size resting there is the defence); −1 restores the unconditional ABSORPTION.
    expect(componentScores(cfg, barrier('WALL'), fuel('NEUTRAL'), balanced, 'SUPPORT').liquidity).toBe(0);
    const always = { ...cfg, score: { ...cfg.score, absorption_min_imbalance: -1 } };
    expect(componentScores(always, barrier('ABSORPTION'), fuel('NEUTRAL'), { ...quietTape, imbalance: 1 }, 'SUPPORT').liquidity).toBe(0);
  });
  it('S_T: 100 for a sweep in the break direction; else 0–50 from velocity and imbalance toward the break', () => {
    const sweepDown = { ...quietTape, sweep: { detected: true, direction: 'DOWN' as const, notional: 1e6, venues: 3, window_ms: 10 } };
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
        const tape: TapeReading = { ...quietTape, velocity: v, imbalance: im, sweep: { detected: sw, direction: sw ? 'DOWN' : null, notional: 0, venues: sw ? 3 : 0, window_ms: 0 } };
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
    stepTrigger(st, { raw: smooth, smooth, distance, tNs: msT(tMs), barrierState: 'NEUTRAL', tape: quietTape, ...extra }, cfg);

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
      stepTrigger(st, { raw, smooth, distance, tNs: msT(i * 250), barrierState: 'NEUTRAL', tape: quietTape }, cfg);
    // S above 80 for 3 s while S̃ is still catching up below 80: BREAK after hold_ms of S
    for (let i = 0; i < 12; i++) expect(at(i, 85, 70)).toBe('NEUTRAL');
    expect(at(12, 85, 78)).toBe('BREAK');
    // S̃ above 80 but S not: no BREAK timer
    const st2 = newTriggerState();
    for (let i = 0; i <= 13; i++) expect(stepTrigger(st2, { raw: 70, smooth: 85, distance: 0.2, tNs: msT(i * 250), barrierState: 'NEUTRAL', tape: quietTape }, cfg)).toBe('NEUTRAL');
    // REJECT reads S̃: a single quiet tick of S does not fire it, a low S̃ does
    expect(stepTrigger(newTriggerState(), { raw: 5, smooth: 30, distance: 0.01, tNs: 0, barrierState: 'NEUTRAL', tape: quietTape }, cfg)).toBe('NEUTRAL');
    expect(stepTrigger(newTriggerState(), { raw: 30, smooth: 15, distance: 0.01, tNs: 0, barrierState: 'NEUTRAL', tape: quietTape }, cfg)).toBe('REJECT');
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

describe('hysteresis and minimum dwell (issue 9)', () => {
  const cfg = parseConfig({ score: { hold_ms: 1000 }, signal: { min_dwell_ms: 2000, break_exit_threshold: 65, reject_exit_threshold: 35 } });
  const at = (st: ReturnType<typeof newTriggerState>, tMs: number, raw: number, smooth: number, distance = 0.1) =>
    stepTrigger(st, { raw, smooth, distance, tNs: msT(tMs), barrierState: 'NEUTRAL', tape: quietTape }, cfg);

  it('a BREAK holds while S̃ stays above the exit threshold, and is shown at least min_dwell_ms', () => {
    const st = newTriggerState();
    for (let i = 0; i < 4; i++) at(st, i * 250, 85, 70);
    expect(at(st, 1000, 85, 72)).toBe('BREAK');
    // S drops below 80 but S̃ ≥ 65: still BREAK (no flap at the threshold)
    expect(at(st, 1250, 75, 70)).toBe('BREAK');
    // S̃ below the exit at once: the dwell keeps BREAK until 2 s after it was shown
    expect(at(st, 1500, 40, 50)).toBe('BREAK');
    expect(at(st, 2750, 40, 50)).toBe('BREAK');
    expect(at(st, 3000, 40, 50)).toBe('NEUTRAL');
    expect(st.changedNs).toBe(msT(3000));
  });

  it('a REJECT holds while S̃ ≤ the exit threshold, also after price leaves the touch band', () => {
    const st = newTriggerState();
    expect(at(st, 0, 15, 15, 0.02)).toBe('REJECT');
    expect(at(st, 2500, 25, 30, 0.3)).toBe('REJECT');
    expect(at(st, 2750, 40, 36, 0.3)).toBe('NEUTRAL');
  });

  it('with no dwell and no hysteresis the trigger is the plain §5.4.3 rule', () => {
    const plain = parseConfig({ score: { hold_ms: 1000 }, signal: { min_dwell_ms: 0, break_exit_threshold: 80, reject_exit_threshold: 20 } });
    const st = newTriggerState();
    const step = (tMs: number, raw: number, smooth: number, distance = 0.1) => stepTrigger(st, { raw, smooth, distance, tNs: msT(tMs), barrierState: 'NEUTRAL', tape: quietTape }, plain);
    expect(step(0, 10, 10, 0.02)).toBe('REJECT');
    expect(step(250, 30, 25, 0.02)).toBe('NEUTRAL');
    expect(step(500, 10, 10, 0.02)).toBe('REJECT');
  });

  it('episodes: a new one after an absent tick or after episode_ms', () => {
    const st = newTriggerState();
    stepEpisode(st, msT(0), msT(-250), cfg);
    st.fired = true;
    stepEpisode(st, msT(250), msT(0), cfg);
    expect(st.fired).toBe(true);
    stepEpisode(st, msT(1000), msT(750), cfg); // absent at 500 and 750
    expect(st.fired).toBe(false);
    expect(st.episodeNs).toBe(msT(1000));
    st.fired = true;
    for (let t = 1250; t <= 1000 + cfg.signal.episode_ms; t += 250) stepEpisode(st, msT(t), msT(t - 250), cfg);
    expect(st.fired).toBe(true);
    stepEpisode(st, msT(1250 + cfg.signal.episode_ms), msT(1000 + cfg.signal.episode_ms), cfg);
    expect(st.fired).toBe(false);
  });

  it('the lead engine is the component leaning furthest toward the call, by weight', () => {
    const w = { w_l: 0.45, w_h: 0.35, w_t: 0.2 };
    expect(leadOf({ liquidity: 100, hedge: 50, tape: 25 }, w, 'BREAK')).toBe('BARRIER');
    expect(leadOf({ liquidity: 50, hedge: 100, tape: 25 }, w, 'BREAK')).toBe('FUEL');
    expect(leadOf({ liquidity: 50, hedge: 50, tape: 100 }, w, 'BREAK')).toBe('TAPE');
    expect(leadOf({ liquidity: 50, hedge: 0, tape: 25 }, w, 'REJECT')).toBe('FUEL');
    expect(leadOf({ liquidity: 0, hedge: 0, tape: 0 }, w, 'REJECT')).toBe('BARRIER');
  });
});

const c0 = (c: { score: { velocity_ref: number } }): number => c.score.velocity_ref;

describe('price confirmations (signal.break_confirm_distance / reject_confirm_distance)', () => {
  const cfg = parseConfig({ signal: { min_dwell_ms: 0, break_confirm_distance: 0.2, reject_confirm_distance: 0.15 } });
  // A support at 100 approached from above; S̃ mid-range (50), so only a confirmation can call anything.
  const tick = (st: ReturnType<typeof newTriggerState>, tMs: number, spot: number, velocity = 0, price = 100) => {
    const direction = spot >= price - cfg.levels.touch_band ? 'SUPPORT' : 'RESISTANCE';
    stepEpisode(st, msT(tMs), msT(tMs - 250), cfg, { direction: tMs === 0 ? 'SUPPORT' : direction, price, spot });
    return stepTrigger(st, { raw: 50, smooth: 50, distance: Math.abs(spot - price), tNs: msT(tMs), barrierState: 'NEUTRAL', tape: quietTape, spot, velocity, direction }, cfg);
  };

  it('BREAK once spot is through the level by the confirm distance, the tape not pushing back; it speaks of the approach side', () => {
    const st = newTriggerState();
    expect(tick(st, 0, 100.3)).toBe('NEUTRAL');
    expect(tick(st, 250, 99.85, -0.02)).toBe('NEUTRAL'); // 0.15 through: not yet
    expect(tick(st, 500, 99.8, 0.01)).toBe('NEUTRAL'); // 0.20 through but velocity up (back toward the level)
    expect(tick(st, 750, 99.8, -0.01)).toBe('BREAK');
    // The level's own direction has flipped to RESISTANCE; the call is about the support that broke.
    expect(st.shownDirection).toBe('SUPPORT');
  });

  it('REJECT only after a touch, once spot stands off on the approach side by the confirm distance', () => {
    const untouched = newTriggerState();
    expect(tick(untouched, 0, 100.3)).toBe('NEUTRAL');
    expect(tick(untouched, 250, 100.2, 0.02)).toBe('NEUTRAL'); // never tested: moving off is not a rejection
    const st = newTriggerState();
    expect(tick(st, 0, 100.3)).toBe('NEUTRAL');
    expect(tick(st, 250, 100.04)).toBe('NEUTRAL'); // the touch
    expect(tick(st, 500, 100.14, 0.02)).toBe('NEUTRAL'); // 0.14 off
    expect(tick(st, 750, 100.15, -0.01)).toBe('NEUTRAL'); // 0.15 off but falling back toward the level
    expect(tick(st, 1000, 100.15, 0)).toBe('REJECT');
    expect(st.shownDirection).toBe('SUPPORT');
  });

  it('a fast break (velocity ≥ score.velocity_ref toward it) is confirmed at signal.break_confirm_fast_distance', () => {
    const none = parseConfig({ signal: { min_dwell_ms: 0, break_confirm_distance: 0.2, break_confirm_fast_distance: 0 } });
    const fast = parseConfig({ signal: { min_dwell_ms: 0, break_confirm_distance: 0.2, break_confirm_fast_distance: 0.15 } });
    const run = (c: typeof cfg, v: number) => {
      const st = newTriggerState();
      stepEpisode(st, msT(0), msT(-250), c, { direction: 'SUPPORT', price: 100, spot: 100.3 });
      stepEpisode(st, msT(250), msT(0), c, { direction: 'RESISTANCE', price: 100, spot: 99.85 });
      return stepTrigger(st, { raw: 50, smooth: 50, distance: 0.15, tNs: msT(250), barrierState: 'NEUTRAL', tape: quietTape, spot: 99.85, velocity: v, direction: 'RESISTANCE' }, c);
    };
    expect(run(fast, -c0(fast))).toBe('BREAK'); // 0.15 through, falling at velocity_ref
    expect(run(fast, -c0(fast) / 2)).toBe('NEUTRAL'); // not fast enough: waits for 0.20
    expect(run(none, -1)).toBe('NEUTRAL'); // 0 = off
    expect(cfg.signal.break_confirm_fast_distance).toBe(0.12); // the default
  });

  it('a moving level (session low, VWAP) is measured from its price when the episode began', () => {
    const st = newTriggerState();
    expect(tick(st, 0, 100.1, 0, 100)).toBe('NEUTRAL');
    // The session low follows spot down: the level is always at spot, yet the low of the episode's start is 0.2 below.
    expect(tick(st, 250, 99.8, -0.05, 99.8)).toBe('BREAK');
  });

  it('0 turns a confirmation off; a new episode forgets the touch', () => {
    const off = parseConfig({ signal: { min_dwell_ms: 0, break_confirm_distance: 0, break_confirm_fast_distance: 0, reject_confirm_distance: 0 } });
    const st = newTriggerState();
    stepEpisode(st, msT(0), msT(-250), off, { direction: 'SUPPORT', price: 100, spot: 100.02 });
    const x = { raw: 50, smooth: 50, distance: 0.3, tNs: msT(250), barrierState: 'NEUTRAL' as const, tape: quietTape, velocity: -0.1, direction: 'RESISTANCE' as const };
    expect(stepTrigger(st, { ...x, spot: 99.5 }, off)).toBe('NEUTRAL');
    expect(st.touched).toBe(true);
    stepEpisode(st, msT(1000), msT(750), off, { direction: 'SUPPORT', price: 100, spot: 100.3 }); // absent in between
    expect(st.touched).toBe(false);
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
    // A delayed options plan: Fuel's lean cannot confirm the tick (at most MEDIUM), whatever it says.
    expect(confidenceOf(all, 90, barrier('VACUUM'), false, true)).toBe('MEDIUM');
    expect(confidenceOf({ liquidity: 100, hedge: 100, tape: 0 }, 80, barrier('VACUUM'), false, true)).toBe('LOW');
  });
});

describe('runway (§5.5)', () => {
  const lv = (id: string, price: number, kind: Level['kind'] = 'ROUND'): Level => ({ id, price, kind });
  const universe = [lv('PUT_WALL', 542, 'PUT_WALL'), lv('ROUND_544', 544), lv('STRIKE_545', 545, 'STRIKE'), lv('ROUND_546', 546), lv('CALL_WALL', 548, 'CALL_WALL')];
  const neutral = { barrier: (): BarrierStateName => 'NEUTRAL', strikeHasGamma: (): boolean => true };

  it('direction: BREAK → break direction, REJECT → bounce direction', () => {
    expect(runwayDirection('BREAK', 'SUPPORT', 90)).toBe('DOWN');
    expect(runwayDirection('REJECT', 'SUPPORT', 10)).toBe('UP');
    expect(runwayDirection('BREAK', 'RESISTANCE', 90)).toBe('UP');
    expect(runwayDirection('REJECT', 'RESISTANCE', 10)).toBe('DOWN');
    expect(runwayDirection('NEUTRAL', 'SUPPORT', 60)).toBe('DOWN');
    expect(runwayDirection('NEUTRAL', 'SUPPORT', 40)).toBe('UP');
  });

  it('next obstacle is the nearest level beyond L that can hold price; levels that carry nothing are skipped', () => {
    // ROUND levels carry nothing: from the strike the runway runs to the walls
    expect(computeRunway(universe[2]!, 'DOWN', universe, neutral)).toEqual({ direction: 'DOWN', next_obstacle: { id: 'PUT_WALL', price: 542 }, distance: 3, quality: 'OBSTRUCTED' });
    expect(computeRunway(universe[2]!, 'UP', universe, neutral)).toEqual({ direction: 'UP', next_obstacle: { id: 'CALL_WALL', price: 548 }, distance: 3, quality: 'OBSTRUCTED' });
    expect(computeRunway(universe[4]!, 'UP', universe, neutral)).toEqual({ direction: 'UP', next_obstacle: null, distance: null, quality: 'CLEAR' });
    // a strike with dealer gamma holds price (CLEAR: no wall stands there); without gamma it is skipped
    const gammaAt545 = { barrier: (): BarrierStateName => 'NEUTRAL', strikeHasGamma: (k: number): boolean => k === 545 };
    expect(computeRunway(universe[3]!, 'DOWN', universe, gammaAt545)).toEqual({ direction: 'DOWN', next_obstacle: { id: 'STRIKE_545', price: 545 }, distance: 1, quality: 'CLEAR' });
    expect(computeRunway(universe[3]!, 'DOWN', universe, { ...gammaAt545, strikeHasGamma: () => false })).toMatchObject({ next_obstacle: { id: 'PUT_WALL' }, distance: 4 });
    // HVL and user hot zones count; VWAP and session extremes do not
    const u2 = [lv('VWAP', 543, 'VWAP'), lv('SESSION_LOW', 542.5, 'SESSION_LOW'), lv('HVL', 541, 'HVL'), lv('ROUND_544', 544)];
    expect(computeRunway(u2[3]!, 'DOWN', u2, neutral)).toEqual({ direction: 'DOWN', next_obstacle: { id: 'HVL', price: 541 }, distance: 3, quality: 'CLEAR' });
  });

  it('OBSTRUCTED when a wall level or a WALL/ABSORPTION barrier (facing the move) stands at the obstacle', () => {
    expect(computeRunway(universe[1]!, 'DOWN', universe, neutral)).toMatchObject({ next_obstacle: { id: 'PUT_WALL' }, distance: 2, quality: 'OBSTRUCTED' });
    const facing: string[] = [];
    const walled = {
      barrier: (l: Level, f: string): BarrierStateName => {
        facing.push(f);
        return l.id === 'ROUND_546' ? 'ABSORPTION' : 'NEUTRAL';
      },
      strikeHasGamma: (): boolean => false,
    };
    expect(computeRunway(universe[2]!, 'UP', universe, walled)).toMatchObject({ next_obstacle: { id: 'ROUND_546' }, quality: 'OBSTRUCTED' });
    expect(facing).toEqual(['RESISTANCE']);
    // going down, ROUND_544 reads NEUTRAL and carries nothing: the runway runs on to the put wall
    expect(computeRunway(universe[2]!, 'DOWN', universe, walled)).toMatchObject({ next_obstacle: { id: 'PUT_WALL' }, quality: 'OBSTRUCTED' });
  });
});
