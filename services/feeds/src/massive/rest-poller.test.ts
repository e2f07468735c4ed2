// The REST greeks poller against the fake Massive server over real HTTP on 127.0.0.1.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLogger, manualClock, systemClock } from '@snap/platform';
import { generateOptionChain, stringifyJson } from './fake-market';
import { FakeMassiveServer } from './fake-server';
import { MassiveAuthError } from './ws-client';
import { buildGreeksSnapshot, MassiveRestError, MassiveRestPoller, parseJsonLosslessNs, TokenBucket } from './rest-poller';

const KEY = 'rest-key-t0p-s3cret';
const AS_OF = Date.UTC(2025, 11, 16, 15, 0, 0);
const logLines: string[] = [];
const logger = createLogger({ level: 'debug', write: (l) => logLines.push(l) });
let server: FakeMassiveServer;
let extra: Server | null = null;

// 41 strikes (656..696) × C/P = 82 contracts, ~10% of them without greeks.
const chain = () => generateOptionChain({ seed: 5, asOfMs: AS_OF, spot: 676, strikesEachSide: 20 });
const hasGreeks = (r: Record<string, unknown>) => r.greeks !== undefined;

beforeEach(async () => {
  logLines.length = 0;
  server = await FakeMassiveServer.start({ apiKey: KEY, forbiddenKeys: ['basic-plan-key'], chain: { SPY: chain() }, logger });
});
afterEach(async () => {
  await server.close();
  if (extra) await new Promise<void>((r) => extra!.close(() => r()));
  extra = null;
});

const poller = (o: Partial<ConstructorParameters<typeof MassiveRestPoller>[0]> = {}) =>
  new MassiveRestPoller({ baseUrl: server.restUrl, apiKey: KEY, requestsPerSecond: 1000, logger, random: () => 0.5, backoff: { initialMs: 5, maxMs: 50 }, ...o });

describe('fake Massive REST endpoint', () => {
  it('accepts the key as ?apiKey= or Authorization: Bearer, and answers 401/403 JSON otherwise', async () => {
    const base = `${server.restUrl}/v3/snapshot/options/SPY?limit=1`;
    expect((await fetch(`${base}&apiKey=${KEY}`)).status).toBe(200);
    expect((await fetch(base, { headers: { authorization: `Bearer ${KEY}` } })).status).toBe(200);
    const none = await fetch(base);
    expect(none.status).toBe(401);
    expect(await none.json()).toMatchObject({ status: 'ERROR', error: 'API Key was not provided' });
    expect((await fetch(`${base}&apiKey=nope`)).status).toBe(401);
    const forbidden = await fetch(`${base}&apiKey=basic-plan-key`);
    expect(forbidden.status).toBe(403);
    expect(await forbidden.json()).toMatchObject({ status: 'NOT_AUTHORIZED' });
    expect((await fetch(`${base.replace('limit=1', 'limit=251')}&apiKey=${KEY}`)).status).toBe(400);
    expect(server.restLog.map((r) => r.auth)).toEqual(['query', 'header', 'none', 'query', 'query', 'query']);
    expect(JSON.stringify(server.restLog)).not.toContain(KEY);
  });
});

