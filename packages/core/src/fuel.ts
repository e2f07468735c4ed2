// Fuel engine (plan §5.3): will dealers' gamma hedging amplify or dampen a move near the level?
//
// Per option trade k: customer sign s_k ∈ {+1, −1}:
//   1. the feed's `aggressor` when it is already set (non-zero);
//   2. else the option BBO on the trade: price ≥ ask → +1, ≤ bid → −1, strictly inside → above mid +1, below −1;
//   3. else (no BBO, or exactly at mid) the tick rule vs the last trade of that option: up → +1, down → −1,
//      unchanged → the previous sign; no previous trade → unsigned (skipped).
// γ_k is the gamma of the latest greeks snapshot of that option_symbol AS OF the trade time (ts ≤ trade ts; a later
// snapshot is never used). No snapshot yet → the trade is skipped (its gamma is unknown).
//   g_k = s_k · size_k · γ_k · contract_multiplier (customer gamma bought), dealer ΔG_k = −g_k.
// Net dealer gamma at L: Σ ΔG over W_g of strikes with |K − L| ≤ ΔK. Effect: AMPLIFY if < −neutral_gamma (dealers
// short gamma chase the move), DAMPEN if > +neutral_gamma, else NEUTRAL.
// Flow-derived levels over W_wall, all in DEALER gamma terms (Σ ΔG per strike and right):
//   call wall = the call strike where dealers gained the most gamma (argmax, only if > 0: long dealer gamma pins);
//   put wall  = the put strike with the largest |dealer gamma flow| (the plan's "largest magnitude put-side flow");
//   HVL       = the strike where the cumulative dealer gamma across strikes (ascending, calls + puts) changes sign;
//               with several sign changes, the one nearest spot. Ties between strikes resolve to the lower strike.
import type { Config } from './config';
import type { GreeksSnapshot, InputEvent, OptionRight, OptionTrade } from './events';
import type { FuelEffect, Level } from './signals';
import { msToNs } from './numeric';

/** Below 2^53 a float64 holds every integer exactly (ns offsets from the epoch up to ~104 days). */
const MAX_EXACT = 2 ** 53;

/** Greeks kept per option (as-of lookups need the one before the latest when a newer snapshot already arrived). */
const GREEKS_HISTORY = 4;
/** Per-option memory (greeks, last trade) is forgotten after this much event time without updates. */
const OPTION_MEMORY_NS = 3_600_000n * 1_000_000n;

export interface FuelFlow {
  ts: bigint;
  strike: number;
  right: OptionRight;
  /** Dealer gamma change −g_k. */
  dealerGamma: number;
}

export interface FuelState {
  greeks: Record<string, { ts: bigint; gamma: number }[]>;
  lastTrade: Record<string, { ts: bigint; price: number; sign: -1 | 0 | 1 }>;
  flows: FuelFlow[];
}

export const newFuelState = (): FuelState => ({ greeks: {}, lastTrade: {}, flows: [] });

export interface FuelWalls {
  call_wall: number | null;
  put_wall: number | null;
  hvl: number | null;
}

export interface FuelReading extends FuelWalls {
  effect: FuelEffect;
  net_dealer_gamma: number;
}

export function customerSign(tr: OptionTrade, last: { price: number; sign: -1 | 0 | 1 } | undefined): -1 | 0 | 1 {
  if (tr.aggressor !== 0) return tr.aggressor;
  const bid = tr.opt_bid;
  const ask = tr.opt_ask;
  if (bid !== null && ask !== null && bid > 0 && ask >= bid) {
    if (tr.price >= ask) return 1;
    if (tr.price <= bid) return -1;
    const mid = (bid + ask) / 2;
    if (tr.price > mid) return 1;
    if (tr.price < mid) return -1;
  }
  if (!last) return 0;
  if (tr.price > last.price) return 1;
  if (tr.price < last.price) return -1;
  return last.sign;
}

export function fuelEffect(netDealerGamma: number, neutral: number): FuelEffect {
  if (netDealerGamma < -neutral) return 'AMPLIFY';
  if (netDealerGamma > neutral) return 'DAMPEN';
  return 'NEUTRAL';
}

/** The reading of a net dealer gamma, into `out` when given. */
function fuelReading(g: number, neutral: number, walls: FuelWalls, out: FuelReading | undefined): FuelReading {
  if (out === undefined) return { effect: fuelEffect(g, neutral), net_dealer_gamma: g, call_wall: walls.call_wall, put_wall: walls.put_wall, hvl: walls.hvl };
  out.effect = fuelEffect(g, neutral);
  out.net_dealer_gamma = g;
  out.call_wall = walls.call_wall;
  out.put_wall = walls.put_wall;
  out.hvl = walls.hvl;
  return out;
}

