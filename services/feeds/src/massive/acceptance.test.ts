// Issue 14 acceptance, over real sockets against the fake Massive server (ws + http on 127.0.0.1, random ports):
// silent drops, two processes on one key, no chain access, one cluster missing, a delayed plan feeding Fuel, and
// the as-of side inference of a replayed session read from the Prometheus metric.
import { defaultConfig, FuelEngine, mulberry32, parseConfig, type GreeksSnapshot, type InputEvent, type OptionTrade, type StockTrade } from '@snap/core';
import { createLogger, manualClock } from '@snap/platform';
import { Registry } from 'prom-client';
import type { DeadLetterInput, FeedSink } from '../sink';
import { generateOptionChain, type WireMessage } from './fake-market';
import { FakeMassiveServer, type FakeMassiveServerOptions, waitUntil } from './fake-server';
import { MassiveFeed } from './massive-feed';
import { registerMassiveMetrics } from './metrics';
import { MassiveConnectionConflictError, MassiveWsClient } from './ws-client';

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

// Generous deadlines: the machine runs other suites alongside (polling, never fixed sleeps).
const wait = (pred: () => boolean, what: string, timeoutMs = 20_000) => waitUntil(pred, what, timeoutMs);

const KEY = 'acceptance-key-s3cret';
const T0 = Date.UTC(2025, 11, 16, 15, 0, 0); // Tuesday 10:00 New York
const NS = (ms: number) => BigInt(ms) * 1_000_000n;

let server: FakeMassiveServer;
let feed: MassiveFeed | null = null;
const clients: MassiveWsClient[] = [];
let logLines: string[] = [];
const logger = () => createLogger({ level: 'debug', write: (l) => logLines.push(l) });

async function startServer(opts: FakeMassiveServerOptions = {}) {
  server = await FakeMassiveServer.start({ apiKey: KEY, logger: logger(), ...opts });
}

function makeFeed(sink: FeedSink, massive: Record<string, unknown> = {}, opts: { restPolling?: boolean; nowMs?: number; startGraceMs?: number } = {}) {
  const config = defaultConfig();
  config.underlyings = ['SPY'];
  config.massive = { ...config.massive, ws_stocks_url: server.wsUrl('stocks'), ws_options_url: server.wsUrl('options'), rest_url: server.restUrl, strikes_around_spot: 1, strike_step: 1, ...massive };
  feed = new MassiveFeed({ config, apiKey: KEY, sink, clock: manualClock(NS(opts.nowMs ?? T0)), logger: logger(), random: mulberry32(7).next, backoff: { initialMs: 20, maxMs: 200 }, restPolling: opts.restPolling ?? false, stableAfterMs: 60_000, startGraceMs: opts.startGraceMs });
  return feed;
}

const stockTrade = (i: number, p = 676.1, t = T0 + i): WireMessage => ({ ev: 'T', sym: 'SPY', x: 4, i: String(i), z: 1, p, s: 100, c: [], t, q: i });
const stockQuote = (t: number, bp: number, ap: number): WireMessage => ({ ev: 'Q', sym: 'SPY', bx: 11, bp, bs: 300, ax: 12, ap, as: 200, c: 1, t, q: 10_000 + t - T0, z: 1 });
const tradesOf = (sink: CollectSink) => sink.events.filter((e): e is StockTrade => e.schema === 'stocks.trades.v1');

beforeEach(() => {
  logLines = [];
});

afterEach(async () => {
  await feed?.stop();
  feed = null;
  for (const c of clients.splice(0)) await c.close();
  await server.close();
});

