// A seeded ES (CME E-mini S&P 500) top-of-book process that emits Databento-shaped MBP-10 and trades records, so
// the project can ship and replay DBN files it made itself. Pure: same options ⇒ same records, byte for byte.
//
// The book: ≥10 price levels a side on a 0.25 tick grid. Each event is an add, a cancel or a marketable order:
//  - a trade emits, per price level it fills, an MBP-10 'T' record (book unchanged, as on CME) and a trades-schema
//    record, then 'C' records that take the filled size off the book, the last one flagged F_LAST;
//  - a slowly mean-reverting order-flow bias makes the price trend and stall, so levels get broken and rejected;
//  - when the spread opens, the next events mostly improve it, like market makers re-quoting.
// A session starts like a Databento replay: an 'R' (clear) record, then the initial book as F_SNAPSHOT adds.
import { mulberry32 } from '@snap/core';
import { FLAGS, FIXED_PRICE_SCALE, UNDEF_PRICE } from './enums';
import { BidAskPair } from './layout';
import { DbnMetadata } from './metadata';
import { Mbp10Msg, TradeMsg } from './records';

export interface EsSimOptions {
  seed: number;
  /** Session start, ns since epoch. */
  startNs: bigint;
  durationNs: bigint;
  /** Mean book events per second. */
  eventsPerSecond?: number;
  startPrice?: number;
  instrumentId?: number;
  /** Requested (stype_in continuous) symbol. */
  continuousSymbol?: string;
  publisherId?: number;
}

export interface EsSimStep {
  mbp10: Mbp10Msg[];
  trades: TradeMsg[];
}

const TICK = FIXED_PRICE_SCALE / 4n; // 0.25 index points
const BOOK_LEVELS = 10;
const KEEP_LEVELS = 14; // a few levels beyond the visible 10, so a sweep reveals depth that was already there

interface Level {
  tick: number;
  sz: number;
  ct: number;
}

export const ES_SIM_DEFAULTS = {
  eventsPerSecond: 20,
  startPrice: 6000,
  instrumentId: 42140878,
  continuousSymbol: 'ES.c.0',
  publisherId: 1,
} as const;

function isoDate(ns: bigint): string {
  return new Date(Number(ns / 1_000_000n)).toISOString().slice(0, 10);
}

/** Metadata for a simulated GLBX.MDP3 file of `schema`, continuous symbology like a real ES.c.0 request. */
export function esSimMetadata(opts: EsSimOptions, schema: 'mbp-10' | 'trades'): DbnMetadata {
  const symbol = opts.continuousSymbol ?? ES_SIM_DEFAULTS.continuousSymbol;
  const end = opts.startNs + opts.durationNs;
  const dayNs = 86_400_000_000_000n;
  // Mapping intervals are whole UTC days [start, end) covering the request.
  const lastDay = isoDate(((end - 1n) / dayNs + 1n) * dayNs);
  return {
    version: 3,
    dataset: 'GLBX.MDP3',
    schema,
    start: opts.startNs,
    end,
    limit: null,
    stype_in: 'continuous',
    stype_out: 'instrument_id',
    ts_out: false,
    symbol_cstr_len: 71,
    symbols: [symbol],
    partial: [],
    not_found: [],
    mappings: [
      {
        raw_symbol: symbol,
        intervals: [{ start_date: isoDate(opts.startNs), end_date: lastDay, symbol: String(opts.instrumentId ?? ES_SIM_DEFAULTS.instrumentId) }],
      },
    ],
  };
}

