// Barrier rule (plan §5.1, §5.1.1): is the liquidity defending a level being pulled, consumed or replenished?
//
// Both sources (SPY L1 in barrier-l1.ts, ES MBP-10 in barrier-mbp10.ts) reduce their data to the same flows over
// the window W_b — added, canceled, filled — and this file turns flows into a state, so the classification is
// written once:
//   Δliq = added − canceled − filled,   R = added / (canceled + filled + ε)
//   VACUUM      R < R_vac  and Δliq < −F and ≥ 1/3 of the removed size was canceled (defenders withdrawing, nobody
//                                                      replacing them; see VACUUM_MIN_PULLED_SHARE)
//   CONSUMED    Δliq < −F  and filled > canceled      (eaten faster than replenished: a drop mostly explained by
//                                                      prints is not called a pull)
//   VACUUM      R < R_vac  and Δliq < −F              (otherwise: size drops without prints, pulled)
//   ABSORPTION  R > R_wall and Δliq > +F and filled > canceled   (hit, but refilled)
//               — or, MBP-10 only, the absorption bias: passive volume ≫ depth lost (hidden/iceberg or instant refill)
//   WALL        R > R_wall and Δliq > +F              (size stacking without being hit)
//   WEAK        none of the above and the defending size is below the weak_percentile of its own baseline
//   NEUTRAL     otherwise
// ε = 1 (one share / one contract) keeps R finite when nothing was removed.
// Adaptive thresholds (issue 9): F is only a floor. Every state but WEAK/NEUTRAL also needs the window's flow to stand
// out from the defending queue's own recent noise: Δliq ≥ mean + z·sd (WALL, ABSORPTION) or ≤ mean − z·sd (VACUUM,
// CONSUMED), and the MBP-10 absorption bias needs filled ≥ mean + z·sd, against an exponentially weighted baseline
// (barrier.baseline_half_life_ms) of the same window sums taken at the touch of each side at every snap tick — the
// queue a level's barrier is whenever price is at the level — and, once it has enough samples, against the level's
// own readings (a level that price oscillates across collects every re-entering queue as "added", which the touch
// never sees; a level price has not reached yet reads zeros, which is why the touch bound stays). The stricter of the
// two bounds applies. Until BASELINE_MIN_SAMPLES samples exist no state is
// called: a market whose size noise is unknown cannot be said to stack or pull. So a balanced book refreshing
// 2–4k-share quotes reads NEUTRAL, while the same 5k shares pulled in a quiet book stand out.
import type { Config } from './config';
import type { InputEvent } from './events';
import type { BarrierStateName, Direction, Level } from './signals';
import { msToNsFloat } from './event-clock';
import { newRing, ringPercentile, ringPush, type RingState } from './numeric';

export const R_EPSILON = 1;
/**
 * VACUUM vs CONSUMED when both rules match (nothing refills, Δliq < −F, and prints explain most of the loss): the
 * plan lists VACUUM first, §8.1 wants a drop explained by prints called CONSUMED. The defining feature of a vacuum is
 * that defenders withdraw while nobody replaces them; once a third of what left the queue was pulled rather than
 * traded (and R < R_vac), the defenders are leaving, not merely being hit — VACUUM. Below that share, CONSUMED.
 */
export const VACUUM_MIN_PULLED_SHARE = 1 / 3;

/** Why a reading deserves less trust; any reason lowers the level's confidence. */
export type BarrierCaveat = 'OUT_OF_RANGE' | 'NO_BOOK' | 'BAD_BOOK' | 'CHURN';

export interface BarrierReading {
  state: BarrierStateName;
  delta_liq: number;
  replenishment_ratio: number;
  added: number;
  canceled: number;
  filled: number;
  /** The defending queue at the level now (L1: NBBO side near L; MBP-10: zone depth in ES contracts), if any. */
  defending: { price: number; size: number } | null;
  /** MBP-10: gross churn and passive volume in the zone over W_b (0 for L1). */
  churn: number;
  passive_volume: number;
  caveats: BarrierCaveat[];
}

export interface BarrierEventContext {
  /** Event time of the event being applied. */
  tNs: bigint;
}

