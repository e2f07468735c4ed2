// Payload builders for the eval unit tests (pure; not exported from the package index).
import type { LevelPhysicsPayload, LevelSignal, SignalName } from '../signals';

/** A ROUND level's reading; direction from the side spot is on; every other field neutral. */
export function level(id: string, price: number, spot: number, signal: SignalName = 'NEUTRAL', score = 50): LevelSignal {
  return {
    id,
    price,
    kind: 'ROUND',
    direction: spot >= price ? 'SUPPORT' : 'RESISTANCE',
    distance: Math.abs(spot - price),
    break_score_raw: score,
    break_score_smooth: score,
    signal,
    confidence: 'MEDIUM',
    barrier: { state: 'NEUTRAL', delta_liq: 0, delta_liq_raw: 0, replenishment_ratio: 1, replenishment_ratio_raw: 1, added: 0, canceled: 0, filled: 0, defending_quote: null },
    tape: { imbalance: 0, buy_vol: 0, sell_vol: 0, velocity: 0, velocity_raw: 0, sweep: { detected: false, direction: null, notional: 0, venues: 0, window_ms: 0 } },
    fuel: { effect: 'NEUTRAL', net_dealer_gamma: 0, net_dealer_gamma_raw: 0, call_wall: null, put_wall: null, hvl: null },
    runway: { direction: 'UP', next_obstacle: null, distance: null, quality: 'CLEAR' },
    note: '',
  };
}

export function payload(tMs: number, spot: number, levels: LevelSignal[]): LevelPhysicsPayload {
  return { ts: tMs, ts_event_ns: `${BigInt(tMs) * 1_000_000n}`, underlying: 'SPY', spy: { spot, bid: spot - 0.005, ask: spot + 0.005 }, levels };
}
