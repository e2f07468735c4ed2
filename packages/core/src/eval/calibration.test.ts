import { fitCalibration } from './calibration';
import { calibrateScore } from '../score';
import { parseConfig } from '../config';

const bin = (lo: number, n: number, mean: number, rate: number) => ({ lo, hi: lo + 0.1, n, mean_score: mean, break_rate: rate });

describe('score.calibration fit (isotonic over reliability bins)', () => {
  it('pools a bin that breaks less often than the one below it, and bins too small for a knot of their own', () => {
    const knots = fitCalibration([bin(0, 50, 0.05, 1), bin(0.2, 1000, 0.25, 0.4), bin(0.3, 1000, 0.35, 0.6), bin(0.4, 1000, 0.45, 0.5), bin(0.6, 1000, 0.65, 0.8)]);
    // 50 readings at 0.05 join the 0.25 bin: (50·1 + 1000·0.4)/1050; 0.6 and 0.5 pool to 0.55 at mean 0.40.
    expect(knots).toEqual([
      [24.0, 42.9],
      [40, 55],
      [65, 80],
    ]);
    for (let i = 1; i < knots.length; i++) expect(knots[i]![1]).toBeGreaterThanOrEqual(knots[i - 1]![1]);
    expect(() => parseConfig({ score: { calibration: knots } })).not.toThrow();
  });

  it('maps S̃ linearly between knots and flat beyond them; [] publishes S̃', () => {
    const k: Array<[number, number]> = [
      [20, 40],
      [60, 60],
    ];
    expect(calibrateScore(10, k)).toBe(40);
    expect(calibrateScore(40, k)).toBe(50);
    expect(calibrateScore(90, k)).toBe(60);
    expect(calibrateScore(37.5, [])).toBe(37.5);
  });

  it('refuses a map that is not monotone, naming the key', () => {
    expect(() => parseConfig({ score: { calibration: [[20, 60], [40, 50]] } })).toThrow(/score\.calibration/);
    expect(() => parseConfig({ score: { calibration: [[40, 50], [40, 60]] } })).toThrow(/score\.calibration/);
  });
});
