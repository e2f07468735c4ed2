// The §6.4 level physics payload as it arrives on WS /ws/levels (one per snap tick), the discrete BREAK/REJECT events
// it carries, and the gateway's history. Mirrors packages/core/src/signals.ts: this library is published on its own
// and must not depend on the engine's packages, so the shapes are repeated here (the gateway e2e test reads both).

export type LevelKind = 'VWAP' | 'STRIKE' | 'ROUND' | 'SESSION_HIGH' | 'SESSION_LOW' | 'CALL_WALL' | 'PUT_WALL' | 'HVL' | 'USER';
export type Direction = 'SUPPORT' | 'RESISTANCE';
export type MoveDirection = 'UP' | 'DOWN';
export type SignalName = 'BREAK' | 'REJECT' | 'CONTESTED' | 'NEUTRAL';
export type Confidence = 'HIGH' | 'MEDIUM' | 'LOW';

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
    state: string;
    delta_liq: number;
    delta_liq_raw: number;
    replenishment_ratio: number;
    replenishment_ratio_raw: number;
    added: number;
    canceled: number;
    filled: number;
    defending_quote: { price: number; size: number } | null;
  };
  tape: {
    imbalance: number;
    buy_vol: number;
    sell_vol: number;
    velocity: number;
    velocity_raw: number;
    sweep: { detected: boolean; direction: MoveDirection | null; notional: number; venues: number; window_ms: number };
  };
  fuel: {
    effect: 'AMPLIFY' | 'DAMPEN' | 'NEUTRAL';
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
    quality: 'CLEAR' | 'OBSTRUCTED';
  };
  note: string;
}

/** A discrete BREAK or REJECT call (one per level-touch episode), as on `levels.events.v1`. */
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
  lead: 'BARRIER' | 'TAPE' | 'FUEL';
  reason: string;
  spot: number;
}

export interface LevelPhysicsPayload {
  /** Unix ms of the snap tick (event time). */
  ts: number;
  ts_event_ns: string;
  underlying: string;
  spy: { spot: number; bid: number; ask: number };
  levels: LevelSignal[];
  events?: LevelEvent[];
}

/** One level at one history point: enough to redraw its line and its score sparkline. */
export interface HistoryLevel {
  id: string;
  price: number;
  signal: SignalName;
  score: number;
}

/** One history point (at most one per second of event time per underlying). */
export interface HistoryPoint {
  ts: number;
  spot: number;
  levels: HistoryLevel[];
}

/** `GET /api/levels/history?underlying=…&from=…`: the session so far, oldest first. */
export interface LevelHistory {
  underlying: string;
  from: number;
  points: HistoryPoint[];
  events: LevelEvent[];
}

/** What the screen tells the trader about the feed. */
export type FeedState = 'connecting' | 'live' | 'delayed' | 'ended' | 'down';

export const SIGNAL_COLORS: Record<SignalName, string> = {
  BREAK: '#e5484d',
  REJECT: '#30a46c',
  CONTESTED: '#f5a524',
  NEUTRAL: '#8b8d98',
};

/** A level event's time in Unix ms (ts_event_ns is a string of nanoseconds). */
export function eventMs(e: LevelEvent): number {
  return Number(BigInt(e.ts_event_ns) / 1_000_000n);
}
