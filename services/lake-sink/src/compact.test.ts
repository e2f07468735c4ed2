import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, readParquetRows } from '@snap/platform';
import { compactDate, ENRICHED_PATH, type CompactOptions } from './compact';
import { bronzeGreeks, bronzeOptionTrade, bronzeStockTrade, writeBronzeWindow, writeGoldWindow } from './compact-testing';
import { LABEL_COLUMNS, LEVEL_FEATURES_PATH, LEVEL_FEATURE_NAMES, levelFeatureColumns } from './level-features';
import { sampleSignalRow } from './testing';
import { FEATURES } from '@snap/core';
import { BRONZE_TABLES } from './datasets';
import { ENRICHED_COLUMNS } from './enrich';
import { LocalLakeStore, type LakeStore } from './lake-store';
import { MANIFEST_NAME, parseManifest } from './silver';

const T0 = BigInt(Date.UTC(2026, 0, 6, 15, 0, 0)) * 1_000_000n; // 15:00 UTC
const S = 1_000_000_000n;
const DATE = '2026-01-06';
const quiet = createLogger({ write: () => undefined });
const TRADES = BRONZE_TABLES.find((t) => t.schemaName === 'stocks.trades.v1')!;
const CALL = 'O:SPY260106C00600000';
const PUT = 'O:SPY260106P00595000';

let root: string;
let store: LocalLakeStore;
beforeEach(async () => {
  root = mkdtempSync(join(tmpdir(), 'compact-'));
  store = new LocalLakeStore(root);
  await store.prepare();
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const opts = (over: Partial<CompactOptions> = {}): CompactOptions => ({ store, keyPrefix: '', date: DATE, targetFileBytes: 256 * 1024 * 1024, enrichToleranceNs: 60n * S, logger: quiet, ...over });

/** Every object of the lake: key → sha256 of its bytes. */
async function snapshot(s: LakeStore = store): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const o of await s.list('')) out.set(o.key, createHash('sha256').update((await s.get(o.key))!).digest('hex'));
  return out;
}

/** Rows of one Silver partition directory, read the way a glob reader does (every *.parquet there). */
async function globRows(dir: string, columns = TRADES.columns) {
  const keys = (await store.list(`${dir}/`)).filter((o) => o.key.endsWith('.parquet')).map((o) => o.key);
  return keys.flatMap((k) => readParquetRows(readFileSync(join(root, k)), columns, k));
}

/** Two overlapping Bronze windows of stock trades in hour 15, plus duplicates inside one window. */
async function bronzeWithDuplicates() {
  const a = Array.from({ length: 50 }, (_, i) => bronzeStockTrade(i, T0 + BigInt(i) * S));
  // A reconnect re-sent trades 40..49 (same event_id, later receive time) and a record came twice within a window.
  const b = [...Array.from({ length: 10 }, (_, i) => ({ ...bronzeStockTrade(40 + i, T0 + BigInt(40 + i) * S), ts_recv_ns: T0 + 99n * S })), ...Array.from({ length: 30 }, (_, i) => bronzeStockTrade(50 + i, T0 + BigInt(50 + i) * S))];
  b.push(bronzeStockTrade(60, T0 + 60n * S));
  await writeBronzeWindow(store, '', 'stocks.trades.v1', 'stocks.trades.v1', 0, 0n, a);
  await writeBronzeWindow(store, '', 'stocks.trades.v1', 'stocks.trades.v1', 0, 1000n, b);
  return { unique: 80, injected: 11 };
}

const SILVER_TRADES = `silver/stocks/trades/symbol=SPY/date=${DATE}/hour=15`;

