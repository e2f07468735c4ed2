// Silver compaction (`snap-engine lake compact --target s3`) under SIGKILL, against an isolated MinIO:
//   1. compaction SIGKILLed while it replaces a Silver generation: the manifests name one whole generation at every
//      point; after the restart every event_id is in Silver exactly once, and a further run changes no byte;
//   2. the lake sink SIGKILLed mid-flush while writing Bronze from input topics with injected duplicate records
//      (early window closes by lake.max_file_age_ms on): after the restart every Kafka record is in Bronze exactly
//      once, and compaction leaves each event_id in Silver once.
// Kafka and the schema registry are the main stack's (own TOPIC_PREFIX, groups, bucket); MinIO is this file's own.
import { createHash, randomBytes } from 'node:crypto';
import type { Config, StockTrade } from '@snap/core';
import { EnvelopeCodec, EnvelopeProducer, applyTopics, createKafka, createLogger, loadConfig, readParquetRows, topicDeclarations, topicName } from '@snap/platform';
import { BRONZE_TABLES, MANIFEST_NAME, S3LakeStore, bronzeStockTrade, parseManifest, s3ClientFor, writeBronzeWindow, type LakeStore } from '@snap/lake-sink';
import { faultRow, startCli, until, useFaultStack } from './support';

jest.setTimeout(900_000);

const run = randomBytes(4).toString('hex');
const DATE = '2026-01-06';
const T0 = BigInt(Date.UTC(2026, 0, 6, 0, 0, 0)) * 1_000_000n;
const HOUR = 3_600_000_000_000n;
const S = 1_000_000_000n;
const TRADES = BRONZE_TABLES.find((t) => t.schemaName === 'stocks.trades.v1')!;

/** Every event_id of the Silver stock trades, read like a glob reader (every *.parquet under silver/). */
async function silverEventIds(store: LakeStore): Promise<string[]> {
  const ids: string[] = [];
  for (const o of await store.list('silver/stocks/trades/')) {
    if (!o.key.endsWith('.parquet')) continue;
    for (const r of readParquetRows((await store.get(o.key))!, TRADES.columns, o.key)) ids.push(r.event_id as string);
  }
  return ids;
}

/** Rows per Silver partition as its committed manifest lists them (what manifest-aware readers see). */
async function manifestRows(store: LakeStore): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for (const o of await store.list('silver/stocks/trades/')) {
    if (!o.key.endsWith(`/${MANIFEST_NAME}`)) continue;
    const dir = o.key.slice(0, -MANIFEST_NAME.length - 1);
    const m = parseManifest(o.key, (await store.get(o.key))!);
    const ids: string[] = [];
    for (const f of m.files) for (const r of readParquetRows((await store.get(`${dir}/${f.name}`))!, TRADES.columns)) ids.push(r.event_id as string);
    out.set(dir, ids);
  }
  return out;
}

async function bucketDigest(store: LakeStore): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const o of await store.list('silver/')) out.set(o.key, createHash('sha256').update((await store.get(o.key))!).digest('hex'));
  return out;
}

const dupes = (ids: readonly string[]) => ids.length - new Set(ids).size;
const lastJson = (stdout: string) => JSON.parse(stdout.trim().split('\n').pop()!) as Record<string, number>;

