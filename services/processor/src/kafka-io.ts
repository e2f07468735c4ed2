// Bounded reads of Kafka partitions (kafkajs has no manual-assign consumer): a throwaway consumer group subscribes,
// seeks each partition to its start, and stops once every partition reached the end offsets taken when the read
// began. Used to restore changelog snapshots, for replay and for parity checks. Read read_committed, so aborted
// transactions are never seen; progress counts control records too (a committed transaction ends in a marker that
// never reaches eachBatch).
import { randomUUID } from 'node:crypto';
import type { InputEvent } from '@snap/core';
import { CodecError, type EnvelopeCodec } from '@snap/platform';
import type { Admin, Kafka, KafkaMessage } from 'kafkajs';

export interface PartitionRange {
  topic: string;
  partition: number;
  /** First offset to read. */
  from: bigint;
  /** Stop before this offset (exclusive); default: the partition's end offset when the read starts. */
  until?: bigint;
}

export interface ReadOptions {
  readCommitted?: boolean;
  /** Called in offset order per partition (partitions interleave). */
  onMessage: (topic: string, partition: number, message: KafkaMessage) => void | Promise<void>;
  onProgress?: (read: number) => void;
}

export const tpKey = (topic: string, partition: number) => `${topic}:${partition}`;

/**
 * An input-topic message value as a PartitionGroupTask ingests it: the event, or the CodecError that makes the record
 * poison (the task dead-letters it). Any other failure (a registry outage) is not the record's fault and is thrown,
 * so the read is retried instead of the record being dead-lettered.
 */
export async function decodeInputValue(codec: EnvelopeCodec, value: Buffer | null): Promise<InputEvent | CodecError> {
  if (value === null) return new CodecError('null value (tombstone) on an input topic', { code: 'TOO_SHORT', offset: 0 });
  try {
    return await codec.decodeEvent(value);
  } catch (e) {
    if (e instanceof CodecError) return e;
    throw e;
  }
}

/**
 * decodeInputValue without a promise when the record's schema id is already known to the codec; undefined when it is
 * not (the caller awaits decodeInputValue, which fetches the writer schema once).
 */
export function decodeInputValueSync(codec: EnvelopeCodec, value: Buffer | null): InputEvent | CodecError | undefined {
  if (value === null) return new CodecError('null value (tombstone) on an input topic', { code: 'TOO_SHORT', offset: 0 });
  try {
    return codec.tryDecodeEventSync(value);
  } catch (e) {
    if (e instanceof CodecError) return e;
    throw e;
  }
}

/** Low/high watermarks of every partition of `topic`. */
export async function partitionOffsets(admin: Admin, topic: string): Promise<Map<number, { low: bigint; high: bigint }>> {
  const offs = await admin.fetchTopicOffsets(topic);
  return new Map(offs.map((o) => [o.partition, { low: BigInt(o.low), high: BigInt(o.high) }]));
}

/** Reads every range to its end. Ranges of one topic may cover only some of its partitions. */
export async function readRanges(kafka: Kafka, admin: Admin, ranges: readonly PartitionRange[], opts: ReadOptions): Promise<number> {
  const targets = new Map<string, { from: bigint; until: bigint; at: bigint }>();
  const topics = [...new Set(ranges.map((r) => r.topic))];
  const ends = new Map<string, Map<number, { low: bigint; high: bigint }>>();
  for (const t of topics) ends.set(t, await partitionOffsets(admin, t));
  for (const r of ranges) {
    const o = ends.get(r.topic)!.get(r.partition);
    if (!o) throw new Error(`topic ${r.topic} has no partition ${r.partition}`);
    const from = r.from < o.low ? o.low : r.from;
    const until = r.until !== undefined && r.until < o.high ? r.until : o.high;
    if (from < until) targets.set(tpKey(r.topic, r.partition), { from, until, at: from });
  }
  if (targets.size === 0) return 0;

  const groupId = `snap-reader-${randomUUID()}`;
  const consumer = kafka.consumer({ groupId, readUncommitted: !(opts.readCommitted ?? true), maxWaitTimeInMs: 100, allowAutoTopicCreation: false });
  let read = 0;
  let remaining = targets.size;
  let settle!: (e?: unknown) => void;
  const finished = new Promise<void>((resolve, reject) => {
    settle = (e?: unknown) => (e ? reject(e) : resolve());
  });
  const advance = (topic: string, partition: number, nextOffset: bigint) => {
    const t = targets.get(tpKey(topic, partition));
    if (!t || t.at >= t.until) return;
    if (nextOffset > t.at) t.at = nextOffset;
    if (t.at >= t.until && --remaining === 0) settle();
  };
  try {
    await consumer.connect();
    await consumer.subscribe({ topics, fromBeginning: true });
    consumer.on(consumer.events.GROUP_JOIN, () => {
      for (const [k, t] of targets) {
        const i = k.lastIndexOf(':');
        consumer.seek({ topic: k.slice(0, i), partition: Number(k.slice(i + 1)), offset: t.at.toString() });
      }
    });
    // Batches that held only control records / aborted data never reach eachBatch, but do emit END_BATCH_PROCESS.
    consumer.on(consumer.events.END_BATCH_PROCESS, (e) => {
      const p = e.payload as unknown as { topic: string; partition: number; lastOffset: string };
      advance(p.topic, p.partition, BigInt(p.lastOffset) + 1n);
    });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch, resolveOffset, isStale }) => {
        if (isStale()) return;
        const t = targets.get(tpKey(batch.topic, batch.partition));
        if (!t) return;
        // Position moves only through advance(), which also counts the partition as finished when it reaches its end.
        let next = t.at;
        for (const m of batch.messages) {
          const off = BigInt(m.offset);
          if (off < next) continue;
          if (off >= t.until) break;
          await opts.onMessage(batch.topic, batch.partition, m);
          read++;
          resolveOffset(m.offset);
          next = off + 1n;
        }
        opts.onProgress?.(read);
        const last = BigInt(batch.lastOffset()) + 1n;
        advance(batch.topic, batch.partition, last > next ? last : next);
      },
    });
    consumer.on(consumer.events.CRASH, (e) => settle(e.payload.error));
    await finished;
  } finally {
    await consumer.disconnect().catch(() => undefined);
    await admin.deleteGroups([groupId]).catch(() => undefined);
  }
  return read;
}

/** Latest value per key of a compacted topic's partitions (tombstones delete). */
export async function readLatestByKey(kafka: Kafka, admin: Admin, topic: string, partitions: readonly number[]): Promise<Map<string, Buffer>> {
  const latest = new Map<string, Buffer>();
  await readRanges(
    kafka,
    admin,
    partitions.map((partition) => ({ topic, partition, from: 0n })),
    {
      onMessage: (_t, _p, m) => {
        const key = m.key?.toString('utf8');
        if (key === undefined) return;
        if (m.value === null) latest.delete(key);
        else latest.set(key, m.value);
      },
    },
  );
  return latest;
}
