// Partition-group state as it travels through the compacted changelog: engines + where the inputs stand.
// Written in a transaction with signals and input offsets at or past its own `offsets` (live, a snapshot captured at
// one commit point is carried by a later transaction): recovery seeks to the snapshot's offsets and replays up to the
// committed ones with their outputs suppressed.
import { promisify } from 'node:util';
import { createGzip, gunzipSync, gzip, gzipSync } from 'node:zlib';
import { SnapshotError, type SlicedJson } from '@snap/core';

export const SNAPSHOT_VERSION = 1;

export interface GroupSnapshot {
  v: number;
  /** Partition group (the partition number shared by every input topic). */
  group: number;
  /** Per input topic: the first offset not yet released by the merge (= the committed consumer offset). */
  offsets: Record<string, string>;
  /** Per input topic: the largest ts_event_ns released so far (restores the merge watermark and the lateness check). */
  released_ts: Record<string, string>;
  /** The lateness rule's watermarks at the release frontier: schema → underlying → ts (absent in older snapshots). */
  late_marks?: Record<string, Record<string, string>>;
  /** Per underlying: SnapEngine.snapshot(). */
  engines: Record<string, unknown>;
  /** Per underlying: `source` of the last non-heartbeat event, stamped on its signal records. */
  sources: Record<string, string>;
  /** Transactions committed for this group since it first started (diagnostics only). */
  commits: number;
}

export const changelogKey = (group: number): string => `pg-${group}`;

/** gzip'd JSON (engine snapshots are already plain JSON, bigints tagged by the core's state codec): engine state is mostly repeated field names, so it compresses ~10×, keeping records well under 1 MB. */
export function encodeSnapshot(s: GroupSnapshot): Buffer {
  return gzipSync(snapshotJson(s));
}

const snapshotJson = (s: GroupSnapshot): Buffer => Buffer.from(JSON.stringify(s), 'utf8');

const gzipAsync = promisify(gzip);

/** encodeSnapshot with the compression on libuv's thread pool: the live processor keeps fetching meanwhile. Same bytes. */
export async function encodeSnapshotAsync(s: GroupSnapshot): Promise<Buffer> {
  return gzipAsync(snapshotJson(s));
}

/**
 * The live snapshot's gzip level. Its compression runs on libuv's thread pool, i.e. on the core the broker, the
 * producers and the consumers share with us (two cores in colocation-sized pods and on the build machines): level 1
 * deflates a 250k-flow window's 8.3 MB of JSON in ~50 ms of CPU against ~220 ms at the default 6, for a record 1.74 MB instead of 1.59 MB.
 */
const SLICED_GZIP_LEVEL = 1;

/** Arrays longer than this are written in runs of this many elements (one JSON.stringify each) between yields. */
const SLICE_ELEMENTS = 512;

/**
 * Main-thread time of one slice of the live snapshot's JSON. Every I/O callback that falls due meanwhile (a fetch, a
 * transaction's next round trip) waits up to this long, and a transaction has five round trips: at 5 ms, with ~0.1–0.3 s
 * of slices at 50k events/s, the ticks committed during the snapshot became visible 100–210 ms after they closed (the
 * latency bench's p99 370 / 272 / 317 ms); at 1 ms 74–89 ms (p99 282 / 290 / 274 ms), for the same processor CPU
 * (three alternating pairs, docs/performance.md).
 */
const SLICE_BUDGET_MS = 1;

const isSlicedJson = (x: unknown): x is SlicedJson => typeof x === 'object' && x !== null && typeof (x as Partial<SlicedJson>).build === 'function';

/**
 * The JSON text of `v`, byte for byte what JSON.stringify(v) gives for plain data, handed to `sink` in pieces with a
 * yield to the event loop whenever `budgetMs` of main-thread time has gone by: at 50k events/s the state is ~30 MB of
 * JSON and one JSON.stringify held the event loop ~0.4 s, so fetches, the engines and the next transaction's round
 * trips all waited behind it (the latency bench's slowest ticks). Objects are walked key by key, long arrays in runs of
 * SLICE_ELEMENTS, a captured part (SlicedJson: the L1 flow window of SnapEngine.capture) built in its steps and then
 * walked; anything else (and anything with a toJSON or a non-plain prototype) goes through JSON.stringify whole.
 */
