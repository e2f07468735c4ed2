import fc from 'fast-check';
import { ewmaAlpha, newSmoother, smoothStep } from './smoothing';

describe('EWMA smoothing (§5.6)', () => {
  it('α = 1 − exp(−Δt/τ) with τ = half-life / ln 2: one half-life moves halfway', () => {
    expect(ewmaAlpha(1_000_000_000, 1000)).toBeCloseTo(0.5, 12);
    expect(ewmaAlpha(2_000_000_000, 1000)).toBeCloseTo(0.75, 12);
    expect(ewmaAlpha(0, 1000)).toBe(0);
    const s = newSmoother();
    expect(smoothStep(s, 100, 0, { halfLifeMs: 1000, robustWindow: null })).toBe(100);
    expect(smoothStep(s, 0, 1_000_000_000, { halfLifeMs: 1000, robustWindow: null })).toBeCloseTo(50, 9);
  });

  it('the result does not depend on the tick rate (two half-steps = one full step for a constant input)', () => {
    const a = newSmoother();
    const b = newSmoother();
    const o = { halfLifeMs: 800, robustWindow: null };
    smoothStep(a, 0, 0, o);
    smoothStep(b, 0, 0, o);
    smoothStep(a, 10, 500_000_000, o);
    smoothStep(a, 10, 1_000_000_000, o);
    // b jumps straight to t = 1 s with the same (constant) input
    expect(smoothStep(b, 10, 1_000_000_000, o)).toBeCloseTo(a.value!, 12);
  });

  it('robust median removes a single-tick spike', () => {
    const s = newSmoother();
    const o = { halfLifeMs: 1, robustWindow: 5 }; // tiny half-life: output ≈ the robust input
    let out = 0;
    [10, 10, 10, 1000, 10].forEach((x, i) => (out = smoothStep(s, x, (i + 1) * 1_000_000_000, o)));
    expect(out).toBeCloseTo(10, 6);
  });

  it('property: output stays within [min, max] of the inputs (plain and robust)', () => {
    const series = fc.array(fc.tuple(fc.double({ min: -1e9, max: 1e9, noNaN: true }), fc.integer({ min: 0, max: 10_000 })), { minLength: 1, maxLength: 60 });
    fc.assert(
      fc.property(series, fc.integer({ min: 1, max: 100_000 }), fc.boolean(), (xs, hl, robust) => {
        const s = newSmoother();
        let t = 0;
        let lo = Infinity;
        let hi = -Infinity;
        for (const [x, dt] of xs) {
          t += dt * 1_000_000;
          lo = Math.min(lo, x);
          hi = Math.max(hi, x);
          const y = smoothStep(s, x, t, { halfLifeMs: hl, robustWindow: robust ? 5 : null });
          const tol = 1e-9 * Math.max(1, Math.abs(lo), Math.abs(hi));
          if (y < lo - tol || y > hi + tol) return false;
        }
        return true;
      }),
      { numRuns: 1000 },
    );
  });
});
