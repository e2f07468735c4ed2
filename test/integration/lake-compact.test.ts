// `snap-engine lake compact` as an operator runs it (the CLI process), on a local DATA_ROOT and on the local stack's
// MinIO: the same Bronze + Gold input gives the same Silver / level_features keys and bytes on both targets; DuckDB
// reads the Silver tables with each event_id once; a second run changes no byte.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteBucketCommand } from '@aws-sdk/client-s3';
import { DuckDBInstance } from '@duckdb/node-api';
import { loadConfig } from '@snap/platform';
import { LocalLakeStore, S3LakeStore, bronzeGreeks, bronzeOptionTrade, bronzeStockTrade, s3ClientFor, sampleSignalRow, writeBronzeWindow, writeGoldWindow, type LakeStore } from '@snap/lake-sink';
import { runCli, startCli, until } from './support';

jest.setTimeout(300_000);

const run = randomBytes(4).toString('hex');
const root = mkdtempSync(join(tmpdir(), 'it-lake-compact-'));
const env: Record<string, string> = { DATA_ROOT: root, S3_BUCKET: `it-compact-${run}`, LOG_LEVEL: 'warn', SNAP_LAKE_TARGET_FILE_BYTES: '20000' };
const cfg = loadConfig({ env: { ...process.env, ...env } });
const DATE = '2026-01-06';
const T0 = BigInt(Date.UTC(2026, 0, 6, 14, 58, 0)) * 1_000_000n; // 2 min before an hour boundary
const S = 1_000_000_000n;
const CALL = 'O:SPY260106C00600000';

const local = new LocalLakeStore(root);
const s3 = new S3LakeStore(s3ClientFor(cfg), cfg.s3.bucket);

/** The same lake written to a store: stock trades with re-deliveries across two windows, option trades + greeks, Gold. */
async function writeLake(store: LakeStore) {
  await store.prepare();
  const trades = Array.from({ length: 600 }, (_, i) => bronzeStockTrade(i, T0 + BigInt(i) * 400_000_000n));
  await writeBronzeWindow(store, '', 'stocks.trades.v1', 'stocks.trades.v1', 0, 0n, trades.slice(0, 400));
  await writeBronzeWindow(store, '', 'stocks.trades.v1', 'stocks.trades.v1', 0, 400n, trades.slice(350)); // 50 re-delivered
  await writeBronzeWindow(store, '', 'options.greeks_snapshots.v1', 'options.greeks_snapshots.v1', 0, 0n, [bronzeGreeks(0, T0, CALL, 'g0'), bronzeGreeks(1, T0 + 120n * S, CALL, 'g1')]);
  await writeBronzeWindow(store, '', 'options.trades.v1', 'options.trades.v1', 0, 0n, Array.from({ length: 40 }, (_, i) => bronzeOptionTrade(i, T0 + BigInt(i) * 5n * S, CALL)));
  await writeGoldWindow(store, '', 'levels.signals.v1', 0, 0n, Array.from({ length: 300 }, (_, i) => sampleSignalRow(i, T0 + BigInt(Math.floor(i / 3)) * 250_000_000n, { level_id: ['VWAP', 'HVL', 'ROUND_600'][i % 3]! })));
}

async function digest(store: LakeStore, prefix: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const o of await store.list(prefix)) out.set(o.key, createHash('sha256').update((await store.get(o.key))!).digest('hex'));
  return out;
}

