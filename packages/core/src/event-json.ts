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

// ---- Byte path ---------------------------------------------------------------------------------------------------
// `run` reads JSONL as bytes: JSON.parse of each line (after decoding it to a string) was the largest part of `run`
// outside the engine. This decoder reads the JSON subset event lines use straight from the bytes — one flat object of
// the schemas' known keys, values that are ASCII strings without escapes, numbers, true/false/null, arrays of numbers
// and nulls — into one slot per key, builds the schema's object from them (the values JSON.parse would give), and
// hands it to the same checks as the string path. Anything else (an unknown or repeated key, an escape, a non-ASCII byte, a nested object, bad JSON, a
// line the fast checks do not vouch for) returns null, and the caller parses the decoded line with parseEventLine,
// so acceptance and every error message stay those of the string path (event-json.test.ts compares them).
// Numbers: digits to a mantissa m and a decimal exponent e; with m ≤ 2^53 and |e| ≤ 22 both m and 10^|e| are exact
// doubles, so one multiplication or division rounds correctly (Clinger's fast path), which is what JSON.parse
// returns; any other number is converted by Number() of its text, which is JSON.parse's own conversion.

// Every key of the format, once (the order of the `v[i]` slots below; checked against the schemas at load).
const KEY_LIST: readonly string[] = ['schema', 'schema_version', 'source', 'ts_event_ns', 'ts_recv_ns', 'key', 'seq', 'event_id', 'symbol', 'price', 'size', 'exchange', 'conditions', 'bid_px', 'ask_px', 'bid_sz', 'ask_sz', 'bid_exch', 'ask_exch', 'underlying', 'option_symbol', 'exp_date', 'strike', 'right', 'opt_bid', 'opt_ask', 'aggressor', 'delta', 'gamma', 'theta', 'vega', 'implied_volatility', 'open_interest', 'last_quote_ts_ns', 'last_trade_ts_ns', 'snapshot_id', 'venue', 'bid_ct', 'ask_ct', 'flags', 'is_snapshot'];
/** Each schema's keys in order (schema first): what a line writes and the canonical reader expects. */
const SCHEMA_KEYS = Object.fromEntries(Object.entries(SCHEMAS).map(([k, sh]) => [k, Object.keys(sh.shape)])) as Record<InputSchema, string[]>;
if (KEY_LIST.join() !== [...new Set(Object.values(SCHEMA_KEYS).flat())].join()) throw new Error('event-json: KEY_LIST is not the schemas keys in order');
/** A string of one-byte characters (JSON keys, fixed text) as its bytes; the line codecs compare and copy these. */
export function latin1Bytes(s: string): Uint8Array {
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}

const KEY_BYTES: readonly Uint8Array[] = KEY_LIST.map(latin1Bytes);
const hashStep = (h: number, c: number): number => Math.imul(h ^ c, 16777619);
const keyHash = (bytes: ArrayLike<number>, from: number, to: number): number => {
  let h = 2166136261 | 0;
  for (let i = from; i < to; i++) h = hashStep(h, bytes[i]!);
  return h;
};
/** FNV-1a of a key's bytes → its index in KEY_LIST (verified byte for byte on lookup: a hash match is not proof). */
const KEY_BY_HASH = new Map<number, number>(KEY_BYTES.map((b, i) => [keyHash(b, 0, b.length), i]));
/** Which keys the current line has shown (a repeated key leaves JSON.parse's last-wins rule to the string path). */
const keySeen = new Uint32Array(KEY_LIST.length);
let keyEpoch = 0;
/** Per key, the last string value decoded and its bytes: symbols, keys, sources and dates repeat line after line. */
const lastStr: (string | null)[] = KEY_LIST.map(() => null);
const lastStrBytes: Uint8Array[] = KEY_LIST.map(() => new Uint8Array(64));
const lastStrLen = new Int32Array(KEY_LIST.length);
/** 1 for the keys whose string values repeat from line to line (ids and timestamps do not: no point comparing). */
const REPEATS = Uint8Array.from(KEY_LIST, (k) => (['schema', 'source', 'key', 'symbol', 'underlying', 'exp_date', 'right', 'venue', 'snapshot_id', 'option_symbol'].includes(k) ? 1 : 0));

// Literals, not 10 ** i: each is the exact double (powers of ten up to 10^22 are representable).
const POW10 = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22];

interface Latin1Source extends Uint8Array {
  latin1Slice?: (start: number, end: number) => string;
}

/** ASCII bytes → string (Node Buffers natively; other arrays code by code). */
function ascii(b: Latin1Source, from: number, to: number): string {
  if (b.latin1Slice !== undefined) return b.latin1Slice(from, to);
  let s = '';
  for (let i = from; i < to; i++) s += String.fromCharCode(b[i]!);
  return s;
}

/** Keys in the line (decodeFlat's count) and their values by key index (undefined: absent). */
let flatKeys = 0;
const V: unknown[] = KEY_LIST.map(() => undefined);

/**
 * The slots as the object the fast checks read: one object literal per schema, so their property reads see one
 * shape per schema (keys of another schema are counted in flatKeys but left out, so the key count check fails).
 */
function flatObject(v: unknown[]): Record<string, unknown> | null {
  switch (v[0]) {
    case 'stocks.trades.v1':
      return { schema: v[0], schema_version: v[1], source: v[2], ts_event_ns: v[3], ts_recv_ns: v[4], key: v[5], seq: v[6], event_id: v[7], symbol: v[8], price: v[9], size: v[10], exchange: v[11], conditions: v[12] };
    case 'stocks.quotes.v1':
      return { schema: v[0], schema_version: v[1], source: v[2], ts_event_ns: v[3], ts_recv_ns: v[4], key: v[5], seq: v[6], event_id: v[7], symbol: v[8], bid_px: v[13], ask_px: v[14], bid_sz: v[15], ask_sz: v[16], bid_exch: v[17], ask_exch: v[18] };
    case 'options.trades.v1':
      return { schema: v[0], schema_version: v[1], source: v[2], ts_event_ns: v[3], ts_recv_ns: v[4], key: v[5], seq: v[6], event_id: v[7], underlying: v[19], option_symbol: v[20], exp_date: v[21], strike: v[22], right: v[23], price: v[9], size: v[10], opt_bid: v[24], opt_ask: v[25], aggressor: v[26] };
    case 'options.greeks_snapshots.v1':
      return { schema: v[0], schema_version: v[1], source: v[2], ts_event_ns: v[3], ts_recv_ns: v[4], key: v[5], seq: v[6], event_id: v[7], underlying: v[19], option_symbol: v[20], exp_date: v[21], strike: v[22], right: v[23], delta: v[27], gamma: v[28], theta: v[29], vega: v[30], implied_volatility: v[31], open_interest: v[32], last_quote_ts_ns: v[33], last_trade_ts_ns: v[34], snapshot_id: v[35] };
    case 'futures.trades.v1':
      return { schema: v[0], schema_version: v[1], source: v[2], ts_event_ns: v[3], ts_recv_ns: v[4], key: v[5], seq: v[6], event_id: v[7], symbol: v[8], price: v[9], size: v[10], aggressor: v[26], venue: v[36] };
    case 'futures.mbp10.v1':
      return { schema: v[0], schema_version: v[1], source: v[2], ts_event_ns: v[3], ts_recv_ns: v[4], key: v[5], seq: v[6], event_id: v[7], symbol: v[8], bid_px: v[13], bid_sz: v[15], ask_px: v[14], ask_sz: v[16], bid_ct: v[37], ask_ct: v[38], flags: v[39], is_snapshot: v[40] };
    case 'heartbeat.v1':
      return { schema: v[0], schema_version: v[1], source: v[2], ts_event_ns: v[3], ts_recv_ns: v[4], key: v[5], seq: v[6], event_id: v[7] };
    default:
      return null;
  }
}

