// `snap-engine sink lake`: levels.signals.v1 → Gold Parquet (ZSTD, Hive partitions) on S3/MinIO or a local
// DATA_ROOT, exactly-once by deterministic object names (see windows.ts for the boundary rule and docs/fanout.md).
import type { Config, SignalRow } from '@snap/core';
import type { Logger } from '@snap/platform';
import { encodeGoldObject, planWindowObjects } from './objects';
import { objectStoreFor, type ObjectStore } from './object-store';
import { SignalsConsumer, type AssignedPartition, type SignalsHandler } from './signals-consumer';
import { PartitionWindows, type OffsetRecord, type WindowRows } from './windows';

export interface LakeSinkStats {
  windows: number;
  partials: number;
  objects: number;
  rows: number;
  bytes: number;
}

export interface ObjectWritten {
  key: string;
  rows: number;
  bytes: number;
  complete: boolean;
}

/** The lake side of the signals consumer: per-partition offset windows → objects → commit. */
export class LakeSignalsHandler implements SignalsHandler {
  readonly stats: LakeSinkStats = { windows: 0, partials: 0, objects: 0, rows: 0, bytes: 0 };
  private windows = new Map<string, PartitionWindows<SignalRow>>();

  constructor(
    readonly store: ObjectStore,
    readonly opts: { windowSize: number; keyPrefix: string; logger: Logger; onObject?: (o: ObjectWritten) => void },
  ) {}

  assigned(parts: readonly AssignedPartition[]): void {
    this.windows = new Map(parts.map((p) => [`${p.topic}:${p.partition}`, new PartitionWindows<SignalRow>(this.opts.windowSize, p.position)]));
  }

  async batch(topic: string, partition: number, records: OffsetRecord<SignalRow>[], position: bigint): Promise<bigint | null> {
    const w = this.windows.get(`${topic}:${partition}`);
    if (!w) return null;
    const closed: WindowRows<SignalRow>[] = [];
    for (const r of records) closed.push(...w.add(r.offset, r.row));
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

  private async writeWindow(topic: string, partition: number, w: WindowRows<SignalRow>): Promise<void> {
    const objects = planWindowObjects(this.opts.keyPrefix, topic, partition, w);
    for (const o of objects) {
      const bytes = encodeGoldObject(o, topic, partition, w.start);
      await this.store.put(o.key, bytes);
      this.stats.objects++;
      this.stats.bytes += bytes.byteLength;
      this.opts.onObject?.({ key: o.key, rows: o.rows.length, bytes: bytes.byteLength, complete: w.complete });
    }
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
}

export interface LakeSinkOptions {
  cfg: Config;
  logger: Logger;
  untilIdle?: boolean;
  target?: 'local' | 's3';
  /** Overrides lake.sink_group_id. */
  groupId?: string;
  onObject?: (o: ObjectWritten) => void;
}

export interface LakeSinkResult {
  lake: LakeSinkStats;
  consumer: SignalsConsumer['stats'];
  target: string;
}

/** Runs the lake sink until SIGTERM/SIGINT, or with untilIdle until every assigned partition is written and committed. */
export async function runLakeSink(opts: LakeSinkOptions): Promise<LakeSinkResult> {
  const { cfg, logger } = opts;
  const store = objectStoreFor(cfg, opts.target ?? cfg.lake.sink_target);
  await store.prepare();
  const handler = new LakeSignalsHandler(store, { windowSize: cfg.lake.flush_rows, keyPrefix: cfg.lake.key_prefix, logger, onObject: opts.onObject });
  const consumer = new SignalsConsumer(
    { cfg, groupId: opts.groupId ?? cfg.lake.sink_group_id, name: 'lake sink', logger, untilIdle: opts.untilIdle, idleEveryMs: cfg.lake.partial_flush_ms },
    handler,
  );
  const onSignal = () => void consumer.stop();
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  try {
    logger.info('lake sink target', { target: store.where, window_rows: cfg.lake.flush_rows, key_prefix: cfg.lake.key_prefix });
    await consumer.start();
    await consumer.wait();
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    store.close();
  }
  return { lake: handler.stats, consumer: consumer.stats, target: store.where };
}
