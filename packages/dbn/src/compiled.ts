// Per-record-type decoders and JSON formatters, generated once per (layout, ts_out) from the layouts in layout.ts.
//
// Why generated code: the layouts stay the single description of every struct (the encoder and the size tests use
// them too), while the hot path gets straight-line code with constant offsets — no per-field switch, no property
// writes in a loop, one object literal of a fixed shape per record (V8 then allocates it in one go). The JSON
// formatter reads the bytes directly and builds the line as a string: 64-bit fields become decimal strings through
// two 32-bit halves, so `dump --json` creates no BigInt at all. Both produce exactly what the generic
// readFields + jsonValue path produces (same keys, same order, same text); tests compare them field for field.
import { BID_ASK_PAIR_LEN as PAIR_LEN, Layout } from './layout';

// A local copy: module imports compile to live-binding getters under tsx/CJS, a call per use in hot loops.
const BID_ASK_PAIR_LEN: number = PAIR_LEN;

/** Reads a record from its header at `b`; the caller has checked that the whole record is present. */
export type CompiledDecoder = (buf: Uint8Array, dv: DataView, b: number, bodyLen: number) => Record<string, unknown>;
/** The record's JSON line (no newline), the same text as JSON.stringify(recordToJson(decode(...))). */
export type CompiledJson = (buf: Uint8Array, dv: DataView, b: number, bodyLen: number) => string;

/** JSON text of each one-byte c_char, as JSON.stringify writes it (escapes for quotes, backslash, controls). */
const CHAR_JSON: readonly string[] = Array.from({ length: 256 }, (_, i) => JSON.stringify(String.fromCharCode(i)));
const CHARS: readonly string[] = Array.from({ length: 256 }, (_, i) => String.fromCharCode(i));
const HEX: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

function pad7(n: number): string {
  const s = String(n);
  return s.length >= 7 ? s : '0000000'.slice(s.length) + s;
}

/**
 * Decimal text of the unsigned 64-bit value hi·2^32 + lo without BigInt. Below 2^53 a double is exact; above, the
 * value is split into 24-bit limbs and re-based on 10^7 (2^24 = 1·10^7 + 6777216, 2^48 = 2·10^14 + 8147497·10^7 +
 * 6710656), each partial sum staying far below 2^53.
 */
export function u64Decimal(hi: number, lo: number): string {
  if (hi <= 0x1fffff) return String(hi * 4294967296 + lo);
  const low = lo & 0xffffff;
  const mid = ((lo >>> 24) | (hi << 8)) & 0xffffff;
  const high = (hi >>> 16) & 0xffff;
  let a = low + mid * 6777216 + high * 6710656;
  let b = mid + high * 8147497;
  let c = high * 2;
  // Carries with exact integer arithmetic (a % 1e7 is exact; so is (a - r) / 1e7).
  let r = a % 10000000;
  b += (a - r) / 10000000;
  a = r;
  r = b % 10000000;
  c += (b - r) / 10000000;
  b = r;
  if (c > 0) return String(c) + pad7(b) + pad7(a);
  if (b > 0) return String(b) + pad7(a);
  return String(a);
}

/** Decimal text of the u64 at `o` (little-endian). */
export function u64At(dv: DataView, o: number): string {
  return u64Decimal(dv.getUint32(o + 4, true), dv.getUint32(o, true));
}

/** Decimal text of the i64 at `o` (little-endian, two's complement). */
export function i64At(dv: DataView, o: number): string {
  const hi = dv.getInt32(o + 4, true);
  const lo = dv.getUint32(o, true);
  // Fast path: |v| < 2^53 is exact as a double (prices in 1e-9 units up to ~9 million).
  if (hi >= -0x200000 && hi <= 0x1fffff) return String(hi * 4294967296 + lo);
  if (hi >= 0) return u64Decimal(hi, lo);
  // Negate: -v = ~v + 1 over 64 bits.
  const nlo = (~lo + 1) >>> 0;
  const nhi = (~hi + (nlo === 0 ? 1 : 0)) >>> 0;
  return '-' + u64Decimal(nhi, nlo);
}