/** A reading to refill (FuelEngine.read's `out`). */
export const newFuelReading = (): FuelReading => ({ effect: 'NEUTRAL', net_dealer_gamma: 0, call_wall: null, put_wall: null, hvl: null });

/** One strike's dealer-gamma sums over the wall window, folded in arrival order. */
interface StrikeSums {
  strike: number;
  calls: number;
  puts: number;
  all: number;
  hasCall: boolean;
  hasPut: boolean;
  /** Flows counted (a strike without any has no say in the walls). */
  nIn: number;
}

/**
 * The walls of per-strike sums in ascending strike order: the call wall is the strike with the largest call gamma, the
 * put wall the largest |put gamma|, the HVL the flip of cumulative gamma (hvlOf, written out over the list); `nFlips`
 * says whether the HVL depended on spot.
 */
function wallsOf(strikes: readonly StrikeSums[], spot: number | null): { walls: FuelWalls; nFlips: number } {
  let call_wall: number | null = null;
  let put_wall: number | null = null;
  let bestCall = 0;
  let bestPut = 0;
  let cum = 0;
  let prevSign = 0;
  let nFlips = 0;
  let firstFlip = 0;
  let bestFlip = 0;
  for (let i = 0; i < strikes.length; i++) {
    const b = strikes[i]!;
    if (b.nIn === 0) continue;
    if (b.hasCall && b.calls > bestCall) {
      bestCall = b.calls;
      call_wall = b.strike;
    }
    if (b.hasPut && Math.abs(b.puts) > bestPut) {
      bestPut = Math.abs(b.puts);
      put_wall = b.strike;
    }
    cum += b.all;
    const sign = cum > 0 ? 1 : cum < 0 ? -1 : 0;
    if (sign !== 0) {
      if (prevSign !== 0 && sign !== prevSign) {
        if (nFlips === 0) firstFlip = bestFlip = b.strike;
        else if (spot !== null && Math.abs(b.strike - spot) < Math.abs(bestFlip - spot)) bestFlip = b.strike;
        nFlips++;
      }
      prevSign = sign;
    }
  }
  const hvl = nFlips === 0 ? null : spot === null || nFlips === 1 ? firstFlip : bestFlip;
  return { walls: { call_wall, put_wall, hvl }, nFlips };
}

/**
 * The flows of one strike, in arrival order (a derived index over FuelState.flows, never part of the snapshot), as
 * columns: time as float64 ns since the engine's epoch, dealer gamma, call or put. Folding a bucket in order gives
 * bit-for-bit the per-strike sums of a fold over all flows in arrival order, so walls computed from buckets equal the
 * plain scan exactly, and only buckets whose window content changed are refolded. `head` is the first live entry.
 * Used only while every time is exact relative to the epoch (FuelEngine.exact); otherwise walls scan state.flows.
 */
interface StrikeBucket extends StrikeSums {
  rel: number[];
  gamma: number[];
  call: boolean[];
  head: number;
  /** Cached wall sums over (cFrom, cT] (epoch-relative ns); valid while nothing was added/evicted and no entry crossed a bound. */
  dirty: boolean;
  cFrom: number;
  cT: number;
  /** Smallest time counted in the cached window, smallest time above cT (Infinity when none). */
  minIn: number;
  minAbove: number;
  /** The cached sums count every flow of the bucket (from head on). */
  full: boolean;
  /** Flows appended since the cached sums (the last `appended` entries), to be folded on (dirty is false then). */
  appended: number;
}

/** One strike interval's fold over the read window (FuelEngine.prepareReads); `price` is the one it was built for. */
interface ReadFold {
  price: number;
  idx: number[];
  /** The dealer gamma of each flow of idx (same order): a refold reads them in sequence, not through the mirror. */
  vals: number[];
  head: number;
  absEnd: number;
  /** The window start (absolute mirror index) `sum` was taken from. */
  start: number;
  sum: number;
}

const NO_INDICES: number[] = [];

export class FuelEngine {
  private readonly buckets = new Map<number, StrikeBucket>();
  /** Strikes with a bucket, ascending, and their buckets in the same order. */
  private strikes: number[] = [];
  private readonly bucketList: StrikeBucket[] = [];
  private readonly wallWindowNs: bigint;
  private readonly readWindowNs: bigint;
  private readonly keepNs: bigint;
  /** fuel.greeks_max_age_ms in ns (0: no limit). */
  private readonly greeksMaxAgeNs: bigint;

  constructor(
    private readonly cfg: Config,
    readonly state: FuelState = newFuelState(),
  ) {
    this.wallWindowNs = msToNs(cfg.fuel.wall_window_ms);
    this.readWindowNs = msToNs(cfg.fuel.window_ms);
    this.keepNs = msToNs(Math.max(cfg.fuel.window_ms, cfg.fuel.wall_window_ms));
    this.greeksMaxAgeNs = msToNs(cfg.fuel.greeks_max_age_ms);
    this.wallWindowF = Number(this.wallWindowNs);
    this.readWindowF = Number(this.readWindowNs);
    // A restored state: index its flows and its option memory.
    for (let i = 0; i < this.state.flows.length; i++) this.index(this.state.flows[i]!);
    for (const k of Object.keys(this.state.greeks)) this.greeksBySymbol.set(k, this.state.greeks[k]!);
    for (const k of Object.keys(this.state.lastTrade)) this.lastBySymbol.set(k, this.state.lastTrade[k]!);
  }

