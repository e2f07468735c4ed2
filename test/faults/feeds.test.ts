// Feeds under broker faults (issue 8), each scenario on its own isolated stack instance (support.ts): the broker
// stopped for 30 s mid-feed, the partition leader's broker SIGKILLed in a three-broker cluster, the feed itself
// SIGKILLed and resumed. Every scenario compares what Kafka holds, record by record and per partition, with a run of
// the same seed on the same instance WITHOUT the fault (reference prefix): nothing lost, nothing duplicated, same
// order. The first also runs the processor on the faulted log and compares its committed signals with the embedded
// run (`feed sim --out` → `run`). Each prints a `FAULT-ROW {json}` line (fault, lost, duplicated, recovery seconds).
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Admin, Kafka } from 'kafkajs';
import { DATA_INPUT_SCHEMAS, type SignalRow } from '@snap/core';
import { DEADLETTER_TOPIC, EnvelopeCodec, INPUT_TOPICS, SIGNALS_TOPIC, createKafka, createLogger, loadConfig, partitionForKey, recordToSignalRow, topicName, type SignalRecord } from '@snap/platform';
import { canonicalRow, compareRows, readRanges, readSignalRowsJsonl } from '@snap/processor';
import { faultRow, startCli, until, useFaultStack, type CliProcess, type CliResult, type FaultStack } from './support';

jest.setTimeout(900_000);

const quiet = createLogger({ write: () => undefined });
const tmp = mkdtempSync(join(tmpdir(), 'faults-feeds-'));
const PARTITIONS = '3';
const UNDERLYING = 'SPY';
const START = '2025-12-22T15:00:00Z';

const children = new Set<CliProcess>();
function start(args: string[], env: Record<string, string>): CliProcess {
  const p = startCli(args, env);
  children.add(p);
  void p.done.then(() => children.delete(p));
  return p;
}
async function cli(args: string[], env: Record<string, string>, codes = [0]): Promise<CliResult> {
  const r = await start(args, env).done;
  if (!codes.includes(r.code ?? -1)) throw new Error(`snap-engine ${args.join(' ')} exited ${r.code}:\n${r.stderr.slice(-4000)}`);
  return r;
}
afterAll(() => {
  for (const c of children) c.child.kill('SIGKILL');
});

/** Config env for one scenario on one stack instance: its own topic prefix (and group ids under it). */
function scenarioEnv(fs: FaultStack, what: string): Record<string, string> {
  const prefix = `f-feed-${randomBytes(3).toString('hex')}-${what}-`;
  return {
    ...fs.env,
    TOPIC_PREFIX: prefix,
    UNDERLYINGS: UNDERLYING,
    SNAP_KAFKA_PARTITIONS: PARTITIONS,
    SNAP_KAFKA_GROUP_ID: `${prefix}processor`,
    SNAP_KAFKA_TRANSACTIONAL_ID_PREFIX: `${prefix}processor`,
    SNAP_HTTP_PORT: '0',
    LOG_LEVEL: 'info',
  };
}

interface Clients {
  kafka: Kafka;
  admin: Admin;
  codec: EnvelopeCodec;
}
async function clients(env: Record<string, string>): Promise<Clients> {
  const cfg = loadConfig({ env: { ...process.env, ...env, LOG_LEVEL: 'error' } });
  const kafka = createKafka(cfg, { logger: quiet, extra: { retry: { retries: 30, maxRetryTime: 2000 } } });
  const admin = kafka.admin();
  await admin.connect();
  return { kafka, admin, codec: new EnvelopeCodec({ registryUrl: cfg.schema_registry.url }) };
}

/**
 * Every record of the scenario's input topics and dead-letter topic, per `topic:partition` in offset order, as an
 * identity string: a data record by schema and event_id, a heartbeat by its event time, a dead letter by event_id.
 */
async function inputLog(c: Clients, env: Record<string, string>): Promise<Map<string, string[]>> {
  const cfg = loadConfig({ env: { ...process.env, ...env } });
  const topics = [...INPUT_TOPICS.map((s) => topicName(cfg, s)), topicName(cfg, DEADLETTER_TOPIC)];
  const ranges = [];
  for (const t of topics) for (const o of await c.admin.fetchTopicOffsets(t)) ranges.push({ topic: t, partition: o.partition, from: 0n });
  const out = new Map<string, string[]>();
  await readRanges(c.kafka, c.admin, ranges, {
    readCommitted: true,
    onMessage: async (t, p, m) => {
      const d = await c.codec.decode(m.value!);
      const v = d.value as { event_id?: string; ts_event_ns: bigint; key: string };
      const id = d.schemaName === 'heartbeat.v1' ? `hb|${v.key}|${v.ts_event_ns}` : `${d.schemaName}|${v.event_id}`;
      const k = `${t.slice(cfg.kafka.topic_prefix.length)}:${p}`;
      const l = out.get(k) ?? [];
      l.push(id);
      out.set(k, l);
    },
  });
  return out;
}

