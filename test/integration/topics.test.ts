// applyTopics and `snap-engine topics apply` against the real broker: declared settings land on the cluster,
// a second run changes nothing, drift (a config changed by hand, a larger declared partition count) is repaired.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { ConfigResourceTypes, type Admin } from 'kafkajs';
import type { Config } from '@snap/core';
import { applyTopics, createIdempotentProducer, createKafka, loadConfig, partitionForKey, rdkafkaGlobalConfig, rdkafkaTopicConfig, topicDeclarations, topicName, waitForTopics } from '@snap/platform';
import { deleteTopicsWithPrefix } from './support';

jest.setTimeout(120_000);

const ROOT = resolve(__dirname, '../..');
const prefix = `it-topics-${randomBytes(4).toString('hex')}.`;
const cfg: Config = loadConfig({ env: { ...process.env, TOPIC_PREFIX: prefix, LOG_LEVEL: 'warn' } });
let admin: Admin;

async function describe_(topics: string[]) {
  const meta = await admin.fetchTopicMetadata({ topics });
  const described = await admin.describeConfigs({ resources: topics.map((name) => ({ type: ConfigResourceTypes.TOPIC, name })), includeSynonyms: false });
  return {
    partitions: new Map(meta.topics.map((t) => [t.name, t.partitions.length])),
    replicas: new Map(meta.topics.map((t) => [t.name, t.partitions[0]!.replicas.length])),
    configs: new Map(described.resources.map((r) => [r.resourceName, new Map(r.configEntries.map((e) => [e.configName, e.configValue]))])),
  };
}

beforeAll(async () => {
  admin = createKafka(cfg).admin();
  await admin.connect();
});

afterAll(async () => {
  await deleteTopicsWithPrefix(admin, prefix);
  await admin.disconnect();
});

describe('applyTopics', () => {
  it('creates every declared topic with its declared settings, then changes nothing', async () => {
    const decls = topicDeclarations(cfg);
    const first = await applyTopics(admin, cfg);
    expect(first.map((r) => r.action)).toEqual(decls.map(() => 'created'));
    expect(first.every((r) => r.topic.startsWith(prefix))).toBe(true);

    const names = decls.map((d) => topicName(cfg, d.base));
    const actual = await describe_(names);
    for (const d of decls) {
      const name = topicName(cfg, d.base);
      expect([name, actual.partitions.get(name)]).toEqual([name, d.partitions]);
      expect(actual.replicas.get(name)).toBe(d.replicationFactor);
      for (const [k, v] of Object.entries(d.configs)) expect([name, k, actual.configs.get(name)!.get(k)]).toEqual([name, k, v]);
    }
    expect(actual.configs.get(topicName(cfg, 'snap.processor.changelog.v1'))!.get('cleanup.policy')).toBe('compact');

    const second = await applyTopics(admin, cfg);
    expect(second).toEqual(decls.map((d) => ({ topic: topicName(cfg, d.base), action: 'unchanged', changes: [], warnings: [] })));
  });

  it('repairs drift: a config changed by hand is reset, a larger declared partition count is applied', async () => {
    const signals = topicName(cfg, 'levels.signals.v1');
    await admin.alterConfigs({
      validateOnly: false,
      resources: [{ type: ConfigResourceTypes.TOPIC, name: signals, configEntries: [{ name: 'retention.ms', value: '60000' }, { name: 'cleanup.policy', value: 'delete' }] }],
    });
    // The brokers apply a config change a moment after the admin call returns: wait until ours is what they report.
    while ((await describe_([signals])).configs.get(signals)!.get('retention.ms') !== '60000') await new Promise((r) => setTimeout(r, 100));
    const bigger: Config = { ...cfg, kafka: { ...cfg.kafka, partitions: cfg.kafka.partitions + 2 } };
    const report = await applyTopics(admin, bigger);
    const sig = report.find((r) => r.topic === signals)!;
    expect(sig.action).toBe('altered');
    expect(sig.changes).toEqual(expect.arrayContaining([`partitions: ${cfg.kafka.partitions} -> ${cfg.kafka.partitions + 2}`, `retention.ms: 60000 -> ${cfg.kafka.retention_ms}`]));
    const dl = report.find((r) => r.topic === topicName(cfg, 'snap.deadletter.v1'))!;
    expect(dl.action).toBe('unchanged'); // one partition, not co-partitioned
    const actual = await describe_([signals]);
    expect(actual.partitions.get(signals)).toBe(cfg.kafka.partitions + 2);
    expect(actual.configs.get(signals)!.get('retention.ms')).toBe(String(cfg.kafka.retention_ms));
    expect((await applyTopics(admin, bigger)).every((r) => r.action === 'unchanged')).toBe(true);

    // Declaring fewer partitions than exist cannot be applied: a warning, not a silent no-op.
    const fewer = await applyTopics(admin, cfg);
    expect(fewer.find((r) => r.topic === signals)!.warnings.join(' ')).toMatch(/cannot reduce partitions/);
  });

  it('`snap-engine topics apply` respects TOPIC_PREFIX and prints one action per topic', async () => {
    const cliPrefix = `${prefix}cli.`;
    const run = (args: string[]) =>
      promisify(execFile)('node', [resolve(ROOT, 'services/cli/bin/snap-engine.js'), ...args], { cwd: ROOT, env: { ...process.env, TOPIC_PREFIX: cliPrefix, LOG_LEVEL: 'warn' } });
    const first = await run(['topics', 'apply']);
    const lines = first.stdout.trim().split('\n');
    const n = topicDeclarations(cfg).length;
    expect(lines).toHaveLength(n);
    expect(lines.every((l) => /^created\s+it-topics-[0-9a-f]+\.cli\.\S+\s+partitions=/.test(l))).toBe(true);
    const second = await run(['topics', 'apply']);
    expect(second.stdout.trim().split('\n').map((l) => l.split(/\s+/)[0])).toEqual(Array(n).fill('unchanged'));
    const list = await run(['topics', 'list', '--json']);
    const rows = JSON.parse(list.stdout) as { topic: string; exists: boolean; partitions: number; declared_partitions: number }[];
    expect(rows.every((r) => r.topic.startsWith(cliPrefix) && r.exists && r.partitions === r.declared_partitions)).toBe(true);
  });
});

