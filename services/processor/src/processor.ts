// The processor on Kafka: a consumer group over every input topic, assigned by partition group (assigner.ts); per
// group a PartitionGroupTask (merge → engines) whose output — signal rows, dead letters, a state snapshot into the
// compacted changelog and the input offsets — commits in ONE Kafka transaction under the transactional.id
// `${transactional_id_prefix}-p${group}`. A restarted or rebalanced owner initializes that transactional.id (which
// fences the previous owner and aborts its open transaction), restores the last committed snapshot, and resumes at
// the offsets recorded in it: no duplicate, no gap. See docs/processor.md.
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import type { Server } from 'node:http';
import { InputDiagnostics, processorInputs, type Config, type DataInputSchema } from '@snap/core';
import {
  CHANGELOG_MAX_MESSAGE_BYTES,
  CHANGELOG_TOPIC,
  DEADLETTER_TOPIC,
  EnvelopeCodec,
  SIGNALS_TOPIC,
  EVENTS_TOPIC,
  createKafka,
  createLogger,
  createTransactionalProducer,
  processorGroupId,
  processorTransactionalId,
  signalRowToRecord,
  levelEventToRecord,
  systemClock,
  topicName,
  type Clock,
  type DeadLetterRecord,
  type Logger,
  registryOptions,
  partitionForKey,
  sendTxOffsets,
} from '@snap/platform';
import { ConfigResourceTypes, type Admin, type Consumer, type Kafka, type KafkaMessage, type Message, type Producer } from 'kafkajs';
import { PartitionGroupAssigner, partitionGroupsOf } from './assigner';
import { decodeInputValue, decodeInputValueSync, partitionOffsets, readLatestByKey, tpKey } from './kafka-io';
import { ProcessorMetrics, startHttp } from './metrics';
import { BookWatch } from './book-watch';
import { changelogKey, decodeSnapshot, encodeSnapshotAsync, encodeSnapshotSliced, type GroupSnapshot } from './snapshot';
import { PartitionGroupTask, type StreamSpec, type TaskOutputs } from './task';

export interface ProcessorOptions {
  cfg: Config;
  /** Exit once every assigned input partition is at its end offset, the merge is drained and everything committed. */
  untilIdle?: boolean;
  logger?: Logger;
  clock?: Clock;
  /** Override http.port (0 = any free port); null = no HTTP endpoint. */
  httpPort?: number | null;
  metrics?: ProcessorMetrics;
}

/** Max records per produce call inside a transaction: keeps each record batch far below the broker's 1 MB limit. */
const SEND_CHUNK = 500;
/** Kafka's default max.message.bytes (used when the topic's own value cannot be read). */
const DEFAULT_MAX_MESSAGE_BYTES = 1_048_588;
/** Room left in a dead-letter record batch for the batch header, record framing, key and timestamp. */
const RECORD_OVERHEAD_BYTES = 1024;
/** Longest reason kept in a dead letter (a decoder message can quote the record). */
const MAX_REASON_CHARS = 2000;

/**
 * A dead letter that fits in one record of `maxBytes`: when the original record's bytes would not fit (a record at the
 * broker's size limit cannot be re-sent inside a larger envelope), they are truncated and the reason says so with the
 * original length and its sha256; source_topic/partition/offset still name the original. Pure (tests drive it).
 */
export function fitDeadLetter(d: DeadLetterRecord, maxBytes: number, encodedSize: (d: DeadLetterRecord) => number): DeadLetterRecord {
  let out = d.reason.length > MAX_REASON_CHARS ? { ...d, reason: `${d.reason.slice(0, MAX_REASON_CHARS)}… (reason truncated)` } : d;
  const budget = maxBytes - RECORD_OVERHEAD_BYTES;
  const size = encodedSize(out);
  if (size <= budget) return out;
  const raw = out.raw;
  const digest = createHash('sha256').update(raw).digest('hex');
  const note = `; raw truncated from ${raw.length} to KEEP bytes to fit max.message.bytes ${maxBytes} (sha256 of the original ${digest})`;
  // Room for the longer reason (the note) and a varint or two of length growth.
  const keep = Math.max(0, raw.length - (size - budget) - note.length - 32);
  out = { ...out, reason: out.reason + note.replace('KEEP', String(keep)), raw: raw.subarray(0, keep) };
  return out;
}

interface GroupState {
  task: PartitionGroupTask;
  producer: Producer;
  /** Wall ms of this task's last changelog snapshot; null before its first commit (which always writes one). */
  snapshotAtMs: number | null;
  /** Wall ms of this task's last commit (or of its build). */
  committedAtMs: number;
  /**
   * A live snapshot captured at a transaction's commit point and being written to gzip'd JSON in slices while the group
   * goes on; the first transaction after its bytes are ready carries it (see commit). One at a time.
   */
  background: BackgroundSnapshot | null;
  /** The transaction in flight (resolves false when it failed and the group was dropped): one at a time per group. */
  inflight: Promise<boolean> | null;
}

/** A snapshot in the making: its bytes once encodeSnapshotSliced finishes, or why it failed. */
interface BackgroundSnapshot {
  bytes: Buffer | null;
  error: Error | null;
}

/** Encoded (or failed): ready to ride in the next transaction. */
const finished = (bg: BackgroundSnapshot | null): bg is BackgroundSnapshot => bg !== null && (bg.bytes !== null || bg.error !== null);

/**
 * A caught-up group commits at once when it has output (signal rows, events, dead letters: latency is what a live
 * consumer waits for), but progress alone (offsets) at most this often. Committing after every fetched batch made
 * each transaction wait for the coordinator to finish the previous one (CONCURRENT_TRANSACTIONS, retried with
 * backoff) and cost the caught-up processor most of its time in transaction round trips.
 */
const PROGRESS_COMMIT_MS = 1000;

export class ProcessorError extends Error {
  constructor(
    message: string,
    readonly topic?: string,
  ) {
    super(message);
    this.name = 'ProcessorError';
  }
}

const isFencing = (e: unknown): boolean => {
  const t = (e as { type?: string; name?: string })?.type ?? '';
  return /PRODUCER_FENCED|INVALID_PRODUCER_EPOCH|TRANSACTIONAL_ID_AUTHORIZATION|FENCED_INSTANCE_ID/.test(t) || /fenced/i.test(String((e as Error)?.message));
};

export class Processor {
  readonly cfg: Config;
  readonly metrics: ProcessorMetrics;
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly untilIdle: boolean;
  private readonly httpPortOverride: number | null | undefined;
  private readonly kafka: Kafka;
  private readonly admin: Admin;
  private readonly codec: EnvelopeCodec;
  private consumer: Consumer | null = null;
  private server: Server | null = null;
  /** Full input topic name → data schema. */
  private readonly inputs = new Map<string, DataInputSchema>();
  private readonly signalsTopic: string;
  private readonly eventsTopic: string;
  private readonly changelogTopic: string;
  private readonly deadletterTopic: string;
  private changelogPartitions = 1;
  private assigned = new Set<number>();
  private joined = false;
  private readonly groups = new Map<number, Promise<GroupState | null>>();
  /** Consumption position (incl. control records) and end offset per input topic-partition. */
  private readonly positions = new Map<string, { at: bigint; high: bigint }>();
  private lockTail: Promise<unknown> = Promise.resolve();
  private stopping = false;
  private stopped!: () => void;
  private failed!: (e: unknown) => void;
  private readonly done: Promise<void>;
  httpPort: number | null = null;

