// `snap-engine run --input FILE.jsonl --out FILE.jsonl` end to end: its output equals the pure core (runCore) over
// the same events, line for line, and a bad input line fails with the line number and field.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultConfig, parseEventLine, runCore, simulateToJsonl } from '@snap/core';

const ROOT = join(__dirname, '..', '..');
const BIN = join(ROOT, 'services/cli/bin/snap-engine.js');
const cli = (args: string[]) => spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...process.env, LOG_LEVEL: 'warn', SNAPENGINE_PROGRESS: 'off' }, encoding: 'utf8' });

describe('snap-engine run', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'snap-run-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes one §6.4 payload per snap tick per line, identical to runCore over the file', () => {
    const lines: string[] = [];
    simulateToJsonl({ seed: 11, durationMs: 90_000 }, (l) => lines.push(l));
    const input = join(dir, 'events.jsonl');
    // A blank line in the middle is allowed and skipped.
    writeFileSync(input, [...lines.slice(0, 100), '', ...lines.slice(100)].join('\n') + '\n');
    const out = join(dir, 'payloads.jsonl');
    const r = cli(['run', '--input', input, '--out', out]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const got = readFileSync(out, 'utf8').trimEnd().split('\n');
    const want = runCore(defaultConfig(), 'SPY', lines.map((l, i) => parseEventLine(l, i + 1))).map((p) => JSON.stringify(p));
    expect(got.length).toBeGreaterThan(300); // 90 s at 250 ms ticks
    expect(got).toEqual(want);
    const first = JSON.parse(got[0]!);
    expect(Object.keys(first)).toEqual(['ts', 'ts_event_ns', 'underlying', 'spy', 'levels']);
  }, 120_000);

  it('reads CRLF files, whitespace-only lines and a last line without a newline like LF files (chunked line reader)', () => {
    const lines: string[] = [];
    simulateToJsonl({ seed: 12, durationMs: 30_000 }, (l) => lines.push(l));
    const lf = join(dir, 'lf.jsonl');
    const crlf = join(dir, 'crlf.jsonl');
    writeFileSync(lf, lines.join('\n') + '\n');
    writeFileSync(crlf, [...lines.slice(0, 50), '   ', ...lines.slice(50)].join('\r\n'));
    const outLf = join(dir, 'lf-out.jsonl');
    const outCrlf = join(dir, 'crlf-out.jsonl');
    expect(cli(['run', '--input', lf, '--out', outLf]).status).toBe(0);
    const r = cli(['run', '--input', crlf, '--out', outCrlf]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const got = readFileSync(outCrlf, 'utf8');
    expect(got.split('\n').length).toBeGreaterThan(100);
    expect(got).toBe(readFileSync(outLf, 'utf8'));
  }, 120_000);

  it('names the line and field of a bad event and exits 1', () => {
    const input = join(dir, 'bad.jsonl');
    writeFileSync(
      input,
      [
        '{"schema":"heartbeat.v1","key":"SPY","ts_event_ns":"1766415600000000000"}',
        '{"schema":"stocks.quotes.v1","ts_event_ns":"1766415600100000000","symbol":"SPY","bid_px":680,"ask_px":680.01,"bid_sz":100,"ask_sz":100}',
        '{"schema":"stocks.trades.v1","ts_event_ns":1766415600200000000,"symbol":"SPY","price":680.01,"size":100}',
      ].join('\n'),
    );
    const r = cli(['run', '--input', input, '--out', join(dir, 'bad-out.jsonl')]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/bad\.jsonl: line 3: field "ts_event_ns": JSON number beyond 2\^53/);
  }, 60_000);

  it('reports a missing input file', () => {
    const r = cli(['run', '--input', join(dir, 'nope.jsonl'), '--out', join(dir, 'x.jsonl')]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/cannot read .*nope\.jsonl/);
  }, 60_000);
});
