// The gateway's Kafka source: reads the signals and events topics read_committed (only committed processor
// transactions are shown), regroups rows into §6.4 payloads, attaches the processor's BREAK/REJECT events (written in
// the same transaction as the rows of their tick) and publishes them. Every gateway instance must see every partition, so
// each one joins its own throwaway consumer group (never committing offsets) that starts at the end of the topic as of
// start(), or at its beginning with fromBeginning; the group is deleted on stop.
import { hostname } from 'node:os';
import type { Config, LevelPhysicsPayload } from '@snap/core';
import {
  EVENTS_TOPIC,
  EnvelopeCodec,
  SIGNALS_TOPIC,
  createKafka,
  ephemeralGroupId,
  recordToLevelEvent,
  recordToSignalRow,
  registryOptions,
  topicName,
  type LevelEventRecord,
  type Logger,
  type SignalRecord,
} from '@snap/platform';
import type { Admin, Consumer, Kafka } from 'kafkajs';
import { PendingEvents, TickRegrouper } from './regroup';
import { GatewayError } from './server';

export interface KafkaSignalsSourceOptions {
  cfg: Config;
  log: Logger;
  /** Receives every regrouped payload (normally LevelBroadcaster.publish). */
  publish: (p: LevelPhysicsPayload) => void;
  fromBeginning?: boolean;
  /** Default: `snap-gateway-<host>-<pid>-<start ms>`. */
  groupId?: string;
}

export interface KafkaSourceStats {
  rows: number;
  /** BREAK/REJECT events read from the events topic. */
  events: number;
  payloads: number;
  /** Records that are not decodable signals rows (logged with topic/partition/offset). */
  skipped: number;
  /** Rows older than the tick open for their underlying (dropped). */
  stale: number;
}

export class KafkaSignalsSource {
  readonly topic: string;
  readonly eventsTopic: string;
  readonly groupId: string;
  readonly stats: KafkaSourceStats = { rows: 0, events: 0, payloads: 0, skipped: 0, stale: 0 };
  private readonly kafka: Kafka;
  private readonly admin: Admin;
  private readonly codec: EnvelopeCodec;
  private readonly regroup = new TickRegrouper();
  private readonly pendingEvents = new PendingEvents();
  /** The last payload published per underlying: events whose tick was already shown are re-published on it. */
  private readonly lastPublished = new Map<string, LevelPhysicsPayload>();
  private consumer: Consumer | null = null;
  private linger: NodeJS.Timeout | null = null;
  private state: 'idle' | 'starting' | 'running' | 'failed' | 'stopped' = 'idle';
  private lastError: string | null = null;
  private stopping: Promise<void> | null = null;

  constructor(private readonly opts: KafkaSignalsSourceOptions) {
    this.topic = topicName(opts.cfg, SIGNALS_TOPIC);
    this.eventsTopic = topicName(opts.cfg, EVENTS_TOPIC);
    this.groupId = opts.groupId ?? ephemeralGroupId(opts.cfg, `snap-gateway-${hostname()}-${process.pid}-${Date.now()}`);
    this.kafka = createKafka(opts.cfg, { logger: opts.log, clientId: `${opts.cfg.kafka.client_id}-gateway-${hostname()}-${process.pid}` });
    this.admin = this.kafka.admin();
    // A reader: it never registers, so it must not touch subject compatibility either.
    this.codec = new EnvelopeCodec({ ...registryOptions(opts.cfg), compatibility: null });
  }

  health(): { ok: boolean; source: string; topic: string; state: string; error: string | null } & KafkaSourceStats {
    return { ok: this.state === 'running' || this.state === 'starting', source: 'kafka', topic: this.topic, state: this.state, error: this.lastError, ...this.stats };
  }

