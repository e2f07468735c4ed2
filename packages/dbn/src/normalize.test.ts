import { makeEventId } from '@snap/core';
import { DbnNormalizer, DbnRecord, FLAGS, Mbp10Msg, UNDEF_PRICE, aggressorOf, readDbn, toNormalizedEvents } from './index';
import { fixture } from './test-fixtures';

const OPTS = { underlying: 'SPY', symbolRoot: 'ES' };

describe('toNormalizedEvents on the real fixtures', () => {
  it('MBP-10 records → futures.mbp10.v1 books with the mapped symbol, flags and exact levels', async () => {
    const { metadata, records } = await readDbn(fixture('test_data.mbp-10.v3.dbn.zst'));
    const events = toNormalizedEvents(records, metadata!, OPTS);
    expect(events).toHaveLength(2);
    const e = events[0]!;
    if (e.schema !== 'futures.mbp10.v1') throw new Error('expected a book');
    expect(e).toMatchObject({
      schema_version: 1,
      source: 'databento',
      key: 'SPY',
      symbol: 'ESH1', // metadata mapping: ESH1 → instrument 5482
      ts_event_ns: 1609160400000429831n,
      ts_recv_ns: 1609160400000704060n,
      seq: 1170352n,
      flags: 0x80,
      is_snapshot: false,
    });
    expect(e.bid_px).toEqual([3720.25, 3720, 3719.75, 3719.5, 3719.25, 3719, 3718.75, 3718.5, 3718.25, 3718]);
    expect(e.ask_px).toEqual([3720.5, 3720.75, 3721, 3721.25, 3721.5, 3721.75, 3722, 3722.25, 3722.5, 3722.75]);
    expect(e.bid_sz[0]).toBe(24);
    expect(e.ask_sz[9]).toBe(44);
    expect(e.bid_ct[1]).toBe(18);
    expect(e.event_id).toBe(
      makeEventId({ source: 'databento', ts_event_ns: 1609160400000429831n, symbol: 'ESH1', price: 3722.75, size: 1, exchange: '10:C:A', seq: 1170352 }),
    );
    expect(events[1]!.event_id).not.toBe(e.event_id);
  });

  it('trades → futures.trades.v1 with side A as a sell aggressor', async () => {
    const { metadata, records } = await readDbn(fixture('test_data.trades.dbn'));
    const events = toNormalizedEvents(records, metadata!, OPTS);
    expect(events).toEqual([
      expect.objectContaining({ schema: 'futures.trades.v1', symbol: 'ESH1', price: 3720.25, size: 5, aggressor: -1, venue: 'GLBX', seq: 1170380n, ts_recv_ns: 1609160400099150057n }),
      expect.objectContaining({ schema: 'futures.trades.v1', price: 3720.25, size: 21, aggressor: -1, seq: 1170414n, ts_event_ns: 1609160400107665963n }),
    ]);
  });

  it('TBBO records are trades; MBP-1 records are one-level books', async () => {
    const tbbo = await readDbn(fixture('test_data.tbbo.v2.dbn.zst'));
    const t = toNormalizedEvents(tbbo.records, tbbo.metadata!, OPTS);
    expect(t.map((e) => e.schema)).toEqual(['futures.trades.v1', 'futures.trades.v1']);
    const mbp1 = await readDbn(fixture('test_data.mbp-1.dbn'));
    const b = toNormalizedEvents(mbp1.records, mbp1.metadata!, OPTS);
    expect(b[0]).toMatchObject({ schema: 'futures.mbp10.v1', bid_px: [3720.25], ask_px: [3720.5], bid_sz: [24], ask_sz: [11] });
  });
});

describe('normalization rules', () => {
  const base = async () => (await readDbn(fixture('test_data.mbp-10.dbn'))) as { metadata: NonNullable<Awaited<ReturnType<typeof readDbn>>['metadata']>; records: DbnRecord[] };

  it('aggressor: A → -1, B → +1, N → 0', () => {
    expect([aggressorOf('A'), aggressorOf('B'), aggressorOf('N')]).toEqual([-1, 1, 0]);
  });

  it('absent levels (i64::MAX) become NaN price with size 0; F_SNAPSHOT sets is_snapshot', async () => {
    const { metadata, records } = await base();
    const rec = structuredClone(records[0]) as Mbp10Msg;
    rec.levels[7] = { bid_px: UNDEF_PRICE, ask_px: UNDEF_PRICE, bid_sz: 5, ask_sz: 6, bid_ct: 1, ask_ct: 1 };
    rec.flags = FLAGS.F_SNAPSHOT | FLAGS.F_LAST;
    const [e] = toNormalizedEvents([rec], metadata, OPTS);
    if (e!.schema !== 'futures.mbp10.v1') throw new Error('expected a book');
    expect(e!.bid_px[7]).toBeNaN();
    expect(e!.ask_px[7]).toBeNaN();
    expect([e!.bid_sz[7], e!.ask_sz[7], e!.bid_ct[7], e!.ask_ct[7]]).toEqual([0, 0, 0, 0]);
    expect(e!.is_snapshot).toBe(true);
    expect(e!.flags).toBe(0xa0);
  });

  it('trade actions inside MBP-10 become trades only with tradesFromMbp', async () => {
    const { metadata, records } = await base();
    const rec = { ...(records[0] as Mbp10Msg), action: 'T', side: 'B' };
    expect(toNormalizedEvents([rec], metadata, OPTS).map((e) => e.schema)).toEqual(['futures.mbp10.v1']);
    const both = toNormalizedEvents([rec], metadata, { ...OPTS, tradesFromMbp: true });
    expect(both.map((e) => e.schema)).toEqual(['futures.mbp10.v1', 'futures.trades.v1']);
    expect(both[1]).toMatchObject({ aggressor: 1, price: 3722.75, size: 1 });
  });

  it('unmapped instruments use the symbol root; in-stream SymbolMapping records name the contract', async () => {
    const { metadata, records } = await base();
    const other = { ...(records[0] as Mbp10Msg), instrument_id: 999 };
    const n = new DbnNormalizer(metadata, OPTS);
    expect((n.push(other)[0] as { symbol: string }).symbol).toBe('ES');
    n.push({ kind: 'symbol_mapping', rtype: 0x16, publisher_id: 1, instrument_id: 999, ts_event: 0n, stype_in: 3, stype_in_symbol: 'ES.c.0', stype_out: 1, stype_out_symbol: 'ESH6', start_ts: 0n, end_ts: 0n });
    expect((n.push(other)[0] as { symbol: string }).symbol).toBe('ESH6');
  });
});
