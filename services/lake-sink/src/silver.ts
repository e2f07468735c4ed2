// Silver tier rules (plan §2.2, §2.5): what one Hive partition of a Bronze table becomes. Pure: no I/O.
//   - dedup on event_id: a record delivered twice (a feed reconnect re-sending, a producer retry before
//     idempotence, two Bronze objects of an overlapping replay) is kept once;
//   - sorted by ts_event_ns; ties keep Bronze order (object key order = topic/partition/offset order, then row order),
//     so the first delivered copy of an event is the one kept;
//   - cut into files near lake.target_file_bytes, named after a hash of their bytes: the same Bronze input always
//     gives the same names and bytes (a second compaction changes nothing), and a file of a different generation can
//     never overwrite a committed one (crash safety, compact.ts).
import { createHash } from 'node:crypto';
import { encodeParquet, rowsToArrowTable, type ColumnSpec } from '@snap/platform';

export type SilverRow = Record<string, unknown> & { ts_event_ns: bigint };

export interface BronzeObjectRows {
  key: string;
  rows: readonly Record<string, unknown>[];
}

export interface DedupResult {
  rows: SilverRow[];
  /** Rows read from Bronze. */
  rowsIn: number;
  /** Rows dropped because their event_id was already kept. */
  duplicates: number;
}

export class SilverRowError extends Error {
  constructor(
    message: string,
    readonly key: string,
    readonly row: number,
  ) {
    super(message);
    this.name = 'SilverRowError';
  }
}

/** The default identity of a row: its §2.5 event_id. */
const byEventId = (r: SilverRow): string => r.event_id as string;

/**
 * Objects (any order) → rows deduped on `keyOf` (default event_id) and sorted by event time (see the header for the
 * tie rule).
 */
export function dedupSorted(objects: readonly BronzeObjectRows[], keyOf: (r: SilverRow) => string = byEventId): DedupResult {
  const ordered = objects.slice().sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const all: SilverRow[] = [];
  for (const o of ordered) {
    o.rows.forEach((r, i) => {
      if (typeof r.ts_event_ns !== 'bigint') throw new SilverRowError(`${o.key} row ${i}: ts_event_ns is not an int64`, o.key, i);
      if (keyOf === byEventId && (typeof r.event_id !== 'string' || r.event_id === '')) throw new SilverRowError(`${o.key} row ${i}: event_id is missing`, o.key, i);
      all.push(r as SilverRow);
    });
  }
  // Array.prototype.sort is stable: equal times keep Bronze order.
  all.sort((a, b) => (a.ts_event_ns < b.ts_event_ns ? -1 : a.ts_event_ns > b.ts_event_ns ? 1 : 0));
  const seen = new Set<string>();
  const rows: SilverRow[] = [];
  for (const r of all) {
    const k = keyOf(r);
    if (seen.has(k)) continue;
    seen.add(k);
    rows.push(r);
  }
  return { rows, rowsIn: all.length, duplicates: all.length - rows.length };
}

export interface SilverFile {
  /** `part-<first 16 hex of sha256(bytes)>.parquet` */
  name: string;
  bytes: Uint8Array;
  rows: number;
  minTsNs: bigint;
  maxTsNs: bigint;
}

export const silverFileName = (bytes: Uint8Array): string => `part-${createHash('sha256').update(bytes).digest('hex').slice(0, 16)}.parquet`;

function encodeChunk(columns: readonly ColumnSpec[], rows: readonly SilverRow[], metadata: Record<string, string>): SilverFile {
  const dict = columns.filter((c) => c.type === 'dict_utf8').map((c) => c.name);
  const bytes = encodeParquet(rowsToArrowTable(columns, rows), dict, { codec: 'ZSTD', metadata });
  return { name: silverFileName(bytes), bytes, rows: rows.length, minTsNs: rows[0]!.ts_event_ns, maxTsNs: rows[rows.length - 1]!.ts_event_ns };
}

/**
 * Sorted rows → files of about `targetBytes` each: encoded once whole; when larger than the target, cut into
 * ceil(size / target) runs of equal row counts and each encoded again. A function of the rows and the target
 * only, so it is deterministic. `metadata` goes to every footer (no wall-clock values: bytes must repeat).
 */
export function silverFiles(columns: readonly ColumnSpec[], rows: readonly SilverRow[], targetBytes: number, metadata: Record<string, string>): SilverFile[] {
  if (!rows.length) return [];
  if (!(targetBytes > 0)) throw new RangeError(`target file size must be positive, got ${targetBytes}`);
  const whole = encodeChunk(columns, rows, metadata);
  if (whole.bytes.byteLength <= targetBytes || rows.length === 1) return [whole];
  const n = Math.min(rows.length, Math.ceil(whole.bytes.byteLength / targetBytes));
  const per = Math.ceil(rows.length / n);
  const out: SilverFile[] = [];
  for (let i = 0; i < rows.length; i += per) out.push(encodeChunk(columns, rows.slice(i, i + per), metadata));
  return out;
}

/**
 * `_manifest.json` of one Silver partition directory: the commit point of a compaction. Files not listed are not part
 * of the table (a crashed run's leftovers; the next run deletes them). Contains no wall-clock time, so an unchanged
 * input rewrites nothing.
 */
export interface SilverManifest {
  version: 1;
  dataset: string;
  /** The Bronze objects read (key below the key prefix, size in bytes): the run is redone when these change. */
  inputs: { key: string; bytes: number }[];
  files: { name: string; rows: number; bytes: number; min_ts_event_ns: string; max_ts_event_ns: string }[];
  rows_in: number;
  rows: number;
  duplicates: number;
  target_file_bytes: number;
  /** options.trades_enriched.v1 only: the as-of join tolerance (also in every row's join_tolerance_ns). */
  join_tolerance_ns?: string;
  /** options.trades_enriched.v1 only: trades that found a greeks snapshot within the tolerance. */
  joined?: number;
  /** level_features only: the feature columns written, comma-separated (a changed list rewrites the table). */
  columns?: string;
}

export const MANIFEST_NAME = '_manifest.json';

export function manifestBytes(m: SilverManifest): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(m, null, 1) + '\n');
}

export class ManifestError extends Error {
  constructor(
    message: string,
    readonly key: string,
  ) {
    super(message);
    this.name = 'ManifestError';
  }
}

export function parseManifest(key: string, bytes: Uint8Array): SilverManifest {
  let m: unknown;
  try {
    m = JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    throw new ManifestError(`${key}: not JSON (${(e as Error).message})`, key);
  }
  const o = m as Partial<SilverManifest>;
  if (o.version !== 1 || !Array.isArray(o.files) || !Array.isArray(o.inputs)) throw new ManifestError(`${key}: not a version 1 Silver manifest`, key);
  return o as SilverManifest;
}

/** Same inputs and parameters: the partition is up to date and nothing needs writing. */
export function sameInputs(a: SilverManifest, inputs: SilverManifest['inputs'], params: { targetFileBytes: number; joinToleranceNs?: bigint }): boolean {
  if (a.target_file_bytes !== params.targetFileBytes) return false;
  if ((a.join_tolerance_ns ?? null) !== (params.joinToleranceNs?.toString() ?? null)) return false;
  if (a.inputs.length !== inputs.length) return false;
  return a.inputs.every((x, i) => x.key === inputs[i]!.key && x.bytes === inputs[i]!.bytes);
}
