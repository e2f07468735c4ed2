// Tape engine (plan §5.2): do the underlying's prints confirm a move through the level?
// - Aggressor from the last quote before the print: price ≥ ask → BUY (lift), price ≤ bid → SELL (hit), else
//   MID/UNKNOWN (ignored in the imbalance).
// - Imbalance near L over W_t, prints within band B_t of L: I = (buy − sell) / (buy + sell + ε), ε = 1 share.
// - Velocity: least-squares slope of print price vs time over W_v, in $/s (all prints, not only near L: it is the
//   speed of the approach). Fewer than two distinct print times → 0.
// - Sweep: prints grouped into clusters whose gaps are ≤ sweep_max_gap_ms (and whose span is ≤ sweep_max_span_ms: a
//   sweep is one parent order routed across venues at once, so a cluster that keeps growing for longer is a busy tape
//   of separate orders, and it is cut); a cluster is a sweep when its notional
//   (Σ price·size) ≥ sweep_min_notional AND (distinct venues ≥ sweep_venue_min OR at least SWEEP_MIN_CROSSINGS
//   aggressive prints in its dominant direction — prints repeatedly crossing the spread). Direction: UP when buy
//   notional ≥ sell notional among aggressive prints (ties: by the cluster's price change, else UP).
//   A sweep stays "detected" for W_t after its last print, which is how long the tape keeps confirming it; when
//   several are in the window the reading is the largest by notional.
import type { Config } from './config';
import type { InputEvent, StockQuote, StockTrade } from './events';
import type { Level, MoveDirection } from './signals';
import { evictBefore, msToNs, nsDiffSeconds } from './numeric';

export const SWEEP_MIN_CROSSINGS = 3;
const IMBALANCE_EPS = 1;

export interface TapePrint {
  ts: bigint;
  price: number;
  size: number;
  /** +1 BUY, −1 SELL, 0 unknown */
  aggr: -1 | 0 | 1;
}

export interface SweepCluster {
  startNs: bigint;
  lastNs: bigint;
  firstPrice: number;
  lastPrice: number;
  notional: number;
  buyNotional: number;
  sellNotional: number;
  buyCount: number;
  sellCount: number;
  venues: number[];
}

export interface SweepEvent {
  ts: bigint;
  direction: MoveDirection;
  notional: number;
  /** Distinct venues of its prints, and first-to-last print time (ms). */
  venues: number;
  window_ms: number;
}

export interface TapeState {
  bid: number | null;
  ask: number | null;
  prints: TapePrint[];
  cluster: SweepCluster | null;
  sweeps: SweepEvent[];
}

export const newTapeState = (): TapeState => ({ bid: null, ask: null, prints: [], cluster: null, sweeps: [] });

export interface TapeReading {
  imbalance: number;
  buy_vol: number;
  sell_vol: number;
  velocity: number;
  sweep: { detected: boolean; direction: MoveDirection | null; notional: number; venues: number; window_ms: number };
}

export function aggressorFromQuote(price: number, bid: number | null, ask: number | null): -1 | 0 | 1 {
  if (ask !== null && price >= ask) return 1;
  if (bid !== null && price <= bid) return -1;
  return 0;
}

/** A reading's sweep fields from the window's most significant sweep (or none), written into `out`. */
function sweepOf(best: SweepEvent | null, out: TapeReading['sweep']): TapeReading['sweep'] {
  out.detected = best !== null;
  out.direction = best ? best.direction : null;
  out.notional = best ? best.notional : 0;
  out.venues = best ? best.venues : 0;
  out.window_ms = best ? best.window_ms : 0;
  return out;
}

/** A reading to refill (TapeEngine.read's `out`). */
export const newTapeReading = (): TapeReading => ({
  imbalance: 0,
  buy_vol: 0,
  sell_vol: 0,
  velocity: 0,
  sweep: { detected: false, direction: null, notional: 0, venues: 0, window_ms: 0 },
});

/** Least-squares slope of (t, price) in $/s; 0 when undefined. Time is taken relative to `ref` to keep precision. */
export function priceSlope(points: readonly { ts: bigint; price: number }[], ref: bigint): number {
  const n = points.length;
  if (n < 2) return 0;
  let sx = 0;
  let sy = 0;
  const p0 = points[0]!.price;
  for (const p of points) {
    sx += nsDiffSeconds(ref, p.ts);
    sy += p.price - p0;
  }
  const mx = sx / n;
  const my = sy / n;
  let sxx = 0;
  let sxy = 0;
  for (const p of points) {
    const dx = nsDiffSeconds(ref, p.ts) - mx;
    sxx += dx * dx;
    sxy += dx * (p.price - p0 - my);
  }
  return sxx > 0 ? sxy / sxx : 0;
}

