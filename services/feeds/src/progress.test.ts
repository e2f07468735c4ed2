import { manualClock } from '@snap/platform';
import { ProgressReporter } from './progress';

function capture(isTTY: boolean) {
  const chunks: string[] = [];
  return { stream: { isTTY, write: (c: string) => chunks.push(c) }, chunks };
}

describe('ProgressReporter', () => {
  it('non-TTY: a JSON line at start, one per interval and at the end, percent and ETA from a known record total', () => {
    const clock = manualClock(0n);
    const { stream, chunks } = capture(false);
    const p = new ProgressReporter({ label: 'dbn a.dbn', total: 1000, clock, stream, intervalMs: 5000 });
    p.update(1);
    clock.advanceMs(1000);
    p.update(256); // within the interval: no line
    clock.advanceMs(4000);
    p.update(512, 1_700_000_000_000_000_000n);
    p.finish();
    const lines = chunks.map((c) => JSON.parse(c));
    expect(lines).toHaveLength(3);
    expect(lines[1]).toMatchObject({ progress: 'dbn a.dbn', done: 512, total: 1000, percent: 51.2, rate_per_s: 102, unit: 'records', event_time: '2023-11-14 22:13:20.000 UTC' });
    expect(lines[1].eta_s).toBe(5);
  });

  it('an event-time span gives percent and ETA in event time, with the zone named', () => {
    const clock = manualClock(0n);
    const { stream, chunks } = capture(false);
    const start = 1_766_415_600_000_000_000n; // 2025-12-22 15:00 UTC
    const p = new ProgressReporter({ label: 'sim SPY', clock, stream, intervalMs: 1000, eventSpan: { durationMs: 600_000 }, tz: 'America/New_York' });
    p.update(1, start);
    clock.advanceMs(2000);
    p.update(1024, start + 150_000_000_000n);
    p.finish();
    const last = JSON.parse(chunks[chunks.length - 1]!);
    expect(last).toMatchObject({ done: 150, total: 600, percent: 25, unit: 's of event time', records: 1024, event_time: '2025-12-22 10:02:30.000 America/New_York' });
    expect(last.eta_s).toBe(6);
  });

  it('TTY: draws one bar and ends it with a newline', () => {
    const clock = manualClock(0n);
    const { stream, chunks } = capture(true);
    const p = new ProgressReporter({ label: 'sim', total: 100, clock, stream });
    p.update(10);
    clock.advanceMs(300);
    p.update(20);
    p.finish();
    expect(chunks.join('')).toContain('sim | [');
    expect(chunks.join('').endsWith('\n')).toBe(true);
  });
});
