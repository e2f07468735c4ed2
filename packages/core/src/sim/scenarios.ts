// Scripted level tests with known ground truth (plan §8.1 "synthetic sequences", made into whole markets).
//
// Every scenario is the same world — a SPY book with background liquidity and noise traders, ES rendered from it,
// a 0DTE chain with customer flow and hedging dealers — plus a script of agents at one level L: a defender
// (the resting queue at L), attackers (aggressive orders into L) and the customers whose option trades set the
// dealers' gamma. The script never sets the outcome: price breaks only if the queue at L is exhausted, and the
// recorded ground truth (BREAK/REJECT and its time) is measured afterwards from the quotes (outcome.ts).
import type { InputEvent } from '../events';
import type { Direction } from '../signals';
import { SimBookSide, MarketSim } from './market';
import { Expected, physicalOutcome } from './outcome';
import { mulberry32, Rng } from './rng';

export interface Scenario {
  name: string;
  description: string;
  seed: number;
  underlying: string;
  /** The level under test. */
  level: number;
  direction: Direction;
  expected: Expected;
  /** What price physically did at the level in the generated data (must equal `expected` for a well-built scenario). */
  observed: Expected;
  /** Event time of the physical outcome (for NONE: the end of the scenario). */
  tEventNs: bigint;
  /** When the level was first touched (null if never). */
  touchNs: bigint | null;
  startNs: bigint;
  endNs: bigint;
  /** Barrier sources the scenario is meaningful for (all events carry both SPY L1 and ES MBP-10). */
  barrierSources: ('l1' | 'mbp10')[];
  events: InputEvent[];
}

/** 2025-12-22 15:00:00 UTC = 10:00 New York, a Monday with a 0DTE SPY expiry. */
export const SCENARIO_START_NS = 1_766_415_600_000_000_000n;
const STEP_MS = 50;
const LEVEL = 680;

interface Script {
  name: string;
  description: string;
  direction: Direction;
  expected: Expected;
  /** Resting size at L when the test starts. */
  defend: number;
  /** Thin book beyond L (a liquidity hole behind the level). */
  thinBeyond: boolean;
  /** Customer option flow near L: +1 buying (dealers get short gamma), −1 selling (long gamma), 0 none. */
  customers: -1 | 0 | 1;
  /** One step of the test phase; `t` is ms since the touch. Return true when the script is finished. */
  test(ctx: Ctx, t: number): boolean;
  /** Background bias after the script ends (−1..1, in attacker terms: + keeps pressing, − reverses). */
  after: number;
}

interface Ctx {
  sim: MarketSim;
  rng: Rng;
  L: number;
  /** Attackers' aggressor sign: −1 sells into a support, +1 buys into a resistance. */
  att: 1 | -1;
  /** The defending side of the book. */
  def: SimBookSide;
  /** The script's customer option flow near L (+1: dealers short gamma, −1: long gamma, 0: none). */
  customers: -1 | 0 | 1;
  /** Poisson-ish arrivals: true with probability rate·dt. */
  every(ratePerSec: number): boolean;
  /** Shares resting at L on the defending side. */
  queue(): number;
  /** True while the defending best price is still at L. */
  holding(): boolean;
}

