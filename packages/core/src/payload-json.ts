// The §6.4 payload as one JSON line, written for its fixed shape (signals.ts LevelPhysicsPayload, keys in the order
// snap-engine builds them) straight into bytes. `run --out` and `demo --payloads` write one per snap tick, and
// JSON.stringify of a payload cost about 24 µs, a fifth of `run`'s time (bench run-jsonl): most of it formatting
// ~35 doubles per level with the shortest round-trip algorithm. The engine rounds every number it publishes
// (numeric.ts roundTo: m / 10^d with m an integer), so a number is written from that integer m when it is one, and
// through String(n) otherwise.
// The bytes are exactly JSON.stringify(payload)'s in UTF-8 (payload-json.test.ts compares them on simulated sessions,
// the scenarios and every form of number and string): numbers as String(n) writes them (-0 as 0), non-finite numbers
// as null, strings quoted as JSON.stringify quotes them.
import { latin1Bytes } from './event-json';
import type { LevelEvent, LevelPhysicsPayload, LevelSignal } from './signals';

/**
 * Bytes written as little-endian 32-bit words through a DataView, 4 at a time: a byte loop over the ~2 kB of key text
 * per payload was the writer's largest part. The last word is zero-padded, so a copy writes up to 3 bytes past the
 * text's end: scratch past `o` that the next write overwrites, inside the room every part makes (FIXED_ROOM).
 */
interface Text {
  readonly n: number;
  readonly words: Int32Array;
}
function textOf(bytes: Uint8Array): Text {
  const words = new Int32Array((bytes.length + 3) >> 2);
  for (let i = 0; i < bytes.length; i++) words[i >> 2]! |= bytes[i]! << (8 * (i & 3));
  return { n: bytes.length, words };
}
const text = (s: string): Text => textOf(latin1Bytes(s));

/**
 * A view of the buffer being written: PayloadLineWriter sets it whenever it takes its buffer (a payload is written
 * synchronously, one at a time), so the writers below keep their (out, o) arguments.
 */
let view: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0));

// The fixed text between values, in the order it is written.
const P_TS = text('{"ts":');
const P_TS_NS = text(',"ts_event_ns":');
const P_UNDERLYING = text(',"underlying":');
const P_SPOT = text(',"spy":{"spot":');
const P_BID = text(',"bid":');
const P_ASK = text(',"ask":');
const P_LEVELS = text('},"levels":[');
const P_EVENTS = text('],"events":[');
const L_ID = text('{"id":');
const L_PRICE = text(',"price":');
const L_KIND = text(',"kind":');
const L_DIRECTION = text(',"direction":');
const L_DISTANCE = text(',"distance":');
const L_RAW = text(',"break_score_raw":');
const L_SMOOTH = text(',"break_score_smooth":');
const L_SIGNAL = text(',"signal":');
const L_CONFIDENCE = text(',"confidence":');
const B_STATE = text(',"barrier":{"state":');
const B_DELTA = text(',"delta_liq":');
const B_DELTA_RAW = text(',"delta_liq_raw":');
const B_RR = text(',"replenishment_ratio":');
const B_RR_RAW = text(',"replenishment_ratio_raw":');
const B_ADDED = text(',"added":');
const B_CANCELED = text(',"canceled":');
const B_FILLED = text(',"filled":');
const B_DEFENDING = text(',"defending_quote":');
const Q_PRICE = text('{"price":');
const Q_SIZE = text(',"size":');
const T_IMBALANCE = text('},"tape":{"imbalance":');
const T_BUY = text(',"buy_vol":');
const T_SELL = text(',"sell_vol":');
const T_VELOCITY = text(',"velocity":');
const T_VELOCITY_RAW = text(',"velocity_raw":');
const S_DETECTED = text(',"sweep":{"detected":');
const S_DIRECTION = text(',"direction":');
const S_NOTIONAL = text(',"notional":');
const S_VENUES = text(',"venues":');
const S_WINDOW = text(',"window_ms":');
const F_EFFECT = text('}},"fuel":{"effect":');
const F_GAMMA = text(',"net_dealer_gamma":');
const F_GAMMA_RAW = text(',"net_dealer_gamma_raw":');
const F_CALL = text(',"call_wall":');
const F_PUT = text(',"put_wall":');
const F_HVL = text(',"hvl":');
const R_DIRECTION = text('},"runway":{"direction":');
const R_NEXT = text(',"next_obstacle":');
const R_DISTANCE = text(',"distance":');
const R_QUALITY = text(',"quality":');
const L_NOTE = text('},"note":');
const E_ID = text('{"event_id":');
const E_TS_NS = text(',"ts_event_ns":');
const E_UNDERLYING = text(',"underlying":');
const E_LEVEL_ID = text(',"level_id":');
const E_LEVEL_KIND = text(',"level_kind":');
const E_LEVEL_PRICE = text(',"level_price":');
const E_DIRECTION = text(',"direction":');
const E_SIGNAL = text(',"signal":');
const E_SCORE = text(',"break_score":');
const E_CONFIDENCE = text(',"confidence":');
const E_LEAD = text(',"lead":');
const E_REASON = text(',"reason":');
const E_SPOT = text(',"spot":');
const NULL = text('null');
const TRUE = text('true');
const FALSE = text('false');

