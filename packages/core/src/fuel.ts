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
import { evictBefore, msToNs } from './numeric';

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

export class FuelEngine {
  constructor(
    private readonly cfg: Config,
    readonly state: FuelState = newFuelState(),
  ) {}

  onEvent(ev: InputEvent): void {
    if (ev.schema === 'options.greeks_snapshots.v1') this.onGreeks(ev);
    else if (ev.schema === 'options.trades.v1') this.onTrade(ev);
  }

  onTick(tNs: bigint): void {
    const s = this.state;
    evictBefore(s.flows, tNs - msToNs(Math.max(this.cfg.fuel.window_ms, this.cfg.fuel.wall_window_ms)));
    const stale = tNs - OPTION_MEMORY_NS;
    for (const k of Object.keys(s.greeks)) {
      const h = s.greeks[k]!;
      if (h[h.length - 1]!.ts <= stale) delete s.greeks[k];
    }
    for (const k of Object.keys(s.lastTrade)) if (s.lastTrade[k]!.ts <= stale) delete s.lastTrade[k];
  }

  /** γ of the option as of tNs (latest snapshot with ts ≤ tNs), or null. */
  gammaAsOf(optionSymbol: string, tNs: bigint): number | null {
    const h = this.state.greeks[optionSymbol];
    if (!h) return null;
    for (let i = h.length - 1; i >= 0; i--) if (h[i]!.ts <= tNs) return h[i]!.gamma;
    return null;
  }

  read(level: Level, tNs: bigint, walls: FuelWalls): FuelReading {
    const f = this.cfg.fuel;
    const from = tNs - msToNs(f.window_ms);
    // Sum in a fixed order (arrival order) so the float result is reproducible.
    let g = 0;
    for (const fl of this.state.flows) {
      if (fl.ts > from && fl.ts <= tNs && Math.abs(fl.strike - level.price) <= f.strike_range + 1e-9) g += fl.dealerGamma;
    }
    return { effect: fuelEffect(g, f.neutral_gamma), net_dealer_gamma: g, ...walls };
  }

  /** Flow-derived call wall, put wall and HVL over W_wall as of tNs; `spot` picks among several HVL candidates. */
  walls(tNs: bigint, spot: number | null): FuelWalls {
    const from = tNs - msToNs(this.cfg.fuel.wall_window_ms);
    const calls = new Map<number, number>();
    const puts = new Map<number, number>();
    const all = new Map<number, number>();
    for (const fl of this.state.flows) {
      if (fl.ts <= from || fl.ts > tNs) continue;
      const m = fl.right === 'C' ? calls : puts;
      m.set(fl.strike, (m.get(fl.strike) ?? 0) + fl.dealerGamma);
      all.set(fl.strike, (all.get(fl.strike) ?? 0) + fl.dealerGamma);
    }
    let call_wall: number | null = null;
    let best = 0;
    for (const k of [...calls.keys()].sort((a, b) => a - b)) {
      const v = calls.get(k)!;
      if (v > best) {
        best = v;
        call_wall = k;
      }
    }
    let put_wall: number | null = null;
    best = 0;
    for (const k of [...puts.keys()].sort((a, b) => a - b)) {
      const v = Math.abs(puts.get(k)!);
      if (v > best) {
        best = v;
        put_wall = k;
      }
    }
    return { call_wall, put_wall, hvl: hvlOf(all, spot) };
  }

  private onGreeks(g: GreeksSnapshot): void {
    if (!Number.isFinite(g.gamma)) return;
    const h = (this.state.greeks[g.option_symbol] ??= []);
    // Keep the history sorted by time; a same-time snapshot replaces the previous one.
    let i = h.length;
    while (i > 0 && h[i - 1]!.ts > g.ts_event_ns) i--;
    if (i > 0 && h[i - 1]!.ts === g.ts_event_ns) h[i - 1] = { ts: g.ts_event_ns, gamma: g.gamma };
    else h.splice(i, 0, { ts: g.ts_event_ns, gamma: g.gamma });
    if (h.length > GREEKS_HISTORY) h.splice(0, h.length - GREEKS_HISTORY);
  }

  private onTrade(tr: OptionTrade): void {
    if (!(tr.size > 0) || !Number.isFinite(tr.price)) return;
    const s = this.state;
    const last = s.lastTrade[tr.option_symbol];
    const sign = customerSign(tr, last);
    s.lastTrade[tr.option_symbol] = { ts: tr.ts_event_ns, price: tr.price, sign: sign !== 0 ? sign : (last?.sign ?? 0) };
    if (sign === 0) return;
    const gamma = this.gammaAsOf(tr.option_symbol, tr.ts_event_ns);
    if (gamma === null) return;
    const g = sign * tr.size * gamma * this.cfg.fuel.contract_multiplier;
    s.flows.push({ ts: tr.ts_event_ns, strike: tr.strike, right: tr.right, dealerGamma: -g });
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
