// Thin Kafka client factory (kafkajs) from Config, plus the few helpers every service needs:
// an idempotent producer of Avro envelopes, a transactional producer for consume→transform→produce, and a
// read_committed consumer. See docs/kafka-clients.md for why kafkajs is the client for these roles.
//
// Partitioning: kafkajs's DefaultPartitioner is Java's murmur2 partitioner, which co-partitioning relies on
// (topics.ts). Any librdkafka producer must take `rdkafkaTopicConfig()` (partitioner=murmur2_random) as its topic config.
import { ConfigError, type Config } from '@snap/core';
import { Kafka, logLevel as KafkaLogLevel, Partitioners } from 'kafkajs';
import type { Consumer, IHeaders, Message, Producer, RecordMetadata, Transaction, KafkaConfig, logCreator as LogCreator } from 'kafkajs';
import type { EncodableValue, EnvelopeCodec, SchemaName } from './envelope-codec';
import { createLogger, type Logger } from './logger';
import { readPem, readSecret } from './secrets';

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

/** kafka.security_protocol, kafka.sasl_* and kafka.ssl_ca_file as kafkajs's `ssl` and `sasl` options. */
export function kafkajsSecurity(cfg: Pick<Config, 'kafka'>): Pick<KafkaConfig, 'ssl' | 'sasl'> {
  const k = cfg.kafka;
  const out: Pick<KafkaConfig, 'ssl' | 'sasl'> = {};
  if (k.security_protocol === 'SSL' || k.security_protocol === 'SASL_SSL') {
    out.ssl = k.ssl_ca_file ? { ca: [readPem(k.ssl_ca_file, 'kafka.ssl_ca_file')] } : true;
  }
  if (k.security_protocol === 'SASL_PLAINTEXT' || k.security_protocol === 'SASL_SSL') {
    const password = readSecret(k.sasl_password, k.sasl_password_file, 'kafka.sasl_password');
    if (!k.sasl_username || !password) {
      throw new ConfigError(`kafka.security_protocol=${k.security_protocol} needs "kafka.sasl_username" and "kafka.sasl_password" (or "kafka.sasl_password_file")`, k.sasl_username ? 'kafka.sasl_password' : 'kafka.sasl_username');
    }
    const mechanism = k.sasl_mechanism.toLowerCase() as 'scram-sha-512' | 'scram-sha-256' | 'plain';
    out.sasl = { mechanism, username: k.sasl_username, password } as KafkaConfig['sasl'];
  }
  return out;
}

/** Raised in place of a kafkajs SASL/TLS failure: names the brokers, the protocol and mechanism, never the password. */
export class KafkaAuthError extends Error {
  readonly exitCode = 1;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'KafkaAuthError';
  }
}

const isAuthFailure = (e: unknown): boolean => {
  const name = (e as Error)?.name ?? '';
  const msg = String((e as Error)?.message ?? '');
  return name === 'KafkaJSSASLAuthenticationError' || /SASL .*authentication failed|Authentication failed|SaslAuthenticate|ILLEGAL_SASL_STATE|UNSUPPORTED_SASL_MECHANISM/i.test(msg) ||
    /self[- ]signed certificate|unable to verify the first certificate|certificate verify failed|ERR_TLS_CERT_ALTNAME_INVALID|UNABLE_TO_VERIFY_LEAF_SIGNATURE/i.test(msg + ' ' + String((e as { code?: string }).code ?? ''));
};

/** A clear, secret-free error for a failed SASL/TLS handshake; other errors pass through unchanged. */
export function describeKafkaAuthError(cfg: Pick<Config, 'kafka'>, e: unknown): unknown {
  if (e instanceof KafkaAuthError || !isAuthFailure(e)) return e;
  const k = cfg.kafka;
  const sasl = k.security_protocol.startsWith('SASL') ? `, SASL mechanism ${k.sasl_mechanism}, user "${k.sasl_username}"` : '';
  return new KafkaAuthError(`Kafka authentication failed at broker ${k.brokers.join(',')} (security protocol ${k.security_protocol}${sasl}): ${(e as Error).message}. Check kafka.sasl_username / kafka.sasl_password(_file) and kafka.ssl_ca_file.`, { cause: e });
}

