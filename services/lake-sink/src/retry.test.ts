import { createLogger } from '@snap/platform';
import type { SignalRow } from '@snap/core';
import { OutageTracker, RetryAbortedError, backoffMs, isNetworkError, retryTransient } from './retry';
import { RedisSignalsHandler, redisTransient } from './redis-sink';
import type { RedisFeatureWriter } from './redis-features';
import { S3ObjectStore, LocalObjectStore, ObjectStoreError } from './object-store';
import { sampleSignalRow } from './testing';
import type { S3Client } from '@aws-sdk/client-s3';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({ level: 'debug', write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) });
  return { logger, lines, msgs: (level: string) => lines.filter((l) => l.level === level).map((l) => String(l.msg)) };
}

const netErr = () => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' });

describe('backoff', () => {
  it('doubles from the initial delay and is capped', () => {
    const o = { initialMs: 100, maxMs: 1000 };
    expect([1, 2, 3, 4, 5, 6, 50].map((a) => backoffMs(a, o))).toEqual([100, 200, 400, 800, 1000, 1000, 1000]);
    expect(backoffMs(0, o)).toBe(0);
  });
});

describe('retryTransient', () => {
  it('retries transient failures until success, warns once per outage and logs the recovery', async () => {
    const { logger, msgs } = capture();
    let t = 0;
    const tracker = new OutageTracker('s3://b', logger, () => t);
    const slept: number[] = [];
    let calls = 0;
    const fn = async () => {
      if (++calls <= 5) throw netErr();
      return 'ok';
    };
    const r = await retryTransient(fn, { what: 'PUT k', target: 's3://b', logger, transient: isNetworkError, backoff: { initialMs: 100, maxMs: 400 }, sleep: async (ms) => void (slept.push(ms), (t += ms)) }, tracker);
    expect(r).toBe('ok');
    expect(calls).toBe(6);
    // 100, 200, 400, 400, 400 (in ≤1 s slices)
    expect(slept).toEqual([100, 200, 400, 400, 400]);
    expect(msgs('warn')).toHaveLength(1);
    expect(msgs('info').filter((m) => m.includes('is back'))).toHaveLength(1);
    expect(tracker.outages).toBe(1);
    expect(tracker.downSeconds).toBeCloseTo(1.5, 5);
    // A second outage warns again.
    calls = 0;
    await retryTransient(fn, { what: 'PUT k2', target: 's3://b', logger, transient: isNetworkError, sleep: async () => undefined }, tracker);
    expect(msgs('warn')).toHaveLength(2);
    expect(tracker.outages).toBe(2);
  });

  it('throws a non-transient error at once', async () => {
    const { logger } = capture();
    let calls = 0;
    const bad = new Error('AccessDenied');
    await expect(
      retryTransient(async () => { calls++; throw bad; }, { what: 'PUT k', target: 's3', logger, transient: isNetworkError, sleep: async () => undefined }, new OutageTracker('s3', logger)),
    ).rejects.toBe(bad);
    expect(calls).toBe(1);
  });

  it('gives up with RetryAbortedError once the sink is stopping, and heartbeats while it waits', async () => {
    const { logger } = capture();
    let stopping = false;
    let beats = 0;
    let calls = 0;
    const p = retryTransient(
      async () => {
        calls++;
        if (calls === 3) stopping = true;
        throw netErr();
      },
      { what: 'PUT k', target: 's3', logger, transient: isNetworkError, stopping: () => stopping, onWait: async () => void beats++, backoff: { initialMs: 2500, maxMs: 2500 }, sleep: async () => undefined },
      new OutageTracker('s3', logger),
    );
    await expect(p).rejects.toBeInstanceOf(RetryAbortedError);
    expect(calls).toBe(3);
    // 2.5 s waits in 1 s slices: 3 heartbeats per wait, two complete waits.
    expect(beats).toBe(6);
  });
});

