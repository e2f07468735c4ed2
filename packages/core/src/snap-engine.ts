// The snap engine: the pure orchestrator every runtime shares (embedded, Kafka processor, replay).
// Feed it input events in merged order (merge.ts); it returns the §6.4 payloads of the snap ticks that closed.
//
// Snap ticks (DESIGN decision 2) fire on event-time boundaries T = k·snap.tick_ms since the Unix epoch.
//   - Tick T includes every event with ts_event_ns ≤ T. It is emitted when the first later input arrives: push() of
//     an event (or heartbeat) with ts > T, or advanceTo(t) with t ≥ T (advanceTo is a watermark: "nothing ≤ t is
//     still to come" — use it for end of input / an idle partition, not for a time that may still receive events).
//   - A payload is emitted for every boundary once a valid quote of the underlying exists (no spot → no payload;
//     boundaries before the first valid quote are skipped).
//   - Idle gaps: boundaries more than IDLE_GAP_MS (60 s) of event time after the last data event (heartbeats do not
//     count) are skipped; emission resumes at the first boundary ≥ the next data event. The skipped set depends only
//     on event times, so heartbeats never change the output.
//   - An event older than an already emitted boundary (a late record the producers failed to stop) is applied to the
//     next tick; nothing is reordered.
// Per tick: windows evict, the level universe refreshes (levels.ts), and every level within MONITOR_BAND of spot
// (spot = NBBO mid) gets barrier / tape / fuel readings, component scores, the composite raw score, smoothed values
// (smoothing.ts), a trigger (score.ts), a runway (runway.ts), a confidence and a note. A level's direction is
// SUPPORT when spot > L, RESISTANCE when spot < L, except that while spot is within TOUCH_BAND of L the level keeps the
// direction of its approach (levelDirection: a touch is the test, not yet a break; spot = L on a new level → SUPPORT);
// when it flips, the level's smoothers and trigger restart, because the score now measures the other break.
// Per-level state (smoothers, trigger timer) is keyed by the level's PRICE, so an id change at the same price (a wall
// or the HVL landing on a strike) does not restart it; it exists only while the price is monitored (bounded memory).
// The moving levels (VWAP, session high/low: a new price at every universe refresh) are keyed by their id instead:
// keyed by price, each refresh gave them a fresh smoother (S̃ = this tick's S, so one ABSORPTION tick at a touch was a
// REJECT), a fresh noise baseline (never mature) and a fresh episode (one event per refresh) — the quiet market's
// REJECTs at VWAP and the session extremes.
//
// Payload fields: break_score_raw/smooth, barrier.delta_liq, barrier.replenishment_ratio, tape.velocity and
// fuel.net_dealer_gamma carry the SMOOTHED values of §5.6 for the last four, each next to its `_raw` window value
// (issue 9; raw flows added/canceled/filled are raw);
// states and triggers are computed from raw readings (BREAK timer from the composite S, REJECT/CONTESTED from the
// smoothed S̃; see score.ts).
//
// Rounding policy (so output bytes are stable): prices, spot, bid, ask, distances, walls → 4 decimals; scores →
// 2 decimals; ratios (imbalance, replenishment_ratio) → 4 decimals; velocity ($/s) → 6 decimals; flows and volumes
// (added, canceled, filled, delta_liq, buy_vol, sell_vol, sweep notional, net_dealer_gamma) → integers. Half away
// from zero; −0 is written as 0. Levels are sorted by |distance| then id.
import type { Config } from './config';
import type { InputEvent, StockQuote } from './events';
import type { BarrierStateName, Direction, Level, LevelEvent, LevelPhysicsPayload, LevelSignal } from './signals';
import { BasisEstimator, newBasisState, type BasisState } from './basis';
import { levelNoiseOf, newLevelNoise, sampleLevelNoise, type BarrierEngine, type BarrierEventContext, type BarrierReading, type LevelNoise, type SideNoise } from './barrier';
import { L1BarrierEngine, l1FlowColumns, l1FlowsFromColumns, newL1BarrierState, type L1BarrierState, type L1FlowColumns } from './barrier-l1';
import { Mbp10BarrierEngine, newMbp10BarrierState, type Mbp10BarrierState } from './barrier-mbp10';
import { TapeEngine, newTapeReading, newTapeState, type TapeState } from './tape';
import { FuelEngine, newFuelReading, newFuelState, type FuelState } from './fuel';
import { LevelUniverse, newLevelUniverseState, type LevelUniverseState } from './levels';
import { newSmoother, smoothStep, type SmoothOptions, type SmootherState } from './smoothing';
import { calibrateScore, componentScores, compositeScore, confidenceOf, dwellElapsed, leadOf, newTriggerState, noteOf, stepEpisode, stepTrigger, type TriggerInput, type TriggerState } from './score';
import { fnv1a64 } from './event-id';
import { computeRunway, runwayDirection, type ObstacleProbe } from './runway';
import { EventClock, msToNsFloat } from './event-clock';
import { cachedPriceKey, msToNs, round0, round2, round3, round4, round6 } from './numeric';
import { decodeState, encodeState, type JsonValue } from './state-codec';

