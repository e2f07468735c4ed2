// Parquet writing for every lake tier. parquetjs-lite cannot write ZSTD (plan §2.2 requires it), so tables are
// built with apache-arrow and encoded by parquet-wasm (arrow-rs compiled to WebAssembly; its node build
// instantiates the wasm module synchronously on require, so there is no async init to forget).
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';
import * as arrow from 'apache-arrow';
import { Compression, EnabledStatistics, Table as WasmTable, WriterPropertiesBuilder, WriterVersion, readParquet, writeParquet } from 'parquet-wasm';

/**
 * Logical column types the lake uses. `dict_utf8` is a categorical string: stored as an Arrow dictionary and
 * dictionary-encoded in Parquet (small cardinality columns such as level_kind, signal, barrier_state).
 */
export type ColumnType = 'int64' | 'int32' | 'int16' | 'int8' | 'float64' | 'bool' | 'utf8' | 'dict_utf8' | 'list_int16';

export interface ColumnSpec {
  name: string;
  type: ColumnType;
  nullable?: boolean;
}

export type ParquetCodec = 'ZSTD' | 'SNAPPY' | 'UNCOMPRESSED';

export interface ParquetWriteOptions {
  codec?: ParquetCodec;
  /** Max rows per row group; defaults to arrow-rs' default (1M rows). */
  rowGroupRows?: number;
  /** Key/value metadata, stored in the file footer as one JSON value under the key `snap` (never put wall-clock time here). */
  metadata?: Record<string, string>;
}

export class ParquetSchemaError extends Error {
  constructor(
    message: string,
    readonly column: string,
    readonly row: number,
  ) {
    super(message);
    this.name = 'ParquetSchemaError';
  }
}

function arrowType(t: ColumnType): arrow.DataType {
  switch (t) {
    case 'int64':
      return new arrow.Int64();
    case 'int32':
      return new arrow.Int32();
    case 'int16':
      return new arrow.Int16();
    case 'int8':
      return new arrow.Int8();
    case 'float64':
      return new arrow.Float64();
    case 'bool':
      return new arrow.Bool();
    case 'utf8':
      return new arrow.Utf8();
    case 'dict_utf8':
      return new arrow.Dictionary(new arrow.Utf8(), new arrow.Int32());
    case 'list_int16':
      return new arrow.List(new arrow.Field('item', new arrow.Int16(), true));
  }
}

const nonNullError = (spec: ColumnSpec, row: number) => new ParquetSchemaError(`column "${spec.name}" row ${row}: null in a non-nullable column`, spec.name, row);
const typeError = (spec: ColumnSpec, row: number, want: string, v: unknown) =>
  new ParquetSchemaError(`column "${spec.name}" row ${row}: expected ${want}, got ${typeof v}`, spec.name, row);

/** Validity bitmap (Arrow: LSB-first, 1 = valid), allocated only once a null is met. */
class Validity {
  bits: Uint8Array | null = null;
  nulls = 0;
  constructor(private readonly length: number) {}
  setNull(i: number): void {
    if (this.bits === null) {
      this.bits = new Uint8Array((this.length + 7) >> 3).fill(0xff);
    }
    this.bits[i >> 3]! &= ~(1 << (i & 7));
    this.nulls++;
  }
}

const utf8 = new TextEncoder();

/** Packs strings into one Arrow Utf8 vector (an offsets array and one UTF-8 byte buffer), no nulls. */
function utf8Vector(values: readonly string[]): arrow.Vector<arrow.Utf8> {
  let bytes = 0;
  const encoded = values.map((v) => {
    const b = utf8.encode(v);
    bytes += b.byteLength;
    return b;
  });
  const offsets = new Int32Array(values.length + 1);
  const data = new Uint8Array(bytes);
  let o = 0;
  for (let i = 0; i < encoded.length; i++) {
    data.set(encoded[i]!, o);
    o += encoded[i]!.byteLength;
    offsets[i + 1] = o;
  }
  return arrow.makeVector(arrow.makeData({ type: new arrow.Utf8(), length: values.length, nullCount: 0, valueOffsets: offsets, data }));
}

type Out = Float64Array | BigInt64Array | Int32Array | Int16Array | Int8Array | Uint8Array | unknown[];

/** The buffer one column's values are copied into (a bit-packed Uint8Array for bool, plain arrays for strings/lists). */
function allocate(spec: ColumnSpec, n: number): Out {
  switch (spec.type) {
    case 'float64':
      return new Float64Array(n);
    case 'int64':
      return new BigInt64Array(n);
    case 'int32':
      return new Int32Array(n);
    case 'int16':
      return new Int16Array(n);
    case 'int8':
      return new Int8Array(n);
    case 'bool':
      return new Uint8Array((n + 7) >> 3);
    case 'dict_utf8':
      return new Int32Array(n);
    default:
      return new Array<unknown>(n);
  }
}

