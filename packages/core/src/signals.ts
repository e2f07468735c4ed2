// Output contracts: the §6.4 level physics payload (one per snap tick) and the flat `levels.signals.v1`
// Gold row (one per level per snap tick). `toSignalRows` is the only mapping between them.

export type LevelKind = 'VWAP' | 'STRIKE' | 'ROUND' | 'SESSION_HIGH' | 'SESSION_LOW' | 'CALL_WALL' | 'PUT_WALL' | 'HVL' | 'USER';
export type Direction = 'SUPPORT' | 'RESISTANCE';
export type MoveDirection = 'UP' | 'DOWN';
export type BarrierStateName = 'VACUUM' | 'WALL' | 'ABSORPTION' | 'CONSUMED' | 'WEAK' | 'NEUTRAL';
export type FuelEffect = 'AMPLIFY' | 'DAMPEN' | 'NEUTRAL';
export type SignalName = 'BREAK' | 'REJECT' | 'CONTESTED' | 'NEUTRAL';
export type Confidence = 'HIGH' | 'MEDIUM' | 'LOW';
export type RunwayQuality = 'CLEAR' | 'OBSTRUCTED';

export interface Level {
  id: string;
  price: number;
  kind: LevelKind;
}

export interface LevelSignal {
  id: string;
  price: number;
  kind: LevelKind;
  direction: Direction;
  distance: number;
  break_score_raw: number;
  break_score_smooth: number;
  signal: SignalName;
  confidence: Confidence;
  barrier: {
    state: BarrierStateName;
    /** Smoothed (§5.6); `_raw` is this tick's window value. */
    delta_liq: number;
    delta_liq_raw: number;
    replenishment_ratio: number;
    replenishment_ratio_raw: number;
    added: number;
    canceled: number;
    filled: number;
    /** The defending queue at the level now (L1: the NBBO side within quote_band; MBP-10: zone center and depth), or null. */
    defending_quote: { price: number; size: number } | null;
  };
  tape: {
    imbalance: number;
    buy_vol: number;
    sell_vol: number;
    /** Smoothed (§5.6); `velocity_raw` is this tick's W_v slope. */
    velocity: number;
    velocity_raw: number;
    /** venues: distinct venues of the sweep's prints; window_ms: first to last print (0 when none). */
    sweep: { detected: boolean; direction: MoveDirection | null; notional: number; venues: number; window_ms: number };
  };
  fuel: {
    effect: FuelEffect;
    /** Smoothed (§5.6); `_raw` is this tick's Σ over W_g. */
    net_dealer_gamma: number;
    net_dealer_gamma_raw: number;
    call_wall: number | null;
    put_wall: number | null;
    hvl: number | null;
  };
  runway: {
    direction: MoveDirection;
    next_obstacle: { id: string; price: number } | null;
    distance: number | null;
    quality: RunwayQuality;
  };
  note: string;
}

/**
 * A discrete BREAK or REJECT call: one per level-touch episode when its signal triggers (after hysteresis and the
 * minimum dwell), so consumers count breaks, not ticks. Carried in the payload of the tick that fired it and on the
 * `levels.events.v1` topic. `event_id` is deterministic (underlying, level id, tick time, signal) so a replay or a
 * restarted processor emits the same id.
 */
export interface LevelEvent {
  event_id: string;
  ts_event_ns: string;
  underlying: string;
  level_id: string;
  level_kind: LevelKind;
  level_price: number;
  direction: Direction;
  signal: 'BREAK' | 'REJECT';
  break_score: number;
  confidence: Confidence;
  /** The engine that led the call: BARRIER, TAPE or FUEL, with a short human reason. */
  lead: 'BARRIER' | 'TAPE' | 'FUEL';
  reason: string;
  spot: number;
}

/** §6.4 payload. `ts` is Unix ms of the snap tick; `ts_event_ns` keeps the exact tick time. */
export interface LevelPhysicsPayload {
  ts: number;
  ts_event_ns: string;
  underlying: string;
  spy: { spot: number; bid: number; ask: number };
  levels: LevelSignal[];
  /** Discrete events fired at this tick (absent or empty when none). */
  events?: LevelEvent[];
}

