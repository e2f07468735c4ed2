// `snap-engine feed databento` against the fake gateway (issue 10): it writes exactly what `feed dbn` writes for the
// same DBN files — event for event, heartbeat for heartbeat, byte for byte — also when the connection drops or stalls
// mid-stream; it serves /metrics and /healthz; and through Kafka and the processor (barrier.source=mbp10) it gives
// the same committed signals as `feed dbn` (real stack: scripts/stack up kafka schema-registry).
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import type { Admin, Kafka } from 'kafkajs';
import { DATA_INPUT_SCHEMAS, simulateSession, type Config, type SignalRow } from '@snap/core';
import { FakeDatabentoGateway, type FakeGatewayFaults } from '@snap/dbn';
import { KafkaFeedSink } from '@snap/feeds';
import {
  DEADLETTER_TOPIC,
  EnvelopeCodec,
  SIGNALS_TOPIC,
  createIdempotentProducer,
  createKafka,
  createLogger,
  loadConfig,
  recordToSignalRow,
  registryOptions,
  systemClock,
  topicName,
  type SignalRecord,
} from '@snap/platform';
import { compareRows, readRanges } from '@snap/processor';
import { ROOT, startCli, until, type CliProcess, type CliResult } from './support';

jest.setTimeout(600_000);

const MBP10 = join(ROOT, 'dbn-data', 'glbx-mdp3-20260115.mbp-10.dbn.zst');
const TRADES = join(ROOT, 'dbn-data', 'glbx-mdp3-20260115.trades.dbn.zst');
const KEY = 'db-feed-it-key-0123456789abcdefXYZ';
const tmp = mkdtempSync(join(tmpdir(), 'it-databento-'));
const quiet = createLogger({ write: () => undefined });

const children = new Set<ChildProcess>();
function start(args: string[], env: Record<string, string>): CliProcess {
  const p = startCli(args, { LOG_LEVEL: 'info', ...env });
  children.add(p.child);
  p.child.on('close', () => children.delete(p.child));
  return p;
}
async function cli(args: string[], env: Record<string, string>): Promise<CliResult> {
  const r = await start(args, env).done;
  if (r.code !== 0) throw new Error(`snap-engine ${args.join(' ')} exited ${r.code}:\n${r.stderr.slice(-3000)}`);
  return r;
}

async function withGateway<T>(faults: FakeGatewayFaults | undefined, body: (gw: FakeDatabentoGateway) => Promise<T>): Promise<T> {
  const gw = await FakeDatabentoGateway.start({ apiKey: KEY, files: [MBP10, TRADES], faults, heartbeatIntervalS: 1 });
  try {
    return await body(gw);
  } finally {
    await gw.close();
  }
}

const liveArgs = (gw: FakeDatabentoGateway, extra: string[]) => ['feed', 'databento', '--dataset', 'GLBX.MDP3', '--schema', 'mbp-10,trades', '--symbols', 'ES.c.0', '--gateway', gw.address, ...extra];

let reference: string;
beforeAll(async () => {
  const out = join(tmp, 'dbn.jsonl');
  await cli(['feed', 'dbn', MBP10, TRADES, '--out', out], {});
  reference = readFileSync(out, 'utf8');
});

afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
});

