// The Angular dashboard on the Kafka path, in a browser: a simulated session's real engine output (seed 5: BREAKs at
// SESSION_LOW) is produced as the processor writes it — each tick's `levels.signals.v1` rows and its
// `levels.events.v1` events in one transaction — to this run's TOPIC_PREFIX; `snap-engine gateway --from-beginning`
// (a real CLI child) regroups the rows and puts the events back on the payloads; headless Chromium (Debian's
// /usr/bin/chromium via playwright-core) opens the page after the fact. The chart must draw the session with level
// lines and exactly the engine's BREAK events as markers and alerts (with the engine that led each call), a reload
// must bring the same session back (history), and stopping the gateway must dim the rows and say disconnected.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Admin, Producer } from 'kafkajs';
import { chromium, type BrowserContext } from 'playwright-core';
import { defaultConfig, runCore, simulateSession, toSignalRows, type Config } from '@snap/core';
import {
  EVENTS_TOPIC,
  EnvelopeCodec,
  EnvelopeProducer,
  SIGNALS_TOPIC,
  applyTopics,
  createKafka,
  createLogger,
  createTransactionalProducer,
  levelEventToRecord,
  loadConfig,
  signalRowToRecord,
  topicDeclarations,
  topicName,
} from '@snap/platform';
import { BIN, ROOT, until } from './support';

jest.setTimeout(240_000);

const CHROMIUM = '/usr/bin/chromium';
const APP_INDEX = join(ROOT, 'ui', 'dist', 'dashboard', 'browser', 'index.html');
const run = randomBytes(4).toString('hex');
const PREFIX = `t-dash-${run}-`;
const env: Record<string, string> = { TOPIC_PREFIX: PREFIX, SNAP_KAFKA_PARTITIONS: '3', LOG_LEVEL: 'warn' };
const cfg: Config = loadConfig({ env: { ...process.env, ...env } });
const topic = topicName(cfg, SIGNALS_TOPIC);
const eventsTopic = topicName(cfg, EVENTS_TOPIC);
const quiet = createLogger({ write: () => undefined });
const tmp = mkdtempSync(join(tmpdir(), 'it-dashboard-kafka-'));

const payloads = runCore(defaultConfig(), 'SPY', simulateSession({ seed: 5, durationMs: 600_000, underlying: 'SPY' }));
const events = payloads.flatMap((p) => p.events ?? []);
const breaks = events.filter((e) => e.signal === 'BREAK');

let admin: Admin;
let producer: Producer;
let gateway: ChildProcessWithoutNullStreams | null = null;
let context: BrowserContext | null = null;

afterAll(async () => {
  await context?.close().catch(() => undefined);
  if (gateway && gateway.exitCode === null) gateway.kill('SIGKILL');
  await producer?.disconnect();
  await admin?.deleteTopics({ topics: [topic, eventsTopic] }).catch(() => undefined);
  await admin?.disconnect();
  rmSync(tmp, { recursive: true, force: true });
});

interface El {
  dataset: Record<string, string | undefined>;
  textContent: string | null;
}
declare const document: { body: El; querySelector(sel: string): El | null; querySelectorAll(sel: string): ArrayLike<El> };
declare function getComputedStyle(e: El): { opacity: string };

