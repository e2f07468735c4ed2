// The Massive feed against the fake Massive server over real sockets (ws + http on 127.0.0.1, random ports).
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { defaultConfig, makeEventId, mulberry32, type InputEvent, type OptionTrade, type StockTrade } from '@snap/core';
import { createLogger, manualClock } from '@snap/platform';
import type { DeadLetterInput, FeedSink } from '../sink';
import type { WireMessage } from './fake-market';
import { FakeMassiveServer, waitUntil } from './fake-server';
import { MassiveFeed } from './massive-feed';
import { backoffDelayMs, MassiveAuthError, MassiveConnectionError, MassiveWsClient } from './ws-client';

class CollectSink implements FeedSink {
  events: InputEvent[] = [];
  dead: DeadLetterInput[] = [];
  async emit(ev: InputEvent) {
    this.events.push(ev);
  }
  async deadLetter(d: DeadLetterInput) {
    this.dead.push(d);
  }
}

// Real sockets on a shared 2-core machine: a test's own deadlines (polling) decide, not jest's 5 s default.
jest.setTimeout(60_000);

const KEY = 'test-key-5up3r-s3cret';
const T0 = Date.UTC(2025, 11, 16, 15, 0, 0); // Tuesday 10:00 New York
const RECV = 1_765_900_000_000_000_000n;

let server: FakeMassiveServer;
let feed: MassiveFeed | null = null;
let logLines: string[] = [];
const logger = () => createLogger({ level: 'debug', write: (l) => logLines.push(l) });

function makeFeed(sink: FeedSink, opts: { key?: string; n?: number; stocksUrl?: string; restPolling?: boolean; maxQueued?: number } = {}) {
  const config = defaultConfig();
  config.underlyings = ['SPY'];
  config.massive = { ...config.massive, ws_stocks_url: opts.stocksUrl ?? server.wsUrl('stocks'), ws_options_url: server.wsUrl('options'), rest_url: server.restUrl, strikes_around_spot: opts.n ?? 1, strike_step: 1 };
  feed = new MassiveFeed({ config, apiKey: opts.key ?? KEY, sink, clock: manualClock(RECV), logger: logger(), random: mulberry32(7).next, backoff: { initialMs: 20, maxMs: 100 }, restPolling: opts.restPolling ?? false, maxQueued: opts.maxQueued });
  return feed;
}

const stockTrade = (i: number, p = 676.1): WireMessage => ({ ev: 'T', sym: 'SPY', x: 4, i: String(i), z: 1, p, s: 100 + i, c: [], t: T0 + i, q: i });
const stockQuote = (t: number, bp: number, ap: number): WireMessage => ({ ev: 'Q', sym: 'SPY', bx: 11, bp, bs: 300, ax: 12, ap, as: 200, c: 1, t, q: 10_000 + t - T0, z: 1 });

beforeEach(async () => {
  logLines = [];
  server = await FakeMassiveServer.start({ apiKey: KEY, logger: logger() });
});

afterEach(async () => {
  await feed?.stop();
  feed = null;
  await server.close();
});

describe('backoffDelayMs', () => {
  it('is capped exponential with equal jitter from the injected source', () => {
    expect([0, 1, 2, 3, 10].map((a) => backoffDelayMs(a, { initialMs: 100, maxMs: 1000 }, () => 0))).toEqual([50, 100, 200, 400, 500]);
    expect([0, 1, 2, 3, 10].map((a) => backoffDelayMs(a, { initialMs: 100, maxMs: 1000 }, () => 0.999999))).toEqual([100, 200, 400, 800, 1000]);
    const a = mulberry32(3).next;
    const b = mulberry32(3).next;
    expect([0, 1, 2].map((n) => backoffDelayMs(n, {}, a))).toEqual([0, 1, 2].map((n) => backoffDelayMs(n, {}, b)));
  });
});

