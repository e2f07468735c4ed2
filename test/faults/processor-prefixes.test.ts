// Fault: two environments on one cluster. TOPIC_PREFIX used to namespace topics only: two prefixes processed at the
// same time shared the consumer group `snap-processor` and the transactional ids `snap-processor-p<N>`, fenced each
// other, and one processor logged "nothing to do" and exited 0 with zero output. Now every group and transactional id
// is derived from the prefix (packages/platform kafka-ids.ts) unless set explicitly: both environments, processed
// concurrently with the DEFAULT kafka.group_id / transactional_id_prefix, produce complete output equal to their
// embedded runs. Main stack's broker.
import { randomBytes } from 'node:crypto';
import { SIGNALS_TOPIC, loadConfig, processorGroupId, topicName } from '@snap/platform';
import { compareRows } from '@snap/processor';
import { faultRow } from './support';
import { Procs, useTestClients, committedSignals, embeddedReference, lostAndDuplicated, type SimSpan } from './processor-support';

jest.setTimeout(900_000);

const run = randomBytes(4).toString('hex');
const ENVS = ['a', 'b'].map((x, i) => {
  const prefix = `t-fault-prefix-${run}-${x}-`;
  const env: Record<string, string> = { TOPIC_PREFIX: prefix, UNDERLYINGS: 'SPY', SNAP_KAFKA_PARTITIONS: '2', SNAP_HTTP_PORT: '0', LOG_LEVEL: 'info' };
  const span: SimSpan = { seed: 41 + i, underlying: 'SPY', start: '2025-12-22T15:00:00Z', duration: '30s' };
  return { prefix, env, span, cfg: loadConfig({ env: { ...process.env, ...env } }) };
});
const procs = new Procs(() => ({}));

const clients = useTestClients(procs, ENVS.map((e) => e.prefix), async ({ admin }) => {
  procs.killAll();
  await admin.deleteGroups(ENVS.map((e) => processorGroupId(e.cfg))).catch(() => undefined);
});

it('two TOPIC_PREFIXes processed at the same time on one cluster, default group ids: both complete and correct', async () => {
  const { kafka, admin, codec } = clients();
  // The default ids really are in force (nothing explicit in the environment) and differ per prefix.
  for (const e of ENVS) {
    expect(process.env.SNAP_KAFKA_GROUP_ID ?? e.env.SNAP_KAFKA_GROUP_ID).toBeUndefined();
    expect(processorGroupId(e.cfg)).toBe(`${e.prefix}snap-processor`);
  }
  for (const e of ENVS) {
    await procs.ok(['topics', 'apply'], e.env);
    await procs.ok(['feed', 'sim', '--seed', String(e.span.seed), '--underlying', 'SPY', '--start', e.span.start, '--duration', e.span.duration], e.env);
  }
  const t0 = Date.now();
  const results = await Promise.all(ENVS.map((e) => procs.start(['processor', '--until-idle'], e.env).done));
  const wallS = (Date.now() - t0) / 1000;
  for (const r of results) {
    expect(r.stderr).not.toMatch(/nothing to do|no partition group assigned/);
    expect(r.code).toBe(0);
  }
  let lostAll = 0;
  let dupAll = 0;
  for (const e of ENVS) {
    const reference = await embeddedReference(procs, [e.span], { UNDERLYINGS: 'SPY', LOG_LEVEL: 'warn' });
    expect(reference.length).toBeGreaterThan(300);
    const got = await committedSignals(kafka, admin, codec, topicName(e.cfg, SIGNALS_TOPIC));
    const { lost, duplicated } = lostAndDuplicated(reference, got);
    lostAll += lost;
    dupAll += duplicated;
    expect(compareRows(reference, got).first_difference).toBeNull();
  }
  faultRow({ fault: 'two TOPIC_PREFIXes processed concurrently on one cluster', lost: lostAll, duplicated: dupAll, recovery_s: null, wall_s: Math.round(wallS * 10) / 10 });
  expect({ lostAll, dupAll }).toEqual({ lostAll: 0, dupAll: 0 });
});
