// Composite Break Score and trigger state machine (plan §5.4).
//
// §5.4.1 component scores:
//   S_L (liquidity): VACUUM 100 · WEAK 75 · NEUTRAL/CONSUMED 50, or 60 when Δliq is strongly negative
//                    (Δliq < −F_thresh of the barrier's source — the same "≪ 0" that defines CONSUMED in §5.1, so a
//                    CONSUMED barrier always scores 60; a NEUTRAL one scores 60 when it lost more than F without
//                    qualifying as CONSUMED or VACUUM) · WALL 0 · ABSORPTION 0 while the tape shows the aggression
//                    being absorbed (imbalance toward the break ≥ score.absorption_min_imbalance: sellers hitting a
//                    support, buyers lifting a resistance), else scored as NEUTRAL: fills at a quote that refills with
//                    no one leaning on it are liquidity providers re-sizing a two-sided book, not a defence holding
//   S_H (hedge):     direction-aware (§5.4.1 "AMPLIFY in the break direction"): dealers short gamma chase whatever
//                    move is under way. At a level that move is the approach (toward the break) unless price is
//                    already moving back the way it came (velocity in the bounce direction ≥ AMPLIFY_MOVE·velocity_ref):
//                    then they amplify the rejection and AMPLIFY scores 0; otherwise 100 · DAMPEN 0 · NEUTRAL 50.
//                    (A consumption break grinds at a few mills a second, so "still" counts as the approach.)
//   S_T (tape):      100 when a sweep is detected in the break direction; else 0–50 =
//                    25·clamp(v_b / velocity_ref, 0, 1) + 25·clamp(I_b, 0, 1), where v_b and I_b are velocity and
//                    imbalance signed so that positive means "toward the break direction"
// §5.4.2 composite: S = (w_L·S_L + w_H·S_H + w_T·S_T) / (w_L + w_H + w_T), clamped to [0, 100]. Dividing by the
//   weight sum keeps S on the 0–100 scale for any configured weights (the defaults sum to 1, where this is the
//   plan's formula as written); all-zero weights give 50.
// §5.4.3 triggers, per level, on event time:
//   BREAK     the composite S > break_threshold continuously for ≥ hold_ms (timer starts at the first tick above; any
//             tick at or below, or outside MONITOR_BAND, resets it) while |spot − L| ≤ MONITOR_BAND. The plan gives
//             BREAK its own persistence rule (T_hold), so it applies to S itself: holding the EWMA S̃ above 80 for
//             T_hold would count persistence twice (the EWMA needs ~1.5 half-lives to cross 80 when S sits at 82,
//             the most a consumption break can score), and the signal would come after the queue is gone.
//   REJECT    S̃ < reject_threshold while |spot − L| ≤ TOUCH_BAND — the plan gives REJECT no hold, so the smoothed
//             score supplies its persistence (one quiet tick of S cannot fire it)
//   CONTESTED reject_threshold ≤ S̃ ≤ break_threshold with high activity: barrier CONSUMED and a strong tape
//             (sweep detected, or |imbalance| ≥ STRONG_IMBALANCE)
//   NEUTRAL   otherwise
// Confidence: components "lean" break (S_L > 50, S_H > 50, S_T > 25) or reject (below those); HIGH when all three
//   lean with the score's side of 50, MEDIUM when two do, else LOW. Barrier churn lowers it one step; a bad book,
//   a level out of MBP-10 range / no book, or stale quotes make it LOW.
import type { Config } from './config';
import type { BarrierCaveat, BarrierReading } from './barrier';
import type { TapeReading } from './tape';
import type { FuelReading } from './fuel';
import type { BarrierStateName, Confidence, Direction, MoveDirection, SignalName } from './signals';
import { msToNsFloat } from './event-clock';
import { clamp } from './numeric';

export const STRONG_IMBALANCE = 0.5;