export const IDLE_GAP_MS = 60_000;
/** Quotes older than this at a tick make every level's confidence LOW. */
export const STALE_QUOTE_MS = 5_000;
/** v2: per-level trigger state carries the shown signal, its dwell and the episode (issue 9); v3: and the episode's
 *  approach side, price and touch (price confirmations); v4: the L1 barrier's flow window as columns
 *  (barrier-l1.ts l1FlowColumns). Older snapshots are refused. */
export const SNAPSHOT_FORMAT = 'snap-engine-state/v4';

interface SpyQuote {
  bid: number;
  ask: number;
  ts: bigint;
}

interface PerLevelState {
  direction: Direction;
  score: SmootherState;
  deltaLiq: SmootherState;
  replenishment: SmootherState;
  gamma: SmootherState;
  trigger: TriggerState;
  /** The level's own barrier noise (adaptive thresholds, barrier.ts). */
  noise: LevelNoise;
}

export interface EngineState {
  quote: SpyQuote | null;
  nextBoundaryNs: bigint | null;
  lastActivityNs: bigint | null;
  basis: BasisState;
  barrier: L1BarrierState | Mbp10BarrierState;
  tape: TapeState;
  fuel: FuelState;
  universe: LevelUniverseState;
  velocity: SmootherState;
  /** Keyed by priceKey(level.price), or by `@id` for a moving level (levels.ts levelKeyOf). A running engine keeps
   *  these in a Map (SnapEngine.perLevel) and writes them back here only for a snapshot. */
  perLevel: Record<string, PerLevelState>;
}

/** Plain JSON (bigints as {"$bigint": "…"}), for the processor's changelog topic. */
export interface EngineSnapshot {
  format: typeof SNAPSHOT_FORMAT;
  underlying: string;
  barrier_source: 'l1' | 'mbp10';
  /** From capture(): may hold a SlicedJson (the L1 flow window), plain JSON once through JSON.stringify. */
  state: JsonValue;
}

/** A state snapshot that cannot be restored; `key` names what is at fault (a state field, or the changelog record). */
export class SnapshotError extends Error {
  constructor(
    message: string,
    readonly key: string,
  ) {
    super(message);
    this.name = 'SnapshotError';
  }
}

const newState = (cfg: Config): EngineState => ({
  quote: null,
  nextBoundaryNs: null,
  lastActivityNs: null,
  basis: newBasisState(),
  barrier: cfg.barrier.source === 'mbp10' ? newMbp10BarrierState() : newL1BarrierState(),
  tape: newTapeState(),
  fuel: newFuelState(),
  universe: newLevelUniverseState(),
  velocity: newSmoother(),
  perLevel: {},
});

const newPerLevel = (direction: Direction, trigger: TriggerState = newTriggerState()): PerLevelState => ({
  direction,
  score: newSmoother(),
  deltaLiq: newSmoother(),
  replenishment: newSmoother(),
  gamma: newSmoother(),
  trigger,
  noise: newLevelNoise(),
});

/**
 * Direction context of a level (plan §3.2): SUPPORT when spot > L, RESISTANCE when spot < L — except that a level
 * being touched keeps the direction of its approach. While |spot − L| ≤ TOUCH_BAND price is AT the level: a
 * one-cent NBBO mid on the far side (the tested queue half-eaten, a quote flickering) is the test itself, not yet a
 * break, and a trader still reads "support being tested from above". Flipping there would restart the level's
 * smoothing and BREAK timer in the middle of the very test they measure, so a break could only ever be announced
 * after the fact. The context flips once spot is beyond the touch band on the other side.
 */
export function levelDirection(spot: number, price: number, distance: number, prev: Direction | null, touchBand: number): Direction {
  if (prev !== null && distance <= touchBand + 1e-9) return prev;
  return spot > price ? 'SUPPORT' : spot < price ? 'RESISTANCE' : (prev ?? 'SUPPORT');
}

/** What push() returns when no tick closed: shared and frozen (the result is read, never mutated, by callers). */
const NO_PAYLOADS: LevelPhysicsPayload[] = Object.freeze([]) as unknown as LevelPhysicsPayload[];

/** Row order of a payload: by distance, then id (strictly before: a stable sort keeps equal rows in push order). */
const rowBefore = (a: LevelSignal, b: LevelSignal): boolean => a.distance - b.distance < 0 || (a.distance - b.distance === 0 && a.id < b.id);

/** A nullable price, rounded to 4 decimals. */
const p4 = (x: number | null): number | null => (x === null ? null : round4(x));

const floorDiv = (a: bigint, b: bigint): bigint => {
  const q = a / b;
  return q * b > a ? q - 1n : q;
};

/** An object holding event times under known keys, seen without its type (a live state, or a snapshot's JSON). */
type TimeSlots = Record<string, unknown>;

/**
 * Replaces, in place, every tick-path time of an engine state by `f` of it (null stays null): the velocity smoother,
 * the barrier's noise and WEAK baselines, and each per-level state's smoothers, trigger and noise — the times a
 * running engine holds as float64 offsets from its epoch (event-clock.ts). Applied to a snapshot's JSON (offsets →
 * bigint times, so the snapshot's bytes are what bigint state wrote), to a restored state (bigint times → offsets)
 * and on a rebase (old offsets → new). A time added to these states must be added here: the snapshot round-trip
 * tests (a restored engine continues byte-identically) fail otherwise.
 */
