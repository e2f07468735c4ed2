// Black–Scholes prices and greeks for the simulated 0DTE chain (no dividends; r is tiny intraday anyway).

export interface Greeks {
  price: number;
  delta: number;
  /** d(delta)/dS per $1 of the underlying, per share of exposure (multiply by 100 per contract). */
  gamma: number;
  /** Per calendar day. */
  theta: number;
  /** Per 1 vol point (0.01). */
  vega: number;
}

/** Standard normal CDF via erf (Abramowitz–Stegun 7.1.26, |error| < 1.5e-7: far below a cent on SPY options). */
export function normCdf(x: number): number {
  const z = Math.abs(x) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * z);
  const erf = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-z * z);
  return x >= 0 ? 0.5 * (1 + erf) : 0.5 * (1 - erf);
}

export const normPdf = (x: number): number => Math.exp(-0.5 * x * x) / Math.sqrt(2 * Math.PI);

/** tYears ≤ 0 returns intrinsic value with degenerate greeks (expiry). */
export function blackScholes(spot: number, strike: number, tYears: number, sigma: number, right: 'C' | 'P', r = 0): Greeks {
  if (tYears <= 0 || sigma <= 0) {
    const intrinsic = right === 'C' ? Math.max(0, spot - strike) : Math.max(0, strike - spot);
    const delta = right === 'C' ? (spot > strike ? 1 : 0) : spot < strike ? -1 : 0;
    return { price: intrinsic, delta, gamma: 0, theta: 0, vega: 0 };
  }
  const sq = Math.sqrt(tYears);
  const d1 = (Math.log(spot / strike) + (r + 0.5 * sigma * sigma) * tYears) / (sigma * sq);
  const d2 = d1 - sigma * sq;
  const disc = Math.exp(-r * tYears);
  const pdf = normPdf(d1);
  const gamma = pdf / (spot * sigma * sq);
  const vega = (spot * pdf * sq) / 100;
  const thetaCommon = -(spot * pdf * sigma) / (2 * sq);
  if (right === 'C') {
    const price = spot * normCdf(d1) - strike * disc * normCdf(d2);
    return { price, delta: normCdf(d1), gamma, theta: (thetaCommon - r * strike * disc * normCdf(d2)) / 365, vega };
  }
  const price = strike * disc * normCdf(-d2) - spot * normCdf(-d1);
  return { price, delta: normCdf(d1) - 1, gamma, theta: (thetaCommon + r * strike * disc * normCdf(-d2)) / 365, vega };
}
