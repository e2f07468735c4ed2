// DBN metadata header, versions 1-3.
//
//   "DBN" u8 version | u32 length (bytes after these 8) | fixed part (100 bytes) | variable part
//   fixed: dataset cstr[16] | schema u16 | start u64 | end u64 | limit u64 | (v1: record_count u64) |
//          stype_in u8 | stype_out u8 | ts_out u8 | (v2+: symbol_cstr_len u16) | reserved (v1: 47, v2+: 53)
//   variable: schema_definition_length u32 (always 0) | symbols | partial | not_found (each u32 count + cstr[]) |
//             mappings: u32 count, each { raw_symbol cstr | u32 n | n × { start u32 YYYYMMDD | end u32 | symbol cstr } }
//   v3 pads the whole header to a multiple of 8 bytes so records stay 8-byte aligned; v1/v2 do not.
import { DbnError } from './errors';
import { DBN_MAX_VERSION, DbnSchema, DbnSType, NULL_RECORD_COUNT, NULL_SCHEMA, NULL_STYPE, SCHEMAS, STYPES, UNDEF_TIMESTAMP } from './enums';
import { DbnVersion } from './layout';

export interface MappingInterval {
  /** YYYY-MM-DD, inclusive */
  start_date: string;
  /** YYYY-MM-DD, exclusive */
  end_date: string;
  /** The symbol it maps to over the interval (for stype_out instrument_id: the instrument id as text). */
  symbol: string;
}

export interface SymbolMapping {
  raw_symbol: string;
  intervals: MappingInterval[];
}

export interface DbnMetadata {
  version: DbnVersion;
  dataset: string;
  schema: DbnSchema | null;
  /** ns since epoch */
  start: bigint;
  /** ns since epoch; null when unset (u64::MAX) */
  end: bigint | null;
  /** null when unset (0) */
  limit: bigint | null;
  stype_in: DbnSType | null;
  stype_out: DbnSType;
  ts_out: boolean;
  /** 22 in v1, 71 in v2/v3 */
  symbol_cstr_len: number;
  symbols: string[];
  partial: string[];
  not_found: string[];
  mappings: SymbolMapping[];
}

export const DBN_PRELUDE_LEN = 8;
/** Fixed part after the prelude (dataset .. reserved), excluding schema_definition_length. */
export const METADATA_FIXED_LEN = 100;
const DATASET_CSTR_LEN = 16;

export function symbolCstrLenFor(version: DbnVersion): number {
  return version === 1 ? 22 : 71;
}

/** Throws unless `version` is one this codec reads; `offset` is where the version byte sits. */
export function checkVersion(version: number, offset: number): DbnVersion {
  if (version < 1 || version > DBN_MAX_VERSION) {
    throw new DbnError(
      'UNSUPPORTED_VERSION',
      offset,
      `DBN version ${version} is not supported (this decoder reads versions 1 to ${DBN_MAX_VERSION})`,
    );
  }
  return version as DbnVersion;
}

