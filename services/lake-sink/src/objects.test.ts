import * as arrow from 'apache-arrow';
import { readParquet } from 'parquet-wasm';
import type { SignalRow } from '@snap/core';
import { sampleSignalRow } from './testing';
import { GOLD_SIGNALS } from './datasets';
import { encodeLakeObject as encodeGoldObject, goldObjectKey, padOffset, partObjectName, planWindowObjects } from './objects';

const row = (i: number, tsNs: bigint, underlying = 'SPY'): SignalRow => sampleSignalRow(i, tsNs, { underlying });
const gold = (offset: bigint, r: SignalRow) => ({ offset, row: { dataset: GOLD_SIGNALS, row: r as SignalRow & Record<string, unknown> } });
// 2026-01-02T14:59:59.750Z and the next tick, in the next hour
const T0 = BigInt(Date.UTC(2026, 0, 2, 14, 59, 59, 750)) * 1_000_000n;
const T1 = T0 + 250_000_000n;

describe('object naming', () => {
  it('pads offsets to 20 digits so names sort in offset order', () => {
    expect(padOffset(0n)).toBe('00000000000000000000');
    expect(padOffset(9223372036854775807n)).toBe('09223372036854775807');
    expect(partObjectName('t1.levels.signals.v1', 3, 1200n)).toBe('part-t1.levels.signals.v1-p3-o00000000000000001200.parquet');
  });

  it('follows the §2.3 Hive layout by underlying, UTC date and hour', () => {
    expect(goldObjectKey('env/', 'QQQ', T0, 'levels.signals.v1', 0, 0n)).toBe(
      'env/gold/levels/signals/underlying=QQQ/date=2026-01-02/hour=14/part-levels.signals.v1-p0-o00000000000000000000.parquet',
    );
  });

  it('refuses a topic name that is not a Kafka topic name (it would escape the key layout)', () => {
    expect(() => partObjectName('../x', 0, 0n)).toThrow(RangeError);
  });
});

describe('planWindowObjects', () => {
  it('splits a window by underlying and hour, sorts rows by ts_event_ns keeping offset order within a tick', () => {
    const recs = [
      gold(100n, row(0, T1)), // out of ts order on purpose: a later offset may not carry a later time across underlyings
      gold(101n, row(1, T0)),
      gold(102n, row(2, T0)),
      gold(103n, row(3, T0, 'IWM')),
      gold(104n, row(4, T1)),
    ];
    const objs = planWindowObjects('', 'sig', 2, { start: 100n, end: 110n, records: recs, complete: true });
    expect(objs.map((o) => [o.key, o.rows.map((r) => (r as unknown as SignalRow).level_id), o.firstOffset, o.lastOffset])).toEqual([
      ['gold/levels/signals/underlying=IWM/date=2026-01-02/hour=14/part-sig-p2-o00000000000000000100.parquet', ['STRIKE_600_3'], 103n, 103n],
      ['gold/levels/signals/underlying=SPY/date=2026-01-02/hour=14/part-sig-p2-o00000000000000000100.parquet', ['STRIKE_600_1', 'STRIKE_600_2'], 101n, 102n],
      ['gold/levels/signals/underlying=SPY/date=2026-01-02/hour=15/part-sig-p2-o00000000000000000100.parquet', ['STRIKE_600_0', 'STRIKE_600_4'], 100n, 104n],
    ]);
  });

  it('encodes ZSTD Parquet that reads back to the same rows, byte-identical on a rewrite', () => {
    const recs = [0, 1, 2, 3].map((i) => gold(BigInt(i), row(i, T0 + BigInt(i))));
    const [obj] = planWindowObjects('', 'sig', 0, { start: 0n, end: 10n, records: recs, complete: true });
    const a = encodeGoldObject(obj!, 'sig', 0, 0n);
    const b = encodeGoldObject(planWindowObjects('', 'sig', 0, { start: 0n, end: 10n, records: recs, complete: false })[0]!, 'sig', 0, 0n);
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
    for (let k = 0; k < 5; k++) expect(Buffer.from(encodeGoldObject(obj!, 'sig', 0, 0n)).equals(Buffer.from(a))).toBe(true);
    const table = arrow.tableFromIPC(readParquet(a).intoIPCStream());
    expect(table.numRows).toBe(4);
    const got = table.toArray().map((r) => r.toJSON() as Record<string, unknown>);
    expect(got.map((r) => r.ts_event_ns)).toEqual(recs.map((r) => r.row.row.ts_event_ns));
    expect(got.map((r) => r.level_id)).toEqual(recs.map((r) => r.row.row.level_id));
    expect(got[1]!.fuel_call_wall).toBeNull();
    expect(got[0]!.note).toBe(recs[0]!.row.row.note);
  });
});
