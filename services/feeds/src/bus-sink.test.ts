import { manualClock } from '@snap/platform';
import type { InputEvent, StockQuote, StockTrade } from '@snap/core';
import { InProcessBusSink } from './bus-sink';

const env = (ts: bigint) => ({ schema_version: 1, source: 'sim' as const, ts_event_ns: ts, ts_recv_ns: ts, key: 'SPY', seq: null, event_id: `e${ts}` });
const quote = (ts: bigint): StockQuote => ({ ...env(ts), schema: 'stocks.quotes.v1', symbol: 'SPY', bid_px: 1, ask_px: 1.01, bid_sz: 100, ask_sz: 100, bid_exch: null, ask_exch: null });
const trade = (ts: bigint): StockTrade => ({ ...env(ts), schema: 'stocks.trades.v1', symbol: 'SPY', price: 1, size: 1, exchange: null, conditions: [] });

async function collect(sink: InProcessBusSink): Promise<InputEvent[]> {
  const out: InputEvent[] = [];
  for await (const ev of sink.events()) out.push(ev);
  return out;
}

describe('InProcessBusSink', () => {
  it('releases streams merged in event-time order although they arrive out of order across streams', async () => {
    const sink = new InProcessBusSink({ latePolicy: 'dead_letter', heartbeatMs: 0, clock: manualClock(0n) });
    const got = collect(sink);
    await sink.emit(trade(300n));
    await sink.emit(quote(100n)); // earlier, but on another stream: not late
    await sink.emit(quote(200n));
    await sink.emit(trade(250n)); // late on its own stream (after 300): dead-lettered, never reordered
    await sink.close();
    const evs = await got;
    expect(evs.map((e) => [e.schema, e.ts_event_ns])).toEqual([
      ['stocks.quotes.v1', 100n],
      ['stocks.quotes.v1', 200n],
      ['stocks.trades.v1', 300n],
    ]);
    expect(sink.deadLetters).toHaveLength(1);
  });

  it('holds an event until every stream is past it; an event-time heartbeat into every stream releases it', async () => {
    const ms = (n: number) => BigInt(n) * 1_000_000n;
    const sink = new InProcessBusSink({ latePolicy: 'dead_letter', heartbeatMs: 250, clock: manualClock(0n) });
    const seen: InputEvent[] = [];
    const reader = (async () => {
      for await (const ev of sink.events()) seen.push(ev);
    })();
    const settle = () => new Promise((r) => setImmediate(r));
    await sink.emit(quote(ms(100)));
    await settle();
    const data = () => seen.filter((e) => e.schema !== 'heartbeat.v1');
    expect(data()).toHaveLength(0); // the other streams have not reached t=100 ms yet
    await sink.emit(quote(ms(600))); // crosses the 500 ms boundary: a heartbeat at 500 ms goes to every stream first
    await settle();
    expect(data().map((e) => e.ts_event_ns)).toEqual([ms(100)]);
    expect(seen[seen.length - 1]).toMatchObject({ schema: 'heartbeat.v1', ts_event_ns: ms(500) });
    await sink.close();
    await reader;
    expect(data().map((e) => e.ts_event_ns)).toEqual([ms(100), ms(600)]);
  });
});