/** The cstr at `o` (up to `len` bytes, stops at the first NUL), latin1, as readFields reads it. */
export function cstrAt(buf: Uint8Array, o: number, len: number): string {
  let end = o;
  const stop = o + len;
  while (end < stop && buf[end] !== 0) end++;
  return Buffer.from(buf.buffer, buf.byteOffset + o, end - o).toString('latin1');
}

function nonZero(buf: Uint8Array, o: number, n: number): boolean {
  for (let i = 0; i < n; i++) if (buf[o + i] !== 0) return true;
  return false;
}

function hexAt(buf: Uint8Array, o: number, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += HEX[buf[o + i]!];
  return s;
}

const HELPERS = { CHAR_JSON, CHARS, u64At, i64At, cstrAt, nonZero, hexAt, slice: (buf: Uint8Array, a: number, b: number) => Uint8Array.prototype.slice.call(buf, a, b) };

const SCALAR_READ: Record<string, (o: string) => string> = {
  u8: (o) => `buf[${o}]`,
  i8: (o) => `dv.getInt8(${o})`,
  u16: (o) => `dv.getUint16(${o}, true)`,
  i16: (o) => `dv.getInt16(${o}, true)`,
  u32: (o) => `dv.getUint32(${o}, true)`,
  i32: (o) => `dv.getInt32(${o}, true)`,
  u64: (o) => `dv.getBigUint64(${o}, true)`,
  i64: (o) => `dv.getBigInt64(${o}, true)`,
  char: (o) => `H.CHARS[buf[${o}]]`,
};

/** JSON text of a scalar as a JS expression yielding a string (or a number concatenated into one). */
const SCALAR_JSON: Record<string, (o: string) => string> = {
  u8: (o) => `buf[${o}]`,
  i8: (o) => `dv.getInt8(${o})`,
  u16: (o) => `dv.getUint16(${o}, true)`,
  i16: (o) => `dv.getInt16(${o}, true)`,
  u32: (o) => `dv.getUint32(${o}, true)`,
  i32: (o) => `dv.getInt32(${o}, true)`,
  u64: (o) => `'"' + H.u64At(dv, ${o}) + '"'`,
  i64: (o) => `'"' + H.i64At(dv, ${o}) + '"'`,
  char: (o) => `H.CHAR_JSON[buf[${o}]]`,
};

const at = (off: number) => (off === 0 ? 'b' : `b + ${off}`);
const key = (name: string) => JSON.stringify(name);

function levelLiteral(o: number): string {
  return (
    `{ bid_px: dv.getBigInt64(${at(o)}, true), ask_px: dv.getBigInt64(${at(o + 8)}, true), bid_sz: dv.getUint32(${at(o + 16)}, true), ` +
    `ask_sz: dv.getUint32(${at(o + 20)}, true), bid_ct: dv.getUint32(${at(o + 24)}, true), ask_ct: dv.getUint32(${at(o + 28)}, true) }`
  );
}

function levelJson(o: number): string {
  return (
    `'{"bid_px":"' + H.i64At(dv, ${at(o)}) + '","ask_px":"' + H.i64At(dv, ${at(o + 8)}) + '","bid_sz":' + dv.getUint32(${at(o + 16)}, true) + ` +
    `',"ask_sz":' + dv.getUint32(${at(o + 20)}, true) + ',"bid_ct":' + dv.getUint32(${at(o + 24)}, true) + ',"ask_ct":' + dv.getUint32(${at(o + 28)}, true) + '}'`
  );
}

const decoders = new Map<Layout, [CompiledDecoder | undefined, CompiledDecoder | undefined]>();
const formatters = new Map<Layout, [CompiledJson | undefined, CompiledJson | undefined]>();

/**
 * The decoder of `layout`. Records come out as plain objects with the same keys in the same order as readFields
 * gives: kind, the header, the fields, then ts_out (read at `bodyLen`, the record length less 8, when `tsOut`).
 */
