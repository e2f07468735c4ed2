import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { DatabentoConnectionError, DatabentoLiveClient } from './client';

/** A port nothing listens on: bound once, then released. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

const KEY = 'db-unit-test-key-SECRET9';

describe('DatabentoLiveClient reconnect budget', () => {
  it('gives up after maxAttempts reconnects in a row fail with an error naming the gateway, never the key', async () => {
    const port = await closedPort();
    const client = new DatabentoLiveClient({ apiKey: KEY, dataset: 'GLBX.MDP3', gateway: { host: '127.0.0.1', port }, subscriptions: [{ schema: 'trades', symbols: ['ES.c.0'] }], reconnect: { initialMs: 1, maxMs: 5, maxAttempts: 2 } });
    const disconnects: string[] = [];
    client.on('disconnected', (d) => disconnects.push(d.reason));
    let err: unknown;
    try {
      for await (const _ of client.stream());
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DatabentoConnectionError);
    expect((err as Error).message).toMatch(new RegExp(`Databento gateway 127\\.0\\.0\\.1:${port} \\(dataset GLBX\\.MDP3\\): 3 connection attempts failed in a row; last error: cannot connect to 127\\.0\\.0\\.1:${port}: ECONNREFUSED`));
    expect((err as Error).message).not.toContain(KEY);
    expect(disconnects).toHaveLength(2);
    expect(client.stats.connections).toBe(3);
  });

  it('stop() during a reconnect wait ends the stream at once', async () => {
    const port = await closedPort();
    const client = new DatabentoLiveClient({ apiKey: KEY, dataset: 'GLBX.MDP3', gateway: { host: '127.0.0.1', port }, subscriptions: [{ schema: 'trades', symbols: ['ES.c.0'] }], reconnect: { initialMs: 600_000, maxMs: 600_000 } });
    client.on('disconnected', () => setImmediate(() => client.stop()));
    const items = [];
    for await (const i of client.stream()) items.push(i);
    expect(items).toEqual([]);
    expect(client.stats.reconnects).toBe(1);
  });
});
