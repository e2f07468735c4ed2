// WebSocket client for one Massive cluster (stocks or options), plan §11.1: connect → auth → wait for
// auth_success → subscribe. A dropped connection is re-established with jittered exponential backoff and the
// CURRENT subscription set (not the initial one: the strike manager moves it) is subscribed again. Data frames
// are handed on raw, with the per-connection sequence, for normalization.
import WebSocket from 'ws';
import { createLogger, type Logger } from '@snap/platform';
import { redactSecret } from './api-key';
import { StatusWire, type MassiveCluster } from './normalize';

export class MassiveAuthError extends Error {
  constructor(
    readonly cluster: MassiveCluster | 'rest',
    readonly url: string,
    readonly serverMessage: string,
  ) {
    super(`Massive authentication failed (${cluster} at ${url}): ${serverMessage}; check massive.api_key / MASSIVE_API_KEY or massive.api_key_file`);
    this.name = 'MassiveAuthError';
  }
}

export class MassiveConnectionError extends Error {
  constructor(
    readonly cluster: MassiveCluster,
    readonly url: string,
    readonly attempts: number,
    readonly lastError: string,
  ) {
    super(`Massive ${cluster} connection to ${url} failed ${attempts} times in a row; last error: ${lastError}`);
    this.name = 'MassiveConnectionError';
  }
}

export interface BackoffOptions {
  initialMs?: number;
  maxMs?: number;
  factor?: number;
  /** Consecutive failed attempts before giving up (default: never give up). */
  maxAttempts?: number;
}

/** Equal-jitter exponential backoff: half the capped exponential delay is fixed, half is random, so clients spread out but never retry instantly. */
export function backoffDelayMs(attempt: number, opts: BackoffOptions, random: () => number): number {
  const { initialMs = 250, maxMs = 30_000, factor = 2 } = opts;
  const capped = Math.min(maxMs, initialMs * Math.pow(factor, attempt));
  return Math.round(capped / 2 + (capped / 2) * random());
}

export interface MassiveFrame {
  raw: Buffer;
  /** The parsed array when the frame was valid JSON array, else undefined (normalization reports why). */
  decoded: unknown[] | undefined;
  connection: number;
  /** Next value of this connection's sequence: one per normalized event, restarting at 0 on each connection. */
  nextSeq: () => bigint;
}

export interface MassiveWsClientOptions {
  url: string;
  cluster: MassiveCluster;
  apiKey: string;
  subscriptions?: Iterable<string>;
  onFrame: (frame: MassiveFrame) => void;
  /** Called after every successful auth + (re)subscribe. */
  onLive?: (info: { connection: number; subscriptions: string[] }) => void;
  onDisconnect?: (info: { connection: number; code: number; reason: string }) => void;
  backoff?: BackoffOptions;
  /** Jitter source in [0,1); inject a seeded one for reproducible schedules. */
  random?: () => number;
  /** A connection that is not authenticated within this time is dropped and retried. */
  authTimeoutMs?: number;
  /** Max channels per subscribe message (keeps control frames small). */
  subscribeChunk?: number;
  logger?: Logger;
}

type State = 'idle' | 'connecting' | 'live' | 'backoff' | 'closed' | 'failed';

export class MassiveWsClient {
  private readonly subs = new Set<string>();
  private ws: WebSocket | null = null;
  private paused = false;
  private state: State = 'idle';
  private connectionId = 0;
  private attempt = 0;
  private lastError = '';
  private retryTimer: NodeJS.Timeout | null = null;
  private readonly log: Logger;
  private firstLive!: { resolve: () => void; reject: (e: Error) => void };
  private finished!: { resolve: () => void; reject: (e: Error) => void };
  /** Resolves when close() is called; rejects on a fatal error (bad key, retries exhausted). */
  readonly done: Promise<void>;
  private readonly started: Promise<void>;
  readonly stats = { connections: 0, reconnects: 0, frames: 0, statusMessages: 0 };

  constructor(private readonly opts: MassiveWsClientOptions) {
    for (const s of opts.subscriptions ?? []) this.subs.add(s);
    this.log = (opts.logger ?? createLogger({ name: 'massive-ws' })).child({ cluster: opts.cluster, url: redactSecret(opts.url, opts.apiKey) });
    this.started = new Promise((resolve, reject) => (this.firstLive = { resolve, reject }));
    this.done = new Promise((resolve, reject) => (this.finished = { resolve, reject }));
    // Callers may await only one of the two; neither rejection may go unhandled.
    this.started.catch(() => undefined);
    this.done.catch(() => undefined);
  }

  /** Connects; resolves on the first auth_success, rejects with MassiveAuthError or MassiveConnectionError. */
  start(): Promise<void> {
    if (this.state === 'idle') this.connect();
    return this.started;
  }

  get isLive(): boolean {
    return this.state === 'live';
  }

  subscriptions(): string[] {
    return [...this.subs].sort();
  }

  subscribe(channels: Iterable<string>): void {
    const add = [...channels].filter((c) => !this.subs.has(c));
    for (const c of add) this.subs.add(c);
    if (add.length) this.sendAction('subscribe', add);
  }

  unsubscribe(channels: Iterable<string>): void {
    const del = [...channels].filter((c) => this.subs.has(c));
    for (const c of del) this.subs.delete(c);
    if (del.length) this.sendAction('unsubscribe', del);
  }

  async close(): Promise<void> {
    if (this.state === 'closed' || this.state === 'failed') return;
    this.state = 'closed';
    if (this.retryTimer) clearTimeout(this.retryTimer);
    await this.shutdownSocket();
    this.firstLive.reject(new Error(`Massive ${this.opts.cluster} client closed before it was live`));
    this.finished.resolve();
  }