describe('feed databento --out equals feed dbn --out of the same files', () => {
  test.each<[string, FakeGatewayFaults | undefined, string[]]>([
    ['an undisturbed session', undefined, []],
    ['a connection dropped mid-stream', { disconnectAfter: 9001 }, []],
    ['a stalled connection (heartbeat loss)', { stallAfter: 12_000 }, ['--heartbeat-interval', '1']],
  ])('%s', async (_what, faults, extra) => {
    await withGateway(faults, async (gw) => {
      const out = join(tmp, `live-${randomBytes(3).toString('hex')}.jsonl`);
      const r = await cli(liveArgs(gw, ['--until-caught-up', '--out', out, ...extra]), { DATABENTO_API_KEY: KEY });
      expect(readFileSync(out, 'utf8')).toBe(reference);
      // One reconnect per injected fault (a stall test allows more: its 6 s stall timeout on a loaded machine).
      if (!faults) expect(gw.connectionCount).toBe(1);
      else if (faults.stallAfter) expect(gw.connectionCount).toBeGreaterThanOrEqual(2);
      else expect(gw.connectionCount).toBe(2);
      expect(r.stderr).not.toContain(KEY);
      expect(r.stderr).not.toContain(KEY.slice(-5) + '"');
    });
  });

  test('a key from a mounted file; /metrics and /healthz while running; SIGTERM ends it with exit 0', async () => {
    const keyFile = join(tmp, 'databento.key');
    require('node:fs').writeFileSync(keyFile, `${KEY}\n`);
    await withGateway(undefined, async (gw) => {
      const out = join(tmp, 'live-metrics.jsonl');
      const p = start(liveArgs(gw, ['--out', out, '--metrics-port', '0', '--api-key-file', keyFile]), { DATABENTO_API_KEY: '' });
      const port = await until(() => /"msg":"metrics served".*?"port":(\d+)/.exec(p.out())?.[1], 'the metrics port in the log');
      await until(() => p.out().includes('"msg":"databento replay completed"'), 'the end of the replay');
      const health = await fetch(`http://127.0.0.1:${port}/healthz`);
      expect(health.status).toBe(200);
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(metrics).toMatch(/snap_feed_records_produced_total\{schema="futures.trades.v1",feed="databento"\} 3130/);
      expect(metrics).toMatch(/snap_databento_connected\{feed="databento"\} 1/);
      expect(metrics).toMatch(/snap_databento_connections_total\{feed="databento"\} 1/);
      p.child.kill('SIGTERM');
      const r = await p.done;
      expect(r.code).toBe(0);
      expect(readFileSync(out, 'utf8')).toBe(reference);
      expect(r.stderr).not.toContain(KEY);
    });
  });
});

test('usage errors exit 2 naming what is missing: no key, --snapshot with --start, an unknown schema', async () => {
  const out = join(tmp, 'unused.jsonl');
  const noKey = await start(['feed', 'databento', '--symbols', 'ES.c.0', '--gateway', '127.0.0.1:9', '--out', out], { DATABENTO_API_KEY: '', DATABENTO_API_KEY_FILE: '' }).done;
  expect(noKey.code).toBe(2);
  expect(noKey.stderr).toMatch(/snap-engine feed databento: no Databento API key: set DATABENTO_API_KEY/);
  const both = await start(['feed', 'databento', '--symbols', 'ES.c.0', '--snapshot', '--start', '2026-01-15T14:30:00Z', '--out', out], { DATABENTO_API_KEY: KEY }).done;
  expect(both.code).toBe(2);
  expect(both.stderr).toMatch(/--snapshot cannot be combined with --start/);
  expect(both.stderr).not.toContain(KEY);
  const schema = await start(['feed', 'databento', '--symbols', 'ES.c.0', '--schema', 'mbo'], { DATABENTO_API_KEY: KEY }).done;
  expect(schema.code).toBe(2);
  expect(schema.stderr).toMatch(/unknown schema "mbo"/);
});

