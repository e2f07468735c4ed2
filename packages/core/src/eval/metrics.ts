// Signal-quality metrics over labelled episodes (issue 9). Pure: sessions are reduced to a mergeable SessionEval
// (episodes with their forecast, reliability bin sums, quiet-regime counts), so seeds evaluated separately (in
// worker threads) pool into one set of figures. Definitions: labels.ts header and docs/eval.md.
import type { BarrierStateName, Confidence, FuelEffect, LevelKind } from '../signals';
import { labelEpisodes, signalOf, type LabelParams, type LevelObs, type Outcome, type Prediction, type PriceTick, type SignalSource, type StrayEvent } from './labels';

export interface EvalParams extends LabelParams {
  quietWindowMs: number;
  quietRange: number;
  reliabilityBins: number;
  /** snap.tick_ms: the time one tick stands for (hours of data, quiet hours). */
  tickMs: number;
}

export interface EpisodeResult {
  id: string;
  kind: LevelKind;
  startMs: number;
  outcome: Outcome;
  outcomeMs: number | null;
  predicted: Prediction;
  signalMs: number | null;
  /** outcomeMs − signalMs for a forecast of a resolved episode. */
  leadMs: number | null;
  /** Both BREAK and REJECT were signalled before the outcome. */
  mixed: boolean;
  /** Signals (events, or transitions into BREAK/REJECT) anywhere in the episode, including after the outcome. */
  signals: number;
  /** The simulator's regime at the episode's first tick (EvaluateOptions.regimes), if known. */
  regime?: string;
  /** The engine's reading at the forecast tick. */
  at: { barrier: BarrierStateName; fuel: FuelEffect; confidence: Confidence; score: number } | null;
}

export interface SessionEval {
  episodes: EpisodeResult[];
  /** Per score bin: readings (ticks of resolved episodes before their outcome), summed score/100, break outcomes. */
  reliability: { n: number[]; sumP: number[]; breaks: number[] };
  hours: number;
  signals: number;
  /** Signals whose type is not their episode's outcome. */
  falseSignals: number;
  quiet: { hours: number; signals: number; falseSignals: number };
  /** What the signals were: the engine's discrete events or per-tick transitions ('mixed' after merging both). */
  source: SignalSource | 'mixed';
  /** Signals by type (BREAK, REJECT), including events outside any episode. */
  byType: { BREAK: number; REJECT: number };
  /**
   * Signals on ticks the simulator generated in its quiet regime (known from the regime schedule, not inferred from
   * prices); null when the data has no regime information (an --input file, the 'session' world).
   */
  regimeQuiet: { hours: number; BREAK: number; REJECT: number } | null;
  /** Hours and signals per simulator regime (null without regime information). */
  byRegime: Record<string, { hours: number; BREAK: number; REJECT: number }> | null;
}

export interface EvaluateOptions {
  /** Default 'transitions' (an engine without discrete events). */
  source?: SignalSource;
  /** Events for levels outside their monitoring zone (EvalCollector.stray): signals with no episode, so false. */
  stray?: readonly StrayEvent[];
  /** Per tick: the simulator's regime (regimeSchedule); its 'quiet' ticks are the simulator quiet regime. */
  regimes?: readonly string[];
}

/** Quiet ticks: trailing (past-only) price range over quietWindowMs ≤ quietRange, once a full window has been seen. */
export function quietTicks(ticks: readonly PriceTick[], windowMs: number, range: number): boolean[] {
  const out: boolean[] = new Array(ticks.length).fill(false);
  const maxQ: number[] = [];
  const minQ: number[] = [];
  let head = 0;
  let maxH = 0;
  let minH = 0;
  for (let i = 0; i < ticks.length; i++) {
    const { tMs, spot } = ticks[i]!;
    while (maxQ.length > maxH && ticks[maxQ[maxQ.length - 1]!]!.spot <= spot) maxQ.pop();
    maxQ.push(i);
    while (minQ.length > minH && ticks[minQ[minQ.length - 1]!]!.spot >= spot) minQ.pop();
    minQ.push(i);
    while (ticks[head]!.tMs <= tMs - windowMs) head++;
    while (maxQ[maxH]! < head) maxH++;
    while (minQ[minH]! < head) minH++;
    const full = tMs - ticks[0]!.tMs >= windowMs;
    out[i] = full && ticks[maxQ[maxH]!]!.spot - ticks[minQ[minH]!]!.spot <= range + 1e-9;
  }
  return out;
}