it('a silent drop (no close, pings unanswered) is detected by the idle watchdog and reconnected with the current subscriptions; nothing is lost or doubled', async () => {
  await startServer();
  const sink = new CollectSink();
  // Generous next to the pings (a loaded machine delays pongs a little, never 15 intervals).
  const f = makeFeed(sink, { ping_interval_ms: 100, idle_timeout_ms: 1500 });
  await f.start();
  await wait(() => server.liveClients('stocks')[0]?.subscriptions.size === 2, 'stock subscriptions');
  for (let i = 1; i <= 5; i++) server.publish('stocks', [stockTrade(i)]);
  await wait(() => tradesOf(sink).length === 5, 'trades 1..5');
  // The pings keep a healthy idle connection alive: the watchdog only fires on real silence.
  await wait(() => f.stats().stocks.pings >= 10, 'pings on a quiet healthy connection');
  expect(f.stats().stocks.idleTimeouts).toBe(0);

  expect(server.silenceConnections('stocks')).toBe(1);
  await wait(() => f.stats().stocks.idleTimeouts === 1, 'the idle watchdog to fire', 20_000);
  await wait(() => server.liveClients('stocks').length === 1 && server.liveClients('stocks')[0]!.subscriptions.size === 2, 'stocks reconnected and resubscribed', 20_000);
  expect(server.liveClients('stocks')[0]!.actions).toEqual([{ action: 'subscribe', channels: ['Q.SPY', 'T.SPY'] }]);
  expect(logLines.some((l) => l.includes('massive connection idle; reconnecting'))).toBe(true);

  for (let i = 6; i <= 10; i++) server.publish('stocks', [stockTrade(i)]);
  await wait(() => tradesOf(sink).length >= 10, 'trades 6..10');
  await f.flush();
  expect(tradesOf(sink).map((t) => t.event_id)).toEqual(Array.from({ length: 10 }, (_, k) => `massive_ws:SPY:4:${k + 1}:${T0 + k + 1}`));
  expect(sink.dead).toEqual([]);
  expect(f.stats().stocks).toMatchObject({ connections: 2, reconnects: 1, idleTimeouts: 1 });
  // The options cluster was not affected.
  expect(f.stats().options.idleTimeouts).toBe(0);
});

