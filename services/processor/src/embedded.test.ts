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

  it('skips events of underlyings that are not configured; a record behind the source order is late (the one lateness rule)', async () => {
    const other = events.slice(0, 50).map((e) => ({ ...e, key: 'QQQ' }));
    const stats = await runEmbedded({ cfg, source: [...other], sinks: [] });
    expect(stats.skipped).toBe(50);
    expect(stats.payloads).toBe(0);
    // a second record of the same stream (schema, underlying), stamped earlier than the first
    const same = events.find((e) => e.schema === events[500]!.schema && e.key === events[500]!.key && e.ts_event_ns < events[500]!.ts_event_ns)!;
    const late = [events[500]!, same];
    expect(late[1]!.ts_event_ns).toBeLessThan(late[0]!.ts_event_ns);
    const dl: string[] = [];
    const s1 = await runEmbedded({ cfg, source: late, sinks: [], streams: 'by-schema', onDeadLetter: (_e, reason, cls) => dl.push(`${cls}: ${reason}`) });
    expect(s1.deadLettered.late).toBe(1);
    expect(dl[0]).toMatch(/^LateRecord: late record: ts_event_ns/);
    const s2 = await runEmbedded({ cfg: { ...cfg, ordering: { late_policy: 'clamp', late_tolerance_ms: 0 } }, source: late, sinks: [], streams: 'by-schema' });
    expect(s2).toMatchObject({ clamped: 1, deadLettered: { late: 0, implausible: 0 } });
  });
});
