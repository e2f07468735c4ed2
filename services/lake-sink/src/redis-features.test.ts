import fc from 'fast-check';
import type { SignalRow } from '@snap/core';
import { sampleSignalRow } from './testing';
import { FeatureError, casWins, hashToRow, levelIndexKey, levelKey, newestPerLevel, rowToHash } from './redis-features';

const row = (i: number, tsNs: bigint, levelId?: string): SignalRow => sampleSignalRow(i, tsNs, levelId ? { level_id: levelId } : {});

describe('casWins (the rule the Lua script implements)', () => {
  it('takes the first write and anything at least as new; an older time never wins', () => {
    expect(casWins(null, '5')).toBe(true);
    expect(casWins('1700000000000000000', '1700000000000000000')).toBe(true);
    expect(casWins('1700000000000000000', '1700000000000000001')).toBe(true);
    expect(casWins('1700000000000000001', '1700000000000000000')).toBe(false);
    expect(casWins('999999999999999999', '1000000000000000000')).toBe(true);
    expect(casWins('1000000000000000000', '999999999999999999')).toBe(false);
  });

  it('orders decimal strings exactly like the bigints, beyond double precision (property)', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 2n ** 63n - 1n }), fc.bigInt({ min: 0n, max: 2n ** 63n - 1n }), (a, b) => {
        expect(casWins(a.toString(), b.toString())).toBe(b >= a);
      }),
    );
  });
});

describe('hash encoding', () => {
  it('round-trips every SignalRow field, nulls as absent fields', () => {
    for (const i of [0, 1]) {
      const r = row(i, 1_767_366_000_123_456_789n);
      const h = rowToHash(r);
      expect(Object.values(h).every((v) => typeof v === 'string')).toBe(true);
      expect(h.ts_event_ns).toBe('1767366000123456789');
      if (i === 1) expect('fuel_call_wall' in h).toBe(false);
      expect(hashToRow('k', h)).toEqual(r);
    }
  });

  it('names the key and field of a bad or missing value', () => {
    const h = rowToHash(row(0, 1n));
    expect(() => hashToRow('snap:levels:{SPY}:X', { ...h, spot: 'abc' })).toThrow(expect.objectContaining({ name: 'FeatureError', field: 'spot', key: 'snap:levels:{SPY}:X' }));
    const { signal: _s, ...noSignal } = h;
    expect(() => hashToRow('k', noSignal)).toThrow(FeatureError);
    expect(() => rowToHash(row(0, -1n))).toThrow(FeatureError);
  });

  it('puts all keys of an underlying under one Redis Cluster hash tag', () => {
    expect(levelKey('p:', 'SPY', 'STRIKE_600')).toBe('p:levels:{SPY}:STRIKE_600');
    expect(levelIndexKey('p:', 'SPY')).toBe('p:levels:{SPY}');
  });
});

describe('newestPerLevel', () => {
  it('keeps the newest row per (underlying, level); at equal times the later row', () => {
    const a1 = row(0, 10n, 'A');
    const a2 = row(1, 30n, 'A');
    const a3 = row(2, 20n, 'A');
    const b1 = row(3, 30n, 'B');
    const b2 = { ...row(4, 30n, 'B'), note: 'later' };
    const c = { ...row(5, 5n, 'A'), underlying: 'QQQ' };
    const got = newestPerLevel([a1, a2, b1, a3, c, b2]);
    expect(got).toEqual([a2, b2, c]);
  });
});
