// The Massive feed: stocks WebSocket (T/Q per underlying) + options WebSocket (0DTE strikes around spot, moved
// by the strike manager) + REST greeks snapshots, normalized and handed to a FeedSink in arrival order.
// Bad vendor input is dead-lettered with its reason and raw bytes and the feed goes on (DESIGN decision 5);
// a sink failure or a rejected key stops the feed (losing data silently is worse than stopping).
// FeedSink is the shared feeds contract (../sink.ts): emit(ev) and deadLetter({ reason, raw, source, … }).
import type { Config } from '@snap/core';
import type { FeedSink } from '../sink';
import { createLogger, systemClock, type Clock, type Logger } from '@snap/platform';
import { MassiveNormalizer, type MassiveCluster } from './normalize';
import { MassiveRestPoller, type ChainSnapshot } from './rest-poller';
import { StrikeManager, zeroDteExpiration } from './strike-manager';
import { MassiveAuthError, MassiveWsClient, type BackoffOptions, type MassiveFrame } from './ws-client';


export interface MassiveFeedOptions {
  config: Pick<Config, 'underlyings' | 'massive'>;
  apiKey: string;
  sink: FeedSink;
  clock?: Clock;
  logger?: Logger;
  /** Jitter source for reconnect backoff. */
  random?: () => number;
  backoff?: BackoffOptions;
  /** Poll the REST chain every massive.snapshot_interval_ms (default true). */
  restPolling?: boolean;
  /**
   * Bounded memory while the sink is slow or blocked (Kafka down: the sink holds the feed and retries): above this
   * many sink calls queued, both sockets stop reading (TCP backpressure to the vendor) until the queue is down to a
   * quarter. Default 20,000.
   */
  maxQueued?: number;
  /** What to do with symbols outside config.underlyings (wildcard subscriptions): default dead_letter. */
  onUnknownUnderlying?: 'dead_letter' | 'skip';
  holidays?: ReadonlySet<string>;
}

export interface MassiveFeedStats {
  events: number;
  deadLetters: number;
  optionQuotes: number;
  greeksSnapshots: number;
  restPollErrors: number;
  /** Times the sockets were paused because the sink was behind (bounded memory). */
  pauses: number;
  stocks: MassiveWsClient['stats'];
  options: MassiveWsClient['stats'];
}

export class MassiveFeed {
  readonly stocks: MassiveWsClient;
  readonly options: MassiveWsClient;
  readonly rest: MassiveRestPoller;
  private readonly normalizers: Record<MassiveCluster, MassiveNormalizer>;
  private readonly strikes = new Map<string, StrikeManager>();
  private readonly spot = new Map<string, number>();
  private lastEventNs: bigint | null = null;
  private readonly clock: Clock;
  private readonly log: Logger;
  private queue: Promise<void> = Promise.resolve();
  private pollTimer: NodeJS.Timeout | null = null;
  private stopped = false;
  private fatal: Error | null = null;
  private finished!: { resolve: () => void; reject: (e: Error) => void };
  /** Resolves on stop(); rejects when the feed stops on its own (bad key, sink failure, retries exhausted). */
  readonly done: Promise<void>;
  private readonly counters = { events: 0, deadLetters: 0, optionQuotes: 0, greeksSnapshots: 0, restPollErrors: 0, pauses: 0 };
  /** Sink calls queued and not finished yet. */
  private queued = 0;
  private readingPaused = false;

