// The feeds against the real broker and schema registry (scripts/stack up). Each test runs under its own TOPIC_PREFIX.
// The CLI is run as a real child process (`snap-engine feed ...`), as an operator would run it.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Admin, Kafka, KafkaMessage } from 'kafkajs';
import { parseEventLine, type Config, type InputEvent, type StockTrade } from '@snap/core';
import {
  DEADLETTER_TOPIC,
  EnvelopeCodec,
  INPUT_TOPICS,
  applyTopics,
  createKafka,
  createLogger,
  createReadCommittedConsumer,
  loadConfig,
  partitionForKey,
  topicName,
  type DeadLetterRecord,
} from '@snap/platform';
import { FakeMassiveServer, KafkaFeedSink, seededMarket, type FakeTick } from '@snap/feeds';
import { BIN, ROOT, runCli, until, type CliResult } from './support';

jest.setTimeout(240_000);

const FIX = '/work/shared/dbn-fixtures';
const quiet = createLogger({ write: () => undefined });
const tmp = mkdtempSync(join(tmpdir(), 'it-feeds-'));

const newPrefix = (what: string) => `t-feeds-${randomBytes(4).toString('hex')}-${what}-`;
const configFor = (prefix: string, env: Record<string, string> = {}): Config => loadConfig({ env: { ...process.env, TOPIC_PREFIX: prefix, LOG_LEVEL: 'warn', ...env } });

let kafka: Kafka;
let admin: Admin;
const prefixes: string[] = [];

interface Got {
  topic: string;
  partition: number;
  offset: bigint;
  key: string;
  value: Buffer;
}