/** One interface, two sources; chosen by config barrier.source. */
export interface BarrierEngine {
  readonly source: 'l1' | 'mbp10';
  onEvent(ev: InputEvent, ctx: BarrierEventContext): void;
  /** Called at every snap tick before reads: evicts the window and samples the WEAK baseline. */
  onTick(tNs: bigint): void;
  /** `levelNoise`: the level's own noise baseline (monitored levels), tightening the adaptive thresholds. `out`, when
   *  given, may be refilled and returned instead of a new reading (valid until the next read with the same `out`). */
  read(level: Level, direction: Direction, tNs: bigint, levelNoise?: SideNoise | null, out?: BarrierReading): BarrierReading;
  /** read(level, direction, tNs).state, without building the reading (the runway's obstacle probe). */
  readState(level: Level, direction: Direction, tNs: bigint): BarrierStateName;
  /** Plain JSON-able state (bigints allowed; the snapshot codec encodes them). */
  readonly state: unknown;
}

export interface ClassifyInput {
  added: number;
  canceled: number;
  filled: number;
  /** F_thresh in the source's size unit. */
  fThresh: number;
  rVac: number;
  rWall: number;
  /** Current defending size, null when no defending queue is at the level. */
  defendingSize: number | null;
  /** weak_percentile of the defending-size baseline, null while the baseline is too short. */
  weakThreshold: number | null;
  /** MBP-10: passive volume far exceeds the depth lost (iceberg / instant refill). */
  absorptionBias?: boolean;
  /** The defending side's noise at its touch (mean/sd of Δliq and of filled); null while too short: no state but
   *  WEAK/NEUTRAL. */
  noise: SideNoise | null;
  /** The level's own noise (its readings while monitored), when long enough: the stricter of the two bounds applies. */
  levelNoise?: SideNoise | null;
  /** barrier.z_thresh */
  z: number;
}

export interface Classified {
  state: BarrierStateName;
  delta_liq: number;
  replenishment_ratio: number;
}

/** The state, Δliq and R of the flows; written into `out` when given (a reading being refilled), else a new object. */
export function classifyBarrier<T extends Classified = Classified>(x: ClassifyInput, out?: T): T {
  const removed = x.canceled + x.filled;
  const state = classifyState(x);
  const delta_liq = x.added - removed;
  const replenishment_ratio = x.added / (removed + R_EPSILON);
  if (out === undefined) return { state, delta_liq, replenishment_ratio } as T;
  out.state = state;
  out.delta_liq = delta_liq;
  out.replenishment_ratio = replenishment_ratio;
  return out;
}

/** classifyBarrier's state alone (nothing allocated: the runway asks only this of its candidate obstacles). */
export function classifyState(x: ClassifyInput): BarrierStateName {
  const removed = x.canceled + x.filled;
  const delta_liq = x.added - removed;
  const replenishment_ratio = x.added / (removed + R_EPSILON);
  let state: BarrierStateName = 'NEUTRAL';
  const pulledShare = removed > 0 ? x.canceled / removed : 0;
  // z = 0 turns the adaptive test off (F alone, the plan's fixed thresholds); otherwise no baseline yet → no state.
  const n = x.noise;
  const fixed = !(x.z > 0);
  const ln = x.levelNoise ?? null;
  let lower = -Infinity;
  let upper = Infinity;
  let fillUpper = Infinity;
  if (n !== null) {
    lower = n.dlMean - x.z * n.dlSd;
    upper = n.dlMean + x.z * n.dlSd;
    fillUpper = n.fillMean + x.z * n.fillSd;
    if (ln) {
      lower = Math.min(lower, ln.dlMean - x.z * ln.dlSd);
      upper = Math.max(upper, ln.dlMean + x.z * ln.dlSd);
      fillUpper = Math.max(fillUpper, ln.fillMean + x.z * ln.fillSd);
    }
  }
  const depleted = delta_liq < -x.fThresh && (fixed || delta_liq <= lower);
  const stacked = delta_liq > x.fThresh && (fixed || delta_liq >= upper);
  const heavyFills = fixed || x.filled >= fillUpper;
  if (depleted && replenishment_ratio < x.rVac && pulledShare >= VACUUM_MIN_PULLED_SHARE) state = 'VACUUM';
  else if (depleted && x.filled > x.canceled) state = 'CONSUMED';
  else if (depleted && replenishment_ratio < x.rVac) state = 'VACUUM';
  else if (x.absorptionBias && heavyFills) state = 'ABSORPTION';
  else if (stacked && replenishment_ratio > x.rWall) state = x.filled > x.canceled ? 'ABSORPTION' : 'WALL';
  else if (x.defendingSize !== null && x.weakThreshold !== null && x.defendingSize < x.weakThreshold) state = 'WEAK';
  // CONSUMED sits ahead of the absorption bias on purpose: when depth is lost faster than prints can explain the
  // bias is false anyway, and when the bias is true the net loss is small relative to passive volume.
  return state;
}

