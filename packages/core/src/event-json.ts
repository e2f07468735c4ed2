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

let useFastPath = true;
const BOOK_SIBLINGS = ['bid_sz', 'ask_px', 'ask_sz', 'bid_ct', 'ask_ct'] as const;

/** The zod-only parser, the reference the fast path is tested against (event-json.test.ts); not for production use. */
export function parseEventLineReference(line: string, lineNo: number): InputEvent {
  useFastPath = false;
  try {
    return parseEventLine(line, lineNo);
  } finally {
    useFastPath = true;
  }
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
  if (typeof schema !== 'string' || !Object.prototype.hasOwnProperty.call(SCHEMAS, schema)) {
    throw new EventLineError(`line ${lineNo}: field "schema": unknown schema ${JSON.stringify(schema)} (expected one of ${Object.keys(SCHEMAS).join(', ')})`, lineNo, 'schema');
  }
  // Fast path: hand-written checks that accept only what the zod schema accepts (a property test holds them to it).
  // Anything they do not accept goes through zod, which either accepts it or words the error as before.
  let data = useFastPath ? fastParse(schema as InputSchema, raw as Record<string, unknown>) : null;
  if (data === null) {
    const r = SCHEMAS[schema as InputSchema].safeParse(raw);
    if (!r.success) {
      const issue = r.error.issues[0]!;
      const field = issue.code === 'unrecognized_keys' ? issue.keys.join(',') : issuePath(issue);
      throw new EventLineError(`line ${lineNo}: field "${field}": ${issue.message}`, lineNo, field);
    }
    data = r.data as Parsed[InputSchema];
  }
  const ev = withEnvelope(data);
  if (ev.schema === 'futures.mbp10.v1') {
    const n = ev.bid_px.length;
    for (const f of BOOK_SIBLINGS) {
      if (ev[f].length !== n) throw new EventLineError(`line ${lineNo}: field "${f}": has ${ev[f].length} levels, bid_px has ${n}`, lineNo, f);
    }
  }
  return ev;
}

// ---- Fast path ---------------------------------------------------------------------------------------------------
// Each check is at least as strict as its zod counterpart above (integers must also be safe integers, which zod's
// .int() requires too). On success the raw object (fresh from JSON.parse, so ours to change) gets zod's transforms:
// 64-bit fields → bigint, MBP-10 null prices → NaN.

const SOURCE_SET: ReadonlySet<unknown> = new Set<unknown>(SOURCES);
const DEC_INT64 = /^-?\d{1,19}$/;
const EXP_DATE = /^\d{4}-\d{2}-\d{2}$/;

/** Value kinds of the fast checks (a switch, not closures: this runs for every field of every line). */
const enum K {
  Any,
  Str,
  Str1,
  Finite,
  Int,
  NonNegInt,
  PosInt,
  Source,
  ExpDate,
  Right,
  Aggressor,
  IntArray,
  BookPx,
  BookSz,
  Flags,
  Bool,
}

function isNonNegIntArray(v: unknown[], min: number, max: number): boolean {
  if (v.length < min || v.length > max) return false;
  for (let i = 0; i < v.length; i++) {
    const x = v[i];
    if (typeof x !== 'number' || !Number.isSafeInteger(x) || x < 0) return false;
  }
  return true;
}

function checkValue(kind: K, v: unknown): boolean {
  switch (kind) {
    case K.Any:
      return true;
    case K.Str:
      return typeof v === 'string';
    case K.Str1:
      return typeof v === 'string' && v.length >= 1;
    case K.Finite:
      return typeof v === 'number' && Number.isFinite(v);
    case K.Int:
      return typeof v === 'number' && Number.isSafeInteger(v);
    case K.NonNegInt:
      return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
    case K.PosInt:
      return typeof v === 'number' && Number.isSafeInteger(v) && v > 0;
    case K.Source:
      return SOURCE_SET.has(v);
    case K.ExpDate:
      return typeof v === 'string' && EXP_DATE.test(v);
    case K.Right:
      return v === 'C' || v === 'P';
    case K.Aggressor:
      return v === -1 || v === 0 || v === 1;
    case K.IntArray: {
      if (!Array.isArray(v)) return false;
      for (let i = 0; i < v.length; i++) {
        const x = v[i];
        if (typeof x !== 'number' || !Number.isSafeInteger(x)) return false;
      }
      return true;
    }
    case K.BookPx: {
      if (!Array.isArray(v) || v.length < 1 || v.length > 10) return false;
      for (let i = 0; i < v.length; i++) {
        const x = v[i];
        if (x !== null && (typeof x !== 'number' || !Number.isFinite(x))) return false;
      }
      return true;
    }
    case K.BookSz:
      return Array.isArray(v) && isNonNegIntArray(v, 1, 10);
    case K.Flags:
      return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 && v <= 255;
    case K.Bool:
      return typeof v === 'boolean';
  }
}

