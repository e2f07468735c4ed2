// Databento live client over the Raw API (TCP): connect → greeting → CRAM auth → subscriptions → start_session →
// the DBN stream, decoded by the one decode path of this package (dbnFrames). Node.js has no official Databento
// live client; this follows the protocol as the official ones speak it (see protocol.ts for the sources).
//
// Resilience, the part the official clients leave to the caller:
// - A dropped connection (socket closed, reset, a truncated record) is reopened with jittered exponential backoff
//   and every subscription is sent again with an intraday replay `start` = the last ts_event received, so nothing
//   in between is lost. The replay repeats the records AT that ts_event: the ones already delivered are recognised
//   by their bytes and dropped here (per byte-identical record, counted), so the output has no gap and no duplicate.
// - The gateway sends a heartbeat SystemMsg after heartbeat_interval_s without data; no bytes at all for
//   interval + 5 s (databento-rs heartbeat_timeout) means a stalled connection: it is closed and reopened likewise.
// - Slow-reader warnings (SystemMsg code 2, and our own socket buffer growing past a bound) are surfaced as events.
// - Errors name the gateway (host:port) and dataset, never the API key.
import { EventEmitter } from 'node:events';
import { connect, type Socket } from 'node:net';
import { dbnFrames } from '../decoder';
import { DbnError } from '../errors';
import { RTYPE } from '../enums';
import type { DbnMetadata } from '../metadata';
import type { DbnRecord, ErrorMsg, SymbolMappingMsg, SystemMsg } from '../records';
import {
  DEFAULT_HEARTBEAT_INTERVAL_S,
  GatewayProtocolError,
  LineReader,
  START_SESSION_LINE,
  authRequestLine,
  gatewayFor,
  inferSType,
  parseControlLine,
  subscriptionLines,
  type LiveSType,
  type LiveSchema,
  type SubscriptionRequest,
} from './protocol';

/** SystemMsg.code values (DBN v2+; databento/dbn SystemCode). */
export const SYSTEM_CODE = { HEARTBEAT: 0, SUBSCRIPTION_ACK: 1, SLOW_READER_WARNING: 2, REPLAY_COMPLETED: 3, END_OF_INTERVAL: 4 } as const;
/** ErrorMsg.code values (DBN v2+; databento/dbn ErrorCode). */
export const ERROR_CODE = {
  AUTH_FAILED: 1,
  API_KEY_DEACTIVATED: 2,
  CONNECTION_LIMIT_EXCEEDED: 3,
  SYMBOL_RESOLUTION_FAILED: 4,
  INVALID_SUBSCRIPTION: 5,
  INTERNAL_ERROR: 6,
  SKIPPED_RECORDS_AFTER_SLOW_READING: 7,
} as const;

export interface LiveLogger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

const silent: LiveLogger = { debug() {}, info() {}, warn() {}, error() {} };

/** Base of every live client failure: names the gateway and dataset, never the key. */
export class DatabentoLiveError extends Error {
  override name = 'DatabentoLiveError';
  constructor(
    message: string,
    readonly gateway: string,
    readonly dataset: string,
  ) {
    super(message);
  }
}

/** The gateway refused the key (success=0, or an auth ErrorMsg). Not retried: another attempt would fail the same way. */
export class DatabentoAuthError extends DatabentoLiveError {
  override name = 'DatabentoAuthError';
  constructor(
    gateway: string,
    dataset: string,
    readonly gatewayMessage: string,
  ) {
    super(`Databento authentication failed at gateway ${gateway} (dataset ${dataset}): ${gatewayMessage}; check DATABENTO_API_KEY or the key file`, gateway, dataset);
  }
}

/** The reconnect budget (maxAttempts consecutive failures) ran out. */
export class DatabentoConnectionError extends DatabentoLiveError {
  override name = 'DatabentoConnectionError';
  constructor(
    gateway: string,
    dataset: string,
    readonly attempts: number,
    readonly lastError: string,
  ) {
    super(`Databento gateway ${gateway} (dataset ${dataset}): ${attempts} connection attempts failed in a row; last error: ${lastError}`, gateway, dataset);
  }
}