  /**
   * state.greeks and state.lastTrade by option symbol, the same arrays and objects (derived, never snapshotted; kept
   * in step where the records gain or lose a symbol). The records are plain objects that symbols are deleted from,
   * i.e. dictionaries, and each option event's symbol is a string of its own: a keyed load then went through the
   * runtime's string-table lookup (the hottest line of onTrade); a Map hashes the string once and probes.
   */
  private readonly greeksBySymbol = new Map<string, { ts: bigint; gamma: number }[]>();
  private readonly lastBySymbol = new Map<string, FuelState['lastTrade'][string]>();

  private bucketOf(strike: number): StrikeBucket {
    let b = this.buckets.get(strike);
    if (!b) {
      b = { strike, rel: [], gamma: [], call: [], head: 0, dirty: true, cFrom: 0, cT: 0, minIn: Infinity, minAbove: Infinity, calls: 0, puts: 0, all: 0, hasCall: false, hasPut: false, nIn: 0, appended: 0, full: false };
      this.buckets.set(strike, b);
      this.clearReadCache();
      let i = this.strikes.length;
      while (i > 0 && this.strikes[i - 1]! > strike) i--;
      this.strikes.splice(i, 0, strike);
      this.bucketList.splice(i, 0, b);
    }
    return b;
  }

  private index(fl: FuelFlow): void {
    if (this.epoch === null) this.epoch = fl.ts;
    const rel = Number(fl.ts - this.epoch);
    if (!(Math.abs(rel) < MAX_EXACT)) this.exact = false;
    const b = this.bucketOf(fl.strike);
    b.rel.push(rel);
    b.gamma.push(fl.dealerGamma);
    b.call.push(fl.right === 'C');
    // A flow after every counted one (none held back above the cached window) can be folded onto the cached sums.
    if (!b.dirty && b.minAbove === Infinity && rel > b.cT) b.appended++;
    else b.dirty = true;
    const n = this.mTs.length;
    if (n > this.mHead && rel < this.mTs[n - 1]!) this.outOfOrder = true;
    this.mTs.push(rel);
    this.mK.push(fl.strike);
    this.mG.push(fl.dealerGamma);
    let si = this.strikeIdx.get(fl.strike);
    if (si === undefined) {
      si = { idx: [], head: 0 };
      this.strikeIdx.set(fl.strike, si);
    }
    si.idx.push(this.mBase + n);
  }

  onEvent(ev: InputEvent): void {
    this.version++;
    if (ev.schema === 'options.greeks_snapshots.v1') this.onGreeks(ev);
    else if (ev.schema === 'options.trades.v1') this.onTrade(ev);
  }

  onTick(tNs: bigint): void {
    this.version++;
    const s = this.state;
    // Same eviction as evictBefore (leading flows at or before the cutoff), mirrored into the strike buckets: the
    // evicted flows are the leading entries of their buckets, since both keep arrival order.
    const cutoff = tNs - this.keepNs;
    const flows = s.flows;
    let k = 0;
    while (k < flows.length && flows[k]!.ts <= cutoff) {
      const b = this.buckets.get(flows[k]!.strike)!;
      b.head++;
      b.dirty = true;
      k++;
    }
    if (k > 0) {
      flows.splice(0, k);
      this.mHead += k;
      if (this.mHead === this.mTs.length) {
        this.mBase += this.mHead;
        this.mTs.length = this.mK.length = this.mG.length = this.mHead = 0;
        this.outOfOrder = false;
      } else if (this.mHead > 1024 && this.mHead * 2 > this.mTs.length) {
        this.mBase += this.mHead;
        this.mTs.splice(0, this.mHead);
        this.mK.splice(0, this.mHead);
        this.mG.splice(0, this.mHead);
        this.mHead = 0;
      }
      this.liveIdx = this.mBase + this.mHead;
      // forEach, not for…of: the entry iterator allocates a pair per strike.
      this.strikeIdx.forEach(this.expireStrikeIdx);

      for (let i = 0; i < this.strikes.length; i++) {
        const b = this.bucketList[i]!;
        if (b.head === 0) continue;
        if (b.head === b.rel.length) {
          this.buckets.delete(b.strike);
          this.bucketList.splice(i, 1);
          this.strikes.splice(i--, 1);
        } else if (b.head > 64 && b.head * 2 > b.rel.length) {
          b.rel.splice(0, b.head);
          b.gamma.splice(0, b.head);
          b.call.splice(0, b.head);
          b.head = 0;
        }
      }
    }
    const stale = tNs - OPTION_MEMORY_NS;
    // Nothing can be stale while every remembered time is above the cutoff: skip the scan (a lower bound suffices).
    if (this.memoryFloor !== null && stale < this.memoryFloor) return;
    let floor: bigint | null = null;
    for (const k of Object.keys(s.greeks)) {
      const h = s.greeks[k]!;
      const ts = h[h.length - 1]!.ts;
      if (ts <= stale) {
        delete s.greeks[k];
        this.greeksBySymbol.delete(k);
      }
      else if (floor === null || ts < floor) floor = ts;
    }
    for (const k of Object.keys(s.lastTrade)) {
      const ts = s.lastTrade[k]!.ts;
      if (ts <= stale) {
        delete s.lastTrade[k];
        this.lastBySymbol.delete(k);
      }
      else if (floor === null || ts < floor) floor = ts;
    }
    this.memoryFloor = floor;
  }