  constructor(private readonly opts: MassiveFeedOptions) {
    const m = opts.config.massive;
    this.clock = opts.clock ?? systemClock;
    this.log = opts.logger ?? createLogger({ name: 'massive-feed' });
    this.done = new Promise((resolve, reject) => (this.finished = { resolve, reject }));
    this.done.catch(() => undefined);
    const underlyings = opts.config.underlyings;
    this.normalizers = {
      stocks: new MassiveNormalizer({ cluster: 'stocks', underlyings, onUnknownUnderlying: opts.onUnknownUnderlying }),
      options: new MassiveNormalizer({ cluster: 'options', underlyings, onUnknownUnderlying: opts.onUnknownUnderlying }),
    };
    for (const u of underlyings) {
      this.strikes.set(u, new StrikeManager({ underlying: u, strikesAroundSpot: m.strikes_around_spot, strikeStep: m.strike_step, holidays: opts.holidays }));
    }
    const common = { apiKey: opts.apiKey, backoff: opts.backoff, random: opts.random, logger: this.log };
    this.stocks = new MassiveWsClient({
      ...common,
      url: m.ws_stocks_url,
      cluster: 'stocks',
      subscriptions: underlyings.flatMap((u) => [`T.${u}`, `Q.${u}`]),
      onFrame: (f) => this.onFrame('stocks', f),
    });
    this.options = new MassiveWsClient({ ...common, url: m.ws_options_url, cluster: 'options', onFrame: (f) => this.onFrame('options', f) });
    this.rest = new MassiveRestPoller({ baseUrl: m.rest_url, apiKey: opts.apiKey, requestsPerSecond: m.rest_requests_per_second, clock: this.clock, logger: this.log, random: opts.random, backoff: opts.backoff });
    for (const c of [this.stocks, this.options]) c.done.catch((e: Error) => this.stopWith(e));
  }

  /** Connects both clusters; resolves once both are authenticated and subscribed. */
  async start(): Promise<void> {
    await Promise.all([this.stocks.start(), this.options.start()]);
    if (this.opts.restPolling !== false) this.schedulePoll(0);
  }

  stats(): MassiveFeedStats {
    return { ...this.counters, stocks: { ...this.stocks.stats }, options: { ...this.options.stats } };
  }

  /** Last spot seen per underlying (quote mid, else last trade). */
  spotOf(underlying: string): number | undefined {
    return this.spot.get(underlying);
  }

  strikeManager(underlying: string): StrikeManager | undefined {
    return this.strikes.get(underlying);
  }

