// Fitting score.calibration (issue 9): an isotonic (pool-adjacent-violators) regression of the break rate on
// break_score_smooth over the reliability bins of an eval run, as knots [S̃, 100·P(break)]. The run must publish S̃
// itself (score.calibration []) and use tuning seeds only; the knots then go into the config (or DEFAULT_CALIBRATION).
import type { ReliabilityBin } from './metrics';

/** Bins with fewer readings than this are pooled with their neighbours before they can set a knot of their own. */
export const MIN_KNOT_READINGS = 200;

interface Block {
  n: number;
  sumX: number;
  breaks: number;
}

/**
 * Monotone map from the reliability bins (mean score and break rate per bin): adjacent bins are pooled while a bin
 * has fewer than `minReadings` readings or breaks less often than the one below it (PAV), and every pooled block
 * becomes one knot at its mean score and its break rate, both ×100 and rounded to 0.1.
 */
export function fitCalibration(bins: readonly ReliabilityBin[], minReadings = MIN_KNOT_READINGS): Array<[number, number]> {
  const blocks: Block[] = [];
  let pending: Block | null = null;
  for (const b of bins) {
    if (b.n === 0 || b.mean_score === null || b.break_rate === null) continue;
    const cur: Block = pending ?? { n: 0, sumX: 0, breaks: 0 };
    cur.n += b.n;
    cur.sumX += b.mean_score * b.n;
    cur.breaks += b.break_rate * b.n;
    if (cur.n < minReadings) {
      pending = cur;
      continue;
    }
    pending = null;
    blocks.push(cur);
    poolViolators(blocks);
  }
  if (pending) {
    if (blocks.length === 0) blocks.push(pending);
    else {
      const last = blocks[blocks.length - 1]!;
      last.n += pending.n;
      last.sumX += pending.sumX;
      last.breaks += pending.breaks;
    }
    poolViolators(blocks);
  }
  const knots: Array<[number, number]> = [];
  // Rounding can bring two knots to one S̃; the map must rise strictly in S̃, so the later one is dropped.
  for (const k of blocks) {
    const knot: [number, number] = [round1((100 * k.sumX) / k.n), round1((100 * k.breaks) / k.n)];
    if (knots.length === 0 || knot[0] > knots[knots.length - 1]![0]) knots.push(knot);
  }
  return knots;
}

function poolViolators(blocks: Block[]): void {
  while (blocks.length >= 2) {
    const a = blocks[blocks.length - 2]!;
    const b = blocks[blocks.length - 1]!;
    if (b.breaks / b.n >= a.breaks / a.n) break;
    a.n += b.n;
    a.sumX += b.sumX;
    a.breaks += b.breaks;
    blocks.pop();
  }
}

const round1 = (x: number): number => Math.round(x * 10) / 10;
