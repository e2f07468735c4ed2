// gateway.token (issue 11): /api/* and WS /ws/* need the bearer token (header, or ?token= for browser WebSockets);
// /healthz and the static dashboard stay open; the default bind is loopback.
import { defaultConfig } from '@snap/core';
import { createLogger } from '@snap/platform';
import WebSocket from 'ws';
import { LevelBroadcaster } from './broadcaster';
import { startGatewayServer, type GatewayServer } from './server';

const log = createLogger({ name: 'gateway-auth-test', level: 'error' });
const TOKEN = 'tok-3f9c1a7e';

function wsStatus(url: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { headers });
    ws.once('open', () => {
      ws.close();
      resolve(101);
    });
    ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.once('error', () => undefined);
  });
}

describe('gateway bearer token', () => {
  let server: GatewayServer;
  beforeAll(async () => {
    server = await startGatewayServer({ port: 0, host: '127.0.0.1', broadcaster: new LevelBroadcaster({ maxBufferedBytes: 1 << 16 }), log, token: TOKEN });
  });
  afterAll(() => server.close());

  it('REST: 401 without or with a wrong token, 200 with the bearer header or ?token=', async () => {
    expect((await fetch(`${server.url}api/levels`)).status).toBe(401);
    expect((await fetch(`${server.url}api/levels`, { headers: { authorization: 'Bearer nope' } })).status).toBe(401);
    expect((await fetch(`${server.url}api/levels`, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
    expect((await fetch(`${server.url}api/levels?token=${TOKEN}`)).status).toBe(200);
    expect((await fetch(`${server.url}healthz`)).status).toBe(200);
  });

  it('WebSocket: refused without the token, accepted with the header or ?token=', async () => {
    const ws = server.url.replace(/^http/, 'ws') + 'ws/levels';
    expect(await wsStatus(ws)).toBe(401);
    expect(await wsStatus(`${ws}?token=wrong`)).toBe(401);
    expect(await wsStatus(ws, { authorization: `Bearer ${TOKEN}` })).toBe(101);
    expect(await wsStatus(`${ws}?token=${TOKEN}&underlying=SPY`)).toBe(101);
  });

  it('binds loopback by default', () => {
    expect(defaultConfig().gateway.host).toBe('127.0.0.1');
  });
});
