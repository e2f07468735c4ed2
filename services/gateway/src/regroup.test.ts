import fc from 'fast-check';
import { defaultConfig, runCore, simulateSession, toSignalRows, type LevelPhysicsPayload, type LevelSignal, type SignalRow } from '@snap/core';
import { PendingEvents, RegroupError, TickRegrouper, fromSignalRows } from './regroup';

// Real engine output: a simulated minute through the same core the processor runs.
const engineOutput: LevelPhysicsPayload[] = runCore(defaultConfig(), 'SPY', simulateSession({ seed: 7, durationMs: 60_000, underlying: 'SPY' }));

const finite = fc.double({ min: -1e7, max: 1e7, noNaN: true, noDefaultInfinity: true });
const levelArb: fc.Arbitrary<LevelSignal> = fc.record({
  id: fc.string({ minLength: 1, maxLength: 12 }),
  price: finite,
  kind: fc.constantFrom('VWAP', 'STRIKE', 'ROUND', 'SESSION_HIGH', 'SESSION_LOW', 'CALL_WALL', 'PUT_WALL', 'HVL', 'USER'),
  direction: fc.constantFrom('SUPPORT', 'RESISTANCE'),
  distance: finite,
  break_score_raw: finite,
  break_score_smooth: finite,
  signal: fc.constantFrom('BREAK', 'REJECT', 'CONTESTED', 'NEUTRAL'),
  confidence: fc.constantFrom('HIGH', 'MEDIUM', 'LOW'),
  barrier: fc.record({
    state: fc.constantFrom('VACUUM', 'WALL', 'ABSORPTION', 'CONSUMED', 'WEAK', 'NEUTRAL'),
    delta_liq: finite,
    delta_liq_raw: finite,
    replenishment_ratio: finite,
    replenishment_ratio_raw: finite,
    added: finite,
    canceled: finite,
    filled: finite,
    defending_quote: fc.option(fc.record({ price: finite, size: finite }), { nil: null }),
  }),
  tape: fc.record({
    imbalance: finite,
    buy_vol: finite,
    sell_vol: finite,
    velocity: finite,
    velocity_raw: finite,
    sweep: fc.record({ detected: fc.boolean(), direction: fc.constantFrom('UP', 'DOWN', null), notional: finite, venues: fc.nat(20), window_ms: finite }),
  }),
  fuel: fc.record({
    effect: fc.constantFrom('AMPLIFY', 'DAMPEN', 'NEUTRAL'),
    net_dealer_gamma: finite,
    net_dealer_gamma_raw: finite,
    call_wall: fc.option(finite, { nil: null }),
    put_wall: fc.option(finite, { nil: null }),
    hvl: fc.option(finite, { nil: null }),
  }),
  runway: fc.record({
    direction: fc.constantFrom('UP', 'DOWN'),
    next_obstacle: fc.option(fc.record({ id: fc.string({ minLength: 1, maxLength: 12 }), price: finite }), { nil: null }),
    distance: fc.option(finite, { nil: null }),
    quality: fc.constantFrom('CLEAR', 'OBSTRUCTED'),
  }),
  note: fc.string({ maxLength: 40 }),
}) as fc.Arbitrary<LevelSignal>;

const payloadArb: fc.Arbitrary<LevelPhysicsPayload> = fc
  .record({
    // Snap ticks are whole milliseconds of event time.
    tsMs: fc.integer({ min: 0, max: 4_000_000_000_000 }),
    underlying: fc.constantFrom('SPY', 'QQQ', 'IWM'),
    spy: fc.record({ spot: finite, bid: finite, ask: finite }),
    levels: fc.array(levelArb, { minLength: 1, maxLength: 8 }),
  })
  .map(({ tsMs, underlying, spy, levels }) => ({ ts: tsMs, ts_event_ns: (BigInt(tsMs) * 1_000_000n).toString(), underlying, spy, levels }));

describe('fromSignalRows (inverse of toSignalRows)', () => {
  it('rebuilds every payload the engine produced over a simulated minute', () => {
    const withLevels = engineOutput.filter((p) => p.levels.length > 0);
    expect(withLevels.length).toBeGreaterThan(100);
    for (const p of withLevels) expect(fromSignalRows(toSignalRows(p))).toEqual(p);
    // Key order matters to byte-level consumers of the WS stream: the rebuilt JSON is the engine's JSON.
    for (const p of withLevels.slice(0, 50)) expect(JSON.stringify(fromSignalRows(toSignalRows(p)))).toBe(JSON.stringify(p));
  });

  it('round-trips arbitrary payloads (null walls, no obstacle, no sweep direction)', () => {
    fc.assert(
      fc.property(payloadArb, (p) => {
        expect(fromSignalRows(toSignalRows(p))).toEqual(p);
      }),
      { numRuns: 300 },
    );
  });

  it('refuses an empty tick and rows of two ticks, naming the offending row', () => {
    expect(() => fromSignalRows([])).toThrow(RegroupError);
    const p = engineOutput.find((x) => x.levels.length >= 2)!;
    const rows = toSignalRows(p);
    const other: SignalRow = { ...rows[1]!, ts_event_ns: rows[1]!.ts_event_ns + 250_000_000n };
    let err: unknown;
    try {
      fromSignalRows([rows[0]!, other]);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RegroupError);
    expect((err as RegroupError).rowIndex).toBe(1);
  });
});

