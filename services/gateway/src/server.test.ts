// The gateway server over real loopback sockets: HTTP routes, the WS stream, and a client that stops reading.
import type { LevelPhysicsPayload } from '@snap/core';
import { createLogger } from '@snap/platform';
import WebSocket from 'ws';
import { LevelBroadcaster } from './broadcaster';
import { LEGACY_PUBLIC_DIR, startGatewayServer, type GatewayServer } from './server';

const log = createLogger({ name: 'gateway-test', level: 'error' });

const payload = (underlying: string, ts: number, pad = 0): LevelPhysicsPayload => ({
  ts,
  ts_event_ns: (BigInt(ts) * 1_000_000n).toString(),
  underlying,
  spy: { spot: 680 + ts / 1000, bid: 679.99, ask: 680.01 },
  levels: pad ? [{ id: 'L', note: 'x'.repeat(pad) } as never] : [],
});

function open(url: string): Promise<{ ws: WebSocket; got: LevelPhysicsPayload[] }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    const got: LevelPhysicsPayload[] = [];
    ws.on('message', (d) => got.push(JSON.parse(String(d))));
    ws.once('open', () => resolve({ ws, got }));
    ws.once('error', reject);
  });
}

const until = async (cond: () => boolean, what: string, ms = 10_000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('gateway server', () => {
  let server: GatewayServer;
  let b: LevelBroadcaster;
  beforeEach(async () => {
    b = new LevelBroadcaster({ maxBufferedBytes: 64 * 1024, historyMinutes: 30 });
    // The plain page explicitly: what `/` serves by default depends on whether the Angular app was built.
    server = await startGatewayServer({ port: 0, host: '127.0.0.1', broadcaster: b, log, publicDir: LEGACY_PUBLIC_DIR });
  });
  afterEach(() => server.close());

  it('serves the dashboard, /api/levels, /healthz, and refuses paths outside public/', async () => {
    const page = await fetch(server.url);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(await page.text()).toContain('id="level-rows"');
    expect((await fetch(`${server.url}app.js`)).headers.get('content-type')).toMatch(/javascript/);
    expect((await fetch(`${server.url}..%2f..%2fpackage.json`)).status).toBe(404);
    expect((await fetch(`${server.url}api/levels?underlying=SPY`)).status).toBe(404);
    b.publish(payload('SPY', 1));
    b.publish(payload('QQQ', 2));
    expect(await (await fetch(`${server.url}api/levels`)).json()).toEqual({ SPY: payload('SPY', 1), QQQ: payload('QQQ', 2) });
    expect(await (await fetch(`${server.url}api/levels?underlying=QQQ`)).json()).toEqual(payload('QQQ', 2));
    expect((await fetch(`${server.url}api/levels?underlying=../x`)).status).toBe(400);
    const h = await (await fetch(`${server.url}healthz`)).json();
    expect(h).toMatchObject({ status: 'ok', published: 2, clients: 0, feed: 'live', history_points: 2 });
    expect((await fetch(`${server.url}favicon.ico`)).headers.get('content-type')).toBe('image/x-icon');
  });

  it('GET /api/levels/history: the session so far per underlying, from= (event ms) onwards; bad parameters are 400', async () => {
    for (let s = 0; s < 5; s++) b.publish(payload('SPY', 1_000_000 + s * 1000));
    b.publish(payload('QQQ', 1_000_000));
    const all = (await (await fetch(`${server.url}api/levels/history`)).json()) as { history: { underlying: string; points: { ts: number }[] }[] };
    expect(all.history.map((h) => [h.underlying, h.points.length]).sort()).toEqual([
      ['QQQ', 1],
      ['SPY', 5],
    ]);
    const late = (await (await fetch(`${server.url}api/levels/history?underlying=SPY&from=1003000`)).json()) as typeof all;
    expect(late.history.map((h) => h.points.map((p) => p.ts))).toEqual([[1_003_000, 1_004_000]]);
    expect((await fetch(`${server.url}api/levels/history?from=yesterday`)).status).toBe(400);
    expect((await fetch(`${server.url}api/levels/history?underlying=../x`)).status).toBe(400);
    b.ended = true;
    expect(await (await fetch(`${server.url}healthz`)).json()).toMatchObject({ feed: 'ended' });
  });

  it('WS: latest on connect, then every payload; ?underlying filters; unknown paths are refused', async () => {
    b.publish(payload('SPY', 1));
    const all = await open(`${server.url.replace('http', 'ws')}ws/levels`);
    const qqq = await open(`${server.url.replace('http', 'ws')}ws/levels?underlying=QQQ`);
    await until(() => all.got.length === 1, 'the latest payload on connect');
    b.publish(payload('QQQ', 2));
    b.publish(payload('SPY', 3));
    await until(() => all.got.length === 3 && qqq.got.length === 1, 'the broadcast');
    expect(all.got.map((p) => p.ts)).toEqual([1, 2, 3]);
    expect(qqq.got).toEqual([payload('QQQ', 2)]);
    await expect(open(`${server.url.replace('http', 'ws')}ws/other`)).rejects.toThrow(/404/);
    all.ws.close();
    qqq.ws.close();
  });

  it('a client that stops reading is conflated (never blocks the others) and gets the newest payload when it reads again', async () => {
    const fast = await open(`${server.url.replace('http', 'ws')}ws/levels`);
    const slow = await open(`${server.url.replace('http', 'ws')}ws/levels`);
    // Stop reading on the slow client's TCP socket: the kernel buffers fill, then the server-side queue grows.
    const raw = (slow.ws as unknown as { _socket: import('node:net').Socket })._socket;
    raw.pause();
    const N = 1500;
    for (let ts = 1; ts <= N; ts++) {
      b.publish(payload('SPY', ts, 16 * 1024));
      // Let the event loop run so the fast client's socket drains as a real feed would (one tick at a time).
      if (ts % 50 === 0) await new Promise((r) => setImmediate(r));
    }
    await until(() => fast.got.length === N, 'the fast client to receive every payload', 30_000);
    expect(b.stats.conflated).toBeGreaterThan(0);
    raw.resume();
    await until(() => slow.got.at(-1)?.ts === N, 'the slow client to catch up with the newest payload', 30_000);
    // It skipped ticks rather than receiving a backlog of all of them.
    expect(slow.got.length).toBeLessThan(N);
    const ts = slow.got.map((p) => p.ts);
    expect(ts).toEqual([...ts].sort((x, y) => x - y));
    fast.ws.close();
    slow.ws.close();
  });
});
