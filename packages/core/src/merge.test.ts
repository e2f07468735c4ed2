import fc from 'fast-check';
import { DeterministicMerge, UnknownStreamError } from './merge';

interface Item {
  id: string;
  ts: bigint;
  rank: number;
  offset: bigint;
  stream: number;
}

const byKey = (a: Item, b: Item): number =>
  a.ts !== b.ts ? (a.ts < b.ts ? -1 : 1) : a.rank !== b.rank ? a.rank - b.rank : a.offset !== b.offset ? (a.offset < b.offset ? -1 : 1) : a.stream - b.stream;

describe('DeterministicMerge (DESIGN decision 2)', () => {
  it('waits until every stream has reached T before releasing events at T', () => {
    const m = new DeterministicMerge<string>(['quotes', 'trades'], (x) => (x.startsWith('q') ? 1 : 4));
    m.push('trades', 100n, 0n, 't100');
    expect(m.release()).toEqual([]); // quotes has not reached 100 yet
    m.push('quotes', 90n, 0n, 'q90');
    expect(m.release()).toEqual(['q90']);
    m.advance('quotes', 99n);
    expect(m.release()).toEqual([]);
    m.advance('quotes', 100n); // quotes (rank 1) could still send a record at 100 that sorts first
    expect(m.release()).toEqual([]);
    m.push('quotes', 100n, 1n, 'q100');
    expect(m.release()).toEqual(['q100']);
    m.advance('quotes', 101n);
    expect(m.release()).toEqual(['t100']);
  });

  it('at equal time only a stream that could still send a lower-ranked record at T blocks', () => {
    const m = new DeterministicMerge<string>(['greeks', 'trades'], (x) => (x.startsWith('g') ? 0 : 4));
    m.push('trades', 50n, 7n, 't50');
    m.push('greeks', 50n, 3n, 'g50');
    // greeks (rank 0) at T = 50 is released: trades cannot deliver anything at 50 sorting before rank 0
    expect(m.release()).toEqual(['g50']);
    // trades at 50: greeks' watermark is 50 and greeks could still send another rank-0 record at 50
    expect(m.release()).toEqual([]);
    m.advance('greeks', 51n);
    expect(m.release()).toEqual(['t50']);
  });

  it('drain() releases everything buffered, in order', () => {
    const m = new DeterministicMerge<string>(['a', 'b'], () => 0);
    m.push('a', 5n, 1n, 'a5');
    m.push('a', 3n, 0n, 'a3'); // out of order within a stream: still sorted in the buffer
    m.push('b', 4n, 0n, 'b4');
    expect(m.pending).toBe(3);
    expect(m.drain()).toEqual(['a3', 'b4', 'a5']);
    expect(m.pending).toBe(0);
  });

  it('names the unknown stream', () => {
    const m = new DeterministicMerge<string>(['a'], () => 0);
    expect(() => m.push('zz', 1n, 0n, 'x')).toThrow(UnknownStreamError);
    expect(() => m.advance('zz', 1n)).toThrow(/"zz"/);
  });

  it('property: the released order is the global (ts, rank, offset, stream) order, whatever the push interleaving', () => {
    const streamArb = fc.record({
      rank: fc.integer({ min: 0, max: 6 }),
      deltas: fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 25 }),
    });
    fc.assert(
      fc.property(fc.array(streamArb, { minLength: 1, maxLength: 5 }), fc.array(fc.nat(), { maxLength: 200 }), fc.array(fc.boolean(), { maxLength: 200 }), (streams, schedule, heartbeats) => {
        const names = streams.map((_, i) => `s${i}`);
        const items: Item[][] = streams.map((s, i) => {
          let ts = 0n;
          return s.deltas.map((d, k) => {
            ts += BigInt(d);
            return { id: `${i}:${k}`, ts, rank: s.rank, offset: BigInt(k * 2), stream: i };
          });
        });
        const expected = items.flat().sort(byKey).map((x) => x.id);
        const m = new DeterministicMerge<Item>(names, (x) => x.rank);
        const cursor = items.map(() => 0);
        const out: string[] = [];
        let step = 0;
        const remaining = (): number[] => cursor.map((c, i) => (c < items[i]!.length ? i : -1)).filter((i) => i >= 0);
        while (remaining().length > 0) {
          const live = remaining();
          const i = live[(schedule[step] ?? step) % live.length]!;
          const it = items[i]![cursor[i]!++]!;
          m.push(names[i]!, it.ts, it.offset, it);
          // A heartbeat may advance a stream to its next item's time (never beyond: streams are non-decreasing).
          if (heartbeats[step] && cursor[i]! < items[i]!.length) m.advance(names[i]!, items[i]![cursor[i]!]!.ts);
          out.push(...m.release().map((x) => x.id));
          step++;
        }
        out.push(...m.drain().map((x) => x.id));
        return JSON.stringify(out) === JSON.stringify(expected);
      }),
      { numRuns: 500 },
    );
  });
});
