// Fault: the broker stops and starts while the processor is mid-stream (isolated Kafka from test/faults/support.ts;
// the schema registry is the main stack's). Before issue 8, after a broker restart with input already fetched one
// partition group was never rebuilt (events_released frozen for 60 s) while /healthz said 200 and lag 0. Now the
// processor rides through: afterwards it catches up, /healthz is 200 with no stalled group, and the committed
// signals equal the embedded run — nothing lost, nothing duplicated. recovery_s = broker start → lag 0.
import { randomBytes } from 'node:crypto';
import type { Admin, Kafka } from 'kafkajs';
import { EnvelopeCodec, SIGNALS_TOPIC, createKafka, createLogger, loadConfig, topicName } from '@snap/platform';
import { compareRows } from '@snap/processor';
import { faultRow, until, useFaultStack } from './support';
import { Procs, committedSignals, embeddedReference, lostAndDuplicated, type SimSpan } from './processor-support';

jest.setTimeout(1_200_000);

const prefix = `t-fault-pbroker-${randomBytes(4).toString('hex')}-`;
// One underlying (one partition group with data); the second span is produced after the broker is back.
const SPANS: SimSpan[] = [
  { seed: 61, underlying: 'SPY', start: '2025-12-22T15:00:00Z', duration: '60s' },
  { seed: 62, underlying: 'SPY', start: '2025-12-22T15:01:05Z', duration: '60s' },
];
const metric = (text: string, re: RegExp): number => {
  let n = 0;
  for (const m of text.matchAll(re)) n += Number(m[1]);
  return n;
};

describe('processor: broker stop/start mid-stream', () => {
  const fs = useFaultStack({ services: ['kafka'] });
  let env: Record<string, string>;
  let procs: Procs;
  let kafka: Kafka;
  let admin: Admin;
  let codec: EnvelopeCodec;

  beforeAll(async () => {
    env = { ...fs().env, TOPIC_PREFIX: prefix, UNDERLYINGS: 'SPY', SNAP_KAFKA_PARTITIONS: '1', SNAP_PROCESSOR_COMMIT_EVERY_TICKS: '4', SNAP_PROCESSOR_STALL_TIMEOUT_MS: '20000', SNAP_HTTP_PORT: '0', LOG_LEVEL: 'info' };
    procs = new Procs(() => env);
    const cfg = loadConfig({ env: { ...process.env, ...env } });
    kafka = createKafka(cfg, { logger: createLogger({ write: () => undefined }) });
    admin = kafka.admin();
    await admin.connect();
    codec = new EnvelopeCodec({ registryUrl: cfg.schema_registry.url });
  });

  afterAll(async () => {
    procs?.killAll();
    await admin?.disconnect().catch(() => undefined);
  });

  it('rides through a broker restart: catches up, healthy, signals identical to the embedded run', async () => {
    const cfg = loadConfig({ env: { ...process.env, ...env } });
    await procs.ok(['topics', 'apply']);
    const feed = (s: SimSpan) => procs.ok(['feed', 'sim', '--seed', String(s.seed), '--underlying', s.underlying, '--start', s.start, '--duration', s.duration]);
    await feed(SPANS[0]!);
    const proc = procs.start(['processor']);
    const port = await until(() => /"http_port":(\d+)/.exec(proc.out())?.[1], 'the processor to listen', 120_000);
    const scrape = async () => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const caughtUp = async () => {
      const m = await scrape().catch(() => '');
      const lags = [...m.matchAll(/snap_processor_consumer_lag\{[^}]*\} (\d+)/g)].map((x) => Number(x[1]));
      const h = await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => null);
      return lags.length >= 4 && lags.every((l) => l === 0) && metric(m, /snap_processor_transactions_total\{result="committed"\} (\d+)/g) >= 1 && h?.status === 200;
    };
    const dump = (e: Error) => {
      throw new Error(`${e.message}\nprocessor log (tail):\n${proc.out().slice(-5000)}`);
    };
    await until(caughtUp, 'the processor to process the first span', 180_000, 250).catch(dump);
    const releasedBefore = metric(await scrape(), /snap_processor_events_released_total (\d+)/g);

    // The broker goes away with the group's input fetched and its tick held open, and comes back.
    await fs().stop('kafka');
    await new Promise((r) => setTimeout(r, 8000));
    await fs().start('kafka');
    const restarted = Date.now();
    await feed(SPANS[1]!);
    await until(async () => (await caughtUp()) && metric(await scrape(), /snap_processor_events_released_total (\d+)/g) > releasedBefore, 'the processor to process the second span after the restart', 600_000, 250).catch(dump);
    const recoveryS = (Date.now() - restarted) / 1000;
    const health = await (await fetch(`http://127.0.0.1:${port}/healthz`)).json();
    expect(health).toMatchObject({ ok: true, stalled_groups: [] });
    proc.child.kill('SIGTERM');
    expect((await proc.done).code).toBe(0);
    await procs.ok(['processor', '--until-idle']);

    const reference = await embeddedReference(procs, SPANS, { UNDERLYINGS: 'SPY', LOG_LEVEL: 'warn' });
    expect(reference.length).toBeGreaterThan(1000);
    const got = await committedSignals(kafka, admin, codec, topicName(cfg, SIGNALS_TOPIC));
    const { lost, duplicated } = lostAndDuplicated(reference, got);
    faultRow({ fault: 'broker stop 8 s / start mid-processor', lost, duplicated, recovery_s: Math.round(recoveryS * 10) / 10, note: 'recovery = broker start → second span (60 s of input, fed after the restart) processed' });
    expect(compareRows(reference, got).first_difference).toBeNull();
    expect({ lost, duplicated }).toEqual({ lost: 0, duplicated: 0 });
  });
});
