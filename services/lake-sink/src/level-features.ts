// Gold `gold/features/level_features/…` (plan §2.3, §2.6): the training table. One row per level per snap tick, keyed
// by (ts_event_ns, underlying, level_id), with every numeric feature of the feature dictionary as a float64 column
// (integers as their value, booleans as 0/1) and the session the tick belongs to. Built by `lake compact` from Gold `levels/signals`, so it is
// exactly the rows the engine emitted, deduped on its key (two runs that wrote the same ticks keep one copy). Pure.
import { FEATURES, outcomeOf, sessionKeyOf, type Direction, type LabelParams, type PriceTick, type SignalRow } from '@snap/core';
import { SIGNAL_ROW_COLUMNS, type ColumnSpec } from '@snap/platform';
import type { SilverRow } from './silver';

export const LEVEL_FEATURES_DATASET = 'level_features';
export const LEVEL_FEATURES_PATH = 'gold/features/level_features';
export const GOLD_SIGNALS_PATH = 'gold/levels/signals';

/**
 * The feature columns, from the feature dictionary (packages/core/src/features.ts, docs/features.md): every numeric or
 * boolean model input and engine output, raw and smoothed (e.g. break_score_raw and break_score_smooth), in dictionary
 * order.
 */
export const LEVEL_FEATURE_NAMES: readonly string[] = FEATURES.filter((f) => (f.role === 'feature' || f.role === 'output') && (f.kind === 'numeric' || f.kind === 'boolean')).map((f) => f.name);

/** Key columns in front of the features. */
export const LEVEL_FEATURE_KEY_COLUMNS: readonly ColumnSpec[] = [
  { name: 'ts_event_ns', type: 'int64' },
  { name: 'underlying', type: 'dict_utf8' },
  { name: 'session', type: 'dict_utf8' },
  { name: 'level_id', type: 'dict_utf8' },
  { name: 'level_kind', type: 'dict_utf8' },
];

export class FeatureColumnError extends Error {
  constructor(
    message: string,
    readonly feature: string,
  ) {
    super(message);
    this.name = 'FeatureColumnError';
  }
}

const SIGNAL_TYPES = new Map(SIGNAL_ROW_COLUMNS.map((c) => [c.name, c.type]));
const NUMERIC_TYPES = new Set<ColumnSpec['type']>(['float64', 'int64', 'int32', 'int16', 'int8', 'bool']);

/**
 * The table's columns for a list of numeric feature names. Every name must be a numeric (float64) or boolean column
 * of levels.signals.v1: a feature the Gold rows do not carry cannot be filled, and is refused by name.
 */
export function levelFeatureColumns(features: readonly string[]): ColumnSpec[] {
  const keys = new Set(LEVEL_FEATURE_KEY_COLUMNS.map((c) => c.name));
  const seen = new Set<string>();
  const out: ColumnSpec[] = [...LEVEL_FEATURE_KEY_COLUMNS];
  for (const f of features) {
    if (keys.has(f) || seen.has(f)) continue;
    const t = SIGNAL_TYPES.get(f);
    if (t === undefined || !NUMERIC_TYPES.has(t)) throw new FeatureColumnError(`feature ${JSON.stringify(f)} is not a numeric column of levels.signals.v1 (${t ?? 'absent'})`, f);
    seen.add(f);
    out.push({ name: f, type: 'float64', nullable: true });
  }
  return out;
}

/** Gold signal row → level_features row. */
export function toLevelFeatureRow(r: SignalRow, features: readonly ColumnSpec[], anchor: 'session' | 'rth_open' = 'session'): SilverRow {
  const src = r as unknown as Record<string, unknown>;
  const out: SilverRow = { ts_event_ns: r.ts_event_ns, underlying: r.underlying, session: sessionKeyOf(r.ts_event_ns, anchor), level_id: r.level_id, level_kind: r.level_kind };
  for (const c of features) {
    if (c.name in out) continue;
    const v = src[c.name];
    out[c.name] = typeof v === 'boolean' ? (v ? 1 : 0) : typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : null;
  }
  return out;
}

/** Dedup key of a level_features row: one row per level per tick. */
export const levelFeatureKey = (r: SilverRow): string => `${r.ts_event_ns}|${r.underlying as string}|${r.level_id as string}`;

/**
 * Outcome label columns (docs/eval.md definitions, core's outcomeOf): what price did AFTER the row's tick, read from the
 * underlying's spot path (the Gold rows of this hour and the next): BREAK / REJECT / UNRESOLVED within eval.horizon_ms
 * as if an episode started at this tick at the row's level_price and direction, and the tick the outcome was decided.
 * Targets for training, never inputs: they read the future by construction.
 */
export const LABEL_COLUMNS: readonly ColumnSpec[] = [
  { name: 'label_outcome', type: 'dict_utf8' },
  { name: 'label_outcome_ts_event_ns', type: 'int64', nullable: true },
];

/** The spot path of Gold rows (one underlying): one tick per distinct ts_event_ns, sorted. */
export function pricePath(rows: readonly SilverRow[]): { ticks: PriceTick[]; index: Map<bigint, number>; tsNs: bigint[] } {
  const spot = new Map<bigint, number>();
  for (const r of rows) if (!spot.has(r.ts_event_ns) && typeof r.spot === 'number') spot.set(r.ts_event_ns, r.spot);
  const tsNs = [...spot.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return { ticks: tsNs.map((t) => ({ tMs: Number(t / 1_000_000n), spot: spot.get(t)! })), index: new Map(tsNs.map((t, i) => [t, i])), tsNs };
}

/**
 * Adds the label columns to level_features rows built from `signals` (same order), using the spot path of `path`
 * (this hour's and the next hour's Gold rows). `tsOfMs` maps an outcome time back to its exact tick.
 */
export function labelRows(rows: SilverRow[], signals: readonly SilverRow[], path: ReturnType<typeof pricePath>, p: LabelParams): void {
  const tsByMs = new Map(path.tsNs.map((t) => [Number(t / 1_000_000n), t]));
  rows.forEach((r, i) => {
    const s = signals[i]!;
    const at = path.index.get(s.ts_event_ns);
    if (at === undefined || typeof s.level_price !== 'number') {
      r.label_outcome = 'UNRESOLVED';
      r.label_outcome_ts_event_ns = null;
      return;
    }
    const o = outcomeOf(path.ticks, at, s.level_price, s.direction as Direction, p);
    r.label_outcome = o.outcome;
    r.label_outcome_ts_event_ns = o.tMs === null ? null : (tsByMs.get(o.tMs) ?? null);
  });
}
