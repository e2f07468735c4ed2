// Replay from the lake (plan §8.2: Bronze/Silver Parquet is the replay source of truth once Kafka's retention has
// passed): the input records of an underlying are read back from Bronze (or Silver), put back into their input
// streams in log order, and driven through the processor's own PartitionGroupTask — the same merge, lateness rule and
// engines as the live run — so the signals are the live run's, byte for byte.
//
// Log order from Parquet: an object holds one stream's rows (one topic partition, one offset window) sorted by event
// time, stably (offset order within equal times). The feeds produce every stream in non-decreasing event time per key
// (their ordering guards), so a stream's rows sorted by (event time, window, position) are its log order again, up to
// the order of equal-time records of different datasets (a heartbeat and a quote at the same ns), which the engine
// treats alike. The manifests record, per object, whether that premise held when it was written (ts_ordered); a
// replay over an object where it did not warns that exactness is not guaranteed.
//
// Warm-up: engine state depends on history (VWAP, session high/low, baselines), so by default the replay starts at the
// first record the lake holds for the underlying and emits only ticks in [--from, --to], like `replay --from-time`.
import * as arrow from 'apache-arrow';
import { readParquet } from 'parquet-wasm';
import { createHash } from 'node:crypto';
import { processorInputs, type Config, type DataInputSchema, type InputEvent } from '@snap/core';
import { type ColumnSpec, type Logger } from '@snap/platform';
import { PartitionGroupTask, type OutputRow } from '@snap/processor';
import { MBP10_DEPTH_ARRAYS, MBP10_DEPTH_COLUMNS, datasetFor, mbp10DepthColumn } from './datasets';
import { META_DIR, configHash, readManifests, type LakeManifest, type LakeReader, type ManifestObject } from './manifest';
import { MANIFEST_NAME, parseManifest, type SilverManifest } from './silver';

export type LakeReplayTier = 'bronze' | 'silver';

export class LakeReplayError extends Error {
  constructor(
    message: string,
    /** The object key, run id or option at fault. */
    readonly subject: string,
  ) {
    super(message);
    this.name = 'LakeReplayError';
  }
}

export interface LakeReplayProgress {
  phase: 'read' | 'replay';
  done: number;
  total: number;
  elapsed_s: number;
  /** Remaining seconds of this phase at the rate so far (null until there is a rate). */
  eta_s: number | null;
}

export interface LakeReplayOptions {
  cfg: Config;
  lake: LakeReader;
  underlyings: string[];
  tier?: LakeReplayTier;
  /** First tick time emitted (inclusive); default: everything. */
  fromNs?: bigint;
  /** Last tick time emitted (inclusive); default: everything. */
  toNs?: bigint;
  /** Where engine state starts: 'earliest' (default, exact) or an event time (faster, approximate until windows refill). */
  warmupFrom?: 'earliest' | bigint;
  /** The run whose manifests to use when the lake holds several covering the underlying. */
  runId?: string;
  logger?: Logger;
  onProgress?: (p: LakeReplayProgress) => void;
}

export interface LakeRunInfo {
  run_id: string;
  kind: string;
  command: string;
  code_version: string[];
  config_hash: string[];
  manifests: number;
}

export interface LakeReplayResult {
  /** Per underlying, in emission order. */
  rows: Map<string, OutputRow[]>;
  /** 'manifest' when the files came from _meta/ manifests, 'listing' when the lake had none. */
  found_by: 'manifest' | 'listing';
  runs: LakeRunInfo[];
  objects: number;
  bytes: number;
  records: number;
  dead_letters: number;
  /** sha256 of this replay's signal config (compare with the runs' config_hash). */
  config_hash: string;
  warnings: string[];
}

/** Records read past --to so the ticks up to --to are closed by the events after them, as they were live. */
const TAIL_NS = 60_000_000_000n;

interface Source {
  key: string;
  stream: DataInputSchema;
  schema: string;
  partition: number;
  /** Window start (from the object name) or -1: sorts the stream's objects in log order. */
  order: bigint;
  minTs: bigint | null;
  maxTs: bigint | null;
  sha256: string | null;
  tsOrdered: boolean;
}

