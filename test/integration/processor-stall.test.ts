// /healthz reports a stalled partition group. Input keeps arriving on one input topic while another input of the same
// group stays silent (no records, no heartbeats — a dead feed): the merge must hold everything back, nothing is
// released, and after processor.stall_timeout_ms the processor answers 503 with a JSON reason naming the group.
// Before issue 8 /healthz said 200 whatever the groups did.
import { randomBytes } from 'node:crypto';
import type { StockQuote } from '@snap/core';
import { EnvelopeCodec, createIdempotentProducer, createKafka, createLogger, loadConfig, topicName } from '@snap/platform';
import { until, deleteTopicsWithPrefix } from './support';
import { Procs } from '../faults/processor-support';

jest.setTimeout(300_000);

const prefix = `t-proc-stall-${randomBytes(4).toString('hex')}-`;
const env: Record<string, string> = { TOPIC_PREFIX: prefix, UNDERLYINGS: 'SPY', SNAP_KAFKA_PARTITIONS: '1', SNAP_PROCESSOR_STALL_TIMEOUT_MS: '3000', SNAP_HTTP_PORT: '0', LOG_LEVEL: 'info' };
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
  event_id: `stall-${i}`,
  symbol: 'SPY',
  bid_px: 600,
  ask_px: 600.01,
  bid_sz: 100 + i,
  ask_sz: 100,
  bid_exch: null,
  ask_exch: null,
});

it('a group with input that releases nothing turns /healthz 503, naming the group', async () => {
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
    return { status: r.status, body: (await r.json()) as { ok: boolean; reason?: string; stalled_groups: { group: number }[] } };
  };
  expect((await health()).status).toBe(200);
  // Quotes keep coming; trades, option trades and greeks stay silent, so the merge can release nothing.
  let i = 0;
  let stopped = false;
  const pump = (async () => {
    while (!stopped) {
      await producer.send({ topic, messages: [{ key: 'SPY', value: codec.encodeSync(topic, 'stocks.quotes.v1', quote(i++)) }] });
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  const bad = await until(async () => {
    const h = await health();
    return h.status === 503 ? h : false;
  }, '/healthz to report the stall', 120_000, 250);
  stopped = true;
  await pump;
  expect(bad.body.ok).toBe(false);
  expect(bad.body.stalled_groups.map((g) => g.group)).toEqual([0]);
  expect(bad.body.reason).toMatch(/partition group 0 .*has input .*fetched but unreleased.* released nothing for \d+ s/);
  expect(proc.out()).toMatch(/"msg":"partition group stalled; \/healthz reports 503"/);
  proc.child.kill('SIGTERM');
  await proc.done;
});
