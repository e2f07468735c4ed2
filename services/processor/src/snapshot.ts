// Partition-group state as it travels through the compacted changelog: engines + where the inputs stand.
// Written in a transaction with signals and input offsets at or past its own `offsets` (live, a snapshot captured at
// one commit point is carried by a later transaction): recovery seeks to the snapshot's offsets and replays up to the
// committed ones with their outputs suppressed.
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Worker } from 'node:worker_threads';
import { gunzipSync, gzip, gzipSync } from 'node:zlib';
import { SnapshotError } from '@snap/core';

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
 * The live snapshot's gzip level. Its compression runs on the encoder thread, i.e. on the core the broker, the
 * producers and the consumers share with us (two cores in colocation-sized pods and on the build machines): level 1
 * deflates a 250k-flow window's 8.3 MB of JSON in ~50 ms of CPU against ~220 ms at the default 6, for a record 1.74 MB instead of 1.59 MB.
 */
const LIVE_GZIP_LEVEL = 1;

/** The off-thread encoder failed (its worker could not start, died, or could not encode this snapshot). */
export class SnapshotEncodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SnapshotEncodeError';
  }
}

/** Arrays of numbers at least this long travel to the encoder as Float64Arrays (their buffers moved, not copied). */
const TRANSFER_MIN_ELEMENTS = 256;

/**
 * `v` with every long array of numbers replaced by a Float64Array copy, whose buffer goes into `buffers` (to be
 * transferred). Structured cloning the state as it is cost more main-thread time than its JSON (~200 ms for a
 * 250k-flow window: every number of the flow columns is a heap value); the copies cost ~20 ms and the clone of
 * the rest (tape and fuel windows, per-level state) ~20 ms. The captured snapshot itself is left as it is: parents
 * of a replaced array are shallow copies.
 */
function allNumbers(v: readonly unknown[]): boolean {
  for (let i = 0; i < v.length; i++) if (typeof v[i] !== 'number') return false;
  return true;
}

function toTransferable(v: unknown, buffers: ArrayBuffer[]): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) {
    if (v.length >= TRANSFER_MIN_ELEMENTS && allNumbers(v)) {
      // The constructor copies a JS array of numbers in bulk (several times a per-element loop).
      const f = new Float64Array(v as number[]);
      buffers.push(f.buffer);
      return f;
    }
    let copy: unknown[] | null = null;
    for (let i = 0; i < v.length; i++) {
      const x = toTransferable(v[i], buffers);
      if (x !== v[i]) (copy ??= v.slice())[i] = x;
    }
    return copy ?? v;
  }
  const o = v as Record<string, unknown>;
  let copy: Record<string, unknown> | null = null;
  for (const k of Object.keys(o)) {
    const x = toTransferable(o[k], buffers);
    if (x !== o[k]) (copy ??= { ...o })[k] = x;
  }
  return copy ?? o;
}

interface EncoderReply {
  id: number;
  bytes?: Uint8Array;
  error?: string;
}

interface EncoderThread {
  worker: Worker;
  /** Requests posted and not answered yet, by id. */
  pending: Map<number, { resolve: (b: Buffer) => void; reject: (e: Error) => void }>;
}

/** The encoder thread, started on first use and shared by every group (one snapshot encoded at a time). */
let encoder: EncoderThread | null = null;
let nextRequest = 0;

function encoderThread(): EncoderThread {
  if (encoder) return encoder;
  const worker = new Worker(join(__dirname, 'snapshot-encoder.worker.cjs'));
  const e: EncoderThread = { worker, pending: new Map() };
  const failAll = (err: Error) => {
    if (encoder === e) encoder = null; // the next snapshot starts a new thread
    for (const p of e.pending.values()) p.reject(err);
    e.pending.clear();
  };
  worker.on('message', (m: EncoderReply) => {
    const p = e.pending.get(m.id);
    if (!p) return;
    e.pending.delete(m.id);
    if (e.pending.size === 0) worker.unref();
    if (m.bytes) p.resolve(Buffer.from(m.bytes.buffer, m.bytes.byteOffset, m.bytes.byteLength));
    else p.reject(new SnapshotEncodeError(`state snapshot could not be encoded: ${m.error ?? 'no reason given'}`));
  });
  worker.on('error', (err) => failAll(new SnapshotEncodeError(`snapshot encoder thread failed: ${err.message}`)));
  worker.on('exit', (code) => failAll(new SnapshotEncodeError(`snapshot encoder thread exited (code ${code})`)));
  // Referenced only while a snapshot is being encoded (see encodeSnapshotOffThread): idle, it must not keep a stopping
  // processor (or a test run) alive. After the listeners: adding a 'message' listener refs the worker's port again.
  worker.unref();
  encoder = e;
  return e;
}

/**
 * encodeSnapshot for the live processor with the JSON text and the gzip on a worker thread: at 50k events/s the state
 * is ~10 MB of JSON (~110 ms of JSON.stringify, 50 ms of gzip at level 1), main-thread time a processor with ~0.6 of
 * a core took from the next ticks. What stays on the main thread is `toTransferable` and the structured clone of the
 * rest (~40 ms). The bytes may differ from encodeSnapshot's (gzip level); they decode to the same JSON text.
 */
export function encodeSnapshotOffThread(s: GroupSnapshot): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const { worker, pending } = encoderThread();
    const id = nextRequest++;
    const buffers: ArrayBuffer[] = [];
    const snapshot = toTransferable(s, buffers);
    if (pending.size === 0) worker.ref();
    pending.set(id, { resolve, reject });
    try {
      worker.postMessage({ id, snapshot, level: LIVE_GZIP_LEVEL }, buffers);
    } catch (e) {
      // Not cloneable (a function or symbol in the state): JSON.stringify would have left it out, but the state is
      // plain data by contract (the core's state codec), so this is a bug to report, not to paper over.
      pending.delete(id);
      if (pending.size === 0) worker.unref();
      reject(new SnapshotEncodeError(`state snapshot could not be handed to the encoder thread: ${(e as Error).message}`));
    }
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
