// A free-running simulated session for the demo and the benchmark: the same agent-based market as the scenarios,
// driven by a slowly wandering "fair value" (mean-reverting random walk) that noise traders lean toward, so price
// visits round numbers and strikes; resting interest is heavier at whole and half dollars (natural walls); and
// every few minutes a regime burst — a momentum push with 0DTE buyers (dealers short gamma) or a premium-selling
// pin (dealers long gamma) — tests the levels the way the scripted scenarios do.
import type { InputEvent } from '../events';
import { formatEventLine } from '../event-json';
import { MarketSim } from './market';
import { mulberry32 } from './rng';

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
}

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
  const rng = mulberry32(opts.seed);
  const spot0 = opts.spot ?? 680.37;
  const stepMs = opts.stepMs ?? 50;
  const sim = new MarketSim({ rng: rng.fork(1), startNs: opts.startNs ?? SESSION_DEFAULT_START_NS, spot: spot0, underlying: opts.underlying ?? 'SPY', noiseRate: 3.5 });
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
  for (let t = 0; t < opts.durationMs; t += stepMs) {
    // Fair value: OU around the open (σ ≈ $0.9/√min, pulled back over ~10 min).
    fair += ((spot0 - fair) / 600) * dt + 0.9 * Math.sqrt(dt / 60) * walk.normal();
    if (!burst && walk.chance(dt / 150)) {
      const kind = walk.chance(0.6) ? 'momentum' : 'pin';
      burst = { kind, untilMs: t + walk.int(12_000, 30_000), dir: walk.chance(0.5) ? 1 : -1, strike: Math.round(sim.mid()) };
    }
    if (burst && t >= burst.untilMs) burst = null;
    const lean = Math.max(-0.7, Math.min(0.7, (fair - sim.mid()) * 3));
    sim.flowBias = burst?.kind === 'momentum' ? 0.7 * burst.dir : lean;
    // Momentum sweeps: SPY-sized ISO sweeps ($2–3M, 3–4.5k shares over 3–5 venues), ~1,300 shares/s on average.
    if (burst?.kind === 'momentum' && flow.chance(0.35 * dt)) sim.marketOrder(burst.dir, 100 * flow.int(30, 45), { venues: flow.int(3, 5) });
    // Background customers all over the chain.
    if (flow.chance(2 * dt)) {
      const k = Math.round(sim.mid()) + flow.int(-5, 5);
      sim.optionTrade(k, flow.chance(0.5) ? 'C' : 'P', 1 + Math.round(flow.exp(12)), flow.chance(0.1) ? 0 : flow.chance(0.5) ? 1 : -1);
    }
    // Burst customers: momentum = 0DTE buyers chasing (dealers short gamma); pin = premium sellers at the strike.
    if (burst && flow.chance(6 * dt)) {
      const k = burst.kind === 'pin' ? burst.strike : Math.round(sim.mid()) + flow.int(-1, 1);
      const side = burst.kind === 'momentum' ? 1 : -1;
      sim.optionTrade(k, flow.chance(0.5) ? 'C' : 'P', 10 + Math.round(flow.exp(50)), flow.chance(0.85) ? side : (-side as 1 | -1));
    }
    sim.step(stepMs);
    yield* sim.drain();
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