export function compiledDecoder(layout: Layout, tsOut: boolean): CompiledDecoder {
  let pair = decoders.get(layout);
  if (!pair) decoders.set(layout, (pair = [undefined, undefined]));
  const i = tsOut ? 1 : 0;
  return (pair[i] ??= buildDecoder(layout, tsOut));
}

/** The JSON formatter of `layout` (see CompiledJson). */
export function compiledJson(layout: Layout, tsOut: boolean): CompiledJson {
  let pair = formatters.get(layout);
  if (!pair) formatters.set(layout, (pair = [undefined, undefined]));
  const i = tsOut ? 1 : 0;
  return (pair[i] ??= buildJson(layout, tsOut));
}

function buildDecoder(layout: Layout, tsOut: boolean): CompiledDecoder {
  const head = [`kind: ${key(layout.kind)}`, 'rtype: buf[b + 1]', 'publisher_id: dv.getUint16(b + 2, true)', 'instrument_id: dv.getUint32(b + 4, true)', 'ts_event: dv.getBigUint64(b + 8, true)'];
  const hasPad = layout.fields.some((f) => f.kind === 'pad');
  let body: string;
  if (!hasPad) {
    // One literal: every record of this type gets the same hidden class.
    const parts = [...head];
    for (const f of layout.fields) {
      if (f.kind === 'cstr') parts.push(`${key(f.name)}: H.cstrAt(buf, ${at(f.offset)}, ${f.n})`);
      else if (f.kind === 'levels') {
        const lv: string[] = [];
        for (let i = 0; i < f.n; i++) lv.push(levelLiteral(f.offset + i * BID_ASK_PAIR_LEN));
        parts.push(`${key(f.name)}: [${lv.join(', ')}]`);
      } else parts.push(`${key(f.name)}: ${SCALAR_READ[f.kind]!(at(f.offset))}`);
    }
    if (tsOut) parts.push(`ts_out: dv.getBigUint64(b + t, true)`);
    body = `return { ${parts.join(', ')} };`;
  } else {
    // Reserved bytes appear as a key only when non-zero (see readFields), so keys are added in field order.
    const lines = [`const o = { ${head.join(', ')} };`];
    for (const f of layout.fields) {
      if (f.kind === 'pad') lines.push(`if (H.nonZero(buf, ${at(f.offset)}, ${f.n})) o[${key(f.name)}] = H.slice(buf, ${at(f.offset)}, ${at(f.offset + f.n)});`);
      else if (f.kind === 'cstr') lines.push(`o[${key(f.name)}] = H.cstrAt(buf, ${at(f.offset)}, ${f.n});`);
      else if (f.kind === 'levels') {
        const lv: string[] = [];
        for (let i = 0; i < f.n; i++) lv.push(levelLiteral(f.offset + i * BID_ASK_PAIR_LEN));
        lines.push(`o[${key(f.name)}] = [${lv.join(', ')}];`);
      } else lines.push(`o[${key(f.name)}] = ${SCALAR_READ[f.kind]!(at(f.offset))};`);
    }
    if (tsOut) lines.push(`o.ts_out = dv.getBigUint64(b + t, true);`);
    lines.push('return o;');
    body = lines.join('\n');
  }
  return new Function('H', `return function decode_${layout.kind}(buf, dv, b, t) {\n${body}\n};`)(HELPERS) as CompiledDecoder;
}

