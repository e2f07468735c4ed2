// KafkaFeedSink: THE producer path of every feed (DESIGN decisions 2 and 5, plan §2.5).
// Idempotent kafkajs producer (acks=all, one request in flight, Java murmur2 partitioner so input topics stay
// co-partitioned by underlying); topic = the record's schema under TOPIC_PREFIX; key = underlying; value = Avro
// envelope in the Confluent wire format. Records are batched (bounded: `emit` waits while a full batch is sent) and
// appended in call order, so each partition receives records in the order the feed produced them.
import { DATA_INPUT_SCHEMAS, type Config, type Heartbeat, type InputEvent, type InputSchema } from '@snap/core';
import { CodecError, DEADLETTER_TOPIC, EnvelopeCodec, registryOptions, createIdempotentProducer, createKafka, createLogger, partitionForKey, systemClock, topicName, type Clock, type Logger } from '@snap/platform';
import type { Admin, Kafka, Message, Producer, RecordMetadata, logCreator as LogCreator } from 'kafkajs';
import { logLevel as KafkaLogLevel } from 'kafkajs';
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
  /** Admin client factory (resume: end offsets of the partitions this sink writes). */
  admin?: () => Admin;
  /** Pause between two attempts of a batch while Kafka is unavailable (ms); default 1000. */
  retryBackoffMs?: number;
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
  /**
   * Next offset per `topic:partition` written with an explicit partition (every input record and heartbeat), from
   * the brokers' acknowledgements: the resume point saves it after a flush, and a restarted feed compares it with the
   * partitions' end offsets to skip exactly what the previous run wrote after its last save.
   */
  readonly offsets = new Map<string, bigint>();
  /** Records still to skip per `topic:partition` (already in Kafka from before a restart), see prepareResume. */
  private readonly skip = new Map<string, number>();
  /** Records not produced because an earlier run already had (resume). */
  skippedExisting = 0;
  /** The current outage: since when sends fail with transient errors, and how many attempts so far. */
  private outage: { sinceMs: number; attempts: number; error: string } | null = null;
  /** Outages ridden through (each logged once when it starts and once on recovery). */
  outages = 0;
  private closing = false;

  constructor(readonly kopts: KafkaFeedSinkOptions) {
    super(kopts);
  }

  /**
   * The sink as configured: topics `<kafka.topic_prefix><schema>`, dead letters to the dead-letter topic, late policy
   * and batching from `feeds.*`, heartbeats every `feeds.heartbeat_ms` (0 = every snap tick) of event time.
   */
  static fromConfig(cfg: Config, opts: { logger?: Logger; clock?: Clock; defaultKey?: string; clientId?: string } = {}): KafkaFeedSink {
    const logger = opts.logger ?? createLogger({ name: 'feeds.kafka', level: cfg.log.level });
    // kafkajs logs every failed attempt at ERROR; while the sink rides through an outage it says so itself, once
    // when the outage starts and once on recovery, so kafkajs's lines go to debug.
    const kafka: Kafka = createKafka(cfg, { logger, clientId: opts.clientId ?? `${cfg.kafka.client_id}-feed`, extra: {
      logCreator: quietKafkajsLog(logger),
      logLevel: cfg.log.level === 'debug' ? KafkaLogLevel.DEBUG : KafkaLogLevel.WARN,
      // kafkajs retries inside a send too (forever, for an idempotent producer); cap its backoff so a returning
      // broker is found within seconds, not after a 30 s wait.
      retry: { initialRetryTime: 200, maxRetryTime: 2000, retries: 10 },
    } });
    return new KafkaFeedSink({
      producer: createIdempotentProducer(kafka),
      admin: () => kafka.admin(),
      codec: new EnvelopeCodec(registryOptions(cfg)),
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
    // A broker that is restarting when the feed starts is an outage like any other: wait for it.
    await this.untilDelivered('connect', () => this.kopts.producer.connect());
    this.connected = true;
  }

  /** The resume point's view of `offsets` (decimal strings). */
  offsetsSnapshot(): Record<string, string> {
    return Object.fromEntries([...this.offsets].map(([k, v]) => [k, v.toString()]));
  }

  /**
   * Before producing after a restart: `saved` are the offsets of the last resume point (after a flush, so every
   * record before them was acknowledged and accounted for in the saved source position). Whatever the partitions
   * hold beyond them was written by the previous run after that save (a SIGKILL between two saves): the replay,
   * deterministic from the saved position and ordering state, re-creates exactly those records first, and the sink
   * skips that many per partition instead of writing them twice. Partitions not in `saved` are baselined at their
   * current end. Needs the sink to be the only writer of its (topic, key) partitions, which is how feeds are run
   * (one feed per source and underlying).
   */
  async prepareResume(saved: Record<string, string>, keys: readonly string[]): Promise<Record<string, number>> {
    if (!this.kopts.admin) throw new Error('prepareResume needs an admin client (KafkaFeedSink.fromConfig provides one)');
    const tps = new Set(Object.keys(saved));
    for (const s of [...DATA_INPUT_SCHEMAS]) for (const k of keys) tps.add(`${this.kopts.topicFor(s)}:${partitionForKey(k, this.kopts.partitions)}`);
    const topics = [...new Set([...tps].map((tp) => tp.slice(0, tp.lastIndexOf(':'))))];
    const admin = this.kopts.admin();
    const ends = new Map<string, bigint>();
    await this.untilDelivered('fetch end offsets', async () => {
      await admin.connect();
      try {
        for (const t of topics) for (const o of await admin.fetchTopicOffsets(t)) ends.set(`${t}:${o.partition}`, BigInt(o.high));
      } finally {
        await admin.disconnect();
      }
    });
    const skipped: Record<string, number> = {};
    for (const tp of tps) {
      const end = ends.get(tp);
      if (end === undefined) throw new FeedProduceError(`resume: partition ${tp} of the resume point does not exist any more (topic deleted or re-created with fewer partitions)`);
      const from = saved[tp] !== undefined ? BigInt(saved[tp]!) : end;
      if (end < from) throw new FeedProduceError(`resume: partition ${tp} ends at offset ${end}, before the resume point's ${from} (topic re-created?); refusing to guess what was produced`);
      this.offsets.set(tp, end);
      const n = Number(end - from);
      if (n > 0) {
        this.skip.set(tp, n);
        skipped[tp] = n;
      }
    }
    if (Object.keys(skipped).length) this.log.info('resume: records written after the last resume point will be skipped, not produced twice', { per_partition: skipped });
    return skipped;
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
    this.closing = true;
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
    if (message.partition !== undefined) {
      const tp = `${topic}:${message.partition}`;
      const left = this.skip.get(tp);
      if (left !== undefined) {
        if (left <= 1) this.skip.delete(tp);
        else this.skip.set(tp, left - 1);
        this.skippedExisting++;
        return;
      }
    }
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
      // One request per partition, in order: a kafkajs sendBatch spanning several leaders that fails on one of
      // them after another acknowledged cannot be retried as a whole without writing the acknowledged part twice
      // (its sequence numbers were consumed); a single-partition request either wrote everything or nothing, and
      // its retry reuses the same producer sequence, so the broker drops a copy it already has (idempotence).
      for (const group of groupByPartition(batch)) {
        try {
          const meta = await this.untilDelivered('send', () => this.kopts.producer.sendBatch({ topicMessages: [{ topic: group.topic, messages: group.messages }], acks: -1 }));
          this.acked += group.messages.length;
          if (group.partition !== undefined) this.noteAcked(group.topic, group.partition, group.messages.length, meta);
        } catch (e) {
          this.failure = e as Error;
          this.log.error('kafka send failed with a non-transient error; the feed stops', { topic: group.topic, partition: group.partition, records: group.messages.length, error: e as Error });
          return;
        }
      }
    });
  }

  private noteAcked(topic: string, partition: number, n: number, meta: RecordMetadata[]): void {
    const m = meta.find((r) => r.topicName === topic && r.partition === partition);
    const tp = `${topic}:${partition}`;
    if (m?.baseOffset !== undefined) this.offsets.set(tp, BigInt(m.baseOffset) + BigInt(n));
    else if (this.offsets.has(tp)) this.offsets.set(tp, this.offsets.get(tp)! + BigInt(n));
  }

  /**
   * Runs `attempt` until it succeeds. Transient failures (broker down or restarting, leader moving, not enough
   * in-sync replicas, timeouts) are retried without a deadline while the process runs: the caller waits, which is the
   * backpressure that holds the source. Logged once when an outage starts and once when it ends. A non-transient
   * error is thrown.
   */
  private async untilDelivered<T>(what: string, attempt: () => Promise<T>): Promise<T> {
    for (;;) {
      try {
        const out = await attempt();
        if (this.outage) {
          const o = this.outage;
          this.outage = null;
          this.log.warn('kafka available again; the feed goes on', { during: what, outage_s: Math.round((Date.now() - o.sinceMs) / 100) / 10, attempts: o.attempts, buffered: this.buffer.length });
        }
        return out;
      } catch (e) {
        if (this.closing || !isTransientKafkaError(e)) throw e;
        if (!this.outage) {
          this.outage = { sinceMs: Date.now(), attempts: 0, error: (e as Error).message };
          this.outages++;
          this.log.warn('kafka unavailable; holding the feed and retrying until it is back', { during: what, error: (e as Error).message, buffered: this.buffer.length });
        }
        this.outage.attempts++;
        await new Promise((r) => setTimeout(r, this.kopts.retryBackoffMs ?? 1000));
      }
    }
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

/**
 * One group per (topic, explicit partition) in first-seen order, call order kept within each (= partition order);
 * records without an explicit partition (dead letters, partitioned by key) form one group per topic.
 */
function groupByPartition(batch: Pending[]): { topic: string; partition: number | undefined; messages: Message[] }[] {
  const by = new Map<string, { topic: string; partition: number | undefined; messages: Message[] }>();
  for (const p of batch) {
    const k = `${p.topic}:${p.message.partition ?? '*'}`;
    let g = by.get(k);
    if (!g) by.set(k, (g = { topic: p.topic, partition: p.message.partition, messages: [] }));
    g.messages.push(p.message);
  }
  return [...by.values()];
}

// Kafka error codes that mean "not now" rather than "never": leadership moving, replicas catching up, a broker or
// coordinator (re)starting, a topic just created whose metadata has not reached every broker.
const TRANSIENT_TYPES = new Set([
  'NOT_LEADER_OR_FOLLOWER',
  'NOT_LEADER_FOR_PARTITION',
  'LEADER_NOT_AVAILABLE',
  'UNKNOWN_TOPIC_OR_PARTITION',
  'NOT_ENOUGH_REPLICAS',
  'NOT_ENOUGH_REPLICAS_AFTER_APPEND',
  'REQUEST_TIMED_OUT',
  'NETWORK_EXCEPTION',
  'BROKER_NOT_AVAILABLE',
  'REPLICA_NOT_AVAILABLE',
  'KAFKA_STORAGE_ERROR',
  'NOT_CONTROLLER',
  'COORDINATOR_NOT_AVAILABLE',
  'COORDINATOR_LOAD_IN_PROGRESS',
  'NOT_COORDINATOR',
  'CONCURRENT_TRANSACTIONS',
  'FENCED_LEADER_EPOCH',
  'UNKNOWN_LEADER_EPOCH',
  'OFFSET_NOT_AVAILABLE',
  'THROTTLING_QUOTA_EXCEEDED',
]);
// Never retried: retrying these cannot succeed, or would break the producer's ordering/idempotence guarantees.
const FATAL_TYPES = new Set([
  'OUT_OF_ORDER_SEQUENCE_NUMBER',
  'INVALID_PRODUCER_EPOCH',
  'UNKNOWN_PRODUCER_ID',
  'INVALID_PRODUCER_ID_MAPPING',
  'MESSAGE_TOO_LARGE',
  'RECORD_LIST_TOO_LARGE',
  'INVALID_RECORD',
  'CORRUPT_MESSAGE',
  'TOPIC_AUTHORIZATION_FAILED',
  'CLUSTER_AUTHORIZATION_FAILED',
  'SASL_AUTHENTICATION_FAILED',
  'INVALID_REQUIRED_ACKS',
  'UNSUPPORTED_VERSION',
  'INVALID_TOPIC_EXCEPTION',
]);
// kafkajs's own error classes for a connection or request that did not get through.
const TRANSIENT_NAMES = new Set([
  'KafkaJSConnectionError',
  'KafkaJSConnectionClosedError',
  'KafkaJSRequestTimeoutError',
  'KafkaJSBrokerNotFound',
  'KafkaJSMetadataNotLoaded',
  'KafkaJSLockTimeout',
  'KafkaJSTimeout',
  'KafkaJSStaleTopicMetadataAssignment',
]);

/**
 * Walks the error and everything it wraps (kafkajs nests: NumberOfRetriesExceeded → ProtocolError, NonRetriable →
 * ConnectionError): transient when some link is a connection/timeout/leadership error and none is fatal.
 */
export function isTransientKafkaError(e: unknown): boolean {
  let transient = false;
  const seen = new Set<unknown>();
  const stack: unknown[] = [e];
  while (stack.length) {
    const x = stack.pop();
    if (!x || typeof x !== 'object' || seen.has(x)) continue;
    seen.add(x);
    const err = x as { name?: string; type?: string; code?: string; message?: string; cause?: unknown; originalError?: unknown; errors?: unknown[] };
    if (err.type && FATAL_TYPES.has(err.type)) return false;
    if ((err.type && TRANSIENT_TYPES.has(err.type)) || (err.name && TRANSIENT_NAMES.has(err.name))) transient = true;
    if (err.code && ['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH'].includes(err.code)) transient = true;
    if (typeof err.message === 'string' && /Connection error|connect ECONNREFUSED|Closed connection|Request .* timed out|not the leader|leadership election|no leader/i.test(err.message)) transient = true;
    stack.push(err.cause, err.originalError, ...(Array.isArray(err.errors) ? err.errors : []));
  }
  return transient;
}

/** kafkajs's log lines at debug: what it retries is retried again by the sink, what fails reaches the sink as an error. */
function quietKafkajsLog(logger: Logger): LogCreator {
  return () =>
    ({ level, log }) => {
      const { message, ...fields } = log;
      const f = { ...fields, component: 'kafkajs' };
      void level;
      logger.debug(message, f);
    };
}
