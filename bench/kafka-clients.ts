// kafkajs vs node-rdkafka on the hot paths, in ONE run against the local broker and registry (scripts/stack up):
//   produce   N stocks.quotes.v1 envelopes (Avro-encoded by EnvelopeCodec inside the timed loop), idempotent, acks=all
//   consume   the same N records, read_committed, each decoded by EnvelopeCodec
//   tx        consume → transform (quote → levels.signals.v1 row) → produce, one transaction per batch with the
//             input offsets sent into it (what the processor does)
// Prints msgs/s per client and the ratio rdkafka/kafkajs per role. Bounded: BENCH_N records (default 20000),
// BENCH_TX_N for the transactional pass (default 10000), and every phase stops at BENCH_PHASE_LIMIT_MS (default 60 s),
// reporting how far it got.
//   npm run bench -- kafka-clients      (or: npx tsx bench/kafka-clients.ts)
// Recorded (a comparison of two clients, not a goal row) as kafka-clients-<role>: ours = node-rdkafka, peer = kafkajs.
// bench-needs: kafka schema-registry
// bench-rows: kafka-clients-produce kafka-clients-consume kafka-clients-tx
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { StockQuote } from '@snap/core';
import {
  EnvelopeCodec,
  createIdempotentProducer,
  createKafka,
  createReadCommittedConsumer,
  createTransactionalProducer,
  loadConfig,
  rdkafkaGlobalConfig,
  rdkafkaTopicConfig,
  runInTransaction,
  signalRowToRecord,
  waitForTopics,
  type Decoded,
  type SignalRecord,
} from '@snap/platform';
import type { Message as KafkajsMessage } from 'kafkajs';
import { sampleValue } from '../packages/platform/src/envelope-samples';
import { recordResult } from './results';

const N = Number(process.env.BENCH_N ?? 20_000);
const TX_N = Number(process.env.BENCH_TX_N ?? 10_000);
const PHASE_LIMIT_MS = Number(process.env.BENCH_PHASE_LIMIT_MS ?? 60_000);
const TX_BATCH = 500;

