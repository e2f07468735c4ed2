// DBN records → normalized input events (futures.mbp10.v1 / futures.trades.v1). Pure: no I/O, no clock.
//
// Decisions:
// - Every MBP-10 record becomes one FuturesMbp10 event with its flags, so consumers can read a consistent book at
//   F_LAST (DESIGN "Reading Databento data correctly"); MBP-1 records (mbp-1 schema) become one-level books.
// - The tape is the trades schema (rtype 0x00) and the tbbo schema (each record is a trade). Trade actions inside
//   MBP-10/MBP-1 records are NOT turned into trades by default: a replay that feeds both the mbp-10 and trades
//   files would count every print twice. Set `tradesFromMbp` when only MBP data is available.
// - Side is the aggressor: A (ask, sell) → -1, B (bid, buy) → +1, N → 0.
// - Absent levels (undefined-price sentinel) → NaN price and size 0, per the FuturesMbp10 contract.
import { Aggressor, FuturesMbp10, FuturesTrade, makeEventId } from '@snap/core';
import { FLAGS, RTYPE, UNDEF_PRICE, priceToFloat } from './enums';
import { DbnMetadata, instrumentSymbols } from './metadata';
import { DbnRecord, Mbp10Msg, Mbp1Msg, TradeMsg } from './records';

export interface NormalizeOptions {
  /** The underlying the data serves (partition key), e.g. SPY for ES books that feed SPY levels. */
  underlying: string;
  /** Symbol used when an instrument id is in no mapping, e.g. "ES". */
  symbolRoot: string;
  /** Emit trades from MBP records' Trade actions too (default false; see above). */
  tradesFromMbp?: boolean;
}

export type FuturesEvent = FuturesMbp10 | FuturesTrade;

const SOURCE = 'databento' as const;
/** Databento publisher ids → venue (only CME Globex is used by this project). */
const VENUES: Record<number, string> = { 1: 'GLBX' };

export function aggressorOf(side: string): Aggressor {
  return side === 'B' ? 1 : side === 'A' ? -1 : 0;
}

/** Stateful per-stream normalizer: tracks in-stream SymbolMapping records (live data names contracts there). */
export class DbnNormalizer {
  private readonly symbols: Map<number, string>;
  private readonly tbbo: boolean;

  constructor(
    metadata: DbnMetadata,
    private readonly opts: NormalizeOptions,
  ) {
    this.symbols = instrumentSymbols(metadata);
    this.tbbo = metadata.schema === 'tbbo';
  }

  symbolOf(instrumentId: number): string {
    return this.symbols.get(instrumentId) ?? this.opts.symbolRoot;
  }

  /** Zero, one or two events for one record (an MBP record with tradesFromMbp yields book + trade). */
  push(rec: DbnRecord): FuturesEvent[] {
    switch (rec.kind) {
      case 'symbol_mapping':
        if (rec.stype_out_symbol) this.symbols.set(rec.instrument_id, rec.stype_out_symbol);
        return [];
      case 'trade':
        return [this.trade(rec)];
      case 'mbp1':
        if (this.tbbo) return [this.trade(rec)];
        return this.mbp(rec);
      case 'mbp10':
        return this.mbp(rec);
      default:
        return [];
    }
  }

  private mbp(rec: Mbp10Msg | Mbp1Msg): FuturesEvent[] {
    const out: FuturesEvent[] = [this.book(rec)];
    if (this.opts.tradesFromMbp && rec.action === 'T') out.push(this.trade(rec));
    return out;
  }

  private eventId(rec: TradeMsg | Mbp10Msg | Mbp1Msg, symbol: string, price: number | null, size: number): string {
    return makeEventId({ source: SOURCE, ts_event_ns: rec.ts_event, symbol, price, size, exchange: `${rec.rtype}:${rec.action}:${rec.side}`, seq: rec.sequence });
  }

  private trade(rec: TradeMsg | Mbp10Msg | Mbp1Msg): FuturesTrade {
    const symbol = this.symbolOf(rec.instrument_id);
    const price = priceToFloat(rec.price);
    // The envelope written out, in the order a spread of it gave (an object spread per event cost several times more).
    return {
      schema_version: 1,
      source: SOURCE,
      ts_event_ns: rec.ts_event,
      ts_recv_ns: rec.ts_recv,
      key: this.opts.underlying,
      seq: BigInt(rec.sequence),
      event_id: this.eventId(rec, symbol, price, rec.size),
      schema: 'futures.trades.v1',
      symbol,
      price: price ?? Number.NaN,
      size: rec.size,
      aggressor: aggressorOf(rec.side),
      venue: VENUES[rec.publisher_id] ?? null,
    };
  }

  private book(rec: Mbp10Msg | Mbp1Msg): FuturesMbp10 {
    const symbol = this.symbolOf(rec.instrument_id);
    const n = rec.levels.length;
    const bid_px = new Array<number>(n);
    const ask_px = new Array<number>(n);
    const bid_sz = new Array<number>(n);
    const ask_sz = new Array<number>(n);
    const bid_ct = new Array<number>(n);
    const ask_ct = new Array<number>(n);
    for (let i = 0; i < n; i++) {
      const l = rec.levels[i]!;
      const bidAbsent = l.bid_px === UNDEF_PRICE;
      const askAbsent = l.ask_px === UNDEF_PRICE;
      bid_px[i] = bidAbsent ? Number.NaN : priceToFloat(l.bid_px)!;
      ask_px[i] = askAbsent ? Number.NaN : priceToFloat(l.ask_px)!;
      bid_sz[i] = bidAbsent ? 0 : l.bid_sz;
      ask_sz[i] = askAbsent ? 0 : l.ask_sz;
      bid_ct[i] = bidAbsent ? 0 : l.bid_ct;
      ask_ct[i] = askAbsent ? 0 : l.ask_ct;
    }
    return {
      schema_version: 1,
      source: SOURCE,
      ts_event_ns: rec.ts_event,
      ts_recv_ns: rec.ts_recv,
      key: this.opts.underlying,
      seq: BigInt(rec.sequence),
      event_id: this.eventId(rec, symbol, priceToFloat(rec.price), rec.size),
      schema: 'futures.mbp10.v1',
      symbol,
      bid_px,
      bid_sz,
      ask_px,
      ask_sz,
      bid_ct,
      ask_ct,
      flags: rec.flags,
      is_snapshot: (rec.flags & FLAGS.F_SNAPSHOT) !== 0,
    };
  }
}

/** Normalizes a batch of records of one DBN stream (see DbnNormalizer for streaming use). */
export function toNormalizedEvents(records: Iterable<DbnRecord>, metadata: DbnMetadata, opts: NormalizeOptions): FuturesEvent[] {
  const n = new DbnNormalizer(metadata, opts);
  const out: FuturesEvent[] = [];
  for (const r of records) for (const e of n.push(r)) out.push(e);
  return out;
}
