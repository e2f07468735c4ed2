import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultConfig, runCore, simulateSession, type LevelPhysicsPayload } from '@snap/core';
import { GoldParquetSink, runEmbedded, type EmbeddedSink } from './embedded';

class Collect implements EmbeddedSink {
  readonly out: LevelPhysicsPayload[] = [];
  onPayload(p: LevelPhysicsPayload) {
    this.out.push(p);
  }
  close() {}
}

describe('embedded bus', () => {
  const events = [...simulateSession({ seed: 5, durationMs: 60_000 })];
  const cfg = defaultConfig();
  const want = runCore(cfg, 'SPY', events).map((p) => JSON.stringify(p));

  it.each(['by-schema', 'single'] as const)('(%s streams) yields exactly the payloads of runCore over the ordered events', async (streams) => {
    const c = new Collect();
    const stats = await runEmbedded({ cfg, source: events, sinks: [c], streams });
    expect(stats.events).toBe(events.length);
    expect(c.out.map((p) => JSON.stringify(p))).toEqual(want);
  });

  it('accepts async sources and writes every signal row to Gold Parquet', async () => {
    const root = mkdtempSync(join(tmpdir(), 'snap-emb-'));
    try {
      async function* src() {
        yield* events;
      }
      const gold = new GoldParquetSink(root, 1000);
      const stats = await runEmbedded({ cfg, source: src(), sinks: [gold] });
      expect(gold.files.reduce((n, f) => n + f.rows, 0)).toBe(stats.signalRows);
      expect(gold.files.length).toBeGreaterThan(1);
      for (const f of gold.files) expect(f.rows).toBeLessThan(1000 + 50); // flush_rows, closed at a tick boundary
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('skips events of underlyings that are not configured, and refuses an out-of-order source when merging', async () => {
    const other = events.slice(0, 50).map((e) => ({ ...e, key: 'QQQ' }));
    const stats = await runEmbedded({ cfg, source: [...other], sinks: [] });
    expect(stats.skipped).toBe(50);
    expect(stats.payloads).toBe(0);
    const backwards = [events[500]!, events[5]!];
    expect(backwards[1]!.ts_event_ns).toBeLessThan(backwards[0]!.ts_event_ns);
    await expect(runEmbedded({ cfg, source: backwards, sinks: [], streams: 'by-schema' })).rejects.toThrow(/went back in time at event 2/);
  });
});
