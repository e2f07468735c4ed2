// The fault tooling itself (scripts/stack on an isolated instance): a restart keeps Kafka's data, reset wipes it, and
// an instance left behind by a dead run is swept by the next one.
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKafka, createLogger, loadConfig } from '@snap/platform';
import { faultStackDirExists, sweepStaleFaultStacks, useFaultStack, type FaultStack } from './support';

jest.setTimeout(600_000);
const quiet = createLogger({ write: () => undefined });

async function withAdmin<T>(fs: FaultStack, body: (admin: ReturnType<ReturnType<typeof createKafka>['admin']>, kafka: ReturnType<typeof createKafka>) => Promise<T>): Promise<T> {
  const kafka = createKafka(loadConfig({ env: { ...process.env, ...fs.env, LOG_LEVEL: 'error' } }), { logger: quiet, extra: { retry: { retries: 20, maxRetryTime: 2000 } } });
  const admin = kafka.admin();
  await admin.connect();
  try {
    return await body(admin, kafka);
  } finally {
    await admin.disconnect();
  }
}

describe('scripts/stack on an isolated instance (SNAP_RUN_DIR)', () => {
  const fs = useFaultStack({ services: ['kafka'] });

  it('restart keeps topics and records; reset wipes them', async () => {
    const topic = 'stack-fault-keep';
    await withAdmin(fs(), async (admin, kafka) => {
      await admin.createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: 1 }], waitForLeaders: true });
      const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
      await producer.connect();
      await producer.send({ topic, messages: [{ value: 'a' }, { value: 'b' }] });
      await producer.disconnect();
    });
    await fs().stack(['restart', 'kafka']);
    await withAdmin(fs(), async (admin) => {
      expect(await admin.listTopics()).toContain(topic);
      expect((await admin.fetchTopicOffsets(topic))[0]!.high).toBe('2');
    });
    await fs().stop('kafka');
    await fs().start('kafka');
    await withAdmin(fs(), async (admin) => expect((await admin.fetchTopicOffsets(topic))[0]!.high).toBe('2'));

    await fs().stack(['reset', 'kafka']);
    await fs().stack(['up', 'kafka']);
    await withAdmin(fs(), async (admin) => expect(await admin.listTopics()).not.toContain(topic));
  });
});

test('an instance dir left by a dead run is swept (its servers stopped, the dir removed)', async () => {
  // pid 2^22+1 can never be alive (Linux's pid_max is at most 2^22); the dir holds no live servers.
  const dir = join(tmpdir(), `snap-faults-${2 ** 22 + 1}-stale`);
  mkdirSync(join(dir, 'logs'), { recursive: true });
  writeFileSync(join(dir, 'stack-env.json'), JSON.stringify({ SNAP_RUN_DIR: dir }));
  const swept = await sweepStaleFaultStacks();
  expect(swept).toContain(dir);
  expect(faultStackDirExists(dir)).toBe(false);
});