/** Where the last readNum ended, or -1 when the bytes there are not a JSON number (its grammar, strictly). */
let numEnd = 0;

/** The JSON number at b[p..e) (strict grammar); sets numEnd. */
function readNum(b: Latin1Source, p: number, e: number): number {
  const start = p;
  let neg = false;
  if (b[p] === 45) {
    neg = true;
    p++;
  }
  let m = 0;
  let big = false;
  let exp10 = 0;
  let c = p < e ? b[p]! : -1;
  if (c === 48) {
    c = ++p < e ? b[p]! : -1;
    if (c >= 48 && c <= 57) return (numEnd = -1); // a leading zero
  } else if (c >= 49 && c <= 57) {
    do {
      if (m < 900719925474099) m = m * 10 + (c - 48);
      else big = true;
      c = ++p < e ? b[p]! : -1;
    } while (c >= 48 && c <= 57);
  } else return (numEnd = -1);
  if (c === 46) {
    c = ++p < e ? b[p]! : -1;
    if (!(c >= 48 && c <= 57)) return (numEnd = -1);
    do {
      if (m < 900719925474099) {
        m = m * 10 + (c - 48);
        exp10--;
      } else big = true;
      c = ++p < e ? b[p]! : -1;
    } while (c >= 48 && c <= 57);
  }
  if (c === 101 || c === 69) {
    c = ++p < e ? b[p]! : -1;
    let eneg = false;
    if (c === 43 || c === 45) {
      eneg = c === 45;
      c = ++p < e ? b[p]! : -1;
    }
    if (!(c >= 48 && c <= 57)) return (numEnd = -1);
    let x = 0;
    do {
      if (x < 100_000) x = x * 10 + (c - 48);
      c = ++p < e ? b[p]! : -1;
    } while (c >= 48 && c <= 57);
    exp10 += eneg ? -x : x;
  }
  numEnd = p;
  if (big || exp10 > 22 || exp10 < -22) return Number(ascii(b, start, p));
  const v = exp10 < 0 ? m / POW10[-exp10]! : exp10 > 0 ? m * POW10[exp10]! : m;
  return neg ? -v : v;
}

const isWs = (c: number): boolean => c === 32 || c === 9 || c === 13 || c === 10;

/** The array of numbers and nulls at b[p..e) (p just past "["), or null; sets numEnd past "]". */
function readArr(b: Latin1Source, p: number, e: number): (number | null)[] | null {
  const out: (number | null)[] = [];
  while (p < e && isWs(b[p]!)) p++;
  if (p < e && b[p] === 93) {
    numEnd = p + 1;
    return out;
  }
  for (;;) {
    while (p < e && isWs(b[p]!)) p++;
    if (p >= e) return null;
    if (b[p] === 110) {
      if (!(p + 4 <= e && b[p + 1] === 117 && b[p + 2] === 108 && b[p + 3] === 108)) return null;
      out.push(null);
      p += 4;
    } else {
      const v = readNum(b, p, e);
      if (numEnd < 0) return null;
      out.push(v);
      p = numEnd;
    }
    while (p < e && isWs(b[p]!)) p++;
    if (p >= e) return null;
    const d = b[p++]!;
    if (d === 93) {
      numEnd = p;
      return out;
    }
    if (d !== 44) return null;
  }
}

/** Per schema (index in SCHEMA_LIST; the last slot before the schema is known), the key after each key last time. */
const SCHEMA_LIST = Object.keys(SCHEMAS) as InputSchema[];
const NK = KEY_LIST.length + 1;
const nextKey = new Int32Array((SCHEMA_LIST.length + 1) * NK).fill(-1);

/** The line b[p..e) as its schema's object (values as JSON.parse gives them), or null when it is not in the decoder's subset. */
function decodeFlat(b: Latin1Source, p: number, e: number): Record<string, unknown> | null {
  while (p < e && isWs(b[p]!)) p++;
  if (p >= e || b[p] !== 123) return null;
  p++;
  if (++keyEpoch === 0xffffffff) {
    keySeen.fill(0);
    keyEpoch = 1;
  }
  const v = V;
  for (let i = 0; i < v.length; i++) v[i] = undefined;
  let keys = 0;
  let prev = KEY_LIST.length;
  let row = SCHEMA_LIST.length * NK;
  while (p < e && isWs(b[p]!)) p++;
  if (p < e && b[p] === 125) p++;
  else {
    for (;;) {
      while (p < e && isWs(b[p]!)) p++;
      if (p >= e || b[p] !== 34) return null;
      const from = ++p;
      // The key: the one that followed the previous key last time, checked byte for byte; else hashed and looked up.
      let k = nextKey[row + prev]!;
      let hit = false;
      if (k >= 0) {
        const kb = KEY_BYTES[k]!;
        const n = kb.length;
        if (p + n < e && b[p + n] === 34) {
          let i = 0;
          while (i < n && kb[i] === b[p + i]) i++;
          if (i === n) {
            hit = true;
            p += n + 1;
          }
        }
      }
      if (!hit) {
        let h = 2166136261 | 0;
        while (p < e) {
          const c = b[p]!;
          if (c === 34) break;
          if (c === 92 || c < 32 || c >= 128) return null;
          h = hashStep(h, c);
          p++;
        }
        if (p >= e) return null;
        const to = p++;
        const found = KEY_BY_HASH.get(h);
        if (found === undefined) return null;
        const kb = KEY_BYTES[found]!;
        if (kb.length !== to - from) return null;
        for (let i = 0; i < kb.length; i++) if (kb[i] !== b[from + i]) return null;
        k = found;
        nextKey[row + prev] = k;
      }
      prev = k;
      if (keySeen[k] === keyEpoch) return null; // a repeated key: JSON.parse's last-wins is the string path's
      keySeen[k] = keyEpoch;
      keys++;
      while (p < e && isWs(b[p]!)) p++;
      if (p >= e || b[p] !== 58) return null;
      p++;
      while (p < e && isWs(b[p]!)) p++;
      if (p >= e) return null;
      const c = b[p]!;
      if (c === 34) {
        // A string: ASCII without escapes, else the string path.
        const sFrom = ++p;
        while (p < e) {
          const d = b[p]!;
          if (d === 34) break;
          if (d === 92 || d < 32 || d >= 128) return null;
          p++;
        }
        if (p >= e) return null;
        const n = p - sFrom;
        p++;
        let str: string | null = null;
        if (REPEATS[k] === 1) {
          const last = lastStr[k];
          if (last !== null && lastStrLen[k] === n) {
            const lb = lastStrBytes[k]!;
            let i = 0;
            while (i < n && lb[i] === b[sFrom + i]) i++;
            if (i === n) str = last;
          }
          if (str === null) {
            str = ascii(b, sFrom, sFrom + n);
            if (n <= 64) {
              lastStr[k] = str;
              lastStrLen[k] = n;
              const lb = lastStrBytes[k]!;
              for (let i = 0; i < n; i++) lb[i] = b[sFrom + i]!;
            }
          }
        } else str = ascii(b, sFrom, sFrom + n);
        v[k] = str;
        if (k === 0) {
          const si = SCHEMA_LIST.indexOf(str as InputSchema);
          row = (si < 0 ? SCHEMA_LIST.length : si) * NK;
        }
      } else if (c === 45 || (c >= 48 && c <= 57)) {
        const x = readNum(b, p, e);
        if (numEnd < 0) return null;
        v[k] = x;
        p = numEnd;
      } else if (c === 91) {
        const arr = readArr(b, p + 1, e);
        if (arr === null) return null;
        v[k] = arr;
        p = numEnd;
      } else if (c === 110 && p + 4 <= e && b[p + 1] === 117 && b[p + 2] === 108 && b[p + 3] === 108) {
        v[k] = null;
        p += 4;
      } else if (c === 116 && p + 4 <= e && b[p + 1] === 114 && b[p + 2] === 117 && b[p + 3] === 101) {
        v[k] = true;
        p += 4;
      } else if (c === 102 && p + 5 <= e && b[p + 1] === 97 && b[p + 2] === 108 && b[p + 3] === 115 && b[p + 4] === 101) {
        v[k] = false;
        p += 5;
      } else return null;
      while (p < e && isWs(b[p]!)) p++;
      if (p >= e) return null;
      const d = b[p++]!;
      if (d === 125) break;
      if (d !== 44) return null;
    }
  }
  while (p < e && isWs(b[p]!)) p++;
  if (p !== e) return null;
  flatKeys = keys;
  return flatObject(v);
}

