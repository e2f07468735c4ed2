// The Kafka gateway against the real stack (scripts/stack up): signals rows (real engine payloads flattened with
// toSignalRows) are produced transactionally with the EnvelopeCodec to this run's TOPIC_PREFIX — one transaction
// aborted — and `snap-engine gateway` (a real CLI child process) must hand them back over a real WebSocket as the
// original §6.4 payloads: only committed ticks, only those after its start, regrouped exactly; --from-beginning
// replays them all.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { Admin, Kafka, Producer } from 'kafkajs';
import WebSocket from 'ws';
import { defaultConfig, runCore, simulateSession, toSignalRows, type Config, type LevelPhysicsPayload } from '@snap/core';
import {
  EnvelopeCodec,
  SIGNALS_TOPIC,
  applyTopics,
  createKafka,
  createLogger,
  createTransactionalProducer,
  loadConfig,
  topicDeclarations,
  topicName,
} from '@snap/platform';
import { BIN, ROOT, produceSignalsTx, until } from './support';

jest.setTimeout(180_000);

const run = randomBytes(4).toString('hex');
const PREFIX = `t-gateway-${run}-`;
const env: Record<string, string> = { TOPIC_PREFIX: PREFIX, SNAP_KAFKA_PARTITIONS: '3', LOG_LEVEL: 'info' };
const cfg: Config = loadConfig({ env: { ...process.env, ...env } });
const topic = topicName(cfg, SIGNALS_TOPIC);
const quiet = createLogger({ write: () => undefined });

// Seven consecutive snap ticks of real engine output for SPY, and the same ticks relabelled as IWM (another key,
// possibly another partition).
const spy = runCore(defaultConfig(), 'SPY', simulateSession({ seed: 11, durationMs: 45_000, underlying: 'SPY' }))
  .filter((p) => p.levels.length >= 2)
  .slice(-7);
const iwm = spy.map((p): LevelPhysicsPayload => ({ ...p, underlying: 'IWM', spy: { spot: p.spy.spot - 450, bid: p.spy.bid - 450, ask: p.spy.ask - 450 } }));
const tick = (i: number) => [spy[i]!, iwm[i]!];
const COMMITTED_BEFORE = [0, 1, 2];
const COMMITTED_AFTER = [3, 5, 6];
const ABORTED = 4;

let kafka: Kafka;
let admin: Admin;
let codec: EnvelopeCodec;
let producer: Producer;
const children: ChildProcessWithoutNullStreams[] = [];

const produceTick = (i: number, commit: boolean): Promise<void> => produceSignalsTx(producer, codec, topic, tick(i).flatMap((p) => toSignalRows(p)), commit);

interface Gateway {
  child: ChildProcessWithoutNullStreams;
  url: string;
  stderr: () => string;
}

function startGateway(args: string[]): Promise<Gateway> {
  const child = spawn(process.execPath, [BIN, 'gateway', '--port', '0', ...args], { env: { ...process.env, ...env }, cwd: ROOT });
  children.push(child);
  let stderr = '';
  return new Promise((resolve, reject) => {
    child.stderr.on('data', (d) => {
      stderr += d;
      const m = /^dashboard: (http:\/\/\S+)$/m.exec(stderr);
      if (m) resolve({ child, url: m[1]!, stderr: () => stderr });
    });
    child.once('exit', (code) => reject(new Error(`gateway exited ${code} before listening:\n${stderr.slice(-3000)}`)));
  });
}

const health = async (g: Gateway) => (await fetch(`${g.url}healthz`)).json() as Promise<{ state: string; payloads: number; rows: number; skipped: number; clients: number }>;

function listen(url: string): Promise<{ ws: WebSocket; got: LevelPhysicsPayload[] }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    const got: LevelPhysicsPayload[] = [];
    ws.on('message', (d) => got.push(JSON.parse(String(d)) as LevelPhysicsPayload));
    ws.once('open', () => resolve({ ws, got }));
    ws.once('error', reject);
  });
}

async function stop(g: Gateway): Promise<number | null> {
  if (g.child.exitCode !== null) return g.child.exitCode;
  const exited = new Promise<number | null>((r) => g.child.once('exit', (code) => r(code)));
  g.child.kill('SIGINT');
  return exited;
}

beforeAll(async () => {
  kafka = createKafka(cfg, { logger: quiet, clientId: `it-gateway-${run}` });
  admin = kafka.admin();
  await admin.connect();
  await applyTopics(
    admin,
    cfg,
    topicDeclarations(cfg).filter((d) => d.role === 'signals'),
  );
  codec = new EnvelopeCodec({ registryUrl: cfg.schema_registry.url });
  producer = createTransactionalProducer(kafka, `${PREFIX}tx`);
  await producer.connect();
  for (const i of COMMITTED_BEFORE) await produceTick(i, true);
});

afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await producer?.disconnect();
  await admin?.deleteTopics({ topics: [topic] }).catch(() => undefined);
  await admin?.disconnect();
});

it('streams only committed ticks written after its start, regrouped into the original §6.4 payloads', async () => {
  const g = await startGateway([]);
  await until(async () => ((await health(g)).state === 'running' ? true : undefined), 'the gateway consumer to join');
  const all = await listen(`${g.url.replace('http', 'ws')}ws/levels`);
  const onlyIwm = await listen(`${g.url.replace('http', 'ws')}ws/levels?underlying=IWM`);

  await produceTick(3, true);
  await produceTick(ABORTED, false);
  await produceTick(5, true);
  await produceTick(6, true);

  // The last tick has no successor: it arrives through the linger flush.
  await until(() => (all.got.filter((p) => p.ts === spy[6]!.ts).length === 2 ? true : undefined), 'the last tick of both underlyings', 30_000);
  await until(() => (onlyIwm.got.some((p) => p.ts === spy[6]!.ts) ? true : undefined), 'the last IWM tick on the filtered socket', 10_000);

  for (const [name, expected] of [['SPY', spy], ['IWM', iwm]] as const) {
    const got = all.got.filter((p) => p.underlying === name);
    // Exactly the committed ticks after start, in order, each equal to the payload the engine produced.
    expect(got).toEqual(COMMITTED_AFTER.map((i) => expected[i]!));
  }
  expect(all.got.some((p) => p.ts === spy[ABORTED]!.ts)).toBe(false);
  expect(onlyIwm.got).toEqual(COMMITTED_AFTER.map((i) => iwm[i]!));

  const api = (await (await fetch(`${g.url}api/levels`)).json()) as Record<string, LevelPhysicsPayload>;
  expect(api).toEqual({ SPY: spy[6], IWM: iwm[6] });
  const h = await health(g);
  expect(h).toMatchObject({ state: 'running', payloads: 6, skipped: 0, clients: 2 });
  expect(h.rows).toBe(COMMITTED_AFTER.reduce((n, i) => n + spy[i]!.levels.length * 2, 0));

  // A client connecting now is handed the latest tick of every underlying at once.
  const late = await listen(`${g.url.replace('http', 'ws')}ws/levels`);
  await until(() => (late.got.length === 2 ? true : undefined), 'the latest payloads on connect', 10_000);
  expect(late.got.sort((a, b) => a.underlying.localeCompare(b.underlying))).toEqual([iwm[6], spy[6]]);

  for (const c of [all, onlyIwm, late]) c.ws.close();
  // Its throwaway group is namespaced by the environment's TOPIC_PREFIX (kafka-ids.ts).
  const groupsBefore = (await admin.listGroups()).groups.map((x) => x.groupId).filter((id) => id.startsWith(`${PREFIX}snap-gateway-`) && id.includes(`-${g.child.pid}-`));
  expect(groupsBefore).toHaveLength(1);
  expect(await stop(g)).toBe(0);
  // Its throwaway consumer group is gone with it.
  const groupsAfter = (await admin.listGroups()).groups.map((x) => x.groupId);
  expect(groupsAfter).not.toContain(groupsBefore[0]);
});

it('--from-beginning replays every committed tick (never the aborted one) and ends on the newest', async () => {
  const g = await startGateway(['--from-beginning']);
  const expectedPayloads = (COMMITTED_BEFORE.length + COMMITTED_AFTER.length) * 2;
  const h = await until(async () => {
    const x = await health(g);
    return x.state === 'running' && x.payloads === expectedPayloads ? x : undefined;
  }, `${expectedPayloads} payloads from the beginning`);
  expect(h.skipped).toBe(0);
  const api = (await (await fetch(`${g.url}api/levels`)).json()) as Record<string, LevelPhysicsPayload>;
  expect(api).toEqual({ SPY: spy[6], IWM: iwm[6] });
  // Nothing more arrives (the aborted tick stays invisible).
  await new Promise((r) => setTimeout(r, 500));
  expect((await health(g)).payloads).toBe(expectedPayloads);
  expect(await stop(g)).toBe(0);
});

it('refuses to start on a topic that does not exist, naming it', async () => {
  const child = spawn(process.execPath, [BIN, 'gateway', '--port', '0'], { env: { ...process.env, ...env, TOPIC_PREFIX: `${PREFIX}missing-` }, cwd: ROOT });
  children.push(child);
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  expect(code).toBe(1);
  expect(stderr).toContain(`topic ${PREFIX}missing-${SIGNALS_TOPIC} does not exist`);
});
