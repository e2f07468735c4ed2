// The consumer loop both fan-out sinks share: a kafkajs consumer group, read_committed, on `levels.signals.v1`
// (and, for Bronze, the input topics). It decodes the Avro envelopes, tracks each partition's position (transaction
// markers and aborted records move it too: they take offsets but never reach the handler), commits the offsets the
// handler says are safe, and with --until-idle stops once every assigned partition is at its last stable offset.
import { hostname } from 'node:os';
import type { Config } from '@snap/core';
import { EnvelopeCodec, createKafka, registryOptions, type Decoded, type Logger } from '@snap/platform';
import type { Admin, Consumer, Kafka, KafkaMessage } from 'kafkajs';
import type { OffsetRecord } from './windows';

export interface AssignedPartition {
  topic: string;
  partition: number;
  /** Where consumption starts: the group's committed offset, else the partition's low watermark. */
  position: bigint;
}

/** What a handler may use while it waits out a store outage inside a batch. */
export interface ConsumerContext {
  /** Keeps the group membership alive during a long wait (a no-op outside a batch); never throws. */
  heartbeat(): Promise<void>;
  /** True once the consumer is stopping: retries give up and the batch stays uncommitted (redone on restart). */
  stopping(): boolean;
}

export interface EnvelopeHandler {
  /** Called once before consumption starts. */
  attach?(ctx: ConsumerContext): void;
  /** A new assignment (every rebalance): drop all per-partition state and start over from these positions. */
  assigned(parts: readonly AssignedPartition[]): void | Promise<void>;
  /** One batch of decoded records in offset order (possibly none) and the position after it; returns the offset now safe to commit, or null. */
  batch(topic: string, partition: number, records: OffsetRecord<Decoded>[], position: bigint): Promise<bigint | null>;
  /** Every assigned partition is caught up: long running, at most every `idleEveryMs`; with untilIdle once, final=true, before stopping. */
  idle(final: boolean): Promise<void>;
  /** Rows held in memory per partition (key `topic:partition`), for the consumer's memory bound (maxBufferedRows). */
  buffered?(): Map<string, number>;
}

export interface EnvelopeConsumerOptions {
  cfg: Config;
  /** Full topic names (with the prefix). */
  topics: string[];
  groupId: string;
  name: string;
  logger: Logger;
  untilIdle?: boolean;
  /** How often a caught-up, long-running consumer calls handler.idle(false); 0 = never. */
  idleEveryMs?: number;
  /**
   * Offsets read since the assignment against the offsets to read (to the end offsets of the last idle check), after
   * every idle check: the CLI's `--until-idle` progress bar. A new assignment starts the count afresh.
   */
  onProgress?: (done: number, total: number) => void;
  /** How often the idle check asks the broker for end offsets (default 250 ms). */
  pollMs?: number;
  /**
   * Consumer-group session timeout (default 10 s). kafkajs' default is 30 s, and a restarted sink waits that long for
   * the group to drop its SIGKILLed predecessor before it gets the partitions back (the 32–35 s resume of issue 8).
   */
  sessionTimeoutMs?: number;
  /**
   * Memory bound: when the handler holds more rows than this (handler.buffered()), every partition but one is paused
   * until the handler's rows fall back under it. The one left running is the partition holding the most rows that
   * still has data to read, so its window closes and is written. Unset: no bound.
   */
  maxBufferedRows?: number;
}

export class SinkError extends Error {
  constructor(
    message: string,
    readonly topic: string,
    readonly partition?: number,
    readonly offset?: bigint,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'SinkError';
  }
}

const tpKey = (topic: string, partition: number) => `${topic}:${partition}`;

/**
 * The memory bound's choice: null while the rows held (summed over `held`) are within `max` (every partition reads);
 * above it, the one partition that keeps reading: the one holding the most rows among those with data left (its
 * window closes soonest and frees the most), or null when none has data left (nothing more can arrive).
 */
