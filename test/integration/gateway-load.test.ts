// Load on the dashboard gateway over loopback: 500 WebSocket clients for 60 s on a live-paced session
// (`snap-engine demo --serve`, 4 snap ticks per second) while one more client never reads its socket. Every reading
// client must receive every tick (no gap in the 250 ms tick sequence from its first payload to the last published),
// the stalled one must not hold the others up (it is conflated, then dropped), and the gateway process's RSS stays
// bounded. The RSS figure is printed (docs/dashboard.md quotes it); the bound is generous on purpose — it catches a
// per-client backlog (500 clients each holding a minute of ticks would be ~0.5 GB), not normal variation. No timing assertion: the deadlines below only stop a hung run.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { BIN, ROOT } from './support';

jest.setTimeout(240_000);

const CLIENTS = 500;
const RUN_MS = 60_000;
/** RSS bound for the gateway process (the demo: simulator + engine + lake writer + gateway). */
const RSS_BOUND_MB = 700;
const TICK_MS = 250;

const tmp = mkdtempSync(join(tmpdir(), 'it-gateway-load-'));
let child: ChildProcessWithoutNullStreams | null = null;
const sockets: WebSocket[] = [];

afterAll(() => {
  for (const ws of sockets) ws.terminate();
  if (child && child.exitCode === null) child.kill('SIGKILL');
  rmSync(tmp, { recursive: true, force: true });
});

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

it(`${CLIENTS} WS clients get every tick for ${RUN_MS / 1000} s while one never reads; the gateway's RSS stays bounded`, async () => {
  // A small per-client buffer limit, so the stalled client is parked (conflated) as soon as its socket backs up.
  child = spawn(process.execPath, [BIN, 'demo', '--seed', '3', '--duration', '5m', '--speed', '1', '--serve', '0', '--no-bronze'], {
    cwd: ROOT,
    env: { ...process.env, DATA_ROOT: join(tmp, 'lake'), LOG_LEVEL: 'warn', SNAP_GATEWAY_MAX_BUFFERED_BYTES: '65536' },
  });
  let stderr = '';
  const url = await new Promise<string>((resolve, reject) => {
    child!.stderr.on('data', (d) => {
      stderr += d;
      const m = /^dashboard: (http:\/\/\S+)$/m.exec(stderr);
      if (m) resolve(m[1]!);
    });
    child!.once('exit', (code) => reject(new Error(`demo exited ${code} before serving:\n${stderr.slice(-3000)}`)));
  });
  const wsUrl = `${url.replace('http', 'ws')}ws/levels`;
  const pid = child.pid!;
  const rssStart = rssMb(pid);

  // The stalled client: its TCP socket is paused right after the handshake, so the kernel buffers fill and the
  // gateway's queue for it grows until conflation parks its payloads and the stall timeout drops it.
  const stalled = new WebSocket(wsUrl);
  sockets.push(stalled);
  await new Promise((r) => stalled.once('open', r));
  (stalled as unknown as { _socket: Socket })._socket.pause();

  const received: number[][] = Array.from({ length: CLIENTS }, () => []);
  for (let i = 0; i < CLIENTS; i++) {
    const ws = new WebSocket(wsUrl);
    sockets.push(ws);
    ws.on('message', (m) => received[i]!.push((JSON.parse(String(m)) as { ts: number }).ts));
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
  }

  let rssMax = rssStart;
  const end = Date.now() + RUN_MS;
  while (Date.now() < end) {
    await new Promise((r) => setTimeout(r, 1000));
    rssMax = Math.max(rssMax, rssMb(pid));
  }
  const health = (await (await fetch(`${url}healthz`)).json()) as { published: number; conflated: number; dropped: number; clients: number };
  // The newest tick published: every reading client must reach it (poll: the last broadcast may still be in flight).
  const last = ((await (await fetch(`${url}api/levels?underlying=SPY`)).json()) as { ts: number }).ts;
  const deadline = Date.now() + 30_000;
  while (received.some((r) => (r.at(-1) ?? 0) < last) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));

  const gaps: string[] = [];
  for (let i = 0; i < CLIENTS; i++) {
    const ts = received[i]!.filter((t) => t <= last);
    if (ts.length < 2 || ts.at(-1) !== last) gaps.push(`client ${i}: ${ts.length} payloads, last ${ts.at(-1)} (want ${last})`);
    else for (let k = 1; k < ts.length; k++) if (ts[k]! - ts[k - 1]! !== TICK_MS) gaps.push(`client ${i}: ${ts[k - 1]} → ${ts[k]}`);
  }
  const perClient = received.map((r) => r.length);
  process.stderr.write(
    `gateway load: ${CLIENTS} clients + 1 stalled, ${RUN_MS / 1000} s, ${health.published} ticks published, ` +
      `${Math.min(...perClient)}–${Math.max(...perClient)} received per client, conflated ${health.conflated}, dropped ${health.dropped}; ` +
      `gateway (demo) RSS ${rssStart.toFixed(0)} MB at start, max ${rssMax.toFixed(0)} MB\n`,
  );
  expect(gaps.slice(0, 5)).toEqual([]);
  expect(Math.min(...perClient)).toBeGreaterThan(RUN_MS / TICK_MS / 2);
  // At live pace a minute of ticks (~1 MB) for the stalled client mostly fits the loopback socket buffers, so
  // conflation may or may not kick in here (it is printed); server.test.ts drives it past the limit on purpose.
  // What must hold: it never held the others back (the gap check above) and memory stays bounded.
  expect(rssMax).toBeLessThan(RSS_BOUND_MB);

  for (const ws of sockets) ws.terminate();
  const exited = new Promise<number | null>((r) => child!.once('exit', (code) => r(code)));
  child.kill('SIGINT');
  expect(await exited).toBe(0);
});
