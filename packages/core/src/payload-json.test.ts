// PayloadJsonWriter must write exactly the bytes of JSON.stringify(payload) + "\n": over real payloads (simulated
// sessions, both barrier sources, with discrete events) and over hand-made payloads with every edge a value can take.
import { defaultConfig } from './config';
import { compressEventTime } from './event-time';
import { PayloadJsonWriter, payloadJsonLine } from './payload-json';
import type { LevelEvent, LevelPhysicsPayload, LevelSignal } from './signals';
import { simulateSession } from './sim';
import { SnapEngine } from './snap-engine';

function payloadsOf(seed: number, minutes: number, source: 'l1' | 'mbp10', density: number): LevelPhysicsPayload[] {
  const cfg = defaultConfig();
  cfg.barrier.source = source;
  const engine = new SnapEngine(cfg, 'SPY');
  const out: LevelPhysicsPayload[] = [];
  const events = compressEventTime([...simulateSession({ seed, durationMs: minutes * 60_000 })], density);
  for (const ev of events) for (const p of engine.push(ev)) out.push(p);
  for (const p of engine.advanceTo(events[events.length - 1]!.ts_event_ns + 1_000_000_000n)) out.push(p);
  return out;
}

function level(over: Partial<LevelSignal> = {}): LevelSignal {
  return {
    id: 'STRIKE_680',
    price: 680,
    kind: 'STRIKE',
    direction: 'SUPPORT',
    distance: 0.375,
    break_score_raw: 40,
    break_score_smooth: 48.23,
    signal: 'NEUTRAL',
    confidence: 'LOW',
    barrier: { state: 'WALL', delta_liq: -0, delta_liq_raw: 1e21, replenishment_ratio: 1e-7, replenishment_ratio_raw: Number.NaN, added: Infinity, canceled: -Infinity, filled: 5e-324, defending_quote: { price: 680.01, size: 12 } },
    tape: { imbalance: -0.5, buy_vol: 1.7976931348623157e308, sell_vol: 0.1 + 0.2, velocity: -1e-9, velocity_raw: 123456789012345680000, sweep: { detected: true, direction: 'DOWN', notional: 2.5e6, venues: 3, window_ms: 40 } },
    fuel: { effect: 'AMPLIFY', net_dealer_gamma: -12.5, net_dealer_gamma_raw: 7, call_wall: 690, put_wall: null, hvl: 0 },
    runway: { direction: 'DOWN', next_obstacle: { id: 'ROUND_679', price: 679 }, distance: 1, quality: 'OBSTRUCTED' },
    note: 'Barrier neutral + gamma neutral; tape quiet',
    ...over,
  };
}

function event(over: Partial<LevelEvent> = {}): LevelEvent {
  return {
    event_id: '0123456789abcdef',
    ts_event_ns: '1766415600250000000',
    underlying: 'SPY',
    level_id: 'STRIKE_680',
    level_kind: 'STRIKE',
    level_price: 680,
    direction: 'SUPPORT',
    signal: 'BREAK',
    break_score: 81.5,
    confidence: 'HIGH',
    lead: 'TAPE',
    reason: 'tape sweep DOWN',
    spot: 679.9,
    ...over,
  };
}

function payload(levels: LevelSignal[], events?: LevelEvent[]): LevelPhysicsPayload {
  const p: LevelPhysicsPayload = { ts: 1766415600250, ts_event_ns: '1766415600250000000', underlying: 'SPY', spy: { spot: 680.375, bid: 680.37, ask: 680.38 }, levels };
  if (events !== undefined) p.events = events;
  return p;
}

/** Our bytes as text (valid UTF-8: lone surrogates are escaped), so a failure shows where they differ. */
const ours = (p: LevelPhysicsPayload): string => Buffer.from(payloadJsonLine(p)).toString('utf8');
const theirs = (p: LevelPhysicsPayload): string => JSON.stringify(p) + '\n';

function expectSame(p: LevelPhysicsPayload): void {
  expect(ours(p)).toBe(theirs(p));
  expect(Buffer.from(payloadJsonLine(p)).equals(Buffer.from(theirs(p), 'utf8'))).toBe(true);
}