const cfg = loadConfig({ env: { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' } });
const run = `bench-${randomBytes(3).toString('hex')}.`;
const T = {
  kjsIn: `${run}kafkajs.stocks.quotes.v1`,
  rdkIn: `${run}rdkafka.stocks.quotes.v1`,
  kjsOut: `${run}kafkajs.levels.signals.v1`,
  rdkOut: `${run}rdkafka.levels.signals.v1`,
};
const PARTITIONS = cfg.kafka.partitions;

// eslint-disable-next-line @typescript-eslint/no-require-imports
let Rdkafka: typeof import('node-rdkafka') | undefined;
try {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  Rdkafka = require('node-rdkafka') as typeof import('node-rdkafka');
} catch (e) {
  process.stderr.write(`node-rdkafka unavailable (${(e as Error).message}); only kafkajs will be measured\n`);
}

interface Result {
  role: 'produce' | 'consume' | 'tx';
  client: 'kafkajs' | 'node-rdkafka';
  msgs: number;
  ms: number;
  complete: boolean;
}
const results: Result[] = [];
const rate = (r: Result) => (r.msgs / r.ms) * 1000;

function record(role: Result['role'], client: Result['client'], msgs: number, ms: number, expected: number) {
  const r = { role, client, msgs, ms, complete: msgs >= expected };
  results.push(r);
  process.stderr.write(`${role.padEnd(8)} ${client.padEnd(13)} ${msgs} msgs in ${ms.toFixed(0)} ms = ${rate(r).toFixed(0)} msgs/s${r.complete ? '' : ` (STOPPED at the ${PHASE_LIMIT_MS} ms limit)`}\n`);
}

const quote = (i: number): StockQuote => {
  const q = sampleValue('stocks.quotes.v1', i) as StockQuote;
  return { ...q, key: ['SPY', 'QQQ', 'IWM'][i % 3]!, symbol: ['SPY', 'QQQ', 'IWM'][i % 3]!, event_id: `q-${i}` };
};

/** The transform of the tx pass: a quote becomes a signals row (decode + build + encode, like the processor). */
function transform(d: Decoded): SignalRecord {
  const q = d.value as unknown as StockQuote;
  const base = sampleValue('levels.signals.v1', 0) as SignalRecord;
  const mid = (q.bid_px + q.ask_px) / 2;
  return signalRowToRecord({ ...base, ts_event_ns: q.ts_event_ns, underlying: q.key, spot: mid, bid: q.bid_px, ask: q.ask_px, distance: Math.abs(mid - base.level_price) }, { source: 'replay', ts_recv_ns: q.ts_recv_ns });
}

async function decode(codec: EnvelopeCodec, buf: Buffer): Promise<Decoded> {
  return codec.tryDecodeSync(buf) ?? codec.decode(buf);
}

// ------------------------------------------------------------------------------------------------- kafkajs

async function kafkajsProduce(codec: EnvelopeCodec) {
  const producer = createIdempotentProducer(createKafka(cfg, { clientId: 'bench-kafkajs' }));
  await producer.connect();
  const t0 = performance.now();
  let sent = 0;
  const BATCH = 1000;
  while (sent < N && performance.now() - t0 < PHASE_LIMIT_MS) {
    const messages: KafkajsMessage[] = [];
    for (let i = sent; i < Math.min(N, sent + BATCH); i++) {
      const q = quote(i);
      messages.push({ key: q.key, value: codec.encodeSync(T.kjsIn, 'stocks.quotes.v1', q) });
    }
    await producer.send({ topic: T.kjsIn, messages });
    sent += messages.length;
  }
  record('produce', 'kafkajs', sent, performance.now() - t0, N);
  await producer.disconnect();
}

async function kafkajsConsume(codec: EnvelopeCodec, topic: string): Promise<bigint> {
  const consumer = createReadCommittedConsumer(createKafka(cfg, { clientId: 'bench-kafkajs' }), `${run}kafkajs-consume`);
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let n = 0;
  let checksum = 0n;
  let t0 = 0;
  const started = performance.now();
  await new Promise<void>((resolve, reject) => {
    const limit = setTimeout(resolve, PHASE_LIMIT_MS);
    consumer
      .run({
        eachBatch: async ({ batch }) => {
          if (!t0) t0 = performance.now();
          for (const m of batch.messages) {
            const d = await decode(codec, m.value!);
            checksum += (d.value as { ts_event_ns: bigint }).ts_event_ns;
            if (++n >= N) {
              clearTimeout(limit);
              resolve();
            }
          }
        },
      })
      .catch(reject);
  });
  // From the first batch: group join is a one-off cost, not throughput.
  record('consume', 'kafkajs', n, performance.now() - (t0 || started), N);
  await consumer.disconnect();
  return checksum;
}

async function kafkajsTx(codec: EnvelopeCodec) {
  const kafka = createKafka(cfg, { clientId: 'bench-kafkajs' });
  const groupId = `${run}kafkajs-tx`;
  const consumer = createReadCommittedConsumer(kafka, groupId);
  const producer = createTransactionalProducer(kafka, `${run}kafkajs-tx`);
  await Promise.all([consumer.connect(), producer.connect()]);
  await codec.register(T.kjsOut, 'levels.signals.v1');
  await consumer.subscribe({ topic: T.kjsIn, fromBeginning: true });
  let n = 0;
  let t0 = 0;
  const started = performance.now();
  await new Promise<void>((resolve, reject) => {
    const limit = setTimeout(resolve, PHASE_LIMIT_MS);
    consumer
      .run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning }) => {
          if (!t0) t0 = performance.now();
          for (let s = 0; s < batch.messages.length && n < TX_N && isRunning(); s += TX_BATCH) {
            const chunk = batch.messages.slice(s, Math.min(s + TX_BATCH, s + TX_N - n));
            const out: KafkajsMessage[] = [];
            for (const m of chunk) {
              const sig = transform(await decode(codec, m.value!));
              out.push({ key: sig.key, value: codec.encodeSync(T.kjsOut, 'levels.signals.v1', sig) });
            }
            const last = chunk[chunk.length - 1]!.offset;
            await runInTransaction(producer, { consumerGroupId: groupId, topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset: String(BigInt(last) + 1n) }] }] }, (tx) =>
              tx.send({ topic: T.kjsOut, messages: out }),
            );
            resolveOffset(last);
            await heartbeat();
            n += chunk.length;
          }
          if (n >= TX_N) {
            clearTimeout(limit);
            resolve();
          }
        },
      })
      .catch(reject);
  });
  record('tx', 'kafkajs', n, performance.now() - (t0 || started), TX_N);
  await consumer.disconnect();
  await producer.disconnect();
}

// ------------------------------------------------------------------------------------------------- node-rdkafka

type RdProducer = import('node-rdkafka').Producer;
type RdConsumer = import('node-rdkafka').KafkaConsumer;

const cb = <T = void>(fn: (done: (err: unknown, v?: T) => void) => void) =>
  new Promise<T>((resolve, reject) => fn((err, v) => (err ? reject(err) : resolve(v as T))));

async function rdConnect<C extends RdProducer | RdConsumer>(client: C): Promise<C> {
  await cb((done) => client.connect({}, (err) => done(err)));
  return client;
}

