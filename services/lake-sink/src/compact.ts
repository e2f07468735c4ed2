// `snap-engine lake compact`: Bronze → Silver for one date (plan §2.2, §2.5). Every Bronze Hive partition
// (table/key/date[/hour]) becomes the Silver partition with the same path under silver/: deduped on event_id, sorted
// by event time, in files near lake.target_file_bytes (silver.ts). Option trades also become
// silver/options/trades_enriched/… by the as-of greeks join (enrich.ts). Gold levels/signals becomes the training
// table gold/features/level_features/… (level-features.ts) by the same machinery.
//
// Idempotent and crash-safe on a local DATA_ROOT and on S3/MinIO alike, per Silver partition directory:
//   1. the Silver files are computed; their names are hashes of their bytes;
//   2. files not yet in the directory are PUT (a name that exists already holds exactly these bytes);
//   3. `_manifest.json` is PUT: the commit point (one object, atomic on S3 and by rename locally). It lists the files
//      and the Bronze inputs (key, size);
//   4. parquet files of the directory that the manifest does not list are deleted (the previous generation).
// A SIGKILL anywhere leaves the committed manifest naming either the old or the new generation, never a mix; the
// next run (same inputs → same names) deletes whatever the manifest does not list, so after a restart every row is
// present exactly once, also for readers that glob *.parquet. Readers that honour the manifest never see a
// half-state at all. A partition whose manifest already records the same inputs and parameters is not rewritten: a
// second compaction changes no byte. One compactor per lake at a time (a second one could delete the first's
// not yet committed files).
import type { LabelParams } from '@snap/core';
import { SIGNAL_ROW_COLUMNS, readParquetRows, type ColumnSpec, type Logger } from '@snap/platform';
import { BRONZE_TABLES, type BronzeTable } from './datasets';
import { ENRICHED_COLUMNS, enrichOptionTrades } from './enrich';
import { GOLD_SIGNALS_PATH, LABEL_COLUMNS, LEVEL_FEATURES_DATASET, LEVEL_FEATURES_PATH, LEVEL_FEATURE_NAMES, labelRows, levelFeatureColumns, levelFeatureKey, pricePath, toLevelFeatureRow } from './level-features';
import type { LakeStore, ListedObject } from './lake-store';
import { MANIFEST_NAME, dedupSorted, manifestBytes, parseManifest, sameInputs, silverFiles, type SilverManifest, type SilverRow } from './silver';

export const ENRICHED_DATASET = 'options.trades_enriched.v1';
export const ENRICHED_PATH = 'silver/options/trades_enriched';
/** Every name `--dataset` accepts: the Bronze schemas, the enriched option trades and Gold level_features. */
export const COMPACT_DATASETS: readonly string[] = [...BRONZE_TABLES.map((t) => t.schemaName), ENRICHED_DATASET, LEVEL_FEATURES_DATASET];


export class CompactError extends Error {
  constructor(
    message: string,
    readonly key: string,
  ) {
    super(message);
    this.name = 'CompactError';
  }
}

export interface CompactOptions {
  store: LakeStore;
  /** lake.key_prefix: Bronze is read from and Silver written to below it. */
  keyPrefix: string;
  /** YYYY-MM-DD (UTC). */
  date: string;
  /** Only these datasets (COMPACT_DATASETS names); all when absent. */
  datasets?: readonly string[];
  targetFileBytes: number;
  enrichToleranceNs: bigint;
  /** level_features: the numeric features to write (default LEVEL_FEATURE_NAMES, from the feature dictionary) and the session rule. */
  features?: readonly string[];
  sessionAnchor?: 'session' | 'rth_open';
  /** level_features: add the outcome label columns with these parameters (eval.* and levels.monitor_band); none when absent. */
  labels?: LabelParams;
  logger: Logger;
  /** After each partition: how many are done of how many. */
  onProgress?: (p: { done: number; total: number; partition: string; rows: number; written: boolean }) => void;
}

export interface CompactSummary {
  date: string;
  target: string;
  partitions: number;
  /** Partitions whose manifest already recorded the same inputs (nothing written). */
  up_to_date: number;
  files_written: number;
  bytes_written: number;
  files_deleted: number;
  rows_in: number;
  rows: number;
  duplicates: number;
  enriched_rows: number;
  /** Enriched trades that found a greeks snapshot within the tolerance. */
  joined: number;
  /** Gold level_features rows written or kept. */
  feature_rows: number;
}

const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;

