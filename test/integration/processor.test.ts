// The processor against the real broker and schema registry (scripts/stack up kafka schema-registry). Every CLI is a
// real child process (`snap-engine feed sim`, `processor`, `run`, `replay`), each scenario under its own TOPIC_PREFIX.
// Committed signals are read read_committed (kafkajs) and their count cross-checked with Kafka's own console
// consumer (--isolation-level read_committed).
import { spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Admin, Kafka } from 'kafkajs';
import type { Config, LevelEvent, SignalRow } from '@snap/core';
import {
  DEADLETTER_TOPIC,
  EVENTS_TOPIC,
  EnvelopeCodec,
  SIGNALS_TOPIC,
  createKafka,
  createLogger,
  loadConfig,
  partitionForKey,
  recordToLevelEvent,
  recordToSignalRow,
  topicName,
  type DeadLetterRecord,
  type LevelEventRecord,
  type SignalRecord,
} from '@snap/platform';
import { canonicalRow, compareEvents, compareRows, readEventsJsonl, readRanges, readSignalRowsJsonl } from '@snap/processor';
import { ROOT, startCli, until, type CliProcess, type CliResult } from './support';

jest.setTimeout(600_000);

const KAFKA_CLI = join(ROOT, 'scripts', 'kafka-cli');
const tmp = mkdtempSync(join(tmpdir(), 'it-processor-'));
const quiet = createLogger({ write: () => undefined });

// Three partitions: SPY → partition 2 and IWM → partition 1 (Java murmur2), so two partition groups that a
// two-member group splits between its members (group p → member p mod 2).
const PARTITIONS = '3';
const UNDERLYINGS = ['SPY', 'IWM'];
const SEEDS: Record<string, number> = { SPY: 11, IWM: 12 };
const START = '2025-12-22T15:00:00Z';
const DURATION = '40s';

interface Scenario {
  prefix: string;
  env: Record<string, string>;
  cfg: Config;
}

const prefixes: string[] = [];
function scenario(what: string): Scenario {
  const prefix = `t-proc-${randomBytes(4).toString('hex')}-${what}-`;
  prefixes.push(prefix);
  const env: Record<string, string> = {
    TOPIC_PREFIX: prefix,
    UNDERLYINGS: UNDERLYINGS.join(','),
    SNAP_KAFKA_PARTITIONS: PARTITIONS,
    SNAP_KAFKA_GROUP_ID: `${prefix}processor`,
    SNAP_KAFKA_TRANSACTIONAL_ID_PREFIX: `${prefix}processor`,
    SNAP_PROCESSOR_SESSION_TIMEOUT_MS: '6000',
    SNAP_PROCESSOR_COMMIT_EVERY_TICKS: '8',
    SNAP_HTTP_PORT: '0',
    LOG_LEVEL: 'info',
  };
  return { prefix, env, cfg: loadConfig({ env: { ...process.env, ...env } }) };
}

// Every child still running when the suite ends is killed (afterAll).
const children = new Set<ChildProcess>();
function start(args: string[], env: Record<string, string>): CliProcess {
  const p = startCli(args, env);
  children.add(p.child);
  p.child.on('close', () => children.delete(p.child));
  return p;
}

async function cli(args: string[], env: Record<string, string>): Promise<CliResult> {
  const r = await start(args, env).done;
  if (r.code !== 0) throw new Error(`snap-engine ${args.join(' ')} exited ${r.code}:\n${r.stderr.slice(-3000)}\n${r.stdout.slice(-2000)}`);
  return r;
}

let kafka: Kafka;
let admin: Admin;
let codec: EnvelopeCodec;

