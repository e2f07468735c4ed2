import type { LevelEvent, LevelPhysicsPayload } from '@snap/core';
import { PayloadHistory, eventTsMs } from './history';

const T0 = 1_766_415_600_000;

function payload(ts: number, spot: number, events: LevelEvent[] = [], underlying = 'SPY'): LevelPhysicsPayload {
  return {
    ts,
    ts_event_ns: `${BigInt(ts) * 1_000_000n}`,
    underlying,
    spy: { spot, bid: spot - 0.01, ask: spot + 0.01 },
    levels: [{ id: 'VWAP', price: 680, kind: 'VWAP', signal: 'NEUTRAL', break_score_smooth: 40 } as LevelPhysicsPayload['levels'][number]],
    events,
  };
}

function event(ts: number, id: string): LevelEvent {
  return {
    event_id: id,
    ts_event_ns: `${BigInt(ts) * 1_000_000n}`,
    underlying: 'SPY',
    level_id: 'VWAP',
    level_kind: 'VWAP',
    level_price: 680,
    direction: 'SUPPORT',
    signal: 'BREAK',
    break_score: 85,
    confidence: 'HIGH',
    lead: 'TAPE',
    reason: 'sweep',
    spot: 679.9,
  };
}

describe('PayloadHistory', () => {
  it('keeps one point per second of event time (the newest tick of that second) with its levels', () => {
    const h = new PayloadHistory(30);
    h.add(payload(T0 + 250, 680.1));
    h.add(payload(T0 + 750, 680.2));
    h.add(payload(T0 + 1250, 680.3));
    const [spy] = h.since(0);
    expect(spy!.points.map((p) => [p.ts, p.spot])).toEqual([
      [T0 + 750, 680.2],
      [T0 + 1250, 680.3],
    ]);
    expect(spy!.points[0]!.levels).toEqual([{ id: 'VWAP', price: 680, signal: 'NEUTRAL', score: 40 }]);
  });

  it('drops points and events older than the window (event time) and answers from= with what follows', () => {
    const h = new PayloadHistory(1);
    h.add(payload(T0, 680, [event(T0, 'e0')]));
    for (let s = 1; s <= 200; s++) h.add(payload(T0 + s * 1000, 680 + s / 100, s === 150 ? [event(T0 + s * 1000, 'e150')] : []));
    const [spy] = h.since(0);
    expect(spy!.points[0]!.ts).toBe(T0 + 140_000);
    expect(spy!.points).toHaveLength(61);
    expect(h.size).toBe(61);
    expect(spy!.events.map((e) => e.event_id)).toEqual(['e150']);
    const [later] = h.since(T0 + 190_000);
    expect(later!.points.map((p) => p.ts)).toEqual(Array.from({ length: 11 }, (_, i) => T0 + (190 + i) * 1000));
    expect(later!.events).toEqual([]);
    expect(eventTsMs(spy!.events[0]!)).toBe(T0 + 150_000);
  });

  it('keeps underlyings apart and filters by one', () => {
    const h = new PayloadHistory(30);
    h.add(payload(T0, 680));
    h.add(payload(T0, 500, [], 'QQQ'));
    expect(h.since(0).map((x) => x.underlying).sort()).toEqual(['QQQ', 'SPY']);
    expect(h.since(0, 'QQQ').map((x) => x.points[0]!.spot)).toEqual([500]);
  });

  it('starts over when event time jumps back past the window (a replay restarted); 0 minutes keeps nothing', () => {
    const h = new PayloadHistory(1);
    h.add(payload(T0 + 600_000, 681));
    h.add(payload(T0, 680));
    expect(h.since(0)[0]!.points.map((p) => p.ts)).toEqual([T0]);
    const off = new PayloadHistory(0);
    off.add(payload(T0, 680));
    expect(off.enabled).toBe(false);
    expect(off.since(0)).toEqual([]);
  });
});
