import { gunzipSync } from 'node:zlib';
import { SnapEngine, defaultConfig, simulateMarket } from '@snap/core';
import { decodeSnapshot, encodeSnapshot, encodeSnapshotSliced, stringifySliced, type GroupSnapshot } from './snapshot';

const sliced = async (v: unknown, budgetMs = 0): Promise<string> => {
  const parts: string[] = [];
  await stringifySliced(v, (p) => parts.push(p), budgetMs);
  return parts.join('');
};

/** A busy engine: windows of prints, quotes and flows, bigints tagged by the core's state codec. */
function busyEngine(events = 20_000): SnapEngine {
  const engine = new SnapEngine(defaultConfig(), 'SPY');
  let n = 0;
  for (const ev of simulateMarket({ seed: 7, durationMs: 20 * 60_000, density: 'realistic', underlyings: ['SPY'] })) {
    engine.push(ev);
    if (++n >= events) break;
  }
  return engine;
}
const engineState = (): unknown => busyEngine().snapshot();

describe('sliced snapshot encoding', () => {
  it('writes the same text as JSON.stringify, including what JSON.stringify leaves out or rewrites', async () => {
    const long = Array.from({ length: 1300 }, (_, i) => (i % 97 === 0 ? undefined : i % 89 === 0 ? () => i : { i, s: `é"${i}\n`, n: i % 5 ? -i / 7 : null }));
    const values: unknown[] = [
      null,
      0,
      -0,
      'x',
      [],
      {},
      long,
      Object.assign(Object.create(null) as object, { a: 1, b: [long] }),
      { a: undefined, b: () => 1, c: Symbol('s'), d: new Date(0), e: new Map([[1, 2]]), 'k"ey\u2028': { deep: { deeper: long.slice(0, 600) } }, f: [undefined, () => 1], g: Buffer.from('ab') },
      { nested: [[long], { x: long }], at: long.length },
    ];
    for (const v of values) expect(await sliced(v)).toBe(JSON.stringify(v));
  });

  it('encodes a real engine state to gzip that decodes to the JSON.stringify text', async () => {
    const engines = { SPY: engineState() };
    const snap: GroupSnapshot = { v: 1, group: 0, offsets: { t: '10' }, released_ts: { t: '99' }, late_marks: {}, engines, sources: { SPY: 'sim' }, commits: 4 };
    const text = JSON.stringify(snap);
    expect(text.length).toBeGreaterThan(50_000); // enough state that the long arrays (the flow window's columns) are written in runs
    expect(await sliced(snap)).toBe(text);
    const bytes = await encodeSnapshotSliced(snap, 0);
    expect(gunzipSync(bytes).toString('utf8')).toBe(text);
    expect(decodeSnapshot('pg-0', bytes)).toEqual(decodeSnapshot('pg-0', encodeSnapshot(snap)));
  });

  it('writes a captured engine state (the flow window built in steps) as the snapshot taken at the capture', async () => {
    const engine = busyEngine();
    const captured = { v: 1, group: 0, engines: { SPY: engine.capture() } };
    const text = JSON.stringify({ v: 1, group: 0, engines: { SPY: engine.snapshot() } });
    // The engine moves on (flows evicted, cut, reclassified) before the capture is written.
    let n = 0;
    for (const ev of simulateMarket({ seed: 8, durationMs: 20 * 60_000, density: 'realistic', underlyings: ['SPY'] })) {
      if (n++ >= 5_000) break;
      engine.push({ ...ev, ts_event_ns: ev.ts_event_ns + 20n * 60_000_000_000n });
    }
    expect(JSON.stringify({ v: 1, group: 0, engines: { SPY: engine.snapshot() } })).not.toBe(text);
    expect(await sliced(captured)).toBe(text);
    expect(JSON.stringify(captured)).toBe(text);
  });

  it('yields to the event loop while it writes', async () => {
    const big = { rows: Array.from({ length: 50_000 }, (_, i) => ({ i, v: [i, i + 1, i + 2] })) };
    let ranBetween = false;
    let done = false;
    const writing = stringifySliced(big, () => undefined, 0).then(() => (done = true));
    setImmediate(() => (ranBetween = !done));
    await writing;
    expect(ranBetween).toBe(true);
  });
});