// ---- Canonical lines ---------------------------------------------------------------------------------------------
// Every writer of the format (formatEventLine: `feed sim|dbn --out`, `convert`, the simulator) writes a line as
// `{"schema":"<name>"` then every key of its schema in the schema's order, no whitespace, 64-bit values as decimal
// strings. Such a line is read here in one pass over its bytes: each key is checked where the layout puts it (one
// byte compare, no hashing, no slot lookup), each value is read straight into what the event holds (numbers into
// numbers, decimal strings into bigints without an intermediate string, repeated strings reused), and the event is
// built once. Each value is checked as strictly as its zod type; anything else — another key order, an absent
// optional key, whitespace, an escape, a value the checks do not vouch for — returns null and the line is read by
// decodeFlat, then the string path, exactly as before (event-json.test.ts compares all three with the reference).

/** What a key's value must be (its zod type) and what it is read into. */
const enum Kind {
  PosInt, // schema_version: a positive safe integer
  Source, // one of SOURCES
  Int64, // a decimal integer string → bigint
  Int64OrNull,
  Str1, // a non-empty string
  Str1Repeating, // a non-empty string that repeats from line to line (symbols, keys, ids of a snapshot)
  StrOrNull, // venue: any string, or null
  Finite,
  FiniteOrNull,
  NonNegInt,
  NonNegIntOrNull,
  IntOrNull,
  IntArray, // conditions
  Aggressor,
  ExpDate,
  Right,
  BookPx, // 1–10 finite numbers or null (→ NaN)
  BookSz, // 1–10 non-negative integers
  Flags, // an integer 0–255
  Bool,
}

const KIND_OF_KEY: Record<string, Kind> = {
  schema_version: Kind.PosInt,
  source: Kind.Source,
  ts_event_ns: Kind.Int64,
  ts_recv_ns: Kind.Int64,
  key: Kind.Str1Repeating,
  seq: Kind.Int64OrNull,
  event_id: Kind.Str1,
  symbol: Kind.Str1Repeating,
  price: Kind.Finite,
  size: Kind.NonNegInt,
  exchange: Kind.IntOrNull,
  conditions: Kind.IntArray,
  bid_px: Kind.Finite,
  ask_px: Kind.Finite,
  bid_sz: Kind.NonNegInt,
  ask_sz: Kind.NonNegInt,
  bid_exch: Kind.IntOrNull,
  ask_exch: Kind.IntOrNull,
  underlying: Kind.Str1Repeating,
  option_symbol: Kind.Str1Repeating,
  exp_date: Kind.ExpDate,
  strike: Kind.Finite,
  right: Kind.Right,
  opt_bid: Kind.FiniteOrNull,
  opt_ask: Kind.FiniteOrNull,
  aggressor: Kind.Aggressor,
  delta: Kind.Finite,
  gamma: Kind.Finite,
  theta: Kind.Finite,
  vega: Kind.Finite,
  implied_volatility: Kind.FiniteOrNull,
  open_interest: Kind.NonNegIntOrNull,
  last_quote_ts_ns: Kind.Int64OrNull,
  last_trade_ts_ns: Kind.Int64OrNull,
  snapshot_id: Kind.Str1Repeating,
  venue: Kind.StrOrNull,
  bid_ct: Kind.BookSz,
  ask_ct: Kind.BookSz,
  flags: Kind.Flags,
  is_snapshot: Kind.Bool,
};
/** The MBP-10 book: the same key names as a quote's, arrays of levels. */
const MBP10_KINDS: Record<string, Kind> = { bid_px: Kind.BookPx, ask_px: Kind.BookPx, bid_sz: Kind.BookSz, ask_sz: Kind.BookSz };

/** Bytes the layout puts at a place, with their little-endian 32-bit words (compared 4 bytes at a time). */
interface Fixed {
  bytes: Uint8Array;
  words: Int32Array;
}
const fixed = (s: string): Fixed => {
  const bytes = latin1Bytes(s);
  const words = new Int32Array(bytes.length >> 2);
  for (let i = 0; i < words.length; i++) words[i] = bytes[4 * i]! | (bytes[4 * i + 1]! << 8) | (bytes[4 * i + 2]! << 16) | (bytes[4 * i + 3]! << 24);
  return { bytes, words };
};