const dataPath = (tier: LakeReplayTier, schema: DataInputSchema) => datasetFor(schema, schema, ['bronze'])!.path.replace(/^bronze\//, `${tier}/`);
const heartbeatPath = (tier: LakeReplayTier, stream: DataInputSchema) => `${tier}/heartbeats/stream=${stream}/`;
const windowOf = (key: string): bigint => {
  const m = /-o(\d{1,20})\.parquet$/.exec(key);
  return m ? BigInt(m[1]!) : -1n;
};
const partitionOf = (key: string): number => {
  const m = /-p(\d+)-o\d+\.parquet$/.exec(key);
  return m ? Number(m[1]) : 0;
};
const streamOfHeartbeat = (key: string): string | null => /(?:^|\/)stream=([^/]+)\//.exec(key)?.[1] ?? null;

/** The objects to read: from the manifests when the lake has them, else by listing the dataset directories. */
async function findSources(opts: LakeReplayOptions, streams: readonly DataInputSchema[], tier: LakeReplayTier, warnings: string[]): Promise<{ sources: Source[]; foundBy: 'manifest' | 'listing'; runs: LakeRunInfo[] }> {
  const wanted = new Set(opts.underlyings);
  const keyMatches = (keys: readonly string[]) => keys.some((k) => wanted.has(k) || k === '' || k === '*');
  const manifests = await readManifests(opts.lake);
  const usable = manifests.filter(({ manifest: m }) => m.objects.some((o) => o.tier === tier && keyMatches(o.keys)));
  if (usable.length) {
    const byRun = new Map<string, { key: string; manifest: LakeManifest }[]>();
    for (const x of usable) byRun.set(x.manifest.run_id, [...(byRun.get(x.manifest.run_id) ?? []), x]);
    let runId = opts.runId;
    if (runId === undefined) {
      if (byRun.size > 1) {
        throw new LakeReplayError(
          `the lake ${opts.lake.where} holds ${byRun.size} runs with ${tier} data for ${opts.underlyings.join(',')}: ${[...byRun.keys()].sort().join(', ')}; choose one with --run`,
          '--run',
        );
      }
      runId = [...byRun.keys()][0]!;
    }
    const chosen = byRun.get(runId);
    if (!chosen) throw new LakeReplayError(`run ${runId} has no ${tier} manifests for ${opts.underlyings.join(',')} in ${opts.lake.where} (runs: ${[...byRun.keys()].sort().join(', ') || 'none'})`, '--run');
    const objects = new Map<string, ManifestObject>();
    for (const { manifest } of chosen) for (const o of manifest.objects) if (o.tier === tier) objects.set(o.key, o);
    const sources: Source[] = [];
    for (const o of objects.values()) {
      if (!keyMatches(o.keys)) continue;
      const stream = (o.schema === 'heartbeat.v1' ? streamOfHeartbeat(o.key) : o.schema) as DataInputSchema | null;
      if (!stream || !streams.includes(stream)) continue;
      sources.push({ key: o.key, stream, schema: o.schema, partition: o.partition, order: BigInt(o.first_offset), minTs: BigInt(o.min_ts_ns), maxTs: BigInt(o.max_ts_ns), sha256: o.sha256, tsOrdered: o.ts_ordered });
    }
    const info: LakeRunInfo = {
      run_id: runId,
      kind: chosen[0]!.manifest.kind,
      command: chosen[0]!.manifest.command,
      code_version: [...new Set(chosen.map((c) => c.manifest.code_version))].sort(),
      config_hash: [...new Set(chosen.map((c) => c.manifest.config_hash))].sort(),
      manifests: chosen.length,
    };
    return { sources, foundBy: 'manifest', runs: [info] };
  }
  // Silver is committed per partition directory by `lake compact`'s _manifest.json: only the files it lists are the
  // partition (a compaction killed before its commit leaves files of a generation that never was).
  if (tier === 'bronze') warnings.push(`no ${META_DIR}/ manifests with ${tier} data for ${opts.underlyings.join(',')} in ${opts.lake.where}: files found by listing the dataset directories`);
  const sources: Source[] = [];
  for (const s of streams) {
    for (const [prefix, schema] of [
      [`${dataPath(tier, s)}/`, s],
      [heartbeatPath(tier, s), 'heartbeat.v1'],
    ] as const) {
      const keys = await opts.lake.list(prefix);
      const committed = tier === 'silver' ? await silverCommitted(opts.lake, keys) : null;
      for (const key of keys) {
        if (!key.endsWith('.parquet')) continue;
        // Heartbeat and underlying-partitioned datasets name the key in the path: skip other underlyings unread.
        const m = /\/(?:key|underlying)=([^/]+)\//.exec(key);
        if (m && !keyMatches([decodeURIComponent(m[1]!).replace('__HIVE_DEFAULT_PARTITION__', '')])) continue;
        const file = committed?.get(key);
        if (committed && !file) continue;
        sources.push({ key, stream: s, schema, partition: partitionOf(key), order: windowOf(key), minTs: file ? BigInt(file.min_ts_event_ns) : null, maxTs: file ? BigInt(file.max_ts_event_ns) : null, sha256: null, tsOrdered: true });
      }
    }
  }
  return { sources, foundBy: 'listing', runs: [] };
}

/** The Silver files that their partition's _manifest.json commits, by key, with their event-time span. */
async function silverCommitted(lake: LakeReader, keys: readonly string[]): Promise<Map<string, SilverManifest['files'][number]>> {
  const out = new Map<string, SilverManifest['files'][number]>();
  for (const key of keys) {
    if (!key.endsWith(`/${MANIFEST_NAME}`)) continue;
    const dir = key.slice(0, key.length - MANIFEST_NAME.length);
    for (const f of parseManifest(key, await lake.get(key)).files) out.set(`${dir}${f.name}`, f);
  }
  return out;
}

/**
 * One Parquet object's rows as input events of `schema`: each column is read once (a typed array for a numeric column
 * without nulls: int64 as bigint; else one value per row, null for a null cell, a list as an array), then each event is
 * built by one object literal per (schema, column layout). `schema` first, then the columns in order (MBP-10: its
 * flattened depth columns as the 10-level arrays bid_px, bid_sz, bid_ct, ask_px, ask_sz, ask_ct, after the others).
 * Rows as objects (a property added per cell: dictionaries past a dozen) copied into events cost 14 µs per event,
 * half of it the collector (bench run-bronze).
 */
export function readLakeEvents(bytes: Uint8Array, columns: readonly ColumnSpec[], key: string, schema: InputEvent['schema']): { count: number; event(i: number): InputEvent } {
  const table = arrow.tableFromIPC(readParquet(bytes).intoIPCStream());
  const n = table.numRows;
  const values = columns.map((c): ArrayLike<unknown> => {
    const vec = table.getChild(c.name);
    if (!vec) throw new LakeReplayError(`${key}: column ${c.name} is missing (the object was written with another schema)`, key);
    const numeric = c.type === 'int64' || c.type === 'float64' || c.type === 'int32' || c.type === 'int16' || c.type === 'int8';
    if (numeric && vec.nullCount === 0) return vec.toArray() as ArrayLike<unknown>;
    const out = new Array<unknown>(n);
    let i = 0;
    for (const x of vec as Iterable<unknown>) {
      let v = x === undefined ? null : x;
      if (v !== null && c.type === 'list_int16') v = Array.from(v as Iterable<number>);
      out[i++] = v;
    }
    return out;
  });
  const build = eventBuilder(schema, columns.map((c) => c.name));
  return { count: n, event: (i) => build(values, i) };
}

/** Compiled event literals by schema and column names (a few layouts per process). */
const BUILDERS = new Map<string, (values: ArrayLike<unknown>[], i: number) => InputEvent>();

function eventBuilder(schema: InputEvent['schema'], names: readonly string[]): (values: ArrayLike<unknown>[], i: number) => InputEvent {
  const id = `${schema}|${names.join(',')}`;
  let b = BUILDERS.get(id);
  if (b === undefined) {
    const depth = schema === 'futures.mbp10.v1';
    const at = (name: string): string => `v[${names.indexOf(name)}][i]`;
    const fields = [`schema: ${JSON.stringify(schema)}`];
    for (const name of names) if (!(depth && MBP10_DEPTH_COLUMNS.has(name))) fields.push(`${JSON.stringify(name)}: ${at(name)}`);
    // MBP-10: the flattened depth columns back into their arrays (the inverse of datasets.ts' Bronze row).
    if (depth) for (const a of MBP10_DEPTH_ARRAYS) fields.push(`${a}: [${Array.from({ length: 10 }, (_, k) => at(mbp10DepthColumn(a, k))).join(', ')}]`);
    // Names are the dataset's own column names (datasets.ts), quoted: nothing from a file is compiled.
    b = new Function('v', 'i', `return { ${fields.join(', ')} };`) as (values: ArrayLike<unknown>[], i: number) => InputEvent;
    BUILDERS.set(id, b);
  }
  return b;
}

interface Rec {
  ts: bigint;
  order: bigint;
  pos: number;
  ev: InputEvent;
}

/** Reads the underlyings' input records from the lake and replays them through the processor's task. */
export async function replayFromLake(opts: LakeReplayOptions): Promise<LakeReplayResult> {
  const { cfg } = opts;
  const tier = opts.tier ?? 'bronze';
  const warnings: string[] = [];
  const streams = processorInputs(cfg);
  const warmup = opts.warmupFrom ?? 'earliest';
  const readUntil = opts.toNs === undefined ? undefined : opts.toNs + TAIL_NS;
  const { sources: found, foundBy, runs } = await findSources(opts, streams, tier, warnings);
  const sources = found.filter((s) => (readUntil === undefined || s.minTs === null || s.minTs <= readUntil) && (warmup === 'earliest' || s.maxTs === null || s.maxTs >= warmup));
  if (!sources.some((s) => s.schema !== 'heartbeat.v1')) {
    throw new LakeReplayError(`no ${tier} input data for ${opts.underlyings.join(',')} in ${opts.lake.where}${opts.runId ? ` (run ${opts.runId})` : ''}`, opts.lake.where);
  }
  if (sources.some((s) => !s.tsOrdered)) {
    const bad = sources.filter((s) => !s.tsOrdered).map((s) => s.key);
    warnings.push(`${bad.length} object(s) held rows out of event-time order in the log (e.g. ${bad[0]}); their log order is not recoverable, the replay may differ around them`);
  }
  const hash = configHash(cfg);
  for (const r of runs) if (!r.config_hash.includes(hash)) warnings.push(`run ${r.run_id} was written under config ${r.config_hash.join(',')}, this replay runs config ${hash}: signals differ if the signal settings differ`);

  // Objects are read lazily, in order of their first event time: a record at T is fed to its task only once every
  // object that could hold a record at or before T (first event time ≤ T) is loaded, so memory holds the objects
  // around the replay's frontier, not the session. (A lake found by listing has no times: everything loads first.)
  const started = Date.now();
  const progress = (phase: LakeReplayProgress['phase'], done: number, total: number, t0: number) => {
    if (!opts.onProgress) return;
    const el = (Date.now() - t0) / 1000;
    opts.onProgress({ phase, done, total, elapsed_s: Number(el.toFixed(1)), eta_s: done > 0 && el > 0 ? Number(((el / done) * (total - done)).toFixed(1)) : null });
  };
  const NEG = -(1n << 62n);
  const pending = sources.slice().sort((a, b) => {
    const x = a.minTs ?? NEG;
    const y = b.minTs ?? NEG;
    return x !== y ? (x < y ? -1 : 1) : a.order !== b.order ? (a.order < b.order ? -1 : 1) : a.key < b.key ? -1 : 1;
  });
  const recCmp = (a: Rec, b: Rec) => (a.ts !== b.ts ? (a.ts < b.ts ? -1 : 1) : a.order !== b.order ? (a.order < b.order ? -1 : 1) : a.pos - b.pos);
  interface Lane {
    u: string;
    stream: DataInputSchema;
    list: Rec[];
    at: number;
    next: bigint;
  }
  const tasks = new Map(
    opts.underlyings.map((u) => [
      u,
      {
        task: new PartitionGroupTask({ cfg, group: 0, streams: streams.map((s) => ({ topic: s, schema: s })), startOffsets: new Map(streams.map((s) => [s, 0n])), emitFromNs: opts.fromNs, emitUntilNs: opts.toNs, nowNs: () => 0n }),
        rows: [] as OutputRow[],
        fed: 0,
      },
    ]),
  );
  // One lane per (underlying, input stream): the stream's records of every partition, in log order.
  const lanes = new Map<string, Lane>();
  for (const u of opts.underlyings) for (const st of streams) lanes.set(`${u}|${st}`, { u, stream: st, list: [], at: 0, next: 0n });
  let bytes = 0;
  let loaded = 0;
  const load = async (s: Source) => {
    const data = await opts.lake.get(s.key);
    if (s.sha256 !== null && createHash('sha256').update(data).digest('hex') !== s.sha256) {
      throw new LakeReplayError(`${s.key} does not hold the bytes its manifest records (sha256 differs): another run overwrote it; replay that run or rewrite this one`, s.key);
    }
    bytes += data.byteLength;
    const columns = datasetFor(s.schema as DataInputSchema, s.stream, ['bronze'])!.columns;
    const rows = readLakeEvents(data, columns, s.key, s.schema as InputEvent['schema']);
    // Files named by content (Silver) carry no offset window: a dir's files are cut in event-time order, so the first
    // row's time orders them (equal-time rows across two files keep file order).
    const order = s.order >= 0n || rows.count === 0 ? s.order : rows.event(0).ts_event_ns;
    const add = new Map<Lane, Rec[]>();
    for (let pos = 0; pos < rows.count; pos++) {
      const ev = rows.event(pos);
      if (readUntil !== undefined && ev.ts_event_ns > readUntil) continue;
      if (warmup !== 'earliest' && ev.ts_event_ns < warmup) continue;
      const wild = ev.key === '' || ev.key === '*';
      for (const u of wild ? opts.underlyings : opts.underlyings.includes(ev.key) ? [ev.key] : []) {
        const lane = lanes.get(`${u}|${s.stream}`)!;
        let l = add.get(lane);
        if (!l) add.set(lane, (l = []));
        l.push({ ts: ev.ts_event_ns, order, pos, ev });
      }
    }
    for (const [lane, recs] of add) {
      recs.sort(recCmp);
      // Merge into what the lane has not fed yet (both sorted).
      const rest = lane.list.slice(lane.at);
      const merged: Rec[] = [];
      let i = 0;
      let j = 0;
      while (i < rest.length || j < recs.length) merged.push(j >= recs.length || (i < rest.length && recCmp(rest[i]!, recs[j]!) <= 0) ? rest[i++]! : recs[j++]!);
      lane.list = merged;
      lane.at = 0;
    }
    progress('read', ++loaded, pending.length, started);
  };
  let p = 0;
  let records = 0;
  let deadLetters = 0;
  const laneList = [...lanes.values()];
  for (;;) {
    // The lane whose next record is earliest: keeps the merge's buffers small.
    let best: Lane | null = null;
    for (const l of laneList) if (l.at < l.list.length && (best === null || l.list[l.at]!.ts < best.list[best.at]!.ts)) best = l;
    const frontier = best ? best.list[best.at]!.ts : null;
    if (p < pending.length && (frontier === null || pending[p]!.minTs === null || pending[p]!.minTs! <= frontier)) {
      await load(pending[p++]!);
      continue;
    }
    if (!best) break;
    const r = best.list[best.at]!;
    const t = tasks.get(best.u)!;
    t.task.ingest(best.stream, best.next++, r.ev.key, null, r.ev);
    best.at++;
    if (best.at > 4096 && best.at * 2 > best.list.length) {
      best.list = best.list.slice(best.at);
      best.at = 0;
    }
    records++;
    if (++t.fed % 512 === 0) {
      t.task.pump();
      const o = t.task.takeOutputs();
      t.rows.push(...o.rows);
      deadLetters += o.deadLetters.length;
    }
  }
  // The processor drains its merges at the end of its input (--until-idle) too.
  const out = new Map<string, OutputRow[]>();
  for (const [u, t] of tasks) {
    t.task.pump();
    t.task.drain();
    const o = t.task.takeOutputs();
    t.rows.push(...o.rows);
    deadLetters += o.deadLetters.length;
    out.set(u, t.rows);
  }
  progress('replay', records, records, started);
  opts.logger?.info('lake replay done', { where: opts.lake.where, tier, found_by: foundBy, objects: sources.length, bytes, records, dead_letters: deadLetters, rows: [...out.values()].reduce((a, l) => a + l.length, 0) });
  return { rows: out, found_by: foundBy, runs, objects: sources.length, bytes, records, dead_letters: deadLetters, config_hash: hash, warnings };
}
