import { EventClock, EventTimeRangeError, msToNsFloat } from './event-clock';
import { parseConfig } from './config';
import { T0 } from './test-support';

describe('EventClock (event time as float64 ns from an engine epoch)', () => {
  const LIMIT = 2n ** 53n;

  it('the first time converted is the epoch; offsets and their differences are the exact bigint ones', () => {
    const c = new EventClock();
    expect(c.epochNs).toBeNull();
    expect(c.offsetOf(T0)).toBe(0);
    expect(c.epochNs).toBe(T0);
    for (const d of [1n, -1n, 999_999_999n, 86_400_000_000_123n, LIMIT - 1n, -(LIMIT - 1n)]) {
      const t = c.offsetOf(T0 + d);
      expect(BigInt(t)).toBe(d);
      expect(c.timeOf(t)).toBe(T0 + d);
    }
    // Differences of offsets near the limit stay exact (what a window test or a smoother's Δt computes).
    expect(c.offsetOf(T0 + LIMIT - 1n) - c.offsetOf(T0 + LIMIT - 2n)).toBe(1);
  });

  it('refuses a time 2^53 ns or more from the epoch with a typed error naming it, never a rounded offset', () => {
    const c = new EventClock(T0);
    for (const d of [LIMIT, LIMIT + 1n, -LIMIT, -(LIMIT + 1n), 10n ** 19n]) {
      let err: unknown;
      try {
        c.offsetOf(T0 + d);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(EventTimeRangeError);
      expect((err as EventTimeRangeError).tNs).toBe(T0 + d);
      expect((err as Error).message).toContain(String(T0 + d));
    }
  });

  it('a rebase maps every held offset to the same absolute time from the new epoch; one 2^53 ns or more past it to the oldest offset', () => {
    const c = new EventClock(T0);
    const held = [0, 1, 123_456_789, 2 ** 52 - 1].map((d) => c.offsetOf(T0 + BigInt(d)));
    const to = c.rebase(T0 + 2n ** 52n);
    expect(c.epochNs).toBe(T0 + 2n ** 52n);
    for (const t of held) expect(c.timeOf(to(t))).toBe(T0 + BigInt(t));
    const far = new EventClock(T0);
    const [old, older] = [far.offsetOf(T0 + 1n), far.offsetOf(T0)];
    const toFar = far.rebase(T0 + LIMIT);
    expect(toFar(old)).toBe(-(2 ** 53 - 1)); // exactly 2^53 − 1 ns back: still exact
    expect(far.timeOf(toFar(old))).toBe(T0 + 1n);
    expect(toFar(older)).toBe(-(2 ** 53 - 1)); // 2^53 ns back: the oldest offset
    expect(far.heldOffsetOf(T0 - 10n ** 18n)).toBe(-(2 ** 53 - 1));
    // A time being converted (not held) that far away is still refused.
    expect(() => far.offsetOf(T0 - 10n ** 18n)).toThrow(EventTimeRangeError);
  });

  it('the config bounds what makes a held time exact past 2^53 ns: half-lives ≤ a day, spans ≤ 7 days', () => {
    const past = 2 ** 53 - 1;
    // A day's half-life at the oldest offset: the smoother's weight 1 − exp(−Δt·ln2/h) is exactly 1.
    expect(1 - Math.exp((-past / 1e6) * (Math.LN2 / 86_400_000))).toBe(1);
    expect(() => parseConfig({ smoothing: { score_half_life_ms: 86_400_001 } })).toThrow(/score_half_life_ms/);
    expect(() => parseConfig({ barrier: { baseline_half_life_ms: 86_400_001 } })).toThrow(/baseline_half_life_ms/);
    for (const [k, v] of [['score', 'hold_ms'], ['signal', 'min_dwell_ms'], ['signal', 'episode_ms']] as const) {
      expect(() => parseConfig({ [k]: { [v]: 7 * 86_400_000 + 1 } })).toThrow(new RegExp(v));
      expect(7 * 86_400_000 * 1e6).toBeLessThan(past);
    }
  });

  it('ms → ns as the bigint msToNs gives it', () => {
    for (const ms of [0, 1, 250, 1500.4, 1500.5, 60_000, 86_400_000]) expect(BigInt(msToNsFloat(ms))).toBe(BigInt(Math.round(ms)) * 1_000_000n);
  });
});
