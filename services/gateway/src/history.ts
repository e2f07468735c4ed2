// What the gateway remembers of the session so a reloaded or late dashboard is not blank: per underlying one compact
// point per second of event time (spot, and each level's price, signal and smoothed score — enough for the chart's
// spot line, its level lines and the score sparklines) and every BREAK/REJECT event, over the last
// gateway.history_minutes of event time. Memory is bounded by the window: 30 min × 60 points × ~12 levels.
import type { LevelEvent, LevelPhysicsPayload, SignalName } from '@snap/core';

export interface HistoryLevel {
  id: string;
  price: number;
  signal: SignalName;
  score: number;
}

export interface HistoryPoint {
  ts: number;
  spot: number;
  levels: HistoryLevel[];
}

export interface UnderlyingHistory {
  underlying: string;
  from: number;
  points: HistoryPoint[];
  events: LevelEvent[];
}

interface Track {
  points: HistoryPoint[];
  /** Index of the first live point (points before it were evicted lazily, see compact()). */
  head: number;
  events: LevelEvent[];
}

export function eventTsMs(e: LevelEvent): number {
  return Number(BigInt(e.ts_event_ns) / 1_000_000n);
}

export class PayloadHistory {
  private readonly tracks = new Map<string, Track>();
  private readonly windowMs: number;

  constructor(minutes: number) {
    this.windowMs = Math.max(0, minutes) * 60_000;
  }

  get enabled(): boolean {
    return this.windowMs > 0;
  }

  add(p: LevelPhysicsPayload): void {
    if (!this.enabled) return;
    let t = this.tracks.get(p.underlying);
    if (!t) this.tracks.set(p.underlying, (t = { points: [], head: 0, events: [] }));
    const pt: HistoryPoint = { ts: p.ts, spot: p.spy.spot, levels: p.levels.map((l) => ({ id: l.id, price: l.price, signal: l.signal, score: l.break_score_smooth })) };
    const last = t.points.at(-1);
    if (last && Math.floor(last.ts / 1000) === Math.floor(p.ts / 1000)) t.points[t.points.length - 1] = pt;
    else if (!last || p.ts > last.ts) t.points.push(pt);
    else if (p.ts < last.ts - this.windowMs) {
      // Event time went back past the whole window: a new session (a replay restarted). Start over.
      t.points = [pt];
      t.head = 0;
      t.events = [];
    }
    for (const e of p.events ?? []) t.events.push(e);
    this.evict(t, p.ts);
  }

  /** Points with ts ≥ from (and every event at or after from), per underlying, oldest first. */
  since(from: number, underlying?: string | null): UnderlyingHistory[] {
    const out: UnderlyingHistory[] = [];
    for (const [u, t] of this.tracks) {
      if (underlying && u !== underlying) continue;
      const pts = t.points;
      // Binary search the first point at or after `from`.
      let lo = t.head;
      let hi = pts.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (pts[mid]!.ts < from) lo = mid + 1;
        else hi = mid;
      }
      out.push({ underlying: u, from, points: pts.slice(lo), events: t.events.filter((e) => eventTsMs(e) >= from) });
    }
    return out;
  }

  /** Retained points over all underlyings (for /healthz and the memory test). */
  get size(): number {
    let n = 0;
    for (const t of this.tracks.values()) n += t.points.length - t.head;
    return n;
  }

  private evict(t: Track, now: number): void {
    const cut = now - this.windowMs;
    while (t.head < t.points.length && t.points[t.head]!.ts < cut) t.head++;
    // Compact once the dead prefix is as long as the live part (amortised O(1) per point).
    if (t.head > 64 && t.head * 2 > t.points.length) {
      t.points = t.points.slice(t.head);
      t.head = 0;
    }
    if (t.events.length && eventTsMs(t.events[0]!) < cut) t.events = t.events.filter((e) => eventTsMs(e) >= cut);
  }
}
