// The dashboard end to end, as a user sees it: `snap-engine demo --serve` (embedded, no servers) paced faster than
// real time, the page opened in headless Chromium (Debian's /usr/bin/chromium driven by playwright-core), level rows
// appearing with spot and scores, rows updated in place (not re-created) across ticks, the connection state following
// the server down and back up, and a screenshot for a human to look at.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import WebSocket from 'ws';

jest.setTimeout(180_000);

const ROOT = join(__dirname, '..', '..');
const BIN = join(ROOT, 'services', 'cli', 'bin', 'snap-engine.js');
const CHROMIUM = '/usr/bin/chromium';
const tmp = mkdtempSync(join(tmpdir(), 'e2e-dashboard-'));
/** Where the screenshot goes (printed; SCREENSHOT=path overrides it). */
const SHOT = process.env.SCREENSHOT ?? join(tmp, 'dashboard.png');

interface Demo {
  child: ChildProcessWithoutNullStreams;
  url: string;
  stdout: () => string;
  stderr: () => string;
}

const demos: Demo[] = [];

function startDemo(port: number, extra: string[] = []): Promise<Demo> {
  const child = spawn(process.execPath, [BIN, 'demo', '--seed', '5', '--duration', '10m', '--speed', '30', '--serve', String(port), ...extra], {
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
  if (!process.env.SCREENSHOT) rmSync(tmp, { recursive: true, force: true });
});

// The tsconfig has no DOM lib (server code); the few page-side callbacks below use these minimal shapes.
interface El {
  dataset: Record<string, string | undefined>;
  children: ArrayLike<El>;
  textContent: string | null;
  classList: { contains(c: string): boolean };
  querySelector(sel: string): El | null;
  __mark?: number;
}
declare const document: { body: El; getElementById(id: string): El | null; querySelector(sel: string): El | null; querySelectorAll(sel: string): ArrayLike<El> };

const rowsOf = (page: Page) =>
  page.$$eval('#level-rows tr[data-level-id]', (trs) =>
    (trs as unknown as El[]).map((tr) => ({
      id: tr.dataset.levelId!,
      dist: Number(tr.children[2]!.textContent),
      smooth: Number(tr.querySelector('.score-smooth')!.textContent),
      signal: tr.querySelector('.badge')!.textContent,
      gone: tr.classList.contains('gone'),
    })),
  );

it('demo --serve: the dashboard shows spot and scored level rows, updates them in place, and reconnects', async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium not found at ${CHROMIUM}: install Debian's chromium package (bash scripts/bootstrap installs it) — this test does not skip`);
  }
  const demo = await startDemo(0);
  const port = Number(new URL(demo.url).port);

  context = await chromium.launchPersistentContext(join(tmp, 'chromium-profile'), {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1440, height: 860 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(demo.url);

  await page.waitForSelector('#level-rows tr[data-level-id]', { timeout: 30_000 });
  await page.waitForSelector('body[data-conn="live"]');
  // Read the header in one evaluation: the page updates every tick, so two separate reads can straddle a tick.
  const header = await page.evaluate(() => ({ spot: document.querySelector('#spot')?.textContent, bid: document.querySelector('#bid')?.textContent, ask: document.querySelector('#ask')?.textContent }));
  const spot = Number(header.spot);
  expect(spot).toBeGreaterThan(600);
  expect(spot).toBeLessThan(760);
  expect(Number(header.bid)).toBeLessThanOrEqual(spot);
  expect(Number(header.ask)).toBeGreaterThanOrEqual(spot);

  const rows = await rowsOf(page);
  expect(rows.length).toBeGreaterThan(0);
  for (const r of rows) {
    expect(r.smooth).toBeGreaterThanOrEqual(0);
    expect(r.smooth).toBeLessThanOrEqual(100);
    expect(['BREAK', 'REJECT', 'CONTESTED', 'NEUTRAL']).toContain(r.signal);
  }
  // Sorted by |distance| (departed levels keep their distance from the current spot).
  const d = rows.map((r) => Math.abs(r.dist));
  expect(d).toEqual([...d].sort((a, b) => a - b));
  // The strip: at most 5 rungs and the spot line.
  const rungs = await page.$$eval('#strip .rung', (xs) => xs.length);
  expect(rungs).toBeGreaterThan(0);
  expect(rungs).toBeLessThanOrEqual(5);
  expect(await page.$('#strip .spot-line')).not.toBeNull();

  // Update in place: mark every level row's DOM node, let ticks pass, and find the same nodes again. A level that
  // left the band for longer than the page's grace period is legitimately rebuilt, so the check covers the levels a
  // second WS client (this test's own) saw in EVERY payload between the mark and the check.
  const feed: { ts: number; ids: string[] }[] = [];
  const ws = new WebSocket(`${demo.url.replace('http', 'ws')}ws/levels`);
  ws.on('message', (m) => {
    const p = JSON.parse(String(m)) as { ts: number; levels: { id: string }[] };
    feed.push({ ts: p.ts, ids: p.levels.map((l) => l.id) });
  });
  await new Promise((r) => ws.once('open', r));
  await until(() => feed.length > 0, 'the first payload on the test socket');
  await page.waitForFunction((t) => Number(document.body.dataset.ts) >= t, feed[0]!.ts, { timeout: 20_000 });
  const marked = await page.evaluate(() => {
    const trs = document.querySelectorAll('#level-rows tr[data-level-id]');
    const ids: string[] = [];
    for (let i = 0; i < trs.length; i++) {
      trs[i]!.__mark = 42;
      ids.push(trs[i]!.dataset.levelId!);
    }
    return { ts: Number(document.body.dataset.ts), ids };
  });
  for (let k = 0; k < 3; k++) await page.waitForFunction((t) => Number(document.body.dataset.ts) > t, Number(await page.evaluate(() => document.body.dataset.ts)), { timeout: 20_000 });
  const seen = await page.evaluate((ids) => {
    const out: Record<string, number> = {};
    for (const id of ids) {
      const tr = document.querySelector(`#level-rows tr[data-level-id="${id}"]`);
      out[id] = tr ? (tr.__mark ?? 0) : -1;
    }
    return { ts: Number(document.body.dataset.ts), marks: out };
  }, marked.ids);
  await until(() => feed.at(-1)!.ts >= seen.ts, 'the test socket to reach the page\'s tick');
  ws.close();
  const window = feed.filter((p) => p.ts >= marked.ts && p.ts <= seen.ts);
  expect(window.length).toBeGreaterThanOrEqual(3);
  const continuous = marked.ids.filter((id) => window.every((p) => p.ids.includes(id)));
  expect(continuous.length).toBeGreaterThan(0);
  for (const id of continuous) expect({ id, mark: seen.marks[id] }).toEqual({ id, mark: 42 });

  // The page agrees with the gateway's own view of the latest tick.
  const api = (await (await fetch(`${demo.url}api/levels?underlying=SPY`)).json()) as { ts: number };
  expect(api.ts).toBeGreaterThan(0);

  await page.screenshot({ path: SHOT, fullPage: true });
  process.stderr.write(`dashboard screenshot: ${SHOT}\n`);

  // Server gone: the page says so and retries; a new server on the same port: it goes live again by itself.
  expect(await stopDemo(demo)).toBe(0);
  const report = JSON.parse(demo.stdout()) as { payloads: number };
  expect(report.payloads).toBeGreaterThan(0);
  await page.waitForSelector('body[data-conn="down"]', { timeout: 15_000 });
  expect(await page.textContent('#conn')).toMatch(/reconnecting/);
  const again = await startDemo(port);
  await page.waitForSelector('body[data-conn="live"]', { timeout: 30_000 });
  await page.waitForFunction(() => document.querySelectorAll('#level-rows tr[data-level-id]').length > 0);
  expect(await stopDemo(again)).toBe(0);
  expect(errors).toEqual([]);
});
