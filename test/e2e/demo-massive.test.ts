// `snap-engine demo --feed massive-fake`: the live Massive path on one machine — a fake Massive server over real
// sockets, the real MassiveFeed, the in-process bus — into the same core and Gold Parquet as the simulator demo.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const ROOT = join(__dirname, '..', '..');
const BIN = join(ROOT, 'services/cli/bin/snap-engine.js');

it('runs the live Massive adapter against the fake server into signals and Parquet, with nothing dead-lettered', async () => {
  const dataRoot = mkdtempSync(join(tmpdir(), 'demo-massive-'));
  try {
    const { stdout } = await promisify(execFile)(process.execPath, [BIN, 'demo', '--feed', 'massive-fake', '--duration', '6s'], {
      cwd: ROOT,
      env: { ...process.env, DATA_ROOT: dataRoot, LOG_LEVEL: 'warn' },
      encoding: 'utf8',
    });
    const report = JSON.parse(stdout) as { feed: string; events: number; dead_letters: number; payloads: number; signal_rows: number; files: { path: string; rows: number }[] };
    expect(report.feed).toBe('massive-fake');
    expect(report.events).toBeGreaterThan(20);
    expect(report.dead_letters).toBe(0);
    expect(report.payloads).toBeGreaterThan(5);
    expect(report.signal_rows).toBeGreaterThan(0);
    expect(report.files.reduce((n, f) => n + f.rows, 0)).toBe(report.signal_rows);
    for (const f of report.files) expect(existsSync(f.path)).toBe(true);
  } finally {
    rmSync(dataRoot, { recursive: true, force: true });
  }
}, 60_000);
