// A free-running simulated session for the demo and the benchmark: the same agent-based market as the scenarios,
// driven by a slowly wandering "fair value" (mean-reverting random walk) that noise traders lean toward, so price
// visits round numbers and strikes; resting interest is heavier at whole and half dollars (natural walls); and
// every few minutes a regime burst — a momentum push with 0DTE buyers (dealers short gamma) or a premium-selling
// pin (dealers long gamma) — tests the levels the way the scripted scenarios do.
import type { InputEvent } from '../events';
import { formatEventLine } from '../event-json';
import { fnv1a64 } from '../event-id';
import { MarketSim } from './market';
import { simulateRegimeSession, type SessionRegime } from './regimes';
import { mulberry32, type Rng } from './rng';

export interface SessionOptions {
  seed: number;
  durationMs: number;
  underlying?: string;
  /** Session start (event time). Default 2025-12-22 15:00:00 UTC (10:00 New York). */
  startNs?: bigint;
  /** Initial SPY mid. Default 680.37. */
  spot?: number;
  /** Simulation step; events inside a step are spaced by µs. Default 50 ms. */
  stepMs?: number;
  /** Futures contract mirrored from the book (symbol, price multiplier, initial basis). Default ESZ5 ≈ 10·SPY + 15. */
  futures?: { symbol: string; multiplier: number; basis: number };
  /**
   * 'normal' (default): the calm book the scenarios and golden digests were built on (~45 events/s).
   * 'realistic': a regular-hours SPY session's quote density — liquidity providers re-size the touch at hundreds of
   * quotes per second at the open, tens at midday, rising into the close (a U-shape over 6.5 h from the session start)
   * — the standard benchmark input. It draws from its own RNG fork, so the rest of the world is the same as 'normal'
   * only in distribution, not event for event.
   */
  density?: SessionDensity;
  /**
   * The market (regimes.ts): 'session' (default) is the world below, unchanged; 'quiet', 'trending', 'pinned' and
   * 'news' hold one regime all session; 'mixed' switches between them on a seeded schedule (regimeSchedule).
   */
  regime?: SessionRegime;
}

export type SessionDensity = 'normal' | 'realistic';

/** Regular-hours length: 09:30–16:00 New York. */
export const REGULAR_SESSION_MS = 6.5 * 3600_000;
/** 2025-12-22 14:30:00 UTC = 09:30 New York: the open, for realistic full-day sessions. */
export const SESSION_OPEN_NS = 1_766_413_800_000_000_000n;

/**
 * Touch re-sizes per second at `tMs` after the open under 'realistic' density: ~300/s at the open decaying over ~20
 * min, a floor of 40/s, and ~110/s more into the close (a U-shape like real SPY quote counts).
 */
export function realisticQuoteRate(tMs: number, sessionMs = REGULAR_SESSION_MS): number {
  const toClose = Math.max(0, sessionMs - tMs);
  return 40 + 260 * Math.exp(-tMs / 1_200_000) + 110 * Math.exp(-toClose / 1_800_000);
}

/**
 * Per-underlying defaults of the multi-underlying simulation: spot, its 0DTE chain, and the index future mirrored
 * from its book (NQ ≈ 41·QQQ, RTY ≈ 10·IWM). SPY's entry is exactly simulateSession's defaults, so SPY in a
 * multi-underlying session is the single-underlying SPY session event for event.
 * The engine maps futures through one configured multiplier (basis.multiplier = 10): QQQ's NQ book is only read
 * correctly by barrier.source=mbp10 with a per-underlying multiplier, which the config does not have yet.
 */
export const UNDERLYING_PROFILES: Record<string, { spot: number; futures: { symbol: string; multiplier: number; basis: number } }> = {
  SPY: { spot: 680.37, futures: { symbol: 'ESZ5', multiplier: 10, basis: 15 } },
  QQQ: { spot: 612.43, futures: { symbol: 'NQZ5', multiplier: 41, basis: 40 } },
  IWM: { spot: 245.18, futures: { symbol: 'RTYZ5', multiplier: 10, basis: 3 } },
};

export const SESSION_DEFAULT_START_NS = 1_766_415_600_000_000_000n;

interface Burst {
  kind: 'momentum' | 'pin';
  untilMs: number;
  dir: 1 | -1;
  strike: number;
}

/**
 * Yields the session's events in non-decreasing ts_event_ns (globally, hence also per stream), step by step, so a
 * long session never has to sit in memory. Same options ⇒ the same events, byte for byte.
 */