function runScript(seed: number, s: Script): Scenario {
  const rng = mulberry32(seed);
  const L = LEVEL;
  const att: 1 | -1 = s.direction === 'SUPPORT' ? -1 : 1;
  const def: SimBookSide = s.direction === 'SUPPORT' ? 'bid' : 'ask';
  const startMid = L - att * 0.3; // approach from 30 cents away
  const sim = new MarketSim({ rng: rng.fork(1), startNs: SCENARIO_START_NS, spot: startMid });
  const base = sim.profile;
  if (s.thinBeyond) {
    // Behind the level the book is a hole for 30 cents: few resting orders between L and the next shelf.
    sim.profile = (side, cents) => {
      const beyond = side === def && att * (cents - L * 100) > 0 && att * (cents - L * 100) <= 30;
      return beyond ? 100 + 100 * ((cents * 7) % 3) : base(side, cents);
    };
  }
  const flow = rng.fork(2);
  const act = rng.fork(3);
  const dt = STEP_MS / 1000;
  const ctx: Ctx = {
    sim,
    rng: act,
    L,
    att,
    def,
    customers: s.customers,
    every: (r) => act.chance(Math.min(1, r * dt)),
    queue: () => sim.sizeAt(def, L),
    holding: () => (def === 'bid' ? sim.bestBid() : sim.bestAsk()) === L,
  };
  const events: InputEvent[] = [];
  let directed = false;
  const optionFlow = () => {
    // Background customers: balanced, all over the chain.
    if (flow.chance(1.5 * dt)) {
      const k = Math.round(sim.mid()) + flow.int(-4, 4);
      sim.optionTrade(k, flow.chance(0.5) ? 'C' : 'P', 1 + Math.round(flow.exp(10)), flow.chance(0.1) ? 0 : flow.chance(0.5) ? 1 : -1);
    }
    // Directed customers at the level's strikes (0DTE buyers or premium sellers), active while price heads to the
    // level and tests it: that is when 0DTE traders act on a strike.
    if (directed && s.customers !== 0 && flow.chance(8 * dt)) {
      const k = flow.chance(0.6) ? L : L + (flow.chance(0.5) ? 1 : -1);
      const side = flow.chance(0.85) ? s.customers : (-s.customers as 1 | -1);
      sim.optionTrade(k, flow.chance(0.5) ? 'C' : 'P', 20 + Math.round(flow.exp(60)), side);
    }
  };
  const step = () => {
    optionFlow();
    sim.step(STEP_MS);
    for (const e of sim.drain()) events.push(e);
  };

  // 1) Warm-up: a minute of ordinary trading around the start, so engine windows and levels fill.
  for (let i = 0; i < 60_000 / STEP_MS; i++) {
    sim.flowBias = Math.max(-0.5, Math.min(0.5, (startMid - sim.mid()) * 5));
    step();
  }
  // 2) Approach: attackers walk price to the level; their orders are limited at L (they lean on it, not through it).
  sim.flowBias = 0;
  directed = true;
  sim.script(def, L);
  const have = sim.sizeAt(def, L);
  if (have < s.defend) sim.addLiquidity(def, L, s.defend - have);
  else sim.cancelLiquidity(def, L, have - s.defend);
  for (let i = 0; i < 40_000 / STEP_MS && !ctx.holding(); i++) {
    if (ctx.every(10)) sim.marketOrder(att, 100 * act.int(3, 8), { limit: L });
    step();
  }
  // 3) The test at the level.
  for (let t = 0; t < 60_000; t += STEP_MS) {
    if (s.test(ctx, t)) break;
    step();
  }
  // 4) Aftermath: the script's agents are gone; the level returns to background liquidity.
  sim.script(def, L, false);
  directed = false;
  sim.flowBias = att * s.after;
  for (let i = 0; i < 30_000 / STEP_MS; i++) {
    if (s.after > 0 && ctx.every(8 * s.after)) sim.marketOrder(att, 100 * act.int(2, 6));
    if (s.after < 0 && ctx.every(-8 * s.after)) sim.marketOrder(-att as 1 | -1, 100 * act.int(3, 8));
    step();
  }
  const endNs = events[events.length - 1]!.ts_event_ns;
  const truth = physicalOutcome(events, sim.underlying, L, s.direction);
  return {
    name: s.name,
    description: s.description,
    seed,
    underlying: sim.underlying,
    level: L,
    direction: s.direction,
    expected: s.expected,
    observed: truth.outcome,
    tEventNs: truth.tNs ?? endNs,
    touchNs: truth.touchNs,
    startNs: SCENARIO_START_NS,
    endNs,
    barrierSources: ['l1', 'mbp10'],
    events,
  };
}

