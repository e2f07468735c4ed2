// The synchronous JSONL reader of `run` (readEventsJsonl): 1 MiB reads, so lines and UTF-8 characters straddle
// read boundaries; and the payload sink that gathers lines before writing them.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventLineError, defaultConfig, runCore, simulateSession, type LevelPhysicsPayload } from '@snap/core';
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

  it('reads a line longer than its read buffer (3 MiB), and the lines around it', () => {
    const key = 'K'.repeat(3 * CHUNK);
    const path = join(dir, 'long.jsonl');
    writeFileSync(path, [heartbeat(1, 'SPY'), heartbeat(2, key), heartbeat(3, 'QQQ')].join('\r\n') + '\r\n');
    const events = [...readEventsJsonl(path)];
    expect(events.map((e) => [e.ts_event_ns, e.key.length])).toEqual([
      [1n, 3],
      [2n, key.length],
      [3n, 3],
    ]);
    expect(events[1]!.key).toBe(key);
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

describe('JsonlPayloadSink', () => {
  it('writes every payload as one line, in order, across its 1 MiB flushes; closing twice is harmless', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'run-sink-'));
    try {
      const path = join(dir, 'sub', 'out.jsonl');
      const sink = new JsonlPayloadSink(path);
      // Real payloads (the sink writes their shape), the session's over again until they fill more than two flushes.
      const session = runCore(defaultConfig(), 'SPY', simulateSession({ seed: 2, durationMs: 60_000 }));
      const payloads: LevelPhysicsPayload[] = [];
      while (Buffer.byteLength(payloads.map((p) => JSON.stringify(p)).join('\n')) <= 2 * CHUNK) payloads.push(...session);
      for (const p of payloads) sink.onPayload(p);
      await sink.close();
      await sink.close();
      const text = readFileSync(path, 'utf8');
      expect(text.length).toBeGreaterThan(2 * CHUNK);
      expect(text).toBe(payloads.map((p) => JSON.stringify(p) + '\n').join(''));
      expect(sink.lines).toBe(payloads.length);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