export function* simulateSession(opts: SessionOptions): Generator<InputEvent, void, undefined> {
  const spot0 = opts.spot ?? 680.37;
  const stepMs = opts.stepMs ?? 50;
  if (opts.regime !== undefined && opts.regime !== 'session') {
    const churn = opts.density === 'realistic' ? mulberry32(opts.seed).fork(4) : null;
    yield* simulateRegimeSession({
      seed: opts.seed,
      durationMs: opts.durationMs,
      regime: opts.regime,
      startNs: opts.startNs ?? SESSION_DEFAULT_START_NS,
      spot: spot0,
      stepMs,
      underlying: opts.underlying ?? 'SPY',
      ...(opts.futures ? { futures: opts.futures } : {}),
      ...(churn ? { perStep: (sim: MarketSim, t: number, dt: number) => touchChurn(sim, churn, realisticQuoteRate(t) * dt) } : {}),
    });
    return;
  }
  const rng = mulberry32(opts.seed);
  const sim = new MarketSim({
    rng: rng.fork(1),
    startNs: opts.startNs ?? SESSION_DEFAULT_START_NS,
    spot: spot0,
    underlying: opts.underlying ?? 'SPY',
    noiseRate: 3.5,
    ...(opts.futures ? { esSymbol: opts.futures.symbol, esMultiplier: opts.futures.multiplier, basis: opts.futures.basis } : {}),
  });
  const base = sim.profile;
  // Resting interest clusters at whole dollars (×4) and half dollars (×2.5).
  sim.profile = (side, cents) => {
    const m = ((cents % 100) + 100) % 100;
    return Math.round(base(side, cents) * (m === 0 ? 4 : m === 50 ? 2.5 : 1));
  };
  const walk = rng.fork(2);
  const flow = rng.fork(3);
  const dt = stepMs / 1000;
  let fair = spot0;
  let burst: Burst | null = null;
  // Forked only when used, so 'normal' sessions draw exactly what they always drew.
  const churn = opts.density === 'realistic' ? rng.fork(4) : null;
  for (let t = 0; t < opts.durationMs; t += stepMs) {
    if (churn) touchChurn(sim, churn, realisticQuoteRate(t) * dt);
    // Fair value: OU around the open (σ ≈ $0.9/√min, pulled back over ~10 min).
    fair += ((spot0 - fair) / 600) * dt + 0.9 * Math.sqrt(dt / 60) * walk.normal();
    if (!burst && walk.chance(dt / 150)) {
      const kind = walk.chance(0.6) ? 'momentum' : 'pin';
      burst = { kind, untilMs: t + walk.int(12_000, 30_000), dir: walk.chance(0.5) ? 1 : -1, strike: Math.round(sim.refMid()) };
    }
    if (burst && t >= burst.untilMs) burst = null;
    const lean = Math.max(-0.7, Math.min(0.7, (fair - sim.mid()) * 3));
    sim.flowBias = burst?.kind === 'momentum' ? 0.7 * burst.dir : lean;
    // Momentum sweeps: SPY-sized ISO sweeps ($2–3M, 3–4.5k shares over 3–5 venues), ~1,300 shares/s on average.
    if (burst?.kind === 'momentum' && flow.chance(0.35 * dt)) sim.marketOrder(burst.dir, 100 * flow.int(30, 45), { venues: flow.int(3, 5) });
    // Background customers all over the chain.
    if (flow.chance(2 * dt)) {
      const k = Math.round(sim.refMid()) + flow.int(-5, 5);
      sim.optionTrade(k, flow.chance(0.5) ? 'C' : 'P', 1 + Math.round(flow.exp(12)), flow.chance(0.1) ? 0 : flow.chance(0.5) ? 1 : -1);
    }
    // Burst customers: momentum = 0DTE buyers chasing (dealers short gamma); pin = premium sellers at the strike.
    if (burst && flow.chance(6 * dt)) {
      const k = burst.kind === 'pin' ? burst.strike : Math.round(sim.refMid()) + flow.int(-1, 1);
      const side = burst.kind === 'momentum' ? 1 : -1;
      sim.optionTrade(k, flow.chance(0.5) ? 'C' : 'P', 10 + Math.round(flow.exp(50)), flow.chance(0.85) ? side : (-side as 1 | -1));
    }
    sim.step(stepMs);
    yield* sim.drain();
  }
}

