// The lake's `_meta/`: a manifest per lake-sink window and per embedded run (which code and config wrote which
// objects from which inputs), and a snapshot of every Avro and Parquet schema, keyed by fingerprint. Replay from the
// lake reads the manifests to find its files instead of guessing from a listing, and checks each object's bytes
// against the sha256 recorded here (a later run writing the same key is then noticed, not silently replayed).
//
// Layout (below the lake root / key prefix):
//   _meta/runs/<run_id>/windows/<topic>-p<P>-o<window start>.json   one per lake-sink offset window (overwritten with
//                                                                   the window, so exactly-once like the objects)
//   _meta/runs/<run_id>/manifest.json                               one per embedded run (demo, run)
//   _meta/schemas/avro/<schema>/<sha256>.avsc                       every Avro schema the code knows
//   _meta/schemas/parquet/<dataset path>/<sha256>.json              every Parquet table's columns
// Manifest bytes depend only on what was written (no wall clock), so rewriting a window rewrites the same bytes.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { processorInputs, type Config } from '@snap/core';
import { loadLocalSchemas, type ColumnSpec } from '@snap/platform';
import { BRONZE_SCHEMAS, GOLD_SIGNALS, datasetFor, type LakeDataset } from './datasets';
import { s3ClientFor, type ObjectStore } from './object-store';
import type { PlannedObject } from './objects';

export const MANIFEST_VERSION = 1;
export const META_DIR = '_meta';

/** Where an object's rows came from. */
export type ManifestInput =
  | { kind: 'kafka'; topic: string; partition: number; window_start: string; window_end: string; first_offset: string | null; last_offset: string | null; complete: boolean }
  | { kind: 'file'; path: string; bytes: number }
  | { kind: 'simulator'; seed: number; duration_ms: number; underlyings: string[]; density?: string }
  | { kind: 'live'; feed: string };

export interface ManifestObject {
  /** Key below the lake root (with the key prefix). */
  key: string;
  tier: string;
  dataset: string;
  schema: string;
  /** Kafka topic (full name) and partition the rows were read from, or the embedded run's stream. */
  topic: string;
  partition: number;
  first_offset: string;
  last_offset: string;
  rows: number;
  bytes: number;
  sha256: string;
  min_ts_ns: string;
  max_ts_ns: string;
  /** Envelope keys (underlyings) of the rows. */
  keys: string[];
  /** Were the rows, in offset order, already in event-time order? (The object is sorted by event time; when this is
   *  false the log's order within equal keys cannot be recovered from the object alone.) */
  ts_ordered: boolean;
  /** sha256 of the Parquet columns (see parquetFingerprint); the snapshot is under _meta/schemas/parquet/. */
  parquet_fingerprint: string;
  /** sha256 of the Avro schema (avsc canonical form) the records were decoded with. */
  avro_fingerprint: string | null;
}

export interface LakeManifest {
  manifest_version: number;
  kind: 'sink-window' | 'embedded-run';
  run_id: string;
  /** `snap-engine@<git commit>` of the writer (`@unknown` outside a git checkout). */
  code_version: string;
  /** sha256 of the signal-relevant config (configHash). */
  config_hash: string;
  /** The command that wrote it (`sink lake`, `demo`, `run`). */
  command: string;
  inputs: ManifestInput[];
  objects: ManifestObject[];
  /** Rows per dataset. */
  row_counts: Record<string, number>;
}

