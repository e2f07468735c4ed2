// The snapshot-only transaction (issue 15): live, a due snapshot is captured at a commit point and encoded in the
// background; the next transaction carries it. When the input goes quiet no transaction comes, so after a second the
// processor commits one of just that snapshot (no rows, no offsets). This checks that it happens, that the changelog
// then holds a state no newer than the committed offsets, and that an instance killed after it and restarted on more
// input restores from that snapshot and commits exactly the embedded run's signals: nothing lost, nothing duplicated.
// When the transaction that carried the previous background snapshot skipped its own due capture, the last state before
// the input went quiet was never written: this test then timed out in one of two runs.
import { randomBytes } from 'node:crypto';
import { CHANGELOG_TOPIC, SIGNALS_TOPIC, loadConfig, processorGroupId, topicName } from '@snap/platform';
import { compareRows, decodeSnapshot, readLatestByKey } from '@snap/processor';
import { until } from './support';
import { Procs, committedSignals, embeddedReference, lostAndDuplicated, useTestClients, type SimSpan } from '../faults/processor-support';

jest.setTimeout(600_000);

const prefix = `t-proc-snaponly-${randomBytes(4).toString('hex')}-`;
// Before the processor starts (its first transaction, which always writes a snapshot of its own), while it runs (the
// commits after it capture theirs in the background), and after it was killed (the restart's input).
const SPANS: SimSpan[] = [
  { seed: 71, underlying: 'SPY', start: '2025-12-22T15:00:00Z', duration: '30s' },
  { seed: 72, underlying: 'SPY', start: '2025-12-22T15:00:35Z', duration: '30s' },
  { seed: 73, underlying: 'SPY', start: '2025-12-22T15:01:10Z', duration: '30s' },
];
// snapshot_every_ms 1: every live commit after the first captures a snapshot in the background (0 would put one in
// every transaction, and no snapshot-only transaction would ever be needed).
const env: Record<string, string> = { TOPIC_PREFIX: prefix, UNDERLYINGS: 'SPY', SNAP_KAFKA_PARTITIONS: '1', SNAP_PROCESSOR_SNAPSHOT_EVERY_MS: '1', SNAP_HTTP_PORT: '0', LOG_LEVEL: 'info' };
const procs = new Procs(() => env);

/** The processor's JSON log lines with the given message. */
const logLines = (out: string, msg: string): Record<string, unknown>[] =>
  out
    .split('\n')
    .filter((l) => l.includes(`"msg":"${msg}"`))
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('processor: the snapshot-only transaction of a quiet input', () => {
  const clients = useTestClients(procs, [prefix]);

  it('commits the background snapshot once the input is quiet; a restart from it continues byte-identically', async () => {
    const { kafka, admin, codec } = clients();
    const cfg = loadConfig({ env: { ...process.env, ...env } });
    await procs.ok(['topics', 'apply']);
    const feed = (s: SimSpan) => procs.ok(['feed', 'sim', '--seed', String(s.seed), '--underlying', s.underlying, '--start', s.start, '--duration', s.duration]);
    await feed(SPANS[0]!);

    const live = procs.start(['processor']);
    const dump = (e: Error) => {
      throw new Error(`${e.message}\nprocessor log (tail):\n${live.out().slice(-5000)}`);
    };
    const port = await until(() => /"http_port":(\d+)/.exec(live.out())?.[1], 'the processor to listen', 120_000).catch(dump);
    const metric = async (re: RegExp): Promise<number> => {
      const m = await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text(), () => '');
      return Number(re.exec(m)?.[1] ?? 0);
    };
    await until(async () => (await metric(/snap_processor_snapshots_total\{carrier="own"\} (\d+)/)) > 0, 'the first transaction', 300_000, 250).catch(dump);
    // Input while it runs: its commits capture snapshots in the background, and once it is consumed nothing more comes,
    // so the last one can only reach the changelog in a transaction of its own.
    await feed(SPANS[1]!);
    await until(async () => (await metric(/snap_processor_snapshots_total\{carrier="snapshot_only"\} (\d+)/)) > 0, 'a snapshot-only transaction', 300_000, 250).catch(dump);
    live.child.kill('SIGKILL');
    await live.done;

    // The changelog's latest state is no newer than the committed offsets (a snapshot ahead of them would skip outputs).
    const changelog = topicName(cfg, CHANGELOG_TOPIC);
    const latest = await readLatestByKey(kafka, admin, changelog, [0]);
    expect(latest.size).toBe(1);
    const [[key, raw]] = [...latest];
    const snap = decodeSnapshot(key, raw);
    const committed = await admin.fetchOffsets({ groupId: processorGroupId(cfg), topics: Object.keys(snap.offsets) });
    for (const { topic, partitions } of committed) {
      expect(BigInt(snap.offsets[topic]!)).toBeLessThanOrEqual(BigInt(partitions.find((x) => x.partition === 0)!.offset));
    }

    // More input, then a new instance: it restores from the changelog and processes the rest.
    await feed(SPANS[2]!);
    const restarted = await procs.ok(['processor', '--until-idle']);
    const ready = logLines(restarted.stderr + restarted.stdout, 'partition group ready');
    expect(ready[0]).toMatchObject({ restored: true });

    const reference = await embeddedReference(procs, SPANS, { UNDERLYINGS: 'SPY', LOG_LEVEL: 'warn' });
    expect(reference.length).toBeGreaterThan(500);
    const got = await committedSignals(kafka, admin, codec, topicName(cfg, SIGNALS_TOPIC));
    expect(compareRows(reference, got).first_difference).toBeNull();
    expect(lostAndDuplicated(reference, got)).toEqual({ lost: 0, duplicated: 0 });
  });
});
