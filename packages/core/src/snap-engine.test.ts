import fc from 'fast-check';
import { defaultConfig, parseConfig } from './config';
import { SnapEngine, levelDirection, runCore, type EngineSnapshot } from './snap-engine';
import { SnapshotError } from './snap-engine';
import type { InputEvent } from './events';
import type { LevelPhysicsPayload } from './signals';
import { simulateSession } from './sim';
import { calibrateScore } from './score';
import { T0, genStream, greeks, heartbeat, ms, optTrade, quote, trade } from './test-support';

const tickOf = (p: LevelPhysicsPayload): bigint => BigInt(p.ts_event_ns);

describe('SnapEngine snap ticks', () => {
  const cfg = parseConfig({ snap: { tick_ms: 250 } });

  it('no spot → no payload; tick T includes events with ts ≤ T and is emitted when ts > T arrives', () => {
    const e = new SnapEngine(cfg, 'SPY');
    expect(e.push(trade(0, 545.0, 100))).toEqual([]); // no quote yet
    expect(e.push(quote(100, 545.0, 545.02))).toEqual([]); // boundary 0 passed without spot: skipped
    expect(e.push(quote(250, 545.1, 545.12))).toEqual([]); // exactly on boundary 250: belongs to tick 250
    const out = e.push(trade(251, 545.1, 100));
    expect(out.map(tickOf)).toEqual([ms(250)]);
    expect(out[0]!.spy).toEqual({ spot: 545.11, bid: 545.1, ask: 545.12 });
    expect(out[0]!.ts).toBe(Number(T0 / 1_000_000n) + 250);
    expect(out[0]!.ts_event_ns).toBe(ms(250).toString());
  });

  it('emits every boundary in a gap up to 60 s and advanceTo is inclusive', () => {
    const e = new SnapEngine(cfg, 'SPY');
    e.push(quote(10, 545.0, 545.02));
    expect(e.push(quote(1010, 545.0, 545.02)).map(tickOf)).toEqual([ms(250), ms(500), ms(750), ms(1000)]);
    expect(e.advanceTo(ms(1500)).map(tickOf)).toEqual([ms(1250), ms(1500)]);
    expect(e.advanceTo(ms(1500))).toEqual([]);
  });

  it('skips boundaries more than 60 s after the last data event, deterministically (heartbeats do not count)', () => {
    const base = [quote(10, 545.0, 545.02), quote(200_010, 545.0, 545.02), trade(200_020, 545.01, 100)];
    // runCore closes only the ticks the events close; the end boundary is given explicitly.
    const a = runCore(cfg, 'SPY', base, ms(200_250));
    const withHb = runCore(cfg, 'SPY', [base[0]!, heartbeat(30_000), heartbeat(90_001), heartbeat(150_000), base[1]!, base[2]!], ms(200_250));
    expect(JSON.stringify(withHb)).toBe(JSON.stringify(a));
    const ticks = a.map(tickOf);
    expect(ticks[0]).toBe(ms(250));
    expect(ticks).toContain(ms(60_000));
    expect(ticks).not.toContain(ms(60_250)); // 60.24 s after the last event at 10 ms
    expect(ticks).not.toContain(ms(200_000));
    expect(ticks[ticks.length - 1]).toBe(ms(200_250));
    expect(ticks.filter((t) => t > ms(60_000))).toEqual([ms(200_250)]);
  });

  it('ignores events of other underlyings', () => {
    const spy = [quote(0, 545.0, 545.02), trade(100, 545.0, 100), quote(600, 545.01, 545.03)];
    const mixed = [spy[0]!, quote(50, 400.0, 400.02, 1, 1, 'QQQ'), spy[1]!, trade(200, 400.01, 9e6, 1, 'QQQ'), spy[2]!];
    expect(JSON.stringify(runCore(cfg, 'SPY', mixed))).toBe(JSON.stringify(runCore(cfg, 'SPY', spy)));
  });

  it('payload = §6.4: monitored levels within MONITOR_BAND, sorted by |distance| then id, with the rounding policy', () => {
    const out = runCore(defaultConfig(), 'SPY', genStream(7, 600));
    expect(out.length).toBeGreaterThan(50);
    for (const p of out) {
      // `events` only on ticks that fired a discrete BREAK/REJECT
      expect(Object.keys(p)).toEqual(p.events ? ['ts', 'ts_event_ns', 'underlying', 'spy', 'levels', 'events'] : ['ts', 'ts_event_ns', 'underlying', 'spy', 'levels']);
      for (let i = 0; i < p.levels.length; i++) {
        const l = p.levels[i]!;
        expect(Math.abs(p.spy.spot - l.price)).toBeLessThanOrEqual(0.5 + 1e-9);
        // §3.2 by the side of spot, except within TOUCH_BAND where a level keeps its approach direction (levelDirection),
        // and while a shown BREAK/REJECT/CONTESTED is inside its dwell (the support that broke is still that support)
        if (l.distance > 0.05 + 1e-9 && l.signal === 'NEUTRAL') expect(l.direction).toBe(p.spy.spot > l.price ? 'SUPPORT' : 'RESISTANCE');
        expect(l.break_score_raw).toBeGreaterThanOrEqual(0);
        expect(l.break_score_raw).toBeLessThanOrEqual(100);
        expect(Number.isInteger(l.barrier.added) && Number.isInteger(l.barrier.delta_liq) && Number.isInteger(l.fuel.net_dealer_gamma)).toBe(true);
        expect(Math.round(l.break_score_smooth * 100) / 100).toBe(l.break_score_smooth);
        expect(Math.round(l.distance * 1e4) / 1e4).toBe(l.distance);
        if (i > 0) {
          const prev = p.levels[i - 1]!;
          expect(prev.distance < l.distance || (prev.distance === l.distance && prev.id < l.id)).toBe(true);
        }
      }
    }
    expect(out.some((p) => p.levels.length > 0)).toBe(true);
  });
});

