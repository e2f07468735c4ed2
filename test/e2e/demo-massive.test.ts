// `snap-engine demo --feed massive-fake`: the live Massive path on one machine — a fake Massive server over real
// sockets, the real MassiveFeed, the in-process bus — into the same core and Gold Parquet as the simulator demo.
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
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

// `massive fake-server` with a plan's gaps (no chain snapshot, no option quotes) and `massive check` against it: the
// check names each missing entitlement with its cost and exits 1; against a fully entitled fake it exits 0.
async function withFakeServer<T>(flags: string[], body: (e: { ws_stocks_url: string; ws_options_url: string; rest_url: string }) => Promise<T>): Promise<T> {
  const child = spawn(process.execPath, [BIN, 'massive', 'fake-server', '--port', '0', '--interval-ms', '20', '--api-key', 'e2e-check-key', ...flags], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LOG_LEVEL: 'warn' } });
  try {
    let out = '';
    const endpoints = await new Promise<{ ws_stocks_url: string; ws_options_url: string; rest_url: string }>((resolve, reject) => {
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const nl = out.indexOf('\n');
        if (nl >= 0) resolve(JSON.parse(out.slice(0, nl)));
      });
      child.once('exit', (code) => reject(new Error(`fake-server exited early (${code})`)));
    });
    return await body(endpoints);
  } finally {
    child.kill('SIGTERM');
    if (child.exitCode === null) await once(child, 'close');
  }
}

async function check(e: { ws_stocks_url: string; ws_options_url: string; rest_url: string }): Promise<{ code: number; report: { status: string; health: { rest: string; entitlements: { issue: string; cost: string }[] } } }> {
  const run = promisify(execFile);
  const args = [BIN, 'massive', 'check', '--duration', '4s', '--stocks-url', e.ws_stocks_url, '--options-url', e.ws_options_url, '--rest-url', e.rest_url];
  const env = { ...process.env, MASSIVE_API_KEY: 'e2e-check-key', LOG_LEVEL: 'error' };
  try {
    const { stdout } = await run(process.execPath, args, { cwd: ROOT, env, encoding: 'utf8' });
    return { code: 0, report: JSON.parse(stdout) };
  } catch (err) {
    const x = err as { code: number; stdout: string };
    return { code: x.code, report: JSON.parse(x.stdout) };
  }
}

it('massive check reports a plan without chain access and option quotes (exit 1), and a complete plan as ok (exit 0)', async () => {
  const gaps = await withFakeServer(['--no-chain', '--no-option-quotes'], check);
  expect(gaps.code).toBe(1);
  expect(gaps.report.status).toBe('degraded');
  expect(gaps.report.health.rest).toBe('forbidden');
  expect(gaps.report.health.entitlements.map((x) => x.issue).sort()).toEqual(['no_chain_access', 'no_option_quotes']);
  const full = await withFakeServer([], check);
  expect(full.report.status).toBe('ok');
  expect(full.code).toBe(0);
}, 90_000);
