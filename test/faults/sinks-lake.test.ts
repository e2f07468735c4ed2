// Faults under the lake sink (`snap-engine sink lake --target s3`), read back with DuckDB:
//   1. MinIO SIGKILLed and restarted while the sink is writing: before issue 8 the sink exited 1 on the first failed
//      PUT; now it waits the outage out and every committed row lands in the lake exactly once.
//   2. The sink itself SIGKILLed mid-run and restarted: every row exactly once, and the time from the restart to the
//      partitions being assigned again (the resume) is printed (it was 32–35 s: kafkajs' 30 s session timeout).
// Kafka and the schema registry are the main stack's (this file's own TOPIC_PREFIX, groups and bucket); MinIO is an
// isolated instance (test/faults/support.ts), so the main MinIO is never touched.
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { DuckDBInstance } from '@duckdb/node-api';
import type { Kafka, Producer } from 'kafkajs';
import type { Config, SignalRow } from '@snap/core';
import { EnvelopeCodec, SIGNALS_TOPIC, applyTopics, createKafka, createLogger, createTransactionalProducer, loadConfig, topicDeclarations, topicName } from '@snap/platform';
import { s3ClientFor, sampleSignalRow } from '@snap/lake-sink';
import { produceSignalsTx } from '../integration/support';
import { faultRow, startCli, until, useFaultStack, type CliProcess } from './support';

jest.setTimeout(900_000);

const run = randomBytes(4).toString('hex');
const UNDERLYINGS = ['SPY', 'QQQ', 'IWM'];
const LEVELS = ['ROUND_600', 'STRIKE_601', 'VWAP'];
const TICK_NS = 250_000_000n;
const T0 = BigInt(Date.UTC(2026, 0, 6, 15, 0, 0)) * 1_000_000n;
const WINDOW = 60; // lake.flush_rows: many small offset windows, so the faults land between and inside PUTs