describe('MassiveRestPoller', () => {
  it('follows next_url to the end: page count, total contracts, greeks-less contracts counted and skipped', async () => {
    const all = chain();
    const p = poller({ limit: 25 });
    const snap = await p.pollOnce({ underlying: 'SPY', expirationDate: '2025-12-16' });
    expect(all).toHaveLength(82);
    expect(snap.pages).toBe(4); // 25 + 25 + 25 + 7
    expect(snap.contracts).toBe(82);
    expect(snap.withoutGreeks).toBe(all.filter((r) => !hasGreeks(r)).length);
    expect(snap.withoutGreeks).toBeGreaterThan(0);
    expect(snap.events).toHaveLength(all.filter(hasGreeks).length);
    expect(snap.invalid).toEqual([]);
    // First request carries the filters; the rest are next_url verbatim (cursor only) plus the apiKey we add back.
    expect(server.restLog.map((r) => Object.keys(r.query).sort().join(','))).toEqual(['apiKey,expiration_date,limit', 'apiKey,cursor', 'apiKey,cursor', 'apiKey,cursor']);
    expect(server.restLog.every((r) => r.status === 200 && r.auth === 'query')).toBe(true);

    const first = all.find(hasGreeks)!;
    const ev = snap.events.find((e) => e.option_symbol === (first.details as { ticker: string }).ticker)!;
    const g = first.greeks as { delta: number; gamma: number; theta: number; vega: number };
    expect(ev).toMatchObject({ schema: 'options.greeks_snapshots.v1', source: 'massive_rest', key: 'SPY', underlying: 'SPY', exp_date: '2025-12-16', delta: g.delta, gamma: g.gamma, theta: g.theta, vega: g.vega, implied_volatility: first.implied_volatility, open_interest: first.open_interest, snapshot_id: snap.snapshot_id });
    // ns timestamps beyond 2^53 arrive exact (JSON.parse alone would round them).
    expect(ev.last_quote_ts_ns).toBe((first.last_quote as { last_updated: bigint }).last_updated);
    expect(ev.last_trade_ts_ns).toBe((first.last_trade as { sip_timestamp: bigint }).sip_timestamp);
    expect(new Set(snap.events.map((e) => e.snapshot_id))).toEqual(new Set([snap.snapshot_id]));
    expect(new Set(snap.events.map((e) => e.event_id)).size).toBe(snap.events.length);
    expect(snap.events.every((e) => e.ts_event_ns === snap.ts_event_ns)).toBe(true);
  });

  it('asks only for strikes near spot and the expiry given', async () => {
    server.setChain('SPY', generateOptionChain({ seed: 5, asOfMs: AS_OF, spot: 676, strikesEachSide: 20, expirations: ['2025-12-16', '2025-12-17'] }));
    const snap = await poller().pollOnce({ underlying: 'SPY', expirationDate: '2025-12-16', spot: 676.3, strikeRange: 5 });
    expect(server.restLog[0]!.query).toMatchObject({ expiration_date: '2025-12-16', 'strike_price.gte': '671.3', 'strike_price.lte': '681.3', limit: '250' });
    expect(snap.pages).toBe(1);
    expect(snap.contracts).toBe(20); // strikes 672..681, calls and puts
    expect(snap.events.every((e) => e.exp_date === '2025-12-16' && e.strike >= 671.3 && e.strike <= 681.3)).toBe(true);
  });

  it('retries 429 (honouring Retry-After) and 5xx with backoff, then succeeds', async () => {
    server.failNextRest(1, 429, 0);
    server.failNextRest(1, 429);
    server.failNextRest(1, 503);
    const p = poller({ limit: 50 });
    const snap = await p.pollOnce({ underlying: 'SPY', expirationDate: '2025-12-16' });
    expect(server.restLog.map((r) => r.status)).toEqual([429, 429, 503, 200, 200]);
    expect(snap.pages).toBe(2);
    expect(snap.contracts).toBe(82);
    expect(p.stats).toEqual({ requests: 5, retries: 3, polls: 1 });
    expect(logLines.filter((l) => l.includes('massive rest retry'))).toHaveLength(3);
    expect(logLines.join('\n')).not.toContain(KEY);
  });

  it('gives up after maxRetries with a MassiveRestError naming the status (key redacted)', async () => {
    server.failNextRest(10, 500);
    const err = await poller({ maxRetries: 2 })
      .pollOnce({ underlying: 'SPY', expirationDate: '2025-12-16' })
      .then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(MassiveRestError);
    expect(err).toMatchObject({ status: 500 });
    expect((err as Error).message).toMatch(/failed after 3 attempts; last: HTTP 500/);
    expect((err as Error).message).not.toContain(KEY);
    // The key is only ever added to the request itself, never to the URL we report.
    expect((err as MassiveRestError).url).toBe(`${server.restUrl}/v3/snapshot/options/SPY?expiration_date=2025-12-16&limit=250`);
  });

  it('a bad or unentitled key is a MassiveAuthError at once (no retries, key not in the message)', async () => {
    const bad = 'bad-rest-key-xyz';
    const e401 = await poller({ apiKey: bad }).pollOnce({ underlying: 'SPY', expirationDate: '2025-12-16' }).then(() => null, (e: unknown) => e);
    expect(e401).toBeInstanceOf(MassiveAuthError);
    expect((e401 as Error).message).toMatch(/HTTP 401 .*Unknown API Key/);
    expect((e401 as Error).message).not.toContain(bad);
    const e403 = await poller({ apiKey: 'basic-plan-key' }).pollOnce({ underlying: 'SPY', expirationDate: '2025-12-16' }).then(() => null, (e: unknown) => e);
    expect(e403).toBeInstanceOf(MassiveAuthError);
    expect((e403 as Error).message).toMatch(/HTTP 403/);
    expect(server.restLog).toHaveLength(2);
  });

  it('snapshot_id is stable for identical content and changes when content changes', async () => {
    const clock = manualClock(1_000_000_000n);
    const p = poller({ clock, limit: 30 });
    const a = await p.pollOnce({ underlying: 'SPY', expirationDate: '2025-12-16' });
    clock.advanceMs(15_000);
    const b = await p.pollOnce({ underlying: 'SPY', expirationDate: '2025-12-16' });
    // ts_recv_ns is the poll time (the bucket's waits also advance the manual clock, hence ≥); ts_event_ns is the
    // vendor's, so an unchanged chain polled again is the same records (same ids: a re-poll dedups).
    expect(b.ts_recv_ns - a.ts_recv_ns >= 15_000_000_000n).toBe(true);
    expect(b.ts_event_ns).toBe(a.ts_event_ns);
    expect(a.time_source).toBe('vendor');
    expect(b.snapshot_id).toBe(a.snapshot_id);
    expect(b.events.map((e) => e.event_id)).toEqual(a.events.map((e) => e.event_id));
    // Page boundaries and vendor order are not content.
    const c = await poller({ limit: 7 }).pollOnce({ underlying: 'SPY', expirationDate: '2025-12-16' });
    expect(c.snapshot_id).toBe(a.snapshot_id);

    const changed = chain();
    const row = changed.find(hasGreeks)!;
    (row.greeks as { gamma: number }).gamma += 1e-9;
    server.setChain('SPY', changed);
    const d = await p.pollOnce({ underlying: 'SPY', expirationDate: '2025-12-16' });
    expect(d.snapshot_id).not.toBe(a.snapshot_id);
  });

  it('paces requests with the token bucket on the injected clock (massive.rest_requests_per_second)', async () => {
    const clock = manualClock(0n);
    const p = poller({ clock, requestsPerSecond: 2, limit: 25 });
    await p.pollOnce({ underlying: 'SPY', expirationDate: '2025-12-16' });
    // 4 pages at 2/s with a burst of 1: the first goes at once, each later one waits 500 ms of clock time.
    expect(clock.nowMs()).toBe(1500);
  });

  it('refuses to send the key to a next_url on another origin', async () => {
    extra = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status: 'OK', results: [], next_url: 'http://198.51.100.7/v3/snapshot/options/SPY?cursor=abc' }));
    });
    await new Promise<void>((r) => extra!.listen(0, '127.0.0.1', () => r()));
    const base = `http://127.0.0.1:${(extra.address() as AddressInfo).port}`;
    const err = await new MassiveRestPoller({ baseUrl: base, apiKey: KEY, requestsPerSecond: 100, logger, clock: systemClock })
      .pollOnce({ underlying: 'SPY', expirationDate: '2025-12-16' })
      .then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(MassiveRestError);
    expect((err as Error).message).toMatch(/origin differs from massive\.rest_url/);
  });
});

