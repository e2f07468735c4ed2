// PartitionGroupTask without Kafka: the merge → engine path, commit points, restore-from-snapshot, poison records.
// "Kafka" here is an in-memory log per topic; restarts re-read it from the snapshot's offsets exactly as the
// processor does after a failover.
import { INPUT_SCHEMA_RANK, MarketSim, SnapEngine, defaultConfig, mulberry32, parseConfig, toSignalRows, type Config, type DataInputSchema, type InputEvent } from '@snap/core';
import { PartitionGroupTask, type OutputRow, type StreamSpec } from './task';
import { decodeSnapshot, encodeSnapshot, type GroupSnapshot } from './snapshot';
import { canonicalEvent, canonicalRow } from './parity';

const START = BigInt(Date.parse('2025-12-22T15:00:00Z')) * 1_000_000n;
const SCHEMAS: DataInputSchema[] = ['stocks.quotes.v1', 'stocks.trades.v1', 'options.trades.v1', 'options.greeks_snapshots.v1'];
const cfg: Config = parseConfig({ underlyings: ['SPY', 'IWM'], processor: { commit_every_ticks: 8 } });

type Log = Map<string, { key: string; value: InputEvent | Error; raw: Buffer | null }[]>;

/** Simulated feed → per-topic logs; heartbeats fanned into every topic, like the Kafka feed sink. */
function buildLogs(seconds: number): Log {
  const log: Log = new Map(SCHEMAS.map((s) => [s, []]));
  const all: InputEvent[] = [];
  for (const [i, u] of ['SPY', 'IWM'].entries()) {
    const sim = new MarketSim({ rng: mulberry32(7 + i), underlying: u, startNs: START, spot: u === 'SPY' ? 600.1 : 220.3, heartbeatEveryMs: 250 });
    for (let t = 0; t < seconds * 10; t++) sim.step(100);
    all.push(...sim.drain());
  }
  // Per topic, events stay in event-time order (producers guarantee it); interleave the two underlyings by time.
  all.sort((a, b) => (a.ts_event_ns < b.ts_event_ns ? -1 : a.ts_event_ns > b.ts_event_ns ? 1 : 0));
  for (const ev of all) {
    if (ev.schema === 'heartbeat.v1') for (const s of SCHEMAS) log.get(s)!.push({ key: ev.key, value: ev, raw: null });
    else if ((SCHEMAS as string[]).includes(ev.schema)) log.get(ev.schema)!.push({ key: ev.key, value: ev, raw: null });
  }
  return log;
}

const streams: StreamSpec[] = SCHEMAS.map((s) => ({ topic: s, schema: s }));
const zeroOffsets = new Map(SCHEMAS.map((s) => [s, 0n]));

/**
 * Feeds the logs in chunks (round-robin over topics, like fetches), committing whenever the task asks, and
 * optionally crashing at given chunk numbers: the uncommitted work is thrown away and a new task resumes from the
 * last committed snapshot, re-reading the log from its offsets. Returns the committed rows.
 */
interface RunOptions {
  /** Fetch numbers (1-based, one fetch = one topic's chunk) after which the task crashes. */
  crashAt?: Set<number>;
  /** Crash right after every commit (restore from the snapshot just committed). */
  crashAfterEveryCommit?: boolean;
  /** Crash right before every commit is due (its work is lost and redone from the previous snapshot), once per commit point. */
  crashBeforeEveryCommit?: boolean;
  /** Chunk size per fetch (default: `chunk`); lets a test vary fetch boundaries. */
  chunkOf?: (fetch: number) => number;
  /** Write the snapshot only with every n-th commit (and a task's first, and the final one), as processor.snapshot_every_ms does. */
  snapshotEvery?: number;
}

