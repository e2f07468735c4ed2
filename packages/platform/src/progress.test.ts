import { mkdtempSync, existsSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AtomicOutput } from './atomic-output';
import { EXIT } from './exit-codes';
import { UnreachableError, asUnreachable, hostPort, preflight, probeTcp } from './friendly';
import { Progress, TimeZoneError, checkTimeZone, formatCount, formatDuration, formatTime, printSummary } from './progress';

class Sink {
  chunks: string[] = [];
  constructor(readonly isTTY: boolean) {}
  write(c: string) {
    this.chunks.push(c);
    return true;
  }
  get text() {
    return this.chunks.join('');
  }
}

describe('Progress without a TTY', () => {
  it('writes a JSON line at start, at most one per interval, and at the end, with percent, rate and ETA', () => {
    let t = 0;
    const out = new Sink(false);
    const p = new Progress({ label: 'run x', total: 1000, unit: 'events', stream: out, nowMs: () => t, intervalMs: 5000 });
    expect(p.mode).toBe('json');
    t = 1000;
    p.update(100);
    t = 5000;
    p.update(500, { payloads: 7 });
    t = 6000;
    p.update(600);
    t = 8000;
    p.finish({ payloads: 9 });
    const lines = out.text.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatchObject({ progress: 'run x', done: 0, total: 1000, percent: 0 });
    expect(lines[1]).toMatchObject({ done: 500, percent: 50, rate_per_s: 100, eta_s: 5, payloads: 7 });
    expect(lines[2]).toMatchObject({ done: 600, percent: 60, rate_per_s: 75, payloads: 9 });
    p.finish();
    expect(out.text.trim().split('\n')).toHaveLength(3);
  });

  it('with an unknown total reports count and rate but no percent or ETA', () => {
    let t = 0;
    const out = new Sink(false);
    const p = new Progress({ label: 'dbn', stream: out, nowMs: () => t });
    t = 2000;
    p.update(4000);
    p.finish();
    const last = JSON.parse(out.text.trim().split('\n').pop()!);
    expect(last).toMatchObject({ done: 4000, rate_per_s: 2000 });
    expect(last.percent).toBeUndefined();
    expect(last.eta_s).toBeUndefined();
  });

  it('mode off writes nothing', () => {
    const out = new Sink(false);
    const p = new Progress({ label: 'x', total: 5, stream: out, mode: 'off' });
    p.update(3);
    p.finish();
    expect(out.text).toBe('');
  });
});

describe('Progress on a TTY', () => {
  it('draws a bar with percent, count, rate and ETA, and ends it with a newline', () => {
    let t = 0;
    const out = new Sink(true);
    const p = new Progress({ label: 'feed sim', total: 200, unit: 'events', stream: out, nowMs: () => t });
    expect(p.mode).toBe('tty');
    t = 2000;
    p.update(100);
    expect(p.text()).toMatch(/^feed sim \| \[█{12}░{12}\] 50\.0% ETA 2s \| 100\/200 events \| 50\/s$/);
    p.finish();
    expect(out.text).toContain('50.0%');
    expect(out.text.endsWith('\n')).toBe(true);
  });
});

describe('printSummary', () => {
  it('is one JSON line without a TTY', () => {
    const out = new Sink(false);
    printSummary('run', { events: 10, signals: { BREAK: 1, REJECT: 2 } }, { stream: out });
    expect(JSON.parse(out.text)).toEqual({ summary: 'run', events: 10, signals: { BREAK: 1, REJECT: 2 } });
  });
  it('is readable lines on a TTY', () => {
    const out = new Sink(true);
    printSummary('run', { events: 10, dead_letters: 0, signals: { BREAK: 1, REJECT: 2 } }, { stream: out });
    expect(out.text).toContain('run summary');
    expect(out.text).toMatch(/dead letters\s+0/);
    expect(out.text).toMatch(/signals\s+BREAK 1, REJECT 2/);
  });
});

