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
}

export const RESULTS_FILE = process.env.BENCH_RESULTS ?? join(__dirname, 'results', 'latest.json');

export function recordResult(row: Omit<BenchRow, 'ratio'> & { ratio?: number }): BenchRow {
  const ratio = row.ratio ?? (row.higher_is_better ? row.ours / row.peer : row.peer / row.ours);
  const full: BenchRow = { name: row.name, ours: row.ours, peer: row.peer, ratio: Number(ratio.toFixed(4)), unit: row.unit, higher_is_better: row.higher_is_better, notes: row.notes };
  let rows: BenchRow[] = [];
  try {
    rows = JSON.parse(readFileSync(RESULTS_FILE, 'utf8')) as BenchRow[];
  } catch {
    rows = [];
  }
  rows = rows.filter((r) => r.name !== full.name);
  rows.push(full);
  rows.sort((a, b) => a.name.localeCompare(b.name));
  mkdirSync(dirname(RESULTS_FILE), { recursive: true });
  const tmp = `${RESULTS_FILE}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(rows, null, 2)}\n`);
  renameSync(tmp, RESULTS_FILE);
  process.stderr.write(`[bench] ${full.name}: ours ${full.ours} ${full.unit} · peer ${full.peer} · ratio ${full.ratio}\n`);
  return full;
}

/** CPU seconds (user + system) of this process spent in fn. */
export function cpuSeconds(fn: () => void): number {
  const a = process.cpuUsage();
  fn();
  const d = process.cpuUsage(a);
  return (d.user + d.system) / 1e6;
}
