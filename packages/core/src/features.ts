// The feature dictionary (issue 9): one entry per column of the `levels.signals.v1` Gold row (SignalRow), the same
// names the payload's fields map to in toSignalRows. docs/features.md is generated from it (`snap-engine features
// --markdown > docs/features.md`), and features.test.ts fails when the dictionary, the doc and the columns of a real
// engine row drift apart. The lake's `gold/features/level_features` imports FEATURE_COLUMNS / GOLD_COLUMNS from here.
//
// Windows and thresholds are named by their config keys (defaults in README's config table), so the dictionary stays
// right when a default changes. "Leakage" says what a column may have seen: every engine column at tick T is computed
// from input events with ts_event_ns ≤ T only (snap-engine.ts; tested by eval/labels.test.ts's perturbation check).
import type { SignalRow } from './signals';

export type FeatureRole =
  /** Identifies the row (time, underlying, level); not a model input. */
  | 'key'
  /** A measured input: what the engines read. */
  | 'feature'
  /** The engine's own conclusion (score, signal, confidence): a model may use it, but it is derived from the features. */
  | 'output'
  /** Free text for people. */
  | 'text';

export type FeatureKind = 'numeric' | 'categorical' | 'boolean' | 'identifier' | 'text';

export interface FeatureDef {
  /** The Gold column name (= SignalRow key). */
  name: keyof SignalRow & string;
  role: FeatureRole;
  kind: FeatureKind;
  definition: string;
  /** The time span it summarises: a config key, "tick" (the instant of the snap tick), or "session". */
  window: string;
  units: string;
  leakage: string;
}

const PAST = 'Events with ts_event_ns ≤ the tick only.';
const BARRIER_UNITS = 'shares (barrier.source = l1, SPY NBBO) or contracts (mbp10, ES book)';

