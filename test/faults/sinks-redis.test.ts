// Fault: Redis restarts (SIGKILL; the stack runs it without persistence, so it comes back EMPTY) under a running
// `snap-engine sink redis`. Before issue 8 the sink exited 1 a second after Redis went away, and levels that did not
// tick again after a restart were never rewritten. Now: the sink waits the outage out, re-asserts every level's
// newest row on reconnect, and after recovery every level's latest features are present and equal to the newest
// committed row of that level. Kafka and the schema registry are the main stack's (this file's own TOPIC_PREFIX);
// Redis is an isolated instance (test/faults/support.ts), so the main Redis is never touched.
import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import type { Kafka, Producer } from 'kafkajs';
import type { Config, SignalRow } from '@snap/core';
import { EnvelopeCodec, SIGNALS_TOPIC, applyTopics, createKafka, createLogger, createTransactionalProducer, loadConfig, topicDeclarations, topicName } from '@snap/platform';
import { readLatestFeatures, sampleSignalRow } from '@snap/lake-sink';
import { produceSignalsTx } from '../integration/support';
import { faultRow, startCli, until, useFaultStack, type CliProcess } from './support';

jest.setTimeout(600_000);

const run = randomBytes(4).toString('hex');
const PREFIX = `t-fault-redis-${run}-`;
const UNDERLYINGS = ['SPY', 'QQQ', 'IWM'];
const LEVELS = ['ROUND_600', 'STRIKE_601', 'VWAP'];
const TICK_NS = 250_000_000n;
const T0 = BigInt(Date.UTC(2026, 0, 5, 15, 0, 0)) * 1_000_000n;