describe('co-partitioning: every producer maps key → partition the same way', () => {
  const KEYS = ['SPY', 'QQQ', 'IWM', 'ES', 'NVDA', 'BRK.B', 'TSLA', 'AAPL', 'SPX', 'NDX'];

  it('kafkajs (DefaultPartitioner) and node-rdkafka (rdkafkaTopicConfig) both put each key on partitionForKey(key)', async () => {
    const topic = `${prefix}partitioner`;
    await admin.createTopics({ topics: [{ topic, numPartitions: cfg.kafka.partitions, replicationFactor: 1 }], waitForLeaders: false });
    expect(await waitForTopics(admin, [{ topic, partitions: cfg.kafka.partitions }])).toEqual([]);
    const expected = KEYS.map((k) => [k, partitionForKey(k, cfg.kafka.partitions)]);
    // Not all on one partition, or the comparison below would prove nothing.
    expect(new Set(expected.map(([, p]) => p)).size).toBeGreaterThan(2);

    const producer = createIdempotentProducer(createKafka(cfg));
    await producer.connect();
    await producer.send({ topic, messages: KEYS.map((key) => ({ key, value: key })) });
    await producer.disconnect();

    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const K = require('node-rdkafka') as typeof import('node-rdkafka');
    const rd = new K.Producer({ ...rdkafkaGlobalConfig(cfg), 'enable.idempotence': true, dr_cb: true }, rdkafkaTopicConfig());
    await new Promise<void>((res, rej) => rd.connect({}, (err) => (err ? rej(err) : res())));
    rd.setPollInterval(5);
    const rdPlaced = await new Promise<[string, number][]>((res, rej) => {
      const got: [string, number][] = [];
      rd.on('delivery-report', (err, r) => {
        if (err) return rej(err);
        got.push([String(r.key), r.partition]);
        if (got.length === KEYS.length) res(got);
      });
      for (const k of KEYS) rd.produce(topic, null, Buffer.from(k), k);
    });
    await new Promise<void>((res) => rd.disconnect(() => res()));
    expect(rdPlaced.sort()).toEqual([...expected].sort());

    // Where did kafkajs put them? Read every partition and compare.
    const consumer = createKafka(cfg).consumer({ groupId: `${prefix}partitioner-g` });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const seen: [string, number][] = [];
    await new Promise<void>((res, rej) => {
      consumer
        .run({
          eachMessage: async ({ partition, message }) => {
            seen.push([message.key!.toString(), partition]);
            if (seen.length === KEYS.length * 2) res();
          },
        })
        .catch(rej);
    });
    await consumer.disconnect();
    // Both producers' records of one key sit on the same partition, which is partitionForKey(key).
    const byKey = new Map<string, Set<number>>();
    for (const [k, p] of seen) byKey.set(k, (byKey.get(k) ?? new Set()).add(p));
    for (const [k, p] of expected) expect([k, [...byKey.get(k as string)!]]).toEqual([k, [p]]);
  });
});
