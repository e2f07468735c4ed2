// Outcome labels for level-touch episodes, from later prices only (issue 9).
//
// Inputs are what the engine already publishes, reduced to what evaluation needs: the price path (spot at every snap
// tick) and, per tick, the levels inside their monitoring zone with the engine's reading of them. Labels read only the
// price path from an episode's first tick onward; features are the engine's own per-tick outputs (the engine's tick at
// T holds events with ts_event_ns ≤ T). Both claims are tested in labels.test.ts by perturbing the data on the other
// side of the boundary.
//
// Definitions (documented in docs/eval.md):
//   episode   a price level enters its monitoring zone (|spot − level price| ≤ levels.monitor_band at a snap tick)
//             until it leaves it (the first tick outside) or eval.horizon_ms has passed since the first tick; a level
//             still in the zone after the horizon starts a new episode at its next tick. A price level is what the
//             engine keys its state by (levelKeyOf): one price, whichever id deduplication gives it at a tick; a level
//             that moves with price (VWAP, session extremes) by its id. The level's price and direction are frozen at
//             the first tick (VWAP and session extremes move).
//   outcome   within the episode: from its first tick to the first tick outside the zone (price left it; a sweep may
//             leave through the level), at most first tick + eval.horizon_ms, with a = distance of spot on the approach
//             side (positive = the side price came from; SUPPORT ⇒ above): BREAK at the first tick with
//             a ≤ −eval.break_distance; REJECT at the first tick with a ≥ eval.reject_distance after price has touched
//             the level (a ≤ eval.touch_band), if no BREAK came first; else UNRESOLVED.
//   signal    the engine's discrete BREAK/REJECT event for the level (payload.events) when the engine emits events;
//             otherwise (an engine without them) a transition of the level's per-tick signal into BREAK or REJECT
//             (the tick before, at the same level, said something else). SignalSource says which.
//   forecast  an episode's first signal strictly before its outcome time (any time in the episode when UNRESOLVED);
//             its type is the episode's prediction (NONE without one).
import { levelKeyOf } from '../levels';
import type { BarrierStateName, Confidence, Direction, FuelEffect, LevelKind, LevelPhysicsPayload, SignalName } from '../signals';

export type Outcome = 'BREAK' | 'REJECT' | 'UNRESOLVED';
export type Prediction = 'BREAK' | 'REJECT' | 'NONE';

export interface LabelParams {
  /** levels.monitor_band: the monitoring zone's half-width. */
  monitorBand: number;
  breakDistance: number;
  rejectDistance: number;
  touchBand: number;
  horizonMs: number;
}

/** One snap tick of the price path. `tMs` is the tick's event time in Unix ms. */
export interface PriceTick {
  tMs: number;
  spot: number;
}

/** The engine's reading of one level at one tick, for levels inside their monitoring zone only. */
export interface LevelObs {
  /** Index into the price path. */
  tick: number;
  id: string;
  kind: LevelKind;
  price: number;
  direction: Direction;
  signal: SignalName;
  /** The level's signal at its previous tick (NEUTRAL when the level is new). */
  prev: SignalName;
  score: number;
  barrier: BarrierStateName;
  fuel: FuelEffect;
  confidence: Confidence;
  /** The discrete event the engine fired for this level at this tick (payload.events), if any. */
  event: 'BREAK' | 'REJECT' | null;
}

/** What counts as a signal: the engine's discrete events, or transitions of its per-tick signal. */
export type SignalSource = 'events' | 'transitions';

const EPS = 1e-9;
const isTransition = (o: LevelObs): boolean => (o.signal === 'BREAK' || o.signal === 'REJECT') && o.signal !== o.prev;
/** The signal this reading carries under `source` (null: none). */
export const signalOf = (o: LevelObs, source: SignalSource = 'transitions'): 'BREAK' | 'REJECT' | null =>
  source === 'events' ? o.event : isTransition(o) ? (o.signal as 'BREAK' | 'REJECT') : null;
export const isSignal = (o: LevelObs, source: SignalSource = 'transitions'): boolean => signalOf(o, source) !== null;

/** An event fired for a level outside its monitoring zone: no episode to score it against, so it counts as false. */
export interface StrayEvent {
  tick: number;
  signal: 'BREAK' | 'REJECT';
}

/**
 * Collects the price path and the in-zone level readings from a stream of payloads (one underlying). Keeps only what
 * evaluation needs, so a 6.5 h session fits in memory.
 */
export class EvalCollector {
  readonly ticks: PriceTick[] = [];
  readonly obs: LevelObs[] = [];
  readonly stray: StrayEvent[] = [];
  private readonly last = new Map<string, SignalName>();
  private sawEvents = false;

  /**
   * `source`: 'events' when the engine is known to emit discrete events (its config has signal.*), 'transitions' for
   * an engine without them, 'auto' to decide from the data (events if any payload carried any). An engine with events
   * omits the list on ticks without one, so a session without a single event (a quiet market) reads as 'transitions'
   * under 'auto': the CLI passes 'events' when it knows.
   */
  constructor(
    private readonly monitorBand: number,
    private readonly source: SignalSource | 'auto' = 'auto',
  ) {}

