// Decoded DBN records: plain objects with Databento's own field names, the RecordHeader flattened in.
// 64-bit fields are bigint (prices stay fixed-point 1e-9: use priceToFloat for a float view), c_char fields are
// one-character strings. Records of rtypes without a layout here are kept as raw bytes so nothing is lost.
import { DbnError } from './errors';
import { compiledDecoder } from './compiled';
import { BidAskPair, DbnVersion, FieldValue, HEADER_LEN, Layout, layoutFor, writeFields } from './layout';
import { RTYPE } from './enums';

export type { BidAskPair } from './layout';

export interface RecordHeaderFields {
  rtype: number;
  publisher_id: number;
  instrument_id: number;
  ts_event: bigint;
  /** Gateway send time, present only when the metadata's ts_out flag is set. */
  ts_out?: bigint;
}

interface MbpCommon extends RecordHeaderFields {
  price: bigint;
  size: number;
  action: string;
  side: string;
  flags: number;
  depth: number;
  ts_recv: bigint;
  ts_in_delta: number;
  sequence: number;
}

/** rtype 0x00 (trades schema). */
export interface TradeMsg extends MbpCommon { kind: 'trade' }
/** rtype 0x01 (mbp-1 and tbbo schemas). */
export interface Mbp1Msg extends MbpCommon { kind: 'mbp1'; levels: BidAskPair[] }
/** rtype 0x0A (mbp-10 schema): the top-10 book after the event. */
export interface Mbp10Msg extends MbpCommon { kind: 'mbp10'; levels: BidAskPair[] }

export interface MboMsg extends RecordHeaderFields {
  kind: 'mbo';
  order_id: bigint;
  price: bigint;
  size: number;
  flags: number;
  channel_id: number;
  action: string;
  side: string;
  ts_recv: bigint;
  ts_in_delta: number;
  sequence: number;
}

export interface OhlcvMsg extends RecordHeaderFields { kind: 'ohlcv'; open: bigint; high: bigint; low: bigint; close: bigint; volume: bigint }
export interface ErrorMsg extends RecordHeaderFields { kind: 'error'; err: string; code?: number; is_last?: number }
export interface SystemMsg extends RecordHeaderFields { kind: 'system'; msg: string; code?: number }
export interface SymbolMappingMsg extends RecordHeaderFields {
  kind: 'symbol_mapping';
  /** v2+ only */
  stype_in?: number;
  stype_in_symbol: string;
  /** v2+ only */
  stype_out?: number;
  stype_out_symbol: string;
  start_ts: bigint;
  end_ts: bigint;
}

/** Records whose many fields are version-dependent (definition, status, imbalance, statistics). */
export interface GenericMsg extends RecordHeaderFields {
  kind: 'definition' | 'status' | 'imbalance' | 'statistics';
  [field: string]: FieldValue | bigint | undefined | string | number;
}

/** An rtype this codec has no layout for: skipped by its length, bytes kept for lossless re-encoding. */
export interface UnknownMsg extends RecordHeaderFields { kind: 'unknown'; raw: Uint8Array }

export type DbnRecord = TradeMsg | Mbp1Msg | Mbp10Msg | MboMsg | OhlcvMsg | ErrorMsg | SystemMsg | SymbolMappingMsg | GenericMsg | UnknownMsg;

/**
 * Decodes one record whose header starts at `base` in `buf` (the whole record, `length` bytes, is present).
 * `offset` is the record's absolute position in the stream, used in errors.
 */
export function decodeRecord(buf: Uint8Array, dv: DataView, base: number, length: number, version: DbnVersion, tsOut: boolean, offset: number): DbnRecord {
  const rtype = buf[base + 1]!;
  const layout = layoutFor(rtype, version);
  const bodyLen = tsOut ? length - 8 : length;
  if (!layout) {
    const rec: UnknownMsg = {
      kind: 'unknown',
      rtype,
      publisher_id: dv.getUint16(base + 2, true),
      instrument_id: dv.getUint32(base + 4, true),
      ts_event: dv.getBigUint64(base + 8, true),
      raw: Uint8Array.prototype.slice.call(buf, base, base + bodyLen),
    };
    if (tsOut) rec.ts_out = dv.getBigUint64(base + bodyLen, true);
    return rec;
  }
  if (bodyLen < layout.size) throw shortRecord(rtype, layout, version, tsOut, length, offset);
  // Straight-line code per (layout, ts_out), generated from the layout (compiled.ts); same keys and values as readFields.
  return compiledDecoder(layout, tsOut)(buf, dv, base, bodyLen) as unknown as DbnRecord;
}