interface Layout {
  /** `{"schema":"<name>"`. */
  head: Fixed;
  /** Per key after schema: `,"<key>":`. */
  keys: Fixed[];
  kinds: Kind[];
}
const LAYOUTS: Layout[] = SCHEMA_LIST.map((schema) => {
  const names = SCHEMA_KEYS[schema].slice(1); // schema comes first in every shape
  return {
    head: fixed(`{"schema":"${schema}"`),
    keys: names.map((k) => fixed(`,"${k}":`)),
    kinds: names.map((k) => {
      const kind = (schema === 'futures.mbp10.v1' ? MBP10_KINDS[k] : undefined) ?? KIND_OF_KEY[k];
      if (kind === undefined) throw new Error(`event-json: no canonical kind for ${schema}.${k}`);
      return kind;
    }),
  };
});
/** Keys of the widest layout: a layout's key i is slot layout * SLOT_COUNT + i of the readers that remember values. */
const SLOT_COUNT = Math.max(...LAYOUTS.map((l) => l.keys.length));
/** The envelope's keys lead every layout (schema_version … event_id); the schema's own keys follow. */
const ENVELOPE_KEYS = 7;
/** The longest value text a slot remembers (an MBP-10 array of 10 levels of 20-character prices fits). */
const SLOT_TEXT_MAX = 256;
/**
 * Per (layout, position): the last value read there and its text in the line, quotes or brackets included. A slot
 * holds one kind of value: a string that repeats from line to line (symbols, keys, sources, dates) or an MBP-10 array
 * (a book changes a level or two per record, so most of a line's six arrays are the previous line's text again: bench
 * run-jsonl). The same bytes, compared four at a time, are the same value.
 */
const slotLast: (string | number[] | null)[] = new Array(SCHEMA_LIST.length * SLOT_COUNT).fill(null);
const slotText: Uint8Array[] = slotLast.map(() => new Uint8Array(SLOT_TEXT_MAX));
const slotWords: Int32Array[] = slotText.map((t) => new Int32Array(t.buffer));
const slotTextLen = new Int32Array(slotLast.length);

/** The slot's last value when its text is at `at` (then `at` moves past it); null otherwise. */
function slotHit(b: Uint8Array, e: number, slot: number): string | number[] | null {
  const last = slotLast[slot]!;
  if (last === null) return null;
  const p = at;
  const n = slotTextLen[slot]!;
  if (p + n > e) return null;
  const w = slotWords[slot]!;
  const dv = view;
  const words = n >> 2;
  for (let i = 0; i < words; i++) if (dv.getInt32(p + 4 * i, true) !== w[i]) return null;
  const text = slotText[slot]!;
  for (let j = words << 2; j < n; j++) if (b[p + j] !== text[j]) return null;
  at = p + n;
  return last;
}

/** Keeps `value` as the slot's last, read from the text b[from, to) (a longer text is not kept). */
function keepSlot(b: Uint8Array, from: number, to: number, slot: number, value: string | number[]): void {
  const n = to - from;
  if (n > SLOT_TEXT_MAX) return;
  slotLast[slot] = value;
  slotTextLen[slot] = n;
  const text = slotText[slot]!;
  for (let j = 0; j < n; j++) text[j] = b[from + j]!;
}

/** Where the reader stands in the line (set by each value reader past its value; -1: not a canonical value). */
let at = 0;

/** The layout index of the line at b[p..e), from the bytes of the schema name's distinguishing characters; -1 if none. */
function layoutOf(b: Uint8Array, p: number, e: number): number {
  if (e - p < 32) return -1;
  // {"schema":"stocks.trades.v1" / stocks.quotes / options.trades / options.greeks_… / futures.trades / futures.mbp10 / heartbeat
  switch (b[p + 11]) {
    case 115: // s
      return b[p + 18] === 116 ? 0 : 1;
    case 111: // o
      return b[p + 19] === 116 ? 2 : 3;
    case 102: // f
      return b[p + 19] === 116 ? 4 : 5;
    case 104: // h
      return 6;
    default:
      return -1;
  }
}
if (SCHEMA_LIST.join() !== 'stocks.trades.v1,stocks.quotes.v1,options.trades.v1,options.greeks_snapshots.v1,futures.trades.v1,futures.mbp10.v1,heartbeat.v1') throw new Error('event-json: layoutOf assumes the schema order');

/** A DataView of the bytes being read (one per buffer: the reader reads a file through one buffer). */
let view: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0));
let viewOf: Uint8Array | null = null;

/** `null` at `at`: moves past it. */
function nullAt(b: Uint8Array, e: number): boolean {
  const p = at;
  if (p + 4 <= e && b[p] === 110 && b[p + 1] === 117 && b[p + 2] === 108 && b[p + 3] === 108) {
    at = p + 4;
    return true;
  }
  return false;
}

/** The JSON number at `at` (readNum: JSON.parse's value), or NaN with at = -1. */
function numAt(b: Uint8Array, e: number): number {
  const v = readNum(b, at, e);
  at = numEnd;
  return v;
}

// The 64-bit decimal strings are timestamps of one session: their leading digits (all but the last 9: the second)
// change once a second, so the bigint of the leading part is kept and only the last 9 digits are converted per value.
let int64HiDigits = -1;
let int64Hi = 0n;
let int64LastLo = -1;
let int64LastHiDigits = -1;
let int64Last = 0n;

/**
 * The first 10 digits of the last 19-digit value whose leading part was converted (int64HiDigits), as little-endian
 * words of 4, 4 and 2 bytes; int64HiTail -1: none. A timestamp within the same second as that one has the same 10
 * bytes there, so only its last 9 digits are read (3 compares instead of 29 digit steps).
 */
let int64HiWord0 = 0;
let int64HiWord1 = 0;
let int64HiTail = -1;

/** The decimal string at `at` (1–19 digits, as the zod int64's /^-?\d{1,19}$/ without the sign) → bigint. */
function int64At(b: Uint8Array, e: number): bigint {
  let p = at;
  if (b[p] !== 34) return fail64();
  const from = ++p;
  let hi = -1;
  let lo = 0;
  let n = 19;
  if (int64HiTail >= 0 && from + 20 <= e && b[from + 19] === 34) {
    const dv = view;
    if (dv.getInt32(from, true) === int64HiWord0 && dv.getInt32(from + 4, true) === int64HiWord1 && dv.getUint16(from + 8, true) === int64HiTail) {
      let i = from + 10;
      for (let c = 0; i < from + 19 && (c = b[i]! - 48) >= 0 && c <= 9; i++) lo = lo * 10 + c;
      if (i === from + 19) {
        hi = int64HiDigits;
        p = i;
      }
    }
  }
  if (hi < 0) {
    hi = 0;
    lo = 0;
    let c = 0;
    while (p < e && (c = b[p]!) >= 48 && c <= 57) p++;
    n = p - from;
    if (c !== 34 || n < 1 || n > 19 || p >= e) return fail64();
    const mid = n > 9 ? p - 9 : from;
    for (let i = from; i < mid; i++) hi = hi * 10 + (b[i]! - 48);
    for (let i = mid; i < p; i++) lo = lo * 10 + (b[i]! - 48);
  }
  at = p + 1;
  if (n <= 9) return BigInt(lo);
  if (hi === int64LastHiDigits && lo === int64LastLo) return int64Last;
  if (hi !== int64HiDigits) {
    int64Hi = BigInt(hi) * 1_000_000_000n;
    int64HiDigits = hi;
    int64HiTail = -1;
  }
  if (n === 19 && int64HiTail < 0) {
    const dv = view;
    int64HiWord0 = dv.getInt32(from, true);
    int64HiWord1 = dv.getInt32(from + 4, true);
    int64HiTail = dv.getUint16(from + 8, true);
  }
  int64LastHiDigits = hi;
  int64LastLo = lo;
  return (int64Last = int64Hi + BigInt(lo));
}
function fail64(): bigint {
  at = -1;
  return 0n;
}

