// The trader's screen end to end, as a user sees it: `snap-engine demo --serve` (embedded, no servers) paced at 30×,
// the Angular dashboard (ui/, built by scripts/build.js) opened in headless Chromium (Debian's /usr/bin/chromium driven
// by playwright-core, no browser download). It checks: the price chart draws spot and one line per level; the seeded
// session's BREAK calls (seed 5 fires BREAKs at SESSION_LOW ~4 min in) appear as chart markers and alerts, flash the
// title and obey the filters; rows update in place; times switch UTC / New York; a reload shows the session so far
// (history); at 1024 and 1600 px nothing is cut off and no label overprints another (element boxes); screenshots are
// saved under test-artifacts/dashboard/ (git-ignored); a frozen server shows "delayed", one going away dims the rows
// and says disconnected, a new one brings it back live, and a finished simulation shows "ended".
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import WebSocket from 'ws';

jest.setTimeout(240_000);

const ROOT = join(__dirname, '..', '..');
const BIN = join(ROOT, 'services', 'cli', 'bin', 'snap-engine.js');
const CHROMIUM = '/usr/bin/chromium';
const APP_INDEX = join(ROOT, 'ui', 'dist', 'dashboard', 'browser', 'index.html');
const tmp = mkdtempSync(join(tmpdir(), 'e2e-dashboard-'));
/** Screenshots (kept after the run for a human to look at; git-ignored). */
const ARTIFACTS = process.env.SNAP_ARTIFACTS_DIR ?? join(ROOT, 'test-artifacts', 'dashboard');

interface Demo {
  child: ChildProcessWithoutNullStreams;
  url: string;
  stdout: () => string;
  stderr: () => string;
}

const demos: Demo[] = [];

