// The JSONL line format of normalized input events (`snap-engine run --input`, `feed sim --out`).
// One JSON object per line: the §2.4 fields of its schema plus `"schema": "<name>"` and the envelope.
// 64-bit integers (timestamps, seq) are read from JSON numbers or decimal strings and written as decimal strings:
// ns timestamps exceed 2^53, so a JSON number that large has already lost precision and is refused.
// MBP-10 absent levels (price NaN) are written as null, because JSON has no NaN.
import { z } from 'zod';
import { makeEventId } from './event-id';
import type { InputEvent, InputSchema, Source } from './events';

export class EventLineError extends Error {
  constructor(
    message: string,
    readonly lineNo: number,
    readonly field: string,
  ) {
    super(message);
    this.name = 'EventLineError';
  }
}

const SOURCES = ['massive_ws', 'massive_rest', 'polygon_ws', 'polygon_rest', 'replay', 'sim', 'direct_feed', 'databento'] as const satisfies readonly Source[];

const int64 = z.union([z.string(), z.number()], 'expected an integer (decimal string or JSON number)').transform((v, ctx) => {
  if (typeof v === 'string') {
    if (/^-?\d{1,19}$/.test(v)) return BigInt(v);
    ctx.addIssue({ code: 'custom', message: `expected a decimal integer string, got ${JSON.stringify(v)}` });
  } else if (!Number.isInteger(v)) {
    ctx.addIssue({ code: 'custom', message: `expected an integer, got ${v}` });
  } else if (!Number.isSafeInteger(v)) {
    ctx.addIssue({ code: 'custom', message: 'JSON number beyond 2^53 has lost precision; write 64-bit integers as decimal strings' });
  } else return BigInt(v);
  return z.NEVER;
});
const finite = z.number().refine(Number.isFinite, 'expected a finite number');
const nonNegInt = z.number().int().nonnegative();
const aggressor = z.union([z.literal(-1), z.literal(0), z.literal(1)]);
const right = z.enum(['C', 'P']);
const expDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'expected YYYY-MM-DD');
/** An MBP-10 price slot: null (absent level) reads as NaN. */
const bookPx = z.union([finite, z.null().transform(() => Number.NaN)]);
const bookArr = <T extends z.ZodType>(t: T) => z.array(t).min(1).max(10);

/** The contract an option record is about (options.trades.v1 and options.greeks_snapshots.v1 alike). */
const optionContract = {
  underlying: z.string().min(1),
  option_symbol: z.string().min(1),
  exp_date: expDate,
  strike: finite,
  right,
};

/** Envelope fields; everything but ts_event_ns may be omitted on input and is then derived. */
const envelope = {
  schema_version: z.number().int().positive().optional(),
  source: z.enum(SOURCES).optional(),
  ts_event_ns: int64,
  ts_recv_ns: int64.optional(),
  key: z.string().min(1).optional(),
  seq: int64.nullable().optional(),
  event_id: z.string().min(1).optional(),
};

const SCHEMAS = {
  'stocks.trades.v1': z.strictObject({
    schema: z.literal('stocks.trades.v1'),
    ...envelope,
    symbol: z.string().min(1),
    price: finite,
    size: nonNegInt,
    exchange: z.number().int().nullable().optional(),
    conditions: z.array(z.number().int()).optional(),
  }),
  'stocks.quotes.v1': z.strictObject({
    schema: z.literal('stocks.quotes.v1'),
    ...envelope,
    symbol: z.string().min(1),
    bid_px: finite,
    ask_px: finite,
    bid_sz: nonNegInt,
    ask_sz: nonNegInt,
    bid_exch: z.number().int().nullable().optional(),
    ask_exch: z.number().int().nullable().optional(),
  }),
  'options.trades.v1': z.strictObject({
    schema: z.literal('options.trades.v1'),
    ...envelope,
    ...optionContract,
    price: finite,
    size: nonNegInt,
    opt_bid: finite.nullable().optional(),
    opt_ask: finite.nullable().optional(),
    aggressor,
  }),
  'options.greeks_snapshots.v1': z.strictObject({
    schema: z.literal('options.greeks_snapshots.v1'),
    ...envelope,
    ...optionContract,
    delta: finite,
    gamma: finite,
    theta: finite,
    vega: finite,
    implied_volatility: finite.nullable().optional(),
    open_interest: nonNegInt.nullable().optional(),
    last_quote_ts_ns: int64.nullable().optional(),
    last_trade_ts_ns: int64.nullable().optional(),
    snapshot_id: z.string().min(1),
  }),
  'futures.trades.v1': z.strictObject({
    schema: z.literal('futures.trades.v1'),
    ...envelope,
    symbol: z.string().min(1),
    price: finite,
    size: nonNegInt,
    aggressor,
    venue: z.string().nullable().optional(),
  }),
  'futures.mbp10.v1': z.strictObject({
    schema: z.literal('futures.mbp10.v1'),
    ...envelope,
    symbol: z.string().min(1),
    bid_px: bookArr(bookPx),
    bid_sz: bookArr(nonNegInt),
    ask_px: bookArr(bookPx),
    ask_sz: bookArr(nonNegInt),
    bid_ct: bookArr(nonNegInt).optional(),
    ask_ct: bookArr(nonNegInt).optional(),
    flags: z.number().int().min(0).max(255),
    is_snapshot: z.boolean().optional(),
  }),
  'heartbeat.v1': z.strictObject({
    schema: z.literal('heartbeat.v1'),
    ...envelope,
    key: z.string().min(1),
  }),
} as const;

