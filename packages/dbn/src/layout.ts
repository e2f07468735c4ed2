// Record layouts as data: each DBN record is a packed little-endian C struct. Describing each struct once as a
// field list lets one generic reader/writer handle every rtype and DBN version, and lets the tests check every
// layout's size against the sizes Databento's reference implementation asserts (e.g. MBP-10 = 368 bytes).
import { DbnError } from './errors';

export type Scalar = 'u8' | 'i8' | 'u16' | 'i16' | 'u32' | 'i32' | 'u64' | 'i64' | 'char';
/** [name, scalar] | [name, 'cstr', len] (fixed-length NUL-padded ASCII) | [name, 'pad', len] (reserved, written as 0) | [name, 'levels', n] (BidAskPair[n]) */
export type FieldSpec = readonly [string, Scalar] | readonly [string, 'cstr' | 'pad' | 'levels', number];

export const HEADER_LEN = 16;
export const BID_ASK_PAIR_LEN = 32;

interface CompiledField {
  name: string;
  kind: Scalar | 'cstr' | 'pad' | 'levels';
  offset: number;
  n: number;
}

export interface Layout {
  /** Record kind (discriminant of DbnRecord). */
  kind: string;
  /** Struct size in bytes, header included, ts_out excluded. */
  size: number;
  fields: readonly CompiledField[];
}

const SCALAR_SIZE: Record<Scalar, number> = { u8: 1, i8: 1, char: 1, u16: 2, i16: 2, u32: 4, i32: 4, u64: 8, i64: 8 };

/** Lays out fields after the 16-byte header with C alignment rules (DBN structs are repr(C)). */
export function compileLayout(kind: string, specs: readonly FieldSpec[]): Layout {
  let off = HEADER_LEN;
  const fields: CompiledField[] = [];
  for (const spec of specs) {
    const [name, kind2] = spec;
    const n = spec.length === 3 ? spec[2] : 1;
    let size: number;
    let align: number;
    if (kind2 === 'cstr' || kind2 === 'pad') {
      size = n;
      align = 1;
    } else if (kind2 === 'levels') {
      size = n * BID_ASK_PAIR_LEN;
      align = 8;
    } else {
      size = SCALAR_SIZE[kind2];
      align = size;
    }
    off = Math.ceil(off / align) * align;
    fields.push({ name, kind: kind2, offset: off, n });
    off += size;
  }
  return { kind, size: Math.ceil(off / 8) * 8, fields };
}

export interface BidAskPair {
  bid_px: bigint;
  ask_px: bigint;
  bid_sz: number;
  ask_sz: number;
  bid_ct: number;
  ask_ct: number;
}

export type FieldValue = number | bigint | string | BidAskPair[] | Uint8Array;

function readCstr(buf: Uint8Array, off: number, len: number): string {
  let end = off;
  const stop = off + len;
  while (end < stop && buf[end] !== 0) end++;
  return Buffer.from(buf.buffer, buf.byteOffset + off, end - off).toString('latin1');
}