  private async shutdownSocket(): Promise<void> {
    const ws = this.ws;
    this.ws = null;
    if (!ws || ws.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        ws.terminate();
        resolve();
      }, 1000);
      ws.once('close', () => {
        clearTimeout(t);
        resolve();
      });
      if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
      else ws.close(1000, 'client closing');
    });
  }

  /**
   * Backpressure: stop reading the socket (TCP then pushes back to the vendor) while the sink cannot keep up, e.g.
   * Kafka is down. A reconnect while paused starts paused too.
   */
  pause(): void {
    this.paused = true;
    this.ws?.pause();
  }

  resume(): void {
    this.paused = false;
    this.ws?.resume();
  }

  private sendAction(action: 'subscribe' | 'unsubscribe', channels: string[]): void {
    if (this.state !== 'live' || !this.ws || this.ws.readyState !== WebSocket.OPEN) return; // sent on (re)auth from the current set
    const chunk = this.opts.subscribeChunk ?? 200;
    for (let i = 0; i < channels.length; i += chunk) {
      this.ws.send(JSON.stringify({ action, params: channels.slice(i, i + chunk).join(',') }));
    }
    this.log.debug(`massive ${action}`, { count: channels.length });
  }

  private fail(err: Error): void {
    if (this.state === 'closed' || this.state === 'failed') return;
    this.state = 'failed';
    if (this.retryTimer) clearTimeout(this.retryTimer);
    void this.shutdownSocket();
    this.log.error('massive feed stopped', { error: err.message });
    this.firstLive.reject(err);
    this.finished.reject(err);
  }

  private connect(): void {
    this.state = 'connecting';
    const id = ++this.connectionId;
    this.stats.connections++;
    let seq = 0n;
    const nextSeq = () => seq++;
    let authed = false;
    const ws = new WebSocket(this.opts.url, { handshakeTimeout: this.opts.authTimeoutMs ?? 10_000 });
    this.ws = ws;
    const authTimer = setTimeout(() => {
      if (!authed) {
        this.lastError = 'no auth response in time';
        ws.terminate();
      }
    }, this.opts.authTimeoutMs ?? 10_000);

    ws.on('open', () => {
      if (this.paused) ws.pause();
      // Massive greets with status "connected"; the key can go at once (client libraries do the same).
      ws.send(JSON.stringify({ action: 'auth', params: this.opts.apiKey }));
    });

    ws.on('message', (data: WebSocket.RawData) => {
      if (this.ws !== ws) return;
      const raw = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
      this.stats.frames++;
      let decoded: unknown[] | undefined;
      try {
        const p: unknown = JSON.parse(raw.toString('utf8'));
        if (Array.isArray(p)) decoded = p;
      } catch {
        decoded = undefined;
      }
      let hasData = decoded === undefined;
      for (const m of decoded ?? []) {
        const s = StatusWire.safeParse(m);
        if (!s.success) {
          hasData = true;
          continue;
        }
        this.stats.statusMessages++;
        const status = s.data;
        if (status.status === 'auth_success') {
          authed = true;
          clearTimeout(authTimer);
          this.attempt = 0;
          this.state = 'live';
          const all = this.subscriptions();
          this.sendAction('subscribe', all);
          this.log.info('massive live', { connection: id, subscriptions: all.length });
          this.opts.onLive?.({ connection: id, subscriptions: all });
          this.firstLive.resolve();
        } else if (status.status === 'auth_failed') {
          clearTimeout(authTimer);
          // A wrong key does not fix itself: retrying would only hammer the vendor, so this is fatal.
          this.fail(new MassiveAuthError(this.opts.cluster, redactSecret(this.opts.url, this.opts.apiKey), redactSecret(status.message ?? 'auth_failed', this.opts.apiKey)));
        } else if (status.status === 'error' || status.status === 'max_connections') {
          this.log.warn('massive status', { connection: id, status: status.status, message: redactSecret(status.message ?? '', this.opts.apiKey) });
        } else {
          this.log.debug('massive status', { connection: id, status: status.status, message: redactSecret(status.message ?? '', this.opts.apiKey) });
        }
      }
      if (hasData) this.opts.onFrame({ raw, decoded, connection: id, nextSeq });
    });

    ws.on('error', (err) => {
      this.lastError = redactSecret(err.message, this.opts.apiKey);
      this.log.warn('massive socket error', { connection: id, error: this.lastError });
    });

    ws.on('close', (code, reasonBuf) => {
      clearTimeout(authTimer);
      const reason = reasonBuf.toString('utf8');
      if (this.ws === ws) this.ws = null;
      this.opts.onDisconnect?.({ connection: id, code, reason });
      if (this.state === 'closed' || this.state === 'failed') return;
      if (!this.lastError || authed) this.lastError = `closed with code ${code}${reason ? ` (${reason})` : ''}`;
      this.scheduleReconnect();
    });
  }

  private scheduleReconnect(): void {
    const max = this.opts.backoff?.maxAttempts ?? Infinity;
    if (this.attempt >= max) {
      this.fail(new MassiveConnectionError(this.opts.cluster, redactSecret(this.opts.url, this.opts.apiKey), this.attempt, this.lastError));
      return;
    }
    const delay = backoffDelayMs(this.attempt, this.opts.backoff ?? {}, this.opts.random ?? Math.random);
    this.attempt++;
    this.state = 'backoff';
    this.log.warn('massive reconnecting', { attempt: this.attempt, delay_ms: delay, last_error: this.lastError });
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (this.state !== 'backoff') return;
      this.stats.reconnects++;
      this.lastError = '';
      this.connect();
    }, delay);
  }
}
