// The processor on Kafka: a consumer group over every input topic, assigned by partition group (assigner.ts); per
// group a PartitionGroupTask (merge → engines) whose output — signal rows, dead letters, a state snapshot into the
// compacted changelog and the input offsets — commits in ONE Kafka transaction under the transactional.id
// `${transactional_id_prefix}-p${group}`. A restarted or rebalanced owner initializes that transactional.id (which
// fences the previous owner and aborts its open transaction), restores the last committed snapshot, and resumes at
// the offsets recorded in it: no duplicate, no gap. See docs/processor.md.
import { hostname } from 'node:os';
import type { Server } from 'node:http';
import { processorInputs, type Config, type DataInputSchema } from '@snap/core';
import {
  CHANGELOG_TOPIC,
  DEADLETTER_TOPIC,
  EnvelopeCodec,
  SIGNALS_TOPIC,
  createKafka,
  createLogger,
  createTransactionalProducer,
  signalRowToRecord,
  systemClock,
  topicName,
  type Clock,
  type Logger,
} from '@snap/platform';
import type { Admin, Consumer, Kafka, KafkaMessage, Message, Producer } from 'kafkajs';
import { PartitionGroupAssigner, partitionGroupsOf } from './assigner';
import { decodeInputValue, partitionOffsets, readLatestByKey, tpKey } from './kafka-io';
import { ProcessorMetrics, startHttp } from './metrics';
import { changelogKey, decodeSnapshot, encodeSnapshot, type GroupSnapshot } from './snapshot';
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

