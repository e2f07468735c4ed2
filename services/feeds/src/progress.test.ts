import { manualClock } from '@snap/platform';
import { ProgressReporter } from './progress';

function capture(isTTY: boolean) {
  const chunks: string[] = [];
  return { stream: { isTTY, write: (c: string) => chunks.push(c) }, chunks };
}

describe('ProgressReporter', () => {
  it('non-TTY: one plain line per interval, plus the final line', () => {
    const clock = manualClock(0n);
    const { stream, chunks } = capture(false);
    const p = new ProgressReporter({ label: 'dbn a.dbn', total: 1000, clock, stream, intervalMs: 5000 });
    p.update(1);
    clock.advanceMs(1000);
    p.update(200); // within the interval: no line
    clock.advanceMs(4000);
    p.update(500, 1_700_000_000_000_000_000n);
    p.finish();
    expect(chunks).toHaveLength(3);
    expect(chunks.every((c) => c.endsWith('\n') && !c.includes('\r'))).toBe(true);
    expect(chunks[1]).toContain('50.0%');
    expect(chunks[1]).toContain('500/1000 records');
    expect(chunks[1]).toContain('100/s');
    expect(chunks[1]).toContain('2023-11-14T22:13:20.000Z');
  });

  it('TTY: rewrites one line with \\r and ends it on finish', () => {
    const clock = manualClock(0n);
    const { stream, chunks } = capture(true);
    const p = new ProgressReporter({ label: 'sim', clock, stream });
    p.update(10);
    clock.advanceMs(300);
    p.update(20);
    p.finish();
    expect(chunks.every((c) => c.startsWith('\r'))).toBe(true);
    expect(chunks[chunks.length - 1]!.endsWith('\n')).toBe(true);
    expect(chunks.slice(0, -1).some((c) => c.endsWith('\n'))).toBe(false);
  });
});