/**
 * The string at `at`: ASCII without escapes or control characters (else at = -1); the string read last time at this
 * slot when the text is the same (not for event ids, Str1: they never repeat). A new value is vetted by its kind (a
 * hit was vetted when it was new).
 */
function strAt(b: Latin1Source, e: number, slot: number, kind: Kind): string {
  if (kind !== Kind.Str1) {
    const hit = slotHit(b, e, slot);
    if (hit !== null) return hit as string;
  }
  const start = at;
  let p = start;
  if (b[p] !== 34) return failStr();
  const from = ++p;
  for (;;) {
    if (p >= e) return failStr();
    const c = b[p]!;
    if (c === 34) break;
    if (c === 92 || c < 32 || c >= 128) return failStr();
    p++;
  }
  const n = p - from;
  at = p + 1;
  if (kind === Kind.Str1) return n >= 1 ? asciiShort(b, from, n) : failStr();
  const s = asciiShort(b, from, n);
  if (kind === Kind.Source ? !SOURCE_SET.has(s) : kind === Kind.ExpDate ? !isExpDate(s) : kind === Kind.StrOrNull ? false : n < 1) return failStr();
  keepSlot(b, start, at, slot, s);
  return s;
}
function failStr(): string {
  at = -1;
  return '';
}

/** ASCII bytes → string: an event id (16 hex digits) by one fromCharCode call, cheaper than a native slice call. */
function asciiShort(b: Latin1Source, from: number, n: number): string {
  if (n === 16) {
    return String.fromCharCode(b[from]!, b[from + 1]!, b[from + 2]!, b[from + 3]!, b[from + 4]!, b[from + 5]!, b[from + 6]!, b[from + 7]!, b[from + 8]!, b[from + 9]!, b[from + 10]!, b[from + 11]!, b[from + 12]!, b[from + 13]!, b[from + 14]!, b[from + 15]!);
  }
  return ascii(b, from, from + n);
}

/**
 * A non-negative integer at `at` (digits only: the common case, read here); any other form of number (a sign, a
 * fraction, an exponent, more than 15 digits) is read by readNum and checked. NaN with at = -1 when it is not one.
 */
function nonNegIntAt(b: Uint8Array, e: number): number {
  let p = at;
  let c = b[p]!;
  if (c >= 49 && c <= 57 && p + 16 < e) {
    let v = c - 48;
    const stop = p + 15;
    while (++p < stop && (c = b[p]!) >= 48 && c <= 57) v = v * 10 + (c - 48);
    // Ended by a byte that cannot continue a number: the digits are all of it.
    if (p < stop && c !== 46 && c !== 101 && c !== 69) {
      at = p;
      return v;
    }
  } else if (c === 48 && p + 1 < e) {
    c = b[p + 1]!;
    if (c === 44 || c === 93 || c === 125) {
      at = p + 1;
      return 0;
    }
  }
  const v = numAt(b, e);
  return Number.isSafeInteger(v) && v >= 0 ? v : ((at = -1), Number.NaN);
}

/**
 * An MBP-10 array at `at` without whitespace: 1–10 prices (finite, or null read as NaN) or sizes (non-negative
 * integers); null with at = -1 otherwise (decodeFlat's readArr reads the other spellings). A copy of the last array
 * read at `slot` when the text is the same: the slot keeps a copy of its own, so a caller may keep or change what it
 * was given.
 */
function bookAt(b: Uint8Array, e: number, prices: boolean, slot: number): number[] | null {
  const hit = slotHit(b, e, slot);
  if (hit !== null) return (hit as number[]).slice();
  const start = at;
  const out = bookRead(b, e, prices);
  if (out !== null) keepSlot(b, start, at, slot, out.slice());
  return out;
}

function bookRead(b: Uint8Array, e: number, prices: boolean): number[] | null {
  if (b[at] !== 91) return failArr();
  at++;
  const out: number[] = [];
  for (;;) {
    if (out.length === 10) return failArr();
    let v: number;
    if (prices) {
      if (nullAt(b, e)) v = Number.NaN;
      else {
        v = numAt(b, e);
        if (!Number.isFinite(v)) return failArr();
      }
    } else {
      v = nonNegIntAt(b, e);
      if (at < 0) return null;
    }
    if (at < 0 || at >= e) return failArr();
    out.push(v);
    const d = b[at++]!;
    if (d === 93) return out;
    if (d !== 44) return failArr();
  }
}

/** The array at `at` (readArr), or null with at = -1. */
function arrAt(b: Uint8Array, e: number): (number | null)[] | null {
  if (b[at] !== 91) return failArr();
  const arr = readArr(b, at + 1, e);
  if (arr === null) return failArr();
  at = numEnd;
  return arr;
}
function failArr(): null {
  at = -1;
  return null;
}

/** The value of one key at `at`, checked as its zod type and converted as zod does; at = -1 when it is not. */
type ValueReader = (b: Latin1Source, e: number, slot: number) => unknown;