describe('buildGreeksSnapshot (pure)', () => {
  it('dead-letters invalid contracts and skips contracts whose greeks are partial', () => {
    const rows = [
      { details: { ticker: 'O:SPY251216C00676000' }, greeks: { delta: 0.5, gamma: 0.1, theta: -0.3, vega: 0.05 } },
      { details: { ticker: 'O:SPY251216P00676000' }, greeks: { delta: -0.5, gamma: 0.1 } },
      { details: { ticker: 'O:SPY251216P00676000' }, greeks: {} },
      { details: { ticker: 'O:SPY251316C00676000' }, greeks: { delta: 0.5, gamma: 0.1, theta: -0.3, vega: 0.05 } },
      { details: { ticker: 'O:QQQ251216C00500000' }, greeks: { delta: 0.5, gamma: 0.1, theta: -0.3, vega: 0.05 } },
      { details: {} },
      'junk',
    ];
    const s = buildGreeksSnapshot('SPY', 5n, rows, 1);
    expect(s.events.map((e) => e.option_symbol)).toEqual(['O:SPY251216C00676000']);
    expect(s.events[0]).toMatchObject({ last_quote_ts_ns: null, last_trade_ts_ns: null, implied_volatility: null, open_interest: null, seq: 0n });
    expect(s.withoutGreeks).toBe(2);
    expect(s.invalid.map((i) => i.reason)).toEqual([
      'snapshot result #3: bad option ticker "O:SPY251316C00676000": month 13 out of range',
      'snapshot result #4: contract O:QQQ251216C00500000 is not on underlying SPY',
      'snapshot result #5: field "details.ticker" Invalid input: expected string, received undefined',
      'snapshot result #6: field "" Invalid input: expected object, received string',
    ]);
    expect(s.invalid[3]!.raw.toString()).toBe('"junk"');
  });

  it('parseJsonLosslessNs keeps ns integers exact; stringifyJson writes bigints exactly', () => {
    const v = { last_quote: { last_updated: 1765897199123456789n }, x: 1.5 };
    const text = stringifyJson(v);
    expect(text).toBe('{"last_quote":{"last_updated":1765897199123456789},"x":1.5}');
    expect(parseJsonLosslessNs(text)).toEqual({ last_quote: { last_updated: '1765897199123456789' }, x: 1.5 });
    expect(JSON.parse(text).last_quote.last_updated).not.toBe(1765897199123456789n.toString()); // what a plain parse would lose
  });
});