/** Field rules: [kind, required, nullable]. */
type Rule = readonly [K, boolean, boolean];
type Rules = Record<string, Rule>;

const ENVELOPE_RULES: Rules = {
  schema: [K.Any, true, false],
  schema_version: [K.PosInt, false, false],
  source: [K.Source, false, false],
  ts_event_ns: [K.Any, true, false], // converted (and checked) by int64Of
  ts_recv_ns: [K.Any, false, false],
  key: [K.Str1, false, false],
  seq: [K.Any, false, true],
  event_id: [K.Str1, false, false],
};
const OPTION_RULES: Rules = {
  underlying: [K.Str1, true, false],
  option_symbol: [K.Str1, true, false],
  exp_date: [K.ExpDate, true, false],
  strike: [K.Finite, true, false],
  right: [K.Right, true, false],
};

const FAST_RULES_BY_SCHEMA: Record<InputSchema, Rules> = {
  'stocks.trades.v1': { ...ENVELOPE_RULES, symbol: [K.Str1, true, false], price: [K.Finite, true, false], size: [K.NonNegInt, true, false], exchange: [K.Int, false, true], conditions: [K.IntArray, false, false] },
  'stocks.quotes.v1': {
    ...ENVELOPE_RULES,
    symbol: [K.Str1, true, false],
    bid_px: [K.Finite, true, false],
    ask_px: [K.Finite, true, false],
    bid_sz: [K.NonNegInt, true, false],
    ask_sz: [K.NonNegInt, true, false],
    bid_exch: [K.Int, false, true],
    ask_exch: [K.Int, false, true],
  },
  'options.trades.v1': {
    ...ENVELOPE_RULES,
    ...OPTION_RULES,
    price: [K.Finite, true, false],
    size: [K.NonNegInt, true, false],
    opt_bid: [K.Finite, false, true],
    opt_ask: [K.Finite, false, true],
    aggressor: [K.Aggressor, true, false],
  },
  'options.greeks_snapshots.v1': {
    ...ENVELOPE_RULES,
    ...OPTION_RULES,
    delta: [K.Finite, true, false],
    gamma: [K.Finite, true, false],
    theta: [K.Finite, true, false],
    vega: [K.Finite, true, false],
    implied_volatility: [K.Finite, false, true],
    open_interest: [K.NonNegInt, false, true],
    last_quote_ts_ns: [K.Any, false, true],
    last_trade_ts_ns: [K.Any, false, true],
    snapshot_id: [K.Str1, true, false],
  },
  'futures.trades.v1': { ...ENVELOPE_RULES, symbol: [K.Str1, true, false], price: [K.Finite, true, false], size: [K.NonNegInt, true, false], aggressor: [K.Aggressor, true, false], venue: [K.Str, false, true] },
  'futures.mbp10.v1': {
    ...ENVELOPE_RULES,
    symbol: [K.Str1, true, false],
    bid_px: [K.BookPx, true, false],
    bid_sz: [K.BookSz, true, false],
    ask_px: [K.BookPx, true, false],
    ask_sz: [K.BookSz, true, false],
    bid_ct: [K.BookSz, false, false],
    ask_ct: [K.BookSz, false, false],
    flags: [K.Flags, true, false],
    is_snapshot: [K.Bool, false, false],
  },
  'heartbeat.v1': { ...ENVELOPE_RULES, key: [K.Str1, true, false] },
};
const FAST_RULES = Object.fromEntries(Object.entries(FAST_RULES_BY_SCHEMA).map(([k, r]) => [k, new Map(Object.entries(r))])) as Record<InputSchema, Map<string, Rule>>;
const FAST_REQUIRED = Object.fromEntries(
  Object.entries(FAST_RULES_BY_SCHEMA).map(([k, r]) => [k, Object.keys(r).filter((f) => r[f]![1])]),
) as Record<InputSchema, string[]>;
// The last decimal string converted and its value: lines in a row share timestamps (a snapshot's contracts, a
// trade and its quote), and comparing two short strings costs far less than BigInt parsing one (bigints are
// immutable, so handing out the same one is safe).
let lastDec: string | null = null;
let lastDecValue = 0n;

/** int64 → bigint, or undefined when the value is not one the zod int64 accepts as-is. */
function int64Of(v: unknown): bigint | undefined {
  if (typeof v === 'string') {
    if (v === lastDec) return lastDecValue;
    if (!DEC_INT64.test(v)) return undefined;
    lastDecValue = BigInt(v);
    lastDec = v;
    return lastDecValue;
  }
  if (typeof v === 'number' && Number.isSafeInteger(v)) return BigInt(v);
  return undefined;
}

