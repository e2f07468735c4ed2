// Small pure numeric helpers shared by the physics engines. No I/O, no clock, no randomness.

export const NS_PER_MS = 1_000_000n;

const msToNsCache = new Map<number, bigint>();

/** ms → ns as bigint. Memoized: windows are a handful of config constants converted on every read. */
export function msToNs(ms: number): bigint {
  let v = msToNsCache.get(ms);
  if (v === undefined) {
    v = BigInt(Math.round(ms)) * NS_PER_MS;
    if (msToNsCache.size < 256) msToNsCache.set(ms, v);
  }
  return v;
}

/** Seconds between two ns instants as a float (b − a). Only differences are converted, so precision is kept. */
export const nsDiffSeconds = (a: bigint, b: bigint): number => Number(b - a) / 1e9;

export const clamp = (x: number, lo: number, hi: number): number => (x < lo ? lo : x > hi ? hi : x);

/** 10 ** d for the decimals the payload uses (the same doubles `10 ** d` gives). */
const POW10 = [1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000];

/**
 * Rounds to a fixed number of decimals, half away from zero, and normalizes −0 to 0, so that a payload's JSON
 * bytes depend only on the value and never on float noise beyond the policy (see snap-engine.ts "Rounding policy").
 */
export function roundTo(x: number, decimals: number): number {
  if (!Number.isFinite(x)) return 0;
  const f = decimals >= 0 && decimals < POW10.length && (decimals | 0) === decimals ? POW10[decimals]! : 10 ** decimals;
  // sign(x)·round(|x|·f) / f, branch for branch (negation and |x| are exact, so the same doubles).
  const r = x < 0 ? -Math.round(-x * f) / f : Math.round(x * f) / f;
  return r === 0 ? 0 : r;
}

/*
 * roundTo with the decimals fixed: the same arithmetic on the same constant (so bit-identical doubles for every input,
 * numeric.test.ts checks it against roundTo), small enough for V8 to inline into the payload builder, with no decimals
 * lookup. The payload rounds ~25 fields per level row per snap tick, and roundTo's self time was 5% of the engine.
 * `x - x === 0` is false exactly for NaN and ±Infinity (Number.isFinite).
 */
export function round0(x: number): number {
  if (!(x - x === 0)) return 0;
  const r = x < 0 ? -Math.round(-x) : Math.round(x);
  return r === 0 ? 0 : r;
}

export function round2(x: number): number {
  if (!(x - x === 0)) return 0;
  const r = x < 0 ? -Math.round(-x * 100) / 100 : Math.round(x * 100) / 100;
  return r === 0 ? 0 : r;
}

export function round3(x: number): number {
  if (!(x - x === 0)) return 0;
  const r = x < 0 ? -Math.round(-x * 1000) / 1000 : Math.round(x * 1000) / 1000;
  return r === 0 ? 0 : r;
}

export function round4(x: number): number {
  if (!(x - x === 0)) return 0;
  const r = x < 0 ? -Math.round(-x * 10000) / 10000 : Math.round(x * 10000) / 10000;
  return r === 0 ? 0 : r;
}

export function round6(x: number): number {
  if (!(x - x === 0)) return 0;
  const r = x < 0 ? -Math.round(-x * 1000000) / 1000000 : Math.round(x * 1000000) / 1000000;
  return r === 0 ? 0 : r;
}

/** Nearest-rank percentile (p in [0,100]) of a non-empty sample; sorts a copy. */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((clamp(p, 0, 100) / 100) * sorted.length));
  return sorted[rank - 1]!;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const n = sorted.length;
  return n % 2 === 1 ? sorted[(n - 1) / 2]! : (sorted[n / 2 - 1]! + sorted[n / 2]!) / 2;
}

/** Canonical text for a level price inside an id: at most 4 decimals, no trailing zeros (545 → "545", 545.5 → "545.5"). */
export function priceKey(price: number): string {
  return String(roundTo(price, 4));
}

/**
 * `${prefix}${priceKey(price)}`, remembered in `cache` (bounded: cleared at 4096 prices). Level prices recur tick after
 * tick, and formatting a double is what a per-tick key would otherwise cost.
 */
export function cachedPriceKey(cache: Map<number, string>, prefix: string, price: number): string {
  let k = cache.get(price);
  if (k === undefined) {
    if (cache.size >= 4096) cache.clear();
    k = prefix + priceKey(price);
    cache.set(price, k);
  }
  return k;
}

/** Bounded ring of numeric samples (plain data, so it snapshots as JSON). */
export interface RingState {
  cap: number;
  buf: number[];
  /** Index the next sample overwrites once buf is full. */
  head: number;
}

export const newRing = (cap: number): RingState => ({ cap, buf: [], head: 0 });

export function ringPush(r: RingState, x: number): void {
  const sorted = sortedMirror.get(r);
  if (sorted && sorted.length === r.buf.length) {
    if (r.buf.length >= r.cap) sorted.splice(lowerBound(sorted, r.buf[r.head]!), 1);
    sorted.splice(lowerBound(sorted, x), 0, x);
  } else if (sorted) sortedMirror.delete(r);
  if (r.buf.length < r.cap) r.buf.push(x);
  else {
    r.buf[r.head] = x;
    r.head = (r.head + 1) % r.cap;
  }
}

/**
 * A sorted copy of each ring's samples, kept in step by ringPush (a derived cache, not state: a restored ring gets
 * a fresh one), so a percentile of a full baseline is one lookup instead of copying and sorting it.
 */
const sortedMirror = new WeakMap<RingState, number[]>();

/** First index of a sorted array whose value is not below x. */
function lowerBound(a: readonly number[], x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Nearest-rank percentile of a ring's samples (same value as percentile(r.buf, p)), from the ring's sorted mirror. */
export function ringPercentile(r: RingState, p: number): number {
  let sorted = sortedMirror.get(r);
  if (!sorted || sorted.length !== r.buf.length) {
    sorted = [...r.buf].sort((a, b) => a - b);
    sortedMirror.set(r, sorted);
  }
  const rank = Math.max(1, Math.ceil((clamp(p, 0, 100) / 100) * sorted.length));
  return sorted[rank - 1]!;
}

/** Drops leading entries whose time is at or before `cutoffNs` (windows are (t − W, t]), each first handed to `onEvict` (for derived
 *  state kept beside the array); returns how many. Arrays stay time-ordered. */
export function evictBefore<T extends { ts: bigint }>(arr: T[], cutoffNs: bigint, onEvict?: (x: T) => void): number {
  let k = 0;
  while (k < arr.length && arr[k]!.ts <= cutoffNs) {
    // Not onEvict?.(arr[k++]): an optional call skips its arguments, so k would never move without a callback.
    if (onEvict) onEvict(arr[k]!);
    k++;
  }
  if (k > 0) arr.splice(0, k);
  return k;
}
