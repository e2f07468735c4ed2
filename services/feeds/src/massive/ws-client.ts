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

/**
 * Another connection took this key's slot on the cluster, again and again (Massive allows one connection per cluster
 * and a new one kicks the oldest): two processes share the key. Retrying would only kick the other one forever.
 */
export class MassiveConnectionConflictError extends Error {
  constructor(
    readonly cluster: MassiveCluster,
    readonly url: string,
    readonly kicks: number,
    readonly lastStatus: string,
  ) {
    super(
      `Massive ${cluster}: another connection with the same API key took this cluster's only connection slot ${kicks} times in a row (last status: ${lastStatus}). ` +
        'Massive allows one connection per cluster and key: stop the other process (another snap-engine feed, a notebook…) or give this one its own key.',
    );
    this.name = 'MassiveConnectionConflictError';
  }
}

/**
 * What each vendor status means to this client (Massive WebSocket spec: connection, auth, subscription and disconnect
 * status events). Unknown statuses are logged as such with their message.
 */
export const MASSIVE_STATUS_MEANINGS: Readonly<Record<string, string>> = {
  connected: 'the socket is open; the client authenticates next',
  success: 'a connection, subscribe or unsubscribe action succeeded',
  auth_success: 'the API key was accepted; subscriptions are sent now',
  auth_failed: 'the API key was refused (wrong key, or a plan without WebSocket access to this cluster)',
  auth_timeout: 'the server waited too long for the auth message and closes the connection',
  auth_required: 'an action was sent before authentication; the client authenticates again',
  max_connections: 'another connection with this key took the slot (one connection per cluster), or too many are open; the server disconnects this one',
  force_disconnect: 'the server ended this connection (a newer connection with the same key, or maintenance)',
  slow_consumer: 'this client read too slowly and the server dropped it; data sent meanwhile is lost',
  error: 'the server rejected a request (e.g. a channel the plan does not include)',
};

/** Statuses after which the server closes the connection because another one took (or holds) the slot. */
const KICK_STATUSES = new Set(['max_connections', 'force_disconnect']);

export interface MassiveStatusEvent {
  connection: number;
  status: string;
  message: string;
  meaning: string;
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
  /** WebSocket ping every this many ms (the vendor's own client pings every 20 s). 0 = no pings. */
  pingIntervalMs?: number;
  /**
   * Idle watchdog: a connection that delivered nothing (no frame, no pong) for this long is half-open (NAT or load
   * balancer dropped it without a close) and is torn down and reconnected. 0 = no watchdog.
   */
  idleTimeoutMs?: number;
  /** A connection live at least this long resets the backoff and the kick count; a shorter one keeps them growing. */
  stableAfterMs?: number;
  /** Consecutive kicks (max_connections / force_disconnect on a short-lived connection) before giving up with MassiveConnectionConflictError. */
  maxKicks?: number;
  /** Every status message, with its meaning (the feed derives entitlements and health from them). */
  onStatus?: (s: MassiveStatusEvent) => void;
  now?: () => number;
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
  readonly stats = { connections: 0, reconnects: 0, frames: 0, statusMessages: 0, pings: 0, idleTimeouts: 0, kicks: 0, slowConsumer: 0 };
  /** Consecutive kicks without a stable connection in between. */
  private kickStreak = 0;
  private readonly now: () => number;

