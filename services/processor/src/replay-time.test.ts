import { checkTimeZone, parseTimeSpec, ReplayError } from './replay';

const errorOf = (fn: () => unknown): ReplayError => {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ReplayError);
    return e as ReplayError;
  }
  throw new Error('expected a ReplayError');
};

describe('replay times', () => {
  it('reads ISO times with a zone to the nanosecond, and Unix ns', () => {
    expect(parseTimeSpec('2025-12-22T15:00:00Z', '--from-time')).toBe(1766415600000000000n);
    expect(parseTimeSpec('2025-12-22T10:00:00-05:00', '--from-time')).toBe(1766415600000000000n);
    expect(parseTimeSpec('2025-12-22T10:00:00-0500', '--from-time')).toBe(1766415600000000000n);
    expect(parseTimeSpec('2025-12-22T16:30:00+01:30', '--from-time')).toBe(1766415600000000000n);
    expect(parseTimeSpec('2025-12-22T15:00:00.000000123Z', '--from-time')).toBe(1766415600000000123n);
    expect(parseTimeSpec('2025-12-22T15:00:00.5Z', '--from-time')).toBe(1766415600500000000n);
    expect(parseTimeSpec('2025-12-22 15:00Z', '--from-time')).toBe(1766415600000000000n);
    expect(parseTimeSpec('1766415600000000123', '--from-time')).toBe(1766415600000000123n);
  });

  it.each(['2025-12-22T15:00:00', '2025-12-22T15:00', '2025-12-22', 'yesterday', '2025-13-01T00:00:00Z', '2025-02-30T00:00:00Z', '2025-12-22T25:00:00Z'])(
    '%s is refused naming the option (no zone, or not a time)',
    (text) => {
      const e = errorOf(() => parseTimeSpec(text, '--from-time'));
      expect(e.option).toBe('--from-time');
      expect(e.message).toContain('--from-time');
    },
  );

  it('a time without a zone says how to give one', () => {
    expect(errorOf(() => parseTimeSpec('2025-12-22T15:00:00', '--until-time')).message).toMatch(/no zone.*--tz/);
  });

  it('--tz reads zone-less times in that zone, DST included, and never the machine zone', () => {
    // 10:00 New York is 15:00Z in winter (EST) and 14:00Z in summer (EDT).
    expect(parseTimeSpec('2025-12-22T10:00:00', '--from-time', 'America/New_York')).toBe(1766415600000000000n);
    expect(parseTimeSpec('2025-07-01T10:00:00', '--from-time', 'America/New_York')).toBe(BigInt(Date.UTC(2025, 6, 1, 14)) * 1_000_000n);
    expect(parseTimeSpec('2025-12-22T15:00:00.25', '--from-time', 'UTC')).toBe(1766415600250000000n);
    // An explicit zone wins over --tz.
    expect(parseTimeSpec('2025-12-22T15:00:00Z', '--from-time', 'America/New_York')).toBe(1766415600000000000n);
  });

  it('an unknown --tz is refused', () => {
    expect(errorOf(() => checkTimeZone('Mars/Olympus')).option).toBe('--tz');
    expect(checkTimeZone('Europe/London')).toBe('Europe/London');
  });
});
