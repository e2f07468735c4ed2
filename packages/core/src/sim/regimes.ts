// Market regimes for the free-running session (issue 9): the evaluation has to see markets where nothing should be
// called (quiet), where levels break (trending, news) and where they hold (pinned), and days that move between them.
//
// Every regime is the same agent-based MarketSim world; a regime only changes who is trading and how much is resting:
//   - quiet: a balanced two-sided book (liquidity providers re-size every level to a random 2,000–4,000 shares), a
//     one-cent spread, balanced noise traders, no option flow. Nobody has a view, so nothing should be called.
//   - trending: a trend follower works a meta-order in one direction in legs (child orders, ISO sweeps when price
//     lags its target) with 0DTE buyers chasing (dealers short gamma, their hedging amplifies). Whole and half
//     dollars carry defenders — resting icebergs that refill the displayed size from a hidden reserve. A leg breaks a
//     level when it exhausts the reserve (stops resting beyond it then sweep through); when the defender absorbs more
//     than the leg's patience the trend pauses and price pulls back (a rejection).
//   - pinned: premium sellers at the nearest strike make dealers long gamma there; their quoting refills whatever is
//     hit and their hedging leans against moves, fair value stays at the strike, defenders are deep: levels hold.
//   - news: every few minutes a headline — liquidity providers pull the side it hits, informed ISO sweeps and 0DTE
//     chasers run price through a thin book, then the book rebuilds and part of the move retraces.
// Price moves only when aggression exhausts displayed liquidity (MarketSim), so what an engine reads — depletion vs
// replenishment at a level, the tape's imbalance and sweeps, the dealers' gamma — is what causes the outcome.
// Nothing here looks at the engine's thresholds.
import type { InputEvent } from '../events';
import { MarketSim, type SimBookSide } from './market';
import { mulberry32, type Rng } from './rng';

export const MARKET_REGIMES = ['quiet', 'trending', 'pinned', 'news'] as const;
export type MarketRegime = (typeof MARKET_REGIMES)[number];
/** 'session': the original free-running session (simulateSession's default); 'mixed': regimes switching over the day. */
export const SESSION_REGIMES = ['session', ...MARKET_REGIMES, 'mixed'] as const;
export type SessionRegime = (typeof SESSION_REGIMES)[number];

export function isSessionRegime(x: string): x is SessionRegime {
  return (SESSION_REGIMES as readonly string[]).includes(x);
}

/** One stretch of a session in one regime, in ms from the session start ([startMs, endMs)). */
export interface RegimeSegment {
  regime: MarketRegime;
  startMs: number;
  endMs: number;
}

const MIN = 60_000;

/**
 * The regime timeline of a session: one segment for a single regime, or for 'mixed' a seeded sequence of segments
 * (quiet/trending/pinned 15–45 min, news 5–12 min; never the same regime twice in a row). Pure: eval uses it to tell
 * which ticks were quiet without re-running the simulator.
 */
export function regimeSchedule(regime: Exclude<SessionRegime, 'session'>, seed: number, durationMs: number): RegimeSegment[] {
  if (regime !== 'mixed') return [{ regime, startMs: 0, endMs: durationMs }];
  const rng = mulberry32(seed).fork(9);
  const out: RegimeSegment[] = [];
  let t = 0;
  let prev: MarketRegime | null = null;
  while (t < durationMs) {
    let r: MarketRegime;
    do {
      const u = rng.next();
      r = u < 0.3 ? 'quiet' : u < 0.6 ? 'trending' : u < 0.85 ? 'pinned' : 'news';
    } while (r === prev);
    const len = r === 'news' ? rng.int(5, 12) * MIN : rng.int(15, 45) * MIN;
    const end = Math.min(durationMs, t + len);
    out.push({ regime: r, startMs: t, endMs: end });
    prev = r;
    t = end;
  }
  return out;
}

/** The regime in force `tMs` after the session start (the last segment's after the end). */
export function regimeAt(schedule: readonly RegimeSegment[], tMs: number): MarketRegime {
  for (const s of schedule) if (tMs < s.endMs) return s.regime;
  return schedule[schedule.length - 1]!.regime;
}

export interface RegimeSessionOptions {
  seed: number;
  durationMs: number;
  regime: Exclude<SessionRegime, 'session'>;
  startNs: bigint;
  spot: number;
  stepMs: number;
  underlying: string;
  futures?: { symbol: string; multiplier: number; basis: number };
  /** Called before every step (e.g. the 'realistic' touch churn). */
  perStep?: (sim: MarketSim, tMs: number, dtSec: number) => void;
}

/** A resting iceberg defending a whole or half dollar: displayed `display`, refilled from `reserve` when hit. */
interface Defender {
  side: SimBookSide;
  cents: number;
  display: number;
  reserve: number;
  /** Shares it has refilled (absorbed aggression) since it was armed. */
  absorbed: number;
}

