// Lake freshness (issue 16): with the lake sink running on a live simulated feed (event time = wall clock, ×1) and
// the processor, a Gold row is readable in the lake within 60 s of its tick. The sink's windows close by event-time
// age (lake.max_file_age_ms, default 30 s; windows.ts), so no partial flushes are involved. Real Kafka, real CLI
// processes; the lake is polled, no fixed sleeps.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SIGNAL_ROW_COLUMNS, createKafka, createLogger, loadConfig, readParquetRows } from '@snap/platform';
import { runCli, startCli, until, type CliProcess } from './support';

jest.setTimeout(400_000);

const run = randomBytes(4).toString('hex');
const P = `t-lake-fresh-${run}-`;
const root = mkdtempSync(join(tmpdir(), 'it-lake-fresh-'));
const env: Record<string, string> = {
  TOPIC_PREFIX: P,
  SNAP_KAFKA_PARTITIONS: '1',
  SNAP_KAFKA_GROUP_ID: `${P}processor`,
  SNAP_KAFKA_TRANSACTIONAL_ID_PREFIX: `${P}processor`,
  SNAP_LAKE_SINK_GROUP_ID: `${P}lake`,
  SNAP_LAKE_SINK_TIERS: 'gold',
  SNAP_HTTP_PORT: '0',
  UNDERLYINGS: 'SPY',
  DATA_ROOT: root,
  LOG_LEVEL: 'info',
};

function parquetFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    let names: string[];
    try {
      names = readdirSync(d);
    } catch {
      return;
    }
    for (const n of names) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else if (n.endsWith('.parquet') && !n.startsWith('.')) out.push(p);
    }
  };
  walk(dir);
  return out;
}

const procs: CliProcess[] = [];
afterAll(async () => {
  for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGTERM');
  await Promise.all(procs.map((p) => p.done));
  const cfg = loadConfig({ env: { ...process.env, ...env } });
  const admin = createKafka(cfg, { logger: createLogger({ write: () => undefined }) }).admin();
  await admin.connect();
  await admin.deleteGroups([`${P}processor`, `${P}lake`]).catch(() => undefined);
  await admin.deleteTopics({ topics: (await admin.listTopics()).filter((t) => t.startsWith(P)) }).catch(() => undefined);
  await admin.disconnect();
  rmSync(root, { recursive: true, force: true });
});

it('a Gold row is in the lake within 60 s of its tick while the sink is caught up (default lake.max_file_age_ms)', async () => {
  const applied = await runCli(['topics', 'apply'], env);
  expect(applied.code).toBe(0);
  const processor = startCli(['processor'], env);
  const sink = startCli(['sink', 'lake', '--target', 'local'], env);
  procs.push(processor, sink);
  await until(() => sink.out().includes('partitions assigned'), 'the lake sink to be assigned its partitions', 120_000, 100);
  await until(() => processor.out().includes('partitions assigned') || processor.out().includes('assigned'), 'the processor to be assigned', 120_000, 100);
  // Event time = wall clock from now on, ×1.
  const feed = startCli(['feed', 'sim', '--underlying', 'SPY', '--seed', '7', '--duration', '100s', '--speed', '1', '--start', new Date().toISOString()], env);
  procs.push(feed);

  const seen = new Map<string, { at: number; minTsMs: number; maxTsMs: number; rows: number }>();
  const gold = join(root, 'gold', 'levels', 'signals');
  // Three objects: the first (holding the session's first ticks, which wait longest) and two full age windows.
  await until(
    () => {
      for (const f of parquetFiles(gold)) {
        if (seen.has(f)) continue;
        const at = Date.now();
        const rows = readParquetRows(readFileSync(f), SIGNAL_ROW_COLUMNS, f);
        const ts = rows.map((r) => Number((r.ts_event_ns as bigint) / 1_000_000n));
        seen.set(f, { at, minTsMs: Math.min(...ts), maxTsMs: Math.max(...ts), rows: rows.length });
      }
      if (feed.child.exitCode !== null && feed.child.exitCode !== 0) throw new Error(`feed sim exited ${feed.child.exitCode}: ${feed.out().slice(-2000)}`);
      return seen.size >= 3;
    },
    'three Gold objects from the live feed',
    240_000,
    200,
  );
  const objects = [...seen.values()];
  const lagS = objects.map((o) => (o.at - o.minTsMs) / 1000);
  process.stdout.write(`lake freshness: ${objects.length} Gold objects, oldest-row age when readable ${lagS.map((x) => x.toFixed(1)).join(', ')} s\n`);
  for (const o of objects) expect(o.rows).toBeGreaterThan(0);
  // Every row of every object was readable within 60 s of its tick (the oldest row of an object waited longest).
  expect(Math.max(...lagS)).toBeLessThanOrEqual(60);
});
