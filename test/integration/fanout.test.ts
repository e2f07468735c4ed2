// The signals fan-out against the real stack (scripts/stack up): Kafka (transactions, read_committed), the schema
// registry, MinIO and Redis. Signals are encoded with the EnvelopeCodec and produced transactionally here (one
// transaction aborted), so the test does not depend on processor timing; the sinks run as real CLI child processes
// (`snap-engine sink lake|redis --until-idle`). Everything lives under this run's TOPIC_PREFIX, bucket, consumer
// groups and Redis key prefix.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { DeleteBucketCommand, DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { DuckDBInstance } from '@duckdb/node-api';
import * as arrow from 'apache-arrow';
import Redis from 'ioredis';
import type { Admin, Kafka, Producer } from 'kafkajs';
import { readParquet } from 'parquet-wasm';
import type { Config, SignalRow } from '@snap/core';
import {
  EnvelopeCodec,
  EnvelopeProducer,
  INPUT_TOPICS,
  SIGNALS_TOPIC,
  applyTopics,
  createKafka,
  createLogger,
  createTransactionalProducer,
  loadConfig,
  partitionForKey,
  recordToSignalRow,
  topicDeclarations,
  topicName,
  type SignalRecord,
} from '@snap/platform';
import { RedisFeatureWriter, datasetFor, readLatestFeatures, readLevelFeatures, s3ClientFor, sampleSignalRow } from '@snap/lake-sink';
import { readRanges } from '@snap/processor';
import { sampleValue } from '../../packages/platform/src/envelope-samples';
import { BIN, ROOT, produceSignalsTx, runCli, until, type CliResult } from './support';

jest.setTimeout(300_000);

const run = randomBytes(4).toString('hex');
const PREFIX = `t-fanout-${run}-`;
const WINDOW = 10; // lake.flush_rows: offset windows of 10
const LEVELS = ['ROUND_600', 'STRIKE_601', 'VWAP'];
const UNDERLYINGS = ['SPY', 'IWM'];
const TICK_NS = 250_000_000n;
// Two seconds before an hour boundary: the rows straddle hour=14 / hour=15 partitions.
const T0 = BigInt(Date.UTC(2026, 0, 2, 14, 59, 58, 0)) * 1_000_000n;
const dataRoot = mkdtempSync(join(tmpdir(), 'it-fanout-'));

const env: Record<string, string> = {
  TOPIC_PREFIX: PREFIX,
  SNAP_KAFKA_PARTITIONS: '3',
  SNAP_LAKE_FLUSH_ROWS: String(WINDOW),
  // Object names here are pinned to offset windows alone; the early closes by event-time age (lake.max_file_age_ms)
  // are tested in windows.test.ts, test/faults/lake-compact.test.ts and test/integration/lake-compact-freshness.test.ts.
  SNAP_LAKE_MAX_FILE_AGE_MS: '0',
  // Gold only here (only the signals topic exists); Bronze has its own scenario below.
  SNAP_LAKE_SINK_TIERS: 'gold',
  SNAP_LAKE_SINK_GROUP_ID: `${PREFIX}lake`,
  SNAP_REDIS_SINK_GROUP_ID: `${PREFIX}redis`,
  SNAP_REDIS_KEY_PREFIX: `it-fanout:${run}:`,
  S3_BUCKET: `it-fanout-${run}`,
  DATA_ROOT: dataRoot,
  LOG_LEVEL: 'info',
};
const cfg: Config = loadConfig({ env: { ...process.env, ...env } });
const topic = topicName(cfg, SIGNALS_TOPIC);
const quiet = createLogger({ write: () => undefined });

const cli = (args: string[], extra: Record<string, string> = {}): Promise<CliResult> => runCli(args, { ...env, ...extra });