/** MBP-10 prices in place (the array is fresh from JSON.parse): null, an absent level, reads as NaN. */
function nullPxToNaN(px: (number | null)[]): number[] {
  for (let i = 0; i < px.length; i++) if (px[i] === null) px[i] = Number.NaN;
  return px as number[];
}

const FAST_CONV: bigint[] = [];
const INT64_FIELDS = ['ts_event_ns', 'ts_recv_ns', 'seq', 'last_quote_ts_ns', 'last_trade_ts_ns'] as const;

/** The zod schema's output for `raw`, or null when the fast checks cannot vouch for it (zod then decides). */
function fastParse(schema: InputSchema, raw: Record<string, unknown>): Parsed[InputSchema] | null {
  const rules = FAST_RULES[schema];
  for (const k in raw) {
    if (!Object.prototype.hasOwnProperty.call(raw, k)) continue;
    const rule = rules.get(k);
    if (rule === undefined) return null;
    const v = raw[k];
    // JSON has no undefined: a present key is a value; null only where the schema says nullable.
    if (v === null ? !rule[2] : !checkValue(rule[0], v)) return null;
  }
  const req = FAST_REQUIRED[schema];
  for (let i = 0; i < req.length; i++) if (!Object.prototype.hasOwnProperty.call(raw, req[i]!)) return null;
  if (raw.schema !== schema) return null;
  // Convert only once every check passed: zod must see the untouched object if the fast path gives up.
  const conv = FAST_CONV;
  conv.length = 0;
  for (let i = 0; i < INT64_FIELDS.length; i++) {
    const f = INT64_FIELDS[i]!;
    if (!Object.prototype.hasOwnProperty.call(raw, f)) continue;
    const v = raw[f];
    if (v === null) continue; // nullable ones only (checked above)
    const b = int64Of(v);
    if (b === undefined) return null;
    conv.push(b);
  }
  for (let i = 0, j = 0; i < INT64_FIELDS.length; i++) {
    const f = INT64_FIELDS[i]!;
    if (Object.prototype.hasOwnProperty.call(raw, f) && raw[f] !== null) raw[f] = conv[j++];
  }
  if (schema === 'futures.mbp10.v1') {
    nullPxToNaN(raw.bid_px as (number | null)[]);
    nullPxToNaN(raw.ask_px as (number | null)[]);
  }
  return raw as unknown as Parsed[InputSchema];
}

function withEnvelope(d: Parsed[InputSchema]): InputEvent {
  const source: Source = d.source ?? 'replay';
  // Envelope fields are written out in every case (object spreads cost several times more on this hot path).
  const schema_version = d.schema_version ?? 1;
  const ts_event_ns = d.ts_event_ns;
  const ts_recv_ns = d.ts_recv_ns ?? d.ts_event_ns;
  const seq = d.seq ?? null;
  switch (d.schema) {
    case 'stocks.trades.v1':
      return {
        schema: d.schema,
        schema_version,
        source,
        ts_event_ns,
        ts_recv_ns,
        seq,
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
        schema_version,
        source,
        ts_event_ns,
        ts_recv_ns,
        seq,
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
        schema_version,
        source,
        ts_event_ns,
        ts_recv_ns,
        seq,
        key: d.key ?? d.underlying,
        event_id: d.event_id ?? makeEventId({ source, ts_event_ns: d.ts_event_ns, symbol: d.option_symbol, price: d.price, size: d.size, seq: d.seq ?? null }),
        underlying: d.underlying,
        option_symbol: d.option_symbol,
        exp_date: d.exp_date,
        strike: d.strike,
        right: d.right,
        price: d.price,
        size: d.size,
        opt_bid: d.opt_bid ?? null,
        opt_ask: d.opt_ask ?? null,
        aggressor: d.aggressor,
      };
    case 'options.greeks_snapshots.v1':
      return {
        schema: d.schema,
        schema_version,
        source,
        ts_event_ns,
        ts_recv_ns,
        seq,
        key: d.key ?? d.underlying,
        event_id: d.event_id ?? makeEventId({ source, ts_event_ns: d.ts_event_ns, symbol: d.option_symbol, exchange: d.snapshot_id, seq: d.seq ?? null }),
        underlying: d.underlying,
        option_symbol: d.option_symbol,
        exp_date: d.exp_date,
        strike: d.strike,
        right: d.right,
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
        schema_version,
        source,
        ts_event_ns,
        ts_recv_ns,
        seq,
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
        schema_version,
        source,
        ts_event_ns,
        ts_recv_ns,
        seq,
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
        schema_version,
        source,
        ts_event_ns,
        ts_recv_ns,
        seq,
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