describe('MassiveFeed against the fake Massive server', () => {
  it('bounded memory: a blocked sink (Kafka down) pauses the sockets at maxQueued and resumes them once it drains; nothing is lost', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    class BlockedSink extends CollectSink {
      override async emit(ev: InputEvent) {
        await gate;
        this.events.push(ev);
      }
    }
    const sink = new BlockedSink();
    const f = makeFeed(sink, { maxQueued: 8 });
    await f.start();
    await waitUntil(() => server.liveClients('stocks')[0]?.subscriptions.size === 2, 'stock subscriptions');
    server.publish('stocks', Array.from({ length: 20 }, (_, i) => stockTrade(i + 1)));
    await waitUntil(() => logLines.some((l) => l.includes('pausing the sockets')), 'the feed to pause its sockets');
    expect(f.stats().pauses).toBe(1);
    expect(sink.events).toHaveLength(0);
    release();
    await waitUntil(() => sink.events.length === 20, 'every trade once the sink is unblocked');
    expect(logLines.some((l) => l.includes('reading the sockets again'))).toBe(true);
    expect(sink.events.map((e) => (e as StockTrade).size)).toEqual(Array.from({ length: 20 }, (_, i) => 101 + i));
  });

  it('normal session: auth, subscribe, strikes follow spot, exact normalized events in order', async () => {
    const sink = new CollectSink();
    const f = makeFeed(sink);
    await f.start();
    await waitUntil(() => server.liveClients('stocks')[0]?.subscriptions.size === 2, 'stock subscriptions');
    expect(server.liveClients('stocks')[0]!.actions).toEqual([{ action: 'subscribe', channels: ['Q.SPY', 'T.SPY'] }]);
    expect(server.liveClients('options')[0]!.actions).toEqual([]);

    server.publish('stocks', [stockQuote(T0, 676.19, 676.21)]);
    // Spot 676.20 → 0DTE 2025-12-16 strikes 675..677, calls and puts, trades and quotes.
    await waitUntil(() => server.liveClients('options')[0]?.subscriptions.size === 12, 'option subscriptions');
    const call = 'O:SPY251216C00676000';
    expect([...server.liveClients('options')[0]!.subscriptions].sort()).toEqual(f.strikeManager('SPY')!.subscriptions());
    expect(f.strikeManager('SPY')!.contracts()).toContain(call);

    expect(server.publish('options', [{ ev: 'Q', sym: call, bx: 301, ax: 302, bp: 2.48, ap: 2.52, bs: 10, as: 12, t: T0 + 5, q: 50 }])).toBe(1);
    server.publish('options', [{ ev: 'T', sym: call, x: 312, p: 2.52, s: 7, c: [209], t: T0 + 6, q: 51 }]);
    // Not subscribed: the fake server filters it out, as Massive would.
    server.publish('options', [{ ev: 'T', sym: 'O:SPY251216C00690000', x: 312, p: 0.05, s: 1, t: T0 + 6, q: 52 }]);
    server.publish('stocks', [stockTrade(7, 676.21)]);
    await waitUntil(() => sink.events.length === 3, '3 events');
    await f.flush();

    const quoteNs = BigInt(T0) * 1_000_000n;
    expect(sink.events).toEqual([
      {
        schema: 'stocks.quotes.v1',
        schema_version: 1,
        source: 'massive_ws',
        ts_event_ns: quoteNs,
        ts_recv_ns: RECV,
        key: 'SPY',
        seq: 0n,
        event_id: makeEventId({ source: 'massive_ws', ts_event_ns: quoteNs, symbol: 'SPY', price: 676.19, size: 300, exchange: '11/12/676.21/200', seq: 10_000 }),
        symbol: 'SPY',
        bid_px: 676.19,
        ask_px: 676.21,
        bid_sz: 300,
        ask_sz: 200,
        bid_exch: 11,
        ask_exch: 12,
      },
      {
        schema: 'options.trades.v1',
        schema_version: 1,
        source: 'massive_ws',
        ts_event_ns: quoteNs + 6_000_000n,
        ts_recv_ns: RECV,
        key: 'SPY',
        seq: 0n,
        event_id: makeEventId({ source: 'massive_ws', ts_event_ns: quoteNs + 6_000_000n, symbol: call, price: 2.52, size: 7, exchange: 312, seq: 51 }),
        underlying: 'SPY',
        option_symbol: call,
        exp_date: '2025-12-16',
        strike: 676,
        right: 'C',
        price: 2.52,
        size: 7,
        opt_bid: 2.48,
        opt_ask: 2.52,
        aggressor: 1,
      },
      {
        schema: 'stocks.trades.v1',
        schema_version: 1,
        source: 'massive_ws',
        ts_event_ns: quoteNs + 7_000_000n,
        ts_recv_ns: RECV,
        key: 'SPY',
        seq: 1n,
        event_id: `massive_ws:SPY:4:7:${T0 + 7}`,
        symbol: 'SPY',
        price: 676.21,
        size: 107,
        exchange: 4,
        conditions: [],
      },
    ]);
    expect(sink.dead).toEqual([]);
    expect(f.stats()).toMatchObject({ events: 3, optionQuotes: 1, deadLetters: 0 });
    expect(logLines.join('\n')).not.toContain(KEY);
  });

  it('a dropped connection is resumed: the CURRENT subscription set is resubscribed and every later event arrives exactly once', async () => {
    const sink = new CollectSink();
    const f = makeFeed(sink);
    await f.start();
    await waitUntil(() => server.liveClients('stocks')[0]?.subscriptions.size === 2, 'stock subscriptions');
    server.publish('stocks', [stockQuote(T0, 676.19, 676.21)]);
    await waitUntil(() => server.liveClients('options')[0]?.subscriptions.size === 12, 'first strike window');
    // Spot moves: the window re-centres on 678 before the drop, so the set to restore is not the initial one.
    server.publish('stocks', [stockQuote(T0 + 1, 678.1, 678.12)]);
    await waitUntil(() => f.strikeManager('SPY')!.centerStrike === 678 && server.liveClients('options')[0]!.subscriptions.size === 12 && server.liveClients('options')[0]!.subscriptions.has('T.O:SPY251216C00679000'), 'moved strike window');
    const expectedOptions = f.strikeManager('SPY')!.subscriptions();

    for (let i = 1; i <= 5; i++) server.publish('stocks', [stockTrade(i)]);
    await waitUntil(() => sink.events.filter((e) => e.schema === 'stocks.trades.v1').length === 5, 'trades 1..5');

    const before = { stocks: server.clients.filter((c) => c.cluster === 'stocks').length, options: server.clients.filter((c) => c.cluster === 'options').length };
    expect(server.dropConnections()).toBe(2);
    // The feed comes back on new connections and subscribes again by itself.
    await waitUntil(() => server.liveClients('stocks').length === 1 && server.liveClients('stocks')[0]!.subscriptions.size === 2, 'stocks resubscribed');
    await waitUntil(() => server.liveClients('options').length === 1 && server.liveClients('options')[0]!.subscriptions.size === 12, 'options resubscribed');
    const stocksAfter = server.liveClients('stocks')[0]!;
    const optionsAfter = server.liveClients('options')[0]!;
    expect(server.clients.filter((c) => c.cluster === 'stocks').length).toBe(before.stocks + 1);
    expect(server.clients.filter((c) => c.cluster === 'options').length).toBe(before.options + 1);
    expect(stocksAfter.actions).toEqual([{ action: 'subscribe', channels: ['Q.SPY', 'T.SPY'] }]);
    expect(optionsAfter.actions).toEqual([{ action: 'subscribe', channels: expectedOptions }]);

    // The scripted stream continues after the reconnect.
    for (let i = 6; i <= 10; i++) server.publish('stocks', [stockTrade(i)]);
    server.publish('options', [{ ev: 'T', sym: 'O:SPY251216P00678000', x: 312, p: 1.1, s: 2, t: T0 + 20, q: 90 }]);
    await waitUntil(() => sink.events.filter((e) => e.schema === 'stocks.trades.v1').length >= 10 && sink.events.some((e) => e.schema === 'options.trades.v1'), 'trades 6..10');
    await f.flush();
    const trades = sink.events.filter((e): e is StockTrade => e.schema === 'stocks.trades.v1');
    expect(trades.map((t) => t.event_id)).toEqual(Array.from({ length: 10 }, (_, k) => `massive_ws:SPY:4:${k + 1}:${T0 + k + 1}`));
    // seq is per connection: it restarts on the new one (quotes 0,1 then trades 2..6; after reconnect 0..4).
    expect(trades.map((t) => t.seq)).toEqual([2n, 3n, 4n, 5n, 6n, 0n, 1n, 2n, 3n, 4n]);
    expect(sink.events.filter((e): e is OptionTrade => e.schema === 'options.trades.v1').map((e) => e.option_symbol)).toEqual(['O:SPY251216P00678000']);
    expect(f.stats().stocks).toMatchObject({ connections: 2, reconnects: 1 });
    expect(f.stats().options).toMatchObject({ connections: 2, reconnects: 1 });
    expect(sink.dead).toEqual([]);
  });

  it('subscription changes made while disconnected are applied on the reconnect', async () => {
    const sink = new CollectSink();
    const f = makeFeed(sink);
    await f.start();
    await waitUntil(() => server.liveClients('options').length === 1, 'options live');
    server.dropConnections('options');
    f.options.subscribe(['T.O:SPY251216C00700000']);
    await waitUntil(() => server.liveClients('options').length === 1 && server.liveClients('options')[0]!.subscriptions.has('T.O:SPY251216C00700000'), 'resubscribed with the new channel');
    expect(f.options.subscriptions()).toEqual(['T.O:SPY251216C00700000']);
  });

  it('a malformed frame is dead-lettered with reason and raw bytes, and the feed goes on', async () => {
    const sink = new CollectSink();
    const f = makeFeed(sink);
    await f.start();
    await waitUntil(() => server.liveClients('stocks')[0]?.subscriptions.size === 2, 'stock subscriptions');
    const broken = '[{"ev":"T","sym":"SPY","p":676.1,';
    server.injectRaw('stocks', broken);
    server.injectRaw('stocks', JSON.stringify([{ ev: 'T', sym: 'SPY', p: 'NaN', s: 1, t: T0 }, stockTrade(1)]));
    server.publish('stocks', [stockTrade(2)]);
    await waitUntil(() => sink.events.length === 2 && sink.dead.length === 2, 'two events and two dead letters');
    await f.flush();
    expect(sink.dead[0]).toMatchObject({ source: 'feeds.massive_ws.stocks', error_class: 'NormalizeError', ts_recv_ns: RECV });
    expect(sink.dead[0]!.reason).toMatch(/^frame is not valid JSON/);
    expect(sink.dead[0]!.raw.toString('utf8')).toBe(broken);
    expect(sink.dead[1]!.reason).toBe('stocks message #0: stock trade: field "p" Invalid input: expected number, received string');
    expect(JSON.parse(sink.dead[1]!.raw.toString('utf8'))).toEqual({ ev: 'T', sym: 'SPY', p: 'NaN', s: 1, t: T0 });
    expect(sink.events.map((e) => e.event_id)).toEqual([`massive_ws:SPY:4:1:${T0 + 1}`, `massive_ws:SPY:4:2:${T0 + 2}`]);
    expect(f.stats()).toMatchObject({ events: 2, deadLetters: 2 });
    expect(f.stocks.isLive).toBe(true);
  });

  it('a bad API key ends with a clear typed error that does not contain the key, and no retry', async () => {
    const sink = new CollectSink();
    const bad = 'wrong-key-should-never-be-printed';
    const f = makeFeed(sink, { key: bad });
    const err = await f.start().then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(MassiveAuthError);
    expect((err as Error).message).toMatch(/^Massive authentication failed \((stocks|options) at ws:\/\/127\.0\.0\.1:\d+\/(stocks|options)\): authentication failed; check massive\.api_key/);
    expect((err as Error).message).not.toContain(bad);
    await expect(f.done).rejects.toBeInstanceOf(MassiveAuthError);
    expect(f.stats().stocks.connections + f.stats().options.connections).toBeLessThanOrEqual(2);
    expect(server.clients.every((c) => !c.authenticated && c.actions.length === 0)).toBe(true);
    expect(logLines.join('\n')).not.toContain(bad);
  });

  it('gives up with MassiveConnectionError after maxAttempts when nothing listens', async () => {
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const client = new MassiveWsClient({ url: `ws://127.0.0.1:${port}/stocks`, cluster: 'stocks', apiKey: KEY, onFrame: () => undefined, backoff: { initialMs: 5, maxMs: 20, maxAttempts: 3 }, random: mulberry32(1).next, logger: logger() });
    const err = await client.start().then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(MassiveConnectionError);
    expect((err as MassiveConnectionError).attempts).toBe(3);
    expect(client.stats.connections).toBe(4);
    expect((err as Error).message).toMatch(/ECONNREFUSED/);
    await client.close();
  });

  it('polls the REST chain for the 0DTE expiry of the latest event time and strikes near spot, emitting greeks snapshots', async () => {
    await server.close();
    const { generateOptionChain } = await import('./fake-market');
    const chainRows = generateOptionChain({ seed: 3, asOfMs: T0, spot: 676, strikesEachSide: 10, expirations: ['2025-12-16', '2025-12-17'] });
    server = await FakeMassiveServer.start({ apiKey: KEY, logger: logger(), chain: { SPY: chainRows } });
    const sink = new CollectSink();
    const f = makeFeed(sink, { n: 2, restPolling: true });
    await f.start();
    // With no market data yet, the first poll (at start) uses the clock's date and no strike filter.
    await waitUntil(() => sink.events.some((e) => e.schema === 'options.greeks_snapshots.v1'), 'first greeks snapshot');
    await waitUntil(() => server.liveClients('stocks')[0]?.subscriptions.size === 2, 'stock subscriptions');
    server.publish('stocks', [stockQuote(T0, 676.19, 676.21)]);
    await waitUntil(() => f.spotOf('SPY') !== undefined, 'spot');
    sink.events.length = 0;
    const snap = await f.pollGreeks('SPY');
    const q = server.restLog[server.restLog.length - 1]!.query;
    expect(q).toMatchObject({ expiration_date: '2025-12-16', 'strike_price.gte': '674.2', 'strike_price.lte': '678.2', limit: '250' });
    const withGreeks = chainRows.filter((r) => {
      const d = r.details as { expiration_date: string; strike_price: number };
      return d.expiration_date === '2025-12-16' && d.strike_price >= 674.2 && d.strike_price <= 678.2 && r.greeks !== undefined;
    });
    expect(snap.events).toHaveLength(withGreeks.length);
    expect(sink.events).toEqual(snap.events);
    // The vendor's time (the newest last_updated / sip_timestamp of the chain: its as-of, T0) is 46 min older than the
    // local clock here (RECV), older than live heartbeats may already have released: the snapshot is stamped at the
    // floor (poll end − 500 ms; the token bucket's waits advance the manual clock during the poll), i.e. valid from
    // later than the vendor says, never earlier.
    expect(snap.vendor_ns).toBe(BigInt(T0) * 1_000_000n);
    expect(snap.time_source).toBe('floor');
    expect(snap.ts_event_ns >= RECV - 500_000_000n && snap.ts_event_ns < RECV + 1_000_000_000n).toBe(true);
    expect(sink.events.every((e) => e.schema === 'options.greeks_snapshots.v1' && e.key === 'SPY' && e.source === 'massive_rest' && e.ts_event_ns === snap.ts_event_ns && e.ts_recv_ns === RECV)).toBe(true);
  });

  it('stops with a clear error when the sink fails (nothing is dropped silently)', async () => {
    const sink = new CollectSink();
    sink.emit = async () => {
      throw new Error('broker unavailable');
    };
    const f = makeFeed(sink);
    await f.start();
    await waitUntil(() => server.liveClients('stocks')[0]?.subscriptions.size === 2, 'stock subscriptions');
    server.publish('stocks', [stockTrade(1)]);
    await expect(f.done).rejects.toThrow('feed sink failed: broker unavailable');
    expect(f.stocks.isLive).toBe(false);
  });

  it('streams the seeded session end to end (stocks and options) with nothing dead-lettered', async () => {
    await server.close();
    const { seededMarket } = await import('./fake-market');
    server = await FakeMassiveServer.start({ apiKey: KEY, logger: logger(), source: seededMarket({ seed: 11, startMs: T0, strikesEachSide: 1 }) });
    const sink = new CollectSink();
    const f = makeFeed(sink, { n: 3 });
    await f.start();
    await waitUntil(() => server.liveClients('stocks')[0]?.subscriptions.size === 2, 'stock subscriptions');
    server.step(1); // first quote sets spot and the strike window
    await waitUntil(() => server.liveClients('options')[0]?.subscriptions.size === 28, 'option window', 30_000);
    const published = server.step(200);
    const expectStocks = published.filter((t) => t.cluster === 'stocks').flatMap((t) => t.events).length;
    const optionTrades = published.filter((t) => t.cluster === 'options').flatMap((t) => t.events.filter((e) => e.ev === 'T')).length;
    await waitUntil(() => sink.events.length >= 1 + expectStocks + optionTrades, 'all seeded events', 30_000);
    await f.flush();
    expect(sink.dead).toEqual([]);
    const opt = sink.events.filter((e): e is OptionTrade => e.schema === 'options.trades.v1');
    expect(opt.length).toBe(optionTrades);
    expect(optionTrades).toBeGreaterThan(20);
    // The seeded tape trades at the bid, the ask or the mid: the quote decides at the touch, the tick rule at the mid,
    // and a contract's first print at the mid stays unknown, so all three signs show up.
    expect(new Set(opt.map((o) => o.aggressor))).toEqual(new Set([-1, 0, 1]));
    expect(opt.every((o) => o.opt_bid !== null && o.opt_ask !== null)).toBe(true);
  });
});
