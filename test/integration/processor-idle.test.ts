// A processor that gets no partition group while its input topics have data must say so and must not report success.
// Before issue 8 the second instance of a group (or one of two environments sharing a group id) logged "nothing to
// do" and exited 0 with zero output — and any processor failure exited 0 as well (wait() resolved before it rejected).
import { randomBytes } from 'node:crypto';
import { until, deleteTopicsWithPrefix } from './support';
import { Procs } from '../faults/processor-support';

jest.setTimeout(300_000);

const prefix = `t-proc-idle-${randomBytes(4).toString('hex')}-`;
const env: Record<string, string> = { TOPIC_PREFIX: prefix, UNDERLYINGS: 'SPY', SNAP_KAFKA_PARTITIONS: '1', SNAP_HTTP_PORT: '0', LOG_LEVEL: 'info' };
const procs = new Procs(() => env);

afterAll(async () => {
  procs.killAll();
  const { createKafka, createLogger, loadConfig } = await import('@snap/platform');
  const admin = createKafka(loadConfig({ env: { ...process.env, LOG_LEVEL: 'error' } }), { logger: createLogger({ write: () => undefined }) }).admin();
  await admin.connect();
  await deleteTopicsWithPrefix(admin, prefix);
  await admin.disconnect();
});

it('--until-idle with no partition group while the topics have data: warns naming the group and topics, exits non-zero', async () => {
  await procs.ok(['topics', 'apply']);
  await procs.ok(['feed', 'sim', '--seed', '4', '--duration', '10s']);
  const owner = procs.start(['processor']);
  await until(() => /"msg":"partition group ready"/.test(owner.out()), 'the first instance to own the only group', 120_000);
  const second = await procs.start(['processor', '--until-idle']).done;
  expect(second.code).not.toBe(0);
  expect(second.stderr).toMatch(new RegExp(`"msg":"no partition group assigned while the input topics have data[^\\n]*"group_id":"${prefix}snap-processor"[^\\n]*"topics":\\["${prefix}stocks.quotes.v1"`));
  expect(second.stderr).toMatch(/no partition group assigned to this instance of consumer group/);
  owner.child.kill('SIGTERM');
  expect((await owner.done).code).toBe(0);
});
