// The gateway's HTTP face: the dashboard's static files at `/`, `GET /api/levels` (latest §6.4 payload per
// underlying), `GET /healthz`, and WebSocket `/ws/levels[?underlying=SPY]` fed by a LevelBroadcaster. The source of
// payloads (the embedded bus or the Kafka signals topic) is someone else's business: it calls broadcaster.publish.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { extname, join, resolve, sep } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Logger } from '@snap/platform';
import { LevelBroadcaster } from './broadcaster';

/** The plain-JS page: served when the Angular dashboard has not been built (e.g. a checkout without `npm run build`). */
export const LEGACY_PUBLIC_DIR = resolve(__dirname, '..', 'public');
/** The Angular dashboard (ui/projects/dashboard), built by scripts/build.js. */
export const APP_DIR = resolve(__dirname, '..', '..', '..', 'ui', 'dist', 'dashboard', 'browser');
/** What `/` serves: the built app when there is one, else the plain page. */
export function defaultPublicDir(): string {
  return existsSync(join(APP_DIR, 'index.html')) ? APP_DIR : LEGACY_PUBLIC_DIR;
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json; charset=utf-8',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2',
};

export interface GatewayServerOptions {
  port: number;
  host: string;
  broadcaster: LevelBroadcaster;
  log: Logger;
  publicDir?: string;
  /** Extra fields for /healthz (e.g. the Kafka source's state); `ok: false` turns it into a 503. */
  health?: () => { ok: boolean };
  /** WebSocket keepalive: ping every this many ms, drop a peer that missed the previous pong. */
  pingMs?: number;
  /** Bearer token required on /api/* and /ws/* (gateway.token): `Authorization: Bearer …`, or `?token=` (browser WebSockets cannot set headers). */
  token?: string;
}