function mapTickTimes(velocity: TimeSlots, barrier: TimeSlots, perLevel: Iterable<TimeSlots>, f: (t: unknown) => unknown): void {
  const at = (o: unknown, key: string): void => {
    const slots = o as TimeSlots;
    if (slots[key] !== null) slots[key] = f(slots[key]);
  };
  const ew = (stat: unknown): void => at(stat, 'lastNs');
  at(velocity, 'lastNs');
  at(barrier.baseline, 'lastSampleNs');
  const noise = barrier.noise as { B: TimeSlots; A: TimeSlots };
  for (const side of [noise.B, noise.A]) {
    ew(side.dl);
    ew(side.fill);
  }
  for (const pl of perLevel) {
    for (const k of ['score', 'deltaLiq', 'replenishment', 'gamma']) at(pl[k], 'lastNs');
    for (const k of ['aboveSinceNs', 'changedNs', 'episodeNs', 'seenNs']) at(pl.trigger, k);
    const n = pl.noise as TimeSlots;
    ew(n.dl);
    ew(n.fill);
  }
}

/** The engine moves its epoch to the tick once a tick is this far from it, half the 2^53 ns a float64 holds exactly. */
const REBASE_AFTER_NS = 2n ** 52n;

export class SnapEngine {
  private readonly tickNs: bigint;
  /** tickNs and signal.min_dwell_ms as float64 ns (offsets' differences). */
  private readonly tickT: number;
  private readonly minDwellT: number;
  private readonly basis: BasisEstimator;
  private readonly barrier: BarrierEngine;
  private readonly tape: TapeEngine;
  private readonly fuel: FuelEngine;
  private readonly universe: LevelUniverse;
  private readonly s: EngineState;

  /**
   * The epoch of the tick-path times held as float64 offsets (event-clock.ts: smoothers, triggers, noise and WEAK
   * baselines), shared with the barrier engine.
   */
  private readonly clock: EventClock;

  /** `state` and `clock` come from restore(): its offsets are relative to that clock's epoch. */
  constructor(
    private readonly cfg: Config,
    readonly underlying: string,
    state?: EngineState,
    clock: EventClock = new EventClock(),
  ) {
    this.s = state ?? newState(cfg);
    this.clock = clock;
    this.tickNs = msToNs(cfg.snap.tick_ms);
    this.tickT = msToNsFloat(cfg.snap.tick_ms);
    this.minDwellT = msToNsFloat(cfg.signal.min_dwell_ms);
    this.basis = new BasisEstimator(cfg.basis, this.s.basis);
    this.barrier =
      cfg.barrier.source === 'mbp10'
        ? new Mbp10BarrierEngine(cfg, this.basis, this.s.barrier as Mbp10BarrierState, clock)
        : new L1BarrierEngine(cfg, this.s.barrier as L1BarrierState, clock);
    this.tape = new TapeEngine(cfg, this.s.tape);
    this.fuel = new FuelEngine(cfg, this.s.fuel);
    this.universe = new LevelUniverse(cfg, this.s.universe);
    this.staleNs = msToNs(STALE_QUOTE_MS);
    this.idleNs = msToNs(IDLE_GAP_MS);
    const sm = cfg.smoothing;
    const robustWindow = sm.robust ? sm.robust_window : null;
    this.smoothOpts = {
      velocity: { halfLifeMs: sm.velocity_half_life_ms, robustWindow },
      score: { halfLifeMs: sm.score_half_life_ms, robustWindow },
      deltaLiq: { halfLifeMs: sm.delta_liq_half_life_ms, robustWindow },
      replenishment: { halfLifeMs: sm.replenishment_half_life_ms, robustWindow },
      gamma: { halfLifeMs: sm.gamma_half_life_ms, robustWindow },
    };
    const restored = this.s.perLevel;
    for (const key of Object.keys(restored)) this.perLevel.set(key, { pl: restored[key]!, tick: 0 });
    this.s.perLevel = {};
  }

  // Per-tick constants and scratch, so a tick allocates only what it returns.
  private readonly staleNs: bigint;
  private readonly idleNs: bigint;
  private readonly smoothOpts: Record<'velocity' | 'score' | 'deltaLiq' | 'replenishment' | 'gamma', SmoothOptions>;
  private readonly prices: number[] = [];
  /**
   * Per-level state by key (s.perLevel while running: a Map, because levels come and go and a plain object that keys
   * are deleted from turns into a slow dictionary), each with the number of the tick that last monitored it.
   */
  private readonly perLevel = new Map<string, { pl: PerLevelState; tick: number }>();
  /** Ticks emitted by this engine instance (marks the levels monitored at the current tick). */
  private tickNo = 0;
  /** The forgetting pass of a tick (bound once, for Map.forEach). */
  private forgetT = 0;
  private readonly forget = (e: { pl: PerLevelState; tick: number }, key: string): void => {
    const trigger = e.pl.trigger;
    const t = this.forgetT;
    if (e.tick !== this.tickNo && dwellElapsed(trigger, t, this.cfg) && (trigger.seenNs === null || t - trigger.seenNs >= this.minDwellT)) {
      this.perLevel.delete(key);
    }
  };
  private runwayT = 0n;
  private readonly runwayProbe: ObstacleProbe = {
    barrier: (obs: Level, facing: Direction): BarrierStateName => this.readBarrier(obs, facing, this.runwayT),
    strikeHasGamma: (strike: number): boolean => Math.abs(this.fuel.strikeGamma(strike, this.runwayT)) > this.cfg.fuel.neutral_gamma,
  };
  /** `@id` per moving level id (a handful of ids). */
  private readonly movingKeys = new Map<string, string>();

