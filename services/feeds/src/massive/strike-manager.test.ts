import fc from 'fast-check';
import { diffSubscriptions, newYorkDate, StrikeManager, strikesAround, zeroDteExpiration } from './strike-manager';

const ns = (iso: string) => BigInt(Date.parse(iso)) * 1_000_000n;

describe('New York trading date', () => {
  it('crosses midnight in New York, not in UTC', () => {
    // 2025-12-16 03:30 UTC is 22:30 EST on the 15th.
    expect(newYorkDate(ns('2025-12-16T03:30:00Z'))).toBe('2025-12-15');
    expect(newYorkDate(ns('2025-12-16T05:00:00Z'))).toBe('2025-12-16');
    // Summer: EDT is UTC−4.
    expect(newYorkDate(ns('2025-07-01T03:59:59Z'))).toBe('2025-06-30');
    expect(newYorkDate(ns('2025-07-01T04:00:00Z'))).toBe('2025-07-01');
  });

  it('switches offset exactly at the DST transitions (2025-03-09 07:00Z, 2025-11-02 06:00Z)', () => {
    expect(newYorkDate(ns('2025-03-09T04:59:59Z'))).toBe('2025-03-08'); // 23:59:59 EST
    expect(newYorkDate(ns('2025-03-10T03:59:59Z'))).toBe('2025-03-09'); // 23:59:59 EDT
    expect(newYorkDate(ns('2025-03-10T04:00:00Z'))).toBe('2025-03-10');
    expect(newYorkDate(ns('2025-11-03T04:59:59Z'))).toBe('2025-11-02'); // 23:59:59 EST after fall back
    expect(newYorkDate(ns('2025-11-03T05:00:00Z'))).toBe('2025-11-03');
  });

  it('agrees with the platform tz database for any instant 2008–2037', () => {
    const fmt = new Intl.DateTimeFormat('en-CA', { timeZone: 'America/New_York', year: 'numeric', month: '2-digit', day: '2-digit' });
    fc.assert(
      fc.property(fc.integer({ min: Date.UTC(2008, 0, 1), max: Date.UTC(2037, 11, 31) }), (ms) => {
        expect(newYorkDate(BigInt(ms) * 1_000_000n)).toBe(fmt.format(new Date(ms)));
      }),
      { numRuns: 3000 },
    );
  });

  it('rolls the 0DTE expiry over weekends and holidays', () => {
    expect(zeroDteExpiration(ns('2025-12-16T15:00:00Z'))).toBe('2025-12-16'); // Tuesday
    expect(zeroDteExpiration(ns('2025-12-20T15:00:00Z'))).toBe('2025-12-22'); // Saturday → Monday
    expect(zeroDteExpiration(ns('2025-12-21T15:00:00Z'))).toBe('2025-12-22'); // Sunday → Monday
    expect(zeroDteExpiration(ns('2025-12-25T15:00:00Z'), new Set(['2025-12-25']))).toBe('2025-12-26');
    expect(zeroDteExpiration(ns('2025-12-27T02:00:00Z'))).toBe('2025-12-26'); // Friday evening in New York
  });
});

describe('strikesAround', () => {
  it('gives 2n+1 strikes on the grid centred at the nearest strike', () => {
    expect(strikesAround(676.4, 2, 1)).toEqual([674, 675, 676, 677, 678]);
    expect(strikesAround(676.6, 1, 1)).toEqual([676, 677, 678]);
    expect(strikesAround(676.3, 1, 0.5)).toEqual([676, 676.5, 677]);
    expect(strikesAround(1.2, 3, 1)).toEqual([1, 2, 3, 4]); // never a zero or negative strike
  });
});

describe('diffSubscriptions', () => {
  it('reports additions and removals, sorted', () => {
    expect(diffSubscriptions(new Set(['a', 'b', 'c']), new Set(['b', 'd', 'c', 'a2']))).toEqual({ subscribe: ['a2', 'd'], unsubscribe: ['a'] });
    expect(diffSubscriptions(new Set(['x']), new Set(['x']))).toEqual({ subscribe: [], unsubscribe: [] });
  });
});