/** Every committed signal row of the topic, read_committed, per partition in offset order. */
async function committedSignals(topic: string): Promise<SignalRow[]> {
  const ends = await admin.fetchTopicOffsets(topic);
  const byPartition = new Map<number, SignalRow[]>();
  await readRanges(
    kafka,
    admin,
    ends.map((e) => ({ topic, partition: e.partition, from: 0n })),
    {
      readCommitted: true,
      onMessage: async (_t, p, m) => {
        const d = await codec.decode(m.value!);
        expect(d.schemaName).toBe('levels.signals.v1');
        const l = byPartition.get(p) ?? [];
        l.push(recordToSignalRow(d.value as SignalRecord));
        byPartition.set(p, l);
      },
    },
  );
  return [...byPartition.keys()].sort().flatMap((p) => byPartition.get(p)!);
}

/** Every committed discrete event of the events topic, read_committed, per partition in offset order. */
async function committedEvents(topic: string): Promise<LevelEvent[]> {
  const ends = await admin.fetchTopicOffsets(topic);
  const byPartition = new Map<number, LevelEvent[]>();
  await readRanges(
    kafka,
    admin,
    ends.map((e) => ({ topic, partition: e.partition, from: 0n })),
    {
      readCommitted: true,
      onMessage: async (_t, p, m) => {
        const d = await codec.decode(m.value!);
        expect(d.schemaName).toBe('levels.events.v1');
        expect(m.key?.toString()).toBe((d.value as LevelEventRecord).underlying);
        const l = byPartition.get(p) ?? [];
        l.push(recordToLevelEvent(d.value as LevelEventRecord));
        byPartition.set(p, l);
      },
    },
  );
  return [...byPartition.keys()].sort().flatMap((p) => byPartition.get(p)!);
}

/** Kafka's own console consumer, read_committed: how many signal records a plain Kafka user sees. */
function consoleConsumerCount(topic: string, expected: number): number {
  const r = spawnSync(
    KAFKA_CLI,
    [
      'kafka-console-consumer',
      '--bootstrap-server',
      (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',')[0]!,
      '--topic',
      topic,
      '--from-beginning',
      '--isolation-level',
      'read_committed',
      '--max-messages',
      String(expected + 1),
      '--timeout-ms',
      '8000',
      '--property',
      'print.value=false',
      '--property',
      'print.offset=true',
    ],
    { encoding: 'utf8', timeout: 120_000 },
  );
  return r.stdout.split('\n').filter((l) => /Offset:\d+/.test(l)).length;
}

async function feedAll(s: Scenario, extra: string[] = []): Promise<void> {
  for (const u of UNDERLYINGS) await cli(['feed', 'sim', '--seed', String(SEEDS[u]), '--underlying', u, '--start', START, '--duration', DURATION, ...extra], s.env);
}

/** The embedded run (`feed sim --out` → `run --input`) per underlying: the reference rows. */
let embedded: SignalRow[] = [];
/** The discrete events of the same embedded runs (filled by embeddedRows). */
const embeddedEvents: LevelEvent[] = [];
async function embeddedRows(): Promise<SignalRow[]> {
  if (embedded.length) return embedded;
  const env = { UNDERLYINGS: UNDERLYINGS.join(','), LOG_LEVEL: 'warn' };
  const rows: SignalRow[] = [];
  for (const u of UNDERLYINGS) {
    const input = join(tmp, `${u}.events.jsonl`);
    const output = join(tmp, `${u}.signals.jsonl`);
    await cli(['feed', 'sim', '--seed', String(SEEDS[u]), '--underlying', u, '--start', START, '--duration', DURATION, '--out', input], env);
    await cli(['run', '--input', input, '--out', output], env);
    rows.push(...readSignalRowsJsonl(output));
    embeddedEvents.push(...readEventsJsonl(output));
  }
  embedded = rows;
  return rows;
}

function expectNoDuplicates(rows: SignalRow[]) {
  const keys = rows.map((r) => `${r.underlying}|${r.ts_event_ns}|${r.level_id}`);
  expect(new Set(keys).size).toBe(keys.length);
}

// Instances start, join and rebalance: their waits get 2 minutes.
const GROUP_WAIT_MS = 120_000;

/** The partition groups of an instance's latest assignment, from its structured log. */
function lastGroups(log: string): number[] | null {
  let last: number[] | null = null;
  for (const line of log.split('\n')) {
    if (!line.includes('partition groups assigned')) continue;
    try {
      last = (JSON.parse(line) as { groups: number[] }).groups;
    } catch {
      /* a partial line */
    }
  }
  return last;
}