  private movingKeyOf(id: string): string {
    let k = this.movingKeys.get(id);
    if (k === undefined) {
      if (this.movingKeys.size >= 64) this.movingKeys.clear();
      k = `@${id}`;
      this.movingKeys.set(id, k);
    }
    return k;
  }

  /** priceKey per level price (levels keep their prices between refreshes). */
  private readonly keys = new Map<number, string>();

  /**
   * Per slot of the current universe array (levels.ts hands out the same array until it rebuilds, every
   * levels.refresh_ms, ~8 ticks): the level's perLevel key, and the entry found under it. An entry monitored at the
   * previous tick cannot have been forgotten since (forget spares the entries of its own tick) and a key's entry is
   * replaced only by a new one after a deletion, so such an entry IS the map's entry for that key: one array load
   * instead of the key lookup and the Map probe per level per tick.
   */
  private slotUniverse: readonly Level[] | null = null;
  private readonly slotKeys: (string | undefined)[] = [];
  private readonly slotEntries: ({ pl: PerLevelState; tick: number } | undefined)[] = [];

  private entryOf(universe: readonly Level[], li: number, level: Level, tickNo: number): { pl: PerLevelState; tick: number } | undefined {
    if (universe !== this.slotUniverse) {
      this.slotUniverse = universe;
      this.slotKeys.length = 0;
      this.slotEntries.length = 0;
    }
    const cached = this.slotEntries[li];
    if (cached !== undefined && (cached.tick === tickNo - 1 || cached.tick === tickNo)) return cached;
    let key = this.slotKeys[li];
    if (key === undefined) {
      // levelKeyOf, with both key strings memoized.
      const k = level.kind;
      key = k === 'VWAP' || k === 'SESSION_HIGH' || k === 'SESSION_LOW' ? this.movingKeyOf(level.id) : cachedPriceKey(this.keys, '', level.price);
      this.slotKeys[li] = key;
    }
    const entry = this.perLevel.get(key);
    this.slotEntries[li] = entry;
    return entry;
  }

  /** Feed one event in merged order. Returns the payloads of snap ticks whose boundary this event's time passed. */
  push(ev: InputEvent): LevelPhysicsPayload[] {
    if (!this.accepts(ev)) return NO_PAYLOADS;
    const ts = ev.ts_event_ns;
    // Most events close no tick (the next boundary is not before them): then emitUntil would change nothing.
    const nb = this.s.nextBoundaryNs;
    const out = nb !== null && ts <= nb ? NO_PAYLOADS : this.emitUntil(ts, false);
    if (ev.schema !== 'heartbeat.v1') {
      this.apply(ev);
      if (this.s.lastActivityNs === null || ts > this.s.lastActivityNs) this.s.lastActivityNs = ts;
    }
    return out;
  }

  /** Advance event time with no event (heartbeat/watermark/end of input): emits every tick with boundary ≤ tsNs. */
  advanceTo(tsNs: bigint): LevelPhysicsPayload[] {
    return this.emitUntil(tsNs, true);
  }

  /** Plain JSON-serializable state (bigints as strings) for the processor's changelog; restore() continues byte-identically. */
  snapshot(): EngineSnapshot {
    return this.takeSnapshot(false);
  }

  /**
   * snapshot() for a writer that encodes it later, as the live processor does in slices between ticks: the L1 flow
   * window (~97% of the state at 50k events/s) is captured as a view (L1BarrierEngine.captureFlows), a SlicedJson
   * in the state that JSON.stringify — or a writer running its build() steps — turns into the same text as snapshot()'s.
   */
  capture(): EngineSnapshot {
    return this.takeSnapshot(true);
  }

  private takeSnapshot(deferFlows: boolean): EngineSnapshot {
    const perLevel: Record<string, PerLevelState> = {};
    this.perLevel.forEach((e, key) => {
      perLevel[key] = e.pl;
    });
    let state: JsonValue;
    if (!(this.barrier instanceof L1BarrierEngine)) state = encodeState({ ...this.s, perLevel });
    else if (!deferFlows) state = encodeState({ ...this.s, barrier: { ...this.s.barrier, flows: l1FlowColumns(this.barrier.windowFlows()) }, perLevel });
    else {
      // Encoded with a placeholder where the flows go, so the key keeps its place in the text.
      state = encodeState({ ...this.s, barrier: { ...this.s.barrier, flows: null }, perLevel });
      (state as { barrier: { flows: unknown } }).barrier.flows = this.barrier.captureFlows();
    }
    // The tick-path times back to bigint times, in the encoder's fresh JSON (the running state keeps its offsets).
    const json = state as { [k: string]: JsonValue };
    const clock = this.clock;
    mapTickTimes(json.velocity as TimeSlots, json.barrier as TimeSlots, Object.values(json.perLevel as { [k: string]: TimeSlots }), (t) => ({ $bigint: clock.timeOf(t as number).toString() }));
    return { format: SNAPSHOT_FORMAT, underlying: this.underlying, barrier_source: this.cfg.barrier.source, state };
  }

