import { mkdtempSync, readdirSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as arrow from 'apache-arrow';
import { readParquet } from 'parquet-wasm';
import { DuckDBInstance } from '@duckdb/node-api';
import type { SignalRow } from '@snap/core';
import { encodeParquet, ParquetSchemaError, rowsToArrowTable, writeParquetRows, type ColumnSpec } from './parquet';
import { sampleSignalRow } from './envelope-samples';
import { GoldSignalWriter, partitionOf, SIGNAL_ROW_COLUMNS } from './lake';

const T0 = 1_766_414_400_000_000_000n; // 2025-12-22T14:40:00Z

/** Two levels per tick; fuel_put_wall null on every row (asserted below), the rest of the sample's values. */
function row(i: number, over: Partial<SignalRow> = {}): SignalRow {
  return sampleSignalRow(i, T0 + BigInt(Math.floor(i / 2)) * 250_000_000n, { level_id: i % 2 ? 'ROUND_680' : 'STRIKE_681', fuel_call_wall: 685, fuel_put_wall: null, ...over });
}

async function duck(sql: string): Promise<Record<string, unknown>[]> {
  const inst = await DuckDBInstance.create(':memory:');
  const con = await inst.connect();
  try {
    return (await con.runAndReadAll(sql)).getRowObjectsJson() as Record<string, unknown>[];
  } finally {
    con.closeSync();
    inst.closeSync();
  }
}

describe('Gold Parquet writer', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'snap-lake-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('writes ZSTD Parquet in the §2.3 layout that DuckDB and parquet-wasm read back exactly', async () => {
    const rows = Array.from({ length: 40 }, (_, i) => row(i));
    const w = new GoldSignalWriter({ dataRoot: root, underlying: 'SPY', flushRows: 1000 });
    w.append(rows);
    const files = w.close();
    expect(files).toHaveLength(1);
    const { date, hour } = partitionOf(T0);
    expect(date).toBe('2025-12-22');
    expect(hour).toBe('14');
    const dir = join(root, 'gold/levels/signals/underlying=SPY/date=2025-12-22/hour=14');
    expect(readdirSync(dir)).toEqual([`part-${T0}-${rows[39]!.ts_event_ns}.parquet`]);
    const file = files[0]!.path;

    const codecs = await duck(`SELECT DISTINCT compression FROM parquet_metadata('${file}')`);
    expect(codecs.map((r) => r.compression)).toEqual(['ZSTD']);
    const schema = await duck(`SELECT name, type FROM parquet_schema('${file}') WHERE name <> 'arrow_schema'`);
    const types = Object.fromEntries(schema.map((r) => [r.name, r.type]));
    expect(types.ts_event_ns).toBe('INT64');
    expect(types.spot).toBe('DOUBLE');
    expect(types.tape_sweep_detected).toBe('BOOLEAN');
    expect(types.level_kind).toBe('BYTE_ARRAY');
    // Dictionary encoding on categorical columns only.
    const enc = await duck(`SELECT path_in_schema AS col, encodings FROM parquet_metadata('${file}')`);
    const encOf = Object.fromEntries(enc.map((r) => [r.col, String(r.encodings)]));
    expect(encOf.level_kind).toMatch(/DICTIONARY/);
    expect(encOf.spot).not.toMatch(/DICTIONARY/);
    // Min/max statistics on the time and integer columns only (what readers prune row groups by; see STATS_FOR).
    const stats = await duck(`SELECT path_in_schema AS col, stats_min_value AS lo, stats_max_value AS hi FROM parquet_metadata('${file}')`);
    const statOf = Object.fromEntries(stats.map((r) => [r.col, [r.lo, r.hi]]));
    expect(statOf.ts_event_ns).toEqual([String(T0), String(rows[39]!.ts_event_ns)]);
    expect(statOf.spot).toEqual([null, null]);
    expect(statOf.level_kind).toEqual([null, null]);

    const back = await duck(`SELECT * FROM read_parquet('${file}') ORDER BY ts_event_ns, level_id`);
    expect(back).toHaveLength(40);
    const want = rows.slice().sort((a, b) => (a.ts_event_ns === b.ts_event_ns ? a.level_id.localeCompare(b.level_id) : a.ts_event_ns < b.ts_event_ns ? -1 : 1));
    for (let i = 0; i < want.length; i++) {
      const w0 = want[i]!;
      const b = back[i]!;
      expect(BigInt(b.ts_event_ns as string)).toBe(w0.ts_event_ns);
      expect(b.spot).toBe(w0.spot);
      expect(b.level_id).toBe(w0.level_id);
      expect(b.tape_sweep_direction).toBe(w0.tape_sweep_direction);
      expect(b.fuel_put_wall).toBeNull();
      expect(b.runway_next_level_price).toBe(w0.runway_next_level_price);
      expect(b.break_score_smooth).toBe(w0.break_score_smooth);
    }

    // parquet-wasm reads its own output with the same schema and values.
    const t = arrow.tableFromIPC(readParquet(readFileSync(file)).intoIPCStream());
    expect(t.numRows).toBe(40);
    expect(t.schema.fields.map((f) => f.name)).toEqual(SIGNAL_ROW_COLUMNS.map((c) => c.name));
    const r0 = t.get(0)!.toJSON() as Record<string, unknown>;
    expect(r0.ts_event_ns).toBe(rows[0]!.ts_event_ns);
    expect(r0.level_id).toBe(rows[0]!.level_id);
    expect(r0.fuel_call_wall).toBe(685);
    expect(t.schema.fields.find((f) => f.name === 'fuel_put_wall')!.nullable).toBe(true);
    expect(t.schema.fields.find((f) => f.name === 'spot')!.nullable).toBe(false);
  });

  it('splits files at hour boundaries and at flush_rows (only between ticks), and a rerun overwrites the same files', async () => {
    const hourEdge = 1_766_415_600_000_000_000n; // 2025-12-22T15:00:00Z
    const mk = () => [
      ...Array.from({ length: 10 }, (_, i) => row(i, { ts_event_ns: hourEdge - 3_000_000_000n + BigInt(Math.floor(i / 2)) * 250_000_000n })),
      ...Array.from({ length: 7 }, (_, i) => row(i, { ts_event_ns: hourEdge + BigInt(Math.floor(i / 2)) * 250_000_000n })),
    ];
    const runOnce = () => {
      const w = new GoldSignalWriter({ dataRoot: root, underlying: 'SPY', flushRows: 4 });
      w.append(mk());
      return w.close().map((f) => [f.path.slice(root.length), f.rows] as const);
    };
    const a = runOnce();
    const b = runOnce();
    expect(b).toEqual(a);
    // hour 14: 10 rows in chunks of 4 (ticks of 2 rows) => 4,4,2; hour 15: 7 rows => 4,3
    expect(a.map((x) => x[1])).toEqual([4, 4, 2, 4, 3]);
    expect(a.filter((x) => x[0].includes('hour=14'))).toHaveLength(3);
    const h14 = join(root, 'gold/levels/signals/underlying=SPY/date=2025-12-22/hour=14');
    expect(readdirSync(h14)).toHaveLength(3); // the rerun added nothing, and no temp files remain
    const total = await duck(`SELECT count(*)::INTEGER AS n FROM read_parquet('${root}/gold/levels/signals/**/*.parquet', hive_partitioning = true)`);
    expect(total[0]!.n).toBe(17);
  });

  it('rejects a row whose value does not fit its column, naming the column and row', () => {
    const bad = [row(0), row(1, { spot: 'x' as unknown as number })];
    const path = join(root, 'x.parquet');
    expect(() => writeParquetRows(path, SIGNAL_ROW_COLUMNS, bad)).toThrow(ParquetSchemaError);
    expect(() => writeParquetRows(path, SIGNAL_ROW_COLUMNS, bad)).toThrow(/column "spot" row 1/);
    expect(existsSync(path)).toBe(false);
  });

  it('names the first offending row of a categorical column, null (not nullable) or of the wrong type', () => {
    const path = join(root, 'y.parquet');
    const nullFirst = [row(0), row(1), row(2, { signal: null as unknown as SignalRow['signal'] }), row(3, { signal: 7 as unknown as SignalRow['signal'] })];
    expect(() => writeParquetRows(path, SIGNAL_ROW_COLUMNS, nullFirst)).toThrow(/column "signal" row 2: null in a non-nullable column/);
    const badFirst = [row(0), row(1, { signal: 7 as unknown as SignalRow['signal'] }), row(2, { signal: null as unknown as SignalRow['signal'] })];
    expect(() => writeParquetRows(path, SIGNAL_ROW_COLUMNS, badFirst)).toThrow(/column "signal" row 1: expected string, got number/);
    // A nullable categorical column takes nulls but still refuses other types.
    const sweep = [row(0, { tape_sweep_direction: null }), row(1, { tape_sweep_direction: true as unknown as SignalRow['tape_sweep_direction'] })];
    expect(() => writeParquetRows(path, SIGNAL_ROW_COLUMNS, sweep)).toThrow(/column "tape_sweep_direction" row 1: expected string, got boolean/);
    expect(existsSync(path)).toBe(false);
  });

  it('rejects rows that go back in time', () => {
    const w = new GoldSignalWriter({ dataRoot: root, underlying: 'SPY', flushRows: 10 });
    w.append([row(4)]);
    expect(() => w.append([row(0)])).toThrow(/went backwards/);
  });
});