export const FEATURES: readonly FeatureDef[] = [
  { name: 'ts_event_ns', role: 'key', kind: 'identifier', definition: 'The snap tick T (event-time boundary k·snap.tick_ms since the Unix epoch); the row describes the state after every event with ts_event_ns ≤ T.', window: 'tick', units: 'ns since Unix epoch (UTC)', leakage: 'Row time: join labels strictly after it.' },
  { name: 'underlying', role: 'key', kind: 'identifier', definition: 'The underlying (partition key of every topic): SPY, QQQ, IWM.', window: '–', units: 'ticker', leakage: 'None.' },
  { name: 'spot', role: 'feature', kind: 'numeric', definition: 'NBBO mid of the underlying at T: (bid + ask) / 2 of the last valid quote.', window: 'tick', units: 'USD', leakage: PAST },
  { name: 'bid', role: 'feature', kind: 'numeric', definition: 'Best bid of the last valid NBBO quote at T.', window: 'tick', units: 'USD', leakage: PAST },
  { name: 'ask', role: 'feature', kind: 'numeric', definition: 'Best ask of the last valid NBBO quote at T.', window: 'tick', units: 'USD', leakage: PAST },
  { name: 'level_id', role: 'key', kind: 'identifier', definition: 'Stable id of the level (kind and price, e.g. ROUND_681, CALL_WALL); with ts_event_ns and underlying it identifies the row.', window: '–', units: 'id', leakage: 'None.' },
  { name: 'level_kind', role: 'feature', kind: 'categorical', definition: 'What makes the price a level: VWAP, STRIKE, ROUND (whole/half dollar), SESSION_HIGH, SESSION_LOW, CALL_WALL, PUT_WALL, HVL, USER.', window: 'levels.refresh_ms', units: 'category', leakage: 'VWAP and the session extremes use prices up to T; walls and HVL the greeks/OI known at T.' },
  { name: 'level_price', role: 'feature', kind: 'numeric', definition: 'Price of the level at T (VWAP and session extremes move; walls move when the chain does).', window: 'levels.refresh_ms', units: 'USD', leakage: PAST },
  { name: 'direction', role: 'feature', kind: 'categorical', definition: 'SUPPORT when spot is above the level, RESISTANCE below; within levels.touch_band the level keeps the side it was approached from.', window: 'tick', units: 'category', leakage: PAST },
  { name: 'distance', role: 'feature', kind: 'numeric', definition: '|spot − level_price|. Rows exist only for levels within levels.monitor_band of spot.', window: 'tick', units: 'USD', leakage: PAST },
  { name: 'barrier_state', role: 'feature', kind: 'categorical', definition: 'Barrier engine state of the liquidity defending the level: VACUUM, WALL, ABSORPTION, CONSUMED, WEAK, NEUTRAL (barrier.ts rules on Δliq, R and fills; adaptive: flows must stand barrier.z_thresh sd beyond the queue\'s own baseline).', window: 'barrier.window_ms', units: 'category', leakage: `${PAST} The noise baseline (barrier.baseline_half_life_ms) is a trailing EWMA.` },
  { name: 'barrier_delta_liq', role: 'feature', kind: 'numeric', definition: 'Δliq = added − canceled − filled at the defending quote, smoothed (EWMA, smoothing.delta_liq_half_life_ms).', window: 'barrier.window_ms', units: BARRIER_UNITS, leakage: PAST },
  { name: 'barrier_replenishment_ratio', role: 'feature', kind: 'numeric', definition: 'R = added / (canceled + filled + 1), smoothed (EWMA, smoothing.replenishment_half_life_ms); > 1 means the queue is refilled faster than it is taken.', window: 'barrier.window_ms', units: 'ratio', leakage: PAST },
  { name: 'barrier_added', role: 'feature', kind: 'numeric', definition: 'Size added to the defending queue (raw, not smoothed).', window: 'barrier.window_ms', units: BARRIER_UNITS, leakage: PAST },
  { name: 'barrier_canceled', role: 'feature', kind: 'numeric', definition: 'Size removed from the defending queue without a matching print (pulled; raw).', window: 'barrier.window_ms', units: BARRIER_UNITS, leakage: PAST },
  { name: 'barrier_filled', role: 'feature', kind: 'numeric', definition: 'Size removed from the defending queue by prints at/through it within barrier.fill_match_ms (consumed; raw).', window: 'barrier.window_ms', units: BARRIER_UNITS, leakage: PAST },
  { name: 'barrier_delta_liq_raw', role: 'feature', kind: 'numeric', definition: 'Δliq = added − canceled − filled of this tick\'s window, before smoothing (barrier_delta_liq is its EWMA).', window: 'barrier.window_ms', units: BARRIER_UNITS, leakage: PAST },
  { name: 'barrier_replenishment_ratio_raw', role: 'feature', kind: 'numeric', definition: 'R = added / (canceled + filled + 1) of this tick\'s window, before smoothing.', window: 'barrier.window_ms', units: 'ratio', leakage: PAST },
  { name: 'barrier_defending_price', role: 'feature', kind: 'numeric', definition: 'Price of the queue defending the level now: the NBBO side within barrier.quote_band (l1) or the zone center in ES prices (mbp10); null when no queue is at the level.', window: 'tick', units: 'USD (l1) or ES points (mbp10)', leakage: PAST },
  { name: 'barrier_defending_size', role: 'feature', kind: 'numeric', definition: 'Size of that defending queue (l1: displayed NBBO size; mbp10: zone depth); null when none.', window: 'tick', units: BARRIER_UNITS, leakage: PAST },
  { name: 'tape_imbalance', role: 'feature', kind: 'numeric', definition: '(buy_vol − sell_vol) / (buy_vol + sell_vol + ε) of aggressive prints within tape.band of the level.', window: 'tape.window_ms', units: 'ratio in [−1, 1]', leakage: PAST },
  { name: 'tape_buy_vol', role: 'feature', kind: 'numeric', definition: 'Volume of prints at the ask (buyer-initiated) within tape.band of the level.', window: 'tape.window_ms', units: 'shares', leakage: PAST },
  { name: 'tape_sell_vol', role: 'feature', kind: 'numeric', definition: 'Volume of prints at the bid (seller-initiated) within tape.band of the level.', window: 'tape.window_ms', units: 'shares', leakage: PAST },
  { name: 'tape_velocity', role: 'feature', kind: 'numeric', definition: 'Price change of the underlying per second toward the level (signed), smoothed (EWMA, smoothing.velocity_half_life_ms).', window: 'tape.velocity_window_ms', units: 'USD/s', leakage: PAST },
  { name: 'tape_sweep_detected', role: 'feature', kind: 'boolean', definition: 'A sweep (a cluster of aggressive prints across venues within tape.sweep_max_gap_ms, ≥ tape.sweep_min_notional) ended in the window.', window: 'tape.window_ms', units: 'boolean', leakage: PAST },
  { name: 'tape_sweep_direction', role: 'feature', kind: 'categorical', definition: 'UP or DOWN: the side of the largest sweep in the window (null without one).', window: 'tape.window_ms', units: 'category', leakage: PAST },
  { name: 'tape_sweep_notional', role: 'feature', kind: 'numeric', definition: 'Σ price·size of the largest sweep in the window (0 without one).', window: 'tape.window_ms', units: 'USD', leakage: PAST },
  { name: 'tape_sweep_venues', role: 'feature', kind: 'numeric', definition: 'Distinct venues of the reported sweep\'s prints (0 without a sweep).', window: 'tape.window_ms', units: 'venues', leakage: PAST },
  { name: 'tape_sweep_window_ms', role: 'feature', kind: 'numeric', definition: 'Time from the first to the last print of the reported sweep (0 without a sweep).', window: 'tape.window_ms', units: 'ms', leakage: PAST },
  { name: 'tape_velocity_raw', role: 'feature', kind: 'numeric', definition: 'Least-squares slope of print prices over the velocity window at T, before smoothing (tape_velocity is its EWMA).', window: 'tape.velocity_window_ms', units: 'USD/s', leakage: PAST },
  { name: 'fuel_effect', role: 'feature', kind: 'categorical', definition: 'Dealer gamma regime at the level: AMPLIFY (short gamma, hedging with the move), DAMPEN (long gamma, against it), NEUTRAL (|γ| below fuel.neutral_gamma).', window: 'fuel.window_ms', units: 'category', leakage: `${PAST} Open interest is the chain snapshot known at T.` },
  { name: 'fuel_net_dealer_gamma', role: 'feature', kind: 'numeric', definition: 'Net dealer gamma near the level from 0DTE option flow (customers\' side inverted) and greeks, smoothed (EWMA, smoothing.gamma_half_life_ms).', window: 'fuel.window_ms', units: 'shares per USD 1 move', leakage: PAST },
  { name: 'fuel_net_dealer_gamma_raw', role: 'feature', kind: 'numeric', definition: 'Σ dealer gamma change of option trades at strikes within fuel.strike_range of the level over the window, before smoothing (fuel_net_dealer_gamma is its EWMA).', window: 'fuel.window_ms', units: 'shares per USD 1 move', leakage: PAST },
  { name: 'fuel_call_wall', role: 'feature', kind: 'numeric', definition: 'Strike with the largest call gamma exposure (null until the chain is known).', window: 'fuel.wall_window_ms', units: 'USD', leakage: PAST },
  { name: 'fuel_put_wall', role: 'feature', kind: 'numeric', definition: 'Strike with the largest put gamma exposure (null until the chain is known).', window: 'fuel.wall_window_ms', units: 'USD', leakage: PAST },
  { name: 'fuel_hvl', role: 'feature', kind: 'numeric', definition: 'High-volatility level: the price where net dealer gamma changes sign (null when it does not within the chain).', window: 'fuel.wall_window_ms', units: 'USD', leakage: PAST },
  { name: 'break_score_raw', role: 'output', kind: 'numeric', definition: 'Composite break score S = (w_l·S_L + w_h·S_H + w_t·S_T) / (w_l + w_h + w_t) of the barrier, fuel and tape component scores (score.ts).', window: 'tick', units: '0–100', leakage: `${PAST} Derived from the feature columns of the same row.` },
  { name: 'break_score_smooth', role: 'output', kind: 'numeric', definition: 'S̃ (the break score smoothed: EWMA, smoothing.score_half_life_ms) published through score.calibration, a monotone map fitted on tuning seeds 1–10 to the share of resolved episodes that broke (so it reads as 100·P(break)); [] publishes S̃. The triggers read S̃, not the map; the reliability diagram of `snap-engine eval` checks it.', window: 'smoothing.score_half_life_ms', units: '0–100', leakage: PAST },
  { name: 'signal', role: 'output', kind: 'categorical', definition: 'The level\'s shown signal: BREAK, REJECT, CONTESTED, NEUTRAL (score thresholds with score.hold_ms, hysteresis and the minimum dwell). Discrete calls are the levels.events.v1 topic.', window: 'score.hold_ms', units: 'category', leakage: `${PAST} It is the engine's forecast, not an outcome label: never use it as a label.` },
  { name: 'confidence', role: 'output', kind: 'categorical', definition: 'HIGH, MEDIUM or LOW: how many engines agree with the signal, LOW when the quote is stale.', window: 'tick', units: 'category', leakage: PAST },
  { name: 'runway_direction', role: 'feature', kind: 'categorical', definition: 'UP or DOWN: the way price would travel if the level broke.', window: 'tick', units: 'category', leakage: PAST },
  { name: 'runway_next_level_id', role: 'feature', kind: 'identifier', definition: 'Id of the next obstacle beyond the level in the runway direction (null when none is known).', window: 'tick', units: 'id', leakage: PAST },
  { name: 'runway_next_level_price', role: 'feature', kind: 'numeric', definition: 'Price of that obstacle.', window: 'tick', units: 'USD', leakage: PAST },
  { name: 'runway_distance', role: 'feature', kind: 'numeric', definition: '|next obstacle − level_price|: how far a break could run before the next level that can hold price.', window: 'tick', units: 'USD', leakage: PAST },
  { name: 'runway_quality', role: 'feature', kind: 'categorical', definition: 'CLEAR or OBSTRUCTED: whether the path to the next obstacle is thin or carries resting liquidity.', window: 'tick', units: 'category', leakage: PAST },
  { name: 'note', role: 'text', kind: 'text', definition: 'Human summary of the reading (e.g. "Vacuum + sell imbalance + negative gamma ✓").', window: 'tick', units: 'text', leakage: 'Text of the same row; not a model input.' },
];

