import type { LevelPhysicsPayload, LevelSignal, SignalName } from './signals';
import { SignalTally } from './signal-tally';

const lvl = (id: string, signal: SignalName) => ({ id, signal }) as LevelSignal;
const payload = (levels: LevelSignal[], events?: LevelPhysicsPayload['events']): LevelPhysicsPayload => ({ ts: 0, ts_event_ns: '0', underlying: 'SPY', spy: { spot: 1, bid: 1, ask: 1 }, levels, ...(events ? { events } : {}) });

describe('SignalTally', () => {
  it('counts transitions into a signal, not ticks showing it', () => {
    const t = new SignalTally();
    t.add(payload([lvl('A', 'NEUTRAL'), lvl('B', 'REJECT')]));
    t.add(payload([lvl('A', 'BREAK'), lvl('B', 'REJECT')]));
    t.add(payload([lvl('A', 'BREAK'), lvl('B', 'CONTESTED')]));
    t.add(payload([lvl('A', 'NEUTRAL')]));
    t.add(payload([lvl('A', 'BREAK'), lvl('B', 'REJECT')]));
    expect(t.counts()).toEqual({ counted_as: 'transitions', BREAK: 2, REJECT: 2, CONTESTED: 1 });
  });
  it('counts the discrete events once the engine fills them', () => {
    const t = new SignalTally();
    const ev = (signal: 'BREAK' | 'REJECT') => ({ signal }) as NonNullable<LevelPhysicsPayload['events']>[number];
    t.add(payload([lvl('A', 'BREAK')], [ev('BREAK')]));
    t.add(payload([lvl('A', 'BREAK')], []));
    t.add(payload([lvl('B', 'REJECT')], [ev('REJECT'), ev('BREAK')]));
    t.add(payload([lvl('B', 'CONTESTED')]));
    expect(t.counts()).toEqual({ counted_as: 'events', BREAK: 2, REJECT: 1, CONTESTED: 1 });
  });
});
