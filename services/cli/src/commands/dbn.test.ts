// The real CLI, spawned as a process, on Databento's fixture files and on the committed simulated sample.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '../../../..');
const BIN = join(ROOT, 'services/cli/bin/snap-engine.js');
const FIXTURES = process.env.DBN_FIXTURES ?? resolve(ROOT, '../shared/dbn-fixtures');

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((res) => {
    execFile(process.execPath, [BIN, ...args], { cwd: ROOT, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      res({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

// Each test spawns the CLI (start-up alone takes seconds on a loaded machine): no test here may hit jest's 5 s default.
jest.setTimeout(120_000);

describe('snap-engine dbn dump', () => {
  it('--json prints the metadata then one JSON object per record with Databento field names', async () => {
    const r = await cli(['dbn', 'dump', '--json', join(FIXTURES, 'test_data.mbp-10.v3.dbn.zst')]);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatchObject({ version: 3, dataset: 'GLBX.MDP3', schema: 'mbp-10', start: '1609160400000000000', limit: '2', symbols: ['ESH1'] });
    expect(lines[1]).toMatchObject({
      rtype: 10, publisher_id: 1, instrument_id: 5482, ts_event: '1609160400000429831', ts_recv: '1609160400000704060', action: 'C', side: 'A',
      flags: 128, depth: 9, price: '3722750000000', size: 1, sequence: 1170352, ts_in_delta: 22993,
    });
    expect(lines[1].levels).toHaveLength(10);
    expect(lines[1].levels[0]).toEqual({ bid_px: '3720250000000', ask_px: '3720500000000', bid_sz: 24, ask_sz: 10, bid_ct: 15, ask_ct: 8 });
    expect(lines[2]).toMatchObject({ side: 'B', depth: 1, sequence: 1170356 });
  });

  it('prints the good records of a truncated file, then the offset error on stderr, exit 1', async () => {
    const r = await cli(['dbn', 'dump', '--json', join(FIXTURES, 'edge/trunc.dbn')]);
    expect(r.code).toBe(1);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(JSON.parse(lines[1]!)).toMatchObject({ sequence: 1170352 });
    expect(r.stderr).toContain('TRUNCATED at byte offset 721');
  });

  it('rejects a non-DBN file and an unknown version with clear errors', async () => {
    const bad = await cli(['dbn', 'dump', join(FIXTURES, 'edge/bad.dbn')]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toContain('BAD_HEADER at byte offset 0');
    const v4 = await cli(['dbn', 'dump', join(FIXTURES, 'edge/v4.dbn')]);
    expect(v4.code).toBe(1);
    expect(v4.stderr).toContain('DBN version 4 is not supported');
  });

  it('without --json prints readable lines, ts_out included for a ts_out file', async () => {
    const r = await cli(['dbn', 'dump', join(FIXTURES, 'edge/tsout.dbn')]);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^# \{"version":3/);
    expect(lines[1]).toBe('1609160400098821953 2020-12-28 13:00:00.098 UTC rtype=0x00 pub=1 iid=5482 trade T/A 5@3720.25 flags=0x81 seq=1170380 ts_out=1609160400200000000');
    expect(lines).toHaveLength(3);
  });
});

describe('snap-engine dbn simulate', () => {
  it('reproduces the committed dbn-data sample byte for byte, and dump reads it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dbn-sim-'));
    try {
      const r = await cli(['dbn', 'simulate', '--seed', '1', '--duration', '10m', '--out', dir]);
      expect(r.code).toBe(0);
      const summary = JSON.parse(r.stdout.trim());
      expect(summary).toMatchObject({ mbp10_records: 16204, trades_records: 3130 });
      for (const f of ['glbx-mdp3-20260115.mbp-10.dbn.zst', 'glbx-mdp3-20260115.trades.dbn.zst']) {
        expect(readFileSync(join(dir, f)).equals(readFileSync(join(ROOT, 'dbn-data', f)))).toBe(true);
      }
      const dump = await cli(['dbn', 'dump', '--json', '--limit', '3', join(ROOT, 'dbn-data/glbx-mdp3-20260115.trades.dbn.zst')]);
      expect(dump.code).toBe(0);
      const lines = dump.stdout.trim().split('\n').map((l) => JSON.parse(l));
      expect(lines[0]).toMatchObject({ dataset: 'GLBX.MDP3', schema: 'trades', stype_in: 'continuous', symbols: ['ES.c.0'] });
      expect(lines).toHaveLength(4);
      expect(lines[1]).toMatchObject({ rtype: 0, instrument_id: 42140878, action: 'T' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('--source market writes ES files from core/sim that dump decodes to the end', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dbn-sim-'));
    try {
      const r = await cli(['dbn', 'simulate', '--source', 'market', '--seed', '5', '--duration', '20s', '--out', dir]);
      expect(r.code).toBe(0);
      const summary = JSON.parse(r.stdout.trim());
      expect(summary.mbp10_records).toBeGreaterThan(20);
      expect(summary.trades_records).toBeGreaterThan(5);
      const dump = await cli(['dbn', 'dump', '--json', join(dir, 'glbx-mdp3-20260115.mbp-10.dbn.zst')]);
      expect(dump.code).toBe(0);
      const lines = dump.stdout.trim().split('\n').map((l) => JSON.parse(l));
      expect(lines).toHaveLength(summary.mbp10_records + 1);
      expect(lines[1]).toMatchObject({ action: 'R', flags: 0x20 });
      const bad = await cli(['dbn', 'simulate', '--source', 'nope', '--out', dir]);
      expect(bad.code).not.toBe(0);
      expect(bad.stderr).toContain('--source must be es-book or market');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