  static restore(cfg: Config, snapshot: EngineSnapshot): SnapEngine {
    if (!snapshot || snapshot.format !== SNAPSHOT_FORMAT) throw new SnapshotError(`unknown snapshot format ${String(snapshot?.format)}`, 'format');
    if (snapshot.barrier_source !== cfg.barrier.source) {
      throw new SnapshotError(
        `snapshot was taken with barrier.source=${snapshot.barrier_source} but config has ${cfg.barrier.source}`,
        'barrier.source',
      );
    }
    // Round-trip through text so the restored engine shares nothing with the caller's object.
    const state = decodeState(JSON.parse(JSON.stringify(snapshot.state)) as JsonValue) as EngineState;
    if (cfg.barrier.source === 'l1') {
      const b = state.barrier as Omit<L1BarrierState, 'flows'> & { flows: L1FlowColumns | L1BarrierState['flows'] };
      b.flows = l1FlowsFromColumns(b.flows as L1FlowColumns, '$.barrier.flows');
    }
    // The tick-path times as offsets from an epoch of the restored state (any epoch gives the same compares and
    // differences; the next boundary is set once any event was seen, and a state without one holds no tick time).
    const clock = new EventClock(state.nextBoundaryNs);
    mapTickTimes(state.velocity as unknown as TimeSlots, state.barrier as unknown as TimeSlots, Object.values(state.perLevel) as unknown as TimeSlots[], (t) => {
      if (typeof t !== 'bigint') throw new SnapshotError(`a tick-path time is ${typeof t}, not a bigint`, 'state');
      return clock.heldOffsetOf(t);
    });
    return new SnapEngine(cfg, snapshot.underlying, state, clock);
  }

  /** Latest valid quote of the underlying, if any. */
  get quote(): { bid: number; ask: number } | null {
    return this.s.quote ? { bid: this.s.quote.bid, ask: this.s.quote.ask } : null;
  }

  /** The current level universe (as of the last tick). */
  get levels(): readonly Level[] {
    return this.universe.levels;
  }

  private accepts(ev: InputEvent): boolean {
    if (ev.key === this.underlying) return true;
    return ev.schema === 'heartbeat.v1' && (ev.key === '' || ev.key === '*');
  }

  private readonly ctx: BarrierEventContext = { tNs: 0n };

  private apply(ev: InputEvent): void {
    const ctx = this.ctx;
    ctx.tNs = ev.ts_event_ns;
    switch (ev.schema) {
      case 'stocks.quotes.v1':
        this.onQuote(ev);
        this.barrier.onEvent(ev, ctx);
        this.tape.onEvent(ev);
        break;
      case 'stocks.trades.v1':
        this.barrier.onEvent(ev, ctx);
        this.tape.onEvent(ev);
        this.universe.onTrade(ev.price, ev.size, ev.ts_event_ns);
        break;
      case 'options.trades.v1':
      case 'options.greeks_snapshots.v1':
        this.fuel.onEvent(ev);
        break;
      case 'futures.mbp10.v1':
      case 'futures.trades.v1':
        this.barrier.onEvent(ev, ctx);
        break;
      case 'heartbeat.v1':
        break;
    }
  }

  private onQuote(q: StockQuote): void {
    if (!(Number.isFinite(q.bid_px) && Number.isFinite(q.ask_px) && q.bid_px > 0 && q.ask_px > 0 && q.ask_px >= q.bid_px)) return;
    // Updated in place (nothing keeps a reference to it; snapshots copy it).
    const sq = this.s.quote;
    if (sq === null) this.s.quote = { bid: q.bid_px, ask: q.ask_px, ts: q.ts_event_ns };
    else {
      sq.bid = q.bid_px;
      sq.ask = q.ask_px;
      sq.ts = q.ts_event_ns;
    }
    this.basis.onSpyMid((q.bid_px + q.ask_px) / 2, q.ts_event_ns);
  }

  /** Emits ticks with boundary < limit (or ≤ limit when inclusive), applying the idle-gap and no-spot skips. */
  private emitUntil(limit: bigint, inclusive: boolean): LevelPhysicsPayload[] {
    const s = this.s;
    const out: LevelPhysicsPayload[] = [];
    // The first boundary at or after the first input: it is the tick that will include that input.
    let T: bigint = s.nextBoundaryNs ?? -floorDiv(-limit, this.tickNs) * this.tickNs;
    const idleNs = this.idleNs;
    while (T < limit || (inclusive && T === limit)) {
      if (s.quote === null || (s.lastActivityNs !== null && T - s.lastActivityNs > idleNs)) {
        const next = inclusive ? floorDiv(limit, this.tickNs) * this.tickNs + this.tickNs : -floorDiv(-limit, this.tickNs) * this.tickNs;
        T = next > T ? next : T + this.tickNs;
        continue;
      }
      out.push(this.tick(T));
      T += this.tickNs;
    }
    s.nextBoundaryNs = T;
    return out;
  }