describe('PayloadJsonWriter (the bytes of JSON.stringify + newline)', () => {
  it.each([
    [1, 'l1', 1],
    [2, 'mbp10', 1],
    [3, 'mbp10', 8],
  ] as const)('seed %i, %s barrier, %i× density: every payload, one reused (growing) buffer', (seed, source, density) => {
    const ps = payloadsOf(seed, 12, source, density);
    expect(ps.length).toBeGreaterThan(300);
    // The sessions must exercise the optional parts, or the comparison proves less than it claims.
    expect(ps.some((p) => p.events !== undefined && p.events.length > 0)).toBe(true);
    expect(ps.some((p) => p.levels.some((l) => l.barrier.defending_quote !== null))).toBe(true);
    expect(ps.some((p) => p.levels.some((l) => l.runway.next_obstacle !== null))).toBe(true);
    expect(ps.some((p) => p.levels.some((l) => l.tape.sweep.direction !== null))).toBe(true);
    let mismatches = 0;
    for (const p of ps) if (ours(p) !== theirs(p)) mismatches++;
    expect(mismatches).toBe(0);
    const w = new PayloadJsonWriter(1024);
    for (const p of ps) w.payload(p);
    expect(Buffer.from(w.bytes()).equals(Buffer.from(ps.map(theirs).join(''), 'utf8'))).toBe(true);
    w.reset();
    w.payload(ps[0]!);
    expect(Buffer.from(w.bytes()).toString('utf8')).toBe(theirs(ps[0]!));
  });

  it('writes numbers as JSON does: -0, NaN/±Infinity as null, exponents, the extremes', () => {
    const p = payload([level()]);
    expectSame(p);
    expect(ours(p)).toContain('"delta_liq":0,');
    expect(ours(p)).toContain('"replenishment_ratio_raw":null,');
    expect(ours(p)).toContain('"delta_liq_raw":1e+21,');
  });

  it('writes any number as String(n) does: integers, 1–6 decimals, tiny, huge, negative, int32 edges', () => {
    let seed = 7;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    const xs: number[] = [0, -0, 1, -1, 2147483647, -2147483648, 2147483648, -2147483649, 1e9, 1e9 - 0.5, 999999999.9999, 1e-4, 0.00009999, 1e-7, 0.1 + 0.2, 2 ** 53, -(2 ** 53) + 0.5, 123456.78901];
    for (let i = 0; i < 20_000; i++) {
      const mag = 10 ** Math.floor(rnd() * 14 - 5);
      const k = Math.floor(rnd() * 7);
      const x = (rnd() < 0.5 ? -1 : 1) * Math.round(rnd() * mag * 10 ** k) / 10 ** k;
      xs.push(x, rnd() * mag, x + 1e-12);
    }
    for (let i = 0; i < xs.length; i += 8) {
      const v = (j: number) => xs[(i + j) % xs.length]!;
      const l = level();
      l.price = v(0);
      l.distance = v(1);
      l.barrier.delta_liq = v(2);
      l.tape.velocity = v(3);
      l.fuel.net_dealer_gamma = v(4);
      l.fuel.call_wall = v(5);
      l.runway.distance = v(6);
      l.break_score_raw = v(7);
      const p = payload([l]);
      if (ours(p) !== theirs(p)) expect({ values: xs.slice(i, i + 8), ours: ours(p) }).toEqual({ values: xs.slice(i, i + 8), ours: theirs(p) });
    }
  });

  it('escapes strings as JSON does: quotes, backslashes, control characters, lone surrogates, non-ASCII', () => {
    const nasty = ['say "hi"', 'back\\slash', 'tab\there', 'nl\n', '\u0000\u001f\u007f', 'lone \ud800 high', 'lone \udc00 low', 'pair \ud83d\ude00', 'é ü ✓', '\u2028\u2029', ''];
    for (const s of nasty) {
      expectSame(payload([level({ id: s, note: s, runway: { direction: 'UP', next_obstacle: { id: s, price: 1 }, distance: null, quality: 'CLEAR' } })], [event({ reason: s, level_id: s })]));
    }
    // A long non-ASCII string in a small buffer: the escape path makes room for its UTF-8 bytes.
    const w = new PayloadJsonWriter(1024);
    const p = payload([level({ note: 'ü'.repeat(5000) })]);
    w.payload(p);
    expect(Buffer.from(w.bytes()).equals(Buffer.from(theirs(p), 'utf8'))).toBe(true);
  });

  it('leaves out absent events, writes empty ones, and writes nulls where a part is absent', () => {
    const nulls = level({
      barrier: { ...level().barrier, defending_quote: null },
      tape: { ...level().tape, sweep: { detected: false, direction: null, notional: 0, venues: 0, window_ms: 0 } },
      fuel: { effect: 'NEUTRAL', net_dealer_gamma: 0, net_dealer_gamma_raw: 0, call_wall: null, put_wall: null, hvl: null },
      runway: { direction: 'UP', next_obstacle: null, distance: null, quality: 'CLEAR' },
    });
    for (const p of [payload([]), payload([nulls]), payload([nulls, level()], []), payload([level()], [event(), event({ signal: 'REJECT', lead: 'BARRIER' })])]) expectSame(p);
    const withUndefined = payload([level()]);
    withUndefined.events = undefined;
    expectSame(withUndefined);
  });
});
