// Issue 16 acceptance: a session processed through Kafka (feed sim → processor → lake sink to MinIO), its topics then
// deleted, is replayed from Bronze with `replay --from-lake s3://bucket`: the signals equal the original Kafka run's
// byte for byte. Also from the same Bronze sunk to a local DATA_ROOT, from Silver after `lake compact`, and back into
// a topic with the parity report. Real CLI processes against the real stack; everything namespaced by this run.
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { DeleteBucketCommand, DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Admin, Kafka } from 'kafkajs';
import type { Config } from '@snap/core';
import { EnvelopeCodec, SIGNALS_TOPIC, createKafka, createLogger, loadConfig, recordToSignalRow, topicName, type SignalRecord } from '@snap/platform';
import { parseLakeManifest, s3ClientFor } from '@snap/lake-sink';
import { canonicalRow, readRanges } from '@snap/processor';
import { runCli, until, type CliResult } from './support';
import { lakeDocQueries } from '../lake-doc-queries';

jest.setTimeout(600_000);

const run = randomBytes(4).toString('hex');
const PREFIX = `t-lake-${run}-`;
const root = mkdtempSync(join(tmpdir(), 'it-lake-replay-'));
const env: Record<string, string> = {
  TOPIC_PREFIX: PREFIX,
  SNAP_KAFKA_PARTITIONS: '3',
  SNAP_KAFKA_GROUP_ID: `${PREFIX}processor`,
  SNAP_KAFKA_TRANSACTIONAL_ID_PREFIX: `${PREFIX}processor`,
  SNAP_LAKE_SINK_GROUP_ID: `${PREFIX}lake`,
  // Small windows: every input stream spans several objects and window manifests.
  SNAP_LAKE_FLUSH_ROWS: '500',
  SNAP_HTTP_PORT: '0',
  S3_BUCKET: `it-lake-${run}`,
  DATA_ROOT: root,
  LOG_LEVEL: 'warn',
};
const cfg: Config = loadConfig({ env: { ...process.env, ...env } });
const SESSION_DATE = '2025-12-22'; // the simulator's session date (UTC)

let kafka: Kafka;
let admin: Admin;
let s3: S3Client;
/** The original Kafka run's signals, canonical (sorted keys, bigint as decimal), in emission order. */
let original: string[];
const referenceFile = join(root, 'original-signals.jsonl');

async function cli(args: string[], extra: Record<string, string> = {}): Promise<CliResult> {
  const r = await runCli(args, { ...env, ...extra });
  if (r.code !== 0) throw new Error(`snap-engine ${args.join(' ')} exited ${r.code}:\n${r.stderr.slice(-4000)}\n${r.stdout.slice(-2000)}`);
  return r;
}

async function bucketKeys(): Promise<string[]> {
  const out: string[] = [];
  let token: string | undefined;
  do {
    const r = await s3.send(new ListObjectsV2Command({ Bucket: cfg.s3.bucket, ContinuationToken: token }));
    for (const o of r.Contents ?? []) out.push(o.Key!);
    token = r.IsTruncated ? r.NextContinuationToken : undefined;
  } while (token);
  return out.sort();
}

const lines = (path: string) => readFileSync(path, 'utf8').split('\n').filter(Boolean);

