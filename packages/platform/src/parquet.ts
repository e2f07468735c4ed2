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

function checkValue(spec: ColumnSpec, v: unknown, row: number): void {
  if (v === null || v === undefined) {
    if (!spec.nullable) throw new ParquetSchemaError(`column "${spec.name}" row ${row}: null in a non-nullable column`, spec.name, row);
    return;
  }
  const bad = (want: string) => new ParquetSchemaError(`column "${spec.name}" row ${row}: expected ${want}, got ${typeof v}`, spec.name, row);
  switch (spec.type) {
    case 'int64':
      if (typeof v !== 'bigint') throw bad('bigint');
      return;
    case 'int32':
    case 'int16':
    case 'int8':
      if (typeof v !== 'number' || !Number.isInteger(v)) throw bad('integer number');
      return;
    case 'float64':
      if (typeof v !== 'number') throw bad('number');
      return;
    case 'bool':
      if (typeof v !== 'boolean') throw bad('boolean');
      return;
    case 'utf8':
    case 'dict_utf8':
      if (typeof v !== 'string') throw bad('string');
      return;
    case 'list_int16':
      if (!Array.isArray(v)) throw bad('array');
      return;
  }
}

/** Builds an Arrow table from row objects; every value is type-checked so a bad row names its column and index. */
export function rowsToArrowTable<R extends object>(columns: readonly ColumnSpec[], rows: readonly R[]): arrow.Table {
  const vectors: Record<string, arrow.Vector> = {};
  for (const spec of columns) {
    const values = new Array<unknown>(rows.length);
    for (let i = 0; i < rows.length; i++) {
      const v = (rows[i] as Record<string, unknown>)[spec.name];
      checkValue(spec, v, i);
      values[i] = v ?? null;
    }
    vectors[spec.name] = arrow.vectorFromArray(values, arrowType(spec.type) as arrow.DataType);
  }
  const table = new arrow.Table(vectors);
  // vectorFromArray marks every field nullable; record the intended nullability in the schema so readers see it.
  const fields = columns.map((c) => new arrow.Field(c.name, table.getChild(c.name)!.type, c.nullable ?? false));
  return new arrow.Table(new arrow.Schema(fields), table.batches.length ? rebatch(table, fields) : []);
}

function rebatch(table: arrow.Table, fields: arrow.Field[]): arrow.RecordBatch[] {
  const schema = new arrow.Schema(fields);
  return table.batches.map((b) => new arrow.RecordBatch(schema, arrow.makeData({ type: new arrow.Struct(fields), length: b.numRows, nullCount: 0, children: b.data.children })));
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