  constructor(private readonly opts: MassiveWsClientOptions) {
    for (const s of opts.subscriptions ?? []) this.subs.add(s);
    this.now = opts.now ?? Date.now;
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
    let liveSince: number | null = null;
    let kicked: string | null = null;
    let reauthSent = false;
    const ws = new WebSocket(this.opts.url, { handshakeTimeout: this.opts.authTimeoutMs ?? 10_000 });
    this.ws = ws;
    let lastHeard = this.now();
    const heard = () => (lastHeard = this.now());
    const pingMs = this.opts.pingIntervalMs ?? 20_000;
    const idleMs = this.opts.idleTimeoutMs ?? 45_000;
    // One timer does both: ping on schedule, and declare the socket dead when nothing came back for idleMs.
    const tickMs = Math.max(10, Math.min(pingMs || Infinity, idleMs ? idleMs / 4 : Infinity, 5000));
    let lastPing = this.now();
    const keepalive =
      pingMs > 0 || idleMs > 0
        ? setInterval(() => {
            if (ws.readyState !== WebSocket.OPEN || this.ws !== ws) return;
            const now = this.now();
            // Paused on purpose (the sink is behind): nothing is read, pongs included, so silence proves nothing.
            if (this.paused) lastHeard = now;
            if (idleMs > 0 && now - lastHeard > idleMs) {
              this.stats.idleTimeouts++;
              this.lastError = `no data and no pong for ${now - lastHeard} ms (idle timeout ${idleMs} ms): half-open connection`;
              this.log.warn('massive connection idle; reconnecting', { connection: id, idle_ms: now - lastHeard, idle_timeout_ms: idleMs });
              ws.terminate();
              return;
            }
            if (pingMs > 0 && now - lastPing >= pingMs) {
              lastPing = now;
              this.stats.pings++;
              ws.ping();
            }
          }, tickMs)
        : null;
    ws.on('pong', heard);
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
      heard();
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
        const message = redactSecret(status.message ?? '', this.opts.apiKey);
        const meaning = MASSIVE_STATUS_MEANINGS[status.status] ?? 'unknown status (not in the vendor spec this client knows)';
        this.opts.onStatus?.({ connection: id, status: status.status, message, meaning });
        if (status.status === 'auth_success') {
          authed = true;
          clearTimeout(authTimer);
          liveSince = this.now();
          this.state = 'live';
          const all = this.subscriptions();
          this.sendAction('subscribe', all);
          this.log.info('massive live', { connection: id, subscriptions: all.length, attempt: this.attempt });
          this.opts.onLive?.({ connection: id, subscriptions: all });
          this.firstLive.resolve();
        } else if (status.status === 'auth_failed') {
          clearTimeout(authTimer);
          // A wrong key does not fix itself: retrying would only hammer the vendor, so this is fatal.
          this.fail(new MassiveAuthError(this.opts.cluster, redactSecret(this.opts.url, this.opts.apiKey), message || 'auth_failed'));
        } else if (status.status === 'auth_required' || status.status === 'auth_timeout') {
          this.log.warn('massive status', { connection: id, status: status.status, message, meaning });
          // Once per connection: a server that keeps asking is not fixed by asking again; the auth timeout recycles it.
          if (status.status === 'auth_required' && !reauthSent && ws.readyState === WebSocket.OPEN) {
            reauthSent = true;
            ws.send(JSON.stringify({ action: 'auth', params: this.opts.apiKey }));
          }
        } else if (KICK_STATUSES.has(status.status)) {
          kicked = status.status;
          this.stats.kicks++;
          this.log.warn('massive status', { connection: id, status: status.status, message, meaning });
        } else if (status.status === 'slow_consumer') {
          this.stats.slowConsumer++;
          this.log.error('massive status', { connection: id, status: status.status, message, meaning });
        } else if (status.status === 'connected' || status.status === 'success') {
          this.log.debug('massive status', { connection: id, status: status.status, message });
        } else {
          this.log.warn('massive status', { connection: id, status: status.status, message, meaning });
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
      if (keepalive) clearInterval(keepalive);
      const reason = reasonBuf.toString('utf8');
      if (this.ws === ws) this.ws = null;
      this.opts.onDisconnect?.({ connection: id, code, reason });
      if (this.state === 'closed' || this.state === 'failed') return;
      if (!this.lastError || (authed && !this.lastError.startsWith('no data and no pong'))) this.lastError = `closed with code ${code}${reason ? ` (${reason})` : ''}`;
      // The backoff resets only after a connection that held: one kicked (or dropped) right after auth keeps the
      // delay growing, so two processes on one key slow down instead of kicking each other every 250 ms.
      const stable = liveSince !== null && this.now() - liveSince >= (this.opts.stableAfterMs ?? 30_000);
      if (stable) {
        this.attempt = 0;
        this.kickStreak = 0;
      }
      if (kicked) {
        this.kickStreak++;
        const maxKicks = this.opts.maxKicks ?? 3;
        if (this.kickStreak >= maxKicks) {
          this.fail(new MassiveConnectionConflictError(this.opts.cluster, redactSecret(this.opts.url, this.opts.apiKey), this.kickStreak, kicked));
          return;
        }
        this.lastError = `kicked by the server (${kicked}) ${this.kickStreak} time(s) in a row`;
      }
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
