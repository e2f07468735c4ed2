// Thin Kafka client factory (kafkajs) from Config, plus the few helpers every service needs:
// an idempotent producer of Avro envelopes, a transactional producer for consume→transform→produce, and a
// read_committed consumer. See docs/kafka-clients.md for why kafkajs is the client for these roles.
//
// Partitioning: kafkajs's DefaultPartitioner is Java's murmur2 partitioner, which co-partitioning relies on
// (topics.ts). Any librdkafka producer must take `rdkafkaTopicConfig()` (partitioner=murmur2_random) as its topic config.
import type { Config } from '@snap/core';
import { Kafka, logLevel as KafkaLogLevel, Partitioners } from 'kafkajs';
import type { Consumer, IHeaders, Message, Producer, RecordMetadata, Transaction, KafkaConfig, logCreator as LogCreator } from 'kafkajs';
import type { EncodableValue, EnvelopeCodec, SchemaName } from './envelope-codec';
import { createLogger, type Logger } from './logger';

/** Routes kafkajs's own log lines into our structured logger. */
function kafkajsLogCreator(logger: Logger): LogCreator {
  return () =>
    ({ level, log }) => {
      const { message, ...fields } = log;
      const f = { ...fields, component: 'kafkajs' };
      // kafkajs logs every retriable broker error response ("Response Fetch(...)", coordinator loading, ...) at
      // ERROR before retrying it; a retry that finally fails reaches the caller as a thrown error anyway.
      const retried = level <= KafkaLogLevel.ERROR && /^Response /.test(message) && (fields as { retriable?: boolean }).retriable !== false;
      if (retried) logger.warn(message, f);
      else if (level <= KafkaLogLevel.ERROR) logger.error(message, f);
      else if (level === KafkaLogLevel.WARN) logger.warn(message, f);
      else if (level === KafkaLogLevel.INFO) logger.info(message, f);
      else logger.debug(message, f);
    };
}

export function createKafka(cfg: Pick<Config, 'kafka' | 'log'>, opts: { clientId?: string; logger?: Logger; extra?: Partial<KafkaConfig> } = {}): Kafka {
  const logger = opts.logger ?? createLogger({ name: 'kafka', level: cfg.log.level });
  return new Kafka({
    clientId: opts.clientId ?? cfg.kafka.client_id,
    brokers: cfg.kafka.brokers,
    // kafkajs INFO is chatty (every join/rebalance); WARN keeps the signal.
    logLevel: cfg.log.level === 'debug' ? KafkaLogLevel.DEBUG : KafkaLogLevel.WARN,
    logCreator: kafkajsLogCreator(logger),
    ...opts.extra,
  });
}

/** Idempotent producer: acks=all, no duplicates on retry, Java-compatible partitioner. */
export function createIdempotentProducer(kafka: Kafka): Producer {
  return kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
}

/** Transactional producer (implies idempotent). transactionalId must be stable per task, e.g. `<prefix>-<partition>`. */
export function createTransactionalProducer(kafka: Kafka, transactionalId: string): Producer {
  return kafka.producer({ transactionalId, idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
}

/** Consumer that only sees committed transactional writes; offsets are committed by the caller's transaction. */
export function createReadCommittedConsumer(kafka: Kafka, groupId: string, opts: { sessionTimeout?: number } = {}): Consumer {
  return kafka.consumer({ groupId, readUncommitted: false, sessionTimeout: opts.sessionTimeout, allowAutoTopicCreation: false });
}

/** Encodes envelopes with the codec and keys each message by its `key` (the underlying). */
export async function toMessages<S extends SchemaName>(codec: EnvelopeCodec, topic: string, schemaName: S, values: EncodableValue<S>[], headers?: IHeaders): Promise<Message[]> {
  await codec.register(topic, schemaName);
  return values.map((v) => ({ key: (v as { key: string }).key, value: codec.encodeSync(topic, schemaName, v), headers }));
}

/** Typed producer of Avro envelopes over an idempotent or transactional kafkajs producer. */
export class EnvelopeProducer {
  constructor(
    readonly producer: Producer,
    readonly codec: EnvelopeCodec,
  ) {}

  async send<S extends SchemaName>(topic: string, schemaName: S, values: EncodableValue<S>[]): Promise<RecordMetadata[]> {
    return this.producer.send({ topic, messages: await toMessages(this.codec, topic, schemaName, values) });
  }

  /** Same, inside an open transaction. */
  async sendInTransaction<S extends SchemaName>(tx: Transaction, topic: string, schemaName: S, values: EncodableValue<S>[]): Promise<RecordMetadata[]> {
    return tx.send({ topic, messages: await toMessages(this.codec, topic, schemaName, values) });
  }
}

export interface TransactionOffsets {
  consumerGroupId: string;
  /** The NEXT offset to read per partition (last processed + 1), as Kafka expects. */
  topics: { topic: string; partitions: { partition: number; offset: string }[] }[];
}

/**
 * One consume→transform→produce step: `body` sends its output in the transaction, the input offsets are added to
 * it, and both commit atomically — or the transaction aborts and the error propagates (nothing becomes visible to
 * read_committed consumers, and the offsets are not advanced).
 */
export async function runInTransaction<T>(producer: Producer, offsets: TransactionOffsets | null, body: (tx: Transaction) => Promise<T>): Promise<T> {
  const tx = await producer.transaction();
  try {
    const out = await body(tx);
    if (offsets && offsets.topics.length) await tx.sendOffsets(offsets);
    await tx.commit();
    return out;
  } catch (e) {
    if (tx.isActive()) await tx.abort();
    throw e;
  }
}

/** librdkafka (node-rdkafka) global config matching the kafkajs clients above. Pair producers with rdkafkaTopicConfig. */
export function rdkafkaGlobalConfig(cfg: Pick<Config, 'kafka'>, opts: { clientId?: string } = {}): Record<string, string | number | boolean> {
  return {
    'metadata.broker.list': cfg.kafka.brokers.join(','),
    'client.id': opts.clientId ?? cfg.kafka.client_id,
  };
}

/**
 * librdkafka default topic config for producers: the Java-compatible partitioner. librdkafka's default,
 * consistent_random (CRC32), maps keys to other partitions than Java/kafkajs and would break co-partitioning.
 * It must be passed as node-rdkafka's SECOND constructor argument (topic config): node-rdkafka silently ignores
 * `partitioner` in the global config (measured: keys landed on CRC32 partitions).
 */
export function rdkafkaTopicConfig(): Record<string, string | number | boolean> {
  return { partitioner: 'murmur2_random' };
}
