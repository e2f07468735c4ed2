// Plausibility of one normalized input event (issue 8). Pure: every path that admits input — the feeds' Kafka sink,
// the embedded runner (`run`, the demo) and the processor — calls checkPlausible and dead-letters what it refuses,
// with the returned reason, so an impossible price never reaches an engine on any path and parity holds.
//
// The rules (deliberately about what is IMPOSSIBLE for the instruments we serve, not what is unusual):
// - every number is finite (NaN/±Infinity are impossible), except the documented "absent level" of MBP-10 (NaN price
//   with size 0);
// - prices of stocks, equity-index futures and options are > 0 and below MAX_PLAUSIBLE_PRICE (1e7: above any listed
//   US equity, index future or option; catches 1e308 and decoder garbage). A futures trade at −1e-9 is refused: we
//   serve equity-index futures, which cannot trade at or below zero (commodity futures could, and are not served);
// - trade sizes are > 0; quote/book sizes are ≥ 0 (a zero size is an empty side) and below MAX_PLAUSIBLE_SIZE;
// - a quote side with price 0 is a one-sided market only when its size is 0 too; negative prices never;
// - a crossed quote (bid > ask, both sides present) is refused only beyond CROSSED_TOLERANCE (2% of the ask): NBBO
//   and consolidated books lock and cross briefly by a tick or two in real markets, and the engines handle that; a
//   gross cross means a corrupt record (a swapped field, a bad scale);
// - greeks: |delta| ≤ 1 (+1e-9), gamma ≥ 0 (long-option gamma), implied volatility and open interest ≥ 0 when set;
// - options: strike > 0, opt_bid/opt_ask ≥ 0 when set, right is C or P;
// - timestamps: ts_event_ns > 0 and ts_recv_ns ≥ 0.

import type { FuturesMbp10, InputEvent } from './events';

export const MAX_PLAUSIBLE_PRICE = 1e7;
export const MAX_PLAUSIBLE_SIZE = 1e9;
/** A crossed quote is refused when bid − ask exceeds this fraction of the ask. */
export const CROSSED_TOLERANCE = 0.02;

const fin = Number.isFinite;

/** What price() and bookSize() accept, without building a reason (the MBP-10 check asks this of 40 values per record). */
const isPrice = (p: number): boolean => fin(p) && p > 0 && p < MAX_PLAUSIBLE_PRICE;
const isBookSize = (z: number): boolean => fin(z) && z >= 0 && z < MAX_PLAUSIBLE_SIZE;

function price(name: string, p: number): string | null {
  if (isPrice(p)) return null;
  if (!fin(p)) return `${name} is not finite (${p})`;
  if (p <= 0) return `${name} ${p} is not positive`;
  return `${name} ${p} is above ${MAX_PLAUSIBLE_PRICE}`;
}

function tradeSize(name: string, z: number): string | null {
  if (!fin(z)) return `${name} is not finite (${z})`;
  if (z <= 0) return `${name} ${z} is not positive`;
  if (z >= MAX_PLAUSIBLE_SIZE) return `${name} ${z} is above ${MAX_PLAUSIBLE_SIZE}`;
  return null;
}

function bookSize(name: string, z: number): string | null {
  if (isBookSize(z)) return null;
  if (!fin(z)) return `${name} is not finite (${z})`;
  if (z < 0) return `${name} ${z} is negative`;
  return `${name} ${z} is above ${MAX_PLAUSIBLE_SIZE}`;
}

/** One quote side: price 0 only as an empty side (size 0). The field name is built only for a reason (per quote). */
function quoteSide(side: string, p: number, z: number): string | null {
  if (!isBookSize(z)) return bookSize(`${side}_sz`, z);
  if (isPrice(p) || (p === 0 && z === 0)) return null;
  return price(`${side}_px`, p);
}