type Parsed = { [K in keyof typeof SCHEMAS]: z.output<(typeof SCHEMAS)[K]> };

function issuePath(issue: z.core.$ZodIssue): string {
  return issue.path.map(String).join('.') || '(root)';
}

/** Parses one JSONL line; `lineNo` is 1-based and appears in every error together with the offending field. */
export function parseEventLine(line: string, lineNo: number): InputEvent {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch (e) {
    throw new EventLineError(`line ${lineNo}: not valid JSON (${(e as Error).message})`, lineNo, '(line)');
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new EventLineError(`line ${lineNo}: expected a JSON object`, lineNo, '(line)');
  const schema = (raw as { schema?: unknown }).schema;
  if (typeof schema !== 'string' || !(schema in SCHEMAS)) {
    throw new EventLineError(`line ${lineNo}: field "schema": unknown schema ${JSON.stringify(schema)} (expected one of ${Object.keys(SCHEMAS).join(', ')})`, lineNo, 'schema');
  }
  const r = SCHEMAS[schema as InputSchema].safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const field = issue.code === 'unrecognized_keys' ? issue.keys.join(',') : issuePath(issue);
    throw new EventLineError(`line ${lineNo}: field "${field}": ${issue.message}`, lineNo, field);
  }
  const ev = withEnvelope(r.data as Parsed[InputSchema]);
  if (ev.schema === 'futures.mbp10.v1') {
    const n = ev.bid_px.length;
    for (const f of ['bid_sz', 'ask_px', 'ask_sz', 'bid_ct', 'ask_ct'] as const) {
      if (ev[f].length !== n) throw new EventLineError(`line ${lineNo}: field "${f}": has ${ev[f].length} levels, bid_px has ${n}`, lineNo, f);
    }
  }
  return ev;
}

type ContractFields = z.output<z.ZodObject<typeof optionContract>>;
// Field by field (not a spread of d), so the event carries exactly the contract fields, in schema order.
const contractOf = (d: ContractFields): ContractFields => ({ underlying: d.underlying, option_symbol: d.option_symbol, exp_date: d.exp_date, strike: d.strike, right: d.right });

