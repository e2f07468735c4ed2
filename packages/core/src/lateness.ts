// THE rule for late and out-of-order input (issue 8), shared by every path that admits events: `run` and the demo
// (the embedded runner), the Kafka processor and replay (PartitionGroupTask). Pure and deterministic: the verdict
// depends only on the records of the same stream seen before, so the same log gives the same verdicts everywhere.
//
// A stream is (input schema, underlying key): one Kafka topic's records of one underlying, which all land in one
// partition (key = underlying) — so the rule does not depend on the partition count. Heartbeats travel on every
// input topic; they advance the watermark of their key (or of every key of the stream when keyed '' or '*') and are
// never late themselves (a heartbeat below the watermark says nothing new and is passed through untouched).
//
// A data record with ts_event_ns below its stream's watermark (the largest ts seen on the stream) is late by
// d = watermark − ts:
//   - d ≤ ordering.late_tolerance_ms, or ordering.late_policy = clamp → CLAMPED: accepted with ts_event_ns set to the
//     watermark (its data arrives "now" in event time: the engines see a stream that never goes back, and the merge
//     keeps its offset order);
//   - otherwise (late_policy = dead_letter) → LATE: dead-lettered with the reason, never applied.
// The watermark itself only moves forward (a clamped record does not move it).
import type { DataInputSchema, InputEvent } from './events';

export type LatePolicy = 'dead_letter' | 'clamp';

export interface LatenessRule {
  policy: LatePolicy;
  /** Records late by at most this many ns are clamped whatever the policy. */
  toleranceNs: bigint;
}

export type LateVerdict =
  | { kind: 'ok'; event: InputEvent }
  | { kind: 'clamped'; event: InputEvent; lateByNs: bigint; originalTsNs: bigint }
  | { kind: 'late'; reason: string; lateByNs: bigint };

export const latenessRuleOf = (cfg: { ordering: { late_policy: LatePolicy; late_tolerance_ms: number } }): LatenessRule => ({
  policy: cfg.ordering.late_policy,
  toleranceNs: BigInt(Math.round(cfg.ordering.late_tolerance_ms)) * 1_000_000n,
});

const isWildcard = (key: string): boolean => key === '' || key === '*';

export class LatenessGuard {
  /** stream → key → watermark (largest ts_event_ns seen). */
  private readonly marks = new Map<string, Map<string, bigint>>();

  constructor(readonly rule: LatenessRule) {}

  private streamMarks(stream: DataInputSchema | string): Map<string, bigint> {
    let m = this.marks.get(stream);
    if (!m) {
      m = new Map();
      this.marks.set(stream, m);
    }
    return m;
  }

  /** The watermark of (stream, key), if any record of it was seen. */
  watermark(stream: DataInputSchema | string, key: string): bigint | undefined {
    return this.marks.get(stream)?.get(key);
  }

  /** Raises a watermark (restore from a snapshot). */
  advance(stream: DataInputSchema | string, key: string, tsNs: bigint): void {
    const m = this.streamMarks(stream);
    if (isWildcard(key)) {
      for (const [k, w] of m) if (tsNs > w) m.set(k, tsNs);
      return;
    }
    const w = m.get(key);
    if (w === undefined || tsNs > w) m.set(key, tsNs);
  }

  /** Verdict for one record arriving on `stream` (its topic's data schema), and the watermark update it implies. */
  check(stream: DataInputSchema | string, ev: InputEvent): LateVerdict {
    if (ev.schema === 'heartbeat.v1') {
      this.advance(stream, ev.key, ev.ts_event_ns);
      return { kind: 'ok', event: ev };
    }
    const m = this.streamMarks(stream);
    const w = m.get(ev.key);
    if (w === undefined || ev.ts_event_ns >= w) {
      m.set(ev.key, ev.ts_event_ns);
      return { kind: 'ok', event: ev };
    }
    const lateBy = w - ev.ts_event_ns;
    if (lateBy <= this.rule.toleranceNs || this.rule.policy === 'clamp') {
      return { kind: 'clamped', event: { ...ev, ts_event_ns: w }, lateByNs: lateBy, originalTsNs: ev.ts_event_ns };
    }
    return {
      kind: 'late',
      lateByNs: lateBy,
      reason: `late record: ts_event_ns ${ev.ts_event_ns} is ${formatNs(lateBy)} behind ${w} already seen on ${stream} for ${ev.key} (ordering.late_policy=dead_letter, tolerance ${formatNs(this.rule.toleranceNs)})`,
    };
  }

  /** Plain data for a snapshot: stream → key → watermark (decimal ns). */
  snapshot(): Record<string, Record<string, string>> {
    const out: Record<string, Record<string, string>> = {};
    for (const [s, m] of [...this.marks].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      out[s] = Object.fromEntries([...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => [k, v.toString()]));
    }
    return out;
  }

  static restore(rule: LatenessRule, snap: Record<string, Record<string, string>> | undefined): LatenessGuard {
    const g = new LatenessGuard(rule);
    for (const [s, keys] of Object.entries(snap ?? {})) for (const [k, v] of Object.entries(keys)) g.streamMarks(s).set(k, BigInt(v));
    return g;
  }
}

function formatNs(ns: bigint): string {
  const ms = Number(ns) / 1e6;
  return ms >= 1000 ? `${(ms / 1000).toFixed(3)} s` : `${ms} ms`;
}
