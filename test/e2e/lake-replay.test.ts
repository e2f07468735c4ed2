// The embedded run writes Bronze beside Gold, and `snap-engine replay --from-lake DIR --out FILE.jsonl` (no Kafka)
// replays it to the run's own signals: the parity report against the run's payloads is IDENTICAL (exit 0).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simulateToJsonl, toSignalRows, type LevelPhysicsPayload } from '@snap/core';
import { canonicalRow } from '@snap/processor';

const ROOT = join(__dirname, '..', '..');
const BIN = join(ROOT, 'services/cli/bin/snap-engine.js');
const cli = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...process.env, LOG_LEVEL: 'warn', ...env }, encoding: 'utf8' });

/** The run's payload lines as canonical signal rows (what --out writes, one per line). */
const canonicalFromPayloads = (path: string) =>
  readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .flatMap((l) => toSignalRows(JSON.parse(l) as LevelPhysicsPayload).map((r) => canonicalRow(r)));

describe('replay --from-lake over the Bronze of an embedded run', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'e2e-lake-replay-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('demo → Bronze + manifest; replay --from-lake --out gives the demo signals byte for byte (parity IDENTICAL)', () => {
    const lake = join(dir, 'demo-lake');
    const payloads = join(dir, 'demo-payloads.jsonl');
    const d = cli(['demo', '--seed', '4', '--duration', '2m', '--payloads', payloads], { DATA_ROOT: lake });
    expect(d.status).toBe(0);
    const report = JSON.parse(d.stdout) as { bronze: { run_id: string; manifest: string; objects: number } };
    expect(report.bronze.objects).toBeGreaterThan(0);
    expect(existsSync(join(lake, report.bronze.manifest))).toBe(true);
    expect(readdirSync(join(lake, 'bronze'))).toEqual(expect.arrayContaining(['stocks', 'options', 'futures', 'heartbeats']));

    const out = join(dir, 'demo-replayed.jsonl');
    const r = cli(['replay', '--from-lake', lake, '--underlying', 'SPY', '--out', out, '--parity-against', payloads]);
    expect([r.status, r.stderr.slice(-2000)]).toEqual([0, expect.any(String)]);
    expect(r.stdout).toContain('parity: IDENTICAL');
    expect(r.stdout).toContain(`run ${report.bronze.run_id} (demo, 1 manifest(s)): code snap-engine@`);
    expect(r.stderr).toMatch(/"progress":"replay --from-lake: reading/);
    const replayed = readFileSync(out, 'utf8').split('\n').filter(Boolean);
    expect(replayed.length).toBeGreaterThan(500);
    expect(replayed).toEqual(canonicalFromPayloads(payloads));
  }, 180_000);

  it('run --input → Bronze under DATA_ROOT; a time slice replays to the same slice of the run; --no-bronze writes none', () => {
    const lines: string[] = [];
    simulateToJsonl({ seed: 12, durationMs: 90_000 }, (l) => lines.push(l));
    const input = join(dir, 'events.jsonl');
    writeFileSync(input, lines.join('\n') + '\n');
    const lake = join(dir, 'run-lake');
    const runOut = join(dir, 'run-out.jsonl');
    expect(cli(['run', '--input', input, '--out', runOut], { DATA_ROOT: lake }).status).toBe(0);
    const all = canonicalFromPayloads(runOut);
    const ticks = [...new Set(all.map((l) => (JSON.parse(l) as { ts_event_ns: string }).ts_event_ns))];
    const from = ticks[10]!;
    const to = ticks[ticks.length - 10]!;
    const out = join(dir, 'run-replayed.jsonl');
    const r = cli(['replay', '--from-lake', lake, '--from', from, '--to', to, '--out', out, '--parity-against', runOut, '--json']);
    expect([r.status, r.stderr.slice(-2000)]).toEqual([0, expect.any(String)]);
    const summary = JSON.parse(r.stdout) as { found_by: string; parity: { identical: boolean; compared: number }; runs: { command: string }[] };
    expect(summary.found_by).toBe('manifest');
    expect(summary.runs.map((x) => x.command)).toEqual(['run']);
    expect(summary.parity.identical).toBe(true);
    const slice = all.filter((l) => {
      const t = BigInt((JSON.parse(l) as { ts_event_ns: string }).ts_event_ns);
      return t >= BigInt(from) && t <= BigInt(to);
    });
    expect(summary.parity.compared).toBe(slice.length);
    expect(readFileSync(out, 'utf8').split('\n').filter(Boolean)).toEqual(slice);

    const none = join(dir, 'no-bronze-lake');
    expect(cli(['run', '--input', input, '--out', join(dir, 'x.jsonl'), '--no-bronze'], { DATA_ROOT: none }).status).toBe(0);
    expect(existsSync(join(none, 'bronze'))).toBe(false);
  }, 180_000);

  it('usage errors exit 2 naming the option; an empty lake exits 1 naming it', () => {
    const both = cli(['replay', '--from-lake', dir, '--out', join(dir, 'a.jsonl'), '--to-topic', 'x']);
    expect(both.status).toBe(2);
    expect(both.stderr).toMatch(/exactly one of --to-topic or --out/);
    const tz = cli(['replay', '--from-lake', dir, '--out', join(dir, 'a.jsonl'), '--from', '2025-12-22T10:00:00']);
    expect(tz.status).toBe(2);
    expect(tz.stderr).toMatch(/--from: .* has no zone/);
    const noLake = cli(['replay', '--from-time', '2025-12-22T15:00:00Z', '--to-topic', 'x', '--out', join(dir, 'c.jsonl')]);
    expect(noLake.status).toBe(2);
    expect(noLake.stderr).toMatch(/--out needs --from-lake/);
    const empty = mkdtempSync(join(dir, 'empty-'));
    const e = cli(['replay', '--from-lake', empty, '--out', join(dir, 'b.jsonl')]);
    expect(e.status).toBe(1);
    expect(e.stderr).toMatch(/no bronze input data for SPY in .*empty-/);
  }, 60_000);
});