it('two clients on one key (one connection per cluster): one ends connected, the other stops with a clear conflict error instead of a reconnect loop', async () => {
  await startServer({ maxConnectionsPerCluster: 1 });
  const mk = (name: string) => {
    const c = new MassiveWsClient({ url: server.wsUrl('options'), cluster: 'options', apiKey: KEY, subscriptions: ['T.O:SPY251216C00676000'], onFrame: () => undefined, backoff: { initialMs: 20, maxMs: 200 }, random: mulberry32(name.length).next, logger: logger().child({ client: name }), stableAfterMs: 60_000, maxKicks: 3 });
    clients.push(c);
    return c;
  };
  const a = mk('a');
  await a.start();
  const b = mk('bb');
  await b.start();
  const outcome = await Promise.race([a.done.then(() => 'a-closed', (e: Error) => ({ who: 'a', e })), b.done.then(() => 'b-closed', (e: Error) => ({ who: 'b', e }))]);
  expect(typeof outcome).toBe('object');
  const { who, e } = outcome as { who: 'a' | 'b'; e: Error };
  expect(e).toBeInstanceOf(MassiveConnectionConflictError);
  expect(e.message).toMatch(/^Massive options: another connection with the same API key took this cluster's only connection slot 3 times in a row \(last status: max_connections\)\. Massive allows one connection per cluster and key: stop the other process/);
  expect(e.message).not.toContain(KEY);
  const survivor = who === 'a' ? b : a;
  await wait(() => survivor.isLive && server.liveClients('options').length === 1, 'the other client to hold the slot');
  // No loop: once one side gave up, connections stop being opened (bounded by the kicks each side takes).
  const opened = server.clients.length;
  expect(opened).toBeLessThanOrEqual(2 * 3 + 1);
  survivor.subscribe(['T.O:SPY251216P00676000']);
  await wait(() => server.liveClients('options')[0]!.subscriptions.has('T.O:SPY251216P00676000'), 'the survivor still works');
  expect(server.clients.length).toBe(opened);
  expect(a.stats.kicks + b.stats.kicks).toBeGreaterThanOrEqual(3);
});

it('a 403 on the chain snapshot leaves streaming running with a degraded health that names the missing entitlement and its cost, reported once', async () => {
  await startServer({ entitlements: { chainSnapshot: false } });
  const sink = new CollectSink();
  const f = makeFeed(sink, { snapshot_interval_ms: 10 }, { restPolling: true });
  const registry = new Registry();
  registerMassiveMetrics(registry, f);
  await f.start();
  await wait(() => f.health().rest === 'forbidden', 'the 403 to be seen');
  await wait(() => server.restLog.filter((r) => r.status === 403).length >= 2, 'a later poll (also 403)', 20_000);
  await wait(() => server.liveClients('stocks')[0]?.subscriptions.size === 2, 'stock subscriptions');
  for (let i = 1; i <= 3; i++) server.publish('stocks', [stockTrade(i)]);
  await wait(() => tradesOf(sink).length === 3, 'stock trades still streaming');
  const h = f.health();
  expect(h).toMatchObject({ status: 'degraded', stocks: 'up', options: 'up', rest: 'forbidden' });
  expect(h.entitlements).toEqual([{ issue: 'no_chain_access', detail: expect.stringMatching(/HTTP 403, the plan does not include this endpoint/), cost: expect.stringMatching(/Fuel has no gamma/) }]);
  expect(logLines.filter((l) => l.includes('"massive entitlement"') && l.includes('no_chain_access'))).toHaveLength(1);
  const text = await registry.metrics();
  expect(text).toMatch(/snap_massive_health 1\b/);
  expect(text).toMatch(/snap_massive_component_up\{component="rest"\} 0/);
  expect(text).toMatch(/snap_massive_entitlement_issue\{issue="no_chain_access"\} 1/);
  await expect(Promise.race([f.done.then(() => 'stopped'), new Promise((r) => setTimeout(() => r('running'), 50))])).resolves.toBe('running');
});

it('a plan without the options WebSocket: the stocks cluster streams on, health names the missing cluster', async () => {
  await startServer({ entitlements: { websocket: ['stocks'] } });
  const sink = new CollectSink();
  const f = makeFeed(sink);
  await f.start();
  await wait(() => f.health().options === 'failed', 'options to fail');
  await wait(() => server.liveClients('stocks')[0]?.subscriptions.size === 2, 'stock subscriptions');
  server.publish('stocks', [stockTrade(1)]);
  await wait(() => tradesOf(sink).length === 1, 'a stock trade');
  expect(f.health()).toMatchObject({ status: 'degraded', stocks: 'up', options: 'failed' });
  expect(f.health().entitlements.map((e) => e.issue)).toEqual(['no_options_websocket']);
  expect(f.health().reasons[0]).toMatch(/options: failed \(Massive authentication failed \(options .*Your plan doesn't include websocket access/);
});

it('a delayed plan: vendor times everywhere, so Fuel joins delayed trades with delayed greeks; the delay is stated, not shifted', async () => {
  const DELAY = 15 * 60_000;
  const NOW = T0 + DELAY; // the local clock: the vendor's data is 15 minutes behind it
  // The fake serves "now" and delays it: its chain and its wire times come out DELAY older.
  const chain = generateOptionChain({ seed: 5, asOfMs: NOW, spot: 676, strikesEachSide: 3, missingGreeksRate: 0 });
  await startServer({ delayMs: DELAY, chain: { SPY: chain } });
  const sink = new CollectSink();
  const f = makeFeed(sink, { data_delay_ms: DELAY, snapshot_interval_ms: 60_000 }, { nowMs: NOW });
  await f.start();
  await wait(() => server.liveClients('stocks')[0]?.subscriptions.size === 2, 'stock subscriptions');
  server.publish('stocks', [stockQuote(NOW + 1, 676.0, 676.02)]);
  await wait(() => server.liveClients('options')[0]?.subscriptions.size === 12, 'strike window');
  const snap = await f.pollGreeks('SPY');
  expect(snap.time_source).toBe('vendor');
  expect(snap.ts_event_ns).toBe(NS(T0)); // the vendor's (delayed) time, not the local poll time
  // A second poll of the same (unchanged) chain keeps that time: same records, not late for the stream.
  const again = await f.pollGreeks('SPY');
  expect(again.ts_event_ns).toBe(NS(T0));
  expect(again.events.map((e) => e.event_id)).toEqual(snap.events.map((e) => e.event_id));
  const sym = 'O:SPY251216C00676000';
  const opt: WireMessage[] = [
    { ev: 'Q', sym, bx: 301, ax: 302, bp: 2.0, ap: 2.1, bs: 10, as: 10, t: NOW + 1000, q: 1 },
    { ev: 'T', sym, x: 312, p: 2.1, s: 10, c: [209], t: NOW + 1100, q: 2 },
    { ev: 'T', sym, x: 312, p: 2.1, s: 5, c: [209], t: NOW + 1200, q: 3 },
  ];
  server.publish('options', opt);
  await wait(() => sink.events.filter((e) => e.schema === 'options.trades.v1').length === 2, 'option trades');
  await f.flush();
  const trades = sink.events.filter((e): e is OptionTrade => e.schema === 'options.trades.v1');
  expect(trades.map((t) => t.ts_event_ns)).toEqual([NS(T0 + 1100), NS(T0 + 1200)]);
  expect(trades.map((t) => t.aggressor)).toEqual([1, 1]);

  // Fuel over what the feed produced, in event-time order: the trades find their greeks (as of ≤ trade time).
  const fuel = new FuelEngine(parseConfig({}));
  const ordered = [...sink.events].sort((a, b) => (a.ts_event_ns < b.ts_event_ns ? -1 : a.ts_event_ns > b.ts_event_ns ? 1 : 0));
  for (const ev of ordered) fuel.onEvent(ev);
  const g = (sink.events.find((e): e is GreeksSnapshot => e.schema === 'options.greeks_snapshots.v1' && e.option_symbol === sym)!).gamma;
  expect(fuel.state.flows).toHaveLength(2);
  expect(fuel.state.flows.map((fl) => fl.dealerGamma)).toEqual([-(10 * g * 100), -(5 * g * 100)]);

  const h = f.health();
  expect(h.data_delay_ms).toBe(DELAY);
  expect(h.observed_delay_ms).toBeGreaterThan(DELAY - 5000);
  // Configured, so it is stated in health and at start-up, not reported as a surprise entitlement.
  expect(h.entitlements).toEqual([]);
  expect(logLines.some((l) => l.includes('delayed plan') && l.includes(String(DELAY)))).toBe(true);
});

it('a replayed session with trades near quote changes: the metric shows quote-side, tick-rule and unknown prints, and stale quotes are not used', async () => {
  await startServer();
  const sink = new CollectSink();
  const f = makeFeed(sink, { quote_max_age_ms: 500 });
  const registry = new Registry();
  registerMassiveMetrics(registry, f);
  await f.start();
  await wait(() => server.liveClients('stocks')[0]?.subscriptions.size === 2, 'stock subscriptions');
  server.publish('stocks', [stockQuote(T0, 676.0, 676.02)]);
  await wait(() => server.liveClients('options')[0]?.subscriptions.size === 12, 'strike window');
  const sym = 'O:SPY251216C00676000';
  const Q = (t: number, bp: number, ap: number, q: number): WireMessage => ({ ev: 'Q', sym, bx: 301, ax: 302, bp, ap, bs: 10, as: 10, t: T0 + t, q });
  const T = (t: number, p: number, q: number, c = [209]): WireMessage => ({ ev: 'T', sym, x: 312, p, s: 1, c, t: T0 + t, q });
  // A replay as the vendor sends it: frames in arrival order, a quote change sometimes arriving before a print that
  // happened just before it.
  const frames: WireMessage[][] = [
    [T(100, 2.05, 1)], // no quote yet, no previous print → unknown
    [Q(200, 2.0, 2.1, 2)],
    [T(250, 2.1, 3)], // at the ask of the quote in force → quote, buy
    [Q(400, 2.4, 2.5, 4)], // the quote jumps at 400 …
    [T(390, 2.1, 5)], // … but this print happened at 390: the 200 quote (190 ms old) decides → quote, buy at its ask
    [T(1000, 2.45, 6)], // 600 ms after the last quote (> 500): stale, not used → tick rule (up) → buy
    [T(1100, 2.3, 7)], // stale → tick rule (down) → sell
    [T(1150, 2.3, 8, [201])], // cancelled: excluded
    [T(1160, 2.3, 9, [233])], // multi-leg: excluded
  ];
  for (const fr of frames) server.publish('options', fr);
  await wait(() => sink.events.filter((e) => e.schema === 'options.trades.v1').length === 5 && f.stats().optionTrades.excluded.complex === 1, 'the replayed prints');
  await f.flush();
  const trades = sink.events.filter((e): e is OptionTrade => e.schema === 'options.trades.v1');
  expect(trades.map((t) => [t.price, t.aggressor, t.opt_bid, t.opt_ask])).toEqual([
    [2.05, 0, null, null],
    [2.1, 1, 2.0, 2.1],
    [2.1, 1, 2.0, 2.1],
    [2.45, 1, null, null],
    [2.3, -1, null, null],
  ]);
  const text = await registry.metrics();
  expect(text).toMatch(/snap_massive_option_trade_sides_total\{method="quote"\} 2/);
  expect(text).toMatch(/snap_massive_option_trade_sides_total\{method="tick"\} 2/);
  expect(text).toMatch(/snap_massive_option_trade_sides_total\{method="unknown"\} 1/);
  expect(text).toMatch(/snap_massive_option_trade_stale_quotes_total 2/);
  expect(text).toMatch(/snap_massive_option_trades_excluded_total\{class="cancel"\} 1/);
  expect(text).toMatch(/snap_massive_option_trades_excluded_total\{class="complex"\} 1/);
});

it('a plan without quotes: each missing entitlement is reported once with its cost; spot and the strike window follow trades all day; sides come from the tick rule', async () => {
  await startServer({ entitlements: { optionQuotes: false, stockQuotes: false } });
  const sink = new CollectSink();
  const f = makeFeed(sink);
  await f.start();
  await wait(() => server.liveClients('stocks')[0]?.subscriptions.size === 2, 'stock subscriptions');
  // The vendor acknowledges Q.SPY but never delivers a quote; trades drift up 676 → 679 over 40 s of event time.
  server.publish('stocks', [stockQuote(T0, 676.0, 676.02)]);
  for (let i = 0; i <= 40; i++) server.publish('stocks', [stockTrade(i + 1, 676 + (3 * i) / 40, T0 + i * 1000)]);
  await wait(() => tradesOf(sink).length === 41, 'stock trades');
  await wait(() => f.strikeManager('SPY')!.centerStrike === 679, 'the strike window to follow the trades to 679');
  await wait(() => server.liveClients('options')[0]?.subscriptions.has('T.O:SPY251216C00680000') === true, 'the moved window subscribed');
  expect(f.health().entitlements.map((e) => e.issue)).toEqual(['no_stock_quotes']);

  const sym = 'O:SPY251216C00679000';
  for (let i = 0; i < 25; i++) server.publish('options', [{ ev: 'Q', sym, bp: 1, ap: 1.1, bs: 1, as: 1, t: T0 + 41_000 + i * 10, q: 1000 + i }, { ev: 'T', sym, x: 312, p: 1 + (i % 3) / 100, s: 1, c: [209], t: T0 + 41_000 + i * 10 + 5, q: 2000 + i }]);
  await wait(() => sink.events.filter((e) => e.schema === 'options.trades.v1').length === 25, 'option trades');
  const h = f.health();
  expect(h.status).toBe('degraded');
  expect(h.entitlements.map((e) => e.issue)).toEqual(['no_stock_quotes', 'no_option_quotes']);
  expect(h.entitlements[1]!.cost).toMatch(/tick rule only/);
  expect(f.stats().optionTrades.side.quote).toBe(0);
  expect(f.stats().optionTrades.side.tick + f.stats().optionTrades.side.unknown).toBe(25);
  expect(logLines.filter((l) => l.includes('"massive entitlement"'))).toHaveLength(2);
});

it('kicks (force_disconnect, slow_consumer) are logged with their meaning and reconnected with a growing backoff, not a 250 ms loop', async () => {
  await startServer();
  const sink = new CollectSink();
  const f = makeFeed(sink);
  await f.start();
  for (const [n, st] of [
    [1, 'force_disconnect'],
    [2, 'slow_consumer'],
    [3, 'force_disconnect'],
  ] as const) {
    await wait(() => server.liveClients('stocks').length === 1, `stocks connected before kick ${n}`);
    server.kick('stocks', st);
    await wait(() => f.stats().stocks.reconnects === n, `reconnect ${n}`);
  }
  await wait(() => server.liveClients('stocks')[0]?.subscriptions.size === 2, 'stocks resubscribed');
  const delays = logLines.filter((l) => l.includes('massive reconnecting') && l.includes('"cluster":"stocks"')).map((l) => (JSON.parse(l) as { attempt: number }).attempt);
  // Each connection lived less than stableAfterMs, so the attempt count (and the backoff) kept growing.
  expect(delays).toEqual([1, 2, 3]);
  expect(logLines.some((l) => l.includes('"status":"slow_consumer"') && l.includes('read too slowly'))).toBe(true);
  expect(logLines.some((l) => l.includes('"status":"force_disconnect"') && l.includes('server ended this connection'))).toBe(true);
  expect(f.stats().stocks).toMatchObject({ kicks: 2, slowConsumer: 1 });
  // Two force_disconnects are not (yet) a conflict: the feed still runs.
  expect(f.health().stocks).toBe('up');
});

it('a cluster that cannot connect at all does not hold the feed: start() goes on degraded after the grace time, the other streams', async () => {
  await startServer();
  const { createServer } = await import('node:net');
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
  const port = (probe.address() as { port: number }).port;
  await new Promise<void>((r) => probe.close(() => r()));
  const sink = new CollectSink();
  const f = makeFeed(sink, { ws_options_url: `ws://127.0.0.1:${port}/options` }, { startGraceMs: 300 });
  await f.start();
  expect(f.health()).toMatchObject({ status: 'degraded', stocks: 'up', options: 'connecting' });
  await wait(() => server.liveClients('stocks')[0]?.subscriptions.size === 2, 'stock subscriptions');
  server.publish('stocks', [stockTrade(1)]);
  await wait(() => tradesOf(sink).length === 1, 'a stock trade');
  expect(f.stats().options.reconnects).toBeGreaterThan(0);
  expect(logLines.some((l) => l.includes('starting degraded'))).toBe(true);
});

it('a socket paused on purpose (sink behind) is not mistaken for a half-open one by the idle watchdog', async () => {
  await startServer();
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  class BlockedSink extends CollectSink {
    override async emit(ev: InputEvent) {
      await gate;
      this.events.push(ev);
    }
  }
  const sink = new BlockedSink();
  const config = defaultConfig();
  config.underlyings = ['SPY'];
  config.massive = { ...config.massive, ws_stocks_url: server.wsUrl('stocks'), ws_options_url: server.wsUrl('options'), rest_url: server.restUrl, strikes_around_spot: 1, ping_interval_ms: 50, idle_timeout_ms: 300 };
  feed = new MassiveFeed({ config, apiKey: KEY, sink, logger: logger(), random: mulberry32(7).next, backoff: { initialMs: 20, maxMs: 200 }, restPolling: false, maxQueued: 4 });
  const f = feed;
  await f.start();
  await wait(() => server.liveClients('stocks')[0]?.subscriptions.size === 2, 'stock subscriptions');
  for (let i = 1; i <= 8; i++) server.publish('stocks', [stockTrade(i)]);
  await wait(() => f.stats().pauses === 1, 'the sockets to pause');
  // Well past the idle timeout while paused: pings go out (20 × 50 ms = 1 s > 300 ms), no pong is read.
  const pings = f.stats().stocks.pings;
  await wait(() => f.stats().stocks.pings >= pings + 20, 'pings while paused');
  expect(f.stats().stocks.idleTimeouts).toBe(0);
  expect(f.stats().stocks.connections).toBe(1);
  release();
  await wait(() => sink.events.filter((e) => e.schema === 'stocks.trades.v1').length === 8, 'all trades once the sink drains');
});

it('the strike window is narrowed to the subscription limit (massive.max_option_contracts) and says so', async () => {
  await startServer();
  const sink = new CollectSink();
  const f = makeFeed(sink, { strikes_around_spot: 10, max_option_contracts: 20 });
  await f.start();
  expect(logLines.some((l) => l.includes('strike window narrowed to the subscription limit') && l.includes('"used":4'))).toBe(true);
  await wait(() => server.liveClients('stocks')[0]?.subscriptions.size === 2, 'stock subscriptions');
  server.publish('stocks', [stockQuote(T0, 676.0, 676.02)]);
  // ±4 strikes × call/put = 18 contracts ≤ 20, each on T and Q.
  await wait(() => server.liveClients('options')[0]?.subscriptions.size === 36, 'the narrowed window');
  expect(f.strikeManager('SPY')!.contracts()).toHaveLength(18);
});

it('a delay configured on a real-time plan is called out (it would hold every signal back by it)', async () => {
  await startServer();
  const sink = new CollectSink();
  const f = makeFeed(sink, { data_delay_ms: 900_000 });
  await f.start();
  await wait(() => server.liveClients('stocks')[0]?.subscriptions.size === 2, 'stock subscriptions');
  // Event times = the feed's clock (T0): no delay at all.
  for (let i = 1; i <= 60; i++) server.publish('stocks', [stockTrade(i, 676.1, T0)]);
  await wait(() => tradesOf(sink).length === 60, 'trades');
  const h = f.health();
  expect(h.status).toBe('degraded');
  expect(h.reasons).toEqual([expect.stringMatching(/^delay: massive\.data_delay_ms is 900000 but records arrive about 0 ms after their event time/)]);
  expect(logLines.filter((l) => l.includes('configured delay does not match the data'))).toHaveLength(1);
});