/** One session (one underlying, one config): episodes, forecasts, reliability sums and quiet-regime counts. */
export function evaluateSession(ticks: readonly PriceTick[], obs: readonly LevelObs[], p: EvalParams, opts: EvaluateOptions = {}): SessionEval {
  const source = opts.source ?? 'transitions';
  const regimes = opts.regimes;
  const rq = regimes?.map((r) => r === 'quiet');
  const B = p.reliabilityBins;
  const rel = { n: new Array<number>(B).fill(0), sumP: new Array<number>(B).fill(0), breaks: new Array<number>(B).fill(0) };
  const quiet = quietTicks(ticks, p.quietWindowMs, p.quietRange);
  const hourPerTick = p.tickMs / 3_600_000;
  const res: SessionEval = {
    episodes: [],
    reliability: rel,
    hours: ticks.length * hourPerTick,
    signals: 0,
    falseSignals: 0,
    quiet: { hours: 0, signals: 0, falseSignals: 0 },
    source,
    byType: { BREAK: 0, REJECT: 0 },
    regimeQuiet: rq ? { hours: 0, BREAK: 0, REJECT: 0 } : null,
    byRegime: regimes ? {} : null,
  };
  const regimeCell = (tick: number) => {
    const r = regimes?.[tick];
    return r === undefined ? null : (res.byRegime![r] ??= { hours: 0, BREAK: 0, REJECT: 0 });
  };
  if (regimes) for (let i = 0; i < ticks.length; i++) regimeCell(i)!.hours += hourPerTick;
  for (const q of quiet) if (q) res.quiet.hours += hourPerTick;
  if (rq) for (let i = 0; i < ticks.length; i++) if (rq[i]) res.regimeQuiet!.hours += hourPerTick;
  const count = (tick: number, sig: 'BREAK' | 'REJECT', wrong: boolean) => {
    res.signals++;
    res.byType[sig]++;
    if (wrong) res.falseSignals++;
    if (quiet[tick]) {
      res.quiet.signals++;
      if (wrong) res.quiet.falseSignals++;
    }
    if (rq?.[tick]) res.regimeQuiet![sig]++;
    const rc = regimeCell(tick);
    if (rc) rc[sig]++;
  };
  for (const e of opts.stray ?? []) count(e.tick, e.signal, true);
  for (const ep of labelEpisodes(ticks, obs, p)) {
    let first: LevelObs | null = null;
    let firstSig: 'BREAK' | 'REJECT' | null = null;
    let firstMs: number | null = null;
    let mixed = false;
    let signals = 0;
    for (const i of ep.obs) {
      const o = obs[i]!;
      const t = ticks[o.tick]!.tMs;
      const before = ep.outcomeMs === null || t < ep.outcomeMs;
      if (before && ep.outcome !== 'UNRESOLVED') {
        const pr = Math.min(1, Math.max(0, o.score / 100));
        const b = Math.min(B - 1, Math.floor(pr * B));
        rel.n[b]!++;
        rel.sumP[b]! += pr;
        if (ep.outcome === 'BREAK') rel.breaks[b]!++;
      }
      const sig = signalOf(o, source);
      if (sig === null) continue;
      signals++;
      count(o.tick, sig, sig !== ep.outcome);
      if (!before) continue;
      if (!first) {
        first = o;
        firstSig = sig;
        firstMs = t;
      } else if (firstSig !== sig) mixed = true;
    }
    res.episodes.push({
      id: ep.id,
      kind: ep.kind,
      startMs: ep.startMs,
      outcome: ep.outcome,
      outcomeMs: ep.outcomeMs,
      predicted: firstSig ?? 'NONE',
      signalMs: firstMs,
      leadMs: first && ep.outcomeMs !== null ? ep.outcomeMs - firstMs! : null,
      mixed,
      signals,
      ...(regimes?.[ep.startTick] !== undefined ? { regime: regimes[ep.startTick] } : {}),
      at: first ? { barrier: first.barrier, fuel: first.fuel, confidence: first.confidence, score: first.score } : null,
    });
  }
  return res;
}

