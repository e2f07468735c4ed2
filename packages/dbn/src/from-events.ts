// Normalized futures events → DBN records: the reverse of normalize.ts, so any simulator that speaks the engine's
// event contract (e.g. core/sim's MarketSim) can be written as Databento MBP-10 and trades files. Pure.
//
// A FuturesMbp10 event carries the book, not the event that changed it, so the MBP-10 record's event fields are
// inferred from the difference with the previous book: the shallowest changed level gives depth, side, price, and
// whether liquidity was added ('A') or removed ('C'). Each trade also appears in the MBP-10 stream as a 'T' record
// over the unchanged book, as in Databento's data. The first book is emitted like a replay start: an 'R' (clear)
// record, then the book as one F_SNAPSHOT | F_LAST add.
import type { FuturesMbp10, FuturesTrade } from '@snap/core';
import { FLAGS, UNDEF_PRICE, floatToPrice } from './enums';
import { BidAskPair } from './layout';
import { Mbp10Msg, TradeMsg } from './records';

export interface FromEventsOptions {
  instrumentId: number;
  publisherId?: number;
  /** First sequence number (DBN sequence is u32). */
  sequenceStart?: number;
}

export interface DbnRecordsOut {
  mbp10: Mbp10Msg[];
  trades: TradeMsg[];
}

function levelsOf(e: FuturesMbp10): BidAskPair[] {
  const out: BidAskPair[] = [];
  for (let i = 0; i < 10; i++) {
    const bp = e.bid_px[i];
    const ap = e.ask_px[i];
    const bidOk = bp !== undefined && !Number.isNaN(bp);
    const askOk = ap !== undefined && !Number.isNaN(ap);
    out.push({
      bid_px: bidOk ? floatToPrice(bp) : UNDEF_PRICE,
      ask_px: askOk ? floatToPrice(ap) : UNDEF_PRICE,
      bid_sz: bidOk ? (e.bid_sz[i] ?? 0) : 0,
      ask_sz: askOk ? (e.ask_sz[i] ?? 0) : 0,
      bid_ct: bidOk ? (e.bid_ct[i] ?? 0) : 0,
      ask_ct: askOk ? (e.ask_ct[i] ?? 0) : 0,
    });
  }
  return out;
}

const EMPTY: BidAskPair = { bid_px: UNDEF_PRICE, ask_px: UNDEF_PRICE, bid_sz: 0, ask_sz: 0, bid_ct: 0, ask_ct: 0 };

/** The book change between two top-10 snapshots, as one MBP event (shallowest changed level wins). */
function inferEvent(prev: BidAskPair[], next: BidAskPair[]): { action: string; side: string; price: bigint; size: number; depth: number } {
  for (let i = 0; i < 10; i++) {
    const p = prev[i] ?? EMPTY;
    const n = next[i]!;
    for (const side of ['B', 'A'] as const) {
      const [pp, ps, np, ns] = side === 'B' ? [p.bid_px, p.bid_sz, n.bid_px, n.bid_sz] : [p.ask_px, p.ask_sz, n.ask_px, n.ask_sz];
      if (pp === np && ps === ns) continue;
      if (pp === np) return { action: ns > ps ? 'A' : 'C', side, price: np, size: Math.abs(ns - ps), depth: i };
      // A different price at this depth: a better level arrived (add) or the old one left (cancel).
      const improved = np !== UNDEF_PRICE && (pp === UNDEF_PRICE || (side === 'B' ? np > pp : np < pp));
      return improved ? { action: 'A', side, price: np, size: ns, depth: i } : { action: 'C', side, price: pp, size: ps, depth: i };
    }
  }
  return { action: 'A', side: 'N', price: UNDEF_PRICE, size: 0, depth: 0 };
}

export class FuturesEventsToDbn {
  private book: BidAskPair[] | undefined;
  private sequence: number;
  private readonly publisherId: number;

  constructor(private readonly opts: FromEventsOptions) {
    this.sequence = opts.sequenceStart ?? 1;
    this.publisherId = opts.publisherId ?? 1;
  }

  private header(ts_event: bigint, ts_recv: bigint) {
    const delta = ts_recv - ts_event;
    return {
      publisher_id: this.publisherId,
      instrument_id: this.opts.instrumentId,
      ts_event,
      ts_recv,
      // ts_in_delta is an i32 of nanoseconds; clamp rather than wrap for pathological inputs.
      ts_in_delta: Number(delta > 0x7fffffffn ? 0x7fffffffn : delta < 0n ? 0n : delta),
      sequence: this.sequence++ >>> 0,
    };
  }

  private mbp(e: { ts_event_ns: bigint; ts_recv_ns: bigint }, ev: ReturnType<typeof inferEvent>, flags: number, levels: BidAskPair[]): Mbp10Msg {
    return { kind: 'mbp10', rtype: 0x0a, ...this.header(e.ts_event_ns, e.ts_recv_ns), ...ev, flags, levels };
  }

  push(e: FuturesMbp10 | FuturesTrade): DbnRecordsOut {
    if (e.schema === 'futures.trades.v1') {
      const price = floatToPrice(e.price);
      const side = e.aggressor === 1 ? 'B' : e.aggressor === -1 ? 'A' : 'N';
      const trade: TradeMsg = { kind: 'trade', rtype: 0x00, ...this.header(e.ts_event_ns, e.ts_recv_ns), price, size: e.size, action: 'T', side, flags: FLAGS.F_LAST, depth: 0 };
      // The MBP-10 'T' record shares the trade's sequence, as in Databento's data.
      const mbp: Mbp10Msg[] = this.book
        ? [{ kind: 'mbp10', rtype: 0x0a, publisher_id: trade.publisher_id, instrument_id: trade.instrument_id, ts_event: trade.ts_event, ts_recv: trade.ts_recv, ts_in_delta: trade.ts_in_delta, sequence: trade.sequence, price, size: e.size, action: 'T', side, flags: 0, depth: 0, levels: this.book }]
        : [];
      return { mbp10: mbp, trades: [trade] };
    }
    const levels = levelsOf(e);
    if (!this.book) {
      this.book = levels;
      const empty = Array.from({ length: 10 }, () => ({ ...EMPTY }));
      return {
        mbp10: [
          this.mbp(e, { action: 'R', side: 'N', price: UNDEF_PRICE, size: 0, depth: 0 }, FLAGS.F_SNAPSHOT, empty),
          this.mbp(e, { action: 'A', side: 'N', price: UNDEF_PRICE, size: 0, depth: 0 }, FLAGS.F_SNAPSHOT | FLAGS.F_LAST, levels),
        ],
        trades: [],
      };
    }
    const ev = inferEvent(this.book, levels);
    this.book = levels;
    return { mbp10: [this.mbp(e, ev, e.flags, levels)], trades: [] };
  }
}