/** Sum of end offsets; 0 while a just-created topic has no leader yet. */
const highOf = async (topic: string) => {
  try {
    return (await admin.fetchTopicOffsets(topic)).reduce((a, p) => a + Number(p.high), 0);
  } catch {
    return 0;
  }
};

beforeAll(async () => {
  expect(partitionForKey('SPY', 3)).not.toBe(partitionForKey('IWM', 3));
  kafka = createKafka(loadConfig({ env: { ...process.env, LOG_LEVEL: 'error' } }), { logger: quiet });
  admin = kafka.admin();
  await admin.connect();
  codec = new EnvelopeCodec({ registryUrl: loadConfig({ env: process.env }).schema_registry.url });
});

afterAll(async () => {
  // A failed test may leave its own processors/feeds running: stop exactly those.
  for (const c of children) c.kill('SIGKILL');
  const all = await admin.listTopics();
  const mine = all.filter((t) => prefixes.some((p) => t.startsWith(p)));
  if (mine.length) await admin.deleteTopics({ topics: mine }).catch(() => undefined);
  await admin.disconnect();
});

describe('processor on Kafka', () => {
  const parity = scenario('parity');

  it('parity: the committed signals of feed sim → processor --until-idle equal the embedded run, byte for byte', async () => {
    await cli(['topics', 'apply'], parity.env);
    await feedAll(parity);
    const r = await cli(['processor', '--until-idle'], parity.env);
    expect(r.stderr).toMatch(/input exhausted, merge drained, everything committed/);

    const signalsTopic = topicName(parity.cfg, SIGNALS_TOPIC);
    const kafkaRows = await committedSignals(signalsTopic);
    const reference = await embeddedRows();
    expect(reference.length).toBeGreaterThan(500);
    expect(new Set(reference.map((x) => x.underlying))).toEqual(new Set(UNDERLYINGS));
    const report = compareRows(reference, kafkaRows);
    expect(report.first_difference).toBeNull();
    expect(report.identical).toBe(true);
    expect(kafkaRows.map(canonicalRow).sort()).toEqual(reference.map(canonicalRow).sort());
    expectNoDuplicates(kafkaRows);

    // levels.events.v1, written in the same transactions: the embedded run's payload events, byte for byte, once each.
    const kafkaEvents = await committedEvents(topicName(parity.cfg, EVENTS_TOPIC));
    const events = compareEvents(embeddedEvents, kafkaEvents);
    expect(events.first_difference).toBeNull();
    expect(events.identical).toBe(true);
    expect(new Set(kafkaEvents.map((e) => e.event_id)).size).toBe(kafkaEvents.length);

    // Kafka's own consumer (read_committed) sees exactly as many records.
    const n = consoleConsumerCount(signalsTopic, kafkaRows.length);
    expect(n).toBe(kafkaRows.length);

    // A second --until-idle run finds nothing to do and changes nothing (its state and offsets were committed).
    await cli(['processor', '--until-idle'], parity.env);
    expect((await committedSignals(signalsTopic)).length).toBe(kafkaRows.length);
  });

  it('replay from a timestamp into a separate topic reproduces the original signals for that range; --dry-run plans only', async () => {
    const signalsTopic = topicName(parity.cfg, SIGNALS_TOPIC);
    const original = await committedSignals(signalsTopic);
    const ticks = [...new Set(original.map((r) => r.ts_event_ns))].sort((a, b) => (a < b ? -1 : 1));
    const from = ticks[Math.floor(ticks.length / 2)]!;
    const target = `${parity.prefix}replay.signals`;

    const dry = await cli(['replay', '--from-time', from.toString(), '--to-topic', target, '--dry-run', '--json'], parity.env);
    const plan = JSON.parse(dry.stdout) as { plan: { groups: { group: number; topics: { records: string }[] }[]; emit_from_ns: string } };
    expect(plan.plan.emit_from_ns).toBe(from.toString());
    expect(plan.plan.groups.map((g) => g.group)).toEqual([0, 1, 2]);
    expect(plan.plan.groups.find((g) => g.group === partitionForKey('SPY', 3))!.topics.every((t) => Number(t.records) > 0)).toBe(true);
    expect((await admin.listTopics()).includes(target)).toBe(false);

    const r = await cli(['replay', '--from-time', from.toString(), '--to-topic', target, '--parity-against', signalsTopic], parity.env);
    expect(r.stdout).toMatch(/parity: IDENTICAL/);
    const replayed = await committedSignals(target);
    const expected = original.filter((x) => x.ts_event_ns >= from);
    expect(replayed.length).toBe(expected.length);
    expect(compareRows(expected, replayed).identical).toBe(true);

    // The parity report does catch a difference: against the embedded file rows shifted by one.
    const shifted = join(tmp, 'shifted.jsonl');
    const ref = await embeddedRows();
    writeFileSync(shifted, ref.slice(1).map((x) => JSON.stringify({ ...x, ts_event_ns: x.ts_event_ns.toString() })).join('\n') + '\n');
    const bad = await start(['replay', '--from-time', ticks[0]!.toString(), '--to-topic', `${parity.prefix}replay2.signals`, '--parity-against', shifted], parity.env).done;
    expect(bad.code).toBe(4);
    expect(bad.stdout).toMatch(/parity: DIFFERENT/);
    expect(bad.stdout).toMatch(/first difference/);
  });

  const fo = scenario('failover');
  // Snapshots often: live, each is captured at one transaction's commit point and carried by a later one (the
  // background snapshot), so the SIGKILL and the rebalances restore from snapshots older than the committed offsets.
  fo.env.SNAP_PROCESSOR_SNAPSHOT_EVERY_MS = '500';

  it('failover and scaling: SIGKILL mid-stream, 1→2→1 instances; committed signals equal an uninterrupted run, no duplicate, no gap', async () => {
    await cli(['topics', 'apply'], fo.env);
    const signalsTopic = topicName(fo.cfg, SIGNALS_TOPIC);
    // The feed runs paced (×2 real time) while processors come and go.
    const feeds = UNDERLYINGS.map((u) =>
      start(['feed', 'sim', '--seed', String(SEEDS[u]), '--underlying', u, '--start', START, '--duration', DURATION, '--speed', '2'], fo.env),
    );
    const p1 = start(['processor'], fo.env);
    await until(async () => (await highOf(signalsTopic)) > 0, 'first committed signals', GROUP_WAIT_MS);
    p1.child.kill('SIGKILL');
    const k = await p1.done;
    expect(k.signal).toBe('SIGKILL');

    // Scale out: two instances share the partition groups (SPY's and IWM's groups go to different members).
    const p2 = start(['processor'], fo.env);
    const p3 = start(['processor'], fo.env);
    await until(() => (lastGroups(p2.out())?.length ?? 0) > 0 && (lastGroups(p3.out())?.length ?? 0) > 0 && lastGroups(p2.out())!.length + lastGroups(p3.out())!.length === 3, 'both instances own a group', GROUP_WAIT_MS);
    for (const f of feeds) {
      const r = await f.done;
      if (r.code !== 0) throw new Error(`feed sim exited ${r.code}: ${r.stderr.slice(-3000)}`);
    }
    // Scale back in: p3 leaves (graceful), p2 takes over its group.
    p3.child.kill('SIGTERM');
    expect((await p3.done).code).toBe(0);
    await until(() => lastGroups(p2.out())?.join(',') === '0,1,2', 'p2 owns every group again', GROUP_WAIT_MS);
    // Its /healthz and /metrics (port 0 → the port it logged).
    const port = Number(/"http_port":(\d+)/.exec(p2.out())![1]);
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ ok: true, joined: true, assigned_groups: [0, 1, 2] });
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(metrics).toMatch(/snap_processor_transactions_total\{result="committed"\} [1-9]/);
    expect(metrics).toMatch(/snap_processor_consumer_lag\{topic="[^"]+",partition="\d"\}/);
    expect(metrics).toMatch(/snap_processor_events_total\{topic="[^"]+"\} [1-9]/);
    expect(metrics).toMatch(/snap_processor_tick_seconds_count [1-9]/);
    expect(metrics).toMatch(/snap_processor_state_size_bytes\{group="\d"\} [1-9]/);
    expect(metrics).toMatch(/snap_processor_commit_stage_seconds_count\{stage="capture"\} [1-9]/);
    p2.child.kill('SIGTERM');
    expect((await p2.done).code).toBe(0);
    // Finish: everything left is processed, drained and committed.
    await cli(['processor', '--until-idle'], fo.env);

    const got = await committedSignals(signalsTopic);
    const reference = await embeddedRows();
    expectNoDuplicates(got);
    const report = compareRows(reference, got);
    expect(report.first_difference).toBeNull();
    expect(report.identical).toBe(true);
    const n = consoleConsumerCount(signalsTopic, got.length);
    expect(n).toBe(got.length);
    // The SIGKILLed instance and the rebalances did leave aborted or re-done work behind: restores happened.
    expect(p2.out() + p3.out()).toMatch(/"restored":true/);
  });

  it('a poison record is dead-lettered with its reason while its partition keeps flowing', async () => {
    const s = scenario('poison');
    await cli(['topics', 'apply'], s.env);
    const trades = topicName(s.cfg, 'stocks.trades.v1');
    const spyPartition = partitionForKey('SPY', 3);
    // First half of the session, then two poison records on SPY's trades partition, then the rest of the session.
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    await feedAll(s, []);
    const before = await admin.fetchTopicOffsets(trades);
    await producer.send({
      topic: trades,
      messages: [
        { key: 'SPY', value: Buffer.from('{"not":"avro"}'), partition: spyPartition },
        { key: 'SPY', value: Buffer.from([0, 0x7f, 0xff, 0xff, 0xf0, 1, 2, 3]), partition: spyPartition },
      ],
    });
    await producer.disconnect();
    const poisonOffset = BigInt(before.find((p) => p.partition === spyPartition)!.high);
    // More data after the poison: a later session segment of SPY.
    await cli(['feed', 'sim', '--seed', '99', '--underlying', 'SPY', '--start', '2025-12-22T15:01:00Z', '--duration', '10s'], s.env);
    await cli(['processor', '--until-idle'], s.env);

    const dl: DeadLetterRecord[] = [];
    const dlTopic = topicName(s.cfg, DEADLETTER_TOPIC);
    const ends = await admin.fetchTopicOffsets(dlTopic);
    await readRanges(kafka, admin, ends.map((e) => ({ topic: dlTopic, partition: e.partition, from: 0n })), {
      onMessage: async (_t, _p, m) => {
        const d = await codec.decode(m.value!);
        dl.push(d.value as DeadLetterRecord);
      },
    });
    const mine = dl.filter((d) => d.source === 'processor');
    expect(mine.map((d) => [d.source_topic, d.source_partition, d.source_offset])).toEqual([
      [trades, spyPartition, poisonOffset],
      [trades, spyPartition, poisonOffset + 1n],
    ]);
    expect(mine[0]!.reason).toMatch(/magic byte/);
    expect(mine[0]!.raw.toString()).toBe('{"not":"avro"}');
    expect(mine[1]!.reason).toMatch(/schema id/);
    // The partition kept flowing: signals exist for SPY ticks after the poison's position in the log.
    const rows = await committedSignals(topicName(s.cfg, SIGNALS_TOPIC));
    const lastSpy = rows.filter((r) => r.underlying === 'SPY').map((r) => r.ts_event_ns).sort((a, b) => (a < b ? -1 : 1)).pop()!;
    expect(lastSpy).toBeGreaterThan(BigInt(Date.parse('2025-12-22T15:01:05Z')) * 1_000_000n);
    expectNoDuplicates(rows);
  });
});
