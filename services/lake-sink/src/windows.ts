// Deterministic flush boundaries for the lake sink (DESIGN decision 3; the Confluent S3 sink's exactly-once is the
// anchor). Pure: no I/O.
//
// A partition's offsets are cut into fixed windows [k·N, (k+1)·N). Every object the sink writes is named after the
// topic, the partition and the START of its window, so what a window's objects hold depends only on the log:
//   - a window is CLOSED once the consumer position is at or past its end: read_committed fetches stop at the
//     last stable offset, so by then every offset in it is decided (data, aborted data or a transaction marker);
//   - a closed window's objects are final; writing them again (a retried flush, a crash before the commit, a new
//     consumer group) writes the same rows to the same keys;
//   - the consumer commits only window starts: after the objects of every window below k·N are durably written it
//     commits k·N, never an offset inside a window. So a restart re-reads the open window from its start;
//   - the OPEN window (the one holding the position) may be written early as a partial object (at --until-idle, or
//     after lake.partial_flush_ms caught up). Its rows are a prefix (by offset) of the window's final rows, so its
//     keys are a subset of the final keys and the final flush overwrites every one of them: readers may briefly see
//     a prefix, never a duplicate and never a row that will disappear.
// Windows count offsets, not records: transaction markers and aborted records take offsets too, so a closed window
// holds at most N rows (often fewer). That is the price of boundaries that do not depend on what was aborted.
//
// Freshness and size (issue 16): a window also closes EARLY, at the first record that
//   - has an event time in a later bucket of `maxAgeNs` than the window's first record (lake.max_file_age_ms), or
//   - would take the window's estimated size past `maxBytes` (lake.max_file_bytes).
// The next window then starts at that record's offset. Both rules read only the records from the window's start, and
// a restart re-reads from exactly that start (the committed offset), so every attempt cuts the log at the same
// offsets and names the same objects: exactly-once is kept. On a live feed event time advances with the wall clock
// (heartbeats every snap tick), so a row is in a closed, written window about max_file_age_ms after its tick.

/** The start of the window holding `offset`. */
export function windowStart(offset: bigint, windowSize: bigint): bigint {
  if (windowSize <= 0n) throw new RangeError(`window size must be positive, got ${windowSize}`);
  if (offset < 0n) throw new RangeError(`offset must be non-negative, got ${offset}`);
  return (offset / windowSize) * windowSize;
}

export interface OffsetRecord<R> {
  offset: bigint;
  row: R;
}

export interface WindowRows<R> {
  /** Window start (k·N): the name of its objects. */
  start: bigint;
  /** Exclusive end ((k+1)·N). */
  end: bigint;
  /** Rows in offset order. */
  records: OffsetRecord<R>[];
  /** True when the window is closed (final); false for a partial flush of the open window. */
  complete: boolean;
}

export class WindowOrderError extends Error {
  constructor(
    message: string,
    readonly offset: bigint,
  ) {
    super(message);
    this.name = 'WindowOrderError';
  }
}

/** Early-close rules of a partition's windows (see the header); both optional. */
export interface WindowRules<R> {
  /** Event-time bucket width in ns (0/undefined = off) and the event time of a row. */
  maxAgeNs?: bigint;
  tsOf?: (row: R) => bigint;
  /** Estimated size budget of a window (undefined = off) and a row's estimate; must depend on the row only. */
  maxBytes?: number;
  bytesOf?: (row: R) => number;
}

/**
 * The window state of one (topic, partition): the rows of the open window and the consumer position.
 * `add` and `advance` return the windows they close, which the caller writes before it commits `commitOffset()`.
 */
export class PartitionWindows<R> {
  readonly windowSize: bigint;
  private open: { start: bigint; records: OffsetRecord<R>[]; bucket: bigint | null; bytes: number } | null = null;
  /** Next offset to consume (everything below is decided and seen). */
  private pos: bigint | null;
  /** Where the next window starts when it opens in this offset cell: the end of the last closed window, or the
   *  assigned (committed) position, which may be an early-close offset. */
  private nextStart: bigint | null;
  /** Rows of the open window already written as a partial object (0 = none). */
  private partialWritten = 0;