describe('formatting', () => {
  it('labels times with their zone', () => {
    const ms = Date.UTC(2026, 0, 15, 15, 0, 0, 250);
    expect(formatTime(ms)).toBe('2026-01-15 15:00:00.250 UTC');
    expect(formatTime(ms, 'America/New_York')).toBe('2026-01-15 10:00:00.250 America/New_York');
    expect(formatTime(BigInt(ms) * 1_000_000n + 999n, 'UTC')).toBe('2026-01-15 15:00:00.250 UTC');
  });
  it('refuses an unknown zone with a usage error naming it', () => {
    expect(() => checkTimeZone('Mars/Olympus')).toThrow(TimeZoneError);
    expect(() => checkTimeZone('Mars/Olympus')).toThrow(/Mars\/Olympus/);
    expect(checkTimeZone('America/New_York')).toBe('America/New_York');
  });
  it('counts and durations', () => {
    expect(formatCount(999)).toBe('999');
    expect(formatCount(56789)).toBe('56.8k');
    expect(formatCount(1234567)).toBe('1.23M');
    expect(formatDuration(4.4)).toBe('4s');
    expect(formatDuration(125)).toBe('2m05s');
    expect(formatDuration(3720)).toBe('1h02m');
  });
  it('exit codes are the documented ones', () => {
    expect(EXIT).toMatchObject({ OK: 0, FAILED: 1, USAGE: 2, DEAD_LETTERS: 3 });
  });
});

describe('friendly failures', () => {
  let server: Server;
  let openPort = 0;
  let closedPort = 0;
  beforeAll(async () => {
    server = createServer((s) => s.destroy());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    openPort = (server.address() as { port: number }).port;
    const tmp = createServer();
    await new Promise<void>((r) => tmp.listen(0, '127.0.0.1', () => r()));
    closedPort = (tmp.address() as { port: number }).port;
    await new Promise((r) => tmp.close(r));
  });
  afterAll(() => new Promise((r) => server.close(r)));

  it('parses broker strings and URLs', () => {
    expect(hostPort('127.0.0.1:9092')).toEqual({ host: '127.0.0.1', port: 9092 });
    expect(hostPort('http://127.0.0.1:8081')).toEqual({ host: '127.0.0.1', port: 8081 });
    expect(hostPort('https://s3.example.com')).toEqual({ host: 's3.example.com', port: 443 });
    expect(hostPort('redis://localhost')).toEqual({ host: 'localhost', port: 6379 });
  });

  it('probes a port', async () => {
    expect(await probeTcp(`127.0.0.1:${openPort}`)).toBeNull();
    expect(await probeTcp(`127.0.0.1:${closedPort}`)).toBe('connection refused');
  });

  it('preflight names the service, the address and the fix in one line', async () => {
    const cfg = {
      kafka: { brokers: [`127.0.0.1:${closedPort}`] },
      schema_registry: { url: `http://127.0.0.1:${openPort}` },
      s3: { endpoint: `http://127.0.0.1:${openPort}` },
      redis: { url: `redis://127.0.0.1:${closedPort}` },
    } as never;
    await expect(preflight(cfg, ['registry', 's3'])).resolves.toBeUndefined();
    const e = await preflight(cfg, ['registry', 'kafka']).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(UnreachableError);
    const msg = (e as Error).message;
    expect(msg).toContain(`Kafka at 127.0.0.1:${closedPort} (connection refused)`);
    expect(msg).toContain('scripts/stack up');
    expect(msg).toContain('snap-engine demo');
    expect(msg).not.toContain('\n');
    await expect(preflight(cfg, ['redis'])).rejects.toThrow(/Redis at redis:\/\/127\.0\.0\.1/);
  });

  it('recognises client connection errors in cause chains and leaves other errors alone', () => {
    const kafkajs = Object.assign(new Error('Connection error: connect ECONNREFUSED 127.0.0.1:9092'), { name: 'KafkaJSConnectionError' });
    const retries = Object.assign(new Error('Number of retries exceeded'), { name: 'KafkaJSNumberOfRetriesExceeded', originalError: kafkajs });
    expect(asUnreachable(retries, 'Kafka', '127.0.0.1:9092')?.message).toMatch(/^cannot reach Kafka at 127\.0\.0\.1:9092 \(connection refused\)/);
    const fetchErr = new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) });
    expect(asUnreachable(fetchErr, 'schema registry', 'http://x:8081')).toBeInstanceOf(UnreachableError);
    expect(asUnreachable(new Error('Topic authorization failed'), 'Kafka', 'x')).toBeNull();
  });
});

describe('AtomicOutput', () => {
  it('commit renames the finished file into place; abort leaves nothing and keeps an earlier file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'atomic-'));
    try {
      const target = join(dir, 'sub', 'out.jsonl');
      const a = new AtomicOutput(target);
      writeFileSync(a.tempPath, 'one\n');
      expect(existsSync(target)).toBe(false);
      a.commit();
      expect(readFileSync(target, 'utf8')).toBe('one\n');
      const b = new AtomicOutput(target);
      writeFileSync(b.tempPath, 'half');
      b.abort();
      expect(existsSync(b.tempPath)).toBe(false);
      expect(readFileSync(target, 'utf8')).toBe('one\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
