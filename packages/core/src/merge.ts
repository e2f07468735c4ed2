// Deterministic k-way merge of input streams (DESIGN decision 2; Kafka Streams' enforced processing is the anchor).
//
// Total order of items: (ts_event_ns, rank, offset, stream position in the constructor's list). Each stream is
// non-decreasing in ts and increasing in offset (producers enforce it). An item is released only when no item that
// could still arrive on ANY stream would sort before it. For a stream that is waiting for input, the smallest
// possible future item is (watermark, lowest rank seen on that stream, last offset + 1): the watermark is the last
// ts seen on the stream (items and heartbeats/advance() alike). So an item at T is released only once every stream's
// watermark has reached T — and, at exactly T, only if the stream cannot still deliver a lower-ranked item at T
// (a stream that has shown no item yet must pass T strictly). The released sequence is therefore exactly the global
// sort of all items, whatever the order and chunking in which the streams were pushed.
// `drain()` (alias `finish()`) ends the input: everything buffered is released in order.
// A late item (ts below its stream's watermark) violates the producers' contract; it is still released, in order
// among what is buffered, but possibly after items that sort later (the processor dead-letters such records first).

interface Key {
  ts: bigint;
  rank: number;
  offset: bigint;
  stream: number;
}

interface Entry<T> extends Key {
  item: T;
}

interface StreamState<T> {
  buf: Entry<T>[];
  /** index of the next unreleased entry in buf */
  head: number;
  watermark: bigint | null;
  minRank: number | null;
  lastOffset: bigint | null;
}

function cmp(a: Key, b: Key): number {
  if (a.ts !== b.ts) return a.ts < b.ts ? -1 : 1;
  if (a.rank !== b.rank) return a.rank < b.rank ? -1 : 1;
  if (a.offset !== b.offset) return a.offset < b.offset ? -1 : 1;
  return a.stream - b.stream;
}

export class UnknownStreamError extends Error {
  constructor(readonly stream: string) {
    super(`merge: unknown stream "${stream}"`);
    this.name = 'UnknownStreamError';
  }
}

export class DeterministicMerge<T> {
  private readonly index = new Map<string, number>();
  private readonly streams: StreamState<T>[];

  constructor(
    readonly streamNames: readonly string[],
    private readonly rankOf: (item: T) => number,
  ) {
    streamNames.forEach((n, i) => this.index.set(n, i));
    this.streams = streamNames.map(() => ({ buf: [], head: 0, watermark: null, minRank: null, lastOffset: null }));
  }

  private streamOf(stream: string): StreamState<T> {
    const i = this.index.get(stream);
    if (i === undefined) throw new UnknownStreamError(stream);
    return this.streams[i]!;
  }

  push(stream: string, tsNs: bigint, offset: bigint, item: T): void {
    const i = this.index.get(stream);
    if (i === undefined) throw new UnknownStreamError(stream);
    const s = this.streams[i]!;
    const e: Entry<T> = { ts: tsNs, rank: this.rankOf(item), offset, stream: i, item };
    // Keep the unreleased part sorted (a no-op scan for well-behaved streams).
    let j = s.buf.length;
    while (j > s.head && cmp(s.buf[j - 1]!, e) > 0) j--;
    if (j === s.buf.length) s.buf.push(e);
    else s.buf.splice(j, 0, e);
    if (s.watermark === null || tsNs > s.watermark) s.watermark = tsNs;
    if (s.minRank === null || e.rank < s.minRank) s.minRank = e.rank;
    if (s.lastOffset === null || offset > s.lastOffset) s.lastOffset = offset;
  }

  /** Heartbeat / idle watermark: the stream will deliver nothing before tsNs. */
  advance(stream: string, tsNs: bigint): void {
    const s = this.streamOf(stream);
    if (s.watermark === null || tsNs > s.watermark) s.watermark = tsNs;
  }

  /** Items not yet released. */
  get pending(): number {
    return this.streams.reduce((a, s) => a + s.buf.length - s.head, 0);
  }

  /** Releases every item that is now safe, in merged order. */
  release(): T[] {
    return this.take(false);
  }

  /** End of input: releases everything buffered, in merged order. */
  drain(): T[] {
    return this.take(true);
  }

  finish(): T[] {
    return this.drain();
  }

  private take(all: boolean): T[] {
    const out: T[] = [];
    for (;;) {
      let best: Entry<T> | null = null;
      let bestStream = -1;
      for (let i = 0; i < this.streams.length; i++) {
        const s = this.streams[i]!;
        const h = s.buf[s.head];
        if (h !== undefined && (best === null || cmp(h, best) < 0)) {
          best = h;
          bestStream = i;
        }
      }
      if (best === null) break;
      if (!all && !this.safe(best)) break;
      const s = this.streams[bestStream]!;
      out.push(s.buf[s.head]!.item);
      s.head++;
      // Released entries are dropped soon, not 1,024 at a time: an entry holds its item, and an item held past a
      // collection or two of the young generation is copied and promoted (in `run`, events with their MBP-10 arrays:
      // most of the run's collector time, bench run-jsonl). Emptied: reset in place; else cut once half is released.
      if (s.head === s.buf.length) {
        s.buf.length = 0;
        s.head = 0;
      } else if (s.head >= 32 && s.head * 2 > s.buf.length) {
        s.buf.splice(0, s.head);
        s.head = 0;
      }
    }
    return out;
  }

  /** No stream can still deliver an item sorting before e. */
  private safe(e: Key): boolean {
    for (let i = 0; i < this.streams.length; i++) {
      const s = this.streams[i]!;
      if (s.watermark === null || s.watermark < e.ts) return false;
      if (s.watermark > e.ts) continue;
      // watermark == e.ts: a future item at e.ts sorts at least at (minRank, lastOffset + 1, i) — cmp of that key
      // against e, written out (this runs for every released item).
      if (s.minRank === null) return false;
      if (s.minRank !== e.rank) {
        if (s.minRank < e.rank) return false;
        continue;
      }
      const offset = s.lastOffset === null ? 0n : s.lastOffset + 1n;
      if (offset !== e.offset) {
        if (offset < e.offset) return false;
        continue;
      }
      if (i < e.stream) return false;
    }
    return true;
  }
}
