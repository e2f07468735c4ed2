// Canonical signal rows and parity reports: how two runs (Kafka vs embedded, failover vs uninterrupted, replay vs
// original) are compared. A row's canonical form is stable JSON (sorted keys, bigint as decimal string), so "equal"
// means byte-equal text. Rows are compared per underlying in emission order: across underlyings the interleaving
// depends on partitioning, within one it is the engine's own order.
import { readFileSync } from 'node:fs';
import { toSignalRows, type LevelEvent, type LevelPhysicsPayload, type SignalRow } from '@snap/core';

export function canonicalRow(row: SignalRow): string {
  const keys = Object.keys(row).sort() as (keyof SignalRow)[];
  const o: Record<string, unknown> = {};
  for (const k of keys) {
    const v = row[k];
    o[k] = typeof v === 'bigint' ? v.toString() : v;
  }
  return JSON.stringify(o);
}

/** A discrete event's canonical form: stable JSON with sorted keys (its ts_event_ns is already a decimal string). */
export function canonicalEvent(e: LevelEvent): string {
  const o: Record<string, unknown> = {};
  for (const k of Object.keys(e).sort()) o[k] = (e as unknown as Record<string, unknown>)[k];
  return JSON.stringify(o);
}

export interface ParityReport {
  /** Rows present on both sides at the same position (per underlying). */
  compared: number;
  equal: number;
  expected_rows: number;
  actual_rows: number;
  underlyings: string[];
  identical: boolean;
  first_difference: null | { underlying: string; index: number; expected: string | null; actual: string | null };
}

function groupBy<T extends { underlying: string }>(items: Iterable<T>, canonical: (x: T) => string): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const r of items) {
    let l = m.get(r.underlying);
    if (!l) m.set(r.underlying, (l = []));
    l.push(canonical(r));
  }
  return m;
}

export function compareRows(expected: Iterable<SignalRow>, actual: Iterable<SignalRow>): ParityReport {
  return compareGrouped(groupBy(expected, canonicalRow), groupBy(actual, canonicalRow));
}

/** The same comparison for discrete events (levels.events.v1): per underlying, in emission order. */
export function compareEvents(expected: Iterable<LevelEvent>, actual: Iterable<LevelEvent>): ParityReport {
  return compareGrouped(groupBy(expected, canonicalEvent), groupBy(actual, canonicalEvent));
}

function compareGrouped(e: Map<string, string[]>, a: Map<string, string[]>): ParityReport {
  const underlyings = [...new Set([...e.keys(), ...a.keys()])].sort();
  let compared = 0;
  let equal = 0;
  let expectedRows = 0;
  let actualRows = 0;
  let first: ParityReport['first_difference'] = null;
  for (const u of underlyings) {
    const el = e.get(u) ?? [];
    const al = a.get(u) ?? [];
    expectedRows += el.length;
    actualRows += al.length;
    const n = Math.max(el.length, al.length);
    for (let i = 0; i < n; i++) {
      const x = el[i] ?? null;
      const y = al[i] ?? null;
      if (x !== null && y !== null) compared++;
      if (x !== null && x === y) equal++;
      else if (!first) first = { underlying: u, index: i, expected: x, actual: y };
    }
  }
  return { compared, equal, expected_rows: expectedRows, actual_rows: actualRows, underlyings, identical: first === null, first_difference: first };
}

export function formatParityReport(r: ParityReport, labels: { expected: string; actual: string }): string {
  const lines = [
    `parity: ${r.identical ? 'IDENTICAL' : 'DIFFERENT'}`,
    `  expected (${labels.expected}): ${r.expected_rows} rows`,
    `  actual   (${labels.actual}): ${r.actual_rows} rows`,
    `  compared: ${r.compared}, equal: ${r.equal}, underlyings: ${r.underlyings.join(',') || '-'}`,
  ];
  if (r.first_difference) {
    const d = r.first_difference;
    lines.push(`  first difference: ${d.underlying} row #${d.index}`, `    expected: ${d.expected ?? '(missing)'}`, `    actual:   ${d.actual ?? '(missing)'}`);
  }
  return lines.join('\n');
}

/**
 * Signal rows from a JSONL file: either §6.4 payload lines (`snap-engine run --out`) or flat SignalRow lines
 * (ts_event_ns as a decimal string).
 */
export function readSignalRowsJsonl(path: string): SignalRow[] {
  const rows: SignalRow[] = [];
  const text = readFileSync(path, 'utf8');
  let lineNo = 0;
  for (const line of text.split('\n')) {
    lineNo++;
    if (!line.trim()) continue;
    let o: Record<string, unknown>;
    try {
      o = JSON.parse(line) as Record<string, unknown>;
    } catch (e) {
      throw new Error(`${path}:${lineNo}: not JSON: ${(e as Error).message}`);
    }
    if (Array.isArray(o.levels)) rows.push(...toSignalRows(o as unknown as LevelPhysicsPayload));
    else if (typeof o.level_id === 'string') rows.push({ ...(o as unknown as SignalRow), ts_event_ns: BigInt(o.ts_event_ns as string) });
    else throw new Error(`${path}:${lineNo}: neither a §6.4 payload (levels[]) nor a signal row (level_id)`);
  }
  return rows;
}

/** The discrete events carried by the §6.4 payload lines of a JSONL file (`snap-engine run --out`), in file order. */
export function readEventsJsonl(path: string): LevelEvent[] {
  const out: LevelEvent[] = [];
  let lineNo = 0;
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    lineNo++;
    if (!line.trim()) continue;
    let o: Partial<LevelPhysicsPayload>;
    try {
      o = JSON.parse(line) as Partial<LevelPhysicsPayload>;
    } catch (e) {
      throw new Error(`${path}:${lineNo}: not JSON: ${(e as Error).message}`);
    }
    if (!Array.isArray(o.levels)) throw new Error(`${path}:${lineNo}: not a §6.4 payload (levels[])`);
    if (o.events) out.push(...o.events);
  }
  return out;
}
