// The envelope codec against the real schema registry and the real broker (scripts/stack up):
// every schema round-trips registry + Kafka exactly (bigint longs included), BACKWARD is enforced by the registry,
// evolved writers are read through Avro schema resolution, bad frames are typed CodecErrors, and aborted
// transactions stay invisible to read_committed consumers.
import { randomBytes } from 'node:crypto';
import type { Admin, Consumer, Kafka, KafkaMessage } from 'kafkajs';
import { INPUT_SCHEMAS, type Config, type StockQuote } from '@snap/core';
import {
  CodecError,
  EnvelopeCodec,
  EnvelopeProducer,
  HEADER_SIZE,
  RegistryError,
  SCHEMA_NAMES,
  applyTopics,
  avroType,
  createIdempotentProducer,
  createKafka,
  createReadCommittedConsumer,
  createTransactionalProducer,
  frameHeader,
  fromRecord,
  loadConfig,
  partitionForKey,
  runInTransaction,
  subjectFor,
  toRecord,
  topicName,
  waitForTopics,
  type SchemaName,
} from '@snap/platform';
import { sampleValue } from '../../packages/platform/src/envelope-samples';
import { deleteTopicsWithPrefix } from './support';

jest.setTimeout(120_000);

const prefix = `it-codec-${randomBytes(4).toString('hex')}.`;
const cfg: Config = loadConfig({ env: { ...process.env, TOPIC_PREFIX: prefix, LOG_LEVEL: 'warn' } });
const ENRICHED_TOPIC = topicName(cfg, 'options.trades_enriched.v1');
/** One partition, only the transaction test writes to it: so everything it holds is in send order. */
const TX_TOPIC = topicName(cfg, 'tx-test.futures.trades.v1');

/** The topic each schema travels on in this test (heartbeats ride on an input topic, as in production). */
function topicFor(schemaName: SchemaName): string {
  if (schemaName === 'heartbeat.v1') return topicName(cfg, 'stocks.trades.v1');
  if (schemaName === 'deadletter.v1') return topicName(cfg, 'snap.deadletter.v1');
  if (schemaName === 'options.trades_enriched.v1') return ENRICHED_TOPIC;
  return topicName(cfg, schemaName);
}

let kafka: Kafka;
let admin: Admin;
const consumers: Consumer[] = [];

async function consumeAll(topics: string[], count: number): Promise<(KafkaMessage & { topic: string; partition: number })[]> {
  const consumer = createReadCommittedConsumer(kafka, `${prefix}g-${randomBytes(3).toString('hex')}`);
  consumers.push(consumer);
  await consumer.connect();
  await consumer.subscribe({ topics, fromBeginning: true });
  const got: (KafkaMessage & { topic: string; partition: number })[] = [];
  await new Promise<void>((resolve, reject) => {
    consumer
      .run({
        eachMessage: async ({ topic, partition, message }) => {
          got.push({ ...message, topic, partition });
          if (got.length >= count) resolve();
        },
      })
      .catch(reject);
  });
  await consumer.disconnect();
  return got;
}

beforeAll(async () => {
  kafka = createKafka(cfg);
  admin = kafka.admin();
  await admin.connect();
  await applyTopics(admin, cfg);
  await admin.createTopics({ topics: [
      { topic: ENRICHED_TOPIC, numPartitions: cfg.kafka.partitions, replicationFactor: 1 },
      { topic: TX_TOPIC, numPartitions: 1, replicationFactor: 1 },
    ],
    waitForLeaders: false, // kafkajs's wait gives up on KRaft's UNKNOWN_TOPIC_OR_PARTITION; waitForTopics retries it
  });
  expect(await waitForTopics(admin, [{ topic: ENRICHED_TOPIC, partitions: cfg.kafka.partitions }, { topic: TX_TOPIC, partitions: 1 }])).toEqual([]);
});