describe('level direction (§3.2 with the touch band)', () => {
  it('follows the side of spot, but a touched level keeps the direction of its approach', () => {
    expect(levelDirection(680.2, 680, 0.2, null, 0.05)).toBe('SUPPORT');
    expect(levelDirection(679.8, 680, 0.2, 'SUPPORT', 0.05)).toBe('RESISTANCE');
    // a resistance tested from below, spot one cent above it (queue half-eaten, quote flickering): still RESISTANCE
    expect(levelDirection(680.005, 680, 0.005, 'RESISTANCE', 0.05)).toBe('RESISTANCE');
    expect(levelDirection(680.05, 680, 0.05, 'RESISTANCE', 0.05)).toBe('RESISTANCE');
    // beyond the touch band on the other side the context flips
    expect(levelDirection(680.06, 680, 0.06, 'RESISTANCE', 0.05)).toBe('SUPPORT');
    // a new level inside the touch band takes the side of spot; spot exactly at L → SUPPORT
    expect(levelDirection(679.99, 680, 0.01, null, 0.05)).toBe('RESISTANCE');
    expect(levelDirection(680, 680, 0, null, 0.05)).toBe('SUPPORT');
  });
});

describe('SnapEngine signals end to end', () => {
  it('BREAK at a support after a vacuum + dealers short gamma + a down sweep, only after hold_ms', () => {
    const cfg = parseConfig({ score: { hold_ms: 1000 }, levels: { hotzones: [] }, barrier: { quote_band: 0.05 } });
    const evs: InputEvent[] = [greeks(0, 'P545', 545, 'P', 0.08), quote(0, 545.02, 545.04, 20_000, 5000)];
    // customers buy 545 puts: dealers short gamma near 545
    for (let i = 0; i < 5; i++) evs.push(optTrade(100 + i * 10, { symbol: 'P545', strike: 545, right: 'P', price: 0.5, size: 400, bid: 0.48, ask: 0.5 }));
    // the bid near 545 is pulled without prints, then a down sweep across venues
    let t = 200;
    for (const sz of [16_000, 12_000, 8000, 4000, 1000]) evs.push(quote((t += 200), 545.02, 545.04, sz, 5000));
    for (let i = 0; i < 6; i++) evs.push(trade(1300 + i * 10, 545.02 - 0.01 * i, 1500, i));
    for (let k = 0; k < 20; k++) evs.push(quote(1400 + k * 250, 545.02, 545.04, 1000, 5000));
    const out = runCore(cfg, 'SPY', evs);
    // the level at 545 (STRIKE_545 until the put flow makes it the PUT_WALL, which takes its price)
    const series = out.map((p) => ({ t: tickOf(p), l: p.levels.find((l) => l.price === 545)! })).filter((s) => s.l);
    const firstBreak = series.find((s) => s.l.signal === 'BREAK');
    expect(firstBreak).toBeDefined();
    const above = series.find((s) => s.l.break_score_raw > 80)!;
    expect(firstBreak!.t - above.t).toBe(1_000_000_000n); // exactly hold_ms after the first tick with S above 80
    expect(series.filter((s) => s.t < firstBreak!.t).every((s) => s.l.signal !== 'BREAK')).toBe(true);
    const b = firstBreak!.l;
    expect(b.direction).toBe('SUPPORT');
    expect(b.fuel.effect).toBe('AMPLIFY');
    // below 545 this story has only round numbers, which hold nothing by themselves: the runway is open (runway.ts)
    expect(b.runway).toEqual({ direction: 'DOWN', next_obstacle: null, distance: null, quality: 'CLEAR' });
  });

  it('an id change at the same price (STRIKE_545 → PUT_WALL) keeps the level\'s smoothing', () => {
    // S̃ published as it is (score.calibration []), so the EWMA step can be checked on the payload.
    const cfg = parseConfig({ score: { calibration: [] } });
    const evs: InputEvent[] = [greeks(0, 'P545', 545, 'P', 0.08), quote(0, 545.02, 545.04, 20_000, 5000)];
    for (let i = 0; i < 5; i++) evs.push(optTrade(300 + i * 10, { symbol: 'P545', strike: 545, right: 'P', price: 0.5, size: 400, bid: 0.48, ask: 0.5 }));
    evs.push(quote(2100, 545.02, 545.04, 20_000, 5000));
    const at545 = runCore(cfg, 'SPY', evs).map((p) => p.levels.find((l) => l.price === 545)!);
    const k = at545.findIndex((l) => l.id === 'PUT_WALL');
    expect(k).toBeGreaterThan(0);
    expect(at545[k - 1]!.id).toBe('STRIKE_545');
    const a = 1 - Math.exp((-250 / cfg.smoothing.score_half_life_ms) * Math.LN2);
    const expected = a * at545[k]!.break_score_raw + (1 - a) * at545[k - 1]!.break_score_smooth;
    expect(Math.abs(at545[k]!.break_score_smooth - expected)).toBeLessThan(0.011);
    expect(at545[k]!.break_score_smooth).not.toBe(at545[k]!.break_score_raw);
  });

  it('publishes break_score_smooth through score.calibration, while the signals and events do not depend on the map', () => {
    const evs = [...simulateSession({ seed: 2, durationMs: 8 * 60_000 })];
    const plain = runCore(parseConfig({ score: { calibration: [] } }), 'SPY', evs);
    const cfg = defaultConfig();
    expect(cfg.score.calibration.length).toBeGreaterThan(1);
    const cal = runCore(cfg, 'SPY', evs);
    expect(cal.length).toBe(plain.length);
    let differs = 0;
    let events = 0;
    for (let i = 0; i < cal.length; i++) {
      expect(cal[i]!.levels.map((l) => [l.id, l.signal, l.break_score_raw])).toEqual(plain[i]!.levels.map((l) => [l.id, l.signal, l.break_score_raw]));
      expect((cal[i]!.events ?? []).map((e) => [e.event_id, e.signal])).toEqual((plain[i]!.events ?? []).map((e) => [e.event_id, e.signal]));
      events += cal[i]!.events?.length ?? 0;
      cal[i]!.levels.forEach((l, j) => {
        const s = plain[i]!.levels[j]!.break_score_smooth;
        // The map reads S̃ before its rounding to 0.01; the steepest knot segment has slope < 3.
        expect(Math.abs(l.break_score_smooth - calibrateScore(s, cfg.score.calibration))).toBeLessThan(0.05);
        if (Math.abs(l.break_score_smooth - s) > 1) differs++;
      });
    }
    expect(events).toBeGreaterThan(0);
    expect(differs).toBeGreaterThan(0);
  }, 120_000);

  it('REJECT at a level defended by a replenishing wall with dealers long gamma, when price touches it', () => {
    // A 3 s story is too short for the adaptive barrier's noise baseline: the fixed §5.1 thresholds (z_thresh 0).
    const cfg = parseConfig({ barrier: { z_thresh: 0 } });
    const evs: InputEvent[] = [greeks(0, 'C545', 545, 'C', 0.08), quote(0, 544.98, 545.0, 3000, 10_000)];
    for (let i = 0; i < 5; i++) evs.push(optTrade(100 + i * 10, { symbol: 'C545', strike: 545, right: 'C', price: 0.4, size: 400, bid: 0.4, ask: 0.42 }));
    let ask = 10_000;
    for (let i = 0; i < 10; i++) {
      evs.push(trade(300 + i * 300, 545.0, 2000, i % 3));
      ask += 2000; // lifted for 2000, shows +2000: refilled 4000
      evs.push(quote(320 + i * 300, 544.98, 545.0, 3000, ask));
    }
    const out = runCore(cfg, 'SPY', evs);
    const last = out[out.length - 1]!.levels.find((l) => l.price === 545)!;
    expect(last.id).toBe('CALL_WALL'); // customers sold 545 calls: dealers long gamma there
    expect(last.direction).toBe('RESISTANCE');
    expect(last.barrier.state).toBe('ABSORPTION');
    expect(last.fuel.effect).toBe('DAMPEN');
    expect(last.signal).toBe('REJECT');
    expect(last.runway.direction).toBe('DOWN');
  });

  it('runs with the MBP-10 barrier source', () => {
    const cfg = parseConfig({ barrier: { source: 'mbp10' } });
    const out = runCore(cfg, 'SPY', genStream(11, 800));
    const rows = out.flatMap((p) => p.levels);
    expect(rows.length).toBeGreaterThan(0);
    expect(new Set(rows.map((r) => r.barrier.state)).size).toBeGreaterThanOrEqual(1);
    expect(rows.some((r) => r.confidence === 'LOW')).toBe(true); // out-of-range / bad-book rows exist in this stream
  });
});

