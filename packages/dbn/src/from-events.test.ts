import { MarketSim, mulberry32, type FuturesMbp10, type FuturesTrade } from '@snap/core';
import { FLAGS, FuturesEventsToDbn, Mbp10Msg, TradeMsg, encodeDbn, esSimMetadata, readDbn, toNormalizedEvents } from './index';

const T0 = 1_768_487_400_000_000_000n;

function book(i: number, bids: [number, number][], asks: [number, number][]): FuturesMbp10 {
  const pad = <T>(xs: T[], fill: T) => [...xs, ...Array(10 - xs.length).fill(fill)];
  return {
    schema: 'futures.mbp10.v1', schema_version: 1, source: 'sim', ts_event_ns: T0 + BigInt(i) * 1000n, ts_recv_ns: T0 + BigInt(i) * 1000n + 300n,
    key: 'SPY', seq: BigInt(i), event_id: `e${i}`, symbol: 'ESH6',
    bid_px: pad(bids.map((b) => b[0]), NaN), bid_sz: pad(bids.map((b) => b[1]), 0), bid_ct: pad(bids.map((b) => Math.max(1, b[1] >> 2)), 0),
    ask_px: pad(asks.map((a) => a[0]), NaN), ask_sz: pad(asks.map((a) => a[1]), 0), ask_ct: pad(asks.map((a) => Math.max(1, a[1] >> 2)), 0),
    flags: FLAGS.F_LAST, is_snapshot: false,
  };
}

describe('FuturesEventsToDbn', () => {
  it('infers the MBP event from consecutive books: add, cancel, improving level, pulled level', () => {
    const conv = new FuturesEventsToDbn({ instrumentId: 7 });
    const first = conv.push(book(0, [[6000, 10], [5999.75, 20]], [[6000.25, 12], [6000.5, 30]])).mbp10;
    expect(first.map((r) => [r.action, r.flags])).toEqual([['R', FLAGS.F_SNAPSHOT], ['A', FLAGS.F_SNAPSHOT | FLAGS.F_LAST]]);
    const ev = (b: FuturesMbp10) => {
      const r = conv.push(b).mbp10[0]!;
      return [r.action, r.side, Number(r.price) / 1e9, r.size, r.depth];
    };
    expect(ev(book(1, [[6000, 10], [5999.75, 25]], [[6000.25, 12], [6000.5, 30]]))).toEqual(['A', 'B', 5999.75, 5, 1]);
    expect(ev(book(2, [[6000, 10], [5999.75, 25]], [[6000.25, 4], [6000.5, 30]]))).toEqual(['C', 'A', 6000.25, 8, 0]);
    // the best ask leaves entirely: depth 0 now shows 6000.50
    expect(ev(book(3, [[6000, 10], [5999.75, 25]], [[6000.5, 30]]))).toEqual(['C', 'A', 6000.25, 4, 0]);
    // a better bid arrives
    expect(ev(book(4, [[6000.25, 3], [6000, 10], [5999.75, 25]], [[6000.5, 30]]))).toEqual(['A', 'B', 6000.25, 3, 0]);
  });

  it('trades become trades-schema records and MBP-10 T records with the same sequence over the unchanged book', () => {
    const conv = new FuturesEventsToDbn({ instrumentId: 7 });
    conv.push(book(0, [[6000, 10]], [[6000.25, 12]]));
    const t: FuturesTrade = {
      schema: 'futures.trades.v1', schema_version: 1, source: 'sim', ts_event_ns: T0 + 5000n, ts_recv_ns: T0 + 5400n, key: 'SPY', seq: 1n,
      event_id: 't1', symbol: 'ESH6', price: 6000.25, size: 3, aggressor: 1, venue: 'GLBX',
    };
    const out = conv.push(t);
    expect(out.trades).toEqual([
      expect.objectContaining({ kind: 'trade', price: 6000250000000n, size: 3, side: 'B', action: 'T', ts_in_delta: 400, flags: FLAGS.F_LAST }),
    ]);
    expect(out.mbp10).toEqual([expect.objectContaining({ action: 'T', side: 'B', sequence: out.trades[0]!.sequence, price: 6000250000000n })]);
    expect(out.mbp10[0]!.levels[0]).toMatchObject({ bid_px: 6000000000000n, ask_px: 6000250000000n, bid_sz: 10, ask_sz: 12 });
  });

  it("core/sim MarketSim's ES events survive events → DBN files → decode → normalize", async () => {
    const sim = new MarketSim({ rng: mulberry32(11), startNs: T0, spot: 600.1 });
    const input: (FuturesMbp10 | FuturesTrade)[] = [];
    for (let i = 0; i < 300; i++) {
      sim.step(100);
      for (const e of sim.drain()) if (e.schema === 'futures.mbp10.v1' || e.schema === 'futures.trades.v1') input.push(e);
    }
    const books = input.filter((e): e is FuturesMbp10 => e.schema === 'futures.mbp10.v1');
    const trades = input.filter((e): e is FuturesTrade => e.schema === 'futures.trades.v1');
    expect(books.length).toBeGreaterThan(50);
    expect(trades.length).toBeGreaterThan(20);

    const conv = new FuturesEventsToDbn({ instrumentId: 42140878 });
    const mbp: Mbp10Msg[] = [];
    const trd: TradeMsg[] = [];
    for (const e of input) {
      const o = conv.push(e);
      mbp.push(...o.mbp10);
      trd.push(...o.trades);
    }
    const opts = { seed: 11, startNs: T0, durationNs: 30_000_000_000n };
    const mbpFile = await readDbn(encodeDbn(esSimMetadata(opts, 'mbp-10'), mbp));
    const trdFile = await readDbn(encodeDbn(esSimMetadata(opts, 'trades'), trd));
    const nopts = { underlying: 'SPY', symbolRoot: 'ES' };
    // Books at F_LAST after the snapshot pair are exactly the input books.
    const outBooks = toNormalizedEvents(mbpFile.records, mbpFile.metadata!, nopts).filter((e): e is FuturesMbp10 => e.schema === 'futures.mbp10.v1' && (e.flags & FLAGS.F_LAST) !== 0);
    const strip = (b: FuturesMbp10) => [b.ts_event_ns, b.ts_recv_ns, b.bid_px, b.bid_sz, b.bid_ct, b.ask_px, b.ask_sz, b.ask_ct];
    expect(outBooks.map(strip)).toEqual(books.map(strip));
    const outTrades = toNormalizedEvents(trdFile.records, trdFile.metadata!, nopts) as FuturesTrade[];
    const tstrip = (t: FuturesTrade) => [t.ts_event_ns, t.ts_recv_ns, t.price, t.size, t.aggressor];
    expect(outTrades.map(tstrip)).toEqual(trades.map(tstrip));
  });
});
