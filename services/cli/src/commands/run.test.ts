// The synchronous JSONL reader of `run` (readEventsJsonl): 1 MiB reads, so lines and UTF-8 characters straddle
// read boundaries; and the payload sink that gathers lines before writing them.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventLineError, type LevelPhysicsPayload, type LevelSignal } from '@snap/core';
import { JsonlPayloadSink } from '@snap/processor';
import { readEventsJsonl } from './run';

const CHUNK = 1 << 20;
const heartbeat = (ts: number, key: string) => `{"schema":"heartbeat.v1","ts_event_ns":"${ts}","key":"${key}"}`;

describe('readEventsJsonl', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'run-reader-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reads a line and a multi-byte character that straddle the 1 MiB read boundary, counting bytes as it goes', () => {
    // Filler lines up to just before the boundary, then a line whose key's "é" (2 bytes in UTF-8) spans it.
    const lines: string[] = [];
    let bytes = 0;
    for (let i = 1; bytes < CHUNK - 200; i++) {
      const l = heartbeat(i, 'SPY');
      lines.push(l);
      bytes += Buffer.byteLength(l) + 1;
    }
    const prefix = `{"schema":"heartbeat.v1","ts_event_ns":"999999","key":"`;
    const pad = 'x'.repeat(CHUNK - bytes - Buffer.byteLength(prefix) - 1); // "é" starts at byte CHUNK - 1
    const key = `${pad}é${'y'.repeat(300)}`;
    lines.push(`${prefix}${key}"}`, heartbeat(1_000_000, 'QQQ'));
    const path = join(dir, 'in.jsonl');
    writeFileSync(path, lines.join('\n')); // no final newline: the last line is read at the end of the file
    expect(Buffer.from(lines.join('\n')).subarray(CHUNK - 1, CHUNK + 1).toString('utf8')).toBe('é');

    const seen: number[] = [];
    const events = [...readEventsJsonl(path, (b) => seen.push(b))];
    expect(events).toHaveLength(lines.length);
    expect(events[events.length - 2]!.key).toBe(key);
    expect(events[events.length - 1]).toMatchObject({ key: 'QQQ', ts_event_ns: 1_000_000n });
    expect(seen).toEqual([CHUNK, Buffer.byteLength(lines.join('\n'))]);
  });

  it('names the line of a bad event after a read boundary', () => {
    const filler = Array.from({ length: 20_000 }, (_, i) => heartbeat(i + 1, 'SPY'));
    const path = join(dir, 'bad.jsonl');
    writeFileSync(path, [...filler, '{"schema":"heartbeat.v1","ts_event_ns":"x","key":"SPY"}'].join('\n') + '\n');
    expect(Buffer.byteLength(filler.join('\n'))).toBeGreaterThan(CHUNK);
    let err: unknown;
    try {
      for (const _ of readEventsJsonl(path));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(EventLineError);
    expect((err as EventLineError).lineNo).toBe(20_001);
    expect((err as EventLineError).field).toBe('ts_event_ns');
  });
});

function payload(i: number, note: string): LevelPhysicsPayload {
  const level: LevelSignal = {
    id: `STRIKE_${680 + (i % 5)}`,
    price: 680 + (i % 5),
    kind: 'STRIKE',
    direction: i % 2 ? 'SUPPORT' : 'RESISTANCE',
    distance: (i % 100) / 8,
    break_score_raw: i / 3,
    break_score_smooth: Math.round(i * 1.37) / 100,
    signal: 'NEUTRAL',
    confidence: 'LOW',
    barrier: { state: 'NEUTRAL', delta_liq: -i, delta_liq_raw: i * 0.5, replenishment_ratio: 0, replenishment_ratio_raw: 0, added: i, canceled: 0, filled: 0, defending_quote: i % 3 ? null : { price: 680.01, size: i } },
    tape: { imbalance: 0, buy_vol: 0, sell_vol: 0, velocity: 0, velocity_raw: 0, sweep: { detected: false, direction: null, notional: 0, venues: 0, window_ms: 0 } },
    fuel: { effect: 'NEUTRAL', net_dealer_gamma: 0, net_dealer_gamma_raw: 0, call_wall: null, put_wall: null, hvl: null },
    runway: { direction: 'UP', next_obstacle: null, distance: null, quality: 'CLEAR' },
    note,
  };
  return { ts: 1766415600000 + i * 250, ts_event_ns: `${1766415600000 + i * 250}000000`, underlying: 'SPY', spy: { spot: 680.375, bid: 680.37, ask: 680.38 }, levels: [level] };
}

describe('JsonlPayloadSink', () => {
  it('writes every payload as one line, in order, across its 1 MiB flushes; closing twice is harmless', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'run-sink-'));
    try {
      const path = join(dir, 'sub', 'out.jsonl');
      const sink = new JsonlPayloadSink(path);
      // Payloads of the §6.4 shape (the sink writes that shape: core payload-json.ts), each line about 1 KiB, some with
      // a multi-byte note, so flushes fall mid-payload-stream and the bytes must still equal JSON.stringify's.
      const payloads = Array.from({ length: 3000 }, (_, i) => payload(i, (i % 7 === 0 ? 'ü' : 'n').repeat(200 + (i % 300))));
      for (const p of payloads) sink.onPayload(p);
      await sink.close();
      await sink.close();
      const text = readFileSync(path, 'utf8');
      expect(text.length).toBeGreaterThan(2 * CHUNK);
      expect(text).toBe(payloads.map((p) => JSON.stringify(p) + '\n').join(''));
      expect(sink.lines).toBe(3000);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
