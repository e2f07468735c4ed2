// Stale book source (issue 11): an underlying whose barrier reads a book (futures MBP-10 for barrier source mbp10, NBBO
// quotes for l1) that sent no record for processor.book_stale_ms is flagged — /healthz 503, the gauge
// snap_processor_book_source_stale{underlying} = 1 and one error log naming the underlying — instead of the Barrier
// silently reading NEUTRAL/LOW ("no ES book") for as long as the feed is down or was never deployed.
// Judged while the underlying's other inputs (quotes, trades, options) keep arriving: signals are then being produced
// with a blind barrier, the silent loss this exists for. When every input is quiet (market closed, end of a replay)
// nothing is produced and nothing is flagged. Wall clock on purpose: the question is "is the upstream alive", not how
// far event time has advanced.
import { barrierSourceOf, type Config, type DataInputSchema } from '@snap/core';

export interface StaleBook {
  underlying: string;
  /** The input schema whose records feed this underlying's barrier. */
  source: DataInputSchema;
  /** The futures symbol (mbp10) the book is expected for. */
  futures_symbol?: string;
  /** Milliseconds since the last book record, or since watching started when none came. */
  silent_ms: number;
  reason: string;
}

export class BookWatch {
  private readonly lastSeen = new Map<string, number>();
  /** Last data record of any other input schema, per underlying. */
  private readonly lastOther = new Map<string, number>();
  private watchedSince = new Map<string, number>();
  private stale = new Map<string, StaleBook>();

  constructor(private readonly cfg: Config) {}

  /** The schema whose records keep `underlying`'s book fresh (asked per input record: memoized, the config is fixed). */
  sourceOf(underlying: string): DataInputSchema {
    let s = this.sources.get(underlying);
    if (s === undefined) {
      s = barrierSourceOf(this.cfg, underlying) === 'mbp10' ? 'futures.mbp10.v1' : 'stocks.quotes.v1';
      this.sources.set(underlying, s);
    }
    return s;
  }
  private readonly sources = new Map<string, DataInputSchema>();

  /** Starts (or restarts, after a rebalance) watching these underlyings from `nowMs`; others are dropped. */
  watch(underlyings: Iterable<string>, nowMs: number): void {
    const next = new Map<string, number>();
    for (const u of underlyings) next.set(u, this.watchedSince.get(u) ?? nowMs);
    this.watchedSince = next;
    for (const u of [...this.stale.keys()]) if (!next.has(u)) this.stale.delete(u);
  }

  /** A data record of `schema` keyed `underlying` arrived (heartbeats do not count: they say the feed lives, not the book). */
  seen(schema: string, underlying: string | null, nowMs: number): void {
    if (underlying === null || schema === 'heartbeat.v1' || !this.watchedSince.has(underlying)) return;
    if (schema === this.sourceOf(underlying)) this.lastSeen.set(underlying, nowMs);
    else this.lastOther.set(underlying, nowMs);
  }

  /** Re-judges every watched underlying; returns those that turned stale and those that recovered since the last call. */
  check(nowMs: number): { turnedStale: StaleBook[]; recovered: string[] } {
    const limit = this.cfg.processor.book_stale_ms;
    const turnedStale: StaleBook[] = [];
    const recovered: string[] = [];
    for (const [u, since] of this.watchedSince) {
      const last = Math.max(this.lastSeen.get(u) ?? 0, since);
      const silent = nowMs - last;
      const live = (this.lastOther.get(u) ?? -Infinity) >= nowMs - limit;
      const isStale = limit > 0 && silent > limit && (live || this.stale.has(u));
      if (isStale) {
        const source = this.sourceOf(u);
        const sym = source === 'futures.mbp10.v1' ? this.cfg.futures.contracts[u]?.symbol : undefined;
        const what = sym ? `${source} (${sym} book)` : source;
        const entry: StaleBook = {
          underlying: u,
          source,
          ...(sym ? { futures_symbol: sym } : {}),
          silent_ms: silent,
          reason: `${u}: book source ${what} sent no record for ${Math.round(silent / 1000)} s (processor.book_stale_ms=${limit}): the Barrier of ${u} is blind`,
        };
        if (!this.stale.has(u)) turnedStale.push(entry);
        this.stale.set(u, entry);
      } else if (this.stale.delete(u)) {
        recovered.push(u);
      }
    }
    return { turnedStale, recovered };
  }

  /** Underlyings whose book is stale as of the last check. */
  staleBooks(): StaleBook[] {
    return [...this.stale.values()];
  }

  watched(): string[] {
    return [...this.watchedSince.keys()];
  }
}
