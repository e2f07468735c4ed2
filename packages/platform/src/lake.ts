// The Hive-partitioned lake layout (plan §2.3) and the Gold `levels.signals.v1` writer.
// File names derive from the first/last event time of the rows they hold, and flush boundaries depend only on
// the rows (hour partition change or flush_rows), so re-running the same input overwrites the same files.
import { join } from 'node:path';
import type { SignalRow } from '@snap/core';
import { ColumnSpec, ParquetFileWritten, writeParquetRows } from './parquet';

export const SIGNAL_ROW_COLUMNS: readonly ColumnSpec[] = [
  { name: 'ts_event_ns', type: 'int64' },
  { name: 'underlying', type: 'dict_utf8' },
  { name: 'spot', type: 'float64' },
  { name: 'bid', type: 'float64' },
  { name: 'ask', type: 'float64' },
  { name: 'level_id', type: 'dict_utf8' },
  { name: 'level_kind', type: 'dict_utf8' },
  { name: 'level_price', type: 'float64' },
  { name: 'direction', type: 'dict_utf8' },
  { name: 'distance', type: 'float64' },
  { name: 'barrier_state', type: 'dict_utf8' },
  { name: 'barrier_delta_liq', type: 'float64' },
  { name: 'barrier_replenishment_ratio', type: 'float64' },
  { name: 'barrier_added', type: 'float64' },
  { name: 'barrier_canceled', type: 'float64' },
  { name: 'barrier_filled', type: 'float64' },
  { name: 'tape_imbalance', type: 'float64' },
  { name: 'tape_buy_vol', type: 'float64' },
  { name: 'tape_sell_vol', type: 'float64' },
  { name: 'tape_velocity', type: 'float64' },
  { name: 'tape_sweep_detected', type: 'bool' },
  { name: 'tape_sweep_direction', type: 'dict_utf8', nullable: true },
  { name: 'tape_sweep_notional', type: 'float64' },
  { name: 'fuel_effect', type: 'dict_utf8' },
  { name: 'fuel_net_dealer_gamma', type: 'float64' },
  { name: 'fuel_call_wall', type: 'float64', nullable: true },
  { name: 'fuel_put_wall', type: 'float64', nullable: true },
  { name: 'fuel_hvl', type: 'float64', nullable: true },
  { name: 'break_score_raw', type: 'float64' },
  { name: 'break_score_smooth', type: 'float64' },
  { name: 'signal', type: 'dict_utf8' },
  { name: 'confidence', type: 'dict_utf8' },
  { name: 'runway_direction', type: 'dict_utf8' },
  { name: 'runway_next_level_id', type: 'dict_utf8', nullable: true },
  { name: 'runway_next_level_price', type: 'float64', nullable: true },
  { name: 'runway_distance', type: 'float64', nullable: true },
  { name: 'runway_quality', type: 'dict_utf8' },
  { name: 'note', type: 'dict_utf8' },
  // Raw (per-window) values next to the smoothed ones above, the defending quote and the sweep's extent (issue 9).
  { name: 'barrier_delta_liq_raw', type: 'float64' },
  { name: 'barrier_replenishment_ratio_raw', type: 'float64' },
  { name: 'barrier_defending_price', type: 'float64', nullable: true },
  { name: 'barrier_defending_size', type: 'float64', nullable: true },
  { name: 'tape_velocity_raw', type: 'float64' },
  { name: 'tape_sweep_venues', type: 'int32' },
  { name: 'tape_sweep_window_ms', type: 'float64' },
  { name: 'fuel_net_dealer_gamma_raw', type: 'float64' },
];

const NS_PER_MS = 1_000_000n;

/** UTC date (YYYY-MM-DD) and hour (HH) of a ns timestamp: the Hive partition values of §2.3. */
export function partitionOf(tsNs: bigint): { date: string; hour: string } {
  const iso = new Date(Number(tsNs / NS_PER_MS)).toISOString();
  return { date: iso.slice(0, 10), hour: iso.slice(11, 13) };
}