export const breakDirectionOf = (d: Direction): MoveDirection => (d === 'SUPPORT' ? 'DOWN' : 'UP');
/** The break direction (breakDirectionOf) as a sign on price: +1 up, −1 down. */
const breakSign = (approach: Direction): 1 | -1 => (breakDirectionOf(approach) === 'UP' ? 1 : -1);
export const bounceDirectionOf = (d: Direction): MoveDirection => (d === 'SUPPORT' ? 'UP' : 'DOWN');

export interface ComponentScores {
  liquidity: number;
  hedge: number;
  tape: number;
}

/**
 * S_L. `aggression` is the tape's imbalance signed toward the break (I_b); ABSORPTION is a hold only when it is at
 * least `minAggression` (the defaults, 1 and 0, make every ABSORPTION a hold).
 */
export function liquidityScore(state: BarrierStateName, deltaLiq: number, fThresh: number, aggression = 1, minAggression = 0): number {
  switch (state) {
    case 'VACUUM':
      return 100;
    case 'WEAK':
      return 75;
    case 'WALL':
      return 0;
    case 'ABSORPTION':
      if (aggression >= minAggression - 1e-9) return 0;
      break;
    default:
      break;
  }
  return deltaLiq < -fThresh ? 60 : 50;
}

/** Share of velocity_ref that counts as "a move under way" for the direction of AMPLIFY. */
export const AMPLIFY_MOVE = 0.2;

/** S_H. `breakVelocity` is the spot velocity signed positive toward the break direction ($/s). */
export function hedgeScore(effect: FuelReading['effect'], breakVelocity = 0, velocityRef = 1): number {
  if (effect === 'DAMPEN') return 0;
  if (effect !== 'AMPLIFY') return 50;
  return breakVelocity <= -AMPLIFY_MOVE * velocityRef ? 0 : 100;
}

export function tapeScore(tape: TapeReading, direction: Direction, velocityRef: number): number {
  const brk = breakDirectionOf(direction);
  if (tape.sweep.detected && tape.sweep.direction === brk) return 100;
  const sign = brk === 'UP' ? 1 : -1;
  const v = clamp((sign * tape.velocity) / velocityRef, 0, 1);
  const i = clamp(sign * tape.imbalance, 0, 1);
  return 25 * v + 25 * i + 0; // + 0 turns −0 into 0
}

/**
 * score.calibration's default: [S̃, 100·P(break)] knots fitted (isotonic, eval's fitted_calibration) on simulator
 * seeds 1–10 only — docs/eval.md "Calibration map" has the command. P is the share of readings of resolved episodes
 * (BREAK or REJECT outcome) whose episode broke, so a published break_score_smooth of 60 means "of the levels that
 * resolved from a reading like this, 60% broke". Fitted on 2 h sessions (20 reliability bins); S̃ barely separates
 * (the break rate runs 0.38–0.55 for S̃ 6–73, 0.75 above 80), so the map is mostly the base rate, honestly stated.
 */
export const DEFAULT_CALIBRATION: ReadonlyArray<readonly [number, number]> = [
  [6, 38.4],
  [22.9, 45],
  [38.2, 48.1],
  [57.7, 49.5],
  [61.8, 54.9],
  [73.1, 55.4],
  [81.6, 74.6],
];

/** The published break_score_smooth: S̃ through the calibration knots (linear between them, flat beyond); [] is S̃. */
export function calibrateScore(smooth: number, knots: ReadonlyArray<readonly [number, number]>): number {
  const n = knots.length;
  if (n === 0) return smooth;
  if (smooth <= knots[0]![0]) return knots[0]![1];
  for (let i = 1; i < n; i++) {
    const k1 = knots[i]!;
    const x1 = k1[0];
    const y1 = k1[1];
    if (smooth <= x1) {
      const k0 = knots[i - 1]!;
      const x0 = k0[0];
      const y0 = k0[1];
      return y0 + ((y1 - y0) * (smooth - x0)) / (x1 - x0);
    }
  }
  return knots[n - 1]![1];
}

