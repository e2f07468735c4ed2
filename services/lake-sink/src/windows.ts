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

/**
 * The window state of one (topic, partition): the rows of the open window and the consumer position.
 * `add` and `advance` return the windows they close, which the caller writes before it commits `commitOffset()`.
 */
export class PartitionWindows<R> {
  readonly windowSize: bigint;
  private open: { start: bigint; records: OffsetRecord<R>[] } | null = null;
  /** Next offset to consume (everything below is decided and seen). */
  private pos: bigint | null;
  /** Rows of the open window already written as a partial object (0 = none). */
  private partialWritten = 0;

  constructor(windowSize: number | bigint, position: bigint | null = null) {
    this.windowSize = BigInt(windowSize);
    if (this.windowSize <= 0n) throw new RangeError(`window size must be positive, got ${windowSize}`);
    this.pos = position;
  }

  get position(): bigint | null {
    return this.pos;
  }

  /** A data record at `offset`. Offsets must increase (a partition is read in order). */
  add(offset: bigint, row: R): WindowRows<R>[] {
    if (this.pos !== null && offset < this.pos) throw new WindowOrderError(`offset ${offset} is below the position ${this.pos}`, offset);
    const closed = this.closeBelow(offset);
    const start = windowStart(offset, this.windowSize);
    if (!this.open) this.open = { start, records: [] };
    this.open.records.push({ offset, row });
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

  private closeBelow(position: bigint): WindowRows<R>[] {
    if (!this.open || position < this.open.start + this.windowSize) return [];
    const w: WindowRows<R> = { start: this.open.start, end: this.open.start + this.windowSize, records: this.open.records, complete: true };
    this.open = null;
    this.partialWritten = 0;
    return [w];
  }

  /**
   * The offset safe to commit once every closed window has been written: the start of the window holding the
   * position. Rows at and after it are re-read by a restart and rewritten under the same names. Null before any
   * position is known.
   */
  commitOffset(): bigint | null {
    if (this.open) return this.open.start;
    return this.pos === null ? null : windowStart(this.pos, this.windowSize);
  }

  /** The open window as a partial, when it holds rows not yet written as one (null otherwise). */
  partial(): WindowRows<R> | null {
    if (!this.open || this.open.records.length === this.partialWritten) return null;
    return { start: this.open.start, end: this.open.start + this.windowSize, records: this.open.records.slice(), complete: false };
  }

  /** Marks a partial returned by `partial()` as written. */
  partialDone(w: WindowRows<R>): void {
    if (this.open && this.open.start === w.start) this.partialWritten = Math.max(this.partialWritten, w.records.length);
  }

  get openRows(): number {
    return this.open?.records.length ?? 0;
  }
}