describe('StrikeManager', () => {
  const t0 = ns('2025-12-16T15:00:00Z');
  const mk = () => new StrikeManager({ underlying: 'SPY', strikesAroundSpot: 1, strikeStep: 1 });

  it('subscribes T and Q for calls and puts within ±N strikes of spot', () => {
    const sm = mk();
    const d = sm.update(676.2, t0);
    expect(d.unsubscribe).toEqual([]);
    expect(d.subscribe).toEqual(
      [675, 676, 677]
        .flatMap((k) => ['C', 'P'].map((r) => `O:SPY251216${r}00${k}000`))
        .flatMap((t) => [`Q.${t}`, `T.${t}`])
        .sort(),
    );
    expect(sm.contracts()).toHaveLength(6);
    expect(sm.expirationDate).toBe('2025-12-16');
    expect(sm.centerStrike).toBe(676);
  });

  it('moves the window as spot moves, with hysteresis around the half strike', () => {
    const sm = mk();
    sm.update(676.2, t0);
    // 676.65 is past 676.5 but within the 0.2-step hysteresis band: nothing changes.
    expect(sm.update(676.65, t0)).toEqual({ subscribe: [], unsubscribe: [] });
    expect(sm.update(675.35, t0)).toEqual({ subscribe: [], unsubscribe: [] });
    // 676.75 re-centres on 677: 675 leaves, 678 joins.
    const up = sm.update(676.75, t0);
    expect(up.unsubscribe).toEqual(['Q.O:SPY251216C00675000', 'Q.O:SPY251216P00675000', 'T.O:SPY251216C00675000', 'T.O:SPY251216P00675000']);
    expect(up.subscribe).toEqual(['Q.O:SPY251216C00678000', 'Q.O:SPY251216P00678000', 'T.O:SPY251216C00678000', 'T.O:SPY251216P00678000']);
    // A jump of several strikes replaces the whole window.
    const jump = sm.update(680.1, t0);
    expect(jump.subscribe).toHaveLength(12);
    expect(jump.unsubscribe).toHaveLength(12);
    expect(sm.contracts()).toEqual(['O:SPY251216C00679000', 'O:SPY251216C00680000', 'O:SPY251216C00681000', 'O:SPY251216P00679000', 'O:SPY251216P00680000', 'O:SPY251216P00681000']);
  });

  it('rolls every contract when the New York date changes', () => {
    const sm = mk();
    sm.update(676.2, t0);
    const next = sm.update(676.2, ns('2025-12-17T14:30:00Z'));
    expect(next.subscribe.every((c) => c.includes('251217'))).toBe(true);
    expect(next.unsubscribe.every((c) => c.includes('251216'))).toBe(true);
    expect(next.subscribe).toHaveLength(12);
  });

  it('ignores unusable spot values and validates its options', () => {
    const sm = mk();
    expect(sm.update(NaN, t0)).toEqual({ subscribe: [], unsubscribe: [] });
    expect(sm.update(0, t0)).toEqual({ subscribe: [], unsubscribe: [] });
    expect(sm.subscriptions()).toEqual([]);
    expect(() => new StrikeManager({ underlying: 'SPY', strikesAroundSpot: 1, strikeStep: 0 })).toThrow(/strikeStep/);
    expect(() => new StrikeManager({ underlying: 'SPY', strikesAroundSpot: 1.5, strikeStep: 1 })).toThrow(/strikesAroundSpot/);
  });

  it('the subscribed set always covers ±(N−1) strikes of spot and the diffs replay to it (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 600, max: 700, noNaN: true }), { minLength: 1, maxLength: 60 }), fc.integer({ min: 1, max: 6 }), (spots, n) => {
        const sm = new StrikeManager({ underlying: 'SPY', strikesAroundSpot: n, strikeStep: 1 });
        const applied = new Set<string>();
        for (const s of spots) {
          const d = sm.update(s, t0);
          for (const u of d.unsubscribe) expect(applied.delete(u)).toBe(true);
          for (const a of d.subscribe) {
            expect(applied.has(a)).toBe(false);
            applied.add(a);
          }
          expect([...applied].sort()).toEqual(sm.subscriptions());
          const strikes = sm.contracts().map((c) => Number(c.slice(-8)) / 1000);
          for (let k = Math.ceil(s - (n - 1)); k <= Math.floor(s + (n - 1)); k++) expect(strikes).toContain(k);
        }
      }),
      { numRuns: 40 },
    );
  });
});