/** Lost = reference records missing from `got`; duplicated = records of `got` beyond their first copy. */
function diffLogs(reference: Map<string, string[]>, got: Map<string, string[]>): { lost: number; duplicated: number; total: number } {
  let lost = 0;
  let duplicated = 0;
  let total = 0;
  for (const [tp, ref] of reference) {
    const g = got.get(tp) ?? [];
    total += ref.length;
    const have = new Map<string, number>();
    for (const id of g) have.set(id, (have.get(id) ?? 0) + 1);
    for (const id of ref) if (!have.has(id)) lost++;
    for (const n of have.values()) duplicated += n - 1;
  }
  for (const [tp, g] of got) if (!reference.has(tp)) duplicated += g.length;
  return { lost, duplicated, total };
}

/** Data records per schema in a `feed sim --out` file (the embedded input). */
function jsonlCounts(path: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (!line) continue;
    const s = (JSON.parse(line) as { schema: string }).schema;
    if (s !== 'heartbeat.v1') counts[s] = (counts[s] ?? 0) + 1;
  }
  return counts;
}
function kafkaDataCounts(log: Map<string, string[]>): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const [tp, ids] of log) {
    if (tp.startsWith(DEADLETTER_TOPIC)) continue;
    for (const id of ids) {
      const s = id.split('|')[0]!;
      if (s !== 'hb') counts[s] = (counts[s] ?? 0) + 1;
    }
  }
  return counts;
}

/** Seconds from `sinceMs` until the partition's end offset grows (the feed writing again); a measurement only. */
async function measureRecovery(c: Clients, topic: string, partition: number, sinceMs: number, before: bigint): Promise<number> {
  await until(
    async () => {
      try {
        const o = (await c.admin.fetchTopicOffsets(topic)).find((x) => x.partition === partition);
        return o !== undefined && BigInt(o.high) > before;
      } catch {
        return false;
      }
    },
    `${topic}:${partition} to grow again`,
    600_000,
    200,
  );
  return Math.round((Date.now() - sinceMs) / 100) / 10;
}
async function endOffset(c: Clients, topic: string, partition: number): Promise<bigint> {
  const o = (await c.admin.fetchTopicOffsets(topic)).find((x) => x.partition === partition);
  return BigInt(o?.high ?? '0');
}

/** Records the running feed has emitted so far, from its progress lines (stderr of the CLI: JSON lines off a TTY). */
function emittedSoFar(out: string): number {
  let n = 0;
  for (const line of out.split('\n')) {
    if (!line.startsWith('{"progress"') || !line.endsWith('}')) continue; // the last line may still be arriving
    const p = JSON.parse(line) as { records?: number; done?: number; unit?: string };
    n = p.records ?? (p.unit === 'records' ? (p.done ?? 0) : n);
  }
  return n;
}