/** Per column, what the one-pass fill met besides values of the column's type. */
interface Filled {
  /** Row indexes holding null/undefined (ascending). */
  nulls: number[];
  /** First row index holding a value of the wrong type, or -1. */
  bad: number;
  /** dict_utf8: the dictionary in first-appearance order (the keys are in the column's Int32Array). */
  dict: string[] | null;
}

type Filler = (rows: readonly object[], outs: readonly Out[]) => Filled[];
const fillers = new Map<string, Filler>();

/**
 * Copies every column of every row into its buffer in ONE pass over the rows, and returns per column the rows that
 * held null and the first row that held a value of the wrong type. Reading rows[i][name] column by column was most of
 * the old table build: a property-load site shared by every column name is megamorphic, doubles were boxed through
 * plain arrays, and each row object was fetched from memory once per column. The loop is generated per column list,
 * so each load names a literal property (a monomorphic field load in V8) and stores straight into the typed array
 * while the row is in cache. Names are embedded as JSON string literals. Categorical (dict_utf8) columns are keyed in
 * the same pass (a run of one value skips the map), and nulls are told apart from bad values there, so nothing
 * re-reads a row by a computed column name afterwards.
 */
function fillColumns(columns: readonly ColumnSpec[], rows: readonly object[], outs: readonly Out[]): Filled[] {
  const key = columns.map((c) => `${c.type}:${c.name}`).join('\0');
  let f = fillers.get(key);
  if (!f) {
    const decl: string[] = [];
    const loop: string[] = [];
    const ret: string[] = [];
    columns.forEach((c, j) => {
      decl.push(`const o${j} = outs[${j}], n${j} = []; let e${j} = -1;`);
      const load = `v = r[${JSON.stringify(c.name)}];`;
      const other = `else if (v === null || v === undefined) n${j}.push(i); else if (e${j} < 0) e${j} = i;`;
      let dict = 'null';
      switch (c.type) {
        case 'float64':
          loop.push(`${load} if (typeof v === 'number') o${j}[i] = v; ${other}`);
          break;
        case 'int64':
          loop.push(`${load} if (typeof v === 'bigint') o${j}[i] = v; ${other}`);
          break;
        case 'int32':
        case 'int16':
        case 'int8':
          loop.push(`${load} if (typeof v === 'number' && Number.isInteger(v)) o${j}[i] = v; ${other}`);
          break;
        case 'bool':
          loop.push(`${load} if (v === true) o${j}[i >> 3] |= 1 << (i & 7); else if (v === false) {} ${other}`);
          break;
        case 'dict_utf8':
          // last${j} starts as an object no string equals; keys of rows that are not strings stay 0.
          decl.push(`const m${j} = new Map(), d${j} = []; let last${j} = m${j}, k${j} = 0;`);
          loop.push(
            `${load} if (v === last${j}) o${j}[i] = k${j}; else if (typeof v === 'string') { let k = m${j}.get(v); if (k === undefined) { k = d${j}.length; m${j}.set(v, k); d${j}.push(v); } last${j} = v; k${j} = k; o${j}[i] = k; } ${other}`,
          );
          dict = `d${j}`;
          break;
        default:
          // Strings and lists are checked by their builders (they walk the values anyway).
          loop.push(`o${j}[i] = r[${JSON.stringify(c.name)}];`);
      }
      ret.push(`{ nulls: n${j}, bad: e${j}, dict: ${dict} }`);
    });
    const src = `${decl.join('\n')}\nconst n = rows.length;\nfor (let i = 0; i < n; i++) {\n  const r = rows[i]; let v;\n  ${loop.join('\n  ')}\n}\nreturn [${ret.join(', ')}];`;
    // eslint-disable-next-line @typescript-eslint/no-implied-eval
    f = new Function('rows', 'outs', src) as Filler;
    fillers.set(key, f);
  }
  return f(rows, outs);
}

/**
 * One column's Arrow data from its filled buffer: every value type-checked so a bad row names its column and
 * index. The buffers are laid out exactly as arrow's generic vectorFromArray lays them out (nulls hold 0,
 * dictionary in first-appearance order), so the Parquet bytes are unchanged (a unit test compares the two).
 */
