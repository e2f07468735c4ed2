// Fault: a poison record at the broker's size limit. An input record within a few hundred bytes of max.message.bytes
// used to produce a dead letter larger than the broker accepts (the dead letter wraps the raw bytes): the transaction
// failed, the group was never rebuilt and `processor --until-idle` hung. Now the dead letter carries a truncated
// payload with the original's length and sha256 (and its topic/partition/offset), the partition keeps flowing, and
// the signals equal the embedded run over the same valid records. Main stack's broker, this file's own TOPIC_PREFIX.
import { createHash, randomBytes } from 'node:crypto';
import type { Producer } from 'kafkajs';
import { ConfigResourceTypes } from 'kafkajs';
import { CodecError, DEADLETTER_TOPIC, SIGNALS_TOPIC, createIdempotentProducer, loadConfig, topicName, type DeadLetterRecord } from '@snap/platform';
import { compareRows } from '@snap/processor';
import { faultRow, until } from './support';
import { Procs, useTestClients, committedDeadLetters, committedSignals, embeddedReference, lostAndDuplicated, type SimSpan } from './processor-support';

jest.setTimeout(900_000);

const prefix = `t-fault-poison-${randomBytes(4).toString('hex')}-`;
const env: Record<string, string> = { TOPIC_PREFIX: prefix, UNDERLYINGS: 'SPY', SNAP_KAFKA_PARTITIONS: '1', SNAP_HTTP_PORT: '0', LOG_LEVEL: 'info' };
const cfg = loadConfig({ env: { ...process.env, ...env } });
const procs = new Procs(() => env);
const SPANS: SimSpan[] = [
  { seed: 31, underlying: 'SPY', start: '2025-12-22T15:00:00Z', duration: '20s' },
  { seed: 32, underlying: 'SPY', start: '2025-12-22T15:00:25Z', duration: '20s' },
];

/** The poison record's producer (connected in the test, disconnected with the clients). */
let producer: Producer | undefined;
const clients = useTestClients(procs, [prefix], async () => {
  await producer?.disconnect();
});

it('a record at max.message.bytes is dead-lettered (truncated, with its sha256) and the partition keeps flowing', async () => {
  const { kafka, admin, codec } = clients();
  producer = createIdempotentProducer(kafka);
  await producer.connect();
  await procs.ok(['topics', 'apply']);
  const quotes = topicName(cfg, 'stocks.quotes.v1');
  const cfgs = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: quotes, configNames: ['max.message.bytes'] }] });
  const limit = Number(cfgs.resources[0]!.configEntries.find((c) => c.configName === 'max.message.bytes')!.configValue);
  expect(limit).toBeGreaterThan(100_000);

  const s0 = SPANS[0]!;
  await procs.ok(['feed', 'sim', '--seed', String(s0.seed), '--underlying', 'SPY', '--start', s0.start, '--duration', s0.duration]);
  // The poison: not an Avro frame (no magic byte), as large as the broker still accepts in one record batch.
  const poison = Buffer.alloc(limit - 230, 0x41);
  const [meta] = await producer.send({ topic: quotes, messages: [{ key: 'SPY', value: poison }] });
  const poisonOffset = BigInt(meta!.baseOffset!);
  const s1 = SPANS[1]!;
  await procs.ok(['feed', 'sim', '--seed', String(s1.seed), '--underlying', 'SPY', '--start', s1.start, '--duration', s1.duration]);

  const t0 = Date.now();
  const proc = procs.start(['processor', '--until-idle']);
  const r = await until(
    () => Promise.race([proc.done, new Promise<false>((res) => setTimeout(() => res(false), 1000))]),
    'processor --until-idle to finish past the poison record',
    600_000,
  );
  const recoveryS = (Date.now() - t0) / 1000;
  expect(r.code).toBe(0);
  expect(r.stderr).not.toMatch(/"msg":"transaction failed/);

  const dls = await committedDeadLetters(kafka, admin, codec, topicName(cfg, DEADLETTER_TOPIC));
  const mine = dls.filter((d: DeadLetterRecord) => d.source_topic === quotes && d.source_offset !== null && BigInt(d.source_offset) === poisonOffset);
  expect(mine).toHaveLength(1);
  const dl = mine[0]!;
  expect(dl.error_class).toBe(CodecError.name);
  expect(dl.reason).toContain(`raw truncated from ${poison.length} to ${dl.raw.length} bytes`);
  expect(dl.reason).toContain(createHash('sha256').update(poison).digest('hex'));
  expect(poison.subarray(0, dl.raw.length).equals(Buffer.from(dl.raw))).toBe(true);
  expect(dl.source_partition).toBe(0);

  const reference = await embeddedReference(procs, SPANS, { UNDERLYINGS: 'SPY', LOG_LEVEL: 'warn' });
  expect(reference.length).toBeGreaterThan(300);
  const got = await committedSignals(kafka, admin, codec, topicName(cfg, SIGNALS_TOPIC));
  const report = compareRows(reference, got);
  const { lost, duplicated } = lostAndDuplicated(reference, got);
  faultRow({ fault: 'poison record at max.message.bytes (processor)', lost, duplicated, recovery_s: Math.round(recoveryS * 10) / 10, note: 'recovery = processor --until-idle wall time over 40 s of input with the poison in the middle' });
  expect(report.first_difference).toBeNull();
  expect({ lost, duplicated }).toEqual({ lost: 0, duplicated: 0 });
});
