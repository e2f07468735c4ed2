// `snap-engine sink redis`: levels.signals.v1 → latest features per level in Redis (redis-features.ts).
// Offsets are committed after each batch's pipeline is acknowledged. A crash in between replays the batch, which the
// compare-and-set on event time makes harmless: the same rows rewrite the same values, older ones lose.
import type { Config } from '@snap/core';
import { SIGNALS_TOPIC, recordToSignalRow, redisSinkGroupId, topicName, type Decoded, type Logger, type SignalRecord } from '@snap/platform';
import Redis from 'ioredis';
import { RedisFeatureWriter, type FeatureWriteResult } from './redis-features';
import { EnvelopeConsumer, type EnvelopeHandler } from './envelope-consumer';
import type { OffsetRecord } from './windows';

export class RedisSignalsHandler implements EnvelopeHandler {
  readonly stats = { batches: 0, written: 0, stale: 0 };
  constructor(
    readonly writer: RedisFeatureWriter,
    readonly logger: Logger,
  ) {}
  assigned(): void {}
  async batch(_topic: string, _partition: number, records: OffsetRecord<Decoded>[], position: bigint): Promise<bigint | null> {
    const rows = records.filter((x) => x.row.schemaName === 'levels.signals.v1').map((x) => recordToSignalRow(x.row.value as SignalRecord));
    if (rows.length) {
      const r: FeatureWriteResult = await this.writer.write(rows);
      this.stats.batches++;
      this.stats.written += r.written;
      this.stats.stale += r.stale;
      this.logger.debug('features written', { rows: rows.length, ...r });
    }
    return position;
  }
  async idle(): Promise<void> {}
}

export interface RedisSinkOptions {
  cfg: Config;
  logger: Logger;
  untilIdle?: boolean;
  groupId?: string;
}

export async function runRedisSink(opts: RedisSinkOptions): Promise<{ redis: RedisSignalsHandler['stats']; consumer: EnvelopeConsumer['stats'] }> {
  const { cfg, logger } = opts;
  const redis = new Redis(cfg.redis.url, { lazyConnect: true, maxRetriesPerRequest: 3 });
  await redis.connect();
  const handler = new RedisSignalsHandler(new RedisFeatureWriter(redis, { keyPrefix: cfg.redis.key_prefix, ttlSeconds: cfg.redis.ttl_s }), logger);
  const consumer = new EnvelopeConsumer({ cfg, topics: [topicName(cfg, SIGNALS_TOPIC)], groupId: opts.groupId ?? redisSinkGroupId(cfg), name: 'redis sink', logger, untilIdle: opts.untilIdle }, handler);
  const onSignal = () => void consumer.stop();
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  try {
    logger.info('redis sink target', { url: cfg.redis.url.replace(/\/\/[^@/]*@/, '//***@'), key_prefix: cfg.redis.key_prefix, ttl_s: cfg.redis.ttl_s });
    await consumer.start();
    await consumer.wait();
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    redis.disconnect();
  }
  return { redis: handler.stats, consumer: consumer.stats };
}