describe('lake compact (Bronze → Silver)', () => {
  it('keeps each event_id once, sorted by event time, the first delivered copy winning', async () => {
    const { unique, injected } = await bronzeWithDuplicates();
    const sum = await compactDate(opts());
    expect(sum).toMatchObject({ partitions: 1, rows_in: unique + injected, rows: unique, duplicates: injected });
    const rows = await globRows(SILVER_TRADES);
    expect(rows).toHaveLength(unique);
    expect(new Set(rows.map((r) => r.event_id)).size).toBe(unique);
    const ts = rows.map((r) => r.ts_event_ns as bigint);
    expect(ts).toEqual([...ts].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0)));
    // trade 45 was re-sent with a later receive time; the first copy (window 0) is the one kept
    expect(rows.find((r) => r.event_id === 'st-45')!.ts_recv_ns).toBe(T0 + 45n * S + 1_000n);
    const m = parseManifest(MANIFEST_NAME, (await store.get(`${SILVER_TRADES}/${MANIFEST_NAME}`))!);
    expect(m).toMatchObject({ dataset: 'stocks.trades.v1', rows: unique, duplicates: injected, rows_in: unique + injected });
    expect(m.inputs.map((i) => i.key)).toEqual((await store.list('bronze/')).map((o) => o.key));
  });

  it('a second compaction changes no byte (and writes nothing)', async () => {
    await bronzeWithDuplicates();
    await compactDate(opts());
    const before = await snapshot();
    const sum = await compactDate(opts());
    expect(sum).toMatchObject({ up_to_date: 1, files_written: 0, files_deleted: 0 });
    expect(await snapshot()).toEqual(before);
  });

  it('recompacts from scratch to the same bytes (deterministic names and contents)', async () => {
    await bronzeWithDuplicates();
    await compactDate(opts());
    const first = await snapshot();
    rmSync(join(root, 'silver'), { recursive: true });
    await compactDate(opts());
    expect(await snapshot()).toEqual(first);
  });

  it('cuts files near the target size, every row once across them', async () => {
    const rows = Array.from({ length: 3000 }, (_, i) => bronzeStockTrade(i, T0 + BigInt(i) * 1_000_000n));
    await writeBronzeWindow(store, '', 'stocks.trades.v1', 'stocks.trades.v1', 0, 0n, rows);
    await compactDate(opts({ targetFileBytes: 4_000 }));
    const m = parseManifest('m', (await store.get(`${SILVER_TRADES}/${MANIFEST_NAME}`))!);
    expect(m.files.length).toBeGreaterThan(1);
    for (const f of m.files) expect(f.bytes).toBeLessThan(4_000 * 1.5);
    const back = await globRows(SILVER_TRADES);
    expect(back.map((r) => r.event_id).sort()).toEqual(rows.map((r) => r.event_id).sort());
  });

  it('new Bronze input replaces the previous Silver generation: the old files are deleted', async () => {
    await bronzeWithDuplicates();
    await compactDate(opts());
    const oldFiles = (await store.list(`${SILVER_TRADES}/`)).filter((o) => o.key.endsWith('.parquet')).map((o) => o.key);
    await writeBronzeWindow(store, '', 'stocks.trades.v1', 'stocks.trades.v1', 1, 0n, [bronzeStockTrade(500, T0 + 500n * S)]);
    const sum = await compactDate(opts());
    expect(sum).toMatchObject({ up_to_date: 0, rows: 81 });
    const now = (await store.list(`${SILVER_TRADES}/`)).filter((o) => o.key.endsWith('.parquet')).map((o) => o.key);
    expect(now.some((k) => oldFiles.includes(k))).toBe(false);
    expect(await globRows(SILVER_TRADES)).toHaveLength(81);
  });

  it('a crash at any PUT leaves the manifest naming one whole generation; the next run leaves every row exactly once', async () => {
    await bronzeWithDuplicates();
    await compactDate(opts({ targetFileBytes: 1500 }));
    await writeBronzeWindow(store, '', 'stocks.trades.v1', 'stocks.trades.v1', 1, 0n, Array.from({ length: 40 }, (_, i) => bronzeStockTrade(700 + i, T0 + BigInt(700 + i) * S)));
    const expected = 120;
    for (let crashAt = 1; ; crashAt++) {
      // A store that dies after `crashAt` writes (PUT or DELETE): the process is gone mid-compaction.
      let ops = 0;
      const dying = Object.assign(Object.create(store) as LakeStore, {
        put: async (k: string, b: Uint8Array) => {
          if (++ops > crashAt) throw new Error('killed');
          return store.put(k, b);
        },
        delete: async (keys: readonly string[]) => {
          if (++ops > crashAt) throw new Error('killed');
          return store.delete(keys);
        },
      });
      const crashed = await compactDate(opts({ store: dying, targetFileBytes: 1500 })).then(
        () => false,
        () => true,
      );
      // Readers that honour the manifest see exactly one generation at every point.
      const m = parseManifest('m', (await store.get(`${SILVER_TRADES}/${MANIFEST_NAME}`))!);
      const viaManifest = m.files.flatMap((f) => readParquetRows(readFileSync(join(root, SILVER_TRADES, f.name)), TRADES.columns));
      expect([80, expected]).toContain(viaManifest.length);
      expect(new Set(viaManifest.map((r) => r.event_id)).size).toBe(viaManifest.length);
      // After the restart (the next run), also glob readers see every row exactly once.
      await compactDate(opts({ targetFileBytes: 1500 }));
      const rows = await globRows(SILVER_TRADES);
      expect(rows).toHaveLength(expected);
      expect(new Set(rows.map((r) => r.event_id)).size).toBe(expected);
      if (!crashed) break;
      // back to the old generation for the next crash point
      rmSync(join(root, 'silver'), { recursive: true });
      rmSync(join(root, 'bronze/stocks/trades/symbol=SPY', `date=${DATE}`, 'hour=15', 'part-stocks.trades.v1-p1-o00000000000000000000.parquet'));
      await compactDate(opts({ targetFileBytes: 1500 }));
      await writeBronzeWindow(store, '', 'stocks.trades.v1', 'stocks.trades.v1', 1, 0n, Array.from({ length: 40 }, (_, i) => bronzeStockTrade(700 + i, T0 + BigInt(700 + i) * S)));
      expect(crashAt).toBeLessThan(50);
    }
  });

  it('--dataset limits the run; an unknown dataset or a bad date is refused naming it', async () => {
    await bronzeWithDuplicates();
    await writeBronzeWindow(store, '', 'options.trades.v1', 'options.trades.v1', 0, 0n, [bronzeOptionTrade(1, T0, CALL)]);
    const sum = await compactDate(opts({ datasets: ['options.trades.v1'] }));
    expect(sum.partitions).toBe(1);
    expect(await store.list('silver/stocks/')).toEqual([]);
    await expect(compactDate(opts({ datasets: ['stocks.trade.v1'] }))).rejects.toThrow(/unknown dataset stocks\.trade\.v1/);
    await expect(compactDate(opts({ date: '2026-13-45' }))).rejects.toThrow(/--date must be YYYY-MM-DD/);
  });
});

