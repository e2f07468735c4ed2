// KafkaFeedSink: THE producer path of every feed (DESIGN decisions 2 and 5, plan §2.5).
// Idempotent kafkajs producer (acks=all, one request in flight, Java murmur2 partitioner so input topics stay
// co-partitioned by underlying); topic = the record's schema under TOPIC_PREFIX; key = underlying; value = Avro
// envelope in the Confluent wire format. Records are batched (bounded: `emit` waits while a full batch is sent) and
// appended in call order, so each partition receives records in the order the feed produced them.
import { DATA_INPUT_SCHEMAS, type Config, type Heartbeat, type InputEvent, type InputSchema } from '@snap/core';
import { CodecError, DEADLETTER_TOPIC, EnvelopeCodec, createIdempotentProducer, createKafka, createLogger, partitionForKey, systemClock, topicName, type Clock, type Logger } from '@snap/platform';
import type { Message, Producer, TopicMessages } from 'kafkajs';
import { OrderedFeedSink, RecordEncodeError, type DeadLetter, type OrderedSinkOptions } from './sink';

export interface KafkaFeedSinkOptions extends OrderedSinkOptions {
  producer: Producer;
  codec: EnvelopeCodec;
  /** Topic of a schema (with the prefix applied). */
  topicFor: (schema: InputSchema) => string;
  deadLetterTopic: string;
  /** Send when this many records are buffered; also the bound on buffered records. */
  batchRecords: number;
  /** Send a partial batch after this long (0: only full batches and explicit flushes). */
  lingerMs: number;
  /**
   * Partition count of the input topics (kafka.partitions). Input records carry an explicit partition =
   * positive(murmur2(key)) % partitions, the function every conforming producer uses, instead of trusting the client's
   * metadata: a stale or mismatched partition count then fails the send loudly instead of silently breaking
   * co-partitioning by underlying.
   */
  partitions: number;
}

interface Pending {
  topic: string;
  message: Message;
}

export class KafkaFeedSink extends OrderedFeedSink {
  private buffer: Pending[] = [];
  private linger: NodeJS.Timeout | null = null;
  private sending: Promise<void> = Promise.resolve();
  private failure: Error | null = null;
  private connected = false;
  /** Physical Kafka records acknowledged by the brokers (data + heartbeats + dead letters). */
  acked = 0;

  constructor(readonly kopts: KafkaFeedSinkOptions) {
    super(kopts);
  }

  /**
   * The sink as configured: topics `<kafka.topic_prefix><schema>`, dead letters to the dead-letter topic, late policy
   * and batching from `feeds.*`, heartbeats every `feeds.heartbeat_ms` (0 = every snap tick) of event time.
   */
  static fromConfig(cfg: Config, opts: { logger?: Logger; clock?: Clock; defaultKey?: string; clientId?: string } = {}): KafkaFeedSink {
    const logger = opts.logger ?? createLogger({ name: 'feeds.kafka', level: cfg.log.level });
    const kafka = createKafka(cfg, { logger, clientId: opts.clientId ?? `${cfg.kafka.client_id}-feed` });
    return new KafkaFeedSink({
      producer: createIdempotentProducer(kafka),
      codec: new EnvelopeCodec({ registryUrl: cfg.schema_registry.url }),
      topicFor: (schema) => topicName(cfg, schema),
      deadLetterTopic: topicName(cfg, DEADLETTER_TOPIC),
      batchRecords: cfg.feeds.batch_records,
      partitions: cfg.kafka.partitions,
      lingerMs: cfg.feeds.linger_ms,
      latePolicy: cfg.feeds.late_policy,
      heartbeatMs: cfg.feeds.heartbeat_ms || cfg.snap.tick_ms,
      clock: opts.clock ?? systemClock,
      logger,
      defaultKey: opts.defaultKey ?? cfg.underlyings[0],
    });
  }

  /**
   * Connects the producer and registers every schema this sink can write (each input schema and heartbeat.v1 on its
   * topic, deadletter.v1), so a registry problem stops the feed at start and the first records do not wait on it.
   */
  async connect(): Promise<void> {
    if (this.connected) return;
    const { codec, topicFor, deadLetterTopic } = this.kopts;
    const streams: InputSchema[] = [...DATA_INPUT_SCHEMAS];
    await Promise.all([
      ...streams.flatMap((s) => [codec.register(topicFor(s), s), codec.register(topicFor(s), 'heartbeat.v1')]),
      codec.register(deadLetterTopic, 'deadletter.v1'),
    ]);
    await this.kopts.producer.connect();
    this.connected = true;
  }

