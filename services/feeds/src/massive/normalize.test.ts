import fc from 'fast-check';
import { makeEventId } from '@snap/core';
import { classifyAggressor, decodeFrame, formatOptionTicker, MassiveNormalizer, NormalizeError, OptionTickerError, parseOptionTicker, type NormalizedItem } from './normalize';

const ctx = (recv = 42n) => {
  let s = 0n;
  return { ts_recv_ns: recv, nextSeq: () => s++ };
};

describe('parseOptionTicker', () => {
  it('decodes the plan example', () => {
    expect(parseOptionTicker('O:SPY251216C00676000')).toEqual({ option_symbol: 'O:SPY251216C00676000', underlying: 'SPY', exp_date: '2025-12-16', right: 'C', strike: 676 });
  });
  it('decodes fractional strikes, puts, and roots with digits or dots', () => {
    expect(parseOptionTicker('O:SPY251216P00676500')).toMatchObject({ right: 'P', strike: 676.5 });
    expect(parseOptionTicker('O:SPXW260102C05900000')).toMatchObject({ underlying: 'SPXW', exp_date: '2026-01-02', strike: 5900 });
    // Adjusted contract: the root ends in a digit; the fixed-width tail decides where it stops.
    expect(parseOptionTicker('O:AAPL1251219C00150000')).toMatchObject({ underlying: 'AAPL1', exp_date: '2025-12-19', strike: 150 });
    expect(parseOptionTicker('O:BRK.B251219C00450000')).toMatchObject({ underlying: 'BRK.B', strike: 450 });
    expect(parseOptionTicker('O:SPY251216C00000001')).toMatchObject({ strike: 0.001 });
    expect(parseOptionTicker('O:SPY240229C00500000')).toMatchObject({ exp_date: '2024-02-29' });
  });
  it.each([
    ['SPY251216C00676000', 'missing "O:" prefix'],
    ['O:SPY251216X00676000', 'expected O:'],
    ['O:SPY251216C0067600', 'expected O:'],
    ['O:SPY251216C006760000', 'expected O:'],
    ['O:251216C00676000', 'expected O:'],
    ['O:spy251216C00676000', 'expected O:'],
    ['O:SPY251316C00676000', 'month 13 out of range'],
    ['O:SPY251232C00676000', 'day 32 does not exist'],
    ['O:SPY250229C00676000', 'day 29 does not exist in 2025-02'],
    ['O:SPY251131C00676000', 'day 31 does not exist in 2025-11'],
    ['O:SPY251216C00000000', 'strike is zero'],
    ['', 'missing "O:" prefix'],
  ])('rejects %j with a typed error (%s)', (ticker, why) => {
    let err: unknown;
    try {
      parseOptionTicker(ticker);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(OptionTickerError);
    expect((err as OptionTickerError).ticker).toBe(ticker);
    expect((err as Error).message).toContain(why);
  });
  it('formatOptionTicker inverts parseOptionTicker', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('SPY', 'QQQ', 'IWM', 'SPXW'),
        fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2099-12-31T00:00:00Z'), noInvalidDate: true }),
        fc.constantFrom('C' as const, 'P' as const),
        fc.integer({ min: 1, max: 99_999_999 }),
        (u, d, right, milli) => {
          const exp = d.toISOString().slice(0, 10);
          const t = formatOptionTicker(u, exp, right, milli / 1000);
          expect(parseOptionTicker(t)).toEqual({ option_symbol: t, underlying: u, exp_date: exp, right, strike: milli / 1000 });
        },
      ),
    );
  });
});

describe('classifyAggressor', () => {
  it('uses the option BBO: ≥ ask buys, ≤ bid sells, inside is 0, no BBO is 0', () => {
    expect(classifyAggressor(1.25, 1.2, 1.25)).toBe(1);
    expect(classifyAggressor(1.3, 1.2, 1.25)).toBe(1);
    expect(classifyAggressor(1.2, 1.2, 1.25)).toBe(-1);
    expect(classifyAggressor(1.1, 1.2, 1.25)).toBe(-1);
    expect(classifyAggressor(1.22, 1.2, 1.25)).toBe(0);
    expect(classifyAggressor(1.22, null, null)).toBe(0);
    // Locked book: the ask test comes first.
    expect(classifyAggressor(1.2, 1.2, 1.2)).toBe(1);
  });
});

