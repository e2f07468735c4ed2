// One partition group's processing, free of Kafka: records in (by topic and offset, in offset order per topic) →
// deterministic merge → one SnapEngine per underlying → signal rows and dead letters out, plus the commit point
// (offsets + snapshot) that makes the output exactly-once. The Kafka shell (processor.ts) and replay (replay.ts) both
// drive this class, so live, failover and replay run the same code path.
import { INPUT_SCHEMA_RANK, LatenessGuard, SnapshotError, checkPlausible, latenessRuleOf, toSignalRows, type Config, type DataInputSchema, type InputEvent, type LevelEvent, type SignalRow, type Source } from '@snap/core';
import type { DeadLetterRecord } from '@snap/platform';
import { changelogKey, SNAPSHOT_VERSION, type GroupSnapshot } from './snapshot';
import { createEngine, createMerge, restoreEngine, type EngineLike, type MergeLike } from './core-adapter';


export interface StreamSpec {
  /** Full topic name (prefix applied). */
  topic: string;
  /** The data schema the topic carries (besides heartbeat.v1). */
  schema: DataInputSchema;
}

/** What the merge orders: an event for an engine, or a poison record whose dead letter is due once it is released. */
// `judged` is the record as the lateness rule saw it (replayed into the released-side guard when the item is released).
type MergeItem =
  | { kind: 'event'; topic: string; offset: bigint; event: InputEvent; judged: InputEvent }
  | { kind: 'poison'; topic: string; offset: bigint; deadLetter: DeadLetterRecord; judged: InputEvent | null };

export interface OutputRow {
  row: SignalRow;
  source: Source;
}

/** A discrete BREAK/REJECT call (payload.events) for `levels.events.v1`. */
export interface OutputEvent {
  event: LevelEvent;
  source: Source;
}

export interface TaskOutputs {
  rows: OutputRow[];
  /** Written in the same transaction as `rows`. */
  events: OutputEvent[];
  deadLetters: DeadLetterRecord[];
}

export interface CommitPoint {
  /** Per input topic: the offset to commit (first offset not released by the merge). */
  offsets: Map<string, bigint>;
  /** The state to write to the changelog with these offsets; absent when the commit point was asked for without one. */
  snapshot?: GroupSnapshot;
  /** Releases this point covers and the released event time it reached: markCommitted(point) counts only those, so
   *  records released while its transaction was in flight stay uncommitted. */
  releases: number;
  maxReleasedTs: bigint | null;
}

export interface PoisonInfo {
  reason: string;
  errorClass: string;
  errorPath: string | null;
}

export interface TaskOptions {
  cfg: Config;
  group: number;
  streams: readonly StreamSpec[];
  /** Where each topic starts when there is no snapshot (committed group offset or the log start). */
  startOffsets: ReadonlyMap<string, bigint>;
  snapshot?: GroupSnapshot;
  /**
   * The group's committed input offsets. Snapshots are written less often than transactions commit, so they may lie
   * ahead of the snapshot's own offsets: the records in between were released and their outputs committed after the
   * snapshot. They are re-read to rebuild the state, with their outputs (rows, events, dead letters) suppressed.
   */
  committedOffsets?: ReadonlyMap<string, bigint>;
  /** Rows before this tick time are computed (state warms up) but not emitted: replay from a time. */
  emitFromNs?: bigint;
  /** Rows after this tick time are not emitted (replay of a bounded range). */
  emitUntilNs?: bigint;
  /** Wall clock for ts_recv_ns / ts_deadletter_ns of dead letters (never read by the engines). */
  nowNs: () => bigint;
  /** Observes the engine time (seconds) of each push that produced snap ticks (metrics only). */
  onTick?: (seconds: number) => void;
}