/** Every Gold `levels.signals.v1` column, in dictionary order. */
export const GOLD_COLUMNS: readonly string[] = FEATURES.map((f) => f.name);
/** The model inputs (role 'feature') and the engine outputs a feature table carries next to them. */
export const FEATURE_COLUMNS: readonly string[] = FEATURES.filter((f) => f.role === 'feature').map((f) => f.name);
export const OUTPUT_COLUMNS: readonly string[] = FEATURES.filter((f) => f.role === 'output').map((f) => f.name);

const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** docs/features.md, generated (the doc test compares the file with this byte for byte). */
export function featuresMarkdown(): string {
  const lines = [
    '# Feature dictionary',
    '',
    '<!-- GENERATED by `npx snap-engine features --markdown > docs/features.md` from packages/core/src/features.ts. Do not edit by hand: packages/core/src/features.test.ts fails when this file, the dictionary and the columns of a real engine row disagree. -->',
    '',
    'One row per column of the `levels.signals.v1` Gold row (one row per level within `levels.monitor_band` of spot per snap tick),',
    'the names the Parquet files, the Avro record and `toSignalRows` use. Windows and thresholds are config keys (defaults in',
    "README's config table). Roles: **key** identifies the row, **feature** is a measured input, **output** is the engine's own",
    'conclusion, **text** is for people. Import the lists from `@snap/core`: `GOLD_COLUMNS`, `FEATURE_COLUMNS`, `OUTPUT_COLUMNS`, `FEATURES`.',
    '',
    '**Leakage.** Every column at tick T is computed from input events with `ts_event_ns ≤ T` only (tested by perturbing every',
    'later event: `packages/core/src/eval/labels.test.ts`). Outcome labels (`snap-engine eval`, docs/eval.md) read prices after T',
    'only; `signal` is a forecast, never a label.',
    '',
    '| column | role | kind | definition | window | units | leakage |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...FEATURES.map((f) => `| \`${f.name}\` | ${f.role} | ${f.kind} | ${cell(f.definition)} | ${f.window.includes('.') ? `\`${f.window}\`` : f.window} | ${cell(f.units)} | ${cell(f.leakage)} |`),
    '',
  ];
  return lines.join('\n');
}
