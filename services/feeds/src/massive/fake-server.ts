// A local fake Massive server speaking the documented protocols (plan §11.1 WebSocket, §11.2 REST) over real
// sockets on loopback, for tests and for demos without internet. One http server carries the WebSocket
// endpoints /stocks and /options and the REST endpoint GET /v3/snapshot/options/{underlying}.
//
// Test hooks: publish/step a scripted or seeded stream, drop connections abruptly, inject malformed frames,
// read what every client subscribed, and queue REST failures (429/5xx) to exercise retry and rate limiting.
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
}

const status = (s: string, message: string) => ({ ev: 'status', status: s, message });

function channelMatches(subs: Set<string>, m: WireMessage): boolean {
  return subs.has(`${m.ev}.${m.sym}`) || subs.has(`${m.ev}.*`);
}

export class FakeMassiveServer {
  private readonly http: Server;
  private readonly wss = new WebSocketServer({ noServer: true });
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
    for (const { ws, info } of this.sockets.values()) {
      if (info.cluster !== cluster || !info.authenticated || ws.readyState !== WebSocket.OPEN) continue;
      const mine = events.filter((e) => channelMatches(info.subscriptions, e));
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

  /** Open, authenticated clients of a cluster. */
  liveClients(cluster?: MassiveCluster): FakeClientInfo[] {
    return [...this.sockets.values()].filter((s) => s.ws.readyState === WebSocket.OPEN).map((s) => s.info).filter((i) => i.authenticated && (!cluster || i.cluster === cluster));
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
    const info: FakeClientInfo = { id: this.nextClientId++, cluster, authenticated: false, actions: [], subscriptions: new Set(), connected: true };
    this.clients.push(info);
    this.sockets.set(info.id, { ws, info });
    ws.send(JSON.stringify([status('connected', 'Connected Successfully')]));
    ws.on('message', (data) => this.onMessage(ws, info, data.toString()));
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
      if (msg.params === this.apiKey) {
        info.authenticated = true;
        ws.send(JSON.stringify([status('auth_success', 'authenticated')]));
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
    const m = /^\/v3\/snapshot\/options\/([^/]+)$/.exec(url.pathname);
    if (!m) return send(404, { status: 'NOT_FOUND', request_id: requestId, message: 'Not Found' });
    if ((this.opts.forbiddenKeys ?? []).includes(key)) return send(403, { status: 'NOT_AUTHORIZED', request_id: requestId, message: 'You are not entitled to this data. Please upgrade your plan.' });
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
    const page = rows.slice(offset, offset + limit);
    const body: Record<string, unknown> = { status: 'OK', request_id: requestId, results: page };
    if (offset + limit < rows.length) {
      const { apiKey: _omit, ...rest } = q;
      const cursor = Buffer.from(JSON.stringify({ q: rest, o: offset + limit })).toString('base64url');
      // Like the vendor: an absolute URL without the apiKey, which the client must add back.
      body.next_url = `${this.restUrl}/v3/snapshot/options/${encodeURIComponent(underlying)}?cursor=${cursor}`;
    }
    send(200, body);
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
