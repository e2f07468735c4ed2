// Producer-side ordering rules (DESIGN decision 2): every (stream, key) partition is non-decreasing in ts_event_ns,
// and idle streams still advance event time through heartbeats. Pure: no clock, no I/O, so replays decide the same.
import { makeEventId, type Heartbeat, type Source } from '@snap/core';

export type LatePolicy = 'dead_letter' | 'clamp';

export type OrderDecision =
  | { action: 'accept' }
  | { action: 'clamp'; original_ts_ns: bigint; clamped_ts_ns: bigint }
  | { action: 'dead_letter'; reason: string; last_ts_ns: bigint };

const pk = (stream: string, key: string) => `${stream}|${key}`;

/**
 * Remembers the last ts_event_ns written to each (stream, key) partition. `check` only decides; `commit` records a
 * write, so a record that is then dead-lettered for another reason (e.g. it cannot be encoded) does not move time.
 */
export class PartitionOrderGuard {
  private readonly last = new Map<string, bigint>();

  constructor(readonly policy: LatePolicy) {}

  check(stream: string, key: string, ts: bigint): OrderDecision {
    const last = this.last.get(pk(stream, key));
    if (last === undefined || ts >= last) return { action: 'accept' };
    if (this.policy === 'clamp') return { action: 'clamp', original_ts_ns: ts, clamped_ts_ns: last };
    return {
      action: 'dead_letter',
      last_ts_ns: last,
      reason: `late record: ts_event_ns ${ts} is ${last - ts} ns before the last record of partition ${stream} key ${key} (${last})`,
    };
  }

  commit(stream: string, key: string, ts: bigint): void {
    const k = pk(stream, key);
    const last = this.last.get(k);
    if (last === undefined || ts > last) this.last.set(k, ts);
  }

  lastTs(stream: string, key: string): bigint | undefined {
    return this.last.get(pk(stream, key));
  }

  /** For the resume file: a restarted replay keeps enforcing order against what it already produced. */
  snapshot(): Record<string, string> {
    return Object.fromEntries([...this.last].map(([k, v]) => [k, v.toString()]));
  }

  restore(snap: Record<string, string>): void {
    for (const [k, v] of Object.entries(snap)) this.last.set(k, BigInt(v));
  }
}

/**
 * Heartbeat cadence: one heartbeat per key per cadence boundary of EVENT time (default: the snap tick).
 *
 * Replay feeds call `beforeEvent` with each record: when a record at T crosses one or more boundaries since the last
 * heartbeat, one heartbeat at the latest boundary b = floor(T / cadence) * cadence is written first (a gap of many
 * ticks yields one heartbeat, not one per tick: the watermark only needs to reach b). Because the feed is in event-time
 * order, nothing older than b is produced afterwards, so b is a true lower bound for every stream of that key.
 *
 * Live feeds additionally call `onWallClock` on a timer: an idle market still advances to floor((now - lag) / cadence),
 * where `lag` leaves room for vendor records still in flight (a record older than a heartbeat already sent is late).
 */
export class HeartbeatScheduler {
  private readonly cadenceNs: bigint;
  private readonly last = new Map<string, bigint>();

  constructor(cadenceMs: number) {
    if (!Number.isInteger(cadenceMs) || cadenceMs <= 0) throw new RangeError(`heartbeat cadence must be a positive integer ms, got ${cadenceMs}`);
    this.cadenceNs = BigInt(cadenceMs) * 1_000_000n;
  }

  boundary(ts: bigint): bigint {
    // floor division that also holds for negative ts (BigInt division truncates toward zero)
    const q = ts / this.cadenceNs;
    return (ts < 0n && q * this.cadenceNs !== ts ? q - 1n : q) * this.cadenceNs;
  }

  /** The heartbeat ts to write before a record of `key` at `ts`, or null when no new boundary was crossed. */
  beforeEvent(key: string, ts: bigint): bigint | null {
    return this.advance(key, this.boundary(ts));
  }

  onWallClock(key: string, nowNs: bigint, lagMs: number): bigint | null {
    return this.advance(key, this.boundary(nowNs - BigInt(lagMs) * 1_000_000n));
  }

  /** A heartbeat written by other means (e.g. the simulator's own) counts as the latest for its key. */
  note(key: string, ts: bigint): void {
    const last = this.last.get(key);
    if (last === undefined || ts > last) this.last.set(key, ts);
  }

  lastHeartbeat(key: string): bigint | undefined {
    return this.last.get(key);
  }

  snapshot(): Record<string, string> {
    return Object.fromEntries([...this.last].map(([k, v]) => [k, v.toString()]));
  }

  restore(snap: Record<string, string>): void {
    for (const [k, v] of Object.entries(snap)) this.last.set(k, BigInt(v));
  }

  private advance(key: string, b: bigint): bigint | null {
    const last = this.last.get(key);
    if (last !== undefined && b <= last) return null;
    this.last.set(key, b);
    return b;
  }
}

/** A heartbeat is identified by (source, key, ts) so a replay writes the same event_id again. */
export function makeHeartbeat(key: string, ts_event_ns: bigint, source: Source, ts_recv_ns: bigint): Heartbeat {
  return {
    schema: 'heartbeat.v1',
    schema_version: 1,
    source,
    ts_event_ns,
    ts_recv_ns,
    key,
    seq: null,
    event_id: makeEventId({ source, ts_event_ns, symbol: `heartbeat:${key}` }),
  };
}
