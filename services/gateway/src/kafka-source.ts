// The gateway's Kafka source: reads the signals topic read_committed (only committed processor transactions are
// shown), regroups rows into §6.4 payloads and publishes them. Every gateway instance must see every partition, so
// each one joins its own throwaway consumer group (never committing offsets) that starts at the end of the topic as of
// start(), or at its beginning with fromBeginning; the group is deleted on stop.
import { hostname } from 'node:os';
import type { Config, LevelPhysicsPayload } from '@snap/core';
import { EnvelopeCodec, SIGNALS_TOPIC, createKafka, registryOptions, ephemeralGroupId, recordToSignalRow, topicName, type Logger, type SignalRecord } from '@snap/platform';
import type { Admin, Consumer, Kafka } from 'kafkajs';
import { TickRegrouper } from './regroup';
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
  payloads: number;
  /** Records that are not decodable signals rows (logged with topic/partition/offset). */
  skipped: number;
  /** Rows older than the tick open for their underlying (dropped). */
  stale: number;
}

export class KafkaSignalsSource {
  readonly topic: string;
  readonly groupId: string;
  readonly stats: KafkaSourceStats = { rows: 0, payloads: 0, skipped: 0, stale: 0 };
  private readonly kafka: Kafka;
  private readonly admin: Admin;
  private readonly codec: EnvelopeCodec;
  private readonly regroup = new TickRegrouper();
  private consumer: Consumer | null = null;
  private linger: NodeJS.Timeout | null = null;
  private state: 'idle' | 'starting' | 'running' | 'failed' | 'stopped' = 'idle';
  private lastError: string | null = null;
  private stopping: Promise<void> | null = null;

  constructor(private readonly opts: KafkaSignalsSourceOptions) {
    this.topic = topicName(opts.cfg, SIGNALS_TOPIC);
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
    // "Latest" pinned to the ends as of start(): whatever is committed after start() resolves is seen, with no race
    // against the moment kafkajs would otherwise resolve its default offset at the first fetch.
    const ends = this.opts.fromBeginning ? [] : await this.admin.fetchTopicOffsets(this.topic);
    const consumer = this.kafka.consumer({ groupId: this.groupId, readUncommitted: false, maxWaitTimeInMs: 100, allowAutoTopicCreation: false });
    this.consumer = consumer;
    const joined = new Promise<void>((resolveJoin) => consumer.on(consumer.events.GROUP_JOIN, () => resolveJoin()));
    consumer.on(consumer.events.GROUP_JOIN, () => {
      // Positions restart wherever the assignment says; a tick half-read before cannot be completed.
      this.regroup.reset();
      // While start() is still pinning offsets it stays 'starting'; a later rejoin (after a crash) is running again.
      if (this.state !== 'starting') this.state = 'running';
    });
    consumer.on(consumer.events.CRASH, (e) => {
      this.lastError = String((e.payload.error as Error)?.message ?? e.payload.error);
      log.error('gateway kafka consumer crashed', { error: e.payload.error, restart: e.payload.restart });
      if (!e.payload.restart) this.state = 'failed';
    });
    await consumer.connect();
    await consumer.subscribe({ topics: [this.topic], fromBeginning: !!this.opts.fromBeginning });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch, heartbeat, isStale }) => {
        for (const m of batch.messages) {
          if (isStale()) return;
          if (!m.value) {
            this.skip(batch.partition, m.offset, 'record without a value');
            continue;
          }
          let row;
          try {
            const d = this.codec.tryDecodeSync(m.value) ?? (await this.codec.decode(m.value));
            if (d.schemaName !== 'levels.signals.v1') {
              this.skip(batch.partition, m.offset, `record is ${d.schemaName}, expected levels.signals.v1`);
              continue;
            }
            row = recordToSignalRow(d.value as SignalRecord);
          } catch (e) {
            this.skip(batch.partition, m.offset, (e as Error).message);
            continue;
          }
          this.stats.rows++;
          const staleBefore = this.regroup.stale;
          for (const p of this.regroup.push(row)) this.emit(p);
          this.stats.stale += this.regroup.stale - staleBefore;
        }
        this.armLinger();
        await heartbeat();
      },
    });
    for (const e of ends) consumer.seek({ topic: this.topic, partition: e.partition, offset: e.high });
    await joined;
    this.state = 'running';
    log.info('gateway consuming signals', { topic: this.topic, group_id: this.groupId, from_beginning: !!this.opts.fromBeginning });
  }

  private skip(partition: number, offset: string, reason: string): void {
    this.stats.skipped++;
    this.opts.log.error('signals record skipped', { topic: this.topic, partition, offset, reason });
  }

  private emit(p: LevelPhysicsPayload): void {
    this.stats.payloads++;
    this.opts.publish(p);
  }

  /** The newest tick has no successor yet: show it once its rows stopped coming for linger_ms. */
  private armLinger(): void {
    if (this.linger) clearTimeout(this.linger);
    this.linger = null;
    if (!this.regroup.pending) return;
    this.linger = setTimeout(() => {
      this.linger = null;
      for (const p of this.regroup.flush()) this.emit(p);
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