function withEnvelope(d: Parsed[InputSchema]): InputEvent {
  const source: Source = d.source ?? 'replay';
  const env = {
    schema_version: d.schema_version ?? 1,
    source,
    ts_event_ns: d.ts_event_ns,
    ts_recv_ns: d.ts_recv_ns ?? d.ts_event_ns,
    seq: d.seq ?? null,
  };
  switch (d.schema) {
    case 'stocks.trades.v1':
      return {
        schema: d.schema,
        ...env,
        key: d.key ?? d.symbol,
        event_id: d.event_id ?? makeEventId({ source, ts_event_ns: d.ts_event_ns, symbol: d.symbol, price: d.price, size: d.size, exchange: d.exchange ?? null, seq: d.seq ?? null }),
        symbol: d.symbol,
        price: d.price,
        size: d.size,
        exchange: d.exchange ?? null,
        conditions: d.conditions ?? [],
      };
    case 'stocks.quotes.v1':
      return {
        schema: d.schema,
        ...env,
        key: d.key ?? d.symbol,
        event_id: d.event_id ?? makeEventId({ source, ts_event_ns: d.ts_event_ns, symbol: d.symbol, price: d.bid_px, size: d.bid_sz, exchange: `${d.ask_px}/${d.ask_sz}`, seq: d.seq ?? null }),
        symbol: d.symbol,
        bid_px: d.bid_px,
        ask_px: d.ask_px,
        bid_sz: d.bid_sz,
        ask_sz: d.ask_sz,
        bid_exch: d.bid_exch ?? null,
        ask_exch: d.ask_exch ?? null,
      };
    case 'options.trades.v1':
      return {
        schema: d.schema,
        ...env,
        key: d.key ?? d.underlying,
        event_id: d.event_id ?? makeEventId({ source, ts_event_ns: d.ts_event_ns, symbol: d.option_symbol, price: d.price, size: d.size, seq: d.seq ?? null }),
        ...contractOf(d),
        price: d.price,
        size: d.size,
        opt_bid: d.opt_bid ?? null,
        opt_ask: d.opt_ask ?? null,
        aggressor: d.aggressor,
      };
    case 'options.greeks_snapshots.v1':
      return {
        schema: d.schema,
        ...env,
        key: d.key ?? d.underlying,
        event_id: d.event_id ?? makeEventId({ source, ts_event_ns: d.ts_event_ns, symbol: d.option_symbol, exchange: d.snapshot_id, seq: d.seq ?? null }),
        ...contractOf(d),
        delta: d.delta,
        gamma: d.gamma,
        theta: d.theta,
        vega: d.vega,
        implied_volatility: d.implied_volatility ?? null,
        open_interest: d.open_interest ?? null,
        last_quote_ts_ns: d.last_quote_ts_ns ?? null,
        last_trade_ts_ns: d.last_trade_ts_ns ?? null,
        snapshot_id: d.snapshot_id,
      };
    case 'futures.trades.v1':
      return {
        schema: d.schema,
        ...env,
        key: d.key ?? d.symbol,
        event_id: d.event_id ?? makeEventId({ source, ts_event_ns: d.ts_event_ns, symbol: d.symbol, price: d.price, size: d.size, exchange: d.venue ?? null, seq: d.seq ?? null }),
        symbol: d.symbol,
        price: d.price,
        size: d.size,
        aggressor: d.aggressor,
        venue: d.venue ?? null,
      };
    case 'futures.mbp10.v1': {
      const zeros = () => d.bid_px.map(() => 0);
      return {
        schema: d.schema,
        ...env,
        key: d.key ?? d.symbol,
        event_id:
          d.event_id ??
          makeEventId({ source, ts_event_ns: d.ts_event_ns, symbol: d.symbol, price: d.bid_px[0] ?? null, size: d.bid_sz[0] ?? null, exchange: `${d.ask_px[0]}/${d.ask_sz[0]}/${d.flags}`, seq: d.seq ?? null }),
        symbol: d.symbol,
        bid_px: d.bid_px,
        bid_sz: d.bid_sz,
        ask_px: d.ask_px,
        ask_sz: d.ask_sz,
        bid_ct: d.bid_ct ?? zeros(),
        ask_ct: d.ask_ct ?? zeros(),
        flags: d.flags,
        is_snapshot: d.is_snapshot ?? false,
      };
    }
    case 'heartbeat.v1':
      return {
        schema: d.schema,
        ...env,
        key: d.key,
        event_id: d.event_id ?? makeEventId({ source, ts_event_ns: d.ts_event_ns, symbol: d.key, exchange: 'heartbeat', seq: d.seq ?? null }),
      };
  }
}

const jsonValue = (_k: string, v: unknown) => (typeof v === 'bigint' ? v.toString() : typeof v === 'number' && Number.isNaN(v) ? null : v);

const FIELD_ORDER = Object.fromEntries(Object.entries(SCHEMAS).map(([k, s]) => [k, Object.keys(s.shape)])) as Record<InputSchema, string[]>;

/** One JSONL line (no newline), keys in the schema's canonical order so equal events give equal bytes. */
export function formatEventLine(ev: InputEvent): string {
  const src = ev as unknown as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const k of FIELD_ORDER[ev.schema]) out[k] = src[k];
  return JSON.stringify(out, jsonValue);
}