/** Aggressive volume of the kept prints at one price (TapeEngine's derived groups). */
interface TapeGroup {
  price: number;
  buy: number;
  sell: number;
  n: number;
}

export class TapeEngine {
  private readonly windowNs: bigint;
  private readonly velocityWindowNs: bigint;

  constructor(
    private readonly cfg: Config,
    readonly state: TapeState = newTapeState(),
  ) {
    this.windowNs = msToNs(cfg.tape.window_ms);
    this.velocityWindowNs = msToNs(cfg.tape.velocity_window_ms);
    this.keepNs = msToNs(Math.max(cfg.tape.window_ms, cfg.tape.velocity_window_ms));
    this.gapNs = msToNs(cfg.tape.sweep_max_gap_ms);
    this.spanNs = msToNs(cfg.tape.sweep_max_span_ms);
    this.gapF = Number(this.gapNs);
    this.spanF = Number(this.spanNs);
    this.windowF = Number(this.windowNs);
    this.velocityWindowF = Number(this.velocityWindowNs);
    const prints = this.state.prints;
    for (let i = 0; i < prints.length; i++) this.mirror(prints[i]!, i > 0 && prints[i]!.ts < prints[i - 1]!.ts);
    if (this.state.cluster !== null) {
      this.cStartRel = this.relOf(this.state.cluster.startNs);
      this.cLastRel = this.relOf(this.state.cluster.lastNs);
    }
  }

  /** Appends a print to the derived mirrors (times, prices, imbalance groups); `late` when it is older than the last one. */
  private mirror(p: TapePrint, late: boolean): void {
    if (late) this.outOfOrder = true;
    this.rel.push(this.relOf(p.ts));
    this.px.push(p.price);
    this.printGroups.push(p.aggr !== 0 ? this.group(p, 1) : null);
  }

  /**
   * Aggressive volume per print price over the kept prints (derived, never snapshotted), kept in step with
   * state.prints. While every print's size is a whole number of shares (below 2^40) these integer sums are exact in
   * float64, so adding the groups within the band gives bit-for-bit the arrival-order fold of the scan; `inexact`
   * counts the prints for which that does not hold (then reads scan).
   */
  private readonly groups = new Map<number, TapeGroup>();
  /** The same groups as a list, iterated by reads (a Map's iterator allocates). */
  private readonly groupList: TapeGroup[] = [];
  private inexact = 0;
  /** A print was appended with an earlier time than the one before it (a late event): reads scan every print. */
  private outOfOrder = false;
  /** Prices of state.prints, aligned with it from mHead on (derived). */
  private readonly px: number[] = [];

  /** Adds (+1) or removes (−1) an aggressive print's size to its group (`known` when the caller has it); returns the group. */
  private group(p: TapePrint, sign: 1 | -1, known?: TapeGroup): TapeGroup {
    let g = known ?? this.groups.get(p.price);
    if (g === undefined) {
      g = { price: p.price, buy: 0, sell: 0, n: 0 };
      this.groups.set(p.price, g);
      this.groupList.push(g);
    }
    if (p.aggr === 1) g.buy += sign * p.size;
    else g.sell += sign * p.size;
    g.n += sign;
    if (g.n === 0) {
      this.groups.delete(p.price);
      this.groupList.splice(this.groupList.indexOf(g), 1);
    }
    if (!(Number.isInteger(p.size) && p.size <= 2 ** 40)) this.inexact += sign;
    return g;
  }

  /** The group of each print of state.prints (aligned with it from mHead on; null for a print without aggressor). */
  private readonly printGroups: (TapeGroup | null)[] = [];
  /**
   * Leading entries of the mirrors (rel, px, printGroups) whose prints have been evicted: print i of state.prints is
   * mirror entry mHead + i.
   */
  private mHead = 0;