beforeAll(async () => {
  kafka = createKafka(cfg, { logger: createLogger({ write: () => undefined }), clientId: `it-lake-replay-${run}` });
  admin = kafka.admin();
  await admin.connect();
  s3 = s3ClientFor(cfg);

  await cli(['topics', 'apply']);
  await cli(['feed', 'sim', '--seed', '9', '--duration', '90s']);
  await cli(['processor', '--until-idle']);
  await cli(['sink', 'lake', '--until-idle', '--target', 's3']);
  // The same log sunk to a local DATA_ROOT too (its own group): the lake's DIR form.
  await cli(['sink', 'lake', '--until-idle', '--target', 'local', '--group', `${PREFIX}lake-local`]);

  const codec = new EnvelopeCodec({ registryUrl: cfg.schema_registry.url });
  const signals = topicName(cfg, SIGNALS_TOPIC);
  original = [];
  await readRanges(kafka, admin, [0, 1, 2].map((partition) => ({ topic: signals, partition, from: 0n })), {
    readCommitted: true,
    onMessage: async (_t, _p, m) => {
      const d = await codec.decode(m.value!);
      if (d.schemaName === 'levels.signals.v1') original.push(canonicalRow(recordToSignalRow(d.value as SignalRecord)));
    },
  });
  writeFileSync(referenceFile, original.join('\n') + '\n');

  // Kafka's retention has passed: the session's topics are gone.
  const topics = (await admin.listTopics()).filter((t) => t.startsWith(PREFIX));
  await admin.deleteTopics({ topics, timeout: 60_000 });
  // Deletion completes asynchronously (KRaft metadata): wait until the cluster no longer lists them.
  await until(async () => (await admin.listTopics()).every((t) => !t.startsWith(PREFIX)), 'the session topics to be deleted', 120_000, 500);
  await admin.deleteGroups([`${PREFIX}processor`, `${PREFIX}lake`, `${PREFIX}lake-local`]).catch(() => undefined);
});

afterAll(async () => {
  if (admin) {
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(PREFIX));
    if (topics.length) await admin.deleteTopics({ topics }).catch(() => undefined);
    await admin.disconnect();
  }
  if (s3) {
    for (const key of await bucketKeys().catch(() => [])) await s3.send(new DeleteObjectCommand({ Bucket: cfg.s3.bucket, Key: key })).catch(() => undefined);
    await s3.send(new DeleteBucketCommand({ Bucket: cfg.s3.bucket })).catch(() => undefined);
    s3.destroy();
  }
  rmSync(root, { recursive: true, force: true });
});