  /** A lower bound of the newest time of every remembered option (greeks, last trade); null = unknown/none. */
  private memoryFloor: bigint | null = null;

  private lowerMemoryFloor(ts: bigint): void {
    if (this.memoryFloor !== null && ts < this.memoryFloor) this.memoryFloor = ts;
  }

  /** γ of the option as of tNs (latest snapshot with ts ≤ tNs, no older than fuel.greeks_max_age_ms when set), or null. */
  gammaAsOf(optionSymbol: string, tNs: bigint): number | null {
    const h = this.greeksBySymbol.get(optionSymbol);
    if (!h) return null;
    const maxAge = this.greeksMaxAgeNs;
    for (let i = h.length - 1; i >= 0; i--) {
      if (h[i]!.ts <= tNs) return maxAge > 0n && tNs - h[i]!.ts > maxAge ? null : h[i]!.gamma;
    }
    return null;
  }

  /**
   * Net dealer gamma of several level prices at tNs in ONE pass over the window (the snap engine calls this with the
   * monitored levels before reading them); read() then takes the sums from here. Each price's sum is still folded in
   * arrival order, so it equals read()'s own scan exactly. Valid until the next event or tick.
   */
  prepareReads(prices: readonly number[], tNs: bigint): void {
    this.batchT = null;
    if (this.epoch === null || !this.exact || prices.length === 0) return;
    const tRel = this.tickRel(tNs);
    const fromRel = tRel - this.readWindowF;
    if (!(Math.abs(fromRel) < MAX_EXACT && Math.abs(tRel) < MAX_EXACT)) return;
    const range = this.cfg.fuel.strike_range + 1e-9;
    const P = this.batchPrices;
    const G = this.batchSums;
    const need = this.need;
    const nP = prices.length;
    this.batchN = nP;
    const ts = this.mTs;
    const ks = this.mK;
    const gs = this.mG;
    const end = ts.length;
    const base = this.mBase;
    // In time order and nothing after T (the usual case), the window is the mirror index range [start, end). Each
    // strike interval keeps the indices of ITS flows and their fold: new flows continue the fold (appending to an
    // arrival-order fold is the same fold) and only when one of its own flows expires is it refolded, over its own
    // flows — never over the whole window again.
    const ordered = !this.outOfOrder && (end === this.mHead || ts[end - 1]! <= tRel);
    let start = this.mHead;
    if (ordered) {
      start = Math.max(this.mHead, this.readStart - base);
      while (start < end && ts[start]! <= fromRel) start++;
      this.readStart = base + start;
    }
    const absStart = base + start;
    const absEnd = base + end;
    let lo = Infinity;
    let hi = -Infinity;
    let fresh = 0;
    const strikes = this.strikes;
    for (let j = 0; j < nP; j++) {
      const price = prices[j]!;
      P[j] = price;
      G[j] = 0;
      need[j] = 0;
      if (ordered) {
        // The strikes within range of a price are a run of the sorted strikes (|k − p| is monotone in k); every price
        // with the same first and last strike counts exactly the same flows, so they share one fold.
        let a = 0;
        while (a < strikes.length && !(Math.abs(strikes[a]! - price) <= range)) a++;
        if (a === strikes.length) continue; // no strike within range: no flow counts
        let z = a;
        while (z + 1 < strikes.length && Math.abs(strikes[z + 1]! - price) <= range) z++;
        let byHi = this.readCache.get(strikes[a]!);
        if (byHi === undefined) this.readCache.set(strikes[a]!, (byHi = new Map()));
        let c = byHi.get(strikes[z]!);
        if (c === undefined || c.absEnd > absEnd || c.absEnd < absStart) {
          c = this.foldFresh(price, range, absStart, absEnd);
          byHi.set(strikes[z]!, c);
          G[j] = c.sum;
          continue;
        }
        if (c.absEnd === absEnd && c.start === absStart) {
          G[j] = c.sum;
          continue;
        }
        const idx = c.idx;
        let h = c.head;
        while (h < idx.length && idx[h]! < absStart) h++;
        let g = c.sum;
        const refold = h !== c.head;
        const cp = c.price;
        for (let i = c.absEnd - base; i < end; i++) {
          if (Math.abs(ks[i]! - cp) <= range) {
            idx.push(base + i);
            c.vals.push(gs[i]!);
            if (!refold) g += gs[i]!;
          }
        }
        if (h > 64 && h * 2 > idx.length) {
          idx.splice(0, h);
          c.vals.splice(0, h);
          h = 0;
        }
        if (refold) {
          g = 0;
          const vals = c.vals;
          for (let x = h; x < vals.length; x++) g += vals[x]!;
        }
        c.head = h;
        c.sum = g;
        c.absEnd = absEnd;
        c.start = absStart;
        G[j] = g;
        continue;
      }
      need[j] = 1;
      fresh++;
      if (price < lo) lo = price;
      if (price > hi) hi = price;
    }
    if (fresh > 0) {
      // Out of order (or flows after T): the prices are summed by a scan of the whole window, uncached.
      // Strikes farther than this from every price cannot count (the exact test below decides for the others).
      const kLo = lo - range - 1;
      const kHi = hi + range + 1;
      let i = end;
      if (this.outOfOrder) i = this.mHead;
      else while (i > this.mHead && ts[i - 1]! > fromRel) i--;
      for (; i < end; i++) {
        const t = ts[i]!;
        if (!(t > fromRel && t <= tRel)) continue;
        const k = ks[i]!;
        if (k < kLo || k > kHi) continue;
        for (let j = 0; j < nP; j++) if (need[j] === 1 && Math.abs(k - P[j]!) <= range) G[j] += gs[i]!;
      }
    }
    this.batchT = tNs;
    this.batchVersion = this.version;
  }