/** Wraps a client's connect() so an authentication failure surfaces as a KafkaAuthError. */
function authAware<T extends { connect(): Promise<void> }>(cfg: Pick<Config, 'kafka'>, client: T): T {
  const connect = client.connect.bind(client);
  client.connect = async () => {
    try {
      await connect();
    } catch (e) {
      throw describeKafkaAuthError(cfg, e);
    }
  };
  return client;
}

export function createKafka(cfg: Pick<Config, 'kafka' | 'log'>, opts: { clientId?: string; logger?: Logger; extra?: Partial<KafkaConfig> } = {}): Kafka {
  const logger = opts.logger ?? createLogger({ name: 'kafka', level: cfg.log.level });
  const kafka = new Kafka({
    clientId: opts.clientId ?? cfg.kafka.client_id,
    brokers: cfg.kafka.brokers,
    ...kafkajsSecurity(cfg),
    // kafkajs INFO is chatty (every join/rebalance); WARN keeps the signal.
    logLevel: cfg.log.level === 'debug' ? KafkaLogLevel.DEBUG : KafkaLogLevel.WARN,
    logCreator: kafkajsLogCreator(logger),
    ...opts.extra,
  });
  if (cfg.kafka.security_protocol !== 'PLAINTEXT') {
    const producer = kafka.producer.bind(kafka);
    const consumer = kafka.consumer.bind(kafka);
    const admin = kafka.admin.bind(kafka);
    kafka.producer = (c) => authAware(cfg, producer(c));
    kafka.consumer = (c) => authAware(cfg, consumer(c));
    kafka.admin = (c) => authAware(cfg, admin(c));
  }
  return kafka;
}

/** Idempotent producer: acks=all, no duplicates on retry, Java-compatible partitioner. */
export function createIdempotentProducer(kafka: Kafka): Producer {
  return kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
}

/**
 * First retry backoff of a transactional producer's sends (ms). The routine retry there is AddPartitionsToTxn answered
 * CONCURRENT_TRANSACTIONS (the coordinator still writing the previous commit's markers, a few ms): kafkajs' default
 * 300 ms put a third of a second on the next commit, i.e. on the signals a live consumer waits for. The Java producer
 * retries that answer after 20 ms. Later retries still double up to kafkajs' 30 s cap (an idempotent producer's sends
 * retry without a count limit), so a broker outage is ridden through as before.
 */
export const TX_SEND_INITIAL_RETRY_MS = 20;

/**
 * How long a transactional producer reuses the answer to "which broker coordinates my transactional id", and to
 * "which broker coordinates the consumer group whose offsets my transactions carry" (ms). kafkajs 2.2 asks the cluster
 * (a FindCoordinator round trip) before each of AddPartitionsToTxn, AddOffsetsToTxn, TxnOffsetCommit and EndTxn: four
 * of a transaction's nine round trips, on the path of every signal a live consumer waits for (bench latency). The Java
 * producer keeps both coordinators until a request to one fails. A coordinator that moves (its __transaction_state or
 * __consumer_offsets partition changed leader) answers NOT_COORDINATOR to the old address for at most this long:
 * kafkajs retries that (TxnOffsetCommit looks the group coordinator up again, which this cache answers until the TTL
 * passes), and a failed commit drops and rebuilds the group with a new producer (a new cluster, so an empty cache).
 */
export const TX_COORDINATOR_TTL_MS = 2000;

/** kafkajs' Cluster, as far as installTxCoordinatorCache uses it (not part of kafkajs' typed API). */
interface KafkajsClusterPrototype {
  findGroupCoordinatorMetadata?: (this: object, q: { groupId: string; coordinatorType?: number }) => Promise<unknown>;
  __snapTxCoordinatorCache?: true;
}
/** kafkajs' COORDINATOR_TYPES.TRANSACTION (FindCoordinator's key type 1; 0 is a consumer group). */
const TRANSACTION_COORDINATOR = 1;