describe('feed sim rides through a 30 s broker stop (single broker)', () => {
  const fs = useFaultStack({ services: ['kafka'] });

  it('exit 0, no record lost or duplicated, and the processor commits the embedded run’s signals', async () => {
    const SEED = '5';
    const DURATION = '300s';
    const env = scenarioEnv(fs(), 'stop');
    const refEnv = scenarioEnv(fs(), 'stopref');
    const c = await clients(env);
    try {
      const cfg = loadConfig({ env: { ...process.env, ...env } });
      const quotes = topicName(cfg, 'stocks.quotes.v1');
      const p = partitionForKey(UNDERLYING, Number(PARTITIONS));
      await cli(['topics', 'apply'], env);

      // ×5 real time: 300 s of event time take at least 60 s of wall time, so a stop after ~1000 records lands mid-feed.
      const feed = start(['feed', 'sim', '--seed', SEED, '--start', START, '--duration', DURATION, '--speed', '5'], env);
      await until(() => emittedSoFar(feed.out()) >= 1000, 'the feed to emit 1000 records', 300_000, 200);
      await fs().stop('kafka');
      await new Promise((r) => setTimeout(r, 30_000));
      const startedAt = Date.now();
      await fs().start('kafka');
      // Recovery: from starting the broker again to the feed's own "available again" line (its timestamp).
      const line = await until(() => feed.out().split('\n').find((l) => l.includes('kafka available again')), 'the feed to see the broker again', 600_000, 200);
      const recovery = Math.round((Date.parse((JSON.parse(line) as { time: string }).time) - startedAt) / 100) / 10;
      const r = await feed.done;
      expect(r.code).toBe(0);
      // The outage was seen and ridden through (logged once when it started and once on recovery, not per retry).
      expect(r.stderr).toMatch(/kafka unavailable; holding the feed/);
      expect(r.stderr).toMatch(/kafka available again/);
      expect(r.stderr.match(/kafka unavailable; holding the feed/g)!.length).toBeLessThanOrEqual(3);
      expect(r.stderr).not.toMatch(/"level":"error"/);

      // The same session without a fault, on the same instance: the reference log.
      await cli(['topics', 'apply'], refEnv);
      await cli(['feed', 'sim', '--seed', SEED, '--start', START, '--duration', DURATION], refEnv);
      const got = await inputLog(c, env);
      const ref = await inputLog(c, refEnv);
      const d = diffLogs(ref, got);
      expect(d.total).toBeGreaterThan(5000);
      expect(d).toEqual({ lost: 0, duplicated: 0, total: d.total });
      expect(got).toEqual(ref); // same records in the same order, partition by partition

      // Per topic vs the embedded input file (the run --out JSONL of the same session).
      const input = join(tmp, 'stop.events.jsonl');
      await cli(['feed', 'sim', '--seed', SEED, '--start', START, '--duration', DURATION, '--out', input], { ...env, LOG_LEVEL: 'warn' });
      expect(kafkaDataCounts(got)).toEqual(jsonlCounts(input));

      // The processor on the faulted log commits exactly the embedded run's signals.
      const pr = await cli(['processor', '--until-idle'], env);
      expect(pr.stderr).toMatch(/input exhausted, merge drained, everything committed/);
      const output = join(tmp, 'stop.signals.jsonl');
      await cli(['run', '--input', input, '--out', output], { ...env, LOG_LEVEL: 'warn' });
      const reference = readSignalRowsJsonl(output);
      const kafkaRows = await committedSignals(c, topicName(cfg, SIGNALS_TOPIC));
      expect(reference.length).toBeGreaterThan(500);
      const report = compareRows(reference, kafkaRows);
      expect(report.first_difference).toBeNull();
      expect(kafkaRows.map(canonicalRow).sort()).toEqual(reference.map(canonicalRow).sort());

      faultRow({ fault: 'broker stopped 30 s mid feed sim (single broker)', lost: d.lost, duplicated: d.duplicated, recovery_s: recovery, records: d.total, signals_equal_embedded: report.identical });
    } finally {
      await c.admin.disconnect();
    }
  });
});

async function committedSignals(c: Clients, topic: string): Promise<SignalRow[]> {
  const byPartition = new Map<number, SignalRow[]>();
  const ranges = (await c.admin.fetchTopicOffsets(topic)).map((o) => ({ topic, partition: o.partition, from: 0n }));
  await readRanges(c.kafka, c.admin, ranges, {
    readCommitted: true,
    onMessage: async (_t, p, m) => {
      const d = await c.codec.decode(m.value!);
      const l = byPartition.get(p) ?? [];
      l.push(recordToSignalRow(d.value as SignalRecord));
      byPartition.set(p, l);
    },
  });
  return [...byPartition.keys()].sort().flatMap((p) => byPartition.get(p)!);
}

