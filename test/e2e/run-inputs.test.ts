// `snap-engine run --input` with binary inputs, end to end: the Bronze Parquet a JSONL run wrote under DATA_ROOT, given
// back as inputs, gives the same payloads byte for byte; a DBN futures file merged with a JSONL of the other inputs
// gives what the same events as one JSONL give; a bad DBN file fails naming the file and the record.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatEventLine, simulateToJsonl, type InputEvent } from '@snap/core';
import { DbnNormalizer, DbnWriter, ES_SIM_DEFAULTS, FuturesEventsToDbn, esSimMetadata, openDbn } from '@snap/dbn';
import { fixture } from '../../packages/dbn/src/test-fixtures';
import { parquetFilesUnder } from '../../services/cli/src/commands/run';

const ROOT = join(__dirname, '..', '..');
const BIN = join(ROOT, 'services/cli/bin/snap-engine.js');

describe('snap-engine run --input DBN / Bronze Parquet', () => {
  let dir: string;
  const cli = (args: string[], dataRoot = join(dir, 'lake')) =>
    spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...process.env, LOG_LEVEL: 'warn', SNAPENGINE_PROGRESS: 'off', DATA_ROOT: dataRoot }, encoding: 'utf8' });
  const lines: string[] = [];
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'snap-run-inputs-'));
    simulateToJsonl({ seed: 21, durationMs: 60_000 }, (l) => lines.push(l));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads back the Bronze objects a run wrote and gives the same payloads, byte for byte', () => {
    const input = join(dir, 'events.jsonl');
    writeFileSync(input, lines.join('\n') + '\n');
    const first = join(dir, 'first.jsonl');
    const r1 = cli(['run', '--input', input, '--out', first]);
    expect(r1.stderr).toBe('');
    expect(r1.status).toBe(0);
    const objects = parquetFilesUnder(join(dir, 'lake', 'bronze'));
    // One object per data stream and one per stream's heartbeats: every heartbeat is in Bronze six times.
    expect(objects.length).toBeGreaterThanOrEqual(7);
    const again = join(dir, 'again.jsonl');
    const r2 = cli(['run', ...objects.flatMap((o) => ['--input', o]), '--out', again, '--no-bronze']);
    expect(r2.stderr).toBe('');
    expect(r2.status).toBe(0);
    const want = readFileSync(first, 'utf8');
    expect(want.split('\n').length).toBeGreaterThan(200);
    expect(readFileSync(again, 'utf8')).toBe(want);
    // The directory stands for the objects below it.
    const viaDir = join(dir, 'via-dir.jsonl');
    const r3 = cli(['run', '--input', join(dir, 'lake', 'bronze'), '--out', viaDir, '--no-bronze']);
    expect(r3.stderr).toBe('');
    expect(r3.status).toBe(0);
    expect(readFileSync(viaDir, 'utf8')).toBe(want);
  }, 180_000);

  it('merges a DBN futures file with a JSONL of the other inputs by event time, as if they were one JSONL', async () => {
    // The simulated session's ES book and trades written as DBN (zstd), the rest of its events kept as JSONL.
    const events = lines.map((l) => JSON.parse(l) as { schema: string });
    const futures = lines.filter((_, i) => events[i]!.schema.startsWith('futures.'));
    const rest = lines.filter((_, i) => !events[i]!.schema.startsWith('futures.'));
    expect(futures.length).toBeGreaterThan(100);
    const { parseEventLine } = await import('@snap/core');
    const conv = new FuturesEventsToDbn({ instrumentId: ES_SIM_DEFAULTS.instrumentId });
    const first = parseEventLine(futures[0]!, 1).ts_event_ns;
    const dbnPath = join(dir, 'es.mbp-10.dbn.zst');
    const w = await DbnWriter.create(dbnPath, esSimMetadata({ seed: 1, startNs: first, durationNs: 120_000_000_000n }, 'mbp-10'), { compression: 'zstd' });
    for (const [i, l] of futures.entries()) {
      const out = conv.push(parseEventLine(l, i + 1) as Parameters<FuturesEventsToDbn['push']>[0]);
      for (const r of [...out.mbp10, ...out.trades].sort((a, b) => (a.ts_event < b.ts_event ? -1 : a.ts_event > b.ts_event ? 1 : 0))) await w.write(r);
    }
    await w.close();
    const restPath = join(dir, 'rest.jsonl');
    writeFileSync(restPath, rest.join('\n') + '\n');

    // The same events as one JSONL: the DBN file decoded and mapped (as feed dbn does), merged in by event time, the
    // DBN file's event first at equal times (it is given first).
    const { metadata, records } = await openDbn(dbnPath);
    const norm = new DbnNormalizer(metadata, { underlying: 'SPY', symbolRoot: 'ES' });
    const dbnEvents: InputEvent[] = [];
    for await (const r of records) dbnEvents.push(...norm.push(r));
    const restEvents = rest.map((l, i) => parseEventLine(l, i + 1));
    const merged: string[] = [];
    for (let i = 0, j = 0; i < dbnEvents.length || j < restEvents.length; ) {
      if (j >= restEvents.length || (i < dbnEvents.length && dbnEvents[i]!.ts_event_ns <= restEvents[j]!.ts_event_ns)) merged.push(formatEventLine(dbnEvents[i++]!));
      else merged.push(formatEventLine(restEvents[j++]!));
    }
    const mergedPath = join(dir, 'merged.jsonl');
    writeFileSync(mergedPath, merged.join('\n') + '\n');

    const viaDbn = join(dir, 'via-dbn.jsonl');
    const viaJsonl = join(dir, 'via-jsonl.jsonl');
    const r1 = cli(['run', '--input', dbnPath, '--input', restPath, '--out', viaDbn, '--no-bronze']);
    expect(r1.stderr).toBe('');
    expect(r1.status).toBe(0);
    expect(cli(['run', '--input', mergedPath, '--out', viaJsonl, '--no-bronze']).status).toBe(0);
    const got = readFileSync(viaDbn, 'utf8');
    expect(got.split('\n').length).toBeGreaterThan(200);
    expect(got).toBe(readFileSync(viaJsonl, 'utf8'));
  }, 180_000);

  it('fails naming the DBN file and the record it cannot read, exit 1, no output', () => {
    const path = fixture('edge/trunc.dbn');
    const out = join(dir, 'never.jsonl');
    const r = cli(['run', '--input', path, '--input', join(dir, 'rest.jsonl'), '--out', out, '--no-bronze']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`snap-engine run: ${path.replace(/[.]/g, '\\.')}: DBN record 2 \\(after 1 good records\\): TRUNCATED at byte offset \\d+`));
    expect(() => statSync(out)).toThrow();
  }, 120_000);
});
