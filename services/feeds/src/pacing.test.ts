import { manualClock } from '@snap/platform';
import { ReplayPacer, SpeedError, parseSpeed } from './pacing';

const S = 1_000_000_000n;

describe('ReplayPacer', () => {
  it('max speed never sleeps', async () => {
    const clock = manualClock(0n);
    const p = new ReplayPacer('max', clock);
    await p.pace(0n);
    await p.pace(3600n * S);
    expect(clock.nowMs()).toBe(0);
  });

  it('x1 follows event time on the clock', async () => {
    const clock = manualClock(1_000n * S);
    const p = new ReplayPacer(1, clock);
    await p.pace(50n * S); // anchor
    await p.pace(52n * S);
    expect(clock.nowNs()).toBe(1_002n * S);
    await p.pace(52n * S); // same ts: no wait
    expect(clock.nowNs()).toBe(1_002n * S);
    await p.pace(55n * S);
    expect(clock.nowNs()).toBe(1_005n * S);
  });

  it('x10 compresses event time, and does not sleep when behind schedule', async () => {
    const clock = manualClock(0n);
    const p = new ReplayPacer(10, clock);
    await p.pace(0n);
    await p.pace(10n * S);
    expect(clock.nowNs()).toBe(1n * S);
    clock.advanceMs(5_000); // the broker was slow: we are 4 s behind schedule
    await p.pace(20n * S);
    expect(clock.nowNs()).toBe(6n * S);
    // due at 2.1 s of wall, we are at 6 s: still no sleep
    await p.pace(21n * S);
    expect(clock.nowNs()).toBe(6n * S);
  });

  it('parses --speed', () => {
    expect(parseSpeed('max')).toBe('max');
    expect(parseSpeed('10')).toBe(10);
    expect(parseSpeed('2.5x')).toBe(2.5);
    expect(() => parseSpeed('0')).toThrow(SpeedError);
    expect(() => parseSpeed('fast')).toThrow(/--speed "fast"/);
    expect(() => new ReplayPacer(-1, manualClock())).toThrow(SpeedError);
  });
});