describe('TickRegrouper', () => {
  const ticks = engineOutput.filter((p) => p.levels.length > 0).slice(0, 40);
  const qqq = (p: LevelPhysicsPayload): LevelPhysicsPayload => ({ ...p, underlying: 'QQQ', spy: { ...p.spy, spot: p.spy.spot - 100 } });

  it('emits a tick when the next tick of its underlying starts, interleaved underlyings kept apart', () => {
    const g = new TickRegrouper();
    const out: LevelPhysicsPayload[] = [];
    // Two underlyings' ticks interleaved row by row (as two partitions fetched into one consumer may be).
    for (const p of ticks) {
      const a = toSignalRows(p);
      const b = toSignalRows(qqq(p));
      for (let i = 0; i < Math.max(a.length, b.length); i++) {
        if (a[i]) out.push(...g.push(a[i]!));
        if (b[i]) out.push(...g.push(b[i]!));
      }
    }
    // Everything but the last tick of each underlying is complete.
    expect(out.filter((p) => p.underlying === 'SPY')).toEqual(ticks.slice(0, -1));
    expect(out.filter((p) => p.underlying === 'QQQ')).toEqual(ticks.slice(0, -1).map(qqq));
    expect(g.pending).toBe(true);
    const rest = g.flush();
    expect(rest).toEqual([ticks.at(-1)!, qqq(ticks.at(-1)!)]);
    expect(g.pending).toBe(false);
    expect(g.flush()).toEqual([]);
  });

  it('a tick flushed early is re-emitted with its late rows, and not emitted again when the next tick starts', () => {
    const g = new TickRegrouper();
    const p = ticks.find((x) => x.levels.length >= 3)!;
    const rows = toSignalRows(p);
    expect(g.push(rows[0]!)).toEqual([]);
    const early = g.flush('SPY');
    expect(early).toEqual([{ ...p, levels: p.levels.slice(0, 1) }]);
    const later = rows.slice(1).flatMap((r) => g.push(r));
    expect(later.at(-1)).toEqual(p);
    expect(later).toHaveLength(rows.length - 1);
    const next = toSignalRows({ ...p, ts: p.ts + 250, ts_event_ns: (BigInt(p.ts_event_ns) + 250_000_000n).toString() });
    expect(g.push(next[0]!)).toEqual([]);
  });

  it('drops rows older than the open tick and counts them', () => {
    const g = new TickRegrouper();
    const [a, b] = [ticks[5]!, ticks[6]!];
    toSignalRows(b).forEach((r) => g.push(r));
    expect(g.push(toSignalRows(a)[0]!)).toEqual([]);
    expect(g.stale).toBe(1);
    expect(g.flush()).toEqual([b]);
  });
});

describe('TickRegrouper redelivery', () => {
  it('a row delivered twice replaces its copy instead of duplicating the level', () => {
    const p = engineOutput.find((x) => x.levels.length >= 2)!;
    const rows = toSignalRows(p);
    const g = new TickRegrouper();
    for (const r of rows) g.push(r);
    for (const r of rows) g.push(r);
    expect(g.flush()).toEqual([p]);
  });
});

describe('PendingEvents', () => {
  const session: LevelPhysicsPayload[] = runCore(defaultConfig(), 'SPY', simulateSession({ seed: 5, durationMs: 600_000, underlying: 'SPY' }));
  const withEvents = session.filter((p) => p.events?.length);
  const at = (p: LevelPhysicsPayload, underlying = p.underlying): LevelPhysicsPayload => ({ ...p, underlying, events: undefined });

  it('the engine session this is about has events', () => {
    expect(withEvents.length).toBeGreaterThan(0);
  });

  it('an event read before its tick waits for it; one read after rides on the next payload of its underlying', () => {
    const p = withEvents[0]!;
    const i = session.indexOf(p);
    const q = new PendingEvents();
    for (const e of p.events!) q.add(e);
    expect(q.takeFor(at(session[i - 1]!))).toEqual([]);
    expect(q.takeFor(at(p, 'QQQ'))).toEqual([]);
    expect(q.takeFor(at(session[i + 3]!))).toEqual(p.events);
    expect(q.size).toBe(0);
  });

  it('over a whole session, every event is taken exactly once, by the first payload at or after its tick', () => {
    const q = new PendingEvents();
    const taken: string[] = [];
    // The events topic is read ahead of the signals topic: every event is known before any payload.
    for (const p of withEvents) for (const e of p.events!) q.add(e);
    for (const p of session) {
      const got = q.takeFor(at(p));
      for (const e of got) expect(BigInt(e.ts_event_ns)).toBeLessThanOrEqual(BigInt(p.ts_event_ns));
      taken.push(...got.map((e) => e.event_id));
      expect(got).toEqual(p.events ?? []);
    }
    expect(taken).toEqual(withEvents.flatMap((p) => p.events!.map((e) => e.event_id)));
    q.add(withEvents[0]!.events![0]!);
    q.reset();
    expect(q.size).toBe(0);
  });
});