export function mergeEvals(evals: readonly SessionEval[], bins: number): SessionEval {
  const out: SessionEval = {
    episodes: [],
    reliability: { n: new Array<number>(bins).fill(0), sumP: new Array<number>(bins).fill(0), breaks: new Array<number>(bins).fill(0) },
    hours: 0,
    signals: 0,
    falseSignals: 0,
    quiet: { hours: 0, signals: 0, falseSignals: 0 },
    source: evals[0]?.source ?? 'transitions',
    byType: { BREAK: 0, REJECT: 0 },
    regimeQuiet: null,
    byRegime: null,
  };
  for (const e of evals) {
    if (e.byRegime) {
      out.byRegime ??= {};
      for (const [r, c] of Object.entries(e.byRegime)) {
        const o = (out.byRegime[r] ??= { hours: 0, BREAK: 0, REJECT: 0 });
        o.hours += c.hours;
        o.BREAK += c.BREAK;
        o.REJECT += c.REJECT;
      }
    }
    if (e.source !== out.source) out.source = 'mixed';
    out.byType.BREAK += e.byType.BREAK;
    out.byType.REJECT += e.byType.REJECT;
    if (e.regimeQuiet) {
      out.regimeQuiet ??= { hours: 0, BREAK: 0, REJECT: 0 };
      out.regimeQuiet.hours += e.regimeQuiet.hours;
      out.regimeQuiet.BREAK += e.regimeQuiet.BREAK;
      out.regimeQuiet.REJECT += e.regimeQuiet.REJECT;
    }
    for (const x of e.episodes) out.episodes.push(x);
    for (let b = 0; b < bins; b++) {
      out.reliability.n[b]! += e.reliability.n[b] ?? 0;
      out.reliability.sumP[b]! += e.reliability.sumP[b] ?? 0;
      out.reliability.breaks[b]! += e.reliability.breaks[b] ?? 0;
    }
    out.hours += e.hours;
    out.signals += e.signals;
    out.falseSignals += e.falseSignals;
    out.quiet.hours += e.quiet.hours;
    out.quiet.signals += e.quiet.signals;
    out.quiet.falseSignals += e.quiet.falseSignals;
  }
  return out;
}

export interface PRF {
  tp: number;
  fp: number;
  fn: number;
  /** null when undefined (no forecasts, no outcomes). */
  precision: number | null;
  recall: number | null;
  f1: number | null;
}

export interface LeadStats {
  n: number;
  mean_ms: number | null;
  p10_ms: number | null;
  p50_ms: number | null;
  p90_ms: number | null;
  /** Counts per LEAD_BUCKETS_MS bucket [lo, hi). */
  histogram: number[];
}

export interface GroupStats {
  /** Forecasts made with the engine reading this value. */
  forecasts: number;
  correct: number;
  precision: number | null;
  break_forecasts: number;
  break_correct: number;
  reject_forecasts: number;
  reject_correct: number;
}

export interface ReliabilityBin {
  lo: number;
  hi: number;
  n: number;
  mean_score: number | null;
  break_rate: number | null;
}

export interface Metrics {
  episodes: { total: number; BREAK: number; REJECT: number; UNRESOLVED: number; with_forecast: number; mixed: number };
  hours: number;
  BREAK: PRF;
  REJECT: PRF;
  /** confusion[outcome][prediction]. */
  confusion: Record<Outcome, Record<Prediction, number>>;
  lead: { BREAK: LeadStats; REJECT: LeadStats };
  /** source: what a signal is in these figures — the engine's discrete events or per-tick transitions. */
  signals: { source: SignalSource | 'mixed'; total: number; BREAK: number; REJECT: number; per_hour: number | null; false: number; per_episode_with_signal: number | null };
  /** Signals in the simulator's quiet regime (from its schedule; acceptance: zero BREAK and zero REJECT); null without regime data. */
  quiet_regime: { hours: number; BREAK: number; REJECT: number; per_hour: number | null } | null;
  /** Per simulator regime (from its schedule): hours, episodes by outcome (regime at the episode's start), PRF, signals. */
  by_regime: Record<string, { hours: number; episodes: number; BREAK_outcomes: number; REJECT_outcomes: number; BREAK: PRF; REJECT: PRF; signals: { BREAK: number; REJECT: number } }> | null;
  quiet: { hours: number; signals: number; false_signals: number; false_per_hour: number | null; signals_per_hour: number | null };
  reliability: { bins: ReliabilityBin[]; n: number; ece: number | null };
  by_level_kind: Record<string, { episodes: number; BREAK_outcomes: number; REJECT_outcomes: number; BREAK: PRF; REJECT: PRF }>;
  by_barrier_state: Record<string, GroupStats>;
  by_fuel_effect: Record<string, GroupStats>;
  by_confidence: Record<string, GroupStats>;
}

