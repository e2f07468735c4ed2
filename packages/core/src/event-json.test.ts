import { EventLineError, eventKeyOrder, formatEventLine, parseCanonicalEventBytes, parseEventBytes, parseEventLine } from './event-json';
import type { FuturesMbp10, InputEvent } from './events';

const T = 1_766_414_400_123_456_789n; // > 2^53: must survive exactly

const samples: InputEvent[] = [
  { schema: 'stocks.quotes.v1', schema_version: 1, source: 'sim', ts_event_ns: T, ts_recv_ns: T + 150_000n, key: 'SPY', seq: 7n, event_id: 'a1', symbol: 'SPY', bid_px: 680.11, ask_px: 680.12, bid_sz: 1200, ask_sz: 900, bid_exch: 11, ask_exch: 12 },
  { schema: 'stocks.trades.v1', schema_version: 1, source: 'sim', ts_event_ns: T, ts_recv_ns: T, key: 'SPY', seq: null, event_id: 'a2', symbol: 'SPY', price: 680.12, size: 300, exchange: 4, conditions: [12, 37] },
  { schema: 'options.trades.v1', schema_version: 1, source: 'sim', ts_event_ns: T, ts_recv_ns: T, key: 'SPY', seq: null, event_id: 'a3', underlying: 'SPY', option_symbol: 'O:SPY251222C00680000', exp_date: '2025-12-22', strike: 680, right: 'C', price: 1.23, size: 10, opt_bid: 1.2, opt_ask: 1.25, aggressor: 1 },
  { schema: 'options.greeks_snapshots.v1', schema_version: 1, source: 'sim', ts_event_ns: T, ts_recv_ns: T, key: 'SPY', seq: null, event_id: 'a4', underlying: 'SPY', option_symbol: 'O:SPY251222P00679000', exp_date: '2025-12-22', strike: 679, right: 'P', delta: -0.4, gamma: 0.21, theta: -1.5, vega: 0.05, implied_volatility: 0.14, open_interest: null, last_quote_ts_ns: T - 5n, last_trade_ts_ns: null, snapshot_id: 'ffee' },
  { schema: 'futures.trades.v1', schema_version: 1, source: 'sim', ts_event_ns: T, ts_recv_ns: T, key: 'SPY', seq: 3n, event_id: 'a5', symbol: 'ESZ5', price: 6850.25, size: 2, aggressor: -1, venue: 'XCME' },
  { schema: 'futures.mbp10.v1', schema_version: 1, source: 'sim', ts_event_ns: T, ts_recv_ns: T, key: 'SPY', seq: null, event_id: 'a6', symbol: 'ESZ5', bid_px: [6850, Number.NaN], bid_sz: [10, 0], ask_px: [6850.25, 6850.5], ask_sz: [5, 7], bid_ct: [3, 0], ask_ct: [1, 2], flags: 0x80, is_snapshot: false },
  { schema: 'heartbeat.v1', schema_version: 1, source: 'sim', ts_event_ns: T, ts_recv_ns: T, key: 'SPY', seq: null, event_id: 'a7' },
];

