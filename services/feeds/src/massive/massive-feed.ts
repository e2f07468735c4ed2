// The Massive feed: stocks WebSocket (T/Q per underlying) + options WebSocket (0DTE strikes around spot, moved
// by the strike manager) + REST greeks snapshots, normalized and handed to a FeedSink in arrival order.
// Bad vendor input is dead-lettered with its reason and raw bytes and the feed goes on (DESIGN decision 5);
// a sink failure, or a rejected key on BOTH clusters, stops the feed (losing data silently is worse than stopping).
// One cluster failing (a plan without it, another process holding its slot) or REST failing (no chain access, an
// outage) degrades the feed instead: the others go on, health says what is missing and what it costs the signals.
// FeedSink is the shared feeds contract (../sink.ts): emit(ev) and deadLetter({ reason, raw, source, … }).
import type { Config } from '@snap/core';
import type { FeedSink } from '../sink';
import { createLogger, systemClock, type Clock, type Logger } from '@snap/platform';
import { DEFAULT_QUOTE_MAX_AGE_MS, MassiveNormalizer, type MassiveCluster, type OptionTradeCounters } from './normalize';
import { MassiveRestForbiddenError, MassiveRestPoller, type ChainSnapshot } from './rest-poller';
import { StrikeManager, zeroDteExpiration } from './strike-manager';
import { MassiveAuthError, MassiveWsClient, type BackoffOptions, type MassiveFrame, type MassiveStatusEvent } from './ws-client';

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
  /** Tests: a connection live this long resets the reconnect backoff (default 30 s). */
  stableAfterMs?: number;
  /** Tests: kicks in a row before a cluster gives up with MassiveConnectionConflictError (default 3). */
  maxKicks?: number;
  /**
   * Greeks snapshots are never stamped older than the local poll end − massive.data_delay_ms − this (default 500 ms,
   * half of feeds.live_heartbeat_lag_ms' default): live heartbeats may already have released that time.
   */
  snapshotFloorLagMs?: number;
  /** How long start() waits for the second cluster once the first is live (default 15 s); it keeps retrying after. */
  startGraceMs?: number;
  /** Entitlement detection: option trades seen with no option quote at all before "no option quotes" is reported (default 20). */
  missingQuotesAfterTrades?: number;
}

/** An entitlement the plan lacks (or a delay it has), reported once with what it costs the signals. */
export type MassiveEntitlementIssue = 'no_option_quotes' | 'no_stock_quotes' | 'delayed_data' | 'no_chain_access' | 'no_universal_snapshot_access' | 'no_stocks_websocket' | 'no_options_websocket';

export interface MassiveEntitlementReport {
  issue: MassiveEntitlementIssue;
  detail: string;
  cost: string;
}

export type ComponentState = 'connecting' | 'up' | 'down' | 'failed';
export type RestState = 'idle' | 'ok' | 'failing' | 'forbidden' | 'off';

export interface MassiveHealth {
  /** ok: everything up; degraded: something missing or failing, the rest streams; failed: the feed stopped. */
  status: 'ok' | 'degraded' | 'failed';
  stocks: ComponentState;
  options: ComponentState;
  rest: RestState;
  /** The plan's delay as configured (massive.data_delay_ms) and as observed (receive time − vendor event time). */
  data_delay_ms: number;
  observed_delay_ms: number | null;
  entitlements: MassiveEntitlementReport[];
  /** Why each component is not ok. */
  reasons: string[];
}

export interface MassiveFeedStats {
  events: number;
  deadLetters: number;
  optionQuotes: number;
  greeksSnapshots: number;
  restPollErrors: number;
  /** Times the sockets were paused because the sink was behind (bounded memory). */
  pauses: number;
  /** Customer side of option prints by method, stale quotes skipped, prints excluded by condition. */
  optionTrades: OptionTradeCounters;
  stocks: MassiveWsClient['stats'];
  options: MassiveWsClient['stats'];
}

const COSTS: Record<MassiveEntitlementIssue, string> = {
  no_option_quotes: 'option prints get their customer side from the tick rule only (no NBBO): Fuel (dealer gamma) is noisier and biased in one-sided markets',
  no_stock_quotes: 'spot and the strike window follow the last trade instead of the quote mid; the tape aggressor of stock trades is unknown',
  delayed_data: 'every signal is as old as the data: levels, Fuel and the tape describe the market of the delay ago',
  no_chain_access: 'no greeks: Fuel has no gamma to weight option flow with and reads NEUTRAL; streaming continues',
  no_universal_snapshot_access: 'no greeks from the universal snapshot: Fuel reads NEUTRAL; streaming continues',
  no_stocks_websocket: 'no stock trades or quotes: no spot, no tape, the strike window does not move',
  no_options_websocket: 'no option prints: Fuel has no flow and reads NEUTRAL',
};

