// A small agent-based synthetic market. Price is not drawn from a formula: it moves only when a queue in the
// SPY order book is exhausted, so every break or bounce in the data is the consequence of order flow (adds,
// cancels, aggressive orders, dealer hedging) — the same causes the engines are built to read.
//
// What is emitted (all as normalized events with 'sim' envelopes):
//   - SPY NBBO quotes (sizes in shares) after each book change, and SPY trades at the prices they executed,
//     split across venues (exchange ids), aggressor-consistent (buys print at the ask, sells at the bid).
//   - ES MBP-10 (top 10 per side, tick 0.25, F_LAST) rendered from the same book through ES ≈ 10·SPY + basis,
//     with a slowly drifting basis, plus ES trades mirroring SPY aggression.
//   - 0DTE SPY option trades priced by Black–Scholes with option bid/ask, and chain greeks snapshots.
//   - Heartbeats.
// Dealers take the other side of customer option trades; their delta hedging (short gamma: aggressive, with the
// move; long gamma: passive, against it) feeds back into the SPY book. That is how Fuel shows up physically.
import { fnv1a64, makeEventId } from '../event-id';
import { DBN_FLAGS } from '../events';
import type { Aggressor, FuturesMbp10, FuturesTrade, GreeksSnapshot, Heartbeat, InputEvent, OptionRight, OptionTrade, StockQuote, StockTrade } from '../events';
import { blackScholes } from './black-scholes';
import type { Rng } from './rng';

export type SimBookSide = 'bid' | 'ask';

const NS_PER_MS = 1_000_000n;
const YEAR_NS = 365 * 24 * 3600 * 1e9;
/** Exchange ids used for SPY prints/quotes (a spread of lit venues and the TRF). */
const VENUES = [1, 2, 3, 4, 7, 8, 10, 11, 12, 15, 17, 19, 21] as const;
/** Intermarket Sweep Order sale condition: marks the child prints of a sweep. */
export const COND_INTERMARKET_SWEEP = 14;
const ES_TICK = 0.25;
const LADDER_DEPTH_CENTS = 30;

export interface MarketSimOptions {
  rng: Rng;
  underlying?: string;
  startNs: bigint;
  /** Initial SPY mid; the book is built around it (best bid = floor to the cent). */
  spot: number;
  /** 0DTE expiry (YYYY-MM-DD) and its close time. */
  expDate?: string;
  closeNs?: bigint;
  iv?: number;
  esSymbol?: string;
  esMultiplier?: number;
  basis?: number;
  /** SPY shares represented by one ES contract of displayed depth (ES is far deeper in notional). */
  esSharesPerContract?: number;
  /** Fraction of the dealers' required delta hedge executed in SPY (the rest goes elsewhere, e.g. ES). */
  hedgeParticipation?: number;
  greeksEveryMs?: number;
  heartbeatEveryMs?: number;
  strikesAroundSpot?: number;
  /** Background noise-trader arrival rate per side (orders per second). */
  noiseRate?: number;
}

/** Target displayed size of a background level; scenarios override it to make thin or thick zones. */
export type DepthProfile = (side: SimBookSide, cents: number) => number;

interface DealerPosition {
  strike: number;
  right: OptionRight;
  /** Contracts, dealer's side (customer buys ⇒ dealer short ⇒ negative). */
  contracts: number;
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

/** Stable per-level pseudo-random in [0,1) so background depth differs by level without consuming RNG draws. */
function levelNoise(key: number, salt: number): number {
  const h = Math.imul((key ^ Math.imul(salt, 0x27d4eb2d)) >>> 0, 0x9e3779b1) >>> 0;
  return ((h ^ (h >>> 15)) >>> 0) / 4294967296;
}

/**
 * One side of the simulated SPY book: size by price in cents. It remembers its best price until it changes: the
 * simulator asks for the touch several times per step (mid, publish, the spread, the book upkeep), and each ask
 * walked every price (a quarter of the simulator's time).
 */
class BookSide extends Map<number, number> {
  private changes = 0;
  private bestAt = -1;
  private bestDir = 0;
  private bestPrice = 0;

  override set(cents: number, size: number): this {
    this.changes++;
    return super.set(cents, size);
  }

  override delete(cents: number): boolean {
    this.changes++;
    return super.delete(cents);
  }

  override clear(): void {
    this.changes++;
    super.clear();
  }

