// Issue 9: a level's shown signal changes at most once per signal.min_dwell_ms, and every level-touch episode fires at
// most one discrete BREAK/REJECT event — over random simulated sessions, dwell lengths and hysteresis widths.
import fc from 'fast-check';
import { parseConfig } from './config';
import type { LevelPhysicsPayload, SignalName } from './signals';
import { simulateSession } from './sim';
import { SnapEngine } from './snap-engine';

// The engine's per-level key: the price, or the id of a moving level (VWAP and the session extremes follow the market).
const keyOf = (l: { id: string; price: number; kind: string }): string =>
  l.kind === 'VWAP' || l.kind === 'SESSION_HIGH' || l.kind === 'SESSION_LOW' ? `@${l.id}` : String(l.price);

const TICK_MS = parseConfig({}).snap.tick_ms;

function run(seed: number, minutes: number, signal: Record<string, number>, source: 'l1' | 'mbp10'): LevelPhysicsPayload[] {
  const cfg = parseConfig({ signal, barrier: { source } });
  const engine = new SnapEngine(cfg, 'SPY');
  const out: LevelPhysicsPayload[] = [];
  for (const ev of simulateSession({ seed, durationMs: minutes * 60_000 })) for (const p of engine.push(ev)) out.push(p);
  return out;
}

describe('signal dwell and discrete events (property)', () => {
  it('a level (by price, moving levels by id) changes its shown signal at most once per min_dwell_ms, and each event is a change into BREAK/REJECT', () => {
    let changes = 0;
    let events = 0;
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1_000_000 }),
        fc.integer({ min: 250, max: 5000 }),
        fc.integer({ min: 0, max: 15 }),
        fc.constantFrom<'l1' | 'mbp10'>('l1', 'mbp10'),
        (seed, dwell, hyst, source) => {
          const payloads = run(seed, 4, { min_dwell_ms: dwell, break_exit_threshold: 80 - hyst, reject_exit_threshold: 20 + hyst }, source);
          const last = new Map<string, { signal: SignalName; changedMs: number | null; seenMs: number }>();
          for (const p of payloads) {
            for (const l of p.levels) {
              const prev = last.get(keyOf(l));
              if (prev && prev.seenMs < p.ts - TICK_MS) {
                // The level left the monitoring band and came back: it was not shown meanwhile, so a different signal
                // now is not a flip on screen; the change happened, unseen, at the earliest when it left.
                last.set(keyOf(l), { signal: l.signal, changedMs: prev.signal === l.signal ? prev.changedMs : prev.seenMs + TICK_MS, seenMs: p.ts });
              } else if (prev && prev.signal !== l.signal) {
                changes++;
                if (prev.changedMs !== null && p.ts - prev.changedMs < dwell) return false;
                last.set(keyOf(l), { signal: l.signal, changedMs: p.ts, seenMs: p.ts });
              } else if (!prev) last.set(keyOf(l), { signal: l.signal, changedMs: l.signal === 'NEUTRAL' ? null : p.ts, seenMs: p.ts });
              else prev.seenMs = p.ts;
            }
            for (const e of p.events ?? []) {
              events++;
              const row = p.levels.find((l) => l.id === e.level_id);
              if (!row || row.signal !== e.signal || Number(e.ts_event_ns) !== p.ts * 1e6) return false;
            }
          }
          return true;
        },
      ),
      // Besides random sessions, three that failed before: a moving level re-keyed on every price refresh (seed 561071),
      // a level that left the band and came back changed (seed 968034), and levels forgotten while shadowed by another
      // level on their price, back NEUTRAL and BREAK again within the dwell (seed 6).
      { numRuns: 6, examples: [[561071, 1501, 0, 'l1'], [968034, 1001, 0, 'mbp10'], [6, 751, 0, 'mbp10']] },
    );
    // The property is not vacuous: the sessions do change signals and fire events.
    expect(changes).toBeGreaterThan(0);
    expect(events).toBeGreaterThan(0);
  }, 300_000);

  it('an episode fires at most one event; event ids are unique and stable across runs', () => {
    // Seed 2's first 20 minutes fire events (a momentum burst through a level); a second run gives the same ids.
    const a = run(2, 20, {}, 'l1');
    const b = run(2, 20, {}, 'l1');
    const ids = a.flatMap((p) => (p.events ?? []).map((e) => e.event_id));
    expect(ids.length).toBeGreaterThan(0);
    expect(new Set(ids).size).toBe(ids.length);
    expect(b.flatMap((p) => (p.events ?? []).map((e) => e.event_id))).toEqual(ids);
    // Episodes as docs/eval.md defines them (consecutive in-band ticks, at most episode_ms long), keyed as the engine keys levels.
    const cfg = parseConfig({});
    const ep = new Map<string, { startMs: number; lastMs: number; events: number }>();
    for (const p of a) {
      for (const l of p.levels) {
        let e = ep.get(keyOf(l));
        if (!e || e.lastMs !== p.ts - cfg.snap.tick_ms || p.ts - e.startMs > cfg.signal.episode_ms) ep.set(keyOf(l), (e = { startMs: p.ts, lastMs: p.ts, events: 0 }));
        e.lastMs = p.ts;
      }
      for (const ev of p.events ?? []) {
        const e = ep.get(keyOf({ id: ev.level_id, price: ev.level_price, kind: ev.level_kind }))!;
        e.events++;
        expect(e.events).toBe(1);
      }
    }
  }, 300_000);
});
