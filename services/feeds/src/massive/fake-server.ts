// A local fake Massive server speaking the documented protocols (plan §11.1 WebSocket, §11.2 REST) over real
// sockets on loopback, for tests and for demos without internet. One http server carries the WebSocket
// endpoints /stocks and /options and the REST endpoint GET /v3/snapshot/options/{underlying}.
//
// Test hooks: publish/step a scripted or seeded stream, drop connections abruptly, inject malformed frames,
// read what every client subscribed, and queue REST failures (429/5xx) to exercise retry and rate limiting.
// Vendor behaviours a live session meets: one connection per cluster and key (a new one kicks the oldest with
// max_connections), force_disconnect and slow_consumer kicks, silent drops (the connection stays open but nothing
// flows and pings go unanswered, as after a NAT or load-balancer idle drop), entitlements (no option quotes, no
// chain snapshot → 403, no WebSocket access → auth_failed) and a delayed plan (event times lag the clock). The
// universal snapshot GET /v3/snapshot?ticker.any_of=… is served from the same chain.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import { createLogger, type Logger } from '@snap/platform';
import type { MassiveCluster } from './normalize';
import { generateOptionChain, stringifyJson, type FakeTick, type WireMessage } from './fake-market';

export interface FakeClientInfo {
  id: number;
  cluster: MassiveCluster;
  authenticated: boolean;
  /** Every subscribe/unsubscribe action the client sent, in order. */
  actions: { action: 'subscribe' | 'unsubscribe'; channels: string[] }[];
  subscriptions: Set<string>;
  connected: boolean;
  /** Silently dropped: nothing is sent to it and its pings go unanswered, but no close happens. */
  silenced: boolean;
}

export interface FakeEntitlements {
  /** Q.O:* quotes are acknowledged but never delivered (quotes are a real-time-only add-on). Default true. */
  optionQuotes?: boolean;
  /** Q.<stock> quotes likewise. Default true. */
  stockQuotes?: boolean;
  /** GET /v3/snapshot/options/{underlying} → 403 when false. Default true. */
  chainSnapshot?: boolean;
  /** GET /v3/snapshot → 403 when false. Default true. */
  universalSnapshot?: boolean;
  /** Clusters the key may open a WebSocket on; others answer auth_failed. Default both. */
  websocket?: MassiveCluster[];
}

export interface FakeRestRequest {
  path: string;
  /** Query with apiKey redacted. */
  query: Record<string, string>;
  auth: 'query' | 'header' | 'none';
  status: number;
}

export interface FakeMassiveServerOptions {
  host?: string;
  port?: number;
  /** The one key that authenticates (WebSocket and REST). */
  apiKey?: string;
  /** Keys that authenticate but are not entitled to the REST snapshot (→ 403). */
  forbiddenKeys?: string[];
  /** Data source for step()/autoplay: returns the next tick's messages per cluster. */
  source?: () => FakeTick[];
  /** Publish one source tick every N ms from start (0 = only on step()). */
  autoplayMs?: number;
  /** Option-chain results served by REST (by underlying). Default: a seeded chain around spot for SPY. */
  chain?: Record<string, Record<string, unknown>[]>;
  seed?: number;
  /** Unix ms the default chain describes. */
  chainAsOfMs?: number;
  logger?: Logger;
  /** Massive allows one connection per cluster and key: the newest authenticates and the oldest is kicked. Default: unlimited. */
  maxConnectionsPerCluster?: number;
  entitlements?: FakeEntitlements;
  /**
   * A delayed plan: every WebSocket message's `t` and every REST ns time is this much older than the source's
   * (the vendor delays the data; the times stay the original event times). Default 0.
   */
  delayMs?: number;
}

const status = (s: string, message: string) => ({ ev: 'status', status: s, message });

function channelMatches(subs: Set<string>, m: WireMessage): boolean {
  return subs.has(`${m.ev}.${m.sym}`) || subs.has(`${m.ev}.*`);
}

export class FakeMassiveServer {
  private readonly http: Server;
  // Pongs are answered by hand so a silenced connection can stop answering them (a half-open socket).
  private readonly wss = new WebSocketServer({ noServer: true, autoPong: false });
  private readonly sockets = new Map<number, { ws: WebSocket; info: FakeClientInfo }>();
  private nextClientId = 1;
  private timer: NodeJS.Timeout | null = null;
  private readonly restFailures: { status: number; retryAfterS?: number }[] = [];
  private readonly log: Logger;
  private chain: Record<string, Record<string, unknown>[]>;
  readonly apiKey: string;
  readonly restLog: FakeRestRequest[] = [];
  /** Every client that ever connected, including closed ones (their subscription history stays readable). */
  readonly clients: FakeClientInfo[] = [];
  port = 0;

