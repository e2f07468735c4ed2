// DBN enumerations (values from Databento's DBN specification, versions 1-3).

export const DBN_MAX_VERSION = 3;

/** Record type ids (RecordHeader.rtype). */
export const RTYPE = {
  MBP_0: 0x00, // trades schema
  MBP_1: 0x01, // mbp-1 and tbbo schemas share this layout and rtype
  MBP_10: 0x0a,
  OHLCV_DEPRECATED: 0x11,
  STATUS: 0x12,
  INSTRUMENT_DEF: 0x13,
  IMBALANCE: 0x14,
  ERROR: 0x15,
  SYMBOL_MAPPING: 0x16,
  SYSTEM: 0x17,
  STATISTICS: 0x18,
  OHLCV_1S: 0x20,
  OHLCV_1M: 0x21,
  OHLCV_1H: 0x22,
  OHLCV_1D: 0x23,
  OHLCV_EOD: 0x24,
  MBO: 0xa0,
} as const;

/** Schema ids as stored in the metadata header (u16; 0xFFFF = none, e.g. a mixed-schema live stream). */
export const SCHEMAS = [
  'mbo', 'mbp-1', 'mbp-10', 'tbbo', 'trades', 'ohlcv-1s', 'ohlcv-1m', 'ohlcv-1h', 'ohlcv-1d', 'definition', 'statistics',
  'status', 'imbalance', 'ohlcv-eod', 'cmbp-1', 'cbbo-1s', 'cbbo-1m', 'tcbbo', 'bbo-1s', 'bbo-1m',
] as const;
export type DbnSchema = (typeof SCHEMAS)[number];
export const NULL_SCHEMA = 0xffff;

/** Symbology types (u8; 0xFF = none for stype_in). Index = wire value. */
export const STYPES = [
  'instrument_id', 'raw_symbol', 'smart', 'continuous', 'parent', 'nasdaq_symbol', 'cms_symbol', 'isin', 'us_code',
  'bbg_comp_id', 'bbg_comp_ticker', 'figi', 'figi_ticker',
] as const;
export type DbnSType = (typeof STYPES)[number];
export const NULL_STYPE = 0xff;

/** Fixed-point price scale: prices are int64 in units of 1e-9. */
export const FIXED_PRICE_SCALE = 1_000_000_000n;
/** Undefined/absent price sentinel (i64::MAX), e.g. an empty book level. */
export const UNDEF_PRICE = 0x7fffffffffffffffn;
export const UNDEF_TIMESTAMP = 0xffffffffffffffffn;
/** v1 metadata's record_count is always written as u64::MAX ("unknown"). */
export const NULL_RECORD_COUNT = 0xffffffffffffffffn;

/** Record flags (bit field). */
export const FLAGS = { F_LAST: 0x80, F_TOB: 0x40, F_SNAPSHOT: 0x20, F_MBP: 0x10, F_BAD_TS_RECV: 0x08, F_MAYBE_BAD_BOOK: 0x04 } as const;

/** Float view of a fixed-point price; null for the undefined-price sentinel. */
export function priceToFloat(px: bigint): number | null {
  if (px === UNDEF_PRICE) return null;
  // Split integer and fractional parts so prices far above 2^53 nano-units keep their cents exactly.
  const whole = px / FIXED_PRICE_SCALE;
  const frac = px % FIXED_PRICE_SCALE;
  return Number(whole) + Number(frac) / 1e9;
}

/** Fixed-point price from a float (rounded to the nearest 1e-9); null/NaN → the undefined sentinel. */
export function floatToPrice(px: number | null): bigint {
  if (px === null || Number.isNaN(px)) return UNDEF_PRICE;
  const whole = Math.trunc(px);
  const frac = Math.round((px - whole) * 1e9);
  return BigInt(whole) * FIXED_PRICE_SCALE + BigInt(frac);
}