describe('TokenBucket', () => {
  it('serves requests in order at the configured rate, with the burst up front', async () => {
    const clock = manualClock(0n);
    const b = new TokenBucket(4, 2, clock);
    const at: number[] = [];
    await Promise.all([0, 1, 2, 3, 4].map(() => b.take().then(() => at.push(clock.nowMs()))));
    expect(at).toEqual([0, 0, 250, 500, 750]);
    expect(() => new TokenBucket(0, 1, clock)).toThrow(/rest_requests_per_second/);
  });
});

describe('buildGreeksSnapshot time', () => {
  const row = (lq: bigint | null) => ({ details: { ticker: 'O:SPY251216C00676000' }, greeks: { delta: 0.5, gamma: 0.1, theta: -1, vega: 0.2 }, implied_volatility: 0.2, ...(lq === null ? {} : { last_quote: { last_updated: String(lq) } }) }); // as parseJsonLosslessNs leaves ns times
  it('is the newest vendor time; a floor above it wins (stated as floor); without any vendor time it is the local time', () => {
    expect(buildGreeksSnapshot('SPY', 50n, [row(10n), row(30n)], 1)).toMatchObject({ ts_event_ns: 30n, time_source: 'vendor', vendor_ns: 30n });
    expect(buildGreeksSnapshot('SPY', 50n, [row(10n), row(30n)], 1, 20n)).toMatchObject({ ts_event_ns: 30n, time_source: 'vendor' });
    const floored = buildGreeksSnapshot('SPY', 50n, [row(10n), row(30n)], 1, 40n);
    expect(floored).toMatchObject({ ts_event_ns: 40n, time_source: 'floor', vendor_ns: 30n });
    expect(floored.events.every((e) => e.ts_event_ns === 40n && e.ts_recv_ns === 50n)).toBe(true);
    expect(buildGreeksSnapshot('SPY', 50n, [row(null)], 1)).toMatchObject({ ts_event_ns: 50n, time_source: 'local', vendor_ns: null });
  });
});