/**
 * WEAK baseline sampling cadence: the baseline spans weak_baseline_ms with at most BASELINE_CAPACITY samples, taken
 * at snap ticks, so memory and snapshot size stay bounded whatever the baseline length.
 */
export const BASELINE_CAPACITY = 1024;
/** Fewer samples than this and WEAK is never called (a baseline of a few seconds says nothing). */
export const BASELINE_MIN_SAMPLES = 20;

export function baselineIntervalMs(cfg: Config): number {
  return Math.max(cfg.snap.tick_ms, Math.ceil(cfg.barrier.weak_baseline_ms / BASELINE_CAPACITY));
}

/** The defending-size baseline of each side (B = bids, A = asks) and its current WEAK thresholds; part of engine state. */
export interface WeakBaseline {
  B: RingState;
  A: RingState;
  /** ns from the engine epoch (event-clock.ts); a snapshot writes it as the bigint time. */
  lastSampleNs: number | null;
  thresholdB: number | null;
  thresholdA: number | null;
}

export const newWeakBaseline = (): WeakBaseline => ({ B: newRing(BASELINE_CAPACITY), A: newRing(BASELINE_CAPACITY), lastSampleNs: null, thresholdB: null, thresholdA: null });

/** Is a baseline sample due at snap tick tNs (ns from the engine epoch; the first tick, then every baselineIntervalMs)? */
export function weakBaselineDue(b: WeakBaseline, cfg: Config, tNs: number): boolean {
  return b.lastSampleNs === null || tNs - b.lastSampleNs >= msToNsFloat(baselineIntervalMs(cfg));
}

/** Takes one sample per side (a null size adds none) and recomputes both thresholds. */
export function sampleWeakBaseline(b: WeakBaseline, cfg: Config, tNs: number, bidSize: number | null, askSize: number | null): void {
  if (bidSize !== null) ringPush(b.B, bidSize);
  if (askSize !== null) ringPush(b.A, askSize);
  b.lastSampleNs = tNs;
  const p = cfg.barrier.weak_percentile;
  b.thresholdB = b.B.buf.length >= BASELINE_MIN_SAMPLES ? ringPercentile(b.B, p) : null;
  b.thresholdA = b.A.buf.length >= BASELINE_MIN_SAMPLES ? ringPercentile(b.A, p) : null;
}

/** Exponentially weighted mean and variance of one flow sum (West's incremental update; O(1) per sample). */
export interface EwStat {
  mean: number;
  var: number;
  n: number;
  /** ns from the engine epoch (event-clock.ts); a snapshot writes it as the bigint time. */
  lastNs: number | null;
}

/** Mean/sd of a side's window Δliq and filled, as classifyBarrier reads them. */
export interface SideNoise {
  dlMean: number;
  dlSd: number;
  fillMean: number;
  fillSd: number;
}

/** The noise baseline of both sides (B = bids, A = asks); part of engine state. */
export interface NoiseBaseline {
  B: { dl: EwStat; fill: EwStat };
  A: { dl: EwStat; fill: EwStat };
}

const newEwStat = (): EwStat => ({ mean: 0, var: 0, n: 0, lastNs: null });
export const newNoiseBaseline = (): NoiseBaseline => ({ B: { dl: newEwStat(), fill: newEwStat() }, A: { dl: newEwStat(), fill: newEwStat() } });

