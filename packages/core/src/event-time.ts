// Event-time helpers for benchmarks and guards: a denser market from the simulator without a new simulator mode.
import type { InputEvent } from './events';

/**
 * The events with event time (ts_event_ns, ts_recv_ns) compressed `factor`× around the first event, so the same
 * stream arrives `factor` times as densely per second of event time (per snap tick). Order is kept (integer division
 * is monotonic); other fields are untouched.
 */
export function compressEventTime(events: readonly InputEvent[], factor: number): InputEvent[] {
  if (!(Number.isInteger(factor) && factor >= 1)) throw new RangeError(`compressEventTime: factor must be a positive integer, got ${factor}`);
  if (factor === 1 || events.length === 0) return [...events];
  const t0 = events[0]!.ts_event_ns;
  const f = BigInt(factor);
  const map = (t: bigint) => t0 + (t - t0) / f;
  return events.map((e) => ({ ...e, ts_event_ns: map(e.ts_event_ns), ts_recv_ns: map(e.ts_recv_ns) }));
}