describe('options.trades_enriched.v1', () => {
  it('joins each trade with its contract\'s latest snapshot at or before it, never older than the tolerance', async () => {
    const tol = 30n * S;
    const greeks = [
      bronzeGreeks(1, T0 - 100n * S, CALL, 'g1'), // too old for trades at T0+…
      bronzeGreeks(2, T0 + 10n * S, CALL, 'g2'),
      bronzeGreeks(3, T0 + 40n * S, CALL, 'g3'),
      bronzeGreeks(4, T0 + 40n * S, PUT, 'g4'),
      bronzeGreeks(4, T0 + 40n * S, PUT, 'g4'), // delivered twice
    ];
    const trades = [
      bronzeOptionTrade(0, T0 + 5n * S, CALL), // only g1 before it, 105 s old → no greeks
      bronzeOptionTrade(1, T0 + 20n * S, CALL), // g2, 10 s old
      bronzeOptionTrade(2, T0 + 39n * S, CALL), // g2 (g3 is later: no look-ahead), 29 s old
      bronzeOptionTrade(3, T0 + 45n * S, CALL), // g3
      bronzeOptionTrade(4, T0 + 45n * S, PUT), // g4
      bronzeOptionTrade(5, T0 + 80n * S, PUT), // g4 is 40 s old → none
    ];
    await writeBronzeWindow(store, '', 'options.greeks_snapshots.v1', 'options.greeks_snapshots.v1', 0, 0n, greeks);
    await writeBronzeWindow(store, '', 'options.trades.v1', 'options.trades.v1', 0, 0n, trades);
    const sum = await compactDate(opts({ enrichToleranceNs: tol }));
    expect(sum).toMatchObject({ enriched_rows: 6, joined: 4 });
    const dir = `${ENRICHED_PATH}/underlying=SPY/date=${DATE}/hour=15`;
    const rows = await globRows(dir, ENRICHED_COLUMNS);
    expect(rows.map((r) => r.greeks_snapshot_id)).toEqual([null, 'g2', 'g2', 'g3', 'g4', null]);
    const snapTs = new Map(greeks.map((g) => [g.snapshot_id as string, g.ts_event_ns]));
    for (const r of rows) {
      expect(r.join_tolerance_ns).toBe(tol);
      if (r.greeks_snapshot_id === null) {
        expect([r.delta, r.gamma, r.delta_notional, r.gamma_notional]).toEqual([null, null, null, null]);
        continue;
      }
      const age = (r.ts_event_ns as bigint) - snapTs.get(r.greeks_snapshot_id as string)!;
      expect(age >= 0n && age <= tol).toBe(true);
      const g = greeks.find((x) => x.snapshot_id === r.greeks_snapshot_id)!;
      expect(r.delta).toBe(g.delta);
      expect(r.delta_notional).toBeCloseTo((g.delta as number) * (r.size as number) * 100, 9);
      expect(r.gamma_notional).toBeCloseTo((g.gamma as number) * (r.size as number) * 100, 9);
    }
    const m = parseManifest('m', (await store.get(`${dir}/${MANIFEST_NAME}`))!);
    expect(m).toMatchObject({ dataset: 'options.trades_enriched.v1', join_tolerance_ns: tol.toString(), joined: 4 });
    // The greeks snapshots are Silver too, deduped.
    expect(await globRows(`silver/options/greeks_snapshots/underlying=SPY/date=${DATE}`, BRONZE_TABLES.find((t) => t.schemaName === 'options.greeks_snapshots.v1')!.columns)).toHaveLength(4);
    // A different tolerance is a different Silver table: recomputed, not skipped.
    const again = await compactDate(opts({ enrichToleranceNs: 120n * S, datasets: ['options.trades_enriched.v1'] }));
    expect(again).toMatchObject({ up_to_date: 0, joined: 6 });
  });
});

