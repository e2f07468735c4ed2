// Metrics on hand-built sessions with known answers: precision/recall/F1 by episode, the confusion matrix, lead time,
// reliability bins and ECE, quiet-regime false signals, and merging sessions.
import type { SignalName } from '../signals';
import { EvalCollector } from './labels';
import { computeMetrics, evaluateSession, mergeEvals, nearestRankPercentile, prf, quietTicks, type EvalParams, type EpisodeResult } from './metrics';
import { beforeAfterRows } from './report';
import { level, payload } from './test-support';

const P: EvalParams = { monitorBand: 0.5, breakDistance: 0.25, rejectDistance: 0.2, touchBand: 0.05, horizonMs: 10_000, quietWindowMs: 500, quietRange: 10, reliabilityBins: 10, tickMs: 250 };
const T0 = 1_766_415_600_000;

/** One session at level 680: the spot path, the signal per tick, and a constant break_score_smooth. */
function session(spots: number[], signals: Record<number, SignalName>, score: number) {
  const col = new EvalCollector(P.monitorBand);
  spots.forEach((s, i) => col.onPayload(payload(T0 + i * 250, s, [level('R680', 680, s, signals[i] ?? 'NEUTRAL', score)])));
  return evaluateSession(col.ticks, col.obs, P);
}

const BREAK_PATH = [681, 680.4, 680.2, 680.1, 680.0, 679.9, 679.7]; // BREAK at tick 6
const REJECT_PATH = [681, 680.4, 680.2, 680.03, 680.3, 681]; // touch at 3, REJECT at 4

describe('evaluateSession + computeMetrics', () => {
  const s1 = session(BREAK_PATH, { 4: 'BREAK', 5: 'BREAK' }, 90); // right, 500 ms ahead
  const s2 = session(REJECT_PATH, { 2: 'BREAK' }, 10); // wrong type
  const s3 = session(REJECT_PATH, { 2: 'REJECT' }, 10); // right
  const s4 = session(BREAK_PATH, { 6: 'BREAK' }, 90); // only at the outcome tick: not a forecast
  const m = computeMetrics(mergeEvals([s1, s2, s3, s4], P.reliabilityBins));

  it('labels one episode per session with the forecast and lead', () => {
    expect(s1.episodes).toHaveLength(1);
    expect(s1.episodes[0]).toMatchObject({ outcome: 'BREAK', predicted: 'BREAK', leadMs: 500, signals: 1, mixed: false, at: { barrier: 'NEUTRAL', fuel: 'NEUTRAL', confidence: 'MEDIUM', score: 90 } });
    expect(s4.episodes[0]).toMatchObject({ outcome: 'BREAK', predicted: 'NONE', signals: 1 });
  });

  it('precision, recall and F1 per signal type by episode', () => {
    expect(m.BREAK).toEqual({ tp: 1, fp: 1, fn: 1, precision: 0.5, recall: 0.5, f1: 0.5 });
    expect(m.REJECT.tp).toBe(1);
    expect(m.REJECT.fp).toBe(0);
    expect(m.REJECT.fn).toBe(1);
    expect(m.REJECT.precision).toBe(1);
    expect(m.REJECT.recall).toBe(0.5);
    expect(m.REJECT.f1).toBeCloseTo(2 / 3, 12);
  });

  it('confusion matrix rows = outcome, columns = forecast', () => {
    expect(m.confusion).toEqual({
      BREAK: { BREAK: 1, REJECT: 0, NONE: 1 },
      REJECT: { BREAK: 1, REJECT: 1, NONE: 0 },
      UNRESOLVED: { BREAK: 0, REJECT: 0, NONE: 0 },
    });
    expect(m.episodes).toEqual({ total: 4, BREAK: 2, REJECT: 2, UNRESOLVED: 0, with_forecast: 3, mixed: 0 });
  });

  it('lead time of correct forecasts', () => {
    expect(m.lead.BREAK).toMatchObject({ n: 1, mean_ms: 500, p50_ms: 500 });
    expect(m.lead.BREAK.histogram).toEqual([1, 0, 0, 0, 0, 0, 0, 0]);
    expect(m.lead.REJECT).toMatchObject({ n: 1, p50_ms: 500 }); // REJECT signal at tick 2, outcome at tick 4
  });

  it('reliability bins and ECE: readings of resolved episodes before their outcome', () => {
    // Break sessions: ticks 1–5 at 0.9, all broke; reject sessions: ticks 1–3 at 0.1, none broke.
    expect(m.reliability.bins[9]).toMatchObject({ n: 10, break_rate: 1 });
    expect(m.reliability.bins[9]!.mean_score).toBeCloseTo(0.9, 12);
    expect(m.reliability.bins[1]).toMatchObject({ n: 6, break_rate: 0 });
    expect(m.reliability.n).toBe(16);
    expect(m.reliability.ece).toBeCloseTo(0.1, 12);
  });

  it('signals, false signals and the quiet regime', () => {
    // s1 BREAK (right), s2 BREAK (wrong), s3 REJECT (right), s4 BREAK at the outcome tick (right type, late).
    expect(m.signals).toMatchObject({ total: 4, false: 1, per_episode_with_signal: 1 });
    expect(m.quiet.signals).toBe(4);
    expect(m.quiet.false_signals).toBe(1);
    const hours = ((BREAK_PATH.length * 2 + REJECT_PATH.length * 2) * 250) / 3_600_000;
    expect(m.hours).toBeCloseTo(hours, 12);
    expect(m.by_level_kind.ROUND).toMatchObject({ episodes: 4, BREAK_outcomes: 2, REJECT_outcomes: 2 });
    expect(m.by_barrier_state.NEUTRAL).toMatchObject({ forecasts: 3, correct: 2, break_forecasts: 2, break_correct: 1, reject_forecasts: 1, reject_correct: 1 });
  });

  it('a forecast that said both before the outcome is marked mixed; its first signal counts', () => {
    const s = session(REJECT_PATH, { 1: 'BREAK', 2: 'REJECT' }, 50);
    expect(s.episodes[0]).toMatchObject({ predicted: 'BREAK', mixed: true, signals: 2 });
  });
});

