// The vendor's documented example messages (vendor-examples.ts) through the adapter's normalizer and snapshot
// builder: one per message type the adapter reads, plus the ones it must refuse.
import { makeEventId } from '@snap/core';
import { MassiveNormalizer, parseOptionTicker, type NormalizedItem } from './normalize';
import { buildGreeksSnapshot, parseJsonLosslessNs, universalToChainRows } from './rest-poller';
import { REST_CHAIN_SNAPSHOT, REST_UNIVERSAL_SNAPSHOT, WS_OPTION_AGGREGATE, WS_OPTION_QUOTE, WS_OPTION_TRADE, WS_STATUS, WS_STOCK_QUOTE, WS_STOCK_TRADE } from './vendor-examples';
import { MASSIVE_STATUS_MEANINGS } from './ws-client';

const ctx = () => {
  let seq = 0n;
  return { ts_recv_ns: 7n, nextSeq: () => seq++ };
};
const run = (n: MassiveNormalizer, msgs: unknown[]): NormalizedItem[] => n.normalizeFrame(Buffer.from(JSON.stringify(msgs)), ctx());

describe('documented WebSocket examples', () => {
  it('options trade: the example print is a Multi Leg Auction leg (233) → excluded and counted; the same print as a regular one is normalized', () => {
    const n = new MassiveNormalizer({ cluster: 'options', underlyings: ['AMC'] });
    expect(run(n, [WS_OPTION_TRADE])).toEqual([{ kind: 'excluded', sym: 'O:AMC210827C00037000', class: 'complex', conditions: [233] }]);
    expect(n.optionTrades.excluded).toEqual({ cancel: 0, late: 0, complex: 1 });
    const [item] = run(n, [{ ...WS_OPTION_TRADE, c: [209] }]);
    expect(item).toMatchObject({
      kind: 'event',
      event: { schema: 'options.trades.v1', underlying: 'AMC', option_symbol: 'O:AMC210827C00037000', exp_date: '2021-08-27', right: 'C', strike: 37, price: 1.54, size: 1, ts_event_ns: 1629820676333000000n, opt_bid: null, opt_ask: null, aggressor: 0 },
    });
    expect(n.optionTrades.side).toEqual({ quote: 0, tick: 0, unknown: 1 });
  });

  it('options quote: the example updates the NBBO, and a print at its ask 100 ms later is a customer buy by the quote', () => {
    const n = new MassiveNormalizer({ cluster: 'options', underlyings: ['SPY'] });
    expect(parseOptionTicker(WS_OPTION_QUOTE.sym)).toEqual({ option_symbol: 'O:SPY241220P00720000', underlying: 'SPY', exp_date: '2024-12-20', right: 'P', strike: 720 });
    expect(run(n, [WS_OPTION_QUOTE])).toEqual([{ kind: 'bookkeeping', sym: 'O:SPY241220P00720000' }]);
    const [item] = run(n, [{ ev: 'T', sym: WS_OPTION_QUOTE.sym, x: 302, p: 9.81, s: 3, c: [209], t: WS_OPTION_QUOTE.t + 100, q: 1 }]);
    expect(item).toMatchObject({ kind: 'event', event: { opt_bid: 9.71, opt_ask: 9.81, aggressor: 1 } });
    expect(n.optionTrades.side.quote).toBe(1);
  });

  it('options aggregate: not a message the adapter reads → dead-lettered with its event type', () => {
    const n = new MassiveNormalizer({ cluster: 'options', underlyings: ['ONEM'] });
    const [item] = run(n, [WS_OPTION_AGGREGATE]);
    expect(item!.kind === 'error' && item!.error.reason).toBe('options message #0: unknown event type ev="AM"');
  });

  it('stocks trade: exact event (vendor id, conditions, integer size)', () => {
    const n = new MassiveNormalizer({ cluster: 'stocks', underlyings: ['MSFT'] });
    expect(run(n, [WS_STOCK_TRADE])).toEqual([
      {
        kind: 'event',
        event: {
          schema: 'stocks.trades.v1',
          schema_version: 1,
          source: 'massive_ws',
          ts_event_ns: 1536036818784000000n,
          ts_recv_ns: 7n,
          key: 'MSFT',
          seq: 0n,
          event_id: 'massive_ws:MSFT:4:12345:1536036818784',
          symbol: 'MSFT',
          price: 114.125,
          size: 100,
          exchange: 4,
          conditions: [0, 12],
        },
      },
    ]);
  });

  it('stocks trade with a fractional size: ds is kept exactly, a non-integer s is not dead-lettered', () => {
    const n = new MassiveNormalizer({ cluster: 'stocks', underlyings: ['MSFT'] });
    const items = run(n, [
      { ...WS_STOCK_TRADE, s: 0, ds: '0.2537' },
      { ...WS_STOCK_TRADE, i: '12346', s: 12.5 },
    ]);
    expect(items.map((i) => (i.kind === 'event' && i.event.schema === 'stocks.trades.v1' ? i.event.size : i.kind))).toEqual([0.2537, 12.5]);
  });

  it('stocks quote: the 2018 example is in round lots, read as shares (×100); sizes since 2025-11-03 are shares already', () => {
    const n = new MassiveNormalizer({ cluster: 'stocks', underlyings: ['MSFT'] });
    const [old, recent] = run(n, [WS_STOCK_QUOTE, { ...WS_STOCK_QUOTE, t: Date.UTC(2025, 10, 3, 14, 30) }]);
    expect(old).toMatchObject({ kind: 'event', event: { schema: 'stocks.quotes.v1', bid_px: 114.125, ask_px: 114.128, bid_sz: 10_000, ask_sz: 16_000, bid_exch: 4, ask_exch: 7 } });
    expect(recent).toMatchObject({ kind: 'event', event: { bid_sz: 100, ask_sz: 160 } });
    expect(old!.kind === 'event' && old!.event.event_id).toBe(makeEventId({ source: 'massive_ws', ts_event_ns: 1536036818784000000n, symbol: 'MSFT', price: 114.125, size: 100, exchange: '4/7/114.128/160', seq: 50385480 }));
  });

  it('status examples pass through as status items, and every documented status has a stated meaning', () => {
    const n = new MassiveNormalizer({ cluster: 'stocks', underlyings: ['MSFT'] });
    const all = Object.values(WS_STATUS);
    expect(run(n, all)).toEqual(all.map((s) => ({ kind: 'status', status: s })));
    for (const s of [...all.map((x) => x.status), 'auth_failed', 'force_disconnect', 'slow_consumer', 'auth_required', 'auth_timeout', 'error']) expect(MASSIVE_STATUS_MEANINGS[s]).toEqual(expect.any(String));
  });
});