export class LakeManifestError extends Error {
  constructor(
    message: string,
    readonly key: string,
  ) {
    super(message);
    this.name = 'LakeManifestError';
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Identities: code version, config hash, schema fingerprints.

const sha256 = (b: string | Uint8Array) => createHash('sha256').update(b).digest('hex');

/** JSON with object keys sorted at every level (so a hash does not depend on key order). */
export function stableJson(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => {
    if (typeof x === 'bigint') return x.toString();
    if (x && typeof x === 'object' && !Array.isArray(x)) return Object.fromEntries(Object.entries(x as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    return x;
  });
}

/** The config sections that decide signal values (connections, ports, sinks and logging do not). */
export function signalConfig(cfg: Config): Record<string, unknown> {
  const { underlyings, snap, barrier, basis, futures, tape, fuel, levels, score, smoothing, ordering } = cfg;
  return { underlyings, snap, barrier, basis, futures, tape, fuel, levels, score, smoothing, ordering, processor_inputs: processorInputs(cfg) };
}

export const configHash = (cfg: Config): string => sha256(stableJson(signalConfig(cfg)));

let codeVersionMemo: string | null = null;

/** `snap-engine@<commit>` read from the checkout's .git (no subprocess); `snap-engine@unknown` when there is none. */
export function codeVersion(): string {
  if (codeVersionMemo) return codeVersionMemo;
  let v = 'unknown';
  try {
    let dir = resolve(__dirname);
    while (!existsSync(join(dir, '.git')) && dirname(dir) !== dir) dir = dirname(dir);
    let git = join(dir, '.git');
    // A worktree's .git is a file naming the real git dir.
    if (statSync(git).isFile()) git = resolve(dir, readFileSync(git, 'utf8').replace(/^gitdir:\s*/, '').trim());
    const head = readFileSync(join(git, 'HEAD'), 'utf8').trim();
    if (/^[0-9a-f]{40}$/.test(head)) v = head.slice(0, 12);
    else {
      const ref = head.replace(/^ref:\s*/, '');
      const common = existsSync(join(git, 'commondir')) ? resolve(git, readFileSync(join(git, 'commondir'), 'utf8').trim()) : git;
      const loose = [join(git, ref), join(common, ref)].find((p) => existsSync(p));
      if (loose) v = readFileSync(loose, 'utf8').trim().slice(0, 12);
      else {
        const packed = readFileSync(join(common, 'packed-refs'), 'utf8').split('\n').find((l) => l.endsWith(` ${ref}`));
        if (packed) v = packed.slice(0, 12);
      }
    }
  } catch {
    // Not a checkout (an installed build): the version stays unknown rather than guessed.
  }
  codeVersionMemo = `snap-engine@${v}`;
  return codeVersionMemo;
}

/** Fingerprint of a Parquet table: sha256 of its column list (name, type, nullability) in order. */
export const parquetFingerprint = (columns: readonly ColumnSpec[]): string => sha256(stableJson(columns.map((c) => ({ name: c.name, type: c.type, nullable: c.nullable ?? false }))));

let avroMemo: Map<string, { text: string; fingerprint: string }> | null = null;
function avroSchemas(): Map<string, { text: string; fingerprint: string }> {
  avroMemo ??= new Map([...loadLocalSchemas()].map(([name, s]) => [name as string, { text: s.text, fingerprint: s.fingerprint }]));
  return avroMemo;
}
export const avroFingerprint = (schemaName: string): string | null => avroSchemas().get(schemaName)?.fingerprint ?? null;

/** Every table the lake holds today: Gold signals and the Bronze datasets (heartbeats once, by their table path). */
export function lakeTables(): { path: string; columns: readonly ColumnSpec[] }[] {
  return [GOLD_SIGNALS, ...BRONZE_SCHEMAS.map((s) => datasetFor(s, s, ['bronze'])!)].map((d) => ({ path: d.path, columns: d.columns }));
}

/** The schema snapshot objects: key (below the prefix) → bytes. Same code ⇒ same keys and bytes (idempotent PUTs). */
export function schemaSnapshots(): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  for (const [name, s] of avroSchemas()) out.set(`${META_DIR}/schemas/avro/${name}/${s.fingerprint}.avsc`, Buffer.from(s.text + '\n'));
  for (const t of [...lakeTables(), ...extraTables]) {
    const cols = t.columns.map((c) => ({ name: c.name, type: c.type, nullable: c.nullable ?? false }));
    out.set(`${META_DIR}/schemas/parquet/${t.path}/${parquetFingerprint(t.columns)}.json`, Buffer.from(JSON.stringify({ table: t.path, columns: cols }, null, 2) + '\n'));
  }
  return out;
}

const extraTables: { path: string; columns: readonly ColumnSpec[] }[] = [];
/** Tables other tiers add (Silver, features): their columns are snapshotted with the rest. */
export function registerLakeTable(path: string, columns: readonly ColumnSpec[]): void {
  if (!extraTables.some((t) => t.path === path && parquetFingerprint(t.columns) === parquetFingerprint(columns))) extraTables.push({ path, columns });
}

export async function writeSchemaSnapshots(store: ObjectStore, keyPrefix: string): Promise<number> {
  const snaps = schemaSnapshots();
  for (const [key, bytes] of snaps) await store.put(keyPrefix + key, bytes);
  return snaps.size;
}

// ---------------------------------------------------------------------------------------------------------------
// Building manifests.

/**
 * The lake sink's run id: one per log (topic prefix), not per consumer group — two groups sinking the same log write
 * the same objects and the same window manifests, so they are one run.
 */
export const sinkRunId = (topicPrefix: string): string => `sink-${topicPrefix.replace(/[^A-Za-z0-9._-]/g, '_').replace(/[-_.]+$/, '') || 'log'}`;

/**
 * Per (dataset, envelope key): were the window's rows, in offset order, non-decreasing in event time? Objects sort
 * their rows by event time, so only then does an object keep the log's order (see ManifestObject.ts_ordered).
 */
export function tsOrderedByDatasetKey(records: readonly { row: { dataset: LakeDataset; row: Record<string, unknown> & { ts_event_ns: bigint } } }[]): (o: PlannedObject) => boolean {
  // Per dataset, per key: the last event time (nested maps: no string built per record on the sink's hot path).
  const last = new Map<string, Map<unknown, bigint>>();
  let broken: Set<string> | null = null;
  for (const { row: r } of records) {
    // By path: the sink maps every record to a fresh dataset object.
    let byKey = last.get(r.dataset.path);
    if (!byKey) last.set(r.dataset.path, (byKey = new Map()));
    const k = r.row.key ?? r.row.underlying;
    const prev = byKey.get(k);
    if (prev !== undefined && r.row.ts_event_ns < prev) (broken ??= new Set()).add(`${r.dataset.path}|${String(k)}`);
    else byKey.set(k, r.row.ts_event_ns);
  }
  if (!broken) return () => true;
  const b = broken;
  return (o) => !o.rows.some((r) => b.has(`${o.dataset.path}|${String(r.key ?? r.underlying)}`));
}

export const windowManifestKey = (keyPrefix: string, runId: string, topic: string, partition: number, windowStart: bigint): string =>
  `${keyPrefix}${META_DIR}/runs/${runId}/windows/${topic}-p${partition}-o${windowStart.toString().padStart(20, '0')}.json`;

export const runManifestKey = (keyPrefix: string, runId: string): string => `${keyPrefix}${META_DIR}/runs/${runId}/manifest.json`;

/** A run id is one path segment. */
export function checkRunId(runId: string): string {
  if (!/^[A-Za-z0-9._-]+$/.test(runId)) throw new LakeManifestError(`run id ${JSON.stringify(runId)} must match [A-Za-z0-9._-]+`, runId);
  return runId;
}

/** The manifest entry of one written object. */
export function manifestObject(o: PlannedObject, keyPrefix: string, topic: string, partition: number, bytes: Uint8Array, offsetOrderedTs: boolean): ManifestObject {
  let min = o.rows[0]!.ts_event_ns;
  let max = min;
  const keys = new Set<string>();
  for (const r of o.rows) {
    if (r.ts_event_ns < min) min = r.ts_event_ns;
    if (r.ts_event_ns > max) max = r.ts_event_ns;
    const k = (r as { key?: unknown; underlying?: unknown }).key ?? (r as { underlying?: unknown }).underlying;
    if (typeof k === 'string') keys.add(k);
  }
  const ds: LakeDataset = o.dataset;
  return {
    key: o.key.startsWith(keyPrefix) ? o.key.slice(keyPrefix.length) : o.key,
    tier: ds.tier,
    dataset: ds.path,
    schema: ds.schemaName,
    topic,
    partition,
    first_offset: o.firstOffset.toString(),
    last_offset: o.lastOffset.toString(),
    rows: o.rows.length,
    bytes: bytes.byteLength,
    sha256: sha256(bytes),
    min_ts_ns: min.toString(),
    max_ts_ns: max.toString(),
    keys: [...keys].sort(),
    ts_ordered: offsetOrderedTs,
    parquet_fingerprint: parquetFingerprint(ds.columns),
    avro_fingerprint: avroFingerprint(ds.schemaName),
  };
}

export function buildManifest(m: Omit<LakeManifest, 'manifest_version' | 'row_counts' | 'code_version'> & { code_version?: string }): LakeManifest {
  const row_counts: Record<string, number> = {};
  for (const o of m.objects) row_counts[o.dataset] = (row_counts[o.dataset] ?? 0) + o.rows;
  const objects = [...m.objects].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return { manifest_version: MANIFEST_VERSION, kind: m.kind, run_id: m.run_id, code_version: m.code_version ?? codeVersion(), config_hash: m.config_hash, command: m.command, inputs: m.inputs, objects, row_counts };
}

export const encodeManifest = (m: LakeManifest): Uint8Array => Buffer.from(JSON.stringify(m, null, 1) + '\n');

export function parseLakeManifest(text: string, key: string): LakeManifest {
  let m: LakeManifest;
  try {
    m = JSON.parse(text) as LakeManifest;
  } catch (e) {
    throw new LakeManifestError(`manifest ${key} is not JSON: ${(e as Error).message}`, key);
  }
  if (m.manifest_version !== MANIFEST_VERSION) throw new LakeManifestError(`manifest ${key} has manifest_version ${String(m.manifest_version)}, this code reads ${MANIFEST_VERSION}`, key);
  if (!Array.isArray(m.objects) || typeof m.run_id !== 'string') throw new LakeManifestError(`manifest ${key} lacks objects/run_id`, key);
  return m;
}

// ---------------------------------------------------------------------------------------------------------------
// Reading a lake: a local directory or s3://bucket/prefix.

export interface LakeReader {
  /** `s3://bucket/prefix` or an absolute directory. */
  readonly where: string;
  /** Every key below `prefix` (relative to the lake root), sorted. */
  list(prefix: string): Promise<string[]>;
  get(key: string): Promise<Uint8Array>;
  close(): void;
}

export class LakeReadError extends Error {
  constructor(
    message: string,
    readonly key: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'LakeReadError';
  }
}

export class LocalLakeReader implements LakeReader {
  readonly where: string;
  constructor(root: string) {
    this.where = resolve(root);
  }
  async list(prefix: string): Promise<string[]> {
    const out: string[] = [];
    // The deepest directory the prefix names fully, then a walk filtered by the prefix.
    const base = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/')) : '';
    const start = join(this.where, base);
    const walk = (dir: string) => {
      let entries;
      try {
        entries = readdirSync(dir, { withFileTypes: true });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw new LakeReadError(`cannot list ${dir}: ${(e as Error).message}`, relative(this.where, dir), { cause: e });
      }
      for (const d of entries) {
        const p = join(dir, d.name);
        if (d.isDirectory()) walk(p);
        else if (d.isFile() && !d.name.startsWith('.')) {
          const key = relative(this.where, p).split(sep).join('/');
          if (key.startsWith(prefix)) out.push(key);
        }
      }
    };
    walk(start);
    return out.sort();
  }
  async get(key: string): Promise<Uint8Array> {
    try {
      return readFileSync(join(this.where, key));
    } catch (e) {
      throw new LakeReadError(`cannot read ${join(this.where, key)}: ${(e as Error).message}`, key, { cause: e });
    }
  }
  close(): void {}
}

export class S3LakeReader implements LakeReader {
  readonly where: string;
  constructor(
    readonly client: S3Client,
    readonly bucket: string,
    /** Key prefix of the lake root inside the bucket ('' or ending in '/'). */
    readonly prefix: string,
  ) {
    this.where = `s3://${bucket}/${prefix}`;
  }
  async list(prefix: string): Promise<string[]> {
    const out: string[] = [];
    let token: string | undefined;
    try {
      do {
        const r = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.prefix + prefix, ContinuationToken: token }));
        for (const o of r.Contents ?? []) out.push(o.Key!.slice(this.prefix.length));
        token = r.IsTruncated ? r.NextContinuationToken : undefined;
      } while (token);
    } catch (e) {
      throw new LakeReadError(`cannot list s3://${this.bucket}/${this.prefix}${prefix}: ${(e as Error).message}`, prefix, { cause: e });
    }
    return out.sort();
  }
  async get(key: string): Promise<Uint8Array> {
    try {
      const r = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.prefix + key }));
      return await r.Body!.transformToByteArray();
    } catch (e) {
      throw new LakeReadError(`cannot read s3://${this.bucket}/${this.prefix}${key}: ${(e as Error).message}`, key, { cause: e });
    }
  }
  close(): void {
    this.client.destroy();
  }
}

/** `DIR` or `s3://bucket[/prefix]` (S3 endpoint and credentials from the config's s3 section). */
export function openLake(uri: string, cfg: Pick<Config, 's3'>): LakeReader {
  const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(uri);
  if (!m) return new LocalLakeReader(uri);
  const prefix = m[2] ? (m[2].endsWith('/') ? m[2] : `${m[2]}/`) : '';
  return new S3LakeReader(s3ClientFor(cfg as Pick<Config, 's3' | 'lake'>), m[1]!, prefix);
}

/** Every manifest below `_meta/runs/` (window and run manifests), parsed. */
export async function readManifests(lake: LakeReader): Promise<{ key: string; manifest: LakeManifest }[]> {
  const keys = (await lake.list(`${META_DIR}/runs/`)).filter((k) => k.endsWith('.json'));
  const out: { key: string; manifest: LakeManifest }[] = [];
  for (const key of keys) out.push({ key, manifest: parseLakeManifest(Buffer.from(await lake.get(key)).toString('utf8'), key) });
  return out;
}