describe('pieces', () => {
  it('prf is null where undefined, 0 F1 when nothing is right', () => {
    const e = (outcome: EpisodeResult['outcome'], predicted: EpisodeResult['predicted']) => ({ outcome, predicted }) as EpisodeResult;
    expect(prf([e('BREAK', 'NONE')], 'BREAK')).toEqual({ tp: 0, fp: 0, fn: 1, precision: null, recall: 0, f1: null });
    expect(prf([e('REJECT', 'BREAK'), e('BREAK', 'NONE')], 'BREAK')).toEqual({ tp: 0, fp: 1, fn: 1, precision: 0, recall: 0, f1: 0 });
    expect(prf([], 'REJECT')).toEqual({ tp: 0, fp: 0, fn: 0, precision: null, recall: null, f1: null });
  });

  it('quietTicks: trailing window only, full window required', () => {
    const ticks = [680, 680.01, 680.02, 680.0, 680.5, 680.5, 680.5, 680.5, 680.5].map((spot, i) => ({ tMs: i * 250, spot }));
    // window 500 ms = ticks (t−500, t]: ticks i−1 and i.
    expect(quietTicks(ticks, 500, 0.05)).toEqual([false, false, true, true, false, true, true, true, true]);
    expect(quietTicks(ticks, 1000, 0.05)).toEqual([false, false, false, false, false, false, false, true, true]);
  });

  it('nearest-rank percentile', () => {
    expect(nearestRankPercentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 50)).toBe(5);
    expect(nearestRankPercentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 90)).toBe(9);
    expect(nearestRankPercentile([], 50)).toBeNull();
  });
});

