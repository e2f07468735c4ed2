// One result file for every benchmark: bench/results/latest.json holds a list of rows
// {name, ours, peer, ratio, unit, higher_is_better, notes}, each peer measured in the same run on the same input
// (these machines are shared and noisy, so only ratios within one run mean anything).
// A benchmark calls recordResult() per row; rows with the same name replace the previous ones, so running one
// benchmark alone refreshes its rows and keeps the others.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export interface BenchRow {
  name: string;
  ours: number;
  peer: number;
  /** ours / peer when higher is better, peer / ours otherwise: above 1 means we beat the peer. */
  ratio: number;
  unit: string;
  higher_is_better: boolean;
  notes: string;
  /** When the row was measured (ISO time), so a table mixing runs of single benchmarks says which is which. */
  at?: string;
  /** Set when the benchmark could not run (e.g. the Kafka stack is down): the reason; figures are then 0. */
  skipped?: string;
}

export const RESULTS_FILE = process.env.BENCH_RESULTS ?? join(__dirname, 'results', 'latest.json');

function readRows(): BenchRow[] {
  try {
    return JSON.parse(readFileSync(RESULTS_FILE, 'utf8')) as BenchRow[];
  } catch {
    return [];
  }
}

export function recordResult(row: Omit<BenchRow, 'ratio' | 'at' | 'skipped'> & { ratio?: number }): BenchRow {
  const ratio = row.ratio ?? (row.higher_is_better ? row.ours / row.peer : row.peer / row.ours);
  if (!Number.isFinite(row.ours) || !Number.isFinite(row.peer) || !Number.isFinite(ratio)) {
    throw new Error(`recordResult(${row.name}): ours ${row.ours}, peer ${row.peer}, ratio ${ratio} must be finite numbers`);
  }
  const full: BenchRow = { name: row.name, ours: row.ours, peer: row.peer, ratio: Number(ratio.toFixed(4)), unit: row.unit, higher_is_better: row.higher_is_better, notes: row.notes, at: new Date().toISOString() };
  writeRow(full);
  process.stderr.write(`[bench] ${full.name}: ours ${full.ours} ${full.unit} · peer ${full.peer} · ratio ${full.ratio}\n`);
  return full;
}

/** Records that row `name` was not measured in this run and why; the last measured figures stay in the note only. */
export function recordSkipped(name: string, reason: string): BenchRow {
  const prev = readRows().find((r) => r.name === name);
  const last = prev && !prev.skipped ? ` (last measured${prev.at ? ` ${prev.at}` : ''}: ours ${prev.ours} ${prev.unit}, peer ${prev.peer}, ratio ${prev.ratio})` : '';
  const full: BenchRow = { name, ours: 0, peer: 0, ratio: 0, unit: prev?.unit ?? '', higher_is_better: prev?.higher_is_better ?? true, notes: `${reason}${last}`, at: new Date().toISOString(), skipped: reason };
  writeRow(full);
  process.stderr.write(`[bench] ${name}: SKIPPED — ${reason}\n`);
  return full;
}

function writeRow(full: BenchRow): void {
  let rows = readRows();
  rows = rows.filter((r) => r.name !== full.name);
  rows.push(full);
  rows.sort((a, b) => a.name.localeCompare(b.name));
  mkdirSync(dirname(RESULTS_FILE), { recursive: true });
  const tmp = `${RESULTS_FILE}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(rows, null, 2)}\n`);
  renameSync(tmp, RESULTS_FILE);
}

/** CPU seconds (user + system) of this process spent in fn. */
export function cpuSeconds(fn: () => void): number {
  const a = process.cpuUsage();
  fn();
  const d = process.cpuUsage(a);
  return (d.user + d.system) / 1e6;
}

/** CPU seconds (user + system) of this process spent until fn's promise settles (other work on the loop counts too). */
export async function cpuSecondsAsync(fn: () => Promise<void>): Promise<number> {
  const a = process.cpuUsage();
  await fn();
  const d = process.cpuUsage(a);
  return (d.user + d.system) / 1e6;
}

/**
 * The least CPU seconds (cpuSecondsAsync) of `runs` runs of fn, after `warmUp` untimed ones (V8 compiles a path over
 * its first runs). fn gets the run's number, warm-ups first, from 0.
 */
export async function bestCpuSecondsAsync(runs: number, fn: (run: number) => Promise<void>, warmUp = 0): Promise<number> {
  for (let i = 0; i < warmUp; i++) await fn(i);
  let best = Infinity;
  for (let i = warmUp; i < warmUp + runs; i++) best = Math.min(best, await cpuSecondsAsync(() => fn(i)));
  return best;
}
