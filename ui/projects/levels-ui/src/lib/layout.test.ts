import fc from 'fast-check';
import { spreadLabels } from './layout';

describe('spreadLabels (the strip never overprints a label)', () => {
  it('keeps every pair at least a pitch apart, in price order, inside the strip when they fit, and moves a lone label only to centre it', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0, max: 400, noNaN: true }), { maxLength: 12 }), fc.integer({ min: 10, max: 30 }), (ys, pitch) => {
        const h = 400;
        const out = spreadLabels(ys, pitch, h);
        expect(out).toHaveLength(ys.length);
        const order = ys.map((y, i) => ({ y, i })).sort((a, b) => a.y - b.y || a.i - b.i);
        const placed = order.map((o) => out[o.i]!).sort((a, b) => a - b);
        for (let k = 1; k < placed.length; k++) expect(placed[k]! - placed[k - 1]!).toBeGreaterThanOrEqual(pitch - 1e-9);
        if (ys.length * pitch <= h) for (const y of out) expect(y).toBeGreaterThanOrEqual(-1e-9), expect(y).toBeLessThanOrEqual(h - pitch + 1e-9);
        // A label whose price is far from the others stays centred on it.
        if (ys.length === 1 && ys[0]! >= pitch / 2 && ys[0]! <= h - pitch / 2) expect(out[0]).toBeCloseTo(ys[0]! - pitch / 2);
      }),
    );
  });

  it('SESSION_HIGH, VWAP, SESSION_LOW and spot one cent apart (the crowding the old ladder overprinted) get four separate rows', () => {
    const out = spreadLabels([200, 200.5, 201, 201.5], 18, 400);
    const sorted = [...out].sort((a, b) => a - b);
    expect(sorted[3]! - sorted[0]!).toBeGreaterThanOrEqual(54);
  });
});
