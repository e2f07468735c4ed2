// The fake Massive server's WebSocket protocol, spoken by a raw `ws` client (no adapter code in between).
import WebSocket from 'ws';
import { createLogger } from '@snap/platform';
import { FakeMassiveServer, waitUntil } from './fake-server';

let server: FakeMassiveServer;
const sockets: WebSocket[] = [];

beforeEach(async () => {
  server = await FakeMassiveServer.start({ apiKey: 'k', logger: createLogger({ write: () => undefined }) });
});
afterEach(async () => {
  for (const s of sockets.splice(0)) s.terminate();
  await server.close();
});

async function connect(cluster: 'stocks' | 'options') {
  const ws = new WebSocket(server.wsUrl(cluster));
  sockets.push(ws);
  const raw: string[] = [];
  const frames: unknown[][] = [];
  ws.on('message', (d) => {
    raw.push(d.toString());
    try {
      frames.push(JSON.parse(d.toString()) as unknown[]);
    } catch {
      frames.push(['(not JSON)']);
    }
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return { ws, frames, raw };
}

it('greets, authenticates, acknowledges each channel, filters by subscription, honours wildcard and unsubscribe', async () => {
  const { ws, frames } = await connect('stocks');
  await waitUntil(() => frames.length === 1, 'greeting');
  expect(frames[0]).toEqual([{ ev: 'status', status: 'connected', message: 'Connected Successfully' }]);
  ws.send(JSON.stringify({ action: 'subscribe', params: 'T.SPY' }));
  await waitUntil(() => frames.length === 2, 'pre-auth reply');
  expect(frames[1]).toEqual([{ ev: 'status', status: 'error', message: 'not authenticated' }]);

  ws.send(JSON.stringify({ action: 'auth', params: 'k' }));
  ws.send(JSON.stringify({ action: 'subscribe', params: 'T.SPY,Q.SPY' }));
  await waitUntil(() => frames.length === 4, 'auth + subscribe replies');
  expect(frames[2]).toEqual([{ ev: 'status', status: 'auth_success', message: 'authenticated' }]);
  expect(frames[3]).toEqual([
    { ev: 'status', status: 'success', message: 'subscribed to: T.SPY' },
    { ev: 'status', status: 'success', message: 'subscribed to: Q.SPY' },
  ]);

  const t = { ev: 'T', sym: 'SPY', p: 1, s: 1, t: 1 };
  const other = { ev: 'T', sym: 'QQQ', p: 2, s: 1, t: 1 };
  expect(server.publish('stocks', [t, other])).toBe(1);
  await waitUntil(() => frames.length === 5, 'filtered data');
  expect(frames[4]).toEqual([t]);

  ws.send(JSON.stringify({ action: 'unsubscribe', params: 'T.SPY' }));
  ws.send(JSON.stringify({ action: 'subscribe', params: 'T.*' }));
  await waitUntil(() => frames.length === 7, 'unsubscribe + wildcard replies');
  expect(frames[5]).toEqual([{ ev: 'status', status: 'success', message: 'unsubscribed to: T.SPY' }]);
  server.publish('stocks', [t, other, { ev: 'Q', sym: 'QQQ', bp: 1, ap: 2, bs: 1, as: 1, t: 1 }]);
  await waitUntil(() => frames.length === 8, 'wildcard data');
  expect(frames[7]).toEqual([t, other]);
  expect(server.clients[0]!.actions).toEqual([
    { action: 'subscribe', channels: ['T.SPY', 'Q.SPY'] },
    { action: 'unsubscribe', channels: ['T.SPY'] },
    { action: 'subscribe', channels: ['T.*'] },
  ]);
  expect([...server.clients[0]!.subscriptions].sort()).toEqual(['Q.SPY', 'T.*']);
  // Options clients see nothing from the stocks cluster.
  expect(server.publish('options', [t])).toBe(0);
});

it('answers a wrong key with auth_failed and closes the connection', async () => {
  const { ws, frames } = await connect('options');
  const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
  ws.send(JSON.stringify({ action: 'auth', params: 'nope' }));
  expect(await closed).toBe(1008);
  expect(frames[frames.length - 1]).toEqual([{ ev: 'status', status: 'auth_failed', message: 'authentication failed' }]);
  expect(server.liveClients()).toEqual([]);
});

it('drops connections abruptly (no close frame) and injects raw frames', async () => {
  const { ws, raw } = await connect('stocks');
  ws.send(JSON.stringify({ action: 'auth', params: 'k' }));
  await waitUntil(() => server.liveClients('stocks').length === 1, 'authenticated');
  const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
  server.injectRaw('stocks', 'not json');
  server.injectRaw('stocks', '{"half":');
  await waitUntil(() => raw.length === 4, 'raw frames');
  expect(raw.slice(2)).toEqual(['not json', '{"half":']);
  expect(server.dropConnections('stocks')).toBe(1);
  expect(await closed).toBe(1006); // abnormal closure: the TCP connection just went away
  expect(server.clients[0]!.connected).toBe(false);
});
