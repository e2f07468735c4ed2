import { parseConfig } from '@snap/core';
import { BookWatch } from './book-watch';

const cfg = parseConfig({ underlyings: ['SPY', 'QQQ'], futures: { barrier_sources: { SPY: 'mbp10' } }, processor: { book_stale_ms: 5000 } });

describe('BookWatch: an underlying whose book source sent nothing is named', () => {
  it('flags the MBP-10 underlying with no futures input, naming it, its topic and its contract; heartbeats do not count', () => {
    const w = new BookWatch(cfg);
    w.watch(['SPY', 'QQQ'], 0);
    w.seen('stocks.quotes.v1', 'QQQ', 4000);
    w.seen('stocks.trades.v1', 'QQQ', 4000);
    w.seen('stocks.quotes.v1', 'SPY', 4000); // SPY reads ES MBP-10, not quotes
    w.seen('heartbeat.v1', 'SPY', 4500);
    expect(w.check(5000).turnedStale).toEqual([]);
    const { turnedStale } = w.check(5001);
    expect(turnedStale.map((s) => s.underlying)).toEqual(['SPY']);
    expect(turnedStale[0]).toMatchObject({ source: 'futures.mbp10.v1', futures_symbol: 'ES' });
    expect(turnedStale[0]!.reason).toMatch(/^SPY: book source futures\.mbp10\.v1 \(ES book\) sent no record/);
    // Reported once, then kept.
    expect(w.check(6000).turnedStale).toEqual([]);
    expect(w.staleBooks().map((s) => s.underlying)).toEqual(['SPY']);
    // QQQ (L1) goes stale 5 s after its last quote while its trades keep coming.
    w.seen('stocks.trades.v1', 'QQQ', 8000);
    expect(w.check(9001).turnedStale.map((s) => s.underlying)).toEqual(['QQQ']);
  });

  it('nothing is flagged while every input is quiet (market closed, end of a replay)', () => {
    const w = new BookWatch(cfg);
    w.watch(['SPY', 'QQQ'], 0);
    w.seen('stocks.quotes.v1', 'SPY', 1000);
    expect(w.check(60_000).turnedStale).toEqual([]);
    // The quotes resume but the ES book does not: now it is flagged.
    w.seen('stocks.quotes.v1', 'SPY', 60_500);
    expect(w.check(61_000).turnedStale.map((s) => s.underlying)).toEqual(['SPY']);
  });

  it('recovers when a book record arrives, and a rebalance away stops watching', () => {
    const w = new BookWatch(cfg);
    w.watch(['SPY'], 0);
    w.seen('stocks.quotes.v1', 'SPY', 5500);
    w.check(6000);
    expect(w.staleBooks()).toHaveLength(1);
    w.seen('futures.mbp10.v1', 'SPY', 6100);
    expect(w.check(6200)).toEqual({ turnedStale: [], recovered: ['SPY'] });
    w.watch([], 7000);
    expect(w.check(60_000).turnedStale).toEqual([]);
  });

  it('book_stale_ms = 0 turns it off', () => {
    const w = new BookWatch(parseConfig({ processor: { book_stale_ms: 0 } }));
    w.watch(['SPY'], 0);
    w.seen('stocks.trades.v1', 'SPY', 1e9);
    expect(w.check(1e9).turnedStale).toEqual([]);
  });
});
