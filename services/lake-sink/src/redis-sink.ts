// `snap-engine sink redis`: levels.signals.v1 → latest features per level in Redis (redis-features.ts).
// Offsets are committed after each batch's pipeline is acknowledged. A crash in between replays the batch, which the
// compare-and-set on event time makes harmless: the same rows rewrite the same values, older ones lose.
//
// Redis outages: a failed write is retried with backoff (retry.ts) for as long as the sink runs, each attempt bounded
// by a command timeout; ioredis reconnects in the background. A Redis that comes back EMPTY (restarted without
// persistence, failed over to a lagging replica) would otherwise only get the levels that happen to tick again, so the
// sink keeps the newest row of every level it has seen in memory and, after every reconnect, rewrites all of them with
// the same CAS script (a Redis that kept its data just answers "stale"). `--rebuild` first rebuilds every level's
// latest features from the signals topic's start, for a Redis that lost keys the running sink never saw.
import { randomUUID } from 'node:crypto';
import type { Config, SignalRow } from '@snap/core';
import { SIGNALS_TOPIC, createKafka, recordToSignalRow, redisOptions, redisSinkGroupId, topicName, type Decoded, type Logger, type SignalRecord } from '@snap/platform';
import Redis from 'ioredis';
import { RedisFeatureWriter, casWins, type FeatureWriteResult } from './redis-features';
import { EnvelopeConsumer, type ConsumerContext, type EnvelopeHandler } from './envelope-consumer';
import { OutageTracker, RetryAbortedError, isNetworkError, retryTransient } from './retry';
import type { OffsetRecord } from './windows';

/** Redis errors that clear by themselves: the server loading its dataset, a replica promoting, the link down. */
export function redisTransient(e: unknown): boolean {
  if (isNetworkError(e)) return true;
  const msg = (e as Error)?.message ?? '';
  return /LOADING|MASTERDOWN|READONLY|TRYAGAIN|CLUSTERDOWN|BUSY|Connection is closed|Stream isn't writeable|Reached the max retries per request|Command timed out|discarded/i.test(msg);
}

export interface RedisSinkStats {
  batches: number;
  written: number;
  stale: number;
  /** Full rewrites of every known level after a reconnect, and the rows they wrote. */
  reasserts: number;
  reasserted: number;
  outages: number;
  outage_s: number;
  /** Levels whose newest row is held for re-assertion. */
  levels: number;
  /** Levels removed from an index: retired, left behind by a session change, or expired. */
  pruned: number;
}

const levelMapKey = (r: SignalRow) => `${r.underlying}\u0000${r.level_id}`;

export class RedisSignalsHandler implements EnvelopeHandler {
  readonly stats: RedisSinkStats = { batches: 0, written: 0, stale: 0, reasserts: 0, reasserted: 0, outages: 0, outage_s: 0, levels: 0, pruned: 0 };
  /** Per underlying: the newest tick seen, and the newest tick known complete (a later tick arrived, or caught up). */
  private readonly ticks = new Map<string, { newest: bigint; complete: bigint | null; pruned: bigint | null }>();
  /** The newest row per level seen by this process: what a reconnect re-asserts. Bounded by the number of levels. */
  readonly latest = new Map<string, SignalRow>();
  /** Wall-clock ms of each level's last row, so a re-assertion does not revive a level redis.ttl_s has let expire. */
  private readonly seenAt = new Map<string, number>();
  private ctx: ConsumerContext = { heartbeat: async () => undefined, stopping: () => false };
  private reassertPending = false;
  private reassertRun: Promise<void> | null = null;
  private readonly outage: OutageTracker;

  constructor(
    readonly writer: RedisFeatureWriter,
    readonly logger: Logger,
    readonly stopping: () => boolean = () => false,
    /** redis.ttl_s (0 = none): levels not seen for this long are not re-asserted. */
    readonly ttlSeconds = 0,
    readonly now: () => number = Date.now,
  ) {
    this.outage = new OutageTracker('redis', logger);
  }

  attach(ctx: ConsumerContext): void {
    this.ctx = ctx;
  }

  assigned(): void {}

  private remember(rows: readonly SignalRow[]): void {
    for (const r of rows) {
      // Rows of one underlying arrive in tick order (one partition): a later tick completes the previous one.
      const t = this.ticks.get(r.underlying);
      if (!t) this.ticks.set(r.underlying, { newest: r.ts_event_ns, complete: null, pruned: null });
      else if (r.ts_event_ns > t.newest) {
        t.complete = t.newest;
        t.newest = r.ts_event_ns;
      }
      const k = levelMapKey(r);
      const cur = this.latest.get(k);
      if (!cur || casWins(cur.ts_event_ns.toString(), r.ts_event_ns.toString())) this.latest.set(k, r);
      this.seenAt.set(k, this.now());
    }
    this.stats.levels = this.latest.size;
  }