const utf8 = new TextEncoder();

/** Room a level or an event needs beyond its strings (numbers at most 24 bytes each, the fixed text, the 3 bytes a copy may write past its end). */
const FIXED_ROOM = 4096;
/** Bytes a string may take written: 6 per UTF-16 unit (an escape \u00XX; UTF-8 is at most 3) and the quotes. */
const strRoom = (s: string | null): number => (s === null ? 4 : 6 * s.length + 2);

/**
 * Appends payloads as JSON lines to a growing byte buffer: `bytes[0, length)` is what was written. The caller takes
 * the bytes (and sets length back to 0) whenever it likes; the buffer grows when a payload would not fit.
 */
export class PayloadLineWriter {
  bytes: Uint8Array;
  length = 0;
  private view: DataView<ArrayBufferLike>;

  constructor(capacity = 1 << 16) {
    this.bytes = new Uint8Array(capacity);
    this.view = new DataView(this.bytes.buffer);
  }

  /** JSON.stringify(p) + "\n", as UTF-8. */
  line(p: LevelPhysicsPayload): void {
    this.payload(p);
    this.room(1);
    this.bytes[this.length++] = 10;
  }

  /** JSON.stringify(p), as UTF-8. */
  payload(p: LevelPhysicsPayload): void {
    // Room is made once per part (the bound of what it can take), so the writers below never check it.
    const spy = p.spy;
    this.room(FIXED_ROOM + strRoom(p.ts_event_ns) + strRoom(p.underlying));
    let out = this.bytes;
    view = this.view;
    let o = putRaw(this.length, P_TS);
    o = putNum(out, o, p.ts);
    o = putRaw(o, P_TS_NS);
    o = putStr(out, o, p.ts_event_ns);
    o = putRaw(o, P_UNDERLYING);
    o = putWord(out, o, p.underlying);
    o = putRaw(o, P_SPOT);
    o = putNum(out, o, spy.spot);
    o = putRaw(o, P_BID);
    o = putNum(out, o, spy.bid);
    o = putRaw(o, P_ASK);
    o = putNum(out, o, spy.ask);
    o = putRaw(o, P_LEVELS);
    const levels = p.levels;
    for (let i = 0; i < levels.length; i++) {
      const l = levels[i]!;
      const next = l.runway.next_obstacle;
      this.length = o;
      this.room(FIXED_ROOM + strRoom(l.id) + strRoom(l.kind) + strRoom(l.direction) + strRoom(l.signal) + strRoom(l.confidence) + strRoom(l.barrier.state) + strRoom(l.tape.sweep.direction) + strRoom(l.fuel.effect) + strRoom(l.runway.direction) + strRoom(next === null ? null : next.id) + strRoom(l.runway.quality) + strRoom(l.note));
      out = this.bytes;
      if (i > 0) out[o++] = 44;
      o = putLevel(out, o, l);
    }
    const events = p.events;
    // An absent (undefined) list is left out, as JSON.stringify leaves out an undefined property.
    if (events !== undefined) {
      this.length = o;
      this.room(FIXED_ROOM);
      out = this.bytes;
      o = putRaw(o, P_EVENTS);
      for (let i = 0; i < events.length; i++) {
        const e = events[i]!;
        this.length = o;
        this.room(FIXED_ROOM + strRoom(e.event_id) + strRoom(e.ts_event_ns) + strRoom(e.underlying) + strRoom(e.level_id) + strRoom(e.level_kind) + strRoom(e.direction) + strRoom(e.signal) + strRoom(e.confidence) + strRoom(e.lead) + strRoom(e.reason));
        out = this.bytes;
        if (i > 0) out[o++] = 44;
        o = putEvent(out, o, e);
      }
    }
    this.length = o;
    this.room(2);
    out = this.bytes;
    out[o++] = 93;
    out[o++] = 125;
    this.length = o;
  }