/**
 * Makes a transactional producer's kafkajs cluster keep its coordinator lookups for TX_COORDINATOR_TTL_MS, per
 * coordinator type and id: the transaction coordinator's, and the group coordinator's that TxnOffsetCommit asks for.
 * A cluster caches only once it has looked up a transaction coordinator, which only a transactional producer does:
 * a consumer's lookups (its own group's, on each join) go to the broker as kafkajs does them. Returns false, changing
 * nothing, when this kafkajs has no such method (test/integration kafka-tx-coordinator.test.ts fails then, so an
 * upgrade cannot lose it silently). Idempotent.
 */
export function installTxCoordinatorCache(): boolean {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const proto = (require('kafkajs/src/cluster') as { prototype: KafkajsClusterPrototype }).prototype;
  const lookup = proto.findGroupCoordinatorMetadata;
  if (typeof lookup !== 'function') return false;
  if (proto.__snapTxCoordinatorCache) return true;
  const caches = new WeakMap<object, Map<string, { atMs: number; answer: unknown }>>();
  proto.findGroupCoordinatorMetadata = async function (this: object, q) {
    let cache = caches.get(this);
    if (!cache) {
      if (q.coordinatorType !== TRANSACTION_COORDINATOR) return lookup.call(this, q);
      caches.set(this, (cache = new Map()));
    }
    const key = `${q.coordinatorType ?? 0}:${q.groupId}`;
    const hit = cache.get(key);
    const now = performance.now();
    if (hit && now - hit.atMs < TX_COORDINATOR_TTL_MS) return hit.answer;
    const answer = await lookup.call(this, q);
    cache.set(key, { atMs: now, answer });
    return answer;
  };
  proto.__snapTxCoordinatorCache = true;
  return true;
}

/** Transactional producer (implies idempotent). transactionalId must be stable per task, e.g. `<prefix>-<partition>`. */
export function createTransactionalProducer(kafka: Kafka, transactionalId: string): Producer {
  installTxCoordinatorCache();
  return kafka.producer({
    transactionalId,
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
    retry: { initialRetryTime: TX_SEND_INITIAL_RETRY_MS, retries: Number.MAX_SAFE_INTEGER },
  });
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
 * tx.sendOffsets with CONCURRENT_TRANSACTIONS retried, as the Java producer does: kafkajs retries that answer for
 * AddPartitionsToTxn (inside a send) but not for AddOffsetsToTxn, so a transaction whose first request is the offsets
 * (no output records: routine for the processor once snapshots are not in every transaction) failed whenever the coordinator
 * was still completing the previous commit. The transaction is untouched by the refused request.
 */
export async function sendTxOffsets(
  tx: Transaction,
  args: Parameters<Transaction['sendOffsets']>[0],
  sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await tx.sendOffsets(args);
    } catch (e) {
      const concurrent = (e as { type?: string }).type === 'CONCURRENT_TRANSACTIONS' || /another concurrent operation on the same transaction/i.test(String((e as Error)?.message));
      if (!concurrent || attempt >= 20) throw e;
      await sleep(Math.min(20 * 2 ** attempt, 500));
    }
  }
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
    if (offsets && offsets.topics.length) await sendTxOffsets(tx, offsets);
    await tx.commit();
    return out;
  } catch (e) {
    if (tx.isActive()) await tx.abort();
    throw e;
  }
}

/** librdkafka (node-rdkafka) global config matching the kafkajs clients above. Pair producers with rdkafkaTopicConfig. */
export function rdkafkaGlobalConfig(cfg: Pick<Config, 'kafka'>, opts: { clientId?: string } = {}): Record<string, string | number | boolean> {
  const k = cfg.kafka;
  const out: Record<string, string | number | boolean> = {
    'metadata.broker.list': k.brokers.join(','),
    'client.id': opts.clientId ?? k.client_id,
  };
  if (k.security_protocol !== 'PLAINTEXT') {
    out['security.protocol'] = k.security_protocol.toLowerCase();
    if (k.ssl_ca_file) out['ssl.ca.location'] = k.ssl_ca_file;
  }
  if (k.security_protocol.startsWith('SASL')) {
    const { sasl } = kafkajsSecurity(cfg) as { sasl: { username: string; password: string } };
    out['sasl.mechanisms'] = k.sasl_mechanism;
    out['sasl.username'] = sasl.username;
    out['sasl.password'] = sasl.password;
  }
  return out;
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
