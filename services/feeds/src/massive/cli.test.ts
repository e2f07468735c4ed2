// `snap-engine massive fake-server` as a real process: it prints its endpoints, serves a seeded session to a
// real client, and stops on SIGTERM.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { get } from 'node:http';
import { join } from 'node:path';
import { createLogger } from '@snap/platform';
import { waitUntil } from './fake-server';
import { MassiveNormalizer } from './normalize';
import { MassiveWsClient } from './ws-client';

jest.setTimeout(60_000);

const ROOT = join(__dirname, '../../../..');
let child: ChildProcess | null = null;
let client: MassiveWsClient | null = null;

afterEach(async () => {
  await client?.close();
  if (child && child.exitCode === null && child.signalCode === null) {
    child.kill('SIGKILL');
    await once(child, 'close');
  }
});

it('runs, prints its endpoints as JSON, streams seeded data, and exits on SIGTERM', async () => {
  child = spawn(process.execPath, [join(ROOT, 'services/cli/bin/snap-engine.js'), 'massive', 'fake-server', '--port', '0', '--seed', '9', '--interval-ms', '5', '--api-key', 'cli-key'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const endpoints = await new Promise<{ ws_stocks_url: string; rest_url: string }>((resolve, reject) => {
    child!.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve(JSON.parse(out.slice(0, nl)));
    });
    child!.once('exit', (code) => reject(new Error(`fake-server exited early (${code}): ${err}`)));
  });
  expect(endpoints.ws_stocks_url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/stocks$/);

  const n = new MassiveNormalizer({ cluster: 'stocks', underlyings: ['SPY'] });
  const kinds: string[] = [];
  let seq = 0n;
  client = new MassiveWsClient({
    url: endpoints.ws_stocks_url,
    cluster: 'stocks',
    apiKey: 'cli-key',
    subscriptions: ['T.SPY', 'Q.SPY'],
    logger: createLogger({ write: () => undefined }),
    onFrame: (f) => kinds.push(...n.normalizeFrame(f.raw, { ts_recv_ns: 0n, nextSeq: () => seq++ }).map((i) => (i.kind === 'event' ? i.event.schema : i.kind))),
  });
  await client.start();
  await waitUntil(() => kinds.includes('stocks.trades.v1') && kinds.includes('stocks.quotes.v1'), 'seeded trades and quotes', 20_000);
  expect(kinds.filter((k) => k === 'error')).toEqual([]);

  // node:http without keep-alive, so no pooled socket outlives the child.
  const body = await new Promise<{ status: number; text: string }>((resolve, reject) => {
    get(`${endpoints.rest_url}/v3/snapshot/options/SPY?limit=5&apiKey=cli-key`, { agent: false }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    }).on('error', reject);
  });
  expect(body.status).toBe(200);
  expect((JSON.parse(body.text) as { results: unknown[] }).results).toHaveLength(5);

  await client.close();
  client = null;
  child.kill('SIGTERM');
  const [code] = await once(child, 'close');
  expect(code).toBe(0);
});