export async function stringifySliced(v: unknown, sink: (piece: string) => void, budgetMs = SLICE_BUDGET_MS): Promise<void> {
  let sliceStart = performance.now();
  const pause = async () => {
    if (performance.now() - sliceStart < budgetMs) return;
    await new Promise<void>((r) => setImmediate(r));
    sliceStart = performance.now();
  };
  const walk = async (x: unknown): Promise<void> => {
    if (isSlicedJson(x)) {
      const steps = x.build();
      for (let r = steps.next(); ; r = steps.next()) {
        if (r.done) return walk(r.value);
        await pause();
      }
    }
    if (x === null || typeof x !== 'object' || typeof (x as { toJSON?: unknown }).toJSON === 'function') {
      sink(JSON.stringify(x));
      return;
    }
    if (Array.isArray(x)) {
      if (x.length <= SLICE_ELEMENTS) {
        sink(JSON.stringify(x));
        return;
      }
      sink('[');
      for (let i = 0; i < x.length; i += SLICE_ELEMENTS) {
        const run = JSON.stringify(x.slice(i, i + SLICE_ELEMENTS));
        sink((i > 0 ? ',' : '') + run.slice(1, -1));
        await pause();
      }
      sink(']');
      return;
    }
    const proto = Object.getPrototypeOf(x) as unknown;
    if (proto !== Object.prototype && proto !== null) {
      sink(JSON.stringify(x));
      return;
    }
    sink('{');
    let first = true;
    const o = x as Record<string, unknown>;
    for (const k of Object.keys(o)) {
      const val = o[k];
      // JSON.stringify leaves these keys out of an object.
      if (val === undefined || typeof val === 'function' || typeof val === 'symbol') continue;
      sink(`${first ? '' : ','}${JSON.stringify(k)}:`);
      first = false;
      await walk(val);
      await pause();
    }
    sink('}');
  };
  await walk(v);
}

/**
 * encodeSnapshot for the live processor, the main thread never busy for long: the JSON is written in slices
 * (stringifySliced) straight into a gzip stream, whose compression runs on libuv's thread pool meanwhile. The bytes
 * may differ from encodeSnapshot's (deflate block boundaries); they decode to the same JSON text.
 */
export function encodeSnapshotSliced(s: GroupSnapshot, budgetMs = SLICE_BUDGET_MS): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const z = createGzip({ level: SLICED_GZIP_LEVEL });
    const out: Buffer[] = [];
    z.on('data', (b: Buffer) => out.push(b));
    z.once('error', reject);
    z.once('end', () => resolve(Buffer.concat(out)));
    // Pieces are gathered into ~1 MiB writes: one zlib call per small piece would cost more than the text itself.
    let pending: string[] = [];
    let pendingChars = 0;
    const flush = () => {
      if (pendingChars === 0) return;
      z.write(Buffer.from(pending.join(''), 'utf8'));
      pending = [];
      pendingChars = 0;
    };
    stringifySliced(
      s,
      (piece) => {
        pending.push(piece);
        pendingChars += piece.length;
        if (pendingChars >= 1 << 20) flush();
      },
      budgetMs,
    ).then(
      () => {
        flush();
        z.end();
      },
      (e: unknown) => {
        z.destroy();
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

export function decodeSnapshot(key: string, buf: Buffer): GroupSnapshot {
  let s: GroupSnapshot;
  try {
    s = JSON.parse(gunzipSync(buf).toString('utf8')) as GroupSnapshot;
  } catch (e) {
    throw new SnapshotError(`changelog record ${key} is not a gzip'd JSON snapshot: ${(e as Error).message}`, key);
  }
  if (s?.v !== SNAPSHOT_VERSION) throw new SnapshotError(`changelog record ${key} has snapshot version ${String(s?.v)}, this build reads ${SNAPSHOT_VERSION}`, key);
  if (typeof s.group !== 'number' || !s.offsets || !s.engines) throw new SnapshotError(`changelog record ${key} lacks group/offsets/engines`, key);
  return s;
}
