import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SnapshotError, type SignalRow } from '@snap/core';
import { canonicalRow, compareRows, formatParityReport, readSignalRowsJsonl } from './parity';
import { parseOffsetSpec, parseTimeSpec, ReplayError } from './replay';
import { decodeSnapshot, encodeSnapshot, type GroupSnapshot } from './snapshot';

const row = (u: string, ts: bigint, id: string, score = 50): SignalRow =>
  ({ ts_event_ns: ts, underlying: u, level_id: id, break_score_smooth: score, spot: 600.1, tape_sweep_direction: null }) as unknown as SignalRow;

describe('parity', () => {
  it('canonical rows are stable JSON: sorted keys, bigint as decimal string', () => {
    const a = canonicalRow({ underlying: 'SPY', ts_event_ns: 1766415600000000001n, level_id: 'X' } as unknown as SignalRow);
    expect(a).toBe('{"level_id":"X","ts_event_ns":"1766415600000000001","underlying":"SPY"}');
  });

  it('compares per underlying in order and names the first difference', () => {
    const e = [row('SPY', 1n, 'A'), row('IWM', 1n, 'B'), row('SPY', 2n, 'A')];
    expect(compareRows(e, [row('IWM', 1n, 'B'), row('SPY', 1n, 'A'), row('SPY', 2n, 'A')]).identical).toBe(true);
    const r = compareRows(e, [row('SPY', 1n, 'A'), row('SPY', 2n, 'A', 51), row('IWM', 1n, 'B')]);
    expect(r).toMatchObject({ identical: false, compared: 3, equal: 2, first_difference: { underlying: 'SPY', index: 1 } });
    expect(formatParityReport(r, { expected: 'a', actual: 'b' })).toMatch(/DIFFERENT[\s\S]*first difference: SPY row #1/);
    const missing = compareRows(e, e.slice(0, 2));
    expect(missing.first_difference).toMatchObject({ underlying: 'SPY', index: 1, actual: null });
  });

  it('reads §6.4 payload lines and flat row lines, naming a bad line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'parity-'));
    const f = join(dir, 'x.jsonl');
    const payload = { ts: 1, ts_event_ns: '1766415600250000000', underlying: 'SPY', spy: { spot: 1, bid: 1, ask: 1 }, levels: [] };
    writeFileSync(f, JSON.stringify(payload) + '\n' + JSON.stringify({ level_id: 'A', underlying: 'SPY', ts_event_ns: '5' }) + '\n');
    const rows = readSignalRowsJsonl(f);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.ts_event_ns).toBe(5n);
    writeFileSync(f, '{"x":1}\n');
    expect(() => readSignalRowsJsonl(f)).toThrow(/x.jsonl:1: neither/);
  });
});

describe('replay arguments', () => {
  it('parses P:O lists and topic:P:O', () => {
    expect(parseOffsetSpec('2:300,1:5')).toEqual([
      { topic: null, partition: 2, offset: 300n },
      { topic: null, partition: 1, offset: 5n },
    ]);
    expect(parseOffsetSpec('stocks.trades.v1:0:7')).toEqual([{ topic: 'stocks.trades.v1', partition: 0, offset: 7n }]);
    expect(() => parseOffsetSpec('2:x')).toThrow(ReplayError);
  });

  it('parses ISO times and Unix ns', () => {
    expect(parseTimeSpec('2025-12-22T15:00:00Z', '--from-time')).toBe(1766415600000000000n);
    expect(parseTimeSpec('1766415600000000123', '--from-time')).toBe(1766415600000000123n);
    expect(() => parseTimeSpec('yesterday', '--from-time')).toThrow(/--from-time/);
  });
});

describe('changelog snapshot codec', () => {
  const snap: GroupSnapshot = { v: 1, group: 2, offsets: { t: '10' }, released_ts: { t: '99' }, engines: { SPY: { state: { x: { $bigint: '1' } } } }, sources: { SPY: 'sim' }, commits: 3 };
  it('round-trips and compresses', () => {
    const buf = encodeSnapshot(snap);
    expect(decodeSnapshot('pg-2', buf)).toEqual(snap);
    expect(buf[0]).toBe(0x1f); // gzip
  });
  it('refuses garbage and other versions, naming the key', () => {
    expect(() => decodeSnapshot('pg-2', Buffer.from('nope'))).toThrow(SnapshotError);
    expect(() => decodeSnapshot('pg-2', encodeSnapshot({ ...snap, v: 9 }))).toThrow(/pg-2 has snapshot version 9/);
  });
});
