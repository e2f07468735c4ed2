// Gold Parquet codecs on the same real signal rows (a simulated session through the engine): bytes and write time
// for ZSTD (what the lake uses, via parquet-wasm) against SNAPPY, GZIP (parquetjs-lite's codecs) and UNCOMPRESSED,
// measured in the same run. The ZSTD/SNAPPY size ratio is the figure behind replacing parquetjs-lite.
//   npx tsx bench/parquet.ts [minutes] [reps]
import { defaultConfig, runCore, simulateSession, toSignalRows, type SignalRow } from '@snap/core';
import { encodeParquet, rowsToArrowTable, SIGNAL_ROW_COLUMNS } from '@snap/platform';
import { Compression, Table as WasmTable, WriterPropertiesBuilder, WriterVersion, writeParquet } from 'parquet-wasm';
import * as arrow from 'apache-arrow';

const minutes = Number(process.argv[2] ?? 30);
const reps = Number(process.argv[3] ?? 5);
const rows: SignalRow[] = runCore(defaultConfig(), 'SPY', simulateSession({ seed: 1, durationMs: minutes * 60_000 })).flatMap(toSignalRows);
const table = rowsToArrowTable(SIGNAL_ROW_COLUMNS, rows);
const dict = SIGNAL_ROW_COLUMNS.filter((c) => c.type === 'dict_utf8').map((c) => c.name);

function gzip(t: arrow.Table): Uint8Array {
  // encodeParquet exposes the lake's codecs; GZIP (a parquetjs-lite codec) is only a comparison here.
  let b = new WriterPropertiesBuilder().setCompression(Compression.GZIP).setWriterVersion(WriterVersion.V2).setDictionaryEnabled(false);
  for (const c of dict) b = b.setColumnDictionaryEnabled(c, true);
  return writeParquet(WasmTable.fromIPCStream(arrow.tableToIPC(t, 'stream')), b.build());
}

const codecs: [string, () => Uint8Array][] = [
  ['ZSTD', () => encodeParquet(table, dict, { codec: 'ZSTD' })],
  ['SNAPPY', () => encodeParquet(table, dict, { codec: 'SNAPPY' })],
  ['GZIP', () => gzip(table)],
  ['UNCOMPRESSED', () => encodeParquet(table, dict, { codec: 'UNCOMPRESSED' })],
];
const res: Record<string, { bytes: number; ms: number }> = {};
for (const [name, f] of codecs) f(); // warm up the wasm module and JIT
for (const [name, f] of codecs) {
  const times: number[] = [];
  let bytes = 0;
  for (let i = 0; i < reps; i++) {
    const t = process.hrtime.bigint();
    bytes = f().byteLength;
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  times.sort((a, b) => a - b);
  res[name] = { bytes, ms: times[Math.floor(times.length / 2)]! };
}
console.log(JSON.stringify({ bench: 'parquet', rows: rows.length, columns: SIGNAL_ROW_COLUMNS.length, reps }));
for (const [name, r] of Object.entries(res)) console.log(`${name.padEnd(13)} ${String(r.bytes).padStart(10)} bytes  ${(r.bytes / rows.length).toFixed(1).padStart(6)} B/row  median write ${r.ms.toFixed(1).padStart(7)} ms`);
const z = res.ZSTD!;
const sn = res.SNAPPY!;
const gz = res.GZIP!;
const un = res.UNCOMPRESSED!;
console.log(`ratio bytes ZSTD/SNAPPY = ${(z.bytes / sn.bytes).toFixed(3)}  ZSTD/GZIP = ${(z.bytes / gz.bytes).toFixed(3)}  ZSTD/UNCOMPRESSED = ${(z.bytes / un.bytes).toFixed(3)}`);
console.log(`ratio write time ZSTD/SNAPPY = ${(z.ms / sn.ms).toFixed(2)}  ZSTD/GZIP = ${(z.ms / gz.ms).toFixed(2)}`);
