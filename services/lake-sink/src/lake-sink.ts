// `snap-engine sink lake`: levels.signals.v1 → Gold, input topics → Bronze; ZSTD Parquet in Hive partitions on
// S3/MinIO or a local DATA_ROOT, exactly-once by deterministic object names (windows.ts has the boundary rule;
// docs/fanout.md the argument).
import type { Config } from '@snap/core';
import { INPUT_TOPICS, SIGNALS_TOPIC, lakeSinkGroupId, topicName, type Decoded, type Logger } from '@snap/platform';
import { datasetFor, estimateRowBytes, type LakeTier } from './datasets';
import { EnvelopeConsumer, type AssignedPartition, type ConsumerContext, type EnvelopeHandler } from './envelope-consumer';
import { OutageTracker, retryTransient } from './retry';
import { encodeLakeObject, planWindowObjects, type LakeRecord } from './objects';
import { objectStoreFor, type ObjectStore } from './object-store';
import { PartitionWindows, type OffsetRecord, type WindowRows } from './windows';
import { buildManifest, configHash, encodeManifest, manifestObject, sinkRunId, tsOrderedByDatasetKey, windowManifestKey, writeSchemaSnapshots, type ManifestObject } from './manifest';

export interface LakeSinkStats {
  windows: number;
  partials: number;
  objects: number;
  rows: number;
  bytes: number;
  /** Records whose value could not be stored faithfully (logged with topic/partition/offset). */
  unmapped: number;
  /** Store outages waited out (each logged once when it began and once when it ended) and their total length. */
  outages: number;
  outage_s: number;
}

export interface ObjectWritten {
  key: string;
  rows: number;
  bytes: number;
  complete: boolean;
}

/** The lake side of the signals consumer: per-partition offset windows → objects → commit. */
export class LakeHandler implements EnvelopeHandler {
  readonly stats: LakeSinkStats = { windows: 0, partials: 0, objects: 0, rows: 0, bytes: 0, unmapped: 0, outages: 0, outage_s: 0 };
  private windows = new Map<string, PartitionWindows<LakeRecord>>();
  private ctx: ConsumerContext = { heartbeat: async () => undefined, stopping: () => false };
  private readonly outage: OutageTracker;

  constructor(
    readonly store: ObjectStore,
    readonly opts: {
      windowSize: number;
      /** lake.max_file_age_ms / lake.max_file_bytes: early window closes (windows.ts); 0 / undefined = off. */
      maxFileAgeMs?: number;
      maxFileBytes?: number;
      keyPrefix: string;
      /** Topic prefix, stripped to name a heartbeat's stream. */
      topicPrefix: string;
      tiers: readonly LakeTier[];
      logger: Logger;
      onObject?: (o: ObjectWritten) => void;
      /** Write a _meta/ manifest per window (manifest.ts) for this run id and config hash. */
      manifest?: { runId: string; configHash: string };
    },
  ) {
    this.outage = new OutageTracker(store.where, opts.logger);
  }

  attach(ctx: ConsumerContext): void {
    this.ctx = ctx;
  }

  buffered(): Map<string, number> {
    return new Map([...this.windows].map(([k, w]) => [k, w.openRows]));
  }

  assigned(parts: readonly AssignedPartition[]): void {
    const rules = {
      maxAgeNs: BigInt(this.opts.maxFileAgeMs ?? 0) * 1_000_000n,
      tsOf: (r: LakeRecord) => r.row.ts_event_ns,
      maxBytes: this.opts.maxFileBytes,
      bytesOf: (r: LakeRecord) => estimateRowBytes(r.dataset.columns, r.row),
    };
    this.windows = new Map(parts.map((p) => [`${p.topic}:${p.partition}`, new PartitionWindows<LakeRecord>(this.opts.windowSize, p.position, rules)]));
  }