  /**
   * The fold of one price's flows in the read window [absStart, absEnd), in arrival order: the index lists of the
   * strikes within range merged in index order, without touching any other strike's flows.
   */
  private foldFresh(price: number, range: number, absStart: number, absEnd: number): ReadFold {
    const base = this.mBase;
    const gs = this.mG;
    const heads = this.mergeHeads;
    const lists = this.mergeLists;
    let nl = 0;
    // The strikes within range, ascending (this.strikes holds the same strikes as strikeIdx).
    for (let x = 0; x < this.strikes.length; x++) {
      const k = this.strikes[x]!;
      if (!(Math.abs(k - price) <= range)) continue;
      const si = this.strikeIdx.get(k);
      if (si === undefined) continue;
      let h = si.head;
      while (h < si.idx.length && si.idx[h]! < absStart) h++;
      if (h < si.idx.length) {
        lists[nl] = si.idx;
        heads[nl++] = h;
      }
    }
    const idx: number[] = [];
    const vals: number[] = [];
    let g = 0;
    for (;;) {
      let best = -1;
      let bestA = Infinity;
      for (let x = 0; x < nl; x++) {
        const l = lists[x]!;
        const hx = heads[x]!;
        if (hx < l.length && l[hx]! < bestA) {
          best = x;
          bestA = l[hx]!;
        }
      }
      if (best < 0 || bestA >= absEnd) break;
      heads[best]!++;
      const v = gs[bestA - base]!;
      g += v;
      idx.push(bestA);
      vals.push(v);
    }
    for (let x = 0; x < nl; x++) lists[x] = NO_INDICES;
    if (++this.readCacheSize > 64) this.clearReadCache();
    return { price, idx, vals, head: 0, absEnd, start: absStart, sum: g };
  }

  private clearReadCache(): void {
    this.readCache.clear();
    this.readCacheSize = 0;
  }

  /**
   * Per strike interval (first and last strike within range of a price): the mirror indices (absolute, mBase-based)
   * of its flows in the read window from `head` on, scanned up to absEnd, and their fold in arrival order. Cleared
   * whenever a strike appears (it may fall within range of one price of an interval and not of another).
   */
  private readonly readCache = new Map<number, Map<number, ReadFold>>();
  private readCacheSize = 0;
  /** Absolute mirror index of the read window's first flow at the last ordered prepareReads (only moves forward). */
  private readStart = 0;
  /** onTick's expiry of one strike's index list below liveIdx (bound once; deleting the current entry is allowed). */
  private liveIdx = 0;
  private readonly expireStrikeIdx = (si: { idx: number[]; head: number }, k: number): void => {
    while (si.head < si.idx.length && si.idx[si.head]! < this.liveIdx) si.head++;
    if (si.head === si.idx.length) this.strikeIdx.delete(k);
    else if (si.head > 64 && si.head * 2 > si.idx.length) {
      si.idx.splice(0, si.head);
      si.head = 0;
    }
  };
  /** Per strike: the absolute mirror indices of its flows, in order, from `head` (older ones expired). */
  private readonly strikeIdx = new Map<number, { idx: number[]; head: number }>();
  private readonly mergeHeads: number[] = [];
  private readonly mergeLists: number[][] = [];
  /** 1 where prepareReads must sum a price by a scan (no cached fold). */
  private readonly need: number[] = [];