export function boundedRunner(held: ReadonlyMap<string, number>, keys: readonly string[], hasData: (k: string) => boolean, max: number): string | null {
  let total = 0;
  for (const n of held.values()) total += n;
  if (total <= max) return null;
  let best: string | null = null;
  for (const k of keys) if (hasData(k) && (best === null || (held.get(k) ?? 0) > (held.get(best) ?? 0))) best = k;
  return best;
}

/** kafkajs error types of an offset commit that lost a race with a rebalance. */
const REBALANCE_ERRORS = new Set(['REBALANCE_IN_PROGRESS', 'ILLEGAL_GENERATION', 'UNKNOWN_MEMBER_ID', 'NOT_COORDINATOR_FOR_GROUP', 'NOT_COORDINATOR', 'FENCED_INSTANCE_ID']);

/** kafkajs' retrier wraps a protocol error it will not retry in KafkaJSNonRetriableError, with the original as cause. */
export function isRebalanceError(e: unknown): boolean {
  const err = e as { type?: string; cause?: { type?: string } } | null;
  return REBALANCE_ERRORS.has(err?.type ?? err?.cause?.type ?? '');
}

export interface EnvelopeConsumerStats {
  rows: number;
  skipped: number;
  commits: number;
}

export class EnvelopeConsumer {
  readonly topics: string[];
  readonly stats: EnvelopeConsumerStats = { rows: 0, skipped: 0, commits: 0 };
  private readonly kafka: Kafka;
  private readonly admin: Admin;
  private readonly codec: EnvelopeCodec;
  private readonly log: Logger;
  private consumer: Consumer | null = null;
  private positions = new Map<string, bigint>();
  private committed = new Map<string, bigint>();
  private assignment: { topic: string; partition: number }[] = [];
  private joined = false;
  private ready: Promise<void> = Promise.resolve();
  private lockTail: Promise<unknown> = Promise.resolve();
  private stopping = false;
  private heartbeatFn: (() => Promise<void>) | null = null;
  /** The runner's heartbeat from the last batch: kafkajs' is not tied to a batch (shared, throttled to the interval),
   *  and a handler waiting outside a batch (an idle flush riding out a store outage) holds the lock every batch needs,
   *  so without it nothing would heartbeat and the group would evict us after sessionTimeout. */
  private lastHeartbeatFn: (() => Promise<void>) | null = null;
  /** Partitions paused by the memory bound, and the latest known end offsets (for "has it data left to read"). */
  private paused = new Set<string>();
  /** Σ positions at the current assignment (reportProgress counts from there). */
  private progressBase = 0n;
  private ends = new Map<string, bigint>();
  private throttled = false;
  private error: unknown = undefined;
  private stopped!: () => void;
  private failed!: (e: unknown) => void;
  private readonly done: Promise<void>;

  constructor(
    readonly opts: EnvelopeConsumerOptions,
    readonly handler: EnvelopeHandler,
  ) {
    this.log = opts.logger;
    this.topics = [...opts.topics];
    this.kafka = createKafka(opts.cfg, { logger: this.log, clientId: `${opts.cfg.kafka.client_id}-${opts.name}-${hostname()}-${process.pid}` });
    this.admin = this.kafka.admin();
    this.codec = new EnvelopeCodec({ ...registryOptions(opts.cfg), compatibility: null });
    this.done = new Promise<void>((resolve, reject) => {
      this.stopped = resolve;
      this.failed = reject;
    });
    // wait() may never be called when start() fails; do not turn that into an unhandled rejection.
    this.done.catch(() => undefined);
    handler.attach?.({
      heartbeat: async () => {
        try {
          await (this.heartbeatFn ?? this.lastHeartbeatFn)?.();
        } catch (e) {
          // A rebalance while we wait: the commit after the batch is then refused and the work redone (onBatch).
          this.log.debug('heartbeat during a wait failed', { error: e as Error });
        }
      },
      stopping: () => this.stopping,
    });
  }