/** Per kind, its value reader; slot is the (layout, position) of the key, for the readers that remember values. */
const VALUE_READERS: Record<Kind, ValueReader> = {
  [Kind.PosInt]: (b, e) => {
    const v = numAt(b, e);
    return Number.isSafeInteger(v) && v > 0 ? v : (at = -1);
  },
  [Kind.Int64]: (b, e) => int64At(b, e),
  [Kind.Int64OrNull]: (b, e) => (nullAt(b, e) ? null : int64At(b, e)),
  [Kind.Source]: (b, e, slot) => strAt(b, e, slot, Kind.Source),
  [Kind.Str1]: (b, e, slot) => strAt(b, e, slot, Kind.Str1),
  [Kind.Str1Repeating]: (b, e, slot) => strAt(b, e, slot, Kind.Str1Repeating),
  [Kind.ExpDate]: (b, e, slot) => strAt(b, e, slot, Kind.ExpDate),
  [Kind.StrOrNull]: (b, e, slot) => (nullAt(b, e) ? null : strAt(b, e, slot, Kind.StrOrNull)),
  [Kind.Right]: (b, e) => {
    const p = at;
    if (p + 3 > e || b[p] !== 34 || b[p + 2] !== 34) return (at = -1);
    at = p + 3;
    return b[p + 1] === 67 ? 'C' : b[p + 1] === 80 ? 'P' : (at = -1);
  },
  [Kind.Finite]: (b, e) => {
    const v = numAt(b, e);
    return Number.isFinite(v) ? v : (at = -1);
  },
  [Kind.FiniteOrNull]: (b, e) => {
    if (nullAt(b, e)) return null;
    const v = numAt(b, e);
    return Number.isFinite(v) ? v : (at = -1);
  },
  [Kind.NonNegInt]: (b, e) => nonNegIntAt(b, e),
  [Kind.NonNegIntOrNull]: (b, e) => {
    if (nullAt(b, e)) return null;
    const v = numAt(b, e);
    return Number.isSafeInteger(v) && v >= 0 ? v : (at = -1);
  },
  [Kind.IntOrNull]: (b, e) => {
    if (nullAt(b, e)) return null;
    const v = numAt(b, e);
    return Number.isSafeInteger(v) ? v : (at = -1);
  },
  [Kind.IntArray]: (b, e) => {
    const arr = arrAt(b, e);
    if (arr === null || !isIntArray(arr)) return (at = -1);
    return arr;
  },
  [Kind.Aggressor]: (b, e) => {
    const v = numAt(b, e);
    return v === -1 || v === 0 || v === 1 ? v : (at = -1);
  },
  [Kind.BookPx]: (b, e, slot) => bookAt(b, e, true, slot),
  [Kind.BookSz]: (b, e, slot) => bookAt(b, e, false, slot),
  [Kind.Flags]: (b, e) => {
    const v = numAt(b, e);
    return Number.isSafeInteger(v) && v >= 0 && v <= 255 ? v : (at = -1);
  },
  [Kind.Bool]: (b, e) => {
    const p = at;
    if (p + 4 <= e && b[p] === 116 && b[p + 1] === 114 && b[p + 2] === 117 && b[p + 3] === 101) {
      at = p + 4;
      return true;
    }
    if (p + 5 <= e && b[p] === 102 && b[p + 1] === 97 && b[p + 2] === 108 && b[p + 3] === 115 && b[p + 4] === 101) {
      at = p + 5;
      return false;
    }
    return (at = -1);
  },
};

type CanonicalReader = (b: Latin1Source, p: number, e: number) => InputEvent | null;

/**
 * What a compiled reader calls: `r<kind>` the value reader of a kind, and the module's position and view (its code is
 * compiled outside this module's scope). One object whose properties never change, so V8 inlines the calls; built at
 * once (fromEntries): twenty properties added one by one turn an object into a dictionary, which V8 does not inline
 * through (the readers then cost more than the loop they replace).
 */
const READER_SCOPE: Record<string, unknown> = Object.fromEntries([
  ['setAt', (x: number): void => void (at = x)],
  ['getAt', (): number => at],
  ['dv', (): DataView<ArrayBufferLike> => view],
  ...Object.entries(VALUE_READERS).map(([kind, read]) => [`r${kind}`, read]),
]);

/**
 * The canonical reader of one layout, compiled from its keys and kinds: each key's bytes compared as constants 4 at a
 * time, its kind's value reader called directly, the values kept in locals and the event built as one object literal
 * in withEnvelope's key order. A loop over the layout (a key table, a switch on the kind and a values array) cost
 * 88 ms where this costs 70 for the bench's 30-minute session (bench run-jsonl), as the DBN decoders are compiled per
 * record type (packages/dbn compiled.ts).
 */
function compileCanonicalReader(schema: InputSchema, li: number): CanonicalReader {
  const layout = LAYOUTS[li]!;
  const names = SCHEMA_KEYS[schema].slice(1);
  if (names.slice(0, ENVELOPE_KEYS).join() !== KEY_LIST.slice(1, 1 + ENVELOPE_KEYS).join()) throw new Error(`event-json: ${schema} does not lead with the envelope`);
  const match = (f: Fixed, pos: string): string => {
    const c = [`${pos} + ${f.bytes.length} <= e`];
    f.words.forEach((w, j) => c.push(`dv.getInt32(${pos} + ${4 * j}, true) === ${w}`));
    for (let j = 4 * f.words.length; j < f.bytes.length; j++) c.push(`b[${pos} + ${j}] === ${f.bytes[j]}`);
    return c.join(' && ');
  };
  const L = ['const dv = H.dv();', `if (!(${match(layout.head, 'p')})) return null;`, `let q = p + ${layout.head.bytes.length};`];
  layout.keys.forEach((k, i) => {
    L.push(`if (!(${match(k, 'q')})) return null;`, `H.setAt(q + ${k.bytes.length});`, `const v${i} = H.r${layout.kinds[i]}(b, e, ${li * SLOT_COUNT + i});`, 'q = H.getAt();', 'if (q < 0) return null;');
  });
  L.push('if (q !== e - 1 || b[q] !== 125) return null;');
  const v = (name: string): string => `v${names.indexOf(name)}`;
  // A ragged book: the string path words the error.
  if (schema === 'futures.mbp10.v1') L.push(`const n = ${v('bid_px')}.length;`, `if (${BOOK_SIBLINGS.map((f) => `${v(f)}.length !== n`).join(' || ')}) return null;`);
  const order = ['schema_version', 'source', 'ts_event_ns', 'ts_recv_ns', 'seq', 'key', 'event_id', ...names.slice(ENVELOPE_KEYS)];
  L.push(`return { schema: ${JSON.stringify(schema)}, ${order.map((nm) => `${nm}: ${v(nm)}`).join(', ')} };`);
  return new Function('H', `return function read_${schema.replace(/\W/g, '_')}(b, p, e) {\n${L.join('\n')}\n};`)(READER_SCOPE) as CanonicalReader;
}
const CANONICAL_READERS: readonly CanonicalReader[] = SCHEMA_LIST.map((s, li) => compileCanonicalReader(s, li));

/**
 * The event of a canonical line b[p..e), or null when the line is not one (or not valid): decodeFlat decides then.
 * parseEventBytes calls it first; exported so the tests can hold it alone to the reference.
 */
export function parseCanonicalEventBytes(b: Latin1Source, p: number, e: number): InputEvent | null {
  const li = layoutOf(b, p, e);
  if (li < 0) return null;
  if (b !== viewOf) {
    view = new DataView(b.buffer, b.byteOffset, b.byteLength);
    viewOf = b;
  }
  return CANONICAL_READERS[li]!(b, p, e);
}

const utf8Text = new TextDecoder();
const isBlank = (line: string): boolean => line.length === 0 || (line.charCodeAt(0) <= 32 && line.trim() === '');

/**
 * The event of one JSONL line given as its UTF-8 bytes b[start, end) (no newline), as `run --input` reads a file and
 * `feed … --out` checks what it writes: the byte decoder (parseEventBytes) first, and what it leaves to
 * parseEventLine, which accepts it or names the line and field. null for a blank line. An event line starts with "{";
 * a line starting with whitespace or a non-ASCII byte takes the string path.
 */
export function readEventLine(b: Uint8Array, start: number, end: number, lineNo: number): InputEvent | null {
  if (start === end) return null;
  const c = b[start]!;
  if (c > 32 && c < 128) {
    const ev = parseEventBytes(b, start, end);
    if (ev !== null) return ev;
  }
  const line = utf8Text.decode(b.subarray(start, end));
  return isBlank(line) ? null : parseEventLine(line, lineNo);
}