describe('gold/features/level_features', () => {
  const ticks = (from: number, to: number) =>
    Array.from({ length: to - from }, (_, k) => from + k).flatMap((t) => ['ROUND_600', 'VWAP', 'HVL'].map((level_id, j) => sampleSignalRow(t * 3 + j, T0 + BigInt(t) * 250_000_000n, { level_id })));

  it('one row per level per tick with every numeric feature, even when two runs wrote the same ticks; rerun changes nothing', async () => {
    await writeGoldWindow(store, '', 'levels.signals.v1', 0, 0n, ticks(0, 40));
    // Another run (e.g. a demo into the same lake) wrote ticks 30..59: 10 ticks overlap.
    await writeGoldWindow(store, '', 'other.levels.signals.v1', 0, 0n, ticks(30, 60));
    const sum = await compactDate(opts({ datasets: ['level_features'] }));
    expect(sum).toMatchObject({ partitions: 1, feature_rows: 60 * 3, duplicates: 10 * 3 });
    const dir = `${LEVEL_FEATURES_PATH}/underlying=SPY/date=${DATE}/hour=15`;
    const columns = levelFeatureColumns(LEVEL_FEATURE_NAMES);
    const rows = await globRows(dir, columns);
    expect(rows).toHaveLength(180);
    expect(new Set(rows.map((r) => `${r.ts_event_ns}|${r.level_id}`)).size).toBe(180);
    const src = ticks(0, 60);
    for (const r of rows) {
      const s = src.find((x) => x.ts_event_ns === r.ts_event_ns && x.level_id === r.level_id)! as unknown as Record<string, unknown>;
      expect(r.session).toBe('2026-01-06');
      expect(r.level_kind).toBe(s.level_kind);
      for (const f of LEVEL_FEATURE_NAMES) expect([f, r[f]]).toEqual([f, typeof s[f] === 'boolean' ? (s[f] ? 1 : 0) : s[f]]);
    }
    // The columns are the dictionary's numeric/boolean features and outputs, raw and smoothed.
    expect(LEVEL_FEATURE_NAMES).toEqual(FEATURES.filter((f) => f.role !== 'key' && f.role !== 'text' && (f.kind === 'numeric' || f.kind === 'boolean')).map((f) => f.name));
    expect(LEVEL_FEATURE_NAMES).toEqual(expect.arrayContaining(['break_score_raw', 'break_score_smooth', 'tape_velocity', 'barrier_delta_liq', 'tape_sweep_detected']));
    expect(Object.keys(rows[0]!)).toEqual(['ts_event_ns', 'underlying', 'session', 'level_id', 'level_kind', ...LEVEL_FEATURE_NAMES]);
    const before = await snapshot();
    expect(await compactDate(opts({ datasets: ['level_features'] }))).toMatchObject({ up_to_date: 1, files_written: 0 });
    expect(await snapshot()).toEqual(before);
    // A different feature list is a different table: rewritten.
    expect(await compactDate(opts({ datasets: ['level_features'], features: ['break_score_raw'] }))).toMatchObject({ up_to_date: 0 });
    expect(Object.keys((await globRows(dir, levelFeatureColumns(['break_score_raw'])))[0]!)).toEqual(['ts_event_ns', 'underlying', 'session', 'level_id', 'level_kind', 'break_score_raw']);
  });

  it('refuses a feature the Gold rows do not carry, naming it', async () => {
    await writeGoldWindow(store, '', 'levels.signals.v1', 0, 0n, ticks(0, 2));
    await expect(compactDate(opts({ datasets: ['level_features'], features: ['no_such_feature'] }))).rejects.toThrow(/"no_such_feature" is not a numeric column/);
    await expect(compactDate(opts({ datasets: ['level_features'], features: ['signal'] }))).rejects.toThrow(/"signal" is not a numeric column/);
  });

  it('label columns: the outcome after each row\'s tick, read from this hour\'s and the next hour\'s spot path', async () => {
    const t0 = BigInt(Date.UTC(2026, 0, 6, 14, 59, 59)) * 1_000_000n; // ticks 0..3 in hour 14, 4.. in hour 15
    const tickNs = 250_000_000n;
    const spotAt = (t: number) => (t < 5 ? 600.3 : t < 10 ? 600.02 : 599.7);
    const rows = Array.from({ length: 20 }, (_, t) => [
      sampleSignalRow(t * 2, t0 + BigInt(t) * tickNs, { level_id: 'ROUND_600', level_price: 600, direction: 'SUPPORT', spot: spotAt(t) }),
      sampleSignalRow(t * 2 + 1, t0 + BigInt(t) * tickNs, { level_id: 'ROUND_601', level_price: 601, direction: 'RESISTANCE', spot: spotAt(t) }),
    ]).flat();
    await writeGoldWindow(store, '', 'levels.signals.v1', 0, 0n, rows);
    const labels = { monitorBand: 0.5, breakDistance: 0.25, rejectDistance: 0.2, touchBand: 0.05, horizonMs: 120_000 };
    const sum = await compactDate(opts({ datasets: ['level_features'], labels }));
    expect(sum).toMatchObject({ partitions: 2, feature_rows: 40 });
    const columns = [...levelFeatureColumns(LEVEL_FEATURE_NAMES), ...LABEL_COLUMNS];
    const h14 = await globRows(`${LEVEL_FEATURES_PATH}/underlying=SPY/date=${DATE}/hour=14`, columns);
    const h15 = await globRows(`${LEVEL_FEATURES_PATH}/underlying=SPY/date=${DATE}/hour=15`, columns);
    expect(h14).toHaveLength(8);
    const breakAt = t0 + 10n * tickNs;
    for (const r of [...h14, ...h15]) {
      const t = Number((r.ts_event_ns as bigint - t0) / tickNs);
      if (r.level_id === 'ROUND_601') expect([r.label_outcome, r.label_outcome_ts_event_ns]).toEqual(['UNRESOLVED', null]);
      // SUPPORT at 600: spot goes through it by 0.30 at tick 10 (decided in hour 15 for the hour-14 rows too)
      else expect([t, r.label_outcome, r.label_outcome_ts_event_ns]).toEqual([t, 'BREAK', t <= 10 ? breakAt : r.ts_event_ns]);
    }
    // Without labels the table has no label columns; label parameters are part of the table (a change rewrites it).
    expect(await compactDate(opts({ datasets: ['level_features'], labels: { ...labels, breakDistance: 0.5 } }))).toMatchObject({ up_to_date: 0 });
  });
});