async function sinkOk(args: string[], extra: Record<string, string> = {}): Promise<Record<string, unknown>> {
  const r = await cli(args, extra);
  if (r.code !== 0) throw new Error(`snap-engine ${args.join(' ')} exited ${r.code}:\n${r.stderr.slice(-4000)}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, unknown>;
}

let kafka: Kafka;
let admin: Admin;
let codec: EnvelopeCodec;
let producer: Producer;
let s3: S3Client;
let redis: Redis;
const groups = [`${PREFIX}lake`, `${PREFIX}redis`];

/** Rows of tick t for every underlying and level; `tag` marks the note so aborted rows are recognizable. */
function tickRows(t: number, tag = ''): SignalRow[] {
  return UNDERLYINGS.flatMap((u, ui) =>
    LEVELS.map((level_id, li) => sampleSignalRow(t * 10 + ui * 3 + li, T0 + BigInt(t) * TICK_NS, { underlying: u, level_id, note: `${tag}t${t} ${u} ${level_id}` })),
  );
}

const produceTx = (rows: SignalRow[], commit: boolean): Promise<void> => produceSignalsTx(producer, codec, topic, rows, commit);

interface Placed {
  partition: number;
  offset: bigint;
  row: SignalRow;
}

/**
 * Every committed row of the signals topic with its partition and offset (read_committed), once at least `expected`
 * are visible: a transaction's commit returns before the broker has written its markers, and until then the last
 * stable offset (the end a read_committed reader sees) stops short of it.
 */
async function committedRows(expected = 0): Promise<Placed[]> {
  return until(async () => {
    const rows = await readCommittedRows();
    return rows.length >= expected ? rows : undefined;
  }, `${expected} committed rows on ${topic}`);
}

async function readCommittedRows(): Promise<Placed[]> {
  const out: Placed[] = [];
  await readRanges(kafka, admin, [0, 1, 2].map((partition) => ({ topic, partition, from: 0n })), {
    readCommitted: true,
    onMessage: async (_t, partition, m) => {
      const d = await codec.decode(m.value!);
      out.push({ partition, offset: BigInt(m.offset), row: recordToSignalRow(d.value as SignalRecord) });
    },
  });
  return out.sort((a, b) => a.partition - b.partition || (a.offset < b.offset ? -1 : 1));
}

/** The objects the plan's layout and the offset-window rule call for, written out independently of the sink's code. */
function expectedObjects(placed: Placed[]): Map<string, SignalRow[]> {
  const m = new Map<string, SignalRow[]>();
  for (const { partition, offset, row } of placed) {
    const iso = new Date(Number(row.ts_event_ns / 1_000_000n)).toISOString();
    const start = (offset / BigInt(WINDOW)) * BigInt(WINDOW);
    const key = `gold/levels/signals/underlying=${row.underlying}/date=${iso.slice(0, 10)}/hour=${iso.slice(11, 13)}/part-${topic}-p${partition}-o${start.toString().padStart(20, '0')}.parquet`;
    const l = m.get(key) ?? [];
    l.push(row);
    m.set(key, l);
  }
  for (const l of m.values()) l.sort((a, b) => (a.ts_event_ns < b.ts_event_ns ? -1 : a.ts_event_ns > b.ts_event_ns ? 1 : 0));
  return m;
}

function parquetRows(bytes: Uint8Array): SignalRow[] {
  const table = arrow.tableFromIPC(readParquet(bytes).intoIPCStream());
  return table.toArray().map((r) => ({ ...(r.toJSON() as object) }) as SignalRow);
}

/** The bucket's objects; without `all`, the data objects only (not the _meta/ manifests and schema snapshots). */
async function listBucket(all = false): Promise<Map<string, { etag: string; size: number }>> {
  const out = new Map<string, { etag: string; size: number }>();
  let token: string | undefined;
  do {
    const r = await s3.send(new ListObjectsV2Command({ Bucket: cfg.s3.bucket, ContinuationToken: token }));
    for (const o of r.Contents ?? []) if (all || !o.Key!.includes('_meta/')) out.set(o.Key!, { etag: o.ETag!, size: o.Size! });
    token = r.IsTruncated ? r.NextContinuationToken : undefined;
  } while (token);
  return out;
}

async function getObject(key: string): Promise<Uint8Array> {
  const r = await s3.send(new GetObjectCommand({ Bucket: cfg.s3.bucket, Key: key }));
  return r.Body!.transformToByteArray();
}

function localFiles(root: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const walk = (dir: string) => {
    for (const f of readdirSync(dir)) {
      const p = join(dir, f);
      if (statSync(p).isDirectory()) walk(p);
      else if (!relative(root, p).startsWith('_meta')) out.set(relative(root, p), readFileSync(p));
    }
  };
  walk(root);
  return out;
}

const sortRows = (rows: SignalRow[]) =>
  rows.slice().sort((a, b) => (a.underlying < b.underlying ? -1 : a.underlying > b.underlying ? 1 : a.ts_event_ns < b.ts_event_ns ? -1 : a.ts_event_ns > b.ts_event_ns ? 1 : a.level_id < b.level_id ? -1 : 1));

beforeAll(async () => {
  kafka = createKafka(cfg, { logger: quiet, clientId: `it-fanout-${run}` });
  admin = kafka.admin();
  await admin.connect();
  await applyTopics(admin, cfg, topicDeclarations(cfg).filter((d) => d.role === 'signals'));
  codec = new EnvelopeCodec({ registryUrl: cfg.schema_registry.url });
  producer = createTransactionalProducer(kafka, `${PREFIX}tx`);
  await producer.connect();
  s3 = s3ClientFor(cfg);
  redis = new Redis(cfg.redis.url, { lazyConnect: true, maxRetriesPerRequest: 2 });
  await redis.connect();
  // SPY and IWM land on different partitions: the sinks handle several partitions at once.
  expect(partitionForKey('SPY', 3)).not.toBe(partitionForKey('IWM', 3));

  // 12 ticks, two per transaction; ticks 4-5 are first sent in a transaction that aborts, then resent committed
  // (a processor retry). Each transaction adds a marker offset per partition, so windows straddle transactions.
  for (let t = 0; t < 12; t += 2) {
    if (t === 4) await produceTx([...tickRows(4, 'ABORTED '), ...tickRows(5, 'ABORTED ')], false);
    await produceTx([...tickRows(t), ...tickRows(t + 1)], true);
  }
});

afterAll(async () => {
  await producer?.disconnect().catch(() => undefined);
  if (s3) {
    for (const key of (await listBucket(true).catch(() => new Map())).keys()) await s3.send(new DeleteObjectCommand({ Bucket: cfg.s3.bucket, Key: key })).catch(() => undefined);
    await s3.send(new DeleteBucketCommand({ Bucket: cfg.s3.bucket })).catch(() => undefined);
    s3.destroy();
  }
  if (redis) {
    const keys = await redis.keys(`${cfg.redis.key_prefix}*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
  }
  if (admin) {
    await admin.deleteGroups([...groups]).catch(() => undefined);
    await admin.deleteTopics({ topics: [topic, ...INPUT_TOPICS.map((t) => topicName(cfg, t))] }).catch(() => undefined);
    await admin.disconnect();
  }
  rmSync(dataRoot, { recursive: true, force: true });
});