function buildJson(layout: Layout, tsOut: boolean): CompiledJson {
  const lines = [`let s = '{"rtype":' + buf[b + 1] + ',"publisher_id":' + dv.getUint16(b + 2, true) + ',"instrument_id":' + dv.getUint32(b + 4, true) + ',"ts_event":"' + H.u64At(dv, b + 8) + '"';`];
  for (const f of layout.fields) {
    const k = `,${key(f.name)}:`;
    if (f.kind === 'pad') lines.push(`if (H.nonZero(buf, ${at(f.offset)}, ${f.n})) s += '${k}"' + H.hexAt(buf, ${at(f.offset)}, ${f.n}) + '"';`);
    else if (f.kind === 'cstr') lines.push(`s += '${k}' + JSON.stringify(H.cstrAt(buf, ${at(f.offset)}, ${f.n}));`);
    else if (f.kind === 'levels') {
      const lv: string[] = [];
      for (let i = 0; i < f.n; i++) lv.push(levelJson(f.offset + i * BID_ASK_PAIR_LEN));
      lines.push(`s += '${k}[' + ${lv.join(` + ',' + `)} + ']';`);
    } else lines.push(`s += '${k}' + ${SCALAR_JSON[f.kind]!(at(f.offset))};`);
  }
  if (tsOut) lines.push(`s += ',"ts_out":"' + H.u64At(dv, b + t) + '"';`);
  lines.push(`return s + '}';`);
  return new Function('H', `return function json_${layout.kind}(buf, dv, b, t) {\n${lines.join('\n')}\n};`)(HELPERS) as CompiledJson;
}


// ---- JSON straight into bytes (dump --json) ----
//
// The string formatter above costs ~3 µs per MBP-10 record (string ropes, number→string conversions, then UTF-8
// encoding of ~1.2 kB per record). This one writes UTF-8 bytes into a caller's buffer: constant text as byte stores
// with fixed offsets, integers by two-digit table, 64-bit values through 10^7 limbs. Same bytes as
// Buffer.from(JSON.stringify(recordToJson(rec))).

/** Writes the record's JSON at out[pos..]; returns the new position. out must hold maxJsonBytes more bytes. */
export type CompiledJsonBytes = (buf: Uint8Array, dv: DataView, b: number, t: number, out: Uint8Array, pos: number) => number;

const DIGITS2 = new Uint8Array(200);
for (let i = 0; i < 100; i++) {
  DIGITS2[2 * i] = 48 + Math.floor(i / 10);
  DIGITS2[2 * i + 1] = 48 + (i % 10);
}

/** Decimal digits of an int32 0 <= x < 2^31 (the common case: sizes, counts, ids, the halves of big values). */
function writeSmall(out: Uint8Array, pos: number, x: number): number {
  const n = x < 10000 ? (x < 100 ? (x < 10 ? 1 : 2) : x < 1000 ? 3 : 4) : x < 1000000 ? (x < 100000 ? 5 : 6) : x < 100000000 ? (x < 10000000 ? 7 : 8) : x < 1000000000 ? 9 : 10;
  let p = pos + n;
  while (x >= 100) {
    const q = (x / 100) | 0;
    const r = (x - q * 100) << 1;
    p -= 2;
    out[p] = DIGITS2[r]!;
    out[p + 1] = DIGITS2[r + 1]!;
    x = q;
  }
  if (x >= 10) {
    out[pos] = DIGITS2[x << 1]!;
    out[pos + 1] = DIGITS2[(x << 1) + 1]!;
  } else out[pos] = 48 + x;
  return pos + n;
}

/** Decimal digits of a non-negative integer below 2^53. */
function writeUint(out: Uint8Array, pos: number, v: number): number {
  if (v <= 0x7fffffff) return writeSmall(out, pos, v | 0);
  // Split at 10^9 so both parts are int32; the remainder is exact (integers below 2^53) and corrects a quotient the
  // float division rounded across an integer.
  let hi = Math.floor(v / 1e9);
  let rem = v - hi * 1e9;
  if (rem < 0) {
    hi--;
    rem += 1e9;
  } else if (rem >= 1e9) {
    hi++;
    rem -= 1e9;
  }
  pos = writeUint(out, pos, hi);
  return writeFixed(out, pos, rem | 0, 9);
}

/** Exactly `width` digits of the int32 0 <= x < 10^width (zero-padded). */
function writeFixed(out: Uint8Array, pos: number, x: number, width: number): number {
  let p = pos + width;
  while (p - pos >= 2) {
    const q = (x / 100) | 0;
    const r = (x - q * 100) << 1;
    p -= 2;
    out[p] = DIGITS2[r]!;
    out[p + 1] = DIGITS2[r + 1]!;
    x = q;
  }
  if (p > pos) out[pos] = 48 + x;
  return pos + width;
}