describe('footer metadata', () => {
  it('writes the same bytes for the same rows whatever the metadata key order', () => {
    const table = rowsToArrowTable([{ name: 'x', type: 'int64' }], [{ x: 1n }]);
    const a = encodeParquet(table, [], { metadata: { schema: 'levels.signals.v1', underlying: 'SPY', z: '1' } });
    for (let i = 0; i < 8; i++) {
      const b = encodeParquet(table, [], { metadata: { z: '1', underlying: 'SPY', schema: 'levels.signals.v1' } });
      expect(Buffer.from(b).equals(Buffer.from(a))).toBe(true);
    }
  });
});

describe('typed-array column builder', () => {
  // The generic reference: arrow's own vectorFromArray per column (the writer's previous implementation). The typed
  // builder must give the same Parquet bytes, so files written before and after the change are interchangeable.
  function reference(columns: readonly ColumnSpec[], rows: readonly Record<string, unknown>[]): arrow.Table {
    const typeOf = (c: ColumnSpec): arrow.DataType => {
      switch (c.type) {
        case 'int64': return new arrow.Int64();
        case 'int32': return new arrow.Int32();
        case 'int16': return new arrow.Int16();
        case 'int8': return new arrow.Int8();
        case 'float64': return new arrow.Float64();
        case 'bool': return new arrow.Bool();
        case 'utf8': return new arrow.Utf8();
        case 'dict_utf8': return new arrow.Dictionary(new arrow.Utf8(), new arrow.Int32());
        case 'list_int16': return new arrow.List(new arrow.Field('item', new arrow.Int16(), true));
      }
    };
    const vectors: Record<string, arrow.Vector> = {};
    for (const c of columns) vectors[c.name] = arrow.vectorFromArray(rows.map((r) => r[c.name] ?? null), typeOf(c) as arrow.DataType);
    const t = new arrow.Table(vectors);
    const fields = columns.map((c) => new arrow.Field(c.name, t.getChild(c.name)!.type, c.nullable ?? false));
    const schema = new arrow.Schema(fields);
    return new arrow.Table(schema, t.batches.map((b) => new arrow.RecordBatch(schema, arrow.makeData({ type: new arrow.Struct(fields), length: b.numRows, nullCount: 0, children: b.data.children }))));
  }
  const dictOf = (cols: readonly ColumnSpec[]) => cols.filter((c) => c.type === 'dict_utf8').map((c) => c.name);

  it('writes the same Parquet bytes as arrow vectorFromArray for Gold rows with nulls', () => {
    const rows = Array.from({ length: 3000 }, (_, i) => row(i, i % 7 === 0 ? { fuel_call_wall: null, note: `n${i % 5}` } : {}));
    const meta = { metadata: { schema: 'levels.signals.v1' } };
    const ours = encodeParquet(rowsToArrowTable(SIGNAL_ROW_COLUMNS, rows), dictOf(SIGNAL_ROW_COLUMNS), meta);
    const ref = encodeParquet(reference(SIGNAL_ROW_COLUMNS, rows as unknown as Record<string, unknown>[]), dictOf(SIGNAL_ROW_COLUMNS), meta);
    expect(Buffer.from(ours).equals(Buffer.from(ref))).toBe(true);
  });

  it('writes the same bytes for every column type (utf8, ints, lists with nulls), and reads them back', () => {
    const cols: ColumnSpec[] = [
      { name: 'id', type: 'utf8' },
      { name: 'opt', type: 'utf8', nullable: true },
      { name: 'i32', type: 'int32' },
      { name: 'i16', type: 'int16', nullable: true },
      { name: 'i8', type: 'int8' },
      { name: 'seq', type: 'int64', nullable: true },
      { name: 'flag', type: 'bool', nullable: true },
      { name: 'cat', type: 'dict_utf8', nullable: true },
      { name: 'conds', type: 'list_int16', nullable: true },
    ];
    const rows = Array.from({ length: 257 }, (_, i) => ({
      id: `évt-${i}`,
      opt: i % 4 ? `o${i}` : null,
      i32: i * 1000 - 7,
      i16: i % 5 ? i - 100 : null,
      i8: (i % 200) - 100,
      seq: i % 6 ? BigInt(i) * 10_000_000_000n : null,
      flag: i % 3 === 0 ? null : i % 3 === 1,
      cat: i % 9 ? ['A', 'B', 'C'][i % 3]! : undefined,
      conds: i % 8 === 0 ? null : Array.from({ length: i % 4 }, (_, k) => k * 7 - 3),
    }));
    const ours = encodeParquet(rowsToArrowTable(cols, rows), dictOf(cols));
    expect(Buffer.from(ours).equals(Buffer.from(encodeParquet(reference(cols, rows), dictOf(cols))))).toBe(true);
    const back = arrow.tableFromIPC(readParquet(ours).intoIPCStream());
    const r7 = back.get(7)!.toJSON() as Record<string, unknown>;
    expect(r7.id).toBe('évt-7');
    expect(r7.opt).toBe('o7');
    expect(r7.i16).toBe(-93);
    expect(r7.i8).toBe(-93);
    expect(r7.seq).toBe(70_000_000_000n);
    expect(r7.flag).toBe(true);
    expect(r7.cat).toBe('B');
    expect(Array.from(r7.conds as Iterable<number>)).toEqual([-3, 4, 11]);
    const r0 = back.get(0)!.toJSON() as Record<string, unknown>;
    expect([r0.opt, r0.i16, r0.seq, r0.flag, r0.conds]).toEqual([null, null, null, null, null]);
  });

  it('names the column and row of a value of the wrong type in every column kind', () => {
    expect(() => rowsToArrowTable([{ name: 'a', type: 'int32' }], [{ a: 1 }, { a: 1.5 }])).toThrow(/column "a" row 1: expected integer number, got number/);
    expect(() => rowsToArrowTable([{ name: 'b', type: 'int64' }], [{ b: 1 }])).toThrow(/column "b" row 0: expected bigint/);
    expect(() => rowsToArrowTable([{ name: 'c', type: 'bool' }], [{ c: true }, { c: 'yes' }])).toThrow(/column "c" row 1: expected boolean/);
    expect(() => rowsToArrowTable([{ name: 'd', type: 'dict_utf8' }], [{ d: 'x' }, { d: null }])).toThrow(/column "d" row 1: null in a non-nullable column/);
    expect(() => rowsToArrowTable([{ name: 'e', type: 'list_int16' }], [{ e: 3 }])).toThrow(/column "e" row 0: expected array/);
    expect(() => rowsToArrowTable([{ name: 'f', type: 'utf8' }], [{ f: 'ok' }, {}])).toThrow(ParquetSchemaError);
  });
});