export const LEAD_BUCKETS_MS: readonly number[] = [0, 1000, 2000, 5000, 10_000, 30_000, 60_000, 120_000, Infinity];

const ratio = (a: number, b: number): number | null => (b > 0 ? a / b : null);

export function prf(episodes: readonly EpisodeResult[], type: 'BREAK' | 'REJECT'): PRF {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  for (const e of episodes) {
    if (e.predicted === type && e.outcome === type) tp++;
    else if (e.predicted === type) fp++;
    else if (e.outcome === type) fn++;
  }
  const precision = ratio(tp, tp + fp);
  const recall = ratio(tp, tp + fn);
  const f1 = precision !== null && recall !== null && precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : precision !== null && recall !== null ? 0 : null;
  return { tp, fp, fn, precision, recall, f1 };
}

/** Nearest-rank percentile of sorted values. */
export function nearestRankPercentile(sorted: readonly number[], q: number): number | null {
  if (sorted.length === 0) return null;
  const k = Math.min(sorted.length - 1, Math.max(0, Math.ceil((q / 100) * sorted.length) - 1));
  return sorted[k]!;
}

function leadStats(episodes: readonly EpisodeResult[], type: 'BREAK' | 'REJECT'): LeadStats {
  const leads = episodes.filter((e) => e.predicted === type && e.outcome === type && e.leadMs !== null).map((e) => e.leadMs!);
  leads.sort((a, b) => a - b);
  const histogram = new Array<number>(LEAD_BUCKETS_MS.length - 1).fill(0);
  for (const l of leads) {
    for (let b = 0; b < histogram.length; b++) {
      if (l >= LEAD_BUCKETS_MS[b]! && l < LEAD_BUCKETS_MS[b + 1]!) {
        histogram[b]!++;
        break;
      }
    }
  }
  return {
    n: leads.length,
    mean_ms: leads.length ? leads.reduce((a, b) => a + b, 0) / leads.length : null,
    p10_ms: nearestRankPercentile(leads, 10),
    p50_ms: nearestRankPercentile(leads, 50),
    p90_ms: nearestRankPercentile(leads, 90),
    histogram,
  };
}

function groupBy(episodes: readonly EpisodeResult[], key: (e: EpisodeResult) => string | null): Record<string, GroupStats> {
  const out: Record<string, GroupStats> = {};
  for (const e of episodes) {
    if (e.predicted === 'NONE') continue;
    const k = key(e);
    if (k === null) continue;
    const g = (out[k] ??= { forecasts: 0, correct: 0, precision: null, break_forecasts: 0, break_correct: 0, reject_forecasts: 0, reject_correct: 0 });
    const ok = e.predicted === e.outcome;
    g.forecasts++;
    if (ok) g.correct++;
    if (e.predicted === 'BREAK') {
      g.break_forecasts++;
      if (ok) g.break_correct++;
    } else {
      g.reject_forecasts++;
      if (ok) g.reject_correct++;
    }
  }
  for (const g of Object.values(out)) g.precision = ratio(g.correct, g.forecasts);
  return sortKeys(out);
}

const sortKeys = <T>(o: Record<string, T>): Record<string, T> => Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));

