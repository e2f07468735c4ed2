// §5.6 smoothing layer. EWMA on event time: x̂(t) = α·x(t) + (1 − α)·x̂(t − Δt) with α = 1 − exp(−Δt/τ) and
// τ = half_life / ln 2, so after one half-life an old value keeps exactly half of its weight whatever the tick rate.
// The optional robust stage (config smoothing.robust) replaces each raw input by the median of the last
// `robust_window` raw inputs before the EWMA, which removes single-tick spikes in quote sizes and scores.
// Both stages output convex combinations / order statistics of their inputs, so the output never leaves
// [min, max] of the inputs seen.
import { median } from './numeric';

export interface SmootherState {
  value: number | null;
  /** Event time of the last step: ns from the engine epoch (event-clock.ts); a snapshot writes it as the bigint time. */
  lastNs: number | null;
  /** Last raw inputs for the robust median (empty when robust smoothing is off). */
  recent: number[];
}

export const newSmoother = (): SmootherState => ({ value: null, lastNs: null, recent: [] });

/** α for an elapsed Δt (ns) and a half-life (ms). Δt ≤ 0 gives 0: a second sample at the same instant changes nothing. */
export function ewmaAlpha(dtNs: number, halfLifeMs: number): number {
  if (dtNs <= 0) return 0;
  // Smoothers step once per snap tick, so Δt is nearly always one tick: the last α per half-life is reused (the same
  // expression of the same inputs, so the same number).
  for (let i = 0; i < alphaMemo.length; i++) {
    const m = alphaMemo[i]!;
    if (m.halfLifeMs === halfLifeMs) {
      if (m.dtNs !== dtNs) {
        m.dtNs = dtNs;
        m.alpha = alphaOf(dtNs, halfLifeMs);
      }
      return m.alpha;
    }
  }
  const alpha = alphaOf(dtNs, halfLifeMs);
  if (alphaMemo.length < 16) alphaMemo.push({ halfLifeMs, dtNs, alpha });
  return alpha;
}

const alphaOf = (dtNs: number, halfLifeMs: number): number => 1 - Math.exp(-dtNs / 1e6 / (halfLifeMs / Math.LN2));

const alphaMemo: { halfLifeMs: number; dtNs: number; alpha: number }[] = [];

export interface SmoothOptions {
  halfLifeMs: number;
  /** Median window length; null or < 2 disables the robust stage. */
  robustWindow: number | null;
}

/** Feeds one raw value observed at tNs (ns from the engine epoch) and returns the smoothed value. The first value initializes the smoother. */
export function smoothStep(s: SmootherState, x: number, tNs: number, opt: SmoothOptions): number {
  let input = x;
  if (opt.robustWindow !== null && opt.robustWindow >= 2) {
    s.recent.push(x);
    if (s.recent.length > opt.robustWindow) s.recent.splice(0, s.recent.length - opt.robustWindow);
    input = median(s.recent);
  }
  if (s.value === null || s.lastNs === null) {
    s.value = input;
  } else {
    const a = ewmaAlpha(tNs - s.lastNs, opt.halfLifeMs);
    s.value = a * input + (1 - a) * s.value;
  }
  s.lastNs = tNs;
  return s.value;
}