  private batchT: bigint | null = null;
  private batchVersion = -1;
  /** The prices of the last prepareReads (the first batchN entries) and their sums. */
  private readonly batchPrices: number[] = [];
  private readonly batchSums: number[] = [];
  private batchN = 0;
  /** Bumped by every event and tick (prepared sums are only valid for the state they were computed on). */
  private version = 0;

  /** Fuel at a level; `out`, when given, is refilled and returned instead of a new reading (the engine's scratch). */
  read(level: Level, tNs: bigint, walls: FuelWalls, out?: FuelReading): FuelReading {
    const f = this.cfg.fuel;
    if (this.batchT === tNs && this.batchVersion === this.version) {
      const P = this.batchPrices;
      for (let j = 0; j < this.batchN; j++) {
        if (P[j] !== level.price) continue;
        return fuelReading(this.batchSums[j]!, f.neutral_gamma, walls, out);
      }
    }
    const from = tNs - this.readWindowNs;
    const range = f.strike_range + 1e-9;
    const L = level.price;
    // Sum in a fixed order (arrival order) so the float result is reproducible.
    let g = 0;
    const tRel = this.epoch === null ? 0 : this.tickRel(tNs);
    const fromRel = this.epoch === null ? 0 : tRel - this.readWindowF;
    if (this.exact && Math.abs(fromRel) < MAX_EXACT && Math.abs(tRel) < MAX_EXACT) {
      // Float64 times relative to the epoch are exact here, so the bounds test equals the bigint one.
      const ts = this.mTs;
      const ks = this.mK;
      const gs = this.mG;
      let i = ts.length;
      if (this.outOfOrder) i = this.mHead;
      else while (i > this.mHead && ts[i - 1]! > fromRel) i--;
      for (; i < ts.length; i++) {
        const t = ts[i]!;
        if (t > fromRel && t <= tRel && Math.abs(ks[i]! - L) <= range) g += gs[i]!;
      }
    } else {
      for (const fl of this.state.flows) {
        if (fl.ts > from && fl.ts <= tNs && Math.abs(fl.strike - L) <= range) g += fl.dealerGamma;
      }
    }
    return fuelReading(g, f.neutral_gamma, walls, out);
  }

  /**
   * Column mirror of state.flows (same order, from mHead): ts relative to `epoch` as float64, strike, dealer gamma.
   * Derived, never snapshotted; `exact` turns false if a time is ever too far from the epoch for a float64.
   */
  private readonly mTs: number[] = [];
  private readonly mK: number[] = [];
  private readonly mG: number[] = [];
  private mHead = 0;
  /** Entries spliced off the front of the mirror so far: mBase + i is an index that never changes meaning. */
  private mBase = 0;
  private epoch: bigint | null = null;

  /**
   * The last tick time converted and its offset from the epoch (set once, never moved): walls, prepareReads, read and
   * strikeGamma of one tick convert T once, a runtime Number() of a BigInt each, instead of twice per call. A window
   * start is then tRel − W: integers below 2^53 subtract exactly, and every caller tests both bounds' range as before.
   */
  private relT: bigint | null = null;
  private relTRel = 0;
  private readonly wallWindowF: number;
  private readonly readWindowF: number;

  private tickRel(tNs: bigint): number {
    if (tNs !== this.relT) {
      this.relT = tNs;
      this.relTRel = Number(tNs - this.epoch!);
    }
    return this.relTRel;
  }
  private exact = true;
  private outOfOrder = false;

