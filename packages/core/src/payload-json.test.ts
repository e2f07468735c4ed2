import { defaultConfig } from './config';
import { PayloadLineWriter, formatPayloadLine } from './payload-json';
import type { LevelPhysicsPayload } from './signals';
import { SCENARIOS, simulateSession } from './sim';
import { runCore } from './snap-engine';

describe('formatPayloadLine', () => {
  // Every payload of a simulated session and of every scenario (BREAK/REJECT events included), as JSON.stringify writes it.
  const payloads: LevelPhysicsPayload[] = [
    ...runCore(defaultConfig(), 'SPY', simulateSession({ seed: 3, durationMs: 120_000 })),
    ...SCENARIOS.flatMap((s) => {
      const sc = s.build(1);
      return runCore(defaultConfig(), sc.underlying, sc.events);
    }),
  ];

  it('writes every payload of a session and of the scenarios byte for byte as JSON.stringify', () => {
    const seen = { events: 0, defending: 0, noDefending: 0, obstacle: 0, noObstacle: 0, sweep: 0 };
    for (const p of payloads) {
      expect(formatPayloadLine(p)).toBe(JSON.stringify(p));
      if (p.events) seen.events++;
      for (const l of p.levels) {
        if (l.barrier.defending_quote) seen.defending++;
        else seen.noDefending++;
        if (l.runway.next_obstacle) seen.obstacle++;
        else seen.noObstacle++;
        if (l.tape.sweep.direction !== null) seen.sweep++;
      }
    }
    // The inputs reach every branch of the writer (else this test would prove less than it says).
    for (const [k, n] of Object.entries(seen)) expect([k, n > 0]).toEqual([k, true]);
  });

  it('appends lines from a buffer of one byte, growing it (and writing no byte past it) as it goes', () => {
    const w = new PayloadLineWriter(1);
    for (const p of payloads) w.line(p);
    expect(Buffer.from(w.bytes.subarray(0, w.length)).toString('utf8')).toBe(payloads.map((p) => JSON.stringify(p) + '\n').join(''));
  });

  it('writes numbers and strings of every form as JSON.stringify does', () => {
    const p = payloads.find((x) => x.events && x.levels.some((l) => l.barrier.defending_quote && l.runway.next_obstacle))!;
    const NUMBERS = [0, -0, 1, -1, 0.1, 1 / 3, -2.5e-7, 1e-7, 1e21, 1e20, 123456789012345680000, 5e-324, Number.MAX_VALUE, Number.NaN, Infinity, -Infinity, 600.515];
    const STRINGS = ['', 'a"b', 'a\\b', 'line\nbreak', '\u0000\u001f', 'é ü 😀', '\ud800', 'x\udc00y', '</script>', '\u2028\u2029', 'ROUND_600.5'];
    const copy = () => JSON.parse(JSON.stringify(p)) as LevelPhysicsPayload;
    for (const n of NUMBERS) {
      const q = copy();
      q.ts = n;
      q.spy.spot = n;
      const l = q.levels[0]!;
      l.price = n;
      l.barrier.delta_liq = n;
      l.barrier.defending_quote = { price: n, size: n };
      l.tape.velocity = n;
      l.tape.sweep.notional = n;
      l.fuel.call_wall = n;
      l.runway.distance = n;
      l.runway.next_obstacle = { id: 'X', price: n };
      q.events![0]!.spot = n;
      expect(formatPayloadLine(q)).toBe(JSON.stringify(q));
    }
    for (const s of STRINGS) {
      const q = copy();
      q.ts_event_ns = s;
      q.underlying = s;
      const l = q.levels[0]!;
      l.id = s;
      l.note = s;
      l.runway.next_obstacle = { id: s, price: 1 };
      q.events![0]!.reason = s;
      q.events![0]!.level_id = s;
      expect(formatPayloadLine(q)).toBe(JSON.stringify(q));
    }
    // Past the bound of the writer's cache of repeated strings (4,096), strings are still written as they should be.
    for (let i = 0; i < 5000; i++) {
      const r = copy();
      r.levels[0]!.note = `note ${i} ${STRINGS[i % STRINGS.length]!}`;
      expect(formatPayloadLine(r)).toBe(JSON.stringify(r));
    }
    const q = copy();
    q.events = [];
    q.levels[0]!.fuel.hvl = null;
    q.levels[0]!.tape.sweep = { detected: true, direction: 'UP', notional: 5, venues: 2, window_ms: 1.5 };
    expect(formatPayloadLine(q)).toBe(JSON.stringify(q));
    delete q.events;
    q.levels = [];
    expect(formatPayloadLine(q)).toBe(JSON.stringify(q));
  });
});
