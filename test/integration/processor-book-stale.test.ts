// Issue 11: a processor whose underlying reads its barrier from MBP-10 but gets no futures input must not read NEUTRAL/LOW
// in silence ("no ES book"): after processor.book_stale_ms /healthz is 503 naming the underlying, the gauge
// snap_processor_book_source_stale{underlying="SPY"} is 1, and an error log line names SPY. Real broker and registry.
import { randomBytes } from 'node:crypto';
import type { StockQuote } from '@snap/core';
import { EnvelopeCodec, createIdempotentProducer, createKafka, createLogger, loadConfig, topicName } from '@snap/platform';
import { until, deleteTopicsWithPrefix } from './support';
import { Procs } from '../faults/processor-support';

jest.setTimeout(300_000);

const prefix = `t-book-stale-${randomBytes(4).toString('hex')}-`;
const STALE_MS = 3000;
const env: Record<string, string> = {
  TOPIC_PREFIX: prefix,
  UNDERLYINGS: 'SPY',
  SNAP_BARRIER_SOURCE: 'mbp10',
  SNAP_KAFKA_PARTITIONS: '1',
  SNAP_PROCESSOR_BOOK_STALE_MS: String(STALE_MS),
  SNAP_PROCESSOR_STALL_TIMEOUT_MS: '600000',
  SNAP_HTTP_PORT: '0',
  LOG_LEVEL: 'info',
};
const cfg = loadConfig({ env: { ...process.env, ...env } });
const procs = new Procs(() => env);
const kafka = createKafka(loadConfig({ env: { ...process.env, LOG_LEVEL: 'error' } }), { logger: createLogger({ write: () => undefined }) });
const admin = kafka.admin();
const producer = createIdempotentProducer(kafka);

afterAll(async () => {
  procs.killAll();
  await producer.disconnect().catch(() => undefined);
  await deleteTopicsWithPrefix(admin, prefix);
  await admin.disconnect();
});

const T0 = BigInt(Date.UTC(2025, 11, 22, 15, 0, 0)) * 1_000_000n;
const quote = (i: number): StockQuote => ({
  schema: 'stocks.quotes.v1',
  schema_version: 1,
  source: 'sim',
  ts_event_ns: T0 + BigInt(i) * 100_000_000n,
  ts_recv_ns: T0 + BigInt(i) * 100_000_000n,
  key: 'SPY',
  seq: null,
  event_id: `book-stale-${i}`,
  symbol: 'SPY',
  bid_px: 600,
  ask_px: 600.01,
  bid_sz: 100 + i,
  ask_sz: 100,
  bid_exch: null,
  ask_exch: null,
});

it('MBP-10 barrier with no futures input: /healthz 503 within book_stale_ms, gauge 1, error log naming the underlying', async () => {
  await admin.connect();
  await producer.connect();
  await procs.ok(['topics', 'apply']);
  const codec = new EnvelopeCodec({ registryUrl: cfg.schema_registry.url });
  const topic = topicName(cfg, 'stocks.quotes.v1');
  await codec.register(topic, 'stocks.quotes.v1');
  const proc = procs.start(['processor']);
  const port = await until(() => /"http_port":(\d+)/.exec(proc.out())?.[1], 'the processor to listen', 120_000);
  await until(() => /"msg":"partition group ready"/.test(proc.out()), 'the group to be ready', 120_000);
  const health = async () => {
    const r = await fetch(`http://127.0.0.1:${port}/healthz`);
    return { status: r.status, body: (await r.json()) as { ok: boolean; reason?: string; stale_books: { underlying: string; source: string; futures_symbol?: string }[] } };
  };
  // The SPY quote feed is alive (so this is not an idle processor): only the ES book is missing.
  let i = 0;
  let stopped = false;
  const pump = (async () => {
    while (!stopped) {
      await producer.send({ topic, messages: [{ key: 'SPY', value: codec.encodeSync(topic, 'stocks.quotes.v1', quote(i++)) }] });
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  try {
    const bad = await until(async () => {
      const h = await health();
      return h.status === 503 ? h : false;
    }, '/healthz to report the stale book', 120_000, 250);
    expect(bad.body.ok).toBe(false);
    expect(bad.body.stale_books).toEqual([expect.objectContaining({ underlying: 'SPY', source: 'futures.mbp10.v1', futures_symbol: 'ES' })]);
    expect(bad.body.reason).toMatch(/SPY: book source futures\.mbp10\.v1 \(ES book\) sent no record for \d+ s/);
    const line = await until(() => proc.out().split('\n').find((l) => l.includes('"msg":"book source stale for SPY; /healthz reports 503"')), 'the error log line', 10_000);
    expect(JSON.parse(line)).toMatchObject({ level: 'error', underlying: 'SPY', source: 'futures.mbp10.v1', futures_symbol: 'ES' });
    // Judged on the configured time, not earlier.
    expect(JSON.parse(line).silent_ms).toBeGreaterThan(STALE_MS);
    // Liveness stays 200: restarting the processor would not bring the ES book back.
    expect((await fetch(`http://127.0.0.1:${port}/livez`)).status).toBe(200);
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(metrics).toMatch(/snap_processor_book_source_stale\{underlying="SPY",source="futures.mbp10.v1"\} 1/);
  } finally {
    stopped = true;
    await pump;
    proc.child.kill('SIGTERM');
    await proc.done;
  }
});