  /** Resolves when everything received so far has been handed to the sink. */
  flush(): Promise<void> {
    return this.queue;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.pollTimer) clearTimeout(this.pollTimer);
    await Promise.all([this.stocks.close(), this.options.close()]);
    await this.queue.catch(() => undefined);
    if (this.fatal) this.finished.reject(this.fatal);
    else this.finished.resolve();
  }

  private stopWith(err: Error): void {
    if (this.stopped) return;
    this.fatal ??= err;
    this.log.error('massive feed stopping', { error: err.message });
    void this.stop();
  }

  /** Every sink call goes through one chain so the sink sees events in arrival order, and a failure stops the feed. */
  private enqueue(work: () => Promise<void>): void {
    if (this.fatal) return;
    this.queued++;
    const max = this.opts.maxQueued ?? 20_000;
    if (!this.readingPaused && this.queued >= max) {
      this.readingPaused = true;
      this.counters.pauses++;
      this.log.warn('massive: the sink is behind; pausing the sockets until it catches up', { queued: this.queued });
      this.stocks.pause();
      this.options.pause();
    }
    this.queue = this.queue
      .then(work)
      .catch((e: Error) => this.stopWith(new Error(`feed sink failed: ${e.message}`)))
      .finally(() => {
        this.queued--;
        if (this.readingPaused && this.queued <= Math.floor(max / 4)) {
          this.readingPaused = false;
          this.log.warn('massive: the sink caught up; reading the sockets again', { queued: this.queued });
          this.stocks.resume();
          this.options.resume();
        }
      });
  }

  private deadLetter(reason: string, raw: Buffer, source: string, error_class: string, ts_recv_ns: bigint): void {
    this.counters.deadLetters++;
    this.log.warn('massive dead letter', { source, reason, bytes: raw.length });
    this.enqueue(() => this.opts.sink.deadLetter({ reason, raw, source, error_class, ts_recv_ns }));
  }

  private onFrame(cluster: MassiveCluster, frame: MassiveFrame): void {
    const ts_recv_ns = this.clock.nowNs();
    const items = this.normalizers[cluster].normalizeFrame(frame.raw, { ts_recv_ns, nextSeq: frame.nextSeq }, frame.decoded);
    for (const item of items) {
      if (item.kind === 'error') this.deadLetter(item.error.reason, item.error.raw, `feeds.massive_ws.${cluster}`, item.error.name, ts_recv_ns);
      else if (item.kind === 'bookkeeping') this.counters.optionQuotes++;
      else if (item.kind === 'event') {
        const ev = item.event;
        this.counters.events++;
        if (this.lastEventNs === null || ev.ts_event_ns > this.lastEventNs) this.lastEventNs = ev.ts_event_ns;
        this.enqueue(() => this.opts.sink.emit(ev));
        if (ev.schema === 'stocks.quotes.v1' && ev.bid_px > 0 && ev.ask_px >= ev.bid_px) this.onSpot(ev.symbol, (ev.bid_px + ev.ask_px) / 2, ev.ts_event_ns);
        else if (ev.schema === 'stocks.trades.v1' && !this.spot.has(ev.symbol)) this.onSpot(ev.symbol, ev.price, ev.ts_event_ns);
      }
    }
  }

  private onSpot(underlying: string, spot: number, ts_event_ns: bigint): void {
    this.spot.set(underlying, spot);
    const sm = this.strikes.get(underlying);
    if (!sm) return;
    const diff = sm.update(spot, ts_event_ns);
    if (!diff.subscribe.length && !diff.unsubscribe.length) return;
    if (diff.unsubscribe.length) this.options.unsubscribe(diff.unsubscribe);
    if (diff.subscribe.length) this.options.subscribe(diff.subscribe);
    const keep = new Set([...this.strikes.values()].flatMap((s) => s.contracts()));
    this.normalizers.options.bbo.retain((sym) => keep.has(sym));
    this.log.info('massive strikes moved', { underlying, spot, expiration: sm.expirationDate, center: sm.centerStrike, subscribed: diff.subscribe.length, unsubscribed: diff.unsubscribe.length });
  }

  /** One REST chain snapshot for an underlying, emitted to the sink (contracts without greeks are counted, invalid ones dead-lettered). */
  async pollGreeks(underlying: string): Promise<ChainSnapshot> {
    const m = this.opts.config.massive;
    const timeNs = this.lastEventNs ?? this.clock.nowNs();
    const snap = await this.rest.pollOnce({
      underlying,
      expirationDate: zeroDteExpiration(timeNs, this.opts.holidays),
      spot: this.spot.get(underlying) ?? null,
      strikeRange: m.strikes_around_spot * m.strike_step,
    });
    for (const d of snap.invalid) this.deadLetter(d.reason, d.raw, 'feeds.massive_rest', 'MassiveSnapshotError', snap.ts_event_ns);
    for (const ev of snap.events) this.enqueue(() => this.opts.sink.emit(ev));
    this.counters.greeksSnapshots += snap.events.length;
    this.log.info('massive greeks snapshot', { underlying, snapshot_id: snap.snapshot_id, pages: snap.pages, contracts: snap.contracts, with_greeks: snap.events.length, without_greeks: snap.withoutGreeks, invalid: snap.invalid.length });
    await this.queue;
    return snap;
  }

  private schedulePoll(delayMs: number): void {
    if (this.stopped) return;
    this.pollTimer = setTimeout(async () => {
      for (const u of this.opts.config.underlyings) {
        if (this.stopped) return;
        try {
          await this.pollGreeks(u);
        } catch (e) {
          if (e instanceof MassiveAuthError) return this.stopWith(e);
          this.counters.restPollErrors++;
          this.log.warn('massive greeks poll failed', { underlying: u, error: (e as Error).message });
        }
      }
      this.schedulePoll(this.opts.config.massive.snapshot_interval_ms);
    }, delayMs);
  }
}
