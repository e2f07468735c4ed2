// Event time inside the engines: float64 nanoseconds relative to an engine epoch.
//
// Event times arrive as bigint ns since the Unix epoch (~1.7·10¹⁸, beyond a double's 2^53 integers). Every compare,
// subtraction and store of such a time on the tick path was BigInt work (a subtraction allocates; `Number()` of a
// 19-digit BigInt is a runtime call). An OFFSET from an epoch near the data is an integer of at most 2^53 − 1 in
// magnitude (±104 days), which a double holds exactly, and the difference of two such offsets is exact too while it
// stays within 2^53: every compare and difference gives what the BigInt one gave. So a time is converted once where
// it enters the engines and back to bigint only where it leaves them (payloads, snapshots).
//
// The epoch is not part of any output: any epoch gives the same offsets' compares and differences, so it is free to
// be the first time an engine sees (a fresh engine) or a time of its restored state (SnapEngine.restore), and a
// snapshot writes absolute bigints, the same bytes whatever the epoch. A time 2^53 ns or more from the epoch cannot
// be held exactly: a time being converted is refused with an EventTimeRangeError naming it, never rounded; a time an
// engine already holds (heldOffsetOf) that far in the past becomes the oldest offset, which changes no output.

/** Offsets must be safe integers: beyond 2^53 − 1 a double no longer holds every integer. */
const MAX_OFFSET_NS = Number.MAX_SAFE_INTEGER;
const MAX_OFFSET_BIG = BigInt(MAX_OFFSET_NS);

/** An event time too far from the engine's epoch to be held exactly as a float64 offset (≥ 2^53 ns, ~104 days). */
export class EventTimeRangeError extends RangeError {
  constructor(
    readonly tNs: bigint,
    readonly epochNs: bigint,
  ) {
    super(`event time ${tNs} ns lies 2^53 ns or more from the engine epoch ${epochNs} ns: it cannot be held exactly as a float64 offset`);
    this.name = 'EventTimeRangeError';
  }
}

/** ms → ns as a float64 (exact: an integer below 2^53 for any window or dwell the config can hold). */
export const msToNsFloat = (ms: number): number => Math.round(ms) * 1e6;

/**
 * The epoch of one engine and its conversions. Shared by a SnapEngine and the engines it owns, so the offsets in
 * their states are relative to one epoch (a snapshot converts them all back with it).
 */
export class EventClock {
  private epoch: bigint | null;
  /** The last time converted and its offset: a tick's T is handed to every engine, each converts it. */
  private lastNs = 0n;
  private lastT = 0;

  constructor(epochNs: bigint | null = null) {
    this.epoch = epochNs;
    if (epochNs !== null) this.lastNs = epochNs;
  }

  /** The epoch (null until the first time is converted). */
  get epochNs(): bigint | null {
    return this.epoch;
  }

  /** t − epoch as an exact float64 (the first time converted becomes the epoch). Throws EventTimeRangeError. */
  offsetOf(tNs: bigint): number {
    if (tNs === this.lastNs && this.epoch !== null) return this.lastT;
    if (this.epoch === null) this.epoch = tNs;
    const t = Number(tNs - this.epoch);
    if (!(t <= MAX_OFFSET_NS && t >= -MAX_OFFSET_NS)) throw new EventTimeRangeError(tNs, this.epoch);
    this.lastNs = tNs;
    this.lastT = t;
    return t;
  }

  /**
   * offsetOf for a time an engine holds (a smoother's last step, a trigger's start, a baseline's last sample), read
   * back from a snapshot or carried over a rebase: one 2^53 ns (~104 days) or more before the epoch — state kept over
   * a gap of that much event time — becomes the oldest offset, −(2^53 − 1). Nothing changes by it: a held time is only
   * subtracted from a tick's time, and at a difference of 2^53 − 1 ns or more every compare with a configured span
   * (at most 7 days, config.ts) and every smoother weight 1 − exp(−Δt·ln2 / half-life) (exactly 1 for a half-life of
   * at most a day, config.ts) come out as they do at the exact difference.
   */
  heldOffsetOf(tNs: bigint): number {
    if (this.epoch !== null && this.epoch - tNs >= MAX_OFFSET_BIG) return -MAX_OFFSET_NS;
    return this.offsetOf(tNs);
  }

  /** The absolute bigint time of an offset (an offset from offsetOf, so an integer). */
  timeOf(t: number): bigint {
    return this.epoch! + BigInt(t);
  }

  /**
   * Moves the epoch to `epochNs` and returns the map of a held offset from the old epoch to one from the new (exact,
   * or the oldest offset for a time 2^53 ns or more before the new epoch: heldOffsetOf). The owner applies it to every
   * offset it holds before converting another time.
   */
  rebase(epochNs: bigint): (t: number) => number {
    const old = this.epoch;
    this.epoch = epochNs;
    this.lastNs = epochNs;
    this.lastT = 0;
    return old === null ? (t) => t : (t) => this.heldOffsetOf(old + BigInt(t));
  }
}