/**
 * `<root>/<dataset>/<keyName>=<keyValue>/date=YYYY-MM-DD[/hour=HH]/`. `dataset` is the tier path such as
 * `gold/levels/signals` or `bronze/stocks/trades`; hourly=false for daily datasets (greeks snapshots).
 */
export function partitionDir(root: string, dataset: string, keyName: string, keyValue: string, tsNs: bigint, hourly = true): string {
  const { date, hour } = partitionOf(tsNs);
  const parts = [root, dataset, `${keyName}=${keyValue}`, `date=${date}`];
  if (hourly) parts.push(`hour=${hour}`);
  return join(...parts);
}

/** Deterministic part name: the same rows always land in the same file, so a retried flush overwrites it. */
export function partFileName(firstTsNs: bigint, lastTsNs: bigint, tag?: string): string {
  return `part-${firstTsNs}-${lastTsNs}${tag ? `-${tag}` : ''}.parquet`;
}

export interface GoldWriterOptions {
  dataRoot: string;
  underlying: string;
  /** Rows per file before a flush inside one hour partition (config lake.flush_rows). */
  flushRows: number;
}

/**
 * Buffers `levels.signals.v1` rows and writes one ZSTD Parquet file per (hour partition, flush_rows chunk).
 * Rows must arrive in non-decreasing ts_event_ns (the engine emits ticks in order); a regression is an error
 * because it would break the deterministic naming.
 */
export class GoldSignalWriter {
  private buf: SignalRow[] = [];
  private bufHour: string | null = null;
  private lastTs: bigint | null = null;
  readonly written: ParquetFileWritten[] = [];

  constructor(private readonly opts: GoldWriterOptions) {}

  append(rows: readonly SignalRow[]): void {
    for (const r of rows) {
      if (r.underlying !== this.opts.underlying) throw new Error(`GoldSignalWriter(${this.opts.underlying}): row for underlying ${r.underlying}`);
      if (this.lastTs !== null && r.ts_event_ns < this.lastTs) {
        throw new Error(`GoldSignalWriter: ts_event_ns went backwards (${r.ts_event_ns} < ${this.lastTs})`);
      }
      const { date, hour } = partitionOf(r.ts_event_ns);
      const key = `${date}T${hour}`;
      // A snap tick's rows never straddle a flush: flush only when the tick time changes.
      const tickChanged = this.lastTs === null || r.ts_event_ns !== this.lastTs;
      if (this.bufHour !== null && (key !== this.bufHour || (tickChanged && this.buf.length >= this.opts.flushRows))) this.flush();
      this.bufHour = key;
      this.buf.push(r);
      this.lastTs = r.ts_event_ns;
    }
  }

  /** Writes the buffered rows (if any) and returns the file written. */
  flush(): ParquetFileWritten | null {
    if (this.buf.length === 0) return null;
    // Stable sort keeps each tick's level order; input is already ordered, this guards the §2.2 contract.
    const rows = this.buf.slice().sort((a, b) => (a.ts_event_ns < b.ts_event_ns ? -1 : a.ts_event_ns > b.ts_event_ns ? 1 : 0));
    const first = rows[0]!.ts_event_ns;
    const last = rows[rows.length - 1]!.ts_event_ns;
    const dir = partitionDir(this.opts.dataRoot, 'gold/levels/signals', 'underlying', this.opts.underlying, first);
    const out = writeParquetRows(join(dir, partFileName(first, last)), SIGNAL_ROW_COLUMNS, rows, {
      codec: 'ZSTD',
      metadata: { schema: 'levels.signals.v1', underlying: this.opts.underlying },
    });
    this.written.push(out);
    this.buf = [];
    this.bufHour = null;
    return out;
  }

  close(): ParquetFileWritten[] {
    this.flush();
    return this.written;
  }
}