/** The simulated session, one step (book event) at a time. */
export function* simulateEs(opts: EsSimOptions): Generator<EsSimStep> {
  const rand = mulberry32(opts.seed).next;
  const normal = () => {
    let u = 0;
    while (u === 0) u = rand();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
  };
  const rate = opts.eventsPerSecond ?? ES_SIM_DEFAULTS.eventsPerSecond;
  const instrument_id = opts.instrumentId ?? ES_SIM_DEFAULTS.instrumentId;
  const publisher_id = opts.publisherId ?? ES_SIM_DEFAULTS.publisherId;
  const end = opts.startNs + opts.durationNs;
  const startTick = Math.round((opts.startPrice ?? ES_SIM_DEFAULTS.startPrice) * 4);

  const depthSize = (i: number) => Math.max(1, Math.round((15 + 6 * i) * (0.5 + rand())));
  const newLevel = (tick: number, i: number): Level => {
    const sz = depthSize(i);
    return { tick, sz, ct: Math.min(sz, Math.max(1, Math.round(sz / (2 + 3 * rand())))) };
  };
  const bids: Level[] = [];
  const asks: Level[] = [];
  for (let i = 0; i < KEEP_LEVELS; i++) {
    bids.push(newLevel(startTick - 1 - i, i));
    asks.push(newLevel(startTick + i, i));
  }

  let sequence = 1_000_000;
  let t = opts.startNs;
  let bias = 0;

  const levelsOf = (): BidAskPair[] => {
    const out: BidAskPair[] = [];
    for (let i = 0; i < BOOK_LEVELS; i++) {
      const b = bids[i];
      const a = asks[i];
      out.push({
        bid_px: b ? BigInt(b.tick) * TICK : UNDEF_PRICE,
        ask_px: a ? BigInt(a.tick) * TICK : UNDEF_PRICE,
        bid_sz: b?.sz ?? 0,
        ask_sz: a?.sz ?? 0,
        bid_ct: b?.ct ?? 0,
        ask_ct: a?.ct ?? 0,
      });
    }
    return out;
  };
  const latency = () => BigInt(150_000 + Math.floor(rand() * 250_000));
  const mbp = (ts: bigint, recv: bigint, action: string, side: string, tick: number | null, size: number, depth: number, flags: number): Mbp10Msg => ({
    kind: 'mbp10',
    rtype: 0x0a,
    publisher_id,
    instrument_id,
    ts_event: ts,
    price: tick === null ? UNDEF_PRICE : BigInt(tick) * TICK,
    size,
    action,
    side,
    flags,
    depth,
    ts_recv: recv,
    ts_in_delta: 15_000 + Math.floor(rand() * 10_000),
    sequence: sequence++,
    levels: levelsOf(),
  });
  const refill = () => {
    // A sweep can in principle empty a side: re-seed it one tick off the other side's best.
    if (bids.length === 0) bids.push(newLevel(asks[0]!.tick - 1, 0));
    if (asks.length === 0) asks.push(newLevel(bids[0]!.tick + 1, 0));
    while (bids.length < KEEP_LEVELS) bids.push(newLevel(bids[bids.length - 1]!.tick - 1, bids.length));
    while (asks.length < KEEP_LEVELS) asks.push(newLevel(asks[asks.length - 1]!.tick + 1, asks.length));
  };

  // Session start: clear, then the initial book as snapshot adds (best first, alternating sides).
  {
    const recv = t + latency();
    const saved = { b: bids.splice(0), a: asks.splice(0) };
    const first: Mbp10Msg[] = [mbp(t, recv, 'R', 'N', null, 0, 0, FLAGS.F_SNAPSHOT)];
    for (let i = 0; i < BOOK_LEVELS; i++) {
      bids.push(saved.b[i]!);
      first.push(mbp(t, recv, 'A', 'B', saved.b[i]!.tick, saved.b[i]!.sz, i, FLAGS.F_SNAPSHOT));
      asks.push(saved.a[i]!);
      first.push(mbp(t, recv, 'A', 'A', saved.a[i]!.tick, saved.a[i]!.sz, i, FLAGS.F_SNAPSHOT | (i === BOOK_LEVELS - 1 ? FLAGS.F_LAST : 0)));
    }
    bids.push(...saved.b.slice(BOOK_LEVELS));
    asks.push(...saved.a.slice(BOOK_LEVELS));
    yield { mbp10: first, trades: [] };
  }

  for (;;) {
    t += BigInt(Math.max(1000, Math.round((-Math.log(1 - rand()) / rate) * 1e9)));
    if (t >= end) return;
    const recv = t + latency();
    bias = Math.max(-0.35, Math.min(0.35, 0.995 * bias + 0.03 * normal()));
    const spread = asks[0]!.tick - bids[0]!.tick;
    const u = rand();

    if (spread > 1 && u < 0.7) {
      // Re-quote inside the spread, more likely on the side the flow favours.
      const buySide = rand() < 0.5 + bias;
      const lv = newLevel(buySide ? bids[0]!.tick + 1 : asks[0]!.tick - 1, 0);
      if (buySide) bids.unshift(lv);
      else asks.unshift(lv);
      yield { mbp10: [mbp(t, recv, 'A', buySide ? 'B' : 'A', lv.tick, lv.sz, 0, FLAGS.F_LAST)], trades: [] };
      continue;
    }

    if (u < 0.22) {
      // Marketable order: buy lifts asks, sell hits bids, possibly through several levels.
      const buy = rand() < 0.5 + bias;
      const book = buy ? asks : bids;
      let qty = 1 + Math.floor(-Math.log(1 - rand()) * (4 + 20 * Math.abs(bias)));
      if (rand() < 0.03) qty += Math.floor(book[0]!.sz * (1 + rand() * 2)); // occasional sweep
      const fills: { depth: number; tick: number; size: number }[] = [];
      for (let i = 0; qty > 0 && i < book.length; i++) {
        const take = Math.min(qty, book[i]!.sz);
        fills.push({ depth: i, tick: book[i]!.tick, size: take });
        qty -= take;
      }
      const aggressor = buy ? 'B' : 'A';
      const resting = buy ? 'A' : 'B';
      const recs: Mbp10Msg[] = [];
      const trades: TradeMsg[] = [];
      for (const f of fills) {
        const rec = mbp(t, recv, 'T', aggressor, f.tick, f.size, f.depth, 0);
        recs.push(rec);
        trades.push({
          kind: 'trade', rtype: 0x00, publisher_id, instrument_id, ts_event: t, price: rec.price, size: f.size, action: 'T',
          side: aggressor, flags: FLAGS.F_LAST, depth: 0, ts_recv: recv, ts_in_delta: rec.ts_in_delta, sequence: rec.sequence,
        });
      }
      // The fills come off the book as cancels of the resting size (Trade records do not change the book).
      let removed = 0;
      fills.forEach((f, k) => {
        const lv = book[f.depth - removed]!;
        lv.sz -= f.size;
        lv.ct = Math.min(lv.sz, Math.max(lv.sz > 0 ? 1 : 0, lv.ct - 1));
        const depth = f.depth - removed;
        if (lv.sz === 0) {
          book.splice(depth, 1);
          removed++;
        }
        recs.push(mbp(t, recv, 'C', resting, f.tick, f.size, depth, k === fills.length - 1 ? FLAGS.F_LAST : 0));
      });
      refill();
      yield { mbp10: recs, trades };
      continue;
    }

    const buySide = rand() < 0.5;
    const book = buySide ? bids : asks;
    const depth = Math.min(BOOK_LEVELS - 1, Math.floor(-Math.log(1 - rand()) * 2.5));
    const lv = book[depth]!;
    if (u < 0.62) {
      // Add: liquidity joins, a little more on the side the flow is leaning against (absorption).
      const add = 1 + Math.floor(rand() * 8 * (1 + (buySide ? -bias : bias)));
      lv.sz += add;
      lv.ct = Math.min(lv.sz, lv.ct + 1);
      yield { mbp10: [mbp(t, recv, 'A', buySide ? 'B' : 'A', lv.tick, add, depth, FLAGS.F_LAST)], trades: [] };
    } else {
      // Cancel: part of a level leaves; a level that empties away from the top is pulled entirely.
      const cut = Math.min(lv.sz, 1 + Math.floor(rand() * Math.max(1, lv.sz * 0.4)));
      lv.sz -= cut;
      lv.ct = Math.min(lv.sz, Math.max(lv.sz > 0 ? 1 : 0, lv.ct - 1));
      if (lv.sz === 0) book.splice(depth, 1);
      refill();
      yield { mbp10: [mbp(t, recv, 'C', buySide ? 'B' : 'A', lv.tick, cut, depth, FLAGS.F_LAST)], trades: [] };
    }
  }
}