  constructor(
    windowSize: number | bigint,
    position: bigint | null = null,
    readonly rules: WindowRules<R> = {},
  ) {
    this.windowSize = BigInt(windowSize);
    if (this.windowSize <= 0n) throw new RangeError(`window size must be positive, got ${windowSize}`);
    if (rules.maxAgeNs !== undefined && rules.maxAgeNs < 0n) throw new RangeError(`window age must be non-negative, got ${rules.maxAgeNs} ns`);
    this.pos = position;
    this.nextStart = position;
  }

  get position(): bigint | null {
    return this.pos;
  }

  /** The start of a window opened at `offset`: the pending start when it lies in the same offset cell, else the cell start. */
  private startFor(offset: bigint): bigint {
    const cell = windowStart(offset, this.windowSize);
    return this.nextStart !== null && this.nextStart <= offset && windowStart(this.nextStart, this.windowSize) === cell ? this.nextStart : cell;
  }

  private bucketOf(row: R): bigint | null {
    const { maxAgeNs, tsOf } = this.rules;
    if (!maxAgeNs || !tsOf) return null;
    const ts = tsOf(row);
    // Floor division for pre-1970 times too, so buckets stay ordered.
    const q = ts / maxAgeNs;
    return ts < 0n && q * maxAgeNs !== ts ? q - 1n : q;
  }

  /** A data record at `offset`. Offsets must increase (a partition is read in order). */
  add(offset: bigint, row: R): WindowRows<R>[] {
    if (this.pos !== null && offset < this.pos) throw new WindowOrderError(`offset ${offset} is below the position ${this.pos}`, offset);
    const closed = this.closeBelow(offset);
    const bucket = this.bucketOf(row);
    const bytes = this.rules.bytesOf?.(row) ?? 0;
    if (this.open && this.open.records.length > 0) {
      const aged = bucket !== null && this.open.bucket !== null && bucket > this.open.bucket;
      const full = this.rules.maxBytes !== undefined && this.open.bytes + bytes > this.rules.maxBytes;
      if (aged || full) closed.push(this.closeOpen(offset));
    }
    if (!this.open) this.open = { start: this.startFor(offset), records: [], bucket, bytes: 0 };
    this.open.records.push({ offset, row });
    this.open.bytes += bytes;
    this.pos = offset + 1n;
    return closed;
  }

  /** The consumer is at `position` (e.g. past trailing transaction markers): closes the windows that ends. */
  advance(position: bigint): WindowRows<R>[] {
    if (this.pos !== null && position <= this.pos) return [];
    const closed = this.closeBelow(position);
    this.pos = position;
    return closed;
  }

  private closeOpen(end: bigint): WindowRows<R> {
    const w: WindowRows<R> = { start: this.open!.start, end, records: this.open!.records, complete: true };
    this.open = null;
    this.partialWritten = 0;
    this.nextStart = end;
    return w;
  }

  private closeBelow(position: bigint): WindowRows<R>[] {
    if (!this.open) return [];
    const cellEnd = windowStart(this.open.start, this.windowSize) + this.windowSize;
    if (position < cellEnd) return [];
    return [this.closeOpen(cellEnd)];
  }

  /**
   * The offset safe to commit once every closed window has been written: the start of the window holding the
   * position. Rows at and after it are re-read by a restart and rewritten under the same names. Null before any
   * position is known.
   */
  commitOffset(): bigint | null {
    if (this.open) return this.open.start;
    return this.pos === null ? null : this.startFor(this.pos);
  }

  /** The open window as a partial, when it holds rows not yet written as one (null otherwise). */
  partial(): WindowRows<R> | null {
    if (!this.open || this.open.records.length === this.partialWritten) return null;
    const cellEnd = windowStart(this.open.start, this.windowSize) + this.windowSize;
    return { start: this.open.start, end: cellEnd, records: this.open.records.slice(), complete: false };
  }

  /** Marks a partial returned by `partial()` as written. */
  partialDone(w: WindowRows<R>): void {
    if (this.open && this.open.start === w.start) this.partialWritten = Math.max(this.partialWritten, w.records.length);
  }

  get openRows(): number {
    return this.open?.records.length ?? 0;
  }
}
