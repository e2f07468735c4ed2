// Parquet writing for every lake tier. parquetjs-lite cannot write ZSTD (plan §2.2 requires it), so tables are
// built with apache-arrow and encoded by parquet-wasm (arrow-rs compiled to WebAssembly; its node build
// instantiates the wasm module synchronously on require, so there is no async init to forget).
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';
import * as arrow from 'apache-arrow';
import { Compression, Table as WasmTable, WriterPropertiesBuilder, WriterVersion, writeParquet } from 'parquet-wasm';

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

/** Interns strings in first-appearance order (the order arrow's dictionary builder uses) and returns the keys. */
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

type Fill = 'number' | 'integer' | 'bigint' | 'bool' | 'any';
const fillers = new Map<string, (rows: readonly object[], out: ArrayLike<unknown>) => number[]>();

/**
 * Copies one property of every row into `out` (a typed array, or a plain array for 'any') and returns the indexes
 * whose value failed the type test (nulls and bad values, sorted). `rows[i][name]` with a different name per column
 * made one property-load site megamorphic and boxed every double on the way through a plain array (most of the
 * old table build): a loop generated per (column name, test) reads a literal property, which V8 compiles to a
 * monomorphic field load, and stores straight into the typed array. The name is embedded as a JSON string literal.
 */
function fill(name: string, test: Fill, rows: readonly object[], out: ArrayLike<unknown>): number[] {
  const key = `${test}:${name}`;
  let f = fillers.get(key);
  if (!f) {
    const prop = JSON.stringify(name);
    const body =
      test === 'number'
        ? `if (typeof v === 'number') out[i] = v; else bad.push(i);`
        : test === 'integer'
          ? `if (typeof v === 'number' && Number.isInteger(v)) out[i] = v; else bad.push(i);`
          : test === 'bigint'
            ? `if (typeof v === 'bigint') out[i] = v; else bad.push(i);`
            : test === 'bool'
              ? `if (v === true) out[i >> 3] |= 1 << (i & 7); else if (v !== false) bad.push(i);`
              : `out[i] = v;`;
    // eslint-disable-next-line @typescript-eslint/no-implied-eval
    f = new Function('rows', 'out', `const n = rows.length, bad = []; for (let i = 0; i < n; i++) { const v = rows[i][${prop}]; ${body} } return bad;`) as (
      rows: readonly object[],
      out: ArrayLike<unknown>,
    ) => number[];
    fillers.set(key, f);
  }
  return f(rows, out);
}

/**
 * One column straight into Arrow buffers: typed arrays filled in one pass over the rows (no per-value builder
 * calls), every value type-checked so a bad row names its column and index. The buffers are laid out exactly as
 * arrow's generic vectorFromArray lays them out (nulls hold 0, dictionary in first-appearance order), so the
 * Parquet bytes are unchanged (a unit test compares the two).
 */