  /** At least n more bytes of room. */
  private room(n: number): void {
    if (this.length + n <= this.bytes.length) return;
    const bigger = new Uint8Array(Math.max(2 * this.bytes.length, this.length + n));
    bigger.set(this.bytes.subarray(0, this.length));
    this.bytes = bigger;
    // Only ever called while this writer writes a payload, so the module's view follows the new buffer at once.
    this.view = view = new DataView(bigger.buffer);
  }
}

// The writers: each writes at out[o…] (the caller made room) and returns where it ended.

function putLevel(out: Uint8Array, o: number, l: LevelSignal): number {
  const b = l.barrier;
  const t = l.tape;
  const sw = t.sweep;
  const f = l.fuel;
  const r = l.runway;
  const dq = b.defending_quote;
  const next = r.next_obstacle;
  o = putRaw(o, L_ID);
  o = putWord(out, o, l.id);
  o = putRaw(o, L_PRICE);
  o = putNum(out, o, l.price);
  o = putRaw(o, L_KIND);
  o = putWord(out, o, l.kind);
  o = putRaw(o, L_DIRECTION);
  o = putWord(out, o, l.direction);
  o = putRaw(o, L_DISTANCE);
  o = putNum(out, o, l.distance);
  o = putRaw(o, L_RAW);
  o = putNum(out, o, l.break_score_raw);
  o = putRaw(o, L_SMOOTH);
  o = putNum(out, o, l.break_score_smooth);
  o = putRaw(o, L_SIGNAL);
  o = putWord(out, o, l.signal);
  o = putRaw(o, L_CONFIDENCE);
  o = putWord(out, o, l.confidence);
  o = putRaw(o, B_STATE);
  o = putWord(out, o, b.state);
  o = putRaw(o, B_DELTA);
  o = putNum(out, o, b.delta_liq);
  o = putRaw(o, B_DELTA_RAW);
  o = putNum(out, o, b.delta_liq_raw);
  o = putRaw(o, B_RR);
  o = putNum(out, o, b.replenishment_ratio);
  o = putRaw(o, B_RR_RAW);
  o = putNum(out, o, b.replenishment_ratio_raw);
  o = putRaw(o, B_ADDED);
  o = putNum(out, o, b.added);
  o = putRaw(o, B_CANCELED);
  o = putNum(out, o, b.canceled);
  o = putRaw(o, B_FILLED);
  o = putNum(out, o, b.filled);
  o = putRaw(o, B_DEFENDING);
  if (dq === null) o = putRaw(o, NULL);
  else {
    o = putRaw(o, Q_PRICE);
    o = putNum(out, o, dq.price);
    o = putRaw(o, Q_SIZE);
    o = putNum(out, o, dq.size);
    out[o++] = 125;
  }
  o = putRaw(o, T_IMBALANCE);
  o = putNum(out, o, t.imbalance);
  o = putRaw(o, T_BUY);
  o = putNum(out, o, t.buy_vol);
  o = putRaw(o, T_SELL);
  o = putNum(out, o, t.sell_vol);
  o = putRaw(o, T_VELOCITY);
  o = putNum(out, o, t.velocity);
  o = putRaw(o, T_VELOCITY_RAW);
  o = putNum(out, o, t.velocity_raw);
  o = putRaw(o, S_DETECTED);
  o = putRaw(o, sw.detected ? TRUE : FALSE);
  o = putRaw(o, S_DIRECTION);
  o = sw.direction === null ? putRaw(o, NULL) : putWord(out, o, sw.direction);
  o = putRaw(o, S_NOTIONAL);
  o = putNum(out, o, sw.notional);
  o = putRaw(o, S_VENUES);
  o = putNum(out, o, sw.venues);
  o = putRaw(o, S_WINDOW);
  o = putNum(out, o, sw.window_ms);
  o = putRaw(o, F_EFFECT);
  o = putWord(out, o, f.effect);
  o = putRaw(o, F_GAMMA);
  o = putNum(out, o, f.net_dealer_gamma);
  o = putRaw(o, F_GAMMA_RAW);
  o = putNum(out, o, f.net_dealer_gamma_raw);
  o = putRaw(o, F_CALL);
  o = f.call_wall === null ? putRaw(o, NULL) : putNum(out, o, f.call_wall);
  o = putRaw(o, F_PUT);
  o = f.put_wall === null ? putRaw(o, NULL) : putNum(out, o, f.put_wall);
  o = putRaw(o, F_HVL);
  o = f.hvl === null ? putRaw(o, NULL) : putNum(out, o, f.hvl);
  o = putRaw(o, R_DIRECTION);
  o = putWord(out, o, r.direction);
  o = putRaw(o, R_NEXT);
  if (next === null) o = putRaw(o, NULL);
  else {
    o = putRaw(o, L_ID);
    o = putWord(out, o, next.id);
    o = putRaw(o, L_PRICE);
    o = putNum(out, o, next.price);
    out[o++] = 125;
  }
  o = putRaw(o, R_DISTANCE);
  o = r.distance === null ? putRaw(o, NULL) : putNum(out, o, r.distance);
  o = putRaw(o, R_QUALITY);
  o = putWord(out, o, r.quality);
  o = putRaw(o, L_NOTE);
  o = putWord(out, o, l.note);
  out[o++] = 125;
  return o;
}