function buildColumn(spec: ColumnSpec, rows: readonly object[], type: arrow.DataType, out: Out, filled: Filled): arrow.Data {
  const n = rows.length;
  const name = spec.name;
  const nullable = spec.nullable ?? false;
  const valid = new Validity(n);
  /** Nulls become validity bits (an error in a non-nullable column), a value of another type is an error. */
  const settle = (nulls: readonly number[], bad: number, want: string) => {
    // Report the first offending row, whichever kind it is.
    if (bad >= 0 && (nullable || nulls.length === 0 || bad < nulls[0]!)) throw typeError(spec, bad, want, (rows[bad] as Record<string, unknown>)[name]);
    if (nulls.length === 0) return;
    if (!nullable) throw nonNullError(spec, nulls[0]!);
    for (const i of nulls) valid.setNull(i);
  };
  const props = () => ({ type, length: n, nullCount: valid.nulls, nullBitmap: valid.bits ?? undefined });
  switch (spec.type) {
    case 'float64':
      settle(filled.nulls, filled.bad, 'number');
      return arrow.makeData({ ...props(), type: type as arrow.Float64, data: out as Float64Array });
    case 'int64':
      settle(filled.nulls, filled.bad, 'bigint');
      return arrow.makeData({ ...props(), type: type as arrow.Int64, data: out as BigInt64Array });
    case 'int32':
    case 'int16':
    case 'int8':
      settle(filled.nulls, filled.bad, 'integer number');
      return arrow.makeData({ ...props(), type: type as arrow.Int32, data: out as Int32Array });
    case 'bool':
      settle(filled.nulls, filled.bad, 'boolean');
      return arrow.makeData({ ...props(), type: type as arrow.Bool, data: out as Uint8Array });
    case 'utf8': {
      const strings = out as unknown[];
      const nulls: number[] = [];
      let bad = -1;
      for (let i = 0; i < n; i++) {
        const v = strings[i];
        if (typeof v === 'string') continue;
        if (v === null || v === undefined) nulls.push(i);
        else if (bad < 0) bad = i;
        strings[i] = '';
      }
      settle(nulls, bad, 'string');
      const d = utf8Vector(strings as string[]).data[0]!;
      return arrow.makeData({ ...props(), type: type as arrow.Utf8, valueOffsets: d.valueOffsets, data: d.values });
    }
    case 'dict_utf8':
      settle(filled.nulls, filled.bad, 'string');
      return arrow.makeData({ ...props(), type: type as arrow.Dictionary<arrow.Utf8, arrow.Int32>, data: out as Int32Array, dictionary: utf8Vector(filled.dict!) });
    case 'list_int16': {
      const values = out as unknown[];
      const offsets = new Int32Array(n + 1);
      const nulls: number[] = [];
      let bad = -1;
      let total = 0;
      for (let i = 0; i < n; i++) {
        const v = values[i];
        if (Array.isArray(v)) total += v.length;
        else if (v === null || v === undefined) nulls.push(i);
        else if (bad < 0) bad = i;
        offsets[i + 1] = total;
      }
      settle(nulls, bad, 'array');
      const items = new Int16Array(total);
      const itemValid = new Validity(total);
      let o = 0;
      for (let i = 0; i < n; i++) {
        const v = values[i];
        if (!Array.isArray(v)) continue;
        for (const x of v as unknown[]) {
          if (x === null || x === undefined) itemValid.setNull(o);
          else items[o] = x as number;
          o++;
        }
      }
      const itemType = (type as arrow.List<arrow.Int16>).children[0]!.type;
      const child = arrow.makeData({ type: itemType, length: total, nullCount: itemValid.nulls, nullBitmap: itemValid.bits ?? undefined, data: items });
      return arrow.makeData({ ...props(), type: type as arrow.List<arrow.Int16>, valueOffsets: offsets, child });
    }
  }
}

/** Builds an Arrow table from row objects; every value is type-checked so a bad row names its column and index. */
export function rowsToArrowTable<R extends object>(columns: readonly ColumnSpec[], rows: readonly R[]): arrow.Table {
  const fields: arrow.Field[] = [];
  const children: arrow.Data[] = [];
  const outs = columns.map((c) => allocate(c, rows.length));
  const filled = fillColumns(columns, rows, outs);
  columns.forEach((spec, j) => {
    const type = arrowType(spec.type);
    children.push(buildColumn(spec, rows, type, outs[j]!, filled[j]!));
    fields.push(new arrow.Field(spec.name, type, spec.nullable ?? false));
  });
  const schema = new arrow.Schema(fields);
  if (rows.length === 0) return new arrow.Table(schema, []);
  const batch = new arrow.RecordBatch(schema, arrow.makeData({ type: new arrow.Struct(fields), length: rows.length, nullCount: 0, children }));
  return new arrow.Table(schema, [batch]);
}

const CODEC: Record<ParquetCodec, Compression> = { ZSTD: Compression.ZSTD, SNAPPY: Compression.SNAPPY, UNCOMPRESSED: Compression.UNCOMPRESSED };

const WRITE_BATCH_ROWS = 8192;

