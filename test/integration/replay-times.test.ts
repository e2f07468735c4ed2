// `snap-engine replay` time handling on a real log (issue 8): a time without a zone is refused (exit 2) instead of
// being read in the machine's zone; `--tz` reads it in the named zone; and the `--dry-run` plan's emit_from offsets
// are EVENT-time positions — per input partition, the first record whose ts_event_ns is at or after the start —
// checked here against the records themselves. Topics use LogAppendTime, so offsets-for-times (what the plan used
// before) would name the records' arrival, which for a simulated session far in the past is "all at the end".
import { randomBytes } from 'node:crypto';
import type { Config } from '@snap/core';
import { processorInputs } from '@snap/core';
import { EnvelopeCodec, createKafka, createLogger, loadConfig, topicName } from '@snap/platform';
import { readRanges } from '@snap/processor';
import type { Admin, Kafka } from 'kafkajs';
import { runCli } from './support';

jest.setTimeout(300_000);

const run = randomBytes(4).toString('hex');
const PREFIX = `t-replaytimes-${run}-`;
const env: Record<string, string> = { TOPIC_PREFIX: PREFIX, SNAP_KAFKA_PARTITIONS: '2', LOG_LEVEL: 'warn' };
const cfg: Config = loadConfig({ env: { ...process.env, ...env } });
let kafka: Kafka;
let admin: Admin;

/** Per input topic and partition: every (offset, ts_event_ns) in offset order. */
const log = new Map<string, { offset: bigint; ts: bigint }[]>();

beforeAll(async () => {
  for (const args of [['topics', 'apply'], ['feed', 'sim', '--seed', '3', '--duration', '20s', '--underlying', 'SPY']]) {
    const r = await runCli(args, env);
    if (r.code !== 0) throw new Error(`snap-engine ${args.join(' ')} exited ${r.code}:\n${r.stderr.slice(-3000)}`);
  }
  kafka = createKafka(cfg, { logger: createLogger({ write: () => undefined }), clientId: `it-replaytimes-${run}` });
  admin = kafka.admin();
  await admin.connect();
  const codec = new EnvelopeCodec({ registryUrl: cfg.schema_registry.url });
  for (const s of processorInputs(cfg)) {
    const topic = topicName(cfg, s);
    await readRanges(kafka, admin, [0, 1].map((partition) => ({ topic, partition, from: 0n })), {
      onMessage: async (t, p, m) => {
        const k = `${t}:${p}`;
        const l = log.get(k) ?? [];
        try {
          l.push({ offset: BigInt(m.offset), ts: (await codec.decodeEvent(m.value!)).ts_event_ns });
        } catch {
          return; // heartbeats and other non-events carry no event time to start at
        }
        log.set(k, l);
      },
    });
  }
});

afterAll(async () => {
  if (admin) {
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(PREFIX));
    await admin.deleteTopics({ topics }).catch(() => undefined);
    await admin.disconnect();
  }
});

interface Plan {
  emit_from_ns: string;
  groups: { group: number; topics: { topic: string; emit_from: string | null; end: string }[] }[];
}

async function dryRun(args: string[]): Promise<Plan> {
  const r = await runCli(['replay', ...args, '--to-topic', `${PREFIX}scratch`, '--dry-run', '--json'], env);
  if (r.code !== 0) throw new Error(`replay exited ${r.code}:\n${r.stderr.slice(-3000)}`);
  return (JSON.parse(r.stdout) as { plan: Plan }).plan;
}

const iso = (ns: bigint) => new Date(Number(ns / 1_000_000n)).toISOString();

describe('replay times', () => {
  let midNs: bigint;

  beforeAll(() => {
    const all = [...log.values()].flat().map((x) => x.ts).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    expect(all.length).toBeGreaterThan(100);
    // A whole second in the middle of the session, so ISO (ms) and ns spellings name the same instant.
    midNs = (all[Math.floor(all.length / 2)]! / 1_000_000_000n) * 1_000_000_000n;
  });

  it('refuses a --from-time without a zone (exit 2, naming the option and --tz)', async () => {
    const r = await runCli(['replay', '--from-time', iso(midNs).replace('Z', ''), '--to-topic', `${PREFIX}scratch`, '--dry-run'], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--from-time');
    expect(r.stderr).toContain('--tz');
  });

  it('--dry-run shows event-time positions: per partition, the first record with ts_event_ns ≥ the start', async () => {
    const plan = await dryRun(['--from-time', iso(midNs)]);
    expect(plan.emit_from_ns).toBe(midNs.toString());
    let checked = 0;
    let inside = 0;
    for (const g of plan.groups) {
      for (const t of g.topics) {
        const records = log.get(`${t.topic}:${g.group}`) ?? [];
        const first = records.find((x) => x.ts >= midNs);
        expect(t.emit_from).toBe((first?.offset ?? BigInt(t.end)).toString());
        checked++;
        if (first && first.offset > records[0]!.offset) inside++;
      }
    }
    expect(checked).toBeGreaterThan(0);
    // The start falls inside the session on at least one partition (not at its first or after its last record).
    expect(inside).toBeGreaterThan(0);
  });

  it('the same instant as ns, as an offset from UTC, and as a zone-less time with --tz gives the same plan', async () => {
    const base = await dryRun(['--from-time', iso(midNs)]);
    const asNs = await dryRun(['--from-time', midNs.toString()]);
    // New York in the session's season (the simulator's dates): compute the wall time there independently.
    const ny = new Intl.DateTimeFormat('sv-SE', { timeZone: 'America/New_York', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' })
      .format(new Date(Number(midNs / 1_000_000n)))
      .replace(' ', 'T');
    const withTz = await dryRun(['--from-time', ny, '--tz', 'America/New_York']);
    const offsetMin = Math.round((Date.parse(`${ny}Z`) - Number(midNs / 1_000_000n)) / 60_000);
    const sign = offsetMin < 0 ? '-' : '+';
    const hhmm = `${String(Math.floor(Math.abs(offsetMin) / 60)).padStart(2, '0')}:${String(Math.abs(offsetMin) % 60).padStart(2, '0')}`;
    const withOffset = await dryRun(['--from-time', `${ny}${sign}${hhmm}`]);
    for (const p of [asNs, withTz, withOffset]) expect(p).toEqual(base);
  });
});
