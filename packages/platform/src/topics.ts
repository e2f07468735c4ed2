// Every Kafka topic the system uses, declared in ONE place, and `applyTopics` which makes the cluster match.
//
// Co-partitioning: every input topic, the signals topic and the processor changelog have the SAME partition count
// and are keyed by the underlying (Envelope.key), so partition p of each holds the same underlyings and one
// processor task can merge partition p of all inputs. That only holds if every producer maps key → partition the same
// way: Java's default partitioner, positive(murmur2(key)) % partitions. kafkajs's DefaultPartitioner is that
// function; librdkafka (node-rdkafka) defaults to consistent_random (CRC32) and MUST be given
// `partitioner: 'murmur2_random'` in its TOPIC config (kafka.ts rdkafkaTopicConfig; node-rdkafka ignores it in the
// global config). `partitionForKey` below is the same function, for tests and tools.
import { DATA_INPUT_SCHEMAS, type Config, type DataInputSchema } from '@snap/core';
import type { Admin, ITopicConfig } from 'kafkajs';
import { ConfigResourceTypes } from 'kafkajs';
import { subjectFor, type EnvelopeCodec, type SchemaName } from './envelope-codec';

export type TopicRole = 'input' | 'signals' | 'events' | 'changelog' | 'deadletter';

export interface TopicDecl {
  /** Name without the prefix. */
  base: string;
  role: TopicRole;
  partitions: number;
  replicationFactor: number;
  /** Topic-level configs, as Kafka strings. */
  configs: Record<string, string>;
  /** Avro record types written to the topic (registered under `<topic>-<record fullname>`); empty = not Avro. */
  valueSchemas: SchemaName[];
  description: string;
}

/** One input topic per market-data schema, named after it (heartbeats travel inside these topics). */
export const INPUT_TOPICS: readonly DataInputSchema[] = DATA_INPUT_SCHEMAS;

export const SIGNALS_TOPIC = 'levels.signals.v1';
/** Discrete BREAK/REJECT calls (issue 9): what consumers count, one per level-touch episode. */
export const EVENTS_TOPIC = 'levels.events.v1';
export const CHANGELOG_TOPIC = 'snap.processor.changelog.v1';
/** max.message.bytes of the changelog topic: room for one processor state snapshot (see its declaration). */
export const CHANGELOG_MAX_MESSAGE_BYTES = 16 * 1024 * 1024;
export const DEADLETTER_TOPIC = 'snap.deadletter.v1';

/** `<prefix><base>`; the prefix (kafka.topic_prefix / TOPIC_PREFIX) isolates environments and test runs on one cluster. */
export const topicName = (cfg: Pick<Config, 'kafka'>, base: string): string => `${cfg.kafka.topic_prefix}${base}`;