/** Observed delay above this, with massive.data_delay_ms = 0, is reported as delayed data. */
const DELAY_REPORT_MS = 60_000;
/** Stock quotes missing for this long of event time after the first trade → no_stock_quotes. */
const MISSING_STOCK_QUOTES_NS = 30_000_000_000n;
/** After a stock quote, trades do not move spot for this long (quotes are the better spot). */
const QUOTE_SPOT_PRIORITY_NS = 5_000_000_000n;

export class MassiveFeed {
  readonly stocks: MassiveWsClient;
  readonly options: MassiveWsClient;
  readonly rest: MassiveRestPoller;
  private readonly normalizers: Record<MassiveCluster, MassiveNormalizer>;
  private readonly strikes = new Map<string, StrikeManager>();
  private readonly spot = new Map<string, number>();
  private readonly lastStockQuoteNs = new Map<string, bigint>();
  private readonly firstStockTradeNs = new Map<string, bigint>();
  private lastEventNs: bigint | null = null;
  private readonly clock: Clock;
  private readonly log: Logger;
  private queue: Promise<void> = Promise.resolve();
  private pollTimer: NodeJS.Timeout | null = null;
  private stopped = false;
  private fatal: Error | null = null;
  private finished!: { resolve: () => void; reject: (e: Error) => void };
  /** Resolves on stop(); rejects when the feed stops on its own (bad key on both clusters, sink failure). */
  readonly done: Promise<void>;
  private readonly counters = { events: 0, deadLetters: 0, optionQuotes: 0, greeksSnapshots: 0, restPollErrors: 0, pauses: 0 };
  /** Sink calls queued and not finished yet. */
  private queued = 0;
  private readingPaused = false;
  private readonly state: { stocks: ComponentState; options: ComponentState; rest: RestState } = { stocks: 'connecting', options: 'connecting', rest: 'idle' };
  private readonly failures: Partial<Record<'stocks' | 'options' | 'rest', string>> = {};
  private readonly reported = new Map<MassiveEntitlementIssue, MassiveEntitlementReport>();
  private observedDelayMs: number | null = null;
  private delayObservations = 0;
  private delayMismatch: string | null = null;
  private optionTradesSeen = 0;
  private readonly lastSnapshotNs = new Map<string, bigint>();
  /** ±N strikes actually subscribed (massive.strikes_around_spot narrowed to the subscription limit). */
  private readonly strikesAround: number;

  constructor(private readonly opts: MassiveFeedOptions) {
    const m = opts.config.massive;
    this.clock = opts.clock ?? systemClock;
    this.log = opts.logger ?? createLogger({ name: 'massive-feed' });
    this.done = new Promise((resolve, reject) => (this.finished = { resolve, reject }));
    this.done.catch(() => undefined);
    const underlyings = opts.config.underlyings;
    const quoteMaxAgeMs = m.quote_max_age_ms ?? DEFAULT_QUOTE_MAX_AGE_MS;
    this.normalizers = {
      stocks: new MassiveNormalizer({ cluster: 'stocks', underlyings, onUnknownUnderlying: opts.onUnknownUnderlying }),
      options: new MassiveNormalizer({ cluster: 'options', underlyings, onUnknownUnderlying: opts.onUnknownUnderlying, quoteMaxAgeMs }),
    };
    // The vendor caps option contracts per connection (quotes: 1000): the window (2N+1 strikes × 2 rights per
    // underlying) is narrowed to fit rather than subscribing contracts the vendor would refuse.
    const maxContracts = m.max_option_contracts ?? 1000;
    const fit = Math.max(0, Math.floor((Math.floor(maxContracts / (2 * Math.max(1, underlyings.length))) - 1) / 2));
    const strikesAround = Math.min(m.strikes_around_spot, fit);
    this.strikesAround = strikesAround;
    if (strikesAround < m.strikes_around_spot) {
      this.log.warn('massive: strike window narrowed to the subscription limit', { strikes_around_spot: m.strikes_around_spot, used: strikesAround, max_option_contracts: maxContracts, underlyings: underlyings.length });
    }
    for (const u of underlyings) {
      this.strikes.set(u, new StrikeManager({ underlying: u, strikesAroundSpot: strikesAround, strikeStep: m.strike_step, holidays: opts.holidays }));
    }
    const common = {
      apiKey: opts.apiKey,
      backoff: opts.backoff,
      random: opts.random,
      logger: this.log,
      pingIntervalMs: m.ping_interval_ms,
      idleTimeoutMs: m.idle_timeout_ms,
      stableAfterMs: opts.stableAfterMs,
      maxKicks: opts.maxKicks,
    };
    const clusterHooks = (cluster: MassiveCluster) => ({
      onStatus: (s: MassiveStatusEvent) => this.onStatus(cluster, s),
      onLive: () => this.setState(cluster, 'up'),
      onDisconnect: () => {
        if (this.state[cluster] === 'up') this.setState(cluster, 'down');
      },
    });
    this.stocks = new MassiveWsClient({
      ...common,
      ...clusterHooks('stocks'),
      url: m.ws_stocks_url,
      cluster: 'stocks',
      subscriptions: underlyings.flatMap((u) => [`T.${u}`, `Q.${u}`]),
      onFrame: (f) => this.onFrame('stocks', f),
    });
    this.options = new MassiveWsClient({ ...common, ...clusterHooks('options'), url: m.ws_options_url, cluster: 'options', onFrame: (f) => this.onFrame('options', f) });
    this.rest = new MassiveRestPoller({ baseUrl: m.rest_url, apiKey: opts.apiKey, requestsPerSecond: m.rest_requests_per_second, clock: this.clock, logger: this.log, random: opts.random, backoff: opts.backoff });
    this.stocks.done.catch((e: Error) => this.onClusterFailed('stocks', e));
    this.options.done.catch((e: Error) => this.onClusterFailed('options', e));
    if (m.data_delay_ms > 0) {
      this.log.warn('massive: delayed plan — every record is about this old when it arrives; signals describe the market of that long ago', { data_delay_ms: m.data_delay_ms });
    }
  }

