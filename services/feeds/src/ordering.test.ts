import { HeartbeatScheduler, PartitionOrderGuard, makeHeartbeat } from './ordering';

describe('PartitionOrderGuard (late-record policy)', () => {
  it('accepts equal and increasing ts, per (stream, key) partition', () => {
    const g = new PartitionOrderGuard('dead_letter');
    expect(g.check('stocks.trades.v1', 'SPY', 100n)).toEqual({ action: 'accept' });
    g.commit('stocks.trades.v1', 'SPY', 100n);
    expect(g.check('stocks.trades.v1', 'SPY', 100n)).toEqual({ action: 'accept' });
    // another stream and another key are independent partitions
    expect(g.check('stocks.quotes.v1', 'SPY', 50n)).toEqual({ action: 'accept' });
    expect(g.check('stocks.trades.v1', 'QQQ', 50n)).toEqual({ action: 'accept' });
  });

  it('dead-letters a late record with a reason naming the partition and the gap (default policy)', () => {
    const g = new PartitionOrderGuard('dead_letter');
    g.commit('futures.trades.v1', 'SPY', 1_000n);
    const d = g.check('futures.trades.v1', 'SPY', 400n);
    expect(d.action).toBe('dead_letter');
    if (d.action !== 'dead_letter') throw new Error('unreachable');
    expect(d.last_ts_ns).toBe(1_000n);
    expect(d.reason).toContain('futures.trades.v1');
    expect(d.reason).toContain('SPY');
    expect(d.reason).toContain('600 ns');
  });

  it('clamps a late record to the partition time under the clamp policy, keeping the original', () => {
    const g = new PartitionOrderGuard('clamp');
    g.commit('stocks.quotes.v1', 'SPY', 1_000n);
    expect(g.check('stocks.quotes.v1', 'SPY', 999n)).toEqual({ action: 'clamp', original_ts_ns: 999n, clamped_ts_ns: 1_000n });
  });

  it('commit never moves a partition backwards, and snapshot/restore round-trips', () => {
    const g = new PartitionOrderGuard('dead_letter');
    g.commit('a', 'SPY', 10n);
    g.commit('a', 'SPY', 5n);
    expect(g.lastTs('a', 'SPY')).toBe(10n);
    const h = new PartitionOrderGuard('dead_letter');
    h.restore(g.snapshot());
    expect(h.check('a', 'SPY', 9n).action).toBe('dead_letter');
  });
});

describe('HeartbeatScheduler (event-time cadence)', () => {
  const MS = 1_000_000n;
  it('writes one heartbeat per crossed boundary, at the latest boundary <= the record ts', () => {
    const h = new HeartbeatScheduler(250);
    expect(h.beforeEvent('SPY', 1_010n * MS)).toBe(1_000n * MS);
    expect(h.beforeEvent('SPY', 1_100n * MS)).toBeNull(); // same tick
    expect(h.beforeEvent('SPY', 1_249n * MS)).toBeNull();
    expect(h.beforeEvent('SPY', 1_250n * MS)).toBe(1_250n * MS);
    // a gap of many ticks coalesces into the latest boundary
    expect(h.beforeEvent('SPY', 9_999n * MS)).toBe(9_750n * MS);
    // keys are independent
    expect(h.beforeEvent('QQQ', 1_300n * MS)).toBe(1_250n * MS);
  });

  it('never goes back in time (a late record crosses no boundary)', () => {
    const h = new HeartbeatScheduler(100);
    h.beforeEvent('SPY', 1_000n * MS);
    expect(h.beforeEvent('SPY', 500n * MS)).toBeNull();
  });

  it('live: trails the wall clock by the lag', () => {
    const h = new HeartbeatScheduler(250);
    expect(h.onWallClock('SPY', 10_000n * MS, 500)).toBe(9_500n * MS);
    expect(h.onWallClock('SPY', 10_100n * MS, 500)).toBeNull();
    expect(h.onWallClock('SPY', 10_300n * MS, 500)).toBe(9_750n * MS);
  });

  it('floor is correct for negative ts and rejects a bad cadence', () => {
    const h = new HeartbeatScheduler(250);
    expect(h.boundary(-1n)).toBe(-250n * MS);
    expect(() => new HeartbeatScheduler(0)).toThrow(RangeError);
  });

  it('heartbeat ids are stable for the same (source, key, ts) and differ by key', () => {
    const a = makeHeartbeat('SPY', 5n, 'sim', 7n);
    expect(a).toEqual(makeHeartbeat('SPY', 5n, 'sim', 7n));
    expect(a.event_id).not.toBe(makeHeartbeat('QQQ', 5n, 'sim', 7n).event_id);
    expect(a.schema).toBe('heartbeat.v1');
  });
});