describe('lake compact --target s3 under SIGKILL', () => {
  const fs = useFaultStack({ services: ['minio'] });
  const closers: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const c of closers) await c().catch(() => undefined);
  });

  function scenario(name: string, extra: Record<string, string> = {}) {
    const prefix = `t-fault-compact-${name}-${run}-`;
    const env: Record<string, string> = {
      ...fs().env,
      KAFKA_BROKERS: process.env.KAFKA_BROKERS ?? '127.0.0.1:9092',
      SCHEMA_REGISTRY_URL: process.env.SCHEMA_REGISTRY_URL ?? 'http://127.0.0.1:8081',
      TOPIC_PREFIX: prefix,
      S3_BUCKET: `fault-compact-${name}-${run}`,
      SNAP_LAKE_SINK_TARGET: 's3',
      LOG_LEVEL: 'info',
      ...extra,
    };
    const cfg = loadConfig({ env });
    const store = new S3LakeStore(s3ClientFor(cfg), cfg.s3.bucket);
    closers.push(async () => store.close());
    return { env, cfg, store, prefix };
  }

  it('compaction SIGKILLed mid-generation: manifests always name one generation; after the restart every event_id once, and a rerun changes no byte', async () => {
    const sc = scenario('kill', { SNAP_LAKE_TARGET_FILE_BYTES: '6000' });
    await sc.store.prepare();
    // 24 hours × 2 symbols, two Bronze windows each, the second re-delivering 50 trades of the first.
    const expected = new Set<string>();
    for (const symbol of ['SPY', 'QQQ']) {
      for (let h = 0; h < 24; h++) {
        const rows = Array.from({ length: 400 }, (_, i) => bronzeStockTrade(i, T0 + BigInt(h) * HOUR + BigInt(i) * S, `${symbol}-${h}-${i}`, symbol));
        rows.forEach((r) => expected.add(r.event_id as string));
        await writeBronzeWindow(sc.store, '', 'stocks.trades.v1', 'stocks.trades.v1', 0, BigInt(h) * 1000n, rows.slice(0, 250));
        await writeBronzeWindow(sc.store, '', 'stocks.trades.v1', 'stocks.trades.v1', 1, BigInt(h) * 1000n, rows.slice(200));
      }
    }
    const first = await startCli(['lake', 'compact', '--date', DATE, '--dataset', 'stocks.trades.v1'], sc.env).done;
    expect(first.code).toBe(0);
    expect(lastJson(first.stdout)).toMatchObject({ partitions: 48, rows: expected.size, duplicates: 48 * 50 });
    const oldRows = await manifestRows(sc.store);
    // New Bronze for every partition: the next run replaces every Silver generation.
    for (const symbol of ['SPY', 'QQQ']) {
      for (let h = 0; h < 24; h++) {
        const rows = Array.from({ length: 100 }, (_, i) => bronzeStockTrade(1000 + i, T0 + BigInt(h) * HOUR + BigInt(1000 + i) * S, `${symbol}-${h}-n${i}`, symbol));
        rows.forEach((r) => expected.add(r.event_id as string));
        await writeBronzeWindow(sc.store, '', 'stocks.trades.v1', 'stocks.trades.v1', 2, BigInt(h) * 1000n, rows);
      }
    }
    const victim = startCli(['lake', 'compact', '--date', DATE, '--dataset', 'stocks.trades.v1'], sc.env);
    // One log line per partition committed.
    const doneAtKill = await until(() => {
      const n = victim.out().split('\n').filter((l) => l.includes('"msg":"silver partition written"')).length;
      return n >= 3 ? n : false;
    }, 'compaction to have replaced a few partitions', 300_000, 20);
    victim.child.kill('SIGKILL');
    const killed = await victim.done;
    expect(killed.signal).toBe('SIGKILL');
    expect(doneAtKill).toBeLessThan(48); // the kill landed mid-run
    // Manifest readers: each partition is wholly the old or wholly the new generation, never a mix, never a duplicate.
    const mid = await manifestRows(sc.store);
    let replaced = 0;
    for (const [dir, ids] of mid) {
      expect(dupes(ids)).toBe(0);
      const old = oldRows.get(dir)!;
      if (ids.length !== old.length) {
        expect(ids.length).toBe(old.length + 100);
        replaced++;
      } else expect(ids.sort()).toEqual(old.slice().sort());
    }
    expect(replaced).toBeGreaterThanOrEqual(3);
    const restartAt = Date.now();
    const again = await startCli(['lake', 'compact', '--date', DATE, '--dataset', 'stocks.trades.v1'], sc.env).done;
    expect(again.code).toBe(0);
    const recovery_s = Number(((Date.now() - restartAt) / 1000).toFixed(1));
    const ids = await silverEventIds(sc.store);
    const lost = [...expected].filter((id) => !ids.includes(id)).length;
    expect({ rows: ids.length, duplicated: dupes(ids), lost }).toEqual({ rows: expected.size, duplicated: 0, lost: 0 });
    // Idempotent: one more run writes and deletes nothing, every byte stays.
    const before = await bucketDigest(sc.store);
    const idle = await startCli(['lake', 'compact', '--date', DATE, '--dataset', 'stocks.trades.v1'], sc.env).done;
    expect(lastJson(idle.stdout)).toMatchObject({ partitions: 48, up_to_date: 48, files_written: 0, files_deleted: 0 });
    expect(await bucketDigest(sc.store)).toEqual(before);
    faultRow({ fault: 'lake compact SIGKILL mid-generation + rerun (MinIO)', lost, duplicated: dupes(ids), recovery_s, rows: expected.size });
  });

  it('lake sink SIGKILLed mid-flush writing Bronze with duplicate records: every record once in Bronze, each event_id once in Silver', async () => {
    const sc = scenario('sink', { SNAP_LAKE_FLUSH_ROWS: '300', SNAP_LAKE_MAX_BUFFER_ROWS: '1000', SNAP_LAKE_SINK_TIERS: 'bronze', SNAP_LAKE_SINK_GROUP_ID: `t-fault-compact-sink-${run}`, SNAP_KAFKA_PARTITIONS: '2', SNAP_LAKE_MAX_FILE_AGE_MS: '20000' });
    const cfg: Config = sc.cfg;
    const kafka = createKafka(cfg, { logger: createLogger({ write: () => undefined }), clientId: `fault-compact-${run}` });
    const admin = kafka.admin();
    await admin.connect();
    await applyTopics(admin, cfg, topicDeclarations(cfg).filter((d) => d.role === 'input'));
    const producer = kafka.producer({ idempotent: true });
    await producer.connect();
    closers.push(async () => {
      await producer.disconnect();
      await admin.deleteGroups([cfg.lake.sink_group_id]).catch(() => undefined);
      await admin.deleteTopics({ topics: topicDeclarations(cfg).filter((d) => d.role === 'input').map((d) => topicName(cfg, d.base)) }).catch(() => undefined);
      await admin.disconnect();
    });
    const ep = new EnvelopeProducer(producer, new EnvelopeCodec({ registryUrl: cfg.schema_registry.url }));
    const topic = topicName(cfg, 'stocks.trades.v1');
    const sent = new Map<string, number>(); // event_id -> times produced
    let n = 0;
    /** `count` trades one second apart for SPY and QQQ; every 10th is re-sent right after (a feed re-delivery). */
    const produce = async (count: number) => {
      const batch: StockTrade[] = [];
      for (let i = 0; i < count; i++, n++) {
        for (const symbol of ['SPY', 'QQQ']) {
          const ts = T0 + 15n * HOUR + BigInt(n) * S;
          const t: StockTrade = { schema: 'stocks.trades.v1', schema_version: 1, source: 'sim', ts_event_ns: ts, ts_recv_ns: ts + 1000n, key: symbol, seq: null, event_id: `${symbol}-${n}`, symbol, price: 600 + n / 100, size: 100, exchange: null, conditions: [] };
          batch.push(t);
          if (n % 10 === 0) batch.push({ ...t, ts_recv_ns: ts + 5000n });
        }
      }
      for (const t of batch) sent.set(t.event_id, (sent.get(t.event_id) ?? 0) + 1);
      for (let i = 0; i < batch.length; i += 500) await ep.send(topic, 'stocks.trades.v1', batch.slice(i, i + 500));
    };
    await produce(3000);
    const first = startCli(['sink', 'lake', '--target', 's3', '--tiers', 'bronze'], sc.env);
    await until(async () => (await sc.store.list('bronze/').catch(() => [])).length >= 6, 'some Bronze objects before the kill', 240_000, 50);
    first.child.kill('SIGKILL');
    await first.done;
    await produce(1000);
    const second = await startCli(['sink', 'lake', '--target', 's3', '--tiers', 'bronze', '--until-idle'], sc.env).done;
    expect(second.code).toBe(0);
    // Bronze: every produced record exactly once (re-deliveries are separate records: they stay, twice).
    const bronze = new Map<string, number>();
    for (const o of await sc.store.list('bronze/stocks/trades/')) for (const r of readParquetRows((await sc.store.get(o.key))!, TRADES.columns, o.key)) bronze.set(r.event_id as string, (bronze.get(r.event_id as string) ?? 0) + 1);
    expect(bronze).toEqual(sent);
    const compact = await startCli(['lake', 'compact', '--date', DATE], sc.env).done;
    expect(compact.code).toBe(0);
    const ids = await silverEventIds(sc.store);
    const lost = [...sent.keys()].filter((id) => !ids.includes(id)).length;
    expect({ rows: ids.length, duplicated: dupes(ids), lost }).toEqual({ rows: sent.size, duplicated: 0, lost: 0 });
    expect(lastJson(compact.stdout)).toMatchObject({ duplicates: [...sent.values()].reduce((a, b) => a + b, 0) - sent.size });
    faultRow({ fault: 'lake sink SIGKILL mid-flush (Bronze, age-closed windows) + lake compact (MinIO)', lost, duplicated: dupes(ids), recovery_s: 0, rows: sent.size });
  });
});
