// Fault: a zombie processor. Instance A is SIGSTOPped mid-stream with uncommitted work; B takes its partition group
// (after the session timeout), fences A's transactional.id and resumes from the last commit; then A is SIGCONTed and
// tries to carry on. A's stale transaction is fenced, it rejoins the group, and the committed signals equal the
// embedded run: nothing lost, nothing duplicated. recovery_s = SIGSTOP of A → B's first commit. Main stack's broker
// (nothing here stops it), this file's own TOPIC_PREFIX.
import { randomBytes } from 'node:crypto';
import { SIGNALS_TOPIC, loadConfig, topicName } from '@snap/platform';
import { compareRows } from '@snap/processor';
import { faultRow, until } from './support';
import { Procs, useTestClients, committedSignals, embeddedReference, lostAndDuplicated, type SimSpan } from './processor-support';

jest.setTimeout(900_000);

const prefix = `t-fault-pzombie-${randomBytes(4).toString('hex')}-`;
const env: Record<string, string> = {
  TOPIC_PREFIX: prefix,
  UNDERLYINGS: 'SPY',
  SNAP_KAFKA_PARTITIONS: '1',
  SNAP_PROCESSOR_SESSION_TIMEOUT_MS: '6000',
  SNAP_PROCESSOR_COMMIT_EVERY_TICKS: '4',
  SNAP_HTTP_PORT: '0',
  LOG_LEVEL: 'info',
};
const cfg = loadConfig({ env: { ...process.env, ...env } });
const procs = new Procs(() => env);
const SPANS: SimSpan[] = [
  { seed: 71, underlying: 'SPY', start: '2025-12-22T15:00:00Z', duration: '30s' },
  { seed: 72, underlying: 'SPY', start: '2025-12-22T15:00:35Z', duration: '60s' },
];
const metric = (text: string, re: RegExp): number => Number(re.exec(text)?.[1] ?? 0);

const clients = useTestClients(procs, [prefix]);

it('a SIGSTOPped processor resumed after a new instance took over: fenced, output identical', async () => {
  const { kafka, admin, codec } = clients();
  await procs.ok(['topics', 'apply']);
  const s0 = SPANS[0]!;
  await procs.ok(['feed', 'sim', '--seed', String(s0.seed), '--underlying', 'SPY', '--start', s0.start, '--duration', s0.duration]);
  const a = procs.start(['processor']);
  const portOf = (p: typeof a) => until(() => /"http_port":(\d+)/.exec(p.out())?.[1], 'a processor to listen', 120_000);
  const portA = await portOf(a);
  const committedOf = async (port: string) => metric(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text(), /snap_processor_transactions_total\{result="committed"\} (\d+)/);
  await until(async () => (await committedOf(portA)) >= 1, 'A to commit', 120_000, 250);

  // The second span flows paced; A freezes in the middle of it with fetched, uncommitted work.
  const s1 = SPANS[1]!;
  const feed = procs.start(['feed', 'sim', '--seed', String(s1.seed), '--underlying', 'SPY', '--start', s1.start, '--duration', s1.duration, '--speed', '4']);
  const committedBefore = await until(async () => {
    const c = await committedOf(portA);
    return c > 1 ? c : false;
  }, 'A to commit part of the second span', 120_000, 100);
  a.child.kill('SIGSTOP');
  const stoppedAt = Date.now();
  const b = procs.start(['processor']);
  const portB = await portOf(b);
  await until(async () => (await committedOf(portB)) >= 1, 'B to take over and commit', 180_000, 250);
  const recoveryS = (Date.now() - stoppedAt) / 1000;
  await new Promise((r) => setTimeout(r, 2000));
  a.child.kill('SIGCONT');
  expect((await feed.done).code).toBe(0);
  // Both stay up until the group settled; then both leave and a final run drains what is left.
  await until(() => (a.out().match(/"msg":"partition groups assigned"/g) ?? []).length >= 2 || /fenced/.test(a.out()), 'A to learn it was replaced', 180_000, 250);
  await new Promise((r) => setTimeout(r, 5000));
  a.child.kill('SIGTERM');
  b.child.kill('SIGTERM');
  await Promise.all([a.done, b.done]);
  await procs.ok(['processor', '--until-idle']);

  const reference = await embeddedReference(procs, SPANS, { UNDERLYINGS: 'SPY', LOG_LEVEL: 'warn' });
  expect(reference.length).toBeGreaterThan(1000);
  const got = await committedSignals(kafka, admin, codec, topicName(cfg, SIGNALS_TOPIC));
  const { lost, duplicated } = lostAndDuplicated(reference, got);
  faultRow({ fault: 'zombie processor (SIGSTOP, replaced, SIGCONT)', lost, duplicated, recovery_s: Math.round(recoveryS * 10) / 10, note: `A had committed ${committedBefore} transactions when stopped; recovery = SIGSTOP → B's first commit (session timeout 6 s)` });
  expect(compareRows(reference, got).first_difference).toBeNull();
  expect({ lost, duplicated }).toEqual({ lost: 0, duplicated: 0 });
});