/**
 * Parses one JSONL line from bytes[start, end) (no newline) like parseEventLine does the decoded line, or returns
 * null when the line is outside the byte decoder's subset or not an event the fast checks accept: the caller then
 * parses the decoded line with parseEventLine, which accepts it or throws the error naming the line and field.
 */
export function parseEventBytes(bytes: Uint8Array, start: number, end: number): InputEvent | null {
  const canonical = parseCanonicalEventBytes(bytes, start, end);
  if (canonical !== null) return canonical;
  const raw = decodeFlat(bytes, start, end);
  if (raw === null) return null;
  const schema = raw.schema;
  if (typeof schema !== 'string' || !Object.prototype.hasOwnProperty.call(SCHEMAS, schema)) return null;
  const data = fastParse(schema as InputSchema, raw, flatKeys);
  if (data === null) return null;
  const ev = withEnvelope(data);
  if (ev.schema === 'futures.mbp10.v1') {
    const n = ev.bid_px.length;
    for (const f of BOOK_SIBLINGS) if (ev[f].length !== n) return null;
  }
  return ev;
}

// ---- Fast path ---------------------------------------------------------------------------------------------------
// One hand-written check per schema, reading each field by name (monomorphic property loads on the objects JSON.parse
// builds, where a loop over the keys with a rule table cost more than the JSON.parse itself). Each check is at least
// as strict as its zod counterpart above (integers must also be safe integers, which zod's .int() requires too); no
// unknown key is possible once the known keys present account for every own key. On success the raw object (fresh
// from JSON.parse, so ours to change) gets zod's transforms: 64-bit fields → bigint, MBP-10 null prices → NaN.

const SOURCE_SET: ReadonlySet<unknown> = new Set<unknown>(SOURCES);

const isStr1 = (v: unknown): boolean => typeof v === 'string' && v.length >= 1;
const isFin = (v: unknown): boolean => typeof v === 'number' && Number.isFinite(v);
const isInt = (v: unknown): boolean => typeof v === 'number' && Number.isSafeInteger(v);
const isNonNegInt = (v: unknown): boolean => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isAggressor = (v: unknown): boolean => v === -1 || v === 0 || v === 1;
const isStr = (v: unknown): boolean => typeof v === 'string';
const isBool = (v: unknown): boolean => typeof v === 'boolean';
const isDigit = (c: number): boolean => c >= 48 && c <= 57;

/** /^\d{4}-\d{2}-\d{2}$/ without the regex machinery. */
function isExpDate(v: unknown): boolean {
  if (typeof v !== 'string' || v.length !== 10) return false;
  for (let i = 0; i < 10; i++) {
    const c = v.charCodeAt(i);
    if (i === 4 || i === 7 ? c !== 45 : !isDigit(c)) return false;
  }
  return true;
}

/** /^-?\d{1,19}$/ (the zod int64's decimal string) without the regex machinery. */
function isDecInt64(v: string): boolean {
  const from = v.charCodeAt(0) === 45 ? 1 : 0;
  const digits = v.length - from;
  if (digits < 1 || digits > 19) return false;
  for (let i = from; i < v.length; i++) if (!isDigit(v.charCodeAt(i))) return false;
  return true;
}

function isIntArray(v: unknown): boolean {
  if (!Array.isArray(v)) return false;
  for (let i = 0; i < v.length; i++) if (!isInt(v[i])) return false;
  return true;
}

/** An MBP-10 price array: 1–10 slots, each a finite number or null. */
function isBookPx(v: unknown): boolean {
  if (!Array.isArray(v) || v.length < 1 || v.length > 10) return false;
  for (let i = 0; i < v.length; i++) {
    const x: unknown = v[i];
    if (x !== null && !isFin(x)) return false;
  }
  return true;
}

/** An MBP-10 size/count array: 1–10 non-negative integers. */
function isBookSz(v: unknown): boolean {
  if (!Array.isArray(v) || v.length < 1 || v.length > 10) return false;
  for (let i = 0; i < v.length; i++) if (!isNonNegInt(v[i])) return false;
  return true;
}

/** A present 64-bit field's value is one int64Of converts (the key may still be nullable: that is checked apart). */
const isInt64 = (v: unknown): boolean => (typeof v === 'string' ? v === lastDec || isDecInt64(v) : isInt(v));

/**
 * The envelope's own keys that are present and valid, counted (schema and ts_event_ns included), or -1 when one is
 * absent where required or not what zod accepts.
 */
function envelopeCount(r: Record<string, unknown>): number {
  if (!isInt64(r.ts_event_ns)) return -1; // undefined included: required
  let n = 2;
  let v = r.schema_version;
  if (v !== undefined) {
    if (!(typeof v === 'number' && Number.isSafeInteger(v) && v > 0)) return -1;
    n++;
  }
  if (r.source !== undefined) {
    if (!SOURCE_SET.has(r.source)) return -1;
    n++;
  }
  v = r.ts_recv_ns;
  if (v !== undefined) {
    if (!isInt64(v)) return -1;
    n++;
  }
  v = r.key;
  if (v !== undefined) {
    if (!isStr1(v)) return -1;
    n++;
  }
  v = r.seq;
  if (v !== undefined) {
    if (v !== null && !isInt64(v)) return -1;
    n++;
  }
  v = r.event_id;
  if (v !== undefined) {
    if (!isStr1(v)) return -1;
    n++;
  }
  return n;
}

/** 1 when an optional field is present and valid, 0 when absent, -1 when invalid (or null where not nullable). */
function optional(v: unknown, nullable: boolean, check: (v: unknown) => boolean): number {
  if (v === undefined) return 0;
  if (v === null) return nullable ? 1 : -1;
  return check(v) ? 1 : -1;
}

/** Keys present beyond the envelope's, or -1 (the option contract: underlying … right). */
function contractCount(r: Record<string, unknown>): number {
  return isStr1(r.underlying) && isStr1(r.option_symbol) && isExpDate(r.exp_date) && isFin(r.strike) && (r.right === 'C' || r.right === 'P') ? 5 : -1;
}

/** a + b + c + d when none is negative, else -1 (an optional field's -1 says it is invalid). */
function sum(a: number, b: number, c = 0, d = 0): number {
  return (a | b | c | d) < 0 ? -1 : a + b + c + d;
}