describe('determinism and snapshots', () => {
  const cfgs = [defaultConfig(), parseConfig({ barrier: { source: 'mbp10' }, smoothing: { robust: true }, snap: { tick_ms: 100 } })];

  it('property: same input ⇒ byte-identical JSON output', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1e9 }), fc.integer({ min: 0, max: 1 }), (seed, c) => {
        const evs = genStream(seed, 300);
        return JSON.stringify(runCore(cfgs[c]!, 'SPY', evs)) === JSON.stringify(runCore(cfgs[c]!, 'SPY', genStream(seed, 300)));
      }),
      { numRuns: 20 },
    );
  });

  it('property: snapshot → JSON → restore mid-stream continues byte-identically', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1e9 }), fc.double({ min: 0, max: 1, noNaN: true }), fc.integer({ min: 0, max: 1 }), (seed, frac, c) => {
        const cfg = cfgs[c]!;
        const evs = genStream(seed, 400);
        const end = evs[evs.length - 1]!.ts_event_ns + 1_000_000_000n;
        const whole = runCore(cfg, 'SPY', evs, end);
        const cut = Math.floor(frac * evs.length);
        const first = new SnapEngine(cfg, 'SPY');
        const out: LevelPhysicsPayload[] = [];
        for (const ev of evs.slice(0, cut)) out.push(...first.push(ev));
        const text = JSON.stringify(first.snapshot());
        const second = SnapEngine.restore(cfg, JSON.parse(text) as EngineSnapshot);
        for (const ev of evs.slice(cut)) out.push(...second.push(ev));
        out.push(...second.advanceTo(end));
        return JSON.stringify(out) === JSON.stringify(whole);
      }),
      { numRuns: 25 },
    );
  });

  it('snapshot → JSON → restore after EVERY event of a simulated session continues byte-identically', () => {
    // A restore between any two events: the last quote used for aggressor classification, a half-built sweep
    // cluster, the velocity window, the next boundary… whatever the engine remembers must be in snapshot().
    // Seed 69 has a momentum burst with detected sweeps in its first 20 s (so clusters are open at many restores).
    for (const [cfg, seed] of cfgs.flatMap((c) => [21, 69].map((sd) => [c, sd] as const))) {
      const evs = [...simulateSession({ seed, durationMs: 20_000, underlying: 'SPY' })];
      const end = evs[evs.length - 1]!.ts_event_ns + 1_000_000_000n;
      const whole = runCore(cfg, 'SPY', evs, end);
      expect(whole.length).toBeGreaterThan(50);
      if (seed === 69) expect(whole.some((p) => p.levels.some((l) => l.tape.sweep.detected))).toBe(true);
      let engine = new SnapEngine(cfg, 'SPY');
      const out: LevelPhysicsPayload[] = [];
      for (const ev of evs) {
        engine = SnapEngine.restore(cfg, JSON.parse(JSON.stringify(engine.snapshot())) as EngineSnapshot);
        out.push(...engine.push(ev));
      }
      out.push(...SnapEngine.restore(cfg, JSON.parse(JSON.stringify(engine.snapshot())) as EngineSnapshot).advanceTo(end));
      expect(JSON.stringify(out)).toBe(JSON.stringify(whole));
    }
  });

  it('the snapshot is plain JSON and a restore with another barrier source is refused by key', () => {
    const e = new SnapEngine(defaultConfig(), 'SPY');
    for (const ev of genStream(3, 200)) e.push(ev);
    const snap = e.snapshot();
    expect(JSON.parse(JSON.stringify(snap))).toEqual(snap);
    expect(() => SnapEngine.restore(parseConfig({ barrier: { source: 'mbp10' } }), snap)).toThrow(SnapshotError);
    try {
      SnapEngine.restore(parseConfig({ barrier: { source: 'mbp10' } }), snap);
    } catch (err) {
      expect((err as SnapshotError).key).toBe('barrier.source');
    }
  });

  describe('tick-path times as float64 offsets from an epoch that moves with a long run', () => {
    const DAY = 86_400_000_000_000n;
    const session = [...simulateSession({ seed: 7, durationMs: 60_000, underlying: 'SPY' })];
    const shifted = (d: bigint): InputEvent[] => session.map((e) => ({ ...e, ts_event_ns: e.ts_event_ns + d, ts_recv_ns: e.ts_recv_ns + d }));
    /** Three copies of the session `gap` apart; every payload with its times taken back to the first copy's. */
    const run = (gap: bigint, restoreAt?: number): string[] => {
      const cfg = defaultConfig();
      let e = new SnapEngine(cfg, 'SPY');
      const out: string[] = [];
      for (const k of [0n, 1n, 2n]) {
        const evs = shifted(k * gap);
        for (let i = 0; i < evs.length; i++) {
          if (k === 2n && i === restoreAt) e = SnapEngine.restore(cfg, JSON.parse(JSON.stringify(e.snapshot())) as EngineSnapshot);
          for (const p of e.push(evs[i]!)) {
            // The first event of a copy also closes the previous copy's last tick.
            const back = BigInt(p.ts_event_ns) >= evs[0]!.ts_event_ns ? k * gap : (k - 1n) * gap;
            const ns = BigInt(p.ts_event_ns) - back;
            const events = p.events?.map((ev) => ({ ...ev, event_id: '', ts_event_ns: (BigInt(ev.ts_event_ns) - back).toString() }));
            out.push(JSON.stringify({ ...p, ts: Number(ns / 1_000_000n), ts_event_ns: ns.toString(), events }));
          }
        }
      }
      return out;
    };

    it('copies 80 days apart (the epoch moves twice; 160 days is beyond one epoch) give what copies 20 days apart give', () => {
      // Beyond the idle gap every held time is long past either way: same windows, same α = 1 restarts, same payloads.
      const near = run(20n * DAY);
      expect(near.length).toBeGreaterThan(200);
      expect(run(80n * DAY)).toEqual(near);
      // A restore after the moves re-derives its epoch from the state and continues the same.
      expect(run(80n * DAY, 1000)).toEqual(near);
    });

    it('copies 110 and 400 days apart (state held over more than 2^53 ns) give what copies 20 days apart give', () => {
      // A held time that far back becomes the oldest offset (EventClock.heldOffsetOf): every compare and α = 1 as at the
      // exact time, so the same payloads — also through a restore, whose epoch is its next boundary.
      const near = run(20n * DAY);
      expect(run(110n * DAY)).toEqual(near);
      expect(run(400n * DAY)).toEqual(near);
      expect(run(110n * DAY, 1000)).toEqual(near);
    });
  });

  it('bounded memory: windows evict by event time over a long run', () => {
    const e = new SnapEngine(defaultConfig(), 'SPY');
    const evs = genStream(5, 20_000);
    for (const ev of evs) e.push(ev);
    const s = JSON.parse(JSON.stringify(e.snapshot().state)) as { tape: { prints: unknown[] }; barrier: { flows: { seq: unknown[] } }; perLevel: object };
    // ~87 ms per step on average: W_t = 5 s holds at most a few hundred events
    expect(s.tape.prints.length).toBeLessThan(200);
    expect(s.barrier.flows.seq.length).toBeLessThan(200);
    expect(Object.keys(s.perLevel).length).toBeLessThan(10);
  });
});

describe('a delayed options plan (massive.data_delay_ms > 0)', () => {
  it('never reports HIGH confidence (Fuel cannot confirm a live tick) and changes nothing else but confidence', () => {
    const events = [...simulateSession({ seed: 3, durationMs: 20 * 60_000 })];
    const live = runCore(defaultConfig(), 'SPY', events);
    const delayed = runCore(parseConfig({ massive: { data_delay_ms: 900_000 } }), 'SPY', events);
    const conf = (ps: LevelPhysicsPayload[]) => ps.flatMap((p) => p.levels.map((l) => l.confidence));
    expect(conf(live)).toContain('HIGH');
    expect(conf(delayed)).not.toContain('HIGH');
    const strip = (ps: LevelPhysicsPayload[]) =>
      ps.map((p) => ({ ...p, events: p.events?.map((e) => ({ ...e, confidence: null })), levels: p.levels.map((l) => ({ ...l, confidence: null })) }));
    expect(strip(delayed)).toEqual(strip(live));
  });
});
