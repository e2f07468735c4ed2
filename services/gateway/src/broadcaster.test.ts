import type { LevelPhysicsPayload } from '@snap/core';
import { LevelBroadcaster, type PayloadSocket } from './broadcaster';

/** A socket whose queue drains only when the test says so (what a slow reader looks like to the server). */
class ScriptedSocket implements PayloadSocket {
  readyState = 1;
  bufferedAmount = 0;
  sent: string[] = [];
  terminated = false;
  private inFlight: { bytes: number; cb?: (err?: Error) => void }[] = [];

  send(data: string, cb?: (err?: Error) => void): void {
    this.sent.push(data);
    this.bufferedAmount += data.length;
    this.inFlight.push({ bytes: data.length, cb });
  }

  /** The peer read everything: queue empties, write callbacks fire in order. */
  drain(): void {
    const done = this.inFlight;
    this.inFlight = [];
    for (const w of done) {
      this.bufferedAmount -= w.bytes;
      w.cb?.();
    }
  }

  terminate(): void {
    this.terminated = true;
    this.readyState = 3;
  }

  ticks(): number[] {
    return this.sent.map((s) => (JSON.parse(s) as LevelPhysicsPayload).ts);
  }
}

const payload = (underlying: string, ts: number, pad = 0): LevelPhysicsPayload => ({
  ts,
  ts_event_ns: (BigInt(ts) * 1_000_000n).toString(),
  underlying,
  spy: { spot: 100 + ts / 1e6, bid: 99.99, ask: 100.01 },
  levels: pad ? [{ note: 'x'.repeat(pad) } as never] : [],
});

describe('LevelBroadcaster', () => {
  it('sends the latest payload per underlying on connect, honouring the underlying filter', () => {
    const b = new LevelBroadcaster({ maxBufferedBytes: 1 << 20 });
    b.publish(payload('SPY', 1));
    b.publish(payload('QQQ', 2));
    b.publish(payload('SPY', 3));
    const all = new ScriptedSocket();
    const qqq = new ScriptedSocket();
    b.add(all);
    b.add(qqq, 'QQQ');
    expect(all.sent.map((s) => JSON.parse(s).underlying + JSON.parse(s).ts).sort()).toEqual(['QQQ2', 'SPY3']);
    expect(qqq.ticks()).toEqual([2]);
    b.publish(payload('SPY', 4));
    expect(qqq.ticks()).toEqual([2]);
    expect(b.snapshot().SPY!.ts).toBe(4);
  });

  it('a slow client gets only the newest payload once it drains; a fast one gets every payload; publish never waits', () => {
    const b = new LevelBroadcaster({ maxBufferedBytes: 1000 });
    const fast = new ScriptedSocket();
    const slow = new ScriptedSocket();
    b.add(fast);
    b.add(slow);
    for (let ts = 1; ts <= 50; ts++) {
      b.publish(payload('SPY', ts, 300));
      fast.drain();
    }
    expect(fast.ticks()).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    // The slow socket took writes until its queue passed the limit, then nothing more was written to it.
    const before = slow.ticks();
    expect(before.length).toBeGreaterThan(0);
    expect(before.length).toBeLessThan(6);
    expect(slow.bufferedAmount).toBeLessThan(1000 + 400);
    expect(b.stats.conflated).toBeGreaterThan(40);
    slow.drain(); // the write callbacks send what was parked: the newest only
    expect(slow.ticks().slice(before.length)).toEqual([50]);
    slow.drain();
    b.publish(payload('SPY', 51, 300));
    expect(slow.ticks().at(-1)).toBe(51);
  });

  it('conflates per underlying: a drained client gets the newest of EACH underlying', () => {
    const b = new LevelBroadcaster({ maxBufferedBytes: 10 });
    const s = new ScriptedSocket();
    b.add(s);
    b.publish(payload('SPY', 1)); // goes out, the queue is now over 10 bytes
    for (let ts = 2; ts <= 9; ts++) b.publish(payload(ts % 2 ? 'SPY' : 'QQQ', ts));
    expect(s.ticks()).toEqual([1]);
    s.drain();
    expect(s.sent.slice(1).map((x) => `${JSON.parse(x).underlying}${JSON.parse(x).ts}`)).toEqual(['QQQ8', 'SPY9']);
  });

  it('drops a client that stays over the limit for stallMs, and forgets closed ones', () => {
    let now = 0;
    const b = new LevelBroadcaster({ maxBufferedBytes: 10, stallMs: 5000, nowMs: () => now });
    const stuck = new ScriptedSocket();
    const closed = new ScriptedSocket();
    b.add(stuck);
    b.add(closed);
    b.publish(payload('SPY', 1));
    b.publish(payload('SPY', 2));
    closed.readyState = 3;
    now = 4999;
    b.sweep();
    expect(stuck.terminated).toBe(false);
    expect(b.clientCount).toBe(1);
    now = 5000;
    b.sweep();
    expect(stuck.terminated).toBe(true);
    expect(b.clientCount).toBe(0);
    expect(b.stats.dropped).toBe(1);
  });
});
