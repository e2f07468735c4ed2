// Barrier from ES MBP-10 + ES trades (plan §5.1.1), for levels of the underlying mapped to ES prices through the
// basis (basis.ts, DESIGN decision 4).
//
// Book handling (Databento semantics, see DESIGN "Reading Databento data correctly"):
// - Only records flagged F_LAST carry a consistent top-10 state; others are mid-update and are ignored.
// - F_MAYBE_BAD_BOOK marks a gap: the book is not updated, reads carry the BAD_BOOK caveat (LOW confidence) and
//   the next clean F_LAST record is taken as a fresh baseline (no depth deltas across the gap), since each MBP-10
//   record carries the whole top-10 state. Snapshot records (F_SNAPSHOT / is_snapshot) also rebase without deltas.
// - The book is processed event by event: each consistent state is diffed against the previous one price by price,
//   so churn inside a tick is counted (gross flows), not only the net change between ticks.
//   Depth at a price is only "known" when the price lies inside the displayed range (or beyond the best price,
//   where it is 0); a price scrolling out of the 10 visible levels is not a cancel, and is skipped.
//
// Per read (level L, direction), zone = L' ± zone_ticks·tick_size with L' = toFutures(L) snapped to the tick grid,
// on the defending side (SUPPORT → bids, RESISTANCE → asks), over (t − W_b, t]:
//   gross_added / gross_removed = Σ max(0, ±Δdepth) of the updates in the zone;  churn = their sum
//   Vpassive = ES volume traded in the zone against that side (BID ← SELL-initiated, ASK ← BUY-initiated)
//   filled   = min(gross_removed, Vpassive + ε_fill),  canceled = max(0, gross_removed − Vpassive − ε_pull)
//   absorption bias when Vpassive ≥ F_futures, Vpassive ≥ the zone's displayed depth (now + lost) — more traded
//   than was ever shown — and (net depth did not fall, or Vpassive > 2·depth lost)
//   churn / (|net| + 1) > churn_ratio_low_confidence → CHURN caveat (spoof-like churn: lower confidence, not state)
// When the zone is not within the displayed levels the reading is NEUTRAL with the OUT_OF_RANGE caveat.
import type { Config } from './config';
import { DBN_FLAGS, type FuturesMbp10, type FuturesTrade, type InputEvent } from './events';
import type { BarrierStateName, Direction, Level } from './signals';
import type { BasisEstimator } from './basis';
import {
  classifyBarrier,
  newNoiseBaseline,
  newWeakBaseline,
  sampleNoise,
  sideNoise,
  type NoiseBaseline,
  type SideNoise,
  sampleWeakBaseline,
  weakBaselineDue,
  type BarrierEngine,
  type BarrierEventContext,
  type BarrierReading,
  type WeakBaseline,
} from './barrier';
import { EventClock } from './event-clock';
import { evictBefore, msToNs } from './numeric';

type Side = 'B' | 'A';

/** Passive volume must exceed this multiple of the depth lost to read as hidden/iceberg absorption. */
export const ABSORPTION_EXCESS_RATIO = 2;
/** A book silent this long may be replaced by another contract's book (roll). */
const SYMBOL_SWITCH_NS = 60_000n * 1_000_000n;

export interface BookSide {
  px: number[];
  sz: number[];
}

export interface Mbp10BarrierState {
  symbol: string | null;
  lastBookNs: bigint | null;
  bids: BookSide | null;
  asks: BookSide | null;
  badBook: boolean;
  deltas: { ts: bigint; side: Side; price: number; delta: number }[];
  trades: { ts: bigint; side: Side; price: number; size: number }[];
  baseline: WeakBaseline;
  /** Noise of the window flows in a zone at each side's best price (adaptive thresholds). */
  noise: NoiseBaseline;
}

export const newMbp10BarrierState = (): Mbp10BarrierState => ({
  symbol: null,
  lastBookNs: null,
  bids: null,
  asks: null,
  badBook: false,
  deltas: [],
  trades: [],
  baseline: newWeakBaseline(),
  noise: newNoiseBaseline(),
});