describe('replay --from-lake: a Kafka session, its topics deleted, replayed from the lake', () => {
  it('the session produced signals, and its topics are gone', async () => {
    expect(original.length).toBeGreaterThan(500);
    expect((await admin.listTopics()).filter((t) => t.startsWith(PREFIX))).toEqual([]);
  });

  it('the sink wrote a manifest per window and the schema snapshots under _meta/', async () => {
    const keys = await bucketKeys();
    const windows = keys.filter((k) => k.startsWith(`_meta/runs/sink-t-lake-${run}/windows/`));
    expect(windows.length).toBeGreaterThan(5);
    const m = parseLakeManifest(Buffer.from(await (await s3.send(new GetObjectCommand({ Bucket: cfg.s3.bucket, Key: windows[0]! }))).Body!.transformToByteArray()).toString('utf8'), windows[0]!);
    expect(m).toMatchObject({ kind: 'sink-window', command: 'sink lake', run_id: `sink-t-lake-${run}` });
    expect(m.inputs[0]).toMatchObject({ kind: 'kafka', topic: expect.stringMatching(new RegExp(`^${PREFIX}`)) });
    for (const o of m.objects) expect(keys).toContain(o.key);
    expect(keys.some((k) => /^_meta\/schemas\/avro\/stocks\.quotes\.v1\/[0-9a-f]{64}\.avsc$/.test(k))).toBe(true);
    expect(keys.some((k) => /^_meta\/schemas\/parquet\/bronze\/futures\/mbp10\/[0-9a-f]{64}\.json$/.test(k))).toBe(true);
  });

  it('from Bronze on MinIO (s3://bucket): the signals equal the original Kafka run byte for byte', async () => {
    const out = join(root, 'from-s3.jsonl');
    const r = await cli(['replay', '--from-lake', `s3://${cfg.s3.bucket}`, '--underlying', 'SPY', '--out', out, '--json']);
    const summary = JSON.parse(r.stdout) as { found_by: string; runs: { run_id: string; code_version: string[] }[]; dead_letters: number };
    expect(summary.found_by).toBe('manifest');
    expect(summary.runs.map((x) => x.run_id)).toEqual([`sink-t-lake-${run}`]);
    expect(summary.runs[0]!.code_version[0]).toMatch(/^snap-engine@/);
    expect(lines(out)).toEqual(original);
  });

  it('from the same Bronze under a local DATA_ROOT, with a [from, to] slice and the parity report against the original', async () => {
    const ticks = [...new Set(original.map((l) => (JSON.parse(l) as { ts_event_ns: string }).ts_event_ns))];
    const from = ticks[20]!;
    const to = ticks[ticks.length - 20]!;
    const out = join(root, 'from-dir.jsonl');
    const r = await cli(['replay', '--from-lake', root, '--underlying', 'SPY', '--from', from, '--to', to, '--out', out, '--parity-against', referenceFile]);
    expect(r.stdout).toContain('parity: IDENTICAL');
    expect(lines(out)).toEqual(original.filter((l) => {
      const t = BigInt((JSON.parse(l) as { ts_event_ns: string }).ts_event_ns);
      return t >= BigInt(from) && t <= BigInt(to);
    }));
  });

  it('from Silver after lake compact: the same signals', async () => {
    await cli(['lake', 'compact', '--date', SESSION_DATE, '--target', 's3', '--quiet']);
    expect((await bucketKeys()).some((k) => k.startsWith('silver/stocks/quotes/'))).toBe(true);
    const out = join(root, 'from-silver.jsonl');
    await cli(['replay', '--from-lake', `s3://${cfg.s3.bucket}`, '--tier', 'silver', '--underlying', 'SPY', '--out', out]);
    expect(lines(out)).toEqual(original);
  });

  it('from Silver reads only the files each partition\'s _manifest.json commits (an orphan of a killed compaction is not read)', async () => {
    // A compaction SIGKILLed after its PUTs and before its manifest leaves files of a generation that never was: here a
    // copy of a committed trades file under another name, which would double every trade if it were read.
    const keys = await bucketKeys();
    const file = keys.find((k) => k.startsWith('silver/stocks/trades/') && k.endsWith('.parquet'))!;
    expect(file).toBeDefined();
    const body = await (await s3.send(new GetObjectCommand({ Bucket: cfg.s3.bucket, Key: file }))).Body!.transformToByteArray();
    const orphan = file.replace(/[^/]+\.parquet$/, 'orphan-of-a-killed-compaction.parquet');
    await s3.send(new PutObjectCommand({ Bucket: cfg.s3.bucket, Key: orphan, Body: body }));
    try {
      const out = join(root, 'from-silver-orphan.jsonl');
      await cli(['replay', '--from-lake', `s3://${cfg.s3.bucket}`, '--tier', 'silver', '--underlying', 'SPY', '--out', out]);
      expect(lines(out)).toEqual(original);
    } finally {
      await s3.send(new DeleteObjectCommand({ Bucket: cfg.s3.bucket, Key: orphan }));
    }
  });

  it('back into a topic (--to-topic) with the parity report against the original signals', async () => {
    const target = `${PREFIX}replayed-signals`;
    const r = await cli(['replay', '--from-lake', `s3://${cfg.s3.bucket}`, '--underlying', 'SPY', '--to-topic', target, '--parity-against', referenceFile]);
    expect(r.stdout).toContain('parity: IDENTICAL');
    expect(r.stdout).toContain(`wrote ${original.length} signal rows`);
  });

  it("docs/lake.md's MinIO query returns its documented columns over the bucket the sink wrote", async () => {
    const q = lakeDocQueries().find((x) => x.form === 'minio')!;
    expect(q.sql).toContain('s3://snap-lake/');
    // No route to extensions.duckdb.org here (httpfs): the bucket is copied with the S3 API and the query's s3:// root
    // mapped onto the copy; the query text is otherwise run as documented.
    const mirror = join(root, 'bucket-copy');
    for (const key of await bucketKeys()) {
      const body = await (await s3.send(new GetObjectCommand({ Bucket: cfg.s3.bucket, Key: key }))).Body!.transformToByteArray();
      mkdirSync(dirname(join(mirror, key)), { recursive: true });
      writeFileSync(join(mirror, key), body);
    }
    const db = await DuckDBInstance.create(':memory:');
    const con = await db.connect();
    try {
      const r = await con.runAndReadAll(q.sql.replaceAll('s3://snap-lake/', `${mirror}/`));
      expect(r.columnNames()).toEqual(q.columns);
      const rows = r.getRowObjectsJS();
      expect(rows.reduce((a, x) => a + Number(x.rows), 0)).toBe(original.length);
    } finally {
      con.closeSync();
      db.closeSync();
    }
  });
});