/** ewStatPush's last time weight and its inputs. */
const ewLast: { dt: number; halfLifeMs: number; aT: number } = { dt: -1, halfLifeMs: NaN, aT: 0 };

export function ewStatPush(s: EwStat, x: number, tNs: number, halfLifeMs: number): void {
  if (s.lastNs === null || s.n === 0) {
    s.mean = x;
    s.var = 0;
  } else {
    const dt = tNs - s.lastNs;
    // Until n reaches about one time constant the plain EW weight leaves the variance biased toward its start of 0 for
    // many minutes (α ≈ 3·10⁻⁴ per tick at a 10 min half-life): it starts as the running mean/variance (weight 1/n).
    // Samples come once per snap tick, so Δt is nearly always one tick: the last weight is reused (the same expression
    // of the same inputs, so the same number).
    let aT: number;
    if (dt === ewLast.dt && halfLifeMs === ewLast.halfLifeMs) aT = ewLast.aT;
    else {
      aT = dt <= 0 ? 0 : 1 - Math.exp((-dt / 1e6) * (Math.LN2 / halfLifeMs));
      ewLast.dt = dt;
      ewLast.halfLifeMs = halfLifeMs;
      ewLast.aT = aT;
    }
    const a = Math.max(aT, 1 / (s.n + 1));
    const diff = x - s.mean;
    const inc = a * diff;
    s.mean += inc;
    s.var = (1 - a) * (s.var + diff * inc);
  }
  s.n++;
  s.lastNs = tNs;
}

/**
 * A side's entry of a per-side record. `r[side]` with side a variable is a keyed load whose inline cache sees two
 * property names ('B', 'A'), which V8 does not cache per name: every such load went through the megamorphic keyed
 * stub (the hottest builtin of the L1 barrier's tick and quote paths). Two named loads behind a compare are cached.
 */
export const ofSide = <T>(r: { B: T; A: T }, side: 'B' | 'A'): T => (side === 'B' ? r.B : r.A);

/** One sample of a side's window sums at its touch (snap tick cadence). */
export function sampleNoise(b: NoiseBaseline, side: 'B' | 'A', deltaLiq: number, filled: number, tNs: number, cfg: Config): void {
  const h = cfg.barrier.baseline_half_life_ms;
  const x = ofSide(b, side);
  ewStatPush(x.dl, deltaLiq, tNs, h);
  ewStatPush(x.fill, filled, tNs, h);
}

/** The side's noise for classifyBarrier, written into `out`; null while the baseline has fewer than BASELINE_MIN_SAMPLES. */
export function sideNoise(b: NoiseBaseline, side: 'B' | 'A', out: SideNoise): SideNoise | null {
  const x = ofSide(b, side);
  if (x.dl.n < BASELINE_MIN_SAMPLES) return null;
  out.dlMean = x.dl.mean;
  out.dlSd = Math.sqrt(Math.max(0, x.dl.var));
  out.fillMean = x.fill.mean;
  out.fillSd = Math.sqrt(Math.max(0, x.fill.var));
  return out;
}

/** A level's own noise baseline (its Δliq and filled readings at every monitored tick). */
export interface LevelNoise {
  dl: EwStat;
  fill: EwStat;
}

export const newLevelNoise = (): LevelNoise => ({ dl: newEwStat(), fill: newEwStat() });

export function sampleLevelNoise(b: LevelNoise, deltaLiq: number, filled: number, tNs: number, cfg: Config): void {
  ewStatPush(b.dl, deltaLiq, tNs, cfg.barrier.baseline_half_life_ms);
  ewStatPush(b.fill, filled, tNs, cfg.barrier.baseline_half_life_ms);
}

export function levelNoiseOf(b: LevelNoise, out: SideNoise): SideNoise | null {
  if (b.dl.n < BASELINE_MIN_SAMPLES) return null;
  out.dlMean = b.dl.mean;
  out.dlSd = Math.sqrt(Math.max(0, b.dl.var));
  out.fillMean = b.fill.mean;
  out.fillSd = Math.sqrt(Math.max(0, b.fill.var));
  return out;
}