/** Valid displayed levels of one side, best first (absent levels have NaN price or size ≤ 0). */
function sideOf(px: number[], sz: number[]): BookSide {
  const out: BookSide = { px: [], sz: [] };
  for (let i = 0; i < px.length; i++) {
    const p = px[i]!;
    const z = sz[i]!;
    if (Number.isFinite(p) && z > 0) {
      out.px.push(p);
      out.sz.push(z);
    }
  }
  return out;
}

/** Is the depth at price p known from this side's top-10? Beyond the best price it is 0; past the 10th level unknown. */
function known(book: BookSide, side: Side, p: number, depth: number): boolean {
  if (book.px.length < depth) return true; // fewer than 10 levels: the whole side is displayed
  const worst = book.px[book.px.length - 1]!;
  return side === 'B' ? p >= worst - 1e-9 : p <= worst + 1e-9;
}

function depthAt(book: BookSide, p: number): number {
  for (let i = 0; i < book.px.length; i++) if (Math.abs(book.px[i]! - p) < 1e-9) return book.sz[i]!;
  return 0;
}

export class Mbp10BarrierEngine implements BarrierEngine {
  readonly source = 'mbp10' as const;
  private readonly depthLevels = 10;

  constructor(
    private readonly cfg: Config,
    private readonly basis: BasisEstimator,
    readonly state: Mbp10BarrierState = newMbp10BarrierState(),
    /** Converts tick times for the noise and WEAK baselines (shared with the SnapEngine that owns this state). */
    private readonly clock: EventClock = new EventClock(),
  ) {}

  onEvent(ev: InputEvent, _ctx: BarrierEventContext): void {
    if (ev.schema === 'futures.mbp10.v1') this.onBook(ev);
    else if (ev.schema === 'futures.trades.v1') this.onTrade(ev);
  }

  onTick(tNs: bigint): void {
    const s = this.state;
    const cutoff = tNs - msToNs(this.cfg.barrier.window_ms);
    evictBefore(s.deltas, cutoff);
    evictBefore(s.trades, cutoff);
    const t = this.clock.offsetOf(tNs);
    // A zone at each side's best price is the queue a level's zone is when price is at the level: its flows are the noise.
    const half = this.cfg.barrier.zone_ticks * this.cfg.barrier.tick_size;
    if (s.bids && s.bids.px.length > 0) {
      const c = s.bids.px[0]!;
      this.zoneSums('B', c - half - 1e-9, c + half + 1e-9, cutoff, tNs);
      sampleNoise(s.noise, 'B', this.zAdded - this.zCanceled - this.zFilled, this.zFilled, t, this.cfg);
    }
    if (s.asks && s.asks.px.length > 0) {
      const c = s.asks.px[0]!;
      this.zoneSums('A', c - half - 1e-9, c + half + 1e-9, cutoff, tNs);
      sampleNoise(s.noise, 'A', this.zAdded - this.zCanceled - this.zFilled, this.zFilled, t, this.cfg);
    }
    if (s.bids && s.asks && weakBaselineDue(s.baseline, this.cfg, t)) {
      // Baseline of "zone-sized" depth at the top of each side, the comparable of a zone's depth at the level.
      const n = 2 * this.cfg.barrier.zone_ticks + 1;
      const topDepth = (book: BookSide) => book.sz.slice(0, n).reduce((a, x) => a + x, 0);
      sampleWeakBaseline(s.baseline, this.cfg, t, topDepth(s.bids), topDepth(s.asks));
    }
  }

  /** Zone bounds in ES prices for a level of the underlying, or null while the basis is unknown. */
  zoneFor(level: Level): { lo: number; hi: number; center: number } | null {
    const lp = this.basis.toFutures(level.price);
    if (lp === null) return null;
    const tick = this.cfg.barrier.tick_size;
    const center = Math.round(lp / tick) * tick;
    const half = this.cfg.barrier.zone_ticks * tick;
    return { lo: center - half - 1e-9, hi: center + half + 1e-9, center };
  }

