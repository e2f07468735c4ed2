// The processor's counters across a rebuilt partition group, against the real broker. Before issue 8 a rebuilt task
// restarted its released-event count at 0 while the metric kept the old task's: the next commit called
// `released.inc()` with a negative value, which throws — after the transaction had committed. The group was dropped
// and rebuilt on every commit, committed transactions were counted as aborted and the row counter froze. Here one
// fence (what a new owner or a zombie does) forces one rebuild mid-stream; afterwards every commit must succeed, the
// counters must keep counting, and the committed signals must equal the embedded run.
import { randomBytes } from 'node:crypto';
import { SIGNALS_TOPIC, createTransactionalProducer, loadConfig, processorTransactionalId, topicName } from '@snap/platform';
import { compareRows } from '@snap/processor';
import { until } from './support';
import { Procs, useTestClients, committedSignals, embeddedReference, type SimSpan } from '../faults/processor-support';

jest.setTimeout(600_000);

const prefix = `t-proc-metrics-${randomBytes(4).toString('hex')}-`;
const env: Record<string, string> = { TOPIC_PREFIX: prefix, UNDERLYINGS: 'SPY', SNAP_KAFKA_PARTITIONS: '1', SNAP_PROCESSOR_COMMIT_EVERY_TICKS: '4', SNAP_HTTP_PORT: '0', LOG_LEVEL: 'info' };
const cfg = loadConfig({ env: { ...process.env, ...env } });
const procs = new Procs(() => env);
const SPAN: SimSpan = { seed: 51, underlying: 'SPY', start: '2025-12-22T15:00:00Z', duration: '40s' };

const clients = useTestClients(procs, [prefix]);

const metric = (text: string, re: RegExp): number => Number(re.exec(text)?.[1] ?? NaN);

it('after a rebuild, commits keep succeeding and the counters keep counting (no negative increment)', async () => {
  const { kafka, admin, codec } = clients();
  await procs.ok(['topics', 'apply']);
  const feed = procs.start(['feed', 'sim', '--seed', String(SPAN.seed), '--underlying', 'SPY', '--start', SPAN.start, '--duration', SPAN.duration, '--speed', '2']);
  const proc = procs.start(['processor']);
  const port = await until(() => /"http_port":(\d+)/.exec(proc.out())?.[1], 'the processor to listen');
  const scrape = async () => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  await until(async () => metric(await scrape(), /snap_processor_transactions_total\{result="committed"\} (\d+)/) >= 2, 'two commits before the fence', 120_000);

  // Fence the group's transactional.id once: the processor's next commit fails, the group is rebuilt from its last commit.
  const fencer = createTransactionalProducer(kafka, processorTransactionalId(cfg, 0));
  await fencer.connect();
  await (await fencer.transaction()).abort();
  await fencer.disconnect();
  await until(() => /"restored":true/.test(proc.out()), 'the group rebuilt from its snapshot', 120_000);
  const atRebuild = await scrape();
  const committedAtRebuild = metric(atRebuild, /snap_processor_transactions_total\{result="committed"\} (\d+)/);
  const rowsAtRebuild = metric(atRebuild, /snap_processor_signal_rows_total (\d+)/);

  expect((await feed.done).code).toBe(0);
  // Let the processor catch up with the whole feed: lag 0 and nothing buffered beyond the open tick.
  const inputTotal = async () => {
    let n = 0;
    for (const t of ['stocks.quotes.v1', 'stocks.trades.v1', 'options.trades.v1', 'options.greeks_snapshots.v1']) {
      for (const o of await admin.fetchTopicOffsets(topicName(cfg, t))) n += Number(o.high);
    }
    return n;
  };
  const total = await inputTotal();
  await until(async () => metric(await scrape(), /snap_processor_events_released_total (\d+)/) >= total - 8, 'released events to reach the input size', 180_000, 500);
  const after = await scrape();
  proc.child.kill('SIGTERM');
  expect((await proc.done).code).toBe(0);
  await procs.ok(['processor', '--until-idle']);

  // Commits after the rebuild succeeded and were counted as such. The one fence may surface as one or two failed
  // transactions (an in-flight EndTxn answered with an unexpected error, then the old epoch), never as one per commit.
  const failures = (proc.out().match(/"msg":"(transaction failed|partition group fenced)/g) ?? []).length;
  expect(failures).toBeGreaterThanOrEqual(1);
  expect(failures).toBeLessThanOrEqual(3);
  expect(metric(after, /snap_processor_transactions_total\{result="aborted"\} (\d+)/) || 0).toBeLessThanOrEqual(3);
  expect(metric(after, /snap_processor_transactions_total\{result="committed"\} (\d+)/)).toBeGreaterThan(committedAtRebuild);
  expect(metric(after, /snap_processor_signal_rows_total (\d+)/)).toBeGreaterThan(rowsAtRebuild);
  expect(metric(after, /snap_processor_restores_total\{from="snapshot"\} (\d+)/)).toBeGreaterThanOrEqual(1);
  // The latency breakdown: every committed transaction timed its stages, and the ones with rows their tick delay.
  const commits = metric(after, /snap_processor_commit_stage_seconds_count\{stage="commit"\} (\d+)/);
  expect(commits).toBeGreaterThanOrEqual(metric(after, /snap_processor_transactions_total\{result="committed"\} (\d+)/));
  expect(metric(after, /snap_processor_commit_stage_seconds_count\{stage="snapshot"\} (\d+)/)).toBeGreaterThanOrEqual(1);
  expect(metric(after, /snap_processor_tick_delay_seconds_count\{at="committed"\} (\d+)/)).toBeGreaterThanOrEqual(1);
  expect(metric(after, /snap_processor_tick_delay_seconds_count\{at="released"\} (\d+)/)).toBeGreaterThanOrEqual(1);

  const reference = await embeddedReference(procs, [SPAN], { UNDERLYINGS: 'SPY', LOG_LEVEL: 'warn' });
  const got = await committedSignals(kafka, admin, codec, topicName(cfg, SIGNALS_TOPIC));
  expect(compareRows(reference, got).first_difference).toBeNull();
});
