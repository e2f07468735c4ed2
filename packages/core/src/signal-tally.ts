// Counting signals for people: a run's summary says how many BREAKs and REJECTs it called, not how many ticks showed
// one (a level shows BREAK on every tick of its dwell, so tick counts overstate by two orders of magnitude).
// When the engine fills `payload.events` (discrete calls, one per level-touch episode), those are counted; until then,
// transitions: a level whose signal becomes BREAK / REJECT / CONTESTED (from anything else, or on entering the
// monitor band with it) counts once. CONTESTED is never an event, so it is always counted by transitions.
import type { LevelPhysicsPayload, SignalName } from './signals';

export type CountedSignal = Exclude<SignalName, 'NEUTRAL'>;

export interface SignalCounts {
  /** What was counted: discrete `events`, or signal `transitions` (payloads without an events list). */
  counted_as: 'events' | 'transitions';
  BREAK: number;
  REJECT: number;
  CONTESTED: number;
}

export class SignalTally {
  private readonly events = { BREAK: 0, REJECT: 0 };
  private readonly transitions = { BREAK: 0, REJECT: 0, CONTESTED: 0 };
  private sawEvents = false;
  /** Per underlying: level id → its signal at the previous payload (levels out of the band drop out). */
  private readonly previous = new Map<string, Map<string, SignalName>>();

  add(p: LevelPhysicsPayload): void {
    if (p.events !== undefined) {
      this.sawEvents = true;
      for (const e of p.events) this.events[e.signal]++;
    }
    const prev = this.previous.get(p.underlying);
    const now = new Map<string, SignalName>();
    for (const l of p.levels) {
      now.set(l.id, l.signal);
      if (l.signal !== 'NEUTRAL' && prev?.get(l.id) !== l.signal) this.transitions[l.signal]++;
    }
    this.previous.set(p.underlying, now);
  }

  counts(): SignalCounts {
    return this.sawEvents ? { counted_as: 'events', ...this.events, CONTESTED: this.transitions.CONTESTED } : { counted_as: 'transitions', ...this.transitions };
  }
}