/** One `levels.signals.v1` row (Gold / Kafka signals topic). */
export interface SignalRow {
  ts_event_ns: bigint;
  underlying: string;
  spot: number;
  bid: number;
  ask: number;
  level_id: string;
  level_kind: LevelKind;
  level_price: number;
  direction: Direction;
  distance: number;
  barrier_state: BarrierStateName;
  barrier_delta_liq: number;
  barrier_replenishment_ratio: number;
  barrier_added: number;
  barrier_canceled: number;
  barrier_filled: number;
  barrier_delta_liq_raw: number;
  barrier_replenishment_ratio_raw: number;
  barrier_defending_price: number | null;
  barrier_defending_size: number | null;
  tape_imbalance: number;
  tape_buy_vol: number;
  tape_sell_vol: number;
  tape_velocity: number;
  tape_sweep_detected: boolean;
  tape_sweep_direction: MoveDirection | null;
  tape_sweep_notional: number;
  tape_velocity_raw: number;
  tape_sweep_venues: number;
  tape_sweep_window_ms: number;
  fuel_effect: FuelEffect;
  fuel_net_dealer_gamma: number;
  fuel_net_dealer_gamma_raw: number;
  fuel_call_wall: number | null;
  fuel_put_wall: number | null;
  fuel_hvl: number | null;
  break_score_raw: number;
  break_score_smooth: number;
  signal: SignalName;
  confidence: Confidence;
  runway_direction: MoveDirection;
  runway_next_level_id: string | null;
  runway_next_level_price: number | null;
  runway_distance: number | null;
  runway_quality: RunwayQuality;
  note: string;
}

export function toSignalRows(p: LevelPhysicsPayload): SignalRow[] {
  const ts = BigInt(p.ts_event_ns);
  return p.levels.map((l) => ({
    ts_event_ns: ts,
    underlying: p.underlying,
    spot: p.spy.spot,
    bid: p.spy.bid,
    ask: p.spy.ask,
    level_id: l.id,
    level_kind: l.kind,
    level_price: l.price,
    direction: l.direction,
    distance: l.distance,
    barrier_state: l.barrier.state,
    barrier_delta_liq: l.barrier.delta_liq,
    barrier_replenishment_ratio: l.barrier.replenishment_ratio,
    barrier_added: l.barrier.added,
    barrier_canceled: l.barrier.canceled,
    barrier_filled: l.barrier.filled,
    barrier_delta_liq_raw: l.barrier.delta_liq_raw,
    barrier_replenishment_ratio_raw: l.barrier.replenishment_ratio_raw,
    barrier_defending_price: l.barrier.defending_quote?.price ?? null,
    barrier_defending_size: l.barrier.defending_quote?.size ?? null,
    tape_imbalance: l.tape.imbalance,
    tape_buy_vol: l.tape.buy_vol,
    tape_sell_vol: l.tape.sell_vol,
    tape_velocity: l.tape.velocity,
    tape_sweep_detected: l.tape.sweep.detected,
    tape_sweep_direction: l.tape.sweep.direction,
    tape_sweep_notional: l.tape.sweep.notional,
    tape_velocity_raw: l.tape.velocity_raw,
    tape_sweep_venues: l.tape.sweep.venues,
    tape_sweep_window_ms: l.tape.sweep.window_ms,
    fuel_effect: l.fuel.effect,
    fuel_net_dealer_gamma: l.fuel.net_dealer_gamma,
    fuel_net_dealer_gamma_raw: l.fuel.net_dealer_gamma_raw,
    fuel_call_wall: l.fuel.call_wall,
    fuel_put_wall: l.fuel.put_wall,
    fuel_hvl: l.fuel.hvl,
    break_score_raw: l.break_score_raw,
    break_score_smooth: l.break_score_smooth,
    signal: l.signal,
    confidence: l.confidence,
    runway_direction: l.runway.direction,
    runway_next_level_id: l.runway.next_obstacle?.id ?? null,
    runway_next_level_price: l.runway.next_obstacle?.price ?? null,
    runway_distance: l.runway.distance,
    runway_quality: l.runway.quality,
    note: l.note,
  }));
}