/**
 * Liquidity providers re-sizing the touch: Poisson(λ) small adds and cancels at the best bid or ask, each a new NBBO
 * size (and, when it moves a contract of mirrored depth, an MBP-10 record). Cancels never take a side's last 100
 * shares, so the touch price only moves through aggression, as in the 'normal' world.
 */
function touchChurn(sim: MarketSim, rng: Rng, lambda: number): void {
  let n = 0;
  // Knuth's Poisson for small λ; the normal approximation above 30 keeps the cost per step bounded.
  if (lambda > 30) n = Math.max(0, Math.round(lambda + Math.sqrt(lambda) * rng.normal()));
  else {
    const l = Math.exp(-lambda);
    let p = rng.next();
    while (p > l) {
      n++;
      p *= rng.next();
    }
  }
  for (let i = 0; i < n; i++) {
    const side = rng.chance(0.5) ? 'bid' : 'ask';
    const px = side === 'bid' ? sim.bestBid() : sim.bestAsk();
    if (!Number.isFinite(px)) continue;
    const shares = 100 * rng.int(1, 3);
    if (rng.chance(0.5)) sim.addLiquidity(side, px, shares);
    else {
      const have = sim.sizeAt(side, px);
      if (have - shares >= 100) sim.cancelLiquidity(side, px, shares);
      else sim.addLiquidity(side, px, shares);
    }
  }
}

export interface MarketSessionOptions extends Omit<SessionOptions, 'underlying' | 'spot' | 'futures'> {
  /** Underlyings simulated side by side, each with its own book, chain and future (UNDERLYING_PROFILES). */
  underlyings: readonly string[];
}

/**
 * Per-underlying seed: SPY keeps the session seed (so it equals its single-underlying session); every other
 * underlying mixes its name in, so it is independent of SPY and of the order the underlyings are listed in.
 */
export function underlyingSeed(seed: number, underlying: string): number {
  if (underlying === 'SPY') return seed;
  return (seed ^ Number(BigInt.asUintN(32, BigInt(`0x${fnv1a64(underlying)}`)))) >>> 0;
}

/** The single-underlying options of one underlying of a multi-underlying session. */
export function underlyingSessionOptions(opts: MarketSessionOptions, underlying: string): SessionOptions {
  const prof = UNDERLYING_PROFILES[underlying];
  const { underlyings: _u, ...rest } = opts;
  return { ...rest, seed: underlyingSeed(opts.seed, underlying), underlying, ...(prof ? { spot: prof.spot, futures: prof.futures } : {}) };
}

/**
 * Several underlyings at once (SPY with ES, QQQ with NQ, IWM with RTY; others get SPY's defaults under their own
 * name): one independent session per underlying, merged by ts_event_ns (ties in the order given), so the result is
 * globally non-decreasing in event time and each underlying's events are exactly its own session's.
 */
export function* simulateMarket(opts: MarketSessionOptions): Generator<InputEvent, void, undefined> {
  const names = [...new Set(opts.underlyings)];
  if (names.length === 0) throw new Error('simulateMarket: underlyings must name at least one underlying');
  if (names.length === 1) {
    yield* simulateSession(underlyingSessionOptions(opts, names[0]!));
    return;
  }
  const gens = names.map((u) => simulateSession(underlyingSessionOptions(opts, u)));
  const heads: (InputEvent | undefined)[] = gens.map((g) => g.next().value ?? undefined);
  for (;;) {
    let best = -1;
    for (let i = 0; i < heads.length; i++) {
      const h = heads[i];
      if (h !== undefined && (best < 0 || h.ts_event_ns < heads[best]!.ts_event_ns)) best = i;
    }
    if (best < 0) return;
    yield heads[best]!;
    heads[best] = gens[best]!.next().value ?? undefined;
  }
}

export interface JsonlSummary {
  events: number;
  firstNs: bigint | null;
  lastNs: bigint | null;
  bySchema: Record<string, number>;
}

/**
 * The `feed sim --out FILE.jsonl` generator: writes one event line (formatEventLine, no newline) per call of
 * `write`. Pure: the caller owns the file.
 */
export function simulateToJsonl(opts: SessionOptions, write: (line: string) => void): JsonlSummary {
  const sum: JsonlSummary = { events: 0, firstNs: null, lastNs: null, bySchema: {} };
  for (const ev of simulateSession(opts)) {
    write(formatEventLine(ev));
    sum.events++;
    sum.firstNs ??= ev.ts_event_ns;
    sum.lastNs = ev.ts_event_ns;
    sum.bySchema[ev.schema] = (sum.bySchema[ev.schema] ?? 0) + 1;
  }
  return sum;
}