/** The schema's own (non-envelope) keys present and valid, or -1. */
function schemaCount(schema: InputSchema, r: Record<string, unknown>): number {
  switch (schema) {
    case 'stocks.trades.v1':
      if (!(isStr1(r.symbol) && isFin(r.price) && isNonNegInt(r.size))) return -1;
      return sum(3, optional(r.exchange, true, isInt), optional(r.conditions, false, isIntArray));
    case 'stocks.quotes.v1':
      if (!(isStr1(r.symbol) && isFin(r.bid_px) && isFin(r.ask_px) && isNonNegInt(r.bid_sz) && isNonNegInt(r.ask_sz))) return -1;
      return sum(5, optional(r.bid_exch, true, isInt), optional(r.ask_exch, true, isInt));
    case 'options.trades.v1':
      if (!(isFin(r.price) && isNonNegInt(r.size) && isAggressor(r.aggressor))) return -1;
      return sum(contractCount(r), 3, optional(r.opt_bid, true, isFin), optional(r.opt_ask, true, isFin));
    case 'options.greeks_snapshots.v1':
      if (!(isFin(r.delta) && isFin(r.gamma) && isFin(r.theta) && isFin(r.vega) && isStr1(r.snapshot_id))) return -1;
      return sum(
        contractCount(r),
        sum(5, optional(r.implied_volatility, true, isFin), optional(r.open_interest, true, isNonNegInt)),
        optional(r.last_quote_ts_ns, true, isInt64),
        optional(r.last_trade_ts_ns, true, isInt64),
      );
    case 'futures.trades.v1':
      if (!(isStr1(r.symbol) && isFin(r.price) && isNonNegInt(r.size) && isAggressor(r.aggressor))) return -1;
      return sum(4, optional(r.venue, true, isStr));
    case 'futures.mbp10.v1': {
      const flags = r.flags;
      if (!(isStr1(r.symbol) && isBookPx(r.bid_px) && isBookSz(r.bid_sz) && isBookPx(r.ask_px) && isBookSz(r.ask_sz) && isNonNegInt(flags) && (flags as number) <= 255)) return -1;
      return sum(6, optional(r.bid_ct, false, isBookSz), optional(r.ask_ct, false, isBookSz), optional(r.is_snapshot, false, isBool));
    }
    case 'heartbeat.v1':
      return isStr1(r.key) ? 0 : -1; // key is counted with the envelope
  }
}

// The last decimal string converted and its value: lines in a row share timestamps (a snapshot's contracts, a
// trade and its quote), and comparing two short strings costs far less than BigInt parsing one (bigints are
// immutable, so handing out the same one is safe).
let lastDec: string | null = null;
let lastDecValue = 0n;

/** A value isInt64 accepted → bigint. */
function int64Of(v: unknown): bigint {
  if (typeof v === 'string') {
    if (v === lastDec) return lastDecValue;
    lastDecValue = BigInt(v);
    lastDec = v;
    return lastDecValue;
  }
  return BigInt(v as number);
}

/** MBP-10 prices in place (the array is fresh from JSON.parse): null, an absent level, reads as NaN. */
function nullPxToNaN(px: (number | null)[]): number[] {
  for (let i = 0; i < px.length; i++) if (px[i] === null) px[i] = Number.NaN;
  return px as number[];
}

/** Own enumerable keys of a JSON.parse result (its keys are all own, enumerable, and strings). */
function keyCount(r: Record<string, unknown>): number {
  let n = 0;
  for (const k in r) if (Object.prototype.hasOwnProperty.call(r, k)) n++;
  return n;
}

/** The zod schema's output for `raw`, or null when the fast checks cannot vouch for it (zod then decides). */
function fastParse(schema: InputSchema, raw: Record<string, unknown>, keys?: number): Parsed[InputSchema] | null {
  if (raw.schema !== schema) return null;
  const env = envelopeCount(raw);
  if (env < 0) return null;
  const own = schemaCount(schema, raw);
  if (own < 0 || env + own !== (keys ?? keyCount(raw))) return null;
  // Convert only once every check passed: zod must see the untouched object if the fast path gives up.
  raw.ts_event_ns = int64Of(raw.ts_event_ns);
  if (raw.ts_recv_ns !== undefined) raw.ts_recv_ns = int64Of(raw.ts_recv_ns);
  if (raw.seq !== undefined && raw.seq !== null) raw.seq = int64Of(raw.seq);
  if (schema === 'options.greeks_snapshots.v1') {
    if (raw.last_quote_ts_ns !== undefined && raw.last_quote_ts_ns !== null) raw.last_quote_ts_ns = int64Of(raw.last_quote_ts_ns);
    if (raw.last_trade_ts_ns !== undefined && raw.last_trade_ts_ns !== null) raw.last_trade_ts_ns = int64Of(raw.last_trade_ts_ns);
  } else if (schema === 'futures.mbp10.v1') {
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

/** Per schema, the text each of its keys (SCHEMA_KEYS, same order) is written with: `"k":`. */
const KEY_TEXTS = Object.fromEntries(SCHEMA_LIST.map((schema) => [schema, SCHEMA_KEYS[schema].map((key) => `${JSON.stringify(key)}:`)])) as Record<InputSchema, string[]>;

/** The keys of a schema's events in the order a line writes them (schema first). */
export const eventKeyOrder = (schema: InputSchema): readonly string[] => SCHEMA_KEYS[schema];

/**
 * One JSONL line (no newline), keys in the schema's canonical order so equal events give equal bytes: the text of
 * JSON.stringify of the event's schema keys with bigints as decimal strings and NaN as null (an absent key is left
 * out, as JSON.stringify leaves out undefined). Written value by value (formatJsonValue): JSON.stringify with a
 * replacer calls it for every key and array element, 4 µs per event and half of `feed sim --out`'s time.
 * event-json.test.ts holds the two to the same text.
 */
export function formatEventLine(ev: InputEvent): string {
  const src = ev as unknown as Record<string, unknown>;
  const keys = SCHEMA_KEYS[ev.schema];
  const texts = KEY_TEXTS[ev.schema];
  let line = '';
  for (let i = 0; i < keys.length; i++) {
    const v = src[keys[i]!];
    // Left out as JSON.stringify leaves them out of an object.
    if (v === undefined || typeof v === 'function' || typeof v === 'symbol') continue;
    line += (line.length === 0 ? '{' : ',') + texts[i]! + formatJsonValue(v);
  }
  return line.length === 0 ? '{}' : line + '}';
}

/** JSON.stringify(v, jsonValue) for a defined value of an event (strings, numbers, bigints, booleans, null, arrays). */
function formatJsonValue(v: unknown): string {
  switch (typeof v) {
    case 'string':
      return isPlainAscii(v) ? '"' + v + '"' : JSON.stringify(v);
    case 'number':
      // NaN is null by the replacer, ±Infinity by JSON itself; the rest as String(v) (-0 as 0 in both).
      return v - v === 0 ? '' + v : 'null';
    case 'bigint':
      return '"' + v.toString() + '"';
    case 'boolean':
      return v ? 'true' : 'false';
    default:
      if (Array.isArray(v)) {
        let out = '[';
        for (let i = 0; i < v.length; i++) {
          const x: unknown = v[i];
          if (i > 0) out += ',';
          // An array writes undefined (and what JSON cannot write) as null.
          out += x === undefined || typeof x === 'function' || typeof x === 'symbol' ? 'null' : formatJsonValue(x);
        }
        return out + ']';
      }
      return JSON.stringify(v, jsonValue);
  }
}

/** Printable ASCII with no quote or backslash (nothing JSON escapes): written between quotes as it is. */
function isPlainAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 32 || c > 126 || c === 34 || c === 92) return false;
  }
  return true;
}
