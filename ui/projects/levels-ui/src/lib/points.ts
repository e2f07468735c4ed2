// History points in the browser (no Angular): the same reduction the gateway applies (services/gateway/src/history.ts).
import type { HistoryPoint, LevelPhysicsPayload } from './types';

/** The compact history point of a payload (the same reduction the gateway applies). */
export function toHistoryPoint(p: LevelPhysicsPayload): HistoryPoint {
  return { ts: p.ts, spot: p.spy.spot, levels: p.levels.map((l) => ({ id: l.id, price: l.price, signal: l.signal, score: l.break_score_smooth })) };
}

/** Appends a point keeping one per second of event time (the chart's resolution): a point in the same second replaces the last. */
export function pushPoint(points: HistoryPoint[], pt: HistoryPoint, max: number): void {
  const last = points.at(-1);
  if (last && Math.floor(last.ts / 1000) === Math.floor(pt.ts / 1000)) points[points.length - 1] = pt;
  else if (!last || pt.ts > last.ts) points.push(pt);
  else return; // older than what we have: history already covers it
  if (points.length > max) points.splice(0, points.length - max);
}