function writeInt(out: Uint8Array, pos: number, v: number): number {
  if (v < 0) {
    out[pos] = 45;
    return writeUint(out, pos + 1, -v);
  }
  return writeUint(out, pos, v);
}

function writeU64Parts(out: Uint8Array, pos: number, hi: number, lo: number): number {
  if (hi <= 0x1fffff) return writeUint(out, pos, hi * 4294967296 + lo);
  const low = lo & 0xffffff;
  const mid = ((lo >>> 24) | (hi << 8)) & 0xffffff;
  const high = (hi >>> 16) & 0xffff;
  let a = low + mid * 6777216 + high * 6710656;
  let b = mid + high * 8147497;
  let c = high * 2;
  // Carries with exact integer arithmetic (a % 1e7 is exact; so is (a - r) / 1e7).
  let r = a % 10000000;
  b += (a - r) / 10000000;
  a = r;
  r = b % 10000000;
  c += (b - r) / 10000000;
  b = r;
  if (c > 0) {
    pos = writeUint(out, pos, c);
    pos = writeFixed(out, pos, b, 7);
  } else if (b > 0) pos = writeUint(out, pos, b);
  else return writeUint(out, pos, a);
  return writeFixed(out, pos, a, 7);
}

// Nanosecond timestamps (~1.8e18) are past 2^53, but their high 32 bits change only every ~4.3 s: for the last
// high word seen, hi·2^32 = tsQ·10^9 + tsR is worked out once (BigInt, rarely), and each value then needs one
// carry: hi·2^32 + lo = (tsQ + c)·10^9 + (tsR + lo − c·10^9).
let tsHi = -1;
let tsQ = 0;
let tsR = 0;

/** "u64" with its quotes. */
function writeU64(out: Uint8Array, pos: number, dv: DataView, o: number): number {
  const hi = dv.getUint32(o + 4, true);
  const lo = dv.getUint32(o, true);
  out[pos++] = 34;
  if (hi <= 0x1fffff) pos = writeUint(out, pos, hi * 4294967296 + lo);
  else {
    if (hi !== tsHi) {
      const big = BigInt(hi) << 32n;
      tsQ = Number(big / 1000000000n);
      tsR = Number(big % 1000000000n);
      tsHi = hi;
    }
    const sum = tsR + lo; // < 1e9 + 2^32: exact
    const carry = Math.floor(sum / 1e9);
    const q = tsQ + carry; // < 2^64 / 1e9 ≈ 1.8e10: exact
    pos = writeUint(out, pos, q);
    pos = writeFixed(out, pos, (sum - carry * 1e9) | 0, 9);
  }
  out[pos] = 34;
  return pos + 1;
}

// A direct-mapped cache of the JSON text of recent i64 values: an MBP-10 record repeats most of the previous
// record's 20 level prices (one level changes per event), and copying ~15 bytes beats re-deriving the digits.
const PC_N = 4096;
const pcHi = new Int32Array(PC_N);
const pcLo = new Int32Array(PC_N);
const pcLen = new Uint8Array(PC_N); // 0 = empty slot
const PC_W = 24; // '"' + sign + 19 digits + '"' fits
const pcBytes = new Uint8Array(PC_N * PC_W);

/** "i64" with its quotes. */
function writeI64(out: Uint8Array, pos: number, dv: DataView, o: number): number {
  const hi = dv.getInt32(o + 4, true);
  const lo = dv.getInt32(o, true);
  const h = Math.imul(lo ^ Math.imul(hi, 0x85ebca6b), 0x9e3779b1) >>> 20;
  const cached = pcLen[h]!;
  if (cached !== 0 && pcLo[h] === lo && pcHi[h] === hi) {
    const from = h * PC_W;
    for (let i = 0; i < cached; i++) out[pos + i] = pcBytes[from + i]!;
    return pos + cached;
  }
  const end = writeI64Parts(out, pos, hi, lo >>> 0);
  const n = end - pos;
  const to = h * PC_W;
  for (let i = 0; i < n; i++) pcBytes[to + i] = out[pos + i]!;
  pcHi[h] = hi;
  pcLo[h] = lo;
  pcLen[h] = n;
  return end;
}