/**
 * short_gamma / long_gamma: twelve seconds of steady selling (~1500 shares/s) into a 15k bid at the strike — the same
 * attack in both. That bid is the dealers' own quote at their strike, and what they do when it is hit is their gamma:
 * short gamma, every fill worsens their hedge, so they back away as fast as they are hit (the book thins: amplify);
 * long gamma, they are happy buyers of the dip and reload twice what traded (the bid holds: dampen). The market's
 * generic dealer quoting (market.ts) is too weak on its own to decide the level — the selling alone nearly exhausts
 * the bid in both — so without this the pair would not isolate the one thing it varies.
 */
function sellIntoDealerBid(c: Ctx, t: number): boolean {
  const before = c.queue();
  if (c.every(5)) c.sim.marketOrder(c.att, 100 * c.rng.int(2, 4));
  const filled = Math.max(0, before - c.queue());
  if (filled > 0 && c.holding()) {
    if (c.customers > 0) c.sim.cancelLiquidity(c.def, c.L, filled);
    else if (c.customers < 0) c.sim.addLiquidity(c.def, c.L, 2 * filled);
  }
  return (!c.holding() && c.queue() === 0) || t >= 12_000;
}

const SCRIPTS: Record<string, Script> = {
  vacuum: {
    name: 'vacuum',
    description: 'Support at 680 with a big bid (20k) that is pulled over ~5 s — cancels, hardly any fills, a trickle of refills — while 0DTE buyers leave dealers short gamma; a hole below.',
    direction: 'SUPPORT',
    expected: 'BREAK',
    defend: 20_000,
    thinBeyond: true,
    customers: 1,
    after: 0.5,
    test(c, t) {
      // The defender pulls ~4k shares/s; a trickle of refills; light selling.
      c.sim.cancelLiquidity(c.def, c.L, 100 * c.rng.int(1, 3));
      if (c.rng.chance(0.2)) c.sim.addLiquidity(c.def, c.L, 100);
      if (c.every(1)) c.sim.marketOrder(c.att, 100 * c.rng.int(2, 4));
      return (c.queue() === 0 && !c.holding()) || t >= 20_000;
    },
  },
  absorption: {
    name: 'absorption',
    description: 'Resistance at 680: buyers lift the offer hard but the seller at 680 refills twice what trades (iceberg), customers sell 0DTE premium (dealers long gamma); buyers exhaust.',
    direction: 'RESISTANCE',
    expected: 'REJECT',
    defend: 6000,
    thinBeyond: false,
    customers: -1,
    after: -0.6,
    test(c, t) {
      if (t >= 12_000) return true;
      const before = c.queue();
      if (c.every(8)) c.sim.marketOrder(c.att, 100 * c.rng.int(3, 6), { limit: c.L });
      const filled = Math.max(0, before - c.queue());
      if (filled > 0) c.sim.addLiquidity(c.def, c.L, 2 * filled + 100 * c.rng.int(0, 2));
      return false;
    },
  },
  consumed: {
    name: 'consumed',
    description: 'Support at 680 eaten by repeated multi-venue sell sweeps; the bid is filled, not pulled, and refilled only half as fast; 0DTE put buyers leave dealers short gamma.',
    direction: 'SUPPORT',
    expected: 'BREAK',
    defend: 25_000,
    thinBeyond: false,
    customers: 1,
    after: 0.6,
    test(c, t) {
      const before = c.queue();
      // A sweep big enough to count as one on SPY's tape ($2–3M, 3–4.5k shares across venues), once a second.
      if (c.every(1)) c.sim.marketOrder(c.att, 100 * c.rng.int(30, 45), { venues: c.rng.int(3, 5) });
      const filled = Math.max(0, before - c.queue());
      if (filled > 0 && c.holding()) c.sim.addLiquidity(c.def, c.L, Math.round(filled / 200) * 100);
      return (!c.holding() && c.queue() === 0) || t >= 30_000;
    },
  },
  sweep: {
    name: 'sweep',
    description: 'Resistance at 680 probed for 8 s by intermarket buy sweeps while makers back away from the offer; a final sweep clears 680 into thin offers; call buyers keep dealers short gamma.',
    direction: 'RESISTANCE',
    expected: 'BREAK',
    defend: 12_000,
    thinBeyond: true,
    customers: 1,
    after: 0.6,
    test(c, t) {
      if (t < 8000) {
        // Probing sweeps that take the offer at 680 across venues; makers pull from it.
        // Each probe is a real sweep ($2–3M: 3–4.5k shares over 4 venues), every 2 s from 0.5 s after the touch — a
        // cadence, not Poisson arrivals, which could put two probes 50 ms apart and clear the level in one burst with
        // no probing at all (not this scenario).
        if (t % 2000 === 500) c.sim.marketOrder(c.att, 100 * c.rng.int(30, 45), { venues: 4, limit: c.L });
        if (c.every(1)) c.sim.cancelLiquidity(c.def, c.L, 100 * c.rng.int(2, 5));
        return c.queue() === 0 && !c.holding();
      }
      if (t < 8000 + STEP_MS) c.sim.marketOrder(c.att, c.queue() + 5000, { venues: 5, limit: c.L + 0.1 });
      if (c.every(3)) c.sim.marketOrder(c.att, 100 * c.rng.int(3, 8), { venues: c.rng.int(1, 3) });
      return t >= 12_000;
    },
  },
  short_gamma: {
    name: 'short_gamma',
    description: 'Support at 680 with a static 15k bid and 12 s of steady selling; heavy 0DTE customer buying leaves dealers short gamma, so they pull and chase.',
    direction: 'SUPPORT',
    expected: 'BREAK',
    defend: 15_000,
    thinBeyond: false,
    customers: 1,
    after: 0.6,
    test: sellIntoDealerBid,
  },
  long_gamma: {
    name: 'long_gamma',
    description: 'The same level, bid and selling as short_gamma, but customers sell 0DTE premium, so dealers are long gamma and refill the bid; sellers exhaust.',
    direction: 'SUPPORT',
    expected: 'REJECT',
    defend: 15_000,
    thinBeyond: false,
    customers: -1,
    after: -0.5,
    test: sellIntoDealerBid,
  },
};