  /**
   * Connects both clusters; resolves once at least one is authenticated and subscribed (the other degrades the
   * feed), rejects when both fail.
   */
  async start(): Promise<void> {
    const both = Promise.allSettled([this.stocks.start(), this.options.start()]);
    // A cluster that cannot even connect keeps retrying in the background: once the other is live, the feed does not
    // wait for it longer than startGraceMs (health says "connecting" meanwhile).
    const firstLive = Promise.any([this.stocks.start(), this.options.start()]).then(
      () => new Promise<'grace'>((r) => setTimeout(() => r('grace'), this.opts.startGraceMs ?? 15_000).unref()),
      () => 'none' as const,
    );
    const settled = await Promise.race([both, firstLive]);
    if (Array.isArray(settled)) {
      const [s, o] = settled;
      if (s.status === 'rejected' && o.status === 'rejected') {
        const err = s.reason as Error;
        this.stopWith(err);
        throw err;
      }
    } else if (settled === 'grace') {
      this.log.warn('massive: starting degraded; a cluster is still not connected', { stocks: this.state.stocks, options: this.state.options });
    } else {
      // Neither went live: both rejected (allSettled reports how).
      const [s] = await both;
      const err = (s as PromiseRejectedResult).reason as Error;
      this.stopWith(err);
      throw err;
    }
    if (this.opts.restPolling !== false) this.schedulePoll(0);
    else this.state.rest = 'off';
  }

  stats(): MassiveFeedStats {
    const ot = this.normalizers.options.optionTrades;
    return {
      ...this.counters,
      optionTrades: { side: { ...ot.side }, staleQuote: ot.staleQuote, excluded: { ...ot.excluded }, unknownConditions: ot.unknownConditions },
      stocks: { ...this.stocks.stats },
      options: { ...this.options.stats },
    };
  }