/** Reads the fields of `layout` from `buf` at `base` into `out`. The caller has checked bounds. */
export function readFields(layout: Layout, buf: Uint8Array, dv: DataView, base: number, out: Record<string, FieldValue>): void {
  for (const f of layout.fields) {
    const o = base + f.offset;
    switch (f.kind) {
      case 'u8': out[f.name] = dv.getUint8(o); break;
      case 'i8': out[f.name] = dv.getInt8(o); break;
      case 'u16': out[f.name] = dv.getUint16(o, true); break;
      case 'i16': out[f.name] = dv.getInt16(o, true); break;
      case 'u32': out[f.name] = dv.getUint32(o, true); break;
      case 'i32': out[f.name] = dv.getInt32(o, true); break;
      case 'u64': out[f.name] = dv.getBigUint64(o, true); break;
      case 'i64': out[f.name] = dv.getBigInt64(o, true); break;
      case 'char': out[f.name] = String.fromCharCode(dv.getUint8(o)); break;
      case 'cstr': out[f.name] = readCstr(buf, o, f.n); break;
      case 'pad': {
        // Reserved bytes are normally zero; older files put data there (v1 definitions carry 0xFF in
        // _reserved2), so non-zero reserved bytes are kept to re-encode such files byte for byte.
        for (let i = 0; i < f.n; i++) {
          if (buf[o + i] !== 0) {
            out[f.name] = Uint8Array.prototype.slice.call(buf, o, o + f.n);
            break;
          }
        }
        break;
      }
      case 'levels': {
        const levels: BidAskPair[] = new Array(f.n);
        for (let i = 0; i < f.n; i++) {
          const p = o + i * BID_ASK_PAIR_LEN;
          levels[i] = {
            bid_px: dv.getBigInt64(p, true),
            ask_px: dv.getBigInt64(p + 8, true),
            bid_sz: dv.getUint32(p + 16, true),
            ask_sz: dv.getUint32(p + 20, true),
            bid_ct: dv.getUint32(p + 24, true),
            ask_ct: dv.getUint32(p + 28, true),
          };
        }
        out[f.name] = levels;
        break;
      }
    }
  }
}

const INT_RANGE: Record<'u8' | 'i8' | 'u16' | 'i16' | 'u32' | 'i32', [number, number]> = {
  u8: [0, 0xff], i8: [-0x80, 0x7f], u16: [0, 0xffff], i16: [-0x8000, 0x7fff], u32: [0, 0xffffffff], i32: [-0x80000000, 0x7fffffff],
};

function num(layout: Layout, f: CompiledField, v: unknown): number {
  const [lo, hi] = INT_RANGE[f.kind as keyof typeof INT_RANGE];
  const x = v === undefined ? 0 : v;
  if (typeof x !== 'number' || !Number.isInteger(x) || x < lo || x > hi) {
    throw new DbnError('ENCODE', 0, `${layout.kind}.${f.name} must be an integer in [${lo}, ${hi}] (${f.kind}), got ${String(v)}`);
  }
  return x;
}

function big(layout: Layout, name: string, kind: 'u64' | 'i64', v: unknown): bigint {
  const x = v === undefined ? 0n : v;
  if (typeof x !== 'bigint') throw new DbnError('ENCODE', 0, `${layout.kind}.${name} must be a bigint (${kind}), got ${typeof v}`);
  if (kind === 'u64' ? x < 0n || x > 0xffffffffffffffffn : x < -0x8000000000000000n || x > 0x7fffffffffffffffn) {
    throw new DbnError('ENCODE', 0, `${layout.kind}.${name} out of ${kind} range: ${x}`);
  }
  return x;
}