  private isStopping = (): boolean => this.stopping() || this.ctx.stopping();

  /** Writes rows by CAS, retrying transient failures until they succeed or the sink stops. */
  private async writeRetrying(rows: readonly SignalRow[], what: string): Promise<FeatureWriteResult> {
    const r = await retryTransient(() => this.writer.write(rows), { what, target: 'redis', logger: this.logger, transient: redisTransient, stopping: this.isStopping, onWait: this.ctx.heartbeat }, this.outage);
    this.stats.outages = this.outage.outages;
    this.stats.outage_s = Number(this.outage.downSeconds.toFixed(3));
    return r;
  }

  /** Redis (re)connected: every known level is rewritten, now and before the next batch's write. */
  reconnected(): void {
    this.reassertPending = true;
    void this.reassert().catch((e) => {
      if (!(e instanceof RetryAbortedError)) this.logger.error('re-assertion of the latest features failed; retried before the next batch', { error: e as Error });
    });
  }

  /** Rewrites every known level's newest row (CAS: a Redis that kept newer or equal data answers "stale"). */
  reassert(): Promise<void> {
    if (this.reassertRun) return this.reassertRun;
    this.reassertRun = (async () => {
      try {
        while (this.reassertPending) {
          this.reassertPending = false;
          const cutoff = this.ttlSeconds > 0 ? this.now() - this.ttlSeconds * 1000 : -Infinity;
          const rows = [...this.latest].filter(([k]) => (this.seenAt.get(k) ?? 0) >= cutoff).map(([, r]) => r);
          if (!rows.length) continue;
          const r = await this.writeRetrying(rows, `re-assert ${rows.length} levels`);
          this.stats.reasserts++;
          this.stats.reasserted += r.written;
          this.logger.info('latest features re-asserted after a reconnect', { levels: rows.length, ...r });
        }
      } catch (e) {
        this.reassertPending = true;
        throw e;
      } finally {
        this.reassertRun = null;
      }
    })();
    return this.reassertRun;
  }

  async batch(_topic: string, _partition: number, records: OffsetRecord<Decoded>[], position: bigint): Promise<bigint | null> {
    const rows = records.filter((x) => x.row.schemaName === 'levels.signals.v1').map((x) => recordToSignalRow(x.row.value as SignalRecord));
    this.remember(rows);
    // A pending re-assertion goes first, so no batch's offsets are committed while a level may still be missing.
    if (this.reassertPending || this.reassertRun) await this.reassert();
    if (rows.length) {
      const r = await this.writeRetrying(rows, `write ${rows.length} rows`);
      this.stats.batches++;
      this.stats.written += r.written;
      this.stats.stale += r.stale;
      this.logger.debug('features written', { rows: rows.length, ...r });
    }
    await this.prune(false);
    return position;
  }

  /**
   * Levels not written at an underlying's newest complete tick leave its index (redis-features.ts). Caught up
   * (`caughtUp`), the newest tick is complete too: the processor writes a tick's rows in one transaction, which a
   * read_committed consumer sees whole.
   */
  private async prune(caughtUp: boolean): Promise<void> {
    for (const [underlying, t] of this.ticks) {
      const upTo = caughtUp ? t.newest : t.complete;
      if (upTo === null || (t.pruned !== null && upTo <= t.pruned)) continue;
      const gone = await retryTransient(() => this.writer.prune(underlying, upTo), { what: `prune ${underlying}`, target: 'redis', logger: this.logger, transient: redisTransient, stopping: this.isStopping, onWait: this.ctx.heartbeat }, this.outage);
      t.pruned = upTo;
      for (const [k, r] of this.latest) {
        if (r.underlying === underlying && r.ts_event_ns < upTo) {
          this.latest.delete(k);
          this.seenAt.delete(k);
        }
      }
      this.stats.levels = this.latest.size;
      if (gone.length) {
        this.stats.pruned += gone.length;
        this.logger.info('levels left the live index', { underlying, levels: gone, tick_ts_event_ns: upTo.toString() });
      }
    }
  }

  async idle(): Promise<void> {
    if (this.reassertPending || this.reassertRun) await this.reassert();
    await this.prune(true);
  }
}

