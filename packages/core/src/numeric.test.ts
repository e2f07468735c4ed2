import { round0, round2, round3, round4, round6, roundTo } from './numeric';

// The fixed-decimals roundings must give exactly roundTo's doubles (the payload bytes and golden digests rest on it).
const FIXED: [number, (x: number) => number][] = [
  [0, round0],
  [2, round2],
  [3, round3],
  [4, round4],
  [6, round6],
];

/** Deterministic xorshift32 (no Math.random: a failure must reproduce). */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 2 ** 32;
  };
}

/** A double from 64 random bits: every exponent, subnormals, NaN payloads and infinities included. */
function randomBits(next: () => number): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setUint32(0, Math.floor(next() * 2 ** 32));
  view.setUint32(4, Math.floor(next() * 2 ** 32));
  return view.getFloat64(0);
}

function inputs(): number[] {
  const next = rng(15);
  const xs: number[] = [0, -0, NaN, Infinity, -Infinity, Number.MAX_VALUE, -Number.MAX_VALUE, Number.MIN_VALUE, -Number.MIN_VALUE, Number.EPSILON, 2 ** 52, 2 ** 53, 2 ** 53 + 2, -(2 ** 52) - 0.5, 0.49999999999999994, -0.49999999999999994];
  for (let i = 0; i < 20_000; i++) xs.push(randomBits(next));
  for (let i = 0; i < 20_000; i++) {
    // Prices, scores, flows, ratios and velocities of either sign, at every scale the payload sees.
    const scale = 10 ** Math.floor(next() * 16 - 8);
    xs.push((next() * 2 - 1) * scale);
  }
  for (const d of [0, 1, 2, 3, 4, 5, 6, 7]) {
    const f = 10 ** d;
    for (let i = 0; i < 5_000; i++) {
      // Exact and near .5 ties at the rounding digit, and the neighbouring doubles, of both signs.
      const k = Math.floor(next() * 2e6) - 1e6;
      const tie = (k + 0.5) / f;
      xs.push(tie, -tie, tie + tie * Number.EPSILON, tie - tie * Number.EPSILON, (k + 0.4999999) / f, (k + 0.5000001) / f, k / f);
    }
  }
  return xs;
}

describe('fixed-decimals rounding', () => {
  const xs = inputs();
  it.each(FIXED)('round to %i decimals: bit-identical to roundTo', (d, fn) => {
    let mismatches = 0;
    let first: number | null = null;
    for (const x of xs) {
      if (!Object.is(fn(x), roundTo(x, d))) {
        mismatches++;
        first ??= x;
      }
    }
    expect({ mismatches, first }).toEqual({ mismatches: 0, first: null });
  });

  it('keeps the policy: half away from zero, −0 written as 0, non-finite as 0', () => {
    expect(round2(1.005)).toBe(roundTo(1.005, 2));
    expect(round0(2.5)).toBe(3);
    expect(round0(-2.5)).toBe(-3);
    expect(Object.is(round4(-0.00001), 0)).toBe(true);
    expect(Object.is(round0(-0), 0)).toBe(true);
    expect(round6(NaN)).toBe(0);
    expect(round3(-Infinity)).toBe(0);
    expect(round4(545.12345)).toBe(545.1235);
  });
});