function putEvent(out: Uint8Array, o: number, e: LevelEvent): number {
  o = putRaw(o, E_ID);
  o = putStr(out, o, e.event_id);
  o = putRaw(o, E_TS_NS);
  o = putStr(out, o, e.ts_event_ns);
  o = putRaw(o, E_UNDERLYING);
  o = putWord(out, o, e.underlying);
  o = putRaw(o, E_LEVEL_ID);
  o = putWord(out, o, e.level_id);
  o = putRaw(o, E_LEVEL_KIND);
  o = putWord(out, o, e.level_kind);
  o = putRaw(o, E_LEVEL_PRICE);
  o = putNum(out, o, e.level_price);
  o = putRaw(o, E_DIRECTION);
  o = putWord(out, o, e.direction);
  o = putRaw(o, E_SIGNAL);
  o = putWord(out, o, e.signal);
  o = putRaw(o, E_SCORE);
  o = putNum(out, o, e.break_score);
  o = putRaw(o, E_CONFIDENCE);
  o = putWord(out, o, e.confidence);
  o = putRaw(o, E_LEAD);
  o = putWord(out, o, e.lead);
  o = putRaw(o, E_REASON);
  o = putWord(out, o, e.reason);
  o = putRaw(o, E_SPOT);
  o = putNum(out, o, e.spot);
  out[o++] = 125;
  return o;
}

function putRaw(o: number, t: Text): number {
  const w = t.words;
  const v = view;
  for (let j = 0; j < w.length; j++) v.setInt32(o + 4 * j, w[j]!, true);
  return o + t.n;
}

/**
 * n as String(n) writes it. An integer below 10^15, or m / 10^4 or m / 10^6 exactly (m an integer below 10^15: what
 * roundTo returns), is written from m: a decimal of at most 15 significant digits is the only one of its length or
 * shorter that reads back as n, so it is the shortest round-trip form String(n) writes, and below 10^21 and from
 * 10^-6 on String(n) writes it without an exponent. Anything else goes through String(n); NaN and ±Infinity are null.
 */