export class PartitionGroupTask {
  readonly group: number;
  private readonly cfg: Config;
  private readonly streams: Map<string, StreamSpec>;
  private readonly merge: MergeLike<MergeItem>;
  private readonly engines = new Map<string, EngineLike>();
  private readonly sources = new Map<string, Source>();
  /** Next offset expected per topic (everything below it has been ingested). */
  private readonly next = new Map<string, bigint>();
  /** Offsets ingested but not yet released, per topic, ascending (a topic's records release in offset order). */
  private readonly buffered = new Map<string, bigint[]>();
  private readonly bufferedHead = new Map<string, number>();
  /** Largest ts_event_ns ingested per topic: the lateness check and where a poison record sits in the merge. */
  private readonly lastTs = new Map<string, bigint>();
  /** Largest ts_event_ns released per topic (goes into the snapshot). */
  private readonly releasedTs = new Map<string, bigint>();
  private readonly emitFromNs: bigint | undefined;
  private readonly emitUntilNs: bigint | undefined;
  private readonly nowNs: () => bigint;
  private readonly onTick: ((seconds: number) => void) | undefined;
  private readonly commitEveryNs: bigint;
  /** Per topic: records below this offset had their outputs committed by an earlier owner (see committedOffsets). */
  private readonly replayedBelow = new Map<string, bigint>();
  /** The item being applied is a replayed one: its outputs are dropped. */
  private silent = false;
  private lastCommitBucket: bigint | null = null;
  private maxReleasedTs: bigint | null = null;
  private commits = 0;
  private pending: TaskOutputs = { rows: [], events: [], deadLetters: [] };
  private uncommittedReleases = 0;
  /** Events released into engines since the task started (metrics). */
  released = 0;
  /** Items (events and dead letters) released by the merge since the task started: progress, for stall detection. */
  itemsReleased = 0;
  /** Records ingested since the task started (stall detection: is input still arriving?). */
  ingested = 0;
  /** Records dead-lettered as implausible / late and records clamped, since the task started (metrics). */
  readonly rejected = { implausible: 0, late: 0, clamped: 0 };
  /** The lateness rule at ingest (verdicts) and at the release frontier (what a commit snapshots: a restored task
   *  re-ingests everything unreleased, which must be judged against the state before it, not after). */
  private readonly ingestGuard: LatenessGuard;
  private readonly releasedGuard: LatenessGuard;

  constructor(opts: TaskOptions) {
    this.cfg = opts.cfg;
    this.group = opts.group;
    this.emitFromNs = opts.emitFromNs;
    this.emitUntilNs = opts.emitUntilNs;
    this.nowNs = opts.nowNs;
    this.onTick = opts.onTick;
    this.commitEveryNs = BigInt(opts.cfg.processor.commit_every_ticks) * BigInt(opts.cfg.snap.tick_ms) * 1_000_000n;
    this.streams = new Map(opts.streams.map((s) => [s.topic, s]));
    this.merge = createMerge<MergeItem>(opts.streams.map((s) => ({ stream: s.topic, rank: INPUT_SCHEMA_RANK[s.schema] })));
    const snap = opts.snapshot;
    this.ingestGuard = LatenessGuard.restore(latenessRuleOf(opts.cfg), snap?.late_marks);
    this.releasedGuard = LatenessGuard.restore(latenessRuleOf(opts.cfg), snap?.late_marks);
    if (snap && snap.group !== opts.group) throw new SnapshotError(`snapshot for group ${snap.group} offered to group ${opts.group}`, changelogKey(opts.group));
    for (const s of opts.streams) {
      const fromSnap = snap?.offsets[s.topic];
      const start = fromSnap !== undefined ? BigInt(fromSnap) : opts.startOffsets.get(s.topic);
      if (start === undefined) throw new Error(`no start offset for ${s.topic}[${opts.group}]`);
      this.next.set(s.topic, start);
      const done = opts.committedOffsets?.get(s.topic);
      if (done !== undefined && done > start) this.replayedBelow.set(s.topic, done);
      this.buffered.set(s.topic, []);
      this.bufferedHead.set(s.topic, 0);
      const rts = snap?.released_ts[s.topic];
      if (rts !== undefined) {
        const ts = BigInt(rts);
        this.releasedTs.set(s.topic, ts);
        this.lastTs.set(s.topic, ts);
        this.merge.advance(s.topic, ts);
      }
    }
    if (snap) {
      for (const [underlying, es] of Object.entries(snap.engines)) this.engines.set(underlying, restoreEngine(this.cfg, underlying, es));
      for (const [underlying, src] of Object.entries(snap.sources ?? {})) this.sources.set(underlying, src as Source);
      this.commits = snap.commits;
      const maxRel = Object.values(snap.released_ts).reduce<bigint | null>((m, v) => (m === null || BigInt(v) > m ? BigInt(v) : m), null);
      this.maxReleasedTs = maxRel;
      this.lastCommitBucket = maxRel === null ? null : maxRel / this.commitEveryNs;
    }
  }

