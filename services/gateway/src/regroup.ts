// The signals topic carries one `levels.signals.v1` row per level per snap tick; the dashboard wants the §6.4 payload
// (one per tick). `fromSignalRows` is the pure inverse of core's `toSignalRows`, `TickRegrouper` collects rows off
// a partition into ticks, and `PendingEvents` puts the events topic's BREAK/REJECT calls back on those payloads. Pure: no clock, no I/O — the Kafka source decides when a lingering tick is flushed.
import type { LevelEvent, LevelPhysicsPayload, LevelSignal, SignalRow } from '@snap/core';

export class RegroupError extends Error {
  constructor(
    message: string,
    /** Index of the offending row in the input. */
    readonly rowIndex: number,
  ) {
    super(message);
    this.name = 'RegroupError';
  }
}

/** ms of the tick, as the engine derives it (floor of ns / 1e6; ticks are whole ms, so exact). */
const tsMs = (ns: bigint): number => Number(ns / 1_000_000n);

export function rowToLevelSignal(r: SignalRow): LevelSignal {
  return {
    id: r.level_id,
    price: r.level_price,
    kind: r.level_kind,
    direction: r.direction,
    distance: r.distance,
    break_score_raw: r.break_score_raw,
    break_score_smooth: r.break_score_smooth,
    signal: r.signal,
    confidence: r.confidence,
    barrier: {
      state: r.barrier_state,
      delta_liq: r.barrier_delta_liq,
      delta_liq_raw: r.barrier_delta_liq_raw,
      replenishment_ratio: r.barrier_replenishment_ratio,
      replenishment_ratio_raw: r.barrier_replenishment_ratio_raw,
      added: r.barrier_added,
      canceled: r.barrier_canceled,
      filled: r.barrier_filled,
      // toSignalRows flattens defending_quote into two nullable columns; both null ⇔ no defending quote.
      defending_quote: r.barrier_defending_price === null || r.barrier_defending_size === null ? null : { price: r.barrier_defending_price, size: r.barrier_defending_size },
    },
    tape: {
      imbalance: r.tape_imbalance,
      buy_vol: r.tape_buy_vol,
      sell_vol: r.tape_sell_vol,
      velocity: r.tape_velocity,
      velocity_raw: r.tape_velocity_raw,
      sweep: { detected: r.tape_sweep_detected, direction: r.tape_sweep_direction, notional: r.tape_sweep_notional, venues: r.tape_sweep_venues, window_ms: r.tape_sweep_window_ms },
    },
    fuel: {
      effect: r.fuel_effect,
      net_dealer_gamma: r.fuel_net_dealer_gamma,
      net_dealer_gamma_raw: r.fuel_net_dealer_gamma_raw,
      call_wall: r.fuel_call_wall,
      put_wall: r.fuel_put_wall,
      hvl: r.fuel_hvl,
    },
    runway: {
      direction: r.runway_direction,
      // toSignalRows flattens next_obstacle into two nullable columns; both null ⇔ no obstacle.
      next_obstacle: r.runway_next_level_id === null || r.runway_next_level_price === null ? null : { id: r.runway_next_level_id, price: r.runway_next_level_price },
      distance: r.runway_distance,
      quality: r.runway_quality,
    },
    note: r.note,
  };
}

/**
 * Rows of ONE tick of ONE underlying (in level order) → the §6.4 payload; `fromSignalRows(toSignalRows(p))` deep-equals
 * `p` for every payload with at least one level (a tick without levels has no rows, so it cannot be rebuilt).
 */
export function fromSignalRows(rows: readonly SignalRow[]): LevelPhysicsPayload {
  const first = rows[0];
  if (!first) throw new RegroupError('fromSignalRows: no rows (a tick without levels has no rows to rebuild it from)', 0);
  rows.forEach((r, i) => {
    if (r.underlying !== first.underlying || r.ts_event_ns !== first.ts_event_ns) {
      throw new RegroupError(
        `fromSignalRows: row ${i} is (${r.underlying}, ${r.ts_event_ns}) but row 0 is (${first.underlying}, ${first.ts_event_ns}); rows of one tick only`,
        i,
      );
    }
  });
  return {
    ts: tsMs(first.ts_event_ns),
    ts_event_ns: first.ts_event_ns.toString(),
    underlying: first.underlying,
    spy: { spot: first.spot, bid: first.bid, ask: first.ask },
    levels: rows.map(rowToLevelSignal),
  };
}

