// The Databento live feed: the live client (@snap/dbn live) → the same DBN normalizer as `feed dbn` →
// futures.mbp10.v1 / futures.trades.v1 into a FeedSink, so Kafka sees exactly what a replay of the same data writes.
//
// - Symbols: the in-stream SymbolMappingMsgs name each instrument. Events carry the requested symbol (ES.c.0) like a
//   historical file's mappings do, or the raw contract for parent requests (ES.FUT fans out to many contracts);
//   see LiveSymbology.eventSymbol.
// - Heartbeats follow event time (the sink derives them from the records, as for a replay): the live stream is
//   ordered by ts_event and one normalizer feeds one key, so a crossed boundary is a true lower bound. When the
//   market is idle the gateway's own heartbeats (SystemMsg, every heartbeat_interval_s without data) move event time
//   on to their ts_event minus `idleHeartbeatLagMs`.
// - A reconnect replays from the last ts_event; the client drops what was already delivered, so nothing reaches the
//   ordering guard twice.
import { readFileSync } from 'node:fs';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { InputEvent } from '@snap/core';
import { DbnNormalizer, LiveSymbology, isHeartbeat, type DatabentoLiveClient, type DbnMetadata, type DbnRecord, type LiveSchema } from '@snap/dbn';
import { createLogger, type Logger } from '@snap/platform';
import { makeHeartbeat, type HeartbeatScheduler } from './ordering';
import type { FeedSink } from './sink';

export interface DatabentoFeedOptions {
  client: DatabentoLiveClient;
  sink: FeedSink;
  /** The partition key: the underlying the futures data serves (SPY for ES). */
  underlying: string;
  /** Symbol for an instrument no mapping names (config basis.futures_symbol). */
  symbolRoot: string;
  schemas: readonly LiveSchema[];
  /** The sink's heartbeat scheduler: gateway heartbeats advance it while the market is idle. */
  heartbeats?: HeartbeatScheduler | null;
  /** Idle heartbeats trail the gateway's heartbeat time by this much (records may still be in flight). */
  idleHeartbeatLagMs?: number;
  /** End when the gateway reports the intraday replay caught up (backfills, tests). */
  untilReplayCompleted?: boolean;
  logger?: Logger;
  nowNs?: () => bigint;
}

export interface DatabentoFeedStats {
  records: number;
  events: number;
  eventsBySchema: Record<string, number>;
  gatewayErrors: { code: number | null; err: string }[];
  replayCompleted: boolean;
  symbols: Record<string, string[]>;
  client: DatabentoLiveClient['stats'];
}

export type DatabentoFeedState = 'connecting' | 'up' | 'reconnecting' | 'stopped' | 'failed';

export class DatabentoFeed {
  private readonly log: Logger;
  private readonly symbology = new LiveSymbology();
  private normalizer: DbnNormalizer | null = null;
  private stopped = false;
  private _state: DatabentoFeedState = 'connecting';
  /** When the feed last left the 'up' state (null while up). */
  private downSince: number | null = Date.now();
  private readonly s = { records: 0, events: 0, eventsBySchema: {} as Record<string, number>, gatewayErrors: [] as { code: number | null; err: string }[], replayCompleted: false };

  constructor(private readonly opts: DatabentoFeedOptions) {
    this.log = opts.logger ?? createLogger({ name: 'feeds.databento' });
    opts.client.on('connected', () => {
      this._state = 'up';
      this.downSince = null;
    });
    opts.client.on('disconnected', () => {
      this._state = this.stopped ? 'stopped' : 'reconnecting';
      this.downSince ??= Date.now();
    });
    opts.client.on('replay_completed', () => {
      this.s.replayCompleted = true;
      if (opts.untilReplayCompleted) this.stop();
    });
    opts.client.on('gateway_error', (e) => this.s.gatewayErrors.push({ code: e.code ?? null, err: e.err }));
  }

  get state(): DatabentoFeedState {
    return this._state;
  }

  /**
   * /healthz: not failed, and connected — or reconnecting for less than `graceMs` (a dropped connection is expected
   * and repaired within seconds; a gateway unreachable for a minute is an outage an operator should see).
   */
  healthy(graceMs = 60_000, now = Date.now()): boolean {
    if (this._state === 'failed') return false;
    if (this._state === 'up' || this._state === 'stopped') return true;
    return this.downSince === null || now - this.downSince < graceMs;
  }

  stats(): DatabentoFeedStats {
    return { ...this.s, eventsBySchema: { ...this.s.eventsBySchema }, gatewayErrors: [...this.s.gatewayErrors], symbols: this.symbology.resolved(), client: this.opts.client.stats };
  }

  stop(): void {
    this.stopped = true;
    this._state = 'stopped';
    this.opts.client.stop();
  }

  /** Streams until stop() (or the replay completed with untilReplayCompleted); throws what the client throws. */
  async run(): Promise<DatabentoFeedStats> {
    try {
      for await (const item of this.opts.client.stream()) {
        if (item.type === 'session') {
          this.normalizer ??= this.makeNormalizer(item.metadata);
          continue;
        }
        await this.onRecord(item.record);
      }
    } catch (e) {
      this._state = 'failed';
      throw e;
    }
    this._state = 'stopped';
    return this.stats();
  }