  /**
   * Forgets the mirrors of the k prints just evicted. Three front splices per tick moved every remaining entry (a
   * window of prints; printGroups' with a write barrier each), ~2% of the engine; advancing a head and cutting the
   * front only once it is more than half the mirrors moves each entry O(1) times (the fuel mirrors' scheme).
   */
  private dropMirrored(k: number): void {
    this.mHead += k;
    if (this.mHead === this.rel.length) {
      this.rel.length = this.px.length = this.printGroups.length = this.mHead = 0;
    } else if (this.mHead > 1024 && this.mHead * 2 > this.rel.length) {
      this.rel.splice(0, this.mHead);
      this.px.splice(0, this.mHead);
      this.printGroups.splice(0, this.mHead);
      this.mHead = 0;
    }
  }
  /** Prints evicted so far by the running eviction (evictBefore hands them over in order, from index 0). */
  private evicted = 0;
  /** An evicted print leaves its group (evictBefore's callback, bound once). */
  private readonly ungroup = (p: TapePrint): void => {
    const g = this.printGroups[this.mHead + this.evicted++]!;
    if (g !== null) this.group(p, -1, g);
  };

  private readonly keepNs: bigint;
  private readonly gapNs: bigint;
  private readonly spanNs: bigint;
  private readonly gapF: number;
  private readonly spanF: number;
  /** The open cluster's start and last print times as rel values (derived; meaningful while `exact`). */
  private cStartRel = 0;
  private cLastRel = 0;
  /** read()'s judgement of the open cluster and the state version it was made at. */
  private judgedVersion = -1;
  private judged: SweepEvent | null = null;

  onEvent(ev: InputEvent): void {
    this.version++;
    if (ev.schema === 'stocks.quotes.v1') this.onQuote(ev);
    else if (ev.schema === 'stocks.trades.v1') this.onTrade(ev);
  }

  onTick(tNs: bigint): void {
    this.version++;
    const s = this.state;
    this.evicted = 0;
    const evicted = evictBefore(s.prints, tNs - this.keepNs, this.ungroup);
    if (evicted > 0) this.dropMirrored(evicted);
    if (s.prints.length === 0) this.outOfOrder = false;
    evictBefore(s.sweeps, tNs - this.windowNs);
    // A cluster whose gap has expired is complete: judge it now so a sweep is visible without waiting for a print.
    if (s.cluster && tNs - s.cluster.lastNs > this.gapNs) this.closeCluster();
  }

  /** The tape at a level; `out`, when given, is refilled and returned instead of a new reading (the engine's scratch). */
  read(level: Level, tNs: bigint, out?: TapeReading): TapeReading {
    const s = this.state;
    const t = this.cfg.tape;
    // The window bounds of this tNs (every level of a tick reads the same ones).
    if (this.readT !== tNs) {
      this.readT = tNs;
      this.readFromT = tNs - this.windowNs;
      this.readTRel = this.tickRel(tNs);
      this.readFromRel = this.relBefore(this.readTRel, this.windowF);
    }
    const fromT = this.readFromT;
    const band = t.band + 1e-9;
    let buy = 0;
    let sell = 0;
    const prints = s.prints;
    const fromRel = this.readFromRel;
    const tRel = this.readTRel;
    const rel = this.exact ? this.rel : null;
    const n = prints.length;
    // In time order with every print inside (from, t] (onTick evicted the rest) and whole shares: the groups hold the sums.
    const h = this.mHead;
    const grouped = rel !== null && !this.outOfOrder && this.inexact === 0 && (n === 0 || (rel[h]! > fromRel && rel[h + n - 1]! <= tRel));
    if (grouped) {
      const list = this.groupList;
      const L = level.price;
      for (let i = 0; i < list.length; i++) {
        const g = list[i]!;
        if (Math.abs(g.price - L) > band) continue;
        buy += g.buy;
        sell += g.sell;
      }
    }
    for (let i = grouped ? n : 0; i < n; i++) {
      const p = prints[i]!;
      if (p.aggr === 0 || Math.abs(p.price - level.price) > band) continue;
      if (rel !== null ? rel[h + i]! <= fromRel || rel[h + i]! > tRel : p.ts <= fromT || p.ts > tNs) continue;
      if (p.aggr === 1) buy += p.size;
      else sell += p.size;
    }
    const imbalance = (buy - sell) / (buy + sell + IMBALANCE_EPS);
    // The slope over W_v of all prints does not depend on the level: computed once per (state, tNs).
    const velocity = this.velocityAt(tNs);
    // The window's most significant sweep (largest notional; ties → the later one), so a noise-sized sweep just
    // over the threshold cannot mask a large one a moment earlier.
    let best: SweepEvent | null = null;
    for (let i = 0; i < s.sweeps.length; i++) {
      const sw = s.sweeps[i]!;
      if (sw.ts <= fromT || sw.ts > tNs) continue;
      if (!best || sw.notional >= best.notional) best = sw;
    }
    // The open cluster's sweep, judged once per state (every level of a tick reads the same one).
    if (this.judgedVersion !== this.version) {
      this.judgedVersion = this.version;
      this.judged = s.cluster ? this.judge(s.cluster) : null;
    }
    const open = this.judged;
    if (open && open.ts > fromT && open.ts <= tNs && (!best || open.notional >= best.notional)) best = open;
    if (out === undefined) {
      const sweep: TapeReading['sweep'] = { detected: false, direction: null, notional: 0, venues: 0, window_ms: 0 };
      return { imbalance, buy_vol: buy, sell_vol: sell, velocity, sweep: sweepOf(best, sweep) };
    }
    out.imbalance = imbalance;
    out.buy_vol = buy;
    out.sell_vol = sell;
    out.velocity = velocity;
    sweepOf(best, out.sweep);
    return out;
  }