  readState(level: Level, direction: Direction, tNs: bigint): BarrierStateName {
    return this.read(level, direction, tNs).state;
  }

  read(level: Level, direction: Direction, tNs: bigint, levelNoise: SideNoise | null = null): BarrierReading {
    const s = this.state;
    const side: Side = direction === 'SUPPORT' ? 'B' : 'A';
    const book = side === 'B' ? s.bids : s.asks;
    const zone = this.zoneFor(level);
    const empty = (caveat: 'NO_BOOK' | 'OUT_OF_RANGE'): BarrierReading => ({
      state: 'NEUTRAL',
      delta_liq: 0,
      replenishment_ratio: 0,
      added: 0,
      canceled: 0,
      filled: 0,
      defending: null,
      churn: 0,
      passive_volume: 0,
      caveats: s.badBook ? [caveat, 'BAD_BOOK'] : [caveat],
    });
    if (!book || !zone) return empty('NO_BOOK');
    const edge = side === 'B' ? zone.lo : zone.hi;
    if (!known(book, side, edge, this.depthLevels)) return empty('OUT_OF_RANGE');

    const from = tNs - msToNs(this.cfg.barrier.window_ms);
    const inZone = (p: number): boolean => p >= zone.lo && p <= zone.hi;
    this.zoneSums(side, zone.lo, zone.hi, from, tNs);
    const grossAdded = this.zAdded;
    const grossRemoved = this.zRemoved;
    const vPassive = this.zPassive;
    const filled = this.zFilled;
    const canceled = this.zCanceled;
    const b = this.cfg.barrier;
    const net = grossAdded - grossRemoved;
    const depthLost = Math.max(0, -net);
    let zoneDepth = 0;
    for (let i = 0; i < book.px.length; i++) if (inZone(book.px[i]!)) zoneDepth += book.sz[i]!;

    // Absorption needs more traded into the zone than was ever displayed there (depth now + depth lost), so a queue
    // that is merely being hit is not mistaken for hidden/iceberg liquidity.
    const absorptionBias =
      vPassive >= b.f_thresh_futures &&
      vPassive > 0 &&
      vPassive >= zoneDepth + depthLost &&
      (net >= 0 || vPassive > ABSORPTION_EXCESS_RATIO * depthLost);
    const churn = grossAdded + grossRemoved;

    const c = classifyBarrier({
      added: grossAdded,
      canceled,
      filled,
      fThresh: b.f_thresh_futures,
      rVac: b.r_vac,
      rWall: b.r_wall,
      defendingSize: zoneDepth,
      weakThreshold: side === 'B' ? s.baseline.thresholdB : s.baseline.thresholdA,
      absorptionBias,
      noise: sideNoise(s.noise, side, this.noiseOut),
      z: b.z_thresh,
      levelNoise,
    });
    const caveats: BarrierReading['caveats'] = [];
    if (s.badBook) caveats.push('BAD_BOOK');
    if (churn > 0 && churn / (Math.abs(net) + 1) > b.churn_ratio_low_confidence) caveats.push('CHURN');
    return {
      ...c,
      added: grossAdded,
      canceled,
      filled,
      defending: { price: zone.center, size: zoneDepth },
      churn,
      passive_volume: vPassive,
      caveats,
    };
  }

  // Scratch results of zoneSums() (no allocation per read).
  private zAdded = 0;
  private zRemoved = 0;
  private zPassive = 0;
  private zFilled = 0;
  private zCanceled = 0;
  private readonly noiseOut: SideNoise = { dlMean: 0, dlSd: 0, fillMean: 0, fillSd: 0 };

