// The lake sink's window manifests (LakeHandler over an in-memory store): one per window after its objects, listing
// each object's key, rows and sha256; a redone window rewrites the same manifest bytes (exactly once like the
// objects); the config hash follows the signal settings only.
import { createHash } from 'node:crypto';
import type { InputEvent } from '@snap/core';
import { createLogger, loadConfig, toRecord, type Decoded, type SchemaName } from '@snap/platform';
import { sampleValue } from '../../../packages/platform/src/envelope-samples';
import { LakeHandler } from './lake-sink';
import { configHash, parseLakeManifest, schemaSnapshots, sinkRunId, windowManifestKey, type LakeManifest } from './manifest';
import type { ObjectStore } from './object-store';

class MemoryStore implements ObjectStore {
  readonly where = 'memory://';
  readonly objects = new Map<string, Uint8Array>();
  readonly puts: string[] = [];
  async prepare(): Promise<void> {}
  async put(key: string, bytes: Uint8Array): Promise<void> {
    this.objects.set(key, bytes);
    this.puts.push(key);
  }
  transient(): boolean {
    return false;
  }
  close(): void {}
}

const quiet = createLogger({ write: () => undefined });
const TOPIC = 'p-stocks.quotes.v1';

/** Quotes 0..n-1 and a heartbeat every 4th offset, as decoded records of one partition. */
function records(n: number) {
  return Array.from({ length: n }, (_, i) => {
    const hb = i % 4 === 3;
    const s: SchemaName = hb ? 'heartbeat.v1' : 'stocks.quotes.v1';
    const value = toRecord(sampleValue(s, i) as InputEvent) as unknown;
    return { offset: BigInt(i), row: { schemaName: s, schemaId: 1, value } as Decoded };
  });
}

async function sinkWindow(store: MemoryStore) {
  const h = new LakeHandler(store, { windowSize: 10, keyPrefix: 'env/', topicPrefix: 'p-', tiers: ['bronze'], logger: quiet, manifest: { runId: sinkRunId('p-'), configHash: 'cfg' } });
  h.assigned([{ topic: TOPIC, partition: 2, position: 0n }]);
  // Position 11 (past a transaction marker at 10): the window [0, 10) is closed.
  await h.batch(TOPIC, 2, records(10), 11n);
  return h;
}

describe('lake sink window manifests', () => {
  it('writes the manifest after the window objects, naming each with its rows and sha256', async () => {
    const store = new MemoryStore();
    await sinkWindow(store);
    const key = windowManifestKey('env/', 'sink-p', TOPIC, 2, 0n);
    expect(store.puts[store.puts.length - 1]).toBe(key);
    const m: LakeManifest = parseLakeManifest(Buffer.from(store.objects.get(key)!).toString('utf8'), key);
    expect(m).toMatchObject({ kind: 'sink-window', run_id: 'sink-p', config_hash: 'cfg', command: 'sink lake' });
    expect(m.inputs).toEqual([{ kind: 'kafka', topic: TOPIC, partition: 2, window_start: '0', window_end: '10', first_offset: '0', last_offset: '9', complete: true }]);
    expect(m.objects.map((o) => o.dataset).sort()).toEqual(['bronze/heartbeats', 'bronze/stocks/quotes']);
    expect(m.row_counts).toEqual({ 'bronze/heartbeats': 2, 'bronze/stocks/quotes': 8 });
    for (const o of m.objects) {
      // Keys below the key prefix: a reader rooted at s3://bucket/env/ finds them.
      const bytes = store.objects.get(`env/${o.key}`)!;
      expect(o.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
      expect(o).toMatchObject({ topic: TOPIC, partition: 2, keys: ['SPY'], ts_ordered: true, bytes: bytes.byteLength });
    }
  });

  it('a redone window (a restart before the commit) rewrites the same manifest bytes', async () => {
    const a = new MemoryStore();
    const b = new MemoryStore();
    await sinkWindow(a);
    await sinkWindow(b);
    expect([...b.objects.keys()].sort()).toEqual([...a.objects.keys()].sort());
    for (const [k, v] of a.objects) expect(Buffer.from(b.objects.get(k)!).equals(Buffer.from(v))).toBe(true);
  });

  it('flags an object whose rows were not in event-time order in the log', async () => {
    const store = new MemoryStore();
    const h = new LakeHandler(store, { windowSize: 10, keyPrefix: '', topicPrefix: 'p-', tiers: ['bronze'], logger: quiet, manifest: { runId: 'r', configHash: 'c' } });
    h.assigned([{ topic: TOPIC, partition: 0, position: 0n }]);
    const recs = records(10).filter((r) => r.row.schemaName === 'stocks.quotes.v1');
    // Offsets 1 and 2 carry each other's record: event time goes back once in offset order.
    [recs[1]!.row, recs[2]!.row] = [recs[2]!.row, recs[1]!.row];
    await h.batch(TOPIC, 0, recs, 11n);
    const m = parseLakeManifest(Buffer.from(store.objects.get(windowManifestKey('', 'r', TOPIC, 0, 0n))!).toString('utf8'), 'k');
    expect(m.objects.map((o) => o.ts_ordered)).toEqual([false]);
  });

  it('config hash: signal settings change it, connection settings do not; schema snapshots are content-addressed', () => {
    const base = loadConfig({ env: {} });
    expect(configHash(loadConfig({ env: { KAFKA_BROKERS: 'elsewhere:9092', S3_BUCKET: 'other' } }))).toBe(configHash(base));
    expect(configHash(loadConfig({ env: { SNAP_TAPE_WINDOW_MS: '7000' } }))).not.toBe(configHash(base));
    const snaps = schemaSnapshots();
    for (const [key, bytes] of snaps) {
      const m = /^_meta\/schemas\/(avro|parquet)\/.+\/([0-9a-f]{64})\.(avsc|json)$/.exec(key);
      expect(m).not.toBeNull();
      if (m![1] === 'parquet') expect(JSON.parse(Buffer.from(bytes).toString('utf8')).columns.length).toBeGreaterThan(0);
    }
    expect([...snaps.keys()]).toEqual([...schemaSnapshots().keys()]);
  });
});