export function compositeScore(c: ComponentScores, w: { w_l: number; w_h: number; w_t: number }): number {
  const sum = w.w_l + w.w_h + w.w_t;
  if (!(sum > 0)) return 50;
  const s = (w.w_l * c.liquidity + w.w_h * c.hedge + w.w_t * c.tape) / sum;
  return clamp(Number.isFinite(s) ? s : 50, 0, 100);
}

export function componentScores(
  cfg: Config,
  barrier: BarrierReading,
  fuel: FuelReading,
  tape: TapeReading,
  direction: Direction,
): ComponentScores {
  const fThresh = cfg.barrier.source === 'mbp10' ? cfg.barrier.f_thresh_futures : cfg.barrier.f_thresh;
  const toBreak = breakSign(direction);
  return {
    liquidity: liquidityScore(barrier.state, barrier.delta_liq, fThresh, toBreak * tape.imbalance, cfg.score.absorption_min_imbalance),
    hedge: hedgeScore(fuel.effect, toBreak * tape.velocity, cfg.score.velocity_ref),
    tape: tapeScore(tape, direction, cfg.score.velocity_ref),
  };
}

/**
 * Per-level trigger memory: the BREAK timer, the shown signal (hysteresis, dwell) and the level's episode. Its times are
 * ns from the engine epoch (event-clock.ts); a snapshot writes them as bigint times.
 */
export interface TriggerState {
  /** Event time of the first consecutive tick with S > break_threshold inside MONITOR_BAND, or null. */
  aboveSinceNs: number | null;
  /** The signal the level shows (after hysteresis and the minimum dwell). */
  shown: SignalName;
  /** When `shown` last changed (null: not since the level appeared), for signal.min_dwell_ms. */
  changedNs: number | null;
  /** First tick of the level's current episode, and whether that episode already fired its BREAK/REJECT event. */
  episodeNs: number | null;
  fired: boolean;
  /** Last tick the level was monitored (an absent tick in between starts a new episode). */
  seenNs: number | null;
  /**
   * The side price came from when the episode began (the level's direction at its first tick), and whether price has
   * touched the level since (within levels.touch_band): the confirmations below measure the test against this side,
   * because the level's own direction flips once price is through it.
   */
  approach: Direction | null;
  touched: boolean;
  /** The level's price at the episode's first tick: a session extreme or VWAP moves with price, the tested price does not. */
  episodePrice: number | null;
  /** The side the shown signal speaks of: the level's direction when the score called it, the approach when price confirmed it. */
  shownDirection: Direction | null;
  /** Set by candidateSignal for the candidate it returns (read by stepTrigger when the candidate is taken). */
  candidateDirection: Direction | null;
}

export const newTriggerState = (): TriggerState => ({
  aboveSinceNs: null,
  shown: 'NEUTRAL',
  changedNs: null,
  episodeNs: null,
  fired: false,
  seenNs: null,
  approach: null,
  touched: false,
  episodePrice: null,
  shownDirection: null,
  candidateDirection: null,
});

export interface TriggerInput {
  /** The composite S of this tick (BREAK timer). */
  raw: number;
  /** The smoothed S̃ (REJECT, CONTESTED). */
  smooth: number;
  distance: number;
  /** ns from the engine epoch (event-clock.ts). */
  tNs: number;
  barrierState: BarrierStateName;
  tape: TapeReading;
  /** Spot ($): against the episode's price and approach side it says whether price is through the level or off it. */
  spot?: number;
  /** The smoothed spot velocity ($/s, positive up): the tape's push behind a confirmation. */
  velocity?: number;
  /** The level's direction at this tick (what the score measures). */
  direction?: Direction;
}

/**
 * Price's position against the episode's approach: `through` > 0 is how far spot is past the level in the break
 * direction (a support traded below, a resistance above), < 0 how far it stands off on the side it came from; `push`
 * is the smoothed velocity signed the same way (positive = toward the break).
 */
export function approachFrame(st: TriggerState, x: TriggerInput): { through: number; push: number } {
  const s = breakSign(st.approach ?? 'SUPPORT');
  return { through: s * ((x.spot ?? 0) - (st.episodePrice ?? 0)), push: s * (x.velocity ?? 0) };
}