  topics(): string[] {
    return [...this.streams.keys()];
  }

  /** Underlyings this group has engines for. */
  underlyings(): string[] {
    return [...this.engines.keys()].sort();
  }

  /** The next offset this task expects from `topic`; records below it were already ingested (or are before the start). */
  expectedOffset(topic: string): bigint {
    const n = this.next.get(topic);
    if (n === undefined) throw new Error(`topic ${topic} is not an input of partition group ${this.group}`);
    return n;
  }

  /**
   * Ingests one record. `decoded` is the codec's result (an event, or the error it threw). Records of one topic must
   * come in offset order; a record below expectedOffset is a re-delivery and ignored (returns false).
   */
  ingest(topic: string, offset: bigint, key: string | null, raw: Buffer | null, decoded: InputEvent | Error): boolean {
    const spec = this.streams.get(topic);
    if (!spec) throw new Error(`topic ${topic} is not an input of partition group ${this.group}`);
    const expected = this.next.get(topic)!;
    if (offset < expected) return false;
    // Offsets may skip (transaction markers, compaction): the next expected is simply past this one.
    this.next.set(topic, offset + 1n);
    this.buffered.get(topic)!.push(offset);
    this.ingested++;

    let poison = decoded instanceof Error ? poisonOf(decoded) : this.validate(spec, decoded);
    let judged: InputEvent | null = null;
    let ev = decoded as InputEvent;
    if (!poison) {
      // The one lateness rule (core lateness.ts), also applied by the embedded runner: parity on any log.
      judged = ev;
      const v = this.ingestGuard.check(spec.schema, ev);
      if (v.kind === 'late') {
        poison = { reason: v.reason, errorClass: 'LateRecord', errorPath: 'ts_event_ns' };
        this.rejected.late++;
      } else {
        if (v.kind === 'clamped') this.rejected.clamped++;
        ev = v.event;
      }
    } else if (poison.errorClass === 'Implausible') this.rejected.implausible++;
    if (poison) {
      // Placed at the stream's last event time, it sorts after everything before it in this topic, so its dead letter
      // is released (and committed) exactly when its offset is: a restart never dead-letters it twice.
      const ts = this.lastTs.get(topic) ?? 0n;
      const deadLetter = this.deadLetterOf(spec, offset, key, raw, poison, decoded instanceof Error ? ts : (decoded as InputEvent).ts_event_ns);
      this.merge.push(topic, ts, offset, { kind: 'poison', topic, offset, deadLetter, judged });
      return true;
    }
    // Placement never goes below the topic's last placement (several underlyings may share this partition; the merge
    // needs each stream in order to release in offset order). With one underlying per partition it is ev's own time.
    const last = this.lastTs.get(topic);
    const at = last !== undefined && last > ev.ts_event_ns ? last : ev.ts_event_ns;
    this.lastTs.set(topic, at);
    this.merge.push(topic, at, offset, { kind: 'event', topic, offset, event: ev, judged: judged! });
    return true;
  }

  /** Releases what every input's watermark allows. */
  pump(): void {
    for (const item of this.merge.release()) this.apply(item);
  }

  /** End of input: release everything buffered regardless of watermarks (no extra ticks are synthesized). */
  drain(): void {
    for (const item of this.merge.drain()) this.apply(item);
  }

  /** Items waiting in the merge for a slower input. */
  bufferedCount(): number {
    let n = 0;
    for (const [t, list] of this.buffered) n += list.length - this.bufferedHead.get(t)!;
    return n;
  }

  /** True when released event time crossed a commit boundary (every commit_every_ticks snap ticks) since the last commit. */
  commitDue(): boolean {
    if (this.uncommittedReleases === 0) return false;
    if (this.pending.rows.length >= 20_000) return true; // memory bound; where a commit falls never changes output bytes
    if (this.maxReleasedTs === null) return false;
    const bucket = this.maxReleasedTs / this.commitEveryNs;
    return this.lastCommitBucket === null || bucket > this.lastCommitBucket;
  }

  /** Anything released since the last commit (output or just progress)? */
  hasUncommitted(): boolean {
    return this.uncommittedReleases > 0;
  }