/** Writes the fields of `layout` from `rec` into `buf` at `base` (which must be zero-filled: reserved bytes stay 0). */
export function writeFields(layout: Layout, buf: Uint8Array, dv: DataView, base: number, rec: Record<string, unknown>): void {
  for (const f of layout.fields) {
    const o = base + f.offset;
    const v = rec[f.name];
    switch (f.kind) {
      case 'u8': dv.setUint8(o, num(layout, f, v)); break;
      case 'i8': dv.setInt8(o, num(layout, f, v)); break;
      case 'u16': dv.setUint16(o, num(layout, f, v), true); break;
      case 'i16': dv.setInt16(o, num(layout, f, v), true); break;
      case 'u32': dv.setUint32(o, num(layout, f, v), true); break;
      case 'i32': dv.setInt32(o, num(layout, f, v), true); break;
      case 'u64': dv.setBigUint64(o, big(layout, f.name, 'u64', v), true); break;
      case 'i64': dv.setBigInt64(o, big(layout, f.name, 'i64', v), true); break;
      case 'char': {
        const s = v === undefined ? '\0' : v;
        if (typeof s !== 'string' || s.length !== 1 || s.charCodeAt(0) > 0xff) {
          throw new DbnError('ENCODE', 0, `${layout.kind}.${f.name} must be a one-character string, got ${JSON.stringify(v)}`);
        }
        dv.setUint8(o, s.charCodeAt(0));
        break;
      }
      case 'cstr': {
        const s = v === undefined ? '' : v;
        if (typeof s !== 'string' || !/^[\x01-\x7f]*$/.test(s) || s.length > f.n) {
          throw new DbnError('ENCODE', 0, `${layout.kind}.${f.name} must be ASCII of at most ${f.n} characters, got ${JSON.stringify(v)}`);
        }
        buf.set(Buffer.from(s, 'latin1'), o);
        break;
      }
      case 'pad':
        if (v instanceof Uint8Array && v.length === f.n) buf.set(v, o);
        else if (v !== undefined) throw new DbnError('ENCODE', 0, `${layout.kind}.${f.name} (reserved) must be ${f.n} bytes`);
        break;
      case 'levels': {
        const levels = (v ?? []) as BidAskPair[];
        if (!Array.isArray(levels) || levels.length > f.n) {
          throw new DbnError('ENCODE', 0, `${layout.kind}.${f.name} must be an array of at most ${f.n} BidAskPair`);
        }
        for (let i = 0; i < levels.length; i++) {
          const p = o + i * BID_ASK_PAIR_LEN;
          const l = levels[i]!;
          dv.setBigInt64(p, big(layout, `${f.name}[${i}].bid_px`, 'i64', l.bid_px), true);
          dv.setBigInt64(p + 8, big(layout, `${f.name}[${i}].ask_px`, 'i64', l.ask_px), true);
          dv.setUint32(p + 16, num(layout, { ...f, kind: 'u32', name: `${f.name}[${i}].bid_sz` }, l.bid_sz), true);
          dv.setUint32(p + 20, num(layout, { ...f, kind: 'u32', name: `${f.name}[${i}].ask_sz` }, l.ask_sz), true);
          dv.setUint32(p + 24, num(layout, { ...f, kind: 'u32', name: `${f.name}[${i}].bid_ct` }, l.bid_ct), true);
          dv.setUint32(p + 28, num(layout, { ...f, kind: 'u32', name: `${f.name}[${i}].ask_ct` }, l.ask_ct), true);
        }
        break;
      }
    }
  }
}

// ---- The layouts (field order and widths per Databento's DBN v1/v2/v3 specification) ----

const MBP_COMMON: FieldSpec[] = [
  ['price', 'i64'], ['size', 'u32'], ['action', 'char'], ['side', 'char'], ['flags', 'u8'], ['depth', 'u8'],
  ['ts_recv', 'u64'], ['ts_in_delta', 'i32'], ['sequence', 'u32'],
];

