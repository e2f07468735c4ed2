// The processor when its partition groups are rebuilt mid-fetch, against the real broker and schema registry.
// Another client keeps initializing the groups' transactional.ids (what a new owner or a zombie does): each time,
// the processor's next commit is fenced, the task is dropped and rebuilt from its last commit while batches of the
// same fetch — fetched from the consumer's position, far past the restored offsets — are still queued. Those batches
// must not be applied (they would skip the records in between); the committed signals must still equal an
// uninterrupted embedded run.
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Admin, Kafka } from 'kafkajs';
import type { SignalRow } from '@snap/core';
import { EnvelopeCodec, SIGNALS_TOPIC, createKafka, createLogger, createTransactionalProducer, loadConfig, recordToSignalRow, topicName, type SignalRecord } from '@snap/platform';
import { compareRows, readRanges, readSignalRowsJsonl } from '@snap/processor';
import { startCli, until, type CliProcess, type CliResult, deleteTopicsWithPrefix } from './support';

jest.setTimeout(600_000);

const tmp = mkdtempSync(join(tmpdir(), 'it-processor-rebuild-'));
const quiet = createLogger({ write: () => undefined });
const UNDERLYINGS = ['SPY', 'IWM'];
const SEEDS: Record<string, number> = { SPY: 21, IWM: 22 };
const START = '2025-12-22T15:00:00Z';
const DURATION = '40s';
const prefix = `t-rebuild-${randomBytes(4).toString('hex')}-`;
const env: Record<string, string> = {
  TOPIC_PREFIX: prefix,
  UNDERLYINGS: UNDERLYINGS.join(','),
  SNAP_KAFKA_PARTITIONS: '3',
  SNAP_KAFKA_GROUP_ID: `${prefix}processor`,
  SNAP_KAFKA_TRANSACTIONAL_ID_PREFIX: `${prefix}processor`,
  SNAP_PROCESSOR_SESSION_TIMEOUT_MS: '6000',
  SNAP_PROCESSOR_COMMIT_EVERY_TICKS: '8',
  SNAP_HTTP_PORT: '0',
  LOG_LEVEL: 'info',
};
const cfg = loadConfig({ env: { ...process.env, ...env } });

const running = new Set<CliProcess>();
function start(args: string[], e: Record<string, string> = env): CliProcess {
  const p = startCli(args, e);
  running.add(p);
  p.child.on('close', () => running.delete(p));
  return p;
}
async function cli(args: string[], e: Record<string, string> = env): Promise<CliResult> {
  const r = await start(args, e).done;
  if (r.code !== 0) throw new Error(`snap-engine ${args.join(' ')} exited ${r.code}:\n${r.stderr.slice(-3000)}`);
  return r;
}

let kafka: Kafka;
let admin: Admin;
let codec: EnvelopeCodec;

beforeAll(async () => {
  kafka = createKafka(loadConfig({ env: { ...process.env, LOG_LEVEL: 'error' } }), { logger: quiet });
  admin = kafka.admin();
  await admin.connect();
  codec = new EnvelopeCodec({ registryUrl: cfg.schema_registry.url });
});

afterAll(async () => {
  for (const p of running) p.child.kill('SIGKILL');
  await deleteTopicsWithPrefix(admin, prefix);
  await admin.disconnect();
});

async function committedSignals(topic: string): Promise<SignalRow[]> {
  const ends = await admin.fetchTopicOffsets(topic);
  const byPartition = new Map<number, SignalRow[]>();
  await readRanges(kafka, admin, ends.map((e) => ({ topic, partition: e.partition, from: 0n })), {
    readCommitted: true,
    onMessage: async (_t, p, m) => {
      const d = await codec.decode(m.value!);
      byPartition.set(p, [...(byPartition.get(p) ?? []), recordToSignalRow(d.value as SignalRecord)]);
    },
  });
  return [...byPartition.keys()].sort().flatMap((p) => byPartition.get(p)!);
}

it('groups fenced and rebuilt over and over while input flows: committed signals equal the embedded run, no gap', async () => {
  await cli(['topics', 'apply']);
  const feeds = UNDERLYINGS.map((u) => start(['feed', 'sim', '--seed', String(SEEDS[u]), '--underlying', u, '--start', START, '--duration', DURATION, '--speed', '2']));
  const proc = start(['processor']);
  await until(() => /"msg":"partition group ready"/.test(proc.out()), 'the processor owns its groups', 120_000);

  // Fence every group's transactional.id again and again until the feeds are done (InitProducerId bumps the epoch).
  let feedsDone = false;
  const fed = Promise.all(feeds.map((f) => f.done)).finally(() => (feedsDone = true));
  let fences = 0;
  while (!feedsDone) {
    for (let g = 0; g < 3; g++) {
      const producer = createTransactionalProducer(kafka, `${prefix}processor-p${g}`);
      await producer.connect();
      await (await producer.transaction()).abort();
      await producer.disconnect();
      fences++;
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  for (const f of await fed) if (f.code !== 0) throw new Error(`feed sim exited ${f.code}: ${f.stderr.slice(-3000)}`);
  proc.child.kill('SIGTERM');
  expect((await proc.done).code).toBe(0);
  await cli(['processor', '--until-idle']);
  // The path under test was taken: commits were fenced and groups rebuilt from their last commit.
  expect(fences).toBeGreaterThan(10);
  expect(proc.out()).toMatch(/partition group fenced by another instance/);
  expect(proc.out()).toMatch(/"restored":true/);

  const reference: SignalRow[] = [];
  for (const u of UNDERLYINGS) {
    const input = join(tmp, `${u}.events.jsonl`);
    const output = join(tmp, `${u}.signals.jsonl`);
    const e = { UNDERLYINGS: UNDERLYINGS.join(','), LOG_LEVEL: 'warn' };
    await cli(['feed', 'sim', '--seed', String(SEEDS[u]), '--underlying', u, '--start', START, '--duration', DURATION, '--out', input], e);
    await cli(['run', '--input', input, '--out', output], e);
    reference.push(...readSignalRowsJsonl(output));
  }
  expect(reference.length).toBeGreaterThan(500);
  const got = await committedSignals(topicName(cfg, SIGNALS_TOPIC));
  const report = compareRows(reference, got);
  expect(report.first_difference).toBeNull();
  expect(report.identical).toBe(true);
});
