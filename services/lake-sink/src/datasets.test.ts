import * as arrow from 'apache-arrow';
import { readParquet } from 'parquet-wasm';
import type { InputEvent } from '@snap/core';
import { toRecord, type SchemaName } from '@snap/platform';
import { sampleValue } from '../../../packages/platform/src/envelope-samples';
import { BRONZE_SCHEMAS, BronzeRowError, GOLD_SIGNALS, datasetFor, hiveValue } from './datasets';
import { encodeLakeObject, planWindowObjects } from './objects';
import { sampleSignalRow } from './testing';

const wire = (s: SchemaName, i: number): Record<string, unknown> => {
  const v = sampleValue(s, i) as unknown as Record<string, unknown>;
  return 'schema' in v ? (toRecord(v as unknown as InputEvent) as unknown as Record<string, unknown>) : v;
};

const readBack = (bytes: Uint8Array) => arrow.tableFromIPC(readParquet(bytes).intoIPCStream());

describe('datasetFor', () => {
  it('maps signals to Gold and input schemas to the §2.3 Bronze paths, only for the tiers asked', () => {
    expect(datasetFor('levels.signals.v1', 'levels.signals.v1', ['gold'])).toBe(GOLD_SIGNALS);
    expect(datasetFor('levels.signals.v1', 'levels.signals.v1', ['bronze'])).toBeNull();
    expect(datasetFor('stocks.trades.v1', 'stocks.trades.v1', ['gold'])).toBeNull();
    expect(datasetFor('deadletter.v1', 'snap.deadletter.v1', ['gold', 'bronze'])).toBeNull();
    const paths = Object.fromEntries(BRONZE_SCHEMAS.map((s) => [s, datasetFor(s, s, ['bronze'])!.path]));
    expect(paths).toEqual({
      'stocks.trades.v1': 'bronze/stocks/trades',
      'stocks.quotes.v1': 'bronze/stocks/quotes',
      'options.trades.v1': 'bronze/options/trades',
      'options.greeks_snapshots.v1': 'bronze/options/greeks_snapshots',
      'futures.trades.v1': 'bronze/futures/trades',
      'futures.mbp10.v1': 'bronze/futures/mbp10',
      'heartbeat.v1': 'bronze/heartbeats',
    });
    expect(datasetFor('options.greeks_snapshots.v1', 'options.greeks_snapshots.v1', ['bronze'])!.hourly).toBe(false);
  });

  it('escapes partition values so a symbol never adds a directory', () => {
    expect(hiveValue('SPY')).toBe('SPY');
    expect(hiveValue('ES H6/x=1')).toBe('ES%20H6%2Fx%3D1');
    expect(hiveValue('')).toBe('__HIVE_DEFAULT_PARTITION__');
  });

  it('files heartbeats per input stream and key', () => {
    const ds = datasetFor('heartbeat.v1', 'stocks.quotes.v1', ['bronze'])!;
    expect(ds.partitionPath(ds.toRow(wire('heartbeat.v1', 0)))).toBe('stream=stocks.quotes.v1/key=SPY');
  });

  it.each(BRONZE_SCHEMAS)('%s: rows encode to ZSTD Parquet and read back field for field', (s) => {
    const ds = datasetFor(s, s, ['bronze'])!;
    const records = [0, 1, 2].map((i) => ({ offset: BigInt(i), row: { dataset: ds, row: ds.toRow(wire(s, i)) } }));
    const [obj] = planWindowObjects('', s, 0, { start: 0n, end: 10n, records, complete: true });
    const table = readBack(encodeLakeObject(obj!, s, 0, 0n));
    expect(table.schema.fields.map((f) => f.name)).toEqual(ds.columns.map((c) => c.name));
    const got = table.toArray().map((r) => r.toJSON() as Record<string, unknown>);
    got.forEach((g, i) => {
      const w = wire(s, i);
      expect(g.ts_event_ns).toBe(w.ts_event_ns);
      expect(g.seq).toBe(w.seq);
      expect(g.event_id).toBe(w.event_id);
      if (s === 'futures.mbp10.v1') {
        const bidPx = w.bid_px as number[];
        expect(Array.from({ length: 10 }, (_, k) => g[`bid_px_${k + 1}`])).toEqual(bidPx);
        expect(Array.from({ length: 10 }, (_, k) => g[`ask_ct_${k + 1}`])).toEqual(w.ask_ct);
      } else if (s === 'stocks.trades.v1') {
        expect(Array.from(g.conditions as Iterable<number>)).toEqual(w.conditions);
        expect(g.exchange).toBe(w.exchange);
      } else {
        for (const c of ds.columns) if (!['conditions'].includes(c.name)) expect([c.name, g[c.name]]).toEqual([c.name, w[c.name]]);
      }
    });
  });

  it('refuses a value that §2.4 types cannot hold, naming the field', () => {
    const ds = datasetFor('stocks.trades.v1', 'stocks.trades.v1', ['bronze'])!;
    expect(() => ds.toRow({ ...wire('stocks.trades.v1', 0), conditions: [70_000] })).toThrow(expect.objectContaining({ name: 'BronzeRowError', field: 'conditions' }));
    const mbp = datasetFor('futures.mbp10.v1', 'futures.mbp10.v1', ['bronze'])!;
    const w = wire('futures.mbp10.v1', 0);
    expect(() => mbp.toRow({ ...w, bid_px: [...(w.bid_px as number[]), 1] })).toThrow(BronzeRowError);
  });

  it('Gold rows are the SignalRow itself', () => {
    const r = sampleSignalRow(3, 5n);
    expect(GOLD_SIGNALS.toRow({ schema_name: 'levels.signals.v1', schema_version: 1, source: 'replay', ts_recv_ns: 1n, key: 'SPY', seq: null, event_id: 'e', ...r })).toEqual(r);
  });
});