  constructor(opts: ProcessorOptions) {
    this.cfg = opts.cfg;
    this.log = opts.logger ?? createLogger({ name: 'processor', level: opts.cfg.log.level });
    this.clock = opts.clock ?? systemClock;
    this.untilIdle = opts.untilIdle ?? false;
    this.httpPortOverride = opts.httpPort;
    this.metrics = opts.metrics ?? new ProcessorMetrics();
    this.books = new BookWatch(opts.cfg);
    this.inputIssues = new InputDiagnostics(opts.cfg);
    this.groupId = processorGroupId(opts.cfg);
    this.kafka = createKafka(opts.cfg, { logger: this.kafkaLogger(), clientId: `${opts.cfg.kafka.client_id}-processor-${hostname()}-${process.pid}` });
    this.admin = this.kafka.admin();
    this.codec = new EnvelopeCodec(registryOptions(opts.cfg));
    for (const s of processorInputs(opts.cfg)) this.inputs.set(topicName(opts.cfg, s), s);
    this.signalsTopic = topicName(opts.cfg, SIGNALS_TOPIC);
    this.eventsTopic = topicName(opts.cfg, EVENTS_TOPIC);
    this.changelogTopic = topicName(opts.cfg, CHANGELOG_TOPIC);
    this.deadletterTopic = topicName(opts.cfg, DEADLETTER_TOPIC);
    this.done = new Promise<void>((resolve, reject) => {
      this.stopped = resolve;
      this.failed = reject;
    });
  }