  /** The best price with size > 0: highest for dir −1 (bids), lowest for dir 1 (asks); ∓Infinity when none. */
  best(dir: -1 | 1): number {
    if (this.bestAt === this.changes && this.bestDir === dir) return this.bestPrice;
    let b = dir === -1 ? -Infinity : Infinity;
    this.forEach((s, p) => {
      if (s > 0 && (dir === -1 ? p > b : p < b)) b = p;
    });
    this.bestAt = this.changes;
    this.bestDir = dir;
    this.bestPrice = b;
    return b;
  }
}

/** `${x}` === `${y}` for numbers: equal, or both NaN. */
const sameShown = (x: number, y: number): boolean => x === y || (x !== x && y !== y);

export function optionSymbol(underlying: string, expDate: string, right: OptionRight, strike: number): string {
  const ymd = expDate.slice(2).replace(/-/g, '');
  return `O:${underlying}${ymd}${right}${String(Math.round(strike * 1000)).padStart(8, '0')}`;
}

export class MarketSim {
  readonly rng: Rng;
  readonly underlying: string;
  readonly expDate: string;
  readonly esSymbol: string;
  /** Emitted events, in non-decreasing ts_event_ns; callers drain it. */
  out: InputEvent[] = [];

  private readonly bids = new BookSide();
  private readonly asks = new BookSide();
  /**
   * Levels (cents) whose size only the scenario script changes (background liquidity leaves them alone). Numbers, not
   * "side:cents" strings: maintainBook asks for each of 60 cents per step, and building the key cost a sixth of the
   * simulator's time.
   */
  private readonly scripted: Record<SimBookSide, Set<number>> = { bid: new Set(), ask: new Set() };
  profile: DepthProfile;
  /** −1..+1: tilts background aggression toward selling (−) or buying (+). */
  flowBias = 0;
  noiseRate: number;

  private t: bigint;
  private cursor: bigint;
  private readonly closeNs: bigint;
  private iv: number;
  private basis: number;
  private readonly basis0: number;
  private readonly esMult: number;
  private readonly esScale: number;
  readonly hedgeParticipation: number;
  private readonly greeksEvery: bigint;
  private readonly hbEvery: bigint;
  private readonly strikesAround: number;
  private nextGreeks: bigint;
  private nextHb: bigint;
  private readonly seq = new Map<string, bigint>();
  /**
   * What the last quote and MBP-10 record showed, compared as numbers: the keys these were, a string of the values per
   * step, were a tenth of the simulator's time. Two numbers write the same text exactly when they are equal or both
   * NaN (sameShown). NaN until the first record: its prices are finite (publish needs both sides), so it differs.
   */
  private readonly lastQuote = new Float64Array(4).fill(NaN);
  /** bid px[0], ask px[0], then the 10 bid and 10 ask sizes. */
  private readonly lastEs = new Float64Array(22).fill(NaN);
  private lastMid: number;
  private hedgeNeed = 0;
  /** Shares that non-dealer aggression took from each side's touch during the current step. */
  private touchHits = { bid: 0, ask: 0 };
  /** Shares dealers have already refilled/pulled per strike, side and gamma sign (their finite appetite). */
  private readonly dealerUsed = new Map<string, number>();
  readonly dealer = new Map<string, DealerPosition>();
  private readonly lastOptTrade = new Map<string, bigint>();
  /** Volume-weighted session stats (for the live summary / tests). */
  stats = { stockTrades: 0, stockVolume: 0, optionTrades: 0, esTrades: 0, quotes: 0, mbp: 0 };

  constructor(opts: MarketSimOptions) {
    this.rng = opts.rng;
    this.underlying = opts.underlying ?? 'SPY';
    this.t = opts.startNs;
    this.cursor = opts.startNs;
    const day = new Date(Number(opts.startNs / NS_PER_MS)).toISOString().slice(0, 10);
    this.expDate = opts.expDate ?? day;
    // 16:00 New York in winter (UTC−5); only time-to-expiry depends on it.
    this.closeNs = opts.closeNs ?? BigInt(Date.parse(`${this.expDate}T21:00:00Z`)) * NS_PER_MS;
    this.iv = opts.iv ?? 0.15;
    this.esSymbol = opts.esSymbol ?? 'ESZ5';
    this.esMult = opts.esMultiplier ?? 10;
    this.basis0 = opts.basis ?? 15;
    this.basis = this.basis0;
    this.esScale = opts.esSharesPerContract ?? 20;
    this.hedgeParticipation = opts.hedgeParticipation ?? 0.3;
    this.greeksEvery = BigInt(opts.greeksEveryMs ?? 15_000) * NS_PER_MS;
    this.hbEvery = BigInt(opts.heartbeatEveryMs ?? 1000) * NS_PER_MS;
    this.strikesAround = opts.strikesAroundSpot ?? 10;
    this.noiseRate = opts.noiseRate ?? 3;
    this.nextGreeks = opts.startNs;
    this.nextHb = opts.startNs;
    this.profile = (side, cents) => 700 + Math.round(levelNoise(cents, side === 'bid' ? 1 : 2) * 1500);
    const bb = Math.floor(opts.spot * 100 + 1e-9);
    for (let i = 0; i < LADDER_DEPTH_CENTS; i++) {
      this.bids.set(bb - i, this.profile('bid', bb - i));
      this.asks.set(bb + 1 + i, this.profile('ask', bb + 1 + i));
    }
    this.lastMid = this.mid();
  }