  private tick(T: bigint): LevelPhysicsPayload {
    const s = this.s;
    const cfg = this.cfg;
    const q = s.quote!;
    const t = this.offsetOfTick(T);
    this.memoN = 0;
    this.barrier.onTick(T);
    this.tape.onTick(T);
    this.fuel.onTick(T);
    const spot = (q.bid + q.ask) / 2;
    const walls = this.fuel.walls(T, spot);
    const universe = this.universe.update(spot, T, walls);
    const stale = T - q.ts > this.staleNs;
    const so = this.smoothOpts;
    const band = cfg.levels.monitor_band + 1e-9;

    const velocityRaw = this.tape.velocityAt(T);
    const velocity = smoothStep(s.velocity, velocityRaw, t, so.velocity);

    const tickNo = ++this.tickNo;
    /** Distinct keys monitored at this tick. */
    let kept = 0;
    const rows: LevelSignal[] = [];
    let events: LevelEvent[] | undefined;
    this.runwayT = T;
    const prevT = t - this.tickT;
    // Fuel sums of all monitored levels in one pass over the option flows.
    const prices = this.prices;
    let nPrices = 0;
    for (let li = 0; li < universe.length; li++) if (Math.abs(spot - universe[li]!.price) <= band) prices[nPrices++] = universe[li]!.price;
    if (prices.length !== nPrices) prices.length = nPrices;
    this.fuel.prepareReads(prices, T);
    for (let li = 0; li < universe.length; li++) {
      const level = universe[li]!;
      if (!(Math.abs(spot - level.price) <= band)) continue;
      // Keyed by price, not id: when a wall or the HVL moves onto a strike the id changes (dedup by priority) but
      // it is the same price level, and its smoothing and trigger timer must carry on.
      // levelKeyOf, with both key strings memoized (this runs per level per tick).
      let entry = this.entryOf(universe, li, level, tickNo);
      if (entry === undefined || entry.tick !== tickNo) kept++;
      const prev = entry?.pl;
      const distance = Math.abs(spot - level.price);
      let direction = levelDirection(spot, level.price, distance, prev?.direction ?? null, cfg.levels.touch_band);
      // A shown BREAK/REJECT/CONTESTED keeps its direction until its dwell has passed: "SUPPORT, BREAK" with spot now
      // below L is the support that broke, and flipping would change the signal inside the dwell.
      if (prev && direction !== prev.direction && prev.trigger.shown !== 'NEUTRAL' && !dwellElapsed(prev.trigger, t, cfg)) direction = prev.direction;
      let pl = prev;
      if (!pl) {
        this.perLevel.set(this.slotKeys[li]!, (entry = { pl: (pl = newPerLevel(direction)), tick: tickNo }));
        this.slotEntries[li] = entry;
      }
      else if (pl.direction !== direction) {
        // The score now measures the other break: smoothers and BREAK timer restart; the shown signal, its dwell and
        // the episode carry on (they belong to the price level, not to one side of it).
        pl.trigger.aboveSinceNs = null;
        pl = entry!.pl = newPerLevel(direction, pl.trigger);
      }
      entry!.tick = tickNo;
      const at = this.episodeIn;
      at.direction = direction;
      at.price = level.price;
      at.spot = spot;
      stepEpisode(pl.trigger, t, prevT, cfg, at);
      const shownBefore = pl.trigger.shown;

      const barrier = this.readMonitored(level, direction, T, pl.noise);
      sampleLevelNoise(pl.noise, barrier.delta_liq, barrier.filled, t, cfg);
      const tape = this.tape.read(level, T, this.tapeOut);
      const fuel = this.fuel.read(level, T, walls, this.fuelOut);
      const comps = componentScores(cfg, barrier, fuel, tape, direction);
      const raw = compositeScore(comps, cfg.score);
      const smooth = smoothStep(pl.score, raw, t, so.score);
      const dLiq = smoothStep(pl.deltaLiq, barrier.delta_liq, t, so.deltaLiq);
      const rr = smoothStep(pl.replenishment, barrier.replenishment_ratio, t, so.replenishment);
      const gamma = smoothStep(pl.gamma, fuel.net_dealer_gamma, t, so.gamma);
      const tin = this.triggerIn;
      tin.raw = raw;
      tin.smooth = smooth;
      tin.distance = distance;
      tin.tNs = t;
      tin.barrierState = barrier.state;
      tin.tape = tape;
      tin.spot = spot;
      tin.velocity = velocity;
      tin.direction = direction;
      const signal = stepTrigger(pl.trigger, tin, cfg);
      // A BREAK/REJECT speaks of the side it was called on (a break confirmed once price is through is the approach's):
      // its event and runway take that side. The row keeps the level's own direction, which eval's labels read.
      const callDir = (signal === 'BREAK' || signal === 'REJECT') && pl.trigger.shownDirection !== null ? pl.trigger.shownDirection : direction;
      const confidence = confidenceOf(comps, smooth, barrier, stale, cfg.massive.data_delay_ms > 0);
      if (signal !== shownBefore && (signal === 'BREAK' || signal === 'REJECT') && !pl.trigger.fired) {
        pl.trigger.fired = true;
        (events ??= []).push(this.event(T, level, callDir, signal, smooth, confidence, comps, barrier, fuel, tape, spot));
      }
      // The universe comes from levels.ts already in byPriceThenId order: it is its own walking order.
      const runway = computeRunway(level, runwayDirection(signal, callDir, smooth), universe, this.runwayProbe, universe, this.runwayOut, li);
      rows.push(
        this.row(level, direction, distance, raw, smooth, signal, confidence, barrier, dLiq, rr, tape, velocity, fuel, gamma, runway, noteOf(barrier, fuel, tape, comps, direction)),
      );
    }
    // Every kept key is in perLevel, so only more entries than kept keys means something is left to forget. A level
    // that left the band (or was shadowed by another level on its price) is remembered until its signal's dwell has
    // passed AND it has been gone for a whole dwell: forgotten sooner, it would come back NEUTRAL and could BREAK
    // again a tick later, a flip on screen inside signal.min_dwell_ms (found by signal-dwell.test.ts, seed 6).
    if (this.perLevel.size > kept) {
      this.forgetT = t;
      this.perLevel.forEach(this.forget);
    }
    // By |distance| then id; an insertion sort (stable, like Array.prototype.sort, so the same order) of a handful of
    // rows costs less than sort()'s comparator calls.
    for (let i = 1; i < rows.length; i++) {
      const r = rows[i]!;
      let j = i;
      while (j > 0 && rowBefore(r, rows[j - 1]!)) {
        rows[j] = rows[j - 1]!;
        j--;
      }
      rows[j] = r;
    }
    const payload: LevelPhysicsPayload = {
      ts: Number(T / 1_000_000n),
      ts_event_ns: T.toString(),
      underlying: this.underlying,
      spy: { spot: round4(spot), bid: round4(q.bid), ask: round4(q.ask) },
      levels: rows,
    };
    if (events) payload.events = events.sort((a, b) => (a.level_id < b.level_id ? -1 : a.level_id > b.level_id ? 1 : 0));
    return payload;
  }