/** Reads every record of the topics up to their current end (read_committed), in partition order. */
async function readAll(cfg: Config, topics: string[]): Promise<Got[]> {
  const ends = new Map<string, bigint>();
  let total = 0n;
  for (const t of topics) {
    for (const p of await admin.fetchTopicOffsets(t)) {
      ends.set(`${t}/${p.partition}`, BigInt(p.high));
      total += BigInt(p.high) - BigInt(p.low);
    }
  }
  const got: Got[] = [];
  if (total === 0n) return got;
  const consumer = createReadCommittedConsumer(kafka, `${cfg.kafka.topic_prefix}reader-${randomBytes(3).toString('hex')}`);
  await consumer.connect();
  try {
    await consumer.subscribe({ topics, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      consumer
        .run({
          eachMessage: async ({ topic, partition, message }: { topic: string; partition: number; message: KafkaMessage }) => {
            got.push({ topic, partition, offset: BigInt(message.offset), key: message.key!.toString(), value: message.value! });
            if (BigInt(got.length) >= total) resolve();
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return got.sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition || (a.offset < b.offset ? -1 : 1)));
}

const cli = (args: string[], env: Record<string, string>): Promise<CliResult> => runCli(args, { LOG_LEVEL: 'warn', ...env });

const readJsonl = (path: string): InputEvent[] => readFileSync(path, 'utf8').split('\n').filter(Boolean).map((l, i) => parseEventLine(l, i + 1));

async function decodeAll(cfg: Config, got: Got[]): Promise<(Got & { ev: InputEvent })[]> {
  const codec = new EnvelopeCodec({ registryUrl: cfg.schema_registry.url });
  const out: (Got & { ev: InputEvent })[] = [];
  for (const g of got) out.push({ ...g, ev: await codec.decodeEvent(g.value) });
  return out;
}

async function deadLetters(cfg: Config): Promise<DeadLetterRecord[]> {
  const codec = new EnvelopeCodec({ registryUrl: cfg.schema_registry.url });
  const got = await readAll(cfg, [topicName(cfg, DEADLETTER_TOPIC)]);
  const out: DeadLetterRecord[] = [];
  for (const g of got) {
    const d = await codec.decode(g.value);
    expect(d.schemaName).toBe('deadletter.v1');
    out.push(d.value as DeadLetterRecord);
  }
  return out;
}

/** Per (topic, partition): ts_event_ns never decreases. */
function expectPartitionsOrdered(records: (Got & { ev: InputEvent })[]) {
  const last = new Map<string, bigint>();
  for (const r of records) {
    const k = `${r.topic}/${r.partition}`;
    const prev = last.get(k);
    if (prev !== undefined) expect(r.ev.ts_event_ns >= prev).toBe(true);
    last.set(k, r.ev.ts_event_ns);
  }
}

beforeAll(async () => {
  kafka = createKafka(configFor('t-feeds-admin-'));
  admin = kafka.admin();
  await admin.connect();
});

afterAll(async () => {
  const all = await admin.listTopics();
  const mine = all.filter((t) => prefixes.some((p) => t.startsWith(p)));
  if (mine.length) await admin.deleteTopics({ topics: mine }).catch(() => undefined);
  await admin.disconnect();
});

describe('feed sim', () => {
  it('Kafka carries exactly the events of `feed sim --out` for the same seed, co-partitioned, ordered, with heartbeats', async () => {
    const prefix = newPrefix('sim');
    prefixes.push(prefix);
    const cfg = configFor(prefix);
    const env = { TOPIC_PREFIX: prefix };
    const out = join(tmp, 'sim.jsonl');
    const args = ['feed', 'sim', '--seed', '11', '--duration', '20s', '--underlying', 'SPY'];
    const toKafka = await cli(args, env);
    expect(toKafka.stderr).not.toMatch(/"level":"error"/);
    expect(toKafka.code).toBe(0);
    const toFile = await cli([...args, '--out', out], env);
    expect(toFile.code).toBe(0);

    const file = readJsonl(out);
    const fileData = file.filter((e) => e.schema !== 'heartbeat.v1');
    const fileHeartbeats = file.filter((e) => e.schema === 'heartbeat.v1');
    expect(fileData.length).toBeGreaterThan(100);
    expect(fileHeartbeats.length).toBeGreaterThan(10);
    // the file is one event-time-ordered stream
    for (let i = 1; i < file.length; i++) expect(file[i]!.ts_event_ns >= file[i - 1]!.ts_event_ns).toBe(true);

    const topics = INPUT_TOPICS.map((s) => topicName(cfg, s));
    const records = await decodeAll(cfg, await readAll(cfg, topics));
    const partition = partitionForKey('SPY', cfg.kafka.partitions);
    for (const r of records) {
      expect(r.key).toBe('SPY');
      expect(r.partition).toBe(partition);
      expect(r.ev.key).toBe('SPY');
      if (r.ev.schema !== 'heartbeat.v1') expect(r.topic).toBe(topicName(cfg, r.ev.schema));
    }
    expectPartitionsOrdered(records);

    // Same events, same values, same order per stream (the file's global order restricted to each topic).
    for (const schema of INPUT_TOPICS) {
      const inKafka = records.filter((r) => r.topic === topicName(cfg, schema) && r.ev.schema !== 'heartbeat.v1').map((r) => r.ev);
      expect(inKafka).toEqual(fileData.filter((e) => e.schema === schema));
      // every heartbeat of the file is in every input topic, at the same event time
      const hbs = records.filter((r) => r.topic === topicName(cfg, schema) && r.ev.schema === 'heartbeat.v1').map((r) => r.ev);
      expect(hbs).toEqual(fileHeartbeats);
    }
    expect(records.filter((r) => r.ev.schema !== 'heartbeat.v1')).toHaveLength(fileData.length);
    expect(await deadLetters(cfg)).toEqual([]);
  });
});

describe('graceful stop', () => {
  it('SIGINT during a paced replay flushes everything emitted and exits 130', async () => {
    const prefix = newPrefix('sigint');
    prefixes.push(prefix);
    const cfg = configFor(prefix);
    // ×1 real time over 10 minutes of event time: it is certainly still running when interrupted.
    const child = spawn(process.execPath, [BIN, 'feed', 'sim', '--seed', '4', '--duration', '600s', '--speed', '1'], { env: { ...process.env, TOPIC_PREFIX: prefix, LOG_LEVEL: 'info' }, cwd: ROOT });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
    // interrupt once the first records are in Kafka (the feed is mid-replay)
    const topic = topicName(cfg, 'stocks.quotes.v1');
    await until(() => stderr.includes('"topics applied"'), 'topics applied', 60_000);
    for (let i = 0; i < 200; i++) {
      const n = (await admin.fetchTopicOffsets(topic).catch(() => [])).reduce((a, p) => a + Number(p.high), 0);
      if (n > 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    const finished = stderr.split('\n').filter((l) => l.includes('"feed finished"')).map((l) => JSON.parse(l))[0];
    expect(finished).toBeDefined();
    expect(finished.produced).toBeGreaterThan(0);
    const records = await decodeAll(cfg, await readAll(cfg, INPUT_TOPICS.map((s) => topicName(cfg, s))));
    expect(records.filter((r) => r.ev.schema !== 'heartbeat.v1')).toHaveLength(finished.produced);
    expect(records.filter((r) => r.ev.schema === 'heartbeat.v1')).toHaveLength(finished.heartbeats);
  });
});

describe('feed CLI usage errors', () => {
  it('exit 2 with a message naming the option, the config key or the file', async () => {
    const speed = await cli(['feed', 'dbn', join(FIX, 'test_data.trades.dbn'), '--speed', 'fast'], {});
    expect(speed.code).toBe(2);
    expect(speed.stderr).toContain('--speed');
    const missing = await cli(['feed', 'sim'], {});
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--duration');
    const policy = await cli(['feed', 'sim', '--duration', '1s', '--out', join(tmp, 'x.jsonl')], { SNAP_FEEDS_LATE_POLICY: 'sometimes' });
    expect(policy.code).toBe(2);
    expect(policy.stderr).toContain('feeds.late_policy');
    const nofile = await cli(['feed', 'dbn', join(tmp, 'nope.dbn'), '--out', join(tmp, 'y.jsonl')], {});
    expect(nofile.code).toBe(2);
    expect(nofile.stderr).toContain(`cannot read DBN file ${join(tmp, 'nope.dbn')}: ENOENT`);
  });
});

describe('co-partitioning guard', () => {
  it('refuses to produce when an input topic has another partition count than kafka.partitions (exit 2, topic named)', async () => {
    const prefix = newPrefix('parts');
    prefixes.push(prefix);
    const cfg = configFor(prefix);
    const odd = topicName(cfg, 'stocks.quotes.v1');
    await admin.createTopics({ topics: [{ topic: odd, numPartitions: cfg.kafka.partitions + 2, replicationFactor: 1 }], waitForLeaders: true });
    const r = await cli(['feed', 'sim', '--seed', '1', '--duration', '2s'], { TOPIC_PREFIX: prefix });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${odd} has ${cfg.kafka.partitions + 2}`);
    expect(await readAll(cfg, INPUT_TOPICS.map((s) => topicName(cfg, s)))).toEqual([]);
  });
});

describe('KafkaFeedSink', () => {
  const MS = 1_000_000n;
  const T0 = 1_765_900_000_000n * MS;
  const trade = (key: string, tsMs: number, over: Partial<StockTrade> = {}): StockTrade => ({
    schema: 'stocks.trades.v1',
    schema_version: 1,
    source: 'replay',
    ts_event_ns: T0 + BigInt(tsMs) * MS,
    ts_recv_ns: T0 + BigInt(tsMs) * MS,
    key,
    seq: null,
    event_id: '',
    symbol: key,
    price: 600,
    size: 10,
    exchange: 4,
    conditions: [],
    ...over,
  });

  async function sinkFor(prefix: string, env: Record<string, string> = {}) {
    prefixes.push(prefix);
    const cfg = configFor(prefix, env);
    await applyTopics(admin, cfg);
    const sink = KafkaFeedSink.fromConfig(cfg, { logger: quiet });
    await sink.connect();
    return { cfg, sink };
  }

  it('dead-letters a late record (default policy) and an unencodable record with raw bytes, counts them, and goes on', async () => {
    const { cfg, sink } = await sinkFor(newPrefix('late'));
    await sink.emit(trade('SPY', 100, { size: 1 }));
    await sink.emit(trade('SPY', 40, { size: 2 })); // late
    await sink.emit(trade('SPY', 150, { size: 2.5 })); // not an Avro int
    await sink.emit(trade('SPY', 200, { size: 4 }));
    await sink.close();
    expect(sink.metrics).toMatchObject({ produced: 2, late: 1, clamped: 0, dead_lettered: 2 });

    const records = await decodeAll(cfg, await readAll(cfg, [topicName(cfg, 'stocks.trades.v1')]));
    expect(records.filter((r) => r.ev.schema === 'stocks.trades.v1').map((r) => (r.ev as StockTrade).size)).toEqual([1, 4]);
    expectPartitionsOrdered(records);

    const dls = await deadLetters(cfg);
    expect(dls).toHaveLength(2);
    const late = dls.find((d) => d.error_class === 'LateRecord')!;
    expect(late.reason).toMatch(/late record: ts_event_ns \d+ is 60000000 ns before the last record of partition stocks.trades.v1 key SPY/);
    expect(late.key).toBe('SPY');
    expect((parseEventLine(late.raw.toString(), 1) as StockTrade).size).toBe(2);
    const bad = dls.find((d) => d.error_class !== 'LateRecord')!;
    expect(bad.error_class).toBe('CodecError');
    expect(bad.error_path).toBe('size');
    expect(bad.reason).toMatch(/cannot encode stocks.trades.v1 record/);
    expect(JSON.parse(bad.raw.toString()).size).toBe(2.5);
  });

  it('clamps a late record under feeds.late_policy=clamp, counted, never reordered', async () => {
    const { cfg, sink } = await sinkFor(newPrefix('clamp'), { SNAP_FEEDS_LATE_POLICY: 'clamp' });
    await sink.emit(trade('QQQ', 100, { size: 1 }));
    await sink.emit(trade('QQQ', 40, { size: 2 }));
    await sink.close();
    expect(sink.metrics).toMatchObject({ produced: 2, late: 1, clamped: 1, dead_lettered: 0 });
    const trades = (await decodeAll(cfg, await readAll(cfg, [topicName(cfg, 'stocks.trades.v1')]))).filter((r) => r.ev.schema === 'stocks.trades.v1');
    expect(trades.map((r) => [(r.ev as StockTrade).size, r.ev.ts_event_ns])).toEqual([
      [1, T0 + 100n * MS],
      [2, T0 + 100n * MS],
    ]);
    expect(trades[0]!.partition).toBe(partitionForKey('QQQ', cfg.kafka.partitions));
  });
});

describe('feed dbn', () => {
  it('the real mbp-10 and trades fixtures land as futures records keyed by the underlying', async () => {
    const prefix = newPrefix('dbn');
    prefixes.push(prefix);
    const cfg = configFor(prefix);
    const r = await cli(['feed', 'dbn', join(FIX, 'test_data.mbp-10.v3.dbn.zst'), join(FIX, 'test_data.trades.v3.dbn.zst'), '--underlying', 'SPY'], { TOPIC_PREFIX: prefix });
    expect(r.code).toBe(0);
    const records = await decodeAll(cfg, await readAll(cfg, INPUT_TOPICS.map((s) => topicName(cfg, s))));
    const data = records.filter((x) => x.ev.schema !== 'heartbeat.v1');
    expect(data.filter((x) => x.topic === topicName(cfg, 'futures.mbp10.v1'))).toHaveLength(2);
    expect(data.filter((x) => x.topic === topicName(cfg, 'futures.trades.v1'))).toHaveLength(2);
    expect(data).toHaveLength(4);
    const partition = partitionForKey('SPY', cfg.kafka.partitions);
    expect(records.every((x) => x.key === 'SPY' && x.partition === partition)).toBe(true);
    expect(data.every((x) => x.ev.source === 'databento')).toBe(true);
    // heartbeats reached every input topic, including the ones DBN never writes
    for (const s of INPUT_TOPICS) expect(records.some((x) => x.topic === topicName(cfg, s) && x.ev.schema === 'heartbeat.v1')).toBe(true);
    expectPartitionsOrdered(records);
  });

  it('a truncated file: its good record is produced, a dead letter names the offset, the next file plays, exit code 3', async () => {
    const prefix = newPrefix('trunc');
    prefixes.push(prefix);
    const cfg = configFor(prefix);
    const trunc = join(FIX, 'edge', 'trunc.dbn');
    const resume = join(tmp, 'trunc-resume.json');
    const r = await cli(['feed', 'dbn', trunc, join(FIX, 'test_data.trades.v3.dbn.zst'), '--underlying', 'QQQ', '--resume', resume], { TOPIC_PREFIX: prefix });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('byte offset 721');
    const data = (await decodeAll(cfg, await readAll(cfg, INPUT_TOPICS.map((s) => topicName(cfg, s))))).filter((x) => x.ev.schema !== 'heartbeat.v1');
    expect(data.map((x) => x.ev.schema)).toEqual(['futures.mbp10.v1', 'futures.trades.v1', 'futures.trades.v1']);
    expect(data.every((x) => x.key === 'QQQ')).toBe(true);
    const dls = await deadLetters(cfg);
    expect(dls).toHaveLength(1);
    expect(dls[0]).toMatchObject({ source: 'feeds.dbn', error_class: 'DbnError.TRUNCATED', source_offset: 721n, key: 'QQQ', source_topic: `file:${trunc}` });
    expect(dls[0]!.raw).toEqual(readFileSync(trunc).subarray(721));

    // Run again with the same resume point: nothing is produced twice.
    const again = await cli(['feed', 'dbn', trunc, join(FIX, 'test_data.trades.v3.dbn.zst'), '--underlying', 'QQQ', '--resume', resume], { TOPIC_PREFIX: prefix });
    expect(again.code).toBe(0);
    const after = (await decodeAll(cfg, await readAll(cfg, INPUT_TOPICS.map((s) => topicName(cfg, s))))).filter((x) => x.ev.schema !== 'heartbeat.v1');
    expect(after).toHaveLength(3);
    expect(JSON.parse(readFileSync(resume, 'utf8')).files).toEqual({
      [trunc]: { index: 1, ts_event_ns: '1609160400000429831', done: true },
      [join(FIX, 'test_data.trades.v3.dbn.zst')]: { index: 2, ts_event_ns: '1609160400107665963', done: true },
    });
  });
});

describe('feed massive', () => {
  let server: FakeMassiveServer | null = null;
  let child: ChildProcess | null = null;
  afterEach(async () => {
    child?.kill('SIGKILL');
    await server?.close();
  });

  it('a live session lands normalized Avro records in the right topics and partitions; a malformed frame is dead-lettered and the feed goes on', async () => {
    const prefix = newPrefix('massive');
    prefixes.push(prefix);
    const cfg = configFor(prefix);
    const apiKey = `k-${randomBytes(6).toString('hex')}`;
    // Event time starts when the first tick is published, so it tracks the wall clock as a live vendor's does.
    let market: (() => FakeTick[]) | null = null;
    server = await FakeMassiveServer.start({ apiKey, source: () => (market ??= seededMarket({ seed: 5, startMs: Date.now(), stepMs: 20 }))(), chainAsOfMs: Date.now(), logger: quiet });
    child = spawn(process.execPath, [BIN, 'feed', 'massive', '--stocks-url', server.wsUrl('stocks'), '--options-url', server.wsUrl('options'), '--rest-url', server.restUrl], {
      env: { ...process.env, TOPIC_PREFIX: prefix, MASSIVE_API_KEY: apiKey, LOG_LEVEL: 'info' },
      cwd: ROOT,
    });
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((r) => child!.on('close', (code) => r(code)));
    const s = server;
    await until(() => s.liveClients('stocks').some((c) => c.subscriptions.has('Q.SPY')) && s.liveClients('options').length > 0, 'feed connected and subscribed', 60_000);

    const published = s.step(20);
    s.injectRaw('stocks', '{"ev":"T","sym":"SPY",this is not json');
    published.push(...s.step(10));
    const stockQuotes = published.filter((t) => t.cluster === 'stocks').flatMap((t) => t.events).filter((e) => e.ev === 'Q').length;
    const stockTrades = published.filter((t) => t.cluster === 'stocks').flatMap((t) => t.events).filter((e) => e.ev === 'T').length;

    const quotesTopic = topicName(cfg, 'stocks.quotes.v1');
    const tradesTopic = topicName(cfg, 'stocks.trades.v1');
    // Just-created topics may briefly have no leader in the admin's metadata: count that as "nothing yet".
    const count = async (topic: string) => (await admin.fetchTopicOffsets(topic).catch(() => [])).reduce((n, p) => n + Number(p.high), 0);
    // Heartbeats share the topics, so wait until the data records have certainly arrived by decoding.
    let data: (Got & { ev: InputEvent })[] = [];
    for (let i = 0; i < 120; i++) {
      if ((await count(quotesTopic)) >= stockQuotes) {
        data = (await decodeAll(cfg, await readAll(cfg, [quotesTopic, tradesTopic]))).filter((r) => r.ev.schema !== 'heartbeat.v1');
        if (data.filter((r) => r.ev.schema === 'stocks.quotes.v1').length >= stockQuotes && data.filter((r) => r.ev.schema === 'stocks.trades.v1').length >= stockTrades) break;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(data.filter((r) => r.ev.schema === 'stocks.quotes.v1')).toHaveLength(stockQuotes);
    expect(data.filter((r) => r.ev.schema === 'stocks.trades.v1')).toHaveLength(stockTrades);
    const partition = partitionForKey('SPY', cfg.kafka.partitions);
    expect(data.every((r) => r.key === 'SPY' && r.partition === partition && r.topic === topicName(cfg, r.ev.schema))).toBe(true);
    expect(data.every((r) => r.ev.source === 'massive_ws')).toBe(true);

    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    child = null;

    const dls = await deadLetters(cfg);
    const malformed = dls.filter((d) => d.raw.toString() === '{"ev":"T","sym":"SPY",this is not json');
    expect(malformed).toHaveLength(1);
    expect(malformed[0]!.source).toMatch(/massive_ws/);
    // nothing else was dead-lettered (in particular no record was late against the live heartbeats)
    expect(dls).toHaveLength(1);
    const all = await decodeAll(cfg, await readAll(cfg, INPUT_TOPICS.map((t) => topicName(cfg, t))));
    expectPartitionsOrdered(all);
    // the REST greeks snapshot landed too, on its own topic, same key and partition
    expect(all.some((r) => r.ev.schema === 'options.greeks_snapshots.v1' && r.ev.source === 'massive_rest')).toBe(true);
    expect(all.every((r) => r.key === 'SPY' && r.partition === partition && (r.ev.schema === 'heartbeat.v1' || r.topic === topicName(cfg, r.ev.schema)))).toBe(true);
    // heartbeats kept the idle streams (here: futures) moving
    expect(all.some((r) => r.topic === topicName(cfg, 'futures.mbp10.v1') && r.ev.schema === 'heartbeat.v1')).toBe(true);
    expect(stderr).not.toContain(apiKey);
  });
});