  // ---- clock ------------------------------------------------------------------------------------------------

  get nowNs(): bigint {
    return this.cursor;
  }

  /** Next event time: a few µs–ms after the previous one, never before the current step. */
  private stamp(minUs = 20, maxUs = 400): bigint {
    const base = this.cursor > this.t ? this.cursor : this.t;
    this.cursor = base + BigInt(this.rng.int(minUs, maxUs)) * 1000n;
    return this.cursor;
  }

  private envelope(stream: string, ts: bigint) {
    const s = (this.seq.get(stream) ?? 0n) + 1n;
    this.seq.set(stream, s);
    // Feed-to-us latency: 50–400 µs.
    return { schema_version: 1, source: 'sim' as const, ts_event_ns: ts, ts_recv_ns: ts + BigInt(this.rng.int(50, 400)) * 1000n, key: this.underlying, seq: s };
  }

  // ---- book -------------------------------------------------------------------------------------------------

  private sideMap(side: SimBookSide): BookSide {
    return side === 'bid' ? this.bids : this.asks;
  }

  bestBidCents(): number {
    return this.bids.best(-1);
  }

  bestAskCents(): number {
    return this.asks.best(1);
  }

  bestBid(): number {
    return this.bestBidCents() / 100;
  }
  bestAsk(): number {
    return this.bestAskCents() / 100;
  }
  mid(): number {
    return (this.bestBidCents() + this.bestAskCents()) / 200;
  }

  sizeAt(side: SimBookSide, price: number): number {
    return this.sideMap(side).get(Math.round(price * 100)) ?? 0;
  }

  /** Marks a level as script-controlled (true) or returns it to background liquidity (false). */
  script(side: SimBookSide, price: number, on = true): void {
    const c = Math.round(price * 100);
    if (on) this.scripted[side].add(c);
    else this.scripted[side].delete(c);
  }

  /** Rests a limit order. A bid at/above the best ask (or ask at/below the best bid) would cross, so it is refused. */
  addLiquidity(side: SimBookSide, price: number, shares: number, publish = true): number {
    const c = Math.round(price * 100);
    if (shares <= 0) return 0;
    if (side === 'bid' ? c >= this.bestAskCents() : c <= this.bestBidCents()) return 0;
    const m = this.sideMap(side);
    m.set(c, (m.get(c) ?? 0) + shares);
    if (publish) this.publish();
    return shares;
  }

  cancelLiquidity(side: SimBookSide, price: number, shares: number, publish = true): number {
    const c = Math.round(price * 100);
    const m = this.sideMap(side);
    const have = m.get(c) ?? 0;
    const n = Math.min(have, Math.max(0, shares));
    if (n === 0) return 0;
    if (have - n > 0) m.set(c, have - n);
    else m.delete(c);
    if (publish) this.publish();
    return n;
  }

  /**
   * An aggressive order walking the book. `venues` > 1 splits each price level's fill across that many exchanges
   * within a few hundred µs (an intermarket sweep); `limit` stops the walk at that price.
   */
  marketOrder(aggressor: 1 | -1, shares: number, opts: { venues?: number; limit?: number; iso?: boolean; dealer?: boolean } = {}): { filled: number; lastPrice: number | null } {
    const m = aggressor === 1 ? this.asks : this.bids;
    let remaining = Math.max(0, Math.round(shares));
    let filled = 0;
    let lastPrice: number | null = null;
    let notionalShares = 0;
    const venues = Math.max(1, opts.venues ?? 1);
    // An ordinary order is routed to one venue; only a sweep (venues > 1) fans out across exchanges.
    const homeVenue = this.rng.pick(VENUES);
    const limitC = opts.limit === undefined ? undefined : Math.round(opts.limit * 100);
    while (remaining > 0) {
      const best = aggressor === 1 ? this.bestAskCents() : this.bestBidCents();
      if (!Number.isFinite(best)) break;
      if (limitC !== undefined && (aggressor === 1 ? best > limitC : best < limitC)) break;
      const have = m.get(best)!;
      const take = Math.min(have, remaining);
      // Child prints, one per venue, sizes in round lots where possible.
      let left = take;
      const used: number[] = [];
      for (let v = 0; v < venues && left > 0; v++) {
        const part = v === venues - 1 ? left : Math.min(left, Math.max(1, Math.round(take / venues / 100) * 100 || Math.ceil(take / venues)));
        let venue = venues === 1 ? homeVenue : this.rng.pick(VENUES);
        for (let tries = 0; venues > 1 && used.includes(venue) && tries < 8; tries++) venue = this.rng.pick(VENUES);
        used.push(venue);
        this.emitStockTrade(best / 100, part, venue, venues > 1 || opts.iso ? [COND_INTERMARKET_SWEEP] : [], venues > 1 ? [20, 120] : [20, 400]);
        left -= part;
      }
      if (have - take > 0) m.set(best, have - take);
      else m.delete(best);
      remaining -= take;
      filled += take;
      notionalShares += take;
      lastPrice = best / 100;
      this.publish();
    }
    if (filled > 0 && lastPrice !== null) this.emitEsTrade(aggressor, lastPrice, filled);
    if (filled > 0) {
      this.closeSpread(aggressor === 1 ? 1 : -1);
      this.publish();
    }
    if (!opts.dealer) this.touchHits[aggressor === 1 ? 'ask' : 'bid'] += filled;
    return { filled, lastPrice };
  }