afterAll(async () => {
  for (const c of consumers) await c.disconnect().catch(() => undefined);
  await deleteTopicsWithPrefix(admin, prefix);
  await admin.disconnect();
});

describe('envelope codec through the registry and Kafka', () => {
  it('every schema round-trips exactly (bigint longs, nulls, NaN, bytes) with key = underlying on murmur2 partitions', async () => {
    const writer = new EnvelopeCodec({ registryUrl: cfg.schema_registry.url });
    const producer = createIdempotentProducer(kafka);
    await producer.connect();
    const out = new EnvelopeProducer(producer, writer);
    const sent = new Map<string, { schemaName: SchemaName; value: object }>();
    try {
      for (const schemaName of SCHEMA_NAMES) {
        const values = [0, 1, 2].map((i) => sampleValue(schemaName, i));
        await out.send(topicFor(schemaName), schemaName, values as never);
        for (const v of values) sent.set((v as { event_id: string }).event_id + schemaName, { schemaName, value: v });
      }
    } finally {
      await producer.disconnect();
    }

    // A fresh codec knows no ids: each one is fetched from the registry by id.
    const reader = new EnvelopeCodec({ registryUrl: cfg.schema_registry.url });
    const topics = [...new Set(SCHEMA_NAMES.map(topicFor))];
    const got = await consumeAll(topics, sent.size);
    expect(got).toHaveLength(sent.size);
    for (const m of got) {
      expect(m.key!.toString()).toBe('SPY');
      const partitions = m.topic === topicFor('deadletter.v1') ? 1 : cfg.kafka.partitions; // the dead-letter topic has one
      expect(m.partition).toBe(partitionForKey('SPY', partitions));
      const d = await reader.decode(m.value!);
      const v = d.value as unknown as { event_id: string };
      const original = sent.get(v.event_id + d.schemaName);
      expect(original).toBeDefined();
      expect(d.schemaName).toBe(original!.schemaName);
      const expected = 'schema' in original!.value ? toRecord(original!.value as never) : original!.value;
      expect(d.value).toEqual(expected);
      expect(typeof (d.value as { ts_event_ns: unknown }).ts_event_ns).toBe('bigint');
      if ((INPUT_SCHEMAS as string[]).includes(d.schemaName)) expect(await reader.decodeEvent(m.value!)).toEqual(original!.value);
    }
    // Subjects follow TopicRecordNameStrategy; an input topic carries two record types.
    // (Asked per subject: a registry's subject listing is paged and the shared local registry holds other runs' subjects.)
    for (const schema of ['stocks.trades.v1', 'heartbeat.v1'] as const) {
      expect(await reader.registry.versions(subjectFor(topicFor('stocks.trades.v1'), schema))).toEqual([1]);
    }
    expect(await reader.registry.getCompatibility(subjectFor(topicFor('stocks.trades.v1'), 'stocks.trades.v1'))).toBe('BACKWARD');
  });

  it('the registry refuses a BACKWARD-incompatible change and accepts a compatible one, which old readers resolve', async () => {
    const codec = new EnvelopeCodec({ registryUrl: cfg.schema_registry.url });
    const topic = topicName(cfg, 'stocks.quotes.v1');
    const subject = subjectFor(topic, 'stocks.quotes.v1');
    const v1Id = await codec.register(topic, 'stocks.quotes.v1');
    const base = JSON.parse(codec.schemas.get('stocks.quotes.v1')!.text) as { fields: object[] };

    // A new required field without a default: new readers cannot read old data.
    const incompatible = { ...base, fields: [...base.fields, { name: 'nbbo_condition', type: 'int' }] };
    expect(await codec.registry.isCompatible(subject, JSON.stringify(incompatible))).toBe(false);
    const err = await codec.registry.register(subject, JSON.stringify(incompatible)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RegistryError);
    expect((err as RegistryError).status).toBe(409);
    expect(await codec.registry.versions(subject)).toHaveLength(1);

    // With a default it is compatible; a writer on v2 is read by our v1 reader through schema resolution.
    const compatible = { ...base, fields: [...base.fields, { name: 'nbbo_condition', type: ['null', 'int'], default: null }] };
    const v2Id = await codec.registry.register(subject, JSON.stringify(compatible));
    expect(v2Id).not.toBe(v1Id);
    const quote = sampleValue('stocks.quotes.v1', 4);
    const body = avroType(compatible).toBuffer({ ...toRecord(quote as StockQuote), nbbo_condition: 7 });
    const framed = Buffer.alloc(HEADER_SIZE + body.length);
    frameHeader(framed, v2Id);
    body.copy(framed, HEADER_SIZE);
    const fresh = new EnvelopeCodec({ registryUrl: cfg.schema_registry.url });
    expect(await fresh.decodeEvent(framed)).toEqual(quote);
  });

  it('bad frames are CodecErrors the processor can dead-letter', async () => {
    const codec = new EnvelopeCodec({ registryUrl: cfg.schema_registry.url });
    const topic = topicName(cfg, 'futures.mbp10.v1');
    const good = await codec.encode(topic, 'futures.mbp10.v1', sampleValue('futures.mbp10.v1'));
    const reader = new EnvelopeCodec({ registryUrl: cfg.schema_registry.url });
    await expect(reader.decode(good.subarray(0, good.length - 7))).rejects.toMatchObject({ name: 'CodecError', code: 'DECODE_FAILED', schemaName: 'futures.mbp10.v1' });
    await expect(reader.decode(Buffer.concat([good, Buffer.from([1, 2])]))).rejects.toMatchObject({ code: 'TRAILING_BYTES', offset: good.length });
    const unknown = Buffer.from(good);
    unknown.writeUInt32BE(0x7ffffff0, 1);
    const e = await reader.decode(unknown).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(CodecError);
    expect(e).toMatchObject({ code: 'UNKNOWN_SCHEMA_ID', schemaId: 0x7ffffff0 });
    // The good frame still decodes, and is then served from the cache synchronously.
    expect((await reader.decode(good)).schemaName).toBe('futures.mbp10.v1');
    expect(reader.tryDecodeSync(good)?.value).toEqual(toRecord(sampleValue('futures.mbp10.v1') as never));
  });

  it('read_committed consumers see committed transactions only', async () => {
    const codec = new EnvelopeCodec({ registryUrl: cfg.schema_registry.url });
    const topic = TX_TOPIC;
    const producer = createTransactionalProducer(kafka, `${prefix}tx-1`);
    await producer.connect();
    const out = new EnvelopeProducer(producer, codec);
    try {
      const aborted = [10, 11].map((i) => ({ ...sampleValue('futures.trades.v1', i), event_id: `aborted-${i}` }));
      await expect(
        runInTransaction(producer, null, async (tx) => {
          await out.sendInTransaction(tx, topic, 'futures.trades.v1', aborted);
          throw new Error('transform failed');
        }),
      ).rejects.toThrow('transform failed');
      const committed = [12, 13].map((i) => ({ ...sampleValue('futures.trades.v1', i), event_id: `committed-${i}` }));
      await runInTransaction(producer, null, (tx) => out.sendInTransaction(tx, topic, 'futures.trades.v1', committed));
    } finally {
      await producer.disconnect();
    }
    const got = await consumeAll([topic], 2);
    // Anything aborted that leaked would arrive before the committed records on the same partition.
    const ids = await Promise.all(got.map(async (m) => ((await codec.decodeEvent(m.value!)) as { event_id: string }).event_id));
    expect(ids).toEqual(['committed-12', 'committed-13']);
    expect(fromRecord('futures.trades.v1', (await codec.decode(got[0]!.value!)).value as never)).toMatchObject({ schema: 'futures.trades.v1', event_id: 'committed-12' });
  });
});