  /** Flow-derived call wall, put wall and HVL over W_wall as of tNs; `spot` picks among several HVL candidates. */
  walls(tNs: bigint, spot: number | null): FuelWalls {
    if (!this.exact || this.epoch === null) return this.wallsByScan(tNs, spot);
    const tRel = this.tickRel(tNs);
    const fromRel = tRel - this.wallWindowF;
    if (!(Math.abs(fromRel) < MAX_EXACT && Math.abs(tRel) < MAX_EXACT)) return this.wallsByScan(tNs, spot);
    this.wallsT = tNs;
    this.wallsFromRel = fromRel;
    this.wallsTRel = tRel;
    // In time order and nothing after T, the window's content is the mirror index range [start, end): the same range
    // as last time means the same per-strike sums, so the same walls (the HVL depends on spot only with several flips).
    const ts = this.mTs;
    const end = ts.length;
    let absStart = -1;
    if (!this.outOfOrder && (end === this.mHead || ts[end - 1]! <= tRel)) {
      let start = Math.max(this.mHead, this.wallStart - this.mBase);
      while (start < end && ts[start]! <= fromRel) start++;
      this.wallStart = absStart = this.mBase + start;
      const w = this.wallsCache;
      if (w !== null && w.absStart === absStart && w.absEnd === this.mBase + end && (w.nFlips <= 1 || w.spot === spot)) return w.walls;
    }
    // With every kept flow inside the wall window (in time order, none after T, and the window is what onTick keeps),
    // a strike whose flows did not change since its sums covered all of them needs no check at all.
    const allIn = absStart >= 0 && this.keepNs === this.wallWindowNs;
    for (let i = 0; i < this.strikes.length; i++) {
      const b = this.bucketList[i]!;
      if (!(allIn && b.full && !b.dirty && b.appended === 0)) this.sums(b, fromRel, tRel);
    }
    const { walls, nFlips } = wallsOf(this.bucketList, spot);
    this.wallsCache = absStart < 0 ? null : { absStart, absEnd: this.mBase + end, nFlips, spot, walls };
    return walls;
  }

  /**
   * walls() when times are not exact as float64 offsets (more than 2^53 ns from the epoch): per-strike folds in
   * arrival order by a scan of the kept flows, with the same wall and HVL rules.
   */
  private wallsByScan(tNs: bigint, spot: number | null): FuelWalls {
    const from = tNs - this.wallWindowNs;
    const byStrike = new Map<number, StrikeSums>();
    for (const fl of this.state.flows) {
      if (fl.ts <= from || fl.ts > tNs) continue;
      let b = byStrike.get(fl.strike);
      if (!b) byStrike.set(fl.strike, (b = { strike: fl.strike, calls: 0, puts: 0, all: 0, hasCall: false, hasPut: false, nIn: 0 }));
      b.nIn++;
      if (fl.right === 'C') {
        b.calls += fl.dealerGamma;
        b.hasCall = true;
      } else {
        b.puts += fl.dealerGamma;
        b.hasPut = true;
      }
      b.all += fl.dealerGamma;
    }
    this.wallsCache = null;
    return wallsOf([...byStrike.values()].sort((a, b) => a.strike - b.strike), spot).walls;
  }

  /** The last walls() result and the window (mirror index range) it was computed over; null when not cacheable. */
  private wallsCache: { absStart: number; absEnd: number; nFlips: number; spot: number | null; walls: FuelWalls } | null = null;
  private wallStart = 0;
  /** The window of the last bucket-based walls(): strikeGamma at the same tNs reuses its float bounds. */
  private wallsT: bigint | null = null;
  private wallsFromRel = 0;
  private wallsTRel = 0;

  /** Dealer gamma flow at one strike over W_wall as of tNs (0 without flows); after walls(tNs) a cached lookup. */
  strikeGamma(strike: number, tNs: bigint): number {
    if (this.exact && this.epoch !== null && this.wallsT !== tNs) {
      this.wallsT = tNs;
      this.wallsTRel = this.tickRel(tNs);
      this.wallsFromRel = this.wallsTRel - this.wallWindowF;
    }
    if (!this.exact || this.epoch === null || !(Math.abs(this.wallsFromRel) < MAX_EXACT && Math.abs(this.wallsTRel) < MAX_EXACT)) {
      const from = tNs - this.wallWindowNs;
      let all = 0;
      for (const fl of this.state.flows) if (fl.strike === strike && fl.ts > from && fl.ts <= tNs) all += fl.dealerGamma;
      return all;
    }
    const b = this.buckets.get(strike);
    if (!b) return 0;
    this.sums(b, this.wallsFromRel, this.wallsTRel);
    return b.all;
  }

  /** Per-strike sums over (from, t] (epoch-relative ns) in arrival order, recomputed only when the bucket's window content changed. */
  private sums(b: StrikeBucket, from: number, t: number): void {
    if (!b.dirty && from >= b.cFrom && t >= b.cT && b.minIn > from && b.minAbove > t) {
      if (b.appended > 0 && !this.foldAppended(b, from, t)) b.dirty = true;
      else {
        b.cFrom = from;
        b.cT = t;
        return;
      }
    }
    let calls = 0;
    let puts = 0;
    let all = 0;
    let hasCall = false;
    let hasPut = false;
    let nIn = 0;
    let minIn = Infinity;
    let minAbove = Infinity;
    const rel = b.rel;
    const gamma = b.gamma;
    const call = b.call;
    for (let j = b.head; j < rel.length; j++) {
      const ts = rel[j]!;
      if (ts > t) {
        if (ts < minAbove) minAbove = ts;
        continue;
      }
      if (ts <= from) continue;
      if (ts < minIn) minIn = ts;
      nIn++;
      const g = gamma[j]!;
      if (call[j]) {
        calls += g;
        hasCall = true;
      } else {
        puts += g;
        hasPut = true;
      }
      all += g;
    }
    b.calls = calls;
    b.puts = puts;
    b.all = all;
    b.hasCall = hasCall;
    b.hasPut = hasPut;
    b.nIn = nIn;
    b.minIn = minIn;
    b.minAbove = minAbove;
    b.cFrom = from;
    b.cT = t;
    b.dirty = false;
    b.appended = 0;
    b.full = nIn === rel.length - b.head;
  }