/**
 * The confirmations (signal.break_confirm_distance / signal.reject_confirm_distance): a level the market has already
 * answered. BREAK: price trades through the level by the confirm distance with the tape not pushing back. REJECT: price
 * touched the level this episode and now stands off it on the side it came from by the confirm distance, the tape not
 * pushing back toward it — the level held. A fast break (smoothed velocity toward it ≥ score.velocity_ref) is confirmed
 * at signal.break_confirm_fast_distance already. A confirmation comes after the test; it is what a trader acts on when
 * no engine saw the break or the hold coming. 0 disables one.
 */
export function confirmationOf(st: TriggerState, x: TriggerInput, cfg: Config): 'BREAK' | 'REJECT' | null {
  if (st.approach === null || st.episodePrice === null || x.spot === undefined) return null;
  const sg = cfg.signal;
  const { through, push } = approachFrame(st, x);
  if (sg.break_confirm_distance > 0 && through >= sg.break_confirm_distance - 1e-9 && push >= 0) return 'BREAK';
  // A fast break is confirmed sooner: on busy tape price jumps the last cents to the outcome within one snap tick.
  if (sg.break_confirm_fast_distance > 0 && through >= sg.break_confirm_fast_distance - 1e-9 && push >= cfg.score.velocity_ref - 1e-12) return 'BREAK';
  if (sg.reject_confirm_distance > 0 && st.touched && -through >= sg.reject_confirm_distance - 1e-9 && push <= 0) return 'REJECT';
  return null;
}

/**
 * The signal a level would show from this tick's readings, with hysteresis against what it shows now: BREAK enters on
 * the §5.4.3 timer (S > break_threshold for hold_ms) and holds while S̃ ≥ signal.break_exit_threshold inside the band;
 * REJECT enters on S̃ < reject_threshold at a touch and holds while S̃ ≤ signal.reject_exit_threshold (price moving
 * away after the touch is the rejection playing out, so the hold needs no touch). Without the exit thresholds a score
 * hovering at 80 or 20 flips the signal every tick.
 */
export function candidateSignal(st: TriggerState, x: TriggerInput, cfg: Config): SignalName {
  const sc = cfg.score;
  const inMonitor = x.distance <= cfg.levels.monitor_band + 1e-9;
  st.candidateDirection = x.direction ?? null;
  if (x.raw > sc.break_threshold && inMonitor) {
    if (st.aboveSinceNs === null) st.aboveSinceNs = x.tNs;
  } else st.aboveSinceNs = null;
  if (st.aboveSinceNs !== null && x.tNs - st.aboveSinceNs >= msToNsFloat(sc.hold_ms)) return 'BREAK';
  if (st.shown === 'BREAK' && inMonitor && x.smooth >= cfg.signal.break_exit_threshold) return keepShown(st);
  if (x.smooth < sc.reject_threshold && x.distance <= cfg.levels.touch_band + 1e-9) return 'REJECT';
  if (st.shown === 'REJECT' && x.smooth <= cfg.signal.reject_exit_threshold) return keepShown(st);
  // Confirmed by price (and held while price stays there): checked after the score's calls, which come first when
  // the engines see the break or the hold coming.
  const confirmed = inMonitor ? confirmationOf(st, x, cfg) : null;
  if (confirmed !== null) {
    st.candidateDirection = st.approach;
    return confirmed;
  }
  // S above the break threshold is a break being confirmed (the hold timer runs), not a contest: switching to
  // CONTESTED now would spend the dwell and hold back the BREAK it is about to become.
  if (st.aboveSinceNs !== null && st.shown !== 'CONTESTED') return st.shown === 'REJECT' ? 'NEUTRAL' : st.shown;
  const mid = x.smooth >= sc.reject_threshold && x.smooth <= sc.break_threshold;
  const strongTape = x.tape.sweep.detected || Math.abs(x.tape.imbalance) >= STRONG_IMBALANCE;
  if (mid && x.barrierState === 'CONSUMED' && strongTape) return 'CONTESTED';
  return 'NEUTRAL';
}