  /** Output (rows, events, dead letters) waiting for a commit? */
  hasPendingOutput(): boolean {
    return this.pending.rows.length > 0 || this.pending.events.length > 0 || this.pending.deadLetters.length > 0;
  }

  /** Signal rows produced since the last take, in tick order (read-only: metrics). */
  pendingRows(): readonly OutputRow[] {
    return this.pending.rows;
  }

  /** Outputs produced since the last take. */
  takeOutputs(): TaskOutputs {
    const out = this.pending;
    this.pending = { rows: [], events: [], deadLetters: [] };
    return out;
  }

  /** Still re-reading records whose outputs an earlier owner committed (nothing to commit until past them). */
  replaying(): boolean {
    return this.replayedBelow.size > 0;
  }

  /**
   * The offsets (and, unless `withSnapshot` is false, the state) that belong in the same transaction as the outputs
   * taken so far. A snapshot's own offsets always equal its transaction's offsets: a restore resumes there.
   */
  commitPoint(withSnapshot = true): CommitPoint {
    const offsets = new Map<string, bigint>();
    for (const topic of this.streams.keys()) {
      const list = this.buffered.get(topic)!;
      const head = this.bufferedHead.get(topic)!;
      offsets.set(topic, head < list.length ? list[head]! : this.next.get(topic)!);
    }
    const covered = { releases: this.uncommittedReleases, maxReleasedTs: this.maxReleasedTs };
    if (!withSnapshot) return { offsets, ...covered };
    const engines: Record<string, unknown> = {};
    for (const [u, e] of [...this.engines.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) engines[u] = e.capture();
    const snapshot: GroupSnapshot = {
      v: SNAPSHOT_VERSION,
      group: this.group,
      offsets: Object.fromEntries([...offsets].map(([t, o]) => [t, o.toString()])),
      released_ts: Object.fromEntries([...this.releasedTs].map(([t, ts]) => [t, ts.toString()])),
      late_marks: this.releasedGuard.snapshot(),
      engines,
      sources: Object.fromEntries(this.sources),
      commits: this.commits + 1,
    };
    return { offsets, snapshot, ...covered };
  }

  /**
   * The transaction of `point` (the last commitPoint()) committed. The task may have released more since (the
   * processor keeps ingesting while a transaction is in flight): those stay uncommitted. Without `point`: everything
   * released so far.
   */
  markCommitted(point?: CommitPoint): void {
    this.commits++;
    const covered = point ? point.releases : this.uncommittedReleases;
    this.uncommittedReleases = Math.max(0, this.uncommittedReleases - covered);
    const ts = point ? point.maxReleasedTs : this.maxReleasedTs;
    if (ts !== null) this.lastCommitBucket = ts / this.commitEveryNs;
  }

  private apply(item: MergeItem): void {
    const list = this.buffered.get(item.topic)!;
    const head = this.bufferedHead.get(item.topic)!;
    if (list[head] !== item.offset) {
      throw new Error(`merge released ${item.topic}@${item.offset} out of offset order (expected ${String(list[head])}) in partition group ${this.group}`);
    }
    this.bufferedHead.set(item.topic, head + 1);
    if (head + 1 > 1024) {
      list.splice(0, head + 1);
      this.bufferedHead.set(item.topic, 0);
    }
    // The merge releases in one deterministic order and a commit covers a prefix of it, so the records below the
    // committed offsets are exactly the first ones released again after a restore: their outputs are already in the
    // log. Once a record at or past its topic's committed offset is released, every record of that prefix has been
    // (of every topic), so the replay is over.
    if (this.replayedBelow.size > 0) {
      const floor = this.replayedBelow.get(item.topic);
      this.silent = floor !== undefined && item.offset < floor;
      if (!this.silent) this.replayedBelow.clear();
    }
    if (!this.silent) this.uncommittedReleases++;
    this.itemsReleased++;
    if (item.judged) this.releasedGuard.check(this.streams.get(item.topic)!.schema, item.judged);
    if (item.kind === 'poison') {
      if (!this.silent) this.pending.deadLetters.push(item.deadLetter);
      return;
    }
    const ev = item.event;
    this.released++;
    const prev = this.releasedTs.get(item.topic);
    if (prev === undefined || ev.ts_event_ns > prev) this.releasedTs.set(item.topic, ev.ts_event_ns);
    if (this.maxReleasedTs === null || ev.ts_event_ns > this.maxReleasedTs) this.maxReleasedTs = ev.ts_event_ns;
    if (isWildcardHeartbeat(ev)) {
      // A heartbeat for every underlying: advances each engine this group already has.
      for (const [u, engine] of this.engines) this.pushInto(u, engine, ev);
      return;
    }
    let engine = this.engines.get(ev.key);
    if (!engine) {
      engine = createEngine(this.cfg, ev.key);
      this.engines.set(ev.key, engine);
    }
    if (ev.schema !== 'heartbeat.v1') this.sources.set(ev.key, ev.source);
    this.pushInto(ev.key, engine, ev);
  }

  private pushInto(underlying: string, engine: EngineLike, ev: InputEvent): void {
    const source = this.sources.get(underlying) ?? ev.source;
    const t0 = this.onTick ? process.hrtime.bigint() : 0n;
    const payloads = engine.push(ev);
    if (this.onTick && payloads.length) this.onTick(Number(process.hrtime.bigint() - t0) / 1e9);
    if (this.silent) return;
    for (const payload of payloads) {
      for (const row of toSignalRows(payload)) {
        if (this.emitFromNs !== undefined && row.ts_event_ns < this.emitFromNs) continue;
        if (this.emitUntilNs !== undefined && row.ts_event_ns > this.emitUntilNs) continue;
        this.pending.rows.push({ row, source });
      }
      for (const event of payload.events ?? []) {
        const ts = BigInt(event.ts_event_ns);
        if (this.emitFromNs !== undefined && ts < this.emitFromNs) continue;
        if (this.emitUntilNs !== undefined && ts > this.emitUntilNs) continue;
        this.pending.events.push({ event, source });
      }
    }
  }

  /** Validation beyond the codec: right topic, a known underlying, and event time that never goes back. */
  private validate(spec: StreamSpec, ev: InputEvent): PoisonInfo | null {
    if (ev.schema !== spec.schema && ev.schema !== 'heartbeat.v1') {
      return { reason: `record of ${ev.schema} on topic ${spec.topic}, which carries ${spec.schema}`, errorClass: 'WrongTopic', errorPath: 'schema_name' };
    }
    if (isWildcardHeartbeat(ev)) return null;
    if (!ev.key) return { reason: 'empty key (underlying)', errorClass: 'ValidationError', errorPath: 'key' };
    if (!this.cfg.underlyings.includes(ev.key)) {
      return { reason: `key ${JSON.stringify(ev.key)} is not a configured underlying (${this.cfg.underlyings.join(',')})`, errorClass: 'UnknownUnderlying', errorPath: 'key' };
    }
    const implausible = checkPlausible(ev);
    if (implausible) return { reason: `implausible: ${implausible}`, errorClass: 'Implausible', errorPath: implausible.split(' ')[0]! };
    return null;
  }

  private deadLetterOf(spec: StreamSpec, offset: bigint, key: string | null, raw: Buffer | null, p: PoisonInfo, tsEventNs: bigint): DeadLetterRecord {
    const now = this.nowNs();
    return {
      schema_name: 'deadletter.v1',
      schema_version: 1,
      source: 'processor',
      ts_event_ns: tsEventNs,
      ts_recv_ns: now,
      key: key ?? '',
      seq: null,
      event_id: `${spec.topic}:${this.group}:${offset}`,
      reason: p.reason,
      error_class: p.errorClass,
      error_path: p.errorPath,
      source_topic: spec.topic,
      source_partition: this.group,
      source_offset: offset,
      raw: raw ?? Buffer.alloc(0),
      ts_deadletter_ns: now,
    };
  }
}

/** SnapEngine accepts a heartbeat keyed '' or '*' as meant for every underlying. */
const isWildcardHeartbeat = (ev: InputEvent): boolean => ev.schema === 'heartbeat.v1' && (ev.key === '' || ev.key === '*');

function poisonOf(e: Error): PoisonInfo {
  const info = e as Error & { code?: string; path?: string; offset?: number };
  const where = info.path ?? (info.offset !== undefined ? `byte ${info.offset}` : null);
  return { reason: `${info.code ? info.code + ': ' : ''}${e.message}`, errorClass: e.name || 'Error', errorPath: where };
}