function buildColumn(spec: ColumnSpec, rows: readonly object[], type: arrow.DataType): arrow.Data {
  const n = rows.length;
  const name = spec.name;
  const nullable = spec.nullable ?? false;
  const valid = new Validity(n);
  /** Rows whose value failed the column's type test: nulls become validity bits, anything else is an error. */
  const settle = (bad: readonly number[], want: string) => {
    for (const i of bad) {
      const v = (rows[i] as Record<string, unknown>)[name];
      if (v !== null && v !== undefined) throw typeError(spec, i, want, v);
      if (!nullable) throw nonNullError(spec, i);
      valid.setNull(i);
    }
  };
  const props = () => ({ type, length: n, nullCount: valid.nulls, nullBitmap: valid.bits ?? undefined });
  switch (spec.type) {
    case 'float64': {
      const out = new Float64Array(n);
      settle(fill(name, 'number', rows, out), 'number');
      return arrow.makeData({ ...props(), type: type as arrow.Float64, data: out });
    }
    case 'int64': {
      const out = new BigInt64Array(n);
      settle(fill(name, 'bigint', rows, out), 'bigint');
      return arrow.makeData({ ...props(), type: type as arrow.Int64, data: out });
    }
    case 'int32':
    case 'int16':
    case 'int8': {
      const out = spec.type === 'int32' ? new Int32Array(n) : spec.type === 'int16' ? new Int16Array(n) : new Int8Array(n);
      settle(fill(name, 'integer', rows, out), 'integer number');
      return arrow.makeData({ ...props(), type: type as arrow.Int32, data: out as Int32Array });
    }
    case 'bool': {
      const out = new Uint8Array((n + 7) >> 3);
      settle(fill(name, 'bool', rows, out), 'boolean');
      return arrow.makeData({ ...props(), type: type as arrow.Bool, data: out });
    }
    case 'utf8': {
      const strings = new Array<string>(n);
      fill(name, 'any', rows, strings);
      settle(
        strings.flatMap((v, i) => (typeof v === 'string' ? [] : [i])),
        'string',
      );
      for (let i = 0; i < n; i++) if (typeof strings[i] !== 'string') strings[i] = '';
      const d = utf8Vector(strings).data[0]!;
      return arrow.makeData({ ...props(), type: type as arrow.Utf8, valueOffsets: d.valueOffsets, data: d.values });
    }
    case 'dict_utf8': {
      const values = new Array<unknown>(n);
      fill(name, 'any', rows, values);
      const keys = new Int32Array(n);
      const index = new Map<string, number>();
      const dict: string[] = [];
      const bad: number[] = [];
      let last: unknown = undefined;
      let lastKey = 0;
      for (let i = 0; i < n; i++) {
        const v = values[i];
        if (typeof v !== 'string') {
          bad.push(i);
          continue;
        }
        // Categorical columns repeat in runs (a tick's levels, a session's underlying): skip the map on a repeat.
        if (v !== last) {
          let k = index.get(v);
          if (k === undefined) {
            k = dict.length;
            index.set(v, k);
            dict.push(v);
          }
          last = v;
          lastKey = k;
        }
        keys[i] = lastKey;
      }
      settle(bad, 'string');
      return arrow.makeData({ ...props(), type: type as arrow.Dictionary<arrow.Utf8, arrow.Int32>, data: keys, dictionary: utf8Vector(dict) });
    }
    case 'list_int16': {
      const values = new Array<unknown>(n);
      fill(name, 'any', rows, values);
      const offsets = new Int32Array(n + 1);
      const bad: number[] = [];
      let total = 0;
      for (let i = 0; i < n; i++) {
        const v = values[i];
        if (Array.isArray(v)) total += v.length;
        else bad.push(i);
        offsets[i + 1] = total;
      }
      settle(bad, 'array');
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
  for (const spec of columns) {
    const type = arrowType(spec.type);
    children.push(buildColumn(spec, rows, type));
    fields.push(new arrow.Field(spec.name, type, spec.nullable ?? false));
  }
  const schema = new arrow.Schema(fields);
  if (rows.length === 0) return new arrow.Table(schema, []);
  const batch = new arrow.RecordBatch(schema, arrow.makeData({ type: new arrow.Struct(fields), length: rows.length, nullCount: 0, children }));
  return new arrow.Table(schema, [batch]);
}

const CODEC: Record<ParquetCodec, Compression> = { ZSTD: Compression.ZSTD, SNAPPY: Compression.SNAPPY, UNCOMPRESSED: Compression.UNCOMPRESSED };

/** Encodes an Arrow table as Parquet bytes. Dictionary encoding is on only for the listed (categorical) columns. */
export function encodeParquet(table: arrow.Table, dictionaryColumns: readonly string[], opts: ParquetWriteOptions = {}): Uint8Array {
  let props = new WriterPropertiesBuilder()
    .setCompression(CODEC[opts.codec ?? 'ZSTD'])
    .setWriterVersion(WriterVersion.V2)
    // A fixed created_by keeps rewrites of the same rows byte-identical across library patch versions of our code.
    .setCreatedBy('snap-engine lake writer (parquet-wasm)')
    .setDictionaryEnabled(false);
  for (const c of dictionaryColumns) props = props.setColumnDictionaryEnabled(c, true);
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