  // ---- emission ---------------------------------------------------------------------------------------------

  private emitStockTrade(price: number, size: number, exchange: number, conditions: number[], gapUs: [number, number]): void {
    const ts = this.stamp(gapUs[0], gapUs[1]);
    const env = this.envelope('stocks.trades', ts);
    const ev: StockTrade = {
      schema: 'stocks.trades.v1',
      ...env,
      event_id: makeEventId({ source: 'sim', ts_event_ns: ts, symbol: this.underlying, price, size, exchange, seq: env.seq }),
      symbol: this.underlying,
      price,
      size,
      exchange,
      conditions,
    };
    this.out.push(ev);
    this.stats.stockTrades++;
    this.stats.stockVolume += size;
  }

  private esPriceOf(spyPrice: number, side: SimBookSide): number {
    const x = (this.esMult * spyPrice + this.basis) / ES_TICK;
    // Bids round down and asks up, so the rendered ES book can never lock or cross.
    return (side === 'bid' ? Math.floor(x + 1e-9) : Math.ceil(x - 1e-9)) * ES_TICK;
  }

  private emitEsTrade(aggressor: Aggressor, spyPrice: number, spyShares: number): void {
    const size = Math.round(spyShares / this.esScale);
    if (size < 1) return;
    const price = this.esPriceOf(spyPrice, aggressor === 1 ? 'ask' : 'bid');
    const ts = this.stamp(5, 60);
    const env = this.envelope('futures.trades', ts);
    const ev: FuturesTrade = {
      schema: 'futures.trades.v1',
      ...env,
      event_id: makeEventId({ source: 'sim', ts_event_ns: ts, symbol: this.esSymbol, price, size, exchange: 'GLBX', seq: env.seq }),
      symbol: this.esSymbol,
      price,
      size,
      aggressor,
      venue: 'GLBX',
    };
    this.out.push(ev);
    this.stats.esTrades++;
  }

  /** Emits an NBBO quote and an ES MBP-10 record if the visible state changed. */
  publish(): void {
    const bb = this.bestBidCents();
    const ba = this.bestAskCents();
    if (!Number.isFinite(bb) || !Number.isFinite(ba)) return;
    const bs = this.bids.get(bb)!;
    const as = this.asks.get(ba)!;
    const lq = this.lastQuote;
    if (!(sameShown(lq[0]!, bb) && sameShown(lq[1]!, ba) && sameShown(lq[2]!, bs) && sameShown(lq[3]!, as))) {
      lq[0] = bb;
      lq[1] = ba;
      lq[2] = bs;
      lq[3] = as;
      const ts = this.stamp();
      const env = this.envelope('stocks.quotes', ts);
      const bidExch = this.rng.pick(VENUES);
      const askExch = this.rng.pick(VENUES);
      const ev: StockQuote = {
        schema: 'stocks.quotes.v1',
        ...env,
        event_id: makeEventId({ source: 'sim', ts_event_ns: ts, symbol: this.underlying, price: bb / 100, size: bs, exchange: `${ba / 100}/${as}`, seq: env.seq }),
        symbol: this.underlying,
        bid_px: bb / 100,
        ask_px: ba / 100,
        bid_sz: bs,
        ask_sz: as,
        bid_exch: bidExch,
        ask_exch: askExch,
      };
      this.out.push(ev);
      this.stats.quotes++;
    }
    this.publishEs(bb, ba);
  }

  /** esSide's per-tick depth (scratch). */
  private readonly esDepth: number[] = new Array<number>(10).fill(0);