describe('discrete events as the signal', () => {
  /** payload with an events list: one event per [tick → signal] for level R680 (and optional stray levels). */
  function eventSession(spots: number[], perTick: Record<number, SignalName>, events: Record<number, 'BREAK' | 'REJECT'>, opts: { stray?: Record<number, 'BREAK' | 'REJECT'>; regimes?: string[]; source?: 'auto' | 'events' } = {}) {
    const col = new EvalCollector(P.monitorBand, opts.source ?? 'auto');
    spots.forEach((s, i) => {
      const p = payload(T0 + i * 250, s, [level('R680', 680, s, perTick[i] ?? 'NEUTRAL', 50), level('R690', 690, s)]);
      const ev = [] as NonNullable<typeof p.events>;
      const mk = (id: string, price: number, signal: 'BREAK' | 'REJECT') => ({
        event_id: `${id}-${i}`, ts_event_ns: p.ts_event_ns, underlying: 'SPY', level_id: id, level_kind: 'ROUND' as const, level_price: price,
        direction: 'SUPPORT' as const, signal, break_score: 50, confidence: 'MEDIUM' as const, lead: 'BARRIER' as const, reason: '', spot: s,
      });
      if (events[i]) ev.push(mk('R680', 680, events[i]!));
      if (opts.stray?.[i]) ev.push(mk('R690', 690, opts.stray[i]!));
      if (ev.length) p.events = ev;
      col.onPayload(p);
    });
    return { col, ev: evaluateSession(col.ticks, col.obs, P, { source: col.signalSource(), stray: col.stray, ...(opts.regimes ? { regimes: opts.regimes } : {}) }) };
  }

  it('counts events, not ticks or transitions: a flapping per-tick signal with one event is one signal', () => {
    const { col, ev } = eventSession(BREAK_PATH, { 2: 'BREAK', 3: 'NEUTRAL', 4: 'BREAK', 5: 'BREAK' }, { 2: 'BREAK' });
    expect(col.signalSource()).toBe('events');
    expect(ev.episodes[0]).toMatchObject({ predicted: 'BREAK', signals: 1, leadMs: 1000 });
    const m = computeMetrics(ev);
    expect(m.signals).toMatchObject({ source: 'events', total: 1, BREAK: 1, REJECT: 0, false: 0 });
    // The same readings without events: the two transitions into BREAK are the signals.
    const t = session(BREAK_PATH, { 2: 'BREAK', 3: 'NEUTRAL', 4: 'BREAK', 5: 'BREAK' }, 50);
    expect(computeMetrics(t).signals).toMatchObject({ source: 'transitions', total: 2, BREAK: 2 });
  });

  it('an event for a level outside its zone is a false signal; the simulator quiet regime counts by type', () => {
    const regimes = BREAK_PATH.map((_, i) => (i < 4 ? 'quiet' : 'news'));
    const { col, ev } = eventSession(BREAK_PATH, {}, { 5: 'BREAK' }, { stray: { 1: 'REJECT' }, regimes });
    expect(col.stray).toEqual([{ tick: 1, signal: 'REJECT' }]);
    const m = computeMetrics(ev);
    expect(m.signals).toMatchObject({ total: 2, BREAK: 1, REJECT: 1, false: 1 });
    expect(m.quiet_regime).toMatchObject({ BREAK: 0, REJECT: 1 });
    expect(m.quiet_regime!.hours).toBeCloseTo((4 * 250) / 3_600_000, 12);
    const merged = computeMetrics(mergeEvals([ev, ev], P.reliabilityBins));
    expect(merged.quiet_regime).toMatchObject({ BREAK: 0, REJECT: 2 });
    // By regime: the episode starts in the quiet stretch (tick 0), the BREAK event fires in the news one.
    expect(m.by_regime!.quiet).toMatchObject({ episodes: 1, BREAK_outcomes: 1, signals: { BREAK: 0, REJECT: 1 } });
    expect(m.by_regime!.news).toMatchObject({ episodes: 0, signals: { BREAK: 1, REJECT: 0 } });
    expect(m.by_regime!.news!.hours).toBeCloseTo((3 * 250) / 3_600_000, 12);
    expect(computeMetrics(session(BREAK_PATH, {}, 50)).by_regime).toBeNull();
    expect(computeMetrics(session(BREAK_PATH, {}, 50)).quiet_regime).toBeNull();
  });

  it("a session without a single event: 'auto' falls back to transitions, 'events' (an engine known to emit them) does not", () => {
    const auto = eventSession(REJECT_PATH, { 2: 'REJECT' }, {});
    expect(auto.col.signalSource()).toBe('transitions');
    expect(computeMetrics(auto.ev).signals.total).toBe(1);
    const known = eventSession(REJECT_PATH, { 2: 'REJECT' }, {}, { source: 'events' });
    expect(known.col.signalSource()).toBe('events');
    expect(computeMetrics(known.ev).signals).toMatchObject({ source: 'events', total: 0 });
    expect(known.ev.episodes[0]!.predicted).toBe('NONE');
  });
});

describe('before/after rows', () => {
  it('pairs each variant of this run with the baseline row of the same variant', () => {
    const base = [['all', '10', '0.5'], ['tape_only', '10', '0.2']];
    const cur = [['all', '12', '0.8'], ['fuel_only', '12', '0.3']];
    expect(beforeAfterRows(base, cur)).toEqual([['all (before)', '10', '0.5'], ['all (after)', '12', '0.8']]);
  });
});
