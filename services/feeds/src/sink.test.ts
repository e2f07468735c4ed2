import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseEventLine, type InputEvent, type StockTrade } from '@snap/core';
import { createLogger, manualClock } from '@snap/platform';
import { JsonlFeedSink, withEventId } from './sink';

const MS = 1_000_000n;
const T0 = 1_765_000_000_000n * MS; // a multiple of 250 ms
const quiet = createLogger({ write: () => undefined });

function trade(tsMs: number, over: Partial<StockTrade> = {}): StockTrade {
  const ts = T0 + BigInt(tsMs) * MS;
  return { schema: 'stocks.trades.v1', schema_version: 1, source: 'sim', ts_event_ns: ts, ts_recv_ns: ts, key: 'SPY', seq: null, event_id: '', symbol: 'SPY', price: 600.25, size: 100, exchange: 4, conditions: [], ...over };
}

function sinkIn(policy: 'dead_letter' | 'clamp' = 'dead_letter', heartbeatMs = 250) {
  const path = join(mkdtempSync(join(tmpdir(), 'feeds-sink-')), 'out.jsonl');
  const sink = new JsonlFeedSink({ path, latePolicy: policy, heartbeatMs, clock: manualClock(T0), logger: quiet, defaultKey: 'SPY' });
  const read = (): InputEvent[] => readFileSync(path, 'utf8').trim().split('\n').filter(Boolean).map((l, i) => parseEventLine(l, i + 1));
  const deadLetters = (): Record<string, string>[] => (existsSync(sink.deadLetterPath) ? readFileSync(sink.deadLetterPath, 'utf8').trim().split('\n').map((l) => JSON.parse(l)) : []);
  return { sink, read, deadLetters };
}

describe('JsonlFeedSink (the shared ordered pipeline, file output)', () => {
  it('writes events in call order with event-time heartbeats before the first record of each new tick', async () => {
    const { sink, read } = sinkIn();
    await sink.emit(trade(10));
    await sink.emit(trade(20));
    await sink.emit(trade(260));
    await sink.emit(trade(1_000));
    await sink.close();
    const out = read();
    expect(out.map((e) => `${e.schema}@${(e.ts_event_ns - T0) / MS}`)).toEqual([
      'heartbeat.v1@0',
      'stocks.trades.v1@10',
      'stocks.trades.v1@20',
      'heartbeat.v1@250',
      'stocks.trades.v1@260',
      'heartbeat.v1@1000',
      'stocks.trades.v1@1000',
    ]);
    expect(sink.metrics.produced).toBe(4);
    expect(sink.metrics.heartbeats).toBe(3);
    // event_id filled per §2.5 when the feed had none, deterministic
    expect(out[1]!.event_id).toMatch(/^[0-9a-f]{16}$/);
    expect(out[1]!.event_id).toBe(withEventId(trade(10)).event_id);
  });

  it('dead-letters a late record (default policy) with reason and raw bytes, counts it, and goes on', async () => {
    const { sink, read, deadLetters } = sinkIn('dead_letter', 0);
    await sink.emit(trade(100));
    await sink.emit(trade(50, { price: 1.5 }));
    await sink.emit(trade(150));
    await sink.close();
    expect(read().map((e) => (e as StockTrade).price)).toEqual([600.25, 600.25]);
    expect(sink.metrics).toMatchObject({ produced: 2, late: 1, dead_lettered: 1, clamped: 0, dead_lettered_by_class: { LateRecord: 1 } });
    const [dl] = deadLetters();
    expect(dl!.reason).toMatch(/late record: ts_event_ns \d+ is 50000000 ns before the last record of partition stocks.trades.v1 key SPY/);
    expect(dl!.error_path).toBe('ts_event_ns');
    const raw = parseEventLine(Buffer.from(dl!.raw_base64!, 'base64').toString(), 1) as StockTrade;
    expect(raw.price).toBe(1.5);
    expect(raw.ts_event_ns).toBe(T0 + 50n * MS);
  });

  it('clamps a late record under the clamp policy and counts it', async () => {
    const { sink, read } = sinkIn('clamp', 0);
    await sink.emit(trade(100));
    await sink.emit(trade(50, { price: 1.5 }));
    await sink.close();
    const out = read() as StockTrade[];
    expect(out.map((e) => [e.price, (e.ts_event_ns - T0) / MS])).toEqual([
      [600.25, 100n],
      [1.5, 100n],
    ]);
    expect(sink.metrics).toMatchObject({ produced: 2, late: 1, clamped: 1, dead_lettered: 0 });
  });

  it('a resumed live feed drops records older than what the previous run produced per stream (not dead-lettered as late)', async () => {
    const { sink, read, deadLetters } = sinkIn('dead_letter', 0);
    sink.setResumeFloor({ 'stocks.trades.v1|SPY': String(T0 + 20n * MS) });
    await sink.emit(trade(10));
    await sink.emit(trade(20));
    await sink.emit(trade(30));
    await sink.close();
    expect(read().map((e) => (e.ts_event_ns - T0) / MS)).toEqual([20n, 30n]);
    expect(deadLetters()).toHaveLength(0);
    expect(sink.resumeSkipped).toBe(1);
  });

  it('an implausible record (checkPlausible) is dead-lettered with the reason and its field named, and the next one is written', async () => {
    const { sink, read, deadLetters } = sinkIn('dead_letter', 0);
    await sink.emit(trade(10, { size: -3 }));
    await sink.emit(trade(20, { price: 1e308 }));
    await sink.emit(trade(30));
    await sink.close();
    expect(read()).toHaveLength(1);
    const [dl, dl2] = deadLetters();
    expect(dl!.reason).toMatch(/^implausible stocks.trades.v1 record: size -3 is not positive/);
    expect(dl!.error_class).toBe('ImplausibleRecord');
    expect(dl!.error_path).toBe('size');
    expect(dl2!.reason).toMatch(/price 1e\+308 is above/);
    expect(sink.metrics).toMatchObject({ produced: 1, dead_lettered: 2, implausible: 2, late: 0 });
  });

  it('a late record does not move partition time for later records (dead letters do not commit)', async () => {
    const { sink, read } = sinkIn('dead_letter', 0);
    await sink.emit(trade(100, { size: -1 })); // invalid: dead-lettered, must not raise the partition's time
    await sink.emit(trade(50));
    await sink.close();
    expect(read()).toHaveLength(1);
  });

  it('serializes concurrent emits in call order', async () => {
    const { sink, read } = sinkIn('dead_letter', 0);
    await Promise.all([1, 2, 3, 4, 5].map((i) => sink.emit(trade(i * 10, { size: i }))));
    await sink.close();
    expect(read().map((e) => (e as StockTrade).size)).toEqual([1, 2, 3, 4, 5]);
  });
});