function run(log: Log, chunk: number, crashAtOrOpts: Set<number> | RunOptions = new Set()) {
  const o: RunOptions = crashAtOrOpts instanceof Set ? { crashAt: crashAtOrOpts } : crashAtOrOpts;
  const crashAt = o.crashAt ?? new Set<number>();
  /** Commit points (by the committed snapshot's offsets) already crashed before once: the redo must get past them. */
  const crashedBefore = new Set<string>();
  const committed: OutputRow[] = [];
  const events: string[] = [];
  const deadLetters: string[] = [];
  let snap: GroupSnapshot | undefined;
  let commits = 0;
  /** The consumer group's committed offsets (sendOffsets of the last transaction). */
  let committedOffsets: Map<string, bigint> | undefined;
  let taskCommits = 0;
  const mk = () => {
    taskCommits = 0;
    return new PartitionGroupTask({ cfg, group: 0, streams, startOffsets: zeroOffsets, snapshot: snap && decodeSnapshot('pg-0', encodeSnapshot(snap)), committedOffsets, nowNs: () => 0n });
  };
  let task = mk();
  const commit = (final = false) => {
    const out = task.takeOutputs();
    const every = o.snapshotEvery ?? 1;
    const cp = task.commitPoint(final || taskCommits === 0 || (commits + 1) % every === 0);
    task.markCommitted();
    committed.push(...out.rows);
    events.push(...out.events.map((e) => canonicalEvent(e.event)));
    deadLetters.push(...out.deadLetters.map((d) => `${d.source_topic}@${d.source_offset}:${d.error_class}`));
    if (cp.snapshot) snap = cp.snapshot;
    committedOffsets = cp.offsets;
    commits++;
    taskCommits++;
  };
  let n = 0;
  for (;;) {
    let progressed = false;
    for (const s of SCHEMAS) {
      const recs = log.get(s)!;
      const from = Number(task.expectedOffset(s));
      const size = o.chunkOf ? o.chunkOf(n + 1) : chunk;
      for (let off = from; off < Math.min(recs.length, from + size); off++) {
        task.ingest(s, BigInt(off), recs[off]!.key, recs[off]!.raw, recs[off]!.value);
        progressed = true;
      }
      task.pump();
      if (task.commitDue()) {
        const point = JSON.stringify([...task.commitPoint(false).offsets].map(([t, off]) => [t, off.toString()]));
        if (o.crashBeforeEveryCommit && !crashedBefore.has(point)) {
          crashedBefore.add(point);
          task = mk();
          progressed = true;
          continue;
        }
        commit();
        if (o.crashAfterEveryCommit) task = mk();
      }
      if (crashAt.has(++n)) task = mk();
    }
    if (!progressed) break;
  }
  task.drain();
  if (task.hasUncommitted()) commit(true);
  return { rows: committed, events, deadLetters, commits, lastSnapshot: snap };
}

/** The reference: all data events in one global (ts, schema rank, log order) sort, straight into SnapEngine. */
function reference(log: Log): string[] {
  return referenceOutputs(log).rows;
}

/** Per underlying (IWM, SPY): the reference engine's signal rows and discrete events, canonical. */
function referenceOutputs(log: Log): { rows: string[]; events: string[] } {
  const evs: { ev: InputEvent; rank: number; i: number }[] = [];
  let i = 0;
  // Heartbeats once (the embedded file has one line per heartbeat; Kafka one copy per topic): they decide how far the
  // last ticks go, never what a tick contains.
  for (const s of SCHEMAS)
    for (const r of log.get(s)!) {
      if (r.value instanceof Error) continue;
      const hb = r.value.schema === 'heartbeat.v1';
      if (!hb || s === SCHEMAS[0]) evs.push({ ev: r.value, rank: INPUT_SCHEMA_RANK[r.value.schema], i: i++ });
    }
  evs.sort((a, b) => (a.ev.ts_event_ns !== b.ev.ts_event_ns ? (a.ev.ts_event_ns < b.ev.ts_event_ns ? -1 : 1) : a.rank - b.rank || a.i - b.i));
  const out: string[] = [];
  const events: string[] = [];
  for (const u of ['IWM', 'SPY']) {
    const engine = new SnapEngine(cfg, u);
    for (const { ev } of evs)
      if (ev.key === u)
        for (const p of engine.push(ev)) {
          for (const row of toSignalRows(p)) out.push(canonicalRow(row));
          for (const e of p.events ?? []) events.push(canonicalEvent(e));
        }
  }
  return { rows: out, events };
}

