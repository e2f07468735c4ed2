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
import type { Config } from './config';
import type { InputEvent } from './events';
import type { BarrierStateName, Direction, Level } from './signals';
import { msToNs, newRing, ringPercentile, ringPush, type RingState } from './numeric';

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
  read(level: Level, direction: Direction, tNs: bigint): BarrierReading;
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
}

export interface Classified {
  state: BarrierStateName;
  delta_liq: number;
  replenishment_ratio: number;
}

export function classifyBarrier(x: ClassifyInput): Classified {
  const removed = x.canceled + x.filled;
  const delta_liq = x.added - removed;
  const replenishment_ratio = x.added / (removed + R_EPSILON);
  let state: BarrierStateName = 'NEUTRAL';
  const pulledShare = removed > 0 ? x.canceled / removed : 0;
  if (replenishment_ratio < x.rVac && delta_liq < -x.fThresh && pulledShare >= VACUUM_MIN_PULLED_SHARE) state = 'VACUUM';
  else if (delta_liq < -x.fThresh && x.filled > x.canceled) state = 'CONSUMED';
  else if (replenishment_ratio < x.rVac && delta_liq < -x.fThresh) state = 'VACUUM';
  else if (x.absorptionBias) state = 'ABSORPTION';
  else if (replenishment_ratio > x.rWall && delta_liq > x.fThresh) state = x.filled > x.canceled ? 'ABSORPTION' : 'WALL';
  else if (x.defendingSize !== null && x.weakThreshold !== null && x.defendingSize < x.weakThreshold) state = 'WEAK';
  // CONSUMED sits ahead of the absorption bias on purpose: when depth is lost faster than prints can explain the
  // bias is false anyway, and when the bias is true the net loss is small relative to passive volume.
  return { state, delta_liq, replenishment_ratio };
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
  lastSampleNs: bigint | null;
  thresholdB: number | null;
  thresholdA: number | null;
}

export const newWeakBaseline = (): WeakBaseline => ({ B: newRing(BASELINE_CAPACITY), A: newRing(BASELINE_CAPACITY), lastSampleNs: null, thresholdB: null, thresholdA: null });

/** Is a baseline sample due at snap tick tNs (the first tick, then every baselineIntervalMs)? */
export function weakBaselineDue(b: WeakBaseline, cfg: Config, tNs: bigint): boolean {
  return b.lastSampleNs === null || tNs - b.lastSampleNs >= msToNs(baselineIntervalMs(cfg));
}

/** Takes one sample per side (a null size adds none) and recomputes both thresholds. */
export function sampleWeakBaseline(b: WeakBaseline, cfg: Config, tNs: bigint, bidSize: number | null, askSize: number | null): void {
  if (bidSize !== null) ringPush(b.B, bidSize);
  if (askSize !== null) ringPush(b.A, askSize);
  b.lastSampleNs = tNs;
  const p = cfg.barrier.weak_percentile;
  b.thresholdB = b.B.buf.length >= BASELINE_MIN_SAMPLES ? ringPercentile(b.B, p) : null;
  b.thresholdA = b.A.buf.length >= BASELINE_MIN_SAMPLES ? ringPercentile(b.A, p) : null;
}
