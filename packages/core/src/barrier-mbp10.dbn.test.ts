// The MBP-10 barrier on Databento's real GLBX.MDP3 sample files (ES, 2020-12-28), decoded and normalized by
// @snap/dbn. The mbp-10 sample holds two F_LAST records: the second is the cancel of 1 lot at depth 1 on the bid
// (3720.00: 31 → 30 lots); the trades sample holds two SELL-aggressor prints at 3720.25 (5 and 21 lots).
import { readDbn, toNormalizedEvents } from '@snap/dbn';
import { fixture } from '../../dbn/src/test-fixtures';
import { parseConfig } from './config';
import { BasisEstimator } from './basis';
import { Mbp10BarrierEngine } from './barrier-mbp10';
import { DBN_FLAGS, type InputEvent } from './events';
import { runCore } from './snap-engine';
import { quote } from './test-support';

async function esEvents(): Promise<InputEvent[]> {
  const out: InputEvent[] = [];
  for (const f of ['test_data.mbp-10.dbn', 'test_data.trades.dbn']) {
    const r = await readDbn(fixture(f));
    expect(r.error).toBeUndefined();
    out.push(...toNormalizedEvents(r.records, r.metadata!, { underlying: 'SPY', symbolRoot: 'ES' }));
  }
  // merged order: ts, then the fixed schema rank (books before trades)
  return out.sort((a, b) => (a.ts_event_ns < b.ts_event_ns ? -1 : a.ts_event_ns > b.ts_event_ns ? 1 : 0));
}

describe('MBP-10 barrier on real Databento data', () => {
  it('reads the real cancel as pulled depth and the real SELL prints as passive bid volume', async () => {
    const evs = await esEvents();
    expect(evs.map((e) => e.schema)).toEqual(['futures.mbp10.v1', 'futures.mbp10.v1', 'futures.trades.v1', 'futures.trades.v1']);
    expect(evs.every((e) => e.schema !== 'futures.mbp10.v1' || (e.flags & DBN_FLAGS.F_LAST) !== 0)).toBe(true);
    const cfg = parseConfig({ barrier: { source: 'mbp10', zone_ticks: 2 } });
    const basis = new BasisEstimator(cfg.basis);
    const t0 = evs[0]!.ts_event_ns;
    basis.onSpyMid(372.0, t0);
    const e = new Mbp10BarrierEngine(cfg, basis);
    for (const ev of evs) e.onEvent(ev, { tNs: ev.ts_event_ns });
    // ES mid 3720.375 → basis 0.375; the SPY level mapping to 3720.00 is 371.9625
    expect(basis.basis).toBeCloseTo(0.375, 9);
    const level = { id: 'X', price: basis.toUnderlying(3720.0)!, kind: 'USER' as const };
    const tEnd = evs[evs.length - 1]!.ts_event_ns;
    const r = e.read(level, 'SUPPORT', tEnd);
    expect(r.caveats).toEqual([]);
    expect(r.added).toBe(0);
    expect(r.canceled + r.filled).toBe(1);
    expect(r.passive_volume).toBe(26);
    expect(r.defending).toEqual({ price: 3720.0, size: 24 + 30 + 32 + 39 }); // 3720.50 … 3719.50, bids 3720.25 … 3719.50
    expect(r.state).toBe('NEUTRAL');
    // the asks were untouched and no BUY prints happened
    const ask = e.read({ ...level, price: basis.toUnderlying(3720.75)! }, 'RESISTANCE', tEnd);
    expect(ask).toMatchObject({ added: 0, canceled: 0, filled: 0, passive_volume: 0 });
  });

  it('drives the snap engine (barrier.source = mbp10) to a payload with real ES flows', async () => {
    const es = await esEvents();
    const t0 = es[0]!.ts_event_ns;
    const spy = { ...quote(0, 371.95, 371.97), ts_event_ns: t0 - 1_000_000n, ts_recv_ns: t0 - 1_000_000n };
    // Close the tick that holds the last fixture record (runCore only closes ticks the events close).
    const tick = 250_000_000n;
    const end = ((es[es.length - 1]!.ts_event_ns + tick - 1n) / tick) * tick;
    const out = runCore(parseConfig({ barrier: { source: 'mbp10', zone_ticks: 2 }, levels: { hotzones: [371.93] } }), 'SPY', [spy, ...es], end);
    expect(out.length).toBeGreaterThan(0);
    const last = out[out.length - 1]!;
    const hz = last.levels.find((l) => l.id === 'HOTZONE_371.93')!;
    expect(hz.direction).toBe('SUPPORT');
    expect(hz.barrier.canceled + hz.barrier.filled).toBe(1);
    expect(hz.barrier.state).toBe('NEUTRAL');
  });
});