describe('lake sink: levels.signals.v1 → Gold Parquet on MinIO', () => {
  let committed: Placed[];
  let firstRun: Map<string, { etag: string; size: number }>;

  it('writes one object per (underlying, date, hour, offset window) holding exactly the committed rows', async () => {
    committed = await committedRows(12 * UNDERLYINGS.length * LEVELS.length);
    expect(committed).toHaveLength(12 * UNDERLYINGS.length * LEVELS.length);
    expect(committed.some((p) => p.row.note.startsWith('ABORTED'))).toBe(false);

    const out = await sinkOk(['sink', 'lake', '--until-idle', '--target', 's3']);
    expect(out).toMatchObject({ target: `s3://${cfg.s3.bucket}`, rows: committed.length, skipped: 0 });

    const expected = expectedObjects(committed);
    firstRun = await listBucket();
    expect([...firstRun.keys()].sort()).toEqual([...expected.keys()].sort());
    // Both hour partitions and both underlyings are there.
    expect([...firstRun.keys()].some((k) => k.includes('underlying=IWM/date=2026-01-02/hour=14/'))).toBe(true);
    expect([...firstRun.keys()].some((k) => k.includes('underlying=SPY/date=2026-01-02/hour=15/'))).toBe(true);
    for (const [key, rows] of expected) {
      const got = parquetRows(await getObject(key));
      expect(got).toEqual(rows);
      expect(got.some((r) => r.note.startsWith('ABORTED'))).toBe(false);
    }

    // Offsets are committed at window starts only (never inside a window), and at most up to the log end.
    const offs = await admin.fetchOffsets({ groupId: `${PREFIX}lake`, topics: [topic] });
    const ends = new Map((await admin.fetchTopicOffsets(topic)).map((o) => [o.partition, BigInt(o.high)]));
    const committedOffsets = offs[0]!.partitions.map((p) => BigInt(p.offset)).filter((o) => o >= 0n);
    // SPY's and IWM's partitions both span several windows, so both committed past their first window.
    expect(committedOffsets.filter((o) => o > 0n)).toHaveLength(2);
    for (const p of offs[0]!.partitions) {
      const o = BigInt(p.offset);
      if (o < 0n) continue;
      expect(o % BigInt(WINDOW)).toBe(0n);
      expect(o).toBeLessThanOrEqual(ends.get(p.partition)!);
    }
  });

  it('a second run from scratch (new consumer group) overwrites the same objects with the same bytes', async () => {
    await sinkOk(['sink', 'lake', '--until-idle', '--target', 's3', '--group', `${PREFIX}lake-again`]);
    groups.push(`${PREFIX}lake-again`);
    const again = await listBucket();
    expect([...again.keys()].sort()).toEqual([...firstRun.keys()].sort());
    for (const [k, v] of firstRun) expect(again.get(k)).toEqual(v); // same ETag (MD5 of the bytes) and size
  });

  it('the open window written as a partial at idle is replaced when the window completes: no row lost or doubled', async () => {
    for (let t = 12; t < 16; t += 2) await produceTx([...tickRows(t), ...tickRows(t + 1)], true);
    committed = await committedRows(16 * UNDERLYINGS.length * LEVELS.length);
    expect(committed).toHaveLength(16 * UNDERLYINGS.length * LEVELS.length);
    // The original group resumes from its committed window starts.
    await sinkOk(['sink', 'lake', '--until-idle', '--target', 's3']);
    const expected = expectedObjects(committed);
    const now = await listBucket();
    expect([...now.keys()].sort()).toEqual([...expected.keys()].sort());
    const all: SignalRow[] = [];
    let replaced = 0;
    for (const [key, rows] of expected) {
      const got = parquetRows(await getObject(key));
      expect(got).toEqual(rows);
      all.push(...got);
      if (firstRun.has(key) && firstRun.get(key)!.etag !== now.get(key)!.etag) replaced++;
    }
    // At least one partial object of the first run grew into its complete window under the same key.
    expect(replaced).toBeGreaterThan(0);
    expect(sortRows(all)).toEqual(sortRows(committed.map((p) => p.row)));
  });

  it('--target local writes the same keys and bytes under DATA_ROOT, which DuckDB reads as a Hive-partitioned table', async () => {
    await sinkOk(['sink', 'lake', '--until-idle', '--target', 'local', '--group', `${PREFIX}lake-local`]);
    groups.push(`${PREFIX}lake-local`);
    const files = localFiles(dataRoot);
    const objects = await listBucket();
    expect([...files.keys()].sort()).toEqual([...objects.keys()].sort());
    for (const [k, bytes] of files) expect(bytes.equals(Buffer.from(await getObject(k)))).toBe(true);

    const db = await DuckDBInstance.create(':memory:');
    const con = await db.connect();
    const glob = join(dataRoot, 'gold/levels/signals/**/*.parquet');
    const r = await con.runAndReadAll(
      `SELECT underlying, hour, count(*) AS n, count(DISTINCT level_id) AS levels, max(ts_event_ns) AS last
         FROM read_parquet('${glob}', hive_partitioning = true) GROUP BY ALL ORDER BY underlying, hour`,
    );
    const rows = r.getRowObjectsJS();
    con.closeSync();
    const expected = UNDERLYINGS.slice()
      .sort()
      .flatMap((u) => {
        const mine = committed.filter((p) => p.row.underlying === u).map((p) => p.row);
        return ['14', '15'].map((h) => {
          const inHour = mine.filter((x) => new Date(Number(x.ts_event_ns / 1_000_000n)).toISOString().slice(11, 13) === h);
          return { underlying: u, hour: BigInt(h), n: BigInt(inHour.length), levels: BigInt(LEVELS.length), last: inHour.reduce((a, x) => (x.ts_event_ns > a ? x.ts_event_ns : a), 0n) };
        });
      });
    expect(rows).toEqual(expected);
  });

  it('two instances started together in one consumer group (rebalancing between them) write the same objects', async () => {
    const before = await listBucket();
    const group = `${PREFIX}lake-pair`;
    groups.push(group);
    const [a, b] = await Promise.all([
      cli(['sink', 'lake', '--until-idle', '--target', 's3', '--group', group]),
      cli(['sink', 'lake', '--until-idle', '--target', 's3', '--group', group]),
    ]);
    expect([a.code, b.code]).toEqual([0, 0]);
    const after = await listBucket();
    expect([...after.keys()].sort()).toEqual([...before.keys()].sort());
    for (const [k, v] of before) expect(after.get(k)).toEqual(v);
    // Between them they read every committed row at least once (a rebalance may make both read a window).
    const rows = [a, b].map((r) => (JSON.parse(r.stdout.trim().split('\n').pop()!) as { rows: number }).rows);
    expect(rows[0]! + rows[1]!).toBeGreaterThanOrEqual(committed.length);
  });

  it('long running: writes partials while caught up (lake.partial_flush_ms), stops cleanly on SIGTERM', async () => {
    const root = mkdtempSync(join(tmpdir(), 'it-fanout-live-'));
    const group = `${PREFIX}lake-live`;
    groups.push(group);
    const child = spawn(process.execPath, [BIN, 'sink', 'lake', '--target', 'local', '--group', group], {
      env: { ...process.env, ...env, DATA_ROOT: root, SNAP_LAKE_PARTIAL_FLUSH_MS: '300' },
      cwd: ROOT,
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    try {
      const want = await listBucket();
      // Poll (bounded) until every object is there with the final bytes; the open windows arrive only as partials.
      const deadline = Date.now() + 90_000;
      let same = false;
      while (!same && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 500));
        const files = localFiles(root);
        same = files.size === want.size && [...files.keys()].every((k) => want.has(k));
        if (same) for (const [k, bytes] of files) if (!bytes.equals(Buffer.from(await getObject(k)))) same = false;
      }
      expect(same).toBe(true);
      expect(stderr).toMatch(/partial window flushed/);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    rmSync(root, { recursive: true, force: true });
  });

  it('refuses an unknown --target with exit 2', async () => {
    const r = await cli(['sink', 'lake', '--target', 'gcs']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--target must be local or s3/);
  });
});

describe('redis sink: latest features per level', () => {
  const prefix = () => cfg.redis.key_prefix;
  let newest: Map<string, SignalRow>;

  it('holds the newest committed row of every level, readable by readLatestFeatures', async () => {
    const out = await sinkOk(['sink', 'redis', '--until-idle']);
    const committed = (await committedRows()).map((p) => p.row);
    expect(out).toMatchObject({ rows: committed.length, skipped: 0 });
    newest = new Map();
    for (const r of committed) {
      const k = `${r.underlying}:${r.level_id}`;
      if (!newest.has(k) || r.ts_event_ns >= newest.get(k)!.ts_event_ns) newest.set(k, r);
    }
    for (const u of UNDERLYINGS) {
      const got = await readLatestFeatures(redis, u, { keyPrefix: prefix() });
      const want = LEVELS.map((l) => newest.get(`${u}:${l}`)!);
      expect(got).toEqual(want);
      expect(got.every((r) => r.ts_event_ns === T0 + 15n * TICK_NS)).toBe(true);
    }
    // The raw layout ML serving reads: a hash of strings per level, an index per underlying.
    const h = await redis.hgetall(`${prefix()}levels:{SPY}:VWAP`);
    expect(h.ts_event_ns).toBe((T0 + 15n * TICK_NS).toString());
    expect(h.level_id).toBe('VWAP');
    expect(await redis.zrange(`${prefix()}levels:{SPY}`, '0', '-1')).toEqual([...LEVELS].sort());
  });

  it('a replay (older rows, and a full re-read by a new consumer group) never regresses them', async () => {
    const before = await readLatestFeatures(redis, 'SPY', { keyPrefix: prefix() });
    const writer = new RedisFeatureWriter(redis, { keyPrefix: prefix() });
    const older = tickRows(3).filter((r) => r.underlying === 'SPY');
    expect(await writer.write(older)).toEqual({ written: 0, stale: LEVELS.length });
    expect(await readLatestFeatures(redis, 'SPY', { keyPrefix: prefix() })).toEqual(before);

    await sinkOk(['sink', 'redis', '--until-idle', '--group', `${PREFIX}redis-replay`]);
    groups.push(`${PREFIX}redis-replay`);
    expect(await readLatestFeatures(redis, 'SPY', { keyPrefix: prefix() })).toEqual(before);
    expect(await readLatestFeatures(redis, 'IWM', { keyPrefix: prefix() })).toEqual(LEVELS.map((l) => newest.get(`IWM:${l}`)!));
  });

  it('compares event times exactly (1 ns apart, beyond double precision) and replaces the whole hash', async () => {
    const writer = new RedisFeatureWriter(redis, { keyPrefix: prefix() });
    const base = newest.get('SPY:VWAP')!;
    // A multiple of 4096 is an exact double; t ± 1 ns round to that same double (spacing 256 at ~1.7e18).
    const t = ((base.ts_event_ns + 1_000_000_000n) / 4096n + 1n) * 4096n;
    expect(Number(t - 1n)).toBe(Number(t));
    expect(Number(t + 1n)).toBe(Number(t));
    const withWalls = { ...base, ts_event_ns: t, fuel_call_wall: 612.5, note: 'newer' };
    expect(await writer.write([withWalls])).toEqual({ written: 1, stale: 0 });
    // 1 ns older than what is stored: as doubles these two times are equal; the CAS must still refuse it.
    expect(await writer.write([{ ...withWalls, ts_event_ns: t - 1n, note: 'older by 1ns' }])).toEqual({ written: 0, stale: 1 });
    expect((await readLevelFeatures(redis, 'SPY', 'VWAP', { keyPrefix: prefix() }))!.note).toBe('newer');
    // Newer by 1 ns and with a null wall: the stale wall must not survive in the hash.
    const noWall = { ...withWalls, ts_event_ns: t + 1n, fuel_call_wall: null, note: 'newest' };
    expect(await writer.write([noWall])).toEqual({ written: 1, stale: 0 });
    expect(await readLevelFeatures(redis, 'SPY', 'VWAP', { keyPrefix: prefix() })).toEqual(noWall);
    expect(await redis.hexists(`${prefix()}levels:{SPY}:VWAP`, 'fuel_call_wall')).toBe(0);
  });
});

describe('lake sink, Bronze tier: input topics → bronze/… (raw records and heartbeats)', () => {
  const KEY_PREFIX = 'bronze-it/';
  const N = 5;
  const PATHS: Record<string, string> = {
    'stocks.trades.v1': 'bronze/stocks/trades/symbol=SPY',
    'stocks.quotes.v1': 'bronze/stocks/quotes/symbol=SPY',
    'options.trades.v1': 'bronze/options/trades/underlying=SPY',
    'options.greeks_snapshots.v1': 'bronze/options/greeks_snapshots/underlying=SPY',
    'futures.trades.v1': 'bronze/futures/trades/symbol=ESZ5',
    'futures.mbp10.v1': 'bronze/futures/mbp10/symbol=ESZ5',
  };

  it('writes every committed input record and heartbeat under the §2.3 layout, one object per dataset and window', async () => {
    await applyTopics(admin, cfg, topicDeclarations(cfg).filter((d) => d.role === 'input'));
    const ep = new EnvelopeProducer(producer, codec);
    const tx = await producer.transaction();
    const produced = new Map<string, string[]>(); // object key prefix (up to date=) -> event ids in offset order
    for (const schema of INPUT_TOPICS) {
      const values = Array.from({ length: N }, (_, i) => sampleValue(schema, i));
      await ep.sendInTransaction(tx, topicName(cfg, schema), schema, values as never[]);
      // One heartbeat after the data, as a feed sends while the stream is idle.
      const hb = { ...(sampleValue('heartbeat.v1', N) as object), event_id: `hb-${schema}` };
      await ep.sendInTransaction(tx, topicName(cfg, schema), 'heartbeat.v1', [hb as never]);
      produced.set(`${PATHS[schema]}/`, values.map((v) => (v as { event_id: string }).event_id));
      produced.set(`bronze/heartbeats/stream=${schema}/key=SPY/`, [`hb-${schema}`]);
    }
    await tx.commit();

    const out = await sinkOk(['sink', 'lake', '--until-idle', '--target', 's3', '--tiers', 'bronze', '--group', `${PREFIX}bronze`], { SNAP_LAKE_KEY_PREFIX: KEY_PREFIX });
    groups.push(`${PREFIX}bronze`);
    expect(out).toMatchObject({ rows: INPUT_TOPICS.length * (N + 1), unmapped: 0, skipped: 0 });

    const part = partitionForKey('SPY', 3);
    const keys = [...(await listBucket()).keys()].filter((k) => k.startsWith(KEY_PREFIX)).sort();
    const expectedKeys = [...produced.keys()]
      .map((dir) => {
        const schema = INPUT_TOPICS.find((s) => dir.startsWith(PATHS[s]!) || dir.includes(`stream=${s}/`))!;
        const ts = (sampleValue(schema, 0) as { ts_event_ns: bigint }).ts_event_ns;
        const iso = new Date(Number(ts / 1_000_000n)).toISOString();
        const hour = schema === 'options.greeks_snapshots.v1' && !dir.startsWith('bronze/heartbeats') ? '' : `hour=${iso.slice(11, 13)}/`;
        return `${KEY_PREFIX}${dir}date=${iso.slice(0, 10)}/${hour}part-${topicName(cfg, schema)}-p${part}-o${'0'.padStart(20, '0')}.parquet`;
      })
      .sort();
    expect(keys).toEqual(expectedKeys);
    for (const key of keys) {
      const dir = [...produced.keys()].find((d) => key.startsWith(KEY_PREFIX + d))!;
      const table = arrow.tableFromIPC(readParquet(await getObject(key)).intoIPCStream());
      const rows = table.toArray().map((r) => r.toJSON() as Record<string, unknown>);
      expect(rows.map((r) => r.event_id)).toEqual(produced.get(dir));
      expect(rows.every((r) => typeof r.ts_event_ns === 'bigint' && r.key === 'SPY')).toBe(true);
    }
  });
});

describe('the real pipeline: feed sim → processor → sink lake (Gold + Bronze) and sink redis', () => {
  const P2 = `t-fanout-${run}-e2e-`;
  const root = mkdtempSync(join(tmpdir(), 'it-fanout-e2e-'));
  const env2: Record<string, string> = {
    TOPIC_PREFIX: P2,
    SNAP_KAFKA_PARTITIONS: '3',
    SNAP_KAFKA_GROUP_ID: `${P2}processor`,
    SNAP_KAFKA_TRANSACTIONAL_ID_PREFIX: `${P2}processor`,
    SNAP_LAKE_SINK_GROUP_ID: `${P2}lake`,
    SNAP_REDIS_SINK_GROUP_ID: `${P2}redis`,
    SNAP_REDIS_KEY_PREFIX: `it-fanout:${run}:e2e:`,
    SNAP_LAKE_SINK_TIERS: 'gold,bronze',
    SNAP_LAKE_FLUSH_ROWS: '200',
    SNAP_HTTP_PORT: '0',
    DATA_ROOT: root,
  };
  const cfg2 = loadConfig({ env: { ...process.env, ...env, ...env2 } });
  const topics2 = [...INPUT_TOPICS, SIGNALS_TOPIC].map((t) => topicName(cfg2, t));

  afterAll(async () => {
    await admin.deleteGroups([`${P2}processor`, `${P2}lake`, `${P2}redis`]).catch(() => undefined);
    const all = (await admin.listTopics()).filter((t) => t.startsWith(P2));
    await admin.deleteTopics({ topics: all }).catch(() => undefined);
    const keys = await redis.keys(`${cfg2.redis.key_prefix}*`);
    if (keys.length) await redis.del(...keys);
    rmSync(root, { recursive: true, force: true });
  });

  it('lands every committed signal in Gold, every committed input record in Bronze, the newest signal per level in Redis', async () => {
    const step = async (args: string[]) => {
      const r = await cli(args, env2);
      if (r.code !== 0) throw new Error(`snap-engine ${args.join(' ')} exited ${r.code}:\n${r.stderr.slice(-3000)}`);
      return r;
    };
    await step(['topics', 'apply']);
    await step(['feed', 'sim', '--seed', '5', '--duration', '20s']);
    await step(['processor', '--until-idle']);
    await step(['sink', 'lake', '--until-idle', '--target', 'local']);
    await step(['sink', 'redis', '--until-idle']);

    // What the log holds, read_committed, per topic.
    const counts = new Map<string, number>();
    const signals: SignalRow[] = [];
    for (const t of topics2) {
      let n = 0;
      await readRanges(kafka, admin, [0, 1, 2].map((partition) => ({ topic: t, partition, from: 0n })), {
        readCommitted: true,
        onMessage: async (_t, _p, m) => {
          n++;
          if (t === topicName(cfg2, SIGNALS_TOPIC)) signals.push(recordToSignalRow((await codec.decode(m.value!)).value as SignalRecord));
        },
      });
      counts.set(t, n);
    }
    expect(signals.length).toBeGreaterThan(0);

    const db = await DuckDBInstance.create(':memory:');
    const con = await db.connect();
    const count = async (glob: string) => Number((await con.runAndReadAll(`SELECT count(*) AS n FROM read_parquet('${join(root, glob)}', hive_partitioning = true)`)).getRowObjectsJS()[0]!.n);
    expect(await count('gold/levels/signals/**/*.parquet')).toBe(signals.length);
    // Bronze: data + heartbeats of each input topic = every committed record of that topic (a topic may hold only
    // heartbeats, and DuckDB refuses a glob with no file: that is a count of 0). The schema → path mapping itself is
    // pinned by the datasets unit test.
    for (const s of INPUT_TOPICS) {
      const n = counts.get(topicName(cfg2, s))!;
      const data = n === 0 ? 0 : await count(`${datasetFor(s, s, ['bronze'])!.path}/**/*.parquet`).catch(() => 0);
      const hb = n === 0 ? 0 : await count(`bronze/heartbeats/stream=${s}/**/*.parquet`).catch(() => 0);
      expect([s, data + hb]).toEqual([s, n]);
    }
    // The Gold rows are the committed signals, row for row.
    const rows = (await con.runAndReadAll(`SELECT * EXCLUDE (date, hour) FROM read_parquet('${join(root, 'gold/levels/signals/**/*.parquet')}', hive_partitioning = true)`)).getRowObjectsJS();
    con.closeSync();
    const key = (r: { ts_event_ns: unknown; level_id: unknown; underlying: unknown }) => `${r.underlying}|${String(r.ts_event_ns)}|${r.level_id}`;
    expect(rows.map((r) => key(r as never)).sort()).toEqual(signals.map(key).sort());

    // Redis serves only the live levels: those of the newest tick (retired ones left the index).
    const lastTick = signals.reduce((m, r) => (r.ts_event_ns > m ? r.ts_event_ns : m), 0n);
    const newest = new Map<string, SignalRow>();
    for (const r of signals) if (r.ts_event_ns === lastTick) newest.set(r.level_id, r);
    const got = await readLatestFeatures(redis, cfg2.underlyings[0]!, { keyPrefix: cfg2.redis.key_prefix });
    expect(got).toEqual([...newest.keys()].sort().map((k) => newest.get(k)!));
  });
});