/** The BAD_RECORD error of a record shorter than its rtype's layout. */
export function shortRecord(rtype: number, layout: Layout, version: DbnVersion, tsOut: boolean, length: number, offset: number): DbnError {
  return new DbnError(
    'BAD_RECORD',
    offset,
    `rtype 0x${rtype.toString(16).padStart(2, '0')} (${layout.kind}, DBN v${version}) needs ${layout.size}${tsOut ? '+8 (ts_out)' : ''} bytes but its header says length ${length}`,
  );
}

const KIND_RTYPES: Record<string, readonly number[]> = {
  trade: [RTYPE.MBP_0], mbp1: [RTYPE.MBP_1], mbp10: [RTYPE.MBP_10], mbo: [RTYPE.MBO],
  ohlcv: [RTYPE.OHLCV_DEPRECATED, RTYPE.OHLCV_1S, RTYPE.OHLCV_1M, RTYPE.OHLCV_1H, RTYPE.OHLCV_1D, RTYPE.OHLCV_EOD],
  status: [RTYPE.STATUS], definition: [RTYPE.INSTRUMENT_DEF], imbalance: [RTYPE.IMBALANCE], error: [RTYPE.ERROR],
  symbol_mapping: [RTYPE.SYMBOL_MAPPING], system: [RTYPE.SYSTEM], statistics: [RTYPE.STATISTICS],
};

/** Encoded size of `rec` in DBN `version` (header included, ts_out included when `tsOut`). */
export function encodedRecordLength(rec: DbnRecord, version: DbnVersion, tsOut: boolean): number {
  const body = rec.kind === 'unknown' ? rec.raw.length : layoutOf(rec, version).size;
  return body + (tsOut ? 8 : 0);
}

function layoutOf(rec: DbnRecord, version: DbnVersion): Layout {
  const allowed = KIND_RTYPES[rec.kind];
  if (!allowed || !allowed.includes(rec.rtype)) {
    throw new DbnError('ENCODE', 0, `record kind '${rec.kind}' cannot carry rtype 0x${rec.rtype.toString(16)}`);
  }
  return layoutFor(rec.rtype, version)!;
}

/** Writes `rec` at `base` of a zero-filled `buf`; returns the bytes written. */
export function encodeRecordInto(rec: DbnRecord, version: DbnVersion, tsOut: boolean, buf: Uint8Array, dv: DataView, base: number): number {
  let body: number;
  if (rec.kind === 'unknown') {
    if (rec.raw.length < HEADER_LEN || rec.raw.length % 4 !== 0) {
      throw new DbnError('ENCODE', 0, `unknown record raw bytes must be a multiple of 4 and at least ${HEADER_LEN}, got ${rec.raw.length}`);
    }
    buf.set(rec.raw, base);
    body = rec.raw.length;
  } else {
    const layout = layoutOf(rec, version);
    writeFields(layout, buf, dv, base, rec as unknown as Record<string, unknown>);
    body = layout.size;
  }
  const length = body + (tsOut ? 8 : 0);
  if (length / 4 > 0xff) throw new DbnError('ENCODE', 0, `record of ${length} bytes exceeds the DBN maximum of 1020`);
  dv.setUint8(base, length / 4);
  dv.setUint8(base + 1, rec.rtype);
  dv.setUint16(base + 2, rec.publisher_id, true);
  dv.setUint32(base + 4, rec.instrument_id, true);
  dv.setBigUint64(base + 8, rec.ts_event, true);
  if (tsOut) {
    if (rec.ts_out === undefined) throw new DbnError('ENCODE', 0, `metadata.ts_out is set but a ${rec.kind} record has no ts_out`);
    dv.setBigUint64(base + body, rec.ts_out, true);
  }
  return length;
}

/** One record as bytes. */
export function encodeRecord(rec: DbnRecord, version: DbnVersion = 3, tsOut = false): Uint8Array {
  const out = new Uint8Array(encodedRecordLength(rec, version, tsOut));
  encodeRecordInto(rec, version, tsOut, out, new DataView(out.buffer), 0);
  return out;
}