describe('feed sim rides through a SIGKILL of the partition leader’s broker (three-broker cluster)', () => {
  const fs = useFaultStack({ services: ['kafka'], brokers: 3 });

  it('exit 0, nothing lost or duplicated', async () => {
    const SEED = '6';
    const DURATION = '300s';
    const env = scenarioEnv(fs(), 'leader');
    const refEnv = scenarioEnv(fs(), 'leaderref');
    expect(env.SNAP_KAFKA_REPLICATION_FACTOR).toBe('3');
    const c = await clients(env);
    try {
      const cfg = loadConfig({ env: { ...process.env, ...env } });
      const quotes = topicName(cfg, 'stocks.quotes.v1');
      const p = partitionForKey(UNDERLYING, Number(PARTITIONS));
      await cli(['topics', 'apply'], env);
      const feed = start(['feed', 'sim', '--seed', SEED, '--start', START, '--duration', DURATION, '--speed', '5'], env);
      await until(() => emittedSoFar(feed.out()) >= 1000, 'the feed to emit 1000 records', 300_000, 200);
      const meta = await c.admin.fetchTopicMetadata({ topics: [quotes] });
      const leader = meta.topics[0]!.partitions.find((x) => x.partitionId === p)!.leader;
      expect(leader).toBeGreaterThanOrEqual(1);
      const before = await endOffset(c, quotes, p);
      const killedAt = Date.now();
      await fs().kill(`kafka-${leader}`);
      const recovery = await measureRecovery(c, quotes, p, killedAt, before);
      const r = await feed.done;
      expect(r.code).toBe(0);
      expect(r.stderr).not.toMatch(/"level":"error"/);
      const newLeader = (await c.admin.fetchTopicMetadata({ topics: [quotes] })).topics[0]!.partitions.find((x) => x.partitionId === p)!.leader;
      expect(newLeader).not.toBe(leader);

      await cli(['topics', 'apply'], refEnv);
      await cli(['feed', 'sim', '--seed', SEED, '--start', START, '--duration', DURATION], refEnv);
      const got = await inputLog(c, env);
      const ref = await inputLog(c, refEnv);
      const d = diffLogs(ref, got);
      expect(d.total).toBeGreaterThan(5000);
      expect(d).toEqual({ lost: 0, duplicated: 0, total: d.total });
      expect(got).toEqual(ref);

      const input = join(tmp, 'leader.events.jsonl');
      await cli(['feed', 'sim', '--seed', SEED, '--start', START, '--duration', DURATION, '--out', input], { ...env, LOG_LEVEL: 'warn' });
      expect(kafkaDataCounts(got)).toEqual(jsonlCounts(input));
      faultRow({ fault: 'partition leader broker SIGKILLed mid feed sim (3 brokers, RF 3, min.insync 2)', lost: d.lost, duplicated: d.duplicated, recovery_s: recovery, records: d.total });
    } finally {
      await c.admin.disconnect();
    }
  });
});

describe('feed sim SIGKILLed mid-run and restarted with --resume (single broker)', () => {
  const fs = useFaultStack({ services: ['kafka'] });

  it('the resumed run finishes with exit 0; together the two runs wrote every record exactly once, in order', async () => {
    const SEED = '7';
    const DURATION = '300s';
    const env = scenarioEnv(fs(), 'kill');
    const refEnv = scenarioEnv(fs(), 'killref');
    const c = await clients(env);
    try {
      const cfg = loadConfig({ env: { ...process.env, ...env } });
      const quotes = topicName(cfg, 'stocks.quotes.v1');
      const p = partitionForKey(UNDERLYING, Number(PARTITIONS));
      await cli(['topics', 'apply'], env);
      const resume = join(tmp, 'kill.resume.json');
      const args = ['feed', 'sim', '--seed', SEED, '--start', START, '--duration', DURATION, '--resume', resume];
      const feed = start([...args, '--speed', '5'], env);
      // Killed between two checkpoints (one per second): some records are past the last saved position.
      await until(() => existsSync(resume) && emittedSoFar(feed.out()) >= 2000, 'the feed to emit 2000 records with a resume point', 300_000, 100);
      await new Promise((r) => setTimeout(r, 450));
      feed.child.kill('SIGKILL');
      const killed = await feed.done;
      expect(killed.signal).toBe('SIGKILL');
      const killedAt = Date.now();
      const before = await endOffset(c, quotes, p);
      const saved = JSON.parse(readFileSync(resume, 'utf8')) as { files: Record<string, { index: number; done: boolean }> };
      const pos = Object.values(saved.files)[0]!;
      expect(pos.done).toBe(false);
      expect(pos.index).toBeGreaterThan(0);

      const resumed = start([...args, '--speed', 'max'], env);
      const recovery = await measureRecovery(c, quotes, p, killedAt, before);
      const r = await resumed.done;
      expect(r.code).toBe(0);
      expect(r.stderr).toMatch(/resuming/);
      const summary = JSON.parse(r.stderr.split('\n').find((l) => l.includes('"feed finished"'))!) as { skipped_existing: number };
      const final = JSON.parse(readFileSync(resume, 'utf8')) as { files: Record<string, { done: boolean }> };
      expect(Object.values(final.files)[0]!.done).toBe(true);
      // A third run with the same resume point has nothing to do.
      const again = await cli(args, env);
      expect(again.stderr).toMatch(/produced completely; nothing to do/);

      await cli(['topics', 'apply'], refEnv);
      await cli(['feed', 'sim', '--seed', SEED, '--start', START, '--duration', DURATION], refEnv);
      const got = await inputLog(c, env);
      const ref = await inputLog(c, refEnv);
      const d = diffLogs(ref, got);
      expect(d.total).toBeGreaterThan(5000);
      expect(d).toEqual({ lost: 0, duplicated: 0, total: d.total });
      expect(got).toEqual(ref);
      const input = join(tmp, 'kill.events.jsonl');
      await cli(['feed', 'sim', '--seed', SEED, '--start', START, '--duration', DURATION, '--out', input], { ...env, LOG_LEVEL: 'warn' });
      expect(kafkaDataCounts(got)).toEqual(jsonlCounts(input));
      faultRow({ fault: 'feed sim SIGKILLed mid-run, restarted with --resume', lost: d.lost, duplicated: d.duplicated, recovery_s: recovery, records: d.total, resumed_at_index: pos.index, skipped_already_written: summary.skipped_existing });
    } finally {
      await c.admin.disconnect();
    }
  });
});