async function rdkafkaProduce(codec: EnvelopeCodec) {
  const K = Rdkafka!;
  const producer = await rdConnect(
    new K.Producer({ ...rdkafkaGlobalConfig(cfg, { clientId: 'bench-rdkafka' }), 'enable.idempotence': true, dr_cb: true, 'linger.ms': 5 }, rdkafkaTopicConfig()),
  );
  producer.setPollInterval(5);
  let delivered = 0;
  let failed: unknown;
  producer.on('delivery-report', (err) => {
    if (err) failed = err;
    delivered++;
  });
  const t0 = performance.now();
  let i = 0;
  while (i < N && performance.now() - t0 < PHASE_LIMIT_MS) {
    const q = quote(i);
    try {
      producer.produce(T.rdkIn, null, codec.encodeSync(T.rdkIn, 'stocks.quotes.v1', q), q.key);
      i++;
    } catch (e) {
      // Local queue full: let deliveries drain, then retry the same record.
      if ((e as { code?: number }).code !== K.CODES.ERRORS.ERR__QUEUE_FULL) throw e;
      await new Promise((r) => setTimeout(r, 2));
    }
  }
  await cb((done) => producer.flush(PHASE_LIMIT_MS, (err) => done(err)));
  while (delivered < i && performance.now() - t0 < PHASE_LIMIT_MS) await new Promise((r) => setTimeout(r, 1));
  if (failed) throw failed;
  record('produce', 'node-rdkafka', delivered, performance.now() - t0, N);
  await cb((done) => producer.disconnect((err) => done(err)));
}

function rdConsumer(groupId: string): RdConsumer {
  const K = Rdkafka!;
  return new K.KafkaConsumer(
    { ...rdkafkaGlobalConfig(cfg, { clientId: 'bench-rdkafka' }), 'group.id': groupId, 'enable.auto.commit': false, 'isolation.level': 'read_committed' },
    { 'auto.offset.reset': 'earliest' },
  );
}

async function rdkafkaConsume(codec: EnvelopeCodec, topic: string): Promise<bigint> {
  const consumer = await rdConnect(rdConsumer(`${run}rdkafka-consume`));
  consumer.subscribe([topic]);
  consumer.setDefaultConsumeTimeout(100);
  let n = 0;
  let checksum = 0n;
  let t0 = 0;
  const started = performance.now();
  while (n < N && performance.now() - started < PHASE_LIMIT_MS) {
    const batch = await cb<import('node-rdkafka').Message[]>((done) => consumer.consume(1000, done));
    if (batch.length && !t0) t0 = performance.now();
    for (const m of batch) {
      const d = await decode(codec, m.value!);
      checksum += (d.value as { ts_event_ns: bigint }).ts_event_ns;
      n++;
    }
  }
  record('consume', 'node-rdkafka', n, performance.now() - (t0 || started), N);
  await cb((done) => consumer.disconnect((err) => done(err)));
  return checksum;
}

async function rdkafkaTx(codec: EnvelopeCodec) {
  const K = Rdkafka!;
  const consumer = await rdConnect(rdConsumer(`${run}rdkafka-tx`));
  const producer = await rdConnect(new K.Producer({ ...rdkafkaGlobalConfig(cfg, { clientId: 'bench-rdkafka' }), 'transactional.id': `${run}rdkafka-tx`, 'linger.ms': 5 }, rdkafkaTopicConfig()));
  producer.setPollInterval(5);
  await cb((done) => producer.initTransactions(30_000, (err) => done(err)));
  await codec.register(T.rdkOut, 'levels.signals.v1');
  consumer.subscribe([T.kjsIn]);
  consumer.setDefaultConsumeTimeout(100);
  let n = 0;
  let t0 = 0;
  const started = performance.now();
  while (n < TX_N && performance.now() - started < PHASE_LIMIT_MS) {
    const batch = await cb<import('node-rdkafka').Message[]>((done) => consumer.consume(Math.min(TX_BATCH, TX_N - n), done));
    if (!batch.length) continue;
    if (!t0) t0 = performance.now();
    await cb((done) => producer.beginTransaction((err) => done(err)));
    const next = new Map<string, { topic: string; partition: number; offset: number }>();
    for (const m of batch) {
      const sig = transform(await decode(codec, m.value!));
      producer.produce(T.rdkOut, null, codec.encodeSync(T.rdkOut, 'levels.signals.v1', sig), sig.key);
      next.set(`${m.topic}:${m.partition}`, { topic: m.topic, partition: m.partition, offset: m.offset + 1 });
    }
    await cb((done) => producer.sendOffsetsToTransaction([...next.values()], consumer, 30_000, (err) => done(err)));
    await cb((done) => producer.commitTransaction(30_000, (err) => done(err)));
    n += batch.length;
  }
  record('tx', 'node-rdkafka', n, performance.now() - (t0 || started), TX_N);
  await cb((done) => producer.disconnect((err) => done(err)));
  await cb((done) => consumer.disconnect((err) => done(err)));
}