  /**
   * T as an offset from the epoch (the smoothers', triggers' and baselines' time). A tick 2^52 ns or more after the
   * epoch first moves the epoch to it, so a long run keeps its offsets exact (a held time then 2^53 ns or more in the
   * past, state kept across ~104 days of event time, becomes the oldest offset: EventClock.heldOffsetOf).
   */
  private offsetOfTick(T: bigint): number {
    const epoch = this.clock.epochNs;
    if (epoch !== null && T - epoch >= REBASE_AFTER_NS) {
      const toNewEpoch = this.clock.rebase(T);
      mapTickTimes(this.s.velocity as unknown as TimeSlots, this.s.barrier as unknown as TimeSlots, this.perLevelTimes(), (t) => toNewEpoch(t as number));
    }
    return this.clock.offsetOf(T);
  }

  private *perLevelTimes(): Iterable<TimeSlots> {
    for (const e of this.perLevel.values()) yield e.pl as unknown as TimeSlots;
  }

  /** The discrete call of an episode (signals.ts LevelEvent); its id depends only on (underlying, level, tick, signal). */
  private event(
    T: bigint,
    level: Level,
    direction: Direction,
    signal: 'BREAK' | 'REJECT',
    smooth: number,
    confidence: LevelSignal['confidence'],
    comps: ReturnType<typeof componentScores>,
    barrier: BarrierReading,
    fuel: ReturnType<FuelEngine['read']>,
    tape: ReturnType<TapeEngine['read']>,
    spot: number,
  ): LevelEvent {
    const ts = T.toString();
    return {
      event_id: fnv1a64(['levels.events.v1', this.underlying, level.id, ts, signal].join('|')),
      ts_event_ns: ts,
      underlying: this.underlying,
      level_id: level.id,
      level_kind: level.kind,
      level_price: round4(level.price),
      direction,
      signal,
      break_score: round2(calibrateScore(smooth, this.cfg.score.calibration)),
      confidence,
      lead: leadOf(comps, this.cfg.score, signal),
      reason: noteOf(barrier, fuel, tape, comps, direction),
      spot: round4(spot),
    };
  }

  /**
   * Barrier states of this tick, memoised by (price, direction): the runway reads the obstacle levels, which are
   * mostly monitored levels already read. A reading depends only on the state, the price, the side and T, and no
   * event is applied inside a tick. Cleared at the start of every tick.
   */
  private readonly memo: { price: number; direction: Direction; state: BarrierStateName }[] = [];
  /** Entries of memo in use this tick (the first memoN; the rest are kept for reuse). */
  private memoN = 0;

  private memoPut(price: number, direction: Direction, state: BarrierStateName): void {
    const m = this.memo;
    if (this.memoN < m.length) {
      const e = m[this.memoN]!;
      e.price = price;
      e.direction = direction;
      e.state = state;
    } else m.push({ price, direction, state });
    this.memoN++;
  }

