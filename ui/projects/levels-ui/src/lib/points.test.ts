import { pushPoint } from './points';
import type { HistoryPoint } from './types';

const pt = (ts: number, spot = 680): HistoryPoint => ({ ts, spot, levels: [] });

describe('pushPoint (one chart point per second of event time, like the gateway)', () => {
  it('replaces the point of the same second, appends a later one, ignores an older one, and caps the length', () => {
    const pts: HistoryPoint[] = [];
    pushPoint(pts, pt(1_000), 3);
    pushPoint(pts, pt(1_750, 681), 3);
    expect(pts).toEqual([pt(1_750, 681)]);
    pushPoint(pts, pt(2_000), 3);
    pushPoint(pts, pt(500), 3);
    expect(pts.map((p) => p.ts)).toEqual([1_750, 2_000]);
    pushPoint(pts, pt(3_000), 3);
    pushPoint(pts, pt(4_000), 3);
    expect(pts.map((p) => p.ts)).toEqual([2_000, 3_000, 4_000]);
  });
});