describe('through Kafka and the processor (barrier.source=mbp10)', () => {
  let kafka: Kafka;
  let admin: Admin;
  let codec: EnvelopeCodec;
  const prefixes: string[] = [];

  function scenario(what: string): { prefix: string; env: Record<string, string>; cfg: Config } {
    const prefix = `t-dbl-${randomBytes(4).toString('hex')}-${what}-`;
    prefixes.push(prefix);
    const env: Record<string, string> = {
      TOPIC_PREFIX: prefix,
      UNDERLYINGS: 'SPY',
      SNAP_BARRIER_SOURCE: 'mbp10',
      SNAP_KAFKA_GROUP_ID: `${prefix}processor`,
      SNAP_KAFKA_TRANSACTIONAL_ID_PREFIX: `${prefix}processor`,
      SNAP_HTTP_PORT: '0',
    };
    return { prefix, env, cfg: loadConfig({ env: { ...process.env, ...env } }) };
  }

  beforeAll(async () => {
    const cfg = loadConfig({ env: process.env });
    kafka = createKafka(cfg, { logger: quiet, clientId: 'it-databento' });
    admin = kafka.admin();
    await admin.connect();
    codec = new EnvelopeCodec(registryOptions(cfg));
  });

  afterAll(async () => {
    const mine = (await admin.listTopics()).filter((t) => prefixes.some((p) => t.startsWith(p)));
    if (mine.length) await admin.deleteTopics({ topics: mine }).catch(() => undefined);
    await admin.disconnect();
  });

  /**
   * The SPY side of the session the ES book serves (quotes, trades, options, greeks) from the simulator at the DBN
   * files' time, without its own ES and without heartbeats: the ES feed under test brings the futures and the
   * heartbeats, so the two producers never make each other's records late.
   */
  async function produceSpy(cfg: Config): Promise<number> {
    const k = createKafka(cfg, { logger: quiet, clientId: 'it-databento-spy' });
    const sink = new KafkaFeedSink({
      producer: createIdempotentProducer(k),
      admin: () => k.admin(),
      codec: new EnvelopeCodec(registryOptions(cfg)),
      topicFor: (schema) => topicName(cfg, schema),
      deadLetterTopic: topicName(cfg, DEADLETTER_TOPIC),
      batchRecords: cfg.feeds.batch_records,
      partitions: cfg.kafka.partitions,
      lingerMs: cfg.feeds.linger_ms,
      latePolicy: cfg.feeds.late_policy,
      heartbeatMs: 0,
      heartbeatStreams: DATA_INPUT_SCHEMAS,
      clock: systemClock,
      logger: quiet,
      defaultKey: 'SPY',
    });
    await sink.connect();
    let n = 0;
    for (const ev of simulateSession({ seed: 21, underlying: 'SPY', startNs: 1_768_487_400_000_000_000n, durationMs: 10 * 60_000 })) {
      if (ev.schema === 'heartbeat.v1' || ev.schema.startsWith('futures.')) continue;
      await sink.emit(ev);
      n++;
    }
    await sink.close();
    return n;
  }

  async function committedSignals(cfg: Config): Promise<SignalRow[]> {
    const topic = topicName(cfg, SIGNALS_TOPIC);
    const ends = await admin.fetchTopicOffsets(topic);
    const rows: SignalRow[] = [];
    await readRanges(kafka, admin, ends.map((e) => ({ topic, partition: e.partition, from: 0n })), {
      readCommitted: true,
      onMessage: async (_t, _p, m) => {
        rows.push(recordToSignalRow((await codec.decode(m.value!)).value as SignalRecord));
      },
    });
    return rows;
  }

  test('feed databento → Kafka → processor gives the same signals as feed dbn of the same files', async () => {
    const viaDbn = scenario('dbn');
    const viaLive = scenario('live');
    for (const s of [viaDbn, viaLive]) {
      await cli(['topics', 'apply'], s.env);
      expect(await produceSpy(s.cfg)).toBeGreaterThan(1000);
    }
    await cli(['feed', 'dbn', MBP10, TRADES], viaDbn.env);
    // The live path with a dropped connection on the way: the reconnect must not change a single signal.
    await withGateway({ disconnectAfter: 7001 }, (gw) => cli(liveArgs(gw, ['--until-caught-up']), { ...viaLive.env, DATABENTO_API_KEY: KEY }));
    for (const s of [viaDbn, viaLive]) await cli(['processor', '--until-idle'], s.env);
    const a = await committedSignals(viaDbn.cfg);
    const b = await committedSignals(viaLive.cfg);
    expect(a.length).toBeGreaterThan(100);
    const report = compareRows(a, b);
    expect(report.first_difference).toBeNull();
    expect(report.identical).toBe(true);
  });
});
