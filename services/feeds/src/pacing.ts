// Replay pacing: as fast as possible, or ×N real time measured on event time. Uses the Clock abstraction so a
// test drives it with manualClock and a production replay with systemClock.
import type { Clock } from '@snap/platform';

export type Speed = number | 'max';

export class SpeedError extends Error {
  constructor(readonly value: string) {
    super(`invalid --speed ${JSON.stringify(value)}: expected "max" or a positive number (e.g. 1, 10, 0.5)`);
    this.name = 'SpeedError';
  }
}

export function parseSpeed(text: string): Speed {
  const t = text.trim().toLowerCase();
  if (t === 'max' || t === 'inf' || t === 'infinity') return 'max';
  const n = Number(t.replace(/x$/, ''));
  if (t === '' || !Number.isFinite(n) || n <= 0) throw new SpeedError(text);
  return n;
}

/**
 * The first paced record anchors (wall, event) time; each later record waits until
 * wall >= anchorWall + (ts - anchorTs) / speed. Records are never reordered or dropped; a replay that falls behind
 * (slow broker) does not sleep and so catches up.
 */
export class ReplayPacer {
  private anchorWallNs: bigint | null = null;
  private anchorTsNs = 0n;
  /** Total time slept, for the progress line and tests. */
  sleptMs = 0;

  constructor(
    readonly speed: Speed,
    private readonly clock: Clock,
  ) {
    if (speed !== 'max' && !(speed > 0 && Number.isFinite(speed))) throw new SpeedError(String(speed));
  }

  async pace(tsEventNs: bigint): Promise<void> {
    if (this.speed === 'max') return;
    if (this.anchorWallNs === null) {
      this.anchorWallNs = this.clock.nowNs();
      this.anchorTsNs = tsEventNs;
      return;
    }
    const eventElapsedMs = Number(tsEventNs - this.anchorTsNs) / 1e6;
    const dueWallNs = this.anchorWallNs + BigInt(Math.round((eventElapsedMs / this.speed) * 1e6));
    const aheadMs = Number(dueWallNs - this.clock.nowNs()) / 1e6;
    // Sub-millisecond waits cost more in timer overhead than they buy in fidelity.
    if (aheadMs >= 1) {
      await this.clock.sleep(aheadMs);
      this.sleptMs += aheadMs;
    }
  }
}