interface OpenTick {
  ts: bigint;
  rows: SignalRow[];
  /** Already broadcast once (flushed by linger); later rows of the same tick re-emit it, extended. */
  emitted: boolean;
}

/**
 * Collects rows into ticks per underlying. A tick is complete when a row of a later tick of the same underlying
 * arrives (the processor writes a partition in event-time order, and all of an underlying's rows share a partition).
 * The last tick has no successor yet: the caller flushes it after a quiet period (`flush`). Rows of a tick that was
 * already flushed re-emit it with the extra levels (an early flush never loses levels, it only shows them sooner).
 * A row older than the open tick (a replay or a second writer) is counted in `stale` and dropped.
 */
export class TickRegrouper {
  private readonly open = new Map<string, OpenTick>();
  stale = 0;

  /** Returns the payloads this row completed (or re-completed). */
  push(row: SignalRow): LevelPhysicsPayload[] {
    const cur = this.open.get(row.underlying);
    if (!cur) {
      this.open.set(row.underlying, { ts: row.ts_event_ns, rows: [row], emitted: false });
      return [];
    }
    if (row.ts_event_ns === cur.ts) {
      // A redelivered row (a consumer seek or retry) replaces its earlier copy: regrouping is idempotent.
      const i = cur.rows.findIndex((r) => r.level_id === row.level_id);
      if (i >= 0) cur.rows[i] = row;
      else cur.rows.push(row);
      // Already shown: show the extended tick at once rather than wait for a successor that may be 250 ms away.
      return cur.emitted ? [fromSignalRows(cur.rows)] : [];
    }
    if (row.ts_event_ns < cur.ts) {
      this.stale++;
      return [];
    }
    this.open.set(row.underlying, { ts: row.ts_event_ns, rows: [row], emitted: false });
    return cur.emitted ? [] : [fromSignalRows(cur.rows)];
  }

  /** Emits every open tick not yet emitted (optionally for one underlying); the ticks stay open for late rows. */
  flush(underlying?: string): LevelPhysicsPayload[] {
    const out: LevelPhysicsPayload[] = [];
    for (const [u, t] of this.open) {
      if (underlying !== undefined && u !== underlying) continue;
      if (t.emitted) continue;
      t.emitted = true;
      out.push(fromSignalRows(t.rows));
    }
    return out;
  }

  /** Whether a tick is waiting to be flushed. */
  get pending(): boolean {
    for (const t of this.open.values()) if (!t.emitted) return true;
    return false;
  }

  /** Forget everything (a partition reassignment: positions restart elsewhere). */
  reset(): void {
    this.open.clear();
  }
}

/**
 * BREAK/REJECT events from `levels.events.v1` waiting for a payload to ride on. The processor writes an event in the
 * same transaction as the rows of its tick, but the two topics are read independently: an event may arrive before
 * its tick's rows (it waits for that tick) or after the tick was shown (it rides on the next payload of its
 * underlying). The dashboard places an event by its own ts_event_ns and counts it once by event_id, so a later
 * carrier changes nothing it shows.
 */
export class PendingEvents {
  private events: LevelEvent[] = [];

  add(e: LevelEvent): void {
    this.events.push(e);
  }

  get size(): number {
    return this.events.length;
  }

  /** Removes and returns, in arrival order, the events of p's underlying at or before p's tick. */
  takeFor(p: LevelPhysicsPayload): LevelEvent[] {
    if (!this.events.length) return [];
    const ts = BigInt(p.ts_event_ns);
    const out: LevelEvent[] = [];
    const keep: LevelEvent[] = [];
    for (const e of this.events) (e.underlying === p.underlying && BigInt(e.ts_event_ns) <= ts ? out : keep).push(e);
    this.events = keep;
    return out;
  }

  reset(): void {
    this.events = [];
  }
}