  private esSide(side: SimBookSide, bestTick: number): { px: number[]; sz: number[]; ct: number[] } {
    const dir = side === 'bid' ? -1 : 1;
    // The SPY depth of each of the 10 ticks (i ticks from bestTick), summed in the book's order as a map by tick was.
    const depth = this.esDepth;
    depth.fill(0);
    this.sideMap(side).forEach((s, c) => {
      const i = (Math.round(this.esPriceOf(c / 100, side) / ES_TICK) - bestTick) * dir;
      if (i >= 0 && i < 10) depth[i] += s;
    });
    const px: number[] = [];
    const sz: number[] = [];
    const ct: number[] = [];
    for (let i = 0; i < 10; i++) {
      const tick = bestTick + dir * i;
      // ES has its own resting depth besides what mirrors SPY; it is static per price so it adds no false churn.
      const own = 20 + Math.round(levelNoise(tick, side === 'bid' ? 3 : 4) * 40);
      const size = own + Math.round(depth[i]! / this.esScale);
      px.push(tick * ES_TICK);
      sz.push(size);
      ct.push(Math.max(1, Math.round(size / 6)));
    }
    return { px, sz, ct };
  }

  private publishEs(bb: number, ba: number): void {
    const bidTick = Math.round(this.esPriceOf(bb / 100, 'bid') / ES_TICK);
    const askTick = Math.round(this.esPriceOf(ba / 100, 'ask') / ES_TICK);
    const b = this.esSide('bid', bidTick);
    const a = this.esSide('ask', askTick);
    const le = this.lastEs;
    let same = sameShown(le[0]!, b.px[0]!) && sameShown(le[1]!, a.px[0]!);
    for (let i = 0; same && i < 10; i++) same = sameShown(le[2 + i]!, b.sz[i]!) && sameShown(le[12 + i]!, a.sz[i]!);
    if (same) return;
    le[0] = b.px[0]!;
    le[1] = a.px[0]!;
    for (let i = 0; i < 10; i++) {
      le[2 + i] = b.sz[i]!;
      le[12 + i] = a.sz[i]!;
    }
    const ts = this.stamp(5, 60);
    const env = this.envelope('futures.mbp10', ts);
    const ev: FuturesMbp10 = {
      schema: 'futures.mbp10.v1',
      ...env,
      event_id: makeEventId({ source: 'sim', ts_event_ns: ts, symbol: this.esSymbol, price: b.px[0]!, size: b.sz[0]!, exchange: `${a.px[0]}/${a.sz[0]}`, seq: env.seq }),
      symbol: this.esSymbol,
      bid_px: b.px,
      bid_sz: b.sz,
      ask_px: a.px,
      ask_sz: a.sz,
      bid_ct: b.ct,
      ask_ct: a.ct,
      flags: DBN_FLAGS.F_LAST,
      is_snapshot: false,
    };
    this.out.push(ev);
    this.stats.mbp++;
  }

  // ---- options ----------------------------------------------------------------------------------------------

  private tYears(): number {
    return Math.max(0, Number(this.closeNs - this.cursor) / YEAR_NS);
  }

  private ivFor(strike: number, right: OptionRight, ref = this.mid()): number {
    // Mild put skew; the exact smile is irrelevant to the physics, only that greeks are coherent with prices.
    const m = (strike - ref) / ref;
    return Math.max(0.05, this.iv - 0.8 * m + (right === 'P' ? 0.01 : 0));
  }

  greeks(strike: number, right: OptionRight, spot = this.mid()) {
    return blackScholes(spot, strike, this.tYears(), this.ivFor(strike, right), right);
  }

  /**
   * The mid, or while aggression has emptied one side of the book (until the next step refills it) the last mid
   * the dealers hedged at. Prices, strikes and greeks are quoted off it: off an infinite mid they came out NaN or
   * infinite (invalid option prints, a chain loop that never ends, NaN dealer gamma that poisoned every later
   * hedge — the null MBP-10 sizes of long sessions, issue 15). While the book is whole it is exactly mid().
   */
  refMid(): number {
    const m = this.mid();
    return Number.isFinite(m) ? m : this.lastMid;
  }

  /** greeks() off refMid(), for prints and snapshots that must be priced even while a side is empty. */
  private greeksAtRef(strike: number, right: OptionRight) {
    const s = this.refMid();
    return blackScholes(s, strike, this.tYears(), this.ivFor(strike, right, s), right);
  }