  private constructor(private readonly opts: FakeMassiveServerOptions) {
    this.apiKey = opts.apiKey ?? 'fake-massive-key';
    this.log = opts.logger ?? createLogger({ name: 'fake-massive' });
    this.chain = opts.chain ?? { SPY: generateOptionChain({ seed: opts.seed ?? 1, asOfMs: opts.chainAsOfMs ?? Date.UTC(2025, 11, 16, 15, 0, 0) }) };
    this.http = createServer((req, res) => this.handleRest(req, res));
    this.http.on('upgrade', (req, socket, head) => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      if (path !== '/stocks' && path !== '/options') {
        socket.end('HTTP/1.1 404 Not Found\r\n\r\n');
        return;
      }
      this.wss.handleUpgrade(req, socket, head, (ws) => this.onConnection(ws, path.slice(1) as MassiveCluster));
    });
  }

  static async start(opts: FakeMassiveServerOptions = {}): Promise<FakeMassiveServer> {
    const s = new FakeMassiveServer(opts);
    await new Promise<void>((resolve, reject) => {
      s.http.once('error', reject);
      s.http.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
    });
    s.port = (s.http.address() as AddressInfo).port;
    if (opts.autoplayMs && opts.autoplayMs > 0) s.timer = setInterval(() => s.step(), opts.autoplayMs);
    return s;
  }

  get host(): string {
    return this.opts.host ?? '127.0.0.1';
  }
  wsUrl(cluster: MassiveCluster): string {
    return `ws://${this.host}:${this.port}/${cluster}`;
  }
  get restUrl(): string {
    return `http://${this.host}:${this.port}`;
  }

  /** Replaces the REST chain for an underlying (e.g. to change content between polls). */
  setChain(underlying: string, results: Record<string, unknown>[]): void {
    this.chain[underlying] = results;
  }

  /** Sends the messages to every authenticated client of the cluster, each getting only its subscribed channels. Returns how many clients got a frame. */
  publish(cluster: MassiveCluster, events: WireMessage[]): number {
    let n = 0;
    const ent = this.opts.entitlements ?? {};
    const delay = this.opts.delayMs ?? 0;
    const entitled = (e: WireMessage) =>
      e.ev !== 'Q' || (cluster === 'options' ? ent.optionQuotes !== false : ent.stockQuotes !== false);
    const delayed = delay > 0 ? events.map((e) => (typeof e.t === 'number' ? { ...e, t: e.t - delay } : e)) : events;
    for (const { ws, info } of this.sockets.values()) {
      if (info.cluster !== cluster || !info.authenticated || info.silenced || ws.readyState !== WebSocket.OPEN) continue;
      const mine = delayed.filter((e) => entitled(e) && channelMatches(info.subscriptions, e));
      if (!mine.length) continue;
      ws.send(JSON.stringify(mine));
      n++;
    }
    return n;
  }

  /** Publishes the next `ticks` ticks of the source; returns the messages published. */
  step(ticks = 1): FakeTick[] {
    const out: FakeTick[] = [];
    for (let i = 0; i < ticks && this.opts.source; i++) {
      for (const t of this.opts.source()) {
        this.publish(t.cluster, t.events);
        out.push(t);
      }
    }
    return out;
  }

  /** Sends bytes as-is (malformed JSON, a non-array, a bad message…) to every authenticated client of the cluster. */
  injectRaw(cluster: MassiveCluster, raw: string | Buffer): void {
    for (const { ws, info } of this.sockets.values()) if (info.cluster === cluster && info.authenticated && ws.readyState === WebSocket.OPEN) ws.send(raw);
  }

  /** Drops connections abruptly (TCP destroyed, no close frame), as a network failure would. */
  dropConnections(cluster?: MassiveCluster): number {
    let n = 0;
    for (const { ws, info } of [...this.sockets.values()]) {
      if (cluster && info.cluster !== cluster) continue;
      // Forget it now: the close event comes later, and a test waiting for the reconnect must not see the old client.
      info.connected = false;
      this.sockets.delete(info.id);
      ws.terminate();
      n++;
    }
    return n;
  }

  /**
   * Silently drops connections: they stay open, but nothing more is sent and pings are not answered — what a client
   * sees when a NAT or load balancer forgets the flow. Only a client-side watchdog notices.
   */
  silenceConnections(cluster?: MassiveCluster): number {
    let n = 0;
    for (const { info } of this.sockets.values()) {
      if ((cluster && info.cluster !== cluster) || info.silenced) continue;
      info.silenced = true;
      n++;
    }
    return n;
  }

  /** Sends a disconnect status (force_disconnect, slow_consumer, max_connections) to every client of the cluster, then closes them. */
  kick(cluster: MassiveCluster, statusName: 'force_disconnect' | 'slow_consumer' | 'max_connections' = 'force_disconnect'): number {
    let n = 0;
    for (const { ws, info } of [...this.sockets.values()]) {
      if (info.cluster !== cluster || ws.readyState !== WebSocket.OPEN) continue;
      this.kickOne(ws, info, statusName);
      n++;
    }
    return n;
  }

  private kickOne(ws: WebSocket, info: FakeClientInfo, statusName: string): void {
    const messages: Record<string, string> = {
      max_connections: 'Maximum number of connections exceeded.',
      force_disconnect: 'Connection closed by the server.',
      slow_consumer: 'Client is not consuming messages fast enough.',
    };
    ws.send(JSON.stringify([status(statusName, messages[statusName] ?? statusName)]));
    info.authenticated = false;
    ws.close(1008, statusName);
  }

  /** Open, authenticated clients of a cluster. */
  liveClients(cluster?: MassiveCluster): FakeClientInfo[] {
    return [...this.sockets.values()].filter((s) => s.ws.readyState === WebSocket.OPEN).map((s) => s.info).filter((i) => i.authenticated && !i.silenced && (!cluster || i.cluster === cluster));
  }

  /** Makes the next `count` REST requests fail with `status` (429 for rate limiting, 5xx for outages). */
  failNextRest(count: number, statusCode = 429, retryAfterS?: number): void {
    for (let i = 0; i < count; i++) this.restFailures.push({ status: statusCode, retryAfterS });
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    for (const { ws } of this.sockets.values()) ws.terminate();
    this.sockets.clear();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    this.http.closeAllConnections();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }

  // ---- WebSocket protocol
  private onConnection(ws: WebSocket, cluster: MassiveCluster): void {
    const info: FakeClientInfo = { id: this.nextClientId++, cluster, authenticated: false, actions: [], subscriptions: new Set(), connected: true, silenced: false };
    this.clients.push(info);
    this.sockets.set(info.id, { ws, info });
    ws.send(JSON.stringify([status('connected', 'Connected Successfully')]));
    ws.on('message', (data) => {
      if (!info.silenced) this.onMessage(ws, info, data.toString());
    });
    ws.on('ping', (data) => {
      if (!info.silenced && ws.readyState === WebSocket.OPEN) ws.pong(data);
    });
    ws.on('close', () => {
      info.connected = false;
      this.sockets.delete(info.id);
    });
    ws.on('error', () => undefined); // abrupt client drops are expected
  }

  private onMessage(ws: WebSocket, info: FakeClientInfo, text: string): void {
    let msg: { action?: unknown; params?: unknown };
    try {
      msg = JSON.parse(text) as typeof msg;
    } catch {
      ws.send(JSON.stringify([status('error', 'invalid JSON in request')]));
      return;
    }
    if (msg.action === 'auth') {
      const wsEntitled = (this.opts.entitlements?.websocket ?? ['stocks', 'options']).includes(info.cluster);
      if (msg.params === this.apiKey && !wsEntitled) {
        ws.send(JSON.stringify([status('auth_failed', "Your plan doesn't include websocket access. Visit https://massive.com/pricing to upgrade.")]));
        ws.close(1008, 'authentication failed');
      } else if (msg.params === this.apiKey) {
        info.authenticated = true;
        ws.send(JSON.stringify([status('auth_success', 'authenticated')]));
        // One connection per cluster and key: the newest wins, the oldest are kicked.
        const max = this.opts.maxConnectionsPerCluster;
        if (max !== undefined) {
          const others = [...this.sockets.values()].filter((s) => s.info !== info && s.info.cluster === info.cluster && s.info.authenticated && s.ws.readyState === WebSocket.OPEN);
          others.sort((a, b) => a.info.id - b.info.id);
          for (const o of others.slice(0, Math.max(0, others.length + 1 - max))) this.kickOne(o.ws, o.info, 'max_connections');
        }
      } else {
        ws.send(JSON.stringify([status('auth_failed', 'authentication failed')]));
        ws.close(1008, 'authentication failed');
      }
      return;
    }
    if (msg.action === 'subscribe' || msg.action === 'unsubscribe') {
      if (!info.authenticated) {
        ws.send(JSON.stringify([status('error', 'not authenticated')]));
        return;
      }
      const channels = String(msg.params ?? '')
        .split(',')
        .map((c) => c.trim())
        .filter(Boolean);
      info.actions.push({ action: msg.action, channels });
      const replies = channels.map((c) => {
        if (msg.action === 'subscribe') info.subscriptions.add(c);
        else info.subscriptions.delete(c);
        return status('success', `${msg.action === 'subscribe' ? 'subscribed to' : 'unsubscribed to'}: ${c}`);
      });
      if (replies.length) ws.send(JSON.stringify(replies));
      return;
    }
    ws.send(JSON.stringify([status('error', `unknown action ${JSON.stringify(msg.action)}`)]));
  }

  // ---- REST (§11.2)
  private handleRest(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', this.restUrl);
    const query = Object.fromEntries(url.searchParams.entries());
    const header = req.headers.authorization;
    const bearer = header && /^Bearer\s+(.+)$/i.exec(header)?.[1];
    const key = query.apiKey ?? bearer ?? undefined;
    const entry: FakeRestRequest = { path: url.pathname, query: { ...query, ...(query.apiKey ? { apiKey: '***' } : {}) }, auth: query.apiKey ? 'query' : bearer ? 'header' : 'none', status: 0 };
    this.restLog.push(entry);
    const requestId = `fake-${this.restLog.length}`;
    const send = (code: number, body: unknown, headers: Record<string, string> = {}) => {
      entry.status = code;
      res.writeHead(code, { 'content-type': 'application/json', ...headers });
      res.end(stringifyJson(body));
    };
    if (req.method !== 'GET') return send(405, { status: 'ERROR', request_id: requestId, error: 'method not allowed' });
    if (!key) return send(401, { status: 'ERROR', request_id: requestId, error: 'API Key was not provided' });
    if (key !== this.apiKey && !(this.opts.forbiddenKeys ?? []).includes(key)) return send(401, { status: 'ERROR', request_id: requestId, error: 'Unknown API Key' });
    const failure = this.restFailures.shift();
    if (failure) {
      const headers: Record<string, string> = failure.retryAfterS !== undefined ? { 'retry-after': String(failure.retryAfterS) } : {};
      return send(failure.status, { status: 'ERROR', request_id: requestId, error: failure.status === 429 ? "You've exceeded the maximum requests per minute, please wait or upgrade your subscription" : 'internal error' }, headers);
    }
    const forbidden = () => send(403, { status: 'NOT_AUTHORIZED', request_id: requestId, message: 'You are not entitled to this data. Please upgrade your plan.' });
    if (url.pathname === '/v3/snapshot') {
      if ((this.opts.forbiddenKeys ?? []).includes(key) || this.opts.entitlements?.universalSnapshot === false) return forbidden();
      return this.universalSnapshot(query, requestId, send);
    }
    const m = /^\/v3\/snapshot\/options\/([^/]+)$/.exec(url.pathname);
    if (!m) return send(404, { status: 'NOT_FOUND', request_id: requestId, message: 'Not Found' });
    if ((this.opts.forbiddenKeys ?? []).includes(key) || this.opts.entitlements?.chainSnapshot === false) return forbidden();
    const underlying = decodeURIComponent(m[1]!);

    // A cursor carries the original query and the offset, so next_url works without repeating filters.
    let q: Record<string, string> = query;
    let offset = 0;
    if (query.cursor) {
      try {
        const c = JSON.parse(Buffer.from(query.cursor, 'base64url').toString('utf8')) as { q: Record<string, string>; o: number };
        q = c.q;
        offset = c.o;
      } catch {
        return send(400, { status: 'ERROR', request_id: requestId, error: 'invalid cursor' });
      }
    }
    const limit = q.limit === undefined ? 10 : Number(q.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 250) return send(400, { status: 'ERROR', request_id: requestId, error: 'limit must be an integer between 1 and 250' });

    const rows = this.filterChain(this.chain[underlying] ?? [], q);
    const page = rows.slice(offset, offset + limit).map((r) => this.delayRow(r));
    const body: Record<string, unknown> = { status: 'OK', request_id: requestId, results: page };
    if (offset + limit < rows.length) {
      const { apiKey: _omit, ...rest } = q;
      const cursor = Buffer.from(JSON.stringify({ q: rest, o: offset + limit })).toString('base64url');
      // Like the vendor: an absolute URL without the apiKey, which the client must add back.
      body.next_url = `${this.restUrl}/v3/snapshot/options/${encodeURIComponent(underlying)}?cursor=${cursor}`;
    }
    send(200, body);
  }

  /** A delayed plan's REST rows: every ns time is delayMs older (bigints stay exact). */
  private delayRow(r: Record<string, unknown>): Record<string, unknown> {
    const d = BigInt(this.opts.delayMs ?? 0) * 1_000_000n;
    if (d === 0n) return r;
    const walk = (v: unknown, k: string): unknown => {
      if (typeof v === 'bigint' && (k === 'last_updated' || k === 'sip_timestamp')) return v - d;
      if (v && typeof v === 'object' && !Array.isArray(v)) return Object.fromEntries(Object.entries(v).map(([kk, vv]) => [kk, walk(vv, kk)]));
      return v;
    };
    return walk(r, '') as Record<string, unknown>;
  }

  /** GET /v3/snapshot?ticker.any_of=a,b: one row per ticker asked, in the universal shape, or an error row. */
  private universalSnapshot(query: Record<string, string>, requestId: string, send: (code: number, body: unknown) => void): void {
    const tickers = (query['ticker.any_of'] ?? '').split(',').filter(Boolean);
    if (tickers.length > 250) return send(400, { status: 'ERROR', request_id: requestId, error: 'ticker.any_of accepts at most 250 tickers' });
    const byTicker = new Map<string, Record<string, unknown>>();
    for (const rows of Object.values(this.chain)) for (const r of rows) byTicker.set((r.details as { ticker: string }).ticker, r);
    const results = tickers.map((t) => {
      const r = byTicker.get(t);
      if (!r) return { error: 'NOT_FOUND', message: 'Ticker not found.', ticker: t };
      const { details, last_trade, ...rest } = this.delayRow(r) as { details: Record<string, unknown>; last_trade?: Record<string, unknown> } & Record<string, unknown>;
      const { ticker: _t, ...det } = details;
      const lt = last_trade ? (({ sip_timestamp, ...x }) => ({ ...x, last_updated: sip_timestamp }))(last_trade) : undefined;
      return { ...rest, ticker: t, type: 'options', market_status: 'open', details: { ...det, underlying_ticker: t.slice(2).replace(/\d{6}[CP]\d{8}$/, '') }, ...(lt ? { last_trade: lt } : {}) };
    });
    send(200, { status: 'OK', request_id: requestId, results });
  }

  private filterChain(rows: Record<string, unknown>[], q: Record<string, string>): Record<string, unknown>[] {
    type D = { ticker: string; expiration_date: string; strike_price: number; contract_type: string };
    const d = (r: Record<string, unknown>) => r.details as D;
    const cmp = (field: 'expiration_date' | 'strike_price', value: string | number) => {
      const num = field === 'strike_price';
      const conv = (s: string) => (num ? Number(s) : s);
      const checks: ((v: string | number) => boolean)[] = [];
      if (q[field] !== undefined) checks.push((v) => v === conv(q[field]!));
      if (q[`${field}.gt`] !== undefined) checks.push((v) => v > conv(q[`${field}.gt`]!));
      if (q[`${field}.gte`] !== undefined) checks.push((v) => v >= conv(q[`${field}.gte`]!));
      if (q[`${field}.lt`] !== undefined) checks.push((v) => v < conv(q[`${field}.lt`]!));
      if (q[`${field}.lte`] !== undefined) checks.push((v) => v <= conv(q[`${field}.lte`]!));
      return checks.every((c) => c(value));
    };
    const out = rows.filter((r) => (!q.contract_type || d(r).contract_type === q.contract_type) && cmp('expiration_date', d(r).expiration_date) && cmp('strike_price', d(r).strike_price));
    const sort = (q.sort ?? 'ticker') as keyof D;
    const dir = q.order === 'desc' ? -1 : 1;
    return out.sort((a, b) => (d(a)[sort] < d(b)[sort] ? -dir : d(a)[sort] > d(b)[sort] ? dir : d(a).ticker < d(b).ticker ? -1 : 1));
  }
}

/** Polls until `pred()` is true; rejects with `what` after `timeoutMs` (tests use it instead of fixed sleeps). */
export async function waitUntil(pred: () => boolean, what: string, timeoutMs = 5000, everyMs = 5): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