// ------------------------------------------------------------------------------------------------- main

async function main() {
  const kafka = createKafka(cfg, { clientId: 'bench-admin' });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: Object.values(T).map((topic) => ({ topic, numPartitions: PARTITIONS, replicationFactor: cfg.kafka.replication_factor })), waitForLeaders: false });
  const late = await waitForTopics(admin, Object.values(T).map((topic) => ({ topic, partitions: PARTITIONS })));
  if (late.length) throw new Error(`bench topics without leaders: ${late.join(', ')}`);
  const codec = new EnvelopeCodec({ registryUrl: cfg.schema_registry.url });
  await Promise.all([codec.register(T.kjsIn, 'stocks.quotes.v1'), codec.register(T.rdkIn, 'stocks.quotes.v1')]);
  process.stderr.write(`kafka-clients bench: N=${N} TX_N=${TX_N} partitions=${PARTITIONS} brokers=${cfg.kafka.brokers.join(',')} node-rdkafka=${Rdkafka ? `${Rdkafka.librdkafkaVersion}` : 'absent'}\n`);
  // The codec alone, for scale: the ceiling any client can reach with Avro in the loop on this machine.
  {
    const frames: Buffer[] = [];
    let t0 = performance.now();
    for (let i = 0; i < N; i++) frames.push(codec.encodeSync(T.kjsIn, 'stocks.quotes.v1', quote(i)));
    const enc = performance.now() - t0;
    t0 = performance.now();
    for (const f of frames) codec.tryDecodeSync(f);
    const dec = performance.now() - t0;
    process.stderr.write(`codec    encode ${((N / enc) * 1000).toFixed(0)} msgs/s, decode ${((N / dec) * 1000).toFixed(0)} msgs/s (no Kafka)\n`);
  }
  try {
    await kafkajsProduce(codec);
    if (Rdkafka) await rdkafkaProduce(codec);
    // Both consumers read the same topic (the kafkajs-produced one) so they decode identical bytes.
    const sums = [await kafkajsConsume(new EnvelopeCodec({ registryUrl: cfg.schema_registry.url }), T.kjsIn)];
    if (Rdkafka) sums.push(await rdkafkaConsume(new EnvelopeCodec({ registryUrl: cfg.schema_registry.url }), T.kjsIn));
    if (sums.length === 2 && sums[0] !== sums[1]) throw new Error(`consumers disagree: checksum ${sums[0]} vs ${sums[1]}`);
    await kafkajsTx(codec);
    if (Rdkafka) await rdkafkaTx(codec);
    const out = await Promise.all([T.kjsOut, T.rdkOut].map(async (t) => (await admin.fetchTopicOffsets(t)).reduce((s, p) => s + Number(p.high), 0)));
    process.stderr.write(`output high watermarks (records + transaction markers): kafkajs ${out[0]}, node-rdkafka ${out[1]}\n`);
  } finally {
    await admin.deleteTopics({ topics: Object.values(T) }).catch(() => undefined);
    await admin.disconnect();
  }

  process.stdout.write(`\n| role | kafkajs msgs/s | node-rdkafka msgs/s | rdkafka / kafkajs |\n|---|---:|---:|---:|\n`);
  for (const role of ['produce', 'consume', 'tx'] as const) {
    const a = results.find((r) => r.role === role && r.client === 'kafkajs');
    const b = results.find((r) => r.role === role && r.client === 'node-rdkafka');
    const fmt = (r?: Result) => (r ? `${rate(r).toFixed(0)}${r.complete ? '' : ' (partial)'}` : 'n/a');
    process.stdout.write(`| ${role} | ${fmt(a)} | ${fmt(b)} | ${a && b ? (rate(b) / rate(a)).toFixed(2) : 'n/a'} |\n`);
    if (a && b) {
      recordResult({
        name: `kafka-clients-${role}`,
        ours: Math.round(rate(b)),
        peer: Math.round(rate(a)),
        unit: 'msgs/s',
        higher_is_better: true,
        notes:
          `comparison, not a goal: node-rdkafka (ours) vs kafkajs (peer), ${role === 'tx' ? TX_N : N} records, ${PARTITIONS} partitions, Avro codec in the loop, wall-clock rate of one pass each` +
          `${a.complete && b.complete ? '' : ' (partial: a phase hit BENCH_PHASE_LIMIT_MS)'}`,
      });
    }
  }
  process.stdout.write(`\nN=${N}, TX_N=${TX_N} (transaction per ${TX_BATCH} records), ${PARTITIONS} partitions, Avro encode/decode by EnvelopeCodec included.\n`);
}

main().then(
  () => process.exit(0),
  (e) => {
    process.stderr.write(`bench failed: ${(e as Error).stack ?? e}\n`);
    process.exit(1);
  },
);
