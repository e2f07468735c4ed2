// DESIGN decision 4: SPY levels are read on the ES book through a live basis, ES ≈ k·SPY + basis.
// k is fixed by config (basis.multiplier, 10 for SPY→ES); the basis is the EWMA (half-life basis.half_life_ms of
// event time) of the observed `esMid − k·spyMid`, sampled whenever either mid changes and both are known.
// Smoothing matters because the two books tick asynchronously: a raw difference jumps by a tick whenever one side
// moves first, which would shift the mapped zone back and forth.
import type { Config } from './config';
import { ewmaAlpha } from './smoothing';

export interface BasisState {
  spyMid: number | null;
  esMid: number | null;
  basis: number | null;
  lastNs: bigint | null;
}

export const newBasisState = (): BasisState => ({ spyMid: null, esMid: null, basis: null, lastNs: null });

export class BasisEstimator {
  constructor(
    private readonly cfg: Config['basis'],
    readonly state: BasisState = newBasisState(),
  ) {}

  get multiplier(): number {
    return this.cfg.multiplier;
  }

  /** The smoothed basis, or null until both mids have been seen. */
  get basis(): number | null {
    return this.state.basis;
  }

  onSpyMid(mid: number, tNs: bigint): void {
    this.state.spyMid = mid;
    this.sample(tNs);
  }

  onFuturesMid(mid: number, tNs: bigint): void {
    this.state.esMid = mid;
    this.sample(tNs);
  }

  /** SPY price → ES price, or null while the basis is unknown. */
  toFutures(underlyingPrice: number): number | null {
    return this.state.basis === null ? null : this.cfg.multiplier * underlyingPrice + this.state.basis;
  }

  /** ES price → SPY price, or null while the basis is unknown. */
  toUnderlying(futuresPrice: number): number | null {
    return this.state.basis === null ? null : (futuresPrice - this.state.basis) / this.cfg.multiplier;
  }

  private sample(tNs: bigint): void {
    const s = this.state;
    if (s.spyMid === null || s.esMid === null) return;
    const x = s.esMid - this.cfg.multiplier * s.spyMid;
    if (s.basis === null || s.lastNs === null) s.basis = x;
    else {
      // The basis keeps bigint times (it samples on events, not ticks); α takes Δt as a double, as it always converted it.
      const a = ewmaAlpha(Number(tNs - s.lastNs), this.cfg.half_life_ms);
      s.basis = a * x + (1 - a) * s.basis;
    }
    s.lastNs = tNs;
  }
}
