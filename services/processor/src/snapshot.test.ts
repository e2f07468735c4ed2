import { gunzipSync } from 'node:zlib';
import { SnapEngine, defaultConfig, simulateMarket } from '@snap/core';
import { decodeSnapshot, encodeSnapshot, encodeSnapshotOffThread, SnapshotEncodeError, type GroupSnapshot } from './snapshot';

const group = (engines: Record<string, unknown>): GroupSnapshot => ({ v: 1, group: 0, offsets: { t: '10' }, released_ts: { t: '99' }, late_marks: {}, engines, sources: { SPY: 'sim' }, commits: 4 });

/** The JSON text inside the off-thread encoder's gzip. */
const offThreadText = async (s: GroupSnapshot): Promise<string> => gunzipSync(await encodeSnapshotOffThread(s)).toString('utf8');

/** A busy engine's state: windows of prints, quotes and flows, bigints tagged by the core's state codec. */
function engineState(): unknown {
  const cfg = defaultConfig();
  const engine = new SnapEngine(cfg, 'SPY');
  let n = 0;
  for (const ev of simulateMarket({ seed: 7, durationMs: 20 * 60_000, density: 'realistic', underlyings: ['SPY'] })) {
    engine.push(ev);
    if (++n >= 20_000) break;
  }
  return engine.snapshot();
}

describe('off-thread snapshot encoding', () => {
  it('writes the same text as JSON.stringify, long arrays of numbers (which travel as Float64Arrays) included', async () => {
    const n = 1300;
    const values: Record<string, unknown> = {
      // Numbers JSON writes in another form than they are held: -0 as 0, non-finite as null.
      numbers: Array.from({ length: n }, (_, i) => (i === 3 ? -0 : i === 5 ? NaN : i === 7 ? -Infinity : i % 2 ? i / 7 : i * 1e15)),
      ints: Array.from({ length: n }, (_, i) => i - 600),
      // Not all numbers: stay arrays (a hole or a null is not a number, and JSON writes both as null).
      holey: Object.assign(new Array<number>(n).fill(1), { 100: undefined }),
      mixed: Array.from({ length: n }, (_, i) => (i === n - 1 ? 'x' : i)),
      nulls: Array.from({ length: n }, (_, i) => (i === 0 ? null : i)),
      short: [1, -0, 2.5],
      nested: [Array.from({ length: n }, (_, i) => i / 3), { deep: { deeper: Array.from({ length: n }, (_, i) => -i) } }],
      objects: Array.from({ length: n }, (_, i) => ({ i, s: `é"${i}\n`, n: i % 5 ? -i / 7 : null, u: undefined })),
      'k"ey\u2028': { a: undefined, d: new Date(0) },
    };
    const s = group({ SPY: values });
    expect(await offThreadText(s)).toBe(JSON.stringify(s));
    // The caller's snapshot is not changed by the hand-over (its arrays are copied, never moved).
    expect((values.numbers as number[]).length).toBe(n);
    expect(Object.is((values.numbers as number[])[3], -0)).toBe(true);
  });

  it('encodes a real engine state to gzip that decodes to the JSON.stringify text and to the same snapshot', async () => {
    const snap = group({ SPY: engineState() });
    const text = JSON.stringify(snap);
    expect(text.length).toBeGreaterThan(50_000);
    // A state whose flow window's columns are long enough to travel as Float64Arrays, or this test checks only the clone.
    expect(((snap.engines.SPY as { state: { barrier: { flows: { price: number[] } } } }).state.barrier.flows.price.length)).toBeGreaterThanOrEqual(256);
    const bytes = await encodeSnapshotOffThread(snap);
    expect(gunzipSync(bytes).toString('utf8')).toBe(text);
    expect(decodeSnapshot('pg-0', bytes)).toEqual(decodeSnapshot('pg-0', encodeSnapshot(snap)));
  });

  it('encodes snapshots asked for at once, each to its own bytes', async () => {
    const snaps = [1, 2, 3].map((k) => group({ SPY: { k, xs: Array.from({ length: 2000 }, (_, i) => i * k) } }));
    const texts = await Promise.all(snaps.map(offThreadText));
    expect(texts).toEqual(snaps.map((s) => JSON.stringify(s)));
  });

  it('fails a snapshot JSON cannot write with a typed error, and the next one still encodes', async () => {
    const bad = group({ SPY: { big: 1n } });
    await expect(encodeSnapshotOffThread(bad)).rejects.toThrow(SnapshotEncodeError);
    await expect(encodeSnapshotOffThread(bad)).rejects.toThrow(/BigInt/);
    const uncloneable = group({ SPY: { f: () => 1 } });
    await expect(encodeSnapshotOffThread(uncloneable)).rejects.toThrow(/handed to the encoder thread/);
    const ok = group({ SPY: { xs: [1, 2, 3] } });
    expect(await offThreadText(ok)).toBe(JSON.stringify(ok));
  });
});