  private makeNormalizer(metadata: DbnMetadata): DbnNormalizer {
    // A live session mixing schemas has no schema in its metadata; rtype 0x01 is then mbp-1 or tbbo by what was
    // subscribed (subscribing both at once would be ambiguous: the CLI refuses it).
    const tbbo = this.opts.schemas.includes('tbbo') && !this.opts.schemas.includes('mbp-1');
    return new DbnNormalizer({ ...metadata, schema: tbbo ? 'tbbo' : metadata.schema, mappings: [] }, { underlying: this.opts.underlying, symbolRoot: this.opts.symbolRoot });
  }

  private async onRecord(r: DbnRecord): Promise<void> {
    const n = this.normalizer!;
    switch (r.kind) {
      case 'symbol_mapping': {
        if (this.symbology.push(r)) this.log.info('databento symbol resolved', { requested: r.stype_in_symbol, contract: r.stype_out_symbol, instrument_id: r.instrument_id });
        // The normalizer names an instrument by the mapping's stype_out_symbol: hand it the symbol events should carry.
        n.push({ ...r, stype_out_symbol: this.symbology.eventSymbol(r.instrument_id)! });
        return;
      }
      case 'system':
        if (isHeartbeat(r)) await this.idleHeartbeat(r.ts_event);
        return;
      case 'error':
        return; // logged and counted by the client and the listener above
      default: {
        this.s.records++;
        const events: InputEvent[] = n.push(r);
        for (const ev of events) {
          await this.opts.sink.emit(ev);
          this.s.events++;
          this.s.eventsBySchema[ev.schema] = (this.s.eventsBySchema[ev.schema] ?? 0) + 1;
        }
      }
    }
  }

  private async idleHeartbeat(gatewayTs: bigint): Promise<void> {
    const hb = this.opts.heartbeats;
    if (!hb || gatewayTs <= 0n) return;
    const key = this.opts.underlying;
    const b = hb.boundary(gatewayTs - BigInt(this.opts.idleHeartbeatLagMs ?? 0) * 1_000_000n);
    const last = hb.lastHeartbeat(key);
    if (last !== undefined && b <= last) return;
    await this.opts.sink.emit(makeHeartbeat(key, b, 'databento', this.opts.nowNs?.() ?? BigInt(Date.now()) * 1_000_000n));
  }
}

/** The live connection's counters on the feed's /metrics (read at scrape time). */
export function registerDatabentoMetrics(registry: Registry, feed: DatabentoFeed): void {
  const counter = (name: string, help: string, read: (s: DatabentoFeedStats['client']) => number) =>
    new Counter({
      name,
      help,
      registers: [registry],
      collect(this: Counter<string>) {
        this.reset();
        this.inc(read(feed.stats().client));
      },
    });
  counter('snap_databento_connections_total', 'Gateway connections opened (the first and every reconnect)', (c) => c.connections);
  counter('snap_databento_duplicates_dropped_total', 'Records the gateway replayed after a reconnect that had been delivered before', (c) => c.duplicatesDropped);
  counter('snap_databento_heartbeat_timeouts_total', 'Connections closed as stalled (no data or heartbeat within the heartbeat timeout)', (c) => c.heartbeatTimeouts);
  counter('snap_databento_slow_reader_warnings_total', 'Slow-reader warnings (from the gateway or our own socket buffer)', (c) => c.slowReaderWarnings);
  counter('snap_databento_gateway_errors_total', 'Error records sent by the gateway', (c) => c.gatewayErrors);
  new Gauge({
    name: 'snap_databento_connected',
    help: '1 while a gateway session is up',
    registers: [registry],
    collect(this: Gauge<string>) {
      this.set(feed.state === 'up' ? 1 : 0);
    },
  });
}

export class DatabentoApiKeyError extends Error {
  override name = 'DatabentoApiKeyError';
}

/**
 * The API key: env DATABENTO_API_KEY, or a file (a mounted secret) named by --api-key-file or env
 * DATABENTO_API_KEY_FILE. Errors name where the key was looked for, never the key.
 */
export function resolveDatabentoApiKey(opts: { file?: string; env?: NodeJS.ProcessEnv; readFile?: (p: string) => string }): string {
  const env = opts.env ?? process.env;
  const file = opts.file ?? env.DATABENTO_API_KEY_FILE;
  const read = opts.readFile ?? ((p: string) => readFileSync(p, 'utf8'));
  if (file) {
    let text: string;
    try {
      text = read(file);
    } catch (e) {
      throw new DatabentoApiKeyError(`cannot read the Databento API key file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    const key = text.trim();
    if (key === '') throw new DatabentoApiKeyError(`the Databento API key file ${file} is empty`);
    if (/\s/.test(key)) throw new DatabentoApiKeyError(`the Databento API key file ${file} holds more than one token`);
    return key;
  }
  const key = env.DATABENTO_API_KEY?.trim();
  if (key) return key;
  throw new DatabentoApiKeyError('no Databento API key: set DATABENTO_API_KEY, or DATABENTO_API_KEY_FILE / --api-key-file to a file holding it');
}
