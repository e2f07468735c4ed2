import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultConfig, runCore, simulateSession, type LevelPhysicsPayload } from '@snap/core';
import { GoldParquetSink, LiveSummarySink, runEmbedded, type EmbeddedSink } from './embedded';

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

describe('LiveSummarySink', () => {
  const lvl = (id: string, signal: 'BREAK' | 'REJECT' | 'NEUTRAL') =>
    ({ id, price: 680, kind: 'ROUND', direction: 'SUPPORT', distance: 0.1, break_score_raw: 50, break_score_smooth: 50, signal, confidence: 'HIGH', barrier: { state: 'NEUTRAL' }, fuel: { effect: 'NEUTRAL' }, note: '' }) as unknown as LevelPhysicsPayload['levels'][number];
  const payload = (i: number, signal: 'BREAK' | 'REJECT' | 'NEUTRAL', events?: ('BREAK' | 'REJECT')[]): LevelPhysicsPayload => ({
    ts: 1_766_415_600_000 + i * 250,
    ts_event_ns: String((1_766_415_600_000n + BigInt(i) * 250n) * 1_000_000n),
    underlying: 'SPY',
    spy: { spot: 680.1, bid: 680.09, ask: 680.11 },
    levels: [lvl('ROUND_680', signal)],
    ...(events ? { events: events.map((s) => ({ event_id: `e${i}`, ts_event_ns: '0', underlying: 'SPY', level_id: 'ROUND_680', level_kind: 'ROUND', level_price: 680, direction: 'SUPPORT', signal: s, break_score: 50, confidence: 'HIGH', lead: 'TAPE', reason: '', spot: 680.1 })) } : {}),
  });
  const sink = () => new LiveSummarySink({ stream: { isTTY: false, write: () => true } as unknown as NodeJS.WriteStream });

  it('counts discrete events, not the ticks a signal is shown on (the demo summary)', () => {
    const s = sink();
    // A BREAK shown for 12 ticks with one event, then a REJECT shown for 5 ticks with one event.
    for (let i = 0; i < 12; i++) s.onPayload(payload(i, 'BREAK', i === 0 ? ['BREAK'] : undefined));
    for (let i = 12; i < 17; i++) s.onPayload(payload(i, 'REJECT', i === 12 ? ['REJECT'] : undefined));
    expect(s.counts).toMatchObject({ counted_as: 'events', BREAK: 1, REJECT: 1 });
    expect(s.render(true)[0]).toMatch(/events BREAK 1 REJECT 1/);
  });

  it('without events (an engine that has none) counts transitions into a signal, still not ticks', () => {
    const s = sink();
    for (let i = 0; i < 12; i++) s.onPayload(payload(i, i < 4 || i >= 8 ? 'BREAK' : 'NEUTRAL'));
    expect(s.counts).toMatchObject({ counted_as: 'transitions', BREAK: 2, REJECT: 0 });
  });
});
