// Which lake dataset a decoded record belongs to (plan §2.3 layout, §2.4 columns): the Gold signals table and the
// Bronze input tables. Bronze is "near-raw": every envelope field except the constant schema_name, plus the payload;
// MBP-10's depth arrays are flattened into bid_px_1..10 etc. as §2.4 lists them. Heartbeats are not market data,
// but a replay from Bronze needs them to advance event time exactly as the log did, so they land in their own
// dataset, per input stream. Pure: no I/O.
import type { SignalRow } from '@snap/core';
import { SIGNAL_ROW_COLUMNS, recordToSignalRow, type ColumnSpec, type RecordBySchema, type SchemaName, type SignalRecord } from '@snap/platform';

export type LakeTier = 'gold' | 'bronze';

export interface LakeDataset {
  schemaName: SchemaName;
  tier: LakeTier;
  /** e.g. `gold/levels/signals`, `bronze/stocks/trades`. */
  path: string;
  /** Hive partition directories above date/hour, e.g. `underlying=SPY` or `stream=stocks.trades.v1/key=SPY`. */
  partitionPath(row: Record<string, unknown>): string;
  /** hour=HH under date= (false: daily, e.g. greeks snapshots). */
  hourly: boolean;
  columns: readonly ColumnSpec[];
  /** Decoded Avro value → the row written (throws BronzeRowError when a value cannot be stored faithfully). */
  toRow(value: unknown): Record<string, unknown> & { ts_event_ns: bigint };
}

export class BronzeRowError extends Error {
  constructor(
    message: string,
    readonly schemaName: string,
    readonly field: string,
  ) {
    super(message);
    this.name = 'BronzeRowError';
  }
}