export interface LiveSubscription {
  schema: LiveSchema;
  symbols: readonly string[];
  /** Default: inferred from the first symbol (ES.c.0 continuous, ES.FUT parent, ESH6 raw_symbol). */
  stypeIn?: LiveSType;
  /** Intraday replay from this ts_event (ns since epoch, inclusive). */
  start?: bigint;
  /** Ask for a snapshot on subscribe (Databento offers it for some schemas only; exclusive with start). */
  snapshot?: boolean;
}

export interface LiveClientOptions {
  apiKey: string;
  dataset: string;
  subscriptions: readonly LiveSubscription[];
  /** Default: the dataset's Databento gateway (glbx-mdp3.lsg.databento.com:13000). */
  gateway?: { host: string; port: number };
  tsOut?: boolean;
  /** Asked of the gateway (whole seconds); default the gateway's own, 30 s. */
  heartbeatIntervalS?: number;
  /** No bytes for this long ⇒ the connection is stalled and reopened. Default (heartbeat interval + 5 s). */
  heartbeatTimeoutMs?: number;
  slowReaderBehavior?: 'warn' | 'skip';
  connectTimeoutMs?: number;
  authTimeoutMs?: number;
  /** Backoff between reconnects; maxAttempts = reconnects in a row without data before giving up (default: never). */
  reconnect?: { initialMs?: number; maxMs?: number; maxAttempts?: number };
  /** Our own slow-reader warning: socket bytes buffered but not yet decoded above this. Default 8 MiB. */
  slowReaderBytes?: number;
  logger?: LiveLogger;
  random?: () => number;
}

export type LiveItem =
  /** A (re)connection's DBN metadata: the first item of each session. */
  | { type: 'session'; metadata: DbnMetadata; sessionId: string; connection: number; replayFrom: bigint | null }
  /** Every record in stream order (data, symbol mappings, system and error records), replayed duplicates removed. */
  | { type: 'record'; record: DbnRecord };

export interface LiveClientStats {
  connections: number;
  reconnects: number;
  records: number;
  duplicatesDropped: number;
  heartbeats: number;
  heartbeatTimeouts: number;
  slowReaderWarnings: number;
  gatewayErrors: number;
  lastTsEvent: string | null;
}

export interface LiveClientEvents {
  connected: [{ connection: number; sessionId: string; replayFrom: bigint | null }];
  disconnected: [{ connection: number; reason: string; retryInMs: number }];
  heartbeat: [SystemMsg];
  slow_reader: [{ source: 'gateway' | 'client'; message: string }];
  replay_completed: [SystemMsg];
  gateway_error: [ErrorMsg];
  symbol_mapping: [SymbolMappingMsg];
}

const isControl = (rtype: number) => rtype === RTYPE.SYSTEM || rtype === RTYPE.ERROR || rtype === RTYPE.SYMBOL_MAPPING;

function backoffMs(attempt: number, initialMs: number, maxMs: number, random: () => number): number {
  const capped = Math.min(maxMs, initialMs * 2 ** attempt);
  return Math.round(capped / 2 + (capped / 2) * random());
}

/** Heartbeat SystemMsgs: code 0 (v2+), or the text "Heartbeat" in v1 streams, which carry no code. */
export function isHeartbeat(r: SystemMsg): boolean {
  return r.code === SYSTEM_CODE.HEARTBEAT || (r.code === undefined && /^heartbeat/i.test(r.msg));
}

/** "Replay completed": code 3 (v2+), or in v1 streams (no code) a text starting "Finished … replay". */
export function isReplayCompleted(r: SystemMsg): boolean {
  return r.code === SYSTEM_CODE.REPLAY_COMPLETED || (r.code === undefined && /^finished\b.*\breplay/i.test(r.msg));
}

class StallError extends Error {}