/** A shown signal held by hysteresis keeps the side it spoke of. */
function keepShown(st: TriggerState): SignalName {
  st.candidateDirection = st.shownDirection;
  return st.shown;
}

/** May the shown signal change at tNs (signal.min_dwell_ms since its last change)? */
export function dwellElapsed(st: TriggerState, tNs: number, cfg: Config): boolean {
  return st.changedNs === null || tNs - st.changedNs >= msToNsFloat(cfg.signal.min_dwell_ms);
}

/**
 * One tick of a level's signal: the candidate (with hysteresis) replaces the shown signal only once the minimum dwell
 * has passed since the last change, so a level's signal changes at most once per signal.min_dwell_ms.
 */
export function stepTrigger(st: TriggerState, x: TriggerInput, cfg: Config): SignalName {
  const cand = candidateSignal(st, x, cfg);
  if (cand !== st.shown && dwellElapsed(st, x.tNs, cfg)) {
    st.shown = cand;
    st.changedNs = x.tNs;
    st.shownDirection = st.candidateDirection;
  }
  return st.shown;
}

/**
 * Episode bookkeeping at a monitored tick: a level that was not monitored at the previous tick, or whose episode is
 * older than signal.episode_ms, starts a new episode (which may fire one event). `prevTickNs` is the tick before tNs.
 */
export function stepEpisode(st: TriggerState, tNs: number, prevTickNs: number, cfg: Config, at?: { direction: Direction; price: number; spot: number }): void {
  const expired = st.episodeNs !== null && tNs - st.episodeNs > msToNsFloat(cfg.signal.episode_ms);
  if (st.episodeNs === null || st.seenNs !== prevTickNs || expired) {
    st.episodeNs = tNs;
    st.fired = false;
    st.approach = at?.direction ?? null;
    st.episodePrice = at?.price ?? null;
    st.touched = false;
  }
  // Touched: spot came within levels.touch_band of the episode's price, or went through it.
  if (at && st.approach !== null && st.episodePrice !== null) {
    const through = breakSign(st.approach) * (at.spot - st.episodePrice);
    if (through >= -cfg.levels.touch_band - 1e-9) st.touched = true;
  }
  st.seenNs = tNs;
}

/** The engine that leads a BREAK or REJECT: the component leaning furthest toward it, by weight (ties: barrier first). */
export function leadOf(c: ComponentScores, w: { w_l: number; w_h: number; w_t: number }, signal: 'BREAK' | 'REJECT'): 'BARRIER' | 'FUEL' | 'TAPE' {
  const s = signal === 'BREAK' ? 1 : -1;
  const l = s * w.w_l * (c.liquidity - 50);
  const h = s * w.w_h * (c.hedge - 50);
  // S_T's neutral point is 25 (0–50 without a sweep), and it cannot lean toward a rejection below 0.
  const t = s * w.w_t * (c.tape - 25);
  if (l >= h && l >= t) return 'BARRIER';
  return h >= t ? 'FUEL' : 'TAPE';
}

/**
 * HIGH when all three engines lean the way the score does, MEDIUM for two. `fuelDelayed`: the option data comes from a
 * delayed plan (`massive.data_delay_ms` > 0), so the dealer-gamma read describes the market of that long ago and cannot
 * confirm this tick: Fuel's lean is not counted (at most MEDIUM), while its score still moves the composite.
 */
const isUntrusted = (k: BarrierCaveat): boolean => k === 'BAD_BOOK' || k === 'OUT_OF_RANGE' || k === 'NO_BOOK';