/** The declarations, sized from config (kafka.partitions, kafka.replication_factor, kafka.retention_ms). */
export function topicDeclarations(cfg: Pick<Config, 'kafka'>): TopicDecl[] {
  const { partitions, replication_factor: rf, retention_ms } = cfg.kafka;
  // With RF >= 3 an acked write survives one broker loss; with RF 1/2 (local, small clusters) 1 is all there is.
  const minIsr = String(rf >= 3 ? 2 : 1);
  const stream = (retentionMs: number): Record<string, string> => ({
    'cleanup.policy': 'delete',
    'retention.ms': String(retentionMs),
    'retention.bytes': '-1',
    // Retention must count from when a record reached the broker: a replay of a historical session (DBN files,
    // simulated dates) carries event times far past retention.ms and would be deleted at the next retention check.
    'message.timestamp.type': 'LogAppendTime',
    'min.insync.replicas': minIsr,
  });
  return [
    ...INPUT_TOPICS.map<TopicDecl>((schema) => ({
      base: schema,
      role: 'input',
      partitions,
      replicationFactor: rf,
      configs: stream(retention_ms),
      valueSchemas: [schema, 'heartbeat.v1'],
      description: `${schema} records plus heartbeat.v1, key = underlying`,
    })),
    {
      base: SIGNALS_TOPIC,
      role: 'signals',
      partitions,
      replicationFactor: rf,
      configs: stream(retention_ms),
      valueSchemas: ['levels.signals.v1'],
      description: 'levels.signals.v1 rows (one per level per snap tick), key = underlying, written transactionally',
    },
    {
      // Co-partitioned with the signals: the processor writes both in the same transaction, keyed by the underlying.
      base: EVENTS_TOPIC,
      role: 'events',
      partitions,
      replicationFactor: rf,
      configs: stream(retention_ms),
      valueSchemas: ['levels.events.v1'],
      description: 'levels.events.v1: discrete BREAK/REJECT calls (one per level-touch episode), key = underlying, written in the signals transaction',
    },
    {
      // Compacted: only the latest state snapshot per key matters; same partitioning as the inputs so partition p's
      // state restores with partition p's input.
      base: CHANGELOG_TOPIC,
      role: 'changelog',
      partitions,
      replicationFactor: rf,
      configs: {
        'cleanup.policy': 'compact',
        'min.compaction.lag.ms': '0',
        'delete.retention.ms': String(24 * 3_600_000),
        'segment.ms': String(3_600_000),
        'min.cleanable.dirty.ratio': '0.1',
        'min.insync.replicas': minIsr,
        // One snapshot is one record, and engine state grows with the event rate (tape windows): at 50k events/s a
        // gzip'd snapshot passed the broker's default 1 MB and every transaction carrying it failed (MESSAGE_TOO_LARGE),
        // rebuilding the group forever. A per-topic limit above the broker default is honoured for this topic only.
        'max.message.bytes': String(CHANGELOG_MAX_MESSAGE_BYTES),
      },
      // The snapshot format belongs to the processor (it versions it inside the value).
      valueSchemas: [],
      description: 'processor state snapshots per input partition (compacted)',
    },
    {
      // Low volume; kept four times longer than the data so a bad day can still be investigated after the fact.
      base: DEADLETTER_TOPIC,
      role: 'deadletter',
      partitions: 1,
      replicationFactor: rf,
      configs: stream(retention_ms * 4),
      valueSchemas: ['deadletter.v1'],
      description: 'deadletter.v1: records that failed decoding/validation, with reason and raw bytes',
    },
  ];
}

export interface TopicChange {
  topic: string;
  action: 'created' | 'altered' | 'unchanged';
  /** Human-readable differences that were applied, e.g. `retention.ms: 86400000 -> 604800000`, `partitions: 3 -> 6`. */
  changes: string[];
  /** Differences that cannot be applied in place (fewer partitions declared, other replication factor). */
  warnings: string[];
}

export class TopicError extends Error {
  constructor(
    message: string,
    readonly topic: string,
  ) {
    super(message);
    this.name = 'TopicError';
  }
}

/**
 * Creates missing topics, raises partition counts declared larger, and resets topic configs that differ from the
 * declaration. Idempotent: a second run reports every topic `unchanged`.
 * Note: kafkajs alterConfigs is the non-incremental AlterConfigs API, which replaces a topic's whole set of dynamic
 * configs, so we always send the complete declared set; configs set by hand outside the declaration are dropped.
 */