describe('JsonlFeedSink holds lines and writes them in pieces', () => {
  it('a line reaches the file within the hold time with no flush (a reader following a live feed sees it), in order', async () => {
    const { sink, read } = sinkIn();
    await sink.emit(trade(10));
    await sink.emit(trade(20));
    await new Promise((r) => setTimeout(r, 400));
    expect(read().map((e) => `${e.schema}@${(e.ts_event_ns - T0) / MS}`)).toEqual(['heartbeat.v1@0', 'stocks.trades.v1@10', 'stocks.trades.v1@20']);
    await sink.emit(trade(30));
    await sink.close();
    expect(read().map((e) => `${(e.ts_event_ns - T0) / MS}`)).toEqual(['0', '10', '20', '30']);
  });

  it('flush() hands over every held line; many lines are written whole, in call order', async () => {
    const { sink, read } = sinkIn();
    for (let i = 0; i < 3000; i++) await sink.emit(trade(10 + i, { size: 100 + i }));
    await sink.flush();
    const out = read().filter((e) => e.schema === 'stocks.trades.v1') as StockTrade[];
    expect(out.map((e) => e.size)).toEqual(Array.from({ length: 3000 }, (_, i) => 100 + i));
    await sink.close();
  });
});

describe('JsonlFeedSink append (resumed replays)', () => {
  it('append keeps what an earlier run wrote; the default truncates', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'feeds-append-')), 'out.jsonl');
    const mk = (append: boolean) => new JsonlFeedSink({ path, append, latePolicy: 'dead_letter', heartbeatMs: 0, clock: manualClock(T0), logger: quiet });
    let s = mk(false);
    await s.emit(trade(1));
    await s.close();
    s = mk(true);
    await s.emit(trade(2));
    await s.close();
    expect(read(path).map((e) => (e.ts_event_ns - T0) / MS)).toEqual([1n, 2n]);
    s = mk(false);
    await s.emit(trade(3));
    await s.close();
    expect(read(path).map((e) => (e.ts_event_ns - T0) / MS)).toEqual([3n]);
  });
});

describe('live (wall-clock) heartbeats', () => {
  class GatedSink extends JsonlFeedSink {
    gate: Promise<void> = Promise.resolve();
    protected override async writeEvent(ev: InputEvent): Promise<void> {
      await this.gate;
      await super.writeEvent(ev);
    }
  }

  afterEach(() => jest.useRealTimers());

  it('advance an idle stream to floor(now - lag), and never while records are waiting in the sink', async () => {
    jest.useFakeTimers();
    const path = join(mkdtempSync(join(tmpdir(), 'feeds-live-')), 'out.jsonl');
    const clock = manualClock(T0 + 10_000n * MS);
    const sink = new GatedSink({ path, latePolicy: 'dead_letter', heartbeatMs: 250, clock, logger: quiet });
    sink.startLiveHeartbeats(['SPY'], 500, 'massive_ws');

    // idle: one heartbeat per tick at floor(now - 500 ms)
    jest.advanceTimersByTime(250);
    await sink.flush();
    expect(sink.heartbeats!.lastHeartbeat('SPY')).toBe(T0 + 9_500n * MS);

    // (live: the record at 9800 crossing the 9750 boundary does NOT fan a heartbeat into the other streams)
    // busy: a record is stuck in the sink (slow broker); the clock moves on 2 s; ticks must not claim that time
    let open!: () => void;
    sink.gate = new Promise((r) => (open = r));
    const stuck = sink.emit(trade(9_800));
    const queued = sink.emit(trade(9_900));
    clock.advanceMs(2_000);
    jest.advanceTimersByTime(1_000);
    expect(sink.liveHeartbeatsSkipped).toBe(4);
    open();
    await Promise.all([stuck, queued]);
    expect(sink.metrics).toMatchObject({ produced: 2, late: 0, dead_lettered: 0 });

    // idle again: time catches up
    jest.advanceTimersByTime(250);
    await sink.flush();
    expect(sink.heartbeats!.lastHeartbeat('SPY')).toBe(T0 + 11_500n * MS);
    sink.stopLiveHeartbeats();
    await sink.close();
    const out = read(path);
    expect(out.map((e) => `${e.schema}@${(e.ts_event_ns - T0) / MS}`)).toEqual(['heartbeat.v1@9500', 'stocks.trades.v1@9800', 'stocks.trades.v1@9900', 'heartbeat.v1@11500']);
  });
});

function read(path: string): InputEvent[] {
  return readFileSync(path, 'utf8').trim().split('\n').filter(Boolean).map((l, i) => parseEventLine(l, i + 1));
}
