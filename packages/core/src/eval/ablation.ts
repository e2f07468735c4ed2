// The ablation of `snap-engine eval`: the same sessions scored with one engine's weight alone, to show what each of
// Barrier (S_L), Fuel (S_H) and Tape (S_T) adds. Only score weights change; the composite divides by the weight sum
// (score.ts), so a single engine's score stays on the 0–100 scale and the thresholds keep their meaning.
// score.calibration is off in those variants (see ablationConfig).
import type { Config } from '../config';
import { parseConfig } from '../config';
import type { EvalParams } from './metrics';

export const ABLATION_VARIANTS = ['all', 'barrier_only', 'tape_only', 'fuel_only'] as const;
export type AblationVariant = (typeof ABLATION_VARIANTS)[number];

export function ablationConfig(cfg: Config, v: AblationVariant): Config {
  if (v === 'all') return cfg;
  const w = v === 'barrier_only' ? { w_l: 1, w_h: 0, w_t: 0 } : v === 'fuel_only' ? { w_l: 0, w_h: 1, w_t: 0 } : { w_l: 0, w_h: 0, w_t: 1 };
  // score.calibration was fitted on the configured weights' S̃; a single engine's S̃ is another score, so it is shown
  // uncalibrated (its own reliability diagram then says how far from a probability it is).
  return parseConfig({ ...cfg, score: { ...cfg.score, ...w, calibration: [] } });
}

export function evalParams(cfg: Config): EvalParams {
  return {
    monitorBand: cfg.levels.monitor_band,
    breakDistance: cfg.eval.break_distance,
    rejectDistance: cfg.eval.reject_distance,
    touchBand: cfg.eval.touch_band,
    horizonMs: cfg.eval.horizon_ms,
    quietWindowMs: cfg.eval.quiet_window_ms,
    quietRange: cfg.eval.quiet_range,
    reliabilityBins: cfg.eval.reliability_bins,
    tickMs: cfg.snap.tick_ms,
  };
}