async function compact(target: 'local' | 's3'): Promise<Record<string, number>> {
  const r = await runCli(['lake', 'compact', '--date', DATE, '--target', target], env);
  if (r.code !== 0) throw new Error(`lake compact --target ${target} exited ${r.code}:\n${r.stderr.slice(-3000)}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, number>;
}

afterAll(async () => {
  for (const o of await s3.list('').catch(() => [])) await s3.delete([o.key]);
  await s3.client.send(new DeleteBucketCommand({ Bucket: cfg.s3.bucket })).catch(() => undefined);
  s3.close();
  rmSync(root, { recursive: true, force: true });
});

it('local and MinIO get the same Silver, enriched and level_features objects; DuckDB sees each event_id once; a rerun changes nothing', async () => {
  await writeLake(local);
  await writeLake(s3);
  const a = await compact('local');
  const b = await compact('s3');
  // rows read per output table: stock trades 650 (50 re-delivered), greeks 2, option trades 40 (plain and enriched), Gold 300
  expect(a).toMatchObject({ rows_in: 650 + 2 + 40 + 40 + 300, duplicates: 50, enriched_rows: 40, feature_rows: 300 });
  expect({ ...b, target: a.target, elapsed_s: a.elapsed_s }).toEqual(a);
  // Both hour partitions (14 and 15) exist; the same keys and bytes on both targets.
  const silverLocal = await digest(local, 'silver/');
  expect([...silverLocal.keys()].some((k) => k.includes('/hour=14/')) && [...silverLocal.keys()].some((k) => k.includes('/hour=15/'))).toBe(true);
  expect(await digest(s3, 'silver/')).toEqual(silverLocal);
  expect(await digest(s3, 'gold/features/')).toEqual(await digest(local, 'gold/features/'));

  const db = await DuckDBInstance.create(':memory:');
  const con = await db.connect();
  const q = async (sql: string) => (await con.runAndReadAll(sql)).getRowObjectsJS();
  const [t] = await q(`SELECT count(*) AS n, count(DISTINCT event_id) AS ids FROM read_parquet('${root}/silver/stocks/trades/**/*.parquet', hive_partitioning = true)`);
  expect([Number(t!.n), Number(t!.ids)]).toEqual([600, 600]);
  // Enriched: greeks never later than the trade, never older than the tolerance (60 s default).
  const e = await q(
    `SELECT count(*) AS n, count(greeks_snapshot_id) AS joined, max(join_tolerance_ns) AS tol FROM read_parquet('${root}/silver/options/trades_enriched/**/*.parquet', hive_partitioning = true)`,
  );
  expect(Number(e[0]!.n)).toBe(40);
  expect(BigInt(e[0]!.tol as bigint)).toBe(60n * S);
  // trades at T0 + 0..195 s; snapshots at T0 (covers 0..60 s) and T0+120 s (covers 120..180 s)
  expect(Number(e[0]!.joined)).toBe(13 + 13);
  const f = await q(
    `SELECT count(*) AS n, count(DISTINCT (ts_event_ns, level_id)) AS k, min(session) AS s, count(*) FILTER (WHERE label_outcome IN ('BREAK', 'REJECT', 'UNRESOLVED')) AS labelled FROM read_parquet('${root}/gold/features/level_features/**/*.parquet', hive_partitioning = true)`,
  );
  expect([Number(f[0]!.n), Number(f[0]!.k), f[0]!.s, Number(f[0]!.labelled)]).toEqual([300, 300, '2026-01-06', 300]);
  con.closeSync();

  const before = [await digest(local, ''), await digest(s3, '')];
  expect(await compact('local')).toMatchObject({ up_to_date: a.partitions, files_written: 0, files_deleted: 0 });
  expect(await compact('s3')).toMatchObject({ up_to_date: a.partitions, files_written: 0, files_deleted: 0 });
  expect([await digest(local, ''), await digest(s3, '')]).toEqual(before);
});

it('--schedule compacts on every lake.compact_interval_ms pass until SIGTERM, then exits 0', async () => {
  const p = startCli(['lake', 'compact', '--schedule', '--date', DATE, '--target', 'local', '--quiet'], { ...env, SNAP_LAKE_COMPACT_INTERVAL_MS: '300' });
  let stdout = '';
  p.child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  try {
    // Two passes over the (already compacted) date: each prints its summary line and finds everything up to date.
    const passes = await until(() => {
      const lines = stdout.split('\n').filter((l) => l.startsWith('{'));
      return lines.length >= 2 ? lines.map((l) => JSON.parse(l) as Record<string, number>) : false;
    }, 'two scheduled passes', 120_000, 100);
    for (const x of passes.slice(0, 2)) expect(x).toMatchObject({ date: DATE, files_written: 0, files_deleted: 0 });
    expect(passes[0]!.up_to_date).toBe(passes[0]!.partitions);
  } finally {
    if (p.child.exitCode === null) p.child.kill('SIGTERM');
  }
  const r = await p.done;
  expect(r.code).toBe(0);
});
