import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { writeParquetRows } from '@snap/platform';
import { ConvertError, convertFiles, isoToNs, rowToEvent, splitCsvLine } from './convert';

const opts = { underlying: 'SPY', timeUnit: 'ns' as const, map: {} };

describe('convert', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'convert-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads ISO-8601 times to the nanosecond, with any zone', () => {
    expect(isoToNs('2026-01-15T14:30:00.123456789Z')).toBe(1_768_487_400_123_456_789n);
    expect(isoToNs('2026-01-15T09:30:00.5-05:00')).toBe(1_768_487_400_500_000_000n);
    expect(isoToNs('2026-01-15 14:30:00Z')).toBe(1_768_487_400_000_000_000n);
    expect(isoToNs('2026-01-15T14:30:00')).toBeNull(); // no zone: ambiguous, refused
  });

  it('splits quoted CSV fields', () => {
    expect(splitCsvLine('a,"b,c","d ""e""",')).toEqual(['a', 'b,c', 'd "e"', '']);
  });

  it('maps columns, fills key and defaults, and validates with the run parser', () => {
    const ev = rowToEvent({ time: '1768487400000', bid: '600.1', ask: '600.11', bid_size: '100', ask_size: '200', symbol: 'SPY' }, { ...opts, timeUnit: 'ms', schema: 'stocks.quotes.v1', map: { ts_event_ns: 'time', bid_px: 'bid', ask_px: 'ask', bid_sz: 'bid_size', ask_sz: 'ask_size' } }, 'q.csv: row 2');
    expect(ev).toMatchObject({ schema: 'stocks.quotes.v1', ts_event_ns: 1_768_487_400_000_000_000n, key: 'SPY', bid_px: 600.1, ask_sz: 200, source: 'replay' });
    expect(ev.event_id).toMatch(/^[0-9a-f]{16}$/);
  });

  it('reads Databento-style book columns and aggressor letters', () => {
    const row: Record<string, string> = { ts_event: '2026-01-15T14:30:00Z', symbol: 'ESH6', flags: '128' };
    for (let i = 0; i < 10; i++) {
      const k = String(i).padStart(2, '0');
      Object.assign(row, { [`bid_px_${k}`]: String(6000 - i * 0.25), [`ask_px_${k}`]: i < 2 ? String(6000.25 + i * 0.25) : '', [`bid_sz_${k}`]: '5', [`ask_sz_${k}`]: i < 2 ? '7' : '0' });
    }
    const book = rowToEvent(row, { ...opts, schema: 'futures.mbp10.v1', map: { ts_event_ns: 'ts_event' } }, 'b.csv: row 2');
    expect(book).toMatchObject({ schema: 'futures.mbp10.v1', symbol: 'ESH6', flags: 128 });
    expect((book as { bid_px: number[] }).bid_px).toHaveLength(10);
    expect((book as { ask_px: number[] }).ask_px.slice(0, 3)).toEqual([6000.25, 6000.5, NaN]);
    const trade = rowToEvent({ ts_event_ns: '1', symbol: 'ESH6', price: '6000', size: '2', aggressor: 'A' }, { ...opts, schema: 'futures.trades.v1' }, 't');
    expect(trade).toMatchObject({ aggressor: -1 });
  });

  it('names file, row and field of a bad cell', () => {
    expect(() => rowToEvent({ ts_event_ns: 'yesterday', symbol: 'SPY', price: '1', size: '1' }, { ...opts, schema: 'stocks.trades.v1' }, 't.csv: row 7')).toThrow(
      new ConvertError('t.csv: row 7: field "ts_event_ns": expected a time (integer ns or ISO-8601 with a zone, e.g. 2026-01-15T14:30:00.123456Z), got "yesterday"'),
    );
    expect(() => rowToEvent({ ts_event_ns: '1', symbol: 'SPY', price: '1' }, { ...opts, schema: 'stocks.trades.v1' }, 't.csv: row 8')).toThrow(/t\.csv: row 8: .*size/);
  });

  it('converts gzipped CSV and Parquet, and merges several inputs in stable event-time order', async () => {
    const csv = join(dir, 'trades.csv.gz');
    writeFileSync(csv, gzipSync('ts_event_ns,symbol,price,size\n3000,SPY,600.02,100\n1000,SPY,600.01,50\n'));
    const pq = join(dir, 'quotes.parquet');
    writeParquetRows(pq, [
      { name: 'ts_event_ns', type: 'int64' },
      { name: 'symbol', type: 'utf8' },
      { name: 'bid_px', type: 'float64' },
      { name: 'ask_px', type: 'float64' },
      { name: 'bid_sz', type: 'int32' },
      { name: 'ask_sz', type: 'int32' },
    ], [
      { ts_event_ns: 2000n, symbol: 'SPY', bid_px: 600, ask_px: 600.01, bid_sz: 10, ask_sz: 20 },
      { ts_event_ns: 3000n, symbol: 'SPY', bid_px: 600.01, ask_px: 600.02, bid_sz: 10, ask_sz: 20 },
    ]);
    const trades = await convertFiles([csv], 'csv', { ...opts, schema: 'stocks.trades.v1' });
    const quotes = await convertFiles([pq], 'parquet', { ...opts, schema: 'stocks.quotes.v1' });
    expect(trades.map((e) => e.ts_event_ns)).toEqual([1000n, 3000n]);
    expect(quotes.map((e) => [e.ts_event_ns, (e as { bid_px: number }).bid_px])).toEqual([[2000n, 600], [3000n, 600.01]]);
    const a = join(dir, 'a.jsonl');
    const b = join(dir, 'b.jsonl');
    const { formatEventLine } = await import('@snap/core');
    writeFileSync(a, trades.map((e) => formatEventLine(e)).join('\n') + '\n');
    writeFileSync(b, quotes.map((e) => formatEventLine(e)).join('\n') + '\n');
    const merged = await convertFiles([a, b], 'jsonl', opts);
    // Equal times keep input order: the trade at 3000 (first file) before the quote at 3000.
    expect(merged.map((e) => `${e.ts_event_ns} ${e.schema}`)).toEqual(['1000 stocks.trades.v1', '2000 stocks.quotes.v1', '3000 stocks.trades.v1', '3000 stocks.quotes.v1']);
  });
});