describe('OCC tickers in the vendor\'s examples', () => {
  it('parse to underlying, expiry, right and strike; the malformed one is refused with the reason', () => {
    const parsed = ['O:AMC210827C00037000', 'O:SPY241220P00720000', 'O:ONEM220121C00025000', 'O:NCLH221014C00005000', 'O:SPY251219C00650000'].map((t) => {
      const c = parseOptionTicker(t);
      return [c.underlying, c.exp_date, c.right, c.strike];
    });
    expect(parsed).toEqual([
      ['AMC', '2021-08-27', 'C', 37],
      ['SPY', '2024-12-20', 'P', 720],
      ['ONEM', '2022-01-21', 'C', 25],
      ['NCLH', '2022-10-14', 'C', 5],
      ['SPY', '2025-12-19', 'C', 650],
    ]);
    expect(() => parseOptionTicker('O:AAPL211022C000150000')).toThrow('bad option ticker "O:AAPL211022C000150000": expected O:<UNDERLYING><YYMMDD><C|P><STRIKE8>');
  });
});

describe('documented REST examples', () => {
  it('chain snapshot: ns times stay exact; the example ticker (9-digit strike) is dead-lettered naming it', () => {
    const body = parseJsonLosslessNs(REST_CHAIN_SNAPSHOT) as { results: Record<string, unknown>[] };
    expect((body.results[0]!.day as { last_updated: string }).last_updated).toBe('1605195918507251700');
    const snap = buildGreeksSnapshot('AAPL', 1n, body.results, 1);
    expect(snap.events).toEqual([]);
    expect(snap.invalid.map((i) => i.reason)).toEqual(['snapshot result #0: bad option ticker "O:AAPL211022C000150000": expected O:<UNDERLYING><YYMMDD><C|P><STRIKE8>']);
  });

  it('chain snapshot with a well-formed ticker: greeks per $1 of the underlying as published, stamped with the newest vendor time', () => {
    const fixed = REST_CHAIN_SNAPSHOT.replace('O:AAPL211022C000150000', 'O:AAPL220121C00150000');
    const body = parseJsonLosslessNs(fixed) as { results: unknown[] };
    const snap = buildGreeksSnapshot('AAPL', 1n, body.results, 1);
    expect(snap.time_source).toBe('vendor');
    // newest of day / last_quote / underlying_asset last_updated (1605195918507251700) and last_trade.sip_timestamp.
    expect(snap.ts_event_ns).toBe(1675280958783136800n);
    expect(snap.events).toHaveLength(1);
    expect(snap.events[0]).toMatchObject({ option_symbol: 'O:AAPL220121C00150000', exp_date: '2022-01-21', strike: 150, right: 'C', delta: 1, gamma: 0, theta: 0.00229, vega: 0, implied_volatility: 5, open_interest: 1543, last_quote_ts_ns: 1605195918507251700n, last_trade_ts_ns: 1675280958783136800n, ts_event_ns: 1675280958783136800n, ts_recv_ns: 1n });
  });

  it('null implied_volatility / null greeks: the contract is counted without greeks, never dead-lettered', () => {
    const fixed = REST_CHAIN_SNAPSHOT.replace('O:AAPL211022C000150000', 'O:AAPL220121C00150000');
    const noIv = fixed.replace('"implied_volatility":5', '"implied_volatility":null');
    const a = buildGreeksSnapshot('AAPL', 1n, (parseJsonLosslessNs(noIv) as { results: unknown[] }).results, 1);
    expect(a.invalid).toEqual([]);
    expect(a.events[0]!.implied_volatility).toBeNull();
    const noGreeks = noIv.replace('"greeks":{"delta":1,"gamma":0,"theta":0.00229,"vega":0}', '"greeks":null');
    const b = buildGreeksSnapshot('AAPL', 1n, (parseJsonLosslessNs(noGreeks) as { results: unknown[] }).results, 1);
    expect({ invalid: b.invalid.length, events: b.events.length, withoutGreeks: b.withoutGreeks }).toEqual({ invalid: 0, events: 0, withoutGreeks: 1 });
    const partial = noIv.replace('"greeks":{"delta":1,"gamma":0,"theta":0.00229,"vega":0}', '"greeks":{"delta":null,"gamma":null,"theta":null,"vega":null}');
    const c = buildGreeksSnapshot('AAPL', 1n, (parseJsonLosslessNs(partial) as { results: unknown[] }).results, 1);
    expect({ invalid: c.invalid.length, withoutGreeks: c.withoutGreeks }).toEqual({ invalid: 0, withoutGreeks: 1 });
  });

  it('universal snapshot: the option row becomes a greeks event (delta 0.552 per $1), NOT_FOUND is listed, the stock row is refused', () => {
    const body = parseJsonLosslessNs(REST_UNIVERSAL_SNAPSHOT) as { results: unknown[] };
    const { rows, notFound } = universalToChainRows(body.results);
    expect(notFound).toEqual(['TSLAAPL']);
    const snap = buildGreeksSnapshot('NCLH', 1n, rows, 1);
    expect(snap.events).toHaveLength(1);
    expect(snap.events[0]).toMatchObject({ option_symbol: 'O:NCLH221014C00005000', exp_date: '2022-10-14', strike: 5, right: 'C', delta: 0.5520187372272933, gamma: 0.00706756515659829, theta: -0.018532772783847958, vega: 0.7274811132998142, implied_volatility: 0.3048997097864957, open_interest: 8921 });
    expect(snap.ts_event_ns).toBe(1675280958783136800n);
    expect(snap.invalid.map((i) => i.reason)).toEqual([expect.stringMatching(/^snapshot result #1: field "details"/)]);
  });
});
