// The Redis online store serves only live levels (docs/features-serving.md), against the real local Kafka and Redis:
// signals produced transactionally, `snap-engine sink redis --until-idle` as an operator runs it, features read with
// readServingFeatures exactly as the doc's example does.
import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import type { Admin, Kafka, Producer } from 'kafkajs';
import type { Config, SignalRow } from '@snap/core';
import { sessionKeyOf } from '@snap/core';
import { EnvelopeCodec, SIGNALS_TOPIC, applyTopics, createKafka, createLogger, createTransactionalProducer, loadConfig, topicDeclarations, topicName } from '@snap/platform';
import { readServingFeatures, sampleSignalRow } from '@snap/lake-sink';
import { produceSignalsTx, runCli, until } from './support';

jest.setTimeout(300_000);

const run = randomBytes(4).toString('hex');
const PREFIX = `t-redis-live-${run}-`;
const KEY_PREFIX = `it-live:${run}:`;
const TICK_NS = 250_000_000n;
// 15:00 UTC = 10:00 ET on 2026-01-06 (session 2026-01-06), and the next day's session.
const DAY1 = BigInt(Date.UTC(2026, 0, 6, 15, 0, 0)) * 1_000_000n;
const DAY2 = BigInt(Date.UTC(2026, 0, 7, 15, 0, 0)) * 1_000_000n;

const env: Record<string, string> = {
  TOPIC_PREFIX: PREFIX,
  SNAP_KAFKA_PARTITIONS: '2',
  SNAP_REDIS_SINK_GROUP_ID: `${PREFIX}redis`,
  SNAP_REDIS_KEY_PREFIX: KEY_PREFIX,
  LOG_LEVEL: 'info',
};
const cfg: Config = loadConfig({ env: { ...process.env, ...env } });

let kafka: Kafka;
let admin: Admin;
let producer: Producer;
let codec: EnvelopeCodec;
let redis: Redis;

const tick = (t0: bigint, i: number, underlying: string, levels: string[]): SignalRow[] =>
  levels.map((level_id, k) => sampleSignalRow(i * 10 + k, t0 + BigInt(i) * TICK_NS, { underlying, level_id, note: `${underlying} ${level_id} #${i}` }));

async function produceTicks(t0: bigint, from: number, to: number, levels: Record<string, string[]>) {
  for (let i = from; i < to; i++) await produceSignalsTx(producer, codec, topicName(cfg, SIGNALS_TOPIC), Object.entries(levels).flatMap(([u, ls]) => tick(t0, i, u, ls)), true);
}

async function sinkIdle(extra: Record<string, string> = {}) {
  const r = await runCli(['sink', 'redis', '--until-idle'], { ...env, ...extra });
  if (r.code !== 0) throw new Error(`sink redis exited ${r.code}:\n${r.stderr.slice(-3000)}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, number>;
}

const index = (u: string) => redis.zrange(`${KEY_PREFIX}levels:{${u}}`, '0', '-1');

beforeAll(async () => {
  kafka = createKafka(cfg, { logger: createLogger({ write: () => undefined }), clientId: `it-redis-live-${run}` });
  admin = kafka.admin();
  await admin.connect();
  await applyTopics(admin, cfg, topicDeclarations(cfg).filter((d) => d.role === 'signals'));
  producer = createTransactionalProducer(kafka, `${PREFIX}tx`);
  await producer.connect();
  codec = new EnvelopeCodec({ registryUrl: cfg.schema_registry.url });
  redis = new Redis(cfg.redis.url, { lazyConnect: true, maxRetriesPerRequest: 2 });
  await redis.connect();
});

afterAll(async () => {
  await producer?.disconnect().catch(() => undefined);
  await admin?.deleteGroups([`${PREFIX}redis`]).catch(() => undefined);
  await admin?.deleteTopics({ topics: [topicName(cfg, SIGNALS_TOPIC)] }).catch(() => undefined);
  await admin?.disconnect().catch(() => undefined);
  if (redis) {
    const keys = await redis.keys(`${KEY_PREFIX}*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
  }
});