it('gateway on Kafka: chart with level lines, the events topic\'s BREAK markers and alerts, history on reload, dimmed and disconnected when it stops', async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}: bash scripts/bootstrap installs it — this test does not skip`);
  if (!existsSync(APP_INDEX)) throw new Error(`the Angular dashboard is not built (${APP_INDEX}): run npm run build`);
  // The scenario this test is about: without BREAKs in the session it would prove nothing.
  expect(breaks.length).toBeGreaterThan(0);

  const kafka = createKafka(cfg, { logger: quiet, clientId: `it-dash-${run}` });
  admin = kafka.admin();
  await admin.connect();
  await applyTopics(admin, cfg, topicDeclarations(cfg).filter((d) => d.role === 'signals' || d.role === 'events'));
  const codec = new EnvelopeCodec({ registryUrl: cfg.schema_registry.url });
  producer = createTransactionalProducer(kafka, `${PREFIX}tx`);
  await producer.connect();
  const ep = new EnvelopeProducer(producer, codec);
  for (let i = 0; i < payloads.length; i += 400) {
    const batch = payloads.slice(i, i + 400);
    const tx = await producer.transaction();
    const rows = batch.flatMap((p) => toSignalRows(p));
    await ep.sendInTransaction(tx, topic, 'levels.signals.v1', rows.map((r) => signalRowToRecord(r, { source: 'replay', ts_recv_ns: r.ts_event_ns })));
    const evs = batch.flatMap((p) => p.events ?? []);
    if (evs.length) await ep.sendInTransaction(tx, eventsTopic, 'levels.events.v1', evs.map((e) => levelEventToRecord(e, { source: 'replay' })));
    await tx.commit();
  }
  const withLevels = payloads.filter((p) => p.levels.length > 0).length;

  gateway = spawn(process.execPath, [BIN, 'gateway', '--port', '0', '--from-beginning'], { env: { ...process.env, ...env }, cwd: ROOT });
  let stderr = '';
  const url = await new Promise<string>((resolve, reject) => {
    gateway!.stderr.on('data', (d) => {
      stderr += d;
      const m = /^dashboard: (http:\/\/\S+)$/m.exec(stderr);
      if (m) resolve(m[1]!);
    });
    gateway!.once('exit', (code) => reject(new Error(`gateway exited ${code} before listening:\n${stderr.slice(-3000)}`)));
  });
  await until(async () => {
    const h = (await (await fetch(`${url}healthz`)).json()) as { state: string; payloads: number; events: number };
    return h.state === 'running' && h.payloads === withLevels && h.events === events.length ? true : undefined;
  }, `all ${withLevels} payloads and ${events.length} events from the beginning`, 120_000);

  context = await chromium.launchPersistentContext(join(tmp, 'chromium-profile'), {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1440, height: 900 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(url);

  const chart = () =>
    page.$eval('snap-price-chart', (e) => {
      const d = (e as unknown as El).dataset;
      return { points: Number(d.points), lines: Number(d.lines), markers: Number(d.markers), first: Number(d.first) };
    });
  // The whole session from history: one point per second of its ten minutes, level lines, one marker per BREAK.
  await page.waitForSelector('snap-level-table tr[data-level-id]', { timeout: 30_000 });
  await page.waitForFunction((n) => document.querySelectorAll('#alerts li.alert[data-signal="BREAK"]').length >= n, breaks.length, { timeout: 30_000 });
  const c = await chart();
  expect(c.points).toBeGreaterThanOrEqual(590);
  expect(c.lines).toBeGreaterThan(0);
  expect(c.markers).toBeGreaterThanOrEqual(breaks.length);
  expect(c.first).toBeLessThanOrEqual(payloads[0]!.ts + 1000);
  // Exactly the engine's calls: one alert per event (none invented from signal flips), each naming its lead engine.
  const alerts = await page.$$eval('#alerts li.alert[data-signal="BREAK"]', (lis) => (lis as unknown as El[]).map((li) => ({ level: li.dataset.levelId, text: li.textContent ?? '' })));
  expect(alerts.map((a) => a.level).sort()).toEqual(breaks.map((e) => e.level_id).sort());
  for (const a of alerts) expect(a.text).toMatch(/\b(BARRIER|TAPE|FUEL)\b/);

  await page.reload();
  await page.waitForFunction((n) => document.querySelectorAll('#alerts li.alert[data-signal="BREAK"]').length >= n, breaks.length, { timeout: 30_000 });
  await page.waitForFunction((p) => Number(document.querySelector('snap-price-chart')!.dataset.points) >= p, c.points, { timeout: 30_000 });

  const exited = new Promise<number | null>((r) => gateway!.once('exit', (code) => r(code)));
  gateway.kill('SIGINT');
  expect(await exited).toBe(0);
  await page.waitForSelector('body[data-conn="down"]', { timeout: 15_000 });
  expect(await page.textContent('#conn')).toMatch(/disconnected/);
  const opacities = await page.$$eval('snap-level-table tr[data-level-id]', (trs) => (trs as unknown as El[]).map((tr) => Number(getComputedStyle(tr).opacity)));
  expect(opacities.length).toBeGreaterThan(0);
  for (const o of opacities) expect(o).toBeLessThan(1);
  expect(errors).toEqual([]);
});