export interface GatewayServer {
  /** http://host:port/ (the dashboard). */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

export class GatewayError extends Error {
  constructor(
    message: string,
    readonly detail: { port?: number; host?: string; topic?: string; cause?: unknown } = {},
  ) {
    super(message, { cause: detail.cause });
    this.name = 'GatewayError';
  }
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Underlyings are config-validated tickers; anything else in the query is a client error, not a filter. */
const UNDERLYING_RE = /^[A-Z][A-Z0-9.]{0,9}$/;

/** Constant-time comparison of a presented token with the configured one. */
function tokenMatches(presented: string | null, token: string): boolean {
  if (presented === null) return false;
  const a = Buffer.from(presented);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The token a request presents: the bearer header, else the `token` query parameter. */
function presentedToken(req: IncomingMessage, url: URL): string | null {
  const h = req.headers.authorization;
  if (h && /^Bearer /i.test(h)) return h.slice(7).trim();
  return url.searchParams.get('token');
}

export async function startGatewayServer(opts: GatewayServerOptions): Promise<GatewayServer> {
  const { broadcaster, log } = opts;
  const authorized = (req: IncomingMessage, url: URL) => !opts.token || tokenMatches(presentedToken(req, url), opts.token);
  const publicDir = resolve(opts.publicDir ?? defaultPublicDir());
  const started = Date.now();

  const serveStatic = async (pathname: string, res: ServerResponse, head: boolean) => {
    const rel = pathname === '/' ? 'index.html' : decodeURIComponent(pathname.slice(1));
    const file = resolve(publicDir, rel);
    // No escaping the public dir through `..` or an absolute path.
    if (file !== publicDir && !file.startsWith(publicDir + sep)) return json(res, 404, { error: 'not found', path: pathname });
    let body: Buffer;
    try {
      body = await readFile(file);
    } catch {
      return json(res, 404, { error: 'not found', path: pathname });
    }
    res.writeHead(200, { 'content-type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream', 'content-length': body.length, 'cache-control': 'no-cache' });
    res.end(head ? undefined : body);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://gateway');
    if (req.method !== 'GET' && req.method !== 'HEAD') return json(res, 405, { error: `method ${req.method} not allowed` });
    if (url.pathname === '/healthz') {
      const extra = opts.health?.() ?? { ok: true };
      const body = { status: extra.ok ? 'ok' : 'degraded', ...extra, feed: broadcaster.ended ? 'ended' : 'live', history_points: broadcaster.history.size, uptime_s: Math.round((Date.now() - started) / 1000), clients: broadcaster.clientCount, ...broadcaster.stats };
      return json(res, extra.ok ? 200 : 503, body);
    }
    if ((url.pathname.startsWith('/api/') || url.pathname.startsWith('/ws/')) && !authorized(req, url)) {
      res.setHeader('www-authenticate', 'Bearer');
      return json(res, 401, { error: 'missing or wrong bearer token (gateway.token)' });
    }
    if (url.pathname === '/api/levels') {
      const u = url.searchParams.get('underlying');
      if (u === null) return json(res, 200, broadcaster.snapshot());
      if (!UNDERLYING_RE.test(u)) return json(res, 400, { error: `bad underlying ${JSON.stringify(u)}` });
      const p = broadcaster.latestFor(u);
      return p ? json(res, 200, p) : json(res, 404, { error: `no payload yet for underlying ${u}` });
    }
    if (url.pathname === '/api/levels/history') {
      const u = url.searchParams.get('underlying');
      if (u !== null && !UNDERLYING_RE.test(u)) return json(res, 400, { error: `bad underlying ${JSON.stringify(u)}` });
      const fromText = url.searchParams.get('from') ?? '0';
      const from = Number(fromText);
      if (!/^\d+$/.test(fromText) || !Number.isSafeInteger(from)) return json(res, 400, { error: `bad from ${JSON.stringify(fromText)}: Unix ms (event time), e.g. from=0 for the whole window` });
      return json(res, 200, { from, enabled: broadcaster.history.enabled, history: broadcaster.history.since(from, u) });
    }
    if (url.pathname === '/ws/levels') return json(res, 426, { error: 'upgrade to WebSocket required' });
    return serveStatic(url.pathname, res, req.method === 'HEAD');
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((e) => {
      log.error('request failed', { url: req.url, error: e as Error });
      if (!res.headersSent) json(res, 500, { error: 'internal error' });
      else res.destroy();
    });
  });

  // Clients only listen; a tiny maxPayload bounds what a misbehaving one can make us buffer.
  const wss = new WebSocketServer({ noServer: true, maxPayload: 4096, perMessageDeflate: false });
  const alive = new WeakMap<WebSocket, boolean>();
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? '/', 'http://gateway');
    const u = url.searchParams.get('underlying');
    if (url.pathname === '/ws/levels' && !authorized(req, url)) {
      socket.end('HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    if (url.pathname !== '/ws/levels' || (u !== null && !UNDERLYING_RE.test(u))) {
      socket.end(`HTTP/1.1 ${url.pathname !== '/ws/levels' ? '404 Not Found' : '400 Bad Request'}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      alive.set(ws, true);
      ws.on('pong', () => alive.set(ws, true));
      ws.on('close', () => broadcaster.remove(ws));
      ws.on('error', (e) => {
        log.warn('websocket client error', { error: e });
        broadcaster.remove(ws);
      });
      broadcaster.add(ws, u);
      log.debug('websocket client connected', { underlying: u, remote: req.socket.remoteAddress, clients: broadcaster.clientCount });
    });
  });

  const sweep = setInterval(() => broadcaster.sweep(), 1000);
  const pingMs = opts.pingMs ?? 30_000;
  const pinger = setInterval(() => {
    for (const ws of wss.clients) {
      if (!alive.get(ws)) {
        broadcaster.remove(ws);
        ws.terminate();
        continue;
      }
      alive.set(ws, false);
      ws.ping();
    }
  }, pingMs);
  sweep.unref();
  pinger.unref();

  await new Promise<void>((resolveListen, reject) => {
    const onError = (e: NodeJS.ErrnoException) =>
      reject(new GatewayError(`gateway cannot listen on ${opts.host}:${opts.port}: ${e.code ?? e.message} (set gateway.port / SNAP_GATEWAY_PORT or --port)`, { port: opts.port, host: opts.host, cause: e }));
    server.once('error', onError);
    server.listen(opts.port, opts.host, () => {
      server.off('error', onError);
      resolveListen();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const hostForUrl = opts.host.includes(':') ? `[${opts.host}]` : opts.host === '0.0.0.0' ? '127.0.0.1' : opts.host;
  const url = `http://${hostForUrl}:${port}/`;
  log.info('gateway listening', { url, ws: `${url.replace(/^http/, 'ws')}ws/levels` });

  let closing: Promise<void> | null = null;
  return {
    url,
    port,
    close() {
      closing ??= new Promise<void>((done) => {
        clearInterval(sweep);
        clearInterval(pinger);
        for (const ws of wss.clients) ws.close(1001, 'gateway shutting down');
        wss.close();
        server.close(() => done());
        // Keep-alive HTTP connections and sockets that never complete their close handshake must not hold us up.
        setTimeout(() => {
          for (const ws of wss.clients) ws.terminate();
          server.closeAllConnections();
        }, 500).unref();
      });
      return closing;
    },
  };
}