describe('sink redis: the per-underlying index lists only live levels', () => {
  it('serves every live level with its event time and session, read the way docs/features-serving.md does', async () => {
    await produceTicks(DAY1, 0, 4, { SPY: ['ROUND_600', 'STRIKE_601', 'VWAP'], QQQ: ['VWAP', 'HVL'] });
    await sinkIdle();
    const spy = await readServingFeatures(redis, 'SPY', { keyPrefix: KEY_PREFIX });
    expect(spy.map((l) => l.levelId)).toEqual(['ROUND_600', 'STRIKE_601', 'VWAP']);
    const last = DAY1 + 3n * TICK_NS;
    for (const l of spy) {
      expect(l.tsEventNs).toBe(last);
      expect(l.session).toBe('2026-01-06');
      expect(l.session).toBe(sessionKeyOf(last, cfg.levels.vwap_anchor));
      expect(l.fields.note).toBe(`SPY ${l.levelId} #3`);
      expect(Number(l.fields.break_score_smooth)).toBe(tick(DAY1, 3, 'SPY', ['ROUND_600', 'STRIKE_601', 'VWAP']).find((r) => r.level_id === l.levelId)!.break_score_smooth);
    }
    expect((await readServingFeatures(redis, 'QQQ', { keyPrefix: KEY_PREFIX })).map((l) => l.levelId)).toEqual(['HVL', 'VWAP']);
    // A reader's staleness guard: these ticks are from January, far older than 5 s before now.
    expect(await readServingFeatures(redis, 'SPY', { keyPrefix: KEY_PREFIX, maxAgeMs: 5_000 })).toEqual([]);
    expect(await readServingFeatures(redis, 'SPY', { keyPrefix: KEY_PREFIX, maxAgeMs: 5_000, nowMs: Number(last / 1_000_000n) + 1_000 })).toHaveLength(3);
  });

  it('a retired level leaves the index and its hash is deleted; the other underlying is untouched', async () => {
    await produceTicks(DAY1, 4, 6, { SPY: ['STRIKE_601', 'VWAP'], QQQ: ['VWAP', 'HVL'] });
    const out = await sinkIdle();
    expect(out.pruned).toBe(1);
    expect(await index('SPY')).toEqual(['STRIKE_601', 'VWAP']);
    expect(await redis.exists(`${KEY_PREFIX}levels:{SPY}:ROUND_600`)).toBe(0);
    expect((await readServingFeatures(redis, 'SPY', { keyPrefix: KEY_PREFIX })).map((l) => [l.levelId, l.tsEventNs])).toEqual([
      ['STRIKE_601', DAY1 + 5n * TICK_NS],
      ['VWAP', DAY1 + 5n * TICK_NS],
    ]);
    expect(await index('QQQ')).toEqual(['HVL', 'VWAP']);
  });

  it('after the session ends, the next session\'s first ticks leave only its own levels in the index', async () => {
    await produceTicks(DAY2, 0, 2, { SPY: ['VWAP', 'ROUND_610'] });
    await sinkIdle();
    expect(await index('SPY')).toEqual(['ROUND_610', 'VWAP']);
    const live = await readServingFeatures(redis, 'SPY', { keyPrefix: KEY_PREFIX });
    expect(live.map((l) => [l.levelId, l.session])).toEqual([
      ['ROUND_610', '2026-01-07'],
      ['VWAP', '2026-01-07'],
    ]);
    expect(await redis.exists(`${KEY_PREFIX}levels:{SPY}:STRIKE_601`)).toBe(0);
    // A reader pinned to the old session gets nothing from the new one.
    expect(await readServingFeatures(redis, 'SPY', { keyPrefix: KEY_PREFIX, session: '2026-01-06' })).toEqual([]);
  });

  it('redis.ttl_s: once the feed stops, the levels expire and the index empties', async () => {
    await produceTicks(DAY2, 2, 3, { IWM: ['VWAP', 'HVL'] });
    await sinkIdle({ SNAP_REDIS_TTL_S: '2' });
    expect(await index('IWM')).toEqual(['HVL', 'VWAP']);
    await until(async () => (await redis.exists(`${KEY_PREFIX}levels:{IWM}`)) === 0 && (await readServingFeatures(redis, 'IWM', { keyPrefix: KEY_PREFIX })).length === 0, 'the IWM levels to expire', 30_000, 200);
  });
});