interface TrendLeg {
  dir: 1 | -1;
  /** $ per minute the trend follower's target moves. */
  speed: number;
  untilMs: number;
  /** Absorbed shares at a defended level after which the follower gives up the leg. */
  patience: number;
  /** While > t: the leg is paused after a failed push (price pulls back toward `target`). */
  pauseUntilMs: number;
}

interface Headline {
  dir: 1 | -1;
  /** Informed flow lasts until here (ms); the book is thin until `thinUntilMs`. */
  pushUntilMs: number;
  thinUntilMs: number;
  /** Where the informed traders think price belongs, and where it settles after the partial retrace. */
  target: number;
  settle: number;
}

const round2 = (x: number) => Math.round(x * 100) / 100;

/** Customers closing 5/240 of every open 0DTE position (called every 5 s). */
function unwind(sim: MarketSim): void {
  for (const p of [...sim.dealer.values()]) {
    const n = Math.round((Math.abs(p.contracts) * 5) / 240);
    // Dealer short (contracts < 0) ⇒ the customer is long and sells to close.
    if (n > 0) sim.optionTrade(p.strike, p.right, n, p.contracts < 0 ? -1 : 1);
  }
}

/**
 * A session in one regime or in a 'mixed' schedule. Seeded and deterministic (same options ⇒ same events, byte for
 * byte); every component draws from its own RNG fork, so the streams do not shift one another.
 */
