import fc from 'fast-check';
import { PartitionWindows, WindowOrderError, windowStart, type WindowRows } from './windows';

describe('windowStart', () => {
  it('cuts offsets into [k·N, (k+1)·N)', () => {
    expect(windowStart(0n, 10n)).toBe(0n);
    expect(windowStart(9n, 10n)).toBe(0n);
    expect(windowStart(10n, 10n)).toBe(10n);
    expect(windowStart(12345678901234567n, 1000n)).toBe(12345678901234000n);
  });
  it('refuses a non-positive size and a negative offset', () => {
    expect(() => windowStart(5n, 0n)).toThrow(RangeError);
    expect(() => windowStart(-1n, 10n)).toThrow(RangeError);
  });
});

describe('PartitionWindows', () => {
  it('closes a window when a record of a later window arrives, and commits window starts only', () => {
    const w = new PartitionWindows<string>(5, 0n);
    for (let o = 0n; o < 5n; o++) expect(w.add(o, `r${o}`)).toEqual([]);
    expect(w.commitOffset()).toBe(0n);
    const closed = w.add(5n, 'r5');
    expect(closed).toHaveLength(1);
    expect(closed[0]).toMatchObject({ start: 0n, end: 5n, complete: true });
    expect(closed[0]!.records.map((r) => r.offset)).toEqual([0n, 1n, 2n, 3n, 4n]);
    expect(w.commitOffset()).toBe(5n);
  });

  it('closes a window on the position alone (trailing transaction markers / aborted records)', () => {
    const w = new PartitionWindows<string>(10, 0n);
    w.add(0n, 'a');
    w.add(1n, 'b');
    expect(w.advance(9n)).toEqual([]); // offsets 2..8 were markers/aborted: window not yet decided at 9
    expect(w.commitOffset()).toBe(0n);
    const closed = w.advance(10n);
    expect(closed.map((c) => [c.start, c.records.length, c.complete])).toEqual([[0n, 2, true]]);
    expect(w.commitOffset()).toBe(10n);
    expect(w.partial()).toBeNull();
  });

  it('skips windows that hold no data and commits the start of the window holding the position', () => {
    const w = new PartitionWindows<string>(10, 0n);
    w.add(3n, 'a');
    const closed = w.add(47n, 'b');
    expect(closed.map((c) => c.start)).toEqual([0n]);
    expect(w.commitOffset()).toBe(40n);
    w.advance(63n);
    expect(w.commitOffset()).toBe(60n);
  });

  it('hands out the open window as a partial once per new row', () => {
    const w = new PartitionWindows<string>(10, 20n);
    expect(w.partial()).toBeNull();
    w.add(21n, 'a');
    const p = w.partial()!;
    expect(p).toMatchObject({ start: 20n, end: 30n, complete: false });
    w.partialDone(p);
    expect(w.partial()).toBeNull();
    w.add(22n, 'b');
    expect(w.partial()!.records.map((r) => r.row)).toEqual(['a', 'b']);
  });

  it('refuses a record below its position', () => {
    const w = new PartitionWindows<string>(10, 0n);
    w.add(4n, 'a');
    expect(() => w.add(3n, 'b')).toThrow(WindowOrderError);
  });

  // The exactly-once argument, executed: whatever the log looks like (data offsets with gaps for markers and
  // aborted records), wherever the sink crashes (after writing some objects, before committing), and whenever it
  // writes partials, the store ends with every record exactly once, under the name of its window.
  it('restarts from committed offsets never lose, duplicate or misplace a record (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 7 }),
        fc.uniqueArray(fc.integer({ min: 0, max: 60 }), { maxLength: 40 }),
        fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 20 }),
        fc.array(fc.boolean(), { minLength: 1, maxLength: 20 }),
        (n, rawOffsets, batchSizes, crashes) => {
          const offsets = rawOffsets.sort((a, b) => a - b).map(BigInt);
          const end = 64n; // log end: everything below is decided
          const store = new Map<bigint, bigint[]>(); // object name (window start) -> offsets it holds
          const write = (w: WindowRows<bigint>) => store.set(w.start, w.records.map((r) => r.offset));
          let committed = 0n;
          let run = 0;
          for (;;) {
            const w = new PartitionWindows<bigint>(n, committed);
            const todo = offsets.filter((o) => o >= committed);
            let i = 0;
            let step = 0;
            let crashed = false;
            while (i < todo.length) {
              const size = batchSizes[(run + step) % batchSizes.length]!;
              const batch = todo.slice(i, i + size);
              i += size;
              for (const o of batch) w.add(o, o).forEach(write);
              // the fetch position may run ahead of the last data record (markers): up to the next data offset
              const pos = i < todo.length ? todo[i]! : end;
              w.advance(pos).forEach(write);
              const crash = crashes[(run * 7 + step) % crashes.length]! && run < 3;
              step++;
              if (crash) {
                // written, not committed; sometimes also a partial of the open window
                const p = w.partial();
                if (p && step % 2 === 0) write(p);
                crashed = true;
                break;
              }
              committed = w.commitOffset()!;
            }
            if (!crashed) {
              w.advance(end).forEach(write);
              const p = w.partial();
              if (p) write(p);
              committed = w.commitOffset()!;
              break;
            }
            run++;
          }
          // Every record exactly once, in the object named after its window.
          const all = [...store.entries()].flatMap(([start, offs]) => offs.map((o) => [start, o] as const));
          expect(all.map(([, o]) => o).sort((a, b) => (a < b ? -1 : 1))).toEqual(offsets);
          for (const [start, o] of all) expect(start).toBe((o / BigInt(n)) * BigInt(n));
          expect(committed % BigInt(n)).toBe(0n);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('closes early at the first record of a later event-time bucket or past the byte budget, and restarts there', () => {
    // rows are event times (ms); bucket = 1000 ms
    const w = new PartitionWindows<bigint>(100, 0n, { maxAgeNs: 1000n, tsOf: (t) => t, maxBytes: 3, bytesOf: () => 1 });
    expect(w.add(0n, 100n)).toEqual([]);
    expect(w.add(1n, 900n)).toEqual([]);
    const aged = w.add(2n, 1000n);
    expect(aged.map((x) => [x.start, x.end, x.records.length])).toEqual([[0n, 2n, 2]]);
    expect(w.commitOffset()).toBe(2n);
    w.add(3n, 1001n);
    w.add(5n, 1002n);
    const full = w.add(6n, 1003n); // a 4th row would exceed 3 bytes
    expect(full.map((x) => [x.start, x.end, x.records.map((r) => r.offset)])).toEqual([[2n, 6n, [2n, 3n, 5n]]]);
    // A restart from the committed early-close offset names its window after that offset, not the cell start.
    const again = new PartitionWindows<bigint>(100, 6n, { maxAgeNs: 1000n, tsOf: (t) => t });
    again.add(6n, 1003n);
    expect(again.commitOffset()).toBe(6n);
    expect(again.advance(100n).map((x) => x.start)).toEqual([6n]);
    expect(again.commitOffset()).toBe(100n);
  });

  // The same exactly-once argument with the early-close rules on: event times that only move forward with jumps,
  // a byte budget, crashes anywhere. The window boundaries now depend on the rows, yet every attempt cuts the same.
  it('early closes keep every record exactly once across crashes and restarts (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 9 }),
        fc.uniqueArray(fc.integer({ min: 0, max: 60 }), { maxLength: 40 }),
        fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 61, maxLength: 61 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 8 }),
        fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 20 }),
        fc.array(fc.boolean(), { minLength: 1, maxLength: 20 }),
        (n, rawOffsets, steps, age, budget, batchSizes, crashes) => {
          const offsets = rawOffsets.sort((a, b) => a - b).map(BigInt);
          const tsAt = steps.map(
            (
              (acc) => (d: number) =>
                (acc += d)
            )(0),
          );
          const rules = { maxAgeNs: BigInt(age), tsOf: (o: bigint) => BigInt(tsAt[Number(o)]!), maxBytes: budget, bytesOf: (o: bigint) => 1 + Number(o % 3n) };
          const end = 64n;
          const store = new Map<bigint, bigint[]>();
          const write = (w: WindowRows<bigint>) => store.set(w.start, w.records.map((r) => r.offset));
          let committed = 0n;
          let run = 0;
          for (;;) {
            const w = new PartitionWindows<bigint>(n, committed, rules);
            const todo = offsets.filter((o) => o >= committed);
            let i = 0;
            let step = 0;
            let crashed = false;
            while (i < todo.length) {
              const batch = todo.slice(i, i + batchSizes[(run + step) % batchSizes.length]!);
              i += batch.length;
              for (const o of batch) w.add(o, o).forEach(write);
              w.advance(i < todo.length ? todo[i]! : end).forEach(write);
              step++;
              if (crashes[(run * 7 + step) % crashes.length]! && run < 3) {
                crashed = true;
                break;
              }
              committed = w.commitOffset()!;
            }
            if (!crashed) {
              w.advance(end).forEach(write);
              const p = w.partial();
              if (p) write(p);
              break;
            }
            run++;
          }
          const all = [...store.values()].flat().sort((a, b) => (a < b ? -1 : 1));
          expect(all).toEqual(offsets);
        },
      ),
      { numRuns: 300 },
    );
  });
});