function writeI64Parts(out: Uint8Array, pos: number, hi: number, lo: number): number {
  out[pos++] = 34;
  if (hi >= -0x200000 && hi <= 0x1fffff) pos = writeInt(out, pos, hi * 4294967296 + lo);
  else if (hi >= 0) pos = writeU64Parts(out, pos, hi, lo);
  else {
    const nlo = (~lo + 1) >>> 0;
    out[pos++] = 45;
    pos = writeU64Parts(out, pos, (~hi + (nlo === 0 ? 1 : 0)) >>> 0, nlo);
  }
  out[pos] = 34;
  return pos + 1;
}

/** UTF-8 bytes of JSON.stringify(String.fromCharCode(i)). */
const CHAR_JSON_BYTES: readonly Uint8Array[] = CHAR_JSON.map((s) => new Uint8Array(Buffer.from(s, 'utf8')));

function writeChar(out: Uint8Array, pos: number, c: number): number {
  const bytes = CHAR_JSON_BYTES[c]!;
  for (let i = 0; i < bytes.length; i++) out[pos + i] = bytes[i]!;
  return pos + bytes.length;
}

function writeStr(out: Uint8Array, pos: number, s: string): number {
  return pos + Buffer.from(out.buffer, out.byteOffset, out.length).write(s, pos, 'utf8');
}

const BYTE_HELPERS = {
  writeUint,
  writeInt,
  writeU64,
  writeI64,
  writeChar,
  writeStr,
  writeLevels,
  put,
  cstrJson: (buf: Uint8Array, o: number, n: number) => JSON.stringify(cstrAt(buf, o, n)),
  hexAt,
  nonZero,
};

const byteFormatters = new Map<Layout, [CompiledJsonBytes | undefined, CompiledJsonBytes | undefined]>();
const maxBytes = new Map<Layout, number>();

export function compiledJsonBytes(layout: Layout, tsOut: boolean): CompiledJsonBytes {
  let pair = byteFormatters.get(layout);
  if (!pair) byteFormatters.set(layout, (pair = [undefined, undefined]));
  const i = tsOut ? 1 : 0;
  return (pair[i] ??= buildJsonBytes(layout, tsOut));
}

/** An upper bound of the JSON bytes of one record of `layout` (ts_out included), newline excluded. */
export function maxJsonBytes(layout: Layout): number {
  let m = maxBytes.get(layout);
  if (m === undefined) {
    m = 200; // header keys and values, ts_out, braces
    for (const f of layout.fields) {
      m += f.name.length + 4;
      if (f.kind === 'cstr') m += 2 + 6 * f.n;
      else if (f.kind === 'pad') m += 2 + 2 * f.n;
      else if (f.kind === 'levels') m += f.n * 160;
      else m += 24;
    }
    maxBytes.set(layout, m);
  }
  return m;
}

/**
 * JS statements that store the ASCII text `t` at out[p..] and advance p: constant byte stores at constant offsets
 * are several times cheaper than a copy loop over a fragment array (the keys of every field of every record).
 */
function storeText(t: string): string {
  const bytes = ascii(t);
  const stores: string[] = [];
  for (let i = 0; i < bytes.length; i++) stores.push(`out[p${i === 0 ? '' : ' + ' + i}] = ${bytes[i]};`);
  return `${stores.join(' ')} p += ${bytes.length};`;
}

/** Copies a constant fragment (a few bytes: a loop beats Uint8Array.set's call overhead here). */
function put(out: Uint8Array, pos: number, frag: Uint8Array): number {
  const n = frag.length;
  for (let i = 0; i < n; i++) out[pos + i] = frag[i]!;
  return pos + n;
}

const ascii = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'));
const LV_OPEN = ascii('{"bid_px":');
const LV_NEXT_OPEN = ascii(',{"bid_px":');
const LV_ASK_PX = ascii(',"ask_px":');
const LV_BID_SZ = ascii(',"bid_sz":');
const LV_ASK_SZ = ascii(',"ask_sz":');
const LV_BID_CT = ascii(',"bid_ct":');
const LV_ASK_CT = ascii(',"ask_ct":');