export function* simulateRegimeSession(opts: RegimeSessionOptions): Generator<InputEvent, void, undefined> {
  const rng = mulberry32(opts.seed);
  const sim = new MarketSim({
    rng: rng.fork(1),
    startNs: opts.startNs,
    spot: opts.spot,
    underlying: opts.underlying,
    noiseRate: 3.5,
    ...(opts.futures ? { esSymbol: opts.futures.symbol, esMultiplier: opts.futures.multiplier, basis: opts.futures.basis } : {}),
  });
  const walk = rng.fork(2);
  const flow = rng.fork(3);
  const sizes = rng.fork(7);
  const defend = rng.fork(8);
  const schedule = regimeSchedule(opts.regime, opts.seed, opts.durationMs);
  const base = sim.profile;
  // Resting interest clusters at whole dollars (×4) and half dollars (×2.5): the natural walls.
  const clustered = (side: SimBookSide, cents: number) => {
    const m = ((cents % 100) + 100) % 100;
    return Math.round(base(side, cents) * (m === 0 ? 4 : m === 50 ? 2.5 : 1));
  };
  const quietProfile = () => 100 * sizes.int(20, 40);
  let thin = 1;
  const thinned = (side: SimBookSide, cents: number) => Math.max(100, Math.round((clustered(side, cents) * thin) / 100) * 100);

  const dt = opts.stepMs / 1000;
  const defenders = new Map<string, Defender>();
  /** Levels a defender has left (filled through or retired) and when they may be defended again. */
  const cooldown = new Map<string, number>();
  let regime: MarketRegime | null = null;
  let fair = opts.spot;
  let leg: TrendLeg | null = null;
  let pinStrike = Math.round(opts.spot);
  let headline: Headline | null = null;
  let nextHeadlineMs = 0;
  /** Stops resting beyond a level that just broke: they fire as a sweep in the break direction. */
  let stopRun: { dir: 1 | -1; shares: number } | null = null;

  const retire = (key: string, d: Defender, tMs: number) => {
    sim.script(d.side, d.cents / 100, false);
    defenders.delete(key);
    cooldown.set(key, tMs + 5 * MIN);
  };
  const retireAll = (tMs: number) => {
    for (const [k, d] of defenders) retire(k, d, tMs);
  };

  const enter = (r: MarketRegime, tMs: number) => {
    retireAll(tMs);
    regime = r;
    leg = null;
    headline = null;
    stopRun = null;
    thin = 1;
    const mid = sim.refMid();
    fair = mid;
    sim.profile = r === 'quiet' ? quietProfile : thinned;
    if (r === 'pinned') pinStrike = Math.round(mid);
    if (r === 'news') nextHeadlineMs = tMs + walk.int(20, 90) * 1000;
  };

  /** Mean hidden reserve of a new defender, by regime: what decides whether levels tend to hold. */
  const reserveMean = (r: MarketRegime, half: boolean) => {
    const m = r === 'pinned' ? 24_000 : r === 'trending' ? 9_000 : 4_000;
    return half ? m * 0.5 : m;
  };

  /** Arms defenders at whole/half dollars price is approaching, refills them, and retires the ones price left. */
  const tendDefenders = (r: MarketRegime, tMs: number) => {
    const bb = sim.bestBidCents();
    const ba = sim.bestAskCents();
    if (!Number.isFinite(bb) || !Number.isFinite(ba)) return;
    for (const [k, d] of defenders) {
      const have = sim.sizeAt(d.side, d.cents / 100);
      const crossed = d.side === 'ask' ? ba > d.cents : bb < d.cents;
      if (crossed) {
        // Filled through: the level broke. Stops resting just beyond it turn into a sweep.
        stopRun = { dir: d.side === 'ask' ? 1 : -1, shares: 100 * defend.int(20, 45) };
        retire(k, d, tMs);
        continue;
      }
      if (d.side === 'ask' ? d.cents - ba > 60 : bb - d.cents > 60) {
        retire(k, d, tMs);
        continue;
      }
      if (have < d.display / 2 && d.reserve > 0) {
        const add = Math.min(d.reserve, d.display - have);
        const done = sim.addLiquidity(d.side, d.cents / 100, add);
        d.reserve -= done;
        d.absorbed += done;
      }
    }
    // Arm: the nearest whole or half dollar on each side within 15 cents of the touch.
    for (const side of ['bid', 'ask'] as const) {
      const touch = side === 'bid' ? bb : ba;
      const c = side === 'bid' ? Math.floor(touch / 50) * 50 : Math.ceil(touch / 50) * 50;
      if (Math.abs(c - touch) > 15) continue;
      const key = `${side}:${c}`;
      if (defenders.has(key) || (cooldown.get(key) ?? -1) > tMs) continue;
      const half = c % 100 !== 0;
      const display = 100 * defend.int(15, 30);
      const reserve = Math.round(defend.exp(reserveMean(r, half)) / 100) * 100;
      sim.script(side, c / 100, true);
      const have = sim.sizeAt(side, c / 100);
      if (have < display) sim.addLiquidity(side, c / 100, display - have);
      defenders.set(key, { side, cents: c, display, reserve, absorbed: 0 });
    }
  };

  /** The most absorbed defender facing direction `dir` (the one a push in `dir` is stuck on), if any. */
  const blocking = (dir: 1 | -1): Defender | null => {
    let best: Defender | null = null;
    for (const d of defenders.values()) if ((dir === 1 ? d.side === 'ask' : d.side === 'bid') && (!best || d.absorbed > best.absorbed)) best = d;
    return best;
  };

  const leanTo = (target: number, strength = 3, cap = 0.7) => Math.max(-cap, Math.min(cap, (target - sim.refMid()) * strength));

  for (let t = 0; t < opts.durationMs; t += opts.stepMs) {
    const r = regimeAt(schedule, t);
    if (r !== regime) enter(r, t);
    opts.perStep?.(sim, t, dt);
    const mid = sim.refMid();

    if (r === 'quiet') {
      // Nobody has a view: balanced noise, no options, no defenders.
      sim.flowBias = 0;
    } else if (r === 'trending') {
      if (!leg || t >= leg.untilMs) {
        // A new leg: usually the same way as the last one (trends persist), sometimes a reversal.
        const dir: 1 | -1 = leg ? (walk.chance(0.7) ? leg.dir : (-leg.dir as 1 | -1)) : walk.chance(0.5) ? 1 : -1;
        leg = { dir, speed: 0.06 + 0.12 * walk.next(), untilMs: t + walk.int(4, 15) * MIN, patience: walk.exp(7_000), pauseUntilMs: 0 };
        fair = mid;
      }
      if (t < leg.pauseUntilMs) {
        sim.flowBias = leanTo(fair, 3, 0.5);
      } else {
        fair += (leg.dir * leg.speed * dt) / 60 + 0.15 * Math.sqrt(dt / 60) * walk.normal();
        // The follower's target never runs more than a dollar ahead of price: it works the order, it does not chase.
        fair = leg.dir === 1 ? Math.min(fair, mid + 1) : Math.max(fair, mid - 1);
        sim.flowBias = leanTo(fair);
        const lag = (fair - mid) * leg.dir;
        // Child orders of the meta-order, more aggressive the further price lags the target.
        if (flow.chance((0.4 + Math.min(1.5, Math.max(0, lag) * 3)) * dt)) {
          // The algo sweeps (ISO across venues) when it needs size now: price lagging its target, or now and then anyway.
          if ((lag > 0.2 && flow.chance(0.35)) || flow.chance(0.12)) sim.marketOrder(leg.dir, 100 * flow.int(25, 45), { venues: flow.int(3, 5), limit: mid + leg.dir * 0.1 });
          else sim.marketOrder(leg.dir, 100 * flow.int(4, 15));
        }
        const wall = blocking(leg.dir);
        if (wall && wall.absorbed > leg.patience) {
          // The defender has absorbed more than the follower will pay to get through: pause, let price pull back.
          leg.pauseUntilMs = t + walk.int(20, 90) * 1000;
          leg.patience = walk.exp(7_000);
          fair = mid - leg.dir * (0.2 + 0.4 * walk.next());
          wall.absorbed = 0;
        }
      }
      // 0DTE buyers chase the trend (dealers end up short gamma around the money).
      // Net buying is modest and some of it is closing: dealers' short gamma must not grow without bound all day.
      if (flow.chance(1.5 * dt)) {
        const k = Math.round(mid) + flow.int(-1, 2) * leg.dir;
        sim.optionTrade(k, leg.dir === 1 ? 'C' : 'P', 5 + Math.round(flow.exp(20)), flow.chance(0.65) ? 1 : -1);
      }
      tendDefenders(r, t);
    } else if (r === 'pinned') {
      // Fair value pulled to the strike (OU reverting over ~90 s, ≈ ±$0.7): price swings into the defended levels
      // around the pin and is turned back by them and by the dealers' hedging.
      fair += ((pinStrike - fair) / 90) * dt + 1.0 * Math.sqrt(dt / 60) * walk.normal();
      sim.flowBias = leanTo(fair, 2, 0.5);
      // Premium sellers at the strike: dealers buy the options, so they are long gamma exactly there.
      if (flow.chance(2 * dt)) sim.optionTrade(pinStrike + (flow.chance(0.7) ? 0 : flow.int(-1, 1)), flow.chance(0.5) ? 'C' : 'P', 5 + Math.round(flow.exp(20)), flow.chance(0.8) ? -1 : 1);
      tendDefenders(r, t);
    } else {
      // news
      if (!headline && t >= nextHeadlineMs) {
        const dir: 1 | -1 = walk.chance(0.5) ? 1 : -1;
        const move = 0.6 + 1.8 * walk.next();
        const push = walk.int(8, 30) * 1000;
        headline = { dir, pushUntilMs: t + push, thinUntilMs: t + push + walk.int(20, 60) * 1000, target: round2(mid + dir * move), settle: round2(mid + dir * move * (0.5 + 0.5 * walk.next())) };
        // Liquidity providers pull what they show on the side the headline hits (the first 20 cents).
        const side: SimBookSide = dir === 1 ? 'ask' : 'bid';
        const touch = dir === 1 ? sim.bestAskCents() : sim.bestBidCents();
        for (let i = 1; i < 20 && Number.isFinite(touch); i++) {
          const px = (touch + dir * i) / 100;
          sim.cancelLiquidity(side, px, Math.round((sim.sizeAt(side, px) * 0.7) / 100) * 100, false);
        }
        retireAll(t);
        thin = 0.3;
      }
      if (headline) {
        const h: Headline = headline;
        if (t < h.pushUntilMs) {
          fair = h.target;
          sim.flowBias = leanTo(h.target, 3, 0.8);
          if ((h.target - mid) * h.dir > 0 && flow.chance(1.5 * dt)) sim.marketOrder(h.dir, 100 * flow.int(30, 80), { venues: flow.int(4, 6), limit: mid + h.dir * 0.2 });
          if (flow.chance(4 * dt)) sim.optionTrade(Math.round(mid) + flow.int(0, 2) * h.dir, h.dir === 1 ? 'C' : 'P', 10 + Math.round(flow.exp(30)), flow.chance(0.85) ? 1 : -1);
        } else {
          fair = h.settle;
          sim.flowBias = leanTo(fair, 2, 0.5);
          if (t >= h.thinUntilMs) {
            thin = 1;
            headline = null;
            nextHeadlineMs = t + walk.int(3, 10) * MIN;
          } else thin = Math.min(1, thin + dt / 40);
        }
      } else {
        // Between headlines: drifting two-way trade around fair value, walls defended lightly.
        fair += 0.5 * Math.sqrt(dt / 60) * walk.normal();
        sim.flowBias = leanTo(fair, 2, 0.5);
        if (flow.chance(1.5 * dt)) sim.optionTrade(Math.round(mid) + flow.int(-4, 4), flow.chance(0.5) ? 'C' : 'P', 1 + Math.round(flow.exp(12)), flow.chance(0.5) ? 1 : -1);
        tendDefenders(r, t);
      }
    }
    // Customers close 0DTE positions as well as open them (half-life ~3 min), so the dealers' gamma settles where
    // the regime's flow puts it instead of growing all day (a runaway short-gamma book makes hedging storms).
    if (r !== 'quiet' && t % 5000 === 0) unwind(sim);
    if (stopRun && r !== 'quiet') {
      const s: { dir: 1 | -1; shares: number } = stopRun;
      sim.marketOrder(s.dir, s.shares, { venues: flow.int(3, 5), limit: sim.refMid() + s.dir * 0.1 });
      stopRun = null;
    }
    sim.step(opts.stepMs);
    yield* sim.drain();
  }
}
