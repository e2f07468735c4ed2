// One rule for late and out-of-order input (core lateness.ts) on every path: the same log with late, out-of-order and
// implausible records gives identical signals through the embedded runner (`run`, file order) and through the
// processor's PartitionGroupTask (per-topic logs, fetched in chunks, merged). Before the shared rule, `run` applied a
// quote 20 s out of order while the processor dead-lettered it (79 of 846 rows differed).
import { MarketSim, mulberry32, parseConfig, toSignalRows, type Config, type DataInputSchema, type InputEvent, type LevelPhysicsPayload } from '@snap/core';
import { runEmbedded, type EmbeddedSink } from './embedded';
import { canonicalRow } from './parity';
import { PartitionGroupTask, type StreamSpec } from './task';

const START = BigInt(Date.parse('2025-12-22T15:00:00Z')) * 1_000_000n;
const SCHEMAS: DataInputSchema[] = ['stocks.quotes.v1', 'stocks.trades.v1', 'options.trades.v1', 'options.greeks_snapshots.v1'];

/** A simulated SPY minute (heartbeats every tick) in file order, with late records and impossible prices mixed in. */
function dirtyLog(): { log: InputEvent[]; late: number } {
  const sim = new MarketSim({ rng: mulberry32(11), underlying: 'SPY', startNs: START, spot: 600.1, heartbeatEveryMs: 250 });
  for (let t = 0; t < 900; t++) sim.step(100);
  const clean = sim.drain().filter((e) => e.schema === 'heartbeat.v1' || (SCHEMAS as string[]).includes(e.schema));
  const log: InputEvent[] = [];
  const held: { at: number; ev: InputEvent }[] = [];
  let late = 0;
  let quotes = 0;
  let trades = 0;
  for (const [i, ev] of clean.entries()) {
    // Every 40th quote is delivered 20 s (of file position ≈ event time) later; every 25th trade 300 ms later.
    if (ev.schema === 'stocks.quotes.v1' && ++quotes % 40 === 0) {
      const at = clean.findIndex((x, j) => j > i && x.ts_event_ns >= ev.ts_event_ns + 20_000_000_000n);
      if (at > 0) {
        held.push({ at, ev });
        late++;
        continue;
      }
    }
    if (ev.schema === 'stocks.trades.v1' && ++trades % 25 === 0) {
      const at = clean.findIndex((x, j) => j > i && x.ts_event_ns >= ev.ts_event_ns + 300_000_000n);
      if (at > 0) {
        held.push({ at, ev });
        late++;
        continue;
      }
    }
    log.push(ev);
    for (const h of held.filter((h) => h.at === i)) log.push(h.ev);
    if (i % 997 === 0 && ev.schema === 'stocks.quotes.v1') log.push({ ...ev, bid_px: -5, event_id: `${ev.event_id}-bad` });
    if (i % 1499 === 0 && ev.schema === 'stocks.trades.v1') log.push({ ...ev, price: 1e308, event_id: `${ev.event_id}-bad` });
  }
  return { log, late };
}

class Rows implements EmbeddedSink {
  readonly rows: string[] = [];
  onPayload(p: LevelPhysicsPayload) {
    for (const r of toSignalRows(p)) this.rows.push(canonicalRow(r));
  }
  close() {}
}

async function viaEmbedded(cfg: Config, log: InputEvent[]) {
  const sink = new Rows();
  const stats = await runEmbedded({ cfg, source: log, sinks: [sink], streams: 'single' });
  return { rows: sink.rows, stats };
}

/** The processor's path: one log per topic (heartbeats fanned into every topic, as the feeds do), fetched in chunks. */
function viaTask(cfg: Config, log: InputEvent[], chunk: number) {
  const topics = new Map<DataInputSchema, InputEvent[]>(SCHEMAS.map((s) => [s, []]));
  for (const ev of log) {
    if (ev.schema === 'heartbeat.v1') for (const s of SCHEMAS) topics.get(s)!.push(ev);
    else topics.get(ev.schema as DataInputSchema)!.push(ev);
  }
  const streams: StreamSpec[] = SCHEMAS.map((s) => ({ topic: `t.${s}`, schema: s }));
  const task = new PartitionGroupTask({ cfg, group: 0, streams, startOffsets: new Map(streams.map((s) => [s.topic, 0n])), nowNs: () => 0n });
  const rows: string[] = [];
  const dead: string[] = [];
  const take = () => {
    const out = task.takeOutputs();
    rows.push(...out.rows.map((r) => canonicalRow(r.row)));
    dead.push(...out.deadLetters.map((d) => d.error_class));
  };
  for (let progressed = true; progressed; ) {
    progressed = false;
    for (const s of SCHEMAS) {
      const recs = topics.get(s)!;
      const from = Number(task.expectedOffset(`t.${s}`));
      for (let off = from; off < Math.min(recs.length, from + chunk); off++) {
        task.ingest(`t.${s}`, BigInt(off), 'SPY', null, recs[off]!);
        progressed = true;
      }
      task.pump();
      take();
    }
  }
  task.drain();
  take();
  return { rows, dead, rejected: task.rejected };
}

describe('late and out-of-order records: embedded and processor paths agree', () => {
  const { log, late } = dirtyLog();

  it('builds a log that really is dirty', () => {
    expect(late).toBeGreaterThan(20);
  });

  it.each([
    ['dead_letter', 0],
    ['dead_letter', 500],
    ['clamp', 0],
  ] as const)('late_policy=%s, tolerance %d ms: identical signal rows', async (policy, tolerance) => {
    const cfg = parseConfig({ ordering: { late_policy: policy, late_tolerance_ms: tolerance } });
    const emb = await viaEmbedded(cfg, log);
    expect(emb.rows.length).toBeGreaterThan(500);
    expect(emb.stats.deadLettered.implausible).toBeGreaterThan(0);
    for (const chunk of [1, 17, 500]) {
      const t = viaTask(cfg, log, chunk);
      expect(t.rows.length).toBe(emb.rows.length);
      expect(t.rows).toEqual(emb.rows);
      expect(t.rejected.implausible).toBe(emb.stats.deadLettered.implausible);
      expect(t.rejected.late).toBe(emb.stats.deadLettered.late);
      expect(t.rejected.clamped).toBe(emb.stats.clamped);
      expect(t.dead.filter((c) => c === 'LateRecord').length).toBe(emb.stats.deadLettered.late);
      expect(t.dead.filter((c) => c === 'Implausible').length).toBe(emb.stats.deadLettered.implausible);
    }
    if (policy === 'clamp') {
      expect(emb.stats.deadLettered.late).toBe(0);
      expect(emb.stats.clamped).toBeGreaterThan(20);
    } else if (tolerance === 0) {
      expect(emb.stats.deadLettered.late).toBeGreaterThan(20);
    } else {
      // the 300 ms trades are within tolerance (clamped), the 20 s quotes are not
      expect(emb.stats.clamped).toBeGreaterThan(0);
      expect(emb.stats.deadLettered.late).toBeGreaterThan(0);
    }
  });
});