/** Hive partition value: characters outside [A-Za-z0-9._-] are %XX-escaped, as Hive does, so a value never adds a directory. */
export function hiveValue(v: string): string {
  if (v === '') return '__HIVE_DEFAULT_PARTITION__';
  // The usual value (a symbol, a key) needs no escape: returned as it is, without a regular expression per record.
  let plain = true;
  for (let i = 0; i < v.length && plain; i++) {
    const c = v.charCodeAt(i);
    plain = (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 46 || c === 95 || c === 45;
  }
  if (plain) return v;
  return v.replace(/[^A-Za-z0-9._-]/g, (c) =>
    [...Buffer.from(c, 'utf8')].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join(''),
  );
}

export const ENVELOPE_COLUMNS: readonly ColumnSpec[] = [
  { name: 'ts_event_ns', type: 'int64' },
  { name: 'ts_recv_ns', type: 'int64' },
  { name: 'schema_version', type: 'int32' },
  { name: 'source', type: 'dict_utf8' },
  { name: 'key', type: 'dict_utf8' },
  { name: 'seq', type: 'int64', nullable: true },
  { name: 'event_id', type: 'utf8' },
];

const col = (name: string, type: ColumnSpec['type'], nullable = false): ColumnSpec => (nullable ? { name, type, nullable } : { name, type });
/** MBP-10's depth arrays, in the order their flattened columns follow `symbol` in Bronze (§2.4). */
export const MBP10_DEPTH_ARRAYS = ['bid_px', 'bid_sz', 'bid_ct', 'ask_px', 'ask_sz', 'ask_ct'] as const;
/** The Bronze column holding level `level` (0-based) of a depth array: bid_px_1 … ask_ct_10. */
export const mbp10DepthColumn = (array: (typeof MBP10_DEPTH_ARRAYS)[number], level: number): string => `${array}_${level + 1}`;
/** What an absent level holds (the events.ts convention): price NaN, size/count 0. */
const absentLevel = (array: (typeof MBP10_DEPTH_ARRAYS)[number]): string => (array.endsWith('_px') ? 'NaN' : '0');
const depth = (array: (typeof MBP10_DEPTH_ARRAYS)[number]): ColumnSpec[] =>
  Array.from({ length: 10 }, (_, i) => col(mbp10DepthColumn(array, i), array.endsWith('_px') ? 'float64' : 'int32'));

export const PAYLOAD_COLUMNS = {
  'stocks.trades.v1': [col('symbol', 'dict_utf8'), col('price', 'float64'), col('size', 'int32'), col('exchange', 'int16', true), col('conditions', 'list_int16')],
  'stocks.quotes.v1': [
    col('symbol', 'dict_utf8'),
    col('bid_px', 'float64'),
    col('ask_px', 'float64'),
    col('bid_sz', 'int32'),
    col('ask_sz', 'int32'),
    col('bid_exch', 'int16', true),
    col('ask_exch', 'int16', true),
  ],
  'options.trades.v1': [
    col('underlying', 'dict_utf8'),
    col('option_symbol', 'utf8'),
    col('exp_date', 'dict_utf8'),
    col('strike', 'float64'),
    col('right', 'dict_utf8'),
    col('price', 'float64'),
    col('size', 'int32'),
    col('opt_bid', 'float64', true),
    col('opt_ask', 'float64', true),
    col('aggressor', 'int8'),
  ],
  'options.greeks_snapshots.v1': [
    col('underlying', 'dict_utf8'),
    col('option_symbol', 'utf8'),
    col('exp_date', 'dict_utf8'),
    col('strike', 'float64'),
    col('right', 'dict_utf8'),
    col('delta', 'float64'),
    col('gamma', 'float64'),
    col('theta', 'float64'),
    col('vega', 'float64'),
    col('implied_volatility', 'float64', true),
    col('open_interest', 'float64', true),
    col('last_quote_ts_ns', 'int64', true),
    col('last_trade_ts_ns', 'int64', true),
    col('snapshot_id', 'dict_utf8'),
  ],
  'futures.trades.v1': [col('symbol', 'dict_utf8'), col('price', 'float64'), col('size', 'int32'), col('aggressor', 'int8'), col('venue', 'dict_utf8', true)],
  'futures.mbp10.v1': [
    col('symbol', 'dict_utf8'),
    ...MBP10_DEPTH_ARRAYS.flatMap(depth),
    col('flags', 'int32'),
    col('is_snapshot', 'bool'),
  ],
  'heartbeat.v1': [],
} as const satisfies Partial<Record<SchemaName, readonly ColumnSpec[]>>;

/** Every flattened MBP-10 depth column name. */
export const MBP10_DEPTH_COLUMNS: ReadonlySet<string> = new Set(MBP10_DEPTH_ARRAYS.flatMap((a) => Array.from({ length: 10 }, (_, i) => mbp10DepthColumn(a, i))));

export type BronzeSchema = keyof typeof PAYLOAD_COLUMNS;
export const BRONZE_SCHEMAS = Object.keys(PAYLOAD_COLUMNS) as BronzeSchema[];

const INT16 = (v: number) => Number.isInteger(v) && v >= -32768 && v <= 32767;

/**
 * Wire record (envelope + payload) → Bronze row. A row is read by its columns' names only (rowsToArrowTable, the
 * object plan's partition and time) and never written to, so a record that needs no reshaping is its own row: the
 * wire's schema_name, which no column names, is never read, and the per-record copy that dropped it is saved (with
 * every window held until its flush, those copies were most of an embedded run's collector time). An MBP-10 row is a
 * view that reads the depth arrays as the flattened columns (mbp10Row).
 */
function bronzeRow(schemaName: BronzeSchema, value: unknown): Record<string, unknown> & { ts_event_ns: bigint } {
  if (schemaName === 'futures.mbp10.v1') {
    const m = value as RecordBySchema['futures.mbp10.v1'];
    for (const a of MBP10_DEPTH_ARRAYS) if (m[a].length > 10) throw new BronzeRowError(`${a} has ${m[a].length} levels, Bronze keeps 10`, schemaName, a);
    return mbp10Row(m);
  }
  if (schemaName === 'stocks.trades.v1') {
    const t = value as RecordBySchema['stocks.trades.v1'];
    if (!t.conditions.every(INT16)) throw new BronzeRowError(`conditions ${JSON.stringify(t.conditions)} do not fit list<int16> (§2.4)`, schemaName, 'conditions');
    if (t.exchange !== null && !INT16(t.exchange)) throw new BronzeRowError(`exchange ${t.exchange} does not fit int16`, schemaName, 'exchange');
  }
  if (schemaName === 'stocks.quotes.v1') {
    const q = value as RecordBySchema['stocks.quotes.v1'];
    for (const f of ['bid_exch', 'ask_exch'] as const) if (q[f] !== null && !INT16(q[f]!)) throw new BronzeRowError(`${f} ${q[f]} does not fit int16`, schemaName, f);
  }
  return value as Record<string, unknown> & { ts_event_ns: bigint };
}

/**
 * An MBP-10 record's Bronze row: a view of the record whose columns are getters, the depth arrays read as bid_px_1..10
 * etc. (absent levels: price NaN, size/count 0, the events.ts convention). A row is read, never enumerated or
 * written, and a window holds its rows until it is written: flattened into 60 fields, each row held 60 boxed
 * doubles (a fifth of an embedded run's heap at the close, marked by every full collection). Compiled once from the
 * static column list.
 */
const mbp10Row = ((): ((v: RecordBySchema['futures.mbp10.v1']) => Record<string, unknown> & { ts_event_ns: bigint }) => {
  const getters = [...ENVELOPE_COLUMNS, ...PAYLOAD_COLUMNS['futures.mbp10.v1']]
    .filter(({ name }) => !MBP10_DEPTH_COLUMNS.has(name))
    .map(({ name }) => `get ${JSON.stringify(name)}() { return this.v[${JSON.stringify(name)}]; }`);
  for (const a of MBP10_DEPTH_ARRAYS) {
    for (let i = 0; i < 10; i++) getters.push(`get ${JSON.stringify(mbp10DepthColumn(a, i))}() { return this.v.${a}[${i}] ?? ${absentLevel(a)}; }`);
  }
  const Row = new Function(`return class Mbp10BronzeRow { constructor(v) { this.v = v; } ${getters.join(' ')} };`)() as new (v: unknown) => Record<string, unknown> & { ts_event_ns: bigint };
  return (v) => new Row(v);
})();

const BRONZE_PATHS: Record<BronzeSchema, { path: string; partition: (r: Record<string, unknown>) => string; hourly: boolean }> = {
  'stocks.trades.v1': { path: 'bronze/stocks/trades', partition: (r) => `symbol=${hiveValue(String(r.symbol))}`, hourly: true },
  'stocks.quotes.v1': { path: 'bronze/stocks/quotes', partition: (r) => `symbol=${hiveValue(String(r.symbol))}`, hourly: true },
  'options.trades.v1': { path: 'bronze/options/trades', partition: (r) => `underlying=${hiveValue(String(r.underlying))}`, hourly: true },
  'options.greeks_snapshots.v1': { path: 'bronze/options/greeks_snapshots', partition: (r) => `underlying=${hiveValue(String(r.underlying))}`, hourly: false },
  'futures.trades.v1': { path: 'bronze/futures/trades', partition: (r) => `symbol=${hiveValue(String(r.symbol))}`, hourly: true },
  'futures.mbp10.v1': { path: 'bronze/futures/mbp10', partition: (r) => `symbol=${hiveValue(String(r.symbol))}`, hourly: true },
  // Filled in per stream by bronzeDataset (a heartbeat's stream is its topic).
  'heartbeat.v1': { path: 'bronze/heartbeats', partition: (r) => `key=${hiveValue(String(r.key))}`, hourly: true },
};

export const GOLD_SIGNALS: LakeDataset = {
  schemaName: 'levels.signals.v1',
  tier: 'gold',
  path: 'gold/levels/signals',
  partitionPath: (r) => `underlying=${hiveValue(String(r.underlying))}`,
  hourly: true,
  columns: SIGNAL_ROW_COLUMNS,
  toRow: (v) => recordToSignalRow(v as SignalRecord) as SignalRow & Record<string, unknown>,
};

/**
 * The dataset of a record of `schemaName` read from the topic with base name `topicBase` (no prefix), or null when
 * it is not written to the lake (deadletter, enriched trades until Silver exists).
 */
export function datasetFor(schemaName: SchemaName, topicBase: string, tiers: readonly LakeTier[]): LakeDataset | null {
  if (schemaName === 'levels.signals.v1') return tiers.includes('gold') ? GOLD_SIGNALS : null;
  if (!tiers.includes('bronze') || !(schemaName in PAYLOAD_COLUMNS)) return null;
  const s = schemaName as BronzeSchema;
  const p = BRONZE_PATHS[s];
  const partition = s === 'heartbeat.v1' ? (r: Record<string, unknown>) => `stream=${hiveValue(topicBase)}/${p.partition(r)}` : p.partition;
  return { schemaName, tier: 'bronze', path: p.path, partitionPath: partition, hourly: p.hourly, columns: [...ENVELOPE_COLUMNS, ...PAYLOAD_COLUMNS[s]], toRow: (v) => bronzeRow(s, v) };
}

/** A Bronze table as the compaction sees it: where its objects live (below the key prefix) and their columns. */
export interface BronzeTable {
  schemaName: BronzeSchema;
  /** e.g. `bronze/stocks/trades`; heartbeats: `bronze/heartbeats` (stream=<topic>/key=<K> below it). */
  path: string;
  hourly: boolean;
  columns: readonly ColumnSpec[];
}

export const BRONZE_TABLES: readonly BronzeTable[] = BRONZE_SCHEMAS.map((s) => ({
  schemaName: s,
  path: BRONZE_PATHS[s].path,
  hourly: BRONZE_PATHS[s].hourly,
  columns: [...ENVELOPE_COLUMNS, ...PAYLOAD_COLUMNS[s]],
}));

/**
 * A row's estimated uncompressed size in a Parquet column chunk, for lake.max_file_bytes: fixed widths, string
 * lengths (categorical strings count 1: they are dictionary-encoded). A function of the row only, so the window
 * cuts it drives are the same on every attempt.
 */
export function estimateRowBytes(columns: readonly ColumnSpec[], row: Record<string, unknown>): number {
  let n = 0;
  for (const c of columns) {
    switch (c.type) {
      case 'int64':
      case 'float64':
        n += 8;
        break;
      case 'int32':
        n += 4;
        break;
      case 'int16':
        n += 2;
        break;
      case 'int8':
      case 'bool':
      case 'dict_utf8':
        n += 1;
        break;
      case 'utf8': {
        const v = row[c.name];
        n += 4 + (typeof v === 'string' ? v.length : 0);
        break;
      }
      case 'list_int16': {
        const v = row[c.name];
        n += 4 + 2 * (Array.isArray(v) ? v.length : 0);
        break;
      }
    }
  }
  return n;
}