/** The `[...]` of n BidAskPairs at o: levels unchanged since the previous record are copied as text (see below). */
function writeLevels(out: Uint8Array, p: number, dv: DataView, o: number, n: number): number {
  if (n > LC_MAX) return writeLevelsFresh(out, p, dv, o, n);
  out[p++] = 91;
  const base = p;
  const cachedN = lcN;
  let i = 0;
  while (i < n) {
    if (i > 0) out[p++] = 44;
    // The longest run of levels from i whose 32 bytes equal the cached ones: one copy of their text.
    let j = i;
    while (j < cachedN && j < n && sameLevel(dv, o + j * BID_ASK_PAIR_LEN, j)) j++;
    if (j > i) {
      const from = lcStart[i]!;
      const to = lcEnd[j - 1]!;
      const shift = p - base - from;
      for (let k = i; k < j; k++) {
        nextStart[k] = lcStart[k]! + shift;
        nextEnd[k] = lcEnd[k]! + shift;
      }
      out.set(lcText.subarray(from, to), p);
      p += to - from;
      i = j;
      continue;
    }
    nextStart[i] = p - base;
    p = writeLevel(out, p, dv, o + i * BID_ASK_PAIR_LEN, i);
    nextEnd[i] = p - base;
    i++;
  }
  // This record's levels text becomes the cache for the next one.
  const len = p - base;
  if (len > lcText.length) lcText = new Uint8Array(len * 2);
  // A plain view: Buffer#subarray (out is a Buffer in dump) costs several times more.
  lcText.set(new Uint8Array(out.buffer, out.byteOffset + base, len));
  const s = lcStart;
  lcStart = nextStart;
  nextStart = s;
  const e = lcEnd;
  lcEnd = nextEnd;
  nextEnd = e;
  lcN = n;
  out[p++] = 93;
  return p;
}

// The level text cache: an MBP-10 event changes one or two of its ten levels, so most of a record's levels are
// byte-identical to the previous record's. Kept in module memory (never in the caller's buffer, which the caller
// may reuse): the previous record's levels as raw int32 words and as JSON text with each level's span in it.
const LC_MAX = 16;
const LC_WORDS = BID_ASK_PAIR_LEN / 4;
const lcRaw = new Int32Array(LC_MAX * LC_WORDS);
let lcStart = new Int32Array(LC_MAX);
let lcEnd = new Int32Array(LC_MAX);
let nextStart = new Int32Array(LC_MAX);
let nextEnd = new Int32Array(LC_MAX);
let lcText = new Uint8Array(LC_MAX * 160);
let lcN = 0;

function sameLevel(dv: DataView, o: number, i: number): boolean {
  const w = i * LC_WORDS;
  for (let k = 0; k < LC_WORDS; k++) if (dv.getInt32(o + 4 * k, true) !== lcRaw[w + k]) return false;
  return true;
}

/** One level's `{...}` written from the bytes; its raw words go to the cache slot i. Generated: see storeText. */
const writeLevel = new Function(
  'H',
  `return function writeLevel(out, p, dv, o, i) {
  const w = i * ${LC_WORDS};
  for (let k = 0; k < ${LC_WORDS}; k++) H.lcRaw[w + k] = dv.getInt32(o + 4 * k, true);
  ${storeText('{"bid_px":')}
  p = H.writeI64(out, p, dv, o);
  ${storeText(',"ask_px":')}
  p = H.writeI64(out, p, dv, o + 8);
  ${storeText(',"bid_sz":')}
  p = H.writeUint(out, p, dv.getUint32(o + 16, true));
  ${storeText(',"ask_sz":')}
  p = H.writeUint(out, p, dv.getUint32(o + 20, true));
  ${storeText(',"bid_ct":')}
  p = H.writeUint(out, p, dv.getUint32(o + 24, true));
  ${storeText(',"ask_ct":')}
  p = H.writeUint(out, p, dv.getUint32(o + 28, true));
  out[p] = 125;
  return p + 1;
};`,
)({ lcRaw, writeI64, writeUint }) as (out: Uint8Array, p: number, dv: DataView, o: number, i: number) => number;

