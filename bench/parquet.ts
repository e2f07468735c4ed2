// Row `parquet`: Gold rows (a simulated session through the engine) → ZSTD Parquet bytes by the lake writer
// (writeParquetRows: row objects → Arrow columns → parquet-wasm), against DuckDB writing the same rows from a table
// already in memory: `COPY … TO … (FORMAT parquet, COMPRESSION zstd)` with threads = 1. Both are measured as
// CPU time (process.cpuUsage, user + system; DuckDB runs in this process) over `reps` runs each, interleaved, and the
// best run of each is reported, after WARM_UP untimed runs of each, interleaved too: a process's first writes of
// either side run several times slower (ours 0.10-0.20M rows/s, DuckDB's 0.18-0.45M, then 0.36-0.39M and 0.64-0.70M
// from about the sixth pair on), V8 resizing its heap against parquet-wasm's and DuckDB's memory, with collections
// and concurrent marking in the CPU time of both; with one warm-up the best of 5 timed that settling in some
// processes (ratios 0.27-0.97 over seven processes). A lake sink writes file after file: the settled rate is its rate.
// Notes carry both file sizes (goal: ours no larger) and the median rates.
//   npm run bench -- parquet            (BENCH_PARQUET_MINUTES=60, BENCH_PARQUET_REPS=5 by default)
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { defaultConfig, runCore, simulateSession, toSignalRows, type SignalRow } from '@snap/core';
import { SIGNAL_ROW_COLUMNS, writeParquetRows } from '@snap/platform';
import { cpuSeconds, cpuSecondsAsync, recordResult } from './results';

const minutes = Number(process.env.BENCH_PARQUET_MINUTES ?? process.argv[2] ?? 60);
const reps = Math.max(2, Number(process.env.BENCH_PARQUET_REPS ?? process.argv[3] ?? 5));
const WARM_UP = 5;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const rows: SignalRow[] = runCore(defaultConfig(), 'SPY', simulateSession({ seed: 1, durationMs: minutes * 60_000 })).flatMap(toSignalRows);
  const dir = mkdtempSync(join(tmpdir(), 'snap-bench-parquet-'));
  try {
    const oursPath = join(dir, 'ours.parquet');
    const duckPath = join(dir, 'duckdb.parquet');
    const meta = { schema: 'levels.signals.v1', underlying: 'SPY' };
    const write = () => void writeParquetRows(oursPath, SIGNAL_ROW_COLUMNS, rows, { codec: 'ZSTD', metadata: meta });
    /** CPU seconds of the untimed warm-up runs (the note gives them: what a fresh process pays). */
    const warmOurs = [cpuSeconds(write)];
    const warmPeer: number[] = [];
    const inst = await DuckDBInstance.create(':memory:', { threads: '1' });
    const con = await inst.connect();
    // The peer's input: the very same rows, loaded into a DuckDB table (not timed) from the file we just wrote.
    await con.run(`CREATE TABLE signals AS SELECT * FROM read_parquet('${oursPath}')`);
    const copy = async () => void (await con.run(`COPY signals TO '${duckPath}' (FORMAT parquet, COMPRESSION zstd)`));
    for (let i = 0; i < WARM_UP; i++) {
      if (i > 0) warmOurs.push(cpuSeconds(write)); // the first is the write above
      warmPeer.push(await cpuSecondsAsync(copy));
    }

    const ours: number[] = [];
    const peer: number[] = [];
    for (let i = 0; i < reps; i++) {
      ours.push(cpuSeconds(write));
      peer.push(await cpuSecondsAsync(copy));
    }
    const check = await con.runAndReadAll(`SELECT count(*)::INTEGER AS n FROM read_parquet('${oursPath}')`);
    const n = Number(check.getRows()[0]![0]);
    if (n !== rows.length) throw new Error(`bench parquet: our file reads back ${n} rows, wrote ${rows.length}`);
    con.closeSync();
    inst.closeSync();

    const oursBytes = statSync(oursPath).size;
    const peerBytes = statSync(duckPath).size;
    const rate = (s: number) => Math.round(rows.length / s);
    const best = (xs: number[]) => Math.min(...xs);
    recordResult({
      name: 'parquet',
      ours: rate(best(ours)),
      peer: rate(best(peer)),
      unit: 'rows/s',
      higher_is_better: true,
      notes:
        `${rows.length} Gold rows × ${SIGNAL_ROW_COLUMNS.length} columns (seed 1, ${minutes} min session); ours parquet-wasm ZSTD (arrow-rs default level, parquet-wasm 0.8 sets none; min/max statistics on integer/bool/string columns), DuckDB ZSTD at its default level (statistics on every column); ` +
        `best of ${reps} CPU-time runs each after ${WARM_UP} untimed ones (medians ${rate(median(ours))} vs ${rate(median(peer))} rows/s; ` +
        `the untimed ones, a fresh process settling: ours ${warmOurs.map(rate).join(', ')}, DuckDB ${warmPeer.map(rate).join(', ')} rows/s); ` +
        `DuckDB COPY single-threaded from an in-memory table; file bytes ours ${oursBytes} vs DuckDB ${peerBytes} (${(oursBytes / peerBytes).toFixed(3)}×)`,
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  process.stderr.write(`bench parquet: ${e instanceof Error ? e.stack : e}\n`);
  process.exit(1);
});