  /** Serializes everything that touches tasks (batches, commits, rebalances, the idle drain). */
  private locked<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lockTail.then(fn, fn);
    this.lockTail = run.catch(() => undefined);
    return run;
  }

  health() {
    const stalled = this.stalled;
    const staleBooks = this.books.staleBooks();
    const reasons = [...stalled.map((s) => s.reason), ...staleBooks.map((b) => b.reason)];
    return {
      ok: this.joined && !this.stopping && stalled.length === 0 && staleBooks.length === 0,
      ...(reasons.length ? { reason: reasons.join('; ') } : {}),
      stale_books: staleBooks,
      joined: this.joined,
      group_id: this.groupId,
      assigned_groups: [...this.assigned].sort((a, b) => a - b),
      stalled_groups: stalled,
      inputs: [...this.inputs.keys()],
    };
  }

  /** For the liveness probe: what a restart could fix (a stalled partition group), not a silent upstream. */
  liveness() {
    return { ok: !this.stopping && this.stalled.length === 0, stalled_groups: this.stalled };
  }

  /**
   * kafkajs logs every retriable broker error response before retrying it. CONCURRENT_TRANSACTIONS (the coordinator
   * still completing our previous commit when the next transaction adds partitions/offsets) is routine with one
   * transaction per commit point: kafkajs retries it with backoff, and a retry that finally fails throws out of
   * commit(), which drops and rebuilds the group from its last commit. So those lines are counted and summarized in
   * one warn per 30 s (debug each); everything else passes through.
   */
  private kafkaLogger(): Logger {
    const base = this.log;
    const isConcurrent = (msg: string, f?: Record<string, unknown>) =>
      /CONCURRENT_TRANSACTIONS|concurrent transaction|another concurrent operation on the same transaction/i.test(`${msg} ${String(f?.error ?? '')} ${String(f?.type ?? '')}`);
    const route = (level: 'warn' | 'error') => (msg: string, f?: Record<string, unknown>) => {
      if (!isConcurrent(msg, f)) return base[level](msg, f);
      this.concurrentTx++;
      this.metrics.concurrentTransactions.inc();
      base.debug(msg, f);
      const now = Date.now();
      if (now - this.concurrentTxLoggedAt >= 30_000) {
        base.warn('kafka: CONCURRENT_TRANSACTIONS responses retried (routine after a commit; summarized every 30 s)', { count: this.concurrentTx });
        this.concurrentTx = 0;
        this.concurrentTxLoggedAt = now;
      }
    };
    return { debug: (m, f) => base.debug(m, f), info: (m, f) => base.info(m, f), warn: route('warn'), error: route('error'), child: (f) => base.child(f) };
  }

  /** Starts consuming; resolves when running. `wait()` resolves when the processor stops (or, with untilIdle, is done). */
  async start(): Promise<void> {
    await this.admin.connect();
    await this.checkTopics();
    await this.codec.register(this.signalsTopic, 'levels.signals.v1');
    await this.codec.register(this.eventsTopic, 'levels.events.v1');
    await this.codec.register(this.deadletterTopic, 'deadletter.v1');
    this.deadletterMaxBytes = await this.topicMaxMessageBytes(this.deadletterTopic);
    this.changelogMaxBytes = await this.topicMaxMessageBytes(this.changelogTopic);
    if (this.httpPortOverride !== null) {
      const { server, port } = await startHttp(this.httpPortOverride ?? this.cfg.http.port, this.metrics, this);
      this.server = server;
      this.httpPort = port;
    }
    const consumer = this.kafka.consumer({
      groupId: this.groupId,
      partitionAssigners: [PartitionGroupAssigner],
      sessionTimeout: this.cfg.processor.session_timeout_ms,
      heartbeatInterval: Math.min(3000, Math.floor(this.cfg.processor.session_timeout_ms / 3)),
      readUncommitted: false,
      maxWaitTimeInMs: 200,
      allowAutoTopicCreation: false,
      // A broker restart can exhaust kafkajs' retries ("Failed to find group coordinator", connection refused), which
      // it treats as non-retriable and would stop the consumer: restart it instead (it rejoins, every group is rebuilt
      // from its last commit). Our own errors (co-partitioning, processor failures) still stop the processor.
      retry: {
        restartOnFailure: async (e: Error) => {
          const ours = e instanceof ProcessorError || e.name === 'CoPartitioningError';
          if (!ours && !this.stopping) this.log.warn('kafka consumer failed; restarting it (every partition group is rebuilt from its last commit)', { error: e });
          return !ours && !this.stopping;
        },
      },
    });
    this.consumer = consumer;
    consumer.on(consumer.events.REBALANCING, () => {
      this.rebalancing = true;
    });
    consumer.on(consumer.events.GROUP_JOIN, (e) => {
      const assignment = e.payload.memberAssignment as Record<string, number[]>;
      void this.locked(() => this.onAssignment(assignment)).catch((err) => this.fail(err));
    });
    // Batches of only control records (transaction markers) never reach eachBatch; count them when they start
    // exactly at our position (a stale pre-seek batch starts elsewhere and must not move it).
    consumer.on(consumer.events.END_BATCH_PROCESS, (e) => {
      const b = e.payload as unknown as { topic: string; partition: number; firstOffset: string | null; lastOffset: string; highWatermark: string; batchSize: number };
      const pos = this.positions.get(tpKey(b.topic, b.partition));
      if (b.batchSize === 0 && pos && b.firstOffset !== null && BigInt(b.firstOffset) === pos.at) {
        this.notePosition(b.topic, b.partition, BigInt(b.lastOffset) + 1n, BigInt(b.highWatermark));
      }
    });
    consumer.on(consumer.events.CRASH, (e) => {
      if (!e.payload.restart) this.fail(e.payload.error);
    });
    await consumer.connect();
    await consumer.subscribe({ topics: [...this.inputs.keys()], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 1,
      eachBatch: async ({ batch, resolveOffset, heartbeat, isStale }) => {
        if (isStale() || this.stopping) return;
        const processed = await this.onBatch(batch.topic, batch.partition, batch.messages, resolveOffset, isStale, () => {
          this.notePosition(batch.topic, batch.partition, BigInt(batch.lastOffset()) + 1n, BigInt(batch.highWatermark));
        });
        if (processed) await heartbeat();
      },
    });
    this.supervisor = setInterval(() => void this.supervise(), Math.min(1000, Math.max(100, Math.floor(this.cfg.processor.stall_timeout_ms / 4))));
    this.log.info('processor started', { group_id: this.groupId, transactional_id_prefix: processorTransactionalId(this.cfg, 0).replace(/-p0$/, ''), inputs: [...this.inputs.keys()], signals: this.signalsTopic, http_port: this.httpPort, until_idle: this.untilIdle });
    if (this.untilIdle) void this.idleLoop().catch((e) => this.fail(e));
  }

  wait(): Promise<void> {
    return this.done;
  }

  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.joined = false;
    if (this.supervisor) clearInterval(this.supervisor);
    // Commit what is committable (not drained: live watermarks still hold the rest), then leave the group.
    await this.locked(async () => {
      for (const p of [...this.groups.keys()]) {
        const st = await this.groups.get(p)?.catch(() => null);
        if (st?.inflight && !(await st.inflight)) continue; // failed: dropped, its work is redone from the last commit
        if (st && this.ready.get(p) === st && st.task.hasUncommitted()) await this.commit(p, st, true).catch((e) => this.log.warn('final commit failed', { group: p, error: e as Error }));
      }
    });
    await this.consumer?.disconnect().catch(() => undefined);
    for (const p of [...this.groups.keys()]) await this.dropGroup(p);
    await this.admin.disconnect().catch(() => undefined);
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
    this.log.info('processor stopped');
    if (this.failure !== undefined) this.failed(this.failure);
    else this.stopped();
  }

  private fail(e: unknown): void {
    if (this.failure !== undefined) return;
    this.failure = e ?? new ProcessorError('processor failed');
    this.log.error('processor failed', { error: e as Error });
    // stop() settles wait() with the failure (it used to resolve first, so every failure exited 0).
    void this.stop();
  }
  private failure: unknown = undefined;

  private async checkTopics(): Promise<void> {
    const existing = new Set(await this.admin.listTopics());
    for (const t of [...this.inputs.keys(), this.signalsTopic, this.eventsTopic, this.changelogTopic, this.deadletterTopic]) {
      if (!existing.has(t)) throw new ProcessorError(`topic ${t} does not exist (create the declared topics first: snap-engine topics apply)`, t);
    }
    const meta = await this.admin.fetchTopicMetadata({ topics: [...this.inputs.keys(), this.changelogTopic] });
    const counts = new Map(meta.topics.map((t) => [t.name, t.partitions.length]));
    const inputCounts = [...this.inputs.keys()].map((t) => [t, counts.get(t)!] as const);
    const [t0, n0] = inputCounts[0]!;
    for (const [t, n] of inputCounts) {
      if (n !== n0) throw new ProcessorError(`input topics are not co-partitioned: ${t0} has ${n0} partitions, ${t} has ${n}`, t);
    }
    this.changelogPartitions = counts.get(this.changelogTopic)!;
  }

  /** Input topics with at least one record retained. */
  private async topicsWithData(): Promise<string[]> {
    const out: string[] = [];
    for (const topic of this.inputs.keys()) {
      const ends = await partitionOffsets(this.admin, topic).catch(() => null);
      if (ends && [...ends.values()].some((o) => o.high > o.low)) out.push(topic);
    }
    return out;
  }

  /** The topic's max.message.bytes (what one record batch may be), or Kafka's default when it cannot be read. */
  private async topicMaxMessageBytes(topic: string): Promise<number> {
    try {
      const r = await this.admin.describeConfigs({ includeSynonyms: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: ['max.message.bytes'] }] });
      const v = Number(r.resources[0]?.configEntries.find((c) => c.configName === 'max.message.bytes')?.configValue);
      return Number.isFinite(v) && v > 0 ? v : DEFAULT_MAX_MESSAGE_BYTES;
    } catch (e) {
      this.log.warn('could not read max.message.bytes of the topic; assuming the Kafka default', { topic, error: e as Error, assumed: DEFAULT_MAX_MESSAGE_BYTES });
      return DEFAULT_MAX_MESSAGE_BYTES;
    }
  }

  /**
   * Once a second (at most): rebuild any assigned group that has no task (a failed build is retried here, so a group
   * whose input was all fetched before it was dropped is not left without a task), refresh end offsets (a group that
   * gets no batches would otherwise show lag 0), and judge liveness: a group with input — lag, or records fetched
   * but not released — that released nothing for processor.stall_timeout_ms makes /healthz 503, naming it.
   */
  private async supervise(): Promise<void> {
    if (this.supervising || this.stopping || !this.joined) return;
    this.supervising = true;
    try {
      for (const p of [...this.toRebuild]) {
        if (this.assigned.has(p)) this.rebuildSoon(p);
        else this.toRebuild.delete(p);
      }
      // Progress held back by PROGRESS_COMMIT_MS when no further batch came to commit it.
      for (const [p, st] of this.ready) {
        if (this.caughtUpCommitDue(p, st)) {
          void this.locked(async () => {
            if (this.ready.get(p) === st && !this.stopping && this.caughtUpCommitDue(p, st)) await this.commitOrDrop(p, st);
          }).catch((e) => this.log.warn('progress commit failed', { group: p, error: e as Error }));
        } else if (this.backgroundSnapshotDue(st)) {
          void this.locked(async () => {
            if (this.ready.get(p) === st && !this.stopping) await this.commitOrDrop(p, st, false, false, true);
          }).catch((e) => this.log.warn('snapshot commit failed', { group: p, error: e as Error }));
        }
      }
      for (const topic of this.inputs.keys()) {
        const ends = await partitionOffsets(this.admin, topic).catch(() => null);
        if (!ends) continue; // broker unreachable: keep the last known ends
        // Kept apart from `positions`: those highs come from fetches and drive commit-on-caught-up (a live stream
        // would otherwise never look caught up, and commits would only fall on commit_every_ticks boundaries).
        for (const p of this.assigned) {
          const high = ends.get(p)?.high;
          if (high === undefined) continue;
          const k = tpKey(topic, p);
          this.latestEnds.set(k, high);
          const pos = this.positions.get(k);
          if (pos) {
            const lag = high - pos.at;
            this.metrics.lag.set({ topic, partition: String(p) }, Number(lag > 0n ? lag : 0n));
          }
        }
      }
      const now = Date.now();
      const stalled: typeof this.stalled = [];
      for (const p of this.assigned) {
        let pr = this.progress.get(p);
        if (!pr) this.progress.set(p, (pr = { task: null, items: 0, atMs: now, ingested: 0, ingestAtMs: 0 }));
        const task = this.ready.get(p)?.task ?? null;
        if (task !== pr.task) {
          pr.task = task;
          pr.items = task?.itemsReleased ?? 0;
          pr.ingested = task?.ingested ?? 0;
        } else if (task) {
          if (task.itemsReleased !== pr.items) {
            pr.items = task.itemsReleased;
            pr.atMs = now;
          }
          if (task.ingested !== pr.ingested) {
            pr.ingested = task.ingested;
            pr.ingestAtMs = now;
          }
        }
        let lag = 0n;
        for (const topic of this.inputs.keys()) {
          const pos = this.positions.get(tpKey(topic, p));
          if (!pos) continue;
          const exp = task?.expectedOffset(topic) ?? pos.at;
          const at = exp > pos.at ? exp : pos.at;
          const e = this.latestEnds.get(tpKey(topic, p)) ?? 0n;
          const high = e > pos.high ? e : pos.high;
          if (high > at) lag += high - at;
        }
        const buffered = task?.bufferedCount() ?? 0;
        // Records held by the merge while input still arrives = an input stream holds the group back. Held while
        // nothing arrives is the end of the input (the tick after the last record waits for a later record or
        // heartbeat, as at the end of a replay): idle, not stalled — a restart would not change it.
        const holding = buffered > 0 && now - pr.ingestAtMs <= this.cfg.processor.stall_timeout_ms;
        if (lag === 0n && !holding) {
          pr.atMs = now;
          continue;
        }
        const idleMs = now - pr.atMs;
        if (idleMs > this.cfg.processor.stall_timeout_ms) {
          const underlyings = task?.underlyings() ?? [];
          stalled.push({
            group: p,
            underlyings,
            since_ms: idleMs,
            reason: `partition group ${p}${underlyings.length ? ` (${underlyings.join(',')})` : ''} has input (lag ${lag}, ${buffered} fetched but unreleased) and released nothing for ${Math.round(idleMs / 1000)} s${task ? '' : ': its task is not built'}`,
          });
        }
      }
      this.judgeBooks(now);
      if (stalled.length && !this.stalled.length) this.log.error('partition group stalled; /healthz reports 503', { stalled });
      this.stalled = stalled;
      this.metrics.stalled.set(stalled.length);
    } catch (e) {
      this.log.warn('supervisor pass failed', { error: e as Error });
    } finally {
      this.supervising = false;
    }
  }

  /** Underlyings this instance owns (their partition group is assigned here) are watched for a silent book source. */
  private readonly books: BookWatch;
  /** Which input is missing or stale per underlying (core input-needs.ts): each named once in the log, with its fix. */
  private readonly inputIssues: InputDiagnostics;

  private judgeBooks(now: number): void {
    const { turnedStale, recovered } = this.books.check(now);
    for (const b of turnedStale) {
      this.log.error(`book source stale for ${b.underlying}; /healthz reports 503`, { underlying: b.underlying, source: b.source, futures_symbol: b.futures_symbol, silent_ms: b.silent_ms, reason: b.reason });
      this.metrics.bookStale.set({ underlying: b.underlying, source: b.source }, 1);
    }
    for (const u of recovered) {
      this.log.info(`book source of ${u} is sending again`, { underlying: u });
      this.metrics.bookStale.set({ underlying: u, source: this.books.sourceOf(u) }, 0);
    }
  }

  private notePosition(topic: string, partition: number, at: bigint, high: bigint): void {
    if (!this.inputs.has(topic)) return;
    const k = tpKey(topic, partition);
    const cur = this.positions.get(k);
    const next = { at: cur && cur.at > at ? cur.at : at, high: cur && cur.high > high ? cur.high : high };
    this.positions.set(k, next);
    const lag = next.high - next.at;
    this.metrics.lag.set({ topic, partition: String(partition) }, Number(lag > 0n ? lag : 0n));
  }

  private async onAssignment(assignment: Record<string, number[]>): Promise<void> {
    const mine: Record<string, number[]> = {};
    for (const [t, ps] of Object.entries(assignment)) if (this.inputs.has(t)) mine[t] = ps;
    const next = new Set(partitionGroupsOf(mine));
    // Every rebalance rebuilds every task from its last commit, also for groups we keep: had we been kicked out
    // meanwhile, another instance may have committed past our in-memory state. Uncommitted work is redone, never lost.
    for (const p of [...this.groups.keys()]) await this.dropGroup(p);
    this.assigned = next;
    this.joined = true;
    this.metrics.assigned.set(next.size);
    this.books.watch(this.cfg.underlyings.filter((u) => next.has(partitionForKey(u, this.cfg.kafka.partitions))), Date.now());
    for (const u of this.books.watched()) this.metrics.bookStale.set({ underlying: u, source: this.books.sourceOf(u) }, 0);
    this.progress.clear();
    this.toRebuild.clear();
    this.rebalancing = false;
    const now = Date.now();
    for (const p of next) this.progress.set(p, { task: null, items: 0, atMs: now, ingested: 0, ingestAtMs: 0 });
    this.log.info('partition groups assigned', { group_id: this.groupId, groups: [...next].sort((a, b) => a - b) });
    this.idleWithData = null;
    if (next.size === 0) {
      // Usually another member of the same group id owns everything (more instances than partitions, or — the failure
      // this names — another environment sharing the group id on one cluster). Say so when there is input to process.
      const withData = await this.topicsWithData();
      if (withData.length) {
        this.idleWithData = withData;
        this.log.warn('no partition group assigned while the input topics have data: another member of this consumer group owns them', { group_id: this.groupId, topics: withData });
      }
    }
    // Build eagerly: a group whose partitions are all empty gets no batch, yet must exist for the idle check.
    for (const p of next) this.group(p);
  }

  private group(p: number): Promise<GroupState | null> {
    let g = this.groups.get(p);
    if (!g) {
      const building: Promise<GroupState | null> = this.buildGroup(p).then(
        (st) => {
          if (st && this.groups.get(p) === building) this.ready.set(p, st);
          return st;
        },
        (e) => {
          if (this.groups.get(p) === building) this.groups.delete(p);
          throw e;
        },
      );
      g = building;
      this.groups.set(p, g);
    }
    return g;
  }

  /** Forgets the group's task; its transaction in flight (unless the caller is that transaction) settles first. */
  private async dropGroup(p: number, awaitInflight = true): Promise<void> {
    const g = this.groups.get(p);
    this.groups.delete(p);
    this.ready.delete(p);
    const st = await g?.catch(() => null);
    if (st && awaitInflight && st.inflight) await st.inflight;
    if (st) await st.producer.disconnect().catch(() => undefined);
  }

  /** Fence the previous owner, restore its last committed state, and start where that state left off. */
  private async buildGroup(p: number): Promise<GroupState | null> {
    const producer = createTransactionalProducer(this.kafka, processorTransactionalId(this.cfg, p));
    await producer.connect();
    // kafkajs runs the transactional InitProducerId on the first transaction(), not on connect(): do it now. It bumps
    // the epoch (fencing any zombie owner of this group) and waits until the zombie's open transaction is aborted,
    // so the changelog and committed offsets read below are final. The empty transaction sends nothing.
    await (await producer.transaction()).abort();
    const key = changelogKey(p);
    const latest = await readLatestByKey(this.kafka, this.admin, this.changelogTopic, [p % this.changelogPartitions]);
    const raw = latest.get(key);
    const snapshot: GroupSnapshot | undefined = raw ? decodeSnapshot(key, raw) : undefined;
    const streams: StreamSpec[] = [...this.inputs].map(([topic, schema]) => ({ topic, schema }));
    const startOffsets = new Map<string, bigint>();
    const committed = await this.admin.fetchOffsets({ groupId: this.groupId, topics: [...this.inputs.keys()] });
    const committedOffsets = new Map<string, bigint>();
    for (const { topic, partitions } of committed) {
      const ends = await partitionOffsets(this.admin, topic);
      const c = partitions.find((x) => x.partition === p);
      const low = ends.get(p)?.low ?? 0n;
      const off = c && Number(c.offset) >= 0 ? BigInt(c.offset) : low;
      startOffsets.set(topic, off < low ? low : off);
      committedOffsets.set(topic, off);
      const snapOff = snapshot?.offsets[topic];
      if (snapOff !== undefined && BigInt(snapOff) > off) {
        // Snapshots ride along with transactions, so one past the committed offsets means someone moved the group's
        // offsets back (not the processor): the snapshot matches the state, resume from it.
        this.log.warn('changelog snapshot is ahead of the committed offset; resuming from the snapshot (it matches the state)', { group: p, topic, snapshot: snapOff, committed: off.toString() });
      }
      const start = snapOff !== undefined ? BigInt(snapOff) : off;
      if (start < low) {
        // Retention (or a delete-records) removed input this group never released: the consumer will be reset to the
        // log start and the output after it cannot equal an uninterrupted run. Say so instead of skipping silently.
        // Records stamped with event time are aged by it: replaying an old session into topics with time-based
        // retention deletes closed segments at the broker's next retention check.
        this.log.error('input records were deleted before this partition group processed them; output is not exactly-once from here', {
          group: p,
          topic,
          resume_offset: start.toString(),
          log_start_offset: low.toString(),
          lost_records: (low - start).toString(),
        });
      }
      this.positions.set(tpKey(topic, p), { at: start, high: ends.get(p)?.high ?? 0n });
    }
    // With processor.snapshot_every_ms the snapshot may be older than the last commit: the task re-reads from the
    // snapshot's offsets and suppresses the outputs of records below the committed offsets (already in the log).
    const task = new PartitionGroupTask({ cfg: this.cfg, group: p, streams, startOffsets, snapshot, committedOffsets: snapshot ? committedOffsets : undefined, nowNs: () => this.clock.nowNs(), onTick: (s) => this.metrics.tickSeconds.observe(s) });
    // The consumer may already hold a position past (after a failed commit) or before (stale offset fetch) ours.
    for (const topic of this.inputs.keys()) {
      try {
        this.consumer?.seek({ topic, partition: p, offset: task.expectedOffset(topic).toString() });
      } catch (e) {
        // kafkajs refuses a seek while its consumer restarts (a rebalance error or a broker outage: "Consumer group
        // was not initialized"). That restart ends in a new GROUP_JOIN, which rebuilds every group and seeks again, so
        // this build is superseded: skipping the seek loses nothing. Failing here crashed the instance whenever a
        // second processor joined the group.
        this.log.debug('seek skipped while the kafka consumer restarts; the next group join rebuilds this group', { group: p, topic, error: e as Error });
      }
    }
    this.metrics.restores.inc({ from: snapshot ? 'snapshot' : 'offsets' });
    // A new task counts released events from 0: the metric takes differences from here (a counter never goes back).
    this.releasedSeen.set(p, task.released);
    this.log.info('partition group ready', {
      group: p,
      transactional_id: processorTransactionalId(this.cfg, p),
      restored: !!snapshot,
      commits: snapshot?.commits ?? 0,
      offsets: Object.fromEntries(task.topics().map((t) => [t, task.expectedOffset(t).toString()])),
      ...(task.replaying() ? { replaying_to: Object.fromEntries([...committedOffsets].map(([t, o]) => [t, o.toString()])) } : {}),
    });
    return { task, producer, snapshotAtMs: null, committedAtMs: this.nowMs(), background: null, inflight: null };
  }

  private onBatch(
    topic: string,
    partition: number,
    messages: KafkaMessage[],
    resolveOffset: (o: string) => void,
    isStale: () => boolean,
    consumed: () => void,
  ): Promise<boolean> {
    return this.locked(async () => {
      if (!this.assigned.has(partition)) return false;
      const st = await this.group(partition);
      if (!st) return false;
      // Checked again here, not only on entry: the batch may have been fetched before its group's task was (re)built
      // — while this call waited for the lock, or just now in group() — e.g. after a failed or fenced commit dropped
      // the task while more batches of the same fetch were queued. Such a batch starts at the consumer's old
      // position, past the restored offsets, so ingesting it would silently skip records (ingest() accepts offset
      // jumps: transaction markers). buildGroup() seeked every input; kafkajs reports the batch stale until the next
      // fetch applies that seek and re-delivers from the restored offsets.
      if (isStale()) {
        this.log.debug('stale batch dropped (fetched before its partition group was rebuilt)', { group: partition, topic, first_offset: messages[0]?.offset ?? null });
        return false;
      }
      const { task } = st;
      const last = messages[messages.length - 1];
      // Producer timestamps are wall time: how old the newest record of the batch is when its processing starts.
      if (last) this.metrics.tickDelaySeconds.observe({ at: 'fetched' }, Math.max(0, Date.now() - Number(last.timestamp)) / 1000);
      let ingested = 0;
      // One wall time for the batch's records (the book-staleness clock counts seconds; a clock read per record did not).
      const fetchedAtMs = Date.now();
      // Resolved once, after the loop: kafkajs parses and re-formats the offset string through its Long on every
      // resolveOffset, a per-record cost for a position only the last call sets.
      let resolved: string | null = null;
      try {
        for (const m of messages) {
          const off = BigInt(m.offset);
          if (off < task.expectedOffset(topic)) {
            resolved = m.offset;
            continue;
          }
          // A registry outage throws out of here: kafkajs retries the batch instead of the record being dead-lettered.
          const decoded = decodeInputValueSync(this.codec, m.value) ?? (await decodeInputValue(this.codec, m.value));
          const key = m.key?.toString('utf8') ?? null;
          if (!(decoded instanceof Error)) {
            this.books.seen(decoded.schema, key, fetchedAtMs);
            for (const issue of this.inputIssues.observe(decoded)) this.log.warn(issue.message, { input_issue: issue.kind, underlying: issue.underlying, schema: issue.schema });
          }
          task.ingest(topic, off, key, m.value, decoded);
          ingested++;
          resolved = m.offset;
        }
      } finally {
        if (resolved !== null) resolveOffset(resolved);
        // Once per batch (a labelled counter's inc was a visible per-record cost), also when a registry outage cut it short.
        if (ingested) this.metrics.events.inc({ topic }, ingested);
      }
      consumed();
      const rowsBefore = task.pendingRows().length;
      task.pump();
      const fresh = task.pendingRows()[rowsBefore];
      if (fresh) this.metrics.tickDelaySeconds.observe({ at: 'released' }, Math.max(0, Date.now() - Number(fresh.row.ts_event_ns / 1_000_000n)) / 1000);
      this.metrics.buffered.set({ group: String(partition) }, task.bufferedCount());
      // In the background: the next batches are decoded, merged and run through the engines while this transaction
      // is in flight (a later commit waits for it). Where commits fall never changes the output.
      if (task.commitDue() || this.caughtUpCommitDue(partition, st) || this.liveOutputCommitDue(st)) await this.commitOrDrop(partition, st, false, true);
      return true;
    });
  }

  /**
   * Live, a group with output commits at least once per snap tick of wall time even when it is not caught up. At a
   * high rate it rarely is (records arrive while every fetch is in flight, so its position is seldom at the end), and
   * commit_every_ticks alone then held signal rows back for 40 ticks of event time: at 50k events/s most of the
   * latency. One transaction per group at a time still bounds the cadence; --until-idle (a replay: throughput, not
   * latency) keeps committing per commit_every_ticks. Where commits fall never changes the output.
   */
  private liveOutputCommitDue(st: GroupState): boolean {
    return !this.untilIdle && st.task.hasPendingOutput() && this.nowMs() - st.committedAtMs >= this.cfg.snap.tick_ms;
  }

  /** Caught up with uncommitted work that should not wait for the next commit_every_ticks boundary (see PROGRESS_COMMIT_MS). */
  private caughtUpCommitDue(p: number, st: GroupState): boolean {
    return st.task.hasUncommitted() && this.caughtUp(p) && (st.task.hasPendingOutput() || this.nowMs() - st.committedAtMs >= PROGRESS_COMMIT_MS);
  }

  private nowMs(): number {
    return Number(this.clock.nowNs() / 1_000_000n);
  }

  private caughtUp(p: number): boolean {
    for (const topic of this.inputs.keys()) {
      const pos = this.positions.get(tpKey(topic, p));
      if (!pos || pos.at < pos.high) return false;
    }
    return true;
  }

  /**
   * Commits the group's released work, after the transaction in flight (one at a time per group). `background`: returns
   * once the transaction has started — its outputs and offsets were taken synchronously, so the caller may go on
   * ingesting and releasing; a failure drops and rebuilds the group as always.
   */
  private async commitOrDrop(p: number, st: GroupState, withSnapshot = false, background = false, snapshotOnly = false): Promise<void> {
    if (st.inflight && !(await st.inflight)) return; // failed: the group was dropped with it
    if (this.ready.get(p) !== st || !(snapshotOnly ? this.backgroundSnapshotDue(st) : st.task.hasUncommitted())) return;
    const run = this.transact(p, st, withSnapshot, snapshotOnly);
    st.inflight = run;
    if (!background) await run;
  }

  /** A background snapshot is ready and no transaction came to carry it for PROGRESS_COMMIT_MS (the input went quiet). */
  private backgroundSnapshotDue(st: GroupState): boolean {
    return finished(st.background) && this.nowMs() - st.committedAtMs >= PROGRESS_COMMIT_MS;
  }

  /** One commit; false when it failed and the group was dropped. */
  private async transact(p: number, st: GroupState, withSnapshot: boolean, snapshotOnly = false): Promise<boolean> {
    try {
      await this.commit(p, st, withSnapshot, snapshotOnly);
      return true;
    } catch (e) {
      this.metrics.transactions.inc({ result: 'aborted' });
      // Dropped meanwhile (a rebalance, shutdown): that path rebuilds or stops; this task is no longer the group's.
      if (this.ready.get(p) !== st) return false;
      // The uncommitted outputs are gone with the task; the next owner (us, rebuilt, or a peer) redoes them from the
      // last committed snapshot.
      await this.dropGroup(p, false);
      if (isFencing(e)) {
        // Another instance initialized this group's transactional.id: it owns the group now, or it is a zombie that
        // will learn so at its next heartbeat. If the group is still ours, the next batch rebuilds it.
        this.log.warn('partition group fenced by another instance; dropped, rebuilt from its last commit if still assigned', { group: p, error: e as Error });
      } else {
        this.log.error('transaction failed; partition group will be rebuilt from its last commit', { group: p, error: e as Error });
      }
      // Rebuild now, not on the group's next batch: its input may all be fetched already (no batch would come), and
      // the rebuild's seek is what makes the consumer fetch the records after the last commit again.
      this.rebuildSoon(p);
      return false;
    }
  }

  /** Starts (re)building an assigned group that has no task; failures are retried by the supervisor. */
  private rebuildSoon(p: number): void {
    this.toRebuild.add(p);
    if (this.stopping || this.rebalancing || !this.assigned.has(p) || this.groups.has(p)) return;
    this.group(p).then(
      () => this.toRebuild.delete(p),
      (e) => this.log.warn('partition group rebuild failed; retrying', { group: p, error: e as Error }),
    );
  }

  /**
   * One transaction: signals + events + dead letters + input offsets, and the state snapshot when one is due
   * (processor.snapshot_every_ms; always with a task's first commit and when `withSnapshot`). Gzip'ing the whole engine
   * state was a third of a caught-up processor's time when every transaction carried it.
   *
   * Live, a due snapshot does not ride in the transaction that captures it: the state is captured at its commit point
   * (synchronously: the engines move on) and written to gzip'd JSON in slices between the group's other work
   * (encodeSnapshotSliced); the first transaction after the bytes are ready carries them, whatever its own offsets.
   * A snapshot older than its transaction's offsets is what recovery already handles (snapshot_every_ms): it resumes
   * at the snapshot's offsets and replays up to the committed ones with their outputs suppressed. A snapshot taken
   * in the transaction itself (first commit, drain, shutdown) supersedes one still in the making.
   * `snapshotOnly`: a transaction of just that ready snapshot (no outputs, no offsets), when no other came to carry it.
   */
  private async commit(p: number, st: GroupState, withSnapshot = false, snapshotOnly = false): Promise<void> {
    const { task, producer } = st;
    const out: TaskOutputs = snapshotOnly ? { rows: [], events: [], deadLetters: [] } : task.takeOutputs();
    const nowMs = this.nowMs();
    const stages = this.metrics.commitStageSeconds;
    let mark = performance.now();
    const stage = (name: string) => {
      const t = performance.now();
      stages.observe({ stage: name }, (t - mark) / 1000);
      mark = t;
    };
    // Rows are appended in tick order: the first is the oldest tick this transaction makes visible.
    const oldestTickMs = out.rows.length ? Number(out.rows[0]!.row.ts_event_ns / 1_000_000n) : null;
    if (oldestTickMs !== null) this.metrics.tickDelaySeconds.observe({ at: 'start' }, Math.max(0, Date.now() - oldestTickMs) / 1000);
    const every = this.cfg.processor.snapshot_every_ms;
    const forced = withSnapshot || st.snapshotAtMs === null;
    const due = !snapshotOnly && (forced || nowMs - st.snapshotAtMs! >= every);
    // Live (or caught up), outputs are what a consumer waits for: the snapshot is made in the background. A replay
    // (--until-idle, behind) keeps it in the due transaction: throughput, not latency. snapshot_every_ms 0 means every
    // transaction carries its own.
    const inBackground = due && !forced && every > 0 && (!this.untilIdle || this.caughtUp(p));
    /** This transaction writes the state of its own commit point (encoded here, not in the background). */
    const ownSnapshot = due && !inBackground;
    let snapshotBytes: Buffer | null = null;
    let carried = false;
    // A finished background snapshot rides in this transaction, unless this one writes a newer state of its own. It is
    // taken before the capture below so that a due capture still happens: a carrying transaction that skipped it, when
    // it was the last before the input went quiet, left the newest state out of the changelog until the next input.
    const bg = st.background;
    if (finished(bg) && !ownSnapshot) {
      st.background = null;
      if (bg.error) throw new ProcessorError(`state snapshot of partition group ${p} could not be encoded: ${bg.error.message}`, this.changelogTopic);
      snapshotBytes = bg.bytes;
      carried = true;
    }
    const capture = inBackground ? st.background === null : due;
    const cp = snapshotOnly ? null : task.commitPoint(capture);
    if (cp?.snapshot && inBackground) {
      const next: BackgroundSnapshot = { bytes: null, error: null };
      st.background = next;
      st.snapshotAtMs = nowMs;
      const started = performance.now();
      encodeSnapshotSliced(cp.snapshot).then(
        (b) => {
          next.bytes = b;
          stages.observe({ stage: 'snapshot_sliced' }, (performance.now() - started) / 1000);
        },
        (e: unknown) => (next.error = e instanceof Error ? e : new Error(String(e))),
      );
      stage('capture');
    } else if (cp?.snapshot) {
      snapshotBytes = await encodeSnapshotAsync(cp.snapshot);
      st.background = null; // this state is newer than the one in the making
      stage('snapshot');
    }
    if (snapshotBytes) {
      // The broker would refuse it (MESSAGE_TOO_LARGE) and the group would be rebuilt into the same refusal: name the fix.
      if (snapshotBytes.length + RECORD_OVERHEAD_BYTES > this.changelogMaxBytes) {
        throw new ProcessorError(
          `state snapshot of partition group ${p} is ${snapshotBytes.length} bytes (gzip), over max.message.bytes ${this.changelogMaxBytes} of ${this.changelogTopic}: raise it (snap-engine topics apply sets ${CHANGELOG_MAX_MESSAGE_BYTES})`,
          this.changelogTopic,
        );
      }
    }
    const signalMessages: Message[] = out.rows.map(({ row, source }) => ({
      key: row.underlying,
      // ts_recv_ns = the tick time keeps the record bytes a pure function of the input (identical after failover).
      value: this.codec.encodeSync(this.signalsTopic, 'levels.signals.v1', signalRowToRecord(row, { source, ts_recv_ns: row.ts_event_ns })),
      timestamp: String(row.ts_event_ns / 1_000_000n),
    }));
    const eventMessages: Message[] = out.events.map(({ event, source }) => ({
      key: event.underlying,
      value: this.codec.encodeSync(this.eventsTopic, 'levels.events.v1', levelEventToRecord(event, { source })),
      timestamp: String(BigInt(event.ts_event_ns) / 1_000_000n),
    }));
    const encodeDl = (d: DeadLetterRecord) => this.codec.encodeSync(this.deadletterTopic, 'deadletter.v1', d);
    const fitted = out.deadLetters.map((d) => fitDeadLetter(d, this.deadletterMaxBytes, (x) => encodeDl(x).length + Buffer.byteLength(x.key)));
    const dlqMessages: Message[] = fitted.map((d) => ({ key: d.key || null, value: encodeDl(d) }));
    stage('encode');
    const tx = await producer.transaction();
    try {
      for (let i = 0; i < signalMessages.length; i += SEND_CHUNK) await tx.send({ topic: this.signalsTopic, messages: signalMessages.slice(i, i + SEND_CHUNK) });
      for (let i = 0; i < eventMessages.length; i += SEND_CHUNK) await tx.send({ topic: this.eventsTopic, messages: eventMessages.slice(i, i + SEND_CHUNK) });
      // Dead letters can each be close to max.message.bytes: one produce call (one record batch per partition) each
      // group that stays under it.
      for (let i = 0; i < dlqMessages.length; ) {
        let bytes = 0;
        let j = i;
        while (j < dlqMessages.length && (j === i || bytes + (dlqMessages[j]!.value as Buffer).length < this.deadletterMaxBytes / 2)) bytes += (dlqMessages[j++]!.value as Buffer).length;
        await tx.send({ topic: this.deadletterTopic, messages: dlqMessages.slice(i, j) });
        i = j;
      }
      if (snapshotBytes) await tx.send({ topic: this.changelogTopic, messages: [{ key: changelogKey(p), value: snapshotBytes, partition: p % this.changelogPartitions }] });
      stage('send');
      if (cp) {
        await sendTxOffsets(
          tx,
          {
            consumerGroupId: this.groupId,
            topics: [...cp.offsets].map(([topic, offset]) => ({ topic, partitions: [{ partition: p, offset: offset.toString() }] })),
          },
          (ms) => this.clock.sleep(ms),
        );
        stage('offsets');
      }
      await tx.commit();
      stage('commit');
    } catch (e) {
      if (tx.isActive()) await tx.abort().catch(() => undefined);
      throw e;
    }
    if (oldestTickMs !== null) this.metrics.tickDelaySeconds.observe({ at: 'committed' }, Math.max(0, Date.now() - oldestTickMs) / 1000);
    if (cp) {
      task.markCommitted(cp);
      st.committedAtMs = nowMs;
    }
    // A carried background snapshot counted from its capture.
    if (snapshotBytes && !carried) st.snapshotAtMs = nowMs;
    // Committed: nothing below may throw into commitOrDrop (which would count the transaction as aborted and drop the
    // group). Bookkeeping failures are logged only.
    try {
      this.metrics.transactions.inc({ result: 'committed' });
      this.metrics.signals.inc(out.rows.length);
      for (const d of fitted) {
        this.metrics.deadLetters.inc({ error_class: d.error_class });
        this.log.warn('record dead-lettered', { group: p, topic: d.source_topic, offset: d.source_offset, error_class: d.error_class, reason: d.reason });
      }
      if (snapshotBytes) {
        this.metrics.stateBytes.set({ group: String(p) }, snapshotBytes.length);
        this.metrics.snapshots.inc({ carrier: snapshotOnly ? 'snapshot_only' : carried ? 'carried' : 'own' });
      }
      const delta = task.released - (this.releasedSeen.get(p) ?? 0);
      if (delta > 0) this.metrics.released.inc(delta);
      this.releasedSeen.set(p, task.released);
      const clamped = task.rejected.clamped - (this.clampedSeen.get(p) ?? 0);
      if (clamped > 0) this.metrics.clamped.inc(clamped);
      this.clampedSeen.set(p, task.rejected.clamped);
    } catch (e) {
      this.log.error('metrics bookkeeping after a committed transaction failed', { group: p, error: e as Error });
    }
    this.log.debug('transaction committed', { group: p, rows: out.rows.length, events: out.events.length, dead_letters: out.deadLetters.length, snapshot_bytes: snapshotBytes?.length ?? 0, offsets: cp ? Object.fromEntries([...cp.offsets].map(([t, o]) => [t, o.toString()])) : null });
  }
  private readonly releasedSeen = new Map<number, number>();
  private readonly clampedSeen = new Map<number, number>();
  /** Per assigned group: the task last seen and its released-item count, and when it last advanced (wall ms). */
  private readonly progress = new Map<number, { task: PartitionGroupTask | null; items: number; atMs: number; ingested: number; ingestAtMs: number }>();
  /** Resolved group states (the promise map holds builds in flight too). */
  private readonly ready = new Map<number, GroupState>();
  private supervisor: NodeJS.Timeout | null = null;
  private supervising = false;
  /** End offsets per input topic-partition as of the last supervisor pass (stall detection and the lag gauge). */
  private readonly latestEnds = new Map<string, bigint>();
  /** Groups dropped after a failed commit, to rebuild while still assigned (a rebalance rebuilds everything itself). */
  private readonly toRebuild = new Set<number>();
  /** Between kafkajs' REBALANCING and our handling of the new assignment: build nothing (it may no longer be ours). */
  private rebalancing = false;
  private deadletterMaxBytes = DEFAULT_MAX_MESSAGE_BYTES;
  private changelogMaxBytes = DEFAULT_MAX_MESSAGE_BYTES;
  /** The health verdict of the last supervisor pass (stalled groups and why). */
  private stalled: { group: number; underlyings: string[]; reason: string; since_ms: number }[] = [];
  private readonly groupId: string;
  /** kafkajs' retriable CONCURRENT_TRANSACTIONS responses since the last aggregate line. */
  private concurrentTx = 0;
  private concurrentTxLoggedAt = 0;
  /** Input topics had data while this instance owned no partition group (warned once per assignment). */
  private idleWithData: string[] | null = null;

  /** --until-idle: once every assigned input partition is at its end offset, drain the merges, commit, and stop. */
  private async idleLoop(): Promise<void> {
    while (!this.stopping) {
      await this.clock.sleep(250);
      if (!this.joined || this.assigned.size === 0) {
        if (this.joined && this.assigned.size === 0) {
          const withData = this.idleWithData ?? (await this.topicsWithData());
          if (withData.length) {
            // Not a success: the input is someone else's to process (or nobody's). Exit non-zero, naming why.
            this.fail(
              new ProcessorError(
                `no partition group assigned to this instance of consumer group ${this.groupId} while ${withData.join(', ')} have data: another member owns them (another processor, or another environment using the same group id; set TOPIC_PREFIX or kafka.group_id)`,
                withData[0],
              ),
            );
            return;
          }
          this.log.info('no partition group assigned and the input topics are empty; nothing to do', { group_id: this.groupId });
          await this.stop();
          return;
        }
        continue;
      }
      // Refresh end offsets: a partition nobody fetched from lately still counts only when we have reached its end.
      for (const topic of this.inputs.keys()) {
        const ends = await partitionOffsets(this.admin, topic);
        for (const p of this.assigned) {
          const k = tpKey(topic, p);
          const pos = this.positions.get(k);
          if (pos) this.positions.set(k, { at: pos.at, high: ends.get(p)?.high ?? pos.high });
        }
      }
      const groups = [...this.assigned];
      if (!groups.every((p) => this.groups.has(p) && this.caughtUp(p))) continue;
      const finished = await this.locked(async () => {
        // Await every group's task FIRST: one may be rebuilding (a failed commit dropped it) and its restored task has
        // not re-read the input since the last commit. Positions are reset by the build, so checking them only after
        // it completes never mistakes the old task's progress for the new one's (draining an empty rebuilt task and
        // reporting "everything committed" would silently skip the uncommitted range).
        const states: GroupState[] = [];
        for (const p of groups) {
          if (!this.assigned.has(p)) return false;
          const st = await this.group(p);
          if (!st) return false;
          states.push(st);
        }
        if (!groups.every((p, i) => this.assigned.has(p) && this.ready.get(p) === states[i] && this.caughtUp(p))) return false;
        for (const [i, p] of groups.entries()) {
          const st = states[i]!;
          st.task.drain();
          // A drain releases out of watermark order: the state after it must be the snapshot (a replay could not redo it).
          if (st.task.hasUncommitted()) await this.commitOrDrop(p, st, true);
          if (!this.groups.has(p)) return false; // the commit failed: being rebuilt (rebuildSoon / supervisor)
        }
        return true;
      });
      if (finished) {
        this.log.info('input exhausted, merge drained, everything committed', { groups });
        await this.stop();
        return;
      }
    }
  }
}

/** Runs a processor until SIGTERM/SIGINT (or, with untilIdle, until done). */
export async function runProcessor(opts: ProcessorOptions): Promise<Processor> {
  const proc = new Processor(opts);
  const onSignal = () => void proc.stop();
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  await proc.start();
  await proc.wait();
  process.off('SIGTERM', onSignal);
  process.off('SIGINT', onSignal);
  return proc;
}
