// The transactional producer against the real broker with its coordinator cache (installTxCoordinatorCache, kafka.ts):
// kafkajs alone asks FindCoordinator before each of AddPartitionsToTxn, AddOffsetsToTxn and EndTxn, and for the
// offsets' group coordinator before TxnOffsetCommit; with the cache each coordinator is asked at most once per
// TX_COORDINATOR_TTL_MS. What the transactions wrote, and the offsets they carried, are committed.
import { randomBytes } from 'node:crypto';
import type { Admin } from 'kafkajs';
import { createKafka, createTransactionalProducer, installTxCoordinatorCache, loadConfig, TX_COORDINATOR_TTL_MS, waitForTopics } from '@snap/platform';
import { deleteTopicsWithPrefix } from './support';

jest.setTimeout(120_000);

const prefix = `it-txc-${randomBytes(4).toString('hex')}.`;
const cfg = loadConfig({ env: { ...process.env, TOPIC_PREFIX: prefix, LOG_LEVEL: 'warn' } });
const kafka = createKafka(cfg);
let admin: Admin;

beforeAll(async () => {
  admin = kafka.admin();
  await admin.connect();
});

afterAll(async () => {
  await deleteTopicsWithPrefix(admin, prefix);
  await admin.disconnect();
});

it('ten transactions look their coordinators up once per TTL, not four times each; writes and offsets commit', async () => {
  expect(installTxCoordinatorCache()).toBe(true); // this kafkajs still has the method the cache wraps
  const out = `${prefix}out`;
  const input = `${prefix}in`;
  const group = `${prefix}group`;
  await admin.createTopics({ topics: [{ topic: out, numPartitions: 1 }, { topic: input, numPartitions: 1 }], waitForLeaders: true });
  expect(await waitForTopics(admin, [{ topic: out, partitions: 1 }, { topic: input, partitions: 1 }])).toEqual([]);
  const producer = createTransactionalProducer(kafka, `${prefix}tx`);
  let lookups = 0;
  producer.on(producer.events.REQUEST, (e) => {
    if (e.payload.apiName === 'GroupCoordinator') lookups++;
  });
  await producer.connect();
  const N = 10;
  try {
    lookups = 0;
    const started = performance.now();
    for (let i = 0; i < N; i++) {
      const tx = await producer.transaction();
      await tx.send({ topic: out, messages: [{ key: 'SPY', value: `row ${i}` }] });
      await tx.sendOffsets({ consumerGroupId: group, topics: [{ topic: input, partitions: [{ partition: 0, offset: String(i + 1) }] }] });
      await tx.commit();
    }
    const elapsedMs = performance.now() - started;
    // Per coordinator (the transaction's, the offsets' group's): the first lookup and one per TTL that passed, and
    // InitProducerId's transaction lookup on the first transaction. kafkajs alone: 4N.
    expect(lookups).toBeGreaterThanOrEqual(2);
    expect(lookups).toBeLessThanOrEqual(3 + 2 * Math.floor(elapsedMs / TX_COORDINATOR_TTL_MS));
    expect(lookups).toBeLessThan(4 * N);
  } finally {
    await producer.disconnect();
  }
  const committed = await admin.fetchOffsets({ groupId: group, topics: [input] });
  expect(committed[0]!.partitions[0]!.offset).toBe(String(N));
  // N records and N commit markers.
  const [end] = await admin.fetchTopicOffsets(out);
  expect(end!.high).toBe(String(2 * N));
});