  /**
   * Folds the flows appended since the cached sums onto them, in arrival order (the same fold as a rescan), when all of
   * them fall inside (from, t]; false (nothing changed) otherwise.
   */
  private foldAppended(b: StrikeBucket, from: number, t: number): boolean {
    const rel = b.rel;
    const n = rel.length;
    for (let j = n - b.appended; j < n; j++) {
      const ts = rel[j]!;
      if (ts <= from || ts > t) return false;
    }
    for (let j = n - b.appended; j < n; j++) {
      const ts = rel[j]!;
      const g = b.gamma[j]!;
      if (ts < b.minIn) b.minIn = ts;
      b.nIn++;
      if (b.call[j]) {
        b.calls += g;
        b.hasCall = true;
      } else {
        b.puts += g;
        b.hasPut = true;
      }
      b.all += g;
    }
    b.appended = 0;
    return true;
  }

  private onGreeks(g: GreeksSnapshot): void {
    if (!Number.isFinite(g.gamma)) return;
    let h = this.greeksBySymbol.get(g.option_symbol);
    if (h === undefined) {
      h = this.state.greeks[g.option_symbol] = [];
      this.greeksBySymbol.set(g.option_symbol, h);
    }
    // Keep the history sorted by time; a same-time snapshot replaces the previous one.
    let i = h.length;
    while (i > 0 && h[i - 1]!.ts > g.ts_event_ns) i--;
    if (i > 0 && h[i - 1]!.ts === g.ts_event_ns) h[i - 1] = { ts: g.ts_event_ns, gamma: g.gamma };
    else if (i === h.length && i === GREEKS_HISTORY) {
      // The usual case, a newer snapshot with the history full: the oldest entry leaves and is reused for the new one.
      const o = h[0]!;
      for (let k = 1; k < i; k++) h[k - 1] = h[k]!;
      o.ts = g.ts_event_ns;
      o.gamma = g.gamma;
      h[i - 1] = o;
    } else h.splice(i, 0, { ts: g.ts_event_ns, gamma: g.gamma });
    if (h.length > GREEKS_HISTORY) h.splice(0, h.length - GREEKS_HISTORY);
    this.lowerMemoryFloor(h[h.length - 1]!.ts);
  }

  private onTrade(tr: OptionTrade): void {
    if (!(tr.size > 0) || !Number.isFinite(tr.price)) return;
    const s = this.state;
    const last = this.lastBySymbol.get(tr.option_symbol);
    const sign = customerSign(tr, last);
    if (last === undefined) {
      const fresh = { ts: tr.ts_event_ns, price: tr.price, sign };
      s.lastTrade[tr.option_symbol] = fresh;
      this.lastBySymbol.set(tr.option_symbol, fresh);
    }
    else {
      // Updated in place (nothing else keeps a reference; snapshots copy).
      last.ts = tr.ts_event_ns;
      last.price = tr.price;
      if (sign !== 0) last.sign = sign;
    }
    this.lowerMemoryFloor(tr.ts_event_ns);
    if (sign === 0) return;
    const gamma = this.gammaAsOf(tr.option_symbol, tr.ts_event_ns);
    if (gamma === null) return;
    const g = sign * tr.size * gamma * this.cfg.fuel.contract_multiplier;
    const fl: FuelFlow = { ts: tr.ts_event_ns, strike: tr.strike, right: tr.right, dealerGamma: -g };
    s.flows.push(fl);
    this.index(fl);
  }
}

/** Strike where the cumulative dealer gamma (ascending strikes) changes sign; nearest to spot when several. */
export function hvlOf(byStrike: Map<number, number>, spot: number | null): number | null {
  const strikes = [...byStrike.keys()].sort((a, b) => a - b);
  let cum = 0;
  let prevSign = 0;
  const flips: number[] = [];
  for (const k of strikes) {
    cum += byStrike.get(k)!;
    const sign = cum > 0 ? 1 : cum < 0 ? -1 : 0;
    if (sign !== 0) {
      if (prevSign !== 0 && sign !== prevSign) flips.push(k);
      prevSign = sign;
    }
  }
  if (flips.length === 0) return null;
  if (spot === null || flips.length === 1) return flips[0]!;
  let bestK = flips[0]!;
  for (const k of flips) if (Math.abs(k - spot) < Math.abs(bestK - spot)) bestK = k;
  return bestK;
}