/** More levels than the cache holds (no such schema today): each written from its bytes. */
function writeLevelsFresh(out: Uint8Array, p: number, dv: DataView, o: number, n: number): number {
  out[p++] = 91;
  for (let i = 0; i < n; i++, o += BID_ASK_PAIR_LEN) {
    p = put(out, p, i === 0 ? LV_OPEN : LV_NEXT_OPEN);
    p = writeI64(out, p, dv, o);
    p = put(out, p, LV_ASK_PX);
    p = writeI64(out, p, dv, o + 8);
    p = put(out, p, LV_BID_SZ);
    p = writeUint(out, p, dv.getUint32(o + 16, true));
    p = put(out, p, LV_ASK_SZ);
    p = writeUint(out, p, dv.getUint32(o + 20, true));
    p = put(out, p, LV_BID_CT);
    p = writeUint(out, p, dv.getUint32(o + 24, true));
    p = put(out, p, LV_ASK_CT);
    p = writeUint(out, p, dv.getUint32(o + 28, true));
    out[p++] = 125;
  }
  out[p++] = 93;
  return p;
}

function buildJsonBytes(layout: Layout, tsOut: boolean): CompiledJsonBytes {
  const frags: Uint8Array[] = [];
  const L: string[] = ['let p = pos;'];
  const text = (t: string): string => {
    frags.push(ascii(t));
    return storeText(t);
  };
  const scalar = (kind: string, o: string): string => {
    switch (kind) {
      case 'u8': return `p = H.writeUint(out, p, buf[${o}]);`;
      case 'i8': return `p = H.writeInt(out, p, dv.getInt8(${o}));`;
      case 'u16': return `p = H.writeUint(out, p, dv.getUint16(${o}, true));`;
      case 'i16': return `p = H.writeInt(out, p, dv.getInt16(${o}, true));`;
      case 'u32': return `p = H.writeUint(out, p, dv.getUint32(${o}, true));`;
      case 'i32': return `p = H.writeInt(out, p, dv.getInt32(${o}, true));`;
      case 'u64': return `p = H.writeU64(out, p, dv, ${o});`;
      case 'i64': return `p = H.writeI64(out, p, dv, ${o});`;
      case 'char': return `p = H.writeChar(out, p, buf[${o}]);`;
      default: throw new Error(`no JSON writer for ${kind}`);
    }
  };
  L.push(text('{"rtype":'), scalar('u8', 'b + 1'), text(',"publisher_id":'), scalar('u16', 'b + 2'));
  L.push(text(',"instrument_id":'), scalar('u32', 'b + 4'), text(',"ts_event":'), scalar('u64', 'b + 8'));
  for (const f of layout.fields) {
    const k = `,${JSON.stringify(f.name)}:`;
    if (f.kind === 'pad') {
      L.push(`if (H.nonZero(buf, ${at(f.offset)}, ${f.n})) { ${text(k + '"')} p = H.writeStr(out, p, H.hexAt(buf, ${at(f.offset)}, ${f.n})); out[p++] = 34; }`);
    } else if (f.kind === 'cstr') {
      L.push(text(k), `p = H.writeStr(out, p, H.cstrJson(buf, ${at(f.offset)}, ${f.n}));`);
    } else if (f.kind === 'levels') {
      L.push(text(k), `p = H.writeLevels(out, p, dv, ${at(f.offset)}, ${f.n});`);
    } else L.push(text(k), scalar(f.kind, at(f.offset)));
  }
  if (tsOut) L.push(text(',"ts_out":'), scalar('u64', 'b + t'));
  L.push('out[p] = 125;', 'return p + 1;');
  return new Function('H', 'F', `return function jsonb_${layout.kind}(buf, dv, b, t, out, pos) {\n${L.join('\n')}\n};`)(BYTE_HELPERS, frags) as CompiledJsonBytes;
}