  /**
   * A customer option trade: customerSide +1 buys at the ask, −1 sells at the bid, 0 prints at the mid.
   * The dealer takes the other side, which is what gives dealers their gamma position.
   */
  optionTrade(strike: number, right: OptionRight, size: number, customerSide: Aggressor): void {
    const g = this.greeksAtRef(strike, right);
    const theo = Math.max(0.01, g.price);
    const half = Math.max(0.01, round2(theo * 0.02));
    const bid = Math.max(0.01, round2(theo - half));
    const ask = round2(Math.max(bid + 0.01, theo + half));
    const price = customerSide === 1 ? ask : customerSide === -1 ? bid : round2((bid + ask) / 2);
    const ts = this.stamp();
    const env = this.envelope('options.trades', ts);
    const sym = optionSymbol(this.underlying, this.expDate, right, strike);
    const ev: OptionTrade = {
      schema: 'options.trades.v1',
      ...env,
      event_id: makeEventId({ source: 'sim', ts_event_ns: ts, symbol: sym, price, size, seq: env.seq }),
      underlying: this.underlying,
      option_symbol: sym,
      exp_date: this.expDate,
      strike,
      right,
      price,
      size,
      opt_bid: bid,
      opt_ask: ask,
      aggressor: customerSide,
    };
    this.out.push(ev);
    this.stats.optionTrades++;
    this.lastOptTrade.set(sym, ts);
    const key = `${strike}|${right}`;
    const pos = this.dealer.get(key) ?? { strike, right, contracts: 0 };
    pos.contracts -= customerSide * size;
    this.dealer.set(key, pos);
  }

  /** Dealers' aggregate gamma in shares per $1 (negative = short gamma), at the given spot. */
  dealerGamma(spot = this.mid()): number {
    let g = 0;
    for (const p of this.dealer.values()) if (p.contracts !== 0) g += p.contracts * this.greeks(p.strike, p.right, spot).gamma * 100;
    return g;
  }

  private emitGreeksSnapshot(): void {
    const ts = this.stamp();
    const spot = this.refMid();
    const atm = Math.round(spot);
    const rows: Omit<GreeksSnapshot, 'event_id' | 'snapshot_id' | 'seq' | 'ts_recv_ns'>[] = [];
    for (let k = atm - this.strikesAround; k <= atm + this.strikesAround; k++) {
      for (const right of ['C', 'P'] as const) {
        const g = blackScholes(spot, k, this.tYears(), this.ivFor(k, right, spot), right);
        const sym = optionSymbol(this.underlying, this.expDate, right, k);
        rows.push({
          schema: 'options.greeks_snapshots.v1',
          schema_version: 1,
          source: 'sim',
          ts_event_ns: ts,
          key: this.underlying,
          underlying: this.underlying,
          option_symbol: sym,
          exp_date: this.expDate,
          strike: k,
          right,
          delta: g.delta,
          gamma: g.gamma,
          theta: g.theta,
          vega: g.vega,
          implied_volatility: this.ivFor(k, right, spot),
          open_interest: 2000 + Math.round(levelNoise(k * 2 + (right === 'C' ? 0 : 1), 5) * 30000),
          last_quote_ts_ns: ts - BigInt(this.rng.int(1, 900)) * NS_PER_MS,
          last_trade_ts_ns: this.lastOptTrade.get(sym) ?? null,
        });
      }
    }
    // One content hash for the whole chain snapshot (same content ⇒ same id, so a re-fetch dedups).
    const snapshotId = fnv1a64(`${ts}|` + rows.map((r) => `${r.option_symbol}:${r.delta}:${r.gamma}:${r.theta}:${r.vega}:${r.implied_volatility}`).join(';'));
    for (const r of rows) {
      const env = this.envelope('options.greeks', ts);
      // Every field written out, in the spread's order (the same JSON key order): a spread of a 18-key row went
      // through V8's slow object clone, which gave each event a map of its own, so every load of an event field
      // downstream (the engine's push, the fuel engine, a consumer's loop) missed its inline caches on every greeks
      // event — ~10% of the core bench's engine time for 6% of its events.
      this.out.push({
        schema: r.schema,
        schema_version: r.schema_version,
        source: r.source,
        ts_event_ns: r.ts_event_ns,
        key: r.key,
        underlying: r.underlying,
        option_symbol: r.option_symbol,
        exp_date: r.exp_date,
        strike: r.strike,
        right: r.right,
        delta: r.delta,
        gamma: r.gamma,
        theta: r.theta,
        vega: r.vega,
        implied_volatility: r.implied_volatility,
        open_interest: r.open_interest,
        last_quote_ts_ns: r.last_quote_ts_ns,
        last_trade_ts_ns: r.last_trade_ts_ns,
        seq: env.seq,
        ts_recv_ns: env.ts_recv_ns,
        event_id: makeEventId({ source: 'sim', ts_event_ns: ts, symbol: r.option_symbol, exchange: snapshotId, seq: env.seq }),
        snapshot_id: snapshotId,
      });
    }
  }

  private emitHeartbeat(): void {
    const ts = this.stamp(1, 5);
    const env = this.envelope('heartbeat', ts);
    const ev: Heartbeat = { schema: 'heartbeat.v1', ...env, event_id: makeEventId({ source: 'sim', ts_event_ns: ts, symbol: this.underlying, exchange: 'heartbeat', seq: env.seq }) };
    this.out.push(ev);
  }