function crossed(bid: number, ask: number, what: string): string | null {
  if (bid > 0 && ask > 0 && bid - ask > CROSSED_TOLERANCE * ask) {
    return `${what} crossed beyond ${CROSSED_TOLERANCE * 100}%: bid ${bid} > ask ${ask}`;
  }
  return null;
}

function optional(name: string, v: number | null, min: number): string | null {
  if (v === null) return null;
  if (!fin(v)) return `${name} is not finite (${v})`;
  if (v < min) return `${name} ${v} is below ${min}`;
  return null;
}

/** One side of an MBP-10 book. The field names of a reason are built only when there is one (this runs per record). */
function bookSide(side: 'bid' | 'ask', px: number[], sz: number[], ct: number[]): string | null {
  for (let i = 0; i < px.length; i++) {
    const p = px[i]!;
    const z = sz[i] ?? 0;
    if (!isBookSize(z)) return bookSize(`${side}_sz[${i}]`, z);
    const c = ct[i] ?? 0;
    if (!fin(c) || c < 0) return `${side}_ct[${i}] ${c} is not a count`;
    // Absent level: NaN price (DBN UNDEF_PRICE) with size 0 — or any price with size 0, which the engines skip.
    if (z === 0 && (Number.isNaN(p) || (fin(p) && p >= 0 && p < MAX_PLAUSIBLE_PRICE))) continue;
    if (!isPrice(p)) return price(`${side}_px[${i}]`, p);
  }
  return null;
}

function mbp10(e: FuturesMbp10): string | null {
  const bad = bookSide('bid', e.bid_px, e.bid_sz, e.bid_ct) ?? bookSide('ask', e.ask_px, e.ask_sz, e.ask_ct);
  if (bad) return bad;
  const bb = e.bid_sz[0]! > 0 ? e.bid_px[0]! : NaN;
  const ba = e.ask_sz[0]! > 0 ? e.ask_px[0]! : NaN;
  return fin(bb) && fin(ba) ? crossed(bb, ba, 'book') : null;
}

/** null when the event is plausible, else a short reason naming the offending field and value. */
export function checkPlausible(e: InputEvent): string | null {
  if (e.ts_event_ns <= 0n) return `ts_event_ns ${e.ts_event_ns} is not positive`;
  if (e.ts_recv_ns < 0n) return `ts_recv_ns ${e.ts_recv_ns} is negative`;
  switch (e.schema) {
    case 'heartbeat.v1':
      return null;
    case 'stocks.trades.v1':
    case 'futures.trades.v1':
      return price('price', e.price) ?? tradeSize('size', e.size);
    case 'stocks.quotes.v1':
      return quoteSide('bid', e.bid_px, e.bid_sz) ?? quoteSide('ask', e.ask_px, e.ask_sz) ?? crossed(e.bid_px, e.ask_px, 'quote');
    case 'options.trades.v1':
      return (
        price('strike', e.strike) ??
        (e.right === 'C' || e.right === 'P' ? null : `right ${String(e.right)} is not C or P`) ??
        price('price', e.price) ??
        tradeSize('size', e.size) ??
        optional('opt_bid', e.opt_bid, 0) ??
        optional('opt_ask', e.opt_ask, 0)
      );
    case 'options.greeks_snapshots.v1': {
      if (!fin(e.delta) || Math.abs(e.delta) > 1 + 1e-9) return `delta ${e.delta} is outside [-1, 1]`;
      if (!fin(e.gamma) || e.gamma < 0) return `gamma ${e.gamma} is not a finite non-negative number`;
      if (!fin(e.theta)) return `theta is not finite (${e.theta})`;
      if (!fin(e.vega)) return `vega is not finite (${e.vega})`;
      return (
        price('strike', e.strike) ??
        (e.right === 'C' || e.right === 'P' ? null : `right ${String(e.right)} is not C or P`) ??
        optional('implied_volatility', e.implied_volatility, 0) ??
        optional('open_interest', e.open_interest, 0)
      );
    }
    case 'futures.mbp10.v1':
      return mbp10(e);
  }
}
