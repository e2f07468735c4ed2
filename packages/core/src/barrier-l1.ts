// Barrier from SPY L1 (plan §5.1): the defending queue is the NBBO side at the level — SUPPORT → bid near L,
// RESISTANCE → ask near L (within barrier.quote_band).
//
// Quote accounting, per side, on every NBBO change (shown for the bid; the ask mirrors it):
//   same price, size up      → added (new size)
//   same price, size down    → removed (the lost size) at that price
//   same price with prints P at the quote since its last update → filled P, and added/canceled the minimal amounts
//                              that explain the visible change (hit-but-refilled = absorption shows up this way)
//   bid price up             → the new queue at the better price is added liquidity
//   bid price down           → the whole old queue is removed at the old price; the queue now shown at the lower
//                              price was resting before (just not visible in L1), so it is not counted as added
// A removal is split into filled (explained by prints at/through that quote within barrier.fill_match_ms, either
// before the update — buffered as pending prints — or after it, since feeds often publish the print after the
// quote) and canceled (the rest). Reads sum the flows of the requested side whose quote price is within the
// quote band of L over (t − W_b, t].
import type { Config } from './config';
import type { InputEvent, StockQuote, StockTrade } from './events';
import type { BarrierStateName, Direction, Level } from './signals';
import {
  classifyBarrier,
  classifyState,
  type ClassifyInput,
  newNoiseBaseline,
  newWeakBaseline,
  ofSide,
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
import { msToNs } from './numeric';
import { builtAtOnce, encodeHandedOver, StateCodecError, type JsonValue, type SlicedJson } from './state-codec';

type Side = 'B' | 'A';

export interface L1Flow {
  ts: bigint;
  seq: number;
  side: Side;
  price: number;
  added: number;
  canceled: number;
  filled: number;
}

interface PendingPrints {
  size: number;
  lastTs: bigint;
}

interface LastRemoval {
  ts: bigint;
  seq: number;
  price: number;
}

export interface L1BarrierState {
  bid: { px: number; sz: number } | null;
  ask: { px: number; sz: number } | null;
  /** In arrival order; the engine's evicted front may precede the window's flows (L1BarrierEngine.windowFlows). */
  flows: L1Flow[];
  seq: number;
  pending: { B: PendingPrints; A: PendingPrints };
  lastRemoval: { B: LastRemoval | null; A: LastRemoval | null };
  baseline: WeakBaseline;
  /** Noise of the window flows at each side's touch (adaptive thresholds). */
  noise: NoiseBaseline;
}

export const newL1BarrierState = (): L1BarrierState => ({
  bid: null,
  ask: null,
  flows: [],
  seq: 0,
  pending: { B: { size: 0, lastTs: 0n }, A: { size: 0, lastTs: 0n } },
  lastRemoval: { B: null, A: null },
  baseline: newWeakBaseline(),
  noise: newNoiseBaseline(),
});

/** L1 readings carry no caveats; one shared, never-mutated empty list. */
const NO_CAVEATS: BarrierReading['caveats'] = [];

interface FlowGroup {
  price: number;
  added: number;
  canceled: number;
  filled: number;
  /** Flows in the group. */
  n: number;
}

const wholeShares = (x: number): boolean => Number.isInteger(x) && Math.abs(x) <= 2 ** 40;

const isValidQuote = (q: StockQuote): boolean =>
  Number.isFinite(q.bid_px) && Number.isFinite(q.ask_px) && q.bid_px > 0 && q.ask_px > 0 && q.ask_px >= q.bid_px;

export class L1BarrierEngine implements BarrierEngine {
  readonly source = 'l1' as const;
  private readonly matchNs: bigint;
  private readonly windowNs: bigint;

  constructor(
    private readonly cfg: Config,
    readonly state: L1BarrierState = newL1BarrierState(),
    /** Converts tick times for the noise and WEAK baselines (shared with the SnapEngine that owns this state). */
    private readonly clock: EventClock = new EventClock(),
  ) {
    this.matchNs = msToNs(cfg.barrier.fill_match_ms);
    this.windowNs = msToNs(cfg.barrier.window_ms);
    const f = this.state.flows;
    for (let i = 1; i < f.length; i++) if (f[i]!.ts < f[i - 1]!.ts) this.outOfOrder = true;
    for (let i = 0; i < f.length; i++) this.flowGroups.push(this.group(f[i]!, 1));
  }

  /**
   * Window sums per (side, quote price), kept in step with state.flows (derived, never snapshotted). While every flow
   * holds whole numbers of shares (below 2^40) these integer sums are exact in float64, so adding the groups within
   * the band gives bit-for-bit the arrival-order fold of sums()'s scan; `inexact` counts the flows for which that
   * does not hold (then reads scan).
   */
  private readonly groups = { B: new Map<number, FlowGroup>(), A: new Map<number, FlowGroup>() };
  /** The same groups as lists, iterated by reads (a Map's entry iterator allocates). */
  private readonly groupList: Record<Side, FlowGroup[]> = { B: [], A: [] };
  private inexact = 0;

  /** The group of each flow of state.flows (aligned with it), so that eviction and reclassification need no lookup. */
  private readonly flowGroups: FlowGroup[] = [];
  /**
   * Leading flows of state.flows (and their groups) already evicted: the window's flows are state.flows[fHead..]. A
   * front splice of both lists per tick moved every flow of the window with a write barrier each (perf: ~2% of the
   * engine); the evicted front is cut only once it is more than half the list (or all of it), so each entry moves
   * O(1) times (the fuel mirrors' scheme). Evicted flows never reach a snapshot (windowFlows).
   */
  private fHead = 0;

  /** The window's flows (what a snapshot keeps): state.flows without the evicted front. */
  windowFlows(): L1Flow[] {
    return this.fHead === 0 ? this.state.flows : this.state.flows.slice(this.fHead);
  }

  /** Captures still alive (held weakly: one nobody writes any more costs nothing once collected). */
  private captures: WeakRef<L1FlowWindowCapture>[] = [];

  /**
   * The window's flows as of now, in O(1): a view of state.flows that is written out (as l1FlowColumns, through
   * toJSON or in steps through build) later, while the engine goes on. At 50k events/s building the columns at
   * the capture point held the live processor's event loop ~40 ms per snapshot, the latency tail (issue 15). The
   * view stays true because state.flows is only appended to within the captured range (a cut of the evicted front
   * makes a new list, evictBefore), and the one change to a flow after its push, a late print reclassifying it
   * (attributePrint), first hands the flow's old values to every live capture (keepForCaptures).
   */
  captureFlows(): L1FlowWindowCapture {
    const flows = this.state.flows;
    const c = new L1FlowWindowCapture(flows, this.fHead, flows.length);
    this.captures = this.captures.filter((r) => r.deref() !== undefined);
    this.captures.push(new WeakRef(c));
    return c;
  }

  private keepForCaptures(f: L1Flow): void {
    for (let i = 0; i < this.captures.length; i++) this.captures[i]!.deref()?.keep(f);
  }

  /** Evicts the window's leading flows at or before `cutoffNs` (windows are (t − W, t]): each leaves its group. */
  private evictBefore(cutoffNs: bigint): void {
    const flows = this.state.flows;
    const fg = this.flowGroups;
    let h = this.fHead;
    while (h < flows.length && flows[h]!.ts <= cutoffNs) {
      this.group(flows[h]!, -1, fg[h]);
      h++;
    }
    if (h === this.fHead) return;
    // state.flows is cut into a new list, never in place: a capture (captureFlows) may still be reading the old one.
    if (h === flows.length) {
      this.state.flows = [];
      fg.length = h = 0;
    } else if (h > 1024 && h * 2 > flows.length) {
      this.state.flows = flows.slice(h);
      fg.splice(0, h);
      h = 0;
    }
    this.fHead = h;
  }

  /** Adds (+1) or removes (−1) a flow's sums to its group (`known` when the caller has it) and returns the group. */
  private group(f: L1Flow, sign: 1 | -1, known?: FlowGroup): FlowGroup {
    const m = ofSide(this.groups, f.side);
    let g = known ?? m.get(f.price);
    if (g === undefined) {
      g = { price: f.price, added: 0, canceled: 0, filled: 0, n: 0 };
      m.set(f.price, g);
      ofSide(this.groupList, f.side).push(g);
    }
    g.added += sign * f.added;
    g.canceled += sign * f.canceled;
    g.filled += sign * f.filled;
    g.n += sign;
    if (g.n === 0) {
      m.delete(f.price);
      const list = ofSide(this.groupList, f.side);
      list.splice(list.indexOf(g), 1);
    }
    // A flow's values only change between a group(f, -1) and a group(f, +1), so the test gives the same answer both times.
    if (!(wholeShares(f.added) && wholeShares(f.canceled) && wholeShares(f.filled))) this.inexact += sign;
    return g;
  }

  /** Some flow was appended with an earlier time than the one before it (a late event): reads scan the whole list. */
  private outOfOrder = false;

  onEvent(ev: InputEvent, _ctx: BarrierEventContext): void {
    if (ev.schema === 'stocks.quotes.v1') this.onQuote(ev);
    else if (ev.schema === 'stocks.trades.v1') this.onTrade(ev);
  }

  onTick(tNs: bigint): void {
    const s = this.state;
    this.evictBefore(tNs - this.windowNs);
    const t = this.clock.offsetOf(tNs);
    // The touch of each side is the queue any level's barrier is when price is at it: its window sums are the noise.
    if (s.bid) {
      this.sums('B', s.bid.px, tNs);
      sampleNoise(s.noise, 'B', this.sAdded - this.sCanceled - this.sFilled, this.sFilled, t, this.cfg);
    }
    if (s.ask) {
      this.sums('A', s.ask.px, tNs);
      sampleNoise(s.noise, 'A', this.sAdded - this.sCanceled - this.sFilled, this.sFilled, t, this.cfg);
    }
    if (weakBaselineDue(s.baseline, this.cfg, t)) sampleWeakBaseline(s.baseline, this.cfg, t, s.bid ? s.bid.sz : null, s.ask ? s.ask.sz : null);
  }

  // Scratch results of sums() (no allocation per read).
  private sAdded = 0;
  private sCanceled = 0;
  private sFilled = 0;
  private readonly noiseOut: SideNoise = { dlMean: 0, dlSd: 0, fillMean: 0, fillSd: 0 };

  read(level: Level, direction: Direction, tNs: bigint, levelNoise: SideNoise | null = null, out?: BarrierReading): BarrierReading {
    const s = this.state;
    const side: Side = direction === 'SUPPORT' ? 'B' : 'A';
    const band = this.cfg.barrier.quote_band + 1e-9;
    this.sums(side, level.price, tNs);
    const added = this.sAdded;
    const canceled = this.sCanceled;
    const filled = this.sFilled;
    const q = side === 'B' ? s.bid : s.ask;
    const atLevel = q !== null && Math.abs(q.px - level.price) <= band;
    if (out === undefined) {
      const defending = atLevel ? { price: q.px, size: q.sz } : null;
      const c = classifyBarrier(this.classifyInput(side, defending ? defending.size : null, levelNoise));
      // Fields written out (an object spread here cost 20× more per call).
      return { state: c.state, delta_liq: c.delta_liq, replenishment_ratio: c.replenishment_ratio, added, canceled, filled, defending, churn: 0, passive_volume: 0, caveats: NO_CAVEATS };
    }
    // The caller's reading, refilled (the engine's per-tick scratch): the same values as above, no allocation.
    classifyBarrier(this.classifyInput(side, atLevel ? q.sz : null, levelNoise), out);
    out.added = added;
    out.canceled = canceled;
    out.filled = filled;
    if (atLevel) {
      const d = (this.defendingOut ??= { price: 0, size: 0 });
      d.price = q.px;
      d.size = q.sz;
      out.defending = d;
    } else out.defending = null;
    out.churn = 0;
    out.passive_volume = 0;
    out.caveats = NO_CAVEATS;
    return out;
  }

  /** The defending queue of read()'s caller-supplied readings (reused, like them). */
  private defendingOut: { price: number; size: number } | null = null;

  readState(level: Level, direction: Direction, tNs: bigint): BarrierStateName {
    const s = this.state;
    const side: Side = direction === 'SUPPORT' ? 'B' : 'A';
    const band = this.cfg.barrier.quote_band + 1e-9;
    this.sums(side, level.price, tNs);
    const q = side === 'B' ? s.bid : s.ask;
    return classifyState(this.classifyInput(side, q && Math.abs(q.px - level.price) <= band ? q.sz : null, null));
  }

  /** The classification input of the last sums() (one scratch object, filled per read). */
  private readonly cin: ClassifyInput = {
    added: 0,
    canceled: 0,
    filled: 0,
    fThresh: 0,
    rVac: 0,
    rWall: 0,
    defendingSize: null,
    weakThreshold: null,
    noise: null,
    z: 0,
    levelNoise: null,
  };

  private classifyInput(side: Side, defendingSize: number | null, levelNoise: SideNoise | null): ClassifyInput {
    const s = this.state;
    const b = this.cfg.barrier;
    const x = this.cin;
    x.added = this.sAdded;
    x.canceled = this.sCanceled;
    x.filled = this.sFilled;
    x.fThresh = b.f_thresh;
    x.rVac = b.r_vac;
    x.rWall = b.r_wall;
    x.defendingSize = defendingSize;
    x.weakThreshold = side === 'B' ? s.baseline.thresholdB : s.baseline.thresholdA;
    x.noise = sideNoise(s.noise, side, this.noiseOut);
    x.z = b.z_thresh;
    x.levelNoise = levelNoise;
    return x;
  }

  /** Window sums (t − W_b, t] of one side's flows whose quote price is within the quote band of `price`, into sAdded/sCanceled/sFilled. */
  private sums(side: Side, price: number, tNs: bigint): void {
    const s = this.state;
    const band = this.cfg.barrier.quote_band + 1e-9;
    const from = tNs - this.windowNs;
    let added = 0;
    let canceled = 0;
    let filled = 0;
    const flows = s.flows;
    const h = this.fHead;
    // In time order with every flow inside (from, t] (onTick evicted the rest) and whole shares: the groups hold the sums.
    if (!this.outOfOrder && this.inexact === 0 && (flows.length === h || (flows[h]!.ts > from && flows[flows.length - 1]!.ts <= tNs))) {
      const list = ofSide(this.groupList, side);
      for (let i = 0; i < list.length; i++) {
        const g = list[i]!;
        if (Math.abs(g.price - price) > band) continue;
        added += g.added;
        canceled += g.canceled;
        filled += g.filled;
      }
      this.sAdded = added === 0 ? 0 : added;
      this.sCanceled = canceled === 0 ? 0 : canceled;
      this.sFilled = filled === 0 ? 0 : filled;
      return;
    }
    // Flows are appended in time order (late events aside), so the window's start is found from the back; the
    // sums stay in arrival order and every flow is still tested against both bounds.
    let i = flows.length;
    if (this.outOfOrder || (flows.length > h && flows[h]!.ts > tNs)) i = h;
    else while (i > h && flows[i - 1]!.ts > from) i--;
    for (; i < flows.length; i++) {
      const f = flows[i]!;
      if (f.side !== side || Math.abs(f.price - price) > band) continue;
      const ts = f.ts;
      if (ts <= from || ts > tNs) continue;
      added += f.added;
      canceled += f.canceled;
      filled += f.filled;
    }
    this.sAdded = added;
    this.sCanceled = canceled;
    this.sFilled = filled;
  }

  private onQuote(q: StockQuote): void {
    if (!isValidQuote(q)) return;
    const s = this.state;
    const t = q.ts_event_ns;
    this.sideUpdate('B', s.bid, q.bid_px, q.bid_sz, t);
    this.sideUpdate('A', s.ask, q.ask_px, q.ask_sz, t);
    // Updated in place once they exist (sideUpdate has read them; nothing else keeps a reference, snapshots copy).
    if (s.bid === null) s.bid = { px: q.bid_px, sz: q.bid_sz };
    else {
      s.bid.px = q.bid_px;
      s.bid.sz = q.bid_sz;
    }
    if (s.ask === null) s.ask = { px: q.ask_px, sz: q.ask_sz };
    else {
      s.ask.px = q.ask_px;
      s.ask.sz = q.ask_sz;
    }
  }

  private sideUpdate(side: Side, prev: { px: number; sz: number } | null, px: number, sz: number, t: bigint): void {
    if (!prev) return;
    if (px === prev.px) {
      // Prints at this quote since its last update were filled out of it, so the visible change d understates the
      // turnover: the minimal explanation is filled = P, added = max(0, d + P), canceled = max(0, −d − P)
      // (added − canceled − filled = d). This is how absorption (hit but refilled, d ≈ 0) becomes visible in L1.
      const d = sz - prev.sz;
      const P = this.takePending(side, t);
      if (P === 0) {
        if (d > 0) this.pushFlow(t, side, px, d, 0, 0);
        else if (d < 0) this.removal(side, prev.px, -d, t, 0);
        return;
      }
      const added = Math.max(0, d + P);
      const canceled = Math.max(0, -d - P);
      this.setLastRemoval(side, t, this.pushFlow(t, side, px, added, canceled, P), px);
      return;
    }
    const better = side === 'B' ? px > prev.px : px < prev.px;
    if (better) {
      this.takePending(side, t); // prints at the old queue say nothing about the new one
      this.pushFlow(t, side, px, sz, 0, 0);
    }
    else this.removal(side, prev.px, prev.sz, t, this.takePending(side, t));
  }

  /** Fresh pending prints of a side (consumed by this quote update); stale ones are dropped. */
  private takePending(side: Side, t: bigint): number {
    const pend = ofSide(this.state.pending, side);
    const fresh = pend.size > 0 && t - pend.lastTs <= this.matchNs ? pend.size : 0;
    pend.size = 0;
    return fresh;
  }

  private removal(side: Side, price: number, removed: number, t: bigint, prints: number): void {
    const filled = Math.min(removed, prints);
    this.setLastRemoval(side, t, this.pushFlow(t, side, price, 0, removed - filled, filled), price);
  }

  /** Updated in place once it exists (nothing else keeps a reference; snapshots copy): no object per removal. */
  private setLastRemoval(side: Side, ts: bigint, seq: number, price: number): void {
    const r = ofSide(this.state.lastRemoval, side);
    if (r === null) {
      if (side === 'B') this.state.lastRemoval.B = { ts, seq, price };
      else this.state.lastRemoval.A = { ts, seq, price };
    }
    else {
      r.ts = ts;
      r.seq = seq;
      r.price = price;
    }
  }

  private pushFlow(ts: bigint, side: Side, price: number, added: number, canceled: number, filled: number): number {
    const seq = ++this.state.seq;
    const flows = this.state.flows;
    if (flows.length === this.fHead) this.outOfOrder = false;
    else if (ts < flows[flows.length - 1]!.ts) this.outOfOrder = true;
    const f: L1Flow = { ts, seq, side, price, added, canceled, filled };
    flows.push(f);
    this.flowGroups.push(this.group(f, 1));
    return seq;
  }

  private onTrade(tr: StockTrade): void {
    const s = this.state;
    if (!(tr.size > 0) || !Number.isFinite(tr.price)) return;
    const rb = s.lastRemoval.B;
    const ra = s.lastRemoval.A;
    // Sell prints hit the bid, buy prints lift the ask; "through" counts too (price beyond the quote). A print at the
    // current quote can explain a removal just booked at that same price; a print that is no longer at/through the
    // current quote can only have hit the queue that was just removed.
    if (s.bid && tr.price <= s.bid.px) this.attributePrint('B', tr, rb !== null && rb.price === s.bid.px);
    else if (s.ask && tr.price >= s.ask.px) this.attributePrint('A', tr, ra !== null && ra.price === s.ask.px);
    else if (rb && tr.price <= rb.price) this.attributePrint('B', tr, true);
    else if (ra && tr.price >= ra.price) this.attributePrint('A', tr, true);
  }

  private attributePrint(side: Side, tr: StockTrade, mayReclassify: boolean): void {
    const s = this.state;
    let left = tr.size;
    const r = ofSide(s.lastRemoval, side);
    const t = tr.ts_event_ns;
    if (mayReclassify && r && t - r.ts <= this.matchNs) {
      // Late print for a removal already booked as canceled: move that part to filled.
      for (let i = s.flows.length - 1; i >= this.fHead; i--) {
        const f = s.flows[i]!;
        if (f.seq < r.seq) break;
        if (f.seq !== r.seq) continue;
        const moved = Math.min(left, f.canceled);
        if (this.captures.length > 0) this.keepForCaptures(f);
        this.group(f, -1, this.flowGroups[i]!);
        f.canceled -= moved;
        f.filled += moved;
        // Looked up again: leaving may have emptied (and dropped) the group.
        this.flowGroups[i] = this.group(f, 1);
        left -= moved;
        break;
      }
    }
    if (left > 0) {
      const p = ofSide(s.pending, side);
      p.size = t - p.lastTs <= this.matchNs ? p.size + left : left;
      p.lastTs = t;
    }
  }
}

/**
 * The flow window in a snapshot, one array per field. At 50k events/s the 5-s window holds ~250k flows, 97% of a
 * snapshot: as objects (a `{"$bigint"}` per time) the processor's synchronous capture took 0.25–0.47 s and the JSON
 * ~30 MB, the live latency's tail (issue 15). Times are exact offsets from the first flow's; a window whose span does
 * not fit a safe integer (never in practice: it spans barrier.window_ms) keeps them as decimal strings instead.
 */
export interface L1FlowColumns {
  t0: bigint;
  dt: number[] | null;
  ts: string[] | null;
  seq: number[];
  /** One character per flow, 'B' or 'A'. */
  side: string;
  price: number[];
  added: number[];
  canceled: number[];
  filled: number[];
}

export function l1FlowColumns(flows: readonly L1Flow[]): L1FlowColumns {
  const b = new L1FlowColumnsBuilder(flows.length, flows.length > 0 ? flows[0]!.ts : 0n);
  for (let i = 0; i < flows.length; i++) b.add(i, flows[i]!);
  return b.finish((i) => flows[i]!.ts);
}

/** l1FlowColumns a flow at a time, so a capture can build them between yields. */
class L1FlowColumnsBuilder {
  private dt: number[] | null;
  private readonly seq: number[];
  private side = '';
  private readonly price: number[];
  private readonly added: number[];
  private readonly canceled: number[];
  private readonly filled: number[];

  constructor(
    private readonly n: number,
    private readonly t0: bigint,
  ) {
    this.dt = new Array<number>(n);
    this.seq = new Array<number>(n);
    this.price = new Array<number>(n);
    this.added = new Array<number>(n);
    this.canceled = new Array<number>(n);
    this.filled = new Array<number>(n);
  }

  /** Flow `i` of the window, flows added in order. */
  add(i: number, f: L1Flow): void {
    if (this.dt) {
      const d = Number(f.ts - this.t0);
      if (Number.isSafeInteger(d)) this.dt[i] = d;
      else this.dt = null;
    }
    this.seq[i] = f.seq;
    this.side += f.side;
    this.price[i] = f.price;
    this.added[i] = f.added;
    this.canceled[i] = f.canceled;
    this.filled[i] = f.filled;
  }

  finish(tsAt: (i: number) => bigint): L1FlowColumns {
    const { t0, dt, seq, side, price, added, canceled, filled } = this;
    const ts = dt ? null : Array.from({ length: this.n }, (_, i) => tsAt(i).toString());
    return { t0, dt, ts, seq, side, price, added, canceled, filled };
  }
}

/** Elements per piece of a capture's JSON. */
const PIECE_FLOWS = 512;

/** The flow window captured by L1BarrierEngine.captureFlows: flows[from..to) as they were at the capture. */
export class L1FlowWindowCapture implements SlicedJson {
  /** Flows changed after the capture, as they were at it (by seq). */
  private readonly before = new Map<number, L1Flow>();
  /** The captured flows' seq range (seqs rise in arrival order); empty when lastSeq < firstSeq. */
  private readonly firstSeq: number;
  private readonly lastSeq: number;

  constructor(
    private readonly flows: readonly L1Flow[],
    private readonly from: number,
    private readonly to: number,
  ) {
    this.firstSeq = to > from ? flows[from]!.seq : 0;
    this.lastSeq = to > from ? flows[to - 1]!.seq : -1;
  }

  /** `f` is about to change: if it is one of the captured flows, its values at the capture are kept. */
  keep(f: L1Flow): void {
    if (f.seq > this.lastSeq || f.seq < this.firstSeq || this.before.has(f.seq)) return;
    this.before.set(f.seq, { ts: f.ts, seq: f.seq, side: f.side, price: f.price, added: f.added, canceled: f.canceled, filled: f.filled });
  }

  private at(i: number): L1Flow {
    const f = this.flows[i]!;
    return this.before.size === 0 ? f : (this.before.get(f.seq) ?? f);
  }

  /** What the snapshot holds at this place: the encoded columns (JSON.stringify calls this). */
  toJSON(): JsonValue {
    return builtAtOnce(this);
  }

  /** toJSON()'s value in steps of PIECE_FLOWS flows, then a column at a time, so a writer can yield between them. */
  *build(): Generator<void, JsonValue> {
    const { from } = this;
    const n = this.to - from;
    const b = new L1FlowColumnsBuilder(n, n > 0 ? this.at(from).ts : 0n);
    for (let i = 0; i < n; i += PIECE_FLOWS) {
      for (let j = i; j < Math.min(n, i + PIECE_FLOWS); j++) b.add(j, this.at(from + j));
      yield;
    }
    // The columns are this capture's own: encoded without a copy of each (a block of 10–20 ms at 250k flows).
    const out: { [k: string]: JsonValue } = {};
    for (const [key, column] of Object.entries(b.finish((i) => this.at(from + i).ts))) {
      out[key] = encodeHandedOver(column);
      yield;
    }
    return out;
  }
}

/** The inverse of l1FlowColumns; a column that does not fit the others is refused with its path. */
export function l1FlowsFromColumns(c: L1FlowColumns, path: string): L1Flow[] {
  const n = c?.seq?.length;
  const fail = (what: string): never => {
    throw new StateCodecError(`flow columns: ${what}`, path);
  };
  if (typeof n !== 'number' || typeof c.t0 !== 'bigint' || typeof c.side !== 'string' || c.side.length !== n) fail('t0, seq or side missing or of another length');
  for (const k of ['price', 'added', 'canceled', 'filled'] as const) if (!Array.isArray(c[k]) || c[k].length !== n) fail(`${k} missing or of another length`);
  if (c.dt ? c.dt.length !== n : !Array.isArray(c.ts) || c.ts.length !== n) fail('dt/ts missing or of another length');
  const flows = new Array<L1Flow>(n);
  for (let i = 0; i < n; i++) {
    const side = c.side[i];
    if (side !== 'B' && side !== 'A') fail(`side ${JSON.stringify(side)} at ${i}`);
    let ts: bigint;
    if (c.dt) {
      const d = c.dt[i];
      if (!Number.isSafeInteger(d)) fail(`dt at ${i} is not an integer`);
      ts = c.t0 + BigInt(d!);
    } else {
      const s = c.ts![i];
      if (typeof s !== 'string' || !/^-?\d+$/.test(s)) fail(`ts at ${i} is not a decimal integer`);
      ts = BigInt(s!);
    }
    flows[i] = { ts, seq: c.seq[i]!, side: side as Side, price: c.price[i]!, added: c.added[i]!, canceled: c.canceled[i]!, filled: c.filled[i]! };
  }
  return flows;
}
