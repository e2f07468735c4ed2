// Pure layout helpers (no Angular): unit-tested under jest (layout.test.ts).

/**
 * Spreads labels so that consecutive ones are at least `pitch` apart, staying within [0, height - pitch] when they fit,
 * moving each as little as possible (a forward pass pushes down, a backward pass pulls up from the bottom edge).
 */
export function spreadLabels(ys: number[], pitch: number, height: number): number[] {
  const order = ys.map((y, i) => ({ y, i })).sort((a, b) => a.y - b.y);
  const out = order.map((o) => o.y - pitch / 2);
  for (let k = 0; k < out.length; k++) out[k] = Math.max(out[k]!, k === 0 ? 0 : out[k - 1]! + pitch);
  const bottom = Math.max(height - pitch, (out.length - 1) * pitch);
  for (let k = out.length - 1; k >= 0; k--) out[k] = Math.min(out[k]!, k === out.length - 1 ? bottom : out[k + 1]! - pitch);
  const result = new Array<number>(ys.length);
  order.forEach((o, k) => (result[o.i] = out[k]!));
  return result;
}
