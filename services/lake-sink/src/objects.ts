// What a window of records becomes: one ZSTD Parquet object per (dataset, Hive partition, date[, hour]) (plan §2.3),
// named after topic / partition / window start so a retried flush overwrites the same object. Pure: no I/O.
import { encodeParquet, partitionOf, rowsToArrowTable } from '@snap/platform';
import { GOLD_SIGNALS, hiveValue, type LakeDataset } from './datasets';
import type { WindowRows } from './windows';

/** Offsets are zero-padded to 20 digits (int64 max has 19) so a listing sorts object names in offset order. */
export const padOffset = (offset: bigint): string => offset.toString().padStart(20, '0');

/** `part-<topic>-p<P>-o<windowStart>.parquet` */
export function partObjectName(topic: string, partition: number, windowStart: bigint): string {
  if (!/^[A-Za-z0-9._-]+$/.test(topic)) throw new RangeError(`topic name ${JSON.stringify(topic)} is not a legal Kafka topic name`);
  return `part-${topic}-p${partition}-o${padOffset(windowStart)}.parquet`;
}

/** `<keyPrefix><dataset path>/<partition path>/date=<YYYY-MM-DD>[/hour=<HH>]/<part name>` */
export function objectKey(keyPrefix: string, ds: LakeDataset, partitionPath: string, tsNs: bigint, topic: string, partition: number, windowStart: bigint): string {
  const { date, hour } = partitionOf(tsNs);
  return `${keyPrefix}${ds.path}/${partitionPath}/date=${date}/${ds.hourly ? `hour=${hour}/` : ''}${partObjectName(topic, partition, windowStart)}`;
}

/** `<keyPrefix>gold/levels/signals/underlying=<U>/date=<YYYY-MM-DD>/hour=<HH>/<part name>` */
export function goldObjectKey(keyPrefix: string, underlying: string, tsNs: bigint, topic: string, partition: number, windowStart: bigint): string {
  return objectKey(keyPrefix, GOLD_SIGNALS, `underlying=${hiveValue(underlying)}`, tsNs, topic, partition, windowStart);
}

/** A record of a window, already mapped to its dataset and row. */
export interface LakeRecord {
  dataset: LakeDataset;
  row: Record<string, unknown> & { ts_event_ns: bigint };
}

export interface PlannedObject {
  key: string;
  dataset: LakeDataset;
  /** Rows sorted by ts_event_ns (stable: offset order within equal times). */
  rows: (Record<string, unknown> & { ts_event_ns: bigint })[];
  firstOffset: bigint;
  lastOffset: bigint;
}

const NS_PER_HOUR = 3_600_000_000_000n;
const NS_PER_DAY = 24n * NS_PER_HOUR;

const byTs = (a: { ts_event_ns: bigint }, b: { ts_event_ns: bigint }) => (a.ts_event_ns < b.ts_event_ns ? -1 : a.ts_event_ns > b.ts_event_ns ? 1 : 0);

/** Splits a window's records by dataset and Hive partition. Output order: by key. */
export function planWindowObjects(keyPrefix: string, topic: string, partition: number, w: WindowRows<LakeRecord>): PlannedObject[] {
  const groups = new Map<string, PlannedObject>();
  // Per dataset (by path: the lake sink maps each record to a fresh dataset object), the last key and the UTC hour
  // (or day) of event time it holds for: a stream's records mostly share it (its heartbeats, another dataset,
  // interleave), and a key costs a Date, an ISO string and a name check.
  const lastKeys = new Map<string, { path: string; key: string; from: bigint; to: bigint }>();
  for (const { offset, row: rec } of w.records) {
    const path = rec.dataset.partitionPath(rec.row);
    const ts = rec.row.ts_event_ns;
    let last = lastKeys.get(rec.dataset.path);
    if (last === undefined || path !== last.path || !(ts >= last.from && ts < last.to)) {
      // Only for times ≥ 0, where whole hours (days) of ns since the epoch are the UTC hours (dates) of partitionOf.
      const span = rec.dataset.hourly ? NS_PER_HOUR : NS_PER_DAY;
      const from = ts >= 0n ? ts - (ts % span) : 0n;
      last = { path, key: objectKey(keyPrefix, rec.dataset, path, ts, topic, partition, w.start), from, to: ts >= 0n ? from + span : 0n };
      lastKeys.set(rec.dataset.path, last);
    }
    const key = last.key;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { key, dataset: rec.dataset, rows: [], firstOffset: offset, lastOffset: offset }));
    g.rows.push(rec.row);
    g.lastOffset = offset;
  }
  // Array.prototype.sort is stable, so rows of one tick keep their offset (level) order.
  for (const g of groups.values()) g.rows.sort(byTs);
  return [...groups.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/**
 * Parquet bytes of one planned object. Footer metadata names the source range; it depends only on the rows, never
 * on the wall clock, so rewriting a window gives byte-identical objects. It is ONE key holding a JSON object:
 * parquet-wasm passes key/value metadata through a Rust HashMap, so with several keys their order in the footer
 * (and so the bytes) changes from call to call (measured: 4 distinct outputs of 5 encodes with 3 keys).
 */
export function encodeLakeObject(obj: PlannedObject, topic: string, partition: number, windowStart: bigint): Uint8Array {
  const table = rowsToArrowTable(obj.dataset.columns, obj.rows);
  const dict = obj.dataset.columns.filter((c) => c.type === 'dict_utf8').map((c) => c.name);
  const source = {
    schema: obj.dataset.schemaName,
    topic,
    partition,
    window_start: windowStart.toString(),
    first_offset: obj.firstOffset.toString(),
    last_offset: obj.lastOffset.toString(),
  };
  return encodeParquet(table, dict, { codec: 'ZSTD', metadata: { source: JSON.stringify(source) } });
}