export class DatabentoLiveClient extends EventEmitter<LiveClientEvents> {
  readonly gateway: string;
  private readonly host: string;
  private readonly port: number;
  private readonly log: LiveLogger;
  private socket: Socket | null = null;
  private stopped = false;
  /** Ends a reconnect wait early (stop()). */
  private wakeBackoff: (() => void) | null = null;
  private connection = 0;
  /** Max ts_event of the data records delivered, and how many of each byte-identical record were delivered at it. */
  private lastTs: bigint | null = null;
  private atLastTs = new Map<string, number>();
  /** After a reconnect: byte-identical records at lastTs still to be skipped (the replay repeats them). */
  private skipAtLastTs: Map<string, number> | null = null;
  private readonly statsData: Omit<LiveClientStats, 'lastTsEvent'> = { connections: 0, reconnects: 0, records: 0, duplicatesDropped: 0, heartbeats: 0, heartbeatTimeouts: 0, slowReaderWarnings: 0, gatewayErrors: 0 };

  constructor(private readonly opts: LiveClientOptions) {
    super();
    if (opts.subscriptions.length === 0) throw new RangeError('DatabentoLiveClient: at least one subscription is required');
    const gw = opts.gateway ?? gatewayFor(opts.dataset);
    this.host = gw.host;
    this.port = gw.port;
    this.gateway = `${gw.host}:${gw.port}`;
    this.log = opts.logger ?? silent;
  }

  get stats(): LiveClientStats {
    return { ...this.statsData, lastTsEvent: this.lastTs === null ? null : this.lastTs.toString() };
  }

  /** Ends the stream: the current connection is closed and stream() returns. */
  stop(): void {
    this.stopped = true;
    this.socket?.destroy();
    this.wakeBackoff?.();
  }

  /**
   * The records of the subscriptions, across reconnects, until stop(). Throws DatabentoAuthError on a refused key
   * and DatabentoConnectionError when reconnect.maxAttempts consecutive attempts failed.
   */
  async *stream(): AsyncGenerator<LiveItem, void, undefined> {
    const { initialMs = 250, maxMs = 10_000, maxAttempts = Infinity } = this.opts.reconnect ?? {};
    const random = this.opts.random ?? Math.random;
    let failures = 0;
    while (!this.stopped) {
      let delivered = 0;
      let reason: string;
      try {
        for await (const item of this.session()) {
          if (item.type === 'record') delivered++;
          yield item;
          if (this.stopped) return;
        }
        reason = 'the gateway closed the connection';
      } catch (e) {
        if (this.stopped) return;
        if (e instanceof DatabentoAuthError) throw e;
        reason = e instanceof StallError ? e.message : (e as Error).message;
      } finally {
        this.socket?.destroy();
        this.socket = null;
      }
      if (this.stopped) return;
      // A session that delivered data resets the budget: only consecutive failures count.
      failures = delivered > 0 ? 1 : failures + 1;
      if (failures > maxAttempts) throw new DatabentoConnectionError(this.gateway, this.opts.dataset, failures, reason);
      const wait = backoffMs(failures - 1, initialMs, maxMs, random);
      this.log.warn('databento gateway connection lost; reconnecting', { gateway: this.gateway, connection: this.connection, reason, retry_in_ms: wait, resume_from_ts_event: this.lastTs });
      this.emit('disconnected', { connection: this.connection, reason, retryInMs: wait });
      this.statsData.reconnects++;
      await new Promise<void>((r) => {
        const t = setTimeout(r, wait);
        this.wakeBackoff = () => {
          clearTimeout(t);
          r();
        };
      });
      this.wakeBackoff = null;
    }
  }