describe('MassiveNormalizer (stocks)', () => {
  const n = () => new MassiveNormalizer({ cluster: 'stocks', underlyings: ['SPY'] });

  it('maps a trade and a quote to exact events (ms → ns, sizes in shares, vendor id)', () => {
    const frame = Buffer.from(
      JSON.stringify([
        { ev: 'T', sym: 'SPY', x: 4, i: '52983525034125', z: 1, p: 676.12, s: 100, c: [12, 37], t: 1765900800123, q: 1063, trfi: 202, trft: 1765900800120 },
        { ev: 'Q', sym: 'SPY', bx: 11, bp: 676.11, bs: 300, ax: 12, ap: 676.13, as: 200, c: 1, i: [], t: 1765900800124, q: 1064, z: 1 },
      ]),
    );
    const items = n().normalizeFrame(frame, ctx(999n));
    expect(items).toEqual([
      {
        kind: 'event',
        event: {
          schema: 'stocks.trades.v1',
          schema_version: 1,
          source: 'massive_ws',
          ts_event_ns: 1765900800123000000n,
          ts_recv_ns: 999n,
          key: 'SPY',
          seq: 0n,
          event_id: 'massive_ws:SPY:4:52983525034125:1765900800123',
          symbol: 'SPY',
          price: 676.12,
          size: 100,
          exchange: 4,
          conditions: [12, 37],
        },
      },
      {
        kind: 'event',
        event: {
          schema: 'stocks.quotes.v1',
          schema_version: 1,
          source: 'massive_ws',
          ts_event_ns: 1765900800124000000n,
          ts_recv_ns: 999n,
          key: 'SPY',
          seq: 1n,
          event_id: makeEventId({ source: 'massive_ws', ts_event_ns: 1765900800124000000n, symbol: 'SPY', price: 676.11, size: 300, exchange: '11/12/676.13/200', seq: 1064 }),
          symbol: 'SPY',
          bid_px: 676.11,
          ask_px: 676.13,
          bid_sz: 300,
          ask_sz: 200,
          bid_exch: 11,
          ask_exch: 12,
        },
      },
    ]);
  });

  it('ts_event_ns is exact for any ms timestamp (no float rounding)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), (t) => {
        const [it] = n().normalizeFrame(Buffer.from(JSON.stringify([{ ev: 'T', sym: 'SPY', p: 1, s: 1, t }])), ctx());
        expect(it).toMatchObject({ kind: 'event', event: { ts_event_ns: BigInt(t) * 1_000_000n } });
      }),
    );
  });

  it('without a vendor id the event_id is a hash that ignores the per-connection seq (a resend dedups)', () => {
    const m = [{ ev: 'T', sym: 'SPY', x: 4, p: 676.12, s: 100, t: 1765900800123, q: 7 }];
    const a = n().normalizeFrame(Buffer.from(JSON.stringify(m)), ctx());
    const b = n().normalizeFrame(Buffer.from(JSON.stringify([{ ev: 'Q', sym: 'SPY', bp: 1, bs: 1, ap: 2, as: 1, t: 1 }, ...m])), ctx(7n));
    const ea = (a[0] as { event: { event_id: string; seq: bigint } }).event;
    const eb = (b[1] as { event: { event_id: string; seq: bigint } }).event;
    expect(ea.seq).not.toBe(eb.seq);
    expect(ea.event_id).toBe(eb.event_id);
    expect(ea.event_id).toMatch(/^[0-9a-f]{16}$/);
  });

  it('turns malformed input into NormalizeErrors with reason and raw bytes, keeping the good messages', () => {
    const bad = Buffer.from('[{"ev":"T","sym":"SPY",');
    const [e1] = n().normalizeFrame(bad, ctx());
    expect(e1).toMatchObject({ kind: 'error' });
    const err = (e1 as { error: NormalizeError }).error;
    expect(err).toBeInstanceOf(NormalizeError);
    expect(err.reason).toMatch(/not valid JSON/);
    expect(err.raw.equals(bad)).toBe(true);

    expect(() => decodeFrame(Buffer.from('{"ev":"T"}'))).toThrow(/not a JSON array \(got object\)/);

    const mixed = [{ ev: 'T', sym: 'SPY', p: 'x', s: 1, t: 1 }, { ev: 'T', sym: 'SPY', p: 1, s: 1, t: 2 }, { ev: 'Q', sym: 'SPY', bp: 1, bs: 1, ap: 2, t: 3 }, { ev: 'T', sym: 'SPY', p: 1, s: -1.5, t: 4 }, { ev: 'X', sym: 'SPY' }, 17];
    const items = n().normalizeFrame(Buffer.from(JSON.stringify(mixed)), ctx());
    expect(items.map((i) => i.kind)).toEqual(['error', 'event', 'error', 'error', 'error', 'error']);
    const reasons = items.filter((i) => i.kind === 'error').map((i) => (i as { error: NormalizeError }).error.reason);
    expect(reasons[0]).toMatch(/message #0: stock trade: field "p"/);
    expect(reasons[1]).toMatch(/message #2: stock quote: field "as"/);
    expect(reasons[2]).toMatch(/message #3: stock trade: field "s"/);
    expect(reasons[3]).toMatch(/unknown event type ev="X"/);
    expect(reasons[4]).toMatch(/not a JSON object/);
    expect((items[0] as { error: NormalizeError }).error.raw.toString()).toBe(JSON.stringify(mixed[0]));
  });

  it('unknown underlyings are dead-lettered by default, or skipped and counted', () => {
    const f = Buffer.from(JSON.stringify([{ ev: 'T', sym: 'AAPL', p: 1, s: 1, t: 1 }]));
    expect(n().normalizeFrame(f, ctx())[0]).toMatchObject({ kind: 'error', error: { reason: expect.stringMatching(/unknown underlying "AAPL"/) } });
    const skip = new MassiveNormalizer({ cluster: 'stocks', underlyings: ['SPY'], onUnknownUnderlying: 'skip' });
    expect(skip.normalizeFrame(f, ctx())).toEqual([]);
    expect(skip.skippedUnknownUnderlying).toBe(1);
  });

  it('passes status messages through as status items', () => {
    const items = n().normalizeFrame(Buffer.from('[{"ev":"status","status":"success","message":"subscribed to: T.SPY"}]'), ctx());
    expect(items).toEqual([{ kind: 'status', status: { ev: 'status', status: 'success', message: 'subscribed to: T.SPY' } }]);
  });
});

describe('MassiveNormalizer (options)', () => {
  const sym = 'O:SPY251216C00676000';
  it('keeps the option BBO from quotes and classifies trades against it', () => {
    const n = new MassiveNormalizer({ cluster: 'options', underlyings: ['SPY'] });
    const c = ctx(5n);
    const frame = (m: unknown[]) => Buffer.from(JSON.stringify(m));
    // Trade before any quote: no BBO, aggressor 0.
    const [first] = n.normalizeFrame(frame([{ ev: 'T', sym, x: 312, p: 2.5, s: 3, c: [209], t: 1765900800000, q: 1 }]), c);
    expect(first).toMatchObject({ kind: 'event', event: { opt_bid: null, opt_ask: null, aggressor: 0 } });
    const items = n.normalizeFrame(
      frame([
        { ev: 'Q', sym, bx: 301, ax: 302, bp: 2.48, ap: 2.52, bs: 10, as: 12, t: 1765900800100, q: 2 },
        { ev: 'T', sym, x: 312, p: 2.52, s: 5, c: [209], t: 1765900800200, q: 3 },
        { ev: 'T', sym, x: 312, p: 2.48, s: 1, t: 1765900800300, q: 4 },
        { ev: 'T', sym, x: 312, p: 2.5, s: 2, t: 1765900800400, q: 5 },
        // An older quote (reconnect replay) must not roll the BBO back.
        { ev: 'Q', sym, bp: 1, ap: 9, bs: 1, as: 1, t: 1765900800050, q: 6 },
        { ev: 'T', sym, x: 312, p: 2.53, s: 4, t: 1765900800500, q: 7 },
      ]),
      c,
    );
    expect(items[0]).toEqual({ kind: 'bookkeeping', sym });
    expect(items[1]).toEqual({
      kind: 'event',
      event: {
        schema: 'options.trades.v1',
        schema_version: 1,
        source: 'massive_ws',
        ts_event_ns: 1765900800200000000n,
        ts_recv_ns: 5n,
        key: 'SPY',
        seq: 1n,
        event_id: makeEventId({ source: 'massive_ws', ts_event_ns: 1765900800200000000n, symbol: sym, price: 2.52, size: 5, exchange: 312, seq: 3 }),
        underlying: 'SPY',
        option_symbol: sym,
        exp_date: '2025-12-16',
        strike: 676,
        right: 'C',
        price: 2.52,
        size: 5,
        opt_bid: 2.48,
        opt_ask: 2.52,
        aggressor: 1,
      },
    });
    expect(items.slice(2).map((i) => (i.kind === 'event' && i.event.schema === 'options.trades.v1' ? [i.event.aggressor, i.event.opt_bid, i.event.opt_ask] : i.kind))).toEqual([
      [-1, 2.48, 2.52],
      // Exactly at mid: the quote cannot tell, the tick rule does (up from 2.48).
      [1, 2.48, 2.52],
      'bookkeeping',
      [1, 2.48, 2.52],
    ]);
  });

  it('dead-letters bad tickers and contracts on other underlyings', () => {
    const n = new MassiveNormalizer({ cluster: 'options', underlyings: ['SPY'] });
    const items = n.normalizeFrame(Buffer.from(JSON.stringify([{ ev: 'T', sym: 'O:SPY251316C00676000', p: 1, s: 1, t: 1 }, { ev: 'Q', sym: 'O:QQQ251216C00500000', bp: 1, ap: 2, bs: 1, as: 1, t: 1 }])), ctx());
    expect(items.map((i) => (i.kind === 'error' ? i.error.reason : i.kind))).toEqual([
      'options message #0: bad option ticker "O:SPY251316C00676000": month 13 out of range',
      'options message #1: unknown underlying "QQQ" (configured: SPY)',
    ]);
    expect(n.bbo.size).toBe(0);
  });
});

describe('option customer side as of the trade', () => {
  const sym = 'O:SPY251216C00676000';
  const T = 1765900800000;
  const q = (t: number, bp: number, ap: number, qn: number) => ({ ev: 'Q', sym, bp, ap, bs: 5, as: 5, t, q: qn });
  const tr = (t: number, p: number, qn: number, c: number[] = [209]) => ({ ev: 'T', sym, x: 312, p, s: 1, c, t, q: qn });
  const sides = (items: NormalizedItem[]) => items.filter((i) => i.kind === 'event').map((i) => (i.kind === 'event' && i.event.schema === 'options.trades.v1' ? [i.event.aggressor, i.event.opt_bid, i.event.opt_ask] : null));

  it('uses the quote in force at the trade time, not a newer one that arrived first, nor one older than quoteMaxAgeMs', () => {
    const n = new MassiveNormalizer({ cluster: 'options', underlyings: ['SPY'], quoteMaxAgeMs: 500 });
    const items = n.normalizeFrame(
      Buffer.from(
        JSON.stringify([
          q(T, 2.0, 2.1, 1),
          // The quote moved up at T+300, and that update arrived before the T+200 print: the print is judged by the T quote.
          q(T + 300, 2.3, 2.4, 2),
          tr(T + 200, 2.1, 3),
          // At T+900 the in-force quote (T+300) is 600 ms old > 500: not used; the tick rule decides (2.35 > 2.1 → buy).
          tr(T + 900, 2.35, 4),
          // Zero tick keeps the previous sign.
          tr(T + 1000, 2.35, 5),
          // Down tick → sell.
          tr(T + 1100, 2.2, 6),
        ]),
      ),
      ctx(),
    );
    expect(sides(items)).toEqual([
      [1, 2.0, 2.1],
      [1, null, null],
      [1, null, null],
      [-1, null, null],
    ]);
    expect(n.optionTrades).toMatchObject({ side: { quote: 1, tick: 3, unknown: 0 }, staleQuote: 3 });
  });

  it('no quote and no previous print → unknown (0); inside the spread the mid decides', () => {
    const n = new MassiveNormalizer({ cluster: 'options', underlyings: ['SPY'] });
    const items = n.normalizeFrame(Buffer.from(JSON.stringify([tr(T, 2.05, 1), q(T + 10, 2.0, 2.1, 2), tr(T + 20, 2.08, 3), tr(T + 30, 2.01, 4)])), ctx());
    expect(sides(items)).toEqual([
      [0, null, null],
      [1, 2.0, 2.1],
      [-1, 2.0, 2.1],
    ]);
    expect(n.optionTrades.side).toEqual({ quote: 2, tick: 0, unknown: 1 });
  });

  it('cancelled, late and multi-leg prints are excluded (counted per class); unknown condition ids are kept and counted', () => {
    const n = new MassiveNormalizer({ cluster: 'options', underlyings: ['SPY'] });
    const items = n.normalizeFrame(Buffer.from(JSON.stringify([tr(T, 2, 1, [201]), tr(T, 2, 2, [209, 204]), tr(T, 2, 3, [232]), tr(T, 2, 4, [240]), tr(T, 2, 5, [209, 9999]), tr(T, 2, 6, [])])), ctx());
    expect(items.map((i) => (i.kind === 'excluded' ? i.class : i.kind))).toEqual(['cancel', 'late', 'complex', 'complex', 'event', 'event']);
    expect(n.optionTrades.excluded).toEqual({ cancel: 1, late: 1, complex: 2 });
    expect(n.optionTrades.unknownConditions).toBe(1);
  });
});