describe('which errors are transient', () => {
  const s3 = new S3ObjectStore({} as S3Client, 'b');
  const wrap = (cause: unknown) => new ObjectStoreError('PUT failed', 'k', { cause });
  it.each([
    [wrap(netErr()), true],
    [wrap(Object.assign(new Error('x'), { name: 'TimeoutError' })), true],
    [wrap(Object.assign(new Error('x'), { name: 'ServiceUnavailable', $metadata: { httpStatusCode: 503 } })), true],
    [wrap(Object.assign(new Error('x'), { name: 'XMinioServerNotInitialized', $metadata: { httpStatusCode: 503 } })), true],
    [wrap(Object.assign(new Error('x'), { name: 'InternalError', $metadata: { httpStatusCode: 500 } })), true],
    [wrap(Object.assign(new Error('x'), { name: 'SlowDown', $metadata: { httpStatusCode: 429 } })), true],
    [wrap(Object.assign(new Error('x'), { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } })), false],
    [wrap(Object.assign(new Error('x'), { name: 'InvalidAccessKeyId', $metadata: { httpStatusCode: 403 } })), false],
  ])('s3 %#', (e, want) => expect(s3.transient(e)).toBe(want));

  it('local: a full disk is transient, a permission error is not', () => {
    const local = new LocalObjectStore('/tmp');
    expect(local.transient(wrap(Object.assign(new Error('x'), { code: 'ENOSPC' })))).toBe(true);
    expect(local.transient(wrap(Object.assign(new Error('x'), { code: 'EACCES' })))).toBe(false);
  });

  it.each([
    [netErr(), true],
    [new Error('Connection is closed.'), true],
    [new Error("Stream isn't writeable and enableOfflineQueue options is false"), true],
    [new Error('LOADING Redis is loading the dataset in memory'), true],
    [new Error('Command timed out'), true],
    [new Error('ERR Error running script (call to f_x): @user_script:1: bad'), false],
    [new Error('NOPERM this user has no permissions'), false],
  ])('redis %#', (e, want) => expect(redisTransient(e)).toBe(want));
});

/** A writer double: fails while `down`, else records what it was asked to write. */
class FakeWriter {
  down = false;
  writes: SignalRow[][] = [];
  async write(rows: readonly SignalRow[]) {
    if (this.down) throw new Error('Connection is closed.');
    this.writes.push([...rows]);
    return { written: rows.length, stale: 0 };
  }
}

describe('RedisSignalsHandler', () => {
  // The handler decodes records with recordToSignalRow; feed it rows through a thin subclass instead.
  class RowHandler extends RedisSignalsHandler {
    rows(rows: SignalRow[]) {
      return (this as unknown as { remember(r: SignalRow[]): void }).remember(rows);
    }
  }

  it('keeps the newest row per level and re-asserts all of them after a reconnect, before the next batch', async () => {
    const { logger } = capture();
    const w = new FakeWriter();
    const h = new RowHandler(w as unknown as RedisFeatureWriter, logger);
    const t0 = 1_766_415_600_000_000_000n;
    const levels = ['A', 'B', 'C', 'D'];
    h.rows(levels.map((l, i) => sampleSignalRow(i, t0, { level_id: l })));
    h.rows([sampleSignalRow(9, t0 + 250_000_000n, { level_id: 'A', note: 'newer' }), sampleSignalRow(8, t0 - 250_000_000n, { level_id: 'B', note: 'older' })]);
    expect(h.latest.size).toBe(4);
    h.reconnected();
    await h.reassert();
    expect(w.writes).toHaveLength(1);
    const written = new Map(w.writes[0]!.map((r) => [r.level_id, r]));
    expect([...written.keys()].sort()).toEqual(levels);
    expect(written.get('A')!.note).toBe('newer');
    expect(written.get('B')!.ts_event_ns).toBe(t0);
    expect(h.stats.reasserts).toBe(1);
  });

  it('a re-assertion that hits an outage is retried until Redis is back', async () => {
    const { logger, msgs } = capture();
    const w = new FakeWriter();
    const h = new RowHandler(w as unknown as RedisFeatureWriter, logger);
    h.rows([sampleSignalRow(1, 1_000_000_000n, { level_id: 'A' })]);
    w.down = true;
    h.reconnected();
    await new Promise((r) => setTimeout(r, 50));
    w.down = false;
    await h.reassert();
    expect(w.writes).toHaveLength(1);
    expect(h.stats.outages).toBe(1);
    expect(msgs('warn')).toHaveLength(1);
  });

  it('with redis.ttl_s, a level not seen for longer than the TTL is not revived by a re-assertion', async () => {
    const { logger } = capture();
    const w = new FakeWriter();
    let now = 1_000_000;
    const h = new RowHandler(w as unknown as RedisFeatureWriter, logger, () => false, 60, () => now);
    h.rows([sampleSignalRow(1, 1_000_000_000n, { level_id: 'OLD' })]);
    now += 61_000;
    h.rows([sampleSignalRow(2, 2_000_000_000n, { level_id: 'FRESH' })]);
    h.reconnected();
    await h.reassert();
    expect(w.writes.map((b) => b.map((r) => r.level_id))).toEqual([['FRESH']]);
  });
});
