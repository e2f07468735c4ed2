// Partition-group state as it travels through the compacted changelog: engines + where the inputs stand.
// Written in the same transaction as the signals and the input offsets, so a restored snapshot always matches the
// committed offsets it names (the snapshot's own `offsets` are what recovery seeks to).
import { promisify } from 'node:util';
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