  private readT: bigint | null = null;
  private readFromT = 0n;
  private readFromRel = 0;
  private readTRel = 0;

  /** Velocity ($/s) of the approach at tNs: the slope over W_v of all prints, whatever the level. */
  velocityAt(tNs: bigint): number {
    if (this.velVersion === this.version && this.velT === tNs) return this.vel;
    const fromV = tNs - this.velocityWindowNs;
    // priceSlope over the prints in (fromV, tNs], in order, without building the point list (same arithmetic).
    const prints = this.state.prints;
    let n = 0;
    let sx = 0;
    let sy = 0;
    let p0 = 0;
    if (this.dxs.length < this.state.prints.length) {
      this.dxs = new Float64Array(this.state.prints.length * 2);
      this.ys = new Float64Array(this.state.prints.length * 2);
    }
    const dxs = this.dxs;
    const ys = this.ys;
    // Times as float64 ns since the epoch when exact (then the bounds and Number(ts − tNs) are the same numbers).
    const tRel = this.tickRel(tNs);
    const fromRel = this.relBefore(tRel, this.velocityWindowF);
    if (this.exact) {
      // Float64 times: in time order the window starts where rel first exceeds fromRel (binary search); the loop
      // still tests both bounds, so the same prints are taken in the same order.
      const rel = this.rel;
      const px = this.px;
      const len = rel.length;
      // The live prints' entries start at mHead.
      let i = this.mHead;
      if (!this.outOfOrder) {
        let hi = len;
        while (i < hi) {
          const mid = (i + hi) >>> 1;
          if (rel[mid]! <= fromRel) i = mid + 1;
          else hi = mid;
        }
      }
      for (; i < len; i++) {
        const r = rel[i]!;
        if (r <= fromRel || r > tRel) continue;
        const price = px[i]!;
        if (n === 0) p0 = price;
        const dx = (r - tRel) / 1e9;
        dxs[n] = dx;
        ys[n] = price;
        sx += dx;
        sy += price - p0;
        n++;
      }
    } else {
      for (let i = 0; i < prints.length; i++) {
        const p = prints[i]!;
        if (p.ts <= fromV || p.ts > tNs) continue;
        if (n === 0) p0 = p.price;
        const dx = nsDiffSeconds(tNs, p.ts);
        dxs[n] = dx;
        ys[n] = p.price;
        sx += dx;
        sy += p.price - p0;
        n++;
      }
    }
    let v = 0;
    if (n >= 2) {
      const mx = sx / n;
      const my = sy / n;
      let sxx = 0;
      let sxy = 0;
      for (let i = 0; i < n; i++) {
        const dx = dxs[i]! - mx;
        sxx += dx * dx;
        sxy += dx * (ys[i]! - p0 - my);
      }
      v = sxx > 0 ? sxy / sxx : 0;
    }
    this.velVersion = this.version;
    this.velT = tNs;
    this.vel = v;
    return v;
  }

  /**
   * Each print's time as float64 ns since the first print's (derived, never snapshotted; aligned with state.prints from mHead on).
   * `exact` stays true while every time converted is within 2^53 ns of the epoch, so that float comparisons and
   * differences equal the bigint ones.
   */
  private readonly rel: number[] = [];
  private epoch: bigint | null = null;
  private exact = true;

