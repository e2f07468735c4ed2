import { compact, fixed, formatTime, signedPrice } from './format';

describe('format', () => {
  it('labels times with their zone; New York is UTC−5 in winter, UTC−4 in summer', () => {
    expect(formatTime(Date.UTC(2025, 11, 22, 15, 0, 2), 'UTC')).toBe('15:00:02 UTC');
    expect(formatTime(Date.UTC(2025, 11, 22, 15, 0, 2), 'America/New_York')).toBe('10:00:02 NY');
    expect(formatTime(Date.UTC(2025, 6, 1, 13, 30, 0), 'America/New_York')).toBe('09:30:00 NY');
    expect(formatTime(Date.UTC(2025, 6, 1, 0, 5, 0), 'UTC')).toBe('00:05:00 UTC');
  });

  it('signs distances with a real minus and the unit; no "-0.000"', () => {
    expect(signedPrice(0.375)).toBe('+0.38 $');
    expect(signedPrice(-1.2)).toBe('−1.20 $');
    expect(signedPrice(0)).toBe('±0.00 $');
    expect(signedPrice(null)).toBe('—');
    expect(fixed(-0.0001, 3)).toBe('0.000');
    expect(fixed(-0.002, 3)).toBe('-0.002');
    expect(compact(-24114, true)).toBe('−24.1k');
    expect(compact(1500, true)).toBe('+1.5k');
  });
});