  // ---- time step --------------------------------------------------------------------------------------------

  /**
   * Advances event time by `ms`, running the background world: heartbeats and greeks snapshots on schedule,
   * liquidity providers pulling each unscripted level toward its profile, noise traders, the spread refilling,
   * the basis drifting, and dealers re-hedging the delta their gamma produced over the step.
   */
  step(ms: number): void {
    const stepNs = BigInt(Math.round(ms * 1e6));
    this.t += stepNs;
    if (this.cursor < this.t) this.cursor = this.t;
    while (this.nextHb <= this.t) {
      this.emitHeartbeat();
      this.nextHb += this.hbEvery;
    }
    while (this.nextGreeks <= this.t) {
      this.emitGreeksSnapshot();
      this.nextGreeks += this.greeksEvery;
    }
    const sec = ms / 1000;
    // Basis: rare 0.05-point steps, mean-reverting (ES ≈ 10·SPY + basis with a slowly drifting basis).
    if (this.rng.chance(0.02 * sec)) this.basis = Math.round((this.basis + (this.basis < this.basis0 ? 0.05 : -0.05) * (this.rng.chance(0.7) ? 1 : -1)) * 100) / 100;

    this.maintainBook(sec);
    // Noise traders: Poisson arrivals, direction tilted by flowBias.
    const n = this.poisson(this.noiseRate * 2 * sec);
    for (let i = 0; i < n; i++) {
      const buy = this.rng.chance(0.5 + 0.5 * this.flowBias);
      this.marketOrder(buy ? 1 : -1, 100 * Math.max(1, Math.round(this.rng.exp(2.5))));
    }
    this.hedge();
    this.dealerQuoting();
    this.publish();
  }

  /**
   * Dealers are also the market makers at the touch, and their gamma decides how they quote into aggression.
   * Gamma is concentrated at strikes, so the effect is local to the strike nearest the touch (weight
   * exp(−½(d/2¢)²)) and scales with the dealers' gamma there (half strength at 50k shares/$):
   * long gamma they are happy buyers of dips / sellers of rips and refill the side being hit (up to 2.5× what was
   * taken), short gamma every fill worsens their hedge, so they pull from the side being hit (up to 0.8×).
   * Their appetite is finite: per strike and side they refill or pull at most what re-hedging a 30¢ move would
   * need (|G_k|·0.30 shares), so determined aggression does get through.
   */
  private dealerQuoting(): void {
    const hits = this.touchHits;
    this.touchHits = { bid: 0, ask: 0 };
    if (hits.bid === 0 && hits.ask === 0) return;
    for (const side of ['bid', 'ask'] as const) {
      const h = hits[side];
      if (h === 0) continue;
      const px = side === 'bid' ? this.bestBid() : this.bestAsk();
      // An emptied side has no touch to quote at (and no strike near it).
      if (!Number.isFinite(px)) continue;
      const k = Math.round(px);
      const w = Math.exp(-0.5 * ((px - k) / 0.02) ** 2);
      const gk = this.dealerGammaAtStrike(k);
      const intensity = (w * Math.abs(gk)) / (Math.abs(gk) + 50_000);
      const key = `${k}|${side}|${gk > 0 ? 'L' : 'S'}`;
      const used = this.dealerUsed.get(key) ?? 0;
      const room = Math.max(0, Math.abs(gk) * 0.3 - used);
      const n = Math.min(Math.floor(room / 100) * 100, Math.round(((gk > 0 ? 2.5 : 0.8) * intensity * h) / 100) * 100);
      if (n <= 0) continue;
      const done = gk > 0 ? this.addLiquidity(side, px, n, false) : this.cancelLiquidity(side, px, n, false);
      this.dealerUsed.set(key, used + done);
    }
  }

  private poisson(lambda: number): number {
    let k = 0;
    let p = Math.exp(-lambda);
    let sum = p;
    const u = this.rng.next();
    while (u > sum && k < 50) {
      k++;
      p *= lambda / k;
      sum += p;
    }
    return k;
  }

  /** Dealers' gamma (shares per $1) from their positions at one strike, at the current spot. */
  dealerGammaAtStrike(strike: number): number {
    let g = 0;
    for (const right of ['C', 'P'] as const) {
      const p = this.dealer.get(`${strike}|${right}`);
      if (p && p.contracts !== 0) g += p.contracts * this.greeks(strike, right).gamma * 100;
    }
    return g;
  }

