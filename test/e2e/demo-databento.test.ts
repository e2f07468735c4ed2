// `snap-engine demo --feed databento-fake` (issue 10): the ES book and trades travel the Databento live path — DBN
// records served by the fake gateway over a local TCP socket, the live client (CRAM auth, subscriptions, in-stream
// symbol mappings), the feed's normalizer — beside the simulated SPY feed, into the core with barrier.source=mbp10.
// No servers, no key, no internet.
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const ROOT = join(__dirname, '..', '..');
const BIN = join(ROOT, 'services/cli/bin/snap-engine.js');

interface Level {
  id: string;
  barrier: { state: string };
  note: string;
}

it('runs the MBP-10 barrier on ES data received over the Databento live protocol, nothing dead-lettered', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'demo-databento-'));
  try {
    const payloads = join(dir, 'payloads.jsonl');
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [BIN, 'demo', '--feed', 'databento-fake', '--duration', '60s', '--payloads', payloads, '--no-bronze'], {
      cwd: ROOT,
      env: { ...process.env, DATA_ROOT: join(dir, 'lake'), LOG_LEVEL: 'info' },
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    });
    const report = JSON.parse(stdout) as { feed: string; events: number; dead_letters: number; payloads: number; signal_rows: number; files: { path: string; rows: number }[] };
    expect(report.feed).toBe('databento-fake');
    expect(report.dead_letters).toBe(0);
    expect(report.signal_rows).toBeGreaterThan(0);
    for (const f of report.files) expect(existsSync(f.path)).toBe(true);
    // The ES data really came over the live protocol: a session, the in-stream mapping of ES.c.0, the end of the replay.
    expect(stderr).toMatch(/databento-fake: ES MBP-10 \+ trades over the Databento live protocol from the fake gateway at 127\.0\.0\.1:\d+/);
    expect(stderr).toMatch(/"msg":"databento live session started"/);
    expect(stderr).toMatch(/"msg":"databento symbol resolved","name":"databento-feed","requested":"ES.c.0"/);
    expect(stderr).toMatch(/"msg":"databento replay completed"/);
    // MBP-10 barrier states: the book moved states away from NEUTRAL, and levels outside the ES top-10 are named so
    // (a caveat only the MBP-10 barrier raises).
    const levels = readFileSync(payloads, 'utf8').trim().split('\n').flatMap((l) => (JSON.parse(l) as { levels: Level[] }).levels);
    const states = new Set(levels.map((l) => l.barrier.state));
    expect([...states].filter((s) => s !== 'NEUTRAL').length).toBeGreaterThan(0);
    expect(levels.some((l) => l.note.includes('ES top-10'))).toBe(true);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 180_000);

it('serves the dashboard with the MBP-10 barrier states of the databento-fake feed', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'demo-databento-serve-'));
  const child = spawn(process.execPath, [BIN, 'demo', '--feed', 'databento-fake', '--duration', '40s', '--speed', '40', '--serve', '0', '--no-bronze'], {
    cwd: ROOT,
    env: { ...process.env, DATA_ROOT: join(dir, 'lake'), LOG_LEVEL: 'warn' },
  });
  let stderr = '';
  let stdout = '';
  child.stdout.on('data', (d) => (stdout += d));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  try {
    const url = await new Promise<string>((resolve, reject) => {
      child.stderr.on('data', (d) => {
        stderr += d;
        const m = /^simulation finished; the dashboard keeps showing the last tick at (http:\/\/\S+) /m.exec(stderr);
        if (m) resolve(m[1]!);
      });
      void exited.then((code) => reject(new Error(`demo exited ${code} before finishing:\n${stderr.slice(-3000)}`)));
    });
    const page = await fetch(url);
    expect(page.status).toBe(200);
    const api = (await (await fetch(`${url}api/levels?underlying=SPY`)).json()) as { ts: number; levels: Level[] };
    expect(api.ts).toBeGreaterThan(0);
    expect(api.levels.length).toBeGreaterThan(0);
    for (const l of api.levels) expect(typeof l.barrier.state).toBe('string');
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    expect((JSON.parse(stdout) as { feed: string }).feed).toBe('databento-fake');
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}, 180_000);