  private readonly levelNoiseOut: SideNoise = { dlMean: 0, dlSd: 0, fillMean: 0, fillSd: 0 };
  /** A monitored level's readings, refilled per level (they never leave the tick: rows and events copy their fields). */
  private readonly barrierOut: BarrierReading = { state: 'NEUTRAL', delta_liq: 0, replenishment_ratio: 0, added: 0, canceled: 0, filled: 0, defending: null, churn: 0, passive_volume: 0, caveats: [] };
  private readonly tapeOut = newTapeReading();
  /** Inputs of a level's episode and trigger step, refilled per level (score.ts reads them and keeps nothing). */
  private readonly episodeIn: { direction: Direction; price: number; spot: number } = { direction: 'SUPPORT', price: 0, spot: 0 };
  private readonly triggerIn: TriggerInput = { raw: 0, smooth: 0, distance: 0, tNs: 0, barrierState: 'NEUTRAL', tape: this.tapeOut, spot: 0, velocity: 0, direction: 'SUPPORT' };
  private readonly runwayOut: LevelSignal['runway'] = { direction: 'UP', next_obstacle: null, distance: null, quality: 'CLEAR' };
  private readonly fuelOut = newFuelReading();

  /** A monitored level's reading, against its own noise too; it replaces any runway reading of this tick in the memo. */
  private readMonitored(level: Level, direction: Direction, T: bigint, noise: LevelNoise): BarrierReading {
    const reading = this.barrier.read(level, direction, T, levelNoiseOf(noise, this.levelNoiseOut), this.barrierOut);
    const m = this.memo;
    for (let i = 0; i < this.memoN; i++) {
      const e = m[i]!;
      if (e.price === level.price && e.direction === direction) {
        e.state = reading.state;
        return reading;
      }
    }
    this.memoPut(level.price, direction, reading.state);
    return reading;
  }

  private readBarrier(level: Level, direction: Direction, T: bigint): BarrierStateName {
    const m = this.memo;
    for (let i = 0; i < this.memoN; i++) {
      const e = m[i]!;
      if (e.price === level.price && e.direction === direction) return e.state;
    }
    const state = this.barrier.readState(level, direction, T);
    this.memoPut(level.price, direction, state);
    return state;
  }

  private row(
    level: Level,
    direction: Direction,
    distance: number,
    raw: number,
    smooth: number,
    signal: LevelSignal['signal'],
    confidence: LevelSignal['confidence'],
    b: BarrierReading,
    dLiq: number,
    rr: number,
    tape: ReturnType<TapeEngine['read']>,
    velocity: number,
    fuel: ReturnType<FuelEngine['read']>,
    gamma: number,
    runway: LevelSignal['runway'],
    note: string,
  ): LevelSignal {
    return {
      id: level.id,
      price: round4(level.price),
      kind: level.kind,
      direction,
      distance: round4(distance),
      break_score_raw: round2(raw),
      // Published through score.calibration (a probability-like 0–100); the triggers above read S̃ itself.
      break_score_smooth: round2(calibrateScore(smooth, this.cfg.score.calibration)),
      signal,
      confidence,
      barrier: {
        state: b.state,
        delta_liq: round0(dLiq),
        delta_liq_raw: round0(b.delta_liq),
        replenishment_ratio: round4(rr),
        replenishment_ratio_raw: round4(b.replenishment_ratio),
        added: round0(b.added),
        canceled: round0(b.canceled),
        filled: round0(b.filled),
        defending_quote: b.defending ? { price: round4(b.defending.price), size: round0(b.defending.size) } : null,
      },
      tape: {
        imbalance: round4(tape.imbalance),
        buy_vol: round0(tape.buy_vol),
        sell_vol: round0(tape.sell_vol),
        velocity: round6(velocity),
        velocity_raw: round6(tape.velocity),
        sweep: {
          detected: tape.sweep.detected,
          direction: tape.sweep.direction,
          notional: round0(tape.sweep.notional),
          venues: tape.sweep.venues,
          window_ms: round3(tape.sweep.window_ms),
        },
      },
      fuel: {
        effect: fuel.effect,
        net_dealer_gamma: round0(gamma),
        net_dealer_gamma_raw: round0(fuel.net_dealer_gamma),
        call_wall: p4(fuel.call_wall),
        put_wall: p4(fuel.put_wall),
        hvl: p4(fuel.hvl),
      },
      runway: {
        direction: runway.direction,
        next_obstacle: runway.next_obstacle ? { id: runway.next_obstacle.id, price: round4(runway.next_obstacle.price) } : null,
        distance: runway.distance === null ? null : round4(runway.distance),
        quality: runway.quality,
      },
      note,
    };
  }
}

/**
 * Runs the core over a finite, already merged event sequence. Only the ticks that the events themselves close are
 * emitted (as in the Kafka processor, which cannot know that a log has ended: a later record may still fall inside the
 * tick that holds the last event). Pass `endNs` to also close every tick up to it (inclusive).
 */
export function runCore(cfg: Config, underlying: string, events: Iterable<InputEvent>, endNs?: bigint): LevelPhysicsPayload[] {
  const engine = new SnapEngine(cfg, underlying);
  const out: LevelPhysicsPayload[] = [];
  for (const ev of events) for (const p of engine.push(ev)) out.push(p);
  if (endNs !== undefined) for (const p of engine.advanceTo(endNs)) out.push(p);
  return out;
}