function dateFromInt(v: number, offset: number): string {
  const y = Math.floor(v / 10000);
  const m = Math.floor(v / 100) % 100;
  const d = v % 100;
  if (m < 1 || m > 12 || d < 1 || d > 31) throw new DbnError('BAD_METADATA', offset, `invalid mapping date ${v} (expected YYYYMMDD)`);
  return `${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
}

function dateToInt(s: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
  if (!m) throw new DbnError('ENCODE', 0, `mapping date must be YYYY-MM-DD, got ${JSON.stringify(s)}`);
  return Number(m[1]) * 10000 + Number(m[2]) * 100 + Number(m[3]);
}

/**
 * Decodes the metadata body (the `length` bytes after the 8-byte prelude). `base` is the absolute offset of
 * `body[0]` in the stream, so errors name file offsets.
 */
export function decodeMetadataBody(version: DbnVersion, body: Uint8Array, base: number): DbnMetadata {
  const dv = new DataView(body.buffer, body.byteOffset, body.byteLength);
  if (body.length < METADATA_FIXED_LEN + 4) {
    throw new DbnError('BAD_METADATA', base - 4, `metadata length ${body.length} is shorter than the fixed ${METADATA_FIXED_LEN + 4} bytes`);
  }
  let pos = 0;
  const cstr = (len: number): string => {
    let end = pos;
    while (end < pos + len && body[end] !== 0) end++;
    const s = Buffer.from(body.buffer, body.byteOffset + pos, end - pos).toString('latin1');
    pos += len;
    return s;
  };
  const dataset = cstr(DATASET_CSTR_LEN);
  const rawSchema = dv.getUint16(pos, true);
  if (rawSchema !== NULL_SCHEMA && rawSchema >= SCHEMAS.length) throw new DbnError('BAD_METADATA', base + pos, `unknown schema id ${rawSchema}`);
  const schema = rawSchema === NULL_SCHEMA ? null : SCHEMAS[rawSchema]!;
  pos += 2;
  const start = dv.getBigUint64(pos, true);
  const endRaw = dv.getBigUint64(pos + 8, true);
  const limitRaw = dv.getBigUint64(pos + 16, true);
  pos += 24;
  if (version === 1) pos += 8; // record_count: deprecated, always u64::MAX
  const stypeInRaw = body[pos]!;
  if (stypeInRaw !== NULL_STYPE && stypeInRaw >= STYPES.length) throw new DbnError('BAD_METADATA', base + pos, `unknown stype_in ${stypeInRaw}`);
  const stypeOutRaw = body[pos + 1]!;
  if (stypeOutRaw >= STYPES.length) throw new DbnError('BAD_METADATA', base + pos + 1, `unknown stype_out ${stypeOutRaw}`);
  const tsOut = body[pos + 2] !== 0;
  pos += 3;
  let symbolCstrLen = 22;
  if (version > 1) {
    symbolCstrLen = dv.getUint16(pos, true);
    if (symbolCstrLen === 0) throw new DbnError('BAD_METADATA', base + pos, 'symbol_cstr_len is 0');
    pos += 2;
    pos += 53;
  } else {
    pos += 47;
  }
  const schemaDefLen = dv.getUint32(pos, true);
  if (schemaDefLen !== 0) throw new DbnError('BAD_METADATA', base + pos, `schema_definition_length ${schemaDefLen} is not supported (must be 0)`);
  pos += 4;

  const need = (n: number, what: string) => {
    if (pos + n > body.length) {
      throw new DbnError('BAD_METADATA', base + pos, `metadata ends inside ${what}: needs ${n} bytes, ${body.length - pos} remain`);
    }
  };
  const repeated = (what: string): string[] => {
    need(4, `${what} count`);
    const count = dv.getUint32(pos, true);
    pos += 4;
    need(count * symbolCstrLen, `${what} (${count} × ${symbolCstrLen})`);
    const out: string[] = [];
    for (let i = 0; i < count; i++) out.push(cstr(symbolCstrLen));
    return out;
  };
  const symbols = repeated('symbols');
  const partial = repeated('partial');
  const notFound = repeated('not_found');
  need(4, 'mappings count');
  const mappingCount = dv.getUint32(pos, true);
  pos += 4;
  const mappings: SymbolMapping[] = [];
  for (let i = 0; i < mappingCount; i++) {
    need(symbolCstrLen + 4, `symbol mapping ${i}`);
    const raw_symbol = cstr(symbolCstrLen);
    const n = dv.getUint32(pos, true);
    pos += 4;
    need(n * (8 + symbolCstrLen), `symbol mapping ${i} intervals (${n})`);
    const intervals: MappingInterval[] = [];
    for (let j = 0; j < n; j++) {
      const start_date = dateFromInt(dv.getUint32(pos, true), base + pos);
      const end_date = dateFromInt(dv.getUint32(pos + 4, true), base + pos + 4);
      pos += 8;
      intervals.push({ start_date, end_date, symbol: cstr(symbolCstrLen) });
    }
    mappings.push({ raw_symbol, intervals });
  }
  return {
    version,
    dataset,
    schema,
    start,
    end: endRaw === UNDEF_TIMESTAMP ? null : endRaw,
    limit: limitRaw === 0n ? null : limitRaw,
    stype_in: stypeInRaw === NULL_STYPE ? null : STYPES[stypeInRaw]!,
    stype_out: STYPES[stypeOutRaw]!,
    ts_out: tsOut,
    symbol_cstr_len: symbolCstrLen,
    symbols,
    partial,
    not_found: notFound,
    mappings,
  };
}

/** Encodes the full metadata header (prelude included) exactly as Databento's encoder lays it out. */
export function encodeMetadata(meta: DbnMetadata): Uint8Array {
  const version = checkVersionForEncode(meta.version);
  const L = version === 1 ? 22 : meta.symbol_cstr_len;
  if (version === 1 && meta.symbol_cstr_len !== 22) {
    throw new DbnError('ENCODE', 0, `DBN v1 metadata requires symbol_cstr_len 22, got ${meta.symbol_cstr_len}`);
  }
  const cstrCount = meta.symbols.length + meta.partial.length + meta.not_found.length;
  let needed = METADATA_FIXED_LEN + 4 * 5 + cstrCount * L;
  for (const m of meta.mappings) needed += L + 4 + m.intervals.length * (8 + L);
  const padding = version >= 3 && needed % 8 !== 0 ? 8 - (needed % 8) : 0;
  const length = needed + padding;
  const out = new Uint8Array(DBN_PRELUDE_LEN + length);
  const dv = new DataView(out.buffer);
  let pos = 0;
  const cstr = (s: string, len: number, what: string) => {
    if (!/^[\x00-\x7f]*$/.test(s) || s.length > len) throw new DbnError('ENCODE', 0, `${what} must be ASCII of at most ${len} characters, got ${JSON.stringify(s)}`);
    out.set(Buffer.from(s, 'latin1'), pos);
    pos += len;
  };
  out.set([0x44, 0x42, 0x4e, version], 0);
  dv.setUint32(4, length, true);
  pos = 8;
  cstr(meta.dataset, DATASET_CSTR_LEN, 'dataset');
  const schemaId = meta.schema === null ? NULL_SCHEMA : SCHEMAS.indexOf(meta.schema);
  if (schemaId < 0) throw new DbnError('ENCODE', 0, `unknown schema ${JSON.stringify(meta.schema)}`);
  dv.setUint16(pos, schemaId, true);
  pos += 2;
  dv.setBigUint64(pos, meta.start, true);
  dv.setBigUint64(pos + 8, meta.end ?? UNDEF_TIMESTAMP, true);
  dv.setBigUint64(pos + 16, meta.limit ?? 0n, true);
  pos += 24;
  if (version === 1) {
    dv.setBigUint64(pos, NULL_RECORD_COUNT, true);
    pos += 8;
  }
  const stypeIn = meta.stype_in === null ? NULL_STYPE : STYPES.indexOf(meta.stype_in);
  const stypeOut = STYPES.indexOf(meta.stype_out);
  if (stypeIn < 0 || stypeOut < 0) throw new DbnError('ENCODE', 0, `unknown stype_in/stype_out ${meta.stype_in}/${meta.stype_out}`);
  out[pos++] = stypeIn;
  out[pos++] = stypeOut;
  out[pos++] = meta.ts_out ? 1 : 0;
  if (version > 1) {
    dv.setUint16(pos, L, true);
    pos += 2 + 53;
  } else {
    pos += 47;
  }
  pos += 4; // schema_definition_length = 0
  for (const [list, what] of [[meta.symbols, 'symbols'], [meta.partial, 'partial'], [meta.not_found, 'not_found']] as const) {
    dv.setUint32(pos, list.length, true);
    pos += 4;
    for (const s of list) cstr(s, L, what);
  }
  dv.setUint32(pos, meta.mappings.length, true);
  pos += 4;
  for (const m of meta.mappings) {
    cstr(m.raw_symbol, L, 'mapping raw_symbol');
    dv.setUint32(pos, m.intervals.length, true);
    pos += 4;
    for (const iv of m.intervals) {
      dv.setUint32(pos, dateToInt(iv.start_date), true);
      dv.setUint32(pos + 4, dateToInt(iv.end_date), true);
      pos += 8;
      cstr(iv.symbol, L, 'mapping interval symbol');
    }
  }
  return out;
}

function checkVersionForEncode(v: number): DbnVersion {
  if (v !== 1 && v !== 2 && v !== 3) throw new DbnError('ENCODE', 0, `cannot encode DBN version ${v} (supported: 1, 2, 3)`);
  return v;
}

/**
 * Instrument id → the stype_in symbol it was requested as, from the metadata mappings (stype_out instrument_id):
 * e.g. 5482 → "ESH1" for raw_symbol requests, or → "ES.c.0" for continuous requests (Databento's own
 * symbol maps do the same; the raw contract of a continuous symbol arrives only in SymbolMapping records).
 */
export function instrumentSymbols(meta: DbnMetadata): Map<number, string> {
  const out = new Map<number, string>();
  for (const m of meta.mappings) {
    for (const iv of m.intervals) {
      if (/^\d+$/.test(iv.symbol)) out.set(Number(iv.symbol), m.raw_symbol);
    }
  }
  return out;
}