export interface RedisSinkOptions {
  cfg: Config;
  logger: Logger;
  untilIdle?: boolean;
  groupId?: string;
  /** First rebuild every level's latest features from the start of the signals topic (a throwaway consumer group). */
  rebuild?: boolean;
  /** Offsets read against offsets to read, of the run after any rebuild (EnvelopeConsumerOptions.onProgress). */
  onProgress?: (done: number, total: number) => void;
  /** Per-command bound (ms) of one write attempt; default 10 s. */
  commandTimeoutMs?: number;
}

export interface RedisSinkResult {
  redis: RedisSinkStats;
  consumer: EnvelopeConsumer['stats'];
  rebuild?: { rows: number; levels: number; written: number };
}

/** An ioredis client that reconnects forever and fails commands fast while disconnected (the sink retries them). */
export function sinkRedisClient(url: string, commandTimeoutMs = 10_000, security: ReturnType<typeof redisOptions> = {}): Redis {
  return new Redis(url, {
    ...security,
    lazyConnect: true,
    // Commands issued while disconnected fail at once instead of queueing without bound; retry.ts owns the waiting.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: commandTimeoutMs,
    retryStrategy: (times) => Math.min(100 * 2 ** Math.min(times, 10), 2_000),
  });
}

export async function runRedisSink(opts: RedisSinkOptions): Promise<RedisSinkResult> {
  const { cfg, logger } = opts;
  const redis = sinkRedisClient(cfg.redis.url, opts.commandTimeoutMs, redisOptions(cfg));
  let stopping = false;
  let consumer: EnvelopeConsumer | null = null;
  const onSignal = () => {
    stopping = true;
    void consumer?.stop();
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  const handler = new RedisSignalsHandler(new RedisFeatureWriter(redis, { keyPrefix: cfg.redis.key_prefix, ttlSeconds: cfg.redis.ttl_s, sessionAnchor: cfg.levels.vwap_anchor }), logger, () => stopping, cfg.redis.ttl_s);
  let everReady = false;
  redis.on('ready', () => {
    if (everReady) handler.reconnected();
    everReady = true;
  });
  // ioredis emits 'error' on every failed reconnect; the outage is logged by the retry loop (once), not here.
  redis.on('error', (e) => logger.debug('redis connection error', { error: e }));
  const topic = topicName(cfg, SIGNALS_TOPIC);
  const groupId = opts.groupId ?? redisSinkGroupId(cfg);
  const result: RedisSinkResult = { redis: handler.stats, consumer: { rows: 0, skipped: 0, commits: 0 } };
  try {
    logger.info('redis sink target', { url: cfg.redis.url.replace(/\/\/[^@/]*@/, '//***@'), key_prefix: cfg.redis.key_prefix, ttl_s: cfg.redis.ttl_s, rebuild: !!opts.rebuild });
    // A Redis that is down at start is waited for like one that goes down later.
    redis.connect().catch(() => undefined);
    await retryTransient(() => redis.ping(), { what: 'connect', target: 'redis', logger, transient: redisTransient, stopping: () => stopping }, new OutageTracker('redis', logger));
    if (opts.rebuild && !stopping) {
      // A fresh group reads the topic from its start (low watermark) to its end; every row goes through the same CAS
      // writes, so running this against a live Redis never regresses a level. The group is deleted afterwards.
      const rebuildGroup = `${groupId}-rebuild-${randomUUID()}`;
      const before = { ...handler.stats };
      consumer = new EnvelopeConsumer({ cfg, topics: [topic], groupId: rebuildGroup, name: 'redis rebuild', logger, untilIdle: true }, handler);
      await consumer.start();
      await consumer.wait();
      result.rebuild = { rows: consumer.stats.rows, levels: handler.latest.size, written: handler.stats.written - before.written };
      logger.info('redis features rebuilt from the signals topic', { topic, ...result.rebuild });
      const admin = createKafka(cfg, { logger }).admin();
      await admin.connect();
      await admin.deleteGroups([rebuildGroup]).catch((e: Error) => logger.warn('could not delete the rebuild consumer group', { group_id: rebuildGroup, error: e }));
      await admin.disconnect().catch(() => undefined);
      consumer = null;
    }
    if (!stopping) {
      // Caught up, the newest tick is complete: idle() prunes up to it within a second.
      consumer = new EnvelopeConsumer({ cfg, topics: [topic], groupId, name: 'redis sink', logger, untilIdle: opts.untilIdle, idleEveryMs: 1000, onProgress: opts.onProgress }, handler);
      await consumer.start();
      await consumer.wait();
      result.consumer = consumer.stats;
    }
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    redis.disconnect();
  }
  return result;
}