export async function applyTopics(
  admin: Admin,
  cfg: Pick<Config, 'kafka'>,
  decls: TopicDecl[] = topicDeclarations(cfg),
  opts: { settleMs?: number } = {},
): Promise<TopicChange[]> {
  const settleMs = opts.settleMs ?? 15_000;
  const named = decls.map((d) => ({ ...d, name: topicName(cfg, d.base) }));
  const existing = new Set(await admin.listTopics());
  const report = new Map<string, TopicChange>(named.map((d) => [d.name, { topic: d.name, action: 'unchanged', changes: [], warnings: [] }]));

  const missing = named.filter((d) => !existing.has(d.name));
  if (missing.length) {
    const topics: ITopicConfig[] = missing.map((d) => ({
      topic: d.name,
      numPartitions: d.partitions,
      replicationFactor: d.replicationFactor,
      configEntries: Object.entries(d.configs).map(([name, value]) => ({ name, value })),
    }));
    // kafkajs's own waitForLeaders gives up on the UNKNOWN_TOPIC_OR_PARTITION a KRaft broker answers until the
    // new topic reaches its metadata cache; waitForTopics retries that.
    await admin.createTopics({ topics, waitForLeaders: false });
    const late = await waitForTopics(admin, missing.map((d) => ({ topic: d.name, partitions: d.partitions })), settleMs);
    if (late.length) throw new TopicError(`topics created but without partition leaders after ${settleMs} ms: ${late.join(', ')}`, late[0]!);
    for (const d of missing) {
      const r = report.get(d.name)!;
      r.action = 'created';
      r.changes.push(`partitions=${d.partitions}`, `replication=${d.replicationFactor}`, ...Object.entries(d.configs).map(([k, v]) => `${k}=${v}`));
    }
  }

  const present = named.filter((d) => existing.has(d.name));
  if (present.length) {
    const meta = await admin.fetchTopicMetadata({ topics: present.map((d) => d.name) });
    const partitionsOf = new Map(meta.topics.map((t) => [t.name, t.partitions]));
    const grow: { topic: string; count: number }[] = [];
    for (const d of present) {
      const parts = partitionsOf.get(d.name) ?? [];
      const r = report.get(d.name)!;
      if (parts.length < d.partitions) {
        grow.push({ topic: d.name, count: d.partitions });
        r.changes.push(`partitions: ${parts.length} -> ${d.partitions}`);
      } else if (parts.length > d.partitions) {
        r.warnings.push(`has ${parts.length} partitions, declared ${d.partitions}: Kafka cannot reduce partitions (co-partitioning is broken until the declaration or the topic is fixed)`);
      }
      const rf = parts[0]?.replicas.length;
      if (rf !== undefined && rf !== d.replicationFactor) r.warnings.push(`replication factor ${rf}, declared ${d.replicationFactor}: needs a partition reassignment`);
    }
    if (grow.length) await admin.createPartitions({ topicPartitions: grow });

    const described = await admin.describeConfigs({
      resources: present.map((d) => ({ type: ConfigResourceTypes.TOPIC, name: d.name, configNames: Object.keys(d.configs) })),
      includeSynonyms: false,
    });
    const actual = new Map(described.resources.map((res) => [res.resourceName, new Map(res.configEntries.map((e) => [e.configName, e.configValue]))]));
    const alter: { topic: string; decl: TopicDecl }[] = [];
    for (const d of present) {
      const have = actual.get(d.name);
      if (!have) throw new TopicError(`describeConfigs returned nothing for topic ${d.name}`, d.name);
      const diffs = Object.entries(d.configs)
        .filter(([k, v]) => have.get(k) !== v)
        .map(([k, v]) => `${k}: ${have.get(k) ?? '(unset)'} -> ${v}`);
      if (diffs.length) {
        alter.push({ topic: d.name, decl: d });
        report.get(d.name)!.changes.push(...diffs);
      }
    }
    if (alter.length) {
      await admin.alterConfigs({
        validateOnly: false,
        resources: alter.map(({ topic, decl }) => ({
          type: ConfigResourceTypes.TOPIC,
          name: topic,
          configEntries: Object.entries(decl.configs).map(([name, value]) => ({ name, value })),
        })),
      });
    }
    for (const d of present) {
      const r = report.get(d.name)!;
      if (r.changes.length) r.action = 'altered';
    }
    // Under KRaft the brokers apply a committed config/partition change from the metadata log a moment after the
    // admin call returns; wait until they report it, so the next run (or a producer started right after) sees it.
    const changed = present.filter((d) => report.get(d.name)!.action === 'altered');
    if (changed.length) {
      const pending = await waitConverged(admin, changed, settleMs);
      for (const name of pending) report.get(name)!.warnings.push(`change not yet visible on the brokers after ${settleMs} ms`);
    }
  }
  return named.map((d) => report.get(d.name)!);
}

/**
 * Waits until each topic is in the broker's metadata with at least `partitions` partitions, all with a leader.
 * Returns the topics still not ready at the deadline.
 */