export function computeMetrics(ev: SessionEval): Metrics {
  const eps = ev.episodes;
  const outcomes: Outcome[] = ['BREAK', 'REJECT', 'UNRESOLVED'];
  const preds: Prediction[] = ['BREAK', 'REJECT', 'NONE'];
  const confusion = Object.fromEntries(outcomes.map((o) => [o, Object.fromEntries(preds.map((p) => [p, 0]))])) as Metrics['confusion'];
  for (const e of eps) confusion[e.outcome][e.predicted]++;
  const B = ev.reliability.n.length;
  const bins: ReliabilityBin[] = [];
  let relN = 0;
  let eceSum = 0;
  for (let b = 0; b < B; b++) {
    const n = ev.reliability.n[b]!;
    const mean = n > 0 ? ev.reliability.sumP[b]! / n : null;
    const rate = n > 0 ? ev.reliability.breaks[b]! / n : null;
    bins.push({ lo: b / B, hi: (b + 1) / B, n, mean_score: mean, break_rate: rate });
    relN += n;
    if (n > 0) eceSum += n * Math.abs(mean! - rate!);
  }
  const kinds: Metrics['by_level_kind'] = {};
  const byKind = new Map<string, EpisodeResult[]>();
  for (const e of eps) {
    let a = byKind.get(e.kind);
    if (!a) byKind.set(e.kind, (a = []));
    a.push(e);
  }
  for (const [k, a] of byKind) {
    kinds[k] = { episodes: a.length, BREAK_outcomes: a.filter((e) => e.outcome === 'BREAK').length, REJECT_outcomes: a.filter((e) => e.outcome === 'REJECT').length, BREAK: prf(a, 'BREAK'), REJECT: prf(a, 'REJECT') };
  }
  const withSignal = eps.filter((e) => e.signals > 0);
  return {
    episodes: {
      total: eps.length,
      BREAK: confusion.BREAK.BREAK + confusion.BREAK.REJECT + confusion.BREAK.NONE,
      REJECT: confusion.REJECT.BREAK + confusion.REJECT.REJECT + confusion.REJECT.NONE,
      UNRESOLVED: confusion.UNRESOLVED.BREAK + confusion.UNRESOLVED.REJECT + confusion.UNRESOLVED.NONE,
      with_forecast: eps.filter((e) => e.predicted !== 'NONE').length,
      mixed: eps.filter((e) => e.mixed).length,
    },
    hours: ev.hours,
    BREAK: prf(eps, 'BREAK'),
    REJECT: prf(eps, 'REJECT'),
    confusion,
    lead: { BREAK: leadStats(eps, 'BREAK'), REJECT: leadStats(eps, 'REJECT') },
    signals: { source: ev.source, total: ev.signals, BREAK: ev.byType.BREAK, REJECT: ev.byType.REJECT, per_hour: ratio(ev.signals, ev.hours), false: ev.falseSignals, per_episode_with_signal: ratio(withSignal.reduce((a, e) => a + e.signals, 0), withSignal.length) },
    by_regime: ev.byRegime
      ? sortKeys(
          Object.fromEntries(
            Object.entries(ev.byRegime).map(([r, c]) => {
              const a = eps.filter((e) => e.regime === r);
              return [r, { hours: c.hours, episodes: a.length, BREAK_outcomes: a.filter((e) => e.outcome === 'BREAK').length, REJECT_outcomes: a.filter((e) => e.outcome === 'REJECT').length, BREAK: prf(a, 'BREAK'), REJECT: prf(a, 'REJECT'), signals: { BREAK: c.BREAK, REJECT: c.REJECT } }];
            }),
          ),
        )
      : null,
    quiet_regime: ev.regimeQuiet ? { ...ev.regimeQuiet, per_hour: ratio(ev.regimeQuiet.BREAK + ev.regimeQuiet.REJECT, ev.regimeQuiet.hours) } : null,
    quiet: { hours: ev.quiet.hours, signals: ev.quiet.signals, false_signals: ev.quiet.falseSignals, false_per_hour: ratio(ev.quiet.falseSignals, ev.quiet.hours), signals_per_hour: ratio(ev.quiet.signals, ev.quiet.hours) },
    reliability: { bins, n: relN, ece: relN > 0 ? eceSum / relN : null },
    by_level_kind: sortKeys(kinds),
    by_barrier_state: groupBy(eps, (e) => e.at?.barrier ?? null),
    by_fuel_effect: groupBy(eps, (e) => e.at?.fuel ?? null),
    by_confidence: groupBy(eps, (e) => e.at?.confidence ?? null),
  };
}