export function confidenceOf(c: ComponentScores, score: number, barrier: BarrierReading, staleQuote: boolean, fuelDelayed = false): Confidence {
  if (staleQuote || barrier.caveats.some(isUntrusted)) return 'LOW';
  const breakSide = score >= 50;
  // Each component's lean against its midpoint (liquidity 50, hedge 50, tape 25), written out: no arrays per call.
  const hedge = fuelDelayed ? 50 : c.hedge;
  let agree = 0;
  if (breakSide ? c.liquidity > 50 : c.liquidity < 50) agree++;
  if (breakSide ? hedge > 50 : hedge < 50) agree++;
  if (breakSide ? c.tape > 25 : c.tape < 25) agree++;
  let level = agree >= 3 ? 2 : agree === 2 ? 1 : 0;
  if (barrier.caveats.includes('CHURN')) level = Math.max(0, level - 1);
  return level === 2 ? 'HIGH' : level === 1 ? 'MEDIUM' : 'LOW';
}

const BARRIER_WORDS: Record<BarrierStateName, string> = {
  VACUUM: 'Vacuum',
  WALL: 'Wall holds',
  ABSORPTION: 'Absorption',
  CONSUMED: 'Liquidity consumed',
  WEAK: 'Thin defense',
  NEUTRAL: 'Barrier neutral',
};

const FUEL_WORDS: Record<FuelReading['effect'], string> = {
  AMPLIFY: 'dealers chase',
  DAMPEN: 'dealers dampen',
  NEUTRAL: 'gamma neutral',
};

// Indices by switch, not Record lookups: `record[reading.state]` is a keyed load whose inline cache sees several
// property names, so each went through the megamorphic keyed stub (per row per tick); states are internalized strings.
function barrierIndex(state: BarrierStateName): number {
  switch (state) {
    case 'VACUUM':
      return 0;
    case 'WALL':
      return 1;
    case 'ABSORPTION':
      return 2;
    case 'CONSUMED':
      return 3;
    case 'WEAK':
      return 4;
    case 'NEUTRAL':
      return 5;
  }
}
const fuelIndex = (effect: FuelReading['effect']): number => (effect === 'AMPLIFY' ? 0 : effect === 'DAMPEN' ? 1 : 2);
const TAPE_WORDS = ['sweep confirms', 'sweep against', 'tape pushes in', 'tape leans in', 'tape leans away', 'tape quiet'];
const CAVEAT_WORDS = ['', ' (book gap)', ' (level beyond ES top-10)', ' (no ES book)', ' (heavy churn)'];
/** Every note is one of 6 × 3 × 6 × 5 texts: each is built once ('' = not yet), not concatenated per row and tick. */
const noteMemo: string[] = new Array<string>(6 * 3 * TAPE_WORDS.length * CAVEAT_WORDS.length).fill('');

/** A short human line, e.g. "Vacuum + dealers chase; sweep confirms". */
export function noteOf(barrier: BarrierReading, fuel: FuelReading, tape: TapeReading, c: ComponentScores, direction: Direction): string {
  const brk = breakDirectionOf(direction);
  let t: number;
  if (tape.sweep.detected) t = tape.sweep.direction === brk ? 0 : 1;
  else if (c.tape >= 25) t = 2;
  else if (c.tape > 0) t = 3;
  else if (Math.abs(tape.imbalance) >= STRONG_IMBALANCE) t = 4;
  else t = 5;
  const k = barrier.caveats;
  let cv = 0;
  if (k.length > 0) {
    if (k.includes('BAD_BOOK')) cv = 1;
    else if (k.includes('OUT_OF_RANGE')) cv = 2;
    else if (k.includes('NO_BOOK')) cv = 3;
    else if (k.includes('CHURN')) cv = 4;
  }
  const b = barrierIndex(barrier.state);
  const f = fuelIndex(fuel.effect);
  const i = ((b * 3 + f) * TAPE_WORDS.length + t) * CAVEAT_WORDS.length + cv;
  let note = noteMemo[i]!;
  if (note.length === 0) note = noteMemo[i] = `${BARRIER_WORDS[barrier.state]} + ${FUEL_WORDS[fuel.effect]}; ${TAPE_WORDS[t]}${CAVEAT_WORDS[cv]}`;
  return note;
}
