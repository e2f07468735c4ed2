// The §6.4 payload as one JSON line in UTF-8 bytes, written for its known shape: byte-identical to
// Buffer.from(JSON.stringify(payload) + "\n") — the `run --out` file — at a fraction of its cost in a run. In `run`
// the time went to JSON.stringify converting every fresh double with V8's shortest round-trip algorithm and then
// to encoding the string again as UTF-8; here the bytes go straight into one reusable buffer, the engine's rounded
// values are written from integers, and the fixed keys are copied as pre-encoded bytes.
//
// The shape is fixed by signals.ts and the engine (snap-engine.ts builds each object with its keys in this order),
// so only the values are looked at. payload-json.test.ts compares the bytes with JSON.stringify's over real payloads
// (simulated sessions with events, both barrier sources, normal and 8× density) and hand-made edge values: a new or
// reordered field fails it. JSON.stringify's rules kept here: a finite number is written as String(n) (-0 as 0), a
// non-finite one as null; a string is quoted with JSON's escapes; an undefined property is left out.
import type { LevelEvent, LevelPhysicsPayload, LevelSignal } from './signals';

/** An ASCII literal as bytes. */
function ascii(s: string): Uint8Array {
  const b = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i);
  return b;
}

const K = {
  ts: ascii('{"ts":'),
  tsEventNs: ascii(',"ts_event_ns":'),
  underlying: ascii(',"underlying":'),
  spot: ascii(',"spy":{"spot":'),
  bid: ascii(',"bid":'),
  ask: ascii(',"ask":'),
  levels: ascii('},"levels":['),
  events: ascii('],"events":['),
  end: ascii(']}\n'),
  // LevelSignal
  id: ascii('{"id":'),
  price: ascii(',"price":'),
  kind: ascii(',"kind":'),
  direction: ascii(',"direction":'),
  distance: ascii(',"distance":'),
  scoreRaw: ascii(',"break_score_raw":'),
  scoreSmooth: ascii(',"break_score_smooth":'),
  signal: ascii(',"signal":'),
  confidence: ascii(',"confidence":'),
  state: ascii(',"barrier":{"state":'),
  deltaLiq: ascii(',"delta_liq":'),
  deltaLiqRaw: ascii(',"delta_liq_raw":'),
  repl: ascii(',"replenishment_ratio":'),
  replRaw: ascii(',"replenishment_ratio_raw":'),
  added: ascii(',"added":'),
  canceled: ascii(',"canceled":'),
  filled: ascii(',"filled":'),
  defending: ascii(',"defending_quote":'),
  dqPrice: ascii('{"price":'),
  size: ascii(',"size":'),
  imbalance: ascii('},"tape":{"imbalance":'),
  buyVol: ascii(',"buy_vol":'),
  sellVol: ascii(',"sell_vol":'),
  velocity: ascii(',"velocity":'),
  velocityRaw: ascii(',"velocity_raw":'),
  detected: ascii(',"sweep":{"detected":'),
  notional: ascii(',"notional":'),
  venues: ascii(',"venues":'),
  windowMs: ascii(',"window_ms":'),
  effect: ascii('}},"fuel":{"effect":'),
  gamma: ascii(',"net_dealer_gamma":'),
  gammaRaw: ascii(',"net_dealer_gamma_raw":'),
  callWall: ascii(',"call_wall":'),
  putWall: ascii(',"put_wall":'),
  hvl: ascii(',"hvl":'),
  runwayDirection: ascii('},"runway":{"direction":'),
  nextObstacle: ascii(',"next_obstacle":'),
  quality: ascii(',"quality":'),
  note: ascii('},"note":'),
  // LevelEvent
  eventId: ascii('{"event_id":'),
  levelId: ascii(',"level_id":'),
  levelKind: ascii(',"level_kind":'),
  levelPrice: ascii(',"level_price":'),
  breakScore: ascii(',"break_score":'),
  lead: ascii(',"lead":'),
  reason: ascii(',"reason":'),
  spotLast: ascii(',"spot":'),
  // values
  null: ascii('null'),
  true: ascii('true'),
  false: ascii('false'),
};

const POW10 = [1, 10, 100, 1000, 10000];
const utf8 = new TextEncoder();

/**
 * Appends payloads as JSON lines to one growing byte buffer; the caller takes `bytes()` (e.g. to write a file) and
 * `reset()`s it. Not for concurrent use: a payload is written in one call.
 */
export class PayloadJsonWriter {
  private buf: Uint8Array;
  private pos = 0;

  constructor(capacity = 1 << 21) {
    this.buf = new Uint8Array(Math.max(capacity, 1024));
  }

  /** Bytes written since the last reset. */
  get length(): number {
    return this.pos;
  }