export const TRADE = compileLayout('trade', MBP_COMMON);
export const MBP1 = compileLayout('mbp1', [...MBP_COMMON, ['levels', 'levels', 1]]);
export const MBP10 = compileLayout('mbp10', [...MBP_COMMON, ['levels', 'levels', 10]]);
export const MBO = compileLayout('mbo', [
  ['order_id', 'u64'], ['price', 'i64'], ['size', 'u32'], ['flags', 'u8'], ['channel_id', 'u8'], ['action', 'char'], ['side', 'char'],
  ['ts_recv', 'u64'], ['ts_in_delta', 'i32'], ['sequence', 'u32'],
]);
export const OHLCV = compileLayout('ohlcv', [['open', 'i64'], ['high', 'i64'], ['low', 'i64'], ['close', 'i64'], ['volume', 'u64']]);
export const STATUS = compileLayout('status', [
  ['ts_recv', 'u64'], ['action', 'u16'], ['reason', 'u16'], ['trading_event', 'u16'], ['is_trading', 'char'], ['is_quoting', 'char'],
  ['is_short_sell_restricted', 'char'], ['_reserved', 'pad', 7],
]);
export const IMBALANCE = compileLayout('imbalance', [
  ['ts_recv', 'u64'], ['ref_price', 'i64'], ['auction_time', 'u64'], ['cont_book_clr_price', 'i64'], ['auct_interest_clr_price', 'i64'],
  ['ssr_filling_price', 'i64'], ['ind_match_price', 'i64'], ['upper_collar', 'i64'], ['lower_collar', 'i64'], ['paired_qty', 'u32'],
  ['total_imbalance_qty', 'u32'], ['market_imbalance_qty', 'u32'], ['unpaired_qty', 'u32'], ['auction_type', 'char'], ['side', 'char'],
  ['auction_status', 'u8'], ['freeze_status', 'u8'], ['num_extensions', 'u8'], ['unpaired_side', 'char'], ['significant_imbalance', 'char'],
  ['_reserved', 'pad', 1],
]);
const STAT_V1: FieldSpec[] = [
  ['ts_recv', 'u64'], ['ts_ref', 'u64'], ['price', 'i64'], ['quantity', 'i32'], ['sequence', 'u32'], ['ts_in_delta', 'i32'],
  ['stat_type', 'u16'], ['channel_id', 'u16'], ['update_action', 'u8'], ['stat_flags', 'u8'], ['_reserved', 'pad', 6],
];
const STAT_V3: FieldSpec[] = [
  ['ts_recv', 'u64'], ['ts_ref', 'u64'], ['price', 'i64'], ['quantity', 'i64'], ['sequence', 'u32'], ['ts_in_delta', 'i32'],
  ['stat_type', 'u16'], ['channel_id', 'u16'], ['update_action', 'u8'], ['stat_flags', 'u8'], ['_reserved', 'pad', 18],
];
export const STAT = { 1: compileLayout('statistics', STAT_V1), 2: compileLayout('statistics', STAT_V1), 3: compileLayout('statistics', STAT_V3) };

const ERROR_V1 = compileLayout('error', [['err', 'cstr', 64]]);
const ERROR_V2 = compileLayout('error', [['err', 'cstr', 302], ['code', 'u8'], ['is_last', 'u8']]);
export const ERROR = { 1: ERROR_V1, 2: ERROR_V2, 3: ERROR_V2 };

const SYSTEM_V1 = compileLayout('system', [['msg', 'cstr', 64]]);
const SYSTEM_V2 = compileLayout('system', [['msg', 'cstr', 303], ['code', 'u8']]);
export const SYSTEM = { 1: SYSTEM_V1, 2: SYSTEM_V2, 3: SYSTEM_V2 };

// v1 symbol mappings carry no stype fields and 22-byte symbols; v2 added stype_in/out and 71-byte symbols.
const SYMBOL_MAPPING_V1 = compileLayout('symbol_mapping', [
  ['stype_in_symbol', 'cstr', 22], ['stype_out_symbol', 'cstr', 22], ['_dummy', 'pad', 4], ['start_ts', 'u64'], ['end_ts', 'u64'],
]);
const SYMBOL_MAPPING_V2 = compileLayout('symbol_mapping', [
  ['stype_in', 'u8'], ['stype_in_symbol', 'cstr', 71], ['stype_out', 'u8'], ['stype_out_symbol', 'cstr', 71], ['start_ts', 'u64'], ['end_ts', 'u64'],
]);
export const SYMBOL_MAPPING = { 1: SYMBOL_MAPPING_V1, 2: SYMBOL_MAPPING_V2, 3: SYMBOL_MAPPING_V2 };

