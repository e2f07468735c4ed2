// JSON views of DBN metadata and records with Databento's field names. 64-bit integers become decimal strings
// (JSON numbers lose precision past 2^53, and Databento's own JSON encoder does the same), c_char fields stay
// one-character strings, the RecordHeader is flattened (rtype, publisher_id, instrument_id, ts_event first).
import { CompiledJsonBytes, compiledJson, compiledJsonBytes, maxJsonBytes } from './compiled';
import { DbnVersion, layoutFor } from './layout';
import { DbnMetadata } from './metadata';
import { DbnParser } from './parser';
import { DbnRecord, decodeRecord, shortRecord } from './records';

function jsonValue(v: unknown): unknown {
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Uint8Array) return Buffer.from(v).toString('hex');
  if (Array.isArray(v)) return v.map(jsonValue);
  if (v !== null && typeof v === 'object') {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) o[k] = jsonValue(x);
    return o;
  }
  return v;
}

export function metadataToJson(meta: DbnMetadata): Record<string, unknown> {
  return jsonValue(meta) as Record<string, unknown>;
}

/** Flat JSON object for one record; unknown rtypes show their raw bytes as hex under `raw`. */
export function recordToJson(rec: DbnRecord): Record<string, unknown> {
  const { kind: _kind, ...rest } = rec;
  return jsonValue(rest) as Record<string, unknown>;
}

/**
 * The JSON line of the record whose header is at `base` in `buf`, formatted straight from the bytes (no record
 * object, no BigInt): the same text as JSON.stringify(recordToJson(decodeRecord(...))). Unknown rtypes take that
 * generic path. Throws BAD_RECORD like decodeRecord for records shorter than their layout.
 */
export function recordJsonAt(buf: Uint8Array, dv: DataView, base: number, length: number, version: DbnVersion, tsOut: boolean, offset: number): string {
  const rtype = buf[base + 1]!;
  const layout = layoutFor(rtype, version);
  const bodyLen = tsOut ? length - 8 : length;
  if (!layout) return JSON.stringify(recordToJson(decodeRecord(buf, dv, base, length, version, tsOut, offset)));
  if (bodyLen < layout.size) throw shortRecord(rtype, layout, version, tsOut, length, offset);
  return compiledJson(layout, tsOut)(buf, dv, base, bodyLen);
}

/** recordJsonAt for the record the parser's nextRecord() last returned (errors labelled like the parser's own). */
export function currentRecordJson(parser: DbnParser, base: number): string {
  try {
    return recordJsonAt(parser.buf, parser.dv, base, parser.recordLength, parser.dbnVersion, parser.hasTsOut, parser.recordOffset);
  } catch (e) {
    return parser.raise(e);
  }
}

/**
 * JSON lines as UTF-8 bytes, formatted straight from the parser's record views into a buffer that is handed out
 * whole when full (`dump --json`): the same bytes as writing `JSON.stringify(recordToJson(rec)) + '\n'` per record.
 */
export class JsonLinesBuffer {
  private out: Buffer;
  private pos = 0;

  constructor(private readonly size = 1 << 20) {
    this.out = Buffer.allocUnsafe(size);
  }

  /** Bytes waiting in the buffer. */
  get length(): number {
    return this.pos;
  }

  /** Per-rtype formatters for the current (version, ts_out): an array lookup instead of layout + map lookups. */
  private fmts: (CompiledJsonBytes | null | undefined)[] = new Array(256);
  private sizes: number[] = new Array(256).fill(0);
  private mins: number[] = new Array(256).fill(0);
  private fmtKey = -1;

  /** Appends the JSON line of the record the parser's nextRecord() returned at `b`. */
  appendRecord(parser: DbnParser, b: number): void {
    const buf = parser.buf;
    const tsOut = parser.hasTsOut;
    const key = parser.dbnVersion * 2 + (tsOut ? 1 : 0);
    if (key !== this.fmtKey) {
      this.fmts = new Array(256);
      this.fmtKey = key;
    }
    const rtype = buf[b + 1]!;
    let fmt = this.fmts[rtype];
    if (fmt === undefined) {
      const layout = layoutFor(rtype, parser.dbnVersion);
      fmt = layout ? compiledJsonBytes(layout, tsOut) : null;
      this.fmts[rtype] = fmt;
      if (layout) {
        this.sizes[rtype] = maxJsonBytes(layout) + 1;
        this.mins[rtype] = layout.size + (tsOut ? 8 : 0);
      }
    }
    if (fmt === null) return this.appendLine(currentRecordJson(parser, b));
    const length = parser.recordLength;
    if (length < this.mins[rtype]!) {
      const layout = layoutFor(rtype, parser.dbnVersion)!;
      parser.raise(shortRecord(rtype, layout, parser.dbnVersion, tsOut, length, parser.recordOffset));
    }
    if (this.pos + this.sizes[rtype]! > this.out.length) this.reserve(this.sizes[rtype]!);
    const p = fmt(buf, parser.dv, b, tsOut ? length - 8 : length, this.out, this.pos);
    this.out[p] = 10;
    this.pos = p + 1;
  }

  /** Appends `s` and a newline. */
  appendLine(s: string): void {
    this.reserve(Buffer.byteLength(s) + 1);
    this.pos += this.out.write(s, this.pos, 'utf8');
    this.out[this.pos++] = 10;
  }

  /** True when the next take() is worth a write. */
  get full(): boolean {
    return this.pos >= this.size >> 1;
  }

  /** The bytes so far (the caller owns them; the buffer starts anew). */
  take(): Buffer {
    const bytes = this.out.subarray(0, this.pos);
    this.out = Buffer.allocUnsafe(Math.max(this.size, this.out.length));
    this.pos = 0;
    return bytes;
  }

  private reserve(n: number): void {
    if (this.pos + n <= this.out.length) return;
    // Only reached when a caller appends without taking: grow, keeping the bytes.
    const grown = Buffer.allocUnsafe(Math.max(this.out.length * 2, this.pos + n));
    this.out.copy(grown, 0, 0, this.pos);
    this.out = grown;
  }
}

/** One-line readable form for the non-JSON dump: header, then the event, then the top of book when present. */
export function recordToText(rec: DbnRecord): string {
  const head = `${rec.ts_event} rtype=0x${rec.rtype.toString(16).padStart(2, '0')} pub=${rec.publisher_id} iid=${rec.instrument_id}`;
  const tail = rec.ts_out === undefined ? '' : ` ts_out=${rec.ts_out}`;
  const px = (p: bigint) => (p === 0x7fffffffffffffffn ? '-' : (Number(p) / 1e9).toFixed(2));
  switch (rec.kind) {
    case 'trade':
    case 'mbp1':
    case 'mbp10': {
      let s = `${head} ${rec.kind} ${rec.action}/${rec.side} ${rec.size}@${px(rec.price)} flags=0x${rec.flags.toString(16)} seq=${rec.sequence}`;
      if (rec.kind !== 'trade') {
        const l = rec.levels[0]!;
        s += ` | ${l.bid_sz}@${px(l.bid_px)} x ${l.ask_sz}@${px(l.ask_px)}`;
        if (rec.levels.length > 1) s += ` (+${rec.levels.length - 1} levels)`;
      }
      return s + tail;
    }
    default:
      return `${head} ${rec.kind} ${JSON.stringify(recordToJson(rec))}`;
  }
}