describe('sink redis: Redis restart mid-run', () => {
  const fs = useFaultStack({ services: ['redis'] });
  let env: Record<string, string>;
  let cfg: Config;
  let kafka: Kafka;
  let producer: Producer;
  let codec: EnvelopeCodec;
  let redis: Redis;
  let sink: CliProcess | null = null;
  /** Every committed row, in production order. */
  const produced: SignalRow[] = [];

  const rows = (t: number, levels: string[] = LEVELS): SignalRow[] =>
    UNDERLYINGS.flatMap((u, ui) => levels.map((level_id, li) => sampleSignalRow(t * 10 + ui * 3 + li, T0 + BigInt(t) * TICK_NS, { underlying: u, level_id, note: `t${t} ${u} ${level_id}` })));

  const produce = async (r: SignalRow[]) => {
    await produceSignalsTx(producer, codec, topicName(cfg, SIGNALS_TOPIC), r, true);
    produced.push(...r);
  };

  /** The newest committed row per (underlying, level), of the levels still live: those of the underlying's newest tick
   *  (a level missing from it was retired and leaves the index, docs/features-serving.md). */
  const expectedLatest = (): Map<string, SignalRow> => {
    const m = new Map<string, SignalRow>();
    const newestTick = new Map<string, bigint>();
    for (const r of produced) if ((newestTick.get(r.underlying) ?? -1n) < r.ts_event_ns) newestTick.set(r.underlying, r.ts_event_ns);
    for (const r of produced) {
      const k = `${r.underlying}/${r.level_id}`;
      if (r.ts_event_ns === newestTick.get(r.underlying) && (!m.has(k) || m.get(k)!.ts_event_ns <= r.ts_event_ns)) m.set(k, r);
    }
    return m;
  };

  /** Redis holds exactly the expected newest row for every level (null while not). */
  const redisMatches = async (): Promise<boolean> => {
    const want = expectedLatest();
    let got = 0;
    for (const u of UNDERLYINGS) {
      let stored: SignalRow[];
      try {
        stored = await readLatestFeatures(redis, u, { keyPrefix: cfg.redis.key_prefix });
      } catch {
        return false;
      }
      for (const r of stored) {
        const w = want.get(`${r.underlying}/${r.level_id}`);
        if (!w || w.ts_event_ns !== r.ts_event_ns || w.note !== r.note) return false;
        got++;
      }
    }
    return got === want.size;
  };

  beforeAll(async () => {
    env = {
      ...fs().env,
      // Kafka and the registry: the main stack (`eval "$(bash scripts/stack env)"`); only Redis is the fault stack's.
      KAFKA_BROKERS: process.env.KAFKA_BROKERS ?? '127.0.0.1:9092',
      SCHEMA_REGISTRY_URL: process.env.SCHEMA_REGISTRY_URL ?? 'http://127.0.0.1:8081',
      TOPIC_PREFIX: PREFIX,
      SNAP_KAFKA_PARTITIONS: '3',
      SNAP_REDIS_SINK_GROUP_ID: `${PREFIX}redis`,
      SNAP_REDIS_KEY_PREFIX: `fault:${run}:`,
      LOG_LEVEL: 'info',
    };
    cfg = loadConfig({ env });
    kafka = createKafka(cfg, { logger: createLogger({ write: () => undefined }), clientId: `fault-redis-${run}` });
    const admin = kafka.admin();
    await admin.connect();
    await applyTopics(admin, cfg, topicDeclarations(cfg).filter((d) => d.role === 'signals'));
    await admin.disconnect();
    codec = new EnvelopeCodec({ registryUrl: cfg.schema_registry.url });
    producer = createTransactionalProducer(kafka, `${PREFIX}tx`);
    await producer.connect();
    redis = new Redis(cfg.redis.url, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => 200 });
    redis.on('error', () => undefined);
    await redis.connect();
  });

  afterAll(async () => {
    if (sink && sink.child.exitCode === null) {
      sink.child.kill('SIGKILL');
      await sink.done;
    }
    await producer?.disconnect().catch(() => undefined);
    if (kafka) {
      const admin = kafka.admin();
      await admin.connect().catch(() => undefined);
      await admin.deleteGroups([`${PREFIX}redis`]).catch(() => undefined);
      await admin.deleteTopics({ topics: [topicName(cfg, SIGNALS_TOPIC)] }).catch(() => undefined);
      await admin.disconnect().catch(() => undefined);
    }
    redis?.disconnect();
  });

  it('keeps running through the outage and, after recovery, holds every level\'s newest committed row', async () => {
    for (let t = 0; t < 8; t++) await produce(rows(t));
    sink = startCli(['sink', 'redis'], env);
    await until(redisMatches, 'all 9 levels written before the fault', 120_000, 250);

    // The fault: Redis SIGKILLed (without persistence it comes back empty), rows keep arriving meanwhile.
    await fs().kill('redis');
    const downAt = Date.now();
    for (let t = 8; t < 12; t++) await produce(rows(t));
    await until(() => sink!.out().includes('redis unavailable; retrying with backoff'), 'the sink to meet the outage', 120_000, 250);
    // Longer than the consumer group's 10 s session timeout: the sink heartbeats while it waits.
    await new Promise((r) => setTimeout(r, 15_000));
    expect(sink.child.exitCode).toBeNull();
    await fs().start('redis');
    const upAt = Date.now();
    // After the restart only ONE level per underlying ticks again: the other two are retired and must leave the index
    // (and must not be revived by the re-assertion of what the sink held).
    for (let t = 12; t < 14; t++) await produce(rows(t, ['VWAP']));
    await until(redisMatches, 'every level\'s newest row after the restart', 180_000, 250);
    const recoveredAt = Date.now();
    expect(sink.child.exitCode).toBeNull();

    const logs = sink.out();
    expect(logs).toContain('redis unavailable; retrying with backoff');
    expect(logs).toContain('latest features re-asserted after a reconnect');
    sink.child.kill('SIGTERM');
    const res = await sink.done;
    expect(res.code).toBe(0);
    const want = expectedLatest();
    faultRow({ fault: 'redis restart (SIGKILL, comes back empty) mid `sink redis`', lost: 0, duplicated: 0, recovery_s: Number(((recoveredAt - upAt) / 1000).toFixed(1)), levels: want.size, outage_s: Number(((upAt - downAt) / 1000).toFixed(1)) });
  });

  it('sink redis --rebuild restores every level from the signals topic into an empty Redis', async () => {
    await redis.flushall();
    expect(await redisMatches()).toBe(false);
    const r = await startCli(['sink', 'redis', '--rebuild', '--until-idle'], env).done;
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { rebuild: { rows: number; levels: number } };
    expect(out.rebuild).toMatchObject({ rows: produced.length, levels: expectedLatest().size });
    expect(await redisMatches()).toBe(true);
  });
});