  private toLakeRecord(topic: string, partition: number, r: OffsetRecord<Decoded>): LakeRecord | null {
    const base = topic.startsWith(this.opts.topicPrefix) ? topic.slice(this.opts.topicPrefix.length) : topic;
    const dataset = datasetFor(r.row.schemaName, base, this.opts.tiers);
    if (!dataset) return null;
    try {
      return { dataset, row: dataset.toRow(r.row.value) };
    } catch (e) {
      // Cannot be stored faithfully (e.g. a condition code beyond §2.4's int16): it stays in the log, not in the lake.
      this.stats.unmapped++;
      this.opts.logger.error('record not written to the lake', { topic, partition, offset: r.offset, schema: r.row.schemaName, error: e as Error });
      return null;
    }
  }

  async batch(topic: string, partition: number, records: OffsetRecord<Decoded>[], position: bigint): Promise<bigint | null> {
    const w = this.windows.get(`${topic}:${partition}`);
    if (!w) return null;
    const closed: WindowRows<LakeRecord>[] = [];
    for (const r of records) {
      const rec = this.toLakeRecord(topic, partition, r);
      // Records with no dataset still move the position (below), like transaction markers.
      if (rec) closed.push(...w.add(r.offset, rec));
    }
    closed.push(...w.advance(position));
    for (const c of closed) await this.writeWindow(topic, partition, c);
    // Only now, with every closed window durable, is the next window start safe to commit.
    return w.commitOffset();
  }

  async idle(_final: boolean): Promise<void> {
    for (const [k, w] of this.windows) {
      const p = w.partial();
      if (!p) continue;
      const i = k.lastIndexOf(':');
      await this.writeWindow(k.slice(0, i), Number(k.slice(i + 1)), p);
      w.partialDone(p);
    }
  }

  private async writeWindow(topic: string, partition: number, w: WindowRows<LakeRecord>): Promise<void> {
    const objects = planWindowObjects(this.opts.keyPrefix, topic, partition, w);
    const tsOrdered = this.opts.manifest ? tsOrderedByDatasetKey(w.records) : null;
    const entries: ManifestObject[] = [];
    for (const o of objects) {
      const bytes = encodeLakeObject(o, topic, partition, w.start);
      if (tsOrdered) entries.push(manifestObject(o, this.opts.keyPrefix, topic, partition, bytes, tsOrdered(o)));
      // The same key and bytes on every attempt: a retried PUT is the exactly-once overwrite of docs/fanout.md.
      await retryTransient(() => this.store.put(o.key, bytes), {
        what: `PUT ${o.key}`,
        target: this.store.where,
        logger: this.opts.logger,
        transient: (e) => this.store.transient(e),
        stopping: this.ctx.stopping,
        onWait: this.ctx.heartbeat,
      }, this.outage);
      this.stats.outages = this.outage.outages;
      this.stats.outage_s = Number(this.outage.downSeconds.toFixed(3));
      await this.ctx.heartbeat();
      this.stats.objects++;
      this.stats.bytes += bytes.byteLength;
      this.opts.onObject?.({ key: o.key, rows: o.rows.length, bytes: bytes.byteLength, complete: w.complete });
    }
    // After the objects, before the commit: a crash in between redoes the window, manifest included.
    if (this.opts.manifest && objects.length) await this.putManifest(topic, partition, w, entries);
    this.stats.rows += w.records.length;
    if (w.complete) this.stats.windows++;
    else this.stats.partials++;
    this.opts.logger.info(w.complete ? 'window flushed' : 'partial window flushed (replaced when the window closes)', {
      topic,
      partition,
      window_start: w.start,
      window_end: w.end,
      rows: w.records.length,
      objects: objects.map((o) => o.key),
      target: this.store.where,
    });
  }

