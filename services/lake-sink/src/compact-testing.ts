// Bronze fixtures for compaction tests (unit, integration, faults): rows as the sink stores them, written through the
// sink's own object planning and encoding (objects.ts), so a test lake looks exactly like one the sink wrote.
import type { SchemaName } from '@snap/platform';
import type { SignalRow } from '@snap/core';
import { GOLD_SIGNALS, datasetFor } from './datasets';
import type { ObjectStore } from './object-store';
import { encodeLakeObject, planWindowObjects, type LakeRecord } from './objects';

type Row = Record<string, unknown> & { ts_event_ns: bigint };

const envelope = (ts: bigint, eventId: string, key: string) => ({ ts_event_ns: ts, ts_recv_ns: ts + 1_000n, schema_version: 1, source: 'sim', key, seq: null, event_id: eventId });

export function bronzeStockTrade(i: number, ts: bigint, eventId = `st-${i}`, symbol = 'SPY'): Row {
  return { ...envelope(ts, eventId, symbol), symbol, price: 600 + i / 100, size: 100 + i, exchange: i % 2 ? null : 4, conditions: i % 3 ? [] : [12, 37] };
}

export function bronzeOptionTrade(i: number, ts: bigint, optionSymbol: string, eventId = `ot-${i}`, underlying = 'SPY'): Row {
  const strike = Number(optionSymbol.slice(-8)) / 1000;
  return {
    ...envelope(ts, eventId, underlying),
    underlying,
    option_symbol: optionSymbol,
    exp_date: '2026-01-06',
    strike,
    right: optionSymbol.charAt(optionSymbol.length - 9),
    price: 1 + i / 100,
    size: 1 + (i % 20),
    opt_bid: i % 2 ? null : 0.99 + i / 100,
    opt_ask: i % 2 ? null : 1.01 + i / 100,
    aggressor: (i % 3) - 1,
  };
}

export function bronzeGreeks(i: number, ts: bigint, optionSymbol: string, snapshotId: string, underlying = 'SPY'): Row {
  const strike = Number(optionSymbol.slice(-8)) / 1000;
  return {
    ...envelope(ts, `gk-${snapshotId}-${optionSymbol}`, underlying),
    underlying,
    option_symbol: optionSymbol,
    exp_date: '2026-01-06',
    strike,
    right: optionSymbol.charAt(optionSymbol.length - 9),
    delta: 0.5 - i / 1000,
    gamma: 0.05 + i / 10000,
    theta: -1,
    vega: 0.1,
    implied_volatility: 0.2,
    open_interest: null,
    last_quote_ts_ns: null,
    last_trade_ts_ns: null,
    snapshot_id: snapshotId,
  };
}

/** Writes `rows` (all of `schema`) as the sink would for one offset window of `topic`/`partition` starting at `windowStart`. Returns the keys. */
export async function writeBronzeWindow(store: ObjectStore, keyPrefix: string, schema: SchemaName, topic: string, partition: number, windowStart: bigint, rows: readonly Row[]): Promise<string[]> {
  const ds = datasetFor(schema, topic, ['bronze']);
  if (!ds) throw new Error(`${schema} has no Bronze dataset`);
  const records = rows.map((row, i) => ({ offset: windowStart + BigInt(i), row: { dataset: ds, row } as LakeRecord }));
  const w = { start: windowStart, end: windowStart + BigInt(rows.length), records, complete: true };
  const keys: string[] = [];
  for (const o of planWindowObjects(keyPrefix, topic, partition, w)) {
    await store.put(o.key, encodeLakeObject(o, topic, partition, windowStart));
    keys.push(o.key);
  }
  return keys;
}

/** Writes Gold signal rows as the sink would for one offset window of the signals topic. Returns the keys. */
export async function writeGoldWindow(store: ObjectStore, keyPrefix: string, topic: string, partition: number, windowStart: bigint, rows: readonly SignalRow[]): Promise<string[]> {
  const records = rows.map((row, i) => ({ offset: windowStart + BigInt(i), row: { dataset: GOLD_SIGNALS, row: row as unknown as Row } as LakeRecord }));
  const w = { start: windowStart, end: windowStart + BigInt(rows.length), records, complete: true };
  const keys: string[] = [];
  for (const o of planWindowObjects(keyPrefix, topic, partition, w)) {
    await store.put(o.key, encodeLakeObject(o, topic, partition, windowStart));
    keys.push(o.key);
  }
  return keys;
}
