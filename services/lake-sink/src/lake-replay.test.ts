// Bronze written from an embedded run, read back by replay-from-lake: the signals equal the run's, byte for byte
// (canonical rows); manifests find the files, the time range and warm-up behave like `replay --from-time`, and a lake
// whose objects no longer match their manifest is refused.
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig, simulateSession, toSignalRows, type Config, type InputEvent, type SignalRow } from '@snap/core';
import { canonicalRow, runEmbedded } from '@snap/processor';
import { EmbeddedBronzeWriter } from './bronze-writer';
import { LakeReplayError, replayFromLake } from './lake-replay';
import { LocalLakeReader, configHash, parseLakeManifest, readManifests } from './manifest';

// Small windows: each stream spans several objects and hour-less partitions still split by offset window.
const cfg: Config = parseConfig({ lake: { flush_rows: 500 } });
const SEED = 7;
const DURATION = 150_000;

async function embeddedRun(root: string, events: Iterable<InputEvent>, runId?: string, config: Config = cfg): Promise<SignalRow[]> {
  const rows: SignalRow[] = [];
  const cfg = config;
  const bronze = new EmbeddedBronzeWriter({ cfg, root, command: 'test', inputs: [{ kind: 'simulator', seed: SEED, duration_ms: DURATION, underlyings: ['SPY'] }], runId });
  await runEmbedded({ cfg, source: bronze.tap(events), streams: 'single', sinks: [{ onPayload: (p) => rows.push(...toSignalRows(p)), close: () => undefined }] });
  bronze.close();
  return rows;
}

const canon = (rows: readonly { row: SignalRow }[] | readonly SignalRow[]) => rows.map((r) => canonicalRow('row' in r ? r.row : r));