describe('event JSONL format', () => {
  it.each(samples.map((s) => [s.schema, s] as const))('round-trips %s exactly, with 64-bit values as decimal strings', (_n, ev) => {
    const line = formatEventLine(ev);
    expect(line).toContain(`"ts_event_ns":"${T}"`);
    const back = parseEventLine(line, 1);
    if (back.schema === 'futures.mbp10.v1') {
      expect(Number.isNaN(back.bid_px[1])).toBe(true);
      expect({ ...back, bid_px: [back.bid_px[0]] }).toEqual({ ...ev, bid_px: [(ev as FuturesMbp10).bid_px[0]] });
    } else {
      expect(back).toEqual(ev);
    }
    expect(formatEventLine(back)).toBe(line);
  });

  it('writes what JSON.stringify of the schema keys writes (bigints as decimal strings, NaN as null), whatever the values', () => {
    // The reference is what formatEventLine was: the schema's keys copied in order, then JSON.stringify with a replacer.
    const reference = (ev: InputEvent): string => {
      const src = ev as unknown as Record<string, unknown>;
      const out: Record<string, unknown> = {};
      for (const k of eventKeyOrder(ev.schema)) out[k] = src[k];
      return JSON.stringify(out, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : typeof v === 'number' && Number.isNaN(v) ? null : v));
    };
    const { simulateSession } = jest.requireActual('./sim') as typeof import('./sim');
    const events: InputEvent[] = [...samples, ...[...simulateSession({ seed: 4, durationMs: 60_000 })]];
    const odd: unknown[] = [Number.NaN, Infinity, -Infinity, -0, 0, 1e21, 1e-7, 5e-324, 2 ** 53 + 2, 'é', 'a"b', 'back\\slash', 'tab\t', '\u2028', '\ud800', '', null, undefined, true, 12n, -5n, [1, Number.NaN, undefined, 3n, 'x'], [], { nested: 1n }];
    let x = 99;
    const rnd = () => ((x = (x * 1103515245 + 12345) % 2147483648) / 2147483648);
    for (let n = 0; n < 3000; n++) {
      const ev = { ...events[n % events.length]! } as unknown as Record<string, unknown>;
      const keys = Object.keys(ev).filter((k) => k !== 'schema');
      // One to three values replaced by anything a writer might be handed (the line must still be JSON.stringify's).
      if (n >= events.length) for (let j = 0; j <= n % 3; j++) ev[keys[Math.floor(rnd() * keys.length)]!] = odd[Math.floor(rnd() * odd.length)];
      const got = formatEventLine(ev as unknown as InputEvent);
      expect(got).toBe(reference(ev as unknown as InputEvent));
    }
    for (const ev of events) expect(() => JSON.parse(formatEventLine(ev))).not.toThrow();
  });

  it('accepts safe JSON numbers for 64-bit fields and fills the envelope when omitted', () => {
    const ev = parseEventLine('{"schema":"stocks.trades.v1","ts_event_ns":1700000000000,"symbol":"SPY","price":500.5,"size":100}', 3);
    expect(ev.ts_event_ns).toBe(1_700_000_000_000n);
    expect(ev.ts_recv_ns).toBe(1_700_000_000_000n);
    expect(ev.key).toBe('SPY');
    expect(ev.source).toBe('replay');
    expect(ev.event_id).toMatch(/^[0-9a-f]{16}$/);
    if (ev.schema !== 'stocks.trades.v1') throw new Error('schema');
    expect(ev.exchange).toBeNull();
    expect(ev.conditions).toEqual([]);
  });

  it.each([
    ['not JSON', '{"schema":', 5, '(line)', /line 5: not valid JSON/],
    ['not an object', '[1,2]', 6, '(line)', /line 6: expected a JSON object/],
    ['unknown schema', '{"schema":"stocks.bars.v1","ts_event_ns":"1"}', 7, 'schema', /line 7: field "schema": unknown schema/],
    ['unsafe JSON number', `{"schema":"heartbeat.v1","key":"SPY","ts_event_ns":${T}}`, 8, 'ts_event_ns', /line 8: field "ts_event_ns": .*2\^53/],
    ['non-decimal string', '{"schema":"heartbeat.v1","key":"SPY","ts_event_ns":"12a"}', 9, 'ts_event_ns', /line 9: field "ts_event_ns"/],
    ['missing field', '{"schema":"stocks.quotes.v1","ts_event_ns":"1","symbol":"SPY","bid_px":1,"ask_px":2,"bid_sz":1}', 10, 'ask_sz', /line 10: field "ask_sz"/],
    ['wrong type', '{"schema":"stocks.trades.v1","ts_event_ns":"1","symbol":"SPY","price":"500","size":1}', 11, 'price', /line 11: field "price"/],
    ['bad aggressor', '{"schema":"futures.trades.v1","ts_event_ns":"1","symbol":"ES","price":1,"size":1,"aggressor":2}', 12, 'aggressor', /line 12: field "aggressor"/],
    ['unknown field (typo)', '{"schema":"stocks.trades.v1","ts_event_ns":"1","symbol":"SPY","price":1,"size":1,"sizee":1}', 13, 'sizee', /line 13: field "sizee"/],
    ['ragged book', '{"schema":"futures.mbp10.v1","ts_event_ns":"1","symbol":"ES","bid_px":[1,2],"bid_sz":[1,1],"ask_px":[3,4],"ask_sz":[1],"flags":128}', 14, 'ask_sz', /line 14: field "ask_sz": has 1 levels/],
    ['bad exp_date', '{"schema":"options.trades.v1","ts_event_ns":"1","underlying":"SPY","option_symbol":"X","exp_date":"20251222","strike":1,"right":"C","price":1,"size":1,"aggressor":0}', 15, 'exp_date', /line 15: field "exp_date"/],
  ])('rejects %s with an error naming line and field', (_name, line, lineNo, field, msg) => {
    let err: unknown;
    try {
      parseEventLine(line, lineNo);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(EventLineError);
    expect((err as EventLineError).lineNo).toBe(lineNo);
    expect((err as EventLineError).field).toBe(field);
    expect((err as Error).message).toMatch(msg);
  });
});