const byUnderlying = (rows: OutputRow[]) =>
  ['IWM', 'SPY'].flatMap((u) => rows.filter((r) => r.row.underlying === u).map((r) => canonicalRow(r.row)));

describe('PartitionGroupTask', () => {
  const log = buildLogs(40);

  it('emits, per underlying, exactly what one SnapEngine emits over the globally merged events', () => {
    const r = run(log, 64);
    expect(r.rows.length).toBeGreaterThan(100);
    expect(r.commits).toBeGreaterThan(3);
    expect(byUnderlying(r.rows)).toEqual(reference(log));
  });

  it('emits the discrete events (levels.events.v1) one SnapEngine emits, exactly once across crashes and restores', () => {
    const ref = referenceOutputs(log).events;
    const byU = (ev: string[]) => ['IWM', 'SPY'].flatMap((u) => ev.filter((e) => (JSON.parse(e) as { underlying: string }).underlying === u));
    expect(byU(run(log, 64).events)).toEqual(ref);
    expect(byU(run(log, 64, { crashAfterEveryCommit: true }).events)).toEqual(ref);
    expect(byU(run(log, 64, { crashBeforeEveryCommit: true }).events)).toEqual(ref);
    expect(byU(run(log, 13, new Set([3, 11, 40])).events)).toEqual(ref);
  });

  it('does not depend on fetch sizes (merge waits on every input)', () => {
    expect(byUnderlying(run(log, 7).rows)).toEqual(byUnderlying(run(log, 500).rows));
  });

  it('after crashes at arbitrary points, the committed output equals an uninterrupted run (no duplicate, no gap)', () => {
    const clean = run(log, 50);
    const crashed = run(log, 50, new Set([3, 17, 18, 40, 77, 120, 121, 200]));
    expect(crashed.rows.map((r) => canonicalRow(r.row))).toEqual(clean.rows.map((r) => canonicalRow(r.row)));
    expect(crashed.lastSnapshot!.offsets).toEqual(clean.lastSnapshot!.offsets);
  });

  it('a restore at EVERY commit point (right after each commit, and right before it, losing its work) changes nothing', () => {
    const clean = run(log, 50);
    expect(clean.commits).toBeGreaterThan(10);
    const expected = clean.rows.map((r) => canonicalRow(r.row));
    const after = run(log, 50, { crashAfterEveryCommit: true });
    expect(after.rows.map((r) => canonicalRow(r.row))).toEqual(expected);
    const before = run(log, 50, { crashBeforeEveryCommit: true });
    expect(before.rows.map((r) => canonicalRow(r.row))).toEqual(expected);
    expect(before.lastSnapshot!.offsets).toEqual(clean.lastSnapshot!.offsets);
  });

  it('random fetch boundaries with crashes at many random fetches: committed output equals the uninterrupted run', () => {
    const expected = byUnderlying(run(log, 50).rows);
    for (const seed of [1, 2, 3, 4, 5, 6]) {
      const rng = mulberry32(1000 + seed);
      const sizes = new Map<number, number>();
      const chunkOf = (fetch: number) => {
        if (!sizes.has(fetch)) sizes.set(fetch, rng.int(1, 120));
        return sizes.get(fetch)!;
      };
      const crashAt = new Set<number>();
      for (let f = 1; f < 2000; f++) if (rng.chance(0.08)) crashAt.add(f);
      const r = run(log, 50, { crashAt, chunkOf });
      // Fetch sizes move where commits fall, hence the row order across underlyings within a transaction: compare per underlying.
      expect(byUnderlying(r.rows)).toEqual(expected);
    }
  });

  it('with snapshots only every few commits, a restore replays from the older snapshot silently up to the committed offsets', () => {
    const clean = run(log, 50);
    const expected = clean.rows.map((r) => canonicalRow(r.row));
    for (const every of [2, 3, 7]) {
      const sparse = run(log, 50, { snapshotEvery: every });
      expect(sparse.rows.map((r) => canonicalRow(r.row))).toEqual(expected);
      const after = run(log, 50, { snapshotEvery: every, crashAfterEveryCommit: true });
      expect(after.rows.map((r) => canonicalRow(r.row))).toEqual(expected);
      expect(after.events).toEqual(clean.events);
      const before = run(log, 50, { snapshotEvery: every, crashBeforeEveryCommit: true });
      expect(before.rows.map((r) => canonicalRow(r.row))).toEqual(expected);
      expect(before.lastSnapshot!.offsets).toEqual(clean.lastSnapshot!.offsets);
      const crashed = run(log, 13, { snapshotEvery: every, crashAt: new Set([3, 11, 40, 41, 90, 150]) });
      expect(byUnderlying(crashed.rows)).toEqual(byUnderlying(clean.rows));
    }
  });

  it('a restore whose snapshot lags the committed offsets emits nothing until it is past them', () => {
    const early = new PartitionGroupTask({ cfg, group: 0, streams, startOffsets: zeroOffsets, nowNs: () => 0n });
    const half = new Map(SCHEMAS.map((s) => [s, BigInt(Math.floor(log.get(s)!.length / 2))]));
    for (const s of SCHEMAS) log.get(s)!.slice(0, 40).forEach((r, o) => early.ingest(s, BigInt(o), r.key, r.raw, r.value));
    early.pump();
    const snap = early.commitPoint().snapshot!;
    // Committed offsets past the snapshot: everything released below them is replayed silently.
    const t = new PartitionGroupTask({ cfg, group: 0, streams, startOffsets: zeroOffsets, snapshot: snap, committedOffsets: half, nowNs: () => 0n });
    // The same restore without committed offsets (what a snapshot in every transaction implies) emits that range.
    const control = new PartitionGroupTask({ cfg, group: 0, streams, startOffsets: zeroOffsets, snapshot: snap, nowNs: () => 0n });
    expect(t.replaying()).toBe(true);
    for (const task of [t, control]) {
      for (const s of SCHEMAS) log.get(s)!.forEach((r, o) => o >= Number(snap.offsets[s]) && o < Number(half.get(s)!) && task.ingest(s, BigInt(o), r.key, r.raw, r.value));
      task.pump();
    }
    expect(control.takeOutputs().rows.length).toBeGreaterThan(0);
    expect(t.takeOutputs().rows).toEqual([]);
    expect(t.hasUncommitted()).toBe(false);
    expect(t.commitDue()).toBe(false);
  });

  it('a transaction in flight covers only its commit point: releases made meanwhile stay uncommitted and are what a restore from it re-emits', () => {
    const t = new PartitionGroupTask({ cfg, group: 0, streams, startOffsets: zeroOffsets, nowNs: () => 0n });
    const feed = (task: PartitionGroupTask, to: number) => {
      for (const s of SCHEMAS) {
        const recs = log.get(s)!;
        for (let o = Number(task.expectedOffset(s)); o < Math.min(to, recs.length); o++) task.ingest(s, BigInt(o), recs[o]!.key, recs[o]!.raw, recs[o]!.value);
      }
      task.pump();
    };
    feed(t, 150);
    t.takeOutputs();
    const cp = t.commitPoint(true);
    expect(cp.releases).toBeGreaterThan(0);
    // The processor keeps fetching while cp's transaction is in flight.
    feed(t, 300);
    const during = t.takeOutputs().rows;
    expect(during.length).toBeGreaterThan(0);
    t.markCommitted(cp);
    expect(t.hasUncommitted()).toBe(true);
    // cp committed, the next transaction never did: a restore from cp's snapshot re-emits exactly what came after it.
    const r = new PartitionGroupTask({ cfg, group: 0, streams, startOffsets: zeroOffsets, snapshot: decodeSnapshot('pg-0', encodeSnapshot(cp.snapshot!)), nowNs: () => 0n });
    feed(r, 300);
    expect(r.takeOutputs().rows.map((x) => canonicalRow(x.row))).toEqual(during.map((x) => canonicalRow(x.row)));
    t.markCommitted(t.commitPoint(false));
    expect(t.hasUncommitted()).toBe(false);
  });

  it('commits the first unreleased offset, so a restart re-reads exactly the merge buffer', () => {
    const task = new PartitionGroupTask({ cfg, group: 0, streams, startOffsets: zeroOffsets, nowNs: () => 0n });
    // Only quotes arrive: nothing may be released (the other inputs have no watermark yet).
    const quotes = log.get('stocks.quotes.v1')!;
    for (let o = 0; o < 20; o++) task.ingest('stocks.quotes.v1', BigInt(o), quotes[o]!.key, null, quotes[o]!.value);
    task.pump();
    expect(task.bufferedCount()).toBe(20);
    expect(task.commitPoint().offsets.get('stocks.quotes.v1')).toBe(0n);
    expect(task.expectedOffset('stocks.quotes.v1')).toBe(20n);
    task.drain();
    expect(task.commitPoint().offsets.get('stocks.quotes.v1')).toBe(20n);
  });

  it('dead-letters a poison record once, with its reason, and the partition keeps flowing', () => {
    const poisoned: Log = new Map([...log].map(([k, v]) => [k, [...v]]));
    const trades = poisoned.get('stocks.trades.v1')!;
    const raw = Buffer.from([0, 0, 0, 0, 99, 1, 2]);
    const err = Object.assign(new Error('schema id 99 is unknown to the registry'), { name: 'CodecError', code: 'UNKNOWN_SCHEMA_ID', offset: 1 });
    trades.splice(30, 0, { key: 'SPY', value: err, raw });
    // And one that decodes but is on the wrong topic.
    const aQuote = poisoned.get('stocks.quotes.v1')!.find((r) => !(r.value instanceof Error) && r.value.schema === 'stocks.quotes.v1')!;
    trades.splice(60, 0, { key: 'SPY', value: aQuote.value, raw: null });
    const clean = run(log, 50);
    const r = run(poisoned, 50, new Set([5, 9, 33]));
    expect(r.deadLetters).toEqual(['stocks.trades.v1@30:CodecError', 'stocks.trades.v1@60:WrongTopic']);
    expect(r.rows.map((x) => canonicalRow(x.row))).toEqual(clean.rows.map((x) => canonicalRow(x.row)));
    expect(BigInt(r.lastSnapshot!.offsets['stocks.trades.v1']!)).toBe(BigInt(trades.length));
  });

  it('refuses a snapshot of another partition group', () => {
    const snap = run(log, 500).lastSnapshot!;
    expect(() => new PartitionGroupTask({ cfg, group: 1, streams, startOffsets: zeroOffsets, snapshot: snap, nowNs: () => 0n })).toThrow(/snapshot for group 0/);
  });

  it('suppresses rows outside the emit range but keeps state warm (replay from a time)', () => {
    const full = run(log, 100).rows;
    const mid = full[Math.floor(full.length / 2)]!.row.ts_event_ns;
    const t = new PartitionGroupTask({ cfg, group: 0, streams, startOffsets: zeroOffsets, emitFromNs: mid, nowNs: () => 0n });
    for (const s of SCHEMAS) log.get(s)!.forEach((r, o) => t.ingest(s, BigInt(o), r.key, r.raw, r.value));
    t.drain();
    const got = t.takeOutputs().rows.map((x) => canonicalRow(x.row));
    expect(got.length).toBeGreaterThan(0);
    expect(got).toEqual(full.filter((x) => x.row.ts_event_ns >= mid).map((x) => canonicalRow(x.row)));
  });
});

test('default config derives the processor inputs from barrier.source', () => {
  expect(defaultConfig().processor.inputs).toBeUndefined();
});
