// The embedded default end to end: `snap-engine demo` as a user runs it (a child process, no servers), the Gold
// Parquet read back with DuckDB, and determinism across runs with the same seed.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';

const ROOT = join(__dirname, '..', '..');
const BIN = join(ROOT, 'services/cli/bin/snap-engine.js');

interface DemoReport {
  events: number;
  signal_rows: number;
  underlyings: string[];
  files: { path: string; rows: number }[];
  bronze: { run_id: string; manifest: string; objects: number } | null;
}

function demo(dataRoot: string, seed: number, opts: { duration?: string; underlyings?: string } = {}): { report: DemoReport } {
  const out = execFileSync(process.execPath, [BIN, 'demo', '--seed', String(seed), '--duration', opts.duration ?? '3m'], {
    cwd: ROOT,
    env: { ...process.env, DATA_ROOT: dataRoot, LOG_LEVEL: 'warn', UNDERLYINGS: opts.underlyings ?? 'SPY' },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return { report: JSON.parse(out) };
}

function files(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const f of readdirSync(d)) {
      const p = join(d, f);
      if (statSync(p).isDirectory()) walk(p);
      else out.push(p);
    }
  };
  walk(dir);
  return out.map((p) => p.slice(dir.length)).sort();
}

async function rows(dataRoot: string, underlying = '*'): Promise<Record<string, unknown>[]> {
  const inst = await DuckDBInstance.create(':memory:');
  const con = await inst.connect();
  try {
    const r = await con.runAndReadAll(
      `SELECT * EXCLUDE (date, hour, underlying), underlying AS u FROM read_parquet('${dataRoot}/gold/levels/signals/underlying=${underlying}/**/*.parquet', hive_partitioning = true) ORDER BY ts_event_ns, level_id`,
    );
    return r.getRowObjectsJson() as Record<string, unknown>[];
  } finally {
    con.closeSync();
    inst.closeSync();
  }
}

describe('snap-engine demo (embedded, no servers)', () => {
  const roots: string[] = [];
  const tmp = () => {
    const d = mkdtempSync(join(tmpdir(), 'snap-demo-'));
    roots.push(d);
    return d;
  };
  afterAll(() => roots.forEach((d) => rmSync(d, { recursive: true, force: true })));

  it('writes ZSTD Gold Parquet under DATA_ROOT; the same seed twice gives identical signal rows (and files)', async () => {
    const a = tmp();
    const b = tmp();
    const c = tmp();
    const ra = demo(a, 3).report;
    const rb = demo(b, 3).report;
    const rc = demo(c, 4).report;

    const fa = files(a);
    expect(fa.length).toBeGreaterThan(0);
    // Gold, plus the input events as Bronze (same layout as the lake sink) and the _meta/ run manifest and schemas.
    for (const f of fa.filter((x) => !x.startsWith('/bronze/') && !x.startsWith('/_meta/'))) expect(f).toMatch(/^\/gold\/levels\/signals\/underlying=SPY\/date=2025-12-22\/hour=15\/part-\d+-\d+\.parquet$/);
    expect(fa.filter((x) => x.startsWith('/bronze/')).length).toBe(ra.bronze!.objects);
    expect(fa).toContain(`/${ra.bronze!.manifest}`);
    expect(ra.signal_rows).toBeGreaterThan(100);

    const inst = await DuckDBInstance.create(':memory:');
    const con = await inst.connect();
    const codecs = (await con.runAndReadAll(`SELECT DISTINCT compression FROM parquet_metadata('${a}/gold/levels/signals/**/*.parquet')`)).getRowObjectsJson();
    con.closeSync();
    inst.closeSync();
    expect(codecs.map((r) => r.compression)).toEqual(['ZSTD']);

    const rowsA = await rows(a);
    const rowsB = await rows(b);
    expect(rowsA).toHaveLength(ra.signal_rows);
    expect(rowsB).toEqual(rowsA);
    // The writer embeds no wall-clock metadata, so the files themselves are byte-identical too.
    expect(files(b)).toEqual(fa);
    for (const f of fa) expect(createHash('sha256').update(readFileSync(join(b, f))).digest('hex')).toBe(createHash('sha256').update(readFileSync(join(a, f))).digest('hex'));

    // A different seed is a different market.
    expect(await rows(c)).not.toEqual(rowsA);
    expect(rc.events).not.toBe(ra.events);

    // A rerun into the same DATA_ROOT overwrites the same part files (deterministic names), adding none.
    demo(a, 3);
    expect(files(a)).toEqual(fa);
    expect(await rows(a)).toEqual(rowsA);
  }, 180_000);

  it('UNDERLYINGS=SPY,QQQ,IWM simulates all three side by side; SPY is exactly the single-underlying demo', async () => {
    const multi = tmp();
    const single = tmp();
    const rm = demo(multi, 6, { duration: '90s', underlyings: 'SPY,QQQ,IWM' }).report;
    const rs = demo(single, 6, { duration: '90s' }).report;
    expect(rm.underlyings).toEqual(['SPY', 'QQQ', 'IWM']);
    expect(rs.underlyings).toEqual(['SPY']);
    for (const u of ['SPY', 'QQQ', 'IWM']) {
      const r = await rows(multi, u);
      expect(r.length).toBeGreaterThan(50);
      expect(new Set(r.map((x) => x.u))).toEqual(new Set([u]));
    }
    // QQQ trades around its own price, not SPY's.
    const qqq = await rows(multi, 'QQQ');
    expect(Math.abs(Number(qqq[0]!.spot) - 612.43)).toBeLessThan(10);
    expect(await rows(multi, 'SPY')).toEqual(await rows(single, 'SPY'));
    expect(rm.events).toBeGreaterThan(2 * rs.events);
  }, 180_000);
});