function quiet(seed: number): Scenario {
  const rng = mulberry32(seed);
  const sim = new MarketSim({ rng: rng.fork(1), startNs: SCENARIO_START_NS, spot: 680.25, noiseRate: 1.5 });
  const flow = rng.fork(2);
  const events: InputEvent[] = [];
  for (let i = 0; i < 120_000 / STEP_MS; i++) {
    sim.flowBias = Math.max(-0.3, Math.min(0.3, (680.25 - sim.mid()) * 4));
    if (flow.chance(1.5 * (STEP_MS / 1000))) {
      const k = Math.round(sim.mid()) + flow.int(-4, 4);
      sim.optionTrade(k, flow.chance(0.5) ? 'C' : 'P', 1 + Math.round(flow.exp(10)), flow.chance(0.5) ? 1 : -1);
    }
    sim.step(STEP_MS);
    for (const e of sim.drain()) events.push(e);
  }
  const endNs = events[events.length - 1]!.ts_event_ns;
  return {
    name: 'quiet',
    description: 'A quiet, balanced market drifting between 680 and 680.50: no level is broken or rejected.',
    seed,
    underlying: sim.underlying,
    level: 680,
    direction: 'SUPPORT',
    expected: 'NONE',
    observed: physicalOutcome(events, sim.underlying, 680, 'SUPPORT').outcome === 'BREAK' || physicalOutcome(events, sim.underlying, 680.5, 'RESISTANCE').outcome === 'BREAK' ? 'BREAK' : 'NONE',
    tEventNs: endNs,
    touchNs: null,
    startNs: SCENARIO_START_NS,
    endNs,
    barrierSources: ['l1', 'mbp10'],
    events,
  };
}

export interface ScenarioDef {
  name: string;
  expected: Expected;
  build(seed: number): Scenario;
}

export const SCENARIOS: readonly ScenarioDef[] = [
  ...Object.values(SCRIPTS).map((s) => ({ name: s.name, expected: s.expected, build: (seed: number) => runScript(seed, s) })),
  { name: 'quiet', expected: 'NONE' as const, build: quiet },
];