  private relOf(ts: bigint): number {
    if (this.epoch === null) this.epoch = ts;
    const r = Number(ts - this.epoch);
    if (!(Math.abs(r) < 2 ** 53)) this.exact = false;
    return r;
  }

  /**
   * relOf of a tick time, remembered for the last one (the epoch is set once, never moved): read and velocityAt of one
   * tick convert T once, a runtime Number() of a BigInt each, instead of twice per call.
   */
  private tickRel(tNs: bigint): number {
    if (tNs !== this.relT) {
      this.relT = tNs;
      this.relTRel = this.relOf(tNs);
    }
    return this.relTRel;
  }

  private relT: bigint | null = null;
  private relTRel = 0;
  private readonly windowF: number;
  private readonly velocityWindowF: number;

  /** relOf(t − W) from relOf(t): integers below 2^53 subtract exactly; one that is not marks the mirrors inexact, as relOf does. */
  private relBefore(tRel: number, wF: number): number {
    const r = tRel - wF;
    if (!(Math.abs(r) < 2 ** 53)) this.exact = false;
    return r;
  }

  /** Bumped by every state change, so velocityAt's memo (per tNs) is never stale. */
  private version = 0;
  private velVersion = -1;
  private velT = 0n;
  private vel = 0;
  /** Scratch of velocityAt (the window's dx and prices), grown with the prints. */
  private dxs = new Float64Array(64);
  private ys = new Float64Array(64);

  private onQuote(q: StockQuote): void {
    if (!(q.bid_px > 0) || !(q.ask_px > 0) || q.ask_px < q.bid_px) return;
    this.state.bid = q.bid_px;
    this.state.ask = q.ask_px;
  }

  private onTrade(tr: StockTrade): void {
    if (!(tr.size > 0) || !Number.isFinite(tr.price)) return;
    const s = this.state;
    const aggr = aggressorFromQuote(tr.price, s.bid, s.ask);
    const ts = tr.ts_event_ns;
    const prints = s.prints;
    const late = prints.length > 0 && ts < prints[prints.length - 1]!.ts;
    const print: TapePrint = { ts, price: tr.price, size: tr.size, aggr };
    prints.push(print);
    this.mirror(print, late);
    // The print's time as mirror() just converted it: while exact, the cluster's gap and span tests are float ones.
    const r = this.rel[this.rel.length - 1]!;
    if (s.cluster && (this.exact ? r - this.cLastRel > this.gapF || r - this.cStartRel > this.spanF : ts - s.cluster.lastNs > this.gapNs || ts - s.cluster.startNs > this.spanNs)) {
      this.closeCluster();
    }
    if (s.cluster === null) this.cStartRel = r;
    this.cLastRel = r;
    const c =
      s.cluster ??
      (s.cluster = {
        startNs: ts,
        lastNs: ts,
        firstPrice: tr.price,
        lastPrice: tr.price,
        notional: 0,
        buyNotional: 0,
        sellNotional: 0,
        buyCount: 0,
        sellCount: 0,
        venues: [],
      });
    const notional = tr.price * tr.size;
    c.lastNs = ts;
    c.lastPrice = tr.price;
    c.notional += notional;
    if (aggr === 1) {
      c.buyNotional += notional;
      c.buyCount++;
    } else if (aggr === -1) {
      c.sellNotional += notional;
      c.sellCount++;
    }
    if (tr.exchange !== null && !c.venues.includes(tr.exchange)) c.venues.push(tr.exchange);
  }

  /** The sweep a cluster amounts to, or null. */
  private judge(c: SweepCluster): SweepEvent | null {
    const t = this.cfg.tape;
    if (c.notional < t.sweep_min_notional) return null;
    const up = c.buyNotional > c.sellNotional || (c.buyNotional === c.sellNotional && c.lastPrice >= c.firstPrice);
    const crossings = up ? c.buyCount : c.sellCount;
    if (c.venues.length < t.sweep_venue_min && crossings < SWEEP_MIN_CROSSINGS) return null;
    return { ts: c.lastNs, direction: up ? 'UP' : 'DOWN', notional: c.notional, venues: c.venues.length, window_ms: Number(c.lastNs - c.startNs) / 1e6 };
  }

  private closeCluster(): void {
    const s = this.state;
    if (!s.cluster) return;
    const sweep = this.judge(s.cluster);
    if (sweep) s.sweeps.push(sweep);
    s.cluster = null;
  }
}