describe('replay from the lake (Bronze of an embedded run)', () => {
  let root: string;
  let original: SignalRow[];
  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'lake-replay-'));
    original = await embeddedRun(root, simulateSession({ seed: SEED, durationMs: DURATION }));
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('replays every signal of the run, byte for byte, finding the files through the manifest', async () => {
    expect(original.length).toBeGreaterThan(500);
    const r = await replayFromLake({ cfg, lake: new LocalLakeReader(root), underlyings: ['SPY'] });
    expect(r.found_by).toBe('manifest');
    expect(r.runs).toHaveLength(1);
    expect(r.runs[0]!.config_hash).toEqual([configHash(cfg)]);
    expect(r.warnings).toEqual([]);
    expect(canon(r.rows.get('SPY')!)).toEqual(canon(original));
  });

  it('writes a run manifest whose objects carry their row counts and sha256, and schema snapshots', async () => {
    const ms = await readManifests(new LocalLakeReader(root));
    expect(ms).toHaveLength(1);
    const m = ms[0]!.manifest;
    expect(m).toMatchObject({ kind: 'embedded-run', command: 'test', config_hash: configHash(cfg) });
    expect(m.code_version).toMatch(/^snap-engine@([0-9a-f]{12}|unknown)$/);
    const total = Object.values(m.row_counts).reduce((a, b) => a + b, 0);
    expect(total).toBe(m.objects.reduce((a, o) => a + o.rows, 0));
    expect(m.objects.every((o) => o.ts_ordered && o.keys.includes('SPY') && /^[0-9a-f]{64}$/.test(o.sha256))).toBe(true);
    // Quotes span several offset windows (flush_rows 500), each its own object.
    expect(m.objects.filter((o) => o.dataset === 'bronze/stocks/quotes').length).toBeGreaterThan(1);
    const avro = readdirSync(join(root, '_meta/schemas/avro'));
    expect(avro).toEqual(expect.arrayContaining(['stocks.quotes.v1', 'heartbeat.v1', 'levels.signals.v1']));
    expect(readdirSync(join(root, '_meta/schemas/parquet/bronze/stocks/quotes'))).toHaveLength(1);
  });

  it('emits only [from, to] after warming up from the start, equal to the same slice of the full run', async () => {
    const ticks = [...new Set(original.map((r) => r.ts_event_ns))];
    const from = ticks[Math.floor(ticks.length / 3)]!;
    const to = ticks[Math.floor((2 * ticks.length) / 3)]!;
    const r = await replayFromLake({ cfg, lake: new LocalLakeReader(root), underlyings: ['SPY'], fromNs: from, toNs: to });
    expect(canon(r.rows.get('SPY')!)).toEqual(canon(original.filter((x) => x.ts_event_ns >= from && x.ts_event_ns <= to)));
    // Warm-up started at the slice: the first rows differ (state such as VWAP never saw the session's start).
    const cold = await replayFromLake({ cfg, lake: new LocalLakeReader(root), underlyings: ['SPY'], fromNs: from, toNs: to, warmupFrom: from });
    expect(canon(cold.rows.get('SPY')!)).not.toEqual(canon(r.rows.get('SPY')!));
  });

  it('without manifests falls back to listing the dataset directories (with a warning) and gets the same signals', async () => {
    const copy = mkdtempSync(join(tmpdir(), 'lake-replay-list-'));
    try {
      const { cpSync } = await import('node:fs');
      cpSync(root, copy, { recursive: true });
      rmSync(join(copy, '_meta'), { recursive: true });
      const r = await replayFromLake({ cfg, lake: new LocalLakeReader(copy), underlyings: ['SPY'] });
      expect(r.found_by).toBe('listing');
      expect(r.warnings.join('\n')).toMatch(/no _meta\/ manifests/);
      expect(canon(r.rows.get('SPY')!)).toEqual(canon(original));
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });

  it('asks for --run when two runs cover the underlying, and refuses an object overwritten by another run', async () => {
    const two = mkdtempSync(join(tmpdir(), 'lake-replay-two-'));
    try {
      const a = await embeddedRun(two, simulateSession({ seed: SEED, durationMs: 60_000 }), 'run-a');
      await embeddedRun(two, simulateSession({ seed: SEED + 1, durationMs: 60_000 }), 'run-b');
      await expect(replayFromLake({ cfg, lake: new LocalLakeReader(two), underlyings: ['SPY'] })).rejects.toThrow(/2 runs .*run-a, run-b; choose one with --run/);
      // run-b rewrote the same object keys with other rows: run-a's manifest no longer matches them.
      await expect(replayFromLake({ cfg, lake: new LocalLakeReader(two), underlyings: ['SPY'], runId: 'run-a' })).rejects.toThrow(LakeReplayError);
      await expect(replayFromLake({ cfg, lake: new LocalLakeReader(two), underlyings: ['SPY'], runId: 'run-a' })).rejects.toThrow(/sha256 differs/);
      const b = await replayFromLake({ cfg, lake: new LocalLakeReader(two), underlyings: ['SPY'], runId: 'run-b' });
      expect(b.rows.get('SPY')!.length).toBeGreaterThan(0);
      expect(canon(b.rows.get('SPY')!)).not.toEqual(canon(a));
    } finally {
      rmSync(two, { recursive: true, force: true });
    }
  });

  it('with the MBP-10 barrier (futures depth and trades among the inputs): the same signals from Bronze', async () => {
    const mbp = parseConfig({ lake: { flush_rows: 500 }, barrier: { source: 'mbp10' } });
    const dir = mkdtempSync(join(tmpdir(), 'lake-replay-mbp-'));
    try {
      const run = await embeddedRun(dir, simulateSession({ seed: SEED, durationMs: 60_000 }), undefined, mbp);
      const r = await replayFromLake({ cfg: mbp, lake: new LocalLakeReader(dir), underlyings: ['SPY'] });
      expect(run.length).toBeGreaterThan(100);
      expect(canon(r.rows.get('SPY')!)).toEqual(canon(run));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('manifests are deterministic: the same run writes the same manifest bytes', async () => {
    const again = mkdtempSync(join(tmpdir(), 'lake-replay-again-'));
    try {
      await embeddedRun(again, simulateSession({ seed: SEED, durationMs: DURATION }));
      const key = (await readManifests(new LocalLakeReader(root)))[0]!.key;
      expect(readFileSync(join(again, key), 'utf8')).toBe(readFileSync(join(root, key), 'utf8'));
      expect(() => parseLakeManifest('{"manifest_version":99}', 'k')).toThrow(/manifest_version 99/);
      writeFileSync(join(again, key), '{');
      await expect(readManifests(new LocalLakeReader(again))).rejects.toThrow(/is not JSON/);
    } finally {
      rmSync(again, { recursive: true, force: true });
    }
  });
});
