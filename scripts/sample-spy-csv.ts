// Writes the SPY sample CSVs of the docs/data.md walkthrough (docs/data/sample/): quotes, trades, option trades and
// greeks snapshots for the window of the shipped ES DBN sample (dbn-data/, 2026-01-15 14:30–14:40 UTC), from the
// seeded core simulator at SPY ≈ ES / 10, so the two can be run together. Simulated, not market data.
//   npx tsx scripts/sample-spy-csv.ts [outDir]
// The same command writes the same bytes (gzip level fixed, no timestamps in the gzip header).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { simulateSession, type InputEvent } from '@snap/core';

const out = process.argv[2] ?? join(__dirname, '..', 'docs', 'data', 'sample');
const START_NS = 1_768_487_400_000_000_000n; // 2026-01-15T14:30:00Z, the DBN sample's first record
const DURATION_MS = 10 * 60_000;

const isoNs = (ns: bigint): string => {
  const ms = ns / 1_000_000n;
  return `${new Date(Number(ms)).toISOString().slice(0, 19)}.${(ns % 1_000_000_000n).toString().padStart(9, '0')}Z`;
};
const csvCell = (v: unknown): string => (v === null || v === undefined ? '' : Array.isArray(v) ? v.join(';') : String(v));

const files: Record<string, { header: string[]; rows: string[] }> = {
  // Quotes as many vendors write them: ISO-8601 times (ns precision) in a column named ts_event; the walkthrough maps it.
  'spy-quotes.csv.gz': { header: ['ts_event', 'symbol', 'bid_px', 'ask_px', 'bid_sz', 'ask_sz'], rows: [] },
  'spy-trades.csv.gz': { header: ['ts_event_ns', 'symbol', 'price', 'size', 'exchange'], rows: [] },
  'spy-option-trades.csv.gz': { header: ['ts_event_ns', 'option_symbol', 'exp_date', 'strike', 'right', 'price', 'size', 'opt_bid', 'opt_ask', 'aggressor'], rows: [] },
  'spy-greeks.csv.gz': { header: ['ts_event_ns', 'option_symbol', 'exp_date', 'strike', 'right', 'delta', 'gamma', 'theta', 'vega', 'implied_volatility', 'open_interest', 'snapshot_id'], rows: [] },
};
const FILE_OF: Partial<Record<InputEvent['schema'], string>> = {
  'stocks.quotes.v1': 'spy-quotes.csv.gz',
  'stocks.trades.v1': 'spy-trades.csv.gz',
  'options.trades.v1': 'spy-option-trades.csv.gz',
  'options.greeks_snapshots.v1': 'spy-greeks.csv.gz',
};

for (const ev of simulateSession({ seed: 15, durationMs: DURATION_MS, startNs: START_NS, spot: 600.1, underlying: 'SPY' })) {
  const f = FILE_OF[ev.schema];
  if (!f) continue;
  const rec = { ...ev, ts_event: isoNs(ev.ts_event_ns) } as unknown as Record<string, unknown>;
  files[f]!.rows.push(files[f]!.header.map((h) => csvCell(rec[h])).join(','));
}
mkdirSync(out, { recursive: true });
for (const [name, { header, rows }] of Object.entries(files)) {
  writeFileSync(join(out, name), gzipSync(Buffer.from([header.join(','), ...rows].join('\n') + '\n'), { level: 9 }));
  process.stdout.write(`${join(out, name)}: ${rows.length} rows\n`);
}