  /** One connection: handshake, then its records. */
  private async *session(): AsyncGenerator<LiveItem, void, undefined> {
    const connection = ++this.connection;
    this.statsData.connections++;
    const socket = await this.open();
    const chunks = socket[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    const reader = new LineReader();
    const authDeadline = Date.now() + (this.opts.authTimeoutMs ?? 30_000);
    const readLine = async (what: string): Promise<string> => {
      for (;;) {
        const line = reader.nextLine();
        if (line !== null) return line;
        const n = await this.timed(chunks, authDeadline - Date.now(), socket, `no ${what} from ${this.gateway} within the auth timeout`, false);
        if (n.done) throw new GatewayProtocolError(`${this.gateway} closed the connection before sending the ${what}`);
        reader.push(n.value);
      }
    };
    const greeting = parseControlLine(await readLine('greeting'));
    if (greeting.lsg_version === undefined) throw new GatewayProtocolError(`expected a greeting (lsg_version=…) from ${this.gateway}`);
    const challenge = parseControlLine(await readLine('CRAM challenge'));
    if (challenge.cram === undefined) throw new GatewayProtocolError(`expected a CRAM challenge (cram=…) from ${this.gateway}`);
    socket.write(
      authRequestLine(challenge.cram, this.opts.apiKey, {
        dataset: this.opts.dataset,
        tsOut: this.opts.tsOut ?? false,
        heartbeatIntervalS: this.opts.heartbeatIntervalS,
        slowReaderBehavior: this.opts.slowReaderBehavior,
      }),
    );
    const auth = parseControlLine(await readLine('authentication response'));
    if (auth.success !== '1') throw new DatabentoAuthError(this.gateway, this.opts.dataset, this.redact(auth.error ?? 'no reason given'));
    const sessionId = auth.session_id ?? '';
    const replayFrom = this.lastTs;
    this.skipAtLastTs = replayFrom === null ? null : new Map(this.atLastTs);
    for (const [i, s] of this.opts.subscriptions.entries()) {
      for (const line of subscriptionLines(this.request(s, i, replayFrom))) socket.write(line);
    }
    socket.write(START_SESSION_LINE);
    this.log.info('databento live session started', { gateway: this.gateway, dataset: this.opts.dataset, session_id: sessionId, connection, lsg_version: greeting.lsg_version, replay_from_ts_event: replayFrom });
    this.emit('connected', { connection, sessionId, replayFrom });

    const timeoutMs = this.opts.heartbeatTimeoutMs ?? ((this.opts.heartbeatIntervalS ?? DEFAULT_HEARTBEAT_INTERVAL_S) + 5) * 1000;
    const slowBytes = this.opts.slowReaderBytes ?? 8 * 1024 * 1024;
    let slowWarned = false;
    const self = this;
    async function* bytes(): AsyncGenerator<Uint8Array> {
      const first = reader.rest();
      if (first.length > 0) yield first;
      for (;;) {
        const n = await self.timed(chunks, timeoutMs, socket, `no data or heartbeat from ${self.gateway} for ${timeoutMs} ms (stalled connection)`, true);
        if (n.done) return;
        if (!slowWarned && socket.readableLength > slowBytes) {
          slowWarned = true;
          self.slowReader('client', `${socket.readableLength} bytes received but not yet processed: this reader is falling behind the gateway`);
        }
        yield n.value;
      }
    }
    let sentSession = false;
    try {
      for await (const { metadata, parser } of dbnFrames(bytes())) {
        if (!sentSession) {
          sentSession = true;
          yield { type: 'session', metadata, sessionId, connection, replayFrom };
        }
        for (let b = parser.nextRecord(); b >= 0; b = parser.nextRecord()) {
          const rtype = parser.buf[b + 1]!;
          if (!isControl(rtype) && this.isDuplicate(parser.buf, b, parser.recordLength, parser.hasTsOut, parser.dv.getBigUint64(b + 8, true))) continue;
          const record = parser.decodeCurrent(b);
          this.statsData.records++;
          this.observe(record);
          yield { type: 'record', record };
        }
      }
    } catch (e) {
      if (e instanceof DbnError && e.code === 'TRUNCATED') throw new GatewayProtocolError(`the connection to ${this.gateway} closed inside a record`);
      throw e;
    }
  }

  private request(s: LiveSubscription, i: number, replayFrom: bigint | null): SubscriptionRequest {
    const stypeIn = s.stypeIn ?? inferSType(s.symbols[0] ?? '');
    // On a reconnect the replay starts where the data stopped; a snapshot cannot be combined with a start.
    if (replayFrom !== null) return { schema: s.schema, stypeIn, symbols: s.symbols, start: replayFrom, id: i };
    return { schema: s.schema, stypeIn, symbols: s.symbols, start: s.start, snapshot: s.snapshot, id: i };
  }

  /**
   * Drops a replayed record already delivered: after a reconnect the replay starts AT the last ts_event, so the
   * records delivered at that instant come again, byte for byte (ts_out aside: it is the gateway's send time).
   */
  private isDuplicate(buf: Uint8Array, base: number, length: number, tsOut: boolean, ts: bigint): boolean {
    const key = Buffer.from(buf.buffer, buf.byteOffset + base, tsOut ? length - 8 : length).toString('latin1');
    if (this.skipAtLastTs) {
      if (this.lastTs !== null && ts < this.lastTs) {
        this.statsData.duplicatesDropped++;
        return true;
      }
      if (ts === this.lastTs) {
        const left = this.skipAtLastTs.get(key) ?? 0;
        if (left > 0) {
          this.skipAtLastTs.set(key, left - 1);
          this.statsData.duplicatesDropped++;
          return true;
        }
      } else {
        this.skipAtLastTs = null;
      }
    }
    if (this.lastTs === null || ts > this.lastTs) {
      this.lastTs = ts;
      this.atLastTs = new Map();
    }
    if (ts === this.lastTs) this.atLastTs.set(key, (this.atLastTs.get(key) ?? 0) + 1);
    return false;
  }

  private observe(r: DbnRecord): void {
    if (r.kind === 'system') {
      if (isHeartbeat(r)) {
        this.statsData.heartbeats++;
        this.emit('heartbeat', r);
      } else if (r.code === SYSTEM_CODE.SLOW_READER_WARNING) {
        this.slowReader('gateway', r.msg);
      } else if (isReplayCompleted(r)) {
        this.log.info('databento replay completed', { gateway: this.gateway, message: r.msg });
        this.emit('replay_completed', r);
      } else {
        this.log.info('databento system message', { gateway: this.gateway, code: r.code, message: r.msg });
      }
    } else if (r.kind === 'error') {
      this.statsData.gatewayErrors++;
      this.log.warn('databento gateway error record', { gateway: this.gateway, code: r.code, error: this.redact(r.err) });
      this.emit('gateway_error', r);
      if (r.code === ERROR_CODE.AUTH_FAILED || r.code === ERROR_CODE.API_KEY_DEACTIVATED) throw new DatabentoAuthError(this.gateway, this.opts.dataset, this.redact(r.err));
    } else if (r.kind === 'symbol_mapping') {
      this.emit('symbol_mapping', r);
    }
  }

  private slowReader(source: 'gateway' | 'client', message: string): void {
    this.statsData.slowReaderWarnings++;
    this.log.warn('databento slow reader', { gateway: this.gateway, source, message });
    this.emit('slow_reader', { source, message });
  }

  private redact(text: string): string {
    return this.opts.apiKey ? text.split(this.opts.apiKey).join('***') : text;
  }

  private open(): Promise<Socket> {
    return new Promise<Socket>((resolve, reject) => {
      const socket = connect({ host: this.host, port: this.port });
      this.socket = socket;
      const ms = this.opts.connectTimeoutMs ?? 10_000;
      const timer = setTimeout(() => socket.destroy(new Error(`connect to ${this.gateway} timed out after ${ms} ms`)), ms);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.setNoDelay(true);
        resolve(socket);
      });
      socket.once('error', (e) => {
        clearTimeout(timer);
        reject(new Error(`cannot connect to ${this.gateway}: ${(e as NodeJS.ErrnoException).code ?? e.message}`));
      });
    });
  }

  /** The next chunk, or a StallError (socket closed) when none comes within `ms`. */
  private async timed(it: AsyncIterator<Buffer>, ms: number, socket: Socket, what: string, heartbeat: boolean): Promise<IteratorResult<Buffer>> {
    let timer: NodeJS.Timeout | undefined;
    let stalled = false;
    const next = it.next();
    const stall = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        stalled = true;
        reject(new StallError(what));
      }, Math.max(0, ms));
    });
    try {
      return await Promise.race([next, stall]);
    } catch (e) {
      if (stalled) {
        if (heartbeat) {
          this.statsData.heartbeatTimeouts++;
          this.log.warn('databento gateway stalled: no heartbeat', { gateway: this.gateway, timeout_ms: ms });
        }
        next.catch(() => undefined);
        socket.destroy();
      }
      throw e;
    } finally {
      clearTimeout(timer);
    }
  }
}
