// Issue 13, a newcomer on their own data: ES DBN files alone name the missing SPY inputs and exit non-zero; the
// docs/data.md walkthrough (its `sh walkthrough` block, run line by line) ends with signals; a failed run leaves no
// output file; a gateway without a broker says so in one line; usage errors exit 2.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseEventLine } from '@snap/core';

const ROOT = join(__dirname, '..', '..');
const BIN = join(ROOT, 'services/cli/bin/snap-engine.js');

describe('a newcomer on their own data', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  const cli = (args: string[], extraEnv: NodeJS.ProcessEnv = {}) =>
    spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...env, ...extraEnv }, encoding: 'utf8', timeout: 240_000 });
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'snap-newcomer-'));
    // Bronze and any lake output of the runs go to the temp dir; stderr is not a TTY, so progress is JSON lines.
    env = { ...process.env, LOG_LEVEL: 'warn', DATA_ROOT: join(dir, 'lake') };
    delete env.SNAPENGINE_PROGRESS;
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('run on DBN-only input exits 1, names the missing SPY inputs with the fix, and writes no output file', () => {
    const es = join(dir, 'es-only.jsonl');
    const feed = cli(['feed', 'dbn', 'dbn-data/glbx-mdp3-20260115.mbp-10.dbn.zst', 'dbn-data/glbx-mdp3-20260115.trades.dbn.zst', '--out', es]);
    expect(feed.status).toBe(0);
    const out = join(dir, 'es-only-payloads.jsonl');
    const r = cli(['run', '--input', es, '--out', out]);
    expect(r.status).toBe(1);
    const lines = r.stderr.split('\n');
    const quotes = lines.filter((l) => l.startsWith('snap-engine run: no stocks.quotes.v1 for SPY:'));
    expect(quotes).toHaveLength(1);
    expect(quotes[0]).toContain('need SPY quotes');
    expect(quotes[0]).toContain('docs/data.md');
    expect(lines.filter((l) => l.startsWith('snap-engine run: no stocks.trades.v1 for SPY:'))).toHaveLength(1);
    expect(r.stderr).toMatch(/no payload produced: a required input is missing \(stocks\.quotes\.v1 for SPY\)/);
    const summary = JSON.parse(lines.find((l) => l.startsWith('{"summary":"run"'))!);
    expect(summary).toMatchObject({ payloads: 0, input_issues: 4 });
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(dir).filter((f) => f.includes('es-only-payloads'))).toEqual([]);
    // The same with the MBP-10 barrier: the ES book is there, the SPY quotes still are not.
    const mbp = cli(['run', '--input', es, '--out', out, '--no-bronze'], { SNAP_BARRIER_SOURCE: 'mbp10' });
    expect(mbp.status).toBe(1);
    expect(mbp.stderr).toMatch(/no stocks\.quotes\.v1 for SPY: .*the ES basis of the MBP-10 barrier/);
    expect(mbp.stderr).not.toMatch(/no futures\.mbp10\.v1/);
  }, 300_000);

  it('the docs/data.md walkthrough runs on the shipped sample files and produces signals', () => {
    const doc = readFileSync(join(ROOT, 'docs/data.md'), 'utf8');
    const block = /```sh walkthrough\n([\s\S]*?)```/.exec(doc);
    expect(block).not.toBeNull();
    const steps = block![1]!.trim().split('\n');
    expect(steps.length).toBeGreaterThanOrEqual(3);
    const work = join(dir, 'walkthrough');
    for (const step of steps) {
      expect(step.startsWith('npx snap-engine ')).toBe(true);
      const args = step.slice('npx snap-engine '.length).split(/\s+/).map((a) => a.replace(/^out\/walkthrough\//, `${work}/`));
      const r = cli(args);
      if (r.status !== 0) throw new Error(`walkthrough step failed (exit ${r.status}): ${step}\n${r.stderr}`);
    }
    const payloads = readFileSync(join(work, 'payloads.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(payloads.length).toBeGreaterThan(1000); // 10 minutes at 250 ms ticks
    const shown = payloads.flatMap((p) => p.levels.map((l: { signal: string }) => l.signal)).filter((s: string) => s === 'BREAK' || s === 'REJECT');
    expect(shown.length).toBeGreaterThan(0);
    // Every input the engines need was there: no diagnostics.
    const last = cli(['run', '--input', join(work, 'all.jsonl'), '--out', join(work, 'again.jsonl'), '--no-bronze']);
    expect(last.status).toBe(0);
    expect(last.stderr).not.toMatch(/snap-engine run: no /);
    expect(JSON.parse(last.stderr.split('\n').find((l) => l.startsWith('{"summary":"run"'))!)).toMatchObject({ input_issues: 0, payloads: payloads.length });
  }, 600_000);

  it('every example line of the docs/data.md input contract parses', () => {
    const doc = readFileSync(join(ROOT, 'docs/data.md'), 'utf8');
    const lines = /```jsonl\n([\s\S]*?)```/.exec(doc)![1]!.trim().split('\n');
    expect(lines.map((l, i) => parseEventLine(l, i + 1).schema)).toEqual([
      'stocks.quotes.v1',
      'stocks.trades.v1',
      'options.trades.v1',
      'options.greeks_snapshots.v1',
      'futures.trades.v1',
      'futures.mbp10.v1',
      'heartbeat.v1',
    ]);
  });

  it('a failed run leaves no output file and keeps an earlier one', () => {
    const input = join(dir, 'bad.jsonl');
    writeFileSync(input, '{"schema":"stocks.quotes.v1","ts_event_ns":"1766415600100000000","symbol":"SPY","bid_px":680,"ask_px":680.01,"bid_sz":100,"ask_sz":100}\n{"schema":"stocks.trades.v1","ts_event_ns":"oops"}\n');
    const out = join(dir, 'failed', 'payloads.jsonl');
    const r = cli(['run', '--input', input, '--out', out, '--no-bronze']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/bad\.jsonl: line 2/);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(join(dir, 'failed'))).toEqual([]);
    writeFileSync(out, 'earlier\n');
    expect(cli(['run', '--input', input, '--out', out, '--no-bronze']).status).toBe(1);
    expect(readFileSync(out, 'utf8')).toBe('earlier\n');
  }, 120_000);

  it('gateway with no broker prints one line naming the address and the fix, and exits 1', async () => {
    const srv = createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    const port = (srv.address() as { port: number }).port;
    await new Promise((r) => srv.close(r));
    const r = cli(['gateway', '--port', '0'], { KAFKA_BROKERS: `127.0.0.1:${port}` });
    expect(r.status).toBe(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toEqual([expect.stringMatching(new RegExp(`^snap-engine gateway: cannot reach Kafka at 127\\.0\\.0\\.1:${port} \\(connection refused\\): start the local stack with \`scripts/stack up\``))]);
    expect(lines[0]).toContain('snap-engine demo');
  }, 60_000);

  it('usage errors exit 2 in every command', () => {
    expect(cli(['run', '--input', 'x', '--out', 'y', '--tz', 'Mars/Olympus']).status).toBe(2);
    expect(cli(['demo', '--seed', 'abc']).status).toBe(2);
    expect(cli(['feed', 'sim']).status).toBe(2);
    const convert = cli(['convert', '--from', 'csv', 'docs/data/sample/spy-trades.csv.gz', '--out', join(dir, 'x.jsonl')]);
    expect(convert.status).toBe(2);
    expect(convert.stderr).toMatch(/needs --schema/);
  }, 120_000);
});