describe('JSONL fast-path validator', () => {
  // The fast path must accept exactly what the zod schema accepts, give the same event, and leave every rejection
  // (and its wording) to zod: compare it with the zod-only reference on valid lines and on mutated ones.
  const { parseEventLineReference } = jest.requireActual('./event-json') as typeof import('./event-json');
  const { simulateSession } = jest.requireActual('./sim') as typeof import('./sim');
  const base = [...samples, ...[...simulateSession({ seed: 3, durationMs: 20_000 })].filter((_, i) => i % 7 === 0)].map((e) => formatEventLine(e));
  const VALUES: unknown[] = [null, '', 'x', '12a', '123', '-0', '99999999999999999999', 0, -1, 1, 2, 1.5, -2.5, 255, 256, 2 ** 53, 2 ** 60, true, false, [], [null], [1], [1.5], [-1], new Array(11).fill(1), {}, 'C', 'P', 'sim', '2025-12-22'];
  const outcome = (f: (l: string, n: number) => InputEvent, line: string): string => {
    try {
      const ev = f(line, 4);
      return `ok ${formatEventLine(ev)} ${JSON.stringify(ev, (_k, v) => (typeof v === 'bigint' ? `${v}n` : typeof v === 'number' && Number.isNaN(v) ? 'NaN' : v))}`;
    } catch (e) {
      return `err ${(e as Error).name} ${(e as Error).message} ${(e as EventLineError).field}`;
    }
  };
  it('agrees with the zod reference on every valid line', () => {
    for (const line of base) expect(outcome(parseEventLine, line)).toBe(outcome(parseEventLineReference, line));
  });
  it('reuses the last 64-bit value only for the same decimal string, from the first line on', () => {
    jest.isolateModules(() => {
      const fresh = jest.requireActual('./event-json') as typeof import('./event-json');
      // A fresh module has converted nothing yet: an empty string must not pass as a remembered value.
      expect(() => fresh.parseEventLine('{"schema":"heartbeat.v1","ts_event_ns":"","key":"SPY"}', 1)).toThrow(/line 1: field "ts_event_ns"/);
      const a = fresh.parseEventLine('{"schema":"heartbeat.v1","ts_event_ns":"1766414400123456789","ts_recv_ns":"1766414400123456789","key":"SPY"}', 2);
      const b = fresh.parseEventLine('{"schema":"heartbeat.v1","ts_event_ns":"1766414400123456789","ts_recv_ns":"1766414400123456790","key":"SPY"}', 3);
      expect([a.ts_event_ns, a.ts_recv_ns, b.ts_event_ns, b.ts_recv_ns]).toEqual([T, T, T, T + 1n]);
    });
  });
  it('gives the same event, keys in canonical order, for a line with its keys in any order', () => {
    let seed = 99;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    for (const line of base) {
      const obj = JSON.parse(line) as Record<string, unknown>;
      const keys = Object.keys(obj);
      for (let i = keys.length - 1; i > 0; i--) {
        const j = rnd(i + 1);
        [keys[i], keys[j]] = [keys[j]!, keys[i]!];
      }
      const shuffled = JSON.stringify(Object.fromEntries(keys.map((k) => [k, obj[k]])));
      expect(outcome(parseEventLine, shuffled)).toBe(outcome(parseEventLineReference, line));
      expect(Object.keys(parseEventLine(shuffled, 1))).toEqual(Object.keys(parseEventLine(line, 1)));
    }
  });
  it('reads absent MBP-10 levels (null prices) as NaN', () => {
    const ev = parseEventLine('{"schema":"futures.mbp10.v1","ts_event_ns":"1","symbol":"ES","bid_px":[1,null],"bid_sz":[1,0],"ask_px":[null,4],"ask_sz":[0,1],"flags":128}', 1) as FuturesMbp10;
    expect([ev.bid_px, ev.ask_px]).toEqual([[1, Number.NaN], [Number.NaN, 4]]);
  });
  it('agrees with the zod reference on mutated lines (a key dropped, replaced or added)', () => {
    let rejected = 0;
    let seed = 12345;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    for (let i = 0; i < 6000; i++) {
      const obj = JSON.parse(base[rnd(base.length)]!) as Record<string, unknown>;
      const keys = Object.keys(obj);
      const op = rnd(10);
      const k = keys[rnd(keys.length)]!;
      if (op === 0) delete obj[k];
      else if (op === 1) obj[['sizee', 'extra', 'ts', '__proto__x'][rnd(4)]!] = 1;
      else if (op === 2 && Array.isArray(obj[k])) (obj[k] as unknown[])[rnd((obj[k] as unknown[]).length)] = VALUES[rnd(VALUES.length)];
      else obj[k] = VALUES[rnd(VALUES.length)];
      const line = JSON.stringify(obj);
      const want = outcome(parseEventLineReference, line);
      if (want.startsWith('err')) rejected++;
      expect(outcome(parseEventLine, line)).toBe(want);
    }
    expect(rejected).toBeGreaterThan(1000);
  });
});