  protected async writeEvent(ev: InputEvent): Promise<void> {
    const topic = this.kopts.topicFor(ev.schema);
    const value = await this.encode(topic, ev.schema, ev);
    await this.append(topic, { key: ev.key, value, partition: partitionForKey(ev.key, this.kopts.partitions) });
  }

  protected async writeHeartbeat(hb: Heartbeat, streams: readonly InputSchema[]): Promise<void> {
    // Encode every copy first so a codec failure cannot leave a heartbeat in only some of the streams.
    const msgs: Pending[] = [];
    for (const s of streams) {
      const topic = this.kopts.topicFor(s);
      msgs.push({ topic, message: { key: hb.key, value: await this.encode(topic, 'heartbeat.v1', hb), partition: partitionForKey(hb.key, this.kopts.partitions) } });
    }
    for (const m of msgs) await this.append(m.topic, m.message);
  }

  protected async writeDeadLetter(d: DeadLetter): Promise<void> {
    const topic = this.kopts.deadLetterTopic;
    const value = await this.kopts.codec.encode(topic, 'deadletter.v1', { schema_name: 'deadletter.v1', schema_version: 1, ...d });
    await this.append(topic, { key: d.key, value });
  }

  protected async flushOutput(): Promise<void> {
    this.sendBuffered();
    await this.sending;
    this.throwIfFailed();
  }

  protected async closeOutput(): Promise<void> {
    if (this.linger) clearTimeout(this.linger);
    this.linger = null;
    if (this.connected) await this.kopts.producer.disconnect();
    this.connected = false;
  }

  private async encode(topic: string, schema: InputSchema, value: InputEvent): Promise<Buffer> {
    try {
      return await this.kopts.codec.encode(topic, schema, value as never);
    } catch (e) {
      // A value that does not fit its schema is the record's fault: dead-letter it. Anything else (registry down)
      // is the pipeline's and must stop the feed rather than dead-letter every record.
      if (e instanceof CodecError && (e.code === 'INVALID_VALUE' || e.code === 'SCHEMA_MISMATCH')) {
        throw new RecordEncodeError(e.message, e.name, e.path ?? null, { cause: e });
      }
      throw e;
    }
  }

  private async append(topic: string, message: Message): Promise<void> {
    this.throwIfFailed();
    if (!this.connected) await this.connect();
    this.buffer.push({ topic, message });
    if (this.buffer.length >= this.kopts.batchRecords) {
      // Backpressure: at most one batch in flight and one being filled.
      this.sendBuffered();
      await this.sending;
      this.throwIfFailed();
    } else if (!this.linger && this.kopts.lingerMs > 0) {
      this.linger = setTimeout(() => {
        this.linger = null;
        this.sendBuffered();
      }, this.kopts.lingerMs);
    }
  }

  /** Hands the buffer to the (sequential) send chain. */
  private sendBuffered(): void {
    if (this.linger) clearTimeout(this.linger);
    this.linger = null;
    if (this.buffer.length === 0) return;
    const batch = this.buffer;
    this.buffer = [];
    this.sending = this.sending.then(async () => {
      if (this.failure) return;
      try {
        await this.kopts.producer.sendBatch({ topicMessages: groupByTopic(batch), acks: -1 });
        this.acked += batch.length;
      } catch (e) {
        this.failure = e as Error;
        this.log.error('kafka send failed; the feed stops', { records: batch.length, error: e as Error });
      }
    });
  }

  private throwIfFailed(): void {
    if (this.failure) throw new FeedProduceError(`producing to Kafka failed: ${this.failure.message}`, { cause: this.failure });
  }
}

export class FeedProduceError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'FeedProduceError';
  }
}

/** One TopicMessages per topic in first-seen order; within a topic, call order (= partition order) is kept. */
function groupByTopic(batch: Pending[]): TopicMessages[] {
  const by = new Map<string, Message[]>();
  for (const p of batch) {
    let list = by.get(p.topic);
    if (!list) by.set(p.topic, (list = []));
    list.push(p.message);
  }
  return [...by].map(([topic, messages]) => ({ topic, messages }));
}
