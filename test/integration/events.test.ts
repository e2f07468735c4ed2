// levels.events.v1 on the real broker and schema registry: `topics apply` creates it, the processor writes the
// engine's discrete BREAK/REJECT events into it in the same transactions as the signals, exactly once, keyed by the
// underlying, and they are the embedded run's payload events byte for byte. A session long enough to carry events
// (the 40 s sessions of processor.test.ts may have none).
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Admin, Kafka } from 'kafkajs';
import type { LevelEvent } from '@snap/core';
import { EVENTS_TOPIC, EnvelopeCodec, SIGNALS_TOPIC, createKafka, createLogger, loadConfig, readFrame, recordToLevelEvent, registryOptions, topicName, type LevelEventRecord } from '@snap/platform';
import { canonicalEvent, compareEvents, readEventsJsonl, readRanges } from '@snap/processor';
import { runCli, type CliResult, deleteTopicsWithPrefix } from './support';

jest.setTimeout(600_000);

const prefix = `t-events-${randomBytes(4).toString('hex')}-`;
const env: Record<string, string> = {
  TOPIC_PREFIX: prefix,
  UNDERLYINGS: 'SPY',
  SNAP_KAFKA_PARTITIONS: '2',
  SNAP_KAFKA_GROUP_ID: `${prefix}processor`,
  SNAP_KAFKA_TRANSACTIONAL_ID_PREFIX: `${prefix}processor`,
  SNAP_PROCESSOR_COMMIT_EVERY_TICKS: '8',
  SNAP_HTTP_PORT: '0',
  LOG_LEVEL: 'info',
};
const cfg = loadConfig({ env: { ...process.env, ...env } });
// The default world over 5 minutes: the engine calls BREAKs and REJECTs in it (seed 1).
const SIM = ['--seed', '1', '--underlying', 'SPY', '--duration', '5m'];
const tmp = mkdtempSync(join(tmpdir(), 'it-events-'));

let kafka: Kafka;
let admin: Admin;
let codec: EnvelopeCodec;

async function cli(args: string[], e: Record<string, string> = env): Promise<CliResult> {
  const r = await runCli(args, e);
  if (r.code !== 0) throw new Error(`snap-engine ${args.join(' ')} exited ${r.code}:\n${r.stderr.slice(-3000)}`);
  return r;
}

beforeAll(async () => {
  kafka = createKafka(cfg, { logger: createLogger({ write: () => undefined }), clientId: `${prefix}test` });
  admin = kafka.admin();
  await admin.connect();
  codec = new EnvelopeCodec(registryOptions(cfg));
});

afterAll(async () => {
  await deleteTopicsWithPrefix(admin, prefix);
  await admin.disconnect();
});

/** Committed events (read_committed), per partition in offset order, with their record keys. */
async function committedEvents(topic: string): Promise<{ events: LevelEvent[]; keys: string[]; schemaIds: Set<number> }> {
  const ends = await admin.fetchTopicOffsets(topic);
  const events: LevelEvent[] = [];
  const keys: string[] = [];
  const schemaIds = new Set<number>();
  await readRanges(
    kafka,
    admin,
    ends.map((e) => ({ topic, partition: e.partition, from: 0n })),
    {
      readCommitted: true,
      onMessage: async (_t, _p, m) => {
        const d = await codec.decode(m.value!);
        expect(d.schemaName).toBe('levels.events.v1');
        events.push(recordToLevelEvent(d.value as LevelEventRecord));
        keys.push(m.key?.toString() ?? '');
        schemaIds.add(readFrame(m.value!).schemaId);
      },
    },
  );
  return { events, keys, schemaIds };
}

it('topics apply creates levels.events.v1; the processor writes the embedded run’s events into it exactly once', async () => {
  await cli(['topics', 'apply']);
  const eventsTopic = topicName(cfg, EVENTS_TOPIC);
  const meta = await admin.fetchTopicMetadata({ topics: [eventsTopic, topicName(cfg, SIGNALS_TOPIC)] });
  expect(meta.topics.map((t) => t.partitions.length)).toEqual([2, 2]);

  // Reference: the embedded run over the same session.
  const input = join(tmp, 'session.jsonl');
  const output = join(tmp, 'payloads.jsonl');
  await cli(['feed', 'sim', ...SIM, '--out', input], { UNDERLYINGS: 'SPY', LOG_LEVEL: 'warn' });
  await cli(['run', '--input', input, '--out', output], { UNDERLYINGS: 'SPY', LOG_LEVEL: 'warn' });
  const reference = readEventsJsonl(output);
  expect(reference.length).toBeGreaterThan(0);

  await cli(['feed', 'sim', ...SIM]);
  const r = await cli(['processor', '--until-idle']);
  expect(r.stderr).toMatch(/input exhausted, merge drained, everything committed/);

  const got = await committedEvents(eventsTopic);
  const report = compareEvents(reference, got.events);
  expect(report.first_difference).toBeNull();
  expect(report.identical).toBe(true);
  expect(got.keys.every((k) => k === 'SPY')).toBe(true);
  expect(new Set(got.events.map((e) => e.event_id)).size).toBe(got.events.length);

  // The records carry the id the registry holds for the topic's subject (TopicRecordNameStrategy), like every topic's.
  expect([...got.schemaIds]).toEqual([await codec.register(eventsTopic, 'levels.events.v1')]);

  // A second run finds everything committed and writes nothing again.
  await cli(['processor', '--until-idle']);
  const again = await committedEvents(eventsTopic);
  expect(again.events.map(canonicalEvent)).toEqual(got.events.map(canonicalEvent));
});