function putNum(out: Uint8Array, o: number, n: number): number {
  const a = n < 0 ? -n : n;
  if (a < 1e15) {
    if (Math.floor(a) === a) return putDecimal(out, o, n < 0, a, 0, 0);
    let m = Math.round(a * 1e4);
    if (m / 1e4 === a && m < 1e15) return putDecimal(out, o, n < 0, Math.floor(m / 1e4), m % 1e4, 4);
    m = Math.round(a * 1e6);
    if (m / 1e6 === a && m < 1e15) return putDecimal(out, o, n < 0, Math.floor(m / 1e6), m % 1e6, 6);
  }
  if (n - n !== 0) return putRaw(o, NULL); // NaN, ±Infinity
  const s = '' + n; // ASCII, nothing to escape
  for (let i = 0; i < s.length; i++) out[o++] = s.charCodeAt(i);
  return o;
}

/** [-]int[.frac] with frac written as `digits` digits, trailing zeros dropped (frac 0: no point). */
function putDecimal(out: Uint8Array, o: number, neg: boolean, int: number, frac: number, digits: number): number {
  if (neg && (int > 0 || frac > 0)) out[o++] = 45; // -0 is written 0
  // The integer part, digits from the right (in int32 arithmetic when it fits: doubles' % and floor cost more).
  let len = 1;
  if (int < 2147483648) {
    for (let x = int | 0; x >= 10; x = (x / 10) | 0) len++;
    let x = int | 0;
    for (let i = o + len - 1; i >= o; i--) {
      const q = (x / 10) | 0;
      out[i] = 48 + x - 10 * q;
      x = q;
    }
  } else {
    for (let x = int; x >= 10; x = Math.floor(x / 10)) len++;
    let x = int;
    for (let i = o + len - 1; i >= o; i--) {
      out[i] = 48 + (x % 10);
      x = Math.floor(x / 10);
    }
  }
  o += len;
  if (frac > 0) {
    // The fraction's `digits` digits from the right (frac < 10^6: int32 arithmetic), then its trailing zeros dropped
    // (frac > 0 has a nonzero digit). Computed: a table of the 10^4 four-digit fractions' bytes cost a cache miss per
    // number (two thirds of this function's time).
    out[o] = 46;
    let x = frac | 0;
    for (let i = o + digits; i > o; i--) {
      const q = (x / 10) | 0;
      out[i] = 48 + x - 10 * q;
      x = q;
    }
    o += digits + 1;
    while (out[o - 1] === 48) o--;
  }
  return o;
}

/** A string as JSON.stringify quotes it, in UTF-8: copied when it is ASCII with nothing to escape (ids and words). */
function putStr(out: Uint8Array, o: number, s: string): number {
  const n = s.length;
  out[o] = 34;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    // ", \ and control characters are escaped, and anything beyond ASCII needs UTF-8 (and a lone surrogate an escape).
    if (c < 32 || c === 34 || c === 92 || c >= 128) return o + utf8.encodeInto(JSON.stringify(s), out.subarray(o)).written;
    out[o + 1 + i] = c;
  }
  out[o + 1 + n] = 34;
  return o + n + 2;
}

/**
 * Quoted UTF-8 bytes of the strings payloads repeat (level ids and kinds, the engine's words, its memoized notes), by
 * value. A lookup and a copy cost less than putStr's loop of charCodeAt even for a 3-letter word, and much less for a
 * note (the session's payloads alone: 12.7 → 8.5 µs each). Bounded, so unbounded distinct strings cannot grow it: past
 * the bound a new string is written by putStr. Strings unique to one payload (timestamps, event ids) go to putStr.
 */
const words = new Map<string, Text>();
const WORDS_MAX = 4096;

/** s as putStr writes it, copied from the bytes of its first writing. */
function putWord(out: Uint8Array, o: number, s: string): number {
  let b = words.get(s);
  if (b === undefined) {
    if (words.size >= WORDS_MAX) return putStr(out, o, s);
    b = textOf(utf8.encode(JSON.stringify(s)));
    words.set(s, b);
  }
  return putRaw(o, b);
}

const scratch = new PayloadLineWriter();
const utf8Text = new TextDecoder();

/** JSON.stringify(p), the same text (no newline): PayloadLineWriter's bytes as a string. */
export function formatPayloadLine(p: LevelPhysicsPayload): string {
  scratch.length = 0;
  scratch.payload(p);
  return utf8Text.decode(scratch.bytes.subarray(0, scratch.length));
}