interface Job {
  /** Silver directory key (with the key prefix, no trailing slash). */
  silverDir: string;
  dataset: string;
  /** What is read: objects of a table with these columns. */
  sources: { table: Pick<BronzeTable, 'columns'>; objects: ListedObject[] }[];
  kind: 'silver' | 'enriched' | 'features';
}

const dirOf = (key: string) => key.slice(0, key.lastIndexOf('/'));

export async function compactDate(opts: CompactOptions): Promise<CompactSummary> {
  const { store, keyPrefix, date, logger } = opts;
  if (!DATE_RE.test(date) || Number.isNaN(Date.parse(`${date}T00:00:00Z`))) throw new CompactError(`--date must be YYYY-MM-DD, got ${JSON.stringify(date)}`, '');
  const unknown = (opts.datasets ?? []).filter((d) => !COMPACT_DATASETS.includes(d));
  if (unknown.length) throw new CompactError(`unknown dataset ${unknown.join(', ')}; one of ${COMPACT_DATASETS.join(', ')}`, '');
  const want = (d: string) => !opts.datasets?.length || opts.datasets.includes(d);

  // Bronze partitions of the date, per table: directory → objects.
  const partitions = new Map<BronzeTable, Map<string, ListedObject[]>>();
  for (const table of BRONZE_TABLES) {
    const needed = want(table.schemaName) || (want(ENRICHED_DATASET) && (table.schemaName === 'options.trades.v1' || table.schemaName === 'options.greeks_snapshots.v1'));
    if (!needed) continue;
    const dirs = new Map<string, ListedObject[]>();
    for (const o of await store.list(`${keyPrefix}${table.path}/`)) {
      if (!o.key.endsWith('.parquet') || !o.key.includes(`/date=${date}/`)) continue;
      const d = dirOf(o.key);
      let list = dirs.get(d);
      if (!list) dirs.set(d, (list = []));
      list.push(o);
    }
    partitions.set(table, dirs);
  }

  const jobs: Job[] = [];
  const bronzeRoot = `${keyPrefix}bronze/`;
  const silverOf = (bronzeDir: string) => `${keyPrefix}silver/${bronzeDir.slice(bronzeRoot.length)}`;
  for (const [table, dirs] of partitions) {
    if (!want(table.schemaName)) continue;
    for (const [dir, objects] of [...dirs].sort(([a], [b]) => (a < b ? -1 : 1))) jobs.push({ silverDir: silverOf(dir), dataset: table.schemaName, sources: [{ table, objects }], kind: 'silver' });
  }
  if (want(ENRICHED_DATASET)) {
    const trades = BRONZE_TABLES.find((t) => t.schemaName === 'options.trades.v1')!;
    const greeks = BRONZE_TABLES.find((t) => t.schemaName === 'options.greeks_snapshots.v1')!;
    const greeksDirs = partitions.get(greeks)!;
    for (const [dir, objects] of [...partitions.get(trades)!].sort(([a], [b]) => (a < b ? -1 : 1))) {
      // …/options/trades/underlying=U/date=D/hour=H → …/options/greeks_snapshots/underlying=U/date=D (daily).
      const rel = dir.slice(`${keyPrefix}${trades.path}/`.length);
      const underlyingDate = rel.slice(0, rel.lastIndexOf('/'));
      const g = greeksDirs.get(`${keyPrefix}${greeks.path}/${underlyingDate}`) ?? [];
      jobs.push({ silverDir: `${keyPrefix}${ENRICHED_PATH}/${rel}`, dataset: ENRICHED_DATASET, sources: [{ table: trades, objects }, { table: greeks, objects: g }], kind: 'enriched' });
    }
  }
  let featureColumns: ColumnSpec[] = [];
  if (want(LEVEL_FEATURES_DATASET)) {
    featureColumns = [...levelFeatureColumns(opts.features ?? LEVEL_FEATURE_NAMES), ...(opts.labels ? LABEL_COLUMNS : [])];
    const goldRoot = `${keyPrefix}${GOLD_SIGNALS_PATH}/`;
    const nextDate = new Date(Date.parse(`${date}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
    const dirs = new Map<string, ListedObject[]>();
    for (const o of await store.list(goldRoot)) {
      if (!o.key.endsWith('.parquet') || !(o.key.includes(`/date=${date}/`) || o.key.includes(`/date=${nextDate}/hour=00/`))) continue;
      const d = dirOf(o.key);
      dirs.set(d, [...(dirs.get(d) ?? []), o]);
    }
    /** …/date=D/hour=H → the next hour's directory (labels read the price path past the hour's end). */
    const nextHourDir = (dir: string): string => {
      const m = /^(.*)\/date=(\d{4}-\d{2}-\d{2})\/hour=(\d{2})$/.exec(dir);
      if (!m) return '';
      const t = new Date(Date.parse(`${m[2]}T${m[3]}:00:00Z`) + 3_600_000).toISOString();
      return `${m[1]}/date=${t.slice(0, 10)}/hour=${t.slice(11, 13)}`;
    };
    for (const [dir, objects] of [...dirs].sort(([a], [b]) => (a < b ? -1 : 1))) {
      if (!dir.includes(`/date=${date}/`)) continue;
      const sources = [{ table: { columns: SIGNAL_ROW_COLUMNS }, objects }];
      if (opts.labels) sources.push({ table: { columns: SIGNAL_ROW_COLUMNS }, objects: dirs.get(nextHourDir(dir)) ?? [] });
      jobs.push({ silverDir: `${keyPrefix}${LEVEL_FEATURES_PATH}/${dir.slice(goldRoot.length)}`, dataset: LEVEL_FEATURES_DATASET, sources, kind: 'features' });
    }
  }

  const summary: CompactSummary = { date, target: store.where, partitions: jobs.length, up_to_date: 0, files_written: 0, bytes_written: 0, files_deleted: 0, rows_in: 0, rows: 0, duplicates: 0, enriched_rows: 0, joined: 0, feature_rows: 0 };
  const rowsCache = new Map<string, SilverRow[]>();
  let done = 0;
  for (const job of jobs) {
    const r = await compactPartition(job, opts, rowsCache, featureColumns);
    done++;
    if (r.upToDate) summary.up_to_date++;
    summary.files_written += r.filesWritten;
    summary.bytes_written += r.bytesWritten;
    summary.files_deleted += r.filesDeleted;
    summary.rows_in += r.manifest.rows_in;
    summary.rows += r.manifest.rows;
    summary.duplicates += r.manifest.duplicates;
    if (job.kind === 'enriched') {
      summary.enriched_rows += r.manifest.rows;
      summary.joined += r.manifest.joined ?? 0;
    }
    if (job.kind === 'features') summary.feature_rows += r.manifest.rows;
    opts.onProgress?.({ done, total: jobs.length, partition: job.silverDir, rows: r.manifest.rows, written: !r.upToDate });
  }
  logger.info('compaction finished', { ...summary });
  return summary;
}

interface PartitionResult {
  manifest: SilverManifest;
  upToDate: boolean;
  filesWritten: number;
  bytesWritten: number;
  filesDeleted: number;
}

async function readDeduped(
  store: LakeStore,
  table: Pick<BronzeTable, 'columns'>,
  objects: readonly ListedObject[],
  map: (r: Record<string, unknown>) => Record<string, unknown> = (r) => r,
  keyOf?: (r: SilverRow) => string,
): Promise<{ rows: SilverRow[]; rowsIn: number; duplicates: number }> {
  const read = [];
  for (const o of objects) {
    const bytes = await store.get(o.key);
    if (!bytes) throw new CompactError(`input object ${o.key} vanished while compacting (listed, then not found)`, o.key);
    read.push({ key: o.key, rows: readParquetRows(bytes, table.columns, o.key).map(map) });
  }
  return dedupSorted(read, keyOf);
}

async function compactPartition(job: Job, opts: CompactOptions, cache: Map<string, SilverRow[]>, featureColumns: ColumnSpec[]): Promise<PartitionResult> {
  const { store, logger } = opts;
  const inputs = job.sources.flatMap((s) => s.objects.map((o) => ({ key: o.key, bytes: o.bytes })));
  const toleranceNs = job.kind === 'enriched' ? opts.enrichToleranceNs : undefined;
  // The feature columns are a parameter of the table like the tolerance: a changed dictionary rewrites it.
  const columnsSig = job.kind === 'features' ? featureColumns.map((c) => c.name).join(',') + (opts.labels ? `;labels=${JSON.stringify(opts.labels)}` : '') : undefined;
  const manifestKey = `${job.silverDir}/${MANIFEST_NAME}`;
  const present = (await store.list(`${job.silverDir}/`)).filter((o) => !o.key.slice(job.silverDir.length + 1).includes('/'));
  const presentNames = new Map(present.map((o) => [o.key.slice(job.silverDir.length + 1), o.bytes]));
  const oldBytes = presentNames.has(MANIFEST_NAME) ? await store.get(manifestKey) : null;
  const old = oldBytes ? parseManifest(manifestKey, oldBytes) : null;

  let manifest: SilverManifest;
  let upToDate = false;
  let filesWritten = 0;
  let bytesWritten = 0;
  if (old && sameInputs(old, inputs, { targetFileBytes: opts.targetFileBytes, joinToleranceNs: toleranceNs }) && old.columns === columnsSig && old.files.every((f) => presentNames.get(f.name) === f.bytes)) {
    manifest = old;
    upToDate = true;
  } else {
    let rows: SilverRow[];
    let rowsIn: number;
    let duplicates: number;
    let joined: number | undefined;
    if (job.kind === 'silver') {
      ({ rows, rowsIn, duplicates } = await readDeduped(store, job.sources[0]!.table, job.sources[0]!.objects));
    } else if (job.kind === 'features') {
      const anchor = opts.sessionAnchor ?? 'session';
      const signals = await readDeduped(store, job.sources[0]!.table, job.sources[0]!.objects, (r) => r, levelFeatureKey);
      rows = signals.rows.map((r) => toLevelFeatureRow(r as never, featureColumns, anchor));
      ({ rowsIn, duplicates } = signals);
      if (opts.labels) {
        const next = await readDeduped(store, job.sources[1]!.table, job.sources[1]!.objects, (r) => r, levelFeatureKey);
        labelRows(rows, signals.rows, pricePath([...signals.rows, ...next.rows]), opts.labels);
      }
    } else {
      const t = await readDeduped(store, job.sources[0]!.table, job.sources[0]!.objects);
      const greeksKey = job.sources[1]!.objects.map((o) => `${o.key}:${o.bytes}`).join('|');
      let g = cache.get(greeksKey);
      if (!g) {
        g = (await readDeduped(store, job.sources[1]!.table, job.sources[1]!.objects)).rows;
        cache.clear(); // one underlying/date's snapshots at a time: partitions come in key order
        cache.set(greeksKey, g);
      }
      const e = enrichOptionTrades(t.rows, g, toleranceNs!);
      ({ rows, joined } = e);
      rowsIn = t.rowsIn;
      duplicates = t.duplicates;
    }
    const columns = job.kind === 'enriched' ? ENRICHED_COLUMNS : job.kind === 'features' ? featureColumns : job.sources[0]!.table.columns;
    const meta: Record<string, string> = { schema: job.dataset, tier: job.kind === 'features' ? 'gold' : 'silver' };
    if (toleranceNs !== undefined) meta.join_tolerance_ns = toleranceNs.toString();
    const files = silverFiles(columns, rows, opts.targetFileBytes, meta);
    for (const f of files) {
      if (presentNames.get(f.name) === f.bytes.byteLength) continue;
      await store.put(`${job.silverDir}/${f.name}`, f.bytes);
      filesWritten++;
      bytesWritten += f.bytes.byteLength;
    }
    manifest = {
      version: 1,
      dataset: job.dataset,
      inputs,
      files: files.map((f) => ({ name: f.name, rows: f.rows, bytes: f.bytes.byteLength, min_ts_event_ns: f.minTsNs.toString(), max_ts_event_ns: f.maxTsNs.toString() })),
      rows_in: rowsIn,
      rows: rows.length,
      duplicates,
      target_file_bytes: opts.targetFileBytes,
      ...(toleranceNs !== undefined ? { join_tolerance_ns: toleranceNs.toString(), joined } : {}),
      ...(columnsSig !== undefined ? { columns: columnsSig } : {}),
    };
    await store.put(manifestKey, manifestBytes(manifest));
    filesWritten++;
  }
  // The previous generation, or a crashed run's uncommitted files: not in the manifest, so not in the table.
  const keep = new Set(manifest.files.map((f) => f.name));
  const stale = [...presentNames.keys()].filter((n) => n.endsWith('.parquet') && !keep.has(n)).map((n) => `${job.silverDir}/${n}`);
  if (stale.length) await store.delete(stale);
  logger.info(upToDate ? 'silver partition up to date' : 'silver partition written', {
    partition: job.silverDir,
    dataset: job.dataset,
    inputs: inputs.length,
    rows: manifest.rows,
    duplicates: manifest.duplicates,
    files: manifest.files.length,
    deleted: stale.length,
  });
  return { manifest, upToDate, filesWritten, bytesWritten, filesDeleted: stale.length };
}