describe('feed dbn SIGKILLed mid-replay and restarted with --resume (single broker)', () => {
  const fs = useFaultStack({ services: ['kafka'] });

  it('the resumed replay finishes with exit 0; every record exactly once, in order', async () => {
    const env = scenarioEnv(fs(), 'dbnkill');
    const refEnv = scenarioEnv(fs(), 'dbnkillref');
    const c = await clients(env);
    try {
      const dir = join(tmp, 'dbn');
      await cli(['dbn', 'simulate', '--seed', '3', '--duration', '5m', '--out', dir], { LOG_LEVEL: 'warn' });
      const files = [join(dir, 'glbx-mdp3-20260115.mbp-10.dbn.zst'), join(dir, 'glbx-mdp3-20260115.trades.dbn.zst')];
      const cfg = loadConfig({ env: { ...process.env, ...env } });
      const mbp = topicName(cfg, 'futures.mbp10.v1');
      const p = partitionForKey(UNDERLYING, Number(PARTITIONS));
      await cli(['topics', 'apply'], env);
      const resume = join(tmp, 'dbnkill.resume.json');
      const args = ['feed', 'dbn', ...files, '--underlying', UNDERLYING, '--resume', resume];
      const feed = start([...args, '--speed', '5'], env);
      // Past the first checkpoint (every 5000 records) and between two: the kill leaves records after the last save.
      await until(() => emittedSoFar(feed.out()) >= 6000, 'the replay to emit 6000 records', 300_000, 100);
      feed.child.kill('SIGKILL');
      expect((await feed.done).signal).toBe('SIGKILL');
      const killedAt = Date.now();
      const before = await endOffset(c, mbp, p);
      const resumed = start([...args, '--speed', 'max'], env);
      const recovery = await measureRecovery(c, mbp, p, killedAt, before);
      const r = await resumed.done;
      expect(r.code).toBe(0);
      const summary = JSON.parse(r.stderr.split('\n').find((l) => l.includes('"feed finished"'))!) as { files: { skipped: number }[] };
      expect(summary.files.reduce((a, f) => a + f.skipped, 0)).toBeGreaterThan(0);

      await cli(['topics', 'apply'], refEnv);
      await cli(['feed', 'dbn', ...files, '--underlying', UNDERLYING], refEnv);
      const got = await inputLog(c, env);
      const ref = await inputLog(c, refEnv);
      const d = diffLogs(ref, got);
      expect(d.total).toBeGreaterThan(9000);
      expect(d).toEqual({ lost: 0, duplicated: 0, total: d.total });
      expect(got).toEqual(ref);
      faultRow({ fault: 'feed dbn SIGKILLed mid-replay, restarted with --resume', lost: d.lost, duplicated: d.duplicated, recovery_s: recovery, records: d.total });
    } finally {
      await c.admin.disconnect();
    }
  });
});

// The data schemas the comparisons cover (a guard against a renamed stream silently dropping out of inputLog).
test('the input topics cover every data schema', () => {
  for (const s of DATA_INPUT_SCHEMAS) expect(INPUT_TOPICS).toContain(s);
});