describe('JSONL byte decoder (parseEventBytes)', () => {
  // run reads lines as bytes: parseEventBytes, else (null) parseEventLine of the decoded line. Together they must
  // accept exactly what the zod reference accepts, give the same event with the same key order, and word every
  // rejection the same: compared on valid lines, key-shuffled ones, mutated ones and every form of JSON number.
  const { parseEventLineReference } = jest.requireActual('./event-json') as typeof import('./event-json');
  const { simulateSession } = jest.requireActual('./sim') as typeof import('./sim');
  const base = [...samples, ...[...simulateSession({ seed: 5, durationMs: 20_000 })].filter((_, i) => i % 5 === 0)].map((e) => formatEventLine(e));
  const enc = new TextEncoder();
  /** As run reads a line: from a Buffer (native latin1 strings) or a plain Uint8Array (the portable path), in a wider array. */
  const viaBytes = (line: string, lineNo: number, plain = false): InputEvent => {
    const body = plain ? enc.encode(line) : Buffer.from(line, 'utf8');
    const padded = plain ? new Uint8Array(body.length + 6) : Buffer.alloc(body.length + 6, 0x7b);
    padded.set(body, 3);
    return parseEventBytes(padded, 3, 3 + body.length) ?? parseEventLine(line, lineNo);
  };
  const outcome = (f: (l: string, n: number) => InputEvent, line: string): string => {
    try {
      const ev = f(line, 4);
      return `ok ${formatEventLine(ev)} ${JSON.stringify(ev, (_k, v) => (typeof v === 'bigint' ? `${v}n` : typeof v === 'number' && Number.isNaN(v) ? 'NaN' : Object.is(v, -0) ? '-0' : v))}`;
    } catch (e) {
      return `err ${(e as Error).name} ${(e as Error).message} ${(e as EventLineError).field}`;
    }
  };
  const same = (line: string) => {
    const want = outcome(parseEventLineReference, line);
    expect(outcome(viaBytes, line)).toBe(want);
    expect(outcome((l, n) => viaBytes(l, n, true), line)).toBe(want);
    return want;
  };
  let seed = 777;
  const rnd = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };

  it('decodes every valid line itself (no fallback) to the reference event', () => {
    for (const line of base) {
      expect(parseEventBytes(Buffer.from(line), 0, Buffer.byteLength(line))).not.toBeNull();
      same(line);
    }
  });

  it('agrees with the reference on lines with their keys shuffled and whitespace between tokens', () => {
    for (const line of base) {
      const obj = JSON.parse(line) as Record<string, unknown>;
      const keys = Object.keys(obj);
      for (let i = keys.length - 1; i > 0; i--) {
        const j = rnd(i + 1);
        [keys[i], keys[j]] = [keys[j]!, keys[i]!];
      }
      same(JSON.stringify(Object.fromEntries(keys.map((k) => [k, obj[k]]))));
      same(JSON.stringify(obj, null, rnd(2) === 0 ? 1 : '\t').replace(/\n/g, rnd(2) === 0 ? ' ' : '\r'));
      same(` ${line}\t`);
    }
  });

  it('agrees with the reference on mutated lines (a key dropped, replaced, repeated or added; values of every type)', () => {
    const VALUES: unknown[] = [null, '', 'x', '12a', '123', '-0', 'é', 'a"b', 'a\\b', '\u0001', 0, -1, 1, 2, 1.5, -2.5, 255, 256, 2 ** 53, 2 ** 60, 1e300, true, false, [], [null], [1], [1.5], ['1'], [[1]], [-1], new Array(11).fill(1), {}, { a: 1 }, 'C', 'P', 'sim', '2025-12-22'];
    let rejected = 0;
    for (let i = 0; i < 6000; i++) {
      const line = base[rnd(base.length)]!;
      const obj = JSON.parse(line) as Record<string, unknown>;
      const keys = Object.keys(obj);
      const op = rnd(12);
      const k = keys[rnd(keys.length)]!;
      let text: string;
      if (op === 0) {
        delete obj[k];
        text = JSON.stringify(obj);
      } else if (op === 1) {
        obj[['sizee', 'extra', 'ts', '__proto__x', 'schemas'][rnd(5)]!] = 1;
        text = JSON.stringify(obj);
      } else if (op === 2) {
        // A repeated key: JSON.parse keeps the last value.
        text = `${JSON.stringify(obj).slice(0, -1)},${JSON.stringify(k)}:${JSON.stringify(VALUES[rnd(VALUES.length)])}}`;
      } else if (op === 3) {
        text = line.slice(0, rnd(line.length)); // cut short
      } else if (op === 4 && Array.isArray(obj[k])) {
        (obj[k] as unknown[])[rnd((obj[k] as unknown[]).length)] = VALUES[rnd(VALUES.length)];
        text = JSON.stringify(obj);
      } else {
        obj[k] = VALUES[rnd(VALUES.length)];
        text = JSON.stringify(obj);
      }
      if (same(text).startsWith('err')) rejected++;
    }
    expect(rejected).toBeGreaterThan(1000);
  });

  it('reads every form of JSON number as JSON.parse does, and leaves the malformed ones to the string path', () => {
    const trade = (price: string, size = '1') => `{"schema":"futures.trades.v1","ts_event_ns":"1","symbol":"ES","price":${price},"size":${size},"aggressor":1}`;
    const book = (px: string) => `{"schema":"futures.mbp10.v1","ts_event_ns":"1","symbol":"ES","bid_px":[${px}, null],"bid_sz":[1,2],"ask_px":[1,2],"ask_sz":[1,2],"flags":128}`;
    const TEXTS = ['0', '-0', '1', '-1', '1.5', '1.50', '0.1', '0.30000000000000004', '6850.25', '680.1200000000001', '4.35', '1e2', '1E2', '1e+2', '1e-2', '-1.5e-3', '1e22', '1e23', '1e-22', '1e-23', '123.456e-25', '0.000001', '1e-7',
      '9007199254740991', '9007199254740992', '9007199254740993', '123456789012345678', '1234567890123456789012345', '0.1234567890123456789', '1.7976931348623157e308', '1e308', '1e309', '1e400', '-1e400', '5e-324', '2e-324', '2.2250738585072014e-308', '1e00001',
      '01', '00', '-01', '1.', '.5', '+1', '-', '1e', '1e+', '1.e3', '0x10', 'NaN', 'Infinity', '-Infinity', '1_000', '1 2', '--1', '1.5.5', '1e5e5'];
    for (const t of TEXTS) {
      same(trade(t));
      same(trade('1', t));
      same(book(t));
    }
    // Random doubles in the forms a writer produces: shortest round-trip, fixed and exponential with any digits.
    for (let i = 0; i < 3000; i++) {
      const mag = 10 ** (rnd(40) - 20);
      const x = ((rnd(2_000_000_000) / 2_000_000_000) * mag) * (rnd(2) ? 1 : -1);
      for (const t of [String(x), x.toFixed(rnd(12)), x.toExponential(rnd(20)), x.toPrecision(1 + rnd(21))]) {
        const ev = viaBytes(trade(t), 1) as { price: number };
        expect(Object.is(ev.price, JSON.parse(t))).toBe(true);
      }
    }
  });

  it('leaves escapes, non-ASCII text and nested values to the string path, which decides as before', () => {
    const q = (sym: string) => `{"schema":"stocks.quotes.v1","ts_event_ns":"1","symbol":${sym},"bid_px":1,"ask_px":2,"bid_sz":1,"ask_sz":1}`;
    for (const sym of ['"SPY"', '"\\u0053PY"', '"S\\"PY"', '"SPYé"', '"\u00e9"', '""', '{"a":1}', '["SPY"]', '1', 'true', 'nul', 'null ']) same(q(sym));
    for (const line of ['', ' ', '{}', '[]', '{"schema":"heartbeat.v1"', '{"schema":"heartbeat.v1",}', '{"schema":"heartbeat.v1","ts_event_ns":"1","key":"SPY"} x', '\ufeff{"schema":"heartbeat.v1","ts_event_ns":"1","key":"SPY"}']) same(line);
  });
});