  /** Serializes batches, commits, rebalances and idle flushes. */
  private locked<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lockTail.then(fn, fn);
    this.lockTail = run.catch(() => undefined);
    return run;
  }

  async start(): Promise<void> {
    await this.admin.connect();
    const existing = new Set(await this.admin.listTopics());
    for (const t of this.topics) if (!existing.has(t)) throw new SinkError(`topic ${t} does not exist (create the declared topics first: snap-engine topics apply)`, t);
    const sessionTimeout = this.opts.sessionTimeoutMs ?? 10_000;
    const consumer = this.kafka.consumer({
      groupId: this.opts.groupId,
      readUncommitted: false,
      maxWaitTimeInMs: 250,
      allowAutoTopicCreation: false,
      sessionTimeout,
      heartbeatInterval: Math.max(1000, Math.floor(sessionTimeout / 5)),
    });
    this.consumer = consumer;
    consumer.on(consumer.events.GROUP_JOIN, (e) => {
      const a = e.payload.memberAssignment as Record<string, number[]>;
      this.joined = false;
      // Set synchronously: kafkajs may hand us a batch of the new generation before the positions are known.
      this.ready = this.locked(() => this.onAssignment(a)).catch((err) => this.fail(err));
    });
    // Batches that held only transaction markers / aborted records never reach eachBatch, but move the position.
    consumer.on(consumer.events.END_BATCH_PROCESS, (e) => {
      const b = e.payload as unknown as { topic: string; partition: number; firstOffset: string | null; lastOffset: string; batchSize: number };
      if (b.batchSize !== 0 || b.firstOffset === null) return;
      void this.locked(() => this.onBatch(b.topic, b.partition, [], BigInt(b.lastOffset) + 1n)).catch((err) => this.fail(err));
    });
    consumer.on(consumer.events.CRASH, (e) => {
      if (!e.payload.restart) this.fail(e.payload.error);
    });
    await consumer.connect();
    await consumer.subscribe({ topics: this.topics, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      partitionsConsumedConcurrently: 1,
      eachBatch: async ({ batch, isStale, heartbeat }) => {
        await this.ready;
        if (isStale() || this.stopping) return;
        // firstOffset null: nothing was fetched; lastOffset() would then report the high watermark, which under
        // read_committed may lie past an open transaction.
        if (batch.firstOffset() === null) return;
        const position = BigInt(batch.lastOffset()) + 1n;
        try {
          await this.locked(async () => {
            this.heartbeatFn = heartbeat;
            this.lastHeartbeatFn = heartbeat;
            try {
              await this.onBatch(batch.topic, batch.partition, batch.messages, position);
              this.flowControl();
            } finally {
              this.heartbeatFn = null;
            }
          });
        } catch (err) {
          this.fail(err);
          return;
        }
        await heartbeat();
      },
    });
    this.log.info(`${this.opts.name} started`, { topics: this.topics, group_id: this.opts.groupId, until_idle: !!this.opts.untilIdle });
    void this.idleLoop().catch((e) => this.fail(e));
  }

  wait(): Promise<void> {
    return this.done;
  }

  private async onAssignment(assignment: Record<string, number[]>): Promise<void> {
    this.positions = new Map();
    this.committed = new Map();
    const parts: AssignedPartition[] = [];
    const offsets = await this.admin.fetchOffsets({ groupId: this.opts.groupId, topics: this.topics });
    for (const topic of this.topics) {
      const partitions = assignment[topic] ?? [];
      if (!partitions.length) continue;
      const offs = new Map((offsets.find((t) => t.topic === topic)?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)] as const));
      const low = new Map((await this.admin.fetchTopicOffsets(topic)).map((o) => [o.partition, BigInt(o.low)]));
      for (const partition of partitions) {
        const c = offs.get(partition) ?? -1n;
        const lo = low.get(partition) ?? 0n;
        // A committed offset below the low watermark was deleted by retention: the consumer resets to the earliest.
        const position = c >= 0n && c >= lo ? c : lo;
        this.positions.set(tpKey(topic, partition), position);
        this.committed.set(tpKey(topic, partition), c >= 0n ? c : -1n);
        parts.push({ topic, partition, position });
      }
    }
    this.assignment = parts.map(({ topic, partition }) => ({ topic, partition }));
    this.progressBase = parts.reduce((sum, p) => sum + p.position, 0n);
    // A rebalance resets kafkajs' pause state along with ours.
    this.paused = new Set();
    this.throttled = false;
    await this.handler.assigned(parts);
    this.joined = true;
    this.log.info('partitions assigned', { positions: Object.fromEntries(parts.map((p) => [tpKey(p.topic, p.partition), p.position])) });
  }

  private async onBatch(topic: string, partition: number, messages: KafkaMessage[], position: bigint): Promise<void> {
    const k = tpKey(topic, partition);
    const at = this.positions.get(k);
    if (at === undefined || this.stopping) return; // not (or no longer) ours
    const records: OffsetRecord<Decoded>[] = [];
    for (const m of messages) {
      const offset = BigInt(m.offset);
      if (offset < at) continue; // re-delivered below our position (a fetch raced a commit)
      if (!m.value) {
        this.stats.skipped++;
        this.log.error('record without a value skipped', { topic, partition, offset });
        continue;
      }
      try {
        records.push({ offset, row: await this.codec.decode(m.value) });
      } catch (e) {
        // Producers write through the same codec (and dead-letter what fails it), so this is a foreign writer: the
        // record cannot be placed, and stopping would block every later one. Logged with its coordinates.
        this.stats.skipped++;
        this.log.error('undecodable record skipped', { topic, partition, offset, error: e as Error });
      }
    }
    if (position <= at && records.length === 0) return;
    this.stats.rows += records.length;
    const commit = await this.handler.batch(topic, partition, records, position > at ? position : at);
    if (position > at) this.positions.set(k, position);
    if (commit !== null && commit > (this.committed.get(k) ?? -1n)) {
      try {
        await this.consumer!.commitOffsets([{ topic, partition, offset: commit.toString() }]);
      } catch (e) {
        // The group is rebalancing: the partition's next owner (maybe us) restarts from the last committed offset
        // and redoes the work, which rewrites the same objects / replays harmlessly. Not a failure.
        if (!isRebalanceError(e)) throw e;
        this.log.warn('offset commit refused by a rebalance; the work is redone from the last commit', { topic, partition, offset: commit, error: e as Error });
        return;
      }
      this.committed.set(k, commit);
      this.stats.commits++;
      this.log.debug('offsets committed', { topic, partition, offset: commit });
    }
  }

  /** Every assigned partition at its last stable offset (admin list-offsets is read_committed). */
  private async caughtUp(): Promise<boolean> {
    if (!this.joined) return false;
    let all = true;
    // Every topic is asked (not only up to the first lagging one): the memory bound needs every partition's end.
    for (const topic of new Set(this.assignment.map((a) => a.topic))) {
      const ends = new Map((await this.admin.fetchTopicOffsets(topic)).map((o) => [o.partition, BigInt(o.high)]));
      for (const a of this.assignment) {
        if (a.topic !== topic) continue;
        const end = ends.get(a.partition) ?? 0n;
        this.ends.set(tpKey(topic, a.partition), end);
        if ((this.positions.get(tpKey(topic, a.partition)) ?? -1n) < end) all = false;
      }
    }
    return all;
  }

  /** Σ positions since the assignment's, against Σ end offsets (known once caughtUp() has run). */
  private reportProgress(): void {
    if (!this.opts.onProgress || !this.joined) return;
    let pos = 0n;
    let end = 0n;
    for (const a of this.assignment) {
      const k = tpKey(a.topic, a.partition);
      const p = this.positions.get(k) ?? 0n;
      const e = this.ends.get(k) ?? p;
      pos += p;
      // A position past the last known end (ends are refreshed only by the idle check) counts as the end.
      end += e > p ? e : p;
    }
    this.opts.onProgress(Number(pos - this.progressBase), Number(end - this.progressBase));
  }

  /**
   * The memory bound (maxBufferedRows). Pausing never loses a record: kafkajs drops fetched data of a paused
   * partition and fetches it again from the same offset after resume, and a batch already handed to us is handled
   * whole. Progress is guaranteed because the partition left running always has data left (else the bound is lifted:
   * nothing more can arrive to grow memory) and its open window closes within flush_rows offsets.
   */
  private flowControl(): void {
    const max = this.opts.maxBufferedRows;
    const held = this.handler.buffered?.();
    if (!max || !held || !this.consumer || !this.joined) return;
    let total = 0;
    for (const n of held.values()) total += n;
    const keys = this.assignment.map((a) => tpKey(a.topic, a.partition));
    const hasData = (k: string) => (this.positions.get(k) ?? -1n) < (this.ends.get(k) ?? BigInt(Number.MAX_SAFE_INTEGER));
    const runner = boundedRunner(held, keys, hasData, max);
    const want = new Set(runner === null ? [] : keys.filter((k) => k !== runner));
    const toPause = [...want].filter((k) => !this.paused.has(k));
    const toResume = [...this.paused].filter((k) => !want.has(k));
    const split = (list: string[]) => list.map((k) => ({ topic: k.slice(0, k.lastIndexOf(':')), partitions: [Number(k.slice(k.lastIndexOf(':') + 1))] }));
    if (toResume.length) this.consumer.resume(split(toResume));
    if (toPause.length) this.consumer.pause(split(toPause));
    this.paused = want;
    if (runner !== null && !this.throttled) {
      this.throttled = true;
      this.log.info('buffer above the memory bound: reading one partition until its window is written', { buffered_rows: total, max_buffer_rows: max, reading: runner });
    } else if (runner === null && this.throttled) {
      this.throttled = false;
      this.log.info('buffer back under the memory bound: reading every partition', { buffered_rows: total, max_buffer_rows: max });
    }
  }

  private async idleLoop(): Promise<void> {
    const poll = this.opts.pollMs ?? 250;
    const every = this.opts.idleEveryMs ?? 0;
    let lastIdle = Date.now();
    let lastProgress = Date.now();
    while (!this.stopping) {
      await new Promise((r) => setTimeout(r, poll));
      if (this.stopping) return;
      if (Date.now() - lastProgress >= 5000) {
        lastProgress = Date.now();
        const mem = process.memoryUsage();
        const mb = (n: number) => Math.round(n / 1_048_576);
        const held = this.handler.buffered?.();
        this.log.info('progress', {
          ...this.stats,
          positions: Object.fromEntries([...this.positions].map(([k, v]) => [k, v])),
          // Where memory goes (issue 8: 700 MB for 200k rows): rows held by the handler, JS heap, and off-heap buffers.
          ...(held ? { buffered_rows: [...held.values()].reduce((a, b) => a + b, 0) } : {}),
          rss_mb: mb(mem.rss),
          heap_used_mb: mb(mem.heapUsed),
          external_mb: mb(mem.external),
          array_buffers_mb: mb(mem.arrayBuffers),
        });
      }
      const caught = await this.caughtUp();
      this.reportProgress();
      // With fresh end offsets: a running partition that ran dry hands over to one that has data.
      if (this.opts.maxBufferedRows) await this.locked(async () => this.flowControl());
      if (!caught) continue;
      if (this.opts.untilIdle) {
        const finished = await this.locked(async () => {
          if (!(await this.caughtUp())) return false;
          await this.handler.idle(true);
          return true;
        });
        if (finished) {
          this.log.info('caught up; everything written and committed', { ...this.stats });
          await this.stop();
          return;
        }
      } else if (every > 0 && Date.now() - lastIdle >= every) {
        lastIdle = Date.now();
        await this.locked(() => this.handler.idle(false));
      }
    }
  }

  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    // Wait for the batch in flight; nothing uncommitted is lost: a restart re-reads from the committed offsets.
    await this.locked(async () => undefined);
    await this.consumer?.disconnect().catch(() => undefined);
    await this.admin.disconnect().catch(() => undefined);
    this.log.info(`${this.opts.name} stopped`, { ...this.stats });
    if (this.error !== undefined) this.failed(this.error);
    else this.stopped();
  }

  private fail(e: unknown): void {
    if (this.stopping) return;
    this.error = e;
    this.log.error(`${this.opts.name} failed`, { error: e as Error });
    void this.stop();
  }
}