export async function waitForTopics(admin: Admin, topics: { topic: string; partitions: number }[], timeoutMs = 15_000): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  let pending = topics;
  for (;;) {
    const next: typeof topics = [];
    for (const t of pending) {
      try {
        const meta = await admin.fetchTopicMetadata({ topics: [t.topic] });
        const parts = meta.topics[0]?.partitions ?? [];
        if (parts.length < t.partitions || parts.some((p) => p.leader < 0)) next.push(t);
      } catch (e) {
        // UNKNOWN_TOPIC_OR_PARTITION / LEADER_NOT_AVAILABLE while the metadata propagates; anything else is real.
        const type = (e as { type?: string }).type;
        if (type !== 'UNKNOWN_TOPIC_OR_PARTITION' && type !== 'LEADER_NOT_AVAILABLE') throw e;
        next.push(t);
      }
    }
    pending = next;
    if (!pending.length || Date.now() >= deadline) return pending.map((t) => t.topic);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Polls until every topic reports its declared configs and at least its declared partitions; returns those that do not. */
async function waitConverged(admin: Admin, decls: (TopicDecl & { name: string })[], settleMs: number): Promise<string[]> {
  const deadline = Date.now() + settleMs;
  for (;;) {
    const meta = await admin.fetchTopicMetadata({ topics: decls.map((d) => d.name) });
    const parts = new Map(meta.topics.map((t) => [t.name, t.partitions.length]));
    const described = await admin.describeConfigs({
      resources: decls.map((d) => ({ type: ConfigResourceTypes.TOPIC, name: d.name, configNames: Object.keys(d.configs) })),
      includeSynonyms: false,
    });
    const actual = new Map(described.resources.map((res) => [res.resourceName, new Map(res.configEntries.map((e) => [e.configName, e.configValue]))]));
    const pending = decls
      .filter((d) => (parts.get(d.name) ?? 0) < d.partitions || Object.entries(d.configs).some(([k, v]) => actual.get(d.name)?.get(k) !== v))
      .map((d) => d.name);
    if (!pending.length || Date.now() >= deadline) return pending;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Java's murmur2 (org.apache.kafka.common.utils.Utils.murmur2), 32-bit signed result. */
export function murmur2(key: Buffer | string): number {
  const data = typeof key === 'string' ? Buffer.from(key, 'utf8') : key;
  const m = 0x5bd1e995;
  const len = data.length;
  let h = 0x9747b28c ^ len;
  const len4 = len & ~3;
  for (let i = 0; i < len4; i += 4) {
    let k = data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
    k = Math.imul(k, m);
    k ^= k >>> 24;
    k = Math.imul(k, m);
    h = Math.imul(h, m) ^ k;
  }
  const tail = len & 3;
  if (tail === 3) h ^= data[len4 + 2]! << 16;
  if (tail >= 2) h ^= data[len4 + 1]! << 8;
  if (tail >= 1) {
    h ^= data[len4]!;
    h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}

/** The partition every conforming producer (Java, kafkajs DefaultPartitioner, librdkafka murmur2_random) picks for a key. */
export const partitionForKey = (key: string | Buffer, partitions: number): number => (murmur2(key) & 0x7fffffff) % partitions;

export interface SchemaRegistration {
  topic: string;
  schemaName: SchemaName;
  subject: string;
  id: number;
}

/**
 * Registers every declared topic's value schemas (TopicRecordNameStrategy subjects, BACKWARD per subject via the
 * codec) and sets the registry's global level to BACKWARD too, so subjects created by other tools inherit it.
 * Idempotent: re-registering an identical schema returns its existing id.
 */
export async function registerTopicSchemas(codec: EnvelopeCodec, cfg: Pick<Config, 'kafka'>, decls: TopicDecl[] = topicDeclarations(cfg)): Promise<SchemaRegistration[]> {
  await codec.registry.setCompatibility('BACKWARD');
  const out: SchemaRegistration[] = [];
  for (const d of decls) {
    const topic = topicName(cfg, d.base);
    for (const schemaName of d.valueSchemas) out.push({ topic, schemaName, subject: subjectFor(topic, schemaName), id: await codec.register(topic, schemaName) });
  }
  return out;
}