interface GroupState {
  task: PartitionGroupTask;
  producer: Producer;
}

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
    this.kafka = createKafka(opts.cfg, { logger: this.log, clientId: `${opts.cfg.kafka.client_id}-processor-${hostname()}-${process.pid}` });
    this.admin = this.kafka.admin();
    this.codec = new EnvelopeCodec({ registryUrl: opts.cfg.schema_registry.url });
    for (const s of processorInputs(opts.cfg)) this.inputs.set(topicName(opts.cfg, s), s);
    this.signalsTopic = topicName(opts.cfg, SIGNALS_TOPIC);
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
    return {
      ok: this.joined && !this.stopping,
      joined: this.joined,
      assigned_groups: [...this.assigned].sort((a, b) => a - b),
      inputs: [...this.inputs.keys()],
    };
  }

  /** Starts consuming; resolves when running. `wait()` resolves when the processor stops (or, with untilIdle, is done). */
  async start(): Promise<void> {
    await this.admin.connect();
    await this.checkTopics();
    await this.codec.register(this.signalsTopic, 'levels.signals.v1');
    await this.codec.register(this.deadletterTopic, 'deadletter.v1');
    if (this.httpPortOverride !== null) {
      const { server, port } = await startHttp(this.httpPortOverride ?? this.cfg.http.port, this.metrics, this);
      this.server = server;
      this.httpPort = port;
    }
    const consumer = this.kafka.consumer({
      groupId: this.cfg.kafka.group_id,
      partitionAssigners: [PartitionGroupAssigner],
      sessionTimeout: this.cfg.processor.session_timeout_ms,
      heartbeatInterval: Math.min(3000, Math.floor(this.cfg.processor.session_timeout_ms / 3)),
      readUncommitted: false,
      maxWaitTimeInMs: 200,
      allowAutoTopicCreation: false,
    });
    this.consumer = consumer;
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
    this.log.info('processor started', { group_id: this.cfg.kafka.group_id, inputs: [...this.inputs.keys()], signals: this.signalsTopic, http_port: this.httpPort, until_idle: this.untilIdle });
    if (this.untilIdle) void this.idleLoop().catch((e) => this.fail(e));
  }

  wait(): Promise<void> {
    return this.done;
  }

  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.joined = false;
    // Commit what is committable (not drained: live watermarks still hold the rest), then leave the group.
    await this.locked(async () => {
      for (const p of [...this.groups.keys()]) {
        const st = await this.groups.get(p)!.catch(() => null);
        if (st?.task.hasUncommitted()) await this.commit(p, st).catch((e) => this.log.warn('final commit failed', { group: p, error: e as Error }));
      }
    });
    await this.consumer?.disconnect().catch(() => undefined);
    for (const p of [...this.groups.keys()]) await this.dropGroup(p);
    await this.admin.disconnect().catch(() => undefined);
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
    this.log.info('processor stopped');
    this.stopped();
  }

  private fail(e: unknown): void {
    this.log.error('processor failed', { error: e as Error });
    void this.stop().finally(() => this.failed(e));
  }

  private async checkTopics(): Promise<void> {
    const existing = new Set(await this.admin.listTopics());
    for (const t of [...this.inputs.keys(), this.signalsTopic, this.changelogTopic, this.deadletterTopic]) {
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
    this.log.info('partition groups assigned', { groups: [...next].sort((a, b) => a - b) });
    // Build eagerly: a group whose partitions are all empty gets no batch, yet must exist for the idle check.
    for (const p of next) this.group(p);
  }

  private group(p: number): Promise<GroupState | null> {
    let g = this.groups.get(p);
    if (!g) {
      g = this.buildGroup(p).catch((e) => {
        this.groups.delete(p);
        throw e;
      });
      this.groups.set(p, g);
    }
    return g;
  }

  private async dropGroup(p: number): Promise<void> {
    const g = this.groups.get(p);
    this.groups.delete(p);
    const st = await g?.catch(() => null);
    if (st) await st.producer.disconnect().catch(() => undefined);
  }

  /** Fence the previous owner, restore its last committed state, and start where that state left off. */
  private async buildGroup(p: number): Promise<GroupState | null> {
    const producer = createTransactionalProducer(this.kafka, `${this.cfg.kafka.transactional_id_prefix}-p${p}`);
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
    const committed = await this.admin.fetchOffsets({ groupId: this.cfg.kafka.group_id, topics: [...this.inputs.keys()] });
    for (const { topic, partitions } of committed) {
      const ends = await partitionOffsets(this.admin, topic);
      const c = partitions.find((x) => x.partition === p);
      const low = ends.get(p)?.low ?? 0n;
      const off = c && Number(c.offset) >= 0 ? BigInt(c.offset) : low;
      startOffsets.set(topic, off < low ? low : off);
      const snapOff = snapshot?.offsets[topic];
      if (snapOff !== undefined && BigInt(snapOff) !== off) {
        this.log.warn('changelog snapshot and committed offset differ; resuming from the snapshot (it matches the state)', { group: p, topic, snapshot: snapOff, committed: off.toString() });
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
    const task = new PartitionGroupTask({ cfg: this.cfg, group: p, streams, startOffsets, snapshot, nowNs: () => this.clock.nowNs(), onTick: (s) => this.metrics.tickSeconds.observe(s) });
    // The consumer may already hold a position past (after a failed commit) or before (stale offset fetch) ours.
    for (const topic of this.inputs.keys()) this.consumer?.seek({ topic, partition: p, offset: task.expectedOffset(topic).toString() });
    this.metrics.restores.inc({ from: snapshot ? 'snapshot' : 'offsets' });
    this.log.info('partition group ready', {
      group: p,
      transactional_id: `${this.cfg.kafka.transactional_id_prefix}-p${p}`,
      restored: !!snapshot,
      commits: snapshot?.commits ?? 0,
      offsets: Object.fromEntries(task.topics().map((t) => [t, task.expectedOffset(t).toString()])),
    });
    return { task, producer };
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
      for (const m of messages) {
        const off = BigInt(m.offset);
        if (off < task.expectedOffset(topic)) {
          resolveOffset(m.offset);
          continue;
        }
        // A registry outage throws out of here: kafkajs retries the batch instead of the record being dead-lettered.
        const decoded = await decodeInputValue(this.codec, m.value);
        task.ingest(topic, off, m.key?.toString('utf8') ?? null, m.value, decoded);
        this.metrics.events.inc({ topic });
        resolveOffset(m.offset);
      }
      consumed();
      task.pump();
      this.metrics.buffered.set({ group: String(partition) }, task.bufferedCount());
      if (task.commitDue() || (task.hasUncommitted() && this.caughtUp(partition))) await this.commitOrDrop(partition, st);
      return true;
    });
  }

  private caughtUp(p: number): boolean {
    for (const topic of this.inputs.keys()) {
      const pos = this.positions.get(tpKey(topic, p));
      if (!pos || pos.at < pos.high) return false;
    }
    return true;
  }

  private async commitOrDrop(p: number, st: GroupState): Promise<void> {
    try {
      await this.commit(p, st);
    } catch (e) {
      this.metrics.transactions.inc({ result: 'aborted' });
      // The uncommitted outputs are gone with the task; the next owner (us, rebuilt, or a peer) redoes them from the
      // last committed snapshot.
      await this.dropGroup(p);
      if (isFencing(e)) {
        // Another instance initialized this group's transactional.id: it owns the group now, or it is a zombie that
        // will learn so at its next heartbeat. If the group is still ours, the next batch rebuilds it.
        this.log.warn('partition group fenced by another instance; dropped, rebuilt from its last commit if still assigned', { group: p, error: e as Error });
      } else {
        this.log.error('transaction failed; partition group will be rebuilt from its last commit', { group: p, error: e as Error });
      }
    }
  }

  /** One transaction: signals + dead letters + snapshot + input offsets. */
  private async commit(p: number, st: GroupState): Promise<void> {
    const { task, producer } = st;
    const out: TaskOutputs = task.takeOutputs();
    const cp = task.commitPoint();
    const snapshotBytes = encodeSnapshot(cp.snapshot);
    const signalMessages: Message[] = out.rows.map(({ row, source }) => ({
      key: row.underlying,
      // ts_recv_ns = the tick time keeps the record bytes a pure function of the input (identical after failover).
      value: this.codec.encodeSync(this.signalsTopic, 'levels.signals.v1', signalRowToRecord(row, { source, ts_recv_ns: row.ts_event_ns })),
      timestamp: String(row.ts_event_ns / 1_000_000n),
    }));
    const dlqMessages: Message[] = out.deadLetters.map((d) => ({ key: d.key || null, value: this.codec.encodeSync(this.deadletterTopic, 'deadletter.v1', d) }));
    const tx = await producer.transaction();
    try {
      for (let i = 0; i < signalMessages.length; i += SEND_CHUNK) await tx.send({ topic: this.signalsTopic, messages: signalMessages.slice(i, i + SEND_CHUNK) });
      if (dlqMessages.length) await tx.send({ topic: this.deadletterTopic, messages: dlqMessages });
      await tx.send({ topic: this.changelogTopic, messages: [{ key: changelogKey(p), value: snapshotBytes, partition: p % this.changelogPartitions }] });
      await tx.sendOffsets({
        consumerGroupId: this.cfg.kafka.group_id,
        topics: [...cp.offsets].map(([topic, offset]) => ({ topic, partitions: [{ partition: p, offset: offset.toString() }] })),
      });
      await tx.commit();
    } catch (e) {
      if (tx.isActive()) await tx.abort().catch(() => undefined);
      throw e;
    }
    task.markCommitted();
    this.metrics.transactions.inc({ result: 'committed' });
    this.metrics.signals.inc(out.rows.length);
    for (const d of out.deadLetters) {
      this.metrics.deadLetters.inc({ error_class: d.error_class });
      this.log.warn('record dead-lettered', { group: p, topic: d.source_topic, offset: d.source_offset, reason: d.reason });
    }
    this.metrics.stateBytes.set({ group: String(p) }, snapshotBytes.length);
    this.metrics.released.inc(task.released - (this.releasedSeen.get(p) ?? 0));
    this.releasedSeen.set(p, task.released);
    this.log.debug('transaction committed', { group: p, rows: out.rows.length, dead_letters: out.deadLetters.length, snapshot_bytes: snapshotBytes.length, offsets: cp.snapshot.offsets });
  }
  private readonly releasedSeen = new Map<number, number>();

  /** --until-idle: once every assigned input partition is at its end offset, drain the merges, commit, and stop. */
  private async idleLoop(): Promise<void> {
    while (!this.stopping) {
      await this.clock.sleep(250);
      if (!this.joined || this.assigned.size === 0) {
        if (this.joined && this.assigned.size === 0) {
          this.log.info('no partition group assigned; nothing to do');
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
        if (!groups.every((p) => this.assigned.has(p) && this.caughtUp(p))) return false;
        for (const p of groups) {
          const st = await this.group(p);
          if (!st) return false;
          st.task.drain();
          if (st.task.hasUncommitted()) await this.commitOrDrop(p, st);
          if (!this.groups.has(p)) return false; // the commit failed: rebuilt on the next batch
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