describe('JSONL canonical-line decoder (parseCanonicalEventBytes)', () => {
  // Lines as every writer writes them (formatEventLine) are read by a decoder that expects each key where the layout
  // puts it. It must return the reference's event for every canonical line, and null (never another event, never an
  // accepted line the reference rejects) for anything else: the other paths then decide.
  const { parseEventLineReference } = jest.requireActual('./event-json') as typeof import('./event-json');
  const { simulateSession } = jest.requireActual('./sim') as typeof import('./sim');
  const base = [...samples, ...[...simulateSession({ seed: 8, durationMs: 20_000 })].filter((_, i) => i % 5 === 0)].map((e) => formatEventLine(e));
  const show = (ev: InputEvent): string =>
    `${formatEventLine(ev)} ${Object.keys(ev).join()} ${JSON.stringify(ev, (_k, v) => (typeof v === 'bigint' ? `${v}n` : typeof v === 'number' && Number.isNaN(v) ? 'NaN' : Object.is(v, -0) ? '-0' : v))}`;
  const reference = (line: string): string | null => {
    try {
      return show(parseEventLineReference(line, 1));
    } catch {
      return null;
    }
  };
  /** The canonical decoder's event for `line` (from inside a wider Buffer), or null. */
  const canonical = (line: string): string | null => {
    const body = Buffer.from(line, 'utf8');
    const padded = Buffer.alloc(body.length + 8, 0x7d);
    body.copy(padded, 4);
    const ev = parseCanonicalEventBytes(padded, 4, 4 + body.length);
    return ev === null ? null : show(ev);
  };
  /** Accepts nothing the reference rejects and gives the reference's event for what it accepts; true when it accepted. */
  const agrees = (line: string): boolean => {
    const got = canonical(line);
    if (got !== null) expect(got).toBe(reference(line));
    return got !== null;
  };
  let seed = 4242;
  const rnd = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };

  it('decodes every canonical line itself to the reference event, keys in the same order', () => {
    for (const line of base) {
      expect(canonical(line)).not.toBeNull();
      expect(agrees(line)).toBe(true);
    }
  });

  it('returns null for valid lines in another layout (key order, whitespace, an omitted optional key)', () => {
    const heartbeat = '{"schema":"heartbeat.v1","schema_version":1,"source":"sim","ts_event_ns":"1","ts_recv_ns":"1","key":"SPY","seq":null,"event_id":"a"}';
    expect(agrees(heartbeat)).toBe(true);
    for (const line of [heartbeat.replace(',"seq":null', ''), heartbeat.replace('"key":"SPY",', '').replace('}', ',"key":"SPY"}'), heartbeat.replace(':1,', ': 1,'), ` ${heartbeat}`, `${heartbeat} `]) {
      expect(reference(line)).not.toBeNull();
      expect(canonical(line)).toBeNull();
    }
  });

  it('agrees with the reference on canonical lines with any one value (or array element) replaced by every kind of JSON value', () => {
    const VALUES = ['null', '""', '"x"', '"12a"', '"123"', '"-1"', '"0123"', '"18446744073709551615"', '"12345678901234567890"', '"é"', '"a\\"b"', '"\\u0041"', '0', '-0', '-1', '1', '2', '1.5', '-2.5', '255', '256', '1e2', '1.0', '100.5e1', '9007199254740991', '9007199254740992', '1e400', 'true', 'false', '[]', '[null]', '[1]', '[1.5]', '[-1]', '[-0]', '[1,null]', '[ 1]', `[${new Array(11).fill(1).join()}]`, '{}', '"C"', '"P"', '"CP"', '"sim"', '"replay"', '"2025-12-22"', '"2025-12-2x"', '01', '1.', '-', 'nul', 'tru'];
    // Every schema in two lines (the samples and a simulated one), every key, every value: exhaustive, not sampled.
    const lines = [...samples.map((e) => formatEventLine(e)), ...samples.map((s) => base.slice(samples.length).find((l) => l.startsWith(`{"schema":"${s.schema}"`))!)];
    let accepted = 0;
    let rejected = 0;
    for (const line of lines) {
      const keys = Object.keys(JSON.parse(line) as object);
      for (let ki = 1; ki < keys.length; ki++) {
        // The text of the value: from after `"key":` to the next key or the closing brace.
        const from = line.indexOf(`"${keys[ki]}":`) + keys[ki]!.length + 3;
        const next = ki + 1 < keys.length ? line.indexOf(`,"${keys[ki + 1]}":`, from) : line.length - 1;
        const old = line.slice(from, next);
        const texts: string[] = VALUES.map((v) => line.slice(0, from) + v + line.slice(next));
        if (old.startsWith('[') && old.length > 2) {
          const items = old.slice(1, -1).split(',');
          for (const v of VALUES) {
            for (const at of [0, items.length - 1]) {
              const changed = [...items];
              changed[at] = v;
              texts.push(line.slice(0, from) + `[${changed.join()}]` + line.slice(next));
            }
          }
        }
        for (const text of texts) {
          if (agrees(text)) accepted++;
          if (reference(text) === null) rejected++;
        }
      }
    }
    expect(accepted).toBeGreaterThan(1000);
    expect(rejected).toBeGreaterThan(5000);
  });

  it('gives each MBP-10 line arrays of its own when a book repeats the last line\'s text', () => {
    const mbp = base.slice(samples.length).find((l) => l.includes('"futures.mbp10.v1"'))!;
    const read = (line: string) => {
      const bytes = Buffer.from(line, 'utf8');
      return parseCanonicalEventBytes(bytes, 0, bytes.length) as FuturesMbp10;
    };
    const first = read(mbp);
    const again = read(mbp);
    expect(again.bid_px).toEqual(first.bid_px);
    expect(again.bid_px).not.toBe(first.bid_px);
    first.bid_px[0] = -1;
    first.ask_sz.length = 0;
    const third = read(mbp);
    expect(third.bid_px[0]).not.toBe(-1);
    expect(third.ask_sz).toEqual(again.ask_sz);
    expect(show(third)).toBe(reference(mbp));
    // The last text as a prefix only (a longer last number): read anew.
    const longer = mbp.replace(/"bid_sz":\[([^\]]*)\]/, (_m, xs: string) => `"bid_sz":[${xs}5]`);
    expect(longer).not.toBe(mbp);
    expect(agrees(longer)).toBe(true);
    expect(agrees(mbp)).toBe(true);
  });

  it('reads 64-bit decimal strings of every length exactly, and numbers of every form as JSON.parse does', () => {
    const hb = (ts: string) => `{"schema":"heartbeat.v1","schema_version":1,"source":"sim","ts_event_ns":"${ts}","ts_recv_ns":"1766414400123456789","key":"SPY","seq":"7","event_id":"e"}`;
    for (const ts of ['0', '7', '123456789', '1234567890', '0000000001', '999999999999999999', '1766414400123456789', '1766414401000000000', '1766414400999999999', '9999999999999999999', '0000000000000000000']) {
      expect(agrees(hb(ts))).toBe(true);
    }
    const mbp = base.find((l) => l.includes('"futures.mbp10.v1"'))!;
    const trade = base.find((l) => l.includes('"futures.trades.v1"'))!;
    const TEXTS = ['0', '-0', '1', '-1', '1.5', '1.50', '0.1', '6850.25', '680.1200000000001', '1e2', '1E2', '1e+2', '1e-2', '-1.5e-3', '1e22', '1e23', '1e-23', '9007199254740991', '9007199254740992', '123456789012345', '1234567890123456', '1234567890123456789012345', '1e308', '1e309', '5e-324', '01', '00', '1.', '.5', '+1', '-', '1e', '0x10', 'NaN', '1 2'];
    for (const t of TEXTS) {
      agrees(trade.replace(/"price":[^,]+/, `"price":${t}`));
      agrees(trade.replace(/"size":[^,]+/, `"size":${t}`));
      agrees(mbp.replace(/"bid_px":\[[^,]+/, `"bid_px":[${t}`));
      agrees(mbp.replace(/"ask_sz":\[[^,]+/, `"ask_sz":[${t}`));
    }
  });
});