/**
 * Which columns get min/max statistics (per column chunk; no page index): integers, booleans and plain strings — the
 * time and id columns a reader prunes row groups by. Not float measures nor dictionary-encoded categoricals: their
 * statistics were about a fifth of parquet-wasm's encoding time for Gold rows (arrow-rs computes dictionary min/max
 * over the decoded values) and no reader of ours filters on them. Page-level statistics were dropped with them.
 */
const STATS_FOR = (t: arrow.DataType): boolean => !arrow.DataType.isFloat(t) && !arrow.DataType.isDictionary(t) && !arrow.DataType.isList(t);

/** Encodes an Arrow table as Parquet bytes. Dictionary encoding is on only for the listed (categorical) columns. */
export function encodeParquet(table: arrow.Table, dictionaryColumns: readonly string[], opts: ParquetWriteOptions = {}): Uint8Array {
  let props = new WriterPropertiesBuilder()
    .setCompression(CODEC[opts.codec ?? 'ZSTD'])
    .setWriterVersion(WriterVersion.V2)
    // A fixed created_by keeps rewrites of the same rows byte-identical across library patch versions of our code.
    .setCreatedBy('snap-engine lake writer (parquet-wasm)')
    .setDictionaryEnabled(false)
    // arrow-rs encodes 1,024 values per call by default; larger calls cut its per-call overhead (bytes unaffected in kind).
    .setWriteBatchSize(WRITE_BATCH_ROWS)
    // Statistics: see STATS_FOR.
    .setStatisticsEnabled(EnabledStatistics.None);
  for (const c of dictionaryColumns) props = props.setColumnDictionaryEnabled(c, true);
  for (const f of table.schema.fields) if (STATS_FOR(f.type)) props = props.setColumnStatisticsEnabled(f.name, EnabledStatistics.Chunk);
  if (opts.rowGroupRows) props = props.setMaxRowGroupSize(opts.rowGroupRows);
  // parquet-wasm stores several footer keys in hash order (it varies between writes), so all metadata goes under one
  // key as JSON with sorted keys: rewriting the same rows must give the same bytes.
  if (opts.metadata) {
    const sorted = Object.fromEntries(Object.entries(opts.metadata).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    props = props.setKeyValueMetadata(new Map([['snap', JSON.stringify(sorted)]]));
  }
  const wasmTable = WasmTable.fromIPCStream(arrow.tableToIPC(table, 'stream'));
  return writeParquet(wasmTable, props.build());
}

/** Writes bytes atomically: a temp file in the same directory, then rename (readers never see a half file). */
export function atomicWriteFile(path: string, bytes: Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = join(dirname(path), `.${basename(path)}.tmp-${process.pid}`);
  try {
    writeFileSync(tmp, bytes);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

export interface ParquetFileWritten {
  path: string;
  rows: number;
  bytes: number;
}

/** Generic entry point for every tier (Bronze/Silver/Gold): rows + column specs → one atomic Parquet file. */
export function writeParquetRows<R extends object>(path: string, columns: readonly ColumnSpec[], rows: readonly R[], opts: ParquetWriteOptions = {}): ParquetFileWritten {
  const table = rowsToArrowTable(columns, rows);
  const dict = columns.filter((c) => c.type === 'dict_utf8').map((c) => c.name);
  const bytes = encodeParquet(table, dict, opts);
  atomicWriteFile(path, bytes);
  return { path, rows: rows.length, bytes: bytes.byteLength };
}

/**
 * Parquet bytes → row objects typed as `columns` describe them (int64 as bigint, small ints as numbers, lists as
 * number arrays, nulls as null): the inverse of rowsToArrowTable, so rows read from one tier can be written to the
 * next with the same column specs. A column the file lacks is an error naming it (`what` names the object).
 */
export function readParquetRows(bytes: Uint8Array, columns: readonly ColumnSpec[], what = 'parquet object'): Record<string, unknown>[] {
  const table = arrow.tableFromIPC(readParquet(bytes).intoIPCStream());
  const n = table.numRows;
  const rows: Record<string, unknown>[] = Array.from({ length: n }, () => ({}));
  for (const spec of columns) {
    const vec = table.getChild(spec.name);
    if (!vec) throw new ParquetSchemaError(`${what}: column "${spec.name}" is missing`, spec.name, -1);
    let i = 0;
    for (const v of vec as Iterable<unknown>) {
      let out: unknown = v ?? null;
      if (out !== null) {
        if (spec.type === 'list_int16') out = Array.from(out as Iterable<number>, (x) => (x === null ? null : Number(x)));
        else if (spec.type === 'int64' && typeof out !== 'bigint') out = BigInt(out as number);
        else if ((spec.type === 'int32' || spec.type === 'int16' || spec.type === 'int8') && typeof out !== 'number') out = Number(out);
      }
      rows[i++]![spec.name] = out;
    }
  }
  return rows;
}