  /** Gross depth added/removed and passive volume of one side in [lo, hi] over (from, tNs], with the fill/cancel split. */
  private zoneSums(side: Side, lo: number, hi: number, from: bigint, tNs: bigint): void {
    const s = this.state;
    let grossAdded = 0;
    let grossRemoved = 0;
    for (const d of s.deltas) {
      if (d.side !== side || d.ts <= from || d.ts > tNs || d.price < lo || d.price > hi) continue;
      if (d.delta > 0) grossAdded += d.delta;
      else grossRemoved -= d.delta;
    }
    let vPassive = 0;
    for (const tr of s.trades) if (tr.side === side && tr.ts > from && tr.ts <= tNs && tr.price >= lo && tr.price <= hi) vPassive += tr.size;
    const b = this.cfg.barrier;
    this.zAdded = grossAdded;
    this.zRemoved = grossRemoved;
    this.zPassive = vPassive;
    this.zFilled = Math.min(grossRemoved, vPassive + b.eps_fill);
    this.zCanceled = Math.max(0, grossRemoved - vPassive - b.eps_pull);
  }

  private acceptSymbol(symbol: string, t: bigint): boolean {
    const s = this.state;
    if (!symbol.startsWith(this.cfg.basis.futures_symbol)) return false;
    if (s.symbol === symbol) return true;
    if (s.symbol === null || s.lastBookNs === null || t - s.lastBookNs > SYMBOL_SWITCH_NS) {
      // New (or rolled) contract: its book starts fresh.
      s.symbol = symbol;
      s.bids = null;
      s.asks = null;
      s.badBook = false;
      return true;
    }
    return false;
  }

  private onBook(m: FuturesMbp10): void {
    const s = this.state;
    const t = m.ts_event_ns;
    if (!this.acceptSymbol(m.symbol, t)) return;
    if (m.flags & DBN_FLAGS.F_MAYBE_BAD_BOOK) {
      s.badBook = true;
      return;
    }
    if (!(m.flags & DBN_FLAGS.F_LAST)) return; // mid-update: the book is not consistent yet
    const bids = sideOf(m.bid_px, m.bid_sz);
    const asks = sideOf(m.ask_px, m.ask_sz);
    const rebase = s.badBook || m.is_snapshot || (m.flags & DBN_FLAGS.F_SNAPSHOT) !== 0 || !s.bids || !s.asks;
    if (!rebase) {
      this.diff('B', s.bids!, bids, t);
      this.diff('A', s.asks!, asks, t);
    }
    s.bids = bids;
    s.asks = asks;
    s.badBook = false;
    s.lastBookNs = t;
    if (bids.px.length > 0 && asks.px.length > 0) this.basis.onFuturesMid((bids.px[0]! + asks.px[0]!) / 2, t);
  }

  private diff(side: Side, prev: BookSide, next: BookSide, t: bigint): void {
    const prices: number[] = [];
    for (const p of prev.px) prices.push(p);
    for (const p of next.px) if (!prices.some((q) => Math.abs(q - p) < 1e-9)) prices.push(p);
    prices.sort((a, b) => (side === 'B' ? b - a : a - b));
    for (const p of prices) {
      if (!known(prev, side, p, this.depthLevels) || !known(next, side, p, this.depthLevels)) continue;
      const delta = depthAt(next, p) - depthAt(prev, p);
      if (delta !== 0) this.state.deltas.push({ ts: t, side, price: p, delta });
    }
  }

  private onTrade(tr: FuturesTrade): void {
    if (this.state.symbol !== null && tr.symbol !== this.state.symbol) return;
    if (!tr.symbol.startsWith(this.cfg.basis.futures_symbol) || !(tr.size > 0)) return;
    // The passive side is the one the aggressor traded against.
    if (tr.aggressor === -1) this.state.trades.push({ ts: tr.ts_event_ns, side: 'B', price: tr.price, size: tr.size });
    else if (tr.aggressor === 1) this.state.trades.push({ ts: tr.ts_event_ns, side: 'A', price: tr.price, size: tr.size });
  }
}