  health(): MassiveHealth {
    const { stocks, options, rest } = this.state;
    const reasons: string[] = [];
    if (stocks !== 'up') reasons.push(`stocks: ${stocks}${this.failures.stocks ? ` (${this.failures.stocks})` : ''}`);
    if (options !== 'up') reasons.push(`options: ${options}${this.failures.options ? ` (${this.failures.options})` : ''}`);
    if (rest === 'failing' || rest === 'forbidden') reasons.push(`rest: ${rest}${this.failures.rest ? ` (${this.failures.rest})` : ''}`);
    for (const e of this.reported.values()) reasons.push(`${e.issue}: ${e.cost}`);
    if (this.delayMismatch) reasons.push(`delay: ${this.delayMismatch}`);
    const failed = this.fatal !== null || (stocks === 'failed' && options === 'failed');
    return {
      status: failed ? 'failed' : reasons.length ? 'degraded' : 'ok',
      stocks,
      options,
      rest,
      data_delay_ms: this.opts.config.massive.data_delay_ms,
      observed_delay_ms: this.observedDelayMs,
      entitlements: [...this.reported.values()],
      reasons,
    };
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

  private setState(cluster: MassiveCluster, s: ComponentState): void {
    if (this.state[cluster] === 'failed') return;
    this.state[cluster] = s;
  }

  /** One cluster gave up (bad key for it, conflict, retries exhausted): the other goes on unless it failed too. */
  private onClusterFailed(cluster: MassiveCluster, err: Error): void {
    if (this.stopped) return;
    this.state[cluster] = 'failed';
    this.failures[cluster] = err.message;
    const other: MassiveCluster = cluster === 'stocks' ? 'options' : 'stocks';
    if (err instanceof MassiveAuthError) this.report(cluster === 'stocks' ? 'no_stocks_websocket' : 'no_options_websocket', err.message);
    if (this.state[other] === 'failed') return this.stopWith(err);
    this.log.error(`massive ${cluster} stopped; the feed goes on degraded`, { error: err.message, still_streaming: other });
  }

  private report(issue: MassiveEntitlementIssue, detail: string): void {
    if (this.reported.has(issue)) return;
    const r = { issue, detail, cost: COSTS[issue] };
    this.reported.set(issue, r);
    this.log.warn('massive entitlement', { ...r });
  }

  private onStatus(cluster: MassiveCluster, s: MassiveStatusEvent): void {
    // A channel the plan does not include is refused with an error status naming it.
    if (s.status === 'error' && /not (authorized|entitled)|upgrade|plan/i.test(s.message)) {
      if (cluster === 'options' && /\bQ\.O:/.test(s.message)) this.report('no_option_quotes', s.message);
      else if (cluster === 'stocks' && /\bQ\./.test(s.message)) this.report('no_stock_quotes', s.message);
    }
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
        this.observeDelay(ts_recv_ns, ev.ts_event_ns);
        this.enqueue(() => this.opts.sink.emit(ev));
        if (ev.schema === 'stocks.quotes.v1') {
          this.lastStockQuoteNs.set(ev.symbol, ev.ts_event_ns);
          if (ev.bid_px > 0 && ev.ask_px >= ev.bid_px) this.onSpot(ev.symbol, (ev.bid_px + ev.ask_px) / 2, ev.ts_event_ns);
        } else if (ev.schema === 'stocks.trades.v1') {
          this.onStockTrade(ev.symbol, ev.price, ev.ts_event_ns);
        } else if (ev.schema === 'options.trades.v1') {
          this.optionTradesSeen++;
          if (this.counters.optionQuotes === 0 && this.optionTradesSeen >= (this.opts.missingQuotesAfterTrades ?? 20)) {
            this.report('no_option_quotes', `${this.optionTradesSeen} option trades and not one option quote on the subscribed Q.O:* channels`);
          }
        }
      }
    }
  }

  /** Spot follows quotes all day; without quotes (plan without them, or a quiet quote stream) trades move it. */
  private onStockTrade(symbol: string, price: number, ts: bigint): void {
    const lastQ = this.lastStockQuoteNs.get(symbol);
    if (!this.firstStockTradeNs.has(symbol)) this.firstStockTradeNs.set(symbol, ts);
    if (lastQ === undefined && ts - this.firstStockTradeNs.get(symbol)! >= MISSING_STOCK_QUOTES_NS) {
      this.report('no_stock_quotes', `stock trades for ${(Number(ts - this.firstStockTradeNs.get(symbol)!) / 1e9).toFixed(0)} s of event time and not one quote for ${symbol}`);
    }
    if (lastQ === undefined || ts - lastQ > QUOTE_SPOT_PRIORITY_NS) this.onSpot(symbol, price, ts);
  }

  private observeDelay(recvNs: bigint, eventNs: bigint): void {
    const d = Number((recvNs - eventNs) / 1_000_000n);
    // A light EWMA: single late prints do not swing it, a delayed plan shows within a few records.
    this.observedDelayMs = this.observedDelayMs === null ? d : Math.round(this.observedDelayMs * 0.9 + d * 0.1);
    const configured = this.opts.config.massive.data_delay_ms;
    this.delayObservations++;
    // The other way round: a delay configured on a real-time plan holds every signal back by it (heartbeats trail by it).
    if (configured > 0 && this.delayMismatch === null && this.delayObservations >= 50 && this.observedDelayMs < configured / 2) {
      this.delayMismatch = `massive.data_delay_ms is ${configured} but records arrive about ${this.observedDelayMs} ms after their event time: heartbeats trail by the configured delay and hold every signal back by it (set 0 on a real-time plan)`;
      this.log.warn('massive: configured delay does not match the data', { data_delay_ms: configured, observed_delay_ms: this.observedDelayMs });
    }
    if (configured === 0 && this.observedDelayMs > DELAY_REPORT_MS) {
      this.report('delayed_data', `records arrive about ${Math.round(this.observedDelayMs / 1000)} s after their event time but massive.data_delay_ms is 0 (a delayed plan, or a clock far off)`);
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
    this.normalizers.options.retainContracts((sym) => keep.has(sym));
    this.log.info('massive strikes moved', { underlying, spot, expiration: sm.expirationDate, center: sm.centerStrike, subscribed: diff.subscribe.length, unsubscribed: diff.unsubscribe.length });
  }

  /** One REST greeks snapshot for an underlying, emitted to the sink (contracts without greeks are counted, invalid ones dead-lettered). */
  async pollGreeks(underlying: string): Promise<ChainSnapshot> {
    const m = this.opts.config.massive;
    const timeNs = this.lastEventNs ?? this.clock.nowNs();
    const sm = this.strikes.get(underlying);
    // The snapshot's time is the vendor's, with a floor: never before the previous snapshot's (time does not go back
    // in a stream), and never older than what live heartbeats may already have released (local poll end − plan delay
    // − snapshotFloorLagMs), or the records would be late and dead-lettered. A floor claims the greeks valid from
    // later than the vendor says, never earlier, so an as-of join stays honest; it is logged with the vendor age.
    const prev = this.lastSnapshotNs.get(underlying) ?? null;
    const floorNs = (endNs: bigint): bigint => {
      const live = endNs - BigInt(m.data_delay_ms + (this.opts.snapshotFloorLagMs ?? 500)) * 1_000_000n;
      return prev !== null && prev > live ? prev : live;
    };
    const snap =
      m.snapshot_endpoint === 'universal'
        ? await this.rest.pollUniversal(underlying, sm?.contracts() ?? [], { floorNs })
        : await this.rest.pollOnce(
            {
              underlying,
              expirationDate: zeroDteExpiration(timeNs, this.opts.holidays),
              spot: this.spot.get(underlying) ?? null,
              strikeRange: this.strikesAround * m.strike_step,
            },
            { floorNs },
          );
    this.lastSnapshotNs.set(underlying, snap.ts_event_ns);
    const events = snap.events;
    for (const d of snap.invalid) this.deadLetter(d.reason, d.raw, 'feeds.massive_rest', 'MassiveSnapshotError', snap.ts_recv_ns);
    for (const ev of events) this.enqueue(() => this.opts.sink.emit(ev));
    this.counters.greeksSnapshots += events.length;
    this.log.info('massive greeks snapshot', {
      underlying,
      endpoint: m.snapshot_endpoint,
      snapshot_id: snap.snapshot_id,
      time_source: snap.time_source,
      vendor_age_ms: snap.vendor_ns === null ? null : Number((snap.ts_recv_ns - snap.vendor_ns) / 1_000_000n),
      pages: snap.pages,
      contracts: snap.contracts,
      with_greeks: events.length,
      without_greeks: snap.withoutGreeks,
      not_found: snap.notFound.length,
      invalid: snap.invalid.length,
    });
    await this.queue;
    return snap;
  }

  private schedulePoll(delayMs: number): void {
    if (this.stopped) return;
    this.pollTimer = setTimeout(async () => {
      const interval = this.opts.config.massive.snapshot_interval_ms;
      let next = interval;
      for (const u of this.opts.config.underlyings) {
        if (this.stopped) return;
        try {
          await this.pollGreeks(u);
          this.state.rest = 'ok';
          delete this.failures.rest;
        } catch (e) {
          this.counters.restPollErrors++;
          const err = e as Error;
          this.failures.rest = err.message;
          if (e instanceof MassiveRestForbiddenError) {
            // Entitlement, not an outage: report once, keep streaming, look again rarely (a plan upgrade shows up).
            this.state.rest = 'forbidden';
            this.report(this.opts.config.massive.snapshot_endpoint === 'universal' ? 'no_universal_snapshot_access' : 'no_chain_access', err.message);
            next = interval * 20;
            break;
          }
          this.state.rest = 'failing';
          this.log.warn('massive greeks poll failed; streaming goes on', { underlying: u, error: err.message, auth: e instanceof MassiveAuthError });
        }
      }
      this.schedulePoll(next);
    }, delayMs);
  }
}