  /** What the signals of this session are. */
  signalSource(): SignalSource {
    return this.source === 'auto' ? (this.sawEvents ? 'events' : 'transitions') : this.source;
  }

  onPayload(p: LevelPhysicsPayload): void {
    const tick = this.ticks.length;
    const spot = p.spy.spot;
    this.ticks.push({ tMs: p.ts, spot });
    let fired: Map<string, 'BREAK' | 'REJECT'> | null = null;
    if (p.events !== undefined) {
      this.sawEvents ||= p.events.length > 0;
      for (const e of p.events) (fired ??= new Map()).set(e.level_id, e.signal);
    }
    for (const l of p.levels) {
      const prev = this.last.get(l.id) ?? 'NEUTRAL';
      this.last.set(l.id, l.signal);
      const event = fired?.get(l.id) ?? null;
      if (!(Math.abs(spot - l.price) <= this.monitorBand + EPS)) {
        if (event) this.stray.push({ tick, signal: event });
        continue;
      }
      this.obs.push({
        tick,
        id: l.id,
        kind: l.kind,
        price: l.price,
        direction: l.direction,
        signal: l.signal,
        prev,
        score: l.break_score_smooth,
        barrier: l.barrier.state,
        fuel: l.fuel.effect,
        confidence: l.confidence,
        event,
      });
    }
  }
}

/**
 * The outcome of an episode starting at tick `start` at level price `level`, approached from `direction`'s side.
 * Reads ticks[start .. last] only (`last`: the first tick after the episode, where price left the zone), up to start's
 * time + horizonMs.
 */
export function outcomeOf(
  ticks: readonly PriceTick[],
  start: number,
  level: number,
  direction: Direction,
  p: LabelParams,
  last = Number.POSITIVE_INFINITY,
): { outcome: Outcome; tMs: number | null } {
  const s = direction === 'SUPPORT' ? 1 : -1;
  const end = ticks[start]!.tMs + p.horizonMs;
  let touched = false;
  for (let j = start; j <= last && j < ticks.length && ticks[j]!.tMs <= end; j++) {
    const a = s * (ticks[j]!.spot - level);
    if (a <= -p.breakDistance + EPS) return { outcome: 'BREAK', tMs: ticks[j]!.tMs };
    if (a <= p.touchBand + EPS) touched = true;
    else if (touched && a >= p.rejectDistance - EPS) return { outcome: 'REJECT', tMs: ticks[j]!.tMs };
  }
  return { outcome: 'UNRESOLVED', tMs: null };
}

export interface Episode {
  id: string;
  kind: LevelKind;
  price: number;
  direction: Direction;
  /** Price-path indices of the first and last in-zone tick. */
  startTick: number;
  endTick: number;
  startMs: number;
  endMs: number;
  outcome: Outcome;
  outcomeMs: number | null;
  /** Indices into the obs array of this episode's readings, in tick order. */
  obs: number[];
}

/** Splits the in-zone readings into episodes and labels each (see the header for the definitions). */
export function labelEpisodes(ticks: readonly PriceTick[], obs: readonly LevelObs[], p: LabelParams): Episode[] {
  const out: Episode[] = [];
  // The episode of each level seen at the previous tick, and of those seen at this one.
  let prev = new Map<string, Episode>();
  let cur = new Map<string, Episode>();
  let tick = -1;
  obs.forEach((o, i) => {
    if (o.tick !== tick) {
      if (o.tick < tick) throw new RangeError(`eval readings out of tick order: tick ${o.tick} after ${tick}`);
      prev = o.tick === tick + 1 ? cur : new Map();
      cur = new Map();
      tick = o.tick;
    }
    const key = levelKeyOf(o);
    const same = cur.get(key);
    if (same) {
      same.obs.push(i); // two rows of one level at one tick do not come from the engine; kept, so no event is lost
      return;
    }
    const t = ticks[o.tick]!.tMs;
    let ep = prev.get(key);
    if (!ep || t > ep.startMs + p.horizonMs) {
      ep = { id: o.id, kind: o.kind, price: o.price, direction: o.direction, startTick: o.tick, endTick: o.tick, startMs: t, endMs: t, outcome: 'UNRESOLVED', outcomeMs: null, obs: [] };
      out.push(ep);
    }
    ep.endTick = o.tick;
    ep.endMs = t;
    ep.obs.push(i);
    cur.set(key, ep);
  });
  // Decided within the visit: up to the first tick outside the zone (a sweep may leave it through the level).
  for (const ep of out) {
    const oc = outcomeOf(ticks, ep.startTick, ep.price, ep.direction, p, ep.endTick + 1);
    ep.outcome = oc.outcome;
    ep.outcomeMs = oc.tMs;
  }
  out.sort((a, b) => a.startMs - b.startMs || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return out;
}