  private async putManifest(topic: string, partition: number, w: WindowRows<LakeRecord>, objects: ManifestObject[]): Promise<void> {
    const { runId, configHash: hash } = this.opts.manifest!;
    const key = windowManifestKey(this.opts.keyPrefix, runId, topic, partition, w.start);
    const first = w.records[0]?.offset ?? null;
    const last = w.records[w.records.length - 1]?.offset ?? null;
    const m = buildManifest({
      kind: 'sink-window',
      run_id: runId,
      config_hash: hash,
      command: 'sink lake',
      inputs: [{ kind: 'kafka', topic, partition, window_start: w.start.toString(), window_end: w.end.toString(), first_offset: first?.toString() ?? null, last_offset: last?.toString() ?? null, complete: w.complete }],
      objects,
    });
    const bytes = encodeManifest(m);
    await retryTransient(() => this.store.put(key, bytes), { what: `PUT ${key}`, target: this.store.where, logger: this.opts.logger, transient: (e) => this.store.transient(e), stopping: this.ctx.stopping, onWait: this.ctx.heartbeat }, this.outage);
  }
}

export interface LakeSinkOptions {
  cfg: Config;
  logger: Logger;
  untilIdle?: boolean;
  target?: 'local' | 's3';
  /** Overrides lake.sink_tiers. */
  tiers?: LakeTier[];
  /** Overrides lake.sink_group_id. */
  groupId?: string;
  onObject?: (o: ObjectWritten) => void;
  /** Offsets read against offsets to read (EnvelopeConsumerOptions.onProgress). */
  onProgress?: (done: number, total: number) => void;
}

export interface LakeSinkResult {
  lake: LakeSinkStats;
  consumer: EnvelopeConsumer['stats'];
  target: string;
}

/** Runs the lake sink until SIGTERM/SIGINT, or with untilIdle until every assigned partition is written and committed. */
export async function runLakeSink(opts: LakeSinkOptions): Promise<LakeSinkResult> {
  const { cfg, logger } = opts;
  const store = objectStoreFor(cfg, opts.target ?? cfg.lake.sink_target);
  let stopping = false;
  const stopEarly = () => {
    stopping = true;
  };
  process.once('SIGTERM', stopEarly);
  process.once('SIGINT', stopEarly);
  try {
    // A store that is down at start is waited for like one that goes down later.
    // With the schema snapshots (_meta/schemas/…): idempotent PUTs of fixed bytes, once per start.
    await retryTransient(async () => (await store.prepare(), await writeSchemaSnapshots(store, cfg.lake.key_prefix)), { what: 'prepare', target: store.where, logger, transient: (e) => store.transient(e), stopping: () => stopping }, new OutageTracker(store.where, logger));
  } finally {
    process.off('SIGTERM', stopEarly);
    process.off('SIGINT', stopEarly);
  }
  const tiers = opts.tiers ?? cfg.lake.sink_tiers;
  const topics = [...(tiers.includes('gold') ? [topicName(cfg, SIGNALS_TOPIC)] : []), ...(tiers.includes('bronze') ? INPUT_TOPICS.map((t) => topicName(cfg, t)) : [])];
  const manifest = { runId: sinkRunId(cfg.kafka.topic_prefix), configHash: configHash(cfg) };
  const handler = new LakeHandler(store, { windowSize: cfg.lake.flush_rows, maxFileAgeMs: cfg.lake.max_file_age_ms, maxFileBytes: cfg.lake.max_file_bytes, keyPrefix: cfg.lake.key_prefix, topicPrefix: cfg.kafka.topic_prefix, tiers, logger, onObject: opts.onObject, manifest });
  const consumer = new EnvelopeConsumer(
    { cfg, topics, groupId: opts.groupId ?? lakeSinkGroupId(cfg), name: 'lake sink', logger, untilIdle: opts.untilIdle, idleEveryMs: cfg.lake.partial_flush_ms, maxBufferedRows: cfg.lake.max_buffer_rows, onProgress: opts.onProgress },
    handler,
  );
  const onSignal = () => void consumer.stop();
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  try {
    logger.info('lake sink target', { target: store.where, tiers, window_offsets: cfg.lake.flush_rows, max_file_age_ms: cfg.lake.max_file_age_ms, max_file_bytes: cfg.lake.max_file_bytes, key_prefix: cfg.lake.key_prefix });
    await consumer.start();
    await consumer.wait();
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    store.close();
  }
  return { lake: handler.stats, consumer: consumer.stats, target: store.where };
}