describe('sink lake --target s3 under faults', () => {
  const fs = useFaultStack({ services: ['minio'] });
  const made: { prefix: string; kafka: Kafka; producer: Producer; cfg: Config; groups: string[] }[] = [];
  const codec = new EnvelopeCodec({ registryUrl: process.env.SCHEMA_REGISTRY_URL ?? 'http://127.0.0.1:8081' });
  let s3: S3Client;

  /** A fresh signals topic, bucket and groups for one scenario. */
  async function scenario(name: string, extraEnv: Record<string, string> = {}) {
    const prefix = `t-fault-lake-${name}-${run}-`;
    const env: Record<string, string> = {
      ...fs().env,
      KAFKA_BROKERS: process.env.KAFKA_BROKERS ?? '127.0.0.1:9092',
      SCHEMA_REGISTRY_URL: process.env.SCHEMA_REGISTRY_URL ?? 'http://127.0.0.1:8081',
      TOPIC_PREFIX: prefix,
      SNAP_KAFKA_PARTITIONS: '3',
      SNAP_LAKE_FLUSH_ROWS: String(WINDOW),
      SNAP_LAKE_SINK_TIERS: 'gold',
      SNAP_LAKE_SINK_GROUP_ID: `${prefix}lake`,
      S3_BUCKET: `fault-lake-${name}-${run}`,
      LOG_LEVEL: 'info',
      ...extraEnv,
    };
    const cfg = loadConfig({ env });
    const kafka = createKafka(cfg, { logger: createLogger({ write: () => undefined }), clientId: `fault-lake-${run}` });
    const admin = kafka.admin();
    await admin.connect();
    await applyTopics(admin, cfg, topicDeclarations(cfg).filter((d) => d.role === 'signals'));
    await admin.disconnect();
    const producer = createTransactionalProducer(kafka, `${prefix}tx`);
    await producer.connect();
    made.push({ prefix, kafka, producer, cfg, groups: [`${prefix}lake`] });
    s3 ??= s3ClientFor(cfg);
    const produced: SignalRow[] = [];
    let tick = 0;
    /** `ticks` more ticks, 9 rows each (a unique note per row), `perTx` ticks per transaction. */
    const produce = async (ticks: number, perTx = 2) => {
      for (let i = 0; i < ticks; i += perTx) {
        const rows = Array.from({ length: perTx }, (_, j) => tick + j).flatMap((t) =>
          UNDERLYINGS.flatMap((u, ui) => LEVELS.map((level_id, li) => sampleSignalRow(t * 9 + ui * 3 + li, T0 + BigInt(t) * TICK_NS, { underlying: u, level_id, note: `row ${t}/${u}/${level_id}` }))),
        );
        await produceSignalsTx(producer, codec, topicName(cfg, SIGNALS_TOPIC), rows, true);
        produced.push(...rows);
        tick += perTx;
      }
    };
    return { env, cfg, produce, produced };
  }

  /** Data objects written so far (the _meta/ schema snapshots land at start, before any data). */
  async function objectCount(bucket: string): Promise<number> {
    try {
      const r = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
      return (r.Contents ?? []).filter((o) => !o.Key!.startsWith('_meta/')).length;
    } catch {
      return 0;
    }
  }

  /** Downloads the bucket and counts every row note with DuckDB: lost = expected notes absent, duplicated = extra copies. */
  async function lakeAudit(bucket: string, expected: SignalRow[]): Promise<{ lost: number; duplicated: number; rows: number }> {
    const dir = mkdtempSync(join(tmpdir(), 'fault-lake-'));
    try {
      let token: string | undefined;
      do {
        const r = await s3.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
        for (const o of r.Contents ?? []) {
          const body = await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: o.Key! }))).Body!.transformToByteArray();
          const path = join(dir, o.Key!);
          mkdirSync(dirname(path), { recursive: true });
          writeFileSync(path, body);
        }
        token = r.IsTruncated ? r.NextContinuationToken : undefined;
      } while (token);
      const db = await DuckDBInstance.create(':memory:');
      const con = await db.connect();
      const res = await con.runAndReadAll(`SELECT note, count(*) AS n FROM read_parquet('${join(dir, 'gold/levels/signals/**/*.parquet')}', hive_partitioning = true) GROUP BY note`);
      const counts = new Map(res.getRowObjectsJS().map((r) => [String(r.note), Number(r.n)]));
      con.closeSync();
      let lost = 0;
      let duplicated = 0;
      for (const r of expected) {
        const n = counts.get(r.note) ?? 0;
        if (n === 0) lost++;
        else duplicated += n - 1;
      }
      const extra = [...counts.keys()].filter((k) => !expected.some((r) => r.note === k)).length;
      return { lost: lost + extra, duplicated, rows: [...counts.values()].reduce((a, b) => a + b, 0) };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  /** Rows the consumer has read, from its latest 'progress' log line (every 5 s). */
  const readRows = (logs: string): number => {
    const lines = logs.split('\n').filter((l) => l.includes('"msg":"progress"'));
    return lines.length ? Number((JSON.parse(lines[lines.length - 1]!) as { rows: number }).rows) : 0;
  };

  const lastJson = (stdout: string) => JSON.parse(stdout.trim().split('\n').pop()!) as Record<string, number | string>;

  afterAll(async () => {
    for (const m of made) {
      await m.producer.disconnect().catch(() => undefined);
      const admin = m.kafka.admin();
      await admin.connect().catch(() => undefined);
      await admin.deleteGroups(m.groups).catch(() => undefined);
      await admin.deleteTopics({ topics: [topicName(m.cfg, SIGNALS_TOPIC)] }).catch(() => undefined);
      await admin.disconnect().catch(() => undefined);
    }
    s3?.destroy();
  });

  it('MinIO SIGKILLed and restarted mid-run: the sink waits it out and every row lands exactly once', async () => {
    const sc = await scenario('minio');
    await sc.produce(40);
    const sink: CliProcess = startCli(['sink', 'lake', '--target', 's3'], sc.env);
    try {
      await until(async () => (await objectCount(sc.cfg.s3.bucket)) > 0, 'the first objects before the fault', 180_000, 250);
      await fs().kill('minio');
      const downAt = Date.now();
      await sc.produce(60); // closes more windows: their PUTs fail while MinIO is down
      await until(() => sink.out().includes('unavailable; retrying with backoff'), 'the sink to meet the outage', 120_000, 250);
      // Longer than the consumer group's 10 s session timeout: the sink heartbeats while it waits (or, if it lost
      // its partitions anyway, redoes the work from the last commit); neither may lose or double a row.
      await new Promise((r) => setTimeout(r, 15_000));
      expect(sink.child.exitCode).toBeNull();
      await fs().start('minio');
      const upAt = Date.now();
      await until(() => sink.out().includes('is back; resuming'), 'the first successful PUT after the restart', 180_000, 100);
      const recoveredAt = Date.now();
      await sc.produce(40);
      // Everything committed so far is consumed before the sink is stopped (the tail is flushed by --until-idle below).
      await until(() => readRows(sink.out()) >= sc.produced.length, 'the sink to read every row', 180_000, 500);
      sink.child.kill('SIGTERM');
      const res = await sink.done;
      expect(res.code).toBe(0);
      const tail = await startCli(['sink', 'lake', '--target', 's3', '--until-idle'], sc.env).done;
      expect(tail.code).toBe(0);
      const audit = await lakeAudit(sc.cfg.s3.bucket, sc.produced);
      expect(audit).toEqual({ lost: 0, duplicated: 0, rows: sc.produced.length });
      faultRow({ fault: 'minio restart (SIGKILL) mid `sink lake --target s3`', lost: audit.lost, duplicated: audit.duplicated, recovery_s: Number(((recoveredAt - upAt) / 1000).toFixed(1)), rows: sc.produced.length, outage_s: Number(((upAt - downAt) / 1000).toFixed(1)), lost_partitions: res.stderr.includes('offset commit refused') });
    } finally {
      if (sink.child.exitCode === null) sink.child.kill('SIGKILL');
    }
  });

  it('the sink SIGKILLed mid-run and restarted: every row exactly once, resume time printed', async () => {
    const sc = await scenario('kill');
    await sc.produce(100);
    const first: CliProcess = startCli(['sink', 'lake', '--target', 's3'], sc.env);
    await until(async () => (await objectCount(sc.cfg.s3.bucket)) >= 3, 'some objects before the kill', 180_000, 100);
    first.child.kill('SIGKILL');
    await first.done;
    await sc.produce(40);
    const startedAt = Date.now();
    const second = startCli(['sink', 'lake', '--target', 's3', '--until-idle'], sc.env);
    const assignedAt = await until(() => second.out().includes('partitions assigned') && Date.now(), 'the restarted sink to get its partitions', 180_000, 100);
    const res = await second.done;
    expect(res.code).toBe(0);
    expect(lastJson(res.stdout)).toMatchObject({ skipped: 0 });
    const audit = await lakeAudit(sc.cfg.s3.bucket, sc.produced);
    expect(audit).toEqual({ lost: 0, duplicated: 0, rows: sc.produced.length });
    const resume_s = Number(((assignedAt - startedAt) / 1000).toFixed(1));
    process.stdout.write(`lake sink resume after SIGKILL: ${resume_s} s from restart to partitions assigned\n`);
    faultRow({ fault: 'lake sink SIGKILL + restart', lost: audit.lost, duplicated: audit.duplicated, recovery_s: resume_s, rows: sc.produced.length });
  });

  it('a memory bound below what the partitions hold (lake.max_buffer_rows) pauses partitions and loses nothing', async () => {
    // ~5k rows (~1.5 MB) per partition: more than one fetch, so partitions are read in several batches and the
    // open windows of three partitions together exceed the bound of one window.
    // Offset windows only: early closes by event-time age (lake.max_file_age_ms) would keep every window below the bound.
    const sc = await scenario('bound', { SNAP_LAKE_FLUSH_ROWS: '2000', SNAP_LAKE_MAX_BUFFER_ROWS: '2000', SNAP_LAKE_MAX_FILE_AGE_MS: '0' });
    await sc.produce(1700, 50);
    const sink = startCli(['sink', 'lake', '--target', 's3', '--until-idle'], sc.env);
    let peakKb = 0;
    const sampler = setInterval(() => {
      try {
        const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${sink.child.pid}/status`, 'utf8'));
        if (m) peakKb = Math.max(peakKb, Number(m[1]));
      } catch {
        /* exited */
      }
    }, 100);
    const res = await sink.done.finally(() => clearInterval(sampler));
    expect(res.code).toBe(0);
    expect(res.stderr).toContain('buffer above the memory bound');
    const audit = await lakeAudit(sc.cfg.s3.bucket, sc.produced);
    expect(audit).toEqual({ lost: 0, duplicated: 0, rows: sc.produced.length });
    process.stdout.write(`lake sink with max_buffer_rows=2000: ${sc.produced.length} rows, peak RSS ${(peakKb / 1024).toFixed(0)} MB\n`);
  });
});