function startDemo(port: number, duration = '60m'): Promise<Demo> {
  const child = spawn(process.execPath, [BIN, 'demo', '--seed', '5', '--duration', duration, '--speed', '30', '--serve', String(port), '--no-bronze'], {
    cwd: ROOT,
    env: { ...process.env, DATA_ROOT: join(tmp, `lake-${demos.length}`), LOG_LEVEL: 'warn' },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  return new Promise((resolve, reject) => {
    child.stderr.on('data', (d) => {
      stderr += d;
      const m = /^dashboard: (http:\/\/\S+)$/m.exec(stderr);
      if (m) {
        const demo = { child, url: m[1]!, stdout: () => stdout, stderr: () => stderr };
        demos.push(demo);
        resolve(demo);
      }
    });
    child.once('exit', (code) => reject(new Error(`demo exited ${code} before serving:\n${stderr.slice(-3000)}`)));
  });
}

async function stopDemo(d: Demo): Promise<number | null> {
  if (d.child.exitCode !== null) return d.child.exitCode;
  const exited = new Promise<number | null>((r) => d.child.once('exit', (code) => r(code)));
  d.child.kill('SIGINT');
  return exited;
}

let context: BrowserContext | null = null;

async function until(cond: () => boolean, what: string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

afterAll(async () => {
  await context?.close().catch(() => undefined);
  for (const d of demos) if (d.child.exitCode === null) d.child.kill('SIGKILL');
  rmSync(tmp, { recursive: true, force: true });
});

// The tsconfig has no DOM lib (server code); the page-side callbacks below use these minimal shapes.
interface Box {
  left: number;
  top: number;
  right: number;
  bottom: number;
  width: number;
  height: number;
}
interface El {
  dataset: Record<string, string | undefined>;
  textContent: string | null;
  className: string;
  scrollWidth: number;
  clientWidth: number;
  querySelector(sel: string): El | null;
  getBoundingClientRect(): Box;
  __mark?: number;
}
declare const document: { title: string; body: El; querySelector(sel: string): El | null; querySelectorAll(sel: string): ArrayLike<El> };
declare function getComputedStyle(e: El): { opacity: string };

const ROWS = 'snap-level-table tr[data-level-id]';

// One evaluate, not $$eval: $$eval finds the rows in one round trip and reads them in a second, so a render between
// the two gives the old row order with the new distances.
const rowsOf = (page: Page) =>
  page.evaluate(
    (sel) =>
      Array.from(document.querySelectorAll(sel)).map((tr) => ({
        id: tr.dataset.levelId!,
        dist: Number(tr.querySelector('.dist')!.dataset.value),
        distText: tr.querySelector('.dist')!.textContent!.trim(),
        smooth: Number(tr.querySelector('.score-smooth')!.textContent),
        signal: tr.querySelector('.badge')!.textContent!.trim(),
        opacity: Number(getComputedStyle(tr).opacity),
        gone: tr.className.split(' ').includes('gone'),
      })),
    ROWS,
  );

/**
 * Waits (up to 10 s) until the page shows what a change scheduled; it does not throw: the assertions after it read
 * the page and say what did not come.
 */
const rendered = (page: Page, shown: (sel: string) => boolean, sel = ''): Promise<void> =>
  page.waitForFunction(shown, sel, { timeout: 10_000 }).then(
    () => undefined,
    () => undefined,
  );

const chartOf = (page: Page) =>
  page.$eval('snap-price-chart', (e) => {
    const d = (e as unknown as El).dataset;
    return { points: Number(d.points), lines: Number(d.lines), markers: Number(d.markers), first: Number(d.first) };
  });

/**
 * Layout at the current viewport: pairs of labels that overprint each other (the strip's rungs and spot label, the
 * header's items), and containers whose content is cut off (the table, the header).
 */
const layoutProblems = (page: Page) =>
  page.evaluate(() => {
    const overlaps: string[] = [];
    const groups: [string, string][] = [
      ['strip labels', 'snap-level-strip .rung, snap-level-strip .spot-label'],
      ['header', 'header.top > *'],
      ['alert filters', '.alerts-panel .filters > *'],
    ];
    for (const [name, sel] of groups) {
      const els = Array.from(document.querySelectorAll(sel));
      const boxes = els.map((e) => ({ text: (e.textContent ?? '').trim().slice(0, 30), b: e.getBoundingClientRect() })).filter((x) => x.b.width > 0 && x.b.height > 0);
      for (let i = 0; i < boxes.length; i++)
        for (let j = i + 1; j < boxes.length; j++) {
          const a = boxes[i]!.b;
          const b = boxes[j]!.b;
          // Overlap of more than half a pixel both ways (sub-pixel rounding is not an overprint).
          if (Math.min(a.right, b.right) - Math.max(a.left, b.left) > 0.5 && Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top) > 0.5) {
            overlaps.push(`${name}: "${boxes[i]!.text}" overlaps "${boxes[j]!.text}"`);
          }
        }
    }
    const cut: string[] = [];
    for (const sel of ['snap-level-table', 'header.top', 'main.grid']) {
      const e = document.querySelector(sel);
      if (e && e.scrollWidth > e.clientWidth + 1) cut.push(`${sel}: content ${e.scrollWidth}px wide in ${e.clientWidth}px`);
    }
    return { overlaps, cut, rungs: document.querySelectorAll('snap-level-strip .rung').length };
  });

it('demo --serve: chart, BREAK marker and alert, in-place rows, zones, history on reload, clean layout at 1024/1600 px, delayed, disconnected and ended states', async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium not found at ${CHROMIUM}: install Debian's chromium package (bash scripts/bootstrap installs it) — this test does not skip`);
  }
  if (!existsSync(APP_INDEX)) throw new Error(`the Angular dashboard is not built (${APP_INDEX}): run npm run build (scripts/build.js builds ui/)`);
  mkdirSync(ARTIFACTS, { recursive: true });
  const demo = await startDemo(0);
  const port = Number(new URL(demo.url).port);

  context = await chromium.launchPersistentContext(join(tmp, 'chromium-profile'), {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1600, height: 1000 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => {
    // The browser's own network messages while the server is down are expected; anything the app logs is not.
    if (m.type() === 'error' && !/ERR_CONNECTION_REFUSED|Failed to load resource/.test(m.text())) errors.push(m.text().slice(0, 500));
  });
  // Notifications are recorded, not shown: a stand-in that grants permission and keeps what it was asked to show.
  await page.addInitScript(() => {
    const w = globalThis as unknown as { __notes: { title: string; body?: string }[]; Notification: unknown };
    w.__notes = [];
    w.Notification = class {
      static permission = 'granted';
      static requestPermission = async () => 'granted';
      constructor(title: string, opts?: { body?: string }) {
        w.__notes.push({ title, body: opts?.body });
      }
    };
  });
  await page.goto(demo.url);

  // ---- the chart and the table ---------------------------------------------------------------------------------
  await page.waitForSelector(ROWS, { timeout: 30_000 });
  await page.waitForSelector('body[data-conn="live"]');
  expect(await page.$('snap-price-chart canvas')).not.toBeNull();
  await page.waitForFunction(() => Number(document.querySelector('snap-price-chart')!.dataset.points) >= 5 && Number(document.querySelector('snap-price-chart')!.dataset.lines) >= 1, undefined, { timeout: 20_000 });
  const header = await page.evaluate(() => ({ spot: document.querySelector('#spot')?.textContent, bid: document.querySelector('#bid')?.textContent, ask: document.querySelector('#ask')?.textContent, tick: document.querySelector('#tick')?.textContent }));
  const spot = Number(header.spot);
  expect(spot).toBeGreaterThan(600);
  expect(spot).toBeLessThan(760);
  expect(Number(header.bid)).toBeLessThanOrEqual(spot);
  expect(Number(header.ask)).toBeGreaterThanOrEqual(spot);
  expect(header.tick).toMatch(/^\d\d:\d\d:\d\d UTC$/);
  // One price line per level row in the band (departed rows linger, dimmed, without a line).
  const rows = await rowsOf(page);
  expect(rows.length).toBeGreaterThan(0);
  for (const r of rows) {
    expect(r.smooth).toBeGreaterThanOrEqual(0);
    expect(r.smooth).toBeLessThanOrEqual(100);
    expect(['BREAK', 'REJECT', 'CONTESTED', 'NEUTRAL']).toContain(r.signal);
    // Signed, with its unit: level − spot.
    expect(r.distText).toMatch(/^[+−±]\d+\.\d\d \$$/);
    // Live: only a level that just left the band is dimmed.
    expect(r.opacity === 1 || r.gone).toBe(true);
  }
  const d = rows.map((r) => Math.abs(r.dist));
  expect(d).toEqual([...d].sort((a, b) => a - b));
  expect(await page.$$eval('snap-level-strip .rung', (xs) => xs.length)).toBeGreaterThan(0);
  expect(await page.$('snap-level-strip .spot-label')).not.toBeNull();
  expect((await fetch(`${demo.url}favicon.ico`)).status).toBe(200);

  // Opt in to sound and notifications before the BREAKs come.
  await page.check('#opt-sound');
  await page.check('#opt-notify');
  await page.waitForFunction(() => (document.querySelector('#opt-notify') as unknown as { checked: boolean }).checked);

  // ---- rows update in place -----------------------------------------------------------------------------------
  // Mark every row's DOM node, let ticks pass, find the same nodes again — for the levels a second WS client saw in
  // EVERY payload between the mark and the check (a level that left the band longer than the grace is rebuilt).
  const feed: { ts: number; ids: string[] }[] = [];
  const ws = new WebSocket(`${demo.url.replace('http', 'ws')}ws/levels`);
  ws.on('message', (m) => {
    const p = JSON.parse(String(m)) as { ts: number; levels: { id: string }[] };
    feed.push({ ts: p.ts, ids: p.levels.map((l) => l.id) });
  });
  await new Promise((r) => ws.once('open', r));
  await until(() => feed.length > 0, 'the first payload on the test socket');
  await page.waitForFunction((t) => Number(document.body.dataset.ts) >= t, feed[0]!.ts, { timeout: 20_000 });
  const marked = await page.evaluate((sel) => {
    const trs = document.querySelectorAll(sel);
    const ids: string[] = [];
    for (let i = 0; i < trs.length; i++) {
      trs[i]!.__mark = 42;
      ids.push(trs[i]!.dataset.levelId!);
    }
    return { ts: Number(document.body.dataset.ts), ids };
  }, ROWS);
  for (let k = 0; k < 3; k++) await page.waitForFunction((t) => Number(document.body.dataset.ts) > t, Number(await page.evaluate(() => document.body.dataset.ts)), { timeout: 20_000 });
  const seen = await page.evaluate(
    ([sel, ids]) => {
      const out: Record<string, number> = {};
      for (const id of ids) {
        const tr = document.querySelector(`${sel}[data-level-id="${id}"]`);
        out[id] = tr ? (tr.__mark ?? 0) : -1;
      }
      return { ts: Number(document.body.dataset.ts), marks: out };
    },
    ['snap-level-table tr', marked.ids] as const,
  );
  await until(() => feed.at(-1)!.ts >= seen.ts, "the test socket to reach the page's tick");
  ws.close();
  const window = feed.filter((p) => p.ts >= marked.ts && p.ts <= seen.ts);
  expect(window.length).toBeGreaterThanOrEqual(3);
  const continuous = marked.ids.filter((id) => window.every((p) => p.ids.includes(id)));
  expect(continuous.length).toBeGreaterThan(0);
  for (const id of continuous) expect({ id, mark: seen.marks[id] }).toEqual({ id, mark: 42 });

  // ---- the scripted BREAK: marker on the chart, alert in the log, title flashing ------------------------------------
  await page.waitForSelector('#alerts li.alert[data-signal="BREAK"]', { timeout: 90_000 });
  // The title flashes on a live call (BREAK or REJECT: see the notification check below for why either).
  await page.waitForFunction(() => /(BREAK|REJECT) /.test(document.title), undefined, { timeout: 90_000 });
  await page.waitForFunction(() => Number(document.querySelector('snap-price-chart')!.dataset.markers) >= 1, undefined, { timeout: 10_000 });
  // A call that arrived live after the opt-in was notified (seed 5 has BREAKs at ~8 s and calls at VWAP at ~21 and
  // ~28 s of wall time; on a slow machine the first ones may predate the opt-in, so any live call will do).
  await page.waitForFunction(() => (globalThis as unknown as { __notes: unknown[] }).__notes.length > 0, undefined, { timeout: 90_000 });
  const notes = await page.evaluate(() => (globalThis as unknown as { __notes: { title: string; body?: string }[] }).__notes);
  for (const n of notes) {
    expect(n.title).toMatch(/^(BREAK|REJECT) SPY \S+$/);
    expect(n.body).toMatch(/score \d+ · (HIGH|MEDIUM|LOW)/);
  }
  // Newest first; later BREAKs (other levels) may already have come in on a slow machine: look for SESSION_LOW's.
  const texts = await page.$$eval('#alerts li.alert[data-signal="BREAK"]', (lis) => (lis as unknown as El[]).map((li) => li.textContent!));
  for (const t of texts) expect(t).toMatch(/\d\d:\d\d:\d\d UTC/);
  expect(texts.some((t) => /SPY SESSION_LOW/.test(t))).toBe(true);
  const history = (await (await fetch(`${demo.url}api/levels/history?underlying=SPY`)).json()) as { history: { points: { ts: number }[]; events: { event_id: string; signal: string }[] }[] };
  const breaks = history.history[0]!.events.filter((e) => e.signal === 'BREAK');
  expect(breaks.length).toBeGreaterThan(0);
  // Every BREAK the gateway knows of is in the log, under the same id.
  await page.waitForFunction((ids) => ids.every((id) => document.querySelector(`#alerts li.alert[data-event-id="${id}"]`) !== null), breaks.map((e) => e.event_id), { timeout: 10_000 });
  const alertIds = await page.$$eval('#alerts li.alert', (lis) => (lis as unknown as El[]).map((li) => li.dataset.eventId!));
  // Filters: REJECT only hides the BREAKs; a minimum strength of 90 hides everything below it. Each check first waits
  // for the re-render the filter schedules (Angular renders after the input event, in a task of its own).
  const BREAKS = '#alerts li.alert[data-signal="BREAK"]';
  const breakCount = () => page.evaluate((sel) => document.querySelectorAll(sel).length, BREAKS);
  await page.selectOption('#f-signal', 'REJECT');
  await rendered(page, (sel) => document.querySelectorAll(sel).length === 0, BREAKS);
  expect(await breakCount()).toBe(0);
  await page.selectOption('#f-signal', 'ALL');
  await rendered(page, (sel) => document.querySelectorAll(sel).length > 0, BREAKS);
  expect(await breakCount()).toBeGreaterThan(0);
  const strengths = async () => page.evaluate(() => Array.from(document.querySelectorAll('#alerts li.alert')).map((x) => Number(x.dataset.strength)));
  const all = await strengths();
  expect(all.some((x) => x < 90)).toBe(true);
  await page.fill('#f-score', '90');
  await rendered(page, () => Array.from(document.querySelectorAll('#alerts li.alert')).every((x) => Number(x.dataset.strength) >= 90));
  const strong = await strengths();
  expect(strong.length).toBeLessThan(all.length);
  for (const x of strong) expect(x).toBeGreaterThanOrEqual(90);
  await page.fill('#f-score', '0');

  // ---- zones: New York is UTC−5 on this December session --------------------------------------------------------
  // The header's tick and the tick it shows (body[data-ts], epoch ms) read together, so a tick between reads cannot skew them.
  const tickNow = () => page.evaluate(() => ({ text: document.querySelector('#tick')!.textContent!, ts: Number(document.body.dataset.ts) }));
  const utcTick = await tickNow();
  expect(utcTick.text).toBe(`${new Date(utcTick.ts).toISOString().slice(11, 19)} UTC`);
  await page.selectOption('#tz', 'America/New_York');
  await rendered(page, () => / NY$/.test(document.querySelector('#tick')?.textContent ?? ''));
  const nyTick = await tickNow();
  expect(nyTick.text).toMatch(/^\d\d:\d\d:\d\d NY$/);
  expect(nyTick.text).toBe(`${new Date(nyTick.ts - 5 * 3_600_000).toISOString().slice(11, 19)} NY`);
  expect(await page.$eval('#alerts li.alert time', (t) => (t as unknown as El).textContent)).toMatch(/ NY$/);
  await page.selectOption('#tz', 'UTC');

  // ---- layout at 1024 and 1600 px: nothing cut off, no label over another; screenshots --------------------------------
  for (const width of [1024, 1600]) {
    await page.setViewportSize({ width, height: 900 });
    await page.waitForFunction(() => Number(document.body.dataset.ts) > 0);
    await page.waitForTimeout(300); // one chart layout pass after the resize (the check itself is not timing-based)
    const problems = await layoutProblems(page);
    expect(problems.rungs).toBeGreaterThan(0);
    expect({ width, overlaps: problems.overlaps, cut: problems.cut }).toEqual({ width, overlaps: [], cut: [] });
    const shot = join(ARTIFACTS, `dashboard-${width}.png`);
    await page.screenshot({ path: shot, fullPage: true });
    process.stderr.write(`dashboard screenshot: ${shot}\n`);
  }

  // ---- zoom over the session: "whole session" shows it from its first point, "follow live" goes back to the newest ---
  await page.click('#fit-session');
  await page.waitForFunction(() => {
    const d = document.querySelector('snap-price-chart')!.dataset;
    return Number(d.visibleFrom) > 0 && Number(d.visibleFrom) <= Number(d.first);
  }, undefined, { timeout: 10_000 });
  await page.click('#follow-live');
  await page.waitForFunction(() => {
    const d = document.querySelector('snap-price-chart')!.dataset;
    return Number(d.visibleFrom) > Number(d.first) + 60_000;
  }, undefined, { timeout: 10_000 });

  // ---- reload: the session so far comes back from the gateway's history -----------------------------------------------
  const before = await chartOf(page);
  const alertsBefore = alertIds.length;
  await page.reload();
  await page.waitForSelector(ROWS, { timeout: 30_000 });
  await page.waitForFunction((first) => Number(document.querySelector('snap-price-chart')!.dataset.first) <= first, before.first, { timeout: 20_000 });
  expect((await chartOf(page)).points).toBeGreaterThanOrEqual(before.points);
  await page.waitForFunction((n) => document.querySelectorAll('#alerts li.alert').length >= n, alertsBefore, { timeout: 20_000 });
  await page.waitForFunction(() => Number(document.querySelector('snap-price-chart')!.dataset.markers) >= 1, undefined, { timeout: 10_000 });

  // ---- a gateway that stops sending (process frozen, socket still open): delayed, rows dimmed; thawed: live again ------
  process.kill(demo.child.pid!, 'SIGSTOP');
  try {
    await page.waitForSelector('body[data-conn="delayed"]', { timeout: 20_000 });
    expect(await page.textContent('#conn')).toMatch(/delayed/);
    for (const r of await rowsOf(page)) expect(r.opacity).toBeLessThan(1);
  } finally {
    process.kill(demo.child.pid!, 'SIGCONT');
  }
  await page.waitForSelector('body[data-conn="live"]', { timeout: 20_000 });

  // ---- server gone: disconnected, rows dimmed; a new server: live again; a finished simulation: ended ---------------------
  expect(await stopDemo(demo)).toBe(0);
  const report = JSON.parse(demo.stdout()) as { payloads: number };
  expect(report.payloads).toBeGreaterThan(0);
  await page.waitForSelector('body[data-conn="down"]', { timeout: 15_000 });
  expect(await page.textContent('#conn')).toMatch(/disconnected/);
  const dimmed = await rowsOf(page);
  expect(dimmed.length).toBeGreaterThan(0);
  for (const r of dimmed) expect(r.opacity).toBeLessThan(1);
  await page.screenshot({ path: join(ARTIFACTS, 'dashboard-disconnected.png') });

  const again = await startDemo(port, '2m');
  await page.waitForSelector('body[data-conn="live"]', { timeout: 30_000 });
  await page.waitForFunction((sel) => document.querySelectorAll(sel).length > 0, ROWS);
  // Two simulated minutes at 30× are four seconds: then the gateway says the feed ended and the page shows it.
  await page.waitForSelector('body[data-conn="ended"]', { timeout: 60_000 });
  expect(await page.textContent('#conn')).toMatch(/ended/);
  expect(await stopDemo(again)).toBe(0);
  expect(errors).toEqual([]);
});