const DEF_HEAD: FieldSpec[] = [
  ['ts_recv', 'u64'], ['min_price_increment', 'i64'], ['display_factor', 'i64'], ['expiration', 'u64'], ['activation', 'u64'],
  ['high_limit_price', 'i64'], ['low_limit_price', 'i64'], ['max_price_variation', 'i64'],
];
const DEF_V1 = compileLayout('definition', [
  ...DEF_HEAD, ['trading_reference_price', 'i64'], ['unit_of_measure_qty', 'i64'], ['min_price_increment_amount', 'i64'],
  ['price_ratio', 'i64'], ['inst_attrib_value', 'i32'], ['underlying_id', 'u32'], ['raw_instrument_id', 'u32'],
  ['market_depth_implied', 'i32'], ['market_depth', 'i32'], ['market_segment_id', 'u32'], ['max_trade_vol', 'u32'],
  ['min_lot_size', 'i32'], ['min_lot_size_block', 'i32'], ['min_lot_size_round_lot', 'i32'], ['min_trade_vol', 'u32'],
  ['_reserved2', 'pad', 4], ['contract_multiplier', 'i32'], ['decay_quantity', 'i32'], ['original_contract_size', 'i32'],
  ['_reserved3', 'pad', 4], ['trading_reference_date', 'u16'], ['appl_id', 'i16'], ['maturity_year', 'u16'],
  ['decay_start_date', 'u16'], ['channel_id', 'u16'], ['currency', 'cstr', 4], ['settl_currency', 'cstr', 4],
  ['secsubtype', 'cstr', 6], ['raw_symbol', 'cstr', 22], ['group', 'cstr', 21], ['exchange', 'cstr', 5], ['asset', 'cstr', 7],
  ['cfi', 'cstr', 7], ['security_type', 'cstr', 7], ['unit_of_measure', 'cstr', 31], ['underlying', 'cstr', 21],
  ['strike_price_currency', 'cstr', 4], ['instrument_class', 'char'], ['_reserved4', 'pad', 2], ['strike_price', 'i64'],
  ['_reserved5', 'pad', 6], ['match_algorithm', 'char'], ['md_security_trading_status', 'u8'], ['main_fraction', 'u8'],
  ['price_display_format', 'u8'], ['settl_price_type', 'u8'], ['sub_fraction', 'u8'], ['underlying_product', 'u8'],
  ['security_update_action', 'char'], ['maturity_month', 'u8'], ['maturity_day', 'u8'], ['maturity_week', 'u8'],
  ['user_defined_instrument', 'char'], ['contract_multiplier_unit', 'i8'], ['flow_schedule_type', 'i8'], ['tick_rule', 'u8'],
  ['_dummy', 'pad', 3],
]);
const DEF_V2 = compileLayout('definition', [
  ...DEF_HEAD, ['trading_reference_price', 'i64'], ['unit_of_measure_qty', 'i64'], ['min_price_increment_amount', 'i64'],
  ['price_ratio', 'i64'], ['strike_price', 'i64'], ['inst_attrib_value', 'i32'], ['underlying_id', 'u32'],
  ['raw_instrument_id', 'u32'], ['market_depth_implied', 'i32'], ['market_depth', 'i32'], ['market_segment_id', 'u32'],
  ['max_trade_vol', 'u32'], ['min_lot_size', 'i32'], ['min_lot_size_block', 'i32'], ['min_lot_size_round_lot', 'i32'],
  ['min_trade_vol', 'u32'], ['contract_multiplier', 'i32'], ['decay_quantity', 'i32'], ['original_contract_size', 'i32'],
  ['trading_reference_date', 'u16'], ['appl_id', 'i16'], ['maturity_year', 'u16'], ['decay_start_date', 'u16'],
  ['channel_id', 'u16'], ['currency', 'cstr', 4], ['settl_currency', 'cstr', 4], ['secsubtype', 'cstr', 6],
  ['raw_symbol', 'cstr', 71], ['group', 'cstr', 21], ['exchange', 'cstr', 5], ['asset', 'cstr', 7], ['cfi', 'cstr', 7],
  ['security_type', 'cstr', 7], ['unit_of_measure', 'cstr', 31], ['underlying', 'cstr', 21], ['strike_price_currency', 'cstr', 4],
  ['instrument_class', 'char'], ['match_algorithm', 'char'], ['md_security_trading_status', 'u8'], ['main_fraction', 'u8'],
  ['price_display_format', 'u8'], ['settl_price_type', 'u8'], ['sub_fraction', 'u8'], ['underlying_product', 'u8'],
  ['security_update_action', 'char'], ['maturity_month', 'u8'], ['maturity_day', 'u8'], ['maturity_week', 'u8'],
  ['user_defined_instrument', 'char'], ['contract_multiplier_unit', 'i8'], ['flow_schedule_type', 'i8'], ['tick_rule', 'u8'],
  ['_reserved', 'pad', 10],
]);
const DEF_V3 = compileLayout('definition', [
  ...DEF_HEAD, ['unit_of_measure_qty', 'i64'], ['min_price_increment_amount', 'i64'], ['price_ratio', 'i64'],
  ['strike_price', 'i64'], ['raw_instrument_id', 'u64'], ['leg_price', 'i64'], ['leg_delta', 'i64'], ['inst_attrib_value', 'i32'],
  ['underlying_id', 'u32'], ['market_depth_implied', 'i32'], ['market_depth', 'i32'], ['market_segment_id', 'u32'],
  ['max_trade_vol', 'u32'], ['min_lot_size', 'i32'], ['min_lot_size_block', 'i32'], ['min_lot_size_round_lot', 'i32'],
  ['min_trade_vol', 'u32'], ['contract_multiplier', 'i32'], ['decay_quantity', 'i32'], ['original_contract_size', 'i32'],
  ['leg_instrument_id', 'u32'], ['leg_ratio_price_numerator', 'i32'], ['leg_ratio_price_denominator', 'i32'],
  ['leg_ratio_qty_numerator', 'i32'], ['leg_ratio_qty_denominator', 'i32'], ['leg_underlying_id', 'u32'], ['appl_id', 'i16'],
  ['maturity_year', 'u16'], ['decay_start_date', 'u16'], ['channel_id', 'u16'], ['leg_count', 'u16'], ['leg_index', 'u16'],
  ['currency', 'cstr', 4], ['settl_currency', 'cstr', 4], ['secsubtype', 'cstr', 6], ['raw_symbol', 'cstr', 71],
  ['group', 'cstr', 21], ['exchange', 'cstr', 5], ['asset', 'cstr', 11], ['cfi', 'cstr', 7], ['security_type', 'cstr', 7],
  ['unit_of_measure', 'cstr', 31], ['underlying', 'cstr', 21], ['strike_price_currency', 'cstr', 4], ['leg_raw_symbol', 'cstr', 71],
  ['instrument_class', 'char'], ['match_algorithm', 'char'], ['main_fraction', 'u8'], ['price_display_format', 'u8'],
  ['sub_fraction', 'u8'], ['underlying_product', 'u8'], ['security_update_action', 'char'], ['maturity_month', 'u8'],
  ['maturity_day', 'u8'], ['maturity_week', 'u8'], ['user_defined_instrument', 'char'], ['contract_multiplier_unit', 'i8'],
  ['flow_schedule_type', 'i8'], ['tick_rule', 'u8'], ['leg_instrument_class', 'char'], ['leg_side', 'char'], ['_reserved', 'pad', 17],
]);
export const DEFINITION = { 1: DEF_V1, 2: DEF_V2, 3: DEF_V3 };

export type DbnVersion = 1 | 2 | 3;

/** The layout of `rtype` in DBN `version`, or undefined for rtypes this codec skips (kept as raw bytes). */
export function layoutFor(rtype: number, version: DbnVersion): Layout | undefined {
  switch (rtype) {
    case 0x00: return TRADE;
    case 0x01: return MBP1;
    case 0x0a: return MBP10;
    case 0xa0: return MBO;
    case 0x11: case 0x20: case 0x21: case 0x22: case 0x23: case 0x24: return OHLCV;
    case 0x12: return STATUS;
    case 0x13: return DEFINITION[version];
    case 0x14: return IMBALANCE;
    case 0x15: return ERROR[version];
    case 0x16: return SYMBOL_MAPPING[version];
    case 0x17: return SYSTEM[version];
    case 0x18: return STAT[version];
    default: return undefined;
  }
}