  /** Resolves once the consumer runs (its group joined and partitions assigned). */
  async start(): Promise<void> {
    this.state = 'starting';
    const log = this.opts.log;
    await this.admin.connect();
    const topics = await this.admin.listTopics();
    if (!topics.includes(this.topic)) {
      await this.admin.disconnect();
      this.state = 'failed';
      throw new GatewayError(`topic ${this.topic} does not exist (create the declared topics first: snap-engine topics apply)`, { topic: this.topic });
    }
    // A deployment from before the events topic existed still shows its signals, without markers or alerts.
    const sources = topics.includes(this.eventsTopic) ? [this.topic, this.eventsTopic] : [this.topic];
    if (sources.length === 1) log.warn('events topic missing: the dashboard gets no BREAK/REJECT events (snap-engine topics apply creates it)', { topic: this.eventsTopic });
    // "Latest" pinned to the ends as of start(): whatever is committed after start() resolves is seen, with no race
    // against the moment kafkajs would otherwise resolve its default offset at the first fetch.
    const ends = this.opts.fromBeginning ? [] : await Promise.all(sources.map(async (topic) => ({ topic, offsets: await this.admin.fetchTopicOffsets(topic) })));
    const consumer = this.kafka.consumer({ groupId: this.groupId, readUncommitted: false, maxWaitTimeInMs: 100, allowAutoTopicCreation: false });
    this.consumer = consumer;
    const joined = new Promise<void>((resolveJoin) => consumer.on(consumer.events.GROUP_JOIN, () => resolveJoin()));
    consumer.on(consumer.events.GROUP_JOIN, () => {
      // Positions restart wherever the assignment says; a tick half-read before cannot be completed.
      this.regroup.reset();
      this.pendingEvents.reset();
      // While start() is still pinning offsets it stays 'starting'; a later rejoin (after a crash) is running again.
      if (this.state !== 'starting') this.state = 'running';
    });
    consumer.on(consumer.events.CRASH, (e) => {
      this.lastError = String((e.payload.error as Error)?.message ?? e.payload.error);
      log.error('gateway kafka consumer crashed', { error: e.payload.error, restart: e.payload.restart });
      if (!e.payload.restart) this.state = 'failed';
    });
    await consumer.connect();
    await consumer.subscribe({ topics: sources, fromBeginning: !!this.opts.fromBeginning });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch, heartbeat, isStale }) => {
        for (const m of batch.messages) {
          if (isStale()) return;
          if (!m.value) {
            this.skip(batch.topic, batch.partition, m.offset, 'record without a value');
            continue;
          }
          const expected = batch.topic === this.eventsTopic ? 'levels.events.v1' : 'levels.signals.v1';
          let d;
          try {
            d = this.codec.tryDecodeSync(m.value) ?? (await this.codec.decode(m.value));
          } catch (e) {
            this.skip(batch.topic, batch.partition, m.offset, (e as Error).message);
            continue;
          }
          if (d.schemaName !== expected) {
            this.skip(batch.topic, batch.partition, m.offset, `record is ${d.schemaName}, expected ${expected}`);
            continue;
          }
          if (expected === 'levels.events.v1') {
            this.stats.events++;
            this.pendingEvents.add(recordToLevelEvent(d.value as LevelEventRecord));
            continue;
          }
          const row = recordToSignalRow(d.value as SignalRecord);
          this.stats.rows++;
          const staleBefore = this.regroup.stale;
          for (const p of this.regroup.push(row)) this.emit(p);
          this.stats.stale += this.regroup.stale - staleBefore;
        }
        this.armLinger();
        await heartbeat();
      },
    });
    for (const t of ends) for (const e of t.offsets) consumer.seek({ topic: t.topic, partition: e.partition, offset: e.high });
    await joined;
    this.state = 'running';
    log.info('gateway consuming signals and events', { topic: this.topic, events_topic: sources[1] ?? null, group_id: this.groupId, from_beginning: !!this.opts.fromBeginning });
  }

  private skip(topic: string, partition: number, offset: string, reason: string): void {
    this.stats.skipped++;
    this.opts.log.error('record skipped', { topic, partition, offset, reason });
  }

  private emit(p: LevelPhysicsPayload): void {
    this.stats.payloads++;
    const events = this.pendingEvents.takeFor(p);
    this.publish(events.length ? { ...p, events } : p);
  }

  private publish(p: LevelPhysicsPayload): void {
    this.lastPublished.set(p.underlying, p);
    this.opts.publish(p);
  }

  /**
   * The newest tick has no successor yet: show it once its rows stopped coming for linger_ms. Events whose tick was
   * already shown and that no later payload carried (the end of a session) are re-published on the last payload.
   */
  private armLinger(): void {
    if (this.linger) clearTimeout(this.linger);
    this.linger = null;
    if (!this.regroup.pending && !this.pendingEvents.size) return;
    this.linger = setTimeout(() => {
      this.linger = null;
      for (const p of this.regroup.flush()) this.emit(p);
      for (const last of [...this.lastPublished.values()]) {
        const events = this.pendingEvents.takeFor(last);
        if (events.length) this.publish({ ...last, events });
      }
    }, this.opts.cfg.gateway.linger_ms);
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      if (this.linger) clearTimeout(this.linger);
      await this.consumer?.disconnect().catch(() => undefined);
      // The group was ours alone and holds no offsets worth keeping.
      if (this.consumer) await this.admin.deleteGroups([this.groupId]).catch((e) => this.opts.log.warn('could not delete the gateway consumer group', { group_id: this.groupId, error: e as Error }));
      await this.admin.disconnect().catch(() => undefined);
      this.state = 'stopped';
      this.opts.log.info('gateway kafka source stopped', { ...this.stats });
    })();
    return this.stopping;
  }
}