  /** The bytes written since the last reset: a view, valid until the next write or reset. */
  bytes(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }

  reset(): void {
    this.pos = 0;
  }

  /** Appends the bytes of JSON.stringify(p) + "\n". */
  payload(p: LevelPhysicsPayload): void {
    this.lit(K.ts);
    this.num(p.ts);
    this.lit(K.tsEventNs);
    this.str(p.ts_event_ns);
    this.lit(K.underlying);
    this.str(p.underlying);
    this.lit(K.spot);
    this.num(p.spy.spot);
    this.lit(K.bid);
    this.num(p.spy.bid);
    this.lit(K.ask);
    this.num(p.spy.ask);
    this.lit(K.levels);
    const ls = p.levels;
    for (let i = 0; i < ls.length; i++) {
      if (i > 0) this.byte(0x2c);
      this.level(ls[i]!);
    }
    const es = p.events;
    if (es !== undefined) {
      this.lit(K.events);
      for (let i = 0; i < es.length; i++) {
        if (i > 0) this.byte(0x2c);
        this.event(es[i]!);
      }
    }
    this.lit(K.end);
  }

  private level(l: LevelSignal): void {
    this.lit(K.id);
    this.str(l.id);
    this.lit(K.price);
    this.num(l.price);
    this.lit(K.kind);
    this.str(l.kind);
    this.lit(K.direction);
    this.str(l.direction);
    this.lit(K.distance);
    this.num(l.distance);
    this.lit(K.scoreRaw);
    this.num(l.break_score_raw);
    this.lit(K.scoreSmooth);
    this.num(l.break_score_smooth);
    this.lit(K.signal);
    this.str(l.signal);
    this.lit(K.confidence);
    this.str(l.confidence);
    const b = l.barrier;
    this.lit(K.state);
    this.str(b.state);
    this.lit(K.deltaLiq);
    this.num(b.delta_liq);
    this.lit(K.deltaLiqRaw);
    this.num(b.delta_liq_raw);
    this.lit(K.repl);
    this.num(b.replenishment_ratio);
    this.lit(K.replRaw);
    this.num(b.replenishment_ratio_raw);
    this.lit(K.added);
    this.num(b.added);
    this.lit(K.canceled);
    this.num(b.canceled);
    this.lit(K.filled);
    this.num(b.filled);
    this.lit(K.defending);
    const dq = b.defending_quote;
    if (dq === null) this.lit(K.null);
    else {
      this.lit(K.dqPrice);
      this.num(dq.price);
      this.lit(K.size);
      this.num(dq.size);
      this.byte(0x7d);
    }
    const t = l.tape;
    this.lit(K.imbalance);
    this.num(t.imbalance);
    this.lit(K.buyVol);
    this.num(t.buy_vol);
    this.lit(K.sellVol);
    this.num(t.sell_vol);
    this.lit(K.velocity);
    this.num(t.velocity);
    this.lit(K.velocityRaw);
    this.num(t.velocity_raw);
    const sw = t.sweep;
    this.lit(K.detected);
    this.lit(sw.detected ? K.true : K.false);
    this.lit(K.direction);
    if (sw.direction === null) this.lit(K.null);
    else this.str(sw.direction);
    this.lit(K.notional);
    this.num(sw.notional);
    this.lit(K.venues);
    this.num(sw.venues);
    this.lit(K.windowMs);
    this.num(sw.window_ms);
    const f = l.fuel;
    this.lit(K.effect);
    this.str(f.effect);
    this.lit(K.gamma);
    this.num(f.net_dealer_gamma);
    this.lit(K.gammaRaw);
    this.num(f.net_dealer_gamma_raw);
    this.lit(K.callWall);
    this.numOrNull(f.call_wall);
    this.lit(K.putWall);
    this.numOrNull(f.put_wall);
    this.lit(K.hvl);
    this.numOrNull(f.hvl);
    const r = l.runway;
    this.lit(K.runwayDirection);
    this.str(r.direction);
    this.lit(K.nextObstacle);
    const ob = r.next_obstacle;
    if (ob === null) this.lit(K.null);
    else {
      this.lit(K.id);
      this.str(ob.id);
      this.lit(K.price);
      this.num(ob.price);
      this.byte(0x7d);
    }
    this.lit(K.distance);
    this.numOrNull(r.distance);
    this.lit(K.quality);
    this.str(r.quality);
    this.lit(K.note);
    this.str(l.note);
    this.byte(0x7d);
  }