  /**
   * Liquidity providers re-quote inside a gap immediately (SPY trades at a one-cent spread almost always). After
   * aggression the opposite side steps toward it — sellers who cleared bids pull the offer down with them — which
   * is how aggression becomes price impact.
   */
  private closeSpread(toward: 1 | -1 | 0): void {
    for (let guard = 0; guard < 100; guard++) {
      const bb = this.bestBidCents();
      const ba = this.bestAskCents();
      if (!Number.isFinite(bb) || !Number.isFinite(ba) || ba - bb <= 1) return;
      let onBid = toward === 1 ? true : toward === -1 ? false : this.rng.chance(0.5);
      // Nobody steps in front of a scripted wall that is the best price on its side while it is being tested:
      // the gap closes from the other side instead (so the tested queue stays the visible NBBO).
      if (onBid && this.scripted.bid.has(bb)) onBid = false;
      else if (!onBid && this.scripted.ask.has(ba)) onBid = true;
      const side: SimBookSide = onBid ? 'bid' : 'ask';
      const c = onBid ? bb + 1 : ba - 1;
      if (this.scripted[side].has(c)) {
        // A scripted level is never touched by background liquidity; step the other side instead.
        const other: SimBookSide = onBid ? 'ask' : 'bid';
        const oc = onBid ? ba - 1 : bb + 1;
        if (this.scripted[other].has(oc)) return;
        this.sideMap(other).set(oc, 100 * this.rng.int(1, 3));
        continue;
      }
      this.sideMap(side).set(c, 100 * this.rng.int(1, 3));
    }
  }

  private maintainBook(sec: number): void {
    const bb = this.bestBidCents();
    const ba = this.bestAskCents();
    if (!Number.isFinite(bb) && !Number.isFinite(ba)) {
      // Both sides taken within one step: re-quote around the last mid (ba − 1 would be an infinite price).
      const c = Math.floor(this.lastMid * 100 + 1e-9);
      this.bids.set(c, 300);
      this.asks.set(c + 1, 300);
    } else if (!Number.isFinite(bb)) this.bids.set(ba - 1, 300);
    else if (!Number.isFinite(ba)) this.asks.set(bb + 1, 300);
    this.closeSpread(0);
    for (const side of ['bid', 'ask'] as const) {
      const m = this.sideMap(side);
      const best = side === 'bid' ? this.bestBidCents() : this.bestAskCents();
      const dir = side === 'bid' ? -1 : 1;
      for (let i = 0; i < LADDER_DEPTH_CENTS; i++) {
        const c = best + dir * i;
        if (this.scripted[side].has(c)) continue;
        const have = m.get(c) ?? 0;
        const target = this.profile(side, c);
        // The touch is refreshed most often; deeper levels drift toward their profile slowly.
        if (!this.rng.chance(Math.min(1, (i < 3 ? 3 : 1) * sec))) continue;
        const chunk = Math.max(100, Math.round((target * this.rng.int(15, 40)) / 10000) * 100);
        if (have < target) m.set(c, Math.min(target, have + chunk));
        else if (have > target) {
          const left = have - Math.min(have - target, chunk);
          if (left > 0) m.set(c, left);
          else m.delete(c);
        }
      }
      // Forget levels far from the touch (deleting the entry being visited leaves the rest of the walk as it was).
      m.forEach((_, c) => {
        if ((c - best) * dir > LADDER_DEPTH_CENTS + 5 && !this.scripted[side].has(c)) m.delete(c);
      });
    }
  }

  private hedge(): void {
    const mid = this.mid();
    // A large aggressive order can take one whole side of the book within a step (maintainBook refills it at the
    // next step). With no mid there is no move to hedge; letting an infinite dS through made hedgeNeed NaN for
    // the rest of the session, and NaN-sized resting orders then rendered as null MBP-10 sizes (issue 15).
    if (!Number.isFinite(mid)) return;
    const dS = mid - this.lastMid;
    this.lastMid = mid;
    if (dS === 0 || this.dealer.size === 0) return;
    const g = this.dealerGamma(mid);
    // Dealer delta changes by G·dS; re-hedging trades the opposite.
    this.hedgeNeed += -g * dS * this.hedgeParticipation;
    const lots = Math.trunc(this.hedgeNeed / 100);
    if (lots === 0) return;
    const shares = Math.abs(lots) * 100;
    this.hedgeNeed -= lots * 100;
    if (g < 0) {
      // Short gamma: forced to trade with the move, immediately (amplifies).
      this.marketOrder(lots > 0 ? 1 : -1, shares, { dealer: true });
    } else {
      // Long gamma: trades against the move and can afford to wait, so it rests at the touch (dampens).
      if (lots > 0) this.addLiquidity('bid', this.bestBid(), shares, false);
      else this.addLiquidity('ask', this.bestAsk(), shares, false);
    }
  }

  /** Moves all buffered events out. */
  drain(): InputEvent[] {
    const o = this.out;
    this.out = [];
    return o;
  }
}