  private event(e: LevelEvent): void {
    this.lit(K.eventId);
    this.str(e.event_id);
    this.lit(K.tsEventNs);
    this.str(e.ts_event_ns);
    this.lit(K.underlying);
    this.str(e.underlying);
    this.lit(K.levelId);
    this.str(e.level_id);
    this.lit(K.levelKind);
    this.str(e.level_kind);
    this.lit(K.levelPrice);
    this.num(e.level_price);
    this.lit(K.direction);
    this.str(e.direction);
    this.lit(K.signal);
    this.str(e.signal);
    this.lit(K.breakScore);
    this.num(e.break_score);
    this.lit(K.confidence);
    this.str(e.confidence);
    this.lit(K.lead);
    this.str(e.lead);
    this.lit(K.reason);
    this.str(e.reason);
    this.lit(K.spotLast);
    this.num(e.spot);
    this.byte(0x7d);
  }

  /** Room for n more bytes (the buffer doubles as needed; written bytes are kept). */
  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (this.pos + n > size) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
  }

  private byte(c: number): void {
    this.room(1);
    this.buf[this.pos++] = c;
  }

  private lit(b: Uint8Array): void {
    this.room(b.length);
    const buf = this.buf;
    let pos = this.pos;
    for (let i = 0; i < b.length; i++) buf[pos++] = b[i]!;
    this.pos = pos;
  }

  /** A string's JSON text. One without '"', '\\', control characters or non-ASCII is copied between quotes. */
  private str(s: string): void {
    this.room(s.length + 2);
    const buf = this.buf;
    let pos = this.pos;
    buf[pos++] = 0x22;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c < 0x20 || c === 0x22 || c === 0x5c || c > 0x7e) {
        // JSON.stringify owns the escaping rules (and the lone-surrogate ones); its text then goes in as UTF-8.
        const j = JSON.stringify(s);
        this.room(j.length * 3);
        this.pos += utf8.encodeInto(j, this.buf.subarray(this.pos)).written;
        return;
      }
      buf[pos++] = c;
    }
    buf[pos++] = 0x22;
    this.pos = pos;
  }

  /** The digits of a non-negative integer below 2^31. */
  private uint(v: number): void {
    let digits = 1;
    for (let x = v; x >= 10; x = (x / 10) | 0) digits++;
    const buf = this.buf;
    let at = this.pos + digits;
    this.pos = at;
    do {
      const q = (v / 10) | 0;
      buf[--at] = 48 + v - q * 10;
      v = q;
    } while (v > 0);
  }

  /**
   * A number as JSON.stringify writes it: String(n) when finite, else null. The engine rounds most outputs to 2–4
   * decimals, and V8's shortest round-trip conversion of a fresh double costs several times the arithmetic below:
   * a value that is exactly m / 10^k for an integer m and k ≤ 4 (in a range where decimals of that length are far
   * apart compared with the spacing of doubles) is written from m. That is String(n) by its definition: the decimal
   * m·10^-k rounds to n, none with fewer digits does (it would have been found at a smaller k), and no other with k
   * decimals does. Anything else goes through String(n).
   */
  private num(n: number): void {
    this.room(32);
    if (n === (n | 0) && n !== -2147483648) {
      // int32 (but -2^31, whose magnitude is not one), and -0 (written as 0, as String does)
      if (n < 0) {
        this.buf[this.pos++] = 0x2d;
        this.uint(-n);
      } else this.uint(n | 0);
      return;
    }
    const a = n < 0 ? -n : n;
    if (a < 1e9 && a >= 1e-4) {
      for (let k = 1; k <= 4; k++) {
        const p = POW10[k]!;
        const m = Math.round(a * p);
        if (m / p === a) {
          const ip = Math.floor(m / p);
          let frac = m - ip * p;
          if (n < 0) this.buf[this.pos++] = 0x2d;
          this.uint(ip);
          const buf = this.buf;
          buf[this.pos++] = 0x2e;
          const end = this.pos + k;
          for (let at = end - 1; at >= this.pos; at--) {
            const q = (frac / 10) | 0;
            buf[at] = 48 + frac - q * 10;
            frac = q;
          }
          this.pos = end;
          return;
        }
      }
    }
    if (!Number.isFinite(n)) {
      this.lit(K.null);
      return;
    }
    const s = '' + n;
    const buf = this.buf;
    let pos = this.pos;
    for (let i = 0; i < s.length; i++) buf[pos++] = s.charCodeAt(i);
    this.pos = pos;
  }

  private numOrNull(n: number | null): void {
    if (n === null) this.lit(K.null);
    else this.num(n);
  }
}

/** The bytes of JSON.stringify(p) + "\n" (a fresh copy; for many payloads reuse one PayloadJsonWriter). */
export function payloadJsonLine(p: LevelPhysicsPayload): Uint8Array {
  const w = new PayloadJsonWriter(4096);
  w.payload(p);
  return w.bytes().slice();
}
